//! Upstream's describe `PrefixWriter` over a tab writer (padding 2): text at indentation
//! levels of two spaces, flushed in blocks, plus the shared formatting helpers (labels,
//! annotations, tolerations, RFC 1123 times).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::printers::tabwriter::TabWriter;

const MAX_ANNOTATION_LEN: usize = 140;

/// Accumulates a description.
pub struct Writer {
    tw: TabWriter,
    out: Vec<u8>,
}

impl Default for Writer {
    fn default() -> Self {
        Writer { tw: TabWriter::describe(), out: Vec::new() }
    }
}

impl Writer {
    /// Writes `text` indented by `level` (two spaces per level).
    pub fn write(&mut self, level: usize, text: &str) {
        let mut s = "  ".repeat(level);
        s.push_str(text);
        self.tw.write_str(&s.replace('\x1b', "^["));
    }

    /// Writes a whole line.
    pub fn line(&mut self, text: &str) {
        self.tw.write_str(text);
        self.tw.write_str("\n");
    }

    /// Ends the current alignment block.
    pub fn flush(&mut self) {
        let _ = self.tw.flush(&mut self.out);
    }

    /// The finished text.
    pub fn finish(mut self) -> String {
        self.flush();
        String::from_utf8(self.out).unwrap_or_default()
    }
}

/// A string field of a JSON value ("" when absent).
pub fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// A value as Go's `%v` prints it ("" for a missing value).
pub fn v(val: &Value, pointer: &str) -> String {
    match val.pointer(pointer) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => crate::printers::table::go_sprint(other),
    }
}

/// A string map (labels, annotations, selectors) as a sorted map.
pub fn string_map(val: &Value, pointer: &str) -> BTreeMap<String, String> {
    val.pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect())
        .unwrap_or_default()
}

/// `printLabelsMultilineWithIndent`.
pub fn labels_multiline(w: &mut Writer, initial_indent: &str, title: &str, labels: &BTreeMap<String, String>) {
    w.write(0, &format!("{initial_indent}{title}:\t"));
    if labels.is_empty() {
        w.line("<none>");
        return;
    }
    for (i, (k, v)) in labels.iter().enumerate() {
        if i != 0 {
            w.write(0, &format!("{initial_indent}\t"));
        }
        w.write(0, &format!("{k}={v}\n"));
    }
}

/// `printAnnotationsMultiline` (the last-applied annotation is skipped).
pub fn annotations_multiline(w: &mut Writer, title: &str, annotations: &BTreeMap<String, String>) {
    w.write(0, &format!("{title}:\t"));
    let keys: Vec<&String> = annotations.keys().filter(|k| *k != "kubectl.kubernetes.io/last-applied-configuration").collect();
    if keys.is_empty() {
        w.line("<none>");
        return;
    }
    for (i, key) in keys.iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        let value = annotations[*key].trim_end_matches('\n');
        if value.len() + key.len() + 2 > MAX_ANNOTATION_LEN || value.contains('\n') {
            w.write(0, &format!("{key}:\n"));
            for part in value.split('\n') {
                w.write(0, &format!("\t  {}\n", shorten(part, MAX_ANNOTATION_LEN - 2)));
            }
        } else {
            w.write(0, &format!("{key}: {value}\n"));
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s.to_string()
    }
}

/// `printPodTolerationsMultiline`.
pub fn tolerations_multiline(w: &mut Writer, initial_indent: &str, title: &str, tolerations: &[Value]) {
    w.write(0, &format!("{initial_indent}{title}:\t"));
    if tolerations.is_empty() {
        w.line("<none>");
        return;
    }
    let mut sorted: Vec<&Value> = tolerations.iter().collect();
    sorted.sort_by(|a, b| s(a, "/key").cmp(s(b, "/key")));
    for (i, t) in sorted.iter().enumerate() {
        if i != 0 {
            w.write(0, &format!("{initial_indent}\t"));
        }
        let (key, value, effect) = (s(t, "/key"), s(t, "/value"), s(t, "/effect"));
        let mut text = key.to_string();
        if !value.is_empty() {
            text.push_str(&format!("={value}"));
        }
        if !effect.is_empty() {
            text.push_str(&format!(":{effect}"));
        }
        if s(t, "/operator") == "Exists" && value.is_empty() {
            text.push_str(if !key.is_empty() || !effect.is_empty() { " op=Exists" } else { "op=Exists" });
        }
        if let Some(secs) = t.get("tolerationSeconds").and_then(Value::as_i64) {
            text.push_str(&format!(" for {secs}s"));
        }
        w.write(0, &format!("{text}\n"));
    }
}

