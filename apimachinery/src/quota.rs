//! Resource quota accounting (upstream `pkg/quota/v1` and its evaluators): what an object
//! costs against a ResourceQuota, which quota resources an object kind answers to, the pod
//! constraints quota enforces, and the "exceeded quota" check with upstream's messages.
//!
//! Objects are plain JSON (`serde_json::Value`) so the apiserver (admission) and the
//! controller-manager (the resourcequota controller) share one implementation. No IO.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::quantity::{Quantity, QuantityFormat};

/// A resource list (`{"cpu": "1", "pods": "2"}`), keyed and ordered by name.
pub type ResourceList = BTreeMap<String, Quantity>;

/// Reads a resource list from JSON, skipping unparsable entries.
pub fn resource_list(v: Option<&Value>) -> ResourceList {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, q)| Quantity::from_json(q).ok().map(|q| (k.clone(), q)))
        .collect()
}

/// A resource list as JSON, in canonical quantity form.
pub fn to_json(list: &ResourceList) -> Value {
    Value::Object(list.iter().map(|(k, q)| (k.clone(), json!(q.to_string()))).collect())
}

/// `a + b`, key by key.
pub fn add(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut out = a.clone();
    for (k, v) in b {
        let sum = out.get(k).map(|x| x.saturating_add(v)).unwrap_or(*v);
        out.insert(k.clone(), sum);
    }
    out
}

/// `a - b`, key by key (keys only in `b` become negative).
pub fn subtract(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut out = a.clone();
    for (k, v) in b {
        let diff = out.get(k).copied().unwrap_or_default().saturating_sub(v);
        out.insert(k.clone(), diff);
    }
    out
}

/// Entries of `list` whose names are in `names`.
pub fn mask(list: &ResourceList, names: &BTreeSet<String>) -> ResourceList {
    list.iter().filter(|(k, _)| names.contains(*k)).map(|(k, v)| (k.clone(), *v)).collect()
}

/// Upstream's `LessThanOrEqual`: whether every entry of `a` present in `b` is at most its
/// value there, and the names that are not.
pub fn less_than_or_equal(a: &ResourceList, b: &ResourceList) -> (bool, Vec<String>) {
    let exceeded: Vec<String> = a.iter().filter(|(k, v)| b.get(*k).is_some_and(|h| *v > h)).map(|(k, _)| k.clone()).collect();
    (exceeded.is_empty(), exceeded)
}

/// `cpu=1,pods=2`: sorted by name, as upstream's `prettyPrint`.
pub fn pretty_print(list: &ResourceList) -> String {
    list.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// The name of the generic object-count resource: `count/pods`, `count/deployments.apps`.
pub fn object_count_name(group: &str, plural: &str) -> String {
    if group.is_empty() {
        format!("count/{plural}")
    } else {
        format!("count/{plural}.{group}")
    }
}

/// Upstream's legacy object-count names (`configmaps`, `secrets`, ...).
fn legacy_count_name(group: &str, plural: &str) -> Option<&'static str> {
    if !group.is_empty() {
        return None;
    }
    match plural {
        "configmaps" => Some("configmaps"),
        "resourcequotas" => Some("resourcequotas"),
        "replicationcontrollers" => Some("replicationcontrollers"),
        "secrets" => Some("secrets"),
        _ => None,
    }
}

/// Compute resources a pod quota tracks beyond `pods` / `count/pods`.
const POD_COMPUTE: &[&str] = &[
    "pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// The quota resources that, when limited, require every container to state them.
const POD_VALIDATION: &[&str] = &["cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"];

const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

/// Which of `names` (a quota's hard resources) objects of `group`/`plural` are counted
/// against (upstream's `MatchingResources` of each evaluator).
pub fn matching_resources<'a>(group: &str, plural: &str, names: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    let count = object_count_name(group, plural);
    let legacy = legacy_count_name(group, plural);
    names
        .into_iter()
        .filter(|n| {
            if **n == count || legacy == Some(n.as_str()) {
                return true;
            }
            match (group, plural) {
                ("", "pods") => POD_COMPUTE.contains(&n.as_str()) || n.starts_with("requests.hugepages-") || n.starts_with("hugepages-") || (n.starts_with("requests.") && n.contains('/')),
                ("", "services") => matches!(n.as_str(), "services" | "services.nodeports" | "services.loadbalancers"),
                ("", "persistentvolumeclaims") => {
                    matches!(n.as_str(), "persistentvolumeclaims" | "requests.storage")
                        || n.ends_with(&format!("{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"))
                        || n.ends_with(&format!("{STORAGE_CLASS_SUFFIX}requests.storage"))
                }
                _ => false,
            }
        })
        .cloned()
        .collect()
}

