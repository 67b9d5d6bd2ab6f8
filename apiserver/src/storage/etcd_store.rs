//! A [`Storage`] backend on etcd v3, using etcd's own revisions as the store's revisions.
//!
//! Guarded writes are single etcd transactions (compare on create/mod revision, then put or
//! delete, else read the key to explain the failure), so they are atomic on the server.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Client, CompactionOptions, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType,
    GetOptions, KvClient, PutOptions, ResponseHeader, Txn, TxnOp, TxnOpResponse, TxnResponse,
    WatchOptions,
};
use futures::StreamExt;

use super::{
    EventKind, KeyValue, ListOptions, ListResult, Revision, Storage, StorageError, WatchEvent,
    WatchStream,
};

/// How long to wait for a TCP connection to an endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP/2 keep-alive, so a dead server breaks watches instead of hanging them.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// How long a keep-alive ping may go unanswered.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for etcd to report its compaction point (only used to fill errors).
const COMPACTION_PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// A key nobody writes, watched to learn the compaction point.
const PROBE_KEY: &[u8] = b"\0rkube/compaction-probe";

/// The etcd-backed store.
#[derive(Clone)]
pub struct EtcdStore {
    client: Client,
}

impl EtcdStore {
    /// Connects to the etcd cluster at `endpoints` (such as `http://127.0.0.1:2379`) and checks
    /// that it answers.
    pub async fn connect(endpoints: &[String]) -> Result<Self, StorageError> {
        let options = ConnectOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_keep_alive(KEEP_ALIVE_INTERVAL, KEEP_ALIVE_TIMEOUT);
        let client = Client::connect(endpoints, Some(options))
            .await
            .map_err(backend)?;
        let store = Self { client };
        store.current_revision().await?;
        Ok(store)
    }

    fn kv(&self) -> KvClient {
        self.client.kv_client()
    }

    /// Runs a transaction.
    async fn txn(&self, txn: Txn) -> Result<TxnResponse, StorageError> {
        self.kv().txn(txn).await.map_err(backend)
    }

    /// Turns an etcd failure on a request at `requested` into a typed error.
    async fn revision_error(&self, err: etcd_client::Error, requested: Revision) -> StorageError {
        match classify(&err) {
            Failure::Compacted => StorageError::Compacted {
                requested,
                compacted: self.compacted_revision(requested).await,
            },
            Failure::Future => match self.current_revision().await {
                Ok(current) => StorageError::FutureRevision { requested, current },
                Err(err) => err,
            },
            Failure::Other => backend(err),
        }
    }

    /// etcd's compaction point. etcd 3.4 only tells it to a watch that starts before it, so
    /// this watches an unused key from revision 1. Used to fill `Compacted` errors only: if
    /// etcd does not answer in time, it falls back to `requested + 1`.
    async fn compacted_revision(&self, requested: Revision) -> Revision {
        let probe = async {
            let options = WatchOptions::new().with_start_revision(1);
            let mut stream = self
                .client
                .watch_client()
                .watch(PROBE_KEY, Some(options))
                .await
                .ok()?;
            while let Some(response) = stream.message().await.ok()? {
                if response.compact_revision() > 0 {
                    return Some(to_rev(response.compact_revision()));
                }
                if response.canceled() {
                    return None;
                }
            }
            None
        };
        let found = tokio::time::timeout(COMPACTION_PROBE_TIMEOUT, probe).await;
        found.ok().flatten().unwrap_or(requested + 1)
    }

    /// Fails with `Compacted` when `from` is older than etcd's compaction point. etcd itself
    /// accepts a watch starting exactly at the compaction point, which would need the event
    /// at `from`; reading at `from` applies the same rule as the sled backend.
    async fn check_watchable(&self, prefix: &str, from: Revision) -> Result<(), StorageError> {
        let (start, end) = prefix_range(prefix);
        let options = GetOptions::new()
            .with_range(end)
            .with_revision(to_i64(from))
            .with_count_only();
        match self.kv().get(start, Some(options)).await {
            Ok(_) => Ok(()),
            // Watching the future is allowed: the events come when they are written.
            Err(err) if classify(&err) == Failure::Future => Ok(()),
            Err(err) => Err(self.revision_error(err, from).await),
        }
    }

    /// Reads the key whose guarded write failed, to tell `NotFound` from `Conflict`.
    fn explain_failure(
        key: &str,
        expected: Option<Revision>,
        response: &TxnResponse,
    ) -> StorageError {
        let actual = response.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Get(get) => Some(get.kvs().first().map(|kv| to_rev(kv.mod_revision()))),
            _ => None,
        });
        match (actual.flatten(), expected) {
            (Some(actual), Some(expected)) => StorageError::Conflict {
                key: key.to_owned(),
                expected,
                actual,
            },
            _ => StorageError::NotFound(key.to_owned()),
        }
    }
}

