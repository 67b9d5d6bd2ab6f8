//! The EndpointSlices of a Service (upstream `pkg/controller/endpointslice` and
//! `staging/.../endpointslice/reconciler.go`, simplified): one endpoint per pod the selector
//! matches (terminating pods included, with their conditions), grouped by the ports they
//! resolve to, at most [`MAX_ENDPOINTS`] per slice; a placeholder slice without endpoints
//! when there are none.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};

use crate::controllers::endpoints::compute::{find_port, hostname_for, is_headless, is_ready, pod_ref, should_be_in_endpoints, HEADLESS_LABEL};

/// Label naming the service a slice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Label naming the controller that manages a slice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value of the managed-by label.
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// Upstream's default `--max-endpoints-per-slice`.
pub const MAX_ENDPOINTS: usize = 100;

/// Endpoints sharing one port list.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The resolved ports.
    pub ports: Vec<EndpointPort>,
    /// The endpoints, sorted by address.
    pub endpoints: Vec<Endpoint>,
}

/// Creations, updates and deletions bringing a service's slices to the desired state.
#[derive(Debug, Clone, Default)]
pub struct SlicePlan {
    /// New slices (generateName `<service>-`).
    pub create: Vec<EndpointSlice>,
    /// Changed slices, with their existing names and resourceVersions.
    pub update: Vec<EndpointSlice>,
    /// Names of slices to delete.
    pub delete: Vec<String>,
}

/// The address type a service's slices use (its first IP family).
pub fn address_type(svc: &Service) -> &'static str {
    let v6 = svc.spec.as_ref().and_then(|s| s.ip_families.as_ref()).and_then(|f| f.first()).is_some_and(|f| f == "IPv6");
    if v6 { "IPv6" } else { "IPv4" }
}

fn pod_address(pod: &Pod, v6: bool) -> Option<String> {
    let status = pod.status.as_ref()?;
    let mut ips: Vec<String> = status.pod_ips.iter().flatten().map(|p| p.ip.clone()).collect();
    if ips.is_empty() {
        ips.extend(status.pod_ip.clone());
    }
    ips.into_iter().find(|ip| !ip.is_empty() && ip.contains(':') == v6)
}

/// The endpoint for one pod (upstream `podToEndpoint`).
pub fn endpoint_for(svc: &Service, pod: &Pod, zone: Option<String>) -> Option<Endpoint> {
    let v6 = address_type(svc) == "IPv6";
    let publish = svc.spec.as_ref().and_then(|s| s.publish_not_ready_addresses).unwrap_or(false);
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let serving = publish || is_ready(pod);
    Some(Endpoint {
        addresses: vec![pod_address(pod, v6)?],
        conditions: Some(EndpointConditions { ready: Some(serving && !terminating), serving: Some(serving), terminating: Some(terminating) }),
        hostname: hostname_for(pod, svc),
        node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        zone,
        target_ref: Some(pod_ref(pod)),
        ..Default::default()
    })
}

fn slice_port(sp: &k8s_openapi::api::core::v1::ServicePort, port: i32) -> EndpointPort {
    EndpointPort {
        name: Some(sp.name.clone().unwrap_or_default()),
        port: Some(port),
        protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
        app_protocol: sp.app_protocol.clone(),
    }
}

type PortsKey = Vec<(String, i32, String)>;

fn ports_key(ports: &[EndpointPort]) -> PortsKey {
    let mut k: PortsKey = ports
        .iter()
        .map(|p| (p.name.clone().unwrap_or_default(), p.port.unwrap_or(0), p.protocol.clone().unwrap_or_default()))
        .collect();
    k.sort();
    k
}

