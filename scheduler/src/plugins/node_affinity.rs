//! NodeAffinity: spec.nodeSelector and required node affinity filter nodes; preferred
//! node affinity terms add their weights to a node's score.

use std::sync::Arc;

use k8s_openapi::api::core::v1::PreferredSchedulingTerm;

use rkube_apimachinery::scheduling::{required_node_affinity_matches, term_matches};
use crate::framework::interface::*;
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo};

/// The plugin's name.
pub const NAME: &str = "NodeAffinity";
/// Upstream's failure reason.
pub const ERR_REASON: &str = "node(s) didn't match Pod's node affinity/selector";

/// The NodeAffinity plugin.
pub struct NodeAffinity;

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
}

fn preferred(pod: &PodInfo) -> &[PreferredSchedulingTerm] {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.preferred_during_scheduling_ignored_during_execution
                .as_deref()
        })
        .unwrap_or(&[])
}

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(
        &self,
        _s: &mut CycleState,
        pod: &PodInfo,
        _snap: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let spec = pod.pod.spec.as_ref();
        let has_selector = spec
            .and_then(|s| s.node_selector.as_ref())
            .is_some_and(|m| !m.is_empty());
        let has_required = spec
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| {
                na.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .is_some();
        if !has_selector && !has_required {
            return (None, Status::skip());
        }
        (None, Status::success())
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _s: &CycleState, pod: &PodInfo, node: &NodeInfo, _snap: &Snapshot) -> Status {
        if required_node_affinity_matches(pod.pod.spec.as_ref(), &node.labels, &node.name) {
            Status::success()
        } else {
            Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON)
        }
    }
}

impl PreScorePlugin for NodeAffinity {
    fn pre_score(
        &self,
        _s: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        _snap: &Snapshot,
    ) -> Status {
        if preferred(pod).is_empty() {
            Status::skip()
        } else {
            Status::success()
        }
    }
}

impl ScorePlugin for NodeAffinity {
    fn score(
        &self,
        _s: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        _snap: &Snapshot,
    ) -> (i64, Status) {
        let total = preferred(pod)
            .iter()
            .filter(|t| t.weight != 0 && term_matches(&t.preference, &node.labels, &node.name))
            .map(|t| i64::from(t.weight))
            .sum();
        (total, Status::success())
    }

    fn normalize(
        &self,
        _s: &CycleState,
        _pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        scores: &mut [i64],
    ) -> Status {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
        Status::success()
    }
}

/// Registry constructor.
pub fn new(_args: &serde_json::Value) -> Result<PluginInstance, String> {
    let p = Arc::new(NodeAffinity);
    let mut i = PluginInstance::new(NAME);
    i.pre_filter = Some(p.clone());
    i.filter = Some(p.clone());
    i.pre_score = Some(p.clone());
    i.score = Some(p);
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;
    use k8s_openapi::api::core::v1::{Affinity, NodeSelectorRequirement, NodeSelectorTerm};

    fn zone_term(zone: &str) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: Some(vec![NodeSelectorRequirement {
                key: "zone".into(),
                operator: "In".into(),
                values: Some(vec![zone.into()]),
            }]),
            match_fields: None,
        }
    }

    #[test]
    fn node_selector_filters() {
        let mut p = pod("p", "", "");
        p.spec.as_mut().unwrap().node_selector =
            Some([("disk".to_string(), "ssd".to_string())].into());
        let p = PodInfo::new(p);
        let ssd = node_info(label(node("a", "1", "1Gi"), "disk", "ssd"), vec![]);
        let hdd = node_info(node("b", "1", "1Gi"), vec![]);
        let (s, snap) = (CycleState::default(), Snapshot::default());
        assert!(NodeAffinity.filter(&s, &p, &ssd, &snap).is_success());
        assert_eq!(
            NodeAffinity.filter(&s, &p, &hdd, &snap).reasons,
            vec![ERR_REASON]
        );
    }

    #[test]
    fn preferred_terms_score() {
        let mut p = pod("p", "", "");
        p.spec.as_mut().unwrap().affinity = Some(Affinity {
            node_affinity: Some(k8s_openapi::api::core::v1::NodeAffinity {
                preferred_during_scheduling_ignored_during_execution: Some(vec![
                    PreferredSchedulingTerm {
                        weight: 80,
                        preference: zone_term("a"),
                    },
                    PreferredSchedulingTerm {
                        weight: 20,
                        preference: zone_term("b"),
                    },
                ]),
                ..Default::default()
            }),
            ..Default::default()
        });
        let p = PodInfo::new(p);
        let (s, snap) = (CycleState::default(), Snapshot::default());
        let a = node_info(label(node("a", "1", "1Gi"), "zone", "a"), vec![]);
        let b = node_info(label(node("b", "1", "1Gi"), "zone", "b"), vec![]);
        let mut scores = vec![
            NodeAffinity.score(&s, &p, &a, &snap).0,
            NodeAffinity.score(&s, &p, &b, &snap).0,
        ];
        NodeAffinity.normalize(&s, &p, &[], &mut scores);
        assert_eq!(scores, vec![100, 25]);
    }
}
