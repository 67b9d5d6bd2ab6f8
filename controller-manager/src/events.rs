//! Recording core/v1 Events, as upstream's `record.EventRecorder`: an event names the object
//! it is about, a type (Normal/Warning), a reason and a message, and comes from a component
//! (e.g. `deployment-controller`). Recording never blocks a controller: a background task
//! writes events, and a repeat of the same event within ten minutes bumps the first one's
//! `count` and `lastTimestamp` instead of creating another (upstream's correlator).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Resource;
use serde_json::json;

/// `Normal` event type.
pub const NORMAL: &str = "Normal";
/// `Warning` event type.
pub const WARNING: &str = "Warning";

/// How long a repeated event keeps being aggregated into the first one.
const AGGREGATION_WINDOW: Duration = Duration::from_secs(600);
/// Events written at once.
const WRITERS: usize = 8;

struct Record {
    component: String,
    involved: ObjectReference,
    type_: String,
    reason: String,
    message: String,
}

/// The object reference of `obj` for an event's involvedObject.
pub fn reference<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectReference {
    let m = obj.meta();
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        uid: m.uid.clone(),
        resource_version: m.resource_version.clone(),
        ..Default::default()
    }
}

/// Writes the events of every recorder made from it.
#[derive(Clone)]
pub struct Broadcaster {
    tx: mpsc::UnboundedSender<Record>,
}

/// Records events for one component.
#[derive(Clone)]
pub struct Recorder {
    component: String,
    tx: mpsc::UnboundedSender<Record>,
}

impl Broadcaster {
    /// Starts the background writer.
    pub fn start(client: kube::Client) -> Self {
        let (tx, rx) = mpsc::unbounded::<Record>();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_string();
        let seen: Seen = Arc::default();
        tokio::spawn(rx.for_each_concurrent(WRITERS, move |rec| write(client.clone(), host.clone(), seen.clone(), rec)));
        Broadcaster { tx }
    }

    /// A recorder whose events come from `component`.
    pub fn recorder(&self, component: &str) -> Recorder {
        Recorder { component: component.into(), tx: self.tx.clone() }
    }
}

impl Recorder {
    /// Records an event about `obj`.
    pub fn event(&self, obj: &ObjectReference, type_: &str, reason: &str, message: impl Into<String>) {
        let rec = Record { component: self.component.clone(), involved: obj.clone(), type_: type_.into(), reason: reason.into(), message: message.into() };
        let _ = self.tx.unbounded_send(rec);
    }

    /// Records a Normal event.
    pub fn normal(&self, obj: &ObjectReference, reason: &str, message: impl Into<String>) {
        self.event(obj, NORMAL, reason, message);
    }

    /// Records a Warning event.
    pub fn warning(&self, obj: &ObjectReference, reason: &str, message: impl Into<String>) {
        self.event(obj, WARNING, reason, message);
    }
}

fn now() -> Time {
    Time(Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH))
}

fn aggregation_key(rec: &Record) -> String {
    let o = &rec.involved;
    format!("{}\x00{:?}\x00{:?}\x00{}\x00{}\x00{}", rec.component, o.uid, o.name, rec.type_, rec.reason, rec.message)
}

type Seen = Arc<Mutex<HashMap<String, (String, String, i32, Instant)>>>;

async fn write(client: kube::Client, host: String, seen: Seen, rec: Record) {
    let namespace = rec.involved.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
    let key = aggregation_key(&rec);
    let previous = {
        let mut map = seen.lock().expect("events lock");
        if map.len() > 4096 {
            map.retain(|_, v| v.3.elapsed() < AGGREGATION_WINDOW);
            if map.len() > 2048 {
                map.clear();
            }
        }
        map.get(&key).filter(|v| v.3.elapsed() < AGGREGATION_WINDOW).cloned()
    };
    if let Some((name, ns, count, _)) = previous {
        let patch = json!({"count": count + 1, "lastTimestamp": now()});
        let api: Api<Event> = Api::namespaced(client.clone(), &ns);
        if api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await.is_ok() {
            if let Some(v) = seen.lock().expect("events lock").get_mut(&key) {
                v.2 = count + 1;
            }
            return;
        }
    }
    create(client, namespace, host, seen, key, rec).await
}

async fn create(client: kube::Client, namespace: String, host: String, seen: Seen, key: String, rec: Record) {
    let t = now();
    let nanos = Timestamp::now().as_nanosecond();
    let name = format!("{}.{:x}", rec.involved.name.clone().unwrap_or_default(), nanos);
    let ev = Event {
        metadata: ObjectMeta { name: Some(name.clone()), namespace: Some(namespace.clone()), ..Default::default() },
        involved_object: rec.involved,
        reason: Some(rec.reason),
        message: Some(rec.message),
        type_: Some(rec.type_),
        source: Some(EventSource { component: Some(rec.component.clone()), host: Some(host.clone()).filter(|h| !h.is_empty()) }),
        first_timestamp: Some(t.clone()),
        last_timestamp: Some(t),
        count: Some(1),
        reporting_component: Some(rec.component),
        reporting_instance: Some(host),
        ..Default::default()
    };
    let api: Api<Event> = Api::namespaced(client, &namespace);
    match api.create(&PostParams::default(), &ev).await {
        Ok(_) => {
            seen.lock().expect("events lock").insert(key, (name, namespace, 1, Instant::now()));
        }
        Err(e) => tracing::debug!(error = %e, "could not record event"),
    }
}