fn one() -> Quantity {
    Quantity::from_value(1, QuantityFormat::DecimalSI)
}

/// What an object costs (upstream's `Usage` of the evaluator for its kind); `now` (Unix
/// seconds) decides whether a deleting pod's grace period has run out.
pub fn usage(group: &str, plural: &str, obj: &Value, now: i64) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert(object_count_name(group, plural), one());
    if let Some(legacy) = legacy_count_name(group, plural) {
        out.insert(legacy.to_string(), one());
    }
    match (group, plural) {
        ("", "pods") => out = add(&out, &pod_compute_usage(obj, now)),
        ("", "services") => out = add(&out, &service_usage(obj)),
        ("", "persistentvolumeclaims") => out = add(&out, &pvc_usage(obj)),
        _ => {}
    }
    out
}

/// Whether a pod still counts against compute quota (upstream `QuotaV1Pod`): not Succeeded or
/// Failed, and not past the end of its deletion grace period.
pub fn pod_counts(pod: &Value, now: i64) -> bool {
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
    if phase == "Succeeded" || phase == "Failed" {
        return false;
    }
    let deleting = pod.pointer("/metadata/deletionTimestamp").and_then(Value::as_str);
    let grace = pod.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64);
    if let (Some(ts), Some(grace)) = (deleting, grace) {
        if let Ok(t) = ts.parse::<jiff::Timestamp>() {
            if now > t.as_second() + grace {
                return false;
            }
        }
    }
    true
}

fn pod_compute_usage(pod: &Value, now: i64) -> ResourceList {
    if !pod_counts(pod, now) {
        return ResourceList::new();
    }
    let mut requests = pod_resources(pod, "requests");
    let mut limits = pod_resources(pod, "limits");
    let overhead = resource_list(pod.pointer("/spec/overhead"));
    if !overhead.is_empty() {
        requests = add(&requests, &overhead);
        let with_overhead: ResourceList = overhead.iter().filter(|(k, _)| limits.contains_key(*k)).map(|(k, v)| (k.clone(), *v)).collect();
        limits = add(&limits, &with_overhead);
    }
    compute_usage_helper(&requests, &limits)
}

/// Upstream's `podComputeUsageHelper`: quota names from a pod's (or container's) requests
/// and limits.
fn compute_usage_helper(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("pods".to_string(), one());
    for r in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(q) = requests.get(r) {
            out.insert(r.to_string(), *q);
            out.insert(format!("requests.{r}"), *q);
        }
        if let Some(q) = limits.get(r) {
            out.insert(format!("limits.{r}"), *q);
        }
    }
    for (k, q) in requests {
        if k.starts_with("hugepages-") {
            out.insert(k.clone(), *q);
            out.insert(format!("requests.{k}"), *q);
        } else if k.contains('/') && !k.starts_with("kubernetes.io/") {
            out.insert(format!("requests.{k}"), *q);
        }
    }
    out
}

fn container_list(c: &Value, field: &str) -> ResourceList {
    resource_list(c.pointer(&format!("/resources/{field}")))
}

fn max_into(acc: &mut ResourceList, other: &ResourceList) {
    for (k, v) in other {
        if acc.get(k).is_none_or(|cur| v > cur) {
            acc.insert(k.clone(), *v);
        }
    }
}

