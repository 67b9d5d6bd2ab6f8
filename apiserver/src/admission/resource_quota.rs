//! ResourceQuota admission (upstream `plugin/pkg/admission/resourcequota`): a create whose
//! object is counted by a ResourceQuota of its namespace is refused (403) when the new usage
//! would exceed the quota's `status.hard`, and otherwise charged to `status.used` at once,
//! with a resourceVersion-guarded write per quota (retried on conflict against the fresh
//! quota), so two concurrent creates cannot both take the last unit. The resourcequota
//! controller recomputes `status.used` from the objects themselves (deletes, failed creates).
//!
//! The accounting itself (what an object costs, pod constraints, messages) is
//! `rkube_apimachinery::quota`.

use std::collections::BTreeSet;

use serde_json::Value;

use rkube_apimachinery::quantity::Quantity;
use rkube_apimachinery::quota;

use crate::errors::{ApiError, ApiResult};
use crate::http::Shared;
use crate::registry::meta;
use crate::resources::ResourceInfo;

/// Attempts before giving up on a quota that keeps changing under us.
const MAX_RETRIES: usize = 10;

/// Resources never charged (upstream's default ignored resources).
fn ignored(info: &ResourceInfo) -> bool {
    info.plural == "events" && (info.group.is_empty() || info.group == "events.k8s.io")
}

/// Runs the plugin on a create.
pub async fn admit(state: &Shared, info: &ResourceInfo, obj: &Value, dry_run: bool) -> ApiResult<()> {
    if !info.namespaced || ignored(info) {
        return Ok(());
    }
    let delta = quota::usage(&info.group, &info.plural, obj, now());
    charge(state, info, obj, delta, dry_run).await
}

/// Runs the plugin on an update of `old` into `obj`: Services (a type change) and claims (a
/// resize) are charged for what the update adds, as upstream's evaluators that handle updates.
pub async fn admit_update(state: &Shared, info: &ResourceInfo, old: &Value, obj: &Value, dry_run: bool) -> ApiResult<()> {
    if !(info.group.is_empty() && matches!(info.plural.as_str(), "services" | "persistentvolumeclaims")) {
        return Ok(());
    }
    let now = now();
    let new_usage = quota::usage(&info.group, &info.plural, obj, now);
    let delta = quota::subtract_non_negative(&new_usage, &quota::usage(&info.group, &info.plural, old, now));
    if delta.values().all(Quantity::is_zero) {
        return Ok(());
    }
    charge(state, info, obj, delta, dry_run).await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Checks `delta` against every quota of the object's namespace that counts it and charges
/// it to their `status.used` (not for dry runs, as upstream).
async fn charge(state: &Shared, info: &ResourceInfo, obj: &Value, delta: quota::ResourceList, dry_run: bool) -> ApiResult<()> {
    let Some(ns) = meta::meta_str(obj, "namespace").map(str::to_string) else { return Ok(()) };
    let snap = state.catalog.snapshot();
    let Some(rq_info) = snap.find("", "v1", "resourcequotas") else { return Ok(()) };
    let now = now();
    let name = meta::meta_str(obj, "name").unwrap_or("").to_string();
    let negative = quota::negative(&delta);
    if !negative.is_empty() {
        return Err(ApiError::forbidden(info, &name, &format!("quota usage is negative for resource(s): {}", negative.join(","))));
    }
    // Quotas already charged for this request (kept across conflict retries).
    let mut charged: BTreeSet<String> = BTreeSet::new();
    for _ in 0..MAX_RETRIES {
        let quotas = state.store.list(&rq_info, Some(&ns), &Default::default()).await?.items;
        let mut pending = Vec::new();
        for q in quotas {
            let qname = meta::meta_str(&q, "name").unwrap_or("").to_string();
            if charged.contains(&qname) || !quota::matches_scopes(&q, &info.group, &info.plural, obj, now) {
                continue;
            }
            match quota::check(&q, &info.group, &info.plural, obj, &delta) {
                Err(why) => return Err(ApiError::forbidden(info, &name, &why)),
                Ok(Some(used)) => pending.push((q, used)),
                Ok(None) => {}
            }
        }
        if pending.is_empty() || dry_run {
            return Ok(());
        }
        let mut conflicted = false;
        for (mut q, used) in pending {
            let qname = meta::meta_str(&q, "name").unwrap_or("").to_string();
            let rev = meta::resource_version(&q).unwrap_or(0);
            if !q.get("status").is_some_and(Value::is_object) {
                q["status"] = serde_json::json!({});
            }
            q["status"]["used"] = quota::to_json(&used);
            match state.store.replace(&rq_info, q, rev).await {
                Ok(_) => {
                    charged.insert(qname);
                }
                Err(e) if e.reason == "Conflict" => conflicted = true,
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        if !conflicted {
            return Ok(());
        }
    }
    Err(ApiError::forbidden(info, &name, "status unknown for quota: too many conflicts updating quota usage"))
}
