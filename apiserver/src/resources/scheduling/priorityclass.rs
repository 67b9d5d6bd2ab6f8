//! scheduling.k8s.io/v1 PriorityClass: upstream `SetDefaults_PriorityClass`,
//! `ValidatePriorityClass`/`ValidatePriorityClassUpdate` and the printer's columns.
//!
//! The system classes (`system-node-critical`, `system-cluster-critical`) are created at
//! startup by a bootstrap hook; [`SYSTEM_PRIORITY_CLASSES`] is what it must create. The
//! "only one global default" rule is upstream's Priority admission plugin, not this
//! strategy.

use rkube_apimachinery::validation::FieldError;
use serde_json::{json, Value};

use crate::resources::apps::util::{at, default_str_at, immutable, int_at, opt_bool, str_at};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The highest value a user-defined priority class may have.
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i64 = 1_000_000_000;
/// The value of `system-cluster-critical`.
pub const SYSTEM_CRITICAL_PRIORITY: i64 = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
/// The system classes: name, value and description (none is the global default).
pub const SYSTEM_PRIORITY_CLASSES: &[(&str, i64, &str)] = &[
    ("system-node-critical", SYSTEM_CRITICAL_PRIORITY + 1000, "Used for system critical pods that must not be moved from their current node."),
    ("system-cluster-critical", SYSTEM_CRITICAL_PRIORITY, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
];

/// The PriorityClass strategy.
pub struct PriorityClassStrategy;

impl Strategy for PriorityClassStrategy {
    fn default(&self, obj: &mut Value) {
        default_str_at(obj, "", "preemptionPolicy", "PreemptLowerPriority");
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let name = str_at(obj, "/metadata/name");
        let value = int_at(obj, "/value");
        let mut errs = Vec::new();
        if name.starts_with("system-") {
            if let Err(e) = known_system_class(name, value, opt_bool(obj, "/globalDefault").unwrap_or(false)) {
                errs.push(FieldError::forbidden(
                    "metadata.name",
                    format!("priority class names with 'system-' prefix are reserved for system use only. error: {e}"),
                ));
            }
        } else if value > HIGHEST_USER_DEFINABLE_PRIORITY {
            errs.push(FieldError::forbidden(
                "value",
                format!("maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"),
            ));
        }
        if let Some(policy) = at(obj, "/preemptionPolicy").and_then(Value::as_str) {
            if policy != "PreemptLowerPriority" && policy != "Never" {
                errs.push(FieldError::not_supported("preemptionPolicy", policy, &["PreemptLowerPriority", "Never"]));
            }
        }
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if int_at(obj, "/value") != int_at(old, "/value") {
            errs.push(FieldError::forbidden("value", "may not be changed in an update."));
        }
        errs.extend(immutable(at(obj, "/preemptionPolicy"), at(old, "/preemptionPolicy"), "preemptionPolicy"));
        errs
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Value", "integer", "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec."),
            Column::new("Global-Default", "boolean", "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority."),
            Column::age(),
            Column::wide("PreemptionPolicy", "string", "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset."),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![
            json!(int_at(obj, "/value")),
            json!(opt_bool(obj, "/globalDefault").unwrap_or(false)),
            age_cell(obj),
            json!(str_at(obj, "/preemptionPolicy")),
        ]
    }
}

/// Upstream `IsKnownSystemPriorityClass`.
fn known_system_class(name: &str, value: i64, global_default: bool) -> Result<(), String> {
    let Some((_, expected, _)) = SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _, _)| *n == name) else {
        return Err(format!("{name} is not a known system priority class"));
    };
    if *expected != value {
        return Err(format!("value of {name} PriorityClass must be {expected}"));
    }
    if global_default {
        return Err(format!("globalDefault of {name} PriorityClass must be false"));
    }
    Ok(())
}

/// The system classes as objects, for the bootstrap hook that creates them at startup.
pub fn system_priority_classes() -> Vec<Value> {
    SYSTEM_PRIORITY_CLASSES
        .iter()
        .map(|(name, value, description)| {
            json!({
                "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": name}, "value": value, "description": description,
                "preemptionPolicy": "PreemptLowerPriority",
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_and_validation() {
        let mut pc = json!({"metadata": {"name": "high"}, "value": 1000000, "globalDefault": false});
        PriorityClassStrategy.default(&mut pc);
        assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
        assert!(PriorityClassStrategy.validate(&pc).is_empty());
        let too_high = json!({"metadata": {"name": "x"}, "value": 1000000001, "preemptionPolicy": "Sometimes"});
        assert_eq!(
            msgs(&PriorityClassStrategy.validate(&too_high)),
            [
                "value: Forbidden: maximum allowed value of a user defined priority is 1000000000",
                "preemptionPolicy: Unsupported value: \"Sometimes\": supported values: \"PreemptLowerPriority\", \"Never\"",
            ]
        );
        let fake = json!({"metadata": {"name": "system-mine"}, "value": 5});
        assert_eq!(
            msgs(&PriorityClassStrategy.validate(&fake)),
            ["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"]
        );
        for sys in system_priority_classes() {
            assert!(PriorityClassStrategy.validate(&sys).is_empty(), "{sys}");
        }
    }

    #[test]
    fn update_and_row() {
        let old = json!({"metadata": {"name": "high"}, "value": 10, "preemptionPolicy": "Never", "globalDefault": true});
        let mut new = old.clone();
        new["value"] = json!(11);
        new["preemptionPolicy"] = json!("PreemptLowerPriority");
        assert_eq!(
            msgs(&PriorityClassStrategy.validate_update(&new, &old)),
            [
                "value: Forbidden: may not be changed in an update.",
                "preemptionPolicy: Invalid value: \"PreemptLowerPriority\": field is immutable",
            ]
        );
        assert_eq!(PriorityClassStrategy.cells(&old), vec![json!(10), json!(true), json!("<unknown>"), json!("Never")]);
    }
}
