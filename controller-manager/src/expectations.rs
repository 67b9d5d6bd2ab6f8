//! Controller expectations, as upstream's `UIDTrackingControllerExpectations`: after a
//! controller asks for N creations (or deletions of named pods) it waits until its informer
//! has seen them before acting again, so a lagging cache never makes it create or delete
//! twice. Expectations expire after five minutes, like upstream's.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long unmet expectations hold a controller back (upstream `ExpectationsTimeout`).
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Expected {
    adds: i64,
    deletes: HashSet<String>,
    set_at: Instant,
}

/// Outstanding creations and deletions per controller key (`namespace/name`).
#[derive(Debug, Default)]
pub struct Expectations {
    inner: Mutex<HashMap<String, Expected>>,
}

impl Expectations {
    /// No expectations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the controller may act: no record, everything observed, or expired.
    pub fn satisfied(&self, key: &str) -> bool {
        self.satisfied_at(key, Instant::now())
    }

    fn satisfied_at(&self, key: &str, now: Instant) -> bool {
        let map = self.inner.lock().expect("expectations lock");
        match map.get(key) {
            None => true,
            Some(e) => (e.adds <= 0 && e.deletes.is_empty()) || now.duration_since(e.set_at) > EXPECTATIONS_TIMEOUT,
        }
    }

    /// Expects `count` pods to be created.
    pub fn expect_creations(&self, key: &str, count: usize) {
        let mut map = self.inner.lock().expect("expectations lock");
        map.insert(key.to_string(), Expected { adds: count as i64, deletes: HashSet::new(), set_at: Instant::now() });
    }

    /// Expects the pods with these keys to be deleted.
    pub fn expect_deletions(&self, key: &str, pod_keys: impl IntoIterator<Item = String>) {
        let mut map = self.inner.lock().expect("expectations lock");
        map.insert(key.to_string(), Expected { adds: 0, deletes: pod_keys.into_iter().collect(), set_at: Instant::now() });
    }

    /// One expected creation was observed (or will never happen).
    pub fn creation_observed(&self, key: &str) {
        if let Some(e) = self.inner.lock().expect("expectations lock").get_mut(key) {
            e.adds -= 1;
        }
    }

    /// The deletion of this pod was observed (or will never happen).
    pub fn deletion_observed(&self, key: &str, pod_key: &str) {
        if let Some(e) = self.inner.lock().expect("expectations lock").get_mut(key) {
            e.deletes.remove(pod_key);
        }
    }

    /// Forgets a controller (it was deleted).
    pub fn delete(&self, key: &str) {
        self.inner.lock().expect("expectations lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_and_deletions_must_be_observed() {
        let e = Expectations::new();
        assert!(e.satisfied("ns/rs"));
        e.expect_creations("ns/rs", 2);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
        e.expect_deletions("ns/rs", ["ns/a".to_string(), "ns/b".to_string()]);
        e.deletion_observed("ns/rs", "ns/a");
        e.deletion_observed("ns/rs", "ns/a");
        assert!(!e.satisfied("ns/rs"));
        e.deletion_observed("ns/rs", "ns/b");
        assert!(e.satisfied("ns/rs"));
    }

    #[test]
    fn expectations_expire() {
        let e = Expectations::new();
        e.expect_creations("k", 1);
        assert!(!e.satisfied_at("k", Instant::now()));
        assert!(e.satisfied_at("k", Instant::now() + EXPECTATIONS_TIMEOUT + Duration::from_secs(1)));
        e.delete("k");
        assert!(e.satisfied("k"));
    }
}
