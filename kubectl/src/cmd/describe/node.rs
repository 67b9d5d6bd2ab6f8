//! `describe node`: status, lease, system info and the resources its pods request.

use std::collections::{BTreeMap, BTreeSet};

use rkube_apimachinery::quantity::Quantity;
use serde_json::Value;

use super::events;
use super::writer::{annotations_multiline, arr, labels_multiline, quantity, rfc1123z, s, string_map, taints_multiline, Writer};
use super::Ctx;
use crate::client::Req;
use crate::util::age;

const ROLE_PREFIX: &str = "node-role.kubernetes.io/";

/// Resource names summed per pod (`PodRequestsAndLimits`).
type ResourceList = BTreeMap<String, Quantity>;

/// The description of a node.
pub async fn describe(ctx: &Ctx<'_>, node: &Value) -> String {
    let name = s(node, "/metadata/name");
    let selector = format!("spec.nodeName={name},status.phase!=Succeeded,status.phase!=Failed");
    let pods = ctx.list("/api/v1/pods", "", &selector).await;
    let lease = ctx.client.json(Req::get(format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}"))).await;
    // Controllers record node events under the node's UID, the kubelet under its name.
    let mut evs = events::search_ref(ctx, name, "", Some("Node"), s(node, "/metadata/uid")).await;
    if let (Some(list), Some(by_name)) = (evs.as_mut(), events::search_ref(ctx, name, "", Some("Node"), name).await) {
        list.extend(by_name);
    }

    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{name}\n"));
    let roles = roles(node);
    w.write(0, &format!("Roles:\t{}\n", if roles.is_empty() { "<none>".to_string() } else { roles.join(",") }));
    labels_multiline(&mut w, "", "Labels", &string_map(node, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(node, "/metadata/annotations"));
    w.write(0, &format!("CreationTimestamp:\t{}\n", rfc1123z(s(node, "/metadata/creationTimestamp"))));
    taints_multiline(&mut w, "Taints", arr(node, "/spec/taints"));
    let unschedulable = node.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false);
    w.write(0, &format!("Unschedulable:\t{unschedulable}\n"));
    match lease {
        Ok(l) => {
            w.write(0, "Lease:\n");
            let or_unset = |p: &str, time: bool| match l.pointer(p).and_then(Value::as_str) {
                Some(x) if time => rfc1123z(x),
                Some(x) => x.to_string(),
                None => "<unset>".into(),
            };
            w.write(1, &format!("HolderIdentity:\t{}\n", or_unset("/spec/holderIdentity", false)));
            w.write(1, &format!("AcquireTime:\t{}\n", or_unset("/spec/acquireTime", true)));
            w.write(1, &format!("RenewTime:\t{}\n", or_unset("/spec/renewTime", true)));
        }
        Err(e) => w.write(0, &format!("Lease:\tFailed to get lease: {e}\n")),
    }
    conditions(&mut w, node);
    w.write(0, "Addresses:\n");
    for a in arr(node, "/status/addresses") {
        w.write(1, &format!("{}:\t{}\n", s(a, "/type"), s(a, "/address")));
    }
    for (field, title) in [("capacity", "Capacity"), ("allocatable", "Allocatable")] {
        let Some(list) = node.pointer(&format!("/status/{field}")).and_then(Value::as_object).filter(|m| !m.is_empty()) else { continue };
        w.write(0, &format!("{title}:\n"));
        let mut keys: Vec<&String> = list.keys().collect();
        keys.sort();
        for k in keys {
            w.write(0, &format!("  {k}:\t{}\n", quantity(&list[k], "")));
        }
    }
    w.write(0, "System Info:\n");
    for (field, title) in [
        ("machineID", "Machine ID"),
        ("systemUUID", "System UUID"),
        ("bootID", "Boot ID"),
        ("kernelVersion", "Kernel Version"),
        ("osImage", "OS Image"),
        ("operatingSystem", "Operating System"),
        ("architecture", "Architecture"),
        ("containerRuntimeVersion", "Container Runtime Version"),
        ("kubeletVersion", "Kubelet Version"),
        ("kubeProxyVersion", "Kube-Proxy Version"),
    ] {
        w.write(0, &format!("  {title}:\t{}\n", s(node, &format!("/status/nodeInfo/{field}"))));
    }
    if !s(node, "/spec/podCIDR").is_empty() {
        w.write(0, &format!("PodCIDR:\t{}\n", s(node, "/spec/podCIDR")));
    }
    let cidrs: Vec<&str> = arr(node, "/spec/podCIDRs").iter().filter_map(Value::as_str).collect();
    if !cidrs.is_empty() {
        w.write(0, &format!("PodCIDRs:\t{}\n", cidrs.join(",")));
    }
    if !s(node, "/spec/providerID").is_empty() {
        w.write(0, &format!("ProviderID:\t{}\n", s(node, "/spec/providerID")));
    }
    match pods {
        Ok(pods) => node_resources(&mut w, node, &pods),
        Err(_) => w.write(0, "Pods:\tnot authorized\n"),
    }
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

/// `findNodeRoles`: `node-role.kubernetes.io/<role>` labels and `kubernetes.io/role=<role>`.
fn roles(node: &Value) -> Vec<String> {
    let mut roles = BTreeSet::new();
    for (k, v) in string_map(node, "/metadata/labels") {
        if let Some(role) = k.strip_prefix(ROLE_PREFIX).filter(|r| !r.is_empty()) {
            roles.insert(role.to_string());
        } else if k == "kubernetes.io/role" && !v.is_empty() {
            roles.insert(v);
        }
    }
    roles.into_iter().collect()
}

fn conditions(w: &mut Writer, node: &Value) {
    let conds = arr(node, "/status/conditions");
    if conds.is_empty() {
        return;
    }
    w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n");
    w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n");
    for c in conds {
        w.write(
            1,
            &format!(
                "{} \t{} \t{} \t{} \t{} \t{}\n",
                s(c, "/type"),
                s(c, "/status"),
                rfc1123z(s(c, "/lastHeartbeatTime")),
                rfc1123z(s(c, "/lastTransitionTime")),
                s(c, "/reason"),
                s(c, "/message")
            ),
        );
    }
}

fn resource_list(val: Option<&Value>) -> ResourceList {
    val.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, q)| Some((k.clone(), Quantity::from_json(q).ok()?))).collect())
        .unwrap_or_default()
}

