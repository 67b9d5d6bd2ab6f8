//! managedFields bookkeeping for non-apply writes (create, update, patch).

use serde_json::Value;

use crate::http::Shared;
use crate::resources::ResourceInfo;

/// Records `manager` as the owner of the fields a write changes.
pub fn track_update(_state: &Shared, _info: &ResourceInfo, _obj: &mut Value, _old: Option<&Value>, _manager: &str) {}
