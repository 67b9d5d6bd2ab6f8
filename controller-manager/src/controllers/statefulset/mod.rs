//! The StatefulSet controller (upstream `pkg/controller/statefulset`): pods with stable
//! names `<set>-<ordinal>` and stable storage (one PVC per claim template and ordinal),
//! created in order and removed in reverse order (`OrderedReady`) or all at once
//! (`Parallel`), updated from the highest ordinal down to the partition, with the pod
//! template history kept in ControllerRevisions.

pub mod identity;
pub mod plan;
mod revisions;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::json;

use self::identity::{claims_for, identity_matches, ordinal_of, pod_name, replicas, start_ordinal, storage_matches, update_identity, update_storage};
use self::plan::{Action as Step, PlanInput, PodView};
use crate::context::ControllerContext;
use crate::controller_ref::{claim, new_controller_ref, recheck_owner, Owner};
use crate::controllers::history::REVISION_HASH_LABEL;
use crate::controllers::workload::{enqueue_owner, enqueue_self, matches, selector};
use crate::controllers::{ControllerDescriptor, Running};
use crate::errors::{Error, Result};
use crate::events::{reference, Recorder};
use crate::informer::Informer;
use crate::pod_control::pod_from_template;
use crate::pod_util::{is_pod_available, is_pod_ready};
use crate::runtime::{self, Queue};

/// Registration of the StatefulSet controller.
pub const DESCRIPTOR: ControllerDescriptor =
    ControllerDescriptor { name: "statefulset-controller", aliases: &["statefulset"], enabled_by_default: true, start };


struct Ctx {
    client: kube::Client,
    pods: Arc<Informer<Pod>>,
    revisions: Arc<Informer<ControllerRevision>>,
    recorder: Recorder,
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let sets = ctx.informers.informer::<StatefulSet>();
    let pods = ctx.informers.informer::<Pod>();
    let revisions = ctx.informers.informer::<ControllerRevision>();
    let (queue, rx) = Queue::<StatefulSet>::new("statefulset", &ctx.metrics);
    sets.add_handler(enqueue_self(queue.clone()));
    pods.add_handler(enqueue_owner::<StatefulSet, Pod>(queue.clone()));
    revisions.add_handler(enqueue_owner::<StatefulSet, ControllerRevision>(queue.clone()));
    let c = Arc::new(Ctx { client: ctx.client.clone(), pods, revisions, recorder: ctx.recorder("statefulset-controller") });
    Ok(Box::pin(runtime::run("statefulset", queue, rx, sets.store(), ctx.options.concurrent_statefulset_syncs, c, reconcile)))
}

fn ns(set: &StatefulSet) -> String {
    set.metadata.namespace.clone().unwrap_or_default()
}

fn name(set: &StatefulSet) -> String {
    set.metadata.name.clone().unwrap_or_default()
}

async fn reconcile(set: Arc<StatefulSet>, ctx: Arc<Ctx>) -> Result<Action> {
    let pods = claim_pods(&set, &ctx).await?;
    let revs: Vec<ControllerRevision> = ctx.revisions.controlled_by(set.metadata.uid.as_deref().unwrap_or("")).iter().map(|r| (**r).clone()).collect();
    let (current, update, collision) = revisions::current_and_update(&ctx.client, &set, &revs).await?;
    if set.metadata.deletion_timestamp.is_none() {
        let input = plan_input(&set, &pods, &update);
        for step in plan::plan(&input) {
            execute(&ctx, &set, &current, &update, step).await?;
        }
    }
    let status = status_of(&set, &pods, &current, &update, collision);
    write_status(&ctx, &set, status).await?;
    revisions::truncate(&ctx.client, &set, &revs, &pods, &[&current, &update]).await?;
    Ok(requeue_for_availability(&set, &pods))
}

async fn claim_pods(set: &StatefulSet, ctx: &Ctx) -> Result<Vec<Arc<Pod>>> {
    let namespace = ns(set);
    let uid = set.metadata.uid.clone().unwrap_or_default();
    let spec = set.spec.as_ref().ok_or_else(|| Error::Invalid("statefulset without spec".into()))?;
    let sel = selector(&spec.selector)?;
    let set_name = name(set);
    let mut candidates = ctx.pods.controlled_by(&uid);
    candidates.extend(ctx.pods.orphans_in(&namespace));
    let owner = Owner { uid: &uid, namespace: &namespace, deleting: set.metadata.deletion_timestamp.is_some() };
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let is_member = |p: &Pod| matches(&sel, &p.metadata) && p.metadata.name.as_deref().and_then(|n| ordinal_of(&set_name, n)).is_some();
    let sets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &namespace);
    let recheck = || async { recheck_owner(&sets, &set_name, &uid).await };
    claim(&api, &owner, &new_controller_ref(set), candidates, is_member, recheck).await
}

