//! The scheduling framework: pod/node views, extension-point traits, the per-profile
//! runtime and the snapshot a cycle works on.

pub mod fast_hash;
pub mod interface;
pub mod parallel;
pub mod pod_index;
pub mod runtime;
pub mod snapshot;
pub mod types;
