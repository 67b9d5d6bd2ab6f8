//! Upstream Kubernetes validators and field errors, with upstream's exact messages.
//!
//! This mirrors three upstream packages (Kubernetes v1.33 wording):
//!
//! * `k8s.io/apimachinery/pkg/util/validation` — the string validators
//!   ([`is_dns1123_subdomain`], [`is_dns1123_label`], [`is_qualified_name`],
//!   [`is_valid_label_value`], ...). Each returns the list of problems, empty when valid.
//! * `k8s.io/apimachinery/pkg/util/validation/field` — [`FieldError`] and its rendering
//!   (`metadata.name: Invalid value: "Foo": ...`), plus the aggregate rendering used in
//!   error messages ([`aggregate_messages`]).
//! * `k8s.io/apimachinery/pkg/api/validation` — [`validate_object_meta`] and
//!   [`validate_object_meta_update`] over `metadata` given as JSON, the name validators
//!   ([`name_is_dns_subdomain`], ...) and generateName handling ([`generate_name`]).
//!
//! It also renders the 422 `Invalid` status the apiserver sends ([`invalid_message`],
//! [`status_causes`], [`invalid_status`]).
//!
//! The character classes are matched by hand rather than through regexes: the grammars are
//! tiny and this keeps the module free of any shared state.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------
// Message helpers
// ---------------------------------------------------------------------------------------

/// Maximum length of a DNS-1123 label (63).
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
/// Maximum length of a DNS-1123 subdomain (253).
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
/// Maximum length of a DNS-1035 label (63).
pub const DNS1035_LABEL_MAX_LENGTH: usize = 63;
/// Maximum length of a label value (63).
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;
/// Maximum length of the name part of a qualified name (63).
pub const QUALIFIED_NAME_MAX_LENGTH: usize = 63;
/// Maximum total size, in bytes, of all annotation keys and values of one object (256 KiB).
pub const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES: usize = 256 * 1024;
/// Maximum length of a managed-fields manager name.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;
/// Maximum length of a managed-fields subresource name.
pub const MAX_SUBRESOURCE_NAME_LENGTH: usize = 256;
/// Upstream's message for a field that may not change (`field is immutable`).
pub const FIELD_IMMUTABLE_ERROR_MSG: &str = "field is immutable";
/// Upstream's message for a negative value that must not be negative.
pub const IS_NEGATIVE_ERROR_MSG: &str = "must be greater than or equal to 0";

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const C_IDENTIFIER_FMT: &str = "[A-Za-z_][A-Za-z0-9_]*";
const C_IDENTIFIER_ERR_MSG: &str = "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'";
const CONFIG_MAP_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_MAP_KEY_ERR_MSG: &str =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

/// Upstream `MaxLenError`: `must be no more than <n> characters`.
pub fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// Upstream `EmptyError`: `must be non-empty`.
pub fn empty_error() -> String {
    "must be non-empty".to_string()
}

/// Upstream `InclusiveRangeError`: `must be between <lo> and <hi>, inclusive`.
pub fn inclusive_range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

/// Upstream `RegexError`: the message, examples and the regex, formatted exactly like
/// upstream (including its double space between examples: `(e.g. 'a',  or 'b', regex ...`).
pub fn regex_error(msg: &str, regex: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{regex}')");
    }
    let mut out = String::from(msg);
    out.push_str(" (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push('\'');
        out.push_str(example);
        out.push_str("', ");
    }
    out.push_str("regex used for validation is '");
    out.push_str(regex);
    out.push_str("')");
    out
}

// ---------------------------------------------------------------------------------------
// Character-class matchers (hand-written equivalents of upstream's anchored regexes)
// ---------------------------------------------------------------------------------------

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
fn matches_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            is_lower_alnum(first)
                && is_lower_alnum(last)
                && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        }
        _ => false,
    }
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
fn matches_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(matches_dns1123_label)
}

/// `^[a-z]([-a-z0-9]*[a-z0-9])?$`
fn matches_dns1035_label(s: &str) -> bool {
    matches_dns1123_label(s) && s.as_bytes().first().is_some_and(|b| b.is_ascii_lowercase())
}

/// `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`
fn matches_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// Validators (pkg/util/validation)
// ---------------------------------------------------------------------------------------

/// Upstream `IsDNS1123Label`: a lowercase RFC 1123 label of at most 63 characters.
/// Returns the problems found, empty when the value is valid.
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            // A valid subdomain but not a label: given the length was checked, it has dots.
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR_MSG,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// Upstream `IsDNS1123Subdomain`: a lowercase RFC 1123 subdomain of at most 253 characters.
/// Returns the problems found, empty when the value is valid.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Upstream `IsDNS1035Label`: a DNS-1035 label (starts with a letter), at most 63 characters.
/// Returns the problems found, empty when the value is valid.
pub fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1035_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1035_LABEL_MAX_LENGTH));
    }
    if !matches_dns1035_label(value) {
        errs.push(regex_error(
            DNS1035_LABEL_ERR_MSG,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// Upstream `IsQualifiedName`: what Kubernetes calls a qualified name, the format of label
/// and annotation keys: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// characters. Returns the problems found, empty when the value is valid.
pub fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push(format!("prefix part {}", empty_error()));
            } else {
                for msg in is_dns1123_subdomain(prefix) {
                    errs.push(format!("prefix part {msg}"));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_ERR_MSG,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push(format!("name part {}", empty_error()));
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_error(QUALIFIED_NAME_MAX_LENGTH)
        ));
    }
    if !matches_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// Upstream `IsValidLabelValue`: empty, or a qualified-name-like value of at most 63
/// characters. Returns the problems found, empty when the value is valid.
pub fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !(value.is_empty() || matches_qualified_name_part(value)) {
        errs.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// Upstream `IsCIdentifier`: `[A-Za-z_][A-Za-z0-9_]*` (format only, no length limit).
pub fn is_c_identifier(value: &str) -> Vec<String> {
    let b = value.as_bytes();
    let ok = b
        .first()
        .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_');
    if ok {
        Vec::new()
    } else {
        vec![regex_error(
            C_IDENTIFIER_ERR_MSG,
            C_IDENTIFIER_FMT,
            &["my_name", "MY_NAME", "MyName"],
        )]
    }
}

/// Upstream `IsConfigMapKey`: a valid key of a ConfigMap or Secret.
pub fn is_config_map_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    let charset_ok = !value.is_empty()
        && value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.');
    if !charset_ok {
        errs.push(regex_error(
            CONFIG_MAP_KEY_ERR_MSG,
            CONFIG_MAP_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    if value == "." {
        errs.push("must not be '.'".to_string());
    } else if value == ".." {
        errs.push("must not be '..'".to_string());
    } else if value.starts_with("..") {
        errs.push("must not start with '..'".to_string());
    }
    errs
}

// ---------------------------------------------------------------------------------------
// Name validators and generateName (pkg/api/validation/generic.go, storage/names)
// ---------------------------------------------------------------------------------------

/// Upstream `maskTrailingDash`: when a generateName prefix ends in `-`, validation checks
/// it with the tail replaced so the dash is acceptable. Upstream drops the last *two*
/// characters and appends `a`; that is mirrored (a lone `-` becomes `a`).
pub fn mask_trailing_dash(name: &str) -> String {
    if let Some(without_dash) = name.strip_suffix('-') {
        let keep = name.len().saturating_sub(2);
        // `keep` may split a multi-byte character only if the byte before '-' is part of
        // one; fall back to dropping just the dash then (upstream would produce invalid
        // UTF-8 there, which fails validation either way).
        let head = name.get(..keep).unwrap_or(without_dash);
        format!("{head}a")
    } else {
        name.to_string()
    }
}

/// Upstream `NameIsDNSSubdomain`: the name validator of most resources. `prefix` is true
/// when checking a generateName (a trailing dash is then allowed).
pub fn name_is_dns_subdomain(name: &str, prefix: bool) -> Vec<String> {
    if prefix {
        is_dns1123_subdomain(&mask_trailing_dash(name))
    } else {
        is_dns1123_subdomain(name)
    }
}

/// Upstream `NameIsDNSLabel` (also `ValidateNamespaceName`): names that must be DNS labels.
pub fn name_is_dns_label(name: &str, prefix: bool) -> Vec<String> {
    if prefix {
        is_dns1123_label(&mask_trailing_dash(name))
    } else {
        is_dns1123_label(name)
    }
}

/// Upstream `NameIsDNS1035Label`: names that must be DNS-1035 labels (e.g. Services).
pub fn name_is_dns1035_label(name: &str, prefix: bool) -> Vec<String> {
    if prefix {
        is_dns1035_label(&mask_trailing_dash(name))
    } else {
        is_dns1035_label(name)
    }
}

/// Upstream `ValidateNamespaceName` (same as [`name_is_dns_label`]).
pub fn validate_namespace_name(name: &str, prefix: bool) -> Vec<String> {
    name_is_dns_label(name, prefix)
}

/// Maximum length of the base kept from a generateName (63 - 5 random characters).
pub const MAX_GENERATED_NAME_LENGTH: usize = 58;
/// Number of random characters appended to a generateName.
pub const GENERATED_NAME_RANDOM_LENGTH: usize = 5;
/// Alphabet upstream draws the random suffix of generated names from (no vowels, no
/// confusable characters).
pub const GENERATED_NAME_ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";

/// Builds a name from a generateName the way upstream's `SimpleNameGenerator` does: the
/// base is cut to 58 bytes and 5 characters of [`GENERATED_NAME_ALPHABET`] are appended.
/// `pick(n)` must return a random index in `0..n`; out-of-range answers are wrapped.
pub fn generate_name(base: &str, mut pick: impl FnMut(usize) -> usize) -> String {
    let mut cut = base.len().min(MAX_GENERATED_NAME_LENGTH);
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    let alphabet = GENERATED_NAME_ALPHABET.as_bytes();
    let mut out = String::with_capacity(cut + GENERATED_NAME_RANDOM_LENGTH);
    out.push_str(&base[..cut]);
    for _ in 0..GENERATED_NAME_RANDOM_LENGTH {
        let i = pick(alphabet.len()) % alphabet.len();
        out.push(char::from(alphabet[i]));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Go-compatible rendering helpers
// ---------------------------------------------------------------------------------------

/// Whether Go's `unicode.IsPrint` would call `c` printable (approximation: control
/// characters, non-ASCII-space whitespace and the common format characters are not).
fn go_is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E000}'..='\u{F8FF}'
            | '\u{F0000}'..='\u{10FFFF}'
    )
}

/// Go's `strconv.Quote` (what `%q` prints): a double-quoted string with Go escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if go_is_print(c) => out.push(c),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0B}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): shortest digits, in
/// exponent form (`1e+06`) when the decimal exponent is < -4 or >= 6.
pub(crate) fn go_format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    // Rust's `{:e}` yields the shortest round-trip digits, e.g. "-1.2345e-7".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.push_str(&"0".repeat(int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    } else {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exp - 1) as usize));
        out.push_str(&digits);
    }
    out
}

/// Go's `json.Marshal` of a JSON value: like `serde_json` but with `<`, `>`, `&`, U+2028 and
/// U+2029 escaped as Go does. Object keys keep the value's order.
pub fn go_json(v: &Value) -> String {
    let raw = serde_json::to_string(v).unwrap_or_else(|_| "null".to_string());
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Renders a bad value the way upstream's `ErrorBody` does: strings `%q`-quoted, numbers and
/// booleans plain, everything else (arrays, objects, null) as JSON.
fn render_bad_value(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                go_format_float(n.as_f64().unwrap_or(0.0))
            }
        }
        other => go_json(other),
    }
}

