//! Wiring: configuration, runtime connection, one context per node (several only with
//! `--runtime=fake --fake-nodes=N`), the node and pod loops, and the servers.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::config::{self, Flags, KubeletConfig, RuntimeKind};
use crate::cri::fake::FakeRuntime;
use crate::cri::remote::RemoteRuntime;
use crate::cri::Runtime;
use crate::metrics::Metrics;
use crate::pod::registry::Registry;
use crate::{logs, netns, node, pod, server, NodeContext};

async fn connect_runtime(endpoint: &str) -> anyhow::Result<(Arc<dyn Runtime>, String)> {
    let mut last = None;
    for _ in 0..60 {
        match RemoteRuntime::connect(endpoint).await {
            Ok(rt) => match rt.version().await {
                Ok(v) => {
                    tracing::info!(runtime = %v.name, version = %v.version, %endpoint, "connected to the container runtime");
                    return Ok((Arc::new(rt), v.name));
                }
                Err(e) => last = Some(e.to_string()),
            },
            Err(e) => last = Some(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    anyhow::bail!("container runtime at {endpoint} is not answering: {}", last.unwrap_or_default())
}

fn fake_first_ip(index: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 244, 0, 0)) + (index as u32) * 256)
}

async fn contexts(cfg: &KubeletConfig, client: kube::Client) -> anyhow::Result<Vec<NodeContext>> {
    let metrics = Arc::new(Metrics::new());
    let machine = Arc::new(node::machine::read(&cfg.root_dir));
    let dialer = netns::Dialer::new(cfg.node_netns.clone());
    let base = Arc::new(cfg.clone());
    let mut out = vec![];
    let shared_cri = match cfg.runtime {
        RuntimeKind::Cri => Some(connect_runtime(&cfg.runtime_endpoint).await?),
        RuntimeKind::Fake => None,
    };
    let count = if cfg.runtime == RuntimeKind::Fake { cfg.fake_nodes } else { 1 };
    for i in 0..count {
        let name = if count > 1 { format!("{}-{i}", cfg.node_name) } else { cfg.node_name.clone() };
        let (runtime, runtime_name) = match &shared_cri {
            Some((rt, n)) => (rt.clone(), n.clone()),
            None => (Arc::new(FakeRuntime::new(fake_first_ip(i))) as Arc<dyn Runtime>, "fake".to_string()),
        };
        out.push(NodeContext {
            name,
            config: base.clone(),
            client: client.clone(),
            runtime,
            runtime_name,
            dialer: dialer.clone(),
            metrics: metrics.clone(),
            pods: Arc::new(Registry::default()),
            machine: machine.clone(),
            tokens: Arc::new(crate::pod::tokens::Manager::default()),
        });
    }
    Ok(out)
}

fn start_node(ctx: NodeContext, cancel: CancellationToken) {
    tokio::spawn(async move {
        node::register(&ctx, &cancel).await;
        tokio::spawn(node::status_loop(ctx.clone(), cancel.clone()));
        tokio::spawn(node::lease_loop(ctx.clone(), cancel.clone()));
        if ctx.config.runtime == RuntimeKind::Cri {
            let c = &ctx.config;
            tokio::spawn(logs::rotation_loop(ctx.runtime.clone(), ctx.name.clone(), c.container_log_max_size, c.container_log_max_files, cancel.clone()));
        }
        pod::manager::run(ctx, cancel).await;
    });
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Runs the kubelet until SIGINT/SIGTERM. Pods keep running after it exits.
pub async fn run(flags: Flags) -> anyhow::Result<()> {
    let cfg = config::load(&flags)?;
    for dir in [&cfg.root_dir, &cfg.pod_logs_dir] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let client = rkube_component_base::client::client(flags.kubeconfig.as_deref()).await?;
    let nodes = contexts(&cfg, client).await?;
    tracing::info!(nodes = nodes.len(), runtime = ?cfg.runtime, "kubelet starting");
    let cancel = CancellationToken::new();
    for ctx in &nodes {
        start_node(ctx.clone(), cancel.clone());
    }
    if cfg.port != 0 {
        let addr = SocketAddr::new(cfg.address, cfg.port);
        let ns = nodes.clone();
        tokio::spawn(async move {
            if let Err(e) = server::serve(addr, ns).await {
                tracing::error!(error = %e, "kubelet server failed");
            }
        });
    }
    if cfg.healthz_port != 0 {
        let health = rkube_component_base::health::Health::new(nodes[0].metrics.registry.clone());
        health.set_ready();
        let addr = SocketAddr::from(([127, 0, 0, 1], cfg.healthz_port));
        tokio::spawn(async move {
            if let Err(e) = rkube_component_base::health::serve(addr, health).await {
                tracing::warn!(error = %e, "healthz server failed");
            }
        });
    }
    wait_for_signal().await;
    tracing::info!("shutting down; containers keep running");
    cancel.cancel();
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
