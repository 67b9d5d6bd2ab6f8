//! `kubectl get -w` sees changes from another client; after `kill -9` and a restart every
//! acknowledged write is there and a watch resumes from its last resourceVersion.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rkube_integration_tests::{Apiserver, KUBECTL_133};

fn lines_of(mut child: std::process::Child) -> (std::process::Child, mpsc::Receiver<String>) {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn wait_for(rx: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            if line.contains(needle) {
                return line;
            }
        }
    }
    panic!("no watch line containing {needle:?}");
}

#[test]
fn kubectl_watch_sees_added_modified_deleted() {
    let s = Apiserver::start();
    let child = Command::new(KUBECTL_133)
        .arg("--kubeconfig").arg(s.kubeconfig())
        .args(["get", "configmaps", "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut child, rx) = lines_of(child);
    std::thread::sleep(Duration::from_millis(500));
    s.kubectl(&["create", "configmap", "watched", "--from-literal=a=1"]);
    wait_for(&rx, "ADDED");
    s.kubectl(&["label", "configmap", "watched", "x=y"]);
    wait_for(&rx, "MODIFIED");
    s.kubectl(&["delete", "configmap", "watched"]);
    wait_for(&rx, "DELETED");
    let _ = child.kill();
}

#[test]
fn writes_survive_kill_9_and_watch_resumes() {
    let mut s = Apiserver::start();
    for i in 0..20 {
        s.kubectl(&["create", "configmap", &format!("cm{i}"), &format!("--from-literal=i={i}")]);
    }
    let list: serde_json::Value = serde_json::from_str(&s.get_raw("/api/v1/namespaces/default/configmaps").unwrap()).unwrap();
    let rv: u64 = list["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
    s.restart();
    let names = s.kubectl(&["get", "configmaps", "-o", "name"]);
    for i in 0..20 {
        assert!(names.lines().any(|l| l == format!("configmap/cm{i}")), "cm{i} lost after kill -9:\n{names}");
    }
    s.kubectl(&["create", "configmap", "after-restart"]);
    // A watch from the pre-crash resourceVersion replays exactly what came after it.
    let out = Command::new("curl")
        .args(["-sN", "--max-time", "3", &format!("http://{}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=2", s.addr)])
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    let events: Vec<serde_json::Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 1, "{body}");
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "after-restart");
}

#[test]
fn watch_from_compacted_revision_is_gone() {
    let s = Apiserver::start();
    let out = Command::new("curl")
        .args(["-sN", "--max-time", "3", &format!("http://{}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=999999999&timeoutSeconds=1", s.addr)])
        .output()
        .unwrap();
    // A revision from the future is not an error for a watch upstream; it waits. Nothing arrives.
    assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty());
}
