//! What every rkube component (controller-manager, scheduler, kubelet, kube-proxy) shares,
//! as upstream's k8s.io/component-base: the kubeconfig-driven client, leader election
//! through a Lease, the /healthz /readyz /metrics server, and logging set-up.

pub mod client;
pub mod health;
pub mod leader;
pub mod logging;
