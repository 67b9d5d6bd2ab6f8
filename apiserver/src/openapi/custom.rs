//! Definitions of kinds k8s-openapi does not know: custom resources (from the CRD version's
//! `openAPIV3Schema`) and any other served kind without a built-in schema.

use serde_json::{json, Map, Value};

use super::builtin::{list_schema, OBJECT_META};
use super::schema::{gvk_extension, ref_to, GVK_EXTENSION};
use super::Gvk;
use crate::resources::ResourceInfo;

const API_VERSION_DOC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DOC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DOC: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The definition name upstream gives a custom kind: the group's labels reversed, then the
/// version and kind (`stable.example.com/v1 CronTab` -> `com.example.stable.v1.CronTab`).
pub fn definition_name(group: &str, version: &str, kind: &str) -> String {
    if group.is_empty() {
        return format!("io.k8s.api.core.{version}.{kind}");
    }
    let reversed: Vec<&str> = group.split('.').rev().collect();
    format!("{}.{version}.{kind}", reversed.join("."))
}

/// The object and list definitions of a custom kind, as (name, schema) pairs.
pub fn definitions(info: &ResourceInfo) -> [(String, Value); 2] {
    let name = definition_name(&info.group, &info.version, &info.kind);
    let gvk = Gvk::new(&info.group, &info.version, &info.kind);
    let list_gvk = Gvk::new(&info.group, &info.version, &format!("{}List", info.kind));
    let mut list = list_schema(&list_gvk, &name);
    if let Some(obj) = list.as_object_mut() {
        obj.insert(GVK_EXTENSION.into(), gvk_extension(&list_gvk));
    }
    let object = object_schema(info.schema.as_ref(), &gvk);
    [(name.clone(), object), (format!("{name}List"), list)]
}

/// The object schema: the CRD's schema (or an open object) with the standard `apiVersion`,
/// `kind` and `metadata` properties and the group-version-kind extension.
pub fn object_schema(schema: Option<&Value>, gvk: &Gvk) -> Value {
    let mut schema = match schema {
        Some(Value::Object(obj)) => Value::Object(obj.clone()),
        _ => json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true }),
    };
    let Some(obj) = schema.as_object_mut() else {
        return schema;
    };
    obj.entry("type").or_insert_with(|| json!("object"));
    let props = obj.entry("properties").or_insert_with(|| Value::Object(Map::new()));
    if let Some(props) = props.as_object_mut() {
        standard_properties(props);
    }
    obj.insert(GVK_EXTENSION.into(), gvk_extension(gvk));
    schema
}

fn standard_properties(props: &mut Map<String, Value>) {
    props.insert("apiVersion".into(), json!({ "description": API_VERSION_DOC, "type": "string" }));
    props.insert("kind".into(), json!({ "description": KIND_DOC, "type": "string" }));
    props.insert("metadata".into(), json!({ "allOf": [ref_to(OBJECT_META)], "description": METADATA_DOC }));
}
