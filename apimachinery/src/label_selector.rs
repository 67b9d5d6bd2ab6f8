//! Label selectors, mirroring upstream's `k8s.io/apimachinery/pkg/labels` parser and
//! `metav1.LabelSelectorAsSelector`.
//!
//! The string syntax (what `?labelSelector=` carries) is parsed by a port of upstream's
//! lexer and recursive-descent parser, so both accepted inputs and error messages match:
//!
//! ```text
//! <selector-syntax>         ::= <requirement> | <requirement> "," <selector-syntax>
//! <requirement>             ::= [!] KEY [ <set-based-restriction> | <exact-match-restriction> ]
//! <set-based-restriction>   ::= "" | <inclusion-exclusion> <value-set>
//! <inclusion-exclusion>     ::= "in" | "notin"
//! <value-set>               ::= "(" <values> ")"
//! <exact-match-restriction> ::= ["=" | "==" | "!=" | ">" | "<"] VALUE
//! ```
//!
//! ```
//! use std::collections::BTreeMap;
//! use rkube_apimachinery::label_selector::LabelSelector;
//!
//! let sel: LabelSelector = "app=web,tier in (front, back),!legacy".parse().unwrap();
//! let labels = BTreeMap::from([("app".to_string(), "web".to_string()), ("tier".to_string(), "front".to_string())]);
//! assert!(sel.matches(&labels));
//! assert_eq!(sel.to_string(), "app=web,!legacy,tier in (back,front)");
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::validation::{go_quote, is_qualified_name, is_valid_label_value, FieldError};

// ---------------------------------------------------------------------------------------
// Labels: anything a selector can be matched against
// ---------------------------------------------------------------------------------------

/// A set of labels a selector can be matched against.
///
/// Implemented for `BTreeMap<String, String>`, `HashMap<String, String>`, a JSON object
/// (`serde_json::Map`, non-string values count as absent) and a JSON value (an object is a
/// label map; anything else, including null, has no labels).
pub trait Labels {
    /// The value of `key`, if the label is present.
    fn get_label(&self, key: &str) -> Option<&str>;
}

impl Labels for BTreeMap<String, String> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<S: BuildHasher> Labels for HashMap<String, String, S> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl Labels for BTreeMap<&str, &str> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).copied()
    }
}

impl Labels for Map<String, Value> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

impl Labels for Value {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.as_object().and_then(|m| m.get_label(key))
    }
}

impl<T: Labels + ?Sized> Labels for &T {
    fn get_label(&self, key: &str) -> Option<&str> {
        (**self).get_label(key)
    }
}

// ---------------------------------------------------------------------------------------
// Operators and requirements
// ---------------------------------------------------------------------------------------

/// A requirement's operator, mirroring upstream's `selection.Operator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key in (a,b)`: the label exists and has one of the values.
    In,
    /// `key notin (a,b)`: the label is absent or has none of the values.
    NotIn,
    /// `key=a`.
    Equals,
    /// `key==a` (same meaning as `=`, kept for round-tripping).
    DoubleEquals,
    /// `key!=a`: the label is absent or differs.
    NotEquals,
    /// `key`: the label exists.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key>1`: the label exists and is an integer greater than the value.
    GreaterThan,
    /// `key<1`: the label exists and is an integer less than the value.
    LessThan,
}

impl Operator {
    /// Upstream's string for the operator (`in`, `notin`, `=`, `==`, `!=`, `exists`, `!`,
    /// `gt`, `lt`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Upstream's list of binary operators, as printed in "expected:" parse errors.
const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

/// An error building or parsing a label selector. `Display` is upstream's message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct LabelSelectorError {
    message: String,
    field_errors: Vec<FieldError>,
}

impl LabelSelectorError {
    fn plain(message: impl Into<String>) -> Self {
        LabelSelectorError {
            message: message.into(),
            field_errors: Vec::new(),
        }
    }

    fn from_field_errors(errs: Vec<FieldError>) -> Self {
        LabelSelectorError {
            message: crate::validation::aggregate_field_errors(&errs),
            field_errors: errs,
        }
    }

    fn prefixed(mut self, prefix: &str) -> Self {
        self.message = format!("{prefix}{}", self.message);
        self
    }

    /// Upstream's error message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The field errors behind the message, when it came from key/value validation.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.field_errors
    }
}

/// One requirement of a selector: a key, an operator and values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

fn values_as_bad_value(values: &[String]) -> Value {
    if values.is_empty() {
        // Upstream passes a nil slice here, which renders as `null`.
        Value::Null
    } else {
        Value::from(values.to_vec())
    }
}

fn validate_label_key(key: &str, field: &str) -> Option<FieldError> {
    let errs = is_qualified_name(key);
    if errs.is_empty() {
        None
    } else {
        Some(FieldError::invalid(field, key, errs.join("; ")))
    }
}

