//! The DaemonSet controller (upstream `pkg/controller/daemon`): one pod on every node the
//! template fits (node selector, required node affinity, taints against the template's
//! tolerations plus the defaults daemon pods get), created as nodes appear and removed as
//! they stop fitting, updated node by node within `maxUnavailable`, with the template
//! history in ControllerRevisions.
//!
//! Upstream leaves binding to the scheduler (the pod only carries a node affinity for its
//! node). rkube sets `spec.nodeName` as well, so daemon pods land on their node whether or
//! not a scheduler runs; the affinity stays, as upstream writes it.

pub mod placement;
pub mod plan;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod, PodTemplateSpec};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::json;

use self::placement::{daemon_template, pin_to_node, placement};
use self::plan::{counts, manage, max_unavailable, rolling_update, DaemonPod, NodePods};
use crate::context::ControllerContext;
use crate::controller_ref::{claim, new_controller_ref, recheck_owner, Owner};
use crate::controllers::history::{data_of, equal_revisions, hash_revision, new_revision, next_number, template_patch, to_truncate, REVISION_HASH_LABEL};
use crate::controllers::workload::{changed, enqueue_owner, enqueue_self, matches, owner_name, selector};
use crate::controllers::{ControllerDescriptor, Running};
use crate::errors::{Error, Result};
use crate::events::reference;
use crate::expectations::Expectations;
use crate::informer::{Change, Informer};
use crate::pod_control::PodControl;
use crate::pod_util::{is_pod_available, is_pod_ready};
use crate::runtime::{self, key, Queue};

/// Registration of the DaemonSet controller.
pub const DESCRIPTOR: ControllerDescriptor = ControllerDescriptor { name: "daemonset-controller", aliases: &["daemonset"], enabled_by_default: true, start };

/// The legacy label carrying the DaemonSet's generation.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// Upstream's default `revisionHistoryLimit`.
const DEFAULT_HISTORY_LIMIT: i32 = 10;

struct Ctx {
    client: kube::Client,
    pods: Arc<Informer<Pod>>,
    nodes: Arc<Informer<Node>>,
    revisions: Arc<Informer<ControllerRevision>>,
    control: PodControl,
    expectations: Arc<Expectations>,
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let sets = ctx.informers.informer::<DaemonSet>();
    let pods = ctx.informers.informer::<Pod>();
    let nodes = ctx.informers.informer::<Node>();
    let revisions = ctx.informers.informer::<ControllerRevision>();
    let (queue, rx) = Queue::<DaemonSet>::new("daemonset", &ctx.metrics);
    let expectations = Arc::new(Expectations::new());
    sets.add_handler(enqueue_self(queue.clone()));
    pods.add_handler(observe_pods(expectations.clone()));
    pods.add_handler(enqueue_owner::<DaemonSet, Pod>(queue.clone()));
    revisions.add_handler(enqueue_owner::<DaemonSet, ControllerRevision>(queue.clone()));
    let (q, store) = (queue.clone(), sets.store());
    nodes.add_handler(move |_c: &Change<Node>| store.state().iter().for_each(|ds| q.add_obj(ds)));
    let control = PodControl::new(ctx.client.clone(), ctx.recorder("daemonset-controller"));
    let c = Arc::new(Ctx { client: ctx.client.clone(), pods, nodes, revisions, control, expectations });
    Ok(Box::pin(runtime::run("daemonset", queue, rx, sets.store(), ctx.options.concurrent_daemonset_syncs, c, reconcile)))
}

/// Counts observed creations and deletions of daemon pods against the expectations.
fn observe_pods(exp: Arc<Expectations>) -> impl Fn(&Change<Pod>) + Send + Sync + 'static {
    move |c: &Change<Pod>| {
        let pod = changed(c);
        let Some(owner) = owner_name::<DaemonSet>(&pod.metadata) else { return };
        let k = key(pod.metadata.namespace.as_deref(), &owner);
        match c {
            Change::Added(_) => exp.creation_observed(&k),
            Change::Deleted(_) => exp.deletion_observed(&k, &runtime::key_of(pod.as_ref())),
            Change::Updated { old, new } if old.metadata.deletion_timestamp.is_none() && new.metadata.deletion_timestamp.is_some() => {
                exp.deletion_observed(&k, &runtime::key_of(new.as_ref()))
            }
            Change::Updated { .. } => {}
        }
    }
}

