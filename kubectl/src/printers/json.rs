//! JSON as Go's `encoding/json` writes an unstructured object: map keys sorted, `<`, `>`, `&`,
//! U+2028 and U+2029 escaped, 4-space indentation for `-o json` (`json.MarshalIndent`).

use serde_json::Value;

use crate::util::go_format_float;

/// `json.MarshalIndent(v, "", "    ")` plus the newline kubectl adds.
pub fn to_pretty(v: &Value) -> String {
    let mut out = String::with_capacity(1024);
    write_value(&mut out, v, Some(0), true);
    out.push('\n');
    out
}

/// Like [`to_pretty`] but keeping the objects' key order, as Go prints a typed struct.
pub fn to_pretty_ordered(v: &Value) -> String {
    let mut out = String::with_capacity(1024);
    write_value(&mut out, v, Some(0), false);
    out.push('\n');
    out
}

/// `json.Marshal(v)`: compact, keys sorted.
pub fn to_compact(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, None, true);
    out
}

fn newline(out: &mut String, indent: Option<usize>) {
    if let Some(level) = indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str("    ");
        }
    }
}

fn write_value(out: &mut String, v: &Value, indent: Option<usize>, sort: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_number(n)),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            let inner = indent.map(|l| l + 1);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, inner);
                write_value(out, item, inner, sort);
            }
            newline(out, indent);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<&String> = map.keys().collect();
            if sort {
                keys.sort();
            }
            out.push('{');
            let inner = indent.map(|l| l + 1);
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, inner);
                write_string(out, k);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_value(out, &map[*k], inner, sort);
            }
            newline(out, indent);
            out.push('}');
        }
    }
}

/// A number as Go's encoder writes a float64 or int64.
fn json_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 1e21 {
        return format!("{f:.0}");
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go: 'e' format with the exponent's leading zero dropped (1e-07 -> 1e-7).
        let s = go_format_float(f);
        return s.replace("e-0", "e-").replace("e+0", "e+");
    }
    format!("{f}")
}

/// A JSON string with Go's escaping (HTML-safe).
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_sorted_and_escaped() {
        let v = json!({"kind": "List", "apiVersion": "v1", "items": [], "metadata": {"a": "<x&y>", "n": 1.5, "e": {}}});
        assert_eq!(
            to_pretty(&v),
            "{\n    \"apiVersion\": \"v1\",\n    \"items\": [],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"a\": \"\\u003cx\\u0026y\\u003e\",\n        \"e\": {},\n        \"n\": 1.5\n    }\n}\n"
        );
        assert_eq!(to_compact(&json!({"b": [1, "x"], "a": null})), "{\"a\":null,\"b\":[1,\"x\"]}");
    }
}
