//! Writes to the apiserver: pods/binding, volume binding, the PodScheduled condition and
//! nominatedNodeName, preemption (DisruptionTarget then delete) and Events, worded as
//! upstream's scheduler words them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::FutureExt;
use k8s_openapi::api::core::v1::{
    Event, EventSource, ObjectReference, PersistentVolume, PersistentVolumeClaim, Pod,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{json, Value};

use crate::framework::interface::ClusterApi;
use crate::framework::types::PodInfo;

/// The reporting component of scheduler events.
pub const COMPONENT: &str = "default-scheduler";

/// [`ClusterApi`] over a kube client.
#[derive(Clone)]
pub struct KubeApi {
    client: kube::Client,
}

impl KubeApi {
    /// Wraps a client.
    pub fn new(client: kube::Client) -> Self {
        KubeApi { client }
    }
}

fn err_string(e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message,
        other => other.to_string(),
    }
}

impl ClusterApi for KubeApi {
    fn bind(
        &self,
        namespace: String,
        name: String,
        uid: String,
        node: String,
    ) -> BoxFuture<'static, Result<(), String>> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
        async move {
            let binding = json!({
                "apiVersion": "v1", "kind": "Binding",
                "metadata": { "name": name, "namespace": namespace, "uid": uid },
                "target": { "apiVersion": "v1", "kind": "Node", "name": node },
            });
            api.create_subresource::<Value, Value>(
                "binding",
                &name,
                &PostParams::default(),
                &binding,
            )
            .await
            .map(|_| ())
            .map_err(err_string)
        }
        .boxed()
    }

    fn bind_volume(
        &self,
        pv: String,
        namespace: String,
        claim: String,
    ) -> BoxFuture<'static, Result<(), String>> {
        let pvs: Api<PersistentVolume> = Api::all(self.client.clone());
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &namespace);
        async move {
            let c = pvcs.get(&claim).await.map_err(err_string)?;
            let claim_ref = json!({"spec": {"claimRef": {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": namespace, "name": claim,
                "uid": c.metadata.uid, "resourceVersion": c.metadata.resource_version }}});
            pvs.patch(&pv, &PatchParams::default(), &Patch::Merge(&claim_ref)).await.map_err(err_string)?;
            let vol = json!({"metadata": {"annotations": {"pv.kubernetes.io/bind-completed": "yes"}}, "spec": {"volumeName": pv}});
            pvcs.patch(&claim, &PatchParams::default(), &Patch::Merge(&vol)).await.map_err(err_string)?;
            Ok(())
        }
        .boxed()
    }

    fn select_node_for_claim(
        &self,
        namespace: String,
        claim: String,
        node: String,
    ) -> BoxFuture<'static, Result<(), String>> {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &namespace);
        async move {
            let p =
                json!({"metadata": {"annotations": {"volume.kubernetes.io/selected-node": node}}});
            pvcs.patch(&claim, &PatchParams::default(), &Patch::Merge(&p))
                .await
                .map(|_| ())
                .map_err(err_string)
        }
        .boxed()
    }
}

/// Whether the pod already carries this PodScheduled condition.
fn has_condition(pod: &Pod, reason: &str, message: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some(reason)
                    && c.message.as_deref() == Some(message)
            })
        })
}

/// Sets PodScheduled=False with `reason` and `message`, and optionally nominatedNodeName
/// (`Some("")` clears it), as upstream's `updatePod` does; skips no-op writes.
pub async fn update_pod_status(
    client: kube::Client,
    pod: Arc<PodInfo>,
    reason: &str,
    message: &str,
    nominated: Option<String>,
) {
    let same_nomination = nominated
        .as_ref()
        .is_none_or(|n| *n == pod.nominated_node_name);
    if has_condition(&pod.pod, reason, message) && same_nomination {
        return;
    }
    let mut status = json!({"conditions": [{
        "type": "PodScheduled", "status": "False", "reason": reason, "message": message,
        "lastProbeTime": null, "lastTransitionTime": Timestamp::now().to_string(),
    }]});
    if let Some(n) = nominated {
        status["nominatedNodeName"] = if n.is_empty() { Value::Null } else { json!(n) };
    }
    let api: Api<Pod> = Api::namespaced(client, &pod.namespace);
    if let Err(e) = api
        .patch_status(
            &pod.name,
            &PatchParams::default(),
            &Patch::Strategic(json!({ "status": status })),
        )
        .await
    {
        tracing::warn!(pod = %pod.key(), error = %e, "updating the pod's scheduling condition failed");
    }
}

