//! `describe statefulset` and `describe daemonset`.

use serde_json::Value;

use super::events;
use super::kinds::{format_map, pod_counts};
use super::pod::pod_template;
use super::writer::{annotations_multiline, arr, format_selector, go_list, int, labels_multiline, quantity, rfc1123z, s, string_map, v, Writer};
use super::Ctx;

/// `describe statefulset`.
pub async fn stateful_set(ctx: &Ctx<'_>, sts: &Value) -> String {
    let (running, waiting, succeeded, failed) = pod_counts(ctx, sts).await;
    let evs = events::search(ctx, sts, true).await;
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(sts, "/metadata/name")));
    w.write(0, &format!("Namespace:\t{}\n", s(sts, "/metadata/namespace")));
    w.write(0, &format!("CreationTimestamp:\t{}\n", rfc1123z(s(sts, "/metadata/creationTimestamp"))));
    w.write(0, &format!("Selector:\t{}\n", format_selector(sts.pointer("/spec/selector"), false)));
    labels_multiline(&mut w, "", "Labels", &string_map(sts, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(sts, "/metadata/annotations"));
    w.write(0, &format!("Replicas:\t{} desired | {} total\n", int(sts, "/spec/replicas"), int(sts, "/status/replicas")));
    w.write(0, &format!("Update Strategy:\t{}\n", s(sts, "/spec/updateStrategy/type")));
    if let Some(ru) = sts.pointer("/spec/updateStrategy/rollingUpdate").filter(|x| !x.is_null()) {
        if ru.get("partition").is_some_and(|p| !p.is_null()) {
            w.write(1, &format!("Partition:\t{}\n", int(ru, "/partition")));
            if ru.get("maxUnavailable").is_some_and(|m| !m.is_null()) {
                w.write(1, &format!("MaxUnavailable:\t{}\n", v(ru, "/maxUnavailable")));
            }
        }
    }
    w.write(0, &format!("Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed\n"));
    pod_template(&mut w, sts.pointer("/spec/template").unwrap_or(&Value::Null));
    volume_claim_templates(&mut w, arr(sts, "/spec/volumeClaimTemplates"));
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

/// `GetPersistentVolumeClaimClass` (and the same rule for volumes): the beta annotation wins
/// over `spec.storageClassName`.
pub fn storage_class(obj: &Value) -> String {
    if let Some(class) = obj.pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class").and_then(Value::as_str) {
        return class.to_string();
    }
    s(obj, "/spec/storageClassName").to_string()
}

fn volume_claim_templates(w: &mut Writer, templates: &[Value]) {
    if templates.is_empty() {
        w.write(0, "Volume Claims:\t<none>\n");
        return;
    }
    w.write(0, "Volume Claims:\n");
    for pvc in templates {
        w.write(1, &format!("Name:\t{}\n", s(pvc, "/metadata/name")));
        w.write(1, &format!("StorageClass:\t{}\n", storage_class(pvc)));
        labels_multiline(w, "  ", "Labels", &string_map(pvc, "/metadata/labels"));
        labels_multiline(w, "  ", "Annotations", &string_map(pvc, "/metadata/annotations"));
        match pvc.pointer("/spec/resources/requests/storage") {
            Some(_) => w.write(1, &format!("Capacity:\t{}\n", quantity(pvc, "/spec/resources/requests/storage"))),
            None => w.write(1, "Capacity:\t<default>\n"),
        }
        w.write(1, &format!("Access Modes:\t{}\n", go_list(pvc, "/spec/accessModes")));
    }
}

/// `describe daemonset`.
pub async fn daemon_set(ctx: &Ctx<'_>, ds: &Value) -> String {
    let (running, waiting, succeeded, failed) = pod_counts(ctx, ds).await;
    let evs = events::search(ctx, ds, true).await;
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(ds, "/metadata/name")));
    w.write(0, &format!("Namespace:\t{}\n", s(ds, "/metadata/namespace")));
    w.write(0, &format!("Selector:\t{}\n", format_selector(ds.pointer("/spec/selector"), false)));
    w.write(0, &format!("Node-Selector:\t{}\n", format_map(&string_map(ds, "/spec/template/spec/nodeSelector"))));
    labels_multiline(&mut w, "", "Labels", &string_map(ds, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(ds, "/metadata/annotations"));
    for (field, title) in [
        ("desiredNumberScheduled", "Desired Number of Nodes Scheduled"),
        ("currentNumberScheduled", "Current Number of Nodes Scheduled"),
        ("updatedNumberScheduled", "Number of Nodes Scheduled with Up-to-date Pods"),
        ("numberAvailable", "Number of Nodes Scheduled with Available Pods"),
        ("numberMisscheduled", "Number of Nodes Misscheduled"),
    ] {
        w.write(0, &format!("{title}: {}\n", int(ds, &format!("/status/{field}"))));
    }
    w.write(0, &format!("Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed\n"));
    pod_template(&mut w, ds.pointer("/spec/template").unwrap_or(&Value::Null));
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}
