//! DefaultBinder: binds through the pods/binding subresource.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::framework::interface::{
    BindPlugin, ClusterApi, CycleState, Plugin, PluginInstance, Status,
};
use crate::framework::types::PodInfo;

/// The plugin's name.
pub const NAME: &str = "DefaultBinder";

/// The DefaultBinder plugin.
pub struct DefaultBinder;

impl Plugin for DefaultBinder {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl BindPlugin for DefaultBinder {
    fn bind(
        &self,
        _s: &CycleState,
        pod: &PodInfo,
        node: &str,
        api: Arc<dyn ClusterApi>,
    ) -> BoxFuture<'static, Status> {
        let fut = api.bind(
            pod.namespace.clone(),
            pod.name.clone(),
            pod.uid.clone(),
            node.to_string(),
        );
        async move {
            match fut.await {
                Ok(()) => Status::success(),
                Err(e) => Status::error(e),
            }
        }
        .boxed()
    }
}

/// Registry constructor.
pub fn new(_args: &serde_json::Value) -> Result<PluginInstance, String> {
    let mut i = PluginInstance::new(NAME);
    i.bind = Some(Arc::new(DefaultBinder));
    Ok(i)
}
