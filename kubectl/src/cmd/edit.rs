//! `kubectl edit TYPE NAME | TYPE/NAME | -f FILE`: fetches the objects (a `List` when there
//! are several), writes them to a temporary file as YAML (with upstream's header comment) or
//! JSON, runs `$KUBE_EDITOR`, `$EDITOR` or `vi`, and patches each changed object with a
//! two-way strategic merge patch (JSON merge patch for kinds kubectl does not know). Invalid
//! objects reopen the editor with the server's complaints in the header, as upstream does.

use std::io::Write;
use std::path::{Path, PathBuf};

use rkube_apimachinery::strategic_merge::create_two_way_merge_patch;
use serde_json::{json, Value};

use crate::client::{ApiClient, ApiError, Method, Req};
use crate::cmd::apply::{create_merge_patch, patch_schema, set_last_applied};
use crate::cmd::common::{self, DryRun, FileArgs, PrintArgs};
use crate::discovery::ApiResource;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::json::{to_compact, to_pretty};
use crate::printers::yaml::to_yaml;
use crate::resource::{self, Target};
use crate::util::{go_quote, Streams};

/// Flags of `kubectl edit`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// TYPE NAME, TYPE/NAME or TYPE.
    pub args: Vec<String>,
    /// Files identifying the resources.
    #[command(flatten)]
    pub files: FileArgs,
    /// Output (`json` also edits as JSON).
    #[command(flatten)]
    pub print: PrintArgs,
    /// Output the patch if the resource is edited.
    #[arg(long)]
    pub output_patch: bool,
    /// Defaults to the line ending native to your platform.
    #[arg(long)]
    pub windows_line_endings: bool,
    /// If true, the configuration of current object will be saved in its annotation.
    #[arg(long)]
    pub save_config: bool,
    /// Name of the manager used to track field ownership.
    #[arg(long, default_value = "kubectl-edit")]
    pub field_manager: String,
    /// If specified, edit will operate on the subresource of the requested object.
    #[arg(long, default_value = "")]
    pub subresource: String,
    /// Must be one of: strict (or true), warn, ignore (or false).
    #[arg(long, default_value = "strict", num_args = 0..=1, require_equals = true, default_missing_value = "strict")]
    pub validate: String,
    /// If true, ignore any errors in templates when a field or map key is missing in the template.
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub allow_missing_template_keys: bool,
}

const HEADER: &str = "# Please edit the object below. Lines beginning with a '#' will be ignored,\n# and an empty file will abort the edit. If an error occurs while saving this file will be\n# reopened with the relevant failures.\n#\n";

const NO_RESOURCES: &str = "You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'";

/// One reason the file must be edited again (a header comment).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EditReason {
    /// The first line.
    pub head: String,
    /// Bullet points under it.
    pub other: Vec<String>,
}

/// The header comment of the file to edit, with the reasons of a previous failure.
pub fn header(reasons: &[EditReason]) -> String {
    let mut out = HEADER.to_string();
    for r in reasons {
        if r.other.is_empty() {
            out.push_str(&format!("# {}\n", hash_on_line_break(&r.head)));
        } else {
            out.push_str(&format!("# {}:\n", hash_on_line_break(&r.head)));
        }
        for o in &r.other {
            out.push_str(&format!("# * {}\n", hash_on_line_break(o)));
        }
        out.push_str("#\n");
    }
    out
}

/// Continues comments over line breaks (`\n` becomes `\n# ` unless a `#` follows).
fn hash_on_line_break(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let bytes = s.as_bytes();
    for (i, ch) in s.char_indices() {
        if ch == '\n' && i + 1 < s.len() && bytes[i + 1] != b'#' {
            out.push_str("\n# ");
        } else {
            out.push(ch);
        }
    }
    out
}

/// Drops comment lines (`#`, but not `#!`), as upstream's `ManualStrip`.
pub fn manual_strip(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::with_capacity(text.len());
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.starts_with('#') && !t.starts_with("#!") {
            continue;
        }
        out.push_str(line);
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
    out
}

/// The content of an edited file for comparisons: its parsed documents, or the text without
/// comments when it does not parse (upstream's `StripComments`).
#[derive(Debug, PartialEq)]
pub enum Stripped {
    /// Parsed documents.
    Parsed(Vec<Value>),
    /// Unparseable text without comment lines.
    Text(String),
}

