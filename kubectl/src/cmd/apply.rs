//! `kubectl apply -f`: client-side apply (three-way strategic merge patch between the
//! last-applied annotation, the new configuration and the live object; JSON merge patch for
//! custom resources) and `--server-side` apply with upstream's migration of client-side
//! field managers. Also `apply view-last-applied`.

use clap::Subcommand;
use rkube_apimachinery::managed_fields::{managed_fields_of, FieldSet, ManagedFieldsEntry, PathElement, LAST_APPLIED_ANNOTATION};
use rkube_apimachinery::strategic_merge::{create_three_way_merge_patch, PatchSchema};
use serde_json::{json, Map, Value};

use crate::client::{ApiClient, ApiError, Method, Req};
use crate::cmd::common::{self, DryRun, FileArgs, PrintArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::json::to_compact;
use crate::printers::{GenericPrinter, OutputFormat};
use crate::resource::Target;
use crate::util::Streams;

const CSA_MANAGER: &str = "kubectl-client-side-apply";
const SSA_MANAGER: &str = "kubectl";
const LAST_APPLIED_MANAGER: &str = "kubectl-last-applied";
const MAX_PATCH_RETRY: usize = 5;

/// Flags of `kubectl apply`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// `view-last-applied` and friends.
    #[command(subcommand)]
    pub sub: Option<ApplySub>,
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// Output.
    #[command(flatten)]
    pub print: PrintArgs,
    /// If true, apply runs in the server instead of the client.
    #[arg(long)]
    pub server_side: bool,
    /// If true, server-side apply will force the changes against conflicts.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Name of the manager used to track field ownership.
    #[arg(long)]
    pub field_manager: Option<String>,
    /// Must be "none", "server", or "client".
    #[arg(long, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "unchanged")]
    pub dry_run: String,
    /// Must be one of: strict (or true), warn, ignore (or false).
    #[arg(long, default_value = "strict", num_args = 0..=1, require_equals = true, default_missing_value = "strict")]
    pub validate: String,
    /// Automatically resolve conflicts between the modified and live configuration.
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub overwrite: bool,
    /// Automatically delete resource objects that do not appear in the configs (not supported).
    #[arg(long)]
    pub prune: bool,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
}

/// Subcommands of `kubectl apply`.
#[derive(Subcommand, Debug)]
pub enum ApplySub {
    /// View the latest last-applied-configuration annotations of a resource/object.
    #[command(name = "view-last-applied")]
    ViewLastApplied(ViewArgs),
}

/// Flags of `apply view-last-applied`.
#[derive(clap::Args, Debug)]
pub struct ViewArgs {
    /// TYPE NAME
    pub args: Vec<String>,
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// Output format. Must be one of (yaml, json).
    #[arg(short = 'o', long, default_value = "yaml")]
    pub output: String,
}

/// The object with the last-applied annotation set to its own configuration (upstream's
/// `GetModifiedConfiguration(obj, true)`): compact JSON with sorted keys and a newline.
pub fn set_last_applied(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else { return };
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    let Some(meta) = meta.as_object_mut() else { return };
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    if !annotations.is_object() {
        *annotations = json!({});
    }
    if let Some(a) = annotations.as_object_mut() {
        a.remove(LAST_APPLIED_ANNOTATION);
    }
    let encoded = format!("{}\n", to_compact(obj));
    obj["metadata"]["annotations"][LAST_APPLIED_ANNOTATION] = Value::String(encoded);
}

