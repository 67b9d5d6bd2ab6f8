//! The apiserver against the real kubectl (1.33 with protobuf bodies, 1.27 with JSON): the
//! seed's Deployment, ConfigMap and Secret commands, reads, writes and errors.

use rkube_integration_tests::{fixture, Apiserver, KUBECTL_127, KUBECTL_133};

fn path(name: &str) -> String {
    fixture(name).display().to_string()
}

#[test]
fn version_and_api_resources() {
    let s = Apiserver::start();
    for kubectl in [KUBECTL_133, KUBECTL_127] {
        let v = s.kubectl_ok(kubectl, &["version"]);
        assert!(v.lines().any(|l| l.starts_with("Server Version") && l.contains("v1.33.")), "{v}");
        let r = s.kubectl_ok(kubectl, &["api-resources"]);
        for line in [
            ("deployments", "deploy", "apps/v1", "true", "Deployment"),
            ("pods", "po", "v1", "true", "Pod"),
            ("namespaces", "ns", "v1", "false", "Namespace"),
            ("customresourcedefinitions", "crd,crds", "apiextensions.k8s.io/v1", "false", "CustomResourceDefinition"),
            ("cronjobs", "cj", "batch/v1", "true", "CronJob"),
            ("leases", "", "coordination.k8s.io/v1", "true", "Lease"),
        ] {
            let found = r.lines().any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.first() == Some(&line.0) && cols.contains(&line.2) && cols.contains(&line.3) && cols.last() == Some(&line.4)
                    && (line.1.is_empty() || cols.contains(&line.1))
            });
            assert!(found, "{kubectl}: no api-resources line for {line:?} in\n{r}");
        }
    }
}

#[test]
fn deployment_create_apply_and_server_side_apply() {
    let s = Apiserver::start();
    let out = s.kubectl(&["create", "-f", &path("nginx-deployment.yaml")]);
    assert_eq!(out.trim(), "deployment.apps/nginx-deployment created");
    let d = s.get_json(&["get", "deployment", "nginx-deployment"]);
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Always");
    assert_eq!(d["metadata"]["generation"], 1);

    let out = s.kubectl(&["apply", "-f", &path("nginx-deployment-edited.yaml")]);
    assert_eq!(out.trim(), "deployment.apps/nginx-deployment configured");
    let d2 = s.get_json(&["get", "deployment", "nginx-deployment"]);
    assert_eq!(d2["spec"]["replicas"], 3);
    assert_eq!(d2["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.16.1");
    assert_eq!(d2["spec"]["template"]["spec"]["containers"][0]["ports"], d["spec"]["template"]["spec"]["containers"][0]["ports"]);
    assert_eq!(d2["metadata"]["generation"], 2);
    assert_eq!(d2["metadata"]["uid"], d["metadata"]["uid"]);

    let out = s.kubectl(&["apply", "-f", &path("nginx-deployment-edited.yaml")]);
    assert_eq!(out.trim(), "deployment.apps/nginx-deployment unchanged");

    let out = s.kubectl(&["apply", "--server-side", "-f", &path("nginx-deployment.yaml")]);
    assert_eq!(out.trim(), "deployment.apps/nginx-deployment serverside-applied");
    let d3 = s.get_json(&["get", "deployment", "nginx-deployment", "--show-managed-fields"]);
    assert_eq!(d3["spec"]["replicas"], 2);
    let managers: Vec<&str> = d3["metadata"]["managedFields"].as_array().unwrap().iter().filter_map(|m| m["manager"].as_str()).collect();
    assert!(managers.contains(&"kubectl"), "{managers:?}");
}

#[test]
fn get_output_formats() {
    let s = Apiserver::start();
    s.kubectl(&["create", "-f", &path("nginx-deployment.yaml")]);
    s.kubectl(&["create", "configmap", "cm1", "--from-literal=a=b"]);
    let all = s.kubectl(&["get", "deploy,cm,svc,secrets", "-A"]);
    assert!(all.contains("NAMESPACE"), "{all}");
    let header = all.lines().find(|l| l.contains("READY")).unwrap_or("");
    for col in ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] {
        assert!(header.contains(col), "deployment header {header:?}");
    }
    assert!(all.lines().any(|l| l.starts_with("default") && l.contains("service/kubernetes") && l.contains("ClusterIP") && l.contains("10.96.0.1") && l.contains("443/TCP")), "{all}");
    assert!(all.lines().any(|l| l.contains("configmap/cm1") && l.split_whitespace().nth(2) == Some("1")), "{all}");
    let wide = s.kubectl(&["get", "deploy", "-o", "wide"]);
    assert!(wide.contains("CONTAINERS") && wide.contains("IMAGES") && wide.contains("SELECTOR") && wide.contains("nginx:1.14.2") && wide.contains("app=nginx"), "{wide}");
    let yaml = s.kubectl(&["get", "deploy", "nginx-deployment", "-o", "yaml"]);
    assert!(yaml.starts_with("apiVersion: apps/v1\n") && yaml.contains("kind: Deployment"), "{yaml}");
    let jp = s.kubectl(&["get", "deploy", "nginx-deployment", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]);
    assert_eq!(jp, "nginx:1.14.2");
    let names = s.kubectl(&["get", "cm", "-o", "name"]);
    assert!(names.lines().any(|l| l == "configmap/cm1"), "{names}");
}

