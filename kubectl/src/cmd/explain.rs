//! `kubectl explain RESOURCE[.FIELD...]`: documentation of a kind or field from the server's
//! OpenAPI v3 document, in upstream's plaintext layout (descriptions wrapped at 76 columns).

use std::io::Write;

use serde_json::Value;

use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Flags of `kubectl explain`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// RESOURCE[.FIELD...]
    pub target: String,
    /// Get a specific API version (API group/version).
    #[arg(long)]
    pub api_version: Option<String>,
    /// Print the fields of fields (not supported: prints one level).
    #[arg(long)]
    pub recursive: bool,
}

struct Schemas<'a>(&'a serde_json::Map<String, Value>);

impl<'a> Schemas<'a> {
    fn resolve(&self, schema: &'a Value) -> (&'a Value, Option<String>) {
        let reference = schema
            .get("$ref")
            .or_else(|| schema.get("allOf").and_then(Value::as_array).and_then(|a| a.first()).and_then(|x| x.get("$ref")))
            .and_then(Value::as_str);
        match reference {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or(r).to_string();
                match self.0.get(&name) {
                    Some(def) => (def, Some(name)),
                    None => (schema, Some(name)),
                }
            }
            None => (schema, None),
        }
    }

    fn type_name(&self, schema: &Value) -> String {
        let (resolved, name) = self.resolve(schema);
        if let Some(n) = name {
            return n.rsplit('.').next().unwrap_or(&n).to_string();
        }
        if resolved.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
            return "IntOrString".into();
        }
        match resolved.get("type").and_then(Value::as_str) {
            Some("array") => format!("[]{}", resolved.get("items").map(|i| self.type_name(i)).unwrap_or_else(|| "Object".into())),
            Some("object") => match resolved.get("additionalProperties").filter(|a| a.is_object()) {
                Some(ap) => format!("map[string]{}", self.type_name(ap)),
                None => "Object".into(),
            },
            Some(t) => t.to_string(),
            None => "Object".into(),
        }
    }
}

/// mitchellh/go-wordwrap's `WrapString`: breaks before a word that would pass `lim`
/// runes, keeping the original spacing elsewhere and existing line breaks.
pub fn wrap(s: &str, lim: usize) -> Vec<String> {
    let mut buf = String::new();
    let (mut current, mut word, mut space) = (0usize, String::new(), String::new());
    let (mut word_len, mut space_len) = (0usize, 0usize);
    for ch in s.chars() {
        if ch == '\n' {
            if word.is_empty() {
                if current + space_len <= lim {
                    buf.push_str(&space);
                }
            } else {
                buf.push_str(&space);
                buf.push_str(&word);
            }
            space.clear();
            word.clear();
            space_len = 0;
            word_len = 0;
            buf.push('\n');
            current = 0;
        } else if ch.is_whitespace() && ch != '\u{a0}' {
            if space.is_empty() || !word.is_empty() {
                current += space_len + word_len;
                buf.push_str(&space);
                buf.push_str(&word);
                space.clear();
                word.clear();
                space_len = 0;
                word_len = 0;
            }
            space.push(ch);
            space_len += 1;
        } else {
            word.push(ch);
            word_len += 1;
            if current + space_len + word_len > lim && word_len < lim {
                buf.push('\n');
                current = 0;
                space.clear();
                space_len = 0;
            }
        }
    }
    if word.is_empty() {
        if current + space_len <= lim {
            buf.push_str(&space);
        }
    } else {
        buf.push_str(&space);
        buf.push_str(&word);
    }
    buf.split('\n').map(str::to_string).collect()
}

fn write_wrapped(out: &mut String, text: &str, indent: usize) {
    let pad = " ".repeat(indent);
    for l in wrap(text, 76) {
        out.push_str(&pad);
        out.push_str(&l);
        out.push('\n');
    }
}

