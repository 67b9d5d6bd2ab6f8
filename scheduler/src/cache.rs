//! The scheduler cache (upstream `internal/cache`): nodes and the pods on them, including
//! pods *assumed* onto a node before their binding is confirmed, so two cycles never
//! double-book the same resources. Snapshots are updated incrementally: only node infos
//! changed since the last snapshot are swapped in (copy-on-write through `Arc`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

use crate::framework::pod_index::PodIndex;
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo};

/// Errors from cache operations (all indicate a bookkeeping bug or a race with the API).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CacheError {
    /// Assuming a pod that is already in the cache.
    #[error("pod {0} is in the cache, so can't be assumed")]
    AlreadyPresent(String),
    /// Operating on an unknown pod.
    #[error("pod {0} wasn't assumed so cannot be forgotten")]
    NotAssumed(String),
}

#[derive(Clone, Debug)]
struct PodState {
    pod: Arc<PodInfo>,
    node: String,
    assumed: bool,
    binding_finished: bool,
}

/// Nodes and pods, with assumed pods.
#[derive(Default)]
pub struct Cache {
    nodes: HashMap<String, Arc<NodeInfo>>,
    order: Vec<String>,
    pods: HashMap<String, PodState>,
    dirty: HashSet<String>,
    structure_changed: bool,
    images_changed: bool,
    labels_changed: bool,
    index: Arc<PodIndex>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Cache::default()
    }

    fn node_mut(&mut self, name: &str) -> &mut NodeInfo {
        if !self.nodes.contains_key(name) {
            let ni = NodeInfo {
                name: name.to_string(),
                ..Default::default()
            };
            self.nodes.insert(name.to_string(), Arc::new(ni));
            self.order.push(name.to_string());
            self.structure_changed = true;
        }
        self.dirty.insert(name.to_string());
        let ni = Arc::make_mut(self.nodes.get_mut(name).expect("node present"));
        ni.generation += 1;
        ni
    }

    /// Adds or updates a node.
    pub fn add_node(&mut self, node: Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let was_real = self.nodes.get(&name).is_some_and(|n| n.node.is_some());
        let same_labels = was_real
            && self
                .nodes
                .get(&name)
                .is_some_and(|n| Some(&n.labels) == node.metadata.labels.as_ref());
        self.labels_changed |= !same_labels;
        self.node_mut(&name).set_node(node);
        if !was_real {
            self.structure_changed = true;
        }
        self.images_changed = true;
    }

    /// Removes a node (pods still referring to it keep a placeholder).
    pub fn remove_node(&mut self, name: &str) {
        let Some(ni) = self.nodes.get(name) else {
            return;
        };
        if ni.pods.is_empty() {
            self.nodes.remove(name);
            self.order.retain(|n| n != name);
        } else {
            let ni = self.node_mut(name);
            ni.node = None;
            ni.labels.clear();
        }
        self.labels_changed = true;
        self.structure_changed = true;
        self.images_changed = true;
    }

    /// Number of real nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.values().filter(|n| n.node.is_some()).count()
    }

    /// Number of pods (bound and assumed).
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    fn place(&mut self, pod: Arc<PodInfo>, node: &str, assumed: bool) {
        Arc::make_mut(&mut self.index).add(node, &pod);
        self.node_mut(node).add_pod(pod.clone());
        self.pods.insert(
            pod.uid.clone(),
            PodState {
                pod,
                node: node.to_string(),
                assumed,
                binding_finished: false,
            },
        );
    }

    fn unplace(&mut self, uid: &str) -> Option<PodState> {
        let st = self.pods.remove(uid)?;
        Arc::make_mut(&mut self.index).remove(&st.pod);
        self.node_mut(&st.node).remove_pod(uid);
        let empty_placeholder = self
            .nodes
            .get(&st.node)
            .is_some_and(|n| n.node.is_none() && n.pods.is_empty());
        if empty_placeholder {
            self.nodes.remove(&st.node);
            self.order.retain(|n| *n != st.node);
            self.structure_changed = true;
        }
        Some(st)
    }

    /// Puts a pod on `node` before its binding is confirmed.
    pub fn assume_pod(&mut self, pod: Arc<PodInfo>, node: &str) -> Result<(), CacheError> {
        if self.pods.contains_key(&pod.uid) {
            return Err(CacheError::AlreadyPresent(pod.key()));
        }
        self.place(pod, node, true);
        Ok(())
    }

    /// The binding call returned.
    pub fn finish_binding(&mut self, uid: &str) {
        if let Some(st) = self.pods.get_mut(uid) {
            st.binding_finished = true;
        }
    }

    /// Undoes an assumption (binding failed).
    pub fn forget_pod(&mut self, uid: &str) -> Result<(), CacheError> {
        match self.pods.get(uid) {
            Some(st) if st.assumed => {
                self.unplace(uid);
                Ok(())
            }
            _ => Err(CacheError::NotAssumed(uid.to_string())),
        }
    }

    /// Whether a pod is assumed and not yet confirmed by the informer.
    pub fn is_assumed(&self, uid: &str) -> bool {
        self.pods.get(uid).is_some_and(|s| s.assumed)
    }

    /// Whether the cache holds the pod at all.
    pub fn contains_pod(&self, uid: &str) -> bool {
        self.pods.contains_key(uid)
    }

    /// An assigned pod seen by the informer (confirms an assumed pod); also updates.
    pub fn add_or_update_pod(&mut self, pod: Arc<PodInfo>) {
        let same = self
            .pods
            .get(&pod.uid)
            .is_some_and(|s| !s.assumed && Arc::ptr_eq(&s.pod, &pod));
        if same {
            return;
        }
        self.unplace(&pod.uid);
        let node = pod.node_name.clone();
        self.place(pod, &node, false);
    }

    /// A pod was deleted.
    pub fn remove_pod(&mut self, uid: &str) {
        self.unplace(uid);
    }

    /// Brings a snapshot up to date with the changes since it was last updated.
    pub fn update_snapshot(&mut self, snap: &mut Snapshot) {
        if self.structure_changed {
            snap.nodes = self
                .order
                .iter()
                .filter_map(|n| self.nodes.get(n))
                .filter(|n| n.node.is_some())
                .cloned()
                .collect();
            snap.index = snap
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name.clone(), i))
                .collect();
            snap.rebuild_lists();
        } else if !self.dirty.is_empty() {
            for name in &self.dirty {
                let Some(i) = snap.index.get(name).copied() else {
                    continue;
                };
                let new = self.nodes[name].clone();
                set_membership(
                    &mut snap.with_affinity,
                    i,
                    !new.pods_with_affinity.is_empty(),
                );
                set_membership(
                    &mut snap.with_required_anti_affinity,
                    i,
                    !new.pods_with_required_anti_affinity.is_empty(),
                );
                snap.nodes[i] = new;
            }
            if self.images_changed {
                snap.rebuild_images();
            }
        }
        snap.pods = self.index.clone();
        if self.labels_changed || self.structure_changed {
            snap.topology = Default::default();
        }
        self.labels_changed = false;
        self.dirty.clear();
        self.structure_changed = false;
        self.images_changed = false;
    }
}

