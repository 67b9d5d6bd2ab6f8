//! The kubelet's Prometheus metrics (upstream names).

use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};

/// Metrics shared by all of one process's nodes.
pub struct Metrics {
    /// The registry served on /metrics.
    pub registry: Registry,
    /// kubelet_running_pods.
    pub running_pods: IntGauge,
    /// kubelet_running_containers.
    pub running_containers: IntGauge,
    /// kubelet_pod_start_duration_seconds: creation to running as seen by the kubelet.
    pub pod_start: Histogram,
    /// kubelet_pod_worker_duration_seconds.
    pub sync_duration: Histogram,
    /// kubelet_started_containers_total by container type.
    pub started_containers: IntCounterVec,
    /// kubelet_runtime_operations_errors_total by operation.
    pub runtime_errors: IntCounterVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Creates and registers the metrics.
    pub fn new() -> Self {
        let registry = Registry::new();
        let buckets = vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];
        let m = Metrics {
            running_pods: IntGauge::new("kubelet_running_pods", "Number of pods that have a running pod sandbox").expect("metric"),
            running_containers: IntGauge::new("kubelet_running_containers", "Number of containers currently running").expect("metric"),
            pod_start: Histogram::with_opts(
                HistogramOpts::new("kubelet_pod_start_duration_seconds", "Duration in seconds from the pod's creation to running").buckets(buckets.clone()),
            )
            .expect("metric"),
            sync_duration: Histogram::with_opts(
                HistogramOpts::new("kubelet_pod_worker_duration_seconds", "Duration in seconds to sync a single pod").buckets(buckets),
            )
            .expect("metric"),
            started_containers: IntCounterVec::new(Opts::new("kubelet_started_containers_total", "Cumulative number of containers started"), &["container_type"])
                .expect("metric"),
            runtime_errors: IntCounterVec::new(
                Opts::new("kubelet_runtime_operations_errors_total", "Cumulative number of runtime operation errors by operation type"),
                &["operation_type"],
            )
            .expect("metric"),
            registry,
        };
        for c in [
            Box::new(m.running_pods.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.running_containers.clone()),
            Box::new(m.pod_start.clone()),
            Box::new(m.sync_duration.clone()),
            Box::new(m.started_containers.clone()),
            Box::new(m.runtime_errors.clone()),
        ] {
            m.registry.register(c).expect("register metric");
        }
        m
    }
}
