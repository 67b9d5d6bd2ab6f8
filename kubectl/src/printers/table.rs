//! Printing server-side Tables (`meta.k8s.io/v1 Table`) as kubectl's human-readable printer
//! does: upper-case headers, priority-0 columns unless `-o wide`, an optional NAMESPACE
//! column first, `kind.group/` before names when several types are printed, label columns
//! (`-L`) and LABELS (`--show-labels`) last; cells cut at the first line break.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::tabwriter::TabWriter;
use crate::util::go_format_number;

/// A column of a Table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ColumnDefinition {
    /// Column name (printed upper-cased).
    pub name: String,
    /// Value type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Format hint (`name` marks the name column).
    pub format: String,
    /// 0 for default columns, higher for `-o wide` only.
    pub priority: i32,
}

/// The metadata of a row's object (what decoration needs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RowObjectMeta {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Creation time.
    #[serde(rename = "creationTimestamp")]
    pub creation_timestamp: Option<String>,
}

/// A row's embedded object, reduced to its metadata.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RowObject {
    /// The object's metadata.
    pub metadata: RowObjectMeta,
}

/// One row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TableRow {
    /// Cell values, one per column definition.
    pub cells: Vec<Value>,
    /// The object's metadata (with `includeObject=Metadata`).
    pub object: Option<RowObject>,
    /// The full object, kept only when sorting needs it.
    #[serde(skip)]
    pub full: Option<Value>,
}

/// List metadata of a Table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListMeta {
    /// Resource version of the list.
    #[serde(rename = "resourceVersion")]
    pub resource_version: String,
    /// Continue token for the next page.
    #[serde(rename = "continue")]
    pub continue_: String,
}

/// A server-side Table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Table {
    /// Columns.
    pub column_definitions: Vec<ColumnDefinition>,
    /// Rows.
    pub rows: Vec<TableRow>,
    /// List metadata.
    pub metadata: ListMeta,
}

/// How tables are decorated (upstream's `PrintOptions`).
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// `-o wide`.
    pub wide: bool,
    /// `--no-headers`.
    pub no_headers: bool,
    /// Prepend a NAMESPACE column.
    pub with_namespace: bool,
    /// Prefix names with `kind.group/` (lower case).
    pub kind_prefix: Option<String>,
    /// `-L` label columns.
    pub column_labels: Vec<String>,
    /// `--show-labels`.
    pub show_labels: bool,
}

/// Prints tables into a tab writer; remembers columns so headers print once per type.
#[derive(Debug, Clone, Default)]
pub struct TablePrinter {
    /// Decoration options.
    pub options: TableOptions,
    last_columns: Vec<ColumnDefinition>,
    printed_headers: bool,
}

impl TablePrinter {
    /// A printer with these options.
    pub fn new(options: TableOptions) -> Self {
        TablePrinter { options, last_columns: Vec::new(), printed_headers: false }
    }

    /// Prints one table (one list page or one object), with the watch event type if any.
    pub fn print(&mut self, table: &Table, event: Option<&str>, w: &mut TabWriter) {
        let mut no_headers = self.options.no_headers;
        let columns = if table.column_definitions.is_empty() {
            if self.printed_headers {
                no_headers = true;
            }
            self.last_columns.clone()
        } else {
            if self.printed_headers && table.column_definitions == self.last_columns {
                no_headers = true;
            }
            if table.column_definitions != self.last_columns {
                self.last_columns = table.column_definitions.clone();
                self.printed_headers = false;
            }
            table.column_definitions.clone()
        };
        if !table.rows.is_empty() {
            self.printed_headers = true;
        }
        let visible: Vec<usize> = (0..columns.len()).filter(|&i| self.options.wide || columns[i].priority == 0).collect();
        if !no_headers && !table.rows.is_empty() {
            w.write_str(&self.header(&columns, &visible, event.is_some()));
        }
        let name_col = self.name_column(&columns);
        let mut line = String::with_capacity(128);
        for row in &table.rows {
            line.clear();
            self.row(&mut line, row, &visible, name_col, event);
            w.write_str(&line);
        }
    }

    fn name_column(&self, columns: &[ColumnDefinition]) -> Option<usize> {
        self.options.kind_prefix.as_ref()?;
        columns.iter().position(|c| c.format == "name" && c.type_ == "string")
    }

    fn header(&self, columns: &[ColumnDefinition], visible: &[usize], event: bool) -> String {
        let mut names: Vec<String> = Vec::new();
        if event {
            names.push("EVENT".into());
        }
        if self.options.with_namespace {
            names.push("NAMESPACE".into());
        }
        names.extend(visible.iter().map(|&i| columns[i].name.to_uppercase()));
        for l in &self.options.column_labels {
            names.push(l.rsplit('/').next().unwrap_or(l).to_uppercase());
        }
        if self.options.show_labels {
            names.push("LABELS".into());
        }
        let mut s = names.join("\t");
        s.push('\n');
        s
    }

