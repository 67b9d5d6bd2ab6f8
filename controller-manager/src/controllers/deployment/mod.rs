//! The Deployment controller (upstream `pkg/controller/deployment`): one ReplicaSet per pod
//! template (named `<deployment>-<pod-template-hash>`), rolled with the RollingUpdate
//! (maxSurge/maxUnavailable) or Recreate strategy, revision annotations for rollout history
//! and undo, pause/resume, proportional scaling mid-rollout, revisionHistoryLimit clean-up,
//! and status/conditions (Available, Progressing with progressDeadlineSeconds,
//! ReplicaFailure) as upstream computes them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;
use rkube_apimachinery::label_selector::LabelSelector;

use super::{ControllerDescriptor, Running};
use crate::context::ControllerContext;
use crate::controller_ref::{claim, controller_of, new_controller_ref, recheck_owner, Owner};
use crate::errors::{Error, Result};
use crate::events::{reference, Recorder};
use crate::informer::{Change, Informer};
use crate::runtime::{self, Queue};

mod progress;
mod recreate;
mod rolling;
mod sync;
pub mod util;

/// Registration of the Deployment controller.
pub const DESCRIPTOR: ControllerDescriptor =
    ControllerDescriptor { name: "deployment-controller", aliases: &["deployment"], enabled_by_default: true, start };

/// What the reconcile and the handlers share.
pub struct Ctx {
    client: kube::Client,
    deployments: Arc<Informer<Deployment>>,
    replica_sets: Arc<Informer<ReplicaSet>>,
    pods: Arc<Informer<Pod>>,
    queue: Queue<Deployment>,
    recorder: Recorder,
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let (queue, rx) = Queue::<Deployment>::new("deployment", &ctx.metrics);
    let shared = Arc::new(Ctx {
        client: ctx.client.clone(),
        deployments: ctx.informers.informer::<Deployment>(),
        replica_sets: ctx.informers.informer::<ReplicaSet>(),
        pods: ctx.informers.informer::<Pod>(),
        queue: queue.clone(),
        recorder: ctx.recorder("deployment-controller"),
    });
    let q = queue.clone();
    shared.deployments.add_handler(move |c| match c {
        Change::Added(d) | Change::Updated { new: d, .. } => q.add_obj(d),
        Change::Deleted(_) => {}
    });
    let s = shared.clone();
    shared.replica_sets.add_handler(move |c| on_replica_set(&s, c));
    let s = shared.clone();
    shared.pods.add_handler(move |c| {
        if let Change::Deleted(p) = c {
            on_pod_deleted(&s, p);
        }
    });
    let store = shared.deployments.store();
    Ok(Box::pin(runtime::run("deployment", queue, rx, store, ctx.options.concurrent_deployment_syncs, shared, reconcile)))
}

fn selector_of(d: &Deployment) -> Result<LabelSelector> {
    let json = serde_json::to_value(d.spec.as_ref().map(|s| &s.selector)).map_err(|e| Error::Selector(e.to_string()))?;
    LabelSelector::from_json(&json).map_err(|e| Error::Selector(e.message().to_string()))
}

fn resolve(ctx: &Ctx, namespace: Option<&str>, r: &OwnerReference) -> Option<Arc<Deployment>> {
    if r.kind != "Deployment" {
        return None;
    }
    ctx.deployments.get(namespace, &r.name).filter(|d| d.metadata.uid.as_deref() == Some(r.uid.as_str()))
}

/// Deployments whose selector matches an orphan ReplicaSet (upstream
/// `GetDeploymentsForReplicaSet`).
fn matching_deployments(ctx: &Ctx, rs: &ReplicaSet) -> Vec<Arc<Deployment>> {
    let labels = rs.metadata.labels.clone().unwrap_or_default();
    if labels.is_empty() {
        return Vec::new();
    }
    let ns = rs.metadata.namespace.as_deref();
    ctx.deployments
        .store()
        .state()
        .into_iter()
        .filter(|d| d.metadata.namespace.as_deref() == ns)
        .filter(|d| selector_of(d).is_ok_and(|s| !s.is_empty() && s.matches(&labels)))
        .collect()
}

