//! The PersistentVolume binder (upstream `pkg/controller/volume/persistentvolume`,
//! `persistentvolume-binder-controller`): binds unbound claims to the best matching
//! Available volume (or the one either side names), completes bindings the scheduler started
//! for WaitForFirstConsumer claims, keeps the phases (volume Available/Bound/Released/Failed,
//! claim Pending/Bound/Lost) and reclaims released volumes by their reclaim policy.
//!
//! Two queues as upstream: claims (`syncClaim`) and volumes (`syncVolume`). Unbound claims
//! are re-examined every 15 s (upstream's `--pvclaimbinder-sync-period`) and whenever a
//! volume becomes Available.

pub mod matching;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::Action;

use self::matching::*;
use crate::context::ControllerContext;
use crate::controllers::workload::changed;
use crate::controllers::{ControllerDescriptor, Running};
use crate::errors::{Error, Result};
use crate::events::{reference, Recorder, WARNING};
use crate::informer::{Change, Informer};
use crate::runtime::{self, Queue};

/// Registration of the PersistentVolume binder.
pub const DESCRIPTOR: ControllerDescriptor = ControllerDescriptor {
    name: "persistentvolume-binder-controller",
    aliases: &["persistentvolume-binder"],
    enabled_by_default: true,
    start,
};

/// Upstream's `--pvclaimbinder-sync-period` default.
const SYNC_PERIOD: Duration = Duration::from_secs(15);

/// What both syncs share.
pub struct Ctx {
    client: kube::Client,
    volumes: Arc<Informer<PersistentVolume>>,
    claims: Arc<Informer<PersistentVolumeClaim>>,
    classes: Arc<Informer<StorageClass>>,
    pods: Arc<Informer<Pod>>,
    claim_queue: Queue<PersistentVolumeClaim>,
    recorder: Recorder,
}

fn start(ctx: &ControllerContext) -> Result<Running> {
    let volumes = ctx.informers.informer::<PersistentVolume>();
    let claims = ctx.informers.informer::<PersistentVolumeClaim>();
    let classes = ctx.informers.informer::<StorageClass>();
    let pods = ctx.informers.informer::<Pod>();
    let (claim_queue, claim_rx) = Queue::<PersistentVolumeClaim>::new("claims", &ctx.metrics);
    let (volume_queue, volume_rx) = Queue::<PersistentVolume>::new("volumes", &ctx.metrics);

    let (vq, cq) = (volume_queue.clone(), claim_queue.clone());
    claims.add_handler(move |c: &Change<PersistentVolumeClaim>| match c {
        // Upstream `deleteClaim`: sync the volume now so it is Released without waiting.
        Change::Deleted(claim) => {
            let volume = claim_volume_name(claim);
            if !volume.is_empty() {
                vq.add(None, volume);
            }
        }
        _ => cq.add_obj(changed(c)),
    });
    let (vq, cq, cl) = (volume_queue.clone(), claim_queue.clone(), claims.clone());
    volumes.add_handler(move |c: &Change<PersistentVolume>| {
        let volume = changed(c);
        let claim_ref = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
        // Upstream `deleteVolume`: sync the claim now so it is Lost without waiting.
        if let Some(r) = claim_ref {
            cq.add(r.namespace.as_deref(), r.name.as_deref().unwrap_or(""));
        }
        match c {
            Change::Deleted(_) => {}
            _ => {
                vq.add_obj(volume);
                let available = volume.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Available");
                if available && claim_ref.is_none() {
                    let name = volume.metadata.name.as_deref().unwrap_or("");
                    for claim in cl.store().state() {
                        let wanted = claim_volume_name(&claim);
                        if !has_annotation(&claim.metadata, ANN_BIND_COMPLETED) && (wanted.is_empty() || wanted == name) {
                            cq.add_obj(&claim);
                        }
                    }
                }
            }
        }
    });
    let shared = Arc::new(Ctx {
        client: ctx.client.clone(),
        volumes: volumes.clone(),
        claims: claims.clone(),
        classes,
        pods,
        claim_queue: claim_queue.clone(),
        recorder: ctx.recorder("persistentvolume-controller"),
    });
    let claim_loop = runtime::run("persistentvolume-binder-claims", claim_queue, claim_rx, claims.store(), 1, shared.clone(), sync_claim);
    let volume_loop = runtime::run("persistentvolume-binder-volumes", volume_queue, volume_rx, volumes.store(), 1, shared, sync_volume);
    Ok(Box::pin(async move {
        futures::join!(claim_loop, volume_loop);
    }))
}

