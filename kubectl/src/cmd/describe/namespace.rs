//! `describe namespace`: status, conditions, resource quotas and limit ranges.

use std::collections::BTreeSet;

use rkube_apimachinery::quantity::Quantity;
use serde_json::Value;

use super::writer::{annotations_multiline, arr, labels_multiline, quantity, rfc1123z, s, string_map, Writer};
use super::Ctx;

/// `describe namespace`.
pub async fn describe(ctx: &Ctx<'_>, ns: &Value) -> String {
    let name = s(ns, "/metadata/name");
    let quotas = ctx.list(&format!("/api/v1/namespaces/{name}/resourcequotas"), "", "").await;
    let limits = ctx.list(&format!("/api/v1/namespaces/{name}/limitranges"), "", "").await;
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{name}\n"));
    labels_multiline(&mut w, "", "Labels", &string_map(ns, "/metadata/labels"));
    annotations_multiline(&mut w, "Annotations", &string_map(ns, "/metadata/annotations"));
    w.write(0, &format!("Status:\t{}\n", s(ns, "/status/phase")));
    let conds = arr(ns, "/status/conditions");
    if !conds.is_empty() {
        w.write(0, "Conditions:\n");
        w.write(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n");
        w.write(1, "----\t------\t------------------\t------\t-------\n");
        for c in conds {
            w.write(
                1,
                &format!("{}\t{}\t{}\t{}\t{}\n", s(c, "/type"), s(c, "/status"), rfc1123z(s(c, "/lastTransitionTime")), s(c, "/reason"), s(c, "/message")),
            );
        }
    }
    if let Ok(quotas) = quotas {
        w.write(0, "\n");
        resource_quotas(&mut w, &quotas);
    }
    if let Ok(limits) = limits {
        w.write(0, "\n");
        limit_ranges(&mut w, &limits);
    }
    w.finish()
}

/// `helpTextForResourceQuotaScope`.
fn scope_help(scope: &str) -> &'static str {
    match scope {
        "Terminating" => "Matches all pods that have an active deadline. These pods have a limited lifespan on a node before being actively terminated by the system.",
        "NotTerminating" => "Matches all pods that do not have an active deadline. These pods usually include long running pods whose container command is not expected to terminate.",
        "BestEffort" => "Matches all pods that do not have resource requirements set. These pods have a best effort quality of service.",
        "NotBestEffort" => "Matches all pods that have at least one resource requirement set. These pods have a burstable or guaranteed quality of service.",
        _ => "",
    }
}

/// `DescribeResourceQuotas`: every quota by name, its scopes and used/hard per resource.
fn resource_quotas(w: &mut Writer, quotas: &[Value]) {
    if quotas.is_empty() {
        w.write(0, "No resource quota.\n");
        return;
    }
    let mut sorted: Vec<&Value> = quotas.iter().collect();
    sorted.sort_by(|a, b| s(a, "/metadata/name").cmp(s(b, "/metadata/name")));
    w.write(0, "Resource Quotas\n");
    for q in sorted {
        w.write(1, &format!("Name:\t{}\n", s(q, "/metadata/name")));
        let mut scopes: Vec<&str> = arr(q, "/spec/scopes").iter().filter_map(Value::as_str).collect();
        if !scopes.is_empty() {
            scopes.sort();
            w.write(1, &format!("Scopes:\t{}\n", scopes.join(", ")));
            for scope in &scopes {
                let help = scope_help(scope);
                if !help.is_empty() {
                    w.write(1, &format!("* {help}\n"));
                }
            }
        }
        w.write(1, "Resource\tUsed\tHard\n");
        w.write(1, "--------\t---\t---\n");
        let hard = q.pointer("/status/hard").and_then(Value::as_object);
        let mut names: Vec<&String> = hard.map(|h| h.keys().collect()).unwrap_or_default();
        names.sort();
        for r in names {
            let key = r.replace('~', "~0").replace('/', "~1");
            w.write(1, &format!("{r}\t{}\t{}\n", quantity(q, &format!("/status/used/{key}")), quantity(q, &format!("/status/hard/{key}"))));
        }
    }
}

/// `DescribeLimitRanges`: one row per item and resource (upstream's order is a Go map's, so
/// resources are sorted here).
fn limit_ranges(w: &mut Writer, limits: &[Value]) {
    if limits.is_empty() {
        w.write(0, "No LimitRange resource.\n");
        return;
    }
    w.write(0, "Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n");
    w.write(0, " ----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n");
    for lr in limits {
        limit_rows(w, lr, " ");
    }
}

/// `describeLimitRangeSpec`: a row per item and resource.
fn limit_rows(w: &mut Writer, lr: &Value, prefix: &str) {
    for item in arr(lr, "/spec/limits") {
        let fields = ["min", "max", "defaultRequest", "default", "maxLimitRequestRatio"];
        let names: BTreeSet<&String> = fields.iter().filter_map(|f| item.get(*f).and_then(Value::as_object)).flat_map(|m| m.keys()).collect();
        for r in names {
            let key = r.replace('~', "~0").replace('/', "~1");
            let cell = |f: &str| match item.pointer(&format!("/{f}/{key}")) {
                Some(_) => quantity(item, &format!("/{f}/{key}")),
                None => "-".to_string(),
            };
            w.write(
                0,
                &format!("{prefix}{}\t{r}\t{}\t{}\t{}\t{}\t{}\n", s(item, "/type"), cell("min"), cell("max"), cell("defaultRequest"), cell("default"), cell("maxLimitRequestRatio")),
            );
        }
    }
}

/// `describe limitrange`.
pub fn limit_range(lr: &Value) -> String {
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(lr, "/metadata/name")));
    w.write(0, &format!("Namespace:\t{}\n", s(lr, "/metadata/namespace")));
    w.write(0, "Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n");
    w.write(0, "----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n");
    limit_rows(&mut w, lr, "");
    w.finish()
}

/// `describe resourcequota`: used amounts are printed in the hard amount's format.
pub fn resource_quota(q: &Value) -> String {
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(q, "/metadata/name")));
    w.write(0, &format!("Namespace:\t{}\n", s(q, "/metadata/namespace")));
    let mut scopes: Vec<&str> = arr(q, "/spec/scopes").iter().filter_map(Value::as_str).collect();
    if !scopes.is_empty() {
        scopes.sort();
        w.write(0, &format!("Scopes:\t{}\n", scopes.join(", ")));
        for scope in &scopes {
            let help = scope_help(scope);
            if !help.is_empty() {
                w.write(0, &format!(" * {help}\n"));
            }
        }
    }
    w.write(0, "Resource\tUsed\tHard\n");
    w.write(0, "--------\t----\t----\n");
    let parse = |ptr: String| q.pointer(&ptr).and_then(|x| Quantity::from_json(x).ok()).unwrap_or_default();
    let mut names: Vec<&String> = q.pointer("/status/hard").and_then(Value::as_object).map(|h| h.keys().collect()).unwrap_or_default();
    names.sort();
    for r in names {
        let key = r.replace('~', "~0").replace('/', "~1");
        let hard = parse(format!("/status/hard/{key}"));
        let mut used = parse(format!("/status/used/{key}"));
        if used.format() != hard.format() {
            used = Quantity::from_value(used.value(), hard.format());
        }
        w.write(0, &format!("{r}\t{used}\t{hard}\n"));
    }
    w.finish()
}
