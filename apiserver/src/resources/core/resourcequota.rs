//! ResourceQuotas: canonical quantities, an empty status on create, resource-name,
//! quantity and scope validation, immutable scopes and the NAME AGE REQUEST LIMIT table.

use std::collections::BTreeSet;

use rkube_apimachinery::validation::{is_qualified_name, FieldError};
use serde_json::{json, Value};

use super::container_validation::quantity_value;
use super::quantity::{canonicalize_list, display};
use super::util::{invalid_each, list_at};
use crate::resources::strategy::{age_cell, Column, Strategy};

const QUOTA_RESOURCES: &[&str] = &[
    "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims",
    "services.nodeports", "services.loadbalancers", "cpu", "memory", "ephemeral-storage", "requests.cpu",
    "requests.memory", "requests.storage", "requests.ephemeral-storage", "limits.cpu", "limits.memory",
    "limits.ephemeral-storage",
];
const SCOPES: &[&str] =
    &["Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass", "CrossNamespacePodAffinity", "VolumeAttributesClass"];

/// The ResourceQuota strategy.
pub struct ResourceQuotaStrategy;

impl Strategy for ResourceQuotaStrategy {
    fn default(&self, obj: &mut Value) {
        for pointer in ["/spec/hard", "/status/hard", "/status/used"] {
            canonicalize_list(obj.pointer_mut(pointer));
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        obj["status"] = json!({});
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        for (pointer, path) in [("/spec/hard", "spec.hard"), ("/status/hard", "status.hard"), ("/status/used", "status.used")] {
            for (k, q) in obj.pointer(pointer).and_then(Value::as_object).into_iter().flatten() {
                let fp = format!("{path}[{k}]");
                errs.extend(quota_resource_name(k, &fp));
                errs.extend(quantity_value(q, &fp));
            }
        }
        errs.extend(scopes(obj));
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        let set = |v: &Value| list_at(v, "/spec/scopes").iter().filter_map(Value::as_str).map(str::to_string).collect::<BTreeSet<_>>();
        if set(obj) != set(old) {
            let shown = obj.pointer("/spec/scopes").cloned().unwrap_or(Value::Null);
            return vec![FieldError::invalid("spec.scopes", shown, rkube_apimachinery::validation::FIELD_IMMUTABLE_ERROR_MSG)];
        }
        vec![]
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::age(),
            Column::new("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
            Column::new("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let (request, limit) = usage(obj);
        vec![age_cell(obj), json!(request), json!(limit)]
    }
}

/// Upstream `ValidateResourceQuotaResourceName`.
fn quota_resource_name(name: &str, path: &str) -> Vec<FieldError> {
    let problems = is_qualified_name(name);
    if !problems.is_empty() {
        return invalid_each(path, name, problems);
    }
    let standard = QUOTA_RESOURCES.contains(&name) || name.starts_with("requests.hugepages-");
    if !name.contains('/') && !standard {
        return vec![FieldError::invalid(path, name, "must be a standard resource for quota")];
    }
    vec![]
}

fn scopes(obj: &Value) -> Vec<FieldError> {
    let list = list_at(obj, "/spec/scopes");
    let shown = Value::from(list.to_vec());
    let names: BTreeSet<&str> = list.iter().filter_map(Value::as_str).collect();
    let mut errs = Vec::new();
    for s in &names {
        if !SCOPES.contains(s) {
            errs.push(FieldError::invalid("spec.scopes", shown.clone(), "unsupported scope"));
        }
    }
    for (a, b) in [("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating")] {
        if names.contains(a) && names.contains(b) {
            errs.push(FieldError::invalid("spec.scopes", shown.clone(), "conflicting scopes"));
        }
    }
    errs
}

/// The REQUEST and LIMIT cells: "name: used/hard" pairs, sorted by name; names starting
/// with "limits." go to LIMIT.
fn usage(obj: &Value) -> (String, String) {
    let mut request = Vec::new();
    let mut limit = Vec::new();
    let mut names: Vec<&String> = obj.pointer("/status/hard").and_then(Value::as_object).map(|m| m.keys().collect()).unwrap_or_default();
    names.sort();
    for name in names {
        let used = display(obj.pointer("/status/used").and_then(|u| u.get(name.as_str())));
        let hard = display(obj.pointer("/status/hard").and_then(|h| h.get(name.as_str())));
        let entry = format!("{name}: {used}/{hard}");
        if name.split('.').next() == Some("limits") && name.contains('.') {
            limit.push(entry);
        } else {
            request.push(entry);
        }
    }
    (request.join(", "), limit.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_and_validate() {
        let mut rq = json!({"spec": {"hard": {"pods": "10", "requests.cpu": "1000m", "bogus": "1"}, "scopes": ["BestEffort", "NotBestEffort"]}});
        ResourceQuotaStrategy.default(&mut rq);
        ResourceQuotaStrategy.prepare_for_create(&mut rq);
        assert_eq!(rq["spec"]["hard"]["requests.cpu"], "1");
        assert_eq!(rq["status"], json!({}));
        let errs: Vec<String> = ResourceQuotaStrategy.validate(&rq).iter().map(ToString::to_string).collect();
        assert_eq!(
            errs,
            [
                "spec.hard[bogus]: Invalid value: \"bogus\": must be a standard resource for quota",
                "spec.scopes: Invalid value: [\"BestEffort\",\"NotBestEffort\"]: conflicting scopes",
            ]
        );
    }

    #[test]
    fn table_cells() {
        let rq = json!({"status": {"hard": {"pods": "10", "limits.cpu": "2", "requests.memory": "1Gi"}, "used": {"pods": "3", "limits.cpu": "500m"}}});
        let cells = ResourceQuotaStrategy.cells(&rq);
        assert_eq!(cells[1], json!("pods: 3/10, requests.memory: 0/1Gi"));
        assert_eq!(cells[2], json!("limits.cpu: 500m/2"));
    }
}
