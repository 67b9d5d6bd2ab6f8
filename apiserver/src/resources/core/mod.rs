//! Strategies of the core/v1 resources (upstream's `pkg/registry/core/*/strategy.go`,
//! `pkg/apis/core/v1/defaults.go`, `pkg/apis/core/validation` and the table printers of
//! `pkg/printers/internalversion`), one resource per file, plus the PodSpec pieces they
//! share.

pub mod configmap;
pub mod container_validation;
pub mod endpoints;
pub mod ephemeral_containers;
pub mod event;
pub mod limitrange;
pub mod namespace;
pub mod node;
pub mod persistentvolume;
pub mod persistentvolumeclaim;
pub mod pod;
pub mod pod_status;
pub mod pod_update;
pub mod podspec_defaults;
pub mod podspec_validation;
pub mod podtemplate;
pub mod quantity;
pub mod replicationcontroller;
pub mod resourcequota;
pub mod secret;
pub mod service;
pub mod service_validation;
pub mod serviceaccount;
pub mod util;

pub use configmap::ConfigMapStrategy;
pub use endpoints::EndpointsStrategy;
pub use event::EventStrategy;
pub use limitrange::LimitRangeStrategy;
pub use namespace::NamespaceStrategy;
pub use node::NodeStrategy;
pub use persistentvolume::PersistentVolumeStrategy;
pub use persistentvolumeclaim::PersistentVolumeClaimStrategy;
pub use pod::PodStrategy;
pub use podtemplate::PodTemplateStrategy;
pub use replicationcontroller::ReplicationControllerStrategy;
pub use resourcequota::ResourceQuotaStrategy;
pub use secret::SecretStrategy;
pub use service::ServiceStrategy;
pub use serviceaccount::ServiceAccountStrategy;
