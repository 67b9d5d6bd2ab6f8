//! One task per pod: reads the runtime's state, plans (`plan`), acts (sandbox, containers
//! with back-off, probes), writes the status (`status`), and on deletion terminates
//! gracefully and removes the pod object. It keeps nothing it cannot recover from the
//! runtime, so a restarted kubelet adopts running containers as they are.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::backoff::{go_duration, Backoff};
use super::observed::{self, Observed, RunState};
use super::plan::{self, Start};
use super::probe::{self, Book, Kind};
use super::{containers, cri_config, sources, status, volumes};
use crate::NodeContext;

/// What the manager wants for a pod.
#[derive(Debug, Clone)]
pub enum Desired {
    /// Run this pod (latest version).
    Run(Box<Pod>),
    /// The pod is gone from its source: stop it and clean up.
    Removed,
}

/// Where a pod comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Bound to this node in the apiserver.
    Api,
    /// A static manifest; status goes to its mirror pod.
    Static,
}

/// The manager's handle on a worker.
pub struct Handle {
    /// Latest desired state.
    pub desired: watch::Sender<Desired>,
    /// Wakes the worker (runtime events, probe results).
    pub book: Arc<Book>,
}

/// Resync period when nothing is pending.
const RESYNC: Duration = Duration::from_secs(10);

/// Nanoseconds since the epoch.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

/// Starts a worker for `pod`.
pub fn spawn(ctx: NodeContext, pod: Pod, source: Source) -> Handle {
    let (tx, rx) = watch::channel(Desired::Run(Box::new(pod.clone())));
    let book = Arc::new(Book::default());
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let pod_dir = ctx.config.root_dir.join("pods").join(&uid);
    let w = Worker {
        ctx,
        rx,
        pod,
        source,
        uid,
        pod_dir,
        backoff: Backoff::default(),
        waiting: HashMap::new(),
        book: book.clone(),
        probes: HashMap::new(),
        last_status: None,
        volumes: None,
        last_refresh: Instant::now(),
        started_reported: false,
        born: Instant::now(),
    };
    tokio::spawn(w.run());
    Handle { desired: tx, book }
}

/// A pod worker's state.
pub struct Worker {
    pub(crate) ctx: NodeContext,
    rx: watch::Receiver<Desired>,
    pub(crate) pod: Pod,
    source: Source,
    pub(crate) uid: String,
    pub(crate) pod_dir: PathBuf,
    backoff: Backoff,
    pub(crate) waiting: HashMap<String, (String, String)>,
    book: Arc<Book>,
    probes: HashMap<String, CancellationToken>,
    last_status: Option<Value>,
    pub(crate) volumes: Option<HashMap<String, PathBuf>>,
    last_refresh: Instant,
    started_reported: bool,
    born: Instant,
}

impl Worker {
    async fn run(mut self) {
        loop {
            let desired = self.rx.borrow_and_update().clone();
            let wake = match desired {
                Desired::Removed => return self.finish(false).await,
                Desired::Run(p) => {
                    self.pod = *p;
                    if self.pod.metadata.deletion_timestamp.is_some() {
                        return self.finish(true).await;
                    }
                    let started = Instant::now();
                    let wake = self.sync().await;
                    self.ctx.metrics.sync_duration.observe(started.elapsed().as_secs_f64());
                    wake
                }
            };
            tokio::select! {
                r = self.rx.changed() => if r.is_err() { return self.stop_probes() },
                _ = self.book.changed.notified() => {}
                _ = tokio::time::sleep(wake) => {}
            }
        }
    }

    fn name(&self) -> String {
        format!("{}/{}", self.pod.metadata.namespace.as_deref().unwrap_or("default"), self.pod.metadata.name.as_deref().unwrap_or(""))
    }

    pub(crate) fn event(&self, kind: crate::events::Kind, reason: &str, message: &str, container: Option<&str>) {
        crate::events::record(&self.ctx.client, &self.ctx.name, &self.pod, kind, reason, message, container);
    }

    fn stop_probes(&mut self) {
        for (_, t) in self.probes.drain() {
            t.cancel();
        }
    }

