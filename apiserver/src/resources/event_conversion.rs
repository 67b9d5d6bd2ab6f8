//! events.k8s.io/v1 Events are stored as core/v1 Events, as upstream does, so that
//! `kubectl describe` (which reads core/v1) sees events written through either API.

use serde_json::{Map, Value};

/// (events.k8s.io/v1 field, core/v1 field) pairs that differ only in name.
const RENAMES: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn rename(obj: Value, api_version: &str, from_index: usize) -> Value {
    let Value::Object(fields) = obj else { return obj };
    let mut out = Map::new();
    for (k, v) in fields {
        let renamed = RENAMES
            .iter()
            .find(|pair| (if from_index == 0 { pair.0 } else { pair.1 }) == k)
            .map(|pair| if from_index == 0 { pair.1 } else { pair.0 });
        out.insert(renamed.unwrap_or(&k).to_string(), v);
    }
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert("kind".into(), Value::String("Event".into()));
    Value::Object(out)
}

/// events.k8s.io/v1 -> core/v1 (the stored form).
pub fn to_core(obj: Value) -> Value {
    rename(obj, "v1", 0)
}

/// core/v1 (the stored form) -> events.k8s.io/v1.
pub fn from_core(obj: Value) -> Value {
    rename(obj, "events.k8s.io/v1", 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_between_versions() {
        let e = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x"},
            "regarding": {"kind": "Pod", "name": "p"}, "note": "hello", "reason": "Started",
            "reportingController": "kubelet", "deprecatedCount": 2, "type": "Normal"});
        let core = to_core(e.clone());
        assert_eq!(core["involvedObject"]["name"], "p");
        assert_eq!(core["message"], "hello");
        assert_eq!(core["reportingComponent"], "kubelet");
        assert_eq!(core["count"], 2);
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(from_core(core), e);
    }
}
