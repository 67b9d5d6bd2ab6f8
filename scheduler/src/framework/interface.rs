//! The extension points (upstream `framework/interface.go`): statuses, the per-cycle state
//! and one trait per extension point. Plugins implement the traits they need; a
//! [`PluginInstance`] carries one plugin's implementations to the framework.

use std::any::Any;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::snapshot::Snapshot;
use super::types::{NodeInfo, PodInfo};
use crate::queue::QueuedPodInfo;

/// The highest score a Score plugin may return after normalisation.
pub const MAX_NODE_SCORE: i64 = 100;
/// The lowest score.
pub const MIN_NODE_SCORE: i64 = 0;

/// A plugin's verdict (upstream `framework.Code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// Everything fine.
    Success,
    /// An internal error: the pod is retried with backoff.
    Error,
    /// The pod does not fit now; preemption may help.
    Unschedulable,
    /// The pod does not fit and preemption cannot help on this node.
    UnschedulableAndUnresolvable,
    /// Permit: wait.
    Wait,
    /// The plugin has nothing to do for this pod (PreFilter/PreScore/Bind).
    Skip,
}

/// A plugin's verdict with reasons (upstream `framework.Status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The code.
    pub code: Code,
    /// Human-readable reasons, as upstream words them.
    pub reasons: Vec<String>,
    /// The plugin that produced a failure.
    pub plugin: &'static str,
}

impl Status {
    /// Success.
    pub fn success() -> Status {
        Status {
            code: Code::Success,
            reasons: Vec::new(),
            plugin: "",
        }
    }

    /// A status with one reason.
    pub fn new(code: Code, reason: impl Into<String>) -> Status {
        Status {
            code,
            reasons: vec![reason.into()],
            plugin: "",
        }
    }

    /// A status with several reasons.
    pub fn with_reasons(code: Code, reasons: Vec<String>) -> Status {
        Status {
            code,
            reasons,
            plugin: "",
        }
    }

    /// Skip.
    pub fn skip() -> Status {
        Status {
            code: Code::Skip,
            reasons: Vec::new(),
            plugin: "",
        }
    }

    /// An internal error.
    pub fn error(msg: impl Into<String>) -> Status {
        Status::new(Code::Error, msg)
    }

    /// Tags the status with the plugin that produced it.
    pub fn with_plugin(mut self, plugin: &'static str) -> Status {
        self.plugin = plugin;
        self
    }

    /// Whether the code is Success.
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// Whether the code is Skip.
    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// Whether the pod was rejected (Unschedulable or UnschedulableAndUnresolvable).
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }

    /// The reasons joined with ", " (upstream `Status.Message`).
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

/// Data a plugin keeps for one scheduling cycle; cloneable for preemption's what-ifs.
pub trait StateData: Any + Send + Sync {
    /// A boxed copy.
    fn clone_data(&self) -> Box<dyn StateData>;
    /// For downcasting.
    fn as_any(&self) -> &dyn Any;
    /// For downcasting mutably.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Send + Sync> StateData for T {
    fn clone_data(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The per-cycle state shared by the plugins (upstream `framework.CycleState`).
#[derive(Default)]
pub struct CycleState {
    data: Vec<(&'static str, Box<dyn StateData>)>,
    /// Filter plugins whose PreFilter returned Skip.
    pub skip_filter: BTreeSet<&'static str>,
    /// The same as a bit mask over the framework's Filter plugins (set by the framework).
    pub skip_filter_mask: u64,
    /// Score plugins whose PreScore returned Skip.
    pub skip_score: BTreeSet<&'static str>,
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        CycleState {
            data: self
                .data
                .iter()
                .map(|(k, v)| (*k, (**v).clone_data()))
                .collect(),
            skip_filter: self.skip_filter.clone(),
            skip_filter_mask: self.skip_filter_mask,
            skip_score: self.skip_score.clone(),
        }
    }
}

impl CycleState {
    /// Stores (or replaces) a value under a key.
    pub fn write<T: StateData>(&mut self, key: &'static str, value: T) {
        let boxed: Box<dyn StateData> = Box::new(value);
        match self.data.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = boxed,
            None => self.data.push((key, boxed)),
        }
    }

    /// Reads a value stored under a key.
    pub fn read<T: 'static>(&self, key: &'static str) -> Option<&T> {
        self.data
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| (**v).as_any().downcast_ref())
    }

    /// Reads a value mutably.
    pub fn read_mut<T: 'static>(&mut self, key: &'static str) -> Option<&mut T> {
        self.data
            .iter_mut()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| (**v).as_any_mut().downcast_mut())
    }
}

