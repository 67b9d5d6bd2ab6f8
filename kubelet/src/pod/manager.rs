//! The node's pod sources and workers: watches pods bound to the node, reads static pod
//! manifests (and keeps their mirror pods), relists the runtime every second to wake the
//! workers whose containers changed (upstream's PLEG), and removes sandboxes of pods that no
//! longer exist.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use tokio_util::sync::CancellationToken;

use super::static_pods;
use super::worker::{self, Desired, Handle, Source};
use crate::cri::labels;
use crate::NodeContext;

struct Manager {
    ctx: NodeContext,
    workers: HashMap<String, (Handle, Source)>,
    listed: Option<HashSet<String>>,
    gc_done: bool,
    fingerprints: HashMap<String, u64>,
}

fn uid(p: &Pod) -> String {
    p.metadata.uid.clone().unwrap_or_default()
}

/// Runs the node's pods until `cancel` fires. Containers keep running after it returns.
pub async fn run(ctx: NodeContext, cancel: CancellationToken) {
    let api: Api<Pod> = Api::all(ctx.client.clone());
    let cfg = watcher::Config::default().fields(&format!("spec.nodeName={}", ctx.name));
    let mut events = watcher::watcher(api, cfg).default_backoff().boxed();
    let static_period = ctx.config.file_check_frequency.max(Duration::from_millis(200));
    let has_static = ctx.config.static_pod_path.is_some();
    let mut m = Manager { ctx, workers: HashMap::new(), listed: None, gc_done: false, fingerprints: HashMap::new() };
    if has_static {
        m.sync_static().await;
    }
    let mut static_tick = tokio::time::interval(static_period);
    let mut relist = tokio::time::interval(Duration::from_secs(1));
    relist.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            ev = events.next() => match ev {
                Some(Ok(e)) => m.on_event(e).await,
                Some(Err(e)) => tracing::warn!(error = %e, "pod watch failed; retrying"),
                None => break,
            },
            _ = static_tick.tick(), if has_static => m.sync_static().await,
            _ = relist.tick() => m.relist().await,
        }
    }
    tracing::info!(node = %m.ctx.name, "pod manager stopped; containers keep running");
}

impl Manager {
    async fn on_event(&mut self, e: Event<Pod>) {
        match e {
            Event::Init => self.listed = Some(HashSet::new()),
            Event::InitApply(p) => {
                if let Some(l) = self.listed.as_mut() {
                    l.insert(uid(&p));
                }
                self.apply(p);
            }
            Event::InitDone => self.init_done().await,
            Event::Apply(p) => self.apply(p),
            Event::Delete(p) => self.remove(&uid(&p)),
        }
    }

    fn apply(&mut self, p: Pod) {
        if static_pods::is_mirror(&p) {
            return;
        }
        let id = uid(&p);
        self.ctx.pods.upsert(&id, p.clone());
        match self.workers.get(&id) {
            Some((h, _)) if !h.desired.is_closed() => {
                let _ = h.desired.send(Desired::Run(Box::new(p)));
            }
            _ => {
                let done = matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"));
                if done && p.metadata.deletion_timestamp.is_none() && self.workers.contains_key(&id) {
                    return;
                }
                let h = worker::spawn(self.ctx.clone(), p, Source::Api);
                self.workers.insert(id, (h, Source::Api));
            }
        }
    }

    fn remove(&mut self, id: &str) {
        self.ctx.pods.remove(id);
        if let Some((h, _)) = self.workers.remove(id) {
            let _ = h.desired.send(Desired::Removed);
        }
    }

    async fn init_done(&mut self) {
        let listed = self.listed.take().unwrap_or_default();
        let gone: Vec<String> = self.workers.iter().filter(|(id, (_, s))| *s == Source::Api && !listed.contains(*id)).map(|(id, _)| id.clone()).collect();
        for id in gone {
            self.remove(&id);
        }
        if !self.gc_done {
            self.gc_done = true;
            self.remove_orphans().await;
        }
    }

    fn node_selector(&self) -> HashMap<String, String> {
        HashMap::from([(labels::NODE.to_string(), self.ctx.name.clone())])
    }

    /// Removes sandboxes of this node whose pods are unknown (deleted while we were down).
    async fn remove_orphans(&self) {
        let Ok(sandboxes) = self.ctx.runtime.list_pod_sandboxes(self.node_selector()).await else { return };
        for s in sandboxes {
            let pod_uid = s.labels.get(labels::POD_UID).cloned().unwrap_or_default();
            if self.workers.contains_key(&pod_uid) {
                continue;
            }
            tracing::info!(sandbox = %s.id, pod = %pod_uid, "removing the sandbox of a pod that no longer exists");
            let rt = self.ctx.runtime.clone();
            for c in rt.list_containers(crate::cri::pod_selector(&pod_uid)).await.unwrap_or_default() {
                let _ = rt.stop_container(&c.id, Duration::from_secs(2)).await;
            }
            let _ = rt.stop_pod_sandbox(&s.id).await;
            let _ = rt.remove_pod_sandbox(&s.id).await;
        }
    }

