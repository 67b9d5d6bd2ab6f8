//! Kubeconfig loading as upstream's clientcmd does it: `--kubeconfig` alone when given, else
//! every file of `KUBECONFIG` merged (first one to set a value wins), else `~/.kube/config`;
//! then the context (`--context` or current-context), its cluster and user, with the
//! command-line overrides (`--server`, `--token`, `--certificate-authority`,
//! `--client-certificate`, `--client-key`, `--insecure-skip-tls-verify`, `-n`, ...) on top.

mod overrides;

use std::path::{Path, PathBuf};

use kube::config::{Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext};

pub use overrides::Overrides;

/// The server upstream falls back to when no cluster is configured.
pub const DEFAULT_SERVER: &str = "http://localhost:8080";

/// Why a kubeconfig could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An explicitly named kubeconfig file does not exist.
    #[error("stat {0}: no such file or directory")]
    Missing(String),
    /// A kubeconfig file could not be read or parsed.
    #[error("error loading config file \"{path}\": {message}")]
    Load {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// `--context` names a context that does not exist.
    #[error("context was not found for specified context: {0}")]
    ContextNotFound(String),
    /// `--cluster` names a cluster that does not exist.
    #[error("cluster \"{0}\" does not exist")]
    ClusterNotFound(String),
    /// Incompatible TLS settings.
    #[error("specifying a root certificates file with the insecure flag is not allowed")]
    InsecureWithCa,
    /// kube-rs could not turn the configuration into a client configuration.
    #[error("{0}")]
    Client(String),
}

/// The merged kubeconfig and the files it came from.
#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    /// The merged configuration.
    pub kubeconfig: Kubeconfig,
    /// The files read, in precedence order.
    pub files: Vec<PathBuf>,
}

/// The kubeconfig files to read, in precedence order.
pub fn kubeconfig_paths(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    if let Some(value) = std::env::var_os("KUBECONFIG") {
        let paths: Vec<PathBuf> = std::env::split_paths(&value).filter(|p| !p.as_os_str().is_empty()).collect();
        if !paths.is_empty() {
            return paths;
        }
    }
    home_config().into_iter().collect()
}

fn home_config() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

/// Loads and merges the kubeconfig files. A missing `--kubeconfig` file is an error; missing
/// files from `KUBECONFIG` or the home directory are skipped, as upstream does.
pub fn load_raw(explicit: Option<&Path>) -> Result<RawConfig, ConfigError> {
    let mut raw = RawConfig::default();
    for path in kubeconfig_paths(explicit) {
        if !path.exists() {
            if explicit.is_some() {
                return Err(ConfigError::Missing(path.display().to_string()));
            }
            continue;
        }
        let kc = Kubeconfig::read_from(&path)
            .map_err(|e| ConfigError::Load { path: path.display().to_string(), message: e.to_string() })?;
        raw.kubeconfig = raw
            .kubeconfig
            .merge(kc)
            .map_err(|e| ConfigError::Load { path: path.display().to_string(), message: e.to_string() })?;
        raw.files.push(path);
    }
    Ok(raw)
}

/// The context, cluster and user chosen for this invocation, overrides applied.
#[derive(Debug, Clone)]
pub struct Effective {
    /// The context name ("" when none).
    pub context_name: String,
    /// The namespace and whether it was given explicitly (`-n` or the context).
    pub namespace: String,
    /// Whether `-n` was given.
    pub namespace_explicit: bool,
    /// The cluster (server, TLS) to talk to.
    pub cluster: NamedCluster,
    /// The credentials.
    pub user: NamedAuthInfo,
}

impl RawConfig {
    fn context(&self, name: &str) -> Option<&NamedContext> {
        self.kubeconfig.contexts.iter().find(|c| c.name == name)
    }

    fn cluster(&self, name: &str) -> Option<&NamedCluster> {
        self.kubeconfig.clusters.iter().find(|c| c.name == name)
    }

    fn user(&self, name: &str) -> Option<&NamedAuthInfo> {
        self.kubeconfig.auth_infos.iter().find(|c| c.name == name)
    }

    /// Resolves the context, cluster and user and applies the overrides.
    pub fn effective(&self, o: &Overrides) -> Result<Effective, ConfigError> {
        let context_name = o.context.clone().or_else(|| self.kubeconfig.current_context.clone()).unwrap_or_default();
        let context = match self.context(&context_name) {
            Some(c) => c.context.clone().unwrap_or_default(),
            None if o.context.is_some() => return Err(ConfigError::ContextNotFound(context_name)),
            None => Default::default(),
        };
        let cluster_name = o.cluster.clone().unwrap_or_else(|| context.cluster.clone());
        let cluster = match self.cluster(&cluster_name) {
            Some(c) => c.clone(),
            None if o.cluster.is_some() && o.server.is_none() => return Err(ConfigError::ClusterNotFound(cluster_name)),
            None => NamedCluster { name: cluster_name, cluster: Some(Default::default()), other: Default::default() },
        };
        let user_name = o.user.clone().or_else(|| context.user.clone()).unwrap_or_default();
        let user = self.user(&user_name).cloned().unwrap_or(NamedAuthInfo {
            name: user_name,
            auth_info: Some(Default::default()),
            other: Default::default(),
        });
        let (namespace, namespace_explicit) = match &o.namespace {
            Some(ns) if !ns.is_empty() => (ns.clone(), true),
            _ => (context.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into()), false),
        };
        let mut eff = Effective { context_name, namespace, namespace_explicit, cluster, user };
        o.apply(&mut eff)?;
        Ok(eff)
    }
}

impl Effective {
    /// The server URL (upstream's default when none is configured).
    pub fn server(&self) -> String {
        self.cluster.cluster.as_ref().and_then(|c| c.server.clone()).filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_SERVER.into())
    }

    /// A kube-rs client configuration for this context.
    pub async fn client_config(&self) -> Result<kube::Config, ConfigError> {
        let mut cluster = self.cluster.clone();
        if let Some(c) = cluster.cluster.as_mut() {
            c.server = Some(normalize_server(&self.server()));
        }
        let kc = Kubeconfig {
            clusters: vec![NamedCluster { name: "c".into(), ..cluster }],
            auth_infos: vec![NamedAuthInfo { name: "u".into(), ..self.user.clone() }],
            contexts: vec![NamedContext {
                name: "x".into(),
                context: Some(kube::config::Context {
                    cluster: "c".into(),
                    user: Some("u".into()),
                    namespace: Some(self.namespace.clone()),
                    ..Default::default()
                }),
                other: Default::default(),
            }],
            current_context: Some("x".into()),
            ..Default::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        config.default_retry = false;
        Ok(config)
    }
}

/// Adds a scheme to a bare `host:port` server, as upstream does (https by default).
fn normalize_server(server: &str) -> String {
    if server.contains("://") {
        server.trim_end_matches('/').to_string()
    } else {
        format!("https://{}", server.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests;
