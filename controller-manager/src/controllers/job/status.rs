//! Job status bookkeeping: finished-pod accounting through `uncountedTerminatedPods`, the
//! terminal conditions, and writing the status subresource.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::logic::{format_indexes, parse_indexes, FailureReason};
use super::{COMPLETION_INDEX, TRACKING_FINALIZER};
use crate::errors::{Error, Result};
use crate::events::{reference, Recorder};
use crate::pod_util::{is_pod_active, is_pod_ready};

/// Where a sync leaves the Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still working.
    Running,
    /// Success criteria met.
    Succeeded,
    /// Failed for this reason.
    Failed(FailureReason),
}

/// Counters plus the finished pods not yet in them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counted {
    /// `status.succeeded`.
    pub succeeded: i32,
    /// `status.failed`.
    pub failed: i32,
    /// UIDs of succeeded pods not yet counted.
    pub uncounted_succeeded: BTreeSet<String>,
    /// UIDs of failed pods not yet counted.
    pub uncounted_failed: BTreeSet<String>,
}

/// Pods newly found finished in one sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fresh {
    /// Newly succeeded.
    pub succeeded: usize,
    /// Newly failed.
    pub failed: usize,
}

fn phase(p: &Pod) -> &str {
    p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

fn has_finalizer(p: &Pod) -> bool {
    p.metadata.finalizers.iter().flatten().any(|f| f == TRACKING_FINALIZER)
}

impl Counted {
    /// The Job's current counts.
    pub fn from_status(job: &Job) -> Counted {
        let s = job.status.clone().unwrap_or_default();
        let u = s.uncounted_terminated_pods.unwrap_or_default();
        Counted {
            succeeded: s.succeeded.unwrap_or(0),
            failed: s.failed.unwrap_or(0),
            uncounted_succeeded: u.succeeded.unwrap_or_default().into_iter().collect(),
            uncounted_failed: u.failed.unwrap_or_default().into_iter().collect(),
        }
    }

    /// Records finished pods that still carry the finalizer (a terminating pod that did
    /// not succeed counts as failed, as upstream's `TerminatingOrFailed` replacement).
    pub fn add_finished(&mut self, pods: &[Arc<Pod>]) -> Fresh {
        let mut fresh = Fresh::default();
        for p in pods.iter().filter(|p| has_finalizer(p)) {
            let uid = p.metadata.uid.clone().unwrap_or_default();
            if self.uncounted_succeeded.contains(&uid) || self.uncounted_failed.contains(&uid) {
                continue;
            }
            if phase(p) == "Succeeded" {
                self.uncounted_succeeded.insert(uid);
                fresh.succeeded += 1;
            } else if phase(p) == "Failed" || p.metadata.deletion_timestamp.is_some() {
                self.uncounted_failed.insert(uid);
                fresh.failed += 1;
            }
        }
        fresh
    }

    /// Every uncounted UID.
    pub fn uncounted_uids(&self) -> BTreeSet<String> {
        self.uncounted_succeeded.union(&self.uncounted_failed).cloned().collect()
    }

    /// Moves the uncounted pods into the counters (their finalizers are gone).
    pub fn flush(&mut self) {
        self.succeeded += self.uncounted_succeeded.len() as i32;
        self.failed += self.uncounted_failed.len() as i32;
        self.uncounted_succeeded.clear();
        self.uncounted_failed.clear();
    }

    fn uncounted(&self) -> UncountedTerminatedPods {
        UncountedTerminatedPods {
            succeeded: Some(self.uncounted_succeeded.iter().cloned().collect()),
            failed: Some(self.uncounted_failed.iter().cloned().collect()),
        }
    }
}

fn condition<'a>(job: &'a Job, kinds: &[&str]) -> Option<&'a JobCondition> {
    job.status.as_ref()?.conditions.as_ref()?.iter().find(|c| kinds.contains(&c.type_.as_str()) && c.status == "True")
}

/// `Complete` or `Failed`, when the Job has finished.
pub fn finished_condition(job: &Job) -> Option<&str> {
    condition(job, &["Complete", "Failed"]).map(|c| c.type_.as_str())
}

