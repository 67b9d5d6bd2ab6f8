//! Shared steps of a Deployment sync (upstream `sync.go`): finding or creating the new
//! ReplicaSet with revisions, scaling (proportionally mid-rollout), clean-up of old
//! ReplicaSets, and the status.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, PostParams};

use super::util::{self, d_replicas, rs_replicas};
use super::Syncer;
use crate::controller_ref::{is_controlled_by, new_controller_ref};
use crate::errors::{Error, Result};
use crate::events::{NORMAL, WARNING};
use crate::pod_control::api_message;

fn nonzero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

/// Upstream `calculateStatus`: the Deployment's status from its ReplicaSets.
pub fn calculate_status(all: &[&ReplicaSet], new_rs: Option<&ReplicaSet>, d: &Deployment) -> DeploymentStatus {
    let available = util::available_replica_count(all);
    let total = util::replica_count(all);
    let unavailable = (total - available).max(0);
    let old = d.status.clone().unwrap_or_default();
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation.filter(|g| *g != 0),
        replicas: nonzero(util::actual_replica_count(all)),
        updated_replicas: nonzero(util::actual_replica_count(&new_rs.into_iter().collect::<Vec<_>>())),
        ready_replicas: nonzero(util::ready_replica_count(all)),
        available_replicas: nonzero(available),
        unavailable_replicas: nonzero(unavailable),
        collision_count: old.collision_count,
        conditions: old.conditions.clone(),
        terminating_replicas: None,
    };
    let cond = if available >= d_replicas(d) - util::max_unavailable(d) {
        util::new_condition(util::AVAILABLE, "True", util::MIN_AVAILABLE, "Deployment has minimum availability.", util::now())
    } else {
        util::new_condition(util::AVAILABLE, "False", util::MIN_UNAVAILABLE, "Deployment does not have minimum availability.", util::now())
    };
    util::set_condition(&mut status, cond);
    status
}

/// Replaces the ReplicaSet with the same UID in `list` (or appends it).
pub(super) fn remember(list: &mut Vec<ReplicaSet>, rs: &ReplicaSet) {
    match list.iter_mut().find(|r| r.metadata.uid == rs.metadata.uid) {
        Some(slot) => *slot = rs.clone(),
        None => list.push(rs.clone()),
    }
}

