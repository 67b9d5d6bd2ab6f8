//! OpenAPI: the schemas of every served kind, published as upstream does.
//!
//! - `/openapi/v2`: one Swagger 2.0 document (JSON, or gnostic protobuf when asked for
//!   `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`; kubectl 1.27/1.28 use it
//!   for client-side validation, `explain` and apply's patch metadata).
//! - `/openapi/v3`: an index of group-versions, each at `/openapi/v3/apis/G/V?hash=H`, an
//!   OpenAPI 3.0 document with the group-version's operations and the definitions they
//!   reference (kubectl 1.29+ uses them for validation support detection, `explain` and the
//!   patch metadata of client-side apply).
//!
//! Built-in definitions come from k8s-openapi's `JsonSchema` impls, named as upstream
//! (`io.k8s.api.apps.v1.Deployment`), with the patch metadata of
//! [`rkube_apimachinery::merge_keys`]. They are generated once, in [`OpenApi::new`]; the
//! documents depend on the catalog (custom resources), so they are rebuilt when its snapshot
//! changes.

pub mod builtin;
pub mod custom;
pub mod gnostic;
pub mod hash;
pub mod paths;
pub mod schema;
mod serve;
pub mod v2;
pub mod v3;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Map, Value};

use crate::resources::catalog::Snapshot;
use crate::resources::ResourceInfo;

pub use serve::{serve_v2, serve_v3_group_version, serve_v3_root};

/// The version reported in the documents' `info`.
pub const KUBERNETES_VERSION: &str = "v1.33.0";

/// A group, version and kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gvk {
    /// API group, "" for core.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

impl Gvk {
    /// A group-version-kind from its parts.
    pub fn new(group: &str, version: &str, kind: &str) -> Self {
        Gvk { group: group.to_string(), version: version.to_string(), kind: kind.to_string() }
    }
}

/// Failures of the OpenAPI endpoints.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    /// No document for the requested group-version.
    #[error("the server could not find the requested resource")]
    NotFound,
    /// Building a document failed (the worker thread died).
    #[error("building the OpenAPI document failed: {0}")]
    Build(String),
}

/// The definition names a served resource's operations use.
#[derive(Clone, Debug)]
pub struct ResourceNames {
    /// Definition of one object.
    pub object: String,
    /// Definition of its list.
    pub list: String,
    /// True for custom resources (no strategic merge patch, JSON and YAML only).
    pub custom: bool,
}

impl ResourceNames {
    /// The view [`paths::routes`] takes.
    pub fn as_names<'a>(&'a self, info: &'a ResourceInfo) -> paths::Names<'a> {
        paths::Names { info, object: &self.object, list: &self.list, custom: self.custom }
    }
}

/// Documents built for one catalog snapshot, rebuilt when the snapshot changes.
struct Cache<T> {
    slot: Mutex<Option<(Arc<Snapshot>, Arc<T>)>>,
}

impl<T> Cache<T> {
    fn new() -> Self {
        Cache { slot: Mutex::new(None) }
    }

    /// The cached value for `snapshot`, or a new one from `build`. The snapshot is held, so
    /// pointer equality cannot be fooled by a reused allocation.
    fn get_or_build(&self, snapshot: &Arc<Snapshot>, build: impl FnOnce() -> T) -> Arc<T> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached, value)) = slot.as_ref() {
            if Arc::ptr_eq(cached, snapshot) {
                return value.clone();
            }
        }
        let value = Arc::new(build());
        *slot = Some((snapshot.clone(), value.clone()));
        value
    }
}

/// The OpenAPI definitions of the server, and its published documents.
pub struct OpenApi {
    builtins: builtin::Builtins,
    builtins_v2: Map<String, Value>,
    v2: Cache<v2::V2Docs>,
    v3: Cache<v3::V3Docs>,
}

