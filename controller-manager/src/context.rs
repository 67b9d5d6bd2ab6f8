//! What every controller is started with (upstream's `ControllerContext`): the client, the
//! shared informers, the flags, the metrics and the event broadcaster.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::events::{Broadcaster, Recorder};
use crate::informer::InformerFactory;
use crate::metrics::Metrics;
use crate::options::Options;

/// Shared state handed to each controller's `start`.
#[derive(Clone)]
pub struct ControllerContext {
    /// The apiserver client.
    pub client: kube::Client,
    /// Shared informers (one watch per resource type).
    pub informers: InformerFactory,
    /// The parsed flags.
    pub options: Arc<Options>,
    /// Metric families (work queues, leader status).
    pub metrics: Metrics,
    /// Cancelled when the process stops leading or shuts down.
    pub stop: CancellationToken,
    events: Broadcaster,
}

impl ControllerContext {
    /// A context over `client`; starts the event writer.
    pub fn new(client: kube::Client, options: Options, metrics: Metrics, stop: CancellationToken) -> Self {
        ControllerContext {
            informers: InformerFactory::new(client.clone(), stop.clone()),
            events: Broadcaster::start(client.clone()),
            client,
            options: Arc::new(options),
            metrics,
            stop,
        }
    }

    /// An event recorder for `component` (e.g. `deployment-controller`).
    pub fn recorder(&self, component: &str) -> Recorder {
        self.events.recorder(component)
    }
}
