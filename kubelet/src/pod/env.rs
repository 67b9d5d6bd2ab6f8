//! Container environment: `env` (value, configMapKeyRef, secretKeyRef, fieldRef,
//! resourceFieldRef), `envFrom`, service link variables and `$(VAR)` expansion, as upstream's
//! kubelet builds them. Pure: ConfigMaps and Secrets are fetched by the caller.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod, ResourceFieldSelector};
use rkube_apimachinery::quantity::Quantity;

use super::resources::{milli_cpu, value_of};

/// Why a container's environment could not be built (reported as CreateContainerConfigError).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// A referenced ConfigMap does not exist.
    #[error("configmap \"{0}\" not found")]
    ConfigMapNotFound(String),
    /// A referenced Secret does not exist.
    #[error("secret \"{0}\" not found")]
    SecretNotFound(String),
    /// A referenced key is missing.
    #[error("couldn't find key {key} in {kind} {namespace}/{name}")]
    KeyNotFound {
        /// The key.
        key: String,
        /// ConfigMap or Secret.
        kind: &'static str,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// An unsupported or malformed field or resource reference.
    #[error("{0}")]
    Invalid(String),
}

/// What environment values come from besides the pod itself.
#[derive(Debug, Default, Clone)]
pub struct EnvInputs {
    /// ConfigMaps of the pod's namespace by name (data and binaryData as text).
    pub config_maps: HashMap<String, BTreeMap<String, String>>,
    /// Secrets of the pod's namespace by name, decoded.
    pub secrets: HashMap<String, BTreeMap<String, String>>,
    /// Node IP (status.hostIP).
    pub host_ip: String,
    /// Pod IPs (status.podIPs); the first is status.podIP.
    pub pod_ips: Vec<String>,
    /// Node allocatable CPU in millicores (default for unset limits).
    pub node_milli_cpu: i64,
    /// Node allocatable memory in bytes.
    pub node_memory: i64,
    /// Service link variables (KUBERNETES_SERVICE_HOST, ...).
    pub service_env: Vec<(String, String)>,
}

/// Expands `$(VAR)` references with `lookup`; `$$` escapes a `$`; unknown references stay.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 >= bytes.len() {
            let ch = input[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        match bytes[i + 1] {
            b'$' => {
                out.push('$');
                i += 2;
            }
            b'(' => match input[i + 2..].find(')') {
                Some(end) => {
                    let name = &input[i + 2..i + 2 + end];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => out.push_str(&input[i..i + 3 + end]),
                    }
                    i += 3 + end;
                }
                None => {
                    out.push_str(&input[i..]);
                    i = bytes.len();
                }
            },
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    out
}

fn map_lookup<'a>(name: &str, key: &str, kind: &'static str, ns: &str, data: Option<&'a BTreeMap<String, String>>) -> Result<Option<&'a String>, EnvError> {
    let Some(d) = data else {
        return Err(match kind {
            "ConfigMap" => EnvError::ConfigMapNotFound(name.into()),
            _ => EnvError::SecretNotFound(name.into()),
        });
    };
    match d.get(key) {
        Some(v) => Ok(Some(v)),
        None => Err(EnvError::KeyNotFound { key: key.into(), kind, namespace: ns.into(), name: name.into() }),
    }
}

