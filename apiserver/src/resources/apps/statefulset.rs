//! apps/v1 StatefulSet: upstream `SetDefaults_StatefulSet`, `ValidateStatefulSetSpec`,
//! the update rule (only a few spec fields may change) and the printer's columns.

use rkube_apimachinery::validation::{go_quote, name_is_dns_label, validate_nonnegative_field, FieldError};
use serde_json::{json, Map, Value};

use super::intstr::{int_or_percent_value, is_not_more_than_100_percent, validate_positive_int_or_percent};
use super::podtemplate::{container_cells, default_template_at, labels, validate_template_metadata};
use super::selector::{as_selector, invalid_selector, template_mismatch, validate_controller_selector};
use super::util::{at, default_at, default_str_at, go_int_or_string, int_at, invalid_raw, nonnegative, semantic_eq, str_at};
use super::workload::{init_status, no_active_deadline, restart_always};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// The spec members an update may change.
const MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// The StatefulSet strategy.
pub struct StatefulSetStrategy;

impl Strategy for StatefulSetStrategy {
    /// Pods are named `<name>-<ordinal>`, so the name must be a DNS label.
    fn validate_name(&self, name: &str, prefix: bool) -> Vec<String> {
        name_is_dns_label(name, prefix)
    }

    fn default(&self, obj: &mut Value) {
        set_defaults(obj);
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        init_status(obj, json!({"replicas": 0, "availableReplicas": 0}));
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_spec(obj)
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        let strip = |o: &Value| -> Option<Value> {
            let mut spec: Map<String, Value> = at(o, "/spec")?.as_object()?.clone();
            MUTABLE.iter().for_each(|k| {
                spec.remove(*k);
            });
            Some(Value::Object(spec))
        };
        if semantic_eq(strip(obj).as_ref(), strip(old).as_ref()) {
            return vec![];
        }
        vec![FieldError::forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        )]
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Ready", "string", "Number of the pod with ready state"),
            Column::age(),
            Column::wide("Containers", "string", "Names of each container in the template."),
            Column::wide("Images", "string", "Images referenced by each container in the template."),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let (names, images) = container_cells(at(obj, "/spec/template"));
        vec![
            json!(format!("{}/{}", int_at(obj, "/status/readyReplicas"), int_at(obj, "/spec/replicas"))),
            age_cell(obj),
            names,
            images,
        ]
    }
}

/// Upstream `SetDefaults_StatefulSet`, the volume claim templates' PVC defaults and the
/// pod template's defaults.
pub fn set_defaults(obj: &mut Value) {
    default_str_at(obj, "/spec", "podManagementPolicy", "OrderedReady");
    if str_at(obj, "/spec/updateStrategy/type").is_empty() {
        default_str_at(obj, "/spec/updateStrategy", "type", "RollingUpdate");
        default_at(obj, "/spec/updateStrategy", "rollingUpdate", json!({}));
    }
    if str_at(obj, "/spec/updateStrategy/type") == "RollingUpdate" && at(obj, "/spec/updateStrategy/rollingUpdate").is_some() {
        default_at(obj, "/spec/updateStrategy/rollingUpdate", "partition", json!(0));
    }
    default_str_at(obj, "/spec/persistentVolumeClaimRetentionPolicy", "whenDeleted", "Retain");
    default_str_at(obj, "/spec/persistentVolumeClaimRetentionPolicy", "whenScaled", "Retain");
    default_at(obj, "/spec", "replicas", json!(1));
    default_at(obj, "/spec", "revisionHistoryLimit", json!(10));
    default_template_at(obj, "/spec");
    if let Some(claims) = obj.pointer_mut("/spec/volumeClaimTemplates").and_then(Value::as_array_mut) {
        claims.iter_mut().for_each(default_claim_template);
    }
}

/// A volume claim template shows as a full PVC: its type, `volumeMode` and `Pending` phase.
fn default_claim_template(claim: &mut Value) {
    if !claim.is_object() {
        return;
    }
    default_str_at(claim, "", "apiVersion", "v1");
    default_str_at(claim, "", "kind", "PersistentVolumeClaim");
    default_str_at(claim, "/spec", "volumeMode", "Filesystem");
    default_str_at(claim, "/status", "phase", "Pending");
}

