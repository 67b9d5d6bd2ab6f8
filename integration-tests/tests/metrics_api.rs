//! The resource metrics API (metrics.k8s.io/v1beta1) on a real containerd node: the
//! apiserver scrapes the kubelet's /stats/summary, a busy pod (a shell loop under a CPU limit)
//! shows CPU, and our `kubectl top pod|node` prints what kubectl 1.33 prints, byte for byte,
//! including the errors before metrics exist.

use std::process::Output;
use std::time::Duration;

use rkube_integration_tests::kubelet::{node_available, wait_for, KubeletNode};
use rkube_integration_tests::{binary, Apiserver, KUBECTL_133};
use serde_json::Value;

const NODE: &str = "node-metrics";

#[derive(Debug, PartialEq)]
struct Run {
    code: i32,
    out: String,
    err: String,
}

fn run(api: &Apiserver, kubectl: &str, args: &[&str]) -> Run {
    let o: Output = api.kubectl_with(kubectl, args, None);
    Run { code: o.status.code().unwrap_or(-1), out: String::from_utf8_lossy(&o.stdout).into(), err: String::from_utf8_lossy(&o.stderr).into() }
}

/// Runs kubectl 1.33, ours, then 1.33 again: when both 1.33 runs agree (no scrape landed in
/// between), ours must print the same. Returns 1.33's result.
fn same_as_133(api: &Apiserver, ours: &str, args: &[&str]) -> Run {
    for _ in 0..5 {
        let before = run(api, KUBECTL_133, args);
        let mine = run(api, ours, args);
        let after = run(api, KUBECTL_133, args);
        if before == after {
            assert_eq!(mine, before, "kubectl top {args:?}: ours (left) differs from kubectl 1.33 (right)");
            eprintln!("$ kubectl {}  (exit {})\n{}{}", args.join(" "), before.code, before.out, before.err);
            return before;
        }
    }
    panic!("kubectl 1.33 top {args:?} never printed the same twice in a row");
}

/// The CPU column of a pod row, in millicores.
fn cpu_of(table: &str, pod: &str) -> Option<u64> {
    let row = table.lines().find(|l| l.split_whitespace().next() == Some(pod))?;
    row.split_whitespace().nth(1)?.strip_suffix('m')?.parse().ok()
}

fn get_raw(api: &Apiserver, path: &str) -> Value {
    serde_json::from_str(&api.kubectl(&["get", "--raw", path])).expect("JSON")
}

#[test]
fn kubectl_top_shows_scraped_usage() {
    if !node_available() {
        return;
    }
    let api = Apiserver::start();
    let node = KubeletNode::start(&api, NODE);
    wait_for(Duration::from_secs(30), "node registered", || api.try_get_json(&["get", "node", NODE]));
    let ours = binary("kubectl").display().to_string();

    // Discovery lists the group, legacy and aggregated.
    let groups = get_raw(&api, "/apis");
    assert!(groups["groups"].as_array().unwrap().iter().any(|g| g["name"] == "metrics.k8s.io" && g["preferredVersion"]["version"] == "v1beta1"));
    let resources = get_raw(&api, "/apis/metrics.k8s.io/v1beta1");
    let names: Vec<&str> = resources["resources"].as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ["nodes", "pods"]);
    assert!(api.kubectl(&["api-resources", "--api-group=metrics.k8s.io"]).contains("PodMetrics"));

    // Before any pod: no rows, upstream's message on stderr.
    let empty = same_as_133(&api, &ours, &["top", "pod"]);
    assert_eq!((empty.code, empty.err.as_str()), (0, "No resources found in default namespace.\n"));
    same_as_133(&api, &ours, &["top", "pod", "--sort-by=disk"]);
    same_as_133(&api, &ours, &["top", "pod", "nosuch"]);
    same_as_133(&api, &ours, &["top", "node", "a", "b"]);

    api.apply_yaml(&format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: busy, labels: {{app: busy}}}}
