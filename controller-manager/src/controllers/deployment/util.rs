//! Pure helpers of the Deployment controller (upstream `deployment/util`): the pod template
//! hash, revision and replica annotations, surge/unavailability math, proportional scaling,
//! ReplicaSet ordering, and status conditions.

use std::cmp::Ordering;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

use crate::errors::{Error, Result};

/// The revision of a ReplicaSet (and of its Deployment).
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions a ReplicaSet had (it was rolled back to).
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's replicas when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// replicas + maxSurge when the ReplicaSet was last scaled.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The label (and selector) telling a Deployment's ReplicaSets apart.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// Upper bound of the revision-history annotation.
pub const MAX_REV_HISTORY_CHARS: usize = 2000;

/// Progressing: a ReplicaSet was updated.
pub const REPLICA_SET_UPDATED: &str = "ReplicaSetUpdated";
/// Progressing=False: creating the new ReplicaSet failed.
pub const FAILED_RS_CREATE: &str = "ReplicaSetCreateError";
/// Progressing: the new ReplicaSet was created.
pub const NEW_REPLICA_SET: &str = "NewReplicaSetCreated";
/// Progressing: an existing new ReplicaSet was found.
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
/// Progressing: the rollout completed.
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
/// Progressing=False: progressDeadlineSeconds passed without progress.
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
/// Progressing=Unknown: paused.
pub const PAUSED: &str = "DeploymentPaused";
/// Progressing=Unknown: resumed.
pub const RESUMED: &str = "DeploymentResumed";
/// Available=True.
pub const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
/// Available=False.
pub const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
/// Condition types.
pub const PROGRESSING: &str = "Progressing";
/// Condition types.
pub const AVAILABLE: &str = "Available";
/// Condition types.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

const ANNOTATIONS_TO_SKIP: &[&str] =
    &["kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to"];

/// Now, at the API's one-second precision.
pub fn now() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH)
}

// ---- hashing -------------------------------------------------------------------------

fn fnv32a(bytes: &[u8], mut h: u32) -> u32 {
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// Upstream `rand.SafeEncodeString`: maps each character onto consonants and digits so the
/// result never spells words.
pub fn safe_encode(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.chars().map(|c| ALPHANUMS[(c as usize) % ALPHANUMS.len()] as char).collect()
}

/// Upstream `controller.ComputeHash`: FNV-32a of the template (here its canonical JSON),
/// then of the collision count, printed in decimal and safe-encoded (e.g. `66b6c48dd5`).
pub fn compute_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let json = serde_json::to_vec(template).unwrap_or_default();
    let mut h = fnv32a(&json, 2_166_136_261);
    if let Some(c) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(c as u32).to_le_bytes());
        h = fnv32a(&bytes, h);
    }
    safe_encode(&h.to_string())
}

fn without_hash(t: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = t.clone();
    if let Some(m) = t.metadata.as_mut() {
        if let Some(l) = m.labels.as_mut() {
            l.remove(POD_TEMPLATE_HASH);
            if l.is_empty() {
                m.labels = None;
            }
        }
    }
    t
}

/// Upstream `EqualIgnoreHash`: templates equal apart from the pod-template-hash label.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    without_hash(a) == without_hash(b)
}

// ---- ReplicaSet accessors --------------------------------------------------------------

/// spec.replicas of a ReplicaSet (defaulted to 1 as the apiserver does).
pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// Sets spec.replicas.
pub fn set_rs_replicas(rs: &mut ReplicaSet, n: i32) {
    rs.spec.get_or_insert_with(Default::default).replicas = Some(n);
}

/// spec.replicas of a Deployment (defaulted to 1).
pub fn d_replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn status_of(rs: &ReplicaSet) -> (i32, i32, i32) {
    let s = rs.status.clone().unwrap_or_default();
    (s.replicas, s.ready_replicas.unwrap_or(0), s.available_replicas.unwrap_or(0))
}

/// Sum of spec.replicas.
pub fn replica_count(rss: &[&ReplicaSet]) -> i32 {
    rss.iter().map(|rs| rs_replicas(rs)).sum()
}

/// Sum of status.replicas.
pub fn actual_replica_count(rss: &[&ReplicaSet]) -> i32 {
    rss.iter().map(|rs| status_of(rs).0).sum()
}

