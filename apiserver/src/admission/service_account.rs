//! ServiceAccount admission (upstream `plugin/pkg/admission/serviceaccount`), for pod creates:
//! defaults `spec.serviceAccountName` to "default", copies the account's imagePullSecrets when
//! the pod has none, and, unless `automountServiceAccountToken` (pod first, then account) is
//! false, adds the `kube-api-access-xxxxx` projected volume (a pod-bound token, the
//! `kube-root-ca.crt` ConfigMap's ca.crt and the namespace) mounted read-only at
//! /var/run/secrets/kubernetes.io/serviceaccount in every container and init container that
//! does not already mount something there. Mirror pods are left alone.
//!
//! One deliberate difference: upstream forbids the pod while its ServiceAccount does not
//! exist yet (the ServiceAccount controller creates "default"); here such a pod is admitted
//! without the token volume, so a cluster running no controller-manager still runs pods.

use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};
use crate::http::Shared;
use crate::registry::meta;
use crate::resources::ResourceInfo;

/// The account pods run as when they name none.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// Prefix of the generated volume's name.
pub const VOLUME_PREFIX: &str = "kube-api-access-";
/// Where containers see the token, CA and namespace.
pub const MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The ConfigMap the root-ca-cert-publisher keeps in every namespace.
pub const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";
/// The token lifetime asked for (upstream's WarnOnlyBoundTokenExpirationSeconds).
pub const TOKEN_EXPIRATION_SECONDS: i64 = 3607;
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// The projected volume source upstream's `TokenVolumeSource` builds.
pub fn token_volume_source() -> Value {
    json!({
        "sources": [
            { "serviceAccountToken": { "expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token" } },
            { "configMap": { "name": ROOT_CA_CONFIG_MAP, "items": [{ "key": "ca.crt", "path": "ca.crt" }] } },
            { "downwardAPI": { "items": [{ "path": "namespace", "fieldRef": { "apiVersion": "v1", "fieldPath": "metadata.namespace" } }] } },
        ],
        "defaultMode": 420,
    })
}

/// Whether the token is mounted: the pod's setting wins, then the account's, else true.
pub fn should_automount(sa: &Value, pod: &Value) -> bool {
    pod.pointer("/spec/automountServiceAccountToken")
        .and_then(Value::as_bool)
        .or_else(|| sa.get("automountServiceAccountToken").and_then(Value::as_bool))
        .unwrap_or(true)
}

/// Adds the volume and the mounts (pure; `volume_name` is used when the pod has no
/// `kube-api-access-` volume yet).
pub fn mount_token(pod: &mut Value, volume_name: &str) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else { return };
    let existing = spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .find(|n| n.starts_with(VOLUME_PREFIX))
        .map(str::to_string);
    let name = existing.clone().unwrap_or_else(|| volume_name.to_string());
    let mut needs_volume = false;
    for list in ["initContainers", "containers"] {
        for c in spec.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
            let Some(c) = c.as_object_mut() else { continue };
            let mounts = c.entry("volumeMounts").or_insert_with(|| json!([]));
            let Some(mounts) = mounts.as_array_mut() else { continue };
            if mounts.iter().any(|m| m.get("mountPath").and_then(Value::as_str) == Some(MOUNT_PATH)) {
                continue;
            }
            mounts.push(json!({ "name": name, "readOnly": true, "mountPath": MOUNT_PATH }));
            needs_volume = true;
        }
    }
    if existing.is_none() && needs_volume {
        let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
        if let Some(v) = volumes.as_array_mut() {
            v.push(json!({ "name": name, "projected": token_volume_source() }));
        }
    }
}

