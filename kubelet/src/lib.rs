//! rkube's kubelet: registers the node and keeps its status and Lease fresh, turns the pods
//! bound to it (and static pods from a folder) into sandboxes and containers through CRI,
//! reports their status, and serves logs, exec, attach and port-forward on port 10250.
//!
//! Layout: `config` (flags and KubeletConfiguration), `cri` (the runtime trait, containerd
//! client, fake runtime), `node` (registration, status, lease), `pod` (per-pod workers and
//! their pure planning/status/env/volume logic), `logs` (CRI log files), `server` (the
//! kubelet API), `netns` (dialing pods in the node's network namespace).

pub mod config;
pub mod cri;
pub mod events;
pub mod logs;
pub mod metrics;
pub mod netns;
pub mod node;
pub mod pod;
pub mod run;
pub mod server;

use std::sync::Arc;

use config::KubeletConfig;

/// Everything one node's loops share. Cheap to clone.
#[derive(Clone)]
pub struct NodeContext {
    /// The node's name.
    pub name: String,
    /// Effective configuration.
    pub config: Arc<KubeletConfig>,
    /// Apiserver client.
    pub client: kube::Client,
    /// The container runtime.
    pub runtime: Arc<dyn cri::Runtime>,
    /// The runtime's name for container IDs ("containerd").
    pub runtime_name: String,
    /// Dialer into the pods' network namespace.
    pub dialer: netns::Dialer,
    /// Metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// Pods this node runs, for the server.
    pub pods: Arc<pod::registry::Registry>,
    /// Machine facts read at start.
    pub machine: Arc<node::machine::MachineInfo>,
    /// Service-account tokens of the node's pods.
    pub tokens: Arc<pod::tokens::Manager>,
}
