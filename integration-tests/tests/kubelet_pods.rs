//! Pods made real by the kubelet through containerd: IPs, init containers, env and volumes
//! from ConfigMaps and Secrets (updated in place), crash-loop back-off, probes and graceful
//! deletion with preStop. Pods are created with spec.nodeName (no scheduler needed).

use std::time::{Duration, Instant};

use rkube_integration_tests::kubelet::{node_available, wait_for, KubeletNode};
use rkube_integration_tests::{fixture, Apiserver};
use serde_json::Value;

fn running(p: &Value) -> bool {
    p["status"]["phase"] == "Running"
}

fn condition(p: &Value, t: &str) -> String {
    p["status"]["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == t).and_then(|c| c["status"].as_str()).unwrap_or("").to_string()
}

fn restarts(p: &Value) -> i64 {
    p["status"]["containerStatuses"][0]["restartCount"].as_i64().unwrap_or(0)
}

fn setup(name: &str) -> Option<(Apiserver, KubeletNode)> {
    if !node_available() {
        return None;
    }
    let api = Apiserver::start();
    let node = KubeletNode::start(&api, name);
    wait_for(Duration::from_secs(30), "node registered", || api.try_get_json(&["get", "node", name]));
    Some((api, node))
}

#[test]
fn pods_run_with_ips_init_order_env_and_volumes() {
    let Some((api, node)) = setup("node-p") else { return };
    let cfg = fixture("game-config").display().to_string();
    api.kubectl(&["create", "configmap", "game-config", &format!("--from-file={cfg}")]);
    api.kubectl(&["create", "configmap", "settings", "--from-literal=mode=fast", "--from-literal=level=3"]);
    api.kubectl(&["create", "secret", "generic", "creds", "--from-literal=password=s3cret"]);
    api.apply_yaml(
        r#"apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: node-p
  containers:
  - name: httpd
    image: busybox:1.35
    command: [httpd, -f, -p, "8080", -h, /var/www]
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  nodeName: node-p
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox:1.35, command: [sleep, "3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  nodeName: node-p
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: first, image: busybox:1.35, command: [sh, -c, "echo one > /work/order"], volumeMounts: [{name: work, mountPath: /work}]}
  - {name: second, image: busybox:1.35, command: [sh, -c, "echo two >> /work/order"], volumeMounts: [{name: work, mountPath: /work}]}
  containers:
  - name: main
    image: busybox:1.35
    command: [sh, -c, "cat /work/order; sleep 3600"]
    env:
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MY_NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: GREETING, value: "mode is $(MODE)"}
    envFrom:
    - {configMapRef: {name: settings}, prefix: S_}
    resources: {limits: {memory: 64Mi, cpu: 250m}}
    volumeMounts:
    - {name: work, mountPath: /work}
    - {name: game, mountPath: /etc/game}
    - {name: secret, mountPath: /etc/secret}
    - {name: info, mountPath: /etc/info}
  volumes:
  - {name: work, emptyDir: {}}
  - {name: game, configMap: {name: game-config}}
  - {name: secret, secret: {secretName: creds}}
  - name: info
    projected:
      sources:
      - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
      - configMap: {name: settings, items: [{key: mode, path: mode}]}
"#,
    );
    let web = api.wait_pod("web", Duration::from_secs(60), "Running", running);
    let app = api.wait_pod("app", Duration::from_secs(60), "Running", running);
    let (ip_web, ip_app) = (web["status"]["podIP"].as_str().unwrap(), app["status"]["podIP"].as_str().unwrap());
    assert!(ip_web.starts_with("10.244.1.") && ip_app.starts_with("10.244.1.") && ip_web != ip_app, "{ip_web} {ip_app}");
    assert_eq!(web["status"]["podIPs"][0]["ip"], ip_web);
    assert_eq!(web["status"]["hostIP"], node.kubelet_ip());
    assert_eq!(web["status"]["qosClass"], "BestEffort");
    assert_eq!(app["status"]["qosClass"], "Burstable");
    for c in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
        assert_eq!(condition(&app, c), "True", "{c}: {}", app["status"]);
    }
    assert_eq!(app["status"]["initContainerStatuses"][1]["state"]["terminated"]["reason"], "Completed");
    let started = &app["status"]["containerStatuses"][0];
    assert_eq!((started["ready"].as_bool(), started["started"].as_bool()), (Some(true), Some(true)));
    assert!(started["containerID"].as_str().unwrap().starts_with("containerd://"));

    let hostnet = api.wait_pod("hostnet", Duration::from_secs(60), "Running", running);
    assert_eq!(hostnet["status"]["podIP"], node.kubelet_ip(), "host-network pods have the node's IP");

    let events = api.get_json(&["get", "events"]);
    let reasons: Vec<String> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["involvedObject"]["name"] == "app")
        .filter_map(|e| e["reason"].as_str().map(str::to_string))
        .collect();
    for r in ["Pulled", "Created", "Started"] {
        assert!(reasons.iter().any(|x| x == r), "no {r} event for app: {reasons:?}");
    }

    // The pod network answers inside the node's namespace.
    let out = node.in_netns(&["curl", "-s", "-m", "5", &format!("http://{ip_web}:8080/index.html")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello from busybox httpd");

    let logs = wait_for(Duration::from_secs(10), "init output", || Some(api.kubectl(&["logs", "app", "-c", "main"])).filter(|l| l.contains("two")));
    assert_eq!(logs, "one\ntwo\n", "init containers ran in order");
    let env = api.kubectl(&["exec", "app", "-c", "main", "--", "sh", "-c", "tr '\\0' '\\n' < /proc/1/environ | sort"]);
    for want in [
        "PASSWORD=s3cret".to_string(),
        "MODE=fast".into(),
        format!("MY_IP={ip_app}"),
        "MY_NODE=node-p".into(),
        "MEM_MI=64".into(),
        "GREETING=mode is fast".into(),
        "S_mode=fast".into(),
        "S_level=3".into(),
        "KUBERNETES_SERVICE_HOST=10.96.0.1".into(),
    ] {
        assert!(env.lines().any(|l| l == want), "{want} missing from\n{env}");
    }
    let game = api.kubectl(&["exec", "app", "-c", "main", "--", "cat", "/etc/game/game.properties"]);
    assert_eq!(game, std::fs::read_to_string(fixture("game-config").join("game.properties")).unwrap());
    assert_eq!(api.kubectl(&["exec", "app", "-c", "main", "--", "cat", "/etc/secret/password"]), "s3cret");
    assert_eq!(api.kubectl(&["exec", "app", "-c", "main", "--", "cat", "/etc/info/name", "/etc/info/mode"]), "appfast");

    // Changing the ConfigMap updates the mounted file in place.
    let updated = api.kubectl(&["create", "configmap", "game-config", "--from-literal=game.properties=lives=99", "--dry-run=client", "-o", "yaml"]);
    let out = api.kubectl_with(rkube_integration_tests::KUBECTL_133, &["replace", "-f", "-"], Some(&updated));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t = Instant::now();
    wait_for(Duration::from_secs(45), "configmap volume update", || {
        let now = api.kubectl(&["exec", "app", "-c", "main", "--", "cat", "/etc/game/game.properties"]);
        (now == "lives=99").then_some(())
    });
    eprintln!("configmap update reached the container in {:?}", t.elapsed());
    let files = api.kubectl(&["exec", "app", "-c", "main", "--", "ls", "/etc/game"]);
    assert_eq!(files.trim(), "game.properties", "ui.properties was removed with the key");
}

#[test]
fn crash_loop_back_off_liveness_and_readiness() {
    let Some((api, _node)) = setup("node-c") else { return };
    api.apply_yaml(
        r#"apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  nodeName: node-c
  containers:
  - {name: c, image: busybox:1.35, command: [sh, -c, "echo crashing; exit 1"]}
---
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  nodeName: node-c
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.35
    command: [sh, -c, "touch /tmp/healthy; sleep 4; rm /tmp/healthy; sleep 3600"]
    livenessProbe: {exec: {command: [cat, /tmp/healthy]}, periodSeconds: 1, failureThreshold: 2}
---
apiVersion: v1
kind: Pod
metadata: {name: unready}
spec:
  nodeName: node-c
  containers:
  - name: c
    image: busybox:1.35
    command: [httpd, -f, -p, "8080", -h, /var/www]
    readinessProbe: {httpGet: {path: /missing.html, port: 8080}, periodSeconds: 1}
    livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
"#,
    );
    // Restarts: the first at once, then after 10 s, then after 20 s.
    let start = Instant::now();
    let mut seen: Vec<(i64, Duration)> = vec![];
    wait_for(Duration::from_secs(70), "three restarts of crash", || {
        let p = api.try_get_json(&["get", "pod", "crash"])?;
        let n = restarts(&p);
        if seen.last().map(|(c, _)| *c) != Some(n) {
            seen.push((n, start.elapsed()));
        }
        (n >= 3).then_some(())
    });
    let at = |n: i64| seen.iter().find(|(c, _)| *c >= n).map(|(_, t)| *t).unwrap();
    let (gap2, gap3) = (at(2) - at(1), at(3) - at(2));
    eprintln!("restart times: {seen:?}; gaps {gap2:?} then {gap3:?}");
    assert!(gap2 >= Duration::from_secs(8), "second restart waited {gap2:?}");
    assert!(gap3 >= gap2 + Duration::from_secs(5), "back-off did not grow: {gap2:?} then {gap3:?}");
    let p = api.wait_pod("crash", Duration::from_secs(20), "CrashLoopBackOff", |p| {
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    });
    let cs = &p["status"]["containerStatuses"][0];
    assert!(cs["state"]["waiting"]["message"].as_str().unwrap().starts_with("back-off "), "{cs}");
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
    let table = api.kubectl(&["get", "pod", "crash"]);
    assert!(table.contains("CrashLoopBackOff"), "{table}");

    let live = api.wait_pod("live", Duration::from_secs(40), "a liveness restart", |p| restarts(p) >= 1);
    assert_eq!(live["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"], 137);

    let unready = api.wait_pod("unready", Duration::from_secs(30), "running", running);
    std::thread::sleep(Duration::from_secs(4));
    let unready = api.try_get_json(&["get", "pod", "unready"]).unwrap_or(unready);
    assert_eq!(unready["status"]["phase"], "Running");
    assert_eq!(unready["status"]["containerStatuses"][0]["ready"], false);
    assert_eq!(condition(&unready, "Ready"), "False");
    assert_eq!(restarts(&unready), 0, "a passing liveness probe restarts nothing");
}

#[test]
fn graceful_deletion_runs_pre_stop_then_removes_the_pod() {
    let Some((api, node)) = setup("node-d") else { return };
    let marker = node.dir.path().join("prestop");
    std::fs::create_dir_all(&marker).unwrap();
    api.apply_yaml(&format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: bye}}
spec:
  nodeName: node-d
  terminationGracePeriodSeconds: 20
  containers:
  - name: c
    image: busybox:1.35
    command: [sh, -c, "trap 'echo term > /out/term; exit 0' TERM; while true; do sleep 0.2; done"]
    lifecycle:
      preStop: {{exec: {{command: [sh, -c, "echo prestop > /out/prestop"]}}}}
    volumeMounts: [{{name: out, mountPath: /out}}]
  volumes:
  - {{name: out, hostPath: {{path: {}, type: Directory}}}}
"#,
        marker.display()
    ));
    api.wait_pod("bye", Duration::from_secs(60), "Running", running);
    let t = Instant::now();
    api.kubectl(&["delete", "pod", "bye", "--wait=true", "--timeout=60s"]);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(15), "deletion took {took:?}: SIGTERM was not delivered in time");
    assert_eq!(std::fs::read_to_string(marker.join("prestop")).unwrap_or_default().trim(), "prestop");
    assert_eq!(std::fs::read_to_string(marker.join("term")).unwrap_or_default().trim(), "term");
    assert!(api.try_get_json(&["get", "pod", "bye"]).is_none());
}

