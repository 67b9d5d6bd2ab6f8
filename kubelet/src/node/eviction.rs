//! Hard eviction thresholds (`--eviction-hard` / `evictionHard`), as upstream spells them:
//! `memory.available<100Mi,nodefs.available<10%`. They decide the MemoryPressure and
//! DiskPressure conditions (and keep the memory threshold out of allocatable). A threshold
//! of `0%` turns a signal off, as kind does for nodes on shared developer disks.

use std::collections::BTreeMap;

use rkube_apimachinery::quantity::Quantity;

/// One threshold: an absolute amount or a share of capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// Bytes.
    Bytes(u64),
    /// Percent of capacity.
    Percent(f64),
}

impl Threshold {
    /// Whether `available` of `capacity` is under the threshold.
    pub fn crossed(&self, available: u64, capacity: u64) -> bool {
        capacity > 0 && available < self.bytes(capacity)
    }

    /// The threshold in bytes for this capacity.
    pub fn bytes(&self, capacity: u64) -> u64 {
        match *self {
            Threshold::Bytes(b) => b,
            Threshold::Percent(p) => (capacity as f64 * p / 100.0) as u64,
        }
    }
}

/// The signals this kubelet watches.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// `memory.available`.
    pub memory: Threshold,
    /// `nodefs.available` (the kubelet root directory's filesystem).
    pub nodefs: Threshold,
}

impl Default for Thresholds {
    /// Upstream's defaults.
    fn default() -> Self {
        Thresholds { memory: Threshold::Bytes(100 * 1024 * 1024), nodefs: Threshold::Percent(10.0) }
    }
}

fn threshold(value: &str) -> Result<Threshold, String> {
    if let Some(p) = value.strip_suffix('%') {
        let p: f64 = p.parse().map_err(|_| format!("invalid percentage: {value}"))?;
        return if (0.0..=100.0).contains(&p) { Ok(Threshold::Percent(p)) } else { Err(format!("invalid percentage: {value}")) };
    }
    let q = Quantity::parse(value).map_err(|_| format!("invalid quantity: {value}"))?;
    Ok(Threshold::Bytes(q.value().max(0) as u64))
}

/// Applies `signal -> value` pairs over the defaults (upstream keeps defaults for signals
/// not named only when none is given; here unnamed signals keep their defaults too).
pub fn from_map(pairs: &BTreeMap<String, String>) -> Result<Thresholds, String> {
    let mut t = Thresholds::default();
    for (signal, value) in pairs {
        match signal.as_str() {
            "memory.available" => t.memory = threshold(value)?,
            "nodefs.available" => t.nodefs = threshold(value)?,
            // Signals this kubelet does not measure separately are accepted and ignored.
            "imagefs.available" | "nodefs.inodesFree" | "imagefs.inodesFree" | "pid.available" | "containerfs.available" => {
                threshold(value)?;
            }
            other => return Err(format!("unsupported eviction signal {other}")),
        }
    }
    Ok(t)
}

/// Parses the flag form `signal<value,signal<value`.
pub fn parse_flag(flag: &str) -> Result<BTreeMap<String, String>, String> {
    flag.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split_once('<').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).ok_or_else(|| format!("invalid eviction threshold {s}: want signal<value")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_and_decides_pressure() {
        let t = from_map(&parse_flag("memory.available<200Mi,nodefs.available<0%,imagefs.available<15%").unwrap()).unwrap();
        assert_eq!(t.memory, Threshold::Bytes(200 * 1024 * 1024));
        assert!(!t.nodefs.crossed(0, 100), "0% never fires");
        let d = Thresholds::default();
        assert!(d.nodefs.crossed(9, 100) && !d.nodefs.crossed(10, 100));
        assert!(d.memory.crossed(50 << 20, 4 << 30));
        assert!(parse_flag("memory.available=1Gi").is_err());
        assert!(from_map(&parse_flag("bogus.signal<1").unwrap()).is_err());
        assert!(from_map(&parse_flag("nodefs.available<120%").unwrap()).is_err());
    }
}
