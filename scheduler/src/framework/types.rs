//! The scheduler's view of pods and nodes (upstream `framework.PodInfo` / `NodeInfo`):
//! everything a plugin needs is computed once when an object enters the cache or queue, so
//! that the per-node work of a scheduling cycle is cheap.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    Container, Node, Pod, PodAffinityTerm, ResourceRequirements, Taint, Toleration,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;
use rkube_apimachinery::label_selector::{LabelSelector, Operator, Requirement};
use rkube_apimachinery::quantity::Quantity;

/// Labels as the scheduler keeps them.
pub type Labels = BTreeMap<String, String>;

/// The CPU request assumed for scoring when a container asks for none (upstream 100m).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// The memory request assumed for scoring when a container asks for none (200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// Amounts of every resource the scheduler accounts for (upstream `framework.Resource`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Ephemeral storage in bytes.
    pub ephemeral_storage: i64,
    /// How many pods fit (allocatable only).
    pub allowed_pod_number: i64,
    /// Extended and other scalar resources, in whole units.
    pub scalar: BTreeMap<String, i64>,
}

impl Resource {
    /// Builds a resource set from a `ResourceList` (requests, allocatable, overhead).
    pub fn from_list(list: Option<&BTreeMap<String, KQuantity>>) -> Resource {
        let mut r = Resource::default();
        for (name, q) in list.into_iter().flatten() {
            r.set(name, q);
        }
        r
    }

    fn set(&mut self, name: &str, q: &KQuantity) {
        let Ok(q) = Quantity::parse(&q.0) else { return };
        match name {
            "cpu" => self.milli_cpu = q.milli_value() as i64,
            "memory" => self.memory = q.value() as i64,
            "ephemeral-storage" => self.ephemeral_storage = q.value() as i64,
            "pods" => self.allowed_pod_number = q.value() as i64,
            other => {
                self.scalar.insert(other.to_string(), q.value() as i64);
            }
        }
    }

    /// Adds another set (not the pod count).
    pub fn add(&mut self, o: &Resource) {
        self.milli_cpu += o.milli_cpu;
        self.memory += o.memory;
        self.ephemeral_storage += o.ephemeral_storage;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    /// Subtracts another set (not the pod count).
    pub fn sub(&mut self, o: &Resource) {
        self.milli_cpu -= o.milli_cpu;
        self.memory -= o.memory;
        self.ephemeral_storage -= o.ephemeral_storage;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_default() -= v;
        }
    }

    /// Takes the per-resource maximum of both sets.
    pub fn max_with(&mut self, o: &Resource) {
        self.milli_cpu = self.milli_cpu.max(o.milli_cpu);
        self.memory = self.memory.max(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(o.ephemeral_storage);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }

    /// The amount of a named resource (`cpu` in millicores).
    pub fn get(&self, name: &str) -> i64 {
        match name {
            "cpu" => self.milli_cpu,
            "memory" => self.memory,
            "ephemeral-storage" => self.ephemeral_storage,
            "pods" => self.allowed_pod_number,
            other => self.scalar.get(other).copied().unwrap_or(0),
        }
    }

    /// Whether nothing at all is requested.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.values().all(|v| *v == 0)
    }
}

fn container_requests(c: &Container, non_zero: bool) -> Resource {
    let mut r = Resource::from_list(
        c.resources
            .as_ref()
            .and_then(|r: &ResourceRequirements| r.requests.as_ref()),
    );
    if non_zero {
        let has = |n: &str| {
            c.resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .is_some_and(|m| m.contains_key(n))
        };
        if !has("cpu") {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !has("memory") {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
    }
    r
}

/// Upstream `resource.PodRequests`: the sum of the containers, at least the largest init
/// container (restartable init containers run alongside), plus the pod overhead. With
/// `non_zero`, containers without a cpu/memory request count upstream's defaults.
pub fn pod_requests(pod: &Pod, non_zero: bool) -> Resource {
    let Some(spec) = pod.spec.as_ref() else {
        return Resource::default();
    };
    let mut reqs = Resource::default();
    for c in &spec.containers {
        reqs.add(&container_requests(c, non_zero));
    }
    let mut restartable = Resource::default();
    let mut init_max = Resource::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c, non_zero);
        let effective = if c.restart_policy.as_deref() == Some("Always") {
            reqs.add(&r);
            restartable.add(&r);
            restartable.clone()
        } else {
            let mut t = r;
            t.add(&restartable);
            t
        };
        init_max.max_with(&effective);
    }
    reqs.max_with(&init_max);
    if let Some(overhead) = spec.overhead.as_ref() {
        reqs.add(&Resource::from_list(Some(overhead)));
    }
    reqs
}

