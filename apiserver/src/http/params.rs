//! Query parameters of API requests (metav1.ListOptions, CreateOptions, DeleteOptions ...).

use std::collections::HashMap;

use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::registry::rest::{DeleteOptions, WriteOptions};
use crate::storage::Revision;

/// How a list or watch chooses its starting point (`resourceVersion` + `resourceVersionMatch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RvMatch {
    /// "" : the latest, consistent.
    Latest,
    /// "0" : any version is fine (we serve the latest).
    Any,
    /// An exact revision (`resourceVersionMatch=Exact`, or a watch start).
    Exact(Revision),
    /// Not older than the revision (`NotOlderThan`, a list's default with an RV).
    NotOlderThan(Revision),
}

/// List and watch parameters.
#[derive(Clone, Debug)]
pub struct ListQuery {
    /// `labelSelector`.
    pub label_selector: String,
    /// `fieldSelector`.
    pub field_selector: String,
    /// `limit` (0 = all).
    pub limit: usize,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `resourceVersion` + `resourceVersionMatch`.
    pub rv: RvMatch,
    /// `timeoutSeconds`.
    pub timeout_seconds: Option<u64>,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// `includeObject` for tables: None, Metadata (default) or Object.
    pub include_object: String,
}

fn flag(q: &HashMap<String, String>, key: &str) -> bool {
    matches!(q.get(key).map(String::as_str), Some("true" | "1"))
}

fn number<T: std::str::FromStr>(q: &HashMap<String, String>, key: &str) -> ApiResult<Option<T>> {
    match q.get(key).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {s:?}"))),
    }
}

impl ListQuery {
    /// Decodes list/watch parameters.
    pub fn parse(q: &HashMap<String, String>) -> ApiResult<Self> {
        let rv = match (q.get("resourceVersion").map(String::as_str).unwrap_or(""), q.get("resourceVersionMatch").map(String::as_str).unwrap_or("")) {
            ("", "") => RvMatch::Latest,
            ("0", "" | "NotOlderThan") => RvMatch::Any,
            (rv, m) => {
                let rev: Revision = rv.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid resource version: {rv}"))
                })?;
                match m {
                    "Exact" => RvMatch::Exact(rev),
                    "" | "NotOlderThan" => RvMatch::NotOlderThan(rev),
                    other => return Err(ApiError::bad_request(format!("invalid resourceVersionMatch: {other}"))),
                }
            }
        };
        Ok(ListQuery {
            label_selector: q.get("labelSelector").cloned().unwrap_or_default(),
            field_selector: q.get("fieldSelector").cloned().unwrap_or_default(),
            limit: number(q, "limit")?.unwrap_or(0),
            continue_token: q.get("continue").filter(|s| !s.is_empty()).cloned(),
            rv,
            timeout_seconds: number(q, "timeoutSeconds")?,
            bookmarks: flag(q, "allowWatchBookmarks"),
            send_initial_events: q.get("sendInitialEvents").map(|v| v == "true"),
            include_object: q.get("includeObject").cloned().unwrap_or_else(|| "Metadata".into()),
        })
    }
}

/// `dryRun=All`, rejecting other values as upstream.
pub fn dry_run(q: &HashMap<String, String>) -> ApiResult<bool> {
    match q.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid value: \"{other}\": supported values: \"All\""
        ))),
    }
}

/// Write options from the query.
pub fn write_options(q: &HashMap<String, String>) -> ApiResult<WriteOptions> {
    Ok(WriteOptions { dry_run: dry_run(q)?, ..WriteOptions::default() })
}

/// `fieldValidation`: Ignore, Warn (default) or Strict.
pub fn field_validation(q: &HashMap<String, String>) -> ApiResult<String> {
    match q.get("fieldValidation").map(String::as_str).unwrap_or("") {
        "" => Ok("Warn".into()),
        v @ ("Ignore" | "Warn" | "Strict") => Ok(v.into()),
        other => Err(ApiError::bad_request(format!(
            "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
        ))),
    }
}

/// Delete options from the query and an optional DeleteOptions body (the body wins).
pub fn delete_options(q: &HashMap<String, String>, body: Option<&Value>) -> ApiResult<DeleteOptions> {
    let mut o = DeleteOptions {
        grace_period: number(q, "gracePeriodSeconds")?,
        propagation: q.get("propagationPolicy").cloned(),
        dry_run: dry_run(q)?,
        ..Default::default()
    };
    if flag(q, "orphanDependents") {
        o.propagation.get_or_insert_with(|| "Orphan".into());
    }
    if let Some(b) = body {
        if let Some(g) = b.get("gracePeriodSeconds").and_then(Value::as_i64) {
            o.grace_period = Some(g);
        }
        if let Some(p) = b.get("propagationPolicy").and_then(Value::as_str) {
            o.propagation = Some(p.into());
        }
        if b.get("orphanDependents").and_then(Value::as_bool) == Some(true) && o.propagation.is_none() {
            o.propagation = Some("Orphan".into());
        }
        if let Some(pre) = b.get("preconditions") {
            o.uid = pre.get("uid").and_then(Value::as_str).map(str::to_string);
            o.resource_version = pre.get("resourceVersion").and_then(Value::as_str).map(str::to_string);
        }
        if b.get("dryRun").and_then(Value::as_array).is_some_and(|a| a.iter().any(|v| v == "All")) {
            o.dry_run = true;
        }
    }
    if let Some(p) = &o.propagation {
        if !matches!(p.as_str(), "Orphan" | "Background" | "Foreground") {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
            )));
        }
    }
    Ok(o)
}