/// Runs the plugin on a create.
pub async fn admit(state: &Shared, info: &ResourceInfo, pod: &mut Value) -> ApiResult<()> {
    let is_pod = info.group.is_empty() && info.plural == "pods";
    if !is_pod || !pod.get("spec").is_some_and(Value::is_object) {
        return Ok(());
    }
    if pod.pointer("/metadata/annotations").and_then(|a| a.get(MIRROR_ANNOTATION)).is_some() {
        return Ok(());
    }
    let sa_name = match pod.pointer("/spec/serviceAccountName").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        Some(n) => n.to_string(),
        None => {
            pod["spec"]["serviceAccountName"] = json!(DEFAULT_SERVICE_ACCOUNT);
            DEFAULT_SERVICE_ACCOUNT.to_string()
        }
    };
    let ns = meta::meta_str(pod, "namespace").unwrap_or("default").to_string();
    let snap = state.catalog.snapshot();
    let Some(sa_info) = snap.find("", "v1", "serviceaccounts") else { return Ok(()) };
    let sa = match state.store.get(&sa_info, Some(&ns), &sa_name).await {
        Ok(sa) => sa,
        Err(e) if e.code == 404 => {
            tracing::debug!(namespace = %ns, service_account = %sa_name, "service account not found; pod admitted without a token volume");
            return Ok(());
        }
        Err(e) => {
            let pod_name = meta::meta_str(pod, "name").unwrap_or("");
            return Err(ApiError::forbidden(info, pod_name, &format!("error looking up service account {ns}/{sa_name}: {}", e.message)));
        }
    };
    if should_automount(&sa, pod) {
        mount_token(pod, &meta::generate_name(VOLUME_PREFIX));
    }
    let has_pull_secrets = pod.pointer("/spec/imagePullSecrets").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    if !has_pull_secrets {
        let secrets: Vec<Value> = sa
            .get("imagePullSecrets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| json!({ "name": s.get("name").cloned().unwrap_or(json!("")) }))
            .collect();
        if !secrets.is_empty() {
            pod["spec"]["imagePullSecrets"] = Value::Array(secrets);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_in_every_container_once() {
        let mut pod = json!({"spec": {
            "initContainers": [{"name": "i", "image": "x"}],
            "containers": [
                {"name": "a", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
                {"name": "b", "image": "x", "volumeMounts": [{"name": "own", "mountPath": MOUNT_PATH}]},
            ],
            "volumes": [{"name": "data", "emptyDir": {}}],
        }});
        mount_token(&mut pod, "kube-api-access-abcde");
        let mount = json!({"name": "kube-api-access-abcde", "readOnly": true, "mountPath": MOUNT_PATH});
        assert_eq!(pod["spec"]["initContainers"][0]["volumeMounts"], json!([mount]));
        assert_eq!(pod["spec"]["containers"][0]["volumeMounts"][1], mount);
        assert_eq!(pod["spec"]["containers"][1]["volumeMounts"].as_array().unwrap().len(), 1, "an existing mount at the path wins");
        assert_eq!(pod["spec"]["volumes"][1], json!({"name": "kube-api-access-abcde", "projected": token_volume_source()}));
        // Idempotent: the existing volume is reused.
        let before = pod.clone();
        mount_token(&mut pod, "kube-api-access-zzzzz");
        assert_eq!(pod, before);
    }

    #[test]
    fn no_volume_when_every_container_mounts_the_path() {
        let mut pod = json!({"spec": {"containers": [{"name": "b", "image": "x", "volumeMounts": [{"name": "own", "mountPath": MOUNT_PATH}]}]}});
        mount_token(&mut pod, "kube-api-access-abcde");
        assert!(pod["spec"].get("volumes").is_none());
    }

    #[test]
    fn automount_precedence() {
        let sa_off = json!({"automountServiceAccountToken": false});
        let pod_on = json!({"spec": {"automountServiceAccountToken": true}});
        assert!(should_automount(&sa_off, &pod_on));
        assert!(!should_automount(&sa_off, &json!({"spec": {}})));
        assert!(should_automount(&json!({}), &json!({"spec": {}})));
        assert!(!should_automount(&json!({}), &json!({"spec": {"automountServiceAccountToken": false}})));
    }
}
