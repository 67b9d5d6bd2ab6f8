//! The scrape loop: every resolution, GET /stats/summary from the kubelet of every Ready node
//! (concurrently, each bounded by a timeout) and store the points. Decoding the Summary API
//! document is pure and tested here.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::storage::{Nanos, Point, PodPoint};
use crate::http::Shared;
use crate::registry::ListParams;

/// One node's part of a scrape.
#[derive(Debug, Default)]
pub struct NodeBatch {
    /// The node's own point, when the summary had one.
    pub node: Option<Point>,
    /// Its pods' container points.
    pub pods: Vec<PodPoint>,
}

fn time_nanos(v: &Value) -> Option<Nanos> {
    chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?.timestamp_nanos_opt()
}

/// A point from a node or container stats object: start time, CPU time and counter, working
/// set. `None` when any is missing (metrics-server skips such points).
fn point(stats: &Value) -> Option<Point> {
    Some(Point {
        start: time_nanos(&stats["startTime"])?,
        timestamp: time_nanos(&stats["cpu"]["time"])?,
        cpu: stats["cpu"]["usageCoreNanoSeconds"].as_u64()?,
        memory: stats["memory"]["workingSetBytes"].as_u64()?,
    })
}

/// Decodes a kubelet's /stats/summary. A pod is kept only when all its containers decode.
pub fn decode_summary(summary: &Value) -> NodeBatch {
    let node = point(&summary["node"]);
    let mut pods = vec![];
    for p in summary["pods"].as_array().into_iter().flatten() {
        let (Some(namespace), Some(name)) = (p["podRef"]["namespace"].as_str(), p["podRef"]["name"].as_str()) else { continue };
        let stats = p["containers"].as_array().map(Vec::as_slice).unwrap_or_default();
        let containers: Option<Vec<(String, Point)>> =
            stats.iter().map(|c| Some((c["name"].as_str()?.to_string(), point(c)?))).collect();
        match containers {
            Some(containers) if !containers.is_empty() => {
                pods.push(PodPoint { namespace: namespace.to_string(), name: name.to_string(), containers })
            }
            _ => {}
        }
    }
    NodeBatch { node, pods }
}

fn node_ready(node: &Value) -> bool {
    node["status"]["conditions"].as_array().into_iter().flatten().any(|c| c["type"] == "Ready" && c["status"] == "True")
}

async fn get_summary(kubelet: &str) -> Result<Value, String> {
    let tcp = tokio::net::TcpStream::connect(kubelet).await.map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = Request::builder()
        .method(Method::GET)
        .uri("/stats/summary?only_cpu_and_memory=true")
        .header(header::HOST, kubelet)
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("request failed, status: {}", resp.status()));
    }
    let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// Scrapes every Ready node once; returns (node name, batch) for the nodes that answered.
pub async fn scrape(state: &Shared, timeout: Duration) -> Vec<(String, NodeBatch)> {
    let Some(nodes_info) = state.catalog.snapshot().find("", "v1", "nodes") else { return vec![] };
    let nodes = match state.store.list(&nodes_info, None, &ListParams::default()).await {
        Ok(page) => page.items,
        Err(e) => {
            tracing::warn!(error = %e.message, "metrics: listing nodes");
            return vec![];
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    for node in nodes.iter().filter(|n| node_ready(n)) {
        let name = node["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let Some(kubelet) = crate::proxy::kubelet_address(node) else { continue };
        tasks.spawn(async move {
            match tokio::time::timeout(timeout, get_summary(&kubelet)).await {
                Ok(Ok(summary)) => Some((name, decode_summary(&summary))),
                Ok(Err(e)) => {
                    tracing::debug!(node = %name, error = %e, "metrics: scraping the kubelet");
                    None
                }
                Err(_) => {
                    tracing::debug!(node = %name, "metrics: scraping the kubelet timed out");
                    None
                }
            }
        });
    }
    let mut out = vec![];
    while let Some(done) = tasks.join_next().await {
        if let Ok(Some(batch)) = done {
            out.push(batch);
        }
    }
    out
}

/// Scrapes forever, every `resolution`.
pub async fn run(state: Shared, api: Arc<super::MetricsApi>) {
    let resolution = api.resolution;
    let mut tick = tokio::time::interval(resolution);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let batches = scrape(&state, resolution.mul_f64(0.9)).await;
        api.store(batches);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_node_and_complete_pods() {
        let c = |name: &str, cpu: u64| {
            json!({"name": name, "startTime": "2024-01-01T00:00:00Z",
                   "cpu": {"time": "2024-01-01T00:01:00.5Z", "usageCoreNanoSeconds": cpu},
                   "memory": {"time": "2024-01-01T00:01:00.5Z", "workingSetBytes": 4096}})
        };
        let summary = json!({
            "node": {"nodeName": "n1", "startTime": "2024-01-01T00:00:00Z",
                     "cpu": {"time": "2024-01-01T00:01:00Z", "usageCoreNanoSeconds": 7},
                     "memory": {"workingSetBytes": 100}},
            "pods": [
                {"podRef": {"name": "ok", "namespace": "default"}, "containers": [c("a", 1), c("b", 2)]},
                {"podRef": {"name": "partial", "namespace": "default"}, "containers": [c("a", 1), {"name": "b"}]},
                {"podRef": {"name": "empty", "namespace": "default"}, "containers": []},
            ],
        });
        let b = decode_summary(&summary);
        let node = b.node.unwrap();
        assert_eq!((node.cpu, node.memory), (7, 100));
        assert_eq!(node.timestamp - node.start, 60_000_000_000);
        assert_eq!(b.pods.len(), 1);
        assert_eq!(b.pods[0].name, "ok");
        assert_eq!(b.pods[0].containers[1].0, "b");
        assert_eq!(b.pods[0].containers[1].1.timestamp - b.pods[0].containers[1].1.start, 60_500_000_000);
    }

    #[test]
    fn only_ready_nodes_are_scraped() {
        assert!(node_ready(&json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})));
        assert!(!node_ready(&json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}})));
        assert!(!node_ready(&json!({})));
    }
}
