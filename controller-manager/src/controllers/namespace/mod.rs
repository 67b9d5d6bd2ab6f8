//! The Namespace controller (upstream `pkg/controller/namespace`): a Terminating namespace
//! has all its content deleted (every namespaced resource found by discovery), its deletion
//! conditions kept in status, and once empty its `kubernetes` finalizer removed through the
//! finalize subresource so the apiserver can remove it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::runtime::controller::Action;

use super::{ControllerDescriptor, Running};
use crate::context::ControllerContext;
use crate::discovery::{self, Resource};
use crate::errors::{Error, Result};
use crate::informer::Change;
use crate::runtime::{self, Queue};

pub mod conditions;

/// The finalizer this controller owns.
pub const FINALIZER: &str = "kubernetes";
/// Upstream `namespaceDeletionGracePeriod`: events are handled after this delay so that
/// last-moment creations are seen.
pub const DELETION_GRACE: Duration = Duration::from_secs(5);

/// Registration of the Namespace controller.
pub const DESCRIPTOR: ControllerDescriptor = ControllerDescriptor { name: "namespace-controller", aliases: &["namespace"], enabled_by_default: true, start };

/// What the reconcile shares.
pub struct Ctx {
    client: kube::Client,
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let (queue, rx) = Queue::<Namespace>::new("namespace", &ctx.metrics);
    let namespaces = ctx.informers.informer::<Namespace>();
    let q = queue.clone();
    namespaces.add_handler(move |c| match c {
        Change::Added(ns) | Change::Updated { new: ns, .. } if ns.metadata.deletion_timestamp.is_some() => q.add_after(ns, DELETION_GRACE),
        _ => {}
    });
    let shared = Arc::new(Ctx { client: ctx.client.clone() });
    Ok(Box::pin(runtime::run("namespace", queue, rx, namespaces.store(), ctx.options.concurrent_namespace_syncs, shared, reconcile)))
}

fn finalized(ns: &Namespace) -> bool {
    !ns.spec.as_ref().and_then(|s| s.finalizers.as_ref()).is_some_and(|f| f.iter().any(|x| x == FINALIZER))
}

/// Deletes a Terminating namespace's content, then finalizes it (upstream
/// `namespacedResourcesDeleter.Delete`).
pub async fn reconcile(obj: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action> {
    let name = obj.metadata.name.clone().unwrap_or_default();
    let api: Api<Namespace> = Api::all(ctx.client.clone());
    let Some(mut ns) = api.get_opt(&name).await? else { return Ok(Action::await_change()) };
    let Some(deleted_at) = ns.metadata.deletion_timestamp.clone() else { return Ok(Action::await_change()) };
    if ns.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Terminating") {
        ns.status.get_or_insert_with(Default::default).phase = Some("Terminating".into());
        ns = api.replace_status(&name, &PostParams::default(), &ns).await?;
    }
    if finalized(&ns) {
        return Ok(Action::await_change());
    }
    let estimate = delete_all_content(&ctx, &api, &mut ns, deleted_at.0).await?;
    if estimate > 0 {
        tracing::debug!(namespace = %name, estimate, "content remains, waiting for graceful termination");
        return Ok(Action::requeue(Duration::from_secs((estimate as u64 / 2).max(1))));
    }
    finalize(&api, ns).await?;
    tracing::info!(namespace = %name, "namespace content deleted and finalized");
    Ok(Action::await_change())
}

/// Removes our finalizer through namespaces/NAME/finalize, retrying on conflict.
async fn finalize(api: &Api<Namespace>, mut ns: Namespace) -> Result<()> {
    let name = ns.metadata.name.clone().unwrap_or_default();
    for _ in 0..5 {
        if let Some(f) = ns.spec.as_mut().and_then(|s| s.finalizers.as_mut()) {
            f.retain(|x| x != FINALIZER);
        }
        match api.replace_subresource::<Namespace>("finalize", &name, &PostParams::default(), &ns).await {
            Ok(_) => return Ok(()),
            Err(e) => {
                let e = Error::from(e);
                if e.is_not_found() {
                    return Ok(());
                }
                if !e.is_conflict() {
                    return Err(e);
                }
                ns = api.get(&name).await?;
            }
        }
    }
    Err(Error::Retry(format!("finalizing namespace {name}: too many conflicts")))
}

/// What deleting one resource type left behind.
#[derive(Default)]
struct Leftover {
    estimate: i64,
    remaining: usize,
    finalizers: BTreeMap<String, usize>,
    error: Option<Error>,
}

