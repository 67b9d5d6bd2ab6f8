//! A CRI v1 gRPC client over a unix socket (containerd, CRI-O).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{api, CriError, CriResult, ExecOutput, Runtime, RuntimeVersion};

/// A connected CRI runtime.
#[derive(Clone)]
pub struct RemoteRuntime {
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
}

fn rpc(call: &'static str) -> impl FnOnce(tonic::Status) -> CriError {
    move |status| CriError::Rpc { call, status: Box::new(status) }
}

impl RemoteRuntime {
    /// Connects to `unix:///path/to.sock` (or a bare path).
    pub async fn connect(endpoint: &str) -> CriResult<Self> {
        let path = endpoint.trim_start_matches("unix://").to_string();
        let channel = Endpoint::try_from("http://[::]:50051")
            .expect("static URI")
            .connect_timeout(Duration::from_secs(5))
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move { Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?)) }
            }))
            .await
            .map_err(|source| CriError::Connect { endpoint: endpoint.to_string(), source })?;
        let max = 16 * 1024 * 1024;
        Ok(RemoteRuntime {
            runtime: RuntimeServiceClient::new(channel.clone()).max_decoding_message_size(max),
            images: ImageServiceClient::new(channel).max_decoding_message_size(max),
        })
    }

    fn rt(&self) -> RuntimeServiceClient<Channel> {
        self.runtime.clone()
    }
}

fn label_filter(labels: HashMap<String, String>) -> HashMap<String, String> {
    labels
}

#[async_trait]
impl Runtime for RemoteRuntime {
    async fn version(&self) -> CriResult<RuntimeVersion> {
        let v = self.rt().version(api::VersionRequest { version: "v1".into() }).await.map_err(rpc("Version"))?.into_inner();
        Ok(RuntimeVersion { name: v.runtime_name, version: v.runtime_version })
    }

