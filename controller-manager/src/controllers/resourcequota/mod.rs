//! The resource quota controller (upstream `pkg/controller/resourcequota`): keeps each
//! ResourceQuota's `status.hard` equal to `spec.hard` and `status.used` equal to what the
//! objects of its namespace (those its scopes select; only non-terminal pods for compute
//! resources) cost, per `rkube_apimachinery::quota`. Admission charges usage up front; this
//! controller gives it back when objects go away (deletes, pods that finish) at once, and
//! corrects everything else (failed creates) on its full resync (`--resource-quota-sync-period`, 5 minutes).
//!
//! Kinds with an informer here (pods, services, configmaps, secrets, PVCs, replication
//! controllers, resource quotas, service accounts, and the apps and batch workloads) are
//! counted from the cache and replenish at once; any other `count/<resource>.<group>` is
//! counted with a list through discovery on each sync, and a quota holding such a count is
//! re-synced every 30 seconds instead of upstream's dynamic informers per resource.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, ReplicationController, ResourceQuota, ResourceQuotaStatus, Secret, Service, ServiceAccount};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::runtime::controller::Action;
use kube::Resource;
use serde::Serialize;
use serde_json::Value;

use rkube_apimachinery::quota::{self, ResourceList};

use super::{ControllerDescriptor, Running};
use crate::context::ControllerContext;
use crate::errors::{Error, Result};
use crate::informer::{Change, Informer};
use crate::runtime::{self, Queue};

/// The re-sync of quotas that count kinds without an informer here.
pub const UNCACHED_RESYNC: Duration = Duration::from_secs(30);

/// Registration of the controller.
pub const DESCRIPTOR: ControllerDescriptor = ControllerDescriptor {
    name: "resourcequota-controller",
    aliases: &["resourcequota"],
    enabled_by_default: true,
    start,
};

/// Lists a counted kind's objects in a namespace, as JSON.
type Lister = Box<dyn Fn(&str) -> Vec<Value> + Send + Sync>;

/// A kind counted from an informer's cache.
pub struct Counted {
    group: &'static str,
    plural: &'static str,
    list: Lister,
}

/// What the reconcile shares.
pub struct Ctx {
    client: kube::Client,
    counted: Vec<Counted>,
    /// `--resource-quota-sync-period`.
    resync: Duration,
}

/// Queues every quota of `ns`.
fn enqueue_namespace(queue: &Queue<ResourceQuota>, quotas: &Informer<ResourceQuota>, ns: &str) {
    for q in quotas.store().state() {
        if q.metadata.namespace.as_deref() == Some(ns) {
            queue.add_obj(&q);
        }
    }
}

