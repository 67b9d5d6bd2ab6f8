//! `kubectl exec` and `kubectl attach`: a WebSocket session (`v5.channel.k8s.io`, falling back
//! to `v4`) with stdin, stdout, stderr, terminal resizes and the remote exit status; `-t` puts
//! the local terminal in raw mode.

use std::cmp::Reverse;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{AttachParams, AttachedProcess, TerminalSize};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::client::{ApiClient, Method, Req};
use crate::cmd::common;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Flags of `kubectl exec`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// POD or TYPE/NAME
    pub target: String,
    /// Container name. If omitted, the first container in the pod will be chosen.
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Pass stdin to the container.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Stdin is a TTY.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Only print output from the remote session.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// The command and its arguments.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// Flags of `kubectl attach`.
#[derive(clap::Args, Debug)]
pub struct AttachArgs {
    /// POD or TYPE/NAME
    pub target: String,
    /// Container name.
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Pass stdin to the container.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Stdin is a TTY.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Only print output from the remote session.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// The length of time to wait until at least one pod is running.
    #[arg(long, default_value = "1m0s")]
    pub pod_running_timeout: String,
}

/// A terminal in raw mode until dropped.
struct RawMode(Option<libc::termios>);

impl RawMode {
    fn enable() -> Self {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a zeroed termios the calls fill in.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return RawMode(None);
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(0, libc::TCSANOW, &t);
            RawMode(Some(saved))
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = self.0 {
            // SAFETY: restores the attributes read in `enable`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &t);
            }
        }
    }
}

fn stdin_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(0) == 1 }
}

fn terminal_size() -> Option<TerminalSize> {
    // SAFETY: TIOCGWINSZ fills a winsize struct.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0 {
            Some(TerminalSize { width: ws.ws_col, height: ws.ws_row })
        } else {
            None
        }
    }
}

/// How long to wait for a pod (`--pod-running-timeout`).
pub fn pod_timeout(flag: &str) -> Result<Duration, CmdError> {
    crate::util::parse_go_duration(flag).ok_or_else(|| CmdError::msg(format!("invalid value {flag:?} for --pod-running-timeout")))
}

/// Finds the pod for `POD` or `TYPE/NAME`, waiting up to a minute for one to exist.
pub async fn find_pod(f: &Factory, target: &str) -> Result<Value, CmdError> {
    Ok(attachable_pod(f, target, Duration::from_secs(60)).await?.1)
}

/// Upstream's ActivePods order as a key, larger is more active: assigned to a node, Running
/// over Unknown over Pending, ready, ready for longer, fewer restarts, older.
fn activity(p: &Value) -> impl Ord {
    let s = |ptr: &str| p.pointer(ptr).and_then(Value::as_str).unwrap_or("").to_string();
    let assigned = !s("/spec/nodeName").is_empty();
    let phase = match s("/status/phase").as_str() {
        "Running" => 3,
        "Unknown" => 2,
        "Pending" => 1,
        _ => 0,
    };
    let ready = p.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten().find(|c| c["type"] == "Ready" && c["status"] == "True");
    let ready_since = ready.and_then(|c| c["lastTransitionTime"].as_str()).unwrap_or("").to_string();
    let restarts: i64 = p.pointer("/status/containerStatuses").and_then(Value::as_array).into_iter().flatten().filter_map(|c| c["restartCount"].as_i64()).sum();
    (assigned, phase, ready.is_some(), Reverse(ready_since), Reverse(restarts), Reverse(s("/metadata/creationTimestamp")))
}

