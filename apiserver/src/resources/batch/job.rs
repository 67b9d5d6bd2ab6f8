//! batch/v1 Job: upstream `SetDefaults_Job`, the generated selector and template labels,
//! `ValidateJob`/`ValidateJobSpecUpdate`, the `status.successful` field selector and the
//! printer's columns.

use rkube_apimachinery::validation::{is_dns1123_label, FieldError};
use serde_json::{json, Value};

use super::jobspec::validate_job_spec;
use crate::resources::apps::podtemplate::{container_cells, default_template_at, labels};
use crate::resources::apps::selector::{as_selector, format_label_selector, invalid_selector, template_mismatch, validate_label_selector};
use crate::resources::apps::util::{
    at, default_at, default_str_at, go_label_selector, go_string_map, immutable, immutable_with, int_at, invalid_raw,
    list_at, obj_at, opt_bool, opt_int, semantic_eq, str_at,
};
use crate::resources::apps::workload::init_status;
use crate::resources::strategy::{age_cell, age_since, generic_field_value, Column, Strategy};

/// Legacy template label with the Job's name.
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";
/// Template label with the Job's name.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// Legacy template label with the Job's uid.
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// Template and selector label with the Job's uid.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";

/// The Job strategy.
pub struct JobStrategy;

impl Strategy for JobStrategy {
    fn default(&self, obj: &mut Value) {
        set_defaults(obj);
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if opt_bool(obj, "/spec/manualSelector") != Some(true) {
            generate_selector(obj);
        }
        init_status(obj, json!({}));
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_generated_selector(obj);
        errs.extend(validate_spec(obj));
        errs.extend(validate_indexed_hostname(obj));
        errs
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validate_spec_update(obj, old)
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &["status.successful"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "status.successful" => Some(int_at(obj, "/status/succeeded").to_string()),
            other => generic_field_value(obj, other),
        }
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Status", "string", "Status of the job."),
            Column::new("Completions", "string", "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs."),
            Column::new("Duration", "string", "Time required to complete the job."),
            Column::age(),
            Column::wide("Containers", "string", "Names of each container in the template."),
            Column::wide("Images", "string", "Images referenced by each container in the template."),
            Column::wide("Selector", "string", "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let (names, images) = container_cells(at(obj, "/spec/template"));
        vec![
            json!(status_cell(obj)),
            json!(completions_cell(obj)),
            json!(duration_cell(obj)),
            age_cell(obj),
            names,
            images,
            json!(format_label_selector(at(obj, "/spec/selector"))),
        ]
    }
}

/// Upstream `SetDefaults_Job` plus the pod template's defaults.
pub fn set_defaults(obj: &mut Value) {
    if at(obj, "/spec/completions").is_none() && at(obj, "/spec/parallelism").is_none() {
        default_at(obj, "/spec", "completions", json!(1));
    }
    default_at(obj, "/spec", "parallelism", json!(1));
    let backoff = if at(obj, "/spec/backoffLimitPerIndex").is_some() { i64::from(i32::MAX) } else { 6 };
    default_at(obj, "/spec", "backoffLimit", json!(backoff));
    if let Some(template_labels) = at(obj, "/spec/template/metadata/labels").cloned() {
        if at(obj, "/metadata/labels").is_none_or(|l| l.as_object().is_some_and(|m| m.is_empty())) {
            if let Some(meta) = obj_at(obj, "/metadata") {
                meta.insert("labels".to_string(), template_labels);
            }
        }
    }
    default_str_at(obj, "/spec", "completionMode", "NonIndexed");
    default_at(obj, "/spec", "suspend", json!(false));
    default_condition_statuses(obj);
    let replacement = if at(obj, "/spec/podFailurePolicy").is_some() { "Failed" } else { "TerminatingOrFailed" };
    default_str_at(obj, "/spec", "podReplacementPolicy", replacement);
    default_at(obj, "/spec", "manualSelector", json!(false));
    default_template_at(obj, "/spec");
}

/// `onPodConditions[].status` defaults to `True` in pod failure policy rules.
fn default_condition_statuses(obj: &mut Value) {
    let Some(rules) = obj.pointer_mut("/spec/podFailurePolicy/rules").and_then(Value::as_array_mut) else { return };
    for rule in rules.iter_mut() {
        if let Some(patterns) = rule.get_mut("onPodConditions").and_then(Value::as_array_mut) {
            for p in patterns.iter_mut().filter(|p| p.is_object()) {
                default_str_at(p, "", "status", "True");
            }
        }
    }
}

/// Upstream `generateSelector`: template labels with the Job's name and uid, and a
/// selector on the uid.
pub fn generate_selector(obj: &mut Value) {
    let name = str_at(obj, "/metadata/name").to_string();
    let uid = str_at(obj, "/metadata/uid").to_string();
    if let Some(labels) = obj_at(obj, "/spec/template/metadata/labels") {
        for (key, value) in [
            (LEGACY_JOB_NAME_LABEL, &name),
            (JOB_NAME_LABEL, &name),
            (LEGACY_CONTROLLER_UID_LABEL, &uid),
            (CONTROLLER_UID_LABEL, &uid),
        ] {
            labels.entry(key).or_insert_with(|| json!(value));
        }
    }
    if let Some(match_labels) = obj_at(obj, "/spec/selector/matchLabels") {
        match_labels.entry(CONTROLLER_UID_LABEL).or_insert_with(|| json!(uid));
    }
}

/// Upstream `validateGeneratedSelector` (prefixed labels required).
fn validate_generated_selector(obj: &Value) -> Vec<FieldError> {
    if opt_bool(obj, "/spec/manualSelector") == Some(true) || at(obj, "/spec/selector").is_none() {
        return vec![];
    }
    let name = str_at(obj, "/metadata/name");
    let uid = str_at(obj, "/metadata/uid");
    let mut errs = Vec::new();
    if uid.is_empty() {
        errs.push(FieldError::required("metadata.uid", ""));
    }
    let template_labels = labels(at(obj, "/spec/template"));
    for (key, expected) in [
        (LEGACY_CONTROLLER_UID_LABEL, uid),
        (LEGACY_JOB_NAME_LABEL, name),
        (CONTROLLER_UID_LABEL, uid),
        (JOB_NAME_LABEL, name),
    ] {
        errs.extend(validate_has_label(template_labels, key, expected));
    }
    let expected = json!({
        CONTROLLER_UID_LABEL: uid, JOB_NAME_LABEL: name, LEGACY_CONTROLLER_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: name,
    });
    if let Ok(sel) = as_selector(at(obj, "/spec/selector")) {
        if !sel.matches(&expected) {
            errs.push(invalid_selector("spec.selector", at(obj, "/spec/selector"), "`selector` not auto-generated"));
        }
    }
    errs
}

/// Upstream `ValidateHasLabel` on the template's metadata.
fn validate_has_label(labels: Option<&Value>, key: &str, expected: &str) -> Vec<FieldError> {
    let field = format!("spec.template.metadata.labels[{key}]");
    match labels.and_then(|l| l.get(key)).and_then(Value::as_str) {
        None => vec![FieldError::required(field, expected)],
        Some(v) if v != expected => vec![invalid_raw(&field, &go_string_map(labels), &format!("must be '{expected}'"))],
        Some(_) => vec![],
    }
}

/// Upstream `ValidateJobSpec`: the shared spec checks plus the selector.
fn validate_spec(obj: &Value) -> Vec<FieldError> {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut errs = validate_job_spec(spec, "spec");
    let sel = at(obj, "/spec/selector");
    match sel {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(s) => errs.extend(validate_label_selector(Some(s), "spec.selector")),
    }
    if let Ok(s) = as_selector(sel) {
        let template_labels = labels(at(obj, "/spec/template"));
        if !s.matches(template_labels.unwrap_or(&Value::Null)) {
            errs.push(template_mismatch("spec.template", template_labels));
        }
    }
    errs
}

/// Indexed pods are named `<job>-<index>`: the largest must be a DNS label.
fn validate_indexed_hostname(obj: &Value) -> Vec<FieldError> {
    let completions = opt_int(obj, "/spec/completions").unwrap_or(0);
    if str_at(obj, "/spec/completionMode") != "Indexed" || completions <= 0 {
        return vec![];
    }
    let name = str_at(obj, "/metadata/name");
    let hostname = format!("{name}-{}", completions - 1);
    if is_dns1123_label(&hostname).is_empty() {
        return vec![];
    }
    vec![FieldError::invalid(
        "metadata.name",
        name,
        format!("will not able to create pod with invalid DNS label: {hostname}"),
    )]
}

/// Upstream `ValidateJobSpecUpdate` (the spec itself is validated by [`JobStrategy::validate`]).
fn validate_spec_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_completions_update(obj, old);
    errs.extend(immutable_with(at(obj, "/spec/selector"), at(old, "/spec/selector"), "spec.selector", go_label_selector));
    errs.extend(validate_template_update(obj, old));
    for key in ["completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"] {
        let ptr = format!("/spec/{key}");
        errs.extend(immutable(at(obj, &ptr), at(old, &ptr), &format!("spec.{key}")));
    }
    errs
}

