//! The kubelet binary: parses flags and runs the node agent until SIGINT/SIGTERM.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rkube_component_base::logging::init();
    let flags = rkube_kubelet::config::Flags::parse();
    rkube_kubelet::run::run(flags).await
}
