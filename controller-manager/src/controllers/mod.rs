//! The controllers, one module each, and the list that registers them.
//!
//! To add a controller: write `controllers/<name>.rs` (or a folder) with a
//! `pub const DESCRIPTOR: ControllerDescriptor` whose `start` registers informer handlers
//! and returns the future that runs it (usually [`crate::runtime::run`] over a
//! `reconcile(obj, ctx) -> Result<Action>`), then add one line to [`CONTROLLERS`].

use futures::future::BoxFuture;

use crate::context::ControllerContext;
use crate::errors::{Error, Result};

pub mod deployment;
pub mod garbagecollector;
pub mod namespace;
pub mod replicaset;
pub mod replication;
pub mod resourcequota;
pub mod rootcacertpublisher;
pub mod serviceaccount;
pub mod cronjob;
pub mod daemonset;
pub mod endpoints;
pub mod endpointslice;
pub mod history;
pub mod job;
pub mod nodeipam;
pub mod nodelifecycle;
pub mod persistentvolume;
pub mod pvcprotection;
pub mod pvprotection;
pub mod statefulset;
pub mod tolerations;
pub mod ttlafterfinished;
pub mod workload;

/// The future that runs a started controller until the process ends.
pub type Running = BoxFuture<'static, ()>;

/// A controller the manager can run.
pub struct ControllerDescriptor {
    /// Upstream's name (e.g. `deployment-controller`).
    pub name: &'static str,
    /// Other names `--controllers` accepts (e.g. `deployment`).
    pub aliases: &'static [&'static str],
    /// Whether `*` enables it.
    pub enabled_by_default: bool,
    /// Registers handlers on the shared informers and returns the controller's loop; called
    /// before the informers start.
    pub start: fn(&ControllerContext) -> Result<Running>,
}

/// Every controller, in start order.
pub const CONTROLLERS: &[ControllerDescriptor] = &[
    serviceaccount::DESCRIPTOR,
    rootcacertpublisher::DESCRIPTOR,
    replication::DESCRIPTOR,
    replicaset::DESCRIPTOR,
    deployment::DESCRIPTOR,
    namespace::DESCRIPTOR,
    garbagecollector::DESCRIPTOR,
    statefulset::DESCRIPTOR,
    daemonset::DESCRIPTOR,
    job::DESCRIPTOR,
    cronjob::DESCRIPTOR,
    ttlafterfinished::DESCRIPTOR,
    endpoints::DESCRIPTOR,
    endpointslice::DESCRIPTOR,
    nodelifecycle::DESCRIPTOR,
    nodeipam::DESCRIPTOR,
    persistentvolume::DESCRIPTOR,
    pvcprotection::DESCRIPTOR,
    pvprotection::DESCRIPTOR,
    resourcequota::DESCRIPTOR,
];

impl ControllerDescriptor {
    fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }

    /// Upstream `IsControllerEnabled`: the first explicit `name`/`-name` wins, else `*`
    /// enables the on-by-default controllers.
    pub fn enabled(&self, flags: &[String]) -> bool {
        let mut star = false;
        for f in flags {
            if let Some(n) = f.strip_prefix('-') {
                if self.answers_to(n) {
                    return false;
                }
            } else if f == "*" {
                star = true;
            } else if self.answers_to(f) {
                return true;
            }
        }
        star && self.enabled_by_default
    }
}

/// The controllers `--controllers` selects; unknown names are an error, as upstream.
pub fn select(flags: &[String]) -> Result<Vec<&'static ControllerDescriptor>> {
    for f in flags {
        let name = f.strip_prefix('-').unwrap_or(f);
        if name != "*" && !CONTROLLERS.iter().any(|c| c.answers_to(name)) {
            return Err(Error::UnknownController(name.to_string()));
        }
    }
    Ok(CONTROLLERS.iter().filter(|c| c.enabled(flags)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(flags: &[&str]) -> Vec<&'static str> {
        let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        select(&flags).unwrap().iter().map(|c| c.name).collect()
    }

    #[test]
    fn controllers_flag_as_upstream() {
        assert_eq!(names(&["*"]).len(), CONTROLLERS.len());
        assert!(!names(&["*", "-garbagecollector"]).contains(&"garbage-collector-controller"));
        assert!(!names(&["*", "-garbage-collector-controller"]).contains(&"garbage-collector-controller"));
        assert_eq!(names(&["deployment", "replicaset"]), ["replicaset-controller", "deployment-controller"]);
        assert!(names(&[]).is_empty());
        assert_eq!(names(&["-deployment", "deployment"]), Vec::<&str>::new(), "the first explicit choice wins");
        assert!(select(&["nope".to_string()]).is_err());
    }
}
