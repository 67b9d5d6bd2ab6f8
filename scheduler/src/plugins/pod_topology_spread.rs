//! PodTopologySpread: `whenUnsatisfiable: DoNotSchedule` constraints filter nodes whose
//! domain would exceed `maxSkew` over the global minimum (with `minDomains`);
//! `ScheduleAnyway` constraints score nodes by how many matching pods their domains hold.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use rkube_apimachinery::label_selector::{LabelSelector, Operator, Requirement};

use rkube_apimachinery::scheduling::{find_untolerated_taint, required_node_affinity_matches};
use crate::framework::fast_hash::FastMap;
use crate::framework::interface::*;
use crate::framework::parallel::chunked;
use crate::framework::pod_index::exact_requirement;
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{json_selector, Labels, NodeInfo, PodInfo};

/// The plugin's name.
pub const NAME: &str = "PodTopologySpread";
/// Upstream's reason when the skew would be exceeded.
pub const ERR_CONSTRAINTS: &str = "node(s) didn't match pod topology spread constraints";
/// Upstream's reason when the node lacks a topology label.
pub const ERR_MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
const HOSTNAME: &str = "kubernetes.io/hostname";
const PRE_FILTER_KEY: &str = "PreFilterPodTopologySpread";
const PRE_SCORE_KEY: &str = "PreScorePodTopologySpread";

/// A parsed constraint (upstream `topologySpreadConstraint`).
#[derive(Clone, Debug)]
pub struct Constraint {
    /// maxSkew.
    pub max_skew: i64,
    /// topologyKey.
    pub topology_key: String,
    /// labelSelector merged with matchLabelKeys.
    pub selector: LabelSelector,
    /// minDomains (1 when unset).
    pub min_domains: i64,
    /// nodeAffinityPolicy == Honor (the default).
    pub honor_node_affinity: bool,
    /// nodeTaintsPolicy == Honor (default Ignore).
    pub honor_node_taints: bool,
}

impl Constraint {
    fn new(c: &TopologySpreadConstraint, pod_labels: &Labels) -> Constraint {
        let mut selector = json_selector(c.label_selector.as_ref());
        let extra: Vec<Requirement> = c
            .match_label_keys
            .iter()
            .flatten()
            .filter_map(|k| {
                pod_labels
                    .get(k)
                    .and_then(|v| Requirement::new(k.clone(), Operator::In, vec![v.clone()]).ok())
            })
            .collect();
        if !extra.is_empty() && !selector.is_nothing() {
            selector = selector.add(extra);
        }
        Constraint {
            max_skew: i64::from(c.max_skew),
            topology_key: c.topology_key.clone(),
            selector,
            min_domains: i64::from(c.min_domains.unwrap_or(1)),
            honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
            honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
        }
    }

    /// Upstream `matchNodeInclusionPolicies`.
    fn includes(&self, pod: &PodInfo, node: &NodeInfo) -> bool {
        if self.honor_node_affinity && !required_node_affinity_matches(pod.pod.spec.as_ref(), &node.labels, &node.name) {
            return false;
        }
        if self.honor_node_taints {
            let hard = |t: &k8s_openapi::api::core::v1::Taint| {
                t.effect == "NoSchedule" || t.effect == "NoExecute"
            };
            if find_untolerated_taint(&node.taints, pod.tolerations(), hard).is_some() {
                return false;
            }
        }
        true
    }
}

/// The pod's constraints with the given whenUnsatisfiable.
pub fn constraints(pod: &PodInfo, action: &str) -> Vec<Constraint> {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.when_unsatisfiable == action)
        .map(|c| Constraint::new(c, &pod.labels))
        .collect()
}

fn has_all_keys(labels: &Labels, cs: &[Constraint]) -> bool {
    cs.iter().all(|c| labels.contains_key(&c.topology_key))
}

/// Upstream `countPodsMatchSelector`: live pods of the namespace matching the selector.
fn count_matching(pods: &[Arc<PodInfo>], sel: &LabelSelector, ns: &str) -> i64 {
    pods.iter()
        .filter(|p| !p.terminating && p.namespace == ns && sel.matches(&p.labels))
        .count() as i64
}

