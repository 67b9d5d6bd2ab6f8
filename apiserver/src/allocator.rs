//! Service ClusterIP, NodePort and healthCheckNodePort allocation. Each allocated IP or port is a storage key
//! created with create-if-absent, so allocation is atomic across apiservers sharing a store.

use std::net::Ipv4Addr;

use rand::Rng;
use rkube_apimachinery::validation::FieldError;
use serde_json::{json, Value};

use crate::storage::{DynStorage, StorageError};

/// Where ClusterIPs and NodePorts come from.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// First address of the service range.
    pub base: u32,
    /// Prefix length of the service range.
    pub prefix: u8,
    /// NodePort range, inclusive.
    pub node_ports: (u16, u16),
}

impl ServiceConfig {
    /// Parses `--service-cluster-ip-range` (e.g. 10.96.0.0/12) and `--service-node-port-range`.
    pub fn parse(cidr: &str, ports: &str) -> Result<Self, String> {
        let (ip, len) = cidr.split_once('/').ok_or_else(|| format!("invalid CIDR {cidr:?}"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| format!("invalid CIDR {cidr:?}"))?;
        let prefix: u8 = len.parse().ok().filter(|p| (1..=30).contains(p)).ok_or_else(|| format!("invalid CIDR {cidr:?}"))?;
        let (lo, hi) = ports.split_once('-').ok_or_else(|| format!("invalid port range {ports:?}"))?;
        let node_ports = (
            lo.trim().parse().map_err(|_| format!("invalid port range {ports:?}"))?,
            hi.trim().parse().map_err(|_| format!("invalid port range {ports:?}"))?,
        );
        let mask = u32::MAX << (32 - prefix);
        Ok(ServiceConfig { base: u32::from(ip) & mask, prefix, node_ports })
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.prefix)
    }

    /// The first usable address, reserved for the `kubernetes` Service.
    pub fn first_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base + 1)
    }

    fn contains(&self, ip: Ipv4Addr) -> bool {
        let v = u32::from(ip);
        v > self.base && v < self.base + self.size() - 1
    }
}

const IP_PREFIX: &str = "/registry/ranges/serviceips/";
const PORT_PREFIX: &str = "/registry/ranges/servicenodeports/";

/// Allocates the Service's ClusterIP, NodePorts and healthCheckNodePort in place; returns
/// the keys taken (to release if the create fails) or field errors.
pub async fn allocate_service(storage: &DynStorage, cfg: &ServiceConfig, svc: &mut Value) -> Result<Vec<String>, Vec<FieldError>> {
    reallocate_service(storage, cfg, svc, &Value::Null).await.map(|r| r.taken)
}

/// Upstream `needsHCNodePort`: a LoadBalancer with `externalTrafficPolicy: Local`.
pub fn needs_health_check_port(svc: &Value) -> bool {
    svc.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer")
        && svc.pointer("/spec/externalTrafficPolicy").and_then(Value::as_str) == Some("Local")
}

/// Upstream `allocHealthCheckNodePort`: the requested `spec.healthCheckNodePort`, else any
/// free port of the NodePort range (the two share one allocator).
async fn allocate_health_check_port(storage: &DynStorage, cfg: &ServiceConfig, svc: &mut Value, owner: &str, taken: &mut Vec<String>) -> Result<(), FieldError> {
    let field = "spec.healthCheckNodePort";
    let requested = svc.pointer("/spec/healthCheckNodePort").and_then(Value::as_u64).unwrap_or(0);
    if requested == 0 {
        let port = random_port(storage, cfg, owner, taken, field).await.map_err(|_| FieldError::internal(field, "failed to allocate a HealthCheck NodePort 0: range is full"))?;
        svc["spec"]["healthCheckNodePort"] = json!(port);
        return Ok(());
    }
    let fail = |why: String| FieldError::invalid(field, json!(requested), format!("failed to allocate requested HealthCheck NodePort {requested}: {why}"));
    if requested < u64::from(cfg.node_ports.0) || requested > u64::from(cfg.node_ports.1) {
        return Err(fail(format!("provided port is not in the valid range. The range of valid ports is {}-{}", cfg.node_ports.0, cfg.node_ports.1)));
    }
    let key = format!("{PORT_PREFIX}{requested}");
    match storage.create(&key, owner.as_bytes().to_vec()).await {
        Ok(_) => {
            taken.push(key);
            Ok(())
        }
        Err(StorageError::AlreadyExists(_)) => Err(fail("provided port is already allocated".into())),
        Err(e) => Err(FieldError::internal(field, e.to_string())),
    }
}

