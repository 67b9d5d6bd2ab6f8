//! The scheduling queue (upstream `PriorityQueue`): an active heap ordered by the QueueSort
//! plugin, a backoff queue, an unschedulable pool re-queued on cluster events, a gated
//! pool, and the nominator. Time is passed in, so the queue is unit-tested without sleeping.

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::framework::interface::QueueSortPlugin;
use crate::framework::snapshot::Nominated;
use crate::framework::types::PodInfo;

/// Pods stay in the unschedulable pool at most this long without an event.
pub const MAX_IN_UNSCHEDULABLE: Duration = Duration::from_secs(5 * 60);

/// A pod waiting in the queue (upstream `QueuedPodInfo`).
#[derive(Clone, Debug)]
pub struct QueuedPodInfo {
    /// The pod.
    pub pod: Arc<PodInfo>,
    /// When it was (re-)queued.
    pub timestamp: Instant,
    /// Scheduling attempts so far.
    pub attempts: u32,
    /// When it was first queued.
    pub initial_attempt: Instant,
    /// Plugins that rejected it last time.
    pub unschedulable_plugins: BTreeSet<&'static str>,
}

impl QueuedPodInfo {
    fn new(pod: Arc<PodInfo>, now: Instant) -> Self {
        QueuedPodInfo {
            pod,
            timestamp: now,
            attempts: 0,
            initial_attempt: now,
            unschedulable_plugins: BTreeSet::new(),
        }
    }
}

struct HeapEntry {
    info: QueuedPodInfo,
    generation: u64,
    sort: Arc<dyn QueueSortPlugin>,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapEntry {
    /// BinaryHeap pops the greatest: "less" in QueueSort terms is greater here.
    fn cmp(&self, other: &Self) -> Ordering {
        if self.sort.less(&self.info, &other.info) {
            Ordering::Greater
        } else if self.sort.less(&other.info, &self.info) {
            Ordering::Less
        } else {
            other.generation.cmp(&self.generation)
        }
    }
}

/// Where a pod is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueName {
    /// Ready to be scheduled.
    Active,
    /// Waiting out its backoff.
    Backoff,
    /// Waiting for a cluster event.
    Unschedulable,
    /// Blocked by spec.schedulingGates.
    Gated,
}

/// The queue.
pub struct SchedulingQueue {
    sort: Arc<dyn QueueSortPlugin>,
    heap: BinaryHeap<HeapEntry>,
    active: HashMap<String, u64>,
    backoff: HashMap<String, QueuedPodInfo>,
    unschedulable: HashMap<String, QueuedPodInfo>,
    gated: HashMap<String, QueuedPodInfo>,
    pending_info: HashMap<String, QueuedPodInfo>,
    generation: u64,
    scheduling_cycle: u64,
    move_request_cycle: u64,
    initial_backoff: Duration,
    max_backoff: Duration,
    nominated: Nominated,
    nominated_by_uid: HashMap<String, String>,
}

impl SchedulingQueue {
    /// An empty queue.
    pub fn new(
        sort: Arc<dyn QueueSortPlugin>,
        initial_backoff: Duration,
        max_backoff: Duration,
    ) -> Self {
        SchedulingQueue {
            sort,
            heap: BinaryHeap::new(),
            active: HashMap::new(),
            backoff: HashMap::new(),
            unschedulable: HashMap::new(),
            gated: HashMap::new(),
            pending_info: HashMap::new(),
            generation: 0,
            scheduling_cycle: 0,
            move_request_cycle: 0,
            initial_backoff,
            max_backoff,
            nominated: Nominated::new(),
            nominated_by_uid: HashMap::new(),
        }
    }

    fn push_active(&mut self, info: QueuedPodInfo) {
        self.generation += 1;
        let key = info.pod.key();
        self.active.insert(key.clone(), self.generation);
        self.pending_info.insert(key, info.clone());
        self.heap.push(HeapEntry {
            info,
            generation: self.generation,
            sort: self.sort.clone(),
        });
    }

