//! Benchmarks (ignored by default; run with
//! `cargo test -p rkube-integration-tests --test kubectl_bench -- --ignored --nocapture`):
//! `kubectl get pods -A` over 10,000 pods with rkube's kubectl and the real kubectl 1.33 on
//! the same apiserver (the ratio is printed, nothing is asserted), and the start-up time of
//! `kubectl version --client`. rkube's release binary is used when it has been built.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rkube_integration_tests::{binary, target_dir, Apiserver, KUBECTL_133};

const PODS: usize = 10_000;

fn our_kubectl() -> PathBuf {
    let release = target_dir().join("release").join("kubectl");
    if release.exists() {
        release
    } else {
        binary("kubectl")
    }
}

fn create_pods(s: &Apiserver) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let config = kube::Config::new(format!("http://{}", s.addr).parse().expect("url"));
        let client = kube::Client::try_from(config).expect("client");
        let namespaces = ["bench-a", "bench-b", "bench-c", "bench-d"];
        for ns in namespaces {
            let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client.clone());
            let obj = serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).expect("ns");
            let _ = api.create(&Default::default(), &obj).await;
        }
        use futures::StreamExt;
        futures::stream::iter(0..PODS)
            .map(|i| {
                let client = client.clone();
                let ns = namespaces[i % namespaces.len()];
                async move {
                    let api: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client, ns);
                    let pod = serde_json::from_value(serde_json::json!({
                        "metadata": {"name": format!("pod-{i:05}"), "labels": {"app": "bench", "shard": (i % 7).to_string()}},
                        "spec": {"containers": [{"name": "c", "image": "registry.example/app:1.0", "ports": [{"containerPort": 8080}]}]}
                    }))
                    .expect("pod");
                    api.create(&Default::default(), &pod).await.expect("create pod");
                }
            })
            .buffer_unordered(32)
            .collect::<Vec<_>>()
            .await;
    });
}

fn time_get(s: &Apiserver, kubectl: &str, cache: &std::path::Path) -> (Duration, usize) {
    let start = Instant::now();
    let out = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(s.kubeconfig())
        .arg("--cache-dir")
        .arg(cache)
        .args(["get", "pods", "-A"])
        .stderr(Stdio::null())
        .output()
        .expect("run kubectl");
    (start.elapsed(), out.stdout.iter().filter(|&&b| b == b'\n').count())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
fn get_pods_all_namespaces_10k() {
    let s = Apiserver::start();
    let t = Instant::now();
    create_pods(&s);
    println!("created {PODS} pods in {:.1}s", t.elapsed().as_secs_f64());
    let ours = our_kubectl();
    let cache = tempfile::tempdir().expect("cache");
    // Warm both (discovery cache of the real kubectl, page cache of the binaries).
    let (_, lines_real) = time_get(&s, KUBECTL_133, cache.path());
    let (_, lines_ours) = time_get(&s, &ours.display().to_string(), cache.path());
    assert_eq!(lines_real, PODS + 1);
    assert_eq!(lines_ours, PODS + 1);
    let mut real = Vec::new();
    let mut mine = Vec::new();
    for _ in 0..5 {
        real.push(time_get(&s, KUBECTL_133, cache.path()).0);
        mine.push(time_get(&s, &ours.display().to_string(), cache.path()).0);
    }
    let (r, m) = (median(real), median(mine));
    println!(
        "kubectl get pods -A ({PODS} pods): real kubectl 1.33 {:.0} ms, rkube kubectl ({}) {:.0} ms, ratio real/rkube = {:.2}",
        r.as_secs_f64() * 1e3,
        ours.display(),
        m.as_secs_f64() * 1e3,
        r.as_secs_f64() / m.as_secs_f64()
    );
}

#[test]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
fn version_client_startup() {
    let ours = our_kubectl();
    let mut times = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        let out = Command::new(&ours).args(["version", "--client"]).output().expect("run kubectl");
        times.push(start.elapsed());
        assert!(out.status.success());
    }
    let mut real = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        Command::new(KUBECTL_133).args(["version", "--client"]).output().expect("run kubectl");
        real.push(start.elapsed());
    }
    println!(
        "kubectl version --client: rkube ({}) median {:.2} ms, max {:.2} ms; real kubectl 1.33 median {:.2} ms",
        ours.display(),
        median(times.clone()).as_secs_f64() * 1e3,
        times.iter().max().copied().unwrap_or_default().as_secs_f64() * 1e3,
        median(real).as_secs_f64() * 1e3
    );
}
