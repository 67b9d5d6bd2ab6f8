//! The definitions of every built-in type, generated once from k8s-openapi's `JsonSchema`
//! impls: each API kind is asked for its schema, which pulls in every type it references.
//! k8s-openapi has no schema for list kinds (`io.k8s.api.apps.v1.DeploymentList`; its
//! `List<T>` is generic), so those are written here.

use std::collections::BTreeMap;

use k8s_openapi::api;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;
use k8s_openapi::schemars::generate::{SchemaGenerator, SchemaSettings};
use k8s_openapi::schemars::JsonSchema;
use k8s_openapi::{ListableResource, Resource};
use serde_json::{json, Map, Value};

use super::schema::{gvk_extension, ref_to, GVK_EXTENSION};
use super::Gvk;

/// Name of the ObjectMeta definition.
pub const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
/// Name of the ListMeta definition.
pub const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
/// Name of the Status definition (delete responses).
pub const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
/// Name of the DeleteOptions definition (delete request bodies).
pub const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
/// Name of the Patch definition (patch request bodies).
pub const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
/// Name of the WatchEvent definition.
pub const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";

/// The built-in definitions, in v3 form, and the kind -> definition index.
pub struct Builtins {
    /// Definition name -> schema (`$ref`s point at `#/components/schemas/`).
    pub schemas: Map<String, Value>,
    /// (group, version, kind) -> definition name, for kinds and their lists.
    pub kinds: BTreeMap<Gvk, String>,
}

/// Collects schemas through one schemars generator and records the kinds seen.
struct Registrar {
    generator: SchemaGenerator,
    kinds: BTreeMap<Gvk, String>,
    lists: Vec<(Gvk, String, String)>,
}

impl Registrar {
    fn new() -> Self {
        let settings = SchemaSettings::openapi3().with(|s| {
            s.meta_schema = None;
            s.transforms.clear();
            s.inline_subschemas = false;
        });
        Registrar { generator: settings.into_generator(), kinds: BTreeMap::new(), lists: Vec::new() }
    }

    /// Registers a type that is not a kind (its schema only).
    fn schema<T: JsonSchema>(&mut self) {
        let _ = self.generator.subschema_for::<T>();
    }

    /// Registers a kind.
    fn kind<T: JsonSchema + Resource>(&mut self) {
        self.schema::<T>();
        let gvk = Gvk::new(T::GROUP, T::VERSION, T::KIND);
        self.kinds.insert(gvk, T::schema_name().into_owned());
    }

    /// Registers a kind and its list kind.
    fn listable<T: JsonSchema + ListableResource>(&mut self) {
        self.kind::<T>();
        let item = T::schema_name().into_owned();
        let list_gvk = Gvk::new(T::GROUP, T::VERSION, T::LIST_KIND);
        let list_name = format!("{item}List");
        self.kinds.insert(list_gvk.clone(), list_name.clone());
        self.lists.push((list_gvk, list_name, item));
    }

    fn finish(mut self) -> Builtins {
        let mut schemas = self.generator.take_definitions(false);
        for (gvk, name, item) in &self.lists {
            schemas.insert(name.clone(), list_schema(gvk, item));
        }
        for (gvk, name) in &self.kinds {
            add_gvk(&mut schemas, name, gvk);
        }
        Builtins { schemas, kinds: self.kinds }
    }
}

/// Appends `gvk` to the `x-kubernetes-group-version-kind` list of the definition `name`.
fn add_gvk(schemas: &mut Map<String, Value>, name: &str, gvk: &Gvk) {
    let Some(obj) = schemas.get_mut(name).and_then(Value::as_object_mut) else {
        return;
    };
    let entry = obj.entry(GVK_EXTENSION).or_insert_with(|| Value::Array(Vec::new()));
    if let (Some(list), Value::Array(mut extra)) = (entry.as_array_mut(), gvk_extension(gvk)) {
        list.append(&mut extra);
    }
}

