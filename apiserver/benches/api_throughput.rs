//! Apiserver throughput benchmark (run with `cargo bench -p rkube-apiserver`). It prints, on
//! one machine in one run:
//! - creates/s through HTTP vs raw storage puts/s (and their ratio),
//! - GETs/s vs a bare hyper server answering the same bytes (and their ratio),
//! - the time to list 10,000 pods (JSON and Table), and the apiserver's RSS holding them.
//!
//! Numbers only: nothing here asserts on timing.

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rkube_apiserver::storage::sled_store::SledStore;
use rkube_apiserver::storage::Storage;
use serde_json::json;

const CONCURRENCY: usize = 16;
const CREATES: usize = 3_000;
const GETS: usize = 20_000;
const PODS: usize = 10_000;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn pod(i: usize) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": format!("pod-{i}"), "namespace": "default", "labels": { "app": "bench", "n": i.to_string() } },
        "spec": { "containers": [{ "name": "c", "image": "busybox:1.35", "resources": { "requests": { "cpu": "10m", "memory": "16Mi" } } }] },
    })
}

async fn raw_storage_puts() -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path()).expect("open sled"));
    let value = serde_json::to_vec(&pod(0)).expect("json");
    let started = Instant::now();
    run_concurrently(CREATES, move |i| {
        let store = store.clone();
        let value = value.clone();
        async move {
            store.create(&format!("/registry/core/pods/default/pod-{i}"), value).await.expect("put");
        }
    })
    .await;
    CREATES as f64 / started.elapsed().as_secs_f64()
}

async fn run_concurrently<F, Fut>(n: usize, f: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let f = f.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                f(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
}

struct Server {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_apiserver() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let child = Command::new(env!("CARGO_BIN_EXE_kube-apiserver"))
        .args(["--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--insecure-bind-address", &addr.to_string()])
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("start kube-apiserver");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "apiserver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    Server { child, addr, _dir: dir }
}

async fn request(client: &HttpClient, method: &str, url: &str, body: Option<Vec<u8>>, accept: &str) -> (u16, Bytes) {
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .header("accept", accept)
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("request");
    let resp = client.request(req).await.expect("response");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, bytes)
}

async fn http_creates(client: &HttpClient, addr: SocketAddr, offset: usize, n: usize) -> f64 {
    let started = Instant::now();
    let client = client.clone();
    run_concurrently(n, move |i| {
        let client = client.clone();
        async move {
            let url = format!("http://{addr}/api/v1/namespaces/default/pods");
            let body = serde_json::to_vec(&pod(offset + i)).expect("json");
            let (code, b) = request(&client, "POST", &url, Some(body), "application/json").await;
            assert_eq!(code, 201, "{}", String::from_utf8_lossy(&b));
        }
    })
    .await;
    n as f64 / started.elapsed().as_secs_f64()
}

async fn gets_per_sec(client: &HttpClient, url: String) -> f64 {
    let started = Instant::now();
    let client = client.clone();
    run_concurrently(GETS, move |_| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let (code, _) = request(&client, "GET", &url, None, "application/json").await;
            assert_eq!(code, 200);
        }
    })
    .await;
    GETS as f64 / started.elapsed().as_secs_f64()
}

/// A bare hyper server that answers every request with the same bytes.
async fn bare_server(body: Bytes) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let body = body.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| {
                    let body = body.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder().header("content-type", "application/json").body(Full::new(body)).expect("response"),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    // Cargo passes --bench; there are no sub-benchmarks to filter.
    let puts = raw_storage_puts().await;
    println!("raw sled storage puts/s ({CONCURRENCY} concurrent): {puts:.0}");

    let server = start_apiserver();
    let client: HttpClient = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(CONCURRENCY).build_http();
    let creates = http_creates(&client, server.addr, 0, CREATES).await;
    println!("HTTP pod creates/s ({CONCURRENCY} concurrent): {creates:.0}  (ratio to raw puts: {:.2})", creates / puts);

    let get_url = format!("http://{}/api/v1/namespaces/default/pods/pod-1", server.addr);
    let (_, sample) = request(&client, "GET", &get_url, None, "application/json").await;
    let api_gets = gets_per_sec(&client, get_url).await;
    let bare = bare_server(sample).await;
    let bare_gets = gets_per_sec(&client, format!("http://{bare}/pod")).await;
    println!("GETs/s: apiserver {api_gets:.0}, bare hyper {bare_gets:.0}  (ratio: {:.2})", api_gets / bare_gets);

    let started = Instant::now();
    http_creates(&client, server.addr, CREATES, PODS - CREATES).await;
    println!("stored {PODS} pods in {:.1}s", started.elapsed().as_secs_f64());
    let list_url = format!("http://{}/api/v1/pods", server.addr);
    for (label, accept) in [("JSON", "application/json"), ("Table", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")] {
        let started = Instant::now();
        let (code, body) = request(&client, "GET", &list_url, None, accept).await;
        assert_eq!(code, 200);
        println!("list {PODS} pods as {label}: {:.0} ms ({:.1} MiB)", started.elapsed().as_secs_f64() * 1000.0, body.len() as f64 / 1048576.0);
    }
    println!("apiserver RSS with {PODS} pods stored: {:.0} MiB", rss_mib(server.child.id()));
}
