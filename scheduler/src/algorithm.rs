//! Scheduling one pod against a snapshot (upstream `schedulePod`): PreFilter, the
//! nominated node first, Filter over a rotating window of nodes sized like upstream's
//! `percentageOfNodesToScore`, then PreScore/Score and a random pick among the best.
//! Pure: no IO, so it is unit-tested and benchmarked directly.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use rand::Rng;

use crate::framework::interface::{Code, CycleState, NodeToStatus, Status};
use crate::framework::parallel::chunked;
use crate::framework::runtime::Framework;
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo};

/// Below this many nodes every node is evaluated (upstream `minFeasibleNodesToFind`).
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive percentage never goes below this.
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;

/// Why no node fits, per node (upstream `framework.Diagnosis`).
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    /// Filter verdicts.
    pub node_to_status: NodeToStatus,
    /// A PreFilter rejection's message.
    pub pre_filter_msg: String,
    /// PostFilter's message (preemption).
    pub post_filter_msg: String,
    /// Plugins that rejected the pod.
    pub unschedulable_plugins: BTreeSet<&'static str>,
    /// How many nodes the filters rejected (their statuses are kept only when none fit).
    pub rejected_nodes: usize,
}

/// No node fits the pod (upstream `framework.FitError`).
#[derive(Clone, Debug, Default)]
pub struct FitError {
    /// Nodes in the snapshot.
    pub num_all_nodes: usize,
    /// The details.
    pub diagnosis: Diagnosis,
}

impl fmt::Display for FitError {
    /// Upstream's message, e.g. "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had
    /// untolerated taint {a: b}. preemption: ...".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        let d = &self.diagnosis;
        if !d.pre_filter_msg.is_empty() {
            write!(f, " {}.", d.pre_filter_msg)?;
        } else {
            let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
            for s in d.node_to_status.statuses.values() {
                for r in &s.reasons {
                    *reasons.entry(r).or_default() += 1;
                }
            }
            let absent = self
                .num_all_nodes
                .saturating_sub(d.node_to_status.statuses.len());
            if absent > 0 {
                for r in d.node_to_status.absent.iter().flat_map(|s| &s.reasons) {
                    *reasons.entry(r).or_default() += absent;
                }
            }
            let mut parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
            parts.sort();
            if !parts.is_empty() {
                write!(f, " {}.", parts.join(", "))?;
            }
        }
        if !d.post_filter_msg.is_empty() {
            write!(f, " {}", d.post_filter_msg)?;
        }
        Ok(())
    }
}

/// Why a pod could not be scheduled.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The cluster has no nodes.
    #[error("no nodes available to schedule pods")]
    NoNodes,
    /// No node fits.
    #[error("{0}")]
    Fit(Box<FitError>),
    /// A plugin failed.
    #[error("running {plugin:?} plugin: {message}")]
    Internal {
        /// The plugin.
        plugin: &'static str,
        /// Its message.
        message: String,
    },
}

impl ScheduleError {
    fn internal(s: &Status) -> ScheduleError {
        ScheduleError::Internal {
            plugin: s.plugin,
            message: s.message(),
        }
    }
}

/// Where the pod goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleResult {
    /// The chosen node.
    pub node: String,
    /// Nodes filtered.
    pub evaluated_nodes: usize,
    /// Nodes that passed.
    pub feasible_nodes: usize,
}

