//! Ephemeral containers end to end on a real node (kubelet + containerd): `kubectl debug`
//! (the real kubectl 1.33 and ours) adds a debug container that shares the target's process
//! namespace, attaches to it, and its status and logs are reported afterwards. Also the
//! attach without a TTY to a TTY container, which must end when the container exits.
//! Skipped when the node runtime is not installed.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rkube_integration_tests::kubelet::{wait_for, Cluster};
use rkube_integration_tests::{binary, Apiserver, KUBECTL_133};

const WEB: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox:1.35
    command: [httpd, -f, -p, '8080', -h, /var/www]
"#;


/// Runs kubectl with `stdin` piped in, killed after `limit`: (exit code, stdout, stderr).
fn run(api: &Apiserver, kubectl: &str, args: &[&str], stdin: &str, limit: Duration) -> (i32, String, String) {
    run_with(api, kubectl, args, stdin, false, limit)
}

/// `run`, optionally keeping stdin open (without end of input) until kubectl exits: the
/// runtime ends an attach whose stdin closed, which would cut off output still to come.
fn run_with(api: &Apiserver, kubectl: &str, args: &[&str], stdin: &str, keep_open: bool, limit: Duration) -> (i32, String, String) {
    let mut child = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(api.kubeconfig())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kubectl");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    let held = keep_open.then_some(input);
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let o = child.wait_with_output().expect("output");
            panic!(
                "kubectl {args:?} did not finish in {limit:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(held);
    let o = child.wait_with_output().expect("output");
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// The one ephemeral container of pod web not in `seen`.
fn new_debugger(api: &Apiserver, seen: &[String]) -> String {
    let pod = api.get_json(&["get", "pod", "web"]);
    let names: Vec<String> = pod["spec"]["ephemeralContainers"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str().map(str::to_string)).collect();
    let fresh: Vec<&String> = names.iter().filter(|n| !seen.contains(n)).collect();
    assert_eq!(fresh.len(), 1, "{names:?}");
    let name = fresh[0].clone();
    let suffix = name.strip_prefix("debugger-").unwrap_or_else(|| panic!("bad name {name:?}"));
    assert_eq!(suffix.len(), 5, "{name}");
    assert!(suffix.bytes().all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)), "{name}");
    name
}

fn ephemeral_state(api: &Apiserver, name: &str) -> Option<serde_json::Value> {
    let pod = api.try_get_json(&["get", "pod", "web"])?;
    let statuses = pod["status"]["ephemeralContainerStatuses"].as_array()?.clone();
    statuses.into_iter().find(|s| s["name"] == name).map(|s| s["state"].clone())
}

#[test]
fn kubectl_debug_shares_the_target_process_namespace() {
    let Some(c) = Cluster::start("node-eph") else { return };
    let api = &c.api;
    let ours = binary("kubectl").display().to_string();
    api.apply_yaml(WEB);
    wait_for(Duration::from_secs(90), "web running", || api.try_get_json(&["get", "pod", "web"]).filter(|p| p["status"]["phase"] == "Running"));

    let args = ["debug", "pod/web", "--image=busybox:1.35", "--target=httpd", "-i", "--", "sh"];
    let mut seen = vec![];
    for kubectl in [KUBECTL_133, ours.as_str()] {
        let (code, out, err) = run_with(api, kubectl, &args, "ps; exit\n", true, Duration::from_secs(120));
        assert_eq!(code, 0, "{kubectl}: stdout {out:?} stderr {err:?}");
        // The target's process is visible: the debug container joined its pid namespace.
        assert!(out.contains("httpd -f -p 8080"), "{kubectl}: stdout {out:?} stderr {err:?}");
        assert_eq!(
            err,
            "--profile=legacy is deprecated and will be removed in the future. It is recommended to explicitly specify a profile, for example \"--profile=general\".\nIf you don't see a command prompt, try pressing enter.\n",
            "{kubectl}"
        );
        let name = new_debugger(api, &seen);
        let announced = format!(
            "Targeting container \"httpd\". If you don't see processes from this container it may be because the container runtime doesn't support this feature.\nDefaulting debug container name to {name}.\n"
        );
        assert!(out.starts_with(&announced), "{kubectl}: {out:?}");
        seen.push(name.clone());
        let state = wait_for(Duration::from_secs(30), "debug container terminated", || {
            ephemeral_state(api, &name).filter(|s| s.get("terminated").is_some())
        });
        assert_eq!(state["terminated"]["exitCode"], 0, "{state}");
        // Its output is in its log, served through the ephemeral container's name.
        for logs_with in [KUBECTL_133, ours.as_str()] {
            let (code, logs, err) = run(api, logs_with, &["logs", "web", "-c", &name], "", Duration::from_secs(30));
            assert_eq!(code, 0, "{err}");
            assert!(logs.contains("httpd -f -p 8080"), "{logs_with}: {logs:?}");
        }
    }

    // Without -i it only adds the container; it runs once and is not restarted.
    for (kubectl, name) in [(KUBECTL_133, "oneshot-real"), (ours.as_str(), "oneshot")] {
        let args = ["debug", "web", "--image=busybox:1.35", "--profile=general", "-c", name, "--", "sh", "-c", "echo one-shot"];
        let (code, out, err) = run(api, kubectl, &args, "", Duration::from_secs(30));
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""), "{kubectl}");
    }
    let state = wait_for(Duration::from_secs(60), "oneshot terminated", || ephemeral_state(api, "oneshot").filter(|s| s.get("terminated").is_some()));
    assert_eq!(state["terminated"]["reason"], "Completed");
    std::thread::sleep(Duration::from_secs(3));
    let pod = api.get_json(&["get", "pod", "web"]);
    let oneshot = pod["status"]["ephemeralContainerStatuses"].as_array().unwrap().iter().find(|s| s["name"] == "oneshot").unwrap().clone();
    assert_eq!(oneshot["restartCount"], 0);
    assert!(oneshot["state"].get("terminated").is_some(), "{oneshot}");
    assert_eq!(pod["status"]["phase"], "Running");
    let (_, logs, _) = run(api, &ours, &["logs", "web", "-c", "oneshot"], "", Duration::from_secs(30));
    assert_eq!(logs, "one-shot\n");

    // An unknown container is refused with upstream's message.
    let (code, _, err) = run(api, &ours, &["logs", "web", "-c", "nope"], "", Duration::from_secs(30));
    assert_ne!(code, 0);
    assert!(err.contains("container nope is not valid for pod web"), "{err}");

    api.kubectl(&["delete", "pod", "web", "--wait=false"]);
}

#[test]
fn attach_without_tty_to_a_tty_container_ends_with_it() {
    let Some(c) = Cluster::start("node-tty") else { return };
    let api = &c.api;
    let ours = binary("kubectl").display().to_string();
    // -t with stdin that is not a terminal: the attach asks for no TTY, the container has one.
    for (kubectl, name) in [(KUBECTL_133, "tty-real"), (ours.as_str(), "tty-ours")] {
        let args = ["run", name, "--image=busybox:1.35", "-i", "-t", "--restart=Never", "--", "sh", "-c", "sleep 3; echo finished"];
        // Closing stdin hangs up the container's terminal (sh gets SIGHUP): the point is that
        // the session ends, and both kubectls report the same.
        let (code, out, err) = run(api, kubectl, &args, "", Duration::from_secs(90));
        assert!(err.contains(&format!("pod default/{name} terminated")), "{kubectl}: code {code} stdout {out:?} stderr {err:?}");
        api.kubectl(&["delete", "pod", name, "--wait=false"]);
    }
}
