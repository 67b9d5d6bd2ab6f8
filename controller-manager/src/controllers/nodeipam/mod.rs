//! Node IPAM (upstream `pkg/controller/nodeipam`, the range allocator): with
//! `--allocate-node-cidrs`, every node without `spec.podCIDR` gets the next free
//! `/--node-cidr-mask-size` subnet of `--cluster-cidr` (10.244.0.0/16 when unset); CIDRs
//! already on nodes are honoured, and a deleted node's CIDR returns to the pool.

pub mod cidrset;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tokio::sync::Notify;

use self::cidrset::{Cidr, CidrSet};
use crate::context::ControllerContext;
use crate::controllers::{ControllerDescriptor, Running};
use crate::errors::{Error, Result};
use crate::events::{reference, Recorder};
use crate::informer::{Change, Informer};

/// Registration of the node IPAM controller.
pub const DESCRIPTOR: ControllerDescriptor =
    ControllerDescriptor { name: "node-ipam-controller", aliases: &["nodeipam"], enabled_by_default: true, start };

/// The cluster CIDR used when `--cluster-cidr` is empty.
pub const DEFAULT_CLUSTER_CIDR: &str = "10.244.0.0/16";
/// How often all nodes are re-checked even without events.
const RESYNC: Duration = Duration::from_secs(10);

struct Ipam {
    client: kube::Client,
    nodes: Arc<Informer<Node>>,
    recorder: Recorder,
    set: CidrSet,
    assigned: HashMap<String, String>,
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    if !ctx.options.allocate_node_cidrs {
        return Ok(Box::pin(futures::future::ready(())));
    }
    let cluster = ctx.options.cluster_cidr.split(',').map(str::trim).find(|c| !c.is_empty()).unwrap_or(DEFAULT_CLUSTER_CIDR).to_string();
    let cidr = Cidr::parse(&cluster).map_err(|e| Error::Invalid(e.to_string()))?;
    let mask = if cidr.v6 { ctx.options.node_cidr_mask_size_ipv6 } else { ctx.options.node_cidr_mask_size.unwrap_or(ctx.options.node_cidr_mask_size_ipv4) };
    let set = CidrSet::new(cidr, mask).map_err(|e| Error::Invalid(e.to_string()))?;
    let nodes = ctx.informers.informer::<Node>();
    let notify = Arc::new(Notify::new());
    let n = notify.clone();
    nodes.add_handler(move |_c: &Change<Node>| n.notify_one());
    let ipam = Ipam { client: ctx.client.clone(), nodes, recorder: ctx.recorder("node-ipam-controller"), set, assigned: HashMap::new() };
    Ok(Box::pin(run(ipam, notify)))
}

async fn run(mut ipam: Ipam, notify: Arc<Notify>) {
    ipam.nodes.wait_synced().await;
    ipam.occupy_existing();
    loop {
        ipam.release_gone();
        ipam.allocate_missing().await;
        let _ = tokio::time::timeout(RESYNC, notify.notified()).await;
    }
}

fn pod_cidr(node: &Node) -> Option<String> {
    node.spec.as_ref()?.pod_cidr.clone().filter(|c| !c.is_empty())
}

impl Ipam {
    /// Marks the CIDRs nodes already have as used.
    fn occupy_existing(&mut self) {
        for node in self.nodes.store().state() {
            let (Some(name), Some(c)) = (node.metadata.name.clone(), pod_cidr(&node)) else { continue };
            match self.set.occupy(&c) {
                Ok(()) => {
                    self.assigned.insert(name, c);
                }
                Err(e) => tracing::warn!(node = %name, cidr = %c, error = %e, "node CIDR outside the cluster CIDR"),
            }
        }
    }

    /// Returns the CIDRs of deleted nodes to the pool.
    fn release_gone(&mut self) {
        let present: Vec<String> = self.nodes.store().state().iter().filter_map(|n| n.metadata.name.clone()).collect();
        let gone: Vec<String> = self.assigned.keys().filter(|n| !present.contains(n)).cloned().collect();
        for name in gone {
            if let Some(c) = self.assigned.remove(&name) {
                let _ = self.set.release(&c);
            }
        }
    }

    async fn allocate_missing(&mut self) {
        for node in self.nodes.store().state() {
            let name = node.metadata.name.clone().unwrap_or_default();
            if let Some(c) = pod_cidr(&node) {
                if self.assigned.get(&name) != Some(&c) && self.set.occupy(&c).is_ok() {
                    self.assigned.insert(name, c);
                }
                continue;
            }
            if let Err(e) = self.allocate(&node, &name).await {
                tracing::warn!(node = %name, error = %e, "allocating a pod CIDR failed");
            }
        }
    }

    async fn allocate(&mut self, node: &Node, name: &str) -> Result<()> {
        let cidr = match self.assigned.get(name) {
            Some(c) => c.clone(),
            None => match self.set.allocate() {
                Ok(c) => c,
                Err(e) => {
                    let mut r = reference(node);
                    r.uid = Some(name.to_string());
                    self.recorder.normal(&r, "CIDRNotAvailable", format!("Node {name} status is now: CIDRNotAvailable"));
                    return Err(Error::Invalid(e.to_string()));
                }
            },
        };
        self.assigned.insert(name.to_string(), cidr.clone());
        let api: Api<Node> = Api::all(self.client.clone());
        let patch = json!({"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}});
        if let Err(e) = api.patch(name, &PatchParams::default(), &Patch::Merge(patch)).await {
            let e = Error::from(e);
            if e.is_not_found() {
                self.assigned.remove(name);
                let _ = self.set.release(&cidr);
                return Ok(());
            }
            return Err(e);
        }
        tracing::info!(node = %name, cidr = %cidr, "allocated pod CIDR");
        Ok(())
    }
}