/// `kubectl explain`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let segments: Vec<&str> = a.target.split('.').collect();
    let mapper = f.mapper().await?;
    let mut found = None;
    for k in (1..=segments.len()).rev() {
        if let Ok(m) = mapper.resolve(&segments[..k].join(".")) {
            found = Some((m, segments[k..].iter().map(|s| s.to_string()).collect::<Vec<String>>()));
            break;
        }
    }
    let (mapping, path) = match found {
        Some(x) => x,
        None => return Err(CmdError::Verbatim(mapper.resolve(segments[0]).unwrap_err().to_string())),
    };
    let client = f.client().await?;
    let doc = crate::openapi::group_version_document(client, &mapping).await?;
    let schemas = doc.pointer("/components/schemas").and_then(Value::as_object).ok_or_else(|| CmdError::msg("couldn't find the OpenAPI schemas"))?;
    let s = Schemas(schemas);
    let root_name = crate::openapi::definition_name(&doc, &mapping.group, &mapping.version, &mapping.kind)
        .ok_or_else(|| CmdError::msg(format!("couldn't find resource for \"{}\"", mapping.group_kind())))?;
    let mut current = &schemas[&root_name];
    let mut field_line = None;
    let mut description = current.get("description").and_then(Value::as_str).unwrap_or("").to_string();
    for (i, field) in path.iter().enumerate() {
        let (resolved, _) = s.resolve(current);
        let holder = if resolved.get("type").and_then(Value::as_str) == Some("array") { s.resolve(resolved.get("items").unwrap_or(&Value::Null)).0 } else { resolved };
        let Some(prop) = holder.pointer(&format!("/properties/{field}")) else {
            return Err(CmdError::msg(format!("field {:?} does not exist", path[..=i].join("."))));
        };
        field_line = Some(format!("FIELD: {field} <{}>", s.type_name(prop)));
        let (target, _) = s.resolve(prop);
        let target = if target.get("type").and_then(Value::as_str) == Some("array") { s.resolve(target.get("items").unwrap_or(&Value::Null)).0 } else { target };
        let mut d = prop.get("description").and_then(Value::as_str).unwrap_or("").to_string();
        if let Some(td) = target.get("description").and_then(Value::as_str).filter(|td| !std::ptr::eq(target, prop) && !td.is_empty()) {
            d = format!("{d}\n{td}");
        }
        description = d;
        current = prop;
    }
    let mut out = String::new();
    if !mapping.group.is_empty() {
        out.push_str(&format!("GROUP:      {}\n", mapping.group));
    }
    out.push_str(&format!("KIND:       {}\nVERSION:    {}\n\n", mapping.kind, mapping.version));
    if let Some(fl) = field_line {
        out.push_str(&format!("{fl}\n\n\n"));
    }
    out.push_str("DESCRIPTION:\n");
    write_wrapped(&mut out, &description, 4);
    out.push_str("    \n");
    let (resolved, _) = s.resolve(current);
    let resolved = if resolved.get("type").and_then(Value::as_str) == Some("array") { s.resolve(resolved.get("items").unwrap_or(&Value::Null)).0 } else { resolved };
    if let Some(props) = resolved.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> = resolved.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        out.push_str("FIELDS:\n");
        let mut names: Vec<&String> = props.keys().collect();
        names.sort();
        for name in names {
            let p = &props[name];
            let req = if required.contains(&name.as_str()) { " -required-" } else { "" };
            out.push_str(&format!("  {name}\t<{}>{req}\n", s.type_name(p)));
            write_wrapped(&mut out, p.get("description").and_then(Value::as_str).unwrap_or(""), 4);
            out.push('\n');
        }
    }
    out.push('\n');
    streams.out.write_all(out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_width() {
        let lines = wrap("aaa bbb ccc\nddd", 7);
        assert_eq!(lines, vec!["aaa bbb", "ccc", "ddd"]);
        assert_eq!(wrap("a.  b", 10), vec!["a.  b"]);
        assert_eq!(wrap("https://a-very-long-url", 5), vec!["https://a-very-long-url"]);
    }
}
