//! What to do to bring a pod's runtime state to its spec (upstream's computePodActions), pure:
//! create the sandbox, run init containers one by one in order, then every app container,
//! restarting per restartPolicy, and killing what failed its liveness probe.

use std::collections::HashSet;

use k8s_openapi::api::core::v1::Pod;

use super::observed::{Observed, RunState};

/// A container to start, with the finish time of the instance it replaces (for back-off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// Spec container name.
    pub name: String,
    /// Whether it is an init container.
    pub init: bool,
    /// Restart count the new instance gets.
    pub attempt: u32,
    /// When the replaced instance finished (None for a first start).
    pub previous_finished: Option<i64>,
}

/// The actions of one sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Stop every container and the sandbox (sandbox gone or changed, or the pod is done).
    pub kill_pod: bool,
    /// Create a new sandbox with this attempt number.
    pub create_sandbox: Option<u32>,
    /// Containers to (re)start, in order.
    pub start: Vec<Start>,
    /// Running containers to kill (id, why).
    pub kill: Vec<(String, String)>,
    /// Every container has finished for good (restartPolicy allows no more runs).
    pub terminal: bool,
    /// Ephemeral containers to start (never started before; they are never restarted).
    pub ephemeral: Vec<String>,
}

/// The pod's restart policy (Always by default).
pub fn restart_policy(pod: &Pod) -> String {
    pod.spec.as_ref().and_then(|s| s.restart_policy.clone()).unwrap_or_else(|| "Always".into())
}

/// Whether a container that exited with `code` should run again under `policy`.
pub fn should_restart(policy: &str, code: i32) -> bool {
    policy == "Always" || (policy == "OnFailure" && code != 0)
}

fn next_attempt(obs: &Observed, name: &str) -> u32 {
    obs.latest(name).map(|i| i.attempt + 1).unwrap_or(0)
}

fn first_start(obs: &Observed, pod: &Pod) -> Start {
    let spec = pod.spec.clone().unwrap_or_default();
    match spec.init_containers.as_ref().and_then(|ic| ic.first()) {
        Some(c) => Start { name: c.name.clone(), init: true, attempt: next_attempt(obs, &c.name), previous_finished: None },
        None => Start { name: String::new(), init: false, attempt: 0, previous_finished: None },
    }
}

fn sandbox_plan(pod: &Pod, obs: &Observed) -> Option<Plan> {
    let healthy = obs.sandbox.as_ref().is_some_and(|s| s.ready);
    if healthy {
        return None;
    }
    let policy = restart_policy(pod);
    let attempt = obs.sandbox.as_ref().map(|s| s.attempt + 1).unwrap_or(0);
    if policy != "Always" && obs.sandbox.is_some() && !obs.instances.is_empty() {
        // Created before and must not run again: only clean up.
        return Some(Plan { kill_pod: true, terminal: all_done_without_restart(pod, obs), ..Default::default() });
    }
    let mut plan = Plan { kill_pod: obs.sandbox.is_some(), create_sandbox: Some(attempt), ..Default::default() };
    let first = first_start(obs, pod);
    if first.init {
        plan.start.push(first);
    } else {
        plan.start = app_starts(pod, &Observed::default(), &HashSet::new()).0;
        for s in &mut plan.start {
            s.attempt = next_attempt(obs, &s.name);
        }
    }
    Some(plan)
}

fn all_done_without_restart(pod: &Pod, obs: &Observed) -> bool {
    let policy = restart_policy(pod);
    let spec = pod.spec.clone().unwrap_or_default();
    spec.containers.iter().all(|c| match obs.latest(&c.name) {
        Some(i) => i.state == RunState::Exited && !should_restart(&policy, i.exit_code),
        None => false,
    }) || init_failed_for_good(pod, obs)
}

fn init_failed_for_good(pod: &Pod, obs: &Observed) -> bool {
    restart_policy(pod) == "Never"
        && pod.spec.as_ref().and_then(|s| s.init_containers.as_ref()).into_iter().flatten().any(|c| {
            obs.latest(&c.name).is_some_and(|i| i.state == RunState::Exited && i.exit_code != 0)
        })
}

