//! The whole cluster on a real node: apiserver + controller-manager + scheduler + kubelet with
//! containerd. The seed's nginx Deployment (busybox httpd instead of nginx) gets its pods
//! scheduled and Running with pod IPs that serve HTTP, and deleting one of them with the real
//! kubectl brings a replacement Running.

use std::time::Duration;

use rkube_integration_tests::kubelet::{wait_for, Cluster, KubeletNode};
use rkube_integration_tests::Apiserver;
use serde_json::Value;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
spec:
  selector:
    matchLabels:
      app: nginx
  replicas: 2
  template:
    metadata:
      labels:
        app: nginx
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: nginx
        image: busybox:1.35
        command: [sh, -c, "mkdir -p /www && echo hello from $(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"]
        ports:
        - containerPort: 80
"#;

/// Names and IPs of the Deployment's pods that are Running, Ready and not being deleted.
fn running_pods(api: &Apiserver) -> Vec<(String, String)> {
    let Some(list) = api.try_get_json(&["get", "pods", "-l", "app=nginx"]) else { return Vec::new() };
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null() && p["status"]["phase"] == "Running")
        .filter(|p| p["status"]["conditions"].as_array().into_iter().flatten().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        .filter_map(|p| Some((p["metadata"]["name"].as_str()?.to_string(), p["status"]["podIP"].as_str()?.to_string())))
        .collect()
}

fn serves(node: &KubeletNode, ip: &str, name: &str) {
    let out = node.in_netns(&["curl", "-s", "-m", "5", &format!("http://{ip}/")]);
    let body = String::from_utf8_lossy(&out.stdout);
    assert_eq!(body.trim(), format!("hello from {name}"), "GET http://{ip}/: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn deployment_pods_run_and_a_deleted_pod_is_replaced() {
    let Some(c) = Cluster::start("node-c") else { return };
    let (api, node) = (&c.api, &c.node);
    wait_for(Duration::from_secs(30), "node Ready", || {
        let n: Value = api.try_get_json(&["get", "node", "node-c"])?;
        n["status"]["conditions"].as_array()?.iter().any(|c| c["type"] == "Ready" && c["status"] == "True").then_some(())
    });

    let out = api.apply_yaml(DEPLOYMENT);
    assert!(out.contains("deployment.apps/nginx-deployment created"), "{out}");
    let first = wait_for(Duration::from_secs(90), "2 pods Running", || {
        let pods = running_pods(api);
        (pods.len() == 2).then_some(pods)
    });
    for (name, ip) in &first {
        assert!(ip.starts_with("10.244."), "pod {name} has IP {ip}");
        serves(node, ip, name);
    }
    let table = api.kubectl(&["get", "deployment", "nginx-deployment"]);
    assert!(table.lines().nth(1).is_some_and(|l| l.split_whitespace().nth(1) == Some("2/2")), "{table}");

    let (victim, _) = &first[0];
    let out = api.kubectl(&["delete", "pod", victim]);
    assert!(out.contains(&format!("pod \"{victim}\" deleted")), "{out}");
    let after = wait_for(Duration::from_secs(90), "a replacement pod Running", || {
        let pods = running_pods(api);
        (pods.len() == 2 && pods.iter().all(|(n, _)| n != victim)).then_some(pods)
    });
    let (replacement, ip) = after.iter().find(|(n, _)| *n != first[1].0).expect("a new pod");
    serves(node, ip, replacement);
    wait_for(Duration::from_secs(30), "the deleted pod gone", || api.try_get_json(&["get", "pod", victim]).is_none().then_some(()));
}
