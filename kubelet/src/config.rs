//! The kubelet's configuration: upstream's flags, and a `KubeletConfiguration` file
//! (kubelet.config.k8s.io/v1beta1, YAML or JSON) given with `--config`. Flags given on the
//! command line win over the file, as upstream.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid KubeletConfiguration.
    #[error("parsing {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A duration or quantity is malformed.
    #[error("invalid value {value:?} for {field}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The value.
        value: String,
    },
}

/// Which runtime the kubelet drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeKind {
    /// A CRI runtime over gRPC (containerd).
    Cri,
    /// In-memory simulation for hollow nodes (never the default).
    Fake,
}

/// Command-line flags (upstream names where upstream has them).
#[derive(Parser, Debug, Clone)]
#[command(name = "kubelet", about = "The rkube node agent: runs pods through CRI and reports node status.")]
pub struct Flags {
    /// Path to a kubeconfig for the apiserver.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// A KubeletConfiguration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The node's name (default: the hostname).
    #[arg(long)]
    pub hostname_override: Option<String>,
    /// The node's InternalIP address.
    #[arg(long)]
    pub node_ip: Option<IpAddr>,
    /// Extra node labels, key=value,...
    #[arg(long, value_delimiter = ',')]
    pub node_labels: Vec<String>,
    /// Folder of static pod manifests.
    #[arg(long)]
    pub pod_manifest_path: Option<PathBuf>,
    /// The CRI endpoint, e.g. unix:///run/containerd/containerd.sock.
    #[arg(long)]
    pub container_runtime_endpoint: Option<String>,
    /// `cri` (default) or `fake` (simulated nodes).
    #[arg(long, value_enum, default_value = "cri")]
    pub runtime: RuntimeKind,
    /// With --runtime=fake: how many nodes to simulate (named NAME-0 .. NAME-N-1).
    #[arg(long, default_value_t = 1)]
    pub fake_nodes: usize,
    /// The kubelet's state folder (volumes, checkpoints).
    #[arg(long)]
    pub root_dir: Option<PathBuf>,
    /// Where container logs go (upstream: /var/log/pods).
    #[arg(long)]
    pub pod_logs_dir: Option<PathBuf>,
    /// Address of the kubelet server.
    #[arg(long)]
    pub address: Option<IpAddr>,
    /// Port of the kubelet server (10250; 0 disables it).
    #[arg(long)]
    pub port: Option<u16>,
    /// Port of /healthz on localhost (10248; 0 disables it).
    #[arg(long)]
    pub healthz_port: Option<u16>,
    /// Cluster DNS server addresses.
    #[arg(long, value_delimiter = ',')]
    pub cluster_dns: Vec<String>,
    /// The cluster's DNS domain.
    #[arg(long)]
    pub cluster_domain: Option<String>,
    /// Most pods this node runs.
    #[arg(long)]
    pub max_pods: Option<i64>,
    /// Parent cgroup of all pods (cgroupfs syntax).
    #[arg(long)]
    pub cgroup_root: Option<String>,
    /// A network namespace (path or name under /run/netns) where pods live, when it is not
    /// the kubelet's own: probes and port checks dial from there.
    #[arg(long)]
    pub node_netns: Option<String>,
    /// The node's pod CIDR.
    #[arg(long)]
    pub pod_cidr: Option<String>,
    /// Hard eviction thresholds, e.g. `memory.available<100Mi,nodefs.available<10%`.
    #[arg(long)]
    pub eviction_hard: Option<String>,
}

