//! PrioritySort: the active queue pops higher-priority pods first, then the ones that
//! entered the queue earlier.

use std::sync::Arc;

use crate::framework::interface::{Plugin, PluginInstance, QueueSortPlugin};
use crate::queue::QueuedPodInfo;

/// The plugin's name.
pub const NAME: &str = "PrioritySort";

/// Orders by priority, then queue timestamp.
pub struct PrioritySort;

impl Plugin for PrioritySort {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl QueueSortPlugin for PrioritySort {
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool {
        let (p1, p2) = (a.pod.priority, b.pod.priority);
        p1 > p2 || (p1 == p2 && a.timestamp < b.timestamp)
    }
}

/// Registry constructor.
pub fn new(_args: &serde_json::Value) -> Result<PluginInstance, String> {
    let mut i = PluginInstance::new(NAME);
    i.queue_sort = Some(Arc::new(PrioritySort));
    Ok(i)
}
