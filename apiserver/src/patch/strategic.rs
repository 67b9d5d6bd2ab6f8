//! Strategic merge patch on the server, driven by the same OpenAPI schemas (and merge-key
//! table) that the published documents carry.

use rkube_apimachinery::strategic_merge::apply_strategic_merge_patch;
use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::http::Shared;
use crate::resources::ResourceInfo;

/// Upstream's definition name of a built-in kind, e.g. `io.k8s.api.apps.v1.Deployment`.
pub fn definition_name(state: &Shared, info: &ResourceInfo) -> String {
    state
        .openapi
        .definition_for(&info.group, &info.version, &info.kind)
        .unwrap_or_else(|| {
            let short = if info.group.is_empty() { "core" } else { info.group.split('.').next().unwrap_or("") };
            format!("io.k8s.api.{short}.{}.{}", info.version, info.kind)
        })
}

/// Applies a strategic merge patch to `current`.
pub fn apply(state: &Shared, info: &ResourceInfo, current: &Value, patch: &Value) -> ApiResult<Value> {
    let root = definition_name(state, info);
    apply_strategic_merge_patch(current, patch, &state.patch_schema, &root).map_err(|e| {
        let code = e.http_status();
        match code {
            400 => ApiError::bad_request(e.to_string()),
            422 => ApiError::new(422, "Invalid", e.to_string()),
            409 => ApiError::new(409, "Conflict", e.to_string()),
            _ => ApiError::internal(e.to_string()),
        }
    })
}
