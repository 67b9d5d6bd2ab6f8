//! The RollingUpdate strategy (upstream `rolling.go`): grow the new ReplicaSet within
//! maxSurge, shrink old ones (unhealthy replicas first) within maxUnavailable.

use k8s_openapi::api::apps::v1::ReplicaSet;

use super::util::{self, d_replicas, rs_replicas};
use super::Syncer;
use crate::errors::{Error, Result};

fn available(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0)
}

impl Syncer<'_> {
    /// Upstream `rolloutRolling`.
    pub(super) async fn rollout_rolling(&mut self, rs_list: &mut Vec<ReplicaSet>) -> Result<()> {
        let (new_rs, mut old) = self.get_all_rss_and_sync_revision(rs_list, true).await?;
        let mut new_rs = new_rs.ok_or_else(|| Error::Retry("new replica set not found".into()))?;
        if let Some(scaled) = self.reconcile_new_replica_set(&old, &new_rs).await? {
            new_rs = scaled;
            return self.sync_rollout_status(&old, Some(&new_rs)).await;
        }
        if self.reconcile_old_replica_sets(&mut old, &new_rs).await? {
            return self.sync_rollout_status(&old, Some(&new_rs)).await;
        }
        if util::deployment_complete(&self.d, &self.d.status.clone().unwrap_or_default()) {
            self.cleanup_deployment(&old).await?;
        }
        self.sync_rollout_status(&old, Some(&new_rs)).await
    }

    /// Upstream `reconcileNewReplicaSet`: Some(updated) when the new ReplicaSet was scaled.
    async fn reconcile_new_replica_set(&mut self, old: &[ReplicaSet], new_rs: &ReplicaSet) -> Result<Option<ReplicaSet>> {
        let replicas = d_replicas(&self.d);
        let target = match rs_replicas(new_rs).cmp(&replicas) {
            std::cmp::Ordering::Equal => return Ok(None),
            std::cmp::Ordering::Greater => replicas,
            std::cmp::Ordering::Less => {
                let all: Vec<&ReplicaSet> = old.iter().chain(std::iter::once(new_rs)).collect();
                util::new_rs_new_replicas(&self.d, &all, new_rs)
            }
        };
        let (scaled, updated) = self.scale_rs_and_record_event(new_rs.clone(), target).await?;
        Ok(scaled.then_some(updated))
    }

    /// Upstream `reconcileOldReplicaSets`: whether any old ReplicaSet was scaled down.
    async fn reconcile_old_replica_sets(&mut self, old: &mut [ReplicaSet], new_rs: &ReplicaSet) -> Result<bool> {
        let old_count: i32 = old.iter().filter(|rs| rs_replicas(rs) > 0).map(rs_replicas).sum();
        if old_count == 0 {
            return Ok(false);
        }
        let all_count: i32 = old.iter().map(rs_replicas).sum::<i32>() + rs_replicas(new_rs);
        let min_available = d_replicas(&self.d) - util::max_unavailable(&self.d);
        let new_unavailable = rs_replicas(new_rs) - available(new_rs);
        let max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        let Ok(cleaned) = self.cleanup_unhealthy_replicas(old, max_scaled_down).await else { return Ok(false) };
        let Ok(scaled) = self.scale_down_old_for_rolling_update(old, new_rs).await else { return Ok(false) };
        Ok(cleaned + scaled > 0)
    }

    /// Upstream `cleanupUnhealthyReplicas`: scales old ReplicaSets down by their unavailable
    /// replicas, oldest first, at most `max` in total.
    async fn cleanup_unhealthy_replicas(&mut self, old: &mut [ReplicaSet], max: i32) -> Result<i32> {
        old.sort_by(util::by_creation);
        let mut total = 0;
        for slot in old.iter_mut() {
            if total >= max {
                break;
            }
            let (replicas, avail) = (rs_replicas(slot), available(slot));
            if replicas == 0 || replicas == avail {
                continue;
            }
            let down = (max - total).min(replicas - avail);
            let (_, updated) = self.scale_rs_and_record_event(slot.clone(), replicas - down).await?;
            *slot = updated;
            total += down;
        }
        Ok(total)
    }

    /// Upstream `scaleDownOldReplicaSetsForRollingUpdate`: keeps minAvailable pods available.
    async fn scale_down_old_for_rolling_update(&mut self, old: &mut [ReplicaSet], new_rs: &ReplicaSet) -> Result<i32> {
        let min_available = d_replicas(&self.d) - util::max_unavailable(&self.d);
        let available_count: i32 = old.iter().map(available).sum::<i32>() + available(new_rs);
        if available_count <= min_available {
            return Ok(0);
        }
        old.sort_by(util::by_creation);
        let to_scale_down = available_count - min_available;
        let mut total = 0;
        for slot in old.iter_mut() {
            if total >= to_scale_down {
                break;
            }
            let replicas = rs_replicas(slot);
            if replicas == 0 {
                continue;
            }
            let down = replicas.min(to_scale_down - total);
            let (_, updated) = self.scale_rs_and_record_event(slot.clone(), replicas - down).await?;
            *slot = updated;
            total += down;
        }
        Ok(total)
    }
}
