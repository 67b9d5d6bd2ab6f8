//! Strategic merge patch, as `kubectl patch --type=strategic`, `kubectl apply` (client side) and
//! the apiserver's `application/strategic-merge-patch+json` handler do it.
//!
//! Upstream's reference is `k8s.io/apimachinery/pkg/util/strategicpatch`. A strategic merge patch
//! is a JSON merge patch (RFC 7386) in which list fields carry a strategy taken from the API
//! schema:
//!
//! * maps merge recursively and a `null` deletes a key;
//! * lists with the `merge` strategy merge item by item: lists of objects by their merge key
//!   (`containers` by `name`), lists of scalars as sets (duplicates dropped);
//! * every other list is replaced whole;
//! * directives steer the merge: `$patch: replace|delete` (in a map or as a list item),
//!   `$retainKeys` (fields with the `retainKeys` strategy), `$setElementOrder/<field>` (the
//!   order of a merged list) and `$deleteFromPrimitiveList/<field>` (scalars to drop from a
//!   merged list).
//!
//! [`PatchSchema`] navigates OpenAPI v3 component schemas to find each field's strategy; a
//! field without a schema falls back to upstream's behaviour for types it knows nothing of:
//! maps merge, lists are replaced whole. When a schema property carries no
//! `x-kubernetes-patch-*` extension, the metadata table in [`crate::merge_keys`] is consulted
//! by definition name, so plain component schemas (without extensions) work too.
//!
//! [`apply_strategic_merge_patch`] applies a patch, [`create_two_way_merge_patch`] computes the
//! patch turning one document into another, and [`create_three_way_merge_patch`] computes what
//! `kubectl apply` sends: the changes from the live object to the new configuration plus the
//! deletions of fields that were in the last-applied configuration and are no longer wanted.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};
use thiserror::Error;

use crate::merge_keys::{self, ListType, MapType};

const DIRECTIVE_MARKER: &str = "$patch";
const DELETE_DIRECTIVE: &str = "delete";
const REPLACE_DIRECTIVE: &str = "replace";
const MERGE_DIRECTIVE: &str = "merge";
const RETAIN_KEYS_STRATEGY: &str = "retainKeys";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";

/// How deep `$ref`/`allOf` chains are followed before a schema is taken as unknown.
const MAX_SCHEMA_DEPTH: usize = 32;

/// What can go wrong creating or applying a strategic merge patch. Messages follow upstream's
/// (`k8s.io/apimachinery/pkg/util/mergepatch` and `strategicpatch`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatchError {
    /// A document or patch is not a JSON object.
    #[error("invalid JSON document")]
    BadJsonDoc,
    /// A list holds lists.
    #[error("lists of lists are not supported")]
    NoListOfLists,
    /// A `$deleteFromPrimitiveList` directive is malformed.
    #[error("invalid patch format of primitive list")]
    BadPatchFormatForPrimitiveList,
    /// A `$retainKeys` directive is malformed, or the patch sets a field it does not retain.
    #[error("invalid patch format of retainKeys")]
    BadPatchFormatForRetainKeys,
    /// A `$setElementOrder` directive is malformed.
    #[error("invalid patch format of setElementOrder list")]
    BadPatchFormatForSetElementOrderList,
    /// An item of a merged list lacks the merge key.
    #[error("map: {map} does not contain declared merge key: {key}")]
    NoMergeKey {
        /// The item, rendered as Go renders a map.
        map: String,
        /// The merge key.
        key: String,
    },
    /// A value has the wrong JSON type.
    #[error("expected a {expected}, but received a {actual}")]
    BadArgType {
        /// The Go type upstream expected (`map[string]interface {}`, `[]interface {}`).
        expected: &'static str,
        /// The Go type of what was found.
        actual: &'static str,
    },
    /// A `$patch` directive names an unknown operation.
    #[error("unknown patch type: {directive} in map: {map}")]
    BadPatchType {
        /// The directive's value.
        directive: String,
        /// The map holding it.
        map: String,
    },
    /// `$patch: merge` as a list item.
    #[error("merging lists cannot yet be specified in the patch")]
    MergingListsNotSupported,
    /// A list of objects with the merge strategy but no merge key.
    #[error("cannot merge lists without merge key for {0}")]
    MissingMergeKeyForList(String),
    /// A list mixes items of different JSON types.
    #[error("list element types are not identical: {0}")]
    ListElementTypesNotIdentical(String),
    /// The items of a patch list are not in the order `$setElementOrder` gives.
    #[error("the order in patch list:\n{patch_list}\n doesn't match $setElementOrder list:\n{order_list}")]
    SetElementOrderMismatch {
        /// The patch list.
        patch_list: String,
        /// The `$setElementOrder` list.
        order_list: String,
    },
    /// An item of a list that should hold objects is not one.
    #[error("value for key {0} is not a map")]
    ListItemNotAMap(usize),
    /// A schema gives a patch strategy upstream does not know.
    #[error("unexpected patch strategy: {0}")]
    UnexpectedPatchStrategy(String),
    /// A `$patch` value that is not a string, in a document being diffed.
    #[error("invalid value for special key: $patch")]
    InvalidDirectiveValue,
    /// The `$retainKeys` lists of the two halves of a three-way patch differ.
    #[error(
        "{0} and {1} are not deep equal: this may happen when calculating the 3-way diff patch"
    )]
    RetainKeysMismatch(String, String),
    /// An item of a merged list, while checking a three-way patch for conflicts, is not a map.
    #[error("invalid element type in merging list:{0}")]
    InvalidMergingListElement(String),
    /// An item of a merged list, while checking a three-way patch for conflicts, lacks its key.
    #[error("cannot find merge key `{key}` in merging list element:{element}")]
    MergingListElementWithoutKey {
        /// The merge key.
        key: String,
        /// The item.
        element: String,
    },
    /// A three-way patch would undo a change made to the live object since the last apply
    /// (only when `overwrite` is false).
    #[error("patch:\n{patch}\nconflicts with changes made from original to current:\n{changed}\n")]
    Conflict {
        /// The computed patch, as pretty JSON.
        patch: String,
        /// The changes from the last-applied configuration to the live object, as pretty JSON.
        changed: String,
    },
}

impl PatchError {
    /// The HTTP status the apiserver answers with, as upstream's
    /// `interpretStrategicMergePatchError` maps them: 400 for malformed documents and
    /// directives, 422 for lists of lists, 409 for a three-way conflict, 500 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            PatchError::BadJsonDoc
            | PatchError::BadPatchFormatForPrimitiveList
            | PatchError::BadPatchFormatForRetainKeys
            | PatchError::BadPatchFormatForSetElementOrderList => 400,
            PatchError::NoListOfLists => 422,
            PatchError::Conflict { .. } => 409,
            _ => 500,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Schema navigation
// ---------------------------------------------------------------------------------------------

/// OpenAPI v3 component schemas, as the patchers read them: definition name -> JSON schema
/// with `properties`, `$ref` (`#/components/schemas/NAME`, or any pointer whose last segment is
/// the name), `allOf: [{$ref}]`, `items`, `additionalProperties` and the `x-kubernetes-*`
/// extensions. Fields whose property schema has no extension fall back to
/// [`crate::merge_keys`] by definition name.
#[derive(Debug, Clone, Default)]
pub struct PatchSchema {
    definitions: Map<String, Value>,
}

impl PatchSchema {
    /// Wraps a map of definition name -> schema (an OpenAPI v3 `components.schemas`).
    pub fn new(definitions: Map<String, Value>) -> Self {
        PatchSchema { definitions }
    }

    /// A schema that knows no type: every list is replaced and every map merged.
    pub fn empty() -> Self {
        PatchSchema::default()
    }

    /// Takes the definitions of a whole document: OpenAPI v3 `components.schemas`, Swagger 2
    /// `definitions` or JSON Schema `$defs`, whichever is present.
    pub fn from_document(document: &Value) -> Self {
        let defs = document
            .pointer("/components/schemas")
            .or_else(|| document.get("definitions"))
            .or_else(|| document.get("$defs"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        PatchSchema::new(defs)
    }

    /// Adds (or replaces) one definition.
    pub fn insert(&mut self, name: impl Into<String>, schema: Value) {
        self.definitions.insert(name.into(), schema);
    }

    /// The definitions.
    pub fn definitions(&self) -> &Map<String, Value> {
        &self.definitions
    }

    /// One definition's schema.
    pub fn definition(&self, name: &str) -> Option<&Value> {
        self.definitions.get(name)
    }

    /// The node of definition `name`; an unknown node if there is no such definition.
    pub fn root(&self, name: &str) -> SchemaNode<'_> {
        match self.definitions.get_key_value(name) {
            Some((k, v)) => SchemaNode {
                schema: self,
                value: Some(v),
                definition: Some(k.as_str()),
            },
            None => self.unknown(),
        }
    }

    /// The node standing for a value of unknown type.
    pub fn unknown(&self) -> SchemaNode<'_> {
        SchemaNode {
            schema: self,
            value: None,
            definition: None,
        }
    }

    fn resolve_ref(&self, reference: &str) -> Option<(&str, &Value)> {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        let name = name.replace("~1", "/").replace("~0", "~");
        self.definitions
            .get_key_value(name.as_str())
            .map(|(k, v)| (k.as_str(), v))
    }
}

/// A position in a [`PatchSchema`]: the schema of one value, or "unknown".
#[derive(Debug, Clone, Copy)]
pub struct SchemaNode<'a> {
    schema: &'a PatchSchema,
    value: Option<&'a Value>,
    definition: Option<&'a str>,
}

/// The shape a schema node gives its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// An object with declared `properties`.
    Struct,
    /// An object with `additionalProperties` only (a map of string to something).
    Map,
    /// An array.
    List,
    /// A string, number, boolean or a value the schema leaves open (`x-kubernetes-int-or-string`).
    Scalar,
    /// No schema is known.
    Unknown,
}

impl<'a> SchemaNode<'a> {
    /// Whether a schema is known for this value.
    pub fn is_known(&self) -> bool {
        self.value.is_some()
    }

    /// The definition this node resolves to, if it is (a reference to) a named one.
    pub fn definition_name(&self) -> Option<&'a str> {
        self.resolve().definition
    }

    /// The resolved schema JSON, if known.
    pub fn schema_value(&self) -> Option<&'a Value> {
        self.resolve().value
    }

    /// Follows `$ref` and single-member `allOf` wrappers to the schema proper.
    pub fn resolve(&self) -> SchemaNode<'a> {
        let mut node = *self;
        for _ in 0..MAX_SCHEMA_DEPTH {
            let Some(v) = node.value else {
                return node;
            };
            if let Some(r) = v.get("$ref").and_then(Value::as_str) {
                match node.schema.resolve_ref(r) {
                    Some((name, target)) => {
                        node = SchemaNode {
                            schema: node.schema,
                            value: Some(target),
                            definition: Some(name),
                        };
                        continue;
                    }
                    None => return node.schema.unknown(),
                }
            }
            let has_own_shape = v.get("properties").is_some()
                || v.get("items").is_some()
                || v.get("additionalProperties").is_some();
            if !has_own_shape {
                if let Some([only]) = v.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
                    node = SchemaNode {
                        schema: node.schema,
                        value: Some(only),
                        definition: node.definition,
                    };
                    continue;
                }
                // A nullable wrapper: `anyOf`/`oneOf` of one schema and `{"type": "null"}`.
                let non_null: Vec<&Value> = ["anyOf", "oneOf"]
                    .iter()
                    .filter_map(|k| v.get(*k).and_then(Value::as_array))
                    .flatten()
                    .filter(|m| m.get("type").and_then(Value::as_str) != Some("null"))
                    .collect();
                if let [only] = non_null.as_slice() {
                    node = SchemaNode {
                        schema: node.schema,
                        value: Some(*only),
                        definition: node.definition,
                    };
                    continue;
                }
            }
            return node;
        }
        node.schema.unknown()
    }

    /// The shape of the value this node describes.
    pub fn kind(&self) -> SchemaKind {
        let node = self.resolve();
        let Some(v) = node.value else {
            return SchemaKind::Unknown;
        };
        if v.get("items").is_some() || type_is(v, "array") {
            return SchemaKind::List;
        }
        if v.get("properties").is_some() || node.members().any(|m| m.kind() == SchemaKind::Struct) {
            return SchemaKind::Struct;
        }
        if v.get("additionalProperties").is_some() {
            return SchemaKind::Map;
        }
        if type_is(v, "object") {
            return match v.get("x-kubernetes-preserve-unknown-fields") {
                Some(Value::Bool(true)) => SchemaKind::Unknown,
                _ => SchemaKind::Map,
            };
        }
        if v.get("type").is_some() || v.get("x-kubernetes-int-or-string").is_some() {
            return SchemaKind::Scalar;
        }
        SchemaKind::Unknown
    }

    /// The `allOf`/`anyOf`/`oneOf` members of this (resolved) node, resolved.
    fn members(&self) -> impl Iterator<Item = SchemaNode<'a>> + 'a {
        let node = *self;
        ["allOf", "anyOf", "oneOf"]
            .into_iter()
            .filter_map(move |k| node.value.and_then(|v| v.get(k)).and_then(Value::as_array))
            .flatten()
            .map(move |m| {
                SchemaNode {
                    schema: node.schema,
                    value: Some(m),
                    definition: node.definition,
                }
                .resolve()
            })
    }

    fn find_property(&self, name: &str, depth: usize) -> Option<(&'a Value, Option<&'a str>)> {
        if depth > MAX_SCHEMA_DEPTH {
            return None;
        }
        let node = self.resolve();
        let v = node.value?;
        if let Some(p) = v.get("properties").and_then(|p| p.get(name)) {
            return Some((p, node.definition));
        }
        node.members()
            .find_map(|m| m.find_property(name, depth + 1))
    }

    fn additional_properties(&self, depth: usize) -> Option<SchemaNode<'a>> {
        if depth > MAX_SCHEMA_DEPTH {
            return None;
        }
        let node = self.resolve();
        let v = node.value?;
        match v.get("additionalProperties") {
            Some(ap @ Value::Object(_)) => Some(SchemaNode {
                schema: node.schema,
                value: Some(ap),
                definition: None,
            }),
            Some(Value::Bool(true)) => Some(node.schema.unknown()),
            _ => node
                .members()
                .find_map(|m| m.additional_properties(depth + 1)),
        }
    }

    /// The schema of the value of `name` in this object, with the field's patch metadata.
    /// A declared property wins; else the `additionalProperties` schema (a map's values);
    /// else the field is unknown (no metadata).
    pub fn field(&self, name: &str) -> (SchemaNode<'a>, FieldMeta) {
        if !self.is_known() {
            return (*self, FieldMeta::default());
        }
        if let Some((prop, owner)) = self.find_property(name, 0) {
            let mut meta = FieldMeta::from_extensions(prop);
            if let Some(row) = owner.and_then(|d| merge_keys::lookup(d, name)) {
                meta.fill_from_row(row);
            }
            let child = SchemaNode {
                schema: self.schema,
                value: Some(prop),
                definition: None,
            }
            .resolve();
            return (child, meta);
        }
        if let Some(ap) = self.additional_properties(0) {
            let meta = ap.value.map(FieldMeta::from_extensions).unwrap_or_default();
            return (ap.resolve(), meta);
        }
        (self.schema.unknown(), FieldMeta::default())
    }

    /// Whether this object schema declares property `name` (as opposed to a map key or an
    /// unknown field).
    pub fn has_property(&self, name: &str) -> bool {
        self.find_property(name, 0).is_some()
    }

    /// The `default` of property `name`: the property schema's own, else upstream's default for
    /// an associative-list key (see [`crate::merge_keys::list_key_default`]).
    pub fn property_default(&self, name: &str) -> Option<Value> {
        if let Some((prop, owner)) = self.find_property(name, 0) {
            if let Some(d) = prop.get("default") {
                return Some(d.clone());
            }
            if let Some(d) = owner.and_then(|o| merge_keys::list_key_default(o, name)) {
                return Some(Value::String(d.to_string()));
            }
        }
        None
    }

    /// The schema of this list's items (unknown if this is not a known list).
    pub fn items(&self) -> SchemaNode<'a> {
        let node = self.resolve();
        match node.value.and_then(|v| v.get("items")) {
            Some(items @ Value::Object(_)) => SchemaNode {
                schema: node.schema,
                value: Some(items),
                definition: None,
            }
            .resolve(),
            _ => node.schema.unknown(),
        }
    }

    /// The map type this schema declares for itself (`x-kubernetes-map-type` on the schema, or
    /// on its definition in [`crate::merge_keys`]).
    pub fn map_type(&self) -> Option<MapType> {
        let node = self.resolve();
        node.value
            .and_then(|v| v.get(merge_keys::MAP_TYPE_EXTENSION))
            .and_then(Value::as_str)
            .and_then(MapType::parse)
            .or_else(|| node.definition.and_then(merge_keys::definition_map_type))
    }

    /// A name for messages: the definition name, or `object` for inline and unknown schemas.
    pub fn name(&self) -> &'a str {
        self.definition_name().unwrap_or("object")
    }
}

