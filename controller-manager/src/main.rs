//! The kube-controller-manager binary: parses upstream's flags and runs the controllers.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rkube_component_base::logging::init();
    let opts = rkube_controller_manager::Options::parse();
    rkube_controller_manager::run(opts).await
}
