//! `kubectl describe` of one object of every kind with an upstream layout (node, pod,
//! deployment, stateful set, daemon set, job, cron job, service, ingress, persistent volume and
//! claim, namespace with quotas and limit ranges, service account, config map, secret): rkube's
//! kubectl must print what kubectl 1.33 prints on the same cluster byte for byte, padding
//! included, once ages, timestamps, UIDs and IPs are masked.

use std::time::Duration;

use rkube_integration_tests::compare::normalize;
use rkube_integration_tests::{binary, fixture, wait_until, Apiserver, KUBECTL_133};

const NS: &str = "describe";

/// `describe` arguments, each run with `-n describe`.
const TARGETS: &[&str] = &[
    "node dnode",
    "node dnode2",
    "nodes",
    "namespace describe",
    "pod web",
    "pod user",
    "pod rich",
    "deployment dep",
    "deployment dep --show-events=false",
    "replicaset",
    "statefulset sts",
    "statefulset sts2",
    "daemonset ds",
    "daemonset ds2",
    "job job",
    "job ijob",
    "cronjob cron",
    "service svc",
    "service lb",
    "ingress ing",
    "ingress ing2",
    "pv",
    "pvc claim",
    "pvc claim2",
    "serviceaccount robot",
    "configmap cfg",
    "secret sec",
    "resourcequota quota",
    "limitrange limits",
];

struct Run {
    out: String,
    err: String,
    code: i32,
}

fn run(s: &Apiserver, kubectl: &str, target: &str) -> Run {
    let mut args = vec!["-n", NS, "describe"];
    args.extend(target.split_whitespace());
    let o = s.kubectl_with(kubectl, &args, None);
    Run { out: String::from_utf8_lossy(&o.stdout).into_owned(), err: String::from_utf8_lossy(&o.stderr).into_owned(), code: o.status.code().unwrap_or(-1) }
}

/// Waits until the controllers have made the objects whose descriptions show their work.
fn wait_for_controllers(s: &Apiserver) {
    let field = |args: &[&str], pointer: &str| s.get_json(args).pointer(pointer).and_then(serde_json::Value::as_i64).unwrap_or(0);
    wait_until(Duration::from_secs(60), "deployment dep's replica set and pods", || {
        field(&["-n", NS, "get", "deployment", "dep"], "/status/replicas") == 2
    });
    wait_until(Duration::from_secs(60), "stateful set sts's first pod", || field(&["-n", NS, "get", "statefulset", "sts"], "/status/replicas") >= 1);
    wait_until(Duration::from_secs(60), "daemon set ds's pods", || field(&["-n", NS, "get", "daemonset", "ds"], "/status/desiredNumberScheduled") >= 1);
    wait_until(Duration::from_secs(60), "job job's pod", || field(&["-n", NS, "get", "job", "job"], "/status/active") >= 1);
    wait_until(Duration::from_secs(60), "job ijob's pods", || field(&["-n", NS, "get", "job", "ijob"], "/status/active") >= 3);
}

/// What a kubelet would report for pod `rich`: init, sidecar and crash-looping containers.
const RICH_STATUS: &str = r#"{"status":{"phase":"Running","hostIP":"192.168.5.10","podIP":"10.244.1.5","podIPs":[{"ip":"10.244.1.5"}],
"startTime":"2026-11-25T10:00:00Z","conditions":[{"type":"Initialized","status":"True"},{"type":"Ready","status":"False"},{"type":"example.com/gate","status":"True"}],
"initContainerStatuses":[
 {"name":"init","image":"busybox","imageID":"docker.io/busybox@sha256:1","containerID":"containerd://abc","ready":false,"restartCount":0,
  "state":{"terminated":{"exitCode":0,"reason":"Completed","startedAt":"2026-11-25T10:00:01Z","finishedAt":"2026-11-25T10:00:02Z"}}},
 {"name":"side","image":"busybox","imageID":"x","containerID":"containerd://def","ready":true,"restartCount":1,"started":true,
  "state":{"running":{"startedAt":"2026-11-25T10:00:03Z"}}}],
