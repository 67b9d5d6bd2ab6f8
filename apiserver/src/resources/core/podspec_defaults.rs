//! PodSpec defaulting shared by Pods, PodTemplates and ReplicationControllers (upstream
//! `SetDefaults_PodSpec`, `SetDefaults_Container`, `SetDefaults_Volume`, `SetDefaults_Probe`,
//! ... and the declarative `+default` markers of core/v1), plus the Pod-only
//! `SetDefaults_Pod`.

use serde_json::{json, Map, Value};

use super::quantity::canonicalize_list;
use super::util::{child_obj, each_in, each_item, set_default, set_default_str};

/// Default mode of secret, configMap, downwardAPI and projected volumes (0644).
pub const DEFAULT_VOLUME_MODE: i64 = 420;

/// Every member of a VolumeSource, in upstream's validation order.
pub const VOLUME_SOURCES: &[&str] = &[
    "emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret", "nfs", "iscsi",
    "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "downwardAPI", "fc",
    "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
    "projected", "scaleIO", "storageos", "csi", "ephemeral", "image",
];
/// Applies upstream's PodSpec defaults (used for pods and pod templates alike).
pub fn default_pod_spec(spec: &mut Value) {
    let Some(m) = spec.as_object_mut() else { return };
    set_default_str(m, "dnsPolicy", "ClusterFirst");
    set_default_str(m, "restartPolicy", "Always");
    set_default(m, "securityContext", json!({}));
    set_default(m, "terminationGracePeriodSeconds", json!(30));
    set_default_str(m, "schedulerName", "default-scheduler");
    // The v1 conversion keeps the deprecated `serviceAccount` alias in step.
    let alias = m.get("serviceAccount").and_then(Value::as_str).unwrap_or("").to_string();
    if !alias.is_empty() {
        set_default_str(m, "serviceAccountName", &alias);
    }
    sync_service_account_alias(m);
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        each_item(spec, key, default_container);
    }
    each_item(spec, "volumes", default_volume);
}

/// Mirrors `serviceAccountName` into the deprecated `serviceAccount` field, as the v1
/// conversion does on output.
pub fn sync_service_account_alias(spec: &mut Map<String, Value>) {
    if let Some(name) = spec.get("serviceAccountName").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        let name = name.to_string();
        spec.insert("serviceAccount".into(), Value::String(name));
    }
}

/// Upstream `SetDefaults_Pod`: requests from limits, enableServiceLinks, host-network ports.
pub fn default_pod_only(spec: &mut Value) {
    for key in ["containers", "initContainers"] {
        each_item(spec, key, requests_from_limits);
    }
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    if let Some(m) = spec.as_object_mut() {
        set_default(m, "enableServiceLinks", json!(true));
    }
    if host_network {
        for key in ["containers", "initContainers"] {
            each_item(spec, key, host_ports);
        }
    }
}

/// With host networking every container port is also a host port.
fn host_ports(c: &mut Map<String, Value>) {
    each_in(c, "ports", |p| {
        if p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0 {
            let port = p.get("containerPort").cloned().unwrap_or(json!(0));
            p.insert("hostPort".into(), port);
        }
    });
}

fn requests_from_limits(c: &mut Map<String, Value>) {
    let Some(res) = c.get_mut("resources").and_then(Value::as_object_mut) else { return };
    let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() else { return };
    let requests = res.entry("requests").or_insert_with(|| json!({}));
    if let Some(req) = requests.as_object_mut() {
        for (k, v) in limits {
            req.entry(k).or_insert(v);
        }
    }
}

/// Upstream `SetDefaults_Container` plus the nested probe, port, env and resource defaults.
pub fn default_container(c: &mut Map<String, Value>) {
    let image = c.get("image").and_then(Value::as_str).unwrap_or("").to_string();
    set_default_str(c, "imagePullPolicy", default_pull_policy(&image));
    set_default_str(c, "terminationMessagePath", "/dev/termination-log");
    set_default_str(c, "terminationMessagePolicy", "File");
    let res = c.entry("resources").or_insert_with(|| json!({}));
    if res.is_null() {
        *res = json!({});
    }
    canonicalize_list(res.get_mut("limits"));
    canonicalize_list(res.get_mut("requests"));
    each_in(c, "ports", |p| set_default_str(p, "protocol", "TCP"));
    each_in(c, "env", default_env_var);
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            default_probe(p);
        }
    }
    for hook in ["postStart", "preStop"] {
        let handler = c.get_mut("lifecycle").and_then(|l| l.get_mut(hook)).and_then(|h| h.get_mut("httpGet"));
        if let Some(h) = handler.and_then(Value::as_object_mut) {
            default_http_get(h);
        }
    }
}

/// `IfNotPresent`, or `Always` when the image has the `latest` tag or no tag and no digest
/// (upstream `parsers.ParseImageName`).
pub fn default_pull_policy(image: &str) -> &'static str {
    if image.is_empty() {
        return "IfNotPresent";
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, d),
        None => (image, ""),
    };
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    let tag = last_segment.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
    if tag == "latest" || (tag.is_empty() && digest.is_empty()) {
        "Always"
    } else {
        "IfNotPresent"
    }
}

