//! Pure claim/volume matching of the PersistentVolume binder (upstream
//! `pkg/controller/volume/persistentvolume/index.go` and
//! `component-helpers/storage/volume`): which Available volume best fits a claim, whether a
//! volume the user asked for satisfies it, and the binding predicates. No IO.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use rkube_apimachinery::label_selector::LabelSelector;
use rkube_apimachinery::quantity::Quantity;

/// Set on a claim once the controller finished binding it (upstream `AnnBindCompleted`).
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Set on both sides when the controller (not the user) made the binding.
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// Set on a claim by the scheduler to ask for provisioning on that node.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// The plugin (or external provisioner) that created a volume.
pub const ANN_DYNAMICALLY_PROVISIONED: &str = "pv.kubernetes.io/provisioned-by";
/// The provisioner an external provisioner looks for on a claim.
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
/// The beta form of [`ANN_STORAGE_PROVISIONER`], still written by upstream.
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// The beta storage-class annotation, which wins over `spec.storageClassName`.
pub const ANN_BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
/// A StorageClass provisioner meaning "no dynamic provisioning".
pub const NOT_SUPPORTED_PROVISIONER: &str = "kubernetes.io/no-provisioner";

fn annotation<'a>(meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// Whether `key` is among the object's annotations (any value).
pub fn has_annotation(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str) -> bool {
    annotation(meta, key).is_some()
}

/// Upstream `GetPersistentVolumeClaimClass`: the beta annotation, else the spec field.
pub fn claim_class(claim: &PersistentVolumeClaim) -> &str {
    if let Some(c) = annotation(&claim.metadata, ANN_BETA_STORAGE_CLASS) {
        return c;
    }
    claim.spec.as_ref().and_then(|s| s.storage_class_name.as_deref()).unwrap_or("")
}

/// Upstream `GetPersistentVolumeClass`.
pub fn volume_class(volume: &PersistentVolume) -> &str {
    if let Some(c) = annotation(&volume.metadata, ANN_BETA_STORAGE_CLASS) {
        return c;
    }
    volume.spec.as_ref().and_then(|s| s.storage_class_name.as_deref()).unwrap_or("")
}

/// The claim's `spec.volumeName` ("" when unset).
pub fn claim_volume_name(claim: &PersistentVolumeClaim) -> &str {
    claim.spec.as_ref().and_then(|s| s.volume_name.as_deref()).unwrap_or("")
}

/// The storage a claim requests (zero when missing or malformed).
pub fn requested_storage(claim: &PersistentVolumeClaim) -> Quantity {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| q.0.parse().ok())
        .unwrap_or_default()
}

/// The storage capacity of a volume (zero when missing or malformed).
pub fn volume_storage(volume: &PersistentVolume) -> Quantity {
    volume.spec.as_ref().and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage")).and_then(|q| q.0.parse().ok()).unwrap_or_default()
}

fn claim_modes(claim: &PersistentVolumeClaim) -> Vec<String> {
    claim.spec.as_ref().and_then(|s| s.access_modes.clone()).unwrap_or_default()
}

fn volume_modes(volume: &PersistentVolume) -> Vec<String> {
    volume.spec.as_ref().and_then(|s| s.access_modes.clone()).unwrap_or_default()
}

/// Upstream `CheckAccessModes`: the volume offers every mode the claim asks for.
pub fn check_access_modes(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    let offered = volume_modes(volume);
    claim_modes(claim).iter().all(|m| offered.contains(m))
}

/// Upstream `CheckVolumeModeMismatches`: Filesystem unless stated, and both must agree.
pub fn volume_mode_mismatch(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    let wanted = claim.spec.as_ref().and_then(|s| s.volume_mode.as_deref()).unwrap_or("Filesystem");
    let offered = volume.spec.as_ref().and_then(|s| s.volume_mode.as_deref()).unwrap_or("Filesystem");
    wanted != offered
}

/// Upstream `IsVolumeBoundToClaim`: the volume's claimRef names the claim (and its UID, when
/// the claimRef has one).
pub fn is_volume_bound_to_claim(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(r) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else { return false };
    if r.name != claim.metadata.name || r.namespace != claim.metadata.namespace {
        return false;
    }
    let uid = r.uid.as_deref().unwrap_or("");
    uid.is_empty() || Some(uid) == claim.metadata.uid.as_deref()
}

