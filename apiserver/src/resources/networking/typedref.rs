//! Upstream `validateIngressTypedLocalObjectReference`: the resource backends of Ingresses
//! and the parameters of IngressClasses.

use rkube_apimachinery::validation::{is_dns1123_subdomain, FieldError};
use serde_json::Value;

use crate::resources::apps::util::{at, invalid_each, path_segment_name_errors, str_at};

/// Checks `apiGroup` (a DNS subdomain), `kind` and `name` (required path segments).
pub fn validate_typed_reference(r: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(group) = at(r, "/apiGroup").and_then(Value::as_str) {
        errs.extend(invalid_each(&format!("{path}.apiGroup"), group, is_dns1123_subdomain(group)));
    }
    for key in ["kind", "name"] {
        let value = str_at(r, &format!("/{key}"));
        if value.is_empty() {
            errs.push(FieldError::required(format!("{path}.{key}"), format!("{key} is required")));
        } else {
            errs.extend(invalid_each(&format!("{path}.{key}"), value, path_segment_name_errors(value)));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_members() {
        assert!(validate_typed_reference(&json!({"apiGroup": "k8s.example.com", "kind": "Params", "name": "p"}), "r").is_empty());
        let m: Vec<String> = validate_typed_reference(&json!({"apiGroup": "Bad_Group", "name": "a/b"}), "r").iter().map(ToString::to_string).collect();
        assert!(m[0].starts_with("r.apiGroup: Invalid value: \"Bad_Group\": a lowercase RFC 1123 subdomain"));
        assert_eq!(m[1], "r.kind: Required value: kind is required");
        assert_eq!(m[2], "r.name: Invalid value: \"a/b\": may not contain '/'");
    }
}
