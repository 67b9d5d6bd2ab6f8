//! Keeps the served custom resources in step with the stored CRDs: one watch on the CRD
//! prefix; every change re-reads the CRDs and swaps the catalog. A deleted CRD takes its
//! custom objects with it.

use futures::StreamExt;

use crate::http::Shared;
use crate::registry::{decode, ListParams};
use crate::resources::custom::infos_from_crd;
use crate::storage::EventKind;

/// Loads the CRDs once; returns the revision read at.
pub async fn reload(state: &Shared) -> anyhow::Result<u64> {
    let snap = state.catalog.snapshot();
    let crd_info = snap
        .find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .ok_or_else(|| anyhow::anyhow!("CRDs are not served"))?;
    let page = state.store.list(&crd_info, None, &ListParams::default()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let custom = page.items.iter().flat_map(infos_from_crd).collect();
    state.catalog.set_custom(custom);
    Ok(page.revision)
}

/// Follows CRD changes forever.
pub async fn run(state: Shared) {
    loop {
        if let Err(e) = follow(&state).await {
            tracing::warn!(error = %e, "CRD watch ended; restarting");
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

async fn follow(state: &Shared) -> anyhow::Result<()> {
    let rev = reload(state).await?;
    let prefix = "/registry/apiextensions.k8s.io/customresourcedefinitions/";
    let mut events = state.store.storage().watch(prefix, rev).await?;
    while let Some(ev) = events.next().await {
        let ev = ev?;
        if ev.kind == EventKind::Deleted {
            if let Ok(crd) = decode(&ev.kv) {
                delete_custom_objects(state, &crd).await;
            }
        }
        reload(state).await?;
    }
    Ok(())
}

async fn delete_custom_objects(state: &Shared, crd: &serde_json::Value) {
    for info in infos_from_crd(crd).into_iter().take(1) {
        let prefix = info.key_prefix();
        let Ok(page) = state.store.storage().list(&prefix, &Default::default()).await else { continue };
        for kv in page.items {
            let _ = state.store.storage().delete(&kv.key, None).await;
        }
    }
}
