//! Matching helpers shared by several plugins: tolerations against taints, and node
//! selector terms (node affinity, PV node affinity, nodeSelector).

use k8s_openapi::api::core::v1::{
    NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration,
};

use crate::framework::types::{Labels, NodeInfo, PodInfo};

/// Upstream `Toleration.ToleratesTaint`.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if t.effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    if t.key
        .as_deref()
        .is_some_and(|k| !k.is_empty() && k != taint.key)
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

/// The first taint passing `include` that no toleration tolerates.
pub fn find_untolerated_taint<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    include: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| include(t))
        .find(|taint| !tolerations.iter().any(|t| tolerates(t, taint)))
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|b| b.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// Whether a node selector term matches a node's labels and name (empty terms match nothing).
pub fn term_matches(term: &NodeSelectorTerm, labels: &Labels, node_name: &str) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields
            .iter()
            .all(|r| r.key == "metadata.name" && requirement_matches(r, Some(node_name)))
}

/// Whether any term of a node selector matches (upstream `NodeSelector.Match`).
pub fn node_selector_matches(sel: &NodeSelector, labels: &Labels, node_name: &str) -> bool {
    sel.node_selector_terms
        .iter()
        .any(|t| term_matches(t, labels, node_name))
}

/// Upstream `RequiredNodeAffinity.Match`: spec.nodeSelector and the required node affinity.
pub fn required_node_affinity_matches(pod: &PodInfo, node: &NodeInfo) -> bool {
    let spec = pod.pod.spec.as_ref();
    let selector_ok = spec
        .and_then(|s| s.node_selector.as_ref())
        .is_none_or(|sel| sel.iter().all(|(k, v)| node.labels.get(k) == Some(v)));
    if !selector_ok {
        return false;
    }
    let required = spec
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    required.is_none_or(|sel| node_selector_matches(sel, &node.labels, &node.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: Some(value.into()),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn tol(key: &str, op: &str, value: &str, effect: &str) -> Toleration {
        Toleration {
            key: Some(key.into()),
            operator: Some(op.into()),
            value: Some(value.into()),
            effect: Some(effect.into()),
            toleration_seconds: None,
        }
    }

    #[test]
    fn toleration_matching() {
        let t = taint("node-role.kubernetes.io/master", "", "NoSchedule");
        assert!(tolerates(
            &tol("node-role.kubernetes.io/master", "Exists", "", "NoSchedule"),
            &t
        ));
        assert!(tolerates(&tol("", "Exists", "", ""), &t));
        assert!(!tolerates(&tol("other", "Exists", "", ""), &t));
        assert!(!tolerates(
            &tol("node-role.kubernetes.io/master", "Equal", "x", ""),
            &t
        ));
        assert!(!tolerates(
            &tol("node-role.kubernetes.io/master", "Exists", "", "NoExecute"),
            &t
        ));
    }

    #[test]
    fn selector_terms() {
        let labels: Labels = [
            ("zone".to_string(), "a".to_string()),
            ("gen".to_string(), "5".to_string()),
        ]
        .into();
        let req = |k: &str, op: &str, v: &[&str]| NodeSelectorRequirement {
            key: k.into(),
            operator: op.into(),
            values: Some(v.iter().map(|s| s.to_string()).collect()),
        };
        let term = |r: Vec<NodeSelectorRequirement>| NodeSelectorTerm {
            match_expressions: Some(r),
            match_fields: None,
        };
        assert!(term_matches(
            &term(vec![req("zone", "In", &["a", "b"])]),
            &labels,
            "n"
        ));
        assert!(!term_matches(
            &term(vec![req("zone", "NotIn", &["a"])]),
            &labels,
            "n"
        ));
        assert!(term_matches(
            &term(vec![
                req("gen", "Gt", &["4"]),
                req("x", "DoesNotExist", &[])
            ]),
            &labels,
            "n"
        ));
        assert!(!term_matches(&term(vec![]), &labels, "n"));
        let f = NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.name", "In", &["n"])]),
        };
        assert!(term_matches(&f, &labels, "n"));
        assert!(!term_matches(&f, &labels, "m"));
    }
}
