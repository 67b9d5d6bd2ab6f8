//! Data sources of `create configmap` and `create secret generic`: `--from-file=[key=]path`
//! (a file, or every regular file of a directory), `--from-literal=key=value` and
//! `--from-env-file=path`, with upstream's checks and messages.

use std::collections::BTreeMap;
use std::path::Path;

use crate::errors::CmdError;

/// Where each key's bytes came from, in key order.
pub type Data = BTreeMap<String, Vec<u8>>;

/// Reads the sources into `data`; `kind` names the object in duplicate-key errors
/// (`ConfigMap`, `Secret`) and `name` its name.
pub fn collect(files: &[String], literals: &[String], env_files: &[String], kind: &str, name: &str) -> Result<Data, CmdError> {
    if !env_files.is_empty() && (!files.is_empty() || !literals.is_empty()) {
        return Err(CmdError::msg("from-env-file cannot be combined with from-file or from-literal"));
    }
    let mut data = Data::new();
    for lit in literals {
        let (k, v) = parse_literal(lit)?;
        insert(&mut data, k, v.into_bytes(), kind, name)?;
    }
    for src in files {
        from_file(&mut data, src, kind, name)?;
    }
    for env in env_files {
        for (k, v) in parse_env_file(env)? {
            insert(&mut data, k, v.into_bytes(), kind, name)?;
        }
    }
    Ok(data)
}

fn insert(data: &mut Data, key: String, value: Vec<u8>, kind: &str, name: &str) -> Result<(), CmdError> {
    if !valid_key(&key) {
        return Err(CmdError::msg(format!(
            "\"{key}\" is not a valid key name for a {kind}: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        )));
    }
    if data.contains_key(&key) {
        return Err(CmdError::msg(format!("cannot add key {key}, another key by that name already exists in {kind} {name:?}")));
    }
    data.insert(key, value);
    Ok(())
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key != "." && key != ".." && !key.starts_with("..") && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `key=value`, split at the first `=`.
pub fn parse_literal(lit: &str) -> Result<(String, String), CmdError> {
    match lit.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(CmdError::msg(format!("invalid literal source {lit}, expected key=value"))),
    }
}

fn from_file(data: &mut Data, src: &str, kind: &str, name: &str) -> Result<(), CmdError> {
    let (key, path) = match src.split_once('=') {
        Some((k, p)) => {
            if k.is_empty() {
                return Err(CmdError::msg(format!("key name for file path {p} missing")));
            }
            (Some(k.to_string()), p.to_string())
        }
        None => (None, src.to_string()),
    };
    let p = Path::new(&path);
    let meta = std::fs::metadata(p).map_err(|_| CmdError::msg(format!("error reading {path}: no such file or directory")))?;
    if meta.is_dir() {
        if key.is_some() {
            return Err(CmdError::msg("cannot give a key name for a directory path"));
        }
        let mut entries: Vec<_> = std::fs::read_dir(p)?.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            if e.file_type().is_ok_and(|t| t.is_file()) {
                let bytes = std::fs::read(e.path())?;
                insert(data, e.file_name().to_string_lossy().into_owned(), bytes, kind, name)?;
            }
        }
        return Ok(());
    }
    let bytes = std::fs::read(p).map_err(|e| CmdError::msg(format!("error reading {path}: {e}")))?;
    let key = key.unwrap_or_else(|| p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default());
    insert(data, key, bytes, kind, name)
}

/// Parses an env file: `KEY=value` lines; blank lines and `#` comments skipped; a key without
/// `=` takes its value from the environment.
pub fn parse_env_file(path: &str) -> Result<Vec<(String, String)>, CmdError> {
    let text = std::fs::read_to_string(path).map_err(|_| CmdError::msg(format!("error reading {path}: no such file or directory")))?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = if i == 0 { raw.trim_start_matches('\u{feff}') } else { raw };
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (line.to_string(), std::env::var(line).unwrap_or_default()),
        };
        if !valid_env_name(&key) {
            return Err(CmdError::msg(format!(
                "{key:?} is not a valid key name: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
            )));
        }
        out.push((key, value));
    }
    Ok(out)
}

fn valid_env_name(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || matches!(c, '-' | '_' | '.'))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_env_files() {
        assert_eq!(parse_literal("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(parse_literal("a").is_err());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.env");
        std::fs::write(&p, "enemies=aliens\n  lives=3\n\n# c\nallowed=\"true\"\n").unwrap();
        let vars = parse_env_file(p.to_str().unwrap()).unwrap();
        assert_eq!(vars, vec![("enemies".into(), "aliens".into()), ("lives".into(), "3".into()), ("allowed".into(), "\"true\"".into())]);
    }

    #[test]
    fn directories_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.txt"), "B").unwrap();
        std::fs::write(dir.path().join("a.txt"), "A").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let d = collect(&[dir.path().display().to_string()], &["a.txt=x".into()], &[], "ConfigMap", "c");
        assert!(d.unwrap_err().to_string().contains("cannot add key a.txt"));
        let d = collect(&[dir.path().display().to_string()], &[], &[], "ConfigMap", "c").unwrap();
        assert_eq!(d.keys().collect::<Vec<_>>(), vec!["a.txt", "b.txt"]);
    }
}
