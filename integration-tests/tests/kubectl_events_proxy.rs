//! rkube's `kubectl events`, `kubectl proxy` and `kubectl cluster-info dump` against the real
//! kubectl 1.33 on the same apiserver: events print the same (ages masked), the proxies
//! answer alike (API reads, watches, the default filter's 403 for exec and foreign hosts),
//! and the dumps have the same documents and log sections.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rkube_integration_tests::compare::same;
use rkube_integration_tests::{binary, Apiserver, KUBECTL_133};

fn ours() -> String {
    binary("kubectl").display().to_string()
}

/// stdout, stderr and exit code of one run.
fn run(s: &Apiserver, kubectl: &str, args: &[&str]) -> (String, String, i32) {
    let o = s.kubectl_with(kubectl, args, None);
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned(), o.status.code().unwrap_or(-1))
}

fn days_ago(days: u32, fraction: bool) -> String {
    let fmt = if fraction { "+%Y-%m-%dT%H:%M:%S.123456Z" } else { "+%Y-%m-%dT%H:%M:%SZ" };
    let out = Command::new("date").args(["-u", "-d", &format!("{days} days ago"), fmt]).output().expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn create(s: &Apiserver, manifest: &serde_json::Value) {
    let out = s.kubectl_with(KUBECTL_133, &["create", "-f", "-"], Some(&manifest.to_string()));
    assert!(out.status.success(), "create failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn seed_events(s: &Apiserver, ns: &str) {
    s.kubectl(&["create", "namespace", ns]);
    s.kubectl(&["-n", ns, "create", "deployment", "web", "--image=nginx"]);
    let events = [
        serde_json::json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": ns},
            "involvedObject": {"kind": "Deployment", "name": "web", "namespace": ns, "apiVersion": "apps/v1"},
            "reason": "ScalingReplicaSet", "message": "Scaled up replica set web-abc to 1  ", "type": "Normal",
            "firstTimestamp": days_ago(20, false), "lastTimestamp": days_ago(11, false), "count": 3,
            "source": {"component": "deployment-controller"}}),
        serde_json::json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.2", "namespace": ns, "labels": {"b": "2", "a": "1"}},
            "involvedObject": {"kind": "Pod", "name": "web-abc-x", "namespace": ns, "apiVersion": "v1"},
            "reason": "BackOff", "message": "Back-off restarting failed container", "type": "Warning",
            "eventTime": days_ago(15, true), "reportingComponent": "kubelet", "reportingInstance": "node1", "action": "Restart"}),
        serde_json::json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.3", "namespace": ns},
            "involvedObject": {"kind": "Pod", "name": "web-abc-y", "namespace": ns, "apiVersion": "v1"},
            "reason": "Pulled", "message": "Pulled image", "type": "Normal", "eventTime": days_ago(30, true),
            "series": {"count": 4, "lastObservedTime": days_ago(10, true)},
            "reportingComponent": "kubelet", "reportingInstance": "node1", "action": "Pull"}),
    ];
    for e in &events {
        create(s, e);
    }
}

