//! policy/v1 PodDisruptionBudget: upstream `ValidatePodDisruptionBudgetSpec`, the initial
//! status and the printer's columns.

use rkube_apimachinery::validation::FieldError;
use serde_json::{json, Value};

use crate::resources::apps::intstr::{display, is_not_more_than_100_percent, validate_positive_int_or_percent};
use crate::resources::apps::selector::validate_label_selector;
use crate::resources::apps::util::{at, int_at};
use crate::resources::apps::workload::init_status;
use crate::resources::strategy::{age_cell, Column, Strategy};

const EVICTION_POLICIES: &[&str] = &["AlwaysAllow", "IfHealthyBudget"];

/// The PodDisruptionBudget strategy.
pub struct PodDisruptionBudgetStrategy;

impl Strategy for PodDisruptionBudgetStrategy {
    fn prepare_for_create(&self, obj: &mut Value) {
        init_status(
            obj,
            json!({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}),
        );
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let (min, max) = (at(obj, "/spec/minAvailable"), at(obj, "/spec/maxUnavailable"));
        let mut errs = Vec::new();
        if min.is_some() && max.is_some() {
            let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
            errs.push(FieldError::invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"));
        }
        for (value, field) in [(min, "spec.minAvailable"), (max, "spec.maxUnavailable")] {
            if let Some(v) = value {
                errs.extend(validate_positive_int_or_percent(v, field));
                errs.extend(is_not_more_than_100_percent(v, field));
            }
        }
        errs.extend(validate_label_selector(at(obj, "/spec/selector"), "spec.selector"));
        if let Some(policy) = at(obj, "/spec/unhealthyPodEvictionPolicy").and_then(Value::as_str) {
            if !EVICTION_POLICIES.contains(&policy) {
                errs.push(FieldError::not_supported("spec.unhealthyPodEvictionPolicy", policy, EVICTION_POLICIES));
            }
        }
        errs
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Min Available", "string", "The minimum number of pods that must be available."),
            Column::new("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
            Column::new("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let threshold = |p: &str| at(obj, p).map_or_else(|| "N/A".to_string(), display);
        vec![
            json!(threshold("/spec/minAvailable")),
            json!(threshold("/spec/maxUnavailable")),
            json!(int_at(obj, "/status/disruptionsAllowed")),
            age_cell(obj),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_prints() {
        let mut pdb = json!({"metadata": {"name": "zk", "namespace": "default"},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "zookeeper"}}}});
        assert!(PodDisruptionBudgetStrategy.validate(&pdb).is_empty());
        PodDisruptionBudgetStrategy.prepare_for_create(&mut pdb);
        assert_eq!(pdb["status"]["disruptionsAllowed"], 0);
        let cells = PodDisruptionBudgetStrategy.cells(&pdb);
        assert_eq!(cells[..3], [json!("2"), json!("N/A"), json!(0)]);

        let bad = json!({"spec": {"minAvailable": "120%", "maxUnavailable": -1, "unhealthyPodEvictionPolicy": "Never"}});
        let m: Vec<String> = PodDisruptionBudgetStrategy.validate(&bad).iter().map(ToString::to_string).collect();
        assert!(m[0].starts_with("spec: Invalid value: {"), "{m:?}");
        assert!(m[0].ends_with("minAvailable and maxUnavailable cannot be both set"));
        assert_eq!(m[1], "spec.minAvailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"120%\"}: must not be greater than 100%");
        assert_eq!(m[2], "spec.maxUnavailable: Invalid value: -1: must be greater than or equal to 0");
        assert_eq!(m[3], "spec.unhealthyPodEvictionPolicy: Unsupported value: \"Never\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\"");
    }
}