/// The subset of KubeletConfiguration (v1beta1) this kubelet reads.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct KubeletConfigurationFile {
    /// apiVersion (checked loosely).
    pub api_version: Option<String>,
    /// kind.
    pub kind: Option<String>,
    /// staticPodPath.
    pub static_pod_path: Option<PathBuf>,
    /// syncFrequency, e.g. "1m0s".
    pub sync_frequency: Option<String>,
    /// fileCheckFrequency.
    pub file_check_frequency: Option<String>,
    /// address.
    pub address: Option<IpAddr>,
    /// port.
    pub port: Option<u16>,
    /// healthzPort.
    pub healthz_port: Option<u16>,
    /// clusterDomain.
    pub cluster_domain: Option<String>,
    /// clusterDNS.
    #[serde(rename = "clusterDNS")]
    pub cluster_dns: Option<Vec<String>>,
    /// nodeStatusUpdateFrequency.
    pub node_status_update_frequency: Option<String>,
    /// nodeLeaseDurationSeconds.
    pub node_lease_duration_seconds: Option<i32>,
    /// maxPods.
    pub max_pods: Option<i64>,
    /// containerLogMaxSize, e.g. "10Mi".
    pub container_log_max_size: Option<String>,
    /// containerLogMaxFiles.
    pub container_log_max_files: Option<usize>,
    /// containerRuntimeEndpoint.
    pub container_runtime_endpoint: Option<String>,
    /// cgroupRoot.
    pub cgroup_root: Option<String>,
    /// podCIDR.
    #[serde(rename = "podCIDR")]
    pub pod_cidr: Option<String>,
    /// evictionHard: signal -> threshold.
    pub eviction_hard: Option<std::collections::BTreeMap<String, String>>,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct KubeletConfig {
    /// Node name.
    pub node_name: String,
    /// InternalIP.
    pub node_ip: Option<IpAddr>,
    /// Extra labels.
    pub node_labels: Vec<(String, String)>,
    /// Static pods folder.
    pub static_pod_path: Option<PathBuf>,
    /// How often every pod is resynced.
    pub sync_frequency: Duration,
    /// How often the static pod folder is read.
    pub file_check_frequency: Duration,
    /// CRI endpoint.
    pub runtime_endpoint: String,
    /// Runtime kind.
    pub runtime: RuntimeKind,
    /// Simulated node count.
    pub fake_nodes: usize,
    /// State folder.
    pub root_dir: PathBuf,
    /// Container logs folder.
    pub pod_logs_dir: PathBuf,
    /// Server address.
    pub address: IpAddr,
    /// Server port (0: none).
    pub port: u16,
    /// Healthz port on localhost (0: none).
    pub healthz_port: u16,
    /// Cluster DNS servers.
    pub cluster_dns: Vec<String>,
    /// Cluster domain.
    pub cluster_domain: String,
    /// Node status update period.
    pub node_status_update_frequency: Duration,
    /// Lease duration.
    pub node_lease_duration_seconds: i32,
    /// Pod capacity.
    pub max_pods: i64,
    /// Log rotation size in bytes.
    pub container_log_max_size: u64,
    /// Log files kept per container.
    pub container_log_max_files: usize,
    /// Parent cgroup of pods.
    pub cgroup_root: String,
    /// Namespace to dial pods from.
    pub node_netns: Option<PathBuf>,
    /// Pod CIDR.
    pub pod_cidr: Option<String>,
    /// Hard eviction thresholds.
    pub eviction_hard: crate::node::eviction::Thresholds,
}

/// Parses an upstream duration string ("10s", "1m0s", "1h2m3.5s", "250ms").
pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let value: f64 = rest[..num_end].parse().ok()?;
        let unit_end = rest[num_end..].find(|c: char| c.is_ascii_digit()).map(|i| num_end + i).unwrap_or(rest.len());
        let factor = match &rest[num_end..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_end..];
    }
    Some(Duration::from_secs_f64(total))
}

fn duration_field(field: &'static str, v: Option<&String>, default: Duration) -> Result<Duration, ConfigError> {
    match v {
        None => Ok(default),
        Some(s) => parse_duration(s).ok_or_else(|| ConfigError::Invalid { field, value: s.clone() }),
    }
}

fn bytes_field(field: &'static str, v: Option<&String>, default: u64) -> Result<u64, ConfigError> {
    match v {
        None => Ok(default),
        Some(s) => rkube_apimachinery::quantity::Quantity::parse(s)
            .map(|q| q.value().max(0) as u64)
            .map_err(|_| ConfigError::Invalid { field, value: s.clone() }),
    }
}

/// Reads a KubeletConfiguration file.
pub fn read_file(path: &Path) -> Result<KubeletConfigurationFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    let parsed: KubeletConfigurationFile = serde_saphyr::from_str(&text)
        .map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
    if parsed.kind.as_deref().is_some_and(|k| k != "KubeletConfiguration") {
        return Err(ConfigError::Parse { path: path.into(), message: "kind must be KubeletConfiguration".into() });
    }
    Ok(parsed)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_lowercase()).unwrap_or_else(|_| "localhost".into())
}

fn netns_path(v: &str) -> PathBuf {
    if v.contains('/') {
        PathBuf::from(v)
    } else {
        Path::new("/run/netns").join(v)
    }
}

