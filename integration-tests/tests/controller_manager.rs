//! kube-controller-manager's ReplicaSet, ReplicationController, Deployment, garbage
//! collector, Namespace and ServiceAccount controllers against a real apiserver, driven and
//! checked with the real kubectl. No kubelet runs: pods stay unscheduled and the tests mark
//! them Running/Ready through the status subresource (see `ReadyMarker`).

use std::time::Duration;

use rkube_integration_tests::{fixture, wait_until, Apiserver, ControllerManager, ReadyMarker};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

fn path(name: &str) -> String {
    fixture(name).display().to_string()
}

fn start() -> (Apiserver, ControllerManager) {
    let s = Apiserver::start();
    let cm = s.start_controller_manager("kube-controller-manager", &[]);
    (s, cm)
}

/// Live (not terminating) pods matching a selector in a namespace.
fn pods(s: &Apiserver, ns: &str, selector: &str) -> Vec<Value> {
    let list = s.get_json(&["get", "pods", "-n", ns, "-l", selector]);
    list["items"].as_array().cloned().unwrap_or_default().into_iter().filter(|p| p["metadata"]["deletionTimestamp"].is_null()).collect()
}

fn names(items: &[Value]) -> Vec<String> {
    items.iter().map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string()).collect()
}

fn replica_sets(s: &Apiserver, ns: &str, selector: &str) -> Vec<Value> {
    s.get_json(&["get", "rs", "-n", ns, "-l", selector])["items"].as_array().cloned().unwrap_or_default()
}

