//! InterPodAffinity: required pod affinity / anti-affinity (the incoming pod's and the
//! anti-affinity of pods already running) filter nodes by topology domain; preferred terms
//! (both ways) and existing pods' required affinity score them.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::framework::interface::*;
use crate::framework::parallel::chunked;
use crate::framework::pod_index::exact_requirement;
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{AffinityTerm, Labels, NodeInfo, PodInfo, WeightedAffinityTerm};
use rkube_apimachinery::label_selector::LabelSelector;

/// The plugin's name.
pub const NAME: &str = "InterPodAffinity";
/// Upstream's reason when required affinity is not met.
pub const ERR_AFFINITY: &str = "node(s) didn't match pod affinity rules";
/// Upstream's reason when the pod's anti-affinity is not met.
pub const ERR_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
/// Upstream's reason when an existing pod's anti-affinity forbids the node.
pub const ERR_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
const PRE_FILTER_KEY: &str = "PreFilterInterPodAffinity";
const PRE_SCORE_KEY: &str = "PreScoreInterPodAffinity";

/// Counts per topology key and value.
type TopologyCounts = HashMap<String, HashMap<String, i64>>;

fn bump(m: &mut TopologyCounts, node: &NodeInfo, key: &str, by: i64) {
    if let Some(v) = node.labels.get(key) {
        let inner = m.entry(key.to_string()).or_default();
        let c = inner.entry(v.clone()).or_default();
        *c += by;
        if *c == 0 {
            inner.remove(v);
            if inner.is_empty() {
                m.remove(key);
            }
        }
    }
}

fn merge_counts(into: &mut TopologyCounts, from: TopologyCounts) {
    for (k, vals) in from {
        let inner = into.entry(k).or_default();
        for (v, c) in vals {
            *inner.entry(v).or_default() += c;
        }
    }
}

fn count(m: &TopologyCounts, key: &str, value: &str) -> i64 {
    m.get(key).and_then(|i| i.get(value)).copied().unwrap_or(0)
}

/// InterPodAffinityArgs.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Score weight of existing pods' required affinity (default 1).
    #[serde(default = "one")]
    pub hard_pod_affinity_weight: i64,
    /// Skip existing pods' preferred terms when the pod has none.
    #[serde(default)]
    pub ignore_preferred_terms_of_existing_pods: bool,
}

fn one() -> i64 {
    1
}

impl Default for Args {
    fn default() -> Self {
        Args {
            hard_pod_affinity_weight: 1,
            ignore_preferred_terms_of_existing_pods: false,
        }
    }
}

/// The plugin.
pub struct InterPodAffinity {
    args: Args,
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
}

#[derive(Clone, Default)]
struct PreFilterState {
    affinity_terms: Vec<AffinityTerm>,
    anti_affinity_terms: Vec<AffinityTerm>,
    existing_anti_affinity: TopologyCounts,
    affinity: TopologyCounts,
    anti_affinity: TopologyCounts,
    namespace_labels: Labels,
}

/// Upstream `mergeAffinityTermNamespacesIfNotEmpty`: turns a namespaceSelector into the
/// explicit namespaces it selects now.
fn merge_namespaces(terms: &[AffinityTerm], snap: &Snapshot) -> Vec<AffinityTerm> {
    terms
        .iter()
        .map(|t| {
            let mut t = t.clone();
            if !t.namespace_selector.is_nothing() {
                for (ns, labels) in &snap.objects.namespaces {
                    if t.namespace_selector.matches(labels) {
                        t.namespaces.insert(ns.clone());
                    }
                }
                t.namespace_selector = LabelSelector::nothing();
            }
            t
        })
        .collect()
}

fn matches_all(terms: &[AffinityTerm], pod: &PodInfo) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, None))
}

impl PreFilterState {
    /// Upstream `updateWithPod`: accounts `other` running on `node` (by = 1 or -1).
    fn update_with_pod(&mut self, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, by: i64) {
        for t in &other.required_anti_affinity_terms {
            if t.matches(pod, Some(&self.namespace_labels)) {
                bump(&mut self.existing_anti_affinity, node, &t.topology_key, by);
            }
        }
        self.count_incoming(other, node, by);
    }

