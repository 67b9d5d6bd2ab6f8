//! The write flows every resource shares (upstream's generic Store.Create/Update/Delete):
//! system fields, status split, strategy defaulting and validation, finalizers and
//! graceful deletion. Handlers decode a request and call these.

use serde_json::{json, Value};

use super::meta;
use super::Store;
use crate::errors::{ApiError, ApiResult};
use crate::resources::ResourceInfo;
use crate::storage::Revision;

/// Options common to writes.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: run every step but the storage write.
    pub dry_run: bool,
    /// The write goes through the status subresource: the strategy's status preparation
    /// runs instead of the main one (no generation bump for metadata changes).
    pub status: bool,
    /// The write goes through pods/ephemeralcontainers: only the ephemeral containers
    /// change, validated by the pod's ephemeral-container update rules.
    pub ephemeral_containers: bool,
}

impl WriteOptions {
    /// These options for a write to `subresource` (None: the main resource).
    pub fn on(&self, subresource: Option<&str>) -> WriteOptions {
        WriteOptions { status: subresource == Some("status"), ephemeral_containers: subresource == Some("ephemeralcontainers"), ..self.clone() }
    }
}

/// Options of a delete (metav1.DeleteOptions).
#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `propagationPolicy`: Orphan, Background or Foreground.
    pub propagation: Option<String>,
    /// `gracePeriodSeconds`.
    pub grace_period: Option<i64>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

/// What a delete did.
#[derive(Debug)]
pub enum Deleted {
    /// The object is gone; its last state.
    Now(Value),
    /// Deletion started (finalizers or grace period pending); the current state.
    Pending(Value),
}

/// Checks that the body's apiVersion/kind (when set) name this resource, and fills them.
pub fn check_type(info: &ResourceInfo, obj: &mut Value) -> ApiResult<()> {
    if !obj.is_object() {
        return Err(ApiError::bad_request("the body of the request must be a JSON object"));
    }
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if (!kind.is_empty() && kind != info.kind) || (!api_version.is_empty() && api_version != info.api_version()) {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({}) does not match the expected API version ({})",
            api_version,
            info.api_version()
        ))
        .with_kind_mismatch(kind, &info.kind));
    }
    obj["apiVersion"] = json!(info.api_version());
    obj["kind"] = json!(info.kind);
    Ok(())
}

impl ApiError {
    fn with_kind_mismatch(self, got: &str, want: &str) -> Self {
        if !got.is_empty() && got != want {
            ApiError::bad_request(format!("the kind in the data ({got}) does not match the expected kind ({want})"))
        } else {
            self
        }
    }
}

/// Places the object in the request's namespace (or rejects a mismatch).
pub fn check_namespace(info: &ResourceInfo, obj: &mut Value, ns: Option<&str>) -> ApiResult<()> {
    let body_ns = meta::meta_str(obj, "namespace").unwrap_or("").to_string();
    match (info.namespaced, ns) {
        (true, Some(ns)) => {
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            meta::meta_mut(obj).insert("namespace".into(), json!(ns));
        }
        (true, None) => return Err(ApiError::bad_request("the namespace of the object must be set")),
        (false, _) => {
            meta::meta_mut(obj).remove("namespace");
        }
    }
    Ok(())
}

fn validate(info: &ResourceInfo, obj: &Value, old: Option<&Value>) -> ApiResult<()> {
    let mut errs = crate::validation::validate_meta(info, obj, old);
    errs.extend(info.strategy.validate(obj));
    match old {
        Some(old) => errs.extend(info.strategy.validate_update(obj, old)),
        None => errs.extend(info.strategy.validate_create(obj)),
    }
    finish_validation(info, obj, errs)
}

fn finish_validation(info: &ResourceInfo, obj: &Value, errs: Vec<rkube_apimachinery::validation::FieldError>) -> ApiResult<()> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(info, meta::meta_str(obj, "name").unwrap_or(""), &errs))
    }
}

