//! The live set of served resources: the built-ins plus those defined by CRDs. Readers take
//! a cheap snapshot; CRD changes swap in a new one.

use std::sync::{Arc, RwLock};

use super::ResourceInfo;

/// An immutable view of every served resource.
#[derive(Default)]
pub struct Snapshot {
    /// All resources, built-ins first, in discovery order.
    pub resources: Vec<Arc<ResourceInfo>>,
}

impl Snapshot {
    /// Finds a resource by group, version and plural.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    }

    /// Finds the resource of a kind in a group-version.
    pub fn find_kind(&self, group: &str, version: &str, kind: &str) -> Option<Arc<ResourceInfo>> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
            .cloned()
    }

    /// True when any resource is served in this group-version.
    pub fn serves(&self, group: &str, version: &str) -> bool {
        self.resources.iter().any(|r| r.group == group && r.version == version)
    }
}

/// The shared, swappable catalog.
pub struct Catalog {
    builtin: Vec<Arc<ResourceInfo>>,
    current: RwLock<Arc<Snapshot>>,
}

impl Catalog {
    /// A catalog of the given built-ins.
    pub fn new(builtin: Vec<ResourceInfo>) -> Self {
        let builtin: Vec<Arc<ResourceInfo>> = builtin.into_iter().map(Arc::new).collect();
        let snap = Snapshot { resources: builtin.clone() };
        Catalog { builtin, current: RwLock::new(Arc::new(snap)) }
    }

    /// The current view.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.read().expect("catalog lock").clone()
    }

    /// Replaces the custom resources with `custom`.
    pub fn set_custom(&self, custom: Vec<ResourceInfo>) {
        let mut resources = self.builtin.clone();
        resources.extend(custom.into_iter().map(Arc::new));
        *self.current.write().expect("catalog lock") = Arc::new(Snapshot { resources });
    }
}
