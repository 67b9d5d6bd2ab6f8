//! Server-side apply (`application/apply-patch+yaml`): merge the applied configuration
//! into the live object with field ownership, create the object if it does not exist, and
//! answer ownership conflicts with upstream's 409.

use axum::http::StatusCode;
use rkube_apimachinery::managed_fields::{apply, FieldManagerRequest, ManagedFieldsError};
use serde_json::{json, Value};

use super::managed::{ignored_fields, root};
use crate::admission;
use crate::errors::{ApiError, ApiResult};
use crate::http::body;
use crate::http::resource::Call;
use crate::registry::rest::{self, WriteOptions};
use crate::registry::meta;

/// Handles an apply patch; returns the stored object and 200, or 201 when it was created.
pub async fn handle(call: &Call, bytes: &[u8], sub: Option<&str>, manager: &str, opts: &WriteOptions) -> ApiResult<(Value, StatusCode)> {
    if call.query.get("fieldManager").is_none_or(|m| m.is_empty()) {
        let err = rkube_apimachinery::validation::FieldError::required("fieldManager", "is required for apply patch");
        return Err(ApiError {
            details: Some(json!({ "group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{ "reason": err.reason(), "message": err.error_body(), "field": err.field }] })),
            ..ApiError::new(422, "Invalid", format!("PatchOptions.meta.k8s.io \"\" is invalid: {err}"))
        });
    }
    let force = matches!(call.query.get("force").map(String::as_str), Some("true" | "1"));
    let config = body::parse_yaml(bytes)?;
    if !config.is_object() {
        return Err(ApiError::bad_request("error decoding YAML: the applied configuration must be an object"));
    }
    let url_name = call.name();
    if meta::meta_str(&config, "name").is_some_and(|n| n != url_name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({url_name})",
            meta::meta_str(&config, "name").unwrap_or("")
        )));
    }
    for _ in 0..16 {
        let current = match call.state.store.get(&call.info, call.ns(), url_name).await {
            Ok(c) => Some(c),
            Err(e) if e.code == 404 && sub.is_none() => None,
            Err(e) => return Err(e),
        };
        let merged = merge(call, current.as_ref(), &config, sub, manager, force)?;
        let Some(current) = current else {
            return create(call, merged, opts).await;
        };
        let rev = meta::resource_version(&current).unwrap_or(0);
        let mut new = rest::merge_for_update(&call.info, merged, &current, sub);
        if sub.is_none() {
            admission::admit_update_from(&call.state, &call.info, &current, &mut new, opts.dry_run).await?;
        }
        match rest::write_update(&call.state.store, &call.info, new, &current, rev, &opts.on(sub)).await {
            Err(e) if e.reason == "Conflict" && e.message.contains("has been modified") => continue,
            Err(e) => return Err(e),
            Ok(obj) => return Ok((obj, StatusCode::OK)),
        }
    }
    Err(ApiError::stale(&call.info, url_name))
}

/// Runs the field-ownership merge.
fn merge(call: &Call, live: Option<&Value>, config: &Value, sub: Option<&str>, manager: &str, force: bool) -> ApiResult<Value> {
    let root = root(&call.state, &call.info);
    let api_version = call.info.api_version();
    let time = meta::now();
    let ignored = ignored_fields(&call.info, sub);
    let request = FieldManagerRequest {
        schema: &call.state.patch_schema,
        root: &root,
        api_version: &api_version,
        manager,
        subresource: sub,
        time: &time,
        ignored_fields: ignored.as_ref(),
    };
    let outcome = apply(live.unwrap_or(&Value::Null), config, &request, force).map_err(|e| map_error(call, e))?;
    let mut obj = outcome.object;
    if let Some(live) = live {
        // The stored resourceVersion guards the write, not the applied one.
        if let Some(rv) = live.pointer("/metadata/resourceVersion") {
            meta::meta_mut(&mut obj).insert("resourceVersion".into(), rv.clone());
        }
    }
    Ok(obj)
}

fn map_error(call: &Call, e: ManagedFieldsError) -> ApiError {
    match e {
        ManagedFieldsError::Conflict { message, conflicts } => {
            let causes: Vec<Value> = conflicts
                .iter()
                .map(|c| json!({ "reason": "FieldManagerConflict", "message": c.message, "field": c.field }))
                .collect();
            let mut err = ApiError::conflict(&call.info, call.name(), "");
            err.message = message;
            if let Some(d) = err.details.as_mut() {
                d["causes"] = json!(causes);
            }
            err
        }
        other => {
            let code = other.http_status();
            let reason = match code {
                400 => "BadRequest",
                422 => "Invalid",
                _ => "InternalError",
            };
            ApiError::new(code, reason, other.to_string())
        }
    }
}

/// Creates the object an apply names when it does not exist yet.
async fn create(call: &Call, mut obj: Value, opts: &WriteOptions) -> ApiResult<(Value, StatusCode)> {
    rest::check_type(&call.info, &mut obj)?;
    rest::check_namespace(&call.info, &mut obj, call.ns())?;
    meta::meta_mut(&mut obj).insert("name".into(), json!(call.name()));
    let reserved = admission::admit_create(&call.state, &call.info, &mut obj, opts.dry_run).await?;
    match rest::create(&call.state.store, &call.info, call.ns(), obj, opts).await {
        Ok(created) => {
            if opts.dry_run {
                admission::release_on_failure(&call.state, reserved).await;
            }
            Ok((created, StatusCode::CREATED))
        }
        Err(e) => {
            admission::release_on_failure(&call.state, reserved).await;
            Err(e)
        }
    }
}