/// Completions are immutable, except for indexed jobs scaled together with parallelism.
fn validate_completions_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let (new, prev) = (at(obj, "/spec/completions"), at(old, "/spec/completions"));
    if str_at(obj, "/spec/completionMode") != "Indexed" {
        return immutable(new, prev, "spec.completions");
    }
    match new.and_then(Value::as_i64) {
        Some(c) if !semantic_eq(new, prev) && Some(c) != opt_int(obj, "/spec/parallelism") => vec![FieldError::invalid(
            "spec.completions",
            c,
            "can only be modified in tandem with spec.parallelism",
        )],
        _ => vec![],
    }
}

/// The template is immutable; suspended jobs that never started may change scheduling
/// directives (node affinity, node selector, tolerations, scheduling gates, labels and
/// annotations).
fn validate_template_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let new = at(obj, "/spec/template").cloned().unwrap_or(Value::Null);
    let mut prev = at(old, "/spec/template").cloned().unwrap_or(Value::Null);
    let mutable_scheduling = opt_bool(old, "/spec/suspend") == Some(true) && at(old, "/status/startTime").is_none();
    if mutable_scheduling {
        for (ptr, key) in [("/metadata", "labels"), ("/metadata", "annotations"), ("/spec", "nodeSelector"), ("/spec", "tolerations"), ("/spec", "schedulingGates")] {
            copy_member(&new, &mut prev, ptr, key);
        }
        let node_affinity = new.pointer("/spec/affinity/nodeAffinity").cloned();
        if let Some(affinity) = obj_at(&mut prev, "/spec/affinity") {
            match node_affinity {
                Some(v) => affinity.insert("nodeAffinity".to_string(), v),
                None => affinity.remove("nodeAffinity"),
            };
        }
    }
    immutable(Some(&new), Some(&prev), "spec.template")
}

