//! rkube's `kubectl edit`, `diff` and `cluster-info`, its discovery cache and its `Warning:`
//! lines, against the real kubectl 1.33 on the same apiserver: same stdout, stderr and exit
//! codes (once temporary names, UIDs, timestamps and resource versions are normalized), the
//! same file handed to the editor, and the same objects left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rkube_integration_tests::{binary, Apiserver, KUBECTL_133};
use serde_json::Value;

fn ours() -> String {
    binary("kubectl").display().to_string()
}

struct Run {
    out: String,
    err: String,
    code: i32,
}

/// Runs a kubectl with the server's kubeconfig, a private cache dir, extra environment and
/// optional stdin; stdin is closed otherwise, so nothing can wait for a terminal.
fn run(s: &Apiserver, kubectl: &str, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let name = Path::new(kubectl).file_name().and_then(|f| f.to_str()).unwrap_or("kubectl").to_string();
    let mut cmd = Command::new(kubectl);
    cmd.arg("--kubeconfig").arg(s.kubeconfig()).arg("--cache-dir").arg(s.dir.path().join(format!("cache-{name}")));
    cmd.args(args).env_remove("KUBE_EDITOR").env_remove("EDITOR").env_remove("KUBECTL_EXTERNAL_DIFF");
    cmd.env("TMPDIR", s.dir.path().join("tmp"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run kubectl");
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    }
    let o = child.wait_with_output().expect("kubectl output");
    Run {
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

/// Replaces the value after each `key` (up to a space, tab, slash or the end of the line; a
/// leading quote is part of the value) with `<X>`.
fn mask_after(s: &str, key: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        let skip = usize::from(rest.starts_with('"'));
        let end = rest[skip..].find(['\n', ' ', '\t', '/']).map(|e| e + skip).unwrap_or(rest.len());
        out.push_str("<X>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Normalizes what differs between two runs: temporary names, the program name, UIDs,
/// timestamps, resource versions, klog headers, and the namespace each kubectl worked in.
fn normalize(s: &str, ns: &str) -> String {
    let mut s = s.replace(ns, "<NS>").replace("kubectl.1.33-edit-", "kubectl-edit-");
    for key in ["LIVE-", "MERGED-", "kubectl-edit-", "uid: ", "Timestamp: ", "resourceVersion: ", "\"uid\": ", "\"resourceVersion\": ", "Timestamp\": ", "time: ", "\"time\": "] {
        s = mask_after(&s, key);
    }
    s.lines()
        .map(|l| match l.split_once("] ") {
            Some((head, msg)) if head.starts_with('W') && head.contains(".go:") => format!("W<klog>] {msg}"),
            // diff's header lines end with a modification time after a tab.
            _ => l.split('\t').next().unwrap_or("").to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p
}

fn editor_script(dir: &Path, name: &str, sed: &str) -> String {
    let seen = dir.join(format!("{name}-seen"));
    let script = format!("#!/bin/sh\nn=$(ls {seen}* 2>/dev/null | wc -l)\ncp \"$1\" {seen}$n\nsed -i '{sed}' \"$1\"\n", seen = seen.display());
    let p = write(dir, name, &script);
    let _ = Command::new("chmod").arg("+x").arg(&p).status();
    p.display().to_string()
}

fn seen_files(dir: &Path, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for n in 0.. {
        match std::fs::read_to_string(dir.join(format!("{name}-seen{n}"))) {
            Ok(t) => out.push(t),
            Err(_) => return out,
        }
    }
    out
}

/// The object without server-assigned identity, for comparing what two edits left.
fn comparable(mut v: Value) -> Value {
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in ["uid", "resourceVersion", "creationTimestamp", "namespace"] {
            m.remove(k);
        }
        if let Some(Value::Array(mf)) = m.get_mut("managedFields") {
            for e in mf {
                e.as_object_mut().map(|e| e.remove("time"));
            }
        }
    }
    v.as_object_mut().map(|o| o.remove("status"));
    v
}

fn setup_namespace(s: &Apiserver, ns: &str) {
    s.kubectl(&["create", "namespace", ns]);
    s.kubectl(&["-n", ns, "create", "deployment", "web", "--image=nginx", "--replicas=2"]);
    s.kubectl(&["-n", ns, "create", "configmap", "c1", "--from-literal=a=1"]);
    s.kubectl(&["-n", ns, "create", "configmap", "c2", "--from-literal=a=2"]);
}

#[test]
fn edit_matches_the_real_kubectl() {
    let s = Apiserver::start();
    std::fs::create_dir_all(s.dir.path().join("tmp")).unwrap();
    let dir = s.dir.path().to_path_buf();
    let cases: Vec<(&str, Vec<&str>, String)> = vec![
        ("replicas", vec!["edit", "deployment", "web"], editor_script(&dir, "ed-replicas", "s/replicas: 2/replicas: 3/")),
        ("unchanged", vec!["edit", "deploy/web"], "true".to_string()),
        ("list", vec!["edit", "cm", "c1", "c2", "--output-patch"], editor_script(&dir, "ed-list", "s/a: \"1\"/a: \"10\"/")),
        ("json", vec!["edit", "deploy", "web", "-o", "json", "--output-patch"], editor_script(&dir, "ed-json", "s/\"image\": \"nginx\"/\"image\": \"nginx:1.25\"/")),
        ("invalid", vec!["edit", "deploy", "web"], editor_script(&dir, "ed-invalid", "s/replicas: 3/replicas: -1/")),
        ("missing", vec!["edit", "cm", "nope"], "true".to_string()),
        ("no-args", vec!["edit"], "true".to_string()),
        ("bad-editor", vec!["edit", "cm", "c1"], "false".to_string()),
    ];
    setup_namespace(&s, "edit-real");
    setup_namespace(&s, "edit-ours");
    for (case, args, editor) in &cases {
        let mut results = Vec::new();
        for (kubectl, ns) in [(KUBECTL_133.to_string(), "edit-real"), (ours(), "edit-ours")] {
            let mut full: Vec<&str> = vec!["-n", ns];
            full.extend(args.iter().copied());
            let r = run(&s, &kubectl, &full, &[("KUBE_EDITOR", editor.as_str())], None);
            let editor_name = Path::new(editor.as_str()).file_name().and_then(|f| f.to_str()).unwrap_or("").to_string();
            let seen: Vec<String> = seen_files(&dir, &editor_name).iter().map(|t| normalize(t, ns)).collect();
            for n in 0..seen.len() {
                let _ = std::fs::remove_file(dir.join(format!("{editor_name}-seen{n}")));
            }
            results.push((normalize(&r.out, ns), normalize(&r.err, ns), r.code, seen));
        }
        let (real, ours) = (&results[0], &results[1]);
        assert_eq!(ours.2, real.2, "{case}: exit code\nreal: {real:?}\nours: {ours:?}");
        assert_eq!(ours.0, real.0, "{case}: stdout");
        assert_eq!(ours.1, real.1, "{case}: stderr");
        assert_eq!(ours.3, real.3, "{case}: files handed to the editor");
    }
    for kind in [["deployment", "web"], ["configmap", "c1"], ["configmap", "c2"]] {
        let real = comparable(s.get_json(&["get", "-n", "edit-real", kind[0], kind[1]]));
        let ours = comparable(s.get_json(&["get", "-n", "edit-ours", kind[0], kind[1]]));
        assert_eq!(ours, real, "{kind:?} after the edits");
    }
    let web = s.get_json(&["get", "-n", "edit-ours", "deployment", "web"]);
    assert_eq!(web["spec"]["replicas"], 3);
    assert_eq!(web["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25");
    // Both kept the invalid edit in the temporary folder and nothing else.
    let left: Vec<String> = std::fs::read_dir(dir.join("tmp")).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(left.iter().any(|f| f.starts_with("kubectl-edit-")), "{left:?}");
}

const MANIFEST: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels: {app: app}
spec:
  replicas: 2
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
      - name: main
        image: nginx:1.25
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
---
apiVersion: v1
kind: Secret
metadata:
  name: token
stringData:
  key: one
";

#[test]
fn diff_and_cluster_info_match_the_real_kubectl() {
    let s = Apiserver::start();
    std::fs::create_dir_all(s.dir.path().join("tmp")).unwrap();
    let dir = s.dir.path().to_path_buf();
    s.kubectl(&["create", "namespace", "d"]);
    let unchanged = write(&dir, "unchanged.yaml", MANIFEST);
    s.kubectl(&["-n", "d", "apply", "-f", &unchanged.display().to_string()]);
    let changed_text = MANIFEST.replace("replicas: 2", "replicas: 4").replace("mode: fast", "mode: slow").replace("key: one", "key: two")
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fresh\ndata:\n  a: b\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: fresh\ndata:\n  a: Yg==\n";
    let changed = write(&dir, "changed.yaml", &changed_text);
    let invalid = write(&dir, "invalid.yaml", &MANIFEST.replace("replicas: 2", "replicas: -2"));
    let (u, c, i) = (unchanged.display().to_string(), changed.display().to_string(), invalid.display().to_string());
    type Case<'a> = (Vec<&'a str>, Option<&'a str>, &'a [(&'a str, &'a str)]);
    let cases: Vec<Case> = vec![
        (vec!["-n", "d", "diff", "-f", &u], None, &[]),
        (vec!["-n", "d", "diff", "-f", &c], None, &[]),
        (vec!["-n", "d", "diff", "-f", "-"], Some(changed_text.as_str()), &[]),
        (vec!["-n", "d", "diff", "-f", &c, "--server-side", "--force-conflicts"], None, &[]),
        (vec!["-n", "d", "diff", "-f", &c], None, &[("KUBECTL_EXTERNAL_DIFF", "diff -q")]),
        (vec!["-n", "d", "diff", "-f", &i], None, &[]),
        (vec!["-n", "d", "diff"], None, &[]),
        (vec!["-n", "d", "diff", "-f", &u, "extra"], None, &[]),
        (vec!["-n", "d", "diff", "--bogus"], None, &[]),
        (vec!["-n", "d", "diff", "-f", &c], None, &[("KUBECTL_EXTERNAL_DIFF", "no-such-diff-program")]),
        (vec!["cluster-info"], None, &[]),
        (vec!["-n", "d", "cluster-info"], None, &[]),
    ];
    // A cluster service shows up in cluster-info.
    s.kubectl_with(
        KUBECTL_133,
        &["apply", "-f", "-"],
        Some("apiVersion: v1\nkind: Service\nmetadata:\n  name: kube-dns\n  namespace: kube-system\n  labels: {kubernetes.io/cluster-service: \"true\", kubernetes.io/name: CoreDNS}\nspec:\n  ports:\n  - {name: dns, port: 53, protocol: UDP}\n"),
    );
    for (full, stdin, env) in &cases {
        let args = full;
        let real = run(&s, KUBECTL_133, full, env, *stdin);
        let ours_run = run(&s, &ours(), full, env, *stdin);
        let case = format!("{args:?} {env:?}");
        assert_eq!(ours_run.code, real.code, "{case}: exit code\nreal: {}\n{}\nours: {}\n{}", real.out, real.err, ours_run.out, ours_run.err);
        assert_eq!(normalize(&ours_run.out, "\u{0}"), normalize(&real.out, "\u{0}"), "{case}: stdout");
        assert_eq!(normalize(&ours_run.err, "\u{0}"), normalize(&real.err, "\u{0}"), "{case}: stderr");
    }
    // diff wrote nothing: the live objects are unchanged and no temporary folder is left.
    let cm = s.get_json(&["get", "-n", "d", "configmap", "settings"]);
    assert_eq!(cm["data"]["mode"], "fast");
    assert!(s.get_json(&["get", "-n", "d", "configmap"])["items"].as_array().unwrap().iter().all(|i| i["metadata"]["name"] != "fresh"));
    assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0, "temporary folders left behind");
}

#[test]
fn discovery_is_cached_and_refreshed_on_a_miss() {
    let s = Apiserver::start();
    let cache = s.dir.path().join("cache-kubectl");
    let first = run(&s, &ours(), &["get", "configmaps", "-v=6"], &[], None);
    assert_eq!(first.code, 0, "{}", first.err);
    assert!(first.err.contains("GET /apis "), "first run discovers: {}", first.err);
    let host = s.addr.replace(':', "_");
    let groups = cache.join("discovery").join(&host).join("servergroups.json");
    assert!(groups.exists(), "no servergroups.json under {}", cache.display());
    assert!(cache.join("discovery").join(&host).join("apps/v1/serverresources.json").exists());
    // The real kubectl reads our cache as its own.
    let real = Command::new(KUBECTL_133)
        .arg("--kubeconfig").arg(s.kubeconfig()).arg("--cache-dir").arg(&cache)
        .args(["get", "deploy", "-v=6"])
        .output()
        .unwrap();
    assert!(real.status.success());
    let real_err = String::from_utf8_lossy(&real.stderr);
    assert!(!real_err.contains("GET https://") || !real_err.contains("/apis?timeout"), "the real kubectl rediscovered: {real_err}");
    let second = run(&s, &ours(), &["get", "configmaps", "-v=6"], &[], None);
    assert_eq!(second.code, 0);
    assert!(!second.err.contains("GET /api ") && !second.err.contains("GET /apis "), "second run uses the cache: {}", second.err);
    // A CRD created by someone else: the cached discovery misses, is refreshed, and the
    // command (reading stdin) succeeds.
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.example.com\nspec:\n  group: example.com\n  names: {kind: Gadget, plural: gadgets, singular: gadget}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n";
    let o = s.kubectl_with(KUBECTL_133, &["apply", "-f", "-"], Some(crd));
    assert!(o.status.success());
    let mut ok = false;
    for _ in 0..50 {
        let r = run(&s, &ours(), &["apply", "-f", "-"], &[], Some("apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g1\nspec: {size: 1}\n"));
        if r.code == 0 {
            assert_eq!(r.out, "gadget.example.com/g1 created\n");
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ok, "the new kind was never found");
    let get = run(&s, &ours(), &["get", "gadgets", "-o", "name"], &[], None);
    assert_eq!(get.out, "gadget.example.com/g1\n");
    // version --client touches neither the network nor the cache.
    let empty = s.dir.path().join("untouched-cache");
    let v = Command::new(ours()).args(["--cache-dir"]).arg(&empty).args(["version", "--client"]).output().unwrap();
    assert!(v.status.success());
    assert!(!empty.exists());
}

#[test]
fn warning_headers_print_like_the_real_kubectl() {
    let s = Apiserver::start();
    for (kubectl, name) in [(KUBECTL_133.to_string(), "w-real"), (ours(), "w-ours")] {
        let manifest = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\nbogus: 1\nother: 2\n");
        let r = run(&s, &kubectl, &["create", "--validate=warn", "-f", "-"], &[], Some(&manifest));
        assert_eq!(r.code, 0);
        assert_eq!(r.err, "Warning: unknown field \"bogus\"\nWarning: unknown field \"other\"\n", "{kubectl}");
        let r = run(&s, &kubectl, &["--warnings-as-errors", "create", "--validate=warn", "-f", "-"], &[], Some(&manifest.replace(name, &format!("{name}2"))));
        assert_eq!(r.code, 1, "{kubectl}: {}", r.err);
        assert!(r.err.ends_with("error: 2 warnings received\n"), "{kubectl}: {}", r.err);
    }
}
