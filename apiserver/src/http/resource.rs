//! Handlers for resource requests: decode, call the registry, encode. One function per verb;
//! subresources with their own logic live in `crate::subresources`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::negotiate::{self, Output};
use super::params::{self, ListQuery, RvMatch};
use super::{body, json_response, table, watch, Shared};
use crate::admission;
use crate::errors::{ApiError, ApiResult};
use crate::registry::rest::{self, Deleted};
use crate::registry::{meta, ListParams};
use crate::request::RequestInfo;
use crate::resources::ResourceInfo;
use crate::{patch, selectors, subresources};

/// Everything a verb handler gets.
pub struct Call {
    /// Shared state.
    pub state: Shared,
    /// The resource.
    pub info: Arc<ResourceInfo>,
    /// What was asked.
    pub req: RequestInfo,
    /// Query parameters.
    pub query: HashMap<String, String>,
    /// Request headers.
    pub headers: HeaderMap,
    /// Request extensions (the connection upgrade handle for streaming subresources).
    pub extensions: axum::http::Extensions,
}

impl Call {
    /// The namespace of the request.
    pub fn ns(&self) -> Option<&str> {
        self.req.namespace.as_deref()
    }
    /// The object name of the request (empty if none).
    pub fn name(&self) -> &str {
        self.req.name.as_deref().unwrap_or("")
    }
}

