//! kube-controller-manager: the control loops that move the cluster towards its declared
//! state, as upstream's `cmd/kube-controller-manager`.
//!
//! Layout:
//! - [`controllers`]: one module per controller and the [`controllers::CONTROLLERS`] list
//!   (`--controllers` selects from it).
//! - [`informer`]: shared watches and caches with event handlers and a controller index.
//! - [`runtime`]: wires a `reconcile(obj, ctx) -> Result<Action>` to kube-runtime's
//!   `Controller` with a work queue and its metrics; [`workqueue`] is the plain keyed queue
//!   for controllers whose items are not objects (the garbage collector).
//! - Shared pieces: [`events`] (Event recorder), [`expectations`], [`controller_ref`]
//!   (adopt/release), [`pod_control`] (pods from templates), [`pod_util`] (readiness,
//!   deletion ranking), [`metrics`], [`options`] (flags).

use std::net::SocketAddr;

use anyhow::Context;
use rkube_component_base::{client, health, leader};
use tokio_util::sync::CancellationToken;

pub mod context;
pub mod controller_ref;
pub mod controllers;
pub mod discovery;
pub mod errors;
pub mod events;
pub mod expectations;
pub mod informer;
pub mod metrics;
pub mod options;
pub mod pod_control;
pub mod pod_util;
pub mod runtime;
pub mod workqueue;

pub use context::ControllerContext;
pub use options::Options;

/// Serves health and metrics, waits for leadership (unless disabled), starts the selected
/// controllers and runs them until leadership is lost (then the process exits, as upstream).
pub async fn run(opts: Options) -> anyhow::Result<()> {
    let selected = controllers::select(&opts.controllers)?;
    let client = client::client(opts.kubeconfig.as_deref()).await?;
    let registry = prometheus::Registry::new();
    let metrics = metrics::Metrics::new(&registry)?;
    let health = health::Health::new(registry);
    if opts.secure_port != 0 {
        let addr = SocketAddr::new(opts.bind_address, opts.secure_port);
        let h = health.clone();
        tokio::spawn(async move {
            if let Err(e) = health::serve(addr, h).await {
                tracing::error!(%addr, error = %e, "health server failed");
                std::process::exit(1);
            }
        });
    }
    let stop = CancellationToken::new();
    if opts.leader_elect {
        lead(&client, &opts, &metrics).await;
    }
    let ctx = ControllerContext::new(client, opts, metrics, stop.clone());
    let mut running = Vec::new();
    for c in selected {
        tracing::info!(controller = c.name, "starting");
        running.push((c.start)(&ctx).with_context(|| format!("starting {}", c.name))?);
    }
    ctx.informers.start();
    ctx.informers.wait_for_sync().await;
    tracing::info!("caches synced; controllers running");
    health.set_ready();
    let handles: Vec<_> = running.into_iter().map(tokio::spawn).collect();
    futures::future::join_all(handles).await;
    stop.cancel();
    Ok(())
}

/// Blocks until this process holds the Lease; exits the process when it is lost.
async fn lead(client: &kube::Client, opts: &Options, metrics: &metrics::Metrics) {
    let mut cfg = leader::LeaseConfig::new(&opts.leader_elect_resource_namespace, &opts.leader_elect_resource_name);
    cfg.lease_duration = opts.leader_elect_lease_duration;
    cfg.renew_deadline = opts.leader_elect_renew_deadline;
    cfg.retry_period = opts.leader_elect_retry_period;
    tracing::info!(lease = %format!("{}/{}", cfg.namespace, cfg.name), identity = %cfg.identity, "attempting to acquire leader lease");
    metrics.set_leader(&cfg.name, false);
    let lost = leader::acquire(client.clone(), cfg.clone()).await;
    metrics.set_leader(&cfg.name, true);
    tokio::spawn(async move {
        lost.cancelled().await;
        tracing::error!("leaderelection lost");
        std::process::exit(1);
    });
}
