//! `kubectl logs`: the pod's (or a workload's first pod's) container log, streamed from
//! `pods/NAME/log` with `follow`, `tailLines`, `sinceSeconds`, `timestamps`, `previous`.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::{ApiClient, Req};
use crate::cmd::common;
use crate::cmd::describe::writer::format_selector;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::resource::Target;
use crate::util::{parse_go_duration, Streams};

/// Flags of `kubectl logs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// POD or TYPE/NAME [CONTAINER]
    pub args: Vec<String>,
    /// Print the logs of this container.
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Specify if the logs should be streamed.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Lines of recent log file to display.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub tail: i64,
    /// Only return logs newer than a relative duration like 5s, 2m, or 3h.
    #[arg(long)]
    pub since: Option<String>,
    /// Only return logs after a specific date (RFC3339).
    #[arg(long)]
    pub since_time: Option<String>,
    /// Include timestamps on each line in the log output.
    #[arg(long)]
    pub timestamps: bool,
    /// If true, print the logs for the previous instance of the container.
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Get all containers' logs in the pod(s).
    #[arg(long)]
    pub all_containers: bool,
    /// Prefix each log line with the log source (pod name and container name).
    #[arg(long)]
    pub prefix: bool,
    /// Maximum bytes of logs to return.
    #[arg(long, default_value_t = 0)]
    pub limit_bytes: i64,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// The length of time to wait until at least one pod is running.
    #[arg(long, default_value = "20s")]
    pub pod_running_timeout: String,
}

/// `kubectl logs`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let (mut args, mut container) = (a.args.clone(), a.container.clone());
    if args.len() == 2 && container.is_none() && !args[0].contains('/') {
        container = args.pop();
    }
    if args.is_empty() && a.selector.is_none() {
        return Err(CmdError::usage("kubectl logs", "expected POD, TYPE/NAME, or --selector"));
    }
    let scope = common::scope(f, false, None, None)?;
    let client = f.client().await?;
    let pods = if let Some(sel) = &a.selector {
        let (ns, _) = f.namespace()?;
        list_pods(client, &ns, sel).await?
    } else {
        let arg = if args[0].contains('/') { args[0].clone() } else { format!("pods/{}", args[0]) };
        let targets = common::targets(f, &Default::default(), &[arg], &scope).await?;
        vec![pod_for(client, &targets[0], &a.pod_running_timeout).await?]
    };
    for pod in pods {
        let names = container_names(&pod, container.as_deref(), a.all_containers, streams)?;
        for name in names {
            stream_log(client, &pod, &name, &a, streams).await?;
        }
    }
    Ok(())
}

async fn list_pods(client: &ApiClient, ns: &str, selector: &str) -> Result<Vec<Value>, CmdError> {
    let list = client.json(Req::get(format!("/api/v1/namespaces/{ns}/pods")).query("labelSelector", selector)).await?;
    Ok(list.get("items").and_then(Value::as_array).cloned().unwrap_or_default())
}

async fn pod_for(client: &ApiClient, t: &Target, timeout: &str) -> Result<Value, CmdError> {
    let obj = client.json(Req::get(t.path())).await?;
    if t.mapping.kind == "Pod" {
        return Ok(obj);
    }
    let selector = match t.mapping.kind.as_str() {
        "Service" | "ReplicationController" => obj.pointer("/spec/selector").and_then(Value::as_object).map(|m| {
            let mut pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
            pairs.sort();
            pairs.join(",")
        }),
        _ => Some(format_selector(obj.pointer("/spec/selector"), false)),
    }
    .unwrap_or_default();
    let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("").to_string();
    let deadline = Instant::now() + parse_go_duration(timeout).unwrap_or(Duration::from_secs(20));
    loop {
        let mut pods = list_pods(client, &ns, &selector).await?;
        pods.sort_by_key(|p| p.pointer("/status/phase").and_then(Value::as_str) != Some("Running"));
        if let Some(p) = pods.into_iter().next() {
            return Ok(p);
        }
        if Instant::now() >= deadline {
            return Err(CmdError::msg("timed out waiting for the condition"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn container_names(pod: &Value, wanted: Option<&str>, all: bool, streams: &mut Streams) -> Result<Vec<String>, CmdError> {
    let names: Vec<String> = pod.pointer("/spec/containers").and_then(Value::as_array).into_iter().flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string)).collect();
    if all {
        return Ok(names);
    }
    if let Some(w) = wanted {
        return Ok(vec![w.to_string()]);
    }
    if let Some(d) = pod.pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container").and_then(Value::as_str) {
        return Ok(vec![d.to_string()]);
    }
    if names.len() > 1 {
        streams.eprintln(&format!("Defaulted container {:?} out of: {}", names[0], names.join(", ")));
    }
    names.into_iter().next().map(|n| vec![n]).ok_or_else(|| CmdError::msg("pod has no containers"))
}

async fn stream_log(client: &ApiClient, pod: &Value, container: &str, a: &Args, streams: &mut Streams) -> Result<(), CmdError> {
    let ns = pod.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
    let name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let mut req = Req::get(format!("/api/v1/namespaces/{ns}/pods/{name}/log")).accept("application/json, */*").query("container", container);
    if a.follow {
        req = req.query("follow", "true");
    }
    if a.previous {
        req = req.query("previous", "true");
    }
    if a.timestamps {
        req = req.query("timestamps", "true");
    }
    if a.tail >= 0 {
        req = req.query("tailLines", a.tail.to_string());
    }
    if a.limit_bytes > 0 {
        req = req.query("limitBytes", a.limit_bytes.to_string());
    }
    if let Some(since) = &a.since {
        let d = parse_go_duration(since).ok_or_else(|| CmdError::msg(format!("invalid argument {since:?} for \"--since\" flag")))?;
        req = req.query("sinceSeconds", d.as_secs().max(1).to_string());
    }
    if let Some(t) = &a.since_time {
        req = req.query("sinceTime", t.clone());
    }
    let mut body = client.stream(req).await?;
    let prefix = if a.prefix { format!("[pod/{name}/{container}] ") } else { String::new() };
    while let Some(chunk) = body.next_chunk().await? {
        if prefix.is_empty() {
            streams.out.write_all(&chunk)?;
        } else {
            for line in String::from_utf8_lossy(&chunk).split_inclusive('\n') {
                write!(streams.out, "{prefix}{line}")?;
            }
        }
        if a.follow {
            streams.flush()?;
        }
    }
    Ok(())
}