fn default_env_var(e: &mut Map<String, Value>) {
    if let Some(f) = e.get_mut("valueFrom").and_then(|v| v.get_mut("fieldRef")).and_then(Value::as_object_mut) {
        set_default_str(f, "apiVersion", "v1");
    }
}

/// Upstream `SetDefaults_Probe` (and its handler's defaults).
pub fn default_probe(p: &mut Map<String, Value>) {
    for (key, value) in [("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)] {
        if p.get(key).and_then(Value::as_i64).unwrap_or(0) == 0 {
            p.insert(key.into(), json!(value));
        }
    }
    if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
        default_http_get(h);
    }
    if let Some(g) = p.get_mut("grpc").and_then(Value::as_object_mut) {
        set_default(g, "service", json!(""));
    }
}

fn default_http_get(h: &mut Map<String, Value>) {
    set_default_str(h, "path", "/");
    set_default_str(h, "scheme", "HTTP");
}

/// Upstream `SetDefaults_Volume` and the defaults of each volume source.
pub fn default_volume(vol: &mut Map<String, Value>) {
    if !VOLUME_SOURCES.iter().any(|k| vol.get(*k).is_some_and(|v| !v.is_null())) {
        vol.insert("emptyDir".into(), json!({}));
    }
    for key in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(src) = vol.get_mut(key).and_then(Value::as_object_mut) {
            set_default(src, "defaultMode", json!(DEFAULT_VOLUME_MODE));
        }
    }
    if let Some(h) = vol.get_mut("hostPath").and_then(Value::as_object_mut) {
        set_default(h, "type", json!(""));
    }
    if let Some(d) = vol.get_mut("downwardAPI") {
        each_item(d, "items", default_downward_item);
    }
    if let Some(p) = vol.get_mut("projected") {
        each_item(p, "sources", default_projection);
    }
    if let Some(e) = vol.get_mut("emptyDir").and_then(Value::as_object_mut) {
        canonicalize_emptydir(e);
    }
    if let Some(spec) = vol.get_mut("ephemeral").and_then(|e| e.pointer_mut("/volumeClaimTemplate/spec")) {
        default_pvc_spec(spec);
    }
}

fn canonicalize_emptydir(e: &mut Map<String, Value>) {
    if let Some(v) = e.get_mut("sizeLimit") {
        if let Some(q) = super::quantity::Quantity::from_json(v) {
            *v = Value::String(q.canonical());
        }
    }
}

fn default_downward_item(item: &mut Map<String, Value>) {
    if let Some(f) = item.get_mut("fieldRef").and_then(Value::as_object_mut) {
        set_default_str(f, "apiVersion", "v1");
    }
}

fn default_projection(src: &mut Map<String, Value>) {
    if let Some(t) = src.get_mut("serviceAccountToken").and_then(Value::as_object_mut) {
        set_default(t, "expirationSeconds", json!(3600));
    }
    if let Some(d) = src.get_mut("downwardAPI") {
        each_item(d, "items", default_downward_item);
    }
}

/// Upstream `SetDefaults_PersistentVolumeClaimSpec`: volumeMode Filesystem, canonical
/// resource quantities.
pub fn default_pvc_spec(spec: &mut Value) {
    let Some(m) = spec.as_object_mut() else { return };
    set_default(m, "volumeMode", json!("Filesystem"));
    if let Some(res) = child_obj(spec, "resources") {
        canonicalize_list(res.get_mut("requests"));
        canonicalize_list(res.get_mut("limits"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_follows_the_tag() {
        assert_eq!(default_pull_policy("nginx"), "Always");
        assert_eq!(default_pull_policy("nginx:latest"), "Always");
        assert_eq!(default_pull_policy("nginx:1.25"), "IfNotPresent");
        assert_eq!(default_pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(default_pull_policy("localhost:5000/nginx:v1"), "IfNotPresent");
        assert_eq!(default_pull_policy("nginx@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn pod_spec_defaults() {
        let mut spec = json!({
            "serviceAccount": "builder",
            "containers": [{
                "name": "c", "image": "nginx",
                "ports": [{"containerPort": 80}],
                "resources": {"limits": {"cpu": "0.5"}},
                "livenessProbe": {"httpGet": {"port": 80}},
                "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
            }],
            "volumes": [{"name": "a"}, {"name": "b", "secret": {"secretName": "s"}}, {"name": "h", "hostPath": {"path": "/x"}}]
        });
        default_pod_spec(&mut spec);
        default_pod_only(&mut spec);
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["terminationGracePeriodSeconds"], 30);
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["securityContext"], json!({}));
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["serviceAccountName"], "builder");
        let c = &spec["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["terminationMessagePolicy"], "File");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["resources"], json!({"limits": {"cpu": "500m"}, "requests": {"cpu": "500m"}}));
        assert_eq!(
            c["livenessProbe"],
            json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
        assert_eq!(spec["volumes"][0]["emptyDir"], json!({}));
        assert_eq!(spec["volumes"][1]["secret"]["defaultMode"], 420);
        assert_eq!(spec["volumes"][2]["hostPath"]["type"], "");
    }

    #[test]
    fn host_network_copies_container_ports() {
        let mut spec = json!({"hostNetwork": true, "containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]});
        default_pod_only(&mut spec);
        assert_eq!(spec["containers"][0]["ports"][0]["hostPort"], 8080);
    }
}
