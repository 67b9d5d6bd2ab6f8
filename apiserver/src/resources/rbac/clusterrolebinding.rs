//! rbac.authorization.k8s.io/v1 ClusterRoleBinding: path-segment names, defaults,
//! upstream `ValidateClusterRoleBinding`, the immutable `roleRef` and the printer's
//! columns.

use rkube_apimachinery::validation::FieldError;
use serde_json::Value;

use super::rules::{binding_cells, binding_columns, default_binding, validate_binding, validate_rbac_name, validate_role_ref_update};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The ClusterRoleBinding strategy.
pub struct ClusterRoleBindingStrategy;

impl Strategy for ClusterRoleBindingStrategy {
    fn default(&self, obj: &mut Value) {
        default_binding(obj);
    }

    fn validate_name(&self, name: &str, prefix: bool) -> Vec<String> {
        validate_rbac_name(name, prefix)
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_binding(obj, false)
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validate_role_ref_update(obj, old)
    }

    fn columns(&self) -> Vec<Column> {
        binding_columns(
            "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
            "clusterRoleBinding",
        )
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        binding_cells(obj, age_cell(obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn binding_rules() {
        let mut b = json!({"metadata": {"name": "cluster-admin"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "Group", "name": "system:masters"}, {"kind": "ServiceAccount", "name": "sa"}]});
        ClusterRoleBindingStrategy.default(&mut b);
        let m: Vec<String> = ClusterRoleBindingStrategy.validate(&b).iter().map(ToString::to_string).collect();
        assert_eq!(m, ["subjects[1].namespace: Required value"]);
        assert_eq!(ClusterRoleBindingStrategy.cells(&b)[0], "ClusterRole/cluster-admin");
        assert_eq!(ClusterRoleBindingStrategy.cells(&b)[3], "system:masters");
    }
}
