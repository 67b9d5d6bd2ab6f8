//! /stats/summary in upstream's Summary API shape (stats/v1alpha1): node CPU, memory and
//! filesystem, and per-pod container usage from the runtime's ListContainerStats (which reads
//! the containers' cgroups: cumulative CPU, the runtime's CPU rate, working set).
//!
//! As upstream's CRI stats provider, only running containers are reported, one per name in a
//! pod (the newest), with their creation time as `startTime`. Times carry nanoseconds, so
//! the metrics API's CPU rates are not skewed by rounding to whole seconds.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::Server;
use crate::cri::{api, labels};
use crate::node::machine;

/// Total CPU time of the node in nanoseconds, from the first line of /proc/stat.
pub fn proc_stat_cpu_nanos(stat: &str) -> u64 {
    let Some(line) = stat.lines().next() else { return 0 };
    let ticks: u64 = line.split_whitespace().skip(1).take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).filter_map(|(_, v)| v.parse::<u64>().ok()).sum();
    ticks * 10_000_000
}

/// Boot time of the machine (`btime` in /proc/stat) in nanoseconds since the epoch.
fn boot_time_nanos(stat: &str) -> Option<i64> {
    let secs = stat.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse::<i64>().ok()?;
    secs.checked_mul(1_000_000_000)
}

fn rfc3339_nanos(nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn now_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
}

fn node_stats(name: &str, root: &std::path::Path) -> Value {
    let proc_stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let now = rfc3339_nanos(now_nanos());
    let m = machine::read(root);
    let cpu = proc_stat_cpu_nanos(&proc_stat);
    let used = m.memory_bytes.saturating_sub(m.memory_available_bytes);
    json!({
        "nodeName": name,
        "startTime": boot_time_nanos(&proc_stat).map(rfc3339_nanos),
        "cpu": {"time": now, "usageCoreNanoSeconds": cpu},
        "memory": {"time": now, "availableBytes": m.memory_available_bytes, "usageBytes": used, "workingSetBytes": used},
        "fs": {"time": now, "availableBytes": m.fs_available_bytes, "capacityBytes": m.fs_capacity_bytes,
               "usedBytes": m.fs_capacity_bytes.saturating_sub(m.fs_available_bytes)},
    })
}

/// The stats of running containers, the newest per (pod UID, container name): (pod UID,
/// stats, creation time in nanoseconds).
fn running_stats<'a>(stats: &'a [api::ContainerStats], containers: &[api::Container]) -> Vec<(String, &'a api::ContainerStats, i64)> {
    let running: HashMap<&str, i64> = containers
        .iter()
        .filter(|c| c.state == api::ContainerState::ContainerRunning as i32)
        .map(|c| (c.id.as_str(), c.created_at))
        .collect();
    let mut newest: HashMap<(String, String), (&api::ContainerStats, i64)> = HashMap::new();
    for st in stats {
        let Some(a) = &st.attributes else { continue };
        let Some(&created_at) = running.get(a.id.as_str()) else { continue };
        let uid = a.labels.get(labels::POD_UID).cloned().unwrap_or_default();
        let name = a.labels.get(labels::CONTAINER_NAME).cloned().unwrap_or_default();
        let slot = newest.entry((uid, name)).or_insert((st, created_at));
        if created_at > slot.1 {
            *slot = (st, created_at);
        }
    }
    newest.into_iter().map(|((uid, _), (st, created_at))| (uid, st, created_at)).collect()
}

