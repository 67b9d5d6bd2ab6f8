//! The IO shell around [`SchedulerCore`]: informers feed it, a dedicated thread runs the
//! scheduling cycles, binding cycles run as async tasks, and failures are reported with
//! the PodScheduled condition and FailedScheduling events.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::runtime::Handle;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::api::{self, EventRecorder, KubeApi};
use crate::core::{Assumed, Outcome, SchedulerCore};
use crate::framework::interface::{ClusterApi, PostFilterResult};
use crate::framework::snapshot::ClusterObjects;
use crate::metrics::Metrics;
use crate::queue::QueuedPodInfo;

/// At most this many binding cycles run at once.
pub const MAX_CONCURRENT_BINDINGS: usize = 128;

/// A change seen by an informer.
pub enum Change<K> {
    /// Added or updated.
    Upsert(K),
    /// Deleted (also for objects gone across a re-list).
    Delete(K),
    /// The initial list has been delivered.
    Synced,
}

fn object_key<K: Resource>(o: &K) -> String {
    let m = o.meta();
    m.uid.clone().unwrap_or_else(|| {
        format!(
            "{}/{}",
            m.namespace.as_deref().unwrap_or(""),
            m.name.as_deref().unwrap_or("")
        )
    })
}

/// Watches a resource, turning re-lists into upserts and deletions.
pub async fn informer<K, F>(api: Api<K>, mut on: F)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    F: FnMut(Change<K>) + Send,
{
    let mut known: HashMap<String, K> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(Event::Init) => seen.clear(),
            Ok(Event::InitApply(o)) => {
                let k = object_key(&o);
                seen.insert(k.clone());
                known.insert(k, o.clone());
                on(Change::Upsert(o));
            }
            Ok(Event::InitDone) => {
                let stale: Vec<String> = known
                    .keys()
                    .filter(|k| !seen.contains(*k))
                    .cloned()
                    .collect();
                for k in stale {
                    if let Some(o) = known.remove(&k) {
                        on(Change::Delete(o));
                    }
                }
                on(Change::Synced);
            }
            Ok(Event::Apply(o)) => {
                known.insert(object_key(&o), o.clone());
                on(Change::Upsert(o));
            }
            Ok(Event::Delete(o)) => {
                known.remove(&object_key(&o));
                on(Change::Delete(o));
            }
            Err(e) => tracing::warn!(error = %e, "watch failed; retrying"),
        }
    }
}

use kube::runtime::watcher::watcher;

/// The running scheduler.
pub struct Scheduler {
    core: Mutex<SchedulerCore>,
    wake: Notify,
    client: kube::Client,
    api: Arc<dyn ClusterApi>,
    /// Metrics (also served on /metrics).
    pub metrics: Metrics,
    events: EventRecorder,
    objects: Mutex<ClusterObjects>,
    bindings: Arc<Semaphore>,
    synced: AtomicUsize,
    synced_notify: Notify,
}

impl Scheduler {
    /// A scheduler over a core and a client.
    pub fn new(core: SchedulerCore, client: kube::Client, metrics: Metrics) -> Arc<Scheduler> {
        Arc::new(Scheduler {
            core: Mutex::new(core),
            wake: Notify::new(),
            api: Arc::new(KubeApi::new(client.clone())),
            events: EventRecorder::new(client.clone()),
            client,
            metrics,
            objects: Mutex::new(ClusterObjects::default()),
            bindings: Arc::new(Semaphore::new(MAX_CONCURRENT_BINDINGS)),
            synced: AtomicUsize::new(0),
            synced_notify: Notify::new(),
        })
    }

    fn core(&self) -> MutexGuard<'_, SchedulerCore> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Nodes in the cache (informer progress).
    pub fn cached_nodes(&self) -> usize {
        self.core().cache.node_count()
    }

    fn mark_synced(&self) {
        self.synced.fetch_add(1, Ordering::SeqCst);
        self.synced_notify.notify_waiters();
    }

    /// Waits until pods and nodes have been listed.
    pub async fn wait_synced(&self) {
        loop {
            let n = self.synced_notify.notified();
            if self.synced.load(Ordering::SeqCst) >= 2 {
                return;
            }
            n.await;
        }
    }

