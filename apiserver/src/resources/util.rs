//! JSON helpers shared by the resource strategies (core, apps, batch, networking, ...):
//! tolerant readers (a missing or mistyped member reads as empty, never panics), defaulting
//! writers, upstream's semantic equality and immutability check, and renderers of bad values
//! the way Go's `%#v` prints them in upstream's field errors.

use std::collections::BTreeMap;

use rkube_apimachinery::validation::{
    go_quote, is_dns1123_subdomain, regex_error, FieldError, FieldErrorType, FIELD_IMMUTABLE_ERROR_MSG,
    IS_NEGATIVE_ERROR_MSG,
};
use serde_json::{Map, Value};

/// An empty JSON array, returned by readers when a list is absent.
static EMPTY_LIST: Vec<Value> = Vec::new();

/// The value at a JSON pointer, with null read as absent.
pub fn at<'a>(obj: &'a Value, pointer: &str) -> Option<&'a Value> {
    obj.pointer(pointer).filter(|v| !v.is_null())
}

/// The string at a JSON pointer, or "" when absent or not a string.
pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The integer at a JSON pointer, if present.
pub fn opt_int(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// The integer at a JSON pointer, or 0.
pub fn int_at(obj: &Value, pointer: &str) -> i64 {
    opt_int(obj, pointer).unwrap_or(0)
}

/// The boolean at a JSON pointer, if present.
pub fn opt_bool(obj: &Value, pointer: &str) -> Option<bool> {
    obj.pointer(pointer).and_then(Value::as_bool)
}

/// The array at a JSON pointer, or an empty slice.
pub fn list_at<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer).and_then(Value::as_array).map_or(&EMPTY_LIST[..], Vec::as_slice)
}

/// The number of members of the object (or items of the array) at `pointer`.
pub fn len_at(obj: &Value, pointer: &str) -> usize {
    match obj.pointer(pointer) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

/// A `map[string]string` as a sorted map; non-string values are skipped.
pub fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

/// The object at a JSON pointer, creating every missing (or null) level on the way.
/// Returns `None` when a level exists but is not an object (a mistyped body).
pub fn obj_at<'a>(obj: &'a mut Value, pointer: &str) -> Option<&'a mut Map<String, Value>> {
    let mut cur = obj;
    for part in pointer.split('/').skip(1) {
        let m = cur.as_object_mut()?;
        let slot = m.entry(part.to_string()).or_insert(Value::Null);
        if slot.is_null() {
            *slot = Value::Object(Map::new());
        }
        cur = slot;
    }
    cur.as_object_mut()
}

/// Sets `key` of the object at `pointer` to `value` when absent or null.
pub fn default_at(obj: &mut Value, pointer: &str, key: &str, value: Value) {
    if let Some(m) = obj_at(obj, pointer) {
        if m.get(key).is_none_or(Value::is_null) {
            m.insert(key.to_string(), value);
        }
    }
}

/// Sets `key` of the object at `pointer` to `value` when absent, null or "".
pub fn default_str_at(obj: &mut Value, pointer: &str, key: &str, value: &str) {
    if let Some(m) = obj_at(obj, pointer) {
        if m.get(key).is_none_or(|v| v.is_null() || v.as_str() == Some("")) {
            m.insert(key.to_string(), Value::from(value));
        }
    }
}

/// Upstream `labels.FormatLabels`: `k=v` pairs sorted by key joined by ",", or `<none>`.
pub fn format_labels(v: Option<&Value>) -> String {
    let pairs: Vec<String> = string_map(v).into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    if pairs.is_empty() {
        "<none>".to_string()
    } else {
        pairs.join(",")
    }
}

/// Drops nulls and empty collections recursively, so that values compare as upstream's
/// `apiequality.Semantic.DeepEqual` does (nil and empty maps/slices are equal).
fn normalize(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(m) => {
            let out: Map<String, Value> =
                m.iter().filter_map(|(k, v)| normalize(v).map(|v| (k.clone(), v))).collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(a) if a.is_empty() => None,
        Value::Array(a) => Some(Value::Array(a.iter().map(|v| normalize(v).unwrap_or(Value::Null)).collect())),
        other => Some(other.clone()),
    }
}

/// Upstream's semantic deep equality over optional JSON values.
pub fn semantic_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    a.and_then(normalize) == b.and_then(normalize)
}

/// Upstream `ValidateImmutableField` with the bad value rendered by `render`.
pub fn immutable_with(
    new: Option<&Value>,
    old: Option<&Value>,
    field: &str,
    render: impl Fn(Option<&Value>) -> String,
) -> Vec<FieldError> {
    if semantic_eq(new, old) {
        vec![]
    } else {
        vec![invalid_raw(field, &render(new), FIELD_IMMUTABLE_ERROR_MSG)]
    }
}

