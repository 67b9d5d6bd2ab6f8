//! Services: upstream's `SetDefaults_Service`, the REST storage's ClusterIP / IP-family /
//! NodePort bookkeeping that does not allocate (allocation itself happens in admission),
//! validation, field selectors and the `kubectl get services` table.

use rkube_apimachinery::validation::{name_is_dns1035_label, FieldError};
use serde_json::{json, Map, Value};

use super::service_validation::{externally_accessible, single_stack_rules, validate_service, validate_service_update};
use super::util::{child_obj, each_in, format_labels, list_at, parse_ip, set_default, set_default_str, str_at, str_of, string_map};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// Default ClientIP session affinity timeout (3 hours).
const DEFAULT_AFFINITY_SECONDS: i64 = 10800;

/// The Service strategy.
pub struct ServiceStrategy;

impl Strategy for ServiceStrategy {
    fn default(&self, obj: &mut Value) {
        let accessible_before = externally_accessible(&with_default_type(obj));
        let Some(spec) = child_obj(obj, "spec") else { return };
        default_affinity(spec);
        set_default_str(spec, "type", "ClusterIP");
        each_in(spec, "ports", default_port);
        if accessible_before {
            set_default_str(spec, "externalTrafficPolicy", "Cluster");
        }
        let kind = spec.get("type").and_then(Value::as_str).unwrap_or("").to_string();
        if matches!(kind.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
            set_default(spec, "internalTrafficPolicy", json!("Cluster"));
        }
        if kind == "LoadBalancer" {
            set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
            default_ip_mode(obj);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        obj["status"] = json!({"loadBalancer": {}});
        if let Some(spec) = child_obj(obj, "spec") {
            let ip = spec.get("clusterIP").and_then(Value::as_str).unwrap_or("").to_string();
            if !ip.is_empty() && spec.get("clusterIPs").and_then(Value::as_array).is_none_or(Vec::is_empty) {
                spec.insert("clusterIPs".into(), json!([ip]));
            }
        }
        init_ip_families(obj);
    }

    fn prepare_for_update(&self, obj: &mut Value, old: &Value) {
        patch_allocated_values(obj, old);
        normalize_cluster_ips(obj, old);
        drop_type_dependent_fields(obj, old);
        init_ip_families(obj);
    }

    fn validate_name(&self, name: &str, prefix: bool) -> Vec<String> {
        name_is_dns1035_label(name, prefix)
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_service(obj);
        errs.extend(single_stack_rules(obj));
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validate_service_update(obj, old)
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &["spec.clusterIP", "spec.type"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "spec.clusterIP" => Some(str_at(obj, "/spec/clusterIP").to_string()),
            "spec.type" => Some(str_at(obj, "/spec/type").to_string()),
            _ => crate::resources::strategy::generic_field_value(obj, field),
        }
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Type", "string", "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types"),
            Column::new("Cluster-IP", "string", "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"),
            Column::new("External-IP", "string", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system."),
            Column::new("Port(s)", "string", "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"),
            Column::age(),
            Column::wide("Selector", "string", "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/"),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let cluster_ip = list_at(obj, "/spec/clusterIPs").first().and_then(Value::as_str).unwrap_or("<none>");
        let ports = port_string(list_at(obj, "/spec/ports"));
        vec![
            json!(str_at(obj, "/spec/type")),
            json!(cluster_ip),
            json!(external_ip(obj)),
            json!(if ports.is_empty() { "<none>".to_string() } else { ports }),
            age_cell(obj),
            json!(format_labels(obj.pointer("/spec/selector"))),
        ]
    }
}

/// A copy of the object with the type defaulted, to decide externalTrafficPolicy.
fn with_default_type(obj: &Value) -> Value {
    let mut probe = json!({"spec": {
        "type": obj.pointer("/spec/type").cloned().unwrap_or(Value::Null),
        "externalIPs": obj.pointer("/spec/externalIPs").cloned().unwrap_or(Value::Null),
    }});
    if str_at(&probe, "/spec/type").is_empty() {
        probe["spec"]["type"] = json!("ClusterIP");
    }
    probe
}

fn default_affinity(spec: &mut Map<String, Value>) {
    set_default_str(spec, "sessionAffinity", "None");
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some("None") => {
            spec.remove("sessionAffinityConfig");
        }
        Some("ClientIP") => {
            let has_timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.pointer("/clientIP/timeoutSeconds"))
                .is_some_and(|v| !v.is_null());
            if !has_timeout {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": DEFAULT_AFFINITY_SECONDS}}),
                );
            }
        }
        _ => {}
    }
}

