//! `kubectl delete`: by name, `-f`, `-l`, `--all`; background propagation by default, then
//! waiting until the objects are gone (`--wait`), printing `kind.group "name" deleted`.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::client::{ApiClient, ApiError, Method, Req};
use crate::cmd::common::{self, DryRun, FileArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::resource::{self, Scope, Target};
use crate::util::{parse_go_duration, Streams};

/// Flags of `kubectl delete`.
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// TYPE NAME... or TYPE/NAME...
    pub args: Vec<String>,
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Selector (field query) to filter on.
    #[arg(long)]
    pub field_selector: Option<String>,
    /// Delete all resources, in the namespace of the specified resource types.
    #[arg(long)]
    pub all: bool,
    /// If present, list the requested object(s) across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Treat "resource not found" as a successful delete.
    #[arg(long)]
    pub ignore_not_found: bool,
    /// Must be "background", "orphan", or "foreground".
    #[arg(long, default_value = "background", num_args = 0..=1, require_equals = true, default_missing_value = "background")]
    pub cascade: String,
    /// Period of time in seconds given to the resource to terminate gracefully.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub grace_period: i64,
    /// If true, resources are signaled for immediate shutdown (same as --grace-period=1).
    #[arg(long)]
    pub now: bool,
    /// If true, immediately remove resources from API and bypass graceful deletion.
    #[arg(long)]
    pub force: bool,
    /// If true, wait for resources to be gone before returning.
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub wait: bool,
    /// The length of time to wait before giving up on a delete, zero means determine a timeout from the size of the object.
    #[arg(long, default_value = "0s")]
    pub timeout: String,
    /// Output mode. Use "-o name" for shorter output (resource/name).
    #[arg(short = 'o', long, default_value = "")]
    pub output: String,
    /// Must be "none", "server", or "client".
    #[arg(long, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "unchanged")]
    pub dry_run: String,
    /// Raw URI to DELETE to the server.
    #[arg(long)]
    pub raw: Option<String>,
}

const NO_RESOURCES: &str = "You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'";

fn propagation(cascade: &str) -> Result<&'static str, CmdError> {
    match cascade {
        "background" | "true" => Ok("Background"),
        "orphan" | "false" => Ok("Orphan"),
        "foreground" => Ok("Foreground"),
        other => Err(CmdError::msg(format!("invalid cascade value ({other}). Must be \"background\", \"foreground\", or \"orphan\"."))),
    }
}

/// `kubectl delete`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if let Some(raw) = &a.raw {
        let body = f.client().await?.call(Req::new(Method::DELETE, raw.clone())).await?;
        streams.out.write_all(&body)?;
        return Ok(());
    }
    if a.args.is_empty() && a.files.filenames.is_empty() {
        return Err(CmdError::msg(NO_RESOURCES));
    }
    let dry_run = DryRun::parse(&a.dry_run, streams)?;
    let mut grace = a.grace_period;
    if a.now {
        grace = 1;
    }
    if a.force && grace < 0 {
        grace = 0;
    }
    if a.force && grace == 0 {
        streams.eprintln("Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.");
    }
    let scope = common::scope(f, a.all_namespaces, a.selector.as_deref(), a.field_selector.as_deref())?;
    let targets = common::targets(f, &a.files, &a.args, &scope).await?;
    let selecting = a.all || a.selector.is_some() || a.field_selector.is_some();
    if targets.iter().any(|t| t.name.is_none()) && !selecting {
        return Err(CmdError::msg("resource(s) were provided, but no name was specified"));
    }
    let client = f.client().await?;
    let (targets, mut errors) = expand(client, targets, &scope).await;
    if targets.is_empty() && errors.is_empty() {
        writeln!(streams.out, "No resources found")?;
        return Ok(());
    }
    let mut body = json!({"propagationPolicy": propagation(&a.cascade)?});
    if grace >= 0 {
        body["gracePeriodSeconds"] = json!(grace);
    }
    let mut deleted = Vec::new();
    for t in targets {
        match delete_one(client, &t, &body, dry_run).await {
            Ok(obj) => {
                print_deleted(streams, &a.output, &t, dry_run, a.force && grace == 0)?;
                deleted.push((t, obj));
            }
            Err(e) if a.ignore_not_found && e.is_not_found() => {}
            Err(e) => errors.push(CmdError::from(e).with_source("deleting", &t.source)),
        }
    }
    if a.wait && dry_run == DryRun::None && !(a.force && grace == 0) {
        let timeout = parse_go_duration(&a.timeout).filter(|d| !d.is_zero()).unwrap_or(Duration::from_secs(168 * 3600));
        for (t, obj) in &deleted {
            if let Err(e) = wait_gone(client, t, obj, timeout).await {
                errors.push(e);
            }
        }
    }
    CmdError::aggregate(errors)
}

async fn expand(client: &ApiClient, targets: Vec<Target>, scope: &Scope) -> (Vec<Target>, Vec<CmdError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for t in targets {
        if t.name.is_some() {
            out.push(t);
            continue;
        }
        match resource::list_objects(client, &t, scope, 500).await {
            Ok((items, _)) => {
                for item in items {
                    let name = item.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
                    let ns = item.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_string);
                    out.push(Target { name: Some(name), namespace: ns.or(t.namespace.clone()), ..t.clone() });
                }
            }
            Err(e) => errors.push(e.into()),
        }
    }
    (out, errors)
}

async fn delete_one(client: &ApiClient, t: &Target, body: &Value, dry_run: DryRun) -> Result<Value, ApiError> {
    if dry_run == DryRun::Client {
        return client.json(Req::get(t.path())).await;
    }
    let mut req = Req::new(Method::DELETE, t.path()).json(body);
    if dry_run == DryRun::Server {
        req = req.query("dryRun", "All");
    }
    client.json(req).await
}

fn print_deleted(streams: &mut Streams, output: &str, t: &Target, dry_run: DryRun, force: bool) -> Result<(), CmdError> {
    let name = t.name.as_deref().unwrap_or("");
    if output == "name" {
        writeln!(streams.out, "{}/{name}", t.mapping.kind_group_lower())?;
    } else {
        let verb = if force { "force deleted" } else { "deleted" };
        writeln!(streams.out, "{} \"{name}\" {verb}{}", t.mapping.kind_group_lower(), dry_run.suffix())?;
    }
    Ok(())
}

/// Waits until the object (with this UID) no longer exists.
pub async fn wait_gone(client: &ApiClient, t: &Target, deleted: &Value, timeout: Duration) -> Result<(), CmdError> {
    let uid = deleted.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("").to_string();
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(50);
    loop {
        match client.json(Req::get(t.path())).await {
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
            Ok(obj) => {
                let cur = obj.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("");
                if !uid.is_empty() && cur != uid {
                    return Ok(());
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(CmdError::msg(format!("timed out waiting for the condition on {}/{}", t.mapping.group_resource(), t.name.as_deref().unwrap_or(""))));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}