/// See [`Stripped`].
pub fn strip_comments(text: &str) -> Stripped {
    match crate::manifest::parse_documents(text, "edited-file") {
        Ok(docs) => Stripped::Parsed(docs),
        Err(_) => Stripped::Text(manual_strip(text)),
    }
}

/// Whether any line has content other than a comment.
pub fn has_lines(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    })
}

/// The editor command line from `$KUBE_EDITOR`, `$EDITOR` or `vi`, split as upstream does:
/// no spaces is one word, no quotes or backslashes is split on spaces, otherwise the shell
/// runs it. Returns the words and whether they go through the shell.
pub fn editor_command(env: impl Fn(&str) -> Option<String>) -> (Vec<String>, bool) {
    let editor = ["KUBE_EDITOR", "EDITOR"].iter().find_map(|k| env(k).filter(|v| !v.is_empty())).unwrap_or_else(|| "vi".into());
    if !editor.contains(' ') {
        return (vec![editor], false);
    }
    if !editor.contains(['"', '\'', '\\']) {
        return (editor.split(' ').map(str::to_string).collect(), false);
    }
    let shell = env("SHELL").filter(|s| !s.is_empty()).unwrap_or_else(|| "/bin/bash".into());
    (vec![shell, "-c".into(), editor], true)
}

/// The editor's argv for a file.
pub fn editor_argv(words: &[String], shell: bool, path: &str) -> Vec<String> {
    let mut args = words.to_vec();
    if shell {
        if let Some(last) = args.last_mut() {
            *last = format!("{last} {}", go_quote(path));
        }
    } else {
        args.push(path.to_string());
    }
    args
}

fn launch_editor(path: &Path, streams: &mut Streams) -> Result<(), CmdError> {
    let (words, shell) = editor_command(|k| std::env::var(k).ok());
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let argv = editor_argv(&words, shell, &abs.display().to_string());
    let _ = streams.flush();
    let joined = words.join(" ");
    match std::process::Command::new(&argv[0]).args(&argv[1..]).status() {
        Ok(s) if s.success() => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CmdError::msg(format!("unable to launch the editor {}", go_quote(&joined)))),
        _ => Err(CmdError::msg(format!("there was a problem with the editor {}", go_quote(&joined)))),
    }
}

