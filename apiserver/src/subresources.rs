//! Subresources with their own behaviour: status, scale, pods/binding, pods/eviction,
//! pods/ephemeralcontainers,
//! namespaces/finalize and serviceaccounts/token (in `crate::serviceaccount`). Streaming
//! subresources (log, exec, attach, portforward) go through the kubelet and are not served
//! until a kubelet is registered.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};
use crate::http::resource::{read_object, respond_object, with_warnings, Call};
use crate::http::{body, json_response, params, table};
use crate::registry::{meta, rest};

/// Dispatches a subresource request.
pub async fn handle(call: &Call, sub: &str, raw: Body) -> ApiResult<Response> {
    let verb = call.req.verb.as_str();
    match (sub, verb) {
        ("status", "get") => get_main(call).await,
        ("status", "update") if call.info.status_subresource => update_status(call, raw).await,
        ("status", "patch") if call.info.status_subresource => patch_sub(call, raw, Some("status")).await,
        ("scale", "get") if call.info.scale.is_some() => get_scale(call).await,
        ("scale", "update") if call.info.scale.is_some() => update_scale(call, raw).await,
        ("scale", "patch") if call.info.scale.is_some() => patch_scale(call, raw).await,
        ("binding", "create") if is_pods(call) => {
            let b = body::parse_json(&body::read(raw).await?)?;
            bind(call, call.name(), &b).await
        }
        ("eviction", "create") if is_pods(call) => evict(call, raw).await,
        ("ephemeralcontainers", "get") if is_pods(call) => get_main(call).await,
        ("ephemeralcontainers", "update") if is_pods(call) => update_ephemeral_containers(call, raw).await,
        ("ephemeralcontainers", "patch") if is_pods(call) => patch_sub(call, raw, Some("ephemeralcontainers")).await,
        ("finalize", "update") if is_namespaces(call) => finalize(call, raw).await,
        ("token", "create") if call.info.group.is_empty() && call.info.plural == "serviceaccounts" => {
            crate::serviceaccount::token::create(call, raw).await
        }
        ("log" | "exec" | "attach" | "portforward", _) if is_pods(call) => crate::proxy::handle(call, sub).await,
        ("log" | "exec" | "attach" | "portforward" | "proxy", _) => Err(ApiError::new(
            503,
            "ServiceUnavailable",
            format!("the server is currently unable to handle the request ({}/{}): no kubelet connection is available", call.info.plural, sub),
        )),
        _ => Err(ApiError::no_route()),
    }
}

fn is_pods(call: &Call) -> bool {
    call.info.group.is_empty() && call.info.plural == "pods"
}

fn is_namespaces(call: &Call) -> bool {
    call.info.group.is_empty() && call.info.plural == "namespaces"
}

async fn get_main(call: &Call) -> ApiResult<Response> {
    let obj = call.state.store.get(&call.info, call.ns(), call.name()).await?;
    Ok(respond_object(call, StatusCode::OK, &obj))
}

async fn update_status(call: &Call, raw: Body) -> ApiResult<Response> {
    let (mut obj, warnings) = read_object(call, raw).await?;
    let opts = params::write_options(&call.query)?;
    if let Ok(current) = call.state.store.get(&call.info, call.ns(), call.name()).await {
        let manager = crate::http::resource::field_manager(call, "update");
        let mut merged = rest::merge_for_update(&call.info, obj.clone(), &current, Some("status"));
        crate::patch::managed::track(&call.state, &call.info, &mut merged, Some(&current), &manager, Some("status"));
        if let Some(mf) = merged.pointer("/metadata/managedFields") {
            meta::meta_mut(&mut obj).insert("managedFields".into(), mf.clone());
        }
    }
    let out = rest::update(&call.state.store, &call.info, call.ns(), call.name(), obj, Some("status"), &opts).await?;
    Ok(with_warnings(respond_object(call, StatusCode::OK, &out), &warnings))
}

/// PUT pods/ephemeralcontainers: only spec.ephemeralContainers of the body is kept.
async fn update_ephemeral_containers(call: &Call, raw: Body) -> ApiResult<Response> {
    let (obj, warnings) = read_object(call, raw).await?;
    let opts = params::write_options(&call.query)?;
    let out = rest::update(&call.state.store, &call.info, call.ns(), call.name(), obj, Some("ephemeralcontainers"), &opts).await?;
    Ok(with_warnings(respond_object(call, StatusCode::OK, &out), &warnings))
}

