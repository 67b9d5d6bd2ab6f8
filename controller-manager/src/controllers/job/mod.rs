//! The Job controller (upstream `pkg/controller/job`): runs pods until `completions` of
//! them succeed (or, without `completions`, until one succeeds and none run), at most
//! `parallelism` at a time, replacing failed pods after an exponential back-off until more
//! than `backoffLimit` failed or `activeDeadlineSeconds` passed.
//!
//! Pods are counted as upstream does since 1.26: each carries the
//! `batch.kubernetes.io/job-tracking` finalizer; a finished pod's UID is first recorded in
//! `status.uncountedTerminatedPods`, then its finalizer is removed, then it moves into the
//! `succeeded`/`failed` counters, so no pod is counted twice or lost. Terminal conditions
//! come in two steps as in 1.31+: `SuccessCriteriaMet`/`FailureTarget` first, then
//! `Complete`/`Failed` once no pod of the Job is still running or terminating.

pub mod logic;
mod status;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::json;

use self::logic::{backoff_remaining, complete, completions, failure, free_indexes, want_active, Progress};
use self::status::{Counted, Outcome};
use crate::context::ControllerContext;
use crate::controller_ref::{claim, new_controller_ref, recheck_owner, Owner};
use crate::controllers::workload::{changed, enqueue_owner, enqueue_self, matches, owner_name, selector};
use crate::controllers::{ControllerDescriptor, Running};
use crate::errors::{Error, Result};
use crate::events::{reference, Recorder};
use crate::expectations::Expectations;
use crate::informer::{Change, Informer};
use crate::pod_control::{pod_from_template, PodControl};
use crate::pod_util::{is_pod_active, is_pod_ready};
use crate::runtime::{self, key, Queue};

/// Registration of the Job controller.
pub const DESCRIPTOR: ControllerDescriptor = ControllerDescriptor { name: "job-controller", aliases: &["job"], enabled_by_default: true, start };

/// The finalizer that keeps a pod until the Job counted it.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// The annotation and label holding an Indexed Job pod's index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// Consecutive pod failures of a Job since its last success, and when the last was seen.
type BackoffStore = Mutex<HashMap<String, (u32, Timestamp)>>;

struct Ctx {
    client: kube::Client,
    pods: Arc<Informer<Pod>>,
    control: PodControl,
    recorder: Recorder,
    expectations: Arc<Expectations>,
    backoff: BackoffStore,
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let jobs = ctx.informers.informer::<Job>();
    let pods = ctx.informers.informer::<Pod>();
    let (queue, rx) = Queue::<Job>::new("job", &ctx.metrics);
    let expectations = Arc::new(Expectations::new());
    jobs.add_handler(enqueue_self(queue.clone()));
    pods.add_handler(observe_pods(expectations.clone()));
    pods.add_handler(enqueue_owner::<Job, Pod>(queue.clone()));
    pods.add_handler(release_orphans(ctx.client.clone(), jobs.clone()));
    let recorder = ctx.recorder("job-controller");
    let control = PodControl::new(ctx.client.clone(), recorder.clone());
    let c = Arc::new(Ctx { client: ctx.client.clone(), pods, control, recorder, expectations, backoff: Mutex::default() });
    Ok(Box::pin(runtime::run("job", queue, rx, jobs.store(), ctx.options.concurrent_job_syncs, c, reconcile)))
}

fn observe_pods(exp: Arc<Expectations>) -> impl Fn(&Change<Pod>) + Send + Sync + 'static {
    move |c: &Change<Pod>| {
        let pod = changed(c);
        let Some(owner) = owner_name::<Job>(&pod.metadata) else { return };
        let k = key(pod.metadata.namespace.as_deref(), &owner);
        match c {
            Change::Added(_) => exp.creation_observed(&k),
            Change::Deleted(_) => exp.deletion_observed(&k, &runtime::key_of(pod.as_ref())),
            Change::Updated { old, new } if old.metadata.deletion_timestamp.is_none() && new.metadata.deletion_timestamp.is_some() => {
                exp.deletion_observed(&k, &runtime::key_of(new.as_ref()))
            }
            Change::Updated { .. } => {}
        }
    }
}

