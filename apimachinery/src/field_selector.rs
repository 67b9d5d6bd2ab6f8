//! Field selectors, mirroring upstream's `k8s.io/apimachinery/pkg/fields` parser.
//!
//! A selector is a comma-separated list of `field=value`, `field==value` or `field!=value`
//! terms, ANDed together. In values, `\`, `,` and `=` must be escaped with a backslash
//! (see [`escape_value`]); field names are taken literally up to the first operator. A
//! missing field compares as the empty string, as upstream does.
//!
//! The server decides which field names a resource supports: [`FieldSelector::requirements`]
//! exposes the terms, and [`FieldSelector::check_supported`] produces upstream's
//! `field label not supported: <field>` error for the rest.
//!
//! ```
//! use rkube_apimachinery::field_selector::FieldSelector;
//!
//! let sel = FieldSelector::parse("metadata.name=web,status.phase!=Failed").unwrap();
//! assert!(sel.matches(|f| match f {
//!     "metadata.name" => Some("web".to_string()),
//!     "status.phase" => Some("Running".to_string()),
//!     _ => None,
//! }));
//! assert!(sel.check_supported(&["metadata.name"]).is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::validation::go_quote;

/// A field requirement's operator. `==` parses as [`FieldOperator::Equals`], as upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `field=value` or `field==value`.
    Equals,
    /// `field!=value`.
    NotEquals,
}

impl FieldOperator {
    /// The operator as written in a selector (`=` or `!=`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        }
    }
}

impl fmt::Display for FieldOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One term of a field selector, with the value unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    /// The field name, e.g. `metadata.name`.
    pub field: String,
    /// The comparison.
    pub operator: FieldOperator,
    /// The (unescaped) value compared against.
    pub value: String,
}

impl FieldRequirement {
    /// Whether a field value satisfies this term (a missing field is `""`).
    pub fn matches(&self, actual: Option<&str>) -> bool {
        let actual = actual.unwrap_or("");
        match self.operator {
            FieldOperator::Equals => actual == self.value,
            FieldOperator::NotEquals => actual != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.field,
            self.operator,
            escape_value(&self.value)
        )
    }
}

/// An error parsing or checking a field selector. `Display` is upstream's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldSelectorError {
    message: String,
}

impl FieldSelectorError {
    /// An error with the given message.
    pub fn new(message: impl Into<String>) -> Self {
        FieldSelectorError {
            message: message.into(),
        }
    }

    /// Upstream's error message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Upstream's error for a field a built-in resource does not support:
/// `field label not supported: <field>`.
pub fn unsupported_field_label_error(field: &str) -> FieldSelectorError {
    FieldSelectorError::new(format!("field label not supported: {field}"))
}

/// Upstream's error for a field of a resource that only supports the metadata fields
/// (custom resources, `DefaultMetaV1FieldSelectorConversion`):
/// `"<field>" is not a known field selector: only "metadata.name", "metadata.namespace"`.
pub fn unknown_field_selector_error(field: &str) -> FieldSelectorError {
    FieldSelectorError::new(format!(
        "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
        go_quote(field)
    ))
}

/// Upstream `EscapeValue`: prefixes `\`, `,` and `=` with a backslash.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Upstream `UnescapeValue`: undoes [`escape_value`]. Unknown escapes
/// (`invalid field selector: invalid escape sequence: \x`), a trailing backslash and
/// unescaped `,` or `=` (`invalid field selector: unescaped character in value: 61`, the
/// code point printed as a number as upstream's `%v` of a rune does) are errors.
pub fn unescape_value(s: &str) -> Result<String, FieldSelectorError> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                other => {
                    return Err(FieldSelectorError::new(format!(
                        "invalid field selector: invalid escape sequence: \\{other}"
                    )))
                }
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => {
                return Err(FieldSelectorError::new(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                )))
            }
            other => out.push(other),
        }
    }
    if in_slash {
        return Err(FieldSelectorError::new(
            "invalid field selector: invalid escape sequence: \\",
        ));
    }
    Ok(out)
}

/// Splits on commas not escaped by a backslash; escapes are kept in the terms.
fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in selector.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// Splits a term at the first operator (`!=`, then `==`, then `=` at each position).
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, kind) in [
            ("!=", FieldOperator::NotEquals),
            ("==", FieldOperator::Equals),
            ("=", FieldOperator::Equals),
        ] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], kind, value));
            }
        }
    }
    None
}

