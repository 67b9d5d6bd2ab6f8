//! PersistentVolumes: Retain / Filesystem defaults, the Pending phase with its transition
//! time, spec validation, the immutable volume source, and the `kubectl get pv` table.

use rkube_apimachinery::validation::{name_is_dns_subdomain, FieldError, FieldErrorType};
use serde_json::{json, Value};

use super::pod_update::normalize;
use super::quantity::{canonicalize_list, display, Quantity};
use super::util::{child_obj, enum_member, invalid_each, list_at, set_default, str_at, str_of};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The members of a PersistentVolumeSource, in upstream's validation order.
const PV_SOURCES: &[&str] = &[
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "glusterfs", "flocker", "nfs", "rbd", "quobyte",
    "cephfs", "iscsi", "cinder", "fc", "flexVolume", "azureFile", "vsphereVolume", "photonPersistentDisk",
    "portworxVolume", "azureDisk", "scaleIO", "local", "storageos", "csi",
];

/// Supported access modes, sorted as upstream lists them.
pub const ACCESS_MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];

/// The annotation that predates `storageClassName`.
pub const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// The PersistentVolume strategy.
pub struct PersistentVolumeStrategy;

impl Strategy for PersistentVolumeStrategy {
    fn default(&self, obj: &mut Value) {
        let Some(spec) = child_obj(obj, "spec") else { return };
        set_default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
        set_default(spec, "volumeMode", json!("Filesystem"));
        canonicalize_list(spec.get_mut("capacity"));
        if let Some(h) = spec.get_mut("hostPath").and_then(Value::as_object_mut) {
            set_default(h, "type", json!(""));
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        obj["status"] = json!({"phase": "Pending", "lastPhaseTransitionTime": now()});
    }

    fn prepare_for_update(&self, obj: &mut Value, old: &Value) {
        stamp_phase_transition(obj, old);
    }

    fn prepare_for_status_update(&self, obj: &mut Value, old: &Value) {
        stamp_phase_transition(obj, old);
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        let mut errs = access_modes(spec, "spec.accessModes", "");
        errs.extend(capacity(spec));
        if let Some(p) = spec.get("persistentVolumeReclaimPolicy").and_then(Value::as_str).filter(|p| !p.is_empty()) {
            errs.extend(enum_member(p, "spec.persistentVolumeReclaimPolicy", &["Delete", "Recycle", "Retain"]));
        }
        errs.extend(volume_source(spec));
        let class = str_of(spec, "storageClassName");
        if !class.is_empty() {
            errs.extend(invalid_each("spec.storageClassName", class, name_is_dns_subdomain(class, false)));
        }
        if let Some(mode) = spec.get("volumeMode").and_then(Value::as_str) {
            errs.extend(enum_member(mode, "spec.volumeMode", &["Block", "Filesystem"]));
        }
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let source = |v: &Value| {
            let spec = v.get("spec").unwrap_or(&Value::Null);
            normalize(&json!(PV_SOURCES.iter().filter_map(|k| spec.get(*k).map(|s| (k.to_string(), s.clone()))).collect::<serde_json::Map<_, _>>()))
        };
        let (new_src, old_src) = (source(obj), source(old));
        if new_src != old_src {
            errs.push(FieldError::forbidden(
                "spec.persistentvolumesource",
                format!("spec.persistentvolumesource is immutable after creation\n  core.PersistentVolumeSource{{\n- \t{old_src},\n+ \t{new_src},\n  }}\n"),
            ));
        }
        errs.extend(immutable_volume_mode(obj, old));
        errs
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &["name"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "name" => Some(str_at(obj, "/metadata/name").to_string()),
            _ => crate::resources::strategy::generic_field_value(obj, field),
        }
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Capacity", "string", "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity"),
            Column::new("Access Modes", "string", "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes"),
            Column::new("Reclaim Policy", "string", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming"),
            Column::new("Status", "string", "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase"),
            Column::new("Claim", "string", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding"),
            Column::new("StorageClass", "string", "StorageClass of the pv"),
            Column::new("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
            Column::new("Reason", "string", "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI."),
            Column::age(),
            Column::wide("VolumeMode", "string", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec."),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let claim = match obj.pointer("/spec/claimRef").filter(|c| c.is_object()) {
            Some(c) => format!("{}/{}", str_of(c, "namespace"), str_of(c, "name")),
            None => String::new(),
        };
        vec![
            json!(display(obj.pointer("/spec/capacity/storage"))),
            json!(access_modes_string(list_at(obj, "/spec/accessModes"))),
            json!(str_at(obj, "/spec/persistentVolumeReclaimPolicy")),
            json!(phase(obj)),
            json!(claim),
            json!(storage_class(obj)),
            json!(or_unset(obj.pointer("/spec/volumeAttributesClassName"))),
            json!(str_at(obj, "/status/reason")),
            age_cell(obj),
            json!(or_unset(obj.pointer("/spec/volumeMode"))),
        ]
    }
}

/// The current time as an RFC 3339 timestamp (seconds precision, UTC).
fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The phase, or "Terminating" while the object is being deleted.
pub fn phase(obj: &Value) -> String {
    if obj.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null()) {
        "Terminating".into()
    } else {
        str_at(obj, "/status/phase").to_string()
    }
}

/// A string member or "<unset>".
pub fn or_unset(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).map_or_else(|| "<unset>".to_string(), str::to_string)
}

/// Upstream `GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order.
pub fn access_modes_string(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")]
        .iter()
        .filter(|(m, _)| has(m))
        .map(|(_, s)| *s)
        .collect::<Vec<_>>()
        .join(",")
}

/// Upstream `GetPersistentVolume(Claim)Class`: the beta annotation, else the spec field.
pub fn storage_class(obj: &Value) -> String {
    let annotation = format!("/metadata/annotations/{}", BETA_STORAGE_CLASS.replace('/', "~1"));
    if let Some(class) = obj.pointer(&annotation).and_then(Value::as_str) {
        return class.to_string();
    }
    str_at(obj, "/spec/storageClassName").to_string()
}

/// Access modes: required (with `required_detail`), supported, ReadWriteOncePod alone.
pub fn access_modes(spec: &Value, path: &str, required_detail: &str) -> Vec<FieldError> {
    let modes = super::util::list_of(spec, "accessModes");
    let mut errs = Vec::new();
    if modes.is_empty() {
        errs.push(FieldError::required(path, required_detail));
    }
    let (mut rwop, mut other) = (false, false);
    for m in modes {
        let m = m.as_str().unwrap_or("");
        if !ACCESS_MODES.contains(&m) {
            errs.push(FieldError::not_supported(path, m, ACCESS_MODES));
        } else if m == "ReadWriteOncePod" {
            rwop = true;
        } else {
            other = true;
        }
    }
    if rwop && other {
        errs.push(FieldError::forbidden(path, "may not use ReadWriteOncePod with other access modes"));
    }
    errs
}

fn capacity(spec: &Value) -> Vec<FieldError> {
    let cap = spec.get("capacity").and_then(Value::as_object);
    let mut errs = Vec::new();
    if cap.is_none_or(|c| c.is_empty()) {
        errs.push(FieldError::required("spec.capacity", ""));
    }
    if cap.is_none_or(|c| !c.contains_key("storage") || c.len() > 1) {
        let shown = match cap.filter(|c| !c.is_empty()) {
            None => "core.ResourceList(nil)".to_string(),
            Some(c) => format!(
                "core.ResourceList{{{}}}",
                c.iter().map(|(k, v)| format!("{k:?}:{}", display(Some(v)))).collect::<Vec<_>>().join(", ")
            ),
        };
        errs.push(FieldError::new(FieldErrorType::NotSupported, "spec.capacity", None, format!("{shown}: supported values: \"storage\"")));
    }
    for (k, q) in cap.into_iter().flatten() {
        let path = format!("spec.capacity[{k}]");
        match Quantity::from_json(q) {
            None => errs.push(FieldError::invalid(&path, q.clone(), super::quantity::QUANTITY_FORMAT_MSG)),
            Some(v) if v.nanos <= 0 => errs.push(FieldError::invalid(&path, v.canonical(), "must be greater than zero")),
            Some(_) => {}
        }
    }
    errs
}

/// Exactly one volume source, with the required members of the common ones.
fn volume_source(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    for key in PV_SOURCES {
        let Some(src) = spec.get(*key).filter(|v| !v.is_null()) else { continue };
        if count > 0 {
            errs.push(FieldError::forbidden(format!("spec.{key}"), "may not specify more than 1 volume type"));
            continue;
        }
        count += 1;
        let required: &[&str] = match *key {
            "hostPath" | "local" => &["path"],
            "nfs" => &["server", "path"],
            "csi" => &["driver", "volumeHandle"],
            _ => &[],
        };
        for r in required {
            if str_of(src, r).is_empty() {
                errs.push(FieldError::required(format!("spec.{key}.{r}"), ""));
            }
        }
        if *key == "local" && spec.get("nodeAffinity").is_none_or(Value::is_null) {
            errs.push(FieldError::required("spec.nodeAffinity", "Local volume requires node affinity"));
        }
    }
    if count == 0 {
        errs.push(FieldError::required("spec", "must specify a volume type"));
    }
    errs
}

/// Upstream's `ValidateImmutableField(volumeMode)` (reported at the bare "volumeMode").
pub fn immutable_volume_mode(obj: &Value, old: &Value) -> Vec<FieldError> {
    let new_mode = obj.pointer("/spec/volumeMode").cloned().unwrap_or(Value::Null);
    if Some(&new_mode) != old.pointer("/spec/volumeMode").or(Some(&Value::Null)) {
        vec![FieldError::invalid("volumeMode", new_mode, rkube_apimachinery::validation::FIELD_IMMUTABLE_ERROR_MSG)]
    } else {
        vec![]
    }
}

/// Upstream stamps status.lastPhaseTransitionTime whenever the phase changes and the writer
/// did not set a new time itself.
fn stamp_phase_transition(obj: &mut Value, old: &Value) {
    let phase_changed = str_at(obj, "/status/phase") != str_at(old, "/status/phase");
    let time_kept = obj.pointer("/status/lastPhaseTransitionTime").is_none_or(|t| Some(t) == old.pointer("/status/lastPhaseTransitionTime"));
    if phase_changed && time_kept {
        if let Some(status) = child_obj(obj, "status") {
            status.insert("lastPhaseTransitionTime".into(), json!(now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pv() -> Value {
        json!({"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data"}}})
    }

    #[test]
    fn defaults_and_status() {
        let mut v = pv();
        PersistentVolumeStrategy.default(&mut v);
        PersistentVolumeStrategy.prepare_for_create(&mut v);
        assert_eq!(v["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(v["spec"]["volumeMode"], "Filesystem");
        assert_eq!(v["status"]["phase"], "Pending");
        assert!(v["status"]["lastPhaseTransitionTime"].is_string());
        assert!(PersistentVolumeStrategy.validate(&v).is_empty(), "{:?}", PersistentVolumeStrategy.validate(&v));
    }

    #[test]
    fn validation_messages() {
        let v = json!({"spec": {}});
        let errs: Vec<String> = PersistentVolumeStrategy.validate(&v).iter().map(ToString::to_string).collect();
        assert_eq!(
            errs,
            [
                "spec.accessModes: Required value",
                "spec.capacity: Required value",
                "spec.capacity: Unsupported value: core.ResourceList(nil): supported values: \"storage\"",
                "spec: Required value: must specify a volume type",
            ]
        );
    }

    #[test]
    fn source_is_immutable() {
        let old = pv();
        let mut new = pv();
        new["spec"]["hostPath"]["path"] = json!("/other");
        let errs = PersistentVolumeStrategy.validate_update(&new, &old);
        assert!(errs[0].to_string().starts_with("spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation\n"));
    }

    #[test]
    fn table_cells() {
        let mut v = pv();
        PersistentVolumeStrategy.default(&mut v);
        v["spec"]["claimRef"] = json!({"namespace": "default", "name": "data"});
        v["spec"]["storageClassName"] = json!("standard");
        v["status"] = json!({"phase": "Bound"});
        let cells = PersistentVolumeStrategy.cells(&v);
        assert_eq!(cells.len(), PersistentVolumeStrategy.columns().len());
        assert_eq!(
            cells,
            [json!("10Gi"), json!("RWO"), json!("Retain"), json!("Bound"), json!("default/data"), json!("standard"), json!("<unset>"), json!(""), json!("<unknown>"), json!("Filesystem")]
        );
    }
}

