//! Pieces the workload controllers share: the selector-versus-template checks of upstream
//! `ValidatePodTemplateSpecForReplicaSet`, the initial status a create stores, and the
//! generation bump on annotation changes.

use rkube_apimachinery::label_selector::LabelSelector;
use rkube_apimachinery::validation::FieldError;
use serde_json::{json, Value};

use super::podtemplate::{labels, restart_policy, validate_read_only_disks, validate_template};
use super::selector::{as_selector, invalid_selector, template_mismatch};
use super::util::{at, opt_int, semantic_eq};

/// The selector checked against the template: its conversion error (upstream reports
/// `detail` on `spec.selector`), or the template errors of [`validate_rs_template`].
pub fn selector_and_template(obj: &Value, replicas: i64, detail: &str) -> Vec<FieldError> {
    let sel = at(obj, "/spec/selector");
    match as_selector(sel) {
        Err(_) => vec![invalid_selector("spec.selector", sel, detail)],
        Ok(s) => validate_rs_template(at(obj, "/spec/template"), &s, replicas, "spec.template"),
    }
}

/// Upstream `ValidatePodTemplateSpecForReplicaSet` (Deployments and ReplicaSets).
pub fn validate_rs_template(template: Option<&Value>, sel: &LabelSelector, replicas: i64, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if !sel.is_empty() && !sel.matches(labels(template).unwrap_or(&Value::Null)) {
        errs.push(template_mismatch(path, labels(template)));
    }
    errs.extend(validate_template(template, path));
    if replicas > 1 {
        errs.extend(validate_read_only_disks(template, &format!("{path}.spec.volumes")));
    }
    errs.extend(restart_always(template, path));
    errs.extend(no_active_deadline(template, path, "ReplicaSet"));
    errs
}

/// `restartPolicy` must be `Always` for long-running controllers.
pub fn restart_always(template: Option<&Value>, path: &str) -> Vec<FieldError> {
    let policy = restart_policy(template);
    if policy == "Always" {
        vec![]
    } else {
        vec![FieldError::not_supported(format!("{path}.spec.restartPolicy"), policy, &["Always"])]
    }
}

/// `activeDeadlineSeconds` is forbidden in the templates of long-running controllers.
pub fn no_active_deadline(template: Option<&Value>, path: &str, kind: &str) -> Vec<FieldError> {
    if template.and_then(|t| at(t, "/spec/activeDeadlineSeconds")).is_some() {
        vec![FieldError::forbidden(
            format!("{path}.spec.activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        )]
    } else {
        vec![]
    }
}

/// Stores the zero status a new object serializes with upstream (status is reset on create).
pub fn init_status(obj: &mut Value, status: Value) {
    if let Some(m) = obj.as_object_mut() {
        m.insert("status".to_string(), status);
    }
}

/// Bumps `metadata.generation` when `changed` and the generic update has not already.
pub fn bump_generation_if(obj: &mut Value, old: &Value, changed: bool) {
    let old_gen = opt_int(old, "/metadata/generation").unwrap_or(0);
    if !changed || opt_int(obj, "/metadata/generation").unwrap_or(0) > old_gen {
        return;
    }
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("generation".to_string(), json!(old_gen + 1));
    }
}

/// True when the annotations of two objects differ semantically.
pub fn annotations_changed(obj: &Value, old: &Value) -> bool {
    !semantic_eq(at(obj, "/metadata/annotations"), at(old, "/metadata/annotations"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_checks() {
        let sel = as_selector(Some(&json!({"matchLabels": {"app": "web"}}))).unwrap();
        let mut t = json!({"metadata": {"labels": {"app": "db"}}, "spec": {"restartPolicy": "Never", "activeDeadlineSeconds": 5, "containers": [{"name": "c", "image": "i"}]}});
        crate::resources::apps::podtemplate::default_template(&mut t);
        let m: Vec<String> = validate_rs_template(Some(&t), &sel, 1, "spec.template").iter().map(ToString::to_string).collect();
        assert_eq!(
            m,
            [
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"db\"}: `selector` does not match template `labels`",
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
                "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
            ]
        );
        let nothing = as_selector(None).unwrap();
        let mut ok = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
        crate::resources::apps::podtemplate::default_template(&mut ok);
        assert_eq!(validate_rs_template(Some(&ok), &nothing, 1, "spec.template").len(), 1);
        assert!(validate_rs_template(Some(&ok), &sel, 1, "spec.template").is_empty());
    }

    #[test]
    fn generation_bump_once() {
        let old = json!({"metadata": {"generation": 3}});
        let mut new = json!({"metadata": {"generation": 3}});
        bump_generation_if(&mut new, &old, true);
        assert_eq!(new["metadata"]["generation"], 4);
        bump_generation_if(&mut new, &old, true);
        assert_eq!(new["metadata"]["generation"], 4);
        let mut same = json!({"metadata": {"generation": 3}});
        bump_generation_if(&mut same, &old, false);
        assert_eq!(same["metadata"]["generation"], 3);
    }
}
