//! API discovery and the REST mapper: which resources the server serves, under which group,
//! version, kind, short names and categories; and how a command-line argument (`po`,
//! `deployments.apps`, `deploy.v1.apps`, `Pod`) or a manifest's `apiVersion`/`kind` maps to
//! one of them, preferring the core group and then the server's order, as upstream does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::client::{ApiClient, ApiError, Req};

/// `Accept` for aggregated discovery (v2, then v2beta1, then the legacy documents).
pub const ACCEPT_AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/// Why a resource could not be mapped.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// No served resource matches the argument.
    #[error("{}", no_match_message(.resource, .group, .version))]
    NoMatch {
        /// The resource part of the argument.
        resource: String,
        /// The group part, if any.
        group: String,
        /// The version part, if any.
        version: String,
    },
    /// No served resource has this kind.
    #[error("no matches for kind \"{kind}\" in version \"{group_version}\"")]
    NoKindMatch {
        /// The kind.
        kind: String,
        /// `group/version` (or `version` for the core group).
        group_version: String,
    },
    /// Fetching discovery failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

fn no_match_message(resource: &str, group: &str, version: &str) -> String {
    match (group.is_empty(), version.is_empty()) {
        (false, false) => format!("the server doesn't have a resource type \"{resource}\" in group \"{group}\" and version \"{version}\""),
        (false, true) => format!("the server doesn't have a resource type \"{resource}\" in group \"{group}\""),
        (true, false) => format!("the server doesn't have a resource type \"{resource}\" in version \"{version}\""),
        (true, true) => format!("the server doesn't have a resource type \"{resource}\""),
    }
}

/// One served resource (not a subresource) in one group version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiResource {
    /// API group ("" for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Plural resource name.
    pub resource: String,
    /// Singular resource name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Supported verbs.
    pub verbs: Vec<String>,
    /// Short names (`po`, `deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Subresources (`status`, `scale`, `log`, ...).
    pub subresources: Vec<String>,
    /// Whether this is the group's preferred version.
    pub preferred: bool,
}

impl ApiResource {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `kind.group` in lower case, the prefix kubectl prints (`deployment.apps`, `pod`).
    pub fn kind_group_lower(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_lowercase()
        } else {
            format!("{}.{}", self.kind.to_lowercase(), self.group)
        }
    }

    /// `resource.group`, upstream's GroupResource string (`deployments.apps`, `pods`).
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    /// `Kind.group` (upstream's GroupKind string).
    pub fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// The URL prefix of the group version (`/api/v1`, `/apis/apps/v1`).
    pub fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The collection path, in `namespace` when namespaced and one is given.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced && !ns.is_empty() => {
                format!("{}/namespaces/{}/{}", self.prefix(), ns, self.resource)
            }
            _ => format!("{}/{}", self.prefix(), self.resource),
        }
    }

    /// The path of one object.
    pub fn object_path(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}/{}", self.collection_path(namespace), name)
    }

    /// Whether the resource supports `verb`.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// Whether it has the named subresource.
    pub fn has_subresource(&self, sub: &str) -> bool {
        self.subresources.iter().any(|s| s == sub)
    }
}

/// All served resources, in discovery order (core group first).
#[derive(Debug, Clone, Default)]
pub struct RestMapper {
    resources: Vec<Arc<ApiResource>>,
    /// Set when a lookup found nothing (a mapper from the disk cache is then refreshed).
    missed: Arc<AtomicBool>,
}

#[derive(Deserialize)]
struct DiscoveryList {
    #[serde(default)]
    items: Vec<GroupDiscovery>,
}

#[derive(Deserialize)]
struct GroupDiscovery {
    #[serde(default)]
    metadata: NameOnly,
    #[serde(default)]
    versions: Vec<VersionDiscovery>,
}

