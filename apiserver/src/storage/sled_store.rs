//! A single-node [`Storage`] backend on sled, with MVCC history, an event log and one global,
//! persisted revision.
//!
//! Everything lives in ONE sled tree, so that a write (value, history, event, revision) is a
//! single atomic `Batch`. Keys are namespaced by a two-byte prefix:
//!
//! | key                      | value                                              |
//! |--------------------------|----------------------------------------------------|
//! | `k/<key>`                | current version: create rev, mod rev, bytes        |
//! | `h/<key>\0<rev BE>`      | history: a version (create rev, bytes) or tombstone |
//! | `e/<rev BE>`             | event log: the [`WatchEvent`] written at `rev`     |
//! | `m/rev`, `m/compacted`   | the current and the compacted revision             |
//!
//! Every revision carries exactly one event, so the event log is contiguous; watchers rely on
//! that to detect missed broadcasts and re-read them from the log. Because history keys
//! separate the user key from the revision with a NUL byte, user keys must not contain NUL.
//!
//! Concurrency: writers are serialized by one lock, held through the batch, the flush and the
//! broadcast, so a write returns only once durable and watchers see revisions in order (about
//! one fsync per write). Lists of the latest state scan `k/` under the same lock; lists at an
//! older revision scan the history without it. The revision starts at 1 like etcd's, so that
//! the first write can be replayed by a watch (`from = 0` means "now").
//!
//! Known limits: a `get` racing a write may return it a moment before its flush completes;
//! compaction scans the whole history.

use std::collections::VecDeque;
use std::fmt::Display;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use sled::{Batch, IVec, Tree};
use tokio::sync::{broadcast, Mutex};

use super::{
    EventKind, KeyValue, ListOptions, ListResult, Revision, Storage, StorageError, WatchEvent,
    WatchStream,
};

/// The revision of an empty store. Like etcd, start at 1: `from = 0` means "now" to a watch,
/// so the first write must come after a revision a client can name.
const INITIAL_REVISION: Revision = 1;
/// Namespace of current values.
const CURRENT: &[u8] = b"k/";
/// Namespace of the per-key version history.
const HISTORY: &[u8] = b"h/";
/// Namespace of the event log.
const EVENTS: &[u8] = b"e/";
/// The latest written revision.
const META_REV: &[u8] = b"m/rev";
/// The latest compaction point.
const META_COMPACTED: &[u8] = b"m/compacted";
/// Default capacity of the live event channel; a watcher that falls further behind re-reads
/// the event log instead.
const DEFAULT_WATCH_CAPACITY: usize = 1024;
/// How many log entries a lagging watcher reads at once.
const LOG_CHUNK: u64 = 256;
/// How many keys compaction removes per batch.
const COMPACT_BATCH: usize = 1024;

/// The sled-backed store. Cheap to share behind an `Arc`; all methods take `&self`.
///
/// The database stays open (and locked on disk) until the store and every watch stream it
/// returned are dropped.
pub struct SledStore {
    inner: Arc<Inner>,
}

/// State shared by the store handle, the write tasks and the watch streams.
struct Inner {
    tree: Tree,
    /// Serializes writers; holds the latest applied revision.
    writer: Arc<Mutex<Revision>>,
    /// Serializes compactions (which do not need to stop writers).
    compactor: Mutex<()>,
    /// Latest revision that is durable and announced to watchers.
    published: Arc<AtomicU64>,
    /// The same revision, for waiting on it.
    published_rx: tokio::sync::watch::Receiver<Revision>,
    /// Applied writes waiting for the group flush, in revision order.
    flush_queue: std::sync::mpsc::Sender<PendingWrite>,
    /// The flusher thread, joined on drop so the database is closed when the store is.
    flusher: Option<std::thread::JoinHandle<()>>,
    /// Latest compaction point.
    compacted: AtomicU64,
    /// Live events, in revision order.
    events: broadcast::Sender<Arc<WatchEvent>>,
    /// Kept so the database outlives every tree handle.
    _db: sled::Db,
}

