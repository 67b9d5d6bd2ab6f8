//! The request chain every API call passes: authentication -> authorization (admission runs
//! later, on decoded objects, in `crate::admission`).
//!
//! Today the server listens on localhost only and every request acts as a cluster admin;
//! TLS client certificates, tokens and RBAC plug in here without touching the handlers.

use axum::http::HeaderMap;

use crate::errors::ApiError;
use crate::request::Target;

/// Who is making a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    /// User name.
    pub username: String,
    /// Group memberships.
    pub groups: Vec<String>,
}

impl UserInfo {
    /// The identity of requests on the insecure localhost port.
    pub fn local_admin() -> Self {
        UserInfo {
            username: "system:admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }
}

/// Establishes the caller's identity.
pub fn authenticate(_headers: &HeaderMap) -> Result<UserInfo, ApiError> {
    Ok(UserInfo::local_admin())
}

/// Decides whether the caller may do what it asks.
pub fn authorize(user: &UserInfo, _target: &Target) -> Result<(), ApiError> {
    if user.groups.iter().any(|g| g == "system:masters") {
        return Ok(());
    }
    Err(ApiError::new(403, "Forbidden", format!("User \"{}\" cannot perform this request", user.username)))
}
