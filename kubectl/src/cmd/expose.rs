//! `kubectl expose`: a Service selecting the pods of a deployment, replica set, replication
//! controller, pod or service, with ports taken from `--port` or the object.

use serde_json::{json, Map, Value};

use crate::client::Req;
use crate::cmd::common::{self, FileArgs, PrintArgs};
use crate::cmd::create::{create_generated, WriteArgs};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Flags of `kubectl expose`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// TYPE NAME or TYPE/NAME
    pub args: Vec<String>,
    /// Files.
    #[command(flatten)]
    pub files: FileArgs,
    /// The port that the service should serve on.
    #[arg(long, default_value = "")]
    pub port: String,
    /// Name or number for the port on the container that the service should direct traffic to.
    #[arg(long, default_value = "")]
    pub target_port: String,
    /// The network protocol for the service to be created.
    #[arg(long, default_value = "")]
    pub protocol: String,
    /// The name for the newly created object.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Type for this service: ClusterIP, NodePort, LoadBalancer, or ExternalName.
    #[arg(long = "type", default_value = "")]
    pub type_: String,
    /// A label selector to use for this service.
    #[arg(long, default_value = "")]
    pub selector: String,
    /// Labels to apply to the service created by this call.
    #[arg(short = 'l', long, default_value = "")]
    pub labels: String,
    /// ClusterIP to be assigned to the service.
    #[arg(long, default_value = "")]
    pub cluster_ip: String,
    /// Additional external IP address to accept for the service.
    #[arg(long, default_value = "")]
    pub external_ip: String,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

fn parse_map(s: &str) -> Map<String, Value> {
    s.split(',').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), json!(v))).collect()
}

fn selector_of(obj: &Value) -> Result<Map<String, Value>, CmdError> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let sel = match kind {
        "Pod" => obj.pointer("/metadata/labels"),
        "Service" | "ReplicationController" => obj.pointer("/spec/selector"),
        _ => {
            if obj.pointer("/spec/selector/matchExpressions").and_then(Value::as_array).is_some_and(|e| !e.is_empty()) {
                return Err(CmdError::msg("couldn't retrieve selectors via --selector flag or introspection: the provided selector has match expressions"));
            }
            obj.pointer("/spec/selector/matchLabels")
        }
    };
    sel.and_then(Value::as_object).cloned().ok_or_else(|| CmdError::msg(format!("cannot expose a {kind}")))
}

fn ports_of(obj: &Value) -> Vec<(i64, String)> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let containers = match kind {
        "Pod" => obj.pointer("/spec/containers"),
        "Service" => {
            return obj.pointer("/spec/ports").and_then(Value::as_array).into_iter().flatten()
                .map(|p| (p.get("port").and_then(Value::as_i64).unwrap_or(0), p.get("protocol").and_then(Value::as_str).unwrap_or("TCP").to_string()))
                .collect();
        }
        _ => obj.pointer("/spec/template/spec/containers"),
    };
    containers.and_then(Value::as_array).into_iter().flatten()
        .flat_map(|c| c.get("ports").and_then(Value::as_array).cloned().unwrap_or_default())
        .map(|p| (p.get("containerPort").and_then(Value::as_i64).unwrap_or(0), p.get("protocol").and_then(Value::as_str).unwrap_or("TCP").to_string()))
        .collect()
}

/// The Service exposing `obj`.
pub fn service(a: &Args, obj: &Value) -> Result<Value, CmdError> {
    let name = if a.name.is_empty() { obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string() } else { a.name.clone() };
    let selector = if a.selector.is_empty() { selector_of(obj)? } else { parse_map(&a.selector) };
    let known = ports_of(obj);
    let ports: Vec<(i64, String)> = if a.port.is_empty() {
        known.clone()
    } else {
        a.port.split(',').map(|p| p.parse::<i64>().map(|n| (n, String::new())).map_err(|_| CmdError::msg(format!("invalid port: {p}")))).collect::<Result<_, _>>()?
    };
    if ports.is_empty() {
        return Err(CmdError::msg("couldn't find port via --port flag or introspection"));
    }
    let multiple = ports.len() > 1;
    let service_ports: Vec<Value> = ports
        .iter()
        .enumerate()
        .map(|(i, (port, proto))| {
            let protocol = if !a.protocol.is_empty() {
                a.protocol.clone()
            } else if !proto.is_empty() {
                proto.clone()
            } else {
                known.iter().find(|(p, _)| p == port).map(|(_, pr)| pr.clone()).unwrap_or_else(|| "TCP".into())
            };
            let target = if a.target_port.is_empty() { json!(port) } else { a.target_port.parse::<i64>().map(Value::from).unwrap_or_else(|_| json!(a.target_port)) };
            let mut sp = Map::new();
            if multiple {
                sp.insert("name".into(), json!(format!("port-{}", i + 1)));
            }
            sp.insert("protocol".into(), json!(protocol));
            sp.insert("port".into(), json!(port));
            sp.insert("targetPort".into(), target);
            Value::Object(sp)
        })
        .collect();
    let labels = if a.labels.is_empty() { obj.pointer("/metadata/labels").and_then(Value::as_object).cloned().unwrap_or_default() } else { parse_map(&a.labels) };
    let mut meta = json!({"name": name, "creationTimestamp": null});
    if !labels.is_empty() {
        meta["labels"] = Value::Object(labels);
    }
    let mut spec = json!({"ports": service_ports, "selector": selector});
    if !a.cluster_ip.is_empty() {
        spec["clusterIP"] = json!(a.cluster_ip);
    }
    if !a.type_.is_empty() {
        spec["type"] = json!(a.type_);
    }
    if !a.external_ip.is_empty() {
        spec["externalIPs"] = json!([a.external_ip]);
    }
    Ok(json!({"kind": "Service", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": {"loadBalancer": {}}}))
}

/// `kubectl expose`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let scope = common::scope(f, false, None, None)?;
    let targets = common::targets(f, &a.files, &a.args, &scope).await?;
    if targets.is_empty() {
        return Err(CmdError::usage("kubectl expose", "You must provide one or more resources by argument or filename."));
    }
    let client = f.client().await?;
    for t in targets {
        if !["Pod", "Service", "ReplicationController", "Deployment", "ReplicaSet"].contains(&t.mapping.kind.as_str()) {
            return Err(CmdError::msg(format!("cannot expose a {}", t.mapping.group_kind())));
        }
        let mut obj = client.json(Req::get(t.path())).await?;
        crate::resource::fill_type_meta(&mut obj, &t.mapping.api_version(), &t.mapping.kind);
        let svc = service(&a, &obj)?;
        create_exposed(f, svc, &a, streams).await?;
    }
    Ok(())
}

async fn create_exposed(f: &Factory, svc: Value, a: &Args, streams: &mut Streams) -> Result<(), CmdError> {
    create_generated(f, svc, &a.write, &a.print, None, "exposed", streams).await
}
