//! A plain rate-limited work queue of keys, as upstream's `workqueue.RateLimitingInterface`,
//! for controllers whose items are not API objects (the garbage collector's graph nodes): an
//! item is queued at most once, never processed by two workers at once, and an item added
//! while being processed runs again afterwards.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::metrics::QueueMetrics;
use crate::runtime::failure_backoff;

struct State<T> {
    queue: VecDeque<T>,
    dirty: HashMap<T, Instant>,
    processing: HashSet<T>,
    failures: HashMap<T, u32>,
}

/// A deduplicating queue shared by producers and workers.
pub struct WorkQueue<T> {
    state: Mutex<State<T>>,
    notify: Notify,
    metrics: QueueMetrics,
}

impl<T: Clone + Eq + Hash + Send + 'static> WorkQueue<T> {
    /// An empty queue reporting to `metrics`.
    pub fn new(metrics: QueueMetrics) -> Arc<Self> {
        Arc::new(WorkQueue {
            state: Mutex::new(State { queue: VecDeque::new(), dirty: HashMap::new(), processing: HashSet::new(), failures: HashMap::new() }),
            notify: Notify::new(),
            metrics,
        })
    }

    /// Queues `item` unless it is already waiting.
    pub fn add(&self, item: T) {
        let mut s = self.state.lock().expect("queue lock");
        if s.dirty.contains_key(&item) {
            return;
        }
        s.dirty.insert(item.clone(), Instant::now());
        self.metrics.adds.inc();
        if s.processing.contains(&item) {
            return;
        }
        s.queue.push_back(item);
        self.metrics.depth.inc();
        drop(s);
        self.notify.notify_one();
    }

    /// Queues `item` after `delay`.
    pub fn add_after(self: &Arc<Self>, item: T, delay: Duration) {
        let q = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            q.add(item);
        });
    }

    /// Queues `item` after its failure backoff, counting a retry.
    pub fn add_rate_limited(self: &Arc<Self>, item: T) {
        let n = {
            let mut s = self.state.lock().expect("queue lock");
            let n = s.failures.entry(item.clone()).or_insert(0);
            *n += 1;
            *n
        };
        self.metrics.retries.inc();
        self.add_after(item, failure_backoff(n));
    }

    /// Clears `item`'s failure count.
    pub fn forget(&self, item: &T) {
        self.state.lock().expect("queue lock").failures.remove(item);
    }

    /// Takes the next item, waiting for one.
    pub async fn get(&self) -> T {
        loop {
            let notified = self.notify.notified();
            if let Some(item) = self.try_get() {
                return item;
            }
            notified.await;
        }
    }

    fn try_get(&self) -> Option<T> {
        let mut s = self.state.lock().expect("queue lock");
        let item = s.queue.pop_front()?;
        self.metrics.depth.dec();
        if let Some(added) = s.dirty.remove(&item) {
            self.metrics.queue_duration.observe(added.elapsed().as_secs_f64());
        }
        s.processing.insert(item.clone());
        Some(item)
    }

    /// Marks `item` processed; if it was added meanwhile it is queued again.
    pub fn done(&self, item: &T) {
        let mut s = self.state.lock().expect("queue lock");
        s.processing.remove(item);
        if s.dirty.contains_key(item) {
            s.queue.push_back(item.clone());
            self.metrics.depth.inc();
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.state.lock().expect("queue lock").queue.len()
    }

    /// Whether no item waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The metrics handles (to time work).
    pub fn metrics(&self) -> &QueueMetrics {
        &self.metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> Arc<WorkQueue<u32>> {
        let m = crate::metrics::Metrics::new(&prometheus::Registry::new()).unwrap();
        WorkQueue::new(m.queue("test"))
    }

    #[tokio::test]
    async fn dedups_and_requeues_items_added_while_processing() {
        let q = queue();
        q.add(1);
        q.add(1);
        q.add(2);
        assert_eq!(q.len(), 2);
        let a = q.get().await;
        assert_eq!(a, 1);
        q.add(1);
        assert_eq!(q.len(), 1, "an item being processed is not queued twice");
        q.done(&1);
        assert_eq!(q.len(), 2);
        assert_eq!(q.get().await, 2);
        assert_eq!(q.get().await, 1);
        q.done(&1);
        q.done(&2);
        assert!(q.is_empty());
    }
}
