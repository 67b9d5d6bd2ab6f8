//! The Events section of descriptions (upstream's `searchEvents` and `DescribeEvents`).

use serde_json::Value;

use super::writer::{s, Writer};
use super::Ctx;
use crate::util::age;

/// The events about an object (by name, namespace, UID and, except for pods, kind).
pub async fn search(ctx: &Ctx<'_>, obj: &Value, with_kind: bool) -> Option<Vec<Value>> {
    let kind = if with_kind { Some(s(obj, "/kind")) } else { None };
    search_ref(ctx, s(obj, "/metadata/name"), s(obj, "/metadata/namespace"), kind, s(obj, "/metadata/uid")).await
}

/// The events about a reference (upstream's `searchEvents` on an `ObjectReference`).
pub async fn search_ref(ctx: &Ctx<'_>, name: &str, ns: &str, kind: Option<&str>, uid: &str) -> Option<Vec<Value>> {
    if !ctx.show_events {
        return None;
    }
    let mut fields = vec![format!("involvedObject.name={name}"), format!("involvedObject.namespace={ns}")];
    if let Some(kind) = kind.filter(|k| !k.is_empty()) {
        fields.push(format!("involvedObject.kind={kind}"));
    }
    if !uid.is_empty() {
        fields.push(format!("involvedObject.uid={uid}"));
    }
    let path = if ns.is_empty() { "/api/v1/events".to_string() } else { format!("/api/v1/namespaces/{ns}/events") };
    Some(ctx.list(&path, "", &fields.join(",")).await.unwrap_or_default())
}

/// Writes the Events section.
pub fn describe(events: Option<&[Value]>, w: &mut Writer) {
    let Some(events) = events else { return };
    if events.is_empty() {
        w.write(0, "Events:\t<none>\n");
        return;
    }
    w.flush();
    let mut sorted: Vec<&Value> = events.iter().collect();
    sorted.sort_by(|a, b| s(a, "/lastTimestamp").cmp(s(b, "/lastTimestamp")));
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    w.write(1, "----\t------\t----\t----\t-------\n");
    for e in sorted {
        let event_time = s(e, "/eventTime");
        let first = if event_time.is_empty() { age_or_unknown(s(e, "/firstTimestamp")) } else { age_or_unknown(event_time) };
        let count = e.get("count").and_then(Value::as_i64).unwrap_or(0);
        let interval = if let Some(series) = e.get("series").filter(|x| !x.is_null()) {
            let n = series.get("count").and_then(Value::as_i64).unwrap_or(0);
            format!("{} (x{n} over {first})", age_or_unknown(s(series, "/lastObservedTime")))
        } else if count > 1 {
            format!("{} (x{count} over {first})", age_or_unknown(s(e, "/lastTimestamp")))
        } else {
            first
        };
        let mut source = s(e, "/source/component").to_string();
        if source.is_empty() {
            source = s(e, "/reportingComponent").to_string();
        }
        w.write(1, &format!("{}\t{}\t{interval}\t{source}\t{}\n", s(e, "/type"), s(e, "/reason"), s(e, "/message").trim()));
    }
}

fn age_or_unknown(ts: &str) -> String {
    if ts.is_empty() {
        "<unknown>".into()
    } else {
        age(Some(ts))
    }
}