/// Sum of status.readyReplicas.
pub fn ready_replica_count(rss: &[&ReplicaSet]) -> i32 {
    rss.iter().map(|rs| status_of(rs).1).sum()
}

/// Sum of status.availableReplicas.
pub fn available_replica_count(rss: &[&ReplicaSet]) -> i32 {
    rss.iter().map(|rs| status_of(rs).2).sum()
}

fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata.annotations.as_ref().and_then(|a| a.get(key)).map(String::as_str)
}

/// The revision annotation as a number (0 when absent or malformed).
pub fn revision(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The highest revision.
pub fn max_revision(rss: &[&ReplicaSet]) -> i64 {
    rss.iter().map(|rs| revision(rs)).max().unwrap_or(0)
}

/// The desired-replicas annotation.
pub fn desired_replicas_annotation(rs: &ReplicaSet) -> Option<i32> {
    annotation(rs, DESIRED_REPLICAS).and_then(|v| v.parse().ok())
}

fn max_replicas_annotation(rs: &ReplicaSet) -> Option<i32> {
    annotation(rs, MAX_REPLICAS).and_then(|v| v.parse().ok())
}

// ---- ordering --------------------------------------------------------------------------

/// Upstream `ReplicaSetsByCreationTimestamp`: older first, then by name.
pub fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let t = |rs: &ReplicaSet| rs.metadata.creation_timestamp.as_ref().map(|t| t.0);
    t(a).cmp(&t(b)).then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Upstream `ReplicaSetsBySizeNewer`: larger first, ties newer first.
pub fn by_size_newer(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b).cmp(&rs_replicas(a)).then_with(|| by_creation(b, a))
}

/// Upstream `ReplicaSetsBySizeOlder`: larger first, ties older first.
pub fn by_size_older(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b).cmp(&rs_replicas(a)).then_with(|| by_creation(a, b))
}

/// Upstream `ReplicaSetsByRevision`: lower revision first, ties by creation.
pub fn by_revision(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    revision(a).cmp(&revision(b)).then_with(|| by_creation(a, b))
}

// ---- finding the new and old ReplicaSets ------------------------------------------------

/// Upstream `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the
/// Deployment's (ignoring the hash label).
pub fn find_new_rs(d: &Deployment, rss: &[ReplicaSet]) -> Option<ReplicaSet> {
    let template = &d.spec.as_ref()?.template;
    let mut sorted: Vec<&ReplicaSet> = rss.iter().collect();
    sorted.sort_by(|a, b| by_creation(a, b));
    sorted.into_iter().find(|rs| rs.spec.as_ref().and_then(|s| s.template.as_ref()).is_some_and(|t| equal_ignore_hash(t, template))).cloned()
}

/// Upstream `FindOldReplicaSets`: every ReplicaSet but the new one.
pub fn find_old_rss(d: &Deployment, rss: &[ReplicaSet]) -> Vec<ReplicaSet> {
    let new_uid = find_new_rs(d, rss).and_then(|rs| rs.metadata.uid);
    rss.iter().filter(|rs| new_uid.is_none() || rs.metadata.uid != new_uid).cloned().collect()
}

/// Upstream `FilterActiveReplicaSets`: those with spec.replicas > 0.
pub fn active<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> Vec<&'a ReplicaSet> {
    rss.into_iter().filter(|rs| rs_replicas(rs) > 0).collect()
}

/// Upstream `FindActiveOrLatest`: the only active ReplicaSet, or the newest one when none is
/// active; None when several are active.
pub fn find_active_or_latest(new_rs: Option<&ReplicaSet>, old: &[ReplicaSet]) -> Option<ReplicaSet> {
    if old.is_empty() && new_rs.is_none() {
        return None;
    }
    let mut sorted: Vec<&ReplicaSet> = old.iter().collect();
    sorted.sort_by(|a, b| by_creation(b, a));
    let all: Vec<&ReplicaSet> = sorted.iter().copied().chain(new_rs).collect();
    let act = active(all);
    match act.len() {
        0 => new_rs.or(sorted.first().copied()).cloned(),
        1 => Some(act[0].clone()),
        _ => None,
    }
}

// ---- strategy math ---------------------------------------------------------------------

/// Whether the strategy is RollingUpdate (the default).
pub fn is_rolling_update(d: &Deployment) -> bool {
    strategy_type(d) == "RollingUpdate"
}