/// Reads a downward API field path of the pod.
pub fn field_value(pod: &Pod, path: &str, inputs: &EnvInputs) -> Result<String, EnvError> {
    let meta = &pod.metadata;
    let spec = pod.spec.clone().unwrap_or_default();
    let subscript = |p: &str, prefix: &str| -> Option<String> {
        p.strip_prefix(prefix)?.strip_suffix("']").map(str::to_string)
    };
    if let Some(k) = subscript(path, "metadata.labels['") {
        return Ok(meta.labels.as_ref().and_then(|l| l.get(&k)).cloned().unwrap_or_default());
    }
    if let Some(k) = subscript(path, "metadata.annotations['") {
        return Ok(meta.annotations.as_ref().and_then(|l| l.get(&k)).cloned().unwrap_or_default());
    }
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_else(|| "default".into()),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(meta.labels.as_ref()),
        "metadata.annotations" => format_map(meta.annotations.as_ref()),
        "spec.nodeName" => spec.node_name.unwrap_or_default(),
        "spec.serviceAccountName" => spec.service_account_name.unwrap_or_default(),
        "status.hostIP" => inputs.host_ip.clone(),
        "status.hostIPs" => inputs.host_ip.clone(),
        "status.podIP" => inputs.pod_ips.first().cloned().unwrap_or_default(),
        "status.podIPs" => inputs.pod_ips.join(","),
        other => return Err(EnvError::Invalid(format!("unsupported fieldPath: {other}"))),
    })
}

/// `key="value"` lines, sorted, as the downward API volume writes maps.
pub fn format_map(m: Option<&BTreeMap<String, String>>) -> String {
    m.map(|m| m.iter().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join("\n")).unwrap_or_default()
}

/// Reads a resourceFieldRef of a container, with node allocatable for unset limits.
pub fn resource_value(c: &Container, sel: &ResourceFieldSelector, inputs: &EnvInputs) -> Result<String, EnvError> {
    let r = c.resources.clone().unwrap_or_default();
    let divisor = sel.divisor.as_ref().and_then(|d| Quantity::parse(&d.0).ok()).filter(|d| !d.is_zero());
    let (nanos, is_cpu): (i128, bool) = match sel.resource.as_str() {
        "limits.cpu" => (milli_cpu(r.limits.as_ref()).unwrap_or(inputs.node_milli_cpu) as i128 * 1_000_000, true),
        "requests.cpu" => (milli_cpu(r.requests.as_ref()).unwrap_or(0) as i128 * 1_000_000, true),
        "limits.memory" => (value_of(r.limits.as_ref(), "memory").unwrap_or(inputs.node_memory) as i128 * 1_000_000_000, false),
        "requests.memory" => (value_of(r.requests.as_ref(), "memory").unwrap_or(0) as i128 * 1_000_000_000, false),
        "limits.ephemeral-storage" => (value_of(r.limits.as_ref(), "ephemeral-storage").unwrap_or(0) as i128 * 1_000_000_000, false),
        "requests.ephemeral-storage" => (value_of(r.requests.as_ref(), "ephemeral-storage").unwrap_or(0) as i128 * 1_000_000_000, false),
        other => return Err(EnvError::Invalid(format!("unsupported container resource : {other}"))),
    };
    let div = divisor.map(|d| d.nanos()).unwrap_or(1_000_000_000);
    let mut v = (nanos + div - 1) / div;
    if is_cpu && v == 0 && nanos > 0 {
        v = 1;
    }
    Ok(v.to_string())
}

