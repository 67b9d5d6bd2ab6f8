//! /stats/summary in upstream's Summary API shape (stats/v1alpha1): node CPU, memory and
//! filesystem, and per-pod container usage from the runtime's ListContainerStats.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::Server;
use crate::cri::labels;
use crate::node::machine;

/// Total CPU time of the node in nanoseconds, from the first line of /proc/stat.
pub fn proc_stat_cpu_nanos(stat: &str) -> u64 {
    let Some(line) = stat.lines().next() else { return 0 };
    let ticks: u64 = line.split_whitespace().skip(1).take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).filter_map(|(_, v)| v.parse::<u64>().ok()).sum();
    ticks * 10_000_000
}

fn node_stats(name: &str, root: &std::path::Path) -> Value {
    let now = crate::node::now_rfc3339();
    let m = machine::read(root);
    let cpu = proc_stat_cpu_nanos(&std::fs::read_to_string("/proc/stat").unwrap_or_default());
    let used = m.memory_bytes.saturating_sub(m.memory_available_bytes);
    json!({
        "nodeName": name,
        "cpu": {"time": now, "usageCoreNanoSeconds": cpu},
        "memory": {"time": now, "availableBytes": m.memory_available_bytes, "usageBytes": used, "workingSetBytes": used},
        "fs": {"time": now, "availableBytes": m.fs_available_bytes, "capacityBytes": m.fs_capacity_bytes,
               "usedBytes": m.fs_capacity_bytes.saturating_sub(m.fs_available_bytes)},
    })
}

/// GET /stats/summary.
pub async fn summary(State(s): State<Server>) -> Response {
    let Some(first) = s.nodes.first() else { return axum::Json(json!({})).into_response() };
    let stats = first.runtime.list_container_stats().await.unwrap_or_default();
    let mut by_pod: HashMap<String, Vec<Value>> = HashMap::new();
    let now = crate::node::now_rfc3339();
    for st in &stats {
        let Some(a) = &st.attributes else { continue };
        let uid = a.labels.get(labels::POD_UID).cloned().unwrap_or_default();
        let cpu = st.cpu.as_ref().and_then(|c| c.usage_core_nano_seconds.as_ref()).map(|v| v.value).unwrap_or(0);
        let ws = st.memory.as_ref().and_then(|m| m.working_set_bytes.as_ref()).map(|v| v.value).unwrap_or(0);
        let name = a.labels.get(labels::CONTAINER_NAME).cloned().unwrap_or_default();
        by_pod.entry(uid).or_default().push(json!({
            "name": name,
            "cpu": {"time": now, "usageCoreNanoSeconds": cpu},
            "memory": {"time": now, "workingSetBytes": ws, "usageBytes": ws},
        }));
    }
    let mut pods = vec![];
    for n in s.nodes.iter() {
        for p in n.pods.all() {
            let uid = p.metadata.uid.clone().unwrap_or_default();
            let containers = by_pod.remove(&uid).unwrap_or_default();
            let sum = |ptr: &str| containers.iter().filter_map(|c| c.pointer(ptr).and_then(Value::as_u64)).sum::<u64>();
            pods.push(json!({
                "podRef": {"name": p.metadata.name, "namespace": p.metadata.namespace, "uid": uid},
                "startTime": p.status.as_ref().and_then(|s| s.start_time.clone()),
                "cpu": {"time": now, "usageCoreNanoSeconds": sum("/cpu/usageCoreNanoSeconds")},
                "memory": {"time": now, "workingSetBytes": sum("/memory/workingSetBytes")},
                "containers": containers,
            }));
        }
    }
    let root = first.config.root_dir.clone();
    let name = first.name.clone();
    let node = tokio::task::spawn_blocking(move || node_stats(&name, &root)).await.unwrap_or_default();
    axum::Json(json!({"node": node, "pods": pods})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_from_proc_stat() {
        assert_eq!(proc_stat_cpu_nanos("cpu  100 0 50 1000 20 0 0 0 0 0\ncpu0 1"), 150 * 10_000_000);
    }
}
