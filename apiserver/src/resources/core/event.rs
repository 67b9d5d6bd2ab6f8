//! core/v1 Events: the always-serialized zero fields, upstream's legacy (v1) event
//! validation, the involvedObject/reason/source/type field selectors and the
//! `kubectl get events` table.

use rkube_apimachinery::validation::{is_dns1123_subdomain, is_qualified_name, FieldError};
use serde_json::{json, Value};

use super::util::{invalid_each, set_default, str_at};
use crate::resources::strategy::{age_since, Column, Strategy};

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

const FIELD_LABELS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// The Event strategy.
pub struct EventStrategy;

impl Strategy for EventStrategy {
    fn default(&self, obj: &mut Value) {
        let Some(m) = obj.as_object_mut() else { return };
        for key in ["involvedObject", "source"] {
            set_default(m, key, json!({}));
        }
        for key in ["firstTimestamp", "lastTimestamp", "eventTime"] {
            m.entry(key.to_string()).or_insert(Value::Null);
        }
        for key in ["reportingComponent", "reportingInstance"] {
            set_default(m, key, json!(""));
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let namespace = str_at(obj, "/metadata/namespace");
        let involved_ns = str_at(obj, "/involvedObject/namespace");
        let mismatch = || FieldError::invalid("involvedObject.namespace", involved_ns, "does not match event.namespace");
        let mut errs = Vec::new();
        if obj.get("eventTime").is_none_or(Value::is_null) {
            let ok = if involved_ns.is_empty() { namespace.is_empty() || namespace == "default" } else { namespace == involved_ns };
            if !ok {
                errs.push(mismatch());
            }
        } else {
            if involved_ns.is_empty() && namespace != "default" && namespace != "kube-system" {
                errs.push(mismatch());
            }
            errs.extend(new_style_fields(obj));
        }
        errs.extend(invalid_each("namespace", namespace, is_dns1123_subdomain(namespace)));
        errs
    }

    fn field_labels(&self) -> &'static [&'static str] {
        FIELD_LABELS
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        let value = match field {
            "reportingComponent" => str_at(obj, "/reportingComponent").to_string(),
            "source" => match str_at(obj, "/source/component") {
                "" => str_at(obj, "/reportingComponent").to_string(),
                c => c.to_string(),
            },
            "reason" | "type" => str_at(obj, &format!("/{field}")).to_string(),
            f if f.starts_with("involvedObject.") => str_at(obj, &format!("/{}", f.replace('.', "/"))).to_string(),
            _ => return crate::resources::strategy::generic_field_value(obj, field),
        };
        Some(value)
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
            Column::new("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
            Column::new("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
            Column::new("Object", "string", "The object that this event is about."),
            Column::wide("Subobject", "string", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object."),
            Column::wide("Source", "string", "The component reporting this event. Should be a short machine understandable string."),
            Column::new("Message", "string", "A human-readable description of the status of this operation."),
            Column::wide("First Seen", "string", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"),
            Column::wide("Count", "string", "The number of times this event has occurred."),
            Column { priority: 1, ..Column::name_col() },
        ]
    }

    fn name_column_first(&self) -> bool {
        false
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let (last, first, count) = seen_and_count(obj);
        let kind = str_at(obj, "/involvedObject/kind").to_lowercase();
        let target = match str_at(obj, "/involvedObject/name") {
            "" => kind,
            name => format!("{kind}/{name}"),
        };
        vec![
            json!(last),
            json!(str_at(obj, "/type")),
            json!(str_at(obj, "/reason")),
            json!(target),
            json!(str_at(obj, "/involvedObject/fieldPath")),
            json!(source(obj)),
            json!(str_at(obj, "/message").trim()),
            json!(first),
            json!(count),
            obj.pointer("/metadata/name").cloned().unwrap_or(json!("")),
        ]
    }
}

/// The new-style (eventTime) requirements of upstream `legacyValidateEvent`.
fn new_style_fields(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let controller = str_at(obj, "/reportingComponent");
    if controller.is_empty() {
        errs.push(FieldError::required("reportingComponent", ""));
    }
    errs.extend(invalid_each("reportingComponent", controller, is_qualified_name(controller)));
    for (key, limit, required) in [
        ("reportingInstance", REPORTING_INSTANCE_LIMIT, true),
        ("action", ACTION_LIMIT, true),
        ("reason", REASON_LIMIT, true),
        ("message", NOTE_LIMIT, false),
    ] {
        let v = str_at(obj, &format!("/{key}"));
        if required && v.is_empty() {
            errs.push(FieldError::required(key, ""));
        }
        if v.len() > limit {
            errs.push(FieldError::invalid(key, "", format!("can have at most {limit} characters")));
        }
    }
    errs
}

/// LAST SEEN, FIRST SEEN and COUNT as upstream's `printEvent` computes them.
fn seen_and_count(obj: &Value) -> (String, String, i64) {
    let time = |key: &str| obj.get(key).filter(|v| v.as_str().is_some_and(|s| !s.is_empty()));
    let first = match time("firstTimestamp") {
        Some(t) => age_since(Some(t)),
        None => age_since(time("eventTime")),
    };
    let mut last = match time("lastTimestamp") {
        Some(t) => age_since(Some(t)),
        None => first.clone(),
    };
    let mut count = obj.get("count").and_then(Value::as_i64).unwrap_or(0);
    if let Some(series) = obj.get("series").filter(|s| s.is_object()) {
        last = age_since(series.get("lastObservedTime"));
        count = series.get("count").and_then(Value::as_i64).unwrap_or(0);
    } else if count == 0 {
        count = 1;
    }
    (last, first, count)
}

/// Upstream `formatEventSource`: component (or reportingController), then host (or
/// reportingInstance) after ", " when present.
fn source(obj: &Value) -> String {
    let or = |a: &str, b: &str| if a.is_empty() { b.to_string() } else { a.to_string() };
    let component = or(str_at(obj, "/source/component"), str_at(obj, "/reportingComponent"));
    let host = or(str_at(obj, "/source/host"), str_at(obj, "/reportingInstance"));
    if host.is_empty() {
        component
    } else {
        format!("{component}, {host}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({
            "metadata": {"name": "web.17a", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "fieldPath": "spec.containers{c}"},
            "reason": "Pulled", "type": "Normal", "message": " Pulled image \n",
            "source": {"component": "kubelet", "host": "node-1"}, "count": 3,
            "firstTimestamp": "2020-01-01T00:00:00Z", "lastTimestamp": "2020-01-01T00:00:00Z"
        })
    }

    #[test]
    fn defaults_fill_zero_fields() {
        let mut e = json!({"metadata": {"name": "e", "namespace": "default"}});
        EventStrategy.default(&mut e);
        assert_eq!(e["eventTime"], Value::Null);
        assert_eq!(e["reportingComponent"], "");
        assert_eq!(e["source"], json!({}));
        assert!(EventStrategy.validate(&e).is_empty());
    }

    #[test]
    fn namespace_must_match() {
        let mut e = event();
        e["involvedObject"]["namespace"] = json!("other");
        let errs: Vec<String> = EventStrategy.validate(&e).iter().map(ToString::to_string).collect();
        assert_eq!(errs, ["involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"]);
    }

    #[test]
    fn cells_and_fields() {
        let cells = EventStrategy.cells(&event());
        assert_eq!(cells.len(), EventStrategy.columns().len());
        assert_eq!(cells[1..7], [json!("Normal"), json!("Pulled"), json!("pod/web"), json!("spec.containers{c}"), json!("kubelet, node-1"), json!("Pulled image")]);
        assert_eq!(cells[8], json!(3));
        assert_eq!(EventStrategy.field_value(&event(), "involvedObject.kind").as_deref(), Some("Pod"));
        assert_eq!(EventStrategy.field_value(&event(), "source").as_deref(), Some("kubelet"));
        assert_eq!(EventStrategy.field_value(&event(), "involvedObject.uid").as_deref(), Some(""));
    }
}
