//! The small HTTP server every component exposes: /healthz, /livez, /readyz and /metrics.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{Encoder, Registry, TextEncoder};

/// What the health server reports.
#[derive(Clone)]
pub struct Health {
    /// The component's metrics.
    pub registry: Registry,
    /// Set once the component is ready (e.g. caches synced).
    pub ready: Arc<AtomicBool>,
}

impl Health {
    /// A not-yet-ready health state over a registry.
    pub fn new(registry: Registry) -> Self {
        Health { registry, ready: Arc::new(AtomicBool::new(false)) }
    }

    /// Marks the component ready.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }
}

async fn ok() -> &'static str {
    "ok"
}

async fn readyz(State(h): State<Health>) -> impl IntoResponse {
    if h.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

async fn metrics(State(h): State<Health>) -> impl IntoResponse {
    let mut out = Vec::new();
    let _ = TextEncoder::new().encode(&h.registry.gather(), &mut out);
    ([("content-type", "text/plain; version=0.0.4")], out)
}

/// The health router, to mount in a component's own server.
pub fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(ok))
        .route("/livez", get(ok))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(health)
}

/// Serves the health endpoints on `addr` until the process ends.
pub async fn serve(addr: SocketAddr, health: Health) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving /healthz, /readyz and /metrics");
    axum::serve(listener, router(health)).await?;
    Ok(())
}
