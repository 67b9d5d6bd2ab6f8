//! Request metrics in Prometheus form: `apiserver_request_total` and
//! `apiserver_request_duration_seconds` by verb, resource and code.

use std::time::Duration;

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

/// The apiserver's metric families, registered in their own registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
}

impl Metrics {
    /// Creates and registers the metric families.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("apiserver_request_total", "Counter of apiserver requests broken out for each verb, resource and HTTP response code."),
            &["verb", "resource", "code"],
        )
        .expect("valid metric");
        let durations = HistogramVec::new(
            HistogramOpts::new("apiserver_request_duration_seconds", "Response latency distribution in seconds for each verb and resource.")
                .buckets(vec![0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0, 30.0, 60.0]),
            &["verb", "resource"],
        )
        .expect("valid metric");
        registry.register(Box::new(requests.clone())).expect("unique metric");
        registry.register(Box::new(durations.clone())).expect("unique metric");
        Metrics { registry, requests, durations }
    }

    /// Records one finished request.
    pub fn observe(&self, verb: &str, resource: &str, code: u16, took: Duration) {
        let verb = verb.to_ascii_uppercase();
        self.requests.with_label_values(&[verb.as_str(), resource, &code.to_string()]).inc();
        self.durations.with_label_values(&[verb.as_str(), resource]).observe(took.as_secs_f64());
    }

    /// The text exposition of every family.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
