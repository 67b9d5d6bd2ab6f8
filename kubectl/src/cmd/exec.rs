//! `kubectl exec` and `kubectl attach`: a WebSocket session (`v5.channel.k8s.io`, falling back
//! to `v4`) with stdin, stdout, stderr, terminal resizes and the remote exit status; `-t` puts
//! the local terminal in raw mode.

use std::io::Write;

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

/// Finds the pod for `POD` or `TYPE/NAME`.
pub async fn find_pod(f: &Factory, target: &str) -> Result<Value, CmdError> {
    let arg = if target.contains('/') { target.to_string() } else { format!("pods/{target}") };
    let scope = common::scope(f, false, None, None)?;
    let targets = common::targets(f, &Default::default(), &[arg], &scope).await?;
    let t = &targets[0];
    let client = f.client().await?;
    let obj = client.json(Req::get(t.path())).await?;
    if t.mapping.kind == "Pod" {
        return Ok(obj);
    }
    let selector = crate::cmd::describe::writer::format_selector(obj.pointer("/spec/selector"), false);
    let ns = t.namespace.clone().unwrap_or_default();
    let list = client.json(Req::get(format!("/api/v1/namespaces/{ns}/pods")).query("labelSelector", selector)).await?;
    list.get("items").and_then(Value::as_array).and_then(|i| i.first()).cloned().ok_or_else(|| CmdError::msg("timed out waiting for the condition"))
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
    session(process, a.stdin, tty).await
}

/// `kubectl attach`.
pub async fn attach(f: &Factory, a: AttachArgs, streams: &mut Streams) -> Result<(), CmdError> {
    let pod = find_pod(f, &a.target).await?;
    let container = pick_container(&pod, a.container.as_deref(), a.quiet, streams)?;
    let tty = tty_allowed(a.tty, a.stdin, a.quiet, streams);
    if !a.quiet {
        streams.eprintln("If you don't see a command prompt, try pressing enter.");
    }
    let ap = AttachParams { container: Some(container), stdin: a.stdin, stdout: true, stderr: !tty, tty, ..Default::default() };
    let (ns, name) = pod_ref(&pod);
    let client = f.client().await?;
    let api: kube::Api<Pod> = kube::Api::namespaced(client.kube().clone(), &ns);
    let process = match api.attach(&name, &ap).await {
        Ok(p) => p,
        Err(e) => return Err(upgrade_error(client, &format!("/api/v1/namespaces/{ns}/pods/{name}/attach"), e).await),
    };
    streams.flush()?;
    session(process, a.stdin, tty).await
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

async fn session(mut process: AttachedProcess, stdin: bool, tty: bool) -> Result<(), CmdError> {
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
    let out_task = process.stdout().map(|mut r| tokio::spawn(async move { copy_flushing(&mut r, tokio::io::stdout()).await }));
    let err_task = process.stderr().map(|mut r| tokio::spawn(async move { copy_flushing(&mut r, tokio::io::stderr()).await }));
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
    exit_from_status(status)
}

async fn copy_flushing<R: tokio::io::AsyncRead + Unpin, W: tokio::io::AsyncWrite + Unpin>(r: &mut R, mut w: W) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 32 * 1024];
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 || w.write_all(&buf[..n]).await.is_err() || w.flush().await.is_err() {
            break;
        }
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