    /// Starts every informer.
    pub fn start_informers(self: &Arc<Self>) {
        let s = self.clone();
        tokio::spawn(informer(Api::<Pod>::all(self.client.clone()), move |c| {
            s.on_pod(c)
        }));
        let s = self.clone();
        tokio::spawn(informer(Api::<Node>::all(self.client.clone()), move |c| {
            s.on_node(c)
        }));
        let s = self.clone();
        tokio::spawn(informer(
            Api::<PriorityClass>::all(self.client.clone()),
            move |c| s.on_priority_class(c),
        ));
        self.object_informer::<Namespace>(|o, n, del| {
            let name = n.name_any();
            if del {
                o.namespaces.remove(&name);
            } else {
                o.namespaces.insert(name, n.labels().clone());
            }
        });
        self.object_informer::<PersistentVolume>(|o, pv, del| {
            let name = pv.name_any();
            if del {
                o.pvs.remove(&name);
            } else {
                o.pvs.insert(name, pv);
            }
        });
        self.object_informer::<PersistentVolumeClaim>(|o, c, del| {
            let key = format!("{}/{}", c.namespace().unwrap_or_default(), c.name_any());
            if del {
                o.pvcs.remove(&key);
            } else {
                o.pvcs.insert(key, c);
            }
        });
        self.object_informer::<StorageClass>(|o, sc, del| {
            let name = sc.name_any();
            if del {
                o.storage_classes.remove(&name);
            } else {
                o.storage_classes.insert(name, sc);
            }
        });
        self.object_informer::<PodDisruptionBudget>(|o, p, del| {
            let uid = p.uid();
            o.pdbs.retain(|x| x.uid() != uid);
            if !del {
                o.pdbs.push(p);
            }
        });
    }

