//! The pieces the RBAC strategies share: upstream `ValidateRBACName` (names are URL path
//! segments), `ValidatePolicyRule`, `ValidateRoleBindingSubject`, the role reference
//! checks, their defaults and the tables' cells.

use rkube_apimachinery::validation::{go_quote, name_is_dns_subdomain, FieldError};
use serde_json::{json, Value};

use crate::resources::apps::selector::{as_selector, invalid_selector, validate_label_selector};
use crate::resources::apps::util::{at, invalid_each, invalid_raw, list_at, obj_at, path_segment_name_errors, str_at};
use crate::resources::strategy::Column;

/// The RBAC API group.
pub const GROUP: &str = "rbac.authorization.k8s.io";

/// Upstream `ValidateRBACName`: any name usable as a URL path segment.
pub fn validate_rbac_name(name: &str, _prefix: bool) -> Vec<String> {
    path_segment_name_errors(name)
}

/// Upstream `ValidatePolicyRule` over every rule of `obj`.
pub fn validate_rules(obj: &Value, namespaced: bool) -> Vec<FieldError> {
    list_at(obj, "/rules").iter().enumerate().flat_map(|(i, r)| validate_rule(r, namespaced, &format!("rules[{i}]"))).collect()
}

fn validate_rule(rule: &Value, namespaced: bool, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let len = |k: &str| list_at(rule, &format!("/{k}")).len();
    if len("verbs") == 0 {
        errs.push(FieldError::required(format!("{path}.verbs"), "verbs must contain at least one value"));
    }
    if len("nonResourceURLs") > 0 {
        let urls = at(rule, "/nonResourceURLs").cloned().unwrap_or(Value::Null);
        if namespaced {
            errs.push(FieldError::invalid(format!("{path}.nonResourceURLs"), urls.clone(), "namespaced rules cannot apply to non-resource URLs"));
        }
        if len("apiGroups") > 0 || len("resources") > 0 || len("resourceNames") > 0 {
            errs.push(FieldError::invalid(format!("{path}.nonResourceURLs"), urls, "rules cannot apply to both regular resources and non-resource URLs"));
        }
        return errs;
    }
    if len("apiGroups") == 0 {
        errs.push(FieldError::required(format!("{path}.apiGroups"), "resource rules must supply at least one api group"));
    }
    if len("resources") == 0 {
        errs.push(FieldError::required(format!("{path}.resources"), "resource rules must supply at least one resource"));
    }
    errs
}

/// A ClusterRole's `aggregationRule`: at least one valid selector.
pub fn validate_aggregation_rule(obj: &Value) -> Vec<FieldError> {
    if at(obj, "/aggregationRule").is_none() {
        return vec![];
    }
    let selectors = list_at(obj, "/aggregationRule/clusterRoleSelectors");
    let mut errs = Vec::new();
    if selectors.is_empty() {
        errs.push(FieldError::required(
            "aggregationRule.clusterRoleSelectors",
            "at least one clusterRoleSelector required if aggregationRule is non-nil",
        ));
    }
    for (i, sel) in selectors.iter().enumerate() {
        let path = format!("aggregationRule.clusterRoleSelectors[{i}]");
        errs.extend(validate_label_selector(Some(sel), &path));
        if as_selector(Some(sel)).is_err() {
            errs.push(invalid_selector(&path, Some(sel), "invalid label selector."));
        }
    }
    errs
}

/// Defaults a binding: the role reference's group and the subjects' groups.
pub fn default_binding(obj: &mut Value) {
    if obj.get("roleRef").is_some_and(Value::is_object) && str_at(obj, "/roleRef/apiGroup").is_empty() {
        if let Some(r) = obj_at(obj, "/roleRef") {
            r.insert("apiGroup".to_string(), json!(GROUP));
        }
    }
    let Some(subjects) = obj.get_mut("subjects").and_then(Value::as_array_mut) else { return };
    for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
        let kind = s.get("kind").and_then(Value::as_str).unwrap_or("");
        let empty = s.get("apiGroup").and_then(Value::as_str).unwrap_or("").is_empty();
        if empty && (kind == "User" || kind == "Group") {
            s.insert("apiGroup".to_string(), json!(GROUP));
        }
    }
}

/// The role reference and subject checks of `ValidateRoleBinding`/`ValidateClusterRoleBinding`.
pub fn validate_binding(obj: &Value, namespaced: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let group = str_at(obj, "/roleRef/apiGroup");
    if group != GROUP {
        errs.push(FieldError::not_supported("roleRef.apiGroup", group, &[GROUP]));
    }
    let kinds: &[&str] = if namespaced { &["Role", "ClusterRole"] } else { &["ClusterRole"] };
    let kind = str_at(obj, "/roleRef/kind");
    if !kinds.contains(&kind) {
        errs.push(FieldError::not_supported("roleRef.kind", kind, kinds));
    }
    let name = str_at(obj, "/roleRef/name");
    if name.is_empty() {
        errs.push(FieldError::required("roleRef.name", ""));
    } else {
        errs.extend(invalid_each("roleRef.name", name, path_segment_name_errors(name)));
    }
    for (i, subject) in list_at(obj, "/subjects").iter().enumerate() {
        errs.extend(validate_subject(subject, namespaced, &format!("subjects[{i}]")));
    }
    errs
}

