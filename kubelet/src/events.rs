//! Pod events as upstream's kubelet records them (Pulled, Created, Started, Killing,
//! BackOff, Unhealthy, Failed...), posted to the apiserver in the background so `kubectl
//! describe pod` tells the story.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Api, PostParams};

/// Normal or Warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Informational.
    Normal,
    /// Something went wrong.
    Warning,
}

/// Builds the Event object (pure, apart from the clock).
pub fn event(pod: &Pod, node: &str, kind: Kind, reason: &str, message: &str, container: Option<&str>) -> Event {
    let now = k8s_openapi::jiff::Timestamp::now();
    let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let field_path = container.map(|c| {
        let init = pod.spec.as_ref().and_then(|s| s.init_containers.as_ref()).is_some_and(|ic| ic.iter().any(|x| x.name == c));
        if init {
            format!("spec.initContainers{{{c}}}")
        } else {
            format!("spec.containers{{{c}}}")
        }
    });
    Event {
        metadata: ObjectMeta { name: Some(format!("{pod_name}.{:x}", now.as_nanosecond())), namespace: Some(ns.clone()), ..Default::default() },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(pod_name),
            namespace: Some(ns),
            uid: pod.metadata.uid.clone(),
            field_path,
            ..Default::default()
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some(match kind {
            Kind::Normal => "Normal".into(),
            Kind::Warning => "Warning".into(),
        }),
        source: Some(EventSource { component: Some("kubelet".into()), host: Some(node.into()) }),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: None::<MicroTime>,
        count: Some(1),
        reporting_component: Some("kubelet".into()),
        reporting_instance: Some(node.into()),
        ..Default::default()
    }
}

/// Posts an event without waiting; failures are only logged.
pub fn record(client: &kube::Client, node: &str, pod: &Pod, kind: Kind, reason: &str, message: &str, container: Option<&str>) {
    let ev = event(pod, node, kind, reason, message, container);
    let api: Api<Event> = Api::namespaced(client.clone(), ev.metadata.namespace.as_deref().unwrap_or("default"));
    tokio::spawn(async move {
        if let Err(e) = api.create(&PostParams::default(), &ev).await {
            tracing::debug!(error = %e, "recording an event failed");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_points_at_the_container() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {"initContainers": [{"name": "i", "image": "x"}], "containers": [{"name": "c", "image": "x"}]}
        }))
        .unwrap();
        let e = event(&pod, "n1", Kind::Warning, "BackOff", "Back-off restarting failed container c", Some("c"));
        assert_eq!(e.involved_object.field_path.as_deref(), Some("spec.containers{c}"));
        assert_eq!(e.type_.as_deref(), Some("Warning"));
        assert_eq!(e.source.unwrap().host.as_deref(), Some("n1"));
        assert!(e.metadata.name.unwrap().starts_with("p."));
        let i = event(&pod, "n1", Kind::Normal, "Started", "Started container i", Some("i"));
        assert_eq!(i.involved_object.field_path.as_deref(), Some("spec.initContainers{i}"));
    }
}
