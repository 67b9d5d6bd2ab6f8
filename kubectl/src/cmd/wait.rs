//! `kubectl wait --for=condition=C|delete|create|jsonpath='{...}'=VALUE`: polls each object
//! until the condition holds or `--timeout` passes.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::Req;
use crate::cmd::common::{self, FileArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::jsonpath::{relaxed, text_of, JsonPath};
use crate::resource::{self, Target};
use crate::util::{parse_go_duration, Streams};

/// Flags of `kubectl wait`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// TYPE NAME or TYPE/NAME
    pub args: Vec<String>,
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// The condition to wait on: [create|delete|condition=condition-name[=condition-value]|jsonpath='{JSONPath expression}'=[JSONPath value]].
    #[arg(long = "for")]
    pub for_: String,
    /// The length of time to wait before giving up.
    #[arg(long, default_value = "30s")]
    pub timeout: String,
    /// Select all resources in the namespace of the specified resource types.
    #[arg(long)]
    pub all: bool,
    /// If present, list the requested object(s) across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Selector (field query) to filter on.
    #[arg(long)]
    pub field_selector: Option<String>,
}

/// A parsed `--for`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The object exists.
    Create,
    /// The object is gone.
    Delete,
    /// `status.conditions[type=name].status == value`.
    Condition(String, String),
    /// A JSONPath result equals a value (or exists when no value).
    JsonPath(String, Option<String>),
}

/// Parses `--for`.
pub fn parse_condition(s: &str) -> Result<Condition, CmdError> {
    if s == "delete" {
        return Ok(Condition::Delete);
    }
    if s == "create" {
        return Ok(Condition::Create);
    }
    if let Some(c) = s.strip_prefix("condition=") {
        let (name, value) = c.split_once('=').unwrap_or((c, "true"));
        return Ok(Condition::Condition(name.to_string(), value.to_string()));
    }
    if let Some(j) = s.strip_prefix("jsonpath=") {
        let (path, value) = match j.rfind("}=") {
            Some(p) => (&j[..=p], Some(j[p + 2..].to_string())),
            None => (j, None),
        };
        return Ok(Condition::JsonPath(path.to_string(), value));
    }
    Err(CmdError::msg(format!("unrecognized condition: {s:?}")))
}

fn holds(cond: &Condition, obj: &Value) -> Result<bool, CmdError> {
    Ok(match cond {
        Condition::Create => true,
        Condition::Delete => false,
        Condition::Condition(name, value) => obj.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten().any(|c| {
            c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(name))
                && c.get("status").and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case(value))
        }),
        Condition::JsonPath(path, value) => {
            let jp = JsonPath::parse(&relaxed(path).map_err(|e| CmdError::msg(e.to_string()))?).map_err(|e| CmdError::msg(e.to_string()))?;
            let results: Vec<Value> = jp.find_results(obj).map_err(|e| CmdError::msg(e.to_string()))?.into_iter().flatten().collect();
            match value {
                None => !results.is_empty(),
                Some(v) => results.len() == 1 && text_of(&results[0]) == *v,
            }
        }
    })
}

/// `kubectl wait`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let cond = parse_condition(&a.for_)?;
    let timeout = parse_go_duration(&a.timeout).unwrap_or(Duration::from_secs(30));
    let scope = common::scope(f, a.all_namespaces, a.selector.as_deref(), a.field_selector.as_deref())?;
    let targets = common::targets(f, &a.files, &a.args, &scope).await?;
    let client = f.client().await?;
    let mut all = Vec::new();
    for t in targets {
        if t.name.is_some() {
            all.push(t);
            continue;
        }
        let (items, _) = resource::list_objects(client, &t, &scope, 500).await?;
        for i in items {
            all.push(Target { name: i.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string), ..t.clone() });
        }
    }
    if all.is_empty() {
        return Err(CmdError::msg("no matching resources found"));
    }
    let deadline = Instant::now() + timeout;
    for t in all {
        let mut seen = false;
        loop {
            let res = client.json(Req::get(t.path())).await;
            seen |= res.is_ok();
            let done = match (&cond, &res) {
                (Condition::Delete, Err(e)) if e.is_not_found() => true,
                (_, Err(e)) if e.is_not_found() && cond != Condition::Create => {
                    return Err(CmdError::from(crate::client::ApiError::status(404, "NotFound", format!("{} {:?} not found", t.mapping.group_resource(), t.name.as_deref().unwrap_or("")))));
                }
                (_, Err(e)) if !e.is_not_found() => return Err(res.unwrap_err().into()),
                (_, Ok(obj)) => holds(&cond, obj)?,
                _ => false,
            };
            if done {
                if cond != Condition::Delete || seen {
                    writeln!(streams.out, "{} condition met", t.display_name())?;
                }
                break;
            }
            if Instant::now() >= deadline {
                return Err(CmdError::msg(format!("timed out waiting for the condition on {}/{}", t.mapping.group_resource(), t.name.as_deref().unwrap_or(""))));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions() {
        assert_eq!(parse_condition("condition=Ready").unwrap(), Condition::Condition("Ready".into(), "true".into()));
        assert_eq!(parse_condition("jsonpath={.status.phase}=Running").unwrap(), Condition::JsonPath("{.status.phase}".into(), Some("Running".into())));
        let pod = serde_json::json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(holds(&parse_condition("condition=Ready").unwrap(), &pod).unwrap());
        assert!(holds(&parse_condition("jsonpath={.status.phase}=Running").unwrap(), &pod).unwrap());
        assert!(!holds(&parse_condition("jsonpath={.status.phase}=Pending").unwrap(), &pod).unwrap());
    }
}
