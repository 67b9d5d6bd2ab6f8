//! One sync of a ReplicaSet (upstream `syncReplicaSet` and `manageReplicas`).

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;
use rkube_apimachinery::label_selector::LabelSelector;

use super::status::{self, ManageFailure};
use super::{ReplicaCtx, ReplicaKind, BURST_REPLICAS};
use crate::controller_ref::{claim, new_controller_ref, recheck_owner, Owner};
use crate::errors::{Error, Result};
use crate::events::reference;
use crate::pod_util::{is_pod_active, pod_key, pods_to_delete};
use crate::runtime::key_of;

/// Upstream `SlowStartInitialBatchSize`.
const SLOW_START_INITIAL_BATCH: usize = 1;

/// Reconciles one ReplicaSet (or ReplicationController): claim pods, create or delete the
/// difference when expectations allow, then write the status.
pub async fn reconcile<K: ReplicaKind>(obj: Arc<K>, ctx: Arc<ReplicaCtx<K>>) -> Result<Action> {
    let rs = obj.view();
    let key = key_of(obj.as_ref());
    let needs_sync = ctx.expectations.satisfied(&key);
    let selector = match obj.selector() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(key = %key, error = %e, "invalid selector, not syncing");
            return Ok(Action::await_change());
        }
    };
    let pods = claim_pods(&ctx, &obj, &selector).await?;
    let mut failure = None;
    if needs_sync && rs.metadata.deletion_timestamp.is_none() {
        if let Err(e) = manage_replicas(&ctx, &obj, &rs, &pods).await {
            failure = Some(e);
        }
    }
    let manage = failure.as_ref().map(|e| ManageFailure { message: crate::pod_control::api_message(e) });
    let new_status = status::calculate(&rs, &pods, manage.as_ref(), Timestamp::now());
    let updated = update_status(&ctx, &obj, &rs, new_status).await?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(resync_for_min_ready(&updated))
}

/// Upstream's last line of defence against clock skew: when every pod is ready but not all
/// are available yet, look again after minReadySeconds.
fn resync_for_min_ready(rs: &ReplicaSet) -> Action {
    let spec = rs.spec.clone().unwrap_or_default();
    let status = rs.status.clone().unwrap_or_default();
    let (min_ready, replicas) = (spec.min_ready_seconds.unwrap_or(0), spec.replicas.unwrap_or(1));
    if min_ready > 0 && status.ready_replicas.unwrap_or(0) == replicas && status.available_replicas.unwrap_or(0) != replicas {
        return Action::requeue(Duration::from_secs(min_ready as u64));
    }
    Action::await_change()
}

/// The active pods this object owns after adopting and releasing (upstream `claimPods`).
async fn claim_pods<K: ReplicaKind>(ctx: &ReplicaCtx<K>, obj: &Arc<K>, selector: &LabelSelector) -> Result<Vec<Arc<Pod>>> {
    let meta = obj.meta();
    let (ns, name, uid) = (meta.namespace.clone().unwrap_or_default(), meta.name.clone().unwrap_or_default(), meta.uid.clone().unwrap_or_default());
    let mut candidates = ctx.pods.controlled_by(&uid);
    candidates.extend(ctx.pods.orphans_in(&ns));
    candidates.retain(|p| is_pod_active(p));
    let owner = Owner { uid: &uid, namespace: &ns, deleting: meta.deletion_timestamp.is_some() };
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let own_api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    let matches = |p: &Pod| selector.matches(&p.metadata.labels.clone().unwrap_or_default());
    claim(&pods_api, &owner, &new_controller_ref(obj.as_ref()), candidates, matches, || recheck_owner(&own_api, &name, &uid)).await
}

/// Upstream `slowStartBatch`: runs `count` calls in batches of 1, 2, 4, ... stopping at the
/// first batch with an error; returns how many succeeded and the first error.
pub async fn slow_start_batch<F, Fut>(count: usize, initial: usize, call: F) -> (usize, Option<Error>)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let (mut remaining, mut successes) = (count, 0);
    let mut batch = remaining.min(initial);
    while batch > 0 {
        let results = join_all((0..batch).map(|_| call())).await;
        let mut first_err = None;
        for r in results {
            match r {
                Ok(()) => successes += 1,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if first_err.is_some() {
            return (successes, first_err);
        }
        remaining -= batch;
        batch = (2 * batch).min(remaining);
    }
    (successes, None)
}

/// Creates or deletes pods so that `pods.len()` approaches spec.replicas.
async fn manage_replicas<K: ReplicaKind>(ctx: &ReplicaCtx<K>, obj: &Arc<K>, rs: &ReplicaSet, pods: &[Arc<Pod>]) -> Result<()> {
    let desired = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1).max(0) as usize;
    let key = key_of(obj.as_ref());
    if pods.len() < desired {
        let diff = (desired - pods.len()).min(BURST_REPLICAS);
        return create_pods(ctx, obj, rs, &key, diff).await;
    }
    if pods.len() > desired {
        let diff = (pods.len() - desired).min(BURST_REPLICAS);
        return delete_pods(ctx, obj, rs, &key, pods, diff).await;
    }
    Ok(())
}

