//! `kubectl auth can-i` (SelfSubjectAccessReview / SelfSubjectRulesReview) and
//! `kubectl auth whoami` (SelfSubjectReview).

use std::io::Write;

use clap::Subcommand;
use serde_json::{json, Value};

use crate::client::{Method, Req};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::tabwriter::TabWriter;
use crate::printers::{GenericPrinter, OutputFormat};
use crate::util::Streams;

/// Flags of `kubectl auth`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The auth action.
    #[command(subcommand)]
    pub action: Action,
}

/// `auth` subcommands.
#[derive(Subcommand, Debug)]
pub enum Action {
    /// Check whether an action is allowed.
    #[command(name = "can-i")]
    CanI(CanIArgs),
    /// Experimental: Check self subject attributes.
    Whoami {
        /// Output format.
        #[arg(short = 'o', long, default_value = "")]
        output: String,
    },
}

/// Flags of `auth can-i`.
#[derive(clap::Args, Debug)]
pub struct CanIArgs {
    /// VERB [TYPE | TYPE/NAME | NONRESOURCEURL]
    pub args: Vec<String>,
    /// If true, check the specified action in all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// If true, prints all allowed actions.
    #[arg(long)]
    pub list: bool,
    /// If true, suppress output and just return the exit code.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// SubResource such as pod/log or deployment/scale.
    #[arg(long, default_value = "")]
    pub subresource: String,
    /// If true, prints allowed actions without headers.
    #[arg(long)]
    pub no_headers: bool,
}

/// `kubectl auth`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    match a.action {
        Action::CanI(c) if c.list => list(f, c, streams).await,
        Action::CanI(c) => can_i(f, c, streams).await,
        Action::Whoami { output } => whoami(f, &output, streams).await,
    }
}

async fn can_i(f: &Factory, c: CanIArgs, streams: &mut Streams) -> Result<(), CmdError> {
    if c.args.len() < 2 {
        return Err(CmdError::usage("kubectl auth can-i", "you must specify two arguments: verb resource or verb resource/resourceName"));
    }
    let verb = c.args[0].clone();
    let target = &c.args[1];
    let (ns, _) = f.namespace()?;
    let ns = if c.all_namespaces { String::new() } else { ns };
    let spec = if target.starts_with('/') {
        json!({"nonResourceAttributes": {"path": target, "verb": verb}})
    } else {
        let (res, name) = target.split_once('/').map(|(r, n)| (r.to_string(), n.to_string())).unwrap_or((target.clone(), String::new()));
        let mapper = f.mapper().await?;
        let (group, resource) = match mapper.resolve(&res) {
            Ok(m) => (m.group.clone(), m.resource.clone()),
            Err(_) => {
                let (r, g) = res.split_once('.').unwrap_or((&res, ""));
                streams.eprintln(&format!("Warning: the server doesn't have a resource type '{r}'"));
                (g.to_string(), r.to_string())
            }
        };
        let mut ra = json!({"namespace": ns, "verb": verb, "group": group, "resource": resource});
        if !c.subresource.is_empty() {
            ra["subresource"] = json!(c.subresource);
        }
        if !name.is_empty() {
            ra["name"] = json!(name);
        }
        json!({"resourceAttributes": ra})
    };
    let review = json!({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "metadata": {"creationTimestamp": null}, "spec": spec, "status": {"allowed": false}});
    let client = f.client().await?;
    let res = client.json(Req::new(Method::POST, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews").json(&review)).await?;
    let allowed = res.pointer("/status/allowed").and_then(Value::as_bool).unwrap_or(false);
    if !c.quiet {
        writeln!(streams.out, "{}", if allowed { "yes" } else { "no" })?;
    }
    if allowed {
        Ok(())
    } else {
        Err(CmdError::Exit(1))
    }
}

async fn list(f: &Factory, c: CanIArgs, streams: &mut Streams) -> Result<(), CmdError> {
    let (ns, _) = f.namespace()?;
    let review = json!({"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1", "metadata": {"creationTimestamp": null}, "spec": {"namespace": ns}});
    let client = f.client().await?;
    let res = client.json(Req::new(Method::POST, "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews").json(&review)).await?;
    let strs = |v: &Value, k: &str| -> Vec<String> { v.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default() };
    let mut tw = TabWriter::kubectl();
    if !c.no_headers {
        tw.write_str("Resources\tNon-Resource URLs\tResource Names\tVerbs\n");
    }
    for r in res.pointer("/status/resourceRules").and_then(Value::as_array).into_iter().flatten() {
        for g in strs(r, "apiGroups") {
            for resource in strs(r, "resources") {
                let name = if g.is_empty() { resource.clone() } else { format!("{resource}.{g}") };
                tw.write_str(&format!("{name}\t[]\t[{}]\t[{}]\n", strs(r, "resourceNames").join(" "), strs(r, "verbs").join(" ")));
            }
        }
    }
    for r in res.pointer("/status/nonResourceRules").and_then(Value::as_array).into_iter().flatten() {
        tw.write_str(&format!("\t[{}]\t[]\t[{}]\n", strs(r, "nonResourceURLs").join(" "), strs(r, "verbs").join(" ")));
    }
    tw.flush(&mut streams.out)?;
    Ok(())
}

async fn whoami(f: &Factory, output: &str, streams: &mut Streams) -> Result<(), CmdError> {
    let client = f.client().await?;
    let review = json!({"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1", "metadata": {"creationTimestamp": null}, "status": {"userInfo": {}}});
    let res = client.json(Req::new(Method::POST, "/apis/authentication.k8s.io/v1/selfsubjectreviews").json(&review)).await?;
    if !output.is_empty() {
        let mut p = GenericPrinter::new(OutputFormat::parse(output, None)?);
        p.print(&res, &mut streams.out)?;
        return Ok(());
    }
    let info = res.pointer("/status/userInfo").cloned().unwrap_or(Value::Null);
    let mut tw = TabWriter::kubectl();
    tw.write_str("ATTRIBUTE\tVALUE\n");
    if let Some(u) = info.get("username").and_then(Value::as_str) {
        tw.write_str(&format!("Username\t{u}\n"));
    }
    if let Some(u) = info.get("uid").and_then(Value::as_str) {
        tw.write_str(&format!("UID\t{u}\n"));
    }
    if let Some(g) = info.get("groups").and_then(Value::as_array) {
        let groups: Vec<&str> = g.iter().filter_map(Value::as_str).collect();
        tw.write_str(&format!("Groups\t[{}]\n", groups.join(" ")));
    }
    if let Some(extra) = info.get("extra").and_then(Value::as_object) {
        let mut keys: Vec<&String> = extra.keys().collect();
        keys.sort();
        for k in keys {
            let vals: Vec<&str> = extra[k].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            tw.write_str(&format!("Extra: {k}\t[{}]\n", vals.join(" ")));
        }
    }
    tw.flush(&mut streams.out)?;
    Ok(())
}
