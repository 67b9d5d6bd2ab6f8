//! FNV-1a hashing for the short string keys of per-cycle maps (topology values, node
//! names), where SipHash's DoS resistance buys nothing and costs most of the lookup.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a, 64 bit.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A HashMap with FNV-1a hashing.
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_works() {
        let mut m: FastMap<&str, i64> = FastMap::default();
        *m.entry("zone-a").or_default() += 2;
        *m.entry("zone-a").or_default() += 1;
        assert_eq!(m["zone-a"], 3);
        assert!(!m.contains_key("zone-b"));
    }
}
