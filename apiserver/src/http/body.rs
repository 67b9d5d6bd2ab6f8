//! Reads and decodes request bodies by Content-Type (JSON, YAML, Kubernetes protobuf).

use axum::body::Body;
use axum::http::HeaderMap;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::errors::{ApiError, ApiResult};

/// Upstream's limit on a request body (3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// The media types accepted for create and update bodies.
pub const OBJECT_TYPES: &[&str] = &["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];

/// Reads the whole body, refusing more than [`MAX_BODY`] bytes.
pub async fn read(body: Body) -> ApiResult<Vec<u8>> {
    let limited = http_body_util::Limited::new(body, MAX_BODY);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes().to_vec()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(ApiError::too_large(MAX_BODY)),
        Err(e) => Err(ApiError::bad_request(format!("reading the request body: {e}"))),
    }
}

/// The media type of the request, without parameters; JSON when absent.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "application/json".to_string())
}

/// Decodes an object body (create/update) of the given media type.
pub fn decode_object(media: &str, bytes: &[u8]) -> ApiResult<Value> {
    match media {
        "application/json" | "*/*" => parse_json(bytes),
        "application/yaml" | "application/x-yaml" | "text/yaml" => parse_yaml(bytes),
        "application/vnd.kubernetes.protobuf" => crate::codec::protobuf::decode_request(bytes)
            .map_err(|e| ApiError::bad_request(format!("unable to decode protobuf body: {e}"))),
        other => Err(ApiError::unsupported_media_type(other, OBJECT_TYPES)),
    }
}

/// Parses JSON with upstream's error wording.
pub fn parse_json(bytes: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
    })
}

/// Parses YAML into a JSON value.
pub fn parse_yaml(bytes: &[u8]) -> ApiResult<Value> {
    let text = std::str::from_utf8(bytes).map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
    serde_saphyr::from_str::<Value>(text).map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))
}
