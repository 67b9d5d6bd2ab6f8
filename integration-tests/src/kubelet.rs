//! Harness for kubelet tests: a private node (containerd + CNI in its own network namespace,
//! set up by hack/node.sh) and a kubelet registered to an [`Apiserver`]. Everything is torn
//! down on drop: kubelet, pods, containerd, shims, namespace, mounts and cgroups.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{binary, Apiserver};

/// hack/node.sh of this checkout.
pub fn node_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../hack/node.sh")
}

/// Whether this machine can run real nodes (root, containerd, runc, busybox-static, netns).
/// Tests print why and return early when it cannot.
pub fn node_available() -> bool {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let tools = ["containerd", "runc", "ctr", "ip", "nsenter"].iter().all(|t| Command::new("sh").args(["-c", &format!("command -v {t}")]).output().is_ok_and(|o| o.status.success()));
    let ok = root && tools && Path::new("/bin/busybox").exists() && Path::new("/usr/lib/cni/bridge").exists();
    if !ok {
        eprintln!("skipping: needs root, containerd, runc, busybox-static and containernetworking-plugins");
    }
    ok
}

/// A free link index (169.254.N.0/30), held by an advisory lock for the test's life.
fn claim_link() -> (u8, File) {
    let dir = std::env::temp_dir().join("rkube-test-links");
    std::fs::create_dir_all(&dir).expect("lock dir");
    for n in 100u8..250 {
        let f = File::create(dir.join(format!("{n}.lock"))).expect("lock file");
        if f.try_lock().is_ok() {
            return (n, f);
        }
    }
    panic!("no free link index for a test node");
}

/// A node runtime and its kubelet.
pub struct KubeletNode {
    /// Node name.
    pub name: String,
    /// State folder (containerd, kubelet root, logs).
    pub dir: tempfile::TempDir,
    /// Link index: host side 169.254.N.1 (kubelet), node side 169.254.N.2.
    pub link: u8,
    _lock: File,
    kubelet: Option<Child>,
    kubeconfig: PathBuf,
    extra: Vec<String>,
}

impl KubeletNode {
    /// Starts a node named `name` with a kubelet talking to `api`.
    pub fn start(api: &Apiserver, name: &str) -> Self {
        Self::start_with(api, name, &[])
    }

