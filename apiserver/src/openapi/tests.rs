//! Unit tests of the OpenAPI documents: structure kubectl relies on, references that
//! resolve, v2 schemas kubectl's parser accepts, and the protobuf encoding.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use serde_json::{json, Map, Value};

use super::schema::{collect_refs, V2_PREFIX};
use super::{gnostic, serve, v3, OpenApi};
use crate::resources::catalog::Catalog;
use crate::resources::{builtin, ResourceInfo};

/// One generator for all tests (building the definitions takes a moment in debug builds).
fn api() -> &'static OpenApi {
    static API: OnceLock<OpenApi> = OnceLock::new();
    API.get_or_init(OpenApi::new)
}

fn builtin_resources() -> Vec<Arc<ResourceInfo>> {
    Catalog::new(builtin()).snapshot().resources.clone()
}

fn crontab() -> ResourceInfo {
    let mut info = builtin().into_iter().find(|r| r.kind == "Deployment").expect("deployments are built in");
    info.group = "stable.example.com".into();
    info.version = "v1".into();
    info.kind = "CronTab".into();
    info.plural = "crontabs".into();
    info.scale = None;
    info.schema = Some(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "cronSpec": { "type": "string" },
                    "replicas": { "type": "integer", "nullable": true },
                    "extra": { "type": "object", "x-kubernetes-preserve-unknown-fields": true,
                               "properties": { "a": { "type": "string" } } },
                    "port": { "x-kubernetes-int-or-string": true,
                              "anyOf": [{ "type": "integer" }, { "type": "string" }] }
                }
            }
        }
    }));
    info
}

fn with_crontab() -> Vec<Arc<ResourceInfo>> {
    let mut all = builtin_resources();
    all.push(Arc::new(crontab()));
    all
}

fn apps_v1() -> Value {
    v3::group_version_doc(api(), &builtin_resources(), "apps", "v1")
}

