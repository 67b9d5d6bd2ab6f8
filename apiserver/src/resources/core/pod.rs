//! Pods: upstream's Pod defaulting, the create-time admission defaults (ServiceAccount,
//! DefaultTolerationSeconds, Priority), initial status with the QoS class, validation,
//! the update rules, field selectors and the `kubectl get pods` table.

use rkube_apimachinery::validation::FieldError;
use serde_json::{json, Map, Value};

use super::pod_status::{pod_cells, wide_cells};
use super::pod_update::validate_pod_update;
use super::podspec_defaults::{default_pod_only, default_pod_spec, sync_service_account_alias};
use super::podspec_validation::validate_pod_spec;
use super::quantity::Quantity;
use super::util::{child_obj, list_at, list_of, str_at, str_of};
use crate::resources::strategy::{age_cell, Column, Strategy};

/// Seconds a pod tolerates a not-ready or unreachable node (DefaultTolerationSeconds).
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// The Pod strategy.
pub struct PodStrategy;

const FIELD_LABELS: &[&str] = &[
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
    "spec.host",
];

impl Strategy for PodStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec") {
            default_pod_spec(spec);
            default_pod_only(spec);
        }
        if let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) {
            sync_ip_list(status, "podIP", "podIPs");
            sync_ip_list(status, "hostIP", "hostIPs");
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        let Some(spec) = child_obj(obj, "spec") else { return };
        if spec.get("serviceAccountName").and_then(Value::as_str).unwrap_or("").is_empty() {
            spec.insert("serviceAccountName".into(), json!("default"));
        }
        sync_service_account_alias(spec);
        add_default_tolerations(spec);
        set_priority(spec);
        let qos = qos_class(obj);
        let mut status = Map::new();
        status.insert("phase".into(), json!("Pending"));
        if has_scheduling_gates(obj) {
            status.insert("conditions".into(), json!([scheduling_gated_condition()]));
        }
        status.insert("qosClass".into(), json!(qos));
        obj["status"] = Value::Object(status);
    }

    fn prepare_for_update(&self, obj: &mut Value, old: &Value) {
        let Some(spec) = child_obj(obj, "spec") else { return };
        add_default_tolerations(spec);
        for key in ["priority", "preemptionPolicy"] {
            if spec.get(key).is_none_or(Value::is_null) {
                if let Some(v) = old.pointer(&format!("/spec/{key}")) {
                    spec.insert(key.into(), v.clone());
                }
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let empty = json!({});
        let spec = obj.get("spec").unwrap_or(&empty);
        let mut errs = validate_pod_spec(spec, "spec");
        for key in ["containers", "initContainers"] {
            for (i, c) in list_of(spec, key).iter().enumerate() {
                let image = str_of(c, "image");
                if image.trim() != image {
                    errs.push(FieldError::invalid(format!("spec.{key}[{i}].image"), image, "must not have leading or trailing whitespace"));
                }
            }
        }
        if !str_of(spec, "nodeName").is_empty() && !list_of(spec, "schedulingGates").is_empty() {
            errs.push(FieldError::forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"));
        }
        errs
    }

    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        super::ephemeral_containers::validate_create(obj)
    }

    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validate_pod_update(obj, old)
    }

    fn field_labels(&self) -> &'static [&'static str] {
        FIELD_LABELS
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        let value = match field {
            "spec.host" | "spec.nodeName" => str_at(obj, "/spec/nodeName").to_string(),
            "spec.hostNetwork" => obj.pointer("/spec/hostNetwork").and_then(Value::as_bool).unwrap_or(false).to_string(),
            "status.podIP" => list_at(obj, "/status/podIPs").first().map(|p| str_of(p, "ip")).unwrap_or("").to_string(),
            "status.podIPs" => String::new(),
            "spec.restartPolicy" | "spec.schedulerName" | "spec.serviceAccountName" | "status.phase"
            | "status.nominatedNodeName" => str_at(obj, &format!("/{}", field.replace('.', "/"))).to_string(),
            _ => return crate::resources::strategy::generic_field_value(obj, field),
        };
        Some(value)
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
            Column::new("Status", "string", "The aggregate status of the containers in this pod."),
            Column::new("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
            Column::age(),
            Column::wide("IP", "string", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."),
            Column::wide("Node", "string", "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename"),
            Column::wide("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled."),
            Column::wide("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates"),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let c = pod_cells(obj);
        let mut cells = vec![json!(c.ready), json!(c.status), json!(c.restarts), age_cell(obj)];
        cells.extend(wide_cells(obj).into_iter().map(Value::String));
        cells
    }
}

/// Keeps `podIP`/`podIPs` (and `hostIP`/`hostIPs`) consistent as the v1 conversion does:
/// the single field wins when both are set and differ.
fn sync_ip_list(status: &mut Map<String, Value>, single: &str, plural: &str) {
    let one = status.get(single).and_then(Value::as_str).unwrap_or("").to_string();
    let first = status.get(plural).and_then(|l| l.get(0)).and_then(|p| p.get("ip")).and_then(Value::as_str).map(str::to_string);
    if !one.is_empty() && first.as_deref() != Some(one.as_str()) {
        status.insert(plural.into(), json!([{ "ip": one }]));
    } else if one.is_empty() {
        if let Some(first) = first {
            status.insert(single.into(), json!(first));
        }
    }
}

/// DefaultTolerationSeconds admission: tolerate not-ready and unreachable nodes for 300 s
/// unless the pod already tolerates them.
fn add_default_tolerations(spec: &mut Map<String, Value>) {
    let list = spec.get("tolerations").and_then(Value::as_array).cloned().unwrap_or_default();
    let tolerates = |key: &str| {
        list.iter().any(|t| {
            let k = str_of(t, "key");
            let e = str_of(t, "effect");
            (k == key || k.is_empty()) && (e == "NoExecute" || e.is_empty())
        })
    };
    let mut out = list.clone();
    for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
        if !tolerates(key) {
            out.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": DEFAULT_TOLERATION_SECONDS}));
        }
    }
    if out.len() != list.len() {
        spec.insert("tolerations".into(), Value::Array(out));
    }
}

