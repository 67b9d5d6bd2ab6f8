//! rkube's kubectl against the real kubectl 1.33 on the same apiserver: the seed's commands
//! run by both (each in its own namespace) must print the same stdout and stderr and exit
//! alike, once ages, cluster IPs, UIDs, resource versions and timestamps are normalized; and
//! client-side apply of an edited Deployment must leave the object exactly as the real
//! kubectl leaves it.

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

fn is_age(tok: &str) -> bool {
    let mut digits = false;
    let mut units = 0;
    for c in tok.chars() {
        if c.is_ascii_digit() {
            digits = true;
        } else if "smhdy".contains(c) && digits {
            units += 1;
            digits = false;
        } else {
            return false;
        }
    }
    units > 0 && !digits
}

fn replace_spans(s: &str, token: &str, is_match: impl Fn(&str) -> Option<usize>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < s.len() {
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'-');
        if boundary {
            if let Some(len) = is_match(&s[i..]) {
                out.push_str(token);
                i += len;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn ipv4_len(s: &str) -> Option<usize> {
    let mut len = 0;
    for part in 0..4 {
        let d = s[len..].bytes().take_while(u8::is_ascii_digit).count();
        if d == 0 || d > 3 {
            return None;
        }
        len += d;
        if part < 3 {
            if s.as_bytes().get(len) != Some(&b'.') {
                return None;
            }
            len += 1;
        }
    }
    Some(len)
}

fn uuid_len(s: &str) -> Option<usize> {
    let groups = [8, 4, 4, 4, 12];
    let mut len = 0;
    for (i, g) in groups.iter().enumerate() {
        let h = s[len..].bytes().take_while(u8::is_ascii_hexdigit).count();
        if h != *g {
            return None;
        }
        len += h;
        if i < 4 {
            if s.as_bytes().get(len) != Some(&b'-') {
                return None;
            }
            len += 1;
        }
    }
    Some(len)
}

fn timestamp_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:ddZ";
    if b.len() < shape.len() {
        return None;
    }
    for (c, want) in b.iter().zip(shape) {
        let ok = if *want == b'd' { c.is_ascii_digit() } else { c == want };
        if !ok {
            return None;
        }
    }
    Some(shape.len())
}

fn rfc1123_len(s: &str) -> Option<usize> {
    // "Wed, 25 Nov 2026 15:21:17 +0000"
    let b = s.as_bytes();
    if b.len() < 31 || b[3] != b',' || b[4] != b' ' || b[19] != b':' || b[25] != b' ' || !(b[26] == b'+' || b[26] == b'-') {
        return None;
    }
    Some(31)
}

fn resource_version_values(s: &str) -> String {
    let mut out = Vec::new();
    for line in s.lines() {
        let l = if let Some(pos) = line.find("resourceVersion") {
            let (head, tail) = line.split_at(pos);
            let digits_start = tail.find(|c: char| c.is_ascii_digit());
            match digits_start {
                Some(d) if tail[..d].chars().all(|c| c.is_alphabetic() || "\": ".contains(c)) => {
                    let rest = &tail[d..];
                    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                    format!("{head}{}RV{}", &tail[..d], &rest[n..])
                }
                _ => line.to_string(),
            }
        } else {
            line.to_string()
        };
        out.push(l);
    }
    let mut joined = out.join("\n");
    if s.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

/// Normalizes generated values; returns the text and whether anything was replaced.
fn normalize(s: &str, ns: &str) -> (String, bool) {
    let mut t = s.replace(ns, "NS");
    t = replace_spans(&t, "<TS>", timestamp_len);
    t = replace_spans(&t, "<DATE>", rfc1123_len);
    t = replace_spans(&t, "<UID>", uuid_len);
    t = replace_spans(&t, "<IP>", ipv4_len);
    t = resource_version_values(&t);
    let mut changed = t.contains("<IP>") || t.contains("<UID>");
    let words: Vec<String> = t
        .split_inclusive(|c: char| c.is_whitespace())
        .map(|w| {
            let core = w.trim_end();
            if is_age(core) {
                changed = true;
                format!("<AGE>{}", &w[core.len()..])
            } else {
                w.to_string()
            }
        })
        .collect();
    (words.concat(), changed)
}

fn collapse(s: &str) -> String {
    s.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n")
}

fn same(a: &str, a_ns: &str, b: &str, b_ns: &str) -> bool {
    let (na, ca) = normalize(a, a_ns);
    let (nb, cb) = normalize(b, b_ns);
    na == nb || ((ca || cb) && collapse(&na) == collapse(&nb))
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
        let ok = same(&real.out, real_ns, &mine.out, our_ns) && same(&real.err, real_ns, &mine.err, our_ns) && real.code == mine.code;
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
    assert!(is_age("5m") && is_age("3h2m") && is_age("10s") && !is_age("80/TCP") && !is_age("v1") && !is_age("1"));
    let (n, changed) = normalize("web   10.96.0.1   5m\n  uid: 0b3d2ebc-7bd2-4d17-bb9b-2c1cd8897f06\n  resourceVersion: \"27\"\n", "x");
    assert!(changed);
    assert_eq!(n, "web   <IP>   <AGE>\n  uid: <UID>\n  resourceVersion: \"RV\"\n");
    assert_eq!(shell_words("a 'b c' --x={.a}"), vec!["a", "b c", "--x={.a}"]);
}