// ---------------------------------------------------------------------------------------
// FieldError (pkg/util/validation/field)
// ---------------------------------------------------------------------------------------

/// The kind of a [`FieldError`], mirroring upstream's `field.ErrorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorType {
    /// A value that was looked up could not be found (`FieldValueNotFound`).
    NotFound,
    /// A required value is missing (`FieldValueRequired`).
    Required,
    /// A value that must be unique is repeated (`FieldValueDuplicate`).
    Duplicate,
    /// A malformed value (`FieldValueInvalid`).
    Invalid,
    /// A value outside an enumeration (`FieldValueNotSupported`).
    NotSupported,
    /// A well-formed value not permitted here (`FieldValueForbidden`).
    Forbidden,
    /// A value that is too long; the value itself is not shown (`FieldValueTooLong`).
    TooLong,
    /// A list with too many items (`FieldValueTooMany`).
    TooMany,
    /// An error not caused by user input (`InternalError`).
    Internal,
    /// A value of the wrong type for the schema (`FieldValueTypeInvalid`).
    TypeInvalid,
}

impl FieldErrorType {
    /// The machine-readable reason, used as the `reason` of a Status cause
    /// (`FieldValueInvalid`, `FieldValueRequired`, ...).
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorType::NotFound => "FieldValueNotFound",
            FieldErrorType::Required => "FieldValueRequired",
            FieldErrorType::Duplicate => "FieldValueDuplicate",
            FieldErrorType::Invalid => "FieldValueInvalid",
            FieldErrorType::NotSupported => "FieldValueNotSupported",
            FieldErrorType::Forbidden => "FieldValueForbidden",
            FieldErrorType::TooLong => "FieldValueTooLong",
            FieldErrorType::TooMany => "FieldValueTooMany",
            FieldErrorType::Internal => "InternalError",
            FieldErrorType::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    /// The human-readable phrase (`Invalid value`, `Required value`, ...).
    pub fn message(self) -> &'static str {
        match self {
            FieldErrorType::NotFound => "Not found",
            FieldErrorType::Required => "Required value",
            FieldErrorType::Duplicate => "Duplicate value",
            FieldErrorType::Invalid => "Invalid value",
            FieldErrorType::NotSupported => "Unsupported value",
            FieldErrorType::Forbidden => "Forbidden",
            FieldErrorType::TooLong => "Too long",
            FieldErrorType::TooMany => "Too many",
            FieldErrorType::Internal => "Internal error",
            FieldErrorType::TypeInvalid => "Invalid value",
        }
    }

    /// Whether upstream prints the bad value after the phrase for this type.
    fn shows_value(self) -> bool {
        !matches!(
            self,
            FieldErrorType::Required
                | FieldErrorType::Forbidden
                | FieldErrorType::TooLong
                | FieldErrorType::Internal
        )
    }
}

impl fmt::Display for FieldErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// A field-level validation error, mirroring upstream's `field.Error`.
///
/// Rendering (`Display`, [`FieldError::error_message`]) is `<field>: <error body>`, where the
/// body is e.g. `Invalid value: "Foo": <detail>` or `Required value`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The kind of error.
    pub error_type: FieldErrorType,
    /// The field path, e.g. `metadata.labels` or `spec.containers[0].name`.
    pub field: String,
    /// The offending value; `None` omits it from the message.
    pub bad_value: Option<Value>,
    /// Additional detail; empty for none.
    pub detail: String,
}