/// One host port a container asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// Host IP ("0.0.0.0" when unset).
    pub ip: String,
    /// TCP, UDP or SCTP.
    pub protocol: String,
    /// The port number.
    pub port: i32,
}

impl HostPort {
    /// Whether two host ports collide (same protocol and port, overlapping IPs).
    pub fn conflicts(&self, o: &HostPort) -> bool {
        self.port == o.port
            && self.protocol == o.protocol
            && (self.ip == o.ip || self.ip == "0.0.0.0" || o.ip == "0.0.0.0")
    }
}

fn host_ports(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    let init_sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"));
    spec.containers
        .iter()
        .chain(init_sidecars)
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.host_port.unwrap_or(0) > 0)
        .map(|p| HostPort {
            ip: p
                .host_ip
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "0.0.0.0".into()),
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            port: p.host_port.unwrap_or(0),
        })
        .collect()
}

/// A pod (anti-)affinity term with its selectors parsed (upstream `framework.AffinityTerm`).
#[derive(Clone, Debug)]
pub struct AffinityTerm {
    /// Namespaces the term applies to (explicit list, or the pod's own).
    pub namespaces: BTreeSet<String>,
    /// Selects the pods the term is about.
    pub selector: LabelSelector,
    /// The node label that defines a topology domain.
    pub topology_key: String,
    /// Selects further namespaces by their labels (nothing when unset).
    pub namespace_selector: LabelSelector,
}

impl AffinityTerm {
    /// Whether the term selects `pod`, given the labels of the pod's namespace.
    pub fn matches(&self, pod: &PodInfo, ns_labels: Option<&Labels>) -> bool {
        let ns_ok = self.namespaces.contains(&pod.namespace)
            || (!self.namespace_selector.is_nothing()
                && self
                    .namespace_selector
                    .matches(ns_labels.unwrap_or(&Labels::new())));
        ns_ok && self.selector.matches(&pod.labels)
    }

    fn new(owner_ns: &str, owner_labels: &Labels, t: &PodAffinityTerm) -> AffinityTerm {
        let mut selector = json_selector(t.label_selector.as_ref());
        let mut extra = Vec::new();
        for (keys, op) in [
            (&t.match_label_keys, Operator::In),
            (&t.mismatch_label_keys, Operator::NotIn),
        ] {
            for k in keys.iter().flatten() {
                if let Some(v) = owner_labels.get(k) {
                    extra.extend(Requirement::new(k.clone(), op, vec![v.clone()]).ok());
                }
            }
        }
        if !extra.is_empty() && !selector.is_nothing() {
            selector = selector.add(extra);
        }
        let namespace_selector = json_selector(t.namespace_selector.as_ref());
        let mut namespaces: BTreeSet<String> = t.namespaces.iter().flatten().cloned().collect();
        if namespaces.is_empty() && t.namespace_selector.is_none() {
            namespaces.insert(owner_ns.to_string());
        }
        AffinityTerm {
            namespaces,
            selector,
            topology_key: t.topology_key.clone(),
            namespace_selector,
        }
    }
}

/// Parses a `metav1.LabelSelector`; nil or invalid selects nothing.
pub fn json_selector<T: serde::Serialize>(s: Option<&T>) -> LabelSelector {
    match s.map(serde_json::to_value) {
        Some(Ok(v)) => LabelSelector::from_json(&v).unwrap_or_else(|_| LabelSelector::nothing()),
        _ => LabelSelector::nothing(),
    }
}

/// A preferred affinity term and its weight.
#[derive(Clone, Debug)]
pub struct WeightedAffinityTerm {
    /// The term.
    pub term: AffinityTerm,
    /// Its weight (1-100).
    pub weight: i32,
}