fn has_query_param(op: &Value, name: &str) -> bool {
    op["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "query"))
}

/// Every PATCH operation of a `paths` object, with its path.
fn patch_ops(doc: &Value) -> Vec<(String, Value)> {
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    paths.into_iter().filter_map(|(path, item)| item.get("patch").cloned().map(|op| (path, op))).collect()
}

#[test]
fn deployment_patch_has_gvk_and_field_validation() {
    let doc = apps_v1();
    let op = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(op["x-kubernetes-group-version-kind"], json!({"group": "apps", "kind": "Deployment", "version": "v1"}));
    assert_eq!(op["x-kubernetes-action"], "patch");
    for name in ["fieldValidation", "dryRun", "fieldManager", "force"] {
        assert!(has_query_param(op, name), "missing {name}");
    }
    let content = op["requestBody"]["content"].as_object().expect("patch body");
    assert!(content.contains_key("application/strategic-merge-patch+json"));
    assert!(content.contains_key("application/apply-patch+yaml"));
}

#[test]
fn every_patch_operation_is_complete() {
    let docs = api().v3_docs(&Arc::new(crate::resources::catalog::Snapshot { resources: with_crontab() }));
    let mut seen = 0;
    for (gv, published) in &docs.docs {
        let doc: Value = serde_json::from_slice(&published.body).expect("json");
        for (path, op) in patch_ops(&doc) {
            assert!(op["x-kubernetes-group-version-kind"].is_object(), "{gv} {path}");
            assert!(has_query_param(&op, "fieldValidation"), "{gv} {path}");
            seen += 1;
        }
    }
    assert!(seen > 40, "only {seen} patch operations");
    let v2 = api().v2_document(&crate::resources::catalog::Snapshot { resources: with_crontab() });
    for (path, op) in patch_ops(&v2) {
        assert!(op["x-kubernetes-group-version-kind"].is_object(), "v2 {path}");
        assert!(has_query_param(&op, "fieldValidation"), "v2 {path}");
    }
}

#[test]
fn scale_and_status_operations() {
    let doc = apps_v1();
    let scale = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"];
    assert_eq!(scale["x-kubernetes-group-version-kind"]["kind"], "Scale");
    let status = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"]["put"];
    assert_eq!(status["x-kubernetes-group-version-kind"]["kind"], "Deployment");
    let list = &doc["paths"]["/apis/apps/v1/deployments"]["get"];
    assert_eq!(list["x-kubernetes-action"], "list");
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in ["io.k8s.api.autoscaling.v1.Scale", "io.k8s.api.apps.v1.DeploymentList", "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"] {
        assert!(schemas.contains_key(name), "{name}");
    }
}

#[test]
fn pod_spec_containers_have_the_patch_merge_key() {
    let pod_spec = &api().components()["io.k8s.api.core.v1.PodSpec"];
    let containers = &pod_spec["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    let v2 = &api().components_v2()["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(v2["x-kubernetes-patch-merge-key"], "name");
}

#[test]
fn kinds_are_named_as_upstream() {
    let api = api();
    assert_eq!(api.definition_for("apps", "v1", "Deployment").as_deref(), Some("io.k8s.api.apps.v1.Deployment"));
    assert_eq!(api.definition_for("apps", "v1", "DeploymentList").as_deref(), Some("io.k8s.api.apps.v1.DeploymentList"));
    assert_eq!(api.definition_for("", "v1", "Pod").as_deref(), Some("io.k8s.api.core.v1.Pod"));
    assert_eq!(api.definition_for("apps", "v1", "Nope"), None);
    let deployment = api.schema_for("apps", "v1", "Deployment").expect("deployment");
    assert_eq!(deployment["x-kubernetes-group-version-kind"], json!([{"group": "apps", "kind": "Deployment", "version": "v1"}]));
    assert_eq!(deployment["properties"]["metadata"]["allOf"][0]["$ref"], "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    assert!(api.components().contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
    assert!(api.components().len() > 500, "{} definitions", api.components().len());
}

#[test]
fn every_v3_reference_resolves() {
    let docs = api().v3_docs(&Arc::new(crate::resources::catalog::Snapshot { resources: with_crontab() }));
    for (gv, published) in &docs.docs {
        let doc: Value = serde_json::from_slice(&published.body).expect("json");
        let mut refs = BTreeSet::new();
        collect_refs(&doc, &mut refs);
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for r in refs {
            assert!(schemas.contains_key(&r), "{gv}: dangling {r}");
        }
    }
}

#[test]
fn index_points_at_each_group_version_with_its_hash() {
    let docs = api().v3_docs(&Arc::new(crate::resources::catalog::Snapshot { resources: with_crontab() }));
    let index: Value = serde_json::from_slice(&docs.index).expect("json");
    for key in ["api/v1", "apis/apps/v1", "apis/stable.example.com/v1"] {
        let url = index["paths"][key]["serverRelativeURL"].as_str().expect(key);
        assert_eq!(url, format!("/openapi/v3/{key}?hash={}", docs.docs[key].hash));
    }
}

#[test]
fn custom_resources_get_their_schema() {
    let doc = v3::group_version_doc(api(), &with_crontab(), "stable.example.com", "v1");
    let schema = &doc["components"]["schemas"]["com.example.stable.v1.CronTab"];
    assert_eq!(schema["x-kubernetes-group-version-kind"], json!([{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}]));
    assert_eq!(schema["properties"]["spec"]["properties"]["cronSpec"]["type"], "string");
    assert_eq!(schema["properties"]["metadata"]["allOf"][0]["$ref"], "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    assert!(doc["components"]["schemas"]["com.example.stable.v1.CronTabList"].is_object());
    let op = &doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]["patch"];
    assert!(has_query_param(op, "fieldValidation"));
    let content = op["requestBody"]["content"].as_object().expect("patch body");
    assert!(!content.contains_key("application/strategic-merge-patch+json"));
}

// --- kubectl's v2 parser (k8s.io/kube-openapi/pkg/util/proto), restated as checks ---------

fn check_v2_schema(s: &Value, defs: &Map<String, Value>, path: &str) -> Result<(), String> {
    let obj = s.as_object().ok_or(format!("{path}: not an object"))?;
    if let Some(r) = obj.get("$ref") {
        let name = r.as_str().and_then(|r| r.strip_prefix(V2_PREFIX)).ok_or(format!("{path}: bad $ref {r}"))?;
        if obj.contains_key("type") || obj.get("properties").is_some_and(|p| p.as_object().is_some_and(|p| !p.is_empty())) {
            return Err(format!("{path}: $ref with type or properties"));
        }
        return defs.contains_key(name).then_some(()).ok_or(format!("{path}: unknown model {name}"));
    }
    let ty = match obj.get("type") {
        None => None,
        Some(Value::String(t)) => Some(t.as_str()),
        Some(other) => return Err(format!("{path}: type {other}")),
    };
    match ty {
        Some("array") => {
            let items = obj.get("items").filter(|i| i.is_object()).ok_or(format!("{path}: array without one item schema"))?;
            check_v2_schema(items, defs, &format!("{path}[]"))
        }
        Some("object") | None => {
            for (k, v) in obj.get("properties").and_then(Value::as_object).into_iter().flatten() {
                check_v2_schema(v, defs, &format!("{path}.{k}"))?;
            }
            match obj.get("additionalProperties") {
                Some(sub @ Value::Object(_)) => check_v2_schema(sub, defs, &format!("{path}{{}}")),
                _ => Ok(()),
            }
        }
        Some("string" | "number" | "integer" | "boolean") => Ok(()),
        Some(other) => Err(format!("{path}: unknown primitive type {other}")),
    }
}

#[test]
fn v2_definitions_parse_like_kubectl() {
    let doc = api().v2_document(&crate::resources::catalog::Snapshot { resources: with_crontab() });
    let defs = doc["definitions"].as_object().expect("definitions");
    for (name, schema) in defs {
        check_v2_schema(schema, defs, name).unwrap_or_else(|e| panic!("{e}"));
    }
    let port = &defs["com.example.stable.v1.CronTab"]["properties"]["spec"]["properties"]["port"];
    assert_eq!(port["type"], "string");
    assert!(port.get("anyOf").is_none());
    let extra = &defs["com.example.stable.v1.CronTab"]["properties"]["spec"]["properties"]["extra"];
    assert!(extra.get("properties").is_none());
}

#[test]
fn v2_accept_negotiation() {
    let mut h = axum::http::HeaderMap::new();
    assert!(!serve::wants_protobuf(&h));
    h.insert("accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf".parse().expect("header"));
    assert!(serve::wants_protobuf(&h));
    h.insert("accept", "application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf".parse().expect("header"));
    assert!(!serve::wants_protobuf(&h));
}

// --- a protobuf reader for the round trip ------------------------------------------------

#[derive(Debug)]
enum Wire {
    Varint(u64),
    Fixed64,
    Bytes(Vec<u8>),
}

fn read_varint(data: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = data[*pos];
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// Splits a message into its (field number, value) pairs, in order.
fn fields(data: &[u8]) -> Vec<(u32, Wire)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let key = read_varint(data, &mut pos);
        let field = (key >> 3) as u32;
        let value = match key & 7 {
            0 => Wire::Varint(read_varint(data, &mut pos)),
            1 => {
                pos += 8;
                Wire::Fixed64
            }
            2 => {
                let len = read_varint(data, &mut pos) as usize;
                pos += len;
                Wire::Bytes(data[pos - len..pos].to_vec())
            }
            other => panic!("unexpected wire type {other}"),
        };
        out.push((field, value));
    }
    out
}

fn bytes_of(fields: &[(u32, Wire)], n: u32) -> Vec<&[u8]> {
    fields
        .iter()
        .filter_map(|(f, v)| match v {
            Wire::Bytes(b) if *f == n => Some(b.as_slice()),
            _ => None,
        })
        .collect()
}

fn string_of(fields: &[(u32, Wire)], n: u32) -> Option<String> {
    bytes_of(fields, n).first().map(|b| String::from_utf8(b.to_vec()).expect("utf-8"))
}

/// `NamedAny` list -> JSON object of the YAML (JSON) values.
fn decode_extensions(fields: &[(u32, Wire)], n: u32, out: &mut Map<String, Value>) {
    for named in bytes_of(fields, n) {
        let named = self::fields(named);
        let name = string_of(&named, 1).expect("name");
        let any = self::fields(bytes_of(&named, 2)[0]);
        let yaml = string_of(&any, 2).expect("yaml");
        out.insert(name, serde_json::from_str(&yaml).expect("yaml is json"));
    }
}

/// Decodes the subset of `Schema` the definitions use back into JSON.
fn decode_schema(data: &[u8]) -> Value {
    let f = fields(data);
    let mut out = Map::new();
    for (key, n) in [("$ref", 1), ("format", 2), ("description", 4), ("pattern", 13)] {
        if let Some(s) = string_of(&f, n) {
            out.insert(key.into(), json!(s));
        }
    }
    let required: Vec<String> = bytes_of(&f, 19).into_iter().map(|b| String::from_utf8(b.to_vec()).expect("utf-8")).collect();
    if !required.is_empty() {
        out.insert("required".into(), json!(required));
    }
    if let Some(ty) = bytes_of(&f, 22).first() {
        out.insert("type".into(), json!(string_of(&fields(ty), 1)));
    }
    if let Some(items) = bytes_of(&f, 23).first() {
        out.insert("items".into(), decode_schema(bytes_of(&fields(items), 1)[0]));
    }
    if let Some(props) = bytes_of(&f, 25).first() {
        out.insert("properties".into(), Value::Object(decode_named_schemas(props)));
    }
    if let Some(ap) = bytes_of(&f, 21).first() {
        let ap = fields(ap);
        let value = match bytes_of(&ap, 1).first() {
            Some(schema) => decode_schema(schema),
            None => json!(matches!(ap.first(), Some((2, Wire::Varint(1))))),
        };
        out.insert("additionalProperties".into(), value);
    }
    decode_extensions(&f, 31, &mut out);
    Value::Object(out)
}

fn decode_named_schemas(data: &[u8]) -> Map<String, Value> {
    bytes_of(&fields(data), 1)
        .into_iter()
        .map(|named| {
            let named = fields(named);
            (string_of(&named, 1).expect("name"), decode_schema(bytes_of(&named, 2)[0]))
        })
        .collect()
}

/// The same subset, taken from the JSON form.
fn subset(schema: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in schema.as_object().into_iter().flatten() {
        let kept = match k.as_str() {
            "$ref" | "format" | "description" | "pattern" | "required" | "type" => Some(v.clone()),
            "items" | "additionalProperties" if v.is_object() => Some(subset(v)),
            "additionalProperties" if v.is_boolean() => Some(v.clone()),
            "properties" => Some(Value::Object(v.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), subset(v))).collect())),
            x if x.starts_with("x-") => Some(v.clone()),
            _ => None,
        };
        if let Some(v) = kept {
            out.insert(k.clone(), v);
        }
    }
    Value::Object(out)
}

