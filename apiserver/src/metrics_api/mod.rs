//! The resource metrics API, `metrics.k8s.io/v1beta1` (NodeMetrics `nodes`, PodMetrics
//! `pods`), served by the apiserver itself the way metrics-server serves it behind API
//! aggregation (which rkube does not have).
//!
//! A background task ([`scraper::run`]) scrapes the kubelet of every Ready node
//! (`/stats/summary`) every resolution (15 s, metrics-server's default) and keeps the last two
//! points of every node and container ([`storage`]); a request reads nodes or pods from
//! storage (label and field selectors as for a list of them), and answers the usage between
//! those two points: CPU as a rate, memory as the working set, with metrics-server's
//! timestamps, windows and errors. Pods that are not Running, and nodes or pods without two
//! points yet, are left out of lists (a get of one is NotFound). JSON only; no watch, no Table.

pub mod format;
pub mod scraper;
pub mod storage;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rkube_apimachinery::field_selector::FieldSelector;
use rkube_apimachinery::label_selector::LabelSelector;
use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};
use crate::http::{json_response, Shared};
use crate::registry::ListParams;
use crate::request::RequestInfo;

/// The API group.
pub const GROUP: &str = "metrics.k8s.io";
/// Its only version.
pub const VERSION: &str = "v1beta1";
/// metrics-server's default `--metric-resolution`.
pub const DEFAULT_RESOLUTION: Duration = Duration::from_secs(15);

/// The scraped points and how often they are taken.
pub struct MetricsApi {
    /// Time between scrapes.
    pub resolution: Duration,
    nodes: Mutex<storage::NodeStore>,
    pods: Mutex<storage::PodStore>,
}

impl Default for MetricsApi {
    fn default() -> Self {
        Self::new(DEFAULT_RESOLUTION)
    }
}

impl MetricsApi {
    /// Empty storage for scrapes every `resolution`.
    pub fn new(resolution: Duration) -> Self {
        MetricsApi { resolution, nodes: Mutex::default(), pods: Mutex::default() }
    }

    /// Stores one scrape of all nodes.
    pub fn store(&self, batches: Vec<(String, scraper::NodeBatch)>) {
        let mut nodes = vec![];
        let mut pods = vec![];
        for (name, b) in batches {
            if let Some(p) = b.node {
                nodes.push((name, p));
            }
            pods.extend(b.pods);
        }
        let resolution = i64::try_from(self.resolution.as_nanos()).unwrap_or(i64::MAX);
        self.nodes.lock().unwrap_or_else(|e| e.into_inner()).store(nodes);
        self.pods.lock().unwrap_or_else(|e| e.into_inner()).store(pods, resolution);
    }

    fn node_usage(&self, name: &str) -> Option<storage::Usage> {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner()).get(name)
    }

    fn pod_usage(&self, namespace: &str, name: &str) -> Option<storage::PodUsage> {
        self.pods.lock().unwrap_or_else(|e| e.into_inner()).get(namespace, name)
    }
}

/// Starts the scrape loop.
pub fn spawn(state: &Shared) {
    tokio::spawn(scraper::run(state.clone(), state.metrics_api.clone()));
}

