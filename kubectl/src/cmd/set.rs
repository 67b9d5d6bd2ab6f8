//! `kubectl set image`: a strategic merge patch of container images in pod templates (or pods).

use clap::Subcommand;
use serde_json::{json, Value};

use crate::client::{Method, Req};
use crate::cmd::common::{self, DryRun, FileArgs, PrintArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Flags of `kubectl set`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to set.
    #[command(subcommand)]
    pub what: What,
}

/// The `set` subcommands.
#[derive(Subcommand, Debug)]
pub enum What {
    /// Update the image of a pod template.
    Image(ImageArgs),
}

/// `set image`.
#[derive(clap::Args, Debug)]
pub struct ImageArgs {
    /// (-f FILENAME | TYPE NAME) CONTAINER_NAME_1=CONTAINER_IMAGE_1 ...
    pub args: Vec<String>,
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// Output.
    #[command(flatten)]
    pub print: PrintArgs,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Select all resources.
    #[arg(long)]
    pub all: bool,
    /// Must be "none", "server", or "client".
    #[arg(long, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "unchanged")]
    pub dry_run: String,
}

/// `kubectl set`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let What::Image(a) = a.what;
    let (res_args, images): (Vec<String>, Vec<String>) = a.args.iter().cloned().partition(|x| !x.contains('='));
    if images.is_empty() {
        return Err(CmdError::usage("kubectl set image", "at least one image update is required"));
    }
    let dry_run = DryRun::parse(&a.dry_run, streams)?;
    let scope = common::scope(f, false, a.selector.as_deref(), None)?;
    let targets = common::targets(f, &a.files, &res_args, &scope).await?;
    let client = f.client().await?;
    for t in targets {
        let obj = client.json(Req::get(t.path())).await?;
        let (ptr, wrap): (&str, fn(Value) -> Value) = match t.mapping.kind.as_str() {
            "Pod" => ("/spec/containers", |c| json!({"spec": {"containers": c}})),
            "CronJob" => ("/spec/jobTemplate/spec/template/spec/containers", |c| json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": c}}}}}})),
            _ => ("/spec/template/spec/containers", |c| json!({"spec": {"template": {"spec": {"containers": c}}}})),
        };
        let containers: Vec<String> = obj.pointer(ptr).and_then(Value::as_array).into_iter().flatten().filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string)).collect();
        let mut updates = Vec::new();
        for spec in &images {
            let (name, image) = spec.split_once('=').unwrap_or((spec, ""));
            let matched: Vec<&String> = containers.iter().filter(|c| name == "*" || *c == name).collect();
            if matched.is_empty() {
                return Err(CmdError::msg(format!("unable to find container named {name:?}")));
            }
            updates.extend(matched.into_iter().map(|c| json!({"image": image, "name": c})));
        }
        let patch = wrap(Value::Array(updates));
        let out = if dry_run == DryRun::Client {
            obj
        } else {
            let mut req = Req::new(Method::PATCH, t.path()).query("fieldManager", "kubectl-set").body("application/strategic-merge-patch+json", serde_json::to_vec(&patch).unwrap_or_default());
            if dry_run == DryRun::Server {
                req = req.query("dryRun", "All");
            }
            client.json(req).await?
        };
        common::print_result(streams, &a.print, &t.mapping, &out, "image updated", dry_run)?;
    }
    Ok(())
}