/// Clears status.nominatedNodeName of a pod that lost its nomination.
pub async fn clear_nomination(client: kube::Client, pod: Arc<PodInfo>) {
    if pod.nominated_node_name.is_empty() {
        return;
    }
    let api: Api<Pod> = Api::namespaced(client, &pod.namespace);
    let p = json!({"status": {"nominatedNodeName": null}});
    if let Err(e) = api
        .patch_status(&pod.name, &PatchParams::default(), &Patch::Merge(&p))
        .await
    {
        tracing::warn!(pod = %pod.key(), error = %e, "clearing nominatedNodeName failed");
    }
}

/// Evicts a preemption victim: DisruptionTarget condition, then delete (upstream
/// `PreemptPod`), and a Preempted event.
pub async fn preempt_victim(
    client: kube::Client,
    events: EventRecorder,
    victim: Arc<PodInfo>,
    preemptor: Arc<PodInfo>,
    node: String,
) {
    let api: Api<Pod> = Api::namespaced(client, &victim.namespace);
    let cond = json!({"status": {"conditions": [{
        "type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
        "message": format!("{}: preempting to accommodate a higher priority pod", COMPONENT),
        "lastTransitionTime": Timestamp::now().to_string(),
    }]}});
    if let Err(e) = api
        .patch_status(
            &victim.name,
            &PatchParams::default(),
            &Patch::Strategic(cond),
        )
        .await
    {
        tracing::warn!(pod = %victim.key(), error = %e, "adding the DisruptionTarget condition failed");
    }
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(victim.uid.clone()),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(&victim.name, &dp).await {
        Ok(_) => {
            let msg = format!("Preempted by pod {} on node {}", preemptor.uid, node);
            events
                .record(&victim, "Normal", "Preempted", "Preempting", &msg)
                .await;
        }
        Err(e) => {
            tracing::warn!(pod = %victim.key(), error = %e, "deleting a preemption victim failed")
        }
    }
}

/// Writes core/v1 Events for pods, skipping exact repeats of a pod's last event.
#[derive(Clone)]
pub struct EventRecorder {
    client: kube::Client,
    last: Arc<Mutex<HashMap<String, String>>>,
    instance: String,
}

impl EventRecorder {
    /// A recorder reporting as default-scheduler on this host.
    pub fn new(client: kube::Client) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap_or_else(|_| "localhost".into());
        EventRecorder {
            client,
            last: Arc::default(),
            instance: format!("{COMPONENT}-{}", host.trim()),
        }
    }

    /// Records an event about a pod.
    pub async fn record(
        &self,
        pod: &PodInfo,
        kind: &str,
        reason: &str,
        action: &str,
        message: &str,
    ) {
        let fingerprint = format!("{reason}\n{message}");
        {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if last.get(&pod.uid) == Some(&fingerprint) {
                return;
            }
            last.insert(pod.uid.clone(), fingerprint);
        }
        let now = Timestamp::now();
        let ev = Event {
            metadata: ObjectMeta {
                name: Some(format!("{}.{:x}", pod.name, now.as_nanosecond())),
                namespace: Some(pod.namespace.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(pod.name.clone()),
                namespace: Some(pod.namespace.clone()),
                uid: Some(pod.uid.clone()),
                resource_version: pod.pod.metadata.resource_version.clone(),
                field_path: None,
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(kind.into()),
            action: Some(action.into()),
            source: Some(EventSource {
                component: Some(COMPONENT.into()),
                host: None,
            }),
            reporting_component: Some(COMPONENT.into()),
            reporting_instance: Some(self.instance.clone()),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: None,
            count: Some(1),
            related: None,
            series: None,
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &pod.namespace);
        if let Err(e) = api.create(&PostParams::default(), &ev).await {
            tracing::debug!(pod = %pod.key(), error = %e, "recording an event failed");
        }
    }

    /// Forgets a deleted pod.
    pub fn forget(&self, uid: &str) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uid);
    }
}
