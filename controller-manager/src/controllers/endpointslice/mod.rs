//! The EndpointSlice controller (upstream `pkg/controller/endpointslice`): for every
//! Service with a selector, EndpointSlices labelled `kubernetes.io/service-name` and
//! `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`, owned by the
//! Service, holding one endpoint per selected pod with its readiness conditions, node,
//! zone, hostname and target reference.

pub mod compute;

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::Action;

use self::compute::{desired, plan, CONTROLLER_NAME, MANAGED_BY_LABEL, SERVICE_NAME_LABEL};
use crate::context::ControllerContext;
use crate::controller_ref::new_controller_ref;
use crate::controllers::endpoints::{pod_handler, selected_pods, service_selector};
use crate::controllers::workload::changed;
use crate::controllers::{ControllerDescriptor, Running};
use crate::errors::{Error, Result};
use crate::informer::{Change, Informer};
use crate::runtime::{self, Queue};

/// Registration of the EndpointSlice controller.
pub const DESCRIPTOR: ControllerDescriptor =
    ControllerDescriptor { name: "endpointslice-controller", aliases: &["endpointslice"], enabled_by_default: true, start };

/// The node label carrying its zone.
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

struct Ctx {
    client: kube::Client,
    pods: Arc<Informer<Pod>>,
    nodes: Arc<Informer<Node>>,
    slices: Arc<Informer<EndpointSlice>>,
}

fn managed_service(slice: &EndpointSlice) -> Option<String> {
    let labels = slice.metadata.labels.as_ref()?;
    (labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(CONTROLLER_NAME)).then(|| labels.get(SERVICE_NAME_LABEL).cloned())?
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let services = ctx.informers.informer::<Service>();
    let pods = ctx.informers.informer::<Pod>();
    let nodes = ctx.informers.informer::<Node>();
    let slices = ctx.informers.informer::<EndpointSlice>();
    let (queue, rx) = Queue::<Service>::new("endpoint_slice", &ctx.metrics);
    let q = queue.clone();
    services.add_handler(move |c: &Change<Service>| {
        if !matches!(c, Change::Deleted(_)) {
            q.add_obj(changed(c));
        }
    });
    pods.add_handler(pod_handler(queue.clone(), services.clone()));
    let q = queue.clone();
    slices.add_handler(move |c: &Change<EndpointSlice>| {
        let s = changed(c);
        if let Some(svc) = managed_service(s) {
            q.add(s.metadata.namespace.as_deref(), &svc);
        }
    });
    let c = Arc::new(Ctx { client: ctx.client.clone(), pods, nodes, slices });
    Ok(Box::pin(runtime::run("endpoint_slice", queue, rx, services.store(), ctx.options.concurrent_service_endpoint_syncs, c, reconcile)))
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action> {
    if service_selector(&svc).is_none() || svc.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let pods = selected_pods(&ctx.pods, &svc);
    let refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
    let zone_of = |node: &str| ctx.nodes.get(None, node).and_then(|n| n.metadata.labels.as_ref()?.get(ZONE_LABEL).cloned());
    let groups = desired(&svc, &refs, zone_of);
    let name = svc.metadata.name.clone().unwrap_or_default();
    let existing: Vec<EndpointSlice> = ctx
        .slices
        .store()
        .state()
        .iter()
        .filter(|s| s.metadata.namespace == svc.metadata.namespace && managed_service(s).as_deref() == Some(name.as_str()))
        .map(|s| (**s).clone())
        .collect();
    let p = plan(&svc, &existing, &groups);
    apply(&ctx, &svc, p).await?;
    Ok(Action::await_change())
}

async fn apply(ctx: &Ctx, svc: &Service, p: compute::SlicePlan) -> Result<()> {
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), svc.metadata.namespace.as_deref().unwrap_or(""));
    let mut errors = Vec::new();
    for mut slice in p.create {
        slice.metadata.owner_references = Some(vec![new_controller_ref(svc)]);
        errors.extend(api.create(&PostParams::default(), &slice).await.err().map(Error::from));
    }
    for slice in p.update {
        let name = slice.metadata.name.clone().unwrap_or_default();
        errors.extend(api.replace(&name, &PostParams::default(), &slice).await.err().map(Error::from));
    }
    for name in p.delete {
        errors.extend(api.delete(&name, &DeleteParams::default()).await.err().map(Error::from).filter(|e| !e.is_not_found()));
    }
    errors.retain(|e| !e.is_namespace_terminating());
    // Conflicts mean a stale cache; the watch brings the change and another sync.
    if errors.iter().all(|e| e.is_conflict()) {
        return Ok(());
    }
    crate::errors::aggregate(errors)
}
