//! networking.k8s.io/v1 NetworkPolicy: upstream `SetDefaults_NetworkPolicy` (policy types,
//! port protocols), `ValidateNetworkPolicySpec` and the printer's columns.

use rkube_apimachinery::validation::FieldError;
use serde_json::{json, Value};

use super::net::{port_name_errors, port_num_errors, Cidr};
use crate::resources::apps::selector::{format_label_selector, validate_label_selector};
use crate::resources::apps::util::{at, go_string_slice, invalid_raw, list_at, opt_int, str_at};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The NetworkPolicy strategy.
pub struct NetworkPolicyStrategy;

impl Strategy for NetworkPolicyStrategy {
    fn default(&self, obj: &mut Value) {
        set_defaults(obj);
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_spec(obj)
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Pod-Selector", "string", "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods.  In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace."),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let sel = at(obj, "/spec/podSelector").cloned().unwrap_or(json!({}));
        vec![json!(format_label_selector(Some(&sel))), age_cell(obj)]
    }
}

/// Upstream `SetDefaults_NetworkPolicy` and `SetDefaults_NetworkPolicyPort`.
pub fn set_defaults(obj: &mut Value) {
    if list_at(obj, "/spec/policyTypes").is_empty() {
        let mut types = vec![json!("Ingress")];
        if !list_at(obj, "/spec/egress").is_empty() {
            types.push(json!("Egress"));
        }
        if let Some(spec) = crate::resources::apps::util::obj_at(obj, "/spec") {
            spec.insert("policyTypes".to_string(), Value::Array(types));
        }
    }
    for direction in ["ingress", "egress"] {
        let Some(rules) = obj.pointer_mut(&format!("/spec/{direction}")).and_then(Value::as_array_mut) else { continue };
        for ports in rules.iter_mut().filter_map(|r| r.get_mut("ports")).filter_map(Value::as_array_mut) {
            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                if port.get("protocol").is_none_or(Value::is_null) {
                    port.insert("protocol".to_string(), json!("TCP"));
                }
            }
        }
    }
}

/// Upstream `ValidateNetworkPolicySpec`.
pub fn validate_spec(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_label_selector(at(obj, "/spec/podSelector"), "spec.podSelector");
    for (direction, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in list_at(obj, &format!("/spec/{direction}")).iter().enumerate() {
            let path = format!("spec.{direction}[{i}]");
            for (j, port) in list_at(rule, "/ports").iter().enumerate() {
                errs.extend(validate_port(port, &format!("{path}.ports[{j}]")));
            }
            for (j, peer) in list_at(rule, &format!("/{peers}")).iter().enumerate() {
                errs.extend(validate_peer(peer, &format!("{path}.{peers}[{j}]")));
            }
        }
    }
    let types = list_at(obj, "/spec/policyTypes");
    if types.len() > 2 {
        errs.push(invalid_raw("spec.policyTypes", &format!("&{}", go_policy_types(at(obj, "/spec/policyTypes"))), "may not specify more than two policyTypes"));
        return errs;
    }
    for (i, t) in types.iter().enumerate() {
        let t = t.as_str().unwrap_or("");
        if t != "Ingress" && t != "Egress" {
            errs.push(FieldError::not_supported(format!("spec.policyTypes[{i}]"), t, &["Ingress", "Egress"]));
        }
    }
    errs
}

fn go_policy_types(v: Option<&Value>) -> String {
    go_string_slice(v).replacen("[]string", "[]networking.PolicyType", 1)
}

/// Upstream `ValidateNetworkPolicyPort`.
fn validate_port(port: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(proto) = at(port, "/protocol").and_then(Value::as_str) {
        if !["TCP", "UDP", "SCTP"].contains(&proto) {
            errs.push(FieldError::not_supported(format!("{path}.protocol"), proto, &["TCP", "UDP", "SCTP"]));
        }
    }
    let end_port = opt_int(port, "/endPort");
    match at(port, "/port") {
        Some(Value::Number(n)) => {
            let p = n.as_i64().unwrap_or(0);
            errs.extend(port_num_errors(p).into_iter().map(|m| FieldError::invalid(format!("{path}.port"), p, m)));
            if let Some(end) = end_port {
                if end < p {
                    errs.push(FieldError::invalid(format!("{path}.endPort"), p, "must be greater than or equal to `port`"));
                }
                errs.extend(port_num_errors(end).into_iter().map(|m| FieldError::invalid(format!("{path}.endPort"), end, m)));
            }
        }
        Some(named) => {
            if let Some(end) = end_port {
                errs.push(FieldError::invalid(format!("{path}.endPort"), end, "may not be specified when `port` is non-numeric"));
            }
            let name = named.as_str().unwrap_or("");
            errs.extend(port_name_errors(name).into_iter().map(|m| FieldError::invalid(format!("{path}.port"), name, m)));
        }
        None => {
            if let Some(end) = end_port {
                errs.push(FieldError::invalid(format!("{path}.endPort"), end, "may not be specified when `port` is not specified"));
            }
        }
    }
    errs
}