/// `SuccessCriteriaMet` or `FailureTarget`, when the Job is finishing.
pub fn target_condition(job: &Job) -> Option<&str> {
    condition(job, &["SuccessCriteriaMet", "FailureTarget"]).map(|c| c.type_.as_str())
}

/// The reason of a `FailureTarget` condition.
pub fn target_reason(job: &Job) -> FailureReason {
    match condition(job, &["FailureTarget"]).and_then(|c| c.reason.as_deref()) {
        Some("DeadlineExceeded") => FailureReason::DeadlineExceeded,
        _ => FailureReason::BackoffLimitExceeded,
    }
}

/// `status.startTime`.
pub fn start_time(job: &Job) -> Option<Timestamp> {
    job.status.as_ref()?.start_time.as_ref().map(|t| t.0)
}

/// Completed indexes of an Indexed Job: the status ones plus succeeded pods' indexes.
pub fn completed_indexes(job: &Job, pods: &[Arc<Pod>]) -> BTreeSet<i32> {
    let mut set = job.status.as_ref().and_then(|s| s.completed_indexes.as_deref()).map(parse_indexes).unwrap_or_default();
    let total = job.spec.as_ref().and_then(|s| s.completions).unwrap_or(0);
    for p in pods.iter().filter(|p| phase(p) == "Succeeded") {
        let index = p.metadata.annotations.as_ref().and_then(|a| a.get(COMPLETION_INDEX)).and_then(|i| i.parse::<i32>().ok());
        set.extend(index.filter(|i| (0..total).contains(i)));
    }
    set
}

/// Writes the uncounted pods before their finalizers are removed.
pub async fn write_uncounted(client: &kube::Client, job: &Job, counted: &Counted) -> Result<()> {
    let api: Api<Job> = Api::namespaced(client.clone(), job.metadata.namespace.as_deref().unwrap_or(""));
    let mut status = json!({"uncountedTerminatedPods": counted.uncounted()});
    if start_time(job).is_none() {
        status["startTime"] = json!(Time(Timestamp::now()));
    }
    let patch = json!({"status": status});
    api.patch_status(job.metadata.name.as_deref().unwrap_or(""), &PatchParams::default(), &Patch::Merge(patch)).await?;
    Ok(())
}

fn set_condition(conditions: &mut Vec<JobCondition>, kind: &str, reason: &str, message: &str, now: Timestamp) -> bool {
    if conditions.iter().any(|c| c.type_ == kind && c.status == "True") {
        return false;
    }
    conditions.retain(|c| c.type_ != kind);
    conditions.push(JobCondition {
        type_: kind.into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    });
    true
}