fn prune_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(prune_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// `kubectl apply`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if let Some(ApplySub::ViewLastApplied(v)) = a.sub {
        return view_last_applied(f, v, streams).await;
    }
    if a.prune {
        return Err(CmdError::msg("--prune is not supported by this kubectl"));
    }
    if a.files.filenames.is_empty() && a.files.kustomize.is_none() {
        return Err(CmdError::usage("kubectl apply", "must specify one of -f and -k"));
    }
    if a.force_conflicts && !a.server_side {
        return Err(CmdError::msg("--force-conflicts only works with --server-side"));
    }
    let dry_run = DryRun::parse(&a.dry_run, streams)?;
    let validation = common::field_validation(&a.validate)?;
    let scope = common::scope(f, false, a.selector.as_deref(), None)?;
    let mut targets = common::targets(f, &a.files, &[], &scope).await?;
    if let Some(sel) = a.selector.as_deref().filter(|s| !s.is_empty()) {
        let selector = rkube_apimachinery::label_selector::LabelSelector::parse(sel).map_err(|e| CmdError::msg(e.to_string()))?;
        targets.retain(|t| t.object.as_ref().is_some_and(|o| selector.matches_object(o)));
    }
    if targets.is_empty() {
        return Err(CmdError::msg("no objects passed to apply"));
    }
    let manager = a.field_manager.clone().unwrap_or_else(|| (if a.server_side { SSA_MANAGER } else { CSA_MANAGER }).to_string());
    let ctx = ApplyCtx { client: f.client().await?, dry_run, validation, manager, force: a.force_conflicts, overwrite: a.overwrite };
    let mut errors = Vec::new();
    let mut applied = Vec::new();
    for t in &targets {
        let res = if a.server_side { ctx.server_side(t, streams).await } else { ctx.client_side(t, streams).await };
        match res {
            Ok((obj, op)) => {
                if print_each(&a.print) {
                    common::print_result(streams, &a.print, &t.mapping, &obj, op, dry_run)?;
                }
                applied.push(obj);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() && !print_each(&a.print) && !applied.is_empty() {
        print_all(&a.print, applied, streams)?;
    }
    CmdError::aggregate(errors)
}

fn print_each(p: &PrintArgs) -> bool {
    p.output.is_empty() || p.output == "name"
}

fn print_all(p: &PrintArgs, mut objs: Vec<Value>, streams: &mut Streams) -> Result<(), CmdError> {
    let mut printer = GenericPrinter::new(OutputFormat::parse(&p.output, p.template.as_deref())?);
    printer.show_managed_fields = p.show_managed_fields;
    let obj = if objs.len() == 1 { objs.remove(0) } else { json!({"apiVersion": "v1", "items": objs, "kind": "List", "metadata": {}}) };
    printer.print(&obj, &mut streams.out)?;
    Ok(())
}

struct ApplyCtx<'a> {
    client: &'a ApiClient,
    dry_run: DryRun,
    validation: &'static str,
    manager: String,
    force: bool,
    overwrite: bool,
}

impl ApplyCtx<'_> {
    fn patch_req(&self, t: &Target, content_type: &str, body: Vec<u8>, manager: &str) -> Req {
        let mut req = Req::new(Method::PATCH, t.path())
            .query("fieldManager", manager)
            .query("fieldValidation", self.validation)
            .body(content_type, body);
        if self.dry_run == DryRun::Server {
            req = req.query("dryRun", "All");
        }
        req
    }

    async fn client_side(&self, t: &Target, streams: &mut Streams) -> Result<(Value, &'static str), CmdError> {
        let mut obj = t.object.clone().unwrap_or(Value::Null);
        common::set_namespace(&mut obj, t);
        if t.name.as_deref().unwrap_or("").is_empty() {
            if let Some(g) = obj.pointer("/metadata/generateName").and_then(Value::as_str) {
                return Err(CmdError::msg(format!("from {g}: cannot use generate name with apply")));
            }
        }
        let mut modified = obj.clone();
        set_last_applied(&mut modified);
        let current = match self.client.json(Req::get(t.path())).await {
            Ok(c) => c,
            Err(e) if e.is_not_found() => return self.create(t, modified).await,
            Err(e) => {
                return Err(CmdError::from(e).with_source(&format!("retrieving current configuration of:\n{}\nfrom server for:", info_string(t)), &t.source))
            }
        };
        if self.dry_run == DryRun::Client {
            return Ok((current, "configured"));
        }
        if current.pointer(&format!("/metadata/annotations/{}", LAST_APPLIED_ANNOTATION.replace('/', "~1"))).is_none() {
            streams.eprint(&format!(
                "Warning: resource {}/{} is missing the {LAST_APPLIED_ANNOTATION} annotation which is required by kubectl apply. kubectl apply should only be used on resources created declaratively by either kubectl create --save-config or kubectl apply. The missing annotation will be patched automatically.\n",
                t.mapping.group_resource(),
                t.name.as_deref().unwrap_or("")
            ));
        }
        self.patch_loop(t, &modified, current).await
    }

    async fn create(&self, t: &Target, mut obj: Value) -> Result<(Value, &'static str), CmdError> {
        prune_nulls(&mut obj);
        if self.dry_run == DryRun::Client {
            return Ok((obj, "created"));
        }
        let mut req = Req::new(Method::POST, t.collection_path())
            .query("fieldManager", self.manager.clone())
            .query("fieldValidation", self.validation)
            .json(&obj);
        if self.dry_run == DryRun::Server {
            req = req.query("dryRun", "All");
        }
        let created = self.client.json(req).await.map_err(|e| CmdError::from(e).with_source("creating", &t.source))?;
        Ok((created, "created"))
    }

    async fn patch_loop(&self, t: &Target, modified: &Value, mut current: Value) -> Result<(Value, &'static str), CmdError> {
        let schema = self.patch_schema(t).await;
        for attempt in 0..MAX_PATCH_RETRY {
            let (patch, content_type) = compute_patch(t, modified, &current, schema.as_ref(), self.overwrite)
                .map_err(|e| CmdError::msg(e).with_source("applying patch", &t.source))?;
            if patch == json!({}) {
                return Ok((current, "unchanged"));
            }
            let req = self.patch_req(t, content_type, serde_json::to_vec(&patch).unwrap_or_default(), &self.manager);
            match self.client.json(req).await {
                Ok(obj) => return Ok((obj, "configured")),
                Err(e) if e.is_conflict() && attempt + 1 < MAX_PATCH_RETRY => {
                    current = self.client.json(Req::get(t.path())).await?;
                }
                Err(e) => {
                    let verb = format!("applying patch:\n{}\nto:\n{}\nfor:", to_compact(&patch), info_string(t));
                    return Err(CmdError::from(e).with_source(&verb, &t.source));
                }
            }
        }
        Err(CmdError::msg("too many conflicts applying the patch"))
    }

    async fn patch_schema(&self, t: &Target) -> Option<(PatchSchema, String)> {
        patch_schema(self.client, &t.mapping).await
    }

    async fn server_side(&self, t: &Target, streams: &mut Streams) -> Result<(Value, &'static str), CmdError> {
        let mut obj = t.object.clone().unwrap_or(Value::Null);
        common::set_namespace(&mut obj, t);
        if self.dry_run == DryRun::Client {
            return Ok((obj, "serverside-applied"));
        }
        let body = format!("{}\n", to_compact(&obj)).into_bytes();
        let req = self.patch_req(t, "application/apply-patch+yaml", body.clone(), &self.manager);
        let req = if self.force { req.query("force", "true") } else { req };
        let mut applied = self.client.json(req).await.map_err(|e| ssa_error(e, &t.source))?;
        match self.save_last_applied(t, &applied).await {
            Err(e) => streams.eprint(&format!("Warning: failed to migrate kubectl.kubernetes.io/last-applied-configuration for Server-Side Apply. This is non-fatal and will be retried next time you apply. Error: {e}\n")),
            Ok(Some(o)) => applied = o,
            Ok(None) => {}
        }
        match self.migrate(t, &applied).await {
            Err(e) => streams.eprint(&format!("Warning: failed to migrate managed fields for Server-Side Apply. This is non-fatal and will be retried next time you apply. Error: {e}\n")),
            Ok(false) => {}
            Ok(true) => {
                let req = self.patch_req(t, "application/apply-patch+yaml", body, &self.manager);
                let req = if self.force { req.query("force", "true") } else { req };
                match self.client.json(req).await {
                    Ok(o) => applied = o,
                    Err(e) => streams.eprint(&format!("Warning: failed to re-apply configuration after performing Server-Side Apply migration. This is non-fatal and will be retried next time you apply. Error: {e}\n")),
                }
            }
        }
        Ok((applied, "serverside-applied"))
    }

    async fn save_last_applied(&self, t: &Target, obj: &Value) -> Result<Option<Value>, ApiError> {
        if self.manager != SSA_MANAGER {
            return Ok(None);
        }
        let Some(annotation) = last_applied_of(obj) else { return Ok(None) };
        let entries = managed_fields_of(obj).unwrap_or_default();
        if !owners_of_last_applied(&entries, "Apply").is_empty() {
            return Ok(None);
        }
        let mut meta = json!({"annotations": {LAST_APPLIED_ANNOTATION: annotation}, "name": t.name});
        if let Some(ns) = &t.namespace {
            meta["namespace"] = json!(ns);
        }
        let just = json!({"apiVersion": t.mapping.api_version(), "kind": t.mapping.kind, "metadata": meta});
        let req = Req::new(Method::PATCH, t.path())
            .query("fieldManager", LAST_APPLIED_MANAGER)
            .query("fieldValidation", self.validation)
            .body("application/apply-patch+yaml", format!("{}\n", to_compact(&just)).into_bytes());
        Ok(Some(self.client.json(req).await?))
    }

    async fn migrate(&self, t: &Target, obj: &Value) -> Result<bool, ApiError> {
        let entries = managed_fields_of(obj).unwrap_or_default();
        let mut csa: Vec<String> = owners_of_last_applied(&entries, "Update").into_iter().map(|e| e.manager.clone()).collect();
        csa.sort();
        csa.dedup();
        let mut current = obj.clone();
        for _ in 0..MAX_PATCH_RETRY {
            let Some(patch) = upgrade_managed_fields_patch(&current, &csa, &self.manager) else { return Ok(false) };
            let req = Req::new(Method::PATCH, t.path()).body("application/json-patch+json", serde_json::to_vec(&patch).unwrap_or_default());
            match self.client.json(req).await {
                Ok(_) => return Ok(true),
                Err(e) if e.is_conflict() => current = self.client.json(Req::get(t.path())).await?,
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }
}

/// The strategic merge patch schema of a built-in kind and the name of its root definition;
/// None for other kinds (they get JSON merge patches) or when the schema is unavailable.
pub async fn patch_schema(client: &ApiClient, mapping: &crate::discovery::ApiResource) -> Option<(PatchSchema, String)> {
    if !is_builtin_group(&mapping.group) {
        return None;
    }
    let doc = crate::openapi::group_version_document(client, mapping).await.ok()?;
    let root = crate::openapi::definition_name(&doc, &mapping.group, &mapping.version, &mapping.kind)?;
    Some((PatchSchema::from_document(&doc), root))
}

fn ssa_error(e: ApiError, source: &str) -> CmdError {
    if e.is_conflict() {
        let msg = e.as_status().map(|s| s.message.clone()).unwrap_or_default();
        return CmdError::msg(format!(
            "{msg}\nPlease review the fields above--they currently have other managers. Here\nare the ways you can resolve this warning:\n* If you intend to manage all of these fields, please re-run the apply\n  command with the `--force-conflicts` flag.\n* If you do not intend to manage all of the fields, please edit your\n  manifest to remove references to the fields that should keep their\n  current managers.\n* You may co-own fields by updating your manifest to match the existing\n  value; in this case, you'll become the manager if the other manager(s)\n  stop managing the field (remove it from their configuration).\nSee https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts"
        ));
    }
    CmdError::from(e).with_source("serverside-apply", source)
}

fn info_string(t: &Target) -> String {
    let (g, v) = (&t.mapping.group, &t.mapping.version);
    let gv = if g.is_empty() { v.clone() } else { format!("{g}/{v}") };
    format!(
        "Resource: \"{gv}, Resource={}\", GroupVersionKind: \"{gv}, Kind={}\"\nName: \"{}\", Namespace: \"{}\"",
        t.mapping.resource,
        t.mapping.kind,
        t.name.as_deref().unwrap_or(""),
        t.namespace.as_deref().unwrap_or("")
    )
}

/// Groups whose types kubectl knows (strategic merge patch); others get JSON merge patch.
pub fn is_builtin_group(group: &str) -> bool {
    matches!(
        group,
        "" | "apps" | "batch" | "autoscaling" | "policy" | "networking.k8s.io" | "rbac.authorization.k8s.io" | "storage.k8s.io"
            | "scheduling.k8s.io" | "coordination.k8s.io" | "discovery.k8s.io" | "events.k8s.io" | "apiextensions.k8s.io"
            | "admissionregistration.k8s.io" | "certificates.k8s.io" | "node.k8s.io" | "flowcontrol.apiserver.k8s.io"
            | "apiregistration.k8s.io" | "authentication.k8s.io" | "authorization.k8s.io" | "resource.k8s.io"
            | "storagemigration.k8s.io" | "internal.apiserver.k8s.io"
    )
}

fn last_applied_of(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/annotations")?.get(LAST_APPLIED_ANNOTATION)?.as_str().map(str::to_string)
}

fn last_applied_path() -> Vec<PathElement> {
    vec![
        PathElement::Field("metadata".into()),
        PathElement::Field("annotations".into()),
        PathElement::Field(LAST_APPLIED_ANNOTATION.into()),
    ]
}

fn owners_of_last_applied<'a>(entries: &'a [ManagedFieldsEntry], operation: &str) -> Vec<&'a ManagedFieldsEntry> {
    let path = last_applied_path();
    entries
        .iter()
        .filter(|e| e.operation == operation && e.field_set().is_ok_and(|fs| fs.has(&path)))
        .collect()
}

