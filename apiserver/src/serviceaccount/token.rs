//! POST `serviceaccounts/<name>/token`: upstream's TokenREST. Checks the request, looks up the
//! service account and the bound object, signs the token and returns the TokenRequest with
//! `status.token` and `status.expirationTimestamp`. Nothing is stored.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{TimeZone, Utc};
use rkube_apimachinery::validation::FieldError;
use serde_json::{json, Value};

use super::jwt::{Binding, ObjectRef, TokenSpec};
use crate::errors::{ApiError, ApiResult};
use crate::http::resource::Call;
use crate::http::{body, json_response};
use crate::registry::meta;
use crate::resources::ResourceInfo;

/// Default lifetime when `spec.expirationSeconds` is unset (upstream's defaulting).
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
/// Shortest lifetime allowed.
pub const MIN_EXPIRATION_SECONDS: i64 = 600;
/// Longest lifetime allowed.
pub const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;
/// The lifetime the ServiceAccount admission plugin asks for; such pod-bound tokens are
/// issued for a year with a `warnafter` claim when expiration extension is on.
pub const WARN_ONLY_EXPIRATION_SECONDS: i64 = 3607;
/// The extended lifetime.
pub const EXTENDED_EXPIRATION_SECONDS: i64 = 365 * 24 * 3600;

/// The ResourceInfo errors about TokenRequests name (kind TokenRequest.authentication.k8s.io).
fn token_request_info(call: &Call) -> ResourceInfo {
    let mut r = (*call.info).clone();
    r.group = "authentication.k8s.io".into();
    r.kind = "TokenRequest".into();
    r.plural = "tokenrequests".into();
    r
}

/// An error naming a kind as upstream's GroupResource{Resource: Kind} does.
fn kind_info(call: &Call, kind: &str) -> ResourceInfo {
    let mut r = (*call.info).clone();
    r.group = String::new();
    r.kind = kind.into();
    r.plural = kind.into();
    r
}

/// `spec.expirationSeconds` checks, upstream's ValidateTokenRequest.
pub fn validate_expiration(seconds: i64) -> Vec<FieldError> {
    let mut errs = vec![];
    if seconds < MIN_EXPIRATION_SECONDS {
        errs.push(FieldError::invalid("spec.expirationSeconds", json!(seconds), "may not specify a duration less than 10 minutes"));
    }
    if seconds > MAX_EXPIRATION_SECONDS {
        errs.push(FieldError::invalid("spec.expirationSeconds", json!(seconds), "may not specify a duration larger than 2^32 seconds"));
    }
    errs
}

/// Group of an apiVersion ("v1" -> "", "apps/v1" -> "apps").
fn group_of(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

async fn get(call: &Call, plural: &str, ns: Option<&str>, name: &str) -> ApiResult<Value> {
    let snap = call.state.catalog.snapshot();
    let info = snap.find("", "v1", plural).ok_or_else(|| ApiError::internal(format!("{plural} not served")))?;
    call.state.store.get(&info, ns, name).await
}

fn object_ref(obj: &Value) -> ObjectRef {
    ObjectRef { name: meta::meta_str(obj, "name").unwrap_or("").into(), uid: meta::meta_str(obj, "uid").unwrap_or("").into() }
}

/// Resolves `spec.boundObjectRef` in `ns` to the binding written into the token.
async fn bind(call: &Call, ns: &str, sa_name: &str, r: &Value) -> ApiResult<Binding> {
    let kind = str_at(r, "/kind");
    let api_version = str_at(r, "/apiVersion");
    let name = str_at(r, "/name");
    let want_uid = str_at(r, "/uid");
    let (group, version) = group_of(api_version);
    let (binding, uid) = match (group, kind) {
        ("", "Pod") => {
            let pod = get(call, "pods", Some(ns), name).await?;
            if str_at(&pod, "/spec/serviceAccountName") != sa_name {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token for serviceaccount {sa_name:?} to pod running with different serviceaccount name."
                )));
            }
            let node_name = str_at(&pod, "/spec/nodeName");
            let node = if node_name.is_empty() {
                None
            } else {
                match get(call, "nodes", None, node_name).await {
                    Ok(n) => Some(object_ref(&n)),
                    Err(e) if e.code == 404 => Some(ObjectRef { name: node_name.into(), uid: String::new() }),
                    Err(e) => return Err(ApiError::internal(e.message)),
                }
            };
            let pod_ref = object_ref(&pod);
            let uid = pod_ref.uid.clone();
            (Binding::Pod(pod_ref, node), uid)
        }
        ("", "Secret") => {
            let s = object_ref(&get(call, "secrets", Some(ns), name).await?);
            let uid = s.uid.clone();
            (Binding::Secret(s), uid)
        }
        ("", "Node") => {
            let n = object_ref(&get(call, "nodes", None, name).await?);
            let uid = n.uid.clone();
            (Binding::Node(n), uid)
        }
        _ => return Err(ApiError::bad_request(format!("cannot bind token to object of type {group}/{version}, Kind={kind}"))),
    };
    if !want_uid.is_empty() && want_uid != uid {
        return Err(ApiError::conflict(
            &kind_info(call, kind),
            name,
            &format!(
                "the UID in the bound object reference ({want_uid}) does not match the UID in record. The object might have been deleted and then recreated"
            ),
        ));
    }
    Ok(binding)
}

