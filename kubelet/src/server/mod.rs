//! The kubelet's HTTP API (port 10250): /healthz, /metrics, /pods, /stats/summary,
//! /containerLogs, and exec/attach/portForward forwarded to the runtime's streaming server.
//! One server serves every node of the process (several only in fake mode).

pub mod port_forward;
pub mod spdy;
pub mod stats;
pub mod stream;
pub mod translate;
pub mod websocket;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use k8s_openapi::api::core::v1::Pod;
use prometheus::{Encoder, TextEncoder};
use serde_json::json;

use crate::cri::{api, labels};
use crate::logs;
use crate::NodeContext;

/// Server state: the nodes of this process.
#[derive(Clone)]
pub struct Server {
    nodes: Arc<Vec<NodeContext>>,
}

/// Query parameters as a multi-map (exec repeats `command`).
pub fn parse_query(q: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.entry(decode(k)).or_default().push(decode(v));
    }
    out
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(v)) => {
                out.push(v);
                i += 2;
            }
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn flag(q: &HashMap<String, Vec<String>>, k: &str) -> bool {
    q.get(k).and_then(|v| v.first()).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn first<'a>(q: &'a HashMap<String, Vec<String>>, k: &str) -> Option<&'a str> {
    q.get(k).and_then(|v| v.first()).map(String::as_str)
}

fn error(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, msg.into()).into_response()
}

impl Server {
    fn find(&self, ns: &str, name: &str) -> Option<(NodeContext, Pod)> {
        self.nodes.iter().find_map(|n| n.pods.find(ns, name).map(|p| (n.clone(), p)))
    }

    async fn container(&self, ns: &str, pod: &str, container: &str, previous: bool) -> Result<(NodeContext, Pod, api::ContainerStatus), Response> {
        let (node, p) = self.find(ns, pod).ok_or_else(|| error(StatusCode::NOT_FOUND, format!("pod \"{pod}\" not found")))?;
        let uid = p.metadata.uid.clone().unwrap_or_default();
        let mut sel = crate::cri::pod_selector(&uid);
        sel.insert(labels::CONTAINER_NAME.into(), container.into());
        let mut list = node.runtime.list_containers(sel).await.map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        list.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        let idx = usize::from(previous);
        let c = list.get(idx).ok_or_else(|| {
            let what = if previous { "previous terminated container" } else { "container" };
            error(StatusCode::BAD_REQUEST, format!("{what} \"{container}\" in pod \"{pod}\" not found"))
        })?;
        let st = node.runtime.container_status(&c.id).await.map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok((node, p, st))
    }
}

/// The server's router.
pub fn router(nodes: Vec<NodeContext>) -> Router {
    let state = Server { nodes: Arc::new(nodes) };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/pods", get(pods))
        .route("/stats/summary", get(stats::summary))
        .route("/containerLogs/{ns}/{pod}/{container}", get(container_logs))
        .route("/exec/{ns}/{pod}/{container}", any(exec))
        .route("/exec/{ns}/{pod}/{uid}/{container}", any(exec_uid))
        .route("/attach/{ns}/{pod}/{container}", any(attach))
        .route("/attach/{ns}/{pod}/{uid}/{container}", any(attach_uid))
        .route("/portForward/{ns}/{pod}", any(port_forward))
        .route("/portForward/{ns}/{pod}/{uid}", any(port_forward_uid))
        .route("/runningpods/", get(pods))
        .with_state(state)
}

/// Serves the kubelet API on `addr` until the process ends.
pub async fn serve(addr: SocketAddr, nodes: Vec<NodeContext>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "kubelet server listening");
    axum::serve(listener, router(nodes)).await?;
    Ok(())
}

async fn metrics(State(s): State<Server>) -> Response {
    let mut out = Vec::new();
    if let Some(n) = s.nodes.first() {
        let _ = TextEncoder::new().encode(&n.metrics.registry.gather(), &mut out);
    }
    ([("content-type", "text/plain; version=0.0.4")], out).into_response()
}

async fn pods(State(s): State<Server>) -> Response {
    let items: Vec<Pod> = s.nodes.iter().flat_map(|n| n.pods.all()).collect();
    axum::Json(json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})).into_response()
}