impl FieldError {
    /// A free-form constructor.
    pub fn new(
        error_type: FieldErrorType,
        field: impl Into<String>,
        bad_value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            error_type,
            field: field.into(),
            bad_value,
            detail: detail.into(),
        }
    }

    /// Upstream `field.Required`: a required value is missing.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Required, field, None, detail)
    }

    /// Upstream `field.Invalid`: a malformed value.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(FieldErrorType::Invalid, field, Some(value.into()), detail)
    }

    /// Upstream `field.Duplicate`: a repeated value that must be unique.
    pub fn duplicate(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorType::Duplicate, field, Some(value.into()), "")
    }

    /// Upstream `field.NotFound`: a value that could not be found.
    pub fn not_found(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorType::NotFound, field, Some(value.into()), "")
    }

    /// Upstream `field.NotSupported`: a value outside the supported set. The detail lists
    /// the supported values, each `%q`-quoted (`supported values: "a", "b"`).
    pub fn not_supported<S: AsRef<str>>(
        field: impl Into<String>,
        value: impl Into<Value>,
        valid_values: &[S],
    ) -> Self {
        let detail = if valid_values.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid_values.iter().map(|v| go_quote(v.as_ref())).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(
            FieldErrorType::NotSupported,
            field,
            Some(value.into()),
            detail,
        )
    }

    /// Upstream `field.Forbidden`: a valid value not permitted here.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Forbidden, field, None, detail)
    }

    /// Upstream `field.TooLong`: `may not be more than <n> bytes` (`value is too long` when
    /// `max_length` is negative). The value is never shown.
    pub fn too_long(field: impl Into<String>, max_length: i64) -> Self {
        let detail = if max_length >= 0 {
            let unit = if max_length == 1 { "byte" } else { "bytes" };
            format!("may not be more than {max_length} {unit}")
        } else {
            "value is too long".to_string()
        };
        Self::new(FieldErrorType::TooLong, field, None, detail)
    }

    /// Upstream `field.TooMany`: `must have at most <n> items`. `actual` is shown as the
    /// value when given (`None` mirrors upstream's negative "omit" quantity).
    pub fn too_many(field: impl Into<String>, actual: Option<i64>, max_quantity: i64) -> Self {
        let detail = if max_quantity >= 0 {
            let unit = if max_quantity == 1 { "item" } else { "items" };
            format!("must have at most {max_quantity} {unit}")
        } else {
            "has too many items".to_string()
        };
        Self::new(
            FieldErrorType::TooMany,
            field,
            actual.map(Value::from),
            detail,
        )
    }

    /// Upstream `field.InternalError`.
    pub fn internal(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Internal, field, None, detail)
    }

    /// Upstream `field.TypeInvalid`: the value does not match the schema type.
    pub fn type_invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(
            FieldErrorType::TypeInvalid,
            field,
            Some(value.into()),
            detail,
        )
    }

    /// The Status cause reason string (`FieldValueInvalid`, `FieldValueRequired`, ...).
    pub fn reason(&self) -> &'static str {
        self.error_type.reason()
    }

    /// Upstream `ErrorBody`: the message without the field, e.g.
    /// `Invalid value: "Foo": a lowercase RFC 1123 subdomain ...`. This is the `message` of
    /// a Status cause.
    pub fn error_body(&self) -> String {
        let mut s = self.error_type.message().to_string();
        if self.error_type.shows_value() {
            if let Some(v) = &self.bad_value {
                s.push_str(": ");
                s.push_str(&render_bad_value(v));
            }
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// Upstream `Error()`: `<field>: <error body>`.
    pub fn error_message(&self) -> String {
        format!("{}: {}", self.field, self.error_body())
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error_message())
    }
}

impl std::error::Error for FieldError {}

/// Upstream `ErrorList.ToAggregate().Error()` over already-rendered messages: duplicates
/// are dropped, one message is returned as is, several are joined as `[a, b]`; no message
/// gives an empty string.
pub fn aggregate_messages<I, S>(messages: I) -> String
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut seen = BTreeSet::new();
    let mut unique = Vec::new();
    for m in messages {
        let m = m.into();
        if seen.insert(m.clone()) {
            unique.push(m);
        }
    }
    match unique.len() {
        0 => String::new(),
        1 => unique.pop().unwrap_or_default(),
        _ => format!("[{}]", unique.join(", ")),
    }
}

/// The aggregate rendering of a list of field errors (see [`aggregate_messages`]).
pub fn aggregate_field_errors(errs: &[FieldError]) -> String {
    aggregate_messages(errs.iter().map(FieldError::error_message))
}

/// Upstream `GroupKind.String()`: `Kind` for the core group, `Kind.group` otherwise.
pub fn qualified_kind(kind: &str, group: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// The message of the apiserver's 422 `Invalid` error (upstream `NewInvalid`):
/// `<Kind[.group]> "<name>" is invalid: <err>` for one error and
/// `... is invalid: [<err1>, <err2>]` for several (duplicates dropped).
pub fn invalid_message(kind: &str, group: &str, name: &str, errs: &[FieldError]) -> String {
    let head = format!(
        "{} {} is invalid",
        qualified_kind(kind, group),
        go_quote(name)
    );
    if errs.is_empty() {
        head
    } else {
        format!("{head}: {}", aggregate_field_errors(errs))
    }
}

/// The `details.causes` of an `Invalid` Status: one `{reason, message, field}` object per
/// error (empty members omitted, as upstream's `omitempty`).
pub fn status_causes(errs: &[FieldError]) -> Vec<Value> {
    errs.iter()
        .map(|e| {
            let mut cause = Map::new();
            cause.insert("reason".into(), Value::from(e.reason()));
            let body = e.error_body();
            if !body.is_empty() {
                cause.insert("message".into(), Value::from(body));
            }
            if !e.field.is_empty() {
                cause.insert("field".into(), Value::from(e.field.clone()));
            }
            Value::Object(cause)
        })
        .collect()
}

/// The full 422 `Invalid` Status object upstream's `NewInvalid` produces.
pub fn invalid_status(kind: &str, group: &str, name: &str, errs: &[FieldError]) -> Value {
    let mut details = Map::new();
    if !name.is_empty() {
        details.insert("name".into(), Value::from(name));
    }
    if !group.is_empty() {
        details.insert("group".into(), Value::from(group));
    }
    if !kind.is_empty() {
        details.insert("kind".into(), Value::from(kind));
    }
    let causes = status_causes(errs);
    if !causes.is_empty() {
        details.insert("causes".into(), Value::Array(causes));
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": invalid_message(kind, group, name, errs),
        "reason": "Invalid",
        "details": Value::Object(details),
        "code": 422
    })
}

// ---------------------------------------------------------------------------------------
// ObjectMeta validation (pkg/api/validation/objectmeta.go)
// ---------------------------------------------------------------------------------------

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Reads a string member; absent or null is `""`. A non-string is reported and read as `""`.
fn string_member(
    meta: &Map<String, Value>,
    key: &str,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> String {
    match meta.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            errs.push(FieldError::type_invalid(
                child(path, key),
                other.clone(),
                "must be a string",
            ));
            String::new()
        }
    }
}

/// Reads a `map[string]string` member (labels, annotations) in key order.
fn string_map_member(
    meta: &Map<String, Value>,
    key: &str,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match meta.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v {
                    Value::String(s) => out.push((k.clone(), s.clone())),
                    Value::Null => out.push((k.clone(), String::new())),
                    other => errs.push(FieldError::type_invalid(
                        format!("{}[{}]", child(path, key), k),
                        other.clone(),
                        "must be a string",
                    )),
                }
            }
        }
        Some(other) => errs.push(FieldError::type_invalid(
            child(path, key),
            other.clone(),
            "must be an object",
        )),
    }
    out.sort();
    out
}

/// Reads a `[]string` member (finalizers).
fn string_list_member(
    meta: &Map<String, Value>,
    key: &str,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> Vec<String> {
    let mut out = Vec::new();
    match meta.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                match v {
                    Value::String(s) => out.push(s.clone()),
                    other => errs.push(FieldError::type_invalid(
                        format!("{}[{i}]", child(path, key)),
                        other.clone(),
                        "must be a string",
                    )),
                }
            }
        }
        Some(other) => errs.push(FieldError::type_invalid(
            child(path, key),
            other.clone(),
            "must be an array",
        )),
    }
    out
}

/// Upstream `ValidateLabels` (meta/v1/validation): every key a qualified name, every value a
/// valid label value. Errors use the map's path, not a per-key path, like upstream.
pub fn validate_labels<'a, I>(labels: I, path: &str) -> Vec<FieldError>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut errs = Vec::new();
    for (k, v) in labels {
        for msg in is_qualified_name(k) {
            errs.push(FieldError::invalid(path, k, msg));
        }
        for msg in is_valid_label_value(v) {
            errs.push(FieldError::invalid(path, v, msg));
        }
    }
    errs
}

/// Upstream `ValidateAnnotations`: keys are qualified names (checked lowercased), and the
/// total size of keys and values is at most [`TOTAL_ANNOTATION_SIZE_LIMIT_BYTES`].
pub fn validate_annotations<'a, I>(annotations: I, path: &str) -> Vec<FieldError>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut errs = Vec::new();
    let mut total: usize = 0;
    for (k, v) in annotations {
        for msg in is_qualified_name(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path, k, msg));
        }
        total = total.saturating_add(k.len()).saturating_add(v.len());
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES {
        errs.push(FieldError::too_long(
            path,
            TOTAL_ANNOTATION_SIZE_LIMIT_BYTES as i64,
        ));
    }
    errs
}

