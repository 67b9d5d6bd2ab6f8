//! scheduling.k8s.io/v1 strategies: PriorityClass.

pub mod priorityclass;
