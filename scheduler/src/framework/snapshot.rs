//! The immutable view one scheduling cycle works on (upstream `cache.Snapshot` plus the
//! listers plugins read): node infos, namespaces, volumes, PDBs and nominated pods.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;

use super::fast_hash::FastMap;
use super::pod_index::PodIndex;
use super::types::{Labels, NodeInfo, PodInfo};

/// Cluster objects other than pods and nodes that plugins consult.
#[derive(Clone, Debug, Default)]
pub struct ClusterObjects {
    /// Namespace labels by name.
    pub namespaces: HashMap<String, Labels>,
    /// PersistentVolumes by name.
    pub pvs: BTreeMap<String, PersistentVolume>,
    /// PersistentVolumeClaims by `namespace/name`.
    pub pvcs: HashMap<String, PersistentVolumeClaim>,
    /// StorageClasses by name.
    pub storage_classes: HashMap<String, StorageClass>,
    /// PodDisruptionBudgets.
    pub pdbs: Vec<PodDisruptionBudget>,
}

/// Nominated pods by node name.
pub type Nominated = HashMap<String, Vec<Arc<PodInfo>>>;

/// A consistent view of the cluster for one cycle.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Every node, in a stable order.
    pub nodes: Vec<Arc<NodeInfo>>,
    /// Index of each node in `nodes`.
    pub index: HashMap<String, usize>,
    /// Indices of nodes running pods with any (anti-)affinity.
    pub with_affinity: Vec<usize>,
    /// Indices of nodes running pods with required anti-affinity.
    pub with_required_anti_affinity: Vec<usize>,
    /// How many nodes have each image (ImageLocality's spread factor).
    pub image_nodes: Arc<HashMap<String, usize>>,
    /// Namespaces, volumes, PDBs.
    pub objects: Arc<ClusterObjects>,
    /// Pods nominated to nodes by preemption.
    pub nominated: Arc<Nominated>,
    /// The pods on nodes, indexed by label (may also hold pods of nodes not in `nodes`).
    pub pods: Arc<PodIndex>,
    /// Topology domains per label key, computed on first use; reset when node labels change.
    pub topology: Arc<Mutex<FastMap<String, Arc<TopologyIndex>>>>,
}

/// Which domain (value of one label key) each node is in.
#[derive(Clone, Debug, Default)]
pub struct TopologyIndex {
    /// Domain id of each node of `Snapshot::nodes`; `None` when the node lacks the label.
    pub domain_of: Vec<Option<u32>>,
    /// Domain values by id.
    pub domains: Vec<String>,
}

impl TopologyIndex {
    fn build(nodes: &[Arc<NodeInfo>], key: &str) -> TopologyIndex {
        let mut ids: FastMap<&str, u32> = FastMap::default();
        let mut t = TopologyIndex::default();
        for n in nodes {
            let id = n.labels.get(key).map(|v| {
                *ids.entry(v.as_str()).or_insert_with(|| {
                    t.domains.push(v.clone());
                    (t.domains.len() - 1) as u32
                })
            });
            t.domain_of.push(id);
        }
        t
    }
}

impl Snapshot {
    /// A snapshot of bare node infos (tests, benchmarks).
    pub fn from_nodes(nodes: Vec<NodeInfo>) -> Snapshot {
        let mut s = Snapshot::default();
        let mut pods = PodIndex::default();
        for n in nodes {
            for p in &n.pods {
                pods.add(&n.name, p);
            }
            s.index.insert(n.name.clone(), s.nodes.len());
            s.nodes.push(Arc::new(n));
        }
        s.pods = Arc::new(pods);
        s.rebuild_lists();
        s
    }

    /// Recomputes the affinity index lists and image counts from `nodes`.
    pub fn rebuild_lists(&mut self) {
        self.rebuild_affinity_lists();
        self.rebuild_images();
    }

    /// Recomputes which nodes run pods with (anti-)affinity.
    pub fn rebuild_affinity_lists(&mut self) {
        self.with_affinity = (0..self.nodes.len())
            .filter(|i| !self.nodes[*i].pods_with_affinity.is_empty())
            .collect();
        self.with_required_anti_affinity = (0..self.nodes.len())
            .filter(|i| !self.nodes[*i].pods_with_required_anti_affinity.is_empty())
            .collect();
    }

    /// Recomputes how many nodes hold each image.
    pub fn rebuild_images(&mut self) {
        let mut images: HashMap<String, usize> = HashMap::new();
        for n in &self.nodes {
            for name in n.images.keys() {
                *images.entry(name.clone()).or_default() += 1;
            }
        }
        self.image_nodes = Arc::new(images);
    }

    /// The topology index of a label key (cached until node labels change).
    pub fn topology_index(&self, key: &str) -> Arc<TopologyIndex> {
        let mut cache = self.topology.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = cache.get(key) {
            return t.clone();
        }
        let t = Arc::new(TopologyIndex::build(&self.nodes, key));
        cache.insert(key.to_string(), t.clone());
        t
    }

    /// A node by name.
    pub fn get(&self, name: &str) -> Option<&Arc<NodeInfo>> {
        self.index.get(name).map(|i| &self.nodes[*i])
    }

    /// The labels of a namespace.
    pub fn namespace_labels(&self, ns: &str) -> Option<&Labels> {
        self.objects.namespaces.get(ns)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