/// Init containers: `Ok(())` when all succeeded, else the step to take (possibly nothing).
fn init_step(pod: &Pod, obs: &Observed) -> Result<(), Option<Start>> {
    let policy = restart_policy(pod);
    for c in pod.spec.as_ref().and_then(|s| s.init_containers.as_ref()).into_iter().flatten() {
        let sidecar = c.restart_policy.as_deref() == Some("Always");
        let current = obs.sandbox.as_ref().map(|s| s.id.as_str());
        // Init containers run again in a new sandbox.
        match obs.latest(&c.name).filter(|i| Some(i.sandbox_id.as_str()) == current) {
            None => {
                let attempt = next_attempt(obs, &c.name);
                return Err(Some(Start { name: c.name.clone(), init: true, attempt, previous_finished: None }));
            }
            Some(i) if i.state == RunState::Running && sidecar => continue,
            Some(i) if i.state == RunState::Running => return Err(None),
            Some(i) if i.state == RunState::Exited && i.exit_code == 0 && !sidecar => continue,
            Some(i) if i.state == RunState::Exited && !should_restart(if sidecar { "Always" } else { &policy }, i.exit_code) => {
                return Err(None)
            }
            Some(i) => {
                let finished = (i.state == RunState::Exited).then_some(i.finished_at);
                return Err(Some(Start { name: c.name.clone(), init: true, attempt: i.attempt + 1, previous_finished: finished }));
            }
        }
    }
    Ok(())
}

/// App containers to start and running ones to kill.
fn app_starts(pod: &Pod, obs: &Observed, unhealthy: &HashSet<String>) -> (Vec<Start>, Vec<(String, String)>) {
    let policy = restart_policy(pod);
    let mut starts = vec![];
    let mut kills = vec![];
    for c in pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default() {
        match obs.latest(&c.name) {
            None => starts.push(Start { name: c.name.clone(), init: false, attempt: 0, previous_finished: None }),
            Some(i) if i.state == RunState::Running => {
                if unhealthy.contains(&i.id) {
                    kills.push((i.id.clone(), format!("Container {} failed liveness probe, will be restarted", c.name)));
                }
            }
            Some(i) if i.state == RunState::Exited => {
                if should_restart(&policy, i.exit_code) {
                    starts.push(Start { name: c.name.clone(), init: false, attempt: i.attempt + 1, previous_finished: Some(i.finished_at) });
                }
            }
            Some(i) => starts.push(Start { name: c.name.clone(), init: false, attempt: i.attempt + 1, previous_finished: None }),
        }
    }
    (starts, kills)
}

/// Ephemeral containers that never ran: each runs once, in a ready sandbox, even before the
/// init containers are done (as upstream).
fn ephemeral_starts(pod: &Pod, obs: &Observed) -> Vec<String> {
    let list = pod.spec.as_ref().and_then(|s| s.ephemeral_containers.as_ref());
    list.into_iter().flatten().filter(|c| obs.latest(&c.name).is_none()).map(|c| c.name.clone()).collect()
}

