//! Server-side apply and field ownership (`metadata.managedFields`), after upstream's
//! `sigs.k8s.io/structured-merge-diff` (`merge.Updater`) and the apiserver's field manager
//! (`k8s.io/apimachinery/pkg/util/managedfields`).
//!
//! Every field of an object is owned by the managers that set it. An **apply**
//! ([`apply`]) merges an applied configuration into the live object: maps merge key by key,
//! associative lists (`x-kubernetes-list-type: map`, or a merge key) item by item, sets
//! (`set`, or a merged list of scalars) value by value, and atomic values are replaced. The
//! applier then owns exactly the fields of its configuration; a field it changes that another
//! manager owns is a conflict (HTTP 409) unless `force` is given, in which case the other
//! manager loses it. Fields the applier applied last time but no longer applies are removed
//! from the object, unless another manager owns them. An **update** (any other write,
//! [`update_managed_fields`]) gives its manager the fields it changed, taking them from
//! everyone else.
//!
//! Ownership is recorded per manager as a set of field paths, serialized in upstream's
//! `FieldsV1` form: `{"f:spec": {"f:replicas": {}, "f:containers": {"k:{\"name\":\"app\"}":
//! {".": {}, "f:image": {}}}}}` (`f:` a field, `k:` a list item by its keys, `v:` a set item,
//! `i:` an index, `.` the node itself).
//!
//! Simplifications: a single API version (no conversion between versions), no unions, and no
//! handling of the client-side-apply `last-applied-configuration` annotation. Struct-typed
//! fields that come into existence are not themselves owned by an update (upstream's typed Go
//! objects always hold their non-pointer structs), only their contents.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::merge_keys::{ListType, MapType};
use crate::strategic_merge::{FieldMeta, PatchSchema, SchemaKind, SchemaNode};

/// The operation of a managed-fields entry: `Apply` (server-side apply) or `Update` (any other
/// write).
pub const OPERATION_APPLY: &str = "Apply";
/// See [`OPERATION_APPLY`].
pub const OPERATION_UPDATE: &str = "Update";
/// The only fields type upstream defines.
pub const FIELDS_V1: &str = "FieldsV1";
/// The manager name old update entries are folded into beyond [`MAX_UPDATE_MANAGERS`].
pub const ANCIENT_CHANGES_MANAGER: &str = "ancient-changes";
/// How many `Update` entries an object keeps before the oldest are merged.
pub const MAX_UPDATE_MANAGERS: usize = 10;
/// The manager owning the fields an object had when it was first applied to without managed
/// fields.
pub const BEFORE_FIRST_APPLY_MANAGER: &str = "before-first-apply";
/// The annotation client-side `kubectl apply` keeps its last configuration in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The field manager whose applies upgrade client-side-applied objects.
pub const KUBECTL_MANAGER: &str = "kubectl";
/// Upstream's limit on the total size of an object's annotations.
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// What can go wrong computing managed fields.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ManagedFieldsError {
    /// The apply would change fields other managers own (HTTP 409 Conflict). The message is
    /// upstream's, e.g. `Apply failed with 1 conflict: conflict with "kubectl" using apps/v1:
    /// .spec.replicas`.
    #[error("{message}")]
    Conflict {
        /// The rendered message.
        message: String,
        /// One entry per conflicting field, for the status causes.
        conflicts: Vec<FieldConflict>,
    },
    /// The applied configuration does not fit the schema (duplicate list keys, list items
    /// without their keys, a non-object document); HTTP 422.
    #[error("failed to create typed patch object: {0}")]
    InvalidConfiguration(String),
    /// The applied configuration sets `metadata.managedFields`; HTTP 400.
    #[error("metadata.managedFields must be nil")]
    ManagedFieldsInConfiguration,
    /// The applied configuration's `apiVersion` is not the request's; HTTP 400.
    #[error("Incorrect version specified in apply patch. Specified patch version: {specified}, expected: {expected}")]
    VersionMismatch {
        /// The configuration's `apiVersion`.
        specified: String,
        /// The request's.
        expected: String,
    },
    /// No field manager was named for an apply; HTTP 400.
    #[error("PATCH requests with apply must specify a fieldManager")]
    MissingManager,
    /// The live object's `metadata.managedFields` cannot be decoded; HTTP 500.
    #[error("failed to decode managed fields: {0}")]
    InvalidManagedFields(String),
}

impl ManagedFieldsError {
    /// The HTTP status the apiserver answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            ManagedFieldsError::Conflict { .. } => 409,
            ManagedFieldsError::InvalidConfiguration(_) => 422,
            ManagedFieldsError::ManagedFieldsInConfiguration
            | ManagedFieldsError::VersionMismatch { .. }
            | ManagedFieldsError::MissingManager => 400,
            ManagedFieldsError::InvalidManagedFields(_) => 500,
        }
    }
}

/// One conflicting field, as a `metav1.StatusCause` of type `FieldManagerConflict` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// The cause message: `conflict with "manager" using apps/v1`.
    pub message: String,
    /// The field path: `.spec.replicas`, `.spec.containers[name="app"].image`.
    pub field: String,
}

/// One entry of `metadata.managedFields`, as the API serializes it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedFieldsEntry {
    /// The manager's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manager: String,
    /// `Apply` or `Update`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operation: String,
    /// The API version the fields are expressed in.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// When the manager last changed the object (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Always `FieldsV1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields_type: Option<String>,
    /// The owned fields, in the `FieldsV1` encoding.
    #[serde(rename = "fieldsV1", default, skip_serializing_if = "Option::is_none")]
    pub fields_v1: Option<Value>,
    /// The subresource the manager wrote through (`status`, `scale`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
}

impl ManagedFieldsEntry {
    /// Decodes the `fieldsV1` of this entry (absent means empty).
    pub fn field_set(&self) -> Result<FieldSet, ManagedFieldsError> {
        match &self.fields_v1 {
            None => Ok(FieldSet::default()),
            Some(v) => {
                FieldSet::from_fields_v1(v).map_err(ManagedFieldsError::InvalidManagedFields)
            }
        }
    }
}

/// Reads `metadata.managedFields` from an object (empty when absent or null).
pub fn managed_fields_of(object: &Value) -> Result<Vec<ManagedFieldsEntry>, ManagedFieldsError> {
    match object.pointer("/metadata/managedFields") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| ManagedFieldsError::InvalidManagedFields(e.to_string())),
    }
}

/// Writes `metadata.managedFields` into an object (removing it when `entries` is empty).
/// Does nothing to a non-object.
pub fn set_managed_fields(object: &mut Value, entries: &[ManagedFieldsEntry]) {
    let Some(obj) = object.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.shift_remove("managedFields");
        }
        return;
    }
    let encoded = serde_json::to_value(entries).unwrap_or(Value::Null);
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Some(meta) = meta.as_object_mut() {
        meta.insert("managedFields".to_string(), encoded);
    }
}

// ---------------------------------------------------------------------------------------------
// Paths and sets
// ---------------------------------------------------------------------------------------------

/// One step of a field path.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// A field of an object or a key of a map: `f:name`.
    Field(String),
    /// An item of an associative list, by its key fields sorted by name: `k:{"name":"app"}`.
    Key(Vec<(String, Value)>),
    /// An item of a set: `v:"value"`.
    Value(Value),
    /// An item of a list by position: `i:0`.
    Index(usize),
}

fn kind_rank(v: &Value) -> u8 {
    match v {
        Value::Number(_) => 0,
        Value::String(_) => 1,
        Value::Bool(_) => 2,
        Value::Array(_) => 3,
        Value::Object(_) => 4,
        Value::Null => 5,
    }
}

/// The total order upstream (`value.Compare`) gives values: numbers, strings, booleans, lists,
/// maps, null; numbers by value.
fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(p), Some(q)) = (x.as_i64(), y.as_i64()) {
                return p.cmp(&q);
            }
            if let (Some(p), Some(q)) = (x.as_u64(), y.as_u64()) {
                return p.cmp(&q);
            }
            let (p, q) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            p.partial_cmp(&q).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let c = compare_values(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xs: Vec<(&String, &Value)> = x.iter().collect();
            let mut ys: Vec<(&String, &Value)> = y.iter().collect();
            xs.sort_by(|p, q| p.0.cmp(q.0));
            ys.sort_by(|p, q| p.0.cmp(q.0));
            for ((pk, pv), (qk, qv)) in xs.iter().zip(&ys) {
                let c = pk.cmp(qk).then_with(|| compare_values(pv, qv));
                if c != Ordering::Equal {
                    return c;
                }
            }
            xs.len().cmp(&ys.len())
        }
        _ => kind_rank(a).cmp(&kind_rank(b)),
    }
}

