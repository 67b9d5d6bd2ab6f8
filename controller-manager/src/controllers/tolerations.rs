//! Taints, tolerations and node selectors as upstream's `v1helper` and
//! `component-helpers/scheduling/corev1` evaluate them; shared by the DaemonSet controller
//! (which nodes may run a daemon pod) and node lifecycle (which pods a NoExecute taint
//! evicts, and when).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration};

/// Whether `toleration` tolerates `taint` (upstream `Toleration.ToleratesTaint`).
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    if toleration.effect.as_deref().is_some_and(|e| !e.is_empty() && e != taint.effect) {
        return false;
    }
    if toleration.key.as_deref().is_some_and(|k| !k.is_empty() && k != taint.key) {
        return false;
    }
    match toleration.operator.as_deref() {
        Some("Exists") => true,
        None | Some("") | Some("Equal") => toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        _ => false,
    }
}

/// The first taint passing `filter` that no toleration tolerates.
pub fn untolerated<'a>(taints: &'a [Taint], tolerations: &[Toleration], filter: impl Fn(&Taint) -> bool) -> Option<&'a Taint> {
    taints.iter().filter(|t| filter(t)).find(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
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

/// Whether the node's labels satisfy a pod's `nodeSelector`.
pub fn node_selector_matches(selector: Option<&BTreeMap<String, String>>, node: &Node) -> bool {
    let labels = node.metadata.labels.as_ref();
    selector
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Whether a required node selector (terms ORed) matches the node.
pub fn node_selector_terms_match(selector: &NodeSelector, node: &Node) -> bool {
    selector.node_selector_terms.iter().any(|t| term_matches(t, node))
}

fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let name = node.metadata.name.clone().unwrap_or_default();
    exprs.iter().all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| r.key == "metadata.name" && requirement_matches(r, Some(&name)))
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    let int_cmp = |want_greater: bool| -> bool {
        let (Some(v), [bound]) = (value, values) else { return false };
        match (v.parse::<i64>(), bound.parse::<i64>()) {
            (Ok(v), Ok(b)) => if want_greater { v > b } else { v < b },
            _ => false,
        }
    };
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => int_cmp(true),
        "Lt" => int_cmp(false),
        _ => false,
    }
}

/// Whether the pod's nodeSelector and required node affinity allow the node.
pub fn pod_fits_node(pod: &Pod, node: &Node) -> bool {
    let Some(spec) = pod.spec.as_ref() else { return true };
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| na.required_during_scheduling_ignored_during_execution.as_ref());
    node_selector_matches(spec.node_selector.as_ref(), node) && required.is_none_or(|sel| node_selector_terms_match(sel, node))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, PodSpec};

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
    fn toleration_matching() {
        let t = taint("dedicated", Some("gpu"), "NoSchedule");
        assert!(tolerates(&tol(Some("dedicated"), "Equal", Some("gpu"), Some("NoSchedule"), None), &t));
        assert!(!tolerates(&tol(Some("dedicated"), "Equal", Some("cpu"), None, None), &t));
        assert!(tolerates(&tol(Some("dedicated"), "Exists", None, None, None), &t));
        assert!(tolerates(&tol(None, "Exists", None, None, None), &t));
        assert!(!tolerates(&tol(None, "Exists", None, Some("NoExecute"), None), &t));
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
        let by_name = NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm { match_expressions: None, match_fields: Some(vec![req("metadata.name", "In", &["n2"])]) }],
        };
        assert!(!node_selector_terms_match(&by_name, &node));
    }
}
