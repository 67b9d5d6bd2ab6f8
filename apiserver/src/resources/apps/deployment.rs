//! apps/v1 Deployment: upstream `SetDefaults_Deployment`, `ValidateDeploymentSpec`, the
//! registry strategy (status reset, generation bump on annotation changes, immutable
//! selector) and the printer's columns.

use rkube_apimachinery::validation::{validate_nonnegative_field, FieldError};
use serde_json::{json, Value};

use super::intstr::{int_or_percent_value, is_not_more_than_100_percent, validate_positive_int_or_percent};
use super::podtemplate::{container_cells, default_template_at};
use super::selector::{selector_string, validate_controller_selector};
use super::util::{
    at, default_at, default_str_at, go_int_or_string, go_label_selector, immutable_with, int_at, invalid_raw,
    nonnegative, opt_int, str_at,
};
use super::workload::{annotations_changed, bump_generation_if, init_status, selector_and_template};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The Deployment strategy.
pub struct DeploymentStrategy;

impl Strategy for DeploymentStrategy {
    fn default(&self, obj: &mut Value) {
        set_defaults(obj);
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        init_status(obj, json!({}));
    }

    fn prepare_for_update(&self, obj: &mut Value, old: &Value) {
        // Annotations are copied to ReplicaSets, so their changes bump the generation too.
        let changed = annotations_changed(obj, old);
        bump_generation_if(obj, old, changed);
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_spec(obj)
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        immutable_with(at(obj, "/spec/selector"), at(old, "/spec/selector"), "spec.selector", go_label_selector)
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Ready", "string", "Number of the pod with ready state"),
            Column::new("Up-to-date", "string", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
            Column::new("Available", "string", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
            Column::age(),
            Column::wide("Containers", "string", "Names of each container in the template."),
            Column::wide("Images", "string", "Images referenced by each container in the template."),
            Column::wide("Selector", "string", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let (names, images) = container_cells(at(obj, "/spec/template"));
        vec![
            json!(format!("{}/{}", int_at(obj, "/status/readyReplicas"), int_at(obj, "/spec/replicas"))),
            json!(int_at(obj, "/status/updatedReplicas")),
            json!(int_at(obj, "/status/availableReplicas")),
            age_cell(obj),
            names,
            images,
            json!(selector_string(at(obj, "/spec/selector"))),
        ]
    }
}

/// Upstream `SetDefaults_Deployment` plus the embedded pod template's defaults.
pub fn set_defaults(obj: &mut Value) {
    default_at(obj, "/spec", "replicas", json!(1));
    default_str_at(obj, "/spec/strategy", "type", "RollingUpdate");
    if str_at(obj, "/spec/strategy/type") == "RollingUpdate" {
        default_at(obj, "/spec/strategy/rollingUpdate", "maxUnavailable", json!("25%"));
        default_at(obj, "/spec/strategy/rollingUpdate", "maxSurge", json!("25%"));
    }
    default_at(obj, "/spec", "revisionHistoryLimit", json!(10));
    default_at(obj, "/spec", "progressDeadlineSeconds", json!(600));
    default_template_at(obj, "/spec");
}

/// Upstream `ValidateDeploymentSpec`.
pub fn validate_spec(obj: &Value) -> Vec<FieldError> {
    let replicas = int_at(obj, "/spec/replicas");
    let mut errs = validate_nonnegative_field(replicas, "spec.replicas");
    errs.extend(validate_controller_selector(at(obj, "/spec/selector"), "spec.selector", "deployment"));
    errs.extend(selector_and_template(obj, replicas, "invalid label selector"));
    errs.extend(validate_strategy(obj));
    errs.extend(nonnegative(obj, "/spec/minReadySeconds", "spec.minReadySeconds"));
    errs.extend(nonnegative(obj, "/spec/revisionHistoryLimit", "spec.revisionHistoryLimit"));
    if let Some(deadline) = opt_int(obj, "/spec/progressDeadlineSeconds") {
        errs.extend(validate_nonnegative_field(deadline, "spec.progressDeadlineSeconds"));
        if deadline <= int_at(obj, "/spec/minReadySeconds") {
            errs.push(FieldError::invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"));
        }
    }
    errs
}

/// Upstream `ValidateDeploymentStrategy`.
fn validate_strategy(obj: &Value) -> Vec<FieldError> {
    let rolling = at(obj, "/spec/strategy/rollingUpdate");
    match str_at(obj, "/spec/strategy/type") {
        "Recreate" if rolling.is_some() => vec![FieldError::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        )],
        "Recreate" => vec![],
        "RollingUpdate" => match rolling {
            None => vec![FieldError::required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil")],
            Some(r) => validate_rolling_update(r, "spec.strategy.rollingUpdate"),
        },
        other => {
            let rendered = format!(
                "apps.DeploymentStrategy{{Type:{}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}}",
                rkube_apimachinery::validation::go_quote(other)
            );
            let mut e = invalid_raw("spec.strategy", &rendered, "supported values: \"Recreate\", \"RollingUpdate\"");
            e.error_type = rkube_apimachinery::validation::FieldErrorType::NotSupported;
            vec![e]
        }
    }
}

/// Upstream `ValidateRollingUpdateDeployment`.
fn validate_rolling_update(r: &Value, path: &str) -> Vec<FieldError> {
    let zero = json!(0);
    let unavailable = r.get("maxUnavailable").filter(|v| !v.is_null()).unwrap_or(&zero);
    let surge = r.get("maxSurge").filter(|v| !v.is_null()).unwrap_or(&zero);
    let mut errs = validate_positive_int_or_percent(unavailable, &format!("{path}.maxUnavailable"));
    errs.extend(validate_positive_int_or_percent(surge, &format!("{path}.maxSurge")));
    if int_or_percent_value(unavailable) == 0 && int_or_percent_value(surge) == 0 {
        errs.push(invalid_raw(
            &format!("{path}.maxUnavailable"),
            &go_int_or_string(unavailable),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    errs.extend(is_not_more_than_100_percent(unavailable, &format!("{path}.maxUnavailable")));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "generation": 1},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}
            }
        })
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_match_upstream() {
        let mut d = deployment();
        DeploymentStrategy.default(&mut d);
        let s = &d["spec"];
        assert_eq!(s["replicas"], 1);
        assert_eq!(s["strategy"], json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}));
        assert_eq!(s["revisionHistoryLimit"], 10);
        assert_eq!(s["progressDeadlineSeconds"], 600);
        assert_eq!(s["template"]["spec"]["restartPolicy"], "Always");
        assert!(DeploymentStrategy.validate(&d).is_empty(), "{:?}", DeploymentStrategy.validate(&d));

        let mut recreate = deployment();
        recreate["spec"]["strategy"] = json!({"type": "Recreate"});
        DeploymentStrategy.default(&mut recreate);
        assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn selector_required_and_matching() {
        let mut d = deployment();
        d["spec"].as_object_mut().unwrap().remove("selector");
        DeploymentStrategy.default(&mut d);
        assert_eq!(
            msgs(&DeploymentStrategy.validate(&d)),
            [
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
            ]
        );
        let mut m = deployment();
        m["spec"]["selector"] = json!({"matchLabels": {"app": "other"}});
        DeploymentStrategy.default(&mut m);
        assert_eq!(
            msgs(&DeploymentStrategy.validate(&m)),
            ["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`"]
        );
    }

    #[test]
    fn spec_values_are_checked() {
        let mut d = deployment();
        d["spec"]["replicas"] = json!(-1);
        d["spec"]["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}});
        d["spec"]["minReadySeconds"] = json!(700);
        d["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
        DeploymentStrategy.default(&mut d);
        assert_eq!(
            msgs(&DeploymentStrategy.validate(&d)),
            [
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0",
                "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
            ]
        );
        let mut bad = deployment();
        bad["spec"]["strategy"] = json!({"type": "Foo"});
        DeploymentStrategy.default(&mut bad);
        assert_eq!(
            msgs(&DeploymentStrategy.validate(&bad)),
            ["spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:\"Foo\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\""]
        );
        let mut rec = deployment();
        rec["spec"]["strategy"] = json!({"type": "Recreate", "rollingUpdate": {}});
        DeploymentStrategy.default(&mut rec);
        assert_eq!(
            msgs(&DeploymentStrategy.validate(&rec)),
            ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]
        );
    }

    #[test]
    fn update_rules() {
        let mut old = deployment();
        DeploymentStrategy.default(&mut old);
        let mut new = old.clone();
        new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "x": "y"}});
        assert_eq!(
            msgs(&DeploymentStrategy.validate_update(&new, &old)),
            ["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"x\":\"y\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"]
        );
        let mut annotated = old.clone();
        annotated["metadata"]["annotations"] = json!({"a": "b"});
        DeploymentStrategy.prepare_for_update(&mut annotated, &old);
        assert_eq!(annotated["metadata"]["generation"], 2);
        let mut created = deployment();
        DeploymentStrategy.prepare_for_create(&mut created);
        assert_eq!(created["status"], json!({}));
    }

    #[test]
    fn table_row() {
        let mut d = deployment();
        DeploymentStrategy.default(&mut d);
        d["status"] = json!({"readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1});
        let cells = DeploymentStrategy.cells(&d);
        assert_eq!(DeploymentStrategy.columns().len(), cells.len());
        assert_eq!(cells[0], "1/1");
        assert_eq!(cells[1], 1);
        assert_eq!(cells[3], "<unknown>");
        assert_eq!(cells[4], "nginx");
        assert_eq!(cells[5], "nginx:1.25");
        assert_eq!(cells[6], "app=web");
        let names: Vec<String> = DeploymentStrategy.columns().iter().map(|c| c.name.to_string()).collect();
        assert_eq!(names, ["Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]);
    }
}
