//! Shared scoring of requested-vs-allocatable (upstream `resourceAllocationScorer`), used by
//! NodeResourcesFit's strategies and NodeResourcesBalancedAllocation.

use serde::Deserialize;

use crate::framework::interface::MAX_NODE_SCORE;
use crate::framework::types::{NodeInfo, PodInfo};

/// A resource and its weight in a score.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ResourceSpec {
    /// Resource name (cpu, memory, or an extended resource).
    pub name: String,
    /// Weight (default 1).
    #[serde(default = "one")]
    pub weight: i64,
}

fn one() -> i64 {
    1
}

/// Upstream's default: cpu and memory, weight 1 each.
pub fn default_resources() -> Vec<ResourceSpec> {
    vec![
        ResourceSpec {
            name: "cpu".into(),
            weight: 1,
        },
        ResourceSpec {
            name: "memory".into(),
            weight: 1,
        },
    ]
}

fn is_scalar(name: &str) -> bool {
    !matches!(name, "cpu" | "memory" | "ephemeral-storage" | "pods")
}

/// The pod's request of each resource; without `use_requested`, cpu and memory use
/// upstream's non-zero defaults.
pub fn pod_request_list(
    pod: &PodInfo,
    resources: &[ResourceSpec],
    use_requested: bool,
) -> Vec<i64> {
    resources
        .iter()
        .map(|r| match r.name.as_str() {
            "cpu" | "memory" if !use_requested => pod.non_zero_requests.get(&r.name),
            name => pod.requests.get(name),
        })
        .collect()
}

/// Upstream `calculateResourceAllocatableRequest`: (allocatable, requested incl. the pod).
pub fn allocatable_and_requested(
    node: &NodeInfo,
    name: &str,
    pod_request: i64,
    use_requested: bool,
) -> (i64, i64) {
    if pod_request == 0 && is_scalar(name) {
        return (0, 0);
    }
    let requested = if use_requested {
        &node.requested
    } else {
        &node.non_zero_requested
    };
    match name {
        "cpu" => (
            node.allocatable.milli_cpu,
            requested.milli_cpu + pod_request,
        ),
        "memory" => (node.allocatable.memory, requested.memory + pod_request),
        "ephemeral-storage" => (
            node.allocatable.ephemeral_storage,
            node.requested.ephemeral_storage + pod_request,
        ),
        other => match node.allocatable.scalar.get(other) {
            Some(a) => (
                *a,
                node.requested.scalar.get(other).copied().unwrap_or(0) + pod_request,
            ),
            None => (0, 0),
        },
    }
}

/// (requested, allocatable) per resource for a node.
pub fn vectors(
    node: &NodeInfo,
    resources: &[ResourceSpec],
    pod_requests: &[i64],
    use_requested: bool,
) -> (Vec<i64>, Vec<i64>) {
    let mut req = vec![0; resources.len()];
    let mut alloc = vec![0; resources.len()];
    for (i, r) in resources.iter().enumerate() {
        let (a, q) = allocatable_and_requested(node, &r.name, pod_requests[i], use_requested);
        if a != 0 {
            alloc[i] = a;
            req[i] = q;
        }
    }
    (req, alloc)
}

fn weighted(
    resources: &[ResourceSpec],
    requested: &[i64],
    alloc: &[i64],
    f: impl Fn(i64, i64) -> i64,
) -> i64 {
    let (mut total, mut weights) = (0, 0);
    for i in 0..resources.len() {
        if alloc[i] == 0 {
            continue;
        }
        total += f(requested[i], alloc[i]) * resources[i].weight;
        weights += resources[i].weight;
    }
    if weights == 0 {
        0
    } else {
        total / weights
    }
}

/// LeastAllocated: free share of each resource, weighted.
pub fn least_allocated(resources: &[ResourceSpec], requested: &[i64], alloc: &[i64]) -> i64 {
    weighted(resources, requested, alloc, |r, c| {
        if c == 0 || r > c {
            0
        } else {
            (c - r) * MAX_NODE_SCORE / c
        }
    })
}

