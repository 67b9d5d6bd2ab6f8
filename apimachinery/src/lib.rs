//! Pure Kubernetes API machinery shared by rkube's binaries: no IO lives here, so every
//! piece is unit-tested without a server.

pub mod cron;
pub mod duration;
pub mod field_selector;
pub mod go_types;
pub mod label_selector;
pub mod quantity;
pub mod quota;
pub mod scheduling;
pub mod validation;
pub mod managed_fields;
pub mod merge_keys;
pub mod strategic_merge;
