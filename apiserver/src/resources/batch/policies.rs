//! Upstream's checks of a Job's `podFailurePolicy` and `successPolicy`, and the parser of
//! index interval lists (`"1,3-5"`) they and the status use.

use std::collections::BTreeSet;

use rkube_apimachinery::validation::{go_quote, is_qualified_name, FieldError, FieldErrorType};
use serde_json::Value;

use crate::resources::apps::util::{at, list_at, opt_int, str_at};

const MAX_RULES: usize = 20;
const MAX_EXIT_CODE_VALUES: usize = 255;
const MAX_CONDITION_PATTERNS: usize = 20;
const MAX_SUCCEEDED_INDEXES_LEN: usize = 64 * 1024;
const ACTIONS: &[&str] = &["Count", "FailIndex", "FailJob", "Ignore"];
const CONDITION_STATUSES: &[&str] = &["False", "True", "Unknown"];
const EXIT_CODE_OPERATORS: &[&str] = &["In", "NotIn"];

/// An `Invalid` error without a value (upstream's `field.OmitValueType`).
fn invalid_omit(field: String, detail: &str) -> FieldError {
    FieldError::new(FieldErrorType::Invalid, field, None, detail)
}

/// `valid values: ["a" "b"]`, upstream's `%q` of a sorted string list.
fn valid_values(list: &[&str]) -> String {
    let quoted: Vec<String> = list.iter().map(|s| go_quote(s)).collect();
    format!("valid values: [{}]", quoted.join(" "))
}

/// Go's `%#v` of a `[]int32`.
fn go_int_slice(v: Option<&Value>) -> String {
    match v.and_then(Value::as_array) {
        None => "[]int32(nil)".to_string(),
        Some(items) => {
            let each: Vec<String> = items.iter().map(|n| n.as_i64().unwrap_or(0).to_string()).collect();
            format!("[]int32{{{}}}", each.join(", "))
        }
    }
}

/// Upstream `validatePodFailurePolicy`.
pub fn validate_pod_failure_policy(spec: &Value, pfp: &Value, path: &str) -> Vec<FieldError> {
    let rules = list_at(pfp, "/rules");
    let rules_path = format!("{path}.rules");
    let mut errs = Vec::new();
    if rules.len() > MAX_RULES {
        errs.push(FieldError::too_many(rules_path.clone(), Some(rules.len() as i64), MAX_RULES as i64));
    }
    let names: BTreeSet<&str> = ["/template/spec/containers", "/template/spec/initContainers"]
        .iter()
        .flat_map(|p| list_at(spec, p).iter().map(|c| str_at(c, "/name")))
        .collect();
    for (i, rule) in rules.iter().enumerate() {
        errs.extend(validate_rule(spec, rule, &format!("{rules_path}[{i}]"), &names));
    }
    errs
}

/// Upstream `validatePodFailurePolicyRule`.
fn validate_rule(spec: &Value, rule: &Value, path: &str, names: &BTreeSet<&str>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let action_path = format!("{path}.action");
    match str_at(rule, "/action") {
        "" => errs.push(FieldError::required(action_path, valid_values(ACTIONS))),
        "FailIndex" if at(spec, "/backoffLimitPerIndex").is_none() => {
            errs.push(FieldError::invalid(action_path, "FailIndex", "requires the backoffLimitPerIndex to be set"));
        }
        "FailIndex" => {}
        a if !ACTIONS.contains(&a) => errs.push(FieldError::not_supported(action_path, a, ACTIONS)),
        _ => {}
    }
    let exit_codes = at(rule, "/onExitCodes");
    let conditions = list_at(rule, "/onPodConditions");
    if let Some(e) = exit_codes {
        errs.extend(validate_exit_codes(e, &format!("{path}.onExitCodes"), names));
    }
    if !conditions.is_empty() {
        errs.extend(validate_conditions(conditions, &format!("{path}.onPodConditions")));
    }
    match (exit_codes.is_some(), conditions.is_empty()) {
        (true, false) => errs.push(invalid_omit(path.to_string(), "specifying both OnExitCodes and OnPodConditions is not supported")),
        (false, true) => errs.push(invalid_omit(path.to_string(), "specifying one of OnExitCodes and OnPodConditions is required")),
        _ => {}
    }
    errs
}

