//! Liveness, readiness and startup probes (exec, httpGet, tcpSocket) and lifecycle
//! handlers. One task per running container and probe kind keeps the consecutive
//! success/failure counts against the thresholds and publishes results to the pod worker.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, HTTPGetAction, LifecycleHandler, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::cri::Runtime;
use crate::netns::Dialer;

/// The three probe kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Restarts the container on failure.
    Liveness,
    /// Gates the container's readiness.
    Readiness,
    /// Holds the other probes until the container started.
    Startup,
}

/// One probe attempt's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Passed.
    Success,
    /// Failed, with upstream-style output.
    Failure(String),
}

/// Where a probe runs.
#[derive(Clone)]
pub struct Target {
    /// Runtime container id.
    pub container_id: String,
    /// Pod IP (probes' default host).
    pub pod_ip: String,
    /// The container spec (named ports).
    pub container: Container,
    /// The runtime.
    pub runtime: Arc<dyn Runtime>,
    /// Dialer into the pods' namespace.
    pub dialer: Dialer,
}

/// Results shared between probe tasks and the pod worker.
#[derive(Default)]
pub struct Book {
    results: Mutex<HashMap<(String, Kind), bool>>,
    /// Woken when a result changes.
    pub changed: Notify,
}

impl Book {
    /// The result for a container and kind, if any.
    pub fn get(&self, id: &str, kind: Kind) -> Option<bool> {
        self.results.lock().expect("probe book").get(&(id.to_string(), kind)).copied()
    }

    fn set(&self, id: &str, kind: Kind, ok: bool) {
        let prev = self.results.lock().expect("probe book").insert((id.to_string(), kind), ok);
        if prev != Some(ok) {
            self.changed.notify_one();
        }
    }

    /// Forgets a container's results.
    pub fn forget(&self, id: &str) {
        self.results.lock().expect("probe book").retain(|(cid, _), _| cid != id);
    }
}

fn resolve_port(port: &IntOrString, c: &Container) -> Option<u16> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p).ok(),
        IntOrString::String(name) => match name.parse::<u16>() {
            Ok(p) => Some(p),
            Err(_) => c.ports.iter().flatten().find(|p| p.name.as_deref() == Some(name)).and_then(|p| u16::try_from(p.container_port).ok()),
        },
    }
}

fn address(host: Option<&String>, port: u16, t: &Target) -> Result<SocketAddr, String> {
    let host = host.filter(|h| !h.is_empty()).unwrap_or(&t.pod_ip);
    let ip: IpAddr = host.parse().map_err(|_| format!("cannot resolve host {host:?}"))?;
    Ok(SocketAddr::new(ip, port))
}

/// Builds the HTTP/1.1 request of an httpGet probe.
pub fn http_request(h: &HTTPGetAction, host: &str) -> String {
    let path = h.path.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "/".into());
    let mut req = format!("GET {path} HTTP/1.1\r\n");
    let headers = h.http_headers.clone().unwrap_or_default();
    let has = |n: &str| headers.iter().any(|x| x.name.eq_ignore_ascii_case(n));
    if !has("host") {
        req.push_str(&format!("Host: {host}\r\n"));
    }
    if !has("user-agent") {
        req.push_str("User-Agent: kube-probe/1.33\r\n");
    }
    if !has("accept") {
        req.push_str("Accept: */*\r\n");
    }
    for x in &headers {
        req.push_str(&format!("{}: {}\r\n", x.name, x.value));
    }
    req.push_str("Connection: close\r\n\r\n");
    req
}

