//! The storage layer: a small key-value contract with one global revision, and its backends.
//!
//! Keys are strings such as `/registry/apps/deployments/default/nginx`; values are opaque
//! bytes (the apiserver stores JSON). Every write bumps one global, monotonically increasing
//! revision, which the apiserver exposes as `metadata.resourceVersion`.

pub mod etcd_store;
pub mod sled_store;

#[cfg(test)]
mod conformance;

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;

/// A revision of the store; 0 means "none" (before the first write).
pub type Revision = u64;

/// One stored key with its value and the revisions that created and last modified it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key.
    pub key: String,
    /// The stored bytes.
    pub value: Vec<u8>,
    /// Revision of the write that created the key.
    pub create_revision: Revision,
    /// Revision of the last write that touched the key (for a deletion event: the deletion's).
    pub mod_revision: Revision,
}

/// How to list a prefix.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    /// Read the snapshot at this revision; `None` reads the latest.
    pub revision: Option<Revision>,
    /// Return at most this many items; `None` or `Some(0)` returns all.
    pub limit: Option<usize>,
    /// Start at this key (inclusive), used to continue a paged list.
    pub start_key: Option<String>,
}

/// The answer of a list.
#[derive(Clone, Debug, Default)]
pub struct ListResult {
    /// Items in key order.
    pub items: Vec<KeyValue>,
    /// The revision of the snapshot the items were read at.
    pub revision: Revision,
    /// True when more keys under the prefix follow the last item.
    pub more: bool,
    /// How many keys follow the last item, when the backend knows it cheaply.
    pub remaining: Option<u64>,
}

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The key did not exist before this write.
    Created,
    /// The key existed and was overwritten.
    Modified,
    /// The key was removed.
    Deleted,
}

/// One change seen by a watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    /// What happened.
    pub kind: EventKind,
    /// Created/Modified: the new value. Deleted: the last value, with `mod_revision` set to
    /// the deletion's revision.
    pub kv: KeyValue,
    /// The value before this event (Modified and Deleted).
    pub prev: Option<KeyValue>,
}

/// A stream of changes, in revision order.
pub type WatchStream = BoxStream<'static, Result<WatchEvent, StorageError>>;

/// Everything that can go wrong in a backend.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// A create found the key present.
    #[error("key {0} already exists")]
    AlreadyExists(String),
    /// The key is absent.
    #[error("key {0} not found")]
    NotFound(String),
    /// A guarded write saw another revision than expected.
    #[error("conflict on {key}: expected revision {expected}, found {actual}")]
    Conflict {
        /// The key written.
        key: String,
        /// The revision the caller expected.
        expected: Revision,
        /// The key's actual mod revision.
        actual: Revision,
    },
    /// The requested revision is older than the compacted history.
    #[error("revision {requested} has been compacted (oldest kept: {compacted})")]
    Compacted {
        /// What was asked for.
        requested: Revision,
        /// The compaction point.
        compacted: Revision,
    },
    /// The requested revision has not been written yet.
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        /// What was asked for.
        requested: Revision,
        /// The store's current revision.
        current: Revision,
    },
    /// The backend failed (IO, network, corruption).
    #[error("storage backend error: {0}")]
    Backend(String),
}

/// The contract every backend fulfils; `conformance` tests it against each one.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Reads the latest value of a key.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StorageError>;

    /// Lists keys starting with `prefix`, in key order, from one consistent snapshot.
    async fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult, StorageError>;

    /// Creates a key; fails with `AlreadyExists` if present. The write is durable on return.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StorageError>;

    /// Replaces a key's value if its mod revision equals `expected`; `NotFound` if absent,
    /// `Conflict` if another write came first. The write is durable on return.
    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
    ) -> Result<KeyValue, StorageError>;

    /// Deletes a key, guarded on its mod revision when `expected` is given. Returns the last
    /// value with `mod_revision` set to the deletion's revision. Durable on return.
    async fn delete(&self, key: &str, expected: Option<Revision>)
        -> Result<KeyValue, StorageError>;

    /// Streams every change under `prefix` with revision > `from`. `from` = 0 starts at the
    /// current revision. `Compacted` if `from` is older than the kept history.
    async fn watch(&self, prefix: &str, from: Revision) -> Result<WatchStream, StorageError>;

    /// Drops history at or before `revision` (the latest value of each key stays).
    async fn compact(&self, revision: Revision) -> Result<(), StorageError>;

    /// The current (latest written) revision.
    async fn current_revision(&self) -> Result<Revision, StorageError>;
}

/// A shared handle to any backend.
pub type DynStorage = Arc<dyn Storage>;
