//! kube-controller-manager's workload, networking and node controllers against a real
//! apiserver, driven and checked with the real kubectl. No kubelet runs: the tests create
//! Node objects, renew node Leases, and mark pods Running/Ready/Succeeded/Failed through
//! the status subresource, as a kubelet would. Pods are bound by kube-scheduler in the node
//! lifecycle test and through pods/binding by the test elsewhere; the CronJob test speeds
//! the CronJob controller's clock up with `--cronjob-clock-speed`.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rkube_integration_tests::{Apiserver, ControllerManager, KUBECTL_133};
use serde_json::{json, Value};

fn wait_for<T>(what: &str, timeout: Duration, kcm: &ControllerManager, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            let log = kcm.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!("timed out waiting for {what}; controller-manager log tail:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn create(api: &Apiserver, yaml: &str) {
    let out = api.kubectl_with(KUBECTL_133, &["create", "-f", "-"], Some(yaml));
    assert!(out.status.success(), "create failed: {}\n{yaml}", String::from_utf8_lossy(&out.stderr));
}

fn get_json(api: &Apiserver, args: &[&str]) -> Option<Value> {
    let mut full = args.to_vec();
    full.extend(["-o", "json"]);
    let out = api.kubectl_with(KUBECTL_133, &full, None);
    out.status.success().then(|| serde_json::from_slice(&out.stdout).expect("kubectl JSON"))
}

fn items(api: &Apiserver, args: &[&str]) -> Vec<Value> {
    get_json(api, args).and_then(|v| v["items"].as_array().cloned()).unwrap_or_default()
}

fn name_of(v: &Value) -> String {
    v["metadata"]["name"].as_str().unwrap_or_default().to_string()
}

fn names(list: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = list.iter().map(name_of).collect();
    n.sort();
    n
}

fn patch_status(api: &Apiserver, ns: &str, kind: &str, name: &str, status: Value) {
    let body = json!({"status": status}).to_string();
    api.kubectl(&["-n", ns, "patch", kind, name, "--subresource=status", "--type=merge", "-p", &body]);
}

/// Marks a pod Running and Ready with an IP, as its kubelet would.
fn mark_running(api: &Apiserver, ns: &str, pod: &str, ip: &str) {
    let now = "2024-01-01T00:00:00Z";
    let status = json!({
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}, {"type": "ContainersReady", "status": "True", "lastTransitionTime": now}],
    });
    patch_status(api, ns, "pod", pod, status);
}

fn mark_succeeded(api: &Apiserver, ns: &str, pod: &str) {
    patch_status(api, ns, "pod", pod, json!({"phase": "Succeeded", "conditions": [{"type": "Ready", "status": "False"}]}));
}

/// Binds a pod to a node through pods/binding, as a scheduler would.
fn bind(api: &Apiserver, ns: &str, pod: &str, node: &str) {
    let body = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod}, "target": {"kind": "Node", "name": node}}).to_string();
    let url = format!("http://{}/api/v1/namespaces/{ns}/pods/{pod}/binding", api.addr);
    let out = Command::new("curl").args(["-fsS", "-X", "POST", "-H", "Content-Type: application/json", "-d", &body, &url]).output().expect("curl");
    assert!(out.status.success(), "binding {pod} to {node} failed: {}", String::from_utf8_lossy(&out.stdout));
}

fn node_yaml(name: &str, labels: &str, taints: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}, labels: {{kubernetes.io/hostname: {name}{labels}}}}}\nspec: {{taints: [{taints}]}}\nstatus: {{capacity: {{cpu: \"4\", memory: 16Gi, pods: \"110\"}}, allocatable: {{cpu: \"4\", memory: 16Gi, pods: \"110\"}}}}\n"
    )
}

/// Creates a Ready node (the status a kubelet would post).
fn create_node(api: &Apiserver, name: &str, labels: &str, taints: &str) {
    create(api, &node_yaml(name, labels, taints));
    let now = now_rfc3339();
    let status = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now}]});
    patch_status(api, "default", "node", name, status);
}