/// Creates `$TMPDIR/<program>-edit-<random><ext>` with the content, as upstream names it.
fn temp_file(content: &str, ext: &str) -> Result<PathBuf, CmdError> {
    let program = std::env::args_os()
        .next()
        .and_then(|a| Path::new(&a).file_name().map(|f| f.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "kubectl".into());
    let dir = std::env::temp_dir();
    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
        ^ ((std::process::id() as u64) << 32);
    for _ in 0..1000 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let path = dir.join(format!("{program}-edit-{}{ext}", (seed >> 33) as u32));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(&path) {
            Ok(mut f) => {
                f.write_all(content.as_bytes())?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(CmdError::msg("could not create a temporary file"))
}

/// Upstream's `preservedFile`: tells where the edits were kept.
fn preserved(err: CmdError, file: Option<&Path>, streams: &mut Streams) -> CmdError {
    if let Some(f) = file.filter(|f| f.exists()) {
        streams.eprint(&format!("A copy of your changes has been stored to {}\n", go_quote(&f.display().to_string())));
    }
    err
}

/// An object being edited and where it lives.
struct Item {
    target: Target,
    object: Value,
}

/// The outcome of one round of patches.
#[derive(Default)]
struct Results {
    reasons: Vec<EditReason>,
    retryable: usize,
    notfound: usize,
    edit: usize,
}

impl Results {
    /// Records a failed patch; returns the line printed on stderr.
    fn add_error(&mut self, err: &ApiError, mapping: &ApiResource, name: &str) -> String {
        let resource = mapping.group_resource();
        let status = err.as_status();
        if status.is_some_and(|s| s.reason == "Invalid") {
            self.edit += 1;
            let mut reason = EditReason { head: format!("{resource} \"{name}\" was not valid"), other: Vec::new() };
            for c in status.and_then(|s| s.details.as_ref()).map(|d| d.causes.as_slice()).unwrap_or(&[]) {
                reason.other.push(format!("{}: {}", c.field, c.message));
            }
            self.reasons.push(reason);
            return format!("error: {resource} \"{name}\" is invalid");
        }
        if err.is_not_found() {
            self.notfound += 1;
            return format!("error: {resource} \"{name}\" could not be found on the server");
        }
        self.retryable += 1;
        format!("error: {resource} \"{name}\" could not be patched: {err}")
    }
}

fn strip_managed_fields(obj: &mut Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
}

/// The patch turning `original` into `edited` and its content type; an error when
/// `apiVersion`, `kind` or the name changed.
pub fn edit_patch(
    original: &Value,
    edited: &Value,
    schema: Option<&(rkube_apimachinery::strategic_merge::PatchSchema, String)>,
) -> Result<(Value, &'static str), CmdError> {
    let (patch, content_type) = match schema {
        Some((schema, root)) => (
            create_two_way_merge_patch(original, edited, schema, root).map_err(|e| CmdError::msg(e.to_string()))?,
            "application/strategic-merge-patch+json",
        ),
        None => (create_merge_patch(original, edited), "application/merge-patch+json"),
    };
    let changed = patch.get("apiVersion").is_some()
        || patch.get("kind").is_some()
        || patch.get("managedFields").is_some()
        || patch.pointer("/metadata/name").is_some();
    if changed {
        return Err(CmdError::msg("At least one of apiVersion, kind and name was changed"));
    }
    Ok((patch, content_type))
}

/// `kubectl edit`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if a.args.is_empty() && a.files.filenames.is_empty() && a.files.kustomize.is_none() {
        return Err(CmdError::msg(NO_RESOURCES));
    }
    if !a.subresource.is_empty() && a.subresource != "status" {
        return Err(CmdError::msg(format!("invalid subresource value: \"{}\". Must be one of [status]", a.subresource)));
    }
    if !["", "json", "yaml"].contains(&a.print.output.as_str()) {
        return Err(CmdError::msg(format!(
            "unable to match a printer suitable for the output format \"{}\", allowed formats are: json,yaml",
            a.print.output
        )));
    }
    let as_json = a.print.output == "json";
    let validation = common::field_validation(&a.validate)?;
    let scope = common::scope(f, false, None, None)?;
    let targets = common::targets(f, &a.files, &a.args, &scope).await?;
    let client = f.client().await?;
    let items = fetch(client, targets, &a.subresource).await?;
    if items.is_empty() {
        return Err(CmdError::msg("edit cancelled, no objects found"));
    }
    let ctx = EditCtx { client, args: &a, validation, namespace: scope.namespace.clone() };
    ctx.edit_loop(items, as_json, streams).await
}

async fn fetch(client: &ApiClient, targets: Vec<Target>, subresource: &str) -> Result<Vec<Item>, CmdError> {
    let mut items = Vec::new();
    for t in targets {
        match &t.name {
            Some(_) => {
                let mut path = t.path();
                if !subresource.is_empty() {
                    path = format!("{path}/{subresource}");
                }
                let mut object = client.json(Req::get(path)).await?;
                strip_managed_fields(&mut object);
                items.push(Item { target: t, object });
            }
            None => {
                let (objects, _) = resource::list_objects(client, &t, &resource::Scope::default(), 500).await?;
                for mut object in objects {
                    strip_managed_fields(&mut object);
                    let name = object.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string);
                    let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_string);
                    let target = Target { name, namespace: namespace.or(t.namespace.clone()), ..t.clone() };
                    items.push(Item { target, object });
                }
            }
        }
    }
    Ok(items)
}

struct EditCtx<'a> {
    client: &'a ApiClient,
    args: &'a Args,
    validation: &'static str,
    namespace: String,
}

fn render(items: &[Item], as_json: bool) -> String {
    let obj = if items.len() == 1 {
        items[0].object.clone()
    } else {
        json!({"apiVersion": "v1", "items": items.iter().map(|i| i.object.clone()).collect::<Vec<_>>(), "kind": "List", "metadata": {}})
    };
    if as_json {
        to_pretty(&obj)
    } else {
        to_yaml(&obj)
    }
}

