//! Container validation (upstream `validateContainers`, `validateInitContainers`,
//! `validateContainerCommon`, ports, env, volume mounts, resources and probes), with
//! upstream's messages.

use std::collections::BTreeSet;

use rkube_apimachinery::validation::{is_dns1123_label, is_qualified_name, FieldError, IS_NEGATIVE_ERROR_MSG};
use serde_json::Value;

use super::quantity::{Quantity, QUANTITY_FORMAT_MSG};
use super::util::{enum_member, invalid_each, list_of, port_name_errors, port_num_errors, port_num_or_name, str_of};

/// Supported container and service port protocols, sorted as upstream lists them.
pub const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

const INIT_ONLY_MSG: &str = "may not be set for init containers without restartPolicy=Always";

/// What container validation needs to know about the pod around it.
pub struct PodContext<'a> {
    /// Names of the volumes that validated.
    pub volumes: &'a BTreeSet<String>,
}

/// Upstream `validateContainers`: the regular containers of a pod spec.
pub fn validate_containers(containers: Option<&Value>, path: &str, ctx: &PodContext) -> Vec<FieldError> {
    let list = containers.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    if list.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let mut errs = Vec::new();
    let mut names = BTreeSet::new();
    for (i, c) in list.iter().enumerate() {
        let p = format!("{path}[{i}]");
        errs.extend(validate_container_common(c, &p, ctx));
        let name = str_of(c, "name");
        if !names.insert(name.to_string()) {
            errs.push(FieldError::duplicate(format!("{p}.name"), name));
        }
        errs.extend(validate_lifecycle_and_probes(c, &p));
        if c.get("restartPolicy").is_some_and(|v| !v.is_null()) {
            errs.push(FieldError::forbidden(format!("{p}.restartPolicy"), "may not be set for non-init containers"));
        }
    }
    errs.extend(host_port_conflicts(list, path));
    errs
}

/// Upstream `validateInitContainers`.
pub fn validate_init_containers(init: Option<&Value>, regular: Option<&Value>, path: &str, ctx: &PodContext) -> Vec<FieldError> {
    let list = init.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let mut names: BTreeSet<String> =
        regular.and_then(Value::as_array).into_iter().flatten().map(|c| str_of(c, "name").to_string()).collect();
    let mut errs = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let p = format!("{path}[{i}]");
        errs.extend(validate_container_common(c, &p, ctx));
        let restart = c.get("restartPolicy").and_then(Value::as_str);
        if let Some(r) = restart {
            if r != "Always" {
                errs.push(FieldError::not_supported(format!("{p}.restartPolicy"), r, &["Always"]));
            }
        }
        let name = str_of(c, "name");
        if names.contains(name) {
            errs.push(FieldError::duplicate(format!("{p}.name"), name));
        } else if !name.is_empty() {
            names.insert(name.to_string());
        }
        errs.extend(host_port_conflicts(std::slice::from_ref(c), path));
        if restart == Some("Always") {
            errs.extend(validate_lifecycle_and_probes(c, &p));
        } else {
            for key in ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"] {
                if c.get(key).is_some_and(|v| !v.is_null()) {
                    errs.push(FieldError::forbidden(format!("{p}.{key}"), INIT_ONLY_MSG));
                }
            }
        }
    }
    errs
}

/// Upstream `validateContainerCommon`: name, image, termination message policy, ports,
/// env, volume mounts, pull policy and resources.
pub fn validate_container_common(c: &Value, path: &str, ctx: &PodContext) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_of(c, "name");
    let name_path = format!("{path}.name");
    if name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        errs.extend(invalid_each(&name_path, name, is_dns1123_label(name)));
    }
    if str_of(c, "image").is_empty() {
        errs.push(FieldError::required(format!("{path}.image"), ""));
    }
    errs.extend(enum_member(
        str_of(c, "terminationMessagePolicy"),
        &format!("{path}.terminationMessagePolicy"),
        &["File", "FallbackToLogsOnError"],
    ));
    errs.extend(validate_ports(list_of(c, "ports"), &format!("{path}.ports")));
    errs.extend(validate_env(list_of(c, "env"), &format!("{path}.env")));
    errs.extend(validate_volume_mounts(list_of(c, "volumeMounts"), &format!("{path}.volumeMounts"), ctx));
    errs.extend(enum_member(
        str_of(c, "imagePullPolicy"),
        &format!("{path}.imagePullPolicy"),
        &["Always", "IfNotPresent", "Never"],
    ));
    errs.extend(validate_resources(c.get("resources"), &format!("{path}.resources")));
    errs
}