    /// Where a pod is queued, if anywhere.
    pub fn location(&self, key: &str) -> Option<QueueName> {
        if self.active.contains_key(key) {
            Some(QueueName::Active)
        } else if self.backoff.contains_key(key) {
            Some(QueueName::Backoff)
        } else if self.unschedulable.contains_key(key) {
            Some(QueueName::Unschedulable)
        } else if self.gated.contains_key(key) {
            Some(QueueName::Gated)
        } else {
            None
        }
    }

    /// A new pending pod.
    pub fn add(&mut self, pod: Arc<PodInfo>, now: Instant) {
        self.update_nominated(&pod);
        let info = QueuedPodInfo::new(pod, now);
        self.place_new(info);
    }

    fn place_new(&mut self, info: QueuedPodInfo) {
        if info.pod.gated {
            self.gated.insert(info.pod.key(), info);
        } else {
            self.push_active(info);
        }
    }

    /// A pending pod changed. Only spec/label/annotation changes move an unschedulable pod.
    pub fn update(&mut self, pod: Arc<PodInfo>, now: Instant) {
        let key = pod.key();
        self.update_nominated(&pod);
        match self.location(&key) {
            None => self.add(pod, now),
            Some(QueueName::Active) => {
                let mut info = self
                    .pending_info
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| QueuedPodInfo::new(pod.clone(), now));
                info.pod = pod;
                self.push_active(info);
            }
            Some(QueueName::Backoff) => {
                if let Some(i) = self.backoff.get_mut(&key) {
                    i.pod = pod;
                }
            }
            Some(QueueName::Gated) => {
                let mut info = self.gated.remove(&key).expect("gated");
                info.pod = pod;
                self.place_new(info);
            }
            Some(QueueName::Unschedulable) => {
                let mut info = self.unschedulable.remove(&key).expect("unschedulable");
                let changed = spec_or_labels_changed(&info.pod, &pod);
                info.pod = pod;
                if !changed {
                    self.unschedulable.insert(key, info);
                } else if self.backoff_expiry(&info) > now {
                    self.backoff.insert(key, info);
                } else {
                    self.push_active(info);
                }
            }
        }
    }

    /// Removes a pod from every queue and the nominator.
    pub fn delete(&mut self, key: &str, uid: &str) {
        self.active.remove(key);
        self.pending_info.remove(key);
        self.backoff.remove(key);
        self.unschedulable.remove(key);
        self.gated.remove(key);
        self.delete_nominated(uid);
    }

    /// The next pod to schedule (the caller schedules it; its cycle number is returned).
    pub fn pop(&mut self) -> Option<(QueuedPodInfo, u64)> {
        while let Some(e) = self.heap.pop() {
            let key = e.info.pod.key();
            if self.active.get(&key) != Some(&e.generation) {
                continue;
            }
            self.active.remove(&key);
            let mut info = self.pending_info.remove(&key).unwrap_or(e.info);
            info.attempts += 1;
            self.scheduling_cycle += 1;
            return Some((info, self.scheduling_cycle));
        }
        None
    }

    /// Upstream `calculateBackoffDuration`: initial × 2^(attempts-1), capped.
    pub fn backoff_duration(&self, attempts: u32) -> Duration {
        let mut d = self.initial_backoff;
        for _ in 1..attempts {
            d = d.saturating_mul(2);
            if d > self.max_backoff {
                return self.max_backoff;
            }
        }
        d
    }

    fn backoff_expiry(&self, info: &QueuedPodInfo) -> Instant {
        info.timestamp + self.backoff_duration(info.attempts)
    }

    /// A pod that failed to schedule in `cycle`: unschedulable pool, or backoff when a move
    /// request happened while it was being scheduled (or it failed with an error).
    pub fn add_unschedulable(
        &mut self,
        mut info: QueuedPodInfo,
        cycle: u64,
        error: bool,
        now: Instant,
    ) {
        let key = info.pod.key();
        if self.location(&key).is_some() {
            return;
        }
        info.timestamp = now;
        if error || self.move_request_cycle >= cycle {
            self.backoff.insert(key, info);
        } else {
            self.unschedulable.insert(key, info);
        }
    }

    /// A pod whose binding failed goes straight back to backoff.
    pub fn add_backoff(&mut self, mut info: QueuedPodInfo, now: Instant) {
        info.timestamp = now;
        self.backoff.insert(info.pod.key(), info);
    }

    /// A cluster event that may make pods schedulable (upstream
    /// `MoveAllToActiveOrBackoffQueue`).
    pub fn move_all_to_active_or_backoff(&mut self, now: Instant) {
        let pods: Vec<QueuedPodInfo> = self.unschedulable.drain().map(|(_, v)| v).collect();
        for info in pods {
            if self.backoff_expiry(&info) > now {
                self.backoff.insert(info.pod.key(), info);
            } else {
                self.push_active(info);
            }
        }
        self.move_request_cycle = self.scheduling_cycle;
    }

    /// Moves the unschedulable pods `pred` selects to active or backoff.
    pub fn move_matching(&mut self, now: Instant, pred: impl Fn(&QueuedPodInfo) -> bool) {
        let keys: Vec<String> = self
            .unschedulable
            .iter()
            .filter(|(_, i)| pred(i))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            if let Some(info) = self.unschedulable.remove(&k) {
                if self.backoff_expiry(&info) > now {
                    self.backoff.insert(k, info);
                } else {
                    self.push_active(info);
                }
            }
        }
        self.move_request_cycle = self.scheduling_cycle;
    }

    /// Moves pods whose backoff expired to active, and pods unschedulable for too long.
    pub fn flush(&mut self, now: Instant) {
        let done: Vec<String> = self
            .backoff
            .iter()
            .filter(|(_, i)| self.backoff_expiry(i) <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in done {
            if let Some(info) = self.backoff.remove(&k) {
                self.push_active(info);
            }
        }
        let stale: Vec<String> = self
            .unschedulable
            .iter()
            .filter(|(_, i)| now.duration_since(i.timestamp) > MAX_IN_UNSCHEDULABLE)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            if let Some(info) = self.unschedulable.remove(&k) {
                self.push_active(info);
            }
        }
    }

    /// (active, backoff, unschedulable, gated) sizes.
    pub fn lengths(&self) -> (usize, usize, usize, usize) {
        (
            self.active.len(),
            self.backoff.len(),
            self.unschedulable.len(),
            self.gated.len(),
        )
    }

    fn update_nominated(&mut self, pod: &Arc<PodInfo>) {
        if pod.nominated_node_name.is_empty() {
            if !self.nominated_by_uid.contains_key(&pod.uid) {
                return;
            }
            // Keep an in-memory nomination until the scheduler clears it.
            let node = self.nominated_by_uid[&pod.uid].clone();
            self.add_nominated(pod.clone(), &node);
            return;
        }
        self.add_nominated(pod.clone(), &pod.nominated_node_name.clone());
    }

    /// Records that a pod is nominated to a node (replacing an earlier nomination).
    pub fn add_nominated(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.delete_nominated(&pod.uid);
        self.nominated_by_uid
            .insert(pod.uid.clone(), node.to_string());
        self.nominated
            .entry(node.to_string())
            .or_default()
            .push(pod);
    }

    /// Forgets a pod's nomination.
    pub fn delete_nominated(&mut self, uid: &str) {
        if let Some(node) = self.nominated_by_uid.remove(uid) {
            if let Some(list) = self.nominated.get_mut(&node) {
                list.retain(|p| p.uid != uid);
                if list.is_empty() {
                    self.nominated.remove(&node);
                }
            }
        }
    }

    /// The nominated pods, for a snapshot.
    pub fn nominated(&self) -> Nominated {
        self.nominated.clone()
    }
}

