//! Kubernetes JSONPath templates (`k8s.io/client-go/util/jsonpath`): text with `{...}`
//! actions holding paths (`.a.b`, `[0]`, `[*]`, `[1:3]`, `..name`, `['key']`,
//! `[?(@.x=="y")]`), `range ... end` loops and quoted string literals. Results of one action
//! are joined with spaces; strings print raw, maps and lists as compact JSON.

use serde_json::Value;

use super::json::to_compact;
use super::table::go_sprint;

/// A template that could not be parsed or executed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum JsonPathError {
    /// Bad syntax.
    #[error("{0}")]
    Parse(String),
    /// A path could not be evaluated.
    #[error("{0}")]
    Eval(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Expr(Vec<Step>),
    Union(Vec<Vec<Step>>),
    Range(Vec<Step>, Vec<Node>),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Root,
    Current,
    Field(String),
    Wildcard,
    Recursive,
    Index(Vec<Slice>),
    Keys(Vec<String>),
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Slice {
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    single: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Operand,
    op: Option<String>,
    right: Option<Operand>,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Path(Vec<Step>),
    Literal(Value),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct JsonPath {
    nodes: Vec<Node>,
    allow_missing_keys: bool,
}

impl JsonPath {
    /// Parses a template such as `{.items[*].metadata.name}`.
    pub fn parse(template: &str) -> Result<Self, JsonPathError> {
        let mut parser = Parser { src: template.chars().collect(), pos: 0 };
        let nodes = parser.parse_template(false)?;
        Ok(JsonPath { nodes, allow_missing_keys: true })
    }

    /// Whether missing keys are errors (kubectl's `--allow-missing-template-keys=false`).
    pub fn allow_missing_keys(mut self, allow: bool) -> Self {
        self.allow_missing_keys = allow;
        self
    }

    /// Renders the template against `data`.
    pub fn execute(&self, data: &Value) -> Result<String, JsonPathError> {
        let mut out = String::new();
        self.run(&self.nodes, data, data, &mut out)?;
        Ok(out)
    }

    /// The values of each action (custom columns use the first action's values).
    pub fn find_results(&self, data: &Value) -> Result<Vec<Vec<Value>>, JsonPathError> {
        let mut all = Vec::new();
        for node in &self.nodes {
            match node {
                Node::Expr(steps) => all.push(self.eval(steps, data, data)?.into_iter().cloned().collect()),
                Node::Union(paths) => {
                    let mut vals = Vec::new();
                    for p in paths {
                        vals.extend(self.eval(p, data, data)?.into_iter().cloned());
                    }
                    all.push(vals);
                }
                Node::Text(t) => all.push(vec![Value::String(t.clone())]),
                Node::Range(..) => {}
            }
        }
        Ok(all)
    }

    fn run(&self, nodes: &[Node], root: &Value, cur: &Value, out: &mut String) -> Result<(), JsonPathError> {
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Expr(steps) => {
                    let vals = self.eval(steps, root, cur)?;
                    print_results(out, &vals);
                }
                Node::Union(paths) => {
                    let mut vals = Vec::new();
                    for p in paths {
                        vals.extend(self.eval(p, root, cur)?);
                    }
                    print_results(out, &vals);
                }
                Node::Range(steps, body) => {
                    for v in self.eval(steps, root, cur)? {
                        match v {
                            Value::Array(items) if steps_end_without_iteration(steps) => {
                                for item in items {
                                    self.run(body, root, item, out)?;
                                }
                            }
                            other => self.run(body, root, other, out)?,
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn eval<'a>(&self, steps: &[Step], root: &'a Value, cur: &'a Value) -> Result<Vec<&'a Value>, JsonPathError> {
        let mut vals: Vec<&'a Value> = vec![cur];
        for step in steps {
            let mut next = Vec::new();
            for v in vals {
                self.apply(step, root, v, &mut next)?;
            }
            vals = next;
        }
        Ok(vals)
    }

    fn apply<'a>(&self, step: &Step, root: &'a Value, v: &'a Value, next: &mut Vec<&'a Value>) -> Result<(), JsonPathError> {
        match step {
            Step::Root => next.push(root),
            Step::Current => next.push(v),
            Step::Field(name) => match v.get(name.as_str()) {
                Some(x) => next.push(x),
                None if self.allow_missing_keys || !v.is_object() => {}
                None => return Err(JsonPathError::Eval(format!("{name} is not found"))),
            },
            Step::Wildcard => match v {
                Value::Object(m) => {
                    let mut keys: Vec<&String> = m.keys().collect();
                    keys.sort();
                    next.extend(keys.into_iter().map(|k| &m[k]));
                }
                Value::Array(a) => next.extend(a.iter()),
                _ => {}
            },
            Step::Recursive => collect_recursive(v, next),
            Step::Keys(keys) => {
                for k in keys {
                    if let Some(x) = v.get(k.as_str()) {
                        next.push(x);
                    }
                }
            }
            Step::Index(slices) => self.apply_index(slices, v, next)?,
            Step::Filter(f) => {
                if let Value::Array(items) = v {
                    for item in items {
                        if self.filter_matches(f, root, item)? {
                            next.push(item);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn apply_index<'a>(&self, slices: &[Slice], v: &'a Value, next: &mut Vec<&'a Value>) -> Result<(), JsonPathError> {
        let Value::Array(items) = v else {
            return Ok(());
        };
        let len = items.len() as i64;
        for s in slices {
            if s.single {
                let mut i = s.start.unwrap_or(0);
                if i < 0 {
                    i += len;
                }
                if i < 0 || i >= len {
                    if self.allow_missing_keys {
                        continue;
                    }
                    return Err(JsonPathError::Eval(format!("array index out of bounds: index {}, length {len}", s.start.unwrap_or(0))));
                }
                next.push(&items[i as usize]);
                continue;
            }
            let norm = |x: i64| if x < 0 { (x + len).max(0) } else { x.min(len) };
            let start = norm(s.start.unwrap_or(0));
            let end = norm(s.end.unwrap_or(len));
            let step = s.step.unwrap_or(1).max(1) as usize;
            if start < end {
                next.extend(items[start as usize..end as usize].iter().step_by(step));
            }
        }
        Ok(())
    }

    fn filter_matches(&self, f: &Filter, root: &Value, item: &Value) -> Result<bool, JsonPathError> {
        let left = self.operand(&f.left, root, item)?;
        let (Some(op), Some(right)) = (&f.op, &f.right) else {
            return Ok(!left.is_empty());
        };
        let right = self.operand(right, root, item)?;
        let (Some(l), Some(r)) = (left.first(), right.first()) else {
            return Ok(false);
        };
        Ok(compare(l, op, r))
    }

    fn operand(&self, o: &Operand, root: &Value, item: &Value) -> Result<Vec<Value>, JsonPathError> {
        match o {
            Operand::Literal(v) => Ok(vec![v.clone()]),
            Operand::Path(steps) => Ok(self.eval(steps, root, item)?.into_iter().cloned().collect()),
        }
    }
}

fn steps_end_without_iteration(steps: &[Step]) -> bool {
    !matches!(steps.last(), Some(Step::Wildcard) | Some(Step::Filter(_)) | Some(Step::Recursive))
        && !matches!(steps.last(), Some(Step::Index(s)) if s.iter().any(|x| !x.single))
}

fn collect_recursive<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(v);
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                collect_recursive(&m[k], out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_recursive(x, out)),
        _ => {}
    }
}

fn compare(l: &Value, op: &str, r: &Value) -> bool {
    if let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) {
        return match op {
            "==" => a == b,
            "!=" => a != b,
            "<" => a < b,
            ">" => a > b,
            "<=" => a <= b,
            ">=" => a >= b,
            _ => false,
        };
    }
    let a = text_of(l);
    let b = text_of(r);
    match op {
        "==" => a == b,
        "!=" => a != b,
        "<" => a < b,
        ">" => a > b,
        "<=" => a <= b,
        ">=" => a >= b,
        _ => false,
    }
}

/// A value as the jsonpath printer writes it.
pub fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => to_compact(v),
        other => go_sprint(other),
    }
}

fn print_results(out: &mut String, vals: &[&Value]) {
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&text_of(v));
    }
}

struct Parser {
    src: Vec<char>,
    pos: usize,
}

impl Parser {
    fn err<T>(&self, msg: &str) -> Result<T, JsonPathError> {
        let text: String = self.src.iter().collect();
        Err(JsonPathError::Parse(format!("{msg}, parsing \"{text}\"")))
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.pos).copied()
    }

    fn parse_template(&mut self, in_range: bool) -> Result<Vec<Node>, JsonPathError> {
        let mut nodes = Vec::new();
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if c != '{' {
                text.push(c);
                self.pos += 1;
                continue;
            }
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(&mut text)));
            }
            let action = self.read_action()?;
            let trimmed = action.trim();
            if trimmed == "end" {
                if in_range {
                    return Ok(nodes);
                }
                return self.err("not in range");
            }
            if let Some(expr) = trimmed.strip_prefix("range ") {
                let steps = parse_path(expr.trim())?;
                let body = self.parse_template(true)?;
                nodes.push(Node::Range(steps, body));
                continue;
            }
            nodes.push(parse_action(trimmed)?);
        }
        if in_range {
            return self.err("unclosed range");
        }
        if !text.is_empty() {
            nodes.push(Node::Text(text));
        }
        Ok(nodes)
    }

    fn read_action(&mut self) -> Result<String, JsonPathError> {
        self.pos += 1;
        let mut s = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match quote {
                Some(q) => {
                    if c == '\\' {
                        s.push(c);
                        if let Some(n) = self.peek() {
                            s.push(n);
                            self.pos += 1;
                        }
                        continue;
                    }
                    if c == q {
                        quote = None;
                    }
                }
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c == '}' => return Ok(s),
                None => {}
            }
            s.push(c);
        }
        self.err("unclosed action")
    }
}

