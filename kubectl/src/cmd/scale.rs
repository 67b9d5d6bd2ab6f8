//! `kubectl scale`: a merge patch of `spec.replicas` on the `scale` subresource (or a GET and
//! PUT with `--current-replicas` / `--resource-version` preconditions).

use serde_json::{json, Value};

use crate::client::{Method, Req};
use crate::cmd::common::{self, DryRun, FileArgs, PrintArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::resource::{self, Target};
use crate::util::Streams;

/// Flags of `kubectl scale`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// TYPE NAME or TYPE/NAME
    pub args: Vec<String>,
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// Output.
    #[command(flatten)]
    pub print: PrintArgs,
    /// The new desired number of replicas. Required.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub replicas: i64,
    /// Precondition for current size.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub current_replicas: i64,
    /// Precondition for resource version.
    #[arg(long, default_value = "")]
    pub resource_version: String,
    /// Select all resources in the namespace of the specified resource types.
    #[arg(long)]
    pub all: bool,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Must be "none", "server", or "client".
    #[arg(long, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "unchanged")]
    pub dry_run: String,
    /// The length of time to wait before giving up on a scale operation.
    #[arg(long, default_value = "0s")]
    pub timeout: String,
}

/// `kubectl scale`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if a.replicas < 0 {
        return Err(CmdError::msg("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"));
    }
    let dry_run = DryRun::parse(&a.dry_run, streams)?;
    let scope = common::scope(f, false, a.selector.as_deref(), None)?;
    let targets = common::targets(f, &a.files, &a.args, &scope).await?;
    let client = f.client().await?;
    let mut all = Vec::new();
    for t in targets {
        if t.name.is_some() {
            all.push(t);
            continue;
        }
        if !a.all && a.selector.is_none() {
            return Err(CmdError::msg("resource(s) were provided, but no name was specified"));
        }
        let (items, _) = resource::list_objects(client, &t, &scope, 500).await?;
        for i in items {
            let name = i.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            all.push(Target { name: Some(name), ..t.clone() });
        }
    }
    if all.is_empty() {
        return Err(CmdError::msg("no objects passed to scale"));
    }
    let mut errors = Vec::new();
    for t in all {
        if !t.mapping.has_subresource("scale") {
            errors.push(CmdError::msg(format!("cannot use scale with {}", t.mapping.group_resource())));
            continue;
        }
        let path = format!("{}/scale", t.path());
        let res = if a.current_replicas >= 0 || !a.resource_version.is_empty() {
            let mut scale = client.json(Req::get(path.clone())).await?;
            let cur = scale.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
            if a.current_replicas >= 0 && cur != a.current_replicas {
                errors.push(CmdError::msg(format!("Expected replicas to be {}, was {cur}", a.current_replicas)));
                continue;
            }
            scale["spec"]["replicas"] = json!(a.replicas);
            if !a.resource_version.is_empty() {
                scale["metadata"]["resourceVersion"] = json!(a.resource_version);
            }
            client.json(Req::new(Method::PUT, path).json(&scale)).await
        } else if dry_run == DryRun::Client {
            client.json(Req::get(t.path())).await
        } else {
            let patch = json!({"spec": {"replicas": a.replicas}});
            let mut req = Req::new(Method::PATCH, path).body("application/merge-patch+json", serde_json::to_vec(&patch).unwrap_or_default());
            if dry_run == DryRun::Server {
                req = req.query("dryRun", "All");
            }
            client.json(req).await
        };
        match res {
            Ok(_) => {
                let obj = json!({"metadata": {"name": t.name}});
                let printed = if a.print.output.is_empty() || a.print.output == "name" { obj } else { client.json(Req::get(t.path())).await? };
                common::print_result(streams, &a.print, &t.mapping, &printed, "scaled", dry_run)?;
            }
            Err(e) => errors.push(e.into()),
        }
    }
    CmdError::aggregate(errors)
}