/// Upstream `ValidateRoleBindingSubject`.
fn validate_subject(s: &Value, namespaced: bool, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_at(s, "/name");
    let group = str_at(s, "/apiGroup");
    if name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    }
    match str_at(s, "/kind") {
        "ServiceAccount" => {
            if !name.is_empty() {
                errs.extend(invalid_each(&format!("{path}.name"), name, name_is_dns_subdomain(name, false)));
            }
            if !group.is_empty() {
                errs.push(FieldError::not_supported(format!("{path}.apiGroup"), group, &[""]));
            }
            if !namespaced && str_at(s, "/namespace").is_empty() {
                errs.push(FieldError::required(format!("{path}.namespace"), ""));
            }
        }
        "User" | "Group" => {
            if group != GROUP {
                errs.push(FieldError::not_supported(format!("{path}.apiGroup"), group, &[GROUP]));
            }
        }
        other => errs.push(FieldError::not_supported(format!("{path}.kind"), other, &["ServiceAccount", "User", "Group"])),
    }
    errs
}

/// `roleRef` may not change (`cannot change roleRef`, with Go's rendering of the new one).
pub fn validate_role_ref_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let key = |o: &Value| ["apiGroup", "kind", "name"].map(|k| str_at(o, &format!("/roleRef/{k}")).to_string());
    if key(obj) == key(old) {
        return vec![];
    }
    let [group, kind, name] = key(obj);
    let rendered = format!("rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}", go_quote(&group), go_quote(&kind), go_quote(&name));
    vec![invalid_raw("roleRef", &rendered, "cannot change roleRef")]
}

/// The "Created At" column of upstream's default table (roles have no printer).
pub fn created_at_column() -> Column {
    Column { name: "Created At".into(), type_: "date".into(), ..Column::age() }
}

/// The creation timestamp in RFC 3339 (Go's zero time when unset).
pub fn created_at_cell(obj: &Value) -> Value {
    json!(at(obj, "/metadata/creationTimestamp").and_then(Value::as_str).unwrap_or("0001-01-01T00:00:00Z"))
}

/// The binding printer's cells: `Kind/name` of the role, then (after Age) users, groups
/// and service accounts.
pub fn binding_cells(obj: &Value, age: Value) -> Vec<Value> {
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for s in list_at(obj, "/subjects") {
        let name = str_at(s, "/name").to_string();
        match str_at(s, "/kind") {
            "ServiceAccount" => sas.push(format!("{}/{name}", str_at(s, "/namespace"))),
            "User" => users.push(name),
            "Group" => groups.push(name),
            _ => {}
        }
    }
    vec![
        json!(format!("{}/{}", str_at(obj, "/roleRef/kind"), str_at(obj, "/roleRef/name"))),
        age,
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(sas.join(", ")),
    ]
}

/// The binding printer's columns; `what` is "roleBinding" or "clusterRoleBinding".
pub fn binding_columns(role_description: &'static str, what: &str) -> Vec<Column> {
    let mut cols = vec![Column::new("Role", "string", role_description), Column::age()];
    for (name, label) in [("Users", "Users"), ("Groups", "Groups"), ("ServiceAccounts", "ServiceAccounts")] {
        let mut c = Column::wide(name, "string", "");
        c.description = format!("{label} in the {what}").into();
        cols.push(c);
    }
    cols
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn rules_and_names() {
        assert_eq!(validate_rbac_name("system:controller:x", false), Vec::<String>::new());
        assert_eq!(validate_rbac_name("a/b", false), ["may not contain '/'"]);
        let role = json!({"rules": [{}, {"verbs": ["get"], "nonResourceURLs": ["/healthz"], "resources": ["pods"]}]});
        assert_eq!(
            msgs(&validate_rules(&role, true)),
            [
                "rules[0].verbs: Required value: verbs must contain at least one value",
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[0].resources: Required value: resource rules must supply at least one resource",
                "rules[1].nonResourceURLs: Invalid value: [\"/healthz\"]: namespaced rules cannot apply to non-resource URLs",
                "rules[1].nonResourceURLs: Invalid value: [\"/healthz\"]: rules cannot apply to both regular resources and non-resource URLs",
            ]
        );
    }

    #[test]
    fn bindings() {
        let mut b = json!({"roleRef": {"kind": "Role", "name": "reader"}, "subjects": [
            {"kind": "User", "name": "jane"}, {"kind": "ServiceAccount", "name": "default", "namespace": "ns"}, {"kind": "Robot", "name": "r2"}
        ]});
        default_binding(&mut b);
        assert_eq!(b["roleRef"]["apiGroup"], GROUP);
        assert_eq!(b["subjects"][0]["apiGroup"], GROUP);
        assert!(b["subjects"][1].get("apiGroup").is_none());
        assert_eq!(
            msgs(&validate_binding(&b, false)),
            [
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
                "subjects[2].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
            ]
        );
        let mut changed = b.clone();
        changed["roleRef"]["name"] = json!("writer");
        assert_eq!(
            msgs(&validate_role_ref_update(&changed, &b)),
            ["roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"writer\"}: cannot change roleRef"]
        );
        let cells = binding_cells(&b, json!("1m"));
        assert_eq!(cells, vec![json!("Role/reader"), json!("1m"), json!("jane"), json!(""), json!("ns/default")]);
    }
}
