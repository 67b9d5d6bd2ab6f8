//! The on-disk discovery cache (upstream's `CachedDiscoveryClient`): under
//! `<cache-dir>/discovery/<host_port>/`, `servergroups.json` (an `APIGroupList`) and one
//! `<group>/<version>/serverresources.json` (an `APIResourceList`) per group version, in the
//! same layout and format upstream kubectl writes, so either client can read the other's.
//! Files older than [`TTL`] are ignored; a miss in a mapper loaded from disk makes the caller
//! rediscover (see [`crate::factory::Factory`]).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use crate::discovery::{ApiResource, RestMapper};

/// How long cached discovery stays valid (upstream: 6 hours).
pub const TTL: Duration = Duration::from_secs(6 * 60 * 60);

const GROUPS_FILE: &str = "servergroups.json";
const RESOURCES_FILE: &str = "serverresources.json";

/// The default cache root: `$KUBECACHEDIR`, else `~/.kube/cache`.
pub fn default_cache_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KUBECACHEDIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| Path::new(&h).join(".kube").join("cache"))
}

/// The folder name upstream derives from a server URL: the scheme dropped, and every
/// character other than letters, digits, `_`, `/`, `.`, `(` and `)` replaced by `_`.
pub fn host_dir_name(server: &str) -> String {
    let schemeless = server.replacen("https://", "", 1).replacen("http://", "", 1);
    schemeless
        .chars()
        .map(|c| if c.is_alphanumeric() || "_/.()".contains(c) { c } else { '_' })
        .collect()
}

/// The discovery cache of one server.
#[derive(Debug, Clone)]
pub struct DiscoveryCache {
    dir: PathBuf,
    ttl: Duration,
}

impl DiscoveryCache {
    /// The cache of `server` under `cache_root` (`<root>/discovery/<host_port>`).
    pub fn new(cache_root: &Path, server: &str) -> Self {
        DiscoveryCache { dir: cache_root.join("discovery").join(host_dir_name(server)), ttl: TTL }
    }

    /// The same cache with another time to live (tests).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The server's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn read_fresh(&self, path: &Path) -> Option<Value> {
        let meta = std::fs::metadata(path).ok()?;
        let age = SystemTime::now().duration_since(meta.modified().ok()?).unwrap_or(Duration::ZERO);
        if age > self.ttl {
            return None;
        }
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// The cached mapper, when every file is present and fresh.
    pub fn load(&self) -> Option<RestMapper> {
        let groups = self.read_fresh(&self.dir.join(GROUPS_FILE))?;
        if groups.get("kind").and_then(Value::as_str) != Some("APIGroupList") {
            return None;
        }
        let mut lists = HashMap::new();
        for gv in group_versions(&groups) {
            let list = self.read_fresh(&self.dir.join(&gv).join(RESOURCES_FILE))?;
            lists.insert(gv, list);
        }
        Some(mapper_from_legacy(&groups, &lists))
    }

    /// Writes the aggregated discovery documents as upstream's legacy files.
    pub fn store(&self, core: &Value, groups: &Value) -> std::io::Result<()> {
        let (group_list, lists) = legacy_documents(core, groups);
        for (gv, list) in &lists {
            write_atomic(&self.dir.join(gv).join(RESOURCES_FILE), list)?;
        }
        write_atomic(&self.dir.join(GROUPS_FILE), &group_list)
    }

    /// Forgets the cached documents.
    pub fn invalidate(&self) {
        let _ = std::fs::remove_file(self.dir.join(GROUPS_FILE));
    }
}

fn write_atomic(path: &Path, value: &Value) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", path.file_name().and_then(|f| f.to_str()).unwrap_or("cache"), std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec(value).unwrap_or_default())?;
    f.sync_all().ok();
    drop(f);
    std::fs::rename(&tmp, path)
}

