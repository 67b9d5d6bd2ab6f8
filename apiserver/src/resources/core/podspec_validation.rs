//! PodSpec validation shared by Pods, PodTemplates and ReplicationControllers (upstream
//! `ValidatePodSpec`, `ValidateVolumes`, `ValidateTolerations`, ...), with upstream's
//! messages and error order.

use std::collections::BTreeSet;

use rkube_apimachinery::validation::{
    inclusive_range_error, is_dns1123_label, is_qualified_name, is_valid_label_value, name_is_dns_subdomain,
    validate_labels, FieldError,
};
use serde_json::Value;

use super::container_validation::{validate_containers, validate_init_containers, PodContext};
use super::podspec_defaults::VOLUME_SOURCES;
use super::util::{enum_member, invalid_each, list_of, str_of, string_map};

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const HOST_PATH_TYPES: &[&str] =
    &["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];

/// Upstream `ValidatePodSpec` over a v1 PodSpec at `path` (e.g. "spec").
pub fn validate_pod_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if spec.get("terminationGracePeriodSeconds").is_none_or(Value::is_null) {
        errs.push(FieldError::required(format!("{path}.terminationGracePeriodSeconds"), ""));
    }
    let (volumes, vol_errs) = validate_volumes(list_of(spec, "volumes"), &format!("{path}.volumes"));
    errs.extend(vol_errs);
    let ctx = PodContext { volumes: &volumes };
    errs.extend(validate_containers(spec.get("containers"), &format!("{path}.containers"), &ctx));
    errs.extend(validate_init_containers(
        spec.get("initContainers"),
        spec.get("containers"),
        &format!("{path}.initContainers"),
        &ctx,
    ));
    errs.extend(super::ephemeral_containers::validate_spec(spec, path, &ctx));
    errs.extend(host_network_ports(spec, path));
    errs.extend(enum_member(str_of(spec, "restartPolicy"), &format!("{path}.restartPolicy"), &["Always", "OnFailure", "Never"]));
    errs.extend(enum_member(
        str_of(spec, "dnsPolicy"),
        &format!("{path}.dnsPolicy"),
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
    ));
    let selector = string_map(spec.get("nodeSelector"));
    errs.extend(validate_labels(selector.iter().map(|(k, v)| (k.as_str(), v.as_str())), &format!("{path}.nodeSelector")));
    errs.extend(dns_config(spec, path));
    errs.extend(readiness_gates(spec, path));
    errs.extend(scheduling_gates(spec, path));
    errs.extend(names_and_limits(spec, path));
    errs.extend(validate_tolerations(list_of(spec, "tolerations"), &format!("{path}.tolerations")));
    errs.extend(priority_fields(spec, path));
    errs
}

/// Upstream `ValidateVolumes`: returns the names of the volumes that validated.
fn validate_volumes(volumes: &[Value], path: &str) -> (BTreeSet<String>, Vec<FieldError>) {
    let mut names = BTreeSet::new();
    let mut errs = Vec::new();
    for (i, vol) in volumes.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let np = format!("{ip}.name");
        let mut el = validate_volume_source(vol, &ip);
        let name = str_of(vol, "name");
        if name.is_empty() {
            el.push(FieldError::required(&np, ""));
        } else {
            el.extend(invalid_each(&np, name, is_dns1123_label(name)));
        }
        if names.contains(name) {
            el.push(FieldError::duplicate(&np, name));
        }
        if el.is_empty() {
            names.insert(name.to_string());
        } else {
            errs.extend(el);
        }
    }
    (names, errs)
}

