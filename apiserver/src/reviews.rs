//! Create-only review resources answered from the request itself: SelfSubjectReview,
//! SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview, TokenReview.
//! Until RBAC lands every authenticated request is allowed, and the answers say so.

use serde_json::{json, Value};

use crate::chain::UserInfo;
use crate::errors::{ApiError, ApiResult};
use crate::http::resource::Call;

/// Evaluates a review and returns it with its status filled.
pub fn evaluate(call: &Call, mut review: Value) -> ApiResult<Value> {
    let user = crate::chain::authenticate(&call.headers)?;
    review["apiVersion"] = json!(call.info.api_version());
    review["kind"] = json!(call.info.kind);
    if !review.get("metadata").is_some_and(Value::is_object) {
        review["metadata"] = json!({});
    }
    match call.info.kind.as_str() {
        "SelfSubjectReview" => review["status"] = json!({ "userInfo": user_json(&user) }),
        "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            review["status"] = json!({ "allowed": true, "reason": "rkube allows every authenticated request until RBAC is enabled" });
        }
        "SelfSubjectRulesReview" => {
            review["status"] = json!({
                "resourceRules": [{ "verbs": ["*"], "apiGroups": ["*"], "resources": ["*"] }],
                "nonResourceRules": [{ "verbs": ["*"], "nonResourceURLs": ["*"] }],
                "incomplete": false,
            });
        }
        "TokenReview" => review["status"] = json!({ "authenticated": false, "error": "token authentication is not enabled" }),
        "Binding" => return Err(ApiError::method_not_allowed()),
        other => return Err(ApiError::internal(format!("no evaluator for {other}"))),
    }
    Ok(review)
}

fn user_json(user: &UserInfo) -> Value {
    json!({ "username": user.username, "groups": user.groups })
}
