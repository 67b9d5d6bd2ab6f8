//! The per-resource strategy: the small piece of behaviour a resource adds to the generic
//! registry (defaulting, validation, field selectors, table columns), as upstream's
//! `rest.RESTCreateStrategy`/`RESTUpdateStrategy`/`TableConvertor`.

use std::borrow::Cow;

use rkube_apimachinery::validation::FieldError;
use serde_json::Value;

/// One column of a server-side Table (meta.k8s.io/v1 TableColumnDefinition).
#[derive(Clone, Debug)]
pub struct Column {
    /// Header, e.g. "Name".
    pub name: Cow<'static, str>,
    /// OpenAPI type: "string", "integer", "number", "boolean", "date".
    pub type_: Cow<'static, str>,
    /// OpenAPI format: "name" for the name column, else "".
    pub format: Cow<'static, str>,
    /// Human description.
    pub description: Cow<'static, str>,
    /// 0 is shown by default; 1 only with `-o wide`.
    pub priority: i32,
}

impl Column {
    /// A default-priority column.
    pub const fn new(name: &'static str, type_: &'static str, description: &'static str) -> Self {
        Column {
            name: Cow::Borrowed(name),
            type_: Cow::Borrowed(type_),
            format: Cow::Borrowed(""),
            description: Cow::Borrowed(description),
            priority: 0,
        }
    }
    /// A wide-only column.
    pub const fn wide(name: &'static str, type_: &'static str, description: &'static str) -> Self {
        Column {
            name: Cow::Borrowed(name),
            type_: Cow::Borrowed(type_),
            format: Cow::Borrowed(""),
            description: Cow::Borrowed(description),
            priority: 1,
        }
    }
    /// The Name column every table starts with.
    pub const fn name_col() -> Self {
        Column {
            name: Cow::Borrowed("Name"),
            type_: Cow::Borrowed("string"),
            format: Cow::Borrowed("name"),
            description: Cow::Borrowed("Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"),
            priority: 0,
        }
    }
    /// The Age column (a date cell, rendered by the client).
    pub const fn age() -> Self {
        Column::new("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")
    }
}

/// Behaviour a resource adds to the generic registry. Every method has a neutral default,
/// so a resource with no special needs uses [`GenericStrategy`].
pub trait Strategy: Send + Sync {
    /// Fills defaults (as upstream's SetDefaults_*); runs on every create and update body.
    fn default(&self, _obj: &mut Value) {}

    /// Whether a create drops the status the client sent (most resources; a Node keeps the
    /// status its kubelet registers with).
    fn reset_status_on_create(&self) -> bool {
        true
    }

    /// Whether tables start with the Name column (Events print it last, in wide output).
    fn name_column_first(&self) -> bool {
        true
    }

    /// Adjusts a new object before validation (e.g. initial status).
    fn prepare_for_create(&self, _obj: &mut Value) {}

    /// Adjusts an updated object before validation, knowing the stored one.
    fn prepare_for_update(&self, _obj: &mut Value, _old: &Value) {}

    /// Adjusts an object written through the status subresource (the stored spec is
    /// already kept), knowing the stored one.
    fn prepare_for_status_update(&self, _obj: &mut Value, _old: &Value) {}

    /// Checks an object name (or a generateName prefix): upstream's per-resource rule,
    /// a DNS-1123 subdomain unless overridden.
    fn validate_name(&self, name: &str, prefix: bool) -> Vec<String> {
        rkube_apimachinery::validation::name_is_dns_subdomain(name, prefix)
    }

    /// Validates a new object.
    fn validate(&self, _obj: &Value) -> Vec<FieldError> {
        vec![]
    }

    /// Checks only a create makes (beyond [`Strategy::validate`]).
    fn validate_create(&self, _obj: &Value) -> Vec<FieldError> {
        vec![]
    }

    /// Validates an update (immutable fields etc.).
    fn validate_update(&self, _obj: &Value, _old: &Value) -> Vec<FieldError> {
        vec![]
    }

    /// Field selector labels this resource supports beyond metadata.name/namespace.
    fn field_labels(&self) -> &'static [&'static str] {
        &[]
    }

    /// The value of a supported field label for one object.
    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        generic_field_value(obj, field)
    }

    /// Table columns (after Name, which is implied first).
    fn columns(&self) -> Vec<Column> {
        vec![Column::age()]
    }

    /// The cells of one row, matching [`Strategy::columns`] (Name excluded).
    fn cells(&self, obj: &Value) -> Vec<Value> {
        vec![age_cell(obj)]
    }
}

/// The strategy of resources with no special behaviour.
pub struct GenericStrategy;

impl Strategy for GenericStrategy {}

/// Reads a dotted field path (e.g. "spec.nodeName") as a string for field selectors.
pub fn generic_field_value(obj: &Value, field: &str) -> Option<String> {
    let mut cur = obj;
    for part in field.split('.') {
        cur = cur.get(part)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Null => Some(String::new()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The Age cell: time since creation, as upstream's tables print it ("5m12s").
pub fn age_cell(obj: &Value) -> Value {
    Value::String(age_since(obj.pointer("/metadata/creationTimestamp")))
}

/// Human duration since an RFC 3339 timestamp; "<unknown>" when absent, as upstream.
pub fn age_since(timestamp: Option<&Value>) -> String {
    let parsed = timestamp
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    match parsed {
        Some(t) => {
            let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds();
            rkube_apimachinery::duration::human_duration(secs)
        }
        None => "<unknown>".to_string(),
    }
}
