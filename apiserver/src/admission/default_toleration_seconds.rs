//! DefaultTolerationSeconds admission: a new pod that does not tolerate the
//! `node.kubernetes.io/not-ready` or `node.kubernetes.io/unreachable` NoExecute taints gets
//! a toleration for each with `tolerationSeconds: 300`, so node lifecycle evicts it five
//! minutes after its node fails (upstream's `--default-not-ready-toleration-seconds` and
//! `--default-unreachable-toleration-seconds` defaults).

use serde_json::{json, Value};

use crate::resources::ResourceInfo;

/// Seconds a pod tolerates a not-ready or unreachable node by default.
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;

const TAINTS: [&str; 2] = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"];

/// Whether an existing toleration covers the NoExecute taint `key` (an empty key or effect
/// matches anything, as upstream checks).
fn covers(t: &Value, key: &str) -> bool {
    let k = t["key"].as_str().unwrap_or("");
    let e = t["effect"].as_str().unwrap_or("");
    (k.is_empty() || k == key) && (e.is_empty() || e == "NoExecute")
}

/// Adds the default tolerations to a pod being created.
pub fn admit(info: &ResourceInfo, pod: &mut Value) {
    if !info.group.is_empty() || info.plural != "pods" || !pod.get("spec").is_some_and(Value::is_object) {
        return;
    }
    let existing = pod["spec"]["tolerations"].as_array().cloned().unwrap_or_default();
    let mut tolerations = existing.clone();
    for key in TAINTS {
        if !existing.iter().any(|t| covers(t, key)) {
            tolerations.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": DEFAULT_TOLERATION_SECONDS}));
        }
    }
    if tolerations.len() != existing.len() {
        pod["spec"]["tolerations"] = Value::Array(tolerations);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_matches_upstream() {
        assert!(covers(&json!({"operator": "Exists"}), "node.kubernetes.io/unreachable"));
        assert!(covers(&json!({"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "tolerationSeconds": 2}), "node.kubernetes.io/unreachable"));
        assert!(!covers(&json!({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}), "node.kubernetes.io/unreachable"));
        assert!(!covers(&json!({"key": "other"}), "node.kubernetes.io/not-ready"));
    }
}
