//! kube-apiserver: parses flags and runs the server.

use clap::Parser;

// glibc's allocator spent about half of a large list in malloc/free and kept freed arenas
// resident; mimalloc does neither.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    rkube_apiserver::run(rkube_apiserver::config::Config::parse()).await
}
