//! LimitRanger (upstream `plugin/pkg/admission/limitranger`): a pod created in a namespace
//! with LimitRanges gets each range's Container `default` limits and `defaultRequest`
//! requests where its containers state none (recorded in the `kubernetes.io/limit-ranger`
//! annotation), then pods and PersistentVolumeClaims are checked against every range's
//! min / max / maxLimitRequestRatio for the Container, Pod and PersistentVolumeClaim types.

use serde_json::{json, Map, Value};

use rkube_apimachinery::quantity::Quantity;
use rkube_apimachinery::quota::{pod_resources, resource_list, ResourceList};

use crate::errors::{ApiError, ApiResult};
use crate::http::Shared;
use crate::registry::meta;
use crate::resources::ResourceInfo;

/// The annotation naming what the plugin set.
pub const ANNOTATION: &str = "kubernetes.io/limit-ranger";

/// Runs the plugin on a create of a pod or PVC.
pub async fn admit(state: &Shared, info: &ResourceInfo, obj: &mut Value) -> ApiResult<()> {
    let is_pod = info.group.is_empty() && info.plural == "pods";
    let is_pvc = info.group.is_empty() && info.plural == "persistentvolumeclaims";
    if !(is_pod || is_pvc) {
        return Ok(());
    }
    let Some(ns) = meta::meta_str(obj, "namespace").map(str::to_string) else { return Ok(()) };
    let snap = state.catalog.snapshot();
    let Some(lr_info) = snap.find("", "v1", "limitranges") else { return Ok(()) };
    let ranges = state.store.list(&lr_info, Some(&ns), &Default::default()).await?.items;
    if ranges.is_empty() {
        return Ok(());
    }
    let mut errors = Vec::new();
    for range in &ranges {
        if is_pod {
            mutate_pod(range, obj);
            errors.extend(validate_pod(range, obj));
        } else {
            errors.extend(validate_pvc(range, obj));
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let name = meta::meta_str(obj, "name").unwrap_or("");
    Err(ApiError::forbidden(info, name, &aggregate(errors)))
}

/// Runs the plugin on an update: claims are validated again (pods are not: their containers'
/// resources do not change through updates), as upstream.
pub async fn admit_update(state: &Shared, info: &ResourceInfo, obj: &mut Value) -> ApiResult<()> {
    if info.group.is_empty() && info.plural == "persistentvolumeclaims" {
        return admit(state, info, obj).await;
    }
    Ok(())
}

/// Upstream's error aggregate text: one message alone, several as `[a, b]`, duplicates once.
pub fn aggregate(errors: Vec<String>) -> String {
    let mut seen = Vec::new();
    for e in errors {
        if !seen.contains(&e) {
            seen.push(e);
        }
    }
    if seen.len() == 1 {
        seen.remove(0)
    } else {
        format!("[{}]", seen.join(", "))
    }
}

fn items<'a>(range: &'a Value, ty: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    range
        .pointer("/spec/limits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |l| l.get("type").and_then(Value::as_str) == Some(ty))
}

/// Applies the range's Container defaults to the pod's containers (upstream
/// `PodMutateLimitFunc`), annotating what was set.
pub fn mutate_pod(range: &Value, pod: &mut Value) {
    let mut default_limits = Map::new();
    let mut default_requests = Map::new();
    for item in items(range, "Container") {
        for (field, target) in [("default", &mut default_limits), ("defaultRequest", &mut default_requests)] {
            for (k, v) in item.get(field).and_then(Value::as_object).into_iter().flatten() {
                target.insert(k.clone(), v.clone());
            }
        }
    }
    let mut notes = Vec::new();
    for (list, prefix) in [("containers", "container"), ("initContainers", "init container")] {
        let Some(cs) = pod.pointer_mut(&format!("/spec/{list}")).and_then(Value::as_array_mut) else { continue };
        for c in cs {
            let Some(c) = c.as_object_mut() else { continue };
            let cname = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            // Upstream's API defaulting (requests from limits) has already run at decode time.
            let res = c.entry("resources").or_insert_with(|| json!({}));
            if !res.is_object() {
                *res = json!({});
            }
            let res = res.as_object_mut().expect("object");
            if let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() {
                let req = res.entry("requests").or_insert_with(|| json!({}));
                if let Some(req) = req.as_object_mut() {
                    for (k, v) in limits {
                        req.entry(k).or_insert(v);
                    }
                }
            }
            let mut set_limits = Vec::new();
            let mut set_requests = Vec::new();
            for (field, defaults, set) in [("limits", &default_limits, &mut set_limits), ("requests", &default_requests, &mut set_requests)] {
                if defaults.is_empty() {
                    continue;
                }
                let target = res.entry(field).or_insert_with(|| json!({}));
                if !target.is_object() {
                    *target = json!({});
                }
                let target = target.as_object_mut().expect("object");
                for (k, v) in defaults {
                    if !target.contains_key(k) {
                        target.insert(k.clone(), v.clone());
                        set.push(k.clone());
                    }
                }
            }
            set_requests.sort();
            set_limits.sort();
            if !set_requests.is_empty() {
                notes.push(format!("{} request for {prefix} {cname}", set_requests.join(", ")));
            }
            if !set_limits.is_empty() {
                notes.push(format!("{} limit for {prefix} {cname}", set_limits.join(", ")));
            }
        }
    }
    if notes.is_empty() {
        return;
    }
    let Some(m) = pod.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let ann = m.entry("annotations").or_insert_with(|| json!({}));
    if !ann.is_object() {
        *ann = json!({});
    }
    ann[ANNOTATION] = json!(format!("LimitRanger plugin set: {}", notes.join("; ")));
}

/// Upstream compares milli-values when all three fit, else whole values; nanos are exact.
fn values(req: Option<&Quantity>, lim: Option<&Quantity>, enforced: &Quantity) -> (i128, i128, i128) {
    (req.map(Quantity::nanos).unwrap_or(0), lim.map(Quantity::nanos).unwrap_or(0), enforced.nanos())
}

fn min_constraint(ty: &str, r: &str, enforced: &Quantity, requests: &ResourceList, limits: &ResourceList) -> Option<String> {
    let (req, lim) = (requests.get(r), limits.get(r));
    let (rv, lv, ev) = values(req, lim, enforced);
    let Some(req) = req else {
        return Some(format!("minimum {r} usage per {ty} is {enforced}.  No request is specified"));
    };
    if rv < ev {
        return Some(format!("minimum {r} usage per {ty} is {enforced}, but request is {req}"));
    }
    match lim {
        Some(lim) if lv < ev => Some(format!("minimum {r} usage per {ty} is {enforced}, but limit is {lim}")),
        _ => None,
    }
}

fn max_constraint(ty: &str, r: &str, enforced: &Quantity, requests: &ResourceList, limits: &ResourceList) -> Option<String> {
    let (req, lim) = (requests.get(r), limits.get(r));
    let (rv, lv, ev) = values(req, lim, enforced);
    let Some(lim) = lim else {
        return Some(format!("maximum {r} usage per {ty} is {enforced}.  No limit is specified"));
    };
    if lv > ev {
        return Some(format!("maximum {r} usage per {ty} is {enforced}, but limit is {lim}"));
    }
    match req {
        Some(req) if rv > ev => Some(format!("maximum {r} usage per {ty} is {enforced}, but request is {req}")),
        _ => None,
    }
}

fn max_request_constraint(ty: &str, r: &str, enforced: &Quantity, requests: &ResourceList) -> Option<String> {
    let Some(req) = requests.get(r) else {
        return Some(format!("maximum {r} usage per {ty} is {enforced}.  No request is specified"));
    };
    (req.nanos() > enforced.nanos()).then(|| format!("maximum {r} usage per {ty} is {enforced}, but request is {req}"))
}

fn ratio_constraint(ty: &str, r: &str, enforced: &Quantity, requests: &ResourceList, limits: &ResourceList) -> Option<String> {
    let (rv, lv, _) = values(requests.get(r), limits.get(r), enforced);
    if rv == 0 {
        return Some(format!("{r} max limit to request ratio per {ty} is {enforced}, but no request is specified or request is 0"));
    }
    if lv == 0 {
        return Some(format!("{r} max limit to request ratio per {ty} is {enforced}, but no limit is specified or limit is 0"));
    }
    let observed = lv as f64 / rv as f64;
    let max = enforced.nanos() as f64 / 1e9;
    (observed > max + f64::EPSILON * max.abs().max(1.0)).then(|| format!("{r} max limit to request ratio per {ty} is {enforced}, but provided ratio is {observed:.6}"))
}

fn check_all(item: &Value, ty: &str, requests: &ResourceList, limits: &ResourceList, errors: &mut Vec<String>) {
    for (k, v) in resource_list(item.get("min")) {
        errors.extend(min_constraint(ty, &k, &v, requests, limits));
    }
    for (k, v) in resource_list(item.get("max")) {
        errors.extend(max_constraint(ty, &k, &v, requests, limits));
    }
    for (k, v) in resource_list(item.get("maxLimitRequestRatio")) {
        errors.extend(ratio_constraint(ty, &k, &v, requests, limits));
    }
}

/// Checks a pod against one range (upstream `PodValidateLimitFunc`).
pub fn validate_pod(range: &Value, pod: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    for item in range.pointer("/spec/limits").and_then(Value::as_array).into_iter().flatten() {
        match item.get("type").and_then(Value::as_str) {
            Some("Container") => {
                for list in ["containers", "initContainers"] {
                    for c in pod.pointer(&format!("/spec/{list}")).and_then(Value::as_array).into_iter().flatten() {
                        let requests = resource_list(c.pointer("/resources/requests"));
                        let limits = resource_list(c.pointer("/resources/limits"));
                        check_all(item, "Container", &requests, &limits, &mut errors);
                    }
                }
            }
            Some("Pod") => {
                check_all(item, "Pod", &pod_resources(pod, "requests"), &pod_resources(pod, "limits"), &mut errors);
            }
            _ => {}
        }
    }
    errors
}

/// Checks a PVC's storage request against one range (upstream `PersistentVolumeClaim` type).
pub fn validate_pvc(range: &Value, pvc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let requests = resource_list(pvc.pointer("/spec/resources/requests"));
    for item in items(range, "PersistentVolumeClaim") {
        for (k, v) in resource_list(item.get("min")) {
            errors.extend(min_constraint("PersistentVolumeClaim", &k, &v, &requests, &ResourceList::new()));
        }
        for (k, v) in resource_list(item.get("max")) {
            errors.extend(max_request_constraint("PersistentVolumeClaim", &k, &v, &requests));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range() -> Value {
        json!({"spec": {"limits": [
            {"type": "Container", "default": {"cpu": "500m", "memory": "128Mi"}, "defaultRequest": {"cpu": "100m", "memory": "64Mi"}, "max": {"cpu": "1"}, "min": {"cpu": "50m"}, "maxLimitRequestRatio": {"cpu": "5"}},
            {"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"}, "min": {"storage": "1Gi"}},
        ]}})
    }

    #[test]
    fn defaults_and_annotation() {
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "i"}],
            "containers": [{"name": "a"}, {"name": "b", "resources": {"limits": {"cpu": "200m"}}}]}});
        mutate_pod(&range(), &mut pod);
        assert_eq!(pod["spec"]["containers"][0]["resources"], json!({"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}}));
        assert_eq!(pod["spec"]["containers"][1]["resources"], json!({"limits": {"cpu": "200m", "memory": "128Mi"}, "requests": {"cpu": "200m", "memory": "64Mi"}}));
        assert_eq!(
            pod["metadata"]["annotations"][ANNOTATION],
            "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a; memory request for container b; memory limit for container b; cpu, memory request for init container i; cpu, memory limit for init container i"
        );
        assert!(validate_pod(&range(), &pod).is_empty());
    }

    #[test]
    fn messages_as_upstream() {
        let pod = json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "2"}, "requests": {"cpu": "100m"}}}]}});
        assert_eq!(validate_pod(&range(), &pod), vec![
            "maximum cpu usage per Container is 1, but limit is 2".to_string(),
            "cpu max limit to request ratio per Container is 5, but provided ratio is 20.000000".to_string(),
        ]);
        let pod = json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "10m"}}}]}});
        assert_eq!(validate_pod(&range(), &pod), vec![
            "minimum cpu usage per Container is 50m, but request is 10m".to_string(),
            "maximum cpu usage per Container is 1.  No limit is specified".to_string(),
            "cpu max limit to request ratio per Container is 5, but no limit is specified or limit is 0".to_string(),
        ]);
        let pod_range = json!({"spec": {"limits": [{"type": "Pod", "max": {"memory": "1Gi"}}]}});
        let pod = json!({"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"memory": "768Mi"}}},
            {"name": "b", "resources": {"limits": {"memory": "512Mi"}}}]}});
        assert_eq!(validate_pod(&pod_range, &pod), vec!["maximum memory usage per Pod is 1Gi, but limit is 1280Mi".to_string()]);
        let pvc = json!({"spec": {"resources": {"requests": {"storage": "5Gi"}}}});
        assert_eq!(validate_pvc(&range(), &pvc), vec!["maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi".to_string()]);
        assert_eq!(aggregate(vec!["a".into(), "b".into(), "a".into()]), "[a, b]");
        assert_eq!(aggregate(vec!["a".into(), "a".into()]), "a");
    }
}