impl SledStore {
    /// Opens (or creates) a store in the directory `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        Self::open_with_watch_capacity(path, DEFAULT_WATCH_CAPACITY)
    }

    /// Opens a store whose live watch channel buffers `capacity` events; watchers that fall
    /// further behind catch up from the on-disk event log (useful to test that path).
    pub fn open_with_watch_capacity(path: &Path, capacity: usize) -> Result<Self, StorageError> {
        // sled caches 1 GiB by default; the apiserver keeps its own hot objects small.
        let db = sled::Config::new().path(path).cache_capacity(64 * 1024 * 1024).open().map_err(backend)?;
        let tree = db.open_tree("rkube").map_err(backend)?;
        let rev = read_meta(&tree, META_REV)?.max(INITIAL_REVISION);
        let compacted = read_meta(&tree, META_COMPACTED)?;
        let (events, _) = broadcast::channel(capacity.max(1));
        let published = Arc::new(AtomicU64::new(rev));
        let (published_tx, published_rx) = tokio::sync::watch::channel(rev);
        let (flush_queue, flusher) = Flusher {
            tree: tree.clone(),
            published: published.clone(),
            published_tx,
            events: events.clone(),
        }
        .start();
        let inner = Inner {
            tree,
            writer: Arc::new(Mutex::new(rev)),
            compactor: Mutex::new(()),
            published,
            published_rx,
            flush_queue,
            flusher: Some(flusher),
            compacted: AtomicU64::new(compacted),
            events,
            _db: db,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Runs a write on its own task: if the caller's future is dropped mid-way (say, an HTTP
    /// client went away), the write still completes, is flushed and is announced, so the
    /// applied, durable and published revisions never disagree.
    async fn spawn_write<F, Fut>(&self, write: F) -> Result<KeyValue, StorageError>
    where
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: std::future::Future<Output = Result<KeyValue, StorageError>> + Send + 'static,
    {
        tokio::spawn(write(self.inner.clone()))
            .await
            .map_err(backend)?
    }
}

#[async_trait]
impl Storage for SledStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StorageError> {
        self.inner.get_current(key)
    }

    async fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult, StorageError> {
        self.inner.list(prefix, opts).await
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StorageError> {
        check_key(key)?;
        let key = key.to_owned();
        self.spawn_write(|inner| async move { inner.create(key, value).await })
            .await
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
    ) -> Result<KeyValue, StorageError> {
        let key = key.to_owned();
        self.spawn_write(move |inner| async move { inner.update(key, value, expected).await })
            .await
    }

    async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> Result<KeyValue, StorageError> {
        let key = key.to_owned();
        self.spawn_write(move |inner| async move { inner.delete(key, expected).await })
            .await
    }

    async fn watch(&self, prefix: &str, from: Revision) -> Result<WatchStream, StorageError> {
        let watcher = Watcher::start(self.inner.clone(), prefix, from)?;
        Ok(watcher.into_stream())
    }

    async fn compact(&self, revision: Revision) -> Result<(), StorageError> {
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.compact(revision).await })
            .await
            .map_err(backend)?
    }

    async fn current_revision(&self) -> Result<Revision, StorageError> {
        Ok(self.inner.published())
    }
}

// ---------------------------------------------------------------------------------------------
// Writes.

impl Inner {
    fn published(&self) -> Revision {
        self.published.load(Ordering::SeqCst)
    }

    fn compacted(&self) -> Revision {
        self.compacted.load(Ordering::SeqCst)
    }

    async fn create(&self, key: String, value: Vec<u8>) -> Result<KeyValue, StorageError> {
        let mut rev = self.writer.lock().await;
        if self.get_current(&key)?.is_some() {
            return Err(StorageError::AlreadyExists(key));
        }
        let next = *rev + 1;
        let kv = KeyValue {
            key,
            value,
            create_revision: next,
            mod_revision: next,
        };
        let event = WatchEvent {
            kind: EventKind::Created,
            kv,
            prev: None,
        };
        let done = self.commit(&mut rev, event)?;
        drop(rev);
        done.await.map_err(|_| StorageError::Backend("the flusher has stopped".into()))?
    }

    async fn update(
        &self,
        key: String,
        value: Vec<u8>,
        expected: Revision,
    ) -> Result<KeyValue, StorageError> {
        let mut rev = self.writer.lock().await;
        let prev = self.guarded_current(&key, Some(expected))?;
        let kv = KeyValue {
            key,
            value,
            create_revision: prev.create_revision,
            mod_revision: *rev + 1,
        };
        let event = WatchEvent {
            kind: EventKind::Modified,
            kv,
            prev: Some(prev),
        };
        let done = self.commit(&mut rev, event)?;
        drop(rev);
        done.await.map_err(|_| StorageError::Backend("the flusher has stopped".into()))?
    }