fn now_rfc3339() -> String {
    let out = Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%S.%6NZ"]).output().expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn events(api: &Apiserver, ns: &str) -> Vec<(String, String)> {
    items(api, &["-n", ns, "get", "events"])
        .iter()
        .map(|e| (e["reason"].as_str().unwrap_or_default().to_string(), e["message"].as_str().unwrap_or_default().to_string()))
        .collect()
}

fn has_event(api: &Apiserver, ns: &str, reason: &str, message_part: &str) -> bool {
    events(api, ns).iter().any(|(r, m)| r == reason && m.contains(message_part))
}

const STATEFULSET: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: nginx, labels: {app: nginx}}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports: [{name: web, port: 80, targetPort: web}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.8
        ports: [{containerPort: 8080, name: web}]
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"#;

fn pod(api: &Apiserver, ns: &str, name: &str) -> Option<Value> {
    get_json(api, &["-n", ns, "get", "pod", name])
}

fn terminating(p: &Value) -> bool {
    !p["metadata"]["deletionTimestamp"].is_null()
}

#[test]
fn statefulset_pods_start_in_order_and_stop_in_reverse() {
    let api = Apiserver::start();
    let kcm = api.start_controller_manager("kube-controller-manager", &["--controllers=statefulset,endpoint,endpointslice"]);
    create_node(&api, "node-1", "", "");
    create(&api, STATEFULSET);
    for i in 0..3 {
        let name = format!("web-{i}");
        wait_for(&format!("{name} to be created"), Duration::from_secs(20), &kcm, || pod(&api, "default", &name));
        // OrderedReady: nothing after web-i exists until web-i is Running and Ready.
        std::thread::sleep(Duration::from_millis(600));
        let expected: Vec<String> = (0..=i).map(|j| format!("web-{j}")).collect();
        assert_eq!(names(&items(&api, &["get", "pods", "-l", "app=nginx"])), expected);
        let p = pod(&api, "default", &name).expect("pod");
        assert_eq!(p["spec"]["hostname"], name.as_str());
        assert_eq!(p["spec"]["subdomain"], "nginx");
        assert_eq!(p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], name.as_str());
        assert_eq!(p["metadata"]["labels"]["apps.kubernetes.io/pod-index"], i.to_string().as_str());
        let claim = p["spec"]["volumes"].as_array().and_then(|v| v.iter().find(|v| v["name"] == "www")).cloned().expect("www volume");
        assert_eq!(claim["persistentVolumeClaim"]["claimName"], format!("www-web-{i}").as_str());
        bind(&api, "default", &name, "node-1");
        mark_running(&api, "default", &name, &format!("10.244.0.{}", 10 + i));
    }
    wait_for("3 ready replicas", Duration::from_secs(20), &kcm, || {
        let s = get_json(&api, &["get", "statefulset", "web"])?;
        (s["status"]["readyReplicas"] == 3 && s["status"]["currentReplicas"] == 3).then_some(())
    });
    assert_eq!(names(&items(&api, &["get", "pvc"])), ["www-web-0", "www-web-1", "www-web-2"]);
    let revisions = items(&api, &["get", "controllerrevisions"]);
    assert_eq!(revisions.len(), 1, "one ControllerRevision");
    let sts = get_json(&api, &["get", "statefulset", "web"]).expect("sts");
    assert_eq!(sts["status"]["currentRevision"], revisions[0]["metadata"]["name"]);
    assert!(has_event(&api, "default", "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful"));
    assert!(has_event(&api, "default", "SuccessfulCreate", "create Claim www-web-0 Pod web-0 in StatefulSet web success"));
    check_headless_endpoints(&api, &kcm);

    api.kubectl(&["scale", "statefulset", "web", "--replicas=0"]);
    for i in (0..3).rev() {
        let name = format!("web-{i}");
        wait_for(&format!("{name} to be deleted"), Duration::from_secs(20), &kcm, || pod(&api, "default", &name).filter(terminating));
        for j in 0..i {
            let lower = pod(&api, "default", &format!("web-{j}")).expect("lower ordinal still there");
            assert!(!terminating(&lower), "web-{j} deleted before web-{i}");
        }
        // The kubelet finishes the pod.
        api.kubectl(&["delete", "pod", &name, "--grace-period=0", "--force"]);
    }
    wait_for("all pods gone", Duration::from_secs(20), &kcm, || items(&api, &["get", "pods"]).is_empty().then_some(()));
    assert!(has_event(&api, "default", "SuccessfulDelete", "delete Pod web-2 in StatefulSet web successful"));
    assert_eq!(names(&items(&api, &["get", "pvc"])).len(), 3, "claims are retained");
}

