//! `kubectl top pods|nodes`: usage from the metrics API (`metrics.k8s.io/v1beta1`).

use clap::Subcommand;
use serde_json::Value;

use crate::client::Req;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::tabwriter::TabWriter;
use crate::util::Streams;

/// Flags of `kubectl top`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to show.
    #[command(subcommand)]
    pub what: What,
}

/// `top` subcommands.
#[derive(Subcommand, Debug)]
pub enum What {
    /// Display resource (CPU/memory) usage of pods.
    #[command(alias = "pod", alias = "po")]
    Pods {
        /// NAME
        name: Option<String>,
        /// If present, list across all namespaces.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
        /// Selector (label query) to filter on.
        #[arg(short = 'l', long, default_value = "")]
        selector: String,
        /// If present, don't print headers.
        #[arg(long)]
        no_headers: bool,
    },
    /// Display resource (CPU/memory) usage of nodes.
    #[command(alias = "node", alias = "no")]
    Nodes {
        /// NAME
        name: Option<String>,
        /// Selector (label query) to filter on.
        #[arg(short = 'l', long, default_value = "")]
        selector: String,
        /// If present, don't print headers.
        #[arg(long)]
        no_headers: bool,
    },
}

fn cpu_millis(q: &str) -> i64 {
    if let Some(n) = q.strip_suffix('n') {
        return n.parse::<i64>().unwrap_or(0) / 1_000_000;
    }
    if let Some(u) = q.strip_suffix('u') {
        return u.parse::<i64>().unwrap_or(0) / 1_000;
    }
    if let Some(m) = q.strip_suffix('m') {
        return m.parse().unwrap_or(0);
    }
    (q.parse::<f64>().unwrap_or(0.0) * 1000.0) as i64
}

fn mem_mi(q: &str) -> i64 {
    let units = [("Ki", 1024i64), ("Mi", 1 << 20), ("Gi", 1 << 30), ("K", 1000), ("M", 1_000_000), ("G", 1_000_000_000)];
    for (suffix, mult) in units {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<i64>().unwrap_or(0) * mult / (1 << 20);
        }
    }
    q.parse::<i64>().unwrap_or(0) / (1 << 20)
}

/// `kubectl top`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let mapper = f.mapper().await?;
    if !mapper.has_group("metrics.k8s.io") {
        return Err(CmdError::msg("Metrics API not available"));
    }
    let client = f.client().await?;
    let (ns, _) = f.namespace()?;
    let mut tw = TabWriter::kubectl();
    match a.what {
        What::Pods { name, all_namespaces, selector, no_headers } => {
            let base = if all_namespaces { "/apis/metrics.k8s.io/v1beta1/pods".to_string() } else { format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods") };
            let items = fetch(client, &base, name.as_deref(), &selector).await?;
            if !no_headers {
                tw.write_str(if all_namespaces { "NAMESPACE\tNAME\tCPU(cores)\tMEMORY(bytes)\n" } else { "NAME\tCPU(cores)\tMEMORY(bytes)\n" });
            }
            for p in items {
                let (cpu, mem) = p.get("containers").and_then(Value::as_array).into_iter().flatten().fold((0, 0), |(c, m), x| {
                    (c + cpu_millis(x.pointer("/usage/cpu").and_then(Value::as_str).unwrap_or("0")), m + mem_mi(x.pointer("/usage/memory").and_then(Value::as_str).unwrap_or("0")))
                });
                let name = p.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                if all_namespaces {
                    tw.write_str(&format!("{}\t", p.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("")));
                }
                tw.write_str(&format!("{name}\t{cpu}m\t{mem}Mi\n"));
            }
        }
        What::Nodes { name, selector, no_headers } => {
            let items = fetch(client, "/apis/metrics.k8s.io/v1beta1/nodes", name.as_deref(), &selector).await?;
            if !no_headers {
                tw.write_str("NAME\tCPU(cores)\tCPU(%)\tMEMORY(bytes)\tMEMORY(%)\n");
            }
            for n in items {
                let node_name = n.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                let cpu = cpu_millis(n.pointer("/usage/cpu").and_then(Value::as_str).unwrap_or("0"));
                let mem = mem_mi(n.pointer("/usage/memory").and_then(Value::as_str).unwrap_or("0"));
                let node = client.json(Req::get(format!("/api/v1/nodes/{node_name}"))).await.unwrap_or(Value::Null);
                let alloc_cpu = cpu_millis(node.pointer("/status/allocatable/cpu").and_then(Value::as_str).unwrap_or("0"));
                let alloc_mem = mem_mi(node.pointer("/status/allocatable/memory").and_then(Value::as_str).unwrap_or("0"));
                let pct = |u: i64, t: i64| if t > 0 { format!("{}%", u * 100 / t) } else { "<unknown>".into() };
                tw.write_str(&format!("{node_name}\t{cpu}m\t{}\t{mem}Mi\t{}\n", pct(cpu, alloc_cpu), pct(mem, alloc_mem)));
            }
        }
    }
    tw.flush(&mut streams.out)?;
    Ok(())
}

async fn fetch(client: &crate::client::ApiClient, base: &str, name: Option<&str>, selector: &str) -> Result<Vec<Value>, CmdError> {
    if let Some(n) = name {
        return Ok(vec![client.json(Req::get(format!("{base}/{n}"))).await?]);
    }
    let list = client.json(Req::get(base.to_string()).query_opt("labelSelector", selector)).await?;
    Ok(list.get("items").and_then(Value::as_array).cloned().unwrap_or_default())
}
