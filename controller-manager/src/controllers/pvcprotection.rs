//! The PVC protection controller (upstream `pkg/controller/volume/pvcprotection`): a claim
//! being deleted keeps its `kubernetes.io/pvc-protection` finalizer while a scheduled pod
//! uses it; claims created before the admission plugin get the finalizer added.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::controller::Action;

use super::{ControllerDescriptor, Running};
use crate::context::ControllerContext;
use crate::errors::{Error, Result};
use crate::informer::{Change, Informer};
use crate::runtime::{self, Queue};

/// The finalizer this controller owns.
pub const PVC_PROTECTION_FINALIZER: &str = "kubernetes.io/pvc-protection";

/// Registration of the PVC protection controller.
pub const DESCRIPTOR: ControllerDescriptor = ControllerDescriptor {
    name: "persistentvolumeclaim-protection-controller",
    aliases: &["pvc-protection"],
    enabled_by_default: true,
    start,
};

/// What the reconcile shares.
pub struct Ctx {
    client: kube::Client,
    pods: Arc<Informer<Pod>>,
}

/// Upstream `IsDeletionCandidate`: being deleted and still holding `finalizer`.
pub fn is_deletion_candidate(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, finalizer: &str) -> bool {
    meta.deletion_timestamp.is_some() && meta.finalizers.as_ref().is_some_and(|f| f.iter().any(|x| x == finalizer))
}

/// Upstream `NeedToAddFinalizer`: not being deleted and without `finalizer`.
pub fn need_to_add_finalizer(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, finalizer: &str) -> bool {
    meta.deletion_timestamp.is_none() && !meta.finalizers.as_ref().is_some_and(|f| f.iter().any(|x| x == finalizer))
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let (queue, rx) = Queue::<PersistentVolumeClaim>::new("pvcprotection", &ctx.metrics);
    let claims = ctx.informers.informer::<PersistentVolumeClaim>();
    let pods = ctx.informers.informer::<Pod>();
    let q = queue.clone();
    claims.add_handler(move |c| match c {
        Change::Added(pvc) | Change::Updated { new: pvc, .. } => {
            if need_to_add_finalizer(&pvc.metadata, PVC_PROTECTION_FINALIZER) || is_deletion_candidate(&pvc.metadata, PVC_PROTECTION_FINALIZER) {
                q.add_obj(pvc);
            }
        }
        Change::Deleted(_) => {}
    });
    let q = queue.clone();
    pods.add_handler(move |c| match c {
        Change::Added(pod) => enqueue_claims(&q, pod, false),
        Change::Updated { old, new } => {
            enqueue_claims(&q, new, false);
            if old.metadata.uid != new.metadata.uid {
                enqueue_claims(&q, old, true);
            }
        }
        Change::Deleted(pod) => enqueue_claims(&q, pod, true),
    });
    let shared = Arc::new(Ctx { client: ctx.client.clone(), pods });
    Ok(Box::pin(runtime::run("pvcprotection", queue, rx, claims.store(), 1, shared, reconcile)))
}

fn pod_terminated(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

/// Upstream `enqueuePVCs`: only pods that may let a finalizer go (deleted, terminated or not
/// scheduled) queue their claims.
fn enqueue_claims(queue: &Queue<PersistentVolumeClaim>, pod: &Pod, deleted: bool) {
    let scheduled = pod.spec.as_ref().is_some_and(|s| !s.node_name.as_deref().unwrap_or("").is_empty());
    if !deleted && !pod_terminated(pod) && scheduled {
        return;
    }
    let ns = pod.metadata.namespace.as_deref();
    let pod_name = pod.metadata.name.as_deref().unwrap_or("");
    for v in pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
        if let Some(c) = &v.persistent_volume_claim {
            queue.add(ns, &c.claim_name);
        } else if v.ephemeral.is_some() {
            queue.add(ns, &format!("{pod_name}-{}", v.name));
        }
    }
}

/// Upstream `podIsShutDown`: deleted with a zero grace period (force-deleted, or done).
fn pod_is_shut_down(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some() && pod.metadata.deletion_grace_period_seconds == Some(0)
}

