//! A pool of per-node pod CIDRs carved out of the cluster CIDR (upstream
//! `pkg/controller/nodeipam/ipam/cidrset`): fixed-size subnets handed out round-robin from
//! after the last one allocated, released when nodes go away.

use std::collections::BTreeSet;
use std::net::IpAddr;

/// Why a CIDR could not be parsed, occupied or allocated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// Not `address/prefix`.
    #[error("invalid CIDR address: {0}")]
    Invalid(String),
    /// The node mask is not longer than the cluster mask, or too far from it.
    #[error("invalid node CIDR mask size {node} for cluster CIDR with prefix {cluster}")]
    MaskSize {
        /// The cluster prefix length.
        cluster: u8,
        /// The node prefix length.
        node: u8,
    },
    /// Every subnet is taken.
    #[error("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")]
    Full,
    /// The CIDR lies outside the cluster CIDR or is not of the node size.
    #[error("CIDR {0} is not a node subnet of the cluster CIDR")]
    Outside(String),
}

/// A parsed CIDR: the network address as a 128-bit number (IPv4 in the low 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// Network address bits.
    pub base: u128,
    /// Prefix length.
    pub prefix: u8,
    /// IPv6 or IPv4.
    pub v6: bool,
}

impl Cidr {
    /// Parses `10.244.0.0/16` or `fd00::/48` (host bits are cleared).
    pub fn parse(s: &str) -> Result<Cidr, CidrError> {
        let bad = || CidrError::Invalid(s.to_string());
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let ip: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let (base, v6, bits) = match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), false, 32),
            IpAddr::V6(v6) => (u128::from(v6), true, 128),
        };
        if prefix > bits {
            return Err(bad());
        }
        let host_bits = u32::from(bits - prefix);
        let mask = if host_bits >= 128 { 0 } else { !((1u128 << host_bits) - 1) };
        Ok(Cidr { base: base & mask, prefix, v6 })
    }

    fn bits(&self) -> u8 {
        if self.v6 { 128 } else { 32 }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.v6 {
            write!(f, "{}/{}", std::net::Ipv6Addr::from(self.base), self.prefix)
        } else {
            write!(f, "{}/{}", std::net::Ipv4Addr::from(self.base as u32), self.prefix)
        }
    }
}

/// The pool.
#[derive(Debug, Clone)]
pub struct CidrSet {
    cluster: Cidr,
    node_prefix: u8,
    max: u64,
    used: BTreeSet<u64>,
    next: u64,
}

impl CidrSet {
    /// A pool of `/node_prefix` subnets of `cluster` (at most 2^16 of them, as upstream).
    pub fn new(cluster: Cidr, node_prefix: u8) -> Result<CidrSet, CidrError> {
        if node_prefix < cluster.prefix || node_prefix > cluster.bits() || node_prefix - cluster.prefix > 16 {
            return Err(CidrError::MaskSize { cluster: cluster.prefix, node: node_prefix });
        }
        let max = 1u64 << (node_prefix - cluster.prefix);
        Ok(CidrSet { cluster, node_prefix, max, used: BTreeSet::new(), next: 0 })
    }

    fn shift(&self) -> u32 {
        u32::from(self.cluster.bits() - self.node_prefix)
    }

    fn subnet(&self, index: u64) -> Cidr {
        let base = self.cluster.base + (u128::from(index) << self.shift());
        Cidr { base, prefix: self.node_prefix, v6: self.cluster.v6 }
    }

    fn index_of(&self, cidr: &str) -> Result<u64, CidrError> {
        let c = Cidr::parse(cidr)?;
        let outside = || CidrError::Outside(cidr.to_string());
        if c.v6 != self.cluster.v6 || c.prefix != self.node_prefix || c.base < self.cluster.base {
            return Err(outside());
        }
        let index = (c.base - self.cluster.base) >> self.shift();
        u64::try_from(index).ok().filter(|i| *i < self.max).ok_or_else(outside)
    }

    /// Marks a subnet (already on a node) as taken.
    pub fn occupy(&mut self, cidr: &str) -> Result<(), CidrError> {
        let i = self.index_of(cidr)?;
        self.used.insert(i);
        Ok(())
    }

    /// Returns a subnet to the pool.
    pub fn release(&mut self, cidr: &str) -> Result<(), CidrError> {
        let i = self.index_of(cidr)?;
        self.used.remove(&i);
        Ok(())
    }

    /// Takes the next free subnet after the last one handed out.
    pub fn allocate(&mut self) -> Result<String, CidrError> {
        for step in 0..self.max {
            let i = (self.next + step) % self.max;
            if !self.used.contains(&i) {
                self.used.insert(i);
                self.next = (i + 1) % self.max;
                return Ok(self.subnet(i).to_string());
            }
        }
        Err(CidrError::Full)
    }

    /// Whether the subnet is inside this pool.
    pub fn contains(&self, cidr: &str) -> bool {
        self.index_of(cidr).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        assert_eq!(Cidr::parse("10.244.3.7/16").unwrap().to_string(), "10.244.0.0/16");
        assert_eq!(Cidr::parse("fd00:1::5/64").unwrap().to_string(), "fd00:1::/64");
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nope").is_err());
    }

    #[test]
    fn allocates_round_robin_and_reuses() {
        let mut set = CidrSet::new(Cidr::parse("10.244.0.0/16").unwrap(), 24).unwrap();
        set.occupy("10.244.0.0/24").unwrap();
        assert_eq!(set.allocate().unwrap(), "10.244.1.0/24");
        assert_eq!(set.allocate().unwrap(), "10.244.2.0/24");
        set.release("10.244.1.0/24").unwrap();
        assert_eq!(set.allocate().unwrap(), "10.244.3.0/24");
        assert!(set.occupy("10.245.0.0/24").is_err());
        assert!(set.occupy("10.244.0.0/25").is_err());
    }

    #[test]
    fn exhaustion() {
        let mut set = CidrSet::new(Cidr::parse("10.0.0.0/30").unwrap(), 31).unwrap();
        assert_eq!(set.allocate().unwrap(), "10.0.0.0/31");
        assert_eq!(set.allocate().unwrap(), "10.0.0.2/31");
        assert_eq!(set.allocate(), Err(CidrError::Full));
        assert!(CidrSet::new(Cidr::parse("10.0.0.0/16").unwrap(), 8).is_err());
        let mut v6 = CidrSet::new(Cidr::parse("fd00::/56").unwrap(), 64).unwrap();
        assert_eq!(v6.allocate().unwrap(), "fd00::/64");
        assert_eq!(v6.allocate().unwrap(), "fd00:0:0:1::/64");
    }
}
