//! The garbage collector's dependency graph (upstream `GraphBuilder`), pure: nodes are
//! objects by UID with their owner references and dependents; an owner seen only through a
//! reference is a *virtual* node until observed. Processing an event returns the work it
//! causes: objects to check for deletion, owners whose dependents must be orphaned.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

/// Finalizer of a foreground deletion: dependents go first.
pub const FOREGROUND: &str = "foregroundDeletion";
/// Finalizer of an orphaning deletion: dependents lose their owner reference.
pub const ORPHAN: &str = "orphan";

/// Where an object is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// apiVersion (group/version).
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace ("" for cluster-scoped, or unknown for a virtual node's guess).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID.
    pub uid: String,
}

/// What the graph needs to know of an observed object.
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    /// Identity.
    pub identity: Identity,
    /// metadata.ownerReferences.
    pub owners: Vec<OwnerReference>,
    /// metadata.finalizers.
    pub finalizers: Vec<String>,
    /// deletionTimestamp is set.
    pub deleting: bool,
}

impl ObjectInfo {
    fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }
}

/// A graph change.
#[derive(Debug, Clone)]
pub enum Event {
    /// An object was added or updated (`old` is its previous state, if known).
    Upsert {
        /// New state.
        obj: ObjectInfo,
        /// Previous state.
        old: Option<ObjectInfo>,
    },
    /// An object was deleted.
    Delete(ObjectInfo),
    /// A worker confirmed that a (virtual) node's object does not exist.
    VirtualDelete(Identity),
}

/// Work caused by an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// Check whether the object with this UID should be deleted (or finalized).
    AttemptToDelete(String),
    /// Orphan the dependents of the object with this UID.
    AttemptToOrphan(String),
}

/// One object in the graph.
#[derive(Debug, Clone)]
pub struct Node {
    /// Identity (for a virtual node: as its dependents reference it).
    pub identity: Identity,
    /// Its owner references.
    pub owners: Vec<OwnerReference>,
    /// UIDs of objects that reference it.
    pub dependents: HashSet<String>,
    /// deletionTimestamp is set.
    pub being_deleted: bool,
    /// Being deleted in the foreground (waiting for its blocking dependents).
    pub deleting_dependents: bool,
    /// Known only from references so far.
    pub is_virtual: bool,
}

/// The dependency graph.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    absent: HashSet<String>,
}

