//! Nodes: podCIDR/podCIDRs and status defaults (allocatable from capacity, the always
//! serialized nodeInfo and daemonEndpoints), taint and resource validation, the update
//! rules, the `spec.unschedulable` field selector and the `kubectl get nodes` table.

use std::collections::BTreeSet;

use rkube_apimachinery::validation::{is_qualified_name, is_valid_label_value, FieldError, FieldErrorType};
use serde_json::{json, Map, Value};

use super::container_validation::quantity_value;
use super::podspec_validation::validate_taint_effect;
use super::quantity::canonicalize_list;
use super::util::{child_obj, invalid_each, list_at, parse_ip, set_default, str_at, str_of};
use crate::resources::strategy::{age_cell, Column, Strategy};

const NODE_INFO_FIELDS: &[&str] = &[
    "machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
    "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture",
];

/// The Node strategy.
pub struct NodeStrategy;

impl Strategy for NodeStrategy {
    fn reset_status_on_create(&self) -> bool {
        // The kubelet registers its Node with a status.
        false
    }

    fn default(&self, obj: &mut Value) {
        if let Some(spec) = child_obj(obj, "spec") {
            sync_pod_cidrs(spec);
        }
        let Some(status) = child_obj(obj, "status") else { return };
        canonicalize_list(status.get_mut("capacity"));
        canonicalize_list(status.get_mut("allocatable"));
        if status.get("allocatable").is_none_or(Value::is_null) {
            if let Some(cap) = status.get("capacity").filter(|c| c.is_object()).cloned() {
                status.insert("allocatable".into(), cap);
            }
        }
        set_default(status, "daemonEndpoints", json!({"kubeletEndpoint": {"Port": 0}}));
        let info = status.entry("nodeInfo").or_insert_with(|| json!({}));
        if let Some(info) = info.as_object_mut() {
            for key in NODE_INFO_FIELDS {
                set_default(info, key, json!(""));
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_taints(list_at(obj, "/spec/taints"), "metadata.taints");
        errs.extend(node_resources(obj));
        errs.extend(pod_cidrs(obj));
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = duplicate_addresses(obj);
        let old_cidrs = list_at(old, "/spec/podCIDRs");
        if !old_cidrs.is_empty() && old_cidrs != list_at(obj, "/spec/podCIDRs") {
            errs.push(FieldError::forbidden("spec.podCIDRs", "node updates may not change podCIDR except from \"\" to valid"));
        }
        let old_provider = str_at(old, "/spec/providerID");
        if !old_provider.is_empty() && old_provider != str_at(obj, "/spec/providerID") {
            errs.push(FieldError::forbidden("spec.providerID", "node updates may not change providerID except from \"\" to valid"));
        }
        if str_at(old, "/spec/externalID") != str_at(obj, "/spec/externalID") {
            errs.push(FieldError::forbidden("spec.externalID", "may not be updated"));
        }
        errs
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &["spec.unschedulable"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "spec.unschedulable" => Some(obj.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false).to_string()),
            _ => crate::resources::strategy::generic_field_value(obj, field),
        }
    }

    fn columns(&self) -> Vec<Column> {
        let addresses = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";
        vec![
            Column::new("Status", "string", "The status of the node"),
            Column::new("Roles", "string", "The roles of the node"),
            Column::age(),
            Column::new("Version", "string", "Kubelet Version reported by the node."),
            Column::wide("Internal-IP", "string", addresses),
            Column::wide("External-IP", "string", addresses),
            Column::wide("OS-Image", "string", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
            Column::wide("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
            Column::wide("Container-Runtime", "string", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let info = |key: &str| match str_at(obj, &format!("/status/nodeInfo/{key}")) {
            "" => "<unknown>".to_string(),
            v => v.to_string(),
        };
        vec![
            json!(node_status(obj)),
            json!(roles(obj)),
            age_cell(obj),
            json!(str_at(obj, "/status/nodeInfo/kubeletVersion")),
            json!(address(obj, "InternalIP")),
            json!(address(obj, "ExternalIP")),
            json!(info("osImage")),
            json!(info("kernelVersion")),
            json!(info("containerRuntimeVersion")),
        ]
    }
}

/// The v1 conversion keeps `podCIDR` and `podCIDRs` in step (the single field wins).
fn sync_pod_cidrs(spec: &mut Map<String, Value>) {
    let one = spec.get("podCIDR").and_then(Value::as_str).unwrap_or("").to_string();
    let first = spec.get("podCIDRs").and_then(|l| l.get(0)).and_then(Value::as_str).map(str::to_string);
    if !one.is_empty() && first.as_deref() != Some(one.as_str()) {
        spec.insert("podCIDRs".into(), json!([one]));
    } else if one.is_empty() {
        if let Some(first) = first {
            spec.insert("podCIDR".into(), json!(first));
        }
    }
}

/// "Ready", "NotReady" or "Unknown", plus ",SchedulingDisabled" when cordoned.
fn node_status(node: &Value) -> String {
    let ready = list_at(node, "/status/conditions").iter().rev().find(|c| str_of(c, "type") == "Ready");
    let mut status = match ready {
        Some(c) if str_of(c, "status") == "True" => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    status
}

/// Upstream `findNodeRoles`: `node-role.kubernetes.io/<role>` keys and the
/// `kubernetes.io/role` value, sorted.
fn roles(node: &Value) -> String {
    let mut roles = BTreeSet::new();
    if let Some(labels) = node.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/").filter(|r| !r.is_empty()) {
                roles.insert(role.to_string());
            } else if k == "kubernetes.io/role" && v.as_str().is_some_and(|s| !s.is_empty()) {
                roles.insert(v.as_str().unwrap_or("").to_string());
            }
        }
    }
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    }
}

fn address(node: &Value, kind: &str) -> String {
    list_at(node, "/status/addresses")
        .iter()
        .find(|a| str_of(a, "type") == kind)
        .map(|a| str_of(a, "address").to_string())
        .unwrap_or_else(|| "<none>".into())
}

/// Upstream `validateNodeTaints`.
pub fn validate_taints(taints: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, t) in taints.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let (key, value, effect) = (str_of(t, "key"), str_of(t, "value"), str_of(t, "effect"));
        errs.extend(invalid_each(&format!("{ip}.key"), key, is_qualified_name(key)));
        let problems = is_valid_label_value(value);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(format!("{ip}.value"), value, problems.join(";")));
        }
        errs.extend(validate_taint_effect(effect, false, &format!("{ip}.effect")));
        if !seen.insert((effect.to_string(), key.to_string())) {
            let shown = format!(
                "core.Taint{{Key:{key:?}, Value:{value:?}, Effect:{effect:?}, TimeAdded:(*v1.Time)(nil)}}: taints must be unique by key and effect pair"
            );
            errs.push(FieldError::new(FieldErrorType::Duplicate, ip, None, shown));
        }
    }
    errs
}

