//! `kubectl top pod|node`: usage from the resource metrics API (`metrics.k8s.io/v1beta1`),
//! printed as upstream's `metricsutil.TopCmdPrinter` does: CPU in millicores (rounded up),
//! memory in Mi (rounded down), node percentages of allocatable (or capacity), `<unknown>`
//! rows for nodes without metrics, `--sum` totals, and upstream's "metrics not available"
//! diagnosis when the list is empty.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use clap::Subcommand;
use rkube_apimachinery::label_selector::LabelSelector;
use rkube_apimachinery::quantity::Quantity;
use serde_json::Value;

use crate::client::{ApiClient, Req};
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::tabwriter::TabWriter;
use crate::util::Streams;

const METRICS: &str = "/apis/metrics.k8s.io/v1beta1";
/// Upstream's `metricsCreationDelay`: older pods without metrics are reported.
const METRICS_CREATION_DELAY_SECS: i64 = 120;

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
    #[command(name = "pod", alias = "pods", alias = "po")]
    Pods(PodArgs),
    /// Display resource (CPU/memory) usage of nodes.
    #[command(name = "node", alias = "nodes", alias = "no")]
    Nodes(NodeArgs),
}

/// Flags of `kubectl top pod`.
#[derive(clap::Args, Debug)]
pub struct PodArgs {
    /// NAME
    #[arg(num_args = 0..)]
    names: Vec<String>,
    /// If present, list across all namespaces.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long, default_value = "")]
    selector: String,
    /// Selector (field query) to filter on.
    #[arg(long, default_value = "")]
    field_selector: String,
    /// Sort pods by `cpu` or `memory`.
    #[arg(long, default_value = "")]
    sort_by: String,
    /// Print usage of containers within a pod.
    #[arg(long)]
    containers: bool,
    /// If present, don't print headers.
    #[arg(long)]
    no_headers: bool,
    /// Print the sum of the resource usage.
    #[arg(long)]
    sum: bool,
    /// Accepted for compatibility (the answer is JSON either way).
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    use_protocol_buffers: bool,
}

/// Flags of `kubectl top node`.
#[derive(clap::Args, Debug)]
pub struct NodeArgs {
    /// NAME
    #[arg(num_args = 0..)]
    names: Vec<String>,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long, default_value = "")]
    selector: String,
    /// Sort nodes by `cpu` or `memory`.
    #[arg(long, default_value = "")]
    sort_by: String,
    /// If present, don't print headers.
    #[arg(long)]
    no_headers: bool,
    /// Percentages of Capacity instead of Allocatable.
    #[arg(long)]
    show_capacity: bool,
    /// Accepted for compatibility (the answer is JSON either way).
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    use_protocol_buffers: bool,
}

/// CPU and memory of one row.
#[derive(Clone, Default, Debug)]
struct Usage {
    cpu: Quantity,
    memory: Quantity,
}

impl Usage {
    fn from_json(v: &Value) -> Self {
        let q = |k: &str| Quantity::from_json(&v[k]).unwrap_or_default();
        Usage { cpu: q("cpu"), memory: q("memory") }
    }

    fn add(&self, o: &Usage) -> Usage {
        Usage { cpu: self.cpu.saturating_add(&o.cpu), memory: self.memory.saturating_add(&o.memory) }
    }

    /// Order for `--sort-by`: larger first; `None` for the default (name) order.
    fn cmp_by(&self, o: &Usage, sort_by: &str) -> Option<Ordering> {
        match sort_by {
            "cpu" => Some(o.cpu.milli_value().cmp(&self.cpu.milli_value())),
            "memory" => Some(o.memory.value().cmp(&self.memory.value())),
            _ => None,
        }
    }
}

fn cpu_cell(q: &Quantity) -> String {
    format!("{}m", q.milli_value())
}

fn memory_cell(q: &Quantity) -> String {
    format!("{}Mi", q.value() / (1024 * 1024))
}

