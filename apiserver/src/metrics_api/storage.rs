//! The last two scrapes of every node and container, and the usage computed from them, as
//! metrics-server keeps them: CPU is the rate of the cumulative core-nanoseconds between the
//! two points (the window is the time between them), memory is the last working set.
//!
//! A point is only moved to "previous" when a newer one arrives, and a container that
//! restarted (its start time is after the stored point) starts over. A container that started
//! less than one resolution ago (but at least 10 s ago) gets a synthetic previous point at
//! its start time with zero CPU, so fresh pods get metrics after one scrape. No IO here.

use std::collections::{BTreeMap, HashMap};

/// Nanoseconds since the Unix epoch.
pub type Nanos = i64;

/// metrics-server's `freshContainerMinMetricsResolution`.
const FRESH_CONTAINER_MIN: Nanos = 10_000_000_000;

/// One measurement of a node or a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    /// When the node or container started (cumulative CPU was zero then).
    pub start: Nanos,
    /// When the CPU counter was read.
    pub timestamp: Nanos,
    /// Cumulative CPU time since `start`, in core-nanoseconds.
    pub cpu: u64,
    /// Working set, in bytes.
    pub memory: u64,
}

/// Usage over a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// The end of the window (the last point's timestamp).
    pub timestamp: Nanos,
    /// Length of the window in nanoseconds.
    pub window: Nanos,
    /// CPU in nanocores (core-nanoseconds per second).
    pub cpu_nanocores: u64,
    /// Working set in bytes.
    pub memory: u64,
}

/// The usage between two points of the same node or container; `None` when they do not form
/// a window (restart in between, counter going back, no time elapsed).
pub fn usage(last: &Point, prev: &Point) -> Option<Usage> {
    if last.start < prev.start || last.cpu < prev.cpu || last.timestamp <= prev.timestamp {
        return None;
    }
    let window = last.timestamp - prev.timestamp;
    let cpu = (last.cpu - prev.cpu) as u128 * 1_000_000_000 / window as u128;
    Some(Usage { timestamp: last.timestamp, window, cpu_nanocores: u64::try_from(cpu).unwrap_or(u64::MAX), memory: last.memory })
}

/// The previous point to keep beside a new one: the stored last point when the new one is
/// newer, else the stored previous point when still older than the new one.
fn keep_previous(new: &Point, last: Option<&Point>, prev: Option<&Point>) -> Option<Point> {
    let last = last?;
    if new.timestamp > last.timestamp {
        Some(*last)
    } else {
        prev.filter(|p| p.timestamp < new.timestamp).copied()
    }
}

/// Node points.
#[derive(Default, Debug)]
pub struct NodeStore {
    last: HashMap<String, Point>,
    prev: HashMap<String, Point>,
}

impl NodeStore {
    /// Replaces the stored nodes with one scrape (nodes absent from it are forgotten).
    pub fn store(&mut self, batch: impl IntoIterator<Item = (String, Point)>) {
        let mut last = HashMap::new();
        let mut prev = HashMap::new();
        for (name, point) in batch {
            if last.contains_key(&name) {
                continue;
            }
            if let Some(p) = keep_previous(&point, self.last.get(&name), self.prev.get(&name)) {
                prev.insert(name.clone(), p);
            }
            last.insert(name, point);
        }
        self.last = last;
        self.prev = prev;
    }

    /// The usage of a node, once two points are known.
    pub fn get(&self, name: &str) -> Option<Usage> {
        usage(self.last.get(name)?, self.prev.get(name)?)
    }
}

/// A pod's containers in one scrape.
#[derive(Clone, Debug)]
pub struct PodPoint {
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod.
    pub name: String,
    /// (container name, point).
    pub containers: Vec<(String, Point)>,
}

type PodKey = (String, String);

