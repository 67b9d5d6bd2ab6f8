//! A pod's status from what the runtime holds (pure): phase, container statuses with
//! state/lastState/restartCount/ready/started, conditions, IPs — as upstream's
//! generateAPIPodStatus computes them.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{json, Value};

use super::observed::{Instance, Observed, RunState};
use super::plan::{restart_policy, should_restart};

/// Probe results and remembered errors the status depends on.
pub struct StatusInputs<'a> {
    /// The pod.
    pub pod: &'a Pod,
    /// The runtime's view.
    pub obs: &'a Observed,
    /// The node's IP.
    pub host_ip: &'a str,
    /// Runtime name for container IDs, e.g. "containerd".
    pub runtime_name: &'a str,
    /// Readiness result by container id (None: no result yet).
    pub readiness: &'a dyn Fn(&str) -> Option<bool>,
    /// Startup result by container id.
    pub startup: &'a dyn Fn(&str) -> Option<bool>,
    /// Waiting reason and message by container name (image or config errors, back-off).
    pub waiting: &'a HashMap<String, (String, String)>,
    /// Now, RFC 3339.
    pub now: &'a str,
}

fn rfc3339(nanos: i64) -> String {
    chrono::DateTime::from_timestamp(nanos / 1_000_000_000, (nanos % 1_000_000_000) as u32)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn terminated(i: &Instance, runtime: &str) -> Value {
    let reason = if !i.reason.is_empty() {
        i.reason.clone()
    } else if i.exit_code == 0 {
        "Completed".into()
    } else {
        "Error".into()
    };
    let mut t = json!({
        "exitCode": i.exit_code, "reason": reason,
        "startedAt": rfc3339(i.started_at), "finishedAt": rfc3339(i.finished_at),
        "containerID": format!("{runtime}://{}", i.id),
    });
    if !i.message.is_empty() {
        t["message"] = json!(i.message);
    }
    json!({ "terminated": t })
}

struct One<'a> {
    c: &'a Container,
    init: bool,
    default_waiting: &'static str,
}

fn container_status(inp: &StatusInputs, one: &One) -> Value {
    let c = one.c;
    let latest = inp.obs.latest(&c.name);
    let image = c.image.clone().unwrap_or_default();
    let mut s = json!({
        "name": c.name, "image": image, "imageID": "", "ready": false, "restartCount": 0, "started": false,
        "state": {"waiting": {"reason": one.default_waiting}},
        "lastState": {},
    });
    if let Some((reason, message)) = inp.waiting.get(&c.name) {
        s["state"] = json!({"waiting": {"reason": reason, "message": message}});
    }
    let Some(i) = latest else { return s };
    s["restartCount"] = json!(i.attempt);
    s["imageID"] = json!(i.image_ref);
    s["containerID"] = json!(format!("{}://{}", inp.runtime_name, i.id));
    let prev = inp.obs.previous(&c.name);
    match i.state {
        RunState::Running => {
            let started = c.startup_probe.is_none() || (inp.startup)(&i.id) == Some(true);
            let ready = started && if c.readiness_probe.is_some() { (inp.readiness)(&i.id) == Some(true) } else { true };
            s["state"] = json!({"running": {"startedAt": rfc3339(i.started_at)}});
            s["started"] = json!(started);
            let sidecar = c.restart_policy.as_deref() == Some("Always");
            s["ready"] = json!(ready && (!one.init || sidecar));
            if let Some(p) = prev.filter(|p| p.state == RunState::Exited) {
                s["lastState"] = terminated(p, inp.runtime_name);
            }
        }
        RunState::Exited => {
            let waiting = inp.waiting.get(&c.name);
            if let Some((reason, message)) = waiting {
                s["state"] = json!({"waiting": {"reason": reason, "message": message}});
                s["lastState"] = terminated(i, inp.runtime_name);
            } else {
                s["state"] = terminated(i, inp.runtime_name);
                if let Some(p) = prev.filter(|p| p.state == RunState::Exited) {
                    s["lastState"] = terminated(p, inp.runtime_name);
                }
            }
            if one.init && i.exit_code == 0 {
                s["ready"] = json!(true);
            }
        }
        RunState::Created | RunState::Unknown => {
            if let Some(p) = prev.filter(|p| p.state == RunState::Exited) {
                s["lastState"] = terminated(p, inp.runtime_name);
            }
        }
    }
    s
}

