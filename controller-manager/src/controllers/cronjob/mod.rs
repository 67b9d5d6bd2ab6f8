//! The CronJob controller (upstream `pkg/controller/cronjob`, the v2 controller): creates
//! a Job for each due time of the schedule (in `spec.timeZone`), honouring
//! `concurrencyPolicy` (Allow, Forbid, Replace), `startingDeadlineSeconds` and `suspend`,
//! tracks its running Jobs in `status.active`, and keeps only the newest finished Jobs
//! (`successfulJobsHistoryLimit`, `failedJobsHistoryLimit`).
//!
//! The controller reads time from a [`Clock`]. In production it is the wall clock; tests
//! start the controller-manager with `--cronjob-clock-speed N` so that its clock runs N
//! times faster from the moment it starts (a `*/1 * * * *` schedule then fires every
//! 60/N seconds of real time).

pub mod logic;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use rkube_apimachinery::cron;
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::runtime::controller::Action;
use serde_json::json;

use self::logic::{earliest_time, finished_condition, is_finished, job_name, jobs_beyond_limit, most_recent_schedule_time, scheduled_timestamp, MAX_MISSED};
use crate::context::ControllerContext;
use crate::controller_ref::new_controller_ref;
use crate::controllers::workload::{enqueue_owner, enqueue_self};
use crate::controllers::{ControllerDescriptor, Running};
use crate::errors::{Error, Result};
use crate::events::{reference, Recorder};
use crate::informer::Informer;
use crate::runtime::{self, Queue};

/// Registration of the CronJob controller.
pub const DESCRIPTOR: ControllerDescriptor =
    ControllerDescriptor { name: "cronjob-controller", aliases: &["cronjob"], enabled_by_default: true, start };

/// The annotation holding a Job's scheduled time.
pub const SCHEDULED_TIMESTAMP_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// Slack added to requeues so the due time has surely passed.
const NEXT_SCHEDULE_DELTA: Duration = Duration::from_millis(100);

/// The controller's source of time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
    /// How long to sleep in real time for `d` to pass on this clock.
    fn real(&self, d: Duration) -> Duration;
}

/// The wall clock.
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn real(&self, d: Duration) -> Duration {
        d
    }
}

/// A clock starting at the wall time of its creation and running `speed` times faster.
pub struct ScaledClock {
    origin: Timestamp,
    started: Instant,
    speed: f64,
}

impl ScaledClock {
    /// A clock running `speed` times faster than real time from now on.
    pub fn new(speed: f64) -> Self {
        ScaledClock { origin: Timestamp::now(), started: Instant::now(), speed: speed.max(0.001) }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let elapsed = self.started.elapsed().mul_f64(self.speed);
        let span = jiff::SignedDuration::try_from(elapsed).unwrap_or(jiff::SignedDuration::ZERO);
        self.origin.checked_add(span).unwrap_or(self.origin)
    }

    fn real(&self, d: Duration) -> Duration {
        d.div_f64(self.speed)
    }
}

struct Ctx {
    client: kube::Client,
    jobs: Arc<Informer<Job>>,
    recorder: Recorder,
    clock: Arc<dyn Clock>,
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let cronjobs = ctx.informers.informer::<CronJob>();
    let jobs = ctx.informers.informer::<Job>();
    let (queue, rx) = Queue::<CronJob>::new("cronjob", &ctx.metrics);
    cronjobs.add_handler(enqueue_self(queue.clone()));
    jobs.add_handler(enqueue_owner::<CronJob, Job>(queue.clone()));
    let speed = ctx.options.cronjob_clock_speed;
    let clock: Arc<dyn Clock> = if (speed - 1.0).abs() < f64::EPSILON { Arc::new(WallClock) } else { Arc::new(ScaledClock::new(speed)) };
    let c = Arc::new(Ctx { client: ctx.client.clone(), jobs, recorder: ctx.recorder("cronjob-controller"), clock });
    Ok(Box::pin(runtime::run("cronjob", queue, rx, cronjobs.store(), ctx.options.concurrent_cron_job_syncs, c, reconcile)))
}

fn ns(cj: &CronJob) -> String {
    cj.metadata.namespace.clone().unwrap_or_default()
}

fn name(cj: &CronJob) -> String {
    cj.metadata.name.clone().unwrap_or_default()
}

async fn reconcile(cj: Arc<CronJob>, ctx: Arc<Ctx>) -> Result<Action> {
    let children: Vec<Arc<Job>> = ctx.jobs.controlled_by(cj.metadata.uid.as_deref().unwrap_or(""));
    let mut status = cj.status.clone().unwrap_or_default();
    track_active(&ctx, &cj, &children, &mut status);
    let action = schedule_next(&ctx, &cj, &children, &mut status).await;
    cleanup_finished(&ctx, &cj, &children).await?;
    write_status(&ctx, &cj, status).await?;
    action
}

fn job_ref(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        ..Default::default()
    }
}