/// Upstream `podUsesPVC`: a scheduled pod naming the claim, or owning it as the claim of a
/// generic ephemeral volume (unless the pod is shut down).
pub fn pod_uses_claim(pod: &Pod, pvc: &PersistentVolumeClaim) -> bool {
    let Some(spec) = pod.spec.as_ref() else { return false };
    if spec.node_name.as_deref().unwrap_or("").is_empty() || pod.metadata.namespace != pvc.metadata.namespace {
        return false;
    }
    let claim = pvc.metadata.name.as_deref().unwrap_or("");
    let pod_name = pod.metadata.name.as_deref().unwrap_or("");
    spec.volumes.iter().flatten().any(|v| {
        v.persistent_volume_claim.as_ref().is_some_and(|c| c.claim_name == claim)
            || (!pod_is_shut_down(pod)
                && v.ephemeral.is_some()
                && format!("{pod_name}-{}", v.name) == claim
                && pvc.metadata.owner_references.iter().flatten().any(|o| o.controller == Some(true) && Some(&o.uid) == pod.metadata.uid.as_ref()))
    })
}

async fn is_being_used(ctx: &Ctx, pvc: &PersistentVolumeClaim) -> Result<bool> {
    if ctx.pods.store().state().iter().any(|p| pod_uses_claim(p, pvc)) {
        return Ok(true);
    }
    // The cache may not hold a new pod yet: a live list decides.
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), pvc.metadata.namespace.as_deref().unwrap_or(""));
    Ok(api.list(&ListParams::default()).await?.items.iter().any(|p| pod_uses_claim(p, pvc)))
}

/// Upstream `processPVC`.
pub async fn reconcile(pvc: Arc<PersistentVolumeClaim>, ctx: Arc<Ctx>) -> Result<Action> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), pvc.metadata.namespace.as_deref().unwrap_or(""));
    let name = pvc.metadata.name.as_deref().unwrap_or("");
    let mut updated = (*pvc).clone();
    if is_deletion_candidate(&pvc.metadata, PVC_PROTECTION_FINALIZER) {
        if is_being_used(&ctx, &pvc).await? {
            tracing::debug!(pvc = %runtime::key_of(pvc.as_ref()), "keeping PVC because it is being used");
            return Ok(Action::await_change());
        }
        updated.metadata.finalizers.get_or_insert_with(Vec::new).retain(|f| f != PVC_PROTECTION_FINALIZER);
    } else if need_to_add_finalizer(&pvc.metadata, PVC_PROTECTION_FINALIZER) {
        updated.metadata.finalizers.get_or_insert_with(Vec::new).push(PVC_PROTECTION_FINALIZER.into());
    } else {
        return Ok(Action::await_change());
    }
    match api.replace(name, &PostParams::default(), &updated).await {
        Ok(_) => Ok(Action::await_change()),
        Err(e) => {
            let e = Error::from(e);
            if e.is_not_found() {
                return Ok(Action::await_change());
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(node: &str, claim: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "pu"},
            "spec": {"nodeName": node, "containers": [{"name": "c"}], "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": claim}},
                {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}
            ]}
        }))
        .unwrap()
    }

    fn pvc(name: &str, owner: Option<&str>) -> PersistentVolumeClaim {
        let mut v = json!({"metadata": {"name": name, "namespace": "ns"}});
        if let Some(uid) = owner {
            v["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": uid, "controller": true}]);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn scheduled_pods_use_their_claims() {
        assert!(pod_uses_claim(&pod("n1", "data"), &pvc("data", None)));
        assert!(!pod_uses_claim(&pod("", "data"), &pvc("data", None)), "unscheduled pods do not block");
        assert!(!pod_uses_claim(&pod("n1", "other"), &pvc("data", None)));
        assert!(pod_uses_claim(&pod("n1", "x"), &pvc("p-scratch", Some("pu"))));
        assert!(!pod_uses_claim(&pod("n1", "x"), &pvc("p-scratch", Some("someone-else"))));
        let mut gone = pod("n1", "x");
        gone.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        gone.metadata.deletion_grace_period_seconds = Some(0);
        assert!(!pod_uses_claim(&gone, &pvc("p-scratch", Some("pu"))));
    }

    #[test]
    fn finalizer_predicates() {
        let mut m = pvc("a", None).metadata;
        assert!(need_to_add_finalizer(&m, PVC_PROTECTION_FINALIZER));
        m.finalizers = Some(vec![PVC_PROTECTION_FINALIZER.into()]);
        assert!(!need_to_add_finalizer(&m, PVC_PROTECTION_FINALIZER));
        assert!(!is_deletion_candidate(&m, PVC_PROTECTION_FINALIZER));
        m.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert!(is_deletion_candidate(&m, PVC_PROTECTION_FINALIZER));
    }
}