/// Applies the outcome's conditions; returns the event to record, if a terminal condition
/// was just added.
fn apply_outcome(status: &mut JobStatus, outcome: Outcome, all_done: bool, now: Timestamp) -> Option<(bool, &'static str, &'static str)> {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let (target, last, reason, message) = match outcome {
        Outcome::Running => return None,
        Outcome::Succeeded => ("SuccessCriteriaMet", "Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
        Outcome::Failed(r) => ("FailureTarget", "Failed", r.reason(), r.message()),
    };
    set_condition(conditions, target, reason, message, now);
    if !all_done || !set_condition(conditions, last, reason, message, now) {
        return None;
    }
    if outcome == Outcome::Succeeded {
        status.completion_time = Some(Time(now));
        return Some((false, "Completed", "Job completed"));
    }
    Some((true, reason, message))
}

/// Writes the Job's status after a sync and records the terminal event.
#[allow(clippy::too_many_arguments)]
pub async fn write(client: &kube::Client, recorder: &Recorder, job: &Job, counted: &Counted, pods: &[Arc<Pod>], outcome: Outcome, all_done: bool, now: Timestamp) -> Result<()> {
    let old = job.status.clone().unwrap_or_default();
    let mut status = old.clone();
    let suspended = job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false);
    if status.start_time.is_none() && !suspended {
        status.start_time = Some(Time(now));
    }
    let active: Vec<&Arc<Pod>> = pods.iter().filter(|p| is_pod_active(p)).collect();
    status.active = Some(active.len() as i32).filter(|n| *n > 0);
    status.ready = Some(active.iter().filter(|p| is_pod_ready(p)).count() as i32);
    let terminating = pods.iter().filter(|p| p.metadata.deletion_timestamp.is_some() && !matches!(phase(p), "Succeeded" | "Failed")).count();
    status.terminating = Some(terminating as i32);
    status.succeeded = Some(counted.succeeded).filter(|n| *n > 0);
    status.failed = Some(counted.failed).filter(|n| *n > 0);
    status.uncounted_terminated_pods = Some(counted.uncounted());
    if job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed") {
        status.completed_indexes = Some(format_indexes(&completed_indexes(job, pods)));
    }
    let event = apply_outcome(&mut status, outcome, all_done && terminating == 0, now);
    if status == old {
        return Ok(());
    }
    let api: Api<Job> = Api::namespaced(client.clone(), job.metadata.namespace.as_deref().unwrap_or(""));
    let mut body = serde_json::to_value(&status).map_err(|e| Error::Invalid(e.to_string()))?;
    for field in ["active", "succeeded", "failed"] {
        if body.get(field).is_none() {
            body[field] = serde_json::Value::Null;
        }
    }
    match api.patch_status(job.metadata.name.as_deref().unwrap_or(""), &PatchParams::default(), &Patch::Merge(json!({"status": body}))).await {
        Ok(_) => {}
        Err(e) => {
            let e = Error::from(e);
            return if e.is_not_found() { Ok(()) } else { Err(e) };
        }
    }
    if let Some((warning, reason, message)) = event {
        let r = reference(job);
        if warning { recorder.warning(&r, reason, message) } else { recorder.normal(&r, reason, message) }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodStatus;

    fn pod(uid: &str, phase: &str, finalizer: bool) -> Arc<Pod> {
        let mut p = Pod { status: Some(PodStatus { phase: Some(phase.into()), ..Default::default() }), ..Default::default() };
        p.metadata.uid = Some(uid.into());
        if finalizer {
            p.metadata.finalizers = Some(vec![TRACKING_FINALIZER.into()]);
        }
        Arc::new(p)
    }

    #[test]
    fn counting_moves_through_uncounted() {
        let mut c = Counted { succeeded: 1, ..Default::default() };
        let pods = vec![pod("a", "Succeeded", true), pod("b", "Failed", true), pod("c", "Running", true), pod("d", "Succeeded", false)];
        assert_eq!(c.add_finished(&pods), Fresh { succeeded: 1, failed: 1 });
        assert_eq!(c.add_finished(&pods), Fresh::default(), "recorded once");
        assert_eq!(c.uncounted_uids().into_iter().collect::<Vec<_>>(), ["a", "b"]);
        c.flush();
        assert_eq!((c.succeeded, c.failed), (2, 1));
        assert!(c.uncounted_uids().is_empty());
    }

    #[test]
    fn conditions_in_two_steps() {
        let now: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let mut s = JobStatus::default();
        assert_eq!(apply_outcome(&mut s, Outcome::Succeeded, false, now), None);
        let types: Vec<_> = s.conditions.iter().flatten().map(|c| c.type_.clone()).collect();
        assert_eq!(types, ["SuccessCriteriaMet"]);
        assert_eq!(apply_outcome(&mut s, Outcome::Succeeded, true, now), Some((false, "Completed", "Job completed")));
        assert!(s.completion_time.is_some());
        assert_eq!(apply_outcome(&mut s, Outcome::Succeeded, true, now), None, "only once");
        let mut f = JobStatus::default();
        let ev = apply_outcome(&mut f, Outcome::Failed(FailureReason::BackoffLimitExceeded), true, now);
        assert_eq!(ev, Some((true, "BackoffLimitExceeded", "Job has reached the specified backoff limit")));
        let types: Vec<_> = f.conditions.iter().flatten().map(|c| c.type_.clone()).collect();
        assert_eq!(types, ["FailureTarget", "Failed"]);
    }
}
