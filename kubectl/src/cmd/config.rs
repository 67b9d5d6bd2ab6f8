//! `kubectl config view|current-context|use-context|get-contexts|get-clusters|get-users|
//! set-context`: the merged kubeconfig, printed redacted unless `--raw`.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use serde_json::{json, Value};

use crate::config;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::tabwriter::TabWriter;
use crate::printers::{GenericPrinter, OutputFormat};
use crate::util::Streams;

/// Flags of `kubectl config`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The config action.
    #[command(subcommand)]
    pub action: Action,
}

/// `config` subcommands.
#[derive(Subcommand, Debug)]
pub enum Action {
    /// Display merged kubeconfig settings or a specified kubeconfig file.
    View(ViewArgs),
    /// Display the current-context.
    #[command(name = "current-context")]
    CurrentContext,
    /// Set the current-context in a kubeconfig file.
    #[command(name = "use-context", alias = "use")]
    UseContext {
        /// CONTEXT_NAME
        name: String,
    },
    /// Describe one or many contexts.
    #[command(name = "get-contexts")]
    GetContexts {
        /// Only print the names.
        #[arg(short = 'o', long, default_value = "")]
        output: String,
        /// When using the default output format, don't print headers.
        #[arg(long)]
        no_headers: bool,
    },
    /// Display clusters defined in the kubeconfig.
    #[command(name = "get-clusters")]
    GetClusters,
    /// Display users defined in the kubeconfig.
    #[command(name = "get-users")]
    GetUsers,
    /// Set a context entry in kubeconfig.
    #[command(name = "set-context")]
    SetContext {
        /// CONTEXT_NAME
        name: Option<String>,
        /// Modify the current context.
        #[arg(long)]
        current: bool,
        /// cluster for the context entry.
        #[arg(long = "cluster", id = "ctx_cluster")]
        cluster: Option<String>,
        /// user for the context entry.
        #[arg(long = "user", id = "ctx_user")]
        user: Option<String>,
        /// namespace for the context entry.
        #[arg(long = "namespace", id = "ctx_namespace")]
        namespace: Option<String>,
    },
}

/// Flags of `config view`.
#[derive(clap::Args, Debug)]
pub struct ViewArgs {
    /// Output format.
    #[arg(short = 'o', long, default_value = "yaml")]
    pub output: String,
    /// Remove all information not used by current-context from the output.
    #[arg(long)]
    pub minify: bool,
    /// Display raw byte data and sensitive data.
    #[arg(long)]
    pub raw: bool,
    /// Flatten the resulting kubeconfig file into self-contained output.
    #[arg(long)]
    pub flatten: bool,
}

fn raw_config(f: &Factory) -> Result<config::RawConfig, CmdError> {
    Ok(config::load_raw(f.flags.kubeconfig.as_deref())?)
}

