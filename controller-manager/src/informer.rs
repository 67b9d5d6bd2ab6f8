//! Shared informers, as upstream's `SharedInformerFactory`: one watch and one cache per
//! resource type for the whole process, with event handlers that see every add, update and
//! delete (including the ones a relist discovers) and an index of objects by their
//! controller.
//!
//! kube-runtime's reflector keeps the cache; handlers run synchronously on the informer's
//! task right after the cache changed, so they must be quick (they enqueue keys).

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, Mutex, RwLock};

use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};
use kube::api::Api;
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{Lookup, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Resource;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::controller_ref::controller_of;

/// One change seen by an informer, handed to every handler.
pub enum Change<K> {
    /// The object appeared (first seen).
    Added(Arc<K>),
    /// The object changed; `old` is the previously cached version.
    Updated {
        /// The previous version.
        old: Arc<K>,
        /// The new version.
        new: Arc<K>,
    },
    /// The object is gone; this is its last known state.
    Deleted(Arc<K>),
}

/// An event handler: called on the informer task, must not block.
pub type Handler<K> = Box<dyn Fn(&Change<K>) + Send + Sync>;

/// The index key of objects without a controller in a namespace.
fn orphan_key(namespace: &str) -> String {
    format!("\u{0}orphan/{namespace}")
}

/// The value an object has in the controller index: its controller's UID, or the orphan key
/// of its namespace.
fn controller_index_value<K: Resource>(obj: &K) -> String {
    match controller_of(obj.meta()) {
        Some(r) => r.uid.clone(),
        None => orphan_key(obj.meta().namespace.as_deref().unwrap_or("")),
    }
}

/// A cache of one resource type kept current by a watch, with handlers and a controller index.
pub struct Informer<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Clone + Eq + Hash,
{
    name: String,
    dyntype: K::DynamicType,
    reader: Store<K>,
    writer: Mutex<Option<Writer<K>>>,
    handlers: RwLock<Vec<Handler<K>>>,
    by_controller: RwLock<HashMap<String, HashSet<ObjectRef<K>>>>,
}

impl<K> Informer<K>
where
    K: Resource + Clone + Debug + Send + Sync + 'static,
    K::DynamicType: Clone + Eq + Hash + Send + Sync,
{
    /// A new, not yet running informer; `name` is used in logs.
    pub fn new(name: impl Into<String>, dyntype: K::DynamicType) -> Arc<Self> {
        let writer = Writer::new(dyntype.clone());
        Arc::new(Informer {
            name: name.into(),
            dyntype,
            reader: writer.as_reader(),
            writer: Mutex::new(Some(writer)),
            handlers: RwLock::new(Vec::new()),
            by_controller: RwLock::new(HashMap::new()),
        })
    }

    /// The cache (a lister).
    pub fn store(&self) -> Store<K> {
        self.reader.clone()
    }

    /// Adds a handler. A handler added while the informer runs first sees every cached
    /// object as added, like upstream's late `AddEventHandler`.
    pub fn add_handler(&self, handler: impl Fn(&Change<K>) + Send + Sync + 'static) {
        let mut handlers = self.handlers.write().expect("handlers lock");
        for obj in self.reader.state() {
            handler(&Change::Added(obj));
        }
        handlers.push(Box::new(handler));
    }

    /// The cached object with this namespace and name.
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        let mut r = ObjectRef::new_with(name, self.dyntype.clone());
        r.namespace = namespace.map(str::to_string);
        self.reader.get(&r)
    }

    /// Cached objects whose controller (ownerReference with controller=true) has this UID.
    pub fn controlled_by(&self, uid: &str) -> Vec<Arc<K>> {
        self.by_index(uid)
    }

    /// Cached objects in `namespace` that have no controller.
    pub fn orphans_in(&self, namespace: &str) -> Vec<Arc<K>> {
        self.by_index(&orphan_key(namespace))
    }

    fn by_index(&self, value: &str) -> Vec<Arc<K>> {
        let index = self.by_controller.read().expect("index lock");
        index.get(value).map(|refs| refs.iter().filter_map(|r| self.reader.get(r)).collect()).unwrap_or_default()
    }

    /// Waits until the first list has been cached.
    pub async fn wait_synced(&self) {
        let _ = self.reader.wait_until_ready().await;
    }

    /// Whether the first list has been cached.
    pub fn has_synced(&self) -> bool {
        self.wait_synced().now_or_never().is_some()
    }

    /// Feeds the cache from a watcher stream until it ends or `stop` is cancelled.
    pub async fn run<S>(self: Arc<Self>, stream: S, stop: CancellationToken)
    where
        S: Stream<Item = watcher::Result<Event<K>>> + Send,
    {
        let Some(mut writer) = self.writer.lock().expect("writer lock").take() else {
            tracing::warn!(informer = %self.name, "informer already running");
            return;
        };
        let mut stream = std::pin::pin!(stream);
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => return,
                next = stream.next() => next,
            };
            match next {
                Some(Ok(event)) => self.apply(&mut writer, event),
                Some(Err(e)) => tracing::warn!(informer = %self.name, error = %e, "watch failed, retrying"),
                None => return,
            }
        }
    }

    fn apply(&self, writer: &mut Writer<K>, event: Event<K>) {
        let handlers = self.handlers.read().expect("handlers lock");
        let dispatch = |change: Change<K>| handlers.iter().for_each(|h| h(&change));
        match &event {
            Event::Apply(obj) => {
                let key = obj.to_object_ref(self.dyntype.clone());
                let old = self.reader.get(&key);
                writer.apply_watcher_event(&event);
                let Some(new) = self.reader.get(&key) else { return };
                self.reindex(&key, old.as_deref(), Some(&new));
                match old {
                    Some(old) if old.meta().resource_version == new.meta().resource_version => {}
                    Some(old) => dispatch(Change::Updated { old, new }),
                    None => dispatch(Change::Added(new)),
                }
            }
            Event::Delete(obj) => {
                let key = obj.to_object_ref(self.dyntype.clone());
                let old = self.reader.get(&key);
                writer.apply_watcher_event(&event);
                self.reindex(&key, old.as_deref(), None);
                dispatch(Change::Deleted(Arc::new(obj.clone())));
            }
            Event::Init | Event::InitApply(_) => writer.apply_watcher_event(&event),
            Event::InitDone => {
                let mut before: HashMap<ObjectRef<K>, Arc<K>> =
                    self.reader.state().into_iter().map(|o| (o.to_object_ref(self.dyntype.clone()), o)).collect();
                writer.apply_watcher_event(&event);
                let after = self.reader.state();
                self.rebuild_index(&after);
                for new in after {
                    match before.remove(&new.to_object_ref(self.dyntype.clone())) {
                        Some(old) if old.meta().resource_version == new.meta().resource_version => {}
                        Some(old) => dispatch(Change::Updated { old, new }),
                        None => dispatch(Change::Added(new)),
                    }
                }
                for (_, gone) in before {
                    dispatch(Change::Deleted(gone));
                }
                tracing::debug!(informer = %self.name, objects = self.reader.len(), "informer (re)listed");
            }
        }
    }

    fn reindex(&self, key: &ObjectRef<K>, old: Option<&K>, new: Option<&K>) {
        let mut index = self.by_controller.write().expect("index lock");
        if let Some(old) = old {
            let value = controller_index_value(old);
            if let Some(set) = index.get_mut(&value) {
                set.remove(key);
                if set.is_empty() {
                    index.remove(&value);
                }
            }
        }
        if let Some(new) = new {
            index.entry(controller_index_value(new)).or_default().insert(key.clone());
        }
    }

    fn rebuild_index(&self, objects: &[Arc<K>]) {
        let mut index: HashMap<String, HashSet<ObjectRef<K>>> = HashMap::new();
        for o in objects {
            index.entry(controller_index_value(o.as_ref())).or_default().insert(o.to_object_ref(self.dyntype.clone()));
        }
        *self.by_controller.write().expect("index lock") = index;
    }
}

