//! Upstream's patch metadata, as one table.
//!
//! Kubernetes records how each list or map field of the built-in API types merges in struct
//! tags (`patchStrategy`, `patchMergeKey`) and in OpenAPI markers (`+listType`, `+listMapKey`,
//! `+mapType`). The OpenAPI document publishes them as the `x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`, `x-kubernetes-list-map-keys` and
//! `x-kubernetes-map-type` extensions. This module holds every such entry of the Kubernetes
//! v1.33 API (core, apps, batch, networking, policy, rbac, discovery, storage, resource,
//! admissionregistration, apiextensions, apiregistration, flowcontrol, ...), keyed by the
//! OpenAPI definition name (`io.k8s.api.core.v1.PodSpec`) and the JSON field name.
//!
//! Two readers share it: the OpenAPI document generator ([`annotate_components`] adds the
//! extensions to component schemas) and the patchers
//! ([`crate::strategic_merge::PatchSchema`] falls back to it when a schema carries no
//! extension of its own).

use serde_json::{Map, Value};

/// The OpenAPI extension naming a field's strategic-merge-patch strategy.
pub const PATCH_STRATEGY_EXTENSION: &str = "x-kubernetes-patch-strategy";
/// The OpenAPI extension naming the key that identifies items of a merged list.
pub const PATCH_MERGE_KEY_EXTENSION: &str = "x-kubernetes-patch-merge-key";
/// The OpenAPI extension naming a list's server-side-apply topology.
pub const LIST_TYPE_EXTENSION: &str = "x-kubernetes-list-type";
/// The OpenAPI extension listing the keys of an associative (`map`) list.
pub const LIST_MAP_KEYS_EXTENSION: &str = "x-kubernetes-list-map-keys";
/// The OpenAPI extension naming a map's or struct's server-side-apply topology.
pub const MAP_TYPE_EXTENSION: &str = "x-kubernetes-map-type";

/// How server-side apply treats a list (`x-kubernetes-list-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListType {
    /// The list is one value: whoever sets it owns all of it, and it is replaced whole.
    Atomic,
    /// A list of unique scalars; each item is owned on its own.
    Set,
    /// An associative list whose items are identified by the `x-kubernetes-list-map-keys`.
    Map,
}

impl ListType {
    /// The extension's spelling: `atomic`, `set` or `map`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListType::Atomic => "atomic",
            ListType::Set => "set",
            ListType::Map => "map",
        }
    }

    /// Reads the extension's spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<ListType> {
        match s {
            "atomic" => Some(ListType::Atomic),
            "set" => Some(ListType::Set),
            "map" => Some(ListType::Map),
            _ => None,
        }
    }
}

/// How server-side apply treats a map or struct (`x-kubernetes-map-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapType {
    /// The map is one value, replaced whole and owned whole.
    Atomic,
    /// Each key is owned on its own (the default).
    Granular,
}

impl MapType {
    /// The extension's spelling: `atomic` or `granular`.
    pub fn as_str(self) -> &'static str {
        match self {
            MapType::Atomic => "atomic",
            MapType::Granular => "granular",
        }
    }

    /// Reads the extension's spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<MapType> {
        match s {
            "atomic" => Some(MapType::Atomic),
            "granular" => Some(MapType::Granular),
            _ => None,
        }
    }
}

/// The patch metadata of one field of one OpenAPI definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldPatchMetadata {
    /// The OpenAPI definition name, e.g. `io.k8s.api.core.v1.PodSpec`.
    pub definition: &'static str,
    /// The JSON field name, e.g. `containers`.
    pub field: &'static str,
    /// The strategic-merge-patch strategy as upstream spells it: `merge`, `retainKeys`,
    /// `merge,retainKeys` or `replace`; `None` means the default (lists replaced, maps merged).
    pub patch_strategy: Option<&'static str>,
    /// The key identifying items of a merged list of objects, e.g. `name`.
    pub patch_merge_key: Option<&'static str>,
    /// The server-side-apply list type, where upstream declares one.
    pub list_type: Option<ListType>,
    /// The keys of an associative list (empty unless `list_type` is `map`).
    pub list_map_keys: &'static [&'static str],
    /// The server-side-apply map type, where upstream declares one on the field.
    pub map_type: Option<MapType>,
}

