//! One behavioural suite for every [`Storage`] backend.
//!
//! Each test is an `async fn(DynStorage)` and is instantiated by `conformance_suite!` once per
//! backend: `sled::<test>` on a fresh temporary directory, `etcd::<test>` on a fresh `etcd`
//! process (the real binary: `$RKUBE_ETCD` or `etcd` on the `PATH`, Debian's `etcd-server`)
//! listening on free loopback ports. Backend-specific tests (sled durability, crash recovery,
//! slow watchers) follow in `sled_only`.

use std::time::Duration;

use futures::StreamExt;

use super::{
    DynStorage, EventKind, KeyValue, ListOptions, ListResult, Revision, StorageError, WatchEvent,
    WatchStream,
};

/// Upper bound for anything a test waits on.
const WAIT: Duration = Duration::from_secs(15);
/// How long a watch must stay silent to count as having nothing more to say.
const QUIET: Duration = Duration::from_millis(300);

// ---------------------------------------------------------------------------------------------
// Helpers.

/// The next event of a watch; fails the test on an error, an end or a timeout.
async fn next_event(stream: &mut WatchStream) -> WatchEvent {
    match tokio::time::timeout(WAIT, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        other => panic!("expected a watch event, got {other:?}"),
    }
}

/// Fails the test if the watch delivers anything soon.
async fn assert_quiet(stream: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(QUIET, stream.next()).await {
        panic!("expected no watch event, got {item:?}");
    }
}

/// Lists with the given options.
async fn list(
    store: &DynStorage,
    prefix: &str,
    revision: Option<Revision>,
    limit: Option<usize>,
    start_key: Option<&str>,
) -> Result<ListResult, StorageError> {
    let opts = ListOptions {
        revision,
        limit,
        start_key: start_key.map(str::to_owned),
    };
    store.list(prefix, &opts).await
}

/// The keys of a list.
fn keys(result: &ListResult) -> Vec<&str> {
    result.items.iter().map(|kv| kv.key.as_str()).collect()
}

/// Key and value of every item, for comparisons.
fn pairs(items: &[KeyValue]) -> Vec<(String, Vec<u8>)> {
    items
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect()
}

/// Creates `key` with a string value.
async fn put_new(store: &DynStorage, key: &str, value: &str) -> KeyValue {
    store
        .create(key, value.as_bytes().to_vec())
        .await
        .expect("create")
}

/// Overwrites `key` whatever its revision.
async fn put_over(store: &DynStorage, key: &str, value: &str) -> KeyValue {
    let current = store.get(key).await.expect("get").expect("key present");
    store
        .update(key, value.as_bytes().to_vec(), current.mod_revision)
        .await
        .expect("update")
}

/// Pages through `prefix` at `revision` with `limit` items per page, continuing after the
/// last key like the apiserver's continue tokens.
async fn list_in_pages(
    store: &DynStorage,
    prefix: &str,
    revision: Revision,
    limit: usize,
) -> Vec<KeyValue> {
    let mut all = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = list(store, prefix, Some(revision), Some(limit), start.as_deref())
            .await
            .expect("list page");
        assert_eq!(
            page.revision, revision,
            "a page reports the snapshot revision"
        );
        assert!(page.items.len() <= limit);
        all.extend(page.items.iter().cloned());
        if !page.more {
            return all;
        }
        let last = page.items.last().expect("a page with more has items");
        start = Some(format!("{}\0", last.key));
    }
}

// ---------------------------------------------------------------------------------------------
// The suite.

/// Create, get and the refusal to create twice.
async fn create_get_already_exists(store: DynStorage) {
    let created = put_new(&store, "/t/a", "one").await;
    assert_eq!(created.key, "/t/a");
    assert_eq!(created.value, b"one");
    assert!(created.create_revision > 0);
    assert_eq!(created.create_revision, created.mod_revision);

    assert_eq!(store.get("/t/a").await.unwrap(), Some(created.clone()));
    assert_eq!(store.get("/t/missing").await.unwrap(), None);

    let again = store.create("/t/a", b"two".to_vec()).await;
    assert_eq!(again, Err(StorageError::AlreadyExists("/t/a".into())));
    assert_eq!(store.get("/t/a").await.unwrap(), Some(created));
}

