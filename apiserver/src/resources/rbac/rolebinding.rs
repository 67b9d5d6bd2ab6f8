//! rbac.authorization.k8s.io/v1 RoleBinding: path-segment names, defaults of the role
//! reference and subjects, upstream `ValidateRoleBinding`, the immutable `roleRef` and
//! the printer's columns.

use rkube_apimachinery::validation::FieldError;
use serde_json::Value;

use super::rules::{binding_cells, binding_columns, default_binding, validate_binding, validate_rbac_name, validate_role_ref_update};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The RoleBinding strategy.
pub struct RoleBindingStrategy;

impl Strategy for RoleBindingStrategy {
    fn default(&self, obj: &mut Value) {
        default_binding(obj);
    }

    fn validate_name(&self, name: &str, prefix: bool) -> Vec<String> {
        validate_rbac_name(name, prefix)
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_binding(obj, true)
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validate_role_ref_update(obj, old)
    }

    fn columns(&self) -> Vec<Column> {
        binding_columns(
            "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
            "roleBinding",
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
    fn binding_lifecycle() {
        let mut b = json!({"metadata": {"name": "read-pods", "namespace": "default"},
            "subjects": [{"kind": "User", "name": "jane"}], "roleRef": {"kind": "Role", "name": "pod-reader"}});
        RoleBindingStrategy.default(&mut b);
        assert!(RoleBindingStrategy.validate(&b).is_empty(), "{:?}", RoleBindingStrategy.validate(&b));
        let mut changed = b.clone();
        changed["roleRef"]["kind"] = json!("ClusterRole");
        assert!(RoleBindingStrategy.validate_update(&changed, &b)[0].to_string().ends_with("cannot change roleRef"));
        assert_eq!(RoleBindingStrategy.cells(&b).len(), RoleBindingStrategy.columns().len());
        assert_eq!(RoleBindingStrategy.columns()[2].description, "Users in the roleBinding");
    }
}
