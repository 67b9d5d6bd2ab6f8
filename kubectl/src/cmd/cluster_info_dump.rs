//! `kubectl cluster-info dump`: the nodes, then for each namespace (kube-system and the
//! current one, `--namespaces`, or all with `-A`) its events, replication controllers,
//! services, daemon sets, deployments, replica sets and pods, then every container's logs
//! between `==== START logs ...` / `==== END logs ...` lines. To stdout, or with
//! `--output-directory` one file per list (`<ns>/<resource>.json`, `<ns>/<pod>/logs.txt`).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::client::{ApiClient, Req};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::{GenericPrinter, OutputFormat, PrintError};
use crate::util::Streams;

/// Flags of `kubectl cluster-info dump`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// If true, dump all namespaces. If true, --namespaces is ignored.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// A comma separated list of namespaces to dump.
    #[arg(long, value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Output format: json or yaml.
    #[arg(short = 'o', long, default_value = "json")]
    pub output: String,
    /// Where to output the files. If empty or '-' uses stdout, otherwise creates a directory
    /// hierarchy in that directory.
    #[arg(long, default_value = "")]
    pub output_directory: String,
    /// The length of time to wait for a pod to be running before its logs are read.
    #[arg(long, default_value = "20s")]
    pub pod_running_timeout: String,
    /// If true, ignore any errors in templates when a field or map key is missing.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub allow_missing_template_keys: bool,
}

/// Where the documents go: stdout, or files under a directory. One printer serves all, so
/// YAML's `---` separators continue across files as upstream's.
struct Sink<'a> {
    dir: Option<PathBuf>,
    streams: &'a mut Streams,
    printer: GenericPrinter,
    ext: &'static str,
}

impl Sink<'_> {
    fn writer(&mut self, name: &str, ext: &str) -> Result<Box<dyn Write + '_>, CmdError> {
        match &self.dir {
            None => Ok(Box::new(&mut self.streams.out)),
            Some(dir) => {
                let path = dir.join(format!("{name}{ext}"));
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                Ok(Box::new(std::fs::File::create(&path)?))
            }
        }
    }

    fn print_list(&mut self, list: &Value, name: &str) -> Result<(), CmdError> {
        if matches!(self.printer.format, OutputFormat::Name) {
            // Go names the typed list by its package (core/v1 and apps/v1 are both `v1`).
            let kind = list.get("kind").and_then(Value::as_str).unwrap_or("");
            return Err(CmdError::Message(format!("list types are not supported by name printing: *v1.{kind}")));
        }
        let mut text = Vec::new();
        self.printer.print(list, &mut text).map_err(|e| CmdError::Message(e.to_string()))?;
        let ext = self.ext;
        self.writer(name, ext)?.write_all(&text)?;
        Ok(())
    }
}

const ALLOWED_FORMATS: &str = "go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml";

/// The list as Go prints the typed list (items without their own kind and apiVersion, no
/// managed fields), falling back to the server's order for kinds Go would not know.
fn typed_list(list: &Value, kind: &str, api_version: &str) -> Value {
    let mut list = list.clone();
    if let Some(m) = list.as_object_mut() {
        m.insert("kind".into(), kind.into());
        m.insert("apiVersion".into(), api_version.into());
    }
    crate::printers::strip_managed_fields(&mut list);
    if let Some(typed) = crate::printers::go_typed::encode(&list) {
        return typed;
    }
    if let Some(items) = list.get_mut("items").and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            item.shift_remove("kind");
            item.shift_remove("apiVersion");
        }
    }
    list
}

/// The namespaced lists dumped, in upstream's order: path, file name, list kind, apiVersion.
const LISTS: &[(&str, &str, &str, &str)] = &[
    ("/api/v1", "events", "EventList", "v1"),
    ("/api/v1", "replicationcontrollers", "ReplicationControllerList", "v1"),
    ("/api/v1", "services", "ServiceList", "v1"),
    ("/apis/apps/v1", "daemonsets", "DaemonSetList", "apps/v1"),
    ("/apis/apps/v1", "deployments", "DeploymentList", "apps/v1"),
    ("/apis/apps/v1", "replicasets", "ReplicaSetList", "apps/v1"),
    ("/api/v1", "pods", "PodList", "v1"),
];

fn file_name(resource: &str) -> &str {
    if resource == "replicationcontrollers" {
        "replication-controllers"
    } else {
        resource
    }
}

