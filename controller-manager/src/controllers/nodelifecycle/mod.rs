//! Node lifecycle (upstream `pkg/controller/nodelifecycle` and
//! `pkg/controller/tainteviction`): every `--node-monitor-period` it checks that each node's
//! kubelet still renews its Lease in `kube-node-lease` (or posts Ready heartbeats); a node
//! silent for `--node-monitor-grace-period` (`--node-startup-grace-period` before it was
//! ever Ready) gets its conditions set to Unknown and its pods marked not ready. Taints
//! follow the conditions: `node.kubernetes.io/unreachable` / `not-ready` with NoExecute
//! (added at most `--node-eviction-rate` nodes per second per zone, none while a whole
//! zone is down) and NoSchedule, plus the pressure and unschedulable NoSchedule taints.
//! The taint-eviction half deletes pods that do not tolerate a node's NoExecute taints,
//! after the shortest `tolerationSeconds` of the tolerations they use.

pub mod decisions;
mod eviction;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use self::decisions::{condition, desired_taints, is_silent, mark_unknown, observe, ready_status, reconcile_taints, Observation};
use crate::context::ControllerContext;
use crate::controllers::{ControllerDescriptor, Running};
use crate::errors::Result;
use crate::events::{reference, Recorder};
use crate::informer::Informer;

/// Registration of the node lifecycle controller.
pub const DESCRIPTOR: ControllerDescriptor =
    ControllerDescriptor { name: "node-lifecycle-controller", aliases: &["nodelifecycle"], enabled_by_default: true, start };

/// The namespace of node heartbeats.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
/// The node label naming its zone.
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// Timings and rates from the flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// How often nodes are checked.
    pub monitor_period: Duration,
    /// Silence after which a node is Unknown.
    pub grace_period: Duration,
    /// Silence allowed before a node was ever Ready.
    pub startup_grace_period: Duration,
    /// Nodes per second that may get a NoExecute taint, per zone.
    pub eviction_rate: f64,
}

struct Ctl {
    client: kube::Client,
    nodes: Arc<Informer<Node>>,
    leases: Arc<Informer<Lease>>,
    pods: Arc<Informer<Pod>>,
    recorder: Recorder,
    cfg: Config,
    seen: Mutex<HashMap<String, Observation>>,
    last_taint: Mutex<HashMap<String, Timestamp>>,
    evictions: Mutex<eviction::Scheduled>,
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let o = &ctx.options;
    let cfg = Config {
        monitor_period: o.node_monitor_period,
        grace_period: o.node_monitor_grace_period,
        startup_grace_period: o.node_startup_grace_period,
        eviction_rate: o.node_eviction_rate,
    };
    let ctl = Arc::new(Ctl {
        client: ctx.client.clone(),
        nodes: ctx.informers.informer::<Node>(),
        leases: ctx.informers.informer::<Lease>(),
        pods: ctx.informers.informer::<Pod>(),
        recorder: ctx.recorder("node-controller"),
        cfg,
        seen: Mutex::default(),
        last_taint: Mutex::default(),
        evictions: Mutex::default(),
    });
    Ok(Box::pin(run(ctl)))
}

async fn run(ctl: Arc<Ctl>) {
    ctl.nodes.wait_synced().await;
    ctl.leases.wait_synced().await;
    ctl.pods.wait_synced().await;
    tracing::info!(period = ?ctl.cfg.monitor_period, grace = ?ctl.cfg.grace_period, "starting node lifecycle controller");
    let evictor = tokio::spawn(eviction::run(ctl.clone()));
    let mut tick = tokio::time::interval(ctl.cfg.monitor_period.max(Duration::from_millis(100)));
    loop {
        tick.tick().await;
        if let Err(e) = monitor(&ctl).await {
            tracing::warn!(error = %e, "monitoring node health failed");
        }
        if evictor.is_finished() {
            return;
        }
    }
}

/// One pass over every node (upstream `monitorNodeHealth`).
async fn monitor(ctl: &Ctl) -> Result<()> {
    let now = Timestamp::now();
    let nodes = ctl.nodes.store().state();
    let names: Vec<String> = nodes.iter().filter_map(|n| n.metadata.name.clone()).collect();
    ctl.seen.lock().expect("seen lock").retain(|k, _| names.contains(k));
    let disrupted = fully_disrupted_zones(&nodes);
    let mut errors = Vec::new();
    for node in nodes {
        if let Err(e) = check_node(ctl, &node, now, &disrupted).await {
            if !e.is_conflict() && !e.is_not_found() {
                errors.push(e);
            }
        }
    }
    crate::errors::aggregate(errors)
}

fn zone_of(node: &Node) -> String {
    node.metadata.labels.as_ref().and_then(|l| l.get(ZONE_LABEL)).cloned().unwrap_or_default()
}

/// Zones where no node is Ready (upstream's FullDisruption state): no evictions there.
fn fully_disrupted_zones(nodes: &[Arc<Node>]) -> Vec<String> {
    let mut zones: BTreeMap<String, bool> = BTreeMap::new();
    for n in nodes {
        let any_ready = zones.entry(zone_of(n)).or_insert(false);
        *any_ready |= ready_status(n) == "True";
    }
    zones.into_iter().filter(|(_, ready)| !ready).map(|(z, _)| z).collect()
}