    fn count_incoming(&mut self, other: &PodInfo, node: &NodeInfo, by: i64) {
        if matches_all(&self.affinity_terms, other) {
            for t in &self.affinity_terms {
                bump(&mut self.affinity, node, &t.topology_key, by);
            }
        }
        for t in &self.anti_affinity_terms {
            if t.matches(other, None) {
                bump(&mut self.anti_affinity, node, &t.topology_key, by);
            }
        }
    }
}

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        if pod.required_affinity_terms.is_empty()
            && pod.required_anti_affinity_terms.is_empty()
            && snap.with_required_anti_affinity.is_empty()
        {
            return (None, Status::skip());
        }
        let mut s = PreFilterState {
            affinity_terms: merge_namespaces(&pod.required_affinity_terms, snap),
            anti_affinity_terms: merge_namespaces(&pod.required_anti_affinity_terms, snap),
            namespace_labels: snap
                .namespace_labels(&pod.namespace)
                .cloned()
                .unwrap_or_default(),
            ..Default::default()
        };
        count_existing_anti_affinity(&mut s, pod, snap);
        let (scan_anti, scan_affinity) = count_incoming_indexed(&mut s, snap);
        if !scan_anti.is_empty() || scan_affinity {
            scan_incoming(&mut s, snap, &scan_anti, scan_affinity);
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
        match state.read_mut::<PreFilterState>(PRE_FILTER_KEY) {
            Some(s) => {
                s.update_with_pod(pod, added, node, 1);
                Status::success()
            }
            None => Status::error("reading PreFilterInterPodAffinity from cycle state"),
        }
    }

    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
    ) -> Status {
        match state.read_mut::<PreFilterState>(PRE_FILTER_KEY) {
            Some(s) => {
                s.update_with_pod(pod, removed, node, -1);
                Status::success()
            }
            None => Status::error("reading PreFilterInterPodAffinity from cycle state"),
        }
    }
}

fn satisfies_affinity(s: &PreFilterState, pod: &PodInfo, node: &NodeInfo) -> bool {
    let mut pods_exist = true;
    for t in &s.affinity_terms {
        match node.labels.get(&t.topology_key) {
            Some(v) if count(&s.affinity, &t.topology_key, v) <= 0 => pods_exist = false,
            Some(_) => {}
            None => return false,
        }
    }
    pods_exist || (s.affinity.is_empty() && matches_all(&s.affinity_terms, pod))
}

fn satisfies_anti_affinity(s: &PreFilterState, node: &NodeInfo) -> bool {
    s.anti_affinity.is_empty()
        || !s.anti_affinity_terms.iter().any(|t| {
            node.labels
                .get(&t.topology_key)
                .is_some_and(|v| count(&s.anti_affinity, &t.topology_key, v) > 0)
        })
}

fn satisfies_existing_anti_affinity(s: &PreFilterState, node: &NodeInfo) -> bool {
    s.existing_anti_affinity.is_empty()
        || !node
            .labels
            .iter()
            .any(|(k, v)| count(&s.existing_anti_affinity, k, v) > 0)
}

/// Existing pods' required anti-affinity terms that select the incoming pod.
fn count_existing_anti_affinity(s: &mut PreFilterState, pod: &PodInfo, snap: &Snapshot) {
    for (node_name, existing, i) in snap.pods.anti_affinity_candidates(pod) {
        let Some(node) = snap.get(node_name) else {
            continue;
        };
        let t = &existing.required_anti_affinity_terms[i];
        if t.matches(pod, Some(&s.namespace_labels)) {
            bump(&mut s.existing_anti_affinity, node, &t.topology_key, 1);
        }
    }
}

/// Counts the incoming pod's terms through the label index; returns the anti-affinity
/// terms and whether the affinity terms still need a full scan.
fn count_incoming_indexed(s: &mut PreFilterState, snap: &Snapshot) -> (Vec<usize>, bool) {
    let mut scan_anti = Vec::new();
    for (ti, t) in s.anti_affinity_terms.iter().enumerate() {
        let Some((k, v)) = exact_requirement(&t.selector) else {
            scan_anti.push(ti);
            continue;
        };
        for ns in &t.namespaces {
            for (node_name, p) in snap.pods.pods_with_label(ns, k, v) {
                if let Some(node) = snap.get(node_name).filter(|_| t.matches(p, None)) {
                    bump(&mut s.anti_affinity, node, &t.topology_key, 1);
                }
            }
        }
    }
    let Some(first) = s.affinity_terms.first() else {
        return (scan_anti, false);
    };
    let Some((k, v)) = exact_requirement(&first.selector) else {
        return (scan_anti, true);
    };
    for ns in &first.namespaces {
        for (node_name, p) in snap.pods.pods_with_label(ns, k, v) {
            if let Some(node) = snap
                .get(node_name)
                .filter(|_| matches_all(&s.affinity_terms, p))
            {
                for t in &s.affinity_terms {
                    bump(&mut s.affinity, node, &t.topology_key, 1);
                }
            }
        }
    }
    (scan_anti, false)
}

