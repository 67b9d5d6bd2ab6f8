//! An in-memory runtime for simulated ("hollow") nodes: sandboxes get made-up IPs and
//! containers run until stopped, without any process. Never the default.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::{api, CriError, CriResult, ExecOutput, Runtime, RuntimeVersion};

/// The simulated runtime's state.
#[derive(Default)]
struct State {
    next_id: u64,
    next_ip: u32,
    sandboxes: HashMap<String, api::PodSandboxStatus>,
    containers: HashMap<String, (String, api::ContainerStatus)>,
}

/// A runtime that only keeps books.
pub struct FakeRuntime {
    state: Mutex<State>,
    first_ip: Ipv4Addr,
}

fn now_nanos() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

fn matches(have: &HashMap<String, String>, want: &HashMap<String, String>) -> bool {
    want.iter().all(|(k, v)| have.get(k) == Some(v))
}

impl FakeRuntime {
    /// A fake runtime handing out pod IPs from `first_ip` upwards.
    pub fn new(first_ip: Ipv4Addr) -> Self {
        FakeRuntime { state: Mutex::new(State::default()), first_ip }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("fake runtime lock"))
    }
}

fn new_id(s: &mut State, prefix: &str) -> String {
    s.next_id += 1;
    format!("{prefix}{:016x}", s.next_id)
}

#[async_trait]
impl Runtime for FakeRuntime {
    async fn version(&self) -> CriResult<RuntimeVersion> {
        Ok(RuntimeVersion { name: "fake".into(), version: "0.1.0".into() })
    }

    async fn run_pod_sandbox(&self, config: api::PodSandboxConfig) -> CriResult<String> {
        let first = u32::from(self.first_ip);
        Ok(self.with(|s| {
            let id = new_id(s, "sb");
            s.next_ip += 1;
            let ip = Ipv4Addr::from(first + s.next_ip).to_string();
            let status = api::PodSandboxStatus {
                id: id.clone(),
                metadata: config.metadata.clone(),
                state: api::PodSandboxState::SandboxReady as i32,
                created_at: now_nanos(),
                network: Some(api::PodSandboxNetworkStatus { ip, additional_ips: vec![] }),
                labels: config.labels.clone(),
                annotations: config.annotations.clone(),
                ..Default::default()
            };
            s.sandboxes.insert(id.clone(), status);
            id
        }))
    }