/// What PreFilter may narrow the candidate nodes to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreFilterResult {
    /// Only these nodes can pass; `None` means all.
    pub node_names: Option<BTreeSet<String>>,
}

/// Per-node filter verdicts of one cycle (upstream `NodeToStatus`).
#[derive(Clone, Debug, Default)]
pub struct NodeToStatus {
    /// Verdicts of nodes that were evaluated.
    pub statuses: HashMap<String, Status>,
    /// The verdict of every node not in `statuses`.
    pub absent: Option<Status>,
}

impl NodeToStatus {
    /// The verdict of a node.
    pub fn get(&self, node: &str) -> Option<&Status> {
        self.statuses.get(node).or(self.absent.as_ref())
    }
}

/// What PostFilter (preemption) decided.
#[derive(Clone, Debug, Default)]
pub struct PostFilterResult {
    /// The node to nominate; `Some("")` clears a nomination.
    pub nominated_node_name: Option<String>,
    /// Pods to delete so the preemptor fits.
    pub victims: Vec<Arc<PodInfo>>,
    /// Lower-priority pods nominated to the same node whose nomination must be cleared.
    pub clear_nominations: Vec<Arc<PodInfo>>,
}

/// Writes the scheduler needs done in the API (binding, volume binding); implemented over
/// the kube client and by in-memory fakes for tests and benchmarks.
pub trait ClusterApi: Send + Sync {
    /// POSTs a pods/binding.
    fn bind(
        &self,
        namespace: String,
        name: String,
        uid: String,
        node: String,
    ) -> BoxFuture<'static, Result<(), String>>;
    /// Binds a PersistentVolume to a claim (claimRef and volumeName).
    fn bind_volume(
        &self,
        pv: String,
        namespace: String,
        claim: String,
    ) -> BoxFuture<'static, Result<(), String>>;
    /// Marks a claim for dynamic provisioning on a node (volume.kubernetes.io/selected-node).
    fn select_node_for_claim(
        &self,
        namespace: String,
        claim: String,
        node: String,
    ) -> BoxFuture<'static, Result<(), String>>;
}

/// Every plugin has a name.
pub trait Plugin: Send + Sync {
    /// The plugin's registry name.
    fn name(&self) -> &'static str;
}

/// Orders the active queue.
pub trait QueueSortPlugin: Plugin {
    /// Whether `a` should be scheduled before `b`.
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool;
}

/// Runs once per cycle before filtering; may reject the pod or narrow the nodes.
pub trait PreFilterPlugin: Plugin {
    /// Computes the plugin's cycle state.
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> (Option<PreFilterResult>, Status);
    /// Whether `add_pod`/`remove_pod` are implemented (preemption and nominated pods).
    fn has_extensions(&self) -> bool {
        false
    }
    /// Updates the cycle state as if `added` ran on `node`.
    fn add_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _added: &PodInfo,
        _node: &NodeInfo,
    ) -> Status {
        Status::success()
    }
    /// Updates the cycle state as if `removed` no longer ran on `node`.
    fn remove_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _removed: &PodInfo,
        _node: &NodeInfo,
    ) -> Status {
        Status::success()
    }
}

/// Decides whether a pod may run on a node.
pub trait FilterPlugin: Plugin {
    /// The verdict for one node.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo, snap: &Snapshot)
        -> Status;
}

/// Runs when no node passed the filters (preemption).
pub trait PostFilterPlugin: Plugin {
    /// Tries to make the pod schedulable.
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
        statuses: &NodeToStatus,
        fwk: &super::runtime::Framework,
    ) -> (Option<PostFilterResult>, Status);
}

/// Runs once before scoring.
pub trait PreScorePlugin: Plugin {
    /// Computes scoring state for the feasible nodes.
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        snap: &Snapshot,
    ) -> Status;
}

/// Ranks feasible nodes.
pub trait ScorePlugin: Plugin {
    /// The raw score of one node.
    fn score(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        snap: &Snapshot,
    ) -> (i64, Status);
    /// Brings the raw scores into [0, 100] (default: leave them).
    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        _scores: &mut [i64],
    ) -> Status {
        Status::success()
    }
}