/// The fallback: every pod on every node against terms the index cannot narrow.
fn scan_incoming(s: &mut PreFilterState, snap: &Snapshot, anti: &[usize], affinity: bool) {
    let template = &*s;
    let parts = chunked(snap.nodes.len(), 1000, |range| {
        let (mut aff, mut anti_counts) = (TopologyCounts::new(), TopologyCounts::new());
        for node in &snap.nodes[range] {
            for existing in &node.pods {
                if affinity && matches_all(&template.affinity_terms, existing) {
                    for t in &template.affinity_terms {
                        bump(&mut aff, node, &t.topology_key, 1);
                    }
                }
                for t in anti.iter().map(|i| &template.anti_affinity_terms[*i]) {
                    if t.matches(existing, None) {
                        bump(&mut anti_counts, node, &t.topology_key, 1);
                    }
                }
            }
        }
        (aff, anti_counts)
    });
    for (aff, anti_counts) in parts {
        merge_counts(&mut s.affinity, aff);
        merge_counts(&mut s.anti_affinity, anti_counts);
    }
}

impl FilterPlugin for InterPodAffinity {
    fn filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        _snap: &Snapshot,
    ) -> Status {
        let Some(s) = state.read::<PreFilterState>(PRE_FILTER_KEY) else {
            return Status::error("reading PreFilterInterPodAffinity from cycle state");
        };
        if !satisfies_affinity(s, pod, node) {
            return Status::new(Code::UnschedulableAndUnresolvable, ERR_AFFINITY);
        }
        if !satisfies_anti_affinity(s, node) {
            return Status::new(Code::Unschedulable, ERR_ANTI_AFFINITY);
        }
        if !satisfies_existing_anti_affinity(s, node) {
            return Status::new(Code::Unschedulable, ERR_EXISTING_ANTI_AFFINITY);
        }
        Status::success()
    }
}

fn process_term(
    m: &mut TopologyCounts,
    t: &AffinityTerm,
    weight: i64,
    pod: &PodInfo,
    ns: Option<&Labels>,
    node: &NodeInfo,
) {
    if t.matches(pod, ns) {
        if let Some(v) = node.labels.get(&t.topology_key) {
            *m.entry(t.topology_key.clone())
                .or_default()
                .entry(v.clone())
                .or_default() += weight;
        }
    }
}

fn process_weighted(
    m: &mut TopologyCounts,
    terms: &[WeightedAffinityTerm],
    sign: i64,
    pod: &PodInfo,
    ns: Option<&Labels>,
    node: &NodeInfo,
) {
    for w in terms {
        process_term(m, &w.term, i64::from(w.weight) * sign, pod, ns, node);
    }
}

struct Incoming<'a> {
    pod: &'a PodInfo,
    preferred: Vec<WeightedAffinityTerm>,
    preferred_anti: Vec<WeightedAffinityTerm>,
    ns_labels: Labels,
}

impl InterPodAffinity {
    fn process_existing(
        &self,
        m: &mut TopologyCounts,
        inc: &Incoming,
        existing: &PodInfo,
        node: &NodeInfo,
    ) {
        process_weighted(m, &inc.preferred, 1, existing, None, node);
        process_weighted(m, &inc.preferred_anti, -1, existing, None, node);
        if self.args.hard_pod_affinity_weight > 0 && !node.labels.is_empty() {
            for t in &existing.required_affinity_terms {
                process_term(
                    m,
                    t,
                    self.args.hard_pod_affinity_weight,
                    inc.pod,
                    Some(&inc.ns_labels),
                    node,
                );
            }
        }
        process_weighted(
            m,
            &existing.preferred_affinity_terms,
            1,
            inc.pod,
            Some(&inc.ns_labels),
            node,
        );
        process_weighted(
            m,
            &existing.preferred_anti_affinity_terms,
            -1,
            inc.pod,
            Some(&inc.ns_labels),
            node,
        );
    }
}