/// Creates an object: names it, stamps system fields, defaults, validates, stores.
pub async fn create(store: &Store, info: &ResourceInfo, ns: Option<&str>, mut obj: Value, opts: &WriteOptions) -> ApiResult<Value> {
    check_type(info, &mut obj)?;
    check_namespace(info, &mut obj, ns)?;
    if meta::meta_str(&obj, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
        return Err(ApiError::bad_request("resourceVersion should not be set on objects to be created"));
    }
    if meta::meta_str(&obj, "name").unwrap_or("").is_empty() {
        if let Some(prefix) = meta::meta_str(&obj, "generateName").map(str::to_string) {
            if !prefix.is_empty() {
                meta::meta_mut(&mut obj).insert("name".into(), json!(meta::generate_name(&prefix)));
            }
        }
    }
    meta::stamp_create(&mut obj);
    if info.status_subresource && info.strategy.reset_status_on_create() {
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    info.strategy.default(&mut obj);
    info.strategy.prepare_for_create(&mut obj);
    validate(info, &obj, None)?;
    if opts.dry_run {
        return Ok(obj);
    }
    store.create(info, obj).await
}

/// Replaces an object (PUT), on the main resource or its status subresource.
pub async fn update(
    store: &Store,
    info: &ResourceInfo,
    ns: Option<&str>,
    name: &str,
    mut obj: Value,
    subresource: Option<&str>,
    opts: &WriteOptions,
) -> ApiResult<Value> {
    check_type(info, &mut obj)?;
    check_namespace(info, &mut obj, ns)?;
    let body_name = meta::meta_str(&obj, "name").unwrap_or("").to_string();
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let wanted_rv = meta::resource_version(&obj);
    if meta::meta_str(&obj, "resourceVersion").is_some_and(|s| !s.is_empty()) && wanted_rv.is_none() {
        return Err(ApiError::bad_request("resourceVersion: Invalid value: must be an integer"));
    }
    for _ in 0..16 {
        let current = store.get(info, ns, name).await?;
        let current_rv = meta::resource_version(&current).unwrap_or(0);
        if wanted_rv.is_some_and(|rv| rv != current_rv) {
            return Err(ApiError::stale(info, name));
        }
        let new = merge_for_update(info, obj.clone(), &current, subresource);
        match write_update(store, info, new, &current, current_rv, &opts.on(subresource)).await {
            Err(e) if e.reason == "Conflict" && wanted_rv.is_none() => continue,
            other => return other,
        }
    }
    Err(ApiError::stale(info, name))
}

/// Metadata a status write may change, as upstream's status strategies allow (controllers
/// record e.g. the Deployment revision annotation through UpdateStatus); labels and owner
/// references stay as stored.
const STATUS_WRITABLE_METADATA: &[&str] = &["annotations", "finalizers", "managedFields"];

/// Applies the status split: the main resource keeps the stored status, the status
/// subresource keeps the stored spec and most metadata.
pub fn merge_for_update(info: &ResourceInfo, obj: Value, current: &Value, subresource: Option<&str>) -> Value {
    match subresource {
        Some("status") => {
            let mut new = current.clone();
            match obj.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            let m = meta::meta_mut(&mut new);
            for field in STATUS_WRITABLE_METADATA {
                match obj.pointer(&format!("/metadata/{field}")) {
                    Some(v) => m.insert((*field).into(), v.clone()),
                    None => m.remove(*field),
                };
            }
            new
        }
        Some("ephemeralcontainers") => {
            // Upstream `dropNonEphemeralContainerUpdates`: everything but
            // spec.ephemeralContainers stays as stored.
            let mut new = current.clone();
            match (obj.pointer("/spec/ephemeralContainers"), new.get_mut("spec").and_then(Value::as_object_mut)) {
                (Some(list), Some(spec)) => {
                    spec.insert("ephemeralContainers".into(), list.clone());
                }
                (None, Some(spec)) => {
                    spec.remove("ephemeralContainers");
                }
                _ => {}
            }
            new
        }
        _ if info.status_subresource => {
            let mut new = obj;
            match current.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            new
        }
        _ => obj,
    }
}

/// The shared tail of update and patch: system fields, strategy, validation, CAS write,
/// and removal once the last finalizer is gone.
pub async fn write_update(
    store: &Store,
    info: &ResourceInfo,
    mut new: Value,
    current: &Value,
    current_rv: Revision,
    opts: &WriteOptions,
) -> ApiResult<Value> {
    // Defaults first, so that a body that omits defaulted fields does not count as a change.
    info.strategy.default(&mut new);
    meta::carry_update(&mut new, current);
    if opts.status {
        info.strategy.prepare_for_status_update(&mut new, current);
    } else {
        info.strategy.prepare_for_update(&mut new, current);
    }
    // Service addresses come before validation, which requires them (dry runs give them back).
    let realloc = reallocate(store, info, &mut new, current).await?.unwrap_or_default();
    let out = validate_and_write(store, info, new, current, current_rv, opts).await;
    let storage = store.storage();
    match &out {
        Ok(_) if !opts.dry_run => crate::allocator::release(storage, &realloc.freed).await,
        _ => crate::allocator::release(storage, &realloc.taken).await,
    }
    out
}

async fn validate_and_write(store: &Store, info: &ResourceInfo, mut new: Value, current: &Value, current_rv: Revision, opts: &WriteOptions) -> ApiResult<Value> {
    if opts.ephemeral_containers {
        // Upstream `podEphemeralContainersStrategy.ValidateUpdate`.
        let mut errs = crate::validation::validate_meta(info, &new, Some(current));
        errs.extend(info.strategy.validate(&new));
        errs.extend(crate::resources::core::ephemeral_containers::validate_update(&new, current));
        finish_validation(info, &new, errs)?;
    } else {
        validate(info, &new, Some(current))?;
    }
    meta::set_resource_version(&mut new, current_rv);
    if new == *current || opts.dry_run {
        return Ok(new);
    }
    replace_or_remove(store, info, new, current_rv).await
}

/// Service addresses the update newly needs (allocated now) and lets go (to free after the
/// write); `None` for every other resource.
async fn reallocate(store: &Store, info: &ResourceInfo, new: &mut Value, current: &Value) -> ApiResult<Option<crate::allocator::Reallocation>> {
    let (Some(cfg), true) = (store.service_config(), info.group.is_empty() && info.plural == "services") else {
        return Ok(None);
    };
    let name = meta::meta_str(new, "name").unwrap_or("").to_string();
    let realloc = crate::allocator::reallocate_service(store.storage(), cfg, new, current).await.map_err(|errs| ApiError::invalid(info, &name, &errs))?;
    Ok(Some(realloc))
}

async fn replace_or_remove(store: &Store, info: &ResourceInfo, new: Value, current_rv: Revision) -> ApiResult<Value> {
    if ready_to_remove(info, &new) {
        let (ns, name) = meta::namespace_and_name(&new);
        let mut gone = store.remove(info, ns.as_deref(), &name, Some(current_rv)).await?;
        // The DELETED object reflects the write that emptied the finalizers.
        meta::set_finalizers(&mut gone, &meta::finalizers(&new));
        return Ok(gone);
    }
    store.replace(info, new, current_rv).await
}

/// True when a deleting object has nothing left holding it.
fn ready_to_remove(info: &ResourceInfo, obj: &Value) -> bool {
    if !meta::is_deleting(obj) || !meta::finalizers(obj).is_empty() {
        return false;
    }
    if info.group.is_empty() && info.plural == "namespaces" {
        return obj.pointer("/spec/finalizers").and_then(Value::as_array).is_none_or(|a| a.is_empty());
    }
    obj.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(0) == 0
}

/// Deletes an object, honouring preconditions, propagation finalizers, graceful pod
/// deletion and namespace finalization.
pub async fn delete(store: &Store, info: &ResourceInfo, ns: Option<&str>, name: &str, opts: &DeleteOptions) -> ApiResult<Deleted> {
    for _ in 0..16 {
        let current = store.get(info, ns, name).await?;
        check_preconditions(info, name, &current, opts)?;
        let rev = meta::resource_version(&current).unwrap_or(0);
        let Some(pending) = deletion_state(info, &current, opts) else {
            if opts.dry_run {
                return Ok(Deleted::Now(current));
            }
            return match store.remove(info, ns, name, Some(rev)).await {
                Err(e) if e.reason == "Conflict" => continue,
                Err(e) => Err(e),
                Ok(gone) => Ok(Deleted::Now(gone)),
            };
        };
        if pending == current || opts.dry_run {
            return Ok(Deleted::Pending(pending));
        }
        match store.replace(info, pending, rev).await {
            Err(e) if e.reason == "Conflict" => continue,
            Err(e) => return Err(e),
            Ok(obj) => return Ok(Deleted::Pending(obj)),
        }
    }
    Err(ApiError::stale(info, name))
}

fn check_preconditions(info: &ResourceInfo, name: &str, current: &Value, opts: &DeleteOptions) -> ApiResult<()> {
    if let Some(uid) = &opts.uid {
        let actual = meta::meta_str(current, "uid").unwrap_or("");
        if uid != actual {
            return Err(ApiError::conflict(
                info,
                name,
                &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"),
            ));
        }
    }
    if let Some(rv) = &opts.resource_version {
        let actual = meta::meta_str(current, "resourceVersion").unwrap_or("");
        if rv != actual {
            return Err(ApiError::conflict(
                info,
                name,
                &format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"),
            ));
        }
    }
    Ok(())
}

/// The object as it should look while its deletion is pending, or `None` when it can be
/// removed right away.
fn deletion_state(info: &ResourceInfo, current: &Value, opts: &DeleteOptions) -> Option<Value> {
    let mut obj = current.clone();
    if info.group.is_empty() && info.plural == "namespaces" {
        return namespace_deletion(obj);
    }
    let grace = pod_grace_period(info, current, opts);
    let mut finalizers = meta::finalizers(current);
    let wanted = match opts.propagation.as_deref() {
        Some("Foreground") => Some(("foregroundDeletion", "orphan")),
        Some("Orphan") => Some(("orphan", "foregroundDeletion")),
        Some("Background") => None,
        _ => None,
    };
    if let Some((add, remove)) = wanted {
        finalizers.retain(|f| f != remove);
        if !finalizers.iter().any(|f| f == add) {
            finalizers.push(add.to_string());
        }
    } else if opts.propagation.as_deref() == Some("Background") {
        finalizers.retain(|f| f != "orphan" && f != "foregroundDeletion");
    }
    if finalizers.is_empty() && grace == 0 {
        return None;
    }
    if !meta::is_deleting(current) || grace_shortened(current, grace) {
        let at = chrono::Utc::now() + chrono::Duration::seconds(grace);
        let m = meta::meta_mut(&mut obj);
        m.insert("deletionTimestamp".into(), json!(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
        m.insert("deletionGracePeriodSeconds".into(), json!(grace));
    }
    if meta::is_deleting(current) && grace == 0 && finalizers.is_empty() {
        return None;
    }
    meta::set_finalizers(&mut obj, &finalizers);
    Some(obj)
}

fn grace_shortened(current: &Value, grace: i64) -> bool {
    current
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|g| grace < g)
}

/// Pods bound to a node are deleted gracefully (the kubelet finishes the job); anything
/// else is deleted at once.
fn pod_grace_period(info: &ResourceInfo, pod: &Value, opts: &DeleteOptions) -> i64 {
    if !(info.group.is_empty() && info.plural == "pods") {
        return 0;
    }
    let scheduled = pod.pointer("/spec/nodeName").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    let finished = matches!(pod.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed"));
    if !scheduled || finished {
        return 0;
    }
    let default = pod.pointer("/spec/terminationGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(30);
    let grace = opts.grace_period.unwrap_or(default).max(0);
    // Upstream turns a 0 request into 1 s unless forced; a forced delete sends 0 with the
    // expectation of immediate removal, which is what we do.
    grace
}

fn namespace_deletion(mut ns: Value) -> Option<Value> {
    let spec_finalizers_empty =
        ns.pointer("/spec/finalizers").and_then(Value::as_array).is_none_or(|a| a.is_empty());
    if meta::is_deleting(&ns) {
        if spec_finalizers_empty && meta::finalizers(&ns).is_empty() {
            return None;
        }
        return Some(ns);
    }
    meta::meta_mut(&mut ns).insert("deletionTimestamp".into(), json!(meta::now()));
    meta::meta_mut(&mut ns).insert("deletionGracePeriodSeconds".into(), json!(0));
    if spec_finalizers_empty {
        ns["spec"]["finalizers"] = json!(["kubernetes"]);
    }
    ns["status"]["phase"] = json!("Terminating");
    Some(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployments() -> ResourceInfo {
        crate::resources::builtin().into_iter().find(|i| i.group == "apps" && i.plural == "deployments").expect("deployments")
    }

    #[test]
    fn status_writes_keep_spec_and_labels_but_take_annotations() {
        let current = json!({"metadata": {"name": "d", "labels": {"a": "1"}, "annotations": {"x": "1"}}, "spec": {"replicas": 1}, "status": {"replicas": 0}});
        let sent = json!({"metadata": {"name": "d", "labels": {"a": "2"}, "annotations": {"x": "1", "rev": "1"}}, "spec": {"replicas": 9}, "status": {"replicas": 1}});
        let new = merge_for_update(&deployments(), sent.clone(), &current, Some("status"));
        assert_eq!(new["spec"], json!({"replicas": 1}));
        assert_eq!(new["metadata"]["labels"], json!({"a": "1"}));
        assert_eq!(new["metadata"]["annotations"], json!({"x": "1", "rev": "1"}));
        assert_eq!(new["status"], json!({"replicas": 1}));
        let main = merge_for_update(&deployments(), sent, &current, None);
        assert_eq!(main["status"], json!({"replicas": 0}));
        assert_eq!(main["spec"], json!({"replicas": 9}));
    }
}