/// Deletes every namespaced resource's objects; updates the deletion conditions; returns
/// the seconds graceful termination may still take.
async fn delete_all_content(ctx: &Ctx, api: &Api<Namespace>, ns: &mut Namespace, deleted_at: Timestamp) -> Result<i64> {
    let name = ns.metadata.name.clone().unwrap_or_default();
    let found = discovery::discover(&ctx.client).await?;
    let mut updater = conditions::Updater::new(Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH));
    if let Some(msg) = found.failure_message() {
        updater.discovery_failed(msg);
    }
    let resources: Vec<Resource> = found.preferred_with(&["delete"]).into_iter().filter(|r| r.namespaced).collect();
    let results = futures::future::join_all(resources.iter().map(|r| delete_resource_content(ctx, r, &name, deleted_at))).await;
    let (mut estimate, mut errors) = (0, Vec::new());
    let (mut remaining, mut finalizers) = (BTreeMap::new(), BTreeMap::new());
    for (r, left) in resources.iter().zip(results) {
        estimate = estimate.max(left.estimate);
        if left.remaining > 0 {
            remaining.insert(r.group_resource(), left.remaining);
            for (f, n) in left.finalizers {
                *finalizers.entry(f).or_insert(0) += n;
            }
        }
        if let Some(e) = left.error {
            errors.push(e);
        }
    }
    updater.content_totals(&remaining, &finalizers);
    if !errors.is_empty() {
        updater.content_deletion_failed(&errors.iter().map(ToString::to_string).collect::<Vec<_>>());
    }
    if updater.update(ns) {
        match api.replace_status(&name, &PostParams::default(), ns).await {
            Ok(updated) => *ns = updated,
            Err(e) => tracing::warn!(namespace = %name, error = %e, "couldn't update status condition for namespace"),
        }
    }
    crate::errors::aggregate(errors)?;
    Ok(estimate)
}

/// Upstream `estimateGracefulTermination`: the longest termination grace period of the
/// namespace's live pods, or 0 once that long has passed since the deletion began.
async fn estimate_graceful_termination(ctx: &Ctx, namespace: &str, deleted_at: Timestamp) -> Result<i64> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let mut estimate = 0;
    for p in pods.list(&ListParams::default()).await?.items {
        let phase = p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
        if matches!(phase, "Succeeded" | "Failed") {
            continue;
        }
        estimate = estimate.max(p.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(0));
    }
    if Timestamp::now().as_second() - deleted_at.as_second() >= estimate {
        return Ok(0);
    }
    Ok(estimate)
}

/// Upstream `deleteAllContentForGroupVersionResource`.
async fn delete_resource_content(ctx: &Ctx, r: &Resource, namespace: &str, deleted_at: Timestamp) -> Leftover {
    let mut left = Leftover::default();
    if r.api.group.is_empty() && r.api.plural == "pods" {
        match estimate_graceful_termination(ctx, namespace, deleted_at).await {
            Ok(e) => left.estimate = e,
            Err(e) => {
                left.error = Some(e);
                return left;
            }
        }
    }
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), namespace, &r.api);
    if let Err(e) = delete_collection(&api, r).await {
        left.error = Some(e);
        return left;
    }
    if !r.supports(&["list"]) {
        return left;
    }
    let items = match api.list_metadata(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(e) => {
            left.error = Some(e.into());
            return left;
        }
    };
    left.remaining = items.len();
    for item in &items {
        for f in item.metadata.finalizers.iter().flatten() {
            *left.finalizers.entry(f.clone()).or_insert(0) += 1;
        }
    }
    if left.estimate == 0 && !items.is_empty() {
        left.error = Some(Error::Retry(format!("unexpected items still remain in namespace: {namespace} for gvr: {}/{}, Resource={}", r.api.group, r.api.version, r.api.plural)));
    }
    left
}

/// Deletes every object with background propagation: one deletecollection when served,
/// else one delete per listed object.
async fn delete_collection(api: &Api<DynamicObject>, r: &Resource) -> Result<()> {
    if r.supports(&["deletecollection"]) {
        match api.delete_collection(&DeleteParams::background(), &ListParams::default()).await {
            Ok(_) => return Ok(()),
            Err(e) => {
                let e = Error::from(e);
                if !(e.is_method_not_supported() || e.is_not_found()) {
                    return Err(e);
                }
            }
        }
    }
    if !r.supports(&["list"]) {
        return Ok(());
    }
    for item in api.list_metadata(&ListParams::default()).await?.items {
        let name = item.metadata.name.unwrap_or_default();
        if let Err(e) = api.delete(&name, &DeleteParams::background()).await {
            let e = Error::from(e);
            if !e.is_not_found() {
                return Err(e);
            }
        }
    }
    Ok(())
}
