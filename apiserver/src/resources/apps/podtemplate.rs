//! Pod templates embedded in workload controllers (Deployment, ReplicaSet, StatefulSet,
//! DaemonSet, Job, CronJob): defaulting, validation and the printers' container cells.
//!
//! Defaulting and pod-spec validation are core/v1's (`SetDefaults_PodSpec` and
//! `ValidatePodTemplateSpec`); these wrappers apply them at the template's place.

use rkube_apimachinery::validation::{validate_annotations, validate_labels, FieldError};
use serde_json::{json, Value};

use crate::resources::core::podspec_defaults::default_pod_spec;
use crate::resources::core::podtemplate::validate_pod_template_spec;

use super::util::{list_at, string_map};

/// Applies the pod defaults to a `PodTemplateSpec` (its `spec`), as upstream's generated
/// `SetObjectDefaults_*` do for every embedded template.
pub fn default_template(template: &mut Value) {
    if template.is_null() {
        *template = json!({});
    }
    let Some(t) = template.as_object_mut() else { return };
    let spec = t.entry("spec").or_insert(Value::Null);
    if spec.is_null() {
        *spec = json!({});
    }
    default_pod_spec(spec);
}

/// Defaults the `template` member of the object at `parent` (created when missing).
pub fn default_template_at(obj: &mut Value, parent: &str) {
    if let Some(m) = super::util::obj_at(obj, parent) {
        default_template(m.entry("template").or_insert(Value::Null));
    }
}

/// Upstream `ValidatePodTemplateSpec` (labels, annotations, pod spec, no ephemeral
/// containers) for the template at `path`.
pub fn validate_template(template: Option<&Value>, path: &str) -> Vec<FieldError> {
    let empty = json!({});
    validate_pod_template_spec(template.unwrap_or(&empty), path)
}

/// Upstream's label and annotation checks of a template's metadata.
pub fn validate_template_metadata(template: Option<&Value>, path: &str) -> Vec<FieldError> {
    let labels = string_map(template.and_then(|t| t.pointer("/metadata/labels")));
    let annotations = string_map(template.and_then(|t| t.pointer("/metadata/annotations")));
    let mut errs = validate_labels(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())), &format!("{path}.labels"));
    errs.extend(validate_annotations(
        annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &format!("{path}.annotations"),
    ));
    errs
}

/// The template's `spec.restartPolicy` ("" when unset).
pub fn restart_policy(template: Option<&Value>) -> &str {
    template.and_then(|t| t.pointer("/spec/restartPolicy")).and_then(Value::as_str).unwrap_or("")
}

/// The template's labels.
pub fn labels(template: Option<&Value>) -> Option<&Value> {
    template.and_then(|t| t.pointer("/metadata/labels")).filter(|v| !v.is_null())
}

/// Upstream `ValidateReadOnlyPersistentDisks`: GCE PDs shared by several pods must be
/// read-only.
pub fn validate_read_only_disks(template: Option<&Value>, path: &str) -> Vec<FieldError> {
    let Some(t) = template else { return vec![] };
    list_at(t, "/spec/volumes")
        .iter()
        .enumerate()
        .filter(|(_, v)| v.get("gcePersistentDisk").is_some_and(Value::is_object))
        .filter(|(_, v)| v.pointer("/gcePersistentDisk/readOnly").and_then(Value::as_bool) != Some(true))
        .map(|(i, _)| {
            FieldError::invalid(
                format!("{path}[{i}].gcePersistentDisk.readOnly"),
                false,
                "must be true for replicated pods > 1; GCE PD can only be mounted on multiple machines if it is read-only",
            )
        })
        .collect()
}

/// Upstream `layoutContainerCells`: the template's container names and images.
pub fn container_cells(template: Option<&Value>) -> (Value, Value) {
    let containers = template.map_or(&[][..], |t| list_at(t, "/spec/containers"));
    let field = |k: &str| -> String {
        containers.iter().map(|c| c.get(k).and_then(Value::as_str).unwrap_or("")).collect::<Vec<_>>().join(",")
    };
    (Value::from(field("name")), Value::from(field("image")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pod_spec_and_containers() {
        let mut t = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [
            {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "reg:5000/nginx:1.2"},
            {"name": "c", "image": "nginx:latest"}
        ]}});
        default_template(&mut t);
        let s = &t["spec"];
        assert_eq!(s["restartPolicy"], "Always");
        assert_eq!(s["dnsPolicy"], "ClusterFirst");
        assert_eq!(s["terminationGracePeriodSeconds"], 30);
        assert_eq!(s["schedulerName"], "default-scheduler");
        assert_eq!(s["securityContext"], json!({}));
        assert_eq!(s["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(s["containers"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(s["containers"][1]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(s["containers"][2]["imagePullPolicy"], "Always");
        assert_eq!(s["containers"][0]["terminationMessagePath"], "/dev/termination-log");
        let mut keep = json!({"spec": {"restartPolicy": "Never"}});
        default_template(&mut keep);
        assert_eq!(keep["spec"]["restartPolicy"], "Never");
        let mut odd = json!(3);
        default_template(&mut odd);
        assert_eq!(odd, json!(3));
    }

    #[test]
    fn cells_and_checks() {
        let t = json!({"spec": {"containers": [{"name": "a", "image": "i1"}, {"name": "b", "image": "i2"}],
            "volumes": [{"name": "v", "gcePersistentDisk": {"pdName": "x"}}]}});
        assert_eq!(container_cells(Some(&t)), (json!("a,b"), json!("i1,i2")));
        assert_eq!(container_cells(None), (json!(""), json!("")));
        let errs = validate_read_only_disks(Some(&t), "spec.template.spec.volumes");
        assert_eq!(errs[0].field, "spec.template.spec.volumes[0].gcePersistentDisk.readOnly");
        let bad = json!({"metadata": {"labels": {"a": "-x"}}});
        assert_eq!(validate_template(Some(&bad), "spec.template")[0].field, "spec.template.labels");
        let mut eph = json!({"spec": {"containers": [{"name": "a", "image": "i"}], "ephemeralContainers": [{"name": "e", "image": "i"}]}});
        default_template(&mut eph);
        let errs: Vec<String> = validate_template(Some(&eph), "t").iter().map(ToString::to_string).collect();
        assert!(errs.contains(&"t.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template".to_string()), "{errs:?}");
    }
}