fn type_is(v: &Value, t: &str) -> bool {
    match v.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(ts)) => ts.iter().any(|x| x.as_str() == Some(t)),
        _ => false,
    }
}

/// The patch metadata of one field: strategic-merge-patch strategy and merge key, and the
/// server-side-apply list and map types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMeta {
    /// `x-kubernetes-patch-strategy`, as written (`merge`, `merge,retainKeys`, ...).
    pub patch_strategy: Option<String>,
    /// `x-kubernetes-patch-merge-key`.
    pub patch_merge_key: Option<String>,
    /// `x-kubernetes-list-type`.
    pub list_type: Option<ListType>,
    /// `x-kubernetes-list-map-keys`.
    pub list_map_keys: Vec<String>,
    /// `x-kubernetes-map-type` on the field.
    pub map_type: Option<MapType>,
}

impl FieldMeta {
    /// Reads the `x-kubernetes-*` extensions of a property schema; values of the wrong JSON
    /// type are ignored.
    pub fn from_extensions(schema: &Value) -> FieldMeta {
        let s = |k: &str| schema.get(k).and_then(Value::as_str);
        FieldMeta {
            patch_strategy: s(merge_keys::PATCH_STRATEGY_EXTENSION).map(str::to_string),
            patch_merge_key: s(merge_keys::PATCH_MERGE_KEY_EXTENSION).map(str::to_string),
            list_type: s(merge_keys::LIST_TYPE_EXTENSION).and_then(ListType::parse),
            list_map_keys: schema
                .get(merge_keys::LIST_MAP_KEYS_EXTENSION)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            map_type: s(merge_keys::MAP_TYPE_EXTENSION).and_then(MapType::parse),
        }
    }

    /// The metadata of one row of [`crate::merge_keys`].
    pub fn from_row(row: &merge_keys::FieldPatchMetadata) -> FieldMeta {
        let mut meta = FieldMeta::default();
        meta.fill_from_row(row);
        meta
    }

    /// Fills every attribute not set yet from a table row.
    fn fill_from_row(&mut self, row: &merge_keys::FieldPatchMetadata) {
        if self.patch_strategy.is_none() {
            self.patch_strategy = row.patch_strategy.map(str::to_string);
        }
        if self.patch_merge_key.is_none() {
            self.patch_merge_key = row.patch_merge_key.map(str::to_string);
        }
        if self.list_type.is_none() {
            self.list_type = row.list_type;
        }
        if self.list_map_keys.is_empty() {
            self.list_map_keys = row.list_map_keys.iter().map(|k| (*k).to_string()).collect();
        }
        if self.map_type.is_none() {
            self.map_type = row.map_type;
        }
    }

    /// Splits the strategy into whether `retainKeys` applies and the other strategy (`merge`,
    /// `replace` or empty), as upstream's `extractRetainKeysPatchStrategy`.
    pub fn patch_strategies(&self) -> Result<(bool, &str), PatchError> {
        let Some(s) = self.patch_strategy.as_deref() else {
            return Ok((false, ""));
        };
        let parts: Vec<&str> = s.split(',').collect();
        match parts.as_slice() {
            [one] if *one == RETAIN_KEYS_STRATEGY => Ok((true, "")),
            [one] => Ok((false, one)),
            [a, b] if *a == RETAIN_KEYS_STRATEGY => Ok((true, b)),
            [a, b] if *b == RETAIN_KEYS_STRATEGY => Ok((true, a)),
            _ => Err(PatchError::UnexpectedPatchStrategy(format!(
                "[{}]",
                parts.join(" ")
            ))),
        }
    }

    /// The merge key, or `""`.
    pub fn merge_key(&self) -> &str {
        self.patch_merge_key.as_deref().unwrap_or("")
    }

    /// Whether lists of this field merge (strategy `merge`, possibly with `retainKeys`).
    pub fn is_merge(&self) -> bool {
        matches!(self.patch_strategies(), Ok((_, MERGE_DIRECTIVE)))
    }

    /// The list type server-side apply uses: the declared one; else, as upstream's schema
    /// converter does, `map` for a merged list with a merge key, `set` for a merged list
    /// without one, and `atomic` for the rest.
    pub fn effective_list_type(&self) -> ListType {
        if let Some(t) = self.list_type {
            return t;
        }
        match (self.is_merge(), self.patch_merge_key.is_some()) {
            (true, true) => ListType::Map,
            (true, false) => ListType::Set,
            _ => ListType::Atomic,
        }
    }

    /// The keys of an associative list: the declared `x-kubernetes-list-map-keys`, else the
    /// merge key.
    pub fn effective_list_map_keys(&self) -> Vec<String> {
        if !self.list_map_keys.is_empty() {
            return self.list_map_keys.clone();
        }
        self.patch_merge_key.iter().cloned().collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Value helpers (Go semantics)
// ---------------------------------------------------------------------------------------------

/// The JSON type of a value, standing for the Go type upstream compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

fn kind_of(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(_) => Kind::Number,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::Array,
        Value::Object(_) => Kind::Object,
    }
}

/// The Go type name upstream's messages use for a decoded JSON value.
pub(crate) fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

const GO_MAP: &str = "map[string]interface {}";
const GO_SLICE: &str = "[]interface {}";

fn numbers_equal(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    a.as_f64() == b.as_f64()
}

/// Deep equality as Go's `reflect.DeepEqual` sees decoded JSON: numbers compare by value.
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers_equal(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

fn go_float(f: f64) -> String {
    if f == 0.0 {
        return "0".to_string();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// Renders a value as Go's `%v` renders decoded JSON: `map[a:1 b:x]`, `[1 2]`, `<nil>`.
pub(crate) fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_float(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_fmt).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_fmt(&m[k.as_str()])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

fn go_fmt_map(m: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let parts: Vec<String> = keys
        .iter()
        .map(|k| format!("{k}:{}", go_fmt(&m[k.as_str()])))
        .collect();
    format!("map[{}]", parts.join(" "))
}

fn go_fmt_list(l: &[Value]) -> String {
    format!("[{}]", l.iter().map(go_fmt).collect::<Vec<_>>().join(" "))
}

fn bad_arg(expected: &'static str, actual: &Value) -> PatchError {
    PatchError::BadArgType {
        expected,
        actual: go_type_name(actual),
    }
}

/// The element kind of one or more lists, as upstream's `sliceElementType`: `None` when all
/// are empty, an error for lists of lists and for mixed types.
fn slice_element_kind(lists: &[&[Value]]) -> Result<Option<Kind>, PatchError> {
    let mut prev: Option<Kind> = None;
    for list in lists {
        for v in list.iter() {
            let k = kind_of(v);
            match prev {
                None => {
                    if k == Kind::Array {
                        return Err(PatchError::NoListOfLists);
                    }
                    prev = Some(k);
                }
                Some(p) if p != k => {
                    let rendered: Vec<String> = lists.iter().map(|l| go_fmt_list(l)).collect();
                    return Err(PatchError::ListElementTypesNotIdentical(format!(
                        "[{}]",
                        rendered.join(" ")
                    )));
                }
                Some(_) => {}
            }
        }
    }
    Ok(prev)
}

fn object_or_empty(v: &Value) -> Result<Map<String, Value>, PatchError> {
    match v {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m.clone()),
        _ => Err(PatchError::BadJsonDoc),
    }
}

/// Splits `prefix/key` into `key`; the error depends on the prefix, as upstream's.
fn extract_key<'k>(s: &'k str, prefix: &str) -> Result<&'k str, PatchError> {
    match s.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest),
        _ if prefix == DELETE_FROM_PRIMITIVE_LIST_PREFIX => {
            Err(PatchError::BadPatchFormatForPrimitiveList)
        }
        _ => Err(PatchError::BadPatchFormatForSetElementOrderList),
    }
}

/// Removes `$patch` directives from a value that is added as is: a map holding one is dropped
/// (`None`), list items holding one are dropped, and the rest is cleaned recursively.
fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE_MARKER) {
                return None;
            }
            let cleaned: Map<String, Value> = m
                .into_iter()
                .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                .collect();
            Some(Value::Object(cleaned))
        }
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// Drops every `null`-valued key of the maps in a value (lists keep their null items).
fn discard_null_values(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            for (_, child) in m.iter_mut() {
                discard_null_values(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(discard_null_values),
        _ => {}
    }
}

/// Drops duplicate scalars, keeping first occurrences.
fn dedup_scalars(list: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(list.len());
    for v in list {
        if !out.iter().any(|w| values_equal(w, &v)) {
            out.push(v);
        }
    }
    out
}

/// Sorts scalars by their `%v` rendering, as upstream's `sortScalars`.
fn sort_scalars(mut list: Vec<Value>) -> Vec<Value> {
    list.sort_by_cached_key(go_fmt);
    list
}

// ---------------------------------------------------------------------------------------------
// Applying a patch
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct MergeOptions {
    /// Whether `$deleteFromPrimitiveList` and `$setElementOrder` are applied (server side) or
    /// carried along (when merging the two halves of a three-way patch).
    merge_parallel_list: bool,
    /// Whether `null`s of the patch that match nothing are dropped.
    ignore_unmatched_nulls: bool,
}

/// Applies strategic merge patch `patch` to `original`, both JSON objects, reading patch
/// strategies from `schema` starting at definition `root` (e.g. `io.k8s.api.apps.v1.Deployment`;
/// an unknown name merges without strategies). A `null` document or patch counts as `{}`.
pub fn apply_strategic_merge_patch(
    original: &Value,
    patch: &Value,
    schema: &PatchSchema,
    root: &str,
) -> Result<Value, PatchError> {
    let original = object_or_empty(original)?;
    let patch = object_or_empty(patch)?;
    let options = MergeOptions {
        merge_parallel_list: true,
        ignore_unmatched_nulls: true,
    };
    merge_map(original, patch, schema.root(root), options).map(Value::Object)
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    node: SchemaNode<'_>,
    options: MergeOptions,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE_MARKER) {
        return match directive.as_str() {
            Some(REPLACE_DIRECTIVE) => {
                patch.shift_remove(DIRECTIVE_MARKER);
                Ok(patch)
            }
            Some(DELETE_DIRECTIVE) => Ok(Map::new()),
            _ => Err(PatchError::BadPatchType {
                directive: go_fmt(directive),
                map: go_fmt_map(&patch),
            }),
        };
    }

    apply_retain_keys_directive(&mut original, &mut patch, options)?;
    merge_patch_into_original(&mut original, &mut patch, node, options)?;

    for (key, mut patch_v) in patch {
        let mut is_delete_list = false;
        let k: String = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
            if !options.merge_parallel_list {
                original.insert(key, patch_v);
                continue;
            }
            is_delete_list = true;
            extract_key(&key, DELETE_FROM_PRIMITIVE_LIST_PREFIX)?.to_string()
        } else {
            key
        };

        if patch_v.is_null() {
            original.shift_remove(&k);
            if options.ignore_unmatched_nulls {
                continue;
            }
        }

        let same_kind = original.get(&k).map(|o| kind_of(o) == kind_of(&patch_v));
        if same_kind != Some(true) {
            // Absent from the original, or of another type: take the patch value.
            if !is_delete_list {
                if options.ignore_unmatched_nulls {
                    discard_null_values(&mut patch_v);
                }
                match remove_directives(patch_v) {
                    Some(v) => {
                        original.insert(k, v);
                    }
                    None => {
                        original.shift_remove(&k);
                    }
                }
            }
            continue;
        }

        let Some(slot) = original.get_mut(&k) else {
            continue;
        };
        let original_v = std::mem::take(slot);
        let merged = match (original_v, patch_v) {
            (Value::Object(o), Value::Object(p)) => {
                let (child, meta) = node.field(&k);
                let (_, strategy) = meta.patch_strategies()?;
                if strategy == REPLACE_DIRECTIVE {
                    Some(Value::Object(p))
                } else {
                    Some(Value::Object(merge_map(o, p, child, options)?))
                }
            }
            (Value::Array(o), Value::Array(p)) => {
                let (child, meta) = node.field(&k);
                let (_, strategy) = meta.patch_strategies()?;
                Some(Value::Array(merge_slice_handler(
                    o,
                    p,
                    child.items(),
                    strategy,
                    meta.merge_key(),
                    is_delete_list,
                    options,
                )?))
            }
            (_, p) => remove_directives(p),
        };
        match merged {
            Some(v) => *slot = v,
            None => {
                original.shift_remove(&k);
            }
        }
    }
    Ok(original)
}

/// Applies `$retainKeys`: fields of `original` not listed are cleared, and the patch may set
/// only listed fields. When merging the halves of a three-way patch, the directive is carried
/// into `original` instead.
fn apply_retain_keys_directive(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    options: MergeOptions,
) -> Result<(), PatchError> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    if !options.merge_parallel_list {
        match original.get(RETAIN_KEYS_DIRECTIVE) {
            Some(existing) if !values_equal(existing, &retain) => {
                return Err(PatchError::RetainKeysMismatch(
                    go_fmt(existing),
                    go_fmt(&retain),
                ));
            }
            Some(_) => {}
            None => {
                original.insert(RETAIN_KEYS_DIRECTIVE.to_string(), retain);
            }
        }
        return Ok(());
    }
    let Value::Array(list) = retain else {
        return Err(PatchError::BadPatchFormatForRetainKeys);
    };
    let retained = |k: &str| list.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
            || k.starts_with(SET_ELEMENT_ORDER_PREFIX)
        {
            continue;
        }
        if !retained(k) {
            return Err(PatchError::BadPatchFormatForRetainKeys);
        }
    }
    original.retain(|k, _| retained(k));
    Ok(())
}

/// Processes every `$setElementOrder/<field>` of the patch together with the patch list of
/// `<field>`: merges them into the original and orders the result. Precedence of order:
/// `$setElementOrder` first, then the patch list, then the live list.
fn merge_patch_into_original(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    node: SchemaNode<'_>,
    options: MergeOptions,
) -> Result<(), PatchError> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER_PREFIX))
        .cloned()
        .collect();
    for key in keys {
        let Some(order_value) = patch.shift_remove(&key) else {
            continue;
        };
        if !options.merge_parallel_list {
            match original.get(&key) {
                Some(existing) if !values_equal(existing, &order_value) => {
                    return Err(PatchError::BadPatchFormatForSetElementOrderList);
                }
                Some(_) => {}
                None => {
                    original.insert(key.clone(), order_value.clone());
                }
            }
        }
        let Value::Array(order) = order_value else {
            return Err(bad_arg(GO_SLICE, &order_value));
        };
        let field = extract_key(&key, SET_ELEMENT_ORDER_PREFIX)?.to_string();

        let original_list = match original.get(&field) {
            None => None,
            Some(Value::Array(a)) => Some(a.clone()),
            Some(other) => return Err(bad_arg(GO_SLICE, other)),
        };
        let patch_list = match patch.get(&field) {
            None => None,
            Some(Value::Array(a)) => Some(a.clone()),
            Some(other) => return Err(bad_arg(GO_SLICE, other)),
        };

        let (child, meta) = node.field(&field);
        let (_, strategy) = meta.patch_strategies()?;
        let merge_key = meta.merge_key().to_string();
        validate_patch_with_set_order_list(
            patch_list.as_deref().unwrap_or(&[]),
            &order,
            &merge_key,
        )?;

        let mut server_order = original_list.clone().unwrap_or_default();
        let merged = match (&original_list, &patch_list) {
            (Some(o), None) => o.clone(),
            (None, Some(p)) => match remove_directives(Value::Array(p.clone())) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            },
            (Some(o), Some(p)) => {
                let (merged, view) = merge_slice_handler_with_view(
                    o.clone(),
                    p.clone(),
                    child.items(),
                    strategy,
                    &merge_key,
                    false,
                    options,
                )?;
                server_order = view;
                merged
            }
            (None, None) => continue,
        };

        let original_items = original_list.unwrap_or_default();
        let patch_items_all = patch_list.unwrap_or_default();
        let Some(kind) = slice_element_kind(&[&original_items, &patch_items_all])? else {
            // Nothing to order.
            original.insert(field.clone(), Value::Array(merged));
            patch.shift_remove(&field);
            continue;
        };
        let (patch_items, server_only) = if merge_key.is_empty() {
            partition_primitives_by_present_in_list(merged, &order)
        } else {
            partition_maps_by_present_in_list(merged, &order, &merge_key)?
        };
        let both = normalize_element_order(
            patch_items,
            server_only,
            &order,
            &server_order,
            &merge_key,
            kind,
        )?;
        original.insert(field.clone(), Value::Array(both));
        patch.shift_remove(&field);
    }
    Ok(())
}

