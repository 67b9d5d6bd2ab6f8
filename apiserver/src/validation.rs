//! Object-metadata validation shared by every resource (upstream's ValidateObjectMeta and
//! ValidateObjectMetaUpdate), with the resource's own name rule.

use rkube_apimachinery::validation::{validate_object_meta, validate_object_meta_update, FieldError};
use serde_json::{json, Value};

use crate::resources::ResourceInfo;

/// Validates `metadata` of a new object, or of an update when `old` is given.
pub fn validate_meta(info: &ResourceInfo, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let empty = json!({});
    let meta = obj.get("metadata").unwrap_or(&empty);
    let strategy = info.strategy.clone();
    let mut errs = validate_object_meta(meta, info.namespaced, move |n, p| strategy.validate_name(n, p));
    if let Some(old) = old {
        let old_meta = old.get("metadata").unwrap_or(&empty);
        errs.extend(validate_object_meta_update(meta, old_meta));
    }
    errs
}
