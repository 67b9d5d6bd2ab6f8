//! ReplicationControllers: replicas 1, selector and labels from the template, template
//! PodSpec defaults, `status.replicas` 0 on create, validation, the `status.replicas`
//! field selector and the `kubectl get rc` table.

use rkube_apimachinery::validation::{FieldError, FieldErrorType};
use serde_json::{json, Value};

use super::podspec_defaults::default_pod_spec;
use super::podtemplate::validate_pod_template_spec;
use super::util::{child_obj, container_cells, format_labels, go_string_map, int_at, list_at, nonnegative, str_at, string_map};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The ReplicationController strategy.
pub struct ReplicationControllerStrategy;

impl Strategy for ReplicationControllerStrategy {
    fn default(&self, obj: &mut Value) {
        let labels = obj.pointer("/spec/template/metadata/labels").filter(|l| l.is_object()).cloned();
        if let Some(labels) = labels {
            let empty = |v: Option<&Value>| v.and_then(Value::as_object).is_none_or(|m| m.is_empty());
            if empty(obj.pointer("/spec/selector")) {
                if let Some(spec) = child_obj(obj, "spec") {
                    spec.insert("selector".into(), labels.clone());
                }
            }
            if empty(obj.pointer("/metadata/labels")) {
                if let Some(meta) = child_obj(obj, "metadata") {
                    meta.insert("labels".into(), labels);
                }
            }
        }
        let Some(spec) = child_obj(obj, "spec") else { return };
        if spec.get("replicas").is_none_or(Value::is_null) {
            spec.insert("replicas".into(), json!(1));
        }
        if let Some(pod_spec) = spec.get_mut("template").and_then(|t| t.get_mut("spec")) {
            default_pod_spec(pod_spec);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        obj["status"] = json!({"replicas": 0});
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = nonnegative(obj, "/spec/minReadySeconds", "spec.minReadySeconds");
        let selector = string_map(obj.pointer("/spec/selector"));
        if selector.is_empty() {
            errs.push(FieldError::required("spec.selector", ""));
        }
        errs.extend(nonnegative(obj, "/spec/replicas", "spec.replicas"));
        let Some(template) = obj.pointer("/spec/template").filter(|t| !t.is_null()) else {
            errs.push(FieldError::required("spec.template", ""));
            return errs;
        };
        let labels = string_map(template.pointer("/metadata/labels"));
        if !selector.is_empty() && !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            let shown = format!("{}: `selector` does not match template `labels`", go_string_map(template.pointer("/metadata/labels")));
            errs.push(FieldError::new(FieldErrorType::Invalid, "spec.template.metadata.labels", None, shown));
        }
        errs.extend(validate_pod_template_spec(template, "spec.template"));
        let restart = str_at(template, "/spec/restartPolicy");
        if restart != "Always" {
            errs.push(FieldError::not_supported("spec.template.spec.restartPolicy", restart, &["Always"]));
        }
        if template.pointer("/spec/activeDeadlineSeconds").is_some_and(|v| !v.is_null()) {
            errs.push(FieldError::forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in ReplicationController is not Supported",
            ));
        }
        errs
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &["status.replicas"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "status.replicas" => Some(int_at(obj, "/status/replicas").to_string()),
            _ => crate::resources::strategy::generic_field_value(obj, field),
        }
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Desired", "integer", "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller"),
            Column::new("Current", "integer", "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller"),
            Column::new("Ready", "integer", "The number of ready replicas for this replication controller."),
            Column::age(),
            Column::wide("Containers", "string", "Names of each container in the template."),
            Column::wide("Images", "string", "Images referenced by each container in the template."),
            Column::wide("Selector", "string", "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let (names, images) = container_cells(list_at(obj, "/spec/template/spec/containers"));
        vec![
            json!(int_at(obj, "/spec/replicas")),
            json!(int_at(obj, "/status/replicas")),
            json!(int_at(obj, "/status/readyReplicas")),
            age_cell(obj),
            json!(names),
            json!(images),
            json!(format_labels(obj.pointer("/spec/selector"))),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc() -> Value {
        json!({"metadata": {"name": "web"}, "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    }

    #[test]
    fn defaults() {
        let mut r = rc();
        ReplicationControllerStrategy.default(&mut r);
        ReplicationControllerStrategy.prepare_for_create(&mut r);
        assert_eq!(r["spec"]["replicas"], 1);
        assert_eq!(r["spec"]["selector"], json!({"app": "web"}));
        assert_eq!(r["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(r["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
        assert_eq!(r["status"], json!({"replicas": 0}));
        assert!(ReplicationControllerStrategy.validate(&r).is_empty(), "{:?}", ReplicationControllerStrategy.validate(&r));
    }

    #[test]
    fn selector_must_match() {
        let mut r = rc();
        r["spec"]["selector"] = json!({"app": "other"});
        ReplicationControllerStrategy.default(&mut r);
        let errs: Vec<String> = ReplicationControllerStrategy.validate(&r).iter().map(ToString::to_string).collect();
        assert_eq!(errs, ["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`"]);
    }

    #[test]
    fn table_cells() {
        let mut r = rc();
        ReplicationControllerStrategy.default(&mut r);
        r["status"] = json!({"replicas": 1, "readyReplicas": 1});
        let cells = ReplicationControllerStrategy.cells(&r);
        assert_eq!(cells.len(), ReplicationControllerStrategy.columns().len());
        assert_eq!(cells[..3], [json!(1), json!(1), json!(1)]);
        assert_eq!(cells[4..], [json!("c"), json!("nginx"), json!("app=web")]);
        assert_eq!(ReplicationControllerStrategy.field_value(&r, "status.replicas").as_deref(), Some("1"));
    }
}
