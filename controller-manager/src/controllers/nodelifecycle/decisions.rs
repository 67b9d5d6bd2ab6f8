//! The decisions of node lifecycle (upstream `node_lifecycle_controller.go`): when a node's
//! kubelet counts as silent (neither its Lease nor its Ready heartbeat changed within the
//! grace period, timed by this controller's own clock as upstream does), what its
//! conditions become, and which taints its conditions call for.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Taint on nodes whose Ready condition is False.
pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
/// Taint on nodes whose Ready condition is Unknown.
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
/// Conditions upstream turns Unknown when the kubelet goes silent.
pub const WATCHED_CONDITIONS: &[&str] = &["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// NoSchedule taints that mirror a condition (upstream `nodeConditionToTaintKeyStatusMap`).
const CONDITION_TAINTS: &[(&str, &str, &str)] = &[
    ("Ready", "False", NOT_READY_TAINT),
    ("Ready", "Unknown", UNREACHABLE_TAINT),
    ("MemoryPressure", "True", "node.kubernetes.io/memory-pressure"),
    ("DiskPressure", "True", "node.kubernetes.io/disk-pressure"),
    ("PIDPressure", "True", "node.kubernetes.io/pid-pressure"),
    ("NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"),
];
/// Taint on nodes marked `spec.unschedulable`.
pub const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";

/// What the controller last saw of a node's kubelet, and when (its own clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The Lease's renewTime last seen.
    pub lease_renew: Option<Timestamp>,
    /// The Ready condition's lastHeartbeatTime last seen.
    pub heartbeat: Option<Timestamp>,
    /// When either last changed, by this controller's clock.
    pub probe: Timestamp,
}

/// Folds a new look at the node into the previous observation: the probe time moves to
/// `now` when the lease or heartbeat changed (or on the first look).
pub fn observe(prev: Option<&Observation>, lease_renew: Option<Timestamp>, heartbeat: Option<Timestamp>, now: Timestamp) -> Observation {
    match prev {
        Some(p) if p.lease_renew == lease_renew && p.heartbeat == heartbeat => p.clone(),
        _ => Observation { lease_renew, heartbeat, probe: now },
    }
}

/// Whether the kubelet has been silent longer than `grace`.
pub fn is_silent(obs: &Observation, now: Timestamp, grace: Duration) -> bool {
    now.as_second() - obs.probe.as_second() > grace.as_secs() as i64
}

/// A node condition by type.
pub fn condition<'a>(node: &'a Node, kind: &str) -> Option<&'a NodeCondition> {
    node.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == kind)
}

/// The Ready condition's status ("True", "False", "Unknown"; missing counts as Unknown).
pub fn ready_status(node: &Node) -> &str {
    condition(node, "Ready").map(|c| c.status.as_str()).unwrap_or("Unknown")
}

/// Sets the watched conditions to Unknown as upstream does for a silent kubelet; returns
/// whether anything changed.
pub fn mark_unknown(node: &mut Node, now: Timestamp) -> bool {
    let conditions = node.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new);
    let mut changed = false;
    for kind in WATCHED_CONDITIONS {
        match conditions.iter_mut().find(|c| c.type_ == *kind) {
            Some(c) if c.status == "Unknown" => {}
            Some(c) => {
                c.status = "Unknown".into();
                c.reason = Some("NodeStatusUnknown".into());
                c.message = Some("Kubelet stopped posting node status.".into());
                c.last_transition_time = Some(Time(now));
                changed = true;
            }
            None => {
                conditions.push(NodeCondition {
                    type_: (*kind).into(),
                    status: "Unknown".into(),
                    reason: Some("NodeStatusNeverUpdated".into()),
                    message: Some("Kubelet never posted node status.".into()),
                    last_heartbeat_time: Some(Time(now)),
                    last_transition_time: Some(Time(now)),
                });
                changed = true;
            }
        }
    }
    changed
}

fn taint(key: &str, effect: &str, added: Option<Timestamp>) -> Taint {
    Taint { key: key.into(), effect: effect.into(), value: None, time_added: added.map(Time) }
}

/// The taints node lifecycle manages that the node's conditions call for: the NoExecute
/// not-ready/unreachable taint (taint-based eviction), and NoSchedule taints mirroring
/// conditions and `spec.unschedulable`. A condition the node does not report yet (a node
/// whose kubelet never posted status, still within its startup grace) calls for nothing.
pub fn desired_taints(node: &Node, now: Timestamp) -> Vec<Taint> {
    let mut out = Vec::new();
    match condition(node, "Ready").map(|c| c.status.as_str()) {
        Some("False") => out.push(taint(NOT_READY_TAINT, "NoExecute", Some(now))),
        Some("True") | None => {}
        Some(_) => out.push(taint(UNREACHABLE_TAINT, "NoExecute", Some(now))),
    }
    for (kind, status, key) in CONDITION_TAINTS {
        if condition(node, kind).is_some_and(|c| c.status == *status) {
            out.push(taint(key, "NoSchedule", None));
        }
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false) {
        out.push(taint(UNSCHEDULABLE_TAINT, "NoSchedule", None));
    }
    out
}