/// The usage cells of a row (each tab-terminated), with percentages when `available` is known.
fn usage_cells(u: &Usage, available: Option<&BTreeMap<String, Quantity>>) -> String {
    let mut out = String::new();
    for (res, q, cell) in [("cpu", &u.cpu, cpu_cell(&u.cpu)), ("memory", &u.memory, memory_cell(&u.memory))] {
        out.push_str(&cell);
        out.push('\t');
        if let Some(avail) = available.and_then(|a| a.get(res)) {
            let fraction = if avail.is_zero() { 0.0 } else { q.milli_value() as f64 / avail.milli_value() as f64 * 100.0 };
            out.push_str(&format!("{}%\t", fraction as i64));
        }
    }
    out
}

fn validate_sort_by(sort_by: &str) -> Result<(), CmdError> {
    if !sort_by.is_empty() && sort_by != "cpu" && sort_by != "memory" {
        return Err(CmdError::msg("--sort-by accepts only cpu or memory"));
    }
    Ok(())
}

fn parse_labels(selector: &str) -> Result<String, CmdError> {
    let parsed = LabelSelector::parse(selector).map_err(|e| CmdError::msg(e.message().to_string()))?;
    Ok(parsed.to_string())
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// `kubectl top`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    match a.what {
        What::Pods(p) => top_pod(f, p, streams).await,
        What::Nodes(n) => top_node(f, n, streams).await,
    }
}

async fn check_metrics_api(f: &Factory) -> Result<(), CmdError> {
    if !f.mapper().await?.has_group("metrics.k8s.io") {
        return Err(CmdError::msg("Metrics API not available"));
    }
    Ok(())
}

async fn list_items(client: &ApiClient, path: String, labels: &str, fields: &str) -> Result<Vec<Value>, CmdError> {
    let list = client.json(Req::get(path).query_opt("labelSelector", labels).query_opt("fieldSelector", fields)).await?;
    Ok(list.get("items").and_then(Value::as_array).cloned().unwrap_or_default())
}

async fn top_pod(f: &Factory, a: PodArgs, streams: &mut Streams) -> Result<(), CmdError> {
    if a.names.len() > 1 {
        return Err(CmdError::usage("kubectl top pod", "pod [NAME | -l label]"));
    }
    let name = a.names.first().cloned().unwrap_or_default();
    let (ns, _) = f.namespace()?;
    validate_sort_by(&a.sort_by)?;
    if !name.is_empty() && (!a.selector.is_empty() || !a.field_selector.is_empty()) {
        return Err(CmdError::msg("only one of NAME or selector can be provided"));
    }
    let labels = parse_labels(&a.selector)?;
    check_metrics_api(f).await?;
    let client = f.client().await?;
    let scope = if a.all_namespaces { METRICS.to_string() } else { format!("{METRICS}/namespaces/{ns}") };
    let items = if name.is_empty() {
        list_items(client, format!("{scope}/pods"), &labels, &a.field_selector).await?
    } else {
        vec![client.json(Req::get(format!("{scope}/pods/{name}"))).await?]
    };
    if items.is_empty() {
        verify_empty_metrics(client, &ns, &name, &labels, &a.field_selector).await?;
        if a.all_namespaces {
            streams.eprintln("No resources found");
        } else {
            streams.eprintln(&format!("No resources found in {ns} namespace."));
        }
        return Ok(());
    }
    let mut tw = TabWriter::kubectl();
    let mut columns = 3;
    if !a.no_headers {
        if a.all_namespaces {
            tw.write_str("NAMESPACE\t");
            columns += 1;
        }
        if a.containers {
            tw.write_str("POD\t");
            columns += 1;
        }
        tw.write_str("NAME\tCPU(cores)\tMEMORY(bytes)\t\n");
    }
    let totals: Vec<Usage> = items
        .iter()
        .map(|p| p["containers"].as_array().into_iter().flatten().fold(Usage::default(), |acc, c| acc.add(&Usage::from_json(&c["usage"]))))
        .collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&i, &j| {
        totals[i].cmp_by(&totals[j], &a.sort_by).unwrap_or_else(|| {
            let (pi, pj) = (&items[i], &items[j]);
            let by_ns = if a.all_namespaces { str_at(pi, "/metadata/namespace").cmp(str_at(pj, "/metadata/namespace")) } else { Ordering::Equal };
            by_ns.then_with(|| str_at(pi, "/metadata/name").cmp(str_at(pj, "/metadata/name")))
        })
    });
    let mut sum = Usage::default();
    for &i in &order {
        let p = &items[i];
        let pod_ns = str_at(p, "/metadata/namespace").to_string();
        let pod_name = str_at(p, "/metadata/name").to_string();
        let prefix = if a.all_namespaces { format!("{pod_ns}\t") } else { String::new() };
        sum = sum.add(&totals[i]);
        if a.containers {
            let mut cs: Vec<(String, Usage)> = p["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| (c["name"].as_str().unwrap_or("").to_string(), Usage::from_json(&c["usage"])))
                .collect();
            cs.sort_by(|x, y| x.1.cmp_by(&y.1, &a.sort_by).unwrap_or_else(|| x.0.cmp(&y.0)));
            for (cname, u) in cs {
                tw.write_str(&format!("{prefix}{pod_name}\t{cname}\t{}\n", usage_cells(&u, None)));
            }
        } else {
            tw.write_str(&format!("{prefix}{pod_name}\t{}\n", usage_cells(&totals[i], None)));
        }
    }
    if a.sum {
        tw.write_str(&"\t".repeat(columns - 2));
        tw.write_str("________\t________\t\n");
        tw.write_str(&"\t".repeat(columns - 3));
        tw.write_str(&format!("\t{}\n", usage_cells(&sum, None)));
    }
    tw.flush(&mut streams.out)?;
    Ok(())
}