/// Upstream `validateContainerPorts`.
fn validate_ports(ports: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let name = str_of(p, "name");
        if !name.is_empty() {
            let problems = port_name_errors(name);
            if !problems.is_empty() {
                errs.extend(invalid_each(&format!("{ip}.name"), name, problems));
            } else if !names.insert(name.to_string()) {
                errs.push(FieldError::duplicate(format!("{ip}.name"), name));
            }
        }
        let container_port = p.get("containerPort").and_then(Value::as_i64).unwrap_or(0);
        if container_port == 0 {
            errs.push(FieldError::required(format!("{ip}.containerPort"), ""));
        } else {
            for m in port_num_errors(container_port) {
                errs.push(FieldError::invalid(format!("{ip}.containerPort"), container_port, m));
            }
        }
        let host_port = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
        if host_port != 0 {
            for m in port_num_errors(host_port) {
                errs.push(FieldError::invalid(format!("{ip}.hostPort"), host_port, m));
            }
        }
        errs.extend(enum_member(str_of(p, "protocol"), &format!("{ip}.protocol"), PROTOCOLS));
    }
    errs
}

/// Upstream `AccumulateUniqueHostPorts` for one list of containers.
fn host_port_conflicts(containers: &[Value], path: &str) -> Vec<FieldError> {
    let mut seen = BTreeSet::new();
    let mut errs = Vec::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, p) in list_of(c, "ports").iter().enumerate() {
            let port = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if port == 0 {
                continue;
            }
            let key = format!("{}/{}/{port}", str_of(p, "protocol"), str_of(p, "hostIP"));
            if !seen.insert(key.clone()) {
                errs.push(FieldError::duplicate(format!("{path}[{ci}].ports[{pi}].hostPort"), key));
            }
        }
    }
    errs
}

/// Upstream `ValidateEnv` with relaxed variable names (the v1.33 default).
fn validate_env(env: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, e) in env.iter().enumerate() {
        let np = format!("{path}[{i}].name");
        let name = str_of(e, "name");
        if name.is_empty() {
            errs.push(FieldError::required(&np, ""));
            errs.push(FieldError::invalid(&np, name, "environment variable name must be non-empty"));
        } else if name.chars().any(|c| !c.is_ascii() || c.is_ascii_control() || c == '=') {
            errs.push(FieldError::invalid(
                &np,
                name,
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            ));
        }
    }
    errs
}

/// Upstream `ValidateVolumeMounts` (name, mountPath, uniqueness).
fn validate_volume_mounts(mounts: &[Value], path: &str, ctx: &PodContext) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut mount_points = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let name = str_of(m, "name");
        if name.is_empty() {
            errs.push(FieldError::required(format!("{ip}.name"), ""));
        }
        if !ctx.volumes.contains(name) {
            errs.push(FieldError::not_found(format!("{ip}.name"), name));
        }
        let mount_path = str_of(m, "mountPath");
        if mount_path.is_empty() {
            errs.push(FieldError::required(format!("{ip}.mountPath"), ""));
        }
        if !mount_points.insert(mount_path.to_string()) {
            errs.push(FieldError::invalid(format!("{ip}.mountPath"), mount_path, "must be unique"));
        }
    }
    errs
}

/// Upstream `validateResourceRequirements` for a container's resources.
pub fn validate_resources(res: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let limits = res.and_then(|r| r.get("limits")).and_then(Value::as_object);
    let requests = res.and_then(|r| r.get("requests")).and_then(Value::as_object);
    let lim_path = format!("{path}.limits");
    let req_path = format!("{path}.requests");
    for (name, q) in limits.into_iter().flatten() {
        let fp = format!("{lim_path}[{name}]");
        errs.extend(container_resource_name(name, &fp));
        errs.extend(quantity_value(q, &fp));
    }
    for (name, q) in requests.into_iter().flatten() {
        let fp = format!("{req_path}[{name}]");
        errs.extend(container_resource_name(name, &fp));
        errs.extend(quantity_value(q, &fp));
        let limit = limits.and_then(|l| l.get(name));
        match (Quantity::from_json(q), limit.and_then(Quantity::from_json)) {
            (Some(r), Some(l)) => {
                let lim = l.canonical();
                if r.nanos != l.nanos && !overcommit_allowed(name) {
                    errs.push(FieldError::invalid(&req_path, r.canonical(), format!("must be equal to {name} limit of {lim}")));
                } else if r.nanos > l.nanos {
                    errs.push(FieldError::invalid(&req_path, r.canonical(), format!("must be less than or equal to {name} limit of {lim}")));
                }
            }
            (_, None) if limit.is_none() && !overcommit_allowed(name) => {
                errs.push(FieldError::required(&lim_path, "Limit must be set for non overcommitable resources"));
            }
            _ => {}
        }
    }
    errs
}

