//! The one place where failures become Kubernetes `Status` objects (code, reason, message,
//! details), with upstream's wording.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::resources::ResourceInfo;
use crate::storage::StorageError;

/// An API failure, rendered as a `metav1.Status`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Machine-readable reason (`NotFound`, `AlreadyExists`, ...).
    pub reason: &'static str,
    /// Human-readable message, as kubectl prints it.
    pub message: String,
    /// `details` (name, group, kind, causes), if any.
    pub details: Option<Value>,
}

/// Result alias for API operations.
pub type ApiResult<T> = Result<T, ApiError>;

fn details(info: &ResourceInfo, name: &str) -> Value {
    let mut d = json!({ "name": name, "kind": info.plural });
    if !info.group.is_empty() {
        d["group"] = json!(info.group);
    }
    d
}

impl ApiError {
    /// A bare error.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None }
    }

    /// 404 for a missing object.
    pub fn not_found(info: &ResourceInfo, name: &str) -> Self {
        ApiError {
            details: Some(details(info, name)),
            ..Self::new(404, "NotFound", format!("{} \"{}\" not found", info.qualified_plural(), name))
        }
    }

    /// 404 for a path the server does not serve.
    pub fn no_route() -> Self {
        ApiError {
            details: Some(json!({})),
            ..Self::new(404, "NotFound", "the server could not find the requested resource")
        }
    }

    /// 409 for a create of an existing name.
    pub fn already_exists(info: &ResourceInfo, name: &str) -> Self {
        ApiError {
            details: Some(details(info, name)),
            ..Self::new(
                409,
                "AlreadyExists",
                format!("{} \"{}\" already exists", info.qualified_plural(), name),
            )
        }
    }

    /// 409 for an optimistic-concurrency or precondition failure.
    pub fn conflict(info: &ResourceInfo, name: &str, why: &str) -> Self {
        ApiError {
            details: Some(details(info, name)),
            ..Self::new(
                409,
                "Conflict",
                format!("Operation cannot be fulfilled on {} \"{}\": {}", info.qualified_plural(), name, why),
            )
        }
    }

    /// The standard stale-resourceVersion conflict.
    pub fn stale(info: &ResourceInfo, name: &str) -> Self {
        Self::conflict(
            info,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 with field causes, as upstream's `NewInvalid`.
    pub fn invalid(info: &ResourceInfo, name: &str, errs: &[rkube_apimachinery::validation::FieldError]) -> Self {
        let causes: Vec<Value> = errs
            .iter()
            .map(|e| json!({ "reason": e.reason(), "message": e.error_body(), "field": e.field }))
            .collect();
        let body: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let summary = if body.len() == 1 { body[0].clone() } else { format!("[{}]", body.join(", ")) };
        let kind_group = if info.group.is_empty() {
            info.kind.clone()
        } else {
            format!("{}.{}", info.kind, info.group)
        };
        let mut d = json!({ "name": name, "kind": info.kind, "causes": causes });
        if !info.group.is_empty() {
            d["group"] = json!(info.group);
        }
        ApiError {
            details: Some(d),
            ..Self::new(422, "Invalid", format!("{} \"{}\" is invalid: {}", kind_group, name, summary))
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 403 Forbidden on an object.
    pub fn forbidden(info: &ResourceInfo, name: &str, why: &str) -> Self {
        let what = if name.is_empty() {
            info.qualified_plural()
        } else {
            format!("{} \"{}\"", info.qualified_plural(), name)
        };
        ApiError {
            details: Some(details(info, name)),
            ..Self::new(403, "Forbidden", format!("{} is forbidden: {}", what, why))
        }
    }

    /// 405 for a verb the resource does not support.
    pub fn method_not_allowed() -> Self {
        ApiError {
            details: Some(json!({})),
            ..Self::new(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        }
    }

    /// 410 for a resourceVersion older than the kept history.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 413 for an oversized body.
    pub fn too_large(limit: usize) -> Self {
        Self::new(413, "RequestEntityTooLarge", format!("Request entity too large: limit is {limit}"))
    }

    /// 415 for a body in an unsupported format.
    pub fn unsupported_media_type(content_type: &str, accepted: &[&str]) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                if accepted.is_empty() { content_type.to_string() } else { accepted.join(", ") }
            ),
        )
    }

    /// 406 for an Accept the server cannot produce.
    pub fn not_acceptable(accepted: &str) -> Self {
        Self::new(406, "NotAcceptable", format!("only the following media types are accepted: {accepted}"))
    }

    /// 500 for a server-side failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", format!("Internal error occurred: {}", message.into()))
    }

    /// 504 for a resourceVersion the store has not reached.
    pub fn too_large_rv(message: impl Into<String>) -> Self {
        ApiError {
            details: Some(json!({ "causes": [{ "reason": "ResourceVersionTooLarge", "message": "Too large resource version" }], "retryAfterSeconds": 1 })),
            ..Self::new(504, "Timeout", message)
        }
    }

    /// Maps a storage failure for one object.
    pub fn from_storage(info: &ResourceInfo, name: &str, err: StorageError) -> Self {
        match err {
            StorageError::AlreadyExists(_) => Self::already_exists(info, name),
            StorageError::NotFound(_) => Self::not_found(info, name),
            StorageError::Conflict { .. } => Self::stale(info, name),
            StorageError::Compacted { requested, compacted } => {
                Self::expired(format!("too old resource version: {requested} ({compacted})"))
            }
            StorageError::FutureRevision { requested, current } => Self::too_large_rv(format!(
                "Timeout: Too large resource version: {requested}, current: {current}"
            )),
            StorageError::Backend(m) => Self::internal(m),
        }
    }

    /// The `metav1.Status` body.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.status()).unwrap_or_default();
        (code, [("content-type", "application/json")], body).into_response()
    }
}