/// Upstream's `verifyEmptyMetrics`: why a list came back empty. Pods are looked up in the
/// current namespace (also with `-A`, as upstream does).
async fn verify_empty_metrics(client: &ApiClient, ns: &str, name: &str, labels: &str, fields: &str) -> Result<(), CmdError> {
    let pods = if name.is_empty() {
        let pods = list_items(client, format!("/api/v1/namespaces/{ns}/pods"), labels, fields).await?;
        if pods.is_empty() {
            return Ok(());
        }
        pods
    } else {
        vec![client.json(Req::get(format!("/api/v1/namespaces/{ns}/pods/{name}"))).await?]
    };
    use k8s_openapi::jiff::Timestamp;
    let now = Timestamp::now();
    for pod in &pods {
        let created: Timestamp = str_at(pod, "/metadata/creationTimestamp").parse().unwrap_or(now);
        let age = i64::try_from(now.as_nanosecond() - created.as_nanosecond()).unwrap_or(i64::MAX);
        if age > METRICS_CREATION_DELAY_SECS * 1_000_000_000 {
            let (pns, pname) = (str_at(pod, "/metadata/namespace"), str_at(pod, "/metadata/name"));
            return Err(CmdError::msg(format!("Metrics not available for pod {pns}/{pname}, age: {}", go_duration(age))));
        }
    }
    Err(CmdError::msg("metrics not available yet"))
}