/// Upstream `ValidateStatefulSetSpec`.
pub fn validate_spec(obj: &Value) -> Vec<FieldError> {
    let mut errs = match str_at(obj, "/spec/podManagementPolicy") {
        "" => vec![FieldError::required("spec.podManagementPolicy", "")],
        "OrderedReady" | "Parallel" => vec![],
        other => vec![FieldError::invalid("spec.podManagementPolicy", other, "must be 'OrderedReady' or 'Parallel'")],
    };
    errs.extend(validate_update_strategy(obj));
    errs.extend(validate_retention_policy(obj));
    errs.extend(validate_nonnegative_field(int_at(obj, "/spec/replicas"), "spec.replicas"));
    errs.extend(nonnegative(obj, "/spec/minReadySeconds", "spec.minReadySeconds"));
    errs.extend(nonnegative(obj, "/spec/ordinals/start", "spec.ordinals.start"));
    errs.extend(validate_controller_selector(at(obj, "/spec/selector"), "spec.selector", "statefulset"));
    let template = at(obj, "/spec/template");
    match as_selector(at(obj, "/spec/selector")) {
        Err(_) => errs.push(invalid_selector("spec.selector", at(obj, "/spec/selector"), "")),
        Ok(sel) => {
            if !sel.is_empty() && !sel.matches(labels(template).unwrap_or(&Value::Null)) {
                errs.push(template_mismatch("spec.template", labels(template)));
            }
            errs.extend(validate_template_metadata(template, "spec.template"));
        }
    }
    errs.extend(restart_always(template, "spec.template"));
    errs.extend(no_active_deadline(template, "spec.template", "StatefulSet"));
    errs
}

/// The `updateStrategy` rules of upstream `ValidateStatefulSetSpec`.
fn validate_update_strategy(obj: &Value) -> Vec<FieldError> {
    let rolling = at(obj, "/spec/updateStrategy/rollingUpdate");
    match str_at(obj, "/spec/updateStrategy/type") {
        "" => vec![FieldError::required("spec.updateStrategy", "")],
        "OnDelete" => match rolling {
            Some(r) => vec![invalid_raw(
                "spec.updateStrategy.rollingUpdate",
                &go_rolling_update(r),
                "only allowed for updateStrategy 'RollingUpdate'",
            )],
            None => vec![],
        },
        "RollingUpdate" => rolling.map(validate_rolling_update).unwrap_or_default(),
        other => {
            let rendered = format!(
                "apps.StatefulSetUpdateStrategy{{Type:{}, RollingUpdate:{}}}",
                go_quote(other),
                if rolling.is_some() { "(*apps.RollingUpdateStatefulSetStrategy)(0xc000000000)" } else { "(*apps.RollingUpdateStatefulSetStrategy)(nil)" }
            );
            vec![invalid_raw("spec.updateStrategy", &rendered, "must be 'RollingUpdate' or 'OnDelete'")]
        }
    }
}

/// Go's `%#v` of a `RollingUpdateStatefulSetStrategy` (pointers print as addresses upstream).
fn go_rolling_update(r: &Value) -> String {
    let max = if at(r, "/maxUnavailable").is_some() { "(*intstr.IntOrString)(0xc000000000)" } else { "(*intstr.IntOrString)(nil)" };
    format!("apps.RollingUpdateStatefulSetStrategy{{Partition:{}, MaxUnavailable:{max}}}", int_at(r, "/partition"))
}

/// Upstream `validateRollingUpdateStatefulSet`.
fn validate_rolling_update(r: &Value) -> Vec<FieldError> {
    let path = "spec.updateStrategy.rollingUpdate";
    let mut errs = nonnegative(r, "/partition", &format!("{path}.partition"));
    if let Some(max) = r.get("maxUnavailable").filter(|v| !v.is_null()) {
        let field = format!("{path}.maxUnavailable");
        errs.extend(validate_positive_int_or_percent(max, &field));
        if int_or_percent_value(max) == 0 {
            errs.push(invalid_raw(&field, &go_int_or_string(max), "cannot be 0"));
        }
        errs.extend(is_not_more_than_100_percent(max, &field));
    }
    errs
}