/// The kubeconfig as upstream's `clientcmdapi.Config` serializes it (struct field order).
fn as_json(kc: &kube::config::Kubeconfig) -> Value {
    use secrecy::ExposeSecret;
    let clusters: Vec<Value> = kc.clusters.iter().map(|c| {
        let cl = c.cluster.clone().unwrap_or_default();
        let mut m = serde_json::Map::new();
        m.insert("server".into(), json!(cl.server.unwrap_or_default()));
        if let Some(x) = cl.tls_server_name { m.insert("tls-server-name".into(), json!(x)); }
        if cl.insecure_skip_tls_verify == Some(true) { m.insert("insecure-skip-tls-verify".into(), json!(true)); }
        if let Some(x) = cl.certificate_authority { m.insert("certificate-authority".into(), json!(x)); }
        if let Some(x) = cl.certificate_authority_data { m.insert("certificate-authority-data".into(), json!(x)); }
        if let Some(x) = cl.proxy_url { m.insert("proxy-url".into(), json!(x)); }
        json!({"name": c.name, "cluster": m})
    }).collect();
    let users: Vec<Value> = kc.auth_infos.iter().map(|u| {
        let a = u.auth_info.clone().unwrap_or_default();
        let mut m = serde_json::Map::new();
        if let Some(x) = a.client_certificate { m.insert("client-certificate".into(), json!(x)); }
        if let Some(x) = a.client_certificate_data { m.insert("client-certificate-data".into(), json!(x)); }
        if let Some(x) = a.client_key { m.insert("client-key".into(), json!(x)); }
        if let Some(x) = a.client_key_data { m.insert("client-key-data".into(), json!(x.expose_secret())); }
        if let Some(x) = a.token { m.insert("token".into(), json!(x.expose_secret())); }
        if let Some(x) = a.token_file { m.insert("tokenFile".into(), json!(x)); }
        if let Some(x) = a.impersonate { m.insert("as".into(), json!(x)); }
        if let Some(x) = a.impersonate_groups { m.insert("as-groups".into(), json!(x)); }
        if let Some(x) = a.username { m.insert("username".into(), json!(x)); }
        if let Some(x) = a.password { m.insert("password".into(), json!(x.expose_secret())); }
        if let Some(x) = a.exec { m.insert("exec".into(), serde_json::to_value(x).unwrap_or(Value::Null)); }
        json!({"name": u.name, "user": m})
    }).collect();
    let contexts: Vec<Value> = kc.contexts.iter().map(|c| {
        let ctx = c.context.clone().unwrap_or_default();
        let mut m = serde_json::Map::new();
        m.insert("cluster".into(), json!(ctx.cluster));
        m.insert("user".into(), json!(ctx.user.unwrap_or_default()));
        if let Some(ns) = ctx.namespace { m.insert("namespace".into(), json!(ns)); }
        json!({"name": c.name, "context": m})
    }).collect();
    let list = |v: Vec<Value>| if v.is_empty() { Value::Null } else { Value::Array(v) };
    json!({
        "kind": "Config",
        "apiVersion": "v1",
        "preferences": {},
        "clusters": list(clusters),
        "users": list(users),
        "contexts": list(contexts),
        "current-context": kc.current_context.clone().unwrap_or_default()
    })
}

fn redact(v: &mut Value) {
    for c in v.get_mut("clusters").and_then(Value::as_array_mut).into_iter().flatten() {
        if let Some(d) = c.pointer_mut("/cluster/certificate-authority-data") {
            *d = json!("DATA+OMITTED");
        }
    }
    for u in v.get_mut("users").and_then(Value::as_array_mut).into_iter().flatten() {
        if let Some(user) = u.get_mut("user").and_then(Value::as_object_mut) {
            for k in ["client-certificate-data"] {
                if user.contains_key(k) {
                    user.insert(k.into(), json!("DATA+OMITTED"));
                }
            }
            for k in ["client-key-data", "token", "password"] {
                if user.contains_key(k) {
                    user.insert(k.into(), json!("REDACTED"));
                }
            }
        }
    }
}

fn minify(v: &mut Value, context: &str) -> Result<(), CmdError> {
    let ctx = v.get("contexts").and_then(Value::as_array).and_then(|c| c.iter().find(|x| x["name"] == context)).cloned();
    let Some(ctx) = ctx else {
        return Err(CmdError::msg(format!("cannot locate context {context}")));
    };
    let cluster = ctx.pointer("/context/cluster").cloned().unwrap_or(Value::Null);
    let user = ctx.pointer("/context/user").cloned().unwrap_or(Value::Null);
    v["contexts"] = json!([ctx]);
    v["current-context"] = json!(context);
    for (key, name) in [("clusters", cluster), ("users", user)] {
        let kept: Vec<Value> = v.get(key).and_then(Value::as_array).into_iter().flatten().filter(|x| x["name"] == name).cloned().collect();
        v[key] = Value::Array(kept);
    }
    Ok(())
}

