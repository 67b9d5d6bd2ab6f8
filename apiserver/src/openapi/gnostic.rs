//! Encodes a Swagger 2.0 JSON document as the `openapi.v2.Document` protobuf message of
//! gnostic (`github.com/google/gnostic`, `openapiv2/OpenAPIv2.proto`), the form kubectl
//! 1.27/1.28 fetch for validation and `explain`.
//!
//! Only the messages a Kubernetes document uses are written: Document, Info, Paths,
//! PathItem, Operation, the parameter messages, Responses, Definitions, Schema and the
//! security messages. Vendor extensions (`x-...`) become `NamedAny`s whose `Any.yaml` holds
//! the value as JSON, which is valid YAML. Unknown JSON keys are skipped.

use serde_json::{Map, Value};

/// Protobuf wire types.
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;

/// A protobuf message being written.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u32) {
        self.varint(u64::from(field << 3 | wire));
    }

    fn bytes(&mut self, field: u32, data: &[u8]) {
        self.key(field, LEN);
        self.varint(data.len() as u64);
        self.buf.extend_from_slice(data);
    }

    /// A string field (skipped when empty, as proto3 does).
    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    /// A bool field that is part of a oneof: written even when false.
    fn oneof_bool(&mut self, field: u32, b: bool) {
        self.key(field, VARINT);
        self.varint(u64::from(b));
    }

    /// An embedded message, always written (presence matters to readers).
    fn message(&mut self, field: u32, body: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::default();
        body(&mut inner);
        self.bytes(field, &inner.buf);
    }

    /// Writes the JSON value at `key` as the scalar field `field`, by the JSON type.
    fn scalar(&mut self, field: u32, value: Option<&Value>, kind: Scalar) {
        match (kind, value) {
            (Scalar::Str, Some(Value::String(s))) => self.string(field, s),
            (Scalar::Bool, Some(Value::Bool(true))) => self.oneof_bool(field, true),
            (Scalar::Int, Some(Value::Number(n))) => {
                if let Some(i) = n.as_i64().filter(|i| *i != 0) {
                    self.key(field, VARINT);
                    self.varint(i as u64);
                }
            }
            (Scalar::Double, Some(Value::Number(n))) => {
                if let Some(f) = n.as_f64().filter(|f| *f != 0.0) {
                    self.key(field, FIXED64);
                    self.buf.extend_from_slice(&f.to_le_bytes());
                }
            }
            (Scalar::Strings, Some(Value::Array(list))) => {
                for s in list.iter().filter_map(Value::as_str) {
                    self.bytes(field, s.as_bytes());
                }
            }
            _ => {}
        }
    }

    /// Writes a table of scalar fields of a JSON object.
    fn scalars(&mut self, obj: &Map<String, Value>, table: &[(&str, u32, Scalar)]) {
        for (key, field, kind) in table {
            self.scalar(*field, obj.get(*key), *kind);
        }
    }
}

/// The JSON type a scalar field is read from.
#[derive(Clone, Copy)]
enum Scalar {
    Str,
    Bool,
    Int,
    Double,
    Strings,
}

use Scalar::{Bool, Double, Int, Str, Strings};

/// Encodes a whole Swagger 2.0 document.
pub fn encode_document(doc: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    let Some(obj) = doc.as_object() else {
        return w.into_bytes();
    };
    w.scalars(obj, &[("swagger", 1, Str), ("host", 3, Str), ("basePath", 4, Str)]);
    if let Some(info) = obj.get("info").and_then(Value::as_object) {
        w.message(2, |w| encode_info(w, info));
    }
    w.scalars(obj, &[("schemes", 5, Strings), ("consumes", 6, Strings), ("produces", 7, Strings)]);
    if let Some(paths) = obj.get("paths").and_then(Value::as_object) {
        w.message(8, |w| encode_paths(w, paths));
    }
    if let Some(defs) = obj.get("definitions").and_then(Value::as_object) {
        w.message(9, |w| named_schemas(w, 1, defs));
    }
    for req in obj.get("security").and_then(Value::as_array).into_iter().flatten() {
        w.message(12, |w| encode_security_requirement(w, req));
    }
    if let Some(defs) = obj.get("securityDefinitions").and_then(Value::as_object) {
        w.message(13, |w| encode_security_definitions(w, defs));
    }
    vendor_extensions(&mut w, 16, obj);
    w.into_bytes()
}

