//! `kubectl create -f FILE` and the generators `kubectl create <kind> NAME ...`, which build
//! the same objects upstream's generators build and POST them with the
//! `kubectl-create` field manager.

mod generators;
mod sources;
pub mod token;

use clap::Subcommand;
use serde_json::Value;

use crate::client::{Method, Req};
use crate::cmd::common::{self, DryRun, FileArgs, PrintArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

pub use generators::*;

/// Flags of `kubectl create`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// A generator.
    #[command(subcommand)]
    pub generator: Option<Generator>,
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// Output.
    #[command(flatten)]
    pub print: PrintArgs,
    /// Shared write flags.
    #[command(flatten)]
    pub write: WriteArgs,
}

/// Flags every create-like write takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct WriteArgs {
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
    #[arg(long, default_value = "kubectl-create")]
    pub field_manager: String,
}

/// The generators of `kubectl create`.
#[derive(Subcommand, Debug)]
pub enum Generator {
    /// Create a config map from a local file, directory or literal value.
    #[command(name = "configmap", alias = "cm")]
    ConfigMap(ConfigMapArgs),
    /// Create a secret using a specified subcommand.
    Secret(SecretArgs),
    /// Create a namespace with the specified name.
    #[command(alias = "ns")]
    Namespace(NamedArgs),
    /// Create a deployment with the specified name.
    #[command(alias = "deploy")]
    Deployment(DeploymentArgs),
    /// Create a service using a specified subcommand.
    #[command(alias = "svc")]
    Service(ServiceArgs),
    /// Create a service account with the specified name.
    #[command(name = "serviceaccount", alias = "sa")]
    ServiceAccount(NamedArgs),
    /// Create a job with the specified name.
    Job(JobArgs),
    /// Create a cron job with the specified name.
    #[command(alias = "cj")]
    Cronjob(CronJobArgs),
    /// Create a role with single rule.
    Role(RoleArgs),
    /// Create a cluster role.
    #[command(name = "clusterrole")]
    ClusterRole(RoleArgs),
    /// Create a role binding for a particular role or cluster role.
    #[command(name = "rolebinding")]
    RoleBinding(BindingArgs),
    /// Create a cluster role binding for a particular cluster role.
    #[command(name = "clusterrolebinding")]
    ClusterRoleBinding(BindingArgs),
    /// Create a quota with the specified name.
    #[command(alias = "resourcequota")]
    Quota(QuotaArgs),
    /// Create a priority class with the specified name.
    #[command(name = "priorityclass", alias = "pc")]
    PriorityClass(PriorityClassArgs),
    /// Request a service account token.
    Token(token::TokenArgs),
}

/// `kubectl create`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    match a.generator {
        Some(g) => run_generator(f, g, streams).await,
        None => run_files(f, a, streams).await,
    }
}

async fn run_files(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if a.files.filenames.is_empty() && a.files.kustomize.is_none() {
        return Err(CmdError::usage("kubectl create", "must specify one of -f and -k"));
    }
    let dry_run = DryRun::parse(&a.write.dry_run, streams)?;
    let validation = common::field_validation(&a.write.validate)?;
    let scope = common::scope(f, false, None, None)?;
    let targets = common::targets(f, &a.files, &[], &scope).await?;
    let client = f.client().await?;
    let mut errors = Vec::new();
    for t in targets {
        let mut obj = t.object.clone().unwrap_or(Value::Null);
        common::set_namespace(&mut obj, &t);
        if a.write.save_config {
            crate::cmd::apply::set_last_applied(&mut obj);
        }
        let created = if dry_run == DryRun::Client {
            Ok(obj)
        } else {
            let mut req = Req::new(Method::POST, t.collection_path())
                .query("fieldManager", a.write.field_manager.clone())
                .query("fieldValidation", validation);
            if dry_run == DryRun::Server {
                req = req.query("dryRun", "All");
            }
            client.json(req.json(&obj)).await.map_err(CmdError::from)
        };
        match created {
            Ok(o) => common::print_result(streams, &a.print, &t.mapping, &o, "created", dry_run)?,
            Err(e) => errors.push(e.with_source("creating", &t.source)),
        }
    }
    CmdError::aggregate(errors)
}

/// Sends a generated object (or prints it for `--dry-run=client`).
pub(crate) async fn create_generated(
    f: &Factory,
    mut obj: Value,
    write: &WriteArgs,
    print: &PrintArgs,
    error_prefix: Option<&str>,
    operation: &str,
    streams: &mut Streams,
) -> Result<(), CmdError> {
    let dry_run = DryRun::parse(&write.dry_run, streams)?;
    let validation = common::field_validation(&write.validate)?;
    let (namespace, explicit) = f.namespace()?;
    let mapper = f.mapper().await?;
    let api_version = obj["apiVersion"].as_str().unwrap_or("").to_string();
    let kind = obj["kind"].as_str().unwrap_or("").to_string();
    let mapping = mapper.for_kind(&api_version, &kind)?;
    if mapping.namespaced && explicit {
        set_namespace_after_name(&mut obj, &namespace);
    }
    if write.save_config {
        crate::cmd::apply::set_last_applied(&mut obj);
    }
    if dry_run == DryRun::Client {
        return common::print_result_with(streams, print, &mapping, &obj, operation, dry_run, false);
    }
    let mut req = Req::new(Method::POST, mapping.collection_path(Some(&namespace)))
        .query("fieldManager", write.field_manager.clone())
        .query("fieldValidation", validation);
    if dry_run == DryRun::Server {
        req = req.query("dryRun", "All");
    }
    let client = f.client().await?;
    match client.json(req.json(&obj)).await {
        Ok(created) => common::print_result(streams, print, &mapping, &created, operation, dry_run),
        Err(e) => match (error_prefix, e.as_status()) {
            (Some(prefix), Some(s)) => Err(CmdError::msg(format!("{prefix}{}", s.message))),
            _ => Err(e.into()),
        },
    }
}

/// Checks that exactly one NAME was given.
pub(crate) fn one_name(names: &[String], command: &str) -> Result<String, CmdError> {
    if names.len() != 1 {
        return Err(CmdError::usage(command, format!("exactly one NAME is required, got {}", names.len())));
    }
    Ok(names[0].clone())
}

async fn run_generator(f: &Factory, g: Generator, streams: &mut Streams) -> Result<(), CmdError> {
    generators::run(f, g, streams).await
}

/// Puts `metadata.namespace` right after `metadata.name`, where Go's ObjectMeta has it.
fn set_namespace_after_name(obj: &mut Value, namespace: &str) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let old = std::mem::take(meta);
    for (k, v) in old {
        let is_name = k == "name";
        if k != "namespace" {
            meta.insert(k, v);
        }
        if is_name {
            meta.insert("namespace".into(), Value::String(namespace.into()));
        }
    }
}
