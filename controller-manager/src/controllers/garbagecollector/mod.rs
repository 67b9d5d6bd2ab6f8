//! The garbage collector (upstream `pkg/controller/garbagecollector`): metadata-only watches
//! of every deletable resource found by discovery feed a dependency graph built from
//! ownerReferences; workers then
//! - delete objects whose owners are all gone (background), or waiting in the foreground,
//! - finish foreground deletions (remove `foregroundDeletion` once no blocking dependent
//!   is left),
//! - orphan dependents (drop their ownerReferences, then the `orphan` finalizer),
//! - drop dangling references from objects that still have a live owner.
//!
//! Discovery is re-read periodically so new resource types (CRDs) are watched too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::core::PartialObjectMeta;
use kube::runtime::{watcher, WatchStreamExt};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::{ControllerDescriptor, Running};
use crate::context::ControllerContext;
use crate::discovery::{self, Discovered, Resource};
use crate::errors::{Error, Result};
use crate::informer::{Change, Informer};
use crate::workqueue::WorkQueue;

pub mod graph;

use graph::{Event, Graph, Identity, Node, ObjectInfo, Work, FOREGROUND, ORPHAN};

/// Registration of the garbage collector.
pub const DESCRIPTOR: ControllerDescriptor =
    ControllerDescriptor { name: "garbage-collector-controller", aliases: &["garbagecollector"], enabled_by_default: true, start };

/// Resources never collected (upstream `DefaultIgnoredResources`).
const IGNORED: &[(&str, &str)] = &[("", "events"), ("events.k8s.io", "events")];

type Meta = PartialObjectMeta<DynamicObject>;

/// A running metadata watch: its stop token and informer.
type Monitor = (CancellationToken, Arc<Informer<Meta>>);

fn start(ctx: &ControllerContext) -> Result<Running> {
    if !ctx.options.enable_garbage_collector {
        tracing::info!("garbage collector disabled by --enable-garbage-collector=false");
        return Ok(Box::pin(futures::future::pending()));
    }
    let gc = Arc::new(GarbageCollector {
        client: ctx.client.clone(),
        graph: Mutex::new(Graph::new()),
        delete_queue: WorkQueue::new(ctx.metrics.queue("garbage_collector_attempt_to_delete")),
        orphan_queue: WorkQueue::new(ctx.metrics.queue("garbage_collector_attempt_to_orphan")),
        discovered: RwLock::new(Discovered::default()),
        monitors: Mutex::new(HashMap::new()),
        stop: ctx.stop.clone(),
        workers: ctx.options.concurrent_gc_syncs.max(1),
        period: ctx.options.garbage_collector_discovery_period,
    });
    Ok(Box::pin(gc.run()))
}

/// What one attempt to delete concluded.
enum Outcome {
    Done,
    VirtualDeleted,
}

/// The collector: graph, queues and monitors.
pub struct GarbageCollector {
    client: kube::Client,
    graph: Mutex<Graph>,
    delete_queue: Arc<WorkQueue<String>>,
    orphan_queue: Arc<WorkQueue<String>>,
    discovered: RwLock<Discovered>,
    monitors: Mutex<HashMap<String, Monitor>>,
    stop: CancellationToken,
    workers: u16,
    period: Duration,
}

fn info(api: &kube::core::ApiResource, o: &Meta) -> ObjectInfo {
    let m = &o.metadata;
    ObjectInfo {
        identity: Identity {
            api_version: api.api_version.clone(),
            kind: api.kind.clone(),
            namespace: m.namespace.clone().unwrap_or_default(),
            name: m.name.clone().unwrap_or_default(),
            uid: m.uid.clone().unwrap_or_default(),
        },
        owners: m.owner_references.clone().unwrap_or_default(),
        finalizers: m.finalizers.clone().unwrap_or_default(),
        deleting: m.deletion_timestamp.is_some(),
    }
}

