//! A pod's sandbox config and its containers' configs for the runtime (pure), following
//! upstream's kuberuntime: labels and annotations, log paths, namespaces, resources,
//! security context, mounts and port mappings.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, Pod};

use super::resources::{self, QosClass};
use crate::cri::{api, labels};

/// Node-level settings the configs depend on.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// Node name (label of fake-runtime objects).
    pub node_name: String,
    /// Parent cgroup of pods.
    pub cgroup_root: String,
    /// Container logs root (upstream /var/log/pods).
    pub pod_logs_dir: PathBuf,
    /// Node memory in bytes (for OOM scores).
    pub node_memory: i64,
    /// The DNS config of the pod.
    pub dns: api::DnsConfig,
}

/// The pod's log folder: `<root>/<namespace>_<name>_<uid>`.
pub fn pod_log_dir(root: &Path, pod: &Pod) -> PathBuf {
    let m = &pod.metadata;
    root.join(format!(
        "{}_{}_{}",
        m.namespace.as_deref().unwrap_or("default"),
        m.name.as_deref().unwrap_or(""),
        m.uid.as_deref().unwrap_or("")
    ))
}

fn pod_labels(pod: &Pod, node: &str) -> HashMap<String, String> {
    let m = &pod.metadata;
    let mut l: HashMap<String, String> = m.labels.clone().unwrap_or_default().into_iter().collect();
    l.insert(labels::POD_NAME.into(), m.name.clone().unwrap_or_default());
    l.insert(labels::POD_NAMESPACE.into(), m.namespace.clone().unwrap_or_else(|| "default".into()));
    l.insert(labels::POD_UID.into(), m.uid.clone().unwrap_or_default());
    l.insert(labels::NODE.into(), node.into());
    l
}

fn namespace_options(pod: &Pod) -> api::NamespaceOption {
    let spec = pod.spec.clone().unwrap_or_default();
    let mode = |node: bool, other: api::NamespaceMode| if node { api::NamespaceMode::Node as i32 } else { other as i32 };
    let pid_other = if spec.share_process_namespace == Some(true) { api::NamespaceMode::Pod } else { api::NamespaceMode::Container };
    api::NamespaceOption {
        network: mode(spec.host_network == Some(true), api::NamespaceMode::Pod),
        pid: mode(spec.host_pid == Some(true), pid_other),
        ipc: mode(spec.host_ipc == Some(true), api::NamespaceMode::Pod),
        ..Default::default()
    }
}

/// The pod's hostname: spec.hostname or the pod name, at most 63 characters.
pub fn hostname(pod: &Pod) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut h = spec.hostname.clone().unwrap_or_else(|| pod.metadata.name.clone().unwrap_or_default());
    h.truncate(63);
    h.trim_end_matches(['-', '.']).to_string()
}

fn port_mappings(pod: &Pod) -> Vec<api::PortMapping> {
    let spec = pod.spec.clone().unwrap_or_default();
    spec.containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.host_port.unwrap_or(0) > 0)
        .map(|p| api::PortMapping {
            protocol: match p.protocol.as_deref() {
                Some("UDP") => api::Protocol::Udp as i32,
                Some("SCTP") => api::Protocol::Sctp as i32,
                _ => api::Protocol::Tcp as i32,
            },
            container_port: p.container_port,
            host_port: p.host_port.unwrap_or(0),
            host_ip: p.host_ip.clone().unwrap_or_default(),
        })
        .collect()
}

/// The sandbox config of `pod` for attempt `attempt`.
pub fn sandbox_config(pod: &Pod, attempt: u32, node: &NodeSettings) -> api::PodSandboxConfig {
    let m = &pod.metadata;
    let spec = pod.spec.clone().unwrap_or_default();
    let qos = resources::qos_class(pod);
    let host_network = spec.host_network == Some(true);
    let sc = spec.security_context.clone().unwrap_or_default();
    let privileged = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .any(|c| c.security_context.as_ref().and_then(|s| s.privileged) == Some(true));
    let sysctls = sc.sysctls.iter().flatten().map(|s| (s.name.clone(), s.value.clone())).collect();
    api::PodSandboxConfig {
        metadata: Some(api::PodSandboxMetadata {
            name: m.name.clone().unwrap_or_default(),
            uid: m.uid.clone().unwrap_or_default(),
            namespace: m.namespace.clone().unwrap_or_else(|| "default".into()),
            attempt,
        }),
        hostname: if host_network { String::new() } else { hostname(pod) },
        log_directory: pod_log_dir(&node.pod_logs_dir, pod).to_string_lossy().into_owned(),
        dns_config: Some(node.dns.clone()),
        port_mappings: port_mappings(pod),
        labels: pod_labels(pod, &node.node_name),
        annotations: m.annotations.clone().unwrap_or_default().into_iter().collect(),
        linux: Some(api::LinuxPodSandboxConfig {
            cgroup_parent: resources::pod_cgroup(&node.cgroup_root, qos, m.uid.as_deref().unwrap_or("")),
            security_context: Some(api::LinuxSandboxSecurityContext {
                namespace_options: Some(namespace_options(pod)),
                run_as_user: sc.run_as_user.map(|value| api::Int64Value { value }),
                run_as_group: sc.run_as_group.map(|value| api::Int64Value { value }),
                supplemental_groups: sc.supplemental_groups.clone().unwrap_or_default(),
                privileged,
                ..Default::default()
            }),
            sysctls,
            ..Default::default()
        }),
        windows: None,
    }
}

