//! Stable identities of StatefulSet pods (upstream `stateful_set_utils.go`): names
//! `<set>-<ordinal>`, the hostname/subdomain pair, identity labels, and the PVCs made from
//! `volumeClaimTemplates` named `<claim>-<set>-<ordinal>`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, Volume};

/// The label naming a pod of a StatefulSet.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// The label holding a pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// The name of the pod with `ordinal`.
pub fn pod_name(set: &str, ordinal: i32) -> String {
    format!("{set}-{ordinal}")
}

/// The ordinal of a pod named `<set>-<n>`, if the name has that form.
pub fn ordinal_of(set: &str, pod: &str) -> Option<i32> {
    let rest = pod.strip_prefix(set)?.strip_prefix('-')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) || (rest.len() > 1 && rest.starts_with('0')) {
        return None;
    }
    rest.parse().ok()
}

/// The first ordinal (`spec.ordinals.start`, default 0).
pub fn start_ordinal(set: &StatefulSet) -> i32 {
    set.spec.as_ref().and_then(|s| s.ordinals.as_ref()).and_then(|o| o.start).unwrap_or(0)
}

/// Desired replicas (default 1).
pub fn replicas(set: &StatefulSet) -> i32 {
    set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// The name of the claim for template `claim` of pod `ordinal`.
pub fn claim_name(claim: &str, set: &str, ordinal: i32) -> String {
    format!("{claim}-{set}-{ordinal}")
}

fn set_name(set: &StatefulSet) -> &str {
    set.metadata.name.as_deref().unwrap_or("")
}

/// The PVCs pod `ordinal` needs, keyed by template name. Each claim carries the template's
/// labels plus the set's `matchLabels`, as upstream.
pub fn claims_for(set: &StatefulSet, ordinal: i32) -> BTreeMap<String, PersistentVolumeClaim> {
    let spec = set.spec.as_ref();
    let selector_labels = spec.and_then(|s| s.selector.match_labels.clone()).unwrap_or_default();
    let mut out = BTreeMap::new();
    for template in spec.and_then(|s| s.volume_claim_templates.as_ref()).into_iter().flatten() {
        let tname = template.metadata.name.clone().unwrap_or_default();
        let mut claim = template.clone();
        claim.metadata.name = Some(claim_name(&tname, set_name(set), ordinal));
        claim.metadata.namespace = set.metadata.namespace.clone();
        claim.metadata.resource_version = None;
        claim.metadata.uid = None;
        claim.status = None;
        let labels = claim.metadata.labels.get_or_insert_with(Default::default);
        labels.extend(selector_labels.clone());
        out.insert(tname, claim);
    }
    out
}

/// Points the pod's volumes named after claim templates at the pod's own PVCs (adding
/// the volume when the template does not mention it).
pub fn update_storage(set: &StatefulSet, pod: &mut Pod, ordinal: i32) {
    let claims = claims_for(set, ordinal);
    let Some(spec) = pod.spec.as_mut() else { return };
    let volumes = spec.volumes.get_or_insert_with(Vec::new);
    volumes.retain(|v| !claims.contains_key(&v.name));
    for (tname, claim) in &claims {
        volumes.push(Volume {
            name: tname.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.metadata.name.clone().unwrap_or_default(),
                read_only: None,
            }),
            ..Default::default()
        });
    }
    if volumes.is_empty() {
        spec.volumes = None;
    }
}

/// Whether the pod's volumes already reference the claims it should.
pub fn storage_matches(set: &StatefulSet, pod: &Pod, ordinal: i32) -> bool {
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_ref());
    claims_for(set, ordinal).iter().all(|(tname, claim)| {
        volumes.into_iter().flatten().any(|v| {
            v.name == *tname
                && v.persistent_volume_claim.as_ref().map(|p| &p.claim_name) == claim.metadata.name.as_ref()
        })
    })
}

/// Stamps the pod's identity: name, hostname, subdomain (the governing service) and the
/// pod-name / pod-index labels.
pub fn update_identity(set: &StatefulSet, pod: &mut Pod, ordinal: i32) {
    let name = pod_name(set_name(set), ordinal);
    pod.metadata.name = Some(name.clone());
    pod.metadata.namespace = set.metadata.namespace.clone();
    let labels = pod.metadata.labels.get_or_insert_with(Default::default);
    labels.insert(POD_NAME_LABEL.into(), name.clone());
    labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
    if let Some(spec) = pod.spec.as_mut() {
        spec.hostname = Some(name);
        let service = set.spec.as_ref().and_then(|s| s.service_name.clone()).filter(|s| !s.is_empty());
        spec.subdomain = service;
    }
}

/// Whether the pod carries the identity of `ordinal` (upstream `identityMatches`).
pub fn identity_matches(set: &StatefulSet, pod: &Pod, ordinal: i32) -> bool {
    let name = pod_name(set_name(set), ordinal);
    let labels = pod.metadata.labels.as_ref();
    let service = set.spec.as_ref().and_then(|s| s.service_name.clone()).filter(|s| !s.is_empty());
    let spec = pod.spec.as_ref();
    pod.metadata.name.as_deref() == Some(name.as_str())
        && pod.metadata.namespace == set.metadata.namespace
        && labels.and_then(|l| l.get(POD_NAME_LABEL)) == Some(&name)
        && labels.and_then(|l| l.get(POD_INDEX_LABEL)) == Some(&ordinal.to_string())
        && spec.and_then(|s| s.hostname.as_ref()) == Some(&name)
        && spec.and_then(|s| s.subdomain.clone()) == service
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::StatefulSetSpec;
    use k8s_openapi::api::core::v1::PodSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    fn set() -> StatefulSet {
        let mut claim = PersistentVolumeClaim::default();
        claim.metadata.name = Some("www".into());
        let mut s = StatefulSet {
            spec: Some(StatefulSetSpec {
                service_name: Some("nginx".into()),
                selector: LabelSelector { match_labels: Some([("app".to_string(), "nginx".to_string())].into()), ..Default::default() },
                volume_claim_templates: Some(vec![claim]),
                ..Default::default()
            }),
            ..Default::default()
        };
        s.metadata.name = Some("web".into());
        s.metadata.namespace = Some("default".into());
        s
    }

    #[test]
    fn names_and_ordinals() {
        assert_eq!(pod_name("web", 2), "web-2");
        assert_eq!(ordinal_of("web", "web-12"), Some(12));
        assert_eq!(ordinal_of("web", "web-"), None);
        assert_eq!(ordinal_of("web", "web-01"), None);
        assert_eq!(ordinal_of("web", "webx-1"), None);
        assert_eq!(ordinal_of("web", "web-a-1"), None);
        assert_eq!(claim_name("www", "web", 0), "www-web-0");
    }

    #[test]
    fn identity_and_storage() {
        let s = set();
        let mut pod = Pod { spec: Some(PodSpec::default()), ..Default::default() };
        assert!(!identity_matches(&s, &pod, 1));
        update_identity(&s, &mut pod, 1);
        update_storage(&s, &mut pod, 1);
        assert!(identity_matches(&s, &pod, 1));
        assert!(storage_matches(&s, &pod, 1));
        assert!(!storage_matches(&s, &pod, 2));
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some("web-1"));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        let claims = claims_for(&s, 1);
        let c = &claims["www"];
        assert_eq!(c.metadata.name.as_deref(), Some("www-web-1"));
        assert_eq!(c.metadata.labels.as_ref().unwrap()["app"], "nginx");
    }
}