    /// Wakes workers whose runtime state changed since the last relist.
    async fn relist(&mut self) {
        let rt = &self.ctx.runtime;
        let (Ok(sandboxes), Ok(containers)) = (rt.list_pod_sandboxes(self.node_selector()).await, rt.list_containers(self.node_selector()).await) else {
            return;
        };
        let mut states: HashMap<String, Vec<(String, i32)>> = HashMap::new();
        for s in &sandboxes {
            states.entry(s.labels.get(labels::POD_UID).cloned().unwrap_or_default()).or_default().push((s.id.clone(), s.state));
        }
        for c in &containers {
            states.entry(c.labels.get(labels::POD_UID).cloned().unwrap_or_default()).or_default().push((c.id.clone(), c.state + 10));
        }
        let mut running = 0;
        for (pod_uid, mut list) in states {
            running += list.iter().filter(|(_, s)| *s == 11).count();
            list.sort();
            let mut h = DefaultHasher::new();
            list.hash(&mut h);
            let fp = h.finish();
            if self.fingerprints.insert(pod_uid.clone(), fp) != Some(fp) {
                if let Some((w, _)) = self.workers.get(&pod_uid) {
                    w.book.changed.notify_one();
                }
            }
        }
        self.ctx.metrics.running_containers.set(running as i64);
        self.ctx.metrics.running_pods.set(sandboxes.iter().filter(|s| s.state == 0).count() as i64);
    }

    async fn sync_static(&mut self) {
        let Some(dir) = self.ctx.config.static_pod_path.clone() else { return };
        let node = self.ctx.name.clone();
        let seen = crate::node::now_rfc3339();
        let pods = tokio::task::spawn_blocking(move || static_pods::read_dir(&dir, &node, &seen)).await.unwrap_or_default();
        let wanted: HashSet<String> = pods.iter().map(uid).collect();
        let stale: Vec<String> = self.workers.iter().filter(|(id, (_, s))| *s == Source::Static && !wanted.contains(*id)).map(|(id, _)| id.clone()).collect();
        for id in stale {
            if let Some(p) = self.ctx.pods.all().into_iter().find(|p| uid(p) == id) {
                self.delete_mirror(&p).await;
            }
            self.remove(&id);
        }
        for p in pods {
            let id = uid(&p);
            if !self.workers.contains_key(&id) {
                tracing::info!(pod = ?p.metadata.name, "starting static pod");
                self.ctx.pods.upsert(&id, p.clone());
                let h = worker::spawn(self.ctx.clone(), p.clone(), Source::Static);
                self.workers.insert(id, (h, Source::Static));
            }
            self.ensure_mirror(&p).await;
        }
    }

    async fn ensure_mirror(&self, p: &Pod) {
        let ns = p.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &ns);
        let name = p.metadata.name.clone().unwrap_or_default();
        let hash = uid(p);
        match api.get_opt(&name).await {
            Ok(Some(existing)) => {
                let mirror_hash = existing.metadata.annotations.as_ref().and_then(|a| a.get(static_pods::CONFIG_MIRROR)).cloned();
                if mirror_hash.as_deref() == Some(hash.as_str()) && existing.metadata.deletion_timestamp.is_none() {
                    return;
                }
                let _ = api.delete(&name, &DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "reading mirror pod failed");
                return;
            }
        }
        let nodes: Api<Node> = Api::all(self.ctx.client.clone());
        let node_uid = nodes.get_opt(&self.ctx.name).await.ok().flatten().and_then(|n| n.metadata.uid);
        let mirror: Pod = match serde_json::from_value(static_pods::mirror_of(p, node_uid.as_deref())) {
            Ok(m) => m,
            Err(e) => return tracing::warn!(error = %e, "building mirror pod failed"),
        };
        match api.create(&PostParams::default(), &mirror).await {
            Ok(_) => tracing::info!(pod = %name, "created mirror pod"),
            Err(e) => tracing::warn!(pod = %name, error = %e, "creating mirror pod failed"),
        }
    }

    async fn delete_mirror(&self, p: &Pod) {
        let ns = p.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &ns);
        let _ = api.delete(p.metadata.name.as_deref().unwrap_or(""), &DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await;
    }
}
