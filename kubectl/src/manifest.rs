//! Manifests given with `-f`: files, directories (`-R` to recurse) and `-` for stdin, each
//! holding YAML documents separated by `---` or JSON objects; `List` kinds are flattened into
//! their items. Every object keeps the name of its source for error messages.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

/// Why manifests could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A path does not exist.
    #[error("the path \"{0}\" does not exist")]
    Missing(String),
    /// A file could not be read.
    #[error("error reading {source_name}: {message}")]
    Read {
        /// The source.
        source_name: String,
        /// What went wrong.
        message: String,
    },
    /// A document is not valid YAML or JSON.
    #[error("error parsing {source_name}: error converting YAML to JSON: {message}")]
    Parse {
        /// The source.
        source_name: String,
        /// The parser's message.
        message: String,
    },
    /// A document lacks `apiVersion` or `kind`.
    #[error("error validating \"{source_name}\": error validating data: {}; if you choose to ignore these errors, turn validation off with --validate=false", missing_list(.missing))]
    Invalid {
        /// The source.
        source_name: String,
        /// The missing fields.
        missing: Vec<&'static str>,
    },
    /// No `-f` was given where one is required.
    #[error("must specify one of -f and -k")]
    NoFiles,
}

fn missing_list(missing: &[&str]) -> String {
    let items: Vec<String> = missing.iter().map(|m| format!("{m} not set")).collect();
    if items.len() == 1 {
        items[0].clone()
    } else {
        format!("[{}]", items.join(", "))
    }
}

/// An object read from a manifest.
#[derive(Debug, Clone)]
pub struct ManifestObject {
    /// Where it came from (a path, or `STDIN`).
    pub source: String,
    /// The object.
    pub object: Value,
}

/// Reads every `-f` argument. Directories yield their `.json`, `.yaml` and `.yml` files in
/// name order (recursively with `recursive`).
pub fn read_all(filenames: &[String], recursive: bool) -> Result<Vec<ManifestObject>, ManifestError> {
    let mut out = Vec::new();
    for name in filenames {
        if name == "-" {
            let text = read_stdin().map_err(|message| ManifestError::Read { source_name: "STDIN".into(), message })?;
            out.extend(parse_source(&text, "STDIN")?);
            continue;
        }
        let path = Path::new(name);
        if !path.exists() {
            return Err(ManifestError::Missing(name.clone()));
        }
        for file in expand(path, recursive, true)? {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| ManifestError::Read { source_name: file.clone(), message: e.to_string() })?;
            out.extend(parse_source(&text, &file)?);
        }
    }
    Ok(out)
}

/// Standard input, read once per process (a command run again after a discovery refresh
/// sees the same manifests).
fn read_stdin() -> Result<String, String> {
    static STDIN: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    STDIN
        .get_or_init(|| {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map(|_| text).map_err(|e| e.to_string())
        })
        .clone()
}

fn expand(path: &Path, recursive: bool, top: bool) -> Result<Vec<String>, ManifestError> {
    if !path.is_dir() {
        return Ok(vec![path.display().to_string()]);
    }
    if !top && !recursive {
        return Ok(Vec::new());
    }
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| ManifestError::Read { source_name: path.display().to_string(), message: e.to_string() })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut files = Vec::new();
    for p in entries {
        if p.is_dir() {
            files.extend(expand(&p, recursive, false)?);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "yaml" | "yml")) {
            files.push(p.display().to_string());
        }
    }
    Ok(files)
}

/// Parses one source's text into validated objects (lists flattened).
pub fn parse_source(text: &str, source: &str) -> Result<Vec<ManifestObject>, ManifestError> {
    let mut out = Vec::new();
    for doc in parse_documents(text, source)? {
        for object in flatten(doc) {
            validate(&object, source)?;
            out.push(ManifestObject { source: source.to_string(), object });
        }
    }
    Ok(out)
}

/// Splits text into JSON values: JSON objects back to back, or YAML documents.
pub fn parse_documents(text: &str, source: &str) -> Result<Vec<Value>, ManifestError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let stream = serde_json::Deserializer::from_str(trimmed).into_iter::<Value>();
        return stream
            .collect::<Result<Vec<Value>, _>>()
            .map_err(|e| ManifestError::Parse { source_name: source.into(), message: format!("json: {e}") });
    }
    let docs: Vec<Value> = serde_saphyr::from_multiple(text)
        .map_err(|e| ManifestError::Parse { source_name: source.into(), message: format!("yaml: {e}") })?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn flatten(doc: Value) -> Vec<Value> {
    let is_list = doc.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List"))
        && doc.get("items").is_some_and(Value::is_array);
    if !is_list {
        return vec![doc];
    }
    match doc {
        Value::Object(mut m) => match m.remove("items") {
            Some(Value::Array(items)) => items.into_iter().flat_map(flatten).collect(),
            _ => Vec::new(),
        },
        other => vec![other],
    }
}

fn validate(object: &Value, source: &str) -> Result<(), ManifestError> {
    let mut missing = Vec::new();
    if object.get("apiVersion").and_then(Value::as_str).is_none_or(str::is_empty) {
        missing.push("apiVersion");
    }
    if object.get("kind").and_then(Value::as_str).is_none_or(str::is_empty) {
        missing.push("kind");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ManifestError::Invalid { source_name: source.into(), missing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_documents_and_lists() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  n: \"1\"\n---\n# comment only\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s\n";
        let objs = parse_source(text, "f.yaml").unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].object["data"]["n"], "1");
        assert_eq!(objs[1].object["kind"], "Secret");
    }

    #[test]
    fn numbers_stay_numbers() {
        let objs = parse_source("apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2 # two\n  paused: false\n", "x").unwrap();
        assert_eq!(objs[0].object["spec"]["replicas"], 2);
        assert_eq!(objs[0].object["spec"]["paused"], false);
    }

    #[test]
    fn json_stream_and_validation() {
        let objs = parse_source("{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}", "STDIN").unwrap();
        assert_eq!(objs.len(), 2);
        let err = parse_source("{\"metadata\":{}}", "STDIN").unwrap_err();
        assert_eq!(
            err.to_string(),
            "error validating \"STDIN\": error validating data: [apiVersion not set, kind not set]; if you choose to ignore these errors, turn validation off with --validate=false"
        );
    }
}
