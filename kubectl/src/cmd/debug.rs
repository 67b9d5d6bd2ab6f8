//! `kubectl debug POD --image=IMAGE`: adds an ephemeral container to a running pod through
//! the `pods/ephemeralcontainers` subresource (a strategic merge patch, as upstream), and with
//! `-i`/`--attach` waits for it to run and attaches.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::client::{Method, Req};
use crate::cmd::exec::{attach_container, exit_from_status, find_pod, AttachOptions};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Flags of `kubectl debug` (pod mode: an ephemeral container).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// POD or TYPE/NAME
    pub target: String,
    /// Container image to use for debug container.
    #[arg(long, default_value = "")]
    pub image: String,
    /// Container name to use for debug container.
    #[arg(short = 'c', long, default_value = "")]
    pub container: String,
    /// When using an ephemeral container, target processes in this container name.
    #[arg(long = "target", default_value = "")]
    pub target_container: String,
    /// Keep stdin open on the container(s) in the pod, even if nothing is attached.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Allocate a TTY for the debugging container.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// If true, wait for the container to start running, and then attach as if 'kubectl attach ...' were called.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub attach: Option<bool>,
    /// If true, suppress informational messages.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Options are "legacy", "general", "baseline", "netadmin", "restricted" or "sysadmin".
    #[arg(long, default_value = "legacy")]
    pub profile: String,
    /// Environment variables to set in the container.
    #[arg(long)]
    pub env: Vec<String>,
    /// The image pull policy for the container.
    #[arg(long, default_value = "")]
    pub image_pull_policy: String,
    /// If specified, everything after -- will be passed to the new container as Args instead of Command.
    #[arg(long)]
    pub arguments_only: bool,
    /// The command (or arguments with --arguments-only).
    #[arg(last = true)]
    pub args: Vec<String>,
}

/// Upstream's random-name alphabet (k8s.io/apimachinery util/rand): no vowels, no lookalikes.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `n` random characters of upstream's name alphabet.
pub fn random_suffix(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (nanos >> (i * 5)) as u8 ^ std::process::id() as u8;
        }
    }
    bytes.iter().map(|b| ALPHANUMS[*b as usize % ALPHANUMS.len()] as char).collect()
}

/// The debug container's security context changes of a profile (ephemeral containers).
fn apply_profile(profile: &str, ec: &mut Map<String, Value>) -> Result<(), CmdError> {
    let sc = match profile {
        "legacy" | "baseline" => return Ok(()),
        "general" => json!({"capabilities": {"add": ["SYS_PTRACE"]}}),
        "netadmin" => json!({"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}),
        "sysadmin" => json!({"privileged": true}),
        "restricted" => json!({
            "runAsNonRoot": true,
            "capabilities": {"drop": ["ALL"]},
            "allowPrivilegeEscalation": false,
            "seccompProfile": {"type": "RuntimeDefault"},
        }),
        other => return Err(CmdError::msg(format!("unknown profile: {other}"))),
    };
    ec.insert("securityContext".into(), sc);
    Ok(())
}

/// The ephemeral container upstream's generateDebugContainer builds.
pub fn debug_container(a: &Args, name: &str) -> Result<Value, CmdError> {
    let mut ec = Map::new();
    ec.insert("name".into(), json!(name));
    ec.insert("image".into(), json!(a.image));
    if !a.image_pull_policy.is_empty() {
        ec.insert("imagePullPolicy".into(), json!(a.image_pull_policy));
    }
    if !a.env.is_empty() {
        let mut env = vec![];
        for e in &a.env {
            let (k, v) = e.split_once('=').ok_or_else(|| CmdError::msg(format!("invalid env: {e}")))?;
            env.push(json!({"name": k, "value": v}));
        }
        ec.insert("env".into(), json!(env));
    }
    if !a.args.is_empty() {
        let key = if a.arguments_only { "args" } else { "command" };
        ec.insert(key.into(), json!(a.args));
    }
    if a.stdin {
        ec.insert("stdin".into(), json!(true));
    }
    if a.tty {
        ec.insert("tty".into(), json!(true));
    }
    ec.insert("terminationMessagePolicy".into(), json!("File"));
    if !a.target_container.is_empty() {
        ec.insert("targetContainerName".into(), json!(a.target_container));
    }
    apply_profile(&a.profile, &mut ec)?;
    Ok(Value::Object(ec))
}

fn validate(a: &Args) -> Result<(), CmdError> {
    if a.image.is_empty() {
        return Err(CmdError::usage("kubectl debug", "--image is required for ephemeral containers"));
    }
    if a.tty && !a.stdin {
        return Err(CmdError::usage("kubectl debug", "-i/--stdin is required for containers with -t/--tty=true"));
    }
    if !matches!(a.image_pull_policy.as_str(), "" | "Always" | "IfNotPresent" | "Never") {
        return Err(CmdError::usage("kubectl debug", format!("invalid image pull policy: {}", a.image_pull_policy)));
    }
    Ok(())
}

fn ephemeral_status<'a>(pod: &'a Value, name: &str) -> Option<&'a Value> {
    pod.pointer("/status/ephemeralContainerStatuses").and_then(Value::as_array).into_iter().flatten().find(|s| s["name"] == name)
}

