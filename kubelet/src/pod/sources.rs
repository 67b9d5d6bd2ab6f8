//! Fetching what a pod's environment and volumes refer to: ConfigMaps, Secrets and the
//! services of its namespace (for service link variables).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use kube::api::{Api, ListParams};

use super::env;
use super::volumes::VolumeData;

/// Names a pod refers to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refs {
    /// ConfigMap names.
    pub config_maps: BTreeSet<String>,
    /// Secret names.
    pub secrets: BTreeSet<String>,
}

/// Every ConfigMap and Secret the pod's env, envFrom and volumes name.
pub fn refs(pod: &Pod) -> Refs {
    let mut r = Refs::default();
    let Some(spec) = &pod.spec else { return r };
    for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
        for e in c.env.iter().flatten() {
            if let Some(f) = &e.value_from {
                r.config_maps.extend(f.config_map_key_ref.as_ref().map(|x| x.name.clone()));
                r.secrets.extend(f.secret_key_ref.as_ref().map(|x| x.name.clone()));
            }
        }
        for f in c.env_from.iter().flatten() {
            r.config_maps.extend(f.config_map_ref.as_ref().map(|x| x.name.clone()));
            r.secrets.extend(f.secret_ref.as_ref().map(|x| x.name.clone()));
        }
    }
    for v in spec.volumes.iter().flatten() {
        r.config_maps.extend(v.config_map.as_ref().map(|x| x.name.clone()));
        r.secrets.extend(v.secret.as_ref().and_then(|x| x.secret_name.clone()));
        for s in v.projected.as_ref().and_then(|p| p.sources.as_ref()).into_iter().flatten() {
            r.config_maps.extend(s.config_map.as_ref().map(|x| x.name.clone()));
            r.secrets.extend(s.secret.as_ref().map(|x| x.name.clone()));
        }
    }
    r
}

/// The fetched data, as bytes.
pub async fn fetch(client: &kube::Client, ns: &str, refs: &Refs) -> Result<VolumeData, kube::Error> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let mut out = VolumeData::default();
    for name in &refs.config_maps {
        if let Some(cm) = cms.get_opt(name).await? {
            let mut m: BTreeMap<String, Vec<u8>> = cm.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
            m.extend(cm.binary_data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)));
            out.config_maps.insert(name.clone(), m);
        }
    }
    for name in &refs.secrets {
        if let Some(s) = secrets.get_opt(name).await? {
            let mut m: BTreeMap<String, Vec<u8>> = s.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
            m.extend(s.string_data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_bytes())));
            out.secrets.insert(name.clone(), m);
        }
    }
    Ok(out)
}

/// The text view of fetched data for environment variables.
pub fn as_text(data: &HashMap<String, BTreeMap<String, Vec<u8>>>) -> HashMap<String, BTreeMap<String, String>> {
    data.iter()
        .map(|(n, m)| (n.clone(), m.iter().map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned())).collect()))
        .collect()
}

fn service_vars(s: &Service) -> Vec<(String, String)> {
    let Some(spec) = &s.spec else { return vec![] };
    let ports: Vec<(Option<String>, i32, String)> =
        spec.ports.iter().flatten().map(|p| (p.name.clone(), p.port, p.protocol.clone().unwrap_or_else(|| "TCP".into()))).collect();
    env::service_env(s.metadata.name.as_deref().unwrap_or(""), spec.cluster_ip.as_deref().unwrap_or(""), &ports)
}

/// Service link variables: the namespace's services (when enableServiceLinks) and the
/// apiserver's `kubernetes` service.
pub async fn service_env(client: &kube::Client, pod: &Pod) -> Vec<(String, String)> {
    let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let links = pod.spec.as_ref().and_then(|s| s.enable_service_links).unwrap_or(true);
    let mut out = vec![];
    if links {
        let api: Api<Service> = Api::namespaced(client.clone(), &ns);
        if let Ok(list) = api.list(&ListParams::default()).await {
            let mut items = list.items;
            items.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            for s in items.iter().filter(|s| ns != "default" || s.metadata.name.as_deref() != Some("kubernetes")) {
                out.extend(service_vars(s));
            }
        }
    }
    let default: Api<Service> = Api::namespaced(client.clone(), "default");
    if let Ok(Some(k)) = default.get_opt("kubernetes").await {
        out.extend(service_vars(&k));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_references() {
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {
            "containers": [{"name": "c", "image": "x",
                "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm1", "key": "k"}}},
                        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}}],
                "envFrom": [{"configMapRef": {"name": "cm2"}}]}],
            "volumes": [{"name": "v", "secret": {"secretName": "s2"}},
                        {"name": "w", "projected": {"sources": [{"configMap": {"name": "cm3"}}]}}]
        }}))
        .unwrap();
        let r = refs(&p);
        assert_eq!(r.config_maps.into_iter().collect::<Vec<_>>(), vec!["cm1", "cm2", "cm3"]);
        assert_eq!(r.secrets.into_iter().collect::<Vec<_>>(), vec!["s1", "s2"]);
    }
}
