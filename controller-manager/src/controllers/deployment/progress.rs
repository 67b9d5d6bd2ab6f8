//! Rollout progress (upstream `progress.go`): the Progressing condition against
//! progressDeadlineSeconds, ReplicaFailure carried over from ReplicaSets, and the requeue
//! that notices a stuck rollout.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus, ReplicaSet};

use super::sync::calculate_status;
use super::util::{self, PROGRESSING};
use super::Syncer;
use crate::errors::Result;

fn replica_failure(rs: &ReplicaSet) -> Option<DeploymentCondition> {
    let c = rs.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == util::REPLICA_FAILURE)?;
    Some(DeploymentCondition {
        type_: util::REPLICA_FAILURE.into(),
        status: c.status.clone(),
        reason: c.reason.clone(),
        message: c.message.clone(),
        last_update_time: c.last_transition_time.clone(),
        last_transition_time: c.last_transition_time.clone(),
    })
}

/// Upstream's Progressing update for a status computed mid-rollout.
pub fn progress_condition(d: &k8s_openapi::api::apps::v1::Deployment, new_rs: Option<&ReplicaSet>, status: &mut DeploymentStatus, now: k8s_openapi::jiff::Timestamp) {
    let current = d.status.as_ref().and_then(|s| util::get_condition(s, PROGRESSING)).cloned();
    let complete_before = status.replicas == status.updated_replicas && current.as_ref().is_some_and(|c| c.reason.as_deref() == Some(util::NEW_RS_AVAILABLE));
    if !util::has_progress_deadline(d) || complete_before {
        return;
    }
    let subject = match new_rs.and_then(|rs| rs.metadata.name.clone()) {
        Some(n) => format!("ReplicaSet {n:?}"),
        None => format!("Deployment {:?}", d.metadata.name.clone().unwrap_or_default()),
    };
    if util::deployment_complete(d, status) {
        let c = util::new_condition(PROGRESSING, "True", util::NEW_RS_AVAILABLE, format!("{subject} has successfully progressed."), now);
        util::set_condition(status, c);
    } else if util::deployment_progressing(d, status) {
        let mut c = util::new_condition(PROGRESSING, "True", util::REPLICA_SET_UPDATED, format!("{subject} is progressing."), now);
        if let Some(cur) = &current {
            if cur.status == "True" {
                c.last_transition_time = cur.last_transition_time.clone();
            }
            util::remove_condition(status, PROGRESSING);
        }
        util::set_condition(status, c);
    } else if util::deployment_timed_out(d, status, now) {
        let c = util::new_condition(PROGRESSING, "False", util::TIMED_OUT, format!("{subject} has timed out progressing."), now);
        util::set_condition(status, c);
    }
}

impl Syncer<'_> {
    /// Upstream `syncRolloutStatus`.
    pub(super) async fn sync_rollout_status(&mut self, old: &[ReplicaSet], new_rs: Option<&ReplicaSet>) -> Result<()> {
        let all: Vec<&ReplicaSet> = old.iter().chain(new_rs).collect();
        let mut status = calculate_status(&all, new_rs, &self.d);
        if !util::has_progress_deadline(&self.d) {
            util::remove_condition(&mut status, PROGRESSING);
        }
        progress_condition(&self.d, new_rs, &mut status, util::now());
        let failure = new_rs.and_then(replica_failure).or_else(|| all.iter().find_map(|rs| replica_failure(rs)));
        match failure {
            Some(c) => util::set_condition(&mut status, c),
            None => util::remove_condition(&mut status, util::REPLICA_FAILURE),
        }
        if status.conditions.as_ref().is_some_and(Vec::is_empty) {
            status.conditions = None;
        }
        if self.d.status.as_ref() == Some(&status) {
            self.requeue_stuck_deployment(&status);
            return Ok(());
        }
        self.d.status = Some(status);
        self.update_status().await
    }

    /// Upstream `requeueStuckDeployment`: look again when the progress deadline would pass.
    fn requeue_stuck_deployment(&mut self, new_status: &DeploymentStatus) {
        let Some(current) = self.d.status.as_ref().and_then(|s| util::get_condition(s, PROGRESSING)) else { return };
        if !util::has_progress_deadline(&self.d) || util::deployment_complete(&self.d, new_status) || current.reason.as_deref() == Some(util::TIMED_OUT) {
            return;
        }
        let deadline = i64::from(self.d.spec.as_ref().and_then(|s| s.progress_deadline_seconds).unwrap_or(0));
        let last = current.last_update_time.as_ref().map_or(0, |t| t.0.as_second());
        let after = last + deadline - util::now().as_second();
        self.requeue = Some(if after < 1 { Duration::from_secs(1) } else { Duration::from_secs(after as u64 + 1) });
    }
}
