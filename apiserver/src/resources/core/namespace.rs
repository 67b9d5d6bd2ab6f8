//! Namespaces: the `kubernetes.io/metadata.name` label, the `kubernetes` finalizer and the
//! Active phase on create, DNS-label names, finalizer-name validation, the `status.phase`
//! field selector and the NAME STATUS AGE table.

use rkube_apimachinery::validation::{is_qualified_name, validate_namespace_name, FieldError};
use serde_json::{json, Value};

use super::util::{child_obj, invalid_each, list_at, str_at};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The label every namespace carries with its own name.
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The Namespace strategy.
pub struct NamespaceStrategy;

impl Strategy for NamespaceStrategy {
    fn default(&self, obj: &mut Value) {
        let name = str_at(obj, "/metadata/name").to_string();
        if name.is_empty() {
            return;
        }
        if let Some(labels) = child_obj(obj, "metadata").and_then(|m| {
            let slot = m.entry("labels").or_insert_with(|| json!({}));
            if !slot.is_object() {
                *slot = json!({});
            }
            slot.as_object_mut()
        }) {
            labels.insert(NAME_LABEL.into(), json!(name));
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        obj["status"] = json!({"phase": "Active"});
        let Some(spec) = child_obj(obj, "spec") else { return };
        let finalizers = spec.entry("finalizers").or_insert_with(|| json!([]));
        if !finalizers.is_array() {
            *finalizers = json!([]);
        }
        if let Some(list) = finalizers.as_array_mut() {
            if !list.iter().any(|f| f.as_str() == Some("kubernetes")) {
                list.push(json!("kubernetes"));
            }
        }
    }

    fn validate_name(&self, name: &str, prefix: bool) -> Vec<String> {
        validate_namespace_name(name, prefix)
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        for f in list_at(obj, "/spec/finalizers") {
            let name = f.as_str().unwrap_or("");
            errs.extend(invalid_each("spec.finalizers", name, is_qualified_name(name)));
            if !name.contains('/') && name != "kubernetes" {
                errs.push(FieldError::invalid(
                    "spec.finalizers",
                    name,
                    "name is neither a standard finalizer name nor is it fully qualified",
                ));
            }
        }
        errs
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &["status.phase", "name"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "status.phase" => Some(str_at(obj, "/status/phase").to_string()),
            "name" => Some(str_at(obj, "/metadata/name").to_string()),
            _ => crate::resources::strategy::generic_field_value(obj, field),
        }
    }

    fn columns(&self) -> Vec<Column> {
        vec![Column::new("Status", "string", "The status of the namespace"), Column::age()]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![json!(str_at(obj, "/status/phase")), age_cell(obj)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_defaults() {
        let mut ns = json!({"metadata": {"name": "team-a"}});
        NamespaceStrategy.default(&mut ns);
        NamespaceStrategy.prepare_for_create(&mut ns);
        assert_eq!(ns["metadata"]["labels"], json!({"kubernetes.io/metadata.name": "team-a"}));
        assert_eq!(ns["spec"], json!({"finalizers": ["kubernetes"]}));
        assert_eq!(ns["status"], json!({"phase": "Active"}));
        assert!(NamespaceStrategy.validate(&ns).is_empty());
    }

    #[test]
    fn names_and_finalizers() {
        assert_eq!(NamespaceStrategy.validate_name("a.b", false), ["must not contain dots"]);
        let ns = json!({"spec": {"finalizers": ["custom"]}});
        let errs: Vec<String> = NamespaceStrategy.validate(&ns).iter().map(ToString::to_string).collect();
        assert_eq!(errs, ["spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified"]);
    }

    #[test]
    fn table_and_fields() {
        let ns = json!({"metadata": {"name": "x"}, "status": {"phase": "Terminating"}});
        assert_eq!(NamespaceStrategy.cells(&ns), [json!("Terminating"), json!("<unknown>")]);
        assert_eq!(NamespaceStrategy.field_value(&ns, "status.phase").as_deref(), Some("Terminating"));
    }
}