/// Port protocol TCP and targetPort = port when unset (0 or "").
fn default_port(p: &mut Map<String, Value>) {
    set_default_str(p, "protocol", "TCP");
    let unset = match p.get("targetPort") {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    };
    if unset {
        let port = p.get("port").cloned().unwrap_or(json!(0));
        p.insert("targetPort".into(), port);
    }
}

/// Load-balancer ingress IPs default to ipMode VIP.
fn default_ip_mode(obj: &mut Value) {
    if let Some(ingress) = obj.pointer_mut("/status/loadBalancer/ingress").and_then(Value::as_array_mut) {
        for i in ingress.iter_mut().filter_map(Value::as_object_mut) {
            let has_ip = i.get("ip").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
            if has_ip {
                set_default(i, "ipMode", json!("VIP"));
            }
        }
    }
}

/// Upstream alloc's IP-family defaulting for a single-stack IPv4 cluster.
fn init_ip_families(obj: &mut Value) {
    if str_at(obj, "/spec/type") == "ExternalName" {
        return;
    }
    let headless_selectorless = str_at(obj, "/spec/clusterIP") == "None" && string_map(obj.pointer("/spec/selector")).is_empty();
    let first_v6 = list_at(obj, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .and_then(parse_ip)
        .is_some_and(|a| a.is_ipv6());
    let Some(spec) = child_obj(obj, "spec") else { return };
    if spec.get("ipFamilyPolicy").is_none_or(Value::is_null) {
        let two = spec.get("ipFamilies").and_then(Value::as_array).is_some_and(|a| a.len() == 2);
        let policy = if two || headless_selectorless { "RequireDualStack" } else { "SingleStack" };
        spec.insert("ipFamilyPolicy".into(), json!(policy));
    }
    if spec.get("ipFamilies").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        spec.insert("ipFamilies".into(), json!([if first_v6 { "IPv6" } else { "IPv4" }]));
    }
    let policy = spec.get("ipFamilyPolicy").and_then(Value::as_str).unwrap_or("").to_string();
    if headless_selectorless && policy != "SingleStack" {
        if let Some(fams) = spec.get_mut("ipFamilies").and_then(Value::as_array_mut) {
            if fams.len() < 2 {
                let other = if fams.first().and_then(Value::as_str) == Some("IPv6") { "IPv4" } else { "IPv6" };
                fams.push(json!(other));
            }
        }
    }
}

fn needs_cluster_ip(svc: &Value) -> bool {
    str_at(svc, "/spec/type") != "ExternalName"
}

fn needs_node_port(svc: &Value) -> bool {
    match str_at(svc, "/spec/type") {
        "NodePort" => true,
        "LoadBalancer" => svc.pointer("/spec/allocateLoadBalancerNodePorts").and_then(Value::as_bool) != Some(false),
        _ => false,
    }
}

fn node_ports(svc: &Value) -> Vec<i64> {
    list_at(svc, "/spec/ports").iter().map(|p| p.get("nodePort").and_then(Value::as_i64).unwrap_or(0)).collect()
}