fn ds_key(ds: &DaemonSet) -> String {
    runtime::key_of(ds)
}

async fn reconcile(ds: Arc<DaemonSet>, ctx: Arc<Ctx>) -> Result<Action> {
    let pods = claim_pods(&ds, &ctx).await?;
    let revs: Vec<ControllerRevision> = ctx.revisions.controlled_by(ds.metadata.uid.as_deref().unwrap_or("")).iter().map(|r| (**r).clone()).collect();
    let (hash, collision) = current_revision(&ctx, &ds, &revs).await?;
    let nodes = node_pods(&ds, &ctx, &pods, &hash);
    if ds.metadata.deletion_timestamp.is_none() && ctx.expectations.satisfied(&ds_key(&ds)) {
        sync_nodes(&ctx, &ds, &nodes, &hash).await?;
    }
    write_status(&ctx, &ds, &nodes, collision).await?;
    truncate_history(&ctx, &ds, &revs, &pods, &hash).await?;
    Ok(requeue_for_availability(&ds, &pods))
}

async fn claim_pods(ds: &DaemonSet, ctx: &Ctx) -> Result<Vec<Arc<Pod>>> {
    let namespace = ds.metadata.namespace.clone().unwrap_or_default();
    let uid = ds.metadata.uid.clone().unwrap_or_default();
    let spec = ds.spec.as_ref().ok_or_else(|| Error::Invalid("daemonset without spec".into()))?;
    let sel = selector(&spec.selector)?;
    let mut candidates = ctx.pods.controlled_by(&uid);
    candidates.extend(ctx.pods.orphans_in(&namespace));
    let owner = Owner { uid: &uid, namespace: &namespace, deleting: ds.metadata.deletion_timestamp.is_some() };
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let sets: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), &namespace);
    let name = ds.metadata.name.clone().unwrap_or_default();
    let recheck = || async { recheck_owner(&sets, &name, &uid).await };
    claim(&api, &owner, &new_controller_ref(ds), candidates, |p: &Pod| matches(&sel, &p.metadata), recheck).await
}

/// The hash of the current template's revision (created if missing) and the collision count.
async fn current_revision(ctx: &Ctx, ds: &DaemonSet, revs: &[ControllerRevision]) -> Result<(String, Option<i32>)> {
    let spec = ds.spec.clone().unwrap_or_default();
    let data = template_patch(&spec.template);
    let mut collision = ds.status.as_ref().and_then(|s| s.collision_count);
    if let Some(eq) = equal_revisions(revs, &data).last() {
        let hash = eq.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)).cloned();
        return Ok((hash.unwrap_or_else(|| hash_revision(&data, collision)), collision));
    }
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), ds.metadata.namespace.as_deref().unwrap_or(""));
    let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    for _ in 0..10 {
        let mut rev = new_revision(ds.metadata.name.as_deref().unwrap_or(""), labels.clone(), data.clone(), next_number(revs), collision);
        rev.metadata.namespace = ds.metadata.namespace.clone();
        rev.metadata.owner_references = Some(vec![new_controller_ref(ds)]);
        let hash = hash_revision(&data, collision);
        match api.create(&PostParams::default(), &rev).await {
            Ok(_) => return Ok((hash, collision)),
            Err(e) => {
                let e = Error::from(e);
                if !e.is_already_exists() {
                    return Err(e);
                }
                let existing = api.get(rev.metadata.name.as_deref().unwrap_or("")).await?;
                if data_of(&existing) == &data {
                    return Ok((hash, collision));
                }
                collision = Some(collision.unwrap_or(0) + 1);
            }
        }
    }
    Err(Error::Retry("too many ControllerRevision hash collisions".into()))
}