/// Upstream's getPhase.
pub fn phase(pod: &Pod, obs: &Observed) -> &'static str {
    let spec = pod.spec.clone().unwrap_or_default();
    let policy = restart_policy(pod);
    for c in spec.init_containers.iter().flatten() {
        if c.restart_policy.as_deref() == Some("Always") {
            continue;
        }
        match obs.latest(&c.name) {
            Some(i) if i.state == RunState::Exited && i.exit_code == 0 => {}
            Some(i) if i.state == RunState::Exited && policy == "Never" => return "Failed",
            _ => return "Pending",
        }
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in &spec.containers {
        match obs.latest(&c.name) {
            Some(i) if i.state == RunState::Running => running += 1,
            Some(i) if i.state == RunState::Exited => {
                stopped += 1;
                if i.exit_code == 0 {
                    succeeded += 1;
                }
            }
            Some(i) if i.attempt > 0 => stopped += 1,
            _ => waiting += 1,
        }
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped > 0 {
        if policy == "Always" {
            return "Running";
        }
        if stopped == succeeded {
            return "Succeeded";
        }
        let failed_restartable = spec.containers.iter().any(|c| obs.latest(&c.name).is_some_and(|i| should_restart(&policy, i.exit_code)));
        return if failed_restartable { "Running" } else { "Failed" };
    }
    "Pending"
}

fn condition(type_: &str, ok: bool, reason: &str, message: String, previous: Option<&Value>, now: &str) -> Value {
    let status = if ok { "True" } else { "False" };
    let transition = previous
        .filter(|p| p["status"] == status)
        .and_then(|p| p["lastTransitionTime"].as_str())
        .unwrap_or(now)
        .to_string();
    let mut c = json!({"type": type_, "status": status, "lastProbeTime": null, "lastTransitionTime": transition});
    if !ok && !reason.is_empty() {
        c["reason"] = json!(reason);
        c["message"] = json!(message);
    }
    if ok && reason == "PodCompleted" {
        c["reason"] = json!(reason);
    }
    c
}

fn conditions(inp: &StatusInputs, phase: &str, init: &[Value], apps: &[Value]) -> Vec<Value> {
    let prev: Vec<Value> = inp.pod.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default().into_iter().filter_map(|c| serde_json::to_value(c).ok()).collect();
    let find = |t: &str| prev.iter().find(|c| c["type"] == t);
    let sandbox_ready = inp.obs.sandbox.as_ref().is_some_and(|s| s.ready);
    let not_init: Vec<&str> = init.iter().filter(|s| s["ready"] != true).filter_map(|s| s["name"].as_str()).collect();
    let not_ready: Vec<&str> = apps.iter().filter(|s| s["ready"] != true).filter_map(|s| s["name"].as_str()).collect();
    let done = phase == "Succeeded" || phase == "Failed";
    let initialized = not_init.is_empty() || done && phase == "Succeeded";
    let (ready_reason, ready_ok) = if done { ("PodCompleted", false) } else { ("ContainersNotReady", not_ready.is_empty()) };
    let msg = |list: &[&str], what: &str| format!("containers with {what} status: [{}]", list.join(" "));
    vec![
        condition("PodReadyToStartContainers", sandbox_ready, "", String::new(), find("PodReadyToStartContainers"), inp.now),
        condition("Initialized", initialized, "ContainersNotInitialized", msg(&not_init, "incomplete"), find("Initialized"), inp.now),
        condition("Ready", ready_ok, ready_reason, msg(&not_ready, "unready"), find("Ready"), inp.now),
        condition("ContainersReady", ready_ok, ready_reason, msg(&not_ready, "unready"), find("ContainersReady"), inp.now),
        condition("PodScheduled", true, "", String::new(), find("PodScheduled"), inp.now),
    ]
}

/// Ephemeral containers' statuses: like app containers', never ready, and they count for
/// neither phase nor conditions.
fn ephemeral_statuses(inp: &StatusInputs, default_waiting: &'static str) -> Vec<Value> {
    let list = inp.pod.spec.as_ref().and_then(|s| s.ephemeral_containers.clone()).unwrap_or_default();
    list.iter()
        .filter_map(|ec| serde_json::to_value(ec).ok())
        .filter_map(|mut v| {
            v.as_object_mut()?.remove("targetContainerName");
            serde_json::from_value::<Container>(v).ok()
        })
        .map(|c| {
            let mut s = container_status(inp, &One { c: &c, init: false, default_waiting });
            s["ready"] = json!(false);
            s
        })
        .collect()
}

/// The pod's full status.
pub fn pod_status(inp: &StatusInputs) -> Value {
    let spec = inp.pod.spec.clone().unwrap_or_default();
    let phase = phase(inp.pod, inp.obs);
    let inits: Vec<Value> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| container_status(inp, &One { c, init: true, default_waiting: "PodInitializing" }))
        .collect();
    let init_done = phase != "Pending" || inits.iter().all(|s| s["ready"] == true);
    let default_waiting = if init_done { "ContainerCreating" } else { "PodInitializing" };
    let apps: Vec<Value> = spec.containers.iter().map(|c| container_status(inp, &One { c, init: false, default_waiting })).collect();
    let host_network = spec.host_network == Some(true);
    let pod_ip = if host_network { inp.host_ip.to_string() } else { inp.obs.sandbox.as_ref().map(|s| s.ip.clone()).unwrap_or_default() };
    let start_time = inp.pod.status.as_ref().and_then(|s| s.start_time.as_ref()).and_then(|t| serde_json::to_value(t).ok()).unwrap_or(json!(inp.now));
    let mut st = json!({
        "phase": phase,
        "conditions": conditions(inp, phase, &inits, &apps),
        "hostIP": inp.host_ip,
        "hostIPs": [{"ip": inp.host_ip}],
        "startTime": start_time,
        "containerStatuses": apps,
        "qosClass": super::resources::qos_class(inp.pod).as_str(),
    });
    if !inits.is_empty() {
        st["initContainerStatuses"] = json!(inits);
    }
    let ephemeral = ephemeral_statuses(inp, default_waiting);
    if !ephemeral.is_empty() {
        st["ephemeralContainerStatuses"] = json!(ephemeral);
    }
    if !pod_ip.is_empty() {
        st["podIP"] = json!(pod_ip);
        st["podIPs"] = json!([{"ip": pod_ip}]);
    }
    st
}