/// The plan for one sync of `pod`; `unhealthy` holds ids of containers whose liveness or
/// startup probe failed.
pub fn plan(pod: &Pod, obs: &Observed, unhealthy: &HashSet<String>) -> Plan {
    if let Some(p) = sandbox_plan(pod, obs) {
        return p;
    }
    if init_failed_for_good(pod, obs) {
        return Plan { kill_pod: true, terminal: true, ..Default::default() };
    }
    let ephemeral = ephemeral_starts(pod, obs);
    if let Err(step) = init_step(pod, obs) {
        return Plan { start: step.into_iter().collect(), ephemeral, ..Default::default() };
    }
    let (start, kill) = app_starts(pod, obs, unhealthy);
    let terminal = start.is_empty() && kill.is_empty() && all_done_without_restart(pod, obs);
    let ephemeral = if terminal { vec![] } else { ephemeral };
    Plan { kill_pod: terminal, start, kill, terminal, ephemeral, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::super::observed::{Instance, Sandbox};
    use super::*;
    use serde_json::json;

    fn pod(policy: &str, init: &[&str], apps: &[&str]) -> Pod {
        let c = |n: &&str| json!({"name": n, "image": "busybox"});
        serde_json::from_value(json!({"metadata": {"name": "p", "uid": "u"}, "spec": {
            "restartPolicy": policy,
            "initContainers": init.iter().map(c).collect::<Vec<_>>(),
            "containers": apps.iter().map(c).collect::<Vec<_>>(),
        }}))
        .unwrap()
    }

    fn inst(name: &str, attempt: u32, state: RunState, code: i32, created: i64) -> Instance {
        Instance {
            id: format!("{name}-{attempt}"),
            name: name.into(),
            attempt,
            state,
            created_at: created,
            started_at: created,
            finished_at: if state == RunState::Exited { created + 5 } else { 0 },
            exit_code: code,
            reason: String::new(),
            message: String::new(),
            image: "busybox".into(),
            image_ref: "sha".into(),
            sandbox_id: "sb".into(),
            log_path: String::new(),
        }
    }

    fn obs(instances: Vec<Instance>) -> Observed {
        let mut instances = instances;
        instances.sort_by_key(|i| std::cmp::Reverse(i.created_at));
        Observed { sandbox: Some(Sandbox { id: "sb".into(), ready: true, ip: "10.0.0.2".into(), attempt: 0, created_at: 1 }), old_sandboxes: vec![], instances }
    }

    #[test]
    fn new_pod_gets_sandbox_then_first_init() {
        let p = pod("Always", &["i1", "i2"], &["a"]);
        let plan = plan(&p, &Observed::default(), &HashSet::new());
        assert_eq!(plan.create_sandbox, Some(0));
        assert!(!plan.kill_pod);
        assert_eq!(plan.start.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), vec!["i1"]);
        let p = pod("Always", &[], &["a", "b"]);
        let pl = super::plan(&p, &Observed::default(), &HashSet::new());
        assert_eq!(pl.start.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
    }

    #[test]
    fn init_containers_run_in_order() {
        let p = pod("Always", &["i1", "i2"], &["a"]);
        let running = obs(vec![inst("i1", 0, RunState::Running, 0, 10)]);
        assert!(plan(&p, &running, &HashSet::new()).start.is_empty());
        let first_done = obs(vec![inst("i1", 0, RunState::Exited, 0, 10)]);
        assert_eq!(plan(&p, &first_done, &HashSet::new()).start[0].name, "i2");
        let both = obs(vec![inst("i1", 0, RunState::Exited, 0, 10), inst("i2", 0, RunState::Exited, 0, 20)]);
        assert_eq!(plan(&p, &both, &HashSet::new()).start[0].name, "a");
        let failed = obs(vec![inst("i1", 0, RunState::Exited, 1, 10)]);
        let pl = plan(&p, &failed, &HashSet::new());
        assert_eq!((pl.start[0].name.as_str(), pl.start[0].attempt, pl.start[0].previous_finished), ("i1", 1, Some(15)));
        let never = pod("Never", &["i1"], &["a"]);
        let pl = plan(&never, &failed, &HashSet::new());
        assert!(pl.terminal && pl.kill_pod && pl.start.is_empty());
    }

    #[test]
    fn restart_policies() {
        let exited_ok = obs(vec![inst("a", 0, RunState::Exited, 0, 10)]);
        let exited_bad = obs(vec![inst("a", 3, RunState::Exited, 2, 10)]);
        let always = pod("Always", &[], &["a"]);
        assert_eq!(plan(&always, &exited_ok, &HashSet::new()).start[0].attempt, 1);
        assert_eq!(plan(&always, &exited_bad, &HashSet::new()).start[0].attempt, 4);
        let on_failure = pod("OnFailure", &[], &["a"]);
        let pl = plan(&on_failure, &exited_ok, &HashSet::new());
        assert!(pl.start.is_empty() && pl.terminal);
        assert_eq!(plan(&on_failure, &exited_bad, &HashSet::new()).start.len(), 1);
        let never = pod("Never", &[], &["a"]);
        assert!(plan(&never, &exited_bad, &HashSet::new()).terminal);
    }

    #[test]
    fn ephemeral_containers_start_once() {
        let mut p = pod("Always", &[], &["a"]);
        p.spec.as_mut().unwrap().ephemeral_containers =
            Some(vec![serde_json::from_value(json!({"name": "debugger", "image": "busybox", "targetContainerName": "a"})).unwrap()]);
        let running = obs(vec![inst("a", 0, RunState::Running, 0, 10)]);
        let pl = plan(&p, &running, &HashSet::new());
        assert_eq!(pl.ephemeral, vec!["debugger"]);
        assert!(pl.start.is_empty());
        let exited = obs(vec![inst("a", 0, RunState::Running, 0, 10), inst("debugger", 0, RunState::Exited, 0, 20)]);
        let pl = plan(&p, &exited, &HashSet::new());
        assert!(pl.ephemeral.is_empty() && pl.start.is_empty() && !pl.terminal);
        // Never in a sandbox being created.
        assert!(plan(&p, &Observed::default(), &HashSet::new()).ephemeral.is_empty());
    }

    #[test]
    fn liveness_failure_kills_and_dead_sandbox_is_replaced() {
        let p = pod("Always", &[], &["a"]);
        let running = obs(vec![inst("a", 0, RunState::Running, 0, 10)]);
        let pl = plan(&p, &running, &HashSet::from(["a-0".to_string()]));
        assert_eq!(pl.kill.len(), 1);
        let mut dead = running.clone();
        dead.sandbox.as_mut().unwrap().ready = false;
        let pl = plan(&p, &dead, &HashSet::new());
        assert!(pl.kill_pod);
        assert_eq!(pl.create_sandbox, Some(1));
        assert_eq!(pl.start[0].attempt, 1);
        let never = pod("Never", &[], &["a"]);
        let pl = plan(&never, &dead, &HashSet::new());
        assert!(pl.kill_pod && pl.create_sandbox.is_none());
    }
}
