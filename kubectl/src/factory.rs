//! The factory every command receives (upstream's `cmdutil.Factory`): the global flags, and
//! the kubeconfig, HTTP client and REST mapper, each built on first use only.

use std::cell::{Cell, OnceCell};
use std::path::PathBuf;

use crate::cli::GlobalFlags;
use crate::client::ApiClient;
use crate::config::{self, Effective};
use crate::discovery::RestMapper;
use crate::discovery_cache::{self, DiscoveryCache};
use crate::errors::CmdError;

/// Lazily built shared state of one kubectl invocation.
pub struct Factory {
    /// The global flags.
    pub flags: GlobalFlags,
    effective: OnceCell<Effective>,
    client: tokio::sync::OnceCell<ApiClient>,
    /// Discovery fetched from the server in this process.
    mapper: tokio::sync::OnceCell<RestMapper>,
    /// Discovery read from the disk cache (None: absent or stale).
    cached_mapper: OnceCell<Option<RestMapper>>,
    /// Whether discovery must come from the server (`api-resources`, a retry after a miss).
    fresh_discovery: Cell<bool>,
}

impl Factory {
    /// A factory for these flags; nothing is loaded yet.
    pub fn new(flags: GlobalFlags) -> Self {
        Factory {
            flags,
            effective: OnceCell::new(),
            client: Default::default(),
            mapper: Default::default(),
            cached_mapper: OnceCell::new(),
            fresh_discovery: Cell::new(false),
        }
    }

    /// Makes discovery skip the disk cache (upstream's `Invalidate()` before use).
    pub fn require_fresh_discovery(&self) {
        self.fresh_discovery.set(true);
    }

    /// The cache root: `--cache-dir`, else `$KUBECACHEDIR` or `~/.kube/cache`; None when
    /// `--cache-dir` is empty.
    pub fn cache_root(&self) -> Option<PathBuf> {
        match &self.flags.cache_dir {
            Some(dir) if dir.as_os_str().is_empty() => None,
            Some(dir) => Some(dir.clone()),
            None => discovery_cache::default_cache_root(),
        }
    }

    fn discovery_cache(&self) -> Option<DiscoveryCache> {
        let server = self.effective().ok()?.server();
        Some(DiscoveryCache::new(&self.cache_root()?, &server))
    }

    /// Whether the mapper in use came from the disk cache and a lookup missed in it: the
    /// command should be run again with fresh discovery, as upstream's deferred mapper does.
    pub fn cached_discovery_missed(&self) -> bool {
        self.mapper.get().is_none() && self.cached_mapper.get().and_then(Option::as_ref).is_some_and(RestMapper::missed)
    }

    /// Drops the disk cache of this server's discovery.
    pub fn invalidate_discovery_cache(&self) {
        if let Some(cache) = self.discovery_cache() {
            cache.invalidate();
        }
    }

    /// How many distinct warnings the server sent.
    pub fn warning_count(&self) -> usize {
        self.client.get().map(ApiClient::warning_count).unwrap_or(0)
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

    /// The REST mapper: from the disk cache when fresh, else discovered (and cached).
    pub async fn mapper(&self) -> Result<&RestMapper, CmdError> {
        if let Some(m) = self.mapper.get() {
            return Ok(m);
        }
        if !self.fresh_discovery.get() {
            let cached = self.cached_mapper.get_or_init(|| self.discovery_cache().and_then(|c| c.load()));
            if let Some(m) = cached {
                return Ok(m);
            }
        }
        let client = self.client().await?;
        self.mapper
            .get_or_try_init(|| async {
                let (core, groups) = RestMapper::fetch_documents(client).await?;
                if let Some(cache) = self.discovery_cache() {
                    let _ = cache.store(&core, &groups);
                }
                Ok::<_, CmdError>(RestMapper::from_documents(core, groups)?)
            })
            .await
    }
}
