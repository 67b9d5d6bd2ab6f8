//! discovery.k8s.io/v1 strategies: EndpointSlice.

pub mod endpointslice;
