//! NodeResourcesFit: the pod's requests must fit the node's allocatable minus what its pods
//! request (cpu, memory, ephemeral-storage, pod count, extended resources); nodes are scored
//! by LeastAllocated, MostAllocated or RequestedToCapacityRatio.

use std::sync::Arc;

use serde::Deserialize;

use super::resource_allocation::*;
use crate::framework::interface::*;
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo, Resource};

/// The plugin's name.
pub const NAME: &str = "NodeResourcesFit";
const STATE_KEY: &str = "PreScoreNodeResourcesFit";

/// `scoringStrategy` of the args.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoringStrategy {
    /// LeastAllocated (default), MostAllocated or RequestedToCapacityRatio.
    #[serde(rename = "type", default = "least")]
    pub kind: String,
    /// Resources and weights.
    #[serde(default = "default_resources")]
    pub resources: Vec<ResourceSpec>,
    /// The shape for RequestedToCapacityRatio.
    #[serde(default)]
    pub requested_to_capacity_ratio: Option<Shape>,
}

/// requestedToCapacityRatio.
#[derive(Clone, Debug, Deserialize)]
pub struct Shape {
    /// The points.
    #[serde(default)]
    pub shape: Vec<UtilizationShapePoint>,
}

fn least() -> String {
    "LeastAllocated".into()
}

impl Default for ScoringStrategy {
    fn default() -> Self {
        ScoringStrategy {
            kind: least(),
            resources: default_resources(),
            requested_to_capacity_ratio: None,
        }
    }
}

/// NodeResourcesFitArgs.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FitArgs {
    /// Extended resources not checked.
    #[serde(default)]
    pub ignored_resources: Vec<String>,
    /// Extended resource prefixes (before '/') not checked.
    #[serde(default)]
    pub ignored_resource_groups: Vec<String>,
    /// How to score.
    #[serde(default)]
    pub scoring_strategy: ScoringStrategy,
}

/// The NodeResourcesFit plugin.
pub struct Fit {
    args: FitArgs,
}

impl Plugin for Fit {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// Upstream `fitsRequest`: the reasons a pod's requests do not fit the node.
pub fn insufficient(
    req: &Resource,
    node: &NodeInfo,
    ignored: &[String],
    ignored_groups: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    if node.pods.len() as i64 + 1 > node.allocatable.allowed_pod_number {
        out.push("Too many pods".to_string());
    }
    if req.is_zero() {
        return out;
    }
    let (a, u) = (&node.allocatable, &node.requested);
    if req.milli_cpu > 0 && req.milli_cpu > a.milli_cpu - u.milli_cpu {
        out.push("Insufficient cpu".into());
    }
    if req.memory > 0 && req.memory > a.memory - u.memory {
        out.push("Insufficient memory".into());
    }
    if req.ephemeral_storage > 0
        && req.ephemeral_storage > a.ephemeral_storage - u.ephemeral_storage
    {
        out.push("Insufficient ephemeral-storage".into());
    }
    for (name, q) in &req.scalar {
        let group = name.split('/').next().unwrap_or("");
        let skip = name.contains('/')
            && (ignored.contains(name) || ignored_groups.iter().any(|g| g == group));
        if *q == 0 || skip {
            continue;
        }
        let free =
            a.scalar.get(name).copied().unwrap_or(0) - u.scalar.get(name).copied().unwrap_or(0);
        if *q > free {
            out.push(format!("Insufficient {name}"));
        }
    }
    out
}

impl FilterPlugin for Fit {
    fn filter(&self, _s: &CycleState, pod: &PodInfo, node: &NodeInfo, _snap: &Snapshot) -> Status {
        let reasons = insufficient(
            &pod.requests,
            node,
            &self.args.ignored_resources,
            &self.args.ignored_resource_groups,
        );
        if reasons.is_empty() {
            Status::success()
        } else {
            Status::with_reasons(Code::Unschedulable, reasons)
        }
    }
}

impl PreScorePlugin for Fit {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        _snap: &Snapshot,
    ) -> Status {
        state.write(
            STATE_KEY,
            pod_request_list(pod, &self.args.scoring_strategy.resources, false),
        );
        Status::success()
    }
}

