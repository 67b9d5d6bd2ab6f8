//! DefaultPreemption: when a pod fits nowhere, finds nodes where evicting lower-priority
//! pods makes it fit, keeps as many of them as possible (PDB-violating ones first), picks
//! the node upstream would pick, and returns the victims and the node to nominate.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use rand::Rng;
use rkube_apimachinery::label_selector::LabelSelector;

use crate::algorithm::{Diagnosis, FitError};
use crate::framework::interface::*;
use crate::framework::runtime::Framework;
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{json_selector, NodeInfo, PodInfo};

/// The plugin's name.
pub const NAME: &str = "DefaultPreemption";
/// Upstream: a node with no lower-priority pods.
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";
/// Upstream: nodes preemption cannot help.
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";

/// A node where preemption works, and what it costs.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The node.
    pub node: String,
    /// Pods to evict, most important first.
    pub victims: Vec<Arc<PodInfo>>,
    /// How many victims violate a PodDisruptionBudget.
    pub pdb_violations: usize,
}

/// DefaultPreemptionArgs.
#[derive(Clone, Debug)]
pub struct Args {
    /// minCandidateNodesPercentage (default 10).
    pub min_candidate_nodes_percentage: usize,
    /// minCandidateNodesAbsolute (default 100).
    pub min_candidate_nodes_absolute: usize,
}

/// The plugin.
pub struct DefaultPreemption {
    args: Args,
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// Upstream `MoreImportantPod`: higher priority, then the earlier start.
pub fn more_important(a: &PodInfo, b: &PodInfo) -> Ordering {
    b.priority
        .cmp(&a.priority)
        .then(a.start_time().cmp(&b.start_time()))
}

fn terminating_by_preemption(p: &PodInfo) -> bool {
    p.terminating
        && p.pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    c.type_ == "DisruptionTarget"
                        && c.status == "True"
                        && c.reason.as_deref() == Some("PreemptionByScheduler")
                })
            })
}

/// Upstream `PodEligibleToPreemptOthers`: Err carries the reason.
pub fn eligible(
    pod: &PodInfo,
    snap: &Snapshot,
    statuses: &NodeToStatus,
) -> Result<(), &'static str> {
    let policy = pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.preemption_policy.as_deref());
    if policy == Some("Never") {
        return Err("not eligible due to preemptionPolicy=Never.");
    }
    if pod.nominated_node_name.is_empty() {
        return Ok(());
    }
    if statuses
        .get(&pod.nominated_node_name)
        .is_some_and(|s| s.code == Code::UnschedulableAndUnresolvable)
    {
        return Ok(());
    }
    if let Some(ni) = snap.get(&pod.nominated_node_name) {
        if ni
            .pods
            .iter()
            .any(|p| p.priority < pod.priority && terminating_by_preemption(p))
        {
            return Err("not eligible due to a terminating pod on the nominated node.");
        }
    }
    Ok(())
}

/// Upstream `filterPodsWithPDBViolation`: (violating, non-violating), order kept.
pub fn split_by_pdb(
    pods: &[Arc<PodInfo>],
    pdbs: &[PodDisruptionBudget],
) -> (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) {
    let selectors: Vec<LabelSelector> = pdbs
        .iter()
        .map(|p| json_selector(p.spec.as_ref().and_then(|s| s.selector.as_ref())))
        .collect();
    let mut allowed: Vec<i64> = pdbs
        .iter()
        .map(|p| {
            i64::from(
                p.status
                    .as_ref()
                    .map(|s| s.disruptions_allowed)
                    .unwrap_or(0),
            )
        })
        .collect();
    let (mut violating, mut ok) = (Vec::new(), Vec::new());
    for p in pods {
        let mut violated = false;
        if !p.labels.is_empty() {
            for (i, pdb) in pdbs.iter().enumerate() {
                let sel = &selectors[i];
                if pdb.metadata.namespace.as_deref() != Some(p.namespace.as_str())
                    || sel.is_nothing()
                    || sel.is_empty()
                    || !sel.matches(&p.labels)
                {
                    continue;
                }
                let disrupted = pdb
                    .status
                    .as_ref()
                    .and_then(|s| s.disrupted_pods.as_ref())
                    .is_some_and(|d| d.contains_key(&p.name));
                if disrupted {
                    continue;
                }
                allowed[i] -= 1;
                if allowed[i] < 0 {
                    violated = true;
                }
            }
        }
        if violated {
            violating.push(p.clone());
        } else {
            ok.push(p.clone());
        }
    }
    (violating, ok)
}

