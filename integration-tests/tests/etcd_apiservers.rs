//! Two apiservers on one etcd: a write through one is read and watched through the other.

use std::process::{Command, Stdio};
use std::time::Duration;

use rkube_integration_tests::{fixture, Apiserver, Etcd};

#[test]
fn two_apiservers_share_one_etcd() {
    let etcd = Etcd::start();
    let a = Apiserver::start_on_etcd(&etcd.endpoint);
    let b = Apiserver::start_on_etcd(&etcd.endpoint);
    let watch = Command::new("curl")
        .args(["-sN", "--max-time", "5", &format!("http://{}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=4", b.addr)])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    a.kubectl(&["create", "-f", &fixture("nginx-deployment.yaml").display().to_string()]);
    a.kubectl(&["create", "configmap", "shared", "--from-literal=k=v"]);
    assert_eq!(b.kubectl(&["get", "deploy", "nginx-deployment", "-o", "jsonpath={.spec.replicas}"]), "2");
    assert_eq!(b.kubectl(&["get", "cm", "shared", "-o", "jsonpath={.data.k}"]), "v");
    // Both allocate ClusterIPs from the same store: no duplicates.
    a.kubectl(&["create", "service", "clusterip", "one", "--tcp=80:80"]);
    b.kubectl(&["create", "service", "clusterip", "two", "--tcp=80:80"]);
    let ips = a.kubectl(&["get", "svc", "-o", "jsonpath={.items[*].spec.clusterIP}"]);
    let mut list: Vec<&str> = ips.split_whitespace().collect();
    let n = list.len();
    list.sort();
    list.dedup();
    assert_eq!((n, list.len()), (3, 3), "{ips}");
    let out = watch.wait_with_output().unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.lines().any(|l| l.contains("\"ADDED\"") && l.contains("\"shared\"")), "{body}");
    // A stale write through B after A's update is a conflict, as on one server.
    let stale = b.get_json(&["get", "cm", "shared"]);
    a.kubectl(&["label", "cm", "shared", "x=1"]);
    let out = b.kubectl_with(rkube_integration_tests::KUBECTL_133, &["replace", "-f", "-"], Some(&stale.to_string()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the object has been modified"));
}
