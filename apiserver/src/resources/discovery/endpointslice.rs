//! discovery.k8s.io/v1 EndpointSlice: upstream's port defaults, `ValidateEndpointSlice`
//! (address type, endpoints, ports), the generation it keeps without a spec and the
//! printer's columns.

use std::collections::BTreeSet;
use std::net::IpAddr;

use rkube_apimachinery::validation::{
    is_dns1123_label, is_dns1123_subdomain, is_qualified_name, name_is_dns_subdomain, validate_labels, FieldError,
};
use serde_json::{json, Value};

use crate::resources::apps::util::{at, immutable, invalid_each, list_at, str_at, string_map};
use crate::resources::apps::workload::bump_generation_if;
use crate::resources::networking::net::parse_ip_sloppy;
use crate::resources::strategy::{age_cell, Column, Strategy};

const MAX_ENDPOINTS: usize = 1000;
const MAX_ADDRESSES: usize = 100;
const MAX_PORTS: usize = 20000;
const MAX_TOPOLOGY_LABELS: usize = 16;
const MAX_HINTS: usize = 8;
const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// The EndpointSlice strategy.
pub struct EndpointSliceStrategy;

impl Strategy for EndpointSliceStrategy {
    fn default(&self, obj: &mut Value) {
        let Some(ports) = obj.get_mut("ports").and_then(Value::as_array_mut) else { return };
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            if port.get("name").is_none_or(Value::is_null) {
                port.insert("name".to_string(), json!(""));
            }
            if port.get("protocol").is_none_or(Value::is_null) {
                port.insert("protocol".to_string(), json!("TCP"));
            }
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("generation".to_string(), json!(1));
        }
    }

    fn prepare_for_update(&self, obj: &mut Value, old: &Value) {
        let strip = |o: &Value| -> Value {
            let mut c = o.clone();
            if let Some(m) = c.as_object_mut() {
                m.remove("metadata");
            }
            c
        };
        let changed = strip(obj) != strip(old) || at(obj, "/metadata/labels") != at(old, "/metadata/labels");
        bump_generation_if(obj, old, changed);
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let address_type = str_at(obj, "/addressType");
        let mut errs = match address_type {
            "" => vec![FieldError::required("addressType", "")],
            t if !ADDRESS_TYPES.contains(&t) => vec![FieldError::not_supported("addressType", t, ADDRESS_TYPES)],
            _ => vec![],
        };
        errs.extend(validate_endpoints(list_at(obj, "/endpoints"), address_type));
        errs.extend(validate_ports(list_at(obj, "/ports")));
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        immutable(at(obj, "/addressType"), at(old, "/addressType"), "addressType")
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("AddressType", "string", "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name."),
            Column::new("Ports", "string", "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports."),
            Column::new("Endpoints", "string", "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints."),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let ports: Vec<String> = list_at(obj, "/ports")
            .iter()
            .map(|p| match (at(p, "/port").and_then(Value::as_i64), at(p, "/name").and_then(Value::as_str)) {
                (Some(n), _) => n.to_string(),
                (None, Some(name)) => name.to_string(),
                (None, None) => "*".to_string(),
            })
            .collect();
        let addresses: Vec<String> = list_at(obj, "/endpoints")
            .iter()
            .flat_map(|e| list_at(e, "/addresses").iter().map(|a| a.as_str().unwrap_or("").to_string()))
            .collect();
        vec![json!(str_at(obj, "/addressType")), json!(list_with_more(&ports)), json!(list_with_more(&addresses)), age_cell(obj)]
    }
}

/// Upstream `listWithMoreString` over at most three items, `<unset>` when empty.
fn list_with_more(items: &[String]) -> String {
    let shown = items.iter().take(3).cloned().collect::<Vec<_>>().join(",");
    if items.len() > 3 {
        format!("{shown} + {} more...", items.len() - 3)
    } else if shown.is_empty() {
        "<unset>".to_string()
    } else {
        shown
    }
}

