//! ControllerRevision bookkeeping shared by the StatefulSet and DaemonSet controllers, as
//! upstream `pkg/controller/history`: a revision stores a patch that replaces the pod
//! template, is named `<owner>-<hash>`, and carries a monotonically growing number.

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{json, Value};

/// The label holding a revision's hash (on revisions, and on DaemonSet/StatefulSet pods).
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";

/// The characters upstream's `rand.SafeEncodeString` maps bytes onto (no vowels, no
/// look-alikes, so hashes never spell words).
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// 32-bit FNV-1a, the hash upstream uses for revision and template hashes.
pub fn fnv32a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Upstream `rand.SafeEncodeString`.
pub fn safe_encode(s: &str) -> String {
    s.bytes().map(|b| SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()] as char).collect()
}

/// The hash of a revision's data plus the owner's collision count.
pub fn hash_revision(data: &Value, collision_count: Option<i32>) -> String {
    let mut bytes = serde_json::to_vec(data).unwrap_or_default();
    if let Some(c) = collision_count {
        bytes.extend_from_slice(c.to_string().as_bytes());
    }
    safe_encode(&fnv32a(&bytes).to_string())
}

/// The patch a revision stores: the whole pod template, replacing the old one.
pub fn template_patch(template: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(template).unwrap_or_else(|_| json!({}));
    if let Some(obj) = t.as_object_mut() {
        obj.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": t}})
}

/// The template a revision stores (the inverse of [`template_patch`]).
pub fn template_of(rev: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = rev.data.as_ref()?.0.pointer("/spec/template")?.clone();
    if let Some(obj) = t.as_object_mut() {
        obj.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

/// A revision's data as JSON (`Null` when absent).
pub fn data_of(rev: &ControllerRevision) -> &Value {
    static NULL: Value = Value::Null;
    rev.data.as_ref().map(|d| &d.0).unwrap_or(&NULL)
}

/// A new, unsaved revision for `owner_name` with its data, number and labels.
pub fn new_revision(owner_name: &str, labels: std::collections::BTreeMap<String, String>, data: Value, number: i64, collision_count: Option<i32>) -> ControllerRevision {
    let hash = hash_revision(&data, collision_count);
    let mut labels = labels;
    labels.insert(REVISION_HASH_LABEL.into(), hash.clone());
    let mut rev = ControllerRevision { data: Some(RawExtension(data)), revision: number, ..Default::default() };
    rev.metadata.name = Some(format!("{owner_name}-{hash}"));
    rev.metadata.labels = Some(labels);
    rev
}

/// The next revision number: one more than the highest.
pub fn next_number(revisions: &[ControllerRevision]) -> i64 {
    revisions.iter().map(|r| r.revision).max().unwrap_or(0) + 1
}

/// The revisions whose data equals `data`, highest number last.
pub fn equal_revisions<'a>(revisions: &'a [ControllerRevision], data: &Value) -> Vec<&'a ControllerRevision> {
    let mut eq: Vec<_> = revisions.iter().filter(|r| data_of(r) == data).collect();
    eq.sort_by_key(|r| r.revision);
    eq
}

/// Revisions sorted by number (then name), oldest first.
pub fn sorted(revisions: &[ControllerRevision]) -> Vec<&ControllerRevision> {
    let mut v: Vec<_> = revisions.iter().collect();
    v.sort_by(|a, b| (a.revision, a.metadata.name.as_deref()).cmp(&(b.revision, b.metadata.name.as_deref())));
    v
}

/// Which revisions to delete to keep at most `limit` unused ones: the oldest revisions not
/// in `live` (names still in use by pods or as current/update revision).
pub fn to_truncate<'a>(revisions: &'a [ControllerRevision], live: &std::collections::BTreeSet<String>, limit: i32) -> Vec<&'a ControllerRevision> {
    let unused: Vec<_> = sorted(revisions).into_iter().filter(|r| !live.contains(r.metadata.name.as_deref().unwrap_or(""))).collect();
    let excess = unused.len().saturating_sub(limit.max(0) as usize);
    unused.into_iter().take(excess).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_and_safe_encoding() {
        assert_eq!(fnv32a(b""), 0x811c9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c292c);
        assert_eq!(safe_encode("0123"), "4567");
        let h = hash_revision(&json!({"a": 1}), None);
        assert!(h.bytes().all(|b| SAFE_ALPHABET.contains(&b)));
        assert_ne!(h, hash_revision(&json!({"a": 1}), Some(1)));
    }

    #[test]
    fn revisions_round_trip_and_truncate() {
        let t = PodTemplateSpec { metadata: Some(Default::default()), ..Default::default() };
        let data = template_patch(&t);
        assert_eq!(data["spec"]["template"]["$patch"], "replace");
        let r1 = new_revision("web", Default::default(), data.clone(), 1, None);
        assert!(r1.metadata.name.as_deref().unwrap().starts_with("web-"));
        assert_eq!(template_of(&r1), Some(t));
        let r2 = new_revision("web", Default::default(), json!({"x": 2}), 2, None);
        let r3 = new_revision("web", Default::default(), json!({"x": 3}), 3, None);
        let revs = vec![r3.clone(), r1.clone(), r2.clone()];
        assert_eq!(next_number(&revs), 4);
        assert_eq!(equal_revisions(&revs, &data).len(), 1);
        let live = [r3.metadata.name.clone().unwrap()].into_iter().collect();
        let gone: Vec<_> = to_truncate(&revs, &live, 1).iter().map(|r| r.revision).collect();
        assert_eq!(gone, [1]);
    }
}