/// Checks that the items of a patch list appear in the `$setElementOrder` list, in the same
/// relative order (deletions aside).
fn validate_patch_with_set_order_list(
    patch_list: &[Value],
    order: &[Value],
    merge_key: &str,
) -> Result<(), PatchError> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<Value> = if merge_key.is_empty() {
        patch_list.to_vec()
    } else {
        extract_to_delete_items(patch_list.to_vec())?.0
    };
    let (mut pi, mut oi) = (0, 0);
    while pi < non_delete.len() && oi < order.len() {
        if non_delete[pi].get(DIRECTIVE_MARKER).is_some() {
            pi += 1;
            continue;
        }
        if merge_key_value_equal(&non_delete[pi], &order[oi], merge_key)? {
            pi += 1;
        }
        oi += 1;
    }
    if pi < non_delete.len() && oi >= order.len() {
        return Err(PatchError::SetElementOrderMismatch {
            patch_list: go_fmt_list(patch_list),
            order_list: go_fmt_list(order),
        });
    }
    Ok(())
}

fn merge_key_value_equal(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(values_equal(left, right));
    }
    let l = left.as_object().ok_or_else(|| bad_arg(GO_MAP, left))?;
    let r = right.as_object().ok_or_else(|| bad_arg(GO_MAP, right))?;
    let lk = l.get(merge_key).ok_or_else(|| no_merge_key(l, merge_key))?;
    let rk = r.get(merge_key).ok_or_else(|| no_merge_key(r, merge_key))?;
    Ok(values_equal(lk, rk))
}

fn no_merge_key(m: &Map<String, Value>, key: &str) -> PatchError {
    PatchError::NoMergeKey {
        map: go_fmt_map(m),
        key: key.to_string(),
    }
}

fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    items: SchemaNode<'_>,
    strategy: &str,
    merge_key: &str,
    is_delete_list: bool,
    options: MergeOptions,
) -> Result<Vec<Value>, PatchError> {
    merge_slice_handler_with_view(
        original,
        patch,
        items,
        strategy,
        merge_key,
        is_delete_list,
        options,
    )
    .map(|(merged, _)| merged)
}

/// As [`merge_slice_handler`], also returning the original list as upstream sees it after the
/// merge (see [`GoSliceView`]).
fn merge_slice_handler_with_view(
    original: Vec<Value>,
    patch: Vec<Value>,
    items: SchemaNode<'_>,
    strategy: &str,
    merge_key: &str,
    is_delete_list: bool,
    options: MergeOptions,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    // Deletion lists work the same whatever the field's strategy.
    if strategy == MERGE_DIRECTIVE || is_delete_list {
        merge_slice(original, patch, items, merge_key, options, is_delete_list)
    } else {
        Ok((patch, original))
    }
}

/// Upstream merges lists in place: removing an item shifts the rest of the original list's
/// backing array left, and appending reuses its spare room, so the original list the caller
/// still holds afterwards reads the array as it was left (same length, shifted items, stale
/// tail). `$setElementOrder` processing then orders server-only items by that view, and
/// upstream's expected orders rely on it. This mirrors the array while the merged list still
/// shares it.
struct GoSliceView {
    backing: Vec<Value>,
    len: usize,
    shared: bool,
}

impl GoSliceView {
    fn new(list: &[Value]) -> Self {
        GoSliceView {
            backing: list.to_vec(),
            len: list.len(),
            shared: true,
        }
    }

    /// `s = append(s[:i], s[i+1:]...)`
    fn delete_at(&mut self, i: usize) {
        if self.shared && i < self.len {
            for j in i..self.len - 1 {
                self.backing[j] = self.backing[j + 1].clone();
            }
            self.len -= 1;
        }
    }

    /// `s[i] = v`
    fn set(&mut self, i: usize, v: &Value) {
        if self.shared && i < self.len {
            self.backing[i] = v.clone();
        }
    }

    /// `s = append(s, v)`: in place while there is room, else the merged list moves away.
    fn append(&mut self, v: &Value) {
        if !self.shared {
            return;
        }
        if self.len < self.backing.len() {
            self.backing[self.len] = v.clone();
            self.len += 1;
        } else {
            self.shared = false;
        }
    }

    fn detach(&mut self) {
        self.shared = false;
    }
}

fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    items: SchemaNode<'_>,
    merge_key: &str,
    options: MergeOptions,
    is_delete_list: bool,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let Some(kind) = slice_element_kind(&[&original, &patch])? else {
        return Ok((original.clone(), original));
    };
    let mut view = GoSliceView::new(&original);
    let (merged, server_order, patch) = if kind != Kind::Object {
        if options.merge_parallel_list && is_delete_list {
            return Ok((delete_from_slice(original.clone(), &patch), original));
        }
        let mut both = original.clone();
        both.extend(patch.iter().cloned());
        (dedup_scalars(both), original, patch)
    } else {
        if merge_key.is_empty() {
            return Err(PatchError::MissingMergeKeyForList(items.name().to_string()));
        }
        let (original, patch) =
            merge_slice_with_special_elements(original, patch, merge_key, &mut view)?;
        let merged = merge_slice_without_special_elements(
            original.clone(),
            &patch,
            merge_key,
            items,
            options,
            &mut view,
        )?;
        (merged, original, patch)
    };
    let (patch_items, server_only) = if merge_key.is_empty() {
        partition_primitives_by_present_in_list(merged, &patch)
    } else {
        partition_maps_by_present_in_list(merged, &patch, merge_key)?
    };
    let result = normalize_element_order(
        patch_items,
        server_only,
        &patch,
        &server_order,
        merge_key,
        kind,
    )?;
    Ok((result, view.backing))
}

/// Handles the `$patch` items of a merged list of objects: `delete` removes the matching
/// items from the original, `replace` makes the rest of the patch the whole list. Returns the
/// updated original and the patch without directive items.
fn merge_slice_with_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
    view: &mut GoSliceView,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut without = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Value::Object(m) = &v else {
            return Err(bad_arg(GO_MAP, &v));
        };
        match m.get(DIRECTIVE_MARKER) {
            None => without.push(v),
            Some(directive) => match directive.as_str() {
                Some(DELETE_DIRECTIVE) => {
                    let Some(key_value) = m.get(merge_key) else {
                        return Err(no_merge_key(m, merge_key));
                    };
                    original = delete_matching_entries(original, merge_key, key_value, view)?;
                }
                Some(REPLACE_DIRECTIVE) => replace = true,
                Some(MERGE_DIRECTIVE) => return Err(PatchError::MergingListsNotSupported),
                _ => {
                    return Err(PatchError::BadPatchType {
                        directive: go_fmt(directive),
                        map: go_fmt_map(m),
                    })
                }
            },
        }
    }
    if replace {
        view.detach();
        Ok((without, Vec::new()))
    } else {
        Ok((original, without))
    }
}

fn delete_matching_entries(
    original: Vec<Value>,
    merge_key: &str,
    key_value: &Value,
    view: &mut GoSliceView,
) -> Result<Vec<Value>, PatchError> {
    let mut out = Vec::with_capacity(original.len());
    for (i, v) in original.into_iter().enumerate() {
        let Some(m) = v.as_object() else {
            return Err(PatchError::ListItemNotAMap(i));
        };
        if m.get(merge_key).is_some_and(|k| values_equal(k, key_value)) {
            // Upstream removes matches one at a time, from the front.
            view.delete_at(out.len());
            continue;
        }
        out.push(v);
    }
    Ok(out)
}

fn merge_slice_without_special_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    items: SchemaNode<'_>,
    options: MergeOptions,
    view: &mut GoSliceView,
) -> Result<Vec<Value>, PatchError> {
    for v in patch {
        let Some(m) = v.as_object() else {
            return Err(bad_arg(GO_MAP, v));
        };
        let Some(key_value) = m.get(merge_key) else {
            return Err(no_merge_key(m, merge_key));
        };
        match find_map_in_slice(&original, merge_key, key_value)? {
            Some(i) => {
                let existing = match std::mem::take(&mut original[i]) {
                    Value::Object(o) => o,
                    _ => Map::new(),
                };
                original[i] = Value::Object(merge_map(existing, m.clone(), items, options)?);
                view.set(i, &original[i]);
            }
            None => {
                original.push(v.clone());
                view.append(v);
            }
        }
    }
    Ok(original)
}

fn find_map_in_slice(
    list: &[Value],
    key: &str,
    value: &Value,
) -> Result<Option<usize>, PatchError> {
    for (i, v) in list.iter().enumerate() {
        let Some(m) = v.as_object() else {
            return Err(PatchError::ListItemNotAMap(i));
        };
        if m.get(key).is_some_and(|k| values_equal(k, value)) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

fn delete_from_slice(current: Vec<Value>, to_delete: &[Value]) -> Vec<Value> {
    current
        .into_iter()
        .filter(|v| !to_delete.iter().any(|d| values_equal(d, v)))
        .collect()
}

fn partition_primitives_by_present_in_list(
    list: Vec<Value>,
    by: &[Value],
) -> (Vec<Value>, Vec<Value>) {
    list.into_iter()
        .partition(|v| by.iter().any(|w| values_equal(v, w)))
}

fn partition_maps_by_present_in_list(
    list: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut present = Vec::with_capacity(list.len());
    let mut absent = Vec::new();
    for v in list {
        let Some(m) = v.as_object() else {
            return Err(bad_arg(GO_MAP, &v));
        };
        let Some(key_value) = m.get(merge_key) else {
            return Err(no_merge_key(m, merge_key));
        };
        if find_map_in_slice(by, merge_key, key_value)?.is_some() {
            present.push(v);
        } else {
            absent.push(v);
        }
    }
    Ok((present, absent))
}

/// Sorts the patch items by `patch_order` and the server-only items by `server_order`, then
/// interleaves them, keeping both relative orders.
fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let patch = normalize_slice_order(patch, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted_slice(
        server_only,
        patch,
        server_order,
        merge_key,
        kind,
    ))
}

/// The position of `item` in `list`: by merge key for objects, by value otherwise.
fn index_in(list: &[Value], item: &Value, merge_key: &str, kind: Kind) -> Option<usize> {
    if kind == Kind::Object {
        fn key_of<'v>(v: &'v Value, merge_key: &str) -> Option<&'v Value> {
            v.as_object().and_then(|m| m.get(merge_key))
        }
        let wanted = key_of(item, merge_key);
        list.iter()
            .position(|v| match (key_of(v, merge_key), wanted) {
                (Some(a), Some(b)) => values_equal(a, b),
                (None, None) => true,
                _ => false,
            })
    } else {
        list.iter().position(|v| values_equal(v, item))
    }
}

/// Inserts the server-only items (`left`) among the patch items (`right`): a server-only item
/// goes before the next patch item when the live list has it earlier.
fn merge_sorted_slice(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => out.extend(left.next()),
            (None, Some(_)) => out.extend(right.next()),
            (Some(l), Some(r)) => {
                let li = index_in(server_order, l, merge_key, kind);
                let ri = index_in(server_order, r, merge_key, kind);
                let left_first = matches!((li, ri), (Some(a), Some(b)) if a < b);
                if left_first {
                    out.extend(left.next());
                } else {
                    out.extend(right.next());
                }
            }
        }
    }
    out
}

/// Sorts `to_sort` by the positions of its items in `order` (items not found keep their
/// relative order, after the found ones); for objects, `$patch: delete` items go last.
fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let (to_sort, to_delete) = if kind == Kind::Object {
        validate_merge_key_in_lists(merge_key, &[&to_sort, order])?;
        extract_to_delete_items(to_sort)?
    } else {
        (to_sort, Vec::new())
    };
    let mut keyed: Vec<(usize, Value)> = to_sort
        .into_iter()
        .map(|v| {
            (
                index_in(order, &v, merge_key, kind).unwrap_or(usize::MAX),
                v,
            )
        })
        .collect();
    keyed.sort_by_key(|(i, _)| *i);
    let mut out: Vec<Value> = keyed.into_iter().map(|(_, v)| v).collect();
    out.extend(to_delete);
    Ok(out)
}

fn validate_merge_key_in_lists(merge_key: &str, lists: &[&[Value]]) -> Result<(), PatchError> {
    for list in lists {
        for item in list.iter() {
            let Some(m) = item.as_object() else {
                return Err(bad_arg(GO_MAP, item));
            };
            if !m.contains_key(merge_key) {
                return Err(no_merge_key(m, merge_key));
            }
        }
    }
    Ok(())
}

/// Splits a list of objects into the items kept and the `$patch: delete` items.
fn extract_to_delete_items(list: Vec<Value>) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut keep = Vec::with_capacity(list.len());
    let mut delete = Vec::new();
    for v in list {
        let Some(m) = v.as_object() else {
            return Err(bad_arg(GO_MAP, &v));
        };
        if m.get(DIRECTIVE_MARKER).and_then(Value::as_str) == Some(DELETE_DIRECTIVE) {
            delete.push(v);
        } else {
            keep.push(v);
        }
    }
    Ok((keep, delete))
}

// ---------------------------------------------------------------------------------------------
// Creating patches
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
struct DiffOptions {
    /// Whether to emit `$setElementOrder` lists.
    set_element_order: bool,
    /// Whether additions and changes are left out (only deletions computed).
    ignore_changes_and_additions: bool,
    /// Whether deletions are left out.
    ignore_deletions: bool,
    /// Whether the map being diffed has the `retainKeys` strategy.
    build_retain_keys_directive: bool,
}

/// The strategic merge patch that turns `original` into `modified` (both JSON objects; `null`
/// counts as `{}`), with `$setElementOrder` directives for merged lists: upstream's
/// `CreateTwoWayMergePatch`.
pub fn create_two_way_merge_patch(
    original: &Value,
    modified: &Value,
    schema: &PatchSchema,
    root: &str,
) -> Result<Value, PatchError> {
    let original = object_or_empty(original)?;
    let modified = object_or_empty(modified)?;
    let options = DiffOptions {
        set_element_order: true,
        ..DiffOptions::default()
    };
    diff_maps(&original, &modified, schema.root(root), options).map(Value::Object)
}

/// The patch `kubectl apply` sends, upstream's `CreateThreeWayMergePatch`: the changes from
/// `current` (the live object) to `modified` (the new configuration), without deletions, plus
/// the deletions from `original` (the last-applied configuration, `null` if none) to
/// `modified`. So fields the user dropped from the configuration are removed, while fields
/// others set on the live object are kept.
///
/// With `overwrite` false, a patch that would change a field someone else changed since the
/// last apply fails with [`PatchError::Conflict`].
pub fn create_three_way_merge_patch(
    original: &Value,
    modified: &Value,
    current: &Value,
    schema: &PatchSchema,
    root: &str,
    overwrite: bool,
) -> Result<Value, PatchError> {
    let original = object_or_empty(original)?;
    let modified = object_or_empty(modified)?;
    let current = object_or_empty(current)?;
    let node = schema.root(root);

    let delta = diff_maps(
        &current,
        &modified,
        node,
        DiffOptions {
            ignore_deletions: true,
            set_element_order: true,
            ..DiffOptions::default()
        },
    )?;
    let deletions = diff_maps(
        &original,
        &modified,
        node,
        DiffOptions {
            set_element_order: true,
            ignore_changes_and_additions: true,
            ..DiffOptions::default()
        },
    )?;
    let patch = merge_map(
        deletions,
        delta,
        node,
        MergeOptions {
            merge_parallel_list: false,
            ignore_unmatched_nulls: false,
        },
    )?;

    if !overwrite {
        let changed = diff_maps(&original, &current, node, DiffOptions::default())?;
        if merging_maps_have_conflicts(&patch, &changed, node)? {
            let pretty = |m: &Map<String, Value>| {
                serde_json::to_string_pretty(&Value::Object(m.clone())).unwrap_or_default()
            };
            return Err(PatchError::Conflict {
                patch: pretty(&patch),
                changed: pretty(&changed),
            });
        }
    }
    Ok(Value::Object(patch))
}

