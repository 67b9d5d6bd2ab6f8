//! The Container Runtime Interface as the kubelet uses it: one trait over the CRI v1 calls,
//! implemented by a gRPC client of a real runtime (`remote`, e.g. containerd) and by an
//! in-memory simulation (`fake`) for hollow nodes.

pub mod fake;
pub mod remote;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
pub use k8s_cri::v1 as api;

/// Labels the kubelet puts on every sandbox and container, as upstream does.
pub mod labels {
    /// The pod's name.
    pub const POD_NAME: &str = "io.kubernetes.pod.name";
    /// The pod's namespace.
    pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
    /// The pod's UID.
    pub const POD_UID: &str = "io.kubernetes.pod.uid";
    /// The container's name in the pod spec.
    pub const CONTAINER_NAME: &str = "io.kubernetes.container.name";
    /// Annotation: how many times the container was restarted before this instance.
    pub const RESTART_COUNT: &str = "io.kubernetes.container.restartCount";
    /// Annotation: the container's termination message path.
    pub const TERMINATION_MESSAGE_PATH: &str = "io.kubernetes.container.terminationMessagePath";
    /// Annotation: the pod's termination grace period.
    pub const GRACE_PERIOD: &str = "io.kubernetes.pod.terminationGracePeriod";
    /// Label telling which node (of a multi-node fake kubelet) runs the pod.
    pub const NODE: &str = "io.rkube.node";
}

/// Errors of runtime calls.
#[derive(Debug, thiserror::Error)]
pub enum CriError {
    /// The runtime answered with a gRPC error.
    #[error("runtime call {call} failed: {status}")]
    Rpc {
        /// The call.
        call: &'static str,
        /// The answer.
        status: Box<tonic::Status>,
    },
    /// The runtime could not be reached.
    #[error("cannot connect to the runtime at {endpoint}: {source}")]
    Connect {
        /// Its endpoint.
        endpoint: String,
        /// Why.
        source: tonic::transport::Error,
    },
    /// An object asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The runtime does not offer this call (e.g. streaming on the fake runtime).
    #[error("not supported by this runtime: {0}")]
    Unsupported(&'static str),
}

impl CriError {
    /// Whether the runtime said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            CriError::NotFound(_) => true,
            CriError::Rpc { status, .. } => status.code() == tonic::Code::NotFound || status.message().contains("not found"),
            _ => false,
        }
    }
}

/// Result of runtime calls.
pub type CriResult<T> = Result<T, CriError>;

/// Output of a synchronous exec.
#[derive(Debug, Default, Clone)]
pub struct ExecOutput {
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
    /// Exit code.
    pub exit_code: i32,
}

/// Name and version of the runtime, for node status.
#[derive(Debug, Clone)]
pub struct RuntimeVersion {
    /// e.g. "containerd".
    pub name: String,
    /// e.g. "1.6.20~ds1".
    pub version: String,
}

/// The CRI calls the kubelet makes. Implementations are cheap to clone behind an `Arc`.
#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// Runtime name and version.
    async fn version(&self) -> CriResult<RuntimeVersion>;
    /// Creates and starts a pod sandbox; returns its id.
    async fn run_pod_sandbox(&self, config: api::PodSandboxConfig) -> CriResult<String>;
    /// Stops a sandbox (and its containers), releasing its network.
    async fn stop_pod_sandbox(&self, id: &str) -> CriResult<()>;
    /// Removes a stopped sandbox.
    async fn remove_pod_sandbox(&self, id: &str) -> CriResult<()>;
    /// The sandbox's status (state, IP).
    async fn pod_sandbox_status(&self, id: &str) -> CriResult<api::PodSandboxStatus>;
    /// Sandboxes whose labels include `labels`.
    async fn list_pod_sandboxes(&self, labels: HashMap<String, String>) -> CriResult<Vec<api::PodSandbox>>;
    /// Creates a container in a sandbox; returns its id.
    async fn create_container(
        &self,
        sandbox_id: &str,
        config: api::ContainerConfig,
        sandbox_config: api::PodSandboxConfig,
    ) -> CriResult<String>;
    /// Starts a created container.
    async fn start_container(&self, id: &str) -> CriResult<()>;
    /// Stops a container: SIGTERM, then SIGKILL after `timeout`.
    async fn stop_container(&self, id: &str, timeout: Duration) -> CriResult<()>;
    /// Removes a container.
    async fn remove_container(&self, id: &str) -> CriResult<()>;
    /// Containers whose labels include `labels`.
    async fn list_containers(&self, labels: HashMap<String, String>) -> CriResult<Vec<api::Container>>;
    /// One container's full status.
    async fn container_status(&self, id: &str) -> CriResult<api::ContainerStatus>;
    /// Runs a command in a container and waits for it.
    async fn exec_sync(&self, id: &str, cmd: Vec<String>, timeout: Duration) -> CriResult<ExecOutput>;
    /// Prepares a streaming exec; returns the streaming server's URL.
    async fn exec(&self, req: api::ExecRequest) -> CriResult<String>;
    /// Prepares a streaming attach; returns the URL.
    async fn attach(&self, req: api::AttachRequest) -> CriResult<String>;
    /// Prepares a port forward into a sandbox; returns the URL.
    async fn port_forward(&self, req: api::PortForwardRequest) -> CriResult<String>;
    /// The image's status, `None` when not present.
    async fn image_status(&self, image: &str) -> CriResult<Option<api::Image>>;
    /// Pulls an image; returns its reference.
    async fn pull_image(&self, image: &str, sandbox_config: Option<api::PodSandboxConfig>) -> CriResult<String>;
    /// Asks the runtime to reopen a container's log file (after rotation).
    async fn reopen_container_log(&self, id: &str) -> CriResult<()>;
    /// Usage statistics of all containers.
    async fn list_container_stats(&self) -> CriResult<Vec<api::ContainerStats>>;
    /// The image filesystem's usage.
    async fn image_fs_info(&self) -> CriResult<Vec<api::FilesystemUsage>>;
}

/// Labels selecting everything belonging to one pod.
pub fn pod_selector(uid: &str) -> HashMap<String, String> {
    HashMap::from([(labels::POD_UID.to_string(), uid.to_string())])
}
