//! Command-line flags with upstream kube-controller-manager's names and defaults.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// kube-controller-manager's flags.
#[derive(Parser, Debug, Clone)]
#[command(name = "kube-controller-manager", about = "The Kubernetes controller manager: runs the control loops that move the cluster towards its declared state.")]
pub struct Options {
    /// Path to a kubeconfig file with authorization and master location information.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// A list of controllers to enable. '*' enables all on-by-default controllers, 'foo'
    /// enables the controller named 'foo', '-foo' disables the controller named 'foo'.
    #[arg(long, value_delimiter = ',', default_value = "*")]
    pub controllers: Vec<String>,

    /// Start a leader election client and gain leadership before executing the main loop.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub leader_elect: bool,

    /// How long non-leader candidates wait after observing a renewal before trying to lead.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_elect_lease_duration: Duration,

    /// How long the leader keeps retrying to renew before it stops leading.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_elect_renew_deadline: Duration,

    /// How long candidates wait between attempts to acquire and renew leadership.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_elect_retry_period: Duration,

    /// The type of resource object used for locking during leader election (only `leases`).
    #[arg(long, default_value = "leases")]
    pub leader_elect_resource_lock: String,

    /// The name of the resource object used for locking during leader election.
    #[arg(long, default_value = "kube-controller-manager")]
    pub leader_elect_resource_name: String,

    /// The namespace of the resource object used for locking during leader election.
    #[arg(long, default_value = "kube-system")]
    pub leader_elect_resource_namespace: String,

    /// The IP address on which to serve /healthz, /readyz and /metrics.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,

    /// The port on which to serve /healthz, /readyz and /metrics (plain HTTP for now); 0
    /// disables serving.
    #[arg(long, default_value_t = 10257)]
    pub secure_port: u16,

    /// Deployment objects synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_deployment_syncs: u16,

    /// ReplicaSets synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_replicaset_syncs: u16,

    /// ReplicationControllers synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_rc_syncs: u16,

    /// Garbage collector workers.
    #[arg(long, default_value_t = 20)]
    pub concurrent_gc_syncs: u16,

    /// Namespace objects synced concurrently.
    #[arg(long, default_value_t = 10)]
    pub concurrent_namespace_syncs: u16,

    /// ServiceAccount (namespace) objects synced concurrently.
    #[arg(long, default_value_t = 1)]
    pub concurrent_serviceaccount_syncs: u16,

    /// If set, this root certificate authority is published in every namespace's
    /// kube-root-ca.crt ConfigMap (default: the kubeconfig cluster's CA).
    #[arg(long)]
    pub root_ca_file: Option<PathBuf>,

    /// Enables the generic garbage collector.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub enable_garbage_collector: bool,

    /// How often the garbage collector re-reads discovery to watch new resource types.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub garbage_collector_discovery_period: Duration,

    /// StatefulSet objects synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_statefulset_syncs: u16,

    /// DaemonSet objects synced concurrently.
    #[arg(long, default_value_t = 2)]
    pub concurrent_daemonset_syncs: u16,

    /// Job objects synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_job_syncs: u16,

    /// CronJob objects synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_cron_job_syncs: u16,

    /// Endpoints (service) objects synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_endpoint_syncs: u16,

    /// Services synced concurrently by the EndpointSlice controller.
    #[arg(long, default_value_t = 5)]
    pub concurrent_service_endpoint_syncs: u16,

    /// Finished Jobs checked for their TTL concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_ttl_after_finished_syncs: u16,

    /// ResourceQuotas synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_resource_quota_syncs: u16,

    /// How often every ResourceQuota's usage is recounted in full.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub resource_quota_sync_period: Duration,

    /// How often node lifecycle checks node health.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub node_monitor_period: Duration,

    /// How long a node's kubelet may stay silent (no Lease renewal, no status) before the
    /// node is marked Unknown.
    #[arg(long, default_value = "50s", value_parser = parse_duration)]
    pub node_monitor_grace_period: Duration,

    /// How long a node that was never Ready may stay silent before it is marked Unknown.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub node_startup_grace_period: Duration,

    /// Deprecated upstream and without effect: pods leave failed nodes through the NoExecute
    /// taints and their tolerationSeconds (300 s from DefaultTolerationSeconds).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub pod_eviction_timeout: Duration,

    /// Nodes per second that may get a NoExecute taint in a healthy zone.
    #[arg(long, default_value_t = 0.1)]
    pub node_eviction_rate: f64,

    /// Nodes per second tainted in an unhealthy zone (accepted; rkube uses the main rate).
    #[arg(long, default_value_t = 0.01)]
    pub secondary_node_eviction_rate: f64,

    /// Zones smaller than this count as small (accepted for compatibility).
    #[arg(long, default_value_t = 50)]
    pub large_cluster_size_threshold: u32,

    /// The fraction of not-Ready nodes that makes a zone unhealthy (accepted for compatibility).
    #[arg(long, default_value_t = 0.55)]
    pub unhealthy_zone_threshold: f64,

    /// Allocate a pod CIDR to every node from --cluster-cidr.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub allocate_node_cidrs: bool,

    /// The CIDR range of pods (10.244.0.0/16 when empty and --allocate-node-cidrs is set).
    #[arg(long, default_value = "")]
    pub cluster_cidr: String,

    /// The prefix length of node pod CIDRs (overrides --node-cidr-mask-size-ipv4).
    #[arg(long)]
    pub node_cidr_mask_size: Option<u8>,

    /// The prefix length of IPv4 node pod CIDRs.
    #[arg(long, default_value_t = 24)]
    pub node_cidr_mask_size_ipv4: u8,

    /// The prefix length of IPv6 node pod CIDRs.
    #[arg(long, default_value_t = 64)]
    pub node_cidr_mask_size_ipv6: u8,

    /// Test-only: makes the CronJob controller's clock run this many times faster than real
    /// time from the moment the process starts (1 = the wall clock).
    #[arg(long, default_value_t = 1.0, hide = true)]
    pub cronjob_clock_speed: f64,
}

impl Options {
    /// Upstream's defaults (as if no flag was given).
    pub fn defaults() -> Self {
        Options::parse_from(["kube-controller-manager"])
    }
}

/// Parses a Go duration such as `15s`, `2m30s`, `500ms` or `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let err = || format!("invalid duration {s:?}");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(err)?;
        if num_len == 0 {
            return Err(err());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(err()),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("2m30s"), Ok(Duration::from_secs(150)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn upstream_defaults_and_flag_forms() {
        let d = Options::defaults();
        assert!(d.leader_elect);
        assert_eq!(d.controllers, ["*"]);
        assert_eq!((d.concurrent_deployment_syncs, d.concurrent_gc_syncs, d.concurrent_namespace_syncs), (5, 20, 10));
        assert_eq!(d.leader_elect_lease_duration, Duration::from_secs(15));
        let o = Options::parse_from(["kcm", "--leader-elect=false", "--controllers=*,-garbagecollector", "--secure-port", "0"]);
        assert!(!o.leader_elect);
        assert_eq!(o.controllers, ["*", "-garbagecollector"]);
        assert_eq!(o.secure_port, 0);
    }
}