impl PathElement {
    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }

    /// The `FieldsV1` key of this element: `f:name`, `k:{...}`, `v:...` or `i:N`.
    pub fn to_fields_v1_key(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(fields) => {
                let mut m = Map::new();
                for (k, v) in fields {
                    m.insert(k.clone(), v.clone());
                }
                format!("k:{}", Value::Object(m))
            }
            PathElement::Value(v) => format!("v:{v}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key; `Ok(None)` for an element type this version does not know
    /// (upstream drops those).
    pub fn from_fields_v1_key(s: &str) -> Result<Option<PathElement>, String> {
        let Some((kind, rest)) = s.split_once(':') else {
            return Err(format!("missing colon: {s}"));
        };
        match kind {
            "f" => Ok(Some(PathElement::Field(rest.to_string()))),
            "v" => serde_json::from_str(rest)
                .map(|v| Some(PathElement::Value(v)))
                .map_err(|e| e.to_string()),
            "k" => {
                let v: Value = serde_json::from_str(rest).map_err(|e| e.to_string())?;
                let Value::Object(m) = v else {
                    return Err(format!("key must be a JSON object: {s}"));
                };
                let mut fields: Vec<(String, Value)> = m.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(Some(PathElement::Key(fields)))
            }
            "i" => rest
                .parse()
                .map(|i| Some(PathElement::Index(i)))
                .map_err(|e| format!("{e}")),
            _ if kind.len() == 1 => Ok(None),
            _ => Err(format!("key must be 2 characters long: {s}")),
        }
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => {
                for ((an, av), (bn, bv)) in a.iter().zip(b) {
                    let c = an.cmp(bn).then_with(|| compare_values(av, bv));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                a.len().cmp(&b.len())
            }
            (PathElement::Value(a), PathElement::Value(b)) => compare_values(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

/// Renders a value as upstream's `value.ToString`: strings quoted, the rest as JSON-ish.
fn value_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(value_to_string).collect::<Vec<_>>().join(",")
        ),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}={}", value_to_string(&m[k.as_str()])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

impl fmt::Display for PathElement {
    /// Upstream's human form: `.name`, `[name="app"]`, `[="value"]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value_to_string(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", value_to_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A field path.
pub type Path = Vec<PathElement>;

/// Renders a path as upstream does: `.spec.containers[name="app"].image`.
pub fn path_to_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// A set of field paths, stored as a tree: at each level the elements that are members
/// themselves and the elements that have members below them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        FieldSet::default()
    }

    /// Whether the set has no path.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// Adds a path (the empty path, the whole object, is not tracked).
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether the set holds exactly this path.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// The paths below `pe`, without it.
    pub fn with_prefix(&self, pe: &PathElement) -> FieldSet {
        self.children.get(pe).cloned().unwrap_or_default()
    }

    fn with_prefix_ref(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.intersection(&other.members).cloned().collect();
        for (pe, child) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(pe.clone(), both);
                }
            }
        }
        out
    }

    /// Paths of this set that are not in `other` (exact paths only).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.difference(&other.members).cloned().collect();
        for (pe, child) in &self.children {
            let rest = match other.children.get(pe) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(pe.clone(), rest);
            }
        }
        out
    }

    /// Paths of this set that neither are in `other` nor lie below one of its paths.
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.difference(&other.members).cloned().collect();
        for (pe, child) in &self.children {
            if other.members.contains(pe) {
                continue;
            }
            let rest = match other.children.get(pe) {
                Some(theirs) => child.recursive_difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(pe.clone(), rest);
            }
        }
        out
    }

    /// Every path, members of a level before the levels below it, in path order.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        for pe in &self.members {
            let mut p = prefix.clone();
            p.push(pe.clone());
            out.push(p);
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The `FieldsV1` encoding: `{"f:spec": {"f:replicas": {}}}`, keys in upstream's order,
    /// with `".": {}` where a path is both a member and the parent of members.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.encode(false))
    }

    fn encode(&self, include_self: bool) -> Map<String, Value> {
        let mut keys: BTreeSet<&PathElement> = self.members.iter().collect();
        keys.extend(self.children.keys());
        let mut out = Map::new();
        for pe in keys {
            let value = match self.children.get(pe) {
                Some(child) => Value::Object(child.encode(self.members.contains(pe))),
                None => Value::Object(Map::new()),
            };
            out.insert(pe.to_fields_v1_key(), value);
        }
        if include_self && !out.is_empty() {
            out.insert(".".to_string(), Value::Object(Map::new()));
        }
        out
    }

    /// Decodes the `FieldsV1` encoding. Element types this version does not know are dropped,
    /// as upstream does.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, String> {
        let Value::Object(m) = v else {
            return Err(format!("FieldsV1 must be a JSON object, got {v}"));
        };
        Ok(Self::decode(m)?.0)
    }

    /// Returns the children and whether the node itself is a member.
    fn decode(m: &Map<String, Value>) -> Result<(FieldSet, bool), String> {
        let mut set = FieldSet::new();
        let mut is_member = false;
        for (key, child) in m {
            if key == "." {
                is_member = true;
                continue;
            }
            let Some(pe) = PathElement::from_fields_v1_key(key)
                .map_err(|e| format!("parsing key as path element: {e}"))?
            else {
                continue;
            };
            let Value::Object(cm) = child else {
                return Err(format!("value of {key} must be a JSON object"));
            };
            let (grandchildren, child_is_member) = Self::decode(cm)?;
            if child_is_member {
                set.members.insert(pe.clone());
            }
            if !grandchildren.is_empty() {
                set.children.insert(pe, grandchildren);
            }
        }
        if set.is_empty() {
            is_member = true;
        }
        Ok((set, is_member))
    }
}

// ---------------------------------------------------------------------------------------------
// Typed walks
// ---------------------------------------------------------------------------------------------

/// The schema of a value being walked: its node and the metadata of the field holding it.
#[derive(Clone)]
struct Ty<'a> {
    node: SchemaNode<'a>,
    meta: FieldMeta,
}

/// How a value merges, given its schema.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Scalar,
    AtomicList,
    /// An associative list by these keys; no keys means a set.
    AssociativeList(Vec<String>),
    AtomicMap,
    Map,
}

impl<'a> Ty<'a> {
    fn root(node: SchemaNode<'a>) -> Self {
        Ty {
            node,
            meta: FieldMeta::default(),
        }
    }

    fn shape(&self, v: &Value) -> Shape {
        match v {
            Value::Array(_) => {
                if self.node.kind() != SchemaKind::List {
                    return Shape::AtomicList;
                }
                match self.meta.effective_list_type() {
                    ListType::Atomic => Shape::AtomicList,
                    ListType::Set => Shape::AssociativeList(Vec::new()),
                    ListType::Map => {
                        let keys = self.meta.effective_list_map_keys();
                        if keys.is_empty() {
                            Shape::AtomicList
                        } else {
                            Shape::AssociativeList(keys)
                        }
                    }
                }
            }
            Value::Object(_) => {
                if self.meta.map_type == Some(MapType::Atomic)
                    || self.node.map_type() == Some(MapType::Atomic)
                {
                    Shape::AtomicMap
                } else {
                    Shape::Map
                }
            }
            _ => Shape::Scalar,
        }
    }

    fn child(&self, name: &str) -> Ty<'a> {
        let (node, meta) = self.node.field(name);
        Ty { node, meta }
    }

    fn item(&self) -> Ty<'a> {
        Ty {
            node: self.node.items(),
            meta: FieldMeta::default(),
        }
    }

    /// Whether `name` is a declared field whose value is a struct (upstream's typed objects
    /// always hold those, so their coming and going is not a change of its own).
    fn is_struct_field(&self, name: &str) -> bool {
        self.node.has_property(name) && self.child(name).node.kind() == SchemaKind::Struct
    }
}

/// The path element of a list item: its keys, or its value for a set.
fn item_path_element(
    item: &Value,
    keys: &[String],
    item_ty: &Ty<'_>,
) -> Result<PathElement, String> {
    if keys.is_empty() {
        return match item {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".into())
            }
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => {
                Err("associative list without keys has an element that's an explicit null".into())
            }
            v => Ok(PathElement::Value(v.clone())),
        };
    }
    let m = match item {
        Value::Object(m) => m,
        Value::Null => return Err("associative list with keys may not have a null element".into()),
        _ => return Err("associative list with keys may not have non-map elements".into()),
    };
    let mut fields = Vec::with_capacity(keys.len());
    for key in keys {
        match m.get(key) {
            Some(v) => fields.push((key.clone(), v.clone())),
            None => match item_ty.node.property_default(key) {
                Some(d) => fields.push((key.clone(), d)),
                None => {
                    return Err(format!(
                        "associative list with keys has an element that omits key field {key:?} (and doesn't have default value)"
                    ))
                }
            },
        }
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(PathElement::Key(fields))
}

/// The items of an associative list with their path elements, first occurrence of each key
/// only; items whose key cannot be built are skipped.
fn index_items<'v>(
    list: &'v [Value],
    keys: &[String],
    item_ty: &Ty<'_>,
) -> Vec<(PathElement, &'v Value)> {
    let mut out: Vec<(PathElement, &Value)> = Vec::with_capacity(list.len());
    let mut seen = BTreeSet::new();
    for item in list {
        if let Ok(pe) = item_path_element(item, keys, item_ty) {
            if seen.insert(pe.clone()) {
                out.push((pe, item));
            }
        }
    }
    out
}

fn is_empty_container(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(m)) => m.is_empty(),
        _ => false,
    }
}

