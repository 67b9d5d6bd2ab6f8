//! A pod's resolv.conf (CRI DNSConfig) from its dnsPolicy and dnsConfig, as upstream's
//! kubelet/network/dns computes it.

use k8s_openapi::api::core::v1::Pod;

use crate::cri::api;

/// Upstream's limit of search domains.
const MAX_SEARCHES: usize = 32;

/// Nameservers, search domains and options of a resolv.conf text.
pub fn parse_resolv_conf(text: &str) -> api::DnsConfig {
    let mut c = api::DnsConfig::default();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => c.servers.extend(words.next().map(str::to_string)),
            Some("search") | Some("domain") => c.searches = words.map(str::to_string).collect(),
            Some("options") => c.options.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    c
}

fn merge_options(base: &mut Vec<String>, extra: &[(String, Option<String>)]) {
    for (name, value) in extra {
        base.retain(|o| o.split(':').next() != Some(name));
        base.push(match value {
            Some(v) => format!("{name}:{v}"),
            None => name.clone(),
        });
    }
}

/// The DNS configuration handed to the runtime for `pod`.
pub fn dns_config(pod: &Pod, cluster_dns: &[String], cluster_domain: &str, host_resolv: &str) -> api::DnsConfig {
    let spec = pod.spec.clone().unwrap_or_default();
    let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let mut policy = spec.dns_policy.clone().unwrap_or_else(|| "ClusterFirst".into());
    if policy == "ClusterFirst" && spec.host_network == Some(true) {
        policy = "Default".into();
    }
    if (policy == "ClusterFirst" || policy == "ClusterFirstWithHostNet") && cluster_dns.is_empty() {
        policy = "Default".into();
    }
    let host = parse_resolv_conf(host_resolv);
    let mut c = match policy.as_str() {
        "None" => api::DnsConfig::default(),
        "Default" => host,
        _ => {
            let mut searches = vec![format!("{ns}.svc.{cluster_domain}"), format!("svc.{cluster_domain}"), cluster_domain.to_string()];
            searches.extend(host.searches);
            api::DnsConfig { servers: cluster_dns.to_vec(), searches, options: vec!["ndots:5".into()] }
        }
    };
    if let Some(extra) = &spec.dns_config {
        c.servers.extend(extra.nameservers.iter().flatten().cloned());
        c.searches.extend(extra.searches.iter().flatten().cloned());
        let opts: Vec<(String, Option<String>)> =
            extra.options.iter().flatten().map(|o| (o.name.clone().unwrap_or_default(), o.value.clone())).collect();
        merge_options(&mut c.options, &opts);
    }
    let mut seen = std::collections::HashSet::new();
    c.searches.retain(|s| seen.insert(s.clone()));
    c.searches.truncate(MAX_SEARCHES);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: serde_json::Value) -> Pod {
        let mut s = json!({"containers": [{"name": "c", "image": "x"}]});
        s.as_object_mut().unwrap().extend(spec.as_object().unwrap().clone());
        serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "web"}, "spec": s})).unwrap()
    }

    const HOST: &str = "# comment\nnameserver 1.1.1.1\nsearch corp.example\noptions edns0\n";

    #[test]
    fn cluster_first() {
        let c = dns_config(&pod(json!({})), &["10.96.0.10".into()], "cluster.local", HOST);
        assert_eq!(c.servers, vec!["10.96.0.10"]);
        assert_eq!(c.searches, vec!["web.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"]);
        assert_eq!(c.options, vec!["ndots:5"]);
    }

    #[test]
    fn default_host_network_and_none() {
        let c = dns_config(&pod(json!({"dnsPolicy": "Default"})), &["10.96.0.10".into()], "cluster.local", HOST);
        assert_eq!((c.servers.clone(), c.options.clone()), (vec!["1.1.1.1".to_string()], vec!["edns0".to_string()]));
        let c = dns_config(&pod(json!({"hostNetwork": true})), &["10.96.0.10".into()], "cluster.local", HOST);
        assert_eq!(c.servers, vec!["1.1.1.1"]);
        let c = dns_config(&pod(json!({"hostNetwork": true, "dnsPolicy": "ClusterFirstWithHostNet"})), &["10.96.0.10".into()], "cluster.local", HOST);
        assert_eq!(c.servers, vec!["10.96.0.10"]);
        let c = dns_config(
            &pod(json!({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["8.8.8.8"], "searches": ["a.b"], "options": [{"name": "ndots", "value": "2"}]}})),
            &[],
            "cluster.local",
            HOST,
        );
        assert_eq!((c.servers, c.searches, c.options), (vec!["8.8.8.8".into()], vec!["a.b".into()], vec!["ndots:2".into()]));
        let c = dns_config(&pod(json!({"dnsConfig": {"options": [{"name": "ndots", "value": "1"}]}})), &["10.96.0.10".into()], "cluster.local", HOST);
        assert_eq!(c.options, vec!["ndots:1"]);
    }
}