/// A pod's effective requests or limits (`field`), without overhead: the sum over its
/// containers, raised to what any init container needs while it runs (restartable "sidecar"
/// init containers keep running and add up), as upstream's `PodRequests`/`PodLimits`.
pub fn pod_resources(pod: &Value, field: &str) -> ResourceList {
    let containers = pod.pointer("/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
    let inits = pod.pointer("/spec/initContainers").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut sum = ResourceList::new();
    for c in &containers {
        sum = add(&sum, &container_list(c, field));
    }
    let mut sidecars = ResourceList::new();
    let mut init_max = ResourceList::new();
    for c in &inits {
        let own = container_list(c, field);
        if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            sum = add(&sum, &own);
            sidecars = add(&sidecars, &own);
            max_into(&mut init_max, &sidecars);
        } else {
            max_into(&mut init_max, &add(&own, &sidecars));
        }
    }
    max_into(&mut sum, &init_max);
    sum
}

fn service_usage(svc: &Value) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("services".to_string(), one());
    let ty = svc.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP");
    let ports = svc.pointer("/spec/ports").and_then(Value::as_array).map(Vec::len).unwrap_or(0) as i128;
    match ty {
        "NodePort" => {
            out.insert("services.nodeports".to_string(), Quantity::from_value(ports, QuantityFormat::DecimalSI));
        }
        "LoadBalancer" => {
            // Without node-port allocation only the ports that still hold one count.
            let node_ports = if svc.pointer("/spec/allocateLoadBalancerNodePorts").and_then(Value::as_bool) == Some(false) {
                let list = svc.pointer("/spec/ports").and_then(Value::as_array);
                list.into_iter().flatten().filter(|p| p.get("nodePort").and_then(Value::as_i64).is_some_and(|n| n != 0)).count() as i128
            } else {
                ports
            };
            out.insert("services.nodeports".to_string(), Quantity::from_value(node_ports, QuantityFormat::DecimalSI));
            out.insert("services.loadbalancers".to_string(), one());
        }
        _ => {}
    }
    out
}