/// Upstream `checkVolumeSatisfyClaim`: why a volume the claim names cannot be bound to it.
pub fn check_volume_satisfies_claim(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> Result<(), String> {
    if volume.metadata.deletion_timestamp.is_some() {
        return Err(format!("the volume is marked for deletion {:?}", volume.metadata.name.as_deref().unwrap_or("")));
    }
    if volume_storage(volume).value() < requested_storage(claim).value() {
        return Err("requested PV is too small".into());
    }
    if volume_class(volume) != claim_class(claim) {
        return Err("storageClassName does not match".into());
    }
    if volume_mode_mismatch(claim, volume) {
        return Err("incompatible volumeMode".into());
    }
    if !check_access_modes(claim, volume) {
        return Err("incompatible accessMode".into());
    }
    Ok(())
}

/// Upstream `FindMatchingVolume` over one access-mode group (without a node: the controller's
/// path). A volume pre-bound to the claim wins at once; otherwise the smallest Available one
/// of the claim's class whose labels match its selector. With `delay_binding`, only pre-bound
/// volumes are returned (the scheduler binds the rest).
fn find_matching_volume(claim: &PersistentVolumeClaim, volumes: &[&Arc<PersistentVolume>], delay_binding: bool) -> Option<Arc<PersistentVolume>> {
    let requested = requested_storage(claim);
    let class = claim_class(claim);
    let selector = match claim.spec.as_ref().and_then(|s| s.selector.as_ref()) {
        None => None,
        Some(sel) => match serde_json::to_value(sel).ok().and_then(|v| LabelSelector::from_json(&v).ok()) {
            Some(s) => Some(s),
            None => return None,
        },
    };
    let mut smallest: Option<(&Arc<PersistentVolume>, Quantity)> = None;
    for volume in volumes {
        let bound_here = is_volume_bound_to_claim(volume, claim);
        if volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_some() && !bound_here {
            continue;
        }
        let size = volume_storage(volume);
        if size < requested || volume_mode_mismatch(claim, volume) || volume.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if bound_here {
            return Some((*volume).clone());
        }
        if delay_binding {
            continue;
        }
        if volume.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Available") {
            continue;
        }
        if let Some(sel) = &selector {
            let empty = BTreeMap::new();
            if !sel.matches(volume.metadata.labels.as_ref().unwrap_or(&empty)) {
                continue;
            }
        }
        if volume_class(volume) != class {
            continue;
        }
        if smallest.as_ref().is_none_or(|(_, q)| *q > size) {
            smallest = Some((volume, size));
        }
    }
    smallest.map(|(v, _)| v.clone())
}

/// Upstream `persistentVolumeOrderedIndex.findByClaim`: volumes are grouped by their set of
/// access modes; groups offering every mode the claim asks for are searched fewest modes
/// first, and the first group with a match decides.
pub fn find_best_match(claim: &PersistentVolumeClaim, volumes: &[Arc<PersistentVolume>], delay_binding: bool) -> Option<Arc<PersistentVolume>> {
    let wanted = claim_modes(claim);
    let mut groups: BTreeMap<Vec<String>, Vec<&Arc<PersistentVolume>>> = BTreeMap::new();
    let mut sorted: Vec<&Arc<PersistentVolume>> = volumes.iter().collect();
    sorted.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for v in sorted {
        let mut modes = volume_modes(v);
        modes.sort();
        modes.dedup();
        groups.entry(modes).or_default().push(v);
    }
    let mut candidates: Vec<(&Vec<String>, &Vec<&Arc<PersistentVolume>>)> =
        groups.iter().filter(|(modes, _)| wanted.iter().all(|m| modes.contains(m))).collect();
    candidates.sort_by_key(|(modes, _)| modes.len());
    candidates.into_iter().find_map(|(_, vols)| find_matching_volume(claim, vols, delay_binding))
}

