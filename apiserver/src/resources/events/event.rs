//! events.k8s.io/v1 Event: upstream `ValidateEventCreate`/`ValidateEventUpdate` for the
//! events.k8s.io API (the legacy checks plus the strict ones), the field selectors it
//! maps onto core events' and the events printer's columns.
//!
//! Upstream reports some fields by their core/v1 names (`involvedObject.namespace`,
//! `message`), because it validates the converted internal object; that is kept.

use rkube_apimachinery::validation::{is_dns1123_subdomain, is_qualified_name, FieldError};
use serde_json::{json, Value};

use crate::resources::apps::util::{at, immutable, int_at, opt_int, str_at};
use crate::resources::strategy::{age_since, generic_field_value, Column, Strategy};

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

/// The events.k8s.io Event strategy.
pub struct EventStrategy;

impl Strategy for EventStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_legacy(obj);
        errs.extend(validate_strict(obj));
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        [
            ("action", "action"),
            ("reason", "reason"),
            ("note", "note"),
            ("related", "related"),
            ("reportingController", "reportingController"),
            ("reportingInstance", "reportingInstance"),
            ("type", "type"),
        ]
        .iter()
        .flat_map(|(member, field)| immutable(at(obj, &format!("/{member}")), at(old, &format!("/{member}")), field))
        .collect()
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &[
            "reason",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reportingController",
            "type",
        ]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        generic_field_value(obj, field).or_else(|| Some(String::new()))
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
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let first = match at(obj, "/deprecatedFirstTimestamp") {
            Some(t) => age_since(Some(t)),
            None => age_since(at(obj, "/eventTime")),
        };
        let mut last = at(obj, "/deprecatedLastTimestamp").map_or_else(|| first.clone(), |t| age_since(Some(t)));
        let mut count = int_at(obj, "/deprecatedCount");
        if at(obj, "/series").is_some() {
            last = age_since(at(obj, "/series/lastObservedTime"));
            count = int_at(obj, "/series/count");
        } else if count == 0 {
            count = 1;
        }
        let kind = str_at(obj, "/regarding/kind").to_lowercase();
        let name = str_at(obj, "/regarding/name");
        let target = if name.is_empty() { kind } else { format!("{kind}/{name}") };
        vec![
            json!(last),
            json!(str_at(obj, "/type")),
            json!(str_at(obj, "/reason")),
            json!(target),
            json!(str_at(obj, "/regarding/fieldPath")),
            json!(source(obj)),
            json!(str_at(obj, "/note").trim()),
            json!(first),
            json!(count),
        ]
    }
}

/// Upstream `formatEventSource`: component (or reporting controller), then host (or
/// reporting instance).
fn source(obj: &Value) -> String {
    let first = |a: &str, b: &str| if a.is_empty() { b.to_string() } else { a.to_string() };
    let component = first(str_at(obj, "/deprecatedSource/component"), str_at(obj, "/reportingController"));
    let host = first(str_at(obj, "/deprecatedSource/host"), str_at(obj, "/reportingInstance"));
    if host.is_empty() {
        component
    } else {
        format!("{component}, {host}")
    }
}

/// A limit check reported as upstream does (`Invalid` with an empty value).
fn too_long(field: &str, value: &str, limit: usize) -> Option<FieldError> {
    (value.len() > limit).then(|| FieldError::invalid(field, "", format!("can have at most {limit} characters")))
}

/// Upstream `legacyValidateEvent` for events.k8s.io requests.
fn validate_legacy(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let namespace = str_at(obj, "/metadata/namespace");
    let regarding_ns = str_at(obj, "/regarding/namespace");
    if at(obj, "/eventTime").is_none() {
        let mismatch = if regarding_ns.is_empty() { !namespace.is_empty() && namespace != "default" } else { namespace != regarding_ns };
        if mismatch {
            errs.push(FieldError::invalid("involvedObject.namespace", regarding_ns, "does not match event.namespace"));
        }
    } else {
        if regarding_ns.is_empty() && namespace != "default" && namespace != "kube-system" {
            errs.push(FieldError::invalid("involvedObject.namespace", regarding_ns, "does not match event.namespace"));
        }
        let controller = str_at(obj, "/reportingController");
        if controller.is_empty() {
            errs.push(FieldError::required("reportingController", ""));
        }
        errs.extend(is_qualified_name(controller).into_iter().map(|m| FieldError::invalid("reportingController", controller, m)));
        errs.extend(required_and_limited(obj, "reportingInstance", "reportingInstance", REPORTING_INSTANCE_LIMIT));
        errs.extend(required_and_limited(obj, "action", "action", ACTION_LIMIT));
        errs.extend(required_and_limited(obj, "reason", "reason", REASON_LIMIT));
        errs.extend(too_long("message", str_at(obj, "/note"), NOTE_LIMIT));
    }
    errs.extend(is_dns1123_subdomain(namespace).into_iter().map(|m| FieldError::invalid("namespace", namespace, m)));
    errs
}

