//! Streaming pod subresources served by the pod's kubelet: `pods/log` (a streamed GET of
//! /containerLogs), and `pods/exec`, `pods/attach`, `pods/portforward` (an upgraded
//! connection — SPDY or WebSocket — spliced through to the kubelet, which splices it to the
//! runtime's streaming server). The kubelet is found from the Node's InternalIP (then
//! Hostname, ExternalIP) and its daemonEndpoints.kubeletEndpoint.Port.

use axum::body::Body;
use axum::extract::OriginalUri;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::http::resource::Call;

/// Query parameters of pods/log passed to the kubelet.
const LOG_PARAMS: &[&str] = &["follow", "previous", "sinceSeconds", "sinceTime", "timestamps", "tailLines", "limitBytes", "stream"];

/// Serves a streaming subresource of a pod.
pub async fn handle(call: &Call, sub: &str) -> ApiResult<Response> {
    if !(call.info.group.is_empty() && call.info.plural == "pods") {
        return Err(ApiError::no_route());
    }
    let snap = call.state.catalog.snapshot();
    let pods = snap.find("", "v1", "pods").ok_or_else(|| ApiError::internal("pods not served"))?;
    let pod = call.state.store.get(&pods, call.ns(), call.name()).await?;
    let node_name = pod.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty());
    let Some(node_name) = node_name else {
        return Err(ApiError::bad_request(format!("pod {} does not have a host assigned", call.name())));
    };
    let nodes = snap.find("", "v1", "nodes").ok_or_else(|| ApiError::internal("nodes not served"))?;
    let node = call.state.store.get(&nodes, None, node_name).await?;
    let kubelet = kubelet_address(&node).ok_or_else(|| ApiError::internal(format!("node {node_name} has no usable address")))?;
    let ns = call.ns().unwrap_or("default");
    let name = call.name();
    match sub {
        "log" => {
            let container = container(call, &pod, "log")?;
            let query = forwarded_query(call, Some(LOG_PARAMS));
            get_stream(&kubelet, &format!("/containerLogs/{ns}/{name}/{container}{query}")).await
        }
        "exec" | "attach" => {
            let container = container(call, &pod, sub)?;
            let query = forwarded_query(call, None);
            upgrade(call, &kubelet, &format!("/{sub}/{ns}/{name}/{container}{query}")).await
        }
        "portforward" => {
            let query = portforward_query(call)?;
            upgrade(call, &kubelet, &format!("/portForward/{ns}/{name}{query}")).await
        }
        _ => Err(ApiError::no_route()),
    }
}

/// host:port of a node's kubelet.
pub fn kubelet_address(node: &Value) -> Option<String> {
    let addresses = node.pointer("/status/addresses").and_then(Value::as_array)?;
    let port = node.pointer("/status/daemonEndpoints/kubeletEndpoint/Port").and_then(Value::as_u64).unwrap_or(10250);
    let host = ["InternalIP", "Hostname", "ExternalIP"]
        .iter()
        .find_map(|t| addresses.iter().find(|a| a["type"] == *t).and_then(|a| a["address"].as_str()))?;
    Some(if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") })
}

fn container_names(pod: &Value, path: &str) -> Vec<String> {
    pod.pointer(path).and_then(Value::as_array).into_iter().flatten().filter_map(|c| c["name"].as_str().map(str::to_string)).collect()
}

/// The container a request is about: the `container` parameter, or the only one.
pub fn container(call: &Call, pod: &Value, sub: &str) -> ApiResult<String> {
    let apps = container_names(pod, "/spec/containers");
    let inits = container_names(pod, "/spec/initContainers");
    let ephemeral = container_names(pod, "/spec/ephemeralContainers");
    let name = call.name();
    match call.query.get("container").filter(|c| !c.is_empty()) {
        Some(c) if apps.contains(c) || inits.contains(c) || ephemeral.contains(c) => Ok(c.clone()),
        Some(c) => Err(ApiError::bad_request(format!("container {c} is not valid for pod {name}"))),
        None if apps.len() == 1 => Ok(apps[0].clone()),
        None => {
            let mut msg = format!("a container name must be specified for pod {name}, choose one of: [{}]", apps.join(" "));
            if !inits.is_empty() && sub == "log" {
                msg.push_str(&format!(" or one of the init containers: [{}]", inits.join(" ")));
            }
            if !ephemeral.is_empty() && sub == "log" {
                msg.push_str(&format!(" or one of the ephemeral containers: [{}]", ephemeral.join(" ")));
            }
            Err(ApiError::bad_request(msg))
        }
    }
}

/// The request's raw query (repeated keys kept), optionally only some keys.
fn forwarded_query(call: &Call, only: Option<&[&str]>) -> String {
    let raw = call.extensions.get::<OriginalUri>().and_then(|u| u.0.query().map(str::to_string)).unwrap_or_default();
    let kept: Vec<&str> = raw
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| only.is_none_or(|keys| keys.contains(&p.split('=').next().unwrap_or(""))))
        .collect();
    if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    }
}

