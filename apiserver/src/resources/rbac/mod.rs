//! rbac.authorization.k8s.io/v1 strategies: Role, ClusterRole, RoleBinding and
//! ClusterRoleBinding, with the rule, subject and role reference checks they share.

pub mod clusterrole;
pub mod clusterrolebinding;
pub mod role;
pub mod rolebinding;
pub mod rules;
