//! Swagger 2.0 (`/openapi/v2`): one document of every served path and every definition,
//! served as JSON or as gnostic protobuf.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use serde_json::{json, Map, Value};

use super::gnostic::encode_document;
use super::paths::{self, Flavor};
use super::schema::to_v2;
use super::{OpenApi, KUBERNETES_VERSION};
use crate::resources::ResourceInfo;

/// The v2 document of one catalog snapshot, in both encodings.
pub struct V2Docs {
    /// The Swagger 2.0 JSON document.
    pub json: Bytes,
    /// The same document as a gnostic `openapi.v2.Document`.
    pub proto: Bytes,
    /// Hex digest of the JSON form (the ETag of both forms).
    pub hash: String,
}

/// Builds the document and encodes it both ways.
pub fn build(api: &OpenApi, resources: &[Arc<ResourceInfo>]) -> V2Docs {
    let doc = document(api, resources);
    let json = Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
    let proto = Bytes::from(encode_document(&doc));
    let hash = super::hash::digest_hex(&json);
    V2Docs { json, proto, hash }
}

/// The Swagger 2.0 document: paths of every served resource, every built-in definition and
/// the definitions of custom kinds.
pub fn document(api: &OpenApi, resources: &[Arc<ResourceInfo>]) -> Value {
    let mut dynamic = Map::new();
    let mut paths = BTreeMap::new();
    for info in resources {
        let names = api.names_for(info, &mut dynamic);
        let tag = paths::tag(&info.group, &info.version);
        let routes = paths::routes(&names.as_names(info));
        paths.extend(paths::render(&routes, Flavor::V2, &tag));
    }
    let mut definitions: BTreeMap<&str, Value> =
        api.components_v2().iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    for (name, schema) in &dynamic {
        let mut schema = schema.clone();
        to_v2(&mut schema);
        definitions.insert(name.as_str(), schema);
    }
    let definitions: Map<String, Value> = definitions.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    json!({
        "swagger": "2.0",
        "info": { "title": "Kubernetes", "version": KUBERNETES_VERSION },
        "paths": paths.into_iter().collect::<Map<String, Value>>(),
        "definitions": definitions,
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "type": "apiKey",
                "name": "authorization",
                "in": "header"
            }
        },
        "security": [{ "BearerToken": [] }]
    })
}
