//! storage.k8s.io/v1 StorageClass: upstream `SetDefaults_StorageClass` (reclaim policy
//! `Delete`, binding mode `Immediate`), `ValidateStorageClass`/`ValidateStorageClassUpdate`
//! (provisioner, parameters, reclaim policy and binding mode fixed) and the printer's
//! columns.

use rkube_apimachinery::validation::{is_qualified_name, FieldError};
use serde_json::{json, Value};

use crate::resources::apps::util::{at, default_str_at, immutable, opt_bool, semantic_eq, str_at, string_map};
use crate::resources::strategy::{age_cell, Column, Strategy};

const MAX_PARAMETERS: usize = 512;
const MAX_PARAMETERS_SIZE: usize = 256 * 1024;
const RECLAIM_POLICIES: &[&str] = &["Delete", "Retain"];
const BINDING_MODES: &[&str] = &["Immediate", "WaitForFirstConsumer"];

/// The StorageClass strategy.
pub struct StorageClassStrategy;

impl Strategy for StorageClassStrategy {
    fn default(&self, obj: &mut Value) {
        default_str_at(obj, "", "reclaimPolicy", "Delete");
        default_str_at(obj, "", "volumeBindingMode", "Immediate");
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let provisioner = str_at(obj, "/provisioner");
        let mut errs = Vec::new();
        if provisioner.is_empty() {
            errs.push(FieldError::required("provisioner", ""));
        } else {
            let lower = provisioner.to_lowercase();
            errs.extend(is_qualified_name(&lower).into_iter().map(|m| FieldError::invalid("provisioner", lower.as_str(), m)));
        }
        errs.extend(validate_parameters(obj));
        let policy = str_at(obj, "/reclaimPolicy");
        if !policy.is_empty() && !RECLAIM_POLICIES.contains(&policy) {
            errs.push(FieldError::not_supported("reclaimPolicy", policy, RECLAIM_POLICIES));
        }
        match at(obj, "/volumeBindingMode").map(|m| m.as_str().unwrap_or("")) {
            None => errs.push(FieldError::required("volumeBindingMode", "")),
            Some(m) if !BINDING_MODES.contains(&m) => errs.push(FieldError::not_supported("volumeBindingMode", m, BINDING_MODES)),
            Some(_) => {}
        }
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if !semantic_eq(at(obj, "/parameters"), at(old, "/parameters")) {
            errs.push(FieldError::forbidden("parameters", "updates to parameters are forbidden."));
        }
        if str_at(obj, "/provisioner") != str_at(old, "/provisioner") {
            errs.push(FieldError::forbidden("provisioner", "updates to provisioner are forbidden."));
        }
        if str_at(obj, "/reclaimPolicy") != str_at(old, "/reclaimPolicy") {
            errs.push(FieldError::forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
        }
        errs.extend(immutable(at(obj, "/volumeBindingMode"), at(old, "/volumeBindingMode"), "volumeBindingMode"));
        errs
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Provisioner", "string", "provisioner indicates the type of the provisioner."),
            Column::new("ReclaimPolicy", "string", "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete."),
            Column::new("VolumeBindingMode", "string", "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature."),
            Column::new("AllowVolumeExpansion", "string", "allowVolumeExpansion shows whether the storage class allow volume expand."),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let or = |p: &str, d: &str| -> String {
            let v = str_at(obj, p);
            if v.is_empty() { d.to_string() } else { v.to_string() }
        };
        vec![
            json!(str_at(obj, "/provisioner")),
            json!(or("/reclaimPolicy", "Delete")),
            json!(or("/volumeBindingMode", "Immediate")),
            json!(opt_bool(obj, "/allowVolumeExpansion").unwrap_or(false)),
            age_cell(obj),
        ]
    }
}

/// Upstream `validateParameters`: at most 512 entries of at most 256 KiB in total, no
/// empty keys.
fn validate_parameters(obj: &Value) -> Vec<FieldError> {
    let params = string_map(at(obj, "/parameters"));
    if params.len() > MAX_PARAMETERS {
        return vec![FieldError::too_long("parameters", MAX_PARAMETERS as i64)];
    }
    let mut errs: Vec<FieldError> =
        params.keys().filter(|k| k.is_empty()).map(|k| FieldError::invalid("parameters", k.as_str(), "field can not be empty.")).collect();
    let size: usize = params.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_PARAMETERS_SIZE {
        errs.push(FieldError::too_long("parameters", MAX_PARAMETERS_SIZE as i64));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class() -> Value {
        json!({"metadata": {"name": "standard"}, "provisioner": "kubernetes.io/no-provisioner", "parameters": {"type": "ssd"}})
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_validation_and_row() {
        let mut c = class();
        StorageClassStrategy.default(&mut c);
        assert_eq!((c["reclaimPolicy"].clone(), c["volumeBindingMode"].clone()), (json!("Delete"), json!("Immediate")));
        assert!(StorageClassStrategy.validate(&c).is_empty());
        assert_eq!(
            StorageClassStrategy.cells(&c)[..4],
            [json!("kubernetes.io/no-provisioner"), json!("Delete"), json!("Immediate"), json!(false)]
        );
        let bad = json!({"metadata": {"name": "x"}, "reclaimPolicy": "Recycle", "volumeBindingMode": "Later"});
        assert_eq!(
            msgs(&StorageClassStrategy.validate(&bad)),
            [
                "provisioner: Required value",
                "reclaimPolicy: Unsupported value: \"Recycle\": supported values: \"Delete\", \"Retain\"",
                "volumeBindingMode: Unsupported value: \"Later\": supported values: \"Immediate\", \"WaitForFirstConsumer\"",
            ]
        );
    }

    #[test]
    fn fixed_fields() {
        let mut old = class();
        StorageClassStrategy.default(&mut old);
        let mut new = old.clone();
        new["parameters"]["type"] = json!("hdd");
        new["provisioner"] = json!("example.com/other");
        new["allowVolumeExpansion"] = json!(true);
        assert_eq!(
            msgs(&StorageClassStrategy.validate_update(&new, &old)),
            ["parameters: Forbidden: updates to parameters are forbidden.", "provisioner: Forbidden: updates to provisioner are forbidden."]
        );
    }
}
