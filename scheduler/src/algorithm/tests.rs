//! Whole-framework scenarios with the default profile on small fixtures.

use std::collections::BTreeMap;
use std::time::Instant;

use k8s_openapi::api::core::v1::{Node, Pod, Toleration};
use k8s_openapi::api::policy::v1::{
    PodDisruptionBudget, PodDisruptionBudgetSpec, PodDisruptionBudgetStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::num_feasible_nodes_to_find;
use crate::config::KubeSchedulerConfiguration;
use crate::core::{Outcome, SchedulerCore};
use crate::framework::snapshot::ClusterObjects;
use crate::framework::types::fixtures::*;
use crate::plugins::in_tree_registry;
use crate::plugins::inter_pod_affinity::tests::anti_pod;
use crate::plugins::pod_topology_spread::tests::spread_pod;

fn core_with(nodes: Vec<Node>) -> SchedulerCore {
    let mut c = SchedulerCore::new(
        &KubeSchedulerConfiguration::default_config(),
        &in_tree_registry(),
    )
    .unwrap();
    for n in nodes {
        c.node_upserted(n, Instant::now());
    }
    c
}

/// Schedules pods one by one, confirming bindings as the informer would.
fn run(c: &mut SchedulerCore, pods: Vec<Pod>) -> BTreeMap<String, Result<String, String>> {
    let mut out = BTreeMap::new();
    for p in pods {
        let name = p.metadata.name.clone().unwrap();
        c.pod_upserted(p, Instant::now());
        let res = match c.schedule_next().expect("a pod to schedule") {
            Outcome::Scheduled(a) => {
                c.binding_succeeded(&a);
                let mut bound = (*a.info.pod.pod).clone();
                bound.spec.as_mut().unwrap().node_name = Some(a.node.clone());
                c.pod_upserted(bound, Instant::now());
                Ok(a.node)
            }
            Outcome::Unschedulable { message, .. } => Err(message),
            Outcome::Error { message, .. } => Err(format!("error: {message}")),
            Outcome::Skipped => Err("skipped".into()),
        };
        out.insert(name, res);
    }
    out
}

fn master(name: &str) -> Node {
    taint(
        node(name, "4", "8Gi"),
        "node-role.kubernetes.io/master",
        "",
        "NoSchedule",
    )
}

#[test]
fn upstream_message_for_insufficient_cpu_and_taints() {
    let mut c = core_with(vec![node("w", "4", "8Gi"), master("m1"), master("m2")]);
    let r = run(&mut c, vec![pod("big", "100", "")]);
    assert_eq!(
        r["big"].as_ref().unwrap_err(),
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/master: }. \
preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
    );
}

#[test]
fn daemonset_style_toleration_lands_on_master() {
    let mut c = core_with(vec![master("m1")]);
    let mut p = pod("ds", "100m", "");
    p.spec.as_mut().unwrap().tolerations = Some(vec![Toleration {
        key: Some("node-role.kubernetes.io/master".into()),
        operator: Some("Exists".into()),
        effect: Some("NoSchedule".into()),
        ..Default::default()
    }]);
    let r = run(&mut c, vec![p, pod("plain", "100m", "")]);
    assert_eq!(r["ds"].as_deref(), Ok("m1"));
    assert!(r["plain"]
        .as_ref()
        .unwrap_err()
        .contains("1 node(s) had untolerated taint {node-role.kubernetes.io/master: }"));
}

#[test]
fn node_selector_only_on_labelled_node() {
    let mut c = core_with(vec![
        node("a", "4", "8Gi"),
        label(node("b", "4", "8Gi"), "disktype", "ssd"),
        node("c", "4", "8Gi"),
    ]);
    let pods: Vec<Pod> = (0..5)
        .map(|i| {
            let mut p = pod(&format!("p{i}"), "100m", "");
            p.spec.as_mut().unwrap().node_selector =
                Some([("disktype".to_string(), "ssd".to_string())].into());
            p
        })
        .collect();
    for (_, r) in run(&mut c, pods) {
        assert_eq!(r.as_deref(), Ok("b"));
    }
}

#[test]
fn anti_affinity_spreads_three_replicas_over_three_nodes() {
    let mut c = core_with(vec![
        node("a", "4", "8Gi"),
        node("b", "4", "8Gi"),
        node("c", "4", "8Gi"),
    ]);
    let r = run(
        &mut c,
        (0..4)
            .map(|i| anti_pod(&format!("web-{i}"), "web"))
            .collect(),
    );
    let nodes: std::collections::BTreeSet<&str> = (0..3)
        .map(|i| r[&format!("web-{i}")].as_deref().unwrap())
        .collect();
    assert_eq!(nodes.len(), 3);
    assert_eq!(
        r["web-3"].as_ref().unwrap_err(),
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    );
}

#[test]
fn topology_spread_max_skew_one_across_zones() {
    let zones = ["z1", "z1", "z2", "z3"];
    let nodes = zones
        .iter()
        .enumerate()
        .map(|(i, z)| {
            label(
                node(&format!("n{i}"), "8", "16Gi"),
                "topology.kubernetes.io/zone",
                z,
            )
        })
        .collect();
    let mut c = core_with(nodes);
    let r = run(
        &mut c,
        (0..6)
            .map(|i| spread_pod(&format!("s{i}"), "web", "DoNotSchedule"))
            .collect(),
    );
    let mut per_zone: BTreeMap<&str, usize> = BTreeMap::new();
    for node in r.values() {
        let idx: usize = node.as_ref().unwrap()[1..].parse().unwrap();
        *per_zone.entry(zones[idx]).or_default() += 1;
    }
    assert_eq!(
        per_zone.values().copied().collect::<Vec<_>>(),
        vec![2, 2, 2]
    );
}