/// The node a daemon pod is on: `spec.nodeName`, else the node its affinity pins it to.
fn node_of(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.clone().filter(|n| !n.is_empty()) {
        return Some(n);
    }
    let required = spec.affinity.as_ref()?.node_affinity.as_ref()?.required_during_scheduling_ignored_during_execution.as_ref()?;
    let term = required.node_selector_terms.first()?;
    let field = term.match_fields.as_ref()?.iter().find(|r| r.key == "metadata.name" && r.operator == "In")?;
    field.values.as_ref()?.first().cloned()
}

fn view(pod: &Pod, hash: &str, min_ready: i32, now: jiff::Timestamp) -> DaemonPod {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
    let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0.to_string()).unwrap_or_default();
    DaemonPod {
        name: pod.metadata.name.clone().unwrap_or_default(),
        age_key: format!("{created}/{}", pod.metadata.name.as_deref().unwrap_or("")),
        terminating: pod.metadata.deletion_timestamp.is_some(),
        finished: phase == "Failed" || phase == "Succeeded",
        updated: pod.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)).map(String::as_str) == Some(hash),
        available: is_pod_available(pod, min_ready, now),
        ready: is_pod_ready(pod),
    }
}

/// Every node with its placement and daemon pods, plus pseudo-nodes for pods whose node is
/// gone (they should not run).
fn node_pods(ds: &DaemonSet, ctx: &Ctx, pods: &[Arc<Pod>], hash: &str) -> Vec<NodePods> {
    let min_ready = ds.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let now = jiff::Timestamp::now();
    let mut by_node: BTreeMap<String, Vec<DaemonPod>> = BTreeMap::new();
    for p in pods {
        if let Some(n) = node_of(p) {
            by_node.entry(n).or_default().push(view(p, hash, min_ready, now));
        }
    }
    let mut out: Vec<NodePods> = ctx
        .nodes
        .store()
        .state()
        .iter()
        .map(|node| {
            let name = node.metadata.name.clone().unwrap_or_default();
            NodePods { placement: placement(ds, node), pods: by_node.remove(&name).unwrap_or_default(), node: name }
        })
        .collect();
    let gone = placement::Placement { should_run: false, should_continue: false };
    out.extend(by_node.into_iter().map(|(node, pods)| NodePods { node, placement: gone, pods }));
    out.sort_by(|a, b| a.node.cmp(&b.node));
    out
}

async fn sync_nodes(ctx: &Ctx, ds: &DaemonSet, nodes: &[NodePods], hash: &str) -> Result<()> {
    let mut plan = manage(nodes);
    let strategy = ds.spec.as_ref().and_then(|s| s.update_strategy.clone()).unwrap_or_default();
    if plan.create_on.is_empty() && plan.delete.is_empty() && strategy.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate" {
        let desired = counts(nodes).desired;
        let max = max_unavailable(strategy.rolling_update.as_ref().and_then(|r| r.max_unavailable.as_ref()), desired);
        plan.delete = rolling_update(nodes, max);
    }
    let k = ds_key(ds);
    let namespace = ds.metadata.namespace.clone().unwrap_or_default();
    let pod_keys = plan.delete.iter().map(|n| key(Some(&namespace), n));
    ctx.expectations.expect_deletions(&k, pod_keys);
    let mut errors = Vec::new();
    for name in &plan.delete {
        if let Err(e) = ctx.control.delete_pod(&namespace, name, &reference(ds)).await {
            ctx.expectations.deletion_observed(&k, &key(Some(&namespace), name));
            if !e.is_not_found() {
                errors.push(e);
            }
        }
    }
    ctx.expectations.expect_creations(&k, plan.create_on.len());
    for node in &plan.create_on {
        let template = pod_template_for(ds, node, hash);
        if let Err(e) = ctx.control.create_pod(&namespace, &template, &reference(ds), &new_controller_ref(ds)).await {
            ctx.expectations.creation_observed(&k);
            errors.push(e);
        }
    }
    crate::errors::aggregate(errors)
}

