//! Crash-loop back-off per container (upstream's flowcontrol.Backoff as the kubelet uses
//! it): the first restart is immediate, then 10 s, doubling up to 5 min; an entry idle for
//! twice the maximum starts over.

use std::collections::HashMap;

/// Nanoseconds since the epoch (the runtime's clock unit).
pub type Nanos = i64;

const SECOND: Nanos = 1_000_000_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    delay: Nanos,
    last_update: Nanos,
}

/// Back-off book of one pod's containers.
#[derive(Debug, Clone)]
pub struct Backoff {
    entries: HashMap<String, Entry>,
    initial: Nanos,
    max: Nanos,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(10 * SECOND, 300 * SECOND)
    }
}

impl Backoff {
    /// A book with the given initial and maximum delays (nanoseconds).
    pub fn new(initial: Nanos, max: Nanos) -> Self {
        Backoff { entries: HashMap::new(), initial, max }
    }

    fn live(&self, key: &str, now: Nanos) -> Option<Entry> {
        self.entries.get(key).copied().filter(|e| now - e.last_update <= 2 * self.max)
    }

    /// Whether a restart of `key` must wait: the container finished at `finished` and its
    /// current delay has not passed yet.
    pub fn in_backoff_since(&self, key: &str, finished: Nanos, now: Nanos) -> bool {
        self.live(key, now).is_some_and(|e| now - finished < e.delay)
    }

    /// The current delay of `key` (0 when it has none).
    pub fn delay(&self, key: &str, now: Nanos) -> Nanos {
        self.live(key, now).map(|e| e.delay).unwrap_or(0)
    }

    /// Records a restart of `key` at `now`, growing its delay.
    pub fn next(&mut self, key: &str, now: Nanos) {
        let delay = match self.live(key, now) {
            None => self.initial,
            Some(e) => (e.delay * 2).min(self.max),
        };
        self.entries.insert(key.to_string(), Entry { delay, last_update: now });
    }

    /// When the container finished at `finished` may restart.
    pub fn ready_at(&self, key: &str, finished: Nanos, now: Nanos) -> Nanos {
        finished + self.delay(key, now)
    }
}

/// "5m0s"-style rendering of a delay, as upstream's messages print it.
pub fn go_duration(nanos: Nanos) -> String {
    let secs = nanos / SECOND;
    if secs >= 60 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_five_minutes() {
        let mut b = Backoff::default();
        let mut now = 1000 * SECOND;
        assert!(!b.in_backoff_since("c", now, now), "first restart is immediate");
        let mut seen = vec![];
        for _ in 0..7 {
            b.next("c", now);
            seen.push(b.delay("c", now) / SECOND);
            let finished = now + SECOND;
            assert!(b.in_backoff_since("c", finished, finished + SECOND));
            now = b.ready_at("c", finished, finished);
            assert!(!b.in_backoff_since("c", finished, now));
        }
        assert_eq!(seen, vec![10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(go_duration(300 * SECOND), "5m0s");
        assert_eq!(go_duration(20 * SECOND), "20s");
    }

    #[test]
    fn idle_entries_reset() {
        let mut b = Backoff::default();
        b.next("c", 0);
        b.next("c", SECOND);
        assert_eq!(b.delay("c", SECOND), 20 * SECOND);
        let later = SECOND + 601 * SECOND;
        assert_eq!(b.delay("c", later), 0);
        b.next("c", later);
        assert_eq!(b.delay("c", later), 10 * SECOND);
    }
}
