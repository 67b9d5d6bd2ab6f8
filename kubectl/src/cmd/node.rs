//! Node maintenance: `kubectl cordon`, `uncordon`, `drain` (cordon, then evict or delete the
//! node's pods and wait for them to go) and `taint`.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::client::{ApiClient, Method, Req};
use crate::cmd::common::{self, DryRun, PrintArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::resource::Target;
use crate::util::{parse_go_duration, Streams};

/// Flags of `kubectl cordon` / `uncordon`.
#[derive(clap::Args, Debug)]
pub struct CordonArgs {
    /// NODE
    pub nodes: Vec<String>,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Must be "none", "server", or "client".
    #[arg(long, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "unchanged")]
    pub dry_run: String,
}

/// Flags of `kubectl drain`.
#[derive(clap::Args, Debug)]
pub struct DrainArgs {
    /// NODE
    pub nodes: Vec<String>,
    /// Continue even if there are pods not managed by a controller.
    #[arg(long)]
    pub force: bool,
    /// Ignore DaemonSet-managed pods.
    #[arg(long)]
    pub ignore_daemonsets: bool,
    /// Continue even if there are pods using emptyDir.
    #[arg(long)]
    pub delete_emptydir_data: bool,
    /// Delete pods instead of evicting them.
    #[arg(long)]
    pub disable_eviction: bool,
    /// Period of time in seconds given to each pod to terminate gracefully.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub grace_period: i64,
    /// The length of time to wait before giving up, zero means infinite.
    #[arg(long, default_value = "0s")]
    pub timeout: String,
    /// Label selector to filter pods on the node.
    #[arg(long, default_value = "")]
    pub pod_selector: String,
    /// Must be "none", "server", or "client".
    #[arg(long, default_value = "none", num_args = 0..=1, require_equals = true, default_missing_value = "unchanged")]
    pub dry_run: String,
}

/// Flags of `kubectl taint`.
#[derive(clap::Args, Debug)]
pub struct TaintArgs {
    /// node NODE KEY_1=VAL_1:TAINT_EFFECT_1 ... KEY_N-
    pub args: Vec<String>,
    /// If true, allow taints to be overwritten.
    #[arg(long)]
    pub overwrite: bool,
    /// Select all nodes in the cluster.
    #[arg(long)]
    pub all: bool,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Output.
    #[command(flatten)]
    pub print: PrintArgs,
}

async fn node_targets(f: &Factory, names: &[String], selector: Option<&str>) -> Result<Vec<Target>, CmdError> {
    let mapper = f.mapper().await?;
    let mapping = mapper.resolve("nodes")?;
    if names.is_empty() {
        let Some(sel) = selector else {
            return Err(CmdError::usage("kubectl cordon", "USAGE: cordon NODE [flags]"));
        };
        let client = f.client().await?;
        let list = client.json(Req::get("/api/v1/nodes").query("labelSelector", sel)).await?;
        return Ok(list.get("items").and_then(Value::as_array).into_iter().flatten()
            .map(|n| Target { mapping: mapping.clone(), namespace: None, name: n.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string), object: None, source: String::new() })
            .collect());
    }
    Ok(names.iter().map(|n| Target { mapping: mapping.clone(), namespace: None, name: Some(n.clone()), object: None, source: String::new() }).collect())
}

async fn set_unschedulable(client: &ApiClient, t: &Target, desired: bool, dry_run: DryRun, streams: &mut Streams) -> Result<(), CmdError> {
    let node = client.json(Req::get(t.path())).await?;
    let current = node.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false);
    let verb = if desired { "cordoned" } else { "uncordoned" };
    if current == desired {
        writeln!(streams.out, "{} already {verb}", t.display_name())?;
        return Ok(());
    }
    if dry_run != DryRun::Client {
        let patch = json!({"spec": {"unschedulable": if desired { json!(true) } else { Value::Null }}});
        let mut req = Req::new(Method::PATCH, t.path()).body("application/strategic-merge-patch+json", serde_json::to_vec(&patch).unwrap_or_default());
        if dry_run == DryRun::Server {
            req = req.query("dryRun", "All");
        }
        client.json(req).await?;
    }
    writeln!(streams.out, "{} {verb}{}", t.display_name(), dry_run.suffix())?;
    Ok(())
}

/// `kubectl cordon` (`desired` true) and `kubectl uncordon`.
pub async fn cordon(f: &Factory, a: CordonArgs, desired: bool, streams: &mut Streams) -> Result<(), CmdError> {
    let dry_run = DryRun::parse(&a.dry_run, streams)?;
    let client = f.client().await?;
    for t in node_targets(f, &a.nodes, a.selector.as_deref()).await? {
        set_unschedulable(client, &t, desired, dry_run, streams).await?;
    }
    Ok(())
}

