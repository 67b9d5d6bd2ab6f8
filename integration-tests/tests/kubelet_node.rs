//! The kubelet registers its Node (labels, addresses, capacity, nodeInfo, conditions) and
//! keeps a Lease in kube-node-lease fresh. Real containerd in a private network namespace.

use std::time::Duration;

use rkube_integration_tests::kubelet::{node_available, wait_for, KubeletNode};
use rkube_integration_tests::Apiserver;

fn ready(node: &serde_json::Value) -> bool {
    node["status"]["conditions"].as_array().into_iter().flatten().any(|c| c["type"] == "Ready" && c["status"] == "True")
}

#[test]
fn node_registers_ready_with_capacity_and_lease() {
    if !node_available() {
        return;
    }
    let api = Apiserver::start();
    let node = KubeletNode::start(&api, "node-a");
    let n = wait_for(Duration::from_secs(30), "node Ready", || api.try_get_json(&["get", "node", "node-a"]).filter(ready));

    let labels = &n["metadata"]["labels"];
    assert_eq!(labels["kubernetes.io/hostname"], "node-a");
    assert_eq!(labels["kubernetes.io/os"], "linux");
    assert_eq!(labels["kubernetes.io/arch"], "amd64");
    let st = &n["status"];
    let addresses = st["addresses"].as_array().unwrap();
    assert!(addresses.iter().any(|a| a["type"] == "InternalIP" && a["address"] == node.kubelet_ip()), "{addresses:?}");
    assert!(addresses.iter().any(|a| a["type"] == "Hostname" && a["address"] == "node-a"));
    for res in ["cpu", "memory", "ephemeral-storage", "pods"] {
        assert!(st["capacity"][res].is_string(), "capacity.{res} missing: {st}");
        assert!(st["allocatable"][res].is_string(), "allocatable.{res} missing: {st}");
    }
    assert_eq!(st["capacity"]["pods"], "110");
    assert!(st["nodeInfo"]["containerRuntimeVersion"].as_str().unwrap().starts_with("containerd://"));
    assert_eq!(st["nodeInfo"]["kubeletVersion"], "v1.33.0");
    assert_eq!(st["nodeInfo"]["operatingSystem"], "linux");
    assert_eq!(st["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
    let types: Vec<&str> = st["conditions"].as_array().unwrap().iter().filter_map(|c| c["type"].as_str()).collect();
    for t in ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"] {
        assert!(types.contains(&t), "no {t} condition: {types:?}");
    }

    let table = api.kubectl(&["get", "nodes"]);
    assert!(table.lines().any(|l| l.starts_with("node-a") && l.split_whitespace().nth(1) == Some("Ready")), "{table}");

    let lease = wait_for(Duration::from_secs(15), "node lease", || api.try_get_json(&["get", "lease", "-n", "kube-node-lease", "node-a"]));
    assert_eq!(lease["spec"]["holderIdentity"], "node-a");
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 40);
    assert_eq!(lease["metadata"]["ownerReferences"][0]["kind"], "Node");
    let first = lease["spec"]["renewTime"].as_str().unwrap().to_string();
    wait_for(Duration::from_secs(25), "lease renewal", || {
        let l = api.try_get_json(&["get", "lease", "-n", "kube-node-lease", "node-a"])?;
        (l["spec"]["renewTime"].as_str()? != first).then_some(())
    });
    let hb = |n: &serde_json::Value| n["status"]["conditions"][3]["lastHeartbeatTime"].as_str().unwrap_or("").to_string();
    let before = hb(&n);
    wait_for(Duration::from_secs(25), "node status heartbeat", || {
        let now = api.try_get_json(&["get", "node", "node-a"])?;
        (hb(&now) != before).then_some(())
    });
}
