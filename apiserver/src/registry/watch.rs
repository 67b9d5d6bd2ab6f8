//! Turns storage changes into API watch events (ADDED/MODIFIED/DELETED) for one filter,
//! as upstream's cacher does: an object that stops matching is seen as DELETED, one that
//! starts matching as ADDED.

use std::sync::Arc;

use serde_json::Value;

use crate::errors::ApiResult;
use crate::registry::cacher::CachedEvent;
use crate::registry::decode_as;
use crate::resources::ResourceInfo;
use crate::storage::{EventKind, WatchEvent};

/// Whether an object belongs to a watch (label and field selectors).
pub type Predicate = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// The API event type names.
pub const ADDED: &str = "ADDED";
/// An object changed.
pub const MODIFIED: &str = "MODIFIED";
/// An object went away (or stopped matching).
pub const DELETED: &str = "DELETED";
/// A progress marker carrying only a resourceVersion.
pub const BOOKMARK: &str = "BOOKMARK";
/// A failure, carrying a Status.
pub const ERROR: &str = "ERROR";

/// The API event for a storage event, or `None` if the filter hides it.
pub fn translate(info: &ResourceInfo, ev: &WatchEvent, pred: &Predicate) -> ApiResult<Option<(&'static str, Value)>> {
    let cur = decode_as(info, &ev.kv)?;
    let prev = match &ev.prev {
        Some(p) => Some(decode_as(info, p)?),
        None => None,
    };
    let was = prev.as_ref().is_some_and(|p| pred(p));
    let now = pred(&cur);
    Ok(classify(ev.kind, now, was).map(|k| (k, cur)))
}

/// The API event for an already decoded change (from the watch cache).
pub fn translate_cached(info: &ResourceInfo, ev: &CachedEvent, pred: &Predicate) -> Option<(&'static str, Value)> {
    let convert = |v: &Value| if info.storage_alias.is_some() { info.from_storage(v.clone()) } else { v.clone() };
    let was = ev.prev.as_ref().is_some_and(|p| pred(&convert(p)));
    let cur = convert(&ev.object);
    let now = pred(&cur);
    classify(ev.kind, now, was).map(|k| (k, cur))
}

/// The event type a watcher sees, given whether the object matches its filter after the
/// change (`now`) and before it (`was`).
fn classify(kind: EventKind, now: bool, was: bool) -> Option<&'static str> {
    match kind {
        EventKind::Created if now => Some(ADDED),
        EventKind::Modified if now && was => Some(MODIFIED),
        EventKind::Modified if now => Some(ADDED),
        EventKind::Modified if was => Some(DELETED),
        EventKind::Deleted if was || now => Some(DELETED),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::KeyValue;

    fn kv(labels: &str, rev: u64) -> KeyValue {
        let v = serde_json::json!({"metadata": {"name": "a", "labels": {"app": labels}}});
        KeyValue { key: "/k/a".into(), value: serde_json::to_vec(&v).unwrap(), create_revision: 1, mod_revision: rev }
    }

    #[test]
    fn objects_moving_in_and_out_of_a_selector() {
        let info = crate::resources::builtin().into_iter().find(|r| r.plural == "configmaps").unwrap();
        let pred: Predicate = Arc::new(|o: &Value| o.pointer("/metadata/labels/app") == Some(&Value::from("web")));
        let modified = |from: &str, to: &str| WatchEvent { kind: EventKind::Modified, kv: kv(to, 3), prev: Some(kv(from, 2)) };
        assert_eq!(translate(&info, &modified("db", "web"), &pred).unwrap().unwrap().0, ADDED);
        assert_eq!(translate(&info, &modified("web", "db"), &pred).unwrap().unwrap().0, DELETED);
        assert_eq!(translate(&info, &modified("web", "web"), &pred).unwrap().unwrap().0, MODIFIED);
        assert!(translate(&info, &modified("db", "db"), &pred).unwrap().is_none());
        let (_, obj) = translate(&info, &modified("web", "web"), &pred).unwrap().unwrap();
        assert_eq!(obj.pointer("/metadata/resourceVersion"), Some(&Value::from("3")));
    }
}
