//! The generic describer (custom resources and kinds without their own describer): every
//! field of the object under "smart" labels (`apiVersion` -> `API Version`).

use serde_json::Value;

use super::events;
use super::writer::{annotations_multiline, labels_multiline, s, string_map, Writer};
use super::Ctx;

const SKIP: [&str; 5] = [".metadata.managedFields", ".metadata.name", ".metadata.namespace", ".metadata.labels", ".metadata.annotations"];

/// The generic description.
pub async fn describe(ctx: &Ctx<'_>, obj: &Value) -> String {
    let evs = events::search(ctx, obj, true).await;
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(obj, "/metadata/name")));
    w.write(0, &format!("Namespace:\t{}\n", s(obj, "/metadata/namespace")));
    labels_multiline(&mut w, "", "Labels", &string_map(obj, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(obj, "/metadata/annotations"));
    if let Some(m) = obj.as_object() {
        content(&mut w, 0, m, "");
    }
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

fn content(w: &mut Writer, level: usize, map: &serde_json::Map<String, Value>, prefix: &str) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        let path = format!("{prefix}.{key}");
        if SKIP.contains(&path.as_str()) {
            continue;
        }
        match &map[key] {
            Value::Object(sub) => {
                w.write(level, &format!("{}:\n", smart_label(key)));
                content(w, level + 1, sub, &path);
            }
            Value::Array(items) => {
                w.write(level, &format!("{}:\n", smart_label(key)));
                for item in items {
                    match item {
                        Value::Object(sub) => content(w, level + 1, sub, &path),
                        other => w.write(level + 1, &format!("{}\n", crate::printers::table::go_sprint(other))),
                    }
                }
            }
            other => w.write(level, &format!("{}:\t{}\n", smart_label(key), crate::printers::table::go_sprint(other))),
        }
    }
}

/// `smartLabelFor`: camel case split into title-cased words, common acronyms upper-cased.
pub fn smart_label(field: &str) -> String {
    if field.chars().any(|c| !c.is_alphabetic() && c != '-') {
        return field.to_string();
    }
    split_camel(field)
        .into_iter()
        .filter(|p| p != "_")
        .map(|p| {
            let upper = p.to_uppercase();
            if ["API", "URL", "UID", "OSB", "GUID"].contains(&upper.as_str()) {
                upper
            } else {
                let mut c = p.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                    None => String::new(),
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// fatih/camelcase's `Split`: runs of lower case, upper case, digits and others, with the last
/// upper-case letter of a run moved to a following lower-case run (`HTTPServer` -> `HTTP Server`).
fn split_camel(s: &str) -> Vec<String> {
    let class = |c: char| if c.is_lowercase() { 1 } else if c.is_uppercase() { 2 } else if c.is_numeric() { 3 } else { 4 };
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in s.chars() {
        let k = class(c);
        if k == last && !runs.is_empty() {
            if let Some(r) = runs.last_mut() { r.push(c) }
        } else {
            runs.push(vec![c]);
        }
        last = k;
    }
    for i in 0..runs.len().saturating_sub(1) {
        if runs[i].first().is_some_and(|c| c.is_uppercase()) && runs[i + 1].first().is_some_and(|c| c.is_lowercase()) {
            if let Some(c) = runs[i].pop() {
                runs[i + 1].insert(0, c);
            }
        }
    }
    runs.into_iter().filter(|r| !r.is_empty()).map(|r| r.into_iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_labels() {
        assert_eq!(smart_label("apiVersion"), "API Version");
        assert_eq!(smart_label("creationTimestamp"), "Creation Timestamp");
        assert_eq!(smart_label("uid"), "UID");
        assert_eq!(smart_label("cronSpec"), "Cron Spec");
        assert_eq!(smart_label("HTTPServer"), "HTTP Server");
        assert_eq!(smart_label("a.b"), "a.b");
    }
}