impl Syncer<'_> {
    /// Upstream `syncStatusOnly`.
    pub(super) async fn sync_status_only(&mut self, rs_list: &mut Vec<ReplicaSet>) -> Result<()> {
        let (new_rs, old) = self.get_all_rss_and_sync_revision(rs_list, false).await?;
        self.sync_deployment_status(&old, new_rs.as_ref()).await
    }

    /// Upstream `sync`: scaling events and paused Deployments.
    pub(super) async fn sync(&mut self, rs_list: &mut Vec<ReplicaSet>) -> Result<()> {
        let (new_rs, mut old) = self.get_all_rss_and_sync_revision(rs_list, false).await?;
        let new_rs = self.scale(new_rs, &mut old).await?;
        if self.paused() {
            self.cleanup_deployment(&old).await?;
        }
        self.sync_deployment_status(&old, new_rs.as_ref()).await
    }

    /// Upstream `getAllReplicaSetsAndSyncRevision`: (new, old) ReplicaSets, the new one's
    /// revision raised above every old one.
    pub(super) async fn get_all_rss_and_sync_revision(&mut self, rs_list: &mut Vec<ReplicaSet>, create: bool) -> Result<(Option<ReplicaSet>, Vec<ReplicaSet>)> {
        let old = util::find_old_rss(&self.d, rs_list);
        let new_rs = self.get_new_replica_set(rs_list, &old, create).await?;
        Ok((new_rs, old))
    }

    async fn get_new_replica_set(&mut self, rs_list: &mut Vec<ReplicaSet>, old: &[ReplicaSet], create: bool) -> Result<Option<ReplicaSet>> {
        let old_refs: Vec<&ReplicaSet> = old.iter().collect();
        let new_revision = (util::max_revision(&old_refs) + 1).to_string();
        if let Some(existing) = util::find_new_rs(&self.d, rs_list) {
            return self.sync_existing_new_rs(rs_list, existing, &new_revision).await.map(Some);
        }
        if !create {
            return Ok(None);
        }
        let created = self.create_new_rs(&old_refs, &new_revision).await?;
        remember(rs_list, &created);
        Ok(Some(created))
    }

    async fn sync_existing_new_rs(&mut self, rs_list: &mut Vec<ReplicaSet>, existing: ReplicaSet, new_revision: &str) -> Result<ReplicaSet> {
        let mut copy = existing;
        let annotations_updated = util::set_new_rs_annotations(&self.d, &mut copy, new_revision, true, util::MAX_REV_HISTORY_CHARS);
        let min_ready = self.d.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
        let spec = copy.spec.get_or_insert_with(Default::default);
        if annotations_updated || spec.min_ready_seconds.unwrap_or(0) != min_ready {
            spec.min_ready_seconds = Some(min_ready);
            let name = copy.metadata.name.clone().unwrap_or_default();
            let updated = self.rs_api().replace(&name, &PostParams::default(), &copy).await?;
            remember(rs_list, &updated);
            return Ok(updated);
        }
        let revision = copy.metadata.annotations.as_ref().and_then(|a| a.get(util::REVISION)).cloned().unwrap_or_default();
        self.set_revision(&revision).await?;
        let has_deadline = util::has_progress_deadline(&self.d);
        let status = self.d.status.get_or_insert_with(Default::default);
        if has_deadline && util::get_condition(status, util::PROGRESSING).is_none() {
            let msg = format!("Found new replica set {:?}", copy.metadata.name.clone().unwrap_or_default());
            util::set_condition(status, util::new_condition(util::PROGRESSING, "True", util::FOUND_NEW_RS, msg, util::now()));
            self.update_status().await?;
        }
        Ok(copy)
    }

    /// The ReplicaSet a Deployment's current template gets, before sizing.
    fn new_rs_object(&self) -> ReplicaSet {
        let spec = self.d.spec.clone().unwrap_or_default();
        let collision = self.d.status.as_ref().and_then(|s| s.collision_count);
        let hash = util::compute_hash(&spec.template, collision);
        let mut template = spec.template.clone();
        let tmeta = template.metadata.get_or_insert_with(Default::default);
        tmeta.labels.get_or_insert_with(Default::default).insert(util::POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector = spec.selector.clone();
        selector.match_labels.get_or_insert_with(Default::default).insert(util::POD_TEMPLATE_HASH.into(), hash.clone());
        ReplicaSet {
            metadata: ObjectMeta {
                name: Some(format!("{}-{hash}", self.name())),
                namespace: Some(self.ns()),
                owner_references: Some(vec![new_controller_ref(&self.d)]),
                labels: tmeta.labels.clone(),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec { replicas: Some(0), min_ready_seconds: spec.min_ready_seconds, selector, template: Some(template) }),
            status: None,
        }
    }

    async fn create_new_rs(&mut self, old: &[&ReplicaSet], new_revision: &str) -> Result<ReplicaSet> {
        let mut rs = self.new_rs_object();
        let all: Vec<&ReplicaSet> = old.iter().copied().chain(std::iter::once(&rs)).collect();
        let count = util::new_rs_new_replicas(&self.d, &all, &rs);
        util::set_rs_replicas(&mut rs, count);
        util::set_new_rs_annotations(&self.d, &mut rs, new_revision, false, util::MAX_REV_HISTORY_CHARS);
        let name = rs.metadata.name.clone().unwrap_or_default();
        let (created, already_exists) = match self.rs_api().create(&PostParams::default(), &rs).await {
            Ok(created) => (created, false),
            Err(e) => (self.handle_create_error(Error::from(e), &name).await?, true),
        };
        if !already_exists && count > 0 {
            self.event(NORMAL, "ScalingReplicaSet", format!("Scaled up replica set {name} to {count}"));
        }
        self.set_revision(new_revision).await?;
        if !already_exists && util::has_progress_deadline(&self.d) {
            let msg = format!("Created new replica set {name:?}");
            let status = self.d.status.get_or_insert_with(Default::default);
            util::set_condition(status, util::new_condition(util::PROGRESSING, "True", util::NEW_REPLICA_SET, msg, util::now()));
            self.update_status().await?;
        }
        Ok(created)
    }

    /// AlreadyExists is our own ReplicaSet seen late, or a hash collision (then
    /// collisionCount goes up and the sync retries); other errors are reported.
    async fn handle_create_error(&mut self, e: Error, name: &str) -> Result<ReplicaSet> {
        if e.is_already_exists() {
            let existing = match self.ctx.replica_sets.get(Some(&self.ns()), name) {
                Some(rs) => (*rs).clone(),
                None => self.rs_api().get(name).await?,
            };
            let uid = self.d.metadata.uid.clone().unwrap_or_default();
            let template = self.d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
            if is_controlled_by(&existing.metadata, &uid) && existing.spec.as_ref().and_then(|s| s.template.as_ref()).is_some_and(|t| util::equal_ignore_hash(&template, t)) {
                return Ok(existing);
            }
            let status = self.d.status.get_or_insert_with(Default::default);
            status.collision_count = Some(status.collision_count.unwrap_or(0) + 1);
            if self.update_status().await.is_ok() {
                tracing::info!(deployment = %self.name(), "found a hash collision for deployment - bumping collisionCount to resolve it");
            }
            return Err(e);
        }
        if e.is_namespace_terminating() {
            return Err(e);
        }
        let msg = format!("Failed to create new replica set {name:?}: {}", api_message(&e));
        if util::has_progress_deadline(&self.d) {
            let status = self.d.status.get_or_insert_with(Default::default);
            util::set_condition(status, util::new_condition(util::PROGRESSING, "False", util::FAILED_RS_CREATE, msg.clone(), util::now()));
            let _ = self.update_status().await;
        }
        self.event(WARNING, util::FAILED_RS_CREATE, msg);
        Err(e)
    }

    /// Upstream `scale`; returns the (possibly rescaled) new ReplicaSet and updates `old`.
    pub(super) async fn scale(&mut self, new_rs: Option<ReplicaSet>, old: &mut [ReplicaSet]) -> Result<Option<ReplicaSet>> {
        let replicas = d_replicas(&self.d);
        if let Some(target) = util::find_active_or_latest(new_rs.as_ref(), old) {
            if rs_replicas(&target) == replicas {
                return Ok(new_rs);
            }
            let (_, updated) = self.scale_rs_and_record_event(target, replicas).await?;
            return Ok(self.replace_scaled(new_rs, old, updated));
        }
        if util::is_saturated(&self.d, new_rs.as_ref()) {
            for slot in old.iter_mut() {
                if rs_replicas(slot) > 0 {
                    let (_, updated) = self.scale_rs_and_record_event(slot.clone(), 0).await?;
                    *slot = updated;
                }
            }
            return Ok(new_rs);
        }
        if !util::is_rolling_update(&self.d) {
            return Ok(new_rs);
        }
        let active: Vec<ReplicaSet> = util::active(old.iter().chain(new_rs.iter())).into_iter().cloned().collect();
        let current: i32 = active.iter().map(rs_replicas).sum();
        let allowed = if replicas > 0 { replicas + util::max_surge(&self.d) } else { 0 };
        let op = match (allowed - current).signum() {
            1 => "up",
            -1 => "down",
            _ => "",
        };
        let mut new_rs = new_rs;
        for (rs, size) in util::proportional_sizes(&self.d, active) {
            let (_, updated) = self.scale_replica_set(rs, size, op).await?;
            new_rs = self.replace_scaled(new_rs, old, updated);
        }
        Ok(new_rs)
    }

    fn replace_scaled(&self, new_rs: Option<ReplicaSet>, old: &mut [ReplicaSet], updated: ReplicaSet) -> Option<ReplicaSet> {
        if new_rs.as_ref().is_some_and(|n| n.metadata.uid == updated.metadata.uid) {
            return Some(updated);
        }
        if let Some(slot) = old.iter_mut().find(|o| o.metadata.uid == updated.metadata.uid) {
            *slot = updated;
        }
        new_rs
    }

    /// Upstream `scaleReplicaSetAndRecordEvent`.
    pub(super) async fn scale_rs_and_record_event(&mut self, rs: ReplicaSet, new_scale: i32) -> Result<(bool, ReplicaSet)> {
        if rs_replicas(&rs) == new_scale {
            return Ok((false, rs));
        }
        let op = if rs_replicas(&rs) < new_scale { "up" } else { "down" };
        self.scale_replica_set(rs, new_scale, op).await
    }

    /// Upstream `scaleReplicaSet`: writes replicas and the replica annotations.
    async fn scale_replica_set(&mut self, rs: ReplicaSet, new_scale: i32, op: &str) -> Result<(bool, ReplicaSet)> {
        let size_changes = rs_replicas(&rs) != new_scale;
        let (desired, max) = (d_replicas(&self.d), d_replicas(&self.d) + util::max_surge(&self.d));
        if !size_changes && !util::replicas_annotations_need_update(&rs, desired, max) {
            return Ok((false, rs));
        }
        let old_scale = rs_replicas(&rs);
        let mut copy = rs;
        util::set_rs_replicas(&mut copy, new_scale);
        util::set_replicas_annotations(&mut copy, desired, max);
        let name = copy.metadata.name.clone().unwrap_or_default();
        let updated = self.rs_api().replace(&name, &PostParams::default(), &copy).await?;
        if size_changes {
            self.event(NORMAL, "ScalingReplicaSet", format!("Scaled {op} replica set {name} to {new_scale} from {old_scale}"));
        }
        Ok((size_changes, updated))
    }

    /// Upstream `cleanupDeployment`: deletes the oldest fully scaled-down ReplicaSets beyond
    /// revisionHistoryLimit.
    pub(super) async fn cleanup_deployment(&self, old: &[ReplicaSet]) -> Result<()> {
        if !util::has_revision_history_limit(&self.d) {
            return Ok(());
        }
        let limit = self.d.spec.as_ref().and_then(|s| s.revision_history_limit).unwrap_or(0).max(0) as usize;
        let mut cleanable: Vec<&ReplicaSet> = old.iter().filter(|rs| rs.metadata.deletion_timestamp.is_none()).collect();
        if cleanable.len() <= limit {
            return Ok(());
        }
        let diff = cleanable.len() - limit;
        cleanable.sort_by(|a, b| util::by_revision(a, b));
        for rs in cleanable.into_iter().take(diff) {
            let status = rs.status.clone().unwrap_or_default();
            if status.replicas != 0 || rs_replicas(rs) != 0 || rs.metadata.generation > status.observed_generation {
                continue;
            }
            let name = rs.metadata.name.clone().unwrap_or_default();
            tracing::debug!(deployment = %self.name(), replicaset = %name, "cleaning up old replica set");
            if let Err(e) = self.rs_api().delete(&name, &DeleteParams::default()).await {
                let e = Error::from(e);
                if !e.is_not_found() {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Upstream `syncDeploymentStatus`.
    pub(super) async fn sync_deployment_status(&mut self, old: &[ReplicaSet], new_rs: Option<&ReplicaSet>) -> Result<()> {
        let all: Vec<&ReplicaSet> = old.iter().chain(new_rs).collect();
        let status = calculate_status(&all, new_rs, &self.d);
        if self.d.status.as_ref() == Some(&status) {
            return Ok(());
        }
        self.d.status = Some(status);
        self.update_status().await
    }

    /// Upstream `isScalingEvent`: an active ReplicaSet was sized for other replicas.
    pub(super) async fn is_scaling_event(&mut self, rs_list: &mut Vec<ReplicaSet>) -> Result<bool> {
        let (new_rs, old) = self.get_all_rss_and_sync_revision(rs_list, false).await?;
        let replicas = d_replicas(&self.d);
        Ok(util::active(old.iter().chain(new_rs.iter())).into_iter().any(|rs| util::desired_replicas_annotation(rs).is_some_and(|d| d != replicas)))
    }
}
