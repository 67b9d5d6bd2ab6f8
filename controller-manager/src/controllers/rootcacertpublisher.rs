//! The root CA publisher (upstream `pkg/controller/certificates/rootcacertpublisher`): every
//! active namespace has a `kube-root-ca.crt` ConfigMap whose `ca.crt` is the CA that signs the
//! apiserver's serving certificate, so pods can verify `kubernetes.default.svc` (the
//! ServiceAccount admission projects it next to the token).
//!
//! The CA is `--root-ca-file`, else the certificate authority of the controller-manager's own
//! kubeconfig cluster, as upstream. rkube's apiserver serves plain HTTP on loopback and has no
//! CA of its own, so without either the ConfigMap holds an empty `ca.crt`: honest (there is
//! nothing to trust) and it keeps pods that project it startable.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;

use super::{ControllerDescriptor, Running};
use crate::context::ControllerContext;
use crate::errors::{Error, Result};
use crate::informer::{Change, Informer};
use crate::options::Options;
use crate::runtime::{self, Queue};

/// The ConfigMap's name.
pub const CONFIG_MAP_NAME: &str = "kube-root-ca.crt";
/// The annotation that says what the ConfigMap is for.
pub const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
/// Its text (upstream's).
pub const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// Registration of the controller.
pub const DESCRIPTOR: ControllerDescriptor = ControllerDescriptor {
    name: "root-ca-certificate-publisher-controller",
    aliases: &["root-ca-cert-publisher"],
    enabled_by_default: true,
    start,
};

/// What the reconcile shares.
pub struct Ctx {
    client: kube::Client,
    config_maps: Arc<Informer<ConfigMap>>,
    root_ca: String,
}

/// The CA to publish: `--root-ca-file`, else the kubeconfig cluster's CA (file or data).
pub fn root_ca(options: &Options) -> Result<String> {
    if let Some(path) = &options.root_ca_file {
        return std::fs::read_to_string(path).map_err(|e| Error::Invalid(format!("error parsing root-ca-file at {}: {e}", path.display())));
    }
    let Some(path) = &options.kubeconfig else { return Ok(String::new()) };
    let Ok(cfg) = kube::config::Kubeconfig::read_from(path) else { return Ok(String::new()) };
    let context = cfg.current_context.as_deref().and_then(|c| cfg.contexts.iter().find(|n| n.name == c)).and_then(|n| n.context.as_ref());
    let cluster_name = context.map(|c| c.cluster.as_str()).unwrap_or("");
    let Some(cluster) = cfg.clusters.iter().find(|c| c.name == cluster_name).and_then(|c| c.cluster.as_ref()) else { return Ok(String::new()) };
    if let Some(data) = &cluster.certificate_authority_data {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(data.trim()).unwrap_or_default();
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(cluster.certificate_authority.as_ref().and_then(|f| std::fs::read_to_string(f).ok()).unwrap_or_default())
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let root_ca = root_ca(&ctx.options)?;
    let (queue, rx) = Queue::<Namespace>::new("root_ca_cert_publisher", &ctx.metrics);
    let namespaces = ctx.informers.informer::<Namespace>();
    let config_maps = ctx.informers.informer::<ConfigMap>();
    let q = queue.clone();
    namespaces.add_handler(move |c| match c {
        Change::Added(ns) => q.add_obj(ns),
        Change::Updated { new, .. } => q.add_obj(new),
        Change::Deleted(_) => {}
    });
    let q = queue.clone();
    config_maps.add_handler(move |c| {
        let cm = match &c {
            Change::Added(cm) | Change::Deleted(cm) => cm,
            Change::Updated { new, .. } => new,
        };
        if cm.metadata.name.as_deref() == Some(CONFIG_MAP_NAME) {
            q.add(None, cm.metadata.namespace.as_deref().unwrap_or(""));
        }
    });
    let shared = Arc::new(Ctx { client: ctx.client.clone(), config_maps, root_ca });
    Ok(Box::pin(runtime::run("root_ca_cert_publisher", queue, rx, namespaces.store(), 1, shared, reconcile)))
}

/// The data the ConfigMap must hold.
fn wanted(root_ca: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("ca.crt".to_string(), root_ca.to_string())])
}

/// Creates or repairs the namespace's `kube-root-ca.crt`.
pub async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action> {
    let phase = ns.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Active");
    if phase != "Active" || ns.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let name = ns.metadata.name.clone().unwrap_or_default();
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &name);
    let data = wanted(&ctx.root_ca);
    let annotations = BTreeMap::from([(DESCRIPTION_ANNOTATION.to_string(), DESCRIPTION.to_string())]);
    let Some(cm) = ctx.config_maps.get(Some(&name), CONFIG_MAP_NAME) else {
        let cm = ConfigMap {
            metadata: ObjectMeta { name: Some(CONFIG_MAP_NAME.into()), annotations: Some(annotations), ..Default::default() },
            data: Some(data),
            ..Default::default()
        };
        if let Err(e) = api.create(&PostParams::default(), &cm).await {
            let e = Error::from(e);
            if !(e.is_already_exists() || e.is_not_found() || e.is_namespace_terminating()) {
                return Err(e);
            }
        }
        return Ok(Action::await_change());
    };
    let described = cm.metadata.annotations.as_ref().and_then(|a| a.get(DESCRIPTION_ANNOTATION)).is_some_and(|d| !d.is_empty());
    if cm.data.as_ref() == Some(&data) && described {
        return Ok(Action::await_change());
    }
    let mut cm = (*cm).clone();
    cm.data = Some(data);
    cm.metadata.annotations.get_or_insert_with(BTreeMap::new).insert(DESCRIPTION_ANNOTATION.into(), DESCRIPTION.into());
    api.replace(CONFIG_MAP_NAME, &PostParams::default(), &cm).await.map_err(Error::from)?;
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn root_ca_from_flag_kubeconfig_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let kc = dir.path().join("kubeconfig");
        std::fs::write(
            &kc,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: Q0EgUEVN\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user: {}\n",
        )
        .unwrap();
        let opts = Options::try_parse_from(["kcm", "--kubeconfig", kc.to_str().unwrap()]).unwrap();
        assert_eq!(root_ca(&opts).unwrap(), "CA PEM");
        let file = dir.path().join("ca.crt");
        std::fs::write(&file, "FILE PEM").unwrap();
        let opts = Options::try_parse_from(["kcm", "--kubeconfig", kc.to_str().unwrap(), "--root-ca-file", file.to_str().unwrap()]).unwrap();
        assert_eq!(root_ca(&opts).unwrap(), "FILE PEM");
        assert_eq!(root_ca(&Options::try_parse_from(["kcm"]).unwrap()).unwrap(), "");
        assert_eq!(wanted("x"), BTreeMap::from([("ca.crt".to_string(), "x".to_string())]));
    }
}
