//! Upstream `validateJobSpec`: the JobSpec checks Jobs and CronJob job templates share
//! (counts, completion modes, backoff per index, pod failure and success policies, pod
//! replacement policy, the pod template and its restart policy).

use rkube_apimachinery::validation::FieldError;
use serde_json::Value;

use super::policies::{validate_pod_failure_policy, validate_success_policy};
use crate::resources::apps::podtemplate::{restart_policy, validate_template};
use crate::resources::apps::util::{at, is_domain_prefixed_path, nonnegative, opt_int, str_at};

const MAX_PARALLELISM_FOR_INDEXED_JOB: i64 = 100_000;
const MAX_FAILED_INDEXES_FOR_INDEXED_JOB: i64 = 100_000;
const COMPLETIONS_SOFT_LIMIT: i64 = 100_000;
const PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS: i64 = 10_000;
const MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS: i64 = 10_000;
const MAX_MANAGED_BY_LENGTH: i64 = 63;

/// Upstream `validateJobSpec` over `spec` (a JobSpec) reported under `path`.
pub fn validate_job_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished", "backoffLimitPerIndex"] {
        errs.extend(nonnegative(spec, &format!("/{key}"), &format!("{path}.{key}")));
    }
    if at(spec, "/maxFailedIndexes").is_some() {
        errs.extend(nonnegative(spec, "/maxFailedIndexes", &format!("{path}.maxFailedIndexes")));
        if at(spec, "/backoffLimitPerIndex").is_none() {
            errs.push(FieldError::required(format!("{path}.backoffLimitPerIndex"), "when maxFailedIndexes is specified"));
        }
    }
    if let Some(managed_by) = at(spec, "/managedBy").and_then(Value::as_str) {
        errs.extend(is_domain_prefixed_path(&format!("{path}.managedBy"), managed_by));
        if managed_by.len() as i64 > MAX_MANAGED_BY_LENGTH {
            errs.push(FieldError::too_long(format!("{path}.managedBy"), MAX_MANAGED_BY_LENGTH));
        }
    }
    errs.extend(validate_completion_mode(spec, path));
    if let Some(pfp) = at(spec, "/podFailurePolicy") {
        errs.extend(validate_pod_failure_policy(spec, pfp, &format!("{path}.podFailurePolicy")));
    }
    if let Some(sp) = at(spec, "/successPolicy") {
        if str_at(spec, "/completionMode") != "Indexed" {
            errs.push(FieldError::invalid(format!("{path}.successPolicy"), sp.clone(), "requires indexed completion mode"));
        } else {
            errs.extend(validate_success_policy(spec, sp, &format!("{path}.successPolicy")));
        }
    }
    errs.extend(validate_pod_replacement_policy(spec, path));
    errs.extend(validate_template(at(spec, "/template"), &format!("{path}.template")));
    errs.extend(validate_restart_policy(spec, path));
    errs
}

/// The completion-mode rules (indexed limits, per-index backoff only when indexed).
fn validate_completion_mode(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mode = at(spec, "/completionMode").and_then(Value::as_str);
    let completions = opt_int(spec, "/completions");
    let parallelism = opt_int(spec, "/parallelism");
    let max_failed = opt_int(spec, "/maxFailedIndexes");
    let per_index = opt_int(spec, "/backoffLimitPerIndex");
    if let Some(m) = mode {
        if m != "NonIndexed" && m != "Indexed" {
            errs.push(FieldError::not_supported(format!("{path}.completionMode"), m, &["NonIndexed", "Indexed"]));
        }
    }
    if mode == Some("Indexed") {
        if completions.is_none() {
            errs.push(FieldError::required(format!("{path}.completions"), "when completion mode is Indexed"));
        }
        if let Some(p) = parallelism.filter(|p| *p > MAX_PARALLELISM_FOR_INDEXED_JOB) {
            errs.push(FieldError::invalid(
                format!("{path}.parallelism"),
                p,
                format!("must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED_JOB} when completion mode is Indexed"),
            ));
        }
        if let (Some(c), Some(f)) = (completions, max_failed) {
            if f > c {
                errs.push(FieldError::invalid(format!("{path}.maxFailedIndexes"), f, "must be less than or equal to completions"));
            }
        }
        if let Some(f) = max_failed.filter(|f| *f > MAX_FAILED_INDEXES_FOR_INDEXED_JOB) {
            errs.push(FieldError::invalid(
                format!("{path}.maxFailedIndexes"),
                f,
                format!("must be less than or equal to {MAX_FAILED_INDEXES_FOR_INDEXED_JOB}"),
            ));
        }
        if completions.is_some_and(|c| c > COMPLETIONS_SOFT_LIMIT) && per_index.is_some() {
            errs.extend(high_completion_limits(parallelism, max_failed, path));
        }
    } else {
        if let Some(b) = per_index {
            errs.push(FieldError::invalid(format!("{path}.backoffLimitPerIndex"), b, "requires indexed completion mode"));
        }
        if let Some(f) = max_failed {
            errs.push(FieldError::invalid(format!("{path}.maxFailedIndexes"), f, "requires indexed completion mode"));
        }
    }
    errs
}

