//! policy/v1 strategies: PodDisruptionBudget.

pub mod poddisruptionbudget;
