//! One profile's plugin pipeline (upstream `frameworkruntime.frameworkImpl`): builds the
//! plugins a profile enables and runs each extension point in order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::interface::*;
use super::parallel::chunked;
use super::snapshot::Snapshot;
use super::types::{NodeInfo, PodInfo};
use crate::config::{Profile, ResolvedPlugins};
use crate::plugins::Registry;

/// Errors building a framework from a profile.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameworkError {
    /// A plugin name not in the registry.
    #[error("plugin {0:?} does not exist")]
    UnknownPlugin(String),
    /// A plugin enabled at an extension point it does not implement.
    #[error("plugin {0:?} does not extend {1} plugin")]
    NotExtending(String, &'static str),
    /// A plugin's arguments were rejected.
    #[error("initializing plugin {0:?}: {1}")]
    BadArgs(String, String),
    /// Not exactly one QueueSort plugin, or no Bind plugin.
    #[error("{0}")]
    Invalid(String),
}

/// One profile's instantiated plugins.
pub struct Framework {
    /// The schedulerName this profile serves.
    pub profile_name: String,
    /// Per-profile percentageOfNodesToScore (None: the global setting).
    pub percentage_of_nodes_to_score: Option<i32>,
    queue_sort: Arc<dyn QueueSortPlugin>,
    pre_filter: Vec<Arc<dyn PreFilterPlugin>>,
    filter: Vec<Arc<dyn FilterPlugin>>,
    post_filter: Vec<Arc<dyn PostFilterPlugin>>,
    pre_score: Vec<Arc<dyn PreScorePlugin>>,
    score: Vec<(Arc<dyn ScorePlugin>, i64)>,
    reserve: Vec<Arc<dyn ReservePlugin>>,
    permit: Vec<Arc<dyn PermitPlugin>>,
    pre_bind: Vec<Arc<dyn PreBindPlugin>>,
    bind: Vec<Arc<dyn BindPlugin>>,
}

fn pick<T: ?Sized>(
    inst: &PluginInstance,
    point: &'static str,
    get: impl Fn(&PluginInstance) -> Option<Arc<T>>,
) -> Result<Arc<T>, FrameworkError> {
    get(inst).ok_or_else(|| FrameworkError::NotExtending(inst.name.to_string(), point))
}

fn pick_all<T: ?Sized>(
    names: &[(String, i64)],
    instances: &BTreeMap<String, PluginInstance>,
    point: &'static str,
    get: impl Fn(&PluginInstance) -> Option<Arc<T>>,
) -> Result<Vec<Arc<T>>, FrameworkError> {
    names
        .iter()
        .map(|(n, _)| pick(&instances[n], point, &get))
        .collect()
}

impl Framework {
    /// Instantiates a profile's plugins from the registry.
    pub fn new(profile: &Profile, registry: &Registry) -> Result<Framework, FrameworkError> {
        let mut instances = BTreeMap::new();
        for name in profile.candidate_names() {
            let factory = registry
                .get(name.as_str())
                .ok_or_else(|| FrameworkError::UnknownPlugin(name.clone()))?;
            let args = profile.plugin_args(&name);
            let inst = factory(&args).map_err(|e| FrameworkError::BadArgs(name.clone(), e))?;
            instances.insert(name, inst);
        }
        let implements = |name: &str, point: &str| {
            instances
                .get(name)
                .is_some_and(|i| i.extension_points().contains(&point))
        };
        let resolved: ResolvedPlugins = profile.resolve(&implements);
        Self::assemble(profile, &resolved, &instances)
    }

