//! Running pods: the manager (sources and workers), one worker per pod, and the pure logic
//! they use (plan, status, env, volumes, CRI configs, DNS, QoS, back-off, probes).

pub mod backoff;
pub mod claims;
pub mod containers;
pub mod cri_config;
pub mod dns;
pub mod env;
pub mod manager;
pub mod observed;
pub mod plan;
pub mod probe;
pub mod registry;
pub mod resources;
pub mod sources;
pub mod static_pods;
pub mod status;
pub mod tokens;
pub mod volumes;
pub mod worker;