/// Matching live pods per node through the label index (None: the selector has no
/// exact-match requirement, scan instead).
fn indexed_counts<'a>(
    c: &Constraint,
    ns: &str,
    snap: &'a Snapshot,
) -> Option<FastMap<&'a str, i64>> {
    let (k, v) = exact_requirement(&c.selector)?;
    let mut m = FastMap::default();
    for (node, p) in snap.pods.pods_with_label(ns, k, v) {
        if !p.terminating && c.selector.matches(&p.labels) {
            *m.entry(node.as_str()).or_default() += 1;
        }
    }
    Some(m)
}

#[derive(Clone, Default)]
struct PreFilterState {
    constraints: Vec<Constraint>,
    /// 1 when the pod matches its own constraint's selector.
    self_match: Vec<i64>,
    /// Matching pods per domain value, per constraint.
    counts: Vec<FastMap<String, i64>>,
    /// Global minimum per constraint.
    min: Vec<i64>,
}

impl PreFilterState {
    fn recompute_min(&mut self, i: usize) {
        self.min[i] = self.counts[i].values().copied().min().unwrap_or(0);
    }

    fn min_match(&self, i: usize) -> i64 {
        if (self.counts[i].len() as i64) < self.constraints[i].min_domains {
            0
        } else {
            self.min[i]
        }
    }

    fn update(&mut self, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, delta: i64) {
        if other.namespace != pod.namespace || !has_all_keys(&node.labels, &self.constraints) {
            return;
        }
        for i in 0..self.constraints.len() {
            let c = &self.constraints[i];
            if !c.selector.matches(&other.labels) || !c.includes(pod, node) {
                continue;
            }
            let v = node.labels[&c.topology_key].clone();
            *self.counts[i].entry(v).or_default() += delta;
            self.recompute_min(i);
        }
    }
}

/// The plugin.
pub struct PodTopologySpread;

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let cs = constraints(pod, "DoNotSchedule");
        if cs.is_empty() {
            return (None, Status::skip());
        }
        let spec = pod.pod.spec.as_ref();
        let node_constrained = spec
            .and_then(|s| s.node_selector.as_ref())
            .is_some_and(|m| !m.is_empty())
            || spec
                .and_then(|s| s.affinity.as_ref())
                .and_then(|a| a.node_affinity.as_ref())
                .is_some();
        let check_inclusion = cs
            .iter()
            .any(|c| (c.honor_node_affinity && node_constrained) || c.honor_node_taints);
        let indexed: Vec<Option<FastMap<&str, i64>>> = cs
            .iter()
            .map(|c| indexed_counts(c, &pod.namespace, snap))
            .collect();
        let counts = if check_inclusion {
            counts_by_label_scan(&cs, pod, snap, &indexed, check_inclusion)
        } else {
            counts_by_topology_index(&cs, pod, snap, &indexed)
        };
        let self_match = cs
            .iter()
            .map(|c| i64::from(c.selector.matches(&pod.labels)))
            .collect();
        let mut s = PreFilterState {
            min: vec![0; cs.len()],
            constraints: cs,
            counts,
            self_match,
        };
        for i in 0..s.constraints.len() {
            s.recompute_min(i);
        }
        state.write(PRE_FILTER_KEY, s);
        (None, Status::success())
    }

    fn has_extensions(&self) -> bool {
        true
    }
    fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &PodInfo,
        node: &NodeInfo,
    ) -> Status {
        if let Some(s) = state.read_mut::<PreFilterState>(PRE_FILTER_KEY) {
            s.update(pod, added, node, 1);
        }
        Status::success()
    }

    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
    ) -> Status {
        if let Some(s) = state.read_mut::<PreFilterState>(PRE_FILTER_KEY) {
            s.update(pod, removed, node, -1);
        }
        Status::success()
    }
}

