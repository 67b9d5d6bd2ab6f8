//! Scheduler throughput benchmark (`cargo bench -p rkube-scheduler`): 10,000 pods onto
//! 5,000 simulated nodes (Node objects only, no kubelet), for pods with requests only, with
//! required pod anti-affinity, and with zone topology spread. It prints pods/s and p50/p99
//! latency for
//! - the scheduling core in-process against the cache (informer confirmation simulated), and
//! - end to end: a kube-apiserver binary from the target dir, the scheduler (this build)
//!   watching it and binding through pods/binding; latency is pod created → bound.
//!
//! Flags: `--nodes N`, `--pods N`, `--in-process-only`, `--scenario requests|anti-affinity|spread`.
//! Numbers only: nothing here asserts on timing.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, PostParams};
use kube::runtime::watcher::{self, Event};
use rkube_scheduler::config::KubeSchedulerConfiguration;
use rkube_scheduler::core::{Outcome, SchedulerCore};
use rkube_scheduler::metrics::Metrics;
use rkube_scheduler::plugins::in_tree_registry;
use rkube_scheduler::scheduler::Scheduler;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const ZONES: usize = 10;
const GROUP: usize = 10;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Requests,
    AntiAffinity,
    Spread,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Requests => "requests",
            Scenario::AntiAffinity => "anti-affinity",
            Scenario::Spread => "spread",
        }
    }
}

fn node(i: usize) -> Node {
    let alloc = json!({"cpu": "32", "memory": "128Gi", "pods": "110"});
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": format!("node-{i}"), "labels": {
            "kubernetes.io/hostname": format!("node-{i}"),
            "topology.kubernetes.io/zone": format!("zone-{}", i % ZONES),
        }},
        "status": {"capacity": alloc, "allocatable": alloc},
    }))
    .expect("node")
}

fn pod(i: usize, scenario: Scenario) -> Pod {
    let app = format!("group-{}", i / GROUP);
    let mut spec = json!({"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9",
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]});
    let selector = json!({"matchLabels": {"app": app}});
    match scenario {
        Scenario::Requests => {}
        Scenario::AntiAffinity => {
            spec["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": selector, "topologyKey": "kubernetes.io/hostname"}]}});
        }
        Scenario::Spread => {
            spec["topologySpreadConstraints"] = json!([{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule", "labelSelector": selector}]);
        }
    }
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("pod-{i}"), "namespace": "default", "uid": format!("uid-{i}"), "labels": {"app": app}},
        "spec": spec,
    }))
    .expect("pod")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn print_row(
    kind: &str,
    scenario: Scenario,
    scheduled: usize,
    total: usize,
    elapsed: Duration,
    mut lat: Vec<Duration>,
) {
    lat.sort();
    println!(
        "{kind:<11} {:<14} {scheduled:>6}/{total:<6} {:>9.0} pods/s   p50 {:>9.3} ms   p99 {:>9.3} ms   ({:.2} s)",
        scenario.name(),
        scheduled as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        elapsed.as_secs_f64()
    );
}

