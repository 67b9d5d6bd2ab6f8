//! Describers of RBAC roles and bindings (rules broken down per group and resource, then
//! compacted and sorted, as upstream's `rbac.CompactRules`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::writer::{annotations_multiline, labels_multiline, s, string_map, Writer};

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

#[derive(Clone, Default)]
struct Rule {
    groups: Vec<String>,
    resources: Vec<String>,
    urls: Vec<String>,
    names: Vec<String>,
    verbs: Vec<String>,
}

impl Rule {
    /// The protobuf-generated `PolicyRule.String()` upstream sorts by.
    fn sort_key(&self) -> String {
        format!(
            "&PolicyRule{{Verbs:{},APIGroups:{},Resources:{},ResourceNames:{},NonResourceURLs:{},}}",
            go_list(&self.verbs),
            go_list(&self.groups),
            go_list(&self.resources),
            go_list(&self.names),
            go_list(&self.urls)
        )
    }
}

fn breakdown(rule: &Value) -> Vec<Rule> {
    let verbs = strings(rule, "verbs");
    let names = strings(rule, "resourceNames");
    let mut out = Vec::new();
    for g in strings(rule, "apiGroups") {
        for r in strings(rule, "resources") {
            if names.is_empty() {
                out.push(Rule { groups: vec![g.clone()], resources: vec![r.clone()], verbs: verbs.clone(), ..Default::default() });
            }
            for n in &names {
                out.push(Rule { groups: vec![g.clone()], resources: vec![r.clone()], names: vec![n.clone()], verbs: verbs.clone(), ..Default::default() });
            }
        }
    }
    let urls = strings(rule, "nonResourceURLs");
    if !urls.is_empty() {
        out.push(Rule { urls, verbs, ..Default::default() });
    }
    out
}

fn compact(rules: Vec<Rule>) -> Vec<Rule> {
    let mut simple: BTreeMap<(String, String, Vec<String>), Rule> = BTreeMap::new();
    let mut order: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut out = Vec::new();
    for r in rules {
        let is_simple = r.groups.len() == 1 && r.resources.len() == 1 && r.names.len() <= 1 && r.urls.is_empty() && !r.verbs.is_empty();
        if !is_simple {
            out.push(r);
            continue;
        }
        let key = (r.groups[0].clone(), r.resources[0].clone(), r.names.clone());
        match simple.get_mut(&key) {
            Some(existing) => existing.verbs.extend(r.verbs),
            None => {
                order.push(key.clone());
                simple.insert(key, r);
            }
        }
    }
    out.extend(order.into_iter().filter_map(|k| simple.remove(&k)));
    out.sort_by_key(|r| r.sort_key());
    out
}

fn combine_resource_group(r: &Rule) -> String {
    let Some(first) = r.resources.first() else { return String::new() };
    let (res, sub) = match first.split_once('/') {
        Some((a, b)) => (a.to_string(), Some(b)),
        None => (first.clone(), None),
    };
    let mut out = res;
    if let Some(g) = r.groups.first().filter(|g| !g.is_empty()) {
        out = format!("{out}.{g}");
    }
    if let Some(sub) = sub {
        out = format!("{out}/{sub}");
    }
    out
}

fn go_list(list: &[String]) -> String {
    format!("[{}]", list.join(" "))
}

/// `describe role` / `describe clusterrole`.
pub fn role(obj: &Value) -> String {
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(obj, "/metadata/name")));
    labels_multiline(&mut w, "", "Labels", &string_map(obj, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(obj, "/metadata/annotations"));
    let rules: Vec<Rule> = obj.get("rules").and_then(Value::as_array).into_iter().flatten().flat_map(breakdown).collect();
    w.write(0, "PolicyRule:\n");
    w.write(1, "Resources\tNon-Resource URLs\tResource Names\tVerbs\n");
    w.write(1, "---------\t-----------------\t--------------\t-----\n");
    for r in compact(rules) {
        w.write(1, &format!("{}\t{}\t{}\t{}\n", combine_resource_group(&r), go_list(&r.urls), go_list(&r.names), go_list(&r.verbs)));
    }
    w.finish()
}

/// `describe rolebinding` / `describe clusterrolebinding`.
pub fn binding(obj: &Value) -> String {
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(obj, "/metadata/name")));
    labels_multiline(&mut w, "", "Labels", &string_map(obj, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(obj, "/metadata/annotations"));
    w.write(0, "Role:\n");
    w.write(1, &format!("Kind:\t{}\n", s(obj, "/roleRef/kind")));
    w.write(1, &format!("Name:\t{}\n", s(obj, "/roleRef/name")));
    w.write(0, "Subjects:\n");
    w.write(1, "Kind\tName\tNamespace\n");
    w.write(1, "----\t----\t---------\n");
    for sub in obj.get("subjects").and_then(Value::as_array).into_iter().flatten() {
        w.write(1, &format!("{}\t{}\t{}\n", s(sub, "/kind"), s(sub, "/name"), s(sub, "/namespace")));
    }
    w.finish()
}
