//! Custom resources: turning CustomResourceDefinitions into served resources, validating
//! custom objects against their openAPIV3Schema, pruning unknown fields, and printing the
//! CRD's additionalPrinterColumns.

use std::sync::Arc;

use rkube_apimachinery::validation::FieldError;
use serde_json::{json, Value};

use super::strategy::{age_cell, Column, Strategy};
use super::{ResourceInfo, ScalePaths, ALL_VERBS};

/// The resources one CRD defines: one per served version.
pub fn infos_from_crd(crd: &Value) -> Vec<ResourceInfo> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let list = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    versions
        .iter()
        .filter(|v| v["served"].as_bool().unwrap_or(false))
        .map(|v| {
            let kind = s(&names["kind"]);
            let schema = v.pointer("/schema/openAPIV3Schema").cloned().unwrap_or(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
            let scale = v.pointer("/subresources/scale").map(|sc| ScalePaths {
                spec_replicas: json_path_to_pointer(sc["specReplicasPath"].as_str().unwrap_or(".spec.replicas")),
                status_replicas: json_path_to_pointer(sc["statusReplicasPath"].as_str().unwrap_or(".status.replicas")),
                label_selector: sc["labelSelectorPath"].as_str().map(json_path_to_pointer),
            });
            let singular = if names["singular"].as_str().unwrap_or("").is_empty() { kind.to_lowercase() } else { s(&names["singular"]) };
            ResourceInfo {
                group: s(&spec["group"]),
                version: s(&v["name"]),
                kind,
                plural: s(&names["plural"]),
                singular,
                short_names: list(&names["shortNames"]),
                categories: list(&names["categories"]),
                namespaced: spec["scope"].as_str() != Some("Cluster"),
                verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
                status_subresource: v.pointer("/subresources/status").is_some(),
                scale,
                extra_subresources: vec![],
                virtual_only: false,
                strategy: Arc::new(CustomStrategy {
                    schema: schema.clone(),
                    columns: printer_columns(v),
                }),
                schema: Some(schema),
                storage_alias: None,
            }
        })
        .collect()
}

/// ".spec.replicas" -> "/spec/replicas".
fn json_path_to_pointer(path: &str) -> String {
    path.trim_start_matches('.').split('.').fold(String::new(), |acc, p| format!("{acc}/{p}"))
}

/// One additionalPrinterColumn.
#[derive(Clone, Debug)]
struct PrinterColumn {
    name: String,
    type_: String,
    description: String,
    priority: i32,
    pointer: String,
}