    async fn delete(
        &self,
        key: String,
        expected: Option<Revision>,
    ) -> Result<KeyValue, StorageError> {
        let mut rev = self.writer.lock().await;
        let prev = self.guarded_current(&key, expected)?;
        let kv = KeyValue {
            mod_revision: *rev + 1,
            ..prev.clone()
        };
        let event = WatchEvent {
            kind: EventKind::Deleted,
            kv,
            prev: Some(prev),
        };
        let done = self.commit(&mut rev, event)?;
        drop(rev);
        done.await.map_err(|_| StorageError::Backend("the flusher has stopped".into()))?
    }

    /// Reads the current version of `key` and checks it against the caller's expectation.
    fn guarded_current(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> Result<KeyValue, StorageError> {
        let current = self
            .get_current(key)?
            .ok_or_else(|| StorageError::NotFound(key.to_owned()))?;
        match expected {
            Some(expected) if expected != current.mod_revision => Err(StorageError::Conflict {
                key: key.to_owned(),
                expected,
                actual: current.mod_revision,
            }),
            _ => Ok(current),
        }
    }

    /// Writes `event` (whose `kv.mod_revision` is `*rev + 1`) atomically and queues it for
    /// the group flush. Must be called with the writer lock held (`rev` is its guarded
    /// value); the returned future resolves once the write is durable and announced.
    fn commit(
        &self,
        rev: &mut Revision,
        event: WatchEvent,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<KeyValue, StorageError>>, StorageError> {
        let next = event.kv.mod_revision;
        debug_assert_eq!(next, *rev + 1);
        self.tree
            .apply_batch(write_batch(&event))
            .map_err(backend)?;
        // The batch is applied and visible to readers: the revision is taken even if the flush
        // fails, so that it is never reused for different content.
        *rev = next;
        let (reply, done) = tokio::sync::oneshot::channel();
        self.flush_queue
            .send(PendingWrite { event, reply })
            .map_err(|_| StorageError::Backend("the flusher has stopped".into()))?;
        Ok(done)
    }

    /// Waits until every applied write up to `rev` is durable and announced.
    async fn wait_published(&self, rev: Revision) {
        let mut rx = self.published_rx.clone();
        let _ = rx.wait_for(|p| *p >= rev).await;
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue ends the flusher, which holds a handle on the database.
        let (closed, _) = std::sync::mpsc::channel();
        drop(std::mem::replace(&mut self.flush_queue, closed));
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
    }
}

/// An applied write waiting for its flush.
struct PendingWrite {
    event: WatchEvent,
    reply: tokio::sync::oneshot::Sender<Result<KeyValue, StorageError>>,
}

/// Group commit: one thread flushes sled once for every batch of writes that queued up
/// meanwhile, then announces them in revision order. Concurrent writers share an fsync
/// instead of taking turns at one each.
struct Flusher {
    tree: Tree,
    published: Arc<AtomicU64>,
    published_tx: tokio::sync::watch::Sender<Revision>,
    events: broadcast::Sender<Arc<WatchEvent>>,
}

impl Flusher {
    fn start(self) -> (std::sync::mpsc::Sender<PendingWrite>, std::thread::JoinHandle<()>) {
        let (tx, rx) = std::sync::mpsc::channel::<PendingWrite>();
        let handle = std::thread::Builder::new()
            .name("sled-flusher".into())
            .spawn(move || self.run(rx))
            .expect("spawn the sled flusher thread");
        (tx, handle)
    }

    fn run(self, rx: std::sync::mpsc::Receiver<PendingWrite>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let flushed = self.tree.flush().map_err(backend);
            for pending in batch {
                let next = pending.event.kv.mod_revision;
                self.published.store(next, Ordering::SeqCst);
                let _ = self.published_tx.send(next);
                let kv = pending.event.kv.clone();
                // No receiver is not an error: nobody is watching.
                let _ = self.events.send(Arc::new(pending.event));
                let _ = pending.reply.send(flushed.clone().map(|_| kv));
            }
        }
    }
}

/// The batch that records one event: current value, history entry, log entry and revision.
fn write_batch(event: &WatchEvent) -> Batch {
    let kv = &event.kv;
    let mut batch = Batch::default();
    let history = history_key(&kv.key, kv.mod_revision);
    if event.kind == EventKind::Deleted {
        batch.remove(current_key(&kv.key));
        batch.insert(history, codec::encode_tombstone());
    } else {
        batch.insert(current_key(&kv.key), codec::encode_current(kv));
        batch.insert(history, codec::encode_version(kv));
    }
    batch.insert(log_key(kv.mod_revision), codec::encode_event(event));
    batch.insert(META_REV, &kv.mod_revision.to_be_bytes()[..]);
    batch
}

// ---------------------------------------------------------------------------------------------
// Reads.

impl Inner {
    /// The latest version of `key`, if any.
    fn get_current(&self, key: &str) -> Result<Option<KeyValue>, StorageError> {
        let raw = self.tree.get(current_key(key)).map_err(backend)?;
        raw.map(|raw| codec::decode_current(key, &raw)).transpose()
    }