/// Domain counts through the snapshot's cached topology indices (no node inclusion policy
/// to evaluate): per node only vector reads.
fn counts_by_topology_index(
    cs: &[Constraint],
    pod: &PodInfo,
    snap: &Snapshot,
    indexed: &[Option<FastMap<&str, i64>>],
) -> Vec<FastMap<String, i64>> {
    let topo: Vec<_> = cs
        .iter()
        .map(|c| snap.topology_index(&c.topology_key))
        .collect();
    let mut counts: Vec<Vec<i64>> = topo.iter().map(|t| vec![0; t.domains.len()]).collect();
    let mut present: Vec<Vec<bool>> = topo.iter().map(|t| vec![false; t.domains.len()]).collect();
    let domains_of = |i: usize| -> Option<Vec<usize>> {
        topo.iter()
            .map(|t| t.domain_of[i].map(|d| d as usize))
            .collect()
    };
    for i in 0..snap.nodes.len() {
        let Some(ds) = domains_of(i) else { continue };
        for (ci, c) in cs.iter().enumerate() {
            present[ci][ds[ci]] = true;
            if indexed[ci].is_none() {
                counts[ci][ds[ci]] +=
                    count_matching(&snap.nodes[i].pods, &c.selector, &pod.namespace);
            }
        }
    }
    for (ci, m) in indexed.iter().enumerate() {
        for (node_name, n) in m.iter().flatten() {
            if let Some(ds) = snap.index.get(*node_name).and_then(|i| domains_of(*i)) {
                counts[ci][ds[ci]] += n;
            }
        }
    }
    (0..cs.len())
        .map(|ci| {
            (0..topo[ci].domains.len())
                .filter(|d| present[ci][*d])
                .map(|d| (topo[ci].domains[d].clone(), counts[ci][d]))
                .collect()
        })
        .collect()
}

/// Domain counts by reading every node's labels (node inclusion policies apply).
fn counts_by_label_scan(
    cs: &[Constraint],
    pod: &PodInfo,
    snap: &Snapshot,
    indexed: &[Option<FastMap<&str, i64>>],
    check_inclusion: bool,
) -> Vec<FastMap<String, i64>> {
    let mut partial = chunked(snap.nodes.len(), 1000, |range| {
        let mut counts: Vec<FastMap<&str, i64>> = vec![FastMap::default(); cs.len()];
        for node in &snap.nodes[range] {
            if !has_all_keys(&node.labels, cs) {
                continue;
            }
            for (i, c) in cs.iter().enumerate() {
                if check_inclusion && !c.includes(pod, node) {
                    continue;
                }
                let n = match indexed[i] {
                    Some(_) => 0,
                    None => count_matching(&node.pods, &c.selector, &pod.namespace),
                };
                *counts[i]
                    .entry(node.labels[&c.topology_key].as_str())
                    .or_default() += n;
            }
        }
        counts
    });
    for (i, m) in indexed.iter().enumerate() {
        for (node_name, n) in m.iter().flatten() {
            let Some(node) = snap.get(node_name) else {
                continue;
            };
            if !has_all_keys(&node.labels, cs) || (check_inclusion && !cs[i].includes(pod, node)) {
                continue;
            }
            *partial[0][i]
                .entry(node.labels[&cs[i].topology_key].as_str())
                .or_default() += n;
        }
    }
    let mut counts: Vec<FastMap<String, i64>> = vec![FastMap::default(); cs.len()];
    for part in partial {
        for (i, m) in part.into_iter().enumerate() {
            for (k, v) in m {
                *counts[i].entry(k.to_string()).or_default() += v;
            }
        }
    }
    counts
}

impl FilterPlugin for PodTopologySpread {
    fn filter(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        node: &NodeInfo,
        _snap: &Snapshot,
    ) -> Status {
        let Some(s) = state.read::<PreFilterState>(PRE_FILTER_KEY) else {
            return Status::error("reading PreFilterPodTopologySpread from cycle state");
        };
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = node.labels.get(&c.topology_key) else {
                return Status::new(Code::UnschedulableAndUnresolvable, ERR_MISSING_LABEL);
            };
            let self_match = s.self_match[i];
            let matched = s.counts[i].get(value).copied().unwrap_or(0);
            if matched + self_match - s.min_match(i) > c.max_skew {
                return Status::new(Code::Unschedulable, ERR_CONSTRAINTS);
            }
        }
        Status::success()
    }
}