/// Upstream `ValidateImmutableField` for scalars and JSON-rendered values.
pub fn immutable(new: Option<&Value>, old: Option<&Value>, field: &str) -> Vec<FieldError> {
    if semantic_eq(new, old) {
        vec![]
    } else {
        vec![FieldError::invalid(field, new.cloned().unwrap_or(Value::Null), FIELD_IMMUTABLE_ERROR_MSG)]
    }
}

/// An `Invalid` error whose bad value is already rendered (Go `%#v` output).
pub fn invalid_raw(field: &str, rendered: &str, detail: &str) -> FieldError {
    let body = if detail.is_empty() { rendered.to_string() } else { format!("{rendered}: {detail}") };
    FieldError::new(FieldErrorType::Invalid, field, None, body)
}

/// Upstream `ValidateNonnegativeField` over an optional integer member.
pub fn nonnegative(obj: &Value, pointer: &str, field: &str) -> Vec<FieldError> {
    match opt_int(obj, pointer) {
        Some(n) if n < 0 => vec![FieldError::invalid(field, n, IS_NEGATIVE_ERROR_MSG)],
        _ => vec![],
    }
}

/// `Invalid` errors for each problem a string validator reports.
pub fn invalid_each(field: &str, value: &str, problems: Vec<String>) -> Vec<FieldError> {
    problems.into_iter().map(|msg| FieldError::invalid(field, value, msg)).collect()
}

/// `NotSupported` unless `value` is one of `supported`.
pub fn enum_member(value: &str, field: &str, supported: &[&str]) -> Vec<FieldError> {
    if supported.contains(&value) {
        vec![]
    } else {
        vec![FieldError::not_supported(field, value, supported)]
    }
}

/// Upstream `IsDomainPrefixedPath`: `<DNS subdomain>/<HTTP path>`, e.g. `acme.io/foo`.
pub fn is_domain_prefixed_path(field: &str, value: &str) -> Vec<FieldError> {
    if value.is_empty() {
        return vec![FieldError::required(field, "")];
    }
    let (host, path) = match value.split_once('/') {
        Some((h, p)) if !h.is_empty() && !p.is_empty() => (h, p),
        _ => {
            return vec![FieldError::invalid(field, value, "must be a domain-prefixed path (such as \"acme.io/foo\")")];
        }
    };
    let mut errs = invalid_each(field, host, is_dns1123_subdomain(host));
    let path_ok = path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-._~%!$&'()*+,;=:".contains(&b));
    if !path_ok {
        errs.push(FieldError::invalid(field, path, regex_error("Invalid path", HTTP_PATH_FMT, &[])));
    }
    errs
}

const HTTP_PATH_FMT: &str = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+";

/// Upstream `path.IsValidPathSegmentName`: names used as URL path segments.
pub fn path_segment_name_errors(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    ["/", "%"].iter().filter(|c| name.contains(**c)).map(|c| format!("may not contain '{c}'")).collect()
}

/// A type error for a member of the wrong JSON type (upstream rejects it while decoding).
pub fn type_error(field: &str, value: &Value, want: &str) -> FieldError {
    FieldError::type_invalid(field, value.clone(), format!("must be {want}"))
}

/// Go's `%#v` of a `map[string]string` (sorted keys; `(nil)` when absent).
pub fn go_string_map(v: Option<&Value>) -> String {
    if v.is_none_or(Value::is_null) {
        return "map[string]string(nil)".to_string();
    }
    let pairs: Vec<String> =
        string_map(v).iter().map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v))).collect();
    format!("map[string]string{{{}}}", pairs.join(", "))
}

/// Go's `%#v` of a `[]string` (`(nil)` when absent).
pub fn go_string_slice(v: Option<&Value>) -> String {
    match v.and_then(Value::as_array) {
        None => "[]string(nil)".to_string(),
        Some(items) => {
            let quoted: Vec<String> = items.iter().map(|s| go_quote(s.as_str().unwrap_or(""))).collect();
            format!("[]string{{{}}}", quoted.join(", "))
        }
    }
}

/// Go's `%#v` of a dereferenced `*metav1.LabelSelector` (`null` when nil), as upstream's
/// field errors print selectors.
pub fn go_label_selector(v: Option<&Value>) -> String {
    let Some(sel) = v.filter(|v| !v.is_null()) else { return "null".to_string() };
    let exprs = match sel.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(items) => {
            let each: Vec<String> = items.iter().map(go_requirement).collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", each.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{}}}",
        go_string_map(sel.get("matchLabels")),
        exprs
    )
}

fn go_requirement(r: &Value) -> String {
    format!(
        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
        go_quote(str_at(r, "/key")),
        go_quote(str_at(r, "/operator")),
        go_string_slice(r.get("values"))
    )
}

