//! The READY, STATUS and RESTARTS cells of a pod row (upstream `printPod`): the aggregate
//! status kubectl shows (Pending, ContainerCreating, CrashLoopBackOff, Init:0/1,
//! Completed, Terminating, ...) and "N (Xm ago)" restarts.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::util::{list_at, str_at, str_of};
use crate::resources::strategy::age_since;

/// The three computed cells of a pod row.
#[derive(Debug, PartialEq, Eq)]
pub struct PodCells {
    /// "ready/total".
    pub ready: String,
    /// The aggregate status.
    pub status: String,
    /// "N" or "N (age ago)".
    pub restarts: String,
}

/// Restart bookkeeping while walking container statuses.
#[derive(Default)]
struct Restarts {
    count: i64,
    last: Option<DateTime<FixedOffset>>,
}

impl Restarts {
    fn add(&mut self, status: &Value) {
        self.count += status.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
        let finished = str_at(status, "/lastState/terminated/finishedAt");
        if let Ok(t) = DateTime::parse_from_rfc3339(finished) {
            if self.last.is_none_or(|l| l < t) {
                self.last = Some(t);
            }
        }
    }
}

/// True for an init container with `restartPolicy: Always` (a sidecar).
fn is_sidecar(pod: &Value, name: &str) -> bool {
    list_at(pod, "/spec/initContainers")
        .iter()
        .any(|c| str_of(c, "name") == name && str_of(c, "restartPolicy") == "Always")
}

fn has_condition(pod: &Value, kind: &str) -> bool {
    list_at(pod, "/status/conditions")
        .iter()
        .any(|c| str_of(c, "type") == kind && str_of(c, "status") == "True")
}

/// The reason of a terminated state with no reason: "Signal:N" or "ExitCode:N".
fn terminated_code(t: &Value, prefix: &str) -> String {
    let signal = t.get("signal").and_then(Value::as_i64).unwrap_or(0);
    if signal != 0 {
        format!("{prefix}Signal:{signal}")
    } else {
        format!("{prefix}ExitCode:{}", t.get("exitCode").and_then(Value::as_i64).unwrap_or(0))
    }
}

/// The running state of the walk over a pod's container statuses.
struct Walk {
    reason: String,
    ready: usize,
    all: Restarts,
    sidecars: Restarts,
}