fn printer_columns(version: &Value) -> Vec<PrinterColumn> {
    version["additionalPrinterColumns"]
        .as_array()
        .map(|cols| {
            cols.iter()
                .map(|c| PrinterColumn {
                    name: c["name"].as_str().unwrap_or("").to_string(),
                    type_: c["type"].as_str().unwrap_or("string").to_string(),
                    description: c["description"].as_str().unwrap_or("").to_string(),
                    priority: c["priority"].as_i64().unwrap_or(0) as i32,
                    pointer: json_path_to_pointer(c["jsonPath"].as_str().unwrap_or("")),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The strategy of a custom resource: schema validation and printer columns.
pub struct CustomStrategy {
    schema: Value,
    columns: Vec<PrinterColumn>,
}

impl Strategy for CustomStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        for key in ["spec", "status"] {
            if let (Some(v), Some(s)) = (obj.get(key), self.schema.pointer(&format!("/properties/{key}"))) {
                validate_value(v, s, key, &mut errs);
            }
        }
        if let Some(required) = self.schema.get("required").and_then(Value::as_array) {
            for r in required.iter().filter_map(Value::as_str) {
                if !matches!(r, "apiVersion" | "kind" | "metadata") && obj.get(r).is_none_or(Value::is_null) {
                    errs.push(FieldError::required(r, ""));
                }
            }
        }
        errs
    }

    fn columns(&self) -> Vec<Column> {
        if self.columns.is_empty() {
            return vec![Column::age()];
        }
        self.columns
            .iter()
            .map(|c| Column {
                name: c.name.clone().into(),
                type_: c.type_.clone().into(),
                format: "".into(),
                description: c.description.clone().into(),
                priority: c.priority,
            })
            .collect()
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        if self.columns.is_empty() {
            return vec![age_cell(obj)];
        }
        self.columns
            .iter()
            .map(|c| match obj.pointer(&c.pointer) {
                Some(v) if c.type_ == "date" => json!(super::strategy::age_since(Some(v))),
                Some(v) => v.clone(),
                None => Value::Null,
            })
            .collect()
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_error(path: &str, v: &Value, want: &str) -> FieldError {
    let got = type_name(v);
    FieldError::new(
        rkube_apimachinery::validation::FieldErrorType::TypeInvalid,
        path,
        Some(json!(got)),
        format!("{path} in body must be of type {want}: \"{got}\""),
    )
}

/// Validates a value against a structural schema node, as upstream's OpenAPI validator.
pub fn validate_value(v: &Value, schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if v.is_null() {
        if !schema["nullable"].as_bool().unwrap_or(false) && schema.get("type").is_some() {
            errs.push(type_error(path, v, schema["type"].as_str().unwrap_or("object")));
        }
        return;
    }
    if schema["x-kubernetes-int-or-string"].as_bool() == Some(true) {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            errs.push(type_error(path, v, "integer,string"));
        }
        return;
    }
    if let Some(want) = schema["type"].as_str() {
        let ok = match want {
            "number" => v.is_number(),
            "integer" => v.is_i64() || v.is_u64(),
            other => type_name(v) == other,
        };
        if !ok {
            errs.push(type_error(path, v, want));
            return;
        }
    }
    check_enum(v, schema, path, errs);
    check_bounds(v, schema, path, errs);
    match v {
        Value::Object(m) => {
            if let Some(required) = schema["required"].as_array() {
                for r in required.iter().filter_map(Value::as_str) {
                    if !m.contains_key(r) {
                        errs.push(FieldError::required(format!("{path}.{r}"), ""));
                    }
                }
            }
            for (k, child) in m {
                let child_path = format!("{path}.{k}");
                if let Some(s) = schema.pointer(&format!("/properties/{}", escape(k))) {
                    validate_value(child, s, &child_path, errs);
                } else if let Some(s) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                    validate_value(child, s, &child_path, errs);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate_value(item, s, &format!("{path}[{i}]"), errs);
                }
            }
        }
        _ => {}
    }
}

fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn check_enum(v: &Value, schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(v) {
            let names: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
            errs.push(FieldError::new(
                rkube_apimachinery::validation::FieldErrorType::NotSupported,
                path,
                Some(v.clone()),
                format!("supported values: {}", names.join(", ")),
            ));
        }
    }
}

fn check_bounds(v: &Value, schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let invalid = |detail: String| FieldError::invalid(path, v.clone(), detail);
    if let Some(n) = v.as_f64() {
        if let Some(min) = schema["minimum"].as_f64() {
            if n < min {
                errs.push(invalid(format!("{path} in body should be greater than or equal to {min}")));
            }
        }
        if let Some(max) = schema["maximum"].as_f64() {
            if n > max {
                errs.push(invalid(format!("{path} in body should be less than or equal to {max}")));
            }
        }
    }
    if let Some(s) = v.as_str() {
        let len = s.chars().count() as u64;
        if let Some(min) = schema["minLength"].as_u64().filter(|m| len < *m) {
            errs.push(invalid(format!("{path} in body should be at least {min} chars long")));
        }
        if let Some(max) = schema["maxLength"].as_u64().filter(|m| len > *m) {
            errs.push(FieldError::too_long(path, max as i64));
        }
        if let Some(p) = schema["pattern"].as_str() {
            if regex::Regex::new(p).is_ok_and(|re| !re.is_match(s)) {
                errs.push(invalid(format!("{path} in body should match '{p}'")));
            }
        }
    }
    if let Some(a) = v.as_array() {
        if let Some(min) = schema["minItems"].as_u64().filter(|m| (a.len() as u64) < *m) {
            errs.push(invalid(format!("{path} in body should have at least {min} items")));
        }
        if let Some(max) = schema["maxItems"].as_u64().filter(|m| (a.len() as u64) > *m) {
            errs.push(FieldError::too_many(path, Some(a.len() as i64), max as i64));
        }
    }
}

/// Paths of fields the schema does not declare (to prune or reject), skipping subtrees
/// marked `x-kubernetes-preserve-unknown-fields` and the ObjectMeta.
pub fn unknown_fields(schema: &Value, obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = obj.as_object() {
        for (k, v) in m {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            match schema.pointer(&format!("/properties/{}", escape(k))) {
                Some(s) => walk_unknown(v, s, k, &mut out),
                None if !preserves(schema) => out.push(k.clone()),
                None => {}
            }
        }
    }
    out
}

fn preserves(schema: &Value) -> bool {
    schema["x-kubernetes-preserve-unknown-fields"].as_bool() == Some(true)
}

fn walk_unknown(v: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    if preserves(schema) && schema.get("properties").is_none() {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{path}.{k}");
                if let Some(s) = schema.pointer(&format!("/properties/{}", escape(k))) {
                    walk_unknown(child, s, &p, out);
                } else if let Some(s) = schema.get("additionalProperties") {
                    if s.is_object() {
                        walk_unknown(child, s, &p, out);
                    }
                } else if !preserves(schema) {
                    out.push(p);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk_unknown(item, s, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// The status an accepted CRD carries: accepted names and Established conditions.
pub fn crd_status(crd: &Value) -> Value {
    let now = crate::registry::meta::now();
    let cond = |t: &str, reason: &str, msg: &str| {
        json!({ "type": t, "status": "True", "lastTransitionTime": now, "reason": reason, "message": msg })
    };
    let stored: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .map(|vs| vs.iter().filter(|v| v["storage"].as_bool() == Some(true)).map(|v| v["name"].clone()).collect())
        .unwrap_or_default();
    json!({
        "acceptedNames": crd["spec"]["names"],
        "conditions": [
            cond("NamesAccepted", "NoConflicts", "no conflicts found"),
            cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    })
}


/// The strategy of CustomResourceDefinition objects: accepted names and conditions in status.
pub struct CrdStrategy;

impl Strategy for CrdStrategy {
    fn prepare_for_create(&self, obj: &mut Value) {
        obj["status"] = crd_status(obj);
    }

    fn prepare_for_update(&self, obj: &mut Value, old: &Value) {
        if obj["spec"] != old["spec"] || old.get("status").is_none() {
            obj["status"] = crd_status(obj);
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let spec = &obj["spec"];
        for (field, v) in [("spec.group", &spec["group"]), ("spec.names.plural", &spec["names"]["plural"]), ("spec.names.kind", &spec["names"]["kind"])] {
            if v.as_str().unwrap_or("").is_empty() {
                errs.push(FieldError::required(field, ""));
            }
        }
        let expected = format!("{}.{}", spec["names"]["plural"].as_str().unwrap_or(""), spec["group"].as_str().unwrap_or(""));
        let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
        if errs.is_empty() && name != expected {
            errs.push(FieldError::invalid("metadata.name", json!(name), "must be spec.names.plural+\".\"+spec.group".to_string()));
        }
        if !matches!(spec["scope"].as_str(), Some("Namespaced" | "Cluster")) {
            errs.push(FieldError::not_supported("spec.scope", spec["scope"].clone(), &["Cluster", "Namespaced"]));
        }
        let versions = spec["versions"].as_array().cloned().unwrap_or_default();
        if versions.is_empty() {
            errs.push(FieldError::required("spec.versions", "must have exactly one version marked as storage version"));
        } else if versions.iter().filter(|v| v["storage"].as_bool() == Some(true)).count() != 1 {
            errs.push(FieldError::invalid("spec.versions", Value::Null, "must have exactly one version marked as storage version"));
        }
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if obj["spec"]["group"] != old["spec"]["group"] {
            errs.push(FieldError::invalid("spec.group", obj["spec"]["group"].clone(), "field is immutable"));
        }
        errs
    }

    fn columns(&self) -> Vec<Column> {
        vec![Column::new("Created At", "date", "")]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![obj.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crontab_crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object",
                        "properties": {"cronSpec": {"type": "string"}, "image": {"type": "string"}, "replicas": {"type": "integer", "minimum": 1}}}}}},
                    "additionalPrinterColumns": [{"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"}]}]}
        })
    }

    #[test]
    fn builds_infos_and_validates() {
        let infos = infos_from_crd(&crontab_crd());
        assert_eq!(infos.len(), 1);
        let i = &infos[0];
        assert_eq!((i.group.as_str(), i.plural.as_str(), i.kind.as_str(), i.namespaced), ("stable.example.com", "crontabs", "CronTab", true));
        let bad = json!({"spec": {"cronSpec": 5, "replicas": 0}});
        let errs = i.strategy.validate(&bad);
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(text.iter().any(|t| t.contains("spec.cronSpec in body must be of type string")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("greater than or equal to 1")), "{text:?}");
        assert_eq!(i.strategy.cells(&json!({"spec": {"cronSpec": "* * * * */5"}}))[0], json!("* * * * */5"));
    }

    #[test]
    fn finds_unknown_fields() {
        let schema = crontab_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
        let obj = json!({"apiVersion": "x", "metadata": {}, "spec": {"cronSpec": "x", "extra": 1}, "top": 2});
        assert_eq!(unknown_fields(&schema, &obj), vec!["spec.extra", "top"]);
    }
}