/// A pod as the scheduler sees it (upstream `framework.PodInfo` plus cached derived data).
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// The API object.
    pub pod: Arc<Pod>,
    /// metadata.uid.
    pub uid: String,
    /// metadata.namespace.
    pub namespace: String,
    /// metadata.name.
    pub name: String,
    /// metadata.labels.
    pub labels: Labels,
    /// spec.nodeName ("" when unassigned).
    pub node_name: String,
    /// status.nominatedNodeName.
    pub nominated_node_name: String,
    /// spec.priority (0 when unset).
    pub priority: i32,
    /// spec.schedulerName (default-scheduler when unset).
    pub scheduler_name: String,
    /// Resource requests as the Fit filter counts them.
    pub requests: Resource,
    /// Requests with upstream's defaults for missing cpu/memory (used for scoring).
    pub non_zero_requests: Resource,
    /// Required pod affinity terms.
    pub required_affinity_terms: Vec<AffinityTerm>,
    /// Required pod anti-affinity terms.
    pub required_anti_affinity_terms: Vec<AffinityTerm>,
    /// Preferred pod affinity terms.
    pub preferred_affinity_terms: Vec<WeightedAffinityTerm>,
    /// Preferred pod anti-affinity terms.
    pub preferred_anti_affinity_terms: Vec<WeightedAffinityTerm>,
    /// Host ports of its containers.
    pub host_ports: Vec<HostPort>,
    /// Whether metadata.deletionTimestamp is set.
    pub terminating: bool,
    /// Whether spec.schedulingGates is non-empty.
    pub gated: bool,
}

