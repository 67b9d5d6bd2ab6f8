//! Static pods from a KubeletConfiguration's staticPodPath (with their mirror pods), and a
//! kubelet killed with SIGKILL that adopts its running containers without restarting them.

use std::time::Duration;

use rkube_integration_tests::kubelet::{node_available, wait_for, KubeletNode};
use rkube_integration_tests::Apiserver;
use serde_json::Value;

fn running(p: &Value) -> bool {
    p["status"]["phase"] == "Running"
}

#[test]
fn static_pod_with_mirror_pod_from_kubelet_config() {
    if !node_available() {
        return;
    }
    let api = Apiserver::start();
    let manifests = tempfile::tempdir().unwrap();
    let config = manifests.path().join("kubelet.yaml");
    let pods = manifests.path().join("pods");
    std::fs::create_dir_all(&pods).unwrap();
    std::fs::write(
        &config,
        format!(
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPath: {}\nfileCheckFrequency: 1s\nmaxPods: 50\n",
            pods.display()
        ),
    )
    .unwrap();
    std::fs::write(
        pods.join("static-web.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\n  labels: {role: static}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: web\n    image: busybox:1.35\n    command: [httpd, -f, -p, '80', -h, /var/www]\n",
    )
    .unwrap();
    let _node = KubeletNode::start_with(&api, "node-s", &["--config", &config.display().to_string()]);
    let n = wait_for(Duration::from_secs(30), "node", || api.try_get_json(&["get", "node", "node-s"]));
    assert_eq!(n["status"]["capacity"]["pods"], "50", "maxPods from the config file");

    let mirror = api.wait_pod("static-web-node-s", Duration::from_secs(60), "mirror pod Running", running);
    let ann = &mirror["metadata"]["annotations"];
    assert_eq!(ann["kubernetes.io/config.source"], "file");
    assert!(ann["kubernetes.io/config.mirror"].is_string());
    assert_eq!(mirror["metadata"]["ownerReferences"][0]["kind"], "Node");
    assert_eq!(mirror["spec"]["nodeName"], "node-s");
    let uid = mirror["metadata"]["uid"].as_str().unwrap().to_string();

    // A deleted mirror pod comes back; the static pod kept running.
    api.kubectl(&["delete", "pod", "static-web-node-s", "--wait=false"]);
    let back = api.wait_pod("static-web-node-s", Duration::from_secs(30), "mirror recreated", |p| {
        p["metadata"]["uid"].as_str() != Some(uid.as_str()) && p["metadata"]["deletionTimestamp"].is_null() && running(p)
    });
    assert_eq!(back["status"]["containerStatuses"][0]["restartCount"], 0);

    // Removing the manifest removes the pod and its mirror.
    std::fs::remove_file(pods.join("static-web.yaml")).unwrap();
    wait_for(Duration::from_secs(30), "mirror pod gone", || api.try_get_json(&["get", "pod", "static-web-node-s"]).is_none().then_some(()));
}

fn container_ids(p: &Value) -> Vec<(String, i64)> {
    p["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (c["containerID"].as_str().unwrap_or("").to_string(), c["restartCount"].as_i64().unwrap_or(-1)))
        .collect()
}

#[test]
fn kill_9_of_the_kubelet_adopts_running_containers() {
    if !node_available() {
        return;
    }
    let api = Apiserver::start();
    let mut node = KubeletNode::start(&api, "node-k");
    wait_for(Duration::from_secs(30), "node", || api.try_get_json(&["get", "node", "node-k"]));
    api.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  nodeName: node-k\n  terminationGracePeriodSeconds: 1\n  containers:\n  - {name: c, image: busybox:1.35, command: [sleep, '3600']}\n  - {name: d, image: busybox:1.35, command: [sleep, '3600'], readinessProbe: {exec: {command: ['true']}, periodSeconds: 1}}\n",
    );
    let before = api.wait_pod("a", Duration::from_secs(60), "ready", |p| running(p) && p["status"]["containerStatuses"][1]["ready"] == true);
    let ids = container_ids(&before);
    let ip = before["status"]["podIP"].clone();

    node.kill9_kubelet();
    std::thread::sleep(Duration::from_secs(2));
    node.start_kubelet();
    std::thread::sleep(Duration::from_secs(6));
    let after = api.wait_pod("a", Duration::from_secs(30), "ready again", |p| running(p) && p["status"]["containerStatuses"][1]["ready"] == true);
    assert_eq!(container_ids(&after), ids, "containers were replaced or restarted");
    assert_eq!(after["status"]["podIP"], ip);
    assert!(node.log().contains("node already registered"), "the restarted kubelet re-registered");

    // The restarted kubelet still runs new pods and deletes old ones.
    api.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  nodeName: node-k\n  containers:\n  - {name: c, image: busybox:1.35, command: [sleep, '3600']}\n");
    api.wait_pod("b", Duration::from_secs(60), "Running", running);
    api.kubectl(&["delete", "pod", "a", "--timeout=60s"]);
}