#[test]
fn configmap_and_secret_commands_both_kubectls() {
    let s = Apiserver::start();
    for (i, kubectl) in [KUBECTL_133, KUBECTL_127].into_iter().enumerate() {
        let ns = format!("seed{i}");
        s.kubectl_ok(kubectl, &["create", "namespace", &ns]);
        let out = s.kubectl_ok(kubectl, &["-n", &ns, "create", "configmap", "game-config", &format!("--from-file={}", path("game-config"))]);
        assert_eq!(out.trim(), "configmap/game-config created");
        let yaml = s.kubectl_ok(kubectl, &["-n", &ns, "get", "configmap", "game-config", "-o", "yaml"]);
        assert!(yaml.contains("game.properties: |") && yaml.contains("enemies.cheat.level=noGoodRotten") && yaml.contains("ui.properties: |"), "{yaml}");
        let desc = s.kubectl_ok(kubectl, &["-n", &ns, "describe", "configmaps", "game-config"]);
        assert!(desc.contains("Name:         game-config") && desc.contains("game.properties:") && desc.contains("----"), "{desc}");
        s.kubectl_ok(kubectl, &["-n", &ns, "create", "configmap", "game-config-env-file", &format!("--from-env-file={}", path("game-env-file.properties"))]);
        let env = s.get_json(&["-n", &ns, "get", "configmap", "game-config-env-file"]);
        assert_eq!(env["data"], serde_json::json!({"allowed": "\"true\"", "enemies": "aliens", "lives": "3"}));
        let out = s.kubectl_ok(kubectl, &["-n", &ns, "delete", "configmap", "game-config"]);
        assert_eq!(out.trim(), "configmap \"game-config\" deleted");

        s.kubectl_ok(kubectl, &["-n", &ns, "create", "secret", "generic", "db-user-pass", "--from-literal=username=admin", "--from-literal=password=S!B\\*d$zDsb="]);
        s.kubectl_ok(kubectl, &["-n", &ns, "create", "secret", "generic", "db-user-pass-file", &format!("--from-file=username={}", path("username.txt")), &format!("--from-file=password={}", path("password.txt"))]);
        let secrets = s.kubectl_ok(kubectl, &["-n", &ns, "get", "secrets"]);
        let line = secrets.lines().find(|l| l.starts_with("db-user-pass ")).unwrap_or("");
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&cols[..3], &["db-user-pass", "Opaque", "2"], "{secrets}");
        let pw = s.kubectl_ok(kubectl, &["-n", &ns, "get", "secret", "db-user-pass-file", "-o", "jsonpath={.data.password}"]);
        assert_eq!(pw, "UyFCXCpkJHpEc2I9");
    }
}

