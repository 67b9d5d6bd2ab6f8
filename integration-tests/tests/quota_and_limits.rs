//! ResourceQuota and LimitRanger, driven with the real kubectl 1.33: the apiserver's
//! admission refuses creates over a quota (and charges the quota so concurrent creates cannot
//! both take the last unit), the controller-manager's resourcequota controller fills
//! `status.hard`/`status.used` and gives usage back after deletes, and LimitRanger defaults
//! container resources and refuses pods over a range's max. No kubelet runs.

use std::time::Duration;

use rkube_integration_tests::{wait_until, Apiserver, KUBECTL_133};

const LIMIT: Duration = Duration::from_secs(60);

fn used(s: &Apiserver, ns: &str, quota: &str, resource: &str) -> String {
    let q = s.get_json(&["-n", ns, "get", "resourcequota", quota]);
    q["status"]["used"][resource].as_str().unwrap_or("").to_string()
}

fn run_pod(s: &Apiserver, ns: &str, name: &str) -> std::process::Output {
    s.kubectl_with(KUBECTL_133, &["-n", ns, "run", name, "--image=nginx", "--restart=Never"], None)
}

fn apply(s: &Apiserver, yaml: &str) -> std::process::Output {
    s.kubectl_with(KUBECTL_133, &["apply", "-f", "-"], Some(yaml))
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn quota_counts_refuses_and_gives_back() {
    let s = Apiserver::start();
    let cm = s.start_controller_manager("kube-controller-manager", &["--controllers=resourcequota"]);
    s.kubectl(&["create", "namespace", "quota"]);
    s.kubectl(&["-n", "quota", "create", "quota", "q", "--hard=pods=2,configmaps=3"]);
    wait_until(LIMIT, "the controller's first status of q", || used(&s, "quota", "q", "pods") == "0");
    let q = s.get_json(&["-n", "quota", "get", "resourcequota", "q"]);
    assert_eq!(q["status"]["hard"], serde_json::json!({"configmaps": "3", "pods": "2"}));

    // A server-side dry run is checked but charges nothing.
    s.kubectl(&["-n", "quota", "run", "dry", "--image=nginx", "--restart=Never", "--dry-run=server"]);
    assert_eq!(used(&s, "quota", "q", "pods"), "0");
    for name in ["p1", "p2"] {
        let o = run_pod(&s, "quota", name);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
    }
    assert_eq!(used(&s, "quota", "q", "pods"), "2", "admission charges the quota at once");
    let o = run_pod(&s, "quota", "p3");
    assert!(!o.status.success());
    assert_eq!(
        stderr(&o).trim(),
        r#"Error from server (Forbidden): pods "p3" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"#
    );
    s.kubectl(&["-n", "quota", "create", "configmap", "c1", "--from-literal=a=b"]);

    let described = s.kubectl(&["-n", "quota", "describe", "quota", "q"]);
    assert_eq!(described, "Name:       q\nNamespace:  quota\nResource    Used  Hard\n--------    ----  ----\nconfigmaps  1     3\npods        2     2\n");
    let table = s.kubectl(&["-n", "quota", "get", "quota"]);
    assert!(table.contains("configmaps: 1/3, pods: 2/2"), "{table}");

    // Deleting a pod gives its unit back; the next create fits again.
    s.kubectl(&["-n", "quota", "delete", "pod", "p1", "--grace-period=0", "--force"]);
    wait_until(LIMIT, "pods usage back to 1", || used(&s, "quota", "q", "pods") == "1");
    let o = run_pod(&s, "quota", "p3");
    assert!(o.status.success(), "p3 after the delete: {}", stderr(&o));

    // Raising spec.hard reaches status.hard through the controller.
    s.kubectl(&["-n", "quota", "patch", "quota", "q", "-p", r#"{"spec":{"hard":{"pods":"3"}}}"#]);
    wait_until(LIMIT, "status.hard follows spec.hard", || s.get_json(&["-n", "quota", "get", "quota", "q"])["status"]["hard"]["pods"] == "3");
    s.kubectl(&["-n", "quota", "patch", "quota", "q", "-p", r#"{"spec":{"hard":{"pods":"2"}}}"#]);
    wait_until(LIMIT, "status.hard back to 2", || s.get_json(&["-n", "quota", "get", "quota", "q"])["status"]["hard"]["pods"] == "2");

    // `kubectl describe namespace` lists the quota with its usage.
    let ns = s.kubectl(&["describe", "namespace", "quota"]);
    assert!(ns.contains("Resource Quotas\n  Name:       q\n  Resource    Used  Hard\n  --------    ---   ---\n  configmaps  1     3\n  pods        2     2\n"), "{ns}");

    // Compute quotas require every container to state what they limit.
    s.kubectl(&["create", "namespace", "compute"]);
    s.kubectl(&["-n", "compute", "create", "quota", "cq", "--hard=requests.cpu=1,limits.memory=1Gi"]);
    wait_until(LIMIT, "cq's status", || used(&s, "compute", "cq", "requests.cpu") == "0");
    let o = run_pod(&s, "compute", "bare");
    assert_eq!(
        stderr(&o).trim(),
        r#"Error from server (Forbidden): pods "bare" is forbidden: failed quota: cq: must specify limits.memory for: bare; requests.cpu for: bare"#
    );
    let pod = |name: &str, cpu: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: compute\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      requests: {{cpu: {cpu}}}\n      limits: {{memory: 256Mi}}\n")
    };
    let o = apply(&s, &pod("small", "600m"));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = apply(&s, &pod("large", "500m"));
    assert!(
        stderr(&o).contains(r#"pods "large" is forbidden: exceeded quota: cq, requested: requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1"#),
        "{}",
        stderr(&o)
    );
    assert_eq!(used(&s, "compute", "cq", "limits.memory"), "256Mi");

    // Services: node ports are charged on create and on a type change (a patch).
    s.kubectl(&["create", "namespace", "svc"]);
    s.kubectl(&["-n", "svc", "create", "quota", "sq", "--hard=services=2,services.nodeports=1"]);
    wait_until(LIMIT, "sq's status", || used(&s, "svc", "sq", "services") == "0");
    s.kubectl(&["-n", "svc", "create", "service", "clusterip", "a", "--tcp=80:80"]);
    let err = s.kubectl_err(KUBECTL_133, &["-n", "svc", "create", "service", "nodeport", "b", "--tcp=80:80,81:81"]);
    assert_eq!(
        err.trim(),
        r#"error: failed to create NodePort service: services "b" is forbidden: exceeded quota: sq, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1"#
    );
    s.kubectl(&["-n", "svc", "patch", "service", "a", "-p", r#"{"spec":{"type":"NodePort"}}"#]);
    assert_eq!(used(&s, "svc", "sq", "services.nodeports"), "1");
    let o = s.kubectl_with(KUBECTL_133, &["-n", "svc", "patch", "service", "a", "-p", r#"{"spec":{"ports":[{"name":"80-80","port":80},{"name":"x","port":82}]}}"#], None);
    assert!(stderr(&o).contains("exceeded quota: sq, requested: services.nodeports=1, used: services.nodeports=1, limited: services.nodeports=1"), "{}", stderr(&o));
    s.kubectl(&["-n", "svc", "create", "service", "clusterip", "c", "--tcp=80:80"]);
    let err = s.kubectl_err(KUBECTL_133, &["-n", "svc", "create", "service", "clusterip", "d", "--tcp=80:80"]);
    assert!(err.contains(r#"services "d" is forbidden: exceeded quota: sq, requested: services=1, used: services=2, limited: services=2"#), "{err}");

    // Scopes: a BestEffort quota counts only pods without requests or limits.
    s.kubectl(&["create", "namespace", "scoped"]);
    s.kubectl(&["-n", "scoped", "create", "quota", "be", "--hard=pods=1", "--scopes=BestEffort"]);
    wait_until(LIMIT, "be's status", || used(&s, "scoped", "be", "pods") == "0");
    assert!(run_pod(&s, "scoped", "b1").status.success());
    let o = run_pod(&s, "scoped", "b2");
    assert!(stderr(&o).contains("exceeded quota: be, requested: pods=1, used: pods=1, limited: pods=1"), "{}", stderr(&o));
    let o = s.kubectl_with(KUBECTL_133, &["-n", "scoped", "run", "burst", "--image=nginx", "--restart=Never", "--overrides", r#"{"spec":{"containers":[{"name":"burst","image":"nginx","resources":{"requests":{"cpu":"10m"}}}]}}"#], None);
    assert!(o.status.success(), "a Burstable pod is not in the BestEffort scope: {}", stderr(&o));
    assert_eq!(used(&s, "scoped", "be", "pods"), "1");
    drop(cm);
}

#[test]
fn object_counts_of_any_kind() {
    let s = Apiserver::start();
    let _cm = s.start_controller_manager("kube-controller-manager", &["--controllers=resourcequota"]);
    s.kubectl(&["create", "namespace", "apps"]);
    s.kubectl(&["-n", "apps", "create", "quota", "dq", "--hard=count/deployments.apps=1,count/leases.coordination.k8s.io=1"]);
    wait_until(LIMIT, "dq's status", || used(&s, "apps", "dq", "count/deployments.apps") == "0" && used(&s, "apps", "dq", "count/leases.coordination.k8s.io") == "0");
    s.kubectl(&["-n", "apps", "create", "deployment", "d1", "--image=nginx"]);
    let err = s.kubectl_err(KUBECTL_133, &["-n", "apps", "create", "deployment", "d2", "--image=nginx"]);
    assert!(
        err.contains(r#"deployments.apps "d2" is forbidden: exceeded quota: dq, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1"#),
        "{err}"
    );
    s.kubectl(&["-n", "apps", "delete", "deployment", "d1"]);
    wait_until(LIMIT, "the deployment's count given back", || used(&s, "apps", "dq", "count/deployments.apps") == "0");
    s.kubectl(&["-n", "apps", "create", "deployment", "d2", "--image=nginx"]);
    // A kind the controller has no informer for is counted through discovery.
    let lease = |name: &str| format!("apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: {name}\n  namespace: apps\nspec:\n  holderIdentity: x\n");
    assert!(apply(&s, &lease("l1")).status.success());
    let o = apply(&s, &lease("l2"));
    assert!(stderr(&o).contains("exceeded quota: dq, requested: count/leases.coordination.k8s.io=1"), "{}", stderr(&o));
    s.kubectl(&["-n", "apps", "delete", "lease", "l1"]);
    wait_until(LIMIT, "the lease's count given back", || used(&s, "apps", "dq", "count/leases.coordination.k8s.io") == "0");
}

#[test]
fn concurrent_creates_cannot_overrun_a_quota() {
    let s = Apiserver::start();
    let _cm = s.start_controller_manager("kube-controller-manager", &["--controllers=resourcequota"]);
    s.kubectl(&["create", "namespace", "race"]);
    s.kubectl(&["-n", "race", "create", "quota", "q", "--hard=configmaps=3"]);
    wait_until(LIMIT, "q's status", || used(&s, "race", "q", "configmaps") == "0");
    let results: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let s = &s;
                scope.spawn(move || {
                    let name = format!("c{i}");
                    s.kubectl_with(KUBECTL_133, &["-n", "race", "create", "configmap", &name], None).status.success()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert_eq!(results.iter().filter(|ok| **ok).count(), 3, "{results:?}");
    let listed = s.get_json(&["-n", "race", "get", "configmaps"]);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(3));
}

#[test]
fn limit_ranges_default_and_refuse() {
    let s = Apiserver::start();
    s.kubectl(&["create", "namespace", "limits"]);
    let range = "apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: lr\n  namespace: limits\nspec:\n  limits:\n  - type: Container\n    default: {cpu: 500m, memory: 128Mi}\n    defaultRequest: {cpu: 100m, memory: 64Mi}\n    max: {cpu: \"1\"}\n  - type: PersistentVolumeClaim\n    max: {storage: 2Gi}\n";
    let o = apply(&s, range);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_pod(&s, "limits", "d");
    assert!(o.status.success(), "{}", stderr(&o));
    let pod = s.get_json(&["-n", "limits", "get", "pod", "d"]);
    assert_eq!(
        pod["spec"]["containers"][0]["resources"],
        serde_json::json!({"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}})
    );
    assert_eq!(pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"], "LimitRanger plugin set: cpu, memory request for container d; cpu, memory limit for container d");
    assert_eq!(pod["status"]["qosClass"], "Burstable");

    let big = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\n  namespace: limits\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      limits: {cpu: \"2\"}\n";
    let o = apply(&s, big);
    assert!(!o.status.success());
    assert!(stderr(&o).contains(r#"pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2"#), "{}", stderr(&o));
    let claim = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: huge\n  namespace: limits\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests: {storage: 5Gi}\n";
    let o = apply(&s, claim);
    assert!(
        stderr(&o).contains(r#"persistentvolumeclaims "huge" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi"#),
        "{}",
        stderr(&o)
    );
}