/// The usage of one pod: the earliest container window, and each container's usage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodUsage {
    /// End of the earliest container window.
    pub timestamp: Nanos,
    /// Length of that window.
    pub window: Nanos,
    /// (container name, usage), by container name.
    pub containers: Vec<(String, Usage)>,
}

/// Container points, by pod.
#[derive(Default, Debug)]
pub struct PodStore {
    last: HashMap<PodKey, BTreeMap<String, Point>>,
    prev: HashMap<PodKey, BTreeMap<String, Point>>,
}

impl PodStore {
    /// Replaces the stored pods with one scrape taken every `resolution` nanoseconds.
    pub fn store(&mut self, batch: impl IntoIterator<Item = PodPoint>, resolution: Nanos) {
        let mut last_pods = HashMap::new();
        let mut prev_pods = HashMap::new();
        for pod in batch {
            let key = (pod.namespace, pod.name);
            if last_pods.contains_key(&key) {
                continue;
            }
            let stored_last = self.last.get(&key);
            let stored_prev = self.prev.get(&key);
            let mut last = BTreeMap::new();
            let mut prev = BTreeMap::new();
            for (name, point) in pod.containers {
                if last.contains_key(&name) {
                    continue;
                }
                let age = point.timestamp - point.start;
                if point.start < point.timestamp && age < resolution && age >= FRESH_CONTAINER_MIN {
                    prev.insert(name.clone(), Point { timestamp: point.start, cpu: 0, ..point });
                } else if let Some(l) = stored_last.and_then(|c| c.get(&name)).filter(|l| point.start < l.timestamp) {
                    if let Some(p) = keep_previous(&point, Some(l), stored_prev.and_then(|c| c.get(&name))) {
                        prev.insert(name.clone(), p);
                    }
                }
                last.insert(name, point);
            }
            if !prev.is_empty() {
                prev_pods.insert(key.clone(), prev);
            }
            last_pods.insert(key, last);
        }
        self.last = last_pods;
        self.prev = prev_pods;
    }

