//! Turns a URL and method into what is asked (upstream's RequestInfo): which group,
//! version, namespace, resource, name, subresource and verb.

use std::collections::HashMap;

use axum::http::Method;

/// What a resource request asks for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RequestInfo {
    /// API group ("" for /api).
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace from the path, if any.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub resource: String,
    /// Object name, if any.
    pub name: Option<String>,
    /// Subresource (status, scale, log, ...), if any.
    pub subresource: Option<String>,
    /// get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: String,
}

/// What a path under /api or /apis addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `/api`: the legacy versions.
    LegacyRoot,
    /// `/apis`: the group list.
    GroupsRoot,
    /// `/apis/G`: one group.
    Group(String),
    /// `/api/v1` or `/apis/G/V`: a resource list.
    GroupVersion(String, String),
    /// A resource request.
    Resource(RequestInfo),
}

/// Parses a path and method; `None` when the path is not under /api or /apis.
pub fn parse(method: &Method, path: &str, query: &HashMap<String, String>) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api"] => return Some(Target::LegacyRoot),
        ["apis"] => return Some(Target::GroupsRoot),
        ["apis", g] => return Some(Target::Group(g.to_string())),
        ["api", v] => return Some(Target::GroupVersion(String::new(), v.to_string())),
        ["apis", g, v] => return Some(Target::GroupVersion(g.to_string(), v.to_string())),
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest.to_vec()),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest.to_vec()),
        _ => return None,
    };
    let mut rest = rest;
    let mut watch_path = false;
    if rest.first() == Some(&"watch") {
        watch_path = true;
        rest.remove(0);
    }
    let mut info = RequestInfo { group, version, ..Default::default() };
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        info.namespace = Some(rest[1].to_string());
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest = rest[2..].to_vec();
        } else {
            // The namespace object itself: /namespaces/NAME[/status|/finalize].
            info.namespace = None;
            rest = std::iter::once("namespaces").chain(rest[1..].iter().copied()).collect();
        }
    }
    match rest.as_slice() {
        [res] => info.resource = res.to_string(),
        [res, name] => {
            info.resource = res.to_string();
            info.name = Some(name.to_string());
        }
        [res, name, sub] => {
            info.resource = res.to_string();
            info.name = Some(name.to_string());
            info.subresource = Some(sub.to_string());
        }
        _ => return None,
    }
    let watch_param = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    info.verb = verb(method, info.name.is_some(), watch_path || watch_param).to_string();
    Some(Target::Resource(info))
}

fn verb(method: &Method, has_name: bool, watch: bool) -> &'static str {
    match (method.as_str(), has_name) {
        ("GET" | "HEAD", _) if watch => "watch",
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

/// Parses a query string into a map (last value wins), percent-decoding keys and values.
pub fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(percent_decode(k), percent_decode(v));
    }
    out
}

/// Decodes `%XX` escapes and `+` (as space) in a query component.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && s.is_char_boundary(i + 3) => {
                match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(method: Method, path: &str) -> RequestInfo {
        match parse(&method, path, &HashMap::new()) {
            Some(Target::Resource(r)) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn parses_namespaced_and_cluster_paths() {
        let r = res(Method::GET, "/apis/apps/v1/namespaces/ns1/deployments/web/scale");
        assert_eq!(
            (r.group.as_str(), r.namespace.as_deref(), r.resource.as_str(), r.name.as_deref(), r.subresource.as_deref(), r.verb.as_str()),
            ("apps", Some("ns1"), "deployments", Some("web"), Some("scale"), "get")
        );
        let r = res(Method::GET, "/api/v1/namespaces/kube-system");
        assert_eq!((r.resource.as_str(), r.name.as_deref(), r.namespace.as_deref()), ("namespaces", Some("kube-system"), None));
        let r = res(Method::PUT, "/api/v1/namespaces/x/finalize");
        assert_eq!((r.resource.as_str(), r.name.as_deref(), r.subresource.as_deref()), ("namespaces", Some("x"), Some("finalize")));
        let r = res(Method::GET, "/api/v1/watch/namespaces/default/pods");
        assert_eq!((r.verb.as_str(), r.namespace.as_deref()), ("watch", Some("default")));
        let r = res(Method::DELETE, "/api/v1/namespaces/default/pods");
        assert_eq!(r.verb, "deletecollection");
        let r = res(Method::GET, "/api/v1/nodes");
        assert_eq!((r.verb.as_str(), r.namespace), ("list", None));
    }

    #[test]
    fn decodes_query() {
        let q = parse_query(Some("labelSelector=app%3Dnginx%2Ctier+in+(a)&limit=500"));
        assert_eq!(q["labelSelector"], "app=nginx,tier in (a)");
        assert_eq!(q["limit"], "500");
    }
}