#[test]
fn claim_volumes_mount_the_bound_host_path_volume() {
    let Some((api, node)) = setup("node-v") else { return };
    let store = node.dir.path().join("pv-data");
    api.apply_yaml(&format!(
        r#"apiVersion: v1
kind: PersistentVolume
metadata: {{name: pv-data}}
spec:
  capacity: {{storage: 1Gi}}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  claimRef: {{namespace: default, name: data}}
  hostPath: {{path: {}, type: DirectoryOrCreate}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 1Gi}}}}
  storageClassName: ""
  volumeName: pv-data
---
apiVersion: v1
kind: Pod
metadata: {{name: writer}}
spec:
  nodeName: node-v
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox:1.35
    command: [sh, -c, "echo written-by-pod > /data/out.txt; sleep 3600"]
    volumeMounts: [{{name: d, mountPath: /data}}]
  volumes:
  - {{name: d, persistentVolumeClaim: {{claimName: data}}}}
"#,
        store.display()
    ));
    // Until the claim is Bound the kubelet refuses to mount it, as upstream does.
    std::thread::sleep(Duration::from_secs(3));
    let pending = api.get_json(&["get", "pod", "writer"]);
    assert_ne!(pending["status"]["phase"], "Running", "{pending}");
    assert!(!store.join("out.txt").exists());
    // What the PV binder writes once it has matched the pair.
    api.kubectl(&["patch", "pvc", "data", "--subresource=status", "--type=merge", "-p", r#"{"status":{"phase":"Bound"}}"#]);
    api.wait_pod("writer", Duration::from_secs(60), "Running", running);
    wait_for(Duration::from_secs(10), "the file on the host", || std::fs::read_to_string(store.join("out.txt")).ok().filter(|s| !s.is_empty()))
        .trim()
        .eq("written-by-pod")
        .then_some(())
        .expect("the pod's write reached the PV's host path");
}

#[test]
fn host_port_reaches_the_pod_through_portmap() {
    let Some((api, node)) = setup("node-h") else { return };
    api.apply_yaml(
        r#"apiVersion: v1
kind: Pod
metadata: {name: hp}
spec:
  nodeName: node-h
  terminationGracePeriodSeconds: 0
  containers:
  - name: httpd
    image: busybox:1.35
    command: [httpd, -f, -p, "8080", -h, /var/www]
    ports: [{containerPort: 8080, hostPort: 18081}]
"#,
    );
    api.wait_pod("hp", Duration::from_secs(60), "Running", running);
    // The node's address on its side of the link: the pod answers on the node's hostPort.
    let node_ip = format!("169.254.{}.2", node.link);
    let url = format!("http://{node_ip}:18081/index.html");
    let body = wait_for(Duration::from_secs(15), "hostPort answers", || {
        let out = node.in_netns(&["curl", "-s", "-m", "3", &url]);
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string())
    });
    assert_eq!(body.trim(), "hello from busybox httpd");
}