/// A resource quantity: well-formed and not negative (upstream decode and
/// `ValidateResourceQuantityValue`).
pub fn quantity_value(q: &Value, path: &str) -> Vec<FieldError> {
    match Quantity::from_json(q) {
        None => vec![FieldError::invalid(path, q.clone(), QUANTITY_FORMAT_MSG)],
        Some(v) if v.nanos < 0 => vec![FieldError::invalid(path, v.canonical(), IS_NEGATIVE_ERROR_MSG)],
        Some(v) if !is_native(path_key(path)) && v.nanos % 1_000_000_000 != 0 => {
            vec![FieldError::invalid(path, v.canonical(), "must be an integer")]
        }
        Some(_) => vec![],
    }
}

/// The `[key]` at the end of a field path.
fn path_key(path: &str) -> &str {
    path.rsplit_once('[').map(|(_, k)| k.trim_end_matches(']')).unwrap_or("")
}

fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_hugepages(name)
}

/// Upstream `validateContainerResourceName`.
fn container_resource_name(name: &str, path: &str) -> Vec<FieldError> {
    let problems = is_qualified_name(name);
    if !problems.is_empty() {
        return invalid_each(path, name, problems);
    }
    let mut errs = Vec::new();
    if !name.contains('/') {
        if !is_standard_resource(name) {
            errs.push(FieldError::invalid(path, name, "must be a standard resource type or fully qualified"));
        }
        if !(matches!(name, "cpu" | "memory" | "ephemeral-storage") || is_hugepages(name)) {
            errs.push(FieldError::invalid(path, name, "must be a standard resource for containers"));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(FieldError::invalid(path, name, "doesn't follow extended resource name standard"));
    }
    errs
}

fn is_extended(name: &str) -> bool {
    !is_native(name) && !name.starts_with("requests.") && is_qualified_name(&format!("requests.{name}")).is_empty()
}

/// Upstream `IsStandardResourceName` (compute and quota resource names).
pub fn is_standard_resource(name: &str) -> bool {
    const STANDARD: &[&str] = &[
        "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
        "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "services", "replicationcontrollers",
        "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims", "storage", "requests.storage",
        "services.nodeports", "services.loadbalancers",
    ];
    STANDARD.contains(&name) || is_hugepages(name) || name.starts_with("requests.hugepages-")
}

/// Lifecycle hooks and probes of a regular (or restartable init) container.
fn validate_lifecycle_and_probes(c: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(l) = c.get("lifecycle").filter(|v| !v.is_null()) {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = l.get(hook).filter(|v| !v.is_null()) {
                errs.extend(validate_handler(h, &format!("{path}.lifecycle.{hook}"), true));
            }
        }
    }
    for (key, must_be_one) in [("livenessProbe", true), ("readinessProbe", false), ("startupProbe", true)] {
        let Some(p) = c.get(key).filter(|v| !v.is_null()) else { continue };
        let pp = format!("{path}.{key}");
        errs.extend(validate_probe(p, &pp));
        let success = p.get("successThreshold").and_then(Value::as_i64).unwrap_or(0);
        if must_be_one && success != 1 {
            errs.push(FieldError::invalid(format!("{pp}.successThreshold"), success, "must be 1"));
        }
        if !must_be_one && p.get("terminationGracePeriodSeconds").is_some_and(|v| !v.is_null()) {
            let v = p.get("terminationGracePeriodSeconds").cloned().unwrap_or(Value::Null);
            errs.push(FieldError::invalid(format!("{pp}.terminationGracePeriodSeconds"), v, "must not be set for readinessProbes"));
        }
    }
    errs
}

/// Upstream `validateProbe`.
fn validate_probe(p: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_handler(p, path, false);
    for key in ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] {
        if let Some(n) = p.get(key).and_then(Value::as_i64).filter(|n| *n < 0) {
            errs.push(FieldError::invalid(format!("{path}.{key}"), n, IS_NEGATIVE_ERROR_MSG));
        }
    }
    if let Some(n) = p.get("terminationGracePeriodSeconds").and_then(Value::as_i64).filter(|n| *n <= 0) {
        errs.push(FieldError::invalid(format!("{path}.terminationGracePeriodSeconds"), n, "must be greater than 0"));
    }
    errs
}