/// Removes the tracking finalizer from pods whose Job is gone or that no Job controls any
/// more (upstream's orphan pod clean-up), so they can be deleted.
fn release_orphans(client: kube::Client, jobs: Arc<Informer<Job>>) -> impl Fn(&Change<Pod>) + Send + Sync + 'static {
    move |c: &Change<Pod>| {
        let pod = changed(c);
        if matches!(c, Change::Deleted(_)) || !pod.metadata.finalizers.iter().flatten().any(|f| f == TRACKING_FINALIZER) || !jobs.has_synced() {
            return;
        }
        if let Some(owner) = owner_name::<Job>(&pod.metadata) {
            let uid = crate::controller_ref::controller_of(&pod.metadata).map(|r| r.uid.clone());
            if jobs.get(pod.metadata.namespace.as_deref(), &owner).is_some_and(|j| j.metadata.uid == uid) {
                return;
            }
        }
        let api: Api<Pod> = Api::namespaced(client.clone(), pod.metadata.namespace.as_deref().unwrap_or(""));
        let rest: Vec<String> = pod.metadata.finalizers.iter().flatten().filter(|f| *f != TRACKING_FINALIZER).cloned().collect();
        let patch = json!({"metadata": {"finalizers": rest, "resourceVersion": pod.metadata.resource_version}});
        let name = pod.metadata.name.clone().unwrap_or_default();
        tokio::spawn(async move {
            if let Err(e) = api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await {
                tracing::debug!(pod = %name, error = %e, "releasing an orphaned job pod");
            }
        });
    }
}

fn job_key(job: &Job) -> String {
    runtime::key_of(job)
}

fn namespace(job: &Job) -> String {
    job.metadata.namespace.clone().unwrap_or_default()
}

fn name(job: &Job) -> String {
    job.metadata.name.clone().unwrap_or_default()
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action> {
    let pods = claim_pods(&job, &ctx).await?;
    if status::finished_condition(&job).is_some() {
        remove_finalizers(&ctx, &job, &pods, None).await?;
        return Ok(Action::await_change());
    }
    if !ctx.expectations.satisfied(&job_key(&job)) {
        return Ok(Action::await_change());
    }
    let now = Timestamp::now();
    let counted = count_pods(&ctx, &job, &pods, now).await?;
    let progress = progress(&job, &counted, &pods);
    let outcome = decide(&job, progress, now);
    let mut requeue = requeue_for_deadline(&job, now);
    match outcome {
        Outcome::Running => requeue = requeue.min(manage(&ctx, &job, &pods, progress, now).await?),
        Outcome::Failed(_) | Outcome::Succeeded => delete_active(&ctx, &job, &pods).await?,
    }
    let active_left = pods.iter().any(|p| is_pod_active(p));
    status::write(&ctx.client, &ctx.recorder, &job, &counted, &pods, outcome, !active_left, now).await?;
    Ok(if requeue == Duration::MAX { Action::await_change() } else { Action::requeue(requeue) })
}

async fn claim_pods(job: &Job, ctx: &Ctx) -> Result<Vec<Arc<Pod>>> {
    let ns = namespace(job);
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let spec = job.spec.as_ref().ok_or_else(|| Error::Invalid("job without spec".into()))?;
    let sel = selector(spec.selector.as_ref().ok_or_else(|| Error::Invalid("job without selector".into()))?)?;
    let mut candidates = ctx.pods.controlled_by(&uid);
    candidates.extend(ctx.pods.orphans_in(&ns));
    let owner = Owner { uid: &uid, namespace: &ns, deleting: job.metadata.deletion_timestamp.is_some() };
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    let jname = name(job);
    let recheck = || async { recheck_owner(&jobs, &jname, &uid).await };
    claim(&api, &owner, &new_controller_ref(job), candidates, |p: &Pod| matches(&sel, &p.metadata), recheck).await
}

/// Records newly finished pods as uncounted, removes their finalizers, and returns the
/// counts with them moved into the counters.
async fn count_pods(ctx: &Ctx, job: &Job, pods: &[Arc<Pod>], now: Timestamp) -> Result<Counted> {
    let mut counted = Counted::from_status(job);
    let fresh = counted.add_finished(pods);
    if fresh.failed > 0 || fresh.succeeded > 0 {
        record_backoff(ctx, job, fresh.failed, fresh.succeeded > 0, now);
        status::write_uncounted(&ctx.client, job, &counted).await?;
    }
    remove_finalizers(ctx, job, pods, Some(&counted.uncounted_uids())).await?;
    counted.flush();
    Ok(counted)
}

fn record_backoff(ctx: &Ctx, job: &Job, failed: usize, succeeded: bool, now: Timestamp) {
    let mut store = ctx.backoff.lock().expect("backoff lock");
    let entry = store.entry(job_key(job)).or_insert((0, now));
    if succeeded {
        *entry = (0, now);
    }
    if failed > 0 {
        *entry = (entry.0 + failed as u32, now);
    }
}

/// Removes the tracking finalizer from pods whose UIDs are given (all finished or
/// terminating pods when `None`, for a finished Job).
async fn remove_finalizers(ctx: &Ctx, job: &Job, pods: &[Arc<Pod>], uids: Option<&BTreeSet<String>>) -> Result<()> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace(job));
    for pod in pods {
        let finalizers: Vec<String> = pod.metadata.finalizers.clone().unwrap_or_default();
        if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
            continue;
        }
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let selected = match uids {
            Some(set) => set.contains(&uid),
            None => !is_pod_active(pod),
        };
        if !selected {
            continue;
        }
        let rest: Vec<String> = finalizers.into_iter().filter(|f| f != TRACKING_FINALIZER).collect();
        let patch = json!({"metadata": {"finalizers": rest, "resourceVersion": pod.metadata.resource_version}});
        let pname = pod.metadata.name.clone().unwrap_or_default();
        if let Err(e) = api.patch(&pname, &PatchParams::default(), &Patch::Merge(patch)).await {
            let e = Error::from(e);
            if !e.is_not_found() {
                return Err(e);
            }
        }
    }
    Ok(())
}

