//! The REST operations of each served resource, in a form that renders to either OpenAPI v3
//! (per group-version documents) or Swagger 2.0 (`/openapi/v2`).

use serde_json::{json, Map, Value};

use super::builtin::{DELETE_OPTIONS, PATCH, STATUS};
use super::schema::{gvk_object, V2_PREFIX, V3_PREFIX};
use super::Gvk;
use crate::resources::ResourceInfo;

/// Which document an operation is rendered into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Swagger 2.0.
    V2,
    /// OpenAPI 3.0.
    V3,
}

/// One parameter of an operation.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    name: &'static str,
    location: &'static str,
    ty: &'static str,
    description: &'static str,
}

const fn query(name: &'static str, ty: &'static str, description: &'static str) -> Param {
    Param { name, location: "query", ty, description }
}

const NAME: Param = Param { name: "name", location: "path", ty: "string", description: "name of the object" };
const NAMESPACE: Param =
    Param { name: "namespace", location: "path", ty: "string", description: "object name and auth scope, such as for teams and projects" };
const PRETTY: Param = query("pretty", "string", "If 'true', then the output is pretty printed.");
const DRY_RUN: Param = query("dryRun", "string", "When present, indicates that modifications should not be persisted. The only valid value is All.");
const FIELD_MANAGER: Param = query("fieldManager", "string", "A name associated with the actor or entity that is making these changes.");
const FIELD_VALIDATION: Param = query(
    "fieldValidation",
    "string",
    "How the server treats unknown or duplicate fields in the request body: Ignore (drop them silently), Warn (drop them and return a warning per field) or Strict (fail the request).",
);
const FORCE: Param = query("force", "boolean", "Force an apply request to take fields owned by other managers. Only valid for apply patches.");

const LIST_PARAMS: &[Param] = &[
    query("allowWatchBookmarks", "boolean", "Ask for BOOKMARK watch events."),
    query("continue", "string", "The continue token of the previous page of a paginated list."),
    query("fieldSelector", "string", "A selector restricting the returned objects by their fields."),
    query("labelSelector", "string", "A selector restricting the returned objects by their labels."),
    query("limit", "integer", "The maximum number of objects a list call returns."),
    query("resourceVersion", "string", "Constrains which resource versions a request may be served from."),
    query("resourceVersionMatch", "string", "How resourceVersion is applied to list calls."),
    query("sendInitialEvents", "boolean", "Start a watch with synthetic events for the current state."),
    query("timeoutSeconds", "integer", "Timeout of the list or watch call."),
    query("watch", "boolean", "Watch for changes to the described resources."),
];
const WRITE_PARAMS: &[Param] = &[DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];
const PATCH_PARAMS: &[Param] = &[DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE];
const DELETE_PARAMS: &[Param] = &[
    DRY_RUN,
    query("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted."),
    query("orphanDependents", "boolean", "Deprecated: use propagationPolicy."),
    query("propagationPolicy", "string", "Whether and how garbage collection is performed: Orphan, Background or Foreground."),
];
const LOG_PARAMS: &[Param] = &[
    query("container", "string", "The container for which to stream logs."),
    query("follow", "boolean", "Follow the log stream of the pod."),
    query("limitBytes", "integer", "The number of bytes to read from the server before terminating the log output."),
    query("previous", "boolean", "Return previous terminated container logs."),
    query("sinceSeconds", "integer", "A relative time in seconds before the current time from which to show logs."),
    query("tailLines", "integer", "The number of lines from the end of the logs to show."),
    query("timestamps", "boolean", "Add an RFC3339 timestamp at the beginning of every line of log output."),
];
const EXEC_PARAMS: &[Param] = &[
    query("command", "string", "The command to execute."),
    query("container", "string", "The container in which to execute the command."),
    query("stderr", "boolean", "Redirect the standard error stream of the pod for this call."),
    query("stdin", "boolean", "Redirect the standard input stream of the pod for this call."),
    query("stdout", "boolean", "Redirect the standard output stream of the pod for this call."),
    query("tty", "boolean", "Allocate a terminal for this exec call."),
];
const PORT_FORWARD_PARAMS: &[Param] = &[query("ports", "integer", "List of ports to forward.")];

