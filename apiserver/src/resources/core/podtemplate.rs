//! PodTemplates: template PodSpec defaults, generation, template validation and the
//! NAME CONTAINERS IMAGES POD LABELS table.

use rkube_apimachinery::validation::{validate_annotations, validate_labels, FieldError};
use serde_json::{json, Value};

use super::podspec_defaults::default_pod_spec;
use super::podspec_validation::validate_pod_spec;
use super::util::{child_obj, container_cells, format_labels, list_at, list_of, string_map};
use crate::resources::strategy::{Column, Strategy};

/// The PodTemplate strategy.
pub struct PodTemplateStrategy;

/// Upstream `ValidatePodTemplateSpec` for the template at `path` (e.g. "template").
pub fn validate_pod_template_spec(template: &Value, path: &str) -> Vec<FieldError> {
    let labels = string_map(template.pointer("/metadata/labels"));
    let annotations = string_map(template.pointer("/metadata/annotations"));
    let mut errs = validate_labels(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())), &format!("{path}.labels"));
    errs.extend(validate_annotations(annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())), &format!("{path}.annotations")));
    let empty = json!({});
    let spec = template.get("spec").unwrap_or(&empty);
    errs.extend(validate_pod_spec(spec, &format!("{path}.spec")));
    if !list_of(spec, "ephemeralContainers").is_empty() {
        errs.push(FieldError::forbidden(format!("{path}.spec.ephemeralContainers"), "ephemeral containers not allowed in pod template"));
    }
    errs
}

impl Strategy for PodTemplateStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(spec) = obj.pointer_mut("/template/spec") {
            default_pod_spec(spec);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(meta) = child_obj(obj, "metadata") {
            meta.insert("generation".into(), json!(1));
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let empty = json!({});
        validate_pod_template_spec(obj.get("template").unwrap_or(&empty), "template")
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Containers", "string", "Names of each container in the template."),
            Column::new("Images", "string", "Images referenced by each container in the template."),
            Column::new("Pod Labels", "string", "The labels for the pod template."),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let (names, images) = container_cells(list_at(obj, "/template/spec/containers"));
        vec![json!(names), json!(images), json!(format_labels(obj.pointer("/template/metadata/labels")))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Value {
        json!({"metadata": {"name": "t"}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}, {"name": "s", "image": "busybox:1.36"}]}}})
    }

    #[test]
    fn defaults_validation_and_cells() {
        let mut t = template();
        PodTemplateStrategy.default(&mut t);
        PodTemplateStrategy.prepare_for_create(&mut t);
        assert_eq!(t["metadata"]["generation"], 1);
        assert_eq!(t["template"]["spec"]["restartPolicy"], "Always");
        assert!(t["template"]["spec"].get("enableServiceLinks").is_none());
        assert!(PodTemplateStrategy.validate(&t).is_empty(), "{:?}", PodTemplateStrategy.validate(&t));
        assert_eq!(PodTemplateStrategy.cells(&t), [json!("c,s"), json!("nginx,busybox:1.36"), json!("app=web")]);
    }

    #[test]
    fn template_spec_errors_are_prefixed() {
        let mut t = json!({"template": {"spec": {"containers": []}}});
        PodTemplateStrategy.default(&mut t);
        let errs: Vec<String> = PodTemplateStrategy.validate(&t).iter().map(ToString::to_string).collect();
        assert_eq!(errs, ["template.spec.containers: Required value"]);
    }
}