fn parse_action(action: &str) -> Result<Node, JsonPathError> {
    if action.starts_with('"') && action.ends_with('"') && action.len() >= 2 {
        return Ok(Node::Text(unquote(&action[1..action.len() - 1])));
    }
    let parts = split_top_level(action, ',');
    if parts.len() > 1 {
        let paths = parts.iter().map(|p| parse_path(p.trim())).collect::<Result<Vec<_>, _>>()?;
        return Ok(Node::Union(paths));
    }
    Ok(Node::Expr(parse_path(action)?))
}

fn unquote(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn split_top_level(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut cur = String::new();
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '(' => depth += 1,
                ']' | ')' => depth -= 1,
                c if c == sep && depth == 0 => {
                    parts.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            },
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
}

fn parse_path(expr: &str) -> Result<Vec<Step>, JsonPathError> {
    let chars: Vec<char> = expr.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '$' => {
                steps.push(Step::Root);
                i += 1;
            }
            '@' => {
                steps.push(Step::Current);
                i += 1;
            }
            '.' if chars.get(i + 1) == Some(&'.') => {
                steps.push(Step::Recursive);
                i += 2;
            }
            '.' => i += 1,
            '[' => {
                let end = matching_bracket(&chars, i)?;
                let inner: String = chars[i + 1..end].iter().collect();
                steps.push(parse_bracket(inner.trim())?);
                i = end + 1;
            }
            '*' => {
                steps.push(Step::Wildcard);
                i += 1;
            }
            ' ' => i += 1,
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], '.' | '[' | ' ') {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if name == "*" {
                    steps.push(Step::Wildcard);
                } else {
                    steps.push(Step::Field(name));
                }
            }
        }
    }
    Ok(steps)
}