fn on_replica_set(ctx: &Ctx, change: &Change<ReplicaSet>) {
    let enqueue_owner = |rs: &ReplicaSet| {
        if let Some(d) = controller_of(&rs.metadata).and_then(|r| resolve(ctx, rs.metadata.namespace.as_deref(), r)) {
            ctx.queue.add_obj(&d);
        }
    };
    match change {
        Change::Added(rs) => {
            if controller_of(&rs.metadata).is_some() || rs.metadata.deletion_timestamp.is_some() {
                return enqueue_owner(rs);
            }
            matching_deployments(ctx, rs).iter().for_each(|d| ctx.queue.add_obj(d));
        }
        Change::Updated { old, new } => {
            let (cur_ref, old_ref) = (controller_of(&new.metadata), controller_of(&old.metadata));
            if cur_ref != old_ref {
                enqueue_owner(old);
            }
            if cur_ref.is_some() {
                return enqueue_owner(new);
            }
            if new.metadata.labels != old.metadata.labels || cur_ref != old_ref {
                matching_deployments(ctx, new).iter().for_each(|d| ctx.queue.add_obj(d));
            }
        }
        Change::Deleted(rs) => enqueue_owner(rs),
    }
}

/// A Recreate Deployment waits for its old pods to be gone: wake it when one goes.
fn on_pod_deleted(ctx: &Ctx, pod: &Pod) {
    let ns = pod.metadata.namespace.as_deref();
    let Some(r) = controller_of(&pod.metadata).filter(|r| r.kind == "ReplicaSet") else { return };
    let Some(rs) = ctx.replica_sets.get(ns, &r.name).filter(|rs| rs.metadata.uid.as_deref() == Some(r.uid.as_str())) else { return };
    let Some(d) = controller_of(&rs.metadata).and_then(|r| resolve(ctx, ns, r)) else { return };
    if util::strategy_type(&d) == "Recreate" {
        ctx.queue.add_obj(&d);
    }
}

/// Syncs one Deployment (upstream `syncDeployment`).
pub async fn reconcile(obj: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action> {
    let mut s = Syncer { ctx: &ctx, d: (*obj).clone(), requeue: None };
    s.sync_deployment().await?;
    Ok(s.requeue.map_or_else(Action::await_change, Action::requeue))
}

/// The state of one sync: the Deployment as last written, and when to look again.
pub(crate) struct Syncer<'a> {
    ctx: &'a Ctx,
    d: Deployment,
    requeue: Option<Duration>,
}

/// Pods of each ReplicaSet, by ReplicaSet UID.
type PodMap = HashMap<String, Vec<Arc<Pod>>>;

