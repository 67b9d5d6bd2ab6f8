//! `kubectl cluster-info`: the control plane's address and the services labelled
//! `kubernetes.io/cluster-service=true` (in kube-system unless `-n` says otherwise), each with
//! the link upstream derives (load balancer ingress, else the API server's service proxy).

use std::io::Write;

use serde_json::Value;

use crate::client::Req;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Flags of `kubectl cluster-info`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// `dump`.
    #[command(subcommand)]
    pub command: Option<Sub>,
}

/// Subcommands of `kubectl cluster-info`.
#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Dump relevant information for debugging and diagnosis.
    Dump(super::cluster_info_dump::Args),
}

const FOOTER: &str = "\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n";

/// `kubectl cluster-info`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if let Some(Sub::Dump(d)) = a.command {
        return super::cluster_info_dump::run(f, d, streams).await;
    }
    let namespace = f.flags.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "kube-system".into());
    let host = f.effective()?.server();
    let client = f.client().await?;
    let req = Req::get(format!("/api/v1/namespaces/{namespace}/services")).query("labelSelector", "kubernetes.io/cluster-service=true");
    let result = client.json(req).await;
    if let Ok(list) = &result {
        write!(streams.out, "{}", service_lines(&host, list))?;
    }
    write!(streams.out, "{FOOTER}")?;
    result.map(|_| ()).map_err(CmdError::from)
}

/// The `<name> is running at <link>` lines: the control plane, then each service.
pub fn service_lines(host: &str, list: &Value) -> String {
    let mut out = format!("Kubernetes control plane is running at {host}\n");
    for svc in list.get("items").and_then(Value::as_array).into_iter().flatten() {
        let name = svc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
        let namespace = svc.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
        let ports: Vec<&Value> = svc.pointer("/spec/ports").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
        let port_number = |p: &Value| p.get("port").and_then(Value::as_i64).unwrap_or(0);
        let link = match svc.pointer("/status/loadBalancer/ingress/0") {
            Some(ingress) => {
                let ip = ingress.get("ip").and_then(Value::as_str).filter(|s| !s.is_empty());
                let ip = ip.or_else(|| ingress.get("hostname").and_then(Value::as_str)).unwrap_or("");
                ports.iter().map(|p| format!("http://{ip}:{} ", port_number(p))).collect::<String>()
            }
            None => {
                let mut target = name.to_string();
                if let Some(port) = ports.first() {
                    let port_name = port.get("name").and_then(Value::as_str).unwrap_or("");
                    let scheme = if port_name == "https" || port_number(port) == 443 { "https" } else { "" };
                    target = join_scheme_name_port(scheme, name, port_name);
                }
                format!("{host}/api/v1/namespaces/{namespace}/services/{target}/proxy")
            }
        };
        let label = svc.pointer("/metadata/labels/kubernetes.io~1name").and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or(name);
        out.push_str(&format!("{label} is running at {link}\n"));
    }
    out
}

/// Upstream's `JoinSchemeNamePort`: `name`, `name:port`, `scheme:name:port` or `scheme:name:`.
fn join_scheme_name_port(scheme: &str, name: &str, port: &str) -> String {
    if !scheme.is_empty() {
        return format!("{scheme}:{name}:{port}");
    }
    if !port.is_empty() {
        return format!("{name}:{port}");
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_for_proxy_and_load_balancer_services() {
        let list = json!({"items": [
            {"metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"kubernetes.io/name": "CoreDNS"}},
             "spec": {"ports": [{"name": "dns", "port": 53}, {"name": "dns-tcp", "port": 53}]}},
            {"metadata": {"name": "dash", "namespace": "kube-system"}, "spec": {"ports": [{"port": 443}]}},
            {"metadata": {"name": "lb", "namespace": "kube-system"}, "spec": {"ports": [{"port": 80}, {"port": 81}]},
             "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}}}
        ]});
        assert_eq!(
            service_lines("https://10.0.0.1:6443", &list),
            "Kubernetes control plane is running at https://10.0.0.1:6443\n\
             CoreDNS is running at https://10.0.0.1:6443/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy\n\
             dash is running at https://10.0.0.1:6443/api/v1/namespaces/kube-system/services/https:dash:/proxy\n\
             lb is running at http://lb.example:80 http://lb.example:81 \n"
        );
    }
}