#[derive(Clone, Default)]
struct PreScoreState {
    constraints: Vec<Constraint>,
    ignored: BTreeSet<String>,
    pair_counts: HashMap<(String, String), i64>,
    weights: Vec<f64>,
}

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        snap: &Snapshot,
    ) -> Status {
        let cs = constraints(pod, "ScheduleAnyway");
        if nodes.is_empty() || snap.is_empty() || cs.is_empty() {
            return Status::skip();
        }
        let mut s = PreScoreState {
            constraints: cs,
            ..Default::default()
        };
        let mut sizes = vec![0usize; s.constraints.len()];
        for n in nodes {
            if !has_all_keys(&n.labels, &s.constraints) {
                s.ignored.insert(n.name.clone());
                continue;
            }
            for (i, c) in s
                .constraints
                .iter()
                .enumerate()
                .filter(|(_, c)| c.topology_key != HOSTNAME)
            {
                let pair = (c.topology_key.clone(), n.labels[&c.topology_key].clone());
                if let std::collections::hash_map::Entry::Vacant(e) = s.pair_counts.entry(pair) {
                    e.insert(0);
                    sizes[i] += 1;
                }
            }
        }
        let filtered = nodes.len() - s.ignored.len();
        s.weights = s
            .constraints
            .iter()
            .zip(&sizes)
            .map(|(c, sz)| {
                ((if c.topology_key == HOSTNAME {
                    filtered
                } else {
                    *sz
                }) as f64
                    + 2.0)
                    .ln()
            })
            .collect();
        for node in &snap.nodes {
            if !has_all_keys(&node.labels, &s.constraints) {
                continue;
            }
            for c in &s.constraints {
                if !c.includes(pod, node) {
                    continue;
                }
                let pair = (c.topology_key.clone(), node.labels[&c.topology_key].clone());
                if let Some(cnt) = s.pair_counts.get_mut(&pair) {
                    *cnt += count_matching(&node.pods, &c.selector, &pod.namespace);
                }
            }
        }
        state.write(PRE_SCORE_KEY, s);
        Status::success()
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        _snap: &Snapshot,
    ) -> (i64, Status) {
        let Some(s) = state.read::<PreScoreState>(PRE_SCORE_KEY) else {
            return (0, Status::success());
        };
        if s.ignored.contains(&node.name) {
            return (0, Status::success());
        }
        let mut score = 0f64;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(v) = node.labels.get(&c.topology_key) else {
                continue;
            };
            let cnt = if c.topology_key == HOSTNAME {
                count_matching(&node.pods, &c.selector, &pod.namespace)
            } else {
                s.pair_counts
                    .get(&(c.topology_key.clone(), v.clone()))
                    .copied()
                    .unwrap_or(0)
            };
            score += cnt as f64 * s.weights[i] + (c.max_skew - 1) as f64;
        }
        (score.round() as i64, Status::success())
    }

    fn normalize(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        scores: &mut [i64],
    ) -> Status {
        let Some(s) = state.read::<PreScoreState>(PRE_SCORE_KEY) else {
            return Status::success();
        };
        let live: Vec<bool> = nodes.iter().map(|n| !s.ignored.contains(&n.name)).collect();
        let live_scores = || {
            scores
                .iter()
                .zip(&live)
                .filter(|(_, l)| **l)
                .map(|(v, _)| *v)
        };
        let min = live_scores().min().unwrap_or(0);
        let max = live_scores().max().unwrap_or(0);
        for (v, l) in scores.iter_mut().zip(&live) {
            *v = if !l {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - *v) / max
            };
        }
        Status::success()
    }
}

/// Registry constructor (system default constraints are not applied; see the report).
pub fn new(_args: &serde_json::Value) -> Result<PluginInstance, String> {
    let p = Arc::new(PodTopologySpread);
    let mut i = PluginInstance::new(NAME);
    i.pre_filter = Some(p.clone());
    i.filter = Some(p.clone());
    i.pre_score = Some(p.clone());
    i.score = Some(p);
    Ok(i)
}