/// The object named by `POD` or `TYPE/NAME` and the pod to attach or forward to: the pod
/// itself, or the most active pod of its selector (waiting up to `timeout` for one), as
/// upstream's AttachablePodForObject.
pub async fn attachable_pod(f: &Factory, target: &str, timeout: Duration) -> Result<(Value, Value), CmdError> {
    let arg = if target.contains('/') { target.to_string() } else { format!("pods/{target}") };
    let scope = common::scope(f, false, None, None)?;
    let targets = common::targets(f, &Default::default(), &[arg], &scope).await?;
    let t = &targets[0];
    let client = f.client().await?;
    let obj = client.json(Req::get(t.path())).await?;
    if t.mapping.kind == "Pod" {
        return Ok((obj.clone(), obj));
    }
    let selector = match t.mapping.kind.as_str() {
        "Service" | "ReplicationController" => {
            let map = obj.pointer("/spec/selector").and_then(Value::as_object).filter(|m| !m.is_empty());
            let Some(map) = map else {
                let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                return Err(CmdError::msg(format!("invalid service '{name}': Service is defined without a selector")));
            };
            let mut pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
            pairs.sort();
            pairs.join(",")
        }
        _ => crate::cmd::describe::writer::format_selector(obj.pointer("/spec/selector"), false),
    };
    let ns = t.namespace.clone().unwrap_or_default();
    let deadline = Instant::now() + timeout;
    loop {
        let list = client.json(Req::get(format!("/api/v1/namespaces/{ns}/pods")).query("labelSelector", selector.clone())).await?;
        let best = list.get("items").and_then(Value::as_array).and_then(|items| items.iter().max_by_key(|p| activity(p))).cloned();
        if let Some(p) = best {
            return Ok((obj, p));
        }
        if Instant::now() >= deadline {
            return Err(CmdError::msg("timed out waiting for the condition"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn pick_container(pod: &Value, wanted: Option<&str>, quiet: bool, streams: &mut Streams) -> Result<String, CmdError> {
    if let Some(w) = wanted {
        return Ok(w.to_string());
    }
    if let Some(d) = pod.pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container").and_then(Value::as_str) {
        return Ok(d.to_string());
    }
    let names: Vec<&str> = pod.pointer("/spec/containers").and_then(Value::as_array).into_iter().flatten().filter_map(|c| c.get("name").and_then(Value::as_str)).collect();
    if names.len() > 1 && !quiet {
        streams.eprintln(&format!("Defaulted container {:?} out of: {}", names[0], names.join(", ")));
    }
    names.first().map(|s| s.to_string()).ok_or_else(|| CmdError::msg("pod has no containers"))
}

/// `kubectl exec`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if a.command.is_empty() {
        return Err(CmdError::usage("kubectl exec", "you must specify at least one command for the container"));
    }
    let pod = find_pod(f, &a.target).await?;
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
    if phase == "Succeeded" || phase == "Failed" {
        return Err(CmdError::msg(format!("cannot exec into a container in a completed pod; current phase is {phase}")));
    }
    let container = pick_container(&pod, a.container.as_deref(), a.quiet, streams)?;
    let tty = tty_allowed(a.tty, a.stdin, a.quiet, streams);
    let ap = AttachParams { container: Some(container), stdin: a.stdin, stdout: true, stderr: !tty, tty, ..Default::default() };
    let (ns, name) = pod_ref(&pod);
    let client = f.client().await?;
    let api: kube::Api<Pod> = kube::Api::namespaced(client.kube().clone(), &ns);
    let process = match api.exec(&name, a.command.clone(), &ap).await {
        Ok(p) => p,
        Err(e) => return Err(upgrade_error(client, &format!("/api/v1/namespaces/{ns}/pods/{name}/exec"), e).await),
    };
    streams.flush()?;
    exit_from_status(session(process, a.stdin, tty).await.0)
}

/// `kubectl attach`.
pub async fn attach(f: &Factory, a: AttachArgs, streams: &mut Streams) -> Result<(), CmdError> {
    let timeout = pod_timeout(&a.pod_running_timeout)?;
    let (_, pod) = attachable_pod(f, &a.target, timeout).await?;
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
    if phase == "Succeeded" || phase == "Failed" {
        return Err(CmdError::msg(format!("cannot attach a container in a completed pod; current phase is {phase}")));
    }
    let container = pick_container(&pod, a.container.as_deref(), a.quiet, streams)?;
    let o = AttachOptions { stdin: a.stdin, tty: a.tty, quiet: a.quiet };
    let done = attach_container(f, &pod, &container, &o, streams).await?;
    exit_from_status(done.status)
}

/// What `kubectl attach` and `kubectl run --attach` ask for.
#[derive(Debug, Clone, Copy)]
pub struct AttachOptions {
    /// Pass stdin.
    pub stdin: bool,
    /// Ask for a TTY.
    pub tty: bool,
    /// No prompt messages.
    pub quiet: bool,
}

/// The end of an attach session.
#[derive(Debug)]
pub struct Attached {
    /// The final status from the server, if one came.
    pub status: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>,
    /// Bytes of output received.
    pub output: u64,
}

fn container_spec<'a>(pod: &'a Value, name: &str) -> Option<&'a Value> {
    ["/spec/containers", "/spec/initContainers", "/spec/ephemeralContainers"]
        .iter()
        .flat_map(|p| pod.pointer(p).and_then(Value::as_array).into_iter().flatten())
        .find(|c| c["name"] == name)
}

