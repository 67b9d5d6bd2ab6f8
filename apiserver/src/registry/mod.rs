//! The ONE generic registry store: create, get, list, update, delete and watch for every
//! resource, over any [`Storage`] backend, with the resource's [`Strategy`] plugged in.
//!
//! Objects are JSON values. The stored bytes carry no resourceVersion: it is set from the
//! storage revision on every read, as upstream's etcd3 store does.

pub mod cacher;
pub mod meta;
pub mod rest;
pub mod watch;

use std::sync::Arc;

use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};
use crate::resources::ResourceInfo;
use crate::storage::{DynStorage, KeyValue, ListOptions, Revision, StorageError};

/// How many times a read-modify-write retries after losing a race.
const MAX_RETRIES: usize = 16;

/// Decoded list parameters.
#[derive(Clone, Debug, Default)]
pub struct ListParams {
    /// Maximum items per page (0 = all).
    pub limit: usize,
    /// Continue token from a previous page.
    pub continue_token: Option<String>,
    /// Snapshot revision to read at (`None` = latest).
    pub revision: Option<Revision>,
}

/// One page of a list.
#[derive(Debug)]
pub struct ListPage {
    /// The objects, resourceVersion set.
    pub items: Vec<Value>,
    /// Revision of the snapshot.
    pub revision: Revision,
    /// Token for the next page, if any.
    pub continue_token: Option<String>,
    /// Remaining items after this page, when known.
    pub remaining: Option<u64>,
}

/// The generic store shared by every resource.
#[derive(Clone)]
pub struct Store {
    storage: DynStorage,
    /// Service address ranges: a Service update allocates and frees addresses with its
    /// write, as upstream's Service REST storage does.
    service_config: Option<std::sync::Arc<crate::allocator::ServiceConfig>>,
}

/// Parses stored bytes into an object and stamps its resourceVersion.
pub fn decode(kv: &KeyValue) -> ApiResult<Value> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("corrupt object at {}: {e}", kv.key)))?;
    meta::set_resource_version(&mut obj, kv.mod_revision);
    Ok(obj)
}

/// Parses stored bytes into an object of `info`'s form (converting shared storage).
pub fn decode_as(info: &ResourceInfo, kv: &KeyValue) -> ApiResult<Value> {
    let obj = decode(kv)?;
    Ok(if info.storage_alias.is_some() { info.from_storage(obj) } else { obj })
}

/// Serializes an object for storage, without its resourceVersion.
pub fn encode(obj: &Value) -> Vec<u8> {
    let mut copy = obj.clone();
    if let Some(m) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    serde_json::to_vec(&copy).unwrap_or_default()
}

impl Store {
    /// A store over one backend.
    pub fn new(storage: DynStorage) -> Self {
        Store { storage, service_config: None }
    }

    /// This store, allocating Service addresses from `cfg` on updates.
    pub fn with_service_config(mut self, cfg: crate::allocator::ServiceConfig) -> Self {
        self.service_config = Some(std::sync::Arc::new(cfg));
        self
    }

    /// The Service address ranges, when this store allocates them.
    pub fn service_config(&self) -> Option<&crate::allocator::ServiceConfig> {
        self.service_config.as_deref()
    }

    /// The backend, for watches and allocators.
    pub fn storage(&self) -> &DynStorage {
        &self.storage
    }

    /// Reads one object.
    pub async fn get(&self, info: &ResourceInfo, ns: Option<&str>, name: &str) -> ApiResult<Value> {
        match self.storage.get(&info.key(ns, name)).await {
            Ok(Some(kv)) => decode_as(info, &kv),
            Ok(None) => Err(ApiError::not_found(info, name)),
            Err(e) => Err(ApiError::from_storage(info, name, e)),
        }
    }