#[cfg(test)]
mod tests {
    use super::super::observed::Sandbox;
    use super::*;

    fn pod(spec: Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p", "uid": "u"}, "spec": spec})).unwrap()
    }

    fn inst(name: &str, attempt: u32, state: RunState, code: i32, created: i64) -> Instance {
        Instance {
            id: format!("{name}{attempt}"),
            name: name.into(),
            attempt,
            state,
            created_at: created,
            started_at: created * 1_000_000_000,
            finished_at: if state == RunState::Exited { (created + 1) * 1_000_000_000 } else { 0 },
            exit_code: code,
            reason: String::new(),
            message: String::new(),
            image: "busybox".into(),
            image_ref: "sha256:x".into(),
            sandbox_id: "sb".into(),
            log_path: String::new(),
        }
    }

    fn observed(mut instances: Vec<Instance>) -> Observed {
        instances.sort_by_key(|i| std::cmp::Reverse(i.created_at));
        Observed { sandbox: Some(Sandbox { id: "sb".into(), ready: true, ip: "10.244.1.7".into(), attempt: 0, created_at: 0 }), old_sandboxes: vec![], instances }
    }

    fn status(p: &Pod, o: &Observed, waiting: &HashMap<String, (String, String)>, ready: Option<bool>) -> Value {
        let r = move |_: &str| ready;
        let s = |_: &str| Some(true);
        pod_status(&StatusInputs { pod: p, obs: o, host_ip: "169.254.1.1", runtime_name: "containerd", readiness: &r, startup: &s, waiting, now: "2026-01-01T00:00:00Z" })
    }

