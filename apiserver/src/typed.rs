//! Typed checks of request bodies against the k8s-openapi types: wrong JSON types are a 400
//! as upstream's decoder gives, and unknown fields are pruned, warned about or rejected
//! according to `fieldValidation` (Ignore, Warn, Strict).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::resources::ResourceInfo;

type RoundTrip = fn(&Value) -> Result<Value, String>;

fn round_trip<T: DeserializeOwned + Serialize>(v: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// The typed round trip of a built-in kind; `None` for custom resources.
pub fn round_trip_for(group: &str, kind: &str) -> Option<RoundTrip> {
    use k8s_openapi::api::{
        apps::v1 as apps, authentication::v1 as authn, authorization::v1 as authz, batch::v1 as batch,
        coordination::v1 as coord, core::v1 as core, discovery::v1 as disc, events::v1 as events,
        networking::v1 as net, policy::v1 as policy, rbac::v1 as rbac, scheduling::v1 as sched,
        storage::v1 as storage,
    };
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
    let f: RoundTrip = match (group, kind) {
        ("", "Binding") => round_trip::<core::Binding>,
        ("", "ConfigMap") => round_trip::<core::ConfigMap>,
        ("", "Endpoints") => round_trip::<core::Endpoints>,
        ("", "Event") => round_trip::<core::Event>,
        ("", "LimitRange") => round_trip::<core::LimitRange>,
        ("", "Namespace") => round_trip::<core::Namespace>,
        ("", "Node") => round_trip::<core::Node>,
        ("", "PersistentVolumeClaim") => round_trip::<core::PersistentVolumeClaim>,
        ("", "PersistentVolume") => round_trip::<core::PersistentVolume>,
        ("", "Pod") => round_trip::<core::Pod>,
        ("", "PodTemplate") => round_trip::<core::PodTemplate>,
        ("", "ReplicationController") => round_trip::<core::ReplicationController>,
        ("", "ResourceQuota") => round_trip::<core::ResourceQuota>,
        ("", "Secret") => round_trip::<core::Secret>,
        ("", "ServiceAccount") => round_trip::<core::ServiceAccount>,
        ("", "Service") => round_trip::<core::Service>,
        ("apps", "ControllerRevision") => round_trip::<apps::ControllerRevision>,
        ("apps", "DaemonSet") => round_trip::<apps::DaemonSet>,
        ("apps", "Deployment") => round_trip::<apps::Deployment>,
        ("apps", "ReplicaSet") => round_trip::<apps::ReplicaSet>,
        ("apps", "StatefulSet") => round_trip::<apps::StatefulSet>,
        ("authentication.k8s.io", "SelfSubjectReview") => round_trip::<authn::SelfSubjectReview>,
        ("authentication.k8s.io", "TokenReview") => round_trip::<authn::TokenReview>,
        ("authorization.k8s.io", "LocalSubjectAccessReview") => round_trip::<authz::LocalSubjectAccessReview>,
        ("authorization.k8s.io", "SelfSubjectAccessReview") => round_trip::<authz::SelfSubjectAccessReview>,
        ("authorization.k8s.io", "SelfSubjectRulesReview") => round_trip::<authz::SelfSubjectRulesReview>,
        ("authorization.k8s.io", "SubjectAccessReview") => round_trip::<authz::SubjectAccessReview>,
        ("batch", "CronJob") => round_trip::<batch::CronJob>,
        ("batch", "Job") => round_trip::<batch::Job>,
        ("coordination.k8s.io", "Lease") => round_trip::<coord::Lease>,
        ("discovery.k8s.io", "EndpointSlice") => round_trip::<disc::EndpointSlice>,
        ("events.k8s.io", "Event") => round_trip::<events::Event>,
        ("networking.k8s.io", "IngressClass") => round_trip::<net::IngressClass>,
        ("networking.k8s.io", "Ingress") => round_trip::<net::Ingress>,
        ("networking.k8s.io", "NetworkPolicy") => round_trip::<net::NetworkPolicy>,
        ("policy", "PodDisruptionBudget") => round_trip::<policy::PodDisruptionBudget>,
        ("policy", "Eviction") => round_trip::<policy::Eviction>,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => round_trip::<rbac::ClusterRoleBinding>,
        ("rbac.authorization.k8s.io", "ClusterRole") => round_trip::<rbac::ClusterRole>,
        ("rbac.authorization.k8s.io", "RoleBinding") => round_trip::<rbac::RoleBinding>,
        ("rbac.authorization.k8s.io", "Role") => round_trip::<rbac::Role>,
        ("scheduling.k8s.io", "PriorityClass") => round_trip::<sched::PriorityClass>,
        ("storage.k8s.io", "StorageClass") => round_trip::<storage::StorageClass>,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => round_trip::<apiext::CustomResourceDefinition>,
        ("autoscaling", "Scale") => round_trip::<k8s_openapi::api::autoscaling::v1::Scale>,
        _ => return None,
    };
    Some(f)
}

/// Checks a body against its type: a 400 for wrong JSON types; unknown fields are
/// rejected (Strict), reported as warnings (Warn) or silently dropped (Ignore). Returns
/// the warnings; the unknown fields are removed from `obj` in every mode but Strict.
pub fn check_fields(info: &ResourceInfo, obj: &mut Value, mode: &str) -> ApiResult<Vec<String>> {
    let unknown = match round_trip_for(&info.group, &info.kind) {
        Some(f) => {
            let typed = f(obj).map_err(|e| {
                ApiError::bad_request(format!(
                    "{} in version \"{}\" cannot be handled as a {}: {}",
                    info.kind, info.version, info.kind, e
                ))
            })?;
            let mut found = Vec::new();
            unknown_paths(obj, &typed, "", &mut found);
            found
        }
        None => match &info.schema {
            Some(schema) => crate::resources::custom::unknown_fields(schema, obj),
            None => vec![],
        },
    };
    if unknown.is_empty() {
        return Ok(vec![]);
    }
    let messages: Vec<String> = unknown.iter().map(|p| format!("unknown field \"{p}\"")).collect();
    match mode {
        "Strict" => Err(ApiError::bad_request(format!("strict decoding error: {}", messages.join(", ")))),
        _ => {
            for p in &unknown {
                remove_path(obj, p);
            }
            Ok(if mode == "Warn" { messages } else { vec![] })
        }
    }
}

/// Collects paths present (non-null) in `orig` but dropped by the typed round trip.
fn unknown_paths(orig: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
    match (orig, typed) {
        (Value::Object(o), Value::Object(t)) => {
            for (k, v) in o {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match t.get(k) {
                    None if !v.is_null() => out.push(p),
                    Some(tv) => unknown_paths(v, tv, &p, out),
                    None => {}
                }
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            for (i, (v, tv)) in o.iter().zip(t.iter()).enumerate() {
                unknown_paths(v, tv, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Removes a dotted path with `[i]` indexes from an object.
pub fn remove_path(obj: &mut Value, path: &str) {
    let mut segments: Vec<String> = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            segments.push(rest[..i].to_string());
            rest = &rest[i..];
            while let Some(end) = rest.find(']') {
                segments.push(rest[..=end].to_string());
                rest = &rest[end + 1..];
            }
        } else {
            segments.push(rest.to_string());
        }
    }
    let Some((last, parents)) = segments.split_last() else { return };
    let mut cur = obj;
    for s in parents {
        let next = if let Some(idx) = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            idx.parse::<usize>().ok().and_then(|i| cur.get_mut(i))
        } else {
            cur.get_mut(s.as_str())
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(m) = cur.as_object_mut() {
        m.remove(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_unknown_fields_in_nested_lists() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "bogus": 1},
            "spec": {"containers": [{"name": "c", "image": "i", "colour": "red"}]}});
        let typed = round_trip_for("", "Pod").unwrap()(&pod).unwrap();
        let mut found = vec![];
        unknown_paths(&pod, &typed, "", &mut found);
        assert_eq!(found, vec!["metadata.bogus", "spec.containers[0].colour"]);
        let mut p = pod.clone();
        remove_path(&mut p, "spec.containers[0].colour");
        assert!(p.pointer("/spec/containers/0/colour").is_none());
    }

    #[test]
    fn wrong_types_fail_the_round_trip() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"replicas": "three"}});
        assert!(round_trip_for("apps", "Deployment").unwrap()(&d).is_err());
    }
}
