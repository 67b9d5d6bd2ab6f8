//! managedFields bookkeeping: which field manager owns which fields, for every write
//! (upstream's fieldmanager), built on `rkube_apimachinery::managed_fields`.

use rkube_apimachinery::managed_fields::{field_set_from_paths, set_managed_fields, update_managed_fields, FieldManagerRequest, FieldSet};
use serde_json::Value;

use crate::http::Shared;
use crate::registry::meta;
use crate::resources::ResourceInfo;

/// Fields an endpoint does not manage: the main resource does not own status when status
/// is a subresource; the status subresource owns only status.
pub fn ignored_fields(info: &ResourceInfo, subresource: Option<&str>) -> Option<FieldSet> {
    match subresource {
        Some("status") => Some(field_set_from_paths(&[".spec", ".metadata"])),
        _ if info.status_subresource => Some(field_set_from_paths(&[".status"])),
        _ => None,
    }
}

/// The schema root (definition name) of a resource.
pub fn root(state: &Shared, info: &ResourceInfo) -> String {
    super::strategic::definition_name(state, info)
}

/// Records `manager` as the owner of what a non-apply write adds or changes in `obj`.
pub fn track_update(state: &Shared, info: &ResourceInfo, obj: &mut Value, old: Option<&Value>, manager: &str) {
    track(state, info, obj, old, manager, None)
}

/// As [`track_update`], for a write through a subresource.
pub fn track(state: &Shared, info: &ResourceInfo, obj: &mut Value, old: Option<&Value>, manager: &str, subresource: Option<&str>) {
    let root = root(state, info);
    let api_version = info.api_version();
    let time = meta::now();
    let ignored = ignored_fields(info, subresource);
    let request = FieldManagerRequest {
        schema: &state.patch_schema,
        root: &root,
        api_version: &api_version,
        manager,
        subresource,
        time: &time,
        ignored_fields: ignored.as_ref(),
    };
    match update_managed_fields(old.unwrap_or(&Value::Null), obj, &request) {
        Ok(entries) => set_managed_fields(obj, &entries),
        Err(e) => tracing::warn!(error = %e, manager, "managed fields not updated"),
    }
}
