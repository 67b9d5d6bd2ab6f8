//! The HTTP handlers of `/openapi/v2`, `/openapi/v3` and `/openapi/v3/{group-version}`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{OpenApi, OpenApiError};
use crate::errors::ApiError;
use crate::http::Shared;
use crate::resources::catalog::Snapshot;

/// The Content-Type of the gnostic protobuf form of the v2 document. Clients ask for the
/// `...spec.v2@v1.0+protobuf` spelling, but Go's `mime.ParseMediaType` rejects the `@`, so
/// the answer uses the dotted spelling, as upstream does.
pub const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
/// Marker shared by every spelling of the v2 protobuf media type.
const V2_PROTOBUF_MARKER: &str = "com.github.proto-openapi.spec.v2";
const JSON: &str = "application/json";
const NO_CACHE: &str = "no-cache, private";
const IMMUTABLE: &str = "public, immutable, max-age=31536000";

impl IntoResponse for OpenApiError {
    fn into_response(self) -> Response {
        match self {
            OpenApiError::NotFound => ApiError::no_route().into_response(),
            OpenApiError::Build(why) => ApiError::internal(why).into_response(),
        }
    }
}

/// `GET /openapi/v2`: protobuf when the Accept header prefers it, JSON otherwise.
pub async fn serve_v2(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let docs = match documents(state, OpenApi::v2_docs).await {
        Ok(docs) => docs,
        Err(e) => return e.into_response(),
    };
    if wants_protobuf(&headers) {
        let etag = format!("\"{}-pb\"", docs.hash);
        respond(&headers, docs.proto.clone(), V2_PROTOBUF, etag, NO_CACHE)
    } else {
        respond(&headers, docs.json.clone(), JSON, format!("\"{}\"", docs.hash), NO_CACHE)
    }
}

/// `GET /openapi/v3`: the index of group-version documents.
pub async fn serve_v3_root(State(state): State<Shared>) -> Response {
    match documents(state, OpenApi::v3_docs).await {
        Ok(docs) => ([(CONTENT_TYPE, JSON), (CACHE_CONTROL, NO_CACHE)], docs.index.clone()).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /openapi/v3/api/v1`, `/openapi/v3/apis/G/V`: one group-version's document. With a
/// `hash` matching the current document the answer is cacheable forever.
pub async fn serve_v3_group_version(
    State(state): State<Shared>,
    Path(gv): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let docs = match documents(state, OpenApi::v3_docs).await {
        Ok(docs) => docs,
        Err(e) => return e.into_response(),
    };
    let Some(doc) = docs.docs.get(gv.trim_matches('/')) else {
        return OpenApiError::NotFound.into_response();
    };
    let cache = if hash_param(query.as_deref()) == Some(doc.hash.as_str()) { IMMUTABLE } else { NO_CACHE };
    respond(&headers, doc.body.clone(), JSON, format!("\"{}\"", doc.hash), cache)
}

/// Builds (or fetches from cache) the documents of the current catalog off the async
/// workers: the first build of the whole API takes a while.
async fn documents<T: Send + Sync + 'static>(
    state: Shared,
    get: fn(&OpenApi, &Arc<Snapshot>) -> Arc<T>,
) -> Result<Arc<T>, OpenApiError> {
    tokio::task::spawn_blocking(move || {
        let snapshot = state.catalog.snapshot();
        get(&state.openapi, &snapshot)
    })
    .await
    .map_err(|e| OpenApiError::Build(e.to_string()))
}

/// True when the first Accept entry this server can answer is the v2 protobuf type.
pub fn wants_protobuf(headers: &HeaderMap) -> bool {
    let accept = headers.get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
    for candidate in accept.split(',') {
        let media = candidate.split(';').next().unwrap_or("").trim();
        if media.contains(V2_PROTOBUF_MARKER) {
            return true;
        }
        if matches!(media, "application/json" | "*/*" | "application/*") {
            return false;
        }
    }
    false
}

/// The `hash` parameter of a query string.
fn hash_param(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|pair| pair.strip_prefix("hash="))
}

fn respond(headers: &HeaderMap, body: Bytes, content_type: &str, etag: String, cache: &str) -> Response {
    let matched = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let builder = Response::builder().header(ETAG, &etag).header(CACHE_CONTROL, cache).header(VARY, "Accept");
    let built = if matched {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
    } else {
        builder.header(CONTENT_TYPE, content_type).body(Body::from(body))
    };
    built.unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
