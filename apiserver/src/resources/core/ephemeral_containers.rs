//! Ephemeral containers (upstream `validateEphemeralContainers` and
//! `ValidatePodEphemeralContainersUpdate`): they are added only through the
//! pods/ephemeralcontainers subresource, never on create; each has a name unique among all
//! the pod's containers, may target a regular or init container, and sets only the fields
//! of upstream's allow-list (no ports, probes, lifecycle or resources). Existing ones may be
//! neither changed nor removed.

use std::collections::BTreeSet;

use rkube_apimachinery::validation::FieldError;
use serde_json::Value;

use super::container_validation::{validate_container_common, PodContext};
use super::util::{list_of, str_of};

/// Upstream `allowedEphemeralContainerFields` (JSON names).
const ALLOWED_FIELDS: &[&str] = &[
    "name",
    "image",
    "command",
    "args",
    "workingDir",
    "env",
    "envFrom",
    "volumeMounts",
    "volumeDevices",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
    "securityContext",
    "stdin",
    "stdinOnce",
    "tty",
    "targetContainerName",
];

const NOT_FOR_EPHEMERAL: &str = "cannot be set for an Ephemeral Container";

/// Go's zero value: what `validateFieldAllowList` lets through for any field.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_zero),
    }
}

/// Upstream `validateEphemeralContainers` over a pod spec at `path` (e.g. "spec").
pub fn validate_spec(spec: &Value, path: &str, ctx: &PodContext) -> Vec<FieldError> {
    let list = list_of(spec, "ephemeralContainers");
    if list.is_empty() {
        return Vec::new();
    }
    let others: BTreeSet<&str> = list_of(spec, "containers").iter().chain(list_of(spec, "initContainers")).map(|c| str_of(c, "name")).collect();
    let mut all = others.clone();
    let mut errs = Vec::new();
    for (i, ec) in list.iter().enumerate() {
        let p = format!("{path}.ephemeralContainers[{i}]");
        errs.extend(validate_container_common(ec, &p, ctx));
        let name = str_of(ec, "name");
        if !all.insert(name) {
            errs.push(FieldError::duplicate(format!("{p}.name"), name));
        }
        let target = str_of(ec, "targetContainerName");
        if !target.is_empty() && !others.contains(target) {
            errs.push(FieldError::not_found(format!("{p}.targetContainerName"), target));
        }
        if let Some(fields) = ec.as_object() {
            for (key, value) in fields {
                if !ALLOWED_FIELDS.contains(&key.as_str()) && !is_zero(value) {
                    errs.push(FieldError::forbidden(format!("{p}.{key}"), NOT_FOR_EPHEMERAL));
                }
            }
        }
        for (j, m) in list_of(ec, "volumeMounts").iter().enumerate() {
            for key in ["subPath", "subPathExpr"] {
                if !str_of(m, key).is_empty() {
                    errs.push(FieldError::forbidden(format!("{p}.volumeMounts[{j}].{key}"), NOT_FOR_EPHEMERAL));
                }
            }
        }
    }
    errs
}

/// Upstream `ValidatePodCreate`'s rule: ephemeral containers are added later.
pub fn validate_create(pod: &Value) -> Vec<FieldError> {
    if pod.pointer("/spec/ephemeralContainers").and_then(Value::as_array).is_some_and(|l| !l.is_empty()) {
        return vec![FieldError::forbidden("spec.ephemeralContainers", "cannot be set on create")];
    }
    Vec::new()
}

/// Upstream `ValidatePodEphemeralContainersUpdate` (part 2; the spec is validated as a
/// whole beside it): no static pods, and existing ephemeral containers stay as they are.
pub fn validate_update(new: &Value, old: &Value) -> Vec<FieldError> {
    if old.pointer("/metadata/annotations/kubernetes.io~1config.mirror").is_some() {
        return vec![FieldError::forbidden("", "static pods do not support ephemeral containers")];
    }
    let path = "spec.ephemeralContainers";
    let new_list = new.pointer("/spec/ephemeralContainers").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut errs = Vec::new();
    for o in old.pointer("/spec/ephemeralContainers").and_then(Value::as_array).into_iter().flatten() {
        let name = str_of(o, "name");
        match new_list.iter().find(|n| str_of(n, "name") == name) {
            None => errs.push(FieldError::forbidden(path, format!("existing ephemeral containers {name:?} may not be removed\n"))),
            Some(n) if n != o => {
                errs.push(FieldError::forbidden(format!("{path}[{name}]"), format!("existing ephemeral containers {name:?} may not be changed\n")))
            }
            Some(_) => {}
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(spec: &Value) -> Vec<String> {
        let volumes = BTreeSet::from(["data".to_string()]);
        validate_spec(spec, "spec", &PodContext { volumes: &volumes }).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn allow_list_names_and_targets() {
        let spec = json!({
            "containers": [{"name": "app", "image": "i"}],
            "ephemeralContainers": [
                {"name": "debugger", "image": "busybox:1.35", "targetContainerName": "app", "stdin": true, "tty": true, "resources": {}, "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"},
                {"name": "app", "image": "i", "ports": [{"containerPort": 80}], "targetContainerName": "nope"},
                {"name": "p", "image": "i", "readinessProbe": {"exec": {"command": ["true"]}}, "resources": {"limits": {"cpu": "1"}},
                 "volumeMounts": [{"name": "data", "mountPath": "/d", "subPath": "x"}]}
            ]
        });
        // (Defaults are not applied here: the fields defaulting fills in are left out.)
        let errs: Vec<String> = errors(&spec).into_iter().filter(|e| !e.ends_with("Required value")).collect();
        assert_eq!(
            errs,
            [
                "spec.ephemeralContainers[1].name: Duplicate value: \"app\"",
                "spec.ephemeralContainers[1].targetContainerName: Not found: \"nope\"",
                "spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container",
                "spec.ephemeralContainers[2].readinessProbe: Forbidden: cannot be set for an Ephemeral Container",
                "spec.ephemeralContainers[2].resources: Forbidden: cannot be set for an Ephemeral Container",
                "spec.ephemeralContainers[2].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container",
            ],
            "{errs:#?}"
        );
    }

    #[test]
    fn only_additions() {
        let old = json!({"spec": {"ephemeralContainers": [{"name": "a", "image": "i"}]}});
        assert!(validate_update(&json!({"spec": {"ephemeralContainers": [{"name": "b", "image": "i"}, {"name": "a", "image": "i"}]}}), &old).is_empty());
        let removed: Vec<String> = validate_update(&json!({"spec": {}}), &old).iter().map(ToString::to_string).collect();
        assert_eq!(removed, ["spec.ephemeralContainers: Forbidden: existing ephemeral containers \"a\" may not be removed\n"]);
        let changed = validate_update(&json!({"spec": {"ephemeralContainers": [{"name": "a", "image": "j"}]}}), &old);
        assert_eq!(changed[0].to_string(), "spec.ephemeralContainers[a]: Forbidden: existing ephemeral containers \"a\" may not be changed\n");
        assert_eq!(validate_create(&old)[0].to_string(), "spec.ephemeralContainers: Forbidden: cannot be set on create");
    }
}