/// Upstream `ValidateNetworkPolicyPeer`: one peer kind, `ipBlock` alone.
fn validate_peer(peer: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    for key in ["podSelector", "namespaceSelector"] {
        if let Some(sel) = at(peer, &format!("/{key}")) {
            count += 1;
            errs.extend(validate_label_selector(Some(sel), &format!("{path}.{key}")));
        }
    }
    let ip_block = at(peer, "/ipBlock");
    if let Some(b) = ip_block {
        count += 1;
        errs.extend(validate_ip_block(b, &format!("{path}.ipBlock")));
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a peer"));
    } else if count > 1 && ip_block.is_some() {
        errs.push(FieldError::forbidden(path, "may not specify both ipBlock and another peer"));
    }
    errs
}

/// Upstream `ValidateIPBlock`: a CIDR and strict sub-ranges to exclude.
fn validate_ip_block(b: &Value, path: &str) -> Vec<FieldError> {
    let cidr = str_at(b, "/cidr");
    if cidr.is_empty() {
        return vec![FieldError::required(format!("{path}.cidr"), "")];
    }
    let Some(net) = Cidr::parse(cidr) else {
        return vec![FieldError::invalid(format!("{path}.cidr"), cidr, "not a valid CIDR")];
    };
    let mut errs = Vec::new();
    for (i, except) in list_at(b, "/except").iter().enumerate() {
        let except = except.as_str().unwrap_or("");
        let field = format!("{path}.except[{i}]");
        let Some(sub) = Cidr::parse(except) else {
            errs.push(FieldError::invalid(field, except, "not a valid CIDR"));
            return errs;
        };
        if !net.contains(&sub) || net.prefix() >= sub.prefix() {
            errs.push(FieldError::invalid(field, except, "must be a strict subset of `cidr`"));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Value {
        json!({"metadata": {"name": "db", "namespace": "default"}, "spec": {
            "podSelector": {"matchLabels": {"role": "db"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}}, {"podSelector": {}}], "ports": [{"port": 6379}]}],
            "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"port": 5978, "endPort": 6000}]}]
        }})
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_and_valid() {
        let mut p = policy();
        NetworkPolicyStrategy.default(&mut p);
        assert_eq!(p["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(p["spec"]["ingress"][0]["ports"][0]["protocol"], "TCP");
        assert!(NetworkPolicyStrategy.validate(&p).is_empty(), "{:?}", NetworkPolicyStrategy.validate(&p));
        assert_eq!(NetworkPolicyStrategy.cells(&p)[0], "role=db");
        let mut bare = json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}});
        NetworkPolicyStrategy.default(&mut bare);
        assert_eq!(bare["spec"]["policyTypes"], json!(["Ingress"]));
        assert_eq!(NetworkPolicyStrategy.cells(&bare)[0], "<none>");
    }

    #[test]
    fn invalid_peers_and_ports() {
        let mut p = policy();
        p["spec"]["ingress"] = json!([{"from": [{}, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}, "podSelector": {}}],
            "ports": [{"port": "http", "endPort": 90}, {"protocol": "ICMP", "port": 0}]}]);
        p["spec"]["policyTypes"] = json!(["Ingress", "Sideways"]);
        assert_eq!(
            msgs(&NetworkPolicyStrategy.validate(&p)),
            [
                "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
                "spec.ingress[0].ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
                "spec.ingress[0].ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ingress[0].from[0]: Required value: must specify a peer",
                "spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: \"11.0.0.0/16\": must be a strict subset of `cidr`",
                "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
                "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"",
            ]
        );
    }
}
