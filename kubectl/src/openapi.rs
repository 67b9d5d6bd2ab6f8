//! OpenAPI v3 documents: the index at `/openapi/v3` and one group version's document, and the
//! lookup of a kind's schema by `x-kubernetes-group-version-kind` (client-side apply's patch
//! strategies, `explain`).

use serde_json::Value;

use crate::client::{ApiClient, ApiError, Req};
use crate::discovery::ApiResource;

/// Fetches the OpenAPI v3 document of a resource's group version.
pub async fn group_version_document(client: &ApiClient, mapping: &ApiResource) -> Result<Value, ApiError> {
    let index = client.json(Req::get("/openapi/v3").accept("application/json, */*")).await?;
    let key = if mapping.group.is_empty() {
        format!("api/{}", mapping.version)
    } else {
        format!("apis/{}/{}", mapping.group, mapping.version)
    };
    let url = index
        .pointer(&format!("/paths/{}", key.replace('~', "~0").replace('/', "~1")))
        .and_then(|p| p.get("serverRelativeURL"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("/openapi/v3/{key}"));
    client.json(Req::get(url)).await
}

/// The name of the component schema of `group/version, Kind=kind` in a document.
pub fn definition_name(doc: &Value, group: &str, version: &str, kind: &str) -> Option<String> {
    let schemas = doc.pointer("/components/schemas")?.as_object()?;
    schemas.iter().find_map(|(name, schema)| {
        let gvks = schema.get("x-kubernetes-group-version-kind")?.as_array()?;
        gvks.iter()
            .any(|g| {
                g.get("group").and_then(Value::as_str).unwrap_or("") == group
                    && g.get("version").and_then(Value::as_str) == Some(version)
                    && g.get("kind").and_then(Value::as_str) == Some(kind)
            })
            .then(|| name.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_definitions_by_gvk() {
        let doc = serde_json::json!({"components": {"schemas": {
            "io.k8s.api.apps.v1.Deployment": {"x-kubernetes-group-version-kind": [{"group": "apps", "version": "v1", "kind": "Deployment"}]},
            "io.k8s.api.core.v1.Pod": {"x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Pod"}]}
        }}});
        assert_eq!(definition_name(&doc, "apps", "v1", "Deployment").as_deref(), Some("io.k8s.api.apps.v1.Deployment"));
        assert_eq!(definition_name(&doc, "", "v1", "Pod").as_deref(), Some("io.k8s.api.core.v1.Pod"));
        assert_eq!(definition_name(&doc, "", "v1", "Node"), None);
    }
}
