//! The catalog of served resources: what each one is called, where it lives, and which
//! strategy (defaulting, validation, table columns) it uses.
//!
//! Adding a built-in resource is one line in [`builtin`] plus, when it needs more than the
//! generic behaviour, a strategy in a file of its own under this folder.

pub mod apps;
pub mod batch;
pub mod catalog;
pub mod coordination;
pub mod core;
pub mod custom;
pub mod discovery;
pub mod event_conversion;
pub mod events;
pub mod networking;
pub mod policy;
pub mod rbac;
pub mod scheduling;
pub mod storage;
pub mod strategy;
pub mod util;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use strategy::{GenericStrategy, Strategy};

/// The verbs a resource supports (discovery lists them).
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Verbs of a create-only review resource (SelfSubjectAccessReview, TokenReview, ...).
pub const CREATE_ONLY: &[&str] = &["create"];

/// Everything the server knows about one resource (one group/version/plural).
#[derive(Clone)]
pub struct ResourceInfo {
    /// API group; "" for the legacy core group.
    pub group: String,
    /// API version within the group, e.g. "v1".
    pub version: String,
    /// Kind of a single object, e.g. "Deployment".
    pub kind: String,
    /// Plural resource name used in URLs, e.g. "deployments".
    pub plural: String,
    /// Lower-case singular name, e.g. "deployment".
    pub singular: String,
    /// Short names for kubectl, e.g. ["deploy"].
    pub short_names: Vec<String>,
    /// Categories, e.g. ["all"].
    pub categories: Vec<String>,
    /// Namespaced (true) or cluster-scoped (false).
    pub namespaced: bool,
    /// Verbs served on the main resource.
    pub verbs: Vec<String>,
    /// Has a `status` subresource (status split: the main resource ignores status).
    pub status_subresource: bool,
    /// Has a `scale` subresource (autoscaling/v1 Scale).
    pub scale: Option<ScalePaths>,
    /// Extra subresources served by special handlers (e.g. pods: binding, eviction, log).
    pub extra_subresources: Vec<String>,
    /// Not persisted: create returns the evaluated object (reviews).
    pub virtual_only: bool,
    /// The per-resource behaviour.
    pub strategy: Arc<dyn Strategy>,
    /// For custom resources: the version's openAPIV3Schema (validation and OpenAPI).
    pub schema: Option<serde_json::Value>,
    /// When this resource is stored as another one (events.k8s.io Events as core Events).
    pub storage_alias: Option<StorageAlias>,
}

/// Storage shared with another resource, with the conversions to and from its form.
#[derive(Clone, Debug)]
pub struct StorageAlias {
    /// The other resource's key prefix.
    pub key_prefix: String,
    /// This resource's form -> the stored form.
    pub to_storage: fn(serde_json::Value) -> serde_json::Value,
    /// The stored form -> this resource's form.
    pub from_storage: fn(serde_json::Value) -> serde_json::Value,
}

/// Where a scalable resource keeps its replica counts (JSON pointers).
#[derive(Clone, Debug)]
pub struct ScalePaths {
    /// Pointer to the desired replicas, e.g. "/spec/replicas".
    pub spec_replicas: String,
    /// Pointer to the observed replicas, e.g. "/status/replicas".
    pub status_replicas: String,
    /// Pointer to the label selector (a string selector in Scale.status.selector).
    pub label_selector: Option<String>,
}

impl ResourceInfo {
    /// "apps/v1" or "v1" for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The storage key prefix of every object of this resource, ending with '/'.
    pub fn key_prefix(&self) -> String {
        if let Some(alias) = &self.storage_alias {
            return alias.key_prefix.clone();
        }
        let group = if self.group.is_empty() { "core" } else { &self.group };
        format!("/registry/{}/{}/", group, self.plural)
    }

