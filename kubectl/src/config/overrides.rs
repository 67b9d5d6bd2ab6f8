//! Command-line overrides of the kubeconfig (upstream's `ConfigOverrides`).

use secrecy::SecretString;

use super::{ConfigError, Effective};

/// The connection flags given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--context`.
    pub context: Option<String>,
    /// `--cluster`.
    pub cluster: Option<String>,
    /// `--user`.
    pub user: Option<String>,
    /// `-n/--namespace`.
    pub namespace: Option<String>,
    /// `-s/--server`.
    pub server: Option<String>,
    /// `--token`.
    pub token: Option<String>,
    /// `--username`.
    pub username: Option<String>,
    /// `--password`.
    pub password: Option<String>,
    /// `--certificate-authority`.
    pub certificate_authority: Option<String>,
    /// `--client-certificate`.
    pub client_certificate: Option<String>,
    /// `--client-key`.
    pub client_key: Option<String>,
    /// `--insecure-skip-tls-verify`.
    pub insecure_skip_tls_verify: Option<bool>,
    /// `--tls-server-name`.
    pub tls_server_name: Option<String>,
    /// `--as`.
    pub impersonate: Option<String>,
    /// `--as-group`.
    pub impersonate_groups: Vec<String>,
}

impl Overrides {
    /// Applies the overrides to the resolved cluster and user.
    pub fn apply(&self, eff: &mut Effective) -> Result<(), ConfigError> {
        self.apply_cluster(eff)?;
        self.apply_user(eff);
        Ok(())
    }

    fn apply_cluster(&self, eff: &mut Effective) -> Result<(), ConfigError> {
        let cluster = eff.cluster.cluster.get_or_insert_with(Default::default);
        if let Some(server) = &self.server {
            cluster.server = Some(server.clone());
        }
        if let Some(ca) = &self.certificate_authority {
            cluster.certificate_authority = Some(ca.clone());
            cluster.certificate_authority_data = None;
        }
        if let Some(name) = &self.tls_server_name {
            cluster.tls_server_name = Some(name.clone());
        }
        if let Some(insecure) = self.insecure_skip_tls_verify {
            if insecure && self.certificate_authority.is_some() {
                return Err(ConfigError::InsecureWithCa);
            }
            cluster.insecure_skip_tls_verify = Some(insecure);
            if insecure {
                cluster.certificate_authority = None;
                cluster.certificate_authority_data = None;
            }
        }
        Ok(())
    }

    fn apply_user(&self, eff: &mut Effective) {
        let user = eff.user.auth_info.get_or_insert_with(Default::default);
        if let Some(token) = &self.token {
            user.token = Some(SecretString::from(token.clone()));
            user.token_file = None;
        }
        if let Some(cert) = &self.client_certificate {
            user.client_certificate = Some(cert.clone());
            user.client_certificate_data = None;
        }
        if let Some(key) = &self.client_key {
            user.client_key = Some(key.clone());
            user.client_key_data = None;
        }
        if let Some(name) = &self.username {
            user.username = Some(name.clone());
        }
        if let Some(pw) = &self.password {
            user.password = Some(SecretString::from(pw.clone()));
        }
        if let Some(who) = &self.impersonate {
            user.impersonate = Some(who.clone());
        }
        if !self.impersonate_groups.is_empty() {
            user.impersonate_groups = Some(self.impersonate_groups.clone());
        }
    }
}
