//! apps/v1 DaemonSet: upstream `SetDefaults_DaemonSet`, `ValidateDaemonSetSpec`, the
//! template generation (kept in apps/v1 as the `deprecated.daemonset.template.generation`
//! annotation), the immutable selector and the printer's columns.

use rkube_apimachinery::validation::{go_quote, validate_nonnegative_field, FieldError};
use serde_json::{json, Value};

use super::intstr::{int_or_percent_value, is_not_more_than_100_percent, validate_positive_int_or_percent};
use super::podtemplate::{container_cells, default_template_at, labels, validate_read_only_disks, validate_template};
use super::selector::{as_selector, format_label_selector, invalid_selector, is_empty_selector, template_mismatch, validate_label_selector};
use super::util::{
    at, default_at, default_str_at, format_labels, go_int_or_string, go_label_selector, immutable_with, int_at,
    invalid_raw, nonnegative, obj_at, semantic_eq, str_at,
};
use super::workload::{init_status, no_active_deadline, restart_always};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The annotation apps/v1 stores the internal `spec.templateGeneration` in.
pub const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

/// The DaemonSet strategy.
pub struct DaemonSetStrategy;

impl Strategy for DaemonSetStrategy {
    fn default(&self, obj: &mut Value) {
        set_defaults(obj);
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        init_status(
            obj,
            json!({"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0}),
        );
        let generation = template_generation(obj).unwrap_or(0).max(1);
        set_template_generation(obj, generation);
    }

    fn prepare_for_update(&self, obj: &mut Value, old: &Value) {
        let old_generation = template_generation(old).unwrap_or(0);
        let generation = if semantic_eq(at(obj, "/spec/template"), at(old, "/spec/template")) {
            template_generation(obj).unwrap_or(old_generation)
        } else {
            old_generation + 1
        };
        set_template_generation(obj, generation);
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_spec(obj)
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_template_generation_update(obj, old);
        errs.extend(immutable_with(at(obj, "/spec/selector"), at(old, "/spec/selector"), "spec.selector", go_label_selector));
        errs
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Desired", "integer", "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"),
            Column::new("Current", "integer", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"),
            Column::new("Ready", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
            Column::new("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod"),
            Column::new("Available", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"),
            Column::new("Node Selector", "string", "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"),
            Column::age(),
            Column::wide("Containers", "string", "Names of each container in the template."),
            Column::wide("Images", "string", "Images referenced by each container in the template."),
            Column::wide("Selector", "string", "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let (names, images) = container_cells(at(obj, "/spec/template"));
        let status = |k: &str| json!(int_at(obj, &format!("/status/{k}")));
        vec![
            status("desiredNumberScheduled"),
            status("currentNumberScheduled"),
            status("numberReady"),
            status("updatedNumberScheduled"),
            status("numberAvailable"),
            json!(format_labels(at(obj, "/spec/template/spec/nodeSelector"))),
            age_cell(obj),
            names,
            images,
            json!(format_label_selector(at(obj, "/spec/selector"))),
        ]
    }
}

/// Upstream `SetDefaults_DaemonSet` plus the pod template's defaults.
pub fn set_defaults(obj: &mut Value) {
    default_str_at(obj, "/spec/updateStrategy", "type", "RollingUpdate");
    if str_at(obj, "/spec/updateStrategy/type") == "RollingUpdate" {
        default_at(obj, "/spec/updateStrategy/rollingUpdate", "maxUnavailable", json!(1));
        default_at(obj, "/spec/updateStrategy/rollingUpdate", "maxSurge", json!(0));
    }
    default_at(obj, "/spec", "revisionHistoryLimit", json!(10));
    default_template_at(obj, "/spec");
}

/// The template generation carried by the annotation, when present and numeric.
fn template_generation(obj: &Value) -> Option<i64> {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(TEMPLATE_GENERATION))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn set_template_generation(obj: &mut Value, generation: i64) {
    if let Some(a) = obj_at(obj, "/metadata/annotations") {
        a.insert(TEMPLATE_GENERATION.to_string(), json!(generation.to_string()));
    }
}

/// Upstream `ValidateDaemonSetSpecUpdate`: the template generation moves with the template.
fn validate_template_generation_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let (new_gen, old_gen) = (template_generation(obj).unwrap_or(0), template_generation(old).unwrap_or(0));
    let updated = !semantic_eq(at(obj, "/spec/template"), at(old, "/spec/template"));
    let detail = if new_gen < old_gen {
        "must not be decremented"
    } else if new_gen == old_gen && updated {
        "must be incremented upon template update"
    } else if new_gen > old_gen && !updated {
        "must not be incremented without template update"
    } else {
        return vec![];
    };
    vec![FieldError::invalid("spec.templateGeneration", new_gen, detail)]
}

/// Upstream `ValidateDaemonSetSpec`.
pub fn validate_spec(obj: &Value) -> Vec<FieldError> {
    let sel = at(obj, "/spec/selector");
    let template = at(obj, "/spec/template");
    let mut errs = validate_label_selector(sel, "spec.selector");
    if let Ok(s) = as_selector(sel) {
        if !s.matches(labels(template).unwrap_or(&Value::Null)) {
            errs.push(template_mismatch("spec.template", labels(template)));
        }
    }
    if sel.is_some_and(is_empty_selector) {
        errs.push(invalid_selector("spec.selector", sel, "empty selector is invalid for daemonset"));
    }
    errs.extend(validate_template(template, "spec.template"));
    errs.extend(validate_read_only_disks(template, "spec.template.spec.volumes"));
    errs.extend(restart_always(template, "spec.template"));
    errs.extend(no_active_deadline(template, "spec.template", "DaemonSet"));
    errs.extend(nonnegative(obj, "/spec/minReadySeconds", "spec.minReadySeconds"));
    if let Some(generation) = template_generation(obj) {
        errs.extend(validate_nonnegative_field(generation, "spec.templateGeneration"));
    }
    errs.extend(validate_update_strategy(obj));
    errs.extend(nonnegative(obj, "/spec/revisionHistoryLimit", "spec.revisionHistoryLimit"));
    errs
}

/// Upstream `ValidateDaemonSetUpdateStrategy`.
fn validate_update_strategy(obj: &Value) -> Vec<FieldError> {
    let rolling = at(obj, "/spec/updateStrategy/rollingUpdate");
    match str_at(obj, "/spec/updateStrategy/type") {
        "OnDelete" => vec![],
        "RollingUpdate" => match rolling {
            None => vec![FieldError::required("spec.updateStrategy.rollingUpdate", "")],
            Some(r) => validate_rolling_update(r, "spec.updateStrategy.rollingUpdate"),
        },
        other => {
            let rendered = format!(
                "apps.DaemonSetUpdateStrategy{{Type:{}, RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}}",
                go_quote(other)
            );
            let mut e = invalid_raw("spec.updateStrategy", &rendered, "supported values: \"RollingUpdate\", \"OnDelete\"");
            e.error_type = rkube_apimachinery::validation::FieldErrorType::NotSupported;
            vec![e]
        }
    }
}

/// Upstream `ValidateRollingUpdateDaemonSet`: exactly one of surge and unavailability.
fn validate_rolling_update(r: &Value, path: &str) -> Vec<FieldError> {
    let zero = json!(0);
    let unavailable = r.get("maxUnavailable").filter(|v| !v.is_null()).unwrap_or(&zero);
    let surge = r.get("maxSurge").filter(|v| !v.is_null()).unwrap_or(&zero);
    let (unavailable_path, surge_path) = (format!("{path}.maxUnavailable"), format!("{path}.maxSurge"));
    let mut errs = validate_positive_int_or_percent(unavailable, &unavailable_path);
    errs.extend(validate_positive_int_or_percent(surge, &surge_path));
    errs.extend(is_not_more_than_100_percent(unavailable, &unavailable_path));
    errs.extend(is_not_more_than_100_percent(surge, &surge_path));
    match (int_or_percent_value(unavailable) != 0, int_or_percent_value(surge) != 0) {
        (true, true) => errs.push(invalid_raw(&surge_path, &go_int_or_string(surge), "may not be set when maxUnavailable is non-zero")),
        (false, false) => errs.push(FieldError::required(unavailable_path, "cannot be 0 when maxSurge is 0")),
        _ => {}
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds() -> Value {
        json!({
            "metadata": {"name": "agent", "namespace": "kube-system", "generation": 1},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"nodeSelector": {"os": "linux"}, "containers": [{"name": "a", "image": "agent:1"}]}}
            }
        })
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_and_template_generation() {
        let mut d = ds();
        DaemonSetStrategy.default(&mut d);
        assert_eq!(d["spec"]["updateStrategy"], json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}));
        assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
        DaemonSetStrategy.prepare_for_create(&mut d);
        assert_eq!(d["metadata"]["annotations"][TEMPLATE_GENERATION], "1");
        assert_eq!(d["status"]["numberReady"], 0);
        assert!(DaemonSetStrategy.validate(&d).is_empty(), "{:?}", DaemonSetStrategy.validate(&d));

        let mut changed = d.clone();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("agent:2");
        DaemonSetStrategy.prepare_for_update(&mut changed, &d);
        assert_eq!(changed["metadata"]["annotations"][TEMPLATE_GENERATION], "2");
        assert!(DaemonSetStrategy.validate_update(&changed, &d).is_empty());

        let mut bumped = d.clone();
        bumped["metadata"]["annotations"][TEMPLATE_GENERATION] = json!("5");
        DaemonSetStrategy.prepare_for_update(&mut bumped, &d);
        assert_eq!(
            msgs(&DaemonSetStrategy.validate_update(&bumped, &d)),
            ["spec.templateGeneration: Invalid value: 5: must not be incremented without template update"]
        );
    }

    #[test]
    fn validation_messages() {
        let mut d = ds();
        DaemonSetStrategy.default(&mut d);
        d["spec"]["updateStrategy"]["rollingUpdate"] = json!({"maxUnavailable": 1, "maxSurge": "10%"});
        d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        assert_eq!(
            msgs(&DaemonSetStrategy.validate(&d)),
            [
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
                "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"10%\"}: may not be set when maxUnavailable is non-zero",
            ]
        );
        let mut none = ds();
        none["spec"].as_object_mut().unwrap().remove("selector");
        none["spec"]["updateStrategy"] = json!({"type": "Foo"});
        DaemonSetStrategy.default(&mut none);
        assert_eq!(
            msgs(&DaemonSetStrategy.validate(&none)),
            [
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"agent\"}: `selector` does not match template `labels`",
                "spec.updateStrategy: Unsupported value: apps.DaemonSetUpdateStrategy{Type:\"Foo\", RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}: supported values: \"RollingUpdate\", \"OnDelete\"",
            ]
        );
    }

    #[test]
    fn table_row() {
        let mut d = ds();
        DaemonSetStrategy.default(&mut d);
        let cells = DaemonSetStrategy.cells(&d);
        assert_eq!(cells.len(), DaemonSetStrategy.columns().len());
        assert_eq!(cells[0], 0);
        assert_eq!(cells[5], "os=linux");
        assert_eq!(cells[9], "app=agent");
    }
}
