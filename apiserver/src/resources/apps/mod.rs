//! apps/v1 strategies (Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision)
//! and the workload helpers the other non-core groups share (label selectors, pod
//! templates, int-or-percent values, Go-style rendering of bad values).

pub mod controllerrevision;
pub mod daemonset;
pub mod deployment;
pub mod intstr;
pub mod podtemplate;
pub mod replicaset;
pub mod selector;
pub mod statefulset;
pub use super::util;
pub mod workload;
