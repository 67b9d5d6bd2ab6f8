//! The watch cache (upstream's cacher): storage is watched ONCE per resource type, each
//! change is decoded once, kept in a window of recent events, and fanned out in memory to
//! every API watch of that type. A watch from a revision older than the window falls back
//! to a storage watch of its own.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use futures::StreamExt;
use serde_json::Value;
use tokio::sync::broadcast;

use super::decode;
use crate::storage::{DynStorage, EventKind, Revision};

/// How many recent events each cacher keeps for watches resuming from the recent past.
const WINDOW: usize = 4096;
/// How far a slow watcher may fall behind before its watch is closed (it resumes).
const FANOUT_CAPACITY: usize = 4096;

/// One decoded change, shared by every watcher.
#[derive(Debug)]
pub struct CachedEvent {
    /// What happened.
    pub kind: EventKind,
    /// The revision of the change.
    pub revision: Revision,
    /// The object after the change (for a deletion: its last state), resourceVersion set.
    pub object: Value,
    /// The object before the change.
    pub prev: Option<Value>,
}

/// The cacher of one key prefix (one resource type).
struct Cacher {
    /// Recent events, oldest first, and the revision the cacher started after.
    window: RwLock<Window>,
    fanout: broadcast::Sender<Arc<CachedEvent>>,
}

struct Window {
    events: VecDeque<Arc<CachedEvent>>,
    /// Every change after this revision is in `events` or was evicted from its front.
    started_after: Revision,
    /// The revision of the last evicted event (watches from before it cannot be served).
    evicted_up_to: Revision,
}

/// A subscription: the events to replay, then the live receiver.
pub struct Subscription {
    /// Events after the requested revision that had already happened.
    pub replay: Vec<Arc<CachedEvent>>,
    /// Live events (may repeat replayed ones; skip revisions already seen).
    pub live: broadcast::Receiver<Arc<CachedEvent>>,
}

/// All cachers of the server, created on first use.
pub struct Cachers {
    storage: DynStorage,
    by_prefix: Mutex<HashMap<String, Arc<Cacher>>>,
}

impl Cachers {
    /// No cachers yet; each starts with the first watch of its prefix.
    pub fn new(storage: DynStorage) -> Self {
        Cachers { storage, by_prefix: Mutex::new(HashMap::new()) }
    }

    /// Subscribes to changes under `prefix` after revision `from`, or `None` when `from` is
    /// older than the cache window (the caller then watches storage directly).
    pub async fn subscribe(&self, prefix: &str, from: Revision) -> Option<Subscription> {
        let cacher = self.cacher(prefix).await?;
        let window = cacher.window.read().ok()?;
        if from < window.started_after || from < window.evicted_up_to {
            return None;
        }
        let live = cacher.fanout.subscribe();
        let replay = window.events.iter().filter(|e| e.revision > from).cloned().collect();
        Some(Subscription { replay, live })
    }

    async fn cacher(&self, prefix: &str) -> Option<Arc<Cacher>> {
        if let Some(c) = self.by_prefix.lock().ok()?.get(prefix) {
            return Some(c.clone());
        }
        let start = self.storage.current_revision().await.ok()?;
        let events = self.storage.watch(prefix, start).await.ok()?;
        let mut map = self.by_prefix.lock().ok()?;
        if let Some(c) = map.get(prefix) {
            return Some(c.clone());
        }
        let (fanout, _) = broadcast::channel(FANOUT_CAPACITY);
        let cacher = Arc::new(Cacher {
            window: RwLock::new(Window { events: VecDeque::new(), started_after: start, evicted_up_to: 0 }),
            fanout,
        });
        map.insert(prefix.to_string(), cacher.clone());
        tokio::spawn(feed(cacher.clone(), events, self.storage.clone(), prefix.to_string()));
        Some(cacher)
    }
}

/// Decodes storage events into the window and out to the watchers; if the storage watch
/// ends, starts again from the last revision seen.
async fn feed(cacher: Arc<Cacher>, mut events: crate::storage::WatchStream, storage: DynStorage, prefix: String) {
    let mut last = cacher.window.read().map(|w| w.started_after).unwrap_or(0);
    loop {
        while let Some(Ok(ev)) = events.next().await {
            let Ok(object) = decode(&ev.kv) else { continue };
            let prev = ev.prev.as_ref().and_then(|p| decode(p).ok());
            last = ev.kv.mod_revision;
            let cached = Arc::new(CachedEvent { kind: ev.kind, revision: last, object, prev });
            let Ok(mut window) = cacher.window.write() else { return };
            window.events.push_back(cached.clone());
            if window.events.len() > WINDOW {
                if let Some(old) = window.events.pop_front() {
                    window.evicted_up_to = old.revision;
                }
            }
            // Sent under the window lock: a subscriber sees each event in the replay or live.
            let _ = cacher.fanout.send(cached);
        }
        tracing::warn!(prefix, revision = last, "watch-cache feed ended; restarting");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        match storage.watch(&prefix, last).await {
            Ok(s) => events = s,
            Err(e) => {
                // History is gone: watches older than now must go to storage (and get 410).
                tracing::warn!(prefix, error = %e, "watch-cache cannot resume; resetting its window");
                let Ok(now) = storage.current_revision().await else { continue };
                if let Ok(mut w) = cacher.window.write() {
                    w.events.clear();
                    w.started_after = now;
                    w.evicted_up_to = now;
                }
                last = now;
                if let Ok(s) = storage.watch(&prefix, now).await {
                    events = s;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sled_store::SledStore;

    #[tokio::test]
    async fn replays_recent_events_and_fans_out_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let storage: DynStorage = Arc::new(SledStore::open(dir.path()).unwrap());
        let cachers = Cachers::new(storage.clone());
        let start = storage.current_revision().await.unwrap();
        let first = cachers.subscribe("/p/", start).await.unwrap();
        assert!(first.replay.is_empty());
        let a = storage.create("/p/a", b"{\"metadata\":{\"name\":\"a\"}}".to_vec()).await.unwrap();
        let mut live = first.live;
        let ev = tokio::time::timeout(std::time::Duration::from_secs(5), live.recv()).await.unwrap().unwrap();
        assert_eq!((ev.kind, ev.revision), (EventKind::Created, a.mod_revision));
        assert_eq!(ev.object["metadata"]["resourceVersion"], a.mod_revision.to_string());
        // A later watch from before `a` replays it from the window.
        let second = cachers.subscribe("/p/", start).await.unwrap();
        assert_eq!(second.replay.len(), 1);
        // A watch from before the cacher started is not served from memory.
        assert!(cachers.subscribe("/p/", start.saturating_sub(1)).await.is_none() || start == 0);
    }
}