/// Upstream `validatePodFailurePolicyRuleOnPodConditions`.
fn validate_conditions(conditions: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if conditions.len() > MAX_CONDITION_PATTERNS {
        errs.push(FieldError::too_many(path, Some(conditions.len() as i64), MAX_CONDITION_PATTERNS as i64));
    }
    for (j, pattern) in conditions.iter().enumerate() {
        let pattern_path = format!("{path}[{j}]");
        let kind = str_at(pattern, "/type");
        for msg in is_qualified_name(kind) {
            errs.push(FieldError::invalid(format!("{pattern_path}.type"), kind, msg));
        }
        let status_path = format!("{pattern_path}.status");
        match str_at(pattern, "/status") {
            "" => errs.push(FieldError::required(status_path, valid_values(CONDITION_STATUSES))),
            s if !CONDITION_STATUSES.contains(&s) => errs.push(FieldError::not_supported(status_path, s, CONDITION_STATUSES)),
            _ => {}
        }
    }
    errs
}

/// Upstream `validatePodFailurePolicyRuleOnExitCodes`.
fn validate_exit_codes(req: &Value, path: &str, names: &BTreeSet<&str>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let op = str_at(req, "/operator");
    match op {
        "" => errs.push(FieldError::required(format!("{path}.operator"), valid_values(EXIT_CODE_OPERATORS))),
        o if !EXIT_CODE_OPERATORS.contains(&o) => {
            errs.push(FieldError::not_supported(format!("{path}.operator"), o, EXIT_CODE_OPERATORS))
        }
        _ => {}
    }
    if let Some(name) = at(req, "/containerName").and_then(Value::as_str) {
        if !names.contains(name) {
            errs.push(FieldError::invalid(
                format!("{path}.containerName"),
                name,
                "must be one of the container or initContainer names in the pod template",
            ));
        }
    }
    let values_path = format!("{path}.values");
    let values: Vec<i64> = list_at(req, "/values").iter().map(|v| v.as_i64().unwrap_or(0)).collect();
    let rendered = go_int_slice(at(req, "/values"));
    if values.is_empty() {
        errs.push(invalid_raw_value(&values_path, &rendered, "at least one value is required"));
    } else if values.len() > MAX_EXIT_CODE_VALUES {
        errs.push(FieldError::too_many(values_path.clone(), Some(values.len() as i64), MAX_EXIT_CODE_VALUES as i64));
    }
    let mut seen = BTreeSet::new();
    for (j, v) in values.iter().enumerate() {
        let value_path = format!("{values_path}[{j}]");
        if op == "In" && *v == 0 {
            errs.push(FieldError::invalid(value_path.clone(), 0, "must not be 0 for the In operator"));
        }
        if !seen.insert(*v) {
            errs.push(FieldError::duplicate(value_path, *v));
        }
    }
    if values.windows(2).any(|w| w[0] > w[1]) {
        errs.push(invalid_raw_value(&values_path, &rendered, "must be ordered"));
    }
    errs
}

fn invalid_raw_value(field: &str, rendered: &str, detail: &str) -> FieldError {
    FieldError::new(FieldErrorType::Invalid, field, None, format!("{rendered}: {detail}"))
}

/// Upstream `validateSuccessPolicy` (indexed jobs only).
pub fn validate_success_policy(spec: &Value, sp: &Value, path: &str) -> Vec<FieldError> {
    let rules = list_at(sp, "/rules");
    let rules_path = format!("{path}.rules");
    let mut errs = Vec::new();
    if rules.is_empty() {
        errs.push(FieldError::required(rules_path.clone(), "at least one rules must be specified when the successPolicy is specified"));
    }
    if rules.len() > MAX_RULES {
        errs.push(FieldError::too_many(rules_path.clone(), Some(rules.len() as i64), MAX_RULES as i64));
    }
    let completions = opt_int(spec, "/completions").unwrap_or(0);
    for (i, rule) in rules.iter().enumerate() {
        errs.extend(validate_success_rule(rule, completions, &format!("{rules_path}[{i}]")));
    }
    errs
}

/// Upstream `validateSuccessPolicyRule`.
fn validate_success_rule(rule: &Value, completions: i64, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let indexes = at(rule, "/succeededIndexes").and_then(Value::as_str);
    let count = opt_int(rule, "/succeededCount");
    if indexes.is_none() && count.is_none() {
        errs.push(FieldError::required(path, "at least one of succeededCount or succeededIndexes must be specified"));
    }
    let mut total = 0;
    if let Some(ix) = indexes {
        let field = format!("{path}.succeededIndexes");
        if ix.len() > MAX_SUCCEEDED_INDEXES_LEN {
            errs.push(FieldError::too_long(field.clone(), MAX_SUCCEEDED_INDEXES_LEN as i64));
        }
        match validate_indexes_format(ix, completions) {
            Ok(t) => total = t,
            Err(e) => errs.push(FieldError::invalid(field, ix, format!("error parsing succeededIndexes: {e}"))),
        }
    }
    if let Some(c) = count {
        let field = format!("{path}.succeededCount");
        if c < 0 {
            errs.push(FieldError::invalid(field.clone(), c, rkube_apimachinery::validation::IS_NEGATIVE_ERROR_MSG));
        }
        if c > completions {
            errs.push(FieldError::invalid(
                field.clone(),
                c,
                format!("must be less than or equal to {completions} (the number of specified completions)"),
            ));
        }
        if indexes.is_some() && c > total {
            errs.push(FieldError::invalid(
                field,
                c,
                format!("must be less than or equal to {total} (the number of indexes in the specified succeededIndexes field)"),
            ));
        }
    }
    errs
}