fn pvc_usage(pvc: &Value) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("persistentvolumeclaims".to_string(), one());
    // The beta annotation wins over the field, as upstream's `GetPersistentVolumeClaimClass`.
    let class = pvc
        .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
        .or_else(|| pvc.pointer("/spec/storageClassName"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !class.is_empty() {
        out.insert(format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"), one());
    }
    let requested = pvc.pointer("/spec/resources/requests/storage").and_then(|q| Quantity::from_json(q).ok());
    let allocated = pvc.pointer("/status/allocatedResources/storage").and_then(|q| Quantity::from_json(q).ok());
    let storage = match (requested, allocated) {
        (Some(r), Some(a)) => Some(r.max(a)),
        (r, a) => r.or(a),
    };
    if let Some(q) = storage {
        out.insert("requests.storage".to_string(), q);
        if !class.is_empty() {
            out.insert(format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"), q);
        }
    }
    out
}

/// Upstream's pod `Constraints`: when a quota limits cpu or memory requests/limits, every
/// container and init container must state them. The error is
/// `must specify limits.cpu for: a,b; requests.memory for: c`.
pub fn pod_constraints(required: &BTreeSet<String>, pod: &Value) -> Result<(), String> {
    let required: BTreeSet<&str> = required.iter().map(String::as_str).filter(|r| POD_VALIDATION.contains(r)).collect();
    if required.is_empty() {
        return Ok(());
    }
    let mut missing: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for list in ["containers", "initContainers"] {
        for c in pod.pointer(&format!("/spec/{list}")).and_then(Value::as_array).into_iter().flatten() {
            let usage = compute_usage_helper(&container_list(c, "requests"), &container_list(c, "limits"));
            let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            for r in &required {
                if !usage.contains_key(*r) {
                    missing.entry(r).or_default().insert(name.clone());
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = missing.iter().map(|(r, names)| format!("{r} for: {}", names.iter().cloned().collect::<Vec<_>>().join(","))).collect();
    Err(format!("must specify {}", parts.join("; ")))
}

/// Whether a quota's scopes (and scopeSelector) select the object; only pods are scoped
/// (upstream's pod evaluator `Matches`); other kinds match quotas without pod-only scopes.
pub fn matches_scopes(quota: &Value, group: &str, plural: &str, obj: &Value, now: i64) -> bool {
    let mut selectors: Vec<(String, String, Vec<String>)> = quota
        .pointer("/spec/scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| (s.to_string(), "Exists".to_string(), vec![]))
        .collect();
    for e in quota.pointer("/spec/scopeSelector/matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let scope = e.get("scopeName").and_then(Value::as_str).unwrap_or("").to_string();
        let op = e.get("operator").and_then(Value::as_str).unwrap_or("").to_string();
        let values = e.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
        selectors.push((scope, op, values));
    }
    if selectors.is_empty() {
        return true;
    }
    let is_pod = group.is_empty() && plural == "pods";
    selectors.iter().all(|(scope, op, values)| is_pod && pod_matches_scope(obj, scope, op, values, now))
}

fn pod_matches_scope(pod: &Value, scope: &str, op: &str, values: &[String], _now: i64) -> bool {
    let terminating = pod.pointer("/spec/activeDeadlineSeconds").and_then(Value::as_i64).is_some_and(|s| s >= 0);
    let best_effort = is_best_effort(pod);
    match scope {
        "Terminating" => terminating,
        "NotTerminating" => !terminating,
        "BestEffort" => best_effort,
        "NotBestEffort" => !best_effort,
        "PriorityClass" => {
            let class = pod.pointer("/spec/priorityClassName").and_then(Value::as_str).unwrap_or("");
            match op {
                // Upstream matches a label set that always holds the key (the class name,
                // maybe empty): Exists asks for a non-empty name, DoesNotExist never matches.
                "Exists" => !class.is_empty(),
                "In" => values.iter().any(|v| v == class),
                "NotIn" => !values.iter().any(|v| v == class),
                _ => false,
            }
        }
        "CrossNamespacePodAffinity" => {
            let affinity = pod.pointer("/spec/affinity");
            ["podAffinity", "podAntiAffinity"].iter().any(|kind| {
                ["requiredDuringSchedulingIgnoredDuringExecution", "preferredDuringSchedulingIgnoredDuringExecution"].iter().any(|when| {
                    affinity.and_then(|a| a.pointer(&format!("/{kind}/{when}"))).and_then(Value::as_array).into_iter().flatten().any(|t| {
                        let t = t.get("podAffinityTerm").unwrap_or(t);
                        t.get("namespaces").and_then(Value::as_array).is_some_and(|n| !n.is_empty()) || t.get("namespaceSelector").is_some()
                    })
                })
            })
        }
        _ => false,
    }
}

fn is_best_effort(pod: &Value) -> bool {
    ["containers", "initContainers"].iter().all(|list| {
        pod.pointer(&format!("/spec/{list}")).and_then(Value::as_array).into_iter().flatten().all(|c| {
            ["requests", "limits"].iter().all(|f| {
                container_list(c, f).keys().all(|k| !(k == "cpu" || k == "memory" || k.starts_with("hugepages-")))
            })
        })
    })
}

/// Upstream's `SubtractWithNonNegativeResult`: `a - b`, floored at zero (an update is charged
/// only for what it adds).
pub fn subtract_non_negative(a: &ResourceList, b: &ResourceList) -> ResourceList {
    subtract(a, b).into_iter().map(|(k, v)| (k, if v.signum() < 0 { v.saturating_sub(&v) } else { v })).collect()
}

/// Names whose usage is negative (a negative request), sorted.
pub fn negative(list: &ResourceList) -> Vec<String> {
    list.iter().filter(|(_, v)| v.signum() < 0).map(|(k, _)| k.clone()).collect()
}

/// One quota's admission decision for a create costing `delta`: the new `status.used`, or
/// upstream's forbidden message (without the `pods "x" is forbidden: ` prefix).
pub fn check(quota: &Value, group: &str, plural: &str, obj: &Value, delta: &ResourceList) -> Result<Option<ResourceList>, String> {
    let name = quota.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let hard = resource_list(quota.pointer("/status/hard"));
    let used = resource_list(quota.pointer("/status/used"));
    let restricted = matching_resources(group, plural, hard.keys());
    if restricted.is_empty() {
        return Ok(None);
    }
    if group.is_empty() && plural == "pods" {
        pod_constraints(&restricted, obj).map_err(|e| format!("failed quota: {name}: {e}"))?;
    }
    if restricted.iter().any(|r| !used.contains_key(r)) {
        let names: Vec<&str> = restricted.iter().map(String::as_str).collect();
        return Err(format!("status unknown for quota: {name}, resources: {}", names.join(",")));
    }
    if delta.values().all(Quantity::is_zero) {
        return Ok(None);
    }
    let requested = mask(delta, &restricted);
    if requested.is_empty() {
        return Ok(None);
    }
    let new_used = add(&used, &requested);
    let masked: BTreeSet<String> = requested.keys().cloned().collect();
    let (ok, exceeded) = less_than_or_equal(&mask(&new_used, &masked), &hard);
    if !ok {
        let exceeded: BTreeSet<String> = exceeded.into_iter().collect();
        return Err(format!(
            "exceeded quota: {name}, requested: {}, used: {}, limited: {}",
            pretty_print(&mask(&requested, &exceeded)),
            pretty_print(&mask(&used, &exceeded)),
            pretty_print(&mask(&hard, &exceeded)),
        ));
    }
    Ok(Some(new_used))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pairs: &[(&str, &str)]) -> ResourceList {
        pairs.iter().map(|(k, v)| (k.to_string(), Quantity::parse(v).unwrap())).collect()
    }

    fn quota(hard: Value, used: Value) -> Value {
        json!({"metadata": {"name": "q"}, "spec": {"hard": hard}, "status": {"hard": hard, "used": used}})
    }

    #[test]
    fn pod_usage_sums_containers_and_init_max() {
        let pod = json!({"spec": {
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}],
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "64Mi"}, "limits": {"cpu": "1"}}},
                {"name": "b", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}},
            ]}});
        let u = usage("", "pods", &pod, 0);
        assert_eq!(u["pods"], one());
        assert_eq!(u["count/pods"], one());
        assert_eq!(u["requests.cpu"].to_string(), "2", "the init container needs more than the sum");
        assert_eq!(u["requests.memory"].to_string(), "128Mi");
        assert_eq!(u["limits.cpu"].to_string(), "1");
        let done = json!({"spec": {"containers": []}, "status": {"phase": "Succeeded"}});
        assert_eq!(usage("", "pods", &done, 0), list(&[("count/pods", "1")]));
    }

    #[test]
    fn sidecars_add_up() {
        let pod = json!({"spec": {
            "initContainers": [{"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}}],
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}});
        assert_eq!(pod_resources(&pod, "requests")["cpu"].to_string(), "2");
    }

    #[test]
    fn services_and_pvcs() {
        let svc = json!({"spec": {"type": "NodePort", "ports": [{"port": 1}, {"port": 2}]}});
        assert_eq!(usage("", "services", &svc, 0), list(&[("count/services", "1"), ("services", "1"), ("services.nodeports", "2")]));
        let pvc = json!({"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}}});
        let u = usage("", "persistentvolumeclaims", &pvc, 0);
        assert_eq!(u["requests.storage"].to_string(), "1Gi");
        assert_eq!(u["fast.storageclass.storage.k8s.io/requests.storage"].to_string(), "1Gi");
        let lb = json!({"spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false, "ports": [{"port": 1, "nodePort": 30001}, {"port": 2}]}});
        assert_eq!(pretty_print(&usage("", "services", &lb, 0)), "count/services=1,services=1,services.loadbalancers=1,services.nodeports=1");
        let annotated = json!({"metadata": {"annotations": {"volume.beta.kubernetes.io/storage-class": "old"}}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}});
        assert!(usage("", "persistentvolumeclaims", &annotated, 0).contains_key("old.storageclass.storage.k8s.io/persistentvolumeclaims"));
        assert_eq!(usage("apps", "deployments", &json!({}), 0), list(&[("count/deployments.apps", "1")]));
        assert_eq!(usage("", "configmaps", &json!({}), 0), list(&[("configmaps", "1"), ("count/configmaps", "1")]));
    }

    #[test]
    fn exceeded_message_as_upstream() {
        let q = quota(json!({"pods": "2", "configmaps": "3"}), json!({"pods": "2", "configmaps": "0"}));
        let pod = json!({"spec": {"containers": [{"name": "c"}]}});
        let err = check(&q, "", "pods", &pod, &usage("", "pods", &pod, 0)).unwrap_err();
        assert_eq!(err, "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2");
        let q = quota(json!({"pods": "2"}), json!({"pods": "1"}));
        let used = check(&q, "", "pods", &pod, &usage("", "pods", &pod, 0)).unwrap().unwrap();
        assert_eq!(pretty_print(&used), "pods=2");
        // Not counted: a ConfigMap against a pods-only quota.
        assert_eq!(check(&q, "", "configmaps", &json!({}), &usage("", "configmaps", &json!({}), 0)), Ok(None));
    }

    #[test]
    fn compute_quota_requires_containers_to_state_it() {
        let q = quota(json!({"limits.cpu": "2", "requests.memory": "1Gi"}), json!({"limits.cpu": "0", "requests.memory": "0"}));
        let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "resources": {"limits": {"cpu": "1"}}}]}});
        let err = check(&q, "", "pods", &pod, &usage("", "pods", &pod, 0)).unwrap_err();
        assert_eq!(err, "failed quota: q: must specify limits.cpu for: a; requests.memory for: a,b");
        let q = quota(json!({"requests.cpu": "1"}), json!({"requests.cpu": "500m"}));
        let pod = json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "600m"}}}]}});
        let err = check(&q, "", "pods", &pod, &usage("", "pods", &pod, 0)).unwrap_err();
        assert_eq!(err, "exceeded quota: q, requested: requests.cpu=600m, used: requests.cpu=500m, limited: requests.cpu=1");
    }

    #[test]
    fn status_unknown_until_the_controller_fills_used() {
        let q = json!({"metadata": {"name": "q"}, "status": {"hard": {"pods": "1"}}});
        let pod = json!({"spec": {"containers": []}});
        assert_eq!(check(&q, "", "pods", &pod, &usage("", "pods", &pod, 0)).unwrap_err(), "status unknown for quota: q, resources: pods");
        let q = json!({"metadata": {"name": "q"}, "status": {"hard": {"pods": "1", "count/pods": "1", "secrets": "1"}, "used": {"pods": "0"}}});
        assert_eq!(check(&q, "", "pods", &pod, &usage("", "pods", &pod, 0)).unwrap_err(), "status unknown for quota: q, resources: count/pods,pods");
        let grown = list(&[("requests.storage", "1Gi"), ("persistentvolumeclaims", "1")]);
        let before = list(&[("requests.storage", "2Gi"), ("persistentvolumeclaims", "1")]);
        assert_eq!(pretty_print(&subtract_non_negative(&grown, &before)), "persistentvolumeclaims=0,requests.storage=0");
        assert_eq!(negative(&list(&[("cpu", "-1"), ("pods", "1")])), vec!["cpu".to_string()]);
    }

    #[test]
    fn scopes() {
        let be = json!({"spec": {"containers": [{"name": "a"}]}});
        let burst = json!({"spec": {"activeDeadlineSeconds": 5, "priorityClassName": "high", "containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}});
        let scoped = |scopes: Value| json!({"spec": {"scopes": scopes}});
        assert!(matches_scopes(&scoped(json!(["BestEffort"])), "", "pods", &be, 0));
        assert!(!matches_scopes(&scoped(json!(["BestEffort"])), "", "pods", &burst, 0));
        assert!(matches_scopes(&scoped(json!(["NotBestEffort", "Terminating"])), "", "pods", &burst, 0));
        assert!(!matches_scopes(&scoped(json!(["Terminating"])), "", "pods", &be, 0));
        let sel = json!({"spec": {"scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}});
        assert!(matches_scopes(&sel, "", "pods", &burst, 0));
        assert!(!matches_scopes(&sel, "", "pods", &be, 0));
        assert!(!matches_scopes(&scoped(json!(["BestEffort"])), "", "configmaps", &json!({}), 0));
        assert!(matches_scopes(&json!({"spec": {}}), "", "configmaps", &json!({}), 0));
    }
}
