//! Runs one object controller on kube-runtime's `Controller`: informer handlers push keys
//! into a [`Queue`], the `Controller` deduplicates them, runs at most one reconcile per
//! object at a time with the configured concurrency, and requeues on `Action::requeue` or,
//! after an error, with upstream's per-item exponential backoff (5 ms doubling to 1000 s).
//! The queue keeps upstream's workqueue metrics.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::StreamExt;
use kube::runtime::controller::{Action, Config, Controller, Error as ControllerError};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::Resource;
use serde::de::DeserializeOwned;

use crate::errors::{Error, Result};
use crate::metrics::{Metrics, QueueMetrics};

/// The `namespace/name` key of an object (upstream `MetaNamespaceKeyFunc`).
pub fn key(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

/// The key of an object.
pub fn key_of<K: Resource>(obj: &K) -> String {
    key(obj.meta().namespace.as_deref(), obj.meta().name.as_deref().unwrap_or(""))
}

/// The sending side of a controller's work queue; cheap to clone into handlers.
pub struct Queue<K: Resource<DynamicType = ()>> {
    tx: mpsc::UnboundedSender<ObjectRef<K>>,
    pending: Arc<Mutex<HashMap<String, Instant>>>,
    metrics: QueueMetrics,
}

impl<K: Resource<DynamicType = ()>> Clone for Queue<K> {
    fn clone(&self) -> Self {
        Queue { tx: self.tx.clone(), pending: self.pending.clone(), metrics: self.metrics.clone() }
    }
}

/// The receiving side of a queue, consumed by [`run`].
pub struct QueueReceiver<K: Resource<DynamicType = ()>>(mpsc::UnboundedReceiver<ObjectRef<K>>);

impl<K: Resource<DynamicType = ()> + 'static> Queue<K> {
    /// A queue named `name` (the `name` label of its metrics).
    pub fn new(name: &str, metrics: &Metrics) -> (Self, QueueReceiver<K>) {
        let (tx, rx) = mpsc::unbounded();
        (Queue { tx, pending: Arc::default(), metrics: metrics.queue(name) }, QueueReceiver(rx))
    }

    /// Asks for a reconcile of the object `namespace/name`.
    pub fn add(&self, namespace: Option<&str>, name: &str) {
        let k = key(namespace, name);
        {
            let mut pending = self.pending.lock().expect("queue lock");
            if pending.contains_key(&k) {
                return;
            }
            pending.insert(k, Instant::now());
        }
        self.metrics.depth.inc();
        self.metrics.adds.inc();
        let mut r = ObjectRef::<K>::new(name);
        r.namespace = namespace.map(str::to_string);
        let _ = self.tx.unbounded_send(r);
    }

    /// Asks for a reconcile of `obj`.
    pub fn add_obj(&self, obj: &K) {
        let meta = obj.meta();
        self.add(meta.namespace.as_deref(), meta.name.as_deref().unwrap_or(""));
    }

    /// Asks for a reconcile of `obj` after `delay`.
    pub fn add_after(&self, obj: &K, delay: Duration) {
        let meta = obj.meta();
        let (ns, name) = (meta.namespace.clone(), meta.name.clone().unwrap_or_default());
        let queue = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.add(ns.as_deref(), &name);
        });
    }

    /// Marks `key` as taken off the queue.
    fn started(&self, key: &str) {
        if let Some(added) = self.pending.lock().expect("queue lock").remove(key) {
            self.metrics.depth.dec();
            self.metrics.queue_duration.observe(added.elapsed().as_secs_f64());
        }
    }
}

/// Upstream's per-item exponential failure backoff: 5 ms * 2^(failures-1), at most 1000 s.
pub fn failure_backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let ms = 5u64.saturating_mul(1u64 << exp);
    Duration::from_millis(ms).min(Duration::from_secs(1000))
}

type Failures = Arc<Mutex<HashMap<String, u32>>>;

fn error_policy<K: Resource>(obj: &K, err: &Error, failures: &Failures, metrics: &QueueMetrics, queue: &str) -> Action {
    let k = key_of(obj);
    let n = {
        let mut f = failures.lock().expect("failures lock");
        let n = f.entry(k.clone()).or_insert(0);
        *n += 1;
        *n
    };
    metrics.retries.inc();
    if err.is_conflict() || err.is_namespace_terminating() {
        tracing::debug!(controller = queue, key = %k, error = %err, "sync failed, requeueing");
    } else {
        tracing::warn!(controller = queue, key = %k, error = %err, attempt = n, "sync failed, requeueing");
    }
    Action::requeue(failure_backoff(n))
}

/// Runs a controller until the process ends: `reconcile` is called with the cached object
/// for every key added to `queue` (and again on the `Action` it returns).
pub async fn run<K, C, F, Fut>(name: &'static str, queue: Queue<K>, rx: QueueReceiver<K>, store: Store<K>, concurrency: u16, ctx: Arc<C>, reconcile: F)
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    C: Send + Sync + 'static,
    F: Fn(Arc<K>, Arc<C>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Action>> + Send + 'static,
{
    let failures: Failures = Arc::default();
    let (q, f) = (queue.clone(), failures.clone());
    let reconciler = move |obj: Arc<K>, ctx: Arc<C>| {
        let k = key_of(obj.as_ref());
        q.started(&k);
        let timer = q.metrics.work_duration.start_timer();
        let (failures, errors) = (f.clone(), q.metrics.errors.clone());
        let fut = reconcile(obj, ctx);
        async move {
            let res = fut.await;
            timer.observe_duration();
            match &res {
                Ok(_) => {
                    failures.lock().expect("failures lock").remove(&k);
                }
                Err(_) => errors.inc(),
            }
            res
        }
    };
    let (metrics, f) = (queue.metrics.clone(), failures.clone());
    let policy = move |obj: Arc<K>, err: &Error, _ctx: Arc<C>| error_policy(obj.as_ref(), err, &f, &metrics, name);
    tracing::info!(controller = name, workers = concurrency, "starting controller");
    Controller::for_stream(futures::stream::pending::<Result<K, kube::runtime::watcher::Error>>(), store)
        .reconcile_on(rx.0)
        .with_config(Config::default().concurrency(concurrency))
        .run(reconciler, policy, ctx)
        .for_each(|res| {
            if let Err(ControllerError::ObjectNotFound(r)) = res {
                queue.started(&key(r.namespace.as_deref(), &r.name));
            }
            futures::future::ready(())
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_5ms_to_1000s() {
        assert_eq!(failure_backoff(1), Duration::from_millis(5));
        assert_eq!(failure_backoff(2), Duration::from_millis(10));
        assert_eq!(failure_backoff(5), Duration::from_millis(80));
        assert_eq!(failure_backoff(40), Duration::from_secs(1000));
    }

    #[test]
    fn keys_are_namespace_slash_name() {
        assert_eq!(key(Some("ns"), "a"), "ns/a");
        assert_eq!(key(None, "a"), "a");
        assert_eq!(key(Some(""), "a"), "a");
    }
}