/// Upstream `numFeasibleNodesToFind`.
pub fn num_feasible_nodes_to_find(percentage: Option<i32>, num_all: usize) -> usize {
    if num_all < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all;
    }
    let mut pct = percentage.unwrap_or(0).max(0) as usize;
    if pct == 0 {
        pct = 50usize
            .saturating_sub(num_all / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    (num_all * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// The stateful part of the algorithm: where the next node search starts.
#[derive(Debug, Default)]
pub struct Algorithm {
    next_start_index: usize,
    /// The global percentageOfNodesToScore (None or 0: adaptive).
    pub percentage_of_nodes_to_score: Option<i32>,
}

impl Algorithm {
    /// An algorithm with the global percentage setting.
    pub fn new(percentage_of_nodes_to_score: Option<i32>) -> Self {
        Algorithm {
            next_start_index: 0,
            percentage_of_nodes_to_score,
        }
    }

    /// Schedules one pod: the node to bind to, or why there is none.
    pub fn schedule_pod(
        &mut self,
        fwk: &Framework,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> Result<ScheduleResult, ScheduleError> {
        if snap.is_empty() {
            return Err(ScheduleError::NoNodes);
        }
        let (feasible, diagnosis) = self.find_nodes_that_fit(fwk, state, pod, snap)?;
        let fit_error = || {
            ScheduleError::Fit(Box::new(FitError {
                num_all_nodes: snap.len(),
                diagnosis: diagnosis.clone(),
            }))
        };
        match feasible.len() {
            0 => Err(fit_error()),
            1 => Ok(ScheduleResult {
                node: feasible[0].name.clone(),
                evaluated_nodes: 1 + diagnosis.rejected_nodes,
                feasible_nodes: 1,
            }),
            n => {
                let scores = prioritize(fwk, state, pod, &feasible, snap)?;
                Ok(ScheduleResult {
                    node: select_host(&feasible, &scores),
                    evaluated_nodes: n + diagnosis.rejected_nodes,
                    feasible_nodes: n,
                })
            }
        }
    }

    fn find_nodes_that_fit(
        &mut self,
        fwk: &Framework,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> Result<(Vec<Arc<NodeInfo>>, Diagnosis), ScheduleError> {
        let mut diagnosis = Diagnosis::default();
        let (pre_res, s) = fwk.run_pre_filter(state, pod, snap);
        if !s.is_success() {
            if !s.is_rejected() {
                return Err(ScheduleError::internal(&s));
            }
            diagnosis.pre_filter_msg = s.message();
            if !s.plugin.is_empty() {
                diagnosis.unschedulable_plugins.insert(s.plugin);
            }
            diagnosis.node_to_status.absent = Some(s);
            return Ok((Vec::new(), diagnosis));
        }
        if !pod.nominated_node_name.is_empty() {
            if let Some(n) = snap.get(&pod.nominated_node_name) {
                if fwk
                    .run_filter_with_nominated(state, pod, n, snap)
                    .is_success()
                {
                    return Ok((vec![n.clone()], diagnosis));
                }
            }
        }
        let subset: Option<Vec<Arc<NodeInfo>>> = pre_res.and_then(|r| r.node_names).map(|names| {
            diagnosis.node_to_status.absent = Some(Status::new(
                Code::UnschedulableAndUnresolvable,
                "node(s) didn't satisfy plugin(s) [PreFilter]",
            ));
            names.iter().filter_map(|n| snap.get(n).cloned()).collect()
        });
        let nodes: &[Arc<NodeInfo>] = subset.as_deref().unwrap_or(&snap.nodes);
        let feasible =
            self.find_nodes_that_pass_filters(fwk, state, pod, snap, nodes, &mut diagnosis)?;
        let processed = feasible.len() + diagnosis.rejected_nodes;
        self.next_start_index = (self.next_start_index + processed) % snap.len();
        Ok((feasible, diagnosis))
    }

    fn find_nodes_that_pass_filters(
        &self,
        fwk: &Framework,
        state: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        nodes: &[Arc<NodeInfo>],
        diagnosis: &mut Diagnosis,
    ) -> Result<Vec<Arc<NodeInfo>>, ScheduleError> {
        let pct = fwk
            .percentage_of_nodes_to_score
            .or(self.percentage_of_nodes_to_score);
        let want = num_feasible_nodes_to_find(pct, nodes.len());
        let n = nodes.len();
        let mut feasible = Vec::with_capacity(want);
        let mut rejected: Vec<(usize, Status)> = Vec::new();
        // Nodes are checked in batches (in parallel) until enough of them fit.
        let batch = if n >= 1000 {
            (want + want / 4).max(256)
        } else {
            n
        };
        let mut checked = 0;
        while feasible.len() < want && checked < n {
            let len = batch.min(n - checked);
            let start = self.next_start_index + checked;
            let parts = chunked(len, 512, |r| {
                r.map(|j| {
                    let idx = (start + j) % n;
                    (
                        idx,
                        fwk.run_filter_with_nominated(state, pod, &nodes[idx], snap),
                    )
                })
                .collect::<Vec<_>>()
            });
            for (idx, s) in parts.into_iter().flatten() {
                if s.is_success() {
                    if feasible.len() < want {
                        feasible.push(nodes[idx].clone());
                    }
                } else if s.code == Code::Error {
                    return Err(ScheduleError::internal(&s));
                } else {
                    if !s.plugin.is_empty() {
                        diagnosis.unschedulable_plugins.insert(s.plugin);
                    }
                    rejected.push((idx, s));
                }
            }
            checked += len;
        }
        diagnosis.rejected_nodes += rejected.len();
        if feasible.is_empty() {
            let statuses: HashMap<String, Status> = rejected
                .into_iter()
                .map(|(i, s)| (nodes[i].name.clone(), s))
                .collect();
            diagnosis.node_to_status.statuses.extend(statuses);
        }
        Ok(feasible)
    }
}

/// Upstream `prioritizeNodes`: PreScore, Score, weights; 1 each without score plugins.
pub fn prioritize(
    fwk: &Framework,
    state: &mut CycleState,
    pod: &PodInfo,
    nodes: &[Arc<NodeInfo>],
    snap: &Snapshot,
) -> Result<Vec<i64>, ScheduleError> {
    let s = fwk.run_pre_score(state, pod, nodes, snap);
    if !s.is_success() {
        return Err(ScheduleError::internal(&s));
    }
    fwk.run_score(state, pod, nodes, snap)
        .map_err(|s| ScheduleError::internal(&s))
}

/// Upstream `selectHost`: a uniformly random node among the highest scores.
pub fn select_host(nodes: &[Arc<NodeInfo>], scores: &[i64]) -> String {
    let mut rng = rand::rng();
    let mut best = 0;
    let mut ties = 1u32;
    for i in 1..scores.len() {
        if scores[i] > scores[best] {
            best = i;
            ties = 1;
        } else if scores[i] == scores[best] {
            ties += 1;
            if rng.random_range(0..ties) == 0 {
                best = i;
            }
        }
    }
    nodes[best].name.clone()
}

#[cfg(test)]
mod tests;
