//! `kubectl diff -f FILE`: for each object, the live version and the version a dry-run apply
//! (client-side three-way patch, or `--server-side` apply; a dry-run create for new objects)
//! would leave, written as YAML into `LIVE-*` and `MERGED-*` temporary folders and compared with
//! `$KUBECTL_EXTERNAL_DIFF` or `diff -u -N`. Exit codes as upstream: 0 no differences, 1
//! differences, 2 and above errors. Secret values are masked.

use std::path::{Path, PathBuf};

use rkube_apimachinery::managed_fields::LAST_APPLIED_ANNOTATION;
use serde_json::{json, Map, Value};

use crate::client::{ApiClient, ApiError, Method, Req};
use crate::cmd::apply::{compute_patch, patch_schema};
use crate::cmd::common::{self, FileArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::json::to_compact;
use crate::printers::yaml::to_yaml;
use crate::resource::Target;
use crate::util::Streams;

const MAX_RETRIES: usize = 4;

/// Flags of `kubectl diff`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Unexpected positional arguments (rejected).
    #[arg(hide = true)]
    pub args: Vec<String>,
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// If true, apply runs in the server instead of the client.
    #[arg(long)]
    pub server_side: bool,
    /// If true, server-side apply will force the changes against conflicts.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Name of the manager used to track field ownership.
    #[arg(long)]
    pub field_manager: Option<String>,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Include resources that would be deleted by pruning (not supported).
    #[arg(long)]
    pub prune: bool,
    /// Overwrite the default allowlist with <group/version/kind> for --prune.
    #[arg(long)]
    pub prune_allowlist: Vec<String>,
    /// Number of objects to process in parallel when diffing against the live version.
    #[arg(long, default_value_t = 1)]
    pub concurrency: i32,
    /// If true, include managed fields in the diff.
    #[arg(long)]
    pub show_managed_fields: bool,
}

/// A temporary folder removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    /// `$TMPDIR/<prefix>-<random digits>`, as Go's `os.MkdirTemp(prefix + "-")`.
    fn new(prefix: &str) -> Result<Self, CmdError> {
        let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
            ^ (std::process::id() as u64).rotate_left(40)
            ^ (prefix.len() as u64).rotate_left(20);
        for _ in 0..1000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let path = std::env::temp_dir().join(format!("{prefix}-{}", (seed >> 33) as u32));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CmdError::msg("could not create a temporary directory"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The file name of an object in the diff folders: `[group.]version.Kind.namespace.name`.
pub fn object_file_name(t: &Target) -> String {
    let m = &t.mapping;
    let group = if m.group.is_empty() { String::new() } else { format!("{}.", m.group) };
    format!("{group}{}.{}.{}.{}", m.version, m.kind, t.namespace.as_deref().unwrap_or(""), t.name.as_deref().unwrap_or(""))
}

/// Upstream's `Masker`: Secret `data` values become `***`, or `*** (before)`/`*** (after)`
/// where they differ, so changes stay visible without showing values.
pub fn mask_secret_data(from: &mut Option<Value>, to: &mut Value) {
    let from_data = from.as_ref().and_then(|f| f.get("data")).and_then(Value::as_object).cloned();
    let to_data = to.get("data").and_then(Value::as_object).cloned();
    let (mut f, mut t) = (from_data.clone().unwrap_or_default(), to_data.clone().unwrap_or_default());
    for (k, fv) in from_data.iter().flatten() {
        if let Some(tv) = to_data.as_ref().and_then(|d| d.get(k)) {
            if fv != tv {
                f.insert(k.clone(), json!("*** (before)"));
                t.insert(k.clone(), json!("*** (after)"));
                continue;
            }
            t.insert(k.clone(), json!("***"));
        }
        f.insert(k.clone(), json!("***"));
    }
    for k in to_data.iter().flat_map(|d| d.keys()) {
        if !from_data.as_ref().is_some_and(|d| d.contains_key(k)) {
            t.insert(k.clone(), json!("***"));
        }
    }
    if let (Some(obj), Some(_)) = (from.as_mut(), from_data) {
        obj["data"] = Value::Object(f);
    }
    if to_data.is_some() {
        to["data"] = Value::Object(t);
    }
}

/// Upstream's `GetModifiedConfiguration(obj, false)`: the configuration with an annotations
/// map that holds no last-applied annotation.
pub fn modified_configuration(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if !annotations.is_object() {
            *annotations = json!({});
        }
        if let Some(a) = annotations.as_object_mut() {
            a.remove(LAST_APPLIED_ANNOTATION);
        }
    }
    out
}

/// The diff program's argv for two folders: `$KUBECTL_EXTERNAL_DIFF` split on spaces (extra
/// words kept only when made of letters, digits, `-` and `=`, after the folders), else
/// `diff -u -N`. Returns the argv and the ignored words.
pub fn diff_command(external: Option<&str>, from: &str, to: &str) -> (Vec<String>, Vec<String>) {
    match external.filter(|e| !e.is_empty()) {
        Some(cmd) => {
            let words: Vec<&str> = cmd.split(' ').collect();
            let mut argv = vec![words[0].to_string(), from.to_string(), to.to_string()];
            let mut ignored = Vec::new();
            for w in &words[1..] {
                if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '=') {
                    argv.push(w.to_string());
                } else {
                    ignored.push(w.to_string());
                }
            }
            (argv, ignored)
        }
        None => (vec!["diff".into(), "-u".into(), "-N".into(), from.into(), to.into()], Vec::new()),
    }
}