impl GarbageCollector {
    async fn run(self: Arc<Self>) {
        loop {
            match self.resync_monitors().await {
                Ok(()) => break,
                Err(e) => tracing::warn!(error = %e, "garbage collector: discovery failed, retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        self.wait_for_monitors(Duration::from_secs(60)).await;
        tracing::info!(nodes = self.graph.lock().expect("graph lock").len(), "garbage collector synced, starting workers");
        for _ in 0..self.workers {
            tokio::spawn(self.clone().delete_worker());
            tokio::spawn(self.clone().orphan_worker());
        }
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = tokio::time::sleep(self.period) => {}
            }
            if let Err(e) = self.resync_monitors().await {
                tracing::warn!(error = %e, "garbage collector: discovery failed");
            }
        }
    }

    /// Watches every deletable preferred resource; stops watching vanished ones.
    async fn resync_monitors(self: &Arc<Self>) -> Result<()> {
        let found = discovery::discover(&self.client).await?;
        let wanted: Vec<Resource> = found
            .preferred_with(&["delete", "list", "watch"])
            .into_iter()
            .filter(|r| !IGNORED.contains(&(r.api.group.as_str(), r.api.plural.as_str())))
            .collect();
        *self.discovered.write().expect("discovery lock") = found;
        let mut monitors = self.monitors.lock().expect("monitors lock");
        let keys: Vec<String> = wanted.iter().map(|r| format!("{}/{}", r.api.api_version, r.api.plural)).collect();
        monitors.retain(|k, (stop, _)| {
            let keep = keys.contains(k);
            if !keep {
                tracing::info!(resource = %k, "garbage collector: resource no longer served, stopping monitor");
                stop.cancel();
            }
            keep
        });
        for (r, key) in wanted.into_iter().zip(keys) {
            if let std::collections::hash_map::Entry::Vacant(slot) = monitors.entry(key) {
                let monitor = self.start_monitor(&r, slot.key());
                slot.insert(monitor);
            }
        }
        Ok(())
    }

    fn start_monitor(self: &Arc<Self>, r: &Resource, key: &str) -> Monitor {
        let informer = Informer::<Meta>::new(format!("gc:{key}"), r.api.clone());
        let (gc, ar) = (Arc::downgrade(self), r.api.clone());
        informer.add_handler(move |c| {
            let Some(gc) = gc.upgrade() else { return };
            let event = match c {
                Change::Added(o) => Event::Upsert { obj: info(&ar, o), old: None },
                Change::Updated { old, new } => Event::Upsert { obj: info(&ar, new), old: Some(info(&ar, old)) },
                Change::Deleted(o) => Event::Delete(info(&ar, o)),
            };
            gc.process(event);
        });
        let stop = self.stop.child_token();
        let api: Api<Meta> = Api::all_with(self.client.clone(), &r.api);
        let stream = watcher::watcher(api, watcher::Config::default()).default_backoff().modify(crate::informer::trim_managed_fields);
        tokio::spawn(informer.clone().run(stream, stop.clone()));
        (stop, informer)
    }

    async fn wait_for_monitors(&self, limit: Duration) {
        let informers: Vec<Arc<Informer<Meta>>> = self.monitors.lock().expect("monitors lock").values().map(|(_, i)| i.clone()).collect();
        let all = futures::future::join_all(informers.iter().map(|i| i.wait_synced()));
        if tokio::time::timeout(limit, all).await.is_err() {
            tracing::warn!("garbage collector: timed out waiting for some resource monitors to sync; proceeding");
        }
    }

    fn process(&self, event: Event) {
        let work = self.graph.lock().expect("graph lock").process(event);
        for w in work {
            match w {
                Work::AttemptToDelete(uid) => self.delete_queue.add(uid),
                Work::AttemptToOrphan(uid) => self.orphan_queue.add(uid),
            }
        }
    }

    fn node(&self, uid: &str) -> Option<Node> {
        self.graph.lock().expect("graph lock").get(uid).cloned()
    }

    /// The resource of an apiVersion/kind (upstream RESTMapper).
    fn resource_for(&self, api_version: &str, kind: &str) -> Result<Resource> {
        let d = self.discovered.read().expect("discovery lock");
        d.resolve(api_version, kind).cloned().ok_or_else(|| Error::Retry(format!("unable to get REST mapping for {api_version}/{kind}")))
    }

    fn api_for(&self, r: &Resource, namespace: &str) -> Api<DynamicObject> {
        if r.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &r.api)
        } else {
            Api::all_with(self.client.clone(), &r.api)
        }
    }

    async fn delete_worker(self: Arc<Self>) {
        loop {
            let uid = self.delete_queue.get().await;
            let timer = self.delete_queue.metrics().work_duration.start_timer();
            match self.attempt_to_delete(&uid).await {
                Ok(false) => self.delete_queue.forget(&uid),
                Ok(true) => self.delete_queue.add_rate_limited(uid.clone()),
                Err(e) => {
                    tracing::debug!(uid = %uid, error = %e, "garbage collector: error syncing item");
                    self.delete_queue.metrics().errors.inc();
                    self.delete_queue.add_rate_limited(uid.clone());
                }
            }
            timer.observe_duration();
            self.delete_queue.done(&uid);
        }
    }

    async fn orphan_worker(self: Arc<Self>) {
        loop {
            let uid = self.orphan_queue.get().await;
            match self.attempt_to_orphan(&uid).await {
                Ok(()) => self.orphan_queue.forget(&uid),
                Err(e) => {
                    tracing::warn!(uid = %uid, error = %e, "garbage collector: orphaning failed");
                    self.orphan_queue.metrics().errors.inc();
                    self.orphan_queue.add_rate_limited(uid.clone());
                }
            }
            self.orphan_queue.done(&uid);
        }
    }

    /// One attempt on a node; Ok(true) asks for a requeue (a virtual node not yet observed).
    async fn attempt_to_delete(&self, uid: &str) -> Result<bool> {
        let Some(node) = self.node(uid) else { return Ok(false) };
        match self.attempt_to_delete_item(&node).await? {
            Outcome::VirtualDeleted => Ok(false),
            Outcome::Done => Ok(self.node(uid).is_some_and(|n| n.is_virtual)),
        }
    }

    fn virtual_delete(&self, identity: &Identity) -> Outcome {
        self.process(Event::VirtualDelete(identity.clone()));
        Outcome::VirtualDeleted
    }

    /// Upstream `attemptToDeleteItem`.
    async fn attempt_to_delete_item(&self, node: &Node) -> Result<Outcome> {
        if node.being_deleted && !node.deleting_dependents {
            return Ok(Outcome::Done);
        }
        let id = &node.identity;
        let resource = self.resource_for(&id.api_version, &id.kind)?;
        let api = self.api_for(&resource, &id.namespace);
        let Some(latest) = api.get_metadata_opt(&id.name).await? else { return Ok(self.virtual_delete(id)) };
        if latest.metadata.uid.as_deref() != Some(id.uid.as_str()) {
            return Ok(self.virtual_delete(id));
        }
        if node.deleting_dependents {
            self.process_deleting_dependents(node, &api).await?;
            return Ok(Outcome::Done);
        }
        let owners = latest.metadata.owner_references.clone().unwrap_or_default();
        if owners.is_empty() {
            return Ok(Outcome::Done);
        }
        let (solid, dangling, waiting) = self.classify(node, &owners).await?;
        tracing::debug!(object = %id.name, solid = solid.len(), dangling = dangling.len(), waiting = waiting.len(), "classified owner references");
        if !solid.is_empty() {
            if !dangling.is_empty() || !waiting.is_empty() {
                let gone: Vec<String> = dangling.iter().chain(&waiting).map(|r| r.uid.clone()).collect();
                update_owner_refs(&api, &id.name, |refs| remove_refs(refs, &gone)).await?;
            }
            return Ok(Outcome::Done);
        }
        if !waiting.is_empty() && !node.dependents.is_empty() {
            let cycle = node.dependents.iter().any(|d| self.node(d).is_some_and(|n| n.deleting_dependents));
            if cycle {
                update_owner_refs(&api, &id.name, |refs| unblock_refs(refs)).await?;
            }
            delete_object(&api, id, PropagationPolicy::Foreground).await?;
            return Ok(Outcome::Done);
        }
        let finalizers = latest.metadata.finalizers.clone().unwrap_or_default();
        let policy = if finalizers.iter().any(|f| f == ORPHAN) {
            PropagationPolicy::Orphan
        } else if finalizers.iter().any(|f| f == FOREGROUND) {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        tracing::debug!(object = %id.name, kind = %id.kind, "deleting object whose owners are gone");
        delete_object(&api, id, policy).await?;
        Ok(Outcome::Done)
    }

    /// Splits owner references into solid (owner exists), dangling (owner gone) and
    /// waiting (owner being deleted in the foreground).
    async fn classify(&self, node: &Node, owners: &[OwnerReference]) -> Result<(Vec<OwnerReference>, Vec<OwnerReference>, Vec<OwnerReference>)> {
        let (mut solid, mut dangling, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        for r in owners {
            if self.graph.lock().expect("graph lock").is_absent(&r.uid) {
                dangling.push(r.clone());
                continue;
            }
            let resource = self.resource_for(&r.api_version, &r.kind)?;
            if resource.namespaced && node.identity.namespace.is_empty() {
                tracing::warn!(object = %node.identity.name, owner = %r.name, "cluster-scoped object has a namespaced owner; ignoring the reference");
                solid.push(r.clone());
                continue;
            }
            let api = self.api_for(&resource, &node.identity.namespace);
            match api.get_metadata_opt(&r.name).await? {
                Some(o) if o.metadata.uid.as_deref() == Some(r.uid.as_str()) => {
                    let fg = o.metadata.finalizers.iter().flatten().any(|f| f == FOREGROUND);
                    if o.metadata.deletion_timestamp.is_some() && fg {
                        waiting.push(r.clone());
                    } else {
                        solid.push(r.clone());
                    }
                }
                _ => {
                    self.graph.lock().expect("graph lock").mark_absent(&r.uid);
                    dangling.push(r.clone());
                }
            }
        }
        Ok((solid, dangling, waiting))
    }

    /// Upstream `processDeletingDependentsItem`.
    async fn process_deleting_dependents(&self, node: &Node, api: &Api<DynamicObject>) -> Result<()> {
        let blocking = self.graph.lock().expect("graph lock").blocking_dependents(&node.identity.uid);
        if blocking.is_empty() {
            return update_finalizers(api, &node.identity.name, FOREGROUND).await;
        }
        for dep in blocking {
            if self.node(&dep).is_some_and(|n| !n.deleting_dependents) {
                self.delete_queue.add(dep);
            }
        }
        Ok(())
    }

    /// Upstream `attemptToOrphanWorker`: drop the owner from every dependent, then the
    /// orphan finalizer from the owner.
    async fn attempt_to_orphan(&self, uid: &str) -> Result<()> {
        let Some(owner) = self.node(uid) else { return Ok(()) };
        let dependents: Vec<Node> = owner.dependents.iter().filter_map(|d| self.node(d)).collect();
        let results = futures::future::join_all(dependents.iter().map(|dep| async move {
            let r = self.resource_for(&dep.identity.api_version, &dep.identity.kind)?;
            let api = self.api_for(&r, &dep.identity.namespace);
            update_owner_refs(&api, &dep.identity.name, |refs| remove_refs(refs, &[uid.to_string()])).await
        }))
        .await;
        crate::errors::aggregate(results.into_iter().filter_map(|r| r.err()).collect())?;
        let r = self.resource_for(&owner.identity.api_version, &owner.identity.kind)?;
        update_finalizers(&self.api_for(&r, &owner.identity.namespace), &owner.identity.name, ORPHAN).await
    }
}

fn remove_refs(refs: &mut Vec<OwnerReference>, uids: &[String]) -> bool {
    let before = refs.len();
    refs.retain(|r| !uids.contains(&r.uid));
    refs.len() != before
}

fn unblock_refs(refs: &mut [OwnerReference]) -> bool {
    let mut changed = false;
    for r in refs.iter_mut().filter(|r| r.block_owner_deletion == Some(true)) {
        r.block_owner_deletion = Some(false);
        changed = true;
    }
    changed
}

async fn delete_object(api: &Api<DynamicObject>, id: &Identity, policy: PropagationPolicy) -> Result<()> {
    let dp = DeleteParams { propagation_policy: Some(policy), preconditions: Some(Preconditions { uid: Some(id.uid.clone()), resource_version: None }), ..Default::default() };
    match api.delete(&id.name, &dp).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = Error::from(e);
            if e.is_not_found() || e.is_conflict() {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

/// Applies `edit` to the object's ownerReferences with a merge patch guarded by its
/// resourceVersion, retrying on conflict; a missing object is fine.
async fn update_owner_refs(api: &Api<DynamicObject>, name: &str, edit: impl Fn(&mut Vec<OwnerReference>) -> bool) -> Result<()> {
    for _ in 0..5 {
        let Some(latest) = api.get_metadata_opt(name).await? else { return Ok(()) };
        let mut refs = latest.metadata.owner_references.clone().unwrap_or_default();
        if !edit(&mut refs) {
            return Ok(());
        }
        let value = if refs.is_empty() { Value::Null } else { json!(refs) };
        let patch = json!({"metadata": {"ownerReferences": value, "resourceVersion": latest.metadata.resource_version}});
        match patch_merge(api, name, patch).await {
            Err(e) if e.is_conflict() => continue,
            other => return other,
        }
    }
    Err(Error::Retry(format!("updating owner references of {name}: too many conflicts")))
}

/// Removes `finalizer` from the object (upstream `removeFinalizer`), retrying on conflict.
async fn update_finalizers(api: &Api<DynamicObject>, name: &str, finalizer: &str) -> Result<()> {
    for _ in 0..5 {
        let Some(latest) = api.get_metadata_opt(name).await? else { return Ok(()) };
        let mut finalizers = latest.metadata.finalizers.clone().unwrap_or_default();
        if !finalizers.iter().any(|f| f == finalizer) {
            return Ok(());
        }
        finalizers.retain(|f| f != finalizer);
        let value = if finalizers.is_empty() { Value::Null } else { json!(finalizers) };
        let patch = json!({"metadata": {"finalizers": value, "resourceVersion": latest.metadata.resource_version}});
        match patch_merge(api, name, patch).await {
            Err(e) if e.is_conflict() => continue,
            other => return other,
        }
    }
    Err(Error::Retry(format!("removing finalizer {finalizer} from {name}: too many conflicts")))
}

async fn patch_merge(api: &Api<DynamicObject>, name: &str, patch: Value) -> Result<()> {
    match api.patch(name, &PatchParams::default(), &Patch::Merge(patch)).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = Error::from(e);
            if e.is_not_found() {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}