/// The group-version's resources as an APIResourceList lists them.
pub fn api_resources() -> Vec<Value> {
    vec![
        json!({"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]}),
        json!({"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]}),
    ]
}

/// The group's entry in aggregated discovery.
pub fn aggregated_group() -> Value {
    let res = |plural: &str, kind: &str, scope: &str| {
        json!({"resource": plural, "responseKind": {"group": "", "version": "", "kind": kind}, "scope": scope,
               "singularResource": "", "verbs": ["get", "list"]})
    };
    json!({"metadata": {"name": GROUP}, "versions": [{"version": VERSION, "freshness": "Current",
        "resources": [res("nodes", "NodeMetrics", "Cluster"), res("pods", "PodMetrics", "Namespaced")]}]})
}

fn not_found(resource: &str, group: &str, name: &str) -> ApiError {
    let qualified = if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
    let mut details = json!({"name": name, "kind": resource});
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    ApiError { details: Some(details), ..ApiError::new(404, "NotFound", format!("{qualified} \"{name}\" not found")) }
}

struct Selectors {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Selectors {
    fn parse(query: &HashMap<String, String>) -> ApiResult<Self> {
        let get = |k: &str| query.get(k).map(String::as_str).unwrap_or("");
        let labels = LabelSelector::parse(get("labelSelector")).map_err(|e| ApiError::bad_request(e.message().to_string()))?;
        let fields = FieldSelector::parse(get("fieldSelector")).map_err(|e| ApiError::bad_request(e.message().to_string()))?;
        for r in fields.requirements() {
            if !matches!(r.field.as_str(), "metadata.name" | "metadata.namespace") {
                return Err(ApiError::bad_request(format!("field label not supported: {}", r.field)));
            }
        }
        Ok(Selectors { labels, fields })
    }

    fn matches(&self, obj: &Value) -> bool {
        self.labels.matches_object(obj) && self.fields.matches_object(obj)
    }
}

/// Serves a request under /apis/metrics.k8s.io.
pub async fn handle(state: &Shared, info: RequestInfo, query: &HashMap<String, String>) -> Response {
    match serve(state, &info, query).await {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(e) => e.into_response(),
    }
}

async fn serve(state: &Shared, info: &RequestInfo, query: &HashMap<String, String>) -> ApiResult<Value> {
    let cluster_scoped_nodes = info.resource == "nodes" && info.namespace.is_none();
    if info.version != VERSION || info.subresource.is_some() || !(cluster_scoped_nodes || info.resource == "pods") {
        return Err(ApiError::no_route());
    }
    if !matches!(info.verb.as_str(), "get" | "list") {
        return Err(ApiError::method_not_allowed());
    }
    let api = &state.metrics_api;
    let snap = state.catalog.snapshot();
    let core = |plural: &str| snap.find("", "v1", plural).ok_or_else(|| ApiError::internal(format!("{plural} not served")));
    let now = format::timestamp(chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default());
    if info.resource == "nodes" {
        let nodes_info = core("nodes")?;
        if let Some(name) = &info.name {
            let node = state.store.get(&nodes_info, None, name).await.map_err(|e| lister_error(e, "node", name))?;
            return node_metrics(api, &node, &now).ok_or_else(|| not_found("nodemetrics", GROUP, name));
        }
        let sel = Selectors::parse(query)?;
        let mut nodes = state.store.list(&nodes_info, None, &ListParams::default()).await?.items;
        nodes.retain(|n| sel.matches(n));
        nodes.sort_by(|a, b| name_of(a).cmp(name_of(b)));
        let items: Vec<Value> = nodes.iter().filter_map(|n| node_metrics(api, n, &now)).collect();
        return Ok(json!({"kind": "NodeMetricsList", "apiVersion": format!("{GROUP}/{VERSION}"), "metadata": {}, "items": items}));
    }
    let pods_info = core("pods")?;
    let ns = info.namespace.as_deref();
    if let Some(name) = &info.name {
        let Some(ns) = ns else { return Err(ApiError::no_route()) };
        let pod = state.store.get(&pods_info, Some(ns), name).await.map_err(|e| lister_error(e, "pod", name))?;
        let key = format!("{ns}/{name}");
        return pod_metrics(api, &pod, &now).ok_or_else(|| not_found("podmetrics", GROUP, &key));
    }
    let sel = Selectors::parse(query)?;
    let mut pods = state.store.list(&pods_info, ns, &ListParams::default()).await?.items;
    pods.retain(|p| sel.matches(p));
    pods.sort_by(|a, b| (namespace_of(a), name_of(a)).cmp(&(namespace_of(b), name_of(b))));
    let items: Vec<Value> = pods.iter().filter_map(|p| pod_metrics(api, p, &now)).collect();
    Ok(json!({"kind": "PodMetricsList", "apiVersion": format!("{GROUP}/{VERSION}"), "metadata": {}, "items": items}))
}

/// A NotFound from the node/pod lister keeps the lister's (singular) resource name, as
/// metrics-server returns it.
fn lister_error(e: ApiError, resource: &str, name: &str) -> ApiError {
    if e.code == 404 {
        not_found(resource, "", name)
    } else {
        e
    }
}

fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("")
}

fn namespace_of(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or("")
}

fn meta(obj: &Value, now: &str) -> Value {
    let mut m = json!({"name": name_of(obj), "creationTimestamp": now});
    if let Some(ns) = obj["metadata"]["namespace"].as_str() {
        m["namespace"] = json!(ns);
    }
    if let Some(labels) = obj["metadata"]["labels"].as_object().filter(|l| !l.is_empty()) {
        m["labels"] = json!(labels);
    }
    m
}

fn usage_json(u: &storage::Usage) -> Value {
    json!({"cpu": format::cpu(u.cpu_nanocores), "memory": format::memory(u.memory)})
}

fn node_metrics(api: &MetricsApi, node: &Value, now: &str) -> Option<Value> {
    let u = api.node_usage(name_of(node))?;
    Some(json!({
        "kind": "NodeMetrics",
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "metadata": meta(node, now),
        "timestamp": format::timestamp(u.timestamp),
        "window": format::go_duration(u.window),
        "usage": usage_json(&u),
    }))
}

fn pod_metrics(api: &MetricsApi, pod: &Value, now: &str) -> Option<Value> {
    if pod["status"]["phase"] != "Running" {
        return None;
    }
    let u = api.pod_usage(namespace_of(pod), name_of(pod))?;
    let containers: Vec<Value> = u.containers.iter().map(|(name, cu)| json!({"name": name, "usage": usage_json(cu)})).collect();
    Some(json!({
        "kind": "PodMetrics",
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "metadata": meta(pod, now),
        "timestamp": format::timestamp(u.timestamp),
        "window": format::go_duration(u.window),
        "containers": containers,
    }))
}