/// The desired endpoint groups; `zone_of` gives a node's zone label.
pub fn desired(svc: &Service, pods: &[&Pod], zone_of: impl Fn(&str) -> Option<String>) -> Vec<Group> {
    let Some(spec) = svc.spec.as_ref() else { return Vec::new() };
    let mut groups: BTreeMap<PortsKey, Group> = BTreeMap::new();
    for pod in pods.iter().filter(|p| should_be_in_endpoints(p, true)) {
        let ports: Vec<EndpointPort> = spec.ports.iter().flatten().filter_map(|sp| find_port(pod, sp).map(|n| slice_port(sp, n))).collect();
        let has_ports = spec.ports.as_ref().is_some_and(|p| !p.is_empty());
        if has_ports && ports.is_empty() && !is_headless(svc) {
            continue;
        }
        let zone = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).and_then(&zone_of);
        let Some(ep) = endpoint_for(svc, pod, zone) else { continue };
        let key = ports_key(&ports);
        groups.entry(key).or_insert_with(|| Group { ports, endpoints: Vec::new() }).endpoints.push(ep);
    }
    let mut out: Vec<Group> = groups.into_values().collect();
    for g in &mut out {
        g.endpoints.sort_by(|a, b| (&a.addresses, target_name(a)).cmp(&(&b.addresses, target_name(b))));
        g.ports.sort_by_key(|p| (p.name.clone(), p.port));
    }
    out
}

fn target_name(e: &Endpoint) -> Option<&str> {
    e.target_ref.as_ref().and_then(|r| r.name.as_deref())
}