/// Upstream `ValidateNodeResources`: capacity and allocatable quantities.
fn node_resources(node: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for section in ["capacity", "allocatable"] {
        if let Some(list) = node.pointer(&format!("/status/{section}")).and_then(Value::as_object) {
            for (k, q) in list {
                errs.extend(quantity_value(q, &format!("status.{section}.{k}")));
            }
        }
    }
    errs
}

fn pod_cidrs(node: &Value) -> Vec<FieldError> {
    let cidrs = list_at(node, "/spec/podCIDRs");
    let mut errs = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, c) in cidrs.iter().enumerate() {
        let c = c.as_str().unwrap_or("");
        let ok = c.split_once('/').is_some_and(|(ip, bits)| parse_ip(ip).is_some() && bits.parse::<u8>().is_ok());
        if !ok {
            errs.push(FieldError::invalid(format!("spec.podCIDRs[{i}]"), c, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
        }
        if cidrs.len() > 1 && !seen.insert(c) {
            errs.push(FieldError::duplicate(format!("spec.podCIDRs[{i}]"), c));
        }
    }
    errs
}

fn duplicate_addresses(node: &Value) -> Vec<FieldError> {
    let mut seen = BTreeSet::new();
    let mut errs = Vec::new();
    for (i, a) in list_at(node, "/status/addresses").iter().enumerate() {
        let (kind, addr) = (str_of(a, "type"), str_of(a, "address"));
        if !seen.insert((kind, addr)) {
            let shown = format!("core.NodeAddress{{Type:{kind:?}, Address:{addr:?}}}");
            errs.push(FieldError::new(FieldErrorType::Duplicate, format!("status.addresses[{i}]"), None, shown));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_defaults() {
        let mut node = json!({"metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.0.0/24"}, "status": {"capacity": {"cpu": "4", "memory": "8Gi"}}});
        NodeStrategy.default(&mut node);
        assert_eq!(node["spec"]["podCIDRs"], json!(["10.244.0.0/24"]));
        assert_eq!(node["status"]["allocatable"], json!({"cpu": "4", "memory": "8Gi"}));
        assert_eq!(node["status"]["daemonEndpoints"], json!({"kubeletEndpoint": {"Port": 0}}));
        assert_eq!(node["status"]["nodeInfo"]["kubeletVersion"], "");
        assert!(NodeStrategy.validate(&node).is_empty());
    }

    #[test]
    fn taints_and_update_rules() {
        let node = json!({"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}, {"key": "k", "effect": "NoSchedule"}, {"key": "j"}]}});
        let errs: Vec<String> = NodeStrategy.validate(&node).iter().map(ToString::to_string).collect();
        assert_eq!(
            errs,
            [
                "metadata.taints[1]: Duplicate value: core.Taint{Key:\"k\", Value:\"\", Effect:\"NoSchedule\", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair",
                "metadata.taints[2].effect: Required value",
            ]
        );
        let old = json!({"spec": {"podCIDRs": ["10.0.0.0/24"]}});
        let new = json!({"spec": {"podCIDRs": ["10.0.1.0/24"]}});
        assert_eq!(
            NodeStrategy.validate_update(&new, &old)[0].to_string(),
            "spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid"
        );
    }

    #[test]
    fn table_cells() {
        let node = json!({
            "metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "master"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "Debian"},
                       "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}]}
        });
        let cells = NodeStrategy.cells(&node);
        assert_eq!(cells.len(), NodeStrategy.columns().len());
        assert_eq!(cells[0], json!("Ready,SchedulingDisabled"));
        assert_eq!(cells[1], json!("control-plane,master"));
        assert_eq!(cells[3..], [json!("v1.33.0"), json!("192.168.1.10"), json!("<none>"), json!("Debian"), json!("<unknown>"), json!("<unknown>")]);
        assert_eq!(NodeStrategy.field_value(&node, "spec.unschedulable").as_deref(), Some("true"));
    }
}