fn add_into(list: &mut ResourceList, other: &ResourceList) {
    for (k, q) in other {
        let sum = list.get(k).map(|cur| cur.saturating_add(q)).unwrap_or(*q);
        list.insert(k.clone(), sum);
    }
}

fn max_into(list: &mut ResourceList, other: &ResourceList) {
    for (k, q) in other {
        if list.get(k).is_none_or(|cur| q > cur) {
            list.insert(k.clone(), *q);
        }
    }
}

/// `PodRequestsAndLimits`: containers and sidecars summed, other init containers as a floor,
/// plus the pod overhead (added to limits only where a limit is set).
pub fn pod_requests_and_limits(pod: &Value) -> (ResourceList, ResourceList) {
    let mut out = [ResourceList::new(), ResourceList::new()];
    for (i, field) in ["requests", "limits"].iter().enumerate() {
        let list = &mut out[i];
        for c in arr(pod, "/spec/containers") {
            add_into(list, &resource_list(c.pointer(&format!("/resources/{field}"))));
        }
        let mut sidecars = ResourceList::new();
        for c in arr(pod, "/spec/initContainers") {
            let res = resource_list(c.pointer(&format!("/resources/{field}")));
            if s(c, "/restartPolicy") == "Always" {
                add_into(list, &res);
                add_into(&mut sidecars, &res);
            } else {
                let mut with_sidecars = res;
                add_into(&mut with_sidecars, &sidecars);
                max_into(list, &with_sidecars);
            }
        }
        let overhead = resource_list(pod.pointer("/spec/overhead"));
        if i == 0 {
            add_into(list, &overhead);
        } else {
            for (k, q) in &overhead {
                if let Some(cur) = list.get(k).filter(|c| !c.is_zero()) {
                    let sum = cur.saturating_add(q);
                    list.insert(k.clone(), sum);
                }
            }
        }
    }
    let [reqs, limits] = out;
    (reqs, limits)
}

