//! VolumeBinding for local PersistentVolumes: bound claims pin the pod to their PV's node
//! affinity; claims of a WaitForFirstConsumer class are matched, per node, against available
//! PVs (or left to dynamic provisioning) and bound in PreBind once a node is chosen.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::FutureExt;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use rkube_apimachinery::quantity::Quantity;

use rkube_apimachinery::scheduling::node_selector_matches;
use crate::framework::interface::*;
use crate::framework::snapshot::Snapshot;
use crate::framework::types::{NodeInfo, PodInfo};

/// The plugin's name.
pub const NAME: &str = "VolumeBinding";
/// Upstream: a claim of an Immediate class is still unbound.
pub const ERR_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";
/// Upstream: no PV can be bound on this node.
pub const ERR_BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";
/// Upstream: a bound PV's node affinity excludes the node.
pub const ERR_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
/// Upstream: a claim is bound to a PV that does not exist.
pub const ERR_PV_NOT_EXIST: &str =
    "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
const STATE_KEY: &str = "PreFilterVolumeBinding";
const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";

#[derive(Clone, Default)]
struct State {
    /// Claims already bound, with their PV name.
    bound: Vec<String>,
    /// Unbound WaitForFirstConsumer claims: (key, claim, provisioner).
    delayed: Vec<(String, PersistentVolumeClaim, String)>,
    /// Reserved decisions: (claim key, Some(pv) or None for provisioning).
    decisions: Vec<(String, Option<String>)>,
}

/// The plugin, with its assume cache of PVs promised to claims.
#[derive(Default)]
pub struct VolumeBinding {
    assumed: Mutex<HashMap<String, String>>,
}

impl Plugin for VolumeBinding {
    fn name(&self) -> &'static str {
        NAME
    }
}

fn claim_names(pod: &PodInfo) -> Vec<String> {
    let Some(spec) = pod.pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.volumes
        .iter()
        .flatten()
        .filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.clone())
                .or_else(|| {
                    v.ephemeral
                        .as_ref()
                        .map(|_| format!("{}-{}", pod.name, v.name))
                })
        })
        .collect()
}

fn request_bytes(pvc: &PersistentVolumeClaim) -> i128 {
    let q = pvc
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|m| m.get("storage"));
    q.and_then(|q| Quantity::parse(&q.0).ok())
        .map(|q| q.value())
        .unwrap_or(0)
}

fn capacity_bytes(pv: &PersistentVolume) -> i128 {
    let q = pv
        .spec
        .as_ref()
        .and_then(|s| s.capacity.as_ref())
        .and_then(|m| m.get("storage"));
    q.and_then(|q| Quantity::parse(&q.0).ok())
        .map(|q| q.value())
        .unwrap_or(0)
}

fn pv_fits_node(pv: &PersistentVolume, node: &NodeInfo) -> bool {
    let req = pv
        .spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref())
        .and_then(|a| a.required.as_ref());
    req.is_none_or(|sel| node_selector_matches(sel, &node.labels, &node.name))
}

/// Whether a PV could satisfy a claim (class, size, access and volume modes, free).
fn pv_matches_claim(pv: &PersistentVolume, key: &str, pvc: &PersistentVolumeClaim) -> bool {
    let (Some(spec), Some(cspec)) = (pv.spec.as_ref(), pvc.spec.as_ref()) else {
        return false;
    };
    let claimed_by_other = spec.claim_ref.as_ref().is_some_and(|r| {
        format!(
            "{}/{}",
            r.namespace.as_deref().unwrap_or(""),
            r.name.as_deref().unwrap_or("")
        ) != key
    });
    let released = pv
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| p != "Available" && p != "Pending");
    let same_class = spec.storage_class_name.as_deref().unwrap_or("")
        == cspec.storage_class_name.as_deref().unwrap_or("");
    let modes_ok = cspec
        .access_modes
        .iter()
        .flatten()
        .all(|m| spec.access_modes.iter().flatten().any(|x| x == m));
    let vol_mode = |m: &Option<String>| m.clone().unwrap_or_else(|| "Filesystem".into());
    !claimed_by_other
        && !released
        && same_class
        && modes_ok
        && vol_mode(&spec.volume_mode) == vol_mode(&cspec.volume_mode)
        && capacity_bytes(pv) >= request_bytes(pvc)
        && pv.metadata.deletion_timestamp.is_none()
}

