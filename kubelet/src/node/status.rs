//! The Node object and its status, built from configuration and machine facts (pure).

use serde_json::{json, Value};

use super::machine::MachineInfo;

/// The kubelet version reported in nodeInfo.
pub const KUBELET_VERSION: &str = "v1.33.0";

/// What the node status is built from.
#[derive(Debug, Clone)]
pub struct NodeFacts {
    /// Node name.
    pub name: String,
    /// InternalIP, when known.
    pub internal_ip: Option<String>,
    /// Extra labels.
    pub labels: Vec<(String, String)>,
    /// Pod capacity.
    pub max_pods: i64,
    /// Kubelet server port.
    pub port: u16,
    /// e.g. "containerd://1.6.20".
    pub runtime_version: String,
    /// Whether the runtime answers.
    pub runtime_ready: bool,
    /// Pod CIDR, if assigned locally.
    pub pod_cidr: Option<String>,
    /// Hard eviction thresholds (pressure conditions, memory kept from allocatable).
    pub eviction: super::eviction::Thresholds,
    /// Machine facts.
    pub machine: MachineInfo,
}

/// One node condition's current truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Type, e.g. Ready.
    pub type_: &'static str,
    /// "True" / "False".
    pub status: &'static str,
    /// Reason.
    pub reason: &'static str,
    /// Message.
    pub message: &'static str,
}