fn group_versions(group_list: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for g in group_list.get("groups").and_then(Value::as_array).into_iter().flatten() {
        for v in g.get("versions").and_then(Value::as_array).into_iter().flatten() {
            if let Some(gv) = v.get("groupVersion").and_then(Value::as_str) {
                out.push(gv.to_string());
            }
        }
    }
    out
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

fn gv_string(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// One legacy `APIResource` entry (upstream's conversion of an aggregated resource or
/// subresource): the response kind's group (omitted when empty), version and kind.
fn legacy_resource(name: String, singular: &str, namespaced: bool, kind_ref: Option<&Value>, verbs: Vec<String>, extra: &Value) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("singularName".into(), json!(singular));
    m.insert("namespaced".into(), json!(namespaced));
    let kr = kind_ref.cloned().unwrap_or(Value::Null);
    if !str_of(&kr, "group").is_empty() {
        m.insert("group".into(), json!(str_of(&kr, "group")));
    }
    if !str_of(&kr, "version").is_empty() {
        m.insert("version".into(), json!(str_of(&kr, "version")));
    }
    m.insert("kind".into(), json!(str_of(&kr, "kind")));
    m.insert("verbs".into(), json!(verbs));
    for key in ["shortNames", "categories"] {
        let list = strings(extra, key);
        if !list.is_empty() {
            m.insert(key.into(), json!(list));
        }
    }
    Value::Object(m)
}

/// Converts aggregated discovery (`/api`, `/apis`) into an `APIGroupList` and one
/// `APIResourceList` per group version, as upstream caches them.
pub fn legacy_documents(core: &Value, groups: &Value) -> (Value, Vec<(String, Value)>) {
    let mut group_entries = Vec::new();
    let mut lists = Vec::new();
    for doc in [core, groups] {
        for g in doc.get("items").and_then(Value::as_array).into_iter().flatten() {
            let group = g.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
            let mut versions = Vec::new();
            for v in g.get("versions").and_then(Value::as_array).into_iter().flatten() {
                let version = str_of(v, "version");
                let gv = gv_string(group, version);
                versions.push(json!({"groupVersion": gv, "version": version}));
                let mut resources = Vec::new();
                for r in v.get("resources").and_then(Value::as_array).into_iter().flatten() {
                    let name = str_of(r, "resource");
                    let singular = str_of(r, "singularResource");
                    let namespaced = str_of(r, "scope") == "Namespaced";
                    resources.push(legacy_resource(name.into(), singular, namespaced, r.get("responseKind"), strings(r, "verbs"), r));
                    for sub in r.get("subresources").and_then(Value::as_array).into_iter().flatten() {
                        let sub_name = format!("{name}/{}", str_of(sub, "subresource"));
                        resources.push(legacy_resource(sub_name, singular, namespaced, sub.get("responseKind"), strings(sub, "verbs"), &Value::Null));
                    }
                }
                lists.push((gv.clone(), json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})));
            }
            let Some(preferred) = versions.first().cloned() else { continue };
            group_entries.push(json!({"name": group, "versions": versions, "preferredVersion": preferred}));
        }
    }
    (json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": group_entries}), lists)
}

/// A mapper over an `APIGroupList` and its group versions' `APIResourceList`s, in the
/// group list's order; subresource entries (`pods/log`) attach to their resource.
pub fn mapper_from_legacy(group_list: &Value, lists: &HashMap<String, Value>) -> RestMapper {
    let mut resources = Vec::new();
    for g in group_list.get("groups").and_then(Value::as_array).into_iter().flatten() {
        let group = str_of(g, "name");
        let preferred = g.pointer("/preferredVersion/version").and_then(Value::as_str).unwrap_or("");
        for v in g.get("versions").and_then(Value::as_array).into_iter().flatten() {
            let version = str_of(v, "version");
            let Some(list) = lists.get(str_of(v, "groupVersion")) else { continue };
            let mut here: Vec<ApiResource> = Vec::new();
            let mut subs: Vec<(String, String)> = Vec::new();
            for r in list.get("resources").and_then(Value::as_array).into_iter().flatten() {
                let name = str_of(r, "name");
                if let Some((parent, sub)) = name.split_once('/') {
                    subs.push((parent.to_string(), sub.to_string()));
                    continue;
                }
                here.push(ApiResource {
                    group: group.to_string(),
                    version: version.to_string(),
                    resource: name.to_string(),
                    singular: str_of(r, "singularName").to_string(),
                    kind: str_of(r, "kind").to_string(),
                    namespaced: r.get("namespaced").and_then(Value::as_bool).unwrap_or(false),
                    verbs: strings(r, "verbs"),
                    short_names: strings(r, "shortNames"),
                    categories: strings(r, "categories"),
                    subresources: Vec::new(),
                    preferred: version == preferred,
                });
            }
            for (parent, sub) in subs {
                if let Some(p) = here.iter_mut().find(|r| r.resource == parent) {
                    p.subresources.push(sub);
                }
            }
            resources.extend(here);
        }
    }
    RestMapper::from_resources(resources)
}

