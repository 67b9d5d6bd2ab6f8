//! ImageLocality: favours nodes that already have the pod's images, scaled by how many
//! nodes share each image (upstream's spread factor).

use std::sync::Arc;

use crate::framework::interface::*;
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo};

/// The plugin's name.
pub const NAME: &str = "ImageLocality";
const MB: i64 = 1024 * 1024;
const MIN_THRESHOLD: i64 = 23 * MB;
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// The ImageLocality plugin.
pub struct ImageLocality;

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// Upstream `normalizedImageName`: adds ":latest" when there is neither tag nor digest.
pub fn normalized_image_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

fn images(pod: &PodInfo) -> Vec<String> {
    let Some(spec) = pod.pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .filter_map(|c| c.image.as_deref())
        .map(normalized_image_name)
        .collect()
}

impl ScorePlugin for ImageLocality {
    fn score(
        &self,
        _s: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        snap: &Snapshot,
    ) -> (i64, Status) {
        let imgs = images(pod);
        let total_nodes = snap.len().max(1) as f64;
        let mut sum = 0i64;
        for img in &imgs {
            if let Some(size) = node.images.get(img) {
                let spread = snap.image_nodes.get(img).copied().unwrap_or(1) as f64 / total_nodes;
                sum += (*size as f64 * spread) as i64;
            }
        }
        let max_threshold = MAX_CONTAINER_THRESHOLD * imgs.len().max(1) as i64;
        let clamped = sum.clamp(MIN_THRESHOLD, max_threshold);
        (
            MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD),
            Status::success(),
        )
    }
}

/// Registry constructor.
pub fn new(_args: &serde_json::Value) -> Result<PluginInstance, String> {
    let mut i = PluginInstance::new(NAME);
    i.score = Some(Arc::new(ImageLocality));
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;
    use k8s_openapi::api::core::v1::ContainerImage;

    #[test]
    fn names() {
        assert_eq!(normalized_image_name("nginx"), "nginx:latest");
        assert_eq!(
            normalized_image_name("localhost:5000/nginx"),
            "localhost:5000/nginx:latest"
        );
        assert_eq!(normalized_image_name("nginx:1.25"), "nginx:1.25");
    }

    #[test]
    fn node_with_image_scores_higher() {
        let mut with = node("a", "1", "1Gi");
        with.status.as_mut().unwrap().images = Some(vec![ContainerImage {
            names: Some(vec!["nginx:latest".into()]),
            size_bytes: Some(500 * MB),
        }]);
        let snap = Snapshot::from_nodes(vec![
            node_info(with, vec![]),
            node_info(node("b", "1", "1Gi"), vec![]),
        ]);
        let p = PodInfo::new(pod("p", "", ""));
        let s = CycleState::default();
        let a = ImageLocality.score(&s, &p, &snap.nodes[0], &snap).0;
        let b = ImageLocality.score(&s, &p, &snap.nodes[1], &snap).0;
        assert!(a > b, "{a} {b}");
        assert_eq!(b, 0);
    }
}
