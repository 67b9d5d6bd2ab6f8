//! NodeResourcesBalancedAllocation: favours nodes whose cpu and memory utilisation stay
//! balanced once the pod is placed.

use std::sync::Arc;

use serde::Deserialize;

use super::resource_allocation::*;
use crate::framework::interface::*;
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo};

/// The plugin's name.
pub const NAME: &str = "NodeResourcesBalancedAllocation";
const STATE_KEY: &str = "PreScoreNodeResourcesBalancedAllocation";

/// NodeResourcesBalancedAllocationArgs.
#[derive(Clone, Debug, Deserialize)]
pub struct BalancedArgs {
    /// Resources considered (default cpu and memory).
    #[serde(default = "default_resources")]
    pub resources: Vec<ResourceSpec>,
}

/// The plugin.
pub struct BalancedAllocation {
    resources: Vec<ResourceSpec>,
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PreScorePlugin for BalancedAllocation {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        _snap: &Snapshot,
    ) -> Status {
        let reqs = pod_request_list(pod, &self.resources, true);
        if reqs.iter().all(|r| *r == 0) {
            return Status::skip();
        }
        state.write(STATE_KEY, reqs);
        Status::success()
    }
}

impl ScorePlugin for BalancedAllocation {
    fn score(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        _snap: &Snapshot,
    ) -> (i64, Status) {
        let computed;
        let reqs = match state.read::<Vec<i64>>(STATE_KEY) {
            Some(r) => r,
            None => {
                computed = pod_request_list(pod, &self.resources, true);
                &computed
            }
        };
        let (requested, alloc) = vectors(node, &self.resources, reqs, true);
        (balanced(&requested, &alloc), Status::success())
    }
}

/// Registry constructor.
pub fn new(args: &serde_json::Value) -> Result<PluginInstance, String> {
    let resources = if args.is_null() {
        default_resources()
    } else {
        serde_json::from_value::<BalancedArgs>(args.clone())
            .map_err(|e| e.to_string())?
            .resources
    };
    let p = Arc::new(BalancedAllocation { resources });
    let mut i = PluginInstance::new(NAME);
    i.pre_score = Some(p.clone());
    i.score = Some(p);
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;

    #[test]
    fn balanced_node_preferred_and_best_effort_skipped() {
        let pl = BalancedAllocation {
            resources: default_resources(),
        };
        let cpu_heavy = node_info(node("a", "4", "8Gi"), vec![pod("x", "3", "1Gi")]);
        let even = node_info(node("b", "4", "8Gi"), vec![pod("y", "2", "4Gi")]);
        let p = PodInfo::new(pod("p", "1", "2Gi"));
        let mut s = CycleState::default();
        let snap = Snapshot::default();
        assert!(pl.pre_score(&mut s, &p, &[], &snap).is_success());
        assert!(pl.score(&s, &p, &even, &snap).0 > pl.score(&s, &p, &cpu_heavy, &snap).0);
        let be = PodInfo::new(pod("be", "", ""));
        assert!(pl
            .pre_score(&mut CycleState::default(), &be, &[], &snap)
            .is_skip());
    }
}