fn claims_api(ctx: &Ctx, claim: &PersistentVolumeClaim) -> Api<PersistentVolumeClaim> {
    Api::namespaced(ctx.client.clone(), claim.metadata.namespace.as_deref().unwrap_or(""))
}

fn volumes_api(ctx: &Ctx) -> Api<PersistentVolume> {
    Api::all(ctx.client.clone())
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

fn claim_phase(claim: &PersistentVolumeClaim) -> &str {
    claim.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

fn volume_phase(volume: &PersistentVolume) -> &str {
    volume.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

fn claim_ref(volume: &PersistentVolume) -> Option<&ObjectReference> {
    volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref())
}

fn set_annotation(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str, value: &str) {
    meta.annotations.get_or_insert_with(BTreeMap::new).insert(key.into(), value.into());
}

/// Upstream `syncClaim`.
pub async fn sync_claim(claim: Arc<PersistentVolumeClaim>, ctx: Arc<Ctx>) -> Result<Action> {
    let res = if has_annotation(&claim.metadata, ANN_BIND_COMPLETED) {
        sync_bound_claim(&ctx, &claim).await
    } else {
        sync_unbound_claim(&ctx, &claim).await
    };
    match res {
        Ok(a) => Ok(a),
        // A stale cache: the informer brings the newer object and another sync.
        Err(e) if e.is_conflict() => Ok(Action::requeue(Duration::from_millis(100))),
        Err(e) => Err(e),
    }
}

/// Upstream `IsDelayBindingMode`: the claim's class binds on first consumer.
fn delay_binding(ctx: &Ctx, claim: &PersistentVolumeClaim) -> bool {
    let class = claim_class(claim);
    !class.is_empty()
        && ctx.classes.get(None, class).and_then(|c| c.volume_binding_mode.clone()).as_deref() == Some("WaitForFirstConsumer")
}

async fn sync_unbound_claim(ctx: &Ctx, claim: &PersistentVolumeClaim) -> Result<Action> {
    let volume_name = claim_volume_name(claim).to_string();
    if volume_name.is_empty() {
        let delay = delay_binding(ctx, claim);
        let volumes = ctx.volumes.store().state();
        match find_best_match(claim, &volumes, delay) {
            Some(volume) => {
                bind(ctx, &volume, claim).await?;
                Ok(Action::await_change())
            }
            None => {
                if delay && !has_annotation(&claim.metadata, ANN_SELECTED_NODE) {
                    event_for_unbound_delay_binding_claim(ctx, claim);
                } else if !claim_class(claim).is_empty() {
                    provision_claim(ctx, claim).await?;
                    return Ok(Action::requeue(SYNC_PERIOD));
                } else {
                    ctx.recorder.normal(&reference(claim), "FailedBinding", "no persistent volumes available for this claim and no storage class is set");
                }
                update_claim_status(ctx, claim, "Pending", None).await?;
                Ok(Action::requeue(SYNC_PERIOD))
            }
        }
    } else {
        let Some(volume) = ctx.volumes.get(None, &volume_name) else {
            // The user asked for a volume that does not exist (yet).
            update_claim_status(ctx, claim, "Pending", None).await?;
            return Ok(Action::requeue(SYNC_PERIOD));
        };
        if claim_ref(&volume).is_none() {
            if let Err(why) = check_volume_satisfies_claim(&volume, claim) {
                ctx.recorder.warning(&reference(claim), "VolumeMismatch", format!("Cannot bind to requested volume {volume_name:?}: {why}"));
                update_claim_status(ctx, claim, "Pending", None).await?;
                return Ok(Action::requeue(SYNC_PERIOD));
            }
            bind(ctx, &volume, claim).await?;
        } else if is_volume_bound_to_claim(&volume, claim) {
            bind(ctx, &volume, claim).await?;
        } else if !has_annotation(&claim.metadata, ANN_BOUND_BY_CONTROLLER) {
            // The user asked for a volume bound to someone else: wait for it to be freed.
            update_claim_status(ctx, claim, "Pending", None).await?;
            return Ok(Action::requeue(SYNC_PERIOD));
        } else {
            return Err(Error::Retry(format!(
                "Invalid binding of claim {:?} to volume {:?}: volume already claimed by {:?}",
                runtime::key_of(claim),
                volume_name,
                claim_ref(&volume).map(|r| runtime::key(r.namespace.as_deref(), r.name.as_deref().unwrap_or(""))).unwrap_or_default()
            )));
        }
        Ok(Action::await_change())
    }
}

async fn sync_bound_claim(ctx: &Ctx, claim: &PersistentVolumeClaim) -> Result<Action> {
    let volume_name = claim_volume_name(claim);
    if volume_name.is_empty() {
        update_claim_status_with_event(ctx, claim, "Lost", None, "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!").await?;
        return Ok(Action::await_change());
    }
    let Some(volume) = ctx.volumes.get(None, volume_name) else {
        update_claim_status_with_event(ctx, claim, "Lost", None, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!").await?;
        return Ok(Action::await_change());
    };
    match claim_ref(&volume) {
        None => bind(ctx, &volume, claim).await?,
        Some(r) if r.uid.is_some() && r.uid == claim.metadata.uid => bind(ctx, &volume, claim).await?,
        Some(_) => {
            update_claim_status_with_event(ctx, claim, "Lost", None, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly").await?;
        }
    }
    Ok(Action::await_change())
}

/// Upstream `emitEventForUnboundDelayBindingClaim`.
fn event_for_unbound_delay_binding_claim(ctx: &Ctx, claim: &PersistentVolumeClaim) {
    let claim_name = name_of(&claim.metadata);
    let mut pods: Vec<String> = ctx
        .pods
        .store()
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace == claim.metadata.namespace)
        .filter(|p| p.spec.as_ref().is_some_and(|s| s.node_name.as_deref().unwrap_or("").is_empty()))
        .filter(|p| !matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed")))
        .filter(|p| {
            p.spec.as_ref().and_then(|s| s.volumes.as_ref()).is_some_and(|vs| {
                vs.iter().any(|v| v.persistent_volume_claim.as_ref().is_some_and(|c| c.claim_name == claim_name))
            })
        })
        .map(|p| runtime::key_of(p.as_ref()))
        .collect();
    pods.sort();
    let (reason, message) = match pods.len() {
        0 => ("WaitForFirstConsumer", "waiting for first consumer to be created before binding".to_string()),
        1 => ("WaitForPodScheduled", format!("waiting for pod {} to be scheduled", pods[0])),
        _ => ("WaitForPodScheduled", format!("waiting for pods {} to be scheduled", pods.join(","))),
    };
    ctx.recorder.normal(&reference(claim), reason, message);
}

/// Upstream `provisionClaim`: there are no in-tree provisioners, so a `kubernetes.io/`
/// provisioner fails as upstream's plugin lookup does, and any other is left to an external
/// provisioner (the claim is annotated with it).
async fn provision_claim(ctx: &Ctx, claim: &PersistentVolumeClaim) -> Result<()> {
    let class_name = claim_class(claim);
    let Some(class) = ctx.classes.get(None, class_name) else {
        ctx.recorder.warning(&reference(claim), "ProvisioningFailed", format!("storageclass.storage.k8s.io {class_name:?} not found"));
        return Ok(());
    };
    let provisioner = class.provisioner.as_str();
    if provisioner.starts_with("kubernetes.io/") {
        ctx.recorder.warning(&reference(claim), "ProvisioningFailed", format!("no volume plugin matched name: {provisioner}"));
        return Ok(());
    }
    let has = |k: &str| claim.metadata.annotations.as_ref().and_then(|a| a.get(k)).map(String::as_str) == Some(provisioner);
    if !has(ANN_STORAGE_PROVISIONER) || !has(ANN_BETA_STORAGE_PROVISIONER) {
        let mut c = claim.clone();
        set_annotation(&mut c.metadata, ANN_STORAGE_PROVISIONER, provisioner);
        set_annotation(&mut c.metadata, ANN_BETA_STORAGE_PROVISIONER, provisioner);
        claims_api(ctx, claim).replace(name_of(&claim.metadata), &PostParams::default(), &c).await?;
    }
    ctx.recorder.normal(
        &reference(claim),
        "ExternalProvisioning",
        format!("Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."),
    );
    Ok(())
}

/// Upstream `bind`: the volume side (claimRef, annotation), the volume phase, the claim side
/// (volumeName, annotations), then the claim status.
async fn bind(ctx: &Ctx, volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> Result<()> {
    let volume = bind_volume_to_claim(ctx, volume, claim).await?;
    let volume = update_volume_phase(ctx, &volume, "Bound", "").await?;
    let claim = bind_claim_to_volume(ctx, claim, &volume).await?;
    update_claim_status(ctx, &claim, "Bound", Some(&volume)).await?;
    Ok(())
}

/// Upstream `GetBindVolumeToClaim` and the write.
async fn bind_volume_to_claim(ctx: &Ctx, volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> Result<PersistentVolume> {
    let set_by_controller = !is_volume_bound_to_claim(volume, claim);
    let mut v = volume.clone();
    let mut dirty = false;
    let current = claim_ref(volume);
    if current.is_none_or(|r| r.name != claim.metadata.name || r.namespace != claim.metadata.namespace || r.uid != claim.metadata.uid) {
        let spec = v.spec.get_or_insert_with(Default::default);
        spec.claim_ref = Some(ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("PersistentVolumeClaim".into()),
            ..reference(claim)
        });
        dirty = true;
    }
    if set_by_controller && !has_annotation(&v.metadata, ANN_BOUND_BY_CONTROLLER) {
        set_annotation(&mut v.metadata, ANN_BOUND_BY_CONTROLLER, "yes");
        dirty = true;
    }
    if !dirty {
        return Ok(v);
    }
    Ok(volumes_api(ctx).replace(name_of(&volume.metadata), &PostParams::default(), &v).await?)
}

/// Upstream `getBindClaimToVolume` and the write.
async fn bind_claim_to_volume(ctx: &Ctx, claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> Result<PersistentVolumeClaim> {
    let mut c = claim.clone();
    let mut dirty = false;
    let volume_name = name_of(&volume.metadata);
    if claim_volume_name(claim) != volume_name {
        c.spec.get_or_insert_with(Default::default).volume_name = Some(volume_name.to_string());
        if !has_annotation(&c.metadata, ANN_BOUND_BY_CONTROLLER) {
            set_annotation(&mut c.metadata, ANN_BOUND_BY_CONTROLLER, "yes");
        }
        dirty = true;
    }
    if !has_annotation(&c.metadata, ANN_BIND_COMPLETED) {
        set_annotation(&mut c.metadata, ANN_BIND_COMPLETED, "yes");
        dirty = true;
    }
    if !dirty {
        return Ok(c);
    }
    Ok(claims_api(ctx, claim).replace(name_of(&claim.metadata), &PostParams::default(), &c).await?)
}

/// Upstream `updateClaimStatus`: the phase, and the access modes and capacity of the volume
/// (capacity only when the claim becomes Bound); both cleared without a volume.
async fn update_claim_status(ctx: &Ctx, claim: &PersistentVolumeClaim, phase: &str, volume: Option<&PersistentVolume>) -> Result<PersistentVolumeClaim> {
    let mut c = claim.clone();
    let status = c.status.get_or_insert_with(Default::default);
    let mut dirty = false;
    if claim_phase(claim) != phase {
        status.phase = Some(phase.into());
        dirty = true;
    }
    match volume {
        None => {
            if status.access_modes.is_some() || status.capacity.is_some() {
                status.access_modes = None;
                status.capacity = None;
                dirty = true;
            }
        }
        Some(v) => {
            let modes = v.spec.as_ref().and_then(|s| s.access_modes.clone());
            if status.access_modes != modes {
                status.access_modes = modes;
                dirty = true;
            }
            if claim_phase(claim) != phase {
                let capacity = v.spec.as_ref().and_then(|s| s.capacity.clone());
                let Some(storage) = capacity.as_ref().and_then(|c| c.get("storage")).cloned() else {
                    return Err(Error::Invalid(format!("PersistentVolume {:?} is without a storage capacity", name_of(&v.metadata))));
                };
                if status.capacity.as_ref().and_then(|c| c.get("storage")) != Some(&storage) {
                    status.capacity = capacity;
                    dirty = true;
                }
            }
        }
    }
    if !dirty {
        return Ok(c);
    }
    Ok(claims_api(ctx, claim).replace_status(name_of(&claim.metadata), &PostParams::default(), &c).await?)
}

async fn update_claim_status_with_event(
    ctx: &Ctx,
    claim: &PersistentVolumeClaim,
    phase: &str,
    volume: Option<&PersistentVolume>,
    reason: &str,
    message: &str,
) -> Result<()> {
    if claim_phase(claim) == phase {
        return Ok(());
    }
    let updated = update_claim_status(ctx, claim, phase, volume).await?;
    ctx.recorder.warning(&reference(&updated), reason, message);
    Ok(())
}

/// Upstream `updateVolumePhase`.
async fn update_volume_phase(ctx: &Ctx, volume: &PersistentVolume, phase: &str, message: &str) -> Result<PersistentVolume> {
    if volume_phase(volume) == phase {
        return Ok(volume.clone());
    }
    let mut v = volume.clone();
    let status = v.status.get_or_insert_with(Default::default);
    status.phase = Some(phase.into());
    status.message = Some(message.to_string()).filter(|m| !m.is_empty());
    Ok(volumes_api(ctx).replace_status(name_of(&volume.metadata), &PostParams::default(), &v).await?)
}

async fn update_volume_phase_with_event(ctx: &Ctx, volume: &PersistentVolume, phase: &str, type_: &str, reason: &str, message: &str) -> Result<()> {
    if volume_phase(volume) == phase {
        return Ok(());
    }
    let updated = update_volume_phase(ctx, volume, phase, message).await?;
    ctx.recorder.event(&reference(&updated), type_, reason, message);
    Ok(())
}

/// The claim a volume's claimRef names: from the cache, else (a cache that may lag) from
/// the apiserver; `None` when gone or replaced by a claim with another UID.
async fn claim_of_volume(ctx: &Ctx, r: &ObjectReference) -> Result<Option<PersistentVolumeClaim>> {
    let (ns, name) = (r.namespace.as_deref().unwrap_or(""), r.name.as_deref().unwrap_or(""));
    let claim = match ctx.claims.get(Some(ns), name) {
        Some(c) => Some((*c).clone()),
        None => {
            let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
            api.get_opt(name).await?
        }
    };
    Ok(claim.filter(|c| c.metadata.uid == r.uid))
}

/// Upstream `syncVolume`.
pub async fn sync_volume(volume: Arc<PersistentVolume>, ctx: Arc<Ctx>) -> Result<Action> {
    match sync_volume_inner(&ctx, &volume).await {
        Err(e) if e.is_conflict() => Ok(Action::requeue(Duration::from_millis(100))),
        other => other,
    }
}

async fn sync_volume_inner(ctx: &Ctx, volume: &PersistentVolume) -> Result<Action> {
    let Some(r) = claim_ref(volume) else {
        update_volume_phase(ctx, volume, "Available", "").await?;
        return Ok(Action::await_change());
    };
    if r.uid.as_deref().unwrap_or("").is_empty() {
        // Pre-bound by the user to a claim: Available until the claim sync binds it.
        update_volume_phase(ctx, volume, "Available", "").await?;
        return Ok(Action::await_change());
    }
    let Some(claim) = claim_of_volume(ctx, r).await? else {
        let volume = if matches!(volume_phase(volume), "Released" | "Failed") {
            volume.clone()
        } else {
            update_volume_phase(ctx, volume, "Released", "").await?
        };
        return reclaim_volume(ctx, &volume).await;
    };
    let volume_name = name_of(&volume.metadata);
    let claim_volume = claim_volume_name(&claim);
    if claim_volume.is_empty() {
        if volume_mode_mismatch(&claim, volume) {
            let claim_name = name_of(&claim.metadata);
            ctx.recorder.warning(
                &reference(volume),
                "VolumeMismatch",
                format!("Cannot bind PersistentVolume to requested PersistentVolumeClaim {claim_name:?} due to incompatible volumeMode."),
            );
            ctx.recorder.warning(
                &reference(&claim),
                "VolumeMismatch",
                format!("Cannot bind PersistentVolume {volume_name:?} to requested PersistentVolumeClaim due to incompatible volumeMode."),
            );
            return Ok(Action::await_change());
        }
        // The binding is not complete: the claim sync finishes it.
        ctx.claim_queue.add_obj(&claim);
        return Ok(Action::await_change());
    }
    if claim_volume == volume_name {
        update_volume_phase(ctx, volume, "Bound", "").await?;
        return Ok(Action::await_change());
    }
    // The claim is bound to another volume.
    if has_annotation(&volume.metadata, ANN_DYNAMICALLY_PROVISIONED) && reclaim_policy(volume) == "Delete" {
        let volume = if matches!(volume_phase(volume), "Released" | "Failed") {
            volume.clone()
        } else {
            update_volume_phase(ctx, volume, "Released", "").await?
        };
        return reclaim_volume(ctx, &volume).await;
    }
    unbind_volume(ctx, volume).await?;
    Ok(Action::await_change())
}

/// Upstream `unbindVolume`: a controller binding is dropped, a user's pre-binding kept
/// without its UID; the volume is Available again.
async fn unbind_volume(ctx: &Ctx, volume: &PersistentVolume) -> Result<()> {
    let mut v = volume.clone();
    let spec = v.spec.get_or_insert_with(Default::default);
    if has_annotation(&volume.metadata, ANN_BOUND_BY_CONTROLLER) {
        spec.claim_ref = None;
    } else if let Some(r) = spec.claim_ref.as_mut() {
        r.uid = None;
    }
    if let Some(a) = v.metadata.annotations.as_mut() {
        a.remove(ANN_BOUND_BY_CONTROLLER);
    }
    let v = volumes_api(ctx).replace(name_of(&volume.metadata), &PostParams::default(), &v).await?;
    update_volume_phase(ctx, &v, "Available", "").await?;
    Ok(())
}

fn reclaim_policy(volume: &PersistentVolume) -> &str {
    volume.spec.as_ref().and_then(|s| s.persistent_volume_reclaim_policy.as_deref()).unwrap_or("Retain")
}

/// Upstream `reclaimVolume` for a Released volume.
async fn reclaim_volume(ctx: &Ctx, volume: &PersistentVolume) -> Result<Action> {
    if volume.metadata.annotations.as_ref().is_some_and(|a| a.get("pv.kubernetes.io/migrated-to").is_some_and(|m| !m.is_empty())) {
        return Ok(Action::await_change());
    }
    match reclaim_policy(volume) {
        "Retain" => {}
        "Recycle" => {
            // No recycler plugins (the recycler pod is deprecated upstream).
            if volume_phase(volume) != "Failed" {
                update_volume_phase_with_event(ctx, volume, "Failed", WARNING, "VolumeFailedRecycle", "No recycler plugin found for the volume!").await?;
            }
        }
        "Delete" => {
            if volume_phase(volume) == "Released" {
                delete_volume(ctx, volume).await?;
            }
        }
        _ => {
            update_volume_phase_with_event(ctx, volume, "Failed", WARNING, "VolumeUnknownReclaimPolicy", "Volume has unrecognized PersistentVolumeReclaimPolicy").await?;
        }
    }
    Ok(Action::await_change())
}

/// Upstream `deleteVolumeOperation`: volumes of an external provisioner are left to it; a
/// hostPath under /tmp is removed (upstream's hostPath deleter); anything else has no
/// deleter plugin and the volume becomes Failed with the plugin lookup's error.
async fn delete_volume(ctx: &Ctx, volume: &PersistentVolume) -> Result<()> {
    let name = name_of(&volume.metadata);
    let provisioned_by = volume.metadata.annotations.as_ref().and_then(|a| a.get(ANN_DYNAMICALLY_PROVISIONED)).cloned().unwrap_or_default();
    if !provisioned_by.is_empty() && !provisioned_by.starts_with("kubernetes.io/") {
        return Ok(());
    }
    let outcome = match volume.spec.as_ref().and_then(|s| s.host_path.as_ref()) {
        Some(h) if host_path_deletable(&h.path) => std::fs::remove_dir_all(&h.path).or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) }).map_err(|e| e.to_string()),
        Some(h) => Err(format!("host_path deleter only supports /tmp/.+ but received provided {}", h.path)),
        None => Err(format!("error getting deleter volume plugin for volume {name:?}: no deletable volume plugin matched")),
    };
    match outcome {
        Ok(()) => {
            match volumes_api(ctx).delete(name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) => {
                    let e = Error::from(e);
                    if !e.is_not_found() {
                        return Err(e);
                    }
                }
            }
            Ok(())
        }
        Err(message) => update_volume_phase_with_event(ctx, volume, "Failed", WARNING, "VolumeFailedDelete", &message).await,
    }
}
