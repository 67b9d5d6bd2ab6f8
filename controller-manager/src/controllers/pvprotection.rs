//! The PV protection controller (upstream `pkg/controller/volume/pvprotection`): a volume
//! being deleted keeps its `kubernetes.io/pv-protection` finalizer while it is Bound;
//! volumes created before the admission plugin get the finalizer added.

use std::sync::Arc;

use k8s_openapi::api::core::v1::PersistentVolume;
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;

use super::pvcprotection::{is_deletion_candidate, need_to_add_finalizer};
use super::{ControllerDescriptor, Running};
use crate::context::ControllerContext;
use crate::errors::{Error, Result};
use crate::informer::Change;
use crate::runtime::{self, Queue};

/// The finalizer this controller owns.
pub const PV_PROTECTION_FINALIZER: &str = "kubernetes.io/pv-protection";

/// Registration of the PV protection controller.
pub const DESCRIPTOR: ControllerDescriptor = ControllerDescriptor {
    name: "persistentvolume-protection-controller",
    aliases: &["pv-protection"],
    enabled_by_default: true,
    start,
};

fn start(ctx: &ControllerContext) -> Result<Running> {
    let (queue, rx) = Queue::<PersistentVolume>::new("pvprotection", &ctx.metrics);
    let volumes = ctx.informers.informer::<PersistentVolume>();
    let q = queue.clone();
    volumes.add_handler(move |c| match c {
        Change::Added(pv) | Change::Updated { new: pv, .. } => {
            if need_to_add_finalizer(&pv.metadata, PV_PROTECTION_FINALIZER) || is_deletion_candidate(&pv.metadata, PV_PROTECTION_FINALIZER) {
                q.add_obj(pv);
            }
        }
        Change::Deleted(_) => {}
    });
    Ok(Box::pin(runtime::run("pvprotection", queue, rx, volumes.store(), 1, Arc::new(ctx.client.clone()), reconcile)))
}

/// Upstream `isBeingUsed`: the binder marks a volume in use by its Bound phase.
pub fn is_being_used(pv: &PersistentVolume) -> bool {
    pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
}

/// Upstream `processPV`.
pub async fn reconcile(pv: Arc<PersistentVolume>, client: Arc<kube::Client>) -> Result<Action> {
    let mut updated = (*pv).clone();
    if is_deletion_candidate(&pv.metadata, PV_PROTECTION_FINALIZER) {
        if is_being_used(&pv) {
            return Ok(Action::await_change());
        }
        updated.metadata.finalizers.get_or_insert_with(Vec::new).retain(|f| f != PV_PROTECTION_FINALIZER);
    } else if need_to_add_finalizer(&pv.metadata, PV_PROTECTION_FINALIZER) {
        updated.metadata.finalizers.get_or_insert_with(Vec::new).push(PV_PROTECTION_FINALIZER.into());
    } else {
        return Ok(Action::await_change());
    }
    let api: Api<PersistentVolume> = Api::all((*client).clone());
    match api.replace(pv.metadata.name.as_deref().unwrap_or(""), &PostParams::default(), &updated).await {
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