/// Updates succeed only on the expected revision.
async fn guarded_update(store: DynStorage) {
    let created = put_new(&store, "/t/u", "v1").await;
    let updated = store
        .update("/t/u", b"v2".to_vec(), created.mod_revision)
        .await
        .expect("update at the current revision");
    assert_eq!(updated.value, b"v2");
    assert_eq!(updated.create_revision, created.create_revision);
    assert!(updated.mod_revision > created.mod_revision);
    assert_eq!(store.get("/t/u").await.unwrap(), Some(updated.clone()));

    let stale = store
        .update("/t/u", b"v3".to_vec(), created.mod_revision)
        .await;
    assert_eq!(
        stale,
        Err(StorageError::Conflict {
            key: "/t/u".into(),
            expected: created.mod_revision,
            actual: updated.mod_revision,
        })
    );
    assert_eq!(store.get("/t/u").await.unwrap(), Some(updated));

    let missing = store.update("/t/none", b"x".to_vec(), 5).await;
    assert_eq!(missing, Err(StorageError::NotFound("/t/none".into())));
    // Revision 0 must not match an absent key (etcd reports mod_revision 0 for those).
    let zero = store.update("/t/none", b"x".to_vec(), 0).await;
    assert_eq!(zero, Err(StorageError::NotFound("/t/none".into())));
    assert_eq!(store.get("/t/none").await.unwrap(), None);
}

/// Deletes succeed only on the expected revision and report the last value.
async fn guarded_delete(store: DynStorage) {
    let created = put_new(&store, "/t/d", "v1").await;
    let updated = put_over(&store, "/t/d", "v2").await;

    let stale = store.delete("/t/d", Some(created.mod_revision)).await;
    assert_eq!(
        stale,
        Err(StorageError::Conflict {
            key: "/t/d".into(),
            expected: created.mod_revision,
            actual: updated.mod_revision,
        })
    );

    let deleted = store
        .delete("/t/d", Some(updated.mod_revision))
        .await
        .expect("guarded delete");
    assert_eq!(deleted.key, "/t/d");
    assert_eq!(deleted.value, b"v2");
    assert_eq!(deleted.create_revision, created.create_revision);
    assert!(
        deleted.mod_revision > updated.mod_revision,
        "the deletion's own revision"
    );
    assert_eq!(
        store.current_revision().await.unwrap(),
        deleted.mod_revision
    );
    assert_eq!(store.get("/t/d").await.unwrap(), None);

    assert_eq!(
        store.delete("/t/d", None).await,
        Err(StorageError::NotFound("/t/d".into()))
    );
    assert_eq!(
        store.delete("/t/d", Some(1)).await,
        Err(StorageError::NotFound("/t/d".into()))
    );

    put_new(&store, "/t/d2", "x").await;
    let unguarded = store.delete("/t/d2", None).await.expect("unguarded delete");
    assert_eq!(unguarded.value, b"x");
    assert_eq!(store.get("/t/d2").await.unwrap(), None);
}

/// A prefix lists exactly its keys, in key order.
async fn list_prefix_isolation(store: DynStorage) {
    for key in ["/a/2", "/ab/1", "/a/1", "/a", "/b/1", "/a/3/x"] {
        put_new(&store, key, key).await;
    }
    let current = store.current_revision().await.unwrap();

    let a = list(&store, "/a/", None, None, None).await.unwrap();
    assert_eq!(keys(&a), ["/a/1", "/a/2", "/a/3/x"]);
    assert_eq!(a.revision, current);
    assert!(!a.more);
    assert_eq!(a.items[0].value, b"/a/1");

    let ab = list(&store, "/ab/", None, None, None).await.unwrap();
    assert_eq!(keys(&ab), ["/ab/1"]);
    let none = list(&store, "/c/", None, None, None).await.unwrap();
    assert!(none.items.is_empty());
    assert_eq!(none.revision, current);

    let all = list(&store, "/", None, None, None).await.unwrap();
    assert_eq!(
        keys(&all),
        ["/a", "/a/1", "/a/2", "/a/3/x", "/ab/1", "/b/1"]
    );
    // A start key outside the prefix range yields nothing, inside it resumes there.
    let past = list(&store, "/a/", None, None, Some("/b")).await.unwrap();
    assert!(past.items.is_empty());
    let from_2 = list(&store, "/a/", None, None, Some("/a/2")).await.unwrap();
    assert_eq!(keys(&from_2), ["/a/2", "/a/3/x"]);
}