/// Copies `<ptr>/<key>` of `from` into `to` (removing it when `from` lacks it).
fn copy_member(from: &Value, to: &mut Value, ptr: &str, key: &str) {
    let value = from.pointer(&format!("{ptr}/{key}")).cloned();
    if let Some(m) = obj_at(to, ptr) {
        match value {
            Some(v) => m.insert(key.to_string(), v),
            None => m.remove(key),
        };
    }
}

/// True when the Job has a condition of `kind` with status `True`.
fn has_condition(obj: &Value, kind: &str) -> bool {
    list_at(obj, "/status/conditions")
        .iter()
        .find(|c| str_at(c, "/type") == kind)
        .is_some_and(|c| str_at(c, "/status") == "True")
}

/// The printer's Status column.
fn status_cell(obj: &Value) -> &'static str {
    if has_condition(obj, "Complete") {
        "Complete"
    } else if has_condition(obj, "Failed") {
        "Failed"
    } else if at(obj, "/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else if has_condition(obj, "Suspended") {
        "Suspended"
    } else if has_condition(obj, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

/// The printer's Completions column: `succeeded/completions` (`of <parallelism>` when
/// completions is unset and parallelism is above 1).
fn completions_cell(obj: &Value) -> String {
    let succeeded = int_at(obj, "/status/succeeded");
    match opt_int(obj, "/spec/completions") {
        Some(c) => format!("{succeeded}/{c}"),
        None => match int_at(obj, "/spec/parallelism") {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    }
}

/// The printer's Duration column: from start to completion (or now), empty before start.
fn duration_cell(obj: &Value) -> String {
    let time = |p: &str| {
        at(obj, p).and_then(Value::as_str).and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    match (time("/status/startTime"), time("/status/completionTime")) {
        (None, _) => String::new(),
        (Some(_), None) => age_since(at(obj, "/status/startTime")),
        (Some(start), Some(end)) => rkube_apimachinery::duration::human_duration((end - start).num_seconds()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Value {
        json!({
            "metadata": {"name": "pi", "namespace": "default", "uid": "u-1"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5.34"}]}}}
        })
    }

    fn created() -> Value {
        let mut j = job();
        JobStrategy.default(&mut j);
        JobStrategy.prepare_for_create(&mut j);
        j
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_match_upstream() {
        let j = created();
        let s = &j["spec"];
        assert_eq!((s["completions"].clone(), s["parallelism"].clone(), s["backoffLimit"].clone()), (json!(1), json!(1), json!(6)));
        assert_eq!(s["completionMode"], "NonIndexed");
        assert_eq!(s["suspend"], false);
        assert_eq!(s["podReplacementPolicy"], "TerminatingOrFailed");
        assert_eq!(s["manualSelector"], false);
        assert_eq!(s["selector"], json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}));
        assert_eq!(
            s["template"]["metadata"]["labels"],
            json!({"job-name": "pi", "batch.kubernetes.io/job-name": "pi", "controller-uid": "u-1", "batch.kubernetes.io/controller-uid": "u-1"})
        );
        assert_eq!(j["status"], json!({}));
        assert!(JobStrategy.validate(&j).is_empty(), "{:?}", JobStrategy.validate(&j));

        let mut parallel = job();
        parallel["spec"]["parallelism"] = json!(3);
        parallel["spec"]["backoffLimitPerIndex"] = json!(1);
        parallel["spec"]["template"]["metadata"] = json!({"labels": {"app": "x"}});
        JobStrategy.default(&mut parallel);
        assert!(parallel["spec"].get("completions").is_none());
        assert_eq!(parallel["spec"]["backoffLimit"], 2147483647);
        assert_eq!(parallel["metadata"]["labels"], json!({"app": "x"}));
    }

    #[test]
    fn restart_policy_and_selector_checks() {
        let mut j = job();
        j["spec"]["template"]["spec"].as_object_mut().unwrap().remove("restartPolicy");
        JobStrategy.default(&mut j);
        JobStrategy.prepare_for_create(&mut j);
        assert_eq!(msgs(&JobStrategy.validate(&j)), ["spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""]);

        let mut wrong = job();
        wrong["spec"]["template"]["metadata"] = json!({"labels": {"controller-uid": "other"}});
        JobStrategy.default(&mut wrong);
        JobStrategy.prepare_for_create(&mut wrong);
        let m = msgs(&JobStrategy.validate(&wrong));
        assert!(m[0].starts_with("spec.template.metadata.labels[controller-uid]: Invalid value: map[string]string{"), "{m:?}");
        assert!(m[0].ends_with(": must be 'u-1'"));

        let mut manual = job();
        manual["spec"]["manualSelector"] = json!(true);
        JobStrategy.default(&mut manual);
        JobStrategy.prepare_for_create(&mut manual);
        assert_eq!(
            msgs(&JobStrategy.validate(&manual)),
            ["spec.selector: Required value", "spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template `labels`"]
        );
    }

    #[test]
    fn update_rules() {
        let old = created();
        let mut new = old.clone();
        new["spec"]["completions"] = json!(3);
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("perl:5.36");
        let m = msgs(&JobStrategy.validate_update(&new, &old));
        assert_eq!(m[0], "spec.completions: Invalid value: 3: field is immutable");
        assert!(m[1].starts_with("spec.template: Invalid value: ") && m[1].ends_with("field is immutable"));

        let mut suspended = created();
        suspended["spec"]["suspend"] = json!(true);
        let mut moved = suspended.clone();
        moved["spec"]["template"]["spec"]["nodeSelector"] = json!({"zone": "a"});
        assert!(JobStrategy.validate_update(&moved, &suspended).is_empty());

        let mut indexed = created();
        indexed["spec"]["completionMode"] = json!("Indexed");
        let mut scaled = indexed.clone();
        scaled["spec"]["completions"] = json!(4);
        scaled["spec"]["parallelism"] = json!(4);
        assert!(JobStrategy.validate_update(&scaled, &indexed).is_empty());
    }

    #[test]
    fn table_and_fields() {
        let mut j = created();
        j["status"] = json!({"succeeded": 1, "startTime": "2024-01-01T00:00:00Z", "completionTime": "2024-01-01T00:00:12Z",
            "conditions": [{"type": "Complete", "status": "True"}]});
        let cells = JobStrategy.cells(&j);
        assert_eq!(cells.len(), JobStrategy.columns().len());
        assert_eq!(cells[0], "Complete");
        assert_eq!(cells[1], "1/1");
        assert_eq!(cells[2], "12s");
        assert_eq!(cells[6], "batch.kubernetes.io/controller-uid=u-1");
        assert_eq!(JobStrategy.field_value(&j, "status.successful").as_deref(), Some("1"));
        let mut p = job();
        p["spec"]["parallelism"] = json!(2);
        assert_eq!(completions_cell(&p), "0/1 of 2");
        assert_eq!(duration_cell(&p), "");
        assert_eq!(status_cell(&p), "Running");
    }

    #[test]
    fn indexed_hostname_limit() {
        let mut j = job();
        j["metadata"]["name"] = json!("a".repeat(62));
        j["spec"]["completionMode"] = json!("Indexed");
        j["spec"]["completions"] = json!(10);
        JobStrategy.default(&mut j);
        JobStrategy.prepare_for_create(&mut j);
        let m = msgs(&JobStrategy.validate(&j));
        assert!(m.iter().any(|e| e.contains("will not able to create pod with invalid DNS label")), "{m:?}");
    }
}
