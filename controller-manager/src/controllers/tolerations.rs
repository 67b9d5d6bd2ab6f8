//! Taints, tolerations and node selectors over whole Nodes and Pods (the matching itself is
//! `rkube_apimachinery::scheduling`, shared with the scheduler), for the DaemonSet controller
//! (which nodes may run a daemon pod) and node lifecycle (which pods a NoExecute taint
//! evicts, and when).

use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};
use rkube_apimachinery::scheduling::{find_untolerated_taint, required_node_affinity_matches, tolerates};

/// The first taint passing `filter` that no toleration tolerates.
pub fn untolerated<'a>(taints: &'a [Taint], tolerations: &[Toleration], filter: impl Fn(&Taint) -> bool) -> Option<&'a Taint> {
    find_untolerated_taint(taints, tolerations, filter)
}

/// The node's taints.
pub fn taints_of(node: &Node) -> &[Taint] {
    node.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or(&[])
}

/// The pod's tolerations.
pub fn tolerations_of(pod: &Pod) -> &[Toleration] {
    pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or(&[])
}

/// How long a pod may stay on a node with these NoExecute taints: `None` forever (all
/// tolerated without a limit), `Some(0)` at once (one is not tolerated), else the smallest
/// `tolerationSeconds` among the tolerations used (upstream `getMinTolerationTime`).
pub fn eviction_delay_seconds(taints: &[Taint], tolerations: &[Toleration]) -> Option<i64> {
    let mut min: Option<i64> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let used: Vec<&Toleration> = tolerations.iter().filter(|tol| tolerates(tol, taint)).collect();
        if used.is_empty() {
            return Some(0);
        }
        for tol in used {
            if let Some(s) = tol.toleration_seconds {
                let s = s.max(0);
                min = Some(min.map_or(s, |m| m.min(s)));
            }
        }
    }
    min
}

/// Whether the pod's nodeSelector and required node affinity allow the node.
pub fn pod_fits_node(pod: &Pod, node: &Node) -> bool {
    let labels = node.metadata.labels.clone().unwrap_or_default();
    required_node_affinity_matches(pod.spec.as_ref(), &labels, node.metadata.name.as_deref().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodSpec};

    fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
        Taint { key: key.into(), value: value.map(Into::into), effect: effect.into(), time_added: None }
    }

    fn tol(key: Option<&str>, op: &str, value: Option<&str>, effect: Option<&str>, secs: Option<i64>) -> Toleration {
        Toleration {
            key: key.map(Into::into),
            operator: Some(op.into()),
            value: value.map(Into::into),
            effect: effect.map(Into::into),
            toleration_seconds: secs,
        }
    }

    #[test]
    fn eviction_delays() {
        let unreachable = taint("node.kubernetes.io/unreachable", None, "NoExecute");
        assert_eq!(eviction_delay_seconds(std::slice::from_ref(&unreachable), &[]), Some(0));
        let t300 = tol(Some("node.kubernetes.io/unreachable"), "Exists", None, Some("NoExecute"), Some(300));
        let t5 = tol(Some("node.kubernetes.io/unreachable"), "Exists", None, Some("NoExecute"), Some(5));
        assert_eq!(eviction_delay_seconds(std::slice::from_ref(&unreachable), &[t300.clone(), t5]), Some(5));
        let forever = tol(None, "Exists", None, None, None);
        assert_eq!(eviction_delay_seconds(&[unreachable], &[forever]), None);
        assert_eq!(eviction_delay_seconds(&[taint("x", None, "NoSchedule")], &[]), None);
    }

    #[test]
    fn selectors_and_affinity() {
        let mut node = Node::default();
        node.metadata.name = Some("n1".into());
        node.metadata.labels = Some([("disk".to_string(), "ssd".to_string()), ("cores".to_string(), "8".to_string())].into());
        let mut pod = Pod { spec: Some(PodSpec::default()), ..Default::default() };
        assert!(pod_fits_node(&pod, &node));
        pod.spec.as_mut().unwrap().node_selector = Some([("disk".to_string(), "hdd".to_string())].into());
        assert!(!pod_fits_node(&pod, &node));
        pod.spec.as_mut().unwrap().node_selector = None;
        let req = |key: &str, op: &str, vals: &[&str]| NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(vals.iter().map(|s| s.to_string()).collect()),
        };
        let sel = NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm { match_expressions: Some(vec![req("cores", "Gt", &["4"]), req("zone", "DoesNotExist", &[])]), match_fields: None }],
        };
        pod.spec.as_mut().unwrap().affinity = Some(Affinity {
            node_affinity: Some(NodeAffinity { required_during_scheduling_ignored_during_execution: Some(sel), ..Default::default() }),
            ..Default::default()
        });
        assert!(pod_fits_node(&pod, &node));
    }
}