/// Pages at a fixed revision form the snapshot of that revision even when keys change,
/// appear and disappear between pages.
async fn paging_snapshot(store: DynStorage) {
    for i in 0..10 {
        put_new(&store, &format!("/p/{i:02}"), &format!("v{i}")).await;
    }
    put_new(&store, "/q/outside", "x").await;
    let first = list(&store, "/p/", None, Some(4), None).await.unwrap();
    let snapshot = first.revision;
    assert_eq!(keys(&first), ["/p/00", "/p/01", "/p/02", "/p/03"]);
    assert!(first.more);
    assert_eq!(first.remaining, Some(6));

    // Writes between pages: before, inside and after the unread part of the range.
    put_over(&store, "/p/05", "changed").await;
    store.delete("/p/06", None).await.unwrap();
    put_new(&store, "/p/045", "new").await;
    put_new(&store, "/p/99", "new").await;
    put_over(&store, "/p/00", "changed").await;

    let second = list(&store, "/p/", Some(snapshot), Some(4), Some("/p/03\0"))
        .await
        .unwrap();
    assert_eq!(second.revision, snapshot);
    assert_eq!(keys(&second), ["/p/04", "/p/05", "/p/06", "/p/07"]);
    assert_eq!(second.items[1].value, b"v5");
    assert!(second.more);
    assert_eq!(second.remaining, Some(2));
    let third = list(&store, "/p/", Some(snapshot), Some(4), Some("/p/07\0"))
        .await
        .unwrap();
    assert_eq!(keys(&third), ["/p/08", "/p/09"]);
    assert!(!third.more);
    assert_eq!(third.remaining, Some(0));

    let paged = list_in_pages(&store, "/p/", snapshot, 3).await;
    let expected: Vec<_> = (0..10)
        .map(|i| (format!("/p/{i:02}"), format!("v{i}").into_bytes()))
        .collect();
    assert_eq!(pairs(&paged), expected);

    let latest = list(&store, "/p/", None, None, None).await.unwrap();
    assert_eq!(latest.items.len(), 11);
    assert!(latest.revision > snapshot);
}