    #[test]
    fn running_pod_is_ready_with_ip() {
        let p = pod(json!({"containers": [{"name": "a", "image": "busybox"}]}));
        let st = status(&p, &observed(vec![inst("a", 0, RunState::Running, 0, 10)]), &HashMap::new(), None);
        assert_eq!(st["phase"], "Running");
        assert_eq!(st["podIP"], "10.244.1.7");
        assert_eq!(st["containerStatuses"][0]["ready"], true);
        assert_eq!(st["containerStatuses"][0]["started"], true);
        assert_eq!(st["containerStatuses"][0]["containerID"], "containerd://a0");
        let ready = st["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap();
        assert_eq!(ready["status"], "True");
        assert_eq!(st["qosClass"], "BestEffort");
    }

    #[test]
    fn readiness_probe_keeps_pod_unready() {
        let p = pod(json!({"containers": [{"name": "a", "image": "b", "readinessProbe": {"exec": {"command": ["false"]}}}]}));
        let st = status(&p, &observed(vec![inst("a", 0, RunState::Running, 0, 10)]), &HashMap::new(), Some(false));
        assert_eq!(st["containerStatuses"][0]["ready"], false);
        let ready = st["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap();
        assert_eq!((ready["status"].as_str(), ready["reason"].as_str()), (Some("False"), Some("ContainersNotReady")));
        assert_eq!(ready["message"], "containers with unready status: [a]");
    }

    #[test]
    fn crash_loop_shows_waiting_and_last_state() {
        let p = pod(json!({"containers": [{"name": "a", "image": "b"}]}));
        let o = observed(vec![inst("a", 0, RunState::Exited, 1, 10), inst("a", 1, RunState::Exited, 1, 20)]);
        let waiting = HashMap::from([("a".to_string(), ("CrashLoopBackOff".to_string(), "back-off 10s".to_string()))]);
        let st = status(&p, &o, &waiting, None);
        let cs = &st["containerStatuses"][0];
        assert_eq!(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
        assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
        assert_eq!(cs["restartCount"], 1);
        assert_eq!(st["phase"], "Running");
    }

    #[test]
    fn ephemeral_container_statuses() {
        let p = pod(json!({"containers": [{"name": "a", "image": "b"}],
            "ephemeralContainers": [{"name": "dbg", "image": "busybox", "targetContainerName": "a"}]}));
        let o = observed(vec![inst("a", 0, RunState::Running, 0, 10), inst("dbg", 0, RunState::Exited, 0, 20)]);
        let st = status(&p, &o, &HashMap::new(), None);
        let e = &st["ephemeralContainerStatuses"][0];
        assert_eq!(e["name"], "dbg");
        assert_eq!(e["state"]["terminated"]["reason"], "Completed");
        assert_eq!(e["ready"], false);
        assert_eq!(st["phase"], "Running");
        let st = status(&p, &observed(vec![inst("a", 0, RunState::Running, 0, 10)]), &HashMap::new(), None);
        assert_eq!(st["ephemeralContainerStatuses"][0]["state"]["waiting"]["reason"], "ContainerCreating");
    }

    #[test]
    fn phases() {
        let never = pod(json!({"restartPolicy": "Never", "containers": [{"name": "a", "image": "b"}]}));
        assert_eq!(phase(&never, &observed(vec![inst("a", 0, RunState::Exited, 0, 1)])), "Succeeded");
        assert_eq!(phase(&never, &observed(vec![inst("a", 0, RunState::Exited, 3, 1)])), "Failed");
        assert_eq!(phase(&never, &observed(vec![])), "Pending");
        let init = pod(json!({"initContainers": [{"name": "i", "image": "b"}], "containers": [{"name": "a", "image": "b"}]}));
        let o = observed(vec![inst("i", 0, RunState::Running, 0, 1)]);
        assert_eq!(phase(&init, &o), "Pending");
        let st = status(&init, &o, &HashMap::new(), None);
        assert_eq!(st["containerStatuses"][0]["state"]["waiting"]["reason"], "PodInitializing");
        let initialized = st["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Initialized").unwrap();
        assert_eq!(initialized["message"], "containers with incomplete status: [i]");
    }

    #[test]
    fn transition_times_are_kept() {
        let mut p = pod(json!({"containers": [{"name": "a", "image": "b"}]}));
        let o = observed(vec![inst("a", 0, RunState::Running, 0, 10)]);
        let first = status(&p, &o, &HashMap::new(), None);
        let mut with_status = serde_json::to_value(&p).unwrap();
        with_status["status"] = first.clone();
        with_status["status"]["conditions"][2]["lastTransitionTime"] = json!("2020-01-01T00:00:00Z");
        p = serde_json::from_value(with_status).unwrap();
        let second = status(&p, &o, &HashMap::new(), None);
        assert_eq!(second["conditions"][2]["lastTransitionTime"], "2020-01-01T00:00:00Z");
    }
}