/// The `NamedAny` list of an object's `x-` keys.
fn vendor_extensions(w: &mut Writer, field: u32, obj: &Map<String, Value>) {
    for (name, value) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
        w.message(field, |w| {
            w.string(1, name);
            w.message(2, |w| encode_any(w, value));
        });
    }
}

/// An `Any` carrying a value as YAML (JSON is a subset of YAML).
fn encode_any(w: &mut Writer, value: &Value) {
    let yaml = serde_json::to_string(value).unwrap_or_default();
    w.string(2, &format!("{yaml}\n"));
}

fn encode_info(w: &mut Writer, info: &Map<String, Value>) {
    w.scalars(info, &[("title", 1, Str), ("version", 2, Str), ("description", 3, Str), ("termsOfService", 4, Str)]);
    vendor_extensions(w, 7, info);
}

fn encode_paths(w: &mut Writer, paths: &Map<String, Value>) {
    vendor_extensions(w, 1, paths);
    for (path, item) in paths.iter().filter(|(k, _)| k.starts_with('/')) {
        let Some(item) = item.as_object() else { continue };
        w.message(2, |w| {
            w.string(1, path);
            w.message(2, |w| encode_path_item(w, item));
        });
    }
}

const METHODS: &[(&str, u32)] =
    &[("get", 2), ("put", 3), ("post", 4), ("delete", 5), ("options", 6), ("head", 7), ("patch", 8)];

fn encode_path_item(w: &mut Writer, item: &Map<String, Value>) {
    w.scalars(item, &[("$ref", 1, Str)]);
    for (method, field) in METHODS {
        if let Some(op) = item.get(*method).and_then(Value::as_object) {
            w.message(*field, |w| encode_operation(w, op));
        }
    }
    for p in item.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        w.message(9, |w| encode_parameters_item(w, p));
    }
    vendor_extensions(w, 10, item);
}

fn encode_operation(w: &mut Writer, op: &Map<String, Value>) {
    w.scalars(
        op,
        &[
            ("tags", 1, Strings),
            ("summary", 2, Str),
            ("description", 3, Str),
            ("operationId", 5, Str),
            ("produces", 6, Strings),
            ("consumes", 7, Strings),
        ],
    );
    for p in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        w.message(8, |w| encode_parameters_item(w, p));
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        w.message(9, |w| encode_responses(w, responses));
    }
    w.scalars(op, &[("schemes", 10, Strings), ("deprecated", 11, Bool)]);
    vendor_extensions(w, 13, op);
}

/// `ParametersItem`: a JSON reference, a body parameter or a non-body parameter.
fn encode_parameters_item(w: &mut Writer, p: &Value) {
    let Some(p) = p.as_object() else { return };
    if p.contains_key("$ref") {
        w.message(2, |w| w.scalars(p, &[("$ref", 1, Str), ("description", 2, Str)]));
        return;
    }
    w.message(1, |w| match p.get("in").and_then(Value::as_str) {
        Some("body") => w.message(1, |w| encode_body_parameter(w, p)),
        Some(location) => w.message(2, |w| encode_non_body_parameter(w, location, p)),
        None => {}
    });
}

fn encode_body_parameter(w: &mut Writer, p: &Map<String, Value>) {
    w.scalars(p, &[("description", 1, Str), ("name", 2, Str), ("in", 3, Str), ("required", 4, Bool)]);
    if let Some(schema) = p.get("schema").and_then(Value::as_object) {
        w.message(5, |w| encode_schema(w, schema));
    }
    vendor_extensions(w, 6, p);
}

