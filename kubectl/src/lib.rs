//! rkube's kubectl: the Kubernetes command-line client, written after upstream's behaviour
//! (k8s.io/kubectl). Every command lives in its own module under [`cmd`]; the shared pieces
//! are the kubeconfig loader ([`config`]), the HTTP client ([`client`]), discovery and the
//! REST mapper ([`discovery`]), the resource builder ([`resource`]), manifests
//! ([`manifest`]), printers ([`printers`]) and error formatting ([`errors`]).
//!
//! Start-up is lean: nothing touches the network, the disk or the async runtime until a
//! command needs it, so `kubectl version --client` costs only argument parsing.

pub mod cli;
pub mod client;
pub mod cmd;
pub mod config;
pub mod discovery;
pub mod errors;
pub mod factory;
pub mod manifest;
pub mod openapi;
pub mod printers;
pub mod resource;
pub mod util;

use std::ffi::OsString;

use clap::Parser;

/// Parses the command line, runs the command and returns the process exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return errors::report_clap(e),
    };
    let mut streams = util::Streams::stdio();
    if let Some(code) = cmd::run_without_runtime(&cli, &mut streams) {
        return code;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return 1;
        }
    };
    let factory = factory::Factory::new(cli.global.clone());
    let result = runtime.block_on(cmd::dispatch(&factory, cli.command, &mut streams));
    let _ = streams.flush();
    // A blocking stdin read (exec -i) must not hold the process open.
    runtime.shutdown_background();
    match result {
        Ok(()) => 0,
        Err(e) => errors::report(&e, &mut streams),
    }
}
