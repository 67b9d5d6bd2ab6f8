//! The pods a node runs right now (from the apiserver and static manifests), shared with the
//! kubelet server for /pods, logs and exec look-ups.

use std::collections::HashMap;
use std::sync::RwLock;

use k8s_openapi::api::core::v1::Pod;

/// Pods by UID.
#[derive(Default)]
pub struct Registry {
    pods: RwLock<HashMap<String, Pod>>,
}

impl Registry {
    /// Records or replaces a pod.
    pub fn upsert(&self, uid: &str, pod: Pod) {
        self.pods.write().expect("registry").insert(uid.to_string(), pod);
    }

    /// Forgets a pod.
    pub fn remove(&self, uid: &str) {
        self.pods.write().expect("registry").remove(uid);
    }

    /// Every pod.
    pub fn all(&self) -> Vec<Pod> {
        self.pods.read().expect("registry").values().cloned().collect()
    }

    /// The pod named `name` in `namespace`.
    pub fn find(&self, namespace: &str, name: &str) -> Option<Pod> {
        self.pods
            .read()
            .expect("registry")
            .values()
            .find(|p| p.metadata.namespace.as_deref().unwrap_or("default") == namespace && p.metadata.name.as_deref() == Some(name))
            .cloned()
    }

    /// How many pods.
    pub fn len(&self) -> usize {
        self.pods.read().expect("registry").len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