async fn top_node(f: &Factory, a: NodeArgs, streams: &mut Streams) -> Result<(), CmdError> {
    if a.names.len() > 1 {
        return Err(CmdError::usage("kubectl top node", "node [NAME | -l label]"));
    }
    let name = a.names.first().cloned().unwrap_or_default();
    validate_sort_by(&a.sort_by)?;
    if !name.is_empty() && !a.selector.is_empty() {
        return Err(CmdError::msg("only one of NAME or --selector can be provided"));
    }
    let labels = parse_labels(&a.selector)?;
    check_metrics_api(f).await?;
    let client = f.client().await?;
    let metrics = if name.is_empty() {
        list_items(client, format!("{METRICS}/nodes"), &labels, "").await?
    } else {
        vec![client.json(Req::get(format!("{METRICS}/nodes/{name}"))).await?]
    };
    if metrics.is_empty() {
        return Err(CmdError::msg("metrics not available yet"));
    }
    let nodes = if name.is_empty() {
        list_items(client, "/api/v1/nodes".to_string(), &labels, "").await?
    } else {
        vec![client.json(Req::get(format!("/api/v1/nodes/{name}"))).await?]
    };
    let field = if a.show_capacity { "capacity" } else { "allocatable" };
    let mut available: BTreeMap<String, BTreeMap<String, Quantity>> = nodes
        .iter()
        .map(|n| {
            let resources = n["status"][field].as_object().into_iter().flatten();
            let list = resources.filter_map(|(k, v)| Some((k.clone(), Quantity::from_json(v).ok()?))).collect();
            (str_at(n, "/metadata/name").to_string(), list)
        })
        .collect();
    let mut rows: Vec<(String, Usage)> = metrics.iter().map(|m| (str_at(m, "/metadata/name").to_string(), Usage::from_json(&m["usage"]))).collect();
    rows.sort_by(|x, y| x.1.cmp_by(&y.1, &a.sort_by).unwrap_or_else(|| x.0.cmp(&y.0)));
    let mut tw = TabWriter::kubectl();
    if !a.no_headers {
        tw.write_str("NAME\tCPU(cores)\tCPU(%)\tMEMORY(bytes)\tMEMORY(%)\t\n");
    }
    for (node, u) in &rows {
        let avail = available.remove(node);
        tw.write_str(&format!("{node}\t{}\n", usage_cells(u, avail.as_ref())));
    }
    for node in available.keys() {
        tw.write_str(&format!("{node}\t<unknown>\t<unknown>\t<unknown>\t<unknown>\t\n"));
    }
    tw.flush(&mut streams.out)?;
    Ok(())
}

/// Go's `time.Duration.String()`.
fn go_duration(d: i64) -> String {
    if d == 0 {
        return "0s".to_string();
    }
    let sign = if d < 0 { "-" } else { "" };
    let n = d.unsigned_abs();
    let frac = |whole: u64, rest: u64, div: u64| {
        if rest == 0 {
            whole.to_string()
        } else {
            let width = div.ilog10() as usize;
            format!("{whole}.{}", format!("{rest:0width$}").trim_end_matches('0'))
        }
    };
    if n < 1_000_000_000 {
        let (unit, div) = match n {
            0..1_000 => ("ns", 1),
            1_000..1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{sign}{}{unit}", frac(n / div, n % div, div));
    }
    let secs = n / 1_000_000_000;
    let s = frac(secs % 60, n % 1_000_000_000, 1_000_000_000);
    match (secs / 3600, secs / 60 % 60) {
        (0, 0) => format!("{sign}{s}s"),
        (0, m) => format!("{sign}{m}m{s}s"),
        (h, m) => format!("{sign}{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn cells_round_cpu_up_and_memory_down() {
        let u = Usage { cpu: q("1234567n"), memory: q("1536Ki") };
        assert_eq!(usage_cells(&u, None), "2m\t1Mi\t");
        let zero = Usage::default();
        assert_eq!(usage_cells(&zero, None), "0m\t0Mi\t");
    }

    #[test]
    fn node_percentages_of_available() {
        let u = Usage { cpu: q("250m"), memory: q("1Gi") };
        let avail = BTreeMap::from([("cpu".to_string(), q("2")), ("memory".to_string(), q("3Gi"))]);
        assert_eq!(usage_cells(&u, Some(&avail)), "250m\t12%\t1024Mi\t33%\t");
        let cpu_only = BTreeMap::from([("cpu".to_string(), q("0"))]);
        assert_eq!(usage_cells(&u, Some(&cpu_only)), "250m\t0%\t1024Mi\t");
    }

    #[test]
    fn sort_orders() {
        let a = Usage { cpu: q("10m"), memory: q("1Mi") };
        let b = Usage { cpu: q("20m"), memory: q("1Ki") };
        assert_eq!(a.cmp_by(&b, "cpu"), Some(Ordering::Greater));
        assert_eq!(a.cmp_by(&b, "memory"), Some(Ordering::Less));
        assert_eq!(a.cmp_by(&b, ""), None);
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(125_500_000_000), "2m5.5s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
    }
}
