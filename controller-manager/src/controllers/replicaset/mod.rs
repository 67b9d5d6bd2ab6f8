//! The ReplicaSet controller (upstream `pkg/controller/replicaset`): keeps `spec.replicas`
//! active pods matching a ReplicaSet's selector, adopting matching orphans and releasing
//! owned pods that stopped matching, and reports replicas, fullyLabeledReplicas,
//! readyReplicas, availableReplicas, observedGeneration and the ReplicaFailure condition.
//!
//! The logic is generic over [`ReplicaKind`] so ReplicationControllers reuse it, as upstream's
//! replication manager wraps this controller with a conversion.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::NamespaceResourceScope;
use kube::Resource;
use rkube_apimachinery::label_selector::LabelSelector;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{ControllerDescriptor, Running};
use crate::context::ControllerContext;
use crate::controller_ref::controller_of;
use crate::errors::{Error, Result};
use crate::expectations::Expectations;
use crate::informer::{Change, Informer};
use crate::pod_control::PodControl;
use crate::pod_util::{is_pod_ready, pod_key};
use crate::runtime::{self, key_of, Queue};

pub mod status;
mod sync;

pub use sync::reconcile;

/// Upstream `BurstReplicas`: at most this many pods created or deleted per sync.
pub const BURST_REPLICAS: usize = 500;

/// Registration of the ReplicaSet controller.
pub const DESCRIPTOR: ControllerDescriptor =
    ControllerDescriptor { name: "replicaset-controller", aliases: &["replicaset"], enabled_by_default: true, start };

fn start(ctx: &ControllerContext) -> Result<Running> {
    start_for::<ReplicaSet>(ctx, ctx.options.concurrent_replicaset_syncs)
}

/// An object kind managed by this controller: ReplicaSet itself, or ReplicationController
/// through a conversion to a ReplicaSet view.
pub trait ReplicaKind: Resource<DynamicType = (), Scope = NamespaceResourceScope> + Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The work queue's name (upstream `replicaset`, `replicationmanager`).
    const QUEUE: &'static str;
    /// The event source component.
    const COMPONENT: &'static str;
    /// The object as a ReplicaSet.
    fn view(&self) -> ReplicaSet;
    /// A copy with this status.
    fn with_status(&self, status: ReplicaSetStatus) -> Self;
    /// The label selector (set-based for ReplicaSets, equality for ReplicationControllers).
    fn selector(&self) -> Result<LabelSelector>;
}

impl ReplicaKind for ReplicaSet {
    const QUEUE: &'static str = "replicaset";
    const COMPONENT: &'static str = "replicaset-controller";

    fn view(&self) -> ReplicaSet {
        self.clone()
    }

    fn with_status(&self, status: ReplicaSetStatus) -> Self {
        let mut rs = self.clone();
        rs.status = Some(status);
        rs
    }

    fn selector(&self) -> Result<LabelSelector> {
        let spec = self.spec.as_ref().map(|s| &s.selector);
        let json = serde_json::to_value(spec).map_err(|e| Error::Selector(e.to_string()))?;
        LabelSelector::from_json(&json).map_err(|e| Error::Selector(e.message().to_string()))
    }
}

/// What a replica controller's reconcile and handlers share.
pub struct ReplicaCtx<K: ReplicaKind> {
    /// The apiserver client.
    pub client: kube::Client,
    /// The controller's own objects.
    pub objects: Arc<Informer<K>>,
    /// All pods.
    pub pods: Arc<Informer<Pod>>,
    /// Outstanding creations/deletions per object key.
    pub expectations: Expectations,
    /// The work queue.
    pub queue: Queue<K>,
    /// Pod creation and deletion with events.
    pub pod_control: PodControl,
}

/// Starts the controller for kind `K` with `workers` concurrent syncs.
pub fn start_for<K: ReplicaKind>(ctx: &ControllerContext, workers: u16) -> Result<Running> {
    let (queue, rx) = Queue::<K>::new(K::QUEUE, &ctx.metrics);
    let shared = Arc::new(ReplicaCtx {
        client: ctx.client.clone(),
        objects: ctx.informers.informer::<K>(),
        pods: ctx.informers.informer::<Pod>(),
        expectations: Expectations::new(),
        queue: queue.clone(),
        pod_control: PodControl::new(ctx.client.clone(), ctx.recorder(K::COMPONENT)),
    });
    let s = shared.clone();
    shared.objects.add_handler(move |c| on_object(&s, c));
    let s = shared.clone();
    shared.pods.add_handler(move |c| on_pod(&s, c));
    let store = shared.objects.store();
    Ok(Box::pin(runtime::run(K::QUEUE, queue, rx, store, workers, shared, reconcile::<K>)))
}

