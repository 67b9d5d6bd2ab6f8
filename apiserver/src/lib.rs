//! rkube's kube-apiserver: the Kubernetes REST and watch API over a pluggable store.
//!
//! A request travels `http` (routing) -> `chain` (authn, authz) -> `http::resource`
//! (decode) -> `admission` -> `registry::rest` (strategy: defaults, validation) ->
//! `registry::Store` -> `storage` (sled or etcd).

pub mod admission;
pub mod allocator;
pub mod bootstrap;
pub mod chain;
pub mod codec;
pub mod compactor;
pub mod config;
pub mod crd_sync;
pub mod errors;
pub mod http;
pub mod metrics;
pub mod metrics_api;
pub mod openapi;
pub mod patch;
pub mod proxy;
pub mod registry;
pub mod request;
pub mod resources;
pub mod reviews;
pub mod selectors;
pub mod serviceaccount;
pub mod storage;
pub mod subresources;
pub mod typed;
pub mod validation;

use std::sync::Arc;

use anyhow::Context;

use crate::config::{Backend, Config};
use crate::storage::DynStorage;

/// Opens the configured storage backend.
pub async fn open_storage(config: &Config) -> anyhow::Result<DynStorage> {
    Ok(match config.storage_backend {
        Backend::Sled => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating {}", config.data_dir.display()))?;
            Arc::new(storage::sled_store::SledStore::open(&config.data_dir)?)
        }
        Backend::Etcd => Arc::new(storage::etcd_store::EtcdStore::connect(&config.etcd_servers).await?),
    })
}

/// Builds the shared state over a storage backend.
pub fn build_state(config: &Config, storage: DynStorage) -> anyhow::Result<http::Shared> {
    let service_config = allocator::ServiceConfig::parse(&config.service_cluster_ip_range, &config.service_node_port_range)
        .map_err(anyhow::Error::msg)?;
    let openapi = openapi::OpenApi::new();
    let patch_schema = rkube_apimachinery::strategic_merge::PatchSchema::new(openapi.components().clone());
    Ok(Arc::new(http::AppState {
        patch_schema,
        cachers: registry::cacher::Cachers::new(storage.clone()),
        store: registry::Store::new(storage).with_service_config(service_config.clone()),
        catalog: resources::catalog::Catalog::new(resources::builtin()),
        metrics: metrics::Metrics::new(),
        metrics_api: Arc::new(metrics_api::MetricsApi::default()),
        service_config,
        openapi,
        service_accounts: serviceaccount::Issuer::from_config(config)?,
    }))
}

/// Runs the server until it is stopped.
pub async fn run(config: Config) -> anyhow::Result<()> {
    config.check().map_err(anyhow::Error::msg)?;
    let storage = open_storage(&config).await?;
    let state = build_state(&config, storage)?;
    bootstrap::ensure(&state).await.map_err(|e| anyhow::anyhow!("bootstrap: {e}"))?;
    tokio::spawn(compactor::run(state.store.storage().clone(), config.etcd_compaction_interval));
    crd_sync::reload(&state).await?;
    tokio::spawn(crd_sync::run(state.clone()));
    metrics_api::spawn(&state);
    let listener = tokio::net::TcpListener::bind(config.insecure_bind_address)
        .await
        .with_context(|| format!("binding {}", config.insecure_bind_address))?;
    tracing::info!(address = %config.insecure_bind_address, backend = ?config.storage_backend, "serving the API");
    axum::serve(listener, http::router(state)).await.context("serving")?;
    Ok(())
}