fn check_headless_endpoints(api: &Apiserver, kcm: &ControllerManager) {
    let ep = wait_for("endpoints with 3 addresses", Duration::from_secs(20), kcm, || {
        let ep = get_json(api, &["get", "endpoints", "nginx"])?;
        (ep["subsets"][0]["addresses"].as_array()?.len() == 3).then_some(ep)
    });
    let subset = &ep["subsets"][0];
    assert_eq!(subset["ports"][0]["port"], 8080, "named targetPort resolved");
    assert_eq!(subset["ports"][0]["name"], "web");
    let addrs = subset["addresses"].as_array().expect("addresses");
    let hosts: Vec<&str> = addrs.iter().map(|a| a["hostname"].as_str().unwrap_or("")).collect();
    assert_eq!(hosts, ["web-0", "web-1", "web-2"]);
    assert_eq!(addrs[0]["nodeName"], "node-1");
    assert_eq!(addrs[0]["targetRef"]["kind"], "Pod");
    assert_eq!(addrs[0]["targetRef"]["name"], "web-0");
    assert_eq!(ep["metadata"]["labels"]["service.kubernetes.io/headless"], "");
    let slices = wait_for("an endpointslice with 3 endpoints", Duration::from_secs(20), kcm, || {
        let s = items(api, &["get", "endpointslices", "-l", "kubernetes.io/service-name=nginx"]);
        (s.len() == 1 && s[0]["endpoints"].as_array().is_some_and(|e| e.len() == 3)).then_some(s)
    });
    let slice = &slices[0];
    assert_eq!(slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"], "endpointslice-controller.k8s.io");
    assert_eq!(slice["addressType"], "IPv4");
    assert_eq!(slice["ports"][0]["port"], 8080);
    assert_eq!(slice["endpoints"][0]["conditions"]["ready"], true);
    assert_eq!(slice["endpoints"][0]["hostname"], "web-0");
    assert_eq!(slice["metadata"]["ownerReferences"][0]["kind"], "Service");
}

const DAEMONSET: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: fluentd-elasticsearch, namespace: kube-system, labels: {k8s-app: fluentd-logging}}
spec:
  selector: {matchLabels: {name: fluentd-elasticsearch}}
  template:
    metadata: {labels: {name: fluentd-elasticsearch}}
    spec:
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
      - {key: node-role.kubernetes.io/master, operator: Exists, effect: NoSchedule}
      containers:
      - name: fluentd-elasticsearch
        image: quay.io/fluentd_elasticsearch/fluentd:v2.5.2
        resources: {limits: {memory: 200Mi}, requests: {cpu: 100m, memory: 200Mi}}
      terminationGracePeriodSeconds: 30
"#;

fn daemon_pods_by_node(api: &Apiserver) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = items(api, &["-n", "kube-system", "get", "pods", "-l", "name=fluentd-elasticsearch"])
        .iter()
        .filter(|p| !terminating(p))
        .map(|p| (p["spec"]["nodeName"].as_str().unwrap_or("").to_string(), name_of(p)))
        .collect();
    v.sort();
    v
}