/// Upstream `ValidateAnnotationsSize` as a predicate: the total byte size of annotation keys
/// and values, and whether it is within the limit.
pub fn annotations_size(annotations: &Map<String, Value>) -> (usize, bool) {
    let total = annotations.iter().fold(0usize, |acc, (k, v)| {
        acc.saturating_add(k.len())
            .saturating_add(v.as_str().map_or(0, str::len))
    });
    (total, total <= TOTAL_ANNOTATION_SIZE_LIMIT_BYTES)
}

/// Upstream `ValidateFinalizers`: names are qualified names, and `orphan` and
/// `foregroundDeletion` are not both set.
pub fn validate_finalizers(finalizers: &[String], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for f in finalizers {
        for msg in is_qualified_name(f) {
            errs.push(FieldError::invalid(path, f.as_str(), msg));
        }
    }
    let orphan = finalizers.iter().any(|f| f == "orphan");
    let foreground = finalizers.iter().any(|f| f == "foregroundDeletion");
    if orphan && foreground {
        errs.push(FieldError::invalid(
            path,
            Value::from(finalizers.to_vec()),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

/// Splits an apiVersion into (group, version) like `schema.ParseGroupVersion`; `None` when
/// it has more than one `/`.
fn parse_group_version(api_version: &str) -> Option<(&str, &str)> {
    if api_version.is_empty() || api_version == "/" {
        return Some(("", ""));
    }
    match api_version.matches('/').count() {
        0 => Some(("", api_version)),
        1 => api_version.split_once('/'),
        _ => None,
    }
}

/// Upstream `ValidateOwnerReferences` over `metadata.ownerReferences` as JSON.
pub fn validate_owner_references(refs: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let items = match refs {
        Value::Null => return errs,
        Value::Array(items) => items,
        other => {
            errs.push(FieldError::type_invalid(
                path,
                other.clone(),
                "must be an array",
            ));
            return errs;
        }
    };
    let mut first_controller: Option<String> = None;
    for item in items {
        let Some(obj) = item.as_object() else {
            errs.push(FieldError::type_invalid(
                path,
                item.clone(),
                "must be an object",
            ));
            continue;
        };
        let mut local = Vec::new();
        let api_version = string_member(obj, "apiVersion", path, &mut local);
        let kind = string_member(obj, "kind", path, &mut local);
        let name = string_member(obj, "name", path, &mut local);
        let uid = string_member(obj, "uid", path, &mut local);
        errs.append(&mut local);
        let (group, version) = parse_group_version(&api_version).unwrap_or(("", ""));
        if version.is_empty() {
            errs.push(FieldError::invalid(
                child(path, "apiVersion"),
                api_version.as_str(),
                "version must not be empty",
            ));
        }
        if kind.is_empty() {
            errs.push(FieldError::invalid(
                child(path, "kind"),
                kind.as_str(),
                "must not be empty",
            ));
        }
        if name.is_empty() {
            errs.push(FieldError::invalid(
                child(path, "name"),
                name.as_str(),
                "must not be empty",
            ));
        }
        if uid.is_empty() {
            errs.push(FieldError::invalid(
                child(path, "uid"),
                uid.as_str(),
                "must not be empty",
            ));
        }
        if group.is_empty() && version == "v1" && kind == "Event" {
            let mut shown = Map::new();
            shown.insert("apiVersion".into(), Value::from(api_version.clone()));
            shown.insert("kind".into(), Value::from(kind.clone()));
            shown.insert("name".into(), Value::from(name.clone()));
            shown.insert("uid".into(), Value::from(uid.clone()));
            for opt in ["controller", "blockOwnerDeletion"] {
                if let Some(b) = obj.get(opt).and_then(Value::as_bool) {
                    shown.insert(opt.into(), Value::from(b));
                }
            }
            errs.push(FieldError::invalid(
                path,
                Value::Object(shown),
                format!("{group}/{version}, Kind={kind} is disallowed from being an owner"),
            ));
        }
        if obj.get("controller").and_then(Value::as_bool) == Some(true) {
            let current = format!("{kind}/{name}");
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    refs.clone(),
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    ),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

/// Upstream `ValidateManagedFields` over `metadata.managedFields` as JSON.
pub fn validate_managed_fields(entries: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let items = match entries {
        Value::Null => return errs,
        Value::Array(items) => items,
        other => {
            errs.push(FieldError::type_invalid(
                path,
                other.clone(),
                "must be an array",
            ));
            return errs;
        }
    };
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Some(obj) = item.as_object() else {
            errs.push(FieldError::type_invalid(
                p,
                item.clone(),
                "must be an object",
            ));
            continue;
        };
        let operation = string_member(obj, "operation", &p, &mut errs);
        if operation != "Apply" && operation != "Update" {
            errs.push(FieldError::invalid(
                child(&p, "operation"),
                operation.as_str(),
                "must be `Apply` or `Update`",
            ));
        }
        let fields_type = string_member(obj, "fieldsType", &p, &mut errs);
        if !fields_type.is_empty() && fields_type != "FieldsV1" {
            errs.push(FieldError::invalid(
                child(&p, "fieldsType"),
                fields_type.as_str(),
                "must be `FieldsV1`",
            ));
        }
        let manager = string_member(obj, "manager", &p, &mut errs);
        if manager.len() > FIELD_MANAGER_MAX_LENGTH {
            errs.push(FieldError::too_long(
                child(&p, "manager"),
                FIELD_MANAGER_MAX_LENGTH as i64,
            ));
        }
        for (pos, c) in manager.char_indices() {
            if !go_is_print(c) {
                errs.push(FieldError::invalid(
                    child(&p, "manager"),
                    manager.as_str(),
                    format!("invalid character U+{:04X} (at position {pos})", c as u32),
                ));
            }
        }
        let subresource = string_member(obj, "subresource", &p, &mut errs);
        if subresource.len() > MAX_SUBRESOURCE_NAME_LENGTH {
            errs.push(FieldError::too_long(
                child(&p, "subresource"),
                MAX_SUBRESOURCE_NAME_LENGTH as i64,
            ));
        }
    }
    errs
}

/// Upstream `ValidateNonnegativeField`.
pub fn validate_nonnegative_field(value: i64, path: &str) -> Vec<FieldError> {
    if value < 0 {
        vec![FieldError::invalid(path, value, IS_NEGATIVE_ERROR_MSG)]
    } else {
        Vec::new()
    }
}

fn as_object<'a>(
    meta: &'a Value,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> Option<&'a Map<String, Value>> {
    match meta {
        Value::Object(m) => Some(m),
        Value::Null => None,
        other => {
            errs.push(FieldError::type_invalid(
                path,
                other.clone(),
                "must be an object",
            ));
            None
        }
    }
}

fn validate_object_meta_common(
    meta: &Map<String, Value>,
    namespaced: bool,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let namespace = string_member(meta, "namespace", path, errs);
    if namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required(child(path, "namespace"), ""));
        } else {
            for msg in validate_namespace_name(&namespace, false) {
                errs.push(FieldError::invalid(
                    child(path, "namespace"),
                    namespace.as_str(),
                    msg,
                ));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            child(path, "namespace"),
            "not allowed on this type",
        ));
    }

    match meta.get("generation") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) => match n.as_i64() {
            Some(g) => errs.extend(validate_nonnegative_field(g, &child(path, "generation"))),
            None => errs.push(FieldError::type_invalid(
                child(path, "generation"),
                Value::Number(n.clone()),
                "must be an integer",
            )),
        },
        Some(other) => errs.push(FieldError::type_invalid(
            child(path, "generation"),
            other.clone(),
            "must be an integer",
        )),
    }

    let labels = string_map_member(meta, "labels", path, errs);
    errs.extend(validate_labels(
        labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &child(path, "labels"),
    ));
    let annotations = string_map_member(meta, "annotations", path, errs);
    errs.extend(validate_annotations(
        annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &child(path, "annotations"),
    ));
    errs.extend(validate_owner_references(
        meta.get("ownerReferences").unwrap_or(&Value::Null),
        &child(path, "ownerReferences"),
    ));
    let finalizers = string_list_member(meta, "finalizers", path, errs);
    errs.extend(validate_finalizers(&finalizers, &child(path, "finalizers")));
    errs.extend(validate_managed_fields(
        meta.get("managedFields").unwrap_or(&Value::Null),
        &child(path, "managedFields"),
    ));
}

