//! The deletion conditions of a Terminating namespace (upstream
//! `namespace/deletion/status_condition_utils.go`), pure.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// Discovery of some groups failed.
pub const DISCOVERY_FAILURE: &str = "NamespaceDeletionDiscoveryFailure";
/// Some group versions could not be parsed.
pub const GV_PARSING_FAILURE: &str = "NamespaceDeletionGroupVersionParsingFailure";
/// Deleting some content failed.
pub const CONTENT_FAILURE: &str = "NamespaceDeletionContentFailure";
/// Content remains.
pub const CONTENT_REMAINING: &str = "NamespaceContentRemaining";
/// Content with finalizers remains.
pub const FINALIZERS_REMAINING: &str = "NamespaceFinalizersRemaining";

const TYPES: [&str; 5] = [DISCOVERY_FAILURE, GV_PARSING_FAILURE, CONTENT_FAILURE, CONTENT_REMAINING, FINALIZERS_REMAINING];

fn ok_reason(t: &str) -> (&'static str, &'static str) {
    match t {
        DISCOVERY_FAILURE => ("ResourcesDiscovered", "All resources successfully discovered"),
        GV_PARSING_FAILURE => ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
        CONTENT_FAILURE => ("ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
        CONTENT_REMAINING => ("ContentRemoved", "All content successfully removed"),
        _ => ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
    }
}

/// Failures found during one deletion pass.
#[derive(Debug, Default)]
pub struct Updater {
    new: Vec<NamespaceCondition>,
    now: Option<Timestamp>,
}

fn condition(t: &str, status: &str, reason: &str, message: String, now: Timestamp) -> NamespaceCondition {
    NamespaceCondition { type_: t.into(), status: status.into(), reason: Some(reason.into()), message: Some(message), last_transition_time: Some(Time(now)) }
}

impl Updater {
    /// An updater stamping conditions with `now`.
    pub fn new(now: Timestamp) -> Self {
        Updater { new: Vec::new(), now: Some(now) }
    }

    fn now(&self) -> Timestamp {
        self.now.unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// Discovery failed for some groups.
    pub fn discovery_failed(&mut self, message: String) {
        let c = condition(DISCOVERY_FAILURE, "True", "DiscoveryFailed", message, self.now());
        self.new.push(c);
    }

    /// Deleting some resource types failed.
    pub fn content_deletion_failed(&mut self, errors: &[String]) {
        let msg = format!("Failed to delete all resource types, {} remaining: {}", errors.len(), errors.join(", "));
        let c = condition(CONTENT_FAILURE, "True", "ContentDeletionFailed", msg, self.now());
        self.new.push(c);
    }

    /// Remaining objects by `resource.group`, and by finalizer.
    pub fn content_totals(&mut self, remaining: &BTreeMap<String, usize>, finalizers: &BTreeMap<String, usize>) {
        let parts: Vec<String> = remaining.iter().filter(|(_, n)| **n > 0).map(|(gr, n)| format!("{gr} has {n} resource instances")).collect();
        if !parts.is_empty() {
            let c = condition(CONTENT_REMAINING, "True", "SomeResourcesRemain", format!("Some resources are remaining: {}", parts.join(", ")), self.now());
            self.new.push(c);
        }
        let parts: Vec<String> = finalizers.iter().filter(|(_, n)| **n > 0).map(|(f, n)| format!("{f} in {n} resource instances")).collect();
        if !parts.is_empty() {
            let msg = format!("Some content in the namespace has finalizers remaining: {}", parts.join(", "));
            let c = condition(FINALIZERS_REMAINING, "True", "SomeFinalizersRemain", msg, self.now());
            self.new.push(c);
        }
    }

    /// Writes every condition type into the namespace's status (the ok variant when no
    /// failure was found); true when something changed.
    pub fn update(&self, ns: &mut Namespace) -> bool {
        let status = ns.status.get_or_insert_with(Default::default);
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        let mut changed = false;
        for t in TYPES {
            let new = self.new.iter().find(|c| c.type_ == t).cloned().unwrap_or_else(|| {
                let (reason, message) = ok_reason(t);
                condition(t, "False", reason, message.into(), self.now())
            });
            match conditions.iter_mut().find(|c| c.type_ == t) {
                None => {
                    conditions.push(new);
                    changed = true;
                }
                Some(old) if old.status == new.status && old.reason == new.reason && old.message == new.message => {}
                Some(old) => {
                    *old = new;
                    changed = true;
                }
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_five_conditions_with_ok_variants() {
        let mut ns = Namespace::default();
        let mut u = Updater::new(Timestamp::UNIX_EPOCH);
        u.content_totals(&[("pods.".to_string(), 2usize)].into(), &[("example.com/x".to_string(), 1usize)].into());
        assert!(u.update(&mut ns));
        let cs = ns.status.as_ref().unwrap().conditions.clone().unwrap();
        assert_eq!(cs.len(), 5);
        let remaining = cs.iter().find(|c| c.type_ == CONTENT_REMAINING).unwrap();
        assert_eq!((remaining.status.as_str(), remaining.reason.as_deref()), ("True", Some("SomeResourcesRemain")));
        assert_eq!(remaining.message.as_deref(), Some("Some resources are remaining: pods. has 2 resource instances"));
        let fin = cs.iter().find(|c| c.type_ == FINALIZERS_REMAINING).unwrap();
        assert_eq!(fin.message.as_deref(), Some("Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances"));
        let disc = cs.iter().find(|c| c.type_ == DISCOVERY_FAILURE).unwrap();
        assert_eq!((disc.status.as_str(), disc.reason.as_deref()), ("False", Some("ResourcesDiscovered")));
        assert!(!u.update(&mut ns), "unchanged the second time");
        let done = Updater::new(Timestamp::UNIX_EPOCH);
        assert!(done.update(&mut ns));
        let r = ns.status.unwrap().conditions.unwrap().into_iter().find(|c| c.type_ == CONTENT_REMAINING).unwrap();
        assert_eq!((r.status.as_str(), r.reason.as_deref()), ("False", Some("ContentRemoved")));
    }
}
