//! Taint-based eviction (upstream `tainteviction.Controller`): a pod on a node with
//! NoExecute taints it does not tolerate is deleted at once; one whose tolerations have
//! `tolerationSeconds` is deleted that long after this controller first saw it tainted;
//! tolerating without a limit keeps it. Before deleting, the pod gets the
//! `DisruptionTarget` condition, and an event `TaintManagerEviction` is recorded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

use super::Ctl;
use crate::controllers::tolerations::{eviction_delay_seconds, taints_of, tolerations_of};
use crate::events::reference;

/// Pending evictions: pod UID to (first seen tainted, due time).
pub type Scheduled = HashMap<String, (Timestamp, Timestamp)>;

/// How often pending evictions are checked.
const TICK: Duration = Duration::from_millis(500);

/// The due time of a pod's eviction given when it was first seen tainted and the delay.
pub fn due(first_seen: Timestamp, delay_seconds: i64) -> Timestamp {
    Timestamp::from_second(first_seen.as_second() + delay_seconds.max(0)).unwrap_or(first_seen)
}

/// Checks every bound pod against its node's NoExecute taints until the process ends.
pub(super) async fn run(ctl: Arc<Ctl>) {
    loop {
        tokio::time::sleep(TICK).await;
        pass(&ctl).await;
    }
}

async fn pass(ctl: &Ctl) {
    let now = Timestamp::now();
    let mut due_now = Vec::new();
    {
        let mut scheduled = ctl.evictions.lock().expect("evictions lock");
        let mut keep = Scheduled::new();
        for pod in ctl.pods.store().state() {
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).and_then(|n| ctl.nodes.get(None, n)) else { continue };
            let Some(delay) = eviction_delay_seconds(taints_of(&node), tolerations_of(&pod)) else { continue };
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            let first = scheduled.get(&uid).map(|(f, _)| *f).unwrap_or(now);
            let when = due(first, delay);
            if when <= now {
                due_now.push(pod);
            }
            keep.insert(uid, (first, when));
        }
        *scheduled = keep;
    }
    for pod in due_now {
        evict(ctl, &pod).await;
    }
}

async fn evict(ctl: &Ctl, pod: &Pod) {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctl.client.clone(), &ns);
    ctl.recorder.normal(&reference(pod), "TaintManagerEviction", format!("Marking for deletion Pod {ns}/{name}"));
    let condition = json!({
        "type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
        "message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": Timestamp::now().to_string(),
    });
    let mut conditions: Vec<serde_json::Value> = pod.status.as_ref().and_then(|s| s.conditions.as_ref()).map(|cs| cs.iter().filter(|c| c.type_ != "DisruptionTarget").filter_map(|c| serde_json::to_value(c).ok()).collect()).unwrap_or_default();
    conditions.push(condition);
    let patch = json!({"status": {"conditions": conditions}});
    if let Err(e) = api.patch_status(&name, &PatchParams::default(), &Patch::Merge(patch)).await {
        tracing::debug!(error = %e, pod = %name, "adding DisruptionTarget");
    }
    if let Err(e) = api.delete(&name, &DeleteParams::default()).await {
        tracing::warn!(error = %e, pod = %format!("{ns}/{name}"), "taint eviction failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_adds_delay() {
        let t: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(due(t, 300).to_string(), "2024-01-01T00:05:00Z");
        assert_eq!(due(t, -1), t);
    }
}