    /// Reads one page of objects under a namespace (or all).
    pub async fn list(&self, info: &ResourceInfo, ns: Option<&str>, params: &ListParams) -> ApiResult<ListPage> {
        let prefix = info.list_prefix(ns);
        let (start_key, revision) = match &params.continue_token {
            Some(tok) => {
                let (key, rev) = decode_continue(tok)?;
                if !key.starts_with(&prefix) {
                    return Err(ApiError::bad_request("continue key is not valid for this list"));
                }
                (Some(key), Some(rev))
            }
            None => (None, params.revision),
        };
        let opts = ListOptions {
            revision,
            limit: if params.limit == 0 { None } else { Some(params.limit) },
            start_key,
        };
        let res = self.storage.list(&prefix, &opts).await.map_err(|e| match e {
            StorageError::Compacted { requested, .. } if params.continue_token.is_some() => ApiError::expired(format!(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list. (revision {requested})"
            )),
            other => ApiError::from_storage(info, "", other),
        })?;
        let continue_token = match (res.more, res.items.last()) {
            (true, Some(last)) => Some(encode_continue(&format!("{}\u{0}", last.key), res.revision)),
            _ => None,
        };
        let items = res.items.iter().map(|kv| decode_as(info, kv)).collect::<ApiResult<Vec<_>>>()?;
        Ok(ListPage { items, revision: res.revision, continue_token, remaining: res.remaining })
    }

    /// Stores a new object (already defaulted and validated).
    pub async fn create(&self, info: &ResourceInfo, obj: Value) -> ApiResult<Value> {
        let (ns, name) = meta::namespace_and_name(&obj);
        let kv = self
            .storage
            .create(&info.key(ns.as_deref(), &name), encode(&info.to_storage(obj.clone())))
            .await
            .map_err(|e| ApiError::from_storage(info, &name, e))?;
        let mut out = obj;
        meta::set_resource_version(&mut out, kv.mod_revision);
        Ok(out)
    }

    /// Writes `obj` over the stored object if it still has `expected` revision.
    pub async fn replace(&self, info: &ResourceInfo, obj: Value, expected: Revision) -> ApiResult<Value> {
        let (ns, name) = meta::namespace_and_name(&obj);
        let kv = self
            .storage
            .update(&info.key(ns.as_deref(), &name), encode(&info.to_storage(obj.clone())), expected)
            .await
            .map_err(|e| ApiError::from_storage(info, &name, e))?;
        let mut out = obj;
        meta::set_resource_version(&mut out, kv.mod_revision);
        Ok(out)
    }

    /// Removes an object if it still has `expected` revision (when given). Returns the last
    /// state with the deletion's resourceVersion.
    pub async fn remove(&self, info: &ResourceInfo, ns: Option<&str>, name: &str, expected: Option<Revision>) -> ApiResult<Value> {
        let kv = self
            .storage
            .delete(&info.key(ns, name), expected)
            .await
            .map_err(|e| ApiError::from_storage(info, name, e))?;
        decode_as(info, &kv)
    }

    /// Read-modify-write with retries (upstream's GuaranteedUpdate): `update` gets the
    /// current object and returns the new one, or `None` to leave it unchanged.
    pub async fn guaranteed_update<F>(&self, info: &ResourceInfo, ns: Option<&str>, name: &str, mut update: F) -> ApiResult<Value>
    where
        F: FnMut(Value) -> ApiResult<Option<Value>>,
    {
        for _ in 0..MAX_RETRIES {
            let current = self.get(info, ns, name).await?;
            let rev = meta::resource_version(&current).unwrap_or(0);
            let Some(new) = update(current.clone())? else {
                return Ok(current);
            };
            match self.replace(info, new, rev).await {
                Err(e) if e.reason == "Conflict" => continue,
                other => return other,
            }
        }
        Err(ApiError::stale(info, name))
    }

    /// The latest revision of the store.
    pub async fn current_revision(&self) -> ApiResult<Revision> {
        self.storage.current_revision().await.map_err(|e| ApiError::internal(e.to_string()))
    }
}

/// Builds an opaque continue token from the next key and the snapshot revision.
pub fn encode_continue(next_key: &str, rev: Revision) -> String {
    use base64::Engine;
    let raw = json!({ "v": "meta.k8s.io/v1", "rv": rev, "start": next_key }).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Parses a continue token.
pub fn decode_continue(token: &str) -> ApiResult<(String, Revision)> {
    use base64::Engine;
    let bad = || ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let key = v.get("start").and_then(Value::as_str).ok_or_else(bad)?.to_string();
    let rev = v.get("rv").and_then(Value::as_u64).ok_or_else(bad)?;
    Ok((key, rev))
}

/// Shared handle.
pub type SharedStore = Arc<Store>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_token_round_trips() {
        let t = encode_continue("/registry/core/pods/default/a\u{0}", 42);
        assert_eq!(decode_continue(&t).unwrap(), ("/registry/core/pods/default/a\u{0}".to_string(), 42));
        assert!(decode_continue("!!").is_err());
    }
}
