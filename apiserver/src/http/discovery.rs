//! Discovery: /api, /apis, /apis/G, per group-version resource lists, the aggregated (v2)
//! form chosen by Accept, and /version. The metrics.k8s.io group (served by `metrics_api`, not
//! the catalog) is listed last, as an aggregated group with a low priority is upstream.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{json_response, Shared};
use crate::errors::ApiError;
use crate::metrics_api;
use crate::resources::{group_order, ResourceInfo};

/// `/version`.
pub async fn version() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "major": "1",
            "minor": "33",
            "gitVersion": concat!("v1.33.0-rkube.", env!("CARGO_PKG_VERSION")),
            "gitCommit": "rkube",
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "rust",
            "compiler": "rustc",
            "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
        }),
    )
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// Which aggregated discovery version the Accept header asks for, if any.
fn aggregated(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
    for c in accept.split(',') {
        let c = c.replace(' ', "");
        if c.contains("g=apidiscovery.k8s.io") && c.contains("as=APIGroupDiscoveryList") {
            if c.contains("v=v2beta1") {
                return Some("v2beta1");
            }
            if c.contains("v=v2") {
                return Some("v2");
            }
        }
        if c.starts_with("application/json") && !c.contains("as=") {
            return None;
        }
    }
    None
}

/// `/api`.
pub fn legacy_root(state: &Shared, headers: &HeaderMap) -> Response {
    if let Some(v) = aggregated(headers) {
        return aggregated_response(state, v, true);
    }
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443" }],
        }),
    )
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "groupVersion": format!("{group}/{v}"), "version": v }))
        .collect();
    json!({ "name": group, "versions": vs, "preferredVersion": vs[0] })
}

/// `/apis`.
pub fn groups_root(state: &Shared, headers: &HeaderMap) -> Response {
    if let Some(v) = aggregated(headers) {
        return aggregated_response(state, v, false);
    }
    let snap = state.catalog.snapshot();
    let groups: Vec<Value> = group_order(&snap.resources)
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, vs)| group_json(g, vs))
        .chain(std::iter::once(group_json(metrics_api::GROUP, &[metrics_api::VERSION.to_string()])))
        .collect();
    json_response(StatusCode::OK, &json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups }))
}

/// `/apis/G`.
pub fn group(state: &Shared, group: &str) -> Response {
    if group == metrics_api::GROUP {
        let mut body = group_json(group, &[metrics_api::VERSION.to_string()]);
        body["kind"] = json!("APIGroup");
        body["apiVersion"] = json!("v1");
        return json_response(StatusCode::OK, &body);
    }
    let snap = state.catalog.snapshot();
    match group_order(&snap.resources).iter().find(|(g, _)| g == group && !g.is_empty()) {
        Some((g, vs)) => {
            let mut body = group_json(g, vs);
            body["kind"] = json!("APIGroup");
            body["apiVersion"] = json!("v1");
            json_response(StatusCode::OK, &body)
        }
        None => ApiError::no_route().into_response(),
    }
}

/// `/api/v1` and `/apis/G/V`: the APIResourceList.
pub fn group_version(state: &Shared, group: &str, version: &str) -> Response {
    if group == metrics_api::GROUP && version == metrics_api::VERSION {
        let gv = format!("{group}/{version}");
        let body = json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": metrics_api::api_resources() });
        return json_response(StatusCode::OK, &body);
    }
    let snap = state.catalog.snapshot();
    if !snap.serves(group, version) {
        return ApiError::no_route().into_response();
    }
    let mut resources = Vec::new();
    for r in snap.resources.iter().filter(|r| r.group == group && r.version == version) {
        resources.push(resource_json(r));
        for (sub, kind, verbs) in subresources(r) {
            resources.push(json!({
                "name": format!("{}/{}", r.plural, sub),
                "singularName": "",
                "namespaced": r.namespaced,
                "group": kind.0,
                "version": kind.1,
                "kind": kind.2,
                "verbs": verbs,
            }));
        }
    }
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    json_response(
        StatusCode::OK,
        &json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources }),
    )
}

fn resource_json(r: &ResourceInfo) -> Value {
    let mut v = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        v["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        v["categories"] = json!(r.categories);
    }
    v
}

type Gvk = (String, String, String);

/// The subresources of a resource: (name, response kind, verbs).
fn subresources(r: &ResourceInfo) -> Vec<(String, Gvk, Vec<&'static str>)> {
    let own = || (r.group.clone(), r.version.clone(), r.kind.clone());
    let gvk = |g: &str, v: &str, k: &str| (g.to_string(), v.to_string(), k.to_string());
    let mut out = Vec::new();
    if r.status_subresource {
        out.push(("status".to_string(), own(), vec!["get", "patch", "update"]));
    }
    if r.scale.is_some() {
        out.push(("scale".to_string(), gvk("autoscaling", "v1", "Scale"), vec!["get", "patch", "update"]));
    }
    for sub in &r.extra_subresources {
        let (kind, verbs) = match sub.as_str() {
            "binding" => (gvk("", "v1", "Binding"), vec!["create"]),
            "eviction" => (gvk("policy", "v1", "Eviction"), vec!["create"]),
            "log" => (own(), vec!["get"]),
            "exec" => (gvk("", "v1", "PodExecOptions"), vec!["create", "get"]),
            "attach" => (gvk("", "v1", "PodAttachOptions"), vec!["create", "get"]),
            "portforward" => (gvk("", "v1", "PodPortForwardOptions"), vec!["create", "get"]),
            "proxy" => (gvk("", "v1", &format!("{}ProxyOptions", r.kind)), vec!["create", "delete", "get", "patch", "update"]),
            "token" => (gvk("authentication.k8s.io", "v1", "TokenRequest"), vec!["create"]),
            "finalize" => (own(), vec!["update"]),
            _ => (own(), vec!["get", "patch", "update"]),
        };
        out.push((sub.clone(), kind, verbs));
    }
    out
}

/// The aggregated discovery document for the core group (`legacy`) or all named groups.
fn aggregated_response(state: &Shared, version: &str, legacy: bool) -> Response {
    let snap = state.catalog.snapshot();
    let mut items = Vec::new();
    for (group, versions) in group_order(&snap.resources) {
        if group.is_empty() != legacy {
            continue;
        }
        let vs: Vec<Value> = versions
            .iter()
            .map(|v| {
                let resources: Vec<Value> = snap
                    .resources
                    .iter()
                    .filter(|r| r.group == group && &r.version == v)
                    .map(|r| aggregated_resource(r))
                    .collect();
                json!({ "version": v, "resources": resources, "freshness": "Current" })
            })
            .collect();
        items.push(json!({ "metadata": { "name": group }, "versions": vs }));
    }
    if !legacy {
        items.push(metrics_api::aggregated_group());
    }
    let body = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    });
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    (StatusCode::OK, [("content-type", ct)], bytes).into_response()
}

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let subs: Vec<Value> = subresources(r)
        .into_iter()
        .map(|(name, (g, v, k), verbs)| {
            json!({ "subresource": name, "responseKind": { "group": g, "version": v, "kind": k }, "verbs": verbs })
        })
        .collect();
    let mut v = json!({
        "resource": r.plural,
        "responseKind": { "group": r.group, "version": r.version, "kind": r.kind },
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        v["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        v["categories"] = json!(r.categories);
    }
    if !subs.is_empty() {
        v["subresources"] = json!(subs);
    }
    v
}
