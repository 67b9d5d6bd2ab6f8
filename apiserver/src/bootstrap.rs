//! What exists when the server first starts: the system namespaces and the `kubernetes`
//! Service, created only if missing so restarts keep user changes.

use serde_json::json;

use crate::errors::{ApiError, ApiResult};
use crate::http::Shared;
use crate::registry::rest::{self, WriteOptions};

/// The namespaces every cluster has.
pub const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Creates the system namespaces and the default `kubernetes` Service if absent.
pub async fn ensure(state: &Shared) -> ApiResult<()> {
    let snap = state.catalog.snapshot();
    let Some(ns_info) = snap.find("", "v1", "namespaces") else { return Ok(()) };
    for ns in SYSTEM_NAMESPACES {
        let obj = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } });
        match rest::create(&state.store, &ns_info, None, obj, &WriteOptions::default()).await {
            Ok(_) => tracing::info!(namespace = ns, "created system namespace"),
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(pc_info) = snap.find("scheduling.k8s.io", "v1", "priorityclasses") {
        for class in crate::resources::scheduling::priorityclass::system_priority_classes() {
            match rest::create(&state.store, &pc_info, None, class, &WriteOptions::default()).await {
                Ok(_) | Err(ApiError { code: 409, .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let Some(svc_info) = snap.find("", "v1", "services") else { return Ok(()) };
    if state.store.get(&svc_info, Some("default"), "kubernetes").await.is_ok() {
        return Ok(());
    }
    let mut svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": { "name": "kubernetes", "namespace": "default",
                      "labels": { "component": "apiserver", "provider": "kubernetes" } },
        "spec": { "type": "ClusterIP", "clusterIP": state.service_config.first_ip().to_string(),
                  "ports": [{ "name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443 }],
                  "sessionAffinity": "None" },
    });
    let reserved = crate::admission::admit_create(state, &svc_info, &mut svc, false).await?;
    if let Err(e) = rest::create(&state.store, &svc_info, Some("default"), svc, &WriteOptions::default()).await {
        crate::admission::release_on_failure(state, reserved).await;
        if e.code != 409 {
            return Err(e);
        }
    }
    Ok(())
}