/// Keeps a sorted index list in step with whether `i` belongs to it.
fn set_membership(list: &mut Vec<usize>, i: usize, present: bool) {
    match (list.binary_search(&i), present) {
        (Err(pos), true) => list.insert(pos, i),
        (Ok(pos), false) => {
            list.remove(pos);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;

    #[test]
    fn assume_confirm_forget() {
        let mut c = Cache::new();
        c.add_node(node("a", "2", "2Gi"));
        let mut snap = Snapshot::default();
        c.update_snapshot(&mut snap);
        assert_eq!(snap.len(), 1);
        let p = Arc::new(PodInfo::new(pod("p", "1", "1Gi")));
        c.assume_pod(p.clone(), "a").unwrap();
        assert_eq!(
            c.assume_pod(p.clone(), "a"),
            Err(CacheError::AlreadyPresent("default/p".into()))
        );
        c.update_snapshot(&mut snap);
        assert_eq!(snap.nodes[0].requested.milli_cpu, 1000);
        c.forget_pod(&p.uid).unwrap();
        c.update_snapshot(&mut snap);
        assert_eq!(snap.nodes[0].requested.milli_cpu, 0);
        c.assume_pod(p.clone(), "a").unwrap();
        let bound = Arc::new(PodInfo::new(on_node(pod("p", "1", "1Gi"), "a")));
        c.add_or_update_pod(bound);
        assert!(!c.is_assumed(&p.uid));
        c.update_snapshot(&mut snap);
        assert_eq!(snap.nodes[0].pods.len(), 1);
    }

    #[test]
    fn snapshot_is_copy_on_write() {
        let mut c = Cache::new();
        c.add_node(node("a", "2", "2Gi"));
        c.add_node(node("b", "2", "2Gi"));
        let mut snap = Snapshot::default();
        c.update_snapshot(&mut snap);
        let before = snap.clone();
        c.add_or_update_pod(Arc::new(PodInfo::new(on_node(pod("p", "1", "1Gi"), "b"))));
        c.update_snapshot(&mut snap);
        assert_eq!(before.get("b").unwrap().pods.len(), 0);
        assert_eq!(snap.get("b").unwrap().pods.len(), 1);
        assert!(Arc::ptr_eq(
            before.get("a").unwrap(),
            snap.get("a").unwrap()
        ));
    }

    #[test]
    fn pods_before_their_node() {
        let mut c = Cache::new();
        c.add_or_update_pod(Arc::new(PodInfo::new(on_node(
            pod("p", "1", "1Gi"),
            "late",
        ))));
        let mut snap = Snapshot::default();
        c.update_snapshot(&mut snap);
        assert!(snap.is_empty());
        c.add_node(node("late", "2", "2Gi"));
        c.update_snapshot(&mut snap);
        assert_eq!(snap.nodes[0].requested.milli_cpu, 1000);
        c.remove_node("late");
        c.update_snapshot(&mut snap);
        assert!(snap.is_empty());
    }
}