/// The strategy type (RollingUpdate when unset).
pub fn strategy_type(d: &Deployment) -> String {
    d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.type_.clone()).unwrap_or_else(|| "RollingUpdate".into())
}

/// Upstream `GetScaledValueFromIntOrPercent`.
pub fn scaled_value(v: &IntOrString, total: i32, round_up: bool) -> Result<i32> {
    match v {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let pct = s.strip_suffix('%').ok_or_else(|| Error::Invalid(format!("invalid type: string is not a percentage: {s:?}")))?;
            let p: f64 = pct.parse::<i64>().map_err(|_| Error::Invalid(format!("invalid value for IntOrString: {s:?}")))? as f64;
            let x = p * f64::from(total) / 100.0;
            Ok(if round_up { x.ceil() } else { x.floor() } as i32)
        }
    }
}

/// Upstream `ResolveFenceposts`: (maxSurge, maxUnavailable) in pods; both zero becomes one
/// unavailable.
pub fn resolve_fenceposts(surge: Option<&IntOrString>, unavailable: Option<&IntOrString>, desired: i32) -> Result<(i32, i32)> {
    let zero = IntOrString::Int(0);
    let s = scaled_value(surge.unwrap_or(&zero), desired, true)?;
    let u = scaled_value(unavailable.unwrap_or(&zero), desired, false)?;
    Ok(if s == 0 && u == 0 { (0, 1) } else { (s, u) })
}

fn fenceposts(d: &Deployment) -> (i32, i32) {
    let ru = d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.rolling_update.as_ref());
    let pct = IntOrString::String("25%".into());
    let surge = ru.map_or(Some(&pct), |r| r.max_surge.as_ref());
    let unavailable = ru.map_or(Some(&pct), |r| r.max_unavailable.as_ref());
    resolve_fenceposts(surge, unavailable, d_replicas(d)).unwrap_or((0, 0))
}

/// Upstream `MaxUnavailable`: 0 unless rolling; never above replicas.
pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling_update(d) || d_replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(d_replicas(d))
}

/// Upstream `MaxSurge`: 0 unless rolling.
pub fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling_update(d) {
        return 0;
    }
    fenceposts(d).0
}

/// Upstream `NewRSNewReplicas`: how big the new ReplicaSet may be now.
pub fn new_rs_new_replicas(d: &Deployment, all: &[&ReplicaSet], new_rs: &ReplicaSet) -> i32 {
    if !is_rolling_update(d) {
        return d_replicas(d);
    }
    let current = replica_count(all);
    let max_total = d_replicas(d) + max_surge(d);
    if current >= max_total {
        return rs_replicas(new_rs);
    }
    let up = (max_total - current).min(d_replicas(d) - rs_replicas(new_rs));
    rs_replicas(new_rs) + up
}

/// Upstream `IsSaturated`: the new ReplicaSet has all desired pods, all available.
pub fn is_saturated(d: &Deployment, rs: Option<&ReplicaSet>) -> bool {
    let Some(rs) = rs else { return false };
    let desired = desired_replicas_annotation(rs);
    desired == Some(d_replicas(d)) && rs_replicas(rs) == d_replicas(d) && status_of(rs).2 == d_replicas(d)
}

fn round_half_away(x: f64) -> i32 {
    if x < 0.0 {
        (x - 0.5) as i32
    } else {
        (x + 0.5) as i32
    }
}

fn rs_fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
    if d_replicas(d) == 0 {
        return -rs_replicas(rs);
    }
    let deployment_replicas = d_replicas(d) + max_surge(d);
    let annotated = max_replicas_annotation(rs).unwrap_or_else(|| d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
    if annotated == 0 {
        return 0;
    }
    let size = f64::from(rs_replicas(rs)) * f64::from(deployment_replicas) / f64::from(annotated);
    round_half_away(size) - rs_replicas(rs)
}