/// The core alone: every pod queued, cycles run back to back, bindings confirmed at once.
fn in_process(scenario: Scenario, nodes: usize, pods: usize) {
    let mut core = SchedulerCore::new(
        &KubeSchedulerConfiguration::default_config(),
        &in_tree_registry(),
    )
    .expect("profiles");
    let now = Instant::now();
    for i in 0..nodes {
        core.node_upserted(node(i), now);
    }
    for i in 0..pods {
        core.pod_upserted(pod(i, scenario), now);
    }
    let mut lat = Vec::with_capacity(pods);
    let mut scheduled = 0;
    let started = Instant::now();
    loop {
        let t = Instant::now();
        match core.schedule_next() {
            None => break,
            Some(Outcome::Scheduled(a)) => {
                core.binding_succeeded(&a);
                let mut bound = (*a.info.pod.pod).clone();
                bound.spec.as_mut().expect("spec").node_name = Some(a.node.clone());
                core.pod_upserted(bound, Instant::now());
                scheduled += 1;
                lat.push(t.elapsed());
            }
            Some(_) => lat.push(t.elapsed()),
        }
    }
    print_row(
        "in-process",
        scenario,
        scheduled,
        pods,
        started.elapsed(),
        lat,
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn apiserver_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let release = target.join("release/kube-apiserver");
    if release.exists() {
        release
    } else {
        target.join("debug/kube-apiserver")
    }
}

struct ApiserverProcess {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for ApiserverProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_apiserver() -> Option<(ApiserverProcess, kube::Client)> {
    let bin = apiserver_binary();
    if !bin.exists() {
        eprintln!("{} not built: skipping the end-to-end runs", bin.display());
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(&bin)
        .args(["--storage-backend=sled", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--insecure-bind-address", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kube-apiserver");
    let proc = ApiserverProcess { child, _dir: dir };
    let config = kube::Config::new(format!("http://{addr}").parse().expect("url"));
    let client = kube::Client::try_from(config).expect("client");
    for _ in 0..300 {
        if client.apiserver_version().await.is_ok() {
            return Some((proc, client));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("kube-apiserver did not start");
}

async fn create_all<K, F>(
    api: Api<K>,
    n: usize,
    make: F,
    created: Option<Arc<Mutex<HashMap<String, Instant>>>>,
) where
    K: kube::Resource
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    F: Fn(usize) -> K,
{
    let objs: Vec<K> = (0..n).map(make).collect();
    futures::stream::iter(objs)
        .for_each_concurrent(32, |o| {
            let api = api.clone();
            let created = created.clone();
            async move {
                let name = o.meta().name.clone().unwrap_or_default();
                if let Some(c) = &created {
                    c.lock().expect("lock").insert(name.clone(), Instant::now());
                }
                api.create(&PostParams::default(), &o)
                    .await
                    .unwrap_or_else(|e| panic!("create {name}: {e}"));
            }
        })
        .await;
}

/// apiserver + scheduler: pods created through the API, bound through pods/binding.
async fn end_to_end(scenario: Scenario, nodes: usize, pods: usize) {
    let Some((_apiserver, client)) = start_apiserver().await else {
        return;
    };
    let t = Instant::now();
    create_all(Api::<Node>::all(client.clone()), nodes, node, None).await;
    let node_rate = nodes as f64 / t.elapsed().as_secs_f64();
    let core = SchedulerCore::new(
        &KubeSchedulerConfiguration::default_config(),
        &in_tree_registry(),
    )
    .expect("profiles");
    let sched = Scheduler::new(core, client.clone(), Metrics::new().expect("metrics"));
    sched.start_informers();
    sched.wait_synced().await;
    while sched.cached_nodes() < nodes {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stop = CancellationToken::new();
    tokio::spawn(sched.clone().flush_loop(stop.clone()));
    let (rt, s, st) = (
        tokio::runtime::Handle::current(),
        sched.clone(),
        stop.clone(),
    );
    let thread = std::thread::spawn(move || s.scheduling_loop(rt, st));

    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let bound: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let (b, watch_client) = (bound.clone(), client.clone());
    let watch = tokio::spawn(async move {
        let mut stream = watcher::watcher(
            Api::<Pod>::namespaced(watch_client, "default"),
            watcher::Config::default(),
        )
        .boxed();
        while let Some(ev) = stream.next().await {
            if let Ok(Event::Apply(p) | Event::InitApply(p)) = ev {
                if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
                    b.lock()
                        .expect("lock")
                        .entry(p.metadata.name.clone().unwrap_or_default())
                        .or_insert_with(Instant::now);
                }
            }
        }
    });
    let started = Instant::now();
    create_all(
        Api::<Pod>::namespaced(client.clone(), "default"),
        pods,
        |i| pod(i, scenario),
        Some(created.clone()),
    )
    .await;
    let create_secs = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last = (0, Instant::now());
    loop {
        let n = bound.lock().expect("lock").len();
        if n >= pods
            || Instant::now() > deadline
            || (n == last.0 && last.1.elapsed() > Duration::from_secs(20))
        {
            break;
        }
        if n != last.0 {
            last = (n, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    stop.cancel();
    watch.abort();
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    let (created, bound) = (created.lock().expect("lock"), bound.lock().expect("lock"));
    let lat: Vec<Duration> = bound
        .iter()
        .filter_map(|(n, t)| created.get(n).map(|c| t.saturating_duration_since(*c)))
        .collect();
    print_row("end-to-end", scenario, bound.len(), pods, elapsed, lat);
    println!("            (apiserver alone: {node_rate:.0} node creates/s; pod creates took {create_secs:.1} s)");
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let nodes: usize = arg(&args, "--nodes")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let pods: usize = arg(&args, "--pods")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let only = arg(&args, "--scenario");
    let scenarios: Vec<Scenario> = [Scenario::Requests, Scenario::AntiAffinity, Scenario::Spread]
        .into_iter()
        .filter(|s| only.as_deref().is_none_or(|o| o == s.name()))
        .collect();
    println!(
        "scheduling {pods} pods onto {nodes} nodes ({} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    for s in &scenarios {
        in_process(*s, nodes, pods);
    }
    if args.iter().any(|a| a == "--in-process-only") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for s in &scenarios {
        rt.block_on(end_to_end(*s, nodes, pods));
    }
}
