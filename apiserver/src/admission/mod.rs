//! Admission: the plugins that run on decoded objects before they are stored, in upstream's
//! order (NamespaceLifecycle, ServiceAccount, Priority, ..., LimitRanger, ResourceQuota last). Each plugin is a module of its own.

pub mod default_toleration_seconds;
pub mod limit_ranger;
pub mod namespace_lifecycle;
pub mod priority;
pub mod resource_quota;
pub mod service_account;
pub mod service_ips;
pub mod storage_object_in_use_protection;

use serde_json::Value;

use crate::errors::ApiResult;
use crate::http::Shared;
use crate::resources::ResourceInfo;

/// What admission reserved for a create, to hand back if the create fails.
#[derive(Debug, Default)]
pub struct Reserved {
    /// Storage keys of allocations (service IPs, node ports).
    pub keys: Vec<String>,
}

/// Runs the admission chain for a create (`dry_run`: check, but charge no quota).
pub async fn admit_create(state: &Shared, info: &ResourceInfo, obj: &mut Value, dry_run: bool) -> ApiResult<Reserved> {
    namespace_lifecycle::admit(state, info, obj).await?;
    service_account::admit(state, info, obj).await?;
    priority::admit(state, info, obj).await?;
    default_toleration_seconds::admit(info, obj);
    storage_object_in_use_protection::admit(info, obj);
    limit_ranger::admit(state, info, obj).await?;
    let keys = service_ips::admit_create(state, info, obj).await?;
    // ResourceQuota is the last validating plugin, as upstream; it charges the quota.
    if let Err(e) = resource_quota::admit(state, info, obj, dry_run).await {
        crate::allocator::release(state.store.storage(), &keys).await;
        return Err(e);
    }
    Ok(Reserved { keys })
}

/// Runs the admission chain for an update.
pub async fn admit_update(state: &Shared, info: &ResourceInfo, obj: &mut Value, dry_run: bool) -> ApiResult<()> {
    let counted = info.group.is_empty() && matches!(info.plural.as_str(), "services" | "persistentvolumeclaims");
    if !counted {
        return Ok(());
    }
    let (ns, name) = crate::registry::meta::namespace_and_name(obj);
    let Ok(old) = state.store.get(info, ns.as_deref(), &name).await else { return Ok(()) };
    admit_update_from(state, info, &old, obj, dry_run).await
}

/// Runs the admission chain for an update of `old` (the stored object) into `obj`; patches
/// call this with the object they patched.
pub async fn admit_update_from(state: &Shared, info: &ResourceInfo, old: &Value, obj: &mut Value, dry_run: bool) -> ApiResult<()> {
    limit_ranger::admit_update(state, info, obj).await?;
    resource_quota::admit_update(state, info, old, obj, dry_run).await
}

/// Runs the admission chain for a delete.
pub fn admit_delete(info: &ResourceInfo, name: &str) -> ApiResult<()> {
    namespace_lifecycle::admit_delete(info, name)
}

/// Gives back what a failed create reserved.
pub async fn release_on_failure(state: &Shared, reserved: Reserved) {
    crate::allocator::release(state.store.storage(), &reserved.keys).await;
}

/// Frees what a deleted object held.
pub async fn after_delete(state: &Shared, info: &ResourceInfo, obj: &Value) {
    service_ips::after_delete(state, info, obj).await;
}
