//! Ownership helpers, as upstream's `ControllerRefManager`: who controls an object, the
//! controller reference a controller stamps on what it creates, and claiming (adopting
//! matching orphans, releasing owned objects that stopped matching).

use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams};
use kube::Resource;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::errors::{Error, Result};

/// The owner reference with `controller: true`, if any (upstream `GetControllerOf`).
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.as_deref().unwrap_or_default().iter().find(|r| r.controller == Some(true))
}

/// Whether `meta`'s controller is the object with this UID (upstream `IsControlledBy`).
pub fn is_controlled_by(meta: &ObjectMeta, owner_uid: &str) -> bool {
    controller_of(meta).is_some_and(|r| r.uid == owner_uid)
}

/// The controller reference `owner` puts on what it creates (upstream `NewControllerRef`):
/// controller and blockOwnerDeletion both true.
pub fn new_controller_ref<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    let meta = owner.meta();
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// What claiming decides for one candidate object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Already ours and still matching.
    Owned,
    /// Not ours to touch (another controller's, or not matching, or being deleted).
    Ignore,
    /// An orphan that matches: take it.
    Adopt,
    /// Ours but no longer matching: let it go.
    Release,
}

/// The facts about the owner that claiming looks at.
#[derive(Debug, Clone)]
pub struct Owner<'a> {
    /// The owner's UID.
    pub uid: &'a str,
    /// The owner's namespace.
    pub namespace: &'a str,
    /// Whether the owner has a deletionTimestamp.
    pub deleting: bool,
}

/// Upstream `BaseControllerRefManager.ClaimObject`'s decision, without the API calls.
pub fn decide(obj: &ObjectMeta, owner: &Owner<'_>, matches: bool) -> Claim {
    if let Some(r) = controller_of(obj) {
        if r.uid != owner.uid {
            return Claim::Ignore;
        }
        if matches {
            return Claim::Owned;
        }
        return if owner.deleting { Claim::Ignore } else { Claim::Release };
    }
    if owner.deleting || !matches || obj.deletion_timestamp.is_some() {
        return Claim::Ignore;
    }
    if obj.namespace.as_deref().unwrap_or("") != owner.namespace {
        return Claim::Ignore;
    }
    Claim::Adopt
}

/// Adds `controller_ref` to the object's ownerReferences with a strategic merge patch that
/// also carries the object's UID (upstream `AdoptPod`/`AdoptReplicaSet`).
pub async fn adopt<K>(api: &Api<K>, obj: &ObjectMeta, controller_ref: &OwnerReference) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let patch = json!({"metadata": {"ownerReferences": [controller_ref], "uid": obj.uid}});
    let name = obj.name.as_deref().unwrap_or_default();
    api.patch(name, &PatchParams::default(), &Patch::Strategic(patch)).await?;
    Ok(())
}

/// Removes the reference to `owner_uid` from the object's ownerReferences (upstream
/// `ReleasePod`); a missing object is fine.
pub async fn release<K>(api: &Api<K>, obj: &ObjectMeta, owner_uid: &str) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let patch = json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}], "uid": obj.uid}});
    let name = obj.name.as_deref().unwrap_or_default();
    match api.patch(name, &PatchParams::default(), &Patch::Strategic(patch)).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = Error::from(e);
            if e.is_not_found() || e.status().is_some_and(|s| s.code == 422) {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

/// Claims `candidates` for an owner: returns the ones it owns after adopting and releasing.
/// `can_adopt` runs (at most once) before the first adoption, as upstream's
/// `RecheckDeletionTimestamp` does with a fresh read of the owner.
pub async fn claim<K, F, Fut>(
    api: &Api<K>,
    owner: &Owner<'_>,
    controller_ref: &OwnerReference,
    candidates: Vec<Arc<K>>,
    matches: impl Fn(&K) -> bool,
    can_adopt: F,
) -> Result<Vec<Arc<K>>>
where
    K: Resource + Clone + DeserializeOwned + Debug,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut can_adopt = Some(can_adopt);
    let mut adopt_allowed: Option<bool> = None;
    let mut claimed = Vec::new();
    let mut errors = Vec::new();
    for obj in candidates {
        match decide(obj.meta(), owner, matches(&obj)) {
            Claim::Owned => claimed.push(obj),
            Claim::Ignore => {}
            Claim::Release => {
                if let Err(e) = release(api, obj.meta(), owner.uid).await {
                    errors.push(e);
                }
            }
            Claim::Adopt => {
                if adopt_allowed.is_none() {
                    let check = can_adopt.take().expect("can_adopt runs once");
                    match check().await {
                        Ok(()) => adopt_allowed = Some(true),
                        Err(e) => {
                            adopt_allowed = Some(false);
                            errors.push(e);
                        }
                    }
                }
                if adopt_allowed != Some(true) {
                    continue;
                }
                match adopt(api, obj.meta(), controller_ref).await {
                    Ok(()) => claimed.push(obj),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => errors.push(e),
                }
            }
        }
    }
    crate::errors::aggregate(errors)?;
    Ok(claimed)
}

