//! coordination.k8s.io/v1 Lease: upstream `ValidateLeaseSpec` and the printer's columns.

use rkube_apimachinery::validation::{is_qualified_name, FieldError};
use serde_json::{json, Value};

use crate::resources::apps::util::{at, opt_int};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The strategies Kubernetes itself defines (single-segment names).
const STRATEGIES: &[&str] = &["OldestEmulationVersion"];

/// The Lease strategy.
pub struct LeaseStrategy;

impl Strategy for LeaseStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if let Some(d) = opt_int(obj, "/spec/leaseDurationSeconds").filter(|d| *d <= 0) {
            errs.push(FieldError::invalid("spec.leaseDurationSeconds", d, "must be greater than 0"));
        }
        if let Some(t) = opt_int(obj, "/spec/leaseTransitions").filter(|t| *t < 0) {
            errs.push(FieldError::invalid("spec.leaseTransitions", t, "must be greater than or equal to 0"));
        }
        let strategy = at(obj, "/spec/strategy").and_then(Value::as_str);
        if let Some(s) = strategy {
            errs.extend(validate_strategy(s));
        }
        let preferred = at(obj, "/spec/preferredHolder").and_then(Value::as_str).unwrap_or("");
        if !preferred.is_empty() && strategy.unwrap_or("").is_empty() {
            errs.push(FieldError::forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined"));
        }
        errs
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Holder", "string", "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field."),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![json!(at(obj, "/spec/holderIdentity").and_then(Value::as_str).unwrap_or("")), age_cell(obj)]
    }
}

/// Upstream `ValidateCoordinatedLeaseStrategy`: a known strategy or a prefixed name.
fn validate_strategy(s: &str) -> Vec<FieldError> {
    if !s.contains('/') {
        if STRATEGIES.contains(&s) {
            return vec![];
        }
        return vec![FieldError::not_supported("spec.strategy", s, STRATEGIES)];
    }
    is_qualified_name(s).into_iter().map(|m| FieldError::invalid("spec.strategy", s, m)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_prints() {
        let lease = json!({"metadata": {"name": "kube-scheduler", "namespace": "kube-system"},
            "spec": {"holderIdentity": "node-1_abc", "leaseDurationSeconds": 15, "leaseTransitions": 0}});
        assert!(LeaseStrategy.validate(&lease).is_empty());
        assert_eq!(LeaseStrategy.cells(&lease)[0], "node-1_abc");
        let bad = json!({"metadata": {"name": "x"}, "spec": {"leaseDurationSeconds": 0, "leaseTransitions": -1, "preferredHolder": "a"}});
        let m: Vec<String> = LeaseStrategy.validate(&bad).iter().map(ToString::to_string).collect();
        assert_eq!(
            m,
            [
                "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
                "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
                "spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined",
            ]
        );
        let unknown = json!({"spec": {"strategy": "Newest"}});
        assert_eq!(LeaseStrategy.validate(&unknown)[0].to_string(), "spec.strategy: Unsupported value: \"Newest\": supported values: \"OldestEmulationVersion\"");
        assert_eq!(LeaseStrategy.cells(&json!({}))[0], "");
    }
}
