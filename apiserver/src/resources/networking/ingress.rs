//! networking.k8s.io/v1 Ingress: upstream `ValidateIngressCreate`/`ValidateIngressUpdate`
//! (rules, paths, backends, TLS, class), the initial status and the printer's columns.

use std::collections::BTreeSet;

use rkube_apimachinery::validation::{
    is_dns1123_subdomain, name_is_dns1035_label, name_is_dns_subdomain, FieldError,
};
use serde_json::{json, Value};

use super::net::{parse_ip_sloppy, port_name_errors, port_num_errors, wildcard_subdomain_errors};
use super::typedref::validate_typed_reference;
use crate::resources::apps::util::{at, invalid_each, invalid_raw, list_at, str_at};
use crate::resources::apps::workload::init_status;
use crate::resources::strategy::{age_cell, Column, Strategy};

const INGRESS_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
const INVALID_PATH_SEQUENCES: &[&str] = &["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES: &[&str] = &["/..", "/."];

/// The Ingress strategy.
pub struct IngressStrategy;

impl Strategy for IngressStrategy {
    fn prepare_for_create(&self, obj: &mut Value) {
        init_status(obj, json!({"loadBalancer": {}}));
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_spec(obj, false);
        let annotation = obj.pointer("/metadata/annotations").and_then(|a| a.get(INGRESS_CLASS_ANNOTATION));
        if let (Some(a), Some(_)) = (annotation, at(obj, "/spec/ingressClassName")) {
            errs.push(FieldError::invalid(
                format!("annotations.{INGRESS_CLASS_ANNOTATION}"),
                a.clone(),
                "can not be set when the class field is also set",
            ));
        }
        errs
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
            Column::new("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
            Column::new("Address", "string", "Address is a list containing ingress points for the load-balancer"),
            Column::new("Ports", "string", "Ports of TLS configurations that open"),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let ports = if list_at(obj, "/spec/tls").is_empty() { "80" } else { "80, 443" };
        vec![
            json!(at(obj, "/spec/ingressClassName").and_then(Value::as_str).unwrap_or("<none>")),
            json!(format_hosts(list_at(obj, "/spec/rules"))),
            json!(addresses(obj)),
            json!(ports),
            age_cell(obj),
        ]
    }
}

/// Upstream `formatHosts`: up to three hosts, `*` when none.
fn format_hosts(rules: &[Value]) -> String {
    let hosts: Vec<&str> = rules.iter().map(|r| str_at(r, "/host")).filter(|h| !h.is_empty()).take(3).collect();
    if hosts.is_empty() {
        return "*".to_string();
    }
    let list = hosts.join(",");
    if rules.len() > 3 {
        format!("{list} + {} more...", rules.len() - 3)
    } else {
        list
    }
}

/// The load balancer's IPs (or host names), sorted and unique.
fn addresses(obj: &Value) -> String {
    let set: BTreeSet<&str> = list_at(obj, "/status/loadBalancer/ingress")
        .iter()
        .map(|i| if str_at(i, "/ip").is_empty() { str_at(i, "/hostname") } else { str_at(i, "/ip") })
        .filter(|s| !s.is_empty())
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

/// Upstream `ValidateIngressSpec`; `lenient` relaxes checks for objects stored before they
/// tightened (unused on create).
pub fn validate_spec(obj: &Value, lenient: bool) -> Vec<FieldError> {
    let rules = list_at(obj, "/spec/rules");
    let default_backend = at(obj, "/spec/defaultBackend");
    let mut errs = Vec::new();
    if rules.is_empty() && default_backend.is_none() {
        let rendered = if at(obj, "/spec/rules").is_some() { "[]networking.IngressRule{}" } else { "[]networking.IngressRule(nil)" };
        errs.push(invalid_raw("spec", rendered, "either `defaultBackend` or `rules` must be specified"));
    }
    if let Some(b) = default_backend {
        errs.extend(validate_backend(b, "spec.defaultBackend"));
    }
    for (i, rule) in rules.iter().enumerate() {
        errs.extend(validate_rule(rule, &format!("spec.rules[{i}]"), lenient));
    }
    errs.extend(validate_tls(obj));
    if let Some(class) = at(obj, "/spec/ingressClassName").and_then(Value::as_str) {
        errs.extend(invalid_each("spec.ingressClassName", class, name_is_dns_subdomain(class, false)));
    }
    errs
}

/// One rule: host (a DNS name or wildcard, not an IP) and its HTTP paths.
fn validate_rule(rule: &Value, path: &str, lenient: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let host = str_at(rule, "/host");
    let mut wildcard = false;
    if !host.is_empty() {
        if parse_ip_sloppy(host).is_some() {
            errs.push(FieldError::invalid(format!("{path}.host"), host, "must be a DNS name, not an IP address"));
        }
        if host.contains('*') {
            errs.extend(invalid_each(&format!("{path}.host"), host, wildcard_subdomain_errors(host)));
            wildcard = true;
        } else {
            errs.extend(invalid_each(&format!("{path}.host"), host, is_dns1123_subdomain(host)));
        }
    }
    if !(wildcard && lenient) {
        if let Some(http) = at(rule, "/http") {
            errs.extend(validate_http(http, &format!("{path}.http")));
        }
    }
    errs
}

/// Upstream `validateHTTPIngressRuleValue`.
fn validate_http(http: &Value, path: &str) -> Vec<FieldError> {
    let paths = list_at(http, "/paths");
    let mut errs = Vec::new();
    if paths.is_empty() {
        errs.push(FieldError::required(format!("{path}.paths"), ""));
    }
    for (i, p) in paths.iter().enumerate() {
        errs.extend(validate_path(p, &format!("{path}.paths[{i}]")));
    }
    errs
}

/// Upstream `validateHTTPIngressPath`.
fn validate_path(p: &Value, path: &str) -> Vec<FieldError> {
    let Some(kind) = at(p, "/pathType").map(|v| v.as_str().unwrap_or("")) else {
        return vec![FieldError::required(format!("{path}.pathType"), "pathType must be specified")];
    };
    let value = str_at(p, "/path");
    let field = format!("{path}.path");
    let mut errs = Vec::new();
    match kind {
        "Exact" | "Prefix" => {
            if !value.starts_with('/') {
                errs.push(FieldError::invalid(field.clone(), value, "must be an absolute path"));
            }
            for seq in INVALID_PATH_SEQUENCES.iter().filter(|s| !value.is_empty() && value.contains(**s)) {
                errs.push(FieldError::invalid(field.clone(), value, format!("must not contain '{seq}'")));
            }
            for suffix in INVALID_PATH_SUFFIXES.iter().filter(|s| !value.is_empty() && value.ends_with(**s)) {
                errs.push(FieldError::invalid(field.clone(), value, format!("cannot end with '{suffix}'")));
            }
        }
        "ImplementationSpecific" => {
            if !value.is_empty() && !value.starts_with('/') {
                errs.push(FieldError::invalid(field, value, "must be an absolute path"));
            }
        }
        other => errs.push(FieldError::not_supported(
            format!("{path}.pathType"),
            other,
            &["Exact", "ImplementationSpecific", "Prefix"],
        )),
    }
    errs.extend(validate_backend(p.get("backend").unwrap_or(&Value::Null), &format!("{path}.backend")));
    errs
}

/// Upstream `validateIngressBackend`: exactly one of a resource or a service with a port.
fn validate_backend(b: &Value, path: &str) -> Vec<FieldError> {
    let (resource, service) = (at(b, "/resource"), at(b, "/service"));
    match (resource, service) {
        (Some(_), Some(_)) => vec![FieldError::invalid(path, "", "cannot set both resource and service backends")],
        (Some(r), None) => validate_typed_reference(r, &format!("{path}.resource")),
        (None, Some(s)) => validate_service_backend(s, path),
        (None, None) => vec![FieldError::invalid(path, "", "resource or service backend is required")],
    }
}

fn validate_service_backend(s: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_at(s, "/name");
    if name.is_empty() {
        errs.push(FieldError::required(format!("{path}.service.name"), ""));
    } else {
        errs.extend(invalid_each(&format!("{path}.service.name"), name, name_is_dns1035_label(name, false)));
    }
    let port_name = str_at(s, "/port/name");
    let port_number = s.pointer("/port/number").and_then(Value::as_i64).unwrap_or(0);
    match (!port_name.is_empty(), port_number != 0) {
        (true, true) => errs.push(FieldError::invalid(path, "", "cannot set both port name & port number")),
        (true, false) => errs.extend(invalid_each(&format!("{path}.service.port.name"), port_name, port_name_errors(port_name))),
        (false, true) => errs.extend(
            port_num_errors(port_number)
                .into_iter()
                .map(|m| FieldError::invalid(format!("{path}.service.port.number"), port_number, m)),
        ),
        (false, false) => errs.push(FieldError::required(path, "port name or number is required")),
    }
    errs
}

/// Upstream `validateIngressTLS`: hosts are DNS names (or wildcards), secrets valid names.
fn validate_tls(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, tls) in list_at(obj, "/spec/tls").iter().enumerate() {
        for (j, host) in list_at(tls, "/hosts").iter().enumerate() {
            let host = host.as_str().unwrap_or("");
            let field = format!("spec.tls[{i}].hosts[{j}]");
            let problems = if host.contains('*') { wildcard_subdomain_errors(host) } else { is_dns1123_subdomain(host) };
            errs.extend(invalid_each(&field, host, problems));
        }
        let secret = str_at(tls, "/secretName");
        if !secret.is_empty() {
            errs.extend(invalid_each(&format!("spec.tls[{i}].secretName"), secret, name_is_dns_subdomain(secret, false)));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingress() -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "foo.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
            ]}}]}
        })
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn valid_and_status() {
        let mut i = ingress();
        assert!(IngressStrategy.validate(&i).is_empty(), "{:?}", IngressStrategy.validate(&i));
        IngressStrategy.prepare_for_create(&mut i);
        assert_eq!(i["status"], json!({"loadBalancer": {}}));
    }

    #[test]
    fn rule_errors() {
        let mut i = ingress();
        i["spec"]["rules"] = json!([
            {"host": "1.2.3.4", "http": {"paths": [{"path": "a//b", "pathType": "Exact", "backend": {"service": {"name": "web"}}}]}},
            {"http": {"paths": [{"path": "/"}]}}
        ]);
        i["metadata"]["annotations"] = json!({"kubernetes.io/ingress.class": "nginx"});
        assert_eq!(
            msgs(&IngressStrategy.validate(&i)),
            [
                "spec.rules[0].host: Invalid value: \"1.2.3.4\": must be a DNS name, not an IP address",
                "spec.rules[0].http.paths[0].path: Invalid value: \"a//b\": must be an absolute path",
                "spec.rules[0].http.paths[0].path: Invalid value: \"a//b\": must not contain '//'",
                "spec.rules[0].http.paths[0].backend: Required value: port name or number is required",
                "spec.rules[1].http.paths[0].pathType: Required value: pathType must be specified",
                "annotations.kubernetes.io/ingress.class: Invalid value: \"nginx\": can not be set when the class field is also set",
            ]
        );
        let empty = json!({"metadata": {"name": "x"}, "spec": {}});
        assert_eq!(msgs(&IngressStrategy.validate(&empty)), ["spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"]);
    }

    #[test]
    fn table_row() {
        let mut i = ingress();
        i["spec"]["tls"] = json!([{"hosts": ["foo.example.com"], "secretName": "tls"}]);
        i["status"] = json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}, {"hostname": "lb.example.com"}, {"ip": "10.0.0.2"}]}});
        let cells = IngressStrategy.cells(&i);
        assert_eq!(cells.len(), IngressStrategy.columns().len());
        assert_eq!(cells[..4], [json!("nginx"), json!("foo.example.com"), json!("10.0.0.2,lb.example.com"), json!("80, 443")]);
        let many: Vec<Value> = (0..5).map(|n| json!({"host": format!("h{n}.io")})).collect();
        assert_eq!(format_hosts(&many), "h0.io,h1.io,h2.io + 2 more...");
    }
}
