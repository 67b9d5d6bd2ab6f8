//! PATCH: JSON patch, JSON merge patch, strategic merge patch and server-side apply, all
//! ending in the same guarded update as PUT.

pub mod apply;
pub mod managed;
pub mod strategic;

use axum::http::StatusCode;
use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::http::body;
use crate::http::params;
use crate::http::resource::{field_manager, Call};
use crate::registry::meta;
use crate::registry::rest;

/// The patch media types, in upstream's order for error messages.
pub const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// Which kind of patch a request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    /// RFC 6902.
    Json,
    /// RFC 7386.
    Merge,
    /// Kubernetes strategic merge patch.
    Strategic,
    /// Server-side apply.
    Apply,
}

fn kind_of(call: &Call) -> ApiResult<PatchKind> {
    let media = body::content_type(&call.headers);
    let custom = call.info.schema.is_some();
    match media.as_str() {
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        "application/strategic-merge-patch+json" if !custom => Ok(PatchKind::Strategic),
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => Ok(PatchKind::Apply),
        other => {
            let accepted: Vec<&str> = PATCH_TYPES
                .iter()
                .copied()
                .filter(|t| !(custom && *t == "application/strategic-merge-patch+json"))
                .collect();
            Err(ApiError::unsupported_media_type(other, &accepted))
        }
    }
}

/// Applies a patch to the named object (or its subresource) and stores the result.
/// Returns the new object and the status code (201 when apply created it).
pub async fn handle(call: &Call, bytes: &[u8], subresource: Option<&str>) -> ApiResult<(Value, StatusCode)> {
    let kind = kind_of(call)?;
    let opts = params::write_options(&call.query)?;
    let manager = field_manager(call, "patch");
    if kind == PatchKind::Apply {
        return apply::handle(call, bytes, subresource, &manager, &opts).await;
    }
    let patch_doc = body::parse_json(bytes).map_err(|e| ApiError::bad_request(e.message.replace("couldn't get version/kind; json parse error", "error decoding patch")))?;
    for _ in 0..16 {
        let current = call.state.store.get(&call.info, call.ns(), call.name()).await?;
        let rev = meta::resource_version(&current).unwrap_or(0);
        let mut patched = apply_patch(call, kind, &current, &patch_doc)?;
        let wanted_rv = meta::meta_str(&patched, "resourceVersion").map(str::to_string);
        if wanted_rv.as_deref().is_some_and(|rv| rv != rev.to_string()) {
            return Err(ApiError::stale(&call.info, call.name()));
        }
        rest::check_type(&call.info, &mut patched)?;
        keep_identity(&mut patched, &current);
        let mut new = rest::merge_for_update(&call.info, patched, &current, subresource);
        if subresource.is_none() {
            crate::admission::admit_update_from(&call.state, &call.info, &current, &mut new, opts.dry_run).await?;
        }
        managed::track(&call.state, &call.info, &mut new, Some(&current), &manager, subresource);
        match rest::write_update(&call.state.store, &call.info, new, &current, rev, &opts.on(subresource)).await {
            Err(e) if e.reason == "Conflict" && wanted_rv.is_none() && e.message.contains("has been modified") => continue,
            Err(e) => return Err(e),
            Ok(obj) => return Ok((obj, StatusCode::OK)),
        }
    }
    Err(ApiError::stale(&call.info, call.name()))
}

/// Name and namespace cannot be changed by a patch.
fn keep_identity(patched: &mut Value, current: &Value) {
    for f in ["name", "namespace"] {
        if let Some(v) = current.pointer(&format!("/metadata/{f}")) {
            meta::meta_mut(patched).insert(f.into(), v.clone());
        }
    }
}

fn apply_patch(call: &Call, kind: PatchKind, current: &Value, patch_doc: &Value) -> ApiResult<Value> {
    match kind {
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch_doc.clone())
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let mut doc = current.clone();
            json_patch::patch(&mut doc, &ops).map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
            Ok(doc)
        }
        PatchKind::Merge => {
            if !patch_doc.is_object() {
                return Err(ApiError::bad_request("error decoding patch: a merge patch must be a JSON object"));
            }
            let mut doc = current.clone();
            json_patch::merge(&mut doc, patch_doc);
            Ok(doc)
        }
        PatchKind::Strategic => strategic::apply(&call.state, &call.info, current, patch_doc),
        PatchKind::Apply => Err(ApiError::internal("apply patches take the server-side apply path")),
    }
}