/// The four conditions upstream's kubelet reports, from the facts.
pub fn conditions(f: &NodeFacts) -> Vec<Condition> {
    let m = &f.machine;
    let memory_pressure = f.eviction.memory.crossed(m.memory_available_bytes, m.memory_bytes);
    let disk_pressure = f.eviction.nodefs.crossed(m.fs_available_bytes, m.fs_capacity_bytes);
    let pid_pressure = m.pid_max > 0 && m.pids_in_use > m.pid_max / 10 * 9;
    vec![
        if memory_pressure {
            Condition { type_: "MemoryPressure", status: "True", reason: "KubeletHasInsufficientMemory", message: "kubelet has insufficient memory available" }
        } else {
            Condition { type_: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory", message: "kubelet has sufficient memory available" }
        },
        if disk_pressure {
            Condition { type_: "DiskPressure", status: "True", reason: "KubeletHasDiskPressure", message: "kubelet has disk pressure" }
        } else {
            Condition { type_: "DiskPressure", status: "False", reason: "KubeletHasNoDiskPressure", message: "kubelet has no disk pressure" }
        },
        if pid_pressure {
            Condition { type_: "PIDPressure", status: "True", reason: "KubeletHasInsufficientPID", message: "kubelet has insufficient PID available" }
        } else {
            Condition { type_: "PIDPressure", status: "False", reason: "KubeletHasSufficientPID", message: "kubelet has sufficient PID available" }
        },
        if f.runtime_ready {
            Condition { type_: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }
        } else {
            Condition { type_: "Ready", status: "False", reason: "KubeletNotReady", message: "container runtime is down" }
        },
    ]
}

/// The conditions as JSON, keeping each previous lastTransitionTime when the status did not
/// change.
pub fn conditions_json(f: &NodeFacts, previous: &[Value], now: &str) -> Vec<Value> {
    conditions(f)
        .into_iter()
        .map(|c| {
            let prev = previous.iter().find(|p| p["type"] == c.type_);
            let transition = match prev {
                Some(p) if p["status"] == c.status => p["lastTransitionTime"].as_str().unwrap_or(now).to_string(),
                _ => now.to_string(),
            };
            json!({
                "type": c.type_, "status": c.status, "reason": c.reason, "message": c.message,
                "lastHeartbeatTime": now, "lastTransitionTime": transition,
            })
        })
        .collect()
}

fn capacity(f: &NodeFacts) -> (Value, Value) {
    let m = &f.machine;
    let cap = json!({
        "cpu": m.cpus.to_string(),
        "memory": format!("{}Ki", m.memory_bytes / 1024),
        "ephemeral-storage": format!("{}Ki", m.fs_capacity_bytes / 1024),
        "pods": f.max_pods.to_string(),
        "hugepages-2Mi": "0",
        "hugepages-1Gi": "0",
    });
    let alloc_mem = m.memory_bytes.saturating_sub(f.eviction.memory.bytes(m.memory_bytes));
    let alloc_fs = m.fs_capacity_bytes - m.fs_capacity_bytes / 10;
    let alloc = json!({
        "cpu": m.cpus.to_string(),
        "memory": format!("{}Ki", alloc_mem / 1024),
        "ephemeral-storage": alloc_fs.to_string(),
        "pods": f.max_pods.to_string(),
        "hugepages-2Mi": "0",
        "hugepages-1Gi": "0",
    });
    (cap, alloc)
}

/// The node's status (without conditions' history: see `conditions_json`).
pub fn status(f: &NodeFacts, previous_conditions: &[Value], now: &str) -> Value {
    let (cap, alloc) = capacity(f);
    let mut addresses = vec![];
    if let Some(ip) = &f.internal_ip {
        addresses.push(json!({"type": "InternalIP", "address": ip}));
    }
    addresses.push(json!({"type": "Hostname", "address": f.name}));
    let m = &f.machine;
    json!({
        "capacity": cap,
        "allocatable": alloc,
        "conditions": conditions_json(f, previous_conditions, now),
        "addresses": addresses,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": f.port}},
        "nodeInfo": {
            "machineID": m.machine_id, "systemUUID": m.system_uuid, "bootID": m.boot_id,
            "kernelVersion": m.kernel_version, "osImage": m.os_image,
            "containerRuntimeVersion": f.runtime_version, "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
        },
    })
}

/// The Node object registered at start.
pub fn node_object(f: &NodeFacts, now: &str) -> Value {
    let arch = std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64");
    let mut labels = serde_json::Map::new();
    for (k, v) in [
        ("beta.kubernetes.io/arch", arch.as_str()),
        ("beta.kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", arch.as_str()),
        ("kubernetes.io/hostname", f.name.as_str()),
        ("kubernetes.io/os", "linux"),
    ] {
        labels.insert(k.into(), json!(v));
    }
    for (k, v) in &f.labels {
        labels.insert(k.clone(), json!(v));
    }
    let mut spec = json!({});
    if let Some(cidr) = &f.pod_cidr {
        spec = json!({"podCIDR": cidr, "podCIDRs": [cidr]});
    }
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": f.name,
            "labels": labels,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": spec,
        "status": status(f, &[], now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> NodeFacts {
        NodeFacts {
            name: "n1".into(),
            internal_ip: Some("169.254.1.1".into()),
            labels: vec![("role".into(), "x".into())],
            max_pods: 110,
            port: 10250,
            runtime_version: "containerd://1.6.20".into(),
            runtime_ready: true,
            pod_cidr: None,
            eviction: Default::default(),
            machine: MachineInfo {
                cpus: 2,
                memory_bytes: 4 << 30,
                memory_available_bytes: 2 << 30,
                fs_capacity_bytes: 100 << 30,
                fs_available_bytes: 50 << 30,
                pid_max: 1000,
                pids_in_use: 10,
                ..Default::default()
            },
        }
    }

    #[test]
    fn node_has_labels_capacity_and_ready() {
        let n = node_object(&facts(), "2026-01-01T00:00:00Z");
        assert_eq!(n["metadata"]["labels"]["kubernetes.io/hostname"], "n1");
        assert_eq!(n["metadata"]["labels"]["kubernetes.io/os"], "linux");
        assert_eq!(n["metadata"]["labels"]["role"], "x");
        assert_eq!(n["status"]["capacity"]["pods"], "110");
        assert_eq!(n["status"]["capacity"]["cpu"], "2");
        assert_eq!(n["status"]["capacity"]["memory"], "4194304Ki");
        assert_eq!(n["status"]["allocatable"]["memory"], "4091904Ki");
        assert_eq!(n["status"]["addresses"][0]["address"], "169.254.1.1");
        assert_eq!(n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
        let ready = n["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap();
        assert_eq!(ready["status"], "True");
        assert_eq!(ready["reason"], "KubeletReady");
    }

    #[test]
    fn transition_time_kept_while_status_unchanged() {
        let f = facts();
        let first = conditions_json(&f, &[], "t1");
        let second = conditions_json(&f, &first, "t2");
        assert!(second.iter().all(|c| c["lastTransitionTime"] == "t1" && c["lastHeartbeatTime"] == "t2"));
        let mut down = f.clone();
        down.runtime_ready = false;
        let third = conditions_json(&down, &second, "t3");
        let ready = third.iter().find(|c| c["type"] == "Ready").unwrap();
        assert_eq!((ready["status"].as_str(), ready["lastTransitionTime"].as_str()), (Some("False"), Some("t3")));
    }

    #[test]
    fn pressure_conditions() {
        let mut f = facts();
        f.machine.memory_available_bytes = 10 << 20;
        f.machine.fs_available_bytes = 1 << 30;
        let c = conditions(&f);
        assert_eq!(c[0].status, "True");
        assert_eq!(c[1].status, "True");
        assert_eq!(c[2].status, "False");
    }
}
