//! kubectl logs / exec / port-forward through the apiserver and the kubelet to containerd,
//! with the real kubectl 1.33 (WebSocket) and 1.27 (SPDY).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rkube_integration_tests::kubelet::{node_available, wait_for, KubeletNode};
use rkube_integration_tests::{Apiserver, KUBECTL_127, KUBECTL_133};

fn setup(name: &str) -> Option<(Apiserver, KubeletNode)> {
    if !node_available() {
        return None;
    }
    let api = Apiserver::start();
    let node = KubeletNode::start(&api, name);
    wait_for(Duration::from_secs(30), "node registered", || api.try_get_json(&["get", "node", name]));
    Some((api, node))
}

const COUNTER: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: counter}
spec:
  nodeName: NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: count
    image: busybox:1.35
    args: [/bin/sh, -c, 'i=0; while true; do echo "$i: $(date)" >> /var/log/1.log; echo "$(date) INFO $i" >> /var/log/2.log; i=$((i+1)); sleep 1; done']
    volumeMounts: [{name: varlog, mountPath: /var/log}]
  - name: count-log-1
    image: busybox:1.35
    args: [/bin/sh, -c, 'tail -n+1 -F /var/log/1.log']
    volumeMounts: [{name: varlog, mountPath: /var/log}]
  - name: count-log-2
    image: busybox:1.35
    args: [/bin/sh, -c, 'tail -n+1 -F /var/log/2.log']
    volumeMounts: [{name: varlog, mountPath: /var/log}]
  volumes: [{name: varlog, emptyDir: {}}]
---
apiVersion: v1
kind: Pod
metadata: {name: again}
spec:
  nodeName: NODE
  containers:
  - name: c
    image: busybox:1.35
    command: [sh, -c, 'n=$(cat /d/n 2>/dev/null || echo 0); echo "run $n"; echo $((n+1)) > /d/n; sleep 2; exit 1']
    volumeMounts: [{name: d, mountPath: /d}]
  volumes: [{name: d, emptyDir: {}}]
"#;

fn running(p: &serde_json::Value) -> bool {
    p["status"]["phase"] == "Running"
}

