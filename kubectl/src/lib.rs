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
pub mod discovery_cache;
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
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return errors::report_clap_for(e, &args),
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
    let exit_code = cmd::exit_code_offset(&cli.command);
    let mut factory = factory::Factory::new(cli.global.clone());
    if cmd::needs_fresh_discovery(&cli.command) {
        factory.require_fresh_discovery();
    }
    let warnings_as_errors = cli.global.warnings_as_errors;
    let mut result = runtime.block_on(cmd::dispatch(&factory, cli.command, &mut streams));
    if result.is_err() && factory.cached_discovery_missed() {
        // A type missing from cached discovery may be new: rediscover and run again, as
        // upstream's deferred REST mapper does on a miss.
        factory.invalidate_discovery_cache();
        if let Ok(cli) = cli::Cli::try_parse_from(&args) {
            factory = factory::Factory::new(cli.global.clone());
            factory.require_fresh_discovery();
            result = runtime.block_on(cmd::dispatch(&factory, cli.command, &mut streams));
        }
    }
    if result.is_ok() && warnings_as_errors {
        result = match factory.warning_count() {
            0 => Ok(()),
            1 => Err(errors::CmdError::msg("1 warning received")),
            n => Err(errors::CmdError::msg(format!("{n} warnings received"))),
        };
    }
    let _ = streams.flush();
    // A blocking stdin read (exec -i) must not hold the process open.
    runtime.shutdown_background();
    match result {
        Ok(()) => 0,
        Err(errors::CmdError::Exit(code)) => code,
        Err(e) => errors::report(&e, &mut streams) + exit_code,
    }
}
