//! Pod QoS class and container resources as the runtime wants them (cgroup shares, CFS
//! quota, memory limit, OOM score), following upstream's kuberuntime and qos packages.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use rkube_apimachinery::quantity::Quantity;

use crate::cri::api;

/// A pod's quality-of-service class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QosClass {
    /// Every container has equal cpu and memory requests and limits.
    Guaranteed,
    /// Something is requested, not all guaranteed.
    Burstable,
    /// Nothing requested or limited.
    BestEffort,
}

impl QosClass {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

fn quantity(map: Option<&BTreeMap<String, K8sQuantity>>, name: &str) -> Option<Quantity> {
    map.and_then(|m| m.get(name)).and_then(|q| Quantity::parse(&q.0).ok())
}

/// The milli-CPU of a resource list entry.
pub fn milli_cpu(map: Option<&BTreeMap<String, K8sQuantity>>) -> Option<i64> {
    quantity(map, "cpu").map(|q| q.milli_value() as i64)
}

/// A resource list entry in whole units (bytes for memory).
pub fn value_of(map: Option<&BTreeMap<String, K8sQuantity>>, name: &str) -> Option<i64> {
    quantity(map, name).map(|q| q.value() as i64)
}

fn all_containers(pod: &Pod) -> Vec<&Container> {
    let Some(spec) = &pod.spec else { return vec![] };
    spec.init_containers.iter().flatten().chain(spec.containers.iter()).collect()
}

/// Upstream's GetPodQOS.
pub fn qos_class(pod: &Pod) -> QosClass {
    let mut any = false;
    let mut guaranteed = true;
    for c in all_containers(pod) {
        let r = c.resources.clone().unwrap_or_default();
        let requests = r.requests.as_ref();
        let limits = r.limits.as_ref();
        for res in ["cpu", "memory"] {
            let req = quantity(requests, res).filter(|q| !q.is_zero());
            let lim = quantity(limits, res).filter(|q| !q.is_zero());
            if req.is_some() || lim.is_some() {
                any = true;
            }
            match (&req, &lim) {
                (_, None) => guaranteed = false,
                (Some(a), Some(b)) if a.nanos() != b.nanos() => guaranteed = false,
                _ => {}
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => QosClass::BestEffort,
        (true, true) => QosClass::Guaranteed,
        (true, false) => QosClass::Burstable,
    }
}

/// The pod's parent cgroup under `root` (cgroupfs syntax), as upstream lays it out.
pub fn pod_cgroup(root: &str, qos: QosClass, uid: &str) -> String {
    let root = root.trim_end_matches('/');
    match qos {
        QosClass::Guaranteed => format!("{root}/pod{uid}"),
        QosClass::Burstable => format!("{root}/burstable/pod{uid}"),
        QosClass::BestEffort => format!("{root}/besteffort/pod{uid}"),
    }
}

const CFS_PERIOD: i64 = 100_000;
const MIN_SHARES: i64 = 2;

/// Upstream's MilliCPUToShares.
pub fn milli_cpu_to_shares(milli: i64) -> i64 {
    if milli == 0 {
        return MIN_SHARES;
    }
    (milli * 1024 / 1000).max(MIN_SHARES)
}

/// Upstream's MilliCPUToQuota (0 = no limit).
pub fn milli_cpu_to_quota(milli: i64) -> i64 {
    if milli == 0 {
        return 0;
    }
    (milli * CFS_PERIOD / 1000).max(1000)
}

/// Upstream's GetContainerOOMScoreAdjust (node memory in bytes).
pub fn oom_score_adj(qos: QosClass, memory_request: i64, node_memory: i64) -> i64 {
    match qos {
        QosClass::Guaranteed => -997,
        QosClass::BestEffort => 1000,
        QosClass::Burstable => {
            if node_memory <= 0 {
                return 999;
            }
            let adj = 1000 - (1000 * memory_request) / node_memory;
            adj.clamp(3, 999)
        }
    }
}

/// The CRI resources of one container.
pub fn container_resources(r: Option<&ResourceRequirements>, qos: QosClass, node_memory: i64) -> api::LinuxContainerResources {
    let r = r.cloned().unwrap_or_default();
    let req_cpu = milli_cpu(r.requests.as_ref()).or(milli_cpu(r.limits.as_ref())).unwrap_or(0);
    let lim_cpu = milli_cpu(r.limits.as_ref()).unwrap_or(0);
    let mem_limit = value_of(r.limits.as_ref(), "memory").unwrap_or(0);
    let mem_req = value_of(r.requests.as_ref(), "memory").or(value_of(r.limits.as_ref(), "memory")).unwrap_or(0);
    api::LinuxContainerResources {
        cpu_period: if lim_cpu > 0 { CFS_PERIOD } else { 0 },
        cpu_quota: milli_cpu_to_quota(lim_cpu),
        cpu_shares: milli_cpu_to_shares(req_cpu),
        memory_limit_in_bytes: mem_limit,
        oom_score_adj: oom_score_adj(qos, mem_req, node_memory),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(resources: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "x", "resources": resources}]}
        }))
        .unwrap()
    }

    #[test]
    fn qos_classes() {
        assert_eq!(qos_class(&pod(serde_json::json!({}))), QosClass::BestEffort);
        assert_eq!(qos_class(&pod(serde_json::json!({"limits": {"cpu": "1", "memory": "1Gi"}}))), QosClass::Guaranteed);
        assert_eq!(
            qos_class(&pod(serde_json::json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}))),
            QosClass::Burstable
        );
        assert_eq!(qos_class(&pod(serde_json::json!({"requests": {"cpu": "100m"}}))), QosClass::Burstable);
    }

    #[test]
    fn cgroups_and_cpu_math() {
        assert_eq!(pod_cgroup("/kubepods", QosClass::Burstable, "u"), "/kubepods/burstable/podu");
        assert_eq!(pod_cgroup("/kubepods/", QosClass::Guaranteed, "u"), "/kubepods/podu");
        assert_eq!(milli_cpu_to_shares(0), 2);
        assert_eq!(milli_cpu_to_shares(500), 512);
        assert_eq!(milli_cpu_to_quota(250), 25_000);
        assert_eq!(milli_cpu_to_quota(1), 1000);
        assert_eq!(oom_score_adj(QosClass::Burstable, 512 << 20, 1 << 30), 500);
        assert_eq!(oom_score_adj(QosClass::Burstable, 1 << 30, 1 << 30), 3);
    }

    #[test]
    fn container_resources_to_cri() {
        let p = pod(serde_json::json!({"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        let r = container_resources(c.resources.as_ref(), QosClass::Burstable, 1 << 30);
        assert_eq!((r.cpu_shares, r.cpu_quota, r.cpu_period, r.memory_limit_in_bytes), (256, 50_000, 100_000, 128 << 20));
    }
}