#[derive(Deserialize, Default)]
struct NameOnly {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct VersionDiscovery {
    version: String,
    #[serde(default)]
    resources: Vec<ResourceDiscovery>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceDiscovery {
    resource: String,
    #[serde(default)]
    response_kind: Option<GvkRef>,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    singular_resource: String,
    #[serde(default)]
    verbs: Vec<String>,
    #[serde(default)]
    short_names: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    subresources: Vec<SubresourceDiscovery>,
}

#[derive(Deserialize, Default)]
struct GvkRef {
    #[serde(default)]
    kind: String,
}

#[derive(Deserialize)]
struct SubresourceDiscovery {
    subresource: String,
}

impl RestMapper {
    /// A mapper over the given resources (tests, caches).
    pub fn from_resources(resources: Vec<ApiResource>) -> Self {
        RestMapper { resources: resources.into_iter().map(Arc::new).collect(), missed: Default::default() }
    }

    /// Whether some lookup found no resource.
    pub fn missed(&self) -> bool {
        self.missed.load(Ordering::Relaxed)
    }

    fn miss<T>(&self, err: DiscoveryError) -> Result<T, DiscoveryError> {
        self.missed.store(true, Ordering::Relaxed);
        Err(err)
    }

    /// Fetches aggregated discovery from `/api` and `/apis`.
    pub async fn discover(client: &ApiClient) -> Result<Self, DiscoveryError> {
        let (core, groups) = Self::fetch_documents(client).await?;
        Self::from_documents(core, groups)
    }

    /// Fetches the aggregated discovery documents of `/api` and `/apis`.
    pub async fn fetch_documents(client: &ApiClient) -> Result<(Value, Value), DiscoveryError> {
        let (core, groups) = futures::join!(
            client.json(Req::get("/api").accept(ACCEPT_AGGREGATED)),
            client.json(Req::get("/apis").accept(ACCEPT_AGGREGATED))
        );
        let (core, groups) = (core?, groups?);
        for doc in [&core, &groups] {
            if doc.get("kind").and_then(|k| k.as_str()) != Some("APIGroupDiscoveryList") {
                return Err(ApiError::Decode("the server does not serve aggregated discovery".into()).into());
            }
        }
        Ok((core, groups))
    }

    /// A mapper over the aggregated discovery documents of `/api` and `/apis`.
    pub fn from_documents(core: Value, groups: Value) -> Result<Self, DiscoveryError> {
        let mut mapper = RestMapper::default();
        for doc in [core, groups] {
            let list: DiscoveryList = serde_json::from_value(doc).map_err(|e| ApiError::Decode(e.to_string()))?;
            mapper.add_list(list);
        }
        Ok(mapper)
    }

    fn add_list(&mut self, list: DiscoveryList) {
        for group in list.items {
            for (i, version) in group.versions.into_iter().enumerate() {
                for r in version.resources {
                    self.resources.push(Arc::new(ApiResource {
                        group: group.metadata.name.clone(),
                        version: version.version.clone(),
                        kind: r.response_kind.map(|k| k.kind).unwrap_or_default(),
                        namespaced: r.scope == "Namespaced",
                        singular: r.singular_resource,
                        resource: r.resource,
                        verbs: r.verbs,
                        short_names: r.short_names,
                        categories: r.categories,
                        subresources: r.subresources.into_iter().map(|s| s.subresource).collect(),
                        preferred: i == 0,
                    }));
                }
            }
        }
    }

    /// Every resource of every version, in discovery order.
    pub fn all(&self) -> &[Arc<ApiResource>] {
        &self.resources
    }

    /// The resources of each group's preferred version.
    pub fn preferred(&self) -> impl Iterator<Item = &Arc<ApiResource>> {
        self.resources.iter().filter(|r| r.preferred)
    }

    /// The served group versions, sorted as `kubectl api-versions` prints them.
    pub fn group_versions(&self) -> Vec<String> {
        let mut gvs: Vec<String> = self.resources.iter().map(|r| r.api_version()).collect();
        gvs.sort();
        gvs.dedup();
        gvs
    }

    /// The preferred resources in a category (`all`), in discovery order.
    pub fn category(&self, category: &str) -> Vec<Arc<ApiResource>> {
        self.preferred().filter(|r| r.categories.iter().any(|c| c == category)).cloned().collect()
    }