impl ScorePlugin for Fit {
    fn score(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        _snap: &Snapshot,
    ) -> (i64, Status) {
        let strategy = &self.args.scoring_strategy;
        let computed;
        let reqs = match state.read::<Vec<i64>>(STATE_KEY) {
            Some(r) => r,
            None => {
                computed = pod_request_list(pod, &strategy.resources, false);
                &computed
            }
        };
        let (requested, alloc) = vectors(node, &strategy.resources, reqs, false);
        let score = match strategy.kind.as_str() {
            "MostAllocated" => most_allocated(&strategy.resources, &requested, &alloc),
            "RequestedToCapacityRatio" => {
                let shape = strategy
                    .requested_to_capacity_ratio
                    .as_ref()
                    .map(|s| s.shape.as_slice())
                    .unwrap_or(&[]);
                requested_to_capacity_ratio(shape, &strategy.resources, &requested, &alloc)
            }
            _ => least_allocated(&strategy.resources, &requested, &alloc),
        };
        (score, Status::success())
    }
}

/// Registry constructor.
pub fn new(args: &serde_json::Value) -> Result<PluginInstance, String> {
    let args: FitArgs = if args.is_null() {
        FitArgs::default()
    } else {
        serde_json::from_value(args.clone()).map_err(|e| e.to_string())?
    };
    let kind = args.scoring_strategy.kind.as_str();
    if !matches!(
        kind,
        "LeastAllocated" | "MostAllocated" | "RequestedToCapacityRatio"
    ) {
        return Err(format!("scoringStrategy.type: Unsupported value: {kind:?}"));
    }
    let p = Arc::new(Fit { args });
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

    fn plugin(kind: &str) -> Fit {
        Fit {
            args: FitArgs {
                scoring_strategy: ScoringStrategy {
                    kind: kind.into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        }
    }

    #[test]
    fn insufficient_reasons() {
        let ni = node_info(node("a", "2", "4Gi"), vec![pod("x", "1500m", "1Gi")]);
        let p = PodInfo::new(pod("p", "1", "4Gi"));
        let st =
            plugin("LeastAllocated").filter(&CycleState::default(), &p, &ni, &Snapshot::default());
        assert_eq!(st.code, Code::Unschedulable);
        assert_eq!(st.reasons, vec!["Insufficient cpu", "Insufficient memory"]);
        let small = PodInfo::new(pod("s", "500m", "1Gi"));
        assert!(plugin("LeastAllocated")
            .filter(&CycleState::default(), &small, &ni, &Snapshot::default())
            .is_success());
    }

    #[test]
    fn extended_resources_and_pod_count() {
        let mut n = node("a", "2", "4Gi");
        n.status
            .as_mut()
            .unwrap()
            .allocatable
            .as_mut()
            .unwrap()
            .insert(
                "pods".into(),
                k8s_openapi::apimachinery::pkg::api::resource::Quantity("1".into()),
            );
        let ni = node_info(n, vec![pod("x", "", "")]);
        let mut p = pod("p", "", "");
        p.spec.as_mut().unwrap().containers[0]
            .resources
            .as_mut()
            .unwrap()
            .requests
            .as_mut()
            .unwrap()
            .insert(
                "example.com/gpu".into(),
                k8s_openapi::apimachinery::pkg::api::resource::Quantity("1".into()),
            );
        let st = plugin("LeastAllocated").filter(
            &CycleState::default(),
            &PodInfo::new(p),
            &ni,
            &Snapshot::default(),
        );
        assert_eq!(
            st.reasons,
            vec!["Too many pods", "Insufficient example.com/gpu"]
        );
    }

    #[test]
    fn least_vs_most_allocated() {
        let busy = node_info(node("busy", "4", "8Gi"), vec![pod("x", "3", "6Gi")]);
        let idle = node_info(node("idle", "4", "8Gi"), vec![]);
        let p = PodInfo::new(pod("p", "500m", "1Gi"));
        let (s, snap) = (CycleState::default(), Snapshot::default());
        let least = plugin("LeastAllocated");
        assert!(least.score(&s, &p, &idle, &snap).0 > least.score(&s, &p, &busy, &snap).0);
        let most = plugin("MostAllocated");
        assert!(most.score(&s, &p, &busy, &snap).0 > most.score(&s, &p, &idle, &snap).0);
    }
}
