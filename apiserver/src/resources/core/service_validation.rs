//! Service validation (upstream `ValidateService`, `ValidateServiceUpdate` and the
//! ClusterIP / IP-family rules), with upstream's messages.

use std::collections::BTreeSet;

use rkube_apimachinery::validation::{
    is_dns1123_label, is_dns1123_subdomain, is_qualified_name, validate_labels, FieldError, FieldErrorType,
};
use serde_json::Value;

use super::container_validation::PROTOCOLS;
use super::util::{invalid_each, ip_errors, list_at, list_of, parse_ip, port_num_errors, port_num_or_name, str_at, str_of, string_map};

/// ClientIP affinity timeout ceiling (one day).
const MAX_AFFINITY_SECONDS: i64 = 86400;

/// True when the service is headless (`clusterIPs == ["None"]`).
pub fn is_headless(svc: &Value) -> bool {
    let ips = list_at(svc, "/spec/clusterIPs");
    ips.len() == 1 && ips[0].as_str() == Some("None")
}

/// Upstream `ExternallyAccessible`: NodePort, LoadBalancer, or ClusterIP with externalIPs.
pub fn externally_accessible(svc: &Value) -> bool {
    match str_at(svc, "/spec/type") {
        "LoadBalancer" | "NodePort" => true,
        "ClusterIP" => !list_at(svc, "/spec/externalIPs").is_empty(),
        _ => false,
    }
}

/// Upstream `NeedsHealthCheck`: LoadBalancer with externalTrafficPolicy Local.
pub fn needs_health_check(svc: &Value) -> bool {
    str_at(svc, "/spec/type") == "LoadBalancer" && str_at(svc, "/spec/externalTrafficPolicy") == "Local"
}

/// Upstream `ValidateService` (minus metadata, validated generically).
pub fn validate_service(svc: &Value) -> Vec<FieldError> {
    let spec = svc.get("spec").unwrap_or(&Value::Null);
    let kind = str_of(spec, "type");
    let headless = is_headless(svc);
    let mut errs = Vec::new();
    let ports = list_of(spec, "ports");
    if ports.is_empty() && !headless && kind != "ExternalName" {
        errs.push(FieldError::required("spec.ports", ""));
    }
    errs.extend(type_specific(spec, kind, headless));
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        errs.extend(validate_service_port(p, ports.len() > 1, &mut names, &format!("spec.ports[{i}]")));
    }
    if spec.get("selector").is_some_and(|v| !v.is_null()) {
        let sel = string_map(spec.get("selector"));
        errs.extend(validate_labels(sel.iter().map(|(k, v)| (k.as_str(), v.as_str())), "spec.selector"));
    }
    errs.extend(session_affinity(spec));
    errs.extend(cluster_ips_related(svc));
    errs.extend(external_ips(spec));
    errs.extend(type_and_node_ports(spec, kind));
    errs.extend(load_balancer_fields(svc, kind));
    errs.extend(traffic_policies(svc, kind));
    errs
}

fn type_specific(spec: &Value, kind: &str, headless: bool) -> Vec<FieldError> {
    let first_ip = || list_of(spec, "clusterIPs").first().cloned().unwrap_or(Value::Null);
    match kind {
        "LoadBalancer" | "NodePort" if headless => vec![FieldError::invalid(
            "spec.clusterIPs[0]",
            first_ip(),
            format!("may not be set to 'None' for {kind} services"),
        )],
        "ExternalName" => {
            let mut errs = Vec::new();
            let forbid = "may not be set for ExternalName services";
            if !list_of(spec, "clusterIPs").is_empty() {
                errs.push(FieldError::forbidden("spec.clusterIPs", forbid));
            }
            if !list_of(spec, "ipFamilies").is_empty() {
                errs.push(FieldError::forbidden("spec.ipFamilies", forbid));
            }
            if spec.get("ipFamilyPolicy").is_some_and(|v| !v.is_null()) {
                errs.push(FieldError::forbidden("spec.ipFamilyPolicy", forbid));
            }
            let cname = str_of(spec, "externalName").trim_end_matches('.');
            if cname.is_empty() {
                errs.push(FieldError::required("spec.externalName", ""));
            } else {
                errs.extend(invalid_each("spec.externalName", cname, is_dns1123_subdomain(cname)));
            }
            errs
        }
        _ => vec![],
    }
}