/// Upstream `validateEndpoints`.
fn validate_endpoints(endpoints: &[Value], address_type: &str) -> Vec<FieldError> {
    if endpoints.len() > MAX_ENDPOINTS {
        return vec![FieldError::too_many("endpoints", Some(endpoints.len() as i64), MAX_ENDPOINTS as i64)];
    }
    let mut errs = Vec::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        let path = format!("endpoints[{i}]");
        let addresses = list_at(endpoint, "/addresses");
        if addresses.is_empty() {
            errs.push(FieldError::required(format!("{path}.addresses"), "must contain at least 1 address"));
        } else if addresses.len() > MAX_ADDRESSES {
            errs.push(FieldError::too_many(format!("{path}.addresses"), Some(addresses.len() as i64), MAX_ADDRESSES as i64));
        }
        for (j, address) in addresses.iter().enumerate() {
            errs.extend(validate_address(address.as_str().unwrap_or(""), address_type, &format!("{path}.addresses[{j}]")));
        }
        if let Some(node) = at(endpoint, "/nodeName").and_then(Value::as_str) {
            errs.extend(invalid_each(&format!("{path}.nodeName"), node, name_is_dns_subdomain(node, false)));
        }
        errs.extend(validate_topology(endpoint, &path));
        if let Some(host) = at(endpoint, "/hostname").and_then(Value::as_str) {
            errs.extend(invalid_each(&format!("{path}.hostname"), host, is_dns1123_label(host)));
        }
        for (key, max) in [("forZones", MAX_HINTS), ("forNodes", MAX_HINTS)] {
            let hints = list_at(endpoint, &format!("/hints/{key}"));
            if hints.len() > max {
                errs.push(FieldError::too_many(format!("{path}.hints.{key}"), Some(hints.len() as i64), max as i64));
            }
        }
    }
    errs
}

/// The deprecated topology labels and the zone.
fn validate_topology(endpoint: &Value, path: &str) -> Vec<FieldError> {
    let topology = string_map(at(endpoint, "/deprecatedTopology"));
    let field = format!("{path}.deprecatedTopology");
    let mut errs = Vec::new();
    if topology.len() > MAX_TOPOLOGY_LABELS {
        errs.push(FieldError::too_many(field.clone(), Some(topology.len() as i64), MAX_TOPOLOGY_LABELS as i64));
    }
    errs.extend(validate_labels(topology.iter().map(|(k, v)| (k.as_str(), v.as_str())), &field));
    if let Some(zone) = at(endpoint, "/zone").and_then(Value::as_str) {
        errs.extend(invalid_each(&format!("{path}.zone"), zone, is_qualified_name(zone)));
    }
    errs
}

/// One address, checked by the slice's address type.
fn validate_address(address: &str, address_type: &str, path: &str) -> Vec<FieldError> {
    match address_type {
        "IPv4" => match parse_ip_sloppy(address) {
            Some(ip @ IpAddr::V4(_)) => endpoint_ip_errors(ip, address, path),
            _ => vec![FieldError::invalid(path, address, "must be a valid IPv4 address")],
        },
        "IPv6" => match address.parse::<IpAddr>() {
            Ok(ip @ IpAddr::V6(_)) => endpoint_ip_errors(ip, address, path),
            _ => vec![FieldError::invalid(path, address, "must be a valid IPv6 address")],
        },
        "FQDN" => fqdn_errors(address, path),
        _ => vec![],
    }
}