/// `int64(float64(used) / float64(total) * 100)` as Go computes it on amd64 (a division by
/// zero gives the minimum int64).
fn percent(used: i128, total: i128) -> i64 {
    let f = used as f64 / total as f64 * 100.0;
    if f.is_finite() {
        f as i64
    } else {
        i64::MIN
    }
}

fn q(list: &ResourceList, name: &str) -> Quantity {
    list.get(name).copied().unwrap_or_default()
}

/// `describeNodeResource`: the non-terminated pods and the allocated resources.
fn node_resources(w: &mut Writer, node: &Value, pods: &[Value]) {
    w.write(0, &format!("Non-terminated Pods:\t({} in total)\n", pods.len()));
    w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n");
    w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n");
    let allocatable = match resource_list(node.pointer("/status/allocatable")) {
        a if !a.is_empty() => a,
        _ => resource_list(node.pointer("/status/capacity")),
    };
    let (cpu_total, mem_total) = (q(&allocatable, "cpu").milli_value(), q(&allocatable, "memory").value());
    let mut reqs = ResourceList::new();
    let mut limits = ResourceList::new();
    for pod in pods {
        let (r, l) = pod_requests_and_limits(pod);
        let (cr, cl, mr, ml) = (q(&r, "cpu"), q(&l, "cpu"), q(&r, "memory"), q(&l, "memory"));
        w.write(
            1,
            &format!(
                "{}\t{}\t\t{cr} ({}%)\t{cl} ({}%)\t{mr} ({}%)\t{ml} ({}%)\t{}\n",
                s(pod, "/metadata/namespace"),
                s(pod, "/metadata/name"),
                percent(cr.milli_value(), cpu_total),
                percent(cl.milli_value(), cpu_total),
                percent(mr.value(), mem_total),
                percent(ml.value(), mem_total),
                age(Some(s(pod, "/metadata/creationTimestamp")))
            ),
        );
        add_into(&mut reqs, &r);
        add_into(&mut limits, &l);
    }
    w.write(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n");
    w.write(1, "Resource\tRequests\tLimits\n");
    w.write(1, "--------\t--------\t------\n");
    let row = |w: &mut Writer, name: &str, milli: bool| {
        let (r, l, total) = (q(&reqs, name), q(&limits, name), q(&allocatable, name));
        let (rv, lv, tv) = if milli { (r.milli_value(), l.milli_value(), total.milli_value()) } else { (r.value(), l.value(), total.value()) };
        let (rp, lp) = if tv != 0 { (percent(rv, tv), percent(lv, tv)) } else { (0, 0) };
        w.write(1, &format!("{name}\t{r} ({rp}%)\t{l} ({lp}%)\n"));
    };
    row(w, "cpu", true);
    row(w, "memory", false);
    row(w, "ephemeral-storage", false);
    let mut huge = Vec::new();
    let mut extended = Vec::new();
    for name in allocatable.keys() {
        if name.starts_with("hugepages-") {
            huge.push(name.clone());
        } else if !is_standard_container_resource(name) && name != "pods" {
            extended.push(name.clone());
        }
    }
    for name in &huge {
        row(w, name, false);
    }
    for name in &extended {
        w.write(1, &format!("{name}\t{}\t{}\n", q(&reqs, name), q(&limits, name)));
    }
}

/// `IsStandardContainerResourceName`: cpu, memory, ephemeral-storage and huge pages.
fn is_standard_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_sum_containers_and_floor_with_init_containers() {
        let pod = json!({"spec": {
            "containers": [
                {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m"}}},
                {"resources": {"requests": {"cpu": "150m"}}}
            ],
            "initContainers": [{"resources": {"requests": {"cpu": "1"}}}]
        }});
        let (r, l) = pod_requests_and_limits(&pod);
        assert_eq!(r["cpu"].to_string(), "1");
        assert_eq!(r["memory"].to_string(), "64Mi");
        assert_eq!(l["cpu"].to_string(), "200m");
        assert_eq!(percent(200, 3800), 5);
        assert_eq!(percent(1, 0), i64::MIN);
    }

    #[test]
    fn node_roles() {
        let node = json!({"metadata": {"labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker", "node-role.kubernetes.io/": "x"}}});
        assert_eq!(roles(&node), vec!["control-plane", "worker"]);
    }
}