/// Upstream `validateVolumeSource`: exactly one source, and the common sources well-formed.
fn validate_volume_source(vol: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    for key in VOLUME_SOURCES {
        let Some(src) = vol.get(*key).filter(|v| !v.is_null()) else { continue };
        let sp = format!("{path}.{key}");
        if count > 0 {
            errs.push(FieldError::forbidden(sp, "may not specify more than 1 volume type"));
            continue;
        }
        count += 1;
        errs.extend(source_fields(key, src, &sp));
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    errs
}

/// The required members and modes of the commonly used volume sources.
fn source_fields(kind: &str, src: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let required = |errs: &mut Vec<FieldError>, key: &str| {
        if str_of(src, key).is_empty() {
            errs.push(FieldError::required(format!("{path}.{key}"), ""));
        }
    };
    match kind {
        "emptyDir" => {
            let limit = src.get("sizeLimit").and_then(super::quantity::Quantity::from_json);
            if limit.is_some_and(|q| q.nanos < 0) {
                errs.push(FieldError::forbidden(format!("{path}.sizeLimit"), "SizeLimit field must be a valid resource quantity"));
            }
        }
        "hostPath" => {
            required(&mut errs, "path");
            if let Some(t) = src.get("type").and_then(Value::as_str) {
                if !HOST_PATH_TYPES.contains(&t) {
                    errs.push(FieldError::not_supported(format!("{path}.type"), t, HOST_PATH_TYPES));
                }
            }
        }
        "secret" => required(&mut errs, "secretName"),
        "configMap" => required(&mut errs, "name"),
        "persistentVolumeClaim" => required(&mut errs, "claimName"),
        "nfs" => {
            required(&mut errs, "server");
            required(&mut errs, "path");
            let p = str_of(src, "path");
            if !p.is_empty() && !p.starts_with('/') {
                errs.push(FieldError::invalid(format!("{path}.path"), p, "must be an absolute path"));
            }
        }
        _ => {}
    }
    if matches!(kind, "secret" | "configMap" | "downwardAPI" | "projected") {
        if let Some(mode) = src.get("defaultMode").and_then(Value::as_i64) {
            if !(0..=0o777).contains(&mode) {
                errs.push(FieldError::invalid(format!("{path}.defaultMode"), mode, FILE_MODE_MSG));
            }
        }
    }
    errs
}

/// Upstream `validatePodHostNetworkDeps`.
fn host_network_ports(spec: &Value, path: &str) -> Vec<FieldError> {
    if spec.get("hostNetwork").and_then(Value::as_bool) != Some(true) {
        return vec![];
    }
    let mut errs = Vec::new();
    for (ci, c) in list_of(spec, "containers").iter().enumerate() {
        for (pi, p) in list_of(c, "ports").iter().enumerate() {
            let host = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            let container = p.get("containerPort").and_then(Value::as_i64).unwrap_or(0);
            if host != 0 && host != container {
                errs.push(FieldError::invalid(
                    format!("{path}.containers[{ci}].ports[{pi}].hostPort"),
                    host,
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
    errs
}

/// Upstream `validatePodDNSConfig` (the `None` policy requirements and the limits).
fn dns_config(spec: &Value, path: &str) -> Vec<FieldError> {
    let cfg = spec.get("dnsConfig").filter(|v| !v.is_null());
    let fp = format!("{path}.dnsConfig");
    if str_of(spec, "dnsPolicy") == "None" {
        let Some(cfg) = cfg else {
            return vec![FieldError::required(fp, "must provide `dnsConfig` when `dnsPolicy` is None")];
        };
        if list_of(cfg, "nameservers").is_empty() {
            return vec![FieldError::required(
                format!("{fp}.nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )];
        }
    }
    let Some(cfg) = cfg else { return vec![] };
    let ns = list_of(cfg, "nameservers");
    if ns.len() > 3 {
        return vec![FieldError::invalid(format!("{fp}.nameservers"), Value::from(ns.to_vec()), "must not have more than 3 nameservers")];
    }
    vec![]
}

fn readiness_gates(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, g) in list_of(spec, "readinessGates").iter().enumerate() {
        let t = str_of(g, "conditionType");
        errs.extend(invalid_each(&format!("{path}.readinessGates[{i}].conditionType"), t, is_qualified_name(t)));
    }
    errs
}

fn scheduling_gates(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, g) in list_of(spec, "schedulingGates").iter().enumerate() {
        let name = str_of(g, "name");
        let fp = format!("{path}.schedulingGates[{i}]");
        errs.extend(invalid_each(&fp, name, is_qualified_name(name)));
        if !seen.insert(name.to_string()) {
            errs.push(FieldError::duplicate(&fp, name));
        }
    }
    errs
}

/// serviceAccountName, nodeName, activeDeadlineSeconds, hostname and subdomain.
fn names_and_limits(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["serviceAccountName", "nodeName"] {
        let v = str_of(spec, key);
        if !v.is_empty() {
            errs.extend(invalid_each(&format!("{path}.{key}"), v, name_is_dns_subdomain(v, false)));
        }
    }
    if let Some(v) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64) {
        if !(1..=i64::from(i32::MAX)).contains(&v) {
            errs.push(FieldError::invalid(
                format!("{path}.activeDeadlineSeconds"),
                v,
                inclusive_range_error(1, i64::from(i32::MAX)),
            ));
        }
    }
    for key in ["hostname", "subdomain"] {
        let v = str_of(spec, key);
        if !v.is_empty() {
            errs.extend(invalid_each(&format!("{path}.{key}"), v, is_dns1123_label(v)));
        }
    }
    errs
}

fn priority_fields(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let class = str_of(spec, "priorityClassName");
    if !class.is_empty() {
        errs.extend(invalid_each(&format!("{path}.priorityClassName"), class, name_is_dns_subdomain(class, false)));
    }
    if let Some(p) = spec.get("preemptionPolicy").and_then(Value::as_str) {
        errs.extend(enum_member(p, &format!("{path}.preemptionPolicy"), &["PreemptLowerPriority", "Never"]));
    }
    errs
}

/// Upstream `ValidateTolerations`.
pub fn validate_tolerations(tolerations: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, t) in tolerations.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let key = str_of(t, "key");
        let operator = str_of(t, "operator");
        let effect = str_of(t, "effect");
        if !key.is_empty() {
            errs.extend(invalid_each(&format!("{ip}.key"), key, is_qualified_name(key)));
        }
        if key.is_empty() && operator != "Exists" {
            errs.push(FieldError::invalid(
                format!("{ip}.operator"),
                operator,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if t.get("tolerationSeconds").is_some_and(|v| !v.is_null()) && effect != "NoExecute" {
            errs.push(FieldError::invalid(format!("{ip}.effect"), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
        }
        let value = str_of(t, "value");
        match operator {
            "Equal" | "" => {
                let problems = is_valid_label_value(value);
                if !problems.is_empty() {
                    errs.push(FieldError::invalid(format!("{ip}.operator"), value, problems.join(";")));
                }
            }
            "Exists" if !value.is_empty() => {
                errs.push(FieldError::invalid(format!("{ip}.operator"), value, "value must be empty when `operator` is 'Exists'"));
            }
            "Exists" => {}
            other => errs.push(FieldError::not_supported(format!("{ip}.operator"), other, &["Equal", "Exists"])),
        }
        if !effect.is_empty() {
            errs.extend(validate_taint_effect(effect, true, &format!("{ip}.effect")));
        }
    }
    errs
}

/// Upstream `validateTaintEffect`.
pub fn validate_taint_effect(effect: &str, allow_empty: bool, path: &str) -> Vec<FieldError> {
    if effect.is_empty() && !allow_empty {
        return vec![FieldError::required(path, "")];
    }
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => vec![],
        other => vec![FieldError::not_supported(path, other, &["NoSchedule", "PreferNoSchedule", "NoExecute"])],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid_spec() -> Value {
        json!({
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
            "containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}]
        })
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_defaulted_spec_is_valid() {
        assert!(validate_pod_spec(&valid_spec(), "spec").is_empty());
    }

    #[test]
    fn restart_policy_and_volumes() {
        let mut spec = valid_spec();
        spec["restartPolicy"] = json!("Sometimes");
        spec["volumes"] = json!([{"name": "a"}, {"name": "b", "emptyDir": {}, "hostPath": {"path": "/x"}}]);
        assert_eq!(
            msgs(&validate_pod_spec(&spec, "spec")),
            [
                "spec.volumes[0]: Required value: must specify a volume type",
                "spec.volumes[1].hostPath: Forbidden: may not specify more than 1 volume type",
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            ]
        );
    }

    #[test]
    fn tolerations() {
        let t = json!([{"operator": "Equal", "value": "x"}, {"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]);
        assert_eq!(
            msgs(&validate_tolerations(t.as_array().map(Vec::as_slice).unwrap_or(&[]), "spec.tolerations")),
            ["spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\""]
        );
    }
}