/// kubectl's log options from the query.
pub fn log_options(q: &HashMap<String, Vec<String>>) -> Result<logs::Options, String> {
    let num = |k: &str| -> Result<Option<i64>, String> { first(q, k).map(|v| v.parse::<i64>().map_err(|_| format!("invalid {k}: {v}"))).transpose() };
    let since = match (num("sinceSeconds")?, first(q, "sinceTime")) {
        (Some(s), _) => Some(chrono::Utc::now() - chrono::Duration::seconds(s)),
        (None, Some(t)) => Some(chrono::DateTime::parse_from_rfc3339(t).map_err(|e| e.to_string())?.with_timezone(&chrono::Utc)),
        _ => None,
    };
    Ok(logs::Options {
        follow: flag(q, "follow"),
        tail_lines: num("tailLines")?.filter(|n| *n >= 0).map(|n| n as usize),
        since,
        timestamps: flag(q, "timestamps"),
        limit_bytes: num("limitBytes")?.filter(|n| *n > 0).map(|n| n as usize),
        stream: first(q, "stream").filter(|s| *s != "All").map(|s| s.to_lowercase()),
    })
}

async fn container_logs(State(s): State<Server>, Path((ns, pod, container)): Path<(String, String, String)>, RawQuery(q): RawQuery) -> Response {
    let q = parse_query(q.as_deref());
    let opts = match log_options(&q) {
        Ok(o) => o,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let (node, _, st) = match s.container(&ns, &pod, &container, flag(&q, "previous")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let follow = opts.follow && st.state == api::ContainerState::ContainerRunning as i32;
    let opts = logs::Options { follow, ..opts };
    let rx = logs::stream(PathBuf::from(&st.log_path), opts, node.runtime.clone(), st.id.clone());
    let body = Body::from_stream(tokio_stream_from(rx));
    Response::builder().header("content-type", "text/plain").body(body).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn tokio_stream_from(mut rx: tokio::sync::mpsc::Receiver<bytes::Bytes>) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|o| o.map(Ok)))
}

