//! `kubectl label` and `kubectl annotate`: `key=value` to set, `key-` to remove, with
//! `--overwrite`, `--all`, `-l`, `--list`, sent as JSON merge patches.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::client::{Method, Req};
use crate::cmd::common::{self, DryRun, FileArgs, PrintArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::resource::{self, Target};
use crate::util::Streams;

/// Flags of `kubectl label` / `kubectl annotate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// TYPE NAME KEY_1=VAL_1 ... KEY_N=VAL_N, or KEY-
    pub args: Vec<String>,
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// Output.
    #[command(flatten)]
    pub print: PrintArgs,
    /// If true, allow labels/annotations to be overwritten.
    #[arg(long)]
    pub overwrite: bool,
    /// Select all resources in the namespace of the specified resource types.
    #[arg(long)]
    pub all: bool,
    /// If true, check the specified action in all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Selector (field query) to filter on.
    #[arg(long)]
    pub field_selector: Option<String>,
    /// If true, display the labels/annotations for a given resource.
    #[arg(long)]
    pub list: bool,
    /// If true, annotation will NOT contact api-server but run locally.
    #[arg(long)]
    pub local: bool,
    /// If non-empty, the update will only succeed if this is the current resource-version.
    #[arg(long)]
    pub resource_version: Option<String>,
    /// Must be "none", "server", or "client".
    #[arg(long, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "unchanged")]
    pub dry_run: String,
    /// Name of the manager used to track field ownership.
    #[arg(long)]
    pub field_manager: Option<String>,
}

/// Which metadata map is edited.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    /// `metadata.labels`.
    Label,
    /// `metadata.annotations`.
    Annotate,
}

impl Kind {
    fn field(self) -> &'static str {
        match self {
            Kind::Label => "labels",
            Kind::Annotate => "annotations",
        }
    }
    fn noun(self) -> &'static str {
        match self {
            Kind::Label => "label",
            Kind::Annotate => "annotation",
        }
    }
}

/// Splits arguments into resource arguments and `key=value`/`key-` changes.
pub fn split_args(args: &[String]) -> (Vec<String>, BTreeMap<String, String>, Vec<String>) {
    let mut resources = Vec::new();
    let mut set = BTreeMap::new();
    let mut remove = Vec::new();
    for a in args {
        if let Some((k, v)) = a.split_once('=') {
            set.insert(k.to_string(), v.to_string());
        } else if let Some(k) = a.strip_suffix('-').filter(|_| !resources.is_empty()) {
            remove.push(k.to_string());
        } else {
            resources.push(a.clone());
        }
    }
    (resources, set, remove)
}

/// Runs `label` or `annotate`.
pub async fn run(f: &Factory, a: Args, kind: Kind, streams: &mut Streams) -> Result<(), CmdError> {
    let command = format!("kubectl {}", if kind == Kind::Label { "label" } else { "annotate" });
    let (res_args, set, remove) = split_args(&a.args);
    if set.is_empty() && remove.is_empty() && !a.list {
        return Err(CmdError::usage(&command, format!("at least one {} update is required", kind.noun())));
    }
    if res_args.is_empty() && a.files.filenames.is_empty() {
        return Err(CmdError::usage(&command, "one or more resources must be specified as <resource> <name> or <resource>/<name>"));
    }
    if let Some(k) = remove.iter().find(|k| set.contains_key(*k)) {
        return Err(CmdError::msg(format!("can not both modify and remove a {} in the same command: {k}", kind.noun())));
    }
    let dry_run = DryRun::parse(&a.dry_run, streams)?;
    let scope = common::scope(f, a.all_namespaces, a.selector.as_deref(), a.field_selector.as_deref())?;
    let mut targets = common::targets(f, &a.files, &res_args, &scope).await?;
    let client = f.client().await?;
    let mut expanded = Vec::new();
    for t in targets.drain(..) {
        if t.name.is_some() {
            expanded.push(t);
            continue;
        }
        if !(a.all || a.selector.is_some() || a.field_selector.is_some()) {
            return Err(CmdError::msg("resource(s) were provided, but no name was specified"));
        }
        let (items, _) = resource::list_objects(client, &t, &scope, 500).await?;
        for item in items {
            let name = item.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            let ns = item.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_string);
            expanded.push(Target { name: Some(name), namespace: ns.or(t.namespace.clone()), ..t.clone() });
        }
    }
    let manager = a.field_manager.clone().unwrap_or_else(|| format!("kubectl-{}", if kind == Kind::Label { "label" } else { "annotate" }));
    let mut errors = Vec::new();
    for t in expanded {
        if let Err(e) = one(client, &t, &a, kind, &set, &remove, &manager, dry_run, streams).await {
            errors.push(e);
        }
    }
    CmdError::aggregate(errors)
}