/// Upstream `GetProportion`: how many of `to_add` replicas this ReplicaSet takes.
pub fn proportion(rs: &ReplicaSet, d: &Deployment, to_add: i32, added: i32) -> i32 {
    if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = rs_fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// Upstream proportional scaling: the new size of each active ReplicaSet (by name) when the
/// Deployment's replicas changed mid-rollout. `active` must be the active ReplicaSets.
pub fn proportional_sizes(d: &Deployment, mut active: Vec<ReplicaSet>) -> Vec<(ReplicaSet, i32)> {
    let current: i32 = active.iter().map(rs_replicas).sum();
    let allowed = if d_replicas(d) > 0 { d_replicas(d) + max_surge(d) } else { 0 };
    let to_add = allowed - current;
    match to_add.cmp(&0) {
        Ordering::Greater => active.sort_by(by_size_newer),
        Ordering::Less => active.sort_by(by_size_older),
        Ordering::Equal => {}
    }
    let mut added = 0;
    let mut sizes: Vec<i32> = Vec::with_capacity(active.len());
    for rs in &active {
        let p = if to_add != 0 { proportion(rs, d, to_add, added) } else { 0 };
        sizes.push(rs_replicas(rs) + p);
        added += p;
    }
    if to_add != 0 {
        if let Some(first) = sizes.first_mut() {
            *first = (*first + to_add - added).max(0);
        }
    }
    active.into_iter().zip(sizes).collect()
}

// ---- annotations -------------------------------------------------------------------------

/// Upstream `ReplicasAnnotationsNeedUpdate`.
pub fn replicas_annotations_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    annotation(rs, DESIRED_REPLICAS) != Some(desired.to_string().as_str()) || annotation(rs, MAX_REPLICAS) != Some(max.to_string().as_str())
}

/// Upstream `SetReplicasAnnotations`; true when something changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let a = rs.metadata.annotations.get_or_insert_with(Default::default);
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired.to_string()), (MAX_REPLICAS, max.to_string())] {
        if a.get(k) != Some(&v) {
            a.insert(k.into(), v);
            changed = true;
        }
    }
    changed
}

fn copy_deployment_annotations(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let a = rs.metadata.annotations.get_or_insert_with(Default::default);
    let mut changed = false;
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if ANNOTATIONS_TO_SKIP.contains(&k.as_str()) || a.get(k) == Some(v) {
            continue;
        }
        a.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// Upstream `SetNewReplicaSetAnnotations`: copies the Deployment's annotations, raises the
/// revision (keeping earlier ones in revision-history when a ReplicaSet is reused, i.e. a
/// rollback), and on creation sets the replica annotations. True when something changed.
pub fn set_new_rs_annotations(d: &Deployment, rs: &mut ReplicaSet, new_revision: &str, exists: bool, limit: usize) -> bool {
    let mut changed = copy_deployment_annotations(d, rs);
    let a = rs.metadata.annotations.get_or_insert_with(Default::default);
    let old = a.get(REVISION).cloned();
    let old_num: i64 = match old.as_deref().map(str::parse::<i64>) {
        Some(Err(_)) => return false,
        Some(Ok(n)) => n,
        None => 0,
    };
    let Ok(new_num) = new_revision.parse::<i64>() else { return false };
    if old_num < new_num {
        a.insert(REVISION.into(), new_revision.into());
        changed = true;
    }
    if let Some(old) = old.filter(|_| old_num < new_num) {
        let history = a.get(REVISION_HISTORY).cloned().unwrap_or_default();
        if history.is_empty() {
            a.insert(REVISION_HISTORY.into(), old);
        } else {
            let mut parts: Vec<&str> = history.split(',').collect();
            let mut total = history.len() + old.len() + 1;
            let mut start = 0;
            while total > limit && start < parts.len() {
                total -= parts[start].len() + 1;
                start += 1;
            }
            if total <= limit {
                parts = parts.split_off(start);
                parts.push(&old);
                a.insert(REVISION_HISTORY.into(), parts.join(","));
            }
        }
    }
    if !exists && set_replicas_annotations(rs, d_replicas(d), d_replicas(d) + max_surge(d)) {
        changed = true;
    }
    changed
}

/// The Deployment's revision annotation.
pub fn deployment_revision(d: &Deployment) -> Option<&str> {
    d.metadata.annotations.as_ref().and_then(|a| a.get(REVISION)).map(String::as_str)
}

// ---- conditions and progress -------------------------------------------------------------

/// A condition stamped now (upstream `NewDeploymentCondition`).
pub fn new_condition(type_: &str, status: &str, reason: &str, message: impl Into<String>, at: Timestamp) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_update_time: Some(Time(at)),
        last_transition_time: Some(Time(at)),
    }
}

/// The condition of `type_`.
pub fn get_condition<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

