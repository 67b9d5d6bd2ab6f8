//! `describe pod` and the container sections shared with pod templates.

use std::collections::BTreeMap;

use serde_json::Value;

use super::events;
use super::writer::{annotations_multiline, labels_multiline, rfc1123z, s, string_map, tolerations_multiline, v, Writer};
use super::Ctx;
use crate::util::age;

fn arr<'a>(val: &'a Value, pointer: &str) -> &'a [Value] {
    val.pointer(pointer).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// The description of a pod.
pub async fn describe(ctx: &Ctx<'_>, pod: &Value) -> String {
    let evs = events::search(ctx, pod, false).await;
    let mut w = Writer::default();
    header(&mut w, pod);
    status_lines(&mut w, pod);
    let statuses = arr(pod, "/status/initContainerStatuses");
    if !arr(pod, "/spec/initContainers").is_empty() {
        containers(&mut w, "Init Containers", arr(pod, "/spec/initContainers"), Some((pod, statuses)), "");
    }
    containers(&mut w, "Containers", arr(pod, "/spec/containers"), Some((pod, arr(pod, "/status/containerStatuses"))), "");
    if !arr(pod, "/spec/ephemeralContainers").is_empty() {
        containers(&mut w, "Ephemeral Containers", arr(pod, "/spec/ephemeralContainers"), Some((pod, arr(pod, "/status/ephemeralContainerStatuses"))), "");
    }
    conditions(&mut w, pod);
    volumes(&mut w, arr(pod, "/spec/volumes"), "");
    w.write(0, &format!("QoS Class:\t{}\n", qos_class(pod)));
    labels_multiline(&mut w, "", "Node-Selectors", &string_map(pod, "/spec/nodeSelector"));
    tolerations_multiline(&mut w, "", "Tolerations", arr(pod, "/spec/tolerations"));
    topology_spread_constraints(&mut w, arr(pod, "/spec/topologySpreadConstraints"), "");
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

fn header(w: &mut Writer, pod: &Value) {
    w.write(0, &format!("Name:\t{}\n", s(pod, "/metadata/name")));
    w.write(0, &format!("Namespace:\t{}\n", s(pod, "/metadata/namespace")));
    if pod.pointer("/spec/priority").is_some_and(|p| !p.is_null()) {
        w.write(0, &format!("Priority:\t{}\n", v(pod, "/spec/priority")));
    }
    if !s(pod, "/spec/priorityClassName").is_empty() {
        w.write(0, &format!("Priority Class Name:\t{}\n", s(pod, "/spec/priorityClassName")));
    }
    if !s(pod, "/spec/runtimeClassName").is_empty() {
        w.write(0, &format!("Runtime Class Name:\t{}\n", s(pod, "/spec/runtimeClassName")));
    }
    if !s(pod, "/spec/serviceAccountName").is_empty() {
        w.write(0, &format!("Service Account:\t{}\n", s(pod, "/spec/serviceAccountName")));
    }
    let node = s(pod, "/spec/nodeName");
    if node.is_empty() {
        w.write(0, "Node:\t<none>\n");
    } else {
        w.write(0, &format!("Node:\t{node}/{}\n", s(pod, "/status/hostIP")));
    }
    if !s(pod, "/status/startTime").is_empty() {
        w.write(0, &format!("Start Time:\t{}\n", rfc1123z(s(pod, "/status/startTime"))));
    }
    labels_multiline(w, "", "Labels", &string_map(pod, "/metadata/labels"));
    annotations_multiline(w, "Annotations", &string_map(pod, "/metadata/annotations"));
}

fn status_lines(w: &mut Writer, pod: &Value) {
    let phase = s(pod, "/status/phase");
    let deleting = !s(pod, "/metadata/deletionTimestamp").is_empty();
    if deleting && phase != "Failed" && phase != "Succeeded" {
        w.write(0, &format!("Status:\tTerminating (lasts {})\n", age(Some(s(pod, "/metadata/deletionTimestamp")))));
        w.write(0, &format!("Termination Grace Period:\t{}s\n", v(pod, "/metadata/deletionGracePeriodSeconds")));
    } else {
        w.write(0, &format!("Status:\t{phase}\n"));
    }
    if !s(pod, "/status/reason").is_empty() {
        w.write(0, &format!("Reason:\t{}\n", s(pod, "/status/reason")));
    }
    if !s(pod, "/status/message").is_empty() {
        w.write(0, &format!("Message:\t{}\n", s(pod, "/status/message")));
    }
    if let Some(sp) = pod.pointer("/spec/securityContext/seccompProfile") {
        w.write(0, &format!("SeccompProfile:\t{}\n", s(sp, "/type")));
        if s(sp, "/type") == "Localhost" {
            w.write(0, &format!("LocalhostProfile:\t{}\n", s(sp, "/localhostProfile")));
        }
    }
    w.write(0, &format!("IP:\t{}\n", s(pod, "/status/podIP")));
    let ips = arr(pod, "/status/podIPs");
    if ips.is_empty() {
        w.write(0, "IPs:\t<none>\n");
    } else {
        w.write(0, "IPs:\n");
        for ip in ips {
            w.write(1, &format!("IP:\t{}\n", s(ip, "/ip")));
        }
    }
    if let Some(c) = controller_of(pod) {
        w.write(0, &format!("Controlled By:\t{c}\n"));
    }
    if !s(pod, "/status/nominatedNodeName").is_empty() {
        w.write(0, &format!("NominatedNodeName:\t{}\n", s(pod, "/status/nominatedNodeName")));
    }
    if let Some(res) = pod.pointer("/spec/resources").filter(|r| !r.is_null()) {
        w.write(0, "Resources:\n");
        resources(w, Some(res), 1);
    }
}

/// `Kind/name` of the controlling owner, if any.
pub fn controller_of(obj: &Value) -> Option<String> {
    arr(obj, "/metadata/ownerReferences")
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|o| format!("{}/{}", s(o, "/kind"), s(o, "/name")))
}

