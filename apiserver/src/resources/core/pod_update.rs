//! Pod update rules (upstream `ValidatePodUpdate`): only images, activeDeadlineSeconds,
//! toleration additions, scheduling-gate removals and a negative grace period set to 1 may
//! change; anything else is refused with upstream's "pod updates may not change fields
//! other than ..." message.

use rkube_apimachinery::validation::{inclusive_range_error, FieldError};
use serde_json::{Map, Value};

use super::util::list_of;

/// Upstream `updatablePodSpecFields`, in order.
const UPDATABLE: &[&str] = &[
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
];

/// Validates the spec changes of a pod update.
pub fn validate_pod_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let empty = Value::Object(Map::new());
    let new_spec = new.get("spec").unwrap_or(&empty);
    let old_spec = old.get("spec").unwrap_or(&empty);
    let mut errs = Vec::new();
    for key in ["containers", "initContainers"] {
        let (list_errs, stop) = container_updates(list_of(new_spec, key), list_of(old_spec, key), &format!("spec.{key}"));
        errs.extend(list_errs);
        if stop {
            return errs;
        }
    }
    if let Some(e) = deadline_update(new_spec, old_spec) {
        errs.push(e);
        if new_spec.get("activeDeadlineSeconds").is_some_and(|v| !v.is_null()) {
            return errs;
        }
    }
    errs.extend(toleration_update(list_of(new_spec, "tolerations"), list_of(old_spec, "tolerations")));
    errs.extend(gate_update(list_of(new_spec, "schedulingGates"), list_of(old_spec, "schedulingGates")));
    let munged = munge(new_spec, old_spec);
    if normalize(&munged) != normalize(old_spec) {
        let detail = format!(
            "pod updates may not change fields other than {}\n{}",
            UPDATABLE.join(","),
            spec_diff(old_spec, &munged)
        );
        errs.push(FieldError::forbidden("spec", detail));
    }
    errs
}

/// Upstream `ValidateContainerUpdates`; `true` stops validation (count changed).
fn container_updates(new: &[Value], old: &[Value], path: &str) -> (Vec<FieldError>, bool) {
    if new.len() != old.len() {
        return (vec![FieldError::forbidden(path, "pod updates may not add or remove containers")], true);
    }
    let mut errs = Vec::new();
    for (i, c) in new.iter().enumerate() {
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        if image.is_empty() {
            errs.push(FieldError::required(format!("{path}[{i}].image"), ""));
        }
        if image.trim() != image {
            errs.push(FieldError::invalid(format!("{path}[{i}].image"), image, "must not have leading or trailing whitespace"));
        }
    }
    (errs, false)
}

/// activeDeadlineSeconds may be set, or lowered, but not raised or removed.
fn deadline_update(new: &Value, old: &Value) -> Option<FieldError> {
    let path = "spec.activeDeadlineSeconds";
    let old_v = old.get("activeDeadlineSeconds").and_then(Value::as_i64);
    match new.get("activeDeadlineSeconds").and_then(Value::as_i64) {
        Some(v) if v < 0 || v > i64::from(i32::MAX) => {
            Some(FieldError::invalid(path, v, inclusive_range_error(0, i64::from(i32::MAX))))
        }
        Some(v) if old_v.is_some_and(|o| o < v) => Some(FieldError::invalid(path, v, "must be less than or equal to previous value")),
        None if old_v.is_some() => {
            Some(FieldError::invalid(path, Value::Null, "must not update from a positive integer to nil value"))
        }
        _ => None,
    }
}

/// Upstream `validateOnlyAddedTolerations` (tolerationSeconds may change).
fn toleration_update(new: &[Value], old: &[Value]) -> Vec<FieldError> {
    let without_seconds = |t: &Value| {
        let mut t = t.clone();
        if let Some(m) = t.as_object_mut() {
            m.remove("tolerationSeconds");
        }
        normalize(&t)
    };
    for o in old {
        if !new.iter().any(|n| without_seconds(n) == without_seconds(o)) {
            return vec![FieldError::forbidden(
                "spec.tolerations",
                "existing toleration can not be modified except its tolerationSeconds",
            )];
        }
    }
    vec![]
}

/// Upstream `validateOnlyDeletedSchedulingGates`.
fn gate_update(new: &[Value], old: &[Value]) -> Vec<FieldError> {
    let name = |g: &Value| g.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let old_names: Vec<String> = old.iter().map(name).collect();
    new.iter()
        .enumerate()
        .filter(|(_, g)| !old_names.contains(&name(g)))
        .map(|(i, g)| {
            FieldError::forbidden(
                format!("spec.schedulingGates[{i}].name"),
                format!("only deletion is allowed, but found new scheduling gate '{}'", name(g)),
            )
        })
        .collect()
}

