//! The Endpoints controller (upstream `pkg/controller/endpoint`): keeps one Endpoints object
//! per Service with a selector, named like the Service, listing the matching pods' IPs
//! (ready ones as `addresses`, others as `notReadyAddresses`) with the service ports
//! resolved on each pod. Services without a selector are left alone (their Endpoints are
//! written by hand); the Endpoints of a deleted Service are deleted.

pub mod compute;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::Action;

use self::compute::{labels_for, subsets, truncate, OVER_CAPACITY_ANNOTATION};
use crate::context::ControllerContext;
use crate::controllers::workload::changed;
use crate::controllers::{ControllerDescriptor, Running};
use crate::errors::{Error, Result};
use crate::informer::{Change, Informer};
use crate::runtime::{self, Queue};

/// Registration of the Endpoints controller.
pub const DESCRIPTOR: ControllerDescriptor = ControllerDescriptor { name: "endpoints-controller", aliases: &["endpoint"], enabled_by_default: true, start };


struct Ctx {
    client: kube::Client,
    pods: Arc<Informer<Pod>>,
    endpoints: Arc<Informer<Endpoints>>,
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let services = ctx.informers.informer::<Service>();
    let pods = ctx.informers.informer::<Pod>();
    let endpoints = ctx.informers.informer::<Endpoints>();
    let (queue, rx) = Queue::<Service>::new("endpoint", &ctx.metrics);
    services.add_handler(service_handler(queue.clone(), ctx.client.clone()));
    pods.add_handler(pod_handler(queue.clone(), services.clone()));
    let q = queue.clone();
    endpoints.add_handler(move |c: &Change<Endpoints>| {
        let e = changed(c);
        q.add(e.metadata.namespace.as_deref(), e.metadata.name.as_deref().unwrap_or(""));
    });
    let c = Arc::new(Ctx { client: ctx.client.clone(), pods, endpoints });
    Ok(Box::pin(runtime::run("endpoint", queue, rx, services.store(), ctx.options.concurrent_endpoint_syncs, c, reconcile)))
}

/// The selector of a service, when it has a non-empty one.
pub fn service_selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    svc.spec.as_ref()?.selector.as_ref().filter(|s| !s.is_empty())
}

/// Whether the labels satisfy a service's selector.
pub fn selects(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    selector.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

fn service_handler(queue: Queue<Service>, client: kube::Client) -> impl Fn(&Change<Service>) + Send + Sync + 'static {
    move |c: &Change<Service>| match c {
        Change::Deleted(svc) => {
            let (ns, name) = (svc.metadata.namespace.clone().unwrap_or_default(), svc.metadata.name.clone().unwrap_or_default());
            let api: Api<Endpoints> = Api::namespaced(client.clone(), &ns);
            tokio::spawn(async move {
                if let Err(e) = api.delete(&name, &DeleteParams::default()).await {
                    tracing::debug!(error = %e, endpoints = %name, "deleting endpoints of a deleted service");
                }
            });
        }
        _ => queue.add_obj(changed(c)),
    }
}

/// Queues every service in the pod's namespace that selects it (before or after a change).
pub fn pod_handler(queue: Queue<Service>, services: Arc<Informer<Service>>) -> impl Fn(&Change<Pod>) + Send + Sync + 'static {
    move |c: &Change<Pod>| {
        let mut label_sets = vec![changed(c).metadata.labels.clone()];
        if let Change::Updated { old, .. } = c {
            label_sets.push(old.metadata.labels.clone());
        }
        let ns = changed(c).metadata.namespace.clone();
        for svc in services.store().state() {
            if svc.metadata.namespace != ns {
                continue;
            }
            if service_selector(&svc).is_some_and(|sel| label_sets.iter().any(|l| selects(sel, l.as_ref()))) {
                queue.add_obj(&svc);
            }
        }
    }
}

/// The pods of the service's namespace its selector matches.
pub fn selected_pods(pods: &Informer<Pod>, svc: &Service) -> Vec<Arc<Pod>> {
    let Some(sel) = service_selector(svc) else { return Vec::new() };
    pods.store()
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace == svc.metadata.namespace && selects(sel, p.metadata.labels.as_ref()))
        .collect()
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action> {
    if service_selector(&svc).is_none() || svc.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let pods = selected_pods(&ctx.pods, &svc);
    let refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
    let mut subs = subsets(&svc, &refs);
    let over = truncate(&mut subs);
    let name = svc.metadata.name.clone().unwrap_or_default();
    let existing = ctx.endpoints.get(svc.metadata.namespace.as_deref(), &name);
    let mut desired = existing.as_deref().cloned().unwrap_or_default();
    desired.metadata.name = Some(name.clone());
    desired.metadata.namespace = svc.metadata.namespace.clone();
    desired.metadata.labels = Some(labels_for(&svc));
    let annotations = desired.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if over {
        annotations.insert(OVER_CAPACITY_ANNOTATION.into(), "truncated".into());
    } else {
        annotations.remove(OVER_CAPACITY_ANNOTATION);
    }
    if annotations.is_empty() {
        desired.metadata.annotations = None;
    }
    desired.subsets = (!subs.is_empty()).then_some(subs);
    if existing.as_deref().is_some_and(|e| same(e, &desired)) {
        return Ok(Action::await_change());
    }
    write(&ctx, &svc, desired, existing.is_some()).await?;
    Ok(Action::await_change())
}

fn same(a: &Endpoints, b: &Endpoints) -> bool {
    let norm = |e: &Endpoints| e.subsets.clone().filter(|s| !s.is_empty());
    norm(a) == norm(b) && a.metadata.labels == b.metadata.labels && a.metadata.annotations == b.metadata.annotations
}

async fn write(ctx: &Ctx, svc: &Service, desired: Endpoints, exists: bool) -> Result<()> {
    let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), svc.metadata.namespace.as_deref().unwrap_or(""));
    let name = desired.metadata.name.clone().unwrap_or_default();
    let result = if exists {
        api.replace(&name, &PostParams::default(), &desired).await
    } else {
        api.create(&PostParams::default(), &desired).await
    };
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = Error::from(e);
            // A stale cache: the next event brings the current object and another sync.
            if e.is_conflict() || e.is_already_exists() || e.is_namespace_terminating() || e.is_not_found() {
                return Ok(());
            }
            Err(e)
        }
    }
}