fn uid_of(v: &Value) -> &str {
    v.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("")
}

impl EditCtx<'_> {
    async fn edit_loop(&self, items: Vec<Item>, as_json: bool, streams: &mut Streams) -> Result<(), CmdError> {
        let ext = if as_json { ".json" } else { ".yaml" };
        let crlf = |s: String| if self.args.windows_line_endings { s.replace('\n', "\r\n") } else { s };
        let mut reasons: Vec<EditReason> = Vec::new();
        let mut previous_file: Option<PathBuf> = None;
        let mut original = String::new();
        let mut edited = String::new();
        let mut contains_error = false;
        loop {
            let mut buf = if as_json { String::new() } else { header(&reasons) };
            if !contains_error {
                buf.push_str(&render(&items, as_json));
                original = buf.clone();
            } else {
                buf.push_str(&manual_strip(&edited));
            }
            let file = temp_file(&crlf(buf), ext)?;
            if let Err(e) = launch_editor(&file, streams) {
                return Err(preserved(e, previous_file.as_deref(), streams));
            }
            let edited_before = std::mem::take(&mut edited);
            edited = std::fs::read_to_string(&file).map_err(|e| preserved(e.into(), Some(&file), streams))?.replace("\r\n", "\n");
            if contains_error && strip_comments(&edited_before) == strip_comments(&edited) {
                return Err(preserved(CmdError::msg("Edit cancelled, no valid changes were saved."), Some(&file), streams));
            }
            if let Some(p) = previous_file.take() {
                let _ = std::fs::remove_file(p);
            }
            if strip_comments(&original) == strip_comments(&edited) {
                let _ = std::fs::remove_file(&file);
                streams.eprint("Edit cancelled, no changes made.\n");
                return Ok(());
            }
            if !has_lines(&edited) {
                let _ = std::fs::remove_file(&file);
                streams.eprint("Edit cancelled, saved file was empty.\n");
                return Ok(());
            }
            previous_file = Some(file.clone());
            reasons.clear();
            let updated = match parse_edited(&edited) {
                Ok(u) => u,
                Err(e) => {
                    contains_error = true;
                    reasons.push(EditReason { head: format!("The edited file had a syntax error: {e}"), other: Vec::new() });
                    continue;
                }
            };
            let mut results = Results::default();
            if let Err(e) = self.patch_all(&items, updated, &mut results, streams).await {
                return Err(preserved(e, Some(&file), streams));
            }
            let program = std::env::args_os()
                .next()
                .and_then(|a| Path::new(&a).file_name().map(|f| f.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "kubectl".into());
            if results.retryable > 0 {
                streams.eprint(&format!("You can run `{program} replace -f {}` to try this update again.\n", file.display()));
                return Err(CmdError::Exit(1));
            }
            if results.notfound > 0 {
                streams.eprint(&format!("The edits you made on deleted resources have been saved to {}\n", go_quote(&file.display().to_string())));
                return Err(CmdError::Exit(1));
            }
            if results.edit == 0 {
                let _ = std::fs::remove_file(&file);
                return Ok(());
            }
            reasons = results.reasons;
            contains_error = !reasons.is_empty();
        }
    }

    async fn patch_all(&self, items: &[Item], updated: Vec<Value>, results: &mut Results, streams: &mut Streams) -> Result<(), CmdError> {
        for mut obj in updated {
            let uid = uid_of(&obj).to_string();
            let Some(orig) = items.iter().find(|i| uid_of(&i.object) == uid) else {
                return Err(CmdError::msg(format!(
                    "no original object found for {}/{}",
                    obj.get("kind").and_then(Value::as_str).unwrap_or(""),
                    obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
                )));
            };
            strip_managed_fields(&mut obj);
            let t = &orig.target;
            if t.mapping.namespaced {
                let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
                if !ns.is_empty() && ns != self.namespace {
                    return Err(CmdError::msg(format!(
                        "the namespace from the provided object \"{ns}\" does not match the namespace \"{}\". You must pass '--namespace={ns}' to perform this operation.",
                        self.namespace
                    )));
                }
            }
            if self.args.save_config {
                set_last_applied(&mut obj);
            }
            if obj == orig.object {
                common::print_result(streams, &self.args.print, &t.mapping, &obj, "skipped", DryRun::None)?;
                continue;
            }
            let schema = patch_schema(self.client, &t.mapping).await;
            let (patch, content_type) = edit_patch(&orig.object, &obj, schema.as_ref())?;
            if self.args.output_patch {
                writeln!(streams.out, "Patch: {}", to_compact(&patch))?;
            }
            let mut path = t.path();
            if !self.args.subresource.is_empty() {
                path = format!("{path}/{}", self.args.subresource);
            }
            let req = Req::new(Method::PATCH, path)
                .query("fieldManager", self.args.field_manager.clone())
                .query("fieldValidation", self.validation)
                .body(content_type, serde_json::to_vec(&patch).unwrap_or_default());
            match self.client.json(req).await {
                Ok(patched) => common::print_result(streams, &self.args.print, &t.mapping, &patched, "edited", DryRun::None)?,
                Err(e) => {
                    let line = results.add_error(&e, &t.mapping, t.name.as_deref().unwrap_or(""));
                    streams.eprint(&format!("{line}\n"));
                }
            }
        }
        Ok(())
    }
}

