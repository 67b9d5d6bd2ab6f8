//! Priority admission: a pod's priority comes from its PriorityClass (or the global default
//! class), never from the client.

use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};
use crate::http::Shared;
use crate::registry::meta;
use crate::resources::ResourceInfo;

/// Resolves `spec.priorityClassName` into `spec.priority` and `spec.preemptionPolicy`.
pub async fn admit(state: &Shared, info: &ResourceInfo, pod: &mut Value) -> ApiResult<()> {
    if !(info.group.is_empty() && info.plural == "pods") {
        return Ok(());
    }
    let snap = state.catalog.snapshot();
    let Some(classes) = snap.find("scheduling.k8s.io", "v1", "priorityclasses") else { return Ok(()) };
    let name = pod.pointer("/spec/priorityClassName").and_then(Value::as_str).unwrap_or("").to_string();
    let class = if name.is_empty() {
        let all = state.store.list(&classes, None, &Default::default()).await?;
        all.items.into_iter().find(|c| c["globalDefault"].as_bool() == Some(true))
    } else {
        match state.store.get(&classes, None, &name).await {
            Ok(c) => Some(c),
            Err(e) if e.code == 404 => {
                let pod_name = meta::meta_str(pod, "name").unwrap_or("");
                return Err(ApiError::forbidden(info, pod_name, &format!("no PriorityClass with name {name} was found")));
            }
            Err(e) => return Err(e),
        }
    };
    let (value, policy) = match &class {
        Some(c) => (c["value"].as_i64().unwrap_or(0), c["preemptionPolicy"].as_str().unwrap_or("PreemptLowerPriority").to_string()),
        None => (0, "PreemptLowerPriority".to_string()),
    };
    if let Some(given) = pod.pointer("/spec/priority").and_then(Value::as_i64) {
        if given != value {
            let pod_name = meta::meta_str(pod, "name").unwrap_or("");
            return Err(ApiError::forbidden(info, pod_name, &format!(
                "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {value} from the given PriorityClass name"
            )));
        }
    }
    if !pod.get("spec").is_some_and(Value::is_object) {
        return Ok(());
    }
    if let Some(c) = &class {
        pod["spec"]["priorityClassName"] = c["metadata"]["name"].clone();
    }
    pod["spec"]["priority"] = json!(value);
    pod["spec"]["preemptionPolicy"] = json!(policy);
    Ok(())
}
