//! The StatefulSet's ControllerRevisions (upstream `getStatefulSetRevisions` and
//! `truncateHistory`): the update revision is the one whose data equals the current
//! template (rolled forward if older, created if new, with the collision count bumped on a
//! hash clash); the current revision is `status.currentRevision`, or the update revision
//! for a new set.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::controller_ref::new_controller_ref;
use crate::controllers::history::{data_of, equal_revisions, new_revision, next_number, sorted, template_patch, to_truncate, REVISION_HASH_LABEL};
use crate::errors::{Error, Result};

/// Upstream's default `revisionHistoryLimit`.
const DEFAULT_HISTORY_LIMIT: i32 = 10;

/// The current and update revisions, and the collision count to report.
pub async fn current_and_update(client: &kube::Client, set: &StatefulSet, revs: &[ControllerRevision]) -> Result<(ControllerRevision, ControllerRevision, Option<i32>)> {
    let spec = set.spec.clone().unwrap_or_default();
    let data = template_patch(&spec.template);
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), set.metadata.namespace.as_deref().unwrap_or(""));
    let mut collision = set.status.as_ref().and_then(|s| s.collision_count);
    let next = next_number(revs);
    let equal = equal_revisions(revs, &data);
    let latest = sorted(revs).last().copied();
    let update = match equal.last() {
        Some(eq) if latest.map(|l| &l.metadata.name) == Some(&eq.metadata.name) => (*eq).clone(),
        Some(eq) => roll_forward(&api, eq, next).await?,
        None => create(&api, set, data, next, &mut collision).await?,
    };
    let wanted = set.status.as_ref().and_then(|s| s.current_revision.clone());
    let current = revs.iter().find(|r| r.metadata.name.is_some() && r.metadata.name == wanted).cloned().unwrap_or_else(|| update.clone());
    Ok((current, update, collision))
}

async fn roll_forward(api: &Api<ControllerRevision>, rev: &ControllerRevision, number: i64) -> Result<ControllerRevision> {
    let name = rev.metadata.name.clone().unwrap_or_default();
    Ok(api.patch(&name, &PatchParams::default(), &Patch::Merge(json!({"revision": number}))).await?)
}

async fn create(api: &Api<ControllerRevision>, set: &StatefulSet, data: serde_json::Value, number: i64, collision: &mut Option<i32>) -> Result<ControllerRevision> {
    let labels = set.spec.as_ref().and_then(|s| s.template.metadata.as_ref()).and_then(|m| m.labels.clone()).unwrap_or_default();
    for _ in 0..10 {
        let mut rev = new_revision(set.metadata.name.as_deref().unwrap_or(""), labels.clone(), data.clone(), number, *collision);
        rev.metadata.namespace = set.metadata.namespace.clone();
        rev.metadata.owner_references = Some(vec![new_controller_ref(set)]);
        let name = rev.metadata.name.clone().unwrap_or_default();
        match api.create(&PostParams::default(), &rev).await {
            Ok(created) => return Ok(created),
            Err(e) => {
                let e = Error::from(e);
                if !e.is_already_exists() {
                    return Err(e);
                }
                let existing = api.get(&name).await?;
                if data_of(&existing) == &data {
                    return Ok(existing);
                }
                *collision = Some(collision.unwrap_or(0) + 1);
            }
        }
    }
    Err(Error::Retry("too many ControllerRevision hash collisions".into()))
}

/// Deletes revisions beyond `revisionHistoryLimit` that no pod and neither the current nor
/// the update revision uses.
pub async fn truncate(client: &kube::Client, set: &StatefulSet, revs: &[ControllerRevision], pods: &[Arc<Pod>], keep: &[&ControllerRevision]) -> Result<()> {
    let limit = set.spec.as_ref().and_then(|s| s.revision_history_limit).unwrap_or(DEFAULT_HISTORY_LIMIT);
    let mut live: BTreeSet<String> = pods.iter().filter_map(|p| p.metadata.labels.as_ref()?.get(REVISION_HASH_LABEL).cloned()).collect();
    live.extend(keep.iter().filter_map(|r| r.metadata.name.clone()));
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), set.metadata.namespace.as_deref().unwrap_or(""));
    for rev in to_truncate(revs, &live, limit) {
        let name = rev.metadata.name.clone().unwrap_or_default();
        if let Err(e) = api.delete(&name, &DeleteParams::default()).await {
            let e = Error::from(e);
            if !e.is_not_found() {
                return Err(e);
            }
        }
    }
    Ok(())
}