    async fn observe(&self) -> Option<Observed> {
        match observed::observe(self.ctx.runtime.as_ref(), &self.uid).await {
            Ok(o) => Some(o),
            Err(e) => {
                tracing::warn!(pod = %self.name(), error = %e, "reading the pod's runtime state failed");
                None
            }
        }
    }

    fn unhealthy(&self, obs: &Observed) -> HashSet<String> {
        obs.instances
            .iter()
            .filter(|i| i.state == RunState::Running)
            .filter(|i| self.book.get(&i.id, Kind::Liveness) == Some(false) || self.book.get(&i.id, Kind::Startup) == Some(false))
            .map(|i| i.id.clone())
            .collect()
    }

    /// One reconciliation; returns when to look again.
    async fn sync(&mut self) -> Duration {
        let Some(obs) = self.observe().await else { return Duration::from_secs(2) };
        let phase = self.pod.status.as_ref().and_then(|s| s.phase.clone());
        if matches!(phase.as_deref(), Some("Succeeded") | Some("Failed")) {
            // Finished pods never run again; make sure nothing is left running.
            if obs.any_running() {
                self.kill_all(&obs, self.grace_period(), false).await;
            }
            self.stop_probes();
            return RESYNC;
        }
        let plan = plan::plan(&self.pod, &obs, &self.unhealthy(&obs));
        let mut wake = RESYNC;
        let t = Instant::now();
        let acted = self.act(&obs, &plan, &mut wake).await;
        if acted {
            tracing::debug!(pod = %self.name(), elapsed = ?t.elapsed(), starts = plan.start.len(), sandbox = plan.create_sandbox.is_some(), "acted");
        }
        let obs = if acted { self.observe().await.unwrap_or(obs) } else { obs };
        self.remove_dead(&obs).await;
        self.manage_probes(&obs);
        self.refresh_volumes().await;
        self.write_status(&obs).await;
        if obs.instances.iter().any(|i| i.state == RunState::Created) {
            wake = wake.min(Duration::from_secs(1));
        }
        wake
    }

    async fn act(&mut self, obs: &Observed, plan: &plan::Plan, wake: &mut Duration) -> bool {
        let mut acted = false;
        if plan.kill_pod {
            let grace = if plan.terminal { self.grace_period() } else { 2 };
            self.kill_all(obs, grace, plan.create_sandbox.is_none() && !plan.terminal).await;
            acted = true;
        }
        self.remove_old_sandboxes(obs).await;
        let mut sandbox = obs.sandbox.clone().filter(|s| s.ready);
        let mut prefetched = None;
        if let Some(attempt) = plan.create_sandbox {
            acted = true;
            match self.create_sandbox(attempt).await {
                Some((s, pre)) => {
                    sandbox = Some(s);
                    prefetched = pre;
                }
                None => {
                    *wake = Duration::from_secs(2);
                    return acted;
                }
            }
        }
        for (id, reason) in &plan.kill {
            tracing::info!(pod = %self.name(), %reason, "killing container");
            let name = obs.instances.iter().find(|i| &i.id == id).map(|i| i.name.clone());
            self.event(crate::events::Kind::Warning, "Unhealthy", "Liveness probe failed", name.as_deref());
            self.event(crate::events::Kind::Normal, "Killing", reason, name.as_deref());
            let grace = self.probe_grace(obs, id).unwrap_or_else(|| self.grace_period());
            self.kill_container(obs, id, grace).await;
            acted = true;
        }
        let Some(sandbox) = sandbox else { return acted };
        let starts: Vec<Start> = plan.start.iter().filter(|s| !self.blocked_by_wake(s, wake)).cloned().collect();
        if starts.is_empty() && plan.ephemeral.is_empty() {
            return acted;
        }
        self.start_all(&sandbox, &starts, &plan.ephemeral, obs, prefetched, wake).await;
        true
    }

    /// Whether `start` waits for its back-off (shortening `wake` to its end).
    fn blocked_by_wake(&mut self, start: &Start, wake: &mut Duration) -> bool {
        match self.blocked_by_backoff(start) {
            Some(delay) => {
                *wake = (*wake).min(delay);
                true
            }
            None => false,
        }
    }