/// Paging at a revision agrees with one full list at that revision while writers run.
async fn paging_under_concurrent_writes(store: DynStorage) {
    for i in 0..20 {
        put_new(&store, &format!("/cw/{i:02}"), "0").await;
    }
    let writer_store = store.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_writer = stop.clone();
    let writer = tokio::spawn(async move {
        let mut round = 0u32;
        while !stop_writer.load(std::sync::atomic::Ordering::SeqCst) {
            round += 1;
            let i = round % 20;
            put_over(&writer_store, &format!("/cw/{i:02}"), &round.to_string()).await;
            let extra = format!("/cw/{i:02}-{round}");
            put_new(&writer_store, &extra, "extra").await;
            writer_store.delete(&extra, None).await.unwrap();
        }
        round
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let snapshot = list(&store, "/cw/", None, Some(1), None)
        .await
        .unwrap()
        .revision;
    let paged = list_in_pages(&store, "/cw/", snapshot, 3).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let rounds = writer.await.unwrap();
    let full = list(&store, "/cw/", Some(snapshot), None, None)
        .await
        .unwrap();
    assert_eq!(paged, full.items);
    let base = full.items.iter().filter(|kv| kv.value != b"extra").count();
    assert_eq!(base, 20);
    // The writer deletes each extra key right after creating it: at most one is live.
    assert!(full.items.len() <= 21, "{:?}", keys(&full));
    assert!(full.items.iter().all(|kv| kv.mod_revision <= snapshot));
    assert!(rounds > 0);
}

/// A list at an older revision sees the values of that time.
async fn list_at_old_revision(store: DynStorage) {
    let v1 = put_new(&store, "/o/k", "v1").await;
    let v2 = put_over(&store, "/o/k", "v2").await;
    let other = put_new(&store, "/o/l", "l").await;
    let gone = store.delete("/o/k", None).await.unwrap();

    let at_v1 = list(&store, "/o/", Some(v1.mod_revision), None, None)
        .await
        .unwrap();
    assert_eq!(at_v1.items, vec![v1.clone()]);
    assert_eq!(at_v1.revision, v1.mod_revision);
    let at_v2 = list(&store, "/o/", Some(v2.mod_revision), None, None)
        .await
        .unwrap();
    assert_eq!(at_v2.items, vec![v2.clone()]);
    let at_other = list(&store, "/o/", Some(other.mod_revision), None, None)
        .await
        .unwrap();
    assert_eq!(at_other.items, vec![v2, other.clone()]);
    let at_gone = list(&store, "/o/", Some(gone.mod_revision), None, None)
        .await
        .unwrap();
    assert_eq!(at_gone.items, vec![other]);
    let before = list(&store, "/o/", Some(v1.mod_revision - 1), None, None).await;
    assert!(before.unwrap().items.is_empty());
}

/// Compaction keeps snapshots at or after its revision and refuses older ones.
async fn compaction(store: DynStorage) {
    let a1 = put_new(&store, "/c/a", "a1").await;
    let a2 = put_over(&store, "/c/a", "a2").await;
    let b = put_new(&store, "/c/b", "b").await;
    let b_gone = store.delete("/c/b", None).await.unwrap();
    let a3 = put_over(&store, "/c/a", "a3").await;
    let d = put_new(&store, "/c/d", "d").await;

    store.compact(b.mod_revision).await.expect("compact");
    // At the compaction point, each key's newest version at or before it survives.
    let at_b = list(&store, "/c/", Some(b.mod_revision), None, None)
        .await
        .unwrap();
    assert_eq!(at_b.items, vec![a2.clone(), b.clone()]);
    let at_gone = list(&store, "/c/", Some(b_gone.mod_revision), None, None)
        .await
        .unwrap();
    assert_eq!(at_gone.items, vec![a2.clone()]);
    let old = list(&store, "/c/", Some(a1.mod_revision), None, None).await;
    assert!(
        matches!(old, Err(StorageError::Compacted { requested, compacted })
            if requested == a1.mod_revision && compacted == b.mod_revision),
        "{old:?}"
    );

    store
        .compact(a3.mod_revision)
        .await
        .expect("compact further");
    let at_a3 = list(&store, "/c/", Some(a3.mod_revision), None, None)
        .await
        .unwrap();
    assert_eq!(at_a3.items, vec![a3.clone()]);
    let now = list(&store, "/c/", Some(d.mod_revision), None, None)
        .await
        .unwrap();
    assert_eq!(now.items, vec![a3.clone(), d.clone()]);
    let old = list(&store, "/c/", Some(b_gone.mod_revision), None, Some("/c/a")).await;
    assert!(
        matches!(old, Err(StorageError::Compacted { .. })),
        "{old:?}"
    );

    let watch = store.watch("/c/", b.mod_revision).await;
    assert!(
        matches!(watch, Err(StorageError::Compacted { compacted, .. }) if compacted == a3.mod_revision),
        "{:?}",
        watch.err()
    );
    // Watching from the compaction point itself still works: it needs later events only.
    let mut stream = store
        .watch("/c/", a3.mod_revision)
        .await
        .expect("watch from compaction");
    let event = next_event(&mut stream).await;
    assert_eq!((event.kind, event.kv), (EventKind::Created, d));

    let again = store.compact(a3.mod_revision).await;
    assert!(
        matches!(again, Err(StorageError::Compacted { .. })),
        "{again:?}"
    );
    let latest = list(&store, "/c/", None, None, None).await.unwrap();
    assert_eq!(keys(&latest), ["/c/a", "/c/d"]);
}

/// Revisions beyond the current one are refused.
async fn future_revision(store: DynStorage) {
    put_new(&store, "/f/a", "x").await;
    let current = store.current_revision().await.unwrap();
    let read = list(&store, "/f/", Some(current + 10), None, None).await;
    assert_eq!(
        read.unwrap_err(),
        StorageError::FutureRevision {
            requested: current + 10,
            current
        }
    );
    let compact = store.compact(current + 10).await;
    assert!(
        matches!(compact, Err(StorageError::FutureRevision { .. })),
        "{compact:?}"
    );
    // The current revision itself is fine.
    let now = list(&store, "/f/", Some(current), None, None)
        .await
        .unwrap();
    assert_eq!(keys(&now), ["/f/a"]);
}

/// A watch replays history after its start revision, then follows live writes, in order,
/// filtered by prefix, with previous values.
async fn watch_replay_then_live(store: DynStorage) {
    let start = store.current_revision().await.unwrap();
    let a1 = put_new(&store, "/w/a", "a1").await;
    put_new(&store, "/wx/other", "no").await;
    let a2 = put_over(&store, "/w/a", "a2").await;

    let mut stream = store.watch("/w/", start).await.expect("watch");
    let created = next_event(&mut stream).await;
    assert_eq!(
        created,
        WatchEvent {
            kind: EventKind::Created,
            kv: a1.clone(),
            prev: None
        }
    );
    let modified = next_event(&mut stream).await;
    assert_eq!(modified.kind, EventKind::Modified);
    assert_eq!(modified.kv, a2);
    assert_eq!(modified.prev, Some(a1));

    let b = put_new(&store, "/w/b", "b").await;
    put_new(&store, "/x/ignored", "no").await;
    let deleted = store.delete("/w/a", Some(a2.mod_revision)).await.unwrap();
    let live_created = next_event(&mut stream).await;
    assert_eq!(
        (live_created.kind, live_created.kv),
        (EventKind::Created, b)
    );
    let live_deleted = next_event(&mut stream).await;
    assert_eq!(live_deleted.kind, EventKind::Deleted);
    assert_eq!(live_deleted.kv, deleted);
    assert_eq!(live_deleted.prev, Some(a2));
    assert_quiet(&mut stream).await;
}

/// `from = 0` starts at the current revision: nothing older is replayed.
async fn watch_from_now(store: DynStorage) {
    put_new(&store, "/n/old", "old").await;
    let mut stream = store.watch("/n/", 0).await.expect("watch");
    let fresh = put_new(&store, "/n/new", "new").await;
    let event = next_event(&mut stream).await;
    assert_eq!(event.kv, fresh);
    assert_quiet(&mut stream).await;
}

/// A client that reconnects with its last seen revision misses nothing and sees nothing twice.
async fn watch_resume(store: DynStorage) {
    let start = store.current_revision().await.unwrap();
    let mut written = Vec::new();
    for i in 0..3 {
        written.push(put_new(&store, &format!("/r/{i}"), "x").await);
    }
    let mut stream = store.watch("/r/", start).await.expect("watch");
    let mut last_seen = start;
    for expected in &written[..2] {
        let event = next_event(&mut stream).await;
        assert_eq!(&event.kv, expected);
        last_seen = event.kv.mod_revision;
    }
    drop(stream);
    for i in 3..5 {
        written.push(put_new(&store, &format!("/r/{i}"), "x").await);
    }
    let mut resumed = store.watch("/r/", last_seen).await.expect("resume");
    for expected in &written[2..] {
        let event = next_event(&mut resumed).await;
        assert_eq!(&event.kv, expected);
    }
    written.push(put_new(&store, "/r/live", "x").await);
    assert_eq!(&next_event(&mut resumed).await.kv, written.last().unwrap());
    assert_quiet(&mut resumed).await;
}

/// Deletion events carry the last value at the deletion's revision, and the previous value.
async fn deleted_events(store: DynStorage) {
    let mut stream = store.watch("/del/", 0).await.expect("watch");
    let created = put_new(&store, "/del/k", "v1").await;
    let updated = put_over(&store, "/del/k", "v2").await;
    let deleted = store
        .delete("/del/k", Some(updated.mod_revision))
        .await
        .unwrap();
    let kinds = [EventKind::Created, EventKind::Modified, EventKind::Deleted];
    let mut events = Vec::new();
    for kind in kinds {
        let event = next_event(&mut stream).await;
        assert_eq!(event.kind, kind);
        events.push(event);
    }
    let gone = &events[2];
    assert_eq!(gone.kv.key, "/del/k");
    assert_eq!(gone.kv.value, b"v2");
    assert_eq!(gone.kv.create_revision, created.create_revision);
    assert_eq!(gone.kv.mod_revision, deleted.mod_revision);
    assert_eq!(gone.prev.as_ref(), Some(&updated));

    // Recreating the key starts a new life with a new create revision.
    let reborn = put_new(&store, "/del/k", "v3").await;
    let event = next_event(&mut stream).await;
    assert_eq!((event.kind, event.prev), (EventKind::Created, None));
    assert_eq!(event.kv.create_revision, reborn.mod_revision);
}

/// Racing updates on one revision: exactly one wins, the others see its revision.
async fn concurrent_guarded_updates(store: DynStorage) {
    let base = put_new(&store, "/race/k", "base").await;
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let value = format!("racer{i}").into_bytes();
            tokio::spawn(async move { store.update("/race/k", value, base.mod_revision).await })
        })
        .collect();
    let mut winners = Vec::new();
    let mut conflicts = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            Ok(kv) => winners.push(kv),
            Err(StorageError::Conflict {
                actual, expected, ..
            }) => {
                assert_eq!(expected, base.mod_revision);
                conflicts.push(actual);
            }
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one racer wins");
    assert_eq!(conflicts.len(), 7);
    let winner = &winners[0];
    assert!(conflicts
        .iter()
        .all(|actual| *actual == winner.mod_revision));
    assert_eq!(store.get("/race/k").await.unwrap().as_ref(), Some(winner));
}