/// Upstream `SetDeploymentCondition`: same status and reason keeps the old one; same status
/// keeps its transition time.
pub fn set_condition(status: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    if let Some(cur) = get_condition(status, &cond.type_) {
        if cur.status == cond.status && cur.reason == cond.reason {
            return;
        }
        if cur.status == cond.status {
            cond.last_transition_time = cur.last_transition_time.clone();
        }
    }
    remove_condition(status, &cond.type_);
    status.conditions.get_or_insert_with(Vec::new).push(cond);
}

/// Upstream `RemoveDeploymentCondition`.
pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(cs) = status.conditions.as_mut() {
        cs.retain(|c| c.type_ != type_);
    }
}

/// progressDeadlineSeconds is set and not MaxInt32.
pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.progress_deadline_seconds).is_some_and(|p| p != i32::MAX)
}

/// revisionHistoryLimit is set and not MaxInt32.
pub fn has_revision_history_limit(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.revision_history_limit).is_some_and(|p| p != i32::MAX)
}

fn n(v: Option<i32>) -> i32 {
    v.unwrap_or(0)
}

/// Upstream `DeploymentComplete`.
pub fn deployment_complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    let r = d_replicas(d);
    n(s.updated_replicas) == r && n(s.replicas) == r && n(s.available_replicas) == r && s.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Upstream `DeploymentProgressing`: more updated, fewer old, more ready or more available
/// replicas than the stored status.
pub fn deployment_progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old = n(old.replicas) - n(old.updated_replicas);
    let new_old = n(new.replicas) - n(new.updated_replicas);
    n(new.updated_replicas) > n(old.updated_replicas) || new_old < old_old || n(new.ready_replicas) > n(old.ready_replicas) || n(new.available_replicas) > n(old.available_replicas)
}

