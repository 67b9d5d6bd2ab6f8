//! The synchronous heart of the scheduler: profiles, queue, cache and algorithm together,
//! fed by informer events and driven one scheduling cycle at a time. No IO: the server
//! (`scheduler`) and the in-process benchmark both drive this type.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::algorithm::{Algorithm, ScheduleError};
use crate::cache::Cache;
use crate::config::KubeSchedulerConfiguration;
use crate::framework::interface::{CycleState, PostFilterResult};
use crate::framework::runtime::{Framework, FrameworkError};
use crate::framework::snapshot::{ClusterObjects, Snapshot};
use crate::framework::types::PodInfo;
use crate::plugins::Registry;
use crate::queue::{QueuedPodInfo, SchedulingQueue};

/// A pod placed by a scheduling cycle, ready for its binding cycle.
pub struct Assumed {
    /// The queued pod (its pod has spec.nodeName unset).
    pub info: QueuedPodInfo,
    /// The chosen node.
    pub node: String,
    /// The cycle state (PreBind/Bind read it).
    pub state: CycleState,
    /// The profile.
    pub fwk: Arc<Framework>,
}

/// The end of one scheduling cycle.
pub enum Outcome {
    /// Assumed onto a node; bind it.
    Scheduled(Box<Assumed>),
    /// No node fits (or a Reserve/Permit plugin rejected it).
    Unschedulable {
        /// The queued pod.
        info: QueuedPodInfo,
        /// The cycle number.
        cycle: u64,
        /// Upstream's message for the condition and event.
        message: String,
        /// What preemption decided.
        post_filter: Option<PostFilterResult>,
    },
    /// A plugin failed.
    Error {
        /// The queued pod.
        info: QueuedPodInfo,
        /// The cycle number.
        cycle: u64,
        /// The error.
        message: String,
    },
    /// Not ours, or gone.
    Skipped,
}

/// Profiles, queue, cache and algorithm.
pub struct SchedulerCore {
    /// Frameworks by schedulerName.
    pub profiles: HashMap<String, Arc<Framework>>,
    /// The scheduling queue.
    pub queue: SchedulingQueue,
    /// The cache.
    pub cache: Cache,
    /// The snapshot reused across cycles.
    pub snapshot: Snapshot,
    /// Namespaces, volumes, PDBs.
    pub objects: Arc<ClusterObjects>,
    /// PriorityClass values by name (for pods admitted without spec.priority).
    pub priority_classes: HashMap<String, i32>,
    /// Uids of pending pods the informer knows (failed pods are only requeued if still there).
    pending: HashSet<String>,
    algorithm: Algorithm,
}

/// Plugins whose verdict can change when an assigned pod appears or changes.
const POD_SENSITIVE: [&str; 2] = ["InterPodAffinity", "PodTopologySpread"];

impl SchedulerCore {
    /// Builds every profile of a configuration.
    pub fn new(
        config: &KubeSchedulerConfiguration,
        registry: &Registry,
    ) -> Result<Self, FrameworkError> {
        let mut profiles = HashMap::new();
        for p in &config.profiles {
            profiles.insert(
                p.scheduler_name.clone(),
                Arc::new(Framework::new(p, registry)?),
            );
        }
        let sort = profiles
            .values()
            .next()
            .map(|f: &Arc<Framework>| f.queue_sort())
            .ok_or_else(|| FrameworkError::Invalid("no profiles".into()))?;
        Ok(SchedulerCore {
            profiles,
            queue: SchedulingQueue::new(sort, config.initial_backoff(), config.max_backoff()),
            cache: Cache::new(),
            snapshot: Snapshot::default(),
            objects: Arc::new(ClusterObjects::default()),
            priority_classes: HashMap::new(),
            pending: HashSet::new(),
            algorithm: Algorithm::new(config.percentage_of_nodes_to_score),
        })
    }

    fn pod_info(&self, mut pod: Pod) -> Arc<PodInfo> {
        if let Some(spec) = pod.spec.as_mut() {
            if spec.priority.is_none() {
                if let Some(v) = spec
                    .priority_class_name
                    .as_ref()
                    .and_then(|c| self.priority_classes.get(c))
                {
                    spec.priority = Some(*v);
                }
            }
        }
        Arc::new(PodInfo::new(pod))
    }

    /// Whether one of the profiles schedules pods with this schedulerName.
    pub fn responsible_for(&self, pod: &PodInfo) -> bool {
        self.profiles.contains_key(&pod.scheduler_name)
    }

    /// An informer saw a pod added or updated.
    pub fn pod_upserted(&mut self, pod: Pod, now: Instant) {
        let pi = self.pod_info(pod);
        if pi.node_name.is_empty() && !pi.terminating {
            self.pending.insert(pi.uid.clone());
        } else {
            self.pending.remove(&pi.uid);
        }
        if !pi.node_name.is_empty() {
            self.queue.delete(&pi.key(), &pi.uid);
            self.cache.add_or_update_pod(pi);
            self.move_pods_sensitive_to_pods(now);
        } else if pi.terminating {
            self.queue.delete(&pi.key(), &pi.uid);
        } else if self.responsible_for(&pi) && !self.cache.contains_pod(&pi.uid) {
            self.queue.update(pi, now);
        }
    }