/// Upstream `ValidateObjectMeta` for an object's `metadata` (as JSON) on create, at path
/// `metadata`. Name generation is expected to have happened already (see
/// [`generate_name`]): a non-empty `generateName` is checked with `name_fn(generateName,
/// true)`, the name with `name_fn(name, false)`.
///
/// `namespaced` selects the namespace rule (required and a DNS label, or forbidden). Labels,
/// annotations, owner references, finalizers, generation and managed fields are checked too.
/// Members of the wrong JSON type are reported as `FieldValueTypeInvalid`.
pub fn validate_object_meta<F>(meta: &Value, namespaced: bool, name_fn: F) -> Vec<FieldError>
where
    F: Fn(&str, bool) -> Vec<String>,
{
    validate_object_meta_at(meta, namespaced, name_fn, "metadata")
}

/// [`validate_object_meta`] with an explicit field path for the metadata (e.g.
/// `spec.template.metadata`).
pub fn validate_object_meta_at<F>(
    meta: &Value,
    namespaced: bool,
    name_fn: F,
    path: &str,
) -> Vec<FieldError>
where
    F: Fn(&str, bool) -> Vec<String>,
{
    let mut errs = Vec::new();
    let empty = Map::new();
    let obj = as_object(meta, path, &mut errs).unwrap_or(&empty);

    let generate_name = string_member(obj, "generateName", path, &mut errs);
    if !generate_name.is_empty() {
        for msg in name_fn(&generate_name, true) {
            errs.push(FieldError::invalid(
                child(path, "generateName"),
                generate_name.as_str(),
                msg,
            ));
        }
    }
    let name = string_member(obj, "name", path, &mut errs);
    if name.is_empty() {
        errs.push(FieldError::required(
            child(path, "name"),
            "name or generateName is required",
        ));
    } else {
        for msg in name_fn(&name, false) {
            errs.push(FieldError::invalid(child(path, "name"), name.as_str(), msg));
        }
    }
    validate_object_meta_common(obj, namespaced, path, &mut errs);
    errs
}

/// Treats an absent member as its Go zero value for immutability comparisons.
fn member_or_null<'a>(meta: &'a Map<String, Value>, key: &str) -> &'a Value {
    match meta.get(key) {
        Some(v) => v,
        None => &Value::Null,
    }
}

fn immutable_check(
    new: &Map<String, Value>,
    old: &Map<String, Value>,
    key: &str,
    string_typed: bool,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let norm = |v: &Value| -> Value {
        if string_typed && v.is_null() {
            Value::from("")
        } else {
            v.clone()
        }
    };
    let n = norm(member_or_null(new, key));
    let o = norm(member_or_null(old, key));
    if n != o {
        errs.push(FieldError::invalid(
            child(path, key),
            n,
            FIELD_IMMUTABLE_ERROR_MSG,
        ));
    }
}

/// Upstream `ValidateObjectMetaUpdate` for `metadata` (as JSON) at path `metadata`: a
/// resourceVersion is required, generation may not decrease, name / namespace / uid /
/// creationTimestamp / deletionTimestamp / deletionGracePeriodSeconds are immutable, no
/// finalizer may be added once deletion started, and labels, annotations, owner references
/// and managed fields are validated.
pub fn validate_object_meta_update(new_meta: &Value, old_meta: &Value) -> Vec<FieldError> {
    validate_object_meta_update_at(new_meta, old_meta, "metadata")
}