impl Requirement {
    /// Upstream `NewRequirement`: checks the key is a qualified name, the value count fits
    /// the operator (non-empty for `in`/`notin`, exactly one for `=`/`==`/`!=`/`>`/`<`, none
    /// for exists), `>`/`<` values are integers and every value is a valid label value.
    /// Errors use upstream's paths (`key`, `values`, `values[0]`, `values[0][key]`).
    pub fn new(
        key: impl Into<String>,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Self, LabelSelectorError> {
        let key = key.into();
        let mut errs = Vec::new();
        if let Some(e) = validate_label_key(&key, "key") {
            errs.push(e);
        }
        match operator {
            Operator::In | Operator::NotIn => {
                if values.is_empty() {
                    errs.push(FieldError::invalid(
                        "values",
                        values_as_bad_value(&values),
                        "for 'in', 'notin' operators, values set can't be empty",
                    ));
                }
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                if values.len() != 1 {
                    errs.push(FieldError::invalid(
                        "values",
                        values_as_bad_value(&values),
                        "exact-match compatibility requires one single value",
                    ));
                }
            }
            Operator::Exists | Operator::DoesNotExist => {
                if !values.is_empty() {
                    errs.push(FieldError::invalid(
                        "values",
                        values_as_bad_value(&values),
                        "values set must be empty for exists and does not exist",
                    ));
                }
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(FieldError::invalid(
                        "values",
                        values_as_bad_value(&values),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(FieldError::invalid(
                            format!("values[{i}]"),
                            v.as_str(),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
        }
        for (i, v) in values.iter().enumerate() {
            let msgs = is_valid_label_value(v);
            if !msgs.is_empty() {
                errs.push(FieldError::invalid(
                    format!("values[{i}][{key}]"),
                    v.as_str(),
                    msgs.join("; "),
                ));
            }
        }
        if errs.is_empty() {
            Ok(Requirement {
                key,
                operator,
                values,
            })
        } else {
            Err(LabelSelectorError::from_field_errors(errs))
        }
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, in the order given (sorted and de-duplicated when parsed from a string).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    fn has_value(&self, v: &str) -> bool {
        self.values.iter().any(|x| x == v)
    }

    /// Whether the labels satisfy this requirement (upstream `Requirement.Matches`).
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        let got = labels.get_label(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                got.is_some_and(|v| self.has_value(v))
            }
            Operator::NotIn | Operator::NotEquals => got.is_none_or(|v| !self.has_value(v)),
            Operator::Exists => got.is_some(),
            Operator::DoesNotExist => got.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(have) = got.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let [want] = self.values.as_slice() else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let (op, parens) = match self.operator {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => ("=", false),
            Operator::DoubleEquals => ("==", false),
            Operator::NotEquals => ("!=", false),
            Operator::In => (" in ", true),
            Operator::NotIn => (" notin ", true),
            Operator::GreaterThan => (">", false),
            Operator::LessThan => ("<", false),
        };
        f.write_str(op)?;
        if parens {
            f.write_str("(")?;
        }
        if self.values.len() == 1 {
            f.write_str(&self.values[0])?;
        } else {
            let mut sorted: Vec<&str> = self.values.iter().map(String::as_str).collect();
            sorted.sort_unstable();
            f.write_str(&sorted.join(","))?;
        }
        if parens {
            f.write_str(")")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Selector
// ---------------------------------------------------------------------------------------

/// A label selector: the AND of its requirements. The empty selector matches everything;
/// [`LabelSelector::nothing`] (a null `metav1.LabelSelector`) matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// The selector that matches every label set (upstream `Everything`).
    pub fn everything() -> Self {
        LabelSelector::default()
    }

    /// The selector that matches no label set (upstream `Nothing`).
    pub fn nothing() -> Self {
        LabelSelector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// Parses the string syntax (upstream `labels.Parse`). Requirements are sorted by key.
    pub fn parse(selector: &str) -> Result<Self, LabelSelectorError> {
        let mut requirements = Parser::new(selector).parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector {
            requirements,
            nothing: false,
        })
    }

    /// A selector requiring exactly these labels (upstream `SelectorFromSet`, no
    /// validation). An empty map gives [`LabelSelector::everything`].
    pub fn from_set<'a, I>(labels: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut requirements: Vec<Requirement> = labels
            .into_iter()
            .map(|(k, v)| Requirement {
                key: k.to_string(),
                operator: Operator::Equals,
                values: vec![v.to_string()],
            })
            .collect();
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    /// Builds the selector of a `metav1.LabelSelector` given as JSON (upstream
    /// `LabelSelectorAsSelector`): `null` matches nothing, `{}` matches everything,
    /// `matchLabels` become `=` requirements and `matchExpressions` use `In`, `NotIn`,
    /// `Exists` or `DoesNotExist`. Requirements are validated as [`Requirement::new`] does.
    pub fn from_json(selector: &Value) -> Result<Self, LabelSelectorError> {
        let obj = match selector {
            Value::Null => return Ok(LabelSelector::nothing()),
            Value::Object(obj) => obj,
            _ => {
                return Err(LabelSelectorError::plain(
                    "label selector must be an object",
                ))
            }
        };
        let mut requirements = Vec::new();
        match obj.get("matchLabels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(labels)) => {
                let mut sorted: Vec<(&String, &Value)> = labels.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                for (k, v) in sorted {
                    let value = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        _ => {
                            return Err(LabelSelectorError::plain(format!(
                                "matchLabels[{k}] must be a string"
                            )))
                        }
                    };
                    requirements.push(Requirement::new(k.clone(), Operator::Equals, vec![value])?);
                }
            }
            Some(_) => return Err(LabelSelectorError::plain("matchLabels must be an object")),
        }
        match obj.get("matchExpressions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(exprs)) => {
                for (i, expr) in exprs.iter().enumerate() {
                    let Some(expr) = expr.as_object() else {
                        return Err(LabelSelectorError::plain(format!(
                            "matchExpressions[{i}] must be an object"
                        )));
                    };
                    let text = |name: &str| -> Result<String, LabelSelectorError> {
                        match expr.get(name) {
                            None | Some(Value::Null) => Ok(String::new()),
                            Some(Value::String(s)) => Ok(s.clone()),
                            Some(_) => Err(LabelSelectorError::plain(format!(
                                "matchExpressions[{i}].{name} must be a string"
                            ))),
                        }
                    };
                    let key = text("key")?;
                    let op_name = text("operator")?;
                    let operator = match op_name.as_str() {
                        "In" => Operator::In,
                        "NotIn" => Operator::NotIn,
                        "Exists" => Operator::Exists,
                        "DoesNotExist" => Operator::DoesNotExist,
                        other => {
                            return Err(LabelSelectorError::plain(format!(
                                "{} is not a valid label selector operator",
                                go_quote(other)
                            )))
                        }
                    };
                    let values = match expr.get("values") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Array(vs)) => {
                            let mut out = Vec::with_capacity(vs.len());
                            for v in vs {
                                match v {
                                    Value::String(s) => out.push(s.clone()),
                                    _ => {
                                        return Err(LabelSelectorError::plain(format!(
                                            "matchExpressions[{i}].values must be strings"
                                        )))
                                    }
                                }
                            }
                            out
                        }
                        Some(_) => {
                            return Err(LabelSelectorError::plain(format!(
                                "matchExpressions[{i}].values must be an array"
                            )))
                        }
                    };
                    requirements.push(Requirement::new(key, operator, values)?);
                }
            }
            Some(_) => {
                return Err(LabelSelectorError::plain(
                    "matchExpressions must be an array",
                ))
            }
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector {
            requirements,
            nothing: false,
        })
    }

    /// Whether the selector puts no restriction (matches everything). The "nothing"
    /// selector is not empty.
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// Whether this is the selector that matches nothing.
    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// A copy with more requirements, re-sorted by key (upstream `Add`).
    pub fn add(&self, reqs: impl IntoIterator<Item = Requirement>) -> Self {
        if self.nothing {
            return self.clone();
        }
        let mut requirements = self.requirements.clone();
        requirements.extend(reqs);
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    /// Whether the labels satisfy every requirement.
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// [`LabelSelector::matches`] with labels looked up through a function.
    pub fn matches_fn<F: Fn(&str) -> Option<String>>(&self, get: F) -> bool {
        struct FnLabels<F> {
            cache: BTreeMap<String, String>,
            _f: std::marker::PhantomData<F>,
        }
        impl<F> Labels for FnLabels<F> {
            fn get_label(&self, key: &str) -> Option<&str> {
                self.cache.get(key).map(String::as_str)
            }
        }
        let keys: BTreeSet<&str> = self.requirements.iter().map(|r| r.key.as_str()).collect();
        let cache = keys
            .into_iter()
            .filter_map(|k| get(k).map(|v| (k.to_string(), v)))
            .collect();
        self.matches(&FnLabels::<F> {
            cache,
            _f: std::marker::PhantomData,
        })
    }

    /// Matches an object given as JSON against its `metadata.labels`.
    pub fn matches_object(&self, object: &Value) -> bool {
        let labels = object
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .unwrap_or(&Value::Null);
        self.matches(labels)
    }

    /// Upstream `RequiresExactMatch`: if the first requirement on `label` pins it to a
    /// single value (`=`, `==`, or `in` with one value), that value.
    pub fn requires_exact_match(&self, label: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == label)?;
        match (r.operator, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) => Some(v.as_str()),
            _ => None,
        }
    }
}

impl fmt::Display for LabelSelector {
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

impl FromStr for LabelSelector {
    type Err = LabelSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LabelSelector::parse(s)
    }
}

// ---------------------------------------------------------------------------------------
// Lexer (port of upstream's byte-wise lexer)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Error,
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword_token(s: &[u8]) -> Option<Token> {
    Some(match s {
        b")" => Token::ClosedPar,
        b"," => Token::Comma,
        b"!" => Token::DoesNotExist,
        b"==" => Token::DoubleEquals,
        b"=" => Token::Equals,
        b">" => Token::GreaterThan,
        b"in" => Token::In,
        b"<" => Token::LessThan,
        b"!=" => Token::NotEquals,
        b"notin" => Token::NotIn,
        b"(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special_symbol(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// Upstream `read`: the next byte, or 0 at the end (a NUL byte reads as 0 too).
    fn read(&mut self) -> u8 {
        if self.pos < self.s.len() {
            let b = self.s[self.pos];
            self.pos += 1;
            b
        } else {
            0
        }
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn text(&self, start: usize, end: usize) -> String {
        String::from_utf8_lossy(&self.s[start..end]).into_owned()
    }

    fn scan_id_or_keyword(&mut self) -> (Token, String) {
        let start = self.pos;
        let mut end;
        loop {
            end = self.pos;
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special_symbol(ch) || is_whitespace(ch) {
                self.unread();
                break;
            }
        }
        let lit = &self.s[start..end];
        match keyword_token(lit) {
            Some(tok) => (tok, self.text(start, end)),
            None => (Token::Identifier, self.text(start, end)),
        }
    }

    fn scan_special_symbol(&mut self) -> (Token, String) {
        let start = self.pos;
        let mut last: Option<(Token, usize)> = None;
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special_symbol(ch) {
                if let Some(tok) = keyword_token(&self.s[start..self.pos]) {
                    last = Some((tok, self.pos));
                } else if last.is_some() {
                    self.unread();
                    break;
                }
            } else {
                self.unread();
                break;
            }
        }
        match last {
            Some((tok, end)) => (tok, self.text(start, end)),
            None => (
                Token::Error,
                format!(
                    "error expected: keyword found '{}'",
                    self.text(start, self.pos)
                ),
            ),
        }
    }

    fn lex(&mut self) -> (Token, String) {
        let mut ch = self.read();
        while is_whitespace(ch) {
            ch = self.read();
        }
        if ch == 0 {
            return (Token::EndOfString, String::new());
        }
        self.unread();
        if is_special_symbol(ch) {
            self.scan_special_symbol()
        } else {
            self.scan_id_or_keyword()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parser (port of upstream's recursive-descent parser)
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

type ParseResult<T> = Result<T, LabelSelectorError>;

impl Parser {
    fn new(selector: &str) -> Self {
        let mut lexer = Lexer {
            s: selector.as_bytes(),
            pos: 0,
        };
        let mut items = Vec::new();
        loop {
            let (tok, lit) = lexer.lex();
            let end = tok == Token::EndOfString;
            items.push((tok, lit));
            if end {
                break;
            }
        }
        Parser { items, position: 0 }
    }

    fn item(&self, at: usize, ctx: Context) -> (Token, String) {
        let (tok, lit) = self
            .items
            .get(at)
            .cloned()
            .unwrap_or((Token::EndOfString, String::new()));
        let tok = match (ctx, tok) {
            (Context::Values, Token::In | Token::NotIn) => Token::Identifier,
            (_, t) => t,
        };
        (tok, lit)
    }

    fn lookahead(&self, ctx: Context) -> (Token, String) {
        self.item(self.position, ctx)
    }

    fn consume(&mut self, ctx: Context) -> (Token, String) {
        let it = self.item(self.position, ctx);
        self.position += 1;
        it
    }

    fn parse(&mut self) -> ParseResult<Vec<Requirement>> {
        let mut requirements = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Context::Values);
            match tok {
                Token::Identifier | Token::DoesNotExist => {
                    let r = self
                        .parse_requirement()
                        .map_err(|e| e.prefixed("unable to parse requirement: "))?;
                    requirements.push(r);
                    let (t, l) = self.consume(Context::Values);
                    match t {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (t2, l2) = self.lookahead(Context::Values);
                            if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                return Err(LabelSelectorError::plain(format!(
                                    "found '{l2}', expected: identifier after ','"
                                )));
                            }
                        }
                        _ => {
                            return Err(LabelSelectorError::plain(format!(
                                "found '{l}', expected: ',' or 'end of string'"
                            )))
                        }
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(LabelSelectorError::plain(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    )))
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> ParseResult<Requirement> {
        let (key, operator) = self.parse_key_and_infer_operator()?;
        if let Some(op @ (Operator::Exists | Operator::DoesNotExist)) = operator {
            return Requirement::new(key, op, Vec::new());
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(key, operator, values.into_iter().collect())
    }

    fn parse_key_and_infer_operator(&mut self) -> ParseResult<(String, Option<Operator>)> {
        let mut operator = None;
        let (mut tok, mut lit) = self.consume(Context::Values);
        if tok == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            (tok, lit) = self.consume(Context::Values);
        }
        if tok != Token::Identifier {
            return Err(LabelSelectorError::plain(format!(
                "found '{lit}', expected: identifier"
            )));
        }
        if let Some(e) = validate_label_key(&lit, "<nil>") {
            return Err(LabelSelectorError::from_field_errors(vec![e]));
        }
        let (t, _) = self.lookahead(Context::Values);
        if (t == Token::EndOfString || t == Token::Comma)
            && operator != Some(Operator::DoesNotExist)
        {
            operator = Some(Operator::Exists);
        }
        Ok((lit, operator))
    }

    fn parse_operator(&mut self) -> ParseResult<Operator> {
        let (tok, lit) = self.consume(Context::KeyAndOperator);
        Ok(match tok {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => {
                return Err(LabelSelectorError::plain(format!(
                    "found '{lit}', expected: {BINARY_OPERATORS}"
                )))
            }
        })
    }

    fn parse_values(&mut self) -> ParseResult<BTreeSet<String>> {
        let (tok, lit) = self.consume(Context::Values);
        if tok != Token::OpenPar {
            return Err(LabelSelectorError::plain(format!(
                "found '{lit}' expected: '('"
            )));
        }
        let (tok, lit) = self.lookahead(Context::Values);
        match tok {
            Token::Identifier | Token::Comma => {
                let s = self.parse_identifiers_list()?;
                let (tok, _) = self.consume(Context::Values);
                if tok != Token::ClosedPar {
                    return Err(LabelSelectorError::plain(format!(
                        "found '{lit}', expected: ')'"
                    )));
                }
                Ok(s)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(LabelSelectorError::plain(format!(
                "found '{lit}', expected: ',', ')' or identifier"
            ))),
        }
    }

    fn parse_identifiers_list(&mut self) -> ParseResult<BTreeSet<String>> {
        let mut s = BTreeSet::new();
        loop {
            let (tok, lit) = self.consume(Context::Values);
            match tok {
                Token::Identifier => {
                    s.insert(lit);
                    let (tok2, lit2) = self.lookahead(Context::Values);
                    match tok2 {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(s),
                        _ => {
                            return Err(LabelSelectorError::plain(format!(
                                "found '{lit2}', expected: ',' or ')'"
                            )))
                        }
                    }
                }
                Token::Comma => {
                    if s.is_empty() {
                        s.insert(String::new());
                    }
                    let (tok2, _) = self.lookahead(Context::Values);
                    if tok2 == Token::ClosedPar {
                        s.insert(String::new());
                        return Ok(s);
                    }
                    if tok2 == Token::Comma {
                        self.consume(Context::Values);
                        s.insert(String::new());
                    }
                }
                _ => {
                    return Err(LabelSelectorError::plain(format!(
                        "found '{lit}', expected: ',', or identifier"
                    )))
                }
            }
        }
    }

    fn parse_exact_value(&mut self) -> ParseResult<BTreeSet<String>> {
        let (tok, _) = self.lookahead(Context::Values);
        if tok == Token::EndOfString || tok == Token::Comma {
            return Ok(BTreeSet::from([String::new()]));
        }
        let (tok, lit) = self.consume(Context::Values);
        if tok == Token::Identifier {
            Ok(BTreeSet::from([lit]))
        } else {
            Err(LabelSelectorError::plain(format!(
                "found '{lit}', expected: identifier"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, op: Operator, vals: &[&str]) -> Requirement {
        let mut v: Vec<String> = vals.iter().map(|s| s.to_string()).collect();
        v.sort();
        v.dedup();
        match Requirement::new(key, op, v) {
            Ok(r) => r,
            Err(e) => panic!("bad requirement in test: {e}"),
        }
    }

    fn parse(s: &str) -> LabelSelector {
        match LabelSelector::parse(s) {
            Ok(sel) => sel,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    fn parse_err(s: &str) -> String {
        match LabelSelector::parse(s) {
            Ok(sel) => panic!("{s:?} parsed unexpectedly as {sel:?}"),
            Err(e) => e.to_string(),
        }
    }

    // Upstream TestSelectorParse.
    #[test]
    fn good_and_bad_strings() {
        for s in [
            "x=a,y=b,z=c",
            "",
            "x!=a,y=b",
            "x=",
            "x= ",
            "x=,z= ",
            "x= ,z= ",
            "!x",
            "x>1",
            "x>1,z<5",
        ] {
            assert_eq!(parse(s).to_string(), s.replace(' ', ""), "{s:?}");
        }
        for s in ["x=a||y=b", "x==a==b", "!x=a", "x<a"] {
            parse_err(s);
        }
    }

    // Upstream TestDeterministicParse.
    #[test]
    fn deterministic() {
        assert_eq!(parse("x=a,a=x").to_string(), parse("a=x,x=a").to_string());
    }

    // Upstream TestSelectorMatches.
    #[test]
    fn matching() {
        let yes = |s: &str, l: &[(&str, &str)]| assert!(parse(s).matches(&set(l)), "{s} vs {l:?}");
        let no = |s: &str, l: &[(&str, &str)]| assert!(!parse(s).matches(&set(l)), "{s} vs {l:?}");
        yes("", &[("x", "y")]);
        yes("x=y", &[("x", "y")]);
        yes("x=y,z=w", &[("x", "y"), ("z", "w")]);
        yes("x!=y,z!=w", &[("x", "z"), ("z", "a")]);
        yes("notin=in", &[("notin", "in")]);
        yes("x", &[("x", "z")]);
        yes("!x", &[("y", "z")]);
        yes("x>1", &[("x", "2")]);
        yes("x<1", &[("x", "0")]);
        no("x=z", &[]);
        no("x=y", &[("x", "z")]);
        no("x=y,z=w", &[("x", "w"), ("z", "w")]);
        no("x!=y,z!=w", &[("x", "z"), ("z", "w")]);
        no("x", &[("y", "z")]);
        no("!x", &[("x", "z")]);
        no("x>1", &[("x", "0")]);
        no("x<1", &[("x", "2")]);
        no("x>1", &[("x", "v2")]);
        no("x>1", &[]);

        let labelset = [("foo", "bar"), ("baz", "blah")];
        yes("foo=bar", &labelset);
        yes("baz=blah", &labelset);
        yes("foo=bar,baz=blah", &labelset);
        no("foo=blah", &labelset);
        no("baz=bar", &labelset);
        no("foo=bar,foobar=bar,baz=blah", &labelset);

        yes("x in (a,b)", &[("x", "b")]);
        no("x in (a,b)", &[("x", "c")]);
        no("x in (a,b)", &[]);
        yes("x notin (a,b)", &[]);
        yes("x notin (a,b)", &[("x", "c")]);
        no("x notin (a,b)", &[("x", "a")]);
        yes("x in ()", &[("x", "")]);
        yes("x=", &[("x", "")]);
        no("x=", &[]);
    }

    type MatchCase = (Vec<(&'static str, &'static str)>, Vec<Requirement>, bool);

    // Upstream TestRequirementSelectorMatching.
    #[test]
    fn requirement_matching() {
        let cases: Vec<MatchCase> = vec![
            (
                vec![("x", "foo"), ("y", "baz")],
                vec![
                    req("x", Operator::In, &["foo"]),
                    req("y", Operator::NotIn, &["alpha"]),
                ],
                true,
            ),
            (
                vec![("x", "foo"), ("y", "baz")],
                vec![
                    req("x", Operator::In, &["foo"]),
                    req("y", Operator::In, &["alpha"]),
                ],
                false,
            ),
            (
                vec![("y", "")],
                vec![
                    req("x", Operator::NotIn, &[""]),
                    req("y", Operator::Exists, &[]),
                ],
                true,
            ),
            (
                vec![("y", "")],
                vec![
                    req("x", Operator::DoesNotExist, &[]),
                    req("y", Operator::Exists, &[]),
                ],
                true,
            ),
            (
                vec![("y", "")],
                vec![
                    req("x", Operator::NotIn, &[""]),
                    req("y", Operator::DoesNotExist, &[]),
                ],
                false,
            ),
            (
                vec![("y", "baz")],
                vec![req("x", Operator::In, &[""])],
                false,
            ),
            (
                vec![("z", "2")],
                vec![req("z", Operator::GreaterThan, &["1"])],
                true,
            ),
            (
                vec![("z", "v2")],
                vec![req("z", Operator::GreaterThan, &["1"])],
                false,
            ),
        ];
        for (labels, reqs, want) in cases {
            let sel = LabelSelector::everything().add(reqs);
            assert_eq!(sel.matches(&set(&labels)), want, "{sel} vs {labels:?}");
        }
    }

    // Upstream TestRequirementConstructor.
    #[test]
    fn requirement_constructor() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let cases: Vec<(String, Operator, Vec<String>, bool)> = vec![
            ("x".into(), Operator::In, vec![], false),
            ("x".into(), Operator::NotIn, vec![], false),
            ("x".into(), Operator::In, s(&["foo"]), true),
            ("x".into(), Operator::NotIn, s(&["foo"]), true),
            ("x".into(), Operator::Exists, vec![], true),
            ("x".into(), Operator::DoesNotExist, vec![], true),
            ("1foo".into(), Operator::In, s(&["bar"]), true),
            ("1234".into(), Operator::In, s(&["bar"]), true),
            ("y".into(), Operator::GreaterThan, s(&["1"]), true),
            ("z".into(), Operator::LessThan, s(&["6"]), true),
            ("foo".into(), Operator::GreaterThan, s(&["bar"]), false),
            ("barz".into(), Operator::LessThan, s(&["blah"]), false),
            ("a".repeat(254), Operator::Exists, vec![], false),
            ("x".into(), Operator::Exists, s(&["a"]), false),
            ("x".into(), Operator::Equals, s(&["a", "b"]), false),
        ];
        for (key, op, vals, ok) in cases {
            assert_eq!(
                Requirement::new(key.clone(), op, vals.clone()).is_ok(),
                ok,
                "{key} {op} {vals:?}"
            );
        }
    }

    // Upstream TestToString.
    #[test]
    fn to_string_table() {
        let cases = vec![
            (
                vec![
                    req("x", Operator::In, &["abc", "def"]),
                    req("y", Operator::NotIn, &["jkl"]),
                    req("z", Operator::Exists, &[]),
                ],
                "x in (abc,def),y notin (jkl),z",
            ),
            (
                vec![
                    req("x", Operator::NotIn, &["abc", "def"]),
                    req("y", Operator::NotEquals, &["jkl"]),
                    req("z", Operator::DoesNotExist, &[]),
                ],
                "x notin (abc,def),y!=jkl,!z",
            ),
            (
                vec![
                    req("x", Operator::NotIn, &["abc"]),
                    req("y", Operator::In, &["jkl", "mno"]),
                    req("z", Operator::NotIn, &[""]),
                ],
                "x notin (abc),y in (jkl,mno),z notin ()",
            ),
            (
                vec![
                    req("x", Operator::Equals, &["abc"]),
                    req("y", Operator::DoubleEquals, &["jkl"]),
                    req("z", Operator::NotEquals, &["a"]),
                    req("z", Operator::Exists, &[]),
                ],
                "x=abc,y==jkl,z!=a,z",
            ),
            (
                vec![
                    req("x", Operator::GreaterThan, &["2"]),
                    req("y", Operator::LessThan, &["8"]),
                    req("z", Operator::Exists, &[]),
                ],
                "x>2,y<8,z",
            ),
        ];
        for (reqs, want) in cases {
            assert_eq!(LabelSelector::everything().add(reqs).to_string(), want);
        }
        // Values given out of order print sorted, without changing the stored order.
        let r = Requirement::new("x", Operator::In, vec!["b".into(), "a".into()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.to_string(), "x in (a,b)");
        assert_eq!(r.values(), ["b", "a"]);
    }

    // Upstream TestSetSelectorParser.
    #[test]
    fn set_selector_parser() {
        let ok: Vec<(&str, Vec<Requirement>)> = vec![
            ("", vec![]),
            ("\rx", vec![req("x", Operator::Exists, &[])]),
            (
                "this-is-a-dns.domain.com/key-with-dash",
                vec![req(
                    "this-is-a-dns.domain.com/key-with-dash",
                    Operator::Exists,
                    &[],
                )],
            ),
            (
                "this-is-another-dns.domain.com/key-with-dash in (so,what)",
                vec![req(
                    "this-is-another-dns.domain.com/key-with-dash",
                    Operator::In,
                    &["so", "what"],
                )],
            ),
            (
                "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
                vec![req(
                    "0.1.2.domain/99",
                    Operator::NotIn,
                    &["10.10.100.1", "tick.tack.clock"],
                )],
            ),
            ("foo  in\t (abc)", vec![req("foo", Operator::In, &["abc"])]),
            ("x notin\n (abc)", vec![req("x", Operator::NotIn, &["abc"])]),
            (
                "x  notin\t\t\t(abc,def)",
                vec![req("x", Operator::NotIn, &["abc", "def"])],
            ),
            (
                "x in (abc,def)",
                vec![req("x", Operator::In, &["abc", "def"])],
            ),
            ("x in (abc,)", vec![req("x", Operator::In, &["abc", ""])]),
            ("x in ()", vec![req("x", Operator::In, &[""])]),
            (
                "x notin (abc,,def),bar,z in (),w",
                vec![
                    req("bar", Operator::Exists, &[]),
                    req("w", Operator::Exists, &[]),
                    req("x", Operator::NotIn, &["abc", "", "def"]),
                    req("z", Operator::In, &[""]),
                ],
            ),
            ("x=a", vec![req("x", Operator::Equals, &["a"])]),
            ("x>1", vec![req("x", Operator::GreaterThan, &["1"])]),
            ("x<7", vec![req("x", Operator::LessThan, &["7"])]),
            (
                "x=a,y!=b",
                vec![
                    req("x", Operator::Equals, &["a"]),
                    req("y", Operator::NotEquals, &["b"]),
                ],
            ),
            (
                "x=a,y!=b,z in (h,i,j)",
                vec![
                    req("x", Operator::Equals, &["a"]),
                    req("y", Operator::NotEquals, &["b"]),
                    req("z", Operator::In, &["h", "i", "j"]),
                ],
            ),
            ("x notin ( )", vec![req("x", Operator::NotIn, &[""])]),
            ("x notin (, a)", vec![req("x", Operator::NotIn, &["", "a"])]),
            ("a ", vec![req("a", Operator::Exists, &[])]),
            (
                "a in (x,y,notin, z,in)",
                vec![req("a", Operator::In, &["in", "notin", "x", "y", "z"])],
            ),
            (
                "x,y in (a)",
                vec![
                    req("x", Operator::Exists, &[]),
                    req("y", Operator::In, &["a"]),
                ],
            ),
            ("x==a", vec![req("x", Operator::DoubleEquals, &["a"])]),
            ("in in (in)", vec![req("in", Operator::In, &["in"])]),
        ];
        for (input, want) in ok {
            assert_eq!(parse(input).requirements(), want.as_slice(), "{input:?}");
        }
        for bad in [
            "x=a||y=b",
            "x,,y",
            ",x,y",
            "x nott in (y)",
            "a in (xyz),",
            "a in (xyz)b notin ()",
            "a in (xyz abc)",
            "a notin(",
            "a (",
            "(",
            "x,",
            "!",
            "x in",
            "x in (a",
            "x in (a,",
        ] {
            parse_err(bad);
        }
    }

    #[test]
    fn upstream_error_messages() {
        let cases = [
            ("x==a==b", "found '==', expected: ',' or 'end of string'".to_string()),
            ("!x=a", "found '=', expected: ',' or 'end of string'".to_string()),
            (",x", "found ',', expected: !, identifier, or 'end of string'".to_string()),
            ("x,", "found '', expected: identifier after ','".to_string()),
            ("x,,y", "found ',', expected: identifier after ','".to_string()),
            ("(", "found '(', expected: !, identifier, or 'end of string'".to_string()),
            ("a (", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt".to_string()),
            ("x nott in (y)", "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt".to_string()),
            ("a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier".to_string()),
            ("a in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'".to_string()),
            ("a in x", "unable to parse requirement: found 'x' expected: '('".to_string()),
            ("x in (a,", "unable to parse requirement: found '', expected: ',', or identifier".to_string()),
            ("a=(", "unable to parse requirement: found '(', expected: identifier".to_string()),
            ("!", "unable to parse requirement: found '', expected: identifier".to_string()),
            ("!=a", "found '!=', expected: !, identifier, or 'end of string'".to_string()),
            (
                "x<a",
                "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer".to_string(),
            ),
            (
                "a b",
                "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt".to_string(),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_err(input), want, "{input:?}");
        }

        // '|' is not special: "a||y" is one identifier, rejected as a label value.
        assert!(parse_err("x=a||y=b").starts_with(
            "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": a valid label"
        ));
        let key_err = parse_err("a/b/c");
        assert!(key_err.starts_with("unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of"), "{key_err}");
        let val_err = parse_err("app=-x");
        assert_eq!(
            val_err,
            "unable to parse requirement: values[0][app]: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        let two = parse_err("x in (-a,-b)");
        assert!(
            two.starts_with("unable to parse requirement: [values[0][x]: Invalid value: \"-a\": "),
            "{two}"
        );
        assert!(
            two.contains(", values[1][x]: Invalid value: \"-b\": "),
            "{two}"
        );
        assert!(two.ends_with(']'));
        match LabelSelector::parse("app=-x") {
            Err(e) => assert_eq!(e.field_errors().len(), 1),
            Ok(_) => panic!("expected an error"),
        }
        let long = format!("x={}", "a".repeat(64));
        assert!(parse_err(&long).contains("must be no more than 63 characters"));
    }

    #[test]
    fn lexer_quirks() {
        // NUL ends an identifier but lexing continues after it, like upstream.
        assert_eq!(
            parse_err("a\0b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        // NUL right after a symbol is swallowed with it, like upstream's scanSpecialSymbol.
        assert_eq!(parse("a,\0b").to_string(), "a,b");
        // NUL at a token start is the end of the string.
        assert_eq!(
            parse_err("a, \0b"),
            "found '', expected: identifier after ','"
        );
        // Unicode in values is lexed as identifier bytes and rejected by validation.
        assert!(parse_err("a=ā").contains("values[0][a]: Invalid value: \"ā\""));
        // Whitespace of all four kinds is skipped.
        assert_eq!(
            parse(" \t\r\na \t in \n( b , c )\t").to_string(),
            "a in (b,c)"
        );
    }

    #[test]
    fn from_json_selector() {
        let sel = LabelSelector::from_json(&json!({
            "matchLabels": {"tier": "front", "app": "web"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "legacy", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "Exists", "values": []}
            ]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sel.to_string(),
            "app=web,env in (dev,prod),!legacy,tier=front,zone"
        );
        assert!(sel.matches(&json!({"app": "web", "tier": "front", "env": "dev", "zone": "a"})));
        assert!(!sel.matches(&json!({"app": "web", "tier": "front", "env": "dev"})));

        assert!(LabelSelector::from_json(&json!({}))
            .map(|s| s.is_empty())
            .unwrap_or(false));
        let nothing = LabelSelector::from_json(&Value::Null).unwrap_or_else(|e| panic!("{e}"));
        assert!(nothing.is_nothing() && !nothing.is_empty());
        assert!(!nothing.matches(&json!({})));

        let err = LabelSelector::from_json(
            &json!({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]}),
        );
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("\"Equals\" is not a valid label selector operator".to_string())
        );
        let err = LabelSelector::from_json(
            &json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
        );
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty".to_string())
        );
        let err = LabelSelector::from_json(
            &json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
        );
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist".to_string())
        );
        let err = LabelSelector::from_json(&json!({"matchLabels": {"a b": "c"}}));
        assert!(err
            .map_err(|e| e.to_string())
            .unwrap_err()
            .starts_with("key: Invalid value: \"a b\": name part must consist of"));
        for bad in [
            json!(1),
            json!({"matchLabels": []}),
            json!({"matchLabels": {"a": 1}}),
            json!({"matchExpressions": {}}),
            json!({"matchExpressions": [1]}),
            json!({"matchExpressions": [{"key": 1, "operator": "In"}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": [1]}]}),
        ] {
            assert!(LabelSelector::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_label_sources() {
        let sel = parse("app=web,!legacy");
        let mut hm = HashMap::new();
        hm.insert("app".to_string(), "web".to_string());
        assert!(sel.matches(&hm));
        let m = json!({"app": "web", "legacy": 1});
        // A non-string JSON label value counts as absent.
        assert!(sel.matches(&m));
        assert!(sel.matches(m.as_object().unwrap_or(&Map::new())));
        assert!(!sel.matches(&Value::Null));
        assert!(LabelSelector::everything().matches(&Value::Null));
        assert!(sel.matches_fn(|k| (k == "app").then(|| "web".to_string())));
        assert!(!sel.matches_fn(|_| Some("web".to_string())));
        assert!(sel.matches_object(&json!({"metadata": {"labels": {"app": "web"}}})));
        assert!(!sel.matches_object(&json!({"metadata": {}})));
        let borrowed: BTreeMap<&str, &str> = BTreeMap::from([("app", "web")]);
        assert!(sel.matches(&borrowed));
    }

    #[test]
    fn from_set_and_exact_match() {
        let sel = LabelSelector::from_set([("b", "2"), ("a", "1")]);
        assert_eq!(sel.to_string(), "a=1,b=2");
        assert_eq!(sel.requires_exact_match("a"), Some("1"));
        assert_eq!(sel.requires_exact_match("c"), None);
        assert!(LabelSelector::from_set([]).is_empty());
        assert_eq!(parse("x in (a)").requires_exact_match("x"), Some("a"));
        assert_eq!(parse("x in (a,b)").requires_exact_match("x"), None);
        assert_eq!(parse("x!=a").requires_exact_match("x"), None);
        let parsed: Result<LabelSelector, _> = "a=b".parse();
        assert_eq!(parsed.map(|s| s.to_string()), Ok("a=b".to_string()));
        assert!(LabelSelector::nothing()
            .add([req("a", Operator::Exists, &[])])
            .is_nothing());
    }
}
