//! `intstr.IntOrString` checks of upstream's apps validation (rolling-update surge and
//! unavailability, PodDisruptionBudget thresholds).

use rkube_apimachinery::validation::{regex_error, FieldError, IS_NEGATIVE_ERROR_MSG};
use serde_json::Value;

use super::util::{go_int_or_string, invalid_raw};

const PERCENT_FMT: &str = "[0-9]+%";
const PERCENT_ERR_MSG: &str = "a valid percent string must be a numeric string followed by an ending '%'";

/// Upstream `IsValidPercent`.
fn percent_errors(s: &str) -> Vec<String> {
    let digits = s.strip_suffix('%').unwrap_or("");
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        vec![]
    } else {
        vec![regex_error(PERCENT_ERR_MSG, PERCENT_FMT, &["1%", "93%"])]
    }
}

/// Upstream `ValidatePositiveIntOrPercent`: a non-negative integer or a valid percentage.
pub fn validate_positive_int_or_percent(v: &Value, path: &str) -> Vec<FieldError> {
    match v {
        Value::String(s) => percent_errors(s)
            .into_iter()
            .map(|msg| invalid_raw(path, &go_int_or_string(v), &msg))
            .collect(),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i < 0 => vec![FieldError::invalid(path, i, IS_NEGATIVE_ERROR_MSG)],
            Some(_) => vec![],
            None => vec![invalid_raw(path, &go_int_or_string(v), "must be an integer or percentage (e.g '5%%')")],
        },
        _ => vec![invalid_raw(path, &go_int_or_string(v), "must be an integer or percentage (e.g '5%%')")],
    }
}

/// The percentage of a valid percent string.
fn percent_value(v: &Value) -> Option<i64> {
    let s = v.as_str()?;
    if !percent_errors(s).is_empty() {
        return None;
    }
    s.trim_end_matches('%').parse().ok()
}

/// Upstream `getIntOrPercentValue`: the percentage, else the integer (0 when neither).
pub fn int_or_percent_value(v: &Value) -> i64 {
    percent_value(v)
        .or_else(|| v.as_i64())
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// Upstream `IsNotMoreThan100Percent`.
pub fn is_not_more_than_100_percent(v: &Value, path: &str) -> Vec<FieldError> {
    match percent_value(v) {
        Some(p) if p > 100 => vec![invalid_raw(path, &go_int_or_string(v), "must not be greater than 100%")],
        _ => vec![],
    }
}

/// `IntOrString.String()` as printers use it.
pub fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.as_i64().unwrap_or(0).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_int_or_percent() {
        assert!(validate_positive_int_or_percent(&json!("25%"), "p").is_empty());
        assert!(validate_positive_int_or_percent(&json!(3), "p").is_empty());
        assert_eq!(
            validate_positive_int_or_percent(&json!(-1), "p")[0].to_string(),
            "p: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(
            validate_positive_int_or_percent(&json!("abc"), "p")[0].to_string(),
            "p: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"abc\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
        );
        assert_eq!(
            is_not_more_than_100_percent(&json!("101%"), "p")[0].to_string(),
            "p: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"101%\"}: must not be greater than 100%"
        );
        assert!(is_not_more_than_100_percent(&json!(500), "p").is_empty());
        assert_eq!(int_or_percent_value(&json!("30%")), 30);
        assert_eq!(int_or_percent_value(&json!(2)), 2);
        assert_eq!(int_or_percent_value(&json!("x")), 0);
        assert_eq!(display(&json!("50%")), "50%");
        assert_eq!(display(&json!(1)), "1");
    }
}
