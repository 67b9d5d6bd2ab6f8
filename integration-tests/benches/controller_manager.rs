//! Controller-manager benchmark: time for kube-controller-manager to reconcile N Deployments
//! of R replicas each (default 1,000 x 10) until every one reports all replicas updated and
//! available, and the controller-manager's peak RSS (VmHWM). The bench itself plays the
//! kubelets: it watches pods and marks each one Running/Ready through the status
//! subresource. Debug builds only (the project's machines have 2 cores):
//!
//! ```text
//! cargo bench -p rkube-integration-tests --bench controller_manager --profile dev
//! BENCH_DEPLOYMENTS=200 BENCH_REPLICAS=5 cargo bench ... --profile dev
//! ```

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use rkube_integration_tests::Apiserver;
use serde_json::json;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// User+system CPU seconds of a process.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0) + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn deployment(i: usize, replicas: i32) -> Deployment {
    let labels: std::collections::BTreeMap<String, String> = [("app".to_string(), format!("bench-{i}"))].into();
    Deployment {
        metadata: ObjectMeta { name: Some(format!("bench-{i}")), ..Default::default() },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector { match_labels: Some(labels.clone()), ..Default::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..Default::default() }),
                spec: Some(PodSpec { containers: vec![Container { name: "app".into(), image: Some("nginx:1.14.2".into()), ..Default::default() }], ..Default::default() }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

/// Plays every kubelet: marks new pods Running and Ready.
async fn mark_ready(pods: Api<Pod>, marked: Arc<AtomicUsize>) {
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let patch = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
    watcher::watcher(pods.clone(), watcher::Config::default())
        .filter_map(|ev| async move {
            match ev {
                Ok(watcher::Event::Apply(p)) | Ok(watcher::Event::InitApply(p)) => Some(p),
                _ => None,
            }
        })
        .filter(|p| {
            let ready = p.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            let key = format!("{}/{}", p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default());
            let fresh = !ready && p.metadata.deletion_timestamp.is_none() && seen.lock().unwrap().insert(key);
            futures::future::ready(fresh)
        })
        .for_each_concurrent(16, |p| {
            let (pods, patch, marked) = (pods.clone(), patch.clone(), marked.clone());
            async move {
                let api: Api<Pod> = Api::namespaced(pods.into_client(), p.metadata.namespace.as_deref().unwrap_or("default"));
                if api.patch_status(p.metadata.name.as_deref().unwrap_or(""), &PatchParams::default(), &Patch::Merge(&patch)).await.is_ok() {
                    marked.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .await;
}

async fn client_for(server: &Apiserver) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(server.kubeconfig()).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.expect("client config");
    kube::Client::try_from(cfg).expect("client")
}

fn ready_count(list: &[Deployment], replicas: i32) -> usize {
    list.iter()
        .filter(|d| {
            let s = d.status.clone().unwrap_or_default();
            s.updated_replicas == Some(replicas) && s.available_replicas == Some(replicas) && s.replicas == Some(replicas) && s.observed_generation >= d.metadata.generation
        })
        .count()
}

#[tokio::main]
async fn main() {
    let (n, replicas) = (env_usize("BENCH_DEPLOYMENTS", 1000), env_usize("BENCH_REPLICAS", 10) as i32);
    let controllers = std::env::var("BENCH_CONTROLLERS").unwrap_or_else(|_| "deployment,replicaset,garbagecollector".into());
    let server = Apiserver::start();
    let mut cm = server.start_controller_manager("kube-controller-manager", &["--leader-elect=false", &format!("--controllers={controllers}")]);
    let pid = cm.pid().expect("controller-manager pid");
    let client = client_for(&server).await;
    let marked = Arc::new(AtomicUsize::new(0));
    tokio::spawn(mark_ready(Api::all(client.clone()), marked.clone()));
    println!("controller-manager benchmark: {n} Deployments x {replicas} replicas, controllers={controllers}");
    println!("controller-manager RSS before: {} KiB", proc_status_kib(pid, "VmRSS:"));

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let start = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let api = deployments.clone();
            async move { api.create(&PostParams::default(), &deployment(i, replicas)).await.map(|_| ()) }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .expect("create deployments");
    let created = start.elapsed();
    println!("created {n} Deployments in {:.1}s", created.as_secs_f64());

    let limit = Duration::from_secs(env_usize("BENCH_TIMEOUT_SECS", 3600) as u64);
    let mut last_report = Instant::now();
    let mut peak_rss = 0;
    loop {
        peak_rss = peak_rss.max(proc_status_kib(pid, "VmRSS:"));
        let list = deployments.list(&ListParams::default()).await.expect("list deployments").items;
        let done = ready_count(&list, replicas);
        if last_report.elapsed() > Duration::from_secs(10) {
            println!("  {:>6.1}s: {done}/{n} Deployments ready, {} pods marked ready", start.elapsed().as_secs_f64(), marked.load(Ordering::Relaxed));
            last_report = Instant::now();
        }
        if done == n {
            break;
        }
        assert!(start.elapsed() < limit, "not converged within {limit:?}: {done}/{n}\n{}", cm.log().lines().rev().take(30).collect::<Vec<_>>().join("\n"));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let total = start.elapsed();
    let hwm = proc_status_kib(pid, "VmHWM:");
    println!("RESULT: {n} Deployments x {replicas} replicas ready in {:.1}s ({:.0} pods/s)", total.as_secs_f64(), f64::from(replicas) * n as f64 / total.as_secs_f64());
    println!("RESULT: CPU seconds: controller-manager {:.1}, apiserver {:.1}", cpu_seconds(pid), server.pid().map_or(0.0, cpu_seconds));
    println!("RESULT: controller-manager peak RSS (VmHWM) {:.1} MiB (sampled VmRSS max {:.1} MiB)", hwm as f64 / 1024.0, peak_rss as f64 / 1024.0);
    let metrics = cm.get_raw("/metrics").unwrap_or_default();
    for line in metrics.lines().filter(|l| l.starts_with("workqueue_adds_total") || l.starts_with("workqueue_retries_total") || l.starts_with("controller_reconcile_errors_total")) {
        println!("  {line}");
    }
    cm.kill9();
}