    /// The usage of a pod, once every container has two points.
    pub fn get(&self, namespace: &str, name: &str) -> Option<PodUsage> {
        let key = (namespace.to_string(), name.to_string());
        let last = self.last.get(&key)?;
        let prev = self.prev.get(&key)?;
        let mut containers = Vec::with_capacity(last.len());
        let mut earliest: Option<(Nanos, Nanos)> = None;
        for (c, l) in last {
            let p = prev.get(c)?;
            let Some(u) = usage(l, p) else { continue };
            if earliest.is_none_or(|(t, _)| u.timestamp < t) {
                earliest = Some((u.timestamp, u.window));
            }
            containers.push((c.clone(), u));
        }
        let (timestamp, window) = earliest.unwrap_or_default();
        Some(PodUsage { timestamp, window, containers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Nanos = 1_000_000_000;

    fn pt(start: Nanos, ts: Nanos, cpu: u64, memory: u64) -> Point {
        Point { start, timestamp: ts, cpu, memory }
    }

    #[test]
    fn rate_over_the_window() {
        let u = usage(&pt(0, 115 * S, 3_000_000_000, 2048), &pt(0, 100 * S, 1_500_000_000, 1024)).unwrap();
        assert_eq!(u.window, 15 * S);
        assert_eq!(u.cpu_nanocores, 100_000_000);
        assert_eq!(u.memory, 2048);
        assert_eq!(u.timestamp, 115 * S);
        // A busy loop on one core: one core-second per second.
        let busy = usage(&pt3(0, 10 * S + S / 2, 10_500_000_000), &pt3(0, 10 * S, 10_000_000_000)).unwrap();
        assert_eq!(busy.cpu_nanocores, 1_000_000_000);
    }

    fn pt3(start: Nanos, ts: Nanos, cpu: u64) -> Point {
        pt(start, ts, cpu, 0)
    }

    #[test]
    fn no_window_after_a_restart_or_counter_reset() {
        assert_eq!(usage(&pt3(0, 10 * S, 5), &pt3(S, 5 * S, 1)), None);
        assert_eq!(usage(&pt3(0, 10 * S, 1), &pt3(0, 5 * S, 5)), None);
        assert_eq!(usage(&pt3(0, 5 * S, 5), &pt3(0, 5 * S, 1)), None);
    }

    #[test]
    fn nodes_need_two_scrapes() {
        let mut s = NodeStore::default();
        s.store([("n1".to_string(), pt(0, 100 * S, 0, 10))]);
        assert_eq!(s.get("n1"), None);
        s.store([("n1".to_string(), pt(0, 115 * S, 15 * S as u64 / 2, 20))]);
        let u = s.get("n1").unwrap();
        assert_eq!((u.cpu_nanocores, u.memory, u.window), (500_000_000, 20, 15 * S));
        // The same point again keeps the previous one; a node missing from a scrape is gone.
        s.store([("n1".to_string(), pt(0, 115 * S, 15 * S as u64 / 2, 20))]);
        assert_eq!(s.get("n1").unwrap().cpu_nanocores, 500_000_000);
        s.store([]);
        assert_eq!(s.get("n1"), None);
    }

    fn pod(containers: &[(&str, Point)]) -> PodPoint {
        PodPoint { namespace: "ns".into(), name: "p".into(), containers: containers.iter().map(|(n, p)| (n.to_string(), *p)).collect() }
    }

    #[test]
    fn pods_use_the_earliest_container_window() {
        let mut s = PodStore::default();
        s.store([pod(&[("a", pt(0, 100 * S, 0, 1)), ("b", pt(0, 101 * S, 0, 2))])], 15 * S);
        assert_eq!(s.get("ns", "p"), None);
        s.store([pod(&[("a", pt(0, 115 * S, 15 * S as u64, 3)), ("b", pt(0, 117 * S, 0, 4))])], 15 * S);
        let u = s.get("ns", "p").unwrap();
        assert_eq!((u.timestamp, u.window), (115 * S, 15 * S));
        assert_eq!(u.containers[0], ("a".to_string(), Usage { timestamp: 115 * S, window: 15 * S, cpu_nanocores: 1_000_000_000, memory: 3 }));
        assert_eq!(u.containers[1].1.cpu_nanocores, 0);
        assert_eq!(s.get("ns", "other"), None);
    }

    #[test]
    fn fresh_container_counts_from_its_start() {
        let mut s = PodStore::default();
        // Started 12 s before the scrape, resolution 15 s: usage over those 12 s at once.
        s.store([pod(&[("a", pt(100 * S, 112 * S, 6 * S as u64, 5))])], 15 * S);
        let u = s.get("ns", "p").unwrap();
        assert_eq!((u.window, u.containers[0].1.cpu_nanocores), (12 * S, 500_000_000));
        // Started 5 s ago: too fresh, wait for the next scrape.
        let mut s = PodStore::default();
        s.store([pod(&[("a", pt(100 * S, 105 * S, S as u64, 5))])], 15 * S);
        assert_eq!(s.get("ns", "p"), None);
    }

    #[test]
    fn restarted_container_starts_over_and_hides_the_pod() {
        let mut s = PodStore::default();
        s.store([pod(&[("a", pt(0, 100 * S, 50, 1))])], 15 * S);
        s.store([pod(&[("a", pt(0, 115 * S, 80, 1))])], 15 * S);
        assert!(s.get("ns", "p").is_some());
        // Restarted at 120 s (after the stored point), scraped at 150 s.
        s.store([pod(&[("a", pt(120 * S, 150 * S, 5, 1))])], 15 * S);
        assert_eq!(s.get("ns", "p"), None);
        s.store([pod(&[("a", pt(120 * S, 165 * S, 5 + 15 * S as u64, 1))])], 15 * S);
        assert_eq!(s.get("ns", "p").unwrap().containers[0].1.cpu_nanocores, 1_000_000_000);
    }
}
