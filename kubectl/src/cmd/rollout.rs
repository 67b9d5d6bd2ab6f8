//! `kubectl rollout history|status|restart|pause|resume|undo` for deployments (status also
//! for daemon sets and stateful sets).

use std::io::Write;
use std::time::{Duration, Instant};

use clap::Subcommand;
use serde_json::{json, Value};

use crate::client::{ApiClient, Method, Req};
use crate::cmd::common::{self, DryRun, FileArgs, PrintArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::tabwriter::TabWriter;
use crate::resource::Target;
use crate::util::{parse_go_duration, Streams};

/// Flags of `kubectl rollout`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The rollout action.
    #[command(subcommand)]
    pub action: Action,
}

/// Flags shared by the rollout actions.
#[derive(clap::Args, Debug, Default)]
pub struct Common {
    /// TYPE NAME or TYPE/NAME
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
}

/// The rollout actions.
#[derive(Subcommand, Debug)]
pub enum Action {
    /// View rollout history.
    History(HistoryArgs),
    /// Show the status of the rollout.
    Status(StatusArgs),
    /// Restart a resource.
    Restart(Common),
    /// Mark the provided resource as paused.
    Pause(Common),
    /// Resume a paused resource.
    Resume(Common),
    /// Undo a previous rollout.
    Undo(UndoArgs),
}

/// `rollout history`.
#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// Shared flags.
    #[command(flatten)]
    pub common: Common,
    /// See the details, including podTemplate of the revision specified.
    #[arg(long, default_value_t = 0)]
    pub revision: i64,
}

/// `rollout status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Shared flags.
    #[command(flatten)]
    pub common: Common,
    /// Watch the status of the rollout until it's done.
    #[arg(short = 'w', long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub watch: bool,
    /// The length of time to wait before ending watch, zero means never.
    #[arg(long, default_value = "0s")]
    pub timeout: String,
    /// Pin to a specific revision for showing its status.
    #[arg(long, default_value_t = 0)]
    pub revision: i64,
}

/// `rollout undo`.
#[derive(clap::Args, Debug)]
pub struct UndoArgs {
    /// Shared flags.
    #[command(flatten)]
    pub common: Common,
    /// The revision to rollback to. Default to 0 (last revision).
    #[arg(long, default_value_t = 0)]
    pub to_revision: i64,
    /// Must be "none", "server", or "client".
    #[arg(long, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "unchanged")]
    pub dry_run: String,
}

async fn targets(f: &Factory, c: &Common) -> Result<Vec<Target>, CmdError> {
    let scope = common::scope(f, false, c.selector.as_deref(), None)?;
    let targets = common::targets(f, &c.files, &c.args, &scope).await?;
    if targets.is_empty() {
        return Err(CmdError::usage("kubectl rollout", "required resource not specified"));
    }
    Ok(targets)
}

/// `kubectl rollout`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    match a.action {
        Action::History(h) => history(f, h, streams).await,
        Action::Status(s) => status(f, s, streams).await,
        Action::Restart(c) => restart(f, c, streams).await,
        Action::Pause(c) => pause(f, c, true, streams).await,
        Action::Resume(c) => pause(f, c, false, streams).await,
        Action::Undo(u) => undo(f, u, streams).await,
    }
}

fn revision_of(rs: &Value) -> i64 {
    rs.pointer("/metadata/annotations/deployment.kubernetes.io~1revision").and_then(Value::as_str).and_then(|s| s.parse().ok()).unwrap_or(0)
}

async fn owned_replica_sets(client: &ApiClient, d: &Value) -> Result<Vec<Value>, CmdError> {
    let ns = d.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
    let uid = d.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("");
    let list = client.json(Req::get(format!("/apis/apps/v1/namespaces/{ns}/replicasets"))).await?;
    Ok(list
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences").and_then(Value::as_array).into_iter().flatten().any(|o| {
                o.get("controller").and_then(Value::as_bool) == Some(true) && o.get("uid").and_then(Value::as_str) == Some(uid)
            })
        })
        .cloned()
        .collect())
}