/// The template of the daemon pod for `node`: default tolerations, the node affinity pin,
/// the node name, and the revision and generation labels.
pub fn pod_template_for(ds: &DaemonSet, node: &str, hash: &str) -> PodTemplateSpec {
    let mut t = daemon_template(ds);
    let meta = t.metadata.get_or_insert_with(Default::default);
    let labels = meta.labels.get_or_insert_with(Default::default);
    labels.insert(REVISION_HASH_LABEL.into(), hash.into());
    if let Some(g) = ds.metadata.generation {
        labels.insert(TEMPLATE_GENERATION_LABEL.into(), g.to_string());
    }
    let spec = t.spec.get_or_insert_with(Default::default);
    spec.affinity = Some(pin_to_node(spec.affinity.take(), node));
    spec.node_name = Some(node.into());
    t
}

async fn write_status(ctx: &Ctx, ds: &DaemonSet, nodes: &[NodePods], collision: Option<i32>) -> Result<()> {
    let c = counts(nodes);
    let status = DaemonSetStatus {
        collision_count: collision,
        conditions: ds.status.as_ref().and_then(|s| s.conditions.clone()),
        current_number_scheduled: c.current,
        desired_number_scheduled: c.desired,
        number_available: Some(c.available).filter(|n| *n > 0),
        number_misscheduled: c.misscheduled,
        number_ready: c.ready,
        number_unavailable: Some(c.desired - c.available).filter(|n| *n > 0),
        observed_generation: ds.metadata.generation,
        updated_number_scheduled: Some(c.updated).filter(|n| *n > 0),
    };
    if ds.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let api: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), ds.metadata.namespace.as_deref().unwrap_or(""));
    let mut body = serde_json::to_value(&status).unwrap_or_default();
    for field in ["numberAvailable", "numberUnavailable", "updatedNumberScheduled"] {
        if body.get(field).is_none() {
            body[field] = serde_json::Value::Null;
        }
    }
    match api.patch_status(ds.metadata.name.as_deref().unwrap_or(""), &PatchParams::default(), &Patch::Merge(json!({"status": body}))).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = Error::from(e);
            if e.is_not_found() { Ok(()) } else { Err(e) }
        }
    }
}

async fn truncate_history(ctx: &Ctx, ds: &DaemonSet, revs: &[ControllerRevision], pods: &[Arc<Pod>], hash: &str) -> Result<()> {
    let limit = ds.spec.as_ref().and_then(|s| s.revision_history_limit).unwrap_or(DEFAULT_HISTORY_LIMIT);
    let mut hashes: std::collections::BTreeSet<String> = pods.iter().filter_map(|p| p.metadata.labels.as_ref()?.get(REVISION_HASH_LABEL).cloned()).collect();
    hashes.insert(hash.to_string());
    let live = revs
        .iter()
        .filter(|r| r.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)).is_some_and(|h| hashes.contains(h)))
        .filter_map(|r| r.metadata.name.clone())
        .collect();
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), ds.metadata.namespace.as_deref().unwrap_or(""));
    for rev in to_truncate(revs, &live, limit) {
        if let Err(e) = api.delete(rev.metadata.name.as_deref().unwrap_or(""), &DeleteParams::default()).await {
            let e = Error::from(e);
            if !e.is_not_found() {
                return Err(e);
            }
        }
    }
    Ok(())
}

fn requeue_for_availability(ds: &DaemonSet, pods: &[Arc<Pod>]) -> Action {
    let min_ready = ds.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let now = jiff::Timestamp::now();
    match pods.iter().filter_map(|p| crate::pod_util::seconds_until_available(p, min_ready, now)).min() {
        Some(s) => Action::requeue(std::time::Duration::from_secs(s.max(1) as u64)),
        None => Action::await_change(),
    }
}
