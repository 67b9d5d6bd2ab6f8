//! `kubectl patch TYPE NAME -p PATCH [--type strategic|merge|json]`: reads the object, sends
//! the patch with the `kubectl-patch` field manager and prints `patched` or
//! `patched (no change)`.

use serde_json::Value;

use crate::client::{Method, Req};
use crate::cmd::common::{self, DryRun, FileArgs, PrintArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Flags of `kubectl patch`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// TYPE NAME or TYPE/NAME
    pub args: Vec<String>,
    /// Files identifying the resource.
    #[command(flatten)]
    pub files: FileArgs,
    /// The patch to be applied to the resource JSON file.
    #[arg(short = 'p', long)]
    pub patch: Option<String>,
    /// A file containing a patch to be applied to the resource.
    #[arg(long)]
    pub patch_file: Option<String>,
    /// The type of patch being provided; one of [json merge strategic].
    #[arg(long = "type", default_value = "strategic")]
    pub type_: String,
    /// If specified, patch will operate on the subresource of the requested object.
    #[arg(long)]
    pub subresource: Option<String>,
    /// Output.
    #[command(flatten)]
    pub print: PrintArgs,
    /// Must be "none", "server", or "client".
    #[arg(long, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "unchanged")]
    pub dry_run: String,
    /// Name of the manager used to track field ownership.
    #[arg(long, default_value = "kubectl-patch")]
    pub field_manager: String,
    /// If true, patch will operate on the content of the file, not the server-side resource.
    #[arg(long)]
    pub local: bool,
}

fn content_type(t: &str) -> Result<&'static str, CmdError> {
    match t {
        "json" => Ok("application/json-patch+json"),
        "merge" => Ok("application/merge-patch+json"),
        "strategic" => Ok("application/strategic-merge-patch+json"),
        other => Err(CmdError::msg(format!("--type must be one of [json merge strategic], not {other:?}"))),
    }
}

/// `kubectl patch`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let ct = content_type(&a.type_)?;
    let text = match (&a.patch, &a.patch_file) {
        (Some(p), None) => p.clone(),
        (None, Some(file)) => std::fs::read_to_string(file).map_err(|e| CmdError::msg(format!("unable to read patch file: {e}")))?,
        (Some(_), Some(_)) => return Err(CmdError::msg("cannot specify --patch and --patch-file together")),
        (None, None) => return Err(CmdError::usage("kubectl patch", "must specify --patch or --patch-file containing the contents of the patch")),
    };
    let patch: Value = parse_patch(&text)?;
    let dry_run = DryRun::parse(&a.dry_run, streams)?;
    let scope = common::scope(f, false, None, None)?;
    let targets = common::targets(f, &a.files, &a.args, &scope).await?;
    if targets.iter().any(|t| t.name.is_none()) {
        return Err(CmdError::msg("resource(s) were provided, but no name was specified"));
    }
    let client = f.client().await?;
    let mut errors = Vec::new();
    for t in targets {
        let path = match &a.subresource {
            Some(s) => format!("{}/{s}", t.path()),
            None => t.path(),
        };
        let before = match client.json(Req::get(path.clone())).await {
            Ok(o) => o,
            Err(e) => {
                errors.push(CmdError::from(e));
                continue;
            }
        };
        let mut req = Req::new(Method::PATCH, path).query("fieldManager", a.field_manager.clone()).body(ct, serde_json::to_vec(&patch).unwrap_or_default());
        if dry_run == DryRun::Server {
            req = req.query("dryRun", "All");
        }
        match client.json(req).await {
            Ok(after) => {
                let op = if after == before { "patched (no change)" } else { "patched" };
                common::print_result(streams, &a.print, &t.mapping, &after, op, dry_run)?;
            }
            Err(e) => errors.push(CmdError::from(e)),
        }
    }
    CmdError::aggregate(errors)
}

/// Parses a patch given as JSON or YAML.
pub fn parse_patch(text: &str) -> Result<Value, CmdError> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Ok(v);
    }
    let docs = crate::manifest::parse_documents(text, "patch").map_err(|e| CmdError::msg(format!("unable to parse \"{text}\": {e}")))?;
    docs.into_iter().next().ok_or_else(|| CmdError::msg(format!("unable to parse \"{text}\": empty patch")))
}