/// Handles the create.
pub async fn create(call: &Call, raw: Body) -> ApiResult<Response> {
    let Some(ns) = call.ns().map(str::to_string) else {
        return Err(ApiError::bad_request("namespace is required"));
    };
    let name = call.name().to_string();
    let bytes = body::read(raw).await?;
    let mut req = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        body::decode_object(&body::content_type(&call.headers), &bytes)?
    };
    let tr_info = token_request_info(call);
    let req_name = str_at(&req, "/metadata/name").to_string();
    if !req_name.is_empty() && req_name != name {
        let e = FieldError::invalid("metadata.name", json!(req_name), "must match the service account name if specified");
        return Err(ApiError::invalid(&tr_info, &name, &[e]));
    }
    let req_ns = str_at(&req, "/metadata/namespace").to_string();
    if !req_ns.is_empty() && req_ns != ns {
        let e = FieldError::invalid("metadata.namespace", json!(req_ns), "must match the service account namespace if specified");
        return Err(ApiError::invalid(&tr_info, &name, &[e]));
    }
    let sa = call.state.store.get(&call.info, Some(&ns), &name).await?;
    let sa_ref = object_ref(&sa);
    let req_uid = str_at(&req, "/metadata/uid").to_string();
    if !req_uid.is_empty() && req_uid != sa_ref.uid {
        return Err(ApiError::conflict(
            &kind_info(call, "TokenRequest"),
            &name,
            &format!("the UID in the token request ({req_uid}) does not match the UID of the service account ({})", sa_ref.uid),
        ));
    }
    let issuer = &call.state.service_accounts;
    let mut audiences: Vec<String> =
        req.pointer("/spec/audiences").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
    if audiences.is_empty() {
        audiences = issuer.api_audiences.clone();
    }
    let expiration = match req.pointer("/spec/expirationSeconds") {
        None | Some(Value::Null) => DEFAULT_EXPIRATION_SECONDS,
        Some(v) => v.as_i64().ok_or_else(|| ApiError::bad_request("spec.expirationSeconds must be an integer"))?,
    };
    let errs = validate_expiration(expiration);
    if !errs.is_empty() {
        return Err(ApiError::invalid(&tr_info, "", &errs));
    }
    let bound = req.pointer("/spec/boundObjectRef").filter(|v| v.is_object()).cloned();
    let binding = match &bound {
        Some(r) => Some(bind(call, &ns, &name, r).await?),
        None => None,
    };
    let now = Utc::now().timestamp();
    let (mut lifetime, mut warn_after) = (expiration, None);
    let kube_audiences = audiences.iter().all(|a| issuer.api_audiences.contains(a));
    if issuer.extend_expiration && matches!(binding, Some(Binding::Pod(..))) && expiration == WARN_ONLY_EXPIRATION_SECONDS && kube_audiences {
        warn_after = Some(now + expiration);
        lifetime = EXTENDED_EXPIRATION_SECONDS;
    }
    let spec = TokenSpec {
        issuer: issuer.issuers[0].clone(),
        namespace: ns.clone(),
        service_account: sa_ref.clone(),
        audiences: audiences.clone(),
        expiration_seconds: lifetime,
        binding,
        id: uuid::Uuid::new_v4().to_string(),
    };
    let token = issuer.issue(&spec, now, warn_after);
    let expires = Utc.timestamp_opt(now + expiration, 0).single().unwrap_or_else(Utc::now).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let created = Utc.timestamp_opt(now, 0).single().unwrap_or_else(Utc::now).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    req["kind"] = json!("TokenRequest");
    req["apiVersion"] = json!("authentication.k8s.io/v1");
    req["metadata"] = json!({ "name": name, "namespace": ns, "uid": sa_ref.uid, "creationTimestamp": created });
    let mut spec_out = json!({ "audiences": audiences, "expirationSeconds": expiration });
    if let Some(b) = bound {
        spec_out["boundObjectRef"] = b;
    }
    req["spec"] = spec_out;
    req["status"] = json!({ "token": token, "expirationTimestamp": expires });
    Ok(json_response(StatusCode::CREATED, &req))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_limits() {
        assert!(validate_expiration(600).is_empty());
        assert!(validate_expiration(1 << 32).is_empty());
        let e = validate_expiration(599);
        assert_eq!(e[0].to_string(), "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes");
        assert_eq!(validate_expiration((1 << 32) + 1)[0].to_string().rsplit(": ").next().unwrap(), "may not specify a duration larger than 2^32 seconds");
    }

    #[test]
    fn api_version_groups() {
        assert_eq!(group_of("v1"), ("", "v1"));
        assert_eq!(group_of("apps/v1"), ("apps", "v1"));
        assert_eq!(group_of(""), ("", ""));
    }
}