async fn check_node(ctl: &Ctl, node: &Node, now: Timestamp, disrupted: &[String]) -> Result<()> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let lease = ctl.leases.get(Some(NODE_LEASE_NAMESPACE), &name);
    let renew = lease.as_ref().and_then(|l| l.spec.as_ref()?.renew_time.as_ref().map(|t| t.0));
    let heartbeat = condition(node, "Ready").and_then(|c| c.last_heartbeat_time.as_ref().map(|t| t.0));
    let obs = {
        let mut seen = ctl.seen.lock().expect("seen lock");
        let o = observe(seen.get(&name), renew, heartbeat, now);
        seen.insert(name.clone(), o.clone());
        o
    };
    let grace = if condition(node, "Ready").is_none() { ctl.cfg.startup_grace_period } else { ctl.cfg.grace_period };
    let mut node = node.clone();
    let was = ready_status(&node).to_string();
    if is_silent(&obs, now, grace) && mark_unknown(&mut node, now) {
        node = write_conditions(ctl, &node).await?;
    }
    let is = ready_status(&node).to_string();
    if was != is {
        transition(ctl, &node, &is).await;
    } else if is != "True" {
        mark_pods_not_ready(ctl, &name).await;
    }
    update_taints(ctl, &node, now, disrupted).await
}

async fn write_conditions(ctl: &Ctl, node: &Node) -> Result<Node> {
    let api: Api<Node> = Api::all(ctl.client.clone());
    let name = node.metadata.name.clone().unwrap_or_default();
    Ok(api.replace_status(&name, &PostParams::default(), node).await?)
}

async fn transition(ctl: &Ctl, node: &Node, status: &str) {
    let name = node.metadata.name.clone().unwrap_or_default();
    let mut r = reference(node);
    r.uid = Some(name.clone());
    r.namespace = None;
    if status == "True" {
        ctl.recorder.normal(&r, "NodeReady", format!("Node {name} status is now: NodeReady"));
        return;
    }
    ctl.recorder.normal(&r, "NodeNotReady", format!("Node {name} status is now: NodeNotReady"));
    mark_pods_not_ready(ctl, &name).await;
}

/// Sets the Ready condition of the node's pods to False (upstream `MarkPodsNotReady`).
async fn mark_pods_not_ready(ctl: &Ctl, node: &str) {
    for pod in ctl.pods.store().state() {
        let on_node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node);
        if !on_node || !crate::pod_util::is_pod_ready(&pod) {
            continue;
        }
        let mut conditions = pod.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
        for c in conditions.iter_mut().filter(|c| c.type_ == "Ready") {
            c.status = "False".into();
            c.last_transition_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::now()));
        }
        let api: Api<Pod> = Api::namespaced(ctl.client.clone(), pod.metadata.namespace.as_deref().unwrap_or(""));
        let patch = json!({"status": {"conditions": conditions}});
        let name = pod.metadata.name.clone().unwrap_or_default();
        match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(patch)).await {
            Ok(_) => ctl.recorder.warning(&reference(pod.as_ref()), "NodeNotReady", "Node is not ready"),
            Err(e) => tracing::debug!(error = %e, pod = %name, "marking pod not ready"),
        }
    }
}

/// Whether a NoExecute taint may be added in this zone now (rate limit, disruption).
fn may_taint(ctl: &Ctl, zone: &str, now: Timestamp, disrupted: &[String]) -> bool {
    if disrupted.iter().any(|z| z == zone) {
        return false;
    }
    let mut last = ctl.last_taint.lock().expect("taint lock");
    let gap = if ctl.cfg.eviction_rate > 0.0 { 1.0 / ctl.cfg.eviction_rate } else { f64::INFINITY };
    let ok = last.get(zone).is_none_or(|t| (now.as_millisecond() - t.as_millisecond()) as f64 / 1000.0 >= gap);
    if ok {
        last.insert(zone.to_string(), now);
    }
    ok
}

async fn update_taints(ctl: &Ctl, node: &Node, now: Timestamp, disrupted: &[String]) -> Result<()> {
    let current = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
    let mut desired = desired_taints(node, now);
    let adds_no_execute = desired.iter().any(|t| t.effect == "NoExecute" && !current.iter().any(|c| c.key == t.key && c.effect == t.effect));
    if adds_no_execute && !may_taint(ctl, &zone_of(node), now, disrupted) {
        desired.retain(|t| t.effect != "NoExecute" || current.iter().any(|c| c.key == t.key && c.effect == t.effect));
    }
    let Some(taints) = reconcile_taints(&current, &desired) else { return Ok(()) };
    let api: Api<Node> = Api::all(ctl.client.clone());
    let patch = json!({"metadata": {"resourceVersion": node.metadata.resource_version}, "spec": {"taints": taints}});
    api.patch(node.metadata.name.as_deref().unwrap_or(""), &PatchParams::default(), &Patch::Merge(patch)).await?;
    Ok(())
}