fn env_value(e: &EnvVar, pod: &Pod, c: &Container, inputs: &EnvInputs, ns: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, EnvError> {
    let Some(from) = &e.value_from else {
        return Ok(Some(expand(e.value.as_deref().unwrap_or(""), lookup)));
    };
    if let Some(r) = &from.config_map_key_ref {
        let optional = r.optional.unwrap_or(false);
        return match map_lookup(&r.name, &r.key, "ConfigMap", ns, inputs.config_maps.get(&r.name)) {
            Ok(v) => Ok(v.cloned()),
            Err(_) if optional => Ok(None),
            Err(err) => Err(err),
        };
    }
    if let Some(r) = &from.secret_key_ref {
        let optional = r.optional.unwrap_or(false);
        return match map_lookup(&r.name, &r.key, "Secret", ns, inputs.secrets.get(&r.name)) {
            Ok(v) => Ok(v.cloned()),
            Err(_) if optional => Ok(None),
            Err(err) => Err(err),
        };
    }
    if let Some(f) = &from.field_ref {
        return field_value(pod, &f.field_path, inputs).map(Some);
    }
    if let Some(r) = &from.resource_field_ref {
        return resource_value(c, r, inputs).map(Some);
    }
    Ok(None)
}

fn env_from(c: &Container, inputs: &EnvInputs, out: &mut Vec<(String, String)>) -> Result<(), EnvError> {
    for src in c.env_from.iter().flatten() {
        let prefix = src.prefix.clone().unwrap_or_default();
        let data = if let Some(r) = &src.config_map_ref {
            match inputs.config_maps.get(&r.name) {
                Some(d) => d,
                None if r.optional.unwrap_or(false) => continue,
                None => return Err(EnvError::ConfigMapNotFound(r.name.clone())),
            }
        } else if let Some(r) = &src.secret_ref {
            match inputs.secrets.get(&r.name) {
                Some(d) => d,
                None if r.optional.unwrap_or(false) => continue,
                None => return Err(EnvError::SecretNotFound(r.name.clone())),
            }
        } else {
            continue;
        };
        for (k, v) in data {
            set(out, format!("{prefix}{k}"), v.clone());
        }
    }
    Ok(())
}

fn set(out: &mut Vec<(String, String)>, k: String, v: String) {
    match out.iter_mut().find(|(name, _)| *name == k) {
        Some(slot) => slot.1 = v,
        None => out.push((k, v)),
    }
}

/// The container's environment, in a stable order: envFrom, env, then service links not
/// otherwise defined.
pub fn build(pod: &Pod, c: &Container, inputs: &EnvInputs) -> Result<Vec<(String, String)>, EnvError> {
    let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let mut out: Vec<(String, String)> = vec![];
    env_from(c, inputs, &mut out)?;
    for e in c.env.iter().flatten() {
        let value = {
            let snapshot = out.clone();
            let lookup = |name: &str| -> Option<String> {
                snapshot
                    .iter()
                    .find(|(k, _)| k == name)
                    .or_else(|| inputs.service_env.iter().find(|(k, _)| k == name))
                    .map(|(_, v)| v.clone())
            };
            env_value(e, pod, c, inputs, &ns, &lookup)?
        };
        if let Some(v) = value {
            set(&mut out, e.name.clone(), v);
        }
    }
    for (k, v) in &inputs.service_env {
        if !out.iter().any(|(name, _)| name == k) {
            out.push((k.clone(), v.clone()));
        }
    }
    Ok(out)
}

/// Expands `$(VAR)` in a command or args list with the final environment.
pub fn expand_all(list: &[String], env: &[(String, String)]) -> Vec<String> {
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    list.iter().map(|s| expand(s, &lookup)).collect()
}

/// Docker-link style variables of one service (upstream's envvars.FromServices).
pub fn service_env(name: &str, cluster_ip: &str, ports: &[(Option<String>, i32, String)]) -> Vec<(String, String)> {
    if cluster_ip.is_empty() || cluster_ip == "None" {
        return vec![];
    }
    let prefix = name.to_uppercase().replace('-', "_");
    let mut out = vec![(format!("{prefix}_SERVICE_HOST"), cluster_ip.to_string())];
    let Some((_, first_port, first_proto)) = ports.first() else { return out };
    out.push((format!("{prefix}_SERVICE_PORT"), first_port.to_string()));
    for (pname, port, _) in ports {
        if let Some(pn) = pname.as_ref().filter(|p| !p.is_empty()) {
            out.push((format!("{prefix}_SERVICE_PORT_{}", pn.to_uppercase().replace('-', "_")), port.to_string()));
        }
    }
    out.push((format!("{prefix}_PORT"), format!("{}://{cluster_ip}:{first_port}", first_proto.to_lowercase())));
    for (_, port, proto) in ports {
        let p = format!("{prefix}_PORT_{port}_{}", proto.to_uppercase());
        out.push((p.clone(), format!("{}://{cluster_ip}:{port}", proto.to_lowercase())));
        out.push((format!("{p}_PROTO"), proto.to_lowercase()));
        out.push((format!("{p}_PORT"), port.to_string()));
        out.push((format!("{p}_ADDR"), cluster_ip.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(container: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "serviceAccountName": "default", "containers": [container]}
        }))
        .unwrap()
    }

    fn inputs() -> EnvInputs {
        EnvInputs {
            config_maps: HashMap::from([(
                "game-config".to_string(),
                BTreeMap::from([("lives".to_string(), "3".to_string()), ("enemies".to_string(), "aliens".to_string())]),
            )]),
            secrets: HashMap::from([("creds".to_string(), BTreeMap::from([("password".to_string(), "s3cret".to_string())]))]),
            host_ip: "169.254.1.1".into(),
            pod_ips: vec!["10.244.1.5".into()],
            node_milli_cpu: 2000,
            node_memory: 1 << 30,
            service_env: vec![("KUBERNETES_SERVICE_HOST".into(), "10.96.0.1".into())],
        }
    }

    #[test]
    fn expansion_rules() {
        let lookup = |n: &str| (n == "A").then(|| "x".to_string());
        assert_eq!(expand("$(A)-$(B)-$$(A)-$-$(A", &lookup), "x-$(B)-$(A)-$-$(A");
        assert_eq!(expand("héllo $(A)", &lookup), "héllo x");
    }

    #[test]
    fn env_sources() {
        let p = pod(json!({"name": "c", "image": "busybox",
            "envFrom": [{"configMapRef": {"name": "game-config"}, "prefix": "G_"}],
            "env": [
                {"name": "PLAIN", "value": "v"},
                {"name": "LIVES", "valueFrom": {"configMapKeyRef": {"name": "game-config", "key": "lives"}}},
                {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                {"name": "COMBINED", "value": "$(PLAIN)-$(LIVES)-$(KUBERNETES_SERVICE_HOST)-$(NOPE)"},
                {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "missing", "key": "k", "optional": true}}}
            ]}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        let env: HashMap<_, _> = build(&p, c, &inputs()).unwrap().into_iter().collect();
        assert_eq!(env["G_lives"], "3");
        assert_eq!(env["G_enemies"], "aliens");
        assert_eq!(env["LIVES"], "3");
        assert_eq!(env["PASS"], "s3cret");
        assert_eq!(env["NODE"], "n1");
        assert_eq!(env["IP"], "10.244.1.5");
        assert_eq!(env["APP"], "web");
        assert_eq!(env["MEM"], "1024");
        assert_eq!(env["CPU"], "2");
        assert_eq!(env["COMBINED"], "v-3-10.96.0.1-$(NOPE)");
        assert!(!env.contains_key("OPT"));
        assert_eq!(env["KUBERNETES_SERVICE_HOST"], "10.96.0.1");
    }

    #[test]
    fn missing_references_fail() {
        let p = pod(json!({"name": "c", "image": "busybox", "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}]}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        assert_eq!(build(&p, c, &inputs()).unwrap_err().to_string(), "configmap \"nope\" not found");
        let p = pod(json!({"name": "c", "image": "busybox", "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k"}}}]}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        assert_eq!(build(&p, c, &inputs()).unwrap_err().to_string(), "couldn't find key k in Secret ns/creds");
    }

    #[test]
    fn service_links() {
        let env = service_env("my-svc", "10.96.0.5", &[(Some("http".into()), 80, "TCP".into())]);
        let m: HashMap<_, _> = env.into_iter().collect();
        assert_eq!(m["MY_SVC_SERVICE_HOST"], "10.96.0.5");
        assert_eq!(m["MY_SVC_SERVICE_PORT"], "80");
        assert_eq!(m["MY_SVC_SERVICE_PORT_HTTP"], "80");
        assert_eq!(m["MY_SVC_PORT"], "tcp://10.96.0.5:80");
        assert_eq!(m["MY_SVC_PORT_80_TCP_ADDR"], "10.96.0.5");
        assert_eq!(expand_all(&["echo $(MY_SVC_SERVICE_HOST)".into()], &[("MY_SVC_SERVICE_HOST".into(), "h".into())]), vec!["echo h"]);
    }
}
