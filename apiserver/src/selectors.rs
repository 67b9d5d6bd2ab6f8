//! Label and field selectors of list and watch requests, turned into one predicate, with
//! upstream's error for unsupported field labels.

use std::collections::BTreeMap;
use std::sync::Arc;

use rkube_apimachinery::field_selector::{unknown_field_selector_error, FieldSelector};
use rkube_apimachinery::label_selector::LabelSelector;
use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::http::params::ListQuery;
use crate::registry::watch::Predicate;
use crate::resources::ResourceInfo;

/// The predicate of a list/watch request's selectors.
pub fn predicate(info: &Arc<ResourceInfo>, q: &ListQuery) -> ApiResult<Predicate> {
    let labels = LabelSelector::parse(&q.label_selector)
        .map_err(|e| ApiError::bad_request(e.message().to_string()))?;
    let fields = FieldSelector::parse(&q.field_selector)
        .map_err(|e| ApiError::bad_request(e.message().to_string()))?;
    let supported = info.strategy.field_labels();
    let custom = info.schema.is_some();
    for r in fields.requirements() {
        let ok = matches!(r.field.as_str(), "metadata.name" | "metadata.namespace") || supported.contains(&r.field.as_str());
        if !ok {
            let msg = if custom {
                unknown_field_selector_error(&r.field).message().to_string()
            } else {
                format!("field label not supported: {}", r.field)
            };
            return Err(ApiError::bad_request(msg));
        }
    }
    if labels.is_empty() && fields.is_empty() {
        return Ok(Arc::new(|_| true));
    }
    let info = info.clone();
    Ok(Arc::new(move |obj: &Value| {
        labels.matches_object(obj) && fields.matches(|f| field_value(&info, obj, f))
    }))
}

fn field_value(info: &ResourceInfo, obj: &Value, field: &str) -> Option<String> {
    match field {
        "metadata.name" | "metadata.namespace" => {
            obj.get("metadata").and_then(|m| m.get(&field[9..])).and_then(Value::as_str).map(str::to_string)
        }
        other => info.strategy.field_value(obj, other),
    }
}

/// The string form of a metav1.LabelSelector (as Scale.status.selector carries it).
pub fn selector_string(selector: &Value) -> String {
    LabelSelector::from_json(selector).map(|s| s.to_string()).unwrap_or_default()
}

/// Whether labels match a metav1.LabelSelector given as JSON (an invalid one matches
/// nothing, as upstream).
pub fn selector_matches(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    LabelSelector::from_json(selector).is_ok_and(|s| !s.is_empty() && s.matches(labels))
}