    /// Starts containers: an init container alone, else the app containers in order; then
    /// the ephemeral containers that never ran.
    async fn start_all(
        &mut self,
        sandbox: &observed::Sandbox,
        starts: &[Start],
        ephemeral: &[String],
        obs: &Observed,
        prefetched: Option<containers::Prefetched>,
        wake: &mut Duration,
    ) {
        let starts = if starts.first().is_some_and(|s| s.init) { &starts[..1] } else { starts };
        let pre = match prefetched {
            Some(p) => p,
            None => match containers::prefetch(self).await {
                Ok(p) => p,
                Err((reason, message)) => {
                    for name in starts.iter().map(|s| &s.name).chain(ephemeral) {
                        self.waiting.insert(name.clone(), (reason.clone(), message.clone()));
                    }
                    *wake = (*wake).min(Duration::from_secs(2));
                    return;
                }
            },
        };
        if self.volumes.is_none() {
            if let Err(e) = containers::prepare_volumes_with(self, pre.data.clone()).await {
                for s in starts {
                    self.waiting.insert(s.name.clone(), ("CreateContainerConfigError".into(), e.clone()));
                }
                return;
            }
            containers::write_etc_hosts(self, &sandbox.ip);
        }
        for s in starts.iter().filter(|s| s.previous_finished.is_some()) {
            let key = self.backoff_key(&s.name);
            self.backoff.next(&key, now_nanos());
        }
        // In spec order, one after the other, as upstream (sidecars may rely on it).
        for start in starts {
            let result = containers::start(self, sandbox, start, &pre).await;
            self.record_start(start, result, wake);
        }
        for name in ephemeral {
            let start = Start { name: name.clone(), init: false, attempt: 0, previous_finished: None };
            let result = containers::start_ephemeral(self, sandbox, name, obs, &pre).await;
            self.record_start(&start, result, wake);
        }
    }

    fn record_start(&mut self, start: &Start, result: Result<(), containers::StartError>, wake: &mut Duration) {
        match result {
            Ok(()) => {
                self.waiting.remove(&start.name);
                let kind = if start.init { "init_container" } else { "container" };
                self.ctx.metrics.started_containers.with_label_values(&[kind]).inc();
            }
            Err((reason, message)) => {
                tracing::warn!(pod = %self.name(), container = %start.name, %reason, %message, "starting container failed");
                let fresh = self.waiting.get(&start.name).is_none_or(|(r, m)| *r != reason || *m != message);
                if fresh {
                    self.event(crate::events::Kind::Warning, "Failed", &format!("Error: {message}"), Some(&start.name));
                }
                self.ctx.metrics.runtime_errors.with_label_values(&["start_container"]).inc();
                self.waiting.insert(start.name.clone(), (reason, message));
                *wake = (*wake).min(Duration::from_secs(2));
            }
        }
    }

    fn backoff_key(&self, name: &str) -> String {
        format!("{}_{name}", self.uid)
    }

    /// Whether `start` must wait for its back-off; records CrashLoopBackOff if so.
    fn blocked_by_backoff(&mut self, start: &Start) -> Option<Duration> {
        let finished = start.previous_finished?;
        let key = self.backoff_key(&start.name);
        let now = now_nanos();
        if !self.backoff.in_backoff_since(&key, finished, now) {
            return None;
        }
        let delay = self.backoff.delay(&key, now);
        let m = &self.pod.metadata;
        let msg = format!(
            "back-off {} restarting failed container={} pod={}_{}({})",
            go_duration(delay),
            start.name,
            m.name.as_deref().unwrap_or(""),
            m.namespace.as_deref().unwrap_or("default"),
            self.uid
        );
        let fresh = self.waiting.get(&start.name).is_none_or(|(_, m)| *m != msg);
        if fresh {
            let text = format!("Back-off restarting failed container {} in pod {}", start.name, msg.rsplit(" pod=").next().unwrap_or(""));
            self.event(crate::events::Kind::Warning, "BackOff", &text, Some(&start.name));
        }
        self.waiting.insert(start.name.clone(), ("CrashLoopBackOff".into(), msg));
        let ready_at = self.backoff.ready_at(&key, finished, now);
        Some(Duration::from_nanos((ready_at - now).max(0) as u64) + Duration::from_millis(50))
    }

