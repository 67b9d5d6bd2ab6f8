//! apps/v1 ControllerRevision: upstream `ValidateControllerRevision` (data required,
//! revision non-negative, data immutable) and the printer's columns.

use rkube_apimachinery::validation::FieldError;
use serde_json::{json, Value};

use super::util::{at, immutable, list_at, nonnegative, str_at};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The ControllerRevision strategy.
pub struct ControllerRevisionStrategy;

impl Strategy for ControllerRevisionStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if at(obj, "/data").is_none() {
            errs.push(FieldError::required("data", "data is mandatory"));
        }
        errs.extend(nonnegative(obj, "/revision", "revision"));
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        immutable(at(obj, "/data"), at(old, "/data"), "data")
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Controller", "string", "Controller of the object"),
            Column::new("Revision", "string", "Revision indicates the revision of the state represented by Data."),
            Column::age(),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![json!(controller_name(obj)), obj.get("revision").cloned().unwrap_or(json!(0)), age_cell(obj)]
    }
}

/// The controlling owner as `kind.group/name` in lower case (upstream `formatResourceName`),
/// or `<none>`.
fn controller_name(obj: &Value) -> String {
    let owner = list_at(obj, "/metadata/ownerReferences")
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true));
    let Some(owner) = owner else { return "<none>".to_string() };
    let api_version = str_at(owner, "/apiVersion");
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let kind = str_at(owner, "/kind");
    let name = str_at(owner, "/name");
    let group_kind = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
    if group_kind.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", group_kind.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_prints() {
        let rev = json!({
            "metadata": {"name": "web-6d4cf56db6", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "1", "controller": true}
            ]},
            "data": {"spec": {}},
            "revision": 2
        });
        assert!(ControllerRevisionStrategy.validate(&rev).is_empty());
        let cells = ControllerRevisionStrategy.cells(&rev);
        assert_eq!(cells[0], "statefulset.apps/web");
        assert_eq!(cells[1], 2);
        assert_eq!(cells.len(), ControllerRevisionStrategy.columns().len());
        let bad = json!({"metadata": {"name": "x"}, "revision": -1});
        let m: Vec<String> = ControllerRevisionStrategy.validate(&bad).iter().map(ToString::to_string).collect();
        assert_eq!(m, ["data: Required value: data is mandatory", "revision: Invalid value: -1: must be greater than or equal to 0"]);
        assert_eq!(ControllerRevisionStrategy.cells(&bad)[0], "<none>");
        let mut changed = rev.clone();
        changed["data"] = json!({"spec": {"x": 1}});
        assert_eq!(ControllerRevisionStrategy.validate_update(&changed, &rev)[0].field, "data");
    }
}