/// MostAllocated: used share of each resource, weighted.
pub fn most_allocated(resources: &[ResourceSpec], requested: &[i64], alloc: &[i64]) -> i64 {
    weighted(resources, requested, alloc, |r, c| {
        if c == 0 {
            0
        } else {
            r.min(c) * MAX_NODE_SCORE / c
        }
    })
}

/// One point of a RequestedToCapacityRatio shape (utilization 0-100, score 0-10).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct UtilizationShapePoint {
    /// Utilization percentage.
    pub utilization: i64,
    /// Score at that utilization (0-10).
    pub score: i64,
}

fn broken_linear(shape: &[UtilizationShapePoint], p: i64) -> i64 {
    for i in 0..shape.len() {
        if p <= shape[i].utilization {
            if i == 0 {
                return shape[0].score;
            }
            let (a, b) = (&shape[i - 1], &shape[i]);
            return a.score
                + (b.score - a.score) * (p - a.utilization) / (b.utilization - a.utilization);
        }
    }
    shape.last().map(|s| s.score).unwrap_or(0)
}

/// RequestedToCapacityRatio: a piecewise-linear function of utilization (scores scaled ×10).
pub fn requested_to_capacity_ratio(
    shape: &[UtilizationShapePoint],
    resources: &[ResourceSpec],
    requested: &[i64],
    alloc: &[i64],
) -> i64 {
    let scaled: Vec<UtilizationShapePoint> = shape
        .iter()
        .map(|p| UtilizationShapePoint {
            utilization: p.utilization,
            score: p.score * (MAX_NODE_SCORE / 10),
        })
        .collect();
    let f = |r: i64, c: i64| {
        if c == 0 || r > c {
            broken_linear(&scaled, 100)
        } else {
            broken_linear(&scaled, r * 100 / c)
        }
    };
    let (mut total, mut weights) = (0i64, 0i64);
    for i in 0..resources.len() {
        if alloc[i] == 0 {
            continue;
        }
        total += f(requested[i], alloc[i]) * resources[i].weight;
        weights += resources[i].weight;
    }
    if weights == 0 {
        0
    } else {
        (total as f64 / weights as f64).round() as i64
    }
}

/// BalancedAllocation: 100 × (1 − standard deviation of the utilization fractions).
pub fn balanced(requested: &[i64], alloc: &[i64]) -> i64 {
    let fractions: Vec<f64> = (0..requested.len())
        .filter(|i| alloc[*i] != 0)
        .map(|i| (requested[i] as f64 / alloc[i] as f64).min(1.0))
        .collect();
    let std = match fractions.len() {
        0 | 1 => 0.0,
        2 => ((fractions[0] - fractions[1]) / 2.0).abs(),
        n => {
            let mean = fractions.iter().sum::<f64>() / n as f64;
            (fractions
                .iter()
                .map(|f| (f - mean) * (f - mean))
                .sum::<f64>()
                / n as f64)
                .sqrt()
        }
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies() {
        let res = default_resources();
        // cpu 3000/4000 used, memory 2/8 GiB used.
        let (req, alloc) = (vec![3000, 2 << 30], vec![4000, 8 << 30]);
        assert_eq!(least_allocated(&res, &req, &alloc), (25 + 75) / 2);
        assert_eq!(most_allocated(&res, &req, &alloc), (75 + 25) / 2);
        assert_eq!(balanced(&req, &alloc), 75);
        let shape = vec![
            UtilizationShapePoint {
                utilization: 0,
                score: 0,
            },
            UtilizationShapePoint {
                utilization: 100,
                score: 10,
            },
        ];
        assert_eq!(requested_to_capacity_ratio(&shape, &res, &req, &alloc), 50);
    }
}