"containerStatuses":[
 {"name":"app","image":"nginx:1.25","imageID":"docker.io/nginx@sha256:2","containerID":"containerd://ghi","ready":false,"restartCount":3,
  "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off"}},
  "lastState":{"terminated":{"exitCode":137,"signal":9,"reason":"Error","message":"oom","startedAt":"2026-11-25T10:00:04Z","finishedAt":"2026-11-25T10:00:05Z"}}}]}}"#;

/// Acts as the kubelet for deployment dep's pods: Running and Ready with a pod IP, so that
/// its rollout completes and service svc has endpoints. Returns how many it marked.
fn mark_dep_pods_ready(s: &Apiserver) -> usize {
    let pods = s.get_json(&["-n", NS, "get", "pods", "-l", "app=dep"]);
    let mut marked = 0;
    for (i, pod) in pods["items"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        let ready = pod["status"]["conditions"].as_array().is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
        if ready || !pod["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let ip = format!("10.244.2.{}", 10 + i);
        let patch = format!(r#"{{"status":{{"phase":"Running","podIP":"{ip}","podIPs":[{{"ip":"{ip}"}}],"conditions":[{{"type":"Ready","status":"True"}}]}}}}"#);
        let path = format!("/api/v1/namespaces/{NS}/pods/{}/status", pod["metadata"]["name"].as_str().unwrap_or(""));
        marked += usize::from(s.curl("PATCH", &path, Some(("application/merge-patch+json", &patch))).is_some());
    }
    marked
}

#[test]
fn describe_prints_like_the_real_kubectl() {
    let s = Apiserver::start();
    let _cm = s.start_controller_manager("kube-controller-manager", &[]);
    s.kubectl(&["create", "-f", &fixture("describe-objects.yaml").display().to_string()]);
    wait_for_controllers(&s);
    s.curl("PATCH", &format!("/api/v1/namespaces/{NS}/pods/rich/status"), Some(("application/merge-patch+json", RICH_STATUS))).expect("patch pod rich's status");
    // Roll dep out to a second replica set, acting as the kubelet until the old one is empty.
    s.kubectl(&["-n", NS, "set", "image", "deployment/dep", "c=nginx:1.26"]);
    wait_until(Duration::from_secs(60), "deployment dep's rollout", || {
        mark_dep_pods_ready(&s);
        let d = s.get_json(&["-n", NS, "get", "deployment", "dep"]);
        let n = |k: &str| d["status"][k].as_i64().unwrap_or(0);
        d["status"]["observedGeneration"] == d["metadata"]["generation"] && n("updatedReplicas") == 2 && n("replicas") == 2 && n("availableReplicas") == 2
    });
    let ours = binary("kubectl").display().to_string();
    let mut failures = Vec::new();
    for target in TARGETS {
        // Controllers may still be writing status or events between the two runs, and an age
        // may gain a digit (9s, 10s) and widen its column: retry before calling a difference real.
        let mut last = None;
        for _ in 0..6 {
            let real = run(&s, KUBECTL_133, target);
            let mine = run(&s, &ours, target);
            assert!(real.code == 0 && !real.out.is_empty(), "kubectl 1.33 describe {target} failed: {}", real.err);
            let masked = |text: &str| normalize(text, NS).0;
            if masked(&real.out) == masked(&mine.out) && masked(&real.err) == masked(&mine.err) && real.code == mine.code {
                last = None;
                break;
            }
            last = Some((real, mine));
            std::thread::sleep(Duration::from_millis(500));
        }
        if let Some((real, mine)) = last {
            failures.push(format!(
                "kubectl describe {target}\n--- real (exit {}):\n{}{}\n--- ours (exit {}):\n{}{}",
                real.code, real.out, real.err, mine.code, mine.out, mine.err
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} descriptions differ:\n\n{}", failures.len(), TARGETS.len(), failures.join("\n\n"));
}