    /// Maps a command-line resource argument: `pods`, `pod`, `po`, `Pod`, `deployments.apps`,
    /// `deploy.v1.apps`.
    pub fn resolve(&self, arg: &str) -> Result<Arc<ApiResource>, DiscoveryError> {
        let arg = arg.to_lowercase();
        let parts: Vec<&str> = arg.splitn(3, '.').collect();
        if parts.len() == 3 {
            if let Some(r) = self.find(parts[0], parts[2], parts[1]) {
                return Ok(r);
            }
        }
        let (resource, group) = match arg.split_once('.') {
            Some((r, g)) => (r, g),
            None => (arg.as_str(), ""),
        };
        match self.find(resource, group, "") {
            Some(r) => Ok(r),
            None => self.miss(DiscoveryError::NoMatch { resource: resource.to_string(), group: group.to_string(), version: String::new() }),
        }
    }

    fn find(&self, name: &str, group: &str, version: &str) -> Option<Arc<ApiResource>> {
        let candidates = || {
            self.resources.iter().filter(|r| {
                (group.is_empty() || r.group == group) && (if version.is_empty() { r.preferred } else { r.version == version })
            })
        };
        let by_name = |r: &&Arc<ApiResource>| r.resource == name || r.singular == name || r.kind.to_lowercase() == name;
        candidates()
            .find(by_name)
            .or_else(|| candidates().find(|r| r.short_names.iter().any(|s| s == name)))
            .cloned()
    }

    /// Maps a manifest's `apiVersion` and `kind`.
    pub fn for_kind(&self, api_version: &str, kind: &str) -> Result<Arc<ApiResource>, DiscoveryError> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        match self.resources.iter().find(|r| r.group == group && r.version == version && r.kind == kind) {
            Some(r) => Ok(r.clone()),
            None => self.miss(DiscoveryError::NoKindMatch { kind: kind.into(), group_version: api_version.into() }),
        }
    }

    /// Whether the server serves this group at all.
    pub fn has_group(&self, group: &str) -> bool {
        self.resources.iter().any(|r| r.group == group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(group: &str, resource: &str, kind: &str, short: &[&str], preferred: bool) -> ApiResource {
        ApiResource {
            group: group.into(),
            version: "v1".into(),
            resource: resource.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            namespaced: true,
            short_names: short.iter().map(|s| s.to_string()).collect(),
            preferred,
            ..Default::default()
        }
    }

    fn mapper() -> RestMapper {
        RestMapper::from_resources(vec![
            res("", "pods", "Pod", &["po"], true),
            res("", "events", "Event", &["ev"], true),
            res("apps", "deployments", "Deployment", &["deploy"], true),
            res("events.k8s.io", "events", "Event", &["ev"], true),
        ])
    }

    #[test]
    fn resolves_names_short_names_and_groups() {
        let m = mapper();
        assert_eq!(m.resolve("po").unwrap().resource, "pods");
        assert_eq!(m.resolve("Pod").unwrap().resource, "pods");
        assert_eq!(m.resolve("deploy").unwrap().group, "apps");
        assert_eq!(m.resolve("deployments.apps").unwrap().kind, "Deployment");
        assert_eq!(m.resolve("deployment.v1.apps").unwrap().kind, "Deployment");
        assert_eq!(m.resolve("events").unwrap().group, "");
        assert_eq!(m.resolve("events.events.k8s.io").unwrap().group, "events.k8s.io");
        assert!(!m.missed());
        let err = m.resolve("foos").unwrap_err();
        assert!(m.missed());
        assert_eq!(err.to_string(), "the server doesn't have a resource type \"foos\"");
    }

    #[test]
    fn kind_lookup_and_paths() {
        let m = mapper();
        let d = m.for_kind("apps/v1", "Deployment").unwrap();
        assert_eq!(d.object_path(Some("ns1"), "x"), "/apis/apps/v1/namespaces/ns1/deployments/x");
        assert_eq!(d.kind_group_lower(), "deployment.apps");
        assert!(m.for_kind("apps/v2", "Deployment").is_err());
        let p = m.for_kind("v1", "Pod").unwrap();
        assert_eq!(p.collection_path(None), "/api/v1/pods");
    }
}
