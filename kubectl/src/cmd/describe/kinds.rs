//! Describers of workload and core kinds other than pods.

use serde_json::Value;

use super::events;
use super::pod::{controller_of, pod_template};
use super::writer::{annotations_multiline, format_selector, labels_multiline, rfc1123z, s, string_map, v, Writer};
use super::Ctx;

pub(super) fn arr<'a>(val: &'a Value, pointer: &str) -> &'a [Value] {
    val.pointer(pointer).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

pub(super) fn int(val: &Value, pointer: &str) -> i64 {
    val.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

pub(super) fn name_ns_labels(w: &mut Writer, obj: &Value) {
    w.write(0, &format!("Name:\t{}\n", s(obj, "/metadata/name")));
    w.write(0, &format!("Namespace:\t{}\n", s(obj, "/metadata/namespace")));
    labels_multiline(w, "", "Labels", &string_map(obj, "/metadata/labels"));
    annotations_multiline(w, "Annotations", &string_map(obj, "/metadata/annotations"));
}

fn conditions_with_reason(w: &mut Writer, obj: &Value) {
    let conds = arr(obj, "/status/conditions");
    if conds.is_empty() {
        return;
    }
    w.write(0, "Conditions:\n  Type\tStatus\tReason\n");
    w.write(1, "----\t------\t------\n");
    for c in conds {
        w.write(1, &format!("{} \t{}\t{}\n", s(c, "/type"), s(c, "/status"), s(c, "/reason")));
    }
}

fn owned_by(obj: &Value, uid: &str) -> bool {
    arr(obj, "/metadata/ownerReferences")
        .iter()
        .any(|o| o.get("controller").and_then(Value::as_bool) == Some(true) && s(o, "/uid") == uid)
}

fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
        labels.remove("pod-template-hash");
    }
    t
}

fn rs_list_text(rss: &[&Value]) -> String {
    let parts: Vec<String> = rss
        .iter()
        .map(|rs| format!("{} ({}/{} replicas created)", s(rs, "/metadata/name"), int(rs, "/status/replicas"), int(rs, "/spec/replicas")))
        .collect();
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(", ")
    }
}

