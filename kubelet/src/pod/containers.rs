//! Starting and stopping one container: image (ImageStatus before PullImage, per
//! imagePullPolicy), environment and volumes from the API, the CRI config, postStart and
//! preStop hooks, and graceful stop.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Pod};

use super::env::{self, EnvInputs};
use crate::events::Kind;
use super::observed::{Instance, Observed, RunState, Sandbox};
use super::plan::Start;
use super::probe::{self, Outcome};
use super::volumes::VolumeData;
use super::worker::Worker;
use super::{claims, cri_config, dns, sources, volumes};
use crate::NodeContext;

/// A failed start: (waiting reason, message).
pub type StartError = (String, String);

/// Node settings for the pod's CRI configs.
pub fn node_settings(ctx: &NodeContext, pod: &Pod) -> cri_config::NodeSettings {
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    cri_config::NodeSettings {
        node_name: ctx.name.clone(),
        cgroup_root: ctx.config.cgroup_root.clone(),
        pod_logs_dir: ctx.config.pod_logs_dir.clone(),
        node_memory: ctx.machine.memory_bytes as i64,
        dns: dns::dns_config(pod, &ctx.config.cluster_dns, &ctx.config.cluster_domain, &host_resolv),
    }
}

/// Upstream's default pull policy for an image reference.
pub fn default_pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    let untagged = !last.contains(':') && !image.contains('@');
    if untagged || last.ends_with(":latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

async fn ensure_image(w: &Worker, c: &Container) -> Result<String, StartError> {
    let image = c.image.clone().unwrap_or_default();
    let policy = c.image_pull_policy.clone().unwrap_or_else(|| default_pull_policy(&image).into());
    let rt = &w.ctx.runtime;
    let present = rt.image_status(&image).await.map_err(|e| ("ErrImageInspect".to_string(), e.to_string()))?;
    match (policy.as_str(), present) {
        ("Never", Some(img)) | ("IfNotPresent", Some(img)) => {
            w.event(Kind::Normal, "Pulled", &format!("Container image \"{image}\" already present on machine"), Some(&c.name));
            return Ok(img.id);
        }
        ("Never", None) => {
            return Err(("ErrImageNeverPull".into(), format!("Container image \"{image}\" is not present with pull policy of Never")))
        }
        _ => {}
    }
    let sandbox = w.sandbox_config(0);
    w.event(Kind::Normal, "Pulling", &format!("Pulling image \"{image}\""), Some(&c.name));
    let pulled = rt
        .pull_image(&image, Some(sandbox))
        .await
        .map_err(|e| ("ErrImagePull".to_string(), format!("failed to pull and unpack image \"{image}\": {e}")))?;
    w.event(Kind::Normal, "Pulled", &format!("Successfully pulled image \"{image}\""), Some(&c.name));
    Ok(pulled)
}

/// Environment inputs for the pod from fetched data.
pub fn env_inputs(w: &Worker, data: &VolumeData, service_env: Vec<(String, String)>) -> EnvInputs {
    let ip = w.pod.status.as_ref().and_then(|s| s.pod_ip.clone()).unwrap_or_default();
    EnvInputs {
        config_maps: sources::as_text(&data.config_maps),
        secrets: sources::as_text(&data.secrets),
        host_ip: w.host_ip(),
        pod_ips: if ip.is_empty() { vec![] } else { vec![ip] },
        node_milli_cpu: w.ctx.machine.cpus as i64 * 1000,
        node_memory: w.ctx.machine.memory_bytes as i64,
        service_env,
    }
}

async fn fetch_data(w: &Worker) -> Result<VolumeData, String> {
    let ns = w.pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let mut data = sources::fetch(&w.ctx.client, &ns, &sources::refs(&w.pod)).await.map_err(|e| e.to_string())?;
    data.claims = claims::resolve(&w.ctx.client, &w.pod).await?;
    data.tokens = w.ctx.tokens.for_pod(&w.ctx.client, &w.pod).await?;
    Ok(data)
}

/// What every container start of one sync shares: API data and service links.
pub struct Prefetched {
    /// ConfigMaps and Secrets the pod refers to.
    pub data: VolumeData,
    /// Service link variables.
    pub service_env: Vec<(String, String)>,
}

/// Fetches the API data and service links the pod's containers need.
pub async fn prefetch(w: &Worker) -> Result<Prefetched, StartError> {
    let (data, service_env) = tokio::join!(fetch_data(w), sources::service_env(&w.ctx.client, &w.pod));
    let data = data.map_err(|e| ("CreateContainerConfigError".to_string(), e))?;
    Ok(Prefetched { data, service_env })
}

/// Creates the pod's folder and volumes (before the sandbox) from fetched data.
pub async fn prepare_volumes_with(w: &mut Worker, data: VolumeData) -> Result<(), String> {
    let inputs = env_inputs(w, &data, vec![]);
    let pod_dir = w.pod_dir.clone();
    let pod = w.pod.clone();
    let paths = tokio::task::spawn_blocking(move || volumes::setup(&pod_dir, &pod, &data, &inputs))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    w.volumes = Some(paths);
    Ok(())
}

/// Creates the pod's folder and volumes (before the sandbox).
pub async fn prepare_volumes(w: &mut Worker) -> Result<(), String> {
    let data = fetch_data(w).await?;
    prepare_volumes_with(w, data).await
}

/// Writes the pod's managed /etc/hosts.
pub fn write_etc_hosts(w: &Worker, pod_ip: &str) {
    let _ = std::fs::create_dir_all(&w.pod_dir);
    let text = cri_config::etc_hosts(&w.pod, pod_ip, &w.ctx.config.cluster_domain);
    let _ = std::fs::write(w.pod_dir.join("etc-hosts"), text);
}

fn spec_container(pod: &Pod, start: &Start) -> Option<Container> {
    let spec = pod.spec.as_ref()?;
    let list = if start.init { spec.init_containers.clone().unwrap_or_default() } else { spec.containers.clone() };
    list.into_iter().find(|c| c.name == start.name)
}

/// Ephemeral container `name` of `pod` as a container, and its target container's name.
pub fn ephemeral_container(pod: &Pod, name: &str) -> Option<(Container, Option<String>)> {
    let ec = pod.spec.as_ref()?.ephemeral_containers.as_ref()?.iter().find(|c| c.name == name)?;
    let mut v = serde_json::to_value(ec).ok()?;
    let target = v.as_object_mut()?.remove("targetContainerName").and_then(|t| t.as_str().map(str::to_string)).filter(|t| !t.is_empty());
    Some((serde_json::from_value(v).ok()?, target))
}

/// Starts ephemeral container `name` once; with a target container it joins the target's
/// process namespace (CRI namespace mode TARGET), as upstream.
pub async fn start_ephemeral(w: &Worker, sandbox: &Sandbox, name: &str, obs: &Observed, pre: &Prefetched) -> Result<(), StartError> {
    let (c, target) = ephemeral_container(&w.pod, name).ok_or_else(|| ("CreateContainerConfigError".to_string(), "no such container".to_string()))?;
    let target_id = match target {
        Some(t) => match obs.latest(&t).filter(|i| i.state == RunState::Running && i.sandbox_id == sandbox.id) {
            Some(i) => Some(i.id.clone()),
            None => return Err(("CreateContainerError".into(), format!("container {t} is not running in pod (target of ephemeral container {name})"))),
        },
        None => None,
    };
    let start = Start { name: name.to_string(), init: false, attempt: 0, previous_finished: None };
    start_container(w, sandbox, c, &start, pre, target_id).await
}

/// Starts the container `start` in `sandbox` (volumes are prepared by the caller).
pub async fn start(w: &Worker, sandbox: &Sandbox, start: &Start, pre: &Prefetched) -> Result<(), StartError> {
    let c = spec_container(&w.pod, start).ok_or_else(|| ("CreateContainerConfigError".to_string(), "no such container".to_string()))?;
    start_container(w, sandbox, c, start, pre, None).await
}

async fn start_container(w: &Worker, sandbox: &Sandbox, c: Container, start: &Start, pre: &Prefetched, target_id: Option<String>) -> Result<(), StartError> {
    let pull_failed_before = w.waiting.get(&c.name).is_some_and(|(r, _)| r == "ErrImagePull" || r == "ImagePullBackOff");
    let image_ref = match ensure_image(w, &c).await {
        Err((reason, _)) if reason == "ErrImagePull" && pull_failed_before => {
            let image = c.image.clone().unwrap_or_default();
            return Err(("ImagePullBackOff".into(), format!("Back-off pulling image \"{image}\"")));
        }
        other => other?,
    };
    let mut inputs = env_inputs(w, &pre.data, pre.service_env.clone());
    if !sandbox.ip.is_empty() {
        inputs.pod_ips = vec![sandbox.ip.clone()];
    }
    let envs = env::build(&w.pod, &c, &inputs).map_err(|e| ("CreateContainerConfigError".to_string(), e.to_string()))?;
    let cfg = container_config(w, &c, start, envs, image_ref, target_id).map_err(|e| ("CreateContainerConfigError".to_string(), e))?;
    let rt = w.ctx.runtime.clone();
    let id = rt
        .create_container(&sandbox.id, cfg, w.sandbox_config(sandbox.attempt))
        .await
        .map_err(|e| ("CreateContainerError".to_string(), e.to_string()))?;
    w.event(Kind::Normal, "Created", &format!("Created container: {}", c.name), Some(&c.name));
    tracing::debug!(container = %c.name, "created");
    rt.start_container(&id).await.map_err(|e| ("RunContainerError".to_string(), e.to_string()))?;
    tracing::debug!(container = %c.name, "started");
    w.event(Kind::Normal, "Started", &format!("Started container {}", c.name), Some(&c.name));
    post_start(w, &c, &id, &sandbox.ip).await;
    Ok(())
}

fn container_config(
    w: &Worker,
    c: &Container,
    start: &Start,
    envs: Vec<(String, String)>,
    image_ref: String,
    target_id: Option<String>,
) -> Result<crate::cri::api::ContainerConfig, String> {
    let host_network = w.pod.spec.as_ref().and_then(|s| s.host_network) == Some(true);
    let term_dir = w.pod_dir.join("containers").join(&c.name);
    let _ = std::fs::create_dir_all(&term_dir);
    let term = term_dir.join(format!("{}", start.attempt));
    let _ = std::fs::write(&term, b"");
    let read_only: Vec<String> = w
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .into_iter()
        .flatten()
        .filter(|v| {
            let read_only_claim = v.persistent_volume_claim.as_ref().is_some_and(|c| c.read_only == Some(true));
            read_only_claim || v.config_map.is_some() || v.secret.is_some() || v.downward_api.is_some() || v.projected.is_some()
        })
        .map(|v| v.name.clone())
        .collect();
    let inputs = cri_config::ContainerInputs {
        attempt: start.attempt,
        env: envs,
        volumes: w.volumes.clone().unwrap_or_default(),
        etc_hosts: (!host_network).then(|| w.pod_dir.join("etc-hosts")),
        termination_log: Some(term),
        image_ref,
        read_only_volumes: read_only,
        target_id,
    };
    cri_config::container_config(&w.pod, c, &inputs, &node_settings(&w.ctx, &w.pod)).map_err(|e| e.to_string())
}

fn target(w: &Worker, c: &Container, id: &str, pod_ip: &str) -> probe::Target {
    let host_network = w.pod.spec.as_ref().and_then(|s| s.host_network) == Some(true);
    probe::Target {
        container_id: id.to_string(),
        pod_ip: if host_network { w.host_ip() } else { pod_ip.to_string() },
        container: c.clone(),
        runtime: w.ctx.runtime.clone(),
        dialer: w.ctx.dialer.clone(),
    }
}

async fn post_start(w: &Worker, c: &Container, id: &str, pod_ip: &str) {
    let Some(h) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) else { return };
    if let Outcome::Failure(msg) = probe::run_handler(h, &target(w, c, id, pod_ip), Duration::from_secs(30)).await {
        tracing::warn!(container = %c.name, %msg, "postStart hook failed; killing the container");
        let _ = w.ctx.runtime.stop_container(id, Duration::from_secs(w.grace_period() as u64)).await;
    }
}

