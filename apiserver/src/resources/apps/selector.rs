//! `metav1.LabelSelector` helpers over JSON: upstream's `ValidateLabelSelector`, the
//! `LabelSelectorAsSelector` conversion and the two ways printers render a selector.

use rkube_apimachinery::label_selector::{LabelSelector, LabelSelectorError};
use rkube_apimachinery::validation::{is_qualified_name, is_valid_label_value, validate_labels, FieldError};
use serde_json::Value;

use super::util::{go_label_selector, go_string_map, invalid_raw, string_map, type_error};

/// Upstream `metav1validation.ValidateLabelSelector` (invalid label values rejected).
pub fn validate_label_selector(sel: Option<&Value>, path: &str) -> Vec<FieldError> {
    let Some(sel) = sel.filter(|v| !v.is_null()) else { return vec![] };
    let Some(obj) = sel.as_object() else { return vec![type_error(path, sel, "an object")] };
    let mut errs = Vec::new();
    if let Some(labels) = obj.get("matchLabels").filter(|v| !v.is_null()) {
        let map = string_map(Some(labels));
        errs.extend(validate_labels(map.iter().map(|(k, v)| (k.as_str(), v.as_str())), &format!("{path}.matchLabels")));
    }
    if let Some(exprs) = obj.get("matchExpressions").and_then(Value::as_array) {
        for (i, expr) in exprs.iter().enumerate() {
            errs.extend(validate_requirement(expr, &format!("{path}.matchExpressions[{i}]")));
        }
    }
    errs
}

/// Upstream `ValidateLabelSelectorRequirement`.
fn validate_requirement(expr: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let values = expr.get("values").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let op = expr.get("operator").and_then(Value::as_str).unwrap_or("");
    match op {
        "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(
            format!("{path}.values"),
            "must be specified when `operator` is 'In' or 'NotIn'",
        )),
        "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
            format!("{path}.values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
        other => errs.push(FieldError::invalid(format!("{path}.operator"), other, "not a valid selector operator")),
    }
    let key = expr.get("key").and_then(Value::as_str).unwrap_or("");
    for msg in is_qualified_name(key) {
        errs.push(FieldError::invalid(format!("{path}.key"), key, msg));
    }
    for (i, v) in values.iter().enumerate() {
        let v = v.as_str().unwrap_or("");
        for msg in is_valid_label_value(v) {
            errs.push(FieldError::invalid(format!("{path}.values[{i}]"), v, msg));
        }
    }
    errs
}

/// Upstream `metav1.LabelSelectorAsSelector`: nil selects nothing, empty selects everything.
pub fn as_selector(sel: Option<&Value>) -> Result<LabelSelector, LabelSelectorError> {
    LabelSelector::from_json(sel.unwrap_or(&Value::Null))
}

/// Upstream `metav1.FormatLabelSelector`: `<error>` when unconvertible, `<none>` when empty.
pub fn format_label_selector(sel: Option<&Value>) -> String {
    match as_selector(sel) {
        Err(_) => "<error>".to_string(),
        Ok(s) => {
            let text = s.to_string();
            if text.is_empty() {
                "<none>".to_string()
            } else {
                text
            }
        }
    }
}

/// The selector as the Deployment printer renders it (`<invalid>` when unconvertible).
pub fn selector_string(sel: Option<&Value>) -> String {
    as_selector(sel).map_or_else(|_| "<invalid>".to_string(), |s| s.to_string())
}

/// True when a selector has neither matchLabels nor matchExpressions.
pub fn is_empty_selector(sel: &Value) -> bool {
    let count = |k: &str| match sel.get(k) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    count("matchLabels") + count("matchExpressions") == 0
}

/// `Invalid` on the selector with its `%#v` rendering.
pub fn invalid_selector(path: &str, sel: Option<&Value>, detail: &str) -> FieldError {
    invalid_raw(path, &go_label_selector(sel), detail)
}

/// The "`selector` does not match template `labels`" error on `<path>.metadata.labels`.
pub fn template_mismatch(template_path: &str, labels: Option<&Value>) -> FieldError {
    invalid_raw(
        &format!("{template_path}.metadata.labels"),
        &go_string_map(labels),
        "`selector` does not match template `labels`",
    )
}

/// The selector checks every workload controller shares: required, valid, not empty.
/// `kind` names the resource in the "empty selector is invalid for <kind>" message.
pub fn validate_controller_selector(sel: Option<&Value>, path: &str, kind: &str) -> Vec<FieldError> {
    match sel.filter(|v| !v.is_null()) {
        None => vec![FieldError::required(path, "")],
        Some(s) => {
            let mut errs = validate_label_selector(Some(s), path);
            if is_empty_selector(s) {
                errs.push(invalid_selector(path, Some(s), &format!("empty selector is invalid for {kind}")));
            }
            errs
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
    fn validates_requirements_like_upstream() {
        let sel = json!({"matchExpressions": [
            {"key": "a", "operator": "In"},
            {"key": "b", "operator": "Exists", "values": ["x"]},
            {"key": "c", "operator": "Foo"},
            {"key": "-bad", "operator": "In", "values": ["-x"]}
        ]});
        let errs = validate_label_selector(Some(&sel), "spec.selector");
        let m = msgs(&errs);
        assert_eq!(m[0], "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'");
        assert_eq!(m[1], "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
        assert_eq!(m[2], "spec.selector.matchExpressions[2].operator: Invalid value: \"Foo\": not a valid selector operator");
        assert!(m[3].starts_with("spec.selector.matchExpressions[3].key: Invalid value: \"-bad\": name part must consist of"));
        assert!(m[4].starts_with("spec.selector.matchExpressions[3].values[0]: Invalid value: \"-x\": a valid label must be"));
        assert!(validate_label_selector(Some(&json!({"matchLabels": {"app": "web"}})), "s").is_empty());
        assert_eq!(validate_label_selector(Some(&json!({"matchLabels": {"a": "-"}})), "s")[0].field, "s.matchLabels");
    }

    #[test]
    fn formats_like_printers() {
        let sel = json!({"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [{"key": "c", "operator": "NotIn", "values": ["y", "x"]}]});
        assert_eq!(format_label_selector(Some(&sel)), "a=1,b=2,c notin (x,y)");
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(format_label_selector(None), "<none>");
        assert_eq!(format_label_selector(Some(&json!({"matchExpressions": [{"key": "a", "operator": "Bad"}]}))), "<error>");
        assert_eq!(selector_string(Some(&json!({"matchExpressions": [{"key": "a", "operator": "Bad"}]}))), "<invalid>");
        assert_eq!(selector_string(Some(&json!({"matchLabels": {"app": "x"}}))), "app=x");
    }

    #[test]
    fn controller_selector_checks() {
        assert_eq!(msgs(&validate_controller_selector(None, "spec.selector", "deployment")), ["spec.selector: Required value"]);
        assert_eq!(
            msgs(&validate_controller_selector(Some(&json!({})), "spec.selector", "deployment")),
            ["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"]
        );
        assert_eq!(
            template_mismatch("spec.template", Some(&json!({"app": "x"}))).to_string(),
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`"
        );
    }
}