/// Every successful write gets a larger revision; failed writes take none.
async fn revision_monotonicity(store: DynStorage) {
    let mut last = store.current_revision().await.unwrap();
    for i in 0..5 {
        let kv = put_new(&store, &format!("/m/{i}"), "x").await;
        assert!(kv.mod_revision > last);
        last = kv.mod_revision;
        let kv = put_over(&store, &format!("/m/{i}"), "y").await;
        assert!(kv.mod_revision > last);
        last = kv.mod_revision;
    }
    assert_eq!(store.current_revision().await.unwrap(), last);
    let _ = store.create("/m/0", b"dup".to_vec()).await.unwrap_err();
    let _ = store.update("/m/0", b"z".to_vec(), 1).await.unwrap_err();
    let _ = store.delete("/m/none", None).await.unwrap_err();
    assert_eq!(
        store.current_revision().await.unwrap(),
        last,
        "failures take no revision"
    );

    // Concurrent writers get distinct revisions, and a watcher sees them all in order.
    let mut stream = store.watch("/m/", last).await.expect("watch");
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut revs = Vec::new();
                for i in 0..10 {
                    revs.push(
                        put_new(&store, &format!("/m/w{w}-{i}"), "x")
                            .await
                            .mod_revision,
                    );
                }
                revs
            })
        })
        .collect();
    let mut all = Vec::new();
    for writer in writers {
        let revs = writer.await.unwrap();
        assert!(revs.windows(2).all(|pair| pair[0] < pair[1]));
        all.extend(revs);
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 40, "no two writes share a revision");
    let mut seen = Vec::new();
    for _ in 0..40 {
        seen.push(next_event(&mut stream).await.kv.mod_revision);
    }
    assert_eq!(
        seen, all,
        "the watcher sees every write once, in revision order"
    );
}