/// The status code of an HTTP response's first line.
pub fn status_code(head: &str) -> Option<u16> {
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

async fn http_get(h: &HTTPGetAction, t: &Target, timeout: Duration) -> Outcome {
    if h.scheme.as_deref() == Some("HTTPS") {
        return Outcome::Failure("HTTPS probes are not supported by this kubelet".into());
    }
    let Some(port) = resolve_port(&h.port, &t.container) else { return Outcome::Failure(format!("invalid port {:?}", h.port)) };
    let addr = match address(h.host.as_ref(), port, t) {
        Ok(a) => a,
        Err(e) => return Outcome::Failure(e),
    };
    let url = format!("http://{addr}{}", h.path.as_deref().unwrap_or("/"));
    let work = async {
        let mut s = t.dialer.connect(addr, timeout).await?;
        s.write_all(http_request(h, &addr.to_string()).as_bytes()).await?;
        let mut buf = vec![0u8; 1024];
        let mut got = 0;
        while got < buf.len() {
            let n = s.read(&mut buf[got..]).await?;
            if n == 0 || buf[..got + n].windows(2).any(|w| w == b"\r\n") {
                got += n;
                break;
            }
            got += n;
        }
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf[..got]).into_owned())
    };
    match tokio::time::timeout(timeout, work).await {
        Err(_) => Outcome::Failure(format!("Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)")),
        Ok(Err(e)) => Outcome::Failure(format!("Get \"{url}\": {e}")),
        Ok(Ok(head)) => match status_code(&head) {
            Some(code) if (200..400).contains(&code) => Outcome::Success,
            Some(code) => Outcome::Failure(format!("HTTP probe failed with statuscode: {code}")),
            None => Outcome::Failure(format!("Get \"{url}\": malformed HTTP response")),
        },
    }
}

async fn tcp(host: Option<&String>, port: &IntOrString, t: &Target, timeout: Duration) -> Outcome {
    let Some(port) = resolve_port(port, &t.container) else { return Outcome::Failure(format!("invalid port {port:?}")) };
    match address(host, port, t) {
        Err(e) => Outcome::Failure(e),
        Ok(addr) => match t.dialer.connect(addr, timeout).await {
            Ok(_) => Outcome::Success,
            Err(e) => Outcome::Failure(format!("dial tcp {addr}: {e}")),
        },
    }
}

async fn exec(cmd: &[String], t: &Target, timeout: Duration) -> Outcome {
    match t.runtime.exec_sync(&t.container_id, cmd.to_vec(), timeout).await {
        Ok(out) if out.exit_code == 0 => Outcome::Success,
        Ok(out) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            Outcome::Failure(text)
        }
        Err(e) => Outcome::Failure(e.to_string()),
    }
}

/// Runs one probe attempt.
pub async fn run_once(p: &Probe, t: &Target) -> Outcome {
    let timeout = Duration::from_secs(p.timeout_seconds.unwrap_or(1).max(1) as u64);
    if let Some(e) = &p.exec {
        return exec(e.command.as_deref().unwrap_or_default(), t, timeout).await;
    }
    if let Some(h) = &p.http_get {
        return http_get(h, t, timeout).await;
    }
    if let Some(s) = &p.tcp_socket {
        return tcp(s.host.as_ref(), &s.port, t, timeout).await;
    }
    Outcome::Failure("probe type not supported (gRPC probes are not implemented)".into())
}

/// Runs a lifecycle handler (postStart / preStop) with a deadline.
pub async fn run_handler(h: &LifecycleHandler, t: &Target, deadline: Duration) -> Outcome {
    if let Some(s) = &h.sleep {
        tokio::time::sleep(Duration::from_secs(s.seconds.max(0) as u64).min(deadline)).await;
        return Outcome::Success;
    }
    if let Some(e) = &h.exec {
        return exec(e.command.as_deref().unwrap_or_default(), t, deadline).await;
    }
    if let Some(g) = &h.http_get {
        return http_get(g, t, deadline).await;
    }
    if let Some(s) = &h.tcp_socket {
        return tcp(s.host.as_ref(), &s.port, t, deadline).await;
    }
    Outcome::Success
}

/// Consecutive counting against thresholds (pure).
#[derive(Debug, Clone)]
pub struct Counter {
    success_threshold: i32,
    failure_threshold: i32,
    successes: i32,
    failures: i32,
    /// The published result.
    pub result: Option<bool>,
}

impl Counter {
    /// A counter for `p`, starting from `initial`.
    pub fn new(p: &Probe, initial: Option<bool>) -> Self {
        Counter {
            success_threshold: p.success_threshold.unwrap_or(1).max(1),
            failure_threshold: p.failure_threshold.unwrap_or(3).max(1),
            successes: 0,
            failures: 0,
            result: initial,
        }
    }