impl PodInfo {
    /// Derives everything the plugins need from a pod.
    pub fn new(pod: Pod) -> PodInfo {
        let meta = &pod.metadata;
        let spec = pod.spec.as_ref();
        let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
        let labels: Labels = meta.labels.clone().unwrap_or_default();
        let affinity = spec.and_then(|s| s.affinity.as_ref());
        let pa = affinity.and_then(|a| a.pod_affinity.as_ref());
        let paa = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let required = |terms: Option<&Vec<PodAffinityTerm>>| -> Vec<AffinityTerm> {
            terms
                .into_iter()
                .flatten()
                .map(|t| AffinityTerm::new(&namespace, &labels, t))
                .collect()
        };
        let preferred =
            |terms: Option<&Vec<WeightedPodAffinityTerm>>| -> Vec<WeightedAffinityTerm> {
                terms
                    .into_iter()
                    .flatten()
                    .map(|w| WeightedAffinityTerm {
                        term: AffinityTerm::new(&namespace, &labels, &w.pod_affinity_term),
                        weight: w.weight,
                    })
                    .collect()
            };
        PodInfo {
            uid: meta.uid.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            node_name: spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
            nominated_node_name: pod
                .status
                .as_ref()
                .and_then(|s| s.nominated_node_name.clone())
                .unwrap_or_default(),
            priority: spec.and_then(|s| s.priority).unwrap_or(0),
            scheduler_name: spec
                .and_then(|s| s.scheduler_name.clone())
                .unwrap_or_else(|| "default-scheduler".into()),
            requests: pod_requests(&pod, false),
            non_zero_requests: pod_requests(&pod, true),
            required_affinity_terms: required(pa.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            required_anti_affinity_terms: required(paa.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_affinity_terms: preferred(pa.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_anti_affinity_terms: preferred(paa.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            host_ports: host_ports(&pod),
            terminating: meta.deletion_timestamp.is_some(),
            gated: spec
                .and_then(|s| s.scheduling_gates.as_ref())
                .is_some_and(|g| !g.is_empty()),
            namespace,
            labels,
            pod: Arc::new(pod),
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether the pod has any (anti-)affinity terms.
    pub fn has_affinity(&self) -> bool {
        !self.required_affinity_terms.is_empty()
            || !self.required_anti_affinity_terms.is_empty()
            || !self.preferred_affinity_terms.is_empty()
            || !self.preferred_anti_affinity_terms.is_empty()
    }

    /// spec.tolerations.
    pub fn tolerations(&self) -> &[Toleration] {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or(&[])
    }

    /// status.startTime in seconds since the epoch (upstream `GetPodStartTime`), else creation.
    pub fn start_time(&self) -> i64 {
        let st = self
            .pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .map(|t| t.0.as_second());
        st.or_else(|| {
            self.pod
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.as_second())
        })
        .unwrap_or(0)
    }
}

/// A node and what the cache knows runs on it (upstream `framework.NodeInfo`).
#[derive(Clone, Debug, Default)]
pub struct NodeInfo {
    /// The API object; `None` while only pods referring to the node are known.
    pub node: Option<Arc<Node>>,
    /// The node's name.
    pub name: String,
    /// The node's labels.
    pub labels: Labels,
    /// spec.taints.
    pub taints: Vec<Taint>,
    /// spec.unschedulable.
    pub unschedulable: bool,
    /// status.allocatable.
    pub allocatable: Resource,
    /// Sum of the requests of the pods on the node.
    pub requested: Resource,
    /// Sum of the non-zero requests (scoring).
    pub non_zero_requested: Resource,
    /// Pods on (or assumed onto) the node.
    pub pods: Vec<Arc<PodInfo>>,
    /// The subset with any pod (anti-)affinity.
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    /// The subset with required anti-affinity.
    pub pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    /// Host ports in use.
    pub used_ports: Vec<HostPort>,
    /// Images present on the node, by every name, with their size in bytes.
    pub images: BTreeMap<String, i64>,
    /// Bumped on every change (snapshot bookkeeping).
    pub generation: u64,
}

impl NodeInfo {
    /// A node info for a node object.
    pub fn from_node(node: Node) -> NodeInfo {
        let mut ni = NodeInfo::default();
        ni.set_node(node);
        ni
    }

    /// Replaces the node object, keeping the pods.
    pub fn set_node(&mut self, node: Node) {
        self.name = node.metadata.name.clone().unwrap_or_default();
        self.labels = node.metadata.labels.clone().unwrap_or_default();
        self.taints = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default();
        self.unschedulable = node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false);
        let status = node.status.as_ref();
        self.allocatable = Resource::from_list(status.and_then(|s| s.allocatable.as_ref()));
        self.images = status
            .and_then(|s| s.images.as_ref())
            .into_iter()
            .flatten()
            .flat_map(|img| {
                img.names
                    .iter()
                    .flatten()
                    .map(move |n| (n.clone(), img.size_bytes.unwrap_or(0)))
            })
            .collect();
        self.node = Some(Arc::new(node));
    }

    /// Accounts a pod on the node.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests);
        self.non_zero_requested.milli_cpu += pod.non_zero_requests.milli_cpu;
        self.non_zero_requested.memory += pod.non_zero_requests.memory;
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if pod.has_affinity() {
            self.pods_with_affinity.push(pod.clone());
        }
        if !pod.required_anti_affinity_terms.is_empty() {
            self.pods_with_required_anti_affinity.push(pod.clone());
        }
        self.pods.push(pod);
    }

    /// Removes a pod by uid; false when it was not there.
    pub fn remove_pod(&mut self, uid: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.uid == uid) else {
            return false;
        };
        let pod = self.pods.swap_remove(i);
        self.pods_with_affinity.retain(|p| p.uid != uid);
        self.pods_with_required_anti_affinity
            .retain(|p| p.uid != uid);
        self.requested.sub(&pod.requests);
        self.non_zero_requested.milli_cpu -= pod.non_zero_requests.milli_cpu;
        self.non_zero_requested.memory -= pod.non_zero_requests.memory;
        for hp in &pod.host_ports {
            if let Some(j) = self.used_ports.iter().position(|u| u == hp) {
                self.used_ports.swap_remove(j);
            }
        }
        true
    }
}

#[cfg(test)]
pub mod fixtures {
    //! Small node and pod builders for unit tests.
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerPort, NodeSpec, NodeStatus, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    /// A node with cpu (cores), memory (GiB) and 110 pods allocatable.
    pub fn node(name: &str, cpu: &str, mem: &str) -> Node {
        let alloc: BTreeMap<String, KQuantity> = [("cpu", cpu), ("memory", mem), ("pods", "110")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), KQuantity(v.to_string())))
            .collect();
        let mut labels = Labels::new();
        labels.insert("kubernetes.io/hostname".into(), name.into());
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(labels),
                ..Default::default()
            },
            spec: Some(NodeSpec::default()),
            status: Some(NodeStatus {
                allocatable: Some(alloc.clone()),
                capacity: Some(alloc),
                ..Default::default()
            }),
        }
    }

    /// Adds a label to a node.
    pub fn label(mut n: Node, k: &str, v: &str) -> Node {
        n.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(k.into(), v.into());
        n
    }

    /// Adds a taint to a node.
    pub fn taint(mut n: Node, key: &str, value: &str, effect: &str) -> Node {
        let t = Taint {
            key: key.into(),
            value: Some(value.into()).filter(|v: &String| !v.is_empty()),
            effect: effect.into(),
            time_added: None,
        };
        n.spec
            .get_or_insert_with(Default::default)
            .taints
            .get_or_insert_with(Vec::new)
            .push(t);
        n
    }

    /// A pod in `default` with one container requesting cpu and memory ("" for none).
    pub fn pod(name: &str, cpu: &str, mem: &str) -> Pod {
        let mut req = BTreeMap::new();
        if !cpu.is_empty() {
            req.insert("cpu".to_string(), KQuantity(cpu.into()));
        }
        if !mem.is_empty() {
            req.insert("memory".to_string(), KQuantity(mem.into()));
        }
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    image: Some("nginx".into()),
                    resources: Some(ResourceRequirements {
                        requests: Some(req),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: None,
        }
    }

    /// Sets labels on a pod.
    pub fn pod_labels(mut p: Pod, labels: &[(&str, &str)]) -> Pod {
        let l = p.metadata.labels.get_or_insert_with(Default::default);
        for (k, v) in labels {
            l.insert(k.to_string(), v.to_string());
        }
        p
    }

    /// Adds a host port to the pod's first container.
    pub fn host_port(mut p: Pod, port: i32) -> Pod {
        let c = &mut p.spec.as_mut().unwrap().containers[0];
        c.ports.get_or_insert_with(Vec::new).push(ContainerPort {
            container_port: port,
            host_port: Some(port),
            ..Default::default()
        });
        p
    }

    /// Puts the pod on a node.
    pub fn on_node(mut p: Pod, node: &str) -> Pod {
        p.spec.as_mut().unwrap().node_name = Some(node.into());
        p
    }

    /// Sets the pod's priority.
    pub fn priority(mut p: Pod, prio: i32) -> Pod {
        p.spec.as_mut().unwrap().priority = Some(prio);
        p
    }

    /// Builds a node info with the given pods.
    pub fn node_info(n: Node, pods: Vec<Pod>) -> NodeInfo {
        let mut ni = NodeInfo::from_node(n);
        for p in pods {
            ni.add_pod(Arc::new(PodInfo::new(p)));
        }
        ni
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn requests_sum_containers_and_max_init() {
        let mut p = pod("a", "500m", "1Gi");
        let mut init = p.spec.as_ref().unwrap().containers[0].clone();
        init.resources
            .as_mut()
            .unwrap()
            .requests
            .as_mut()
            .unwrap()
            .insert("cpu".into(), KQuantity("2".into()));
        p.spec.as_mut().unwrap().init_containers = Some(vec![init]);
        let r = pod_requests(&p, false);
        assert_eq!(r.milli_cpu, 2000);
        assert_eq!(r.memory, 1 << 30);
    }

    #[test]
    fn non_zero_defaults() {
        let p = pod("a", "", "");
        assert_eq!(pod_requests(&p, false), Resource::default());
        let nz = pod_requests(&p, true);
        assert_eq!((nz.milli_cpu, nz.memory), (100, 200 * 1024 * 1024));
    }

    #[test]
    fn node_info_accounting() {
        let mut ni = node_info(
            node("n", "4", "8Gi"),
            vec![host_port(pod("a", "1", "1Gi"), 80)],
        );
        assert_eq!(ni.allocatable.milli_cpu, 4000);
        assert_eq!(ni.allocatable.allowed_pod_number, 110);
        assert_eq!(ni.requested.milli_cpu, 1000);
        assert_eq!(ni.used_ports.len(), 1);
        assert!(ni.remove_pod("uid-a"));
        assert_eq!(ni.requested.milli_cpu, 0);
        assert!(ni.used_ports.is_empty());
    }

    #[test]
    fn host_port_conflicts() {
        let a = HostPort {
            ip: "0.0.0.0".into(),
            protocol: "TCP".into(),
            port: 80,
        };
        let b = HostPort {
            ip: "10.0.0.1".into(),
            protocol: "TCP".into(),
            port: 80,
        };
        let c = HostPort {
            ip: "10.0.0.1".into(),
            protocol: "UDP".into(),
            port: 80,
        };
        assert!(a.conflicts(&b));
        assert!(!b.conflicts(&c));
    }
}