fn controller(pod: &Value) -> Option<(String, String)> {
    pod.pointer("/metadata/ownerReferences").and_then(Value::as_array).into_iter().flatten()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|o| (o["kind"].as_str().unwrap_or("").to_string(), o["name"].as_str().unwrap_or("").to_string()))
}

fn pod_key(p: &Value) -> String {
    format!("{}/{}", p.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(""), p.pointer("/metadata/name").and_then(Value::as_str).unwrap_or(""))
}

/// Splits a node's pods into those to remove, warnings, and errors (upstream's filters).
fn filter_pods(pods: Vec<Value>, a: &DrainArgs) -> (Vec<Value>, Vec<String>, Vec<String>) {
    let (mut keep, mut daemonsets, mut unmanaged, mut local, mut errors) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in pods {
        let phase = p.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
        if p.pointer("/metadata/annotations/kubernetes.io~1config.mirror").is_some() {
            continue;
        }
        let finished = phase == "Succeeded" || phase == "Failed";
        match controller(&p) {
            Some((k, _)) if k == "DaemonSet" => {
                daemonsets.push(pod_key(&p));
                continue;
            }
            None if !finished => unmanaged.push(pod_key(&p)),
            _ => {}
        }
        let has_local = p.pointer("/spec/volumes").and_then(Value::as_array).into_iter().flatten().any(|v| v.get("emptyDir").is_some());
        if has_local && !finished {
            local.push(pod_key(&p));
        }
        keep.push(p);
    }
    let mut warnings = Vec::new();
    if !daemonsets.is_empty() {
        if a.ignore_daemonsets {
            warnings.push(format!("ignoring DaemonSet-managed Pods: {}", daemonsets.join(", ")));
        } else {
            errors.push(format!("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): {}", daemonsets.join(", ")));
        }
    }
    if !unmanaged.is_empty() {
        if a.force {
            warnings.push(format!("deleting Pods that declare no controller: {}", unmanaged.join(", ")));
        } else {
            errors.push(format!("cannot delete Pods that declare no controller (use --force to override): {}", unmanaged.join(", ")));
        }
    }
    if !local.is_empty() {
        if a.delete_emptydir_data {
            warnings.push(format!("deleting Pods with local storage: {}", local.join(", ")));
        } else {
            errors.push(format!("cannot delete Pods with local storage (use --delete-emptydir-data to override): {}", local.join(", ")));
        }
    }
    (keep, warnings, errors)
}

/// `kubectl drain`.
pub async fn drain(f: &Factory, a: DrainArgs, streams: &mut Streams) -> Result<(), CmdError> {
    let dry_run = DryRun::parse(&a.dry_run, streams)?;
    let client = f.client().await?;
    for t in node_targets(f, &a.nodes, None).await? {
        set_unschedulable(client, &t, true, dry_run, streams).await?;
        let node = t.name.clone().unwrap_or_default();
        let list = client.json(Req::get("/api/v1/pods").query("fieldSelector", format!("spec.nodeName={node}")).query_opt("labelSelector", &a.pod_selector)).await?;
        let pods = list.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
        let (pods, warnings, errors) = filter_pods(pods, &a);
        if !errors.is_empty() {
            streams.eprintln(&format!("error: unable to drain node {node:?} due to error: {}, continuing command...", errors.join(", ")));
            streams.eprintln(&format!("There are pending nodes to be drained:\n {node}"));
            return Err(CmdError::Verbatim(errors.join("\n")));
        }
        for w in &warnings {
            streams.eprintln(&format!("Warning: {w}"));
        }
        for p in &pods {
            remove_pod(client, p, &a, dry_run, streams).await?;
        }
        if dry_run == DryRun::None {
            wait_pods_gone(client, &pods, &a.timeout).await?;
        }
        writeln!(streams.out, "{} drained{}", t.display_name(), dry_run.suffix())?;
    }
    Ok(())
}

async fn remove_pod(client: &ApiClient, p: &Value, a: &DrainArgs, dry_run: DryRun, streams: &mut Streams) -> Result<(), CmdError> {
    let ns = p.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
    let name = p.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let path = format!("/api/v1/namespaces/{ns}/pods/{name}");
    let mut options = json!({});
    if a.grace_period >= 0 {
        options["gracePeriodSeconds"] = json!(a.grace_period);
    }
    if !a.disable_eviction {
        writeln!(streams.out, "evicting pod {ns}/{name}")?;
    }
    if dry_run == DryRun::None {
        if a.disable_eviction {
            client.call(Req::new(Method::DELETE, path).json(&options)).await?;
        } else {
            let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": ns}, "deleteOptions": options});
            client.call(Req::new(Method::POST, format!("{path}/eviction")).json(&eviction)).await?;
        }
    }
    let verb = if a.disable_eviction { "deleted" } else { "evicted" };
    writeln!(streams.out, "pod/{name} {verb}{}", dry_run.suffix())?;
    Ok(())
}