impl Default for OpenApi {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenApi {
    /// Generates every built-in definition (v3 and v2 forms) with its patch metadata.
    pub fn new() -> OpenApi {
        let mut builtins = builtin::generate();
        rkube_apimachinery::merge_keys::annotate_components(&mut builtins.schemas);
        for schema in builtins.schemas.values_mut() {
            schema::siblings_to_all_of(schema);
        }
        builtins.schemas.sort_keys();
        let mut builtins_v2 = builtins.schemas.clone();
        for schema in builtins_v2.values_mut() {
            schema::to_v2(schema);
        }
        OpenApi { builtins, builtins_v2, v2: Cache::new(), v3: Cache::new() }
    }

    /// Every built-in definition in v3 form (`$ref`s to `#/components/schemas/NAME`; a
    /// property with a description refers through `allOf: [{$ref}]`, see
    /// [`schema::ref_name`]), with `x-kubernetes-group-version-kind` on kinds and the
    /// `x-kubernetes-patch-*` / list-type extensions on properties.
    pub fn components(&self) -> &Map<String, Value> {
        &self.builtins.schemas
    }

    /// The built-in definitions in Swagger 2.0 form.
    pub fn components_v2(&self) -> &Map<String, Value> {
        &self.builtins_v2
    }

    /// The definition name of a built-in kind (lists included), e.g.
    /// `("apps", "v1", "Deployment")` -> `io.k8s.api.apps.v1.Deployment`. Custom resources
    /// are not built-in: see [`custom::definition_name`].
    pub fn definition_for(&self, group: &str, version: &str, kind: &str) -> Option<String> {
        self.builtins.kinds.get(&Gvk::new(group, version, kind)).cloned()
    }

    /// The v3 schema of a built-in kind.
    pub fn schema_for(&self, group: &str, version: &str, kind: &str) -> Option<&Value> {
        self.builtins.schemas.get(&self.definition_for(group, version, kind)?)
    }

    /// The definitions a resource's operations use. Kinds without a built-in definition
    /// (custom resources, or kinds k8s-openapi lacks) get theirs added to `dynamic`.
    pub fn names_for(&self, info: &ResourceInfo, dynamic: &mut Map<String, Value>) -> ResourceNames {
        let custom = info.schema.is_some();
        let builtin = self.definition_for(&info.group, &info.version, &info.kind).filter(|_| !custom);
        let list_kind = format!("{}List", info.kind);
        match builtin {
            Some(object) => {
                let list = self
                    .definition_for(&info.group, &info.version, &list_kind)
                    .unwrap_or_else(|| format!("{object}List"));
                ResourceNames { object, list, custom }
            }
            None => {
                let [(object, schema), (list, list_schema)] = custom::definitions(info);
                dynamic.insert(object.clone(), schema);
                dynamic.insert(list.clone(), list_schema);
                ResourceNames { object, list, custom }
            }
        }
    }

    /// The Swagger 2.0 document of a catalog snapshot.
    pub fn v2_document(&self, snapshot: &Snapshot) -> Value {
        v2::document(self, &snapshot.resources)
    }

    /// The OpenAPI v3 document of one group-version of a snapshot, if it serves any resource.
    pub fn v3_document(&self, snapshot: &Snapshot, group: &str, version: &str) -> Option<Value> {
        snapshot.serves(group, version).then(|| v3::group_version_doc(self, &snapshot.resources, group, version))
    }

    /// The cached v2 documents of `snapshot` (built on first use).
    pub fn v2_docs(&self, snapshot: &Arc<Snapshot>) -> Arc<v2::V2Docs> {
        self.v2.get_or_build(snapshot, || v2::build(self, &snapshot.resources))
    }

    /// The cached v3 documents and index of `snapshot` (built on first use).
    pub fn v3_docs(&self, snapshot: &Arc<Snapshot>) -> Arc<v3::V3Docs> {
        self.v3.get_or_build(snapshot, || v3::build_all(self, &snapshot.resources))
    }
}
