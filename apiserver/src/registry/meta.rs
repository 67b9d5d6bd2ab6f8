//! Small accessors for `metadata` on JSON objects, and the system-populated fields.

use rand::Rng;
use serde_json::{json, Map, Value};

use crate::storage::Revision;

/// The metadata map, created if absent.
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    obj["metadata"].as_object_mut().expect("metadata is an object")
}

/// A string field of metadata.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// (namespace, name) of an object.
pub fn namespace_and_name(obj: &Value) -> (Option<String>, String) {
    (
        meta_str(obj, "namespace").filter(|s| !s.is_empty()).map(str::to_string),
        meta_str(obj, "name").unwrap_or_default().to_string(),
    )
}

/// Sets metadata.resourceVersion.
pub fn set_resource_version(obj: &mut Value, rev: Revision) {
    meta_mut(obj).insert("resourceVersion".into(), Value::String(rev.to_string()));
}

/// Parses metadata.resourceVersion, if set and numeric.
pub fn resource_version(obj: &Value) -> Option<Revision> {
    meta_str(obj, "resourceVersion").and_then(|s| s.parse().ok())
}

/// The current time as upstream's metav1.Time (RFC 3339, seconds).
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The current time as metav1.MicroTime.
pub fn now_micro() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Appends upstream's 5-character random suffix to a generateName prefix.
pub fn generate_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    let suffix: String = (0..5).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("{prefix}{suffix}")
}

/// Fills the fields the system owns on create: uid, creationTimestamp, generation.
pub fn stamp_create(obj: &mut Value) {
    let has_spec = obj.get("spec").is_some();
    let m = meta_mut(obj);
    m.insert("uid".into(), Value::String(uuid::Uuid::new_v4().to_string()));
    m.insert("creationTimestamp".into(), Value::String(now()));
    m.remove("deletionTimestamp");
    m.remove("deletionGracePeriodSeconds");
    m.remove("resourceVersion");
    if has_spec {
        m.insert("generation".into(), json!(1));
    } else {
        m.remove("generation");
    }
}

/// Keeps the system-owned metadata of `old` on an update and bumps generation when the
/// object changed outside metadata and status.
pub fn carry_update(obj: &mut Value, old: &Value) {
    for field in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] {
        match old.get("metadata").and_then(|m| m.get(field)) {
            Some(v) => {
                meta_mut(obj).insert(field.into(), v.clone());
            }
            None => {
                meta_mut(obj).remove(field);
            }
        }
    }
    if old.pointer("/metadata/generation").is_some() && spec_changed(obj, old) {
        let g = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0) + 1;
        meta_mut(obj).insert("generation".into(), json!(g));
    }
}

/// True when anything but metadata and status differs.
pub fn spec_changed(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut c = v.clone();
        if let Some(m) = c.as_object_mut() {
            m.remove("metadata");
            m.remove("status");
            m.remove("apiVersion");
            m.remove("kind");
        }
        c
    };
    strip(a) != strip(b)
}

/// The labels of an object as (key, value) pairs.
pub fn labels(obj: &Value) -> std::collections::BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The finalizers of an object.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Replaces the finalizers (removing the field when empty).
pub fn set_finalizers(obj: &mut Value, list: &[String]) {
    let m = meta_mut(obj);
    if list.is_empty() {
        m.remove("finalizers");
    } else {
        m.insert("finalizers".into(), json!(list));
    }
}

/// True once deletion has started.
pub fn is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null())
}
