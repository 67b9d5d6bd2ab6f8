//! `kubectl events`: the events of a namespace (or all), optionally only those of one object
//! (`--for kind/name`) or of some types (`--types`), listed oldest first or watched. Objects
//! are printed as upstream's typed `corev1.Event` (Go struct field order, zero timestamps as
//! `null`).

use serde_json::{Map, Value};

use crate::client::Req;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::tabwriter::TabWriter;
use crate::printers::{GenericPrinter, OutputFormat};
use crate::util::Streams;

/// Flags of `kubectl events`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// If present, list the requested object(s) across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Return large lists in chunks rather than all at once.
    #[arg(long, default_value_t = 500)]
    pub chunk_size: i64,
    /// Filter events to only those pertaining to the specified resource.
    #[arg(long = "for")]
    pub for_object: Option<String>,
    /// When using the default output format, don't print headers.
    #[arg(long)]
    pub no_headers: bool,
    /// Output filter types: Normal or Warning (comma separated, repeatable).
    #[arg(long, value_delimiter = ',')]
    pub types: Vec<String>,
    /// After listing the requested events, watch for more events.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Output format.
    #[arg(short = 'o', long, default_value = "")]
    pub output: String,
    /// Template string for jsonpath output.
    #[arg(long)]
    pub template: Option<String>,
    /// Arguments upstream accepts and ignores.
    #[arg(hide = true)]
    pub ignored: Vec<String>,
}

const ALLOWED_FORMATS: &str = "go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml";

