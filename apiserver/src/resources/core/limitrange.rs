//! LimitRanges: Container defaults (default from max, defaultRequest from default or min),
//! upstream's min/max/default consistency checks, and the default NAME CREATED AT table
//! (upstream has no printer for LimitRanges).

use std::collections::BTreeSet;

use rkube_apimachinery::validation::{is_qualified_name, FieldError};
use serde_json::{json, Map, Value};

use super::container_validation::is_standard_resource;
use super::quantity::{canonicalize_list, Quantity};
use super::util::{invalid_each, str_at, str_of};
use crate::resources::strategy::{Column, Strategy};

const KINDS: &[&str] = &["Pod", "Container", "PersistentVolumeClaim"];
const SECTIONS: &[&str] = &["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"];

/// The LimitRange strategy.
pub struct LimitRangeStrategy;

impl Strategy for LimitRangeStrategy {
    fn default(&self, obj: &mut Value) {
        let Some(items) = obj.pointer_mut("/spec/limits").and_then(Value::as_array_mut) else { return };
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            for s in SECTIONS {
                canonicalize_list(item.get_mut(*s));
            }
            if item.get("type").and_then(Value::as_str) == Some("Container") {
                default_container_item(item);
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let mut kinds = BTreeSet::new();
        let items = obj.pointer("/spec/limits").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        for (i, item) in items.iter().enumerate() {
            errs.extend(validate_item(item, &format!("spec.limits[{i}]"), &mut kinds));
        }
        errs
    }

    fn columns(&self) -> Vec<Column> {
        vec![Column::new("Created At", "date", "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let created = chrono::DateTime::parse_from_rfc3339(str_at(obj, "/metadata/creationTimestamp"))
            .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|_| "0001-01-01T00:00:00Z".to_string());
        vec![json!(created)]
    }
}

/// Upstream `SetDefaults_LimitRangeItem` for a Container item.
fn default_container_item(item: &mut Map<String, Value>) {
    let get = |item: &Map<String, Value>, key: &str| item.get(key).and_then(Value::as_object).cloned().unwrap_or_default();
    let (max, min) = (get(item, "max"), get(item, "min"));
    let mut default = get(item, "default");
    let mut request = get(item, "defaultRequest");
    for (k, v) in max {
        default.entry(k).or_insert(v);
    }
    for (k, v) in default.iter().chain(min.iter()) {
        request.entry(k.clone()).or_insert_with(|| v.clone());
    }
    item.insert("default".into(), Value::Object(default));
    item.insert("defaultRequest".into(), Value::Object(request));
}

fn validate_item(item: &Value, path: &str, kinds: &mut BTreeSet<String>) -> Vec<FieldError> {
    let kind = str_of(item, "type");
    let mut errs = type_name(kind, &format!("{path}.type"));
    if !kinds.insert(kind.to_string()) {
        errs.push(FieldError::duplicate(format!("{path}.type"), kind));
    }
    let section = |key: &str| item.get(key).and_then(Value::as_object).cloned().unwrap_or_default();
    if kind == "Pod" {
        for key in ["default", "defaultRequest"] {
            if !section(key).is_empty() {
                errs.push(FieldError::forbidden(format!("{path}.{key}"), "may not be specified when `type` is 'Pod'"));
            }
        }
    }
    if kind == "PersistentVolumeClaim" && !section("min").contains_key("storage") && !section("max").contains_key("storage") {
        errs.push(FieldError::required(format!("{path}.limits"), "either minimum or maximum storage value is required, but neither was provided"));
    }
    let q = |key: &str, name: &str| section(key).get(name).and_then(Quantity::from_json);
    let mut names = BTreeSet::new();
    for key in SECTIONS {
        if kind == "Pod" && (*key == "default" || *key == "defaultRequest") {
            continue;
        }
        for name in section(key).keys() {
            errs.extend(invalid_each(&format!("{path}.{key}[{name}]"), name, resource_name_problems(name)));
            names.insert(name.clone());
        }
    }
    for name in &names {
        let pod = kind == "Pod";
        let (min, max) = (q("min", name), q("max", name));
        let (def, req) = if pod { (None, None) } else { (q("default", name), q("defaultRequest", name)) };
        let pair = |errs: &mut Vec<FieldError>, a: Option<Quantity>, b: Option<Quantity>, at: &str, shown: Option<Quantity>, text: &str| {
            if let (Some(a), Some(b), Some(s)) = (a, b, shown) {
                if a.nanos > b.nanos {
                    let msg = text.replacen("{}", &a.canonical(), 1).replacen("{}", &b.canonical(), 1);
                    errs.push(FieldError::invalid(format!("{path}.{at}[{name}]"), s.canonical(), msg));
                }
            }
        };
        pair(&mut errs, min, max, "min", min, "min value {} is greater than max value {}");
        pair(&mut errs, min, req, "defaultRequest", req, "min value {} is greater than default request value {}");
        pair(&mut errs, req, max, "defaultRequest", req, "default request value {} is greater than max value {}");
        pair(&mut errs, req, def, "defaultRequest", req, "default request value {} is greater than default limit value {}");
        pair(&mut errs, min, def, "default", min, "min value {} is greater than default value {}");
        pair(&mut errs, def, max, "default", max, "default value {} is greater than max value {}");
        if let Some(r) = q("maxLimitRequestRatio", name).filter(|r| r.nanos < 1_000_000_000) {
            errs.push(FieldError::invalid(format!("{path}.maxLimitRequestRatio[{name}]"), r.canonical(), format!("ratio {} is less than 1", r.canonical())));
        }
    }
    errs
}

/// Upstream `validateLimitRangeTypeName`.
fn type_name(kind: &str, path: &str) -> Vec<FieldError> {
    let problems = is_qualified_name(kind);
    if !problems.is_empty() {
        return invalid_each(path, kind, problems);
    }
    if !kind.contains('/') && !KINDS.contains(&kind) {
        return vec![FieldError::invalid(path, kind, "must be a standard limit type or fully qualified")];
    }
    vec![]
}

/// Upstream `validateResourceName` problems for a limit's resource name.
fn resource_name_problems(name: &str) -> Vec<String> {
    let problems = is_qualified_name(name);
    if !problems.is_empty() {
        return problems;
    }
    if !name.contains('/') && !is_standard_resource(name) {
        return vec!["must be a standard resource type or fully qualified".to_string()];
    }
    vec![]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_defaults() {
        let mut lr = json!({"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}});
        LimitRangeStrategy.default(&mut lr);
        let item = &lr["spec"]["limits"][0];
        assert_eq!(item["default"], json!({"cpu": "2"}));
        assert_eq!(item["defaultRequest"], json!({"cpu": "2", "memory": "64Mi"}));
        assert!(LimitRangeStrategy.validate(&lr).is_empty(), "{:?}", LimitRangeStrategy.validate(&lr));
    }

    #[test]
    fn min_greater_than_max() {
        let lr = json!({"spec": {"limits": [{"type": "Pod", "max": {"cpu": "1"}, "min": {"cpu": "2"}, "default": {"cpu": "1"}}]}});
        let errs: Vec<String> = LimitRangeStrategy.validate(&lr).iter().map(ToString::to_string).collect();
        assert_eq!(
            errs,
            [
                "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'",
                "spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1",
            ]
        );
    }

    #[test]
    fn created_at_cell() {
        let lr = json!({"metadata": {"creationTimestamp": "2024-05-01T10:00:00Z"}});
        assert_eq!(LimitRangeStrategy.cells(&lr), [json!("2024-05-01T10:00:00Z")]);
        assert_eq!(LimitRangeStrategy.columns()[0].type_, "date");
    }
}
