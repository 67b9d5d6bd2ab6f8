//! rbac.authorization.k8s.io/v1 ClusterRole: path-segment names, upstream
//! `ValidatePolicyRule` (cluster-wide) and `aggregationRule`, and the default table.

use rkube_apimachinery::validation::FieldError;
use serde_json::Value;

use super::rules::{created_at_cell, created_at_column, validate_aggregation_rule, validate_rbac_name, validate_rules};
use crate::resources::strategy::{Column, Strategy};

/// The ClusterRole strategy.
pub struct ClusterRoleStrategy;

impl Strategy for ClusterRoleStrategy {
    fn validate_name(&self, name: &str, prefix: bool) -> Vec<String> {
        validate_rbac_name(name, prefix)
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_rules(obj, false);
        errs.extend(validate_aggregation_rule(obj));
        errs
    }

    fn columns(&self) -> Vec<Column> {
        vec![created_at_column()]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![created_at_cell(obj)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates() {
        let role = json!({"metadata": {"name": "system:discovery"}, "rules": [{"nonResourceURLs": ["/api", "/api/*"], "verbs": ["get"]}]});
        assert!(ClusterRoleStrategy.validate(&role).is_empty());
        let agg = json!({"metadata": {"name": "admin"}, "aggregationRule": {"clusterRoleSelectors": []}});
        assert_eq!(
            ClusterRoleStrategy.validate(&agg)[0].to_string(),
            "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil"
        );
        assert_eq!(ClusterRoleStrategy.cells(&json!({})), vec![json!("0001-01-01T00:00:00Z")]);
    }
}