/// `kubectl config`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let raw = raw_config(f)?;
    let current = f.flags.context.clone().or_else(|| raw.kubeconfig.current_context.clone()).unwrap_or_default();
    match a.action {
        Action::View(v) => {
            let mut doc = as_json(&raw.kubeconfig);
            if v.minify {
                minify(&mut doc, &current)?;
            }
            if !v.raw {
                redact(&mut doc);
            }
            let mut p = GenericPrinter::new(OutputFormat::parse(&v.output, None)?);
            p.sort_keys = false;
            p.print(&doc, &mut streams.out)?;
        }
        Action::CurrentContext => {
            if current.is_empty() {
                return Err(CmdError::msg("current-context is not set"));
            }
            writeln!(streams.out, "{current}")?;
        }
        Action::UseContext { name } => {
            if !raw.kubeconfig.contexts.iter().any(|c| c.name == name) {
                return Err(CmdError::msg(format!("no context exists with the name: {name:?}")));
            }
            edit_file(&raw, |doc| doc["current-context"] = json!(name))?;
            writeln!(streams.out, "Switched to context {name:?}.")?;
        }
        Action::GetContexts { output, no_headers } => {
            let mut tw = TabWriter::kubectl();
            if output != "name" && !no_headers {
                tw.write_str("CURRENT\tNAME\tCLUSTER\tAUTHINFO\tNAMESPACE\n");
            }
            for c in &raw.kubeconfig.contexts {
                let ctx = c.context.clone().unwrap_or_default();
                if output == "name" {
                    tw.write_str(&format!("{}\n", c.name));
                } else {
                    let star = if c.name == current { "*" } else { "" };
                    tw.write_str(&format!("{star}\t{}\t{}\t{}\t{}\n", c.name, ctx.cluster, ctx.user.unwrap_or_default(), ctx.namespace.unwrap_or_default()));
                }
            }
            tw.flush(&mut streams.out)?;
        }
        Action::GetClusters => {
            writeln!(streams.out, "NAME")?;
            for c in &raw.kubeconfig.clusters {
                writeln!(streams.out, "{}", c.name)?;
            }
        }
        Action::GetUsers => {
            writeln!(streams.out, "NAME")?;
            for u in &raw.kubeconfig.auth_infos {
                writeln!(streams.out, "{}", u.name)?;
            }
        }
        Action::SetContext { name, current: use_current, cluster, user, namespace } => {
            let name = if use_current { current.clone() } else { name.ok_or_else(|| CmdError::msg("you must specify a non-empty context name or --current"))? };
            let exists = raw.kubeconfig.contexts.iter().any(|c| c.name == name);
            edit_file(&raw, |doc| set_context(doc, &name, cluster.as_deref(), user.as_deref(), namespace.as_deref()))?;
            writeln!(streams.out, "Context {name:?} {}.", if exists { "modified" } else { "created" })?;
        }
    }
    Ok(())
}

fn set_context(doc: &mut Value, name: &str, cluster: Option<&str>, user: Option<&str>, namespace: Option<&str>) {
    if !doc.get("contexts").is_some_and(Value::is_array) {
        doc["contexts"] = json!([]);
    }
    let list = doc["contexts"].as_array_mut().expect("array");
    if !list.iter().any(|c| c["name"] == name) {
        list.push(json!({"name": name, "context": {}}));
    }
    for c in list.iter_mut().filter(|c| c["name"] == name) {
        for (k, v) in [("cluster", cluster), ("user", user), ("namespace", namespace)] {
            if let Some(v) = v {
                c["context"][k] = json!(v);
            }
        }
    }
}

/// Rewrites the first kubeconfig file (or `~/.kube/config`) with an edit.
fn edit_file(raw: &config::RawConfig, edit: impl FnOnce(&mut Value)) -> Result<(), CmdError> {
    let path: PathBuf = raw.files.first().cloned().or_else(|| config::kubeconfig_paths(None).into_iter().next()).ok_or_else(|| CmdError::msg("no kubeconfig file"))?;
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut doc = crate::manifest::parse_documents(&text, &path.display().to_string())?.into_iter().next().unwrap_or_else(|| json!({"apiVersion": "v1", "kind": "Config"}));
    edit(&mut doc);
    std::fs::write(&path, crate::printers::yaml::to_yaml(&doc))?;
    Ok(())
}
