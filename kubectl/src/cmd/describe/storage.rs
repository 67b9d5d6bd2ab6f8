//! `describe persistentvolume` and `describe persistentvolumeclaim`.

use serde_json::Value;

use super::events;
use super::pod::host_path_source;
use super::workloads::storage_class;
use super::writer::{annotations_multiline, arr, go_list, labels_multiline, quantity, rfc1123z, s, string_map, Writer};
use super::Ctx;
use crate::util::age;

/// `GetAccessModesAsString`: the distinct modes in upstream's fixed order.
fn access_modes(obj: &Value, pointer: &str) -> String {
    let modes: Vec<&str> = arr(obj, pointer).iter().filter_map(Value::as_str).collect();
    [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")]
        .iter()
        .filter(|(mode, _)| modes.contains(mode))
        .map(|(_, short)| *short)
        .collect::<Vec<_>>()
        .join(",")
}

fn status_line(w: &mut Writer, obj: &Value) {
    let deleted = s(obj, "/metadata/deletionTimestamp");
    if deleted.is_empty() {
        w.write(0, &format!("Status:\t{}\n", s(obj, "/status/phase")));
    } else {
        w.write(0, &format!("Status:\tTerminating (lasts {})\n", age(Some(deleted))));
    }
}

/// `describe persistentvolume`.
pub async fn persistent_volume(ctx: &Ctx<'_>, pv: &Value) -> String {
    let evs = events::search(ctx, pv, true).await;
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(pv, "/metadata/name")));
    labels_multiline(&mut w, "", "Labels", &string_map(pv, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(pv, "/metadata/annotations"));
    w.write(0, &format!("Finalizers:\t{}\n", go_list(pv, "/metadata/finalizers")));
    w.write(0, &format!("StorageClass:\t{}\n", storage_class(pv)));
    status_line(&mut w, pv);
    match pv.pointer("/spec/claimRef").filter(|c| !c.is_null()) {
        Some(c) => w.write(0, &format!("Claim:\t{}/{}\n", s(c, "/namespace"), s(c, "/name"))),
        None => w.write(0, "Claim:\t\n"),
    }
    w.write(0, &format!("Reclaim Policy:\t{}\n", s(pv, "/spec/persistentVolumeReclaimPolicy")));
    w.write(0, &format!("Access Modes:\t{}\n", access_modes(pv, "/spec/accessModes")));
    if !s(pv, "/spec/volumeMode").is_empty() {
        w.write(0, &format!("VolumeMode:\t{}\n", s(pv, "/spec/volumeMode")));
    }
    w.write(0, &format!("Capacity:\t{}\n", quantity(pv, "/spec/capacity/storage")));
    node_affinity(&mut w, pv.pointer("/spec/nodeAffinity"));
    w.write(0, &format!("Message:\t{}\n", s(pv, "/status/message")));
    w.write(0, "Source:\n");
    source(&mut w, pv.get("spec").unwrap_or(&Value::Null));
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

/// `printVolumeNodeAffinity`.
fn node_affinity(w: &mut Writer, affinity: Option<&Value>) {
    w.write(0, "Node Affinity:\t");
    let Some(required) = affinity.and_then(|a| a.get("required")).filter(|r| !r.is_null()) else {
        w.line("<none>");
        return;
    };
    w.line("");
    w.write(1, "Required Terms:\t");
    let terms = arr(required, "/nodeSelectorTerms");
    if terms.is_empty() {
        w.line("<none>");
        return;
    }
    w.line("");
    for (i, term) in terms.iter().enumerate() {
        w.write(2, &format!("Term {i}:\t"));
        let reqs = arr(term, "/matchExpressions");
        if reqs.is_empty() {
            w.line("<none>");
            continue;
        }
        for (j, r) in reqs.iter().enumerate() {
            if j != 0 {
                w.write(2, "\t");
            }
            let mut expr = format!("{} {}", s(r, "/key"), s(r, "/operator").to_lowercase());
            let values: Vec<&str> = arr(r, "/values").iter().filter_map(Value::as_str).collect();
            if !values.is_empty() {
                expr.push_str(&format!(" [{}]", values.join(", ")));
            }
            w.write(0, &format!("{expr}\n"));
        }
    }
}

/// The persistent volume sources rkube clusters use; others print `<unknown>`.
fn source(w: &mut Writer, spec: &Value) {
    let bool_of = |x: &Value, k: &str| x.get(k).and_then(Value::as_bool).unwrap_or(false);
    if let Some(h) = spec.get("hostPath") {
        host_path_source(w, h);
    } else if let Some(n) = spec.get("nfs") {
        w.write(
            2,
            &format!(
                "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n    Server:\t{}\n    Path:\t{}\n    ReadOnly:\t{}\n",
                s(n, "/server"),
                s(n, "/path"),
                bool_of(n, "readOnly")
            ),
        );
    } else if let Some(l) = spec.get("local") {
        w.write(2, &format!("Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n    Path:\t{}\n", s(l, "/path")));
    } else if let Some(c) = spec.get("csi") {
        w.write(
            2,
            &format!(
                "Type:\tCSI (a Container Storage Interface (CSI) volume source)\n    Driver:\t{}\n    FSType:\t{}\n    VolumeHandle:\t{}\n    ReadOnly:\t{}\n",
                s(c, "/driver"),
                s(c, "/fsType"),
                s(c, "/volumeHandle"),
                bool_of(c, "readOnly")
            ),
        );
        w.write(2, "VolumeAttributes:\t");
        let attrs = string_map(c, "/volumeAttributes");
        if attrs.is_empty() {
            w.line("<none>");
        }
        for (i, (k, val)) in attrs.iter().enumerate() {
            if i != 0 {
                w.write(2, "\t");
            }
            let line = format!("{k}={val}");
            if line.len() > 140 {
                w.write(2, &format!("{}...\n", &line[..140]));
            } else {
                w.write(2, &format!("{line}\n"));
            }
        }
    } else {
        w.write(1, "<unknown>\n");
    }
}

/// `describe persistentvolumeclaim`.
pub async fn persistent_volume_claim(ctx: &Ctx<'_>, pvc: &Value) -> String {
    let ns = s(pvc, "/metadata/namespace");
    let name = s(pvc, "/metadata/name");
    let pods = ctx.list(&format!("/api/v1/namespaces/{ns}/pods"), "", "").await.unwrap_or_default();
    let evs = events::search(ctx, pvc, true).await;
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{name}\n"));
    w.write(0, &format!("Namespace:\t{ns}\n"));
    w.write(0, &format!("StorageClass:\t{}\n", storage_class(pvc)));
    status_line(&mut w, pvc);
    let volume = s(pvc, "/spec/volumeName");
    w.write(0, &format!("Volume:\t{volume}\n"));
    labels_multiline(&mut w, "", "Labels", &string_map(pvc, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(pvc, "/metadata/annotations"));
    w.write(0, &format!("Finalizers:\t{}\n", go_list(pvc, "/metadata/finalizers")));
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (quantity(pvc, "/status/capacity/storage"), access_modes(pvc, "/status/accessModes"))
    };
    w.write(0, &format!("Capacity:\t{capacity}\n"));
    w.write(0, &format!("Access Modes:\t{modes}\n"));
    if !s(pvc, "/spec/volumeMode").is_empty() {
        w.write(0, &format!("VolumeMode:\t{}\n", s(pvc, "/spec/volumeMode")));
    }
    if let Some(ds) = pvc.pointer("/spec/dataSource").filter(|d| !d.is_null()) {
        w.write(0, "DataSource:\n");
        if let Some(g) = ds.get("apiGroup").and_then(Value::as_str) {
            w.write(1, &format!("APIGroup:\t{g}\n"));
        }
        w.write(1, &format!("Kind:\t{}\n", s(ds, "/kind")));
        w.write(1, &format!("Name:\t{}\n", s(ds, "/name")));
    }
    let mut used_by = users(pvc, &pods);
    used_by.sort();
    w.write(0, "Used By:\t");
    if used_by.is_empty() {
        w.line("<none>");
    }
    for (i, p) in used_by.iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        w.write(0, &format!("{p}\n"));
    }
    let conds = arr(pvc, "/status/conditions");
    if !conds.is_empty() {
        w.write(0, "Conditions:\n");
        w.write(1, "Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage\n");
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n");
        for c in conds {
            w.write(
                1,
                &format!(
                    "{} \t{} \t{} \t{} \t{} \t{}\n",
                    s(c, "/type"),
                    s(c, "/status"),
                    rfc1123z(s(c, "/lastProbeTime")),
                    rfc1123z(s(c, "/lastTransitionTime")),
                    s(c, "/reason"),
                    s(c, "/message")
                ),
            );
        }
    }
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

/// `getPodsForPVC`: pods mounting the claim (once per volume) and pods owning it.
fn users(pvc: &Value, pods: &[Value]) -> Vec<String> {
    let name = s(pvc, "/metadata/name");
    let mut out: Vec<(String, String)> = Vec::new();
    for pod in pods {
        for vol in arr(pod, "/spec/volumes") {
            if vol.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str) == Some(name) {
                out.push((s(pod, "/metadata/uid").to_string(), s(pod, "/metadata/name").to_string()));
            }
        }
    }
    for owner in arr(pvc, "/metadata/ownerReferences").iter().filter(|o| s(o, "/kind") == "Pod") {
        let uid = s(owner, "/uid");
        let Some(pod) = pods.iter().find(|p| s(p, "/metadata/uid") == uid) else { continue };
        if !out.iter().any(|(u, _)| u == uid) {
            out.push((uid.to_string(), s(pod, "/metadata/name").to_string()));
        }
    }
    out.into_iter().map(|(_, n)| n).collect()
}
