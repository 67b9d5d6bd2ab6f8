//! rbac.authorization.k8s.io/v1 Role: path-segment names, upstream `ValidatePolicyRule`
//! (namespaced) and the default table (Name, Created At).

use rkube_apimachinery::validation::FieldError;
use serde_json::Value;

use super::rules::{created_at_cell, created_at_column, validate_rbac_name, validate_rules};
use crate::resources::strategy::{Column, Strategy};

/// The Role strategy.
pub struct RoleStrategy;

impl Strategy for RoleStrategy {
    fn validate_name(&self, name: &str, prefix: bool) -> Vec<String> {
        validate_rbac_name(name, prefix)
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_rules(obj, true)
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
    fn validates_and_prints() {
        let role = json!({"metadata": {"name": "pod-reader", "creationTimestamp": "2024-05-01T10:00:00Z"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]});
        assert!(RoleStrategy.validate(&role).is_empty());
        assert!(RoleStrategy.validate_name("system:pod-reader", false).is_empty());
        assert_eq!(RoleStrategy.validate_name("a%b", false), ["may not contain '%'"]);
        assert_eq!(RoleStrategy.cells(&role), vec![json!("2024-05-01T10:00:00Z")]);
        let col = &RoleStrategy.columns()[0];
        assert_eq!((col.name.as_ref(), col.type_.as_ref()), ("Created At", "date"));
    }
}