fn matching_bracket(chars: &[char], open: usize) -> Result<usize, JsonPathError> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (j, &c) in chars.iter().enumerate().skip(open) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(j);
                    }
                }
                _ => {}
            },
        }
    }
    Err(JsonPathError::Parse("unterminated array".into()))
}

fn parse_bracket(inner: &str) -> Result<Step, JsonPathError> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(f) = inner.strip_prefix("?(").and_then(|s| s.strip_suffix(')')) {
        return Ok(Step::Filter(parse_filter(f.trim())?));
    }
    if inner.starts_with('\'') || inner.starts_with('"') {
        let keys = split_top_level(inner, ',').iter().map(|k| unquote(k.trim().trim_matches(['\'', '"']))).collect();
        return Ok(Step::Keys(keys));
    }
    let slices = split_top_level(inner, ',').iter().map(|p| parse_slice(p.trim())).collect::<Result<Vec<_>, _>>()?;
    Ok(Step::Index(slices))
}

fn parse_slice(s: &str) -> Result<Slice, JsonPathError> {
    let num = |x: &str| -> Result<Option<i64>, JsonPathError> {
        let x = x.trim();
        if x.is_empty() {
            return Ok(None);
        }
        x.parse::<i64>().map(Some).map_err(|_| JsonPathError::Parse(format!("invalid array index {x}")))
    };
    let parts: Vec<&str> = s.split(':').collect();
    match parts.len() {
        1 => Ok(Slice { start: num(parts[0])?, end: None, step: None, single: true }),
        2 => Ok(Slice { start: num(parts[0])?, end: num(parts[1])?, step: None, single: false }),
        3 => Ok(Slice { start: num(parts[0])?, end: num(parts[1])?, step: num(parts[2])?, single: false }),
        _ => Err(JsonPathError::Parse(format!("invalid array index {s}"))),
    }
}

fn parse_filter(f: &str) -> Result<Filter, JsonPathError> {
    for op in ["==", "!=", "<=", ">=", "<", ">"] {
        if let Some((l, r)) = split_op(f, op) {
            return Ok(Filter { left: parse_operand(l.trim())?, op: Some(op.into()), right: Some(parse_operand(r.trim())?) });
        }
    }
    Ok(Filter { left: parse_operand(f)?, op: None, right: None })
}