/// A klog-style warning line (`W1125 17:50:59.614806   12010 diff.go:723] ...`).
fn klog_warning(msg: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let ts = k8s_openapi::jiff::Timestamp::from_second(now.as_secs() as i64).unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
    let dt = ts.to_zoned(k8s_openapi::jiff::tz::TimeZone::UTC).datetime();
    format!(
        "W{:02}{:02} {:02}:{:02}:{:02}.{:06} {:>7} diff.go:723] {msg}\n",
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        now.subsec_micros(),
        std::process::id()
    )
}

/// `kubectl diff`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if a.files.filenames.is_empty() && a.files.kustomize.is_none() {
        return Err(CmdError::msg("must specify one of -f and -k"));
    }
    if !a.args.is_empty() {
        return Err(CmdError::usage("kubectl diff", format!("Unexpected args: [{}]", a.args.join(" "))));
    }
    if a.force_conflicts && !a.server_side {
        return Err(CmdError::msg("--force-conflicts only works with --server-side"));
    }
    if a.prune {
        return Err(CmdError::msg("--prune is not supported by this kubectl"));
    }
    let manager = a.field_manager.clone().unwrap_or_else(|| (if a.server_side { "kubectl" } else { "kubectl-client-side-apply" }).into());
    let live_dir = TempDir::new("LIVE")?;
    let merged_dir = TempDir::new("MERGED")?;
    let scope = common::scope(f, false, a.selector.as_deref(), None)?;
    let mut targets = common::targets(f, &a.files, &[], &scope).await?;
    if let Some(sel) = a.selector.as_deref().filter(|s| !s.is_empty()) {
        let selector = rkube_apimachinery::label_selector::LabelSelector::parse(sel).map_err(|e| CmdError::msg(e.to_string()))?;
        targets.retain(|t| t.object.as_ref().is_some_and(|o| selector.matches_object(o)));
    }
    let client = f.client().await?;
    let ctx = DiffCtx { client, manager, server_side: a.server_side, force_conflicts: a.force_conflicts };
    for t in &targets {
        let (mut live, mut merged) = ctx.versions(t, streams).await?;
        if !a.show_managed_fields {
            for o in live.iter_mut().chain(std::iter::once(&mut merged)) {
                if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("managedFields");
                }
            }
        }
        let is_secret = merged.get("apiVersion").and_then(Value::as_str) == Some("v1") && merged.get("kind").and_then(Value::as_str) == Some("Secret");
        let name = object_file_name(t);
        let live_text = match (&mut live, is_secret) {
            (l, true) => {
                mask_secret_data(l, &mut merged);
                l.as_ref().map(to_yaml).unwrap_or_else(|| "null\n".into())
            }
            (Some(l), false) => to_yaml(l),
            (None, false) => String::new(),
        };
        write_file(&live_dir.0.join(&name), &live_text)?;
        write_file(&merged_dir.0.join(&name), &to_yaml(&merged))?;
        if live.as_ref().and_then(|l| l.pointer("/metadata/deletionTimestamp")).is_some_and(|d| !d.is_null()) {
            streams.eprint(&format!(
                "Warning: Detected changes to resource {} which is currently being deleted.\n",
                t.name.as_deref().unwrap_or("")
            ));
        }
    }
    run_diff_program(&live_dir.0, &merged_dir.0, streams)
}

fn write_file(path: &Path, text: &str) -> Result<(), CmdError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o700);
    use std::io::Write;
    opts.open(path)?.write_all(text.as_bytes())?;
    Ok(())
}

fn run_diff_program(from: &Path, to: &Path, streams: &mut Streams) -> Result<(), CmdError> {
    let external = std::env::var("KUBECTL_EXTERNAL_DIFF").ok();
    let (argv, ignored) = diff_command(external.as_deref(), &from.display().to_string(), &to.display().to_string());
    for w in ignored {
        streams.eprint(&klog_warning(&format!("invalid argument is ignored: {w}, only Alphanumeric (case-insensitive), dash and equal are allowed")));
    }
    let _ = streams.flush();
    let status = std::process::Command::new(&argv[0]).args(&argv[1..]).status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) if s.code() == Some(1) => Err(CmdError::Exit(1)),
        Ok(s) => {
            let why = match s.code() {
                Some(c) => format!("exit status {c}"),
                None => {
                    use std::os::unix::process::ExitStatusExt;
                    format!("signal: {}", signal_name(s.signal().unwrap_or(0)))
                }
            };
            Err(CmdError::msg(format!("failed to run \"{}\": {why}", argv[0])))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(CmdError::msg(format!("failed to run \"{}\": executable file not found in $PATH", argv[0])))
        }
        Err(e) => Err(CmdError::msg(format!("failed to run \"{}\": {e}", argv[0]))),
    }
}