const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];
const CUSTOM_PATCH_TYPES: &[&str] =
    &["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"];
const BUILTIN_MEDIA: &[&str] = &["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];
const CUSTOM_MEDIA: &[&str] = &["application/json", "application/yaml"];
const STREAM_MEDIA: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf;stream=watch",
];
const TEXT_MEDIA: &[&str] = &["text/plain", "application/json", "application/yaml"];
const ANY_MEDIA: &[&str] = &["*/*"];

/// One operation (method) on one path.
#[derive(Clone, Debug)]
pub struct Op {
    method: &'static str,
    action: &'static str,
    id: String,
    description: String,
    gvk: Gvk,
    params: Vec<Param>,
    body: Option<Body>,
    responses: Vec<(u16, Option<String>)>,
    produces: &'static [&'static str],
}

/// A request body: a definition and the media types it may be sent as.
#[derive(Clone, Debug)]
struct Body {
    definition: String,
    media: &'static [&'static str],
    required: bool,
}

/// One path with its path-level parameters and operations.
#[derive(Clone, Debug)]
pub struct Route {
    /// The URL path template, e.g. `/apis/apps/v1/namespaces/{namespace}/deployments/{name}`.
    pub path: String,
    params: Vec<Param>,
    ops: Vec<Op>,
}

/// The names the operations of one resource refer to.
pub struct Names<'a> {
    /// The served resource.
    pub info: &'a ResourceInfo,
    /// Definition of one object.
    pub object: &'a str,
    /// Definition of a list of objects.
    pub list: &'a str,
    /// Whether the resource is a custom resource (no strategic merge, no protobuf).
    pub custom: bool,
}

impl Names<'_> {
    fn gvk(&self) -> Gvk {
        Gvk::new(&self.info.group, &self.info.version, &self.info.kind)
    }

    fn media(&self) -> &'static [&'static str] {
        if self.custom {
            CUSTOM_MEDIA
        } else {
            BUILTIN_MEDIA
        }
    }

    fn patch_types(&self) -> &'static [&'static str] {
        if self.custom {
            CUSTOM_PATCH_TYPES
        } else {
            PATCH_TYPES
        }
    }

    fn has(&self, verb: &str) -> bool {
        self.info.verbs.iter().any(|v| v == verb)
    }

    /// `createAppsV1NamespacedDeploymentScale`-style operation ids.
    fn op_id(&self, verb: &str, suffix: &str) -> String {
        let scope = if self.info.namespaced { "Namespaced" } else { "" };
        format!(
            "{verb}{}{}{scope}{}{suffix}",
            camel_group(&self.info.group),
            upper_first(&self.info.version),
            self.info.kind
        )
    }

    fn base(&self) -> String {
        let root = if self.info.group.is_empty() {
            format!("/api/{}", self.info.version)
        } else {
            format!("/apis/{}/{}", self.info.group, self.info.version)
        };
        let ns = if self.info.namespaced { "/namespaces/{namespace}" } else { "" };
        format!("{root}{ns}/{}", self.info.plural)
    }

    fn scope_params(&self) -> Vec<Param> {
        if self.info.namespaced {
            vec![NAMESPACE, PRETTY]
        } else {
            vec![PRETTY]
        }
    }

    fn item_params(&self) -> Vec<Param> {
        let mut p = vec![NAME];
        p.extend(self.scope_params());
        p
    }
}

/// The tag upstream files a group-version's operations under, e.g. `rbacAuthorization_v1`.
pub fn tag(group: &str, version: &str) -> String {
    let g = camel_group(group);
    let mut chars = g.chars();
    let lowered = match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    format!("{lowered}_{version}")
}

