//! The objects `kubectl create <kind>` builds, field for field as upstream's generators.

use base64::Engine;
use clap::Subcommand;
use serde_json::{json, Map, Value};

use super::{create_generated, one_name, sources, Generator, WriteArgs};
use crate::cmd::common::PrintArgs;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// A generator taking only a name (namespace, serviceaccount).
#[derive(clap::Args, Debug)]
pub struct NamedArgs {
    /// NAME
    pub names: Vec<String>,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create configmap`.
#[derive(clap::Args, Debug)]
pub struct ConfigMapArgs {
    /// NAME
    pub names: Vec<String>,
    /// Key file can be specified using its file path, or a directory.
    #[arg(long)]
    pub from_file: Vec<String>,
    /// Specify a key and literal value to insert (i.e. mykey=somevalue).
    #[arg(long)]
    pub from_literal: Vec<String>,
    /// Specify the path to a file to read lines of key=val pairs.
    #[arg(long)]
    pub from_env_file: Vec<String>,
    /// Append a hash of the configmap to its name.
    #[arg(long)]
    pub append_hash: bool,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create secret`.
#[derive(clap::Args, Debug)]
pub struct SecretArgs {
    /// The kind of secret.
    #[command(subcommand)]
    pub kind: SecretKind,
}

/// The `create secret` subcommands.
#[derive(Subcommand, Debug)]
pub enum SecretKind {
    /// Create a secret from a local file, directory, or literal value.
    Generic(SecretGenericArgs),
    /// Create a secret for use with a Docker registry.
    #[command(name = "docker-registry")]
    DockerRegistry(DockerRegistryArgs),
    /// Create a TLS secret.
    Tls(TlsArgs),
}

/// `create secret generic`.
#[derive(clap::Args, Debug)]
pub struct SecretGenericArgs {
    /// NAME
    pub names: Vec<String>,
    /// Key files.
    #[arg(long)]
    pub from_file: Vec<String>,
    /// Literal key=value pairs.
    #[arg(long)]
    pub from_literal: Vec<String>,
    /// Env files.
    #[arg(long)]
    pub from_env_file: Vec<String>,
    /// The type of secret to create.
    #[arg(long = "type")]
    pub type_: Option<String>,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create secret docker-registry`.
#[derive(clap::Args, Debug)]
pub struct DockerRegistryArgs {
    /// NAME
    pub names: Vec<String>,
    /// Username for Docker registry authentication.
    #[arg(long)]
    pub docker_username: Option<String>,
    /// Password for Docker registry authentication.
    #[arg(long)]
    pub docker_password: Option<String>,
    /// Email for Docker registry.
    #[arg(long, default_value = "")]
    pub docker_email: String,
    /// Server location for Docker registry.
    #[arg(long, default_value = "https://index.docker.io/v1/")]
    pub docker_server: String,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create secret tls`.
#[derive(clap::Args, Debug)]
pub struct TlsArgs {
    /// NAME
    pub names: Vec<String>,
    /// Path to PEM encoded public key certificate.
    #[arg(long)]
    pub cert: String,
    /// Path to private key associated with given certificate.
    #[arg(long)]
    pub key: String,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create deployment`.
#[derive(clap::Args, Debug)]
pub struct DeploymentArgs {
    /// NAME
    pub names: Vec<String>,
    /// Image names to run.
    #[arg(long, required = true)]
    pub image: Vec<String>,
    /// Number of replicas to create.
    #[arg(short = 'r', long, default_value_t = 1)]
    pub replicas: i64,
    /// The containerPort that this deployment exposes.
    #[arg(long, default_value_t = -1)]
    pub port: i64,
    /// Command to run in the container.
    #[arg(last = true)]
    pub command: Vec<String>,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create service`.
#[derive(clap::Args, Debug)]
pub struct ServiceArgs {
    /// The service type.
    #[command(subcommand)]
    pub kind: ServiceKind,
}

/// The `create service` subcommands.
#[derive(Subcommand, Debug)]
pub enum ServiceKind {
    /// Create a ClusterIP service.
    #[command(name = "clusterip")]
    ClusterIp(ServiceTypeArgs),
    /// Create a NodePort service.
    #[command(name = "nodeport")]
    NodePort(ServiceTypeArgs),
    /// Create a LoadBalancer service.
    #[command(name = "loadbalancer")]
    LoadBalancer(ServiceTypeArgs),
    /// Create an ExternalName service.
    #[command(name = "externalname")]
    ExternalName(ServiceTypeArgs),
}

/// Flags of the `create service` subcommands.
#[derive(clap::Args, Debug)]
pub struct ServiceTypeArgs {
    /// NAME
    pub names: Vec<String>,
    /// Port pairs can be specified as '<port>:<targetPort>'.
    #[arg(long, value_delimiter = ',')]
    pub tcp: Vec<String>,
    /// Assign your own ClusterIP or set to 'None' for a 'headless' service.
    #[arg(long)]
    pub clusterip: Option<String>,
    /// Port used to expose the service on each node in a cluster.
    #[arg(long, default_value_t = 0)]
    pub node_port: i64,
    /// External name of service.
    #[arg(long, default_value = "")]
    pub external_name: String,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create job`.
#[derive(clap::Args, Debug)]
pub struct JobArgs {
    /// NAME
    pub names: Vec<String>,
    /// Image name to run.
    #[arg(long)]
    pub image: Option<String>,
    /// The name of the resource to create a Job from (only cronjob is supported).
    #[arg(long)]
    pub from: Option<String>,
    /// Command.
    #[arg(last = true)]
    pub command: Vec<String>,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create cronjob`.
#[derive(clap::Args, Debug)]
pub struct CronJobArgs {
    /// NAME
    pub names: Vec<String>,
    /// Image name to run.
    #[arg(long, required = true)]
    pub image: String,
    /// A schedule in the Cron format the job should be run with.
    #[arg(long, required = true)]
    pub schedule: String,
    /// job's restart policy. supported values: OnFailure, Never.
    #[arg(long, default_value = "OnFailure")]
    pub restart: String,
    /// Command.
    #[arg(last = true)]
    pub command: Vec<String>,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create role` / `create clusterrole`.
#[derive(clap::Args, Debug)]
pub struct RoleArgs {
    /// NAME
    pub names: Vec<String>,
    /// Verbs that apply to the resources contained in the rule.
    #[arg(long, value_delimiter = ',')]
    pub verb: Vec<String>,
    /// Resources the rule applies to.
    #[arg(long, value_delimiter = ',')]
    pub resource: Vec<String>,
    /// Resource names in the white list that the rule applies to.
    #[arg(long, value_delimiter = ',')]
    pub resource_name: Vec<String>,
    /// A partial url that user should have access to (cluster roles).
    #[arg(long, value_delimiter = ',')]
    pub non_resource_url: Vec<String>,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create rolebinding` / `create clusterrolebinding`.
#[derive(clap::Args, Debug)]
pub struct BindingArgs {
    /// NAME
    pub names: Vec<String>,
    /// Role this binding should reference.
    #[arg(long)]
    pub role: Option<String>,
    /// ClusterRole this binding should reference.
    #[arg(long)]
    pub clusterrole: Option<String>,
    /// Usernames to bind to the role.
    #[arg(long, value_delimiter = ',')]
    pub user: Vec<String>,
    /// Groups to bind to the role.
    #[arg(long, value_delimiter = ',')]
    pub group: Vec<String>,
    /// Service accounts to bind to the role, in the format <namespace>:<name>.
    #[arg(long, value_delimiter = ',')]
    pub serviceaccount: Vec<String>,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create quota`.
#[derive(clap::Args, Debug)]
pub struct QuotaArgs {
    /// NAME
    pub names: Vec<String>,
    /// A comma-delimited set of resource=quantity pairs.
    #[arg(long, default_value = "")]
    pub hard: String,
    /// A comma-delimited set of quota scopes.
    #[arg(long, default_value = "")]
    pub scopes: String,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// `create priorityclass`.
#[derive(clap::Args, Debug)]
pub struct PriorityClassArgs {
    /// NAME
    pub names: Vec<String>,
    /// The value of this priority class.
    #[arg(long, default_value_t = 0)]
    pub value: i64,
    /// Whether this priority class should be used as the default.
    #[arg(long)]
    pub global_default: bool,
    /// A one-line description of this priority class.
    #[arg(long, default_value = "")]
    pub description: String,
    /// The policy for preempting pods with lower priority.
    #[arg(long, default_value = "PreemptLowerPriority")]
    pub preemption_policy: String,
    /// Write flags.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

fn meta(name: &str) -> Value {
    json!({"name": name, "creationTimestamp": null})
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Runs a generator.
pub async fn run(f: &Factory, g: Generator, streams: &mut Streams) -> Result<(), CmdError> {
    match g {
        Generator::ConfigMap(a) => {
            let obj = configmap(&a)?;
            create_generated(f, obj, &a.write, &a.print, Some("failed to create configmap: "), "created", streams).await
        }
        Generator::Secret(s) => run_secret(f, s.kind, streams).await,
        Generator::Token(a) => super::token::run(f, a, streams).await,
        Generator::Namespace(a) => {
            let name = one_name(&a.names, "kubectl create namespace")?;
            let obj = json!({"kind": "Namespace", "apiVersion": "v1", "metadata": meta(&name), "spec": {}, "status": {}});
            create_generated(f, obj, &a.write, &a.print, None, "created", streams).await
        }
        Generator::ServiceAccount(a) => {
            let name = one_name(&a.names, "kubectl create serviceaccount")?;
            let obj = json!({"kind": "ServiceAccount", "apiVersion": "v1", "metadata": meta(&name)});
            create_generated(f, obj, &a.write, &a.print, Some("failed to create serviceaccount: "), "created", streams).await
        }
        Generator::Deployment(a) => {
            let obj = deployment(&a)?;
            create_generated(f, obj, &a.write, &a.print, Some("failed to create deployment: "), "created", streams).await
        }
        Generator::Service(s) => run_service(f, s.kind, streams).await,
        Generator::Job(a) => {
            let obj = job(&a)?;
            create_generated(f, obj, &a.write, &a.print, Some("failed to create job: "), "created", streams).await
        }
        Generator::Cronjob(a) => {
            let obj = cronjob(&a)?;
            create_generated(f, obj, &a.write, &a.print, Some("failed to create cronjob: "), "created", streams).await
        }
        Generator::Role(a) => {
            let obj = role(&a, "Role", "kubectl create role")?;
            create_generated(f, obj, &a.write, &a.print, None, "created", streams).await
        }
        Generator::ClusterRole(a) => {
            let obj = role(&a, "ClusterRole", "kubectl create clusterrole")?;
            create_generated(f, obj, &a.write, &a.print, None, "created", streams).await
        }
        Generator::RoleBinding(a) => {
            let obj = binding(&a, "RoleBinding", "kubectl create rolebinding")?;
            create_generated(f, obj, &a.write, &a.print, None, "created", streams).await
        }
        Generator::ClusterRoleBinding(a) => {
            let obj = binding(&a, "ClusterRoleBinding", "kubectl create clusterrolebinding")?;
            create_generated(f, obj, &a.write, &a.print, None, "created", streams).await
        }
        Generator::Quota(a) => {
            let obj = quota(&a)?;
            create_generated(f, obj, &a.write, &a.print, Some("failed to create quota: "), "created", streams).await
        }
        Generator::PriorityClass(a) => {
            let name = one_name(&a.names, "kubectl create priorityclass")?;
            let mut obj = json!({"kind": "PriorityClass", "apiVersion": "scheduling.k8s.io/v1", "metadata": meta(&name), "value": a.value});
            if a.global_default {
                obj["globalDefault"] = json!(true);
            }
            if !a.description.is_empty() {
                obj["description"] = json!(a.description);
            }
            obj["preemptionPolicy"] = json!(a.preemption_policy);
            create_generated(f, obj, &a.write, &a.print, Some("failed to create priorityclass: "), "created", streams).await
        }
    }
}

/// The ConfigMap of `create configmap`.
pub fn configmap(a: &ConfigMapArgs) -> Result<Value, CmdError> {
    let name = one_name(&a.names, "kubectl create configmap")?;
    let data = sources::collect(&a.from_file, &a.from_literal, &a.from_env_file, "ConfigMap", &name)?;
    let mut text = Map::new();
    let mut binary = Map::new();
    for (k, v) in data {
        match String::from_utf8(v) {
            Ok(s) => text.insert(k, Value::String(s)),
            Err(e) => binary.insert(k, Value::String(b64(e.as_bytes()))),
        };
    }
    let mut obj = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta(&name)});
    if !text.is_empty() {
        obj["data"] = Value::Object(text);
    }
    if !binary.is_empty() {
        obj["binaryData"] = Value::Object(binary);
    }
    if a.append_hash {
        let hash = config_map_hash(&obj);
        obj["metadata"]["name"] = Value::String(format!("{name}-{hash}"));
    }
    Ok(obj)
}

fn config_map_hash(obj: &Value) -> String {
    let encoded = crate::printers::json::to_compact(&json!({"kind": "ConfigMap", "name": obj["metadata"]["name"], "data": obj.get("data").cloned().unwrap_or(json!({})), "binaryData": obj.get("binaryData").cloned().unwrap_or(json!({}))}));
    let mut h: u64 = 0xcbf29ce484222325;
    for b in encoded.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    let alphabet = b"bcdfghjkmnpqrstvwxz2456789";
    (0..10).map(|i| alphabet[((h >> (i * 6)) % alphabet.len() as u64) as usize] as char).collect()
}

async fn run_secret(f: &Factory, kind: SecretKind, streams: &mut Streams) -> Result<(), CmdError> {
    let (obj, write, print) = match kind {
        SecretKind::Generic(a) => {
            let name = one_name(&a.names, "kubectl create secret generic")?;
            let data = sources::collect(&a.from_file, &a.from_literal, &a.from_env_file, "Secret", &name)?;
            let mut obj = json!({"kind": "Secret", "apiVersion": "v1", "metadata": meta(&name)});
            if !data.is_empty() {
                let d: Map<String, Value> = data.into_iter().map(|(k, v)| (k, Value::String(b64(&v)))).collect();
                obj["data"] = Value::Object(d);
            }
            if let Some(t) = &a.type_ {
                obj["type"] = Value::String(t.clone());
            }
            (obj, a.write, a.print)
        }
        SecretKind::DockerRegistry(a) => {
            let name = one_name(&a.names, "kubectl create secret docker-registry")?;
            let (user, pass) = match (&a.docker_username, &a.docker_password) {
                (Some(u), Some(p)) => (u.clone(), p.clone()),
                _ => return Err(CmdError::msg("either --from-file or the combination of --docker-username, --docker-password and --docker-server is required")),
            };
            let auth = b64(format!("{user}:{pass}").as_bytes());
            let cfg = format!(
                "{{\"auths\":{{{}:{{\"username\":{},\"password\":{},\"email\":{},\"auth\":\"{auth}\"}}}}}}",
                crate::printers::json::to_compact(&json!(a.docker_server)),
                crate::printers::json::to_compact(&json!(user)),
                crate::printers::json::to_compact(&json!(pass)),
                crate::printers::json::to_compact(&json!(a.docker_email)),
            );
            let obj = json!({"kind": "Secret", "apiVersion": "v1", "metadata": meta(&name),
                "data": {".dockerconfigjson": b64(cfg.as_bytes())}, "type": "kubernetes.io/dockerconfigjson"});
            (obj, a.write, a.print)
        }
        SecretKind::Tls(a) => {
            let name = one_name(&a.names, "kubectl create secret tls")?;
            let cert = std::fs::read(&a.cert).map_err(|e| CmdError::msg(format!("open {}: {e}", a.cert)))?;
            let key = std::fs::read(&a.key).map_err(|e| CmdError::msg(format!("open {}: {e}", a.key)))?;
            let obj = json!({"kind": "Secret", "apiVersion": "v1", "metadata": meta(&name),
                "data": {"tls.crt": b64(&cert), "tls.key": b64(&key)}, "type": "kubernetes.io/tls"});
            (obj, a.write, a.print)
        }
    };
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    let _ = name;
    create_generated(f, obj, &write, &print, Some("failed to create secret "), "created", streams).await
}

/// The container name upstream derives from an image: its last path part without tag or
/// digest, with `.` and `_` replaced (and a random suffix then added).
pub fn container_name(image: &str) -> String {
    let mut name = image.rsplit('/').next().unwrap_or(image).to_string();
    if let Some((n, _)) = name.split_once(':') {
        name = n.to_string();
    }
    if let Some((n, _)) = name.split_once('@') {
        name = n.to_string();
    }
    if name.contains(['_', '.']) {
        name = format!("{}-{}", name.replace(['_', '.'], "-"), random_suffix(5));
    }
    name
}

/// A random lower-case alphanumeric suffix (upstream's `utilrand.String`).
pub fn random_suffix(n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7)
        ^ (std::process::id() as u64) << 17;
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ALPHABET[(seed % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// The Deployment of `create deployment`.
pub fn deployment(a: &DeploymentArgs) -> Result<Value, CmdError> {
    let name = one_name(&a.names, "kubectl create deployment")?;
    if a.image.len() > 1 && !a.command.is_empty() {
        return Err(CmdError::msg("cannot specify multiple --image options and command"));
    }
    let labels = json!({"app": name});
    let mut containers = Vec::new();
    for (i, image) in a.image.iter().enumerate() {
        let mut c = json!({"name": container_name(image), "image": image});
        if !a.command.is_empty() {
            c["command"] = json!(a.command);
        }
        if i == 0 && a.port >= 0 {
            c["ports"] = json!([{"containerPort": a.port}]);
        }
        c["resources"] = json!({});
        containers.push(c);
    }
    Ok(json!({
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": name, "creationTimestamp": null, "labels": labels},
        "spec": {
            "replicas": a.replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"creationTimestamp": null, "labels": labels}, "spec": {"containers": containers}},
            "strategy": {}
        },
        "status": {}
    }))
}

async fn run_service(f: &Factory, kind: ServiceKind, streams: &mut Streams) -> Result<(), CmdError> {
    let (type_, a) = match kind {
        ServiceKind::ClusterIp(a) => ("ClusterIP", a),
        ServiceKind::NodePort(a) => ("NodePort", a),
        ServiceKind::LoadBalancer(a) => ("LoadBalancer", a),
        ServiceKind::ExternalName(a) => ("ExternalName", a),
    };
    let obj = service(type_, &a)?;
    let prefix = format!("failed to create {type_} service: ");
    create_generated(f, obj, &a.write, &a.print, Some(&prefix), "created", streams).await
}

fn parse_port(s: &str) -> Result<i64, CmdError> {
    s.parse::<i64>().map_err(|_| CmdError::msg(format!("strconv.Atoi: parsing {s:?}: invalid syntax")))
}

/// The Service of `create service <type>`.
pub fn service(type_: &str, a: &ServiceTypeArgs) -> Result<Value, CmdError> {
    let name = one_name(&a.names, &format!("kubectl create service {}", type_.to_lowercase()))?;
    if type_ != "ExternalName" && a.tcp.is_empty() && a.clusterip.as_deref() != Some("None") {
        return Err(CmdError::msg("at least one tcp port specifier must be provided"));
    }
    let mut ports = Vec::new();
    for tcp in &a.tcp {
        let (port, target) = match tcp.split_once(':') {
            Some((p, t)) => (parse_port(p)?, t.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(t.into()))),
            None => {
                let p = parse_port(tcp)?;
                (p, Value::from(p))
            }
        };
        let mut sp = json!({"name": tcp.replace(':', "-"), "protocol": "TCP", "port": port, "targetPort": target});
        if a.node_port > 0 {
            sp["nodePort"] = json!(a.node_port);
        }
        ports.push(sp);
    }
    let labels = json!({"app": name});
    let mut spec = json!({});
    if !ports.is_empty() {
        spec["ports"] = Value::Array(ports);
    }
    spec["selector"] = labels.clone();
    if let Some(ip) = &a.clusterip {
        spec["clusterIP"] = Value::String(ip.clone());
    }
    spec["type"] = json!(type_);
    if type_ == "ExternalName" {
        if a.external_name.is_empty() {
            return Err(CmdError::msg("external name must be specified"));
        }
        spec["externalName"] = Value::String(a.external_name.clone());
    }
    Ok(json!({
        "kind": "Service", "apiVersion": "v1",
        "metadata": {"name": name, "creationTimestamp": null, "labels": labels},
        "spec": spec,
        "status": {"loadBalancer": {}}
    }))
}

/// The Job of `create job`.
pub fn job(a: &JobArgs) -> Result<Value, CmdError> {
    let name = one_name(&a.names, "kubectl create job")?;
    let Some(image) = &a.image else {
        return Err(CmdError::msg("either --image or --from must be specified"));
    };
    let mut c = json!({"name": name, "image": image});
    if !a.command.is_empty() {
        c["command"] = json!(a.command);
    }
    c["resources"] = json!({});
    Ok(json!({
        "kind": "Job", "apiVersion": "batch/v1", "metadata": meta(&name),
        "spec": {"template": {"metadata": {"creationTimestamp": null}, "spec": {"containers": [c], "restartPolicy": "Never"}}},
        "status": {}
    }))
}

/// The CronJob of `create cronjob`.
pub fn cronjob(a: &CronJobArgs) -> Result<Value, CmdError> {
    let name = one_name(&a.names, "kubectl create cronjob")?;
    let mut c = json!({"name": name, "image": a.image});
    if !a.command.is_empty() {
        c["command"] = json!(a.command);
    }
    c["resources"] = json!({});
    Ok(json!({
        "kind": "CronJob", "apiVersion": "batch/v1", "metadata": meta(&name),
        "spec": {
            "schedule": a.schedule,
            "jobTemplate": {"metadata": meta(&name), "spec": {"template": {"metadata": {"creationTimestamp": null},
                "spec": {"containers": [c], "restartPolicy": a.restart}}}}
        },
        "status": {}
    }))
}

/// A Role or ClusterRole with one rule per API group of the given resources.
pub fn role(a: &RoleArgs, kind: &str, command: &str) -> Result<Value, CmdError> {
    let name = one_name(&a.names, command)?;
    if a.verb.is_empty() {
        return Err(CmdError::msg("at least one verb must be specified"));
    }
    let mut rules: Vec<Value> = Vec::new();
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for r in &a.resource {
        let (res, group) = match r.split_once('.') {
            Some((res, g)) => (res.to_string(), g.to_string()),
            None => (r.clone(), String::new()),
        };
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, list)) => list.push(res),
            None => groups.push((group, vec![res])),
        }
    }
    for (group, resources) in groups {
        let mut rule = json!({"verbs": a.verb, "apiGroups": [group], "resources": resources});
        if !a.resource_name.is_empty() {
            rule["resourceNames"] = json!(a.resource_name);
        }
        rules.push(rule);
    }
    if !a.non_resource_url.is_empty() {
        rules.push(json!({"verbs": a.verb, "nonResourceURLs": a.non_resource_url}));
    }
    Ok(json!({"kind": kind, "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": meta(&name), "rules": rules}))
}

/// A RoleBinding or ClusterRoleBinding.
pub fn binding(a: &BindingArgs, kind: &str, command: &str) -> Result<Value, CmdError> {
    let name = one_name(&a.names, command)?;
    let (ref_kind, ref_name) = match (&a.role, &a.clusterrole) {
        (Some(r), None) => ("Role", r.clone()),
        (None, Some(c)) => ("ClusterRole", c.clone()),
        (Some(_), Some(_)) => return Err(CmdError::msg("exactly one of clusterrole or role must be specified")),
        (None, None) => return Err(CmdError::msg(if kind == "RoleBinding" { "exactly one of clusterrole or role must be specified" } else { "clusterrole must be specified" })),
    };
    let mut subjects = Vec::new();
    for u in &a.user {
        subjects.push(json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": u}));
    }
    for g in &a.group {
        subjects.push(json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": g}));
    }
    for sa in &a.serviceaccount {
        let Some((ns, n)) = sa.split_once(':') else {
            return Err(CmdError::msg("serviceaccount must be <namespace>:<name>".to_string()));
        };
        subjects.push(json!({"kind": "ServiceAccount", "name": n, "namespace": ns}));
    }
    let mut obj = json!({"kind": kind, "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": meta(&name)});
    if !subjects.is_empty() {
        obj["subjects"] = Value::Array(subjects);
    }
    obj["roleRef"] = json!({"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref_name});
    Ok(obj)
}

/// A ResourceQuota.
pub fn quota(a: &QuotaArgs) -> Result<Value, CmdError> {
    let name = one_name(&a.names, "kubectl create quota")?;
    let mut hard = Map::new();
    for pair in a.hard.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| CmdError::msg(format!("invalid resource specification {pair}")))?;
        hard.insert(k.to_string(), Value::String(v.to_string()));
    }
    let mut spec = json!({});
    if !hard.is_empty() {
        spec["hard"] = Value::Object(hard);
    }
    let scopes: Vec<&str> = a.scopes.split(',').filter(|s| !s.is_empty()).collect();
    if !scopes.is_empty() {
        spec["scopes"] = json!(scopes);
    }
    Ok(json!({"kind": "ResourceQuota", "apiVersion": "v1", "metadata": meta(&name), "spec": spec, "status": {}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names() {
        assert_eq!(container_name("nginx:1.25"), "nginx");
        assert_eq!(container_name("reg.io/team/app@sha256:abc"), "app");
        assert!(container_name("my_app:1").starts_with("my-app-"));
    }

    #[test]
    fn deployment_matches_upstream_shape() {
        let a = DeploymentArgs {
            names: vec!["d1".into()],
            image: vec!["nginx".into()],
            replicas: 2,
            port: 80,
            command: vec![],
            write: Default::default(),
            print: Default::default(),
        };
        let y = crate::printers::yaml::to_yaml(&deployment(&a).unwrap());
        assert_eq!(y, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  creationTimestamp: null\n  labels:\n    app: d1\n  name: d1\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: d1\n  strategy: {}\n  template:\n    metadata:\n      creationTimestamp: null\n      labels:\n        app: d1\n    spec:\n      containers:\n      - image: nginx\n        name: nginx\n        ports:\n        - containerPort: 80\n        resources: {}\nstatus: {}\n");
    }
}
