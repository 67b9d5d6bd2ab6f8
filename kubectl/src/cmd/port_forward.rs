//! `kubectl port-forward TYPE/NAME [LOCAL:]REMOTE...`: listens locally and forwards each
//! connection to the pod over a port-forward WebSocket session.

use std::io::Write;

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::cmd::exec::{attachable_pod, pod_timeout};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Flags of `kubectl port-forward`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// TYPE/NAME
    pub target: String,
    /// [LOCAL_PORT:]REMOTE_PORT
    pub ports: Vec<String>,
    /// Addresses to listen on (comma separated).
    #[arg(long, value_delimiter = ',', default_value = "localhost")]
    pub address: Vec<String>,
    /// The length of time to wait until at least one pod is running.
    #[arg(long, default_value = "1m0s")]
    pub pod_running_timeout: String,
}

/// Parses `[LOCAL:]REMOTE` (a named remote port is looked up in the pod).
pub fn parse_port(spec: &str, pod: &Value) -> Result<(u16, u16), CmdError> {
    let (local, remote) = match spec.split_once(':') {
        Some((l, r)) => (l, r),
        None => (spec, spec),
    };
    let remote_port = match remote.parse::<u16>() {
        Ok(p) => p,
        Err(_) => pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|c| c.get("ports").and_then(Value::as_array).cloned().unwrap_or_default())
            .find(|p| p.get("name").and_then(Value::as_str) == Some(remote))
            .and_then(|p| p.get("containerPort").and_then(Value::as_u64))
            .map(|p| p as u16)
            .ok_or_else(|| CmdError::msg(format!("Pod '{}' does not have a named port '{remote}'", pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or(""))))?,
    };
    let local_port = if local.is_empty() { 0 } else if local == remote { remote_port } else { local.parse::<u16>().map_err(|_| CmdError::msg(format!("Error parsing local port '{local}'")))? };
    Ok((local_port, remote_port))
}

/// Upstream's translateServicePortToTargetPort: each `[LOCAL:]REMOTE` naming a service port
/// (by number or name) becomes `LOCAL:TARGET` with the pod's container port.
pub fn translate_service_ports(specs: &[String], svc: &Value, pod: &Value) -> Result<Vec<String>, CmdError> {
    let svc_name = svc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let svc_ports: Vec<&Value> = svc.pointer("/spec/ports").and_then(Value::as_array).into_iter().flatten().collect();
    let mut out = vec![];
    for spec in specs {
        let (mut local, remote) = match spec.split_once(':') {
            Some((l, r)) => (l.to_string(), r.to_string()),
            None => (spec.clone(), spec.clone()),
        };
        let number = match remote.parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                let n = svc_ports
                    .iter()
                    .find(|p| p["name"].as_str() == Some(remote.as_str()))
                    .and_then(|p| p["port"].as_i64())
                    .ok_or_else(|| CmdError::msg(format!("Service '{svc_name}' does not have a named port '{remote}'")))?;
                if local == remote {
                    local = n.to_string();
                }
                n
            }
        };
        let sp = svc_ports
            .iter()
            .find(|p| p["port"].as_i64() == Some(number))
            .ok_or_else(|| CmdError::msg(format!("Service {svc_name} does not have a service port {number}")))?;
        let headless = svc.pointer("/spec/clusterIP").and_then(Value::as_str) == Some("None");
        let container_port = match &sp["targetPort"] {
            _ if headless => number,
            Value::Number(n) if n.as_i64() != Some(0) => n.as_i64().unwrap_or(number),
            Value::String(name) => named_container_port(pod, name).ok_or_else(|| {
                CmdError::msg(format!("Pod '{}' does not have a named port '{name}'", pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")))
            })?,
            _ => number,
        };
        let remote = container_port.to_string();
        out.push(if local != remote { format!("{local}:{remote}") } else { remote });
    }
    Ok(out)
}

