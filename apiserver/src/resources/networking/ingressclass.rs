//! networking.k8s.io/v1 IngressClass: upstream `SetDefaults_IngressClass` (parameters
//! scope `Cluster`), `ValidateIngressClass` (controller, parameters), the immutable
//! controller and the printer's columns.

use rkube_apimachinery::validation::{validate_namespace_name, FieldError};
use serde_json::{json, Value};

use super::typedref::validate_typed_reference;
use crate::resources::apps::util::{at, default_str_at, immutable, invalid_each, is_domain_prefixed_path, str_at};
use crate::resources::strategy::{age_cell, Column, Strategy};

const MAX_CONTROLLER_LENGTH: i64 = 250;

/// The IngressClass strategy.
pub struct IngressClassStrategy;

impl Strategy for IngressClassStrategy {
    fn default(&self, obj: &mut Value) {
        if at(obj, "/spec/parameters").is_some() {
            default_str_at(obj, "/spec/parameters", "scope", "Cluster");
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let controller = str_at(obj, "/spec/controller");
        let mut errs = Vec::new();
        if controller.len() as i64 > MAX_CONTROLLER_LENGTH {
            errs.push(FieldError::too_long("spec.controller", MAX_CONTROLLER_LENGTH));
        }
        errs.extend(is_domain_prefixed_path("spec.controller", controller));
        if let Some(p) = at(obj, "/spec/parameters") {
            errs.extend(validate_parameters(p, "spec.parameters"));
        }
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        immutable(at(obj, "/spec/controller"), at(old, "/spec/controller"), "spec.controller")
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Controller", "string", "Controller that is responsible for handling this class"),
            Column::new("Parameters", "string", "A reference to a resource with additional parameters"),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let parameters = match at(obj, "/spec/parameters") {
            None => "<none>".to_string(),
            Some(p) => {
                let group = at(p, "/apiGroup").and_then(Value::as_str).map(|g| format!(".{g}")).unwrap_or_default();
                format!("{}{group}/{}", str_at(p, "/kind"), str_at(p, "/name"))
            }
        };
        vec![json!(str_at(obj, "/spec/controller")), json!(parameters), age_cell(obj)]
    }
}

/// Upstream `validateIngressClassParametersReference`.
fn validate_parameters(p: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_typed_reference(p, path);
    let Some(scope) = at(p, "/scope").map(|s| s.as_str().unwrap_or("")) else {
        errs.push(FieldError::required(format!("{path}.scope"), ""));
        return errs;
    };
    let namespace = at(p, "/namespace").map(|n| n.as_str().unwrap_or(""));
    match scope {
        "Namespace" => match namespace {
            None => errs.push(FieldError::required(format!("{path}.namespace"), "`parameters.scope` is set to 'Namespace'")),
            Some(ns) => errs.extend(invalid_each(&format!("{path}.namespace"), ns, validate_namespace_name(ns, false))),
        },
        "Cluster" => {
            if namespace.is_some() {
                errs.push(FieldError::forbidden(format!("{path}.namespace"), "`parameters.scope` is set to 'Cluster'"));
            }
        }
        other => errs.push(FieldError::not_supported(format!("{path}.scope"), other, &["Cluster", "Namespace"])),
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class() -> Value {
        json!({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}})
    }

    #[test]
    fn defaults_validates_and_prints() {
        let mut c = class();
        IngressClassStrategy.default(&mut c);
        assert_eq!(c["spec"]["parameters"]["scope"], "Cluster");
        assert!(IngressClassStrategy.validate(&c).is_empty());
        assert_eq!(IngressClassStrategy.cells(&c)[..2], [json!("k8s.io/ingress-nginx"), json!("IngressParameters.k8s.example.com/external-lb")]);
        let mut ns = c.clone();
        ns["spec"]["parameters"]["scope"] = json!("Namespace");
        assert_eq!(
            IngressClassStrategy.validate(&ns)[0].to_string(),
            "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'"
        );
        let mut other = c.clone();
        other["spec"]["controller"] = json!("k8s.io/other");
        assert_eq!(IngressClassStrategy.validate_update(&other, &c)[0].to_string(), "spec.controller: Invalid value: \"k8s.io/other\": field is immutable");
        let none = json!({"metadata": {"name": "x"}, "spec": {"controller": "a.io/b"}});
        assert_eq!(IngressClassStrategy.cells(&none)[1], "<none>");
    }
}
