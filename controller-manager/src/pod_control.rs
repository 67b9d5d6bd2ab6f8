//! Creating and deleting pods for a controller, as upstream's `RealPodControl`: a pod is
//! built from the controller's pod template (labels, annotations, finalizers, spec, the
//! controller reference, `generateName` of `<controller>-`) and every outcome is recorded as
//! an event with upstream's reasons.

use k8s_openapi::api::core::v1::{ObjectReference, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, PostParams};

use crate::errors::{Error, Result};
use crate::events::Recorder;

/// Event reason of a created pod.
pub const SUCCESSFUL_CREATE: &str = "SuccessfulCreate";
/// Event reason of a failed pod creation.
pub const FAILED_CREATE: &str = "FailedCreate";
/// Event reason of a deleted pod.
pub const SUCCESSFUL_DELETE: &str = "SuccessfulDelete";
/// Event reason of a failed pod deletion.
pub const FAILED_DELETE: &str = "FailedDelete";

/// Upstream `getPodsPrefix`: `<name>-`, or the bare name when the dash would make an
/// invalid name prefix.
pub fn pods_prefix(controller_name: &str) -> String {
    let prefix = format!("{controller_name}-");
    // ValidatePodName(prefix, true): a DNS-1123 subdomain of at most 253 characters.
    if prefix.len() <= 253 {
        prefix
    } else {
        controller_name.to_string()
    }
}

/// Upstream `GetPodFromTemplate`: the pod a controller creates from its template.
pub fn pod_from_template(template: &PodTemplateSpec, namespace: &str, parent_name: &str, controller_ref: Option<&OwnerReference>) -> Pod {
    let tmeta = template.metadata.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(pods_prefix(parent_name)),
            namespace: Some(namespace.into()),
            labels: tmeta.labels,
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: controller_ref.map(|r| vec![r.clone()]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

/// Creates and deletes pods on behalf of a controller, recording events on its object.
#[derive(Clone)]
pub struct PodControl {
    client: kube::Client,
    recorder: Recorder,
}

impl PodControl {
    /// Pod control writing through `client` and recording with `recorder`.
    pub fn new(client: kube::Client, recorder: Recorder) -> Self {
        PodControl { client, recorder }
    }

    /// Creates one pod from `template` for `parent` (upstream `CreatePods`).
    pub async fn create_pod(&self, namespace: &str, template: &PodTemplateSpec, parent: &ObjectReference, controller_ref: &OwnerReference) -> Result<Pod> {
        let pod = pod_from_template(template, namespace, parent.name.as_deref().unwrap_or(""), Some(controller_ref));
        if pod.metadata.labels.as_ref().is_none_or(|l| l.is_empty()) {
            return Err(Error::Invalid("unable to create pods, no labels".into()));
        }
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        match api.create(&PostParams::default(), &pod).await {
            Ok(created) => {
                let name = created.metadata.name.clone().unwrap_or_default();
                self.recorder.normal(parent, SUCCESSFUL_CREATE, format!("Created pod: {name}"));
                Ok(created)
            }
            Err(e) => {
                let e = Error::from(e);
                if !e.is_namespace_terminating() {
                    self.recorder.warning(parent, FAILED_CREATE, format!("Error creating: {}", api_message(&e)));
                }
                Err(e)
            }
        }
    }

    /// Deletes the pod `name` of `parent` (upstream `DeletePod`); NotFound is returned as is.
    pub async fn delete_pod(&self, namespace: &str, name: &str, parent: &ObjectReference) -> Result<()> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => {
                self.recorder.normal(parent, SUCCESSFUL_DELETE, format!("Deleted pod: {name}"));
                Ok(())
            }
            Err(e) => {
                let e = Error::from(e);
                if !e.is_not_found() {
                    self.recorder.warning(parent, FAILED_DELETE, format!("Error deleting: {}", api_message(&e)));
                }
                Err(e)
            }
        }
    }
}

/// The apiserver's message of an API error (what upstream's `%v` of a StatusError prints).
pub fn api_message(e: &Error) -> String {
    e.status().map(|s| s.message.clone()).unwrap_or_else(|| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    #[test]
    fn pod_copies_template_metadata_and_spec() {
        let t = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".to_string(), "web".to_string())].into()),
                annotations: Some([("a".to_string(), "b".to_string())].into()),
                name: Some("ignored".into()),
                ..Default::default()
            }),
            spec: Some(PodSpec { containers: vec![Container { name: "c".into(), image: Some("nginx".into()), ..Default::default() }], ..Default::default() }),
        };
        let r = OwnerReference { uid: "u".into(), controller: Some(true), ..Default::default() };
        let p = pod_from_template(&t, "ns", "web-abc", Some(&r));
        assert_eq!(p.metadata.generate_name.as_deref(), Some("web-abc-"));
        assert_eq!(p.metadata.name, None);
        assert_eq!(p.metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(p.metadata.labels, t.metadata.as_ref().unwrap().labels);
        assert_eq!(p.metadata.annotations.unwrap()["a"], "b");
        assert_eq!(p.metadata.owner_references.unwrap()[0].uid, "u");
        assert_eq!(p.spec, t.spec);
    }

    #[test]
    fn long_names_drop_the_dash() {
        assert_eq!(pods_prefix("web"), "web-");
        let long = "x".repeat(253);
        assert_eq!(pods_prefix(&long), long);
    }
}