/// Forwards a streaming request to the runtime's URL: WebSocket channel protocols are
/// translated to SPDY, anything else (SPDY) is spliced through.
async fn forward_streams(req: Request, url: Result<String, crate::cri::CriError>, streams: translate::Streams) -> Response {
    let Some(protocol) = translate::negotiate(req.headers()) else { return forward(req, url).await };
    match url {
        Ok(url) => translate::bridge(req, &url, protocol, streams).await.unwrap_or_else(|e| error(StatusCode::BAD_GATEWAY, e.to_string())),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn forward(req: Request, url: Result<String, crate::cri::CriError>) -> Response {
    match url {
        Ok(url) => stream::proxy(req, &url).await.unwrap_or_else(|e| error(StatusCode::BAD_GATEWAY, e.to_string())),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn exec_inner(s: Server, ns: String, pod: String, container: String, req: Request) -> Response {
    let q = parse_query(req.uri().query());
    let (node, _, st) = match s.container(&ns, &pod, &container, false).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if st.state != api::ContainerState::ContainerRunning as i32 {
        return error(StatusCode::BAD_REQUEST, format!("container {container} is not running"));
    }
    let tty = flag(&q, "tty");
    let r = api::ExecRequest {
        container_id: st.id,
        cmd: q.get("command").cloned().unwrap_or_default(),
        tty,
        stdin: flag(&q, "stdin") || flag(&q, "input"),
        stdout: flag(&q, "stdout") || flag(&q, "output"),
        stderr: (flag(&q, "stderr") || flag(&q, "error")) && !tty,
    };
    let streams = translate::Streams { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, tty };
    let url = node.runtime.exec(r).await;
    forward_streams(req, url, streams).await
}

async fn exec(State(s): State<Server>, Path((ns, pod, container)): Path<(String, String, String)>, req: Request) -> Response {
    exec_inner(s, ns, pod, container, req).await
}

async fn exec_uid(State(s): State<Server>, Path((ns, pod, _uid, container)): Path<(String, String, String, String)>, req: Request) -> Response {
    exec_inner(s, ns, pod, container, req).await
}

async fn attach_inner(s: Server, ns: String, pod: String, container: String, req: Request) -> Response {
    let q = parse_query(req.uri().query());
    let (node, p, st) = match s.container(&ns, &pod, &container, false).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let tty = flag(&q, "tty");
    // A TTY container has one output stream: the runtime never serves (nor ends) a stderr
    // stream for it, so asking for one would keep the session open after the container exits.
    let container_tty = container_has_tty(&p, &container);
    let r = api::AttachRequest {
        container_id: st.id,
        stdin: flag(&q, "stdin") || flag(&q, "input"),
        tty,
        stdout: flag(&q, "stdout") || flag(&q, "output"),
        stderr: (flag(&q, "stderr") || flag(&q, "error")) && !tty && !container_tty,
    };
    let streams = translate::Streams { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, tty };
    let url = node.runtime.attach(r).await;
    forward_streams(req, url, streams).await
}

/// Whether the spec of `container` (app, init or ephemeral) asks for a TTY.
fn container_has_tty(pod: &Pod, container: &str) -> bool {
    let Some(spec) = pod.spec.as_ref() else { return false };
    let plain = spec.containers.iter().chain(spec.init_containers.iter().flatten()).find(|c| c.name == container).map(|c| c.tty == Some(true));
    let ephemeral = || spec.ephemeral_containers.iter().flatten().find(|c| c.name == container).map(|c| c.tty == Some(true));
    plain.or_else(ephemeral).unwrap_or(false)
}

async fn attach(State(s): State<Server>, Path((ns, pod, container)): Path<(String, String, String)>, req: Request) -> Response {
    attach_inner(s, ns, pod, container, req).await
}

async fn attach_uid(State(s): State<Server>, Path((ns, pod, _uid, container)): Path<(String, String, String, String)>, req: Request) -> Response {
    attach_inner(s, ns, pod, container, req).await
}

async fn port_forward_inner(s: Server, ns: String, pod: String, req: Request) -> Response {
    let Some((node, p)) = s.find(&ns, &pod) else { return error(StatusCode::NOT_FOUND, format!("pod \"{pod}\" not found")) };
    let uid = p.metadata.uid.clone().unwrap_or_default();
    let sandboxes = node.runtime.list_pod_sandboxes(crate::cri::pod_selector(&uid)).await.unwrap_or_default();
    let Some(sb) = sandboxes.iter().filter(|s| s.state == api::PodSandboxState::SandboxReady as i32).max_by_key(|s| s.created_at) else {
        return error(StatusCode::BAD_REQUEST, format!("pod \"{pod}\" has no running sandbox"));
    };
    let q = parse_query(req.uri().query());
    let mut ports: Vec<u16> = vec![];
    for p in q.get("port").into_iter().flatten() {
        match p.parse::<u16>() {
            Ok(0) => return error(StatusCode::BAD_REQUEST, format!("port \"{p}\" must be > 0")),
            Ok(n) => ports.push(n),
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("unable to parse \"{p}\" as a port: {e}")),
        }
    }
    let ws = port_forward::negotiate(req.headers());
    if ws.is_some_and(|m| m != port_forward::Mode::Tunnel) && ports.is_empty() {
        return error(StatusCode::BAD_REQUEST, "\"port\" query parameter is required for WebSocket port-forwarding");
    }
    let cri_ports = ports.iter().map(|p| i32::from(*p)).collect();
    let url = node.runtime.port_forward(api::PortForwardRequest { pod_sandbox_id: sb.id.clone(), port: cri_ports }).await;
    match (ws, url) {
        (Some(mode), Ok(url)) => port_forward::bridge(req, &url, mode, ports).await.unwrap_or_else(|e| error(StatusCode::BAD_GATEWAY, e.to_string())),
        (_, url) => forward(req, url).await,
    }
}

async fn port_forward(State(s): State<Server>, Path((ns, pod)): Path<(String, String)>, req: Request) -> Response {
    port_forward_inner(s, ns, pod, req).await
}

async fn port_forward_uid(State(s): State<Server>, Path((ns, pod, _uid)): Path<(String, String, String)>, req: Request) -> Response {
    port_forward_inner(s, ns, pod, req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let q = parse_query(Some("command=sh&command=-c&command=echo%20hi%2Bthere&tty=1&stdin=true&x"));
        assert_eq!(q["command"], vec!["sh", "-c", "echo hi+there"]);
        assert!(flag(&q, "tty") && flag(&q, "stdin") && !flag(&q, "stderr"));
        assert_eq!(decode("100%"), "100%");
        let o = log_options(&parse_query(Some("follow=true&tailLines=5&timestamps=true&limitBytes=10"))).unwrap();
        assert!(o.follow && o.timestamps);
        assert_eq!((o.tail_lines, o.limit_bytes), (Some(5), Some(10)));
        assert!(log_options(&parse_query(Some("tailLines=x"))).is_err());
        assert!(log_options(&parse_query(Some("sinceSeconds=10"))).unwrap().since.is_some());
    }
}