#[allow(clippy::too_many_arguments)]
async fn one(
    client: &crate::client::ApiClient,
    t: &Target,
    a: &Args,
    kind: Kind,
    set: &BTreeMap<String, String>,
    remove: &[String],
    manager: &str,
    dry_run: DryRun,
    streams: &mut Streams,
) -> Result<(), CmdError> {
    let obj = client.json(Req::get(t.path())).await?;
    let current: Map<String, Value> = obj.pointer(&format!("/metadata/{}", kind.field())).and_then(Value::as_object).cloned().unwrap_or_default();
    if a.list {
        let mut keys: Vec<&String> = current.keys().collect();
        keys.sort();
        for k in keys {
            streams.println(&format!("{k}={}", current[k].as_str().unwrap_or("")));
        }
        return Ok(());
    }
    if !a.overwrite {
        let conflicts: Vec<String> = set
            .iter()
            .filter(|(k, _)| kind == Kind::Label || k.as_str() != "kubernetes.io/change-cause")
            .filter_map(|(k, v)| current.get(k).and_then(Value::as_str).filter(|old| *old != v).map(|old| (k, old)))
            .map(|(k, old)| format!("'{k}' already has a value ({old})"))
            .collect();
        if !conflicts.is_empty() {
            return Err(match kind {
                Kind::Label => match CmdError::aggregate(conflicts.into_iter().map(|c| CmdError::msg(format!("{c}, and --overwrite is false"))).collect()) {
                    Err(e) => e,
                    Ok(()) => CmdError::Exit(1),
                },
                Kind::Annotate => CmdError::msg(format!("--overwrite is false but found the following declared annotation(s): {}", conflicts.join("; "))),
            });
        }
    }
    let mut changes = Map::new();
    for (k, v) in set {
        if current.get(k).and_then(Value::as_str) != Some(v.as_str()) {
            changes.insert(k.clone(), Value::String(v.clone()));
        }
    }
    for k in remove {
        if current.contains_key(k) {
            changes.insert(k.clone(), Value::Null);
        } else if kind == Kind::Label {
            streams.println(&format!("label {k:?} not found."));
        }
    }
    let removed_only = !changes.is_empty() && changes.values().all(Value::is_null);
    let message = match kind {
        Kind::Annotate => "annotated",
        Kind::Label if changes.is_empty() => "not labeled",
        Kind::Label if removed_only && !a.overwrite => "unlabeled",
        Kind::Label => "labeled",
    };
    let result = if changes.is_empty() || dry_run == DryRun::Client {
        obj
    } else {
        let mut meta = json!({ kind.field(): Value::Object(changes) });
        if let Some(rv) = &a.resource_version {
            meta["resourceVersion"] = json!(rv);
        }
        let patch = json!({ "metadata": meta });
        let mut req = Req::new(Method::PATCH, t.path()).query("fieldManager", manager).body("application/merge-patch+json", serde_json::to_vec(&patch).unwrap_or_default());
        if dry_run == DryRun::Server {
            req = req.query("dryRun", "All");
        }
        client.json(req).await?
    };
    common::print_result(streams, &a.print, &t.mapping, &result, message, dry_run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_arguments() {
        let args: Vec<String> = ["pod", "p1", "a=b", "c-", "d="].iter().map(|s| s.to_string()).collect();
        let (res, set, remove) = split_args(&args);
        assert_eq!(res, vec!["pod", "p1"]);
        assert_eq!(set.get("a").map(String::as_str), Some("b"));
        assert_eq!(set.get("d").map(String::as_str), Some(""));
        assert_eq!(remove, vec!["c"]);
    }
}
