//! What one StatefulSet sync should do (upstream `stateful_set_control.go`
//! `updateStatefulSet`), as a pure function of the pods the set has: create missing pods
//! in ordinal order, delete condemned ones in reverse order, and roll updated pods from the
//! highest ordinal down to the partition. `OrderedReady` stops at the first pod that is not
//! yet Running and Ready; `Parallel` does not wait.

/// What the planner needs to know of one existing pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    /// The pod's ordinal (from its name).
    pub ordinal: i32,
    /// The pod's name.
    pub name: String,
    /// The revision name in its `controller-revision-hash` label.
    pub revision: String,
    /// Phase Failed or Succeeded: the pod must be replaced.
    pub finished: bool,
    /// It has a deletionTimestamp.
    pub terminating: bool,
    /// Phase Running with condition Ready=True (and available per minReadySeconds).
    pub running_ready: bool,
    /// Name, hostname, subdomain, identity labels and storage are as they should be.
    pub identity_ok: bool,
}

/// Everything the planner looks at.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// `spec.ordinals.start`.
    pub start: i32,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `podManagementPolicy: Parallel`.
    pub parallel: bool,
    /// `updateStrategy.type: RollingUpdate` (else OnDelete).
    pub rolling: bool,
    /// `updateStrategy.rollingUpdate.partition`.
    pub partition: i32,
    /// `status.currentReplicas` (used by OnDelete to pick a new pod's revision).
    pub current_replicas: i32,
    /// The update revision's name.
    pub update_revision: String,
    /// The set's pods.
    pub pods: Vec<PodView>,
}

/// One step of a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create the pod (and its claims) for an ordinal, at the update revision or not.
    Create {
        /// The ordinal.
        ordinal: i32,
        /// True: the update revision; false: the current revision.
        update_revision: bool,
    },
    /// Delete a pod by name.
    Delete(String),
    /// Rewrite a pod's identity (labels, hostname, subdomain) in place.
    FixIdentity(i32),
}

/// Whether a pod for `ordinal` should be made from the update revision.
pub fn uses_update_revision(input: &PlanInput, ordinal: i32) -> bool {
    let bound = if input.rolling { input.partition } else { input.current_replicas };
    ordinal >= input.start + bound
}

fn healthy(p: &PodView) -> bool {
    p.running_ready && !p.terminating
}

/// The actions of one sync, in order. Under OrderedReady the list ends at the first step
/// that must be observed before going on.
pub fn plan(input: &PlanInput) -> Vec<Action> {
    let monotonic = !input.parallel;
    let end = input.start + input.replicas.max(0);
    let slot = |o: i32| input.pods.iter().find(|p| p.ordinal == o);
    let mut condemned: Vec<&PodView> = input.pods.iter().filter(|p| p.ordinal < input.start || p.ordinal >= end).collect();
    condemned.sort_by_key(|p| std::cmp::Reverse(p.ordinal));
    let first_unhealthy = (input.start..end)
        .filter_map(slot)
        .chain(condemned.iter().rev().copied())
        .find(|p| !healthy(p))
        .map(|p| p.name.clone());
    let mut actions = Vec::new();
    if !replica_actions(input, monotonic, end, &mut actions) {
        return actions;
    }
    if !condemned_actions(&condemned, monotonic, first_unhealthy.as_deref(), &mut actions) {
        return actions;
    }
    if input.rolling {
        rolling_actions(input, end, &mut actions);
    }
    actions
}

/// Creates, replaces and fixes pods inside the range; false when the sync must stop.
fn replica_actions(input: &PlanInput, monotonic: bool, end: i32, actions: &mut Vec<Action>) -> bool {
    for ordinal in input.start..end {
        let Some(pod) = input.pods.iter().find(|p| p.ordinal == ordinal) else {
            actions.push(Action::Create { ordinal, update_revision: uses_update_revision(input, ordinal) });
            if monotonic {
                return false;
            }
            continue;
        };
        if pod.finished && !pod.terminating {
            actions.push(Action::Delete(pod.name.clone()));
            if monotonic {
                return false;
            }
            continue;
        }
        if monotonic && !healthy(pod) {
            return false;
        }
        if !pod.identity_ok && !pod.terminating {
            actions.push(Action::FixIdentity(ordinal));
        }
    }
    true
}