async fn patch_sub(call: &Call, raw: Body, sub: Option<&str>) -> ApiResult<Response> {
    let bytes = body::read(raw).await?;
    let (out, code) = crate::patch::handle(call, &bytes, sub).await?;
    Ok(respond_object(call, code, &out))
}

/// The autoscaling/v1 Scale view of a scalable object.
pub fn scale_of(call: &Call, obj: &Value) -> Value {
    let paths = call.info.scale.as_ref().expect("scale subresource");
    let selector = match &paths.label_selector {
        Some(p) => obj.pointer(p).map(crate::selectors::selector_string).unwrap_or_default(),
        None => obj
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .map(|m| {
                let mut pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
                pairs.sort();
                pairs.join(",")
            })
            .unwrap_or_default(),
    };
    let m = obj.get("metadata").cloned().unwrap_or(json!({}));
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"), "namespace": m.get("namespace"), "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"), "creationTimestamp": m.get("creationTimestamp"),
        },
        "spec": { "replicas": obj.pointer(&paths.spec_replicas).cloned().unwrap_or(json!(0)) },
        "status": {
            "replicas": obj.pointer(&paths.status_replicas).cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

async fn get_scale(call: &Call) -> ApiResult<Response> {
    let obj = call.state.store.get(&call.info, call.ns(), call.name()).await?;
    Ok(json_response(StatusCode::OK, &scale_of(call, &obj)))
}

/// Writes Scale.spec.replicas into the object, guarded on Scale's resourceVersion if set.
async fn write_scale(call: &Call, scale: &Value, expected_rv: Option<String>) -> ApiResult<Response> {
    let replicas = scale.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
    if replicas < 0 {
        let err = rkube_apimachinery::validation::FieldError::invalid("spec.replicas", json!(replicas), "must be greater than or equal to 0");
        return Err(ApiError::invalid(&scale_info(), call.name(), &[err]));
    }
    let opts = params::write_options(&call.query)?;
    let paths = call.info.scale.clone().expect("scale subresource");
    for _ in 0..16 {
        let current = call.state.store.get(&call.info, call.ns(), call.name()).await?;
        let rev = meta::resource_version(&current).unwrap_or(0);
        if expected_rv.as_deref().is_some_and(|rv| rv != rev.to_string()) {
            return Err(ApiError::stale(&call.info, call.name()));
        }
        let mut new = current.clone();
        if let Some(slot) = new.pointer_mut(&paths.spec_replicas) {
            *slot = json!(replicas);
        } else {
            new["spec"]["replicas"] = json!(replicas);
        }
        match rest::write_update(&call.state.store, &call.info, new, &current, rev, &opts).await {
            Err(e) if e.reason == "Conflict" && expected_rv.is_none() => continue,
            Err(e) => return Err(e),
            Ok(obj) => return Ok(json_response(StatusCode::OK, &scale_of(call, &obj))),
        }
    }
    Err(ApiError::stale(&call.info, call.name()))
}

fn scale_info() -> crate::resources::ResourceInfo {
    let mut r = crate::resources::builtin().into_iter().next().expect("builtin resources");
    r.group = "autoscaling".into();
    r.kind = "Scale".into();
    r.plural = "scale".into();
    r
}

async fn update_scale(call: &Call, raw: Body) -> ApiResult<Response> {
    let scale = body::decode_object(&body::content_type(&call.headers), &body::read(raw).await?)?;
    let rv = scale.pointer("/metadata/resourceVersion").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    write_scale(call, &scale, rv).await
}

async fn patch_scale(call: &Call, raw: Body) -> ApiResult<Response> {
    let patch = body::parse_json(&body::read(raw).await?)?;
    let current = call.state.store.get(&call.info, call.ns(), call.name()).await?;
    let mut scale = scale_of(call, &current);
    match body::content_type(&call.headers).as_str() {
        "application/json-patch+json" => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(&mut scale, &ops).map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
        }
        "application/merge-patch+json" | "application/strategic-merge-patch+json" | "application/apply-patch+yaml" => {
            json_patch::merge(&mut scale, &patch)
        }
        other => return Err(ApiError::unsupported_media_type(other, crate::patch::PATCH_TYPES)),
    }
    let rv = patch.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_string);
    write_scale(call, &scale, rv).await
}

