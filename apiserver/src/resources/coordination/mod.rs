//! coordination.k8s.io/v1 strategies: Lease.

pub mod lease;