/// Drops finished and vanished Jobs from `status.active`, adds running ones it lacks, and
/// advances `lastSuccessfulTime`.
fn track_active(ctx: &Ctx, cj: &CronJob, children: &[Arc<Job>], status: &mut CronJobStatus) {
    let active = status.active.take().unwrap_or_default();
    let mut kept = Vec::new();
    for r in active {
        match children.iter().find(|j| j.metadata.uid == r.uid) {
            None => ctx.recorder.normal(&reference(cj), "MissingJob", format!("Active job went missing: {}", r.name.clone().unwrap_or_default())),
            Some(j) if is_finished(j) => {
                let cond = finished_condition(j).unwrap_or_default();
                let jname = j.metadata.name.clone().unwrap_or_default();
                ctx.recorder.normal(&reference(cj), "SawCompletedJob", format!("Saw completed job: {jname}, condition: {cond}"));
            }
            Some(_) => kept.push(r),
        }
    }
    for j in children.iter().filter(|j| !is_finished(j)) {
        if !kept.iter().any(|r| r.uid == j.metadata.uid) && j.metadata.deletion_timestamp.is_none() {
            kept.push(job_ref(j));
        }
    }
    for j in children.iter().filter(|j| finished_condition(j) == Some("Complete")) {
        let done = j.status.as_ref().and_then(|s| s.completion_time.clone());
        if done.as_ref().is_some_and(|d| status.last_successful_time.as_ref().is_none_or(|l| l.0 < d.0)) {
            status.last_successful_time = done;
        }
    }
    status.active = (!kept.is_empty()).then_some(kept);
}

fn requeue_at(ctx: &Ctx, next: Option<Timestamp>, now: Timestamp) -> Action {
    match next {
        Some(t) => {
            let d = Duration::from_millis((t.as_millisecond() - now.as_millisecond()).max(0) as u64);
            Action::requeue(ctx.clock.real(d) + NEXT_SCHEDULE_DELTA)
        }
        None => Action::await_change(),
    }
}

/// Creates the Job due now, if any, and says when to look again.
async fn schedule_next(ctx: &Ctx, cj: &CronJob, children: &[Arc<Job>], status: &mut CronJobStatus) -> Result<Action> {
    let spec = cj.spec.clone().unwrap_or_default();
    if cj.metadata.deletion_timestamp.is_some() || spec.suspend.unwrap_or(false) {
        return Ok(Action::await_change());
    }
    let tz = match cron::time_zone(spec.time_zone.as_deref()) {
        Ok(tz) => tz,
        Err(e) => {
            let zone = spec.time_zone.clone().unwrap_or_default();
            ctx.recorder.warning(&reference(cj), "UnknownTimeZone", format!("invalid timeZone: {zone:?}: {e}"));
            return Ok(Action::await_change());
        }
    };
    let sched = match cron::parse(&spec.schedule) {
        Ok(s) => s,
        Err(e) => {
            ctx.recorder.warning(&reference(cj), "UnparseableSchedule", format!("unparseable schedule: {:?} : {e}", spec.schedule));
            return Ok(Action::await_change());
        }
    };
    let now = ctx.clock.now();
    let next = sched.next(now, &tz);
    let Some(due) = most_recent_schedule_time(earliest_time(cj, now), now, &sched, &tz) else {
        return Ok(requeue_at(ctx, next, now));
    };
    if due.missed > MAX_MISSED {
        ctx.recorder.warning(&reference(cj), "TooManyMissedTimes", format!("too many missed start times: {}. Set or decrease .spec.startingDeadlineSeconds or check clock skew", due.missed));
    }
    if let Some(deadline) = spec.starting_deadline_seconds {
        if due.time.as_second() + deadline < now.as_second() {
            let when = due.time.strftime("%a, %d %b %Y %H:%M:%S %z").to_string();
            ctx.recorder.warning(&reference(cj), "MissSchedule", format!("Missed scheduled time to start a job: {when}"));
            return Ok(requeue_at(ctx, next, now));
        }
    }
    start_job(ctx, cj, children, status, &tz, due.time).await?;
    Ok(requeue_at(ctx, next, now))
}

async fn start_job(ctx: &Ctx, cj: &CronJob, children: &[Arc<Job>], status: &mut CronJobStatus, tz: &TimeZone, due: Timestamp) -> Result<()> {
    let jname = job_name(&name(cj), due);
    let exists = children.iter().any(|j| j.metadata.name.as_deref() == Some(jname.as_str()));
    if exists || status.active.iter().flatten().any(|r| r.name.as_deref() == Some(jname.as_str())) {
        return Ok(());
    }
    let policy = cj.spec.as_ref().and_then(|s| s.concurrency_policy.clone()).unwrap_or_else(|| "Allow".into());
    let active = status.active.clone().unwrap_or_default();
    if policy == "Forbid" && !active.is_empty() {
        ctx.recorder.normal(&reference(cj), "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid");
        return Ok(());
    }
    if policy == "Replace" {
        for r in &active {
            delete_job(ctx, cj, r.name.as_deref().unwrap_or("")).await?;
        }
        status.active = None;
    }
    let job = job_from_template(cj, &jname, tz, due);
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns(cj));
    let created = match api.create(&PostParams::default(), &job).await {
        Ok(j) => j,
        Err(e) => {
            let e = Error::from(e);
            if e.is_already_exists() {
                return Ok(());
            }
            ctx.recorder.warning(&reference(cj), "FailedCreate", format!("Error creating job: {}", crate::pod_control::api_message(&e)));
            return Err(e);
        }
    };
    ctx.recorder.normal(&reference(cj), "SuccessfulCreate", format!("Created job {jname}"));
    status.active.get_or_insert_with(Vec::new).push(job_ref(&created));
    status.last_schedule_time = Some(Time(due));
    Ok(())
}