    async fn stop_pod_sandbox(&self, id: &str) -> CriResult<()> {
        self.with(|s| {
            for (sb, c) in s.containers.values_mut() {
                if sb == id && c.state == api::ContainerState::ContainerRunning as i32 {
                    c.state = api::ContainerState::ContainerExited as i32;
                    c.finished_at = now_nanos();
                    c.exit_code = 137;
                }
            }
            if let Some(sb) = s.sandboxes.get_mut(id) {
                sb.state = api::PodSandboxState::SandboxNotready as i32;
            }
        });
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> CriResult<()> {
        self.with(|s| {
            s.sandboxes.remove(id);
            s.containers.retain(|_, (sb, _)| sb != id);
        });
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> CriResult<api::PodSandboxStatus> {
        self.with(|s| s.sandboxes.get(id).cloned()).ok_or_else(|| CriError::NotFound(format!("sandbox {id}")))
    }

    async fn list_pod_sandboxes(&self, labels: HashMap<String, String>) -> CriResult<Vec<api::PodSandbox>> {
        Ok(self.with(|s| {
            s.sandboxes
                .values()
                .filter(|sb| matches(&sb.labels, &labels))
                .map(|sb| api::PodSandbox {
                    id: sb.id.clone(),
                    metadata: sb.metadata.clone(),
                    state: sb.state,
                    created_at: sb.created_at,
                    labels: sb.labels.clone(),
                    annotations: sb.annotations.clone(),
                    runtime_handler: String::new(),
                })
                .collect()
        }))
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: api::ContainerConfig,
        _sandbox_config: api::PodSandboxConfig,
    ) -> CriResult<String> {
        Ok(self.with(|s| {
            let id = new_id(s, "ct");
            let status = api::ContainerStatus {
                id: id.clone(),
                metadata: config.metadata.clone(),
                state: api::ContainerState::ContainerCreated as i32,
                created_at: now_nanos(),
                image: config.image.clone(),
                image_ref: config.image.as_ref().map(|i| i.image.clone()).unwrap_or_default(),
                labels: config.labels.clone(),
                annotations: config.annotations.clone(),
                ..Default::default()
            };
            s.containers.insert(id.clone(), (sandbox_id.to_string(), status));
            id
        }))
    }

    async fn start_container(&self, id: &str) -> CriResult<()> {
        self.with(|s| match s.containers.get_mut(id) {
            Some((_, c)) => {
                c.state = api::ContainerState::ContainerRunning as i32;
                c.started_at = now_nanos();
                Ok(())
            }
            None => Err(CriError::NotFound(format!("container {id}"))),
        })
    }

    async fn stop_container(&self, id: &str, _timeout: Duration) -> CriResult<()> {
        self.with(|s| {
            if let Some((_, c)) = s.containers.get_mut(id) {
                if c.state == api::ContainerState::ContainerRunning as i32 {
                    c.state = api::ContainerState::ContainerExited as i32;
                    c.finished_at = now_nanos();
                    c.exit_code = 0;
                    c.reason = "Completed".into();
                }
            }
        });
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> CriResult<()> {
        self.with(|s| s.containers.remove(id));
        Ok(())
    }

    async fn list_containers(&self, labels: HashMap<String, String>) -> CriResult<Vec<api::Container>> {
        Ok(self.with(|s| {
            s.containers
                .iter()
                .filter(|(_, (_, c))| matches(&c.labels, &labels))
                .map(|(id, (sb, c))| api::Container {
                    id: id.clone(),
                    pod_sandbox_id: sb.clone(),
                    metadata: c.metadata.clone(),
                    image: c.image.clone(),
                    image_ref: c.image_ref.clone(),
                    state: c.state,
                    created_at: c.created_at,
                    labels: c.labels.clone(),
                    annotations: c.annotations.clone(),
                    image_id: String::new(),
                })
                .collect()
        }))
    }

    async fn container_status(&self, id: &str) -> CriResult<api::ContainerStatus> {
        self.with(|s| s.containers.get(id).map(|(_, c)| c.clone())).ok_or_else(|| CriError::NotFound(format!("container {id}")))
    }

    async fn exec_sync(&self, _id: &str, _cmd: Vec<String>, _timeout: Duration) -> CriResult<ExecOutput> {
        Ok(ExecOutput::default())
    }

    async fn exec(&self, _req: api::ExecRequest) -> CriResult<String> {
        Err(CriError::Unsupported("exec"))
    }

    async fn attach(&self, _req: api::AttachRequest) -> CriResult<String> {
        Err(CriError::Unsupported("attach"))
    }

    async fn port_forward(&self, _req: api::PortForwardRequest) -> CriResult<String> {
        Err(CriError::Unsupported("port-forward"))
    }

    async fn image_status(&self, image: &str) -> CriResult<Option<api::Image>> {
        Ok(Some(api::Image { id: format!("sha256:{image}"), repo_tags: vec![image.to_string()], ..Default::default() }))
    }

    async fn pull_image(&self, image: &str, _sandbox_config: Option<api::PodSandboxConfig>) -> CriResult<String> {
        Ok(format!("sha256:{image}"))
    }

    async fn reopen_container_log(&self, _id: &str) -> CriResult<()> {
        Ok(())
    }

    async fn list_container_stats(&self) -> CriResult<Vec<api::ContainerStats>> {
        Ok(vec![])
    }

    async fn image_fs_info(&self) -> CriResult<Vec<api::FilesystemUsage>> {
        Ok(vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sandbox_and_container_lifecycle() {
        let rt = FakeRuntime::new(Ipv4Addr::new(10, 244, 200, 0));
        let labels = HashMap::from([("io.kubernetes.pod.uid".to_string(), "u1".to_string())]);
        let sb = rt.run_pod_sandbox(api::PodSandboxConfig { labels: labels.clone(), ..Default::default() }).await.unwrap();
        let st = rt.pod_sandbox_status(&sb).await.unwrap();
        assert_eq!(st.network.unwrap().ip, "10.244.200.1");
        let cfg = api::ContainerConfig { labels: labels.clone(), ..Default::default() };
        let c = rt.create_container(&sb, cfg, Default::default()).await.unwrap();
        rt.start_container(&c).await.unwrap();
        assert_eq!(rt.container_status(&c).await.unwrap().state, api::ContainerState::ContainerRunning as i32);
        assert_eq!(rt.list_containers(labels.clone()).await.unwrap().len(), 1);
        rt.stop_pod_sandbox(&sb).await.unwrap();
        assert_eq!(rt.container_status(&c).await.unwrap().state, api::ContainerState::ContainerExited as i32);
        rt.remove_pod_sandbox(&sb).await.unwrap();
        assert!(rt.list_containers(labels).await.unwrap().is_empty());
    }
}