    async fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult, StorageError> {
        let limit = opts.limit.unwrap_or(0);
        let start = scan_start(prefix, opts.start_key.as_deref());
        // The latest state is read from `k/` while holding the writer lock, so that no write
        // can land in the middle of the scan.
        let guard = self.writer.clone().lock_owned().await;
        let current = *guard;
        // Applied writes become readable only once durable: wait for the group flush.
        self.wait_published(current).await;
        let requested = opts.revision.filter(|r| *r != 0).unwrap_or(current);
        if requested > current {
            return Err(StorageError::FutureRevision { requested, current });
        }
        let tree = self.tree.clone();
        let prefix = prefix.to_owned();
        if requested == current {
            return blocking(move || {
                let _guard = guard;
                scan_current(&tree, &prefix, &start, limit, current)
            })
            .await;
        }
        // Older snapshots come from the history, which never changes below the current
        // revision (except compaction, checked before and after), so no lock is needed.
        drop(guard);
        self.check_compacted(requested)?;
        let result =
            blocking(move || scan_history(&tree, &prefix, &start, limit, requested)).await?;
        self.check_compacted(requested)?;
        Ok(result)
    }

    /// `Compacted` if the history at `requested` may already be gone.
    fn check_compacted(&self, requested: Revision) -> Result<(), StorageError> {
        let compacted = self.compacted();
        if requested < compacted {
            return Err(StorageError::Compacted {
                requested,
                compacted,
            });
        }
        Ok(())
    }
}

/// Where a list scan starts: the prefix, or the continue key when it is further.
fn scan_start(prefix: &str, start_key: Option<&str>) -> String {
    match start_key {
        Some(start) if start > prefix => start.to_owned(),
        _ => prefix.to_owned(),
    }
}

/// Collects at most `limit` items (0: all) and counts those beyond.
struct Page {
    limit: usize,
    items: Vec<KeyValue>,
    remaining: u64,
}

impl Page {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            items: Vec::new(),
            remaining: 0,
        }
    }

    /// Adds one live key; `decode` only runs when the item fits in the page.
    fn push(
        &mut self,
        decode: impl FnOnce() -> Result<KeyValue, StorageError>,
    ) -> Result<(), StorageError> {
        if self.limit == 0 || self.items.len() < self.limit {
            self.items.push(decode()?);
        } else {
            self.remaining += 1;
        }
        Ok(())
    }

    fn finish(self, revision: Revision) -> ListResult {
        ListResult {
            items: self.items,
            revision,
            more: self.remaining > 0,
            remaining: Some(self.remaining),
        }
    }
}

/// Lists the latest values under `prefix` from `start` on.
fn scan_current(
    tree: &Tree,
    prefix: &str,
    start: &str,
    limit: usize,
    revision: Revision,
) -> Result<ListResult, StorageError> {
    let bound = current_key(prefix);
    let mut page = Page::new(limit);
    for entry in tree.range(current_key(start)..) {
        let (raw_key, raw) = entry.map_err(backend)?;
        if !raw_key.starts_with(&bound) {
            break;
        }
        page.push(|| {
            let key = utf8(&raw_key[CURRENT.len()..])?;
            codec::decode_current(&key, &raw)
        })?;
    }
    Ok(page.finish(revision))
}

