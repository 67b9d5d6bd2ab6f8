//! Output printers: server-side tables ([`table`]) through a Go-compatible tab writer
//! ([`tabwriter`]), JSON ([`json`]), YAML ([`yaml`]), `-o name`, JSONPath ([`jsonpath`]) and
//! custom columns ([`custom_columns`]). [`OutputFormat`] parses `-o`.

pub mod custom_columns;
pub mod go_typed;
pub mod json;
pub mod jsonpath;
pub mod table;
pub mod tabwriter;
pub mod yaml;

use std::io::Write;

use serde_json::Value;

use self::custom_columns::Column;
use self::jsonpath::{JsonPath, JsonPathError};
use self::tabwriter::TabWriter;

/// Why an output format cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// `-o` names no known printer.
    #[error("unable to match a printer suitable for the output format \"{0}\", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml")]
    Unknown(String),
    /// A JSONPath template is invalid.
    #[error("error parsing jsonpath {template}, {source}")]
    JsonPath {
        /// The template.
        template: String,
        /// The parse error.
        source: JsonPathError,
    },
    /// A template file could not be read.
    #[error("error reading --template {path}, {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A JSONPath failed on an object.
    #[error("error executing jsonpath {template:?}: {source}")]
    Execute {
        /// The template.
        template: String,
        /// The failure.
        source: JsonPathError,
    },
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A parsed `-o` value.
#[derive(Debug, Clone)]
pub enum OutputFormat {
    /// Human-readable server-side table (`""` or `wide`).
    Table {
        /// `-o wide`.
        wide: bool,
    },
    /// `-o json`.
    Json,
    /// `-o yaml`.
    Yaml,
    /// `-o name`.
    Name,
    /// `-o jsonpath=...` (the template text kept for messages).
    JsonPath(JsonPath, String, bool),
    /// `-o custom-columns=...`.
    CustomColumns(Vec<Column>),
}

impl OutputFormat {
    /// Parses `-o` (with `--template` for bare `jsonpath`).
    pub fn parse(output: &str, template: Option<&str>) -> Result<Self, PrintError> {
        let (kind, arg) = match output.split_once('=') {
            Some((k, a)) => (k, Some(a.to_string())),
            None => (output, template.map(str::to_string)),
        };
        match kind {
            "" => Ok(OutputFormat::Table { wide: false }),
            "wide" => Ok(OutputFormat::Table { wide: true }),
            "json" => Ok(OutputFormat::Json),
            "yaml" => Ok(OutputFormat::Yaml),
            "name" => Ok(OutputFormat::Name),
            "jsonpath" | "jsonpath-as-json" => Self::jsonpath(arg.unwrap_or_default(), kind == "jsonpath-as-json"),
            "jsonpath-file" => Self::jsonpath(read_file(arg.as_deref())?, false),
            "custom-columns" => Ok(OutputFormat::CustomColumns(custom_columns::parse_spec(arg.as_deref().unwrap_or("")).map_err(
                |source| PrintError::JsonPath { template: arg.clone().unwrap_or_default(), source },
            )?)),
            "custom-columns-file" => {
                let text = read_file(arg.as_deref())?;
                Ok(OutputFormat::CustomColumns(
                    custom_columns::parse_file(&text).map_err(|source| PrintError::JsonPath { template: text.clone(), source })?,
                ))
            }
            other => Err(PrintError::Unknown(other.to_string())),
        }
    }

    fn jsonpath(template: String, as_json: bool) -> Result<Self, PrintError> {
        let parsed = JsonPath::parse(&template).map_err(|source| PrintError::JsonPath { template: template.clone(), source })?;
        Ok(OutputFormat::JsonPath(parsed, template, as_json))
    }

    /// Whether this is the human-readable table printer.
    pub fn is_table(&self) -> bool {
        matches!(self, OutputFormat::Table { .. })
    }
}

fn read_file(path: Option<&str>) -> Result<String, PrintError> {
    let path = path.unwrap_or("");
    std::fs::read_to_string(path).map_err(|e| PrintError::File { path: path.into(), message: e.to_string() })
}

/// Removes `metadata.managedFields` from an object and its list items (kubectl's default).
pub fn strip_managed_fields(obj: &mut Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    if let Some(items) = obj.get_mut("items").and_then(Value::as_array_mut) {
        items.iter_mut().for_each(strip_managed_fields);
    }
}