fn camel_group(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    group.trim_end_matches(".k8s.io").split(['.', '-']).map(upper_first).collect()
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Every route of one resource.
pub fn routes(n: &Names) -> Vec<Route> {
    let mut out = Vec::new();
    out.extend(collection_route(n));
    out.extend(all_namespaces_route(n));
    out.extend(item_route(n));
    out.extend(status_route(n));
    out.extend(scale_route(n));
    for sub in &n.info.extra_subresources {
        out.extend(extra_route(n, sub));
    }
    out
}

fn route(path: String, params: Vec<Param>, ops: Vec<Op>) -> Option<Route> {
    (!ops.is_empty()).then_some(Route { path, params, ops })
}

fn op(n: &Names, method: &'static str, action: &'static str, id: String, gvk: Gvk) -> Op {
    Op {
        method,
        action,
        description: format!("{action} {}", n.info.kind),
        id,
        gvk,
        params: Vec::new(),
        body: None,
        responses: Vec::new(),
        produces: n.media(),
    }
}

fn collection_route(n: &Names) -> Option<Route> {
    let mut ops = Vec::new();
    if n.has("list") {
        ops.push(list_op(n, n.op_id("list", "")));
    }
    if n.has("create") {
        let mut o = op(n, "post", "post", n.op_id("create", ""), n.gvk());
        o.params = WRITE_PARAMS.to_vec();
        o.body = Some(Body { definition: n.object.into(), media: ANY_MEDIA, required: true });
        o.responses = vec![(200, Some(n.object.into())), (201, Some(n.object.into())), (202, Some(n.object.into()))];
        ops.push(o);
    }
    if n.has("deletecollection") {
        let mut o = op(n, "delete", "deletecollection", n.op_id("deleteCollection", ""), n.gvk());
        o.params = LIST_PARAMS.iter().chain(DELETE_PARAMS).copied().collect();
        o.body = Some(Body { definition: DELETE_OPTIONS.into(), media: ANY_MEDIA, required: false });
        o.responses = vec![(200, Some(STATUS.into()))];
        ops.push(o);
    }
    route(n.base(), n.scope_params(), ops)
}

fn list_op(n: &Names, id: String) -> Op {
    let mut o = op(n, "get", "list", id, n.gvk());
    o.params = LIST_PARAMS.to_vec();
    o.responses = vec![(200, Some(n.list.into()))];
    o.produces = if n.custom { CUSTOM_MEDIA } else { STREAM_MEDIA };
    o
}

fn all_namespaces_route(n: &Names) -> Option<Route> {
    if !n.info.namespaced || !n.has("list") {
        return None;
    }
    let root = n.base().replace("/namespaces/{namespace}", "");
    let id = format!(
        "list{}{}{}ForAllNamespaces",
        camel_group(&n.info.group),
        upper_first(&n.info.version),
        n.info.kind
    );
    route(root, vec![PRETTY], vec![list_op(n, id)])
}

fn item_route(n: &Names) -> Option<Route> {
    let gvk = n.gvk();
    let mut ops = Vec::new();
    if n.has("get") {
        ops.push(read_op(n, "", gvk.clone(), n.object));
    }
    if n.has("update") {
        ops.push(replace_op(n, "", gvk.clone(), n.object));
    }
    if n.has("patch") {
        ops.push(patch_op(n, "", gvk.clone(), n.object));
    }
    if n.has("delete") {
        let mut o = op(n, "delete", "delete", n.op_id("delete", ""), gvk);
        o.params = DELETE_PARAMS.to_vec();
        o.body = Some(Body { definition: DELETE_OPTIONS.into(), media: ANY_MEDIA, required: false });
        o.responses = vec![(200, Some(STATUS.into())), (202, Some(STATUS.into()))];
        ops.push(o);
    }
    route(format!("{}/{{name}}", n.base()), n.item_params(), ops)
}

fn read_op(n: &Names, suffix: &str, gvk: Gvk, definition: &str) -> Op {
    let mut o = op(n, "get", "get", n.op_id("read", suffix), gvk);
    o.responses = vec![(200, Some(definition.into()))];
    o
}

fn replace_op(n: &Names, suffix: &str, gvk: Gvk, definition: &str) -> Op {
    let mut o = op(n, "put", "put", n.op_id("replace", suffix), gvk);
    o.params = WRITE_PARAMS.to_vec();
    o.body = Some(Body { definition: definition.into(), media: ANY_MEDIA, required: true });
    o.responses = vec![(200, Some(definition.into())), (201, Some(definition.into()))];
    o
}

/// A PATCH operation: always with the group-version-kind and the fieldValidation, dryRun,
/// fieldManager and force parameters kubectl looks for.
fn patch_op(n: &Names, suffix: &str, gvk: Gvk, definition: &str) -> Op {
    let mut o = op(n, "patch", "patch", n.op_id("patch", suffix), gvk);
    o.params = PATCH_PARAMS.to_vec();
    o.body = Some(Body { definition: PATCH.into(), media: n.patch_types(), required: true });
    o.responses = vec![(200, Some(definition.into())), (201, Some(definition.into()))];
    o
}

fn status_route(n: &Names) -> Option<Route> {
    if !n.info.status_subresource {
        return None;
    }
    let gvk = n.gvk();
    let ops = vec![
        read_op(n, "Status", gvk.clone(), n.object),
        replace_op(n, "Status", gvk.clone(), n.object),
        patch_op(n, "Status", gvk, n.object),
    ];
    route(format!("{}/{{name}}/status", n.base()), n.item_params(), ops)
}

const SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";

fn scale_route(n: &Names) -> Option<Route> {
    n.info.scale.as_ref()?;
    let gvk = Gvk::new("autoscaling", "v1", "Scale");
    let ops = vec![
        read_op(n, "Scale", gvk.clone(), SCALE),
        replace_op(n, "Scale", gvk.clone(), SCALE),
        patch_op(n, "Scale", gvk, SCALE),
    ];
    route(format!("{}/{{name}}/scale", n.base()), n.item_params(), ops)
}

fn extra_route(n: &Names, sub: &str) -> Option<Route> {
    let suffix = upper_first(sub);
    let ops = match sub {
        "binding" => vec![create_sub(n, &suffix, Gvk::new("", "v1", "Binding"), "io.k8s.api.core.v1.Binding")],
        "eviction" => vec![create_sub(n, &suffix, Gvk::new("policy", "v1", "Eviction"), "io.k8s.api.policy.v1.Eviction")],
        "token" => vec![create_sub(
            n,
            &suffix,
            Gvk::new("authentication.k8s.io", "v1", "TokenRequest"),
            "io.k8s.api.authentication.v1.TokenRequest",
        )],
        "ephemeralcontainers" | "resize" => vec![
            read_op(n, &suffix, n.gvk(), n.object),
            replace_op(n, &suffix, n.gvk(), n.object),
            patch_op(n, &suffix, n.gvk(), n.object),
        ],
        "finalize" => vec![replace_op(n, &suffix, n.gvk(), n.object)],
        "log" => vec![log_op(n)],
        "exec" => connect_ops(n, &suffix, "PodExecOptions", EXEC_PARAMS),
        "attach" => connect_ops(n, &suffix, "PodAttachOptions", &EXEC_PARAMS[1..]),
        "portforward" => connect_ops(n, &suffix, "PodPortForwardOptions", PORT_FORWARD_PARAMS),
        "proxy" => connect_ops(n, &suffix, &format!("{}ProxyOptions", n.info.kind), &[]),
        _ => Vec::new(),
    };
    route(format!("{}/{{name}}/{sub}", n.base()), n.item_params(), ops)
}

fn create_sub(n: &Names, suffix: &str, gvk: Gvk, definition: &str) -> Op {
    let mut o = op(n, "post", "post", n.op_id("create", suffix), gvk);
    o.params = WRITE_PARAMS.to_vec();
    o.body = Some(Body { definition: definition.into(), media: ANY_MEDIA, required: true });
    o.responses = vec![(200, Some(definition.into())), (201, Some(definition.into())), (202, Some(definition.into()))];
    o
}

fn log_op(n: &Names) -> Op {
    let mut o = op(n, "get", "get", n.op_id("read", "Log"), n.gvk());
    o.params = LOG_PARAMS.to_vec();
    o.responses = vec![(200, None)];
    o.produces = TEXT_MEDIA;
    o
}

fn connect_ops(n: &Names, suffix: &str, kind: &str, params: &[Param]) -> Vec<Op> {
    let gvk = Gvk::new(&n.info.group, &n.info.version, kind);
    [("get", "Get"), ("post", "Post")]
        .into_iter()
        .map(|(method, verb)| {
            let mut o = op(n, method, "connect", n.op_id(&format!("connect{verb}"), suffix), gvk.clone());
            o.params = params.to_vec();
            o.responses = vec![(200, None)];
            o.produces = ANY_MEDIA;
            o
        })
        .collect()
}

/// Renders routes into a `paths` object.
pub fn render(routes: &[Route], flavor: Flavor, tag: &str) -> Map<String, Value> {
    let mut paths = Map::new();
    for r in routes {
        let mut item = Map::new();
        item.insert("parameters".into(), Value::Array(r.params.iter().map(|p| param(p, flavor)).collect()));
        for o in &r.ops {
            item.insert(o.method.into(), render_op(o, flavor, tag));
        }
        paths.insert(r.path.clone(), Value::Object(item));
    }
    paths
}

fn reference(definition: &str, flavor: Flavor) -> Value {
    let prefix = if flavor == Flavor::V2 { V2_PREFIX } else { V3_PREFIX };
    json!({ "$ref": format!("{prefix}{definition}") })
}

/// A non-body parameter; like upstream, every one is marked `uniqueItems`.
fn param(p: &Param, flavor: Flavor) -> Value {
    let mut v = json!({ "name": p.name, "in": p.location, "description": p.description });
    if p.location == "path" {
        v["required"] = json!(true);
    }
    match flavor {
        Flavor::V2 => {
            v["type"] = json!(p.ty);
            v["uniqueItems"] = json!(true);
        }
        Flavor::V3 => v["schema"] = json!({ "type": p.ty, "uniqueItems": true }),
    }
    v
}

fn render_op(o: &Op, flavor: Flavor, tag: &str) -> Value {
    let mut v = Map::new();
    v.insert("tags".into(), json!([tag]));
    v.insert("description".into(), json!(o.description));
    v.insert("operationId".into(), json!(o.id));
    let mut params: Vec<Value> = o.params.iter().map(|p| param(p, flavor)).collect();
    match (flavor, &o.body) {
        (Flavor::V2, Some(b)) => {
            params.insert(0, json!({ "name": "body", "in": "body", "required": b.required, "schema": reference(&b.definition, flavor) }));
            v.insert("consumes".into(), json!(b.media));
        }
        (Flavor::V3, Some(b)) => {
            v.insert("requestBody".into(), request_body(b));
        }
        _ => {}
    }
    if flavor == Flavor::V2 {
        v.insert("produces".into(), json!(o.produces));
        v.insert("schemes".into(), json!(["https"]));
    }
    if !params.is_empty() {
        v.insert("parameters".into(), Value::Array(params));
    }
    v.insert("responses".into(), responses(o, flavor));
    v.insert("x-kubernetes-action".into(), json!(o.action));
    v.insert("x-kubernetes-group-version-kind".into(), gvk_object(&o.gvk));
    Value::Object(v)
}

fn request_body(b: &Body) -> Value {
    let schema = reference(&b.definition, Flavor::V3);
    let content: Map<String, Value> = b.media.iter().map(|m| (m.to_string(), json!({ "schema": schema }))).collect();
    json!({ "content": content, "required": b.required })
}

fn responses(o: &Op, flavor: Flavor) -> Value {
    let mut out = Map::new();
    for (code, definition) in &o.responses {
        let schema = match definition {
            Some(d) => reference(d, flavor),
            None => json!({ "type": "string" }),
        };
        let mut r = json!({ "description": describe(*code) });
        match flavor {
            Flavor::V2 => r["schema"] = schema,
            Flavor::V3 => {
                let content: Map<String, Value> =
                    o.produces.iter().map(|m| (m.to_string(), json!({ "schema": schema }))).collect();
                r["content"] = Value::Object(content);
            }
        }
        out.insert(code.to_string(), r);
    }
    out.insert("401".into(), json!({ "description": "Unauthorized" }));
    Value::Object(out)
}

fn describe(code: u16) -> &'static str {
    match code {
        201 => "Created",
        202 => "Accepted",
        _ => "OK",
    }
}