/// Upstream `validateIndexesFormat`: increasing intervals below `completions`; returns
/// the number of indexes.
pub fn validate_indexes_format(indexes: &str, completions: i64) -> Result<i64, String> {
    if indexes.is_empty() {
        return Ok(0);
    }
    let mut last: Option<i64> = None;
    let mut total = 0;
    for interval in indexes.split(',') {
        let (x, y) = parse_interval(interval, completions)?;
        if let Some(l) = last.filter(|l| *l >= x) {
            return Err(format!("non-increasing order, previous: {l}, current: {x}"));
        }
        total += y - x + 1;
        last = Some(y);
    }
    Ok(total)
}

/// Upstream `parseIndexInterval`.
fn parse_interval(interval: &str, completions: i64) -> Result<(i64, i64), String> {
    let limits: Vec<&str> = interval.split('-').collect();
    if limits.len() > 2 {
        return Err(format!(
            "the fragment {} violates the requirement that an index interval can have at most two parts separated by '-'",
            go_quote(interval)
        ));
    }
    let parse = |s: &str| -> Result<i64, String> {
        let n: i64 = s.parse().map_err(|_| format!("cannot convert string to integer for index: {}", go_quote(s)))?;
        if n >= completions {
            return Err(format!("too large index: {}", go_quote(s)));
        }
        Ok(n)
    };
    let x = parse(limits[0])?;
    match limits.get(1) {
        None => Ok((x, x)),
        Some(s) => {
            let y = parse(s)?;
            if x >= y {
                return Err(format!("non-increasing order, previous: {x}, current: {y}"));
            }
            Ok((x, y))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn pod_failure_policy_rules() {
        let spec = json!({"template": {"spec": {"containers": [{"name": "main"}]}}});
        let pfp = json!({"rules": [
            {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [0, 3, 2, 2], "containerName": "other"}},
            {"action": "Explode"},
            {"action": "", "onPodConditions": [{"type": "DisruptionTarget", "status": "Maybe"}]}
        ]});
        assert_eq!(
            msgs(&validate_pod_failure_policy(&spec, &pfp, "spec.podFailurePolicy")),
            [
                "spec.podFailurePolicy.rules[0].onExitCodes.containerName: Invalid value: \"other\": must be one of the container or initContainer names in the pod template",
                "spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
                "spec.podFailurePolicy.rules[0].onExitCodes.values[3]: Duplicate value: 2",
                "spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: []int32{0, 3, 2, 2}: must be ordered",
                "spec.podFailurePolicy.rules[1].action: Unsupported value: \"Explode\": supported values: \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\"",
                "spec.podFailurePolicy.rules[1]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
                "spec.podFailurePolicy.rules[2].action: Required value: valid values: [\"Count\" \"FailIndex\" \"FailJob\" \"Ignore\"]",
                "spec.podFailurePolicy.rules[2].onPodConditions[0].status: Unsupported value: \"Maybe\": supported values: \"False\", \"True\", \"Unknown\"",
            ]
        );
    }

    #[test]
    fn success_policy_and_indexes() {
        assert_eq!(validate_indexes_format("0,2-4", 5), Ok(4));
        assert_eq!(validate_indexes_format("3,1", 5).unwrap_err(), "non-increasing order, previous: 3, current: 1");
        assert_eq!(validate_indexes_format("9", 5).unwrap_err(), "too large index: \"9\"");
        assert_eq!(validate_indexes_format("a", 5).unwrap_err(), "cannot convert string to integer for index: \"a\"");
        let spec = json!({"completions": 3});
        let sp = json!({"rules": [{}, {"succeededIndexes": "0-1", "succeededCount": 3}]});
        assert_eq!(
            msgs(&validate_success_policy(&spec, &sp, "spec.successPolicy")),
            [
                "spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified",
                "spec.successPolicy.rules[1].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)",
            ]
        );
    }
}
