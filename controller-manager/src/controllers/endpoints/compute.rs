//! The Endpoints of a Service, computed as upstream's endpoints controller does
//! (`endpoints_controller.go` `syncService` and `endpoints.RepackSubsets`): every pod the
//! selector matches that has an IP, ready pods as `addresses`, the rest as
//! `notReadyAddresses`, each service port resolved against the pod (named target ports
//! through its container ports), addresses with the same ports grouped in one subset.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, EndpointSubset, ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Label the endpoints controller puts on Endpoints so the mirroring controller skips them.
pub const SKIP_MIRROR_LABEL: &str = "endpointslice.kubernetes.io/skip-mirror";
/// Label marking objects of a headless service.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
/// Annotation with the time of the last pod or service change behind an update.
pub const LAST_CHANGE_TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
/// At most this many addresses are written to one Endpoints object.
pub const MAX_CAPACITY: usize = 1000;
/// Annotation set when addresses were truncated.
pub const OVER_CAPACITY_ANNOTATION: &str = "endpoints.kubernetes.io/over-capacity";

/// Whether the pod belongs in a service's endpoints at all (upstream
/// `ShouldPodBeInEndpoints`): it has an IP, is not terminal for its restart policy, and is
/// not terminating unless `include_terminating`.
pub fn should_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    let status = pod.status.as_ref();
    let has_ip = status.and_then(|s| s.pod_ip.as_deref()).is_some_and(|ip| !ip.is_empty())
        || status.and_then(|s| s.pod_ips.as_ref()).is_some_and(|ips| !ips.is_empty());
    if !has_ip {
        return false;
    }
    if !include_terminating && pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("");
    match pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) {
        Some("Never") => phase != "Failed" && phase != "Succeeded",
        Some("OnFailure") => phase != "Succeeded",
        _ => true,
    }
}

/// Whether the pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The container port a service port targets on this pod (upstream `podutil.FindPort`);
/// `None` when a named target port is not declared by the pod.
pub fn find_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    let protocol = port.protocol.as_deref().unwrap_or("TCP");
    match port.target_port.as_ref() {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            let spec = pod.spec.as_ref()?;
            let sidecars = spec.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always"));
            spec.containers
                .iter()
                .chain(sidecars)
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| p.name.as_deref() == Some(name.as_str()) && p.protocol.as_deref().unwrap_or("TCP") == protocol)
                .map(|p| p.container_port)
        }
    }
}

/// The hostname a pod publishes for a service: its `spec.hostname` when its subdomain is
/// this service (in the same namespace).
pub fn hostname_for(pod: &Pod, svc: &Service) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let host = spec.hostname.as_deref().filter(|h| !h.is_empty())?;
    let same = spec.subdomain.as_deref() == svc.metadata.name.as_deref() && pod.metadata.namespace == svc.metadata.namespace;
    same.then(|| host.to_string())
}

/// The pod's IP of the service's primary family (first of `spec.ipFamilies`, IPv4 default).
pub fn pod_ip_for(pod: &Pod, svc: &Service) -> Option<String> {
    let want_v6 = svc.spec.as_ref().and_then(|s| s.ip_families.as_ref()).and_then(|f| f.first()).is_some_and(|f| f == "IPv6");
    let status = pod.status.as_ref()?;
    let mut ips: Vec<String> = status.pod_ips.iter().flatten().map(|p| p.ip.clone()).collect();
    if ips.is_empty() {
        ips.extend(status.pod_ip.clone());
    }
    ips.into_iter().find(|ip| ip.contains(':') == want_v6)
}

/// A reference to the pod, as endpoints carry it.
pub fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

/// Whether the service is headless (`clusterIP: None`).
pub fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// The port entry an endpoint gets for a service port resolved to `port`.
pub fn endpoint_port(sp: &ServicePort, port: i32) -> EndpointPort {
    EndpointPort {
        name: sp.name.clone().filter(|n| !n.is_empty()),
        port,
        protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
        app_protocol: sp.app_protocol.clone(),
    }
}

type PortKey = (String, i32, String, String);

fn port_key(p: &EndpointPort) -> PortKey {
    (p.name.clone().unwrap_or_default(), p.port, p.protocol.clone().unwrap_or_default(), p.app_protocol.clone().unwrap_or_default())
}

