//! Service ClusterIP / NodePort allocation at admission time (upstream does it in the
//! Service REST storage; the effect on the stored object is the same).

use serde_json::Value;

use crate::allocator;
use crate::errors::{ApiError, ApiResult};
use crate::http::Shared;
use crate::registry::meta;
use crate::resources::ResourceInfo;

fn is_service(info: &ResourceInfo) -> bool {
    info.group.is_empty() && info.plural == "services"
}

/// Allocates addresses for a new Service; returns the reserved keys.
pub async fn admit_create(state: &Shared, info: &ResourceInfo, obj: &mut Value) -> ApiResult<Vec<String>> {
    if !is_service(info) {
        return Ok(vec![]);
    }
    allocator::allocate_service(state.store.storage(), &state.service_config, obj)
        .await
        .map_err(|errs| ApiError::invalid(info, meta::meta_str(obj, "name").unwrap_or(""), &errs))
}

/// Releases a deleted Service's addresses.
pub async fn after_delete(state: &Shared, info: &ResourceInfo, obj: &Value) {
    if is_service(info) {
        allocator::release_service(state.store.storage(), obj).await;
    }
}