fn conditions(w: &mut Writer, pod: &Value) {
    let gates = arr(pod, "/spec/readinessGates");
    let conds = arr(pod, "/status/conditions");
    if !gates.is_empty() {
        w.write(0, "Readiness Gates:\n  Type\tStatus\n");
        for g in gates {
            let t = s(g, "/conditionType");
            let status = conds.iter().find(|c| s(c, "/type") == t).map(|c| s(c, "/status").to_string()).unwrap_or_else(|| "<none>".into());
            w.write(1, &format!("{t} \t{status} \n"));
        }
    }
    if !conds.is_empty() {
        w.write(0, "Conditions:\n  Type\tStatus\n");
        for c in conds {
            w.write(1, &format!("{} \t{} \n", s(c, "/type"), s(c, "/status")));
        }
    }
}

/// The Containers section (of a pod, with its statuses, or of a template with `space` "  ").
pub fn containers(w: &mut Writer, label: &str, containers: &[Value], pod: Option<(&Value, &[Value])>, space: &str) {
    let statuses = pod.map(|(_, st)| st);
    let none = if containers.is_empty() { " <none>" } else { "" };
    w.write(0, &format!("{space}{label}:{none}\n"));
    for c in containers {
        let name = s(c, "/name");
        let status = statuses.and_then(|st| st.iter().find(|x| s(x, "/name") == name));
        basic_info(w, c, status, space);
        command(w, c);
        if let Some(st) = status {
            container_state(w, st);
        }
        resources(w, c.get("resources"), 2);
        probes(w, c);
        if !arr(c, "/envFrom").is_empty() {
            env_from(w, c);
        }
        env(w, c, pod.map(|(p, _)| p));
        mounts(w, c);
    }
}

