//! Pure pod predicates and upstream's deletion ranking (`controller.ActivePodsWithRanks`):
//! which pods a ReplicaSet deletes first when it has too many.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::jiff::Timestamp;

/// The annotation that orders deletion among otherwise equal pods (lower goes first).
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

/// The pod's Ready condition.
pub fn ready_condition(pod: &Pod) -> Option<&PodCondition> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready")
}

/// Whether the pod's Ready condition is True (upstream `IsPodReady`).
pub fn is_pod_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// Whether the pod has been ready for at least `min_ready_seconds` (upstream
/// `IsPodAvailable`).
pub fn is_pod_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    if !is_pod_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    ready_condition(pod)
        .and_then(|c| c.last_transition_time.as_ref())
        .is_some_and(|t| t.0.as_second() + i64::from(min_ready_seconds) < now.as_second())
}

/// Seconds until a ready pod becomes available (None if not ready or already available).
pub fn seconds_until_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<i64> {
    if !is_pod_ready(pod) || is_pod_available(pod, min_ready_seconds, now) {
        return None;
    }
    let since = ready_condition(pod)?.last_transition_time.as_ref()?.0.as_second();
    Some((since + i64::from(min_ready_seconds) - now.as_second() + 1).max(1))
}

/// Not terminated and not being deleted (upstream `IsPodActive`).
pub fn is_pod_active(pod: &Pod) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed") && pod.metadata.deletion_timestamp.is_none()
}

/// The `namespace/name` key of a pod.
pub fn pod_key(pod: &Pod) -> String {
    crate::runtime::key_of(pod)
}

fn node_name(pod: &Pod) -> &str {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("")
}

fn phase_ordinal(pod: &Pod) -> u8 {
    match phase(pod) {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    }
}

fn deletion_cost(pod: &Pod) -> i32 {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(POD_DELETION_COST)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn ready_time(pod: &Pod) -> Option<Timestamp> {
    ready_condition(pod).filter(|c| c.status == "True").and_then(|c| c.last_transition_time.as_ref()).map(|t| t.0)
}

fn created(pod: &Pod) -> Option<Timestamp> {
    pod.metadata.creation_timestamp.as_ref().map(|t| t.0)
}

/// Upstream `afterOrZero`: a zero time sorts first, then the later time.
fn after_or_zero(a: Option<Timestamp>, b: Option<Timestamp>) -> bool {
    match (a, b) {
        (None, _) | (_, None) => a.is_none(),
        (Some(a), Some(b)) => a > b,
    }
}

/// Upstream `logarithmicRankDiff`: compares log2 of the ages in nanoseconds.
fn log_rank_diff(a: Timestamp, b: Timestamp, now: Timestamp) -> i64 {
    let rank = |t: Timestamp| {
        let d = now.as_nanosecond() - t.as_nanosecond();
        if d > 0 {
            (d as f64).log2() as i64
        } else {
            -1
        }
    };
    rank(a) - rank(b)
}

/// Orders two timestamps as upstream does under LogarithmicScaleDown: the more recent
/// (by log2 bucket) is "less"; equal buckets fall back to UID order.
fn compare_times(a: Option<Timestamp>, b: Option<Timestamp>, now: Timestamp, uid_a: &str, uid_b: &str) -> bool {
    match (a, b) {
        (Some(ta), Some(tb)) => {
            let d = log_rank_diff(ta, tb, now);
            if d == 0 {
                uid_a < uid_b
            } else {
                d < 0
            }
        }
        _ => after_or_zero(a, b),
    }
}

fn max_restarts(pod: &Pod) -> (i32, i32) {
    let status = pod.status.as_ref();
    let regular = status.and_then(|s| s.container_statuses.as_ref()).map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0)).unwrap_or(0);
    let sidecars: Vec<&str> = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .map(|ics| ics.iter().filter(|c| c.restart_policy.as_deref() == Some("Always")).map(|c| c.name.as_str()).collect())
        .unwrap_or_default();
    let sidecar = status
        .and_then(|s| s.init_container_statuses.as_ref())
        .map(|cs| cs.iter().filter(|c| sidecars.contains(&c.name.as_str())).map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0);
    (regular, sidecar)
}

/// Upstream `ActivePodsWithRanks.Less`: whether pod `a` (with rank `ra`, the number of
/// related active pods on its node) should be deleted before pod `b`.
pub fn delete_before(a: &Pod, ra: usize, b: &Pod, rb: usize, now: Timestamp) -> bool {
    let (na, nb) = (node_name(a), node_name(b));
    if na != nb && (na.is_empty() || nb.is_empty()) {
        return na.is_empty();
    }
    if phase_ordinal(a) != phase_ordinal(b) {
        return phase_ordinal(a) < phase_ordinal(b);
    }
    if is_pod_ready(a) != is_pod_ready(b) {
        return !is_pod_ready(a);
    }
    if deletion_cost(a) != deletion_cost(b) {
        return deletion_cost(a) < deletion_cost(b);
    }
    if ra != rb {
        return ra > rb;
    }
    let (uid_a, uid_b) = (a.metadata.uid.as_deref().unwrap_or(""), b.metadata.uid.as_deref().unwrap_or(""));
    if is_pod_ready(a) && is_pod_ready(b) && ready_time(a) != ready_time(b) {
        return compare_times(ready_time(a), ready_time(b), now, uid_a, uid_b);
    }
    let (xa, xb) = (max_restarts(a), max_restarts(b));
    if xa.0 != xb.0 {
        return xa.0 > xb.0;
    }
    if xa.1 != xb.1 {
        return xa.1 > xb.1;
    }
    if created(a) != created(b) {
        return compare_times(created(a), created(b), now, uid_a, uid_b);
    }
    false
}