#[test]
fn events_match_kubectl_133() {
    let s = Apiserver::start();
    let ns = "evx";
    seed_events(&s, ns);
    let cases: &[&[&str]] = &[
        &["events", "-n", ns],
        &["events", "-A"],
        &["events", "-n", ns, "--types=Warning"],
        &["events", "-n", ns, "--types", "normal,warning", "--no-headers"],
        &["events", "-n", ns, "--for", "pod/web-abc-y"],
        &["events", "-n", ns, "--for", "deployment/web", "--no-headers"],
        &["events", "-n", ns, "--for", "deploy/nothing"],
        &["events", "-n", ns, "--for", "web"],
        &["events", "-n", ns, "--for", "nope/x"],
        &["events", "-n", ns, "-o", "json"],
        &["events", "-n", ns, "-o", "yaml"],
        &["events", "-A", "--types=Normal", "-o", "json"],
        &["events", "-n", ns, "-o", "name"],
        &["events", "-n", ns, "-o", "jsonpath={.items[*].reason}"],
        &["events", "-n", ns, "--chunk-size=1"],
        &["events", "-n", "kube-system"],
        &["events", "-n", "empty", "-o", "json"],
        &["events", "-n", ns, "--types=Bogus"],
        &["events", "-n", ns, "-o", "wide"],
        &["events", "-n", ns, "-o", "custom-columns=R:.reason"],
        &["events", "-n", ns, "--for", "pod/a/b"],
        &["events", "-n", ns, "--for", "pod/"],
        &["events", "-n", ns, "ignored-argument"],
    ];
    let mut failures = Vec::new();
    for args in cases {
        let (ao, ae, ac) = run(&s, KUBECTL_133, args);
        let (bo, be, bc) = run(&s, &ours(), args);
        if !same(&ao, ns, &bo, ns) || ae != be || ac != bc {
            failures.push(format!("{args:?}\n--- kubectl 1.33 ({ac}):\n{ao}{ae}--- ours ({bc}):\n{bo}{be}"));
        }
    }
    // Watching prints the existing events, each flushed on its own line.
    let watch = |kubectl: &str| {
        let out = Command::new("timeout")
            .args(["3", kubectl, "--kubeconfig"])
            .arg(s.kubeconfig())
            .args(["-n", ns, "events", "-w"])
            .output()
            .expect("run watch");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (a, b) = (watch(KUBECTL_133), watch(&ours()));
    if !same(&a, ns, &b, ns) {
        failures.push(format!("events -w\n--- kubectl 1.33:\n{a}--- ours:\n{b}"));
    }
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
}

/// A running `kubectl proxy`, killed on drop.
struct Proxy {
    child: Child,
    addr: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn start_proxy(s: &Apiserver, kubectl: &str, extra: &[&str]) -> Proxy {
    let port = free_port();
    let mut child = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(s.kubeconfig())
        .args(["proxy", "--port", &port.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start proxy");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read banner");
    let proxy = Proxy { child, addr: format!("127.0.0.1:{port}") };
    assert_eq!(line, format!("Starting to serve on {}\n", proxy.addr), "{kubectl} proxy banner");
    proxy
}

/// (status code, headers and body) of a request through the proxy, the Date header masked.
fn curl(p: &Proxy, extra: &[&str], path: &str) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(extra)
        .arg(format!("http://{}{path}", p.addr))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    let body: Vec<&str> = body.split("\r\n").map(|l| if l.starts_with("Date: ") { "Date: <DATE>" } else { l }).collect();
    (code.to_string(), body.join("\r\n"))
}

#[test]
fn proxy_matches_kubectl_133() {
    let s = Apiserver::start();
    s.kubectl(&["run", "p1", "--image=nginx"]);
    let www = s.dir.path().join("www");
    std::fs::create_dir_all(&www).expect("www dir");
    std::fs::write(www.join("a.txt"), "hello\n").expect("www file");
    std::fs::write(www.join("index.html"), "<p>x</p>\n").expect("www index");
    let www = www.display().to_string();
    let upstream = start_proxy(&s, KUBECTL_133, &["--www", &www]);
    let mine = start_proxy(&s, &ours(), &["--www", &www]);

    let requests: &[(&[&str], &str)] = &[
        (&[], "/version"),
        (&[], "/api/v1/namespaces/default/pods"),
        (&[], "/api/v1/namespaces/default/pods/p1"),
        (&[], "/api/v1/namespaces/default/pods/missing"),
        (&[], "/api/v1/namespaces/default/pods/p1/exec?command=ls"),
        (&["-X", "POST"], "/api/v1/namespaces/default/pods/p1/exec?command=ls"),
        (&["-X", "POST"], "/api/v1/namespaces/default/pods/p1/attach"),
        (&["-H", "Host: evil.example"], "/version"),
        (&["-H", "Host: localhost:1234"], "/version"),
        (&[], "/static"),
        (&["-X", "POST"], "/static?a=b"),
        (&[], "/static/a.txt"),
        (&[], "/static/"),
        (&[], "/static/missing"),
    ];
    for (extra, path) in requests {
        let a = curl(&upstream, extra, path);
        let b = curl(&mine, extra, path);
        assert_eq!(a, b, "{extra:?} {path}");
    }
    let (code, forbidden) = curl(&mine, &[], "/api/v1/namespaces/default/pods/p1/exec");
    assert_eq!(code, "403");
    assert!(forbidden.ends_with("\r\n\r\nForbidden\n"), "{forbidden}");
    let (code, body) = curl(&mine, &["-X", "POST", "-H", "Content-Type: application/json", "-d", r#"{"metadata":{"name":"via-proxy"}}"#], "/api/v1/namespaces/default/configmaps");
    assert_eq!(code, "201", "{body}");
    assert!(s.get_raw("/api/v1/namespaces/default/configmaps/via-proxy").is_some());

    // A watch through the proxy streams the events as they happen.
    let watcher = Command::new("curl")
        .args(["-sN", "--max-time", "4", &format!("http://{}/api/v1/namespaces/default/configmaps?watch=true&fieldSelector=metadata.name%3Dlate", mine.addr)])
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl watch");
    std::thread::sleep(Duration::from_millis(700));
    s.kubectl(&["create", "configmap", "late", "--from-literal=a=b"]);
    let out = watcher.wait_with_output().expect("watch output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#""type":"ADDED""#) && text.contains(r#""name":"late""#), "watch through the proxy saw: {text}");
}

/// The document kinds and log section lines of a dump.
fn skeleton(dump: &str) -> Vec<String> {
    dump.lines().filter(|l| l.starts_with("    \"kind\"") || l.starts_with("kind:") || l.starts_with("====") || l.starts_with("Request log error")).map(str::to_string).collect()
}

fn tree(dir: &Path) -> Vec<String> {
    let out = Command::new("find").arg(".").current_dir(dir).output().expect("find");
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn cluster_info_dump_matches_kubectl_133() {
    let s = Apiserver::start();
    s.kubectl(&["run", "p1", "--image=nginx"]);
    s.kubectl(&["create", "deployment", "web", "--image=nginx"]);
    s.kubectl(&["create", "service", "clusterip", "web", "--tcp=80:80"]);
    s.kubectl(&["create", "namespace", "other"]);
    s.kubectl(&["-n", "other", "run", "p2", "--image=busybox", "--overrides", r#"{"spec":{"initContainers":[{"name":"init","image":"busybox"}]}}"#]);
    s.kubectl(&["create", "service", "nodeport", "np", "--tcp=80:8080"]);
    seed_events(&s, "evx");
    for args in [&["cluster-info", "dump"][..], &["cluster-info", "dump", "-A"], &["cluster-info", "dump", "--namespaces", "other,default"], &["cluster-info", "dump", "-o", "yaml"]] {
        let (ao, ae, ac) = run(&s, KUBECTL_133, args);
        let (bo, be, bc) = run(&s, &ours(), args);
        assert_eq!((ae.as_str(), ac), (be.as_str(), bc), "{args:?}");
        assert!(!skeleton(&ao).is_empty());
        assert_eq!(skeleton(&ao), skeleton(&bo), "{args:?}");
        // Typed objects in Go field order: the same bytes once generated values are masked.
        assert!(same(&ao, "default", &bo, "default"), "{args:?}\n--- kubectl 1.33:\n{ao}\n--- ours:\n{bo}");
    }
    for args in [&["cluster-info", "dump", "-o", "name"][..], &["cluster-info", "dump", "-o", "wide"], &["cluster-info", "dump", "-o", "jsonpath={.kind}"]] {
        assert_eq!(run(&s, KUBECTL_133, args), run(&s, &ours(), args), "{args:?}");
    }
    // YAML sorts keys, so with nothing changing in between the files are byte for byte alike.
    let (a_dir, b_dir) = (s.dir.path().join("yaml-a"), s.dir.path().join("yaml-b"));
    run(&s, KUBECTL_133, &["cluster-info", "dump", "-o", "yaml", "--output-directory", &a_dir.display().to_string()]);
    run(&s, &ours(), &["cluster-info", "dump", "-o", "yaml", "--output-directory", &b_dir.display().to_string()]);
    let diff = Command::new("diff").arg("-r").arg(&a_dir).arg(&b_dir).output().expect("diff");
    assert!(diff.status.success(), "{}", String::from_utf8_lossy(&diff.stdout));

    let (a_dir, b_dir) = (s.dir.path().join("dump-a"), s.dir.path().join("dump-b"));
    let (ao, _, _) = run(&s, KUBECTL_133, &["cluster-info", "dump", "--output-directory", &a_dir.display().to_string()]);
    let (bo, _, _) = run(&s, &ours(), &["cluster-info", "dump", "--output-directory", &b_dir.display().to_string()]);
    assert_eq!(ao.replace("dump-a", "dump-b"), bo);
    assert_eq!(tree(&a_dir), tree(&b_dir));
    let diff = Command::new("diff").arg("-r").arg(&a_dir).arg(&b_dir).output().expect("diff");
    assert!(diff.status.success(), "{}", String::from_utf8_lossy(&diff.stdout));
}

/// With `--disable-filter`, exec (an upgraded stream) passes through our proxy, for the
/// WebSocket (1.33) and SPDY (1.27) clients alike. Needs a real node.
#[test]
fn proxy_passes_upgrades_without_the_filter() {
    use rkube_integration_tests::kubelet::{node_available, wait_for, KubeletNode};
    if !node_available() {
        return;
    }
    let api = Apiserver::start();
    let node = KubeletNode::start(&api, "proxy-node");
    wait_for(Duration::from_secs(30), "node registered", || api.try_get_json(&["get", "node", "proxy-node"]));
    api.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: shell}\nspec:\n  nodeName: proxy-node\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: sh\n    image: busybox:1.35\n    command: [sleep, '3600']\n",
    );
    api.wait_pod("shell", Duration::from_secs(60), "running", |p| p["status"]["phase"] == "Running");

    let port = free_port();
    let mut child = Command::new(ours())
        .arg("--kubeconfig")
        .arg(api.kubeconfig())
        .args(["proxy", "--disable-filter", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start proxy");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("banner");
    let proxy = Proxy { child, addr: format!("127.0.0.1:{port}") };
    let server = format!("http://{}", proxy.addr);
    for kubectl in [KUBECTL_133, rkube_integration_tests::KUBECTL_127] {
        let out = api.kubectl_with(kubectl, &["-s", &server, "exec", "-i", "shell", "--", "sh", "-c", "cat; echo done"], Some("piped\n"));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "piped\ndone\n", "{kubectl}: {}", String::from_utf8_lossy(&out.stderr));
    }
    drop(proxy);
    drop(node);
}
