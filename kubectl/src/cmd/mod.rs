//! One module per command. [`dispatch`] runs a parsed command; [`run_without_runtime`] serves
//! the commands that need neither the network nor the async runtime (`version --client`).

pub mod api_resources;
pub mod apply;
pub mod auth;
pub mod cluster_info;
pub mod cluster_info_dump;
pub mod common;
pub mod completion;
pub mod config;
pub mod cp;
pub mod create;
pub mod debug;
pub mod delete;
pub mod describe;
pub mod diff;
pub mod edit;
pub mod events;
pub mod exec;
pub mod explain;
pub mod expose;
pub mod get;
pub mod label;
pub mod logs;
pub mod node;
pub mod patch;
pub mod port_forward;
pub mod proxy;
pub mod replace;
pub mod rollout;
pub mod run;
pub mod scale;
pub mod set;
pub mod tar;
pub mod top;
pub mod wait;
pub mod version;

use crate::cli::{Cli, Command};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Runs commands that need no runtime; returns their exit code, or None for the others.
pub fn run_without_runtime(cli: &Cli, streams: &mut Streams) -> Option<i32> {
    match &cli.command {
        Command::Version(a) if a.client => Some(version::run_client_only(a, streams)),
        Command::Completion(a) => Some(match completion::run(completion::Args { shell: a.shell.clone() }, streams) {
            Ok(()) => {
                let _ = streams.flush();
                0
            }
            Err(e) => crate::errors::report(&e, streams),
        }),
        _ => None,
    }
}

/// What a command adds to the usual exit code 1 of errors: `diff` uses 1 for "differences
/// found", so its errors exit with 2.
pub fn exit_code_offset(command: &Command) -> i32 {
    i32::from(matches!(command, Command::Diff(_)))
}

/// Whether the command must not use cached discovery (upstream invalidates it first).
pub fn needs_fresh_discovery(command: &Command) -> bool {
    matches!(command, Command::ApiResources(a) if !a.cached) || matches!(command, Command::ApiVersions(_))
}

/// Runs a command.
pub async fn dispatch(f: &Factory, command: Command, streams: &mut Streams) -> Result<(), CmdError> {
    match command {
        Command::Version(a) => version::run(f, a, streams).await,
        Command::ApiResources(a) => api_resources::run(f, a, streams).await,
        Command::ApiVersions(a) => api_resources::run_versions(f, a, streams).await,
        Command::Get(a) => get::run(f, a, streams).await,
        Command::Create(a) => create::run(f, a, streams).await,
        Command::Apply(a) => apply::run(f, a, streams).await,
        Command::Delete(a) => delete::run(f, a, streams).await,
        Command::Replace(a) => replace::run(f, a, streams).await,
        Command::Patch(a) => patch::run(f, a, streams).await,
        Command::Edit(a) => edit::run(f, a, streams).await,
        Command::Events(a) => events::run(f, a, streams).await,
        Command::Proxy(a) => proxy::run(f, a, streams).await,
        Command::Diff(a) => diff::run(f, a, streams).await,
        Command::ClusterInfo(a) => cluster_info::run(f, a, streams).await,
        Command::Describe(a) => describe::run(f, a, streams).await,
        Command::Label(a) => label::run(f, a, label::Kind::Label, streams).await,
        Command::Annotate(a) => label::run(f, a, label::Kind::Annotate, streams).await,
        Command::Scale(a) => scale::run(f, a, streams).await,
        Command::Rollout(a) => rollout::run(f, a, streams).await,
        Command::Set(a) => set::run(f, a, streams).await,
        Command::Run(a) => run::run(f, a, streams).await,
        Command::Expose(a) => expose::run(f, a, streams).await,
        Command::Logs(a) => logs::run(f, a, streams).await,
        Command::Exec(a) => exec::run(f, a, streams).await,
        Command::Attach(a) => exec::attach(f, a, streams).await,
        Command::Debug(a) => debug::run(f, a, streams).await,
        Command::Config(a) => config::run(f, a, streams).await,
        Command::Cordon(a) => node::cordon(f, a, true, streams).await,
        Command::Uncordon(a) => node::cordon(f, a, false, streams).await,
        Command::Drain(a) => node::drain(f, a, streams).await,
        Command::Taint(a) => node::taint(f, a, streams).await,
        Command::Auth(a) => auth::run(f, a, streams).await,
        Command::Wait(a) => wait::run(f, a, streams).await,
        Command::Top(a) => top::run(f, a, streams).await,
        Command::Explain(a) => explain::run(f, a, streams).await,
        Command::Cp(a) => cp::run(f, a, streams).await,
        Command::PortForward(a) => port_forward::run(f, a, streams).await,
        Command::Completion(a) => completion::run(a, streams),
    }
}