/// The schema of a list kind whose items are the definition `item`.
pub fn list_schema(gvk: &Gvk, item: &str) -> Value {
    json!({
        "description": format!("{} is a list of {}.", gvk.kind, item.rsplit('.').next().unwrap_or(item)),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
                "type": "string"
            },
            "items": {
                "description": "List of objects.",
                "type": "array",
                "items": ref_to(item)
            },
            "kind": {
                "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                "type": "string"
            },
            "metadata": {
                "allOf": [ref_to(LIST_META)],
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
            }
        },
        "required": ["items"]
    })
}

/// Generates every built-in definition.
pub fn generate() -> Builtins {
    let mut r = Registrar::new();
    register_core(&mut r);
    register_workloads(&mut r);
    register_access(&mut r);
    register_networking(&mut r);
    register_storage(&mut r);
    register_extensions(&mut r);
    register_meta(&mut r);
    r.finish()
}

fn register_core(r: &mut Registrar) {
    use api::core::v1 as core;
    r.kind::<core::Binding>();
    r.listable::<core::ComponentStatus>();
    r.listable::<core::ConfigMap>();
    r.listable::<core::Endpoints>();
    r.listable::<core::Event>();
    r.listable::<core::LimitRange>();
    r.listable::<core::Namespace>();
    r.listable::<core::Node>();
    r.listable::<core::PersistentVolume>();
    r.listable::<core::PersistentVolumeClaim>();
    r.listable::<core::Pod>();
    r.listable::<core::PodTemplate>();
    r.listable::<core::ReplicationController>();
    r.listable::<core::ResourceQuota>();
    r.listable::<core::Secret>();
    r.listable::<core::Service>();
    r.listable::<core::ServiceAccount>();
    r.listable::<api::events::v1::Event>();
    r.listable::<api::coordination::v1::Lease>();
    r.listable::<api::coordination::v1alpha2::LeaseCandidate>();
    r.listable::<api::coordination::v1beta1::LeaseCandidate>();
}

fn register_workloads(r: &mut Registrar) {
    use api::apps::v1 as apps;
    r.listable::<apps::ControllerRevision>();
    r.listable::<apps::DaemonSet>();
    r.listable::<apps::Deployment>();
    r.listable::<apps::ReplicaSet>();
    r.listable::<apps::StatefulSet>();
    r.listable::<api::batch::v1::CronJob>();
    r.listable::<api::batch::v1::Job>();
    r.kind::<api::autoscaling::v1::Scale>();
    r.listable::<api::autoscaling::v1::HorizontalPodAutoscaler>();
    r.listable::<api::autoscaling::v2::HorizontalPodAutoscaler>();
    r.kind::<api::policy::v1::Eviction>();
    r.listable::<api::policy::v1::PodDisruptionBudget>();
    r.listable::<api::scheduling::v1::PriorityClass>();
    r.listable::<api::node::v1::RuntimeClass>();
    r.listable::<api::resource::v1alpha3::DeviceClass>();
    r.listable::<api::resource::v1alpha3::DeviceTaintRule>();
    r.listable::<api::resource::v1alpha3::ResourceClaim>();
    r.listable::<api::resource::v1alpha3::ResourceClaimTemplate>();
    r.listable::<api::resource::v1alpha3::ResourceSlice>();
    r.listable::<api::resource::v1beta1::DeviceClass>();
    r.listable::<api::resource::v1beta1::ResourceClaim>();
    r.listable::<api::resource::v1beta1::ResourceClaimTemplate>();
    r.listable::<api::resource::v1beta1::ResourceSlice>();
    r.listable::<api::resource::v1beta2::DeviceClass>();
    r.listable::<api::resource::v1beta2::ResourceClaim>();
    r.listable::<api::resource::v1beta2::ResourceClaimTemplate>();
    r.listable::<api::resource::v1beta2::ResourceSlice>();
}