impl FieldPatchMetadata {
    /// The OpenAPI extensions this row stands for, in upstream's spelling, ready to be merged
    /// into the field's property schema.
    pub fn openapi_extensions(&self) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(keys) = (!self.list_map_keys.is_empty()).then_some(self.list_map_keys) {
            out.insert(
                LIST_MAP_KEYS_EXTENSION.to_string(),
                Value::Array(
                    keys.iter()
                        .map(|k| Value::String((*k).to_string()))
                        .collect(),
                ),
            );
        }
        if let Some(t) = self.list_type {
            out.insert(
                LIST_TYPE_EXTENSION.to_string(),
                Value::String(t.as_str().to_string()),
            );
        }
        if let Some(t) = self.map_type {
            out.insert(
                MAP_TYPE_EXTENSION.to_string(),
                Value::String(t.as_str().to_string()),
            );
        }
        if let Some(k) = self.patch_merge_key {
            out.insert(
                PATCH_MERGE_KEY_EXTENSION.to_string(),
                Value::String(k.to_string()),
            );
        }
        if let Some(s) = self.patch_strategy {
            out.insert(
                PATCH_STRATEGY_EXTENSION.to_string(),
                Value::String(s.to_string()),
            );
        }
        out
    }
}

/// Looks up the metadata of `field` in `definition`; `None` when upstream declares nothing
/// for it (lists are then replaced whole, maps merged key by key).
pub fn lookup(definition: &str, field: &str) -> Option<&'static FieldPatchMetadata> {
    FIELD_PATCH_METADATA
        .binary_search_by(|row| (row.definition, row.field).cmp(&(definition, field)))
        .ok()
        .map(|i| &FIELD_PATCH_METADATA[i])
}

/// Every row of `definition`, in field-name order (empty when it has none).
pub fn fields_of(definition: &str) -> &'static [FieldPatchMetadata] {
    let start = FIELD_PATCH_METADATA.partition_point(|row| row.definition < definition);
    let end = FIELD_PATCH_METADATA.partition_point(|row| row.definition <= definition);
    &FIELD_PATCH_METADATA[start..end]
}

/// The strategic-merge-patch strategy of `definition.field`, as upstream spells it.
pub fn patch_strategy(definition: &str, field: &str) -> Option<&'static str> {
    lookup(definition, field).and_then(|row| row.patch_strategy)
}

/// The strategic-merge-patch merge key of `definition.field`.
pub fn patch_merge_key(definition: &str, field: &str) -> Option<&'static str> {
    lookup(definition, field).and_then(|row| row.patch_merge_key)
}

/// The map type upstream declares on a whole definition (`x-kubernetes-map-type` at the
/// top of its schema, e.g. `LabelSelector` and `OwnerReference` are atomic).
pub fn definition_map_type(definition: &str) -> Option<MapType> {
    ATOMIC_DEFINITIONS
        .binary_search(&definition)
        .ok()
        .map(|_| MapType::Atomic)
}

/// Defaults upstream declares (`+default`) on fields that key associative lists, as
/// (definition, field, default string): server-side apply fills a missing key from these, so an
/// applied `ports: [{containerPort: 80}]` is keyed `{"containerPort":80,"protocol":"TCP"}`.
pub static LIST_KEY_DEFAULTS: &[(&str, &str, &str)] = &[
    ("io.k8s.api.core.v1.ContainerPort", "protocol", "TCP"),
    ("io.k8s.api.core.v1.ServicePort", "protocol", "TCP"),
];

/// The default of `definition.field` when it keys an associative list (see
/// [`LIST_KEY_DEFAULTS`]).
pub fn list_key_default(definition: &str, field: &str) -> Option<&'static str> {
    LIST_KEY_DEFAULTS
        .iter()
        .find(|(d, f, _)| *d == definition && *f == field)
        .map(|(_, _, v)| *v)
}

/// Adds the table's extensions to the property schemas of one component schema named
/// `definition`, and its definition-level map type to the schema itself. Extensions the schema
/// already carries are left as they are; properties the schema does not declare are skipped.
pub fn annotate_definition(definition: &str, schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(t) = definition_map_type(definition) {
        obj.entry(MAP_TYPE_EXTENSION.to_string())
            .or_insert_with(|| Value::String(t.as_str().to_string()));
    }
    let rows = fields_of(definition);
    if rows.is_empty() {
        return;
    }
    let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for row in rows {
        let Some(prop) = props.get_mut(row.field).and_then(Value::as_object_mut) else {
            continue;
        };
        for (k, v) in row.openapi_extensions() {
            prop.entry(k).or_insert(v);
        }
    }
}

/// Runs [`annotate_definition`] over every component schema of an OpenAPI v3 document's
/// `components.schemas` map (definition name -> schema).
pub fn annotate_components(schemas: &mut Map<String, Value>) {
    for (name, schema) in schemas.iter_mut() {
        annotate_definition(name, schema);
    }
}

const fn row(
    definition: &'static str,
    field: &'static str,
    patch_strategy: Option<&'static str>,
    patch_merge_key: Option<&'static str>,
    list_type: Option<ListType>,
    list_map_keys: &'static [&'static str],
    map_type: Option<MapType>,
) -> FieldPatchMetadata {
    FieldPatchMetadata {
        definition,
        field,
        patch_strategy,
        patch_merge_key,
        list_type,
        list_map_keys,
        map_type,
    }
}

