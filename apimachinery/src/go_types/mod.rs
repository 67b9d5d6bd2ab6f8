//! The shapes of upstream's Go API types: for every built-in message, its fields in Go
//! declaration order with protobuf tags, JSON names, value types, cardinality, and the
//! pointer/`omitempty`/inline flags of the Go struct. The apiserver's protobuf codec and
//! kubectl's Go-style JSON printer both read this one generated table (`schema.rs`, made by
//! `apiserver/tools/protobuf-schema/gen.py`).

#[rustfmt::skip]
pub mod schema;

/// Go field is a pointer: emitted whenever present on the wire.
pub const PTR: u8 = 1;
/// JSON tag has `omitempty`.
pub const OMITEMPTY: u8 = 2;
/// Embedded struct whose JSON fields are inlined into the parent.
pub const INLINE: u8 = 4;

/// Value type of a field (of each element for lists, of each value for maps).
#[derive(Clone, Copy, Debug)]
pub enum Ty {
    /// `string`.
    Str,
    /// `[]byte` (base64 in JSON).
    Bytes,
    /// `bool`.
    Bool,
    /// `int32`.
    I32,
    /// `int64`.
    I64,
    /// `float64`.
    F64,
    /// A message: index into [`schema::MESSAGES`].
    Msg(u16),
}

/// Cardinality of a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Card {
    /// A single value.
    One,
    /// A slice.
    List,
    /// `map<string, Ty>`, encoded in protobuf as repeated entries {key = 1, value = 2}.
    Map,
}

/// Messages whose JSON form differs from their fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// An ordinary struct.
    None,
    /// `metav1.Time` (RFC 3339 seconds).
    Time,
    /// `metav1.MicroTime` (RFC 3339 microseconds).
    MicroTime,
    /// `metav1.Duration` (no served v1 type has one today; kept for the generator).
    Duration,
    /// `resource.Quantity` (its string).
    Quantity,
    /// `intstr.IntOrString` (number or string).
    IntOrString,
    /// `runtime.RawExtension` (embedded JSON).
    RawExtension,
    /// `metav1.FieldsV1` / `apiextensions.JSON` (embedded JSON).
    RawJson,
    /// `Verbs` / `ExtraValue` (a list of strings).
    StringList,
    /// `JSONSchemaPropsOrArray`.
    SchemaOrArray,
    /// `JSONSchemaPropsOrBool`.
    SchemaOrBool,
    /// `JSONSchemaPropsOrStringArray`.
    SchemaOrStringArray,
}

/// One field of a Go struct.
#[derive(Debug)]
pub struct Field {
    /// Protobuf field number.
    pub tag: u32,
    /// JSON name.
    pub json: &'static str,
    /// Value type.
    pub ty: Ty,
    /// Single, list or map.
    pub card: Card,
    /// [`PTR`], [`OMITEMPTY`], [`INLINE`].
    pub flags: u8,
}

/// One Go struct (a protobuf message).
#[derive(Debug)]
pub struct Message {
    /// Go name with its package path.
    pub name: &'static str,
    /// How its JSON form differs from its fields.
    pub special: Special,
    /// Fields in Go declaration order.
    pub fields: &'static [Field],
}