fn full_node_with_low_pods(
    c: &mut SchedulerCore,
    node_name: &str,
    prefix: &str,
    labels: &[(&str, &str)],
) {
    for i in 0..2 {
        let p = pod_labels(
            priority(on_node(pod(&format!("{prefix}{i}"), "1", ""), node_name), 1),
            labels,
        );
        c.pod_upserted(p, Instant::now());
    }
}

#[test]
fn preemption_picks_minimal_victims() {
    let mut c = core_with(vec![node("a", "2", "8Gi")]);
    full_node_with_low_pods(&mut c, "a", "low", &[]);
    c.pod_upserted(priority(pod("vip", "1", ""), 1000), Instant::now());
    let Some(Outcome::Unschedulable {
        post_filter,
        message,
        ..
    }) = c.schedule_next()
    else {
        panic!("expected preemption")
    };
    assert_eq!(message, "0/1 nodes are available: 1 Insufficient cpu.");
    let pf = post_filter.unwrap();
    assert_eq!(pf.nominated_node_name.as_deref(), Some("a"));
    assert_eq!(pf.victims.len(), 1);
}

#[test]
fn preemption_respects_pdbs() {
    let mut c = core_with(vec![node("a", "2", "8Gi"), node("b", "2", "8Gi")]);
    full_node_with_low_pods(&mut c, "a", "guarded", &[("app", "guarded")]);
    full_node_with_low_pods(&mut c, "b", "free", &[("app", "free")]);
    let pdb = PodDisruptionBudget {
        metadata: ObjectMeta {
            name: Some("pdb".into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        spec: Some(PodDisruptionBudgetSpec {
            selector: Some(LabelSelector {
                match_labels: Some([("app".to_string(), "guarded".to_string())].into()),
                match_expressions: None,
            }),
            ..Default::default()
        }),
        status: Some(PodDisruptionBudgetStatus {
            disruptions_allowed: 0,
            ..Default::default()
        }),
    };
    c.objects_changed(
        std::sync::Arc::new(ClusterObjects {
            pdbs: vec![pdb],
            ..Default::default()
        }),
        Instant::now(),
    );
    c.pod_upserted(priority(pod("vip", "1", ""), 1000), Instant::now());
    let Some(Outcome::Unschedulable { post_filter, .. }) = c.schedule_next() else {
        panic!("expected preemption")
    };
    assert_eq!(
        post_filter.unwrap().nominated_node_name.as_deref(),
        Some("b")
    );
}

#[test]
fn preemption_policy_never() {
    let mut c = core_with(vec![node("a", "2", "8Gi")]);
    full_node_with_low_pods(&mut c, "a", "low", &[]);
    let mut p = priority(pod("vip", "1", ""), 1000);
    p.spec.as_mut().unwrap().preemption_policy = Some("Never".into());
    c.pod_upserted(p, Instant::now());
    let Some(Outcome::Unschedulable { message, .. }) = c.schedule_next() else {
        panic!()
    };
    assert_eq!(message, "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.");
}

#[test]
fn nominated_pod_reserves_its_node() {
    let mut c = core_with(vec![node("a", "2", "8Gi")]);
    let vip = std::sync::Arc::new(crate::framework::types::PodInfo::new(priority(
        pod("vip", "2", ""),
        1000,
    )));
    c.queue.add_nominated(vip, "a");
    let r = run(&mut c, vec![pod("low", "1", "")]);
    assert!(r["low"]
        .as_ref()
        .unwrap_err()
        .starts_with("0/1 nodes are available: 1 Insufficient cpu."));
}

#[test]
fn adaptive_percentage() {
    assert_eq!(num_feasible_nodes_to_find(None, 50), 50);
    assert_eq!(num_feasible_nodes_to_find(None, 5000), 500);
    assert_eq!(num_feasible_nodes_to_find(None, 1000), 420);
    assert_eq!(num_feasible_nodes_to_find(Some(100), 5000), 5000);
    assert_eq!(num_feasible_nodes_to_find(None, 200), 100);
}

#[test]
fn large_cluster_searches_in_parallel_batches() {
    let mut nodes: Vec<Node> = (0..1500)
        .map(|i| node(&format!("n{i}"), "4", "8Gi"))
        .collect();
    nodes[1234] = label(nodes[1234].clone(), "special", "yes");
    let mut c = core_with(nodes);
    let mut p = pod("picky", "100m", "");
    p.spec.as_mut().unwrap().node_selector =
        Some([("special".to_string(), "yes".to_string())].into());
    let r = run(&mut c, vec![p, pod("too-big", "64", "")]);
    assert_eq!(r["picky"].as_deref(), Ok("n1234"));
    assert!(r["too-big"]
        .as_ref()
        .unwrap_err()
        .starts_with("0/1500 nodes are available: 1500 Insufficient cpu."));
    // 1500 nodes: the adaptive percentage is 38%, so 570 feasible nodes are scored.
    assert_eq!(num_feasible_nodes_to_find(None, 1500), 570);
}
