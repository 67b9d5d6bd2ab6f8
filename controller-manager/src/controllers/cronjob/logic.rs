//! The pure decisions of the CronJob controller (upstream `pkg/controller/cronjob`
//! `utils.go`): which scheduled time is due, how Jobs are named, which finished Jobs fall
//! out of the history limits.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job};

use rkube_apimachinery::cron::Schedule;

/// How many missed start times upstream tolerates before warning `TooManyMissedTimes`.
pub const MAX_MISSED: u64 = 100;

/// The scheduled time that is due now, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The most recent scheduled time not after `now`.
    pub time: Timestamp,
    /// How many scheduled times passed since the earliest time (this one included).
    pub missed: u64,
}

/// The time from which missed schedules are counted: the last schedule time or the
/// CronJob's creation, moved up to `now - startingDeadlineSeconds` when that is later.
pub fn earliest_time(cj: &CronJob, now: Timestamp) -> Timestamp {
    let status = cj.status.as_ref();
    let mut earliest = status
        .and_then(|s| s.last_schedule_time.as_ref())
        .or(cj.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
        .unwrap_or(now);
    if let Some(deadline) = cj.spec.as_ref().and_then(|s| s.starting_deadline_seconds) {
        let bound = Timestamp::from_second(now.as_second() - deadline).unwrap_or(now);
        if bound > earliest {
            earliest = bound;
        }
    }
    earliest
}

/// Upstream `mostRecentScheduleTime`: the latest activation in `(earliest, now]` and how
/// many activations that interval held.
pub fn most_recent_schedule_time(earliest: Timestamp, now: Timestamp, sched: &Schedule, tz: &TimeZone) -> Option<Due> {
    let t1 = sched.next(earliest, tz)?;
    if t1 > now {
        return None;
    }
    let Some(t2) = sched.next(t1, tz).filter(|t2| *t2 <= now) else {
        return Some(Due { time: t1, missed: 1 });
    };
    // Few activations: walk them exactly. Many: jump by the interval between the first two
    // (one short, as upstream), then walk; the count is then an estimate, used only for the
    // "too many missed" warning.
    let gap = (t2.as_second() - t1.as_second()).max(1);
    let estimate = ((now.as_second() - t1.as_second()) / gap) as u64 + 1;
    let (mut most_recent, mut missed) = (t2, 2);
    if estimate > 2 * MAX_MISSED {
        let jumped = t1.as_second() + (estimate as i64 - 2) * gap;
        most_recent = Timestamp::from_second(jumped).unwrap_or(t2).max(t2);
        missed = estimate - 1;
    }
    while let Some(t) = sched.next(most_recent, tz).filter(|t| *t <= now) {
        most_recent = t;
        missed += 1;
    }
    Some(Due { time: most_recent, missed })
}

/// The deterministic Job name for one scheduled time: `<cronjob>-<minutes since epoch>`.
pub fn job_name(cronjob: &str, scheduled: Timestamp) -> String {
    format!("{cronjob}-{}", scheduled.as_second().div_euclid(60))
}

/// The finished condition of a Job (`Complete` or `Failed` with status True).
pub fn finished_condition(job: &Job) -> Option<&str> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| c.type_.as_str())
}

/// Whether the Job finished, successfully or not.
pub fn is_finished(job: &Job) -> bool {
    finished_condition(job).is_some()
}

/// Of `finished` jobs, the oldest ones beyond `limit`, sorted by start time (jobs without
/// one first, names breaking ties), as upstream `removeOldestJobs`.
pub fn jobs_beyond_limit(mut finished: Vec<&Job>, limit: i32) -> Vec<&Job> {
    let limit = limit.max(0) as usize;
    if finished.len() <= limit {
        return Vec::new();
    }
    finished.sort_by(|a, b| {
        let ka = (a.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0), a.metadata.name.as_deref());
        let kb = (b.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0), b.metadata.name.as_deref());
        ka.cmp(&kb)
    });
    let excess = finished.len() - limit;
    finished.into_iter().take(excess).collect()
}