#[async_trait]
impl Storage for EtcdStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StorageError> {
        let response = self.kv().get(key, None).await.map_err(backend)?;
        response.kvs().first().map(to_key_value).transpose()
    }

    async fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult, StorageError> {
        let (prefix_start, end) = prefix_range(prefix);
        let start = match opts.start_key.as_deref() {
            Some(key) if key.as_bytes() > prefix_start.as_slice() => key.as_bytes().to_vec(),
            _ => prefix_start,
        };
        let requested = opts.revision.filter(|rev| *rev != 0);
        let limit = opts.limit.unwrap_or(0);
        let mut options = GetOptions::new()
            .with_range(end)
            .with_limit(to_i64(limit as u64));
        if let Some(rev) = requested {
            options = options.with_revision(to_i64(rev));
        }
        let response = match self.kv().get(start, Some(options)).await {
            Ok(response) => response,
            Err(err) => return Err(self.revision_error(err, requested.unwrap_or(0)).await),
        };
        let items = response
            .kvs()
            .iter()
            .map(to_key_value)
            .collect::<Result<Vec<_>, _>>()?;
        // `count` is the number of keys in the whole range, from the start key on.
        let remaining = to_rev(response.count()).saturating_sub(items.len() as u64);
        Ok(ListResult {
            // The header carries the store's current revision, not the one read at.
            revision: requested.unwrap_or_else(|| header_revision(response.header())),
            more: response.more(),
            remaining: Some(remaining),
            items,
        })
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StorageError> {
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value.clone(), None)]);
        let response = self.txn(txn).await?;
        if !response.succeeded() {
            return Err(StorageError::AlreadyExists(key.to_owned()));
        }
        let rev = header_revision(response.header());
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision: rev,
            mod_revision: rev,
        })
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
    ) -> Result<KeyValue, StorageError> {
        // Without the create-revision compare, `expected == 0` would match an absent key.
        let txn = Txn::new()
            .when([
                Compare::create_revision(key, CompareOp::Greater, 0),
                Compare::mod_revision(key, CompareOp::Equal, to_i64(expected)),
            ])
            .and_then([TxnOp::put(
                key,
                value.clone(),
                Some(PutOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let response = self.txn(txn).await?;
        if !response.succeeded() {
            return Err(Self::explain_failure(key, Some(expected), &response));
        }
        let prev = response.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Put(put) => put.prev_key().map(|kv| to_rev(kv.create_revision())),
            _ => None,
        });
        let create_revision = prev.ok_or_else(|| missing("previous value of an update"))?;
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision,
            mod_revision: header_revision(response.header()),
        })
    }

    async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> Result<KeyValue, StorageError> {
        let mut compares = vec![Compare::create_revision(key, CompareOp::Greater, 0)];
        if let Some(expected) = expected {
            compares.push(Compare::mod_revision(
                key,
                CompareOp::Equal,
                to_i64(expected),
            ));
        }
        let txn = Txn::new()
            .when(compares)
            .and_then([TxnOp::delete(
                key,
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let response = self.txn(txn).await?;
        if !response.succeeded() {
            return Err(Self::explain_failure(key, expected, &response));
        }
        let prev = response.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Delete(delete) => delete.prev_kvs().first().map(to_key_value),
            _ => None,
        });
        let mut kv = prev.ok_or_else(|| missing("previous value of a delete"))??;
        kv.mod_revision = header_revision(response.header());
        Ok(kv)
    }

    async fn watch(&self, prefix: &str, from: Revision) -> Result<WatchStream, StorageError> {
        if from != 0 {
            self.check_watchable(prefix, from).await?;
        }
        let (start, end) = prefix_range(prefix);
        let mut options = WatchOptions::new().with_range(end).with_prev_key();
        if from != 0 {
            // Otherwise etcd starts right after its current revision.
            options = options.with_start_revision(to_i64(from + 1));
        }
        let mut stream = self
            .client
            .watch_client()
            .watch(start, Some(options))
            .await
            .map_err(backend)?;
        // Wait until etcd confirms the watch: a write made after `watch` returns is then
        // surely seen, even when starting "now".
        let created = stream.message().await.map_err(backend)?;
        match created {
            Some(response) if response.created() && !response.canceled() => {}
            Some(response) => return Err(canceled(&response, from)),
            None => return Err(StorageError::Backend("etcd closed the watch".into())),
        }
        Ok(EtcdWatch {
            stream,
            pending: VecDeque::new(),
            from,
            done: false,
        }
        .into_stream())
    }

    async fn compact(&self, revision: Revision) -> Result<(), StorageError> {
        // Physical: wait until etcd has dropped the history, so later reads see the effect.
        let options = CompactionOptions::new().with_physical();
        match self.kv().compact(to_i64(revision), Some(options)).await {
            Ok(_) => Ok(()),
            Err(err) => Err(self.revision_error(err, revision).await),
        }
    }

    async fn current_revision(&self) -> Result<Revision, StorageError> {
        let options = GetOptions::new().with_count_only();
        let response = self
            .kv()
            .get(PROBE_KEY, Some(options))
            .await
            .map_err(backend)?;
        Ok(header_revision(response.header()))
    }
}