/// `NonBodyParameter`: header (1), formData (2), query (3) or path (4) sub-schemas. Query and
/// formData carry `allowEmptyValue` as field 5, which shifts every later field by one.
fn encode_non_body_parameter(w: &mut Writer, location: &str, p: &Map<String, Value>) {
    let (field, shift) = match location {
        "header" => (1, 0),
        "formData" => (2, 1),
        "query" => (3, 1),
        "path" => (4, 0),
        _ => return,
    };
    w.message(field, |w| {
        w.scalars(p, &[("required", 1, Bool), ("in", 2, Str), ("description", 3, Str), ("name", 4, Str)]);
        if shift == 1 {
            w.scalars(p, &[("allowEmptyValue", 5, Bool)]);
        }
        w.scalars(
            p,
            &[
                ("type", 5 + shift, Str),
                ("format", 6 + shift, Str),
                ("collectionFormat", 8 + shift, Str),
                ("maximum", 10 + shift, Double),
                ("exclusiveMaximum", 11 + shift, Bool),
                ("minimum", 12 + shift, Double),
                ("exclusiveMinimum", 13 + shift, Bool),
                ("maxLength", 14 + shift, Int),
                ("minLength", 15 + shift, Int),
                ("pattern", 16 + shift, Str),
                ("maxItems", 17 + shift, Int),
                ("minItems", 18 + shift, Int),
                ("uniqueItems", 19 + shift, Bool),
                ("multipleOf", 21 + shift, Double),
            ],
        );
        if let Some(default) = p.get("default") {
            w.message(9 + shift, |w| encode_any(w, default));
        }
        for value in p.get("enum").and_then(Value::as_array).into_iter().flatten() {
            w.message(20 + shift, |w| encode_any(w, value));
        }
        vendor_extensions(w, 22 + shift, p);
    });
}

fn encode_responses(w: &mut Writer, responses: &Map<String, Value>) {
    for (code, response) in responses.iter().filter(|(k, _)| !k.starts_with("x-")) {
        let Some(response) = response.as_object() else { continue };
        w.message(1, |w| {
            w.string(1, code);
            w.message(2, |w| encode_response_value(w, response));
        });
    }
    vendor_extensions(w, 2, responses);
}

/// `ResponseValue`: a response (1) or a JSON reference (2).
fn encode_response_value(w: &mut Writer, r: &Map<String, Value>) {
    if r.contains_key("$ref") {
        w.message(2, |w| w.scalars(r, &[("$ref", 1, Str), ("description", 2, Str)]));
        return;
    }
    w.message(1, |w| {
        w.scalars(r, &[("description", 1, Str)]);
        if let Some(schema) = r.get("schema").and_then(Value::as_object) {
            w.message(2, |w| w.message(1, |w| encode_schema(w, schema)));
        }
        vendor_extensions(w, 5, r);
    });
}

/// A map of schemas as repeated `NamedSchema` (name 1, value 2) in field `field`.
fn named_schemas(w: &mut Writer, field: u32, schemas: &Map<String, Value>) {
    for (name, schema) in schemas {
        let Some(schema) = schema.as_object() else { continue };
        w.message(field, |w| {
            w.string(1, name);
            w.message(2, |w| encode_schema(w, schema));
        });
    }
}