fn ports(c: &Value, host: bool) -> String {
    arr(c, "/ports")
        .iter()
        .map(|p| {
            let n = if host { p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) } else { p.get("containerPort").and_then(Value::as_i64).unwrap_or(0) };
            format!("{n}/{}", s(p, "/protocol"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn basic_info(w: &mut Writer, c: &Value, status: Option<&Value>, space: &str) {
    let indent = if space.is_empty() { "" } else { " " };
    w.write(1, &format!("{indent}{}:\n", s(c, "/name")));
    if let Some(st) = status {
        w.write(2, &format!("Container ID:\t{}\n", s(st, "/containerID")));
    }
    w.write(2, &format!("Image:\t{}\n", s(c, "/image")));
    if let Some(st) = status {
        w.write(2, &format!("Image ID:\t{}\n", s(st, "/imageID")));
    }
    let p = ports(c, false);
    if p.contains(',') {
        w.write(2, &format!("Ports:\t{p}\n"));
    } else {
        w.write(2, &format!("Port:\t{}\n", or_none(&p)));
    }
    let hp = ports(c, true);
    if hp.contains(',') {
        w.write(2, &format!("Host Ports:\t{hp}\n"));
    } else {
        w.write(2, &format!("Host Port:\t{}\n", or_none(&hp)));
    }
    if let Some(sp) = c.pointer("/securityContext/seccompProfile") {
        w.write(2, &format!("SeccompProfile:\t{}\n", s(sp, "/type")));
        if s(sp, "/type") == "Localhost" {
            w.write(3, &format!("LocalhostProfile:\t{}\n", s(sp, "/localhostProfile")));
        }
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "<none>"
    } else {
        s
    }
}

fn command(w: &mut Writer, c: &Value) {
    for (field, title) in [("/command", "Command"), ("/args", "Args")] {
        let items = arr(c, field);
        if items.is_empty() {
            continue;
        }
        w.write(2, &format!("{title}:\n"));
        for item in items {
            for line in item.as_str().unwrap_or("").split('\n') {
                w.write(3, &format!("{line}\n"));
            }
        }
    }
}

fn container_state(w: &mut Writer, st: &Value) {
    state(w, "State", st.get("state"));
    if st.pointer("/lastState/terminated").is_some() {
        state(w, "Last State", st.get("lastState"));
    }
    let ready = st.get("ready").and_then(Value::as_bool).unwrap_or(false);
    w.write(2, &format!("Ready:\t{}\n", if ready { "True" } else { "False" }));
    w.write(2, &format!("Restart Count:\t{}\n", st.get("restartCount").and_then(Value::as_i64).unwrap_or(0)));
}

fn state(w: &mut Writer, name: &str, state: Option<&Value>) {
    let state = state.cloned().unwrap_or(Value::Null);
    if let Some(r) = state.get("running") {
        w.write(2, &format!("{name}:\tRunning\n"));
        w.write(3, &format!("Started:\t{}\n", rfc1123z(s(r, "/startedAt"))));
    } else if let Some(wt) = state.get("waiting") {
        w.write(2, &format!("{name}:\tWaiting\n"));
        if !s(wt, "/reason").is_empty() {
            w.write(3, &format!("Reason:\t{}\n", s(wt, "/reason")));
        }
    } else if let Some(t) = state.get("terminated") {
        w.write(2, &format!("{name}:\tTerminated\n"));
        if !s(t, "/reason").is_empty() {
            w.write(3, &format!("Reason:\t{}\n", s(t, "/reason")));
        }
        if !s(t, "/message").is_empty() {
            w.write(3, &format!("Message:\t{}\n", s(t, "/message")));
        }
        w.write(3, &format!("Exit Code:\t{}\n", t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)));
        if let Some(sig) = t.get("signal").and_then(Value::as_i64).filter(|x| *x > 0) {
            w.write(3, &format!("Signal:\t{sig}\n"));
        }
        w.write(3, &format!("Started:\t{}\n", rfc1123z(s(t, "/startedAt"))));
        w.write(3, &format!("Finished:\t{}\n", rfc1123z(s(t, "/finishedAt"))));
    } else {
        w.write(2, &format!("{name}:\tWaiting\n"));
    }
}

/// Limits and Requests at `level`.
pub fn resources(w: &mut Writer, res: Option<&Value>, level: usize) {
    let Some(res) = res else { return };
    for (field, title) in [("limits", "Limits"), ("requests", "Requests")] {
        let map: BTreeMap<String, String> = string_map(res, &format!("/{field}"));
        if map.is_empty() {
            continue;
        }
        w.write(level, &format!("{title}:\n"));
        for (k, q) in &map {
            w.write(level + 1, &format!("{k}:\t{q}\n"));
        }
    }
}

fn probes(w: &mut Writer, c: &Value) {
    for (field, title) in [("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"), ("startupProbe", "Startup")] {
        if let Some(p) = c.get(field) {
            w.write(2, &format!("{title}:\t{}\n", describe_probe(p)));
        }
    }
}

fn describe_probe(p: &Value) -> String {
    let n = |k: &str| p.get(k).and_then(Value::as_i64).unwrap_or(0);
    let attrs = format!(
        "delay={}s timeout={}s period={}s #success={} #failure={}",
        n("initialDelaySeconds"),
        n("timeoutSeconds"),
        n("periodSeconds"),
        n("successThreshold"),
        n("failureThreshold")
    );
    if let Some(e) = p.get("exec") {
        let cmd: Vec<&str> = arr(e, "/command").iter().filter_map(Value::as_str).collect();
        return format!("exec [{}] {attrs}", cmd.join(" "));
    }
    if let Some(h) = p.get("httpGet") {
        let port = v(h, "/port");
        let host = s(h, "/host");
        let hostport = if port.is_empty() { host.to_string() } else if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        return format!("http-get {}://{hostport}{} {attrs}", s(h, "/scheme").to_lowercase(), s(h, "/path"));
    }
    if let Some(t) = p.get("tcpSocket") {
        return format!("tcp-socket {}:{} {attrs}", s(t, "/host"), v(t, "/port"));
    }
    if let Some(g) = p.get("grpc") {
        return format!("grpc <pod>:{} {} {attrs}", v(g, "/port"), s(g, "/service"));
    }
    format!("unknown {attrs}")
}

fn env_from(w: &mut Writer, c: &Value) {
    w.write(2, "Environment Variables from:\n");
    for e in arr(c, "/envFrom") {
        let (from, r) = if let Some(r) = e.get("configMapRef") { ("ConfigMap", r) } else if let Some(r) = e.get("secretRef") { ("Secret", r) } else { ("", e) };
        let optional = r.get("optional").and_then(Value::as_bool).unwrap_or(false);
        let prefix = s(e, "/prefix");
        if prefix.is_empty() {
            w.write(3, &format!("{}\t{from}\tOptional: {optional}\n", s(r, "/name")));
        } else {
            w.write(3, &format!("{}\t{from} with prefix '{prefix}'\tOptional: {optional}\n", s(r, "/name")));
        }
    }
}

fn env(w: &mut Writer, c: &Value, pod: Option<&Value>) {
    let vars = arr(c, "/env");
    let none = if vars.is_empty() { "\t<none>" } else { "" };
    w.write(2, &format!("Environment:{none}\n"));
    for e in vars {
        let name = s(e, "/name");
        let Some(from) = e.get("valueFrom") else {
            for (i, line) in s(e, "/value").split('\n').enumerate() {
                if i == 0 {
                    w.write(3, &format!("{name}:\t{line}\n"));
                } else {
                    w.write(3, &format!("\t{line}\n"));
                }
            }
            continue;
        };
        if let Some(f) = from.get("fieldRef") {
            // kubectl's scheme converts only metadata.name and metadata.namespace for pods.
            let value = match (pod, s(f, "/fieldPath")) {
                (Some(p), "metadata.name") => s(p, "/metadata/name"),
                (Some(p), "metadata.namespace") => s(p, "/metadata/namespace"),
                _ => "",
            };
            w.write(3, &format!("{name}:\t{value} ({}:{})\n", s(f, "/apiVersion"), s(f, "/fieldPath")));
        } else if let Some(r) = from.get("resourceFieldRef") {
            let resource = s(r, "/resource");
            let mut value = container_resource_value(c, r);
            if value == "0" && (resource == "limits.cpu" || resource == "limits.memory") {
                value = "node allocatable".into();
            }
            w.write(3, &format!("{name}:\t{value} ({resource})\n"));
        } else if let Some(k) = from.get("secretKeyRef") {
            let optional = k.get("optional").and_then(Value::as_bool).unwrap_or(false);
            w.write(3, &format!("{name}:\t<set to the key '{}' in secret '{}'>\tOptional: {optional}\n", s(k, "/key"), s(k, "/name")));
        } else if let Some(k) = from.get("configMapKeyRef") {
            let optional = k.get("optional").and_then(Value::as_bool).unwrap_or(false);
            w.write(3, &format!("{name}:\t<set to the key '{}' of config map '{}'>\tOptional: {optional}\n", s(k, "/key"), s(k, "/name")));
        }
    }
}

/// `ExtractContainerResourceValue`: the container's request or limit divided by the divisor
/// (1 when unset), rounded up; "" for resources it does not know.
fn container_resource_value(c: &Value, r: &Value) -> String {
    use rkube_apimachinery::quantity::Quantity;
    let divisor = r.get("divisor").and_then(|d| Quantity::from_json(d).ok()).filter(|d| !d.is_zero()).unwrap_or_else(|| Quantity::from_milli(1000));
    let Some((kind, res)) = s(r, "/resource").split_once('.') else { return String::new() };
    if !matches!(kind, "limits" | "requests") || !(matches!(res, "cpu" | "memory" | "ephemeral-storage") || res.starts_with("hugepages-")) {
        return String::new();
    }
    let q = c.pointer(&format!("/resources/{kind}/{res}")).and_then(|q| Quantity::from_json(q).ok()).unwrap_or_default();
    let (num, den) = if res == "cpu" { (q.milli_value(), divisor.milli_value()) } else { (q.value(), divisor.value()) };
    if den == 0 {
        return String::new();
    }
    ((num as f64 / den as f64).ceil() as i64).to_string()
}

fn mounts(w: &mut Writer, c: &Value) {
    let mut ms: Vec<&Value> = arr(c, "/volumeMounts").iter().collect();
    let none = if ms.is_empty() { "\t<none>" } else { "" };
    w.write(2, &format!("Mounts:{none}\n"));
    ms.sort_by(|a, b| s(a, "/mountPath").cmp(s(b, "/mountPath")));
    for m in ms {
        let mut flags = vec![if m.get("readOnly").and_then(Value::as_bool).unwrap_or(false) { "ro".to_string() } else { "rw".to_string() }];
        if !s(m, "/subPath").is_empty() {
            flags.push(format!("path={}", crate::util::go_quote(s(m, "/subPath"))));
        }
        w.write(3, &format!("{} from {} ({})\n", s(m, "/mountPath"), s(m, "/name"), flags.join(",")));
    }
}

/// The Volumes section.
pub fn volumes(w: &mut Writer, vols: &[Value], space: &str) {
    if vols.is_empty() {
        w.write(0, &format!("{space}Volumes:\t<none>\n"));
        return;
    }
    w.write(0, &format!("{space}Volumes:\n"));
    let indent = if space.is_empty() { "" } else { " " };
    for vol in vols {
        w.write(1, &format!("{indent}{}:\n", s(vol, "/name")));
        volume_source(w, vol);
    }
}

fn volume_source(w: &mut Writer, vol: &Value) {
    let optional = |x: &Value| x.get("optional").and_then(Value::as_bool).unwrap_or(false);
    if let Some(h) = vol.get("hostPath") {
        host_path_source(w, h);
    } else if let Some(e) = vol.get("emptyDir") {
        let limit = if s(e, "/sizeLimit").is_empty() { "<unset>".to_string() } else { v(e, "/sizeLimit") };
        w.write(2, &format!("Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t{}\n    SizeLimit:\t{limit}\n", s(e, "/medium")));
    } else if let Some(sec) = vol.get("secret") {
        w.write(2, &format!("Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t{}\n    Optional:\t{}\n", s(sec, "/secretName"), optional(sec)));
    } else if let Some(cm) = vol.get("configMap") {
        w.write(2, &format!("Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t{}\n    Optional:\t{}\n", s(cm, "/name"), optional(cm)));
    } else if let Some(pvc) = vol.get("persistentVolumeClaim") {
        let ro = pvc.get("readOnly").and_then(Value::as_bool).unwrap_or(false);
        w.write(2, &format!("Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t{}\n    ReadOnly:\t{ro}\n", s(pvc, "/claimName")));
    } else if let Some(p) = vol.get("projected") {
        w.write(2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n");
        for src in arr(p, "/sources") {
            if let Some(x) = src.get("secret") {
                w.write(2, &format!("SecretName:\t{}\n    Optional:\t{}\n", s(x, "/name"), optional(x)));
            } else if src.get("downwardAPI").is_some() {
                w.write(2, "DownwardAPI:\ttrue\n");
            } else if let Some(x) = src.get("configMap") {
                w.write(2, &format!("ConfigMapName:\t{}\n    Optional:\t{}\n", s(x, "/name"), optional(x)));
            } else if let Some(x) = src.get("serviceAccountToken") {
                w.write(2, &format!("TokenExpirationSeconds:\t{}\n", v(x, "/expirationSeconds")));
            }
        }
    } else {
        w.write(1, "<unknown>\n");
    }
}

/// `printHostPathVolumeSource` (`<none>` only when the type is unset, not when empty).
pub fn host_path_source(w: &mut Writer, h: &Value) {
    let t = h.get("type").and_then(Value::as_str).unwrap_or("<none>");
    w.write(2, &format!("Type:\tHostPath (bare host directory volume)\n    Path:\t{}\n    HostPathType:\t{t}\n", s(h, "/path")));
}

/// `describeTopologySpreadConstraints`, sorted by topology key; nothing when there are none.
pub fn topology_spread_constraints(w: &mut Writer, tscs: &[Value], space: &str) {
    if tscs.is_empty() {
        return;
    }
    let mut sorted: Vec<&Value> = tscs.iter().collect();
    sorted.sort_by(|a, b| s(a, "/topologyKey").cmp(s(b, "/topologyKey")));
    w.write(0, &format!("{space}Topology Spread Constraints:\t"));
    for (i, t) in sorted.iter().enumerate() {
        if i != 0 {
            w.write(0, &format!("{space}\t"));
        }
        let mut text = format!("{}:{} when max skew {} is exceeded", s(t, "/topologyKey"), s(t, "/whenUnsatisfiable"), v(t, "/maxSkew"));
        if let Some(sel) = t.get("labelSelector").filter(|x| !x.is_null()) {
            text.push_str(&format!(" for selector {}", super::writer::format_selector(Some(sel), true)));
        }
        w.write(0, &format!("{text}\n"));
    }
}

/// The pod's QoS class (status.qosClass, else computed from the containers' resources).
pub fn qos_class(pod: &Value) -> String {
    let q = s(pod, "/status/qosClass");
    if !q.is_empty() {
        return q.to_string();
    }
    let all: Vec<&Value> = arr(pod, "/spec/containers").iter().chain(arr(pod, "/spec/initContainers")).collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in &all {
        let req = string_map(c, "/resources/requests");
        let lim = string_map(c, "/resources/limits");
        let relevant = |m: &BTreeMap<String, String>| m.keys().any(|k| k == "cpu" || k == "memory");
        any |= relevant(&req) || relevant(&lim);
        for r in ["cpu", "memory"] {
            match lim.get(r) {
                None => guaranteed = false,
                Some(l) => {
                    if req.get(r).is_some_and(|q| q != l) {
                        guaranteed = false;
                    }
                }
            }
        }
    }
    if !any {
        "BestEffort".into()
    } else if guaranteed {
        "Guaranteed".into()
    } else {
        "Burstable".into()
    }
}

/// `DescribePodTemplate`.
pub fn pod_template(w: &mut Writer, template: &Value) {
    w.write(0, "Pod Template:\n");
    labels_multiline(w, "  ", "Labels", &string_map(template, "/metadata/labels"));
    let annotations = string_map(template, "/metadata/annotations");
    if !annotations.is_empty() {
        annotations_multiline(w, "  Annotations", &annotations);
    }
    if !s(template, "/spec/serviceAccountName").is_empty() {
        w.write(1, &format!("Service Account:\t{}\n", s(template, "/spec/serviceAccountName")));
    }
    if !arr(template, "/spec/initContainers").is_empty() {
        containers(w, "Init Containers", arr(template, "/spec/initContainers"), None, "  ");
    }
    containers(w, "Containers", arr(template, "/spec/containers"), None, "  ");
    volumes(w, arr(template, "/spec/volumes"), "  ");
    topology_spread_constraints(w, arr(template, "/spec/topologySpreadConstraints"), "  ");
    if !s(template, "/spec/priorityClassName").is_empty() {
        w.write(1, &format!("Priority Class Name:\t{}\n", s(template, "/spec/priorityClassName")));
    }
    labels_multiline(w, "  ", "Node-Selectors", &string_map(template, "/spec/nodeSelector"));
    tolerations_multiline(w, "  ", "Tolerations", arr(template, "/spec/tolerations"));
}