async fn wait_pods_gone(client: &ApiClient, pods: &[Value], timeout: &str) -> Result<(), CmdError> {
    let deadline = parse_go_duration(timeout).filter(|d| !d.is_zero()).map(|d| Instant::now() + d);
    for p in pods {
        let ns = p.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
        let name = p.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
        let uid = p.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("");
        loop {
            match client.json(Req::get(format!("/api/v1/namespaces/{ns}/pods/{name}"))).await {
                Err(e) if e.is_not_found() => break,
                Ok(cur) if cur.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid) => break,
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(CmdError::msg(format!("error when waiting for pod {name:?} in namespace {ns:?} to terminate: global timeout reached")));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

/// One `KEY[=VALUE]:EFFECT` or removal `KEY[:EFFECT]-`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaintSpec {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
    /// Effect ("" matches any on removal).
    pub effect: String,
}

/// Parses taint arguments into additions and removals.
pub fn parse_taints(specs: &[String]) -> Result<(Vec<TaintSpec>, Vec<TaintSpec>), CmdError> {
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for s in specs {
        if let Some(r) = s.strip_suffix('-') {
            let (key, effect) = r.split_once(':').unwrap_or((r, ""));
            remove.push(TaintSpec { key: key.into(), value: String::new(), effect: effect.into() });
            continue;
        }
        let (kv, effect) = s.split_once(':').ok_or_else(|| CmdError::msg(format!("invalid taint spec: {s}")))?;
        if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
            return Err(CmdError::msg(format!("invalid taint effect: {effect}, unsupported taint effect")));
        }
        let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
        add.push(TaintSpec { key: key.into(), value: value.into(), effect: effect.into() });
    }
    Ok((add, remove))
}

/// `kubectl taint`.
pub async fn taint(f: &Factory, a: TaintArgs, streams: &mut Streams) -> Result<(), CmdError> {
    let (res, specs): (Vec<String>, Vec<String>) = a.args.iter().cloned().partition(|s| !s.contains(':') && !s.contains('=') && !s.ends_with('-'));
    let (add, remove) = parse_taints(&specs)?;
    let names: Vec<String> = match res.as_slice() {
        [kind, rest @ ..] if kind.starts_with("node") && !kind.contains('/') => rest.to_vec(),
        all => all.iter().map(|r| r.split_once('/').map(|(_, n)| n.to_string()).unwrap_or_default()).collect(),
    };
    let client = f.client().await?;
    for t in node_targets(f, &names, a.selector.as_deref()).await? {
        let node = client.json(Req::get(t.path())).await?;
        let mut taints: Vec<Value> = node.pointer("/spec/taints").and_then(Value::as_array).cloned().unwrap_or_default();
        let node_name = t.name.clone().unwrap_or_default();
        for s in &add {
            let exists = taints.iter().position(|x| x["key"] == s.key.as_str() && x["effect"] == s.effect.as_str());
            match exists {
                Some(_) if !a.overwrite => {
                    return Err(CmdError::msg(format!("node {node_name} already has {} taint(s) with same effect(s) and --overwrite is false", s.key)));
                }
                Some(i) => taints[i] = json!({"key": s.key, "value": s.value, "effect": s.effect}),
                None => taints.push(json!({"key": s.key, "value": s.value, "effect": s.effect})),
            }
        }
        for s in &remove {
            let before = taints.len();
            taints.retain(|x| !(x["key"] == s.key.as_str() && (s.effect.is_empty() || x["effect"] == s.effect.as_str())));
            if taints.len() == before {
                return Err(CmdError::msg(format!("taint {:?} not found", if s.effect.is_empty() { s.key.clone() } else { format!("{}:{}", s.key, s.effect) })));
            }
        }
        let patch = json!({"spec": {"taints": taints}});
        let out = client.json(Req::new(Method::PATCH, t.path()).body("application/strategic-merge-patch+json", serde_json::to_vec(&patch).unwrap_or_default())).await?;
        let op = if add.is_empty() { "untainted" } else if !remove.is_empty() { "modified" } else { "tainted" };
        common::print_result(streams, &a.print, &t.mapping, &out, op, DryRun::None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taint_specs() {
        let (add, remove) = parse_taints(&["k=v:NoSchedule".into(), "x:NoExecute-".into(), "y-".into()]).unwrap();
        assert_eq!(add, vec![TaintSpec { key: "k".into(), value: "v".into(), effect: "NoSchedule".into() }]);
        assert_eq!(remove.len(), 2);
        assert!(parse_taints(&["k=v:Bad".into()]).is_err());
    }
}