fn diff_maps(
    original: &Map<String, Value>,
    modified: &Map<String, Value>,
    node: SchemaNode<'_>,
    options: DiffOptions,
) -> Result<Map<String, Value>, PatchError> {
    let mut patch = Map::new();
    let mut retain_keys: Vec<Value> = Vec::new();

    for (key, modified_value) in modified {
        if options.build_retain_keys_directive && !modified_value.is_null() {
            retain_keys.push(Value::String(key.clone()));
        }
        let Some(original_value) = original.get(key) else {
            if !options.ignore_changes_and_additions {
                patch.insert(key.clone(), modified_value.clone());
            }
            continue;
        };
        if key == DIRECTIVE_MARKER {
            let (Some(o), Some(m)) = (original_value.as_str(), modified_value.as_str()) else {
                return Err(PatchError::InvalidDirectiveValue);
            };
            if o != m {
                patch.insert(key.clone(), modified_value.clone());
            }
            continue;
        }
        if kind_of(original_value) != kind_of(modified_value) {
            if !options.ignore_changes_and_additions {
                patch.insert(key.clone(), modified_value.clone());
            }
            continue;
        }
        match (original_value, modified_value) {
            (Value::Object(o), Value::Object(m)) => {
                let (child, meta) = node.field(key);
                let (retain, strategy) = meta.patch_strategies()?;
                if strategy == REPLACE_DIRECTIVE {
                    if !options.ignore_changes_and_additions {
                        patch.insert(key.clone(), modified_value.clone());
                    }
                } else {
                    let child_options = DiffOptions {
                        build_retain_keys_directive: retain,
                        ..options
                    };
                    let p = diff_maps(o, m, child, child_options)?;
                    if !p.is_empty() {
                        patch.insert(key.clone(), Value::Object(p));
                    }
                }
            }
            (Value::Array(o), Value::Array(m)) => {
                let (child, meta) = node.field(key);
                let (retain, strategy) = meta.patch_strategies()?;
                if strategy == MERGE_DIRECTIVE {
                    let child_options = DiffOptions {
                        build_retain_keys_directive: retain,
                        ..options
                    };
                    let (add, delete, order) =
                        diff_lists(o, m, child.items(), meta.merge_key(), child_options)?;
                    if !add.is_empty() {
                        patch.insert(key.clone(), Value::Array(add));
                    }
                    if !delete.is_empty() {
                        patch.insert(
                            format!("{DELETE_FROM_PRIMITIVE_LIST_PREFIX}/{key}"),
                            Value::Array(delete),
                        );
                    }
                    if !order.is_empty() {
                        patch.insert(
                            format!("{SET_ELEMENT_ORDER_PREFIX}/{key}"),
                            Value::Array(order),
                        );
                    }
                } else {
                    replace_patch_field_if_not_equal(
                        key,
                        original_value,
                        modified_value,
                        &mut patch,
                        options,
                    );
                }
            }
            _ => replace_patch_field_if_not_equal(
                key,
                original_value,
                modified_value,
                &mut patch,
                options,
            ),
        }
    }

    if !options.ignore_deletions {
        for key in original.keys() {
            if !modified.contains_key(key) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }

    let has_additional_field = original
        .iter()
        .any(|(k, v)| !v.is_null() && !modified.contains_key(k));
    if !retain_keys.is_empty() && (!patch.is_empty() || has_additional_field) {
        patch.insert(
            RETAIN_KEYS_DIRECTIVE.to_string(),
            Value::Array(sort_scalars(retain_keys)),
        );
    }
    Ok(patch)
}

fn replace_patch_field_if_not_equal(
    key: &str,
    original: &Value,
    modified: &Value,
    patch: &mut Map<String, Value>,
    options: DiffOptions,
) {
    if options.ignore_changes_and_additions || values_equal(original, modified) {
        return;
    }
    patch.insert(key.to_string(), modified.clone());
}

type ListDiff = (Vec<Value>, Vec<Value>, Vec<Value>);

/// Diffs two merged lists: returns the patch list (additions, changes and `$patch: delete`
/// items), the parallel deletion list (scalars) and the `$setElementOrder` list.
fn diff_lists(
    original: &[Value],
    modified: &[Value],
    items: SchemaNode<'_>,
    merge_key: &str,
    options: DiffOptions,
) -> Result<ListDiff, PatchError> {
    if original.is_empty() {
        if modified.is_empty() || options.ignore_changes_and_additions {
            return Ok((Vec::new(), Vec::new(), Vec::new()));
        }
        return Ok((modified.to_vec(), Vec::new(), Vec::new()));
    }
    let kind = slice_element_kind(&[original, modified])?.unwrap_or(Kind::Null);
    match kind {
        Kind::Object => {
            let (patch_list, delete_list) =
                diff_lists_of_maps(original, modified, items, merge_key, options)?;
            let mut patch_list = normalize_slice_order(patch_list, modified, merge_key, kind)?;
            let order_same = is_order_same(original, modified, merge_key)?;
            patch_list.extend(delete_list);
            let mut order = Vec::new();
            if options.set_element_order
                && ((!options.ignore_changes_and_additions
                    && (!patch_list.is_empty() || !order_same))
                    || (!options.ignore_deletions && !patch_list.is_empty()))
            {
                order = modified
                    .iter()
                    .map(|v| {
                        let mut m = Map::new();
                        m.insert(
                            merge_key.to_string(),
                            v.get(merge_key).cloned().unwrap_or(Value::Null),
                        );
                        Value::Object(m)
                    })
                    .collect();
            }
            Ok((patch_list, Vec::new(), order))
        }
        Kind::Array => Err(PatchError::NoListOfLists),
        _ => {
            let (add, delete) = diff_lists_of_scalars(original, modified, options);
            let add = normalize_slice_order(add, modified, merge_key, kind)?;
            let changed = original.len() != modified.len()
                || original
                    .iter()
                    .zip(modified)
                    .any(|(a, b)| !values_equal(a, b));
            let order = if options.set_element_order
                && ((!options.ignore_deletions && !delete.is_empty())
                    || (!options.ignore_changes_and_additions && changed))
            {
                modified.to_vec()
            } else {
                Vec::new()
            };
            Ok((add, delete, order))
        }
    }
}

fn is_order_same(
    original: &[Value],
    modified: &[Value],
    merge_key: &str,
) -> Result<bool, PatchError> {
    if original.len() != modified.len() {
        return Ok(false);
    }
    for (o, m) in original.iter().zip(modified) {
        if !merge_key_value_equal(o, m, merge_key)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Additions and deletions between two lists of scalars, compared by their `%v` rendering.
fn diff_lists_of_scalars(
    original: &[Value],
    modified: &[Value],
    options: DiffOptions,
) -> (Vec<Value>, Vec<Value>) {
    let keyed = |l: &[Value]| {
        let mut k: Vec<(String, Value)> = l.iter().map(|v| (go_fmt(v), v.clone())).collect();
        k.sort_by(|a, b| a.0.cmp(&b.0));
        k
    };
    let o = keyed(original);
    let m = keyed(modified);
    let (mut oi, mut mi) = (0, 0);
    let mut add = Vec::new();
    let mut delete = Vec::new();
    loop {
        let o_in = oi < o.len();
        let m_in = mi < m.len();
        if !o_in && !m_in {
            break;
        }
        let order = match (o_in, m_in) {
            (true, true) => o[oi].0.cmp(&m[mi].0),
            (false, _) => Ordering::Greater,
            (_, false) => Ordering::Less,
        };
        match order {
            Ordering::Equal => {
                oi += 1;
                mi += 1;
            }
            Ordering::Greater => {
                if !options.ignore_changes_and_additions {
                    add.push(m[mi].1.clone());
                }
                mi += 1;
            }
            Ordering::Less => {
                if !options.ignore_deletions {
                    delete.push(o[oi].1.clone());
                }
                oi += 1;
            }
        }
    }
    (add, dedup_scalars(delete))
}

fn merge_key_of<'v>(
    v: &'v Value,
    merge_key: &str,
) -> Result<(&'v Map<String, Value>, &'v Value), PatchError> {
    let m = v.as_object().ok_or_else(|| bad_arg(GO_MAP, v))?;
    let k = m.get(merge_key).ok_or_else(|| no_merge_key(m, merge_key))?;
    Ok((m, k))
}

/// Changes between two merged lists of objects: the patch items (changed items carry their
/// merge key, added ones are whole) and `$patch: delete` items for removed ones.
fn diff_lists_of_maps(
    original: &[Value],
    modified: &[Value],
    items: SchemaNode<'_>,
    merge_key: &str,
    options: DiffOptions,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    fn sorted<'v>(l: &'v [Value], merge_key: &str) -> Vec<&'v Value> {
        let mut s: Vec<&Value> = l.iter().collect();
        s.sort_by_cached_key(|v| {
            v.get(merge_key)
                .map(go_fmt)
                .unwrap_or_else(|| "<nil>".to_string())
        });
        s
    }
    let o = sorted(original, merge_key);
    let m = sorted(modified, merge_key);
    let mut patch = Vec::new();
    let mut deletions = Vec::new();
    let (mut oi, mut mi) = (0, 0);
    loop {
        let o_in = oi < o.len();
        let m_in = mi < m.len();
        if !o_in && !m_in {
            break;
        }
        let o_entry = if o_in {
            Some(merge_key_of(o[oi], merge_key)?)
        } else {
            None
        };
        let m_entry = if m_in {
            Some(merge_key_of(m[mi], merge_key)?)
        } else {
            None
        };
        let order = match (&o_entry, &m_entry) {
            (Some((_, ok)), Some((_, mk))) => go_fmt(ok).cmp(&go_fmt(mk)),
            (None, _) => Ordering::Greater,
            (_, None) => Ordering::Less,
        };
        match (order, o_entry, m_entry) {
            (Ordering::Equal, Some((om, _)), Some((mm, mk))) => {
                let mut p = diff_maps(om, mm, items, options)?;
                if !p.is_empty() {
                    p.insert(merge_key.to_string(), mk.clone());
                    patch.push(Value::Object(p));
                }
                oi += 1;
                mi += 1;
            }
            (Ordering::Greater, _, Some((mm, _))) => {
                if !options.ignore_changes_and_additions {
                    patch.push(Value::Object(mm.clone()));
                }
                mi += 1;
            }
            (_, Some((_, ok)), _) => {
                if !options.ignore_deletions {
                    let mut d = Map::new();
                    d.insert(
                        DIRECTIVE_MARKER.to_string(),
                        Value::String(DELETE_DIRECTIVE.to_string()),
                    );
                    d.insert(merge_key.to_string(), ok.clone());
                    deletions.push(Value::Object(d));
                }
                oi += 1;
            }
            _ => break,
        }
    }
    Ok((patch, deletions))
}

// ---------------------------------------------------------------------------------------------
// Conflicts
// ---------------------------------------------------------------------------------------------

/// Whether two patches set some key to different values, under strategic merge semantics:
/// upstream's `MergingMapsHaveConflicts`. Used by [`create_three_way_merge_patch`] to find
/// changes to the live object the patch would undo.
pub fn merging_maps_have_conflicts(
    left: &Map<String, Value>,
    right: &Map<String, Value>,
    node: SchemaNode<'_>,
) -> Result<bool, PatchError> {
    maps_have_conflicts(left, right, node)
}

fn fields_have_conflicts(
    left: &Value,
    right: &Value,
    node: SchemaNode<'_>,
    strategy: &str,
    merge_key: &str,
) -> Result<bool, PatchError> {
    match left {
        Value::Object(l) => {
            let Value::Object(r) = right else {
                return Ok(true);
            };
            let (lm, rm) = (l.get(DIRECTIVE_MARKER), r.get(DIRECTIVE_MARKER));
            if lm.is_some() || rm.is_some() {
                match (lm, rm) {
                    (Some(a), Some(b)) if values_equal(a, b) => {}
                    _ => return Ok(true),
                }
            }
            if strategy == REPLACE_DIRECTIVE {
                return Ok(false);
            }
            maps_have_conflicts(l, r, node)
        }
        Value::Array(l) => {
            let Value::Array(r) = right else {
                return Ok(true);
            };
            slices_have_conflicts(l, r, node, strategy, merge_key)
        }
        _ => Ok(!values_equal(left, right)),
    }
}