/// The objects of an edited file (lists flattened).
fn parse_edited(text: &str) -> Result<Vec<Value>, String> {
    let objects = crate::manifest::parse_source(text, "edited-file").map_err(|e| e.to_string())?;
    Ok(objects.into_iter().map(|m| m.object).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_with_reasons() {
        let h = header(&[EditReason { head: "deployments.apps \"web\" was not valid".into(), other: vec!["spec.replicas: Invalid value: -1: must be greater than or equal to 0".into()] }]);
        assert!(h.starts_with(HEADER));
        assert!(h.ends_with("#\n# deployments.apps \"web\" was not valid:\n# * spec.replicas: Invalid value: -1: must be greater than or equal to 0\n#\n"));
        assert_eq!(hash_on_line_break("a\nb\n#c"), "a\n# b\n#c");
    }

    #[test]
    fn comments_and_emptiness() {
        assert_eq!(manual_strip("# x\na: 1\n  # y\n#!keep\n"), "a: 1\n#!keep\n");
        assert_eq!(strip_comments("# c\na: 1\n"), strip_comments("a:   1 # other\n"));
        assert_ne!(strip_comments("a: 1\n"), strip_comments("a: 2\n"));
        assert!(!has_lines("# only\n\n   # comments\n"));
        assert!(has_lines("# c\nkind: x\n"));
    }

    #[test]
    fn editor_splitting_like_upstream() {
        let env = |v: &'static str| move |k: &str| if k == "KUBE_EDITOR" { Some(v.to_string()) } else { None };
        assert_eq!(editor_command(env("nano")), (vec!["nano".to_string()], false));
        assert_eq!(editor_command(env("code --wait")), (vec!["code".to_string(), "--wait".to_string()], false));
        let (words, shell) = editor_command(env("sed -i 's/a/b/'"));
        assert!(shell);
        assert_eq!(words[1..], ["-c".to_string(), "sed -i 's/a/b/'".to_string()]);
        assert_eq!(editor_argv(&words, true, "/tmp/x y.yaml").last().unwrap(), "sed -i 's/a/b/' \"/tmp/x y.yaml\"");
        assert_eq!(editor_command(|_| None), (vec!["vi".to_string()], false));
        assert_eq!(editor_command(|k| (k == "EDITOR").then(|| "emacs".to_string())).0, vec!["emacs"]);
    }

    #[test]
    fn merge_patch_and_preconditions() {
        let orig = json!({"apiVersion": "example.com/v1", "kind": "Foo", "metadata": {"name": "a"}, "spec": {"x": 1, "y": 2}});
        let mut edited = orig.clone();
        edited["spec"]["x"] = json!(3);
        edited["spec"].as_object_mut().unwrap().remove("y");
        let (patch, ct) = edit_patch(&orig, &edited, None).unwrap();
        assert_eq!(ct, "application/merge-patch+json");
        assert_eq!(patch, json!({"spec": {"x": 3, "y": null}}));
        edited["metadata"]["name"] = json!("b");
        assert_eq!(edit_patch(&orig, &edited, None).unwrap_err().to_string(), "At least one of apiVersion, kind and name was changed");
    }
}