/// Limits for indexed jobs above the completions soft limit using backoff per index.
fn high_completion_limits(parallelism: Option<i64>, max_failed: Option<i64>, path: &str) -> Vec<FieldError> {
    let suffix = format!("when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index");
    let mut errs = Vec::new();
    if max_failed.is_none() {
        errs.push(FieldError::required(
            format!("{path}.maxFailedIndexes"),
            format!("must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"),
        ));
    }
    if let Some(p) = parallelism.filter(|p| *p > PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS) {
        errs.push(FieldError::invalid(
            format!("{path}.parallelism"),
            p,
            format!("must be less than or equal to {PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS} {suffix}"),
        ));
    }
    if let Some(f) = max_failed.filter(|f| *f > MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS) {
        errs.push(FieldError::invalid(
            format!("{path}.maxFailedIndexes"),
            f,
            format!("must be less than or equal to {MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS} {suffix}"),
        ));
    }
    errs
}

/// Upstream `validatePodReplacementPolicy`.
fn validate_pod_replacement_policy(spec: &Value, path: &str) -> Vec<FieldError> {
    let Some(policy) = at(spec, "/podReplacementPolicy").and_then(Value::as_str) else { return vec![] };
    let field = format!("{path}.podReplacementPolicy");
    if at(spec, "/podFailurePolicy").is_some() {
        if policy != "Failed" {
            return vec![FieldError::not_supported(field, policy, &["Failed"])];
        }
        return vec![];
    }
    if policy == "Failed" || policy == "TerminatingOrFailed" {
        vec![]
    } else {
        vec![FieldError::not_supported(field, policy, &["Failed", "TerminatingOrFailed"])]
    }
}

/// Jobs run to completion: the template must restart `OnFailure` or `Never`.
fn validate_restart_policy(spec: &Value, path: &str) -> Vec<FieldError> {
    let field = format!("{path}.template.spec.restartPolicy");
    match restart_policy(at(spec, "/template")) {
        "Always" | "" => vec![FieldError::required(field, "valid values: \"OnFailure\", \"Never\"")],
        "OnFailure" | "Never" if at(spec, "/podFailurePolicy").is_some() => {
            if restart_policy(at(spec, "/template")) == "Never" {
                vec![]
            } else {
                vec![FieldError::invalid(field, "OnFailure", "only \"Never\" is supported when podFailurePolicy is specified")]
            }
        }
        "OnFailure" | "Never" => vec![],
        other => vec![FieldError::not_supported(field, other, &["OnFailure", "Never"])],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    /// A defaulted template restarting with `restart`.
    fn tpl(restart: &str) -> Value {
        let mut t = json!({"spec": {"containers": [{"name": "c", "image": "busybox"}]}});
        crate::resources::apps::podtemplate::default_template(&mut t);
        t["spec"]["restartPolicy"] = json!(restart);
        t
    }

    #[test]
    fn restart_policy_rules() {
        let spec = json!({"template": tpl("Always")});
        assert_eq!(msgs(&validate_job_spec(&spec, "spec")), ["spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""]);
        let spec = json!({"template": tpl("Sometimes")});
        assert_eq!(
            msgs(&validate_job_spec(&spec, "spec")),
            [
                "spec.template.spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "spec.template.spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"OnFailure\", \"Never\"",
            ]
        );
        assert!(validate_job_spec(&json!({"template": tpl("Never")}), "spec").is_empty());
    }

    #[test]
    fn completion_mode_rules() {
        let spec = json!({"completionMode": "Indexed", "parallelism": 200000, "template": tpl("Never")});
        assert_eq!(
            msgs(&validate_job_spec(&spec, "spec")),
            [
                "spec.completions: Required value: when completion mode is Indexed",
                "spec.parallelism: Invalid value: 200000: must be less than or equal to 100000 when completion mode is Indexed",
            ]
        );
        let spec = json!({"completionMode": "NonIndexed", "backoffLimitPerIndex": 1, "completions": -1, "template": tpl("Never")});
        assert_eq!(
            msgs(&validate_job_spec(&spec, "spec")),
            [
                "spec.completions: Invalid value: -1: must be greater than or equal to 0",
                "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode",
            ]
        );
        let spec = json!({"completionMode": "Sideways", "podReplacementPolicy": "Never", "template": tpl("Never")});
        assert_eq!(
            msgs(&validate_job_spec(&spec, "spec")),
            [
                "spec.completionMode: Unsupported value: \"Sideways\": supported values: \"NonIndexed\", \"Indexed\"",
                "spec.podReplacementPolicy: Unsupported value: \"Never\": supported values: \"Failed\", \"TerminatingOrFailed\"",
            ]
        );
    }
}
