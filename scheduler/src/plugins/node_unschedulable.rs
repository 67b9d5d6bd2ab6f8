//! NodeUnschedulable: cordoned nodes (spec.unschedulable) only take pods tolerating
//! `node.kubernetes.io/unschedulable:NoSchedule`.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Taint;

use rkube_apimachinery::scheduling::tolerates;
use crate::framework::interface::{Code, CycleState, FilterPlugin, Plugin, PluginInstance, Status};
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo};

/// The plugin's name.
pub const NAME: &str = "NodeUnschedulable";
/// Upstream's failure reason.
pub const ERR_REASON: &str = "node(s) were unschedulable";

/// The NodeUnschedulable plugin.
pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _s: &CycleState, pod: &PodInfo, node: &NodeInfo, _snap: &Snapshot) -> Status {
        if !node.unschedulable {
            return Status::success();
        }
        let taint = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            effect: "NoSchedule".into(),
            value: None,
            time_added: None,
        };
        if pod.tolerations().iter().any(|t| tolerates(t, &taint)) {
            return Status::success();
        }
        Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON)
    }
}

/// Registry constructor.
pub fn new(_args: &serde_json::Value) -> Result<PluginInstance, String> {
    let mut i = PluginInstance::new(NAME);
    i.filter = Some(Arc::new(NodeUnschedulable));
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;

    #[test]
    fn cordoned_node_rejected() {
        let mut n = node("a", "1", "1Gi");
        n.spec.as_mut().unwrap().unschedulable = Some(true);
        let ni = node_info(n, vec![]);
        let p = PodInfo::new(pod("p", "", ""));
        let st = NodeUnschedulable.filter(&CycleState::default(), &p, &ni, &Snapshot::default());
        assert_eq!(st.reasons, vec![ERR_REASON]);
    }
}
