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

#[test]
fn describe_prints_like_the_real_kubectl() {
    let s = Apiserver::start();
    let _cm = s.start_controller_manager("kube-controller-manager", &[]);
    s.kubectl(&["create", "-f", &fixture("describe-objects.yaml").display().to_string()]);
    wait_for_controllers(&s);
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