async fn history(f: &Factory, h: HistoryArgs, streams: &mut Streams) -> Result<(), CmdError> {
    let client = f.client().await?;
    for t in targets(f, &h.common).await? {
        if t.mapping.kind != "Deployment" {
            return Err(CmdError::msg(format!("no history viewer has been implemented for {:?}", t.mapping.group_kind())));
        }
        let d = client.json(Req::get(t.path())).await?;
        let mut rss = owned_replica_sets(client, &d).await?;
        rss.sort_by_key(revision_of);
        let text = if rss.is_empty() {
            "No rollout history found.".to_string()
        } else {
            let mut tw = TabWriter::describe();
            tw.write_str("REVISION\tCHANGE-CAUSE\n");
            for rs in &rss {
                let cause = rs.pointer("/metadata/annotations/kubernetes.io~1change-cause").and_then(Value::as_str).unwrap_or("<none>");
                tw.write_str(&format!("{}\t{}\n", revision_of(rs), cause));
            }
            tw.into_string()
        };
        writeln!(streams.out, "{} \n{text}", t.display_name())?;
    }
    Ok(())
}

/// The status line of a deployment and whether its rollout is done.
pub fn deployment_status(d: &Value) -> Result<(String, bool), CmdError> {
    let name = d.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let n = |p: &str| d.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    if n("/metadata/generation") > n("/status/observedGeneration") {
        return Ok(("Waiting for deployment spec update to be observed...\n".into(), false));
    }
    let progressing = d.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten().find(|c| c.get("type").and_then(Value::as_str) == Some("Progressing"));
    if progressing.is_some_and(|c| c.get("reason").and_then(Value::as_str) == Some("ProgressDeadlineExceeded")) {
        return Err(CmdError::msg(format!("deployment {name:?} exceeded its progress deadline")));
    }
    let replicas = d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let (updated, total, available) = (n("/status/updatedReplicas"), n("/status/replicas"), n("/status/availableReplicas"));
    if updated < replicas {
        return Ok((format!("Waiting for deployment {name:?} rollout to finish: {updated} out of {replicas} new replicas have been updated...\n"), false));
    }
    if total > updated {
        return Ok((format!("Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...\n", total - updated), false));
    }
    if available < updated {
        return Ok((format!("Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available...\n"), false));
    }
    Ok((format!("deployment {name:?} successfully rolled out\n"), true))
}

fn daemonset_status(d: &Value) -> (String, bool) {
    let name = d.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let n = |p: &str| d.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    if n("/metadata/generation") > n("/status/observedGeneration") {
        return ("Waiting for daemon set spec update to be observed...\n".into(), false);
    }
    let (desired, updated, available) = (n("/status/desiredNumberScheduled"), n("/status/updatedNumberScheduled"), n("/status/numberAvailable"));
    if updated < desired {
        return (format!("Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated...\n"), false);
    }
    if available < desired {
        return (format!("Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available...\n"), false);
    }
    (format!("daemon set {name:?} successfully rolled out\n"), true)
}