fn merge_weighted(terms: &[WeightedAffinityTerm], snap: &Snapshot) -> Vec<WeightedAffinityTerm> {
    let plain: Vec<AffinityTerm> = terms.iter().map(|w| w.term.clone()).collect();
    merge_namespaces(&plain, snap)
        .into_iter()
        .zip(terms)
        .map(|(term, w)| WeightedAffinityTerm {
            term,
            weight: w.weight,
        })
        .collect()
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        snap: &Snapshot,
    ) -> Status {
        if nodes.is_empty() {
            return Status::skip();
        }
        let has_constraints = !pod.preferred_affinity_terms.is_empty()
            || !pod.preferred_anti_affinity_terms.is_empty();
        if self.args.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return Status::skip();
        }
        let inc = Incoming {
            pod,
            preferred: merge_weighted(&pod.preferred_affinity_terms, snap),
            preferred_anti: merge_weighted(&pod.preferred_anti_affinity_terms, snap),
            ns_labels: snap
                .namespace_labels(&pod.namespace)
                .cloned()
                .unwrap_or_default(),
        };
        let mut scores = TopologyCounts::new();
        let node_iter: Box<dyn Iterator<Item = &Arc<NodeInfo>>> = if has_constraints {
            Box::new(snap.nodes.iter())
        } else {
            Box::new(snap.with_affinity.iter().map(|i| &snap.nodes[*i]))
        };
        for node in node_iter {
            let pods = if has_constraints {
                &node.pods
            } else {
                &node.pods_with_affinity
            };
            for existing in pods {
                self.process_existing(&mut scores, &inc, existing, node);
            }
        }
        if scores.is_empty() {
            return Status::skip();
        }
        state.write(PRE_SCORE_KEY, scores);
        Status::success()
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        node: &NodeInfo,
        _snap: &Snapshot,
    ) -> (i64, Status) {
        let Some(m) = state.read::<TopologyCounts>(PRE_SCORE_KEY) else {
            return (0, Status::success());
        };
        let s = m
            .iter()
            .filter_map(|(k, vals)| node.labels.get(k).and_then(|v| vals.get(v)))
            .sum();
        (s, Status::success())
    }

    fn normalize(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        scores: &mut [i64],
    ) -> Status {
        if state.read::<TopologyCounts>(PRE_SCORE_KEY).is_none() {
            return Status::success();
        }
        let min = scores.iter().copied().min().unwrap_or(0);
        let max = scores.iter().copied().max().unwrap_or(0);
        let diff = max - min;
        for s in scores.iter_mut() {
            *s = if diff > 0 {
                (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64
            } else {
                0
            };
        }
        Status::success()
    }
}