/// A field selector: the AND of its requirements. The empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that matches everything.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// Parses a selector (upstream `fields.ParseSelector`). Terms are ordered by their raw
    /// text, empty terms are skipped; a term without an operator fails with
    /// `invalid selector: '<selector>'; can't understand '<term>'`.
    pub fn parse(selector: &str) -> Result<Self, FieldSelectorError> {
        let mut parts = split_terms(selector);
        parts.sort_unstable();
        let mut requirements = Vec::with_capacity(parts.len());
        for part in parts {
            if part.is_empty() {
                continue;
            }
            let Some((field, operator, raw)) = split_term(part) else {
                return Err(FieldSelectorError::new(format!(
                    "invalid selector: '{selector}'; can't understand '{part}'"
                )));
            };
            requirements.push(FieldRequirement {
                field: field.to_string(),
                operator,
                value: unescape_value(raw)?,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// A selector requiring the given fields to equal the given values (upstream
    /// `SelectorFromSet`), ordered by field.
    pub fn from_set<'a, I>(fields: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut requirements: Vec<FieldRequirement> = fields
            .into_iter()
            .map(|(f, v)| FieldRequirement {
                field: f.to_string(),
                operator: FieldOperator::Equals,
                value: v.to_string(),
            })
            .collect();
        requirements.sort_by(|a, b| a.field.cmp(&b.field));
        FieldSelector { requirements }
    }

    /// A single `field=value` selector (upstream `OneTermEqualSelector`).
    pub fn one_term_equal(field: &str, value: &str) -> Self {
        FieldSelector {
            requirements: vec![FieldRequirement {
                field: field.to_string(),
                operator: FieldOperator::Equals,
                value: value.to_string(),
            }],
        }
    }

    /// Whether the selector puts no restriction.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The terms, in selector order.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether every term holds; `get` returns a field's value (`None` when absent, which
    /// compares as `""`).
    pub fn matches<F: Fn(&str) -> Option<String>>(&self, get: F) -> bool {
        self.requirements
            .iter()
            .all(|r| r.matches(get(&r.field).as_deref()))
    }

    /// [`FieldSelector::matches`] against an object given as JSON, looking fields up by
    /// their dotted path (see [`json_field_value`]).
    pub fn matches_object(&self, object: &Value) -> bool {
        self.matches(|f| json_field_value(object, f))
    }

    /// Upstream `RequiresExactMatch`: the value of the first `=` term on `field`.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.operator == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }

    /// Checks every field is in `supported`, failing with upstream's
    /// `field label not supported: <field>` for the first one that is not.
    pub fn check_supported<S: AsRef<str>>(
        &self,
        supported: &[S],
    ) -> Result<(), FieldSelectorError> {
        self.check_supported_by(|f| supported.iter().any(|s| s.as_ref() == f))
    }

    /// [`FieldSelector::check_supported`] with a predicate.
    pub fn check_supported_by<P: Fn(&str) -> bool>(
        &self,
        is_supported: P,
    ) -> Result<(), FieldSelectorError> {
        match self.requirements.iter().find(|r| !is_supported(&r.field)) {
            Some(r) => Err(unsupported_field_label_error(&r.field)),
            None => Ok(()),
        }
    }

    /// Upstream `Transform`: rewrites each (field, value) pair, e.g. to convert field labels
    /// between versions or reject unsupported ones; a pair rewritten to two empty strings
    /// is dropped.
    pub fn transform<E, F>(&self, mut f: F) -> Result<Self, E>
    where
        F: FnMut(&str, &str) -> Result<(String, String), E>,
    {
        let mut requirements = Vec::with_capacity(self.requirements.len());
        for r in &self.requirements {
            let (field, value) = f(&r.field, &r.value)?;
            if field.is_empty() && value.is_empty() {
                continue;
            }
            requirements.push(FieldRequirement {
                field,
                operator: r.operator,
                value,
            });
        }
        Ok(FieldSelector { requirements })
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for FieldSelector {
    type Err = FieldSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

/// The value of a dotted field path (`metadata.name`, `spec.nodeName`) in a JSON object,
/// as a field selector compares it: strings as is, numbers and booleans in their JSON text;
/// `None` for missing, null, arrays and objects.
pub fn json_field_value(object: &Value, path: &str) -> Option<String> {
    let mut cur = object;
    for part in path.split('.') {
        cur = cur.as_object()?.get(part)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn parse(s: &str) -> FieldSelector {
        FieldSelector::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn getter(fields: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: BTreeMap<String, String> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    // Upstream TestSelectorParse.
    #[test]
    fn parse_and_restring() {
        for s in [
            "x=a,y=b,z=c",
            "",
            "x!=a,y=b",
            "x=,z=",
            "x=a\\,b",
            "x=a\\=b",
            "x=a\\\\b",
        ] {
            assert_eq!(parse(s).to_string(), s, "{s:?}");
        }
        // `==` is normalised to `=`.
        assert_eq!(parse("x==a").to_string(), "x=a");
        for s in ["x=a||y=b", "x==a==b", "x=a=b", "x", "x,y=a"] {
            assert!(FieldSelector::parse(s).is_err(), "{s:?}");
        }
    }

    // Upstream TestDeterministicParse.
    #[test]
    fn deterministic() {
        assert_eq!(parse("x=a,a=x").to_string(), parse("a=x,x=a").to_string());
        assert_eq!(parse("x=a,a=x").to_string(), "a=x,x=a");
    }

    // Upstream TestSelectorMatches.
    #[test]
    fn matching() {
        let yes =
            |s: &str, f: &[(&str, &str)]| assert!(parse(s).matches(getter(f)), "{s} vs {f:?}");
        let no =
            |s: &str, f: &[(&str, &str)]| assert!(!parse(s).matches(getter(f)), "{s} vs {f:?}");
        yes("", &[("x", "y")]);
        yes("x=y", &[("x", "y")]);
        yes("x=y,z=w", &[("x", "y"), ("z", "w")]);
        yes("x!=y,z!=w", &[("x", "z"), ("z", "a")]);
        no("x=y", &[("x", "z")]);
        no("x=y,z=w", &[("x", "w"), ("z", "w")]);
        no("x!=y,z!=w", &[("x", "z"), ("z", "w")]);

        let fieldset = [("foo", "bar"), ("baz", "blah"), ("complex", "=value\\,\\")];
        yes("foo=bar", &fieldset);
        yes("baz=blah", &fieldset);
        yes("foo=bar,baz=blah", &fieldset);
        yes("foo=bar,baz=blah,complex=\\=value\\\\\\,\\\\", &fieldset);
        no("foo=blah", &fieldset);
        no("baz=bar", &fieldset);
        no("foo=bar,foobar=bar,baz=blah", &fieldset);

        // A missing field is the empty string.
        yes("spec.nodeName=", &[]);
        yes("spec.nodeName!=node1", &[]);
        no("spec.nodeName!=", &[]);
    }

    // Upstream TestEscapeValue / TestUnescapeValue.
    #[test]
    fn escaping() {
        let cases = [
            ("", ""),
            ("a", "a"),
            ("=", "\\="),
            (",", "\\,"),
            ("\\", "\\\\"),
            ("\\=\\,\\", "\\\\\\=\\\\\\,\\\\"),
        ];
        for (raw, escaped) in cases {
            assert_eq!(escape_value(raw), escaped);
            assert_eq!(unescape_value(escaped).as_deref(), Ok(raw));
        }
        let errs = [
            ("\\", "invalid field selector: invalid escape sequence: \\"),
            (
                "\\\\\\",
                "invalid field selector: invalid escape sequence: \\",
            ),
            (
                "\\x",
                "invalid field selector: invalid escape sequence: \\x",
            ),
            (
                "=",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                ",",
                "invalid field selector: unescaped character in value: 44",
            ),
        ];
        for (input, want) in errs {
            assert_eq!(
                unescape_value(input).map_err(|e| e.to_string()),
                Err(want.to_string()),
                "{input:?}"
            );
        }
    }

    #[test]
    fn parse_errors_are_upstreams() {
        let err = |s: &str| {
            FieldSelector::parse(s)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            err("x"),
            Err("invalid selector: 'x'; can't understand 'x'".to_string())
        );
        assert_eq!(
            err("a=b,x"),
            Err("invalid selector: 'a=b,x'; can't understand 'x'".to_string())
        );
        assert_eq!(
            err("x=a=b"),
            Err("invalid field selector: unescaped character in value: 61".to_string())
        );
        assert_eq!(
            err("metadata.name!==x"),
            Err("invalid field selector: unescaped character in value: 61".to_string())
        );
        assert_eq!(
            err("a=\\q"),
            Err("invalid field selector: invalid escape sequence: \\q".to_string())
        );
    }

    #[test]
    fn split_rules() {
        // Escaped commas stay inside the term.
        let sel = parse("a=x\\,y,b=z");
        assert_eq!(sel.requirements().len(), 2);
        assert_eq!(sel.requirements()[0].value, "x,y");
        // Empty terms are skipped.
        assert_eq!(parse(",a=b,,").requirements().len(), 1);
        // The field name is literal and may be empty or contain spaces.
        assert_eq!(parse("=x").requirements()[0].field, "");
        assert_eq!(parse("a=b, c=d").requirements()[0].field, " c");
        // The first operator wins: "a!=b" is NotEquals, "a=!b" is Equals with value "!b".
        assert_eq!(
            parse("a!=b").requirements()[0].operator,
            FieldOperator::NotEquals
        );
        assert_eq!(parse("a=!b").requirements()[0].value, "!b");
        assert_eq!(parse("a==b").requirements()[0].value, "b");
        // Multi-byte characters are fine anywhere.
        let s = parse("métadata.nàme=välue");
        assert_eq!(s.requirements()[0].field, "métadata.nàme");
        assert_eq!(s.requirements()[0].value, "välue");
    }

    #[test]
    fn supported_fields() {
        let sel = parse("metadata.name=a,spec.foo=b");
        assert_eq!(sel.check_supported(&["metadata.name", "spec.foo"]), Ok(()));
        assert_eq!(
            sel.check_supported(&["metadata.name"])
                .map_err(|e| e.to_string()),
            Err("field label not supported: spec.foo".to_string())
        );
        assert_eq!(
            sel.check_supported_by(|f| f.starts_with("metadata."))
                .map_err(|e| e.to_string()),
            Err("field label not supported: spec.foo".to_string())
        );
        assert_eq!(
            unknown_field_selector_error("spec.foo").to_string(),
            "\"spec.foo\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
    }

    #[test]
    fn transform_and_exact_match() {
        let sel = parse("a=1,b!=2,c=3");
        let t: Result<FieldSelector, String> = sel.transform(|f, v| {
            if f == "b" {
                Ok((String::new(), String::new()))
            } else {
                Ok((format!("x.{f}"), v.to_string()))
            }
        });
        assert_eq!(t.map(|s| s.to_string()), Ok("x.a=1,x.c=3".to_string()));
        let t: Result<FieldSelector, String> =
            sel.transform(|f, _| Err(format!("field label not supported: {f}")));
        assert_eq!(t, Err("field label not supported: a".to_string()));
        assert_eq!(sel.requires_exact_match("a"), Some("1"));
        assert_eq!(sel.requires_exact_match("b"), None);
        assert_eq!(
            FieldSelector::one_term_equal("metadata.name", "x").to_string(),
            "metadata.name=x"
        );
        assert_eq!(
            FieldSelector::from_set([("b", "1"), ("a", "x,y")]).to_string(),
            "a=x\\,y,b=1"
        );
        assert!(FieldSelector::everything().is_empty());
        let parsed: Result<FieldSelector, _> = "a=b".parse();
        assert_eq!(parsed.map(|s| s.to_string()), Ok("a=b".to_string()));
    }

    #[test]
    fn json_objects() {
        let pod = json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"nodeName": "n1", "replicas": 3, "hostNetwork": false},
            "status": {"phase": "Running"}
        });
        assert!(parse("metadata.name=web,status.phase=Running").matches_object(&pod));
        assert!(parse("spec.replicas=3,spec.hostNetwork=false").matches_object(&pod));
        assert!(!parse("spec.nodeName=n2").matches_object(&pod));
        assert!(parse("spec.missing=").matches_object(&pod));
        assert_eq!(json_field_value(&pod, "metadata"), None);
        assert_eq!(json_field_value(&pod, "metadata.name.x"), None);
        assert_eq!(json_field_value(&Value::Null, "a"), None);
    }
}