/// Upstream `RecheckDeletionTimestamp`: the owner read fresh from the apiserver must be the
/// same object (same UID) and not being deleted.
pub async fn recheck_owner<K>(api: &Api<K>, name: &str, uid: &str) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let fresh = api.get(name).await?;
    let meta = fresh.meta();
    if meta.uid.as_deref() != Some(uid) {
        return Err(Error::Retry(format!("original {name} is gone: got uid {:?}, wanted {uid}", meta.uid)));
    }
    if let Some(ts) = &meta.deletion_timestamp {
        return Err(Error::Retry(format!("{name} has just been deleted at {}", ts.0)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(owner: Option<(&str, bool)>, ns: &str) -> ObjectMeta {
        ObjectMeta {
            namespace: Some(ns.into()),
            owner_references: owner.map(|(uid, controller)| vec![OwnerReference { uid: uid.into(), controller: Some(controller), ..Default::default() }]),
            ..Default::default()
        }
    }

    #[test]
    fn claim_decisions_follow_upstream() {
        let me = Owner { uid: "me", namespace: "ns", deleting: false };
        let dying = Owner { deleting: true, ..me.clone() };
        assert_eq!(decide(&meta(Some(("me", true)), "ns"), &me, true), Claim::Owned);
        assert_eq!(decide(&meta(Some(("me", true)), "ns"), &me, false), Claim::Release);
        assert_eq!(decide(&meta(Some(("me", true)), "ns"), &dying, false), Claim::Ignore);
        assert_eq!(decide(&meta(Some(("other", true)), "ns"), &me, true), Claim::Ignore);
        assert_eq!(decide(&meta(None, "ns"), &me, true), Claim::Adopt);
        assert_eq!(decide(&meta(Some(("me", false)), "ns"), &me, true), Claim::Adopt, "a non-controller ref is an orphan");
        assert_eq!(decide(&meta(None, "ns"), &me, false), Claim::Ignore);
        assert_eq!(decide(&meta(None, "ns"), &dying, true), Claim::Ignore);
        assert_eq!(decide(&meta(None, "other"), &me, true), Claim::Ignore);
        let mut deleting = meta(None, "ns");
        deleting.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(decide(&deleting, &me, true), Claim::Ignore);
    }

    #[test]
    fn controller_ref_blocks_owner_deletion() {
        let mut rs = k8s_openapi::api::apps::v1::ReplicaSet::default();
        rs.metadata.name = Some("web".into());
        rs.metadata.uid = Some("u".into());
        let r = new_controller_ref(&rs);
        assert_eq!((r.api_version.as_str(), r.kind.as_str(), r.name.as_str(), r.uid.as_str()), ("apps/v1", "ReplicaSet", "web", "u"));
        assert_eq!((r.controller, r.block_owner_deletion), (Some(true), Some(true)));
    }
}
