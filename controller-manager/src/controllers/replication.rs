//! The ReplicationController manager (upstream `pkg/controller/replication`): the ReplicaSet
//! controller run over ReplicationControllers through a conversion, with an equality-based
//! selector.

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetSpec, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{ReplicationController, ReplicationControllerCondition, ReplicationControllerStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as MetaSelector;
use rkube_apimachinery::label_selector::LabelSelector;

use super::replicaset::{start_for, ReplicaKind};
use super::{ControllerDescriptor, Running};
use crate::context::ControllerContext;
use crate::errors::Result;

/// Registration of the ReplicationController manager.
pub const DESCRIPTOR: ControllerDescriptor = ControllerDescriptor {
    name: "replicationcontroller-controller",
    aliases: &["replicationcontroller"],
    enabled_by_default: true,
    start,
};

fn start(ctx: &ControllerContext) -> Result<Running> {
    start_for::<ReplicationController>(ctx, ctx.options.concurrent_rc_syncs)
}

fn to_rs_condition(c: &ReplicationControllerCondition) -> ReplicaSetCondition {
    ReplicaSetCondition { type_: c.type_.clone(), status: c.status.clone(), reason: c.reason.clone(), message: c.message.clone(), last_transition_time: c.last_transition_time.clone() }
}

fn to_rc_condition(c: &ReplicaSetCondition) -> ReplicationControllerCondition {
    ReplicationControllerCondition { type_: c.type_.clone(), status: c.status.clone(), reason: c.reason.clone(), message: c.message.clone(), last_transition_time: c.last_transition_time.clone() }
}

impl ReplicaKind for ReplicationController {
    const QUEUE: &'static str = "replicationmanager";
    const COMPONENT: &'static str = "replication-controller";

    fn view(&self) -> ReplicaSet {
        let spec = self.spec.clone().unwrap_or_default();
        let status = self.status.as_ref().map(|s| ReplicaSetStatus {
            replicas: s.replicas,
            fully_labeled_replicas: s.fully_labeled_replicas,
            ready_replicas: s.ready_replicas,
            available_replicas: s.available_replicas,
            observed_generation: s.observed_generation,
            conditions: s.conditions.as_ref().map(|cs| cs.iter().map(to_rs_condition).collect()),
            terminating_replicas: None,
        });
        ReplicaSet {
            metadata: self.metadata.clone(),
            spec: Some(ReplicaSetSpec {
                replicas: spec.replicas,
                min_ready_seconds: spec.min_ready_seconds,
                selector: MetaSelector { match_labels: spec.selector.clone(), match_expressions: None },
                template: spec.template,
            }),
            status,
        }
    }

    fn with_status(&self, s: ReplicaSetStatus) -> Self {
        let mut rc = self.clone();
        rc.status = Some(ReplicationControllerStatus {
            replicas: s.replicas,
            fully_labeled_replicas: s.fully_labeled_replicas,
            ready_replicas: s.ready_replicas,
            available_replicas: s.available_replicas,
            observed_generation: s.observed_generation,
            conditions: s.conditions.as_ref().map(|cs| cs.iter().map(to_rc_condition).collect()),
        });
        rc
    }

    fn selector(&self) -> Result<LabelSelector> {
        let map = self.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default();
        Ok(LabelSelector::from_set(map.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ReplicationControllerSpec;

    #[test]
    fn rc_converts_to_a_replica_set_view_and_back() {
        let rc = ReplicationController {
            spec: Some(ReplicationControllerSpec { replicas: Some(3), selector: Some([("app".into(), "web".into())].into()), ..Default::default() }),
            ..Default::default()
        };
        let rs = rc.view();
        assert_eq!(rs.spec.as_ref().unwrap().selector.match_labels, rc.spec.as_ref().unwrap().selector);
        let sel = rc.selector().unwrap();
        assert!(sel.matches(&std::collections::BTreeMap::from([("app".to_string(), "web".to_string()), ("x".to_string(), "y".to_string())])));
        let back = rc.with_status(ReplicaSetStatus { replicas: 3, ready_replicas: Some(2), ..Default::default() });
        assert_eq!(back.status.as_ref().map(|s| (s.replicas, s.ready_replicas)), Some((3, Some(2))));
    }
}