/// Upstream `ValidateEndpointIP`: no unspecified, loopback or link-local addresses.
fn endpoint_ip_errors(ip: IpAddr, address: &str, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if ip.is_unspecified() {
        errs.push(FieldError::invalid(path, address, format!("may not be unspecified ({address})")));
    }
    if ip.is_loopback() {
        errs.push(FieldError::invalid(path, address, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
    }
    let (link_local, link_local_multicast) = match ip {
        IpAddr::V4(a) => (a.is_link_local(), a.octets()[..3] == [224, 0, 0]),
        IpAddr::V6(a) => ((a.segments()[0] & 0xffc0) == 0xfe80, (a.segments()[0] & 0xff0f) == 0xff02),
    };
    if link_local {
        errs.push(FieldError::invalid(path, address, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"));
    }
    if link_local_multicast {
        errs.push(FieldError::invalid(path, address, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"));
    }
    errs
}

/// Upstream `IsFullyQualifiedDomainName`.
fn fqdn_errors(name: &str, path: &str) -> Vec<FieldError> {
    if name.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let errs = is_dns1123_subdomain(name);
    if !errs.is_empty() {
        return vec![FieldError::invalid(path, name, errs.join(","))];
    }
    if name.split('.').count() < 2 {
        return vec![FieldError::invalid(path, name, "should be a domain with at least two segments separated by dots")];
    }
    name.split('.')
        .find_map(|label| {
            let e = is_dns1123_label(label);
            (!e.is_empty()).then(|| FieldError::invalid(path, label, e.join(",")))
        })
        .into_iter()
        .collect()
}

/// Upstream `validatePorts`.
fn validate_ports(ports: &[Value]) -> Vec<FieldError> {
    if ports.len() > MAX_PORTS {
        return vec![FieldError::too_many("ports", Some(ports.len() as i64), MAX_PORTS as i64)];
    }
    let mut errs = Vec::new();
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let path = format!("ports[{i}]");
        let name = str_at(port, "/name");
        if !name.is_empty() {
            errs.extend(invalid_each(&format!("{path}.name"), name, is_dns1123_label(name)));
        }
        if !names.insert(name) {
            errs.push(FieldError::duplicate(format!("{path}.name"), name));
        }
        match at(port, "/protocol").map(|p| p.as_str().unwrap_or("")) {
            None => errs.push(FieldError::required(format!("{path}.protocol"), "")),
            Some(p) if !PROTOCOLS.contains(&p) => errs.push(FieldError::not_supported(format!("{path}.protocol"), p, PROTOCOLS)),
            Some(_) => {}
        }
        if let Some(app) = at(port, "/appProtocol").and_then(Value::as_str) {
            errs.extend(invalid_each(&format!("{path}.appProtocol"), app, is_qualified_name(app)));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice() -> Value {
        json!({"metadata": {"name": "web-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.1.2.3"], "conditions": {"ready": true}}, {"addresses": ["10.1.2.4"]}],
            "ports": [{"port": 80}]})
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_generation_and_valid() {
        let mut s = slice();
        EndpointSliceStrategy.default(&mut s);
        assert_eq!(s["ports"][0], json!({"port": 80, "name": "", "protocol": "TCP"}));
        EndpointSliceStrategy.prepare_for_create(&mut s);
        assert_eq!(s["metadata"]["generation"], 1);
        assert!(EndpointSliceStrategy.validate(&s).is_empty());
        let mut relabeled = s.clone();
        relabeled["metadata"]["labels"]["x"] = json!("y");
        EndpointSliceStrategy.prepare_for_update(&mut relabeled, &s);
        assert_eq!(relabeled["metadata"]["generation"], 2);
        let cells = EndpointSliceStrategy.cells(&s);
        assert_eq!(cells[..3], [json!("IPv4"), json!("80"), json!("10.1.2.3,10.1.2.4")]);
    }

    #[test]
    fn invalid_addresses_and_ports() {
        let s = json!({"metadata": {"name": "x"}, "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.0.0.1", "fe80::1"]}, {"addresses": []}],
            "ports": [{"name": "http", "protocol": "TCP"}, {"name": "http", "protocol": "ICMP"}]});
        assert_eq!(
            msgs(&EndpointSliceStrategy.validate(&s)),
            [
                "endpoints[0].addresses[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
                "endpoints[0].addresses[1]: Invalid value: \"fe80::1\": must be a valid IPv4 address",
                "endpoints[1].addresses: Required value: must contain at least 1 address",
                "ports[1].name: Duplicate value: \"http\"",
                "ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            ]
        );
        let bad = json!({"metadata": {"name": "x"}, "addressType": "Foo"});
        assert_eq!(msgs(&EndpointSliceStrategy.validate(&bad)), ["addressType: Unsupported value: \"Foo\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""]);
        assert_eq!(list_with_more(&[]), "<unset>");
        let fqdn = fqdn_errors("localhost", "a");
        assert_eq!(fqdn[0].to_string(), "a: Invalid value: \"localhost\": should be a domain with at least two segments separated by dots");
    }
}