/// Upstream `SelectVictimsOnNode`.
pub fn select_victims_on_node(
    fwk: &Framework,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    snap: &Snapshot,
) -> Result<Candidate, Status> {
    let mut state = state.clone();
    let mut ni = node.clone();
    let mut potential: Vec<Arc<PodInfo>> = node
        .pods
        .iter()
        .filter(|p| p.priority < pod.priority)
        .cloned()
        .collect();
    for v in &potential {
        ni.remove_pod(&v.uid);
        let s = fwk.run_pre_filter_remove_pod(&mut state, pod, v, &ni);
        if !s.is_success() {
            return Err(s);
        }
    }
    if potential.is_empty() {
        return Err(Status::new(Code::UnschedulableAndUnresolvable, NO_VICTIMS));
    }
    let s = fwk.run_filter_with_nominated(&state, pod, &ni, snap);
    if !s.is_success() {
        return Err(s);
    }
    potential.sort_by(|a, b| more_important(a, b));
    let (violating, non_violating) = split_by_pdb(&potential, &snap.objects.pdbs);
    let mut victims = Vec::new();
    let mut pdb_violations = 0;
    for (group, is_violating) in [(&violating, true), (&non_violating, false)] {
        for p in group.iter() {
            ni.add_pod(p.clone());
            fwk.run_pre_filter_add_pod(&mut state, pod, p, &ni);
            if !fwk
                .run_filter_with_nominated(&state, pod, &ni, snap)
                .is_success()
            {
                ni.remove_pod(&p.uid);
                fwk.run_pre_filter_remove_pod(&mut state, pod, p, &ni);
                victims.push(p.clone());
                pdb_violations += usize::from(is_violating);
            }
        }
    }
    if !violating.is_empty() && !non_violating.is_empty() {
        victims.sort_by(|a, b| more_important(a, b));
    }
    Ok(Candidate {
        node: node.name.clone(),
        victims,
        pdb_violations,
    })
}

/// Upstream `pickOneNodeForPreemption`.
pub fn pick_one(candidates: &[Candidate]) -> Option<&Candidate> {
    if let Some(c) = candidates.iter().find(|c| c.victims.is_empty()) {
        return Some(c);
    }
    let highest = |c: &Candidate| c.victims.first().map(|v| v.priority).unwrap_or(i32::MIN);
    let sum = |c: &Candidate| {
        c.victims
            .iter()
            .map(|v| i64::from(v.priority) + i64::from(i32::MAX) + 1)
            .sum::<i64>()
    };
    let earliest_of_highest = |c: &Candidate| {
        let h = highest(c);
        c.victims
            .iter()
            .filter(|v| v.priority == h)
            .map(|v| v.start_time())
            .min()
            .unwrap_or(0)
    };
    let mut best: Vec<&Candidate> = candidates.iter().collect();
    let narrow = |best: &mut Vec<&Candidate>, key: &dyn Fn(&Candidate) -> i64| {
        let m = best.iter().map(|c| key(c)).min().unwrap_or(0);
        best.retain(|c| key(c) == m);
    };
    narrow(&mut best, &|c| c.pdb_violations as i64);
    narrow(&mut best, &|c| i64::from(highest(c)));
    narrow(&mut best, &sum);
    narrow(&mut best, &|c| c.victims.len() as i64);
    narrow(&mut best, &|c| -earliest_of_highest(c));
    best.first().copied()
}