    /// Like [`KubeletNode::start`], with extra kubelet flags.
    pub fn start_with(api: &Apiserver, name: &str, extra: &[&str]) -> Self {
        let (link, lock) = claim_link();
        let dir = tempfile::Builder::new().prefix("rkn").tempdir().expect("temp dir");
        let mut n = KubeletNode {
            name: name.to_string(),
            dir,
            link,
            _lock: lock,
            kubelet: None,
            kubeconfig: api.kubeconfig(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        n.node_script("down");
        let out = n.node_script("up");
        assert!(out.status.success(), "hack/node.sh up failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        n.start_kubelet();
        n
    }

    /// The network namespace of the node.
    pub fn netns(&self) -> String {
        format!("rkt-{}", self.link)
    }

    /// The kubelet's address.
    pub fn kubelet_ip(&self) -> String {
        format!("169.254.{}.1", self.link)
    }

    fn node_dir(&self) -> PathBuf {
        self.dir.path().join("node")
    }

    fn node_script(&self, action: &str) -> Output {
        Command::new("bash")
            .arg(node_script())
            .arg(action)
            .env("NODE_DIR", self.node_dir())
            .env("NODE_NETNS", self.netns())
            .env("LINK_NET", self.link.to_string())
            .output()
            .expect("run hack/node.sh")
    }

    /// Starts (or restarts) the kubelet process.
    pub fn start_kubelet(&mut self) {
        let node = self.node_dir();
        let log = File::options().create(true).append(true).open(self.dir.path().join("kubelet.log")).expect("log");
        let ip = self.kubelet_ip();
        let child = Command::new(binary("kubelet"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["--hostname-override", &self.name, "--node-ip", &ip, "--address", &ip, "--healthz-port", "0"])
            // Test nodes share the machine's disk: no disk-based eviction (as kind does).
            .arg("--eviction-hard=memory.available<100Mi,nodefs.available<0%")
            .arg(format!("--container-runtime-endpoint=unix://{}/containerd/containerd.sock", node.display()))
            .arg(format!("--root-dir={}", self.dir.path().join("root").display()))
            .arg(format!("--pod-logs-dir={}", node.join("pods").display()))
            .arg(format!("--cgroup-root=/rkube-{}", self.netns()))
            .arg(format!("--node-netns={}", self.netns()))
            .args(&self.extra)
            .env("RUST_LOG", "info,kube=warn")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start kubelet");
        self.kubelet = Some(child);
    }

    /// Kills the kubelet with SIGKILL, leaving its pods running.
    pub fn kill9_kubelet(&mut self) {
        if let Some(mut c) = self.kubelet.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The kubelet's PID.
    pub fn kubelet_pid(&self) -> Option<u32> {
        self.kubelet.as_ref().map(Child::id)
    }

    /// The kubelet log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kubelet.log")).unwrap_or_default()
    }

    /// Runs a command inside the node's network namespace (where pod IPs are routed).
    pub fn in_netns(&self, args: &[&str]) -> Output {
        Command::new("ip").args(["netns", "exec", &self.netns()]).args(args).stdin(Stdio::null()).output().expect("ip netns exec")
    }
}

impl Drop for KubeletNode {
    fn drop(&mut self) {
        self.kill9_kubelet();
        let out = self.node_script("down");
        if !out.status.success() {
            eprintln!("hack/node.sh down: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

/// Resident memory of a process in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:").and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Polls `check` until it returns Some or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Apiserver {
    /// `kubectl get` as JSON, or None when the command fails (e.g. not found).
    pub fn try_get_json(&self, args: &[&str]) -> Option<serde_json::Value> {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["-o", "json"]);
        let out = self.kubectl_with(crate::KUBECTL_133, &full, None);
        out.status.success().then(|| serde_json::from_slice(&out.stdout).ok()).flatten()
    }

    /// Creates objects from YAML text with kubectl 1.33.
    pub fn apply_yaml(&self, yaml: &str) -> String {
        let out = self.kubectl_with(crate::KUBECTL_133, &["apply", "-f", "-"], Some(yaml));
        assert!(out.status.success(), "kubectl apply failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the pod's status satisfies `check`; returns the pod.
    pub fn wait_pod(&self, name: &str, timeout: Duration, what: &str, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        wait_for(timeout, &format!("pod {name}: {what}"), || self.try_get_json(&["get", "pod", name]).filter(|p| check(p)))
    }
}

/// A whole cluster on one real node: apiserver, kubelet/containerd, scheduler and
/// controller-manager (started after the node registered, then waited on for the default
/// ServiceAccount, so that pods get their token volume).
pub struct Cluster {
    /// The apiserver.
    pub api: Apiserver,
    /// The node.
    pub node: KubeletNode,
    _scheduler: crate::Scheduler,
    _cm: crate::ControllerManager,
}

impl Cluster {
    /// Starts the cluster with a node named `node`, or `None` (after saying why) when this
    /// machine cannot run real nodes.
    pub fn start(node: &str) -> Option<Cluster> {
        if !node_available() {
            return None;
        }
        let api = Apiserver::start();
        let kubelet = KubeletNode::start(&api, node);
        wait_for(Duration::from_secs(30), "node registered", || api.try_get_json(&["get", "node", node]));
        let scheduler = api.start_scheduler("scheduler", &[]);
        let cm = api.start_controller_manager("controller-manager", &[]);
        wait_for(Duration::from_secs(30), "default service account", || api.try_get_json(&["get", "serviceaccount", "default"]));
        Some(Cluster { api, node: kubelet, _scheduler: scheduler, _cm: cm })
    }
}