/// `kind.group/name` for an object from its `apiVersion`, `kind` and name.
pub fn object_name(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("").to_lowercase();
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    match api_version.split_once('/') {
        Some((group, _)) if !group.is_empty() => format!("{kind}.{group}/{name}"),
        _ if kind.is_empty() => name.to_string(),
        _ => format!("{kind}/{name}"),
    }
}

/// Prints objects with a non-table format. `count` tracks documents already printed (YAML
/// separates documents with `---`).
pub struct GenericPrinter {
    /// The format.
    pub format: OutputFormat,
    /// `--no-headers` (custom columns).
    pub no_headers: bool,
    /// `--show-managed-fields`.
    pub show_managed_fields: bool,
    /// Whether JSON keys are sorted (objects from the server) or kept in order (objects built
    /// locally, which Go prints in struct field order).
    pub sort_keys: bool,
    count: usize,
}

impl GenericPrinter {
    /// A printer for `format`.
    pub fn new(format: OutputFormat) -> Self {
        GenericPrinter { format, no_headers: false, show_managed_fields: false, sort_keys: true, count: 0 }
    }

    /// Prints one object (or list).
    pub fn print(&mut self, obj: &Value, out: &mut dyn Write) -> Result<(), PrintError> {
        let stripped;
        let obj = if self.show_managed_fields {
            obj
        } else {
            let mut o = obj.clone();
            strip_managed_fields(&mut o);
            stripped = o;
            &stripped
        };
        self.count += 1;
        match &self.format {
            OutputFormat::Json if self.sort_keys => out.write_all(json::to_pretty(obj).as_bytes())?,
            OutputFormat::Json => out.write_all(json::to_pretty_ordered(obj).as_bytes())?,
            OutputFormat::Yaml => {
                if self.count > 1 {
                    out.write_all(b"---\n")?;
                }
                out.write_all(yaml::to_yaml(obj).as_bytes())?
            }
            OutputFormat::Name => print_names(obj, out)?,
            OutputFormat::JsonPath(path, template, as_json) => {
                let text = if *as_json {
                    let results = path.find_results(obj).map_err(|source| PrintError::Execute { template: template.clone(), source })?;
                    let flat: Vec<Value> = results.into_iter().flatten().collect();
                    json::to_pretty(&Value::Array(flat))
                } else {
                    path.execute(obj).map_err(|source| PrintError::Execute { template: template.clone(), source })?
                };
                out.write_all(text.as_bytes())?
            }
            OutputFormat::CustomColumns(cols) => {
                let mut tw = TabWriter::kubectl();
                custom_columns::print(cols, obj, self.no_headers || self.count > 1, &mut tw)
                    .map_err(|source| PrintError::Execute { template: String::new(), source })?;
                tw.flush(out)?;
            }
            OutputFormat::Table { .. } => out.write_all(json::to_pretty(obj).as_bytes())?,
        }
        Ok(())
    }
}

fn print_names(obj: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    if custom_columns::is_list(obj) {
        for item in obj["items"].as_array().into_iter().flatten() {
            writeln!(out, "{}", object_name(item))?;
        }
        return Ok(());
    }
    writeln!(out, "{}", object_name(obj))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_formats() {
        assert!(matches!(OutputFormat::parse("", None).unwrap(), OutputFormat::Table { wide: false }));
        assert!(matches!(OutputFormat::parse("wide", None).unwrap(), OutputFormat::Table { wide: true }));
        assert!(matches!(OutputFormat::parse("jsonpath={.a}", None).unwrap(), OutputFormat::JsonPath(..)));
        assert!(matches!(OutputFormat::parse("jsonpath", Some("{.a}")).unwrap(), OutputFormat::JsonPath(..)));
        assert!(OutputFormat::parse("xml", None).is_err());
    }

    #[test]
    fn names_and_yaml_documents() {
        let mut out = Vec::new();
        let mut p = GenericPrinter::new(OutputFormat::Name);
        p.print(&json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}), &mut out).unwrap();
        p.print(&json!({"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}]}), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "deployment.apps/web\npod/p\n");
        let mut out = Vec::new();
        let mut p = GenericPrinter::new(OutputFormat::Yaml);
        let obj = json!({"a": 1, "metadata": {"managedFields": [1], "name": "x"}});
        p.print(&obj, &mut out).unwrap();
        p.print(&obj, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a: 1\nmetadata:\n  name: x\n---\na: 1\nmetadata:\n  name: x\n");
    }
}