/// Paths masked by default in unprivileged containers (upstream's defaults).
const MASKED_PATHS: &[&str] = &[
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
];
/// Paths read-only by default in unprivileged containers.
const READONLY_PATHS: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

fn security_context(pod: &Pod, c: &Container, target_id: Option<&str>) -> api::LinuxContainerSecurityContext {
    let mut ns = namespace_options(pod);
    // As upstream: a target only matters when containers do not share the pod's namespace.
    if let Some(id) = target_id.filter(|_| ns.pid == api::NamespaceMode::Container as i32) {
        ns.pid = api::NamespaceMode::Target as i32;
        ns.target_id = id.to_string();
    }
    let psc = pod.spec.as_ref().and_then(|s| s.security_context.clone()).unwrap_or_default();
    let sc = c.security_context.clone().unwrap_or_default();
    let privileged = sc.privileged == Some(true);
    let caps = sc.capabilities.clone().unwrap_or_default();
    api::LinuxContainerSecurityContext {
        capabilities: Some(api::Capability {
            add_capabilities: caps.add.unwrap_or_default(),
            drop_capabilities: caps.drop.unwrap_or_default(),
            ..Default::default()
        }),
        privileged,
        namespace_options: Some(ns),
        run_as_user: sc.run_as_user.or(psc.run_as_user).map(|value| api::Int64Value { value }),
        run_as_group: sc.run_as_group.or(psc.run_as_group).map(|value| api::Int64Value { value }),
        readonly_rootfs: sc.read_only_root_filesystem == Some(true),
        supplemental_groups: psc.supplemental_groups.clone().unwrap_or_default(),
        no_new_privs: sc.allow_privilege_escalation == Some(false),
        masked_paths: if privileged { vec![] } else { MASKED_PATHS.iter().map(|s| s.to_string()).collect() },
        readonly_paths: if privileged { vec![] } else { READONLY_PATHS.iter().map(|s| s.to_string()).collect() },
        ..Default::default()
    }
}

/// What a container's config is made from besides the spec.
#[derive(Debug, Clone, Default)]
pub struct ContainerInputs {
    /// Restart count, used as the CRI attempt.
    pub attempt: u32,
    /// The resolved environment.
    pub env: Vec<(String, String)>,
    /// Volume name to host path.
    pub volumes: HashMap<String, PathBuf>,
    /// The pod's /etc/hosts file, when the kubelet manages it.
    pub etc_hosts: Option<PathBuf>,
    /// The container's termination message file on the host.
    pub termination_log: Option<PathBuf>,
    /// The image reference to run (resolved by ImageStatus).
    pub image_ref: String,
    /// Data volume names (mounted read-only).
    pub read_only_volumes: Vec<String>,
    /// An ephemeral container's target: the runtime id of the container whose process
    /// namespace it joins.
    pub target_id: Option<String>,
}

/// Errors building a container config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A volumeMount names no volume.
    #[error("cannot find volume \"{0}\" to mount into container \"{1}\"")]
    NoVolume(String, String),
}