async fn create_pods<K: ReplicaKind>(ctx: &ReplicaCtx<K>, obj: &Arc<K>, rs: &ReplicaSet, key: &str, diff: usize) -> Result<()> {
    let Some(template) = rs.spec.as_ref().and_then(|s| s.template.clone()) else {
        return Err(Error::Invalid(format!("{key} has no pod template")));
    };
    let ns = rs.metadata.namespace.clone().unwrap_or_default();
    let parent = reference(obj.as_ref());
    let cref = new_controller_ref(obj.as_ref());
    ctx.expectations.expect_creations(key, diff);
    let (ok, err) = slow_start_batch(diff, SLOW_START_INITIAL_BATCH, || async {
        match ctx.pod_control.create_pod(&ns, &template, &parent, &cref).await {
            Ok(_) => Ok(()),
            // every create fails while the namespace terminates: nothing to do
            Err(e) if e.is_namespace_terminating() => Ok(()),
            Err(e) => Err(e),
        }
    })
    .await;
    for _ in ok..diff {
        ctx.expectations.creation_observed(key);
    }
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Pods of the ReplicaSets that share this one's controller (upstream
/// `getIndirectlyRelatedPods`), to rank pods on crowded nodes first.
fn related_pods<K: ReplicaKind>(ctx: &ReplicaCtx<K>, obj: &K) -> Vec<Arc<Pod>> {
    let Some(owner) = crate::controller_ref::controller_of(obj.meta()) else { return Vec::new() };
    ctx.objects.controlled_by(&owner.uid).iter().flat_map(|sibling| ctx.pods.controlled_by(sibling.meta().uid.as_deref().unwrap_or(""))).collect()
}

async fn delete_pods<K: ReplicaKind>(ctx: &ReplicaCtx<K>, obj: &Arc<K>, rs: &ReplicaSet, key: &str, pods: &[Arc<Pod>], diff: usize) -> Result<()> {
    let related = related_pods(ctx, obj.as_ref());
    let victims = pods_to_delete(pods.to_vec(), &related, diff, Timestamp::now());
    ctx.expectations.expect_deletions(key, victims.iter().map(|p| pod_key(p)));
    let ns = rs.metadata.namespace.clone().unwrap_or_default();
    let parent = reference(obj.as_ref());
    let results = join_all(victims.iter().map(|p| {
        let (ns, parent) = (&ns, &parent);
        async move {
            let name = p.metadata.name.clone().unwrap_or_default();
            let res = ctx.pod_control.delete_pod(ns, &name, parent).await;
            if res.is_err() {
                ctx.expectations.deletion_observed(key, &pod_key(p));
            }
            res
        }
    }))
    .await;
    let errors = results.into_iter().filter_map(|r| r.err()).filter(|e| !e.is_not_found()).collect();
    crate::errors::aggregate(errors)
}

/// Writes the status when it changed (upstream `updateReplicaSetStatus`, one retry on
/// conflict with a fresh read); returns the object as a ReplicaSet view.
async fn update_status<K: ReplicaKind>(ctx: &ReplicaCtx<K>, obj: &Arc<K>, rs: &ReplicaSet, mut new: k8s_openapi::api::apps::v1::ReplicaSetStatus) -> Result<ReplicaSet> {
    let generation = rs.metadata.generation;
    if !status::needs_update(rs.status.as_ref(), &new, generation) {
        return Ok(rs.clone());
    }
    new.observed_generation = generation;
    let ns = rs.metadata.namespace.clone().unwrap_or_default();
    let name = rs.metadata.name.clone().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    match api.replace_status(&name, &PostParams::default(), &obj.with_status(new.clone())).await {
        Ok(o) => Ok(o.view()),
        Err(e) => {
            let e = Error::from(e);
            if !e.is_conflict() {
                return Err(e);
            }
            let fresh = api.get(&name).await?;
            let o = api.replace_status(&name, &PostParams::default(), &fresh.with_status(new)).await?;
            Ok(o.view())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn slow_start_doubles_and_stops_at_first_failing_batch() {
        let calls = AtomicUsize::new(0);
        let (ok, err) = slow_start_batch(10, 1, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .await;
        assert_eq!((ok, err.is_none(), calls.load(Ordering::SeqCst)), (10, true, 10));
        let calls = AtomicUsize::new(0);
        let (ok, err) = slow_start_batch(10, 1, || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            if n >= 4 {
                Err(Error::Invalid("boom".into()))
            } else {
                Ok(())
            }
        })
        .await;
        // batches 1, 2, 4: the third batch (calls 3..7) has failures, so 7 calls are made
        assert_eq!((ok, err.is_some(), calls.load(Ordering::SeqCst)), (4, true, 7));
    }
}