/// Drops managedFields before caching, as upstream's controller-manager informers do: they
/// are large and no controller reads them (an update without them keeps the stored ones).
pub fn trim_managed_fields<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
}

/// What the factory needs from an informer of any type.
trait AnyInformer: Send + Sync {
    fn start(&self, client: kube::Client, stop: CancellationToken);
    fn synced(&self) -> BoxFuture<'static, ()>;
    fn as_any(&self) -> Arc<dyn Any + Send + Sync>;
}

struct Typed<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Clone + Eq + Hash,
{
    informer: Arc<Informer<K>>,
    started: Mutex<bool>,
}

impl<K> AnyInformer for Typed<K>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    fn start(&self, client: kube::Client, stop: CancellationToken) {
        let mut started = self.started.lock().expect("started lock");
        if *started {
            return;
        }
        *started = true;
        let api: Api<K> = Api::all(client);
        let stream = watcher::watcher(api, watcher::Config::default()).default_backoff().modify(trim_managed_fields);
        tokio::spawn(self.informer.clone().run(stream, stop));
    }

    fn synced(&self) -> BoxFuture<'static, ()> {
        let informer = self.informer.clone();
        async move { informer.wait_synced().await }.boxed()
    }

    fn as_any(&self) -> Arc<dyn Any + Send + Sync> {
        self.informer.clone()
    }
}