#[test]
fn kubectl_logs_of_a_two_sidecar_counter() {
    let Some((api, _node)) = setup("node-l") else { return };
    api.apply_yaml(&COUNTER.replace("NODE", "node-l"));
    api.wait_pod("counter", Duration::from_secs(60), "Running", running);
    wait_for(Duration::from_secs(20), "8 counted lines", || {
        Some(api.kubectl(&["logs", "counter", "count-log-1"])).filter(|l| l.lines().filter(|l| !l.starts_with("tail: ")).count() >= 8)
    });
    let all = api.kubectl(&["logs", "counter", "count-log-1"]);
    // tail may start before the counter's first write and say so on stderr.
    for (i, line) in all.lines().filter(|l| !l.starts_with("tail: ")).enumerate() {
        assert!(line.starts_with(&format!("{i}: ")), "line {i} is {line:?} in\n{all}");
    }
    let tail = api.kubectl(&["logs", "counter", "count-log-1", "--tail=5"]);
    assert_eq!(tail.lines().count(), 5, "{tail}");
    let two = api.kubectl(&["logs", "counter", "-c", "count-log-2", "--tail=2", "--timestamps"]);
    for l in two.lines() {
        let (ts, rest) = l.split_once(' ').unwrap();
        assert!(ts.len() == 30 && ts.ends_with('Z') && rest.contains(" INFO "), "{l}");
    }
    let since = api.kubectl(&["logs", "counter", "count-log-1", "--since=3s"]);
    assert!(since.lines().count() <= 5, "{since}");
    let err = api.kubectl_err(KUBECTL_133, &["logs", "counter", "count-log-1", "--previous"]);
    assert!(err.contains("previous terminated container \"count-log-1\" in pod \"counter\" not found"), "{err}");

    // -f streams new lines as they are written.
    let mut follow = Command::new(KUBECTL_133)
        .arg("--kubeconfig")
        .arg(api.kubeconfig())
        .arg("--cache-dir")
        .arg(api.dir.path().join("cache-follow"))
        .args(["logs", "-f", "counter", "count-log-1", "--tail=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(follow.stdout.take().unwrap());
    let mut numbers = vec![];
    let t = Instant::now();
    while numbers.len() < 4 && t.elapsed() < Duration::from_secs(15) {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        numbers.push(line.split(':').next().unwrap().parse::<u64>().unwrap());
    }
    let _ = follow.kill();
    let _ = follow.wait();
    assert_eq!(numbers.len(), 4, "followed {numbers:?}");
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");

    // --previous shows the last terminated instance.
    api.wait_pod("again", Duration::from_secs(60), "a restart", |p| p["status"]["containerStatuses"][0]["restartCount"].as_i64() >= Some(1));
    let prev = wait_for(Duration::from_secs(20), "previous logs", || {
        let out = api.kubectl_with(KUBECTL_133, &["logs", "again", "--previous"], None);
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    });
    assert!(prev.starts_with("run "), "{prev}");
    let now = api.kubectl(&["logs", "again"]);
    let n = |s: &str| s.trim().trim_start_matches("run ").parse::<u32>().unwrap_or(0);
    assert!(now.is_empty() || n(&now) > n(&prev), "current {now:?} previous {prev:?}");
}

#[test]
fn kubectl_exec_with_1_33_websocket_and_1_27_spdy() {
    let Some((api, _node)) = setup("node-e") else { return };
    api.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: shell}\nspec:\n  nodeName: node-e\n  terminationGracePeriodSeconds: 1\n  containers:\n  - {name: c, image: busybox:1.35, command: [sleep, '3600']}\n",
    );
    api.wait_pod("shell", Duration::from_secs(60), "Running", running);
    for kubectl in [KUBECTL_133, KUBECTL_127] {
        let out = api.kubectl_with(kubectl, &["exec", "-it", "shell", "--", "sh", "-c", "echo hi"], Some(""));
        assert!(out.status.success(), "{kubectl}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hi", "{kubectl}");
        let out = api.kubectl_with(kubectl, &["exec", "shell", "--", "sh", "-c", "echo out; echo err >&2; exit 3"], None);
        assert_eq!(out.status.code(), Some(3), "{kubectl}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("err\n"), "{}", String::from_utf8_lossy(&out.stderr));
        let out = api.kubectl_with(kubectl, &["exec", "-i", "shell", "--", "sh", "-c", "wc -l"], Some("a\nb\nc\n"));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3", "{kubectl}: stdin reaches the command and closes");
    }
    // kubectl 1.33 speaks WebSocket (v5.channel.k8s.io) without falling back to SPDY.
    let out = api.kubectl_with(KUBECTL_133, &["exec", "shell", "-v=7", "--", "true"], None);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains("fallback"), "fell back to SPDY:\n{log}");
    assert!(log.contains("101 Switching Protocols"), "{log}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn kubectl_port_forward_and_curl() {
    let Some((api, _node)) = setup("node-f") else { return };
    api.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  nodeName: node-f\n  containers:\n  - {name: httpd, image: busybox:1.35, command: [httpd, -f, -p, '8080', -h, /var/www], ports: [{containerPort: 8080}]}\n",
    );
    api.wait_pod("web", Duration::from_secs(60), "Running", running);
    for kubectl in [KUBECTL_133, KUBECTL_127] {
        let port = free_port();
        let mut pf = Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(api.kubeconfig())
            .arg("--cache-dir")
            .arg(api.dir.path().join("cache-pf"))
            .args(["port-forward", "pod/web", &format!("{port}:8080")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(pf.stdout.take().unwrap());
        let mut first = String::new();
        let _ = lines.read_line(&mut first);
        assert!(first.starts_with("Forwarding from 127.0.0.1:"), "{kubectl}: {first}");
        for _ in 0..2 {
            let out = Command::new("curl").args(["-s", "-m", "10", &format!("http://127.0.0.1:{port}/index.html")]).output().unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello from busybox httpd", "{kubectl}");
        }
        let _ = pf.kill();
        let _ = pf.wait();
    }
}