    pub(crate) fn sandbox_config(&self, attempt: u32) -> crate::cri::api::PodSandboxConfig {
        cri_config::sandbox_config(&self.pod, attempt, &containers::node_settings(&self.ctx, &self.pod))
    }

    /// Prepares volumes and runs the sandbox, fetching what the containers need meanwhile.
    async fn create_sandbox(&mut self, attempt: u32) -> Option<(observed::Sandbox, Option<containers::Prefetched>)> {
        if let Err(e) = containers::prepare_volumes(self).await {
            self.set_all_waiting("ContainerCreating", &e);
            return None;
        }
        let cfg = self.sandbox_config(attempt);
        let _ = std::fs::create_dir_all(&cfg.log_directory);
        let rt = self.ctx.runtime.clone();
        let t = Instant::now();
        let (id, pre) = tokio::join!(rt.run_pod_sandbox(cfg), containers::prefetch(self));
        tracing::debug!(pod = %self.name(), elapsed = ?t.elapsed(), "sandbox created");
        let id = match id {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(pod = %self.name(), error = %e, "creating the pod sandbox failed");
                self.event(crate::events::Kind::Warning, "FailedCreatePodSandBox", &format!("Failed to create pod sandbox: {e}"), None);
                self.ctx.metrics.runtime_errors.with_label_values(&["run_podsandbox"]).inc();
                return None;
            }
        };
        let ip = rt.pod_sandbox_status(&id).await.ok().and_then(|s| s.network).map(|n| n.ip).unwrap_or_default();
        containers::write_etc_hosts(self, &ip);
        Some((observed::Sandbox { id, ready: true, ip, attempt, created_at: now_nanos() }, pre.ok()))
    }

    fn set_all_waiting(&mut self, reason: &str, message: &str) {
        let spec = self.pod.spec.clone().unwrap_or_default();
        for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
            self.waiting.insert(c.name.clone(), (reason.to_string(), message.to_string()));
        }
    }

    /// A failed liveness or startup probe's own terminationGracePeriodSeconds.
    fn probe_grace(&self, obs: &Observed, id: &str) -> Option<i64> {
        let name = &obs.instances.iter().find(|i| i.id == id)?.name;
        let c = self.pod.spec.as_ref()?.containers.iter().find(|c| &c.name == name)?;
        let probe = if self.book.get(id, Kind::Startup) == Some(false) { c.startup_probe.as_ref() } else { c.liveness_probe.as_ref() };
        probe?.termination_grace_period_seconds
    }

    pub(crate) fn grace_period(&self) -> i64 {
        self.pod
            .metadata
            .deletion_grace_period_seconds
            .or(self.pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds))
            .unwrap_or(30)
            .max(0)
    }

    async fn kill_container(&mut self, obs: &Observed, id: &str, grace: i64) {
        if let Some(i) = obs.instances.iter().find(|i| i.id == id) {
            containers::stop(self, i, grace).await;
        }
        if let Some(t) = self.probes.remove(id) {
            t.cancel();
        }
        self.book.forget(id);
    }

    /// Stops every running container (gracefully, with preStop hooks) and the sandbox.
    async fn kill_all(&mut self, obs: &Observed, grace: i64, keep_sandbox: bool) {
        let running: Vec<_> = obs.instances.iter().filter(|i| i.state == RunState::Running).cloned().collect();
        for i in &running {
            self.event(crate::events::Kind::Normal, "Killing", &format!("Stopping container {}", i.name), Some(&i.name));
        }
        let this = &*self;
        futures::future::join_all(running.iter().map(|i| containers::stop(this, i, grace))).await;
        self.stop_probes();
        if let Some(s) = &obs.sandbox {
            if !keep_sandbox || !s.ready {
                if let Err(e) = self.ctx.runtime.stop_pod_sandbox(&s.id).await {
                    tracing::warn!(pod = %self.name(), error = %e, "stopping the sandbox failed");
                }
            }
        }
    }

    async fn remove_old_sandboxes(&self, obs: &Observed) {
        for id in &obs.old_sandboxes {
            if obs.instances.iter().any(|i| &i.sandbox_id == id && i.state == RunState::Running) {
                continue;
            }
            let _ = self.ctx.runtime.stop_pod_sandbox(id).await;
            let _ = self.ctx.runtime.remove_pod_sandbox(id).await;
        }
    }

    /// Container garbage collection: per container, the newest instance and the one before
    /// it (for `logs --previous` and lastState) stay; older exited instances and their logs go.
    async fn remove_dead(&self, obs: &Observed) {
        for id in dead_instances(obs) {
            let Some(i) = obs.instances.iter().find(|i| i.id == id) else { continue };
            match self.ctx.runtime.remove_container(&i.id).await {
                Ok(()) if !i.log_path.is_empty() => {
                    let _ = std::fs::remove_file(&i.log_path);
                }
                Ok(()) => {}
                Err(e) => tracing::debug!(container = %i.id, error = %e, "removing a dead container failed"),
            }
        }
    }

    fn manage_probes(&mut self, obs: &Observed) {
        let current = obs.sandbox.as_ref().map(|s| s.id.clone()).unwrap_or_default();
        let running: HashMap<&str, &observed::Instance> =
            obs.instances.iter().filter(|i| i.state == RunState::Running && i.sandbox_id == current).map(|i| (i.id.as_str(), i)).collect();
        self.probes.retain(|id, t| {
            let keep = running.contains_key(id.as_str());
            if !keep {
                t.cancel();
            }
            keep
        });
        let spec = self.pod.spec.clone().unwrap_or_default();
        let ip = obs.sandbox.as_ref().map(|s| s.ip.clone()).unwrap_or_default();
        for (id, inst) in running {
            if self.probes.contains_key(id) {
                continue;
            }
            let Some(c) = spec.containers.iter().find(|c| c.name == inst.name) else { continue };
            let token = CancellationToken::new();
            for kind in [Kind::Startup, Kind::Liveness, Kind::Readiness] {
                let Some(p) = probe::probe_of(c, kind).cloned() else { continue };
                let target = probe::Target {
                    container_id: id.to_string(),
                    pod_ip: if spec.host_network == Some(true) { self.host_ip() } else { ip.clone() },
                    container: c.clone(),
                    runtime: self.ctx.runtime.clone(),
                    dialer: self.ctx.dialer.clone(),
                };
                tokio::spawn(probe::probe_loop(kind, p, target, self.book.clone(), token.child_token()));
            }
            self.probes.insert(id.to_string(), token);
        }
    }

    pub(crate) fn host_ip(&self) -> String {
        self.ctx.config.node_ip.map(|i| i.to_string()).unwrap_or_else(|| "127.0.0.1".into())
    }

    async fn refresh_volumes(&mut self) {
        if self.last_refresh.elapsed() < RESYNC || self.volumes.is_none() {
            return;
        }
        self.last_refresh = Instant::now();
        let refs = sources::refs(&self.pod);
        if refs.config_maps.is_empty() && refs.secrets.is_empty() && super::tokens::sources(&self.pod).is_empty() {
            return;
        }
        let ns = self.pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let Ok(mut data) = sources::fetch(&self.ctx.client, &ns, &refs).await else { return };
        match self.ctx.tokens.for_pod(&self.ctx.client, &self.pod).await {
            Ok(tokens) => data.tokens = tokens,
            Err(e) => {
                tracing::warn!(pod = %self.name(), error = %e, "cannot refresh service account tokens");
                return;
            }
        }
        let inputs = containers::env_inputs(self, &data, vec![]);
        let changed = volumes::refresh(&self.pod_dir, &self.pod, &data, &inputs);
        if !changed.is_empty() {
            tracing::info!(pod = %self.name(), volumes = ?changed, "updated volumes from their sources");
        }
    }

    async fn write_status(&mut self, obs: &Observed) {
        let book = self.book.clone();
        let readiness = |id: &str| book.get(id, Kind::Readiness);
        let startup = |id: &str| book.get(id, Kind::Startup);
        let now = crate::node::now_rfc3339();
        let host_ip = self.host_ip();
        let st = status::pod_status(&status::StatusInputs {
            pod: &self.pod,
            obs,
            host_ip: &host_ip,
            runtime_name: &self.ctx.runtime_name,
            readiness: &readiness,
            startup: &startup,
            waiting: &self.waiting,
            now: &now,
        });
        self.report_start(&st);
        if !status_changed(self.last_status.as_ref(), &st, &self.pod) {
            return;
        }
        let ns = self.pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &ns);
        let name = self.pod.metadata.name.clone().unwrap_or_default();
        match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(json!({ "status": st }))).await {
            Ok(p) => {
                self.pod.status = p.status;
                self.last_status = Some(st);
            }
            Err(e) => tracing::debug!(pod = %self.name(), error = %e, "writing pod status failed"),
        }
    }

    fn report_start(&mut self, st: &Value) {
        if self.started_reported || st["phase"] != "Running" {
            return;
        }
        self.started_reported = true;
        tracing::debug!(pod = %self.name(), since_seen = ?self.born.elapsed(), "pod running");
        if let Some(created) = self.pod.metadata.creation_timestamp.as_ref() {
            let secs = (k8s_openapi::jiff::Timestamp::now().as_millisecond() - created.0.as_millisecond()) as f64 / 1000.0;
            self.ctx.metrics.pod_start.observe(secs.max(0.0));
        }
    }

    /// Terminates the pod; `delete` removes the API object afterwards (grace 0).
    async fn finish(mut self, delete: bool) {
        let grace = if delete { self.grace_period() } else { self.grace_period().min(self.pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30)) };
        if let Some(obs) = self.observe().await {
            self.kill_all(&obs, grace, false).await;
            if delete {
                if let Some(after) = self.observe().await {
                    self.write_status(&after).await;
                }
            }
            for sb in obs.sandbox.iter().map(|s| s.id.clone()).chain(obs.old_sandboxes.clone()) {
                let _ = self.ctx.runtime.remove_pod_sandbox(&sb).await;
            }
        }
        volumes::teardown(&self.pod_dir);
        let log_dir = cri_config::pod_log_dir(&self.ctx.config.pod_logs_dir, &self.pod);
        let _ = std::fs::remove_dir_all(log_dir);
        if delete && self.source == Source::Api {
            self.delete_object().await;
        }
        tracing::info!(pod = %self.name(), "pod terminated");
    }

    async fn delete_object(&self) {
        let ns = self.pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &ns);
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: Some(self.uid.clone()), resource_version: None }),
            ..Default::default()
        };
        if let Err(e) = api.delete(self.pod.metadata.name.as_deref().unwrap_or(""), &dp).await {
            tracing::debug!(pod = %self.name(), error = %e, "deleting the pod object failed");
        }
    }
}

