//! kube-scheduler against a real apiserver, driven with the real kubectl. Nodes are plain
//! Node objects (no kubelet runs), so pods only get bound, never started.

use std::time::{Duration, Instant};

use rkube_integration_tests::{Apiserver, Scheduler, KUBECTL_133};
use serde_json::Value;

const MASTER_TAINT: &str = "node-role.kubernetes.io/master";

fn node_yaml(name: &str, cpu: &str, labels: &[(&str, &str)], master: bool) -> String {
    let mut l = format!("kubernetes.io/hostname: {name}");
    for (k, v) in labels {
        l.push_str(&format!(", {k}: {v}"));
    }
    let taints = if master { format!("\nspec: {{taints: [{{key: {MASTER_TAINT}, effect: NoSchedule}}]}}") } else { String::new() };
    format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}, labels: {{{l}}}}}{taints}\nstatus: {{capacity: {{cpu: \"{cpu}\", memory: 16Gi, pods: \"110\"}}, allocatable: {{cpu: \"{cpu}\", memory: 16Gi, pods: \"110\"}}}}\n"
    )
}

fn apply(s: &Apiserver, yaml: &str) {
    let out = s.kubectl_with(KUBECTL_133, &["create", "-f", "-"], Some(yaml));
    assert!(out.status.success(), "create failed: {}\n{yaml}", String::from_utf8_lossy(&out.stderr));
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pod_json(s: &Apiserver, name: &str) -> Option<Value> {
    let out = s.kubectl_with(KUBECTL_133, &["get", "pod", name, "-o", "json"], None);
    out.status.success().then(|| serde_json::from_slice(&out.stdout).expect("pod JSON"))
}

fn node_of(s: &Apiserver, name: &str) -> Option<String> {
    pod_json(s, name)?.pointer("/spec/nodeName").and_then(Value::as_str).map(str::to_string)
}

fn wait_bound(s: &Apiserver, sched: &Scheduler, name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(n) = node_of(s, name) {
            return n;
        }
        assert!(Instant::now() < deadline, "pod {name} was not bound; scheduler log:\n{}", sched.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn scheduled_condition(s: &Apiserver, name: &str) -> Option<(String, String)> {
    let p = pod_json(s, name)?;
    let conds = p.pointer("/status/conditions")?.as_array()?.clone();
    let c = conds.iter().find(|c| c["type"] == "PodScheduled" && c["status"] == "False")?;
    Some((c["reason"].as_str()?.to_string(), c["message"].as_str()?.to_string()))
}

fn pod_yaml(name: &str, labels: &str, spec_extra: &str, cpu: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{{labels}}}}}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - name: c\n    image: nginx\n    resources: {{requests: {{cpu: \"{cpu}\"}}}}\n{spec_extra}"
    )
}

/// Creates the pods of a Deployment's template, as its ReplicaSet would (no
/// controller-manager runs in these tests).
fn deployment_pods(s: &Apiserver, deploy: &str, replicas: usize) -> Vec<String> {
    let d = s.get_json(&["get", "deployment", deploy]);
    let template = d.pointer("/spec/template").expect("template").clone();
    (0..replicas)
        .map(|i| {
            let name = format!("{deploy}-{i}");
            let mut pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": template["metadata"].clone(), "spec": template["spec"].clone()});
            pod["metadata"]["name"] = Value::String(name.clone());
            apply(s, &pod.to_string());
            name
        })
        .collect()
}

#[test]
fn binds_deployment_pods_node_selector_and_big_pod_waits_for_a_node() {
    let s = Apiserver::start();
    for y in [node_yaml("w1", "4", &[], false), node_yaml("w2", "4", &[("disktype", "ssd")], false), node_yaml("m1", "4", &[], true)] {
        apply(&s, &y);
    }
    let sched = s.start_scheduler("kube-scheduler", &[]);
    assert_eq!(sched.get_raw("/healthz").as_deref(), Some("ok"));

    s.kubectl(&["create", "deployment", "web", "--image=nginx", "--replicas=3"]);
    for p in deployment_pods(&s, "web", 3) {
        let node = wait_bound(&s, &sched, &p);
        assert!(node == "w1" || node == "w2", "{p} landed on {node}");
    }

    apply(&s, &pod_yaml("ssd", "app: ssd", "  nodeSelector: {disktype: ssd}\n", "100m"));
    assert_eq!(wait_bound(&s, &sched, "ssd"), "w2");

    apply(&s, &pod_yaml("big", "app: big", "", "100"));
    let (reason, message) = wait_for("the Unschedulable condition", Duration::from_secs(20), || scheduled_condition(&s, "big"));
    assert_eq!(reason, "Unschedulable");
    assert_eq!(
        message,
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/master: }, 2 Insufficient cpu. \
preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
    );
    let events = s.kubectl(&["get", "events", "--field-selector", "involvedObject.name=big", "-o", "json"]);
    assert!(events.contains("FailedScheduling") && events.contains(&message), "{events}");
    assert_eq!(s.get_json(&["get", "pod", "big"])["status"]["phase"], "Pending");

    apply(&s, &node_yaml("huge", "128", &[], false));
    assert_eq!(wait_bound(&s, &sched, "big"), "huge");
    let events = s.kubectl(&["get", "events", "--field-selector", "involvedObject.name=big"]);
    assert!(events.contains("Successfully assigned default/big to huge"), "{events}");

    let metrics = sched.get_raw("/metrics").expect("metrics");
    for m in ["scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"scheduled\"}", "scheduler_pending_pods{queue=\"unschedulable\"}", "scheduler_scheduling_attempt_duration_seconds_bucket"] {
        assert!(metrics.contains(m), "{m} missing:\n{metrics}");
    }
}

#[test]
fn taints_node_affinity_and_pod_anti_affinity() {
    let s = Apiserver::start();
    for y in [
        node_yaml("n1", "4", &[("topology.kubernetes.io/zone", "a")], false),
        node_yaml("n2", "4", &[("topology.kubernetes.io/zone", "b")], false),
        node_yaml("n3", "4", &[("topology.kubernetes.io/zone", "c")], false),
        node_yaml("master", "4", &[("topology.kubernetes.io/zone", "a")], true),
    ] {
        apply(&s, &y);
    }
    let sched = s.start_scheduler("kube-scheduler", &[]);

    let on_master = "  nodeSelector: {kubernetes.io/hostname: master}\n";
    let tolerate = format!("  tolerations: [{{key: {MASTER_TAINT}, operator: Exists, effect: NoSchedule}}]\n");
    apply(&s, &pod_yaml("ds-pod", "app: ds", &format!("{on_master}{tolerate}"), "100m"));
    assert_eq!(wait_bound(&s, &sched, "ds-pod"), "master");
    apply(&s, &pod_yaml("intruder", "app: x", on_master, "100m"));
    let (_, msg) = wait_for("intruder to be unschedulable", Duration::from_secs(20), || scheduled_condition(&s, "intruder"));
    assert!(msg.starts_with("0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/master: }, 3 node(s) didn't match Pod's node affinity/selector."), "{msg}");

    let required = "  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n        - matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [b]}]\n";
    apply(&s, &pod_yaml("req", "app: req", required, "100m"));
    assert_eq!(wait_bound(&s, &sched, "req"), "n2");
    let preferred = "  affinity:\n    nodeAffinity:\n      preferredDuringSchedulingIgnoredDuringExecution:\n      - weight: 100\n        preference:\n          matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [c]}]\n";
    apply(&s, &pod_yaml("pref", "app: pref", preferred, "100m"));
    assert_eq!(wait_bound(&s, &sched, "pref"), "n3");

    let anti = "  affinity:\n    podAntiAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - labelSelector: {matchLabels: {app: spread}}\n        topologyKey: kubernetes.io/hostname\n";
    let mut nodes: Vec<String> = (0..3)
        .map(|i| {
            apply(&s, &pod_yaml(&format!("spread-{i}"), "app: spread", anti, "100m"));
            wait_bound(&s, &sched, &format!("spread-{i}"))
        })
        .collect();
    nodes.sort();
    assert_eq!(nodes, vec!["n1", "n2", "n3"]);
    apply(&s, &pod_yaml("spread-3", "app: spread", anti, "100m"));
    let (_, msg) = wait_for("the 4th replica to be unschedulable", Duration::from_secs(20), || scheduled_condition(&s, "spread-3"));
    assert!(msg.starts_with("0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/master: }, 3 node(s) didn't match pod anti-affinity rules."), "{msg}");
}

#[test]
fn topology_spread_max_skew_one_across_zones() {
    let s = Apiserver::start();
    for (n, z) in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("c1", "c")] {
        apply(&s, &node_yaml(n, "8", &[("topology.kubernetes.io/zone", z)], false));
    }
    let sched = s.start_scheduler("kube-scheduler", &[]);
    let spread = "  topologySpreadConstraints:\n  - maxSkew: 1\n    topologyKey: topology.kubernetes.io/zone\n    whenUnsatisfiable: DoNotSchedule\n    labelSelector: {matchLabels: {app: ts}}\n";
    let mut per_zone = std::collections::BTreeMap::new();
    for i in 0..6 {
        let name = format!("ts-{i}");
        apply(&s, &pod_yaml(&name, "app: ts", spread, "100m"));
        let node = wait_bound(&s, &sched, &name);
        *per_zone.entry(node[..1].to_string()).or_insert(0) += 1;
    }
    assert_eq!(per_zone.values().copied().collect::<Vec<i32>>(), vec![2, 2, 2], "{per_zone:?}");
}

#[test]
fn high_priority_pod_preempts_lower_priority_pods() {
    let s = Apiserver::start();
    apply(&s, &node_yaml("small", "2", &[], false));
    apply(&s, "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: low}\nvalue: 100\n");
    apply(&s, "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000000\n");
    let sched = s.start_scheduler("kube-scheduler", &[]);
    for i in 0..2 {
        apply(&s, &pod_yaml(&format!("low-{i}"), "app: low", "  priorityClassName: low\n", "1"));
        assert_eq!(wait_bound(&s, &sched, &format!("low-{i}")), "small");
    }
    apply(&s, &pod_yaml("vip", "app: vip", "  priorityClassName: high\n", "1"));
    assert_eq!(wait_bound(&s, &sched, "vip"), "small");
    let remaining: Vec<bool> = (0..2).map(|i| pod_json(&s, &format!("low-{i}")).is_some()).collect();
    assert_eq!(remaining.iter().filter(|r| **r).count(), 1, "exactly one victim must be deleted: {remaining:?}");
    let events = s.kubectl(&["get", "events"]);
    assert!(events.contains("Preempted by pod"), "{events}");
    let metrics = sched.get_raw("/metrics").expect("metrics");
    assert!(metrics.contains("scheduler_preemption_attempts_total "), "{metrics}");
    assert!(metrics.contains("scheduler_preemption_victims_count 1"), "{metrics}");
}

fn attempts(sched: &Scheduler) -> u64 {
    let m = sched.get_raw("/metrics").unwrap_or_default();
    m.lines()
        .filter(|l| l.starts_with("scheduler_schedule_attempts_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn only_the_leader_binds() {
    let s = Apiserver::start();
    apply(&s, &node_yaml("n1", "8", &[], false));
    let mut first = s.start_scheduler("sched-a", &["--leader-elect=true"]);
    wait_for("sched-a to lead", Duration::from_secs(20), || first.log().contains("became leader").then_some(()));
    let second = s.start_scheduler("sched-b", &["--leader-elect=true"]);
    for i in 0..3 {
        apply(&s, &pod_yaml(&format!("p{i}"), "app: p", "", "100m"));
        wait_bound(&s, &first, &format!("p{i}"));
    }
    assert!(attempts(&first) >= 3);
    assert_eq!(attempts(&second), 0, "the standby scheduler must not schedule:\n{}", second.log());
    assert!(!second.log().contains("became leader"));
    let lease = s.get_json(&["get", "lease", "kube-scheduler", "-n", "kube-system"]);
    assert!(lease["spec"]["holderIdentity"].as_str().is_some_and(|h| !h.is_empty()));

    first.kill();
    wait_for("sched-b to take over", Duration::from_secs(30), || second.log().contains("became leader").then_some(()));
    apply(&s, &pod_yaml("after", "app: p", "", "100m"));
    assert_eq!(wait_bound(&s, &second, "after"), "n1");
    assert!(attempts(&second) >= 1);
}

#[test]
fn profiles_from_a_config_file() {
    let s = Apiserver::start();
    apply(&s, &node_yaml("busy", "4", &[], false));
    apply(&s, &node_yaml("idle", "4", &[], false));
    let config = s.dir.path().join("sched-config.yaml");
    std::fs::write(
        &config,
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nleaderElection: {leaderElect: false}\nprofiles:\n- schedulerName: default-scheduler\n- schedulerName: bin-packing\n  plugins:\n    score:\n      disabled: [{name: '*'}]\n      enabled: [{name: NodeResourcesFit, weight: 1}]\n  pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {type: MostAllocated}}\n",
    )
    .expect("write config");
    let sched = s.start_scheduler("kube-scheduler", &["--config", config.to_str().expect("utf-8 path")]);
    apply(&s, &pod_yaml("anchor", "app: a", "  nodeName: busy\n", "2"));
    for i in 0..3 {
        let name = format!("packed-{i}");
        apply(&s, &pod_yaml(&name, "app: b", "  schedulerName: bin-packing\n", "200m"));
        assert_eq!(wait_bound(&s, &sched, &name), "busy", "MostAllocated packs onto the busy node");
    }
    apply(&s, &pod_yaml("spread", "app: c", "", "200m"));
    assert_eq!(wait_bound(&s, &sched, "spread"), "idle", "LeastAllocated spreads");
    apply(&s, &pod_yaml("foreign", "app: d", "  schedulerName: someone-else\n", "100m"));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(node_of(&s, "foreign"), None);
    assert!(scheduled_condition(&s, "foreign").is_none());
}

#[test]
fn wait_for_first_consumer_local_volume() {
    let s = Apiserver::start();
    apply(&s, &node_yaml("a", "4", &[], false));
    apply(&s, &node_yaml("b", "4", &[], false));
    apply(&s, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: local}\nprovisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: WaitForFirstConsumer\n");
    apply(
        &s,
        "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: local-b}\nspec:\n  capacity: {storage: 10Gi}\n  accessModes: [ReadWriteOnce]\n  storageClassName: local\n  local: {path: /mnt/disk}\n  nodeAffinity:\n    required:\n      nodeSelectorTerms:\n      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [b]}]\n",
    );
    apply(&s, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: local\n  resources: {requests: {storage: 1Gi}}\n");
    let sched = s.start_scheduler("kube-scheduler", &[]);
    let volumes = "  volumes:\n  - name: data\n    persistentVolumeClaim: {claimName: data}\n";
    apply(&s, &pod_yaml("db", "app: db", volumes, "100m"));
    assert_eq!(wait_bound(&s, &sched, "db"), "b");
    let pv = s.get_json(&["get", "pv", "local-b"]);
    assert_eq!(pv["spec"]["claimRef"]["name"], "data");
    let pvc = s.get_json(&["get", "pvc", "data"]);
    assert_eq!(pvc["spec"]["volumeName"], "local-b");

    apply(&s, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: nothing-left}\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: local\n  resources: {requests: {storage: 1Gi}}\n");
    apply(&s, &pod_yaml("db2", "app: db", "  volumes:\n  - name: data\n    persistentVolumeClaim: {claimName: nothing-left}\n", "100m"));
    let (_, msg) = wait_for("db2 to be unschedulable", Duration::from_secs(20), || scheduled_condition(&s, "db2"));
    assert_eq!(msg, "0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.");
}