fn maps_have_conflicts(
    left: &Map<String, Value>,
    right: &Map<String, Value>,
    node: SchemaNode<'_>,
) -> Result<bool, PatchError> {
    for (key, lv) in left {
        if key == DIRECTIVE_MARKER || key == RETAIN_KEYS_DIRECTIVE {
            continue;
        }
        let Some(rv) = right.get(key) else {
            continue;
        };
        let (child, meta) = node.field(key);
        let (_, strategy) = meta.patch_strategies()?;
        if fields_have_conflicts(lv, rv, child, strategy, meta.merge_key())? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn slices_have_conflicts(
    left: &[Value],
    right: &[Value],
    field: SchemaNode<'_>,
    strategy: &str,
    merge_key: &str,
) -> Result<bool, PatchError> {
    let items = field.items();
    let Some(kind) = slice_element_kind(&[left, right])? else {
        return Ok(false);
    };
    if strategy == MERGE_DIRECTIVE {
        // Merged lists of scalars cannot conflict.
        if kind != Kind::Object {
            return Ok(false);
        }
        let l = slice_of_maps_to_map_of_maps(left, merge_key)?;
        let r = slice_of_maps_to_map_of_maps(right, merge_key)?;
        for (k, lv) in &l {
            if let Some((_, rv)) = r.iter().find(|(rk, _)| rk == k) {
                if fields_have_conflicts(lv, rv, items, "", "")? {
                    return Ok(true);
                }
            }
        }
        return Ok(false);
    }
    if left.len() != right.len() {
        return Ok(true);
    }
    let (l, r) = if kind != Kind::Object {
        (
            sort_scalars(dedup_scalars(left.to_vec())),
            sort_scalars(dedup_scalars(right.to_vec())),
        )
    } else {
        (left.to_vec(), right.to_vec())
    };
    if l.len() != r.len() {
        return Ok(true);
    }
    for (a, b) in l.iter().zip(&r) {
        if fields_have_conflicts(a, b, items, "", "")? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn slice_of_maps_to_map_of_maps<'v>(
    list: &'v [Value],
    merge_key: &str,
) -> Result<Vec<(String, &'v Value)>, PatchError> {
    let mut out: Vec<(String, &Value)> = Vec::with_capacity(list.len());
    for v in list {
        let Some(m) = v.as_object() else {
            return Err(PatchError::InvalidMergingListElement(go_fmt_list(list)));
        };
        let Some(k) = m.get(merge_key) else {
            return Err(PatchError::MergingListElementWithoutKey {
                key: merge_key.to_string(),
                element: go_fmt_map(m),
            });
        };
        let k = go_fmt(k);
        match out.iter_mut().find(|(ek, _)| *ek == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MERGE_ITEM: &str = "mergeItem";

    /// Upstream's `MergeItem` test type, as OpenAPI component schemas.
    fn merge_item_schema() -> PatchSchema {
        let item_ref = json!({"$ref": "#/components/schemas/mergeItem"});
        let merge_list = |key: Option<&str>, strategy: &str| {
            let mut v = json!({"type": "array", "items": item_ref.clone(), "x-kubernetes-patch-strategy": strategy});
            if let Some(k) = key {
                v["x-kubernetes-patch-merge-key"] = json!(k);
            }
            v
        };
        let mut defs = Map::new();
        defs.insert(
            "mergeItem".into(),
            json!({"type": "object", "properties": {
                "name": {"type": "string"},
                "value": {"type": "string"},
                "other": {"type": "string"},
                "mergingList": merge_list(Some("name"), "merge"),
                "nonMergingList": {"type": "array", "items": item_ref.clone()},
                "mergingIntList": {"type": "array", "items": {"type": "integer"}, "x-kubernetes-patch-strategy": "merge"},
                "nonMergingIntList": {"type": "array", "items": {"type": "integer"}},
                "mergeItemPtr": merge_list(Some("name"), "merge"),
                "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
                "replacingItem": {"type": "object", "x-kubernetes-patch-strategy": "replace"},
                "retainKeysMap": {"allOf": [{"$ref": "#/components/schemas/retainKeysMergeItem"}], "x-kubernetes-patch-strategy": "retainKeys"},
                "retainKeysMergingList": merge_list(Some("name"), "merge,retainKeys"),
            }}),
        );
        defs.insert(
            "retainKeysMergeItem".into(),
            json!({"type": "object", "properties": {
                "name": {"type": "string"},
                "value": {"type": "string"},
                "other": {"type": "string"},
                "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
                "mergingIntList": {"type": "array", "items": {"type": "integer"}, "x-kubernetes-patch-strategy": "merge"},
                "mergingList": merge_list(Some("name"), "merge"),
                "nonMergingList": {"type": "array", "items": item_ref.clone()},
            }}),
        );
        PatchSchema::new(defs)
    }

    fn j(s: &str) -> Value {
        serde_json::from_str(s).unwrap_or_else(|e| panic!("bad test JSON {s}: {e}"))
    }

    /// Applies `patch` to `original` and checks the result (or an error containing `err`).
    fn check_apply(
        desc: &str,
        schema: &PatchSchema,
        original: &str,
        patch: &str,
        expected: Result<&str, &str>,
    ) {
        let got = apply_strategic_merge_patch(&j(original), &j(patch), schema, MERGE_ITEM);
        match (got, expected) {
            (Ok(v), Ok(e)) => assert_eq!(v, j(e), "{desc}"),
            (Err(err), Err(e)) => {
                assert!(err.to_string().contains(e), "{desc}: error {err} lacks {e}")
            }
            (got, e) => panic!("{desc}: got {got:?}, expected {e:?}"),
        }
    }

    #[test]
    fn custom_patches_apply_as_upstream() {
        let s = merge_item_schema();
        let cases: &[(&str, &str, &str, Result<&str, &str>)] = &[
            (
                "unique scalars when merging lists",
                r#"{"mergingIntList":[1,2]}"#,
                r#"{"mergingIntList":[2,3]}"#,
                Ok(r#"{"mergingIntList":[1,2,3]}"#),
            ),
            (
                "delete map from nested map",
                r#"{"simpleMap":{"key1":1,"key2":1}}"#,
                r#"{"simpleMap":{"$patch":"delete"}}"#,
                Ok(r#"{"simpleMap":{}}"#),
            ),
            (
                "delete all items from merging list",
                r#"{"mergingList":[{"name":1},{"name":2}]}"#,
                r#"{"mergingList":[{"$patch":"replace"}]}"#,
                Ok(r#"{"mergingList":[]}"#),
            ),
            (
                "merge empty merging lists",
                r#"{"mergingList":[]}"#,
                r#"{"mergingList":[]}"#,
                Ok(r#"{"mergingList":[]}"#),
            ),
            (
                "delete all keys from map",
                r#"{"name":1,"value":1}"#,
                r#"{"$patch":"replace"}"#,
                Ok("{}"),
            ),
            (
                "add key and delete all keys from map",
                r#"{"name":1,"value":1}"#,
                r#"{"other":"a","$patch":"replace"}"#,
                Ok(r#"{"other":"a"}"#),
            ),
            (
                "delete all duplicate entries in a merging list",
                r#"{"mergingList":[{"name":1},{"name":1},{"name":2,"value":"a"},{"name":3},{"name":3}]}"#,
                r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":3,"$patch":"delete"}]}"#,
                Ok(r#"{"mergingList":[{"name":2,"value":"a"}]}"#),
            ),
            (
                "retainKeys map can add a field without directive",
                r#"{"retainKeysMap":{"name":"foo"}}"#,
                r#"{"retainKeysMap":{"value":"bar"}}"#,
                Ok(r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#),
            ),
            (
                "retainKeys map can delete a field without directive",
                r#"{"retainKeysMap":{"name":"foo","value":"a"}}"#,
                r#"{"retainKeysMap":{"value":null}}"#,
                Ok(r#"{"retainKeysMap":{"name":"foo"}}"#),
            ),
            (
                "retainKeys map merges an empty map",
                r#"{"retainKeysMap":{"name":"foo","value":"a"}}"#,
                r#"{"retainKeysMap":{}}"#,
                Ok(r#"{"retainKeysMap":{"name":"foo","value":"a"}}"#),
            ),
            (
                "retainKeys list can change a field without directive",
                r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
                r#"{"retainKeysMergingList":[{"name":"foo","value":"b"}]}"#,
                Ok(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"b"}]}"#),
            ),
            (
                "preserve the order from the patch in a merging list",
                r#"{"mergingList":[{"name":1},{"name":2,"value":"b"},{"name":3}]}"#,
                r#"{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"},{"name":2,"other":"x"}]}"#,
                Ok(
                    r#"{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"},{"name":2,"value":"b","other":"x"}]}"#,
                ),
            ),
            (
                "preserve the order from the patch in a merging list 2",
                r#"{"mergingList":[{"name":1},{"name":2,"value":"b"},{"name":3}]}"#,
                r#"{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"}]}"#,
                Ok(
                    r#"{"mergingList":[{"name":2,"value":"b"},{"name":3,"value":"c"},{"name":1,"value":"a"}]}"#,
                ),
            ),
            (
                "preserve the order from the patch in a merging int list",
                r#"{"mergingIntList":[1,2,3]}"#,
                r#"{"mergingIntList":[3,1,2]}"#,
                Ok(r#"{"mergingIntList":[3,1,2]}"#),
            ),
            (
                "preserve the order from the patch in a merging int list 2",
                r#"{"mergingIntList":[1,2,3]}"#,
                r#"{"mergingIntList":[3,1]}"#,
                Ok(r#"{"mergingIntList":[2,3,1]}"#),
            ),
            (
                "$setElementOrder contains item that is not present in the list to be merged",
                r#"{"mergingList":[{"name":1},{"name":3}]}"#,
                r#"{"$setElementOrder/mergingList":[{"name":3},{"name":2},{"name":1}],"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}"#,
                Ok(r#"{"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}"#),
            ),
            (
                "$setElementOrder contains item that is not present in the int list",
                r#"{"mergingIntList":[1,3]}"#,
                r#"{"$setElementOrder/mergingIntList":[3,2,1]}"#,
                Ok(r#"{"mergingIntList":[3,1]}"#),
            ),
            (
                "should check if order in $setElementOrder and patch list match",
                r#"{"mergingList":[{"name":1},{"name":3},{"name":2}]}"#,
                r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}"#,
                Err("doesn't match"),
            ),
            (
                "should check if order in $setElementOrder and int patch list match",
                r#"{"mergingIntList":[1,3,2]}"#,
                r#"{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3,1]}"#,
                Err("doesn't match"),
            ),
            (
                "missing merge key should error out",
                r#"{"mergingList":[{"name":1,"value":"a"}]}"#,
                r#"{"mergingList":[{"value":"b"}]}"#,
                Err("does not contain declared merge key"),
            ),
            (
                "$deleteFromPrimitiveList of nonexistent item",
                r#"{"mergingIntList":[1,2]}"#,
                r#"{"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
                Ok(r#"{"mergingIntList":[1,2]}"#),
            ),
            (
                "$deleteFromPrimitiveList on empty primitive list",
                r#"{"mergingIntList":null}"#,
                r#"{"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
                Ok(r#"{"mergingIntList":null}"#),
            ),
            (
                "$deleteFromPrimitiveList on nonexistent primitive list",
                r#"{"foo":["bar"]}"#,
                r#"{"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
                Ok(r#"{"foo":["bar"]}"#),
            ),
            (
                "$deleteFromPrimitiveList with merge strategy",
                r#"{"mergingIntList":[1,2,3]}"#,
                r#"{"$deleteFromPrimitiveList/mergingIntList":[2]}"#,
                Ok(r#"{"mergingIntList":[1,3]}"#),
            ),
            (
                "$deleteFromPrimitiveList without merge strategy",
                r#"{"nonMergingIntList":[1,2,3]}"#,
                r#"{"$deleteFromPrimitiveList/nonMergingIntList":[2]}"#,
                Ok(r#"{"nonMergingIntList":[1,3]}"#),
            ),
            // Beyond upstream's fixtures: error and edge cases.
            (
                "bad $patch in a map",
                r#"{"simpleMap":{"a":"b"}}"#,
                r#"{"simpleMap":{"$patch":"explode"}}"#,
                Err("unknown patch type: explode in map: map[$patch:explode]"),
            ),
            (
                "$patch: merge in a list",
                r#"{"mergingList":[{"name":1}]}"#,
                r#"{"mergingList":[{"$patch":"merge"}]}"#,
                Err("merging lists cannot yet be specified in the patch"),
            ),
            (
                "lists of lists",
                r#"{"mergingIntList":[1]}"#,
                r#"{"mergingIntList":[[1]]}"#,
                Err("list element types are not identical"),
            ),
            (
                "mixed element types",
                r#"{"mergingIntList":[1]}"#,
                r#"{"mergingIntList":["a"]}"#,
                Err("list element types are not identical"),
            ),
            (
                "bad $deleteFromPrimitiveList key",
                r#"{"mergingIntList":[1]}"#,
                r#"{"$deleteFromPrimitiveListx":[1]}"#,
                Err("invalid patch format of primitive list"),
            ),
            (
                "bad $setElementOrder value",
                r#"{"mergingIntList":[1]}"#,
                r#"{"$setElementOrder/mergingIntList":3}"#,
                Err("expected a []interface {}, but received a float64"),
            ),
            (
                "retainKeys forbids unlisted fields",
                r#"{"retainKeysMap":{"name":"a"}}"#,
                r#"{"retainKeysMap":{"$retainKeys":["name"],"value":"x"}}"#,
                Err("invalid patch format of retainKeys"),
            ),
            (
                "retainKeys must be a list",
                r#"{"retainKeysMap":{"name":"a"}}"#,
                r#"{"retainKeysMap":{"$retainKeys":"name"}}"#,
                Err("invalid patch format of retainKeys"),
            ),
            (
                "replace strategy replaces a map",
                r#"{"replacingItem":{"a":1,"b":2}}"#,
                r#"{"replacingItem":{"c":3}}"#,
                Ok(r#"{"replacingItem":{"c":3}}"#),
            ),
            (
                "null deletes",
                r#"{"name":"a","value":"b"}"#,
                r#"{"value":null,"other":null}"#,
                Ok(r#"{"name":"a"}"#),
            ),
            (
                "type change replaces",
                r#"{"simpleMap":{"a":"b"}}"#,
                r#"{"simpleMap":"x"}"#,
                Ok(r#"{"simpleMap":"x"}"#),
            ),
            (
                "new list drops directive items",
                "{}",
                r#"{"mergingList":[{"name":1},{"name":2,"$patch":"delete"}]}"#,
                Ok(r#"{"mergingList":[{"name":1}]}"#),
            ),
            (
                "new map drops nulls",
                "{}",
                r#"{"simpleMap":{"a":null,"b":"c"}}"#,
                Ok(r#"{"simpleMap":{"b":"c"}}"#),
            ),
            (
                "new item appended before server items",
                r#"{"mergingList":[{"name":"a"},{"name":"b"}]}"#,
                r#"{"mergingList":[{"name":"c"}]}"#,
                Ok(r#"{"mergingList":[{"name":"c"},{"name":"a"},{"name":"b"}]}"#),
            ),
            (
                "numbers compare by value",
                r#"{"mergingList":[{"name":1,"value":"a"}]}"#,
                r#"{"mergingList":[{"name":1.0,"other":"b"}]}"#,
                Ok(r#"{"mergingList":[{"name":1.0,"value":"a","other":"b"}]}"#),
            ),
            (
                "null patch is a no-op",
                r#"{"name":"a"}"#,
                "null",
                Ok(r#"{"name":"a"}"#),
            ),
            (
                "non-object patch",
                r#"{"name":"a"}"#,
                "[1]",
                Err("invalid JSON document"),
            ),
        ];
        for (desc, original, patch, expected) in cases {
            check_apply(desc, &s, original, patch, *expected);
        }
    }

    /// One of upstream's create-and-apply fixtures: the two-way patch from `original` to
    /// `modified`, the three-way patch given `current`, and what each yields.
    #[derive(Default, Clone, Copy)]
    struct Case {
        desc: &'static str,
        original: &'static str,
        two_way: &'static str,
        modified: &'static str,
        current: &'static str,
        three_way: &'static str,
        result: &'static str,
        two_way_result: &'static str,
    }

    fn opt(s: &str) -> Value {
        if s.is_empty() {
            Value::Null
        } else {
            j(s)
        }
    }

    fn run_case(c: &Case, schema: &PatchSchema, root: &str) {
        let original = opt(c.original);
        let modified = j(c.modified);
        if !c.two_way.is_empty() {
            let two_way = create_two_way_merge_patch(&original, &modified, schema, root)
                .unwrap_or_else(|e| panic!("{}: two-way: {e}", c.desc));
            assert_eq!(two_way, j(c.two_way), "{}: two-way patch", c.desc);
            let applied = apply_strategic_merge_patch(&original, &two_way, schema, root)
                .unwrap_or_else(|e| panic!("{}: applying two-way: {e}", c.desc));
            let expected = if c.two_way_result.is_empty() {
                c.modified
            } else {
                c.two_way_result
            };
            assert_eq!(applied, j(expected), "{}: two-way result", c.desc);
        }
        if c.three_way.is_empty() {
            return;
        }
        let current = j(c.current);
        let strict =
            create_three_way_merge_patch(&original, &modified, &current, schema, root, false);
        let three_way = if c.desc.contains("conflict") {
            assert!(
                matches!(strict, Err(PatchError::Conflict { .. })),
                "{}: expected a conflict, got {strict:?}",
                c.desc
            );
            create_three_way_merge_patch(&original, &modified, &current, schema, root, true)
                .unwrap_or_else(|e| panic!("{}: forced three-way: {e}", c.desc))
        } else {
            strict.unwrap_or_else(|e| panic!("{}: three-way: {e}", c.desc))
        };
        assert_eq!(three_way, j(c.three_way), "{}: three-way patch", c.desc);
        let applied = apply_strategic_merge_patch(&current, &three_way, schema, root)
            .unwrap_or_else(|e| panic!("{}: applying three-way: {e}", c.desc));
        assert_eq!(applied, j(c.result), "{}: three-way result", c.desc);
    }

    const NONE: Case = Case {
        desc: "",
        original: "",
        two_way: "",
        modified: "",
        current: "",
        three_way: "",
        result: "",
        two_way_result: "",
    };

    #[test]
    fn create_and_apply_map_cases() {
        let s = merge_item_schema();
        let cases = [
            Case {
                desc: "nil original",
                two_way: r#"{"name":1,"value":1}"#,
                modified: r#"{"name":1,"value":1}"#,
                current: r#"{"name":1,"other":"a"}"#,
                three_way: r#"{"value":1}"#,
                result: r#"{"name":1,"value":1,"other":"a"}"#,
                ..NONE
            },
            Case {
                desc: "nil patch",
                original: r#"{"name":1}"#,
                two_way: "{}",
                modified: r#"{"name":1}"#,
                current: r#"{"name":1}"#,
                three_way: "{}",
                result: r#"{"name":1}"#,
                ..NONE
            },
            Case {
                desc: "add field to map",
                original: r#"{"name":1}"#,
                two_way: r#"{"value":1}"#,
                modified: r#"{"name":1,"value":1}"#,
                current: r#"{"name":1,"other":"a"}"#,
                three_way: r#"{"value":1}"#,
                result: r#"{"name":1,"value":1,"other":"a"}"#,
                ..NONE
            },
            Case {
                desc: "add field to map with conflict",
                original: r#"{"name":1}"#,
                two_way: r#"{"value":1}"#,
                modified: r#"{"name":1,"value":1}"#,
                current: r#"{"name":"a","other":"a"}"#,
                three_way: r#"{"name":1,"value":1}"#,
                result: r#"{"name":1,"value":1,"other":"a"}"#,
                ..NONE
            },
            Case {
                desc: "add field and delete field from map",
                original: r#"{"name":1}"#,
                two_way: r#"{"name":null,"value":1}"#,
                modified: r#"{"value":1}"#,
                current: r#"{"name":1,"other":"a"}"#,
                three_way: r#"{"name":null,"value":1}"#,
                result: r#"{"value":1,"other":"a"}"#,
                ..NONE
            },
            Case {
                desc: "add field and delete field from map with conflict",
                original: r#"{"name":1}"#,
                two_way: r#"{"name":null,"value":1}"#,
                modified: r#"{"value":1}"#,
                current: r#"{"name":"a","other":"a"}"#,
                three_way: r#"{"name":null,"value":1}"#,
                result: r#"{"value":1,"other":"a"}"#,
                ..NONE
            },
            Case {
                desc: "delete field from nested map",
                original: r#"{"simpleMap":{"key1":1,"key2":1}}"#,
                two_way: r#"{"simpleMap":{"key2":null}}"#,
                modified: r#"{"simpleMap":{"key1":1}}"#,
                current: r#"{"simpleMap":{"key1":1,"key2":1,"other":"a"}}"#,
                three_way: r#"{"simpleMap":{"key2":null}}"#,
                result: r#"{"simpleMap":{"key1":1,"other":"a"}}"#,
                ..NONE
            },
            Case {
                desc: "delete field from nested map with conflict",
                original: r#"{"simpleMap":{"key1":1,"key2":1}}"#,
                two_way: r#"{"simpleMap":{"key2":null}}"#,
                modified: r#"{"simpleMap":{"key1":1}}"#,
                current: r#"{"simpleMap":{"key1":"a","key2":1,"other":"a"}}"#,
                three_way: r#"{"simpleMap":{"key1":1,"key2":null}}"#,
                result: r#"{"simpleMap":{"key1":1,"other":"a"}}"#,
                ..NONE
            },
            Case {
                desc: "delete all fields from map",
                original: r#"{"name":1,"value":1}"#,
                two_way: r#"{"name":null,"value":null}"#,
                modified: "{}",
                current: r#"{"name":1,"value":1,"other":"a"}"#,
                three_way: r#"{"name":null,"value":null}"#,
                result: r#"{"other":"a"}"#,
                ..NONE
            },
            Case {
                desc: "delete all fields from map with conflict",
                original: r#"{"name":1,"value":1}"#,
                two_way: r#"{"name":null,"value":null}"#,
                modified: "{}",
                current: r#"{"name":1,"value":"a","other":"a"}"#,
                three_way: r#"{"name":null,"value":null}"#,
                result: r#"{"other":"a"}"#,
                ..NONE
            },
            Case {
                desc: "add field and delete all fields from map",
                original: r#"{"name":1,"value":1}"#,
                two_way: r#"{"name":null,"value":null,"other":"a"}"#,
                modified: r#"{"other":"a"}"#,
                current: r#"{"name":1,"value":1,"other":"a"}"#,
                three_way: r#"{"name":null,"value":null}"#,
                result: r#"{"other":"a"}"#,
                ..NONE
            },
            Case {
                desc: "add field and delete all fields from map with conflict",
                original: r#"{"name":1,"value":1}"#,
                two_way: r#"{"name":null,"value":null,"other":"a"}"#,
                modified: r#"{"other":"a"}"#,
                current: r#"{"name":1,"value":1,"other":"b"}"#,
                three_way: r#"{"name":null,"value":null,"other":"a"}"#,
                result: r#"{"other":"a"}"#,
                ..NONE
            },
            Case {
                desc: "replace list of scalars",
                original: r#"{"nonMergingIntList":[1,2]}"#,
                two_way: r#"{"nonMergingIntList":[2,3]}"#,
                modified: r#"{"nonMergingIntList":[2,3]}"#,
                current: r#"{"nonMergingIntList":[1,2]}"#,
                three_way: r#"{"nonMergingIntList":[2,3]}"#,
                result: r#"{"nonMergingIntList":[2,3]}"#,
                ..NONE
            },
            Case {
                desc: "replace list of scalars with conflict",
                original: r#"{"nonMergingIntList":[1,2]}"#,
                two_way: r#"{"nonMergingIntList":[2,3]}"#,
                modified: r#"{"nonMergingIntList":[2,3]}"#,
                current: r#"{"nonMergingIntList":[1,4]}"#,
                three_way: r#"{"nonMergingIntList":[2,3]}"#,
                result: r#"{"nonMergingIntList":[2,3]}"#,
                ..NONE
            },
            Case {
                desc: "delete all maps from merging list",
                original: r#"{"mergingList":[{"name":1},{"name":2}]}"#,
                two_way: r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":2,"$patch":"delete"}]}"#,
                modified: r#"{"mergingList":[]}"#,
                current: r#"{"mergingList":[{"name":1},{"name":2}]}"#,
                three_way: r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":2,"$patch":"delete"}]}"#,
                result: r#"{"mergingList":[]}"#,
                ..NONE
            },
            Case {
                desc: "delete all maps from merging list with conflict",
                original: r#"{"mergingList":[{"name":1},{"name":2}]}"#,
                two_way: r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":2,"$patch":"delete"}]}"#,
                modified: r#"{"mergingList":[]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b"}]}"#,
                three_way: r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":2,"$patch":"delete"}]}"#,
                result: r#"{"mergingList":[]}"#,
                ..NONE
            },
            Case {
                desc: "delete all maps from empty merging list",
                original: r#"{"mergingList":[{"name":1},{"name":2}]}"#,
                two_way: r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":2,"$patch":"delete"}]}"#,
                modified: r#"{"mergingList":[]}"#,
                current: r#"{"mergingList":[]}"#,
                three_way: r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":2,"$patch":"delete"}]}"#,
                result: r#"{"mergingList":[]}"#,
                ..NONE
            },
            Case {
                desc: "merge empty merging lists",
                original: r#"{"mergingList":[]}"#,
                two_way: "{}",
                modified: r#"{"mergingList":[]}"#,
                current: r#"{"mergingList":[]}"#,
                three_way: "{}",
                result: r#"{"mergingList":[]}"#,
                ..NONE
            },
            Case {
                desc:
                    "defined null values should propagate overwrite current fields (with conflict)",
                original: r#"{"name":2}"#,
                two_way: r#"{"name":1,"value":1,"other":null}"#,
                two_way_result: r#"{"name":1,"value":1}"#,
                modified: r#"{"name":1,"value":1,"other":null}"#,
                current: r#"{"name":"a","other":"a"}"#,
                three_way: r#"{"name":1,"value":1,"other":null}"#,
                result: r#"{"name":1,"value":1}"#,
            },
            Case {
                desc: "defined null values should propagate removing original fields",
                original: r#"{"name":"original-name","value":"original-value"}"#,
                current: r#"{"name":"original-name","value":"original-value","other":"current-other"}"#,
                modified: r#"{"name":"modified-name","value":null}"#,
                two_way: r#"{"name":"modified-name","value":null}"#,
                two_way_result: r#"{"name":"modified-name"}"#,
                three_way: r#"{"name":"modified-name","value":null}"#,
                result: r#"{"name":"modified-name","other":"current-other"}"#,
            },
            Case {
                desc: "nil patch with retainKeys map",
                original: r#"{"name":"a","retainKeysMap":{"name":"foo"}}"#,
                current: r#"{"name":"a","value":"b","retainKeysMap":{"name":"foo"}}"#,
                modified: r#"{"name":"a","retainKeysMap":{"name":"foo"}}"#,
                two_way: "{}",
                three_way: "{}",
                result: r#"{"name":"a","value":"b","retainKeysMap":{"name":"foo"}}"#,
                ..NONE
            },
            Case {
                desc: "retainKeys map with no change should not be present",
                original: r#"{"name":"a","retainKeysMap":{"name":"foo"}}"#,
                current: r#"{"name":"a","other":"c","retainKeysMap":{"name":"foo"}}"#,
                modified: r#"{"name":"a","value":"b","retainKeysMap":{"name":"foo"}}"#,
                two_way: r#"{"value":"b"}"#,
                three_way: r#"{"value":"b"}"#,
                result: r#"{"name":"a","value":"b","other":"c","retainKeysMap":{"name":"foo"}}"#,
                ..NONE
            },
        ];
        for c in &cases {
            run_case(c, &s, MERGE_ITEM);
        }
    }

    #[test]
    fn create_and_apply_list_cases() {
        let s = merge_item_schema();
        const RK_O: &str = r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#;
        let cases = [
            Case {
                desc: "nested patch merge with empty list",
                original: r#"{"name":"hi"}"#,
                current: r#"{"name":"hi","mergingList":[{"name":"hello2"}]}"#,
                modified: r#"{"name":"hi","mergingList":[{"name":"hello"},{"$patch":"delete","name":"doesntexist"}]}"#,
                two_way: r#"{"mergingList":[{"name":"hello"},{"$patch":"delete","name":"doesntexist"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":"hello"},{"name":"doesntexist"}],"mergingList":[{"name":"hello"}]}"#,
                two_way_result: r#"{"name":"hi","mergingList":[{"name":"hello"}]}"#,
                result: r#"{"name":"hi","mergingList":[{"name":"hello"},{"name":"hello2"}]}"#,
            },
            Case {
                desc: "delete items in lists of scalars",
                original: r#"{"mergingIntList":[1,2,3]}"#,
                two_way: r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
                modified: r#"{"mergingIntList":[1,2]}"#,
                current: r#"{"mergingIntList":[1,2,3,4]}"#,
                three_way: r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
                result: r#"{"mergingIntList":[1,2,4]}"#,
                ..NONE
            },
            Case {
                desc: "delete all duplicate items in lists of scalars",
                original: r#"{"mergingIntList":[1,2,3,3]}"#,
                two_way: r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
                modified: r#"{"mergingIntList":[1,2]}"#,
                current: r#"{"mergingIntList":[1,2,3,3,4]}"#,
                three_way: r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
                result: r#"{"mergingIntList":[1,2,4]}"#,
                ..NONE
            },
            Case {
                desc: "add and delete items in lists of scalars",
                original: r#"{"mergingIntList":[1,2,3]}"#,
                two_way: r#"{"$setElementOrder/mergingIntList":[1,2,4],"$deleteFromPrimitiveList/mergingIntList":[3],"mergingIntList":[4]}"#,
                modified: r#"{"mergingIntList":[1,2,4]}"#,
                current: r#"{"mergingIntList":[1,2,3,4]}"#,
                three_way: r#"{"$setElementOrder/mergingIntList":[1,2,4],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
                result: r#"{"mergingIntList":[1,2,4]}"#,
                ..NONE
            },
            Case {
                desc: "merge lists of maps",
                original: r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":4},{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}"#,
                modified: r#"{"mergingList":[{"name":4,"value":4},{"name":1},{"name":2,"value":2},{"name":3,"value":3}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":4},{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}"#,
                result: r#"{"mergingList":[{"name":4,"value":4},{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
                ..NONE
            },
            Case {
                desc: "merge lists of maps with conflict",
                original: r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3,"value":3}]}"#,
                modified: r#"{"mergingList":[{"name":1},{"name":2,"value":2},{"name":3,"value":3}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":3,"other":"b"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":2,"value":2},{"name":3,"value":3}]}"#,
                result: r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
                ..NONE
            },
            Case {
                desc: "add field to map in merging list with conflict",
                original: r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]}"#,
                modified: r#"{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a"},{"name":3,"value":2,"other":"b"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}"#,
                result: r#"{"mergingList":[{"name":1,"value":1,"other":"a"},{"name":2,"value":2},{"name":3,"value":2,"other":"b"}]}"#,
                ..NONE
            },
            Case {
                desc: "add duplicate field to map in merging list",
                original: r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]}"#,
                modified: r#"{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}"#,
                current: r#"{"mergingList":[{"name":1,"value":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
                three_way: "{}",
                result: r#"{"mergingList":[{"name":1,"value":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
                ..NONE
            },
            Case {
                desc: "add an item that already exists in current object in merging list",
                original: r#"{"mergingList":[{"name":1,"value":"a"},{"name":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3}]}"#,
                modified: r#"{"mergingList":[{"name":1,"value":"a"},{"name":2},{"name":3}]}"#,
                current: r#"{"mergingList":[{"name":1,"value":"a","other":"x"},{"name":2},{"name":3}]}"#,
                three_way: "{}",
                result: r#"{"mergingList":[{"name":1,"value":"a","other":"x"},{"name":2},{"name":3}]}"#,
                ..NONE
            },
            Case {
                desc: "delete map from merging list",
                original: r#"{"mergingList":[{"name":1},{"name":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":1,"$patch":"delete"}]}"#,
                modified: r#"{"mergingList":[{"name":2}]}"#,
                current: r#"{"mergingList":[{"name":1},{"name":2,"other":"b"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":1,"$patch":"delete"}]}"#,
                result: r#"{"mergingList":[{"name":2,"other":"b"}]}"#,
                ..NONE
            },
            Case {
                desc: "delete missing map from merging list with conflict",
                original: r#"{"mergingList":[{"name":1},{"name":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":1,"$patch":"delete"}]}"#,
                modified: r#"{"mergingList":[{"name":2}]}"#,
                current: r#"{"mergingList":[{"name":3,"other":"a"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":2},{"name":1,"$patch":"delete"}]}"#,
                result: r#"{"mergingList":[{"name":2},{"name":3,"other":"a"}]}"#,
                ..NONE
            },
            Case {
                desc: "add map and delete map from merging list",
                original: r#"{"mergingList":[{"name":1},{"name":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"name":1,"$patch":"delete"}]}"#,
                modified: r#"{"mergingList":[{"name":2},{"name":3}]}"#,
                current: r#"{"mergingList":[{"name":1},{"name":2,"other":"b"},{"name":4,"other":"c"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"name":1,"$patch":"delete"}]}"#,
                result: r#"{"mergingList":[{"name":2,"other":"b"},{"name":4,"other":"c"},{"name":3}]}"#,
                ..NONE
            },
            Case {
                desc: "add map and delete map from merging list with conflict",
                original: r#"{"mergingList":[{"name":1},{"name":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"name":1,"$patch":"delete"}]}"#,
                modified: r#"{"mergingList":[{"name":2},{"name":3}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a"},{"name":4,"other":"c"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":2},{"name":3},{"name":1,"$patch":"delete"}]}"#,
                result: r#"{"mergingList":[{"name":4,"other":"c"},{"name":2},{"name":3}]}"#,
                ..NONE
            },
            Case {
                desc: "delete missing field from map in merging list with conflict",
                original: r#"{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}"#,
                modified: r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null},{"name":2,"value":2}]}"#,
                result: r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
                ..NONE
            },
            Case {
                desc: "replace non merging list nested in merging list",
                original: r#"{"mergingList":[{"name":1,"nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}"#,
                modified: r#"{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]},{"name":2}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a","nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2,"other":"b"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}"#,
                result: r#"{"mergingList":[{"name":1,"other":"a","nonMergingList":[{"name":1,"value":1}]},{"name":2,"other":"b"}]}"#,
                ..NONE
            },
            Case {
                desc: "add field to map in merging list nested in merging list",
                original: r#"{"mergingList":[{"name":1,"mergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"name":1,"mergingList":[{"name":1,"value":1}]}]}"#,
                modified: r#"{"mergingList":[{"name":1,"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},{"name":2}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a","mergingList":[{"name":1},{"name":2,"value":2}]},{"name":2,"other":"b"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"name":1,"mergingList":[{"name":1,"value":1}]}]}"#,
                result: r#"{"mergingList":[{"name":1,"other":"a","mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},{"name":2,"other":"b"}]}"#,
                ..NONE
            },
            Case {
                desc: "add field to reordered map in merging list nested in merging list with deletion conflict",
                original: r#"{"mergingList":[{"name":1,"mergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"name":1,"mergingList":[{"name":1,"value":1}]}]}"#,
                modified: r#"{"mergingList":[{"name":1,"mergingList":[{"name":2,"value":2},{"name":1,"value":1}]},{"name":2}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a","mergingList":[{"name":2,"value":2,"other":"d"}]},{"name":2,"other":"b"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"name":1,"mergingList":[{"name":1,"value":1}]}]}"#,
                result: r#"{"mergingList":[{"name":1,"other":"a","mergingList":[{"name":2,"value":2,"other":"d"},{"name":1,"value":1}]},{"name":2,"other":"b"}]}"#,
                ..NONE
            },
            Case {
                desc: "merge lists of scalars",
                original: r#"{"mergingIntList":[1,2]}"#,
                two_way: r#"{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]}"#,
                modified: r#"{"mergingIntList":[1,2,3]}"#,
                current: r#"{"mergingIntList":[1,2,4]}"#,
                three_way: r#"{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]}"#,
                result: r#"{"mergingIntList":[1,2,3,4]}"#,
                ..NONE
            },
            Case {
                desc: "add an item in a list of primitives and preserve order",
                original: r#"{"mergingIntList":[1,2]}"#,
                two_way: r#"{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]}"#,
                modified: r#"{"mergingIntList":[3,1,2]}"#,
                current: r#"{"mergingIntList":[1,4,2]}"#,
                three_way: r#"{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]}"#,
                result: r#"{"mergingIntList":[3,1,4,2]}"#,
                ..NONE
            },
            Case {
                desc: "delete an item in a list of primitives and preserve order",
                original: r#"{"mergingIntList":[1,2,3]}"#,
                two_way: r#"{"$setElementOrder/mergingIntList":[2,1],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
                modified: r#"{"mergingIntList":[2,1]}"#,
                current: r#"{"mergingIntList":[1,2,3]}"#,
                three_way: r#"{"$setElementOrder/mergingIntList":[2,1],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
                result: r#"{"mergingIntList":[2,1]}"#,
                ..NONE
            },
            Case {
                desc: "add multiple items in a list and preserve order",
                original: r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":4},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}"#,
                modified: r#"{"mergingList":[{"name":1},{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":4},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}"#,
                result: r#"{"mergingList":[{"name":1,"other":"a"},{"name":4,"value":4},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
                ..NONE
            },
            Case {
                desc: "delete an item in a list and preserve order",
                original: r#"{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"name":3,"$patch":"delete"}]}"#,
                modified: r#"{"mergingList":[{"name":2,"value":2},{"name":1}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"name":3,"$patch":"delete"}]}"#,
                result: r#"{"mergingList":[{"name":2,"value":2,"other":"b"},{"name":1,"other":"a"}]}"#,
                ..NONE
            },
            Case {
                desc: "add and delete an item in a list and preserve order",
                original: r#"{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":1}],"mergingList":[{"name":4,"value":4},{"name":3,"$patch":"delete"}]}"#,
                modified: r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":1}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":1}],"mergingList":[{"name":4,"value":4},{"name":3,"$patch":"delete"}]}"#,
                result: r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2,"other":"b"},{"name":1,"other":"a"}]}"#,
                ..NONE
            },
            Case {
                desc: "set elements order in a list with server-only items 2",
                original: r#"{"mergingList":[{"name":1},{"name":2,"value":2},{"name":3,"value":3},{"name":4,"value":4}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]}"#,
                modified: r#"{"mergingList":[{"name":2,"value":2},{"name":1},{"name":4,"value":4},{"name":3,"value":3}]}"#,
                current: r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2},{"name":9},{"name":3,"value":3},{"name":4,"value":4}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]}"#,
                result: r#"{"mergingList":[{"name":2,"value":2},{"name":1,"other":"a"},{"name":9},{"name":4,"value":4},{"name":3,"value":3}]}"#,
                ..NONE
            },
            Case {
                desc: "set elements order in a int list with server-only items 3",
                original: r#"{"mergingIntList":[1,2,3,4]}"#,
                two_way: r#"{"$setElementOrder/mergingIntList":[2,1,4,3]}"#,
                modified: r#"{"mergingIntList":[2,1,4,3]}"#,
                current: r#"{"mergingIntList":[1,2,7,9,8,3,4]}"#,
                three_way: r#"{"$setElementOrder/mergingIntList":[2,1,4,3]}"#,
                result: r#"{"mergingIntList":[2,1,7,9,8,4,3]}"#,
                ..NONE
            },
            Case {
                desc: "behavior of set element order for a merging list with duplicate",
                original: r#"{"mergingList":[{"name":1},{"name":2,"value":"dup1"},{"name":3},{"name":2,"value":"dup2"},{"name":4}]}"#,
                current: r#"{"mergingList":[{"name":1},{"name":2,"value":"dup1"},{"name":3},{"name":2,"value":"dup2"},{"name":4}]}"#,
                modified: r#"{"mergingList":[{"name":2,"value":"dup1"},{"name":1},{"name":4},{"name":3},{"name":2,"value":"dup2"}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3},{"name":2}]}"#,
                two_way_result: r#"{"mergingList":[{"name":2,"value":"dup1"},{"name":2,"value":"dup2"},{"name":1},{"name":4},{"name":3}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3},{"name":2}]}"#,
                result: r#"{"mergingList":[{"name":2,"value":"dup1"},{"name":2,"value":"dup2"},{"name":1},{"name":4},{"name":3}]}"#,
            },
            Case {
                desc: "retainKeys map should clear defaulted field with conflict (discriminated union)",
                original: "{}",
                current: r#"{"retainKeysMap":{"name":"type1","value":"foo"}}"#,
                modified: r#"{"retainKeysMap":{"name":"type2","other":"bar"}}"#,
                two_way: r#"{"retainKeysMap":{"name":"type2","other":"bar"}}"#,
                three_way: r#"{"retainKeysMap":{"$retainKeys":["name","other"],"name":"type2","other":"bar"}}"#,
                result: r#"{"retainKeysMap":{"name":"type2","other":"bar"}}"#,
                ..NONE
            },
            Case {
                desc: "retainKeys map adds a field and clear a field",
                original: r#"{"retainKeysMap":{"name":"foo"}}"#,
                current: r#"{"retainKeysMap":{"name":"foo","other":"a"}}"#,
                modified: r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#,
                two_way: r#"{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}}"#,
                three_way: r#"{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}}"#,
                result: r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#,
                ..NONE
            },
            Case {
                desc: "retainKeys map deletes a field",
                original: RK_O,
                current: RK_O,
                modified: r#"{"retainKeysMap":{"name":"foo"}}"#,
                two_way: r#"{"retainKeysMap":{"$retainKeys":["name"],"value":null}}"#,
                three_way: r#"{"retainKeysMap":{"$retainKeys":["name"],"value":null}}"#,
                result: r#"{"retainKeysMap":{"name":"foo"}}"#,
                ..NONE
            },
            Case {
                desc: "retainKeys map clears a field",
                original: RK_O,
                current: r#"{"retainKeysMap":{"name":"foo","value":"bar","other":"a"}}"#,
                modified: RK_O,
                two_way: "{}",
                three_way: r#"{"retainKeysMap":{"$retainKeys":["name","value"]}}"#,
                result: RK_O,
                ..NONE
            },
            Case {
                desc: "retainKeys map nested merging int list with no change",
                original: r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2]}}"#,
                current: r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3]}}"#,
                modified: r#"{"retainKeysMap":{"name":"foo","value":"bar","mergingIntList":[1,2]}}"#,
                two_way: r#"{"retainKeysMap":{"$retainKeys":["mergingIntList","name","value"],"value":"bar"}}"#,
                three_way: r#"{"retainKeysMap":{"$retainKeys":["mergingIntList","name","value"],"$setElementOrder/mergingIntList":[1,2],"value":"bar"}}"#,
                result: r#"{"retainKeysMap":{"name":"foo","value":"bar","mergingIntList":[1,2,3]}}"#,
                ..NONE
            },
            Case {
                desc: "retainKeys map adds an item and deletes an item in nested merging int list",
                original: r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3]}}"#,
                current: r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3,4]}}"#,
                modified: r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,3,5]}}"#,
                two_way: r#"{"retainKeysMap":{"$retainKeys":["mergingIntList","name"],"mergingIntList":[5],"$deleteFromPrimitiveList/mergingIntList":[2],"$setElementOrder/mergingIntList":[1,3,5]}}"#,
                three_way: r#"{"retainKeysMap":{"$retainKeys":["mergingIntList","name"],"mergingIntList":[5],"$deleteFromPrimitiveList/mergingIntList":[2],"$setElementOrder/mergingIntList":[1,3,5]}}"#,
                result: r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,3,5,4]}}"#,
                ..NONE
            },
            Case {
                desc: "retainKeys map deletes an item in nested merging list",
                original: r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"}]}}"#,
                current: r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"},{"name":"x"}]}}"#,
                modified: r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"}]}}"#,
                two_way: r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"}],"mergingList":[{"name":"b","$patch":"delete"}]}}"#,
                three_way: r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"}],"mergingList":[{"name":"b","$patch":"delete"}]}}"#,
                result: r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"x"}]}}"#,
                ..NONE
            },
            Case {
                desc: "retainKeys list of maps clears a field",
                original: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
                current: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a","other":"x"}]}"#,
                modified: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
                two_way: "{}",
                three_way: r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo"}]}"#,
                result: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
                ..NONE
            },
            Case {
                desc: "retainKeys list of maps clears a field with conflict",
                original: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"old"}]}"#,
                current: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new","other":"x"}]}"#,
                modified: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"modified"}]}"#,
                two_way: r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"modified"}]}"#,
                three_way: r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"modified"}]}"#,
                result: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"modified"}]}"#,
                ..NONE
            },
            Case {
                desc: "retainKeys list of maps deletes a field and clear a field",
                original: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
                current: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a","other":"x"}]}"#,
                modified: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]}"#,
                two_way: r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]}"#,
                three_way: r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]}"#,
                result: r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]}"#,
                ..NONE
            },
            Case {
                desc: "delete and reorder in one list, reorder in another",
                original: r#"{"mergingList":[{"name":"a","value":"a"},{"name":"b","value":"b"}],"mergeItemPtr":[{"name":"c","value":"c"},{"name":"d","value":"d"}]}"#,
                current: r#"{"mergingList":[{"name":"a","value":"a"},{"name":"b","value":"b"}],"mergeItemPtr":[{"name":"c","value":"c"},{"name":"d","value":"d"}]}"#,
                modified: r#"{"mergingList":[{"name":"b","value":"b"}],"mergeItemPtr":[{"name":"d","value":"d"},{"name":"c","value":"c"}]}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":"b"}],"$setElementOrder/mergeItemPtr":[{"name":"d"},{"name":"c"}],"mergingList":[{"$patch":"delete","name":"a"}]}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":"b"}],"$setElementOrder/mergeItemPtr":[{"name":"d"},{"name":"c"}],"mergingList":[{"$patch":"delete","name":"a"}]}"#,
                result: r#"{"mergingList":[{"name":"b","value":"b"}],"mergeItemPtr":[{"name":"d","value":"d"},{"name":"c","value":"c"}]}"#,
                ..NONE
            },
            Case {
                desc: "replace RawExtension field and merge list",
                original: r#"{"name":"my-object","value":"some-value","other":"current-other","mergingList":[{"name":1}],"replacingItem":{"Some":"Generic","Yaml":"Inside","The":"RawExtension","Field":"Period"}}"#,
                current: r#"{"name":"my-object","value":"some-value","other":"current-other","mergingList":[{"name":1},{"name":3}],"replacingItem":{"Some":"Generic","Yaml":"Inside","The":"RawExtension","Field":"Period"}}"#,
                modified: r#"{"name":"my-object","value":"some-value","other":"current-other","mergingList":[{"name":1},{"name":2}],"replacingItem":{"Newly":"Modified","Yaml":"Inside","The":"RawExtension"}}"#,
                two_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":2}],"replacingItem":{"Newly":"Modified","Yaml":"Inside","The":"RawExtension"}}"#,
                three_way: r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":2}],"replacingItem":{"Newly":"Modified","Yaml":"Inside","The":"RawExtension"}}"#,
                result: r#"{"name":"my-object","value":"some-value","other":"current-other","mergingList":[{"name":1},{"name":2},{"name":3}],"replacingItem":{"Newly":"Modified","Yaml":"Inside","The":"RawExtension"}}"#,
                ..NONE
            },
        ];
        for c in &cases {
            run_case(c, &s, MERGE_ITEM);
        }
    }

    #[test]
    fn unknown_fields_merge_maps_and_replace_lists() {
        let s = merge_item_schema();
        let cases = [
            Case {
                desc: "no diff even if modified null",
                original: r#"{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}"#,
                current: r#"{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}"#,
                modified: r#"{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":{"key":null},"name":"foo","scalar":true}"#,
                two_way: r#"{"complex_nullable":{"key":null}}"#,
                two_way_result: r#"{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":{},"name":"foo","scalar":true}"#,
                three_way: r#"{"complex_nullable":{"key":null}}"#,
                result: r#"{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":{},"name":"foo","scalar":true}"#,
            },
            Case {
                desc: "discard nulls in nested and adds not nulls",
                original: r#"{"name":"foo"}"#,
                current: r#"{"name":"foo"}"#,
                modified: r#"{"complex_nullable":{"key":{"keynotnull":"value","keynull":null}},"name":"foo"}"#,
                two_way: r#"{"complex_nullable":{"key":{"keynotnull":"value","keynull":null}}}"#,
                two_way_result: r#"{"complex_nullable":{"key":{"keynotnull":"value"}},"name":"foo"}"#,
                three_way: r#"{"complex_nullable":{"key":{"keynotnull":"value","keynull":null}}}"#,
                result: r#"{"complex_nullable":{"key":{"keynotnull":"value"}},"name":"foo"}"#,
            },
            Case {
                desc: "filter nulls from nested slices",
                original: "{}",
                current: "{}",
                modified: r#"{"complex_nullable":[{"inner_one":{"key_one":"foo","key_two":null}}]}"#,
                two_way: r#"{"complex_nullable":[{"inner_one":{"key_one":"foo","key_two":null}}]}"#,
                two_way_result: r#"{"complex_nullable":[{"inner_one":{"key_one":"foo"}}]}"#,
                three_way: r#"{"complex_nullable":[{"inner_one":{"key_one":"foo","key_two":null}}]}"#,
                result: r#"{"complex_nullable":[{"inner_one":{"key_one":"foo"}}]}"#,
            },
            Case {
                desc: "not filter nulls from non-associative slice",
                original: "{}",
                current: "{}",
                modified: r#"{"complex_nullable":["key1",null,"key2"]}"#,
                two_way: r#"{"complex_nullable":["key1",null,"key2"]}"#,
                three_way: r#"{"complex_nullable":["key1",null,"key2"]}"#,
                result: r#"{"complex_nullable":["key1",null,"key2"]}"#,
                ..NONE
            },
            Case {
                desc: "removed only",
                original: r#"{"name":"foo","scalar":true,"complex":{"nested":true}}"#,
                current: r#"{"name":"foo","scalar":true,"complex":{"nested":true},"array":[1,2,3]}"#,
                modified: r#"{"name":"foo"}"#,
                two_way: r#"{"complex":null,"scalar":null}"#,
                three_way: r#"{"complex":null,"scalar":null}"#,
                result: r#"{"array":[1,2,3],"name":"foo"}"#,
                ..NONE
            },
            Case {
                desc: "json (unknown nested maps merge)",
                original: r#"{"name":"foo","jsonItem":{"nested":{"nested2":{"nested3":{}}}}}"#,
                current: r#"{"name":"foo","jsonItem":{"nested":{"nested2":{"nested3":{}}}}}"#,
                modified: r#"{"name":"foo","jsonItem":{"nested":{"nested2":{"nested3":{"a":"b"}}}}}"#,
                two_way: r#"{"jsonItem":{"nested":{"nested2":{"nested3":{"a":"b"}}}}}"#,
                three_way: r#"{"jsonItem":{"nested":{"nested2":{"nested3":{"a":"b"}}}}}"#,
                result: r#"{"name":"foo","jsonItem":{"nested":{"nested2":{"nested3":{"a":"b"}}}}}"#,
                ..NONE
            },
            Case {
                // Upstream's struct-based lookup errors here; without a schema we fall back
                // to merging, as its OpenAPI-based lookup does for unknown types.
                desc: "diff of an unknown map",
                original: r#"{"array":[1,2,3],"complex":{"nested":true},"name":"foo"}"#,
                current: r#"{"array":[1,2,3],"complex":{"nested":true},"name":"foo"}"#,
                modified: r#"{"array":[1,2],"complex":{"nested":false},"name":"foo"}"#,
                two_way: r#"{"array":[1,2],"complex":{"nested":false}}"#,
                three_way: r#"{"array":[1,2],"complex":{"nested":false}}"#,
                result: r#"{"array":[1,2],"complex":{"nested":false},"name":"foo"}"#,
                ..NONE
            },
        ];
        for c in &cases {
            run_case(c, &s, MERGE_ITEM);
        }
    }

    #[test]
    fn conflict_error_renders_both_sides() {
        let s = merge_item_schema();
        let err = create_three_way_merge_patch(
            &json!({"name": 1}),
            &json!({"name": 2}),
            &json!({"name": 3}),
            &s,
            MERGE_ITEM,
            false,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("patch:\n"), "{msg}");
        assert!(
            msg.contains("conflicts with changes made from original to current"),
            "{msg}"
        );
        assert_eq!(err.http_status(), 409);
        assert_eq!(PatchError::BadJsonDoc.http_status(), 400);
        assert_eq!(PatchError::NoListOfLists.http_status(), 422);
    }

    #[test]
    fn go_formatting_matches_upstream_messages() {
        assert_eq!(go_fmt(&json!({"b": 1, "a": "x"})), "map[a:x b:1]");
        assert_eq!(go_fmt(&json!([1, "a", null, true])), "[1 a <nil> true]");
        assert_eq!(go_fmt(&json!(1000000)), "1e+06");
        assert_eq!(go_fmt(&json!(123456)), "123456");
        assert_eq!(go_fmt(&json!(0.5)), "0.5");
        assert_eq!(go_fmt(&json!(0.00001)), "1e-05");
        assert_eq!(go_fmt(&json!(1.5e7)), "1.5e+07");
        assert_eq!(
            PatchError::NoMergeKey {
                map: go_fmt(&json!({"value": "b"})),
                key: "name".into()
            }
            .to_string(),
            "map: map[value:b] does not contain declared merge key: name"
        );
    }
}