fn labels(pairs: &[String]) -> Vec<(String, String)> {
    pairs.iter().filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn eviction_hard(flags: &Flags, file: &KubeletConfigurationFile) -> Result<crate::node::eviction::Thresholds, ConfigError> {
    use crate::node::eviction;
    let invalid = |value: String| ConfigError::Invalid { field: "evictionHard", value };
    let pairs = match &flags.eviction_hard {
        Some(f) => eviction::parse_flag(f).map_err(invalid)?,
        None => file.eviction_hard.clone().unwrap_or_default(),
    };
    eviction::from_map(&pairs).map_err(invalid)
}

/// Merges flags over the file over upstream's defaults.
pub fn resolve(flags: &Flags, file: &KubeletConfigurationFile) -> Result<KubeletConfig, ConfigError> {
    let root_dir = flags.root_dir.clone().unwrap_or_else(|| PathBuf::from("/var/lib/kubelet"));
    Ok(KubeletConfig {
        node_name: flags.hostname_override.clone().map(|h| h.to_lowercase()).unwrap_or_else(hostname),
        node_ip: flags.node_ip,
        node_labels: labels(&flags.node_labels),
        static_pod_path: flags.pod_manifest_path.clone().or_else(|| file.static_pod_path.clone()),
        sync_frequency: duration_field("syncFrequency", file.sync_frequency.as_ref(), Duration::from_secs(60))?,
        file_check_frequency: duration_field("fileCheckFrequency", file.file_check_frequency.as_ref(), Duration::from_secs(20))?,
        runtime_endpoint: flags
            .container_runtime_endpoint
            .clone()
            .or_else(|| file.container_runtime_endpoint.clone())
            .unwrap_or_else(|| "unix:///run/containerd/containerd.sock".into()),
        runtime: flags.runtime,
        fake_nodes: flags.fake_nodes.max(1),
        pod_logs_dir: flags.pod_logs_dir.clone().unwrap_or_else(|| PathBuf::from("/var/log/pods")),
        root_dir,
        address: flags.address.or(file.address).unwrap_or(IpAddr::from([0, 0, 0, 0])),
        port: flags.port.or(file.port).unwrap_or(10250),
        healthz_port: flags.healthz_port.or(file.healthz_port).unwrap_or(10248),
        cluster_dns: if flags.cluster_dns.is_empty() { file.cluster_dns.clone().unwrap_or_default() } else { flags.cluster_dns.clone() },
        cluster_domain: flags.cluster_domain.clone().or_else(|| file.cluster_domain.clone()).unwrap_or_else(|| "cluster.local".into()),
        node_status_update_frequency: duration_field(
            "nodeStatusUpdateFrequency",
            file.node_status_update_frequency.as_ref(),
            Duration::from_secs(10),
        )?,
        node_lease_duration_seconds: file.node_lease_duration_seconds.unwrap_or(40),
        max_pods: flags.max_pods.or(file.max_pods).unwrap_or(110),
        container_log_max_size: bytes_field("containerLogMaxSize", file.container_log_max_size.as_ref(), 10 * 1024 * 1024)?,
        container_log_max_files: file.container_log_max_files.unwrap_or(5).max(2),
        cgroup_root: flags.cgroup_root.clone().or_else(|| file.cgroup_root.clone()).unwrap_or_else(|| "/kubepods".into()),
        node_netns: flags.node_netns.as_deref().map(netns_path),
        pod_cidr: flags.pod_cidr.clone().or_else(|| file.pod_cidr.clone()),
        eviction_hard: eviction_hard(flags, file)?,
    })
}

/// Reads flags and the optional file into the effective configuration.
pub fn load(flags: &Flags) -> Result<KubeletConfig, ConfigError> {
    let file = match &flags.config {
        Some(p) => read_file(p)?,
        None => KubeletConfigurationFile::default(),
    };
    resolve(flags, &file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m0s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("5x"), None);
    }

    #[test]
    fn file_then_flags() {
        let yaml = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPath: /etc/kubernetes/manifests\nsyncFrequency: 30s\nmaxPods: 50\nclusterDNS: [10.96.0.10]\ncontainerLogMaxSize: 1Mi\nport: 11250\n";
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.yaml");
        std::fs::write(&p, yaml).unwrap();
        let file = read_file(&p).unwrap();
        let flags = Flags::parse_from(["kubelet", "--max-pods", "20", "--hostname-override", "Node-A"]);
        let c = resolve(&flags, &file).unwrap();
        assert_eq!(c.static_pod_path.as_deref(), Some(Path::new("/etc/kubernetes/manifests")));
        assert_eq!(c.sync_frequency, Duration::from_secs(30));
        assert_eq!(c.max_pods, 20);
        assert_eq!(c.port, 11250);
        assert_eq!(c.cluster_dns, vec!["10.96.0.10"]);
        assert_eq!(c.container_log_max_size, 1024 * 1024);
        assert_eq!(c.node_name, "node-a");
    }

    #[test]
    fn wrong_kind_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.yaml");
        std::fs::write(&p, "kind: Pod\n").unwrap();
        assert!(read_file(&p).is_err());
    }
}