/// Upstream `getPodsToDelete`: the `diff` pods to delete, preferring pods earlier in their
/// lifecycle; `related` are the pods of the owner's sibling ReplicaSets, used to rank pods on
/// crowded nodes first.
pub fn pods_to_delete(mut pods: Vec<Arc<Pod>>, related: &[Arc<Pod>], diff: usize, now: Timestamp) -> Vec<Arc<Pod>> {
    if diff < pods.len() {
        let mut on_node: HashMap<&str, usize> = HashMap::new();
        for p in related.iter().filter(|p| is_pod_active(p)) {
            *on_node.entry(node_name(p)).or_default() += 1;
        }
        let rank = |p: &Pod| on_node.get(node_name(p)).copied().unwrap_or(0);
        let mut ranked: Vec<(usize, Arc<Pod>)> = pods.iter().map(|p| (rank(p), p.clone())).collect();
        ranked.sort_by(|(ra, a), (rb, b)| {
            if delete_before(a, *ra, b, *rb, now) {
                Ordering::Less
            } else if delete_before(b, *rb, a, *ra, now) {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        });
        pods = ranked.into_iter().map(|(_, p)| p).collect();
    }
    pods.truncate(diff);
    pods
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn pod(name: &str, node: &str, phase: &str, ready_since: Option<i64>, created: i64) -> Arc<Pod> {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.uid = Some(name.into());
        p.metadata.creation_timestamp = Some(Time(ts(created)));
        p.spec = Some(PodSpec { node_name: Some(node.into()).filter(|n: &String| !n.is_empty()), ..Default::default() });
        let conditions = ready_since.map(|t| vec![PodCondition { type_: "Ready".into(), status: "True".into(), last_transition_time: Some(Time(ts(t))), ..Default::default() }]);
        p.status = Some(PodStatus { phase: Some(phase.into()), conditions, ..Default::default() });
        Arc::new(p)
    }

    fn names(pods: &[Arc<Pod>]) -> Vec<&str> {
        pods.iter().map(|p| p.metadata.name.as_deref().unwrap()).collect()
    }

    #[test]
    fn unscheduled_then_pending_then_not_ready_then_newest_go_first() {
        let now = ts(100_000);
        let pods = vec![
            pod("running-ready-old", "n1", "Running", Some(1_000), 100),
            pod("running-ready-new", "n1", "Running", Some(99_990), 99_980),
            pod("running-not-ready", "n1", "Running", None, 50),
            pod("pending", "n1", "Pending", None, 60),
            pod("unscheduled", "", "Pending", None, 70),
        ];
        let order = pods_to_delete(pods.clone(), &[], 4, now);
        assert_eq!(names(&order), ["unscheduled", "pending", "running-not-ready", "running-ready-new"]);
        assert_eq!(pods_to_delete(pods.clone(), &[], 9, now).len(), 5, "diff beyond the pods deletes all");
    }

    #[test]
    fn crowded_nodes_and_deletion_cost_rank_first() {
        let now = ts(100_000);
        let a = pod("a", "n1", "Running", Some(1_000), 10);
        let b = pod("b", "n2", "Running", Some(1_000), 10);
        let related = vec![a.clone(), b.clone(), pod("c", "n2", "Running", Some(1_000), 10)];
        assert_eq!(names(&pods_to_delete(vec![a.clone(), b.clone()], &related, 1, now)), ["b"]);
        let mut cheap = (*a).clone();
        cheap.metadata.annotations = Some([(POD_DELETION_COST.to_string(), "-5".to_string())].into());
        assert_eq!(names(&pods_to_delete(vec![b.clone(), Arc::new(cheap)], &related, 1, now)), ["a"]);
    }

    #[test]
    fn availability_respects_min_ready_seconds() {
        let p = pod("p", "n1", "Running", Some(1_000), 10);
        assert!(is_pod_available(&p, 0, ts(1_000)));
        assert!(!is_pod_available(&p, 10, ts(1_005)));
        assert!(is_pod_available(&p, 10, ts(1_011)));
        assert_eq!(seconds_until_available(&p, 10, ts(1_005)), Some(6));
        assert!(!is_pod_available(&pod("q", "n1", "Running", None, 10), 0, ts(5)));
    }

    #[test]
    fn terminal_and_deleting_pods_are_inactive() {
        assert!(is_pod_active(&pod("p", "", "Running", None, 1)));
        assert!(!is_pod_active(&pod("p", "", "Succeeded", None, 1)));
        let mut d = (*pod("p", "", "Running", None, 1)).clone();
        d.metadata.deletion_timestamp = Some(Time(ts(2)));
        assert!(!is_pod_active(&d));
    }
}
