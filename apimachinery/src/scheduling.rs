//! Taints, tolerations and node selectors as upstream's `component-helpers/scheduling/corev1`
//! and `v1helper` evaluate them. The scheduler (TaintToleration, NodeAffinity, topology
//! spread) and the controller-manager (DaemonSet placement, NoExecute eviction) both decide
//! with these.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration};

/// Whether `toleration` tolerates `taint` (upstream `Toleration.ToleratesTaint`).
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    if toleration.effect.as_deref().is_some_and(|e| !e.is_empty() && e != taint.effect) {
        return false;
    }
    if toleration.key.as_deref().is_some_and(|k| !k.is_empty() && k != taint.key) {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("") {
        "" | "Equal" => toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

/// The first taint passing `include` that no toleration tolerates (upstream
/// `FindMatchingUntoleratedTaint`).
pub fn find_untolerated_taint<'a>(taints: &'a [Taint], tolerations: &[Toleration], include: impl Fn(&Taint) -> bool) -> Option<&'a Taint> {
    taints.iter().filter(|t| include(t)).find(|taint| !tolerations.iter().any(|t| tolerates(t, taint)))
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    let compare = |greater: bool| {
        let (Some(v), [bound]) = (value, values) else { return false };
        match (v.parse::<i64>(), bound.parse::<i64>()) {
            (Ok(v), Ok(b)) => (greater && v > b) || (!greater && v < b),
            _ => false,
        }
    };
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => compare(true),
        "Lt" => compare(false),
        _ => false,
    }
}

/// Whether a node selector term matches a node's labels and name (empty terms match nothing;
/// `matchFields` knows only `metadata.name`).
pub fn term_matches(term: &NodeSelectorTerm, labels: &BTreeMap<String, String>, node_name: &str) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs.iter().all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| r.key == "metadata.name" && requirement_matches(r, Some(node_name)))
}

/// Whether any term of a node selector matches (upstream `NodeSelector.Match`).
pub fn node_selector_matches(sel: &NodeSelector, labels: &BTreeMap<String, String>, node_name: &str) -> bool {
    sel.node_selector_terms.iter().any(|t| term_matches(t, labels, node_name))
}

/// Upstream `RequiredNodeAffinity.Match`: the pod's `nodeSelector` and its required node
/// affinity both allow the node.
pub fn required_node_affinity_matches(spec: Option<&PodSpec>, labels: &BTreeMap<String, String>, node_name: &str) -> bool {
    let Some(spec) = spec else { return true };
    let selector_ok = spec.node_selector.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| na.required_during_scheduling_ignored_during_execution.as_ref());
    selector_ok && required.is_none_or(|sel| node_selector_matches(sel, labels, node_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Affinity, NodeAffinity};

    fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
        Taint { key: key.into(), value: value.map(Into::into), effect: effect.into(), time_added: None }
    }

    fn tol(key: Option<&str>, op: &str, value: Option<&str>, effect: Option<&str>) -> Toleration {
        Toleration { key: key.map(Into::into), operator: Some(op.into()), value: value.map(Into::into), effect: effect.map(Into::into), toleration_seconds: None }
    }

    fn req(key: &str, op: &str, vals: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement { key: key.into(), operator: op.into(), values: Some(vals.iter().map(|s| s.to_string()).collect()) }
    }

    fn exprs(r: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
        NodeSelectorTerm { match_expressions: Some(r), match_fields: None }
    }

    #[test]
    fn toleration_matching() {
        let t = taint("dedicated", Some("gpu"), "NoSchedule");
        assert!(tolerates(&tol(Some("dedicated"), "Equal", Some("gpu"), Some("NoSchedule")), &t));
        assert!(!tolerates(&tol(Some("dedicated"), "Equal", Some("cpu"), None), &t));
        assert!(tolerates(&tol(Some("dedicated"), "Exists", None, None), &t));
        assert!(tolerates(&tol(None, "Exists", None, None), &t));
        assert!(!tolerates(&tol(Some("other"), "Exists", None, None), &t));
        assert!(!tolerates(&tol(None, "Exists", None, Some("NoExecute")), &t));
        let ts = [taint("a", None, "NoSchedule"), taint("b", None, "NoExecute")];
        let first = find_untolerated_taint(&ts, &[tol(Some("a"), "Exists", None, None)], |_| true);
        assert_eq!(first.map(|t| t.key.as_str()), Some("b"));
        assert!(find_untolerated_taint(&ts, &[], |t| t.effect == "PreferNoSchedule").is_none());
    }

    #[test]
    fn selector_terms() {
        let labels: BTreeMap<String, String> = [("zone".to_string(), "a".to_string()), ("gen".to_string(), "5".to_string())].into();
        assert!(term_matches(&exprs(vec![req("zone", "In", &["a", "b"])]), &labels, "n"));
        assert!(!term_matches(&exprs(vec![req("zone", "NotIn", &["a"])]), &labels, "n"));
        assert!(term_matches(&exprs(vec![req("gen", "Gt", &["4"]), req("x", "DoesNotExist", &[])]), &labels, "n"));
        assert!(!term_matches(&exprs(vec![req("gen", "Lt", &["4"])]), &labels, "n"));
        assert!(!term_matches(&exprs(vec![]), &labels, "n"));
        let by_name = NodeSelectorTerm { match_expressions: None, match_fields: Some(vec![req("metadata.name", "In", &["n"])]) };
        assert!(term_matches(&by_name, &labels, "n"));
        assert!(!term_matches(&by_name, &labels, "m"));
    }

    #[test]
    fn node_selector_and_required_affinity() {
        let labels: BTreeMap<String, String> = [("disk".to_string(), "ssd".to_string()), ("cores".to_string(), "8".to_string())].into();
        let mut spec = PodSpec::default();
        assert!(required_node_affinity_matches(Some(&spec), &labels, "n1"));
        spec.node_selector = Some([("disk".to_string(), "hdd".to_string())].into());
        assert!(!required_node_affinity_matches(Some(&spec), &labels, "n1"));
        spec.node_selector = None;
        let sel = NodeSelector { node_selector_terms: vec![exprs(vec![req("cores", "Gt", &["4"])])] };
        spec.affinity = Some(Affinity {
            node_affinity: Some(NodeAffinity { required_during_scheduling_ignored_during_execution: Some(sel), ..Default::default() }),
            ..Default::default()
        });
        assert!(required_node_affinity_matches(Some(&spec), &labels, "n1"));
        assert!(!required_node_affinity_matches(Some(&spec), &BTreeMap::new(), "n1"));
    }
}