/// The new spec with every updatable field replaced by the old value.
fn munge(new: &Value, old: &Value) -> Value {
    let mut m = new.clone();
    let Some(map) = m.as_object_mut() else { return m };
    for key in ["containers", "initContainers"] {
        if let Some(items) = map.get_mut(key).and_then(Value::as_array_mut) {
            for (i, c) in items.iter_mut().enumerate() {
                let old_image = old.get(key).and_then(|l| l.get(i)).and_then(|c| c.get("image")).cloned();
                if let Some(cm) = c.as_object_mut() {
                    restore(cm, "image", old_image);
                }
            }
        }
    }
    for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        restore(map, key, old.get(key).cloned());
    }
    let old_grace = old.get("terminationGracePeriodSeconds").and_then(Value::as_i64);
    if old_grace.is_some_and(|g| g < 0) && map.get("terminationGracePeriodSeconds").and_then(Value::as_i64) == Some(1) {
        restore(map, "terminationGracePeriodSeconds", old.get("terminationGracePeriodSeconds").cloned());
    }
    m
}

fn restore(map: &mut Map<String, Value>, key: &str, old: Option<Value>) {
    match old {
        Some(v) => {
            map.insert(key.to_string(), v);
        }
        None => {
            map.remove(key);
        }
    }
}

/// Semantic form for comparison: nulls and empty lists are the same as absent (Go's
/// semantic equality treats nil and empty slices alike).
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

/// A short diff of two specs in the shape of upstream's `cmp.Diff` output.
fn spec_diff(old: &Value, new: &Value) -> String {
    let (old, new) = (normalize(old), normalize(new));
    let empty = Map::new();
    let om = old.as_object().unwrap_or(&empty);
    let nm = new.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = om.keys().chain(nm.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = String::from("  core.PodSpec{\n");
    for k in keys {
        let (a, b) = (om.get(k), nm.get(k));
        if a == b {
            continue;
        }
        let field = go_field_name(k);
        let show = |v: Option<&Value>| v.map_or("nil".to_string(), |v| v.to_string());
        out.push_str(&format!("- \t{field}: {},\n+ \t{field}: {},\n", show(a), show(b)));
    }
    out.push_str("  }\n");
    out
}

fn go_field_name(json_name: &str) -> String {
    let mut chars = json_name.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: Value) -> Value {
        json!({"spec": spec})
    }

    fn base() -> Value {
        json!({"containers": [{"name": "c", "image": "nginx:1", "ports": [{"containerPort": 80}]}], "tolerations": [{"key": "a", "operator": "Exists"}]})
    }

    #[test]
    fn images_and_toleration_additions_are_allowed() {
        let old = pod(base());
        let mut new_spec = base();
        new_spec["containers"][0]["image"] = json!("nginx:2");
        new_spec["tolerations"] = json!([{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]);
        assert!(validate_pod_update(&pod(new_spec), &old).is_empty());
    }

    #[test]
    fn other_changes_are_forbidden_with_upstream_message() {
        let old = pod(base());
        let mut new_spec = base();
        new_spec["containers"][0]["ports"][0]["containerPort"] = json!(81);
        let errs = validate_pod_update(&pod(new_spec), &old);
        assert_eq!(errs.len(), 1);
        let msg = errs[0].to_string();
        assert!(msg.starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"), "{msg}");
    }

    #[test]
    fn container_count_and_deadline() {
        let old = pod(json!({"containers": [{"name": "c", "image": "x"}], "activeDeadlineSeconds": 10}));
        let new = pod(json!({"containers": [{"name": "c", "image": "x"}], "activeDeadlineSeconds": 20}));
        assert_eq!(
            validate_pod_update(&new, &old)[0].to_string(),
            "spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value"
        );
        let more = pod(json!({"containers": [{"name": "c", "image": "x"}, {"name": "d", "image": "y"}]}));
        assert_eq!(
            validate_pod_update(&more, &old)[0].to_string(),
            "spec.containers: Forbidden: pod updates may not add or remove containers"
        );
    }

    #[test]
    fn removing_a_toleration_is_forbidden() {
        let old = pod(base());
        let mut new_spec = base();
        new_spec["tolerations"] = json!([]);
        let errs = validate_pod_update(&pod(new_spec), &old);
        assert_eq!(errs[0].to_string(), "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds");
    }
}