/// Instantiates each suite function for every backend.
macro_rules! conformance_suite {
    ($($test:ident),* $(,)?) => {
        mod sled {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let backend = super::harness::SledBackend::new();
                    super::$test(backend.store()).await;
                }
            )*
        }

        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let server = super::harness::EtcdServer::start().await;
                    super::$test(server.store().await).await;
                }
            )*
        }
    };
}

conformance_suite!(
    create_get_already_exists,
    guarded_update,
    guarded_delete,
    list_prefix_isolation,
    paging_snapshot,
    paging_under_concurrent_writes,
    list_at_old_revision,
    compaction,
    future_revision,
    watch_replay_then_live,
    watch_from_now,
    watch_resume,
    deleted_events,
    concurrent_guarded_updates,
    revision_monotonicity,
);

// ---------------------------------------------------------------------------------------------
// Sled-only tests.

mod sled_only {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::Arc;

    use super::*;
    use crate::storage::sled_store::SledStore;
    use crate::storage::Storage;

    /// Set in the helper process of `survives_kill_9`: the directory to write into.
    const CRASH_DIR_ENV: &str = "RKUBE_SLED_CRASH_DIR";

    /// Data, revisions and history survive closing and reopening the store.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn durable_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second, last) = {
            let store: DynStorage = Arc::new(SledStore::open(dir.path()).unwrap());
            let first = put_new(&store, "/d/a", "one").await;
            let second = put_over(&store, "/d/a", "two").await;
            let last = put_new(&store, "/d/b", "b").await;
            (first, second, last)
        };
        let store: DynStorage = Arc::new(SledStore::open(dir.path()).unwrap());
        assert_eq!(store.current_revision().await.unwrap(), last.mod_revision);
        assert_eq!(store.get("/d/a").await.unwrap(), Some(second.clone()));
        let old = list(&store, "/d/", Some(first.mod_revision), None, None)
            .await
            .unwrap();
        assert_eq!(old.items, vec![first.clone()]);

        let mut stream = store.watch("/d/", 0).await.unwrap();
        let next = put_new(&store, "/d/c", "c").await;
        assert_eq!(
            next.mod_revision,
            last.mod_revision + 1,
            "the revision goes on"
        );
        assert_eq!(next_event(&mut stream).await.kv, next);
        let mut replay = store.watch("/d/", first.mod_revision - 1).await.unwrap();
        assert_eq!(next_event(&mut replay).await.kv, first);
        assert_eq!(next_event(&mut replay).await.kv, second);
    }

    /// Helper process for `survives_kill_9`; does nothing in a normal test run.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn crash_helper() {
        let Some(dir) = std::env::var_os(CRASH_DIR_ENV) else {
            return;
        };
        let store = SledStore::open(std::path::Path::new(&dir)).unwrap();
        for i in 0.. {
            let kv = store
                .create(&format!("/k9/{i:05}"), vec![b'x'; 100])
                .await
                .unwrap();
            // Only acknowledged (returned, hence flushed) writes are reported.
            println!("acked {} {}", kv.key, kv.mod_revision);
        }
    }

    /// Every acknowledged write survives a SIGKILL of the writing process.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn survives_kill_9() {
        let dir = tempfile::tempdir().unwrap();
        let module = module_path!()
            .split_once("::")
            .map_or(module_path!(), |(_, rest)| rest);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([&format!("{module}::crash_helper"), "--exact", "--nocapture"])
            .env(CRASH_DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let acked = tokio::task::spawn_blocking(move || {
            let mut acked = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                if let Some(rest) = line.strip_prefix("acked ") {
                    let (key, rev) = rest.split_once(' ').unwrap();
                    acked.push((key.to_owned(), rev.parse::<Revision>().unwrap()));
                    if acked.len() == 30 {
                        break;
                    }
                }
            }
            acked
        })
        .await
        .unwrap();
        // SIGKILL while the helper keeps writing: no chance to flush anything more.
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(acked.len(), 30, "the helper wrote");

        let store: DynStorage = Arc::new(SledStore::open(dir.path()).unwrap());
        let current = store.current_revision().await.unwrap();
        for (key, rev) in &acked {
            let kv = store
                .get(key)
                .await
                .unwrap()
                .expect("acknowledged key survives");
            assert_eq!(kv.mod_revision, *rev);
        }
        assert!(current >= acked.last().unwrap().1);
        // Whatever survived beyond the acknowledged writes is consistent: one key per
        // revision, and the log replays all of them.
        let all = list(&store, "/k9/", None, None, None).await.unwrap();
        let first = all.items.first().expect("keys survived").mod_revision;
        assert_eq!(all.items.len() as u64, current - first + 1);
        let mut stream = store.watch("/k9/", current - 3).await.unwrap();
        for kv in &all.items[all.items.len() - 3..] {
            assert_eq!(&next_event(&mut stream).await.kv, kv);
        }
        let next = put_new(&store, "/k9/after", "x").await;
        assert_eq!(next.mod_revision, current + 1);
    }

    /// A watcher that falls behind the live channel catches up from the log, in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_watcher_catches_up() {
        let dir = tempfile::tempdir().unwrap();
        let store: DynStorage =
            Arc::new(SledStore::open_with_watch_capacity(dir.path(), 4).unwrap());
        let mut stream = store.watch("/s/", 0).await.unwrap();
        let mut written = Vec::new();
        for i in 0..40 {
            written.push(put_new(&store, &format!("/s/{i:02}"), "x").await);
        }
        for kv in &written {
            assert_eq!(&next_event(&mut stream).await.kv, kv);
        }
        let live = put_new(&store, "/s/live", "x").await;
        assert_eq!(next_event(&mut stream).await.kv, live);
    }

    /// A watcher so slow that compaction removed events it has not read gets `Compacted`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_watcher_overtaken_by_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let store: DynStorage =
            Arc::new(SledStore::open_with_watch_capacity(dir.path(), 4).unwrap());
        let mut stream = store.watch("/s/", 0).await.unwrap();
        for i in 0..20 {
            put_new(&store, &format!("/s/{i:02}"), "x").await;
        }
        let current = store.current_revision().await.unwrap();
        store.compact(current - 5).await.unwrap();
        let item = tokio::time::timeout(WAIT, stream.next()).await.unwrap();
        assert!(
            matches!(item, Some(Err(StorageError::Compacted { .. }))),
            "{item:?}"
        );
        assert!(
            stream.next().await.is_none(),
            "the stream ends after the error"
        );
    }

    /// Keys with a NUL byte would corrupt the history layout and are refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_nul_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let before = store.current_revision().await.unwrap();
        let result = store.create("/bad/\0key", b"x".to_vec()).await;
        assert!(
            matches!(result, Err(StorageError::Backend(_))),
            "{result:?}"
        );
        assert_eq!(store.current_revision().await.unwrap(), before);
    }
}