fn split_op<'a>(f: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let mut quote: Option<char> = None;
    let bytes = f.as_bytes();
    for (i, c) in f.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if f[i..].starts_with(op) => {
                let prev = if i > 0 { bytes[i - 1] } else { b' ' };
                if op.len() == 1 && matches!(prev, b'<' | b'>' | b'=' | b'!') {
                    continue;
                }
                if op.len() == 1 && f[i + 1..].starts_with('=') {
                    continue;
                }
                return Some((&f[..i], &f[i + op.len()..]));
            }
            None => {}
        }
    }
    None
}

fn parse_operand(s: &str) -> Result<Operand, JsonPathError> {
    if (s.starts_with('"') && s.ends_with('"') || s.starts_with('\'') && s.ends_with('\'')) && s.len() >= 2 {
        return Ok(Operand::Literal(Value::String(unquote(&s[1..s.len() - 1]))));
    }
    if let Ok(n) = s.parse::<i64>() {
        return Ok(Operand::Literal(Value::from(n)));
    }
    if let Ok(f) = s.parse::<f64>() {
        return Ok(Operand::Literal(Value::from(f)));
    }
    if s == "true" || s == "false" {
        return Ok(Operand::Literal(Value::Bool(s == "true")));
    }
    Ok(Operand::Path(parse_path(s)?))
}

/// kubectl's `RelaxedJSONPathExpression`: `.a.b`, `a.b` and `{.a.b}` all become `{.a.b}`.
pub fn relaxed(expr: &str) -> Result<String, JsonPathError> {
    let e = expr.trim();
    if e.is_empty() {
        return Ok(String::new());
    }
    let inner = if e.starts_with('{') && e.ends_with('}') { &e[1..e.len() - 1] } else { e };
    let inner = inner.trim();
    if inner.starts_with('.') || inner.starts_with('$') || inner.starts_with('@') {
        Ok(format!("{{{inner}}}"))
    } else {
        Ok(format!("{{.{inner}}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data() -> Value {
        json!({"kind": "List", "items": [
            {"metadata": {"name": "a", "labels": {"app": "x"}}, "spec": {"containers": [{"image": "nginx"}, {"image": "busybox"}]}, "status": {"phase": "Running", "n": 3}},
            {"metadata": {"name": "b"}, "spec": {"containers": [{"image": "redis"}]}, "status": {"phase": "Pending", "n": 1}}
        ]})
    }

    fn run(t: &str) -> String {
        JsonPath::parse(t).unwrap().execute(&data()).unwrap()
    }

    #[test]
    fn fields_wildcards_and_indexes() {
        assert_eq!(run("{.items[*].metadata.name}"), "a b");
        assert_eq!(run("{.items[0].spec.containers[1].image}"), "busybox");
        assert_eq!(run("{.items[-1].metadata.name}"), "b");
        assert_eq!(run("{.items[0:1].metadata.name}"), "a");
        assert_eq!(run("{.items[0].metadata.labels}"), "{\"app\":\"x\"}");
        assert_eq!(run("{.items[*].status.n}"), "3 1");
        assert_eq!(run("{.items[1].metadata.labels}"), "");
        assert_eq!(run("{..image}"), "nginx busybox redis");
        assert_eq!(run("{.items[0].metadata['name']}"), "a");
    }

    #[test]
    fn range_filters_and_literals() {
        assert_eq!(run("{range .items[*]}{.metadata.name}{\"\\t\"}{.status.phase}{\"\\n\"}{end}"), "a\tRunning\nb\tPending\n");
        assert_eq!(run("{.items[?(@.status.phase==\"Pending\")].metadata.name}"), "b");
        assert_eq!(run("{.items[?(@.status.n>2)].metadata.name}"), "a");
        assert_eq!(run("{.items[?(@.metadata.labels)].metadata.name}"), "a");
        assert_eq!(run("names: {.items[*].metadata.name}!"), "names: a b!");
    }

    #[test]
    fn relaxed_expressions_and_errors() {
        assert_eq!(relaxed(".metadata.name").unwrap(), "{.metadata.name}");
        assert_eq!(relaxed("metadata.name").unwrap(), "{.metadata.name}");
        assert_eq!(relaxed("{.metadata.name}").unwrap(), "{.metadata.name}");
        assert!(JsonPath::parse("{.a").is_err());
        let strict = JsonPath::parse("{.nope}").unwrap().allow_missing_keys(false);
        assert!(strict.execute(&json!({"a": 1})).is_err());
    }
}
