//! The command line: global flags (upstream's `genericclioptions.ConfigFlags`) and the
//! subcommands, each defined by its module under [`crate::cmd`].

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

use crate::cmd;
use crate::config::Overrides;

/// kubectl controls the Kubernetes cluster manager.
#[derive(Parser, Debug)]
#[command(name = "kubectl", about = "kubectl controls the Kubernetes cluster manager.", disable_version_flag = true)]
pub struct Cli {
    /// Flags every command accepts.
    #[command(flatten)]
    pub global: GlobalFlags,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GlobalFlags {
    /// Path to the kubeconfig file to use for CLI requests.
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The name of the kubeconfig cluster to use.
    #[arg(long, global = true)]
    pub cluster: Option<String>,
    /// The name of the kubeconfig user to use.
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// If present, the namespace scope for this CLI request.
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// The address and port of the Kubernetes API server.
    #[arg(short = 's', long, global = true)]
    pub server: Option<String>,
    /// Bearer token for authentication to the API server.
    #[arg(long, global = true)]
    pub token: Option<String>,
    /// Username for basic authentication to the API server.
    #[arg(long, global = true)]
    pub username: Option<String>,
    /// Password for basic authentication to the API server.
    #[arg(long, global = true)]
    pub password: Option<String>,
    /// Path to a cert file for the certificate authority.
    #[arg(long, global = true)]
    pub certificate_authority: Option<String>,
    /// Path to a client certificate file for TLS.
    #[arg(long, global = true)]
    pub client_certificate: Option<String>,
    /// Path to a client key file for TLS.
    #[arg(long, global = true)]
    pub client_key: Option<String>,
    /// If true, the server's certificate will not be checked for validity.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Server name to use for server certificate validation.
    #[arg(long, global = true)]
    pub tls_server_name: Option<String>,
    /// The length of time to wait before giving up on a single server request.
    #[arg(long, global = true)]
    pub request_timeout: Option<String>,
    /// Default cache directory (discovery is cached under `<dir>/discovery`).
    #[arg(long, global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Username to impersonate for the operation.
    #[arg(long = "as", global = true)]
    pub impersonate: Option<String>,
    /// Group to impersonate for the operation (repeatable).
    #[arg(long = "as-group", global = true)]
    pub impersonate_group: Vec<String>,
    /// Number for the log level verbosity.
    #[arg(short = 'v', long = "v", global = true)]
    pub verbosity: Option<i32>,
    /// Require server version to match client version.
    #[arg(long, global = true)]
    pub match_server_version: bool,
    /// Treat warnings received from the server as errors.
    #[arg(long, global = true)]
    pub warnings_as_errors: bool,
    /// If true, opt-out of response compression for all requests to the server.
    #[arg(long, global = true)]
    pub disable_compression: bool,
}

impl GlobalFlags {
    /// The kubeconfig overrides given on the command line.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            context: self.context.clone(),
            cluster: self.cluster.clone(),
            user: self.user.clone(),
            namespace: self.namespace.clone(),
            server: self.server.clone(),
            token: self.token.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            certificate_authority: self.certificate_authority.clone(),
            client_certificate: self.client_certificate.clone(),
            client_key: self.client_key.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            tls_server_name: self.tls_server_name.clone(),
            impersonate: self.impersonate.clone(),
            impersonate_groups: self.impersonate_group.clone(),
        }
    }
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the client and server version information.
    Version(cmd::version::Args),
    /// Print the supported API resources on the server.
    #[command(name = "api-resources")]
    ApiResources(cmd::api_resources::Args),
    /// Print the supported API versions on the server.
    #[command(name = "api-versions")]
    ApiVersions(cmd::api_resources::VersionsArgs),
    /// Display one or many resources.
    Get(cmd::get::Args),
    /// Create a resource from a file or from stdin.
    Create(cmd::create::Args),
    /// Apply a configuration to a resource by file name or stdin.
    Apply(cmd::apply::Args),
    /// Delete resources by file names, stdin, resources and names, or by resources and label selector.
    Delete(cmd::delete::Args),
    /// Replace a resource by file name or stdin.
    Replace(cmd::replace::Args),
    /// Update fields of a resource.
    Patch(cmd::patch::Args),
    /// Edit a resource on the server.
    Edit(cmd::edit::Args),
    /// Diff the live version against a would-be applied version.
    Diff(cmd::diff::Args),
    /// List events.
    Events(cmd::events::Args),
    /// Run a proxy to the Kubernetes API server.
    Proxy(cmd::proxy::Args),
    /// Display cluster information.
    #[command(name = "cluster-info")]
    ClusterInfo(cmd::cluster_info::Args),
    /// Show details of a specific resource or group of resources.
    Describe(cmd::describe::Args),
    /// Update the labels on a resource.
    Label(cmd::label::Args),
    /// Update the annotations on a resource.
    Annotate(cmd::label::Args),
    /// Set a new size for a deployment, replica set, replication controller, or stateful set.
    Scale(cmd::scale::Args),
    /// Manage the rollout of a resource.
    Rollout(cmd::rollout::Args),
    /// Set specific features on objects.
    Set(cmd::set::Args),
    /// Run a particular image on the cluster.
    Run(cmd::run::Args),
    /// Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service.
    Expose(cmd::expose::Args),
    /// Print the logs for a container in a pod.
    Logs(cmd::logs::Args),
    /// Execute a command in a container.
    Exec(cmd::exec::Args),
    /// Attach to a running container.
    Attach(cmd::exec::AttachArgs),
    /// Create debugging sessions for troubleshooting workloads and nodes.
    Debug(cmd::debug::Args),
    /// Modify kubeconfig files.
    Config(cmd::config::Args),
    /// Mark node as unschedulable.
    Cordon(cmd::node::CordonArgs),
    /// Mark node as schedulable.
    Uncordon(cmd::node::CordonArgs),
    /// Drain node in preparation for maintenance.
    Drain(cmd::node::DrainArgs),
    /// Update the taints on one or more nodes.
    Taint(cmd::node::TaintArgs),
    /// Inspect authorization.
    Auth(cmd::auth::Args),
    /// Experimental: Wait for a specific condition on one or many resources.
    Wait(cmd::wait::Args),
    /// Display resource (CPU/memory) usage.
    Top(cmd::top::Args),
    /// Get documentation for a resource.
    Explain(cmd::explain::Args),
    /// Copy files and directories to and from containers.
    Cp(cmd::cp::Args),
    /// Forward one or more local ports to a pod.
    #[command(name = "port-forward")]
    PortForward(cmd::port_forward::Args),
    /// Output shell completion code for the specified shell (bash or zsh).
    Completion(cmd::completion::Args),
}
