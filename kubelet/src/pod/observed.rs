//! What the runtime holds for one pod, reduced to what the sync logic needs (pure types),
//! and how it is read from the runtime.

use std::collections::HashMap;

use crate::cri::{api, labels, CriResult, Runtime};

/// A container instance's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Created, not started.
    Created,
    /// Running.
    Running,
    /// Exited.
    Exited,
    /// The runtime does not know.
    Unknown,
}

/// One container instance (one attempt of a spec container).
#[derive(Debug, Clone)]
pub struct Instance {
    /// Runtime id.
    pub id: String,
    /// Spec container name.
    pub name: String,
    /// Restart count when it was created.
    pub attempt: u32,
    /// State.
    pub state: RunState,
    /// Creation time (ns since epoch).
    pub created_at: i64,
    /// Start time (ns, 0 if never).
    pub started_at: i64,
    /// Finish time (ns, 0 if running).
    pub finished_at: i64,
    /// Exit code.
    pub exit_code: i32,
    /// Runtime's reason, e.g. OOMKilled.
    pub reason: String,
    /// Runtime's message.
    pub message: String,
    /// Image as specified.
    pub image: String,
    /// Image reference (digest or id).
    pub image_ref: String,
    /// Sandbox it belongs to.
    pub sandbox_id: String,
    /// Log file path.
    pub log_path: String,
}

/// The pod's sandbox as last created.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// Runtime id.
    pub id: String,
    /// Ready (running with its network).
    pub ready: bool,
    /// Pod IP ("" for host network or unknown).
    pub ip: String,
    /// Attempt number.
    pub attempt: u32,
    /// Creation time.
    pub created_at: i64,
}

/// Everything the runtime holds for a pod.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The newest sandbox.
    pub sandbox: Option<Sandbox>,
    /// Older sandboxes, to remove.
    pub old_sandboxes: Vec<String>,
    /// Container instances, newest first.
    pub instances: Vec<Instance>,
}

impl Observed {
    /// The newest instance of a spec container.
    pub fn latest(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// The instance before the newest one.
    pub fn previous(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().filter(|i| i.name == name).nth(1)
    }

    /// Whether any instance is running.
    pub fn any_running(&self) -> bool {
        self.instances.iter().any(|i| i.state == RunState::Running)
    }
}

fn run_state(s: i32) -> RunState {
    match api::ContainerState::try_from(s) {
        Ok(api::ContainerState::ContainerCreated) => RunState::Created,
        Ok(api::ContainerState::ContainerRunning) => RunState::Running,
        Ok(api::ContainerState::ContainerExited) => RunState::Exited,
        _ => RunState::Unknown,
    }
}

/// An instance from the runtime's container status.
pub fn instance(s: &api::ContainerStatus, sandbox_id: &str) -> Instance {
    let name = s.labels.get(labels::CONTAINER_NAME).cloned().or_else(|| s.metadata.as_ref().map(|m| m.name.clone())).unwrap_or_default();
    let attempt = s
        .annotations
        .get(labels::RESTART_COUNT)
        .and_then(|v| v.parse().ok())
        .or_else(|| s.metadata.as_ref().map(|m| m.attempt))
        .unwrap_or(0);
    Instance {
        id: s.id.clone(),
        name,
        attempt,
        state: run_state(s.state),
        created_at: s.created_at,
        started_at: s.started_at,
        finished_at: s.finished_at,
        exit_code: s.exit_code,
        reason: s.reason.clone(),
        message: s.message.clone(),
        image: s.image.as_ref().map(|i| i.image.clone()).unwrap_or_default(),
        image_ref: s.image_ref.clone(),
        sandbox_id: sandbox_id.to_string(),
        log_path: s.log_path.clone(),
    }
}

/// Reads the runtime's view of pod `uid`.
pub async fn observe(rt: &dyn Runtime, uid: &str) -> CriResult<Observed> {
    let selector = crate::cri::pod_selector(uid);
    let mut sandboxes = rt.list_pod_sandboxes(selector.clone()).await?;
    sandboxes.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    let mut obs = Observed::default();
    if let Some(newest) = sandboxes.first() {
        let ready = newest.state == api::PodSandboxState::SandboxReady as i32;
        let ip = if ready {
            match rt.pod_sandbox_status(&newest.id).await {
                Ok(st) => st.network.map(|n| n.ip).unwrap_or_default(),
                Err(e) if e.is_not_found() => String::new(),
                Err(e) => return Err(e),
            }
        } else {
            String::new()
        };
        obs.sandbox = Some(Sandbox {
            id: newest.id.clone(),
            ready,
            ip,
            attempt: newest.metadata.as_ref().map(|m| m.attempt).unwrap_or(0),
            created_at: newest.created_at,
        });
        obs.old_sandboxes = sandboxes.iter().skip(1).map(|s| s.id.clone()).collect();
    }
    let containers = rt.list_containers(selector).await?;
    let by_id: HashMap<String, String> = containers.iter().map(|c| (c.id.clone(), c.pod_sandbox_id.clone())).collect();
    for c in &containers {
        match rt.container_status(&c.id).await {
            Ok(s) => obs.instances.push(instance(&s, &by_id[&c.id])),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    obs.instances.sort_by_key(|i| (std::cmp::Reverse(i.created_at), std::cmp::Reverse(i.attempt)));
    Ok(obs)
}
