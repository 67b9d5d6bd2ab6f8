//! NodeName: a pod that names a node (spec.nodeName) only fits that node.

use std::sync::Arc;

use crate::framework::interface::{Code, CycleState, FilterPlugin, Plugin, PluginInstance, Status};
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo};

/// The plugin's name.
pub const NAME: &str = "NodeName";
/// Upstream's failure reason.
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

/// The NodeName plugin.
pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _s: &CycleState, pod: &PodInfo, node: &NodeInfo, _snap: &Snapshot) -> Status {
        if pod.node_name.is_empty() || pod.node_name == node.name {
            Status::success()
        } else {
            Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON)
        }
    }
}

/// Registry constructor.
pub fn new(_args: &serde_json::Value) -> Result<PluginInstance, String> {
    let mut i = PluginInstance::new(NAME);
    i.filter = Some(Arc::new(NodeName));
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;

    #[test]
    fn only_the_named_node() {
        let p = PodInfo::new(on_node(pod("p", "", ""), "a"));
        let snap = Snapshot::default();
        let s = CycleState::default();
        assert!(NodeName
            .filter(&s, &p, &node_info(node("a", "1", "1Gi"), vec![]), &snap)
            .is_success());
        let st = NodeName.filter(&s, &p, &node_info(node("b", "1", "1Gi"), vec![]), &snap);
        assert_eq!(st.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(st.reasons, vec![ERR_REASON]);
    }
}