fn wait_pods(s: &Apiserver, cm: &ControllerManager, ns: &str, selector: &str, n: usize) -> Vec<Value> {
    let mut last = Vec::new();
    let ok = (0..600).any(|_| {
        last = pods(s, ns, selector);
        if last.len() == n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
        false
    });
    assert!(ok, "expected {n} pods for {selector}, have {:?}\ncontroller-manager log:\n{}", names(&last), tail(&cm.log()));
    last
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn rollout_status(s: &Apiserver, name: &str) -> String {
    s.kubectl(&["rollout", "status", &format!("deployment/{name}"), "--timeout=60s"])
}

#[test]
fn deployment_keeps_replicas_scales_and_rc_trims_extra_pods() {
    let (s, cm) = start();
    assert_eq!(s.kubectl(&["apply", "-f", &path("nginx-deployment.yaml")]).trim(), "deployment.apps/nginx-deployment created");
    let first = wait_pods(&s, &cm, "default", "app=nginx", 2);
    for p in &first {
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        assert_eq!(p["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(p["metadata"]["ownerReferences"][0]["blockOwnerDeletion"], true);
        assert!(p["metadata"]["labels"]["pod-template-hash"].is_string());
    }
    let rs = replica_sets(&s, "default", "app=nginx");
    assert_eq!(rs.len(), 1);
    let rs_name = rs[0]["metadata"]["name"].as_str().unwrap().to_string();
    let hash = rs[0]["metadata"]["labels"]["pod-template-hash"].as_str().unwrap();
    assert_eq!(rs_name, format!("nginx-deployment-{hash}"));
    assert_eq!(rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
    assert!(names(&first).iter().all(|n| n.starts_with(&format!("{rs_name}-"))));
    // the revision annotation is written through the status subresource: generation stays 1
    wait_until(LIMIT, "the revision annotation", || {
        s.get_json(&["get", "deployment", "nginx-deployment"])["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    });
    let d = s.get_json(&["get", "deployment", "nginx-deployment"]);
    assert_eq!(d["metadata"]["generation"], 1, "{d}");

    // a deleted pod is replaced
    let victim = names(&first)[0].clone();
    s.kubectl(&["delete", "pod", &victim]);
    wait_until(LIMIT, "a replacement pod", || {
        let now = names(&pods(&s, "default", "app=nginx"));
        now.len() == 2 && !now.contains(&victim)
    });

    // scale up and down with kubectl scale
    s.kubectl(&["scale", "deployment/nginx-deployment", "--replicas=5"]);
    wait_pods(&s, &cm, "default", "app=nginx", 5);
    s.kubectl(&["scale", "deployment/nginx-deployment", "--replicas=3"]);
    wait_pods(&s, &cm, "default", "app=nginx", 3);
    wait_until(LIMIT, "deployment status replicas=3", || {
        let d = s.get_json(&["get", "deployment", "nginx-deployment"]);
        d["status"]["replicas"] == 3 && d["status"]["updatedReplicas"] == 3 && d["status"]["observedGeneration"] == d["metadata"]["generation"]
    });
    let events = s.kubectl(&["get", "events", "--field-selector", "involvedObject.name=nginx-deployment"]);
    assert!(events.contains("ScalingReplicaSet") && events.contains(&format!("Scaled up replica set {rs_name} to 5 from 2")), "{events}");

    // a ReplicationController keeps 3 and removes a 4th matching pod
    let rc = "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  selector:\n    app: rc-web\n  template:\n    metadata:\n      labels:\n        app: rc-web\n    spec:\n      containers:\n      - name: nginx\n        image: nginx\n";
    s.kubectl_with(rkube_integration_tests::KUBECTL_133, &["apply", "-f", "-"], Some(rc));
    wait_pods(&s, &cm, "default", "app=rc-web", 3);
    let extra = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: stray\n  labels:\n    app: rc-web\nspec:\n  containers:\n  - name: nginx\n    image: nginx\n";
    s.kubectl_with(rkube_integration_tests::KUBECTL_133, &["apply", "-f", "-"], Some(extra));
    wait_until(LIMIT, "the RC to adopt the stray pod and trim back to 3", || {
        let now = pods(&s, "default", "app=rc-web");
        now.len() == 3 && now.iter().all(|p| p["metadata"]["ownerReferences"][0]["kind"] == "ReplicationController")
    });
    wait_until(LIMIT, "RC status", || {
        let rc = s.get_json(&["get", "rc", "web"]);
        rc["status"]["replicas"] == 3 && rc["status"]["fullyLabeledReplicas"] == 3 && rc["status"]["observedGeneration"] == 1
    });
}

#[test]
fn rollout_status_history_undo_pause_and_resume() {
    let (s, cm) = start();
    let _kubelet = ReadyMarker::start(&s);
    s.kubectl(&["apply", "-f", &path("nginx-deployment.yaml")]);
    let out = rollout_status(&s, "nginx-deployment");
    assert!(out.contains("deployment \"nginx-deployment\" successfully rolled out"), "{out}");

    s.kubectl(&["set", "image", "deployment/nginx-deployment", "nginx=nginx:1.16.1"]);
    let out = rollout_status(&s, "nginx-deployment");
    assert!(out.trim_end().ends_with("deployment \"nginx-deployment\" successfully rolled out"), "{out}");
    let live = pods(&s, "default", "app=nginx");
    assert_eq!(live.len(), 2);
    assert!(live.iter().all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.16.1"));
    let d = s.get_json(&["get", "deployment", "nginx-deployment"]);
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2");
    let conds = d["status"]["conditions"].as_array().unwrap();
    let progressing = conds.iter().find(|c| c["type"] == "Progressing").unwrap();
    assert_eq!(progressing["reason"], "NewReplicaSetAvailable");
    assert!(conds.iter().any(|c| c["type"] == "Available" && c["status"] == "True" && c["reason"] == "MinimumReplicasAvailable"));

    let history = s.kubectl(&["rollout", "history", "deployment/nginx-deployment"]);
    let revisions: Vec<&str> = history.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(revisions, ["1", "2"], "{history}");
    let rss = replica_sets(&s, "default", "app=nginx");
    assert_eq!(rss.len(), 2);
    assert!(rss.iter().any(|rs| rs["spec"]["replicas"] == 0));

    assert_eq!(s.kubectl(&["rollout", "undo", "deployment/nginx-deployment"]).trim(), "deployment.apps/nginx-deployment rolled back");
    rollout_status(&s, "nginx-deployment");
    wait_until(LIMIT, "pods back on nginx:1.14.2", || {
        let live = pods(&s, "default", "app=nginx");
        live.len() == 2 && live.iter().all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.14.2")
    });
    let history = s.kubectl(&["rollout", "history", "deployment/nginx-deployment"]);
    let revisions: Vec<&str> = history.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(revisions, ["2", "3"], "{history}");
    assert_eq!(replica_sets(&s, "default", "app=nginx").len(), 2, "the old ReplicaSet is reused");

    // paused: template changes wait; resumed: they roll out
    assert_eq!(s.kubectl(&["rollout", "pause", "deployment/nginx-deployment"]).trim(), "deployment.apps/nginx-deployment paused");
    s.kubectl(&["set", "image", "deployment/nginx-deployment", "nginx=nginx:1.17"]);
    wait_until(LIMIT, "the paused condition", || {
        let d = s.get_json(&["get", "deployment", "nginx-deployment"]);
        d["status"]["conditions"].as_array().is_some_and(|cs| cs.iter().any(|c| c["type"] == "Progressing" && c["reason"] == "DeploymentPaused" && c["status"] == "Unknown"))
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(replica_sets(&s, "default", "app=nginx").len(), 2, "no rollout while paused");
    assert_eq!(s.kubectl(&["rollout", "resume", "deployment/nginx-deployment"]).trim(), "deployment.apps/nginx-deployment resumed");
    rollout_status(&s, "nginx-deployment");
    wait_until(LIMIT, "pods on nginx:1.17", || {
        let live = pods(&s, "default", "app=nginx");
        live.len() == 2 && live.iter().all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.17")
    });
    let history = s.kubectl(&["rollout", "history", "deployment/nginx-deployment"]);
    let revisions: Vec<&str> = history.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(revisions, ["2", "3", "4"], "{history}\n{}", tail(&cm.log()));
}

#[test]
fn cascading_deletion_background_foreground_and_orphan() {
    let (s, cm) = start();
    let gone = |what: &str| s.kubectl(&["get", what, "-l", "app=nginx", "-o", "name"]).trim().is_empty();

    s.kubectl(&["apply", "-f", &path("nginx-deployment.yaml")]);
    wait_pods(&s, &cm, "default", "app=nginx", 2);
    s.kubectl(&["delete", "deployment", "nginx-deployment"]);
    wait_until(LIMIT, "background deletion of ReplicaSets and pods", || gone("rs") && gone("pods"));

    s.kubectl(&["apply", "-f", &path("nginx-deployment.yaml")]);
    wait_pods(&s, &cm, "default", "app=nginx", 2);
    let out = s.kubectl(&["delete", "deployment", "nginx-deployment", "--cascade=foreground", "--timeout=60s"]);
    assert_eq!(out.trim(), "deployment.apps \"nginx-deployment\" deleted");
    assert!(gone("rs") && gone("pods"), "foreground deletion returned before its dependents were gone");
    assert!(s.kubectl(&["get", "deployments", "-o", "name"]).trim().is_empty());

    s.kubectl(&["apply", "-f", &path("nginx-deployment.yaml")]);
    let before = names(&wait_pods(&s, &cm, "default", "app=nginx", 2));
    s.kubectl(&["delete", "deployment", "nginx-deployment", "--cascade=orphan"]);
    wait_until(LIMIT, "the orphaned ReplicaSet to lose its owner", || {
        let rss = replica_sets(&s, "default", "app=nginx");
        rss.len() == 1 && rss[0]["metadata"]["ownerReferences"].is_null()
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(names(&pods(&s, "default", "app=nginx")), before, "orphaned pods stay");
    assert!(s.kubectl(&["get", "deployments", "-o", "name"]).trim().is_empty());
}

#[test]
fn namespace_deletion_removes_content_then_namespace() {
    let (s, cm) = start();
    s.kubectl(&["create", "namespace", "test"]);
    wait_until(LIMIT, "the default ServiceAccount", || s.kubectl(&["get", "sa", "-n", "test", "-o", "name"]).contains("serviceaccount/default"));
    s.kubectl(&["apply", "-n", "test", "-f", &path("nginx-deployment.yaml")]);
    s.kubectl(&["create", "configmap", "cfg", "-n", "test", "--from-literal=a=b"]);
    wait_pods(&s, &cm, "test", "app=nginx", 2);
    let out = s.kubectl(&["delete", "namespace", "test", "--timeout=90s"]);
    assert_eq!(out.trim(), "namespace \"test\" deleted");
    let err = s.kubectl_err(rkube_integration_tests::KUBECTL_133, &["get", "namespace", "test"]);
    assert!(err.contains("not found"), "{err}");
    for what in ["pods", "rs", "deployments", "configmaps", "serviceaccounts"] {
        let left = s.kubectl(&["get", what, "-n", "test", "-o", "name"]);
        assert!(left.trim().is_empty(), "{what} left in the deleted namespace: {left}");
    }
    assert!(cm.log().contains("namespace content deleted and finalized"), "{}", tail(&cm.log()));
}

#[test]
fn restart_mid_rollout_converges() {
    let (s, mut cm) = start();
    let _kubelet = ReadyMarker::start(&s);
    s.kubectl(&["apply", "-f", &path("nginx-deployment.yaml")]);
    s.kubectl(&["scale", "deployment/nginx-deployment", "--replicas=4"]);
    rollout_status(&s, "nginx-deployment");
    s.kubectl(&["set", "image", "deployment/nginx-deployment", "nginx=nginx:1.16.1"]);
    wait_until(LIMIT, "the new ReplicaSet", || replica_sets(&s, "default", "app=nginx").len() == 2);
    cm.kill9();
    std::thread::sleep(Duration::from_millis(500));
    cm.restart();
    let out = rollout_status(&s, "nginx-deployment");
    assert!(out.contains("successfully rolled out"), "{out}");
    let rss = replica_sets(&s, "default", "app=nginx");
    let mut sizes: Vec<i64> = rss.iter().map(|rs| rs["spec"]["replicas"].as_i64().unwrap()).collect();
    sizes.sort();
    assert_eq!(sizes, [0, 4]);
    let live = wait_pods(&s, &cm, "default", "app=nginx", 4);
    assert!(live.iter().all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.16.1"));
    let d = s.get_json(&["get", "deployment", "nginx-deployment"]);
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2");
    assert_eq!((d["status"]["replicas"].as_i64(), d["status"]["updatedReplicas"].as_i64(), d["status"]["availableReplicas"].as_i64()), (Some(4), Some(4), Some(4)));
}

fn lease_holder(s: &Apiserver) -> String {
    let lease = s.get_json(&["get", "lease", "-n", "kube-system", "kube-controller-manager"]);
    lease["spec"]["holderIdentity"].as_str().unwrap_or("").to_string()
}

#[test]
fn exactly_one_of_two_holds_the_lease() {
    let s = Apiserver::start();
    let mut first = s.start_controller_manager("kcm-1", &[]);
    let second = s.spawn_controller_manager("kcm-2", &[]);
    std::thread::sleep(Duration::from_secs(3));
    let holder = lease_holder(&s);
    assert!(!holder.is_empty());
    assert!(first.get_raw("/readyz").is_some_and(|b| b.trim() == "ok"));
    assert!(second.get_raw("/readyz").is_none(), "the standby must not run controllers");
    assert!(second.get_raw("/healthz").is_some(), "the standby is alive");
    assert!(first.log().contains("became leader") && !second.log().contains("became leader"));
    let metrics = first.get_raw("/metrics").unwrap_or_default();
    assert!(metrics.contains("leader_election_master_status{name=\"kube-controller-manager\"} 1"), "{metrics}");
    first.kill9();
    second.wait_ready();
    wait_until(Duration::from_secs(20), "the standby to take the lease", || lease_holder(&s) != holder && !lease_holder(&s).is_empty());
    assert!(second.log().contains("became leader"));
    // the new leader runs the controllers
    s.kubectl(&["apply", "-f", &path("nginx-deployment.yaml")]);
    wait_pods(&s, &second, "default", "app=nginx", 2);
}

#[test]
fn metrics_and_health_are_served() {
    let (s, cm) = start();
    s.kubectl(&["apply", "-f", &path("nginx-deployment.yaml")]);
    wait_pods(&s, &cm, "default", "app=nginx", 2);
    assert_eq!(cm.get_raw("/healthz").as_deref().map(str::trim), Some("ok"));
    let metrics = cm.get_raw("/metrics").unwrap_or_default();
    for family in ["workqueue_depth", "workqueue_adds_total", "workqueue_work_duration_seconds", "workqueue_queue_duration_seconds", "workqueue_retries_total"] {
        assert!(metrics.contains(family), "{family} missing:\n{metrics}");
    }
    assert!(metrics.contains("workqueue_adds_total{name=\"deployment\"}"), "{metrics}");
    assert!(metrics.contains("workqueue_work_duration_seconds_count{name=\"replicaset\"}"), "{metrics}");
}

fn apply_yaml(s: &Apiserver, yaml: &str) {
    let out = s.kubectl_with(rkube_integration_tests::KUBECTL_133, &["apply", "-f", "-"], Some(yaml));
    assert!(out.status.success(), "apply failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn proportional_scaling_mid_rollout() {
    let (s, cm) = start();
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 10\n  strategy:\n    rollingUpdate:\n      maxSurge: 3\n      maxUnavailable: 2\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.14.2\n";
    apply_yaml(&s, yaml);
    wait_until(LIMIT, "10 available replicas", || {
        s.mark_pods_ready();
        s.get_json(&["get", "deployment", "web"])["status"]["availableReplicas"] == 10
    });
    // the new pods never become ready: the rollout stalls at old 8 + new 5 (13 = 10 + surge)
    s.kubectl(&["set", "image", "deployment/web", "web=nginx:1.16.1"]);
    let sizes = |s: &Apiserver| -> (i64, i64) {
        let rss = replica_sets(s, "default", "app=web");
        let size = |want_new: bool| {
            rss.iter()
                .filter(|rs| (rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.16.1") == want_new)
                .map(|rs| rs["spec"]["replicas"].as_i64().unwrap_or(0))
                .sum::<i64>()
        };
        (size(false), size(true))
    };
    wait_until(LIMIT, "the stalled rollout at 8 old + 5 new", || sizes(&s) == (8, 5));
    s.kubectl(&["scale", "deployment/web", "--replicas=20"]);
    wait_until(LIMIT, "proportional sizes 14 old + 9 new", || sizes(&s) == (14, 9));
    let rss = replica_sets(&s, "default", "app=web");
    assert!(rss.iter().all(|rs| rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "20" && rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "23"), "{rss:?}\n{}", tail(&cm.log()));
}

#[test]
fn recreate_scales_old_to_zero_before_new() {
    let (s, _cm) = start();
    let _kubelet = ReadyMarker::start(&s);
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: db\nspec:\n  replicas: 3\n  strategy:\n    type: Recreate\n  selector:\n    matchLabels:\n      app: db\n  template:\n    metadata:\n      labels:\n        app: db\n    spec:\n      containers:\n      - name: db\n        image: postgres:15\n";
    apply_yaml(&s, yaml);
    rollout_status(&s, "db");
    s.kubectl(&["set", "image", "deployment/db", "db=postgres:16"]);
    // never old and new pods side by side: the old ReplicaSet reaches 0 before the new grows
    wait_until(LIMIT, "the Recreate rollout", || {
        let rss = replica_sets(&s, "default", "app=db");
        let size = |image: &str| rss.iter().filter(|rs| rs["spec"]["template"]["spec"]["containers"][0]["image"] == image).map(|rs| rs["spec"]["replicas"].as_i64().unwrap_or(0)).sum::<i64>();
        let (old, new) = (size("postgres:15"), size("postgres:16"));
        assert!(old == 0 || new == 0, "old {old} and new {new} replicas at once");
        new == 3 && pods(&s, "default", "app=db").len() == 3
    });
    let out = rollout_status(&s, "db");
    assert!(out.contains("successfully rolled out"), "{out}");
    let events = s.kubectl(&["get", "events", "--field-selector", "involvedObject.name=db", "-o", "custom-columns=MSG:.message"]);
    assert!(events.lines().any(|l| l.starts_with("Scaled down replica set db-") && l.ends_with("to 0 from 3")), "{events}");
    assert!(events.lines().filter(|l| l.starts_with("Scaled up replica set db-") && l.ends_with("to 3")).count() == 2, "{events}");
    let live = pods(&s, "default", "app=db");
    assert_eq!(live.len(), 3);
    assert!(live.iter().all(|p| p["spec"]["containers"][0]["image"] == "postgres:16"));
}

#[test]
fn dangling_owner_references_are_cleaned() {
    let (s, cm) = start();
    s.kubectl(&["create", "configmap", "parent"]);
    let uid = s.get_json(&["get", "configmap", "parent"])["metadata"]["uid"].as_str().unwrap().to_string();
    let child = |name: &str, refs: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  ownerReferences:\n{refs}");
    let parent_ref = format!("  - apiVersion: v1\n    kind: ConfigMap\n    name: parent\n    uid: {uid}\n");
    let ghost_ref = "  - apiVersion: v1\n    kind: ConfigMap\n    name: ghost\n    uid: 00000000-0000-0000-0000-00000000dead\n";
    apply_yaml(&s, &child("half-orphan", &format!("{parent_ref}{ghost_ref}")));
    apply_yaml(&s, &child("orphan", ghost_ref));
    wait_until(LIMIT, "the dangling reference to be removed", || {
        let refs = s.get_json(&["get", "configmap", "half-orphan"])["metadata"]["ownerReferences"].clone();
        refs.as_array().is_some_and(|r| r.len() == 1 && r[0]["name"] == "parent")
    });
    wait_until(LIMIT, "the object whose only owner is gone to be deleted", || !s.kubectl(&["get", "configmaps", "-o", "name"]).contains("configmap/orphan\n"));
    // deleting the parent (background) takes its remaining dependent along
    s.kubectl(&["delete", "configmap", "parent"]);
    wait_until(LIMIT, "the dependent of the deleted parent to go", || !s.kubectl(&["get", "configmaps", "-o", "name"]).contains("half-orphan"));
    assert!(!cm.log().contains("panicked"));
}

#[test]
fn progress_deadline_exceeded_and_history_limit() {
    let (s, _cm) = start();
    // pods never become ready: Progressing turns False after progressDeadlineSeconds
    let stuck = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: stuck\nspec:\n  replicas: 1\n  progressDeadlineSeconds: 3\n  selector:\n    matchLabels:\n      app: stuck\n  template:\n    metadata:\n      labels:\n        app: stuck\n    spec:\n      containers:\n      - name: c\n        image: nginx\n";
    apply_yaml(&s, stuck);
    wait_until(LIMIT, "ProgressDeadlineExceeded", || {
        let d = s.get_json(&["get", "deployment", "stuck"]);
        d["status"]["conditions"].as_array().is_some_and(|cs| cs.iter().any(|c| c["type"] == "Progressing" && c["status"] == "False" && c["reason"] == "ProgressDeadlineExceeded"))
    });
    let err = s.kubectl_err(rkube_integration_tests::KUBECTL_133, &["rollout", "status", "deployment/stuck", "--timeout=20s"]);
    assert!(err.contains("deployment \"stuck\" exceeded its progress deadline"), "{err}");

    // revisionHistoryLimit: 1 keeps the new ReplicaSet and one old one
    let _kubelet = ReadyMarker::start(&s);
    let limited = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: lim\nspec:\n  replicas: 1\n  revisionHistoryLimit: 1\n  selector:\n    matchLabels:\n      app: lim\n  template:\n    metadata:\n      labels:\n        app: lim\n    spec:\n      containers:\n      - name: c\n        image: nginx:1.14.2\n";
    apply_yaml(&s, limited);
    rollout_status(&s, "lim");
    for image in ["nginx:1.15", "nginx:1.16", "nginx:1.17"] {
        s.kubectl(&["set", "image", "deployment/lim", &format!("c={image}")]);
        rollout_status(&s, "lim");
    }
    wait_until(LIMIT, "old ReplicaSets beyond the history limit to be deleted", || replica_sets(&s, "default", "app=lim").len() == 2);
    let history = s.kubectl(&["rollout", "history", "deployment/lim"]);
    let revisions: Vec<&str> = history.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(revisions, ["3", "4"], "{history}");
}