/// Attaches to `container` of `pod` as upstream's AttachOptions.Run: the TTY follows the
/// container's (with upstream's messages), the prompt hint, the session, and the message on
/// how to resume a raw session of a restarting pod.
pub async fn attach_container(f: &Factory, pod: &Value, container: &str, o: &AttachOptions, streams: &mut Streams) -> Result<Attached, CmdError> {
    let spec_tty = container_spec(pod, container).and_then(|c| c["tty"].as_bool()).unwrap_or(false);
    let mut tty = o.tty;
    if tty && !spec_tty {
        tty = false;
        if !o.quiet {
            streams.eprintln(&format!("error: Unable to use a TTY - container {container} did not allocate one"));
        }
    } else if !tty && spec_tty {
        tty = true;
    }
    let raw = o.stdin && tty && {
        let terminal = stdin_is_tty();
        if !terminal && !o.quiet {
            streams.eprintln("Unable to use a TTY - input is not a terminal or the right kind of file");
        }
        terminal
    };
    if !o.quiet {
        streams.eprintln("If you don't see a command prompt, try pressing enter.");
    }
    let ap = AttachParams { container: Some(container.to_string()), stdin: o.stdin, stdout: true, stderr: !raw, tty: raw, ..Default::default() };
    let (ns, name) = pod_ref(pod);
    let client = f.client().await?;
    let api: kube::Api<Pod> = kube::Api::namespaced(client.kube().clone(), &ns);
    let process = match api.attach(&name, &ap).await {
        Ok(p) => p,
        Err(e) => return Err(upgrade_error(client, &format!("/api/v1/namespaces/{ns}/pods/{name}/attach"), e).await),
    };
    streams.flush()?;
    let (status, output) = session(process, o.stdin, raw).await;
    let restart = pod.pointer("/spec/restartPolicy").and_then(Value::as_str).unwrap_or("Always");
    if !o.quiet && o.stdin && raw && restart == "Always" {
        let ephemeral = pod.pointer("/spec/ephemeralContainers").and_then(Value::as_array).into_iter().flatten().any(|c| c["name"] == container);
        let msg = if ephemeral {
            format!("Session ended, the ephemeral container will not be restarted but may be reattached using 'kubectl attach {name} -c {container} -i -t' if it is still running")
        } else {
            format!("Session ended, resume using 'kubectl attach {name} -c {container} -i -t' command when the pod is running")
        };
        streams.println(&msg);
        streams.flush()?;
    }
    Ok(Attached { status, output })
}

fn pod_ref(pod: &Value) -> (String, String) {
    let s = |p: &str| pod.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    (s("/metadata/namespace"), s("/metadata/name"))
}