/// Go's `%#v` of an `intstr.IntOrString` value.
pub fn go_int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => format!("intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}", go_quote(s)),
        other => format!("intstr.IntOrString{{Type:0, IntVal:{}, StrVal:\"\"}}", other.as_i64().unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn readers_tolerate_missing_and_mistyped() {
        let o = json!({"spec": {"replicas": 3, "name": 5, "list": [1]}});
        assert_eq!(int_at(&o, "/spec/replicas"), 3);
        assert_eq!(int_at(&o, "/spec/missing"), 0);
        assert_eq!(str_at(&o, "/spec/name"), "");
        assert_eq!(list_at(&o, "/spec/list").len(), 1);
        assert_eq!(len_at(&o, "/spec"), 3);
        assert!(at(&json!({"a": null}), "/a").is_none());
    }

    #[test]
    fn defaulting_creates_levels_and_keeps_values() {
        let mut o = json!({"spec": {"replicas": 2}});
        default_at(&mut o, "/spec", "replicas", json!(1));
        default_at(&mut o, "/spec/strategy/rollingUpdate", "maxSurge", json!("25%"));
        default_str_at(&mut o, "/spec/strategy", "type", "RollingUpdate");
        assert_eq!(o, json!({"spec": {"replicas": 2, "strategy": {"rollingUpdate": {"maxSurge": "25%"}, "type": "RollingUpdate"}}}));
        let mut bad = json!({"spec": 5});
        default_at(&mut bad, "/spec", "replicas", json!(1));
        assert_eq!(bad, json!({"spec": 5}));
    }

    #[test]
    fn semantic_equality_ignores_empty_collections() {
        assert!(semantic_eq(Some(&json!({"matchLabels": {}})), None));
        assert!(semantic_eq(Some(&json!({"a": [], "b": null})), Some(&json!({}))));
        assert!(!semantic_eq(Some(&json!({"a": 1})), Some(&json!({"a": 2}))));
    }

    #[test]
    fn go_renderers_match_percent_hash_v() {
        assert_eq!(go_string_map(Some(&json!({"b": "2", "a": "1"}))), r#"map[string]string{"a":"1", "b":"2"}"#);
        assert_eq!(go_string_map(None), "map[string]string(nil)");
        assert_eq!(go_string_map(Some(&json!({}))), "map[string]string{}");
        assert_eq!(
            go_label_selector(Some(&json!({"matchLabels": {"app": "web"}}))),
            r#"v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"#
        );
        assert_eq!(
            go_label_selector(Some(&json!({"matchExpressions": [{"key": "k", "operator": "In", "values": ["a", "b"]}]}))),
            r#"v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"k", Operator:"In", Values:[]string{"a", "b"}}}}"#
        );
        assert_eq!(go_label_selector(None), "null");
        assert_eq!(go_int_or_string(&json!("5x")), r#"intstr.IntOrString{Type:1, IntVal:0, StrVal:"5x"}"#);
        assert_eq!(go_int_or_string(&json!(-1)), r#"intstr.IntOrString{Type:0, IntVal:-1, StrVal:""}"#);
    }

    #[test]
    fn path_segment_names() {
        assert!(path_segment_name_errors("system:admin").is_empty());
        assert_eq!(path_segment_name_errors(".."), ["may not be '..'"]);
        assert_eq!(path_segment_name_errors("a/b%c"), ["may not contain '/'", "may not contain '%'"]);
    }

    #[test]
    fn domain_prefixed_paths() {
        assert!(is_domain_prefixed_path("c", "example.com/ingress-nginx").is_empty());
        assert_eq!(is_domain_prefixed_path("c", "")[0].to_string(), "c: Required value");
        assert_eq!(
            is_domain_prefixed_path("c", "nginx")[0].to_string(),
            "c: Invalid value: \"nginx\": must be a domain-prefixed path (such as \"acme.io/foo\")"
        );
        assert_eq!(
            is_domain_prefixed_path("c", "a.io/b c")[0].to_string(),
            "c: Invalid value: \"b c\": Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')"
        );
    }

    #[test]
    fn immutable_renders_like_upstream() {
        let errs = immutable_with(Some(&json!({"matchLabels": {"a": "b"}})), Some(&json!({"matchLabels": {"a": "c"}})), "spec.selector", go_label_selector);
        assert_eq!(
            errs[0].to_string(),
            r#"spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"a":"b"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"#
        );
        assert!(immutable(Some(&json!("x")), Some(&json!("x")), "f").is_empty());
        assert_eq!(immutable(Some(&json!("y")), Some(&json!("x")), "f")[0].to_string(), r#"f: Invalid value: "y": field is immutable"#);
        assert_eq!(nonnegative(&json!({"r": -2}), "/r", "spec.r")[0].to_string(), "spec.r: Invalid value: -2: must be greater than or equal to 0");
    }
}