fn progress(job: &Job, counted: &Counted, pods: &[Arc<Pod>]) -> Progress {
    let indexed = job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed");
    let succeeded = if indexed { status::completed_indexes(job, pods).len() as i32 } else { counted.succeeded };
    Progress { succeeded, failed: counted.failed, active: pods.iter().filter(|p| is_pod_active(p)).count() as i32 }
}

fn decide(job: &Job, p: Progress, now: Timestamp) -> Outcome {
    if let Some(kind) = status::target_condition(job) {
        return if kind == "SuccessCriteriaMet" { Outcome::Succeeded } else { Outcome::Failed(status::target_reason(job)) };
    }
    let active_for = status::start_time(job).map(|s| Duration::from_secs((now.as_second() - s.as_second()).max(0) as u64));
    if let Some(reason) = failure(job, p, active_for) {
        return Outcome::Failed(reason);
    }
    if complete(job, p) {
        return Outcome::Succeeded;
    }
    Outcome::Running
}

fn requeue_for_deadline(job: &Job, now: Timestamp) -> Duration {
    let deadline = job.spec.as_ref().and_then(|s| s.active_deadline_seconds);
    match (deadline, status::start_time(job)) {
        (Some(d), Some(start)) => Duration::from_secs((start.as_second() + d - now.as_second()).max(1) as u64),
        (Some(d), None) => Duration::from_secs(d.max(1) as u64),
        _ => Duration::MAX,
    }
}

/// Creates or deletes pods towards `want_active`; returns when to look again.
async fn manage(ctx: &Ctx, job: &Job, pods: &[Arc<Pod>], p: Progress, now: Timestamp) -> Result<Duration> {
    let want = want_active(job, p);
    let active: Vec<&Arc<Pod>> = pods.iter().filter(|p| is_pod_active(p)).collect();
    if p.active > want {
        let mut extra = active.clone();
        extra.sort_by_key(|p| (is_pod_ready(p), std::cmp::Reverse(p.metadata.creation_timestamp.as_ref().map(|t| t.0))));
        let doomed: Vec<&Arc<Pod>> = extra.into_iter().take((p.active - want) as usize).collect();
        delete_pods(ctx, job, &doomed).await?;
        return Ok(Duration::MAX);
    }
    let (failures, last) = ctx.backoff.lock().expect("backoff lock").get(&job_key(job)).copied().unwrap_or((0, now));
    let since = Duration::from_secs((now.as_second() - last.as_second()).max(0) as u64);
    let wait = backoff_remaining(failures, since);
    if p.active < want && !wait.is_zero() {
        return Ok(wait);
    }
    let indexes = new_pod_indexes(job, pods, (want - p.active).max(0) as usize);
    create_pods(ctx, job, &indexes).await?;
    Ok(Duration::MAX)
}

