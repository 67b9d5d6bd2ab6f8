//! ServiceAccounts: secret references trimmed to their names (upstream
//! `cleanSecretReferences`) and the NAME SECRETS AGE table.

use serde_json::{json, Value};

use super::util::len_at;
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The ServiceAccount strategy.
pub struct ServiceAccountStrategy;

/// Keeps only the `name` of each `secrets` reference.
fn clean_secret_references(obj: &mut Value) {
    if let Some(list) = obj.get_mut("secrets").and_then(Value::as_array_mut) {
        for item in list.iter_mut() {
            let name = item.get("name").cloned();
            *item = match name {
                Some(n) if !n.is_null() => json!({ "name": n }),
                _ => json!({}),
            };
        }
    }
}

impl Strategy for ServiceAccountStrategy {
    fn prepare_for_create(&self, obj: &mut Value) {
        clean_secret_references(obj);
    }

    fn prepare_for_update(&self, obj: &mut Value, _old: &Value) {
        clean_secret_references(obj);
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Secrets", "string", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret"),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![json!(len_at(obj, "/secrets")), age_cell(obj)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references_keep_only_names() {
        let mut sa = json!({"secrets": [{"name": "tok", "namespace": "x", "uid": "1"}]});
        ServiceAccountStrategy.prepare_for_create(&mut sa);
        assert_eq!(sa["secrets"], json!([{"name": "tok"}]));
        assert_eq!(ServiceAccountStrategy.cells(&sa), [json!(1), json!("<unknown>")]);
    }

    #[test]
    fn names_are_dns_subdomains() {
        assert!(ServiceAccountStrategy.validate_name("my-sa.v1", false).is_empty());
        assert_eq!(ServiceAccountStrategy.validate_name("My_SA", false).len(), 1);
    }
}