    /// Records an attempt; returns the result when it changes.
    pub fn record(&mut self, ok: bool) -> Option<bool> {
        if ok {
            self.successes += 1;
            self.failures = 0;
        } else {
            self.failures += 1;
            self.successes = 0;
        }
        let new = if ok && self.successes >= self.success_threshold {
            Some(true)
        } else if !ok && self.failures >= self.failure_threshold {
            Some(false)
        } else {
            None
        };
        match new {
            Some(v) if self.result != Some(v) => {
                self.result = Some(v);
                Some(v)
            }
            _ => None,
        }
    }
}

/// The probe of `kind` in a container spec.
pub fn probe_of(c: &Container, kind: Kind) -> Option<&Probe> {
    match kind {
        Kind::Liveness => c.liveness_probe.as_ref(),
        Kind::Readiness => c.readiness_probe.as_ref(),
        Kind::Startup => c.startup_probe.as_ref(),
    }
}

/// Probes one container with `kind` until cancelled, publishing to `book`.
pub async fn probe_loop(kind: Kind, probe: Probe, t: Target, book: Arc<Book>, cancel: CancellationToken) {
    // Liveness passes and readiness fails until probed; startup has no result until it
    // succeeds or fails for good.
    let initial = match kind {
        Kind::Liveness => Some(true),
        Kind::Readiness => Some(false),
        Kind::Startup => None,
    };
    let mut counter = Counter::new(&probe, initial);
    if let Some(v) = initial {
        book.set(&t.container_id, kind, v);
    }
    let period = Duration::from_secs(probe.period_seconds.unwrap_or(10).max(1) as u64);
    let delay = Duration::from_secs(probe.initial_delay_seconds.unwrap_or(0).max(0) as u64);
    tokio::select! { _ = cancel.cancelled() => return, _ = tokio::time::sleep(delay) => {} }
    let has_startup = t.container.startup_probe.is_some();
    loop {
        let gated = kind != Kind::Startup && has_startup && book.get(&t.container_id, Kind::Startup) != Some(true);
        let done_starting = kind == Kind::Startup && counter.result == Some(true);
        if !gated && !done_starting {
            let outcome = tokio::select! { _ = cancel.cancelled() => return, o = run_once(&probe, &t) => o };
            if let Outcome::Failure(msg) = &outcome {
                tracing::info!(container = %t.container.name, ?kind, output = %msg.trim(), "probe failed");
            }
            if let Some(v) = counter.record(outcome == Outcome::Success) {
                book.set(&t.container_id, kind, v);
            }
        }
        tokio::select! { _ = cancel.cancelled() => return, _ = tokio::time::sleep(period) => {} }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thresholds() {
        let p: Probe = serde_json::from_value(json!({"successThreshold": 2, "failureThreshold": 2})).unwrap();
        let mut c = Counter::new(&p, Some(false));
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(true), Some(true));
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(false), Some(false));
    }

    #[test]
    fn http_bits() {
        let h: HTTPGetAction = serde_json::from_value(json!({"path": "/healthz", "port": 8080, "httpHeaders": [{"name": "X-A", "value": "b"}]})).unwrap();
        let r = http_request(&h, "10.0.0.1:8080");
        assert!(r.starts_with("GET /healthz HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUser-Agent: kube-probe/1.33\r\n"));
        assert!(r.contains("X-A: b\r\n") && r.ends_with("\r\n\r\n"));
        assert_eq!(status_code("HTTP/1.0 200 OK\r\n"), Some(200));
        assert_eq!(status_code("HTTP/1.1 503 Service Unavailable\r\n"), Some(503));
        assert_eq!(status_code("garbage"), None);
        let c: Container = serde_json::from_value(json!({"name": "c", "ports": [{"name": "http", "containerPort": 80}]})).unwrap();
        assert_eq!(resolve_port(&IntOrString::String("http".into()), &c), Some(80));
        assert_eq!(resolve_port(&IntOrString::Int(81), &c), Some(81));
        assert_eq!(resolve_port(&IntOrString::String("nope".into()), &c), None);
    }
}