#[test]
fn v2_protobuf_round_trips() {
    let doc = api().v2_document(&crate::resources::catalog::Snapshot { resources: with_crontab() });
    let bytes = gnostic::encode_document(&doc);
    let top = fields(&bytes);
    assert_eq!(string_of(&top, 1).as_deref(), Some("2.0"));
    let decoded = decode_named_schemas(bytes_of(&top, 9)[0]);
    let defs = doc["definitions"].as_object().expect("definitions");
    assert_eq!(decoded.len(), defs.len());
    for (name, schema) in defs {
        assert_eq!(decoded[name], subset(schema), "{name}");
    }
}

/// Finds the PATCH operation of a path in the encoded document and reads what kubectl's
/// v2 query-parameter verifier reads: the GVK extension and the query parameter names.
#[test]
fn v2_protobuf_patch_operation() {
    let doc = api().v2_document(&crate::resources::catalog::Snapshot { resources: builtin_resources() });
    let bytes = gnostic::encode_document(&doc);
    let paths = fields(bytes_of(&fields(&bytes), 8)[0]);
    let wanted = "/apis/apps/v1/namespaces/{namespace}/deployments/{name}";
    let item = bytes_of(&paths, 2)
        .into_iter()
        .map(fields)
        .find(|named| string_of(named, 1).as_deref() == Some(wanted))
        .expect("deployment path");
    let item = fields(bytes_of(&item, 2)[0]);
    let patch = fields(bytes_of(&item, 8)[0]);
    let mut ext = Map::new();
    decode_extensions(&patch, 13, &mut ext);
    assert_eq!(ext["x-kubernetes-group-version-kind"], json!({"group": "apps", "kind": "Deployment", "version": "v1"}));
    let mut query_names = Vec::new();
    for p in bytes_of(&patch, 8) {
        let parameter = fields(bytes_of(&fields(p), 1)[0]);
        if let Some(non_body) = bytes_of(&parameter, 2).first() {
            if let Some(q) = bytes_of(&fields(non_body), 3).first() {
                let q = fields(q);
                assert_eq!(string_of(&q, 2).as_deref(), Some("query"));
                query_names.push(string_of(&q, 4).expect("name"));
            }
        }
    }
    assert!(query_names.iter().any(|n| n == "fieldValidation"), "{query_names:?}");
}
