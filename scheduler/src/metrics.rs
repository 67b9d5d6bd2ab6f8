//! The scheduler's Prometheus metrics, with upstream's names and labels.

use prometheus::{
    exponential_buckets, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGaugeVec, Opts, Registry,
};

/// Metrics of one scheduler process.
#[derive(Clone)]
pub struct Metrics {
    /// The registry served on /metrics.
    pub registry: Registry,
    /// scheduler_schedule_attempts_total{result,profile}.
    pub schedule_attempts: IntCounterVec,
    /// scheduler_scheduling_attempt_duration_seconds{result,profile}.
    pub attempt_duration: HistogramVec,
    /// scheduler_pending_pods{queue}.
    pub pending_pods: IntGaugeVec,
    /// scheduler_preemption_attempts_total.
    pub preemption_attempts: IntCounter,
    /// scheduler_preemption_victims.
    pub preemption_victims: Histogram,
    /// scheduler_pod_scheduling_attempts (attempts until scheduled).
    pub pod_scheduling_attempts: Histogram,
}

/// Errors registering metrics.
#[derive(Debug, thiserror::Error)]
#[error("registering metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let schedule_attempts = IntCounterVec::new(
            Opts::new("scheduler_schedule_attempts_total", "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem."),
            &["result", "profile"],
        )?;
        let attempt_duration = HistogramVec::new(
            HistogramOpts::new(
                "scheduler_scheduling_attempt_duration_seconds",
                "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
            )
            .buckets(exponential_buckets(0.001, 2.0, 15)?),
            &["result", "profile"],
        )?;
        let pending_pods = IntGaugeVec::new(
            Opts::new("scheduler_pending_pods", "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated."),
            &["queue"],
        )?;
        let preemption_attempts = IntCounter::new(
            "scheduler_preemption_attempts_total",
            "Total preemption attempts in the cluster till now",
        )?;
        let preemption_victims = Histogram::with_opts(
            HistogramOpts::new(
                "scheduler_preemption_victims",
                "Number of selected preemption victims",
            )
            .buckets(exponential_buckets(1.0, 2.0, 7)?),
        )?;
        let pod_scheduling_attempts = Histogram::with_opts(
            HistogramOpts::new(
                "scheduler_pod_scheduling_attempts",
                "Number of attempts to successfully schedule a pod.",
            )
            .buckets(exponential_buckets(1.0, 2.0, 5)?),
        )?;
        registry.register(Box::new(schedule_attempts.clone()))?;
        registry.register(Box::new(attempt_duration.clone()))?;
        registry.register(Box::new(pending_pods.clone()))?;
        registry.register(Box::new(preemption_attempts.clone()))?;
        registry.register(Box::new(preemption_victims.clone()))?;
        registry.register(Box::new(pod_scheduling_attempts.clone()))?;
        Ok(Metrics {
            registry,
            schedule_attempts,
            attempt_duration,
            pending_pods,
            preemption_attempts,
            preemption_victims,
            pod_scheduling_attempts,
        })
    }

    /// Records one scheduling attempt.
    pub fn attempt(&self, result: &str, profile: &str, seconds: f64) {
        self.schedule_attempts
            .with_label_values(&[result, profile])
            .inc();
        self.attempt_duration
            .with_label_values(&[result, profile])
            .observe(seconds);
    }

    /// Sets the pending gauges from the queue lengths.
    pub fn set_pending(
        &self,
        (active, backoff, unschedulable, gated): (usize, usize, usize, usize),
    ) {
        for (q, n) in [
            ("active", active),
            ("backoff", backoff),
            ("unschedulable", unschedulable),
            ("gated", gated),
        ] {
            self.pending_pods.with_label_values(&[q]).set(n as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_upstream() {
        let m = Metrics::new().unwrap();
        m.attempt("scheduled", "default-scheduler", 0.01);
        m.set_pending((1, 0, 2, 0));
        let names: Vec<String> = m
            .registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        for n in [
            "scheduler_schedule_attempts_total",
            "scheduler_scheduling_attempt_duration_seconds",
            "scheduler_pending_pods",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
        }
    }
}