/// Upstream `patchAllocatedValues`: a PUT that omits allocated values keeps the old ones.
fn patch_allocated_values(obj: &mut Value, old: &Value) {
    if needs_cluster_ip(old) && needs_cluster_ip(obj) {
        if let Some(spec) = child_obj(obj, "spec") {
            for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                let missing = spec.get(key).is_none_or(|v| v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty));
                if missing {
                    if let Some(v) = old.pointer(&format!("/spec/{key}")) {
                        spec.insert(key.into(), v.clone());
                    }
                }
            }
        }
    }
    if needs_node_port(old) && needs_node_port(obj) {
        let used: Vec<i64> = node_ports(obj).into_iter().filter(|p| *p != 0).collect();
        let by_name: Vec<(String, i64)> =
            list_at(old, "/spec/ports").iter().map(|p| (str_of(p, "name").to_string(), p.get("nodePort").and_then(Value::as_i64).unwrap_or(0))).collect();
        if let Some(spec) = child_obj(obj, "spec") {
            each_in(spec, "ports", |p| {
                if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) == 0 {
                    let name = p.get("name").and_then(Value::as_str).unwrap_or("");
                    if let Some((_, np)) = by_name.iter().find(|(n, np)| n == name && *np != 0 && !used.contains(np)) {
                        p.insert("nodePort".into(), json!(np));
                    }
                }
            });
        }
    }
    let hc = |s: &Value| super::service_validation::needs_health_check(s);
    if hc(old) && hc(obj) && obj.pointer("/spec/healthCheckNodePort").and_then(Value::as_i64).unwrap_or(0) == 0 {
        if let (Some(v), Some(spec)) = (old.pointer("/spec/healthCheckNodePort").cloned(), child_obj(obj, "spec")) {
            spec.insert("healthCheckNodePort".into(), v);
        }
    }
}

/// Upstream `NormalizeClusterIPs` for updates: a changed `clusterIP` with unchanged
/// `clusterIPs` resets the list.
fn normalize_cluster_ips(obj: &mut Value, old: &Value) {
    let ip = str_at(obj, "/spec/clusterIP").to_string();
    let same_list = obj.pointer("/spec/clusterIPs") == old.pointer("/spec/clusterIPs");
    if ip != str_at(old, "/spec/clusterIP") && same_list {
        if let Some(spec) = child_obj(obj, "spec") {
            if ip.is_empty() {
                spec.remove("clusterIPs");
            } else {
                spec.insert("clusterIPs".into(), json!([ip]));
            }
        }
    }
}

/// Upstream `dropTypeDependentFields`: fields the new type no longer uses are wiped when
/// the user left them as they were.
fn drop_type_dependent_fields(obj: &mut Value, old: &Value) {
    let same = |key: &str, o: &Value| o.pointer(&format!("/spec/{key}")) == old.pointer(&format!("/spec/{key}"));
    let mut remove: Vec<&str> = Vec::new();
    if needs_cluster_ip(old) && !needs_cluster_ip(obj) {
        if same("clusterIP", obj) && same("clusterIPs", obj) {
            remove.extend(["clusterIP", "clusterIPs"]);
        }
        for key in ["ipFamilies", "ipFamilyPolicy"] {
            if same(key, obj) {
                remove.push(key);
            }
        }
    }
    let hc = super::service_validation::needs_health_check;
    if hc(old) && !hc(obj) && same("healthCheckNodePort", obj) {
        remove.push("healthCheckNodePort");
    }
    if str_at(old, "/spec/type") == "LoadBalancer" && str_at(obj, "/spec/type") != "LoadBalancer" && same("allocateLoadBalancerNodePorts", obj) {
        remove.push("allocateLoadBalancerNodePorts");
    }
    if externally_accessible(old) && !externally_accessible(obj) && same("externalTrafficPolicy", obj) {
        remove.push("externalTrafficPolicy");
    }
    let wipe_node_ports = needs_node_port(old) && !needs_node_port(obj) && node_ports(obj) == node_ports(old);
    let not_lb = str_at(obj, "/spec/type") != "LoadBalancer";
    if let Some(spec) = child_obj(obj, "spec") {
        for key in remove {
            spec.remove(key);
        }
        if wipe_node_ports {
            each_in(spec, "ports", |p| {
                p.remove("nodePort");
            });
        }
    }
    if not_lb && obj.get("status").is_some() {
        obj["status"]["loadBalancer"] = json!({});
    }
}