fn plan_input(set: &StatefulSet, pods: &[Arc<Pod>], update: &ControllerRevision) -> PlanInput {
    let spec = set.spec.clone().unwrap_or_default();
    let strategy = spec.update_strategy.unwrap_or_default();
    let rolling = strategy.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate";
    let partition = strategy.rolling_update.and_then(|r| r.partition).unwrap_or(0);
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let now = jiff::Timestamp::now();
    let set_name = name(set);
    let views = pods
        .iter()
        .filter_map(|p| {
            let ordinal = ordinal_of(&set_name, p.metadata.name.as_deref()?)?;
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
            Some(PodView {
                ordinal,
                name: p.metadata.name.clone().unwrap_or_default(),
                revision: p.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)).cloned().unwrap_or_default(),
                finished: phase == "Failed" || phase == "Succeeded",
                terminating: p.metadata.deletion_timestamp.is_some(),
                running_ready: phase == "Running" && is_pod_ready(p) && is_pod_available(p, min_ready, now),
                identity_ok: identity_matches(set, p, ordinal) && storage_matches(set, p, ordinal),
            })
        })
        .collect();
    PlanInput {
        start: start_ordinal(set),
        replicas: replicas(set),
        parallel: spec.pod_management_policy.as_deref() == Some("Parallel"),
        rolling,
        partition,
        current_replicas: set.status.as_ref().and_then(|s| s.current_replicas).unwrap_or(0),
        update_revision: update.metadata.name.clone().unwrap_or_default(),
        pods: views,
    }
}

async fn execute(ctx: &Ctx, set: &StatefulSet, current: &ControllerRevision, update: &ControllerRevision, step: Step) -> Result<()> {
    match step {
        Step::Create { ordinal, update_revision } => {
            let rev = if update_revision { update } else { current };
            create_pod(ctx, set, rev, ordinal).await
        }
        Step::Delete(pod) => delete_pod(ctx, set, &pod).await,
        Step::FixIdentity(ordinal) => fix_identity(ctx, set, ordinal).await,
    }
}

fn set_ref(set: &StatefulSet) -> ObjectReference {
    reference(set)
}

/// The pod for `ordinal` at revision `rev` (upstream `newVersionedStatefulSetPod`).
pub fn new_pod(set: &StatefulSet, rev: &ControllerRevision, ordinal: i32) -> Pod {
    let template = crate::controllers::history::template_of(rev).unwrap_or_else(|| set.spec.clone().unwrap_or_default().template);
    let mut pod = pod_from_template(&template, &ns(set), &name(set), Some(&new_controller_ref(set)));
    pod.metadata.generate_name = None;
    update_identity(set, &mut pod, ordinal);
    update_storage(set, &mut pod, ordinal);
    let labels = pod.metadata.labels.get_or_insert_with(Default::default);
    labels.insert(REVISION_HASH_LABEL.into(), rev.metadata.name.clone().unwrap_or_default());
    pod
}

async fn create_pod(ctx: &Ctx, set: &StatefulSet, rev: &ControllerRevision, ordinal: i32) -> Result<()> {
    let pod = new_pod(set, rev, ordinal);
    let pname = pod_name(&name(set), ordinal);
    create_claims(ctx, set, ordinal, &pname).await?;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns(set));
    match api.create(&PostParams::default(), &pod).await {
        Ok(_) => {
            ctx.recorder.normal(&set_ref(set), "SuccessfulCreate", format!("create Pod {pname} in StatefulSet {} successful", name(set)));
            Ok(())
        }
        Err(e) => {
            let e = Error::from(e);
            if e.is_already_exists() {
                return Ok(());
            }
            ctx.recorder.warning(&set_ref(set), "FailedCreate", format!("create Pod {pname} in StatefulSet {} failed error: {e}", name(set)));
            Err(e)
        }
    }
}

