//! apps/v1 ReplicaSet: upstream `SetDefaults_ReplicaSet`, `ValidateReplicaSetSpec`, the
//! registry strategy (immutable selector, `status.replicas` field selector) and the
//! printer's columns.

use rkube_apimachinery::validation::{validate_nonnegative_field, FieldError};
use serde_json::{json, Value};

use super::podtemplate::{container_cells, default_template_at};
use super::selector::{format_label_selector, validate_controller_selector};
use super::util::{at, default_at, go_label_selector, immutable_with, int_at, nonnegative};
use super::workload::{init_status, selector_and_template};
use crate::resources::strategy::{age_cell, generic_field_value, Column, Strategy};

/// The ReplicaSet strategy.
pub struct ReplicaSetStrategy;

impl Strategy for ReplicaSetStrategy {
    fn default(&self, obj: &mut Value) {
        default_at(obj, "/spec", "replicas", json!(1));
        default_template_at(obj, "/spec");
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        init_status(obj, json!({"replicas": 0}));
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_spec(obj)
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        immutable_with(at(obj, "/spec/selector"), at(old, "/spec/selector"), "spec.selector", go_label_selector)
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &["status.replicas"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "status.replicas" => Some(int_at(obj, "/status/replicas").to_string()),
            other => generic_field_value(obj, other),
        }
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Desired", "integer", "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller"),
            Column::new("Current", "integer", "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller"),
            Column::new("Ready", "integer", "The number of ready replicas for this replica set."),
            Column::age(),
            Column::wide("Containers", "string", "Names of each container in the template."),
            Column::wide("Images", "string", "Images referenced by each container in the template."),
            Column::wide("Selector", "string", "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let (names, images) = container_cells(at(obj, "/spec/template"));
        vec![
            json!(int_at(obj, "/spec/replicas")),
            json!(int_at(obj, "/status/replicas")),
            json!(int_at(obj, "/status/readyReplicas")),
            age_cell(obj),
            names,
            images,
            json!(format_label_selector(at(obj, "/spec/selector"))),
        ]
    }
}

/// Upstream `ValidateReplicaSetSpec`.
pub fn validate_spec(obj: &Value) -> Vec<FieldError> {
    let replicas = int_at(obj, "/spec/replicas");
    let mut errs = validate_nonnegative_field(replicas, "spec.replicas");
    errs.extend(nonnegative(obj, "/spec/minReadySeconds", "spec.minReadySeconds"));
    // Upstream's message names deployments here too.
    errs.extend(validate_controller_selector(at(obj, "/spec/selector"), "spec.selector", "deployment"));
    errs.extend(selector_and_template(obj, replicas, "invalid label selector"));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs() -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
            }
        })
    }

    #[test]
    fn defaults_and_validates() {
        let mut r = rs();
        ReplicaSetStrategy.default(&mut r);
        assert_eq!(r["spec"]["replicas"], 1);
        assert!(ReplicaSetStrategy.validate(&r).is_empty());
        r["spec"]["replicas"] = json!(-3);
        r["spec"]["minReadySeconds"] = json!(-1);
        let m: Vec<String> = ReplicaSetStrategy.validate(&r).iter().map(ToString::to_string).collect();
        assert_eq!(
            m,
            [
                "spec.replicas: Invalid value: -3: must be greater than or equal to 0",
                "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
    }

    #[test]
    fn selector_immutable_and_fields() {
        let old = rs();
        let mut new = rs();
        new["spec"]["selector"]["matchLabels"]["app"] = json!("x");
        assert!(ReplicaSetStrategy.validate_update(&new, &old)[0].detail.ends_with("field is immutable"));
        assert_eq!(ReplicaSetStrategy.field_value(&old, "status.replicas").as_deref(), Some("0"));
        let mut c = rs();
        ReplicaSetStrategy.prepare_for_create(&mut c);
        assert_eq!(c["status"], json!({"replicas": 0}));
        assert_eq!(ReplicaSetStrategy.field_value(&c, "metadata.name").as_deref(), Some("web"));
    }

    #[test]
    fn table_row() {
        let mut r = rs();
        ReplicaSetStrategy.default(&mut r);
        r["status"] = json!({"replicas": 1, "readyReplicas": 1});
        let cells = ReplicaSetStrategy.cells(&r);
        assert_eq!(cells.len(), ReplicaSetStrategy.columns().len());
        assert_eq!(&cells[..3], &[json!(1), json!(1), json!(1)]);
        assert_eq!(cells[6], "app=web");
    }
}