fn starts_waiting(old: Option<&ObjectInfo>, new: &ObjectInfo, finalizer: &str) -> bool {
    if !new.deleting || !new.has_finalizer(finalizer) {
        return false;
    }
    old.is_none_or(|o| !o.deleting || !o.has_finalizer(finalizer))
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// The node of `uid`.
    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Remembers that no object has this UID (upstream `absentOwnerCache`).
    pub fn mark_absent(&mut self, uid: &str) {
        if self.absent.len() > 100_000 {
            self.absent.clear();
        }
        self.absent.insert(uid.to_string());
    }

    /// Whether this UID is known to be absent.
    pub fn is_absent(&self, uid: &str) -> bool {
        self.absent.contains(uid)
    }

    /// Dependents whose reference to `uid` has blockOwnerDeletion.
    pub fn blocking_dependents(&self, uid: &str) -> Vec<String> {
        let Some(n) = self.nodes.get(uid) else { return Vec::new() };
        n.dependents
            .iter()
            .filter(|d| self.nodes.get(*d).is_some_and(|dep| dep.owners.iter().any(|r| r.uid == uid && r.block_owner_deletion == Some(true))))
            .cloned()
            .collect()
    }

    /// Applies an event; returns the work it causes.
    pub fn process(&mut self, event: Event) -> Vec<Work> {
        match event {
            Event::Upsert { obj, old } => self.upsert(obj, old),
            Event::Delete(obj) => self.remove(&obj.identity.uid),
            Event::VirtualDelete(id) => match self.nodes.get(&id.uid) {
                Some(n) if n.is_virtual => self.remove(&id.uid),
                _ => Vec::new(),
            },
        }
    }

    fn upsert(&mut self, obj: ObjectInfo, old: Option<ObjectInfo>) -> Vec<Work> {
        let uid = obj.identity.uid.clone();
        let mut work = Vec::new();
        let Some(node) = self.nodes.get_mut(&uid) else {
            let node = Node {
                identity: obj.identity.clone(),
                owners: obj.owners.clone(),
                dependents: HashSet::new(),
                being_deleted: obj.deleting,
                deleting_dependents: obj.deleting && obj.has_finalizer(FOREGROUND),
                is_virtual: false,
            };
            self.nodes.insert(uid.clone(), node);
            self.add_dependent_to_owners(&uid, &obj.owners, &obj.identity.namespace, &mut work);
            self.transitions(old.as_ref(), &obj, &mut work);
            return work;
        };
        if node.is_virtual {
            node.is_virtual = false;
            node.identity = obj.identity.clone();
        }
        let before = std::mem::replace(&mut node.owners, obj.owners.clone());
        if obj.deleting {
            node.being_deleted = true;
        }
        let added: Vec<OwnerReference> = obj.owners.iter().filter(|r| !before.iter().any(|b| b.uid == r.uid)).cloned().collect();
        let removed: Vec<OwnerReference> = before.iter().filter(|b| !obj.owners.iter().any(|r| r.uid == b.uid)).cloned().collect();
        for r in &removed {
            if r.block_owner_deletion == Some(true) && self.nodes.contains_key(&r.uid) {
                work.push(Work::AttemptToDelete(r.uid.clone()));
            }
            if let Some(o) = self.nodes.get_mut(&r.uid) {
                o.dependents.remove(&uid);
            }
        }
        for b in &before {
            let unblocked = obj.owners.iter().any(|r| r.uid == b.uid && b.block_owner_deletion == Some(true) && r.block_owner_deletion != Some(true));
            if unblocked && self.nodes.contains_key(&b.uid) {
                work.push(Work::AttemptToDelete(b.uid.clone()));
            }
        }
        self.add_dependent_to_owners(&uid, &added, &obj.identity.namespace, &mut work);
        self.transitions(old.as_ref(), &obj, &mut work);
        work
    }

    fn add_dependent_to_owners(&mut self, uid: &str, owners: &[OwnerReference], namespace: &str, work: &mut Vec<Work>) {
        for r in owners {
            match self.nodes.get_mut(&r.uid) {
                Some(o) => {
                    o.dependents.insert(uid.to_string());
                }
                None => {
                    let identity = Identity { api_version: r.api_version.clone(), kind: r.kind.clone(), namespace: namespace.into(), name: r.name.clone(), uid: r.uid.clone() };
                    let node = Node { identity, owners: Vec::new(), dependents: [uid.to_string()].into(), being_deleted: false, deleting_dependents: false, is_virtual: true };
                    self.nodes.insert(r.uid.clone(), node);
                    work.push(Work::AttemptToDelete(r.uid.clone()));
                }
            }
        }
    }

    fn transitions(&mut self, old: Option<&ObjectInfo>, new: &ObjectInfo, work: &mut Vec<Work>) {
        let uid = &new.identity.uid;
        if starts_waiting(old, new, ORPHAN) {
            work.push(Work::AttemptToOrphan(uid.clone()));
            return;
        }
        if starts_waiting(old, new, FOREGROUND) {
            if let Some(n) = self.nodes.get_mut(uid) {
                n.deleting_dependents = true;
                work.extend(n.dependents.iter().map(|d| Work::AttemptToDelete(d.clone())));
            }
            work.push(Work::AttemptToDelete(uid.clone()));
        }
    }

    fn remove(&mut self, uid: &str) -> Vec<Work> {
        let Some(node) = self.nodes.remove(uid) else { return Vec::new() };
        let mut work = Vec::new();
        for r in &node.owners {
            if let Some(o) = self.nodes.get_mut(&r.uid) {
                o.dependents.remove(uid);
                if o.deleting_dependents {
                    work.push(Work::AttemptToDelete(r.uid.clone()));
                }
            }
        }
        if !node.dependents.is_empty() {
            self.mark_absent(uid);
        }
        let mut deps: Vec<&String> = node.dependents.iter().collect();
        deps.sort();
        let mut out: Vec<Work> = deps.into_iter().map(|d| Work::AttemptToDelete(d.clone())).collect();
        out.extend(work);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(kind: &str, uid: &str) -> Identity {
        Identity { api_version: "apps/v1".into(), kind: kind.into(), namespace: "ns".into(), name: uid.into(), uid: uid.into() }
    }

    fn owner(uid: &str, block: bool) -> OwnerReference {
        OwnerReference { api_version: "apps/v1".into(), kind: "X".into(), name: uid.into(), uid: uid.into(), controller: Some(true), block_owner_deletion: Some(block) }
    }

    fn obj(uid: &str, owners: &[OwnerReference], finalizers: &[&str], deleting: bool) -> ObjectInfo {
        ObjectInfo { identity: id("X", uid), owners: owners.to_vec(), finalizers: finalizers.iter().map(|s| s.to_string()).collect(), deleting }
    }

    fn up(g: &mut Graph, o: ObjectInfo, old: Option<ObjectInfo>) -> Vec<Work> {
        g.process(Event::Upsert { obj: o, old })
    }

    #[test]
    fn unseen_owner_becomes_virtual_then_observed() {
        let mut g = Graph::new();
        let w = up(&mut g, obj("pod", &[owner("rs", true)], &[], false), None);
        assert_eq!(w, [Work::AttemptToDelete("rs".into())]);
        assert!(g.get("rs").unwrap().is_virtual);
        assert!(up(&mut g, obj("rs", &[], &[], false), None).is_empty());
        let rs = g.get("rs").unwrap();
        assert!(!rs.is_virtual && rs.dependents.contains("pod"));
        assert_eq!(g.blocking_dependents("rs"), ["pod"]);
    }

    #[test]
    fn deleting_an_owner_queues_its_dependents() {
        let mut g = Graph::new();
        up(&mut g, obj("d", &[], &[], false), None);
        up(&mut g, obj("rs", &[owner("d", true)], &[], false), None);
        up(&mut g, obj("pod", &[owner("rs", true)], &[], false), None);
        let w = g.process(Event::Delete(obj("d", &[], &[], false)));
        assert_eq!(w, [Work::AttemptToDelete("rs".into())]);
        assert!(g.is_absent("d"));
        assert!(g.get("d").is_none());
    }

    #[test]
    fn foreground_deletion_waits_for_blocking_dependents() {
        let mut g = Graph::new();
        let d = obj("d", &[], &[], false);
        up(&mut g, d.clone(), None);
        up(&mut g, obj("rs", &[owner("d", true)], &[], false), None);
        let w = up(&mut g, obj("d", &[], &[FOREGROUND], true), Some(d));
        assert_eq!(w, [Work::AttemptToDelete("rs".into()), Work::AttemptToDelete("d".into())]);
        assert!(g.get("d").unwrap().deleting_dependents);
        // the dependent goes: the waiting owner is checked again
        let w = g.process(Event::Delete(obj("rs", &[owner("d", true)], &[], false)));
        assert_eq!(w, [Work::AttemptToDelete("d".into())]);
        assert!(g.blocking_dependents("d").is_empty());
    }

    #[test]
    fn orphan_finalizer_queues_orphaning_once() {
        let mut g = Graph::new();
        let d = obj("d", &[], &[], false);
        up(&mut g, d.clone(), None);
        let deleting = obj("d", &[], &[ORPHAN], true);
        assert_eq!(up(&mut g, deleting.clone(), Some(d)), [Work::AttemptToOrphan("d".into())]);
        assert!(up(&mut g, deleting.clone(), Some(deleting)).is_empty());
    }

    #[test]
    fn dropping_a_blocking_reference_unblocks_the_owner() {
        let mut g = Graph::new();
        up(&mut g, obj("d", &[], &[], false), None);
        let rs = obj("rs", &[owner("d", true)], &[], false);
        up(&mut g, rs.clone(), None);
        let w = up(&mut g, obj("rs", &[], &[], false), Some(rs));
        assert_eq!(w, [Work::AttemptToDelete("d".into())]);
        assert!(g.get("d").unwrap().dependents.is_empty());
    }

    #[test]
    fn virtual_delete_only_removes_virtual_nodes() {
        let mut g = Graph::new();
        up(&mut g, obj("pod", &[owner("ghost", true)], &[], false), None);
        up(&mut g, obj("real", &[], &[], false), None);
        assert!(g.process(Event::VirtualDelete(id("X", "real"))).is_empty());
        assert!(g.get("real").is_some());
        assert_eq!(g.process(Event::VirtualDelete(id("X", "ghost"))), [Work::AttemptToDelete("pod".into())]);
        assert!(g.get("ghost").is_none());
    }
}