fn mounts(c: &Container, inputs: &ContainerInputs) -> Result<Vec<api::Mount>, ConfigError> {
    let mut out = vec![];
    for vm in c.volume_mounts.iter().flatten() {
        let base = inputs.volumes.get(&vm.name).ok_or_else(|| ConfigError::NoVolume(vm.name.clone(), c.name.clone()))?;
        let mut host = base.clone();
        if let Some(sub) = vm.sub_path.as_ref().filter(|s| !s.is_empty()) {
            host = base.join(super::env::expand_all(std::slice::from_ref(sub), &inputs.env).remove(0));
            if !host.exists() {
                let _ = std::fs::create_dir_all(&host);
            }
        }
        let propagation = match vm.mount_propagation.as_deref() {
            Some("HostToContainer") => api::MountPropagation::PropagationHostToContainer,
            Some("Bidirectional") => api::MountPropagation::PropagationBidirectional,
            _ => api::MountPropagation::PropagationPrivate,
        };
        out.push(api::Mount {
            container_path: vm.mount_path.clone(),
            host_path: host.to_string_lossy().into_owned(),
            readonly: vm.read_only == Some(true) || inputs.read_only_volumes.contains(&vm.name),
            propagation: propagation as i32,
            ..Default::default()
        });
    }
    let mounted = |p: &str| out.iter().any(|m| m.container_path == p);
    let mut extra = vec![];
    if let Some(h) = inputs.etc_hosts.as_ref().filter(|_| !mounted("/etc/hosts")) {
        extra.push(api::Mount { container_path: "/etc/hosts".into(), host_path: h.to_string_lossy().into_owned(), ..Default::default() });
    }
    if let Some(t) = &inputs.termination_log {
        let path = c.termination_message_path.clone().unwrap_or_else(|| "/dev/termination-log".into());
        if !mounted(&path) {
            extra.push(api::Mount { container_path: path, host_path: t.to_string_lossy().into_owned(), ..Default::default() });
        }
    }
    out.extend(extra);
    Ok(out)
}

/// The config of container `c` of `pod`.
pub fn container_config(pod: &Pod, c: &Container, inputs: &ContainerInputs, node: &NodeSettings) -> Result<api::ContainerConfig, ConfigError> {
    let qos: QosClass = resources::qos_class(pod);
    let grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
    let mut lbl = pod_labels(pod, &node.node_name);
    lbl.retain(|k, _| k.starts_with("io.kubernetes.") || k == labels::NODE);
    lbl.insert(labels::CONTAINER_NAME.into(), c.name.clone());
    let annotations = HashMap::from([
        (labels::RESTART_COUNT.to_string(), inputs.attempt.to_string()),
        (labels::TERMINATION_MESSAGE_PATH.to_string(), c.termination_message_path.clone().unwrap_or_else(|| "/dev/termination-log".into())),
        (labels::GRACE_PERIOD.to_string(), grace.to_string()),
    ]);
    Ok(api::ContainerConfig {
        metadata: Some(api::ContainerMetadata { name: c.name.clone(), attempt: inputs.attempt }),
        image: Some(api::ImageSpec { image: inputs.image_ref.clone(), user_specified_image: c.image.clone().unwrap_or_default(), ..Default::default() }),
        command: super::env::expand_all(c.command.as_deref().unwrap_or_default(), &inputs.env),
        args: super::env::expand_all(c.args.as_deref().unwrap_or_default(), &inputs.env),
        working_dir: c.working_dir.clone().unwrap_or_default(),
        envs: inputs.env.iter().map(|(k, v)| api::KeyValue { key: k.clone(), value: v.clone() }).collect(),
        mounts: mounts(c, inputs)?,
        labels: lbl,
        annotations,
        log_path: format!("{}/{}.log", c.name, inputs.attempt),
        stdin: c.stdin == Some(true),
        stdin_once: c.stdin_once == Some(true),
        tty: c.tty == Some(true),
        linux: Some(api::LinuxContainerConfig {
            resources: Some(resources::container_resources(c.resources.as_ref(), qos, node.node_memory)),
            security_context: Some(security_context(pod, c, inputs.target_id.as_deref())),
        }),
        ..Default::default()
    })
}