/// One address with readiness, before repacking.
struct Entry {
    address: EndpointAddress,
    ready: bool,
    ports: Vec<EndpointPort>,
}

fn entry_for(svc: &Service, pod: &Pod) -> Option<Entry> {
    let spec = svc.spec.as_ref()?;
    let publish = spec.publish_not_ready_addresses.unwrap_or(false);
    if !should_be_in_endpoints(pod, publish) {
        return None;
    }
    let address = EndpointAddress {
        ip: pod_ip_for(pod, svc)?,
        hostname: hostname_for(pod, svc),
        node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        target_ref: Some(pod_ref(pod)),
    };
    let ports: Vec<EndpointPort> = spec.ports.iter().flatten().filter_map(|sp| find_port(pod, sp).map(|n| endpoint_port(sp, n))).collect();
    let has_ports = spec.ports.as_ref().is_some_and(|p| !p.is_empty());
    if has_ports && ports.is_empty() {
        return None;
    }
    if !has_ports && !is_headless(svc) {
        return None;
    }
    Some(Entry { address, ready: publish || is_ready(pod), ports })
}

/// The subsets of the service's Endpoints from the pods its selector matches.
pub fn subsets(svc: &Service, pods: &[&Pod]) -> Vec<EndpointSubset> {
    let entries: Vec<Entry> = pods.iter().filter_map(|p| entry_for(svc, p)).collect();
    repack(entries)
}

/// Ports shared by some addresses, each with its readiness.
type Group = (Vec<EndpointPort>, Vec<(EndpointAddress, bool)>);

/// Groups addresses offering the same ports into one subset, sorted (upstream
/// `RepackSubsets` + `SortSubsets`, with a deterministic order).
fn repack(entries: Vec<Entry>) -> Vec<EndpointSubset> {
    let mut groups: BTreeMap<Vec<PortKey>, Group> = BTreeMap::new();
    for e in entries {
        let mut ports = e.ports;
        ports.sort_by_key(port_key);
        ports.dedup_by_key(|p| port_key(p));
        let key: Vec<PortKey> = ports.iter().map(port_key).collect();
        groups.entry(key).or_insert_with(|| (ports, Vec::new())).1.push((e.address, e.ready));
    }
    let mut out: Vec<EndpointSubset> = groups
        .into_values()
        .map(|(ports, mut addrs)| {
            addrs.sort_by_key(|a| address_order(&a.0));
            let (ready, not_ready): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|(_, r)| *r);
            EndpointSubset {
                addresses: non_empty(ready.into_iter().map(|(a, _)| a).collect()),
                not_ready_addresses: non_empty(not_ready.into_iter().map(|(a, _)| a).collect()),
                ports: non_empty(ports),
            }
        })
        .collect();
    out.sort_by_key(first_ip);
    out
}

fn address_order(a: &EndpointAddress) -> (String, String) {
    (a.ip.clone(), a.target_ref.as_ref().and_then(|r| r.uid.clone()).unwrap_or_default())
}