/// `kubectl cluster-info dump`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let no_printer = || CmdError::Message(format!("unable to match a printer suitable for the output format {:?}, allowed formats are: {ALLOWED_FORMATS}", a.output));
    let format = match OutputFormat::parse(&a.output, None) {
        Ok(OutputFormat::Table { .. } | OutputFormat::CustomColumns(_)) | Err(PrintError::Unknown(_)) => return Err(no_printer()),
        Ok(f) => f,
        Err(e) => return Err(CmdError::Message(e.to_string())),
    };
    let ext = match format {
        OutputFormat::Json => ".json",
        OutputFormat::Yaml => ".yaml",
        _ => ".txt",
    };
    let mut printer = GenericPrinter::new(format);
    printer.sort_keys = false;
    let dir = (!a.output_directory.is_empty() && a.output_directory != "-").then(|| PathBuf::from(&a.output_directory));
    let (current, _) = f.namespace()?;
    let client = f.client().await?;
    let mut sink = Sink { dir: dir.clone(), streams, printer, ext };

    let nodes = client.json(Req::get("/api/v1/nodes").query("limit", "500")).await?;
    sink.print_list(&typed_list(&nodes, "NodeList", "v1"), "nodes")?;

    let namespaces: Vec<String> = if a.all_namespaces {
        let list = client.json(Req::get("/api/v1/namespaces")).await?;
        list.get("items").and_then(Value::as_array).into_iter().flatten().filter_map(|n| n.pointer("/metadata/name").and_then(Value::as_str)).map(str::to_string).collect()
    } else if a.namespaces.is_empty() {
        vec!["kube-system".to_string(), current]
    } else {
        a.namespaces.clone()
    };

    for ns in &namespaces {
        let mut pods = Value::Null;
        for (prefix, resource, kind, api_version) in LISTS {
            let list = client.json(Req::get(format!("{prefix}/namespaces/{ns}/{resource}")).query("limit", "500")).await?;
            let typed = typed_list(&list, kind, api_version);
            sink.print_list(&typed, &format!("{ns}/{}", file_name(resource)))?;
            if *resource == "pods" {
                pods = typed;
            }
        }
        for pod in pods.get("items").and_then(Value::as_array).into_iter().flatten() {
            let name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
            let mut text = String::new();
            for key in ["initContainers", "containers"] {
                for c in pod.pointer(&format!("/spec/{key}")).and_then(Value::as_array).into_iter().flatten() {
                    let container = c.get("name").and_then(Value::as_str).unwrap_or("");
                    text.push_str(&container_logs(client, ns, name, container).await);
                }
            }
            sink.writer(&format!("{ns}/{name}/logs"), ".txt")?.write_all(text.as_bytes())?;
        }
    }
    if let Some(dir) = dir {
        writeln!(sink.streams.out, "Cluster info dumped to {}", Path::new(&dir).display())?;
    }
    Ok(())
}

/// One container's logs between the START and END lines (or the request's error).
async fn container_logs(client: &ApiClient, ns: &str, pod: &str, container: &str) -> String {
    let mut out = format!("==== START logs for container {container} of pod {ns}/{pod} ====\n");
    let req = Req::get(format!("/api/v1/namespaces/{ns}/pods/{pod}/log")).accept("application/json, */*").query("container", container);
    let result = match client.send(req).await {
        Ok(res) => {
            let status = res.status().as_u16();
            let text_body = res.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("text/plain"));
            match crate::client::collect(res.into_body()).await {
                Ok(body) if (200..=206).contains(&status) => Ok(body),
                Ok(body) => {
                    let server_message = if text_body { String::from_utf8_lossy(&body).trim().to_string() } else { String::new() };
                    Err(format!("{} (get pods {pod})", generic_response_message(status, &server_message)))
                }
                Err(e) => Err(e.to_string()),
            }
        }
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(body) => out.push_str(&String::from_utf8_lossy(&body)),
        Err(e) => out.push_str(&format!("Request log error: {e}\n")),
    }
    out.push_str(&format!("==== END logs for container {container} of pod {ns}/{pod} ====\n"));
    out
}

/// The message of upstream's `NewGenericServerResponse` for a reply that is not a Status
/// (`DoRaw` does not decode Status bodies).
fn generic_response_message(code: u16, server_message: &str) -> String {
    match code {
        409 => "the server reported a conflict".into(),
        404 => "the server could not find the requested resource".into(),
        400 => "the server rejected our request for an unknown reason".into(),
        401 => "the server has asked for the client to provide credentials".into(),
        403 => "the server does not allow access to the requested resource".into(),
        405 => "the server does not allow this method on the requested resource".into(),
        406 => "the server was unable to respond with a content type that the client supports".into(),
        415 => "the server was unable to respond with a content type that the client supports".into(),
        422 => "the server rejected our request due to an error in our request".into(),
        429 => "the server has received too many requests and has asked us to try again later".into(),
        503 => "the server is currently unable to handle the request".into(),
        504 => "the server was unable to return a response in the time allotted, but may still be processing the request".into(),
        c if c >= 500 => format!("an error on the server ({}) has prevented the request from succeeding", crate::util::go_quote(server_message)),
        c => format!("the server responded with the status code {c} but did not return more information"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_list_drops_item_kinds_and_managed_fields() {
        let list = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "5"},
            "items": [{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", "managedFields": [{}]}}]});
        assert_eq!(
            serde_json::to_string(&typed_list(&list, "PodList", "v1")).unwrap(),
            r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[{"metadata":{"name":"p","creationTimestamp":null},"spec":{"containers":null},"status":{}}]}"#
        );
    }
}
