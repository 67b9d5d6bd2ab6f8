//! storage.k8s.io/v1 strategies: StorageClass.

pub mod storageclass;