/// The patch (and its content type) client-side apply sends: strategic merge for known types,
/// JSON merge patch otherwise.
pub fn compute_patch(
    t: &Target,
    modified: &Value,
    current: &Value,
    schema: Option<&(PatchSchema, String)>,
    overwrite: bool,
) -> Result<(Value, &'static str), String> {
    let original: Value = last_applied_of(current).and_then(|s| serde_json::from_str(&s).ok()).unwrap_or(Value::Null);
    let _ = t;
    match schema {
        Some((schema, root)) => create_three_way_merge_patch(&original, modified, current, schema, root, overwrite)
            .map(|p| (p, "application/strategic-merge-patch+json"))
            .map_err(|e| e.to_string()),
        None => Ok((three_way_json_merge_patch(&original, modified, current), "application/merge-patch+json")),
    }
}

/// RFC 7386 merge patch turning `from` into `to`.
pub fn create_merge_patch(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut patch = Map::new();
            for (k, va) in a {
                match b.get(k) {
                    None => {
                        patch.insert(k.clone(), Value::Null);
                    }
                    Some(vb) if vb != va => {
                        let sub = if va.is_object() && vb.is_object() { create_merge_patch(va, vb) } else { vb.clone() };
                        patch.insert(k.clone(), sub);
                    }
                    _ => {}
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    patch.insert(k.clone(), vb.clone());
                }
            }
            Value::Object(patch)
        }
        (_, to) => to.clone(),
    }
}