/// Entry point for every resource request.
pub async fn handle(state: Shared, req: RequestInfo, query: HashMap<String, String>, http: Request) -> Response {
    let snap = state.catalog.snapshot();
    let Some(info) = snap.find(&req.group, &req.version, &req.resource) else {
        return ApiError::no_route().into_response();
    };
    if let Err(e) = check_scope(&info, &req) {
        return e.into_response();
    }
    let (parts, raw_body) = http.into_parts();
    let call = Call { state, info, req, query, headers: parts.headers, extensions: parts.extensions };
    let result = match call.req.subresource.clone() {
        Some(sub) => subresources::handle(&call, &sub, raw_body).await,
        None => main_verb(&call, raw_body).await,
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn check_scope(info: &ResourceInfo, req: &RequestInfo) -> ApiResult<()> {
    let needs_ns = info.namespaced && (req.name.is_some() || req.verb == "create");
    if (!info.namespaced && req.namespace.is_some()) || (needs_ns && req.namespace.is_none()) {
        return Err(ApiError::no_route());
    }
    Ok(())
}

async fn main_verb(call: &Call, raw: axum::body::Body) -> ApiResult<Response> {
    let verb = call.req.verb.as_str();
    if !call.info.verbs.iter().any(|v| v == verb) {
        return Err(ApiError::method_not_allowed());
    }
    match verb {
        "get" => get(call).await,
        "list" => list(call).await,
        "watch" => watch_verb(call).await,
        "create" => create(call, raw).await,
        "update" => update(call, raw).await,
        "patch" => patch_verb(call, raw).await,
        "delete" => delete(call, raw).await,
        "deletecollection" => delete_collection(call, raw).await,
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// Encodes one object for the Accept header.
pub fn respond_object(call: &Call, code: StatusCode, obj: &Value) -> Response {
    let body = match negotiate::output(&call.headers) {
        Output::Object => table::with_type(&call.info, obj),
        Output::Metadata => table::partial_metadata(obj),
        Output::Table => {
            let rv = obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(json!(""));
            let include = call.query.get("includeObject").map(String::as_str).unwrap_or("Metadata");
            table::table(&call.info, std::slice::from_ref(obj), json!({ "resourceVersion": rv }), include, true)
        }
    };
    json_response(code, &body)
}

async fn get(call: &Call) -> ApiResult<Response> {
    if call.info.virtual_only {
        return Err(ApiError::method_not_allowed());
    }
    let obj = call.state.store.get(&call.info, call.ns(), call.name()).await?;
    Ok(respond_object(call, StatusCode::OK, &obj))
}

/// Reads the objects a list asks for (selectors applied), and the list metadata.
pub async fn read_list(call: &Call, q: &ListQuery) -> ApiResult<(Vec<Value>, Value)> {
    let pred = selectors::predicate(&call.info, q)?;
    let revision = match q.rv {
        RvMatch::Exact(r) => Some(r),
        RvMatch::NotOlderThan(r) => {
            let current = call.state.store.current_revision().await?;
            if r > current {
                return Err(ApiError::too_large_rv(format!(
                    "Timeout: Too large resource version: {r}, current: {current}"
                )));
            }
            None
        }
        _ => None,
    };
    let params = ListParams { limit: q.limit, continue_token: q.continue_token.clone(), revision };
    let mut page = call.state.store.list(&call.info, call.ns(), &params).await?;
    page.items.retain(|o| pred(o));
    let mut list_meta = json!({ "resourceVersion": page.revision.to_string() });
    if let Some(c) = &page.continue_token {
        list_meta["continue"] = json!(c);
        if let Some(n) = page.remaining {
            list_meta["remainingItemCount"] = json!(n);
        }
    }
    Ok((page.items, list_meta))
}

async fn list(call: &Call) -> ApiResult<Response> {
    if call.info.virtual_only {
        return Ok(json_response(StatusCode::OK, &json!({
            "kind": format!("{}List", call.info.kind), "apiVersion": call.info.api_version(),
            "metadata": {}, "items": [],
        })));
    }
    let q = ListQuery::parse(&call.query)?;
    let (items, list_meta) = read_list(call, &q).await?;
    let body = match negotiate::output(&call.headers) {
        Output::Table => table::table(&call.info, &items, list_meta, &q.include_object, true),
        Output::Metadata => table::partial_metadata_list(&items, list_meta),
        Output::Object => {
            let custom = call.info.schema.is_some();
            let items: Vec<Value> = items
                .into_iter()
                .map(|o| if custom { table::with_type(&call.info, &o) } else { strip_type(o) })
                .collect();
            json!({
                "kind": format!("{}List", call.info.kind),
                "apiVersion": call.info.api_version(),
                "metadata": list_meta,
                "items": items,
            })
        }
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// Built-in list items carry no apiVersion/kind upstream.
fn strip_type(mut o: Value) -> Value {
    if let Some(m) = o.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
    }
    o
}

async fn watch_verb(call: &Call) -> ApiResult<Response> {
    let q = ListQuery::parse(&call.query)?;
    let pred = selectors::predicate(&call.info, &q)?;
    let output = negotiate::output(&call.headers);
    let ns = call.ns().map(str::to_string);
    Ok(watch::serve(call.state.clone(), call.info.clone(), ns, q, output, pred).await)
}

/// Reads and decodes an object body, applying `fieldValidation`.
pub async fn read_object(call: &Call, raw: axum::body::Body) -> ApiResult<(Value, Vec<String>)> {
    let bytes = body::read(raw).await?;
    let media = body::content_type(&call.headers);
    let mut obj = body::decode_object(&media, &bytes)?;
    let mode = params::field_validation(&call.query)?;
    let warnings = crate::typed::check_fields(&call.info, &mut obj, &mode)?;
    Ok((obj, warnings))
}

/// Adds `Warning` headers (RFC 7234 code 299) to a response.
pub fn with_warnings(mut resp: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let v = format!("299 - \"{}\"", w.replace('"', "\\\""));
        if let Ok(h) = v.parse() {
            resp.headers_mut().append("warning", h);
        }
    }
    resp
}

async fn create(call: &Call, raw: axum::body::Body) -> ApiResult<Response> {
    let (mut obj, warnings) = read_object(call, raw).await?;
    if call.info.virtual_only {
        let out = crate::reviews::evaluate(call, obj)?;
        return Ok(json_response(StatusCode::CREATED, &out));
    }
    let opts = params::write_options(&call.query)?;
    rest::check_type(&call.info, &mut obj)?;
    rest::check_namespace(&call.info, &mut obj, call.ns())?;
    let reserved = admission::admit_create(&call.state, &call.info, &mut obj, opts.dry_run).await?;
    let manager = field_manager(call, "create");
    patch::managed::track_update(&call.state, &call.info, &mut obj, None, &manager);
    let created = rest::create(&call.state.store, &call.info, call.ns(), obj, &opts).await;
    let created = match created {
        Ok(o) if !opts.dry_run => o,
        Ok(o) => {
            admission::release_on_failure(&call.state, reserved).await;
            o
        }
        Err(e) => {
            admission::release_on_failure(&call.state, reserved).await;
            return Err(e);
        }
    };
    Ok(with_warnings(respond_object(call, StatusCode::CREATED, &created), &warnings))
}

/// The field manager of a write: `fieldManager`, else derived from the User-Agent.
pub fn field_manager(call: &Call, _op: &str) -> String {
    if let Some(m) = call.query.get("fieldManager").filter(|m| !m.is_empty()) {
        return m.clone();
    }
    let ua = call.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("unknown");
    ua.split('/').next().unwrap_or("unknown").to_string()
}

async fn update(call: &Call, raw: axum::body::Body) -> ApiResult<Response> {
    let (mut obj, warnings) = read_object(call, raw).await?;
    let opts = params::write_options(&call.query)?;
    rest::check_type(&call.info, &mut obj)?;
    admission::admit_update(&call.state, &call.info, &mut obj, opts.dry_run).await?;
    let manager = field_manager(call, "update");
    if let Ok(current) = call.state.store.get(&call.info, call.ns(), call.name()).await {
        patch::managed::track_update(&call.state, &call.info, &mut obj, Some(&current), &manager);
    }
    let out = rest::update(&call.state.store, &call.info, call.ns(), call.name(), obj, None, &opts).await?;
    Ok(with_warnings(respond_object(call, StatusCode::OK, &out), &warnings))
}

async fn patch_verb(call: &Call, raw: axum::body::Body) -> ApiResult<Response> {
    let bytes = body::read(raw).await?;
    let (out, code) = patch::handle(call, &bytes, None).await?;
    Ok(respond_object(call, code, &out))
}

async fn delete(call: &Call, raw: axum::body::Body) -> ApiResult<Response> {
    let bytes = body::read(raw).await?;
    let body_opts = if bytes.is_empty() { None } else { Some(body::parse_json(&bytes)?) };
    let opts = params::delete_options(&call.query, body_opts.as_ref())?;
    admission::admit_delete(&call.info, call.name())?;
    let outcome = rest::delete(&call.state.store, &call.info, call.ns(), call.name(), &opts).await?;
    match outcome {
        Deleted::Now(obj) => {
            admission::after_delete(&call.state, &call.info, &obj).await;
            Ok(deleted_response(call, &obj))
        }
        Deleted::Pending(obj) => {
            let code = if opts.propagation.as_deref() == Some("Foreground") { StatusCode::ACCEPTED } else { StatusCode::OK };
            Ok(respond_object(call, code, &obj))
        }
    }
}

/// Upstream returns the last state for most resources; a Success Status for a few.
fn deleted_response(call: &Call, obj: &Value) -> Response {
    let returns_status = matches!(
        (call.info.group.as_str(), call.info.plural.as_str()),
        ("", "configmaps" | "secrets" | "serviceaccounts" | "endpoints" | "events" | "limitranges" | "podtemplates")
    );
    if returns_status {
        let mut details = json!({ "name": call.name(), "kind": call.info.plural, "uid": meta::meta_str(obj, "uid") });
        if !call.info.group.is_empty() {
            details["group"] = json!(call.info.group);
        }
        return json_response(
            StatusCode::OK,
            &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details }),
        );
    }
    respond_object(call, StatusCode::OK, obj)
}

async fn delete_collection(call: &Call, raw: axum::body::Body) -> ApiResult<Response> {
    let bytes = body::read(raw).await?;
    let body_opts = if bytes.is_empty() { None } else { Some(body::parse_json(&bytes)?) };
    let opts = params::delete_options(&call.query, body_opts.as_ref())?;
    let q = ListQuery::parse(&call.query)?;
    let (items, list_meta) = read_list(call, &q).await?;
    let mut deleted = Vec::new();
    for obj in items {
        let (ns, name) = meta::namespace_and_name(&obj);
        if admission::admit_delete(&call.info, &name).is_err() {
            continue;
        }
        match rest::delete(&call.state.store, &call.info, ns.as_deref(), &name, &opts).await {
            Ok(Deleted::Now(o)) => {
                admission::after_delete(&call.state, &call.info, &o).await;
                deleted.push(o)
            }
            Ok(Deleted::Pending(o)) => deleted.push(o),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let items: Vec<Value> = deleted.into_iter().map(strip_type).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "kind": format!("{}List", call.info.kind),
            "apiVersion": call.info.api_version(),
            "metadata": list_meta,
            "items": items,
        }),
    ))
}
