//! Static pods from `--pod-manifest-path` / staticPodPath: read from files, given a stable
//! UID from their content, and mirrored into the apiserver as mirror pods.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};

/// Annotation: where the pod came from ("file", "api").
pub const CONFIG_SOURCE: &str = "kubernetes.io/config.source";
/// Annotation: the static pod's hash (its UID).
pub const CONFIG_HASH: &str = "kubernetes.io/config.hash";
/// Annotation marking a mirror pod, with the static pod's hash.
pub const CONFIG_MIRROR: &str = "kubernetes.io/config.mirror";
/// Annotation: when the kubelet first saw the pod.
pub const CONFIG_SEEN: &str = "kubernetes.io/config.seen";

/// 64-bit FNV-1a.
pub fn fnv64(data: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf29ce484222325u64 ^ seed;
    for b in data {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// A stable 32-hex-digit hash of a manifest on a node (the static pod's UID).
pub fn manifest_hash(manifest: &Value, node: &str) -> String {
    let bytes = format!("{node}\n{manifest}");
    format!("{:016x}{:016x}", fnv64(bytes.as_bytes(), 0), fnv64(bytes.as_bytes(), 0x9e3779b97f4a7c15))
}

/// Turns a manifest into the static pod the kubelet runs: named `<name>-<node>`, with the
/// config annotations, bound to the node.
pub fn from_manifest(manifest: &Value, node: &str, seen: &str) -> Result<Pod, String> {
    if manifest["kind"] != "Pod" {
        return Err(format!("kind must be Pod, got {}", manifest["kind"]));
    }
    let hash = manifest_hash(manifest, node);
    let mut m = manifest.clone();
    let name = m["metadata"]["name"].as_str().ok_or("metadata.name is required")?.to_string();
    m["metadata"]["name"] = json!(format!("{name}-{node}"));
    if m["metadata"]["namespace"].as_str().unwrap_or("").is_empty() {
        m["metadata"]["namespace"] = json!("default");
    }
    m["metadata"]["uid"] = json!(hash);
    let ann = m["metadata"]["annotations"].as_object().cloned().unwrap_or_default();
    let mut ann: BTreeMap<String, Value> = ann.into_iter().collect();
    ann.insert(CONFIG_SOURCE.into(), json!("file"));
    ann.insert(CONFIG_HASH.into(), json!(hash));
    ann.insert(CONFIG_SEEN.into(), json!(seen));
    m["metadata"]["annotations"] = json!(ann);
    m["spec"]["nodeName"] = json!(node);
    serde_json::from_value(m).map_err(|e| e.to_string())
}

/// Reads every manifest (.yaml, .yml, .json) of a folder; bad files are logged and skipped.
pub fn read_dir(dir: &Path, node: &str, seen: &str) -> Vec<Pod> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    let mut pods = vec![];
    for f in files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "yaml" | "yml" | "json") || f.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        let parsed: Result<Value, String> = serde_saphyr::from_str(&text).map_err(|e| e.to_string());
        match parsed.and_then(|v| from_manifest(&v, node, seen)) {
            Ok(p) => pods.push(p),
            Err(e) => tracing::warn!(file = %f.display(), error = %e, "skipping static pod manifest"),
        }
    }
    pods
}

/// The mirror pod of a static pod: same spec and labels, marked with config.mirror and owned
/// by the Node.
pub fn mirror_of(p: &Pod, node_uid: Option<&str>) -> Value {
    let mut m = serde_json::to_value(p).unwrap_or_default();
    let hash = p.metadata.uid.clone().unwrap_or_default();
    if let Some(meta) = m["metadata"].as_object_mut() {
        meta.remove("uid");
        meta.remove("resourceVersion");
        meta.remove("creationTimestamp");
    }
    m["metadata"]["annotations"][CONFIG_MIRROR] = json!(hash);
    if let Some(uid) = node_uid {
        m["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "v1", "kind": "Node", "name": p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default(),
            "uid": uid, "controller": true,
        }]);
    }
    if let Some(o) = m.as_object_mut() {
        o.remove("status");
    }
    m["apiVersion"] = json!("v1");
    m["kind"] = json!("Pod");
    m
}

/// Whether an API pod is a mirror pod.
pub fn is_mirror(p: &Pod) -> bool {
    p.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(CONFIG_MIRROR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_pod_and_mirror() {
        let manifest = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}]}});
        let p = from_manifest(&manifest, "node1", "now").unwrap();
        assert_eq!(p.metadata.name.as_deref(), Some("web-node1"));
        assert_eq!(p.metadata.namespace.as_deref(), Some("default"));
        let uid = p.metadata.uid.clone().unwrap();
        assert_eq!(uid.len(), 32);
        assert_eq!(from_manifest(&manifest, "node1", "later").unwrap().metadata.uid.unwrap(), uid, "stable across reads");
        assert_ne!(from_manifest(&manifest, "node2", "now").unwrap().metadata.uid.unwrap(), uid);
        assert_eq!(p.spec.as_ref().unwrap().node_name.as_deref(), Some("node1"));
        let m = mirror_of(&p, Some("node-uid"));
        assert_eq!(m["metadata"]["annotations"][CONFIG_MIRROR], json!(uid));
        assert_eq!(m["metadata"]["ownerReferences"][0]["kind"], "Node");
        assert!(m["metadata"].get("uid").is_none());
        assert!(from_manifest(&json!({"kind": "Deployment"}), "n", "t").is_err());
    }

    #[test]
    fn reads_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: c\n    image: busybox:1.35\n").unwrap();
        std::fs::write(dir.path().join("bad.yaml"), "kind: [").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let pods = read_dir(dir.path(), "n", "t");
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0].metadata.name.as_deref(), Some("a-n"));
    }
}