impl VolumeBinding {
    /// For each delayed claim, the smallest matching PV on the node (None: provision).
    fn find_matches(
        &self,
        s: &State,
        node: &NodeInfo,
        snap: &Snapshot,
    ) -> Result<Vec<(String, Option<String>)>, Status> {
        let assumed = self.assumed.lock().unwrap_or_else(|e| e.into_inner());
        let mut taken: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for (key, pvc, provisioner) in &s.delayed {
            let best = snap
                .objects
                .pvs
                .values()
                .filter(|pv| {
                    let name = pv.metadata.name.as_deref().unwrap_or("");
                    !taken.contains(&name)
                        && assumed.get(name).is_none_or(|k| k == key)
                        && pv_matches_claim(pv, key, pvc)
                        && pv_fits_node(pv, node)
                })
                .min_by_key(|pv| capacity_bytes(pv));
            match best {
                Some(pv) => {
                    let name = pv.metadata.name.as_deref().unwrap_or("");
                    taken.push(name);
                    out.push((key.clone(), Some(name.to_string())));
                }
                None if provisioner != NO_PROVISIONER && !provisioner.is_empty() => {
                    out.push((key.clone(), None))
                }
                None => {
                    return Err(Status::new(
                        Code::UnschedulableAndUnresolvable,
                        ERR_BIND_CONFLICT,
                    ))
                }
            }
        }
        Ok(out)
    }
}

fn class_of<'a>(
    pvc: &PersistentVolumeClaim,
    snap: &'a Snapshot,
) -> Option<&'a k8s_openapi::api::storage::v1::StorageClass> {
    let name = pvc
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.as_deref())
        .unwrap_or("");
    snap.objects.storage_classes.get(name)
}

impl PreFilterPlugin for VolumeBinding {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let names = claim_names(pod);
        if names.is_empty() {
            return (None, Status::skip());
        }
        let mut s = State::default();
        for name in names {
            let key = format!("{}/{}", pod.namespace, name);
            let Some(pvc) = snap.objects.pvcs.get(&key) else {
                return (
                    None,
                    Status::new(
                        Code::UnschedulableAndUnresolvable,
                        format!("persistentvolumeclaim \"{name}\" not found"),
                    ),
                );
            };
            if pvc.metadata.deletion_timestamp.is_some() {
                return (
                    None,
                    Status::new(
                        Code::UnschedulableAndUnresolvable,
                        format!("persistentvolumeclaim \"{name}\" is being deleted"),
                    ),
                );
            }
            if let Some(pv) = pvc
                .spec
                .as_ref()
                .and_then(|s| s.volume_name.clone())
                .filter(|v| !v.is_empty())
            {
                s.bound.push(pv);
                continue;
            }
            let class = class_of(pvc, snap);
            if class.and_then(|c| c.volume_binding_mode.as_deref()) != Some("WaitForFirstConsumer")
            {
                return (
                    None,
                    Status::new(Code::UnschedulableAndUnresolvable, ERR_UNBOUND_IMMEDIATE),
                );
            }
            s.delayed.push((
                key,
                pvc.clone(),
                class.map(|c| c.provisioner.clone()).unwrap_or_default(),
            ));
        }
        state.write(STATE_KEY, s);
        (None, Status::success())
    }
}

impl FilterPlugin for VolumeBinding {
    fn filter(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        node: &NodeInfo,
        snap: &Snapshot,
    ) -> Status {
        let Some(s) = state.read::<State>(STATE_KEY) else {
            return Status::success();
        };
        for pv_name in &s.bound {
            let Some(pv) = snap.objects.pvs.get(pv_name) else {
                return Status::new(Code::UnschedulableAndUnresolvable, ERR_PV_NOT_EXIST);
            };
            if !pv_fits_node(pv, node) {
                return Status::new(Code::UnschedulableAndUnresolvable, ERR_NODE_CONFLICT);
            }
        }
        match self.find_matches(s, node, snap) {
            Ok(_) => Status::success(),
            Err(st) => st,
        }
    }
}

impl ReservePlugin for VolumeBinding {
    fn reserve(
        &self,
        state: &mut CycleState,
        _pod: &PodInfo,
        node: &str,
        snap: &Snapshot,
    ) -> Status {
        let Some(s) = state.read::<State>(STATE_KEY) else {
            return Status::success();
        };
        let Some(ni) = snap.get(node) else {
            return Status::error(format!("node {node:?} not in snapshot"));
        };
        let decisions = match self.find_matches(s, ni, snap) {
            Ok(d) => d,
            Err(st) => return st,
        };
        let mut assumed = self.assumed.lock().unwrap_or_else(|e| e.into_inner());
        for (key, pv) in &decisions {
            if let Some(pv) = pv {
                assumed.insert(pv.clone(), key.clone());
            }
        }
        drop(assumed);
        if let Some(s) = state.read_mut::<State>(STATE_KEY) {
            s.decisions = decisions;
        }
        Status::success()
    }

    fn unreserve(&self, state: &mut CycleState, _pod: &PodInfo, _node: &str) {
        let Some(s) = state.read_mut::<State>(STATE_KEY) else {
            return;
        };
        let mut assumed = self.assumed.lock().unwrap_or_else(|e| e.into_inner());
        for (_, pv) in s.decisions.drain(..) {
            if let Some(pv) = pv {
                assumed.remove(&pv);
            }
        }
    }
}

