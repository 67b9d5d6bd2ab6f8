//! `describe ingress` (networking.k8s.io/v1): backends with the endpoints behind them.

use std::collections::BTreeSet;

use serde_json::Value;

use super::events;
use super::kinds::format_slices;
use super::writer::{annotations_multiline, arr, int, labels_multiline, s, string_map, Writer};
use super::Ctx;
use crate::client::Req;

/// `describe ingress`.
pub async fn describe(ctx: &Ctx<'_>, ing: &Value) -> String {
    let ns = s(ing, "/metadata/namespace");
    let evs = events::search(ctx, ing, true).await;
    let default_backend = match ing.pointer("/spec/defaultBackend").filter(|b| !b.is_null()) {
        Some(b) => backend(ctx, ns, b).await,
        None => "<default>".to_string(),
    };
    let mut rules: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for rule in arr(ing, "/spec/rules") {
        let Some(http) = rule.get("http").filter(|h| !h.is_null()) else { continue };
        let host = if s(rule, "/host").is_empty() { "*".to_string() } else { s(rule, "/host").to_string() };
        let mut paths = Vec::new();
        for p in arr(http, "/paths") {
            paths.push((s(p, "/path").to_string(), backend(ctx, ns, p.get("backend").unwrap_or(&Value::Null)).await));
        }
        rules.push((host, paths));
    }

    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", s(ing, "/metadata/name")));
    labels_multiline(&mut w, "", "Labels", &string_map(ing, "/metadata/labels"));
    w.write(0, &format!("Namespace:\t{ns}\n"));
    let addresses: BTreeSet<&str> = arr(ing, "/status/loadBalancer/ingress")
        .iter()
        .map(|i| if s(i, "/ip").is_empty() { s(i, "/hostname") } else { s(i, "/ip") })
        .filter(|a| !a.is_empty())
        .collect();
    w.write(0, &format!("Address:\t{}\n", addresses.into_iter().collect::<Vec<_>>().join(",")));
    let class = ing.pointer("/spec/ingressClassName").and_then(Value::as_str).unwrap_or("<none>");
    w.write(0, &format!("Ingress Class:\t{class}\n"));
    w.write(0, &format!("Default backend:\t{default_backend}\n"));
    let tls = arr(ing, "/spec/tls");
    if !tls.is_empty() {
        w.write(0, "TLS:\n");
        for t in tls {
            let hosts: Vec<&str> = arr(t, "/hosts").iter().filter_map(Value::as_str).collect();
            if s(t, "/secretName").is_empty() {
                w.write(1, &format!("SNI routes {}\n", hosts.join(",")));
            } else {
                w.write(1, &format!("{} terminates {}\n", s(t, "/secretName"), hosts.join(",")));
            }
        }
    }
    w.write(0, "Rules:\n  Host\tPath\tBackends\n");
    w.write(1, "----\t----\t--------\n");
    for (host, paths) in &rules {
        w.write(1, &format!("{host}\t\n"));
        for (path, b) in paths {
            w.write(2, &format!("\t{path} \t{b}\n"));
        }
    }
    if rules.is_empty() {
        w.write(1, &format!("*\t*\t{default_backend}\n"));
    }
    annotations_multiline(&mut w, "Annotations", &string_map(ing, "/metadata/annotations"));
    events::describe(evs.as_deref(), &mut w);
    w.finish()
}

/// `describeBackendV1`: `service:port (endpoints)` or the resource reference.
async fn backend(ctx: &Ctx<'_>, ns: &str, b: &Value) -> String {
    if let Some(svc) = b.get("service").filter(|x| !x.is_null()) {
        let name = s(svc, "/name");
        let number = int(svc, "/port/number");
        let port_name = s(svc, "/port/name");
        let sb = if number != 0 { format!("{name}:{number}") } else { format!("{name}:{port_name}") };
        let slices = match ctx.list(&format!("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"), &format!("kubernetes.io/service-name={name}"), "").await {
            Ok(sl) => sl,
            Err(e) => return format!("{sb} (<error: {e}>)"),
        };
        let service = match ctx.client.json(Req::get(format!("/api/v1/namespaces/{ns}/services/{name}"))).await {
            Ok(sv) => sv,
            Err(e) => return format!("{sb} (<error: {e}>)"),
        };
        let mut sp_name = "";
        for sp in arr(&service, "/spec/ports") {
            if (number != 0 && number == int(sp, "/port")) || (!port_name.is_empty() && port_name == s(sp, "/name")) {
                sp_name = s(sp, "/name");
            }
        }
        return format!("{sb} ({})", format_slices(&slices, sp_name));
    }
    if let Some(r) = b.get("resource").filter(|x| !x.is_null()) {
        let group = r.get("apiGroup").and_then(Value::as_str).unwrap_or("<none>");
        return format!("APIGroup: {group}, Kind: {}, Name: {}", s(r, "/kind"), s(r, "/name"));
    }
    String::new()
}
