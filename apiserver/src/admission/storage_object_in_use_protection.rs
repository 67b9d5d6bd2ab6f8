//! StorageObjectInUseProtection admission: a new PersistentVolumeClaim gets the
//! `kubernetes.io/pvc-protection` finalizer and a new PersistentVolume the
//! `kubernetes.io/pv-protection` finalizer, so they outlive their use; the protection
//! controllers of the controller-manager remove them once unused.

use serde_json::{json, Value};

use crate::resources::ResourceInfo;

/// Keeps a claim while a pod uses it.
pub const PVC_PROTECTION_FINALIZER: &str = "kubernetes.io/pvc-protection";
/// Keeps a volume while it is bound.
pub const PV_PROTECTION_FINALIZER: &str = "kubernetes.io/pv-protection";

/// Adds the finalizer to a PV or PVC being created (once).
pub fn admit(info: &ResourceInfo, obj: &mut Value) {
    if !info.group.is_empty() {
        return;
    }
    let finalizer = match info.plural.as_str() {
        "persistentvolumeclaims" => PVC_PROTECTION_FINALIZER,
        "persistentvolumes" => PV_PROTECTION_FINALIZER,
        _ => return,
    };
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let finalizers = meta.entry("finalizers").or_insert_with(|| json!([]));
    if finalizers.is_null() {
        *finalizers = json!([]);
    }
    if let Some(list) = finalizers.as_array_mut() {
        if !list.iter().any(|f| f.as_str() == Some(finalizer)) {
            list.push(json!(finalizer));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(plural: &str) -> ResourceInfo {
        crate::resources::builtin().into_iter().find(|r| r.group.is_empty() && r.plural == plural).unwrap()
    }

    #[test]
    fn finalizers_added_once() {
        let mut pvc = json!({"metadata": {"name": "c", "finalizers": ["x"]}});
        admit(&info("persistentvolumeclaims"), &mut pvc);
        admit(&info("persistentvolumeclaims"), &mut pvc);
        assert_eq!(pvc["metadata"]["finalizers"], json!(["x", PVC_PROTECTION_FINALIZER]));
        let mut pv = json!({"metadata": {"name": "v"}});
        admit(&info("persistentvolumes"), &mut pv);
        assert_eq!(pv["metadata"]["finalizers"], json!([PV_PROTECTION_FINALIZER]));
        let mut pod = json!({"metadata": {"name": "p"}});
        admit(&info("pods"), &mut pod);
        assert!(pod["metadata"].get("finalizers").is_none());
    }
}
