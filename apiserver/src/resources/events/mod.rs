//! events.k8s.io/v1 strategies: Event.

pub mod event;