/// Priority admission: the built-in classes' values, 0 without a class, and
/// PreemptLowerPriority. Pods naming another class keep what they carry (the class cannot
/// be looked up here).
fn set_priority(spec: &mut Map<String, Value>) {
    let value = match spec.get("priorityClassName").and_then(Value::as_str).unwrap_or("") {
        "" => 0,
        "system-cluster-critical" => 2_000_000_000,
        "system-node-critical" => 2_000_001_000,
        _ => return,
    };
    spec.insert("priority".into(), json!(value));
    if spec.get("preemptionPolicy").is_none_or(Value::is_null) {
        spec.insert("preemptionPolicy".into(), json!("PreemptLowerPriority"));
    }
}

fn has_scheduling_gates(pod: &Value) -> bool {
    !list_at(pod, "/spec/schedulingGates").is_empty()
}

/// The condition upstream adds to a pod created with scheduling gates.
fn scheduling_gated_condition() -> Value {
    json!({
        "type": "PodScheduled",
        "status": "False",
        "lastProbeTime": null,
        "lastTransitionTime": null,
        "reason": "SchedulingGated",
        "message": "Scheduling is blocked due to non-empty scheduling gates"
    })
}

/// Upstream `ComputePodQOS`: Guaranteed, Burstable or BestEffort.
pub fn qos_class(pod: &Value) -> &'static str {
    let mut requests: Map<String, Value> = Map::new();
    let mut limits: Map<String, Value> = Map::new();
    let mut guaranteed = true;
    let containers = list_at(pod, "/spec/containers").iter().chain(list_at(pod, "/spec/initContainers"));
    for c in containers {
        accumulate(c.pointer("/resources/requests"), &mut requests);
        let found = accumulate(c.pointer("/resources/limits"), &mut limits);
        if !(found.contains(&"cpu") && found.contains(&"memory")) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    let nanos = |v: &Value| v.as_i64().map(i128::from).unwrap_or(0);
    if guaranteed {
        guaranteed = requests.iter().all(|(k, r)| limits.get(k).is_some_and(|l| nanos(l) == nanos(r)));
    }
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Adds the positive cpu/memory quantities of `list` into `sums` (as milli-units); returns
/// the resource names found.
fn accumulate(list: Option<&Value>, sums: &mut Map<String, Value>) -> Vec<&'static str> {
    let mut found = Vec::new();
    for name in ["cpu", "memory"] {
        let Some(q) = list.and_then(|l| l.get(name)).and_then(Quantity::from_json) else { continue };
        if q.nanos <= 0 {
            continue;
        }
        found.push(name);
        let milli = i64::try_from(q.nanos / 1_000_000).unwrap_or(i64::MAX);
        let prev = sums.get(name).and_then(Value::as_i64).unwrap_or(0);
        sums.insert(name.into(), json!(prev.saturating_add(milli)));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(mut pod: Value) -> Value {
        PodStrategy.default(&mut pod);
        PodStrategy.prepare_for_create(&mut pod);
        pod
    }

    #[test]
    fn create_defaults_and_admission() {
        let pod = created(json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}));
        let spec = &pod["spec"];
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["serviceAccount"], "default");
        assert_eq!(spec["priority"], 0);
        assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(
            spec["tolerations"],
            json!([
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ])
        );
        assert_eq!(pod["status"], json!({"phase": "Pending", "qosClass": "BestEffort"}));
        assert!(PodStrategy.validate(&pod).is_empty(), "{:?}", PodStrategy.validate(&pod));
    }

    #[test]
    fn qos_classes() {
        let g = json!({"spec": {"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1Gi"}}}]}});
        assert_eq!(qos_class(&g), "Guaranteed");
        let b = json!({"spec": {"containers": [{"resources": {"requests": {"cpu": "100m"}}}]}});
        assert_eq!(qos_class(&b), "Burstable");
        let e = json!({"spec": {"containers": [{"name": "x"}]}});
        assert_eq!(qos_class(&e), "BestEffort");
        let limits_only = created(json!({"spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "64Mi"}}}]}}));
        assert_eq!(limits_only["status"]["qosClass"], "Guaranteed");
    }

    #[test]
    fn validation_messages() {
        let pod = created(json!({"spec": {"containers": []}}));
        let errs: Vec<String> = PodStrategy.validate(&pod).iter().map(ToString::to_string).collect();
        assert_eq!(errs, ["spec.containers: Required value"]);
    }

    #[test]
    fn update_keeps_admission_fields() {
        let old = created(json!({"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}));
        let mut new = json!({"spec": {"containers": [{"name": "c", "image": "nginx:2"}], "serviceAccountName": "default"}});
        PodStrategy.default(&mut new);
        PodStrategy.prepare_for_update(&mut new, &old);
        assert!(PodStrategy.validate_update(&new, &old).is_empty(), "{:?}", PodStrategy.validate_update(&new, &old));
    }

    #[test]
    fn field_selectors() {
        let pod = json!({"spec": {"nodeName": "n1", "restartPolicy": "Always"}, "status": {"phase": "Running", "podIPs": [{"ip": "10.1.1.1"}]}});
        assert_eq!(PodStrategy.field_value(&pod, "spec.nodeName").as_deref(), Some("n1"));
        assert_eq!(PodStrategy.field_value(&pod, "spec.hostNetwork").as_deref(), Some("false"));
        assert_eq!(PodStrategy.field_value(&pod, "status.podIP").as_deref(), Some("10.1.1.1"));
        assert_eq!(PodStrategy.field_value(&pod, "status.nominatedNodeName").as_deref(), Some(""));
    }

    #[test]
    fn table_cells() {
        let pod = json!({
            "metadata": {"name": "web", "creationTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "c"}], "nodeName": "node-1"},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.7"}], "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0, "state": {"running": {}}}]}
        });
        let cells = PodStrategy.cells(&pod);
        assert_eq!(PodStrategy.columns().len(), cells.len());
        assert_eq!(cells[0..3], [json!("1/1"), json!("Running"), json!("0")]);
        assert!(cells[3].as_str().is_some_and(|s| s.ends_with('y') || s.ends_with('d')), "{}", cells[3]);
        assert_eq!(cells[4..], [json!("10.0.0.7"), json!("node-1"), json!("<none>"), json!("<none>")]);
    }
}