#[test]
fn daemonset_runs_one_pod_per_node_including_new_nodes() {
    let api = Apiserver::start();
    let kcm = api.start_controller_manager("kube-controller-manager", &["--controllers=daemonset,nodeipam", "--allocate-node-cidrs"]);
    create_node(&api, "node-1", "", "");
    create_node(&api, "node-2", "", "");
    create_node(&api, "control-plane", ", node-role.kubernetes.io/control-plane: \"\"", "{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}");
    create_node(&api, "gpu-1", "", "{key: dedicated, value: gpu, effect: NoSchedule}");
    create(&api, DAEMONSET);
    let placed = wait_for("3 daemon pods", Duration::from_secs(30), &kcm, || {
        let v = daemon_pods_by_node(&api);
        (v.len() == 3).then_some(v)
    });
    let nodes: Vec<&str> = placed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(nodes, ["control-plane", "node-1", "node-2"], "one pod per node; none on the untolerated gpu node");
    let p = pod(&api, "kube-system", &placed[1].1).expect("pod");
    let term = &p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0];
    assert_eq!(term["matchFields"][0], json!({"key": "metadata.name", "operator": "In", "values": ["node-1"]}));
    let tolerations = p["spec"]["tolerations"].as_array().expect("tolerations");
    let keys: BTreeSet<&str> = tolerations.iter().filter_map(|t| t["key"].as_str()).collect();
    for k in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable", "node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure", "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable"] {
        assert!(keys.contains(k), "default toleration {k} missing: {tolerations:?}");
    }
    assert!(p["metadata"]["labels"]["controller-revision-hash"].is_string());
    wait_for("status counts 3", Duration::from_secs(20), &kcm, || {
        let ds = get_json(&api, &["-n", "kube-system", "get", "ds", "fluentd-elasticsearch"])?;
        (ds["status"]["desiredNumberScheduled"] == 3 && ds["status"]["currentNumberScheduled"] == 3).then_some(())
    });

    create_node(&api, "node-4", "", "");
    let placed = wait_for("a daemon pod on node-4", Duration::from_secs(30), &kcm, || {
        let v = daemon_pods_by_node(&api);
        (v.len() == 4).then_some(v)
    });
    assert!(placed.iter().any(|(n, _)| n == "node-4"), "{placed:?}");
    for (_, name) in &placed {
        mark_running(&api, "kube-system", name, "10.244.9.9");
    }
    wait_for("4 ready", Duration::from_secs(20), &kcm, || {
        let ds = get_json(&api, &["-n", "kube-system", "get", "ds", "fluentd-elasticsearch"])?;
        (ds["status"]["desiredNumberScheduled"] == 4 && ds["status"]["numberReady"] == 4 && ds["status"]["numberAvailable"] == 4).then_some(())
    });
    assert!(has_event(&api, "kube-system", "SuccessfulCreate", "Created pod: fluentd-elasticsearch-"));
    check_pod_cidrs(&api, &kcm);
}

fn check_pod_cidrs(api: &Apiserver, kcm: &ControllerManager) {
    let cidrs = wait_for("pod CIDRs on all 5 nodes", Duration::from_secs(20), kcm, || {
        let nodes = items(api, &["get", "nodes"]);
        let cidrs: BTreeSet<String> = nodes.iter().filter_map(|n| n["spec"]["podCIDR"].as_str().map(str::to_string)).collect();
        (cidrs.len() == 5).then_some(cidrs)
    });
    for c in &cidrs {
        assert!(c.starts_with("10.244.") && c.ends_with(".0/24"), "{c}");
    }
}

const JOB: &str = r#"
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 5
  parallelism: 2
  template:
    spec:
      containers:
      - name: pi
        image: perl:5.34.0
        command: ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
  backoffLimit: 4
"#;

