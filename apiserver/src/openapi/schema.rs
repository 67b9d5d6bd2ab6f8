//! Schema plumbing shared by the v2 and v3 documents: references, the group-version-kind
//! extension, a walker over nested schemas, and the v3 -> v2 conversion.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::Gvk;

/// The extension naming the kinds a definition (a list) or an operation (an object) serves.
pub const GVK_EXTENSION: &str = "x-kubernetes-group-version-kind";
/// Prefix of a v3 reference.
pub const V3_PREFIX: &str = "#/components/schemas/";
/// Prefix of a v2 reference.
pub const V2_PREFIX: &str = "#/definitions/";

/// A v3 reference to the definition `name`.
pub fn ref_to(name: &str) -> Value {
    json!({ "$ref": format!("{V3_PREFIX}{name}") })
}

/// The group-version-kind extension of a definition: a one-element list.
pub fn gvk_extension(gvk: &Gvk) -> Value {
    Value::Array(vec![gvk_object(gvk)])
}

/// The group-version-kind extension of an operation: one object.
pub fn gvk_object(gvk: &Gvk) -> Value {
    json!({ "group": gvk.group, "kind": gvk.kind, "version": gvk.version })
}

/// The definition a schema points at, through `$ref` or a one-element `allOf` (either
/// prefix); `None` for an inline schema.
pub fn ref_name(schema: &Value) -> Option<&str> {
    let target = match schema.get("allOf").and_then(Value::as_array) {
        Some(all) if all.len() == 1 && schema.get("$ref").is_none() => &all[0],
        _ => schema,
    };
    let reference = target.get("$ref")?.as_str()?;
    reference.strip_prefix(V3_PREFIX).or_else(|| reference.strip_prefix(V2_PREFIX))
}

/// Calls `f` on `schema` and then on every schema nested in it (properties, items,
/// additionalProperties, allOf/anyOf/oneOf/not, patternProperties, definitions). `f` runs
/// before the children are visited, so it may prune them.
pub fn visit_mut(schema: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    f(obj);
    for key in ["items", "additionalProperties", "additionalItems", "not"] {
        match obj.get_mut(key) {
            Some(Value::Array(list)) => list.iter_mut().for_each(|s| visit_mut(s, f)),
            Some(sub) => visit_mut(sub, f),
            None => {}
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(list)) = obj.get_mut(key) {
            list.iter_mut().for_each(|s| visit_mut(s, f));
        }
    }
    for key in ["properties", "patternProperties", "definitions"] {
        if let Some(Value::Object(map)) = obj.get_mut(key) {
            map.values_mut().for_each(|s| visit_mut(s, f));
        }
    }
}

/// Adds to `out` the name of every definition referenced (v3 prefix) anywhere in `value`.
pub fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix(V3_PREFIX) {
                            out.insert(name.to_string());
                        }
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Rewrites a `$ref` that has siblings (a description) as `allOf: [{$ref}]`, as upstream's
/// v3 documents do: OpenAPI 3.0 ignores the siblings of a `$ref`.
pub fn siblings_to_all_of(schema: &mut Value) {
    visit_mut(schema, &mut |obj| {
        if obj.len() > 1 && obj.contains_key("$ref") && !obj.contains_key("allOf") {
            if let Some(reference) = obj.remove("$ref") {
                obj.insert("allOf".into(), json!([{ "$ref": reference }]));
            }
        }
    });
}

/// Converts a v3 schema to the Swagger 2.0 form kubectl's v2 parser accepts: `#/definitions/`
/// references (no `allOf` wrapper, no `type` or `properties` beside a `$ref`), no
/// `anyOf`/`oneOf`/`not`/`nullable`, exactly one `items` schema for arrays, and untyped
/// values where the v3 schema leaves the type open.
pub fn to_v2(schema: &mut Value) {
    visit_mut(schema, &mut |obj| {
        unwrap_single_all_of(obj);
        rewrite_ref(obj);
        for key in ["anyOf", "oneOf", "not", "allOf", "additionalItems"] {
            obj.remove(key);
        }
        open_nullable(obj);
        open_unknown_fields(obj);
        type_int_or_string(obj);
        fix_type(obj);
    });
}

fn unwrap_single_all_of(obj: &mut Map<String, Value>) {
    let single = matches!(obj.get("allOf"), Some(Value::Array(l)) if l.len() == 1 && l[0].get("$ref").is_some());
    if single && !obj.contains_key("$ref") {
        if let Some(reference) = obj.remove("allOf").and_then(|mut l| l[0].get_mut("$ref").map(Value::take)) {
            obj.insert("$ref".into(), reference);
        }
    }
}

fn rewrite_ref(obj: &mut Map<String, Value>) {
    let Some(Value::String(r)) = obj.get_mut("$ref") else {
        return;
    };
    if let Some(name) = r.strip_prefix(V3_PREFIX) {
        *r = format!("{V2_PREFIX}{name}");
    }
    obj.remove("type");
    obj.remove("properties");
    obj.remove("items");
}

/// A nullable value has no useful type in v2: upstream drops type, items and properties.
fn open_nullable(obj: &mut Map<String, Value>) {
    if obj.remove("nullable") == Some(Value::Bool(true)) {
        obj.remove("type");
        obj.remove("items");
        obj.remove("properties");
    }
}

/// Unknown fields would fail kubectl's client-side validation if properties stayed.
fn open_unknown_fields(obj: &mut Map<String, Value>) {
    if obj.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        obj.remove("properties");
        obj.remove("items");
        if obj.get("type").and_then(Value::as_str) == Some("array") {
            obj.remove("type");
        }
    }
}

/// v2 spells int-or-string as a string with format `int-or-string`.
fn type_int_or_string(obj: &mut Map<String, Value>) {
    if obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) && !obj.contains_key("type") {
        obj.insert("type".into(), json!("string"));
        obj.insert("format".into(), json!("int-or-string"));
    }
}

/// One type name at most; arrays keep a single `items` schema or lose their type.
fn fix_type(obj: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = obj.get("type") {
        let named: Vec<&Value> = types.iter().filter(|t| t.as_str() != Some("null")).collect();
        match named.as_slice() {
            [one] => {
                let one = (*one).clone();
                obj.insert("type".into(), one);
            }
            _ => {
                obj.remove("type");
            }
        }
    }
    if obj.get("type").and_then(Value::as_str) == Some("null") {
        obj.remove("type");
    }
    if obj.get("type").and_then(Value::as_str) == Some("array") {
        match obj.get_mut("items") {
            Some(Value::Array(list)) if list.len() == 1 => {
                let item = list[0].take();
                obj.insert("items".into(), item);
            }
            Some(Value::Object(_)) => {}
            _ => {
                obj.remove("type");
                obj.remove("items");
            }
        }
    }
}
