//! persistentVolumeClaim volumes: the claim must be Bound to a PersistentVolume, whose
//! hostPath or local path is then bind-mounted like a hostPath volume (upstream's kubelet
//! refuses unbound claims with the same wording). Other PV sources need attach/mount
//! plugins this kubelet does not have.

use std::collections::HashMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::Api;

/// Where a claim's volume lives on the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath {
    /// The host path.
    pub path: PathBuf,
    /// The hostPath type to check ("Directory" for local volumes, which must exist).
    pub host_path_type: String,
}

/// The host paths of the pod's claim volumes, by volume name.
pub async fn resolve(client: &kube::Client, pod: &Pod) -> Result<HashMap<String, ClaimPath>, String> {
    let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let mut out = HashMap::new();
    for v in pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
        let Some(src) = &v.persistent_volume_claim else { continue };
        let pvc = claims
            .get_opt(&src.claim_name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("persistentvolumeclaim \"{}\" not found", src.claim_name))?;
        let pv_name = bound_volume(&ns, &pvc)?;
        let pv = pvs.get_opt(&pv_name).await.map_err(|e| e.to_string())?.ok_or_else(|| format!("persistentvolume \"{pv_name}\" not found"))?;
        out.insert(v.name.clone(), host_path(&pv)?);
    }
    Ok(out)
}

/// The PV name of a Bound claim (upstream `getPVCExtractPV`'s check).
fn bound_volume(ns: &str, pvc: &PersistentVolumeClaim) -> Result<String, String> {
    let phase = pvc.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
    let volume = pvc.spec.as_ref().and_then(|s| s.volume_name.as_deref()).unwrap_or("");
    if phase != "Bound" || volume.is_empty() {
        let name = pvc.metadata.name.as_deref().unwrap_or("");
        return Err(format!("PVC {ns}/{name} has non-bound phase (\"{phase}\") or empty pvc.Spec.VolumeName (\"{volume}\")"));
    }
    Ok(volume.to_string())
}

fn host_path(pv: &PersistentVolume) -> Result<ClaimPath, String> {
    let spec = pv.spec.as_ref().ok_or("persistent volume has no spec")?;
    if let Some(hp) = &spec.host_path {
        return Ok(ClaimPath { path: PathBuf::from(&hp.path), host_path_type: hp.type_.clone().unwrap_or_default() });
    }
    if let Some(local) = &spec.local {
        return Ok(ClaimPath { path: PathBuf::from(&local.path), host_path_type: "Directory".into() });
    }
    let name = pv.metadata.name.as_deref().unwrap_or("");
    Err(format!("persistent volume {name}: only hostPath and local volumes can be mounted by this kubelet"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unbound_claims_are_refused_with_upstreams_words() {
        let pvc: PersistentVolumeClaim = serde_json::from_value(json!({"metadata": {"name": "data"}, "spec": {}, "status": {"phase": "Pending"}})).unwrap();
        assert_eq!(bound_volume("ns", &pvc).unwrap_err(), "PVC ns/data has non-bound phase (\"Pending\") or empty pvc.Spec.VolumeName (\"\")");
        let bound: PersistentVolumeClaim = serde_json::from_value(json!({"metadata": {"name": "data"}, "spec": {"volumeName": "pv1"}, "status": {"phase": "Bound"}})).unwrap();
        assert_eq!(bound_volume("ns", &bound).unwrap(), "pv1");
    }

    #[test]
    fn host_path_and_local_sources() {
        let hp: PersistentVolume = serde_json::from_value(json!({"metadata": {"name": "a"}, "spec": {"hostPath": {"path": "/data/a", "type": "DirectoryOrCreate"}}})).unwrap();
        assert_eq!(host_path(&hp).unwrap(), ClaimPath { path: "/data/a".into(), host_path_type: "DirectoryOrCreate".into() });
        let local: PersistentVolume = serde_json::from_value(json!({"metadata": {"name": "b"}, "spec": {"local": {"path": "/mnt/b"}}})).unwrap();
        assert_eq!(host_path(&local).unwrap().path, PathBuf::from("/mnt/b"));
        let nfs: PersistentVolume = serde_json::from_value(json!({"metadata": {"name": "c"}, "spec": {"nfs": {"server": "x", "path": "/"}}})).unwrap();
        assert!(host_path(&nfs).unwrap_err().contains("only hostPath and local"));
    }
}
