//! Harness for whole-cluster tests: starts rkube's binaries from the workspace target dir on
//! free loopback ports with private data dirs, and runs the real kubectl against them.

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
