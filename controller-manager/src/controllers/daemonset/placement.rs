//! Which nodes run a daemon pod (upstream `daemon_controller.go` `NodeShouldRunDaemonPod`
//! and `pkg/controller/daemon/util`): the pod the set would put there (template, default
//! tolerations, node affinity pinned to that node) must fit the node's name, selector,
//! affinity and taints. Untolerated NoSchedule taints keep new pods away but let running
//! ones stay; untolerated NoExecute taints evict.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodTemplateSpec, Toleration,
};

use crate::controllers::tolerations::{pod_fits_node, taints_of, untolerated};

/// Taint keys upstream's DaemonSet pods tolerate, with the effect.
const DEFAULT_TOLERATIONS: &[(&str, &str)] = &[
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];

/// Added as well for pods on the host network.
const HOST_NETWORK_TOLERATION: (&str, &str) = ("node.kubernetes.io/network-unavailable", "NoSchedule");

/// Whether the node should run the pod, and whether a pod already there may keep running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// A daemon pod should be created here if missing.
    pub should_run: bool,
    /// An existing daemon pod may stay.
    pub should_continue: bool,
}

/// Adds upstream's default DaemonSet tolerations (`AddOrUpdateDaemonPodTolerations`)
/// unless the pod already tolerates that key and effect.
pub fn add_default_tolerations(template: &mut PodTemplateSpec) {
    let Some(spec) = template.spec.as_mut() else { return };
    let host_network = spec.host_network.unwrap_or(false);
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    let extra = host_network.then_some(HOST_NETWORK_TOLERATION);
    for (key, effect) in DEFAULT_TOLERATIONS.iter().copied().chain(extra) {
        let present = tolerations.iter().any(|t| t.key.as_deref() == Some(key) && t.effect.as_deref() == Some(effect));
        if !present {
            tolerations.push(Toleration {
                key: Some(key.into()),
                operator: Some("Exists".into()),
                effect: Some(effect.into()),
                ..Default::default()
            });
        }
    }
}

/// Pins the pod to a node the way upstream does: its required node affinity becomes one
/// term matching `metadata.name` (`ReplaceDaemonSetPodNodeNameNodeAffinity`).
pub fn pin_to_node(affinity: Option<Affinity>, node: &str) -> Affinity {
    let selector = NodeSelector {
        node_selector_terms: vec![NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![NodeSelectorRequirement {
                key: "metadata.name".into(),
                operator: "In".into(),
                values: Some(vec![node.into()]),
            }]),
        }],
    };
    let mut affinity = affinity.unwrap_or_default();
    let node_affinity = affinity.node_affinity.get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution = Some(selector);
    affinity
}

/// The template with default tolerations, as every daemon pod gets it.
pub fn daemon_template(ds: &DaemonSet) -> PodTemplateSpec {
    let mut template = ds.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    add_default_tolerations(&mut template);
    template
}

/// Where a daemon pod belongs (upstream `NodeShouldRunDaemonPod`).
pub fn placement(ds: &DaemonSet, node: &Node) -> Placement {
    let template = daemon_template(ds);
    let spec = template.spec.clone().unwrap_or_default();
    let node_name = node.metadata.name.clone().unwrap_or_default();
    let none = Placement { should_run: false, should_continue: false };
    if spec.node_name.as_deref().is_some_and(|n| !n.is_empty() && n != node_name) {
        return none;
    }
    let pod = Pod { metadata: template.metadata.clone().unwrap_or_default(), spec: Some(spec.clone()), status: None };
    if !pod_fits_node(&pod, node) {
        return none;
    }
    let tolerations = spec.tolerations.as_deref().unwrap_or(&[]);
    let taints = taints_of(node);
    let blocking = |t: &k8s_openapi::api::core::v1::Taint| t.effect == "NoSchedule" || t.effect == "NoExecute";
    if untolerated(taints, tolerations, blocking).is_none() {
        return Placement { should_run: true, should_continue: true };
    }
    let evicting = untolerated(taints, tolerations, |t| t.effect == "NoExecute").is_some();
    Placement { should_run: false, should_continue: !evicting }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DaemonSetSpec;
    use k8s_openapi::api::core::v1::{NodeSpec, PodSpec, Taint};

    fn ds(selector: Option<(&str, &str)>, tolerations: Vec<Toleration>) -> DaemonSet {
        let spec = PodSpec {
            node_selector: selector.map(|(k, v)| [(k.to_string(), v.to_string())].into()),
            tolerations: Some(tolerations),
            ..Default::default()
        };
        DaemonSet {
            spec: Some(DaemonSetSpec { template: PodTemplateSpec { spec: Some(spec), ..Default::default() }, ..Default::default() }),
            ..Default::default()
        }
    }

    fn node(name: &str, labels: &[(&str, &str)], taints: Vec<Taint>) -> Node {
        let mut n = Node { spec: Some(NodeSpec { taints: Some(taints), ..Default::default() }), ..Default::default() };
        n.metadata.name = Some(name.into());
        n.metadata.labels = Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        n
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint { key: key.into(), effect: effect.into(), ..Default::default() }
    }

    #[test]
    fn selector_and_taints() {
        let yes = Placement { should_run: true, should_continue: true };
        assert_eq!(placement(&ds(None, vec![]), &node("a", &[], vec![])), yes);
        assert!(!placement(&ds(Some(("role", "log")), vec![]), &node("a", &[], vec![])).should_run);
        assert_eq!(placement(&ds(Some(("role", "log")), vec![]), &node("a", &[("role", "log")], vec![])), yes);
        // NoSchedule: no new pod, existing ones stay.
        let p = placement(&ds(None, vec![]), &node("a", &[], vec![taint("node-role.kubernetes.io/control-plane", "NoSchedule")]));
        assert_eq!(p, Placement { should_run: false, should_continue: true });
        // Tolerated by the manifest (fluentd style).
        let tol = Toleration { key: Some("node-role.kubernetes.io/control-plane".into()), operator: Some("Exists".into()), effect: Some("NoSchedule".into()), ..Default::default() };
        assert_eq!(placement(&ds(None, vec![tol]), &node("a", &[], vec![taint("node-role.kubernetes.io/control-plane", "NoSchedule")])), yes);
        // NoExecute: evicted.
        let p = placement(&ds(None, vec![]), &node("a", &[], vec![taint("dedicated", "NoExecute")]));
        assert_eq!(p, Placement { should_run: false, should_continue: false });
        // Default tolerations cover unreachable / not-ready / unschedulable.
        let n = node("a", &[], vec![taint("node.kubernetes.io/unreachable", "NoExecute"), taint("node.kubernetes.io/unschedulable", "NoSchedule")]);
        assert_eq!(placement(&ds(None, vec![]), &n), yes);
    }

    #[test]
    fn defaults_and_pinning() {
        let mut t = PodTemplateSpec { spec: Some(PodSpec { host_network: Some(true), ..Default::default() }), ..Default::default() };
        add_default_tolerations(&mut t);
        add_default_tolerations(&mut t);
        assert_eq!(t.spec.unwrap().tolerations.unwrap().len(), 7);
        let a = pin_to_node(None, "n1");
        let terms = a.node_affinity.unwrap().required_during_scheduling_ignored_during_execution.unwrap().node_selector_terms;
        assert_eq!(terms[0].match_fields.as_ref().unwrap()[0].values.as_ref().unwrap(), &["n1"]);
    }
}
