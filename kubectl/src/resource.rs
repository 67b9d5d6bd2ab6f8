//! The resource builder (upstream's `resource.Builder`): turns `TYPE[,TYPE...] [NAME...]`,
//! `TYPE/NAME ...`, `all`, or `-f` manifests into targets (a resource type, a namespace, a
//! name or a whole collection), and fetches them: single objects, pages of lists, tables.

use std::sync::Arc;

use serde_json::Value;

use crate::client::{ApiClient, ApiError, Req, ACCEPT_TABLE};
use crate::discovery::{ApiResource, DiscoveryError, RestMapper};
use crate::errors::CmdError;
use crate::manifest::{self, ManifestObject};
use crate::printers::table::Table;

/// One thing a command acts on.
#[derive(Debug, Clone)]
pub struct Target {
    /// The resource type.
    pub mapping: Arc<ApiResource>,
    /// The namespace (None for cluster-scoped resources or all namespaces).
    pub namespace: Option<String>,
    /// The object's name; None means the whole collection.
    pub name: Option<String>,
    /// The object from a manifest, when the target came from `-f`.
    pub object: Option<Value>,
    /// The manifest it came from ("" for command-line arguments).
    pub source: String,
}

impl Target {
    /// The object path (or the collection path for a list target).
    pub fn path(&self) -> String {
        match &self.name {
            Some(n) => self.mapping.object_path(self.namespace.as_deref(), n),
            None => self.mapping.collection_path(self.namespace.as_deref()),
        }
    }

    /// The collection path in the target's namespace.
    pub fn collection_path(&self) -> String {
        self.mapping.collection_path(self.namespace.as_deref())
    }

    /// `kind.group/name` as printed by `-o name` and operation messages.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.mapping.kind_group_lower(), self.name.as_deref().unwrap_or(""))
    }
}

/// Where targets live and how lists are filtered.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The namespace from `-n` or the context.
    pub namespace: String,
    /// Whether `-n` was given.
    pub explicit_namespace: bool,
    /// `-A`.
    pub all_namespaces: bool,
    /// `-l`.
    pub label_selector: String,
    /// `--field-selector`.
    pub field_selector: String,
}

impl Scope {
    fn namespace_for(&self, mapping: &ApiResource) -> Option<String> {
        if !mapping.namespaced || self.all_namespaces {
            None
        } else {
            Some(self.namespace.clone())
        }
    }
}

/// Resolves a comma-separated type list, expanding categories such as `all`.
pub fn resolve_types(mapper: &RestMapper, types: &str) -> Result<Vec<Arc<ApiResource>>, CmdError> {
    let mut out: Vec<Arc<ApiResource>> = Vec::new();
    for t in types.split(',').filter(|t| !t.is_empty()) {
        let expanded = mapper.category(t);
        if !expanded.is_empty() && mapper.resolve(t).is_err() {
            for r in expanded {
                if !out.iter().any(|o| o.resource == r.resource && o.group == r.group) {
                    out.push(r);
                }
            }
            continue;
        }
        out.push(mapper.resolve(t)?);
    }
    Ok(out)
}

/// Targets from command-line arguments: `TYPE[,TYPE] [NAME...]` or `TYPE/NAME ...`.
pub fn from_args(mapper: &RestMapper, args: &[String], scope: &Scope) -> Result<Vec<Target>, CmdError> {
    if args.is_empty() {
        return Ok(Vec::new());
    }
    if args.iter().any(|a| a.contains('/')) {
        return slash_args(mapper, args, scope);
    }
    let types = resolve_types(mapper, &args[0])?;
    let names = &args[1..];
    let mut out = Vec::new();
    for mapping in types {
        let namespace = scope.namespace_for(&mapping);
        if names.is_empty() {
            out.push(Target { mapping: mapping.clone(), namespace, name: None, object: None, source: String::new() });
        } else {
            for n in names {
                out.push(Target { mapping: mapping.clone(), namespace: namespace.clone(), name: Some(n.clone()), object: None, source: String::new() });
            }
        }
    }
    Ok(out)
}

fn slash_args(mapper: &RestMapper, args: &[String], scope: &Scope) -> Result<Vec<Target>, CmdError> {
    let mut out = Vec::new();
    for a in args {
        let Some((t, name)) = a.split_once('/') else {
            return Err(CmdError::msg(
                "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'",
            ));
        };
        if name.is_empty() {
            return Err(CmdError::msg("arguments in resource/name form must have a single resource and name".to_string()));
        }
        let mapping = mapper.resolve(t)?;
        let namespace = if mapping.namespaced { Some(scope.namespace.clone()) } else { None };
        out.push(Target { mapping, namespace, name: Some(name.to_string()), object: None, source: String::new() });
    }
    Ok(out)
}

/// Targets from `-f` manifests, each with its object; namespaces default to the scope's and
/// must agree with `-n` when it was given.
pub fn from_manifests(mapper: &RestMapper, objects: Vec<ManifestObject>, scope: &Scope) -> Result<Vec<Target>, CmdError> {
    let mut out = Vec::new();
    for m in objects {
        let api_version = m.object.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = m.object.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = m.object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
        let obj_ns = m.object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("").to_string();
        let mapping = mapper.for_kind(api_version, kind).map_err(|e| mapping_error(&e, &name, &obj_ns, &m.source))?;
        let namespace = if mapping.namespaced {
            if scope.explicit_namespace && !obj_ns.is_empty() && obj_ns != scope.namespace {
                return Err(CmdError::msg(format!(
                    "the namespace from the provided object \"{obj_ns}\" does not match the namespace \"{}\". You must pass '--namespace={obj_ns}' to perform this operation.",
                    scope.namespace
                )));
            }
            Some(if obj_ns.is_empty() { scope.namespace.clone() } else { obj_ns })
        } else {
            None
        };
        out.push(Target { mapping, namespace, name: Some(name), object: Some(m.object), source: m.source });
    }
    Ok(out)
}