    fn assemble(
        profile: &Profile,
        r: &ResolvedPlugins,
        inst: &BTreeMap<String, PluginInstance>,
    ) -> Result<Framework, FrameworkError> {
        if r.queue_sort.len() != 1 {
            return Err(FrameworkError::Invalid(format!(
                "only one queue sort plugin required for profile with scheduler name {:?}, but got {}",
                profile.scheduler_name,
                r.queue_sort.len()
            )));
        }
        if r.bind.is_empty() {
            return Err(FrameworkError::Invalid(format!(
                "at least one bind plugin is needed for profile with scheduler name {:?}",
                profile.scheduler_name
            )));
        }
        let score = r
            .score
            .iter()
            .map(|(n, w)| pick(&inst[n], "Score", |i| i.score.clone()).map(|p| (p, (*w).max(1))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Framework {
            profile_name: profile.scheduler_name.clone(),
            percentage_of_nodes_to_score: profile.percentage_of_nodes_to_score,
            queue_sort: pick(&inst[&r.queue_sort[0].0], "QueueSort", |i| {
                i.queue_sort.clone()
            })?,
            pre_filter: pick_all(&r.pre_filter, inst, "PreFilter", |i| i.pre_filter.clone())?,
            filter: pick_all(&r.filter, inst, "Filter", |i| i.filter.clone())?,
            post_filter: pick_all(&r.post_filter, inst, "PostFilter", |i| {
                i.post_filter.clone()
            })?,
            pre_score: pick_all(&r.pre_score, inst, "PreScore", |i| i.pre_score.clone())?,
            score,
            reserve: pick_all(&r.reserve, inst, "Reserve", |i| i.reserve.clone())?,
            permit: pick_all(&r.permit, inst, "Permit", |i| i.permit.clone())?,
            pre_bind: pick_all(&r.pre_bind, inst, "PreBind", |i| i.pre_bind.clone())?,
            bind: pick_all(&r.bind, inst, "Bind", |i| i.bind.clone())?,
        })
    }

    /// The QueueSort plugin.
    pub fn queue_sort(&self) -> Arc<dyn QueueSortPlugin> {
        self.queue_sort.clone()
    }

    /// Names of the plugins per extension point (for logs and tests).
    pub fn plugin_names(&self) -> BTreeMap<&'static str, Vec<String>> {
        let mut m = BTreeMap::new();
        m.insert("QueueSort", vec![self.queue_sort.name().to_string()]);
        m.insert(
            "PreFilter",
            self.pre_filter
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
        );
        m.insert(
            "Filter",
            self.filter.iter().map(|p| p.name().to_string()).collect(),
        );
        m.insert(
            "PostFilter",
            self.post_filter
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
        );
        m.insert(
            "PreScore",
            self.pre_score
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
        );
        m.insert(
            "Score",
            self.score
                .iter()
                .map(|(p, w)| format!("{}:{w}", p.name()))
                .collect(),
        );
        m.insert(
            "Reserve",
            self.reserve.iter().map(|p| p.name().to_string()).collect(),
        );
        m.insert(
            "Permit",
            self.permit.iter().map(|p| p.name().to_string()).collect(),
        );
        m.insert(
            "PreBind",
            self.pre_bind.iter().map(|p| p.name().to_string()).collect(),
        );
        m.insert(
            "Bind",
            self.bind.iter().map(|p| p.name().to_string()).collect(),
        );
        m
    }