// ---------------------------------------------------------------------------------------------
// Backends under test.

mod harness {
    use std::fs::File;
    use std::net::TcpListener;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use tempfile::TempDir;

    use crate::storage::etcd_store::EtcdStore;
    use crate::storage::sled_store::SledStore;
    use crate::storage::DynStorage;

    /// Environment variable naming the etcd binary; `etcd` on the `PATH` otherwise.
    const ETCD_ENV: &str = "RKUBE_ETCD";
    /// How long etcd gets to start answering.
    const ETCD_START: Duration = Duration::from_secs(20);

    /// A sled store in a temporary directory, removed on drop.
    pub struct SledBackend {
        store: DynStorage,
        _dir: TempDir,
    }

    impl SledBackend {
        pub fn new() -> Self {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Arc::new(SledStore::open(dir.path()).expect("open sled"));
            Self { store, _dir: dir }
        }

        pub fn store(&self) -> DynStorage {
            self.store.clone()
        }
    }

    /// A private single-member etcd on free loopback ports, killed on drop.
    pub struct EtcdServer {
        child: Child,
        endpoint: String,
        dir: TempDir,
    }

    impl EtcdServer {
        /// Starts etcd, retrying with new ports if they were taken meanwhile.
        pub async fn start() -> Self {
            let mut failures = Vec::new();
            for _ in 0..3 {
                match Self::try_start().await {
                    Ok(server) => return server,
                    Err(err) => failures.push(err),
                }
            }
            panic!("could not start etcd (install Debian's etcd-server or set {ETCD_ENV}): {failures:#?}");
        }