#[test]
fn job_with_five_completions_runs_two_at_a_time() {
    let api = Apiserver::start();
    let kcm = api.start_controller_manager("kube-controller-manager", &["--controllers=job,ttl-after-finished,garbagecollector"]);
    create(&api, JOB);
    let mut done = BTreeSet::new();
    let job = wait_for("the job to complete", Duration::from_secs(60), &kcm, || {
        let pods = items(&api, &["get", "pods", "-l", "job-name=pi"]);
        let running: Vec<&Value> = pods.iter().filter(|p| p["status"]["phase"] != "Succeeded" && !terminating(p)).collect();
        assert!(running.len() <= 2, "parallelism 2 exceeded: {:?}", names(&pods));
        if let Some(p) = running.first() {
            let pod_labels = &p["metadata"]["labels"];
            assert_eq!(pod_labels["batch.kubernetes.io/job-name"], "pi");
            assert!(p["metadata"]["finalizers"].as_array().is_some_and(|f| f.iter().any(|f| f == "batch.kubernetes.io/job-tracking")));
            mark_succeeded(&api, "default", &name_of(p));
            done.insert(name_of(p));
        }
        let job = get_json(&api, &["get", "job", "pi"])?;
        let complete = job["status"]["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == "Complete" && c["status"] == "True"));
        complete.then_some(job)
    });
    assert_eq!(done.len(), 5, "exactly five pods were run: {done:?}");
    assert_eq!(job["status"]["succeeded"], 5);
    assert!(job["status"]["failed"].is_null());
    assert!(job["status"]["startTime"].is_string() && job["status"]["completionTime"].is_string());
    let types: Vec<&str> = job["status"]["conditions"].as_array().unwrap().iter().filter_map(|c| c["type"].as_str()).collect();
    assert_eq!(types, ["SuccessCriteriaMet", "Complete"]);
    wait_for("finalizers removed", Duration::from_secs(20), &kcm, || {
        let pods = items(&api, &["get", "pods", "-l", "job-name=pi"]);
        pods.iter().all(|p| p["metadata"]["finalizers"].as_array().is_none_or(|f| f.is_empty())).then_some(())
    });
    assert!(has_event(&api, "default", "Completed", "Job completed"));
    assert!(has_event(&api, "default", "SuccessfulCreate", "Created pod: pi-"));
    let out = api.kubectl(&["get", "job", "pi"]);
    assert!(out.contains("Complete") && out.contains("5/5"), "{out}");
    check_failed_job_is_cleaned_up_after_its_ttl(&api, &kcm);
}

const FAILING_JOB: &str = r#"
apiVersion: batch/v1
kind: Job
metadata: {name: flaky}
spec:
  backoffLimit: 0
  ttlSecondsAfterFinished: 2
  template:
    spec:
      containers: [{name: c, image: busybox, command: ["false"]}]
      restartPolicy: Never
"#;

fn check_failed_job_is_cleaned_up_after_its_ttl(api: &Apiserver, kcm: &ControllerManager) {
    create(api, FAILING_JOB);
    let p = wait_for("the flaky pod", Duration::from_secs(20), kcm, || items(api, &["get", "pods", "-l", "job-name=flaky"]).into_iter().next());
    patch_status(api, "default", "pod", &name_of(&p), json!({"phase": "Failed"}));
    let job = wait_for("the Failed condition", Duration::from_secs(20), kcm, || {
        let j = get_json(api, &["get", "job", "flaky"])?;
        let failed = j["status"]["conditions"].as_array()?.iter().any(|c| c["type"] == "Failed" && c["reason"] == "BackoffLimitExceeded");
        failed.then_some(j)
    });
    assert_eq!(job["status"]["failed"], 1);
    assert!(has_event(api, "default", "BackoffLimitExceeded", "Job has reached the specified backoff limit"));
    wait_for("the TTL to delete the job", Duration::from_secs(20), kcm, || get_json(api, &["get", "job", "flaky"]).is_none().then_some(()));
    // Deleting a running Job deletes its pods; their tracking finalizers are released.
    create(api, &FAILING_JOB.replace("flaky", "doomed"));
    wait_for("the doomed pod", Duration::from_secs(20), kcm, || items(api, &["get", "pods", "-l", "job-name=doomed"]).into_iter().next());
    api.kubectl(&["delete", "job", "doomed", "--wait=false"]);
    wait_for("the doomed pod to go", Duration::from_secs(30), kcm, || items(api, &["get", "pods", "-l", "job-name=doomed"]).is_empty().then_some(()));
}

const CRONJOB: &str = r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 2
  failedJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: hello
            image: busybox:1.28
            command: [/bin/sh, -c, date; echo Hello from the Kubernetes cluster]
          restartPolicy: OnFailure
"#;

/// The CronJob controller's clock runs 30x faster (`--cronjob-clock-speed`), so the
/// every-minute schedule fires every 2 s of real time.
#[test]
fn cronjob_creates_jobs_every_minute_and_keeps_history_limits() {
    let api = Apiserver::start();
    let kcm = api.start_controller_manager("kube-controller-manager", &["--controllers=cronjob,job", "--cronjob-clock-speed=30"]);
    create(&api, CRONJOB);
    let mut seen = BTreeSet::new();
    wait_for("six jobs to run", Duration::from_secs(60), &kcm, || {
        for j in items(&api, &["get", "jobs"]) {
            seen.insert(name_of(&j));
        }
        for p in items(&api, &["get", "pods"]) {
            if p["status"]["phase"] != "Succeeded" && !terminating(&p) {
                mark_succeeded(&api, "default", &name_of(&p));
            }
        }
        (seen.len() >= 6).then_some(())
    });
    for name in &seen {
        let minutes: i64 = name.strip_prefix("hello-").and_then(|m| m.parse().ok()).unwrap_or_else(|| panic!("job name {name}"));
        assert!(minutes > 28_000_000, "{name} is named after its scheduled minute");
    }
    // At least four of the six jobs completed; only the newest two of them are kept.
    wait_for("history trimmed to 2", Duration::from_secs(20), &kcm, || {
        let jobs = items(&api, &["get", "jobs"]);
        let complete = jobs
            .iter()
            .filter(|j| !terminating(j) && j["status"]["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == "Complete")))
            .count();
        (complete <= 2).then_some(())
    });
    let cj = get_json(&api, &["get", "cronjob", "hello"]).expect("cronjob");
    assert!(cj["status"]["lastScheduleTime"].is_string());
    assert!(cj["status"]["lastSuccessfulTime"].is_string());
    let job = items(&api, &["get", "jobs"]).into_iter().next().expect("a job");
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    assert!(job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"].is_string());
    assert!(has_event(&api, "default", "SuccessfulCreate", "Created job hello-"));
    assert!(has_event(&api, "default", "SawCompletedJob", "condition: Complete"));
    assert!(has_event(&api, "default", "SuccessfulDelete", "Deleted job hello-"));
}

const LEASE: &str = "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: NAME, namespace: kube-node-lease}\nspec: {holderIdentity: NAME, leaseDurationSeconds: 40, renewTime: \"RENEW\"}\n";

/// Renews the Leases of `nodes` every 500 ms (a kubelet's heartbeat) until stopped; the
/// node names are read each round so one can be dropped.
fn renew_leases(api_addr: String, nodes: Arc<std::sync::Mutex<Vec<String>>>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            for n in nodes.lock().unwrap().clone() {
                let url = format!("http://{api_addr}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{n}");
                let body = json!({"spec": {"renewTime": now_rfc3339()}}).to_string();
                let _ = Command::new("curl")
                    .args(["-fsS", "-X", "PATCH", "-H", "Content-Type: application/merge-patch+json", "-d", &body, &url])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    })
}

const REPLICASET: &str = r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers: [{name: nginx, image: nginx}]
"#;

fn node_taints(api: &Apiserver, node: &str) -> Vec<String> {
    let n = get_json(api, &["get", "node", node]).unwrap_or_default();
    n["spec"]["taints"].as_array().map(|t| t.iter().map(|t| format!("{}:{}", t["key"].as_str().unwrap_or(""), t["effect"].as_str().unwrap_or(""))).collect()).unwrap_or_default()
}

fn ready_status(api: &Apiserver, node: &str) -> String {
    let n = get_json(api, &["get", "node", node]).unwrap_or_default();
    let conds = n["status"]["conditions"].as_array().cloned().unwrap_or_default();
    conds.iter().find(|c| c["type"] == "Ready").and_then(|c| c["status"].as_str()).unwrap_or("").to_string()
}

#[test]
fn node_that_stops_renewing_its_lease_is_tainted_and_its_pods_replaced() {
    let api = Apiserver::start();
    let flags = ["--controllers=node-lifecycle-controller,replicaset", "--node-monitor-period=500ms", "--node-monitor-grace-period=6s", "--node-startup-grace-period=6s"];
    let kcm = api.start_controller_manager("kube-controller-manager", &flags);
    let scheduler = api.start_scheduler("kube-scheduler", &[]);
    let renewed = Arc::new(std::sync::Mutex::new(vec!["node-a".to_string()]));
    create_node(&api, "node-a", "", "");
    create(&api, &LEASE.replace("NAME", "node-a").replace("RENEW", &now_rfc3339()));
    let stop = Arc::new(AtomicBool::new(false));
    let renewer = renew_leases(api.addr.clone(), renewed.clone(), stop.clone());
    create(&api, REPLICASET);
    // With one node, the scheduler puts both replicas on node-a.
    let first = wait_for("2 pods bound to node-a", Duration::from_secs(30), &kcm, || {
        let p = items(&api, &["get", "pods", "-l", "app=web"]);
        (p.len() == 2 && p.iter().all(|p| p["spec"]["nodeName"] == "node-a")).then(|| names(&p))
    });
    for (i, p) in first.iter().enumerate() {
        mark_running(&api, "default", p, &format!("10.244.1.{}", 10 + i));
    }
    create_node(&api, "node-b", "", "");
    create(&api, &LEASE.replace("NAME", "node-b").replace("RENEW", &now_rfc3339()));
    renewed.lock().unwrap().push("node-b".into());
    // Both nodes stay healthy while their leases are renewed.
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(ready_status(&api, "node-a"), "True");
    assert!(node_taints(&api, "node-a").is_empty(), "{:?}", node_taints(&api, "node-a"));

    renewed.lock().unwrap().retain(|n| n != "node-a");
    wait_for("node-a Ready=Unknown", Duration::from_secs(20), &kcm, || (ready_status(&api, "node-a") == "Unknown").then_some(()));
    wait_for("the unreachable taints", Duration::from_secs(10), &kcm, || {
        let t = node_taints(&api, "node-a");
        (t.contains(&"node.kubernetes.io/unreachable:NoExecute".to_string()) && t.contains(&"node.kubernetes.io/unreachable:NoSchedule".to_string())).then_some(())
    });
    assert_eq!(ready_status(&api, "node-b"), "True");
    assert!(has_event(&api, "default", "NodeNotReady", "Node node-a status is now: NodeNotReady"));
    for p in &first {
        let evicted = wait_for(&format!("{p} evicted"), Duration::from_secs(15), &kcm, || pod(&api, "default", p).filter(terminating));
        let conds = evicted["status"]["conditions"].as_array().cloned().unwrap_or_default();
        assert!(conds.iter().any(|c| c["type"] == "DisruptionTarget" && c["reason"] == "DeletionByTaintManager"), "{conds:?}");
        assert!(conds.iter().any(|c| c["type"] == "Ready" && c["status"] == "False"), "marked not ready: {conds:?}");
    }
    assert!(has_event(&api, "default", "TaintManagerEviction", "Marking for deletion Pod default/"));
    // The ReplicaSet replaces them and the scheduler puts the replacements on node-b.
    let replacements = wait_for("2 replacement pods on node-b", Duration::from_secs(30), &kcm, || {
        let p: Vec<Value> = items(&api, &["get", "pods", "-l", "app=web"]).into_iter().filter(|p| !terminating(p)).collect();
        (p.len() == 2 && p.iter().all(|p| p["spec"]["nodeName"] == "node-b")).then(|| names(&p))
    });
    assert!(replacements.iter().all(|r| !first.contains(r)));
    for r in &replacements {
        mark_running(&api, "default", r, "10.244.2.10");
    }
    std::thread::sleep(Duration::from_secs(3));
    for r in &replacements {
        assert!(!terminating(&pod(&api, "default", r).expect("replacement")), "pods on the healthy node stay");
    }
    // The node comes back: Ready again once its kubelet posts status, and the taints go.
    renewed.lock().unwrap().push("node-a".into());
    let now = now_rfc3339();
    patch_status(&api, "default", "node", "node-a", json!({"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": now, "lastTransitionTime": now}]}));
    wait_for("node-a untainted", Duration::from_secs(20), &kcm, || node_taints(&api, "node-a").is_empty().then_some(()));
    stop.store(true, Ordering::SeqCst);
    renewer.join().unwrap();
    drop(scheduler);
}
