//! NodePorts: a pod's host ports must be free on the node.

use std::sync::Arc;

use crate::framework::interface::{
    Code, CycleState, FilterPlugin, Plugin, PluginInstance, PreFilterPlugin, PreFilterResult,
    Status,
};
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo};

/// The plugin's name.
pub const NAME: &str = "NodePorts";
/// Upstream's failure reason.
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// The NodePorts plugin.
pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PreFilterPlugin for NodePorts {
    fn pre_filter(
        &self,
        _s: &mut CycleState,
        pod: &PodInfo,
        _snap: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        if pod.host_ports.is_empty() {
            return (None, Status::skip());
        }
        (None, Status::success())
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, _s: &CycleState, pod: &PodInfo, node: &NodeInfo, _snap: &Snapshot) -> Status {
        let conflict = pod
            .host_ports
            .iter()
            .any(|want| node.used_ports.iter().any(|used| want.conflicts(used)));
        if conflict {
            Status::new(Code::Unschedulable, ERR_REASON)
        } else {
            Status::success()
        }
    }
}

/// Registry constructor.
pub fn new(_args: &serde_json::Value) -> Result<PluginInstance, String> {
    let p = Arc::new(NodePorts);
    let mut i = PluginInstance::new(NAME);
    i.pre_filter = Some(p.clone());
    i.filter = Some(p);
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;

    #[test]
    fn port_conflict() {
        let ni = node_info(
            node("a", "4", "4Gi"),
            vec![host_port(pod("x", "", ""), 8080)],
        );
        let snap = Snapshot::default();
        let s = CycleState::default();
        let want = PodInfo::new(host_port(pod("p", "", ""), 8080));
        assert_eq!(
            NodePorts.filter(&s, &want, &ni, &snap).reasons,
            vec![ERR_REASON]
        );
        let other = PodInfo::new(host_port(pod("q", "", ""), 9090));
        assert!(NodePorts.filter(&s, &other, &ni, &snap).is_success());
    }
}
