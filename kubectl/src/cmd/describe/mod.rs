//! `kubectl describe`: upstream's per-kind describers (pods, nodes, deployments, replica
//! sets, stateful sets, daemon sets, services, ingresses, config maps, secrets, namespaces,
//! service accounts, jobs, cron jobs, persistent volumes and claims, RBAC) and the generic
//! describer for every other kind, each followed by the object's events.

mod events;
mod generic;
mod ingress;
mod kinds;
mod namespace;
mod node;
mod pod;
mod rbac;
mod storage;
mod workloads;
pub mod writer;

use std::io::Write;

use serde_json::Value;

use crate::client::{ApiClient, ApiError, Req};
use crate::cmd::common::{self, FileArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::resource::{self, Target};
use crate::util::Streams;

/// Flags of `kubectl describe`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// TYPE [NAME_PREFIX] or TYPE/NAME
    pub args: Vec<String>,
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// If present, list the requested object(s) across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// If true, display events related to the described object.
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub show_events: bool,
    /// Return large lists in chunks rather than all at once.
    #[arg(long, default_value_t = 500)]
    pub chunk_size: i64,
}

/// What the describers need.
pub struct Ctx<'a> {
    /// The client.
    pub client: &'a ApiClient,
    /// `--show-events`.
    pub show_events: bool,
}

impl Ctx<'_> {
    /// Lists objects of `path` with optional selectors; empty on error.
    pub async fn list(&self, path: &str, label_selector: &str, field_selector: &str) -> Result<Vec<Value>, ApiError> {
        let req = Req::get(path.to_string())
            .query_opt("labelSelector", label_selector)
            .query_opt("fieldSelector", field_selector)
            .query("limit", "500");
        let list = self.client.json(req).await?;
        Ok(list.get("items").and_then(Value::as_array).cloned().unwrap_or_default())
    }
}

/// `kubectl describe`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if a.args.is_empty() && a.files.filenames.is_empty() {
        streams.eprint("You must specify the type of resource to describe. Use \"kubectl api-resources\" for a complete list of supported resources.\n\n");
        return Err(CmdError::usage("kubectl describe", "Required resource not specified."));
    }
    let scope = common::scope(f, a.all_namespaces, a.selector.as_deref(), None)?;
    let targets = common::targets(f, &a.files, &a.args, &scope).await?;
    let client = f.client().await?;
    let ctx = Ctx { client, show_events: a.show_events };
    if a.args.len() == 2 && !a.args[1].contains('/') && targets.len() == 1 {
        let t = &targets[0];
        match client.json(Req::get(t.path())).await {
            Err(e) if e.is_not_found() => return describe_prefix(&ctx, t, &scope, a.chunk_size, e, streams).await,
            Err(e) => return Err(e.into()),
            Ok(obj) => {
                let text = describe(&ctx, t, &obj).await;
                streams.out.write_all(text.as_bytes())?;
                return Ok(());
            }
        }
    }
    let mut objects: Vec<(Target, Value)> = Vec::new();
    let mut errors = Vec::new();
    for t in &targets {
        if t.name.is_some() {
            match client.json(Req::get(t.path())).await {
                Ok(o) => objects.push((t.clone(), o)),
                Err(e) => errors.push(CmdError::from(e)),
            }
            continue;
        }
        match resource::list_objects(client, t, &scope, a.chunk_size).await {
            Ok((items, _)) => objects.extend(items.into_iter().map(|i| (with_name(t, &i), i))),
            Err(e) => errors.push(e.into()),
        }
    }
    let mut first = true;
    for (t, obj) in &objects {
        let text = describe(&ctx, t, obj).await;
        if !first {
            streams.out.write_all(b"\n\n")?;
        }
        first = false;
        streams.out.write_all(text.as_bytes())?;
    }
    if objects.is_empty() && errors.is_empty() {
        if a.all_namespaces {
            streams.eprintln("No resources found");
        } else {
            streams.eprintln(&format!("No resources found in {} namespace.", scope.namespace));
        }
    }
    CmdError::aggregate(errors)
}

/// `describe TYPE NAME` when NAME does not exist: every object whose name starts with it.
async fn describe_prefix(ctx: &Ctx<'_>, t: &Target, scope: &resource::Scope, chunk: i64, original: ApiError, streams: &mut Streams) -> Result<(), CmdError> {
    let prefix = t.name.clone().unwrap_or_default();
    let list_target = Target { name: None, ..t.clone() };
    let (items, _) = resource::list_objects(ctx.client, &list_target, scope, chunk).await?;
    let mut found = false;
    for item in items.iter().filter(|i| writer::s(i, "/metadata/name").starts_with(&prefix)) {
        found = true;
        let text = describe(ctx, &with_name(t, item), item).await;
        writeln!(streams.out, "{text}")?;
    }
    if found {
        Ok(())
    } else {
        Err(original.into())
    }
}

fn with_name(t: &Target, item: &Value) -> Target {
    let mut t = t.clone();
    t.name = Some(writer::s(item, "/metadata/name").to_string());
    if let Some(ns) = item.pointer("/metadata/namespace").and_then(Value::as_str) {
        t.namespace = Some(ns.to_string());
    }
    t
}

async fn describe(ctx: &Ctx<'_>, t: &Target, obj: &Value) -> String {
    let m = &t.mapping;
    match (m.group.as_str(), m.kind.as_str()) {
        ("", "Pod") => pod::describe(ctx, obj).await,
        ("apps", "Deployment") => kinds::deployment(ctx, obj).await,
        ("apps", "ReplicaSet") => kinds::replica_set(ctx, obj).await,
        ("", "Service") => kinds::service(ctx, obj).await,
        ("", "ConfigMap") => kinds::config_map(ctx, obj).await,
        ("", "Secret") => kinds::secret(obj),
        ("", "Namespace") => namespace::describe(ctx, obj).await,
        ("", "Node") => node::describe(ctx, obj).await,
        ("", "ResourceQuota") => namespace::resource_quota(obj),
        ("", "LimitRange") => namespace::limit_range(obj),
        ("", "PersistentVolume") => storage::persistent_volume(ctx, obj).await,
        ("", "PersistentVolumeClaim") => storage::persistent_volume_claim(ctx, obj).await,
        ("apps", "StatefulSet") => workloads::stateful_set(ctx, obj).await,
        ("apps", "DaemonSet") => workloads::daemon_set(ctx, obj).await,
        ("networking.k8s.io" | "extensions", "Ingress") => ingress::describe(ctx, obj).await,
        ("", "ServiceAccount") => kinds::service_account(ctx, obj).await,
        ("batch", "Job") => kinds::job(ctx, obj).await,
        ("batch", "CronJob") => kinds::cron_job(ctx, obj).await,
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => rbac::role(obj),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => rbac::binding(obj),
        _ => generic::describe(ctx, obj).await,
    }
}