    async fn run_pod_sandbox(&self, config: api::PodSandboxConfig) -> CriResult<String> {
        let req = api::RunPodSandboxRequest { config: Some(config), runtime_handler: String::new() };
        Ok(self.rt().run_pod_sandbox(req).await.map_err(rpc("RunPodSandbox"))?.into_inner().pod_sandbox_id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> CriResult<()> {
        self.rt().stop_pod_sandbox(api::StopPodSandboxRequest { pod_sandbox_id: id.into() }).await.map_err(rpc("StopPodSandbox"))?;
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> CriResult<()> {
        self.rt()
            .remove_pod_sandbox(api::RemovePodSandboxRequest { pod_sandbox_id: id.into() })
            .await
            .map_err(rpc("RemovePodSandbox"))?;
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> CriResult<api::PodSandboxStatus> {
        let req = api::PodSandboxStatusRequest { pod_sandbox_id: id.into(), verbose: false };
        let resp = self.rt().pod_sandbox_status(req).await.map_err(rpc("PodSandboxStatus"))?.into_inner();
        resp.status.ok_or_else(|| CriError::NotFound(format!("sandbox {id}")))
    }

    async fn list_pod_sandboxes(&self, labels: HashMap<String, String>) -> CriResult<Vec<api::PodSandbox>> {
        let filter = api::PodSandboxFilter { label_selector: label_filter(labels), ..Default::default() };
        let req = api::ListPodSandboxRequest { filter: Some(filter) };
        Ok(self.rt().list_pod_sandbox(req).await.map_err(rpc("ListPodSandbox"))?.into_inner().items)
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: api::ContainerConfig,
        sandbox_config: api::PodSandboxConfig,
    ) -> CriResult<String> {
        let req = api::CreateContainerRequest {
            pod_sandbox_id: sandbox_id.into(),
            config: Some(config),
            sandbox_config: Some(sandbox_config),
        };
        Ok(self.rt().create_container(req).await.map_err(rpc("CreateContainer"))?.into_inner().container_id)
    }

    async fn start_container(&self, id: &str) -> CriResult<()> {
        self.rt().start_container(api::StartContainerRequest { container_id: id.into() }).await.map_err(rpc("StartContainer"))?;
        Ok(())
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> CriResult<()> {
        let req = api::StopContainerRequest { container_id: id.into(), timeout: timeout.as_secs() as i64 };
        let mut request = tonic::Request::new(req);
        request.set_timeout(timeout + Duration::from_secs(30));
        self.rt().stop_container(request).await.map_err(rpc("StopContainer"))?;
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> CriResult<()> {
        self.rt().remove_container(api::RemoveContainerRequest { container_id: id.into() }).await.map_err(rpc("RemoveContainer"))?;
        Ok(())
    }

    async fn list_containers(&self, labels: HashMap<String, String>) -> CriResult<Vec<api::Container>> {
        let filter = api::ContainerFilter { label_selector: label_filter(labels), ..Default::default() };
        let req = api::ListContainersRequest { filter: Some(filter) };
        Ok(self.rt().list_containers(req).await.map_err(rpc("ListContainers"))?.into_inner().containers)
    }

    async fn container_status(&self, id: &str) -> CriResult<api::ContainerStatus> {
        let req = api::ContainerStatusRequest { container_id: id.into(), verbose: false };
        let resp = self.rt().container_status(req).await.map_err(rpc("ContainerStatus"))?.into_inner();
        resp.status.ok_or_else(|| CriError::NotFound(format!("container {id}")))
    }

    async fn exec_sync(&self, id: &str, cmd: Vec<String>, timeout: Duration) -> CriResult<ExecOutput> {
        let req = api::ExecSyncRequest { container_id: id.into(), cmd, timeout: timeout.as_secs().max(1) as i64 };
        let mut request = tonic::Request::new(req);
        request.set_timeout(timeout + Duration::from_secs(5));
        let r = self.rt().exec_sync(request).await.map_err(rpc("ExecSync"))?.into_inner();
        Ok(ExecOutput { stdout: r.stdout, stderr: r.stderr, exit_code: r.exit_code })
    }

    async fn exec(&self, req: api::ExecRequest) -> CriResult<String> {
        Ok(self.rt().exec(req).await.map_err(rpc("Exec"))?.into_inner().url)
    }

    async fn attach(&self, req: api::AttachRequest) -> CriResult<String> {
        Ok(self.rt().attach(req).await.map_err(rpc("Attach"))?.into_inner().url)
    }

    async fn port_forward(&self, req: api::PortForwardRequest) -> CriResult<String> {
        Ok(self.rt().port_forward(req).await.map_err(rpc("PortForward"))?.into_inner().url)
    }

    async fn image_status(&self, image: &str) -> CriResult<Option<api::Image>> {
        let spec = api::ImageSpec { image: image.into(), ..Default::default() };
        let req = api::ImageStatusRequest { image: Some(spec), verbose: false };
        Ok(self.images.clone().image_status(req).await.map_err(rpc("ImageStatus"))?.into_inner().image)
    }

    async fn pull_image(&self, image: &str, sandbox_config: Option<api::PodSandboxConfig>) -> CriResult<String> {
        let spec = api::ImageSpec { image: image.into(), ..Default::default() };
        let req = api::PullImageRequest { image: Some(spec), auth: None, sandbox_config };
        Ok(self.images.clone().pull_image(req).await.map_err(rpc("PullImage"))?.into_inner().image_ref)
    }

    async fn reopen_container_log(&self, id: &str) -> CriResult<()> {
        self.rt()
            .reopen_container_log(api::ReopenContainerLogRequest { container_id: id.into() })
            .await
            .map_err(rpc("ReopenContainerLog"))?;
        Ok(())
    }

    async fn list_container_stats(&self) -> CriResult<Vec<api::ContainerStats>> {
        let req = api::ListContainerStatsRequest { filter: None };
        Ok(self.rt().list_container_stats(req).await.map_err(rpc("ListContainerStats"))?.into_inner().stats)
    }

    async fn image_fs_info(&self) -> CriResult<Vec<api::FilesystemUsage>> {
        let r = self.images.clone().image_fs_info(api::ImageFsInfoRequest {}).await.map_err(rpc("ImageFsInfo"))?.into_inner();
        Ok(r.image_filesystems)
    }
}
