//! `kubectl port-forward TYPE/NAME [LOCAL:]REMOTE...`: listens locally and forwards each
//! connection to the pod over a port-forward WebSocket session.

use std::io::Write;

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::cmd::exec::find_pod;
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

/// `kubectl port-forward`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if a.ports.is_empty() {
        return Err(CmdError::usage("kubectl port-forward", "TYPE/NAME and list of ports are required for port-forward"));
    }
    let pod = find_pod(f, &a.target).await?;
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
    if phase != "Running" {
        return Err(CmdError::msg(format!("unable to forward port because pod is not running. Current status={phase}")));
    }
    let ns = pod.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("").to_string();
    let name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    let client = f.client().await?;
    let api: kube::Api<Pod> = kube::Api::namespaced(client.kube().clone(), &ns);
    let mut tasks = Vec::new();
    for spec in &a.ports {
        let (local, remote) = parse_port(spec, &pod)?;
        for addr in &a.address {
            let binds: Vec<String> = if addr == "localhost" { vec!["127.0.0.1".into(), "[::1]".into()] } else { vec![addr.clone()] };
            for b in binds {
                let Ok(listener) = TcpListener::bind(format!("{b}:{local}")).await else { continue };
                let port = listener.local_addr().map(|a| a.port()).unwrap_or(local);
                writeln!(streams.out, "Forwarding from {b}:{port} -> {remote}")?;
                streams.flush()?;
                let (api, name) = (api.clone(), name.clone());
                tasks.push(tokio::spawn(serve(listener, api, name, port, remote)));
            }
        }
    }
    if tasks.is_empty() {
        return Err(CmdError::msg("unable to listen on any of the requested ports"));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn serve(listener: TcpListener, api: kube::Api<Pod>, name: String, local: u16, remote: u16) {
    while let Ok((mut conn, _)) = listener.accept().await {
        println!("Handling connection for {local}");
        let (api, name) = (api.clone(), name.clone());
        tokio::spawn(async move {
            let Ok(mut pf) = api.portforward(&name, &[remote]).await else {
                eprintln!("E0000 error creating forwarding stream for port {local} -> {remote}");
                return;
            };
            if let Some(mut upstream) = pf.take_stream(remote) {
                let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
            }
            drop(pf);
        });
    }
}
