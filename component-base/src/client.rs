//! Builds a kube-rs client the way upstream components do: `--kubeconfig` when given, else
//! `KUBECONFIG` / `~/.kube/config`, else the in-cluster service account.

use std::path::Path;

use anyhow::Context;

/// A client for the apiserver, from a kubeconfig path or the environment.
pub async fn client(kubeconfig: Option<&Path>) -> anyhow::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path).with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?
        }
        None => kube::Config::infer().await?,
    };
    kube::Client::try_from(config).context("building the client")
}