/// One informer per resource type, created on first request and started together.
#[derive(Clone)]
pub struct InformerFactory {
    client: kube::Client,
    stop: CancellationToken,
    informers: Arc<Mutex<HashMap<TypeId, Arc<dyn AnyInformer>>>>,
}

impl InformerFactory {
    /// A factory whose informers stop when `stop` is cancelled.
    pub fn new(client: kube::Client, stop: CancellationToken) -> Self {
        InformerFactory { client, stop, informers: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// The shared informer of `K` (created, not started, on first call).
    pub fn informer<K>(&self) -> Arc<Informer<K>>
    where
        K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    {
        let mut map = self.informers.lock().expect("informers lock");
        let entry = map.entry(TypeId::of::<K>()).or_insert_with(|| {
            let name = format!("{}/{}", K::api_version(&()), K::plural(&()));
            Arc::new(Typed::<K> { informer: Informer::new(name, ()), started: Mutex::new(false) })
        });
        entry.as_any().downcast::<Informer<K>>().expect("informer type")
    }

    /// Starts every informer created so far (again-safe).
    pub fn start(&self) {
        for inf in self.informers.lock().expect("informers lock").values() {
            inf.start(self.client.clone(), self.stop.clone());
        }
    }

    /// Waits until every informer created so far has listed once.
    pub async fn wait_for_sync(&self) {
        let waits: Vec<_> = self.informers.lock().expect("informers lock").values().map(|i| i.synced()).collect();
        futures::future::join_all(waits).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

    fn pod(name: &str, rv: &str, owner: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                resource_version: Some(rv.into()),
                owner_references: owner.map(|uid| {
                    vec![OwnerReference { uid: uid.into(), controller: Some(true), name: "rs".into(), kind: "ReplicaSet".into(), api_version: "apps/v1".into(), ..Default::default() }]
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn recorder(inf: &Informer<Pod>) -> Arc<Mutex<Vec<String>>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        inf.add_handler(move |c| {
            let line = match c {
                Change::Added(p) => format!("add {}", p.metadata.name.clone().unwrap_or_default()),
                Change::Updated { new, .. } => format!("update {}", new.metadata.name.clone().unwrap_or_default()),
                Change::Deleted(p) => format!("delete {}", p.metadata.name.clone().unwrap_or_default()),
            };
            s.lock().unwrap().push(line);
        });
        seen
    }

    #[test]
    fn events_and_relist_diff_reach_handlers_and_index() {
        let inf = Informer::<Pod>::new("pods", ());
        let seen = recorder(&inf);
        let mut w = inf.writer.lock().unwrap().take().unwrap();
        inf.apply(&mut w, Event::Init);
        inf.apply(&mut w, Event::InitApply(pod("a", "1", Some("u1"))));
        inf.apply(&mut w, Event::InitApply(pod("b", "1", None)));
        inf.apply(&mut w, Event::InitDone);
        assert!(inf.has_synced());
        inf.apply(&mut w, Event::Apply(pod("a", "2", None)));
        inf.apply(&mut w, Event::Apply(pod("a", "2", None)));
        assert_eq!(inf.orphans_in("ns").len(), 2);
        assert!(inf.controlled_by("u1").is_empty());
        inf.apply(&mut w, Event::Init);
        inf.apply(&mut w, Event::InitApply(pod("b", "3", Some("u2"))));
        inf.apply(&mut w, Event::InitDone);
        assert_eq!(inf.controlled_by("u2").len(), 1);
        inf.apply(&mut w, Event::Delete(pod("b", "4", Some("u2"))));
        assert!(inf.controlled_by("u2").is_empty());
        let mut seen = seen.lock().unwrap().clone();
        seen[..2].sort();
        assert_eq!(seen, ["add a", "add b", "update a", "update b", "delete a", "delete b"]);
    }
}
