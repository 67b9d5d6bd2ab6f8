//! kube-scheduler: watches pending pods and binds them to nodes through the plugin
//! framework, with profiles from `--config`, leader election, /healthz and /metrics.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use rkube_component_base::{client, health, leader, logging};
use rkube_scheduler::config::{parse_duration, KubeSchedulerConfiguration};
use rkube_scheduler::core::SchedulerCore;
use rkube_scheduler::metrics::Metrics;
use rkube_scheduler::plugins::in_tree_registry;
use rkube_scheduler::scheduler::Scheduler;
use tokio_util::sync::CancellationToken;

/// Command-line flags (upstream's names).
#[derive(Parser, Debug)]
#[command(
    name = "kube-scheduler",
    about = "The Kubernetes scheduler binds pending pods to nodes."
)]
struct Args {
    /// Path to a KubeSchedulerConfiguration file.
    #[arg(long)]
    config: Option<String>,
    /// Path to a kubeconfig (overrides clientConnection.kubeconfig).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Elect a leader before scheduling (overrides leaderElection.leaderElect).
    #[arg(long, action = clap::ArgAction::Set)]
    leader_elect: Option<bool>,
    /// Lease duration, e.g. 15s.
    #[arg(long)]
    leader_elect_lease_duration: Option<String>,
    /// Renew deadline, e.g. 10s.
    #[arg(long)]
    leader_elect_renew_deadline: Option<String>,
    /// Retry period, e.g. 2s.
    #[arg(long)]
    leader_elect_retry_period: Option<String>,
    /// Lease name.
    #[arg(long)]
    leader_elect_resource_name: Option<String>,
    /// Lease namespace.
    #[arg(long)]
    leader_elect_resource_namespace: Option<String>,
    /// Address of the health and metrics server. Loopback by default: the server is plain
    /// HTTP and unauthenticated until components serve TLS.
    #[arg(long, default_value = "127.0.0.1")]
    bind_address: String,
    /// Port of the health and metrics server (plain HTTP here; upstream serves HTTPS).
    #[arg(long, default_value_t = 10259)]
    secure_port: u16,
    /// Log verbosity (accepted for compatibility; use RUST_LOG).
    #[arg(long, short = 'v')]
    v: Option<u8>,
}

fn lease_config(
    args: &Args,
    cfg: &KubeSchedulerConfiguration,
) -> anyhow::Result<leader::LeaseConfig> {
    let le = &cfg.leader_election;
    let ns = args
        .leader_elect_resource_namespace
        .clone()
        .or(le.resource_namespace.clone())
        .unwrap_or_else(|| "kube-system".into());
    let name = args
        .leader_elect_resource_name
        .clone()
        .or(le.resource_name.clone())
        .unwrap_or_else(|| "kube-scheduler".into());
    let mut lc = leader::LeaseConfig::new(&ns, &name);
    if let Some(d) = args
        .leader_elect_lease_duration
        .as_ref()
        .or(le.lease_duration.as_ref())
    {
        lc.lease_duration = parse_duration(d)?;
    }
    if let Some(d) = args
        .leader_elect_renew_deadline
        .as_ref()
        .or(le.renew_deadline.as_ref())
    {
        lc.renew_deadline = parse_duration(d)?;
    }
    if let Some(d) = args
        .leader_elect_retry_period
        .as_ref()
        .or(le.retry_period.as_ref())
    {
        lc.retry_period = parse_duration(d)?;
    }
    Ok(lc)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    logging::init();
    let args = Args::parse();
    let config = match &args.config {
        Some(path) => KubeSchedulerConfiguration::load(path)?,
        None => KubeSchedulerConfiguration::default_config(),
    };
    let kubeconfig = args.kubeconfig.clone().or_else(|| {
        let k = &config.client_connection.kubeconfig;
        (!k.is_empty()).then(|| PathBuf::from(k))
    });
    let client = client::client(kubeconfig.as_deref()).await?;
    let core = SchedulerCore::new(&config, &in_tree_registry())
        .context("building the scheduling profiles")?;
    for (name, fwk) in &core.profiles {
        tracing::info!(profile = %name, plugins = ?fwk.plugin_names(), "profile ready");
    }
    let metrics = Metrics::new()?;
    let health = health::Health::new(metrics.registry.clone());
    let addr: SocketAddr = format!("{}:{}", args.bind_address, args.secure_port)
        .parse()
        .context("--bind-address/--secure-port")?;
    let h = health.clone();
    tokio::spawn(async move {
        if let Err(e) = health::serve(addr, h).await {
            tracing::error!(error = %e, "health server failed");
        }
    });

    let sched = Scheduler::new(core, client.clone(), metrics);
    sched.start_informers();
    sched.wait_synced().await;
    health.set_ready();
    tracing::info!("caches synced");

    let leader_elect = args
        .leader_elect
        .or(config.leader_election.leader_elect)
        .unwrap_or(true);
    let stop = if leader_elect {
        leader::acquire(client.clone(), lease_config(&args, &config)?).await
    } else {
        CancellationToken::new()
    };
    tokio::spawn(sched.clone().flush_loop(stop.clone()));
    let rt = tokio::runtime::Handle::current();
    let loop_stop = stop.clone();
    let s = sched.clone();
    std::thread::Builder::new()
        .name("scheduling".into())
        .spawn(move || s.scheduling_loop(rt, loop_stop))?;
    tracing::info!("scheduling");
    tokio::select! {
        _ = stop.cancelled() => {
            tracing::error!("leaderelection lost");
            std::process::exit(1);
        }
        _ = tokio::signal::ctrl_c() => {
            stop.cancel();
            Ok(())
        }
    }
}