    fn row(&self, line: &mut String, row: &TableRow, visible: &[usize], name_col: Option<usize>, event: Option<&str>) {
        let meta = row.object.as_ref().map(|o| &o.metadata);
        let mut first = true;
        let mut sep = |line: &mut String| {
            if !first {
                line.push('\t');
            }
            first = false;
        };
        if let Some(e) = event {
            sep(line);
            line.push_str(&format_event_type(e));
        }
        if self.options.with_namespace {
            sep(line);
            line.push_str(meta.map(|m| m.namespace.as_str()).unwrap_or(""));
        }
        for &i in visible {
            sep(line);
            let cell = row.cells.get(i).unwrap_or(&Value::Null);
            if Some(i) == name_col {
                line.push_str(self.options.kind_prefix.as_deref().unwrap_or(""));
                line.push('/');
            }
            push_cell(line, cell);
        }
        let labels = meta.map(|m| &m.labels);
        for key in &self.options.column_labels {
            sep(line);
            if let Some(v) = labels.and_then(|l| l.get(key)) {
                line.push_str(v);
            }
        }
        if self.options.show_labels {
            sep(line);
            if let Some(l) = labels {
                line.push_str(&format_labels(l));
            }
        }
        line.push('\n');
    }
}

fn format_event_type(e: &str) -> String {
    match e {
        "ADDED" => "ADDED   ".into(),
        "MODIFIED" => "MODIFIED".into(),
        "DELETED" => "DELETED ".into(),
        "ERROR" => "ERROR   ".into(),
        other => other.into(),
    }
}

/// Appends a cell as upstream prints it: strings cut at the first line break with `...`,
/// other values as Go's `fmt.Sprint`.
pub fn push_cell(line: &mut String, cell: &Value) {
    match cell {
        Value::Null => {}
        Value::String(s) => match s.find(['\n', '\r', '\x0c']) {
            Some(pos) => {
                push_escaped(line, &s[..pos]);
                line.push_str("...");
            }
            None => push_escaped(line, s),
        },
        other => line.push_str(&go_sprint(other)),
    }
}

fn push_escaped(line: &mut String, s: &str) {
    if s.contains('\x1b') {
        line.push_str(&s.replace('\x1b', "^["));
    } else {
        line.push_str(s);
    }
}

/// Go's `fmt.Sprint` of a decoded JSON value.
pub fn go_sprint(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_format_number(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(go_sprint).collect::<Vec<_>>().join(" ")),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys.iter().map(|k| format!("{k}:{}", go_sprint(&map[*k]))).collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Labels as `k=v,k2=v2` sorted by key, `<none>` when empty (upstream's `FormatLabels`).
pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "<none>".into();
    }
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        serde_json::from_value(serde_json::json!({
            "columnDefinitions": [
                {"name": "Name", "type": "string", "format": "name", "priority": 0},
                {"name": "Ready", "type": "string", "format": "", "priority": 0},
                {"name": "IP", "type": "string", "format": "", "priority": 1},
                {"name": "Restarts", "type": "integer", "format": "", "priority": 0}
            ],
            "rows": [
                {"cells": ["web-1", "1/1", "10.0.0.1", 0], "object": {"metadata": {"name": "web-1", "namespace": "ns1", "labels": {"app": "web", "tier": "fe"}}}},
                {"cells": ["db", "0/1", null, 12], "object": {"metadata": {"name": "db", "namespace": "ns2"}}}
            ]
        }))
        .unwrap()
    }

    fn render(options: TableOptions) -> String {
        let mut tw = TabWriter::kubectl();
        TablePrinter::new(options).print(&table(), None, &mut tw);
        tw.into_string()
    }

    #[test]
    fn default_columns() {
        assert_eq!(render(TableOptions::default()), "NAME    READY   RESTARTS\nweb-1   1/1     0\ndb      0/1     12\n");
    }

    #[test]
    fn wide_namespace_kind_and_labels() {
        let out = render(TableOptions {
            wide: true,
            with_namespace: true,
            kind_prefix: Some("pod".into()),
            show_labels: true,
            column_labels: vec!["app".into()],
            ..Default::default()
        });
        assert_eq!(
            out,
            "NAMESPACE   NAME        READY   IP         RESTARTS   APP   LABELS\n\
             ns1         pod/web-1   1/1     10.0.0.1   0          web   app=web,tier=fe\n\
             ns2         pod/db      0/1                12               <none>\n"
        );
    }

    #[test]
    fn headers_once_and_cells_cut() {
        let mut tw = TabWriter::kubectl();
        let mut p = TablePrinter::new(TableOptions::default());
        let t = table();
        p.print(&t, None, &mut tw);
        p.print(&t, None, &mut tw);
        assert_eq!(tw.into_string().matches("NAME").count(), 1);
        let mut s = String::new();
        push_cell(&mut s, &Value::String("a\nb".into()));
        assert_eq!(s, "a...");
        assert_eq!(go_sprint(&serde_json::json!({"b": 1, "a": [true]})), "map[a:[true] b:1]");
    }
}