/// Lists the values under `prefix` from `start` on, as they were at `revision`: for each key
/// the newest history entry at or before `revision` counts, unless it is a tombstone.
fn scan_history(
    tree: &Tree,
    prefix: &str,
    start: &str,
    limit: usize,
    revision: Revision,
) -> Result<ListResult, StorageError> {
    let bound = history_key_prefix(prefix);
    let mut page = Page::new(limit);
    let mut group: Option<KeyVersions> = None;
    for entry in tree.range(history_key_prefix(start)..) {
        let (raw_key, raw) = entry.map_err(backend)?;
        if !raw_key.starts_with(&bound) {
            break;
        }
        let (user_key, rev) = split_history_key(&raw_key)?;
        // A continue key ending in NUL (the usual "just after this key") seeks into the
        // history of the key before it, since NUL also separates key and revision.
        if user_key < start.as_bytes() {
            continue;
        }
        if group.as_ref().is_none_or(|group| group.key != user_key) {
            if let Some(done) = group.take() {
                done.push_to(&mut page)?;
            }
            group = Some(KeyVersions {
                key: user_key.to_vec(),
                newest: None,
            });
        }
        if let Some(group) = group.as_mut().filter(|_| rev <= revision) {
            // Entries of one key come in revision order: the last one kept is the newest.
            group.newest = Some((rev, raw));
        }
    }
    if let Some(done) = group {
        done.push_to(&mut page)?;
    }
    Ok(page.finish(revision))
}

/// One key met by a snapshot scan, with its newest history entry at or before the snapshot.
struct KeyVersions {
    key: Vec<u8>,
    newest: Option<(Revision, IVec)>,
}