fn register_access(r: &mut Registrar) {
    r.kind::<api::authentication::v1::SelfSubjectReview>();
    r.kind::<api::authentication::v1::TokenRequest>();
    r.kind::<api::authentication::v1::TokenReview>();
    r.kind::<api::authorization::v1::LocalSubjectAccessReview>();
    r.kind::<api::authorization::v1::SelfSubjectAccessReview>();
    r.kind::<api::authorization::v1::SelfSubjectRulesReview>();
    r.kind::<api::authorization::v1::SubjectAccessReview>();
    r.listable::<api::rbac::v1::ClusterRole>();
    r.listable::<api::rbac::v1::ClusterRoleBinding>();
    r.listable::<api::rbac::v1::Role>();
    r.listable::<api::rbac::v1::RoleBinding>();
    r.listable::<api::certificates::v1::CertificateSigningRequest>();
    r.listable::<api::certificates::v1alpha1::ClusterTrustBundle>();
    r.listable::<api::certificates::v1beta1::ClusterTrustBundle>();
    r.listable::<api::flowcontrol::v1::FlowSchema>();
    r.listable::<api::flowcontrol::v1::PriorityLevelConfiguration>();
    r.listable::<api::admissionregistration::v1::MutatingWebhookConfiguration>();
    r.listable::<api::admissionregistration::v1::ValidatingAdmissionPolicy>();
    r.listable::<api::admissionregistration::v1::ValidatingAdmissionPolicyBinding>();
    r.listable::<api::admissionregistration::v1::ValidatingWebhookConfiguration>();
    r.listable::<api::admissionregistration::v1alpha1::MutatingAdmissionPolicy>();
    r.listable::<api::admissionregistration::v1alpha1::MutatingAdmissionPolicyBinding>();
    r.listable::<api::admissionregistration::v1beta1::ValidatingAdmissionPolicy>();
    r.listable::<api::admissionregistration::v1beta1::ValidatingAdmissionPolicyBinding>();
}

fn register_networking(r: &mut Registrar) {
    use api::networking::{v1, v1beta1};
    r.listable::<api::discovery::v1::EndpointSlice>();
    r.listable::<v1::IPAddress>();
    r.listable::<v1::Ingress>();
    r.listable::<v1::IngressClass>();
    r.listable::<v1::NetworkPolicy>();
    r.listable::<v1::ServiceCIDR>();
    r.listable::<v1beta1::IPAddress>();
    r.listable::<v1beta1::ServiceCIDR>();
}

fn register_storage(r: &mut Registrar) {
    use api::storage::v1 as storage;
    r.listable::<storage::CSIDriver>();
    r.listable::<storage::CSINode>();
    r.listable::<storage::CSIStorageCapacity>();
    r.listable::<storage::StorageClass>();
    r.listable::<storage::VolumeAttachment>();
    r.listable::<api::storage::v1alpha1::VolumeAttributesClass>();
    r.listable::<api::storage::v1beta1::VolumeAttributesClass>();
    r.listable::<api::storagemigration::v1alpha1::StorageVersionMigration>();
    r.listable::<api::apiserverinternal::v1alpha1::StorageVersion>();
}

fn register_extensions(r: &mut Registrar) {
    r.listable::<apiextensions::CustomResourceDefinition>();
    r.listable::<apiregistration::APIService>();
}

fn register_meta(r: &mut Registrar) {
    r.kind::<meta::APIGroup>();
    r.kind::<meta::APIGroupList>();
    r.kind::<meta::APIResourceList>();
    r.kind::<meta::APIVersions>();
    r.kind::<meta::Status>();
    r.schema::<meta::DeleteOptions>();
    r.schema::<meta::Patch>();
    r.schema::<meta::WatchEvent<api::core::v1::Pod>>();
    r.schema::<meta::MicroTime>();
    r.schema::<k8s_openapi::apimachinery::pkg::version::Info>();
}