/// Registry constructor.
pub fn new(args: &serde_json::Value) -> Result<PluginInstance, String> {
    let args: Args = if args.is_null() {
        Args::default()
    } else {
        serde_json::from_value(args.clone()).map_err(|e| e.to_string())?
    };
    if !(0..=100).contains(&args.hard_pod_affinity_weight) {
        return Err(format!(
            "hardPodAffinityWeight: Invalid value: {}: not in valid range [0-100]",
            args.hard_pod_affinity_weight
        ));
    }
    let p = Arc::new(InterPodAffinity { args });
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
    use k8s_openapi::api::core::v1::{
        Affinity, Pod, PodAffinity, PodAffinityTerm, PodAntiAffinity,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as KSelector;

    /// A required term selecting `app=<app>` over `key`.
    pub fn term(app: &str, key: &str) -> PodAffinityTerm {
        PodAffinityTerm {
            label_selector: Some(KSelector {
                match_labels: Some([("app".to_string(), app.to_string())].into()),
                match_expressions: None,
            }),
            topology_key: key.into(),
            ..Default::default()
        }
    }

    /// A pod with app label and required anti-affinity to its own app by hostname.
    pub fn anti_pod(name: &str, app: &str) -> Pod {
        let mut p = pod_labels(pod(name, "100m", "100Mi"), &[("app", app)]);
        p.spec.as_mut().unwrap().affinity = Some(Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![term(
                    app,
                    "kubernetes.io/hostname",
                )]),
                ..Default::default()
            }),
            ..Default::default()
        });
        p
    }

    fn run(p: &PodInfo, snap: &Snapshot) -> Vec<Status> {
        let pl = InterPodAffinity {
            args: Args::default(),
        };
        let mut st = CycleState::default();
        let (_, s) = pl.pre_filter(&mut st, p, snap);
        if s.is_skip() {
            return snap.nodes.iter().map(|_| Status::success()).collect();
        }
        snap.nodes
            .iter()
            .map(|n| pl.filter(&st, p, n, snap))
            .collect()
    }

    #[test]
    fn anti_affinity_spreads() {
        let snap = Snapshot::from_nodes(vec![
            node_info(
                node("a", "4", "4Gi"),
                vec![on_node(anti_pod("w1", "web"), "a")],
            ),
            node_info(node("b", "4", "4Gi"), vec![]),
        ]);
        let st = run(&PodInfo::new(anti_pod("w2", "web")), &snap);
        assert_eq!(st[0].reasons, vec![ERR_ANTI_AFFINITY]);
        assert!(st[1].is_success());
        // A pod without terms is still kept off by the existing pod's anti-affinity.
        let plain = PodInfo::new(pod_labels(pod("x", "", ""), &[("app", "web")]));
        let st = run(&plain, &snap);
        assert_eq!(st[0].reasons, vec![ERR_EXISTING_ANTI_AFFINITY]);
    }

    #[test]
    fn set_based_selectors_use_the_scan_path() {
        let mut raw = anti_pod("w2", "web");
        let t = &mut raw
            .spec
            .as_mut()
            .unwrap()
            .affinity
            .as_mut()
            .unwrap()
            .pod_anti_affinity
            .as_mut()
            .unwrap()
            .required_during_scheduling_ignored_during_execution
            .as_mut()
            .unwrap()[0];
        t.label_selector = Some(KSelector {
            match_labels: None,
            match_expressions: Some(vec![
                k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement {
                    key: "app".into(),
                    operator: "In".into(),
                    values: Some(vec!["web".into(), "api".into()]),
                },
            ]),
        });
        let snap = Snapshot::from_nodes(vec![
            node_info(
                node("a", "4", "4Gi"),
                vec![on_node(
                    pod_labels(pod("api", "", ""), &[("app", "api")]),
                    "a",
                )],
            ),
            node_info(node("b", "4", "4Gi"), vec![]),
        ]);
        let st = run(&PodInfo::new(raw), &snap);
        assert_eq!(st[0].reasons, vec![ERR_ANTI_AFFINITY]);
        assert!(st[1].is_success());
    }

    #[test]
    fn affinity_requires_matching_pod_in_zone() {
        let n = |name: &str, zone: &str| label(node(name, "4", "4Gi"), "zone", zone);
        let snap = Snapshot::from_nodes(vec![
            node_info(
                n("a", "z1"),
                vec![on_node(
                    pod_labels(pod("db", "", ""), &[("app", "db")]),
                    "a",
                )],
            ),
            node_info(n("b", "z1"), vec![]),
            node_info(n("c", "z2"), vec![]),
        ]);
        let mut p = pod("web", "", "");
        p.spec.as_mut().unwrap().affinity = Some(Affinity {
            pod_affinity: Some(PodAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![term("db", "zone")]),
                ..Default::default()
            }),
            ..Default::default()
        });
        let st = run(&PodInfo::new(p), &snap);
        assert!(st[0].is_success() && st[1].is_success());
        assert_eq!(st[2].code, Code::UnschedulableAndUnresolvable);
        assert_eq!(st[2].reasons, vec![ERR_AFFINITY]);
    }

    #[test]
    fn first_pod_of_self_affine_group_allowed() {
        let snap = Snapshot::from_nodes(vec![node_info(
            label(node("a", "4", "4Gi"), "zone", "z1"),
            vec![],
        )]);
        let mut p = pod_labels(pod("web", "", ""), &[("app", "web")]);
        p.spec.as_mut().unwrap().affinity = Some(Affinity {
            pod_affinity: Some(PodAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![term(
                    "web", "zone",
                )]),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert!(run(&PodInfo::new(p), &snap)[0].is_success());
    }

    #[test]
    fn preferred_anti_affinity_scores() {
        let snap = Snapshot::from_nodes(vec![
            node_info(
                node("a", "4", "4Gi"),
                vec![on_node(
                    pod_labels(pod("w1", "", ""), &[("app", "web")]),
                    "a",
                )],
            ),
            node_info(node("b", "4", "4Gi"), vec![]),
        ]);
        let mut p = pod_labels(pod("w2", "", ""), &[("app", "web")]);
        p.spec.as_mut().unwrap().affinity = Some(Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                preferred_during_scheduling_ignored_during_execution: Some(vec![
                    k8s_openapi::api::core::v1::WeightedPodAffinityTerm {
                        weight: 100,
                        pod_affinity_term: term("web", "kubernetes.io/hostname"),
                    },
                ]),
                ..Default::default()
            }),
            ..Default::default()
        });
        let p = PodInfo::new(p);
        let pl = InterPodAffinity {
            args: Args::default(),
        };
        let mut st = CycleState::default();
        assert!(pl.pre_score(&mut st, &p, &snap.nodes, &snap).is_success());
        let mut scores: Vec<i64> = snap
            .nodes
            .iter()
            .map(|n| pl.score(&st, &p, n, &snap).0)
            .collect();
        pl.normalize(&st, &p, &snap.nodes, &mut scores);
        assert_eq!(scores, vec![0, 100]);
    }
}