impl PreBindPlugin for VolumeBinding {
    fn pre_bind(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        node: &str,
        api: Arc<dyn ClusterApi>,
    ) -> BoxFuture<'static, Status> {
        let decisions: BTreeMap<String, Option<String>> = state
            .read::<State>(STATE_KEY)
            .map(|s| s.decisions.iter().cloned().collect())
            .unwrap_or_default();
        let node = node.to_string();
        async move {
            for (key, pv) in decisions {
                let (ns, claim) = key.split_once('/').unwrap_or(("", &key));
                let r = match pv {
                    Some(pv) => api.bind_volume(pv, ns.to_string(), claim.to_string()).await,
                    None => {
                        api.select_node_for_claim(ns.to_string(), claim.to_string(), node.clone())
                            .await
                    }
                };
                if let Err(e) = r {
                    return Status::error(format!("binding volumes: {e}"));
                }
            }
            Status::success()
        }
        .boxed()
    }
}

/// Registry constructor.
pub fn new(_args: &serde_json::Value) -> Result<PluginInstance, String> {
    let p = Arc::new(VolumeBinding::default());
    let mut i = PluginInstance::new(NAME);
    i.pre_filter = Some(p.clone());
    i.filter = Some(p.clone());
    i.reserve = Some(p.clone());
    i.pre_bind = Some(p);
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::snapshot::ClusterObjects;
    use crate::framework::types::fixtures::*;
    use k8s_openapi::api::core::v1::{
        NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PersistentVolumeClaimSpec,
        PersistentVolumeClaimVolumeSource, PersistentVolumeSpec, Volume, VolumeNodeAffinity,
        VolumeResourceRequirements,
    };
    use k8s_openapi::api::storage::v1::StorageClass;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQ;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn local_pv(name: &str, node: &str, size: &str) -> PersistentVolume {
        PersistentVolume {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            spec: Some(PersistentVolumeSpec {
                capacity: Some([("storage".to_string(), KQ(size.into()))].into()),
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                storage_class_name: Some("local".into()),
                node_affinity: Some(VolumeNodeAffinity {
                    required: Some(NodeSelector {
                        node_selector_terms: vec![NodeSelectorTerm {
                            match_expressions: Some(vec![NodeSelectorRequirement {
                                key: "kubernetes.io/hostname".into(),
                                operator: "In".into(),
                                values: Some(vec![node.into()]),
                            }]),
                            match_fields: None,
                        }],
                    }),
                }),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn claim(name: &str) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                storage_class_name: Some("local".into()),
                resources: Some(VolumeResourceRequirements {
                    requests: Some([("storage".to_string(), KQ("1Gi".into()))].into()),
                    limits: None,
                }),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn class(mode: &str) -> StorageClass {
        StorageClass {
            metadata: ObjectMeta {
                name: Some("local".into()),
                ..Default::default()
            },
            provisioner: NO_PROVISIONER.into(),
            volume_binding_mode: Some(mode.into()),
            ..Default::default()
        }
    }

    fn snapshot(mode: &str) -> Snapshot {
        let mut snap = Snapshot::from_nodes(vec![
            node_info(node("a", "1", "1Gi"), vec![]),
            node_info(node("b", "1", "1Gi"), vec![]),
        ]);
        let mut objs = ClusterObjects::default();
        objs.pvs.insert("pv-b".into(), local_pv("pv-b", "b", "5Gi"));
        objs.pvcs.insert("default/data".into(), claim("data"));
        objs.storage_classes.insert("local".into(), class(mode));
        snap.objects = Arc::new(objs);
        snap
    }

    fn pod_with_claim() -> PodInfo {
        let mut p = pod("p", "", "");
        p.spec.as_mut().unwrap().volumes = Some(vec![Volume {
            name: "data".into(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: "data".into(),
                read_only: None,
            }),
            ..Default::default()
        }]);
        PodInfo::new(p)
    }

    #[test]
    fn wait_for_first_consumer_picks_node_with_pv() {
        let snap = snapshot("WaitForFirstConsumer");
        let pl = VolumeBinding::default();
        let p = pod_with_claim();
        let mut st = CycleState::default();
        assert!(pl.pre_filter(&mut st, &p, &snap).1.is_success());
        assert_eq!(
            pl.filter(&st, &p, &snap.nodes[0], &snap).reasons,
            vec![ERR_BIND_CONFLICT]
        );
        assert!(pl.filter(&st, &p, &snap.nodes[1], &snap).is_success());
        assert!(pl.reserve(&mut st, &p, "b", &snap).is_success());
        assert_eq!(
            pl.assumed.lock().unwrap().get("pv-b").map(String::as_str),
            Some("default/data")
        );
        pl.unreserve(&mut st, &p, "b");
        assert!(pl.assumed.lock().unwrap().is_empty());
    }

    #[test]
    fn immediate_unbound_rejected() {
        let snap = snapshot("Immediate");
        let (_, s) = VolumeBinding::default().pre_filter(
            &mut CycleState::default(),
            &pod_with_claim(),
            &snap,
        );
        assert_eq!(s.reasons, vec![ERR_UNBOUND_IMMEDIATE]);
    }
}