impl DefaultPreemption {
    fn num_candidates(&self, n: usize) -> usize {
        let c = (n * self.args.min_candidate_nodes_percentage / 100)
            .max(self.args.min_candidate_nodes_absolute);
        c.min(n)
    }

    fn dry_run(
        &self,
        fwk: &Framework,
        state: &CycleState,
        pod: &PodInfo,
        potential: &[&Arc<NodeInfo>],
        snap: &Snapshot,
    ) -> (Vec<Candidate>, HashMap<String, Status>) {
        let want = self.num_candidates(potential.len());
        let offset = if potential.is_empty() {
            0
        } else {
            rand::rng().random_range(0..potential.len())
        };
        let (mut candidates, mut statuses) = (Vec::new(), HashMap::new());
        let mut non_violating = 0;
        for i in 0..potential.len() {
            let node = potential[(offset + i) % potential.len()];
            match select_victims_on_node(fwk, state, pod, node, snap) {
                Ok(c) => {
                    non_violating += usize::from(c.pdb_violations == 0);
                    candidates.push(c);
                    if non_violating > 0 && candidates.len() >= want {
                        break;
                    }
                }
                Err(s) => {
                    statuses.insert(node.name.clone(), s);
                }
            }
        }
        (candidates, statuses)
    }
}

fn not_helpful(num_nodes: usize, statuses: HashMap<String, Status>) -> Status {
    let diagnosis = Diagnosis {
        node_to_status: NodeToStatus {
            statuses,
            absent: Some(Status::new(Code::UnschedulableAndUnresolvable, NOT_HELPFUL)),
        },
        ..Default::default()
    };
    let msg = FitError {
        num_all_nodes: num_nodes,
        diagnosis,
    }
    .to_string();
    Status::new(Code::Unschedulable, format!("preemption: {msg}"))
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        statuses: &NodeToStatus,
        fwk: &Framework,
    ) -> (Option<PostFilterResult>, Status) {
        if let Err(msg) = eligible(pod, snap, statuses) {
            return (
                None,
                Status::new(Code::Unschedulable, format!("preemption: {msg}")),
            );
        }
        let potential: Vec<&Arc<NodeInfo>> = snap
            .nodes
            .iter()
            .filter(|n| {
                statuses
                    .get(&n.name)
                    .is_some_and(|s| s.code == Code::Unschedulable)
            })
            .collect();
        let clear = PostFilterResult {
            nominated_node_name: Some(String::new()),
            ..Default::default()
        };
        if potential.is_empty() {
            return (Some(clear), not_helpful(snap.len(), HashMap::new()));
        }
        let (candidates, failures) = self.dry_run(fwk, state, pod, &potential, snap);
        let Some(best) = pick_one(&candidates) else {
            return (Some(clear), not_helpful(snap.len(), failures));
        };
        let clear_nominations = snap
            .nominated
            .get(&best.node)
            .into_iter()
            .flatten()
            .filter(|p| p.priority < pod.priority && p.uid != pod.uid)
            .cloned()
            .collect();
        let result = PostFilterResult {
            nominated_node_name: Some(best.node.clone()),
            victims: best.victims.clone(),
            clear_nominations,
        };
        (Some(result), Status::success())
    }
}

/// Registry constructor.
pub fn new(args: &serde_json::Value) -> Result<PluginInstance, String> {
    let num = |k: &str, d: usize| {
        args.get(k)
            .and_then(serde_json::Value::as_u64)
            .map(|v| v as usize)
            .unwrap_or(d)
    };
    let args = Args {
        min_candidate_nodes_percentage: num("minCandidateNodesPercentage", 10),
        min_candidate_nodes_absolute: num("minCandidateNodesAbsolute", 100),
    };
    if args.min_candidate_nodes_percentage > 100 {
        return Err(
            "minCandidateNodesPercentage: Invalid value: not in valid range [0, 100]".into(),
        );
    }
    let mut i = PluginInstance::new(NAME);
    i.post_filter = Some(Arc::new(DefaultPreemption { args }));
    Ok(i)
}