impl Syncer<'_> {
    fn ns(&self) -> String {
        self.d.metadata.namespace.clone().unwrap_or_default()
    }

    fn name(&self) -> String {
        self.d.metadata.name.clone().unwrap_or_default()
    }

    fn d_api(&self) -> Api<Deployment> {
        Api::namespaced(self.ctx.client.clone(), &self.ns())
    }

    fn rs_api(&self) -> Api<ReplicaSet> {
        Api::namespaced(self.ctx.client.clone(), &self.ns())
    }

    fn event(&self, type_: &str, reason: &str, message: String) {
        self.ctx.recorder.event(&reference(&self.d), type_, reason, message);
    }

    async fn sync_deployment(&mut self) -> Result<()> {
        let selector = match selector_of(&self.d) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(deployment = %self.name(), error = %e, "invalid selector");
                return Ok(());
            }
        };
        if selector.is_empty() {
            return self.selecting_all().await;
        }
        let mut rs_list = self.replica_sets_for_deployment(&selector).await?;
        if self.d.metadata.deletion_timestamp.is_some() {
            return self.sync_status_only(&mut rs_list).await;
        }
        self.check_paused_conditions().await?;
        if self.paused() {
            return self.sync(&mut rs_list).await;
        }
        if self.is_scaling_event(&mut rs_list).await? {
            return self.sync(&mut rs_list).await;
        }
        match util::strategy_type(&self.d).as_str() {
            "Recreate" => {
                let pods = self.pod_map(&rs_list, &selector);
                self.rollout_recreate(&mut rs_list, &pods).await
            }
            "RollingUpdate" => self.rollout_rolling(&mut rs_list).await,
            other => Err(Error::Invalid(format!("unexpected deployment strategy type: {other}"))),
        }
    }

    fn paused(&self) -> bool {
        self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
    }

    async fn selecting_all(&mut self) -> Result<()> {
        self.event(crate::events::WARNING, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.".into());
        let status = self.d.status.get_or_insert_with(Default::default);
        if status.observed_generation.unwrap_or(0) < self.d.metadata.generation.unwrap_or(0) {
            status.observed_generation = self.d.metadata.generation;
            self.update_status().await?;
        }
        Ok(())
    }

    /// The ReplicaSets this Deployment owns after adoption/orphaning (upstream
    /// `getReplicaSetsForDeployment`).
    async fn replica_sets_for_deployment(&self, selector: &LabelSelector) -> Result<Vec<ReplicaSet>> {
        let (ns, name) = (self.ns(), self.name());
        let uid = self.d.metadata.uid.clone().unwrap_or_default();
        let mut candidates = self.ctx.replica_sets.controlled_by(&uid);
        candidates.extend(self.ctx.replica_sets.orphans_in(&ns));
        let owner = Owner { uid: &uid, namespace: &ns, deleting: self.d.metadata.deletion_timestamp.is_some() };
        let matches = |rs: &ReplicaSet| selector.matches(&rs.metadata.labels.clone().unwrap_or_default());
        let d_api = self.d_api();
        let owned = claim(&self.rs_api(), &owner, &new_controller_ref(&self.d), candidates, matches, || recheck_owner(&d_api, &name, &uid)).await?;
        Ok(owned.iter().map(|rs| (**rs).clone()).collect())
    }

    /// Pods of each ReplicaSet that match the Deployment's selector (upstream
    /// `getPodMapForDeployment`).
    fn pod_map(&self, rs_list: &[ReplicaSet], selector: &LabelSelector) -> PodMap {
        rs_list
            .iter()
            .filter_map(|rs| rs.metadata.uid.clone())
            .map(|uid| {
                let pods = self.ctx.pods.controlled_by(&uid).into_iter().filter(|p| selector.matches(&p.metadata.labels.clone().unwrap_or_default())).collect();
                (uid, pods)
            })
            .collect()
    }

    /// Writes `self.d.status` (upstream `UpdateStatus`) and keeps the written object.
    async fn update_status(&mut self) -> Result<()> {
        let updated = self.d_api().replace_status(&self.name(), &PostParams::default(), &self.d).await?;
        self.d = updated;
        Ok(())
    }

    /// Sets the Deployment's revision annotation through UpdateStatus, as upstream does: a
    /// status write keeps the spec and does not bump the generation.
    async fn set_revision(&mut self, revision: &str) -> Result<()> {
        if util::deployment_revision(&self.d) == Some(revision) {
            return Ok(());
        }
        self.d.metadata.annotations.get_or_insert_with(Default::default).insert(util::REVISION.to_string(), revision.to_string());
        self.update_status().await
    }

    /// Upstream `checkPausedConditions`.
    async fn check_paused_conditions(&mut self) -> Result<()> {
        if !util::has_progress_deadline(&self.d) {
            return Ok(());
        }
        let status = self.d.status.get_or_insert_with(Default::default);
        let cond = util::get_condition(status, util::PROGRESSING);
        if cond.is_some_and(|c| c.reason.as_deref() == Some(util::TIMED_OUT)) {
            return Ok(());
        }
        let paused_cond = cond.is_some_and(|c| c.reason.as_deref() == Some(util::PAUSED));
        let paused = self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        let cond = if paused && !paused_cond {
            util::new_condition(util::PROGRESSING, "Unknown", util::PAUSED, "Deployment is paused", util::now())
        } else if !paused && paused_cond {
            util::new_condition(util::PROGRESSING, "Unknown", util::RESUMED, "Deployment is resumed", util::now())
        } else {
            return Ok(());
        };
        util::set_condition(status, cond);
        self.update_status().await
    }
}
