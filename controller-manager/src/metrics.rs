//! Prometheus metrics with upstream's names: the workqueue family (`workqueue_depth`,
//! `workqueue_adds_total`, `workqueue_queue_duration_seconds`,
//! `workqueue_work_duration_seconds`, `workqueue_retries_total`, labelled by queue name), a
//! reconcile error counter, and `leader_election_master_status`.

use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::errors::Result;

/// Every metric family of the controller-manager, registered once.
#[derive(Clone)]
pub struct Metrics {
    depth: IntGaugeVec,
    adds: IntCounterVec,
    queue_duration: HistogramVec,
    work_duration: HistogramVec,
    retries: IntCounterVec,
    errors: IntCounterVec,
    leader: IntGaugeVec,
}

/// The metrics of one work queue (one controller).
#[derive(Clone)]
pub struct QueueMetrics {
    /// Items waiting to be processed.
    pub depth: IntGauge,
    /// Items added.
    pub adds: IntCounter,
    /// Seconds an item waited before processing.
    pub queue_duration: prometheus::Histogram,
    /// Seconds processing an item took.
    pub work_duration: prometheus::Histogram,
    /// Items requeued after an error.
    pub retries: IntCounter,
    /// Reconciles (syncs) that returned an error.
    pub errors: IntCounter,
}

fn buckets() -> Vec<f64> {
    // upstream: ExponentialBuckets(10e-9, 10, 10), 10ns to 10s
    prometheus::exponential_buckets(1e-8, 10.0, 10).expect("valid buckets")
}

impl Metrics {
    /// Creates and registers the families in `registry`.
    pub fn new(registry: &Registry) -> Result<Self> {
        let name = &["name"];
        let m = Metrics {
            depth: IntGaugeVec::new(Opts::new("workqueue_depth", "Current depth of workqueue"), name)?,
            adds: IntCounterVec::new(Opts::new("workqueue_adds_total", "Total number of adds handled by workqueue"), name)?,
            queue_duration: HistogramVec::new(
                HistogramOpts::new("workqueue_queue_duration_seconds", "How long in seconds an item stays in workqueue before being requested.").buckets(buckets()),
                name,
            )?,
            work_duration: HistogramVec::new(
                HistogramOpts::new("workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes.").buckets(buckets()),
                name,
            )?,
            retries: IntCounterVec::new(Opts::new("workqueue_retries_total", "Total number of retries handled by workqueue"), name)?,
            errors: IntCounterVec::new(Opts::new("controller_reconcile_errors_total", "Total number of syncs of a controller that returned an error"), name)?,
            leader: IntGaugeVec::new(
                Opts::new("leader_election_master_status", "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master."),
                name,
            )?,
        };
        registry.register(Box::new(m.depth.clone()))?;
        registry.register(Box::new(m.adds.clone()))?;
        registry.register(Box::new(m.queue_duration.clone()))?;
        registry.register(Box::new(m.work_duration.clone()))?;
        registry.register(Box::new(m.retries.clone()))?;
        registry.register(Box::new(m.errors.clone()))?;
        registry.register(Box::new(m.leader.clone()))?;
        Ok(m)
    }

    /// The handles of the queue called `name`.
    pub fn queue(&self, name: &str) -> QueueMetrics {
        QueueMetrics {
            depth: self.depth.with_label_values(&[name]),
            adds: self.adds.with_label_values(&[name]),
            queue_duration: self.queue_duration.with_label_values(&[name]),
            work_duration: self.work_duration.with_label_values(&[name]),
            retries: self.retries.with_label_values(&[name]),
            errors: self.errors.with_label_values(&[name]),
        }
    }

    /// Sets `leader_election_master_status{name}`.
    pub fn set_leader(&self, lease: &str, leading: bool) {
        self.leader.with_label_values(&[lease]).set(i64::from(leading));
    }
}