#[test]
fn bad_input_errors_as_upstream() {
    let s = Apiserver::start();
    let err = s.kubectl_err(KUBECTL_133, &["create", "configmap", "Bad"]);
    assert!(err.starts_with("error: failed to create configmap: ConfigMap \"Bad\" is invalid: metadata.name: Invalid value: \"Bad\": a lowercase RFC 1123 subdomain must consist of"), "{err}");
    let out = s.kubectl_with(KUBECTL_133, &["create", "-f", "-"], Some("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"Bad\"}}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("The ConfigMap \"Bad\" is invalid: metadata.name: Invalid value: \"Bad\""), "{err}");
    s.kubectl(&["create", "configmap", "dup"]);
    let err = s.kubectl_err(KUBECTL_133, &["create", "configmap", "dup"]);
    assert_eq!(err.trim(), "error: failed to create configmap: configmaps \"dup\" already exists");
    let err = s.kubectl_err(KUBECTL_133, &["get", "configmap", "nope"]);
    assert_eq!(err.trim(), "Error from server (NotFound): configmaps \"nope\" not found");
    let err = s.kubectl_err(KUBECTL_133, &["get", "foos"]);
    assert!(err.contains("the server doesn't have a resource type \"foos\""), "{err}");
    let cm = s.get_json(&["get", "configmap", "dup"]);
    let mut stale = cm.clone();
    stale["metadata"]["resourceVersion"] = serde_json::json!("1");
    stale["data"] = serde_json::json!({"x": "y"});
    let out = s.kubectl_with(KUBECTL_133, &["replace", "-f", "-"], Some(&stale.to_string()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Error from server (Conflict): error when replacing \"STDIN\": Operation cannot be fulfilled on configmaps \"dup\": the object has been modified; please apply your changes to the latest version and try again"), "{err}");
    let out = s.kubectl_with(KUBECTL_133, &["create", "-f", "-"], Some("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": }"));
    assert!(!out.status.success());
    let raw = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: application/json", "--data", "{bad json", &format!("http://{}/api/v1/namespaces/default/configmaps", s.addr)])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&raw.stdout), "400");
}

#[test]
fn label_annotate_scale_patch_delete_select_explain() {
    let s = Apiserver::start();
    s.kubectl(&["create", "-f", &path("nginx-deployment.yaml")]);
    assert_eq!(s.kubectl(&["label", "deployment", "nginx-deployment", "tier=frontend", "app=nginx"]).trim(), "deployment.apps/nginx-deployment labeled");
    assert_eq!(s.kubectl(&["annotate", "deployment", "nginx-deployment", "note=hello"]).trim(), "deployment.apps/nginx-deployment annotated");
    assert_eq!(s.kubectl(&["scale", "deployment", "nginx-deployment", "--replicas=5"]).trim(), "deployment.apps/nginx-deployment scaled");
    assert_eq!(s.get_json(&["get", "deploy", "nginx-deployment"])["spec"]["replicas"], 5);
    s.kubectl(&["patch", "deployment", "nginx-deployment", "--type", "merge", "-p", "{\"spec\":{\"minReadySeconds\":3}}"]);
    s.kubectl(&["patch", "deployment", "nginx-deployment", "--type", "json", "-p", "[{\"op\":\"replace\",\"path\":\"/spec/revisionHistoryLimit\",\"value\":4}]"]);
    s.kubectl(&["patch", "deployment", "nginx-deployment", "--type", "strategic", "-p", "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"sidecar\",\"image\":\"busybox:1.35\"}]}}}}"]);
    let d = s.get_json(&["get", "deploy", "nginx-deployment"]);
    assert_eq!(d["spec"]["minReadySeconds"], 3);
    assert_eq!(d["spec"]["revisionHistoryLimit"], 4);
    let names: Vec<&str> = d["spec"]["template"]["spec"]["containers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"nginx") && names.contains(&"sidecar"), "{names:?}");
    let sel = s.kubectl(&["get", "deploy", "-l", "app=nginx,tier in (frontend)", "-o", "name"]);
    assert_eq!(sel.trim(), "deployment.apps/nginx-deployment");
    let none = s.kubectl(&["get", "deploy", "-l", "tier in (backend)", "-o", "name"]);
    assert_eq!(none.trim(), "");
    let by_field = s.kubectl(&["get", "deploy", "--field-selector", "metadata.name=nginx-deployment", "-o", "name"]);
    assert_eq!(by_field.trim(), "deployment.apps/nginx-deployment");
    let explain = s.kubectl(&["explain", "deployment.spec.replicas"]);
    assert!(explain.contains("KIND:") && explain.contains("Deployment") && explain.contains("replicas"), "{explain}");
    let out = s.kubectl(&["delete", "-f", &path("nginx-deployment.yaml")]);
    assert_eq!(out.trim(), "deployment.apps \"nginx-deployment\" deleted");
    let err = s.kubectl_err(KUBECTL_133, &["get", "deploy", "nginx-deployment"]);
    assert!(err.contains("NotFound"), "{err}");
}

#[test]
fn events_written_through_events_k8s_io_show_in_describe() {
    let s = Apiserver::start();
    s.kubectl(&["create", "configmap", "watched"]);
    let cm = s.get_json(&["get", "configmap", "watched"]);
    let event = serde_json::json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "watched.1", "namespace": "default"},
        "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "rkube.io/test", "reportingInstance": "test-1",
        "action": "Checked", "reason": "Checked", "type": "Normal", "note": "looked at it",
        "regarding": {"kind": "ConfigMap", "namespace": "default", "name": "watched", "uid": cm["metadata"]["uid"], "apiVersion": "v1"},
    });
    let out = std::process::Command::new("curl")
        .args(["-sS", "-X", "POST", "-H", "Content-Type: application/json", "--data", &event.to_string(), &format!("http://{}/apis/events.k8s.io/v1/namespaces/default/events", s.addr)])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"note\":\"looked at it\""), "{}", String::from_utf8_lossy(&out.stdout));
    let events = s.kubectl(&["get", "events"]);
    assert!(events.contains("Checked") && events.contains("configmap/watched") && events.contains("looked at it"), "{events}");
    let describe = s.kubectl(&["describe", "configmap", "watched"]);
    assert!(describe.contains("Events:") && describe.contains("looked at it"), "{describe}");
}