fn tty_allowed(tty: bool, stdin: bool, quiet: bool, streams: &mut Streams) -> bool {
    if !tty {
        return false;
    }
    if !stdin {
        if !quiet {
            streams.eprintln("Unable to use a TTY - input is not a terminal or the right kind of file");
        }
        return false;
    }
    if !stdin_is_tty() {
        if !quiet {
            streams.eprintln("Unable to use a TTY - input is not a terminal or the right kind of file");
        }
        return false;
    }
    true
}

/// When the upgrade is refused, the server's own error (read with a plain request) is shown,
/// as upstream shows the body of its failed upgrade.
async fn upgrade_error(client: &ApiClient, path: &str, e: kube::Error) -> CmdError {
    match client.call(Req::new(Method::POST, path.to_string())).await {
        Err(api) => api.into(),
        Ok(_) => CmdError::msg(format!("unable to upgrade connection: {e}")),
    }
}

/// Runs a session to its end: the final status and how many bytes of output came.
async fn session(mut process: AttachedProcess, stdin: bool, tty: bool) -> (Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>, u64) {
    let _raw = tty.then(RawMode::enable);
    if tty {
        if let Some(mut sizes) = process.terminal_size() {
            if let Some(size) = terminal_size() {
                let _ = futures::SinkExt::send(&mut sizes, size).await;
            }
            tokio::spawn(async move {
                let Ok(mut sig) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()) else { return };
                while sig.recv().await.is_some() {
                    if let Some(size) = terminal_size() {
                        if futures::SinkExt::send(&mut sizes, size).await.is_err() {
                            break;
                        }
                    }
                }
            });
        }
    }
    if stdin {
        if let Some(mut writer) = process.stdin() {
            tokio::spawn(async move {
                let mut input = tokio::io::stdin();
                let _ = tokio::io::copy(&mut input, &mut writer).await;
                let _ = writer.shutdown().await;
            });
        }
    }
    let received = Arc::new(AtomicU64::new(0));
    let out_task = process.stdout().map(|mut r| {
        let received = received.clone();
        tokio::spawn(async move { copy_flushing(&mut r, tokio::io::stdout(), &received).await })
    });
    let err_task = process.stderr().map(|mut r| {
        let received = received.clone();
        tokio::spawn(async move { copy_flushing(&mut r, tokio::io::stderr(), &received).await })
    });
    let status = match process.take_status() {
        Some(fut) => fut.await,
        None => None,
    };
    // Output still in flight is drained; a session the server keeps open (waiting on a tty's
    // stdin) does not hold the command once the remote process has exited.
    let grace = std::time::Duration::from_secs(2);
    if let Some(t) = out_task {
        let _ = tokio::time::timeout(grace, t).await;
    }
    if let Some(t) = err_task {
        let _ = tokio::time::timeout(grace, t).await;
    }
    drop(_raw);
    (status, received.load(Ordering::Relaxed))
}

async fn copy_flushing<R: tokio::io::AsyncRead + Unpin, W: tokio::io::AsyncWrite + Unpin>(r: &mut R, mut w: W, received: &AtomicU64) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 32 * 1024];
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 || w.write_all(&buf[..n]).await.is_err() || w.flush().await.is_err() {
            break;
        }
        received.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Maps the final Status of a remote command to the process exit: 0 on success, the remote
/// exit code (with upstream's message) for `NonZeroExitCode`.
pub fn exit_from_status(status: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>) -> Result<(), CmdError> {
    let Some(s) = status else { return Ok(()) };
    if s.status.as_deref() == Some("Success") {
        return Ok(());
    }
    if s.reason.as_deref() == Some("NonZeroExitCode") {
        let code = s
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.parse::<i32>().ok())
            .unwrap_or(1);
        let _ = std::io::stderr().write_all(format!("command terminated with exit code {code}\n").as_bytes());
        return Err(CmdError::Exit(code));
    }
    Err(CmdError::msg(s.message.unwrap_or_else(|| "remote command failed".into())))
}