/// Upstream `validateHandler`: exactly one handler type, each well-formed.
fn validate_handler(h: &Value, path: &str, lifecycle: bool) -> Vec<FieldError> {
    let kinds: &[&str] = if lifecycle { &["exec", "httpGet", "tcpSocket", "sleep"] } else { &["exec", "httpGet", "tcpSocket", "grpc"] };
    let mut errs = Vec::new();
    let mut count = 0;
    for kind in kinds {
        let Some(v) = h.get(*kind).filter(|v| !v.is_null()) else { continue };
        let kp = format!("{path}.{kind}");
        if count > 0 {
            errs.push(FieldError::forbidden(&kp, "may not specify more than 1 handler type"));
            continue;
        }
        count += 1;
        errs.extend(match *kind {
            "exec" if list_of(v, "command").is_empty() => vec![FieldError::required(format!("{kp}.command"), "")],
            "httpGet" => validate_http_get(v, &kp),
            "tcpSocket" => port_num_or_name(v.get("port"), &format!("{kp}.port")),
            "grpc" => port_num_or_name(Some(&Value::from(v.get("port").and_then(Value::as_i64).unwrap_or(0))), &format!("{kp}.port")),
            _ => vec![],
        });
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    errs
}

fn validate_http_get(v: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if str_of(v, "path").is_empty() {
        errs.push(FieldError::required(format!("{path}.path"), ""));
    }
    errs.extend(port_num_or_name(v.get("port"), &format!("{path}.port")));
    let scheme = str_of(v, "scheme");
    if scheme != "HTTP" && scheme != "HTTPS" {
        errs.push(FieldError::not_supported(format!("{path}.scheme"), scheme, &["HTTP", "HTTPS"]));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(vols: &BTreeSet<String>) -> PodContext<'_> {
        PodContext { volumes: vols }
    }

    fn container(extra: Value) -> Value {
        let mut c = json!({"name": "c", "image": "nginx", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"});
        if let (Some(m), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        c
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn containers_are_required_and_named() {
        let vols = BTreeSet::new();
        assert_eq!(msgs(&validate_containers(None, "spec.containers", &ctx(&vols))), ["spec.containers: Required value"]);
        let list = json!([container(json!({"name": "Bad_Name", "image": ""})), container(json!({})), container(json!({}))]);
        let errs = msgs(&validate_containers(Some(&list), "spec.containers", &ctx(&vols)));
        assert!(errs[0].starts_with("spec.containers[0].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label"), "{errs:?}");
        assert_eq!(errs[1], "spec.containers[0].image: Required value");
        assert_eq!(errs[2], "spec.containers[2].name: Duplicate value: \"c\"");
    }

    #[test]
    fn ports_and_resources() {
        let vols = BTreeSet::new();
        let list = json!([container(json!({
            "ports": [{"containerPort": 70000, "protocol": "HTTP"}],
            "resources": {"limits": {"cpu": "500m"}, "requests": {"cpu": "1"}}
        }))]);
        let errs = msgs(&validate_containers(Some(&list), "spec.containers", &ctx(&vols)));
        assert_eq!(
            errs,
            [
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.containers[0].resources.requests: Invalid value: \"1\": must be less than or equal to cpu limit of 500m",
            ]
        );
    }

    #[test]
    fn mounts_need_volumes_and_probes_need_handlers() {
        let vols: BTreeSet<String> = ["data".to_string()].into();
        let list = json!([container(json!({
            "volumeMounts": [{"name": "data", "mountPath": "/d"}, {"name": "nope", "mountPath": "/d"}],
            "livenessProbe": {"successThreshold": 2, "timeoutSeconds": 1}
        }))]);
        let errs = msgs(&validate_containers(Some(&list), "spec.containers", &ctx(&vols)));
        assert_eq!(
            errs,
            [
                "spec.containers[0].volumeMounts[1].name: Not found: \"nope\"",
                "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/d\": must be unique",
                "spec.containers[0].livenessProbe: Required value: must specify a handler type",
                "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
            ]
        );
    }

    #[test]
    fn init_containers_share_names_and_forbid_probes() {
        let vols = BTreeSet::new();
        let regular = json!([container(json!({}))]);
        let init = json!([container(json!({"readinessProbe": {"exec": {"command": ["x"]}}}))]);
        let errs = msgs(&validate_init_containers(Some(&init), Some(&regular), "spec.initContainers", &ctx(&vols)));
        assert_eq!(
            errs,
            [
                "spec.initContainers[0].name: Duplicate value: \"c\"",
                "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
            ]
        );
    }
}
