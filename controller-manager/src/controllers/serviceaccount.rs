//! The ServiceAccount controller (upstream `pkg/controller/serviceaccount`): every active
//! namespace has a `default` ServiceAccount; it is recreated if deleted.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;

use super::{ControllerDescriptor, Running};
use crate::context::ControllerContext;
use crate::errors::{Error, Result};
use crate::informer::{Change, Informer};
use crate::runtime::{self, Queue};

/// The ServiceAccounts ensured in every namespace.
pub const SERVICE_ACCOUNTS_TO_ENSURE: &[&str] = &["default"];

/// Registration of the ServiceAccount controller.
pub const DESCRIPTOR: ControllerDescriptor =
    ControllerDescriptor { name: "serviceaccount-controller", aliases: &["serviceaccount"], enabled_by_default: true, start };

/// What the reconcile shares.
pub struct Ctx {
    client: kube::Client,
    service_accounts: Arc<Informer<ServiceAccount>>,
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let (queue, rx) = Queue::<Namespace>::new("serviceaccount", &ctx.metrics);
    let namespaces = ctx.informers.informer::<Namespace>();
    let service_accounts = ctx.informers.informer::<ServiceAccount>();
    let q = queue.clone();
    namespaces.add_handler(move |c| match c {
        Change::Added(ns) => q.add_obj(ns),
        Change::Updated { new, .. } => q.add_obj(new),
        Change::Deleted(_) => {}
    });
    let q = queue.clone();
    service_accounts.add_handler(move |c| {
        if let Change::Deleted(sa) = c {
            let name = sa.metadata.name.as_deref().unwrap_or("");
            if SERVICE_ACCOUNTS_TO_ENSURE.contains(&name) {
                q.add(None, sa.metadata.namespace.as_deref().unwrap_or(""));
            }
        }
    });
    let shared = Arc::new(Ctx { client: ctx.client.clone(), service_accounts });
    Ok(Box::pin(runtime::run("serviceaccount", queue, rx, namespaces.store(), ctx.options.concurrent_serviceaccount_syncs, shared, reconcile)))
}

/// Creates the missing ServiceAccounts of an active namespace (upstream `syncNamespace`).
pub async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action> {
    let phase = ns.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Active");
    if phase != "Active" || ns.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let name = ns.metadata.name.clone().unwrap_or_default();
    for sa in SERVICE_ACCOUNTS_TO_ENSURE {
        if ctx.service_accounts.get(Some(&name), sa).is_some() {
            continue;
        }
        let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &name);
        let obj = ServiceAccount { metadata: ObjectMeta { name: Some(sa.to_string()), namespace: Some(name.clone()), ..Default::default() }, ..Default::default() };
        if let Err(e) = api.create(&PostParams::default(), &obj).await {
            let e = Error::from(e);
            if !(e.is_already_exists() || e.is_namespace_terminating()) {
                return Err(e);
            }
        }
    }
    Ok(Action::await_change())
}