/// Checks an applied configuration as upstream's typed conversion does: list items must carry
/// their keys (or have defaults) and keys must be unique.
fn validate(v: &Value, ty: &Ty<'_>, path: &mut Path, errors: &mut Vec<String>) {
    match (ty.shape(v), v) {
        (Shape::AssociativeList(keys), Value::Array(items)) => {
            let item_ty = ty.item();
            let mut seen = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                match item_path_element(item, &keys, &item_ty) {
                    Ok(pe) => {
                        if !seen.insert(pe.clone()) {
                            errors.push(format!(
                                "{}: duplicate entries for key {pe}",
                                path_to_string(path)
                            ));
                        }
                        path.push(pe);
                        validate(item, &item_ty, path, errors);
                        path.pop();
                    }
                    Err(e) => errors.push(format!("{}: element {i}: {e}", path_to_string(path))),
                }
            }
        }
        (Shape::Map, Value::Object(m)) => {
            for (k, child) in m {
                path.push(PathElement::Field(k.clone()));
                validate(child, &ty.child(k), path, errors);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Upstream's `ToFieldSet`: every leaf, every associative-list item, every map entry that is
/// not a declared field, and every null or empty-map field.
fn to_field_set(v: &Value, ty: &Ty<'_>, path: &mut Path, set: &mut FieldSet) {
    match (ty.shape(v), v) {
        (Shape::AssociativeList(keys), Value::Array(items)) => {
            let item_ty = ty.item();
            for item in items {
                let Ok(pe) = item_path_element(item, &keys, &item_ty) else {
                    continue;
                };
                path.push(pe);
                to_field_set(item, &item_ty, path, set);
                set.insert(path);
                path.pop();
            }
        }
        (Shape::Map, Value::Object(m)) => {
            for (k, child) in m {
                path.push(PathElement::Field(k.clone()));
                to_field_set(child, &ty.child(k), path, set);
                let empty_map = matches!(child, Value::Object(cm) if cm.is_empty());
                if child.is_null() || empty_map || !ty.node.has_property(k) {
                    set.insert(path);
                }
                path.pop();
            }
        }
        (Shape::AssociativeList(_), _) | (Shape::Map, _) => {}
        _ => set.insert(path),
    }
}

/// Upstream's `Merge` with the keep-RHS rule: maps merge, associative lists merge by key
/// (ordered as upstream's list merge orders them), everything else is taken from `rhs`.
fn merge_values(lhs: Option<&Value>, rhs: Option<&Value>, ty: &Ty<'_>) -> Option<Value> {
    let (l, r) = match (lhs, rhs) {
        (None, None) => return None,
        (Some(l), None) => return Some(l.clone()),
        (None, Some(r)) => return Some(r.clone()),
        (Some(l), Some(r)) => (l, r),
    };
    let shape = ty.shape(if r.is_null() { l } else { r });
    let leaf = is_empty_container(Some(l)) && is_empty_container(Some(r));
    match shape {
        Shape::Map if !leaf => {
            let (Some(lm), Some(rm)) = (as_map_or_empty(l), as_map_or_empty(r)) else {
                return Some(r.clone());
            };
            let mut out = Map::new();
            for (k, lv) in lm {
                if let Some(v) = merge_values(Some(lv), rm.get(k), &ty.child(k)) {
                    out.insert(k.clone(), v);
                }
            }
            for (k, rv) in rm {
                if !lm.contains_key(k) {
                    if let Some(v) = merge_values(None, Some(rv), &ty.child(k)) {
                        out.insert(k.clone(), v);
                    }
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Shape::AssociativeList(keys) if !leaf => {
            let (Some(la), Some(ra)) = (as_list_or_empty(l), as_list_or_empty(r)) else {
                return Some(r.clone());
            };
            let item_ty = ty.item();
            let out = merge_lists(la, ra, &keys, &item_ty);
            (!out.is_empty()).then_some(Value::Array(out))
        }
        _ => Some(r.clone()),
    }
}

fn as_map_or_empty(v: &Value) -> Option<&Map<String, Value>> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match v {
        Value::Object(m) => Some(m),
        Value::Null => Some(EMPTY.get_or_init(Map::new)),
        _ => None,
    }
}

fn as_list_or_empty(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Array(a) => Some(a),
        Value::Null => Some(&[]),
        _ => None,
    }
}

/// Merges two associative lists: shared items follow the right-hand order, items only on the
/// left keep their place among them, new items come where the right-hand side has them.
fn merge_lists(lhs: &[Value], rhs: &[Value], keys: &[String], item_ty: &Ty<'_>) -> Vec<Value> {
    let l = index_items(lhs, keys, item_ty);
    let r = index_items(rhs, keys, item_ty);
    let find =
        |items: &[(PathElement, &Value)], pe: &PathElement| items.iter().position(|(p, _)| p == pe);
    let mut shared: std::collections::VecDeque<&PathElement> = r
        .iter()
        .map(|(pe, _)| pe)
        .filter(|pe| find(&l, pe).is_some())
        .collect();
    let mut next_shared = shared.pop_front();
    let mut merged_rhs: BTreeSet<PathElement> = BTreeSet::new();
    let mut out = Vec::with_capacity(l.len().max(r.len()));
    let (mut li, mut ri) = (0, 0);
    while li < l.len() || ri < r.len() {
        if li < l.len() && ri < r.len() {
            let pe = &l[li].0;
            if *pe == r[ri].0 {
                merged_rhs.insert(pe.clone());
                out.extend(merge_values(Some(l[li].1), Some(r[ri].1), item_ty));
                li += 1;
                ri += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if find(&r, pe).is_some() && next_shared.is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < l.len() {
            let pe = &l[li].0;
            if find(&r, pe).is_none() {
                out.extend(merge_values(Some(l[li].1), None, item_ty));
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
                continue;
            }
        }
        if ri < r.len() {
            let pe = &r[ri].0;
            merged_rhs.insert(pe.clone());
            let left = find(&l, pe).map(|i| l[i].1);
            out.extend(merge_values(left, Some(r[ri].1), item_ty));
            ri += 1;
            if next_shared.is_some_and(|n| n == pe) {
                next_shared = shared.pop_front();
            }
        }
    }
    out
}

/// The difference between two objects, as upstream's `Compare` reports it.
#[derive(Debug, Clone, Default)]
struct Comparison {
    added: FieldSet,
    modified: FieldSet,
    removed: FieldSet,
}

impl Comparison {
    fn is_same(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }

    fn exclude(mut self, ignored: Option<&FieldSet>) -> Self {
        if let Some(ignored) = ignored.filter(|s| !s.is_empty()) {
            self.added = self.added.recursive_difference(ignored);
            self.modified = self.modified.recursive_difference(ignored);
            self.removed = self.removed.recursive_difference(ignored);
        }
        self
    }
}

fn compare(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    ty: &Ty<'_>,
    path: &mut Path,
    record_self: bool,
    out: &mut Comparison,
) {
    let (l, r) = (lhs, rhs);
    let Some(sample) = r.filter(|v| !v.is_null()).or(l) else {
        return;
    };
    let shape = ty.shape(sample);
    let leaf = is_empty_container(l) && is_empty_container(r);
    let kinds_differ = matches!((l, r), (Some(a), Some(b)) if !a.is_null() && !b.is_null()
        && std::mem::discriminant(a) != std::mem::discriminant(b));
    let descended = match shape {
        Shape::Map if !leaf && !kinds_differ => {
            let lm = l.and_then(as_map_or_empty);
            let rm = r.and_then(as_map_or_empty);
            let mut keys: Vec<&String> = lm.map(|m| m.keys().collect()).unwrap_or_default();
            if let Some(rm) = rm {
                keys.extend(
                    rm.keys()
                        .filter(|k| lm.is_none_or(|lm| !lm.contains_key(*k))),
                );
            }
            for k in keys {
                let child = ty.child(k);
                let record = !ty.is_struct_field(k);
                path.push(PathElement::Field(k.clone()));
                compare(
                    lm.and_then(|m| m.get(k)),
                    rm.and_then(|m| m.get(k)),
                    &child,
                    path,
                    record,
                    out,
                );
                path.pop();
            }
            true
        }
        Shape::AssociativeList(keys) if !leaf && !kinds_differ => {
            let item_ty = ty.item();
            let li = index_items(l.and_then(as_list_or_empty).unwrap_or(&[]), &keys, &item_ty);
            let ri = index_items(r.and_then(as_list_or_empty).unwrap_or(&[]), &keys, &item_ty);
            for (pe, lv) in &li {
                let rv = ri.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
                path.push(pe.clone());
                compare(Some(lv), rv, &item_ty, path, true, out);
                path.pop();
            }
            for (pe, rv) in &ri {
                if li.iter().all(|(p, _)| p != pe) {
                    path.push(pe.clone());
                    compare(None, Some(rv), &item_ty, path, true, out);
                    path.pop();
                }
            }
            true
        }
        _ => {
            match (l, r) {
                (None, Some(_)) => out.added.insert(path),
                (Some(_), None) => out.removed.insert(path),
                (Some(a), Some(b)) if !crate::strategic_merge::values_equal(a, b) => {
                    out.modified.insert(path)
                }
                _ => {}
            }
            false
        }
    };
    // Upstream's post-item hook: a map or list node that appears or disappears is itself a change.
    if descended && record_self {
        if l.is_none() {
            out.added.insert(path);
        } else if r.is_none() {
            out.removed.insert(path);
        }
    }
}

fn compare_objects(lhs: &Value, rhs: &Value, ty: &Ty<'_>) -> Comparison {
    let mut out = Comparison::default();
    compare(Some(lhs), Some(rhs), ty, &mut Vec::new(), true, &mut out);
    out
}

/// Upstream's `RemoveItems`: drops every map entry and list item whose path is in `to_remove`;
/// containers left empty become null.
fn remove_items(v: &Value, to_remove: &FieldSet, ty: &Ty<'_>) -> Value {
    match (ty.shape(v), v) {
        (Shape::AssociativeList(keys), Value::Array(items)) => {
            if items.is_empty() {
                return Value::Null;
            }
            let item_ty = ty.item();
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Ok(pe) = item_path_element(item, &keys, &item_ty) else {
                    out.push(item.clone());
                    continue;
                };
                if to_remove.members.contains(&pe) {
                    continue;
                }
                match to_remove.with_prefix_ref(&pe) {
                    Some(subset) => out.push(remove_items(item, subset, &item_ty)),
                    None => out.push(item.clone()),
                }
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Array(out)
            }
        }
        (Shape::Map, Value::Object(m)) => {
            if m.is_empty() {
                return Value::Null;
            }
            let mut out = Map::new();
            for (k, child) in m {
                let pe = PathElement::Field(k.clone());
                if to_remove.members.contains(&pe) {
                    continue;
                }
                let value = match to_remove.with_prefix_ref(&pe) {
                    Some(subset) => remove_items(child, subset, &ty.child(k)),
                    None => child.clone(),
                };
                out.insert(k.clone(), value);
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Object(out)
            }
        }
        (Shape::AtomicList, Value::Array(_)) | (Shape::AtomicMap, Value::Object(_)) => Value::Null,
        _ => v.clone(),
    }
}

fn field_set_of(v: &Value, ty: &Ty<'_>) -> FieldSet {
    let mut set = FieldSet::new();
    to_field_set(v, ty, &mut Vec::new(), &mut set);
    set
}

/// Drops null-valued map entries everywhere (typed objects have no nulls).
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.iter_mut().for_each(|(_, v)| strip_nulls(v));
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Managers
// ---------------------------------------------------------------------------------------------

/// One manager's fields while computing.
#[derive(Debug, Clone)]
struct VersionedSet {
    set: FieldSet,
    api_version: String,
    applied: bool,
    time: Option<String>,
    manager: String,
    subresource: Option<String>,
}

/// The identity upstream gives a manager: its entry without fields, time and, for appliers,
/// API version, as JSON.
fn manager_identifier(
    manager: &str,
    operation: &str,
    api_version: &str,
    subresource: Option<&str>,
) -> String {
    let entry = ManagedFieldsEntry {
        manager: manager.to_string(),
        operation: operation.to_string(),
        api_version: if operation == OPERATION_APPLY {
            String::new()
        } else {
            api_version.to_string()
        },
        subresource: subresource.map(str::to_string),
        ..ManagedFieldsEntry::default()
    };
    serde_json::to_string(&entry).unwrap_or_default()
}

/// How a conflict names a manager: `"name"`, `"name" with subresource "status"`, and for
/// updaters ` using apps/v1`.
fn print_manager(identifier: &str) -> String {
    let Ok(entry) = serde_json::from_str::<ManagedFieldsEntry>(identifier) else {
        return format!("{identifier:?}");
    };
    let mut out = format!("{:?}", entry.manager);
    if let Some(sub) = entry.subresource.as_deref().filter(|s| !s.is_empty()) {
        out.push_str(&format!(" with subresource {sub:?}"));
    }
    if entry.operation == OPERATION_UPDATE {
        out.push_str(&format!(" using {}", entry.api_version));
    }
    out
}

type Managers = BTreeMap<String, VersionedSet>;

fn decode_managers(entries: &[ManagedFieldsEntry]) -> Result<Managers, ManagedFieldsError> {
    let mut out = Managers::new();
    for (i, e) in entries.iter().enumerate() {
        if e.operation != OPERATION_APPLY && e.operation != OPERATION_UPDATE {
            return Err(ManagedFieldsError::InvalidManagedFields(
                "operation must be `Apply` or `Update`".into(),
            ));
        }
        if e.api_version.is_empty() {
            return Err(ManagedFieldsError::InvalidManagedFields(
                "apiVersion must not be empty".into(),
            ));
        }
        match e.fields_type.as_deref() {
            Some(FIELDS_V1) => {}
            None | Some("") => {
                return Err(ManagedFieldsError::InvalidManagedFields(format!(
                    "missing fieldsType in managed fields entry {i}"
                )))
            }
            Some(other) => {
                return Err(ManagedFieldsError::InvalidManagedFields(format!(
                    "invalid fieldsType {other:?} in managed fields entry {i}"
                )))
            }
        }
        let id = manager_identifier(
            &e.manager,
            &e.operation,
            &e.api_version,
            e.subresource.as_deref(),
        );
        out.insert(
            id,
            VersionedSet {
                set: e.field_set()?,
                api_version: e.api_version.clone(),
                applied: e.operation == OPERATION_APPLY,
                time: e.time.clone(),
                manager: e.manager.clone(),
                subresource: e.subresource.clone(),
            },
        );
    }
    Ok(out)
}

fn encode_managers(managers: &Managers) -> Vec<ManagedFieldsEntry> {
    let mut out: Vec<ManagedFieldsEntry> = managers
        .values()
        .filter(|vs| !vs.set.is_empty())
        .map(|vs| ManagedFieldsEntry {
            manager: vs.manager.clone(),
            operation: if vs.applied {
                OPERATION_APPLY
            } else {
                OPERATION_UPDATE
            }
            .to_string(),
            api_version: vs.api_version.clone(),
            time: vs.time.clone(),
            fields_type: Some(FIELDS_V1.to_string()),
            fields_v1: Some(vs.set.to_fields_v1()),
            subresource: vs.subresource.clone(),
        })
        .collect();
    out.sort_by(|p, q| {
        p.operation
            .cmp(&q.operation)
            .then_with(|| p.time.cmp(&q.time))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
    out
}

/// The fields no manager ever owns: type and identity metadata.
fn strip_set() -> FieldSet {
    let mut s = FieldSet::new();
    let f = |n: &str| PathElement::Field(n.to_string());
    s.insert(&[f("apiVersion")]);
    s.insert(&[f("kind")]);
    s.insert(&[f("metadata")]);
    for name in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        s.insert(&[f("metadata"), f(name)]);
    }
    s
}

fn strip_meta(managers: &mut Managers, id: &str) {
    if let Some(vs) = managers.get_mut(id) {
        vs.set = vs.set.difference(&strip_set());
        if vs.set.is_empty() {
            managers.remove(id);
        }
    }
}

/// Builds the conflict error for `(manager identifier, conflicting set)` pairs.
fn conflict_error(conflicts: &[(String, FieldSet)]) -> ManagedFieldsError {
    let mut list: Vec<(String, Path)> = Vec::new();
    for (id, set) in conflicts {
        for p in set.paths() {
            list.push((id.clone(), p));
        }
    }
    let causes: Vec<FieldConflict> = list
        .iter()
        .map(|(id, p)| FieldConflict {
            message: format!("conflict with {}", print_manager(id)),
            field: path_to_string(p),
        })
        .collect();
    let message = if list.len() == 1 {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            print_manager(&list[0].0),
            path_to_string(&list[0].1)
        )
    } else {
        let mut lines = Vec::new();
        let mut current: Option<&str> = None;
        for (id, p) in &list {
            if current != Some(id.as_str()) {
                lines.push(format!("conflicts with {}:", print_manager(id)));
                current = Some(id.as_str());
            }
            lines.push(format!("- {}", path_to_string(p)));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            list.len(),
            lines.join("\n")
        )
    };
    ManagedFieldsError::Conflict {
        message,
        conflicts: causes,
    }
}

/// Conflicting fields, per manager identifier.
type ConflictSets = Vec<(String, FieldSet)>;

/// Upstream's `Updater.update`: every other manager loses the fields the change removed and,
/// when forced, the fields it changed; without force those are conflicts.
fn update_others(
    old: &Value,
    new: &Value,
    ty: &Ty<'_>,
    managers: &mut Managers,
    workflow: &str,
    force: bool,
    ignored: Option<&FieldSet>,
) -> Result<Comparison, ConflictSets> {
    let cmp = compare_objects(old, new, ty).exclude(ignored);
    let changed = cmp.modified.union(&cmp.added);
    let mut conflicts: ConflictSets = Vec::new();
    for (id, vs) in managers.iter() {
        if id == workflow {
            continue;
        }
        let c = vs.set.intersection(&changed);
        if !c.is_empty() {
            conflicts.push((id.clone(), c));
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(conflicts);
    }
    for (id, c) in &conflicts {
        if let Some(vs) = managers.get_mut(id) {
            vs.set = vs.set.difference(c);
        }
    }
    if !cmp.removed.is_empty() {
        for (id, vs) in managers.iter_mut() {
            if id != workflow {
                vs.set = vs.set.difference(&cmp.removed);
            }
        }
    }
    managers.retain(|_, vs| !vs.set.is_empty());
    Ok(cmp)
}

/// Records an update by `manager` from `old` to `new` (upstream's `Updater.Update` inside the
/// managed-fields updater): others lose what changed, the manager gains it.
fn record_update(
    managers: &mut Managers,
    old: &Value,
    new: &Value,
    ty: &Ty<'_>,
    manager: &str,
    request: &FieldManagerRequest<'_>,
) {
    const SELF: &str = "current-operation";
    let Ok(cmp) = update_others(old, new, ty, managers, SELF, true, request.ignored_fields) else {
        return;
    };
    let mut set = cmp.modified.union(&cmp.added).difference(&cmp.removed);
    if let Some(ignored) = request.ignored_fields {
        set = set.recursive_difference(ignored);
    }
    set = set.difference(&strip_set());
    if set.is_empty() {
        return;
    }
    let id = manager_identifier(
        manager,
        OPERATION_UPDATE,
        request.api_version,
        request.subresource,
    );
    let merged = match managers.get(&id) {
        Some(previous) => set.union(&previous.set),
        None => set,
    };
    managers.insert(
        id,
        VersionedSet {
            set: merged,
            api_version: request.api_version.to_string(),
            applied: false,
            time: Some(request.time.to_string()),
            manager: manager.to_string(),
            subresource: request.subresource.map(str::to_string),
        },
    );
}

/// Upstream's `prune`: removes what the applier applied last time and no longer applies,
/// unless a manager still owns it.
fn prune(merged: Value, managers: &Managers, last: Option<&FieldSet>, ty: &Ty<'_>) -> Value {
    let Some(last) = last.filter(|s| !s.is_empty()) else {
        return merged;
    };
    let pruned = remove_items(&merged, last, ty);
    // Add back what any manager (the applier's new configuration included) owns.
    let managed = managers
        .values()
        .fold(FieldSet::new(), |acc, vs| acc.union(&vs.set));
    let merged_set = field_set_of(&merged, ty);
    let pruned_set = field_set_of(&pruned, ty);
    let pruned = remove_items(
        &merged,
        &merged_set.difference(&pruned_set.union(&managed)),
        ty,
    );
    // Only remove what the applier owned last time.
    let pruned_set = field_set_of(&pruned, ty);
    remove_items(
        &merged,
        &merged_set.difference(&pruned_set).intersection(last),
        ty,
    )
}

/// Folds the oldest `Update` entries into `ancient-changes` once there are more than
/// [`MAX_UPDATE_MANAGERS`].
fn cap_update_managers(managers: &mut Managers) {
    loop {
        let updaters: Vec<&String> = managers
            .iter()
            .filter(|(_, vs)| !vs.applied)
            .map(|(id, _)| id)
            .collect();
        if updaters.len() <= MAX_UPDATE_MANAGERS {
            return;
        }
        let oldest = managers
            .iter()
            .filter(|(_, vs)| !vs.applied && vs.manager != ANCIENT_CHANGES_MANAGER)
            .min_by(|(a_id, a), (b_id, b)| a.time.cmp(&b.time).then_with(|| a_id.cmp(b_id)))
            .map(|(id, _)| id.clone());
        let Some(oldest) = oldest else {
            return;
        };
        let Some(vs) = managers.remove(&oldest) else {
            return;
        };
        let bucket = manager_identifier(
            ANCIENT_CHANGES_MANAGER,
            OPERATION_UPDATE,
            &vs.api_version,
            None,
        );
        match managers.get_mut(&bucket) {
            Some(b) => {
                b.set = b.set.union(&vs.set);
                b.time = b.time.clone().max(vs.time.clone());
            }
            None => {
                managers.insert(
                    bucket,
                    VersionedSet {
                        manager: ANCIENT_CHANGES_MANAGER.to_string(),
                        subresource: None,
                        ..vs
                    },
                );
            }
        }
    }
}

fn without_managed_fields(object: &Value) -> Value {
    let mut out = match object {
        Value::Null => Value::Object(Map::new()),
        v => v.clone(),
    };
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.shift_remove("managedFields");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// Who writes, and how: the context of an apply or update.
#[derive(Debug, Clone)]
pub struct FieldManagerRequest<'a> {
    /// The schemas.
    pub schema: &'a PatchSchema,
    /// The object's definition name, e.g. `io.k8s.api.apps.v1.Deployment`.
    pub root: &'a str,
    /// The request's API version, e.g. `apps/v1`.
    pub api_version: &'a str,
    /// The field manager.
    pub manager: &'a str,
    /// The subresource written through (`status`), if any.
    pub subresource: Option<&'a str>,
    /// The time to record (RFC 3339, e.g. `2024-01-02T03:04:05Z`).
    pub time: &'a str,
    /// Fields this endpoint does not manage (upstream's reset fields, e.g. `status` for the
    /// main resource): never owned here, never a conflict.
    pub ignored_fields: Option<&'a FieldSet>,
}

/// The result of an apply.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyOutcome {
    /// The object to persist, with its new `metadata.managedFields`.
    pub object: Value,
    /// The new managed fields (also in `object`).
    pub managed_fields: Vec<ManagedFieldsEntry>,
    /// Whether anything besides the managed fields changed.
    pub changed: bool,
}

/// Server-side apply: merges `config` (the applied configuration) into `live` (the stored
/// object with its `metadata.managedFields`; `null` when creating), records the applier's
/// ownership, removes fields it no longer applies, and fails with
/// [`ManagedFieldsError::Conflict`] when it would change fields others own, unless `force`.
///
/// As upstream: the fields of an existing object without managed fields are first attributed
/// to [`BEFORE_FIRST_APPLY_MANAGER`]; and for the `kubectl` manager, conflicts on fields that
/// the object's [`LAST_APPLIED_ANNOTATION`] holds unchanged are forgiven (client-side to
/// server-side apply migration), and that annotation, when present, is kept in sync with the
/// applied configuration.
pub fn apply(
    live: &Value,
    config: &Value,
    request: &FieldManagerRequest<'_>,
    force: bool,
) -> Result<ApplyOutcome, ManagedFieldsError> {
    if request.manager.is_empty() {
        return Err(ManagedFieldsError::MissingManager);
    }
    if !config.is_object() {
        return Err(ManagedFieldsError::InvalidConfiguration(
            "expected an object".into(),
        ));
    }
    if config
        .pointer("/metadata/managedFields")
        .is_some_and(|v| !v.is_null())
    {
        return Err(ManagedFieldsError::ManagedFieldsInConfiguration);
    }
    if let Some(v) = config.get("apiVersion").and_then(Value::as_str) {
        if v != request.api_version {
            return Err(ManagedFieldsError::VersionMismatch {
                specified: v.to_string(),
                expected: request.api_version.to_string(),
            });
        }
    }
    let ty = Ty::root(request.schema.root(request.root));
    let mut errors = Vec::new();
    validate(config, &ty, &mut Vec::new(), &mut errors);
    if !errors.is_empty() {
        let msg = if errors.len() == 1 {
            errors.remove(0)
        } else {
            format!("errors:\n  {}", errors.join("\n  "))
        };
        return Err(ManagedFieldsError::InvalidConfiguration(msg));
    }

    let mut managers = decode_managers(&managed_fields_of(live)?)?;
    let live_obj = without_managed_fields(live);
    if managers.is_empty() && live_obj.as_object().is_some_and(|m| !m.is_empty()) {
        let empty = Value::Object(Map::new());
        record_update(
            &mut managers,
            &empty,
            &live_obj,
            &ty,
            BEFORE_FIRST_APPLY_MANAGER,
            request,
        );
    }

    let attempt = apply_to_managers(managers.clone(), &live_obj, config, request, force, &ty);
    let (mut object, managers, mut changed) = match attempt {
        Ok(done) => done,
        Err(conflicts) if request.manager == KUBECTL_MANAGER => {
            let allowed = allowed_conflicts_from_last_applied(&live_obj, &ty);
            let remaining: ConflictSets = conflicts
                .into_iter()
                .map(|(id, set)| {
                    (
                        id,
                        allowed.as_ref().map_or(set.clone(), |a| set.difference(a)),
                    )
                })
                .filter(|(_, set)| !set.is_empty())
                .collect();
            if !remaining.is_empty() {
                return Err(conflict_error(&remaining));
            }
            apply_to_managers(managers, &live_obj, config, request, true, &ty)
                .map_err(|c| conflict_error(&c))?
        }
        Err(conflicts) => return Err(conflict_error(&conflicts)),
    };
    if request.manager == KUBECTL_MANAGER && last_applied(&object).is_some_and(|a| !a.is_empty()) {
        changed |= set_last_applied(&mut object, config);
    }
    let entries = encode_managers(&managers);
    set_managed_fields(&mut object, &entries);
    Ok(ApplyOutcome {
        object,
        managed_fields: entries,
        changed,
    })
}

/// Upstream's `Updater.Apply` plus the managed-fields bookkeeping: returns the new object
/// (without managed fields), the managers and whether the object changed.
fn apply_to_managers(
    mut managers: Managers,
    live_obj: &Value,
    config: &Value,
    request: &FieldManagerRequest<'_>,
    force: bool,
    ty: &Ty<'_>,
) -> Result<(Value, Managers, bool), ConflictSets> {
    let id = manager_identifier(
        request.manager,
        OPERATION_APPLY,
        request.api_version,
        request.subresource,
    );
    let merged =
        merge_values(Some(live_obj), Some(config), ty).unwrap_or_else(|| Value::Object(Map::new()));
    let previous = managers.get(&id).cloned();
    let mut set = field_set_of(config, ty);
    if let Some(ignored) = request.ignored_fields {
        set = set.recursive_difference(ignored);
    }
    managers.insert(
        id.clone(),
        VersionedSet {
            set,
            api_version: request.api_version.to_string(),
            applied: true,
            time: previous.as_ref().and_then(|p| p.time.clone()),
            manager: request.manager.to_string(),
            subresource: request.subresource.map(str::to_string),
        },
    );
    let mut new_obj = prune(merged, &managers, previous.as_ref().map(|p| &p.set), ty);
    if new_obj.is_null() {
        new_obj = Value::Object(Map::new());
    }
    strip_nulls(&mut new_obj);
    let cmp = update_others(
        live_obj,
        &new_obj,
        ty,
        &mut managers,
        &id,
        force,
        request.ignored_fields,
    )?;
    strip_meta(&mut managers, &id);
    let changed = !cmp.is_same();
    if changed {
        if let Some(vs) = managers.get_mut(&id) {
            vs.time = Some(request.time.to_string());
        }
    }
    cap_update_managers(&mut managers);
    Ok((
        if changed { new_obj } else { live_obj.clone() },
        managers,
        changed,
    ))
}

/// The fields `kubectl` may take over without force: those the last client-side apply set and
/// nobody changed since (upstream's `lastAppliedManager`).
fn allowed_conflicts_from_last_applied(live_obj: &Value, ty: &Ty<'_>) -> Option<FieldSet> {
    let text = last_applied(live_obj).filter(|t| !t.is_empty())?;
    let last: Value = serde_json::from_str(text).ok()?;
    let last_set = field_set_of(&last, ty);
    let cmp = compare_objects(&last, live_obj, ty);
    Some(last_set.difference(&cmp.modified))
}

fn last_applied(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED_ANNOTATION))
        .and_then(Value::as_str)
}

/// Serializes like Go's `json.Encoder`: map keys sorted, compact, a trailing newline.
fn go_json(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k.as_str()])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    format!("{}\n", sorted(v))
}

/// Stores the applied configuration (without the annotation itself) as the
/// last-applied-configuration annotation, dropping it when the annotations would exceed
/// upstream's 256 KiB limit. Returns whether the object changed.
fn set_last_applied(object: &mut Value, config: &Value) -> bool {
    let mut cfg = config.clone();
    if let Some(a) = cfg
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.shift_remove(LAST_APPLIED_ANNOTATION);
    }
    let text = go_json(&cfg);
    let Some(annotations) = object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    else {
        return false;
    };
    let before = annotations.get(LAST_APPLIED_ANNOTATION).cloned();
    annotations.insert(LAST_APPLIED_ANNOTATION.to_string(), Value::String(text));
    let size: usize = annotations
        .iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        annotations.shift_remove(LAST_APPLIED_ANNOTATION);
    }
    annotations.get(LAST_APPLIED_ANNOTATION) != before.as_ref()
}