impl KeyVersions {
    /// Adds the key to the page if it was live at the snapshot.
    fn push_to(self, page: &mut Page) -> Result<(), StorageError> {
        match self.newest {
            Some((rev, raw)) if !codec::is_tombstone(&raw) => page.push(|| {
                let key = utf8(&self.key)?;
                codec::decode_version(key, rev, &raw)
            }),
            _ => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Compaction.

impl Inner {
    async fn compact(&self, revision: Revision) -> Result<(), StorageError> {
        let _only_one = self.compactor.lock().await;
        let current = self.published();
        if revision > current {
            return Err(StorageError::FutureRevision {
                requested: revision,
                current,
            });
        }
        let compacted = self.compacted();
        if revision <= compacted {
            return Err(StorageError::Compacted {
                requested: revision,
                compacted,
            });
        }
        // Announce the new compaction point (durably) before deleting anything, so that a
        // reader that might see half-deleted history gets `Compacted` instead.
        self.tree
            .insert(META_COMPACTED, &revision.to_be_bytes()[..])
            .map_err(backend)?;
        self.tree.flush_async().await.map_err(backend)?;
        self.compacted.store(revision, Ordering::SeqCst);
        let tree = self.tree.clone();
        blocking(move || {
            prune_events(&tree, revision)?;
            prune_history(&tree, revision)
        })
        .await?;
        self.tree.flush_async().await.map_err(backend)?;
        Ok(())
    }
}

/// Deletes the event log at or before `revision`.
fn prune_events(tree: &Tree, revision: Revision) -> Result<(), StorageError> {
    let mut doomed = Vec::new();
    for entry in tree.range(log_key(0)..=log_key(revision)) {
        let (key, _) = entry.map_err(backend)?;
        doomed.push(key);
        if doomed.len() >= COMPACT_BATCH {
            remove_all(tree, std::mem::take(&mut doomed))?;
        }
    }
    remove_all(tree, doomed)
}

/// Deletes history entries at or before `revision`, except each key's newest one there (which
/// snapshots at later revisions still need), and except nothing for tombstones (a deleted key
/// is simply absent). Writers only add entries above `revision`, so this runs beside them.
fn prune_history(tree: &Tree, revision: Revision) -> Result<(), StorageError> {
    let mut doomed = Vec::new();
    // The newest entry at or before `revision` of the key being scanned: (user key, raw key,
    // is tombstone).
    let mut keep: Option<(Vec<u8>, IVec, bool)> = None;
    for entry in tree.scan_prefix(HISTORY) {
        let (raw_key, raw) = entry.map_err(backend)?;
        let (user_key, rev) = split_history_key(&raw_key)?;
        if rev > revision {
            continue;
        }
        if let Some((key, older, tombstone)) = keep.take() {
            if key.as_slice() == user_key || tombstone {
                // Superseded by this entry, or a tombstone that no kept snapshot needs.
                doomed.push(older);
            }
        }
        keep = Some((
            user_key.to_vec(),
            raw_key.clone(),
            codec::is_tombstone(&raw),
        ));
        if doomed.len() >= COMPACT_BATCH {
            remove_all(tree, std::mem::take(&mut doomed))?;
        }
    }
    if let Some((_, older, true)) = keep {
        doomed.push(older);
    }
    remove_all(tree, doomed)
}

/// Removes `keys` in one batch.
fn remove_all(tree: &Tree, keys: Vec<IVec>) -> Result<(), StorageError> {
    let mut batch = Batch::default();
    for key in keys {
        batch.remove(key);
    }
    tree.apply_batch(batch).map_err(backend)
}

// ---------------------------------------------------------------------------------------------
// Watch.

/// One watch: follows the live channel, and falls back to the event log whenever it is behind
/// (at start, or after missing broadcasts because it was slow).
struct Watcher {
    inner: Arc<Inner>,
    prefix: String,
    /// The next revision to look at.
    next: Revision,
    live: broadcast::Receiver<Arc<WatchEvent>>,
    /// Events read from the log, not yet delivered.
    pending: VecDeque<WatchEvent>,
    /// Set after an error was delivered: the stream then ends.
    failed: bool,
}

impl Watcher {
    fn start(inner: Arc<Inner>, prefix: &str, from: Revision) -> Result<Self, StorageError> {
        // Subscribe first: any event published after this point reaches the receiver, and any
        // event published before is in the log, so the two together leave no gap.
        let live = inner.events.subscribe();
        let from = if from == 0 { inner.published() } else { from };
        let compacted = inner.compacted();
        if from < compacted {
            return Err(StorageError::Compacted {
                requested: from,
                compacted,
            });
        }
        Ok(Self {
            inner,
            prefix: prefix.to_owned(),
            next: from + 1,
            live,
            pending: VecDeque::new(),
            failed: false,
        })
    }

    fn into_stream(self) -> WatchStream {
        futures::stream::unfold(self, |mut watcher| async move {
            let item = watcher.next_event().await?;
            Some((item, watcher))
        })
        .boxed()
    }

    /// The next event under the prefix; `None` ends the stream.
    async fn next_event(&mut self) -> Option<Result<WatchEvent, StorageError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.failed {
                return None;
            }
            if self.next <= self.inner.published() {
                if let Err(err) = self.read_log() {
                    self.failed = true;
                    return Some(Err(err));
                }
                continue;
            }
            match self.live.recv().await {
                Ok(event) => {
                    let rev = event.kv.mod_revision;
                    // Older: already delivered from the log. Newer: a gap, which the next
                    // loop fills from the log (it is published, hence written).
                    if rev != self.next {
                        continue;
                    }
                    self.next += 1;
                    if event.kv.key.starts_with(&self.prefix) {
                        return Some(Ok(WatchEvent::clone(&event)));
                    }
                }
                // Missed broadcasts are still in the log, read on the next loop.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Reads one chunk of the event log from `next` on into `pending`.
    fn read_log(&mut self) -> Result<(), StorageError> {
        let last = self.inner.published().min(self.next + LOG_CHUNK - 1);
        let range = log_key(self.next)..=log_key(last);
        for entry in self.inner.tree.range(range) {
            let (raw_key, raw) = entry.map_err(backend)?;
            let rev = split_log_key(&raw_key)?;
            if rev != self.next {
                // The entry for `next` is gone: compaction removed it under our feet.
                return Err(self.log_gap());
            }
            self.next += 1;
            let event = codec::decode_event(&raw)?;
            if event.kv.key.starts_with(&self.prefix) {
                self.pending.push_back(event);
            }
        }
        if self.next <= last {
            return Err(self.log_gap());
        }
        Ok(())
    }

    /// The error for a missing log entry: normally a compaction.
    fn log_gap(&self) -> StorageError {
        let compacted = self.inner.compacted();
        if self.next <= compacted {
            StorageError::Compacted {
                requested: self.next - 1,
                compacted,
            }
        } else {
            StorageError::Backend(format!("event log has no entry for revision {}", self.next))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys and helpers.

/// `k/<key>`.
fn current_key(key: &str) -> Vec<u8> {
    [CURRENT, key.as_bytes()].concat()
}

/// `h/<key>` (no separator): the start of the history of every key with this prefix.
fn history_key_prefix(prefix: &str) -> Vec<u8> {
    [HISTORY, prefix.as_bytes()].concat()
}

/// `h/<key>\0<rev BE>`: NUL sorts before any other byte, so a key's history comes before the
/// history of longer keys that extend it, and list order is key order.
fn history_key(key: &str, rev: Revision) -> Vec<u8> {
    [HISTORY, key.as_bytes(), b"\0", &rev.to_be_bytes()].concat()
}

/// Splits `h/<key>\0<rev BE>` into the user key bytes and the revision.
fn split_history_key(raw: &[u8]) -> Result<(&[u8], Revision), StorageError> {
    let body = raw
        .strip_prefix(HISTORY)
        .filter(|body| body.len() >= 9)
        .ok_or_else(|| corrupt("history key"))?;
    let (key, tail) = body.split_at(body.len() - 9);
    let rev = be_u64(&tail[1..]).ok_or_else(|| corrupt("history key"))?;
    Ok((key, rev))
}

/// `e/<rev BE>`: big-endian, so the log iterates in revision order.
fn log_key(rev: Revision) -> Vec<u8> {
    [EVENTS, &rev.to_be_bytes()].concat()
}

/// The revision of an event log key.
fn split_log_key(raw: &[u8]) -> Result<Revision, StorageError> {
    raw.strip_prefix(EVENTS)
        .and_then(be_u64)
        .ok_or_else(|| corrupt("event log key"))
}

/// Reads a revision stored in the metadata; 0 when absent.
fn read_meta(tree: &Tree, key: &[u8]) -> Result<Revision, StorageError> {
    match tree.get(key).map_err(backend)? {
        None => Ok(0),
        Some(raw) => be_u64(&raw).ok_or_else(|| corrupt("metadata")),
    }
}

/// Decodes exactly eight big-endian bytes.
fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// Rejects keys that would break the history key layout.
fn check_key(key: &str) -> Result<(), StorageError> {
    if key.contains('\0') {
        return Err(StorageError::Backend(format!(
            "key {key:?} contains a NUL byte"
        )));
    }
    Ok(())
}

/// Turns stored key bytes back into a string.
fn utf8(bytes: &[u8]) -> Result<String, StorageError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| corrupt("key"))
}

/// Runs blocking sled work (long scans, compaction) off the async worker threads.
async fn blocking<T, F>(work: F) -> Result<T, StorageError>
where
    F: FnOnce() -> Result<T, StorageError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work).await.map_err(backend)?
}

/// Wraps any lower-level failure.
fn backend(err: impl Display) -> StorageError {
    StorageError::Backend(err.to_string())
}

/// The error for undecodable stored bytes.
fn corrupt(what: &str) -> StorageError {
    StorageError::Backend(format!("corrupt {what} in the sled store"))
}

/// Binary encodings of the stored records. Integers are big-endian; variable-length fields in
/// the middle of a record carry a u32 length, the last field runs to the end.
mod codec {
    use super::{corrupt, utf8, EventKind, KeyValue, Revision, StorageError, WatchEvent};

    /// First byte of a history entry holding a value.
    const VERSION: u8 = 0;
    /// First byte (and only content) of a history entry recording a deletion.
    const TOMBSTONE: u8 = 1;

    /// Current value: create rev, mod rev, value.
    pub(super) fn encode_current(kv: &KeyValue) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + kv.value.len());
        out.extend_from_slice(&kv.create_revision.to_be_bytes());
        out.extend_from_slice(&kv.mod_revision.to_be_bytes());
        out.extend_from_slice(&kv.value);
        out
    }

    /// Decodes a current value of `key`.
    pub(super) fn decode_current(key: &str, raw: &[u8]) -> Result<KeyValue, StorageError> {
        let mut reader = Reader::new(raw, "current value");
        let create_revision = reader.u64()?;
        let mod_revision = reader.u64()?;
        Ok(KeyValue {
            key: key.to_owned(),
            value: reader.rest(),
            create_revision,
            mod_revision,
        })
    }

    /// History entry with a value: tag, create rev, value (the mod rev is in the key).
    pub(super) fn encode_version(kv: &KeyValue) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + kv.value.len());
        out.push(VERSION);
        out.extend_from_slice(&kv.create_revision.to_be_bytes());
        out.extend_from_slice(&kv.value);
        out
    }

    /// History entry of a deletion.
    pub(super) fn encode_tombstone() -> Vec<u8> {
        vec![TOMBSTONE]
    }

    /// Whether a history entry records a deletion.
    pub(super) fn is_tombstone(raw: &[u8]) -> bool {
        raw.first() == Some(&TOMBSTONE)
    }

    /// Decodes a history entry of `key` written at `mod_revision`.
    pub(super) fn decode_version(
        key: String,
        mod_revision: Revision,
        raw: &[u8],
    ) -> Result<KeyValue, StorageError> {
        let mut reader = Reader::new(raw, "history entry");
        if reader.u8()? != VERSION {
            return Err(corrupt("history entry"));
        }
        let create_revision = reader.u64()?;
        Ok(KeyValue {
            key,
            value: reader.rest(),
            create_revision,
            mod_revision,
        })
    }

    /// Event: kind, key, create rev, mod rev, value, then optionally the previous version
    /// (same key): create rev, mod rev, value.
    pub(super) fn encode_event(event: &WatchEvent) -> Vec<u8> {
        let kv = &event.kv;
        let mut out = Vec::with_capacity(64 + kv.key.len() + 2 * kv.value.len());
        out.push(kind_tag(event.kind));
        put_bytes(&mut out, kv.key.as_bytes());
        out.extend_from_slice(&kv.create_revision.to_be_bytes());
        out.extend_from_slice(&kv.mod_revision.to_be_bytes());
        put_bytes(&mut out, &kv.value);
        if let Some(prev) = &event.prev {
            out.push(1);
            out.extend_from_slice(&prev.create_revision.to_be_bytes());
            out.extend_from_slice(&prev.mod_revision.to_be_bytes());
            out.extend_from_slice(&prev.value);
        } else {
            out.push(0);
        }
        out
    }

    /// Decodes an event log entry.
    pub(super) fn decode_event(raw: &[u8]) -> Result<WatchEvent, StorageError> {
        let mut reader = Reader::new(raw, "event log entry");
        let kind = tag_kind(reader.u8()?)?;
        let key = utf8(reader.bytes()?)?;
        let create_revision = reader.u64()?;
        let mod_revision = reader.u64()?;
        let value = reader.bytes()?.to_vec();
        let prev = match reader.u8()? {
            0 => None,
            _ => Some(KeyValue {
                key: key.clone(),
                create_revision: reader.u64()?,
                mod_revision: reader.u64()?,
                value: reader.rest(),
            }),
        };
        let kv = KeyValue {
            key,
            value,
            create_revision,
            mod_revision,
        };
        Ok(WatchEvent { kind, kv, prev })
    }

    fn kind_tag(kind: EventKind) -> u8 {
        match kind {
            EventKind::Created => 0,
            EventKind::Modified => 1,
            EventKind::Deleted => 2,
        }
    }

    fn tag_kind(tag: u8) -> Result<EventKind, StorageError> {
        match tag {
            0 => Ok(EventKind::Created),
            1 => Ok(EventKind::Modified),
            2 => Ok(EventKind::Deleted),
            _ => Err(corrupt("event kind")),
        }
    }

    /// Appends a u32 length and the bytes.
    fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).expect("stored values are smaller than 4 GiB");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
    }

    /// A bounds-checked cursor over a record.
    struct Reader<'a> {
        raw: &'a [u8],
        what: &'static str,
    }

    impl<'a> Reader<'a> {
        fn new(raw: &'a [u8], what: &'static str) -> Self {
            Self { raw, what }
        }

        fn take(&mut self, len: usize) -> Result<&'a [u8], StorageError> {
            if self.raw.len() < len {
                return Err(corrupt(self.what));
            }
            let (head, tail) = self.raw.split_at(len);
            self.raw = tail;
            Ok(head)
        }

        fn u8(&mut self) -> Result<u8, StorageError> {
            Ok(self.take(1)?[0])
        }

        fn u64(&mut self) -> Result<u64, StorageError> {
            let bytes = self.take(8)?;
            Ok(u64::from_be_bytes(
                bytes.try_into().expect("took eight bytes"),
            ))
        }

        fn bytes(&mut self) -> Result<&'a [u8], StorageError> {
            let len_bytes = self.take(4)?;
            let len = u32::from_be_bytes(len_bytes.try_into().expect("took four bytes"));
            self.take(len as usize)
        }

        fn rest(&mut self) -> Vec<u8> {
            std::mem::take(&mut self.raw).to_vec()
        }
    }
}
