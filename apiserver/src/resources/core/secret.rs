//! Secrets: `type: Opaque` by default, `stringData` folded into `data` (the v1 conversion),
//! key and size validation, the per-type required keys, `immutable: true`, the `type`
//! field selector and the NAME TYPE DATA AGE table.

use base64::Engine as _;
use rkube_apimachinery::validation::{is_config_map_key, FieldError};
use serde_json::{json, Value};

use super::configmap::{decoded_len, immutable_rules, MAX_SIZE};
use super::util::{child_obj, invalid_each, len_at, set_default_str, str_at};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The Secret strategy.
pub struct SecretStrategy;

impl Strategy for SecretStrategy {
    fn default(&self, obj: &mut Value) {
        let Some(m) = obj.as_object_mut() else { return };
        set_default_str(m, "type", "Opaque");
        let Some(Value::Object(plain)) = m.remove("stringData") else { return };
        if plain.is_empty() {
            return;
        }
        if let Some(data) = child_obj(obj, "data") {
            for (k, v) in plain {
                let text = v.as_str().unwrap_or("").to_string();
                data.insert(k, json!(base64::engine::general_purpose::STANDARD.encode(text)));
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let data = obj.get("data").and_then(Value::as_object);
        let mut total = 0usize;
        for (key, value) in data.into_iter().flatten() {
            let path = format!("data[{key}]");
            errs.extend(invalid_each(&path, key, is_config_map_key(key)));
            let raw = value.as_str().unwrap_or("");
            if base64::engine::general_purpose::STANDARD.decode(raw).is_err() {
                errs.push(FieldError::invalid(&path, "<secret contents redacted>", "illegal base64 data"));
            }
            total += decoded_len(value);
        }
        if total > MAX_SIZE {
            errs.push(FieldError::too_long("data", MAX_SIZE as i64));
        }
        errs.extend(type_rules(obj));
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let kind = str_at(obj, "/type");
        if kind != str_at(old, "/type") {
            errs.push(FieldError::invalid("type", kind, rkube_apimachinery::validation::FIELD_IMMUTABLE_ERROR_MSG));
        }
        errs.extend(immutable_rules(obj, old, &["data"]));
        errs
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &["type"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "type" => Some(str_at(obj, "/type").to_string()),
            _ => crate::resources::strategy::generic_field_value(obj, field),
        }
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Type", "string", "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"),
            Column::new("Data", "string", "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4"),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![json!(str_at(obj, "/type")), json!(len_at(obj, "/data")), age_cell(obj)]
    }
}

/// The keys each well-known secret type requires.
fn type_rules(obj: &Value) -> Vec<FieldError> {
    let data = |key: &str| obj.get("data").and_then(|d| d.get(key)).filter(|v| !v.is_null());
    let required = |key: &str| FieldError::required(format!("data[{key}]"), "");
    match str_at(obj, "/type") {
        "kubernetes.io/service-account-token" => {
            let annotation = "kubernetes.io/service-account.name";
            if str_at(obj, &format!("/metadata/annotations/{}", annotation.replace('/', "~1"))).is_empty() {
                vec![FieldError::required(format!("metadata.annotations[{annotation}]"), "")]
            } else {
                vec![]
            }
        }
        "kubernetes.io/dockercfg" => json_key(data(".dockercfg"), ".dockercfg"),
        "kubernetes.io/dockerconfigjson" => json_key(data(".dockerconfigjson"), ".dockerconfigjson"),
        "kubernetes.io/basic-auth" if data("username").is_none() && data("password").is_none() => {
            vec![required("username"), required("password")]
        }
        "kubernetes.io/ssh-auth" if data("ssh-privatekey").is_none_or(|v| decoded_len(v) == 0) => vec![required("ssh-privatekey")],
        "kubernetes.io/tls" => ["tls.crt", "tls.key"].iter().filter(|k| data(k).is_none()).map(|k| required(k)).collect(),
        _ => vec![],
    }
}

/// A docker config key: present and holding a JSON object.
fn json_key(value: Option<&Value>, key: &str) -> Vec<FieldError> {
    let Some(value) = value else { return vec![FieldError::required(format!("data[{key}]"), "")] };
    let bytes = base64::engine::general_purpose::STANDARD.decode(value.as_str().unwrap_or("")).unwrap_or_default();
    match serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes) {
        Ok(_) => vec![],
        Err(e) => vec![FieldError::invalid(format!("data[{key}]"), "<secret contents redacted>", e.to_string())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_and_string_data() {
        let mut s = json!({"stringData": {"user": "admin"}, "data": {"a": "Yg=="}});
        SecretStrategy.default(&mut s);
        assert_eq!(s, json!({"type": "Opaque", "data": {"a": "Yg==", "user": "YWRtaW4="}}));
        assert!(SecretStrategy.validate(&s).is_empty());
    }

    #[test]
    fn validation() {
        let s = json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "eA==", "bad/key": "eA=="}});
        let errs = msgs(&SecretStrategy.validate(&s));
        assert!(errs[0].starts_with("data[bad/key]: Invalid value: \"bad/key\": a valid config key"), "{errs:?}");
        assert_eq!(errs[1], "data[tls.key]: Required value");
        let big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; MAX_SIZE + 1]);
        let s = json!({"type": "Opaque", "data": {"k": big}});
        assert_eq!(msgs(&SecretStrategy.validate(&s)), ["data: Too long: may not be more than 1048576 bytes"]);
    }

    #[test]
    fn update_rules() {
        let old = json!({"type": "Opaque", "immutable": true, "data": {"a": "eA=="}});
        let new = json!({"type": "kubernetes.io/tls", "immutable": true, "data": {"a": "eQ=="}});
        assert_eq!(
            msgs(&SecretStrategy.validate_update(&new, &old)),
            [
                "type: Invalid value: \"kubernetes.io/tls\": field is immutable",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
    }

    #[test]
    fn table_and_fields() {
        let s = json!({"type": "Opaque", "data": {"a": "", "b": ""}});
        assert_eq!(SecretStrategy.cells(&s), [json!("Opaque"), json!(2), json!("<unknown>")]);
        assert_eq!(SecretStrategy.field_value(&s, "type").as_deref(), Some("Opaque"));
    }
}