/// Upstream hostPath deleter: only paths containing `/tmp/<something>` (the unanchored
/// `/tmp/.+`) may be removed.
pub fn host_path_deletable(path: &str) -> bool {
    path.match_indices("/tmp/").any(|(i, _)| path.len() > i + 5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pv(name: &str, size: &str, modes: &[&str], class: &str, phase: &str) -> Arc<PersistentVolume> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "labels": {"disk": name}},
                "spec": {"capacity": {"storage": size}, "accessModes": modes, "storageClassName": class, "hostPath": {"path": "/x"}},
                "status": {"phase": phase}
            }))
            .unwrap(),
        )
    }

    fn pvc(size: &str, modes: &[&str], class: Option<&str>) -> PersistentVolumeClaim {
        let mut spec = json!({"accessModes": modes, "resources": {"requests": {"storage": size}}});
        if let Some(c) = class {
            spec["storageClassName"] = json!(c);
        }
        serde_json::from_value(json!({"metadata": {"name": "c", "namespace": "ns", "uid": "u1"}, "spec": spec})).unwrap()
    }

    fn name(v: Option<Arc<PersistentVolume>>) -> Option<String> {
        v.and_then(|v| v.metadata.name.clone())
    }

    #[test]
    fn smallest_fitting_available_volume_of_the_class() {
        let vols = vec![
            pv("big", "10Gi", &["ReadWriteOnce"], "", "Available"),
            pv("small", "1Gi", &["ReadWriteOnce"], "", "Available"),
            pv("mid", "2Gi", &["ReadWriteOnce"], "", "Available"),
            pv("tiny", "500Mi", &["ReadWriteOnce"], "", "Available"),
            pv("other-class", "1500Mi", &["ReadWriteOnce"], "fast", "Available"),
            pv("pending", "1100Mi", &["ReadWriteOnce"], "", "Pending"),
        ];
        assert_eq!(name(find_best_match(&pvc("1Gi", &["ReadWriteOnce"], None), &vols, false)).as_deref(), Some("small"));
        assert_eq!(name(find_best_match(&pvc("1500Mi", &["ReadWriteOnce"], None), &vols, false)).as_deref(), Some("mid"));
        assert_eq!(name(find_best_match(&pvc("1Gi", &["ReadWriteOnce"], Some("fast")), &vols, false)).as_deref(), Some("other-class"));
        assert_eq!(find_best_match(&pvc("20Gi", &["ReadWriteOnce"], None), &vols, false), None);
    }

    #[test]
    fn access_modes_superset_fewest_modes_first() {
        let vols = vec![
            pv("rwo-rwx", "1Gi", &["ReadWriteOnce", "ReadWriteMany"], "", "Available"),
            pv("rwo-big", "5Gi", &["ReadWriteOnce"], "", "Available"),
            pv("rox", "1Gi", &["ReadOnlyMany"], "", "Available"),
        ];
        // The single-mode group is searched first even though its volume is bigger.
        assert_eq!(name(find_best_match(&pvc("1Gi", &["ReadWriteOnce"], None), &vols, false)).as_deref(), Some("rwo-big"));
        assert_eq!(name(find_best_match(&pvc("1Gi", &["ReadWriteMany"], None), &vols, false)).as_deref(), Some("rwo-rwx"));
        assert_eq!(find_best_match(&pvc("1Gi", &["ReadWriteMany", "ReadOnlyMany"], None), &vols, false), None);
    }

    #[test]
    fn selector_volume_mode_and_claim_refs() {
        let mut vols = vec![pv("a", "1Gi", &["ReadWriteOnce"], "", "Available"), pv("b", "2Gi", &["ReadWriteOnce"], "", "Available")];
        let mut claim = pvc("1Gi", &["ReadWriteOnce"], None);
        claim.spec.as_mut().unwrap().selector = Some(serde_json::from_value(json!({"matchLabels": {"disk": "b"}})).unwrap());
        assert_eq!(name(find_best_match(&claim, &vols, false)).as_deref(), Some("b"));
        let mut claim = pvc("1Gi", &["ReadWriteOnce"], None);
        claim.spec.as_mut().unwrap().volume_mode = Some("Block".into());
        assert_eq!(find_best_match(&claim, &vols, false), None);
        // A volume pre-bound to another claim is skipped; one pre-bound to this claim wins
        // even when bigger, and even with delayed binding.
        let claim = pvc("1Gi", &["ReadWriteOnce"], None);
        Arc::make_mut(&mut vols[0]).spec.as_mut().unwrap().claim_ref = Some(serde_json::from_value(json!({"namespace": "ns", "name": "other"})).unwrap());
        Arc::make_mut(&mut vols[1]).spec.as_mut().unwrap().claim_ref = Some(serde_json::from_value(json!({"namespace": "ns", "name": "c"})).unwrap());
        assert_eq!(name(find_best_match(&claim, &vols, true)).as_deref(), Some("b"));
        Arc::make_mut(&mut vols[1]).spec.as_mut().unwrap().claim_ref = Some(serde_json::from_value(json!({"namespace": "ns", "name": "c", "uid": "old"})).unwrap());
        assert_eq!(find_best_match(&claim, &vols, false), None);
    }

    #[test]
    fn delayed_binding_leaves_unbound_volumes_to_the_scheduler() {
        let vols = vec![pv("a", "1Gi", &["ReadWriteOnce"], "local", "Available")];
        assert_eq!(find_best_match(&pvc("1Gi", &["ReadWriteOnce"], Some("local")), &vols, true), None);
        assert!(find_best_match(&pvc("1Gi", &["ReadWriteOnce"], Some("local")), &vols, false).is_some());
    }

    #[test]
    fn requested_volume_checks_as_upstream() {
        let v = pv("a", "1Gi", &["ReadWriteOnce"], "", "Available");
        assert_eq!(check_volume_satisfies_claim(&v, &pvc("1Gi", &["ReadWriteOnce"], None)), Ok(()));
        assert_eq!(check_volume_satisfies_claim(&v, &pvc("2Gi", &["ReadWriteOnce"], None)).unwrap_err(), "requested PV is too small");
        assert_eq!(check_volume_satisfies_claim(&v, &pvc("1Gi", &["ReadWriteOnce"], Some("x"))).unwrap_err(), "storageClassName does not match");
        assert_eq!(check_volume_satisfies_claim(&v, &pvc("1Gi", &["ReadWriteMany"], None)).unwrap_err(), "incompatible accessMode");
    }

    #[test]
    fn host_path_deleter_only_under_tmp() {
        assert!(host_path_deletable("/tmp/pv1"));
        assert!(host_path_deletable("/var/tmp/x"));
        assert!(!host_path_deletable("/tmp/"));
        assert!(!host_path_deletable("/data/pv1"));
    }
}
