//! The TTL-after-finished controller (upstream `pkg/controller/ttlafterfinished`): deletes
//! a finished Job (with its pods, foreground) `spec.ttlSecondsAfterFinished` seconds after
//! its Complete or Failed condition.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, PropagationPolicy, Preconditions};
use kube::runtime::controller::Action;

use crate::context::ControllerContext;
use crate::controllers::workload::enqueue_self;
use crate::controllers::{ControllerDescriptor, Running};
use crate::errors::{Error, Result};
use crate::runtime::{self, Queue};

/// Registration of the TTL-after-finished controller.
pub const DESCRIPTOR: ControllerDescriptor =
    ControllerDescriptor { name: "ttl-after-finished-controller", aliases: &["ttl-after-finished"], enabled_by_default: true, start };


fn start(ctx: &ControllerContext) -> Result<Running> {
    let jobs = ctx.informers.informer::<Job>();
    let (queue, rx) = Queue::<Job>::new("ttl_jobs_to_delete", &ctx.metrics);
    jobs.add_handler(enqueue_self(queue.clone()));
    Ok(Box::pin(runtime::run("ttl_jobs_to_delete", queue, rx, jobs.store(), ctx.options.concurrent_ttl_after_finished_syncs, Arc::new(ctx.client.clone()), reconcile)))
}

/// When the Job finished (its Complete or Failed condition's transition time).
pub fn finish_time(job: &Job) -> Option<Timestamp> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    let c = conditions.iter().find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")?;
    c.last_transition_time.as_ref().map(|t| t.0)
}

/// When the Job expires, if it has a TTL and finished.
pub fn expires_at(job: &Job) -> Option<Timestamp> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    Timestamp::from_second(finish_time(job)?.as_second() + i64::from(ttl)).ok()
}

async fn reconcile(job: Arc<Job>, client: Arc<kube::Client>) -> Result<Action> {
    if job.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let Some(at) = expires_at(&job) else { return Ok(Action::await_change()) };
    let now = Timestamp::now();
    if at > now {
        let wait = Duration::from_millis((at.as_millisecond() - now.as_millisecond()).max(0) as u64);
        return Ok(Action::requeue(wait + Duration::from_millis(100)));
    }
    let api: Api<Job> = Api::namespaced((*client).clone(), job.metadata.namespace.as_deref().unwrap_or(""));
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        preconditions: Some(Preconditions { uid: job.metadata.uid.clone(), resource_version: job.metadata.resource_version.clone() }),
        ..Default::default()
    };
    tracing::info!(job = %runtime::key_of(job.as_ref()), "cleaning up finished job after its TTL");
    match api.delete(job.metadata.name.as_deref().unwrap_or(""), &params).await {
        Ok(_) => Ok(Action::await_change()),
        Err(e) => {
            let e = Error::from(e);
            if e.is_not_found() || e.is_conflict() { Ok(Action::await_change()) } else { Err(e) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{JobCondition, JobSpec, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    #[test]
    fn expiry_from_finish_condition() {
        let t: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let mut job = Job { spec: Some(JobSpec { ttl_seconds_after_finished: Some(30), ..Default::default() }), ..Default::default() };
        assert_eq!(expires_at(&job), None);
        job.status = Some(JobStatus {
            conditions: Some(vec![JobCondition { type_: "Complete".into(), status: "True".into(), last_transition_time: Some(Time(t)), ..Default::default() }]),
            ..Default::default()
        });
        assert_eq!(expires_at(&job).unwrap().to_string(), "2024-01-01T00:00:30Z");
    }
}