/// Binds a pod to a node (pods/binding, or the `bindings` resource).
pub async fn bind(call: &Call, pod_name: &str, binding: &Value) -> ApiResult<Response> {
    let node = binding.pointer("/target/name").and_then(Value::as_str).unwrap_or("").to_string();
    if node.is_empty() {
        let err = rkube_apimachinery::validation::FieldError::required("target.name", "");
        return Err(ApiError::invalid(&call.info, pod_name, &[err]));
    }
    let snap = call.state.catalog.snapshot();
    let pods = snap.find("", "v1", "pods").ok_or_else(|| ApiError::internal("pods not served"))?;
    let pods_for_err = pods.clone();
    let node_for_update = node.clone();
    call.state
        .store
        .guaranteed_update(&pods, call.ns(), pod_name, move |mut pod| {
            if meta::is_deleting(&pod) {
                return Err(ApiError::conflict(&pods_for_err, pod_name, "pod is being deleted, cannot be assigned to a host"));
            }
            if let Some(existing) = pod.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty()) {
                return Err(ApiError::conflict(&pods_for_err, pod_name, &format!("pod {pod_name} is already assigned to node \"{existing}\"")));
            }
            pod["spec"]["nodeName"] = json!(node_for_update);
            set_condition(&mut pod, "PodScheduled", "True");
            Ok(Some(pod))
        })
        .await?;
    Ok(json_response(StatusCode::CREATED, &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 })))
}

fn set_condition(pod: &mut Value, kind: &str, status: &str) {
    let cond = json!({ "type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": meta::now() });
    if !pod.get("status").is_some_and(Value::is_object) {
        pod["status"] = json!({});
    }
    let conds = pod["status"].as_object_mut().expect("status object").entry("conditions").or_insert(json!([]));
    if let Some(list) = conds.as_array_mut() {
        list.retain(|c| c.get("type").and_then(Value::as_str) != Some(kind));
        list.push(cond);
    }
}

/// pods/eviction: deletes the pod unless a PodDisruptionBudget forbids it (429).
async fn evict(call: &Call, raw: Body) -> ApiResult<Response> {
    let eviction = body::parse_json(&body::read(raw).await?)?;
    let pod = call.state.store.get(&call.info, call.ns(), call.name()).await?;
    let snap = call.state.catalog.snapshot();
    if let Some(pdbs) = snap.find("policy", "v1", "poddisruptionbudgets") {
        let page = call.state.store.list(&pdbs, call.ns(), &Default::default()).await?;
        let labels = meta::labels(&pod);
        for pdb in page.items.iter().filter(|p| p.pointer("/spec/selector").is_some_and(|s| crate::selectors::selector_matches(s, &labels))) {
            let allowed = pdb.pointer("/status/disruptionsAllowed").and_then(Value::as_i64).unwrap_or(0);
            if allowed <= 0 {
                let mut err = ApiError::new(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.");
                err.details = Some(json!({ "causes": [{ "reason": "DisruptionBudget", "message": format!(
                    "The disruption budget {} needs {} healthy pods and has {} currently",
                    meta::meta_str(pdb, "name").unwrap_or(""),
                    pdb.pointer("/status/desiredHealthy").and_then(Value::as_i64).unwrap_or(0),
                    pdb.pointer("/status/currentHealthy").and_then(Value::as_i64).unwrap_or(0)) }] }));
                return Err(err);
            }
        }
    }
    let opts = params::delete_options(&call.query, eviction.get("deleteOptions"))?;
    rest::delete(&call.state.store, &call.info, call.ns(), call.name(), &opts).await?;
    Ok(json_response(StatusCode::CREATED, &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 })))
}

/// namespaces/finalize: replaces spec.finalizers only.
async fn finalize(call: &Call, raw: Body) -> ApiResult<Response> {
    let ns = body::decode_object(&body::content_type(&call.headers), &body::read(raw).await?)?;
    let finalizers = ns.pointer("/spec/finalizers").cloned().unwrap_or(json!([]));
    let opts = params::write_options(&call.query)?;
    let current = call.state.store.get(&call.info, None, call.name()).await?;
    let rev = meta::resource_version(&current).unwrap_or(0);
    let mut new = current.clone();
    new["spec"]["finalizers"] = finalizers;
    let out = rest::write_update(&call.state.store, &call.info, new, &current, rev, &opts).await?;
    Ok(json_response(StatusCode::OK, &table::with_type(&call.info, &out)))
}