async fn create_claims(ctx: &Ctx, set: &StatefulSet, ordinal: i32, pod: &str) -> Result<()> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns(set));
    let delete_with_set = set
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
        .and_then(|p| p.when_deleted.as_deref())
        == Some("Delete");
    for (_, mut claim) in claims_for(set, ordinal) {
        let cname = claim.metadata.name.clone().unwrap_or_default();
        if api.get_opt(&cname).await?.is_some() {
            continue;
        }
        if delete_with_set {
            let mut r = new_controller_ref(set);
            r.controller = None;
            claim.metadata.owner_references = Some(vec![r]);
        }
        match api.create(&PostParams::default(), &claim).await {
            Ok(_) => ctx.recorder.normal(
                &set_ref(set),
                "SuccessfulCreate",
                format!("create Claim {cname} Pod {pod} in StatefulSet {} success", name(set)),
            ),
            Err(e) => {
                let e = Error::from(e);
                if !e.is_already_exists() {
                    ctx.recorder.warning(
                        &set_ref(set),
                        "FailedCreate",
                        format!("create Claim {cname} for Pod {pod} in StatefulSet {} failed error: {e}", name(set)),
                    );
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

async fn delete_pod(ctx: &Ctx, set: &StatefulSet, pod: &str) -> Result<()> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns(set));
    match api.delete(pod, &DeleteParams::default()).await {
        Ok(_) => {
            ctx.recorder.normal(&set_ref(set), "SuccessfulDelete", format!("delete Pod {pod} in StatefulSet {} successful", name(set)));
            Ok(())
        }
        Err(e) => {
            let e = Error::from(e);
            if e.is_not_found() {
                return Ok(());
            }
            ctx.recorder.warning(&set_ref(set), "FailedDelete", format!("delete Pod {pod} in StatefulSet {} failed error: {e}", name(set)));
            Err(e)
        }
    }
}

async fn fix_identity(ctx: &Ctx, set: &StatefulSet, ordinal: i32) -> Result<()> {
    let pname = pod_name(&name(set), ordinal);
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns(set));
    let Some(mut pod) = api.get_opt(&pname).await? else { return Ok(()) };
    update_identity(set, &mut pod, ordinal);
    let labels = pod.metadata.labels.clone();
    let spec = pod.spec.as_ref();
    let patch = json!({
        "metadata": {"labels": labels},
        "spec": {"hostname": spec.and_then(|s| s.hostname.clone()), "subdomain": spec.and_then(|s| s.subdomain.clone())},
    });
    match api.patch(&pname, &PatchParams::default(), &Patch::Merge(patch)).await {
        Ok(_) => {
            ctx.recorder.normal(&set_ref(set), "SuccessfulUpdate", format!("update Pod {pname} in StatefulSet {} successful", name(set)));
            Ok(())
        }
        // Some identity fields are immutable on a running pod: replace the pod instead.
        Err(kube::Error::Api(e)) if e.code == 422 => delete_pod(ctx, set, &pname).await,
        Err(e) => Err(e.into()),
    }
}

fn status_of(set: &StatefulSet, pods: &[Arc<Pod>], current: &ControllerRevision, update: &ControllerRevision, collision: Option<i32>) -> StatefulSetStatus {
    let min_ready = set.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let now = jiff::Timestamp::now();
    let rev_of = |p: &Pod| p.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)).cloned();
    let (cur, upd) = (current.metadata.name.clone(), update.metadata.name.clone());
    let live: Vec<&Arc<Pod>> = pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
    let count = |f: &dyn Fn(&Pod) -> bool| live.iter().filter(|p| f(p)).count() as i32;
    let mut status = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        replicas: live.len() as i32,
        ready_replicas: Some(count(&|p| is_pod_ready(p))),
        available_replicas: Some(count(&|p| is_pod_available(p, min_ready, now))),
        current_replicas: Some(count(&|p| rev_of(p) == cur)),
        updated_replicas: Some(count(&|p| rev_of(p) == upd)),
        current_revision: cur,
        update_revision: upd.clone(),
        collision_count: collision,
        conditions: set.status.as_ref().and_then(|s| s.conditions.clone()),
    };
    let rolling = set.spec.as_ref().and_then(|s| s.update_strategy.as_ref()).and_then(|u| u.type_.as_deref()).unwrap_or("RollingUpdate") == "RollingUpdate";
    let target = replicas(set);
    if rolling && status.updated_replicas == Some(target) && status.ready_replicas == Some(target) && status.replicas == target {
        status.current_replicas = status.updated_replicas;
        status.current_revision = upd;
    }
    status
}

async fn write_status(ctx: &Ctx, set: &StatefulSet, status: StatefulSetStatus) -> Result<()> {
    if set.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ns(set));
    match api.patch_status(&name(set), &PatchParams::default(), &Patch::Merge(json!({"status": status}))).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = Error::from(e);
            if e.is_not_found() { Ok(()) } else { Err(e) }
        }
    }
}

fn requeue_for_availability(set: &StatefulSet, pods: &[Arc<Pod>]) -> Action {
    let min_ready = set.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let now = jiff::Timestamp::now();
    let wait = pods.iter().filter_map(|p| crate::pod_util::seconds_until_available(p, min_ready, now)).min();
    match wait {
        Some(s) => Action::requeue(std::time::Duration::from_secs(s.max(1) as u64)),
        None => Action::await_change(),
    }
}