/// The Job for one scheduled time (upstream `getJobFromTemplate2`).
pub fn job_from_template(cj: &CronJob, job_name: &str, tz: &TimeZone, due: Timestamp) -> Job {
    let template = cj.spec.as_ref().map(|s| s.job_template.clone()).unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    let mut annotations = meta.annotations.unwrap_or_default();
    annotations.insert(SCHEDULED_TIMESTAMP_ANNOTATION.into(), scheduled_timestamp(due, tz));
    let mut job = Job { spec: template.spec, ..Default::default() };
    job.metadata.name = Some(job_name.into());
    job.metadata.namespace = cj.metadata.namespace.clone();
    job.metadata.labels = meta.labels;
    job.metadata.annotations = Some(annotations);
    job.metadata.owner_references = Some(vec![new_controller_ref(cj)]);
    job
}

async fn delete_job(ctx: &Ctx, cj: &CronJob, job: &str) -> Result<()> {
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns(cj));
    let params = DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..Default::default() };
    match api.delete(job, &params).await {
        Ok(_) => {
            ctx.recorder.normal(&reference(cj), "SuccessfulDelete", format!("Deleted job {job}"));
            Ok(())
        }
        Err(e) => {
            let e = Error::from(e);
            if e.is_not_found() {
                return Ok(());
            }
            ctx.recorder.warning(&reference(cj), "FailedDelete", format!("Deleted job: {}", crate::pod_control::api_message(&e)));
            Err(e)
        }
    }
}

/// Deletes the oldest finished Jobs beyond the history limits (defaults 3 and 1).
async fn cleanup_finished(ctx: &Ctx, cj: &CronJob, children: &[Arc<Job>]) -> Result<()> {
    let spec = cj.spec.clone().unwrap_or_default();
    let live: Vec<&Job> = children.iter().filter(|j| j.metadata.deletion_timestamp.is_none()).map(|j| j.as_ref()).collect();
    let of = |kind: &str| live.iter().copied().filter(|j| finished_condition(j) == Some(kind)).collect::<Vec<_>>();
    let mut doomed = jobs_beyond_limit(of("Complete"), spec.successful_jobs_history_limit.unwrap_or(3));
    doomed.extend(jobs_beyond_limit(of("Failed"), spec.failed_jobs_history_limit.unwrap_or(1)));
    for job in doomed {
        delete_job(ctx, cj, job.metadata.name.as_deref().unwrap_or("")).await?;
    }
    Ok(())
}

async fn write_status(ctx: &Ctx, cj: &CronJob, status: CronJobStatus) -> Result<()> {
    if cj.status.clone().unwrap_or_default() == status {
        return Ok(());
    }
    let api: Api<CronJob> = Api::namespaced(ctx.client.clone(), &ns(cj));
    let mut body = serde_json::to_value(&status).map_err(|e| Error::Invalid(e.to_string()))?;
    if body.get("active").is_none() {
        body["active"] = serde_json::Value::Null;
    }
    match api.patch_status(&name(cj), &PatchParams::default(), &Patch::Merge(json!({"status": body}))).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = Error::from(e);
            if e.is_not_found() { Ok(()) } else { Err(e) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_clock_runs_fast() {
        let c = ScaledClock::new(60.0);
        assert_eq!(c.real(Duration::from_secs(60)), Duration::from_secs(1));
        let t0 = c.now();
        std::thread::sleep(Duration::from_millis(50));
        let elapsed = c.now().as_millisecond() - t0.as_millisecond();
        assert!(elapsed >= 2900, "{elapsed}");
    }

    #[test]
    fn jobs_carry_template_and_annotation() {
        let mut cj = CronJob::default();
        cj.metadata.name = Some("hello".into());
        cj.metadata.namespace = Some("default".into());
        cj.metadata.uid = Some("u".into());
        let due: Timestamp = "2024-01-01T00:01:00Z".parse().unwrap();
        let j = job_from_template(&cj, &job_name("hello", due), &TimeZone::UTC, due);
        assert_eq!(j.metadata.name.as_deref(), Some("hello-28401121"));
        assert_eq!(j.metadata.annotations.unwrap()[SCHEDULED_TIMESTAMP_ANNOTATION], "2024-01-01T00:01:00Z");
        assert_eq!(j.metadata.owner_references.unwrap()[0].kind, "CronJob");
    }
}