/// The kubelet's port-forward query: the request's `ports` (repeated or comma separated, as
/// upstream's PodPortForwardOptions decodes them) as one `port` parameter each.
fn portforward_query(call: &Call) -> ApiResult<String> {
    let raw = call.extensions.get::<OriginalUri>().and_then(|u| u.0.query().map(str::to_string)).unwrap_or_default();
    let mut ports = vec![];
    for (k, v) in raw.split('&').filter_map(|p| p.split_once('=')) {
        if k != "ports" {
            continue;
        }
        for p in v.split("%2C").flat_map(|p| p.split("%2c")).flat_map(|p| p.split(',')).filter(|p| !p.is_empty()) {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => ports.push(format!("port={n}")),
                _ => return Err(ApiError::bad_request(format!("invalid port {p:?}: must be between 1 and 65535"))),
            }
        }
    }
    Ok(if ports.is_empty() { String::new() } else { format!("?{}", ports.join("&")) })
}

async fn connect(kubelet: &str) -> ApiResult<hyper::client::conn::http1::SendRequest<Body>> {
    let tcp = tokio::net::TcpStream::connect(kubelet)
        .await
        .map_err(|e| ApiError::new(503, "ServiceUnavailable", format!("error dialing backend: dial tcp {kubelet}: {e}")))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| ApiError::internal(format!("error dialing backend: {e}")))?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    Ok(sender)
}

async fn backend_error(resp: hyper::Response<hyper::body::Incoming>) -> ApiError {
    let code = resp.status().as_u16();
    let text = resp.into_body().collect().await.map(|b| String::from_utf8_lossy(&b.to_bytes()).trim().to_string()).unwrap_or_default();
    let reason = match code {
        400 => "BadRequest",
        404 => "NotFound",
        _ => "InternalError",
    };
    ApiError::new(code, reason, text)
}

async fn get_stream(kubelet: &str, path: &str) -> ApiResult<Response> {
    let mut sender = connect(kubelet).await?;
    let req = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(header::HOST, kubelet)
        .body(Body::empty())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let resp = sender.send_request(req).await.map_err(|e| ApiError::internal(format!("error talking to the kubelet: {e}")))?;
    if !resp.status().is_success() {
        return Err(backend_error(resp).await);
    }
    let (parts, body) = resp.into_parts();
    let mut out = Response::builder().status(StatusCode::OK);
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        out = out.header(header::CONTENT_TYPE, ct);
    }
    out.body(Body::new(body)).map_err(|e| ApiError::internal(e.to_string()))
}

fn upgrade_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (k, v) in from {
        let n = k.as_str();
        if n == "connection" || n == "upgrade" || n.starts_with("sec-websocket-") || n.starts_with("x-stream-protocol") || n == "origin" {
            to.append(k.clone(), v.clone());
        }
    }
}

async fn upgrade(call: &Call, kubelet: &str, path: &str) -> ApiResult<Response> {
    let wants_upgrade = call.headers.get(header::UPGRADE).is_some();
    let on_client = call.extensions.get::<hyper::upgrade::OnUpgrade>().cloned();
    let (true, Some(on_client)) = (wants_upgrade, on_client) else {
        return Err(ApiError::bad_request("Upgrade request required"));
    };
    let mut sender = connect(kubelet).await?;
    let method = if call.req.verb == "create" { Method::POST } else { Method::GET };
    let mut req = Request::builder().method(method).uri(path).body(Body::empty()).map_err(|e| ApiError::internal(e.to_string()))?;
    upgrade_headers(&call.headers, req.headers_mut());
    req.headers_mut().insert(header::HOST, HeaderValue::from_str(kubelet).map_err(|e| ApiError::internal(e.to_string()))?);
    let mut resp = sender.send_request(req).await.map_err(|e| ApiError::internal(format!("error talking to the kubelet: {e}")))?;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(backend_error(resp).await);
    }
    let on_backend = hyper::upgrade::on(&mut resp);
    tokio::spawn(async move {
        let (Ok(client), Ok(backend)) = (on_client.await, on_backend.await) else { return };
        let mut client = TokioIo::new(client);
        let mut backend = TokioIo::new(backend);
        let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
    });
    let mut out = Response::builder().status(StatusCode::SWITCHING_PROTOCOLS);
    for (k, v) in resp.headers() {
        out = out.header(k, v);
    }
    out.body(Body::empty()).map_err(|e| ApiError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubelet_address_prefers_internal_ip() {
        let node = json!({"status": {"addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "169.254.1.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 11250}}}});
        assert_eq!(kubelet_address(&node).as_deref(), Some("169.254.1.1:11250"));
        let host_only = json!({"status": {"addresses": [{"type": "Hostname", "address": "n1"}]}});
        assert_eq!(kubelet_address(&host_only).as_deref(), Some("n1:10250"));
        assert_eq!(kubelet_address(&json!({})), None);
    }
}