/// For each pod to create, its completion index (Indexed Jobs) or `None`.
fn new_pod_indexes(job: &Job, pods: &[Arc<Pod>], count: usize) -> Vec<Option<i32>> {
    let indexed = job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed");
    if !indexed {
        return vec![None; count];
    }
    let index_of = |p: &Pod| p.metadata.annotations.as_ref()?.get(COMPLETION_INDEX)?.parse::<i32>().ok();
    let succeeded = status::completed_indexes(job, pods);
    let active: BTreeSet<i32> = pods.iter().filter(|p| is_pod_active(p)).filter_map(|p| index_of(p)).collect();
    free_indexes(completions(job).unwrap_or(0), &succeeded, &active, count).into_iter().map(Some).collect()
}

/// The template of a new pod: the tracking finalizer, and for an index its annotation,
/// label and hostname.
pub fn pod_template(job: &Job, index: Option<i32>) -> PodTemplateSpec {
    let mut t = job.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let meta = t.metadata.get_or_insert_with(Default::default);
    meta.finalizers.get_or_insert_with(Vec::new).push(TRACKING_FINALIZER.into());
    if let Some(i) = index {
        meta.annotations.get_or_insert_with(BTreeMap::new).insert(COMPLETION_INDEX.into(), i.to_string());
        meta.labels.get_or_insert_with(BTreeMap::new).insert(COMPLETION_INDEX.into(), i.to_string());
        let spec = t.spec.get_or_insert_with(Default::default);
        if spec.hostname.is_none() {
            spec.hostname = Some(format!("{}-{i}", name(job)));
        }
    }
    t
}

async fn create_pods(ctx: &Ctx, job: &Job, indexes: &[Option<i32>]) -> Result<()> {
    if indexes.is_empty() {
        return Ok(());
    }
    let k = job_key(job);
    ctx.expectations.expect_creations(&k, indexes.len());
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace(job));
    let mut errors = Vec::new();
    for index in indexes {
        let template = pod_template(job, *index);
        let result = match index {
            None => ctx.control.create_pod(&namespace(job), &template, &reference(job), &new_controller_ref(job)).await.map(|_| ()),
            Some(i) => create_indexed(ctx, &api, job, &template, *i).await,
        };
        if let Err(e) = result {
            ctx.expectations.creation_observed(&k);
            errors.push(e);
        }
    }
    crate::errors::aggregate(errors)
}

async fn create_indexed(ctx: &Ctx, api: &Api<Pod>, job: &Job, template: &PodTemplateSpec, index: i32) -> Result<()> {
    let mut pod = pod_from_template(template, &namespace(job), &name(job), Some(&new_controller_ref(job)));
    pod.metadata.generate_name = Some(format!("{}-{index}-", name(job)));
    match api.create(&PostParams::default(), &pod).await {
        Ok(created) => {
            let pname = created.metadata.name.unwrap_or_default();
            ctx.recorder.normal(&reference(job), "SuccessfulCreate", format!("Created pod: {pname}"));
            Ok(())
        }
        Err(e) => {
            let e = Error::from(e);
            ctx.recorder.warning(&reference(job), "FailedCreate", format!("Error creating: {}", crate::pod_control::api_message(&e)));
            Err(e)
        }
    }
}

async fn delete_pods(ctx: &Ctx, job: &Job, pods: &[&Arc<Pod>]) -> Result<()> {
    let ns = namespace(job);
    let k = job_key(job);
    ctx.expectations.expect_deletions(&k, pods.iter().map(|p| runtime::key_of(p.as_ref())));
    let mut errors = Vec::new();
    for pod in pods {
        let pname = pod.metadata.name.clone().unwrap_or_default();
        if let Err(e) = ctx.control.delete_pod(&ns, &pname, &reference(job)).await {
            ctx.expectations.deletion_observed(&k, &runtime::key_of(pod.as_ref()));
            if !e.is_not_found() {
                errors.push(e);
            }
        }
    }
    crate::errors::aggregate(errors)
}

async fn delete_active(ctx: &Ctx, job: &Job, pods: &[Arc<Pod>]) -> Result<()> {
    let active: Vec<&Arc<Pod>> = pods.iter().filter(|p| is_pod_active(p)).collect();
    if active.is_empty() {
        return Ok(());
    }
    delete_pods(ctx, job, &active).await
}