/// A small hand-made slice of the Kubernetes schemas (Pod, Deployment and what they use), for
/// the tests of this module and of [`crate::managed_fields`]. Most properties carry no
/// `x-kubernetes-*` extension, so the [`crate::merge_keys`] table is exercised too.
#[cfg(test)]
pub(crate) mod test_schema {
    use super::PatchSchema;
    use serde_json::{json, Map, Value};

    fn r(name: &str) -> Value {
        json!({"$ref": format!("#/components/schemas/{name}")})
    }

    fn list_of(name: &str) -> Value {
        json!({"type": "array", "items": r(name)})
    }

    /// The schemas, by OpenAPI definition name.
    pub(crate) fn k8s_schema() -> PatchSchema {
        let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
        let string = json!({"type": "string"});
        let int = json!({"type": "integer"});
        let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
        let defs: Vec<(&str, Value)> = vec![
            (
                "io.k8s.api.apps.v1.Deployment",
                json!({"type": "object", "properties": {
                    "apiVersion": string, "kind": string,
                    "metadata": {"allOf": [r(meta)], "default": {}},
                    "spec": r("io.k8s.api.apps.v1.DeploymentSpec"),
                    "status": r("io.k8s.api.apps.v1.DeploymentStatus"),
                }}),
            ),
            (
                "io.k8s.api.apps.v1.DeploymentSpec",
                json!({"type": "object", "properties": {
                    "replicas": int,
                    "paused": {"type": "boolean"},
                    "selector": r("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
                    "strategy": {"allOf": [r("io.k8s.api.apps.v1.DeploymentStrategy")], "x-kubernetes-patch-strategy": "retainKeys"},
                    "template": r("io.k8s.api.core.v1.PodTemplateSpec"),
                }}),
            ),
            (
                "io.k8s.api.apps.v1.DeploymentStrategy",
                json!({"type": "object", "properties": {
                    "type": string,
                    "rollingUpdate": r("io.k8s.api.apps.v1.RollingUpdateDeployment"),
                }}),
            ),
            (
                "io.k8s.api.apps.v1.RollingUpdateDeployment",
                json!({"type": "object", "properties": {
                    "maxSurge": {"x-kubernetes-int-or-string": true},
                    "maxUnavailable": {"x-kubernetes-int-or-string": true},
                }}),
            ),
            (
                "io.k8s.api.apps.v1.DeploymentStatus",
                json!({"type": "object", "properties": {
                    "replicas": int,
                    "conditions": list_of("io.k8s.api.apps.v1.DeploymentCondition"),
                }}),
            ),
            (
                "io.k8s.api.apps.v1.DeploymentCondition",
                json!({"type": "object", "properties": {
                    "type": string, "status": string, "reason": string,
                }}),
            ),
            (
                "io.k8s.api.core.v1.Pod",
                json!({"type": "object", "properties": {
                    "apiVersion": string, "kind": string,
                    "metadata": r(meta),
                    "spec": r("io.k8s.api.core.v1.PodSpec"),
                }}),
            ),
            (
                "io.k8s.api.core.v1.PodTemplateSpec",
                json!({"type": "object", "properties": {
                    "metadata": r(meta),
                    "spec": r("io.k8s.api.core.v1.PodSpec"),
                }}),
            ),
            (
                "io.k8s.api.core.v1.PodSpec",
                json!({"type": "object", "properties": {
                    "containers": list_of("io.k8s.api.core.v1.Container"),
                    "initContainers": list_of("io.k8s.api.core.v1.Container"),
                    "volumes": {"type": "array", "items": r("io.k8s.api.core.v1.Volume"),
                        "x-kubernetes-patch-strategy": "merge,retainKeys", "x-kubernetes-patch-merge-key": "name",
                        "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
                    "tolerations": list_of("io.k8s.api.core.v1.Toleration"),
                    "nodeSelector": string_map,
                    "restartPolicy": string,
                    "serviceAccountName": string,
                }}),
            ),
            (
                "io.k8s.api.core.v1.Container",
                json!({"type": "object", "properties": {
                    "name": string, "image": string, "imagePullPolicy": string,
                    "args": {"type": "array", "items": {"type": "string"}},
                    "ports": list_of("io.k8s.api.core.v1.ContainerPort"),
                    "env": list_of("io.k8s.api.core.v1.EnvVar"),
                    "volumeMounts": list_of("io.k8s.api.core.v1.VolumeMount"),
                    "resources": r("io.k8s.api.core.v1.ResourceRequirements"),
                }}),
            ),
            (
                "io.k8s.api.core.v1.ResourceRequirements",
                json!({"type": "object", "properties": {
                    "limits": string_map, "requests": string_map,
                }}),
            ),
            (
                "io.k8s.api.core.v1.ContainerPort",
                json!({"type": "object", "properties": {
                    "containerPort": int, "protocol": string, "name": string,
                }}),
            ),
            (
                "io.k8s.api.core.v1.EnvVar",
                json!({"type": "object", "properties": {
                    "name": string, "value": string,
                    "valueFrom": {"type": "object", "properties": {"fieldRef": {"type": "object", "properties": {"fieldPath": string}}}},
                }}),
            ),
            (
                "io.k8s.api.core.v1.VolumeMount",
                json!({"type": "object", "properties": {
                    "name": string, "mountPath": string, "readOnly": {"type": "boolean"},
                }}),
            ),
            (
                "io.k8s.api.core.v1.Volume",
                json!({"type": "object", "properties": {
                    "name": string,
                    "emptyDir": {"type": "object", "properties": {"medium": string}},
                    "configMap": {"type": "object", "properties": {"name": string}},
                }}),
            ),
            (
                "io.k8s.api.core.v1.Toleration",
                json!({"type": "object", "properties": {
                    "key": string, "operator": string, "effect": string, "value": string,
                }}),
            ),
            (
                meta,
                json!({"type": "object", "properties": {
                    "name": string, "namespace": string, "uid": string, "resourceVersion": string,
                    "labels": string_map, "annotations": string_map,
                    "finalizers": {"type": "array", "items": {"type": "string"}},
                    "ownerReferences": list_of("io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference"),
                    "managedFields": list_of("io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry"),
                }}),
            ),
            (
                "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
                json!({"type": "object", "properties": {
                    "apiVersion": string, "kind": string, "name": string, "uid": string, "controller": {"type": "boolean"},
                }}),
            ),
            (
                "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
                json!({"type": "object", "properties": {
                    "manager": string, "operation": string, "apiVersion": string, "time": string,
                    "fieldsType": string, "fieldsV1": {"type": "object"},
                }}),
            ),
            (
                "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
                json!({"type": "object", "properties": {
                    "matchLabels": string_map,
                    "matchExpressions": {"type": "array", "items": {"type": "object"}},
                }}),
            ),
        ];
        let mut map = Map::new();
        for (k, v) in defs {
            map.insert(k.to_string(), v);
        }
        PatchSchema::new(map)
    }
}

#[cfg(test)]
mod k8s_tests {
    use super::test_schema::k8s_schema;
    use super::*;
    use serde_json::json;

    const POD: &str = "io.k8s.api.core.v1.Pod";
    const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";

    fn pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}, "finalizers": ["a", "b"]},
            "spec": {
                "containers": [
                    {"name": "app", "image": "app:1",
                     "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}],
                     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                    {"name": "sidecar", "image": "side:1"}
                ],
                "volumes": [{"name": "data", "emptyDir": {}}],
                "tolerations": [{"key": "k1", "operator": "Exists"}],
                "nodeSelector": {"disk": "ssd"}
            }
        })
    }

    fn apply(original: &Value, patch: Value, root: &str) -> Value {
        apply_strategic_merge_patch(original, &patch, &k8s_schema(), root).expect("patch applies")
    }

    #[test]
    fn containers_merge_by_name() {
        let out = apply(
            &pod(),
            json!({"spec": {"containers": [{"name": "sidecar", "image": "side:2"}]}}),
            POD,
        );
        let containers = &out["spec"]["containers"];
        assert_eq!(containers.as_array().map(Vec::len), Some(2));
        assert_eq!(containers[0]["name"], "app");
        assert_eq!(containers[0]["image"], "app:1");
        assert_eq!(containers[1], json!({"name": "sidecar", "image": "side:2"}));
    }

    #[test]
    fn new_container_goes_first_without_order_directive() {
        let out = apply(
            &pod(),
            json!({"spec": {"containers": [{"name": "debug", "image": "busybox"}]}}),
            POD,
        );
        let names: Vec<&str> = out["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["debug", "app", "sidecar"]);
    }

    #[test]
    fn env_item_deleted_with_patch_delete() {
        let out = apply(
            &pod(),
            json!({"spec": {"containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}]}}),
            POD,
        );
        assert_eq!(
            out["spec"]["containers"][0]["env"],
            json!([{"name": "B", "value": "2"}])
        );
    }

    #[test]
    fn set_element_order_reorders_containers() {
        let out = apply(
            &pod(),
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                "containers": [{"name": "app", "image": "app:2"}]
            }}),
            POD,
        );
        let c = &out["spec"]["containers"];
        assert_eq!(
            (c[0]["name"].as_str(), c[1]["name"].as_str()),
            (Some("sidecar"), Some("app"))
        );
        assert_eq!(c[1]["image"], "app:2");
        assert_eq!(c[1]["ports"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn ports_merge_by_container_port_and_tolerations_replace() {
        let out = apply(
            &pod(),
            json!({"spec": {
                "containers": [{"name": "app", "ports": [{"containerPort": 8080}]}],
                "tolerations": [{"key": "k2", "operator": "Exists"}]
            }}),
            POD,
        );
        let ports: Vec<i64> = out["spec"]["containers"][0]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["containerPort"].as_i64().unwrap())
            .collect();
        assert_eq!(ports, [8080, 80, 443]);
        assert_eq!(
            out["spec"]["tolerations"],
            json!([{"key": "k2", "operator": "Exists"}])
        );
    }

    #[test]
    fn labels_merge_and_null_deletes() {
        let out = apply(
            &pod(),
            json!({"metadata": {"labels": {"tier": null, "env": "prod"}}}),
            POD,
        );
        assert_eq!(
            out["metadata"]["labels"],
            json!({"app": "web", "env": "prod"})
        );
    }

    #[test]
    fn finalizers_are_a_primitive_merge_list() {
        let out = apply(&pod(), json!({"metadata": {"finalizers": ["c", "a"]}}), POD);
        assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
        let out = apply(
            &pod(),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
            POD,
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn volumes_retain_keys_switches_the_volume_source() {
        let out = apply(
            &pod(),
            json!({"spec": {"volumes": [{"$retainKeys": ["configMap", "name"], "name": "data", "configMap": {"name": "cfg"}}]}}),
            POD,
        );
        assert_eq!(
            out["spec"]["volumes"],
            json!([{"name": "data", "configMap": {"name": "cfg"}}])
        );
    }

    fn deployment_rolling() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}
            }
        })
    }

    #[test]
    fn retain_keys_clears_rolling_update_when_switching_to_recreate() {
        let out = apply(
            &deployment_rolling(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
            DEPLOYMENT,
        );
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        // A plain merge patch keeps rollingUpdate (and would fail validation).
        let out = apply(
            &deployment_rolling(),
            json!({"spec": {"strategy": {"type": "Recreate"}}}),
            DEPLOYMENT,
        );
        assert!(out["spec"]["strategy"].get("rollingUpdate").is_some());
    }

    #[test]
    fn kubectl_apply_switches_strategy_to_recreate() {
        let schema = k8s_schema();
        let last_applied = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}});
        let modified = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "strategy": {"type": "Recreate"},
                "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}});
        let current = deployment_rolling();
        let patch = create_three_way_merge_patch(
            &last_applied,
            &modified,
            &current,
            &schema,
            DEPLOYMENT,
            true,
        )
        .unwrap();
        assert_eq!(
            patch,
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
        );
        let out = apply_strategic_merge_patch(&current, &patch, &schema, DEPLOYMENT).unwrap();
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn kubectl_apply_removes_container_and_port_dropped_from_config() {
        let schema = k8s_schema();
        let last_applied = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "app", "image": "app:1", "ports": [{"containerPort": 80}, {"containerPort": 443}]},
            {"name": "sidecar", "image": "side:1"}
        ]}}}});
        let modified = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "app", "image": "app:2", "ports": [{"containerPort": 80}]}
        ]}}}});
        // The live object: server defaults, a container injected by someone else, a label.
        let current = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"team": "a"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "app", "image": "app:1", "imagePullPolicy": "IfNotPresent",
                 "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}]},
                {"name": "sidecar", "image": "side:1", "imagePullPolicy": "IfNotPresent"},
                {"name": "injected", "image": "proxy:1"}
            ], "restartPolicy": "Always"}}}});
        // Server defaults count as changes since the last apply, so without `overwrite` (kubectl
        // apply's default is `--overwrite=true`) deleting what was defaulted conflicts.
        let strict = create_three_way_merge_patch(
            &last_applied,
            &modified,
            &current,
            &schema,
            DEPLOYMENT,
            false,
        );
        assert!(matches!(strict, Err(PatchError::Conflict { .. })));
        let patch = create_three_way_merge_patch(
            &last_applied,
            &modified,
            &current,
            &schema,
            DEPLOYMENT,
            true,
        )
        .unwrap();
        assert_eq!(
            patch,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "app"}],
                "containers": [
                    {"name": "app", "image": "app:2",
                     "$setElementOrder/ports": [{"containerPort": 80}],
                     "ports": [{"containerPort": 443, "$patch": "delete"}]},
                    {"name": "sidecar", "$patch": "delete"}
                ]
            }}}})
        );
        let out = apply_strategic_merge_patch(&current, &patch, &schema, DEPLOYMENT).unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([
                {"name": "app", "image": "app:2", "imagePullPolicy": "IfNotPresent",
                 "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                {"name": "injected", "image": "proxy:1"}
            ])
        );
        assert_eq!(out["metadata"]["labels"], json!({"team": "a"}));
        assert_eq!(out["spec"]["template"]["spec"]["restartPolicy"], "Always");
    }

    #[test]
    fn two_way_diff_round_trips() {
        let schema = k8s_schema();
        let original = pod();
        let mut modified = pod();
        modified["spec"]["containers"][0]["env"] =
            json!([{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]);
        modified["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .remove(1);
        modified["metadata"]["labels"]["tier"] = Value::Null;
        modified["metadata"]["finalizers"] = json!(["b", "z"]);
        let patch = create_two_way_merge_patch(&original, &modified, &schema, POD).unwrap();
        let out = apply_strategic_merge_patch(&original, &patch, &schema, POD).unwrap();
        let mut expected = modified.clone();
        expected["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .shift_remove("tier");
        assert_eq!(out, expected, "patch was {patch}");
        assert_eq!(
            patch["metadata"]["$deleteFromPrimitiveList/finalizers"],
            json!(["a"])
        );
        assert_eq!(patch["metadata"]["finalizers"], json!(["z"]));
    }

    #[test]
    fn schema_navigation() {
        let schema = k8s_schema();
        let pod = schema.root(POD);
        assert!(pod.is_known());
        assert_eq!(pod.kind(), SchemaKind::Struct);
        let (spec, _) = pod.field("spec");
        assert_eq!(spec.definition_name(), Some("io.k8s.api.core.v1.PodSpec"));
        // No extension on the property: the table supplies the metadata.
        let (containers, meta) = spec.field("containers");
        assert_eq!(containers.kind(), SchemaKind::List);
        assert_eq!(meta.patch_strategy.as_deref(), Some("merge"));
        assert_eq!(meta.merge_key(), "name");
        assert_eq!(meta.effective_list_type(), ListType::Map);
        assert_eq!(
            containers.items().definition_name(),
            Some("io.k8s.api.core.v1.Container")
        );
        let (_, tol) = spec.field("tolerations");
        assert_eq!(tol.effective_list_type(), ListType::Atomic);
        let (node_selector, ns_meta) = spec.field("nodeSelector");
        assert_eq!(node_selector.kind(), SchemaKind::Map);
        assert_eq!(ns_meta.map_type, Some(MapType::Atomic));
        let (value, _) = node_selector.field("anything");
        assert_eq!(value.kind(), SchemaKind::Scalar);
        // allOf-wrapped reference with the strategy beside it.
        let (strategy, strategy_meta) = schema.root(DEPLOYMENT).field("spec").0.field("strategy");
        assert_eq!(
            strategy.definition_name(),
            Some("io.k8s.api.apps.v1.DeploymentStrategy")
        );
        assert_eq!(strategy_meta.patch_strategies().unwrap(), (true, ""));
        let (meta_node, _) = schema.root(DEPLOYMENT).field("metadata");
        let (_, finalizers) = meta_node.field("finalizers");
        assert_eq!(finalizers.effective_list_type(), ListType::Set);
        let selector = schema.root(DEPLOYMENT).field("spec").0.field("selector").0;
        assert_eq!(selector.map_type(), Some(MapType::Atomic));
        // A nullable wrapper, as some schema generators write optional references.
        let mut wrapped = schema.clone();
        wrapped.insert(
            "wrapper",
            json!({"type": "object", "properties": {"spec": {"anyOf": [{"$ref": "#/$defs/io.k8s.api.core.v1.PodSpec"}, {"type": "null"}]}}}),
        );
        let (spec2, _) = wrapped.root("wrapper").field("spec");
        assert_eq!(spec2.definition_name(), Some("io.k8s.api.core.v1.PodSpec"));
        assert_eq!(spec2.field("containers").1.merge_key(), "name");
        // Unknown fields and definitions.
        let (unknown, meta) = pod.field("bogus");
        assert!(!unknown.is_known());
        assert_eq!(meta, FieldMeta::default());
        assert!(!schema.root("io.k8s.api.core.v1.Nothing").is_known());
        // Whole documents.
        let doc = json!({"components": {"schemas": schema.definitions().clone()}});
        assert!(PatchSchema::from_document(&doc).root(POD).is_known());
        assert!(
            PatchSchema::from_document(&json!({"definitions": {"x": {}}}))
                .definition("x")
                .is_some()
        );
    }

    #[test]
    fn strategy_parsing() {
        let meta = |s: &str| FieldMeta {
            patch_strategy: Some(s.into()),
            ..FieldMeta::default()
        };
        assert_eq!(meta("merge").patch_strategies().unwrap(), (false, "merge"));
        assert_eq!(
            meta("merge,retainKeys").patch_strategies().unwrap(),
            (true, "merge")
        );
        assert_eq!(
            meta("retainKeys,merge").patch_strategies().unwrap(),
            (true, "merge")
        );
        assert_eq!(
            meta("replace").patch_strategies().unwrap(),
            (false, "replace")
        );
        assert!(meta("merge,replace").patch_strategies().is_err());
        assert!(meta("a,b,c").patch_strategies().is_err());
        assert_eq!(
            FieldMeta::default().patch_strategies().unwrap(),
            (false, "")
        );
    }
}