/// `kubectl events`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    for t in &a.types {
        if !t.eq_ignore_ascii_case("Normal") && !t.eq_ignore_ascii_case("Warning") {
            return Err(CmdError::Message("valid --types are Normal or Warning".into()));
        }
    }
    let no_printer = || CmdError::Message(format!("unable to match a printer suitable for the output format {:?}, allowed formats are: {ALLOWED_FORMATS}", a.output));
    let format = match OutputFormat::parse(&a.output, a.template.as_deref()) {
        Ok(OutputFormat::Table { wide: true } | OutputFormat::CustomColumns(_)) | Err(crate::printers::PrintError::Unknown(_)) => return Err(no_printer()),
        Ok(f) => f,
        Err(e) => return Err(CmdError::Message(e.to_string())),
    };
    let (namespace, _) = f.namespace()?;
    let client = f.client().await?;
    let mut field_selector = None;
    if let Some(spec) = a.for_object.as_ref().filter(|s| !s.ends_with('/')) {
        let (resource, name) = match spec.split_once('/') {
            Some((_, n)) if n.contains('/') => {
                return Err(CmdError::Message("arguments in resource/name form may not have more than one slash".into()))
            }
            Some(("", _)) => return Err(CmdError::Message("a resource must be present, got: /, Resource=".into())),
            Some((r, n)) => (r, n),
            _ => return Err(CmdError::Message("--for must be in resource/name form".to_string())),
        };
        let res = f.mapper().await?.resolve(resource).map_err(|e| match e {
            crate::discovery::DiscoveryError::NoMatch { .. } => CmdError::Verbatim(e.to_string()),
            other => CmdError::from(other),
        })?;
        field_selector = Some(format!(
            "involvedObject.kind={},involvedObject.apiVersion={},involvedObject.name={name}",
            res.kind,
            res.api_version()
        ));
    }
    let path = if a.all_namespaces { "/api/v1/events".to_string() } else { format!("/api/v1/namespaces/{namespace}/events") };
    let mut printer = EventPrinter { all_namespaces: a.all_namespaces, no_headers: a.no_headers, headers_printed: false };
    let mut generic = (!format.is_table()).then(|| {
        let mut p = GenericPrinter::new(format);
        p.sort_keys = false;
        p
    });

    if a.watch {
        let mut req = Req::get(path).query("watch", "true");
        if let Some(fs) = &field_selector {
            req = req.query("fieldSelector", fs.clone());
        }
        let mut lines = client.stream(req).await?;
        let mut tw = TabWriter::kubectl();
        while let Some(line) = lines.next_line().await? {
            let Ok(ev) = serde_json::from_slice::<Value>(&line) else { continue };
            if ev.get("type").and_then(Value::as_str) == Some("DELETED") {
                continue;
            }
            if ev.get("type").and_then(Value::as_str) == Some("ERROR") {
                let msg = ev.pointer("/object/message").and_then(Value::as_str).unwrap_or("watch error");
                return Err(CmdError::Message(msg.to_string()));
            }
            let Some(obj) = ev.get("object") else { continue };
            if !type_wanted(&a.types, obj) {
                continue;
            }
            let obj = typed_event(obj);
            match generic.as_mut() {
                Some(g) => g.print(&obj, &mut streams.out).map_err(|e| CmdError::Message(e.to_string()))?,
                None => {
                    printer.print(std::slice::from_ref(&obj), &mut tw);
                    tw.flush(&mut streams.out)?;
                }
            }
            streams.flush()?;
        }
        return Ok(());
    }

    let mut items = Vec::new();
    let mut cont = String::new();
    loop {
        let mut req = Req::get(path.clone());
        if let Some(fs) = &field_selector {
            req = req.query("fieldSelector", fs.clone());
        }
        if a.chunk_size > 0 {
            req = req.query("limit", a.chunk_size.to_string());
        }
        if !cont.is_empty() {
            req = req.query("continue", cont.clone());
        }
        let page = client.json(req).await?;
        items.extend(page.get("items").and_then(Value::as_array).cloned().unwrap_or_default());
        cont = page.pointer("/metadata/continue").and_then(Value::as_str).unwrap_or("").to_string();
        if cont.is_empty() {
            break;
        }
    }
    let mut items: Vec<Value> = items.iter().filter(|e| type_wanted(&a.types, e)).map(typed_event).collect();
    if items.is_empty() {
        if a.all_namespaces {
            streams.eprintln("No events found.");
        } else {
            streams.eprintln(&format!("No events found in {namespace} namespace."));
        }
        return Ok(());
    }
    // A stable sort by the time the event was last seen, as upstream's SortableEvents.
    items.sort_by_key(event_time);
    match generic.as_mut() {
        // Upstream's name printer finds no names in the typed list.
        Some(g) if matches!(g.format, OutputFormat::Name) => {}
        Some(g) => {
            let mut list = Map::new();
            list.insert("kind".into(), "EventList".into());
            list.insert("apiVersion".into(), "v1".into());
            list.insert("metadata".into(), Value::Object(Map::new()));
            list.insert("items".into(), Value::Array(items));
            g.print(&Value::Object(list), &mut streams.out).map_err(|e| CmdError::Message(e.to_string()))?;
        }
        None => {
            let mut tw = TabWriter::kubectl();
            printer.print(&items, &mut tw);
            tw.flush(&mut streams.out)?;
        }
    }
    Ok(())
}

fn type_wanted(types: &[String], event: &Value) -> bool {
    let ty = event.get("type").and_then(Value::as_str).unwrap_or("");
    types.is_empty() || types.iter().any(|t| t.eq_ignore_ascii_case(ty))
}

