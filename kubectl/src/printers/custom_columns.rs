//! `-o custom-columns=HEADER:.path,...` and `-o custom-columns-file=FILE`: one row per object,
//! several results of a column joined with commas, `<none>` when a path finds nothing.

use serde_json::Value;

use super::jsonpath::{relaxed, JsonPath, JsonPathError};
use super::table::go_sprint;
use super::tabwriter::TabWriter;

/// One column: a header and a JSONPath.
#[derive(Debug, Clone)]
pub struct Column {
    /// Header text, printed as given.
    pub header: String,
    /// The parsed path.
    pub path: JsonPath,
}

/// Parses `NAME:.metadata.name,IMAGE:.spec.containers[*].image`.
pub fn parse_spec(spec: &str) -> Result<Vec<Column>, JsonPathError> {
    if spec.is_empty() {
        return Err(JsonPathError::Parse("custom-columns format specified but no custom columns given".into()));
    }
    spec.split(',')
        .map(|part| {
            let (header, path) = part.split_once(':').ok_or_else(|| {
                JsonPathError::Parse(format!("unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"))
            })?;
            Ok(Column { header: header.to_string(), path: JsonPath::parse(&relaxed(path)?)? })
        })
        .collect()
}

/// Parses a custom-columns file: a line of headers, then a line of paths.
pub fn parse_file(text: &str) -> Result<Vec<Column>, JsonPathError> {
    let mut lines = text.lines();
    let headers: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let specs: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    if headers.len() != specs.len() {
        return Err(JsonPathError::Parse(format!(
            "number of headers ({}) and field specifications ({}) don't match",
            headers.len(),
            specs.len()
        )));
    }
    headers
        .iter()
        .zip(specs)
        .map(|(h, s)| Ok(Column { header: h.to_string(), path: JsonPath::parse(&relaxed(s)?)? }))
        .collect()
}

/// Writes the header line (unless `no_headers`) and one row per object (list items expanded).
pub fn print(columns: &[Column], obj: &Value, no_headers: bool, w: &mut TabWriter) -> Result<(), JsonPathError> {
    if !no_headers {
        let headers: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
        w.write_str(&headers.join("\t"));
        w.write_str("\n");
    }
    let items: Vec<&Value> = match obj.get("items").and_then(Value::as_array) {
        Some(items) if is_list(obj) => items.iter().collect(),
        _ => vec![obj],
    };
    for item in items {
        let mut cells = Vec::with_capacity(columns.len());
        for c in columns {
            let results = c.path.find_results(item)?;
            let mut values: Vec<String> = Vec::new();
            if results.first().is_none_or(|r| r.is_empty()) {
                values.push("<none>".into());
            }
            for r in results {
                values.extend(r.iter().map(go_sprint));
            }
            cells.push(values.join(","));
        }
        w.write_str(&cells.join("\t"));
        w.write_str("\n");
    }
    Ok(())
}

/// Whether a JSON object is a list (`kind` ending in `List` with `items`).
pub fn is_list(obj: &Value) -> bool {
    obj.get("items").is_some_and(Value::is_array) && obj.get("kind").and_then(Value::as_str).is_none_or(|k| k.ends_with("List"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_per_item() {
        let cols = parse_spec("NAME:.metadata.name,IMAGES:.spec.containers[*].image,NODE:.spec.nodeName").unwrap();
        let list = json!({"kind": "List", "items": [
            {"metadata": {"name": "a"}, "spec": {"containers": [{"image": "x"}, {"image": "y"}]}},
            {"metadata": {"name": "bb"}, "spec": {"containers": [], "nodeName": "n1"}}
        ]});
        let mut tw = TabWriter::kubectl();
        print(&cols, &list, false, &mut tw).unwrap();
        assert_eq!(tw.into_string(), "NAME   IMAGES   NODE\na      x,y      <none>\nbb     <none>   n1\n");
        assert!(parse_spec("NAME").is_err());
    }
}