    /// The storage key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{}/{}", self.key_prefix(), ns, name),
            _ => format!("{}{}", self.key_prefix(), name),
        }
    }

    /// The key prefix of a list, in one namespace or across all.
    pub fn list_prefix(&self, namespace: Option<&str>) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{}/", self.key_prefix(), ns),
            _ => self.key_prefix(),
        }
    }

    /// Converts a stored object to this resource's form.
    pub fn from_storage(&self, obj: serde_json::Value) -> serde_json::Value {
        match &self.storage_alias {
            Some(a) => (a.from_storage)(obj),
            None => obj,
        }
    }

    /// Converts an object of this resource to the stored form.
    pub fn to_storage(&self, obj: serde_json::Value) -> serde_json::Value {
        match &self.storage_alias {
            Some(a) => (a.to_storage)(obj),
            None => obj,
        }
    }

    /// Group-qualified resource name for messages, e.g. "deployments.apps".
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// Builder shorthand used by the built-in table below.
struct Def {
    info: ResourceInfo,
}

impl Def {
    fn new(gv: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        let (group, version) = match gv.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), gv.to_string()),
        };
        Def {
            info: ResourceInfo {
                group,
                version,
                kind: kind.to_string(),
                plural: plural.to_string(),
                singular: kind.to_lowercase(),
                short_names: vec![],
                categories: vec![],
                namespaced,
                verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
                status_subresource: false,
                scale: None,
                extra_subresources: vec![],
                virtual_only: false,
                strategy: Arc::new(GenericStrategy),
                schema: None,
                storage_alias: None,
            },
        }
    }
    fn short(mut self, names: &[&str]) -> Self {
        self.info.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }
    fn all(mut self) -> Self {
        self.info.categories = vec!["all".into()];
        self
    }
    fn status(mut self) -> Self {
        self.info.status_subresource = true;
        self
    }
    fn scale(mut self, selector: Option<&str>) -> Self {
        self.info.scale = Some(ScalePaths {
            spec_replicas: "/spec/replicas".into(),
            status_replicas: "/status/replicas".into(),
            label_selector: selector.map(str::to_string),
        });
        self
    }
    fn subresources(mut self, subs: &[&str]) -> Self {
        self.info.extra_subresources = subs.iter().map(|s| s.to_string()).collect();
        self
    }
    fn verbs(mut self, verbs: &[&str]) -> Self {
        self.info.verbs = verbs.iter().map(|s| s.to_string()).collect();
        self
    }
    fn virtual_only(mut self) -> Self {
        self.info.virtual_only = true;
        self
    }
    fn strategy(mut self, s: Arc<dyn Strategy>) -> Self {
        self.info.strategy = s;
        self
    }
    fn done(self) -> ResourceInfo {
        self.info
    }
}

