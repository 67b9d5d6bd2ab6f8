//! ConfigMaps: key validation, the 1 MiB size limit, `immutable: true`, and the
//! NAME DATA AGE table.

use base64::Engine as _;
use rkube_apimachinery::validation::{is_config_map_key, FieldError};
use serde_json::{json, Value};

use super::util::{invalid_each, len_at};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// Upstream `MaxSecretSize` (also the ConfigMap limit): 1 MiB.
pub const MAX_SIZE: usize = 1024 * 1024;

/// The message of a change to a field frozen by `immutable: true`.
pub const IMMUTABLE_SET_MSG: &str = "field is immutable when `immutable` is set";

/// The ConfigMap strategy.
pub struct ConfigMapStrategy;

/// The decoded length of a base64 value (its raw length when not valid base64).
pub fn decoded_len(v: &Value) -> usize {
    let s = v.as_str().unwrap_or("");
    base64::engine::general_purpose::STANDARD.decode(s).map(|b| b.len()).unwrap_or(s.len())
}

/// Upstream's `immutable: true` rules shared by ConfigMaps and Secrets.
pub fn immutable_rules(obj: &Value, old: &Value, frozen: &[&str]) -> Vec<FieldError> {
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return vec![];
    }
    let mut errs = Vec::new();
    if obj.get("immutable").and_then(Value::as_bool) != Some(true) {
        errs.push(FieldError::forbidden("immutable", IMMUTABLE_SET_MSG));
    }
    for key in frozen {
        let (new, prev) = (obj.get(*key).filter(|v| !is_empty(v)), old.get(*key).filter(|v| !is_empty(v)));
        if new != prev {
            errs.push(FieldError::forbidden(*key, IMMUTABLE_SET_MSG));
        }
    }
    errs
}

fn is_empty(v: &Value) -> bool {
    v.is_null() || v.as_object().is_some_and(|m| m.is_empty())
}

impl Strategy for ConfigMapStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let binary = obj.get("binaryData").and_then(Value::as_object);
        let mut total = 0usize;
        for (key, value) in obj.get("data").and_then(Value::as_object).into_iter().flatten() {
            let path = format!("data[{key}]");
            errs.extend(invalid_each(&path, key, is_config_map_key(key)));
            if binary.is_some_and(|b| b.contains_key(key)) {
                errs.push(FieldError::invalid(&path, key.as_str(), "duplicate of key present in binaryData"));
            }
            total += value.as_str().map_or(0, str::len);
        }
        for (key, value) in binary.into_iter().flatten() {
            errs.extend(invalid_each(&format!("binaryData[{key}]"), key, is_config_map_key(key)));
            total += decoded_len(value);
        }
        if total > MAX_SIZE {
            errs.push(FieldError::too_long("", MAX_SIZE as i64));
        }
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        immutable_rules(obj, old, &["data", "binaryData"])
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Data", "string", "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process."),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![json!(len_at(obj, "/data") + len_at(obj, "/binaryData")), age_cell(obj)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn keys_and_size() {
        let cm = json!({"data": {"ok.key": "v", "bad key": "v", "dup": "x"}, "binaryData": {"dup": "eA=="}});
        let errs = msgs(&ConfigMapStrategy.validate(&cm));
        assert_eq!(errs.len(), 2);
        assert!(errs[0].starts_with("data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters"), "{errs:?}");
        assert_eq!(errs[1], "data[dup]: Invalid value: \"dup\": duplicate of key present in binaryData");
        let big = json!({"data": {"a": "x".repeat(MAX_SIZE + 1)}});
        assert_eq!(msgs(&ConfigMapStrategy.validate(&big)), [": Too long: may not be more than 1048576 bytes"]);
    }

    #[test]
    fn immutable_config_maps() {
        let old = json!({"immutable": true, "data": {"a": "1"}});
        let new = json!({"immutable": true, "data": {"a": "2"}});
        assert_eq!(msgs(&ConfigMapStrategy.validate_update(&new, &old)), ["data: Forbidden: field is immutable when `immutable` is set"]);
        let unset = json!({"data": {"a": "1"}});
        assert_eq!(msgs(&ConfigMapStrategy.validate_update(&unset, &old)), ["immutable: Forbidden: field is immutable when `immutable` is set"]);
        assert!(ConfigMapStrategy.validate_update(&old, &old).is_empty());
    }

    #[test]
    fn table_cells() {
        let cm = json!({"data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}});
        assert_eq!(ConfigMapStrategy.cells(&cm), [json!(3), json!("<unknown>")]);
    }
}
