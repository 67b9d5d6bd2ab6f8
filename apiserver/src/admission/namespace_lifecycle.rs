//! NamespaceLifecycle: no new content in a namespace that is missing or terminating.

use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::http::Shared;
use crate::registry::meta;
use crate::resources::ResourceInfo;

/// Rejects creates in missing (404) or terminating (403) namespaces.
pub async fn admit(state: &Shared, info: &ResourceInfo, obj: &Value) -> ApiResult<()> {
    if !info.namespaced {
        return Ok(());
    }
    let Some(ns) = meta::meta_str(obj, "namespace") else { return Ok(()) };
    let snap = state.catalog.snapshot();
    let ns_info = snap.find("", "v1", "namespaces").ok_or_else(|| ApiError::internal("namespaces not served"))?;
    let namespace = state.store.get(&ns_info, None, ns).await?;
    if namespace.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating") || meta::is_deleting(&namespace) {
        let name = meta::meta_str(obj, "name").unwrap_or("");
        let mut err = ApiError::forbidden(
            info,
            name,
            &format!("unable to create new content in namespace {ns} because it is being terminated"),
        );
        if let Some(d) = err.details.as_mut() {
            d["causes"] = serde_json::json!([{
                "reason": "NamespaceTerminating",
                "message": format!("namespace {ns} is being terminated"),
                "field": "metadata.namespace",
            }]);
        }
        return Err(err);
    }
    Ok(())
}

/// Namespaces that can never be deleted.
const IMMORTAL: &[&str] = &["default", "kube-system", "kube-public"];

/// Rejects the deletion of the system namespaces (403), as upstream.
pub fn admit_delete(info: &ResourceInfo, name: &str) -> ApiResult<()> {
    if info.group.is_empty() && info.plural == "namespaces" && IMMORTAL.contains(&name) {
        return Err(ApiError::forbidden(info, name, "this namespace may not be deleted"));
    }
    Ok(())
}
