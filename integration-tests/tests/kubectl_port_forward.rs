//! rkube's kubectl port-forward, run --rm -i and attach against a real node (kubelet +
//! containerd), compared with the real kubectl 1.33. Port-forward goes through kube-rs's
//! WebSocket client (`v4.channel.k8s.io`), which the kubelet translates to the runtime's SPDY.
//! Skipped when the node runtime is not installed.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use rkube_integration_tests::kubelet::{wait_for, Cluster};
use rkube_integration_tests::{binary, Apiserver, KUBECTL_133};

const OBJECTS: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox:1.35
    command: [httpd, -f, -p, '8080', -h, /var/www]
    ports: [{name: http, containerPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: webd}
spec:
  replicas: 1
  selector: {matchLabels: {app: webd}}
  template:
    metadata: {labels: {app: webd}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: httpd, image: busybox:1.35, command: [httpd, -f, -p, '8080', -h, /var/www]}
---
apiVersion: v1
kind: Service
metadata: {name: websvc}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox:1.35, stdin: true, command: [sh, -c, 'while read l; do echo got $l; done']}
  - {name: d, image: busybox:1.35, command: [sleep, '3600']}
---
apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox:1.35, command: [sh, -c, 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done']}
"#;


fn ours() -> String {
    binary("kubectl").display().to_string()
}

fn running(p: &serde_json::Value) -> bool {
    p["status"]["phase"] == "Running"
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A kubectl left running (port-forward, attach), killed on drop; its stdout lines arrive on
/// a channel so every read has a deadline.
struct Running {
    child: Child,
    lines: Receiver<String>,
}

impl Running {
    fn start(api: &Apiserver, kubectl: &str, args: &[&str], stdin: bool) -> Running {
        let mut child = Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(api.kubeconfig())
            .args(args)
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kubectl");
        let lines = line_channel(child.stdout.take().expect("stdout"));
        Running { child, lines }
    }

    fn line(&self, what: &str) -> String {
        self.lines.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("no output line: {what}"))
    }

    /// Waits (bounded) for the process to exit; returns the exit code and stderr.
    fn finish(mut self, limit: Duration) -> (Option<i32>, String) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + limit;
        let code = loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                break st.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        (code, err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn line_channel(out: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn curl(port: u16) -> String {
    let out = Command::new("curl").args(["-s", "-m", "10", &format!("http://127.0.0.1:{port}/index.html")]).output().expect("curl");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs `kubectl port-forward TARGET LOCAL:REMOTE`, fetches the page twice, returns the
/// stdout lines with the local port written as PORT.
fn forward_and_fetch(api: &Apiserver, kubectl: &str, target: &str, remote: &str) -> Vec<String> {
    let port = free_port();
    let pf = Running::start(api, kubectl, &["port-forward", target, &format!("{port}:{remote}")], false);
    let mut lines = vec![pf.line("first Forwarding line"), pf.line("second Forwarding line")];
    for _ in 0..2 {
        assert_eq!(curl(port), "hello from busybox httpd", "{kubectl} port-forward {target}");
        lines.push(pf.line("Handling connection"));
    }
    lines.iter().map(|l| l.replace(&port.to_string(), "PORT")).collect()
}

#[test]
fn port_forward_pod_deployment_and_service() {
    let Some(c) = Cluster::start("node-pf") else { return };
    let api = &c.api;
    api.apply_yaml(OBJECTS);
    api.wait_pod("web", Duration::from_secs(60), "Running", running);
    wait_for(Duration::from_secs(60), "a running webd pod", || {
        let pods = api.try_get_json(&["get", "pods", "-l", "app=webd"])?;
        pods["items"].as_array()?.iter().any(running).then_some(())
    });
    let ours = ours();
    let expected = [
        "Forwarding from 127.0.0.1:PORT -> 8080",
        "Forwarding from [::1]:PORT -> 8080",
        "Handling connection for PORT",
        "Handling connection for PORT",
    ];
    for (target, remote) in [("pod/web", "8080"), ("deploy/webd", "8080"), ("svc/websvc", "80"), ("svc/websvc", "http")] {
        let mine = forward_and_fetch(api, &ours, target, remote);
        assert_eq!(mine, expected, "{target} {remote}");
        let real = forward_and_fetch(api, KUBECTL_133, target, remote);
        assert_eq!(mine, real, "{target} {remote}");
    }

    // The real kubectl 1.33 tunnels SPDY through WebSocket without falling back.
    let port = free_port();
    let pf = Running::start(api, KUBECTL_133, &["port-forward", "pod/web", &format!("{port}:8080"), "-v=6"], false);
    pf.line("Forwarding");
    assert_eq!(curl(port), "hello from busybox httpd");
    let (_, log) = pf.finish(Duration::ZERO);
    assert!(log.contains("negotiated protocol: portforward.k8s.io") && !log.contains("fallback"), "{log}");

    // A large download arrives intact.
    let (code, _, err) = run(api, KUBECTL_133, &["exec", "web", "--", "sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x > /var/www/big"], None);
    assert_eq!(code, 0, "{err}");
    let port = free_port();
    let pf = Running::start(api, &ours, &["port-forward", "pod/web", &format!("{port}:8080")], false);
    pf.line("Forwarding");
    let out = Command::new("curl").args(["-s", "-m", "30", &format!("http://127.0.0.1:{port}/big")]).output().expect("curl");
    assert_eq!(out.stdout.len(), 3_000_000);
    assert!(out.stdout.iter().all(|b| *b == b'x'));
    drop(pf);

    // Nothing listens on the remote port: the error from the pod's side ends the command, as
    // with the real kubectl.
    for kubectl in [ours.as_str(), KUBECTL_133] {
        let port = free_port();
        let pf = Running::start(api, kubectl, &["port-forward", "pod/web", &format!("{port}:7777")], false);
        pf.line("Forwarding");
        let _ = curl(port);
        let (code, err) = pf.finish(Duration::from_secs(20));
        assert_eq!(code, Some(1), "{kubectl}: {err}");
        assert!(err.contains("\"Unhandled Error\" err=\"an error occurred forwarding ") && err.contains("connection refused"), "{kubectl}: {err}");
        assert!(err.ends_with("error: lost connection to pod\n"), "{kubectl}: {err}");
    }

    // Errors before forwarding match the real kubectl's.
    for args in [["port-forward", "svc/websvc", "18082:82"], ["port-forward", "pod/web", "18084:nope"]] {
        let mine = run(api, &ours, &args, None);
        let real = run(api, KUBECTL_133, &args, None);
        assert_eq!((mine.0, &mine.2), (1, &real.2), "{args:?}");
    }
}

fn run(api: &Apiserver, kubectl: &str, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let o = api.kubectl_with(kubectl, args, stdin);
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn gone(api: &Apiserver, pod: &str) {
    wait_for(Duration::from_secs(30), &format!("pod {pod} deleted"), || api.try_get_json(&["get", "pod", pod]).is_none().then_some(()));
}

#[test]
fn run_rm_interactive_and_attach() {
    let Some(c) = Cluster::start("node-ra") else { return };
    let api = &c.api;
    let ours = ours();

    // run --rm -i of a command that prints and exits: its output, then the deletion. The real
    // kubectl loses output written before its attach began (it shows the logs only when the
    // attach fails); ours shows the logs when the attach saw no output.
    for (kubectl, name) in [(ours.as_str(), "hello-ours"), (KUBECTL_133, "hello-real")] {
        let args = ["run", name, "--image=busybox:1.35", "--rm", "-i", "--restart=Never", "--", "sh", "-c", "echo hello"];
        let (code, out, err) = run(api, kubectl, &args, None);
        let expected = format!("hello\npod \"{name}\" deleted\n");
        if kubectl == ours {
            assert_eq!((code, out), (0, expected), "{err}");
        } else {
            assert!(code == 0 && expected.ends_with(&out), "{kubectl}: {out} {err}");
        }
        gone(api, name);
    }

    // A failing command: exit code and upstream's message after the deletion.
    for (kubectl, name) in [(ours.as_str(), "fail-ours"), (KUBECTL_133, "fail-real")] {
        let args = ["run", name, "--image=busybox:1.35", "--rm", "-i", "--restart=Never", "--", "sh", "-c", "sleep 1; exit 3"];
        let (code, out, err) = run(api, kubectl, &args, None);
        assert_eq!((code, out), (3, format!("pod \"{name}\" deleted\n")), "{kubectl}: {err}");
        assert!(err.ends_with(&format!("pod default/{name} terminated (Error)\n")), "{kubectl}: {err}");
        gone(api, name);
    }

    // stdin reaches the attached container.
    let args = ["run", "cat-ours", "--image=busybox:1.35", "--rm", "-i", "--restart=Never", "--", "sh", "-c", "sleep 2; read x; echo got $x"];
    let (code, out, err) = run(api, &ours, &args, Some("abc\n"));
    assert_eq!((code, out.as_str()), (0, "got abc\npod \"cat-ours\" deleted\n"), "{err}");
    assert_eq!(err, "If you don't see a command prompt, try pressing enter.\n");
    gone(api, "cat-ours");

    // Usage errors are upstream's.
    for args in [
        &["run", "x", "--image=busybox:1.35", "--rm", "-t", "--restart=Never", "--", "sh"][..],
        &["run", "x", "--image=busybox:1.35", "--rm", "--restart=Never", "--", "sh"][..],
        &["run", "x", "--image=busybox:1.35", "-i", "--dry-run=client"][..],
    ] {
        let mine = run(api, &ours, args, None);
        let real = run(api, KUBECTL_133, args, None);
        assert_eq!(mine, real, "{args:?}");
        assert_eq!(mine.0, 1);
    }

    // attach: output of the running process, stdin to it, upstream's messages.
    api.apply_yaml(OBJECTS);
    api.wait_pod("ticker", Duration::from_secs(60), "Running", running);
    api.wait_pod("reader", Duration::from_secs(60), "Running", running);
    for kubectl in [ours.as_str(), KUBECTL_133] {
        let at = Running::start(api, kubectl, &["attach", "ticker", "-t"], false);
        let a = at.line("a tick");
        let b = at.line("another tick");
        let n = |l: &str| l.strip_prefix("tick ").and_then(|n| n.parse::<u64>().ok()).unwrap_or_else(|| panic!("{l}"));
        assert_eq!(n(&b), n(&a) + 1);
        let (_, err) = at.finish(Duration::ZERO);
        assert_eq!(
            err,
            "error: Unable to use a TTY - container c did not allocate one\nIf you don't see a command prompt, try pressing enter.\n",
            "{kubectl}"
        );

        let mut at = Running::start(api, kubectl, &["attach", "reader", "-i"], true);
        std::thread::sleep(Duration::from_secs(1));
        writeln!(at.child.stdin.as_mut().expect("stdin"), "four").expect("write");
        assert_eq!(at.line("the echo of stdin"), "got four", "{kubectl}");
        let (code, err) = at.finish(Duration::from_secs(20));
        assert_eq!(code, Some(0), "{kubectl}: {err}");
        assert_eq!(err, "Defaulted container \"c\" out of: c, d\nIf you don't see a command prompt, try pressing enter.\n", "{kubectl}");
    }
    let (code, _, err) = run(api, &ours, &["run", "done", "--image=busybox:1.35", "--restart=Never", "--", "true"], None);
    assert_eq!(code, 0, "{err}");
    api.wait_pod("done", Duration::from_secs(60), "Succeeded", |p| p["status"]["phase"] == "Succeeded");
    let mine = run(api, &ours, &["attach", "done"], None);
    let real = run(api, KUBECTL_133, &["attach", "done"], None);
    assert_eq!(mine, real);
    assert_eq!(mine.2, "error: cannot attach a container in a completed pod; current phase is Succeeded\n");
}