/// Upstream `validateServicePort`.
fn validate_service_port(p: &Value, require_name: bool, names: &mut BTreeSet<String>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_of(p, "name");
    if require_name && name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    } else if !name.is_empty() {
        errs.extend(invalid_each(&format!("{path}.name"), name, is_dns1123_label(name)));
        if !names.insert(name.to_string()) {
            errs.push(FieldError::duplicate(format!("{path}.name"), name));
        }
    }
    let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
    for m in port_num_errors(port) {
        errs.push(FieldError::invalid(format!("{path}.port"), port, m));
    }
    let proto = str_of(p, "protocol");
    if proto.is_empty() {
        errs.push(FieldError::required(format!("{path}.protocol"), ""));
    } else if !PROTOCOLS.contains(&proto) {
        errs.push(FieldError::not_supported(format!("{path}.protocol"), proto, PROTOCOLS));
    }
    errs.extend(port_num_or_name(p.get("targetPort"), &format!("{path}.targetPort")));
    if let Some(app) = p.get("appProtocol").and_then(Value::as_str) {
        errs.extend(invalid_each(&format!("{path}.appProtocol"), app, is_qualified_name(app)));
    }
    errs
}

fn session_affinity(spec: &Value) -> Vec<FieldError> {
    let affinity = str_of(spec, "sessionAffinity");
    let config = spec.get("sessionAffinityConfig").filter(|v| !v.is_null());
    match affinity {
        "" => vec![FieldError::required("spec.sessionAffinity", "")],
        "None" if config.is_some() => {
            vec![FieldError::forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")]
        }
        "None" => vec![],
        "ClientIP" => client_ip_config(config),
        other => vec![FieldError::not_supported("spec.sessionAffinity", other, &["ClientIP", "None"])],
    }
}

fn client_ip_config(config: Option<&Value>) -> Vec<FieldError> {
    let when = "when session affinity type is ClientIP";
    let path = "spec.sessionAffinityConfig";
    let Some(config) = config else { return vec![FieldError::required(path, when)] };
    let Some(client) = config.get("clientIP").filter(|v| !v.is_null()) else {
        return vec![FieldError::required(format!("{path}.clientIP"), when)];
    };
    match client.get("timeoutSeconds").and_then(Value::as_i64) {
        None => vec![FieldError::required(format!("{path}.clientIP.timeoutSeconds"), when)],
        Some(t) if t <= 0 || t > MAX_AFFINITY_SECONDS => vec![FieldError::invalid(
            format!("{path}.clientIP.timeoutSeconds"),
            t,
            format!("must be greater than 0 and less than {MAX_AFFINITY_SECONDS}"),
        )],
        Some(_) => vec![],
    }
}

/// Upstream `ValidateServiceClusterIPsRelatedFields`.
fn cluster_ips_related(svc: &Value) -> Vec<FieldError> {
    let spec = svc.get("spec").unwrap_or(&Value::Null);
    if str_of(spec, "type") == "ExternalName" {
        return vec![];
    }
    let mut errs = Vec::new();
    let ips: Vec<&str> = list_of(spec, "clusterIPs").iter().map(|v| v.as_str().unwrap_or("")).collect();
    let ips_value = Value::from(ips.clone());
    let cluster_ip = str_of(spec, "clusterIP");
    if !cluster_ip.is_empty() {
        if ips.is_empty() {
            errs.push(FieldError::required("spec.clusterIPs", ""));
        } else if ips[0] != cluster_ip {
            errs.push(FieldError::invalid("spec.clusterIPs", ips_value.clone(), "first value must match `clusterIP`"));
        }
    } else if !ips.is_empty() {
        errs.push(FieldError::invalid("spec.clusterIPs", ips_value.clone(), "must be empty when `clusterIP` is not specified"));
    }
    let mut seen = BTreeSet::new();
    for (i, fam) in list_of(spec, "ipFamilies").iter().enumerate() {
        let fam = fam.as_str().unwrap_or("");
        if fam != "IPv4" && fam != "IPv6" {
            errs.push(FieldError::not_supported(format!("spec.ipFamilies[{i}]"), fam, &["IPv4", "IPv6"]));
        }
        if !seen.insert(fam) {
            errs.push(FieldError::duplicate(format!("spec.ipFamilies[{i}]"), fam));
        }
    }
    if let Some(policy) = spec.get("ipFamilyPolicy").and_then(Value::as_str) {
        const POLICIES: &[&str] = &["PreferDualStack", "RequireDualStack", "SingleStack"];
        if !POLICIES.contains(&policy) {
            errs.push(FieldError::not_supported("spec.ipFamilyPolicy", policy, POLICIES));
        }
    }
    let mut invalid = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && *ip == "None" {
            if ips.len() > 1 {
                invalid = true;
                errs.push(FieldError::invalid("spec.clusterIPs", ips_value.clone(), "'None' must be the first and only value"));
            }
            continue;
        }
        let e = ip_errors(&format!("spec.clusterIPs[{i}]"), ip);
        invalid |= !e.is_empty();
        errs.extend(e);
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid("spec.clusterIPs", ips_value.clone(), "may only hold up to 2 values"));
    }
    if invalid {
        return errs;
    }
    errs.extend(dual_stack_rules(svc, &ips, ips_value));
    errs
}

