//! OpenAPI v3: one document per served group-version, and the `/openapi/v3` index that
//! points at each with a content hash.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Bytes;
use serde_json::{json, Map, Value};

use super::hash::digest_hex;
use super::paths::{self, Flavor};
use super::schema::collect_refs;
use super::{OpenApi, KUBERNETES_VERSION};
use crate::resources::{group_order, ResourceInfo};

/// One published group-version document.
pub struct Published {
    /// The JSON document.
    pub body: Bytes,
    /// The hex digest of `body`, as in `?hash=`.
    pub hash: String,
}

/// Every v3 document of one catalog snapshot.
pub struct V3Docs {
    /// The `/openapi/v3` index.
    pub index: Bytes,
    /// `api/v1`, `apis/apps/v1`, ... -> document.
    pub docs: BTreeMap<String, Published>,
}

/// The index key of a group-version: `api/v1` or `apis/GROUP/VERSION`.
pub fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Builds the documents of every served group-version, and the index.
pub fn build_all(api: &OpenApi, resources: &[Arc<ResourceInfo>]) -> V3Docs {
    let mut docs = BTreeMap::new();
    let mut index = Map::new();
    for (group, versions) in group_order(resources) {
        for version in versions {
            let key = gv_key(&group, &version);
            let doc = group_version_doc(api, resources, &group, &version);
            let body = Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
            let hash = digest_hex(&body);
            let url = format!("/openapi/v3/{key}?hash={hash}");
            index.insert(key.clone(), json!({ "serverRelativeURL": url }));
            docs.insert(key, Published { body, hash });
        }
    }
    let index = Bytes::from(serde_json::to_vec(&json!({ "paths": index })).unwrap_or_default());
    V3Docs { index, docs }
}

/// The OpenAPI 3.0 document of one group-version: the paths of its resources and every
/// definition they reference, transitively.
pub fn group_version_doc(api: &OpenApi, resources: &[Arc<ResourceInfo>], group: &str, version: &str) -> Value {
    let tag = paths::tag(group, version);
    let mut routes = Vec::new();
    let mut dynamic = Map::new();
    for info in resources.iter().filter(|r| r.group == group && r.version == version) {
        let names = api.names_for(info, &mut dynamic);
        routes.extend(paths::routes(&names.as_names(info)));
    }
    routes.sort_by(|a, b| a.path.cmp(&b.path));
    let paths = Value::Object(paths::render(&routes, Flavor::V3, &tag));
    let schemas = closure(&paths, |name| dynamic.get(name).or_else(|| api.components().get(name)));
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": KUBERNETES_VERSION },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header"
                }
            }
        },
        "security": [{ "BearerToken": [] }]
    })
}

/// Every definition reachable from the references in `start`, sorted by name. References to
/// unknown names are left dangling.
pub fn closure<'a>(start: &Value, lookup: impl Fn(&str) -> Option<&'a Value>) -> Map<String, Value> {
    let mut pending = BTreeSet::new();
    collect_refs(start, &mut pending);
    let mut done: BTreeMap<String, Value> = BTreeMap::new();
    while let Some(name) = pending.pop_first() {
        if done.contains_key(&name) {
            continue;
        }
        let Some(schema) = lookup(&name) else { continue };
        let mut refs = BTreeSet::new();
        collect_refs(schema, &mut refs);
        pending.extend(refs.into_iter().filter(|r| !done.contains_key(r) && *r != name));
        done.insert(name, schema.clone());
    }
    done.into_iter().collect()
}