spec:
  nodeName: {NODE}
  terminationGracePeriodSeconds: 0
  containers:
  - name: spin
    image: busybox:1.35
    command: [sh, -c, "while :; do :; done"]
    resources: {{limits: {{cpu: 200m, memory: 64Mi}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: idle, labels: {{app: idle}}}}
spec:
  nodeName: {NODE}
  terminationGracePeriodSeconds: 0
  containers:
  - {{name: sleep, image: busybox:1.35, command: [sleep, "3600"]}}
  - {{name: sidecar, image: busybox:1.35, command: [sleep, "3600"]}}
"#
    ));
    for pod in ["busy", "idle"] {
        api.wait_pod(pod, Duration::from_secs(60), "running", |p| p["status"]["phase"] == "Running");
    }

    // Young pods without metrics yet: "metrics not available yet" from both (when the first
    // scrape with them has not formed a window yet).
    let early = run(&api, KUBECTL_133, &["top", "pod"]);
    if early.code != 0 {
        assert_eq!(early.err, "error: metrics not available yet\n");
        let mine = run(&api, &ours, &["top", "pod"]);
        if mine.code != 0 {
            assert_eq!(mine, early);
        }
    }

    // Metrics within a minute: both pods, the busy one using CPU.
    let table = wait_for(Duration::from_secs(60), "pod metrics with CPU for busy", || {
        let r = run(&api, KUBECTL_133, &["top", "pod"]);
        (r.code == 0 && cpu_of(&r.out, "busy").is_some_and(|c| c > 0) && cpu_of(&r.out, "idle").is_some()).then_some(r.out)
    });
    let busy = cpu_of(&table, "busy").unwrap();
    assert!(busy > 20 && busy <= 260, "busy pod under a 200m limit uses {busy}m:\n{table}");
    let ours_table = same_as_133(&api, &ours, &["top", "pod"]).out;
    let rows: Vec<&str> = ours_table.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(rows, ["busy", "idle"]);

    // The API objects have metrics-server's shape.
    let pm = get_raw(&api, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy");
    assert_eq!((pm["kind"].as_str(), pm["apiVersion"].as_str()), (Some("PodMetrics"), Some("metrics.k8s.io/v1beta1")));
    assert_eq!(pm["metadata"]["labels"]["app"], "busy");
    let window = pm["window"].as_str().unwrap();
    assert!(window.ends_with('s') && window.trim_end_matches('s').parse::<f64>().is_ok_and(|w| w > 5.0 && w < 40.0), "window {window}");
    assert!(pm["timestamp"].as_str().unwrap().ends_with('Z'));
    let spin = &pm["containers"][0];
    assert_eq!(spin["name"], "spin");
    assert!(spin["usage"]["cpu"].as_str().is_some_and(|c| c != "0"), "{pm}");
    assert!(spin["usage"]["memory"].as_str().is_some_and(|m| m != "0"), "{pm}");
    let idle = get_raw(&api, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Didle");
    assert_eq!(idle["kind"], "PodMetricsList");
    assert_eq!(idle["items"].as_array().unwrap().len(), 1);
    assert_eq!(idle["items"][0]["containers"].as_array().unwrap().len(), 2);

    for args in [
        &["top", "pod", "--no-headers"][..],
        &["top", "pod", "-A"],
        &["top", "pod", "-l", "app=busy"],
        &["top", "pod", "-l", "app in (busy,idle)", "--sort-by=cpu"],
        &["top", "pod", "--containers"],
        &["top", "pod", "--sort-by=memory", "--sum"],
        &["top", "pod", "-A", "--containers", "--sum"],
        &["top", "pod", "-A", "--no-headers", "--sum"],
        &["top", "pod", "busy", "--containers"],
        &["top", "pod", "--field-selector", "metadata.name=idle"],
        &["top", "pod", "-n", "kube-system"],
        &["top", "pod", "-l", "app=none"],
        &["top", "pod", "busy", "-l", "app=busy"],
    ] {
        same_as_133(&api, &ours, args);
    }

    // Nodes: the node with its share of allocatable.
    let nodes = wait_for(Duration::from_secs(40), "node metrics", || {
        let r = run(&api, KUBECTL_133, &["top", "node"]);
        (r.code == 0).then_some(r.out)
    });
    assert!(nodes.lines().nth(1).is_some_and(|l| l.starts_with(NODE)), "{nodes}");
    for args in [
        &["top", "node"][..],
        &["top", "node", NODE],
        &["top", "node", "--no-headers", "--sort-by=cpu"],
        &["top", "node", "--show-capacity", "--sort-by=memory"],
        &["top", "node", "-l", "kubernetes.io/hostname"],
        &["top", "node", "-l", "nosuch=label"],
        &["top", "node", "nosuch"],
    ] {
        same_as_133(&api, &ours, args);
    }
    let nm = get_raw(&api, &format!("/apis/metrics.k8s.io/v1beta1/nodes/{NODE}"));
    assert_eq!(nm["kind"], "NodeMetrics");
    assert!(nm["usage"]["cpu"].as_str().is_some() && nm["usage"]["memory"].as_str().is_some_and(|m| m != "0"), "{nm}");

    api.kubectl(&["delete", "pod", "busy", "idle", "--grace-period=0", "--force", "--wait=false"]);
    drop(node);
}