#[test]
fn priority_classes_set_pod_priority() {
    let s = Apiserver::start();
    let pcs = s.kubectl(&["get", "priorityclasses", "-o", "name"]);
    assert!(pcs.contains("priorityclass.scheduling.k8s.io/system-node-critical"), "{pcs}");
    s.kubectl(&["create", "priorityclass", "high", "--value=1000"]);
    let pod = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{\"priorityClassName\":\"high\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox:1.35\"}]}}";
    let out = s.kubectl_with(KUBECTL_133, &["create", "-f", "-"], Some(pod));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(s.kubectl(&["get", "pod", "p", "-o", "jsonpath={.spec.priority}"]), "1000");
    let missing = pod.replace("\"high\"", "\"nope\"").replace("\"p\"", "\"q\"");
    let out = s.kubectl_with(KUBECTL_133, &["create", "-f", "-"], Some(&missing));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pods \"q\" is forbidden: no PriorityClass with name nope was found"));
}

#[test]
fn service_type_changes_allocate_and_free_node_ports() {
    let s = Apiserver::start();
    let node_port = |name: &str| s.get_json(&["get", "svc", name])["spec"]["ports"][0]["nodePort"].as_u64();
    s.kubectl(&["create", "service", "clusterip", "web", "--tcp=80:80"]);
    assert_eq!(node_port("web"), None);
    s.kubectl(&["patch", "svc", "web", "-p", r#"{"spec":{"type":"NodePort"}}"#]);
    let port = node_port("web").expect("a NodePort service gets a node port on update");
    assert!((30000..=32767).contains(&port), "{port}");
    s.kubectl(&["patch", "svc", "web", "-p", r#"{"spec":{"type":"LoadBalancer","externalTrafficPolicy":"Local"}}"#]);
    let svc = s.get_json(&["get", "svc", "web"]);
    assert_eq!(svc["spec"]["ports"][0]["nodePort"].as_u64(), Some(port), "the node port is kept: {svc}");
    let health = svc["spec"]["healthCheckNodePort"].as_u64().expect("LoadBalancer + Local gets a healthCheckNodePort");
    s.kubectl(&["patch", "svc", "web", "-p", r#"{"spec":{"type":"ClusterIP","externalTrafficPolicy":null}}"#]);
    assert_eq!(node_port("web"), None);
    // Both ports went back to the pool: another service can ask for them by number.
    let p = port.to_string();
    s.kubectl(&["create", "service", "nodeport", "again", "--tcp=81:81", &format!("--node-port={p}")]);
    assert_eq!(node_port("again"), Some(port));
    let taken = s.kubectl_err(rkube_integration_tests::KUBECTL_133, &["create", "service", "nodeport", "dup", "--tcp=82:82", &format!("--node-port={p}")]);
    assert!(taken.contains(&format!("spec.ports[0].nodePort: Invalid value: {p}: provided port is already allocated")), "{taken}");
    let h = health.to_string();
    s.kubectl(&["patch", "svc", "again", "--type=json", "-p", &format!(r#"[{{"op":"replace","path":"/spec/ports/0/nodePort","value":{h}}}]"#)]);
    assert_eq!(node_port("again"), Some(health));
}