/// Managed fields after a write that is not an apply (create, update, JSON/merge/strategic
/// patch): the manager takes ownership of every field the write added or changed, from
/// everyone; fields it removed are owned by no one any more.
///
/// The managed fields are taken from `new` when the writer set them there (and not through a
/// subresource), else from `old` (`null` when creating). Returns the new entries; put them into
/// the object with [`set_managed_fields`].
pub fn update_managed_fields(
    old: &Value,
    new: &Value,
    request: &FieldManagerRequest<'_>,
) -> Result<Vec<ManagedFieldsEntry>, ManagedFieldsError> {
    let from_new = if request.subresource.is_none() {
        managed_fields_of(new)
            .ok()
            .and_then(|e| decode_managers(&e).ok())
            .filter(|m| !m.is_empty())
    } else {
        None
    };
    let mut managers = match from_new {
        Some(m) => m,
        None => managed_fields_of(old)
            .ok()
            .and_then(|e| decode_managers(&e).ok())
            .unwrap_or_default(),
    };
    let ty = Ty::root(request.schema.root(request.root));
    let old_obj = without_managed_fields(old);
    let new_obj = without_managed_fields(new);
    record_update(
        &mut managers,
        &old_obj,
        &new_obj,
        &ty,
        request.manager,
        request,
    );
    cap_update_managers(&mut managers);
    Ok(encode_managers(&managers))
}