/// Polls the pod until the container runs or has terminated (upstream's waitForContainer),
/// warning once per waiting reason that is an error.
async fn wait_for_container(f: &Factory, ns: &str, pod: &str, name: &str, streams: &mut Streams) -> Result<Value, CmdError> {
    let client = f.client().await?;
    let mut warned = String::new();
    loop {
        let p = client.json(Req::get(format!("/api/v1/namespaces/{ns}/pods/{pod}"))).await?;
        if matches!(p.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded") | Some("Failed")) {
            return Err(CmdError::msg(format!("pod {pod} completed")));
        }
        if let Some(s) = ephemeral_status(&p, name) {
            if s.pointer("/state/running").is_some() || s.pointer("/state/terminated").is_some() {
                return Ok(p);
            }
            if let Some(w) = s.pointer("/state/waiting") {
                let reason = w["reason"].as_str().unwrap_or("");
                let message = w["message"].as_str().unwrap_or("");
                if !matches!(reason, "" | "ContainerCreating" | "PodInitializing") && reason != warned {
                    streams.eprintln(&format!("Warning: container {name}: {message}"));
                    warned = reason.to_string();
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A `debugger-xxxxx` name no container of the pod has.
fn default_name(pod: &Value) -> String {
    let taken = |n: &str| {
        ["/spec/containers", "/spec/initContainers", "/spec/ephemeralContainers"]
            .iter()
            .flat_map(|p| pod.pointer(p).and_then(Value::as_array).into_iter().flatten())
            .any(|c| c["name"] == n)
    };
    loop {
        let n = format!("debugger-{}", random_suffix(5));
        if !taken(&n) {
            return n;
        }
    }
}

/// `kubectl debug`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    validate(&a)?;
    let pod = find_pod(f, &a.target).await?;
    let ns = pod.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
    let pod_name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    if a.profile == "legacy" {
        streams.eprintln("--profile=legacy is deprecated and will be removed in the future. It is recommended to explicitly specify a profile, for example \"--profile=general\".");
    }
    if !a.target_container.is_empty() && !a.quiet {
        streams.println(&format!(
            "Targeting container {:?}. If you don't see processes from this container it may be because the container runtime doesn't support this feature.",
            a.target_container
        ));
    }
    let name = if a.container.is_empty() {
        let n = default_name(&pod);
        if !a.quiet {
            streams.println(&format!("Defaulting debug container name to {n}."));
        }
        n
    } else {
        a.container.clone()
    };
    let ec = debug_container(&a, &name)?;
    let patch = json!({"spec": {"ephemeralContainers": [ec]}});
    let client = f.client().await?;
    let path = format!("/api/v1/namespaces/{ns}/pods/{pod_name}/ephemeralcontainers");
    let body = serde_json::to_vec(&patch).map_err(|e| CmdError::msg(e.to_string()))?;
    let req = Req::new(Method::PATCH, path).body("application/strategic-merge-patch+json", body);
    match client.json(req).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() && e.as_status().is_some_and(|s| s.details.as_ref().is_none_or(|d| d.name.is_empty())) => {
            return Err(CmdError::msg(format!("ephemeral containers are disabled for this cluster (error from server: {:?})", e.to_string())));
        }
        Err(e) => return Err(e.into()),
    }
    if !a.attach.unwrap_or(a.stdin) {
        return Ok(());
    }
    let pod = wait_for_container(f, &ns, &pod_name, &name, streams).await?;
    if ephemeral_status(&pod, &name).and_then(|s| s.pointer("/state/terminated")).is_some() {
        // Already finished: show what it wrote, as upstream falls back to the logs.
        let logs = client.call(Req::get(format!("/api/v1/namespaces/{ns}/pods/{pod_name}/log")).query("container", name.clone())).await?;
        streams.out.write_all(&logs)?;
        streams.flush()?;
        return Ok(());
    }
    let o = AttachOptions { stdin: a.stdin, tty: a.tty, quiet: a.quiet };
    let done = attach_container(f, &pod, &name, &o, streams).await?;
    exit_from_status(done.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            a: Args,
        }
        let mut argv = vec!["debug"];
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).a
    }

    #[test]
    fn container_like_upstream() {
        let a = args(&["web", "--image=busybox:1.35", "--target=httpd", "-i", "--profile=general", "--", "sh"]);
        let ec = debug_container(&a, "debugger-abcde").unwrap();
        assert_eq!(
            ec,
            json!({"name": "debugger-abcde", "image": "busybox:1.35", "command": ["sh"], "stdin": true, "terminationMessagePolicy": "File",
                "targetContainerName": "httpd", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}})
        );
        let a = args(&["web", "--image=busybox", "--arguments-only", "--", "x"]);
        assert_eq!(debug_container(&a, "d").unwrap()["args"], json!(["x"]));
        assert!(debug_container(&args(&["web", "--image=b", "--profile=nope"]), "d").is_err());
        assert!(validate(&args(&["web"])).is_err());
        assert!(validate(&args(&["web", "--image=b", "-t"])).is_err());
    }

    #[test]
    fn random_names() {
        let s = random_suffix(5);
        assert_eq!(s.len(), 5);
        assert!(s.bytes().all(|b| ALPHANUMS.contains(&b)));
    }
}