/// One container's entry: CPU at the runtime's sample time, working set.
fn container_stats(st: &api::ContainerStats, created_at: i64, now: &str) -> Value {
    let name = st.attributes.as_ref().and_then(|a| a.labels.get(labels::CONTAINER_NAME)).cloned().unwrap_or_default();
    let time = |t: i64| if t > 0 { rfc3339_nanos(t) } else { now.to_string() };
    let cpu = st.cpu.as_ref();
    let mem = st.memory.as_ref();
    let mut cpu_json = json!({
        "time": time(cpu.map(|c| c.timestamp).unwrap_or(0)),
        "usageCoreNanoSeconds": cpu.and_then(|c| c.usage_core_nano_seconds.as_ref()).map(|v| v.value).unwrap_or(0),
    });
    if let Some(n) = cpu.and_then(|c| c.usage_nano_cores.as_ref()) {
        cpu_json["usageNanoCores"] = json!(n.value);
    }
    let ws = mem.and_then(|m| m.working_set_bytes.as_ref()).map(|v| v.value).unwrap_or(0);
    let mut mem_json = json!({"time": time(mem.map(|m| m.timestamp).unwrap_or(0)), "workingSetBytes": ws});
    if let Some(u) = mem.and_then(|m| m.usage_bytes.as_ref()) {
        mem_json["usageBytes"] = json!(u.value);
    }
    if let Some(r) = mem.and_then(|m| m.rss_bytes.as_ref()) {
        mem_json["rssBytes"] = json!(r.value);
    }
    json!({"name": name, "startTime": rfc3339_nanos(created_at), "cpu": cpu_json, "memory": mem_json})
}

/// GET /stats/summary.
pub async fn summary(State(s): State<Server>) -> Response {
    let Some(first) = s.nodes.first() else { return axum::Json(json!({})).into_response() };
    let stats = first.runtime.list_container_stats().await.unwrap_or_default();
    let containers = first.runtime.list_containers(HashMap::new()).await.unwrap_or_default();
    let now = rfc3339_nanos(now_nanos());
    let mut by_pod: HashMap<String, Vec<Value>> = HashMap::new();
    for (uid, st, created_at) in running_stats(&stats, &containers) {
        by_pod.entry(uid).or_default().push(container_stats(st, created_at, &now));
    }
    let mut pods = vec![];
    for n in s.nodes.iter() {
        for p in n.pods.all() {
            let uid = p.metadata.uid.clone().unwrap_or_default();
            let mut containers = by_pod.remove(&uid).unwrap_or_default();
            containers.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
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
        assert_eq!(boot_time_nanos("cpu  1\nbtime 1700000000\n"), Some(1_700_000_000_000_000_000));
    }

    fn stats(id: &str, pod: &str, name: &str, cpu: u64) -> api::ContainerStats {
        let labels = HashMap::from([(labels::POD_UID.to_string(), pod.to_string()), (labels::CONTAINER_NAME.to_string(), name.to_string())]);
        api::ContainerStats {
            attributes: Some(api::ContainerAttributes { id: id.into(), labels, ..Default::default() }),
            cpu: Some(api::CpuUsage { timestamp: 1_700_000_000_500_000_000, usage_core_nano_seconds: Some(api::UInt64Value { value: cpu }), usage_nano_cores: None }),
            memory: Some(api::MemoryUsage { timestamp: 1_700_000_000_500_000_000, working_set_bytes: Some(api::UInt64Value { value: 4096 }), ..Default::default() }),
            ..Default::default()
        }
    }

    fn container(id: &str, running: bool, created_at: i64) -> api::Container {
        let state = if running { api::ContainerState::ContainerRunning } else { api::ContainerState::ContainerExited };
        api::Container { id: id.into(), state: state as i32, created_at, ..Default::default() }
    }

    #[test]
    fn only_the_newest_running_container_per_name() {
        let st = [stats("old", "u1", "c", 1), stats("new", "u1", "c", 2), stats("init", "u1", "i", 3), stats("other", "u2", "c", 4)];
        let cs = [container("old", true, 10), container("new", true, 20), container("init", false, 5), container("other", true, 30)];
        let mut got: Vec<(String, u64, i64)> = running_stats(&st, &cs)
            .into_iter()
            .map(|(uid, s, created)| (uid, s.cpu.as_ref().unwrap().usage_core_nano_seconds.as_ref().unwrap().value, created))
            .collect();
        got.sort();
        assert_eq!(got, vec![("u1".to_string(), 2, 20), ("u2".to_string(), 4, 30)]);
        let v = container_stats(&st[1], 1_700_000_000_000_000_000, "now");
        assert_eq!(v["startTime"], "2023-11-14T22:13:20Z");
        assert_eq!(v["cpu"]["time"], "2023-11-14T22:13:20.500Z");
        assert_eq!(v["cpu"]["usageCoreNanoSeconds"], 2);
        assert_eq!(v["memory"]["workingSetBytes"], 4096);
    }
}