fn required_and_limited(obj: &Value, member: &str, field: &str, limit: usize) -> Vec<FieldError> {
    let value = str_at(obj, &format!("/{member}"));
    let mut errs = Vec::new();
    if value.is_empty() {
        errs.push(FieldError::required(field, ""));
    }
    errs.extend(too_long(field, value, limit));
    errs
}

/// The strict checks upstream applies to events.k8s.io/v1 creates.
fn validate_strict(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if at(obj, "/series").is_some() {
        if opt_int(obj, "/series/count").unwrap_or(0) < 2 {
            errs.push(FieldError::invalid("series.count", "", "should be at least 2"));
        }
        if at(obj, "/series/lastObservedTime").is_none() {
            errs.push(FieldError::required("series.lastObservedTime", ""));
        }
    }
    if at(obj, "/eventTime").is_none() {
        errs.push(FieldError::required("eventTime", ""));
    }
    let kind = str_at(obj, "/type");
    if kind != "Normal" && kind != "Warning" {
        errs.push(FieldError::invalid("type", "", format!("has invalid value: {kind}")));
    }
    for field in ["deprecatedFirstTimestamp", "deprecatedLastTimestamp"] {
        if at(obj, &format!("/{field}")).is_some() {
            errs.push(FieldError::invalid(field, "", "needs to be unset"));
        }
    }
    if int_at(obj, "/deprecatedCount") != 0 {
        errs.push(FieldError::invalid("deprecatedCount", "", "needs to be unset"));
    }
    if !str_at(obj, "/deprecatedSource/component").is_empty() || !str_at(obj, "/deprecatedSource/host").is_empty() {
        errs.push(FieldError::invalid("deprecatedSource", "", "needs to be unset"));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({
            "metadata": {"name": "web.17a", "namespace": "default"},
            "eventTime": "2024-01-01T00:00:00.000000Z",
            "reportingController": "example.com/controller",
            "reportingInstance": "controller-0",
            "action": "Scale",
            "reason": "ScalingReplicaSet",
            "regarding": {"kind": "Deployment", "name": "web", "namespace": "default"},
            "note": "Scaled up replica set web-1 to 1 ",
            "type": "Normal"
        })
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn valid_event_and_row() {
        let e = event();
        assert!(EventStrategy.validate(&e).is_empty(), "{:?}", EventStrategy.validate(&e));
        let cells = EventStrategy.cells(&e);
        assert_eq!(cells.len(), EventStrategy.columns().len());
        assert_eq!(cells[1..4], [json!("Normal"), json!("ScalingReplicaSet"), json!("deployment/web")]);
        assert_eq!(cells[5], "example.com/controller, controller-0");
        assert_eq!(cells[6], "Scaled up replica set web-1 to 1");
        assert_eq!(cells[8], 1);
        assert_eq!(EventStrategy.field_value(&e, "regarding.kind").as_deref(), Some("Deployment"));
    }

    #[test]
    fn strict_checks() {
        let mut e = event();
        e["type"] = json!("Odd");
        e["deprecatedCount"] = json!(3);
        e["series"] = json!({"count": 1});
        e["action"] = json!("");
        assert_eq!(
            msgs(&EventStrategy.validate(&e)),
            [
                "action: Required value",
                "series.count: Invalid value: \"\": should be at least 2",
                "series.lastObservedTime: Required value",
                "type: Invalid value: \"\": has invalid value: Odd",
                "deprecatedCount: Invalid value: \"\": needs to be unset",
            ]
        );
        let mut changed = event();
        changed["note"] = json!("other");
        assert_eq!(msgs(&EventStrategy.validate_update(&changed, &event())), ["note: Invalid value: \"other\": field is immutable"]);
    }
}