fn first_ip(s: &EndpointSubset) -> String {
    s.addresses.iter().chain(s.not_ready_addresses.iter()).flatten().map(|a| a.ip.clone()).min().unwrap_or_default()
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// Keeps at most [`MAX_CAPACITY`] addresses (ready first); true when some were dropped.
pub fn truncate(subsets: &mut [EndpointSubset]) -> bool {
    let total: usize = subsets.iter().map(|s| s.addresses.as_ref().map_or(0, Vec::len) + s.not_ready_addresses.as_ref().map_or(0, Vec::len)).sum();
    if total <= MAX_CAPACITY {
        return false;
    }
    let mut budget = MAX_CAPACITY;
    for s in subsets.iter_mut() {
        for list in [&mut s.addresses, &mut s.not_ready_addresses] {
            if let Some(v) = list.as_mut() {
                v.truncate(budget);
                budget -= v.len();
            }
        }
    }
    true
}

/// The labels Endpoints carry: the service's, the skip-mirror label, and the headless
/// label for headless services.
pub fn labels_for(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    labels.insert(SKIP_MIRROR_LABEL.into(), "true".into());
    if is_headless(svc) {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    labels
}

/// The distinct node names in the subsets (for tests and diagnostics).
pub fn nodes_of(subsets: &[EndpointSubset]) -> BTreeSet<String> {
    subsets
        .iter()
        .flat_map(|s| s.addresses.iter().flatten().chain(s.not_ready_addresses.iter().flatten()))
        .filter_map(|a| a.node_name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, ContainerPort, PodCondition, PodSpec, PodStatus, ServiceSpec};

    fn svc(ports: Vec<ServicePort>, headless: bool) -> Service {
        let mut s = Service {
            spec: Some(ServiceSpec { ports: Some(ports), cluster_ip: headless.then(|| "None".to_string()), ..Default::default() }),
            ..Default::default()
        };
        s.metadata.name = Some("web".into());
        s.metadata.namespace = Some("default".into());
        s
    }

    fn sport(name: &str, port: i32, target: IntOrString) -> ServicePort {
        ServicePort { name: Some(name.into()), port, target_port: Some(target), protocol: Some("TCP".into()), ..Default::default() }
    }

    fn pod(name: &str, ip: &str, ready: bool, http_port: Option<i32>) -> Pod {
        let ports = http_port.map(|p| vec![ContainerPort { name: Some("http".into()), container_port: p, protocol: Some("TCP".into()), ..Default::default() }]);
        let mut p = Pod {
            spec: Some(PodSpec { containers: vec![Container { name: "c".into(), ports, ..Default::default() }], node_name: Some("n1".into()), ..Default::default() }),
            status: Some(PodStatus {
                pod_ip: Some(ip.into()),
                phase: Some("Running".into()),
                conditions: Some(vec![PodCondition { type_: "Ready".into(), status: if ready { "True" } else { "False" }.into(), ..Default::default() }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        p.metadata.name = Some(name.into());
        p.metadata.namespace = Some("default".into());
        p.metadata.uid = Some(format!("uid-{name}"));
        p
    }

    #[test]
    fn ready_and_not_ready_with_named_ports() {
        let s = svc(vec![sport("http", 80, IntOrString::String("http".into()))], false);
        let (a, b, c) = (pod("a", "10.0.0.2", true, Some(8080)), pod("b", "10.0.0.1", false, Some(8080)), pod("c", "10.0.0.3", true, Some(9090)));
        let subsets = subsets(&s, &[&a, &b, &c]);
        assert_eq!(subsets.len(), 2, "{subsets:?}");
        let first = &subsets[0];
        assert_eq!(first.ports.as_ref().unwrap()[0].port, 8080);
        assert_eq!(first.addresses.as_ref().unwrap()[0].ip, "10.0.0.2");
        assert_eq!(first.not_ready_addresses.as_ref().unwrap()[0].ip, "10.0.0.1");
        let addr = &first.addresses.as_ref().unwrap()[0];
        assert_eq!(addr.node_name.as_deref(), Some("n1"));
        assert_eq!(addr.target_ref.as_ref().unwrap().name.as_deref(), Some("a"));
        assert_eq!(subsets[1].ports.as_ref().unwrap()[0].port, 9090);
        // A pod without the named port is left out.
        let d = pod("d", "10.0.0.4", true, None);
        assert!(super::subsets(&s, &[&d]).is_empty());
    }

    #[test]
    fn filters_and_hostnames() {
        let s = svc(vec![], true);
        let mut p = pod("web-0", "10.0.0.5", true, None);
        p.spec.as_mut().unwrap().hostname = Some("web-0".into());
        p.spec.as_mut().unwrap().subdomain = Some("web".into());
        let subsets = subsets(&s, &[&p]);
        assert_eq!(subsets[0].addresses.as_ref().unwrap()[0].hostname.as_deref(), Some("web-0"));
        assert!(subsets[0].ports.is_none());
        let mut gone = pod("x", "10.0.0.6", true, None);
        gone.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH));
        assert!(!should_be_in_endpoints(&gone, false));
        let mut no_ip = pod("y", "", true, None);
        no_ip.status.as_mut().unwrap().pod_ip = None;
        assert!(!should_be_in_endpoints(&no_ip, true));
        let mut done = pod("z", "10.0.0.7", false, None);
        done.spec.as_mut().unwrap().restart_policy = Some("Never".into());
        done.status.as_mut().unwrap().phase = Some("Succeeded".into());
        assert!(!should_be_in_endpoints(&done, true));
        assert_eq!(labels_for(&s).get(HEADLESS_LABEL).map(String::as_str), Some(""));
    }
}
