//! networking.k8s.io/v1 strategies: Ingress, IngressClass and NetworkPolicy, with the
//! address, port and reference checks they share.

pub mod ingress;
pub mod ingressclass;
pub mod net;
pub mod networkpolicy;
pub mod typedref;
