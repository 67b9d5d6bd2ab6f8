//! Address, port and host name checks of upstream's networking validation.

use std::net::{IpAddr, Ipv4Addr};

use rkube_apimachinery::validation::{inclusive_range_error, max_len_error, regex_error, DNS1123_SUBDOMAIN_MAX_LENGTH};

/// Go's `netutils.ParseIPSloppy`: IPv4 (leading zeros allowed) or IPv6.
pub fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    Some(IpAddr::V4(Ipv4Addr::from(octets)))
}

/// A parsed CIDR: its network address bits and prefix length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cidr {
    addr: u128,
    prefix: u32,
    v4: bool,
}

impl Cidr {
    /// Go's `netutils.ParseCIDRSloppy`.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (ip, prefix) = s.split_once('/')?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let prefix: u32 = prefix.parse().ok()?;
        let (addr, v4) = match parse_ip_sloppy(ip)? {
            IpAddr::V4(a) => (u128::from(u32::from(a)), true),
            IpAddr::V6(a) => (u128::from(a), false),
        };
        let bits = if v4 { 32 } else { 128 };
        if prefix > bits {
            return None;
        }
        Some(Cidr { addr: addr & mask(prefix, bits), prefix, v4 })
    }

    /// True when `other`'s network address lies in this network.
    pub fn contains(&self, other: &Cidr) -> bool {
        let bits = if self.v4 { 32 } else { 128 };
        self.v4 == other.v4 && other.addr & mask(self.prefix, bits) == self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u32 {
        self.prefix
    }
}

fn mask(prefix: u32, bits: u32) -> u128 {
    let all = if bits == 32 { u128::from(u32::MAX) } else { u128::MAX };
    if prefix == 0 {
        0
    } else {
        all & (all << (bits - prefix))
    }
}

/// Upstream `IsValidPortNum`.
pub fn port_num_errors(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) {
        vec![]
    } else {
        vec![inclusive_range_error(1, 65535)]
    }
}

/// Upstream `IsValidPortName` (an IANA_SVC_NAME).
pub fn port_name_errors(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push(max_len_error(15));
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string());
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}

const WILDCARD_FMT: &str = "\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const WILDCARD_ERR_MSG: &str = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";

/// Upstream `IsWildcardDNS1123Subdomain`.
pub fn wildcard_subdomain_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    let ok = value
        .strip_prefix("*.")
        .is_some_and(|rest| rkube_apimachinery::validation::is_dns1123_subdomain(rest).iter().all(|e| e.starts_with("must be no more")));
    if !ok {
        errs.push(regex_error(WILDCARD_ERR_MSG, WILDCARD_FMT, &["*.example.com"]));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_and_cidrs() {
        assert!(parse_ip_sloppy("10.0.0.1").is_some());
        assert!(parse_ip_sloppy("010.000.000.001").is_some());
        assert!(parse_ip_sloppy("::1").is_some());
        assert!(parse_ip_sloppy("example.com").is_none());
        let net = Cidr::parse("10.0.0.0/16").unwrap();
        assert!(net.contains(&Cidr::parse("10.0.5.0/24").unwrap()));
        assert!(!net.contains(&Cidr::parse("10.1.0.0/24").unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("fd00::/8").unwrap().contains(&Cidr::parse("fd00:1::/32").unwrap()));
    }

    #[test]
    fn ports_and_wildcards() {
        assert!(port_num_errors(80).is_empty());
        assert_eq!(port_num_errors(0), ["must be between 1 and 65535, inclusive"]);
        assert!(port_name_errors("http").is_empty());
        assert_eq!(port_name_errors("80"), ["must contain at least one letter (a-z)"]);
        assert!(wildcard_subdomain_errors("*.example.com").is_empty());
        assert_eq!(wildcard_subdomain_errors("*example.com").len(), 1);
    }
}
