//! Command-line flags of kube-apiserver, named as upstream's where they exist.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Which storage backend to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Embedded sled database in `--data-dir` (one apiserver).
    Sled,
    /// An etcd cluster at `--etcd-servers` (several apiservers).
    Etcd,
}

/// kube-apiserver's configuration.
#[derive(Clone, Debug, Parser)]
#[command(name = "kube-apiserver", version, about = "rkube's Kubernetes API server")]
pub struct Config {
    /// Storage backend.
    #[arg(long, value_enum, default_value = "sled")]
    pub storage_backend: Backend,
    /// Data directory of the sled backend.
    #[arg(long, default_value = "/var/lib/rkube/apiserver")]
    pub data_dir: PathBuf,
    /// Comma-separated etcd endpoints for the etcd backend.
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:2379")]
    pub etcd_servers: Vec<String>,
    /// Address of the insecure (plain HTTP) port; must be a loopback address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub insecure_bind_address: SocketAddr,
    /// CIDR of Service ClusterIPs.
    #[arg(long, default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,
    /// NodePort range.
    #[arg(long, default_value = "30000-32767")]
    pub service_node_port_range: String,
    /// Seconds between storage compactions (history older than one interval is dropped).
    #[arg(long, default_value_t = 300)]
    pub etcd_compaction_interval: u64,
    /// PEM PKCS#8 ECDSA P-256 private key that signs service-account tokens. Without it the
    /// server generates one in `--data-dir` on first start and keeps it.
    #[arg(long)]
    pub service_account_signing_key_file: Option<PathBuf>,
    /// PEM files of further public keys (or private keys) that verify service-account tokens.
    #[arg(long)]
    pub service_account_key_file: Vec<PathBuf>,
    /// Issuer of service-account tokens (`iss`); repeatable: the first signs, all are accepted.
    #[arg(long, default_value = "https://kubernetes.default.svc.cluster.local")]
    pub service_account_issuer: Vec<String>,
    /// The JWKS URI in the OIDC discovery document (default: this server's /openid/v1/jwks).
    #[arg(long)]
    pub service_account_jwks_uri: Option<String>,
    /// Audiences of the API (default: the first issuer).
    #[arg(long, value_delimiter = ',')]
    pub api_audiences: Vec<String>,
    /// Issue pod-bound tokens asked for with 3607 s (the admission default) for a year, with a
    /// `warnafter` claim at the requested expiry, as upstream.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub service_account_extend_token_expiration: bool,
}

impl Config {
    /// Rejects settings that would break the security rules.
    pub fn check(&self) -> Result<(), String> {
        if !self.insecure_bind_address.ip().is_loopback() {
            return Err(format!(
                "--insecure-bind-address must be a loopback address, got {}",
                self.insecure_bind_address
            ));
        }
        Ok(())
    }
}
