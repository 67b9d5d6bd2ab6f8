//! The HTTP front: routing, the authn -> authz -> admission chain, and thin handlers that
//! decode a request, call the registry, and encode the answer.

pub mod body;
pub mod discovery;
pub mod negotiate;
pub mod params;
pub mod resource;
pub mod table;
pub mod watch;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::chain;
use crate::errors::ApiError;
use crate::metrics::Metrics;
use crate::registry::Store;
use crate::request::{self, Target};
use crate::resources::catalog::Catalog;

/// Everything a handler needs, passed explicitly.
pub struct AppState {
    /// The generic registry store.
    pub store: Store,
    /// Served resources (built-in and custom).
    pub catalog: Catalog,
    /// Request metrics.
    pub metrics: Metrics,
    /// The resource metrics API (metrics.k8s.io): scraped node and container usage.
    pub metrics_api: Arc<crate::metrics_api::MetricsApi>,
    /// The Service ClusterIP range and NodePort range, for allocation.
    pub service_config: crate::allocator::ServiceConfig,
    /// OpenAPI definitions and documents.
    pub openapi: crate::openapi::OpenApi,
    /// The watch cache: one storage watch per resource type, fanned out in memory.
    pub cachers: crate::registry::cacher::Cachers,
    /// The schemas strategic merge patch and server-side apply navigate.
    pub patch_schema: rkube_apimachinery::strategic_merge::PatchSchema,
    /// The service-account token issuer (TokenRequest, OIDC discovery, token verification).
    pub service_accounts: crate::serviceaccount::Issuer,
}

/// Shared state handle.
pub type Shared = Arc<AppState>;

/// Builds the router of the whole API.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/healthz", get(ok))
        .route("/livez", get(ok))
        .route("/readyz", get(ok))
        .route("/healthz/{*rest}", get(ok))
        .route("/livez/{*rest}", get(ok))
        .route("/readyz/{*rest}", get(ok))
        .route("/metrics", get(metrics))
        .route("/version", get(discovery::version))
        .route("/openapi/v2", get(crate::openapi::serve_v2))
        .route("/openapi/v3", get(crate::openapi::serve_v3_root))
        .route("/openapi/v3/{*gv}", get(crate::openapi::serve_v3_group_version))
        .route("/.well-known/openid-configuration", get(crate::serviceaccount::serve_openid_configuration))
        .route("/openid/v1/jwks", get(crate::serviceaccount::serve_jwks))
        .fallback(dispatch)
        .with_state(state)
}

async fn ok() -> &'static str {
    "ok"
}

async fn metrics(State(state): State<Shared>) -> Response {
    ([("content-type", "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

/// Routes every /api and /apis request after the chain has admitted it.
async fn dispatch(State(state): State<Shared>, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = request::parse_query(req.uri().query());
    let Some(target) = request::parse(&method, &path, &query) else {
        return ApiError::no_route().into_response();
    };
    let user = match chain::authenticate(req.headers()) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = chain::authorize(&user, &target) {
        return e.into_response();
    }
    let (verb, resource) = match &target {
        Target::Resource(info) => (info.verb.clone(), info.resource.clone()),
        _ => ("get".to_string(), String::new()),
    };
    let resp = match target {
        Target::LegacyRoot => discovery::legacy_root(&state, req.headers()),
        Target::GroupsRoot => discovery::groups_root(&state, req.headers()),
        Target::Group(g) => discovery::group(&state, &g),
        Target::GroupVersion(g, v) => discovery::group_version(&state, &g, &v),
        Target::Resource(info) if info.group == crate::metrics_api::GROUP => crate::metrics_api::handle(&state, info, &query).await,
        Target::Resource(info) => resource::handle(state.clone(), info, query, req).await,
    };
    if method != Method::GET || verb != "watch" {
        state.metrics.observe(&verb, &resource, resp.status().as_u16(), started.elapsed());
    }
    resp
}

/// A JSON response with a status code.
pub fn json_response(code: StatusCode, body: &serde_json::Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
