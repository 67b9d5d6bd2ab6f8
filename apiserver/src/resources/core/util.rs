//! Small JSON helpers shared by the core/v1 strategies: tolerant readers (a missing or
//! mistyped member reads as empty, never panics), defaulting writers, and the formatting
//! helpers upstream's printers use (`labels.FormatLabels`, container name/image cells).

pub use crate::resources::util::{format_labels, go_string_map, int_at, invalid_each, len_at, list_at, nonnegative, str_at, string_map};

use rkube_apimachinery::validation::FieldError;
use serde_json::{Map, Value};

/// The string member `key` of `v`, or "".
pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The array member `key` of `v`, or an empty slice.
pub fn list_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice)
}

/// True when the member at `pointer` exists and is not null.
pub fn present(obj: &Value, pointer: &str) -> bool {
    obj.pointer(pointer).is_some_and(|v| !v.is_null())
}

/// The object member `key` of `v`, created (replacing a null or mistyped value) when
/// needed. Returns `None` only when `v` itself is not an object.
pub fn child_obj<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    let m = v.as_object_mut()?;
    let slot = m.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// Sets `key` to `value` when it is absent or null.
pub fn set_default(m: &mut Map<String, Value>, key: &str, value: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.to_string(), value);
    }
}

/// Sets `key` to `value` when it is absent, null or the empty string.
pub fn set_default_str(m: &mut Map<String, Value>, key: &str, value: &str) {
    if m.get(key).is_none_or(|v| v.is_null() || v.as_str() == Some("")) {
        m.insert(key.to_string(), Value::from(value));
    }
}

/// Runs `f` on every object item of the array member `key` of `v`.
pub fn each_item(v: &mut Value, key: &str, f: impl FnMut(&mut Map<String, Value>)) {
    if let Some(m) = v.as_object_mut() {
        each_in(m, key, f);
    }
}

/// Runs `f` on every object item of the array member `key` of the object `m`.
pub fn each_in(m: &mut Map<String, Value>, key: &str, mut f: impl FnMut(&mut Map<String, Value>)) {
    if let Some(items) = m.get_mut(key).and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            f(item);
        }
    }
}

/// Upstream `layoutContainerCells`: container names and images, comma separated.
pub fn container_cells(containers: &[Value]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| str_of(c, "name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_of(c, "image")).collect();
    (names.join(","), images.join(","))
}

/// Upstream `IsValidPortNum`: 1..=65535.
pub fn port_num_errors(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) {
        vec![]
    } else {
        vec![rkube_apimachinery::validation::inclusive_range_error(1, 65535)]
    }
}

/// Upstream `IsValidPortName`: an IANA service name.
pub fn port_name_errors(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push(rkube_apimachinery::validation::max_len_error(15));
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string());
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}

/// Upstream `ValidatePortNumOrName` for an IntOrString member (`targetPort`, probe ports).
pub fn port_num_or_name(v: Option<&Value>, field: &str) -> Vec<FieldError> {
    match v {
        Some(Value::Number(n)) => {
            let port = n.as_i64().unwrap_or(0);
            port_num_errors(port).into_iter().map(|m| FieldError::invalid(field, port, m)).collect()
        }
        Some(Value::String(s)) => invalid_each(field, s, port_name_errors(s)),
        _ => port_num_errors(0).into_iter().map(|m| FieldError::invalid(field, 0, m)).collect(),
    }
}

/// Upstream `IsValidIP` (sloppy parsing: IPv4 with leading zeros is accepted).
pub fn ip_errors(field: &str, value: &str) -> Vec<FieldError> {
    if parse_ip(value).is_some() {
        vec![]
    } else {
        vec![FieldError::invalid(field, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]
    }
}

/// Parses an IP address the way Go's `ParseIPSloppy` does (leading zeros allowed in IPv4).
pub fn parse_ip(value: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = value.parse::<std::net::IpAddr>() {
        return Some(ip);
    }
    let parts: Vec<&str> = value.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        octets[i] = p.parse().ok()?;
    }
    Some(std::net::IpAddr::from(octets))
}

/// Upstream `NotSupported` for a string member, or `Required` when it is empty.
pub fn enum_member(value: &str, field: &str, supported: &[&str]) -> Vec<FieldError> {
    if value.is_empty() {
        vec![FieldError::required(field, "")]
    } else if !supported.contains(&value) {
        vec![FieldError::not_supported(field, value, supported)]
    } else {
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn readers_tolerate_wrong_types() {
        let v = json!({"a": {"b": 3}, "l": "x"});
        assert_eq!(str_at(&v, "/a/b"), "");
        assert!(list_at(&v, "/l").is_empty());
        assert_eq!(int_at(&v, "/a/b"), 3);
        assert_eq!(len_at(&v, "/a"), 1);
    }

    #[test]
    fn label_formatting_matches_upstream() {
        assert_eq!(format_labels(Some(&json!({"b": "2", "a": "1"}))), "a=1,b=2");
        assert_eq!(format_labels(None), "<none>");
        assert_eq!(format_labels(Some(&json!({}))), "<none>");
    }

    #[test]
    fn port_name_rules() {
        assert!(port_name_errors("http").is_empty());
        assert_eq!(port_name_errors("8080"), vec!["must contain at least one letter (a-z)"]);
        assert_eq!(port_name_errors("a--b"), vec!["must not contain consecutive hyphens"]);
        assert_eq!(port_name_errors("-ab").len(), 1);
    }

    #[test]
    fn sloppy_ip_parsing() {
        assert!(parse_ip("10.0.0.1").is_some());
        assert!(parse_ip("010.000.000.001").is_some());
        assert!(parse_ip("::1").is_some());
        assert!(parse_ip("1.2.3").is_none());
        assert!(parse_ip("1.2.3.256").is_none());
    }

    #[test]
    fn defaults_only_fill_missing() {
        let mut v = json!({"spec": {"a": "x", "b": null}});
        let spec = child_obj(&mut v, "spec").expect("object");
        set_default(spec, "a", json!("y"));
        set_default(spec, "b", json!("z"));
        set_default_str(spec, "c", "w");
        assert_eq!(v, json!({"spec": {"a": "x", "b": "z", "c": "w"}}));
    }
}