fn spec_or_labels_changed(old: &PodInfo, new: &PodInfo) -> bool {
    old.pod.spec != new.pod.spec
        || old.pod.metadata.labels != new.pod.metadata.labels
        || old.pod.metadata.annotations != new.pod.metadata.annotations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;
    use crate::plugins::queue_sort::PrioritySort;

    fn q() -> SchedulingQueue {
        SchedulingQueue::new(
            Arc::new(PrioritySort),
            Duration::from_secs(1),
            Duration::from_secs(10),
        )
    }

    fn pi(name: &str, prio: i32) -> Arc<PodInfo> {
        Arc::new(PodInfo::new(priority(pod(name, "", ""), prio)))
    }

    #[test]
    fn pops_by_priority_then_age() {
        let mut q = q();
        let t = Instant::now();
        q.add(pi("low", 0), t);
        q.add(pi("high", 10), t + Duration::from_millis(1));
        q.add(pi("low2", 0), t + Duration::from_millis(2));
        let order: Vec<String> =
            std::iter::from_fn(|| q.pop().map(|(i, _)| i.pod.name.clone())).collect();
        assert_eq!(order, vec!["high", "low", "low2"]);
    }

    #[test]
    fn unschedulable_moves_on_event_respecting_backoff() {
        let mut q = q();
        let t = Instant::now();
        q.add(pi("a", 0), t);
        let (info, cycle) = q.pop().unwrap();
        q.add_unschedulable(info, cycle, false, t);
        assert_eq!(q.location("default/a"), Some(QueueName::Unschedulable));
        q.move_all_to_active_or_backoff(t);
        assert_eq!(q.location("default/a"), Some(QueueName::Backoff));
        q.flush(t + Duration::from_millis(500));
        assert_eq!(q.location("default/a"), Some(QueueName::Backoff));
        q.flush(t + Duration::from_secs(1));
        assert_eq!(q.location("default/a"), Some(QueueName::Active));
    }

    #[test]
    fn event_during_cycle_sends_to_backoff() {
        let mut q = q();
        let t = Instant::now();
        q.add(pi("a", 0), t);
        let (info, cycle) = q.pop().unwrap();
        q.move_all_to_active_or_backoff(t);
        q.add_unschedulable(info, cycle, false, t);
        assert_eq!(q.location("default/a"), Some(QueueName::Backoff));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let q = q();
        assert_eq!(q.backoff_duration(1), Duration::from_secs(1));
        assert_eq!(q.backoff_duration(3), Duration::from_secs(4));
        assert_eq!(q.backoff_duration(9), Duration::from_secs(10));
    }

    #[test]
    fn status_only_update_keeps_pod_unschedulable() {
        let mut q = q();
        let t = Instant::now();
        let p = pi("a", 0);
        q.add(p.clone(), t);
        let (info, cycle) = q.pop().unwrap();
        q.add_unschedulable(info, cycle, false, t);
        let mut raw = (*p.pod).clone();
        raw.status = Some(Default::default());
        q.update(
            Arc::new(PodInfo::new(raw.clone())),
            t + Duration::from_secs(20),
        );
        assert_eq!(q.location("default/a"), Some(QueueName::Unschedulable));
        raw.metadata.labels = Some([("x".to_string(), "y".to_string())].into());
        q.update(Arc::new(PodInfo::new(raw)), t + Duration::from_secs(20));
        assert_eq!(q.location("default/a"), Some(QueueName::Active));
    }

    #[test]
    fn nominator_tracks_pods() {
        let mut q = q();
        q.add_nominated(pi("a", 5), "n1");
        assert_eq!(q.nominated()["n1"].len(), 1);
        q.delete_nominated("uid-a");
        assert!(q.nominated().is_empty());
    }
}
