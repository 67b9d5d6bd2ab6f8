//! `kubectl run NAME --image=IMAGE`: creates a pod as upstream's run generator builds it.

use serde_json::{json, Map, Value};

use std::io::Write;
use std::time::{Duration, Instant};

use crate::client::{ApiClient, ApiError, Method, Req};
use crate::cmd::common::{self, PrintArgs};
use crate::cmd::exec::{attach_container, pod_timeout, AttachOptions};
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
    /// Keep stdin open on the container in the pod, even if nothing is attached.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Allocate a TTY for the container in the pod.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Wait for the Pod to start running, and then attach to it (the default with -i).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub attach: Option<bool>,
    /// Delete the pod after it exits. Only valid when attaching to the container.
    #[arg(long)]
    pub rm: bool,
    /// Suppress prompt messages.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Leave stdin open after the first attach completes (the pod's stdinOnce is false).
    #[arg(long)]
    pub leave_stdin_open: bool,
    /// The length of time to wait until the pod is running.
    #[arg(long, default_value = "1m0s")]
    pub pod_running_timeout: String,
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
        if !a.leave_stdin_open {
            c["stdinOnce"] = json!(true);
        }
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
    if a.tty && !a.stdin {
        return Err(CmdError::usage("kubectl run", "-i/--stdin is required for containers with -t/--tty=true"));
    }
    if !["Always", "OnFailure", "Never"].contains(&a.restart.as_str()) {
        return Err(CmdError::msg(format!("invalid restart policy: {}", a.restart)));
    }
    let attach = a.attach.unwrap_or(a.stdin);
    if a.rm && !attach {
        return Err(CmdError::usage("kubectl run", "--rm should only be used for attached containers"));
    }
    if attach && !matches!(a.write.dry_run.as_str(), "" | "none" | "false") {
        return Err(CmdError::usage("kubectl run", "--dry-run=[server|client] can't be used with attached containers options (--attach, --stdin, or --tty)"));
    }
    let timeout = pod_timeout(&a.pod_running_timeout)?;
    let obj = pod(&a)?;
    if !attach {
        return create_generated(f, obj, &a.write, &a.print, None, "created", streams).await;
    }
    let (ns, _) = f.namespace()?;
    let client = f.client().await?;
    let validation = common::field_validation(&a.write.validate)?;
    let req = Req::new(Method::POST, format!("/api/v1/namespaces/{ns}/pods"))
        .query("fieldManager", a.write.field_manager.clone())
        .query("fieldValidation", validation)
        .json(&obj);
    client.json(req).await?;
    let outcome = attach_and_wait(f, client, &ns, &a, timeout, streams).await;
    if a.rm {
        // As upstream's deferred removal: errors deleting are not reported.
        let path = format!("/api/v1/namespaces/{ns}/pods/{}", a.name);
        if client.call(Req::new(Method::DELETE, path)).await.is_ok() {
            streams.println(&format!("pod \"{}\" deleted", a.name));
            streams.flush()?;
        }
    }
    match outcome? {
        None => Ok(()),
        Some((message, code)) => {
            streams.eprint(&message);
            Err(CmdError::Exit(code))
        }
    }
}

/// The text of an error as Go's `err.Error()` gives it (a server error is its message).
fn error_text(e: &CmdError) -> String {
    match e {
        CmdError::Api(ApiError::Status(s)) => s.message.clone(),
        other => other.to_string(),
    }
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("")
}

fn running_and_ready(pod: &Value) -> bool {
    phase(pod) == "Running"
        && pod.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten().any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn completed(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// Polls the pod until `done` holds.
async fn wait_for_pod(client: &ApiClient, ns: &str, name: &str, timeout: Duration, done: fn(&Value) -> bool) -> Result<Value, CmdError> {
    let deadline = Instant::now() + timeout;
    loop {
        let pod = client.json(Req::get(format!("/api/v1/namespaces/{ns}/pods/{name}"))).await?;
        if done(&pod) {
            return Ok(pod);
        }
        if Instant::now() >= deadline {
            return Err(CmdError::msg("timed out waiting for the condition"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn print_logs(client: &ApiClient, ns: &str, name: &str, container: &str, streams: &mut Streams) -> Result<(), CmdError> {
    let logs = client.call(Req::get(format!("/api/v1/namespaces/{ns}/pods/{name}/log")).query("container", container)).await?;
    streams.out.write_all(&logs)?;
    streams.flush()?;
    Ok(())
}

/// Upstream's attach part of `kubectl run`: wait for the pod to run, attach (or show the logs
/// of a pod that already finished), then wait for the exit code unless the pod restarts
/// forever. Returns the message and exit code of a failed pod.
async fn attach_and_wait(f: &Factory, client: &ApiClient, ns: &str, a: &Args, timeout: Duration, streams: &mut Streams) -> Result<Option<(String, i32)>, CmdError> {
    let name = a.name.as_str();
    let pod = wait_for_pod(client, ns, name, timeout, |p| running_and_ready(p) || completed(p)).await?;
    let mut seen_output = true;
    if completed(&pod) {
        print_logs(client, ns, name, name, streams).await?;
    } else {
        let o = AttachOptions { stdin: a.stdin, tty: a.tty, quiet: a.quiet };
        match attach_container(f, &pod, name, &o, streams).await {
            Ok(done) => seen_output = done.output > 0,
            Err(e) => {
                streams.eprintln(&format!("warning: couldn't attach to pod/{name}, falling back to streaming logs: {}", error_text(&e)));
                print_logs(client, ns, name, name, streams).await?;
            }
        }
    }
    let wait_exit = !a.leave_stdin_open && (a.restart == "Never" || a.restart == "OnFailure");
    if !wait_exit {
        return Ok(None);
    }
    let pod = if a.restart == "OnFailure" {
        wait_for_pod(client, ns, name, timeout, |p| phase(p) == "Succeeded").await?
    } else {
        wait_for_pod(client, ns, name, timeout, completed).await?
    };
    // A container that wrote everything before the attach began: show what it wrote.
    if !seen_output {
        print_logs(client, ns, name, name, streams).await?;
    }
    let full = format!("{ns}/{name}");
    match phase(&pod) {
        "Succeeded" => Ok(None),
        "Failed" => {
            let terminated = pod.pointer("/status/containerStatuses/0/state/terminated");
            let code = terminated.and_then(|t| t["exitCode"].as_i64()).unwrap_or(0);
            match terminated {
                Some(t) if code != 0 => {
                    let reason = t["reason"].as_str().unwrap_or("");
                    let mut message = format!("pod {full} terminated ({reason})\n{}", t["message"].as_str().unwrap_or(""));
                    if !message.ends_with('\n') {
                        message.push('\n');
                    }
                    Ok(Some((message, code as i32)))
                }
                _ => Err(CmdError::msg(format!("pod {full} failed with unknown exit code"))),
            }
        }
        other => Err(CmdError::msg(format!("pod {full} left in phase {other}"))),
    }
}