fn mapping_error(e: &DiscoveryError, name: &str, ns: &str, source: &str) -> CmdError {
    CmdError::msg(format!(
        "resource mapping not found for name: \"{name}\" namespace: \"{ns}\" from \"{source}\": {e}\nensure CRDs are installed first"
    ))
}

/// Reads `-f` manifests and maps them to targets.
pub fn from_files(mapper: &RestMapper, filenames: &[String], recursive: bool, scope: &Scope) -> Result<Vec<Target>, CmdError> {
    let objects = manifest::read_all(filenames, recursive)?;
    from_manifests(mapper, objects, scope)
}

/// A list request for a target with the scope's selectors.
pub fn list_request(target: &Target, scope: &Scope) -> Req {
    Req::get(target.collection_path())
        .query_opt("labelSelector", &scope.label_selector)
        .query_opt("fieldSelector", &scope.field_selector)
}

/// Fetches one object as JSON.
pub async fn get_object(client: &ApiClient, target: &Target) -> Result<Value, ApiError> {
    client.json(Req::get(target.path())).await
}

/// Fetches a whole list (all pages of `chunk` items; 0 for one request), returning the items
/// with `apiVersion` and `kind` filled in, and the list's resource version.
pub async fn list_objects(client: &ApiClient, target: &Target, scope: &Scope, chunk: i64) -> Result<(Vec<Value>, String), ApiError> {
    let mut items = Vec::new();
    let mut cont = String::new();
    loop {
        let mut req = list_request(target, scope);
        if chunk > 0 {
            req = req.query("limit", chunk.to_string());
        }
        let page: Value = client.json(req.query_opt("continue", &cont)).await?;
        let api_version = page.get("apiVersion").and_then(Value::as_str).unwrap_or("").to_string();
        let kind = page.get("kind").and_then(Value::as_str).unwrap_or("").trim_end_matches("List").to_string();
        let rv = page.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("").to_string();
        cont = page.pointer("/metadata/continue").and_then(Value::as_str).unwrap_or("").to_string();
        if let Some(Value::Array(page_items)) = page.get("items") {
            for mut item in page_items.clone() {
                fill_type_meta(&mut item, &api_version, &kind);
                items.push(item);
            }
        }
        if cont.is_empty() {
            return Ok((items, rv));
        }
    }
}

/// Sets `apiVersion`/`kind` on a list item that lacks them.
pub fn fill_type_meta(item: &mut Value, api_version: &str, kind: &str) {
    if let Value::Object(m) = item {
        if !m.contains_key("apiVersion") {
            m.insert("apiVersion".into(), Value::String(api_version.into()));
        }
        if !m.contains_key("kind") {
            m.insert("kind".into(), Value::String(kind.into()));
        }
    }
}

/// What a table request should embed in rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IncludeObject {
    /// Nothing (fastest; no namespace or labels available).
    None,
    /// The objects' metadata (the server's default).
    Metadata,
    /// Whole objects (for `--sort-by`).
    Object,
}

/// Fetches a target as server-side tables: one table for an object, one per page for a list.
/// `on_page` receives each table as it arrives.
pub async fn fetch_tables<F>(
    client: &ApiClient,
    target: &Target,
    scope: &Scope,
    chunk: i64,
    include: IncludeObject,
    mut on_page: F,
) -> Result<(), ApiError>
where
    F: FnMut(Table, Option<Vec<Value>>),
{
    let include_param = match include {
        IncludeObject::None => "None",
        IncludeObject::Metadata => "",
        IncludeObject::Object => "Object",
    };
    if target.name.is_some() {
        let req = Req::get(target.path()).accept(ACCEPT_TABLE).query_opt("includeObject", include_param);
        let body = client.call(req).await?;
        let (table, objects) = decode_table(&body, include == IncludeObject::Object)?;
        on_page(table, objects);
        return Ok(());
    }
    let mut cont = String::new();
    loop {
        let mut req = list_request(target, scope).accept(ACCEPT_TABLE);
        if chunk > 0 {
            req = req.query("limit", chunk.to_string());
        }
        req = req.query_opt("continue", &cont).query_opt("includeObject", include_param);
        let body = client.call(req).await?;
        let (table, objects) = decode_table(&body, include == IncludeObject::Object)?;
        cont = table.metadata.continue_.clone();
        on_page(table, objects);
        if cont.is_empty() {
            return Ok(());
        }
    }
}

/// Decodes a Table reply; with `full`, also returns each row's whole object.
pub fn decode_table(body: &[u8], full: bool) -> Result<(Table, Option<Vec<Value>>), ApiError> {
    let decode_err = |e: serde_json::Error| ApiError::Decode(format!("decoding a table: {e}"));
    if !full {
        return Ok((serde_json::from_slice(body).map_err(decode_err)?, None));
    }
    let v: Value = serde_json::from_slice(body).map_err(decode_err)?;
    let objects = v
        .get("rows")
        .and_then(Value::as_array)
        .map(|rows| rows.iter().map(|r| r.get("object").cloned().unwrap_or(Value::Null)).collect());
    Ok((serde_json::from_value(v).map_err(decode_err)?, objects))
}
