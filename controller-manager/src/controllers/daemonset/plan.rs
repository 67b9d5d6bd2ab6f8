//! What one DaemonSet sync does (upstream `daemon_controller.go` `podsShouldBeOnNode`
//! and `update.go` `rollingUpdate` without surge), and the status it reports, as pure
//! functions of each node's placement and daemon pods.

use super::placement::Placement;

/// One daemon pod as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonPod {
    /// Pod name.
    pub name: String,
    /// Creation order key (RFC 3339 creation time then name): oldest first.
    pub age_key: String,
    /// Has a deletionTimestamp.
    pub terminating: bool,
    /// Phase Failed (or Succeeded): replaced.
    pub finished: bool,
    /// Carries the DaemonSet's current template hash.
    pub updated: bool,
    /// Ready for at least minReadySeconds.
    pub available: bool,
    /// Condition Ready=True.
    pub ready: bool,
}

/// One node with its placement and daemon pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePods {
    /// Node name.
    pub node: String,
    /// Whether the daemon belongs there.
    pub placement: Placement,
    /// Daemon pods bound (or pinned) to it.
    pub pods: Vec<DaemonPod>,
}

/// Pods to create and delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Nodes that need a daemon pod.
    pub create_on: Vec<String>,
    /// Pods to delete.
    pub delete: Vec<String>,
}

/// The counters of DaemonSet status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Nodes that should run the daemon.
    pub desired: i32,
    /// Of those, nodes running one.
    pub current: i32,
    /// Nodes running one that should not.
    pub misscheduled: i32,
    /// Nodes whose oldest daemon pod is Ready.
    pub ready: i32,
    /// Nodes whose oldest daemon pod is available.
    pub available: i32,
    /// Nodes whose oldest daemon pod has the current template.
    pub updated: i32,
}

fn live(pods: &[DaemonPod]) -> Vec<&DaemonPod> {
    let mut v: Vec<_> = pods.iter().filter(|p| !p.terminating).collect();
    v.sort_by(|a, b| a.age_key.cmp(&b.age_key));
    v
}

/// Creations and deletions that make each node hold exactly what it should
/// (upstream `podsShouldBeOnNode`).
pub fn manage(nodes: &[NodePods]) -> Plan {
    let mut plan = Plan::default();
    for n in nodes {
        let exists = !n.pods.is_empty();
        if n.placement.should_run && !exists {
            plan.create_on.push(n.node.clone());
        } else if n.placement.should_continue {
            let running: Vec<_> = live(&n.pods);
            let (finished, healthy): (Vec<_>, Vec<_>) = running.into_iter().partition(|p| p.finished);
            plan.delete.extend(finished.iter().map(|p| p.name.clone()));
            // Keep the oldest pod, preferring one with the current template.
            let keep = healthy.iter().find(|p| p.updated).or(healthy.first()).map(|p| p.name.clone());
            plan.delete.extend(healthy.iter().filter(|p| Some(&p.name) != keep.as_ref()).map(|p| p.name.clone()));
        } else if exists {
            plan.delete.extend(live(&n.pods).iter().map(|p| p.name.clone()));
        }
    }
    plan
}

/// Old pods to delete for a RollingUpdate with `max_unavailable` (no surge): unavailable old
/// pods at once, available ones while the unavailable budget lasts.
pub fn rolling_update(nodes: &[NodePods], max_unavailable: i32) -> Vec<String> {
    let mut unavailable = 0;
    let mut replace_now = Vec::new();
    let mut candidates = Vec::new();
    for n in nodes.iter().filter(|n| n.placement.should_run) {
        let pods = live(&n.pods);
        let new = pods.iter().filter(|p| p.updated).count();
        let old: Vec<_> = pods.iter().filter(|p| !p.updated).collect();
        match (new, old.len()) {
            (0, 0) => unavailable += 1,
            (1, 0) => unavailable += usize::from(!pods[0].available) as i32,
            (0, 1) if !old[0].available => {
                unavailable += 1;
                replace_now.push(old[0].name.clone());
            }
            (0, 1) => candidates.push(old[0].name.clone()),
            _ => unavailable += 1,
        }
    }
    let budget = (max_unavailable - unavailable).max(0) as usize;
    replace_now.extend(candidates.into_iter().take(budget));
    replace_now
}

/// Status counters (upstream `updateDaemonSetStatus`), looking at each node's oldest pod.
pub fn counts(nodes: &[NodePods]) -> Counts {
    let mut c = Counts::default();
    for n in nodes {
        let pods = live(&n.pods);
        if n.placement.should_run {
            c.desired += 1;
            if let Some(p) = pods.first() {
                c.current += 1;
                c.ready += i32::from(p.ready);
                c.available += i32::from(p.available);
                c.updated += i32::from(p.updated);
            }
        } else if !pods.is_empty() {
            c.misscheduled += 1;
        }
    }
    c
}

/// `maxUnavailable` as a pod count (percentages of `desired` round up; at least 1).
pub fn max_unavailable(value: Option<&k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>, desired: i32) -> i32 {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let n = match value {
        None => 1,
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            ((pct * i64::from(desired) + 99) / 100) as i32
        }
    };
    n.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: Placement = Placement { should_run: true, should_continue: true };
    const NO: Placement = Placement { should_run: false, should_continue: false };

    fn pod(name: &str, age: &str, updated: bool, available: bool) -> DaemonPod {
        DaemonPod { name: name.into(), age_key: age.into(), terminating: false, finished: false, updated, available, ready: available }
    }

    fn node(name: &str, placement: Placement, pods: Vec<DaemonPod>) -> NodePods {
        NodePods { node: name.into(), placement, pods }
    }

    #[test]
    fn one_pod_per_eligible_node() {
        let nodes = vec![
            node("a", RUN, vec![]),
            node("b", RUN, vec![pod("p1", "1", true, true), pod("p2", "2", true, true)]),
            node("c", NO, vec![pod("p3", "1", true, true)]),
        ];
        let plan = manage(&nodes);
        assert_eq!(plan.create_on, ["a"]);
        assert_eq!(plan.delete, ["p2", "p3"]);
        let c = counts(&nodes);
        assert_eq!(c, Counts { desired: 2, current: 1, misscheduled: 1, ready: 1, available: 1, updated: 1 });
    }

    #[test]
    fn failed_pods_replaced_terminating_waited() {
        let mut failed = pod("p1", "1", true, false);
        failed.finished = true;
        assert_eq!(manage(&[node("a", RUN, vec![failed])]).delete, ["p1"]);
        let mut going = pod("p1", "1", true, false);
        going.terminating = true;
        assert_eq!(manage(&[node("a", RUN, vec![going])]), Plan::default());
    }

    #[test]
    fn rolling_update_budget() {
        let nodes = vec![
            node("a", RUN, vec![pod("a1", "1", false, true)]),
            node("b", RUN, vec![pod("b1", "1", false, true)]),
            node("c", RUN, vec![pod("c1", "1", false, false)]),
        ];
        // c1 is unavailable: replaced at once, using up the budget of 1.
        assert_eq!(rolling_update(&nodes, 1), ["c1"]);
        assert_eq!(rolling_update(&nodes, 2), ["c1", "a1"]);
        let nodes = vec![node("a", RUN, vec![pod("a2", "2", true, false)]), node("b", RUN, vec![pod("b1", "1", false, true)])];
        assert!(rolling_update(&nodes, 1).is_empty());
        use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
        assert_eq!(max_unavailable(Some(&IntOrString::String("10%".into())), 15), 2);
        assert_eq!(max_unavailable(Some(&IntOrString::Int(0)), 15), 1);
    }
}
