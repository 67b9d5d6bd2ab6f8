//! rkube's kubectl against the real kubectl 1.33 on the same apiserver: the seed's commands
//! run by both (each in its own namespace) must print the same stdout and stderr and exit
//! alike, once ages, cluster IPs, UIDs, resource versions and timestamps are normalized; and
//! client-side apply of an edited Deployment must leave the object exactly as the real
//! kubectl leaves it.

use rkube_integration_tests::compare::{normalize, same};
use rkube_integration_tests::{binary, fixture, Apiserver, KUBECTL_133};

fn path(name: &str) -> String {
    fixture(name).display().to_string()
}

fn ours() -> String {
    binary("kubectl").display().to_string()
}

/// Output of one kubectl run: stdout, stderr, exit code.
struct Run {
    out: String,
    err: String,
    code: i32,
}

fn run(s: &Apiserver, kubectl: &str, args: &[String], stdin: Option<&str>) -> Run {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = s.kubectl_with(kubectl, &argv, stdin);
    Run {
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

fn command(ns: &str, args: &str) -> Vec<String> {
    let mut v = vec!["-n".to_string(), ns.to_string()];
    v.extend(shell_words(args));
    v
}

fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                any = true;
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

/// The seed's commands; `{F}` stands for the fixtures folder.
fn script() -> Vec<String> {
    let f = fixture("").display().to_string();
    let f = f.trim_end_matches('/');
    [
        "create -f {F}/nginx-deployment.yaml",
        "get deployments",
        "get deploy nginx-deployment -o wide",
        "get deploy nginx-deployment -o yaml",
        "get deploy nginx-deployment -o json",
        "get deploy -o name",
        "get deploy -o jsonpath={.items[*].spec.template.spec.containers[*].image}",
        "get deploy -o custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas,MISSING:.status.nope",
        "describe deployment nginx-deployment",
        "create configmap game-config --from-file={F}/game-config",
        "create configmap game-config-2 --from-file={F}/game-config/game.properties",
        "create configmap game-config-env-file --from-env-file={F}/game-env-file.properties",
        "create configmap special-config --from-literal=special.how=very",
        "get configmaps",
        "get configmap game-config -o yaml",
        "get configmap game-config-env-file -o yaml",
        "describe configmap game-config-2",
        "describe configmaps special-config",
        "create secret generic db-user-pass --from-literal=username=admin --from-literal=password=S!B\\*d$zDsb=",
        "create secret generic db-user-pass-file --from-file=username={F}/username.txt --from-file=password={F}/password.txt",
        "get secrets",
        "get secret db-user-pass-file -o jsonpath={.data.password}",
        "describe secret db-user-pass-file",
        "run nginx-pod --image=nginx:1.25 --port=80 --labels=app=web,tier=frontend",
        "get pods",
        "get pods -o wide",
        "get pods --show-labels",
        "get pods -L app,tier",
        "describe pod nginx-pod",
        "expose deployment nginx-deployment --port=80 --target-port=8080",
        "expose pod nginx-pod --name=nginx-pod-svc",
        "get services",
        "get svc -o wide",
        "describe service nginx-deployment",
        "scale deployment nginx-deployment --replicas=3",
        "get deploy nginx-deployment -o jsonpath={.spec.replicas}",
        "scale deployment nginx-deployment --replicas=1 --current-replicas=5",
        "rollout history deployment/nginx-deployment",
        "rollout pause deployment/nginx-deployment",
        "rollout pause deployment/nginx-deployment",
        "rollout resume deployment/nginx-deployment",
        "rollout status deployment/nginx-deployment --timeout=1s",
        "set image deployment/nginx-deployment nginx=nginx:1.25",
        "label deployment nginx-deployment tier=frontend",
        "label deployment nginx-deployment tier=backend",
        "label deployment nginx-deployment tier=backend --overwrite",
        "label deployment nginx-deployment tier-",
        "label pod nginx-pod nope-",
        "annotate deployment nginx-deployment note=hello",
        "get deploy -l app=nginx -o name",
        "get all",
        "get deploy,cm,svc",
        "logs nginx-pod",
        "exec nginx-pod -- ls /",
        "get configmap nope",
        "get foos",
        "get pods nope nginx-pod",
        "delete pod nginx-pod",
        "delete service nginx-pod-svc",
        "delete configmap game-config game-config-2",
        "delete -f {F}/nginx-deployment.yaml",
        "get deployments",
        "delete deployment nginx-deployment",
        "delete deployment nginx-deployment --ignore-not-found",
    ]
    .iter()
    .map(|c| c.replace("{F}", f))
    .collect()
}

fn sorted_lines(s: &str) -> String {
    let mut lines: Vec<&str> = s.lines().collect();
    lines.sort_unstable();
    lines.join("\n")
}

#[test]
fn seed_commands_print_like_the_real_kubectl() {
    let s = Apiserver::start();
    let (real_ns, our_ns) = ("cmp-real", "cmp-ours");
    s.kubectl(&["create", "namespace", real_ns]);
    s.kubectl(&["create", "namespace", our_ns]);
    let ours = ours();
    let mut failures = Vec::new();
    let mut succeeded = 0;
    for line in script() {
        let real = run(&s, KUBECTL_133, &command(real_ns, &line), None);
        let mine = run(&s, &ours, &command(our_ns, &line), None);
        succeeded += usize::from(real.code == 0 && !real.out.is_empty());
        let (real_out, mine_out) = if line.starts_with("describe secret") {
            // Upstream prints a Secret's data keys in Go map order, which is random.
            (sorted_lines(&real.out), sorted_lines(&mine.out))
        } else {
            (real.out.clone(), mine.out.clone())
        };
        let ok = same(&real_out, real_ns, &mine_out, our_ns) && same(&real.err, real_ns, &mine.err, our_ns) && real.code == mine.code;
        if !ok {
            failures.push(format!(
                "kubectl {line}\n--- real (exit {}):\n{}{}\n--- ours (exit {}):\n{}{}",
                real.code, real.out, real.err, mine.code, mine.out, mine.err
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} commands differ:\n\n{}", failures.len(), script().len(), failures.join("\n\n"));
    assert!(succeeded >= 45, "only {succeeded} commands printed something successfully: is the cluster reachable?");
}

const TWO_CONTAINERS: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  selector:
    matchLabels:
      app: nginx
  replicas: 2
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
        - containerPort: 443
          name: https
      - name: sidecar
        image: busybox:1.35
        args: [\"sleep\", \"3600\"]
";

/// The object as YAML with generated values normalized; managedFields entries lose their
/// times and are sorted by manager, since their order depends on which second each write
/// landed in.
fn normalized_object(s: &Apiserver, ns: &str) -> String {
    let mut obj = s.get_json(&["-n", ns, "get", "deployment", "nginx-deployment", "--show-managed-fields"]);
    if let Some(entries) = obj.pointer_mut("/metadata/managedFields").and_then(serde_json::Value::as_array_mut) {
        for e in entries.iter_mut() {
            if let Some(m) = e.as_object_mut() {
                m.remove("time");
            }
        }
        entries.sort_by_key(|e| format!("{}/{}", e["manager"], e["operation"]));
    }
    normalize(&serde_json::to_string_pretty(&obj).expect("json"), ns).0
}

#[test]
fn apply_three_way_merge_matches_the_real_kubectl() {
    let s = Apiserver::start();
    let ours = ours();
    for (ns, kubectl) in [("apply-real", KUBECTL_133), ("apply-ours", ours.as_str())] {
        s.kubectl(&["create", "namespace", ns]);
        let out = s.kubectl_with(kubectl, &["-n", ns, "apply", "-f", "-"], Some(TWO_CONTAINERS));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // Someone else changes the live object: the change must survive the re-apply.
        s.kubectl(&["-n", ns, "patch", "deployment", "nginx-deployment", "-p", r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"MODE","value":"live"}]}]}}}}"#]);
        // The edit removes the sidecar container and the https port.
        let out = s.kubectl_ok(kubectl, &["-n", ns, "apply", "-f", &path("nginx-deployment.yaml")]);
        assert_eq!(out.trim(), "deployment.apps/nginx-deployment configured");
        let out = s.kubectl_ok(kubectl, &["-n", ns, "apply", "-f", &path("nginx-deployment.yaml")]);
        assert_eq!(out.trim(), "deployment.apps/nginx-deployment unchanged");
    }
    let real = normalized_object(&s, "apply-real");
    let mine = normalized_object(&s, "apply-ours");
    assert_eq!(real, mine);
    let containers = s.get_json(&["-n", "apply-ours", "get", "deployment", "nginx-deployment"])["spec"]["template"]["spec"]["containers"].clone();
    assert_eq!(containers.as_array().map(Vec::len), Some(1), "{containers}");
    assert_eq!(containers[0]["ports"].as_array().map(Vec::len), Some(1), "{containers}");
    assert_eq!(containers[0]["env"][0]["value"], "live", "{containers}");
}

#[test]
fn server_side_apply_and_migration_match_the_real_kubectl() {
    let s = Apiserver::start();
    let ours = ours();
    for (ns, kubectl) in [("ssa-real", KUBECTL_133), ("ssa-ours", ours.as_str())] {
        s.kubectl(&["create", "namespace", ns]);
        s.kubectl_ok(kubectl, &["-n", ns, "apply", "-f", &path("nginx-deployment.yaml")]);
        let out = s.kubectl_with(kubectl, &["-n", ns, "apply", "--server-side", "-f", "-"], Some(TWO_CONTAINERS));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "deployment.apps/nginx-deployment serverside-applied");
        s.kubectl_ok(kubectl, &["-n", ns, "apply", "--server-side", "-f", &path("nginx-deployment.yaml")]);
    }
    assert_eq!(normalized_object(&s, "ssa-real"), normalized_object(&s, "ssa-ours"));
}

#[test]
fn normalization_helpers() {
    assert_eq!(shell_words("a 'b c' --x={.a}"), vec!["a", "b c", "--x={.a}"]);
}