fn managed(t: &Taint) -> bool {
    let keys = CONDITION_TAINTS.iter().map(|(_, _, k)| *k).chain([UNSCHEDULABLE_TAINT]);
    let mut keys = keys;
    keys.any(|k| k == t.key) && (t.effect == "NoSchedule" || (t.effect == "NoExecute" && (t.key == NOT_READY_TAINT || t.key == UNREACHABLE_TAINT)))
}

/// The node's taints after swapping the managed ones for `desired`, or `None` when they
/// already agree (existing taints keep their timeAdded).
pub fn reconcile_taints(current: &[Taint], desired: &[Taint]) -> Option<Vec<Taint>> {
    let key = |t: &Taint| (t.key.clone(), t.effect.clone());
    let have: BTreeMap<_, _> = current.iter().filter(|t| managed(t)).map(|t| (key(t), t)).collect();
    let want: BTreeMap<_, _> = desired.iter().map(|t| (key(t), t)).collect();
    if have.keys().eq(want.keys()) {
        return None;
    }
    let mut out: Vec<Taint> = current.iter().filter(|t| !managed(t) || want.contains_key(&key(t))).cloned().collect();
    out.extend(want.iter().filter(|(k, _)| !have.contains_key(*k)).map(|(_, t)| (*t).clone()));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, NodeStatus};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn node(ready: &str) -> Node {
        Node {
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition { type_: "Ready".into(), status: ready.into(), ..Default::default() }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn silence_is_timed_by_observation() {
        let t0 = ts("2024-01-01T00:00:00Z");
        let o = observe(None, Some(t0), None, t0);
        let later = ts("2024-01-01T00:00:30Z");
        let o2 = observe(Some(&o), Some(t0), None, later);
        assert_eq!(o2.probe, t0);
        assert!(is_silent(&o2, later, Duration::from_secs(20)));
        assert!(!is_silent(&o2, later, Duration::from_secs(40)));
        let o3 = observe(Some(&o2), Some(later), None, later);
        assert_eq!(o3.probe, later);
    }

    #[test]
    fn unknown_conditions() {
        let mut n = node("True");
        let now = ts("2024-01-01T00:00:00Z");
        assert!(mark_unknown(&mut n, now));
        assert_eq!(ready_status(&n), "Unknown");
        let c = condition(&n, "Ready").unwrap();
        assert_eq!(c.reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(condition(&n, "DiskPressure").unwrap().reason.as_deref(), Some("NodeStatusNeverUpdated"));
        assert!(!mark_unknown(&mut n, now));
    }

    #[test]
    fn taints_follow_conditions() {
        let now = ts("2024-01-01T00:00:00Z");
        let keys = |n: &Node| desired_taints(n, now).into_iter().map(|t| format!("{}:{}", t.key, t.effect)).collect::<Vec<_>>();
        assert!(keys(&node("True")).is_empty());
        assert_eq!(keys(&node("Unknown")), ["node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"]);
        assert_eq!(keys(&node("False")), ["node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/not-ready:NoSchedule"]);
        let mut cordoned = node("True");
        cordoned.spec = Some(NodeSpec { unschedulable: Some(true), ..Default::default() });
        assert_eq!(keys(&cordoned), ["node.kubernetes.io/unschedulable:NoSchedule"]);
    }

    #[test]
    fn taint_reconciliation_keeps_foreign_taints() {
        let now = ts("2024-01-01T00:00:00Z");
        let foreign = Taint { key: "dedicated".into(), effect: "NoSchedule".into(), ..Default::default() };
        let current = vec![foreign.clone(), taint(NOT_READY_TAINT, "NoExecute", Some(now))];
        let desired = desired_taints(&node("Unknown"), now);
        let out = reconcile_taints(&current, &desired).unwrap();
        let keys: Vec<_> = out.iter().map(|t| format!("{}:{}", t.key, t.effect)).collect();
        assert_eq!(keys, ["dedicated:NoSchedule", "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"]);
        assert!(reconcile_taints(&out, &desired).is_none());
        assert!(desired_taints(&Node::default(), now).is_empty(), "no conditions yet, no taints");
        assert_eq!(reconcile_taints(&out, &[]).unwrap(), [foreign]);
    }
}
