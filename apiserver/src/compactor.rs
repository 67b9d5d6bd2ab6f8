//! Periodic storage compaction, as upstream's apiserver compacts etcd: every interval, drop
//! history older than the revision seen one interval earlier, so watches can resume from
//! anything newer than one interval.

use std::time::Duration;

use crate::storage::{DynStorage, Revision, StorageError};

/// Compacts forever, every `interval_secs` seconds (0 disables).
pub async fn run(storage: DynStorage, interval_secs: u64) {
    if interval_secs == 0 {
        return;
    }
    let mut previous: Option<Revision> = None;
    let mut ticker = tokio::time::interval(Duration::from_secs(interval_secs));
    loop {
        ticker.tick().await;
        if let Some(rev) = previous {
            match storage.compact(rev).await {
                // Nothing was written since the last compaction: nothing to do.
                Ok(()) | Err(StorageError::Compacted { .. }) => {}
                Err(e) => tracing::warn!(revision = rev, error = %e, "compaction failed"),
            }
        }
        previous = storage.current_revision().await.ok();
    }
}