/// Every field of the Kubernetes v1.33 API with patch or list/map-type metadata, sorted by
/// (definition, field) in byte order so that [`lookup`] can binary-search it.
#[rustfmt::skip]
pub static FIELD_PATCH_METADATA: &[FieldPatchMetadata] = &[
    row("io.k8s.api.admissionregistration.v1.MatchResources", "excludeResourceRules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.MatchResources", "resourceRules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.MutatingWebhook", "admissionReviewVersions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.MutatingWebhook", "matchConditions", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.admissionregistration.v1.MutatingWebhook", "rules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration", "webhooks", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "apiGroups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "apiVersions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "operations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "resourceNames", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "resources", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.RuleWithOperations", "apiGroups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.RuleWithOperations", "apiVersions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.RuleWithOperations", "operations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.RuleWithOperations", "resources", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.TypeChecking", "expressionWarnings", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec", "validationActions", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", "auditAnnotations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", "matchConditions", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", "validations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", "variables", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyStatus", "conditions", None, None, Some(ListType::Map), &["type"], None),
    row("io.k8s.api.admissionregistration.v1.ValidatingWebhook", "admissionReviewVersions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.ValidatingWebhook", "matchConditions", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.admissionregistration.v1.ValidatingWebhook", "rules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration", "webhooks", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.admissionregistration.v1alpha1.MatchResources", "excludeResourceRules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1alpha1.MatchResources", "resourceRules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1alpha1.MutatingAdmissionPolicySpec", "matchConditions", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.admissionregistration.v1alpha1.MutatingAdmissionPolicySpec", "mutations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1alpha1.MutatingAdmissionPolicySpec", "variables", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", "apiGroups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", "apiVersions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", "operations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", "resourceNames", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", "resources", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.MatchResources", "excludeResourceRules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.MatchResources", "resourceRules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", "apiGroups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", "apiVersions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", "operations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", "resourceNames", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", "resources", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.TypeChecking", "expressionWarnings", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicyBindingSpec", "validationActions", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicySpec", "auditAnnotations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicySpec", "matchConditions", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicySpec", "validations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicySpec", "variables", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicyStatus", "conditions", None, None, Some(ListType::Map), &["type"], None),
    row("io.k8s.api.apiserverinternal.v1alpha1.ServerStorageVersion", "decodableVersions", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.apiserverinternal.v1alpha1.ServerStorageVersion", "servedVersions", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.apiserverinternal.v1alpha1.StorageVersionStatus", "conditions", None, None, Some(ListType::Map), &["type"], None),
    row("io.k8s.api.apiserverinternal.v1alpha1.StorageVersionStatus", "storageVersions", None, None, Some(ListType::Map), &["apiServerID"], None),
    row("io.k8s.api.apps.v1.DaemonSetStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.apps.v1.DeploymentSpec", "strategy", Some("retainKeys"), None, None, &[], None),
    row("io.k8s.api.apps.v1.DeploymentStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.apps.v1.ReplicaSetStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.apps.v1.StatefulSetSpec", "volumeClaimTemplates", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.apps.v1.StatefulSetStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.authentication.v1.TokenRequestSpec", "audiences", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authentication.v1.TokenReviewSpec", "audiences", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authentication.v1.TokenReviewStatus", "audiences", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authentication.v1.UserInfo", "groups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authorization.v1.FieldSelectorAttributes", "requirements", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authorization.v1.LabelSelectorAttributes", "requirements", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authorization.v1.NonResourceRule", "nonResourceURLs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authorization.v1.NonResourceRule", "verbs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authorization.v1.ResourceRule", "apiGroups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authorization.v1.ResourceRule", "resourceNames", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authorization.v1.ResourceRule", "resources", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authorization.v1.ResourceRule", "verbs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authorization.v1.SubjectAccessReviewSpec", "groups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authorization.v1.SubjectRulesReviewStatus", "nonResourceRules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.authorization.v1.SubjectRulesReviewStatus", "resourceRules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.autoscaling.v2.HPAScalingRules", "policies", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", "currentMetrics", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.batch.v1.CronJobStatus", "active", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.batch.v1.JobStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Atomic), &[], None),
    row("io.k8s.api.batch.v1.PodFailurePolicy", "rules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement", "values", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.batch.v1.PodFailurePolicyRule", "onPodConditions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.batch.v1.SuccessPolicy", "rules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.batch.v1.UncountedTerminatedPods", "failed", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.batch.v1.UncountedTerminatedPods", "succeeded", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.certificates.v1.CertificateSigningRequestSpec", "groups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.certificates.v1.CertificateSigningRequestSpec", "request", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.certificates.v1.CertificateSigningRequestSpec", "usages", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.certificates.v1.CertificateSigningRequestStatus", "certificate", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.certificates.v1.CertificateSigningRequestStatus", "conditions", None, None, Some(ListType::Map), &["type"], None),
    row("io.k8s.api.core.v1.Capabilities", "add", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.Capabilities", "drop", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.CephFSPersistentVolumeSource", "monitors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.CephFSVolumeSource", "monitors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ComponentStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.core.v1.ConfigMapProjection", "items", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ConfigMapVolumeSource", "items", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.Container", "args", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.Container", "command", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.Container", "env", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.Container", "envFrom", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.Container", "ports", Some("merge"), Some("containerPort"), Some(ListType::Map), &["containerPort", "protocol"], None),
    row("io.k8s.api.core.v1.Container", "resizePolicy", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.Container", "volumeDevices", Some("merge"), Some("devicePath"), Some(ListType::Map), &["devicePath"], None),
    row("io.k8s.api.core.v1.Container", "volumeMounts", Some("merge"), Some("mountPath"), Some(ListType::Map), &["mountPath"], None),
    row("io.k8s.api.core.v1.ContainerImage", "names", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ContainerStatus", "allocatedResourcesStatus", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.ContainerStatus", "volumeMounts", Some("merge"), Some("mountPath"), Some(ListType::Map), &["mountPath"], None),
    row("io.k8s.api.core.v1.DownwardAPIProjection", "items", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.DownwardAPIVolumeSource", "items", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.EndpointSubset", "addresses", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.EndpointSubset", "notReadyAddresses", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.EndpointSubset", "ports", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.Endpoints", "subsets", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.EphemeralContainer", "args", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.EphemeralContainer", "command", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.EphemeralContainer", "env", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.EphemeralContainer", "envFrom", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.EphemeralContainer", "ports", Some("merge"), Some("containerPort"), Some(ListType::Map), &["containerPort", "protocol"], None),
    row("io.k8s.api.core.v1.EphemeralContainer", "resizePolicy", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.EphemeralContainer", "volumeDevices", Some("merge"), Some("devicePath"), Some(ListType::Map), &["devicePath"], None),
    row("io.k8s.api.core.v1.EphemeralContainer", "volumeMounts", Some("merge"), Some("mountPath"), Some(ListType::Map), &["mountPath"], None),
    row("io.k8s.api.core.v1.ExecAction", "command", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.FCVolumeSource", "targetWWNs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.FCVolumeSource", "wwids", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.HTTPGetAction", "httpHeaders", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.HostAlias", "hostnames", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ISCSIPersistentVolumeSource", "portals", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ISCSIVolumeSource", "portals", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.LimitRangeSpec", "limits", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.LinuxContainerUser", "supplementalGroups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.LoadBalancerIngress", "ports", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.LoadBalancerStatus", "ingress", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.NamespaceSpec", "finalizers", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.NamespaceStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.core.v1.NodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.NodeSelector", "nodeSelectorTerms", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.NodeSelectorRequirement", "values", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.NodeSelectorTerm", "matchExpressions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.NodeSelectorTerm", "matchFields", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.NodeSpec", "podCIDRs", Some("merge"), None, Some(ListType::Set), &[], None),
    row("io.k8s.api.core.v1.NodeSpec", "taints", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.NodeStatus", "addresses", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.core.v1.NodeStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.core.v1.NodeStatus", "images", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.NodeStatus", "runtimeHandlers", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.NodeStatus", "volumesAttached", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.NodeStatus", "volumesInUse", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PersistentVolumeClaimSpec", "accessModes", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "accessModes", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "allocatedResourceStatuses", None, None, None, &[], Some(MapType::Granular)),
    row("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.core.v1.PersistentVolumeSpec", "accessModes", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PersistentVolumeSpec", "claimRef", None, None, None, &[], Some(MapType::Granular)),
    row("io.k8s.api.core.v1.PersistentVolumeSpec", "mountOptions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodAffinity", "preferredDuringSchedulingIgnoredDuringExecution", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodAffinity", "requiredDuringSchedulingIgnoredDuringExecution", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodAffinityTerm", "matchLabelKeys", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodAffinityTerm", "mismatchLabelKeys", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodAffinityTerm", "namespaces", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodDNSConfig", "nameservers", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodDNSConfig", "options", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodDNSConfig", "searches", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodSecurityContext", "supplementalGroups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodSecurityContext", "sysctls", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodSpec", "containers", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.PodSpec", "ephemeralContainers", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.PodSpec", "hostAliases", Some("merge"), Some("ip"), Some(ListType::Map), &["ip"], None),
    row("io.k8s.api.core.v1.PodSpec", "imagePullSecrets", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.PodSpec", "initContainers", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.PodSpec", "nodeSelector", None, None, None, &[], Some(MapType::Atomic)),
    row("io.k8s.api.core.v1.PodSpec", "readinessGates", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodSpec", "resourceClaims", Some("merge,retainKeys"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.PodSpec", "schedulingGates", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.PodSpec", "tolerations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodSpec", "topologySpreadConstraints", Some("merge"), Some("topologyKey"), Some(ListType::Map), &["topologyKey", "whenUnsatisfiable"], None),
    row("io.k8s.api.core.v1.PodSpec", "volumes", Some("merge,retainKeys"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.PodStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.core.v1.PodStatus", "containerStatuses", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodStatus", "ephemeralContainerStatuses", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodStatus", "hostIPs", Some("merge"), Some("ip"), Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodStatus", "initContainerStatuses", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.PodStatus", "podIPs", Some("merge"), Some("ip"), Some(ListType::Map), &["ip"], None),
    row("io.k8s.api.core.v1.PodStatus", "resourceClaimStatuses", Some("merge,retainKeys"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.ProjectedVolumeSource", "sources", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.RBDPersistentVolumeSource", "monitors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.RBDVolumeSource", "monitors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ReplicationControllerSpec", "selector", None, None, None, &[], Some(MapType::Atomic)),
    row("io.k8s.api.core.v1.ReplicationControllerStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.core.v1.ResourceQuotaSpec", "scopes", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ResourceRequirements", "claims", None, None, Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.ResourceStatus", "resources", None, None, Some(ListType::Map), &["resourceID"], None),
    row("io.k8s.api.core.v1.ScopeSelector", "matchExpressions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ScopedResourceSelectorRequirement", "values", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.SecretProjection", "items", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.SecretVolumeSource", "items", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ServiceAccount", "imagePullSecrets", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ServiceAccount", "secrets", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.core.v1.ServiceSpec", "clusterIPs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ServiceSpec", "externalIPs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ServiceSpec", "ipFamilies", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ServiceSpec", "loadBalancerSourceRanges", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.ServiceSpec", "ports", Some("merge"), Some("port"), Some(ListType::Map), &["port", "protocol"], None),
    row("io.k8s.api.core.v1.ServiceSpec", "selector", None, None, None, &[], Some(MapType::Atomic)),
    row("io.k8s.api.core.v1.ServiceStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.core.v1.TopologySelectorLabelRequirement", "values", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.TopologySelectorTerm", "matchLabelExpressions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.core.v1.TopologySpreadConstraint", "matchLabelKeys", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.discovery.v1.Endpoint", "addresses", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.discovery.v1.EndpointHints", "forNodes", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.discovery.v1.EndpointHints", "forZones", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.discovery.v1.EndpointSlice", "endpoints", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.discovery.v1.EndpointSlice", "ports", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.flowcontrol.v1.FlowSchemaSpec", "rules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.flowcontrol.v1.FlowSchemaStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.flowcontrol.v1.NonResourcePolicyRule", "nonResourceURLs", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.flowcontrol.v1.NonResourcePolicyRule", "verbs", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.flowcontrol.v1.PolicyRulesWithSubjects", "nonResourceRules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.flowcontrol.v1.PolicyRulesWithSubjects", "resourceRules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.flowcontrol.v1.PolicyRulesWithSubjects", "subjects", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.flowcontrol.v1.ResourcePolicyRule", "apiGroups", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.flowcontrol.v1.ResourcePolicyRule", "namespaces", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.flowcontrol.v1.ResourcePolicyRule", "resources", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.flowcontrol.v1.ResourcePolicyRule", "verbs", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.networking.v1.HTTPIngressRuleValue", "paths", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.IPBlock", "except", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.IngressLoadBalancerIngress", "ports", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.IngressLoadBalancerStatus", "ingress", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.IngressSpec", "rules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.IngressSpec", "tls", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.IngressTLS", "hosts", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.NetworkPolicyEgressRule", "ports", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.NetworkPolicyEgressRule", "to", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.NetworkPolicyIngressRule", "from", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.NetworkPolicyIngressRule", "ports", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.NetworkPolicySpec", "egress", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.NetworkPolicySpec", "ingress", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.NetworkPolicySpec", "policyTypes", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.ServiceCIDRSpec", "cidrs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1.ServiceCIDRStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.networking.v1beta1.ServiceCIDRSpec", "cidrs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.networking.v1beta1.ServiceCIDRStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.node.v1.Scheduling", "nodeSelector", None, None, None, &[], Some(MapType::Atomic)),
    row("io.k8s.api.node.v1.Scheduling", "tolerations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", "selector", Some("replace"), None, None, &[], None),
    row("io.k8s.api.policy.v1.PodDisruptionBudgetStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.rbac.v1.AggregationRule", "clusterRoleSelectors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.rbac.v1.ClusterRole", "rules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.rbac.v1.ClusterRoleBinding", "subjects", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.rbac.v1.PolicyRule", "apiGroups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.rbac.v1.PolicyRule", "nonResourceURLs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.rbac.v1.PolicyRule", "resourceNames", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.rbac.v1.PolicyRule", "resources", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.rbac.v1.PolicyRule", "verbs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.rbac.v1.Role", "rules", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.rbac.v1.RoleBinding", "subjects", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.AllocatedDeviceStatus", "conditions", None, None, Some(ListType::Map), &["type"], None),
    row("io.k8s.api.resource.v1alpha3.BasicDevice", "consumesCounters", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.BasicDevice", "taints", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceAllocationConfiguration", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceAllocationResult", "config", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceAllocationResult", "results", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceClaim", "config", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceClaim", "constraints", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceClaim", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceClaimConfiguration", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceClassSpec", "config", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceClassSpec", "selectors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceConstraint", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceRequest", "firstAvailable", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceRequest", "selectors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceRequest", "tolerations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceRequestAllocationResult", "tolerations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceSubRequest", "selectors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceSubRequest", "tolerations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.DeviceTaintSelector", "selectors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.NetworkDeviceData", "ips", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.ResourceClaimStatus", "devices", None, None, Some(ListType::Map), &["driver", "device", "pool"], None),
    row("io.k8s.api.resource.v1alpha3.ResourceClaimStatus", "reservedFor", Some("merge"), Some("uid"), Some(ListType::Map), &["uid"], None),
    row("io.k8s.api.resource.v1alpha3.ResourceSliceSpec", "devices", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1alpha3.ResourceSliceSpec", "sharedCounters", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.AllocatedDeviceStatus", "conditions", None, None, Some(ListType::Map), &["type"], None),
    row("io.k8s.api.resource.v1beta1.BasicDevice", "consumesCounters", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.BasicDevice", "taints", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceAllocationConfiguration", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceAllocationResult", "config", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceAllocationResult", "results", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceClaim", "config", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceClaim", "constraints", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceClaim", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceClaimConfiguration", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceClassSpec", "config", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceClassSpec", "selectors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceConstraint", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceRequest", "firstAvailable", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceRequest", "selectors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceRequest", "tolerations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceRequestAllocationResult", "tolerations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceSubRequest", "selectors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.DeviceSubRequest", "tolerations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.NetworkDeviceData", "ips", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.ResourceClaimStatus", "devices", None, None, Some(ListType::Map), &["driver", "device", "pool"], None),
    row("io.k8s.api.resource.v1beta1.ResourceClaimStatus", "reservedFor", Some("merge"), Some("uid"), Some(ListType::Map), &["uid"], None),
    row("io.k8s.api.resource.v1beta1.ResourceSliceSpec", "devices", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta1.ResourceSliceSpec", "sharedCounters", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.AllocatedDeviceStatus", "conditions", None, None, Some(ListType::Map), &["type"], None),
    row("io.k8s.api.resource.v1beta2.Device", "consumesCounters", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.Device", "taints", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceAllocationConfiguration", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceAllocationResult", "config", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceAllocationResult", "results", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceClaim", "config", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceClaim", "constraints", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceClaim", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceClaimConfiguration", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceClassSpec", "config", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceClassSpec", "selectors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceConstraint", "requests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceRequest", "firstAvailable", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceRequestAllocationResult", "tolerations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceSubRequest", "selectors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.DeviceSubRequest", "tolerations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.ExactDeviceRequest", "selectors", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.ExactDeviceRequest", "tolerations", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.NetworkDeviceData", "ips", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.ResourceClaimStatus", "devices", None, None, Some(ListType::Map), &["driver", "device", "pool"], None),
    row("io.k8s.api.resource.v1beta2.ResourceClaimStatus", "reservedFor", Some("merge"), Some("uid"), Some(ListType::Map), &["uid"], None),
    row("io.k8s.api.resource.v1beta2.ResourceSliceSpec", "devices", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.resource.v1beta2.ResourceSliceSpec", "sharedCounters", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.storage.v1.CSIDriverSpec", "tokenRequests", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.storage.v1.CSIDriverSpec", "volumeLifecycleModes", None, None, Some(ListType::Set), &[], None),
    row("io.k8s.api.storage.v1.CSINodeDriver", "topologyKeys", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.storage.v1.CSINodeSpec", "drivers", Some("merge"), Some("name"), Some(ListType::Map), &["name"], None),
    row("io.k8s.api.storage.v1.StorageClass", "allowedTopologies", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.storage.v1.StorageClass", "mountOptions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.api.storagemigration.v1alpha1.StorageVersionMigrationList", "items", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.api.storagemigration.v1alpha1.StorageVersionMigrationStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames", "categories", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames", "shortNames", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec", "versions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus", "conditions", None, None, Some(ListType::Map), &["type"], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus", "storedVersions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion", "additionalPrinterColumns", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion", "selectableFields", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "allOf", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "anyOf", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "enum", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "oneOf", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "required", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "x-kubernetes-list-map-keys", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "x-kubernetes-validations", Some("merge"), Some("rule"), Some(ListType::Map), &["rule"], None),
    row("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.WebhookConversion", "conversionReviewVersions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup", "serverAddressByClientCIDRs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup", "versions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList", "groups", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.APIResource", "categories", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.APIResource", "shortNames", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList", "resources", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions", "serverAddressByClientCIDRs", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions", "versions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", "dryRun", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement", "values", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", "matchExpressions", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement", "values", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", Some("merge"), None, Some(ListType::Set), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "managedFields", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences", Some("merge"), Some("uid"), Some(ListType::Map), &["uid"], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.Status", "details", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails", "causes", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceSpec", "caBundle", None, None, Some(ListType::Atomic), &[], None),
    row("io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceStatus", "conditions", Some("merge"), Some("type"), Some(ListType::Map), &["type"], None),
];

/// The definitions upstream marks `x-kubernetes-map-type: atomic` as a whole, sorted.
#[rustfmt::skip]
pub static ATOMIC_DEFINITIONS: &[&str] = &[
    "io.k8s.api.admissionregistration.v1.MatchResources",
    "io.k8s.api.admissionregistration.v1.NamedRuleWithOperations",
    "io.k8s.api.admissionregistration.v1.ParamKind",
    "io.k8s.api.admissionregistration.v1.ParamRef",
    "io.k8s.api.admissionregistration.v1.Variable",
    "io.k8s.api.admissionregistration.v1alpha1.MatchResources",
    "io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations",
    "io.k8s.api.admissionregistration.v1alpha1.ParamKind",
    "io.k8s.api.admissionregistration.v1alpha1.ParamRef",
    "io.k8s.api.admissionregistration.v1beta1.MatchResources",
    "io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations",
    "io.k8s.api.admissionregistration.v1beta1.ParamKind",
    "io.k8s.api.admissionregistration.v1beta1.ParamRef",
    "io.k8s.api.admissionregistration.v1beta1.Variable",
    "io.k8s.api.autoscaling.v1.CrossVersionObjectReference",
    "io.k8s.api.core.v1.ConfigMapKeySelector",
    "io.k8s.api.core.v1.EndpointAddress",
    "io.k8s.api.core.v1.EndpointPort",
    "io.k8s.api.core.v1.LocalObjectReference",
    "io.k8s.api.core.v1.NodeSelector",
    "io.k8s.api.core.v1.NodeSelectorTerm",
    "io.k8s.api.core.v1.ObjectFieldSelector",
    "io.k8s.api.core.v1.ObjectReference",
    "io.k8s.api.core.v1.ResourceFieldSelector",
    "io.k8s.api.core.v1.ScopeSelector",
    "io.k8s.api.core.v1.SecretKeySelector",
    "io.k8s.api.core.v1.SecretReference",
    "io.k8s.api.core.v1.TopologySelectorTerm",
    "io.k8s.api.core.v1.TypedLocalObjectReference",
    "io.k8s.api.discovery.v1.EndpointPort",
    "io.k8s.api.networking.v1.ServiceBackendPort",
    "io.k8s.api.rbac.v1.RoleRef",
    "io.k8s.api.rbac.v1.Subject",
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
    "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in FIELD_PATCH_METADATA.windows(2) {
            assert!(
                (pair[0].definition, pair[0].field) < (pair[1].definition, pair[1].field),
                "{}.{} is out of order",
                pair[1].definition,
                pair[1].field
            );
        }
        for pair in ATOMIC_DEFINITIONS.windows(2) {
            assert!(pair[0] < pair[1], "{} is out of order", pair[1]);
        }
    }

    #[test]
    fn table_rows_are_consistent() {
        for row in FIELD_PATCH_METADATA {
            if let Some(s) = row.patch_strategy {
                for part in s.split(',') {
                    assert!(
                        matches!(part, "merge" | "retainKeys" | "replace"),
                        "{}.{}: {s}",
                        row.definition,
                        row.field
                    );
                }
            }
            assert_eq!(
                row.list_type == Some(ListType::Map),
                !row.list_map_keys.is_empty(),
                "{}.{}",
                row.definition,
                row.field
            );
        }
    }

    #[test]
    fn well_known_entries() {
        let c = |d: &str, f: &str| {
            let r = lookup(d, f).unwrap_or_else(|| panic!("{d}.{f} missing"));
            (r.patch_strategy, r.patch_merge_key)
        };
        assert_eq!(
            c("io.k8s.api.core.v1.PodSpec", "containers"),
            (Some("merge"), Some("name"))
        );
        assert_eq!(
            c("io.k8s.api.core.v1.PodSpec", "initContainers"),
            (Some("merge"), Some("name"))
        );
        assert_eq!(
            c("io.k8s.api.core.v1.PodSpec", "volumes"),
            (Some("merge,retainKeys"), Some("name"))
        );
        assert_eq!(
            c("io.k8s.api.core.v1.Container", "ports"),
            (Some("merge"), Some("containerPort"))
        );
        assert_eq!(
            c("io.k8s.api.core.v1.Container", "env"),
            (Some("merge"), Some("name"))
        );
        assert_eq!(
            c("io.k8s.api.core.v1.Container", "volumeMounts"),
            (Some("merge"), Some("mountPath"))
        );
        assert_eq!(
            c("io.k8s.api.core.v1.ServiceSpec", "ports"),
            (Some("merge"), Some("port"))
        );
        assert_eq!(
            c("io.k8s.api.core.v1.NodeStatus", "addresses"),
            (Some("merge"), Some("type"))
        );
        assert_eq!(
            c("io.k8s.api.core.v1.PodStatus", "conditions"),
            (Some("merge"), Some("type"))
        );
        assert_eq!(
            c("io.k8s.api.apps.v1.DeploymentStatus", "conditions"),
            (Some("merge"), Some("type"))
        );
        assert_eq!(
            c("io.k8s.api.apps.v1.DeploymentSpec", "strategy"),
            (Some("retainKeys"), None)
        );
        assert_eq!(
            c("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", "selector"),
            (Some("replace"), None)
        );
        let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
        assert_eq!(c(meta, "finalizers"), (Some("merge"), None));
        assert_eq!(c(meta, "ownerReferences"), (Some("merge"), Some("uid")));
        // Tolerations carry no patch strategy upstream: they are replaced whole.
        let tol = lookup("io.k8s.api.core.v1.PodSpec", "tolerations").unwrap();
        assert_eq!(
            (tol.patch_strategy, tol.list_type),
            (None, Some(ListType::Atomic))
        );
        let tsc = lookup("io.k8s.api.core.v1.PodSpec", "topologySpreadConstraints").unwrap();
        assert_eq!(tsc.list_map_keys, &["topologyKey", "whenUnsatisfiable"]);
        assert_eq!(lookup("io.k8s.api.core.v1.PodSpec", "hostname"), None);
        assert_eq!(
            definition_map_type("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
            Some(MapType::Atomic)
        );
        assert_eq!(definition_map_type("io.k8s.api.core.v1.PodSpec"), None);
        assert!(fields_of("io.k8s.api.core.v1.PodSpec")
            .iter()
            .any(|r| r.field == "volumes"));
        assert!(fields_of("io.k8s.api.core.v1.NoSuchThing").is_empty());
        assert_eq!(
            list_key_default("io.k8s.api.core.v1.ContainerPort", "protocol"),
            Some("TCP")
        );
        assert_eq!(
            list_key_default("io.k8s.api.core.v1.ContainerPort", "name"),
            None
        );
    }

    #[test]
    fn annotates_component_schemas() {
        let mut schemas = Map::new();
        schemas.insert(
            "io.k8s.api.core.v1.PodSpec".into(),
            json!({"type": "object", "properties": {
                "containers": {"type": "array", "items": {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}},
                "hostname": {"type": "string"},
                "volumes": {"type": "array", "x-kubernetes-patch-strategy": "custom"}
            }}),
        );
        schemas.insert(
            "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector".into(),
            json!({"type": "object"}),
        );
        annotate_components(&mut schemas);
        let containers = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers[PATCH_STRATEGY_EXTENSION], "merge");
        assert_eq!(containers[PATCH_MERGE_KEY_EXTENSION], "name");
        assert_eq!(containers[LIST_TYPE_EXTENSION], "map");
        assert_eq!(containers[LIST_MAP_KEYS_EXTENSION], json!(["name"]));
        let hostname = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["hostname"];
        assert_eq!(hostname, &json!({"type": "string"}));
        // An extension already present is kept.
        let volumes = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["volumes"];
        assert_eq!(volumes[PATCH_STRATEGY_EXTENSION], "custom");
        assert_eq!(volumes[PATCH_MERGE_KEY_EXTENSION], "name");
        assert_eq!(
            schemas["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"][MAP_TYPE_EXTENSION],
            "atomic"
        );
    }
}