/// The scheduled-timestamp annotation value: the time in the CronJob's zone, RFC 3339.
pub fn scheduled_timestamp(scheduled: Timestamp, tz: &TimeZone) -> String {
    let zoned = scheduled.to_zoned(tz.clone());
    let offset = zoned.offset();
    if offset.seconds() == 0 {
        return scheduled.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

#[cfg(test)]
mod tests {
    use rkube_apimachinery::cron::parse;
    use super::*;
    use k8s_openapi::api::batch::v1::{CronJobSpec, CronJobStatus, JobCondition, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn due_times() {
        let s = parse("*/1 * * * *").unwrap();
        let tz = TimeZone::UTC;
        assert_eq!(most_recent_schedule_time(ts("2024-01-01T00:00:10Z"), ts("2024-01-01T00:00:50Z"), &s, &tz), None);
        let due = most_recent_schedule_time(ts("2024-01-01T00:00:10Z"), ts("2024-01-01T00:01:05Z"), &s, &tz).unwrap();
        assert_eq!(due, Due { time: ts("2024-01-01T00:01:00Z"), missed: 1 });
        let due = most_recent_schedule_time(ts("2024-01-01T00:00:00Z"), ts("2024-01-01T02:00:30Z"), &s, &tz).unwrap();
        assert_eq!(due, Due { time: ts("2024-01-01T02:00:00Z"), missed: 120 });
        let s = parse("0 9,17 * * *").unwrap();
        let due = most_recent_schedule_time(ts("2024-01-01T00:00:00Z"), ts("2024-01-03T12:00:00Z"), &s, &tz).unwrap();
        assert_eq!(due, Due { time: ts("2024-01-03T09:00:00Z"), missed: 5 });
    }

    #[test]
    fn earliest_respects_deadline() {
        let mut cj = CronJob::default();
        cj.metadata.creation_timestamp = Some(Time(ts("2024-01-01T00:00:00Z")));
        cj.spec = Some(CronJobSpec { starting_deadline_seconds: Some(60), ..Default::default() });
        assert_eq!(earliest_time(&cj, ts("2024-01-01T01:00:00Z")), ts("2024-01-01T00:59:00Z"));
        cj.status = Some(CronJobStatus { last_schedule_time: Some(Time(ts("2024-01-01T00:59:30Z"))), ..Default::default() });
        assert_eq!(earliest_time(&cj, ts("2024-01-01T01:00:00Z")), ts("2024-01-01T00:59:30Z"));
    }

    #[test]
    fn names_and_annotations() {
        assert_eq!(job_name("hello", ts("2024-01-01T00:01:00Z")), "hello-28401121");
        let tz = TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(scheduled_timestamp(ts("2024-01-01T00:01:00Z"), &tz), "2024-01-01T01:01:00+01:00");
        assert_eq!(scheduled_timestamp(ts("2024-01-01T00:01:00Z"), &TimeZone::UTC), "2024-01-01T00:01:00Z");
    }

    fn job(name: &str, start: &str, cond: &str) -> Job {
        let mut j = Job::default();
        j.metadata.name = Some(name.into());
        j.status = Some(JobStatus {
            start_time: Some(Time(ts(start))),
            conditions: Some(vec![JobCondition { type_: cond.into(), status: "True".into(), ..Default::default() }]),
            ..Default::default()
        });
        j
    }

    #[test]
    fn history_limits_drop_oldest() {
        let a = job("a", "2024-01-01T00:03:00Z", "Complete");
        let b = job("b", "2024-01-01T00:01:00Z", "Complete");
        let c = job("c", "2024-01-01T00:02:00Z", "Failed");
        assert_eq!(finished_condition(&c), Some("Failed"));
        let out = jobs_beyond_limit(vec![&a, &b, &c], 1);
        let names: Vec<_> = out.iter().map(|j| j.metadata.name.clone().unwrap()).collect();
        assert_eq!(names, ["b", "c"]);
        assert!(jobs_beyond_limit(vec![&a], 1).is_empty());
    }
}
