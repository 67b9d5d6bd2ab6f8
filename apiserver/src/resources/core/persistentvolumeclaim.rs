//! PersistentVolumeClaims: volumeMode Filesystem and the Pending phase, spec validation,
//! the immutable spec (resize and first binding excepted) and the `kubectl get pvc` table.

use rkube_apimachinery::validation::{name_is_dns_subdomain, FieldError};
use serde_json::{json, Value};

use super::persistentvolume::{access_modes, access_modes_string, immutable_volume_mode, or_unset, phase, storage_class};
use super::pod_update::normalize;
use super::podspec_defaults::default_pvc_spec;
use super::quantity::{display, Quantity, QUANTITY_FORMAT_MSG};
use super::util::{enum_member, invalid_each, list_at, str_at, str_of};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The PersistentVolumeClaim strategy.
pub struct PersistentVolumeClaimStrategy;

impl Strategy for PersistentVolumeClaimStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec") {
            default_pvc_spec(spec);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        obj["status"] = json!({"phase": "Pending"});
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        let mut errs = access_modes(spec, "spec.accessModes", "at least 1 access mode is required");
        let path = "spec.resources[storage]";
        match spec.pointer("/resources/requests/storage") {
            None => errs.push(FieldError::required(path, "")),
            Some(q) => match Quantity::from_json(q) {
                None => errs.push(FieldError::invalid(path, q.clone(), QUANTITY_FORMAT_MSG)),
                Some(v) if v.nanos <= 0 => errs.push(FieldError::invalid(path, v.canonical(), "must be greater than zero")),
                Some(_) => {}
            },
        }
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
        let mut new_spec = obj.get("spec").cloned().unwrap_or(Value::Null);
        let mut old_spec = old.get("spec").cloned().unwrap_or(Value::Null);
        if str_at(old, "/spec/volumeName").is_empty() {
            old_spec["volumeName"] = new_spec.get("volumeName").cloned().unwrap_or(Value::Null);
        }
        if str_at(obj, "/status/phase") == "Bound" {
            for key in ["/resources/requests/storage", "/volumeAttributesClassName"] {
                if let (Some(slot), Some(prev)) = (new_spec.pointer_mut(key), old_spec.pointer(key).cloned()) {
                    *slot = prev;
                }
            }
        }
        let mut errs = Vec::new();
        if normalize(&new_spec) != normalize(&old_spec) {
            errs.push(FieldError::forbidden(
                "spec",
                format!(
                    "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n  core.PersistentVolumeClaimSpec{{\n- \t{},\n+ \t{},\n  }}\n",
                    normalize(&old_spec),
                    normalize(&new_spec)
                ),
            ));
        }
        let size = |v: &Value, p: &str| v.pointer(p).and_then(Quantity::from_json).map_or(0, |q| q.nanos);
        let new_size = size(obj, "/spec/resources/requests/storage");
        if new_size < size(old, "/spec/resources/requests/storage") && new_size <= size(old, "/status/capacity/storage") {
            errs.push(FieldError::forbidden("spec.resources.requests.storage", "field can not be less than status.capacity"));
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
            Column::new("Status", "string", "phase represents the current phase of PersistentVolumeClaim."),
            Column::new("Volume", "string", "volumeName is the binding reference to the PersistentVolume backing this claim."),
            Column::new("Capacity", "string", "capacity represents the actual resources of the underlying volume."),
            Column::new("Access Modes", "string", "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1"),
            Column::new("StorageClass", "string", "StorageClass of the pvc"),
            Column::new("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
            Column::age(),
            Column::wide("VolumeMode", "string", "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec."),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let volume = str_at(obj, "/spec/volumeName");
        let (capacity, modes) = if volume.is_empty() {
            (String::new(), String::new())
        } else {
            (display(obj.pointer("/status/capacity/storage")), access_modes_string(list_at(obj, "/status/accessModes")))
        };
        vec![
            json!(phase(obj)),
            json!(volume),
            json!(capacity),
            json!(modes),
            json!(storage_class(obj)),
            json!(or_unset(obj.pointer("/spec/volumeAttributesClassName"))),
            age_cell(obj),
            json!(or_unset(obj.pointer("/spec/volumeMode"))),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pvc() -> Value {
        json!({"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    }

    #[test]
    fn defaults_and_validation() {
        let mut c = pvc();
        PersistentVolumeClaimStrategy.default(&mut c);
        PersistentVolumeClaimStrategy.prepare_for_create(&mut c);
        assert_eq!(c["spec"]["volumeMode"], "Filesystem");
        assert_eq!(c["status"], json!({"phase": "Pending"}));
        assert!(PersistentVolumeClaimStrategy.validate(&c).is_empty());
        let bad = json!({"spec": {"accessModes": []}});
        let errs: Vec<String> = PersistentVolumeClaimStrategy.validate(&bad).iter().map(ToString::to_string).collect();
        assert_eq!(errs, ["spec.accessModes: Required value: at least 1 access mode is required", "spec.resources[storage]: Required value"]);
    }

    #[test]
    fn spec_is_immutable_but_binding_allowed() {
        let mut old = pvc();
        PersistentVolumeClaimStrategy.default(&mut old);
        let mut bound = old.clone();
        bound["spec"]["volumeName"] = json!("pv1");
        assert!(PersistentVolumeClaimStrategy.validate_update(&bound, &old).is_empty());
        let mut changed = old.clone();
        changed["spec"]["accessModes"] = json!(["ReadWriteMany"]);
        let errs = PersistentVolumeClaimStrategy.validate_update(&changed, &old);
        assert!(errs[0].to_string().starts_with("spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"));
    }

    #[test]
    fn table_cells() {
        let mut c = pvc();
        PersistentVolumeClaimStrategy.default(&mut c);
        c["spec"]["volumeName"] = json!("pv1");
        c["status"] = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]});
        let cells = PersistentVolumeClaimStrategy.cells(&c);
        assert_eq!(cells.len(), PersistentVolumeClaimStrategy.columns().len());
        assert_eq!(cells, [json!("Bound"), json!("pv1"), json!("1Gi"), json!("RWO"), json!(""), json!("<unset>"), json!("<unknown>"), json!("Filesystem")]);
    }
}