/// Every built-in resource, in discovery order.
pub fn builtin() -> Vec<ResourceInfo> {
    let no_watch = &["create", "delete", "get", "list", "patch", "update"][..];
    vec![
        // core/v1
        Def::new("v1", "Binding", "bindings", true).verbs(&["create"]).virtual_only().done(),
        Def::new("v1", "ComponentStatus", "componentstatuses", false)
            .short(&["cs"])
            .verbs(&["get", "list"])
            .virtual_only()
            .done(),
        Def::new("v1", "ConfigMap", "configmaps", true).short(&["cm"]).strategy(Arc::new(core::ConfigMapStrategy)).done(),
        Def::new("v1", "Endpoints", "endpoints", true).short(&["ep"]).strategy(Arc::new(core::EndpointsStrategy)).done(),
        Def::new("v1", "Event", "events", true).short(&["ev"]).strategy(Arc::new(core::EventStrategy)).done(),
        Def::new("v1", "LimitRange", "limitranges", true)
            .short(&["limits"])
            .strategy(Arc::new(core::LimitRangeStrategy))
            .done(),
        Def::new("v1", "Namespace", "namespaces", false)
            .short(&["ns"])
            .verbs(&["create", "delete", "get", "list", "patch", "update", "watch"])
            .status()
            .subresources(&["finalize"])
            .strategy(Arc::new(core::NamespaceStrategy))
            .done(),
        Def::new("v1", "Node", "nodes", false)
            .short(&["no"])
            .status()
            .subresources(&["proxy"])
            .strategy(Arc::new(core::NodeStrategy))
            .done(),
        Def::new("v1", "PersistentVolumeClaim", "persistentvolumeclaims", true)
            .short(&["pvc"])
            .status()
            .strategy(Arc::new(core::PersistentVolumeClaimStrategy))
            .done(),
        Def::new("v1", "PersistentVolume", "persistentvolumes", false)
            .short(&["pv"])
            .status()
            .strategy(Arc::new(core::PersistentVolumeStrategy))
            .done(),
        Def::new("v1", "Pod", "pods", true)
            .short(&["po"])
            .all()
            .status()
            .subresources(&[
                "attach",
                "binding",
                "ephemeralcontainers",
                "eviction",
                "exec",
                "log",
                "portforward",
                "proxy",
                "resize",
            ])
            .strategy(Arc::new(core::PodStrategy))
            .done(),
        Def::new("v1", "PodTemplate", "podtemplates", true).strategy(Arc::new(core::PodTemplateStrategy)).done(),
        Def::new("v1", "ReplicationController", "replicationcontrollers", true)
            .short(&["rc"])
            .all()
            .status()
            .scale(None)
            .strategy(Arc::new(core::ReplicationControllerStrategy))
            .done(),
        Def::new("v1", "ResourceQuota", "resourcequotas", true)
            .short(&["quota"])
            .status()
            .strategy(Arc::new(core::ResourceQuotaStrategy))
            .done(),
        Def::new("v1", "Secret", "secrets", true).strategy(Arc::new(core::SecretStrategy)).done(),
        Def::new("v1", "ServiceAccount", "serviceaccounts", true)
            .short(&["sa"])
            .subresources(&["token"])
            .strategy(Arc::new(core::ServiceAccountStrategy))
            .done(),
        Def::new("v1", "Service", "services", true)
            .short(&["svc"])
            .all()
            .status()
            .subresources(&["proxy"])
            .strategy(Arc::new(core::ServiceStrategy))
            .done(),
        // apps/v1
        Def::new("apps/v1", "ControllerRevision", "controllerrevisions", true)
            .strategy(Arc::new(apps::controllerrevision::ControllerRevisionStrategy))
            .done(),
        Def::new("apps/v1", "DaemonSet", "daemonsets", true)
            .short(&["ds"])
            .all()
            .status()
            .strategy(Arc::new(apps::daemonset::DaemonSetStrategy))
            .done(),
        Def::new("apps/v1", "Deployment", "deployments", true)
            .short(&["deploy"])
            .all()
            .status()
            .scale(Some("/spec/selector"))
            .strategy(Arc::new(apps::deployment::DeploymentStrategy))
            .done(),
        Def::new("apps/v1", "ReplicaSet", "replicasets", true)
            .short(&["rs"])
            .all()
            .status()
            .scale(Some("/spec/selector"))
            .strategy(Arc::new(apps::replicaset::ReplicaSetStrategy))
            .done(),
        Def::new("apps/v1", "StatefulSet", "statefulsets", true)
            .short(&["sts"])
            .all()
            .status()
            .scale(Some("/spec/selector"))
            .strategy(Arc::new(apps::statefulset::StatefulSetStrategy))
            .done(),
        // authentication / authorization reviews
        Def::new("authentication.k8s.io/v1", "SelfSubjectReview", "selfsubjectreviews", false)
            .verbs(CREATE_ONLY)
            .virtual_only()
            .done(),
        Def::new("authentication.k8s.io/v1", "TokenReview", "tokenreviews", false)
            .verbs(CREATE_ONLY)
            .virtual_only()
            .done(),
        Def::new("authorization.k8s.io/v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", true)
            .verbs(CREATE_ONLY)
            .virtual_only()
            .done(),
        Def::new("authorization.k8s.io/v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", false)
            .verbs(CREATE_ONLY)
            .virtual_only()
            .done(),
        Def::new("authorization.k8s.io/v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", false)
            .verbs(CREATE_ONLY)
            .virtual_only()
            .done(),
        Def::new("authorization.k8s.io/v1", "SubjectAccessReview", "subjectaccessreviews", false)
            .verbs(CREATE_ONLY)
            .virtual_only()
            .done(),
        // autoscaling is served through the scale subresources only.
        // batch/v1
        Def::new("batch/v1", "CronJob", "cronjobs", true)
            .short(&["cj"])
            .all()
            .status()
            .strategy(Arc::new(batch::cronjob::CronJobStrategy))
            .done(),
        Def::new("batch/v1", "Job", "jobs", true).all().status().strategy(Arc::new(batch::job::JobStrategy)).done(),
        // coordination.k8s.io/v1
        Def::new("coordination.k8s.io/v1", "Lease", "leases", true)
            .strategy(Arc::new(coordination::lease::LeaseStrategy))
            .done(),
        // discovery.k8s.io/v1
        Def::new("discovery.k8s.io/v1", "EndpointSlice", "endpointslices", true)
            .strategy(Arc::new(discovery::endpointslice::EndpointSliceStrategy))
            .done(),
        // events.k8s.io/v1 (same storage as core events upstream; separate here)
        Def::new("events.k8s.io/v1", "Event", "events", true)
            .short(&["ev"])
            .stored_as_core_events()
            .strategy(Arc::new(events::event::EventStrategy))
            .done(),
        // networking.k8s.io/v1
        Def::new("networking.k8s.io/v1", "IngressClass", "ingressclasses", false)
            .strategy(Arc::new(networking::ingressclass::IngressClassStrategy))
            .done(),
        Def::new("networking.k8s.io/v1", "Ingress", "ingresses", true)
            .short(&["ing"])
            .status()
            .strategy(Arc::new(networking::ingress::IngressStrategy))
            .done(),
        Def::new("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true)
            .short(&["netpol"])
            .strategy(Arc::new(networking::networkpolicy::NetworkPolicyStrategy))
            .done(),
        // policy/v1
        Def::new("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", true)
            .short(&["pdb"])
            .status()
            .strategy(Arc::new(policy::poddisruptionbudget::PodDisruptionBudgetStrategy))
            .done(),
        // rbac.authorization.k8s.io/v1
        Def::new("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", false)
            .strategy(Arc::new(rbac::clusterrolebinding::ClusterRoleBindingStrategy))
            .done(),
        Def::new("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", false)
            .strategy(Arc::new(rbac::clusterrole::ClusterRoleStrategy))
            .done(),
        Def::new("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", true)
            .strategy(Arc::new(rbac::rolebinding::RoleBindingStrategy))
            .done(),
        Def::new("rbac.authorization.k8s.io/v1", "Role", "roles", true)
            .strategy(Arc::new(rbac::role::RoleStrategy))
            .done(),
        // scheduling.k8s.io/v1
        Def::new("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", false)
            .short(&["pc"])
            .strategy(Arc::new(scheduling::priorityclass::PriorityClassStrategy))
            .done(),
        // storage.k8s.io/v1
        Def::new("storage.k8s.io/v1", "StorageClass", "storageclasses", false)
            .short(&["sc"])
            .strategy(Arc::new(storage::storageclass::StorageClassStrategy))
            .done(),
        // apiextensions.k8s.io/v1
        Def::new("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", false)
            .short(&["crd", "crds"])
            .categories_api_extensions()
            .status()
            .strategy(Arc::new(custom::CrdStrategy))
            .done(),
    ]
    .into_iter()
    .map(|mut r| {
        if r.virtual_only && r.verbs.iter().any(|v| v == "list") {
            r.verbs = no_watch.iter().filter(|v| **v == "get" || **v == "list").map(|s| s.to_string()).collect();
        }
        r
    })
    .collect()
}

impl Def {
    fn stored_as_core_events(mut self) -> Self {
        self.info.storage_alias = Some(StorageAlias {
            key_prefix: "/registry/core/events/".into(),
            to_storage: event_conversion::to_core,
            from_storage: event_conversion::from_core,
        });
        self
    }

    fn categories_api_extensions(mut self) -> Self {
        self.info.categories = vec!["api-extensions".into()];
        self
    }
}

/// The group versions served, with the preferred version first per group, in discovery order.
pub fn group_order(resources: &[Arc<ResourceInfo>]) -> Vec<(String, Vec<String>)> {
    let mut order: Vec<(String, Vec<String>)> = Vec::new();
    for r in resources {
        match order.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, versions)) => {
                if !versions.contains(&r.version) {
                    versions.push(r.version.clone());
                }
            }
            None => order.push((r.group.clone(), vec![r.version.clone()])),
        }
    }
    order
}

/// Resources indexed for lookup by group/version/plural.
pub type ResourceIndex = BTreeMap<(String, String, String), Arc<ResourceInfo>>;
