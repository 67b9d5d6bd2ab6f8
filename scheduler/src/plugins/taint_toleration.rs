//! TaintToleration: NoSchedule/NoExecute taints must be tolerated; untolerated
//! PreferNoSchedule taints lower a node's score.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Toleration;

use rkube_apimachinery::scheduling::{find_untolerated_taint, tolerates};
use crate::framework::interface::*;
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo};

/// The plugin's name.
pub const NAME: &str = "TaintToleration";
const STATE_KEY: &str = "PreScoreTaintToleration";

/// The TaintToleration plugin.
pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// Upstream's reason for an untolerated taint.
pub fn untolerated_reason(key: &str, value: &str) -> String {
    format!("node(s) had untolerated taint {{{key}: {value}}}")
}

impl FilterPlugin for TaintToleration {
    fn filter(&self, _s: &CycleState, pod: &PodInfo, node: &NodeInfo, _snap: &Snapshot) -> Status {
        let hard = |t: &k8s_openapi::api::core::v1::Taint| {
            t.effect == "NoSchedule" || t.effect == "NoExecute"
        };
        match find_untolerated_taint(&node.taints, pod.tolerations(), hard) {
            None => Status::success(),
            Some(t) => Status::new(
                Code::UnschedulableAndUnresolvable,
                untolerated_reason(&t.key, t.value.as_deref().unwrap_or("")),
            ),
        }
    }
}

impl PreScorePlugin for TaintToleration {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        _snap: &Snapshot,
    ) -> Status {
        let prefer: Vec<Toleration> = pod
            .tolerations()
            .iter()
            .filter(|t| {
                t.effect
                    .as_deref()
                    .is_none_or(|e| e.is_empty() || e == "PreferNoSchedule")
            })
            .cloned()
            .collect();
        state.write(STATE_KEY, prefer);
        Status::success()
    }
}

impl ScorePlugin for TaintToleration {
    fn score(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        node: &NodeInfo,
        _snap: &Snapshot,
    ) -> (i64, Status) {
        let tols = state
            .read::<Vec<Toleration>>(STATE_KEY)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let n = node
            .taints
            .iter()
            .filter(|t| t.effect == "PreferNoSchedule" && !tols.iter().any(|tol| tolerates(tol, t)))
            .count();
        (n as i64, Status::success())
    }

    fn normalize(
        &self,
        _s: &CycleState,
        _pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        scores: &mut [i64],
    ) -> Status {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
        Status::success()
    }
}

/// Registry constructor.
pub fn new(_args: &serde_json::Value) -> Result<PluginInstance, String> {
    let p = Arc::new(TaintToleration);
    let mut i = PluginInstance::new(NAME);
    i.filter = Some(p.clone());
    i.pre_score = Some(p.clone());
    i.score = Some(p);
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;

    fn master_toleration() -> Toleration {
        Toleration {
            key: Some("node-role.kubernetes.io/master".into()),
            operator: Some("Exists".into()),
            effect: Some("NoSchedule".into()),
            ..Default::default()
        }
    }

    #[test]
    fn untolerated_taint_message() {
        let ni = node_info(
            taint(
                node("m", "4", "4Gi"),
                "node-role.kubernetes.io/master",
                "",
                "NoSchedule",
            ),
            vec![],
        );
        let p = PodInfo::new(pod("p", "", ""));
        let st = TaintToleration.filter(&CycleState::default(), &p, &ni, &Snapshot::default());
        assert_eq!(st.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(
            st.reasons,
            vec!["node(s) had untolerated taint {node-role.kubernetes.io/master: }"]
        );
        let mut tolerating = pod("d", "", "");
        tolerating.spec.as_mut().unwrap().tolerations = Some(vec![master_toleration()]);
        assert!(TaintToleration
            .filter(
                &CycleState::default(),
                &PodInfo::new(tolerating),
                &ni,
                &Snapshot::default()
            )
            .is_success());
    }

    #[test]
    fn prefer_no_schedule_scores_lower() {
        let a = Arc::new(node_info(
            taint(node("a", "4", "4Gi"), "k", "v", "PreferNoSchedule"),
            vec![],
        ));
        let b = Arc::new(node_info(node("b", "4", "4Gi"), vec![]));
        let p = PodInfo::new(pod("p", "", ""));
        let mut st = CycleState::default();
        let snap = Snapshot::default();
        TaintToleration.pre_score(&mut st, &p, &[a.clone(), b.clone()], &snap);
        let nodes = [a, b];
        let mut scores: Vec<i64> = nodes
            .iter()
            .map(|n| TaintToleration.score(&st, &p, n, &snap).0)
            .collect();
        TaintToleration.normalize(&st, &p, &nodes, &mut scores);
        assert_eq!(scores, vec![0, 100]);
    }
}