/// Computes READY, STATUS and RESTARTS exactly as upstream's `printPod`.
pub fn pod_cells(pod: &Value) -> PodCells {
    let phase = str_at(pod, "/status/phase");
    let mut reason = match str_at(pod, "/status/reason") {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    if list_at(pod, "/status/conditions")
        .iter()
        .any(|c| str_of(c, "type") == "PodScheduled" && str_of(c, "reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".to_string();
    }
    let total = list_at(pod, "/spec/containers").len()
        + list_at(pod, "/spec/initContainers").iter().filter(|c| str_of(c, "restartPolicy") == "Always").count();
    let mut walk = Walk { reason, ready: 0, all: Restarts::default(), sidecars: Restarts::default() };
    let initializing = walk_init_containers(pod, &mut walk);
    let restarts = if !initializing || has_condition(pod, "Initialized") {
        walk_containers(pod, &mut walk)
    } else {
        std::mem::take(&mut walk.all)
    };
    let deleting = pod.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null());
    if deleting && str_at(pod, "/status/reason") == "NodeLost" {
        walk.reason = "Unknown".to_string();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        walk.reason = "Terminating".to_string();
    }
    PodCells { ready: format!("{}/{total}", walk.ready), status: walk.reason, restarts: restarts_cell(&restarts) }
}

/// The init-container phase; true when the pod is still initializing.
fn walk_init_containers(pod: &Value, walk: &mut Walk) -> bool {
    let init_count = list_at(pod, "/spec/initContainers").len();
    for (i, status) in list_at(pod, "/status/initContainerStatuses").iter().enumerate() {
        walk.all.add(status);
        let sidecar = is_sidecar(pod, str_of(status, "name"));
        if sidecar {
            walk.sidecars.add(status);
        }
        let state = status.get("state").unwrap_or(&Value::Null);
        let terminated = state.get("terminated").filter(|v| !v.is_null());
        let waiting_reason = str_at(state, "/waiting/reason");
        if terminated.is_some_and(|t| t.get("exitCode").and_then(Value::as_i64).unwrap_or(0) == 0) {
            continue;
        }
        if sidecar && status.get("started").and_then(Value::as_bool) == Some(true) {
            if status.get("ready").and_then(Value::as_bool) == Some(true) {
                walk.ready += 1;
            }
            continue;
        }
        walk.reason = if let Some(t) = terminated {
            match str_of(t, "reason") {
                "" => terminated_code(t, "Init:"),
                r => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{init_count}")
        };
        return true;
    }
    false
}

/// The regular-container phase (walked last to first, as upstream); returns the restarts
/// to show (sidecar restarts plus regular ones).
fn walk_containers(pod: &Value, walk: &mut Walk) -> Restarts {
    let mut restarts = std::mem::take(&mut walk.sidecars);
    let mut has_running = false;
    for status in list_at(pod, "/status/containerStatuses").iter().rev() {
        restarts.add(status);
        let state = status.get("state").unwrap_or(&Value::Null);
        let waiting = str_at(state, "/waiting/reason");
        let terminated = state.get("terminated").filter(|v| !v.is_null());
        if !waiting.is_empty() {
            walk.reason = waiting.to_string();
        } else if let Some(t) = terminated {
            walk.reason = match str_of(t, "reason") {
                "" => terminated_code(t, ""),
                r => r.to_string(),
            };
        } else if status.get("ready").and_then(Value::as_bool) == Some(true)
            && state.get("running").is_some_and(|v| !v.is_null())
        {
            has_running = true;
            walk.ready += 1;
        }
    }
    if walk.reason == "Completed" && has_running {
        walk.reason = if has_condition(pod, "Ready") { "Running" } else { "NotReady" }.to_string();
    }
    restarts
}

fn restarts_cell(r: &Restarts) -> String {
    match r.last {
        Some(t) if r.count != 0 => {
            let ts = Value::String(t.to_rfc3339());
            format!("{} ({} ago)", r.count, age_since(Some(&ts)))
        }
        _ => r.count.to_string(),
    }
}

/// The wide cells: IP, NODE, NOMINATED NODE, READINESS GATES.
pub fn wide_cells(pod: &Value) -> [String; 4] {
    let or_none = |s: &str| if s.is_empty() { "<none>".to_string() } else { s.to_string() };
    let ip = list_at(pod, "/status/podIPs").first().map(|p| str_of(p, "ip")).unwrap_or("");
    let gates = list_at(pod, "/spec/readinessGates");
    let readiness = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conditions = list_at(pod, "/status/conditions");
        let satisfied = gates
            .iter()
            .filter(|g| {
                conditions
                    .iter()
                    .find(|c| str_of(c, "type") == str_of(g, "conditionType"))
                    .is_some_and(|c| str_of(c, "status") == "True")
            })
            .count();
        format!("{satisfied}/{}", gates.len())
    };
    [
        or_none(ip),
        or_none(str_at(pod, "/spec/nodeName")),
        or_none(str_at(pod, "/status/nominatedNodeName")),
        readiness,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: Value) -> Value {
        json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}, "status": status})
    }

    #[test]
    fn pending_and_creating() {
        assert_eq!(pod_cells(&pod(json!({"phase": "Pending"}))).status, "Pending");
        let p = pod(json!({"phase": "Pending", "containerStatuses": [
            {"name": "a", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}},
            {"name": "b", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}
        ]}));
        assert_eq!(pod_cells(&p), PodCells { ready: "0/2".into(), status: "ContainerCreating".into(), restarts: "0".into() });
    }

    #[test]
    fn running_and_crashloop_with_restart_age() {
        let finished = (chrono::Utc::now() - chrono::Duration::seconds(300)).to_rfc3339();
        let p = pod(json!({"phase": "Running", "containerStatuses": [
            {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
            {"name": "b", "ready": false, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": finished}}}
        ]}));
        let cells = pod_cells(&p);
        assert_eq!(cells.ready, "1/2");
        assert_eq!(cells.status, "CrashLoopBackOff");
        assert!(cells.restarts == "4 (5m ago)" || cells.restarts == "4 (5m1s ago)", "{}", cells.restarts);
    }

    #[test]
    fn init_progress_completed_and_terminating() {
        let mut p = pod(json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "i", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}
        ]}));
        p["spec"]["initContainers"] = json!([{"name": "i"}]);
        assert_eq!(pod_cells(&p).status, "Init:0/1");
        let done = pod(json!({"phase": "Succeeded", "containerStatuses": [
            {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
        ]}));
        assert_eq!(pod_cells(&done).status, "Completed");
        let mut gone = pod(json!({"phase": "Running"}));
        gone["metadata"] = json!({"deletionTimestamp": "2024-01-01T00:00:00Z"});
        assert_eq!(pod_cells(&gone).status, "Terminating");
        let oom = pod(json!({"phase": "Running", "containerStatuses": [
            {"name": "a", "state": {"terminated": {"exitCode": 137, "signal": 9}}}
        ]}));
        assert_eq!(pod_cells(&oom).status, "Signal:9");
    }

    #[test]
    fn wide_cells_default_to_none() {
        let p = json!({"spec": {"readinessGates": [{"conditionType": "x/y"}]}, "status": {"podIPs": [{"ip": "10.0.0.5"}], "conditions": [{"type": "x/y", "status": "True"}]}});
        assert_eq!(wide_cells(&p), ["10.0.0.5", "<none>", "<none>", "1/1"]);
    }
}