/// Re-syncs the namespace's quotas when an object of `K` is deleted or an update changes what
/// it costs (a pod finishing, a Service changing type, a claim resized), as upstream's quota
/// monitor. Adds are not watched: admission has already charged them, and a recount from a
/// cache that has not seen the newest objects yet would undo charges of in-flight creates.
fn watch_counted<K>(informer: &Informer<K>, queue: &Queue<ResourceQuota>, quotas: &Arc<Informer<ResourceQuota>>, group: &'static str, plural: &'static str)
where
    K: Resource<DynamicType = ()> + Serialize + Clone + std::fmt::Debug + Send + Sync + 'static,
{
    let (q, quotas) = (queue.clone(), quotas.clone());
    informer.add_handler(move |c| {
        let obj = match c {
            Change::Added(_) => return,
            Change::Deleted(o) => o,
            Change::Updated { old, new } => {
                let now = unix_now();
                if cost(group, plural, old.as_ref(), now) == cost(group, plural, new.as_ref(), now) {
                    return;
                }
                new
            }
        };
        if let Some(ns) = obj.meta().namespace.as_deref() {
            enqueue_namespace(&q, &quotas, ns);
        }
    });
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn cost<K: Serialize>(group: &str, plural: &str, obj: &K, now: i64) -> ResourceList {
    serde_json::to_value(obj).map(|v| quota::usage(group, plural, &v, now)).unwrap_or_default()
}

/// Counts kind `K` from its shared informer, re-syncing quotas on its deletes and updates.
fn counted<K>(ctx: &ControllerContext, queue: &Queue<ResourceQuota>, quotas: &Arc<Informer<ResourceQuota>>, group: &'static str, plural: &'static str) -> Counted
where
    K: Serialize + serde::de::DeserializeOwned + Resource<DynamicType = ()> + Clone + std::fmt::Debug + Send + Sync + 'static,
{
    let informer = ctx.informers.informer::<K>();
    watch_counted(&informer, queue, quotas, group, plural);
    Counted { group, plural, list: Box::new(move |ns| values_of(&informer, ns)) }
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let (queue, rx) = Queue::<ResourceQuota>::new("resourcequota_primary", &ctx.metrics);
    let quotas = ctx.informers.informer::<ResourceQuota>();
    let q = queue.clone();
    quotas.add_handler(move |c| match c {
        Change::Added(rq) => q.add_obj(rq),
        Change::Updated { old, new } => {
            let hard = new.spec.as_ref().and_then(|s| s.hard.as_ref());
            let status_hard = new.status.as_ref().and_then(|s| s.hard.as_ref());
            if old.spec != new.spec || hard != status_hard || new.status.as_ref().and_then(|s| s.used.as_ref()).is_none() {
                q.add_obj(new);
            }
        }
        Change::Deleted(_) => {}
    });
    let (q, rq) = (&queue, &quotas);
    let counted = vec![
        counted::<Pod>(ctx, q, rq, "", "pods"),
        counted::<Service>(ctx, q, rq, "", "services"),
        counted::<ConfigMap>(ctx, q, rq, "", "configmaps"),
        counted::<Secret>(ctx, q, rq, "", "secrets"),
        counted::<PersistentVolumeClaim>(ctx, q, rq, "", "persistentvolumeclaims"),
        counted::<ReplicationController>(ctx, q, rq, "", "replicationcontrollers"),
        counted::<ResourceQuota>(ctx, q, rq, "", "resourcequotas"),
        counted::<ServiceAccount>(ctx, q, rq, "", "serviceaccounts"),
        counted::<Deployment>(ctx, q, rq, "apps", "deployments"),
        counted::<ReplicaSet>(ctx, q, rq, "apps", "replicasets"),
        counted::<StatefulSet>(ctx, q, rq, "apps", "statefulsets"),
        counted::<DaemonSet>(ctx, q, rq, "apps", "daemonsets"),
        counted::<Job>(ctx, q, rq, "batch", "jobs"),
        counted::<CronJob>(ctx, q, rq, "batch", "cronjobs"),
    ];
    let store = quotas.store();
    let shared = Arc::new(Ctx { client: ctx.client.clone(), counted, resync: ctx.options.resource_quota_sync_period });
    Ok(Box::pin(runtime::run("resourcequota_primary", queue, rx, store, ctx.options.concurrent_resource_quota_syncs, shared, reconcile)))
}

fn values_of<K>(informer: &Informer<K>, ns: &str) -> Vec<Value>
where
    K: Serialize + Resource<DynamicType = ()> + Clone + std::fmt::Debug + Send + Sync + 'static,
{
    informer
        .store()
        .state()
        .iter()
        .filter(|o| o.meta().namespace.as_deref() == Some(ns))
        .filter_map(|o| serde_json::to_value(o.as_ref()).ok())
        .collect()
}

/// The (group, plural) a quota resource name counts, for `count/<plural>[.<group>]` names.
pub fn counted_kind(name: &str) -> Option<(String, String)> {
    let rest = name.strip_prefix("count/")?;
    Some(match rest.split_once('.') {
        Some((plural, group)) => (group.to_string(), plural.to_string()),
        None => (String::new(), rest.to_string()),
    })
}

/// Upstream's `CalculateUsage`: the usage of every hard resource over `objects` (each listed
/// as (group, plural, objects)), zero where nothing counts.
pub fn calculate_usage(quota_obj: &Value, hard: &ResourceList, objects: &[(String, String, Vec<Value>)], now: i64) -> ResourceList {
    let mut used = ResourceList::new();
    for (group, plural, items) in objects {
        let matching = quota::matching_resources(group, plural, hard.keys());
        if matching.is_empty() {
            continue;
        }
        for r in &matching {
            used.entry(r.clone()).or_default();
        }
        for item in items {
            if quota::matches_scopes(quota_obj, group, plural, item, now) {
                used = quota::add(&used, &quota::mask(&quota::usage(group, plural, item, now), &matching));
            }
        }
    }
    used
}

/// Lists one kind in `ns` through discovery (for generic object counts).
async fn list_dynamic(client: &kube::Client, group: &str, plural: &str, ns: &str) -> Result<Vec<Value>> {
    let Ok(api_group) = kube::discovery::group(client, group).await else { return Ok(vec![]) };
    let Some((ar, caps)) = api_group.recommended_resources().into_iter().find(|(ar, _)| ar.plural == plural) else { return Ok(vec![]) };
    if caps.scope != kube::discovery::Scope::Namespaced {
        return Ok(vec![]);
    }
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let list = api.list_metadata(&ListParams::default()).await.map_err(Error::from)?;
    Ok(list.items.iter().filter_map(|o| serde_json::to_value(o).ok()).collect())
}

/// Recomputes one quota's status.
pub async fn reconcile(rq: Arc<ResourceQuota>, ctx: Arc<Ctx>) -> Result<Action> {
    let ns = rq.metadata.namespace.clone().unwrap_or_default();
    let name = rq.metadata.name.clone().unwrap_or_default();
    let now = unix_now();
    let quota_obj = serde_json::to_value(rq.as_ref()).map_err(|e| Error::Invalid(e.to_string()))?;
    let hard = quota::resource_list(quota_obj.pointer("/spec/hard"));
    // Only the kinds some hard resource counts are listed.
    let mut objects: Vec<(String, String, Vec<Value>)> = ctx
        .counted
        .iter()
        .filter(|c| !quota::matching_resources(c.group, c.plural, hard.keys()).is_empty())
        .map(|c| (c.group.to_string(), c.plural.to_string(), (c.list)(&ns)))
        .collect();
    let mut uncached = false;
    for r in hard.keys() {
        let Some((group, plural)) = counted_kind(r) else { continue };
        if ctx.counted.iter().any(|c| c.group == group && c.plural == plural) || objects.iter().any(|(g, p, _)| *g == group && *p == plural) {
            continue;
        }
        let items = list_dynamic(&ctx.client, &group, &plural, &ns).await?;
        objects.push((group, plural, items));
        uncached = true;
    }
    // Keep what the status already says for names nothing here counts (as upstream), then
    // overwrite with the fresh usage, limited to the hard names.
    let mut used = quota::resource_list(quota_obj.pointer("/status/used"));
    used.extend(calculate_usage(&quota_obj, &hard, &objects, now));
    let names: BTreeSet<String> = hard.keys().cloned().collect();
    let used = quota::mask(&used, &names);
    let to_k8s = |l: &ResourceList| l.iter().map(|(k, v)| (k.clone(), K8sQuantity(v.to_string()))).collect::<std::collections::BTreeMap<_, _>>();
    let status = ResourceQuotaStatus { hard: Some(to_k8s(&hard)), used: Some(to_k8s(&used)) };
    let current = rq.status.clone().unwrap_or_default();
    let same = |a: &Option<std::collections::BTreeMap<String, K8sQuantity>>, b: &ResourceList| {
        quota::resource_list(serde_json::to_value(a).ok().as_ref()) == *b && a.as_ref().map(|m| m.len()) == Some(b.len())
    };
    if !(same(&current.hard, &hard) && same(&current.used, &used)) {
        let mut updated = (*rq).clone();
        updated.status = Some(status);
        let api: Api<ResourceQuota> = Api::namespaced(ctx.client.clone(), &ns);
        if let Err(e) = api.replace_status(&name, &PostParams::default(), &updated).await {
            let e = Error::from(e);
            if !e.is_not_found() {
                return Err(e);
            }
        }
    }
    Ok(Action::requeue(if uncached { UNCACHED_RESYNC.min(ctx.resync) } else { ctx.resync }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn count_names() {
        assert_eq!(counted_kind("count/deployments.apps"), Some(("apps".into(), "deployments".into())));
        assert_eq!(counted_kind("count/pods"), Some((String::new(), "pods".into())));
        assert_eq!(counted_kind("pods"), None);
    }

    #[test]
    fn usage_counts_live_pods_and_zeroes_the_rest() {
        let hard: ResourceList = [("pods", "2"), ("count/pods", "5"), ("configmaps", "3"), ("requests.cpu", "1")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
            .collect();
        let q = json!({"spec": {}});
        let pods = vec![
            json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}]}}),
            json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Succeeded"}}),
        ];
        let objects = vec![(String::new(), "pods".to_string(), pods), (String::new(), "configmaps".to_string(), vec![])];
        let used = calculate_usage(&q, &hard, &objects, 0);
        assert_eq!(quota::pretty_print(&used), "configmaps=0,count/pods=2,pods=1,requests.cpu=100m");
    }
}