/// [`validate_object_meta_update`] with an explicit field path.
pub fn validate_object_meta_update_at(
    new_meta: &Value,
    old_meta: &Value,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let empty = Map::new();
    let new = as_object(new_meta, path, &mut errs).unwrap_or(&empty);
    let mut ignored = Vec::new();
    let old = as_object(old_meta, path, &mut ignored).unwrap_or(&empty);

    if !member_or_null(old, "deletionTimestamp").is_null() {
        let new_f = string_list_member(new, "finalizers", path, &mut errs);
        let old_f: BTreeSet<String> = string_list_member(old, "finalizers", path, &mut ignored)
            .into_iter()
            .collect();
        let extra: BTreeSet<&String> = new_f.iter().filter(|f| !old_f.contains(*f)).collect();
        if !extra.is_empty() {
            let shown: Vec<String> = extra.iter().map(|f| go_quote(f)).collect();
            errs.push(FieldError::forbidden(
                child(path, "finalizers"),
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    shown.join(", ")
                ),
            ));
        }
    }

    let rv = string_member(new, "resourceVersion", path, &mut errs);
    if rv.is_empty() {
        errs.push(FieldError::invalid(
            child(path, "resourceVersion"),
            rv.as_str(),
            "must be specified for an update",
        ));
    }

    let generation =
        |m: &Map<String, Value>| m.get("generation").and_then(Value::as_i64).unwrap_or(0);
    let (new_gen, old_gen) = (generation(new), generation(old));
    if new_gen < old_gen {
        errs.push(FieldError::invalid(
            child(path, "generation"),
            new_gen,
            "must not be decremented",
        ));
    }

    immutable_check(new, old, "name", true, path, &mut errs);
    immutable_check(new, old, "namespace", true, path, &mut errs);
    immutable_check(new, old, "uid", true, path, &mut errs);
    immutable_check(new, old, "creationTimestamp", false, path, &mut errs);
    immutable_check(new, old, "deletionTimestamp", false, path, &mut errs);
    immutable_check(
        new,
        old,
        "deletionGracePeriodSeconds",
        false,
        path,
        &mut errs,
    );

    let labels = string_map_member(new, "labels", path, &mut errs);
    errs.extend(validate_labels(
        labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &child(path, "labels"),
    ));
    let annotations = string_map_member(new, "annotations", path, &mut errs);
    errs.extend(validate_annotations(
        annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &child(path, "annotations"),
    ));
    errs.extend(validate_owner_references(
        new.get("ownerReferences").unwrap_or(&Value::Null),
        &child(path, "ownerReferences"),
    ));
    errs.extend(validate_managed_fields(
        new.get("managedFields").unwrap_or(&Value::Null),
        &child(path, "managedFields"),
    ));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    // Upstream validation_test.go TestIsDNS1123Label.
    #[test]
    fn dns1123_label_table() {
        let good = [
            "a",
            "ab",
            "abc",
            "a1",
            "a-1",
            "a--1--2--b",
            "0",
            "01",
            "012",
            "1a",
            "1-a",
            "1--a--b--2",
        ];
        for v in good {
            assert!(is_dns1123_label(v).is_empty(), "{v}");
        }
        let long63 = "a".repeat(63);
        assert!(is_dns1123_label(&long63).is_empty());
        let bad = [
            "", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_",
            "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2", " ", "a ",
            " a", "a b", "1 ", " 1", "1 2",
        ];
        for v in bad {
            assert!(!is_dns1123_label(v).is_empty(), "{v:?}");
        }
        assert_eq!(is_dns1123_label(&"a".repeat(64)), vec![max_len_error(63)]);
        assert_eq!(is_dns1123_label("Foo"), vec![LABEL_MSG.to_string()]);
        assert_eq!(
            is_dns1123_label("a.b"),
            vec!["must not contain dots".to_string()]
        );
    }

    // Upstream validation_test.go TestIsDNS1123Subdomain.
    #[test]
    fn dns1123_subdomain_table() {
        let good = [
            "a",
            "ab",
            "abc",
            "a1",
            "a-1",
            "a--1--2--b",
            "0",
            "01",
            "012",
            "1a",
            "1-a",
            "1--a--b--2",
            "a.a",
            "ab.a",
            "abc.a",
            "a1.a",
            "a-1.a",
            "a--1--2--b.a",
            "a.1",
            "ab.1",
            "abc.1",
            "a1.1",
            "a-1.1",
            "a--1--2--b.1",
            "0.a",
            "01.a",
            "012.a",
            "1a.a",
            "1-a.a",
            "1--a--b--2",
            "0.1",
            "01.1",
            "012.1",
            "1a.1",
            "1-a.1",
            "1--a--b--2.1",
            "a.b.c.d.e",
            "aa.bb.cc.dd.ee",
            "1.2.3.4.5",
            "11.22.33.44.55",
        ];
        for v in good {
            assert!(is_dns1123_subdomain(v).is_empty(), "{v}");
        }
        assert!(is_dns1123_subdomain(&"a".repeat(253)).is_empty());
        let bad = [
            "",
            "A",
            "ABC",
            "aBc",
            "A1",
            "A-1",
            "1-A",
            "-",
            "a-",
            "-a",
            "1-",
            "-1",
            "_",
            "a_",
            "_a",
            "a_b",
            "1_",
            "_1",
            "1_2",
            ".",
            "a.",
            ".a",
            "a..b",
            "1.",
            ".1",
            "1..2",
            " ",
            "a ",
            " a",
            "a b",
            "1 ",
            " 1",
            "1 2",
            "A.a",
            "aB.a",
            "ab.A",
            "A1.a",
            "a1.A",
            "A.1",
            "aB.1",
            "A1.1",
            "1A.1",
            "0.A",
            "01.A",
            "012.A",
            "1A.a",
            "1a.A",
            "A.B.C.D.E",
            "AA.BB.CC.DD.EE",
            "a.B.c.d.e",
            "aa.bB.cc.dd.ee",
            "a@b",
            "a,b",
            "a_b",
            "a;b",
            "a:b",
            "a%b",
            "a?b",
            "a$b",
        ];
        for v in bad {
            assert!(!is_dns1123_subdomain(v).is_empty(), "{v:?}");
        }
        assert_eq!(
            is_dns1123_subdomain(&"a".repeat(254)),
            vec![max_len_error(253)]
        );
        assert_eq!(is_dns1123_subdomain("Foo"), vec![SUBDOMAIN_MSG.to_string()]);
    }

    #[test]
    fn dns1035_label_table() {
        for v in ["a", "ab", "abc", "a1", "a-1", "a--1--2--b"] {
            assert!(is_dns1035_label(v).is_empty(), "{v}");
        }
        assert!(is_dns1035_label(&"a".repeat(63)).is_empty());
        for v in [
            "0", "01", "012", "1a", "1-a", "", "A", "-", "a-", "a.b", "a_b",
        ] {
            assert!(!is_dns1035_label(v).is_empty(), "{v:?}");
        }
        assert_eq!(
            is_dns1035_label("1a"),
            vec!["a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_string()]
        );
    }

    // Upstream validation_test.go TestIsQualifiedName.
    #[test]
    fn qualified_name_table() {
        let good = [
            "simple",
            "now-with-dashes",
            "1-starts-with-num",
            "1234",
            "simple/simple",
            "now-with-dashes/simple",
            "now-with-dashes/now-with-dashes",
            "now.with.dots/simple",
            "now-with.dashes-and.dots/simple",
            "1-num.2-num/3-num",
            "1234/5678",
            "1.2.3.4/5678",
            "Uppercase_Is_OK_123",
            "example.com/Uppercase_Is_OK_123",
            "requests.storage-foo",
        ];
        for v in good {
            assert!(is_qualified_name(v).is_empty(), "{v}");
        }
        assert!(is_qualified_name(&"a".repeat(63)).is_empty());
        assert!(is_qualified_name(&format!("{}/{}", "a".repeat(253), "b".repeat(63))).is_empty());
        let bad = [
            "nospecialchars%^=@",
            "cantendwithadash-",
            "-cantstartwithadash-",
            "only/one/slash",
            "Example.com/abc",
            "example_com/abc",
            "example.com/",
            "/simple",
        ];
        for v in bad {
            assert!(!is_qualified_name(v).is_empty(), "{v:?}");
        }
        assert!(!is_qualified_name(&"a".repeat(64)).is_empty());
        assert!(!is_qualified_name(&format!("{}/b", "a".repeat(254))).is_empty());
        assert_eq!(is_qualified_name("a b"), vec![NAME_PART_MSG.to_string()]);
        assert_eq!(
            is_qualified_name("example.com/"),
            vec![
                "name part must be non-empty".to_string(),
                NAME_PART_MSG.to_string()
            ]
        );
        assert_eq!(
            is_qualified_name("/simple"),
            vec!["prefix part must be non-empty".to_string()]
        );
        assert_eq!(
            is_qualified_name("Example.com/abc"),
            vec![format!("prefix part {SUBDOMAIN_MSG}")]
        );
        assert_eq!(
            is_qualified_name("only/one/slash"),
            vec!["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_string()]
        );
        assert_eq!(
            is_qualified_name(&"a".repeat(64)),
            vec!["name part must be no more than 63 characters".to_string()]
        );
    }

    // Upstream validation_test.go TestIsValidLabelValue.
    #[test]
    fn label_value_table() {
        let good = [
            "simple",
            "now-with-dashes",
            "1-starts-with-num",
            "end-with-num-1",
            "1234",
            "",
            "A.B.C",
            "Uppercase_Is_OK_123",
        ];
        for v in good {
            assert!(is_valid_label_value(v).is_empty(), "{v}");
        }
        assert!(is_valid_label_value(&"a".repeat(63)).is_empty());
        for v in [
            "nospecialchars%^=@",
            "Tama-nui-te-rā.is.Māori.sun",
            "\\backslashes\\are\\bad",
            "-starts-with-dash",
            "ends-with-dash-",
            ".starts.with.dot",
            "ends.with.dot.",
        ] {
            assert!(!is_valid_label_value(v).is_empty(), "{v:?}");
        }
        assert_eq!(
            is_valid_label_value("-x"),
            vec![LABEL_VALUE_MSG.to_string()]
        );
        assert_eq!(
            is_valid_label_value(&"a".repeat(64)),
            vec![max_len_error(63)]
        );
    }

    #[test]
    fn misc_validators() {
        assert!(is_c_identifier("my_name").is_empty());
        assert!(!is_c_identifier("1a").is_empty());
        assert!(!is_c_identifier("").is_empty());
        assert!(is_config_map_key("key.name").is_empty());
        assert_eq!(
            is_config_map_key(".."),
            vec!["must not be '..'".to_string()]
        );
        assert_eq!(
            is_config_map_key("..a"),
            vec!["must not start with '..'".to_string()]
        );
        assert_eq!(is_config_map_key("a b").len(), 1);
        assert_eq!(is_config_map_key("").len(), 1);
    }

    #[test]
    fn mask_trailing_dash_mirrors_upstream() {
        assert_eq!(mask_trailing_dash("abc-"), "aba");
        assert_eq!(mask_trailing_dash("a-"), "a");
        assert_eq!(mask_trailing_dash("-"), "a");
        assert_eq!(mask_trailing_dash("abc"), "abc");
        assert!(name_is_dns_subdomain("foo-", true).is_empty());
        assert!(!name_is_dns_subdomain("foo-", false).is_empty());
        assert!(name_is_dns_label("pod-", true).is_empty());
        assert!(name_is_dns1035_label("svc-", true).is_empty());
    }

    #[test]
    fn generate_name_cuts_and_appends() {
        let mut n = 0;
        let name = generate_name("web-", |len| {
            n += 1;
            (n * 7) % len
        });
        assert_eq!(name.len(), 9);
        assert!(name.starts_with("web-"));
        assert!(name[4..]
            .chars()
            .all(|c| GENERATED_NAME_ALPHABET.contains(c)));
        let long = "a".repeat(80);
        assert_eq!(
            generate_name(&long, |_| 0),
            format!("{}bbbbb", "a".repeat(58))
        );
        // Out-of-range picks are wrapped, never panic.
        assert_eq!(generate_name("x", |_| usize::MAX).len(), 6);
        // Multi-byte characters are never split.
        let multi = format!("{}é", "a".repeat(57));
        assert_eq!(
            generate_name(&multi, |_| 0),
            format!("{}bbbbb", "a".repeat(57))
        );
    }

    #[test]
    fn go_quote_matches_strconv() {
        assert_eq!(go_quote("Foo"), "\"Foo\"");
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(go_quote("a\nb\tc"), "\"a\\nb\\tc\"");
        assert_eq!(go_quote("\u{1}"), "\"\\x01\"");
        assert_eq!(go_quote("\u{7f}"), "\"\\x7f\"");
        assert_eq!(go_quote("rā"), "\"rā\"");
        assert_eq!(go_quote("\u{a0}"), "\"\\u00a0\"");
        assert_eq!(go_quote("\u{feff}"), "\"\\ufeff\"");
        assert_eq!(go_quote("日本"), "\"日本\"");
    }

    #[test]
    fn go_float_formatting() {
        assert_eq!(go_format_float(1.5), "1.5");
        assert_eq!(go_format_float(100000.0), "100000");
        assert_eq!(go_format_float(1e20), "1e+20");
        assert_eq!(go_format_float(1234567.0), "1.234567e+06");
        assert_eq!(go_format_float(123456.5), "123456.5");
        assert_eq!(go_format_float(1e21), "1e+21");
        assert_eq!(go_format_float(0.0001), "0.0001");
        assert_eq!(go_format_float(0.00001), "1e-05");
        assert_eq!(go_format_float(-2.5e-7), "-2.5e-07");
        assert_eq!(go_format_float(0.0), "0");
    }

    #[test]
    fn field_error_rendering() {
        let e = FieldError::invalid(
            "metadata.name",
            "Foo",
            is_dns1123_subdomain("Foo").join(", "),
        );
        assert_eq!(
            e.to_string(),
            format!("metadata.name: Invalid value: \"Foo\": {SUBDOMAIN_MSG}")
        );
        assert_eq!(e.reason(), "FieldValueInvalid");
        assert_eq!(
            e.error_body(),
            format!("Invalid value: \"Foo\": {SUBDOMAIN_MSG}")
        );

        let r = FieldError::required("metadata.name", "name or generateName is required");
        assert_eq!(
            r.to_string(),
            "metadata.name: Required value: name or generateName is required"
        );
        assert_eq!(r.reason(), "FieldValueRequired");
        assert_eq!(
            FieldError::required("metadata.namespace", "").to_string(),
            "metadata.namespace: Required value"
        );

        let f = FieldError::forbidden("metadata.namespace", "not allowed on this type");
        assert_eq!(
            f.to_string(),
            "metadata.namespace: Forbidden: not allowed on this type"
        );
        assert_eq!(f.reason(), "FieldValueForbidden");

        let d = FieldError::duplicate("spec.ports[1].port", 80);
        assert_eq!(d.to_string(), "spec.ports[1].port: Duplicate value: 80");
        assert_eq!(d.reason(), "FieldValueDuplicate");

        let ns = FieldError::not_supported(
            "spec.restartPolicy",
            "Sometimes",
            &["Always", "Never", "OnFailure"],
        );
        assert_eq!(
            ns.to_string(),
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\", \"OnFailure\""
        );
        assert_eq!(ns.reason(), "FieldValueNotSupported");

        let tl = FieldError::too_long("metadata.annotations", 262144);
        assert_eq!(
            tl.to_string(),
            "metadata.annotations: Too long: may not be more than 262144 bytes"
        );
        assert_eq!(tl.reason(), "FieldValueTooLong");
        assert_eq!(
            FieldError::too_long("x", 1).detail,
            "may not be more than 1 byte"
        );
        assert_eq!(FieldError::too_long("x", -1).detail, "value is too long");

        let tm = FieldError::too_many("spec.items", Some(5), 3);
        assert_eq!(
            tm.to_string(),
            "spec.items: Too many: 5: must have at most 3 items"
        );
        assert_eq!(tm.reason(), "FieldValueTooMany");
        assert_eq!(
            FieldError::too_many("x", None, 1).to_string(),
            "x: Too many: must have at most 1 item"
        );

        let arr = FieldError::invalid("x", json!(["a", "<b>"]), "bad");
        assert_eq!(
            arr.to_string(),
            "x: Invalid value: [\"a\",\"\\u003cb\\u003e\"]: bad"
        );
        let null = FieldError::invalid(
            "metadata.deletionTimestamp",
            Value::Null,
            FIELD_IMMUTABLE_ERROR_MSG,
        );
        assert_eq!(
            null.to_string(),
            "metadata.deletionTimestamp: Invalid value: null: field is immutable"
        );
        let b = FieldError::invalid("x", true, "");
        assert_eq!(b.to_string(), "x: Invalid value: true");
        let omitted = FieldError::new(FieldErrorType::Invalid, "x", None, "d");
        assert_eq!(omitted.to_string(), "x: Invalid value: d");
        assert_eq!(
            FieldError::internal("x", "boom").to_string(),
            "x: Internal error: boom"
        );
        assert_eq!(
            FieldError::not_found("x", "y").to_string(),
            "x: Not found: \"y\""
        );
        assert_eq!(
            FieldError::type_invalid("x", 1, "must be a string").reason(),
            "FieldValueTypeInvalid"
        );
    }

    #[test]
    fn aggregate_and_invalid_message() {
        assert_eq!(aggregate_messages(Vec::<String>::new()), "");
        assert_eq!(aggregate_messages(["a"]), "a");
        assert_eq!(aggregate_messages(["a", "b", "a"]), "[a, b]");
        assert_eq!(aggregate_messages(["a", "a"]), "a");

        let one = vec![FieldError::invalid("metadata.name", "Foo", SUBDOMAIN_MSG)];
        assert_eq!(
            invalid_message("ConfigMap", "", "Foo", &one),
            format!("ConfigMap \"Foo\" is invalid: metadata.name: Invalid value: \"Foo\": {SUBDOMAIN_MSG}")
        );
        let two = vec![
            FieldError::required("metadata.name", "name or generateName is required"),
            FieldError::forbidden("metadata.namespace", "not allowed on this type"),
        ];
        assert_eq!(
            invalid_message("Deployment", "apps", "", &two),
            "Deployment.apps \"\" is invalid: [metadata.name: Required value: name or generateName is required, metadata.namespace: Forbidden: not allowed on this type]"
        );
        assert_eq!(invalid_message("Pod", "", "x", &[]), "Pod \"x\" is invalid");

        let status = invalid_status("Deployment", "apps", "web", &two);
        assert_eq!(status["code"], 422);
        assert_eq!(status["reason"], "Invalid");
        assert_eq!(status["details"]["group"], "apps");
        assert_eq!(status["details"]["kind"], "Deployment");
        assert_eq!(status["details"]["name"], "web");
        assert_eq!(
            status["details"]["causes"][0],
            json!({"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"})
        );
        let keys: Vec<&String> = status
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "kind",
                "apiVersion",
                "metadata",
                "status",
                "message",
                "reason",
                "details",
                "code"
            ]
        );
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn object_meta_name_and_generate_name() {
        // Valid, namespaced.
        let ok = json!({"name": "web", "namespace": "default", "labels": {"app": "web"}});
        assert!(validate_object_meta(&ok, true, name_is_dns_subdomain).is_empty());

        // Missing name.
        let errs = validate_object_meta(
            &json!({"namespace": "default"}),
            true,
            name_is_dns_subdomain,
        );
        assert_eq!(
            msgs(&errs),
            ["metadata.name: Required value: name or generateName is required"]
        );

        // Invalid name.
        let errs = validate_object_meta(&json!({"name": "Foo"}), false, name_is_dns_subdomain);
        assert_eq!(
            msgs(&errs),
            [format!(
                "metadata.name: Invalid value: \"Foo\": {SUBDOMAIN_MSG}"
            )]
        );

        // generateName with trailing dash is fine; an invalid one is reported on both fields.
        let errs = validate_object_meta(
            &json!({"generateName": "web-", "name": "web-abcde"}),
            false,
            name_is_dns_subdomain,
        );
        assert!(errs.is_empty(), "{errs:?}");
        let errs = validate_object_meta(
            &json!({"generateName": "Web-", "name": "Web-abcde"}),
            false,
            name_is_dns_subdomain,
        );
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].field, "metadata.generateName");
        assert_eq!(errs[1].field, "metadata.name");

        // Custom name function (upstream TestValidateObjectMetaCustomName).
        let f = |s: &str, _prefix: bool| {
            if s == "test" {
                Vec::new()
            } else {
                vec!["wrong value".to_string()]
            }
        };
        assert!(
            validate_object_meta(&json!({"name": "test", "generateName": "test"}), false, f)
                .is_empty()
        );
        assert_eq!(
            validate_object_meta(&json!({"name": "invalid"}), false, f).len(),
            1
        );
        assert_eq!(
            validate_object_meta(
                &json!({"name": "invalid", "generateName": "test"}),
                false,
                f
            )
            .len(),
            1
        );
        assert_eq!(
            validate_object_meta(
                &json!({"name": "invalid", "generateName": "invalid"}),
                false,
                f
            )
            .len(),
            2
        );
    }

    #[test]
    fn object_meta_namespace_rules() {
        let errs = validate_object_meta(&json!({"name": "a"}), true, name_is_dns_subdomain);
        assert_eq!(msgs(&errs), ["metadata.namespace: Required value"]);
        let errs = validate_object_meta(
            &json!({"name": "a", "namespace": "x"}),
            false,
            name_is_dns_subdomain,
        );
        assert_eq!(
            msgs(&errs),
            ["metadata.namespace: Forbidden: not allowed on this type"]
        );
        // Upstream TestValidateObjectMetaNamespaces.
        let errs = validate_object_meta(
            &json!({"name": "a", "namespace": "foo.bar"}),
            true,
            name_is_dns_subdomain,
        );
        assert_eq!(
            msgs(&errs),
            ["metadata.namespace: Invalid value: \"foo.bar\": must not contain dots"]
        );
        let long = "A".repeat(64);
        let errs = validate_object_meta(
            &json!({"name": "a", "namespace": long}),
            true,
            name_is_dns_subdomain,
        );
        assert_eq!(errs.len(), 2);
        assert!(errs.iter().all(|e| e.error_type == FieldErrorType::Invalid));
    }

    #[test]
    fn object_meta_labels_annotations_generation() {
        let meta = json!({
            "name": "a",
            "labels": {"a b": "ok", "k": "-bad"},
            "annotations": {"Example.COM/Key": "x", "bad key": "y"},
            "generation": -1
        });
        let errs = validate_object_meta(&meta, false, name_is_dns_subdomain);
        assert_eq!(
            msgs(&errs),
            [
                "metadata.generation: Invalid value: -1: must be greater than or equal to 0"
                    .to_string(),
                format!("metadata.labels: Invalid value: \"a b\": {NAME_PART_MSG}"),
                format!("metadata.labels: Invalid value: \"-bad\": {LABEL_VALUE_MSG}"),
                format!("metadata.annotations: Invalid value: \"bad key\": {NAME_PART_MSG}"),
            ]
        );

        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES);
        let meta = json!({"name": "a", "annotations": {"k": big}});
        let errs = validate_object_meta(&meta, false, name_is_dns_subdomain);
        assert_eq!(
            msgs(&errs),
            ["metadata.annotations: Too long: may not be more than 262144 bytes"]
        );
        let exact = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES - 1);
        assert!(validate_object_meta(
            &json!({"name": "a", "annotations": {"k": exact}}),
            false,
            name_is_dns_subdomain
        )
        .is_empty());
        let m = json!({"k": "vv"});
        assert_eq!(
            annotations_size(m.as_object().unwrap_or(&Map::new())),
            (3, true)
        );
    }

    #[test]
    fn object_meta_owner_references_finalizers_managed_fields() {
        let meta = json!({
            "name": "a",
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "1"},
                {"apiVersion": "foo/", "kind": "", "name": "", "uid": ""}
            ]
        });
        let errs = validate_object_meta(&meta, false, name_is_dns_subdomain);
        assert_eq!(
            msgs(&errs),
            [
                "metadata.ownerReferences: Invalid value: {\"apiVersion\":\"v1\",\"kind\":\"Event\",\"name\":\"e\",\"uid\":\"1\"}: /v1, Kind=Event is disallowed from being an owner",
                "metadata.ownerReferences.apiVersion: Invalid value: \"foo/\": version must not be empty",
                "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty",
                "metadata.ownerReferences.name: Invalid value: \"\": must not be empty",
                "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty",
            ]
        );

        let meta = json!({
            "name": "a",
            "ownerReferences": [
                {"apiVersion": "v", "kind": "K1", "name": "n", "uid": "1", "controller": false},
                {"apiVersion": "v", "kind": "K2", "name": "n", "uid": "2", "controller": true},
                {"apiVersion": "v", "kind": "K3", "name": "n", "uid": "3", "controller": true}
            ]
        });
        let errs = validate_object_meta(&meta, false, name_is_dns_subdomain);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].detail.contains("Only one reference can have Controller set to true. Found \"true\" in references for K2/n and K3/n"));

        let meta = json!({"name": "a", "finalizers": ["orphan", "foregroundDeletion", "a/b/c"]});
        let errs = validate_object_meta(&meta, false, name_is_dns_subdomain);
        assert_eq!(errs.len(), 2);
        assert_eq!(
            errs[1].to_string(),
            "metadata.finalizers: Invalid value: [\"orphan\",\"foregroundDeletion\",\"a/b/c\"]: finalizer orphan and foregroundDeletion cannot be both set"
        );

        let meta = json!({"name": "a", "managedFields": [{"manager": "m", "operation": "Patch", "fieldsType": "FieldsV2"}]});
        let errs = validate_object_meta(&meta, false, name_is_dns_subdomain);
        assert_eq!(
            msgs(&errs),
            [
                "metadata.managedFields[0].operation: Invalid value: \"Patch\": must be `Apply` or `Update`",
                "metadata.managedFields[0].fieldsType: Invalid value: \"FieldsV2\": must be `FieldsV1`",
            ]
        );
    }

    #[test]
    fn object_meta_wrong_types_do_not_panic() {
        for meta in [
            json!(5),
            json!({"name": 3}),
            json!({"name": "a", "labels": []}),
            json!({"name": "a", "labels": {"a": 1}}),
            json!({"name": "a", "finalizers": "x"}),
            json!({"name": "a", "ownerReferences": {}}),
            json!({"name": "a", "generation": "1"}),
        ] {
            let errs = validate_object_meta(&meta, false, name_is_dns_subdomain);
            assert!(!errs.is_empty(), "{meta}");
        }
        assert_eq!(
            msgs(&validate_object_meta(
                &Value::Null,
                false,
                name_is_dns_subdomain
            )),
            ["metadata.name: Required value: name or generateName is required"]
        );
    }

    #[test]
    fn object_meta_update_rules() {
        let old = json!({"name": "a", "namespace": "ns", "uid": "u1", "resourceVersion": "5", "generation": 3});
        let new = json!({"name": "a", "namespace": "ns", "uid": "u1", "resourceVersion": "5", "generation": 3});
        assert!(validate_object_meta_update(&new, &old).is_empty());

        let new = json!({"name": "b", "namespace": "ns", "uid": "u1", "generation": 2});
        assert_eq!(
            msgs(&validate_object_meta_update(&new, &old)),
            [
                "metadata.resourceVersion: Invalid value: \"\": must be specified for an update",
                "metadata.generation: Invalid value: 2: must not be decremented",
                "metadata.name: Invalid value: \"b\": field is immutable",
            ]
        );

        // Upstream TestValidateObjectMetaUpdatePreventsDeletionFieldMutation.
        let old = json!({"name": "t", "resourceVersion": "1"});
        let new = json!({"name": "t", "resourceVersion": "1", "deletionTimestamp": "1970-01-01T00:16:40Z"});
        assert_eq!(
            msgs(&validate_object_meta_update(&new, &old)),
            ["metadata.deletionTimestamp: Invalid value: \"1970-01-01T00:16:40Z\": field is immutable"]
        );
        assert_eq!(
            msgs(&validate_object_meta_update(&old, &new)),
            ["metadata.deletionTimestamp: Invalid value: null: field is immutable"]
        );

        // Upstream TestValidateFinalizersUpdate.
        let old = json!({"name": "t", "resourceVersion": "1", "deletionTimestamp": "x", "finalizers": ["x/a"]});
        let new = json!({"name": "t", "resourceVersion": "1", "deletionTimestamp": "x", "finalizers": ["x/a", "y/b"]});
        assert_eq!(
            msgs(&validate_object_meta_update(&new, &old)),
            ["metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"y/b\"}"]
        );
        let new = json!({"name": "t", "resourceVersion": "1", "deletionTimestamp": "x", "finalizers": []});
        assert!(validate_object_meta_update(&new, &old).is_empty());
    }
}
