//! Small glue shared by the workload controllers of this folder (StatefulSet, DaemonSet,
//! Job, CronJob): label selectors from API objects, and informer handlers that queue the
//! controller owning a changed child.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as ApiSelector, ObjectMeta};
use kube::Resource;
use rkube_apimachinery::label_selector::LabelSelector;

use crate::controller_ref::controller_of;
use crate::errors::{Error, Result};
use crate::informer::Change;
use crate::runtime::Queue;

/// Converts an API label selector; an empty selector selects everything, as upstream's
/// `metav1.LabelSelectorAsSelector`.
pub fn selector(sel: &ApiSelector) -> Result<LabelSelector> {
    let json = serde_json::to_value(sel).map_err(|e| Error::Selector(e.to_string()))?;
    LabelSelector::from_json(&json).map_err(|e| Error::Selector(e.to_string()))
}

/// Whether the object's labels match the selector.
pub fn matches(sel: &LabelSelector, meta: &ObjectMeta) -> bool {
    match meta.labels.as_ref() {
        Some(l) => sel.matches(l),
        None => sel.matches(&std::collections::BTreeMap::<String, String>::new()),
    }
}

/// The object inside any change (its newest state).
pub fn changed<K>(c: &Change<K>) -> &Arc<K> {
    match c {
        Change::Added(o) | Change::Deleted(o) => o,
        Change::Updated { new, .. } => new,
    }
}

/// The name of the `Owner` kind controlling `meta`, if any.
pub fn owner_name<Owner: Resource<DynamicType = ()>>(meta: &ObjectMeta) -> Option<String> {
    controller_of(meta).filter(|r| r.kind == Owner::kind(&()) && r.api_version == Owner::api_version(&())).map(|r| r.name.clone())
}

/// A handler queueing the `Owner` that controls the changed child (old and new owner on
/// updates that moved it).
pub fn enqueue_owner<Owner, Child>(queue: Queue<Owner>) -> impl Fn(&Change<Child>) + Send + Sync + 'static
where
    Owner: Resource<DynamicType = ()> + 'static,
    Child: Resource,
{
    move |c: &Change<Child>| {
        let mut metas = vec![changed(c).meta()];
        if let Change::Updated { old, .. } = c {
            metas.push(old.meta());
        }
        for meta in metas {
            if let Some(name) = owner_name::<Owner>(meta) {
                queue.add(meta.namespace.as_deref(), &name);
            }
        }
    }
}

/// A handler queueing every object on any change (for the primary resource).
pub fn enqueue_self<K>(queue: Queue<K>) -> impl Fn(&Change<K>) + Send + Sync + 'static
where
    K: Resource<DynamicType = ()> + 'static,
{
    move |c: &Change<K>| {
        if !matches!(c, Change::Deleted(_)) {
            queue.add_obj(changed(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_convert() {
        let sel = ApiSelector { match_labels: Some([("app".to_string(), "web".to_string())].into()), ..Default::default() };
        let s = selector(&sel).unwrap();
        let meta = ObjectMeta { labels: Some([("app".to_string(), "web".to_string())].into()), ..Default::default() };
        assert!(matches(&s, &meta));
        assert!(!matches(&s, &ObjectMeta::default()));
        assert!(matches(&selector(&ApiSelector::default()).unwrap(), &ObjectMeta::default()));
    }
}