    /// Runs PreFilter; a rejection carries the plugin's name. Results are intersected.
    pub fn run_pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let mut result: Option<BTreeSet<String>> = None;
        for p in &self.pre_filter {
            let (r, s) = p.pre_filter(state, pod, snap);
            if s.is_skip() {
                state.skip_filter.insert(p.name());
                state.skip_filter_mask = self.skip_mask(&state.skip_filter);
                continue;
            }
            if !s.is_success() {
                return (None, s.with_plugin(p.name()));
            }
            if let Some(names) = r.and_then(|r| r.node_names) {
                result = Some(match result {
                    None => names,
                    Some(prev) => prev.intersection(&names).cloned().collect(),
                });
            }
        }
        if result.as_ref().is_some_and(|r| r.is_empty()) {
            let s = Status::new(
                Code::UnschedulableAndUnresolvable,
                "node(s) didn't satisfy plugin(s) [PreFilter]",
            );
            return (None, s);
        }
        (
            Some(PreFilterResult { node_names: result }),
            Status::success(),
        )
    }

    /// Bit i set: Filter plugin i is skipped this cycle.
    fn skip_mask(&self, skipped: &BTreeSet<&'static str>) -> u64 {
        let mut mask = 0;
        for (i, p) in self.filter.iter().enumerate().take(63) {
            if skipped.contains(p.name()) {
                mask |= 1 << i;
            }
        }
        mask
    }

    /// Calls every PreFilter extension's AddPod.
    pub fn run_pre_filter_add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &PodInfo,
        node: &NodeInfo,
    ) -> Status {
        for p in &self.pre_filter {
            if !p.has_extensions() || state.skip_filter.contains(p.name()) {
                continue;
            }
            let s = p.add_pod(state, pod, added, node);
            if !s.is_success() {
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Calls every PreFilter extension's RemovePod.
    pub fn run_pre_filter_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
    ) -> Status {
        for p in &self.pre_filter {
            if !p.has_extensions() || state.skip_filter.contains(p.name()) {
                continue;
            }
            let s = p.remove_pod(state, pod, removed, node);
            if !s.is_success() {
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Runs the Filter plugins in order; the first failure wins.
    pub fn run_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        snap: &Snapshot,
    ) -> Status {
        for (i, p) in self.filter.iter().enumerate() {
            if state.skip_filter_mask & (1u64 << i.min(63)) != 0 {
                continue;
            }
            let s = p.filter(state, pod, node, snap);
            if !s.is_success() {
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Upstream `RunFilterPluginsWithNominatedPods`: filters once with the pods nominated to
    /// the node (of at least the pod's priority) counted as running, then once without.
    pub fn run_filter_with_nominated(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        snap: &Snapshot,
    ) -> Status {
        if snap.nominated.is_empty() {
            return self.run_filter(state, pod, node, snap);
        }
        let nominated: Vec<&Arc<PodInfo>> = snap
            .nominated
            .get(&node.name)
            .into_iter()
            .flatten()
            .filter(|p| p.uid != pod.uid && p.priority >= pod.priority)
            .collect();
        if nominated.is_empty() {
            return self.run_filter(state, pod, node, snap);
        }
        let mut st = state.clone();
        let mut ni = node.clone();
        for p in nominated {
            ni.add_pod(p.clone());
            let s = self.run_pre_filter_add_pod(&mut st, pod, p, &ni);
            if !s.is_success() {
                return s;
            }
        }
        let s = self.run_filter(&st, pod, &ni, snap);
        if !s.is_success() {
            return s;
        }
        self.run_filter(state, pod, node, snap)
    }

    /// Whether any PostFilter plugin is configured.
    pub fn has_post_filter(&self) -> bool {
        !self.post_filter.is_empty()
    }

    /// Runs PostFilter until one succeeds; otherwise the joined reasons of the rejections.
    pub fn run_post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        statuses: &NodeToStatus,
    ) -> (Option<PostFilterResult>, Status) {
        let mut reasons = Vec::new();
        let mut last_result = None;
        for p in &self.post_filter {
            let (r, s) = p.post_filter(state, pod, snap, statuses, self);
            if s.is_success() {
                return (r, s);
            }
            if !s.is_rejected() {
                return (r, s.with_plugin(p.name()));
            }
            if r.is_some() {
                last_result = r;
            }
            reasons.extend(s.reasons);
        }
        (
            last_result,
            Status::with_reasons(Code::Unschedulable, reasons),
        )
    }

    /// Runs PreScore; Skip removes the plugin's Score for this cycle.
    pub fn run_pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        snap: &Snapshot,
    ) -> Status {
        for p in &self.pre_score {
            let s = p.pre_score(state, pod, nodes, snap);
            if s.is_skip() {
                state.skip_score.insert(p.name());
            } else if !s.is_success() {
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Runs Score, NormalizeScore and weights; returns each node's total.
    pub fn run_score(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        snap: &Snapshot,
    ) -> Result<Vec<i64>, Status> {
        let active: Vec<&(Arc<dyn ScorePlugin>, i64)> = self
            .score
            .iter()
            .filter(|(p, _)| !state.skip_score.contains(p.name()))
            .collect();
        let parts = chunked(nodes.len(), 512, |range| -> Result<Vec<Vec<i64>>, Status> {
            let mut raw = vec![Vec::with_capacity(range.len()); active.len()];
            for n in &nodes[range] {
                for (i, (p, _)) in active.iter().enumerate() {
                    let (v, s) = p.score(state, pod, n, snap);
                    if !s.is_success() {
                        return Err(s.with_plugin(p.name()));
                    }
                    raw[i].push(v);
                }
            }
            Ok(raw)
        });
        let mut raw: Vec<Vec<i64>> = vec![Vec::with_capacity(nodes.len()); active.len()];
        for part in parts {
            for (i, v) in part?.into_iter().enumerate() {
                raw[i].extend(v);
            }
        }
        let mut totals: Vec<i64> = vec![0; nodes.len()];
        for ((p, weight), mut scores) in active.into_iter().zip(raw) {
            let s = p.normalize(state, pod, nodes, &mut scores);
            if !s.is_success() {
                return Err(s.with_plugin(p.name()));
            }
            for (t, s) in totals.iter_mut().zip(&scores) {
                *t += s * weight;
            }
        }
        Ok(totals)
    }

    /// Runs Reserve; on failure unreserves everything in reverse order.
    pub fn run_reserve(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        node: &str,
        snap: &Snapshot,
    ) -> Status {
        for p in &self.reserve {
            let s = p.reserve(state, pod, node, snap);
            if !s.is_success() {
                self.run_unreserve(state, pod, node);
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Runs Unreserve in reverse order.
    pub fn run_unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) {
        for p in self.reserve.iter().rev() {
            p.unreserve(state, pod, node);
        }
    }

    /// Runs Permit; Wait is not supported and treated as a rejection after its timeout.
    pub fn run_permit(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status {
        for p in &self.permit {
            let (s, _timeout) = p.permit(state, pod, node);
            if s.code == Code::Wait {
                return Status::new(
                    Code::Unschedulable,
                    format!(
                        "pod {:?} rejected while waiting on permit: waiting is not supported",
                        pod.name
                    ),
                )
                .with_plugin(p.name());
            }
            if !s.is_success() {
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Runs PreBind then Bind (the first Bind plugin not skipping wins).
    pub async fn run_bind_cycle(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &str,
        api: Arc<dyn ClusterApi>,
    ) -> Status {
        let pre: Vec<_> = self
            .pre_bind
            .iter()
            .map(|p| (p.name(), p.pre_bind(state, pod, node, api.clone())))
            .collect();
        for (name, fut) in pre {
            let s = fut.await;
            if s.is_rejected() {
                return s.with_plugin(name);
            }
            if !s.is_success() && !s.is_skip() {
                return Status::error(format!("running PreBind plugin {name:?}: {}", s.message()))
                    .with_plugin(name);
            }
        }
        let binds: Vec<_> = self
            .bind
            .iter()
            .map(|p| (p.name(), p.bind(state, pod, node, api.clone())))
            .collect();
        for (name, fut) in binds {
            let s = fut.await;
            if s.is_skip() {
                continue;
            }
            if s.is_success() || s.is_rejected() {
                return s.with_plugin(name);
            }
            return Status::error(format!("running Bind plugin {name:?}: {}", s.message()))
                .with_plugin(name);
        }
        Status::error("no bind plugin bound the pod")
    }
}