const SCHEMA_SCALARS: &[(&str, u32, Scalar)] = &[
    ("$ref", 1, Str),
    ("format", 2, Str),
    ("title", 3, Str),
    ("description", 4, Str),
    ("multipleOf", 6, Double),
    ("maximum", 7, Double),
    ("exclusiveMaximum", 8, Bool),
    ("minimum", 9, Double),
    ("exclusiveMinimum", 10, Bool),
    ("maxLength", 11, Int),
    ("minLength", 12, Int),
    ("pattern", 13, Str),
    ("maxItems", 14, Int),
    ("minItems", 15, Int),
    ("uniqueItems", 16, Bool),
    ("maxProperties", 17, Int),
    ("minProperties", 18, Int),
    ("required", 19, Strings),
    ("discriminator", 26, Str),
    ("readOnly", 27, Bool),
];

/// `Schema`, fields in the proto's numbering.
pub fn encode_schema(w: &mut Writer, s: &Map<String, Value>) {
    w.scalars(s, SCHEMA_SCALARS);
    if let Some(default) = s.get("default") {
        w.message(5, |w| encode_any(w, default));
    }
    for value in s.get("enum").and_then(Value::as_array).into_iter().flatten() {
        w.message(20, |w| encode_any(w, value));
    }
    encode_additional_properties(w, s.get("additionalProperties"));
    encode_type(w, s.get("type"));
    encode_items(w, s.get("items"));
    for sub in s.get("allOf").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object) {
        w.message(24, |w| encode_schema(w, sub));
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        w.message(25, |w| named_schemas(w, 1, props));
    }
    if let Some(example) = s.get("example") {
        w.message(30, |w| encode_any(w, example));
    }
    vendor_extensions(w, 31, s);
}

/// `AdditionalPropertiesItem`: a schema (1) or a bool (2).
fn encode_additional_properties(w: &mut Writer, value: Option<&Value>) {
    match value {
        Some(Value::Object(schema)) => w.message(21, |w| w.message(1, |w| encode_schema(w, schema))),
        Some(Value::Bool(b)) => w.message(21, |w| w.oneof_bool(2, *b)),
        _ => {}
    }
}

/// `TypeItem`: repeated type names.
fn encode_type(w: &mut Writer, value: Option<&Value>) {
    match value {
        Some(Value::String(t)) => w.message(22, |w| w.string(1, t)),
        Some(Value::Array(types)) => w.message(22, |w| w.scalar(1, Some(&Value::Array(types.clone())), Strings)),
        _ => {}
    }
}

/// `ItemsItem`: repeated schemas (one for `items: {...}`).
fn encode_items(w: &mut Writer, value: Option<&Value>) {
    match value {
        Some(Value::Object(schema)) => w.message(23, |w| w.message(1, |w| encode_schema(w, schema))),
        Some(Value::Array(list)) => w.message(23, |w| {
            for schema in list.iter().filter_map(Value::as_object) {
                w.message(1, |w| encode_schema(w, schema));
            }
        }),
        _ => {}
    }
}

/// `SecurityRequirement`: repeated `NamedStringArray` (name 1, `StringArray` 2).
fn encode_security_requirement(w: &mut Writer, req: &Value) {
    for (name, scopes) in req.as_object().into_iter().flatten() {
        w.message(1, |w| {
            w.string(1, name);
            w.message(2, |w| w.scalar(1, Some(scopes), Strings));
        });
    }
}

/// `SecurityDefinitions`: named items; only the API-key (2) and basic (1) schemes.
fn encode_security_definitions(w: &mut Writer, defs: &Map<String, Value>) {
    for (name, def) in defs {
        let Some(def) = def.as_object() else { continue };
        w.message(1, |w| {
            w.string(1, name);
            w.message(2, |w| match def.get("type").and_then(Value::as_str) {
                Some("apiKey") => w.message(2, |w| {
                    w.scalars(def, &[("type", 1, Str), ("name", 2, Str), ("in", 3, Str), ("description", 4, Str)]);
                    vendor_extensions(w, 5, def);
                }),
                Some("basic") => w.message(1, |w| {
                    w.scalars(def, &[("type", 1, Str), ("description", 2, Str)]);
                    vendor_extensions(w, 3, def);
                }),
                _ => {}
            });
        });
    }
}
