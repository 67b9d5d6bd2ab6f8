//! Harness for whole-cluster tests: starts rkube's binaries from the workspace target dir on
//! free loopback ports with private data dirs, and runs the real kubectl against them.

pub mod compare;
pub mod kubelet;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The kubectl versions installed on every machine.
pub const KUBECTL_133: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
/// The oldest kubectl the project supports.
pub const KUBECTL_127: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27";

/// The workspace's target dir.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// A built binary of the workspace (hack/test.sh builds them before the tests run).
pub fn binary(name: &str) -> PathBuf {
    let p = target_dir().join("debug").join(name);
    assert!(p.exists(), "{} is missing: run `cargo build --workspace --bins` first", p.display());
    p
}

/// The fixtures folder.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("local addr").port()
}

/// One running kube-apiserver on sled, with its own data dir and kubeconfig.
pub struct Apiserver {
    child: Option<Child>,
    /// Its address, e.g. 127.0.0.1:38123.
    pub addr: String,
    /// Private folder: data, kubeconfig, kubectl cache, log.
    pub dir: tempfile::TempDir,
    /// The etcd endpoint, when not on sled.
    etcd: Option<String>,
}

/// A private etcd on loopback ports with a temporary data dir, killed on drop.
pub struct Etcd {
    child: Child,
    /// The client URL, e.g. http://127.0.0.1:40123.
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

impl Etcd {
    /// Starts etcd and waits until it answers.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (client, peer) = (free_port(), free_port());
        let endpoint = format!("http://127.0.0.1:{client}");
        let child = Command::new("etcd")
            .arg("--data-dir").arg(dir.path().join("etcd"))
            .args(["--listen-client-urls", &endpoint, "--advertise-client-urls", &endpoint])
            .args(["--listen-peer-urls", &format!("http://127.0.0.1:{peer}")])
            .args(["--initial-advertise-peer-urls", &format!("http://127.0.0.1:{peer}")])
            .args(["--initial-cluster", &format!("default=http://127.0.0.1:{peer}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start etcd (apt install etcd-server)");
        let etcd = Etcd { child, endpoint, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let ok = Command::new("curl").args(["-fsS", &format!("{}/health", etcd.endpoint)]).output().is_ok_and(|o| o.status.success());
            if ok {
                return etcd;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("etcd did not start");
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Apiserver {
    /// Starts a fresh apiserver on sled and waits until it is ready.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts an apiserver on the etcd at `endpoint` (several may share it).
    pub fn start_on_etcd(endpoint: &str) -> Self {
        Self::start_with(Some(endpoint.to_string()))
    }

    fn start_with(etcd: Option<String>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let addr = format!("127.0.0.1:{}", free_port());
        let mut s = Apiserver { child: None, addr, dir, etcd };
        s.write_kubeconfig();
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("apiserver.log")).expect("log file");
        let mut cmd = Command::new(binary("kube-apiserver"));
        match &self.etcd {
            Some(endpoint) => cmd.args(["--storage-backend=etcd", "--etcd-servers", endpoint]),
            None => cmd.args(["--storage-backend=sled", "--data-dir"]).arg(self.dir.path().join("data")),
        };
        let child = cmd
            .args(["--insecure-bind-address", &self.addr])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start kube-apiserver");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.get_raw("/readyz").is_some_and(|b| b.trim() == "ok") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("kube-apiserver did not become ready:\n{}", self.log());
    }

    /// A GET over plain HTTP with curl, returning the body on 2xx.
    pub fn get_raw(&self, path: &str) -> Option<String> {
        let out = Command::new("curl").args(["-fsS", &format!("http://{}{}", self.addr, path)]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("apiserver.log")).unwrap_or_default()
    }

    /// Kills the server with SIGKILL (no chance to flush anything).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same address and data.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// The kubeconfig path.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    fn write_kubeconfig(&self) {
        let cfg = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: rkube\n  cluster:\n    server: http://{}\ncontexts:\n- name: rkube\n  context:\n    cluster: rkube\n    user: admin\n    namespace: default\ncurrent-context: rkube\nusers:\n- name: admin\n  user: {{}}\n",
            self.addr
        );
        std::fs::write(self.kubeconfig(), cfg).expect("write kubeconfig");
    }

    /// Runs a kubectl binary with this server's kubeconfig and a private cache dir.
    pub fn kubectl_with(&self, kubectl: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let cache = self.dir.path().join(format!("cache-{}", Path::new(kubectl).file_name().and_then(|f| f.to_str()).unwrap_or("kubectl")));
        let mut cmd = Command::new(kubectl);
        cmd.arg("--kubeconfig").arg(self.kubeconfig()).arg("--cache-dir").arg(cache).args(args);
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("run {kubectl}: {e}"));
        if let Some(input) = stdin {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("kubectl output")
    }

    /// Runs kubectl 1.33 and requires success; returns stdout.
    pub fn kubectl(&self, args: &[&str]) -> String {
        self.kubectl_ok(KUBECTL_133, args)
    }

    /// Runs the given kubectl and requires success; returns stdout.
    pub fn kubectl_ok(&self, kubectl: &str, args: &[&str]) -> String {
        let out = self.kubectl_with(kubectl, args, None);
        assert!(
            out.status.success(),
            "{kubectl} {args:?} failed:\nstdout: {}\nstderr: {}\nserver log tail:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log(), 30)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl expecting failure; returns stderr.
    pub fn kubectl_err(&self, kubectl: &str, args: &[&str]) -> String {
        let out = self.kubectl_with(kubectl, args, None);
        assert!(!out.status.success(), "{kubectl} {args:?} unexpectedly succeeded: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Parses `kubectl get ... -o json`.
    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["-o", "json"]);
        serde_json::from_str(&self.kubectl(&full)).expect("kubectl JSON output")
    }
}

impl Drop for Apiserver {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A kube-scheduler process started against an [`Apiserver`]; killed on drop.
pub struct Scheduler {
    child: Option<Child>,
    /// Its log file.
    pub log_path: PathBuf,
    /// Address of its /healthz, /readyz and /metrics server.
    pub health_addr: String,
}

impl Apiserver {
    /// Starts kube-scheduler with this server's kubeconfig, a private health port, fast
    /// leader-election timings and `extra` flags; waits until it reports ready.
    pub fn start_scheduler(&self, name: &str, extra: &[&str]) -> Scheduler {
        let log_path = self.dir.path().join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).expect("scheduler log file");
        let health_addr = format!("127.0.0.1:{}", free_port());
        let port = health_addr.rsplit(':').next().unwrap_or_default().to_string();
        let child = Command::new(binary("kube-scheduler"))
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(["--bind-address", "127.0.0.1", "--secure-port", &port])
            .args(["--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s", "--leader-elect-retry-period", "500ms"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start kube-scheduler");
        let s = Scheduler { child: Some(child), log_path, health_addr };
        s.wait_ready();
        s
    }
}

impl Scheduler {
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.get_raw("/readyz").is_some_and(|b| b.trim() == "ok") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("kube-scheduler did not become ready:\n{}", self.log());
    }

    /// A GET on the health server, returning the body on 2xx.
    pub fn get_raw(&self, path: &str) -> Option<String> {
        let out = Command::new("curl").args(["-fsS", &format!("http://{}{}", self.health_addr, path)]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Kills the process.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A kube-controller-manager process started against an [`Apiserver`]; killed on drop.
pub struct ControllerManager {
    child: Option<Child>,
    args: Vec<String>,
    /// Its log file (appended to across restarts).
    pub log_path: PathBuf,
    /// Address of its /healthz, /readyz and /metrics server.
    pub health_addr: String,
}

impl Apiserver {
    /// Starts kube-controller-manager with this server's kubeconfig, a private health port,
    /// fast leader-election timings and `extra` flags; waits until it reports ready.
    pub fn start_controller_manager(&self, name: &str, extra: &[&str]) -> ControllerManager {
        let cm = self.spawn_controller_manager(name, extra);
        cm.wait_ready();
        cm
    }

    /// Like [`Apiserver::start_controller_manager`] without waiting for readiness (a
    /// standby candidate never becomes ready).
    pub fn spawn_controller_manager(&self, name: &str, extra: &[&str]) -> ControllerManager {
        let health_addr = format!("127.0.0.1:{}", free_port());
        let port = health_addr.rsplit(':').next().unwrap_or_default().to_string();
        let mut args: Vec<String> = vec!["--kubeconfig".into(), self.kubeconfig().display().to_string()];
        args.extend(["--bind-address", "127.0.0.1", "--secure-port", &port].map(String::from));
        args.extend(["--leader-elect-lease-duration", "6s", "--leader-elect-renew-deadline", "4s", "--leader-elect-retry-period", "1s"].map(String::from));
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut cm = ControllerManager { child: None, args, log_path: self.dir.path().join(format!("{name}.log")), health_addr };
        cm.spawn();
        cm
    }
}

impl ControllerManager {
    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log_path).expect("controller-manager log file");
        let child = Command::new(binary("kube-controller-manager"))
            .args(&self.args)
            .env("RUST_LOG", "info,kube=warn")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start kube-controller-manager");
        self.child = Some(child);
    }

    /// Waits until /readyz answers ok (leader and caches synced).
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.get_raw("/readyz").is_some_and(|b| b.trim() == "ok") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("kube-controller-manager did not become ready:\n{}", tail(&self.log(), 40));
    }

    /// A GET on the health server, returning the body on 2xx.
    pub fn get_raw(&self, path: &str) -> Option<String> {
        let out = Command::new("curl").args(["-fsS", "--max-time", "5", &format!("http://{}{}", self.health_addr, path)]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process with SIGKILL.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again with the same flags and waits until it is ready.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
        self.wait_ready();
    }
}

impl Drop for ControllerManager {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls `check` every 100 ms until it returns true; panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

impl Apiserver {
    /// The apiserver's process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A request with curl (`method`, path, optional JSON merge-patch or JSON body); the
    /// body of a 2xx answer.
    pub fn curl(&self, method: &str, path: &str, body: Option<(&str, &str)>) -> Option<String> {
        let mut cmd = Command::new("curl");
        cmd.args(["-fsS", "--max-time", "10", "-X", method, &format!("http://{}{}", self.addr, path)]);
        if let Some((content_type, data)) = body {
            cmd.args(["-H", &format!("Content-Type: {content_type}"), "--data-binary", data]);
        }
        let out = cmd.output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Acts as the kubelet for every pod not yet Ready: sets phase Running and Ready=True
    /// through the status subresource. Returns how many pods it marked.
    pub fn mark_pods_ready(&self) -> usize {
        let Some(list) = self.curl("GET", "/api/v1/pods", None) else { return 0 };
        let list: serde_json::Value = serde_json::from_str(&list).unwrap_or_default();
        let mut marked = 0;
        for pod in list["items"].as_array().cloned().unwrap_or_default() {
            let ready = pod["status"]["conditions"].as_array().is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
            if ready || !pod["metadata"]["deletionTimestamp"].is_null() {
                continue;
            }
            let (ns, name) = (pod["metadata"]["namespace"].as_str().unwrap_or(""), pod["metadata"]["name"].as_str().unwrap_or(""));
            let patch = r#"{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}"#;
            let path = format!("/api/v1/namespaces/{ns}/pods/{name}/status");
            if self.curl("PATCH", &path, Some(("application/merge-patch+json", patch))).is_some() {
                marked += 1;
            }
        }
        marked
    }
}

/// A background stand-in for kubelets: marks every new pod Ready every 200 ms until dropped.
pub struct ReadyMarker {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ReadyMarker {
    /// Starts marking the pods of the apiserver at `addr` (see [`Apiserver::mark_pods_ready`]).
    pub fn start(server: &Apiserver) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let view = Apiserver { child: None, addr: server.addr.clone(), dir: tempfile::tempdir().expect("temp dir"), etcd: None };
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                view.mark_pods_ready();
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        ReadyMarker { stop, thread: Some(thread) }
    }
}

impl Drop for ReadyMarker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