/// An etcd watch turned into a stream of single events.
struct EtcdWatch {
    /// Holds both halves: dropping the request half would end the watch.
    stream: etcd_client::WatchStream,
    /// Events of the last response, not yet delivered.
    pending: VecDeque<WatchEvent>,
    /// The revision the watch started after, for errors.
    from: Revision,
    /// Set once the stream failed or was canceled.
    done: bool,
}

impl EtcdWatch {
    fn into_stream(self) -> WatchStream {
        futures::stream::unfold(self, |mut watch| async move {
            let item = watch.next_event().await?;
            Some((item, watch))
        })
        .boxed()
    }

    /// The next event; `None` ends the stream.
    async fn next_event(&mut self) -> Option<Result<WatchEvent, StorageError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            let response = match self.stream.message().await {
                Ok(Some(response)) => response,
                Ok(None) => return None,
                Err(err) => {
                    self.done = true;
                    return Some(Err(backend(err)));
                }
            };
            if response.canceled() {
                self.done = true;
                return Some(Err(canceled(&response, self.from)));
            }
            // Progress notifications carry no events and simply loop.
            for event in response.events() {
                match to_watch_event(event) {
                    Ok(event) => self.pending.push_back(event),
                    Err(err) => {
                        self.done = true;
                        return Some(Err(err));
                    }
                }
            }
        }
    }
}

/// Maps an etcd event; a deletion reports the last value at the deletion's revision.
fn to_watch_event(event: &etcd_client::Event) -> Result<WatchEvent, StorageError> {
    let kv = to_key_value(event.kv().ok_or_else(|| missing("event key-value"))?)?;
    let prev = event.prev_kv().map(to_key_value).transpose()?;
    match event.event_type() {
        EventType::Put => {
            let kind = if kv.create_revision == kv.mod_revision {
                EventKind::Created
            } else {
                EventKind::Modified
            };
            Ok(WatchEvent { kind, kv, prev })
        }
        EventType::Delete => {
            // etcd sends only the key and the deletion's revision; the previous value fills
            // in the rest (it may be missing if that version was compacted away).
            let last = match &prev {
                Some(prev) => KeyValue {
                    mod_revision: kv.mod_revision,
                    ..prev.clone()
                },
                None => kv,
            };
            Ok(WatchEvent {
                kind: EventKind::Deleted,
                kv: last,
                prev,
            })
        }
    }
}

/// The error for a canceled watch.
fn canceled(response: &etcd_client::WatchResponse, from: Revision) -> StorageError {
    if response.compact_revision() > 0 {
        return StorageError::Compacted {
            requested: from,
            compacted: to_rev(response.compact_revision()),
        };
    }
    StorageError::Backend(format!(
        "etcd canceled the watch: {}",
        response.cancel_reason()
    ))
}

/// What an etcd error means for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    /// The requested revision was compacted.
    Compacted,
    /// The requested revision is in the future.
    Future,
    /// Anything else.
    Other,
}

/// Recognizes etcd's revision errors; they come as gRPC OutOfRange with fixed messages.
fn classify(err: &etcd_client::Error) -> Failure {
    let etcd_client::Error::GRpcStatus(status) = err else {
        return Failure::Other;
    };
    let message = status.message();
    if message.contains("required revision has been compacted") {
        Failure::Compacted
    } else if message.contains("required revision is a future revision") {
        Failure::Future
    } else {
        Failure::Other
    }
}

/// The `[start, end)` key range of a prefix, as etcd wants it. The empty prefix is every key,
/// which etcd spells `["\0", "\0")`.
fn prefix_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let mut end = prefix.as_bytes().to_vec();
    // The end is the prefix with its last non-0xff byte incremented and the rest cut.
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return (prefix.as_bytes().to_vec(), end);
        }
    }
    (vec![0], vec![0])
}

/// Converts an etcd key-value.
fn to_key_value(kv: &etcd_client::KeyValue) -> Result<KeyValue, StorageError> {
    let key = kv.key_str().map_err(backend)?.to_owned();
    Ok(KeyValue {
        key,
        value: kv.value().to_vec(),
        create_revision: to_rev(kv.create_revision()),
        mod_revision: to_rev(kv.mod_revision()),
    })
}

/// The revision in a response header (0 if etcd sent none).
fn header_revision(header: Option<&ResponseHeader>) -> Revision {
    header.map_or(0, |header| to_rev(header.revision()))
}

/// etcd revisions are non-negative i64.
fn to_rev(rev: i64) -> Revision {
    Revision::try_from(rev).unwrap_or(0)
}

/// Our revisions and limits never exceed i64 in practice; saturate rather than wrap.
fn to_i64(rev: u64) -> i64 {
    i64::try_from(rev).unwrap_or(i64::MAX)
}

/// The error for a response lacking something etcd always sends.
fn missing(what: &str) -> StorageError {
    StorageError::Backend(format!("etcd response lacks the {what}"))
}

/// Wraps a transport or server failure.
fn backend(err: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(err.to_string())
}