#[cfg(test)]
/// Fixtures shared with the scenario tests.
pub mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as KSelector;

    /// A pod labelled app=<app> spreading over zones with maxSkew 1.
    pub fn spread_pod(name: &str, app: &str, when: &str) -> Pod {
        let mut p = pod_labels(pod(name, "100m", "100Mi"), &[("app", app)]);
        p.spec.as_mut().unwrap().topology_spread_constraints =
            Some(vec![TopologySpreadConstraint {
                max_skew: 1,
                topology_key: "topology.kubernetes.io/zone".into(),
                when_unsatisfiable: when.into(),
                label_selector: Some(KSelector {
                    match_labels: Some([("app".to_string(), app.to_string())].into()),
                    match_expressions: None,
                }),
                ..Default::default()
            }]);
        p
    }

    fn zoned(name: &str, zone: &str, pods: Vec<Pod>) -> NodeInfo {
        node_info(
            label(node(name, "8", "8Gi"), "topology.kubernetes.io/zone", zone),
            pods,
        )
    }

    #[test]
    fn skew_filter() {
        let snap = Snapshot::from_nodes(vec![
            zoned(
                "a",
                "z1",
                vec![on_node(spread_pod("p1", "web", "DoNotSchedule"), "a")],
            ),
            zoned("b", "z2", vec![]),
            node_info(node("c", "8", "8Gi"), vec![]),
        ]);
        let p = PodInfo::new(spread_pod("p2", "web", "DoNotSchedule"));
        let mut st = CycleState::default();
        assert!(PodTopologySpread
            .pre_filter(&mut st, &p, &snap)
            .1
            .is_success());
        let res: Vec<Status> = snap
            .nodes
            .iter()
            .map(|n| PodTopologySpread.filter(&st, &p, n, &snap))
            .collect();
        assert_eq!(res[0].reasons, vec![ERR_CONSTRAINTS]);
        assert!(res[1].is_success());
        assert_eq!(res[2].reasons, vec![ERR_MISSING_LABEL]);
    }

    #[test]
    fn min_domains_forces_new_domain() {
        let snap = Snapshot::from_nodes(vec![
            zoned("a", "z1", vec![]),
            zoned(
                "b",
                "z1",
                vec![on_node(spread_pod("p1", "web", "DoNotSchedule"), "b")],
            ),
        ]);
        let mut raw = spread_pod("p2", "web", "DoNotSchedule");
        raw.spec
            .as_mut()
            .unwrap()
            .topology_spread_constraints
            .as_mut()
            .unwrap()[0]
            .min_domains = Some(2);
        let p = PodInfo::new(raw);
        let mut st = CycleState::default();
        PodTopologySpread.pre_filter(&mut st, &p, &snap);
        // Only one zone exists, fewer than minDomains: the global minimum counts as 0.
        assert_eq!(
            PodTopologySpread
                .filter(&st, &p, &snap.nodes[0], &snap)
                .reasons,
            vec![ERR_CONSTRAINTS]
        );
    }

    #[test]
    fn soft_constraint_prefers_emptier_zone() {
        let snap = Snapshot::from_nodes(vec![
            zoned(
                "a",
                "z1",
                vec![on_node(spread_pod("p1", "web", "ScheduleAnyway"), "a")],
            ),
            zoned("b", "z2", vec![]),
        ]);
        let p = PodInfo::new(spread_pod("p2", "web", "ScheduleAnyway"));
        let mut st = CycleState::default();
        assert!(PodTopologySpread
            .pre_score(&mut st, &p, &snap.nodes, &snap)
            .is_success());
        let mut scores: Vec<i64> = snap
            .nodes
            .iter()
            .map(|n| PodTopologySpread.score(&st, &p, n, &snap).0)
            .collect();
        PodTopologySpread.normalize(&st, &p, &snap.nodes, &mut scores);
        assert!(scores[1] > scores[0], "{scores:?}");
    }
}
