//! kube-apiserver: parses flags and runs the server.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    rkube_apiserver::run(rkube_apiserver::config::Config::parse()).await
}