/// `describe deployment`.
pub async fn deployment(ctx: &Ctx<'_>, d: &Value) -> String {
    let ns = s(d, "/metadata/namespace");
    let rss = ctx.list(&format!("/apis/apps/v1/namespaces/{ns}/replicasets"), "", "").await.unwrap_or_default();
    let evs = events::search(ctx, d, true).await;
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(d, "/metadata/name")));
    w.write(0, &format!("Namespace:\t{ns}\n"));
    w.write(0, &format!("CreationTimestamp:\t{}\n", rfc1123z(s(d, "/metadata/creationTimestamp"))));
    labels_multiline(&mut w, "", "Labels", &string_map(d, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(d, "/metadata/annotations"));
    w.write(0, &format!("Selector:\t{}\n", format_selector(d.pointer("/spec/selector"), false)));
    w.write(
        0,
        &format!(
            "Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable\n",
            int(d, "/spec/replicas"),
            int(d, "/status/updatedReplicas"),
            int(d, "/status/replicas"),
            int(d, "/status/availableReplicas"),
            int(d, "/status/unavailableReplicas")
        ),
    );
    w.write(0, &format!("StrategyType:\t{}\n", s(d, "/spec/strategy/type")));
    w.write(0, &format!("MinReadySeconds:\t{}\n", int(d, "/spec/minReadySeconds")));
    if let Some(ru) = d.pointer("/spec/strategy/rollingUpdate") {
        w.write(0, &format!("RollingUpdateStrategy:\t{} max unavailable, {} max surge\n", v(ru, "/maxUnavailable"), v(ru, "/maxSurge")));
    }
    pod_template(&mut w, d.pointer("/spec/template").unwrap_or(&Value::Null));
    conditions_with_reason(&mut w, d);
    let uid = s(d, "/metadata/uid");
    let template = without_hash(d.pointer("/spec/template").unwrap_or(&Value::Null));
    let owned: Vec<&Value> = rss.iter().filter(|rs| owned_by(rs, uid)).collect();
    if !owned.is_empty() {
        // The new replica set is the oldest one with the deployment's template; every other
        // one (scaled to zero or not) is old, in list order.
        let mut by_age = owned.clone();
        by_age.sort_by(|a, b| (s(a, "/metadata/creationTimestamp"), s(a, "/metadata/name")).cmp(&(s(b, "/metadata/creationTimestamp"), s(b, "/metadata/name"))));
        let new = by_age.into_iter().find(|rs| without_hash(rs.pointer("/spec/template").unwrap_or(&Value::Null)) == template);
        let new_uid = new.map(|rs| s(rs, "/metadata/uid"));
        let old: Vec<&Value> = owned.into_iter().filter(|rs| Some(s(rs, "/metadata/uid")) != new_uid).collect();
        w.write(0, &format!("OldReplicaSets:\t{}\n", rs_list_text(&old)));
        w.write(0, &format!("NewReplicaSet:\t{}\n", rs_list_text(new.as_slice())));
    }
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

pub(super) async fn pod_counts(ctx: &Ctx<'_>, obj: &Value) -> (usize, usize, usize, usize) {
    let ns = s(obj, "/metadata/namespace");
    let selector = format_selector(obj.pointer("/spec/selector"), false);
    let pods = ctx.list(&format!("/api/v1/namespaces/{ns}/pods"), &selector, "").await.unwrap_or_default();
    let uid = s(obj, "/metadata/uid");
    let mut counts = (0, 0, 0, 0);
    for p in pods.iter().filter(|p| owned_by(p, uid)) {
        match s(p, "/status/phase") {
            "Running" => counts.0 += 1,
            "Pending" => counts.1 += 1,
            "Succeeded" => counts.2 += 1,
            "Failed" => counts.3 += 1,
            _ => {}
        }
    }
    counts
}

/// `describe replicaset`.
pub async fn replica_set(ctx: &Ctx<'_>, rs: &Value) -> String {
    let (running, waiting, succeeded, failed) = pod_counts(ctx, rs).await;
    let evs = events::search(ctx, rs, true).await;
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(rs, "/metadata/name")));
    w.write(0, &format!("Namespace:\t{}\n", s(rs, "/metadata/namespace")));
    w.write(0, &format!("Selector:\t{}\n", format_selector(rs.pointer("/spec/selector"), true)));
    labels_multiline(&mut w, "", "Labels", &string_map(rs, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(rs, "/metadata/annotations"));
    if let Some(c) = controller_of(rs) {
        w.write(0, &format!("Controlled By:\t{c}\n"));
    }
    w.write(0, &format!("Replicas:\t{} current / {} desired\n", int(rs, "/status/replicas"), int(rs, "/spec/replicas")));
    w.write(0, "Pods Status:\t");
    w.write(0, &format!("{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed\n"));
    pod_template(&mut w, rs.pointer("/spec/template").unwrap_or(&Value::Null));
    conditions_with_reason(&mut w, rs);
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

/// `describe service`.
pub async fn service(ctx: &Ctx<'_>, svc: &Value) -> String {
    let ns = s(svc, "/metadata/namespace");
    let name = s(svc, "/metadata/name");
    let slices = ctx
        .list(&format!("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"), &format!("kubernetes.io/service-name={name}"), "")
        .await
        .unwrap_or_default();
    let evs = events::search(ctx, svc, true).await;
    let mut w = Writer::default();
    name_ns_labels(&mut w, svc);
    w.write(0, &format!("Selector:\t{}\n", format_map(&string_map(svc, "/spec/selector"))));
    w.write(0, &format!("Type:\t{}\n", s(svc, "/spec/type")));
    if !s(svc, "/spec/ipFamilyPolicy").is_empty() {
        w.write(0, &format!("IP Family Policy:\t{}\n", s(svc, "/spec/ipFamilyPolicy")));
    }
    let fams: Vec<&str> = arr(svc, "/spec/ipFamilies").iter().filter_map(Value::as_str).collect();
    w.write(0, &format!("IP Families:\t{}\n", if fams.is_empty() { "<none>".to_string() } else { fams.join(",") }));
    w.write(0, &format!("IP:\t{}\n", s(svc, "/spec/clusterIP")));
    let ips: Vec<&str> = arr(svc, "/spec/clusterIPs").iter().filter_map(Value::as_str).collect();
    w.write(0, &format!("IPs:\t{}\n", if ips.is_empty() { "<none>".to_string() } else { ips.join(",") }));
    let ext: Vec<&str> = arr(svc, "/spec/externalIPs").iter().filter_map(Value::as_str).collect();
    if !ext.is_empty() {
        w.write(0, &format!("External IPs:\t{}\n", ext.join(",")));
    }
    if !s(svc, "/spec/loadBalancerIP").is_empty() {
        w.write(0, &format!("Desired LoadBalancer IP:\t{}\n", s(svc, "/spec/loadBalancerIP")));
    }
    if !s(svc, "/spec/externalName").is_empty() {
        w.write(0, &format!("External Name:\t{}\n", s(svc, "/spec/externalName")));
    }
    let ingress: Vec<String> = arr(svc, "/status/loadBalancer/ingress")
        .iter()
        .map(|i| match (s(i, "/ip"), s(i, "/ipMode")) {
            ("", _) => s(i, "/hostname").to_string(),
            (ip, "") => ip.to_string(),
            (ip, mode) => format!("{ip} ({mode})"),
        })
        .collect();
    if !ingress.is_empty() {
        w.write(0, &format!("LoadBalancer Ingress:\t{}\n", ingress.join(", ")));
    }
    for p in arr(svc, "/spec/ports") {
        service_port(&mut w, p, &slices);
    }
    w.write(0, &format!("Session Affinity:\t{}\n", s(svc, "/spec/sessionAffinity")));
    if !s(svc, "/spec/externalTrafficPolicy").is_empty() {
        w.write(0, &format!("External Traffic Policy:\t{}\n", s(svc, "/spec/externalTrafficPolicy")));
    }
    if !s(svc, "/spec/internalTrafficPolicy").is_empty() {
        w.write(0, &format!("Internal Traffic Policy:\t{}\n", s(svc, "/spec/internalTrafficPolicy")));
    }
    if int(svc, "/spec/healthCheckNodePort") != 0 {
        w.write(0, &format!("HealthCheck NodePort:\t{}\n", int(svc, "/spec/healthCheckNodePort")));
    }
    let ranges: Vec<&str> = arr(svc, "/spec/loadBalancerSourceRanges").iter().filter_map(Value::as_str).collect();
    if !ranges.is_empty() {
        w.write(0, &format!("LoadBalancer Source Ranges:\t{}\n", ranges.join(",")));
    }
    if !s(svc, "/spec/trafficDistribution").is_empty() {
        w.write(0, &format!("Traffic Distribution:\t{}\n", s(svc, "/spec/trafficDistribution")));
    }
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

fn service_port(w: &mut Writer, p: &Value, slices: &[Value]) {
    let name = if s(p, "/name").is_empty() { "<unset>" } else { s(p, "/name") };
    let proto = s(p, "/protocol");
    w.write(0, &format!("Port:\t{name}\t{}/{proto}\n", int(p, "/port")));
    w.write(0, &format!("TargetPort:\t{}/{proto}\n", v(p, "/targetPort")));
    if int(p, "/nodePort") != 0 {
        w.write(0, &format!("NodePort:\t{name}\t{}/{proto}\n", int(p, "/nodePort")));
    }
    w.write(0, &format!("Endpoints:\t{}\n", format_slices(slices, s(p, "/name"))));
}

/// `formatEndpointSlices` for one port name: up to three ready `ip:port`s, then `+ N more...`.
pub(super) fn format_slices(slices: &[Value], port_name: &str) -> String {
    if slices.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let (mut more, mut count) = (false, 0usize);
    let ready = |e: &Value| e.pointer("/conditions/ready").and_then(Value::as_bool).unwrap_or(true);
    for sl in slices {
        let ports = arr(sl, "/ports");
        let endpoints = arr(sl, "/endpoints");
        if ports.is_empty() {
            for e in endpoints {
                more |= list.len() == MAX;
                if !ready(e) {
                    continue;
                }
                if !more {
                    list.push(s(e, "/addresses/0").to_string());
                }
                count += 1;
            }
            continue;
        }
        for p in ports.iter().filter(|p| s(p, "/name") == port_name) {
            for e in endpoints {
                more |= list.len() == MAX;
                if !ready(e) {
                    continue;
                }
                if !more {
                    let a = s(e, "/addresses/0");
                    let host = if a.contains(':') { format!("[{a}]") } else { a.to_string() };
                    list.push(format!("{host}:{}", int(p, "/port")));
                }
                count += 1;
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count.saturating_sub(MAX))
    } else {
        ret
    }
}

pub(super) fn format_map(m: &std::collections::BTreeMap<String, String>) -> String {
    if m.is_empty() {
        return "<none>".into();
    }
    m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// `describe configmap`.
pub async fn config_map(ctx: &Ctx<'_>, cm: &Value) -> String {
    let evs = events::search(ctx, cm, true).await;
    let mut w = Writer::default();
    name_ns_labels(&mut w, cm);
    w.write(0, "\nData\n====\n");
    for (k, val) in string_map(cm, "/data") {
        w.write(0, &format!("{k}:\n----\n"));
        w.write(0, &format!("{val}\n"));
        w.write(0, "\n");
    }
    w.write(0, "\nBinaryData\n====\n");
    for (k, val) in string_map(cm, "/binaryData") {
        let len = base64_len(&val);
        w.write(0, &format!("{k}: {len} bytes\n"));
    }
    w.write(0, "\n");
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

fn base64_len(b64: &str) -> usize {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(b64).map(|b| b.len()).unwrap_or(0)
}

/// `describe secret` (sizes only, never values).
pub fn secret(sec: &Value) -> String {
    let mut w = Writer::default();
    name_ns_labels(&mut w, sec);
    w.write(0, &format!("\nType:\t{}\n", s(sec, "/type")));
    w.write(0, "\nData\n====\n");
    let token_type = s(sec, "/type") == "kubernetes.io/service-account-token";
    for (k, val) in string_map(sec, "/data") {
        if k == "token" && token_type {
            use base64::Engine;
            let text = base64::engine::general_purpose::STANDARD.decode(&val).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
            w.write(0, &format!("{k}:\t{text}\n"));
        } else {
            w.write(0, &format!("{k}:\t{} bytes\n", base64_len(&val)));
        }
    }
    w.finish()
}

/// `describe serviceaccount`: its secrets (marked when missing) and legacy token secrets.
pub async fn service_account(ctx: &Ctx<'_>, sa: &Value) -> String {
    let ns = s(sa, "/metadata/namespace");
    let secrets = ctx.list(&format!("/api/v1/namespaces/{ns}/secrets"), "", "").await;
    let evs = events::search(ctx, sa, true).await;
    let names = |ptr: &str| -> Vec<String> { arr(sa, ptr).iter().map(|x| s(x, "/name").to_string()).collect() };
    let (pull, mount) = (names("/imagePullSecrets"), names("/secrets"));
    let mut tokens = Vec::new();
    let mut missing = std::collections::BTreeSet::new();
    if let Ok(secrets) = &secrets {
        for sec in secrets {
            let ann = |k: &str| sec.pointer(&format!("/metadata/annotations/{k}")).and_then(Value::as_str).unwrap_or("");
            if s(sec, "/type") == "kubernetes.io/service-account-token"
                && ann("kubernetes.io~1service-account.name") == s(sa, "/metadata/name")
                && ann("kubernetes.io~1service-account.uid") == s(sa, "/metadata/uid")
            {
                tokens.push(s(sec, "/metadata/name").to_string());
            }
        }
        let existing: std::collections::BTreeSet<&str> = secrets.iter().map(|x| s(x, "/metadata/name")).collect();
        missing.extend(mount.iter().chain(&pull).filter(|n| !existing.contains(n.as_str())).cloned());
    }
    let mut w = Writer::default();
    name_ns_labels(&mut w, sa);
    for (header, list) in [("Image pull secrets:", pull), ("Mountable secrets: ", mount), ("Tokens:            ", tokens)] {
        if list.is_empty() {
            w.write(0, &format!("{header}\t<none>\n"));
            continue;
        }
        let mut prefix = header;
        for n in &list {
            let suffix = if missing.contains(n) { " (not found)" } else { "" };
            w.write(0, &format!("{prefix}\t{n}{suffix}\n"));
            prefix = "                   ";
        }
    }
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

/// `describe job`.
pub async fn job(ctx: &Ctx<'_>, job: &Value) -> String {
    let evs = events::search(ctx, job, true).await;
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(job, "/metadata/name")));
    w.write(0, &format!("Namespace:\t{}\n", s(job, "/metadata/namespace")));
    w.write(0, &format!("Selector:\t{}\n", format_selector(job.pointer("/spec/selector"), false)));
    labels_multiline(&mut w, "", "Labels", &string_map(job, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(job, "/metadata/annotations"));
    if let Some(c) = controller_of(job) {
        w.write(0, &format!("Controlled By:\t{c}\n"));
    }
    let opt = |p: &str| job.pointer(p).filter(|x| !x.is_null()).map(crate::printers::table::go_sprint);
    if let Some(p) = opt("/spec/parallelism") {
        w.write(0, &format!("Parallelism:\t{p}\n"));
    }
    w.write(0, &format!("Completions:\t{}\n", opt("/spec/completions").unwrap_or_else(|| "<unset>".into())));
    if let Some(m) = opt("/spec/completionMode") {
        w.write(0, &format!("Completion Mode:\t{m}\n"));
    }
    if let Some(x) = opt("/spec/suspend") {
        w.write(0, &format!("Suspend:\t{x}\n"));
    }
    if let Some(x) = opt("/spec/backoffLimit") {
        w.write(0, &format!("Backoff Limit:\t{x}\n"));
    }
    if let Some(x) = opt("/spec/ttlSecondsAfterFinished") {
        w.write(0, &format!("TTL Seconds After Finished:\t{x}\n"));
    }
    if !s(job, "/status/startTime").is_empty() {
        w.write(0, &format!("Start Time:\t{}\n", rfc1123z(s(job, "/status/startTime"))));
    }
    if !s(job, "/status/completionTime").is_empty() {
        w.write(0, &format!("Completed At:\t{}\n", rfc1123z(s(job, "/status/completionTime"))));
    }
    if let (Some(start), Some(end)) = (seconds(s(job, "/status/startTime")), seconds(s(job, "/status/completionTime"))) {
        w.write(0, &format!("Duration:\t{}\n", rkube_apimachinery::duration::human_duration(end - start)));
    }
    if let Some(x) = opt("/spec/activeDeadlineSeconds") {
        w.write(0, &format!("Active Deadline Seconds:\t{x}s\n"));
    }
    let (active, succeeded, failed) = (int(job, "/status/active"), int(job, "/status/succeeded"), int(job, "/status/failed"));
    match opt("/status/ready") {
        None => w.write(0, &format!("Pods Statuses:\t{active} Active / {succeeded} Succeeded / {failed} Failed\n")),
        Some(r) => w.write(0, &format!("Pods Statuses:\t{active} Active ({r} Ready) / {succeeded} Succeeded / {failed} Failed\n")),
    }
    if s(job, "/spec/completionMode") == "Indexed" {
        w.write(0, &format!("Completed Indexes:\t{}\n", cap_indexes(s(job, "/status/completedIndexes"), 50)));
    }
    pod_template(&mut w, job.pointer("/spec/template").unwrap_or(&Value::Null));
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

fn seconds(ts: &str) -> Option<i64> {
    ts.parse::<k8s_openapi::jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// `capIndexesListOrNone`: the list cut at the first comma after `soft_limit` characters.
fn cap_indexes(indexes: &str, soft_limit: usize) -> String {
    if indexes.is_empty() {
        return "<none>".into();
    }
    match indexes.get(soft_limit..).and_then(|rest| rest.find(',')) {
        Some(pos) => format!("{}...", &indexes[..soft_limit + pos + 1]),
        None => indexes.to_string(),
    }
}

/// `describe cronjob`.
pub async fn cron_job(ctx: &Ctx<'_>, cj: &Value) -> String {
    let evs = events::search(ctx, cj, true).await;
    let mut w = Writer::default();
    name_ns_labels(&mut w, cj);
    w.write(0, &format!("Schedule:\t{}\n", s(cj, "/spec/schedule")));
    w.write(0, &format!("Concurrency Policy:\t{}\n", s(cj, "/spec/concurrencyPolicy")));
    let suspend = match cj.pointer("/spec/suspend").and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    w.write(0, &format!("Suspend:\t{suspend}\n"));
    let opt = |p: &str| cj.pointer(p).filter(|x| !x.is_null()).map(crate::printers::table::go_sprint);
    w.write(0, &format!("Successful Job History Limit:\t{}\n", opt("/spec/successfulJobsHistoryLimit").unwrap_or_else(|| "<unset>".into())));
    w.write(0, &format!("Failed Job History Limit:\t{}\n", opt("/spec/failedJobsHistoryLimit").unwrap_or_else(|| "<unset>".into())));
    w.write(0, &format!("Starting Deadline Seconds:\t{}\n", opt("/spec/startingDeadlineSeconds").map(|x| format!("{x}s")).unwrap_or_else(|| "<unset>".into())));
    let jt = cj.pointer("/spec/jobTemplate").cloned().unwrap_or(Value::Null);
    w.write(0, &format!("Selector:\t{}\n", jt.pointer("/spec/selector").map(|sel| format_selector(Some(sel), false)).unwrap_or_else(|| "<unset>".into())));
    let jopt = |p: &str| jt.pointer(p).filter(|x| !x.is_null()).map(crate::printers::table::go_sprint);
    w.write(0, &format!("Parallelism:\t{}\n", jopt("/spec/parallelism").unwrap_or_else(|| "<unset>".into())));
    w.write(0, &format!("Completions:\t{}\n", jopt("/spec/completions").unwrap_or_else(|| "<unset>".into())));
    if let Some(x) = jopt("/spec/activeDeadlineSeconds") {
        w.write(0, &format!("Active Deadline Seconds:\t{x}s\n"));
    }
    pod_template(&mut w, jt.pointer("/spec/template").unwrap_or(&Value::Null));
    let last = s(cj, "/status/lastScheduleTime");
    w.write(0, &format!("Last Schedule Time:\t{}\n", if last.is_empty() { "<unset>".to_string() } else { rfc1123z(last) }));
    let active: Vec<&str> = arr(cj, "/status/active").iter().map(|j| s(j, "/name")).collect();
    w.write(0, "Active Jobs:\t");
    w.line(if active.is_empty() { "<none>".to_string() } else { active.join(", ") }.as_str());
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}
