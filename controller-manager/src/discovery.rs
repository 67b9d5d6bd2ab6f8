//! API discovery for controllers that work on every resource (garbage collector, namespace
//! deletion): every served group/version/resource with its verbs and scope, which version
//! of each group is preferred, and the groups whose discovery failed (reported rather than
//! fatal, as upstream's `ErrGroupDiscoveryFailed`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::core::ApiResource;

use crate::errors::Result;

/// One served resource (not a subresource).
#[derive(Debug, Clone)]
pub struct Resource {
    /// Group, version, kind and plural.
    pub api: ApiResource,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Verbs (get, list, watch, delete, deletecollection, ...).
    pub verbs: Vec<String>,
    /// Whether this is the preferred version of its group.
    pub preferred: bool,
}

impl Resource {
    /// Whether every verb is supported.
    pub fn supports(&self, verbs: &[&str]) -> bool {
        verbs.iter().all(|v| self.verbs.iter().any(|x| x == v))
    }

    /// `resource.group` (upstream's GroupResource string).
    pub fn group_resource(&self) -> String {
        format!("{}.{}", self.api.plural, self.api.group)
    }
}

/// The outcome of one discovery pass.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// Every resource of every version.
    pub resources: Vec<Resource>,
    /// Group/versions that could not be listed, with the error.
    pub failed: BTreeMap<String, String>,
}

fn to_resources(list: &APIResourceList, group: &str, version: &str, preferred: bool) -> Vec<Resource> {
    let api_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    list.resources
        .iter()
        .filter(|r| !r.name.contains('/'))
        .map(|r| Resource {
            api: ApiResource { group: group.into(), version: version.into(), api_version: api_version.clone(), kind: r.kind.clone(), plural: r.name.clone() },
            namespaced: r.namespaced,
            verbs: r.verbs.clone(),
            preferred,
        })
        .collect()
}

/// Lists every group, version and resource the apiserver serves.
pub async fn discover(client: &kube::Client) -> Result<Discovered> {
    let mut out = Discovered::default();
    let core = client.list_core_api_versions().await?;
    for (i, v) in core.versions.iter().enumerate() {
        match client.list_core_api_resources(v).await {
            Ok(list) => out.resources.extend(to_resources(&list, "", v, i == 0)),
            Err(e) => {
                out.failed.insert(v.clone(), e.to_string());
            }
        }
    }
    for g in client.list_api_groups().await?.groups {
        let preferred = g.preferred_version.as_ref().map(|p| p.group_version.clone());
        for v in &g.versions {
            match client.list_api_group_resources(&v.group_version).await {
                Ok(list) => out.resources.extend(to_resources(&list, &g.name, &v.version, Some(&v.group_version) == preferred.as_ref())),
                Err(e) => {
                    out.failed.insert(v.group_version.clone(), e.to_string());
                }
            }
        }
    }
    Ok(out)
}

impl Discovered {
    /// Preferred-version resources supporting all `verbs`.
    pub fn preferred_with(&self, verbs: &[&str]) -> Vec<Resource> {
        self.resources.iter().filter(|r| r.preferred && r.supports(verbs)).cloned().collect()
    }

    /// The resource for an owner reference's apiVersion and kind (upstream RESTMapper).
    pub fn resolve(&self, api_version: &str, kind: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.api.api_version == api_version && r.api.kind == kind)
    }

    /// A one-line summary of failed groups (upstream's discovery failure message).
    pub fn failure_message(&self) -> Option<String> {
        if self.failed.is_empty() {
            return None;
        }
        let parts: Vec<String> = self.failed.iter().map(|(gv, e)| format!("{gv}: {e}")).collect();
        Some(format!("Discovery failed for some groups, {} failing: unable to retrieve the complete list of server APIs: {}", self.failed.len(), parts.join(", ")))
    }
}
