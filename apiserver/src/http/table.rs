//! Server-side printing: meta.k8s.io/v1 Table and PartialObjectMetadata forms of objects.

use serde_json::{json, Value};

use crate::resources::strategy::Column;
use crate::resources::ResourceInfo;

/// The column definitions of a resource (Name first).
pub fn column_definitions(info: &ResourceInfo) -> Vec<Value> {
    let name = info.strategy.name_column_first().then(Column::name_col);
    name.into_iter()
        .chain(info.strategy.columns())
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.type_,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            })
        })
        .collect()
}

/// One row for an object, with the object embedded as `include` says
/// (None, Metadata or Object).
pub fn row(info: &ResourceInfo, obj: &Value, include: &str) -> Value {
    let mut cells = Vec::new();
    if info.strategy.name_column_first() {
        cells.push(obj.pointer("/metadata/name").cloned().unwrap_or(json!("")));
    }
    cells.extend(info.strategy.cells(obj));
    let mut r = json!({ "cells": cells });
    match include {
        "None" => {}
        "Object" => r["object"] = with_type(info, obj),
        _ => r["object"] = partial_metadata(obj),
    }
    r
}

/// A Table of objects.
pub fn table(info: &ResourceInfo, objs: &[Value], list_meta: Value, include: &str, headers: bool) -> Value {
    let rows: Vec<Value> = objs.iter().map(|o| row(info, o, include)).collect();
    let columns = if headers { json!(column_definitions(info)) } else { json!([]) };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// An object as PartialObjectMetadata.
pub fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
    })
}

/// A list of objects as PartialObjectMetadataList.
pub fn partial_metadata_list(objs: &[Value], list_meta: Value) -> Value {
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "items": objs.iter().map(partial_metadata).collect::<Vec<_>>(),
    })
}

/// The object with its apiVersion and kind set.
pub fn with_type(info: &ResourceInfo, obj: &Value) -> Value {
    let mut o = obj.clone();
    if o.is_object() {
        o["apiVersion"] = json!(info.api_version());
        o["kind"] = json!(info.kind);
    }
    o
}