/// Stops one container: preStop hook, then SIGTERM and SIGKILL after the rest of `grace`.
pub async fn stop(w: &Worker, i: &Instance, grace: i64) {
    let started = Instant::now();
    let grace = Duration::from_secs(grace.max(0) as u64);
    let spec = w.pod.spec.clone().unwrap_or_default();
    let c = spec.containers.iter().chain(spec.init_containers.iter().flatten()).find(|c| c.name == i.name).cloned();
    if let Some(c) = &c {
        if let Some(h) = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()) {
            if i.state == super::observed::RunState::Running && !grace.is_zero() {
                let ip = w.pod.status.as_ref().and_then(|s| s.pod_ip.clone()).unwrap_or_default();
                if let Outcome::Failure(msg) = probe::run_handler(h, &target(w, c, &i.id, &ip), grace).await {
                    tracing::info!(container = %c.name, %msg, "preStop hook failed");
                }
            }
        }
    }
    let left = grace.saturating_sub(started.elapsed()).max(Duration::from_secs(if grace.is_zero() { 0 } else { 2 }));
    if let Err(e) = w.ctx.runtime.stop_container(&i.id, left).await {
        if !e.is_not_found() {
            tracing::warn!(container = %i.name, error = %e, "stopping container failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_defaults() {
        assert_eq!(default_pull_policy("busybox"), "Always");
        assert_eq!(default_pull_policy("busybox:latest"), "Always");
        assert_eq!(default_pull_policy("busybox:1.35"), "IfNotPresent");
        assert_eq!(default_pull_policy("localhost:5000/busybox"), "Always");
        assert_eq!(default_pull_policy("registry.k8s.io/pause:3.6"), "IfNotPresent");
        assert_eq!(default_pull_policy("x@sha256:abc"), "IfNotPresent");
    }
}