/// The /etc/hosts content of a pod (upstream's managed hosts file).
pub fn etc_hosts(pod: &Pod, pod_ip: &str, cluster_domain: &str) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut s = String::from("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n");
    if !pod_ip.is_empty() {
        let host = hostname(pod);
        match spec.subdomain.as_ref().filter(|s| !s.is_empty()) {
            Some(sub) => {
                let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
                s.push_str(&format!("{pod_ip}\t{host}.{sub}.{ns}.svc.{cluster_domain}\t{host}\n"));
            }
            None => s.push_str(&format!("{pod_ip}\t{host}\n")),
        }
    }
    for ha in spec.host_aliases.iter().flatten() {
        s.push_str(&format!("\n# Entries added by HostAliases.\n{}\t{}\n", ha.ip, ha.hostnames.clone().unwrap_or_default().join("\t")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node() -> NodeSettings {
        NodeSettings {
            node_name: "n1".into(),
            cgroup_root: "/kubepods".into(),
            pod_logs_dir: "/var/log/pods".into(),
            node_memory: 1 << 30,
            dns: api::DnsConfig::default(),
        }
    }

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "ns", "uid": "u1", "labels": {"app": "w"}}, "spec": spec})).unwrap()
    }

    #[test]
    fn sandbox_for_plain_and_host_network_pods() {
        let p = pod(json!({"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}));
        let s = sandbox_config(&p, 0, &node());
        assert_eq!(s.hostname, "web");
        assert_eq!(s.log_directory, "/var/log/pods/ns_web_u1");
        assert_eq!(s.labels[labels::POD_UID], "u1");
        assert_eq!(s.labels["app"], "w");
        assert_eq!(s.port_mappings[0].host_port, 8080);
        let linux = s.linux.unwrap();
        assert_eq!(linux.cgroup_parent, "/kubepods/besteffort/podu1");
        let ns = linux.security_context.unwrap().namespace_options.unwrap();
        assert_eq!((ns.network, ns.pid), (api::NamespaceMode::Pod as i32, api::NamespaceMode::Container as i32));
        let hp = pod(json!({"hostNetwork": true, "containers": [{"name": "c", "image": "busybox"}]}));
        let s = sandbox_config(&hp, 1, &node());
        assert_eq!(s.hostname, "");
        assert_eq!(s.linux.unwrap().security_context.unwrap().namespace_options.unwrap().network, api::NamespaceMode::Node as i32);
    }

    #[test]
    fn container_config_has_env_mounts_and_log_path() {
        let p = pod(json!({"containers": [{"name": "c", "image": "busybox:1.35", "command": ["sh", "-c", "echo $(GREETING)"],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "cfg", "mountPath": "/etc/cfg"}]}]}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        let inputs = ContainerInputs {
            attempt: 2,
            env: vec![("GREETING".into(), "hi".into())],
            volumes: HashMap::from([("data".into(), PathBuf::from("/v/data")), ("cfg".into(), PathBuf::from("/v/cfg"))]),
            read_only_volumes: vec!["cfg".into()],
            image_ref: "sha256:abc".into(),
            ..Default::default()
        };
        let cfg = container_config(&p, c, &inputs, &node()).unwrap();
        assert_eq!(cfg.command, vec!["sh", "-c", "echo hi"]);
        assert_eq!(cfg.log_path, "c/2.log");
        assert_eq!(cfg.metadata.unwrap().attempt, 2);
        assert_eq!(cfg.mounts.len(), 2);
        assert!(!cfg.mounts[0].readonly && cfg.mounts[1].readonly);
        assert_eq!(cfg.annotations[labels::RESTART_COUNT], "2");
        let bad = pod(json!({"containers": [{"name": "c", "image": "x", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}]}));
        let c = &bad.spec.as_ref().unwrap().containers[0];
        assert!(container_config(&bad, c, &ContainerInputs::default(), &node()).is_err());
    }

    #[test]
    fn ephemeral_target_shares_the_process_namespace() {
        let p = pod(json!({"containers": [{"name": "c", "image": "busybox"}]}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        let inputs = ContainerInputs { target_id: Some("abc".into()), ..Default::default() };
        let ns = container_config(&p, c, &inputs, &node()).unwrap().linux.unwrap().security_context.unwrap().namespace_options.unwrap();
        assert_eq!((ns.pid, ns.target_id.as_str()), (api::NamespaceMode::Target as i32, "abc"));
        let shared = pod(json!({"shareProcessNamespace": true, "containers": [{"name": "c", "image": "busybox"}]}));
        let ns = container_config(&shared, c, &inputs, &node()).unwrap().linux.unwrap().security_context.unwrap().namespace_options.unwrap();
        assert_eq!((ns.pid, ns.target_id.as_str()), (api::NamespaceMode::Pod as i32, ""));
    }

    #[test]
    fn hosts_file() {
        let p = pod(json!({"subdomain": "sub", "hostAliases": [{"ip": "1.2.3.4", "hostnames": ["a", "b"]}], "containers": []}));
        let h = etc_hosts(&p, "10.244.1.2", "cluster.local");
        assert!(h.contains("10.244.1.2\tweb.sub.ns.svc.cluster.local\tweb\n"));
        assert!(h.contains("1.2.3.4\ta\tb\n"));
    }
}