/// Whether two mappers hold the same resources (tests).
pub fn same_resources(a: &RestMapper, b: &RestMapper) -> bool {
    let key = |r: &Arc<ApiResource>| (**r).clone();
    a.all().iter().map(key).collect::<Vec<_>>() == b.all().iter().map(key).collect::<Vec<_>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> (Value, Value) {
        let core = json!({"kind": "APIGroupDiscoveryList", "items": [{"metadata": {"name": ""}, "versions": [{"version": "v1", "resources": [
            {"resource": "pods", "responseKind": {"group": "", "version": "v1", "kind": "Pod"}, "scope": "Namespaced", "singularResource": "pod",
             "verbs": ["get", "list"], "shortNames": ["po"], "categories": ["all"],
             "subresources": [{"subresource": "status", "responseKind": {"group": "", "version": "v1", "kind": "Pod"}, "verbs": ["get"]},
                              {"subresource": "eviction", "responseKind": {"group": "policy", "version": "v1", "kind": "Eviction"}, "verbs": ["create"]}]},
            {"resource": "nodes", "responseKind": {"group": "", "version": "v1", "kind": "Node"}, "scope": "Cluster", "singularResource": "node", "verbs": ["get"]}
        ]}]}]});
        let groups = json!({"kind": "APIGroupDiscoveryList", "items": [{"metadata": {"name": "autoscaling"}, "versions": [
            {"version": "v2", "resources": [{"resource": "horizontalpodautoscalers", "responseKind": {"group": "autoscaling", "version": "v2", "kind": "HorizontalPodAutoscaler"}, "scope": "Namespaced", "singularResource": "horizontalpodautoscaler", "verbs": ["get"], "shortNames": ["hpa"]}]},
            {"version": "v1", "resources": [{"resource": "horizontalpodautoscalers", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "HorizontalPodAutoscaler"}, "scope": "Namespaced", "singularResource": "horizontalpodautoscaler", "verbs": ["get"], "shortNames": ["hpa"]}]}
        ]}]});
        (core, groups)
    }

    #[test]
    fn host_dirs_like_upstream() {
        assert_eq!(host_dir_name("http://127.0.0.1:38555"), "127.0.0.1_38555");
        assert_eq!(host_dir_name("https://example.com:6443/prefix"), "example.com_6443/prefix");
    }

    #[test]
    fn legacy_round_trip_keeps_the_mapper() {
        let (core, groups) = docs();
        let (group_list, lists) = legacy_documents(&core, &groups);
        assert_eq!(group_list["groups"][1]["preferredVersion"]["groupVersion"], "autoscaling/v2");
        let pods = &lists[0].1["resources"];
        assert_eq!(pods[0], json!({"name": "pods", "singularName": "pod", "namespaced": true, "version": "v1", "kind": "Pod", "verbs": ["get", "list"], "shortNames": ["po"], "categories": ["all"]}));
        assert_eq!(pods[2]["group"], "policy");
        assert_eq!(pods[2]["name"], "pods/eviction");
        let map: HashMap<String, Value> = lists.into_iter().collect();
        let from_cache = mapper_from_legacy(&group_list, &map);
        let direct = RestMapper::from_documents(core, groups).unwrap();
        assert!(same_resources(&from_cache, &direct));
        assert_eq!(from_cache.resolve("hpa").unwrap().version, "v2");
    }

    #[test]
    fn store_load_and_expiry() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = DiscoveryCache::new(tmp.path(), "http://127.0.0.1:1234");
        assert!(cache.load().is_none());
        let (core, groups) = docs();
        cache.store(&core, &groups).unwrap();
        assert!(tmp.path().join("discovery/127.0.0.1_1234/servergroups.json").exists());
        assert!(tmp.path().join("discovery/127.0.0.1_1234/autoscaling/v1/serverresources.json").exists());
        let loaded = cache.load().expect("fresh cache");
        assert_eq!(loaded.resolve("po").unwrap().subresources, vec!["status", "eviction"]);
        let groups_file = std::fs::File::options().write(true).open(cache.dir().join(GROUPS_FILE)).unwrap();
        groups_file.set_modified(SystemTime::now() - Duration::from_secs(7 * 3600)).unwrap();
        assert!(cache.load().is_none(), "older than the TTL");
        assert!(cache.clone().with_ttl(Duration::from_secs(8 * 3600)).load().is_some());
        cache.store(&core, &groups).unwrap();
        cache.invalidate();
        assert!(cache.load().is_none());
    }
}