fn dual_stack_rules(svc: &Value, ips: &[&str], ips_value: Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let is_v6 = |ip: &str| parse_ip(ip).is_some_and(|a| a.is_ipv6());
    if ips.len() > 1 && is_v6(ips[0]) == is_v6(ips[1]) {
        errs.push(FieldError::invalid("spec.clusterIPs", ips_value, "may specify no more than one IP for each IP family"));
    }
    let families = list_at(svc, "/spec/ipFamilies");
    if !is_headless(svc) {
        for (i, ip) in ips.iter().enumerate().take(families.len()) {
            let fam = families[i].as_str().unwrap_or("");
            if fam == "IPv4" && is_v6(ip) {
                errs.push(FieldError::invalid(format!("spec.clusterIPs[{i}]"), *ip, format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`")));
            }
            if fam == "IPv6" && !is_v6(ip) {
                errs.push(FieldError::invalid(format!("spec.clusterIPs[{i}]"), *ip, format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`")));
            }
        }
    }
    errs
}

fn external_ips(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ip) in list_of(spec, "externalIPs").iter().enumerate() {
        let ip = ip.as_str().unwrap_or("");
        let path = format!("spec.externalIPs[{i}]");
        let e = ip_errors(&path, ip);
        if e.is_empty() {
            errs.extend(non_special_ip(ip, &path));
        } else {
            errs.extend(e);
        }
    }
    errs
}

/// Upstream `ValidateNonSpecialIP`.
pub fn non_special_ip(ip: &str, path: &str) -> Vec<FieldError> {
    let Some(addr) = parse_ip(ip) else {
        return vec![FieldError::invalid(path, ip, "must be a valid IP address")];
    };
    let mut errs = Vec::new();
    if addr.is_unspecified() {
        errs.push(FieldError::invalid(path, ip, format!("may not be unspecified ({ip})")));
    }
    if addr.is_loopback() {
        errs.push(FieldError::invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
    }
    let link_local = match addr {
        std::net::IpAddr::V4(a) => a.is_link_local(),
        std::net::IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
    };
    if link_local {
        errs.push(FieldError::invalid(path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"));
    }
    let ll_multicast = match addr {
        std::net::IpAddr::V4(a) => a.octets()[..3] == [224, 0, 0],
        std::net::IpAddr::V6(a) => (a.segments()[0] & 0xff0f) == 0xff02,
    };
    if ll_multicast {
        errs.push(FieldError::invalid(path, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"));
    }
    errs
}

/// type required and supported; nodePort rules; duplicate (protocol, port) pairs.
fn type_and_node_ports(spec: &Value, kind: &str) -> Vec<FieldError> {
    const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    let mut errs = Vec::new();
    if kind.is_empty() {
        errs.push(FieldError::required("spec.type", ""));
    } else if !TYPES.contains(&kind) {
        errs.push(FieldError::not_supported("spec.type", kind, TYPES));
    }
    let ports = list_of(spec, "ports");
    let node_port = |p: &Value| p.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
    if kind == "ClusterIP" {
        for (i, p) in ports.iter().enumerate() {
            if node_port(p) != 0 {
                errs.push(FieldError::forbidden(format!("spec.ports[{i}].nodePort"), "may not be used when `type` is 'ClusterIP'"));
            }
        }
    }
    let mut node_ports = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let np = node_port(p);
        if np != 0 && !node_ports.insert((str_of(p, "protocol").to_string(), np)) {
            errs.push(FieldError::duplicate(format!("spec.ports[{i}].nodePort"), np));
        }
    }
    let mut pairs = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let proto = str_of(p, "protocol");
        let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
        if !pairs.insert((proto.to_string(), port)) {
            let shown = format!(
                "core.ServicePort{{Name:\"\", Protocol:\"{proto}\", AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}"
            );
            errs.push(FieldError::new(FieldErrorType::Duplicate, format!("spec.ports[{i}]"), None, shown));
        }
    }
    errs
}

fn load_balancer_fields(svc: &Value, kind: &str) -> Vec<FieldError> {
    let spec = svc.get("spec").unwrap_or(&Value::Null);
    let mut errs = Vec::new();
    let ranges = list_of(spec, "loadBalancerSourceRanges");
    if !ranges.is_empty() {
        if kind != "LoadBalancer" {
            errs.push(FieldError::forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"));
        }
        for (i, r) in ranges.iter().enumerate() {
            let value = r.as_str().unwrap_or("").trim();
            if !is_cidr(value) {
                errs.push(FieldError::invalid(
                    format!("spec.LoadBalancerSourceRanges[{i}]"),
                    value,
                    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                ));
            }
        }
    }
    let allocate = spec.get("allocateLoadBalancerNodePorts").filter(|v| !v.is_null());
    if allocate.is_some() && kind != "LoadBalancer" {
        errs.push(FieldError::forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"));
    }
    if kind == "LoadBalancer" && allocate.is_none() {
        errs.push(FieldError::required("allocateLoadBalancerNodePorts", ""));
    }
    errs
}

fn is_cidr(value: &str) -> bool {
    let Some((ip, bits)) = value.split_once('/') else { return false };
    let Some(addr) = parse_ip(ip) else { return false };
    let max = if addr.is_ipv6() { 128 } else { 32 };
    bits.parse::<u32>().is_ok_and(|b| b <= max) && !bits.starts_with('+')
}

fn traffic_policies(svc: &Value, kind: &str) -> Vec<FieldError> {
    let spec = svc.get("spec").unwrap_or(&Value::Null);
    let mut errs = Vec::new();
    let etp = str_of(spec, "externalTrafficPolicy");
    if !externally_accessible(svc) {
        if !etp.is_empty() {
            errs.push(FieldError::invalid("spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services"));
        }
    } else if etp.is_empty() {
        errs.push(FieldError::required("spec.externalTrafficPolicy", ""));
    } else if etp != "Cluster" && etp != "Local" {
        errs.push(FieldError::not_supported("spec.externalTrafficPolicy", etp, &["Cluster", "Local"]));
    }
    let hc = spec.get("healthCheckNodePort").and_then(Value::as_i64).unwrap_or(0);
    if !needs_health_check(svc) {
        if hc != 0 {
            errs.push(FieldError::invalid(
                "spec.healthCheckNodePort",
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        }
    } else if hc == 0 {
        errs.push(FieldError::required("spec.healthCheckNodePort", ""));
    } else {
        for m in port_num_errors(hc) {
            errs.push(FieldError::invalid("spec.healthCheckNodePort", hc, m));
        }
    }
    match spec.get("internalTrafficPolicy").and_then(Value::as_str) {
        None if matches!(kind, "NodePort" | "LoadBalancer" | "ClusterIP") => {
            errs.push(FieldError::required("spec.internalTrafficPolicy", ""));
        }
        Some(p) if p != "Cluster" && p != "Local" => {
            errs.push(FieldError::not_supported("spec.internalTrafficPolicy", p, &["Cluster", "Local"]));
        }
        _ => {}
    }
    if let Some(td) = spec.get("trafficDistribution").and_then(Value::as_str) {
        if td != "PreferClose" {
            errs.push(FieldError::not_supported("spec.trafficDistribution", td, &["PreferClose"]));
        }
    }
    errs
}

/// Single-stack (IPv4) cluster checks done at allocation time upstream.
pub fn single_stack_rules(svc: &Value) -> Vec<FieldError> {
    let spec = svc.get("spec").unwrap_or(&Value::Null);
    if str_of(spec, "type") == "ExternalName" || (is_headless(svc) && string_map(spec.get("selector")).is_empty()) {
        return vec![];
    }
    let mut errs = Vec::new();
    if str_of(spec, "ipFamilyPolicy") == "RequireDualStack" {
        errs.push(FieldError::invalid("spec.ipFamilyPolicy", "RequireDualStack", "this cluster is not configured for dual-stack services"));
    }
    for (i, fam) in list_of(spec, "ipFamilies").iter().enumerate() {
        if fam.as_str() == Some("IPv6") {
            errs.push(FieldError::invalid(format!("spec.ipFamilies[{i}]"), "IPv6", "not configured on this cluster"));
        }
    }
    errs
}

/// Upstream `ValidateServiceUpdate`'s own rules (ClusterIPs and families may not change,
/// healthCheckNodePort is immutable).
pub fn validate_service_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let external = str_at(new, "/spec/type") == "ExternalName" || str_at(old, "/spec/type") == "ExternalName";
    if !external {
        errs.extend(cluster_ip_changes(new, old));
        errs.extend(family_changes(new, old));
    }
    if needs_health_check(new) && needs_health_check(old) && new.pointer("/spec/healthCheckNodePort") != old.pointer("/spec/healthCheckNodePort") {
        errs.push(FieldError::forbidden("spec.healthCheckNodePort", "field is immutable"));
    }
    errs
}

fn strings(svc: &Value, pointer: &str) -> Vec<String> {
    list_at(svc, pointer).iter().map(|v| v.as_str().unwrap_or("").to_string()).collect()
}

/// Upstream `validateUpgradeDowngradeClusterIPs`.
fn cluster_ip_changes(new: &Value, old: &Value) -> Vec<FieldError> {
    if is_headless(new) && is_headless(old) {
        return vec![];
    }
    let (n, o) = (strings(new, "/spec/clusterIPs"), strings(old, "/spec/clusterIPs"));
    let shown = Value::from(n.clone());
    let changed = || FieldError::invalid("spec.clusterIPs[0]", shown.clone(), "may not change once set");
    let mut errs = Vec::new();
    if n.len() == o.len() {
        for (i, ip) in o.iter().enumerate() {
            if *ip != n[i] {
                errs.push(FieldError::invalid(format!("spec.clusterIPs[{i}]"), shown.clone(), "may not change once set"));
            }
        }
    } else if o.len() > n.len() {
        if n.is_empty() {
            errs.push(FieldError::invalid("spec.clusterIPs[0]", shown.clone(), "primary clusterIP can not be unset"));
        }
        if !o.is_empty() && !n.is_empty() && n[0] != o[0] {
            errs.push(changed());
        }
        if n.len() == 1 && str_at(new, "/spec/ipFamilyPolicy") != "SingleStack" {
            let policy = new.pointer("/spec/ipFamilyPolicy").cloned().unwrap_or(Value::Null);
            errs.push(FieldError::invalid("spec.ipFamilyPolicy", policy, "must be set to 'SingleStack' when releasing the secondary clusterIP"));
        }
    } else if !o.is_empty() && n[0] != o[0] {
        errs.push(changed());
    }
    errs
}

/// Upstream `validateUpgradeDowngradeIPFamilies`.
fn family_changes(new: &Value, old: &Value) -> Vec<FieldError> {
    if is_headless(new) || is_headless(old) {
        return vec![];
    }
    let (n, o) = (strings(new, "/spec/ipFamilies"), strings(old, "/spec/ipFamilies"));
    let shown = Value::from(n.clone());
    let mut errs = Vec::new();
    if n.len() == o.len() {
        if n != o {
            errs.push(FieldError::invalid("spec.ipFamilies[0]", shown, "may not change once set"));
        }
    } else if o.len() > n.len() {
        if list_at(new, "/spec/clusterIPs").is_empty() {
            errs.push(FieldError::invalid("spec.ipFamilies[0]", shown.clone(), "primary ipFamily can not be unset"));
        }
        if !n.is_empty() && n[0] != o[0] {
            errs.push(FieldError::invalid("spec.ipFamilies[0]", Value::from(strings(new, "/spec/clusterIPs")), "may not change once set"));
        }
        if n.len() == 1 && str_at(new, "/spec/ipFamilyPolicy") != "SingleStack" {
            let policy = new.pointer("/spec/ipFamilyPolicy").cloned().unwrap_or(Value::Null);
            errs.push(FieldError::invalid("spec.ipFamilyPolicy", policy, "must be set to 'SingleStack' when releasing the secondary ipFamily"));
        }
    } else if !o.is_empty() && !n.is_empty() && n[0] != o[0] {
        errs.push(FieldError::invalid("spec.ipFamilies[0]", Value::from(strings(new, "/spec/clusterIPs")), "may not change once set"));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    fn svc(spec: Value) -> Value {
        json!({"spec": spec})
    }

    fn valid() -> Value {
        json!({
            "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
            "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]
        })
    }

    #[test]
    fn valid_service() {
        assert!(validate_service(&svc(valid())).is_empty(), "{:?}", msgs(&validate_service(&svc(valid()))));
    }

    #[test]
    fn ports_required_and_ranges() {
        let mut s = valid();
        s["ports"] = json!([]);
        assert_eq!(msgs(&validate_service(&svc(s))), ["spec.ports: Required value"]);
        let mut s = valid();
        s["ports"] = json!([{"port": 0, "protocol": "HTTP", "targetPort": 0}, {"name": "b", "port": 81, "protocol": "TCP", "targetPort": 81}]);
        assert_eq!(
            msgs(&validate_service(&svc(s))),
            [
                "spec.ports[0].name: Required value",
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
            ]
        );
    }

    #[test]
    fn type_and_duplicate_ports() {
        let mut s = valid();
        s["type"] = json!("Magic");
        s["ports"] = json!([{"name": "a", "port": 80, "protocol": "TCP", "targetPort": 80}, {"name": "b", "port": 80, "protocol": "TCP", "targetPort": 80}]);
        assert_eq!(
            msgs(&validate_service(&svc(s))),
            [
                "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
                "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
            ]
        );
    }

    #[test]
    fn cluster_ip_is_immutable() {
        let old = svc(valid());
        let mut s = valid();
        s["clusterIP"] = json!("10.96.0.11");
        s["clusterIPs"] = json!(["10.96.0.11"]);
        assert_eq!(
            msgs(&validate_service_update(&svc(s), &old)),
            ["spec.clusterIPs[0]: Invalid value: [\"10.96.0.11\"]: may not change once set"]
        );
    }
}