/// The fields of `object` as server-side apply sees them (upstream's `ToFieldSet`), e.g. to
/// build [`FieldManagerRequest::ignored_fields`] or inspect what a configuration would own.
pub fn field_set(object: &Value, schema: &PatchSchema, root: &str) -> FieldSet {
    field_set_of(object, &Ty::root(schema.root(root)))
}

/// Parses `.spec.replicas`-style paths of plain fields into a [`FieldSet`] (a convenience for
/// [`FieldManagerRequest::ignored_fields`]).
pub fn field_set_from_paths(paths: &[&str]) -> FieldSet {
    let mut set = FieldSet::new();
    for p in paths {
        let path: Path = p
            .split('.')
            .filter(|s| !s.is_empty())
            .map(|s| PathElement::Field(s.to_string()))
            .collect();
        set.insert(&path);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategic_merge::test_schema::k8s_schema;
    use serde_json::json;

    const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";
    const T0: &str = "2024-01-01T00:00:00Z";
    const T1: &str = "2024-01-01T00:01:00Z";

    fn req<'a>(
        schema: &'a PatchSchema,
        manager: &'a str,
        time: &'a str,
    ) -> FieldManagerRequest<'a> {
        FieldManagerRequest {
            schema,
            root: DEPLOYMENT,
            api_version: "apps/v1",
            manager,
            subresource: None,
            time,
            ignored_fields: None,
        }
    }

    fn deployment(replicas: i64, containers: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": containers}}
            }
        })
    }

    fn nginx() -> Value {
        json!([{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}])
    }

    fn entry<'e>(entries: &'e [ManagedFieldsEntry], manager: &str) -> &'e ManagedFieldsEntry {
        entries
            .iter()
            .find(|e| e.manager == manager)
            .unwrap_or_else(|| panic!("no entry for {manager} in {entries:?}"))
    }

    fn owns(entries: &[ManagedFieldsEntry], manager: &str, path: &str) -> bool {
        entries
            .iter()
            .filter(|e| e.manager == manager)
            .flat_map(|e| e.field_set().unwrap().paths())
            .any(|p| path_to_string(&p) == path)
    }

    #[test]
    fn fields_v1_round_trips_in_upstream_order() {
        // Upstream writes "." after the children (YAML output sorts it first).
        let text = r#"{"f:metadata":{"f:annotations":{"f:kubectl.kubernetes.io/last-applied-configuration":{},".":{}},"f:finalizers":{"v:\"a\"":{},"v:\"b\"":{}}},"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{"f:containerPort":{},"f:protocol":{},".":{}},".":{}},".":{}}}}}}}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        let set = FieldSet::from_fields_v1(&v).unwrap();
        assert_eq!(serde_json::to_string(&set.to_fields_v1()).unwrap(), text);
        let paths: Vec<String> = set.paths().iter().map(|p| path_to_string(p)).collect();
        assert!(
            paths.contains(&r#".spec.template.spec.containers[name="nginx"].image"#.to_string()),
            "{paths:?}"
        );
        assert!(paths.contains(&r#".spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"]"#.to_string()));
        assert!(paths.contains(&r#".metadata.finalizers[="a"]"#.to_string()));
        assert!(paths.contains(&".metadata.annotations".to_string()));
        // Unknown element types are dropped, malformed ones are errors.
        assert!(FieldSet::from_fields_v1(&json!({"x:foo": {}, "f:a": {}}))
            .unwrap()
            .has(&[PathElement::Field("a".into())]));
        assert!(FieldSet::from_fields_v1(&json!({"k:notjson": {}})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"f:a": 1})).is_err());
        assert!(FieldSet::from_fields_v1(&json!([])).is_err());
    }

    #[test]
    fn set_operations() {
        let f = |n: &str| PathElement::Field(n.into());
        let mut a = FieldSet::new();
        a.insert(&[f("spec"), f("replicas")]);
        a.insert(&[f("spec"), f("paused")]);
        a.insert(&[f("status")]);
        let mut b = FieldSet::new();
        b.insert(&[f("spec"), f("replicas")]);
        b.insert(&[f("metadata")]);
        assert!(a.union(&b).has(&[f("metadata")]));
        assert_eq!(
            a.intersection(&b),
            b.difference(&field_set_from_paths(&["metadata"]))
        );
        assert!(!a.difference(&b).has(&[f("spec"), f("replicas")]));
        assert!(a.difference(&b).has(&[f("spec"), f("paused")]));
        assert!(
            a.recursive_difference(&field_set_from_paths(&["spec"]))
                .paths()
                .len()
                == 1
        );
        assert!(FieldSet::new().is_empty());
        let mut root = FieldSet::new();
        root.insert(&[]);
        assert!(root.is_empty());
    }

    #[test]
    fn apply_on_create_records_upstream_field_set() {
        let schema = k8s_schema();
        let out = apply(
            &Value::Null,
            &deployment(3, nginx()),
            &req(&schema, "kubectl", T0),
            false,
        )
        .unwrap();
        assert!(out.changed);
        assert_eq!(out.object["spec"]["replicas"], 3);
        assert_eq!(out.managed_fields.len(), 1);
        let e = &out.managed_fields[0];
        assert_eq!(
            (
                e.manager.as_str(),
                e.operation.as_str(),
                e.api_version.as_str()
            ),
            ("kubectl", "Apply", "apps/v1")
        );
        assert_eq!(e.time.as_deref(), Some(T0));
        assert_eq!(e.fields_type.as_deref(), Some("FieldsV1"));
        let expected = r#"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{"f:containerPort":{},".":{}}},".":{}}}}}}}"#;
        assert_eq!(
            serde_json::to_string(e.fields_v1.as_ref().unwrap()).unwrap(),
            expected
        );
        // The object carries its managed fields.
        assert_eq!(managed_fields_of(&out.object).unwrap(), out.managed_fields);
        let rendered = serde_json::to_value(&out.managed_fields[0]).unwrap();
        let keys: Vec<&String> = rendered.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "manager",
                "operation",
                "apiVersion",
                "time",
                "fieldsType",
                "fieldsV1"
            ]
        );
    }

    #[test]
    fn apply_conflicts_with_an_updater_then_force_takes_the_field() {
        let schema = k8s_schema();
        let created = deployment(3, nginx());
        let entries = update_managed_fields(
            &Value::Null,
            &created,
            &req(&schema, "kubectl-client-side-apply", T0),
        )
        .unwrap();
        assert!(owns(
            &entries,
            "kubectl-client-side-apply",
            ".spec.replicas"
        ));
        let mut live = created.clone();
        set_managed_fields(&mut live, &entries);

        let config = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"}, "spec": {"replicas": 5}});
        let err = apply(&live, &config, &req(&schema, "tester", T1), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
        );
        assert_eq!(err.http_status(), 409);
        let ManagedFieldsError::Conflict { conflicts, .. } = &err else {
            panic!()
        };
        assert_eq!(
            conflicts,
            &[FieldConflict {
                message: r#"conflict with "kubectl-client-side-apply" using apps/v1"#.into(),
                field: ".spec.replicas".into()
            }]
        );

        let out = apply(&live, &config, &req(&schema, "tester", T1), true).unwrap();
        assert_eq!(out.object["spec"]["replicas"], 5);
        assert_eq!(
            out.object["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.25"
        );
        assert!(owns(&out.managed_fields, "tester", ".spec.replicas"));
        assert!(!owns(
            &out.managed_fields,
            "kubectl-client-side-apply",
            ".spec.replicas"
        ));
        assert!(owns(
            &out.managed_fields,
            "kubectl-client-side-apply",
            ".spec.selector"
        ));
        // Apply entries sort before update entries.
        assert_eq!(out.managed_fields[0].operation, "Apply");
    }

    #[test]
    fn applying_the_same_value_shares_ownership() {
        let schema = k8s_schema();
        let first = apply(
            &Value::Null,
            &deployment(3, nginx()),
            &req(&schema, "a", T0),
            false,
        )
        .unwrap();
        let second = apply(
            &first.object,
            &deployment(3, nginx()),
            &req(&schema, "b", T1),
            false,
        )
        .unwrap();
        assert!(!second.changed);
        assert!(owns(&second.managed_fields, "a", ".spec.replicas"));
        assert!(owns(&second.managed_fields, "b", ".spec.replicas"));
        // A no-op apply leaves the new applier without a time and the object as it was.
        assert_eq!(entry(&second.managed_fields, "b").time, None);
        assert_eq!(entry(&second.managed_fields, "a").time.as_deref(), Some(T0));
        let mut expected = first.object.clone();
        set_managed_fields(&mut expected, &second.managed_fields);
        assert_eq!(second.object, expected);
        // Changing a shared field conflicts with the other applier, who is named without a version.
        let err = apply(
            &second.object,
            &deployment(4, nginx()),
            &req(&schema, "b", T1),
            false,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Apply failed with 1 conflict: conflict with "a": .spec.replicas"#
        );
    }

    #[test]
    fn fields_no_longer_applied_are_removed_unless_owned_by_others() {
        let schema = k8s_schema();
        let two =
            json!([{"name": "nginx", "image": "nginx:1"}, {"name": "sidecar", "image": "side:1"}]);
        let mut config = deployment(3, two);
        config["metadata"]["labels"]["extra"] = json!("x");
        let first = apply(&Value::Null, &config, &req(&schema, "kubectl", T0), false).unwrap();
        assert_eq!(
            first.object["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            2
        );

        let one = json!([{"name": "nginx", "image": "nginx:1"}]);
        let second = apply(
            &first.object,
            &deployment(3, one.clone()),
            &req(&schema, "kubectl", T1),
            false,
        )
        .unwrap();
        assert_eq!(second.object["spec"]["template"]["spec"]["containers"], one);
        assert_eq!(second.object["metadata"]["labels"], json!({"app": "nginx"}));
        assert!(!owns(
            &second.managed_fields,
            "kubectl",
            r#".spec.template.spec.containers[name="sidecar"]"#
        ));

        // When another applier also applies the sidecar, it stays.
        let other = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"},
            "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "side:1"}]}}}});
        let shared = apply(&first.object, &other, &req(&schema, "mesh", T1), false).unwrap();
        let third = apply(
            &shared.object,
            &deployment(3, one),
            &req(&schema, "kubectl", T1),
            false,
        )
        .unwrap();
        let names: Vec<&str> = third.object["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["nginx", "sidecar"]);
        assert!(owns(
            &third.managed_fields,
            "mesh",
            r#".spec.template.spec.containers[name="sidecar"]"#
        ));
    }

    #[test]
    fn fields_set_by_others_survive_an_apply() {
        let schema = k8s_schema();
        let first = apply(
            &Value::Null,
            &deployment(3, nginx()),
            &req(&schema, "kubectl", T0),
            false,
        )
        .unwrap();
        // A controller sets status and an annotation through updates.
        let mut edited = first.object.clone();
        edited["status"] = json!({"replicas": 3});
        edited["metadata"]["annotations"] = json!({"note": "hi"});
        let entries =
            update_managed_fields(&first.object, &edited, &req(&schema, "controller", T1)).unwrap();
        assert!(owns(&entries, "controller", ".status.replicas"));
        assert!(owns(&entries, "controller", ".metadata.annotations.note"));
        assert!(
            owns(&entries, "controller", ".metadata.annotations"),
            "a new map is owned itself"
        );
        assert!(
            !owns(&entries, "controller", ".status"),
            "a new struct field is not"
        );
        assert!(owns(&entries, "kubectl", ".spec.replicas"));
        set_managed_fields(&mut edited, &entries);
        let out = apply(
            &edited,
            &deployment(3, nginx()),
            &req(&schema, "kubectl", T1),
            false,
        )
        .unwrap();
        assert!(!out.changed);
        assert_eq!(out.object["status"], json!({"replicas": 3}));
        assert_eq!(out.object["metadata"]["annotations"], json!({"note": "hi"}));
        let e = entry(&out.managed_fields, "controller");
        assert_eq!(
            (e.operation.as_str(), e.time.as_deref()),
            ("Update", Some(T1))
        );
    }

    #[test]
    fn an_update_takes_fields_from_an_applier() {
        let schema = k8s_schema();
        let first = apply(
            &Value::Null,
            &deployment(3, nginx()),
            &req(&schema, "kubectl", T0),
            false,
        )
        .unwrap();
        let mut edited = first.object.clone();
        edited["spec"]["replicas"] = json!(7);
        edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        let entries =
            update_managed_fields(&first.object, &edited, &req(&schema, "kubectl-edit", T1))
                .unwrap();
        assert!(owns(&entries, "kubectl-edit", ".spec.replicas"));
        assert!(owns(
            &entries,
            "kubectl-edit",
            r#".spec.template.spec.containers[name="nginx"].image"#
        ));
        assert!(!owns(&entries, "kubectl", ".spec.replicas"));
        assert!(owns(&entries, "kubectl", ".spec.selector"));
        // Re-applying the old value is now a conflict with the editor.
        set_managed_fields(&mut edited, &entries);
        let err = apply(
            &edited,
            &deployment(3, nginx()),
            &req(&schema, "kubectl", T1),
            false,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Apply failed with 2 conflicts: conflicts with \"kubectl-edit\" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name=\"nginx\"].image"
        );
        // A second update by the same manager keeps what it owned.
        let mut again = edited.clone();
        again["spec"]["paused"] = json!(true);
        let entries =
            update_managed_fields(&edited, &again, &req(&schema, "kubectl-edit", T1)).unwrap();
        assert!(owns(&entries, "kubectl-edit", ".spec.replicas"));
        assert!(owns(&entries, "kubectl-edit", ".spec.paused"));
        // Removing a field takes it from its owner.
        let mut removed = again.clone();
        removed["spec"]
            .as_object_mut()
            .unwrap()
            .shift_remove("paused");
        let entries =
            update_managed_fields(&again, &removed, &req(&schema, "someone", T1)).unwrap();
        assert!(!owns(&entries, "kubectl-edit", ".spec.paused"));
        assert!(entries.iter().all(|e| e.manager != "someone"));
    }

    #[test]
    fn update_through_a_subresource_and_managed_fields_from_the_writer() {
        let schema = k8s_schema();
        let created = deployment(3, nginx());
        let mut status = created.clone();
        status["status"] = json!({"replicas": 1});
        let request = FieldManagerRequest {
            subresource: Some("status"),
            ..req(&schema, "kube-controller-manager", T0)
        };
        let entries = update_managed_fields(&created, &status, &request).unwrap();
        let e = entry(&entries, "kube-controller-manager");
        assert_eq!(e.subresource.as_deref(), Some("status"));
        assert_eq!(
            serde_json::to_string(e.fields_v1.as_ref().unwrap()).unwrap(),
            r#"{"f:status":{"f:replicas":{}}}"#
        );
        // Managed fields written by the client are taken as they are.
        let mut mine = created.clone();
        let custom = vec![ManagedFieldsEntry {
            manager: "custom".into(),
            operation: "Update".into(),
            api_version: "apps/v1".into(),
            fields_type: Some("FieldsV1".into()),
            fields_v1: Some(json!({"f:spec": {"f:replicas": {}}})),
            ..ManagedFieldsEntry::default()
        }];
        set_managed_fields(&mut mine, &custom);
        let entries = update_managed_fields(&created, &mine, &req(&schema, "writer", T0)).unwrap();
        assert_eq!(entries, custom);
    }

    #[test]
    fn associative_and_set_lists() {
        let schema = k8s_schema();
        let mut config = deployment(1, json!([{"name": "a", "image": "a"}]));
        config["metadata"]["finalizers"] = json!(["x", "y"]);
        let out = apply(&Value::Null, &config, &req(&schema, "m1", T0), false).unwrap();
        assert!(owns(
            &out.managed_fields,
            "m1",
            r#".metadata.finalizers[="x"]"#
        ));
        // Another manager adds a container and a finalizer; items merge, order follows the applier.
        let mut other = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx", "finalizers": ["z"]},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "c"}, {"name": "a", "image": "a"}]}}}});
        let out2 = apply(&out.object, &other, &req(&schema, "m2", T1), false).unwrap();
        let names: Vec<&str> = out2.object["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["c", "a"]);
        assert_eq!(
            out2.object["metadata"]["finalizers"],
            json!(["x", "y", "z"])
        );
        assert!(owns(
            &out2.managed_fields,
            "m1",
            r#".spec.template.spec.containers[name="a"].image"#
        ));
        assert!(owns(
            &out2.managed_fields,
            "m2",
            r#".spec.template.spec.containers[name="a"].image"#
        ));
        // Changing a shared item's field conflicts with the other owner.
        other["spec"]["template"]["spec"]["containers"][1]["image"] = json!("a2");
        let err = apply(&out2.object, &other, &req(&schema, "m2", T1), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Apply failed with 1 conflict: conflict with "m1": .spec.template.spec.containers[name="a"].image"#
        );
        // Tolerations are atomic: the list is one field.
        let mut tol = deployment(1, json!([{"name": "a", "image": "a"}]));
        tol["spec"]["template"]["spec"]["tolerations"] =
            json!([{"key": "k", "operator": "Exists"}]);
        let out3 = apply(&Value::Null, &tol, &req(&schema, "m1", T0), false).unwrap();
        assert!(owns(
            &out3.managed_fields,
            "m1",
            ".spec.template.spec.tolerations"
        ));
    }

    #[test]
    fn invalid_configurations_are_rejected() {
        let schema = k8s_schema();
        let r = req(&schema, "m", T0);
        let mut with_mf = deployment(1, nginx());
        with_mf["metadata"]["managedFields"] = json!([]);
        assert_eq!(
            apply(&Value::Null, &with_mf, &r, false).unwrap_err(),
            ManagedFieldsError::ManagedFieldsInConfiguration
        );
        let mut wrong_version = deployment(1, nginx());
        wrong_version["apiVersion"] = json!("apps/v1beta1");
        assert_eq!(
            apply(&Value::Null, &wrong_version, &r, false).unwrap_err().to_string(),
            "Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1"
        );
        assert_eq!(
            apply(
                &Value::Null,
                &deployment(1, nginx()),
                &req(&schema, "", T0),
                false
            )
            .unwrap_err(),
            ManagedFieldsError::MissingManager
        );
        let dup = deployment(1, json!([{"name": "a"}, {"name": "a"}]));
        let err = apply(&Value::Null, &dup, &r, false).unwrap_err();
        assert!(
            err.to_string()
                .contains(r#"duplicate entries for key [name="a"]"#),
            "{err}"
        );
        assert_eq!(err.http_status(), 422);
        let keyless = deployment(1, json!([{"image": "a"}]));
        let err = apply(&Value::Null, &keyless, &r, false).unwrap_err();
        assert!(
            err.to_string().contains("omits key field \"name\""),
            "{err}"
        );
        assert!(apply(&Value::Null, &json!([1]), &r, false).is_err());
        let mut bad_live = deployment(1, nginx());
        bad_live["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Bogus", "apiVersion": "v1", "fieldsType": "FieldsV1"}]);
        assert_eq!(
            apply(&bad_live, &deployment(1, nginx()), &r, false)
                .unwrap_err()
                .http_status(),
            500
        );
    }

    #[test]
    fn ignored_fields_are_neither_owned_nor_conflicting() {
        let schema = k8s_schema();
        let ignored = field_set_from_paths(&["status"]);
        let request = FieldManagerRequest {
            ignored_fields: Some(&ignored),
            ..req(&schema, "m", T0)
        };
        let mut config = deployment(1, nginx());
        config["status"] = json!({"replicas": 9});
        let out = apply(&Value::Null, &config, &request, false).unwrap();
        assert!(!owns(&out.managed_fields, "m", ".status.replicas"));
        assert!(owns(&out.managed_fields, "m", ".spec.replicas"));
    }

    #[test]
    fn old_update_entries_are_capped() {
        let schema = k8s_schema();
        let mut obj = deployment(1, nginx());
        let mut entries: Vec<ManagedFieldsEntry> = Vec::new();
        for i in 0..12 {
            let mut next = obj.clone();
            next["metadata"]["labels"][format!("l{i}")] = json!("v");
            set_managed_fields(&mut next, &[]);
            let mut prev = obj.clone();
            set_managed_fields(&mut prev, &entries);
            let time = format!("2024-01-01T00:00:{i:02}Z");
            entries =
                update_managed_fields(&prev, &next, &req(&schema, &format!("m{i:02}"), &time))
                    .unwrap();
            obj = next;
        }
        let updaters: Vec<&str> = entries.iter().map(|e| e.manager.as_str()).collect();
        assert_eq!(updaters.len(), MAX_UPDATE_MANAGERS, "{updaters:?}");
        assert!(updaters.contains(&ANCIENT_CHANGES_MANAGER));
        assert!(
            !updaters.contains(&"m00") && !updaters.contains(&"m01") && !updaters.contains(&"m02")
        );
        assert!(owns(
            &entries,
            ANCIENT_CHANGES_MANAGER,
            ".metadata.labels.l0"
        ));
        assert!(owns(
            &entries,
            ANCIENT_CHANGES_MANAGER,
            ".metadata.labels.l2"
        ));
    }

    #[test]
    fn fields_of_objects_without_managed_fields_belong_to_before_first_apply() {
        let schema = k8s_schema();
        let legacy = deployment(3, nginx());
        let err = apply(
            &legacy,
            &deployment(5, nginx()),
            &req(&schema, "helm", T1),
            false,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas"#
        );
        let out = apply(
            &legacy,
            &deployment(3, nginx()),
            &req(&schema, "helm", T1),
            false,
        )
        .unwrap();
        assert!(owns(
            &out.managed_fields,
            BEFORE_FIRST_APPLY_MANAGER,
            ".spec.replicas"
        ));
        assert!(owns(&out.managed_fields, "helm", ".spec.replicas"));
    }

    #[test]
    fn kubectl_server_side_apply_upgrades_client_side_apply() {
        let schema = k8s_schema();
        // `kubectl apply` (client side) created the object: an update plus the annotation.
        let config = deployment(3, nginx());
        let mut created = config.clone();
        created["metadata"]["annotations"] = json!({LAST_APPLIED_ANNOTATION: go_json(&config)});
        let entries = update_managed_fields(
            &Value::Null,
            &created,
            &req(&schema, "kubectl-client-side-apply", T0),
        )
        .unwrap();
        let mut live = created.clone();
        set_managed_fields(&mut live, &entries);

        // Another manager would conflict...
        let new_config = deployment(5, nginx());
        let err = apply(&live, &new_config, &req(&schema, "someone", T1), false).unwrap_err();
        assert!(err.to_string().contains(
            r#"conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
        ));
        // ...but `kubectl apply --server-side` takes over what the last client-side apply set.
        let out = apply(
            &live,
            &new_config,
            &req(&schema, KUBECTL_MANAGER, T1),
            false,
        )
        .unwrap();
        assert_eq!(out.object["spec"]["replicas"], 5);
        assert!(owns(&out.managed_fields, KUBECTL_MANAGER, ".spec.replicas"));
        assert!(!owns(
            &out.managed_fields,
            "kubectl-client-side-apply",
            ".spec.replicas"
        ));
        let annotation = last_applied(&out.object).unwrap();
        assert_eq!(annotation, go_json(&new_config));
        assert!(annotation
            .starts_with(r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels""#));

        // A field someone changed since the last client-side apply still conflicts.
        let mut edited = live.clone();
        set_managed_fields(&mut edited, &[]);
        edited["spec"]["replicas"] = json!(4);
        let entries =
            update_managed_fields(&live, &edited, &req(&schema, "kubectl-edit", T1)).unwrap();
        set_managed_fields(&mut edited, &entries);
        let err = apply(
            &edited,
            &new_config,
            &req(&schema, KUBECTL_MANAGER, T1),
            false,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas"#
        );
    }

    #[test]
    fn conflict_messages_for_several_managers() {
        let err = conflict_error(&[
            (
                manager_identifier("b", OPERATION_UPDATE, "v1", Some("status")),
                field_set_from_paths(&["status.x"]),
            ),
            (
                manager_identifier("a", OPERATION_APPLY, "v1", None),
                field_set_from_paths(&["spec.y", "spec.z"]),
            ),
        ]);
        assert_eq!(
            err.to_string(),
            "Apply failed with 3 conflicts: conflicts with \"b\" with subresource \"status\" using v1:\n- .status.x\nconflicts with \"a\":\n- .spec.y\n- .spec.z"
        );
    }
}
