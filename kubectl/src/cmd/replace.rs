//! `kubectl replace -f`: PUT each object (versioned from the live object when the manifest
//! has no resourceVersion), or delete and re-create with `--force`.

use serde_json::Value;

use crate::client::{Method, Req};
use crate::cmd::common::{self, DryRun, FileArgs, PrintArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Flags of `kubectl replace`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// Output.
    #[command(flatten)]
    pub print: PrintArgs,
    /// If true, immediately remove resources from API and bypass graceful deletion, then re-create.
    #[arg(long)]
    pub force: bool,
    /// Must be "none", "server", or "client".
    #[arg(long, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "unchanged")]
    pub dry_run: String,
    /// Must be one of: strict (or true), warn, ignore (or false).
    #[arg(long, default_value = "strict", num_args = 0..=1, require_equals = true, default_missing_value = "strict")]
    pub validate: String,
    /// If true, the configuration of current object will be saved in its annotation.
    #[arg(long)]
    pub save_config: bool,
    /// Name of the manager used to track field ownership.
    #[arg(long, default_value = "kubectl-replace")]
    pub field_manager: String,
    /// Raw URI to PUT to the server.
    #[arg(long)]
    pub raw: Option<String>,
}

/// `kubectl replace`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if a.files.filenames.is_empty() {
        return Err(CmdError::usage("kubectl replace", "must specify --filename to replace"));
    }
    let dry_run = DryRun::parse(&a.dry_run, streams)?;
    let validation = common::field_validation(&a.validate)?;
    let scope = common::scope(f, false, None, None)?;
    let targets = common::targets(f, &a.files, &[], &scope).await?;
    let client = f.client().await?;
    let mut errors = Vec::new();
    for t in targets {
        let mut obj = t.object.clone().unwrap_or(Value::Null);
        common::set_namespace(&mut obj, &t);
        if a.save_config {
            crate::cmd::apply::set_last_applied(&mut obj);
        }
        if a.force {
            let _ = client.call(Req::new(Method::DELETE, t.path()).json(&serde_json::json!({"propagationPolicy": "Background"}))).await;
            let _ = crate::cmd::delete::wait_gone(client, &t, &Value::Null, std::time::Duration::from_secs(60)).await;
            writeln_deleted(streams, &t)?;
            if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("resourceVersion");
            }
            let req = Req::new(Method::POST, t.collection_path()).query("fieldManager", a.field_manager.clone()).query("fieldValidation", validation).json(&obj);
            match client.json(req).await {
                Ok(o) => common::print_result(streams, &a.print, &t.mapping, &o, "replaced", dry_run)?,
                Err(e) => errors.push(CmdError::from(e).with_source("creating", &t.source)),
            }
            continue;
        }
        if obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).is_none_or(str::is_empty) {
            match client.json(Req::get(t.path())).await {
                Ok(cur) => obj["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"].clone(),
                Err(e) => {
                    errors.push(CmdError::from(e).with_source("replacing", &t.source));
                    continue;
                }
            }
        }
        if dry_run == DryRun::Client {
            common::print_result(streams, &a.print, &t.mapping, &obj, "replaced", dry_run)?;
            continue;
        }
        let mut req = Req::new(Method::PUT, t.path()).query("fieldManager", a.field_manager.clone()).query("fieldValidation", validation).json(&obj);
        if dry_run == DryRun::Server {
            req = req.query("dryRun", "All");
        }
        match client.json(req).await {
            Ok(o) => common::print_result(streams, &a.print, &t.mapping, &o, "replaced", dry_run)?,
            Err(e) => errors.push(CmdError::from(e).with_source("replacing", &t.source)),
        }
    }
    CmdError::aggregate(errors)
}

fn writeln_deleted(streams: &mut Streams, t: &crate::resource::Target) -> Result<(), CmdError> {
    use std::io::Write;
    writeln!(streams.out, "{} \"{}\" deleted", t.mapping.kind_group_lower(), t.name.as_deref().unwrap_or(""))?;
    Ok(())
}