fn keep_or_delete_null(m: &Map<String, Value>, keep_null: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in m {
        match v {
            Value::Null if keep_null => {
                out.insert(k.clone(), Value::Null);
            }
            Value::Null => {}
            Value::Object(sub) if sub.is_empty() => {
                if !keep_null {
                    out.insert(k.clone(), v.clone());
                }
            }
            Value::Object(sub) => {
                let filtered = keep_or_delete_null(sub, keep_null);
                if !filtered.is_empty() {
                    out.insert(k.clone(), Value::Object(filtered));
                }
            }
            other => {
                if !keep_null {
                    out.insert(k.clone(), other.clone());
                }
            }
        }
    }
    out
}

fn merge_into(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge_into(existing, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// Upstream's `CreateThreeWayJSONMergePatch`: additions and changes from the live object to
/// the configuration, plus deletions from the last-applied configuration to it.
pub fn three_way_json_merge_patch(original: &Value, modified: &Value, current: &Value) -> Value {
    let empty = json!({});
    let original = if original.is_null() { &empty } else { original };
    let add_change = create_merge_patch(current, modified);
    let deletions = create_merge_patch(original, modified);
    let add_change = add_change.as_object().map(|m| keep_or_delete_null(m, false)).unwrap_or_default();
    let deletions = deletions.as_object().map(|m| keep_or_delete_null(m, true)).unwrap_or_default();
    let mut patch = Value::Object(deletions);
    merge_into(&mut patch, &Value::Object(add_change));
    patch
}

/// Upstream's `csaupgrade.UpgradeManagedFieldsPatch`: folds the client-side apply managers'
/// fields into the server-side apply manager; None when nothing changes.
pub fn upgrade_managed_fields_patch(obj: &Value, csa_managers: &[String], ssa_manager: &str) -> Option<Value> {
    let original = managed_fields_of(obj).ok()?;
    let mut entries = original.clone();
    for csa in csa_managers {
        entries = upgrade_one(entries, csa, ssa_manager)?;
    }
    if entries == original {
        return None;
    }
    let rv = obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
    Some(json!([
        {"op": "replace", "path": "/metadata/managedFields", "value": serde_json::to_value(&entries).ok()?},
        {"op": "replace", "path": "/metadata/resourceVersion", "value": rv}
    ]))
}

fn is_csa(e: &ManagedFieldsEntry, csa: &str) -> bool {
    e.manager == csa && e.operation == "Update" && e.subresource.as_deref().unwrap_or("").is_empty()
}

fn upgrade_one(mut entries: Vec<ManagedFieldsEntry>, csa: &str, ssa: &str) -> Option<Vec<ManagedFieldsEntry>> {
    let target = match entries.iter().position(|e| e.manager == ssa && e.operation == "Apply" && e.subresource.as_deref().unwrap_or("").is_empty()) {
        Some(i) => i,
        None => {
            let i = entries.iter().position(|e| is_csa(e, csa))?;
            entries[i].operation = "Apply".into();
            entries[i].manager = ssa.into();
            i
        }
    };
    let api_version = entries[target].api_version.clone();
    let mut fields: FieldSet = entries[target].field_set().ok()?;
    if let Some(c) = entries.iter().find(|e| is_csa(e, csa) && e.api_version == api_version) {
        fields = fields.union(&c.field_set().ok()?);
    }
    entries[target].fields_v1 = Some(fields.to_fields_v1());
    entries[target].fields_type = Some("FieldsV1".into());
    Some(entries.into_iter().filter(|e| !is_csa(e, csa)).collect())
}

async fn view_last_applied(f: &Factory, v: ViewArgs, streams: &mut Streams) -> Result<(), CmdError> {
    let scope = common::scope(f, false, None, None)?;
    let targets = common::targets(f, &v.files, &v.args, &scope).await?;
    let client = f.client().await?;
    for t in targets {
        let obj = client.json(Req::get(t.path())).await?;
        let Some(text) = last_applied_of(&obj) else {
            return Err(CmdError::msg(format!("no last-applied-configuration annotation found on resource: {}", t.name.as_deref().unwrap_or(""))));
        };
        let parsed: Value = serde_json::from_str(&text).map_err(|e| CmdError::msg(e.to_string()))?;
        match v.output.as_str() {
            "json" => {
                let pretty = serde_json::to_string_pretty(&parsed).unwrap_or_default();
                streams.println(&pretty);
            }
            "yaml" => streams.out.write_all(crate::printers::yaml::to_yaml(&parsed).as_bytes())?,
            other => return Err(CmdError::msg(format!("unexpected -o output mode: {other}, the flag 'output' must be one of yaml|json"))),
        }
    }
    Ok(())
}

use std::io::Write;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_applied_annotation_is_sorted_compact_json() {
        let mut obj = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x", "namespace": "default"}, "data": {"b": "1", "a": "<"}});
        set_last_applied(&mut obj);
        assert_eq!(
            obj["metadata"]["annotations"][LAST_APPLIED_ANNOTATION],
            "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"\\u003c\",\"b\":\"1\"},\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":{},\"name\":\"x\",\"namespace\":\"default\"}}\n"
        );
    }

    #[test]
    fn json_merge_three_way() {
        let original = json!({"spec": {"a": 1, "b": 2}});
        let modified = json!({"spec": {"a": 5}});
        let current = json!({"spec": {"a": 1, "b": 2, "c": 3}});
        assert_eq!(three_way_json_merge_patch(&original, &modified, &current), json!({"spec": {"a": 5, "b": null}}));
        assert_eq!(three_way_json_merge_patch(&modified, &modified, &json!({"spec": {"a": 5, "c": 3}})), json!({}));
    }

    #[test]
    fn upgrades_csa_manager() {
        let obj = json!({"metadata": {"resourceVersion": "7", "managedFields": [
            {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:a": {}}, "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}}}},
            {"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:b": {}}}}
        ]}});
        let csa = owners_of_last_applied(&managed_fields_of(&obj).unwrap(), "Update").iter().map(|e| e.manager.clone()).collect::<Vec<_>>();
        assert_eq!(csa, vec!["kubectl-client-side-apply"]);
        let patch = upgrade_managed_fields_patch(&obj, &csa, "kubectl").unwrap();
        let entries = patch[0]["value"].as_array().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["manager"], "kubectl");
        assert!(entries[0]["fieldsV1"]["f:data"].get("f:a").is_some() && entries[0]["fieldsV1"]["f:data"].get("f:b").is_some());
        assert_eq!(patch[1]["value"], "7");
    }
}
