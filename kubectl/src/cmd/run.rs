//! `kubectl run NAME --image=IMAGE`: creates a pod as upstream's run generator builds it.

use serde_json::{json, Map, Value};

use crate::cmd::common::PrintArgs;
use crate::cmd::create::{create_generated, WriteArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Flags of `kubectl run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// NAME
    pub name: String,
    /// The image for the container to run.
    #[arg(long, required = true)]
    pub image: String,
    /// The port that this container exposes.
    #[arg(long, default_value = "")]
    pub port: String,
    /// Environment variables to set in the container.
    #[arg(long)]
    pub env: Vec<String>,
    /// Comma separated labels to apply to the pod.
    #[arg(short = 'l', long, default_value = "")]
    pub labels: String,
    /// Annotations to apply to the pod.
    #[arg(long)]
    pub annotations: Vec<String>,
    /// The restart policy for this Pod: Always, OnFailure, Never.
    #[arg(long, default_value = "Always")]
    pub restart: String,
    /// If true, use extra arguments as the 'command' field in the container.
    #[arg(long)]
    pub command: bool,
    /// The image pull policy for the container.
    #[arg(long, default_value = "")]
    pub image_pull_policy: String,
    /// The name of the service account to set in the pod spec.
    #[arg(long, default_value = "")]
    pub serviceaccount: String,
    /// Keep stdin open on the container in the pod (attaching is not supported yet).
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Allocate a TTY for the container in the pod.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Arguments (or the command with --command).
    #[arg(last = true)]
    pub args: Vec<String>,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

fn parse_pairs(list: &[String], what: &str) -> Result<Vec<(String, String)>, CmdError> {
    list.iter()
        .map(|e| e.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).ok_or_else(|| CmdError::msg(format!("invalid {what}: {e}"))))
        .collect()
}

/// The Pod of `kubectl run`.
pub fn pod(a: &Args) -> Result<Value, CmdError> {
    let mut labels = Map::new();
    if a.labels.is_empty() {
        labels.insert("run".into(), json!(a.name));
    } else {
        for (k, v) in parse_pairs(&a.labels.split(',').map(str::to_string).collect::<Vec<_>>(), "label spec")? {
            labels.insert(k, json!(v));
        }
    }
    let mut c = json!({"name": a.name, "image": a.image});
    if !a.args.is_empty() {
        c[if a.command { "command" } else { "args" }] = json!(a.args);
    }
    if !a.port.is_empty() {
        let port: i64 = a.port.parse().map_err(|_| CmdError::msg(format!("invalid port: {}", a.port)))?;
        c["ports"] = json!([{"containerPort": port}]);
    }
    if !a.env.is_empty() {
        let env: Vec<Value> = parse_pairs(&a.env, "env")?.into_iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
        c["env"] = Value::Array(env);
    }
    c["resources"] = json!({});
    if !a.image_pull_policy.is_empty() {
        c["imagePullPolicy"] = json!(a.image_pull_policy);
    }
    if a.stdin {
        c["stdin"] = json!(true);
        c["stdinOnce"] = json!(true);
    }
    if a.tty {
        c["tty"] = json!(true);
    }
    let mut meta = json!({"name": a.name, "creationTimestamp": null, "labels": labels});
    if !a.annotations.is_empty() {
        let ann: Map<String, Value> = parse_pairs(&a.annotations, "annotation")?.into_iter().map(|(k, v)| (k, json!(v))).collect();
        meta["annotations"] = Value::Object(ann);
    }
    let mut spec = json!({"containers": [c], "restartPolicy": a.restart, "dnsPolicy": "ClusterFirst"});
    if !a.serviceaccount.is_empty() {
        spec["serviceAccountName"] = json!(a.serviceaccount);
    }
    Ok(json!({"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": {}}))
}

/// `kubectl run`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if !["Always", "OnFailure", "Never"].contains(&a.restart.as_str()) {
        return Err(CmdError::msg(format!("invalid restart policy: {}", a.restart)));
    }
    let obj = pod(&a)?;
    create_generated(f, obj, &a.write, &a.print, None, "created", streams).await
}
