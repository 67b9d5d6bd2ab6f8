//! Service-account tokens for projected `serviceAccountToken` sources (upstream's kubelet
//! token manager): one TokenRequest per (pod, service account, audience, lifetime), bound to
//! the pod, cached and asked for again once 80% of its lifetime has passed (or after 24 h).
//! The pod worker re-projects volumes every resync, so a refreshed token reaches the files.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount, ServiceAccountTokenProjection};
use kube::api::{Api, PostParams};

/// Lifetime asked for when a source sets none (the API default).
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
/// A token is refreshed after this long even if it is still valid.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// Up to this much earlier, so many pods do not refresh at the same instant.
pub const MAX_JITTER: Duration = Duration::from_secs(10);

/// The key of a source in `VolumeData::tokens`: its audience and lifetime.
pub fn source_key(src: &ServiceAccountTokenProjection) -> String {
    format!("{}|{}", src.audience.as_deref().unwrap_or(""), src.expiration_seconds.unwrap_or(DEFAULT_EXPIRATION_SECONDS))
}

/// The distinct token sources of the pod's projected volumes.
pub fn sources(pod: &Pod) -> Vec<ServiceAccountTokenProjection> {
    let mut out: Vec<ServiceAccountTokenProjection> = vec![];
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten();
    for src in volumes.filter_map(|v| v.projected.as_ref()).flat_map(|p| p.sources.iter().flatten()) {
        if let Some(t) = &src.service_account_token {
            if !out.iter().any(|o| source_key(o) == source_key(t)) {
                out.push(t.clone());
            }
        }
    }
    out
}

/// Upstream's rule: refresh once past 80% of the lifetime (the last 20% before `expires`), or
/// 24 h after issue, each moved `jitter` earlier.
pub fn requires_refresh(now: SystemTime, expires: SystemTime, lifetime: Duration, jitter: Duration) -> bool {
    let issued = expires - lifetime;
    now + jitter > issued + MAX_TTL || now + jitter > expires - lifetime / 5
}

#[derive(Clone)]
struct Cached {
    token: String,
    expires: SystemTime,
    lifetime: Duration,
}

/// The node's token cache.
#[derive(Default)]
pub struct Manager {
    cache: Mutex<HashMap<String, Cached>>,
}

/// A pseudo-random jitter below MAX_JITTER (from the clock's nanoseconds).
fn jitter() -> Duration {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    Duration::from_millis(u64::from(nanos) % MAX_JITTER.as_millis() as u64)
}

impl Manager {
    /// The tokens the pod's sources need, by [`source_key`]: cached ones while fresh, new
    /// ones otherwise.
    pub async fn for_pod(&self, client: &kube::Client, pod: &Pod) -> Result<BTreeMap<String, String>, String> {
        let mut out = BTreeMap::new();
        let srcs = sources(pod);
        if srcs.is_empty() {
            return Ok(out);
        }
        let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let name = pod.metadata.name.clone().unwrap_or_default();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let sa = pod.spec.as_ref().and_then(|s| s.service_account_name.clone()).filter(|s| !s.is_empty()).unwrap_or_else(|| "default".into());
        let now = SystemTime::now();
        for src in srcs {
            let key = format!("{ns}/{sa}/{uid}/{}", source_key(&src));
            let cached = self.cache.lock().expect("token cache").get(&key).cloned();
            if let Some(c) = cached.filter(|c| !requires_refresh(now, c.expires, c.lifetime, jitter())) {
                out.insert(source_key(&src), c.token);
                continue;
            }
            let fresh = request(client, &ns, &sa, &name, &uid, &src).await.map_err(|e| {
                format!("failed to fetch token: {}", match &e {
                    kube::Error::Api(s) => s.message.clone(),
                    other => other.to_string(),
                })
            })?;
            tracing::debug!(pod = %name, namespace = %ns, "fetched a service account token");
            out.insert(source_key(&src), fresh.token.clone());
            let mut cache = self.cache.lock().expect("token cache");
            cache.retain(|_, c| c.expires > now);
            cache.insert(key, fresh);
        }
        Ok(out)
    }
}

async fn request(client: &kube::Client, ns: &str, sa: &str, pod: &str, uid: &str, src: &ServiceAccountTokenProjection) -> Result<Cached, kube::Error> {
    let lifetime = src.expiration_seconds.unwrap_or(DEFAULT_EXPIRATION_SECONDS);
    let tr = TokenRequest {
        spec: TokenRequestSpec {
            audiences: src.audience.iter().filter(|a| !a.is_empty()).cloned().collect(),
            expiration_seconds: Some(lifetime),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(pod.into()),
                uid: Some(uid.into()),
            }),
        },
        ..Default::default()
    };
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let out: TokenRequest = api.create_subresource("token", sa, &PostParams::default(), &tr).await?;
    let Some(status) = out.status.filter(|s| !s.token.is_empty()) else {
        return Err(kube::Error::Service("no token in server response".into()));
    };
    let lifetime = Duration::from_secs(out.spec.expiration_seconds.unwrap_or(lifetime).max(0) as u64);
    let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(status.expiration_timestamp.0.as_second().max(0) as u64);
    Ok(Cached { token: status.token, expires, lifetime })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refresh_after_eighty_percent_or_a_day() {
        let issued = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = Duration::from_secs(3600);
        let expires = issued + hour;
        let at = |s: u64| issued + Duration::from_secs(s);
        assert!(!requires_refresh(at(0), expires, hour, Duration::ZERO));
        assert!(!requires_refresh(at(2879), expires, hour, Duration::ZERO));
        assert!(requires_refresh(at(2881), expires, hour, Duration::ZERO));
        assert!(requires_refresh(at(2875), expires, hour, MAX_JITTER), "jitter refreshes a little earlier");
        let year = Duration::from_secs(365 * 24 * 3600);
        assert!(!requires_refresh(at(23 * 3600), issued + year, year, Duration::ZERO));
        assert!(requires_refresh(at(24 * 3600 + 1), issued + year, year, Duration::ZERO));
    }

    #[test]
    fn distinct_sources() {
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [], "volumes": [
            {"name": "a", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}]}},
            {"name": "b", "projected": {"sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 3607}},
                                                      {"serviceAccountToken": {"path": "v", "audience": "vault"}}]}},
            {"name": "c", "emptyDir": {}},
        ]}}))
        .unwrap();
        let keys: Vec<String> = sources(&pod).iter().map(source_key).collect();
        assert_eq!(keys, vec!["|3607", "vault|3600"]);
    }
}