/// Deletes pods outside the range, highest ordinal first; false when the sync must stop.
fn condemned_actions(condemned: &[&PodView], monotonic: bool, first_unhealthy: Option<&str>, actions: &mut Vec<Action>) -> bool {
    for pod in condemned {
        if pod.terminating {
            if monotonic {
                return false;
            }
            continue;
        }
        if monotonic && !pod.running_ready && first_unhealthy != Some(pod.name.as_str()) {
            return false;
        }
        actions.push(Action::Delete(pod.name.clone()));
        if monotonic {
            return false;
        }
    }
    true
}

/// Deletes the highest-ordinal pod not at the update revision, down to the partition.
fn rolling_actions(input: &PlanInput, end: i32, actions: &mut Vec<Action>) {
    let min = input.start + input.partition.max(0);
    for ordinal in (min..end).rev() {
        let Some(pod) = input.pods.iter().find(|p| p.ordinal == ordinal) else { return };
        if pod.revision != input.update_revision && !pod.terminating {
            actions.push(Action::Delete(pod.name.clone()));
            return;
        }
        if !healthy(pod) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ordinal: i32, rev: &str, ready: bool) -> PodView {
        PodView {
            ordinal,
            name: format!("web-{ordinal}"),
            revision: rev.into(),
            finished: false,
            terminating: false,
            running_ready: ready,
            identity_ok: true,
        }
    }

    fn input(replicas: i32, pods: Vec<PodView>) -> PlanInput {
        PlanInput { replicas, rolling: true, update_revision: "r1".into(), pods, ..Default::default() }
    }

    #[test]
    fn ordered_ready_creates_one_at_a_time() {
        assert_eq!(plan(&input(3, vec![])), [Action::Create { ordinal: 0, update_revision: true }]);
        // web-0 exists but is not ready: wait.
        assert!(plan(&input(3, vec![pod(0, "r1", false)])).is_empty());
        assert_eq!(plan(&input(3, vec![pod(0, "r1", true)])), [Action::Create { ordinal: 1, update_revision: true }]);
    }

    #[test]
    fn parallel_creates_all() {
        let mut i = input(3, vec![pod(1, "r1", false)]);
        i.parallel = true;
        assert_eq!(
            plan(&i),
            [Action::Create { ordinal: 0, update_revision: true }, Action::Create { ordinal: 2, update_revision: true }]
        );
    }

    #[test]
    fn scale_down_in_reverse_one_at_a_time() {
        let pods = vec![pod(0, "r1", true), pod(1, "r1", true), pod(2, "r1", true)];
        assert_eq!(plan(&input(0, pods.clone())), [Action::Delete("web-2".into())]);
        let mut terminating = pods.clone();
        terminating[2].terminating = true;
        assert!(plan(&input(0, terminating)).is_empty());
        // An unready web-2 is not deleted while web-1 is the first unhealthy pod...
        let mut unready = pods.clone();
        unready[1].running_ready = false;
        unready[2].running_ready = false;
        assert!(plan(&input(1, unready.clone())).is_empty());
        // ...but the first unhealthy pod itself may go.
        assert_eq!(plan(&input(2, vec![pod(0, "r1", true), pod(1, "r1", true), pod(2, "r1", false)])), [Action::Delete("web-2".into())]);
    }

    #[test]
    fn rolling_update_respects_partition() {
        let pods = vec![pod(0, "r0", true), pod(1, "r0", true), pod(2, "r0", true)];
        assert_eq!(plan(&input(3, pods.clone())), [Action::Delete("web-2".into())]);
        let mut i = input(3, vec![pod(0, "r0", true), pod(1, "r0", true), pod(2, "r1", true)]);
        i.partition = 2;
        assert!(plan(&i).is_empty());
        i.partition = 1;
        assert_eq!(plan(&i), [Action::Delete("web-1".into())]);
        // A missing pod below the partition is recreated at the current revision.
        let mut i = input(3, vec![pod(1, "r0", true), pod(2, "r1", true)]);
        i.partition = 2;
        assert_eq!(plan(&i), [Action::Create { ordinal: 0, update_revision: false }]);
    }

    #[test]
    fn failed_pods_are_replaced_and_identity_fixed() {
        let mut failed = pod(0, "r1", false);
        failed.finished = true;
        assert_eq!(plan(&input(1, vec![failed])), [Action::Delete("web-0".into())]);
        let mut odd = pod(0, "r1", true);
        odd.identity_ok = false;
        assert_eq!(plan(&input(1, vec![odd])), [Action::FixIdentity(0)]);
    }
}
