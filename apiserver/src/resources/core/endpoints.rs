//! Endpoints: port protocol TCP by default, subset validation and the NAME ENDPOINTS AGE
//! table (upstream `formatEndpoints`: at most three "ip:port" entries, then "+ N more...").

use rkube_apimachinery::validation::{is_dns1123_label, is_qualified_name, name_is_dns_subdomain, FieldError};
use serde_json::{json, Value};

use super::container_validation::PROTOCOLS;
use super::service_validation::non_special_ip;
use super::util::{each_in, enum_member, invalid_each, ip_errors, list_at, list_of, port_num_errors, set_default_str, str_of};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The Endpoints strategy.
pub struct EndpointsStrategy;

impl Strategy for EndpointsStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(subsets) = obj.get_mut("subsets").and_then(Value::as_array_mut) {
            for ss in subsets.iter_mut().filter_map(Value::as_object_mut) {
                each_in(ss, "ports", |p| set_default_str(p, "protocol", "TCP"));
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        for (i, ss) in list_at(obj, "/subsets").iter().enumerate() {
            let path = format!("subsets[{i}]");
            if list_of(ss, "addresses").is_empty() && list_of(ss, "notReadyAddresses").is_empty() {
                errs.push(FieldError::required(&path, "must specify `addresses` or `notReadyAddresses`"));
            }
            for key in ["addresses", "notReadyAddresses"] {
                for (j, a) in list_of(ss, key).iter().enumerate() {
                    errs.extend(validate_address(a, &format!("{path}.{key}[{j}]")));
                }
            }
            let ports = list_of(ss, "ports");
            for (j, p) in ports.iter().enumerate() {
                errs.extend(validate_port(p, ports.len() > 1, &format!("{path}.ports[{j}]")));
            }
        }
        errs
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Endpoints", "string", "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service."),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![json!(format_endpoints(obj)), age_cell(obj)]
    }
}

fn validate_address(a: &Value, path: &str) -> Vec<FieldError> {
    let ip = str_of(a, "ip");
    let mut errs = ip_errors(&format!("{path}.ip"), ip);
    let hostname = str_of(a, "hostname");
    if !hostname.is_empty() {
        errs.extend(invalid_each(&format!("{path}.hostname"), hostname, is_dns1123_label(hostname)));
    }
    if let Some(node) = a.get("nodeName").and_then(Value::as_str) {
        errs.extend(invalid_each(&format!("{path}.nodeName"), node, name_is_dns_subdomain(node, false)));
    }
    errs.extend(non_special_ip(ip, &format!("{path}.ip")));
    errs
}

fn validate_port(p: &Value, require_name: bool, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_of(p, "name");
    if require_name && name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    } else if !name.is_empty() {
        errs.extend(invalid_each(&format!("{path}.name"), name, is_dns1123_label(name)));
    }
    let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
    for m in port_num_errors(port) {
        errs.push(FieldError::invalid(format!("{path}.port"), port, m));
    }
    errs.extend(enum_member(str_of(p, "protocol"), &format!("{path}.protocol"), PROTOCOLS));
    if let Some(app) = p.get("appProtocol").and_then(Value::as_str) {
        errs.extend(invalid_each(&format!("{path}.appProtocol"), app, is_qualified_name(app)));
    }
    errs
}

/// Upstream `formatEndpoints(endpoints, nil)`.
pub fn format_endpoints(obj: &Value) -> String {
    let subsets = list_at(obj, "/subsets");
    if subsets.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut count = 0usize;
    let mut more = false;
    let mut push = |entry: String| {
        count += 1;
        if list.len() == MAX {
            more = true;
        } else {
            list.push(entry);
        }
    };
    for ss in subsets {
        let addresses = list_of(ss, "addresses");
        let ports = list_of(ss, "ports");
        if ports.is_empty() {
            for a in addresses {
                push(str_of(a, "ip").to_string());
            }
            continue;
        }
        for p in ports {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            for a in addresses {
                let ip = str_of(a, "ip");
                push(if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") });
            }
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let mut ep = json!({"subsets": [{"addresses": [{"ip": "10.1.0.5"}], "ports": [{"port": 80}]}, {"ports": [{"port": 0, "protocol": "TCP"}]}]});
        EndpointsStrategy.default(&mut ep);
        assert_eq!(ep["subsets"][0]["ports"][0]["protocol"], "TCP");
        let errs: Vec<String> = EndpointsStrategy.validate(&ep).iter().map(ToString::to_string).collect();
        assert_eq!(
            errs,
            [
                "subsets[1]: Required value: must specify `addresses` or `notReadyAddresses`",
                "subsets[1].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            ]
        );
        let lo = json!({"subsets": [{"addresses": [{"ip": "127.0.0.1"}]}]});
        assert_eq!(
            EndpointsStrategy.validate(&lo)[0].to_string(),
            "subsets[0].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)"
        );
    }

    #[test]
    fn endpoint_cells() {
        let ep = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]}]});
        assert_eq!(EndpointsStrategy.cells(&ep)[0], json!("10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."));
        assert_eq!(format_endpoints(&json!({})), "<none>");
        let headless = json!({"subsets": [{"addresses": [{"ip": "10.0.0.9"}]}]});
        assert_eq!(format_endpoints(&headless), "10.0.0.9");
    }
}
