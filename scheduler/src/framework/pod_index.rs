//! An index of the pods on nodes by namespace and label pair, and of their required
//! anti-affinity terms by the label pair they select. PodTopologySpread and
//! InterPodAffinity use it to visit only candidate pods instead of every pod in the
//! cluster; terms without an exact-match requirement fall back to scanning.

use std::collections::HashMap;
use std::sync::Arc;

use rkube_apimachinery::label_selector::{LabelSelector, Operator};

use super::types::PodInfo;

/// The index key of a namespace and label pair.
pub fn label_key(ns: &str, k: &str, v: &str) -> String {
    let mut s = String::with_capacity(ns.len() + k.len() + v.len() + 2);
    s.push_str(ns);
    s.push('\0');
    s.push_str(k);
    s.push('\0');
    s.push_str(v);
    s
}

/// The first requirement pinning a label to one value (`k=v`, `k==v`, `k in (v)`).
pub fn exact_requirement(sel: &LabelSelector) -> Option<(&str, &str)> {
    if sel.is_nothing() {
        return None;
    }
    sel.requirements()
        .iter()
        .find_map(|r| match (r.operator(), r.values()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) => {
                Some((r.key(), v.as_str()))
            }
            _ => None,
        })
}

/// A pod on a node.
pub type Placed = (String, Arc<PodInfo>);

/// Pods by label pair and anti-affinity terms by selected label pair.
#[derive(Clone, Debug, Default)]
pub struct PodIndex {
    by_label: HashMap<String, HashMap<String, Placed>>,
    anti_terms: HashMap<String, HashMap<(String, usize), Placed>>,
    anti_unindexed: HashMap<(String, usize), Placed>,
}

fn term_keys(pod: &PodInfo, term: usize) -> Option<Vec<String>> {
    let t = &pod.required_anti_affinity_terms[term];
    if !t.namespace_selector.is_nothing() {
        return None;
    }
    let (k, v) = exact_requirement(&t.selector)?;
    Some(t.namespaces.iter().map(|ns| label_key(ns, k, v)).collect())
}

impl PodIndex {
    /// Indexes a pod placed on `node`.
    pub fn add(&mut self, node: &str, pod: &Arc<PodInfo>) {
        for (k, v) in &pod.labels {
            let slot = self
                .by_label
                .entry(label_key(&pod.namespace, k, v))
                .or_default();
            slot.insert(pod.uid.clone(), (node.to_string(), pod.clone()));
        }
        for i in 0..pod.required_anti_affinity_terms.len() {
            let entry = (node.to_string(), pod.clone());
            match term_keys(pod, i) {
                Some(keys) => {
                    for key in keys {
                        self.anti_terms
                            .entry(key)
                            .or_default()
                            .insert((pod.uid.clone(), i), entry.clone());
                    }
                }
                None => {
                    self.anti_unindexed.insert((pod.uid.clone(), i), entry);
                }
            }
        }
    }

    /// Removes a pod indexed by [`PodIndex::add`].
    pub fn remove(&mut self, pod: &PodInfo) {
        for (k, v) in &pod.labels {
            let key = label_key(&pod.namespace, k, v);
            if let Some(slot) = self.by_label.get_mut(&key) {
                slot.remove(&pod.uid);
                if slot.is_empty() {
                    self.by_label.remove(&key);
                }
            }
        }
        for i in 0..pod.required_anti_affinity_terms.len() {
            let id = (pod.uid.clone(), i);
            match term_keys(pod, i) {
                Some(keys) => {
                    for key in keys {
                        if let Some(slot) = self.anti_terms.get_mut(&key) {
                            slot.remove(&id);
                            if slot.is_empty() {
                                self.anti_terms.remove(&key);
                            }
                        }
                    }
                }
                None => {
                    self.anti_unindexed.remove(&id);
                }
            }
        }
    }

    /// Pods in `ns` labelled `k=v`, with their nodes.
    pub fn pods_with_label(&self, ns: &str, k: &str, v: &str) -> impl Iterator<Item = &Placed> {
        self.by_label
            .get(&label_key(ns, k, v))
            .into_iter()
            .flat_map(|m| m.values())
    }

    /// Required anti-affinity terms of placed pods that may select `pod`: (node, owner, term index).
    pub fn anti_affinity_candidates<'a>(
        &'a self,
        pod: &'a PodInfo,
    ) -> impl Iterator<Item = (&'a str, &'a Arc<PodInfo>, usize)> + 'a {
        let indexed = pod
            .labels
            .iter()
            .filter_map(move |(k, v)| self.anti_terms.get(&label_key(&pod.namespace, k, v)))
            .flat_map(|m| m.iter());
        indexed
            .chain(self.anti_unindexed.iter())
            .map(|((_, i), (node, p))| (node.as_str(), p, *i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::fixtures::*;

    #[test]
    fn add_lookup_remove() {
        let mut idx = PodIndex::default();
        let web = Arc::new(PodInfo::new(pod_labels(
            pod("w", "", ""),
            &[("app", "web")],
        )));
        let anti = Arc::new(PodInfo::new(
            crate::plugins::inter_pod_affinity::tests::anti_pod("a", "web"),
        ));
        idx.add("n1", &web);
        idx.add("n2", &anti);
        assert_eq!(idx.pods_with_label("default", "app", "web").count(), 2);
        assert_eq!(idx.pods_with_label("other", "app", "web").count(), 0);
        let cands: Vec<_> = idx
            .anti_affinity_candidates(&web)
            .map(|(n, p, i)| (n.to_string(), p.name.clone(), i))
            .collect();
        assert_eq!(cands, vec![("n2".to_string(), "a".to_string(), 0)]);
        idx.remove(&anti);
        idx.remove(&web);
        assert_eq!(idx.pods_with_label("default", "app", "web").count(), 0);
        assert_eq!(idx.anti_affinity_candidates(&web).count(), 0);
    }

    #[test]
    fn exact_requirements() {
        let sel: LabelSelector = "app=web,tier in (a,b)".parse().unwrap();
        assert_eq!(exact_requirement(&sel), Some(("app", "web")));
        let none: LabelSelector = "tier in (a,b),!x".parse().unwrap();
        assert_eq!(exact_requirement(&none), None);
    }
}