/// The labels a managed slice carries.
pub fn labels_for(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    labels.remove(MANAGED_BY_LABEL);
    labels.insert(SERVICE_NAME_LABEL.into(), svc.metadata.name.clone().unwrap_or_default());
    labels.insert(MANAGED_BY_LABEL.into(), CONTROLLER_NAME.into());
    if is_headless(svc) {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    labels
}

fn slice_ports(s: &EndpointSlice) -> &[EndpointPort] {
    s.ports.as_deref().unwrap_or(&[])
}

fn build(svc: &Service, base: Option<&EndpointSlice>, ports: &[EndpointPort], endpoints: Vec<Endpoint>) -> EndpointSlice {
    let mut slice = base.cloned().unwrap_or_default();
    if base.is_none() {
        slice.metadata.generate_name = Some(format!("{}-", svc.metadata.name.as_deref().unwrap_or("")));
        slice.metadata.namespace = svc.metadata.namespace.clone();
    }
    slice.metadata.labels = Some(labels_for(svc));
    slice.address_type = address_type(svc).into();
    slice.ports = (!ports.is_empty()).then(|| ports.to_vec());
    slice.endpoints = endpoints;
    slice
}

fn same_content(a: &EndpointSlice, b: &EndpointSlice) -> bool {
    a.endpoints == b.endpoints
        && ports_key(slice_ports(a)) == ports_key(slice_ports(b))
        && a.metadata.labels == b.metadata.labels
        && a.address_type == b.address_type
}

/// Reconciles a service's existing managed slices with the desired groups.
pub fn plan(svc: &Service, existing: &[EndpointSlice], groups: &[Group]) -> SlicePlan {
    let mut plan = SlicePlan::default();
    let mut by_ports: BTreeMap<PortsKey, Vec<&EndpointSlice>> = BTreeMap::new();
    let want_type = address_type(svc);
    for s in existing {
        if s.address_type != want_type {
            plan.delete.extend(s.metadata.name.clone());
            continue;
        }
        by_ports.entry(ports_key(slice_ports(s))).or_default().push(s);
    }
    for list in by_ports.values_mut() {
        list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    }
    let placeholder = [Group { ports: Vec::new(), endpoints: Vec::new() }];
    let groups = if groups.is_empty() { &placeholder[..] } else { groups };
    for g in groups {
        let mut olds = by_ports.remove(&ports_key(&g.ports)).unwrap_or_default().into_iter();
        let chunks: Vec<Vec<Endpoint>> =
            if g.endpoints.is_empty() { vec![Vec::new()] } else { g.endpoints.chunks(MAX_ENDPOINTS).map(<[Endpoint]>::to_vec).collect() };
        for chunk in chunks {
            match olds.next() {
                Some(old) => {
                    let new = build(svc, Some(old), &g.ports, chunk);
                    if !same_content(old, &new) {
                        plan.update.push(new);
                    }
                }
                None => plan.create.push(build(svc, None, &g.ports, chunk)),
            }
        }
        plan.delete.extend(olds.filter_map(|s| s.metadata.name.clone()));
    }
    plan.delete.extend(by_ports.into_values().flatten().filter_map(|s| s.metadata.name.clone()));
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, ContainerPort, PodCondition, PodSpec, PodStatus, ServicePort, ServiceSpec};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn svc() -> Service {
        let mut s = Service {
            spec: Some(ServiceSpec {
                ports: Some(vec![ServicePort { name: Some("http".into()), port: 80, target_port: Some(IntOrString::String("web".into())), protocol: Some("TCP".into()), ..Default::default() }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        s.metadata.name = Some("nginx".into());
        s.metadata.namespace = Some("default".into());
        s
    }

    fn pod(name: &str, ip: &str, ready: bool, terminating: bool) -> Pod {
        let ports = Some(vec![ContainerPort { name: Some("web".into()), container_port: 8080, protocol: Some("TCP".into()), ..Default::default() }]);
        let mut p = Pod {
            spec: Some(PodSpec { containers: vec![Container { name: "c".into(), ports, ..Default::default() }], node_name: Some("n1".into()), ..Default::default() }),
            status: Some(PodStatus {
                pod_ip: Some(ip.into()),
                conditions: Some(vec![PodCondition { type_: "Ready".into(), status: if ready { "True" } else { "False" }.into(), ..Default::default() }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        p.metadata.name = Some(name.into());
        p.metadata.namespace = Some("default".into());
        if terminating {
            p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH));
        }
        p
    }

    #[test]
    fn endpoints_conditions_and_labels() {
        let s = svc();
        let (a, b, c) = (pod("a", "10.1.0.2", true, false), pod("b", "10.1.0.1", false, false), pod("c", "10.1.0.3", true, true));
        let groups = desired(&s, &[&a, &b, &c], |n| (n == "n1").then(|| "zone-a".to_string()));
        assert_eq!(groups.len(), 1);
        let g = &groups[0];
        assert_eq!(g.ports[0].port, Some(8080));
        assert_eq!(g.ports[0].name.as_deref(), Some("http"));
        let addrs: Vec<_> = g.endpoints.iter().map(|e| e.addresses[0].as_str()).collect();
        assert_eq!(addrs, ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
        let c = g.endpoints[2].conditions.as_ref().unwrap();
        assert_eq!((c.ready, c.serving, c.terminating), (Some(false), Some(true), Some(true)));
        assert_eq!(g.endpoints[0].zone.as_deref(), Some("zone-a"));
        let labels = labels_for(&s);
        assert_eq!(labels[SERVICE_NAME_LABEL], "nginx");
        assert_eq!(labels[MANAGED_BY_LABEL], CONTROLLER_NAME);
    }

    #[test]
    fn plan_creates_updates_deletes() {
        let s = svc();
        let a = pod("a", "10.1.0.2", true, false);
        let groups = desired(&s, &[&a], |_| None);
        let p = plan(&s, &[], &groups);
        assert_eq!(p.create.len(), 1);
        assert_eq!(p.create[0].metadata.generate_name.as_deref(), Some("nginx-"));
        let mut existing = p.create[0].clone();
        existing.metadata.name = Some("nginx-abcde".into());
        let p = plan(&s, &[existing.clone()], &groups);
        assert!(p.create.is_empty() && p.update.is_empty() && p.delete.is_empty());
        // No pods: a placeholder without endpoints or ports replaces it.
        let p = plan(&s, &[existing], &[]);
        assert_eq!(p.create.len(), 1);
        assert!(p.create[0].endpoints.is_empty());
        assert_eq!(p.delete, ["nginx-abcde"]);
        // Many pods: several slices.
        let pods: Vec<Pod> = (0..250).map(|i| pod(&format!("p{i}"), &format!("10.2.{}.{}", i / 200, i % 200), true, false)).collect();
        let refs: Vec<&Pod> = pods.iter().collect();
        assert_eq!(plan(&s, &[], &desired(&s, &refs, |_| None)).create.len(), 3);
    }
}