async fn status(f: &Factory, s: StatusArgs, streams: &mut Streams) -> Result<(), CmdError> {
    let client = f.client().await?;
    let timeout = parse_go_duration(&s.timeout).filter(|d| !d.is_zero());
    let deadline = timeout.map(|t| Instant::now() + t);
    for t in targets(f, &s.common).await? {
        let mut last = String::new();
        loop {
            let obj = client.json(Req::get(t.path())).await?;
            let (msg, done) = match t.mapping.kind.as_str() {
                "Deployment" => deployment_status(&obj)?,
                "DaemonSet" => daemonset_status(&obj),
                other => return Err(CmdError::msg(format!("no status viewer has been implemented for {other}"))),
            };
            if msg != last {
                streams.out.write_all(msg.as_bytes())?;
                streams.flush()?;
                last = msg;
            }
            if done || !s.watch {
                break;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(CmdError::msg("timed out waiting for the condition"));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

async fn strategic(client: &ApiClient, t: &Target, patch: &Value, manager: &str) -> Result<Value, CmdError> {
    let req = Req::new(Method::PATCH, t.path())
        .query("fieldManager", manager)
        .body("application/strategic-merge-patch+json", serde_json::to_vec(patch).unwrap_or_default());
    Ok(client.json(req).await?)
}

async fn restart(f: &Factory, c: Common, streams: &mut Streams) -> Result<(), CmdError> {
    let client = f.client().await?;
    for t in targets(f, &c).await? {
        let obj = client.json(Req::get(t.path())).await?;
        if obj.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
            return Err(CmdError::msg("can't restart paused deployment (run rollout resume first)".to_string()));
        }
        let now = k8s_openapi::jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}}});
        let out = strategic(client, &t, &patch, "kubectl-rollout").await?;
        common::print_result(streams, &c.print, &t.mapping, &out, "restarted", DryRun::None)?;
    }
    Ok(())
}

async fn pause(f: &Factory, c: Common, paused: bool, streams: &mut Streams) -> Result<(), CmdError> {
    let client = f.client().await?;
    let mut errors = Vec::new();
    for t in targets(f, &c).await? {
        let obj = client.json(Req::get(t.path())).await?;
        let is_paused = obj.pointer("/spec/paused").and_then(Value::as_bool).unwrap_or(false);
        if is_paused == paused {
            let state = if paused { "already paused" } else { "not paused" };
            errors.push(CmdError::msg(format!("{} {:?} is {state}", t.mapping.group_resource(), t.name.as_deref().unwrap_or(""))));
            continue;
        }
        let out = strategic(client, &t, &json!({"spec": {"paused": paused}}), "kubectl-rollout").await?;
        common::print_result(streams, &c.print, &t.mapping, &out, if paused { "paused" } else { "resumed" }, DryRun::None)?;
    }
    CmdError::aggregate(errors)
}

async fn undo(f: &Factory, u: UndoArgs, streams: &mut Streams) -> Result<(), CmdError> {
    let client = f.client().await?;
    let dry_run = DryRun::parse(&u.dry_run, streams)?;
    for t in targets(f, &u.common).await? {
        let d = client.json(Req::get(t.path())).await?;
        let name = t.name.clone().unwrap_or_default();
        let mut rss = owned_replica_sets(client, &d).await?;
        rss.sort_by_key(revision_of);
        let target = if u.to_revision > 0 {
            rss.iter().find(|rs| revision_of(rs) == u.to_revision).ok_or_else(|| CmdError::msg(format!("unable to find specified revision {} in history", u.to_revision)))?
        } else {
            let with_rev: Vec<&Value> = rss.iter().filter(|rs| revision_of(rs) > 0).collect();
            with_rev.len().checked_sub(2).map(|i| with_rev[i]).ok_or_else(|| CmdError::msg(format!("no rollout history found for deployment {name:?}")))?
        };
        let mut template = target.pointer("/spec/template").cloned().unwrap_or(Value::Null);
        if let Some(l) = template.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
            l.remove("pod-template-hash");
        }
        if dry_run == DryRun::Client {
            common::print_result(streams, &u.common.print, &t.mapping, &d, "rolled back", dry_run)?;
            continue;
        }
        let patch = json!([{"op": "replace", "path": "/spec/template", "value": template}]);
        let req = Req::new(Method::PATCH, t.path()).body("application/json-patch+json", serde_json::to_vec(&patch).unwrap_or_default());
        let out = client.json(req).await?;
        common::print_result(streams, &u.common.print, &t.mapping, &out, "rolled back", dry_run)?;
    }
    Ok(())
}