fn owner_of(svc: &Value) -> String {
    let ns = svc.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
    let name = svc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    format!("{ns}/{name}")
}

async fn allocate_ip(storage: &DynStorage, cfg: &ServiceConfig, svc: &mut Value, owner: &str) -> Result<Option<String>, FieldError> {
    let requested = svc.pointer("/spec/clusterIP").and_then(Value::as_str).unwrap_or("").to_string();
    if requested == "None" {
        svc["spec"]["clusterIPs"] = json!(["None"]);
        return Ok(None);
    }
    if !requested.is_empty() {
        let ip: Ipv4Addr = requested.parse().map_err(|_| {
            FieldError::invalid("spec.clusterIPs[0]", json!(requested), "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
        })?;
        if !cfg.contains(ip) {
            return Err(FieldError::invalid("spec.clusterIPs", json!([requested]), format!("failed to allocate IP {requested}: the provided IP ({requested}) is not in the valid range. The range of valid IPs is {}/{}", Ipv4Addr::from(cfg.base), cfg.prefix)));
        }
        let key = format!("{IP_PREFIX}{ip}");
        return match storage.create(&key, owner.as_bytes().to_vec()).await {
            Ok(_) => {
                svc["spec"]["clusterIPs"] = json!([requested]);
                Ok(Some(key))
            }
            Err(StorageError::AlreadyExists(_)) => Err(FieldError::invalid("spec.clusterIPs", json!([requested]), format!("failed to allocate IP {requested}: provided IP is already allocated"))),
            Err(e) => Err(FieldError::internal("spec.clusterIPs", e.to_string())),
        };
    }
    for _ in 0..64 {
        let offset = rand::rng().random_range(2..cfg.size() - 1);
        let ip = Ipv4Addr::from(cfg.base + offset);
        let key = format!("{IP_PREFIX}{ip}");
        match storage.create(&key, owner.as_bytes().to_vec()).await {
            Ok(_) => {
                svc["spec"]["clusterIP"] = json!(ip.to_string());
                svc["spec"]["clusterIPs"] = json!([ip.to_string()]);
                return Ok(Some(key));
            }
            Err(StorageError::AlreadyExists(_)) => continue,
            Err(e) => return Err(FieldError::internal("spec.clusterIPs", e.to_string())),
        }
    }
    Err(FieldError::internal("spec.clusterIPs", "failed to allocate a serviceIP: range is full"))
}

/// Allocates port `i`'s requested nodePort, or any free one when it asks for none.
async fn allocate_port(storage: &DynStorage, cfg: &ServiceConfig, svc: &mut Value, i: usize, owner: &str, taken: &mut Vec<String>) -> Result<(), FieldError> {
    let requested = svc["spec"]["ports"][i].get("nodePort").and_then(Value::as_u64).unwrap_or(0) as u16;
    let field = format!("spec.ports[{i}].nodePort");
    let port = if requested != 0 {
        if requested < cfg.node_ports.0 || requested > cfg.node_ports.1 {
            return Err(FieldError::invalid(&field, json!(requested), format!("provided port is not in the valid range. The range of valid ports is {}-{}", cfg.node_ports.0, cfg.node_ports.1)));
        }
        let key = format!("{PORT_PREFIX}{requested}");
        match storage.create(&key, owner.as_bytes().to_vec()).await {
            Ok(_) => taken.push(key),
            Err(StorageError::AlreadyExists(_)) => return Err(FieldError::invalid(&field, json!(requested), "provided port is already allocated")),
            Err(e) => return Err(FieldError::internal(&field, e.to_string())),
        }
        requested
    } else {
        random_port(storage, cfg, owner, taken, &field).await?
    };
    svc["spec"]["ports"][i]["nodePort"] = json!(port);
    Ok(())
}

async fn random_port(storage: &DynStorage, cfg: &ServiceConfig, owner: &str, taken: &mut Vec<String>, field: &str) -> Result<u16, FieldError> {
    for _ in 0..128 {
        let port = rand::rng().random_range(cfg.node_ports.0..=cfg.node_ports.1);
        let key = format!("{PORT_PREFIX}{port}");
        match storage.create(&key, owner.as_bytes().to_vec()).await {
            Ok(_) => {
                taken.push(key);
                return Ok(port);
            }
            Err(StorageError::AlreadyExists(_)) => continue,
            Err(e) => return Err(FieldError::internal(field, e.to_string())),
        }
    }
    Err(FieldError::internal(field, "failed to allocate a nodePort: range is full"))
}

/// Allocation keys a Service holds: its ClusterIPs, NodePorts and healthCheckNodePort.
fn held_keys(svc: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    for ip in svc.pointer("/spec/clusterIPs").and_then(Value::as_array).into_iter().flatten() {
        if let Some(ip) = ip.as_str().filter(|s| *s != "None") {
            keys.push(format!("{IP_PREFIX}{ip}"));
        }
    }
    for p in svc.pointer("/spec/ports").and_then(Value::as_array).into_iter().flatten() {
        if let Some(n) = p.get("nodePort").and_then(Value::as_u64).filter(|n| *n != 0) {
            keys.push(format!("{PORT_PREFIX}{n}"));
        }
    }
    if let Some(n) = svc.pointer("/spec/healthCheckNodePort").and_then(Value::as_u64).filter(|n| *n != 0) {
        keys.push(format!("{PORT_PREFIX}{n}"));
    }
    keys
}

/// What a Service update allocated (to give back if the write fails) and what it no longer
/// holds (to give back once the write succeeded).
#[derive(Debug, Default)]
pub struct Reallocation {
    /// Keys taken by this update.
    pub taken: Vec<String>,
    /// Keys the stored Service held that the updated one does not.
    pub freed: Vec<String>,
}

/// Upstream's Service REST create and update: allocates what the Service needs and `old`
/// (Null on create) did not hold (a ClusterIP unless ExternalName or headless, NodePorts for
/// NodePort/LoadBalancer, a healthCheckNodePort for LoadBalancer + Local) and finds what it
/// let go.
pub async fn reallocate_service(storage: &DynStorage, cfg: &ServiceConfig, svc: &mut Value, old: &Value) -> Result<Reallocation, Vec<FieldError>> {
    let owner = owner_of(svc);
    let held = held_keys(old);
    let mut taken = Vec::new();
    let svc_type = svc.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP").to_string();
    let fail = |e: FieldError, taken: Vec<String>| async move {
        release(storage, &taken).await;
        Err(vec![e])
    };
    let ip = svc.pointer("/spec/clusterIP").and_then(Value::as_str).unwrap_or("").to_string();
    if svc_type != "ExternalName" && !held.contains(&format!("{IP_PREFIX}{ip}")) {
        match allocate_ip(storage, cfg, svc, &owner).await {
            Ok(key) => taken.extend(key),
            Err(e) => return fail(e, taken).await,
        }
    }
    if matches!(svc_type.as_str(), "NodePort" | "LoadBalancer") {
        let count = svc.pointer("/spec/ports").and_then(Value::as_array).map_or(0, Vec::len);
        for i in 0..count {
            let port = svc["spec"]["ports"][i].get("nodePort").and_then(Value::as_u64).unwrap_or(0);
            if port != 0 && held.contains(&format!("{PORT_PREFIX}{port}")) {
                continue;
            }
            if let Err(e) = allocate_port(storage, cfg, svc, i, &owner, &mut taken).await {
                return fail(e, taken).await;
            }
        }
    }
    let hc = svc.pointer("/spec/healthCheckNodePort").and_then(Value::as_u64).unwrap_or(0);
    if needs_health_check_port(svc) && (hc == 0 || !held.contains(&format!("{PORT_PREFIX}{hc}"))) {
        if let Err(e) = allocate_health_check_port(storage, cfg, svc, &owner, &mut taken).await {
            return fail(e, taken).await;
        }
    }
    let now = held_keys(svc);
    let freed = held.into_iter().filter(|k| !now.contains(k)).collect();
    Ok(Reallocation { taken, freed })
}

/// Frees allocation keys.
pub async fn release(storage: &DynStorage, keys: &[String]) {
    for k in keys {
        let _ = storage.delete(k, None).await;
    }
}

/// Frees everything a deleted Service held.
pub async fn release_service(storage: &DynStorage, svc: &Value) {
    release(storage, &held_keys(svc)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        let c = ServiceConfig::parse("10.96.0.0/12", "30000-32767").unwrap();
        assert_eq!(c.first_ip(), Ipv4Addr::new(10, 96, 0, 1));
        assert!(c.contains(Ipv4Addr::new(10, 111, 255, 254)));
        assert!(!c.contains(Ipv4Addr::new(10, 112, 0, 1)));
        assert_eq!(c.node_ports, (30000, 32767));
        assert!(ServiceConfig::parse("10.96.0.0", "1-2").is_err());
    }
}
