//! The in-tree plugins, one module each, and the registry of their constructors.

use std::collections::BTreeMap;

use crate::framework::interface::PluginInstance;

pub mod balanced_allocation;
pub mod default_binder;
pub mod default_preemption;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod queue_sort;
pub mod resource_allocation;
pub mod taint_toleration;
pub mod volume_binding;

/// Builds a plugin from its args (null when not configured).
pub type Factory = fn(&serde_json::Value) -> Result<PluginInstance, String>;

/// Plugin constructors by name.
pub type Registry = BTreeMap<&'static str, Factory>;

/// Every in-tree plugin.
pub fn in_tree_registry() -> Registry {
    let entries: [(&'static str, Factory); 14] = [
        (queue_sort::NAME, queue_sort::new),
        (node_unschedulable::NAME, node_unschedulable::new),
        (node_name::NAME, node_name::new),
        (taint_toleration::NAME, taint_toleration::new),
        (node_affinity::NAME, node_affinity::new),
        (node_ports::NAME, node_ports::new),
        (node_resources_fit::NAME, node_resources_fit::new),
        (volume_binding::NAME, volume_binding::new),
        (pod_topology_spread::NAME, pod_topology_spread::new),
        (inter_pod_affinity::NAME, inter_pod_affinity::new),
        (default_preemption::NAME, default_preemption::new),
        (balanced_allocation::NAME, balanced_allocation::new),
        (image_locality::NAME, image_locality::new),
        (default_binder::NAME, default_binder::new),
    ];
    entries.into_iter().collect()
}
