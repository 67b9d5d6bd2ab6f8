//! rkube's kube-scheduler: upstream's scheduling framework rebuilt in Rust.
//!
//! * [`framework`]: pod/node views, extension-point traits, per-profile runtime, snapshot.
//! * [`plugins`]: the in-tree plugins, one module each, and their registry.
//! * [`config`]: `KubeSchedulerConfiguration`, profiles and plugin-set merging.
//! * [`queue`], [`cache`], [`algorithm`]: the pure scheduling core (no IO).
//! * [`core`]: a synchronous scheduling loop over the core, used by the server and benches.
//! * [`scheduler`], [`api`], [`metrics`]: informers, API writes, metrics — the IO shell.

#![warn(missing_docs)]

pub mod algorithm;
pub mod api;
pub mod cache;
pub mod config;
pub mod core;
pub mod framework;
pub mod metrics;
pub mod plugins;
pub mod queue;
pub mod scheduler;