/// Reserves resources when a node is chosen, and releases them on failure.
pub trait ReservePlugin: Plugin {
    /// Reserves.
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str, snap: &Snapshot)
        -> Status;
    /// Releases what `reserve` took.
    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str);
}

/// Approves, rejects or delays binding.
pub trait PermitPlugin: Plugin {
    /// Success, Unschedulable, or Wait with a timeout.
    fn permit(&self, state: &CycleState, pod: &PodInfo, node: &str) -> (Status, Duration);
}

/// Work before binding (e.g. binding volumes), done in the binding cycle.
pub trait PreBindPlugin: Plugin {
    /// Starts the work; the future resolves to the verdict.
    fn pre_bind(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &str,
        api: Arc<dyn ClusterApi>,
    ) -> BoxFuture<'static, Status>;
}

/// Binds the pod (the first plugin not returning Skip wins).
pub trait BindPlugin: Plugin {
    /// Binds.
    fn bind(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &str,
        api: Arc<dyn ClusterApi>,
    ) -> BoxFuture<'static, Status>;
}

/// One constructed plugin and the extension points it implements.
#[derive(Clone, Default)]
pub struct PluginInstance {
    /// The plugin's name.
    pub name: &'static str,
    /// QueueSort implementation.
    pub queue_sort: Option<Arc<dyn QueueSortPlugin>>,
    /// PreFilter implementation.
    pub pre_filter: Option<Arc<dyn PreFilterPlugin>>,
    /// Filter implementation.
    pub filter: Option<Arc<dyn FilterPlugin>>,
    /// PostFilter implementation.
    pub post_filter: Option<Arc<dyn PostFilterPlugin>>,
    /// PreScore implementation.
    pub pre_score: Option<Arc<dyn PreScorePlugin>>,
    /// Score implementation.
    pub score: Option<Arc<dyn ScorePlugin>>,
    /// Reserve implementation.
    pub reserve: Option<Arc<dyn ReservePlugin>>,
    /// Permit implementation.
    pub permit: Option<Arc<dyn PermitPlugin>>,
    /// PreBind implementation.
    pub pre_bind: Option<Arc<dyn PreBindPlugin>>,
    /// Bind implementation.
    pub bind: Option<Arc<dyn BindPlugin>>,
}

impl PluginInstance {
    /// An instance with no extension points yet.
    pub fn new(name: &'static str) -> Self {
        PluginInstance {
            name,
            ..Default::default()
        }
    }

    /// The extension points implemented, by upstream's names.
    pub fn extension_points(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let pairs = [
            ("QueueSort", self.queue_sort.is_some()),
            ("PreFilter", self.pre_filter.is_some()),
            ("Filter", self.filter.is_some()),
            ("PostFilter", self.post_filter.is_some()),
            ("PreScore", self.pre_score.is_some()),
            ("Score", self.score.is_some()),
            ("Reserve", self.reserve.is_some()),
            ("Permit", self.permit.is_some()),
            ("PreBind", self.pre_bind.is_some()),
            ("Bind", self.bind.is_some()),
        ];
        for (n, has) in pairs {
            if has {
                v.push(n);
            }
        }
        v
    }
}

/// Upstream `helper.DefaultNormalizeScore`: scales to [0, max] by the highest score,
/// optionally reversed.
pub fn default_normalize_score(max: i64, reverse: bool, scores: &mut [i64]) {
    let highest = scores.iter().copied().max().unwrap_or(0);
    if highest == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = max);
        }
        return;
    }
    for s in scores.iter_mut() {
        let v = max * *s / highest;
        *s = if reverse { max - v } else { v };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_state_clone_is_deep() {
        let mut s = CycleState::default();
        s.write("k", vec![1]);
        let c = s.clone();
        s.read_mut::<Vec<i32>>("k").unwrap().push(2);
        assert_eq!(c.read::<Vec<i32>>("k").unwrap(), &vec![1]);
        assert_eq!(s.read::<Vec<i32>>("k").unwrap(), &vec![1, 2]);
    }

    #[test]
    fn normalize() {
        let mut s = vec![2, 4];
        default_normalize_score(100, false, &mut s);
        assert_eq!(s, vec![50, 100]);
        default_normalize_score(100, true, &mut s);
        assert_eq!(s, vec![50, 0]);
    }
}