fn signal_name(sig: i32) -> String {
    match sig {
        9 => "killed".into(),
        15 => "terminated".into(),
        2 => "interrupt".into(),
        6 => "aborted".into(),
        11 => "segmentation fault".into(),
        n => format!("signal {n}"),
    }
}

struct DiffCtx<'a> {
    client: &'a ApiClient,
    manager: String,
    server_side: bool,
    force_conflicts: bool,
}

impl DiffCtx<'_> {
    /// The live object (None if absent) and the merged one, retrying on conflicts.
    async fn versions(&self, t: &Target, streams: &mut Streams) -> Result<(Option<Value>, Value), CmdError> {
        let mut local = t.object.clone().unwrap_or(Value::Null);
        common::set_namespace(&mut local, t);
        let mut attempt = 1;
        loop {
            let live = match self.client.json(Req::get(t.path())).await {
                Ok(l) => Some(l),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e.into()),
            };
            let force = attempt == MAX_RETRIES;
            if force {
                let gv = format!("{}/{}", t.mapping.group, t.mapping.version);
                streams.eprint(&klog_warning(&format!(
                    "Object ({gv}, Kind={}: {}) keeps changing, diffing without lock",
                    t.mapping.kind,
                    t.name.as_deref().unwrap_or("")
                )));
            }
            match self.merged(t, &local, live.as_ref(), force).await {
                Ok(m) => return Ok((live, m)),
                Err(e) if e.is_conflict() && attempt < MAX_RETRIES => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn merged(&self, t: &Target, local: &Value, live: Option<&Value>, force: bool) -> Result<Value, ApiError> {
        if self.server_side {
            let req = Req::new(Method::PATCH, t.path())
                .query("dryRun", "All")
                .query("fieldManager", self.manager.clone())
                .query("force", self.force_conflicts.to_string())
                .body("application/apply-patch+yaml", to_compact(local).into_bytes());
            return self.client.json(req).await;
        }
        let Some(live) = live else {
            let req = Req::new(Method::POST, t.collection_path()).query("dryRun", "All").query("fieldManager", self.manager.clone()).json(local);
            return self.client.json(req).await;
        };
        let modified = modified_configuration(local);
        let schema = patch_schema(self.client, &t.mapping).await;
        let (mut patch, content_type) = compute_patch(t, &modified, live, schema.as_ref(), true).map_err(ApiError::Decode)?;
        if patch == json!({}) {
            return Ok(live.clone());
        }
        if !force {
            if let Some(rv) = live.pointer("/metadata/resourceVersion").cloned() {
                add_resource_version(&mut patch, rv);
            }
        }
        let req = Req::new(Method::PATCH, t.path())
            .query("dryRun", "All")
            .query("fieldManager", self.manager.clone())
            .body(content_type, serde_json::to_vec(&patch).unwrap_or_default());
        self.client.json(req).await
    }
}

fn add_resource_version(patch: &mut Value, rv: Value) {
    if let Some(p) = patch.as_object_mut() {
        let meta = p.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = meta.as_object_mut() {
            m.insert("resourceVersion".into(), rv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_like_upstream() {
        let mut from = Some(json!({"data": {"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}}));
        let mut to = json!({"data": {"same": "YQ==", "changed": "Zg==", "new": "ZA=="}});
        mask_secret_data(&mut from, &mut to);
        assert_eq!(from.unwrap()["data"], json!({"same": "***", "changed": "*** (before)", "gone": "***"}));
        assert_eq!(to["data"], json!({"same": "***", "changed": "*** (after)", "new": "***"}));
        let mut none = None;
        let mut created = json!({"data": {"x": "MQ=="}});
        mask_secret_data(&mut none, &mut created);
        assert_eq!(created["data"]["x"], "***");
        assert!(none.is_none());
    }

    #[test]
    fn diff_programs() {
        assert_eq!(diff_command(None, "/a", "/b").0, ["diff", "-u", "-N", "/a", "/b"]);
        let (argv, ignored) = diff_command(Some("colordiff -N -u --x=1 $(rm)"), "/a", "/b");
        assert_eq!(argv, ["colordiff", "/a", "/b", "-N", "-u", "--x=1"]);
        assert_eq!(ignored, ["$(rm)"]);
    }

    #[test]
    fn modified_configuration_drops_last_applied() {
        let obj = json!({"metadata": {"name": "x", "annotations": {LAST_APPLIED_ANNOTATION: "{}", "a": "b"}}});
        assert_eq!(modified_configuration(&obj)["metadata"]["annotations"], json!({"a": "b"}));
        assert_eq!(modified_configuration(&json!({"metadata": {"name": "x"}}))["metadata"]["annotations"], json!({}));
    }
}
