//! Server-side apply.

use axum::http::StatusCode;
use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::http::resource::Call;
use crate::registry::rest::WriteOptions;

/// Handles an apply patch.
pub async fn handle(_call: &Call, _bytes: &[u8], _sub: Option<&str>, _manager: &str, _opts: &WriteOptions) -> ApiResult<(Value, StatusCode)> {
    Err(ApiError::internal("server-side apply is being wired"))
}
