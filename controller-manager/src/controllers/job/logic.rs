//! The arithmetic of the Job controller (upstream `pkg/controller/job`): how many pods
//! should be active, when the Job has succeeded or failed, and how long a failed pod's
//! replacement waits (exponential back-off from 10 s, doubling, capped at 10 min).

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;

/// The first back-off after a pod failure.
pub const POD_FAILURE_BACKOFF: Duration = Duration::from_secs(10);
/// The longest back-off.
pub const MAX_POD_FAILURE_BACKOFF: Duration = Duration::from_secs(600);
/// Upstream's default `backoffLimit`.
pub const DEFAULT_BACKOFF_LIMIT: i32 = 6;

/// The back-off before creating pods again after `failures` consecutive pod failures, the
/// last one `since_last_failure` ago; zero when it already elapsed.
pub fn backoff_remaining(failures: u32, since_last_failure: Duration) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let exp = (failures - 1).min(16);
    let delay = POD_FAILURE_BACKOFF.saturating_mul(1 << exp).min(MAX_POD_FAILURE_BACKOFF);
    delay.saturating_sub(since_last_failure)
}

/// The Job's numbers relevant to a decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Succeeded pods counted so far (status plus newly finished).
    pub succeeded: i32,
    /// Failed pods counted so far.
    pub failed: i32,
    /// Pods running or pending, not terminating.
    pub active: i32,
}

/// Why a Job fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// More pods failed than `backoffLimit` allows.
    BackoffLimitExceeded,
    /// `activeDeadlineSeconds` passed since the start.
    DeadlineExceeded,
}

impl FailureReason {
    /// The condition reason.
    pub fn reason(self) -> &'static str {
        match self {
            FailureReason::BackoffLimitExceeded => "BackoffLimitExceeded",
            FailureReason::DeadlineExceeded => "DeadlineExceeded",
        }
    }

    /// The condition message (and event message), as upstream.
    pub fn message(self) -> &'static str {
        match self {
            FailureReason::BackoffLimitExceeded => "Job has reached the specified backoff limit",
            FailureReason::DeadlineExceeded => "Job was active longer than specified deadline",
        }
    }
}

fn spec_i32(job: &Job, f: impl Fn(&k8s_openapi::api::batch::v1::JobSpec) -> Option<i32>) -> Option<i32> {
    job.spec.as_ref().and_then(f)
}

/// `spec.parallelism` (default 1).
pub fn parallelism(job: &Job) -> i32 {
    spec_i32(job, |s| s.parallelism).unwrap_or(1).max(0)
}

/// `spec.completions` (`None`: a work queue, done when any pod succeeds).
pub fn completions(job: &Job) -> Option<i32> {
    spec_i32(job, |s| s.completions)
}

/// Whether the Job has failed, given its progress and how long it has been active.
pub fn failure(job: &Job, p: Progress, active_for: Option<Duration>) -> Option<FailureReason> {
    let limit = spec_i32(job, |s| s.backoff_limit).unwrap_or(DEFAULT_BACKOFF_LIMIT);
    if p.failed > limit {
        return Some(FailureReason::BackoffLimitExceeded);
    }
    let deadline = job.spec.as_ref().and_then(|s| s.active_deadline_seconds);
    match (deadline, active_for) {
        (Some(d), Some(a)) if a.as_secs() as i64 >= d => Some(FailureReason::DeadlineExceeded),
        _ => None,
    }
}

/// Whether the Job met its success criteria (enough completions, or for a work queue any
/// success with nothing active).
pub fn complete(job: &Job, p: Progress) -> bool {
    match completions(job) {
        Some(c) => p.succeeded >= c,
        None => p.succeeded > 0 && p.active == 0,
    }
}

/// How many pods should be active now (upstream `manageJob`'s `wantActive`).
pub fn want_active(job: &Job, p: Progress) -> i32 {
    if job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false) {
        return 0;
    }
    let par = parallelism(job);
    match completions(job) {
        Some(c) => par.min((c - p.succeeded).max(0)),
        None if p.succeeded > 0 => p.active.min(par),
        None => par,
    }
}

/// Indexes in `[0, completions)` neither succeeded nor held by an active pod, lowest first.
pub fn free_indexes(completions: i32, succeeded: &std::collections::BTreeSet<i32>, active: &std::collections::BTreeSet<i32>, want: usize) -> Vec<i32> {
    (0..completions.max(0)).filter(|i| !succeeded.contains(i) && !active.contains(i)).take(want).collect()
}

/// Compresses succeeded indexes into upstream's `completedIndexes` form (`1,3-5,7`).
pub fn format_indexes(indexes: &std::collections::BTreeSet<i32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = indexes.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap_or(end);
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
    }
    parts.join(",")
}

/// Parses `completedIndexes` (`1,3-5`).
pub fn parse_indexes(s: &str) -> std::collections::BTreeSet<i32> {
    let mut out = std::collections::BTreeSet::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<i32>().ok()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::JobSpec;

    fn job(completions: Option<i32>, parallelism: i32) -> Job {
        Job {
            spec: Some(JobSpec { completions, parallelism: Some(parallelism), backoff_limit: Some(2), active_deadline_seconds: Some(60), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_remaining(0, Duration::ZERO), Duration::ZERO);
        assert_eq!(backoff_remaining(1, Duration::ZERO), Duration::from_secs(10));
        assert_eq!(backoff_remaining(3, Duration::from_secs(15)), Duration::from_secs(25));
        assert_eq!(backoff_remaining(20, Duration::ZERO), MAX_POD_FAILURE_BACKOFF);
        assert_eq!(backoff_remaining(2, Duration::from_secs(30)), Duration::ZERO);
    }

    #[test]
    fn active_counts() {
        let j = job(Some(5), 2);
        assert_eq!(want_active(&j, Progress { succeeded: 0, failed: 0, active: 0 }), 2);
        assert_eq!(want_active(&j, Progress { succeeded: 4, failed: 0, active: 1 }), 1);
        assert_eq!(want_active(&j, Progress { succeeded: 5, failed: 0, active: 0 }), 0);
        let q = job(None, 3);
        assert_eq!(want_active(&q, Progress::default()), 3);
        assert_eq!(want_active(&q, Progress { succeeded: 1, failed: 0, active: 2 }), 2);
    }

    #[test]
    fn completion_and_failure() {
        let j = job(Some(5), 2);
        assert!(!complete(&j, Progress { succeeded: 4, ..Default::default() }));
        assert!(complete(&j, Progress { succeeded: 5, ..Default::default() }));
        assert!(complete(&job(None, 2), Progress { succeeded: 1, failed: 0, active: 0 }));
        assert!(!complete(&job(None, 2), Progress { succeeded: 1, failed: 0, active: 1 }));
        assert_eq!(failure(&j, Progress { failed: 3, ..Default::default() }, None), Some(FailureReason::BackoffLimitExceeded));
        assert_eq!(failure(&j, Progress { failed: 2, ..Default::default() }, Some(Duration::from_secs(10))), None);
        assert_eq!(failure(&j, Progress::default(), Some(Duration::from_secs(60))), Some(FailureReason::DeadlineExceeded));
    }

    #[test]
    fn indexes() {
        let set = parse_indexes("1,3-5,7");
        assert_eq!(set.iter().copied().collect::<Vec<_>>(), [1, 3, 4, 5, 7]);
        assert_eq!(format_indexes(&set), "1,3-5,7");
        let active = [0].into_iter().collect();
        assert_eq!(free_indexes(8, &set, &active, 3), [2, 6]);
    }
}
