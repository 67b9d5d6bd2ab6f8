//! A ReplicaSet's status from its pods (upstream `calculateStatus`), pure.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::pod_util::{is_pod_available, is_pod_ready};

/// The ReplicaFailure condition type.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// `Some(n)` unless zero (Go's `omitempty` on these counters).
fn count(n: usize) -> Option<i32> {
    (n > 0).then_some(n as i32)
}

/// What went wrong creating or deleting pods, for the ReplicaFailure condition.
#[derive(Debug, Clone)]
pub struct ManageFailure {
    /// The error message.
    pub message: String,
}

/// The status a ReplicaSet should report for its active, claimed `pods`.
pub fn calculate(rs: &ReplicaSet, pods: &[Arc<Pod>], failure: Option<&ManageFailure>, now: Timestamp) -> ReplicaSetStatus {
    let spec = rs.spec.clone().unwrap_or_default();
    let template_labels = spec.template.as_ref().and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.clone()).unwrap_or_default();
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let (mut fully_labeled, mut ready, mut available) = (0, 0, 0);
    for pod in pods {
        let labels = pod.metadata.labels.as_ref();
        if template_labels.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v)) {
            fully_labeled += 1;
        }
        if is_pod_ready(pod) {
            ready += 1;
            if is_pod_available(pod, min_ready, now) {
                available += 1;
            }
        }
    }
    let mut status = rs.status.clone().unwrap_or_default();
    let has_failure = status.conditions.as_ref().is_some_and(|cs| cs.iter().any(|c| c.type_ == REPLICA_FAILURE));
    match failure {
        Some(f) if !has_failure => {
            let diff = pods.len() as i64 - i64::from(spec.replicas.unwrap_or(1));
            let reason = if diff < 0 { "FailedCreate" } else if diff > 0 { "FailedDelete" } else { "" };
            let cond = ReplicaSetCondition {
                type_: REPLICA_FAILURE.into(),
                status: "True".into(),
                reason: Some(reason.into()).filter(|r: &String| !r.is_empty()),
                message: Some(f.message.clone()),
                last_transition_time: Some(Time(Timestamp::from_second(now.as_second()).unwrap_or(now))),
            };
            status.conditions.get_or_insert_with(Vec::new).push(cond);
        }
        None if has_failure => {
            if let Some(cs) = status.conditions.as_mut() {
                cs.retain(|c| c.type_ != REPLICA_FAILURE);
            }
            if status.conditions.as_ref().is_some_and(Vec::is_empty) {
                status.conditions = None;
            }
        }
        _ => {}
    }
    status.replicas = pods.len() as i32;
    status.fully_labeled_replicas = count(fully_labeled);
    status.ready_replicas = count(ready);
    status.available_replicas = count(available);
    status
}

/// Whether `new` (with observedGeneration = `generation`) differs from the current status
/// (upstream `updateReplicaSetStatus`'s early return).
pub fn needs_update(current: Option<&ReplicaSetStatus>, new: &ReplicaSetStatus, generation: Option<i64>) -> bool {
    let Some(cur) = current else { return true };
    let n = |v: Option<i32>| v.unwrap_or(0);
    cur.replicas != new.replicas
        || n(cur.fully_labeled_replicas) != n(new.fully_labeled_replicas)
        || n(cur.ready_replicas) != n(new.ready_replicas)
        || n(cur.available_replicas) != n(new.available_replicas)
        || cur.observed_generation != generation
        || cur.conditions.clone().unwrap_or_default() != new.conditions.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSetSpec;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn rs(min_ready: i32) -> ReplicaSet {
        ReplicaSet {
            spec: Some(ReplicaSetSpec {
                replicas: Some(3),
                min_ready_seconds: Some(min_ready),
                template: Some(PodTemplateSpec {
                    metadata: Some(ObjectMeta { labels: Some([("app".into(), "web".into()), ("tier".into(), "fe".into())].into()), ..Default::default() }),
                    spec: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn pod(labels: &[(&str, &str)], ready_since: Option<i64>) -> Arc<Pod> {
        let mut p = Pod::default();
        p.metadata.labels = Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        p.status = Some(PodStatus {
            conditions: ready_since.map(|t| vec![PodCondition { type_: "Ready".into(), status: "True".into(), last_transition_time: Some(Time(ts(t))), ..Default::default() }]),
            ..Default::default()
        });
        Arc::new(p)
    }

    #[test]
    fn counts_labels_readiness_and_availability() {
        let pods = vec![pod(&[("app", "web"), ("tier", "fe")], Some(100)), pod(&[("app", "web")], Some(195)), pod(&[("app", "web"), ("tier", "fe"), ("x", "y")], None)];
        let s = calculate(&rs(10), &pods, None, ts(200));
        assert_eq!((s.replicas, s.fully_labeled_replicas, s.ready_replicas, s.available_replicas), (3, Some(2), Some(2), Some(1)));
        assert!(needs_update(None, &s, Some(1)));
        let mut with_gen = s.clone();
        with_gen.observed_generation = Some(1);
        assert!(!needs_update(Some(&with_gen), &s, Some(1)));
    }

    #[test]
    fn replica_failure_condition_comes_and_goes() {
        let failure = ManageFailure { message: "quota".into() };
        let mut r = rs(0);
        let s = calculate(&r, &[], Some(&failure), ts(5));
        let c = &s.conditions.as_ref().unwrap()[0];
        assert_eq!((c.type_.as_str(), c.reason.as_deref(), c.message.as_deref()), ("ReplicaFailure", Some("FailedCreate"), Some("quota")));
        r.status = Some(s);
        assert_eq!(calculate(&r, &[], Some(&failure), ts(6)).conditions.unwrap().len(), 1, "not duplicated");
        assert_eq!(calculate(&r, &[], None, ts(7)).conditions, None);
    }
}
