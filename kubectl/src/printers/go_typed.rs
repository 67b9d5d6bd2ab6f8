//! JSON as Go's `encoding/json` writes a typed built-in object: fields in Go declaration
//! order, `omitempty` honoured, absent non-`omitempty` fields written as their zero values
//! (`null` for times, slices and pointers), unknown fields dropped, map keys sorted. Upstream
//! kubectl prints typed objects this way where it decodes into `k8s.io/api` structs (events,
//! `cluster-info dump`).
//!
//! The field table is `rkube_apimachinery::go_types` (Go declaration order, JSON names,
//! pointer and `omitempty` flags), the same one the apiserver's protobuf codec reads.

use serde_json::{Map, Value};

use rkube_apimachinery::go_types::{schema, Card, Field, Special, Ty, INLINE, OMITEMPTY, PTR};

/// The object re-encoded as Go encodes its typed struct, or None for kinds not in the table
/// (custom resources). `kind` and `apiVersion` come first, as the embedded `TypeMeta`.
pub fn encode(obj: &Value) -> Option<Value> {
    let api_version = obj.get("apiVersion").and_then(Value::as_str)?;
    let kind = obj.get("kind").and_then(Value::as_str)?;
    let index = schema::KINDS.iter().find(|(v, k, _)| *v == api_version && *k == kind).map(|(_, _, i)| usize::from(*i))?;
    let mut out = Map::new();
    out.insert("kind".into(), kind.into());
    out.insert("apiVersion".into(), api_version.into());
    encode_fields(index, obj, &mut out);
    Some(Value::Object(out))
}

fn encode_fields(index: usize, v: &Value, out: &mut Map<String, Value>) {
    let msg = &schema::MESSAGES[index];
    for field in msg.fields {
        if field.flags & INLINE != 0 {
            if let Ty::Msg(i) = field.ty {
                encode_fields(usize::from(i), v, out);
            }
            continue;
        }
        let value = v.get(field.json).filter(|x| !x.is_null());
        if let Some(encoded) = encode_field(field, value) {
            out.insert(field.json.to_string(), encoded);
        }
    }
}

fn message_special(ty: Ty) -> Option<Special> {
    match ty {
        Ty::Msg(i) => Some(schema::MESSAGES[usize::from(i)].special),
        _ => None,
    }
}

/// One field's JSON, or None when Go leaves it out.
fn encode_field(field: &Field, value: Option<&Value>) -> Option<Value> {
    let omitempty = field.flags & OMITEMPTY != 0;
    let pointer = field.flags & PTR != 0;
    match field.card {
        Card::List => match value {
            Some(Value::Array(items)) if !items.is_empty() => Some(Value::Array(items.iter().map(|x| encode_value(field.ty, x)).collect())),
            Some(Value::Array(_)) if !omitempty => Some(Value::Array(Vec::new())),
            _ if omitempty => None,
            _ => Some(Value::Null),
        },
        Card::Map => match value {
            Some(Value::Object(m)) if !m.is_empty() => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Some(Value::Object(keys.into_iter().map(|k| (k.clone(), encode_value(field.ty, &m[k]))).collect()))
            }
            Some(Value::Object(_)) if !omitempty => Some(Value::Object(Map::new())),
            _ if omitempty => None,
            _ => Some(Value::Null),
        },
        Card::One => {
            if pointer {
                return match value {
                    Some(x) => Some(encode_value(field.ty, x)),
                    None if omitempty => None,
                    None => Some(Value::Null),
                };
            }
            match field.ty {
                Ty::Msg(i) => {
                    // A struct is never empty to `omitempty`.
                    let special = schema::MESSAGES[usize::from(i)].special;
                    match value {
                        Some(x) => Some(encode_value(field.ty, x)),
                        None => Some(zero_message(usize::from(i), special)),
                    }
                }
                _ => {
                    let v = value.cloned().unwrap_or_else(|| zero_scalar(field.ty));
                    if omitempty && is_zero_scalar(&v) {
                        None
                    } else {
                        Some(v)
                    }
                }
            }
        }
    }
}

fn zero_scalar(ty: Ty) -> Value {
    match ty {
        Ty::Str => Value::String(String::new()),
        Ty::Bool => Value::Bool(false),
        Ty::I32 | Ty::I64 => Value::from(0),
        Ty::F64 => Value::from(0),
        Ty::Bytes | Ty::Msg(_) => Value::Null,
    }
}

fn is_zero_scalar(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.is_empty(),
        Value::Object(_) => false,
    }
}

/// The JSON of a zero struct value.
fn zero_message(index: usize, special: Special) -> Value {
    match special {
        Special::None => {
            let mut out = Map::new();
            encode_fields(index, &Value::Object(Map::new()), &mut out);
            Value::Object(out)
        }
        Special::Quantity => Value::String("0".into()),
        Special::IntOrString => Value::from(0),
        Special::Duration => Value::String("0s".into()),
        _ => Value::Null,
    }
}

/// A present value of type `ty`.
fn encode_value(ty: Ty, v: &Value) -> Value {
    match message_special(ty) {
        Some(Special::None) => {
            let Ty::Msg(i) = ty else { return v.clone() };
            let mut out = Map::new();
            encode_fields(usize::from(i), v, &mut out);
            Value::Object(out)
        }
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_in_go_order() {
        let svc = json!({"apiVersion": "v1", "kind": "Service", "status": {"loadBalancer": {}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1", "ports": [{"protocol": "TCP", "port": 80, "targetPort": 80, "name": "http"}]},
            "metadata": {"name": "web", "labels": {"b": "1", "a": "2"}, "uid": "u", "unknownField": 1}});
        let typed = encode(&svc).unwrap();
        assert_eq!(
            serde_json::to_string(&typed).unwrap(),
            r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"web","uid":"u","creationTimestamp":null,"labels":{"a":"2","b":"1"}},"spec":{"ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":80}],"clusterIP":"10.0.0.1","type":"ClusterIP"},"status":{"loadBalancer":{}}}"#
        );
    }

    #[test]
    fn unknown_kinds_are_left_alone() {
        assert!(encode(&json!({"apiVersion": "example.com/v1", "kind": "Widget"})).is_none());
    }
}