/// Upstream `ValidatePersistentVolumeClaimRetentionPolicy`.
fn validate_retention_policy(obj: &Value) -> Vec<FieldError> {
    if at(obj, "/spec/persistentVolumeClaimRetentionPolicy").is_none() {
        return vec![];
    }
    ["whenDeleted", "whenScaled"]
        .iter()
        .filter_map(|k| {
            let v = str_at(obj, &format!("/spec/persistentVolumeClaimRetentionPolicy/{k}"));
            (v != "Retain" && v != "Delete").then(|| {
                FieldError::not_supported(format!("spec.persistentVolumeClaimRetentionPolicy.{k}"), v, &["Retain", "Delete"])
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts() -> Value {
        json!({
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "postgres:16"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]
            }
        })
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_match_upstream() {
        let mut s = sts();
        StatefulSetStrategy.default(&mut s);
        let spec = &s["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(spec["podManagementPolicy"], "OrderedReady");
        assert_eq!(spec["updateStrategy"], json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["persistentVolumeClaimRetentionPolicy"], json!({"whenDeleted": "Retain", "whenScaled": "Retain"}));
        let claim = &spec["volumeClaimTemplates"][0];
        assert_eq!(claim["kind"], "PersistentVolumeClaim");
        assert_eq!(claim["spec"]["volumeMode"], "Filesystem");
        assert_eq!(claim["status"]["phase"], "Pending");
        assert!(StatefulSetStrategy.validate(&s).is_empty(), "{:?}", StatefulSetStrategy.validate(&s));

        let mut ondelete = sts();
        ondelete["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        StatefulSetStrategy.default(&mut ondelete);
        assert_eq!(ondelete["spec"]["updateStrategy"], json!({"type": "OnDelete"}));
        ondelete["spec"]["updateStrategy"]["rollingUpdate"] = json!({"partition": 2});
        assert_eq!(
            msgs(&StatefulSetStrategy.validate(&ondelete)),
            ["spec.updateStrategy.rollingUpdate: Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:2, MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'"]
        );
    }

    #[test]
    fn validation_messages() {
        let mut s = sts();
        StatefulSetStrategy.default(&mut s);
        s["spec"]["podManagementPolicy"] = json!("Burst");
        s["spec"]["updateStrategy"]["rollingUpdate"] = json!({"partition": -1, "maxUnavailable": 0});
        s["spec"]["selector"] = json!({});
        assert_eq!(
            msgs(&StatefulSetStrategy.validate(&s)),
            [
                "spec.podManagementPolicy: Invalid value: \"Burst\": must be 'OrderedReady' or 'Parallel'",
                "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0",
                "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: cannot be 0",
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset",
            ]
        );
    }

    #[test]
    fn only_some_spec_fields_change() {
        let mut old = sts();
        StatefulSetStrategy.default(&mut old);
        let mut scaled = old.clone();
        scaled["spec"]["replicas"] = json!(5);
        scaled["spec"]["template"]["spec"]["containers"][0]["image"] = json!("postgres:17");
        assert!(StatefulSetStrategy.validate_update(&scaled, &old).is_empty());
        let mut renamed = old.clone();
        renamed["spec"]["serviceName"] = json!("other");
        assert_eq!(
            msgs(&StatefulSetStrategy.validate_update(&renamed, &old)),
            ["spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"]
        );
    }

    #[test]
    fn names_are_dns_labels() {
        assert!(StatefulSetStrategy.validate_name("web", false).is_empty());
        assert_eq!(StatefulSetStrategy.validate_name("web.v1", false), ["must not contain dots"]);
    }

    #[test]
    fn table_row() {
        let mut s = sts();
        StatefulSetStrategy.default(&mut s);
        s["status"] = json!({"readyReplicas": 1});
        let cells = StatefulSetStrategy.cells(&s);
        assert_eq!(cells.len(), StatefulSetStrategy.columns().len());
        assert_eq!(cells[0], "1/1");
        assert_eq!(cells[3], "postgres:16");
    }
}