fn named_container_port(pod: &Value, name: &str) -> Option<i64> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|c| c.get("ports").and_then(Value::as_array).cloned().unwrap_or_default())
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|p| p.get("containerPort").and_then(Value::as_i64))
}

/// A klog error line as upstream's runtime.HandleError prints it.
fn klog_unhandled(msg: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let ts = k8s_openapi::jiff::Timestamp::from_second(now.as_secs() as i64).unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
    let dt = ts.to_zoned(k8s_openapi::jiff::tz::TimeZone::UTC).datetime();
    format!(
        "E{:02}{:02} {:02}:{:02}:{:02}.{:06} {:>7} portforward.go:424] \"Unhandled Error\" err={}\n",
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        now.subsec_micros(),
        std::process::id(),
        crate::util::go_quote(msg)
    )
}

/// `kubectl port-forward`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if a.ports.is_empty() {
        return Err(CmdError::usage("kubectl port-forward", "TYPE/NAME and list of ports are required for port-forward"));
    }
    let timeout = pod_timeout(&a.pod_running_timeout)?;
    let (obj, pod) = attachable_pod(f, &a.target, timeout).await?;
    let specs = if obj["kind"] == "Service" { translate_service_ports(&a.ports, &obj, &pod)? } else { a.ports.clone() };
    let mut ports = vec![];
    for spec in &specs {
        ports.push(parse_port(spec, &pod)?);
    }
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
    if phase != "Running" {
        return Err(CmdError::msg(format!("unable to forward port because pod is not running. Current status={phase}")));
    }
    let ns = pod.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("").to_string();
    let name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    let client = f.client().await?;
    let api: kube::Api<Pod> = kube::Api::namespaced(client.kube().clone(), &ns);
    let (lost_tx, mut lost_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut tasks = Vec::new();
    for (local, remote) in ports {
        let mut local = local;
        for addr in &a.address {
            let binds: Vec<String> = if addr == "localhost" { vec!["127.0.0.1".into(), "[::1]".into()] } else { vec![addr.clone()] };
            for b in binds {
                let Ok(listener) = TcpListener::bind(format!("{b}:{local}")).await else { continue };
                // A random local port (":REMOTE") is the same on every address.
                local = listener.local_addr().map(|a| a.port()).unwrap_or(local);
                writeln!(streams.out, "Forwarding from {b}:{local} -> {remote}")?;
                streams.flush()?;
                let (api, name, lost) = (api.clone(), name.clone(), lost_tx.clone());
                tasks.push(tokio::spawn(serve(listener, api, name, local, remote, lost)));
            }
        }
    }
    if tasks.is_empty() {
        return Err(CmdError::msg("unable to listen on any of the requested ports"));
    }
    drop(lost_tx);
    if lost_rx.recv().await.is_some() {
        for t in &tasks {
            t.abort();
        }
        return Err(CmdError::msg("lost connection to pod"));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// Accepts local connections; each gets its own port-forward session. An error from the
/// pod's side ends the command, as upstream's does since 1.31.
async fn serve(listener: TcpListener, api: kube::Api<Pod>, name: String, local: u16, remote: u16, lost: tokio::sync::mpsc::Sender<()>) {
    while let Ok((mut conn, _)) = listener.accept().await {
        println!("Handling connection for {local}");
        let (api, name, lost) = (api.clone(), name.clone(), lost.clone());
        tokio::spawn(async move {
            let mut pf = match api.portforward(&name, &[remote]).await {
                Ok(pf) => pf,
                Err(e) => {
                    eprint!("{}", klog_unhandled(&format!("error creating forwarding stream for port {local} -> {remote}: {e}")));
                    return;
                }
            };
            if let Some(errors) = pf.take_error(remote) {
                tokio::spawn(async move {
                    if let Some(msg) = errors.await {
                        eprint!("{}", klog_unhandled(&format!("an error occurred forwarding {local} -> {remote}: {msg}")));
                        let _ = lost.send(()).await;
                    }
                });
            }
            if let Some(mut upstream) = pf.take_stream(remote) {
                let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
            }
        });
    }
}