/// A RFC 3339 time as Go's `time.RFC1123Z` in the local zone (`Mon, 02 Jan 2006 15:04:05 -0700`).
pub fn rfc1123z(ts: &str) -> String {
    use k8s_openapi::jiff::{tz::TimeZone, Timestamp};
    match ts.parse::<Timestamp>() {
        Ok(t) => t.to_zoned(TimeZone::system()).strftime("%a, %d %b %Y %H:%M:%S %z").to_string(),
        Err(_) => "Mon, 01 Jan 0001 00:00:00 +0000".into(),
    }
}

/// A label selector (`matchLabels`/`matchExpressions`) as upstream formats it; `<none>` for an
/// empty one when `none_for_empty`.
pub fn format_selector(sel: Option<&Value>, none_for_empty: bool) -> String {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return if none_for_empty { "<none>".into() } else { String::new() };
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        for k in keys {
            parts.push(format!("{k}={}", m[k].as_str().unwrap_or("")));
        }
    }
    for e in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = s(e, "/key");
        let values: Vec<&str> = e.get("values").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        match s(e, "/operator") {
            "In" => parts.push(format!("{key} in ({})", values.join(","))),
            "NotIn" => parts.push(format!("{key} notin ({})", values.join(","))),
            "Exists" => parts.push(key.to_string()),
            "DoesNotExist" => parts.push(format!("!{key}")),
            op => parts.push(format!("{key} {op} {}", values.join(","))),
        }
    }
    if parts.is_empty() {
        return if none_for_empty { "<none>".into() } else { String::new() };
    }
    parts.join(",")
}

/// An array field of a JSON value (empty when absent).
pub fn arr<'a>(val: &'a Value, pointer: &str) -> &'a [Value] {
    val.pointer(pointer).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// An integer field of a JSON value (0 when absent).
pub fn int(val: &Value, pointer: &str) -> i64 {
    val.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// A quantity field as upstream's `Quantity.String()` prints it ("0" when absent).
pub fn quantity(val: &Value, pointer: &str) -> String {
    match val.pointer(pointer) {
        None | Some(Value::Null) => "0".into(),
        Some(q) => rkube_apimachinery::quantity::Quantity::from_json(q).map(|q| q.to_string()).unwrap_or_else(|_| v(val, pointer)),
    }
}

/// A string list as Go's `%v` prints a `[]string` (`[a b]`).
pub fn go_list(val: &Value, pointer: &str) -> String {
    let items: Vec<String> = arr(val, pointer).iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| crate::printers::table::go_sprint(x))).collect();
    format!("[{}]", items.join(" "))
}

/// `printNodeTaintsMultiline`: taints sorted by effect then key, as `key=value:effect`.
pub fn taints_multiline(w: &mut Writer, title: &str, taints: &[Value]) {
    w.write(0, &format!("{title}:\t"));
    if taints.is_empty() {
        w.line("<none>");
        return;
    }
    let mut sorted: Vec<&Value> = taints.iter().collect();
    sorted.sort_by_key(|t| format!("{},{}", s(t, "/effect"), s(t, "/key")));
    for (i, t) in sorted.iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        let mut text = s(t, "/key").to_string();
        if !s(t, "/value").is_empty() {
            text.push_str(&format!("={}", s(t, "/value")));
        }
        if !s(t, "/effect").is_empty() {
            text.push_str(&format!(":{}", s(t, "/effect")));
        }
        w.write(0, &format!("{text}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_and_annotations() {
        let mut w = Writer::default();
        w.write(0, "Name:\tx\n");
        let labels: BTreeMap<String, String> = [("app".to_string(), "p1".to_string()), ("tier".to_string(), "x".to_string())].into();
        labels_multiline(&mut w, "", "Labels", &labels);
        annotations_multiline(&mut w, "Annotations", &BTreeMap::new());
        assert_eq!(w.finish(), "Name:         x\nLabels:       app=p1\n              tier=x\nAnnotations:  <none>\n");
    }

    #[test]
    fn selectors_and_tolerations() {
        assert_eq!(format_selector(Some(&json!({"matchLabels": {"b": "2", "a": "1"}})), true), "a=1,b=2");
        assert_eq!(format_selector(None, true), "<none>");
        let mut w = Writer::default();
        tolerations_multiline(&mut w, "", "Tolerations", &[json!({"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})]);
        assert_eq!(w.finish(), "Tolerations:  k:NoExecute op=Exists for 300s\n");
    }
}