        /// A fresh client of this server.
        pub async fn store(&self) -> DynStorage {
            let endpoints = [self.endpoint.clone()];
            Arc::new(
                EtcdStore::connect(&endpoints)
                    .await
                    .expect("connect to etcd"),
            )
        }

        async fn try_start() -> Result<Self, String> {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let (client_port, peer_port) = free_ports();
            let client_url = format!("http://127.0.0.1:{client_port}");
            let peer_url = format!("http://127.0.0.1:{peer_port}");
            let log = File::create(dir.path().join("etcd.log")).map_err(|e| e.to_string())?;
            let binary = std::env::var(ETCD_ENV).unwrap_or_else(|_| "etcd".into());
            let child = Command::new(&binary)
                .arg("--name=rkube-test")
                .arg(format!("--data-dir={}", dir.path().join("data").display()))
                .arg(format!("--listen-client-urls={client_url}"))
                .arg(format!("--advertise-client-urls={client_url}"))
                .arg(format!("--listen-peer-urls={peer_url}"))
                .arg(format!("--initial-advertise-peer-urls={peer_url}"))
                .arg(format!("--initial-cluster=rkube-test={peer_url}"))
                .arg("--initial-cluster-state=new")
                // Short timers: a single member elects itself sooner.
                .arg("--heartbeat-interval=50")
                .arg("--election-timeout=500")
                .arg("--logger=zap")
                .arg("--log-level=warn")
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log)
                .spawn()
                .map_err(|e| format!("cannot run {binary}: {e}"))?;
            let mut server = Self {
                child,
                endpoint: client_url,
                dir,
            };
            server.wait_ready().await?;
            Ok(server)
        }

        /// Polls until etcd answers, or fails (with its log) if it exits or takes too long.
        async fn wait_ready(&mut self) -> Result<(), String> {
            let deadline = Instant::now() + ETCD_START;
            let endpoints = [self.endpoint.clone()];
            loop {
                if let Ok(Some(status)) = self.child.try_wait() {
                    return Err(format!("etcd exited with {status}: {}", self.log()));
                }
                let attempt = EtcdStore::connect(&endpoints);
                if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(2), attempt).await {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(format!("etcd did not answer in time: {}", self.log()));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }

        fn log(&self) -> String {
            std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
        }
    }

    impl Drop for EtcdServer {
        fn drop(&mut self) {
            // SIGKILL: the data dir is thrown away anyway.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Two distinct free loopback ports (both listeners are held until both are chosen).
    fn free_ports() -> (u16, u16) {
        let first = TcpListener::bind("127.0.0.1:0").expect("bind");
        let second = TcpListener::bind("127.0.0.1:0").expect("bind");
        let ports = (
            first.local_addr().expect("addr").port(),
            second.local_addr().expect("addr").port(),
        );
        (ports.0, ports.1)
    }
}