    /// An informer saw a pod deleted.
    pub fn pod_deleted(&mut self, pod: &Pod, now: Instant) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let key = format!(
            "{}/{}",
            pod.metadata.namespace.as_deref().unwrap_or(""),
            pod.metadata.name.as_deref().unwrap_or("")
        );
        self.pending.remove(&uid);
        self.queue.delete(&key, &uid);
        if self.cache.contains_pod(&uid) {
            self.cache.remove_pod(&uid);
            self.queue.move_all_to_active_or_backoff(now);
        }
    }

    /// An informer saw a node added or updated.
    pub fn node_upserted(&mut self, node: Node, now: Instant) {
        self.cache.add_node(node);
        self.queue.move_all_to_active_or_backoff(now);
    }

    /// An informer saw a node deleted.
    pub fn node_deleted(&mut self, name: &str) {
        self.cache.remove_node(name);
    }

    /// Namespaces, volumes or PDBs changed.
    pub fn objects_changed(&mut self, objects: Arc<ClusterObjects>, now: Instant) {
        self.objects = objects;
        self.queue.move_all_to_active_or_backoff(now);
    }

    fn move_pods_sensitive_to_pods(&mut self, now: Instant) {
        // Upstream's queueing hints, coarsely: only pods rejected by a plugin that looks at
        // other pods can become schedulable when a pod is assigned.
        self.queue.move_matching(now, |i| {
            i.unschedulable_plugins
                .iter()
                .any(|p| POD_SENSITIVE.contains(p))
        });
    }

    /// Refreshes the snapshot from the cache, nominator and cluster objects.
    pub fn refresh_snapshot(&mut self) {
        self.cache.update_snapshot(&mut self.snapshot);
        self.snapshot.objects = self.objects.clone();
        self.snapshot.nominated = Arc::new(self.queue.nominated());
    }

    /// Pops and schedules one pod; `None` when the active queue is empty.
    pub fn schedule_next(&mut self) -> Option<Outcome> {
        let (info, cycle) = self.queue.pop()?;
        Some(self.schedule_one(info, cycle))
    }

    /// One scheduling cycle (upstream `schedulingCycle`).
    pub fn schedule_one(&mut self, info: QueuedPodInfo, cycle: u64) -> Outcome {
        let Some(fwk) = self.profiles.get(&info.pod.scheduler_name).cloned() else {
            return Outcome::Skipped;
        };
        if info.pod.terminating || self.cache.contains_pod(&info.pod.uid) {
            return Outcome::Skipped;
        }
        self.refresh_snapshot();
        let mut state = CycleState::default();
        let pod = info.pod.clone();
        let outcome = self.cycle(info, cycle, fwk, &mut state, &pod);
        // Let the cache own its pod index again, so updating it does not copy it.
        self.snapshot.pods = Default::default();
        outcome
    }

    fn cycle(
        &mut self,
        info: QueuedPodInfo,
        cycle: u64,
        fwk: Arc<Framework>,
        state: &mut CycleState,
        pod: &PodInfo,
    ) -> Outcome {
        match self
            .algorithm
            .schedule_pod(&fwk, state, pod, &self.snapshot)
        {
            Ok(r) => {
                // Assuming updates the cache's pod index: drop the snapshot's handle first.
                self.snapshot.pods = Default::default();
                self.assume(info, cycle, r.node, std::mem::take(state), fwk)
            }
            Err(ScheduleError::Fit(mut fe)) => {
                let mut post = None;
                if fwk.has_post_filter() {
                    let (res, st) = fwk.run_post_filter(
                        state,
                        pod,
                        &self.snapshot,
                        &fe.diagnosis.node_to_status,
                    );
                    fe.diagnosis.post_filter_msg = st.message();
                    post = res;
                }
                let mut info = info;
                info.unschedulable_plugins = fe.diagnosis.unschedulable_plugins.clone();
                Outcome::Unschedulable {
                    info,
                    cycle,
                    message: fe.to_string(),
                    post_filter: post,
                }
            }
            Err(e @ ScheduleError::NoNodes) => Outcome::Unschedulable {
                info,
                cycle,
                message: e.to_string(),
                post_filter: None,
            },
            Err(e) => Outcome::Error {
                info,
                cycle,
                message: e.to_string(),
            },
        }
    }

    fn assume(
        &mut self,
        info: QueuedPodInfo,
        cycle: u64,
        node: String,
        mut state: CycleState,
        fwk: Arc<Framework>,
    ) -> Outcome {
        let mut assumed = (*info.pod).clone();
        assumed.node_name = node.clone();
        if let Err(e) = self.cache.assume_pod(Arc::new(assumed), &node) {
            return Outcome::Error {
                info,
                cycle,
                message: e.to_string(),
            };
        }
        let s = fwk.run_reserve(&mut state, &info.pod, &node, &self.snapshot);
        let s = if s.is_success() {
            let p = fwk.run_permit(&state, &info.pod, &node);
            if !p.is_success() {
                fwk.run_unreserve(&mut state, &info.pod, &node);
            }
            p
        } else {
            s
        };
        if !s.is_success() {
            let _ = self.cache.forget_pod(&info.pod.uid);
            if s.is_rejected() {
                return Outcome::Unschedulable {
                    info,
                    cycle,
                    message: s.message(),
                    post_filter: None,
                };
            }
            return Outcome::Error {
                info,
                cycle,
                message: s.message(),
            };
        }
        Outcome::Scheduled(Box::new(Assumed {
            info,
            node,
            state,
            fwk,
        }))
    }

    /// Requeues a pod that failed its cycle and records preemption's nomination.
    pub fn requeue_failed(
        &mut self,
        info: QueuedPodInfo,
        cycle: u64,
        error: bool,
        post: Option<&PostFilterResult>,
        now: Instant,
    ) {
        if let Some(nominated) = post.and_then(|p| p.nominated_node_name.as_ref()) {
            if nominated.is_empty() {
                self.queue.delete_nominated(&info.pod.uid);
            } else {
                self.queue.add_nominated(info.pod.clone(), nominated);
            }
        }
        for p in post.map(|p| p.clear_nominations.as_slice()).unwrap_or(&[]) {
            self.queue.delete_nominated(&p.uid);
        }
        if self.pending.contains(&info.pod.uid) {
            self.queue.add_unschedulable(info, cycle, error, now);
        }
    }

    /// The binding cycle succeeded.
    pub fn binding_succeeded(&mut self, a: &Assumed) {
        self.cache.finish_binding(&a.info.pod.uid);
        self.queue.delete_nominated(&a.info.pod.uid);
    }

    /// The binding cycle failed: forget the assumption and retry after backoff.
    pub fn binding_failed(&mut self, mut a: Assumed, now: Instant) {
        let _ = self.cache.forget_pod(&a.info.pod.uid);
        a.fwk.run_unreserve(&mut a.state, &a.info.pod, &a.node);
        if self.pending.contains(&a.info.pod.uid) {
            self.queue.add_backoff(a.info, now);
        }
        self.queue.move_all_to_active_or_backoff(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;
    use crate::plugins::in_tree_registry;

    fn core() -> SchedulerCore {
        SchedulerCore::new(
            &KubeSchedulerConfiguration::default_config(),
            &in_tree_registry(),
        )
        .unwrap()
    }

    #[test]
    fn no_double_booking() {
        let mut c = core();
        let now = Instant::now();
        c.node_upserted(node("a", "1", "4Gi"), now);
        c.pod_upserted(pod("p1", "700m", ""), now);
        c.pod_upserted(pod("p2", "700m", ""), now);
        let first = c.schedule_next().unwrap();
        assert!(matches!(first, Outcome::Scheduled(_)));
        match c.schedule_next().unwrap() {
            Outcome::Unschedulable { message, .. } => assert_eq!(
                message,
                "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
            ),
            _ => panic!("second pod must not fit"),
        }
    }

    #[test]
    fn pending_pod_scheduled_when_node_added() {
        let mut c = core();
        let now = Instant::now();
        c.node_upserted(node("small", "2", "4Gi"), now);
        c.pod_upserted(pod("big", "100", ""), now);
        let Outcome::Unschedulable {
            info,
            cycle,
            post_filter,
            ..
        } = c.schedule_next().unwrap()
        else {
            panic!()
        };
        c.requeue_failed(info, cycle, false, post_filter.as_ref(), now);
        assert!(c.schedule_next().is_none());
        c.node_upserted(node("huge", "128", "512Gi"), now);
        c.queue.flush(now + std::time::Duration::from_secs(2));
        match c.schedule_next().unwrap() {
            Outcome::Scheduled(a) => assert_eq!(a.node, "huge"),
            _ => panic!("expected the big pod to be scheduled"),
        }
    }

    #[test]
    fn deleted_pod_not_requeued_after_failed_binding() {
        let mut c = core();
        let now = Instant::now();
        c.node_upserted(node("a", "4", "4Gi"), now);
        let p = pod("p", "100m", "");
        c.pod_upserted(p.clone(), now);
        let Some(Outcome::Scheduled(a)) = c.schedule_next() else {
            panic!()
        };
        c.pod_deleted(&p, now);
        c.binding_failed(*a, now);
        c.queue.flush(now + std::time::Duration::from_secs(60));
        assert!(c.schedule_next().is_none());
        assert_eq!(c.cache.pod_count(), 0);
    }

    #[test]
    fn priority_class_fallback() {
        let mut c = core();
        c.priority_classes.insert("high".into(), 1000);
        let mut p = pod("p", "", "");
        p.spec.as_mut().unwrap().priority_class_name = Some("high".into());
        assert_eq!(c.pod_info(p).priority, 1000);
    }
}