/// Exited instances beyond the newest two of each container (pure).
pub fn dead_instances(obs: &Observed) -> Vec<String> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut out = vec![];
    for i in &obs.instances {
        let n = seen.entry(i.name.as_str()).or_default();
        *n += 1;
        if *n > 2 && i.state == RunState::Exited {
            out.push(i.id.clone());
        }
    }
    out
}

/// Whether `new` differs from what was last written (ignoring heartbeat-like fields).
pub fn status_changed(last: Option<&Value>, new: &Value, pod: &Pod) -> bool {
    match last {
        Some(l) => l != new,
        None => pod.status.as_ref().and_then(|s| serde_json::to_value(s).ok()).map(|cur| !same_status(&cur, new)).unwrap_or(true),
    }
}

fn same_status(current: &Value, new: &Value) -> bool {
    new.as_object().is_some_and(|m| m.iter().all(|(k, v)| current.get(k) == Some(v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::observed::Instance;

    fn inst(id: &str, name: &str, state: RunState) -> Instance {
        Instance {
            id: id.into(),
            name: name.into(),
            attempt: 0,
            state,
            created_at: 0,
            started_at: 0,
            finished_at: 0,
            exit_code: 0,
            reason: String::new(),
            message: String::new(),
            image: String::new(),
            image_ref: String::new(),
            sandbox_id: String::new(),
            log_path: String::new(),
        }
    }

    #[test]
    fn keeps_current_and_previous_instances() {
        let obs = Observed {
            instances: vec![
                inst("a3", "a", RunState::Running),
                inst("b1", "b", RunState::Exited),
                inst("a2", "a", RunState::Exited),
                inst("a1", "a", RunState::Exited),
                inst("a0", "a", RunState::Exited),
            ],
            ..Default::default()
        };
        assert_eq!(dead_instances(&obs), vec!["a1", "a0"]);
    }
}
