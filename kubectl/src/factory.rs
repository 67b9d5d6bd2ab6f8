//! The factory every command receives (upstream's `cmdutil.Factory`): the global flags, and
//! the kubeconfig, HTTP client and REST mapper, each built on first use only.

use std::cell::OnceCell;

use crate::cli::GlobalFlags;
use crate::client::ApiClient;
use crate::config::{self, Effective};
use crate::discovery::RestMapper;
use crate::errors::CmdError;

/// Lazily built shared state of one kubectl invocation.
pub struct Factory {
    /// The global flags.
    pub flags: GlobalFlags,
    effective: OnceCell<Effective>,
    client: tokio::sync::OnceCell<ApiClient>,
    mapper: tokio::sync::OnceCell<RestMapper>,
}

impl Factory {
    /// A factory for these flags; nothing is loaded yet.
    pub fn new(flags: GlobalFlags) -> Self {
        Factory { flags, effective: OnceCell::new(), client: Default::default(), mapper: Default::default() }
    }

    /// The resolved context, cluster and user (kubeconfig read on first call).
    pub fn effective(&self) -> Result<&Effective, CmdError> {
        if let Some(e) = self.effective.get() {
            return Ok(e);
        }
        let raw = config::load_raw(self.flags.kubeconfig.as_deref())?;
        let eff = raw.effective(&self.flags.overrides())?;
        Ok(self.effective.get_or_init(|| eff))
    }

    /// The namespace to use and whether it was given with `-n`.
    pub fn namespace(&self) -> Result<(String, bool), CmdError> {
        let e = self.effective()?;
        Ok((e.namespace.clone(), e.namespace_explicit))
    }

    /// The HTTP client (built on first call).
    pub async fn client(&self) -> Result<&ApiClient, CmdError> {
        let eff = self.effective()?;
        self.client
            .get_or_try_init(|| async {
                let mut config = eff.client_config().await?;
                if let Some(t) = self.flags.request_timeout.as_deref().and_then(crate::util::parse_go_duration) {
                    if !t.is_zero() {
                        config.read_timeout = Some(t);
                        config.connect_timeout = Some(t);
                    }
                }
                Ok::<_, CmdError>(ApiClient::new(config, self.flags.verbosity.unwrap_or(0))?)
            })
            .await
    }

    /// The REST mapper (discovery fetched on first call).
    pub async fn mapper(&self) -> Result<&RestMapper, CmdError> {
        let client = self.client().await?;
        self.mapper
            .get_or_try_init(|| async { Ok::<_, CmdError>(RestMapper::discover(client).await?) })
            .await
    }
}