/// Upstream `makePortString`: "80/TCP" or "80:30080/TCP", comma separated.
fn port_string(ports: &[Value]) -> String {
    ports
        .iter()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let proto = str_of(p, "protocol");
            match p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) {
                0 => format!("{port}/{proto}"),
                np => format!("{port}:{np}/{proto}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Upstream `getServiceExternalIP` (wide form: load-balancer addresses are not clipped).
fn external_ip(svc: &Value) -> String {
    let external: Vec<&str> = list_at(svc, "/spec/externalIPs").iter().filter_map(Value::as_str).collect();
    match str_at(svc, "/spec/type") {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".into()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let mut lb: Vec<&str> = list_at(svc, "/status/loadBalancer/ingress")
                .iter()
                .map(|i| if str_of(i, "ip").is_empty() { str_of(i, "hostname") } else { str_of(i, "ip") })
                .filter(|s| !s.is_empty())
                .collect();
            lb.sort_unstable();
            lb.dedup();
            lb.extend(external);
            if lb.is_empty() {
                "<pending>".into()
            } else {
                lb.join(",")
            }
        }
        "ExternalName" => str_at(svc, "/spec/externalName").to_string(),
        _ => "<unknown>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(mut svc: Value) -> Value {
        ServiceStrategy.default(&mut svc);
        // Admission allocates the ClusterIP before the strategy runs.
        if str_at(&svc, "/spec/type") != "ExternalName" && str_at(&svc, "/spec/clusterIP").is_empty() {
            svc["spec"]["clusterIP"] = json!("10.96.0.20");
            svc["spec"]["clusterIPs"] = json!(["10.96.0.20"]);
        }
        ServiceStrategy.prepare_for_create(&mut svc);
        svc
    }

    #[test]
    fn defaults() {
        let svc = created(json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}));
        let spec = &svc["spec"];
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["ports"][0], json!({"port": 80, "protocol": "TCP", "targetPort": 80}));
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
        assert!(spec.get("externalTrafficPolicy").is_none());
        assert_eq!(svc["status"], json!({"loadBalancer": {}}));
        assert!(ServiceStrategy.validate(&svc).is_empty(), "{:?}", ServiceStrategy.validate(&svc));
        let np = created(json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}));
        assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");
        let headless = created(json!({"spec": {"clusterIP": "None", "ports": [{"port": 80}]}}));
        assert_eq!(headless["spec"]["ipFamilyPolicy"], "RequireDualStack");
        assert_eq!(headless["spec"]["ipFamilies"], json!(["IPv4", "IPv6"]));
    }

    #[test]
    fn name_is_a_dns1035_label() {
        assert!(ServiceStrategy.validate_name("web", false).is_empty());
        assert_eq!(ServiceStrategy.validate_name("1web", false).len(), 1);
    }

    #[test]
    fn put_without_cluster_ip_keeps_it() {
        let old = created(json!({"spec": {"ports": [{"port": 80}]}}));
        let mut new = json!({"spec": {"ports": [{"port": 80}]}});
        ServiceStrategy.default(&mut new);
        ServiceStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(new["spec"]["clusterIP"], "10.96.0.20");
        assert!(ServiceStrategy.validate_update(&new, &old).is_empty());
    }

    #[test]
    fn table_cells() {
        let svc = json!({
            "metadata": {"name": "web"},
            "spec": {"type": "NodePort", "clusterIPs": ["10.96.0.20"], "selector": {"app": "web"},
                     "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 53, "protocol": "UDP"}]}
        });
        let cells = ServiceStrategy.cells(&svc);
        assert_eq!(cells.len(), ServiceStrategy.columns().len());
        assert_eq!(cells[..4], [json!("NodePort"), json!("10.96.0.20"), json!("<none>"), json!("80:30080/TCP,53/UDP")]);
        assert_eq!(cells[4], json!("<unknown>"));
        assert_eq!(cells[5], json!("app=web"));
        let lb = json!({"spec": {"type": "LoadBalancer"}});
        assert_eq!(ServiceStrategy.cells(&lb)[1..4], [json!("<none>"), json!("<pending>"), json!("<none>")]);
        assert_eq!(ServiceStrategy.field_value(&svc, "spec.type").as_deref(), Some("NodePort"));
    }
}
