//! The node's presence in the cluster: registration, the status update loop (conditions,
//! capacity) and the Lease heartbeat in kube-node-lease.

pub mod eviction;
pub mod machine;
pub mod status;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::NodeContext;

/// RFC 3339 "now" with second precision, as metav1.Time.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn facts(ctx: &NodeContext) -> status::NodeFacts {
    let (runtime_version, runtime_ready) = match ctx.runtime.version().await {
        Ok(v) => (format!("{}://{}", v.name, v.version), true),
        Err(e) => {
            tracing::warn!(error = %e, "container runtime is not answering");
            (String::new(), false)
        }
    };
    let cfg = &ctx.config;
    let root = cfg.root_dir.clone();
    let machine = tokio::task::spawn_blocking(move || machine::read(&root)).await.unwrap_or_default();
    status::NodeFacts {
        name: ctx.name.clone(),
        internal_ip: cfg.node_ip.map(|ip| ip.to_string()),
        labels: cfg.node_labels.clone(),
        max_pods: cfg.max_pods,
        port: cfg.port,
        runtime_version,
        runtime_ready,
        pod_cidr: cfg.pod_cidr.clone(),
        eviction: cfg.eviction_hard.clone(),
        machine,
    }
}

/// Registers the Node (creating it, or refreshing an existing one's status), retrying until
/// the apiserver accepts it or `cancel` fires.
pub async fn register(ctx: &NodeContext, cancel: &CancellationToken) {
    let api: Api<Node> = Api::all(ctx.client.clone());
    let mut delay = Duration::from_millis(200);
    while !cancel.is_cancelled() {
        let f = facts(ctx).await;
        let obj = status::node_object(&f, &now_rfc3339());
        let node: Node = serde_json::from_value(obj).expect("node object is well-formed");
        match api.create(&PostParams::default(), &node).await {
            Ok(_) => {
                tracing::info!(node = %ctx.name, "registered the node");
                return;
            }
            Err(kube::Error::Api(e)) if e.code == 409 => match update_status(ctx, &api).await {
                Ok(()) => {
                    tracing::info!(node = %ctx.name, "node already registered; status refreshed");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "refreshing the registered node failed"),
            },
            Err(e) => tracing::warn!(error = %e, "registering the node failed; retrying"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(7));
    }
}

async fn update_status(ctx: &NodeContext, api: &Api<Node>) -> Result<(), kube::Error> {
    let current = api.get_status(&ctx.name).await?;
    let previous: Vec<Value> = current
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map(|c| c.iter().filter_map(|c| serde_json::to_value(c).ok()).collect())
        .unwrap_or_default();
    let f = facts(ctx).await;
    let st = status::status(&f, &previous, &now_rfc3339());
    api.patch_status(&ctx.name, &PatchParams::default(), &Patch::Merge(json!({ "status": st }))).await?;
    Ok(())
}

/// Posts the node status every `nodeStatusUpdateFrequency` until cancelled.
pub async fn status_loop(ctx: NodeContext, cancel: CancellationToken) {
    let api: Api<Node> = Api::all(ctx.client.clone());
    let period = ctx.config.node_status_update_frequency;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
        if let Err(e) = update_status(&ctx, &api).await {
            tracing::warn!(error = %e, node = %ctx.name, "updating node status failed");
            if matches!(&e, kube::Error::Api(s) if s.code == 404) {
                register(&ctx, &cancel).await;
            }
        }
    }
}

fn micro_now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

async fn renew_lease(ctx: &NodeContext, api: &Api<Lease>, nodes: &Api<Node>) -> Result<(), kube::Error> {
    let duration = ctx.config.node_lease_duration_seconds;
    match api.get_opt(&ctx.name).await? {
        Some(mut lease) => {
            let spec = lease.spec.get_or_insert_with(Default::default);
            spec.holder_identity = Some(ctx.name.clone());
            spec.lease_duration_seconds = Some(duration);
            spec.renew_time = Some(micro_now());
            api.replace(&ctx.name, &PostParams::default(), &lease).await?;
        }
        None => {
            let node_uid = nodes.get_opt(&ctx.name).await?.and_then(|n| n.metadata.uid);
            let owner = node_uid.map(|uid| OwnerReference {
                api_version: "v1".into(),
                kind: "Node".into(),
                name: ctx.name.clone(),
                uid,
                ..Default::default()
            });
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(ctx.name.clone()),
                    namespace: Some("kube-node-lease".into()),
                    owner_references: owner.map(|o| vec![o]),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(ctx.name.clone()),
                    lease_duration_seconds: Some(duration),
                    renew_time: Some(micro_now()),
                    ..Default::default()
                }),
            };
            api.create(&PostParams::default(), &lease).await?;
        }
    }
    Ok(())
}

/// Renews the node's Lease every 10 s (a quarter of its duration, as upstream) until
/// cancelled.
pub async fn lease_loop(ctx: NodeContext, cancel: CancellationToken) {
    let api: Api<Lease> = Api::namespaced(ctx.client.clone(), "kube-node-lease");
    let nodes: Api<Node> = Api::all(ctx.client.clone());
    let period = Duration::from_secs((ctx.config.node_lease_duration_seconds as u64 / 4).max(1));
    loop {
        if let Err(e) = renew_lease(&ctx, &api, &nodes).await {
            tracing::warn!(error = %e, node = %ctx.name, "renewing the node lease failed");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
    }
}