/// Seconds (and sub-second digits) of a timestamp, comparable; 0 when absent.
fn instant(ts: Option<&str>) -> i128 {
    let Some(ts) = ts.filter(|s| !s.is_empty()) else { return i128::MIN };
    ts.parse::<k8s_openapi::jiff::Timestamp>().map(|t| t.as_nanosecond()).unwrap_or(i128::MIN)
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Upstream's `eventTime`: the series' last observation, else `lastTimestamp`, else `eventTime`.
fn event_time(e: &Value) -> i128 {
    if e.get("series").is_some_and(|s| !s.is_null()) {
        return instant(str_at(e, "/series/lastObservedTime"));
    }
    match str_at(e, "/lastTimestamp") {
        Some(t) if !t.is_empty() => instant(Some(t)),
        _ => instant(str_at(e, "/eventTime")),
    }
}

/// Upstream's `getInterval`: `<age>` or `<age> (xN over <first age>)`.
pub fn interval(e: &Value) -> String {
    let age = |p: &str| crate::util::age(str_at(e, p).filter(|s| !s.is_empty()));
    let first = if str_at(e, "/eventTime").is_some_and(|s| !s.is_empty()) { age("/eventTime") } else { age("/firstTimestamp") };
    let count = e.get("count").and_then(Value::as_i64).unwrap_or(0);
    if e.get("series").is_some_and(|s| !s.is_null()) {
        let n = e.pointer("/series/count").and_then(Value::as_i64).unwrap_or(0);
        format!("{} (x{n} over {first})", age("/series/lastObservedTime"))
    } else if count > 1 {
        format!("{} (x{count} over {first})", age("/lastTimestamp"))
    } else {
        first
    }
}

/// The tabular event printer (upstream's `EventPrinter`).
struct EventPrinter {
    all_namespaces: bool,
    no_headers: bool,
    headers_printed: bool,
}

impl EventPrinter {
    fn print(&mut self, events: &[Value], tw: &mut TabWriter) {
        if !self.no_headers && !self.headers_printed {
            if self.all_namespaces {
                tw.write_str("NAMESPACE\t");
            }
            tw.write_str("LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE\n");
            self.headers_printed = true;
        }
        for e in events {
            if self.all_namespaces {
                tw.write_str(&format!("{}\t", str_at(e, "/metadata/namespace").unwrap_or("")));
            }
            tw.write_str(&format!(
                "{}\t{}\t{}\t{}/{}\t{}\n",
                interval(e),
                str_at(e, "/type").unwrap_or(""),
                str_at(e, "/reason").unwrap_or(""),
                str_at(e, "/involvedObject/kind").unwrap_or(""),
                str_at(e, "/involvedObject/name").unwrap_or(""),
                str_at(e, "/message").unwrap_or("").trim(),
            ));
        }
    }
}

/// An event as Go encodes the typed `corev1.Event` (kind `Event`, apiVersion `v1`, no
/// managed fields).
pub fn typed_event(e: &Value) -> Value {
    let mut e = e.clone();
    if let Some(m) = e.as_object_mut() {
        m.insert("kind".into(), "Event".into());
        m.insert("apiVersion".into(), "v1".into());
    }
    crate::printers::strip_managed_fields(&mut e);
    crate::printers::go_typed::encode(&e).unwrap_or(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_order_and_nulls() {
        let e = json!({"apiVersion": "v1", "kind": "Event", "type": "Normal", "reason": "R",
            "metadata": {"uid": "u", "name": "n", "managedFields": [], "creationTimestamp": "2026-01-01T00:00:00Z"},
            "involvedObject": {"name": "p", "kind": "Pod"}});
        let t = typed_event(&e);
        let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["kind", "apiVersion", "metadata", "involvedObject", "reason", "source", "firstTimestamp", "lastTimestamp", "type", "eventTime", "reportingComponent", "reportingInstance"]
        );
        assert_eq!(serde_json::to_string(&t["metadata"]).unwrap(), r#"{"name":"n","uid":"u","creationTimestamp":"2026-01-01T00:00:00Z"}"#);
    }

    #[test]
    fn sorted_by_last_seen() {
        let a = json!({"lastTimestamp": "2026-01-01T00:10:00Z"});
        let b = json!({"eventTime": "2026-01-01T00:05:00.000001Z"});
        let c = json!({"series": {"lastObservedTime": "2026-01-01T00:12:00.000000Z"}, "eventTime": "2026-01-01T00:00:00.000000Z"});
        let mut v = vec![c.clone(), a.clone(), b.clone()];
        v.sort_by_key(event_time);
        assert_eq!(v, vec![b, a, c]);
    }
}