    fn object_informer<K>(self: &Arc<Self>, apply: fn(&mut ClusterObjects, K, bool))
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let s = self.clone();
        let api = Api::<K>::all(self.client.clone());
        tokio::spawn(informer(api, move |c| {
            let snapshot = {
                let mut objs = s.objects.lock().unwrap_or_else(|e| e.into_inner());
                match c {
                    Change::Upsert(o) => apply(&mut objs, o, false),
                    Change::Delete(o) => apply(&mut objs, o, true),
                    Change::Synced => return,
                }
                Arc::new(objs.clone())
            };
            s.core().objects_changed(snapshot, Instant::now());
            s.wake.notify_one();
        }));
    }

    fn on_pod(&self, c: Change<Pod>) {
        match c {
            Change::Upsert(p) => self.core().pod_upserted(p, Instant::now()),
            Change::Delete(p) => {
                self.events.forget(&p.uid().unwrap_or_default());
                self.core().pod_deleted(&p, Instant::now());
            }
            Change::Synced => self.mark_synced(),
        }
        self.wake.notify_one();
    }

    fn on_node(&self, c: Change<Node>) {
        match c {
            Change::Upsert(n) => self.core().node_upserted(n, Instant::now()),
            Change::Delete(n) => self.core().node_deleted(&n.name_any()),
            Change::Synced => self.mark_synced(),
        }
        self.wake.notify_one();
    }

    fn on_priority_class(&self, c: Change<PriorityClass>) {
        let mut core = self.core();
        match c {
            Change::Upsert(pc) => {
                core.priority_classes.insert(pc.name_any(), pc.value);
            }
            Change::Delete(pc) => {
                core.priority_classes.remove(&pc.name_any());
            }
            Change::Synced => {}
        }
    }

    /// Moves backed-off pods to active every second and refreshes the pending gauges.
    pub async fn flush_loop(self: Arc<Self>, stop: CancellationToken) {
        while !stop.is_cancelled() {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.cancelled() => return,
            }
            let lengths = {
                let mut core = self.core();
                core.queue.flush(Instant::now());
                core.queue.lengths()
            };
            self.metrics.set_pending(lengths);
            self.wake.notify_one();
        }
    }

    /// Runs scheduling cycles on the calling thread until `stop` is cancelled.
    pub fn scheduling_loop(self: Arc<Self>, rt: Handle, stop: CancellationToken) {
        while !stop.is_cancelled() {
            let start = Instant::now();
            let outcome = self.core().schedule_next();
            match outcome {
                None => rt.block_on(async {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        _ = stop.cancelled() => {}
                    }
                }),
                Some(o) => self.handle_outcome(o, start, &rt),
            }
        }
    }

    fn handle_outcome(self: &Arc<Self>, o: Outcome, start: Instant, rt: &Handle) {
        match o {
            Outcome::Skipped => {}
            Outcome::Scheduled(a) => {
                let permit = rt
                    .block_on(self.bindings.clone().acquire_owned())
                    .expect("semaphore open");
                let s = self.clone();
                rt.spawn(async move {
                    let _permit = permit;
                    s.binding_cycle(*a, start).await;
                });
            }
            Outcome::Unschedulable {
                info,
                cycle,
                message,
                post_filter,
            } => {
                self.metrics.attempt(
                    "unschedulable",
                    &info.pod.scheduler_name,
                    start.elapsed().as_secs_f64(),
                );
                self.preempt(&info, post_filter.as_ref(), rt);
                let nominated = post_filter
                    .as_ref()
                    .and_then(|p| p.nominated_node_name.clone());
                self.core().requeue_failed(
                    info.clone(),
                    cycle,
                    false,
                    post_filter.as_ref(),
                    Instant::now(),
                );
                self.report_failure(rt, info, "Unschedulable", message, nominated);
            }
            Outcome::Error {
                info,
                cycle,
                message,
            } => {
                self.metrics.attempt(
                    "error",
                    &info.pod.scheduler_name,
                    start.elapsed().as_secs_f64(),
                );
                self.core()
                    .requeue_failed(info.clone(), cycle, true, None, Instant::now());
                self.report_failure(rt, info, "SchedulerError", message, None);
            }
        }
    }

    fn report_failure(
        &self,
        rt: &Handle,
        info: QueuedPodInfo,
        reason: &'static str,
        message: String,
        nominated: Option<String>,
    ) {
        let (client, events) = (self.client.clone(), self.events.clone());
        rt.spawn(async move {
            events
                .record(
                    &info.pod,
                    "Warning",
                    "FailedScheduling",
                    "Scheduling",
                    &message,
                )
                .await;
            api::update_pod_status(client, info.pod, reason, &message, nominated).await;
        });
    }

    fn preempt(&self, info: &QueuedPodInfo, pf: Option<&PostFilterResult>, rt: &Handle) {
        let Some(pf) = pf else { return };
        self.metrics.preemption_attempts.inc();
        let Some(node) = pf.nominated_node_name.clone().filter(|n| !n.is_empty()) else {
            return;
        };
        self.metrics
            .preemption_victims
            .observe(pf.victims.len() as f64);
        for v in &pf.victims {
            let (client, events, v, p, n) = (
                self.client.clone(),
                self.events.clone(),
                v.clone(),
                info.pod.clone(),
                node.clone(),
            );
            rt.spawn(api::preempt_victim(client, events, v, p, n));
        }
        for p in &pf.clear_nominations {
            rt.spawn(api::clear_nomination(self.client.clone(), p.clone()));
        }
    }

    async fn binding_cycle(self: Arc<Self>, a: Assumed, start: Instant) {
        let pod = a.info.pod.clone();
        let status = a
            .fwk
            .run_bind_cycle(&a.state, &pod, &a.node, self.api.clone())
            .await;
        let profile = pod.scheduler_name.clone();
        if status.is_success() {
            self.core().binding_succeeded(&a);
            self.metrics
                .attempt("scheduled", &profile, start.elapsed().as_secs_f64());
            self.metrics
                .pod_scheduling_attempts
                .observe(f64::from(a.info.attempts));
            let msg = format!(
                "Successfully assigned {}/{} to {}",
                pod.namespace, pod.name, a.node
            );
            self.events
                .record(&pod, "Normal", "Scheduled", "Binding", &msg)
                .await;
            return;
        }
        let message = status.message();
        tracing::warn!(pod = %pod.key(), node = %a.node, %message, "binding failed");
        self.metrics
            .attempt("error", &profile, start.elapsed().as_secs_f64());
        let info = a.info.clone();
        self.core().binding_failed(a, Instant::now());
        self.wake.notify_one();
        self.events
            .record(
                &info.pod,
                "Warning",
                "FailedScheduling",
                "Scheduling",
                &message,
            )
            .await;
        api::update_pod_status(
            self.client.clone(),
            info.pod,
            "SchedulerError",
            &message,
            None,
        )
        .await;
    }
}
