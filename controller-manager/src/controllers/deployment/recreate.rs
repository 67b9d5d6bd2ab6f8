//! The Recreate strategy (upstream `recreate.go`): scale every old ReplicaSet to zero, wait
//! for their pods to be gone, then create and scale up the new one.

use k8s_openapi::api::apps::v1::ReplicaSet;

use super::util::{self, d_replicas, rs_replicas};
use super::{PodMap, Syncer};
use crate::errors::{Error, Result};

/// Upstream `oldPodsRunning`: old ReplicaSets still report pods, or pods of old
/// ReplicaSets are not terminal.
fn old_pods_running(new_rs: Option<&ReplicaSet>, old: &[ReplicaSet], pods: &PodMap) -> bool {
    if util::actual_replica_count(&old.iter().collect::<Vec<_>>()) > 0 {
        return true;
    }
    let new_uid = new_rs.and_then(|rs| rs.metadata.uid.clone());
    pods.iter().filter(|(uid, _)| Some(*uid) != new_uid.as_ref()).flat_map(|(_, ps)| ps).any(|p| {
        let phase = p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
        !matches!(phase, "Failed" | "Succeeded")
    })
}

impl Syncer<'_> {
    /// Upstream `rolloutRecreate`.
    pub(super) async fn rollout_recreate(&mut self, rs_list: &mut Vec<ReplicaSet>, pods: &PodMap) -> Result<()> {
        let (mut new_rs, mut old) = self.get_all_rss_and_sync_revision(rs_list, false).await?;
        let mut scaled_down = false;
        for slot in old.iter_mut() {
            if rs_replicas(slot) == 0 {
                continue;
            }
            let (scaled, updated) = self.scale_rs_and_record_event(slot.clone(), 0).await?;
            if scaled {
                *slot = updated;
                scaled_down = true;
            }
        }
        if scaled_down || old_pods_running(new_rs.as_ref(), &old, pods) {
            return self.sync_rollout_status(&old, new_rs.as_ref()).await;
        }
        if new_rs.is_none() {
            let (n, o) = self.get_all_rss_and_sync_revision(rs_list, true).await?;
            new_rs = n;
            old = o;
        }
        let new = new_rs.ok_or_else(|| Error::Retry("new replica set not found".into()))?;
        let (_, new) = self.scale_rs_and_record_event(new, d_replicas(&self.d)).await?;
        if util::deployment_complete(&self.d, &self.d.status.clone().unwrap_or_default()) {
            self.cleanup_deployment(&old).await?;
        }
        self.sync_rollout_status(&old, Some(&new)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSetStatus;
    use k8s_openapi::api::core::v1::{Pod, PodStatus};
    use std::sync::Arc;

    fn pod(phase: &str) -> Arc<Pod> {
        Arc::new(Pod { status: Some(PodStatus { phase: Some(phase.into()), ..Default::default() }), ..Default::default() })
    }

    #[test]
    fn old_pods_count_until_terminal() {
        let mut old = ReplicaSet::default();
        old.metadata.uid = Some("old".into());
        let mut new = ReplicaSet::default();
        new.metadata.uid = Some("new".into());
        let mut pods = PodMap::new();
        pods.insert("new".into(), vec![pod("Running")]);
        assert!(!old_pods_running(Some(&new), &[old.clone()], &pods));
        pods.insert("old".into(), vec![pod("Succeeded"), pod("Failed")]);
        assert!(!old_pods_running(Some(&new), &[old.clone()], &pods));
        pods.insert("old".into(), vec![pod("Pending")]);
        assert!(old_pods_running(Some(&new), &[old.clone()], &pods));
        old.status = Some(ReplicaSetStatus { replicas: 1, ..Default::default() });
        assert!(old_pods_running(Some(&new), &[old], &PodMap::new()));
    }
}