fn on_object<K: ReplicaKind>(ctx: &ReplicaCtx<K>, change: &Change<K>) {
    match change {
        Change::Added(o) => ctx.queue.add_obj(o),
        Change::Updated { new, .. } => ctx.queue.add_obj(new),
        Change::Deleted(o) => ctx.expectations.delete(&key_of(o.as_ref())),
    }
}

/// The object of kind `K` a controller reference points at, if cached with that UID.
fn resolve<K: ReplicaKind>(ctx: &ReplicaCtx<K>, namespace: Option<&str>, r: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference) -> Option<Arc<K>> {
    if r.kind != K::kind(&()) {
        return None;
    }
    ctx.objects.get(namespace, &r.name).filter(|o| o.meta().uid.as_deref() == Some(r.uid.as_str()))
}

/// Objects whose selector matches an orphan pod (upstream `GetPodReplicaSets`).
fn matching_objects<K: ReplicaKind>(ctx: &ReplicaCtx<K>, pod: &Pod) -> Vec<Arc<K>> {
    let ns = pod.metadata.namespace.as_deref();
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    if labels.is_empty() {
        return Vec::new();
    }
    ctx.objects
        .store()
        .state()
        .into_iter()
        .filter(|o| o.meta().namespace.as_deref() == ns)
        .filter(|o| o.selector().is_ok_and(|s| !s.is_empty() && s.matches(&labels)))
        .collect()
}

fn on_pod<K: ReplicaKind>(ctx: &ReplicaCtx<K>, change: &Change<Pod>) {
    match change {
        Change::Added(p) => pod_added(ctx, p),
        Change::Updated { old, new } => pod_updated(ctx, old, new),
        Change::Deleted(p) => pod_deleted(ctx, p),
    }
}

fn pod_added<K: ReplicaKind>(ctx: &ReplicaCtx<K>, pod: &Pod) {
    if pod.metadata.deletion_timestamp.is_some() {
        return pod_deleted(ctx, pod);
    }
    let ns = pod.metadata.namespace.as_deref();
    if let Some(r) = controller_of(&pod.metadata) {
        if let Some(o) = resolve(ctx, ns, r) {
            ctx.expectations.creation_observed(&key_of(o.as_ref()));
            ctx.queue.add_obj(&o);
        }
        return;
    }
    matching_objects(ctx, pod).iter().for_each(|o| ctx.queue.add_obj(o));
}

fn pod_updated<K: ReplicaKind>(ctx: &ReplicaCtx<K>, old: &Pod, cur: &Pod) {
    let labels_changed = old.metadata.labels != cur.metadata.labels;
    if cur.metadata.deletion_timestamp.is_some() {
        pod_deleted(ctx, cur);
        if labels_changed {
            pod_deleted(ctx, old);
        }
        return;
    }
    let ns = cur.metadata.namespace.as_deref();
    let (cur_ref, old_ref) = (controller_of(&cur.metadata), controller_of(&old.metadata));
    let ref_changed = cur_ref != old_ref;
    if ref_changed {
        if let Some(o) = old_ref.and_then(|r| resolve(ctx, ns, r)) {
            ctx.queue.add_obj(&o);
        }
    }
    if let Some(r) = cur_ref {
        let Some(o) = resolve(ctx, ns, r) else { return };
        ctx.queue.add_obj(&o);
        let min_ready = o.view().spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
        if !is_pod_ready(old) && is_pod_ready(cur) && min_ready > 0 {
            ctx.queue.add_after(&o, Duration::from_secs(min_ready as u64 + 1));
        }
        return;
    }
    if labels_changed || ref_changed {
        matching_objects(ctx, cur).iter().for_each(|o| ctx.queue.add_obj(o));
    }
}

fn pod_deleted<K: ReplicaKind>(ctx: &ReplicaCtx<K>, pod: &Pod) {
    let Some(r) = controller_of(&pod.metadata) else { return };
    let Some(o) = resolve(ctx, pod.metadata.namespace.as_deref(), r) else { return };
    ctx.expectations.deletion_observed(&key_of(o.as_ref()), &pod_key(pod));
    ctx.queue.add_obj(&o);
}