/// Upstream `DeploymentTimedOut`.
pub fn deployment_timed_out(d: &Deployment, s: &DeploymentStatus, now: Timestamp) -> bool {
    if !has_progress_deadline(d) {
        return false;
    }
    let Some(c) = get_condition(s, PROGRESSING) else { return false };
    match c.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => return false,
        Some(TIMED_OUT) => return true,
        _ => {}
    }
    let deadline = i64::from(d.spec.as_ref().and_then(|s| s.progress_deadline_seconds).unwrap_or(0));
    c.last_update_time.as_ref().is_some_and(|t| t.0.as_second() + deadline < now.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStrategy, ReplicaSetSpec, ReplicaSetStatus, RollingUpdateDeployment};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn deployment(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
        Deployment {
            metadata: ObjectMeta { name: Some("d".into()), generation: Some(1), ..Default::default() },
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment { max_surge: Some(surge), max_unavailable: Some(unavailable) }),
                }),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn rs(name: &str, replicas: i32, created: i64, annotations: &[(&str, &str)]) -> ReplicaSet {
        ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.into()),
                uid: Some(name.into()),
                creation_timestamp: Some(Time(Timestamp::from_second(created).unwrap())),
                annotations: Some(annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec { replicas: Some(replicas), ..Default::default() }),
            status: Some(ReplicaSetStatus { replicas, available_replicas: Some(replicas), ..Default::default() }),
        }
    }

    fn pct(s: &str) -> IntOrString {
        IntOrString::String(s.into())
    }

    #[test]
    fn hash_is_stable_safe_and_collision_sensitive() {
        let t = PodTemplateSpec::default();
        let h = compute_hash(&t, None);
        assert_eq!(h, compute_hash(&t, None));
        assert!(h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)), "{h}");
        assert!((8..=10).contains(&h.len()), "{h}");
        assert_ne!(h, compute_hash(&t, Some(1)));
        assert_eq!(safe_encode("0123"), "4567");
        assert_eq!(fnv32a(b"", 2_166_136_261), 2_166_136_261);
        assert_eq!(fnv32a(b"a", 2_166_136_261), 0xe40c292c);
    }

    #[test]
    fn equal_ignore_hash_ignores_only_the_hash_label() {
        let mut a = PodTemplateSpec { metadata: Some(ObjectMeta { labels: Some([("app".into(), "x".into())].into()), ..Default::default() }), spec: None };
        let mut b = a.clone();
        b.metadata.as_mut().unwrap().labels.as_mut().unwrap().insert(POD_TEMPLATE_HASH.into(), "abc".into());
        assert!(equal_ignore_hash(&a, &b));
        a.metadata.as_mut().unwrap().labels.as_mut().unwrap().insert("v".into(), "2".into());
        assert!(!equal_ignore_hash(&a, &b));
        let empty = PodTemplateSpec { metadata: Some(ObjectMeta { labels: Some([(POD_TEMPLATE_HASH.into(), "h".into())].into()), ..Default::default() }), spec: None };
        assert!(equal_ignore_hash(&empty, &PodTemplateSpec { metadata: Some(ObjectMeta::default()), spec: None }));
    }

    #[test]
    fn surge_and_unavailable_math() {
        assert_eq!(scaled_value(&pct("25%"), 10, true).unwrap(), 3);
        assert_eq!(scaled_value(&pct("25%"), 10, false).unwrap(), 2);
        assert_eq!(scaled_value(&IntOrString::Int(4), 10, false).unwrap(), 4);
        assert!(scaled_value(&pct("25"), 10, false).is_err());
        assert_eq!(resolve_fenceposts(Some(&pct("25%")), Some(&pct("25%")), 2).unwrap(), (1, 0));
        assert_eq!(resolve_fenceposts(Some(&IntOrString::Int(0)), Some(&pct("10%")), 5).unwrap(), (0, 1));
        let d = deployment(10, pct("25%"), pct("25%"));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (3, 2));
        let d = deployment(2, IntOrString::Int(0), IntOrString::Int(5));
        assert_eq!(max_unavailable(&d), 2, "capped at replicas");
        let mut recreate = d.clone();
        recreate.spec.as_mut().unwrap().strategy.as_mut().unwrap().type_ = Some("Recreate".into());
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
    }

    #[test]
    fn new_rs_grows_within_surge() {
        let d = deployment(10, IntOrString::Int(3), IntOrString::Int(2));
        let old = rs("old", 10, 1, &[]);
        let new = rs("new", 0, 2, &[]);
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], &new), 3);
        let new5 = rs("new", 5, 2, &[]);
        let old8 = rs("old", 8, 1, &[]);
        assert_eq!(new_rs_new_replicas(&d, &[&old8, &new5], &new5), 5, "13 pods already: no growth");
        let old3 = rs("old", 3, 1, &[]);
        assert_eq!(new_rs_new_replicas(&d, &[&old3, &new5], &new5), 10);
    }

    #[test]
    fn proportional_scaling_keeps_ratio() {
        // 10 replicas mid-rollout (old 8 + new 5 with surge 3) scaled to 20 (surge 3 -> 5)
        let mut d = deployment(20, IntOrString::Int(3), IntOrString::Int(2));
        d.status = Some(DeploymentStatus { replicas: Some(13), ..Default::default() });
        let old = rs("old", 8, 1, &[(MAX_REPLICAS, "13")]);
        let new = rs("new", 5, 2, &[(MAX_REPLICAS, "13")]);
        let sizes = proportional_sizes(&d, vec![old, new]);
        let total: i32 = sizes.iter().map(|(_, s)| s).sum();
        assert_eq!(total, 23);
        let by_name: std::collections::HashMap<String, i32> = sizes.iter().map(|(r, s)| (r.metadata.name.clone().unwrap(), *s)).collect();
        assert_eq!((by_name["old"], by_name["new"]), (14, 9));
        // scaling down to 0 empties everything
        let mut zero = d.clone();
        zero.spec.as_mut().unwrap().replicas = Some(0);
        let sizes = proportional_sizes(&zero, vec![rs("old", 8, 1, &[]), rs("new", 5, 2, &[])]);
        assert!(sizes.iter().all(|(_, s)| *s == 0), "{:?}", sizes.iter().map(|x| x.1).collect::<Vec<_>>());
    }

    #[test]
    fn active_or_latest_and_saturation() {
        let d = deployment(3, pct("25%"), pct("25%"));
        let new = rs("new", 3, 5, &[(DESIRED_REPLICAS, "3")]);
        assert!(is_saturated(&d, Some(&new)));
        assert!(!is_saturated(&d, Some(&rs("new", 3, 5, &[]))));
        let old = [rs("a", 0, 1, &[]), rs("b", 0, 2, &[])];
        assert_eq!(find_active_or_latest(None, &old).unwrap().metadata.name.as_deref(), Some("b"));
        assert_eq!(find_active_or_latest(Some(&new), &old).unwrap().metadata.name.as_deref(), Some("new"));
        let two = [rs("a", 1, 1, &[])];
        assert!(find_active_or_latest(Some(&new), &two).is_none());
    }

    #[test]
    fn revision_annotations_and_history() {
        let d = Deployment { metadata: ObjectMeta { annotations: Some([("team".into(), "x".into()), (REVISION.into(), "9".into())].into()), ..Default::default() }, ..deployment(3, pct("25%"), pct("25%")) };
        let mut fresh = rs("r", 0, 1, &[]);
        assert!(set_new_rs_annotations(&d, &mut fresh, "1", false, MAX_REV_HISTORY_CHARS));
        let a = fresh.metadata.annotations.clone().unwrap();
        assert_eq!((a[REVISION].as_str(), a["team"].as_str(), a[DESIRED_REPLICAS].as_str(), a[MAX_REPLICAS].as_str()), ("1", "x", "3", "4"));
        assert!(!set_new_rs_annotations(&d, &mut fresh, "1", true, MAX_REV_HISTORY_CHARS));
        // rolled back to: revision 1 becomes 3, history keeps 1
        assert!(set_new_rs_annotations(&d, &mut fresh, "3", true, MAX_REV_HISTORY_CHARS));
        assert!(set_new_rs_annotations(&d, &mut fresh, "5", true, MAX_REV_HISTORY_CHARS));
        let a = fresh.metadata.annotations.unwrap();
        assert_eq!((a[REVISION].as_str(), a[REVISION_HISTORY].as_str()), ("5", "1,3"));
        let mut long = rs("r", 0, 1, &[(REVISION, "7"), (REVISION_HISTORY, "1,2,3,4,5,6")]);
        set_new_rs_annotations(&d, &mut long, "8", true, 8);
        assert_eq!(long.metadata.annotations.unwrap()[REVISION_HISTORY], "4,5,6,7");
    }

    #[test]
    fn conditions_keep_transition_time_and_progress_checks() {
        let t0 = Timestamp::from_second(100).unwrap();
        let t1 = Timestamp::from_second(200).unwrap();
        let mut s = DeploymentStatus::default();
        set_condition(&mut s, new_condition(PROGRESSING, "True", NEW_REPLICA_SET, "created", t0));
        set_condition(&mut s, new_condition(PROGRESSING, "True", REPLICA_SET_UPDATED, "progressing", t1));
        let c = get_condition(&s, PROGRESSING).unwrap();
        assert_eq!((c.reason.as_deref(), c.last_transition_time.as_ref().unwrap().0, c.last_update_time.as_ref().unwrap().0), (Some(REPLICA_SET_UPDATED), t0, t1));
        let mut d = deployment(3, pct("25%"), pct("25%"));
        d.spec.as_mut().unwrap().progress_deadline_seconds = Some(600);
        assert!(!deployment_timed_out(&d, &s, Timestamp::from_second(700).unwrap()));
        assert!(deployment_timed_out(&d, &s, Timestamp::from_second(801).unwrap()));
        let done = DeploymentStatus { replicas: Some(3), updated_replicas: Some(3), available_replicas: Some(3), observed_generation: Some(1), ..Default::default() };
        assert!(deployment_complete(&d, &done));
        assert!(deployment_progressing(&d, &done));
    }

    #[test]
    fn find_new_picks_oldest_matching_template() {
        let template = PodTemplateSpec { metadata: Some(ObjectMeta { labels: Some([("app".into(), "x".into())].into()), ..Default::default() }), spec: None };
        let mut d = deployment(1, pct("25%"), pct("25%"));
        d.spec.as_mut().unwrap().template = template.clone();
        let mut a = rs("a", 1, 5, &[]);
        let mut b = rs("b", 1, 3, &[]);
        let c = rs("c", 1, 1, &[]);
        a.spec.as_mut().unwrap().template = Some(template.clone());
        b.spec.as_mut().unwrap().template = Some(template);
        let all = vec![a, b, c];
        assert_eq!(find_new_rs(&d, &all).unwrap().metadata.name.as_deref(), Some("b"));
        let old: Vec<_> = find_old_rss(&d, &all).into_iter().map(|r| r.metadata.name.unwrap()).collect();
        assert_eq!(old, ["a", "c"]);
    }
}
