//! PersistentVolumes and claims with the controller-manager's binder and protection
//! controllers, the apiserver's StorageObjectInUseProtection admission, the
//! healthCheckNodePort of LoadBalancer/Local services and the pods/ephemeralcontainers
//! subresource, driven with the real kubectl 1.33. No kubelet runs.

use std::time::Duration;

use rkube_integration_tests::{wait_until, Apiserver, ControllerManager, KUBECTL_133};

const LIMIT: Duration = Duration::from_secs(60);

fn start() -> (Apiserver, ControllerManager) {
    let s = Apiserver::start();
    let cm = s.start_controller_manager("kube-controller-manager", &["--controllers=persistentvolume-binder,pvc-protection,pv-protection"]);
    (s, cm)
}

fn apply(s: &Apiserver, yaml: &str) -> String {
    let out = s.kubectl_with(KUBECTL_133, &["apply", "-f", "-"], Some(yaml));
    assert!(out.status.success(), "apply failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pv_yaml(name: &str, size: &str, class: &str, policy: &str) -> String {
    format!(
        "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {name}\nspec:\n  capacity:\n    storage: {size}\n  accessModes: [ReadWriteOnce]\n  storageClassName: \"{class}\"\n  persistentVolumeReclaimPolicy: {policy}\n  hostPath:\n    path: /data/{name}\n"
    )
}

fn pvc_yaml(name: &str, size: &str, class: Option<&str>) -> String {
    let class = class.map(|c| format!("  storageClassName: \"{c}\"\n")).unwrap_or_default();
    format!("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n{class}  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: {size}\n")
}

fn phase(s: &Apiserver, kind: &str, name: &str) -> String {
    let out = s.kubectl_with(KUBECTL_133, &["get", kind, name, "-o", "jsonpath={.status.phase}"], None);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_phase(s: &Apiserver, cm: &ControllerManager, kind: &str, name: &str, want: &str) {
    let ok = (0..600).any(|_| {
        if phase(s, kind, name) == want {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
        false
    });
    assert!(ok, "{kind}/{name} never became {want} (is {:?})\ncontroller-manager log:\n{}", phase(s, kind, name), tail(&cm.log()));
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The whitespace-separated columns of the table row whose first column is `name`.
fn row(table: &str, name: &str) -> Vec<String> {
    table.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap_or_else(|| panic!("no row {name} in\n{table}")).split_whitespace().map(str::to_string).collect()
}

#[test]
fn immediate_claim_binds_smallest_volume_and_release_retains_it() {
    let (s, cm) = start();
    apply(&s, &pv_yaml("pv-big", "5Gi", "", "Retain"));
    apply(&s, &pv_yaml("pv-small", "1Gi", "", "Retain"));
    apply(&s, &pv_yaml("pv-other", "1Gi", "fast", "Retain"));
    wait_phase(&s, &cm, "pv", "pv-small", "Available");
    let pv = s.get_json(&["get", "pv", "pv-small"]);
    assert_eq!(pv["metadata"]["finalizers"], serde_json::json!(["kubernetes.io/pv-protection"]));

    apply(&s, &pvc_yaml("data", "512Mi", Some("")));
    wait_phase(&s, &cm, "pvc", "data", "Bound");
    wait_phase(&s, &cm, "pv", "pv-small", "Bound");
    let table = s.kubectl(&["get", "pv,pvc"]);
    let pv_row = row(&table, "persistentvolume/pv-small");
    assert_eq!(pv_row[1..6], ["1Gi", "RWO", "Retain", "Bound", "default/data"], "{table}");
    let pvc_row = row(&table, "persistentvolumeclaim/data");
    assert_eq!(pvc_row[1..5], ["Bound", "pv-small", "1Gi", "RWO"], "{table}");
    assert_eq!(phase(&s, "pv", "pv-big"), "Available");

    let pvc = s.get_json(&["get", "pvc", "data"]);
    let pv = s.get_json(&["get", "pv", "pv-small"]);
    assert_eq!(pvc["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"], "yes");
    assert_eq!(pvc["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"], "yes");
    assert_eq!(pvc["metadata"]["finalizers"], serde_json::json!(["kubernetes.io/pvc-protection"]));
    assert_eq!(pvc["status"]["capacity"]["storage"], "1Gi");
    assert_eq!(pvc["status"]["accessModes"], serde_json::json!(["ReadWriteOnce"]));
    assert_eq!(pv["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"], "yes");
    assert_eq!(pv["spec"]["claimRef"]["uid"], pvc["metadata"]["uid"]);
    assert_eq!(pv["spec"]["claimRef"]["kind"], "PersistentVolumeClaim");

    // A bound volume cannot go while bound: its deletion waits for the claim.
    s.kubectl(&["delete", "pvc", "data", "--wait=true", "--timeout=60s"]);
    wait_phase(&s, &cm, "pv", "pv-small", "Released");
    let table = s.kubectl(&["get", "pv"]);
    assert_eq!(row(&table, "pv-small")[4..6], ["Released", "default/data"], "{table}");
    // Released volumes are not bound again.
    apply(&s, &pvc_yaml("again", "512Mi", Some("")));
    wait_phase(&s, &cm, "pvc", "again", "Bound");
    assert_eq!(s.get_json(&["get", "pvc", "again"])["spec"]["volumeName"], "pv-big");
    // Deleting a Released volume: pv-protection lets it go.
    s.kubectl(&["delete", "pv", "pv-small", "--wait=true", "--timeout=60s"]);
}

#[test]
fn prebound_claims_volumes_events_and_lost_claims() {
    let (s, cm) = start();
    // No volume and no class: the claim stays Pending with upstream's event.
    apply(&s, &pvc_yaml("lonely", "1Gi", Some("")));
    wait_until(LIMIT, "the FailedBinding event", || {
        s.kubectl(&["get", "events", "--field-selector", "involvedObject.name=lonely"]).contains("no persistent volumes available for this claim and no storage class is set")
    });
    assert_eq!(phase(&s, "pvc", "lonely"), "Pending");

    s.kubectl(&["delete", "pvc", "lonely"]);

    // A claim naming its volume gets it even though a smaller one fits.
    apply(&s, &pv_yaml("smaller", "1Gi", "", "Retain"));
    wait_phase(&s, &cm, "pv", "smaller", "Available");
    let mut claim = pvc_yaml("picky", "1Gi", Some(""));
    claim.push_str("  volumeName: wanted\n");
    apply(&s, &claim);
    apply(&s, &pv_yaml("wanted", "3Gi", "", "Retain"));
    wait_phase(&s, &cm, "pvc", "picky", "Bound");
    assert_eq!(s.get_json(&["get", "pv", "wanted"])["spec"]["claimRef"]["name"], "picky");
    assert!(s.get_json(&["get", "pvc", "picky"])["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"].is_null());

    // A volume pre-bound through claimRef goes to that claim only.
    let mut pv = pv_yaml("reserved", "1Gi", "", "Retain");
    pv.push_str("  claimRef:\n    namespace: default\n    name: owner\n");
    apply(&s, &pv);
    wait_phase(&s, &cm, "pv", "reserved", "Available");
    apply(&s, &pvc_yaml("owner", "1Gi", Some("")));
    wait_phase(&s, &cm, "pvc", "owner", "Bound");
    assert_eq!(s.get_json(&["get", "pvc", "owner"])["spec"]["volumeName"], "reserved");
    assert_eq!(phase(&s, "pv", "smaller"), "Available");

    // WaitForFirstConsumer claims are left to the scheduler.
    apply(&s, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: local\nprovisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: WaitForFirstConsumer\n");
    apply(&s, &pv_yaml("local-pv", "1Gi", "local", "Retain"));
    apply(&s, &pvc_yaml("later", "1Gi", Some("local")));
    wait_until(LIMIT, "the WaitForFirstConsumer event", || {
        s.kubectl(&["get", "events", "--field-selector", "involvedObject.name=later"]).contains("waiting for first consumer to be created before binding")
    });
    assert_eq!(phase(&s, "pvc", "later"), "Pending");
    assert_eq!(phase(&s, "pv", "local-pv"), "Available");

    // Delete policy on a volume without a deleter plugin: Failed, with upstream's message.
    apply(&s, &pv_yaml("doomed", "10Gi", "", "Delete"));
    apply(&s, &pvc_yaml("big", "10Gi", Some("")));
    wait_phase(&s, &cm, "pvc", "big", "Bound");
    s.kubectl(&["delete", "pvc", "big"]);
    wait_phase(&s, &cm, "pv", "doomed", "Failed");
    assert_eq!(
        s.get_json(&["get", "pv", "doomed"])["status"]["message"],
        "host_path deleter only supports /tmp/.+ but received provided /data/doomed"
    );

    // A claim whose volume disappears is Lost.
    s.kubectl(&["delete", "pv", "wanted", "--wait=false"]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(phase(&s, "pvc", "picky"), "Bound", "pv-protection keeps a bound volume");
    s.kubectl(&["patch", "pv", "wanted", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    wait_until(LIMIT, "pv wanted gone", || !s.kubectl(&["get", "pv"]).contains("wanted"));
    wait_phase(&s, &cm, "pvc", "picky", "Lost");
    wait_until(LIMIT, "the ClaimLost event", || {
        s.kubectl(&["get", "events", "--field-selector", "involvedObject.name=picky"]).contains("Bound claim has lost its PersistentVolume. Data on the volume is lost!")
    });
}

#[test]
fn claim_in_use_waits_for_its_pod() {
    let (s, cm) = start();
    apply(&s, &pv_yaml("vol", "1Gi", "", "Retain"));
    apply(&s, &pvc_yaml("used", "1Gi", Some("")));
    wait_phase(&s, &cm, "pvc", "used", "Bound");
    apply(
        &s,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: user\nspec:\n  nodeName: node-1\n  containers:\n  - name: c\n    image: busybox:1.35\n  volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: used\n",
    );
    s.kubectl(&["delete", "pvc", "used", "--wait=false"]);
    std::thread::sleep(Duration::from_secs(2));
    let pvc = s.get_json(&["get", "pvc", "used"]);
    assert!(pvc["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(pvc["metadata"]["finalizers"], serde_json::json!(["kubernetes.io/pvc-protection"]));
    let table = s.kubectl(&["get", "pvc"]);
    assert_eq!(row(&table, "used")[1], "Terminating", "{table}");
    // The bound volume is protected as well.
    s.kubectl(&["delete", "pv", "vol", "--wait=false"]);
    std::thread::sleep(Duration::from_secs(1));
    assert!(s.get_json(&["get", "pv", "vol"])["metadata"]["deletionTimestamp"].is_string());

    s.kubectl(&["delete", "pod", "user", "--grace-period=0", "--force"]);
    wait_until(LIMIT, "the claim to go", || !s.kubectl(&["get", "pvc"]).contains("used"));
    // Released, then no longer protected: the volume goes too.
    wait_until(LIMIT, "the volume to go", || !s.kubectl(&["get", "pv"]).contains("vol"));
}

#[test]
fn wait_for_first_consumer_binding_completed_by_the_controller() {
    let (s, cm) = start();
    apply(&s, "apiVersion: v1\nkind: Node\nmetadata: {name: a, labels: {kubernetes.io/hostname: a}}\nstatus: {capacity: {cpu: \"4\", memory: 16Gi, pods: \"110\"}, allocatable: {cpu: \"4\", memory: 16Gi, pods: \"110\"}}\n");
    apply(&s, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: local}\nprovisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: WaitForFirstConsumer\n");
    apply(
        &s,
        "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: local-a}\nspec:\n  capacity: {storage: 10Gi}\n  accessModes: [ReadWriteOnce]\n  storageClassName: local\n  local: {path: /mnt/disk}\n  nodeAffinity:\n    required:\n      nodeSelectorTerms:\n      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [a]}]\n",
    );
    apply(&s, &pvc_yaml("data", "1Gi", Some("local")));
    wait_phase(&s, &cm, "pv", "local-a", "Available");
    let _sched = s.start_scheduler("kube-scheduler", &[]);
    apply(
        &s,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: db}\nspec:\n  containers:\n  - {name: c, image: nginx}\n  volumes:\n  - name: data\n    persistentVolumeClaim: {claimName: data}\n",
    );
    wait_phase(&s, &cm, "pvc", "data", "Bound");
    wait_phase(&s, &cm, "pv", "local-a", "Bound");
    let pvc = s.get_json(&["get", "pvc", "data"]);
    assert_eq!(pvc["spec"]["volumeName"], "local-a");
    assert_eq!(pvc["status"]["capacity"]["storage"], "10Gi");
    let table = s.kubectl(&["get", "pv"]);
    assert_eq!(row(&table, "local-a")[4..7], ["Bound", "default/data", "local"], "{table}");

    // Delete policy on a local volume: no deleter plugin upstream.
    s.kubectl(&["patch", "pv", "local-a", "-p", r#"{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}"#]);
    s.kubectl(&["delete", "pod", "db", "--grace-period=0", "--force"]);
    s.kubectl(&["delete", "pvc", "data"]);
    wait_phase(&s, &cm, "pv", "local-a", "Failed");
    assert_eq!(
        s.get_json(&["get", "pv", "local-a"])["status"]["message"],
        "error getting deleter volume plugin for volume \"local-a\": no deletable volume plugin matched"
    );
}

#[test]
fn load_balancer_local_gets_a_health_check_node_port() {
    let s = Apiserver::start();
    let svc = |name: &str, extra: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: Local\n{extra}  selector:\n    app: web\n  ports:\n  - port: 80\n")
    };
    apply(&s, &svc("web", ""));
    let web = s.get_json(&["get", "svc", "web"]);
    let hc = web["spec"]["healthCheckNodePort"].as_u64().expect("healthCheckNodePort allocated");
    assert!((30000..=32767).contains(&hc), "{hc}");
    assert_ne!(web["spec"]["ports"][0]["nodePort"].as_u64(), Some(hc));
    // A requested port is honoured, and taken ports are refused.
    apply(&s, &svc("fixed", "  healthCheckNodePort: 31999\n"));
    assert_eq!(s.get_json(&["get", "svc", "fixed"])["spec"]["healthCheckNodePort"], 31999);
    let err = s.kubectl_err(KUBECTL_133, &["create", "service", "nodeport", "clash", "--tcp=80", "--node-port=31999"]);
    assert!(err.contains("provided port is already allocated"), "{err}");
    let out = s.kubectl_with(KUBECTL_133, &["apply", "-f", "-"], Some(&svc("dup", &format!("  healthCheckNodePort: {hc}\n"))));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("spec.healthCheckNodePort: Invalid value: {hc}: failed to allocate requested HealthCheck NodePort {hc}: provided port is already allocated")), "{err}");
    // Deleting the service gives the port back.
    s.kubectl(&["delete", "svc", "fixed"]);
    s.kubectl(&["create", "service", "nodeport", "reuse", "--tcp=80", "--node-port=31999"]);
    // Cluster policy: no health check port.
    apply(&s, "apiVersion: v1\nkind: Service\nmetadata:\n  name: cluster\nspec:\n  type: LoadBalancer\n  ports:\n  - port: 80\n");
    assert!(s.get_json(&["get", "svc", "cluster"])["spec"]["healthCheckNodePort"].is_null());
}

#[test]
fn ephemeral_containers_only_through_the_subresource() {
    let s = Apiserver::start();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: c\n    image: nginx\n";
    let with_ephemeral = format!("{pod}  ephemeralContainers:\n  - name: dbg\n    image: busybox:1.35\n");
    let out = s.kubectl_with(KUBECTL_133, &["create", "-f", "-"], Some(&with_ephemeral));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spec.ephemeralContainers: Forbidden: cannot be set on create"), "{err}");
    apply(&s, pod);

    // kubectl debug adds the container through pods/x/ephemeralcontainers (no kubelet runs,
    // so it cannot attach: it is run without -it and does not wait).
    let out = s.kubectl_with(KUBECTL_133, &["debug", "pod/x", "--image=busybox:1.35", "--target=c", "-c", "debugger", "--", "sleep", "1d"], None);
    assert!(out.status.success(), "kubectl debug: {}", String::from_utf8_lossy(&out.stderr));
    let p = s.get_json(&["get", "pod", "x"]);
    let ec = &p["spec"]["ephemeralContainers"][0];
    assert_eq!(ec["name"], "debugger");
    assert_eq!(ec["image"], "busybox:1.35");
    assert_eq!(ec["targetContainerName"], "c");
    assert_eq!(ec["command"], serde_json::json!(["sleep", "1d"]));

    // Raw PATCH of the subresource: ports are refused, names must be unique, existing ones
    // cannot change.
    let patch = |body: &str| s.kubectl_with(KUBECTL_133, &["patch", "pod", "x", "--subresource=ephemeralcontainers", "--type=strategic", "-p", body], None);
    let out = patch(r#"{"spec":{"ephemeralContainers":[{"name":"web","image":"nginx","ports":[{"containerPort":80}]}]}}"#);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("].ports: Forbidden: cannot be set for an Ephemeral Container"), "{err}");
    let out = patch(r#"{"spec":{"ephemeralContainers":[{"name":"c","image":"busybox:1.35"}]}}"#);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("].name: Duplicate value: \"c\""), "{err}");
    let out = patch(r#"{"spec":{"ephemeralContainers":[{"name":"debugger","image":"busybox:1.36"}]}}"#);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("existing ephemeral containers \"debugger\" may not be changed"), "{err}");
    let out = patch(r#"{"spec":{"ephemeralContainers":[{"name":"shell","image":"busybox:1.35","stdin":true,"tty":true}]}}"#);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Other fields sent to the subresource are ignored.
    let out = patch(r#"{"metadata":{"labels":{"x":"y"}},"spec":{"activeDeadlineSeconds":5}}"#);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let p = s.get_json(&["get", "pod", "x"]);
    assert_eq!(p["spec"]["ephemeralContainers"].as_array().map(Vec::len), Some(2));
    assert!(p["metadata"]["labels"].is_null() && p["spec"]["activeDeadlineSeconds"].is_null(), "{p}");
    // The main resource cannot change them.
    let out = s.kubectl_with(KUBECTL_133, &["patch", "pod", "x", "--type=json", "-p", r#"[{"op":"remove","path":"/spec/ephemeralContainers"}]"#], None);
    assert!(!out.status.success());
}
