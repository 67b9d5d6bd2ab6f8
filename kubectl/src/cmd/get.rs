//! `kubectl get`: server-side tables printed as upstream does (headers, `-o wide`,
//! `-A`, `kind/` prefixes for several types, `-L`, `--show-labels`, `--sort-by`, a blank line
//! between types, "No resources found"), the generic printers (`-o json|yaml|name|jsonpath|
//! custom-columns`), and `-w` watches.

use std::io::Write;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::client::{ApiClient, Req, ACCEPT_TABLE};
use crate::discovery::ApiResource;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::jsonpath::{relaxed, JsonPath};
use crate::printers::table::{Table, TableOptions, TablePrinter};
use crate::printers::tabwriter::TabWriter;
use crate::printers::{GenericPrinter, OutputFormat};
use crate::resource::{self, IncludeObject, Scope, Target};
use crate::util::Streams;

/// Flags of `kubectl get`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct Args {
    /// TYPE[.VERSION][.GROUP] [NAME...] or TYPE/NAME ...
    pub args: Vec<String>,
    /// Output format: json, yaml, name, wide, jsonpath=..., custom-columns=...
    #[arg(short = 'o', long, default_value = "")]
    pub output: String,
    /// Template string for -o jsonpath.
    #[arg(long)]
    pub template: Option<String>,
    /// After listing/getting the requested object, watch for changes.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Watch for changes to the requested object(s), without listing/getting first.
    #[arg(long)]
    pub watch_only: bool,
    /// Output watch event objects when --watch or --watch-only is used.
    #[arg(long)]
    pub output_watch_events: bool,
    /// Return large lists in chunks rather than all at once. Pass 0 to disable.
    #[arg(long, default_value_t = 500)]
    pub chunk_size: i64,
    /// If the requested object does not exist the command will return exit code 0.
    #[arg(long)]
    pub ignore_not_found: bool,
    /// Selector (label query) to filter on.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Selector (field query) to filter on.
    #[arg(long)]
    pub field_selector: Option<String>,
    /// List the requested object(s) across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Filename, directory, or URL to files identifying the resource to get from a server.
    #[arg(short = 'f', long = "filename", value_delimiter = ',')]
    pub filenames: Vec<String>,
    /// Process the directory used in -f recursively.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// When printing, show all labels as the last column.
    #[arg(long)]
    pub show_labels: bool,
    /// Accepts a comma separated list of labels that are going to be presented as columns.
    #[arg(short = 'L', long = "label-columns", value_delimiter = ',')]
    pub label_columns: Vec<String>,
    /// If present, list the resource type for the requested object(s).
    #[arg(long)]
    pub show_kind: bool,
    /// When using the default or custom-column output format, don't print headers.
    #[arg(long)]
    pub no_headers: bool,
    /// If non-empty, sort list types using this field specification (a JSONPath expression).
    #[arg(long, default_value = "")]
    pub sort_by: String,
    /// If true, keep the managedFields when printing objects in JSON or YAML format.
    #[arg(long)]
    pub show_managed_fields: bool,
    /// Raw URI to request from the server.
    #[arg(long)]
    pub raw: Option<String>,
    /// If true, ignore any errors in templates when a field or map key is missing.
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub allow_missing_template_keys: bool,
    /// If true, have the server return the appropriate table output.
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub server_print: bool,
}

/// `kubectl get`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if let Some(raw) = &a.raw {
        let body = f.client().await?.call(Req::get(raw.clone()).accept("application/json, */*")).await?;
        streams.out.write_all(&body)?;
        return Ok(());
    }
    let mut format = OutputFormat::parse(&a.output, a.template.as_deref())?;
    if let OutputFormat::JsonPath(p, t, j) = format {
        format = OutputFormat::JsonPath(p.allow_missing_keys(a.allow_missing_template_keys), t, j);
    }
    if a.show_labels && !format.is_table() {
        return Err(CmdError::msg(format!("--show-labels option cannot be used with {} printer", a.output)));
    }
    if a.args.is_empty() && a.filenames.is_empty() {
        streams.eprint("You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.\n\n");
        return Err(CmdError::usage(
            "kubectl get",
            "Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed description of that resource (e.g. kubectl explain pods).",
        ));
    }
    let (namespace, explicit) = f.namespace()?;
    let scope = Scope {
        namespace,
        explicit_namespace: explicit && !a.all_namespaces,
        all_namespaces: a.all_namespaces,
        label_selector: a.selector.clone().unwrap_or_default(),
        field_selector: a.field_selector.clone().unwrap_or_default(),
    };
    let mapper = f.mapper().await?;
    let targets = if a.filenames.is_empty() {
        resource::from_args(mapper, &a.args, &scope)?
    } else {
        resource::from_files(mapper, &a.filenames, a.recursive, &scope)?
    };
    let client = f.client().await?;
    if a.watch || a.watch_only {
        return watch(client, &a, &format, &targets, &scope, streams).await;
    }
    if format.is_table() {
        run_tables(client, &a, &format, targets, &scope, streams).await
    } else {
        run_generic(client, &a, format, targets, &scope, streams).await
    }
}

/// One fetched table with the resource it belongs to.
struct Info {
    mapping: Arc<ApiResource>,
    table: Table,
    objects: Option<Vec<Value>>,
}

async fn fetch_all_tables(
    client: &ApiClient,
    a: &Args,
    targets: &[Target],
    scope: &Scope,
    include: IncludeObject,
) -> (Vec<Info>, Vec<CmdError>) {
    let mut infos = Vec::new();
    let mut errors = Vec::new();
    let chunk = if a.sort_by.is_empty() { a.chunk_size } else { 0 };
    for t in targets {
        let res = resource::fetch_tables(client, t, scope, chunk, include, |table, objects| {
            infos.push(Info { mapping: t.mapping.clone(), table, objects })
        })
        .await;
        if let Err(e) = res {
            let e = CmdError::from(e);
            if !(a.ignore_not_found && e.is_not_found()) {
                errors.push(e);
            }
        }
    }
    (infos, errors)
}

fn include_for(a: &Args) -> IncludeObject {
    if !a.sort_by.is_empty() {
        IncludeObject::Object
    } else if a.all_namespaces || a.show_labels || !a.label_columns.is_empty() {
        IncludeObject::Metadata
    } else {
        IncludeObject::None
    }
}

async fn run_tables(
    client: &ApiClient,
    a: &Args,
    format: &OutputFormat,
    targets: Vec<Target>,
    scope: &Scope,
    streams: &mut Streams,
) -> Result<(), CmdError> {
    let (mut infos, mut errors) = fetch_all_tables(client, a, &targets, scope, include_for(a)).await;
    if !a.sort_by.is_empty() {
        let path = JsonPath::parse(&relaxed(&a.sort_by).map_err(|e| CmdError::msg(e.to_string()))?)
            .map_err(|e| CmdError::msg(e.to_string()))?;
        infos.iter_mut().for_each(|i| sort_info(i, &path));
    }
    let with_kind = a.show_kind || multiple_kinds(&infos);
    let wide = matches!(format, OutputFormat::Table { wide: true });
    let written = print_infos(&infos, a, wide, with_kind, streams)?;
    if !written && !a.ignore_not_found && errors.is_empty() {
        let all_namespaced = !a.all_namespaces && infos.iter().all(|i| i.mapping.namespaced);
        if all_namespaced {
            streams.eprintln(&format!("No resources found in {} namespace.", scope.namespace));
        } else {
            streams.eprintln("No resources found");
        }
    }
    CmdError::aggregate(std::mem::take(&mut errors))
}

fn multiple_kinds(infos: &[Info]) -> bool {
    infos.windows(2).any(|w| w[0].mapping.kind != w[1].mapping.kind || w[0].mapping.group != w[1].mapping.group)
        || infos.first().is_some_and(|first| infos.iter().any(|i| i.mapping.group_kind() != first.mapping.group_kind()))
}

/// Prints tables grouped by resource; returns whether anything was written.
fn print_infos(infos: &[Info], a: &Args, wide: bool, with_kind: bool, streams: &mut Streams) -> Result<bool, CmdError> {
    let mut tw = TabWriter::kubectl();
    let mut printer: Option<TablePrinter> = None;
    let mut last: Option<&Arc<ApiResource>> = None;
    let mut written = false;
    let mut separator = false;
    for info in infos {
        let same = last.is_some_and(|l| l.resource == info.mapping.resource && l.group == info.mapping.group);
        if !same {
            written |= flush_group(&mut tw, &mut separator, streams)?;
            tw.reset_widths();
            if last.is_some() && !a.no_headers && written {
                separator = true;
            }
            let options = TableOptions {
                wide,
                no_headers: a.no_headers,
                with_namespace: a.all_namespaces && info.mapping.namespaced,
                kind_prefix: with_kind.then(|| info.mapping.kind_group_lower()),
                column_labels: a.label_columns.clone(),
                show_labels: a.show_labels,
            };
            printer = Some(TablePrinter::new(options));
            last = Some(&info.mapping);
        }
        if let Some(p) = printer.as_mut() {
            p.print(&info.table, None, &mut tw);
        }
    }
    written |= flush_group(&mut tw, &mut separator, streams)?;
    Ok(written)
}

fn flush_group(tw: &mut TabWriter, separator: &mut bool, streams: &mut Streams) -> Result<bool, CmdError> {
    let mut buf = Vec::new();
    tw.flush(&mut buf)?;
    if buf.is_empty() {
        return Ok(false);
    }
    if *separator {
        streams.out.write_all(b"\n")?;
        *separator = false;
    }
    streams.out.write_all(&buf)?;
    Ok(true)
}

fn sort_info(info: &mut Info, path: &JsonPath) {
    let Some(objects) = info.objects.take() else {
        return;
    };
    let mut keyed: Vec<(Option<Value>, usize)> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (path.find_results(o).ok().and_then(|r| r.into_iter().flatten().next()), i))
        .collect();
    keyed.sort_by(|x, y| compare_sort_values(x.0.as_ref(), y.0.as_ref()));
    let rows = std::mem::take(&mut info.table.rows);
    let mut slots: Vec<Option<_>> = rows.into_iter().map(Some).collect();
    info.table.rows = keyed.iter().filter_map(|(_, i)| slots.get_mut(*i).and_then(Option::take)).collect();
}

/// Orders `--sort-by` values: missing first, numbers numerically, the rest as text.
pub fn compare_sort_values(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Less,
        (_, None) => Ordering::Greater,
        (Some(x), Some(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(p), Some(q)) => p.partial_cmp(&q).unwrap_or(Ordering::Equal),
            _ => crate::printers::jsonpath::text_of(x).cmp(&crate::printers::jsonpath::text_of(y)),
        },
    }
}

async fn run_generic(
    client: &ApiClient,
    a: &Args,
    format: OutputFormat,
    targets: Vec<Target>,
    scope: &Scope,
    streams: &mut Streams,
) -> Result<(), CmdError> {
    let single = targets.len() == 1 && targets[0].name.is_some();
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for t in &targets {
        let res = match &t.name {
            Some(_) => resource::get_object(client, t).await.map(|o| vec![o]),
            None => resource::list_objects(client, t, scope, a.chunk_size).await.map(|(items, _)| items),
        };
        match res {
            Ok(objs) => items.extend(objs),
            Err(e) if a.ignore_not_found && e.is_not_found() => {}
            Err(e) if single => return Err(e.into()),
            Err(e) => errors.push(CmdError::from(e)),
        }
    }
    if !a.sort_by.is_empty() {
        let path = JsonPath::parse(&relaxed(&a.sort_by).map_err(|e| CmdError::msg(e.to_string()))?)
            .map_err(|e| CmdError::msg(e.to_string()))?;
        items.sort_by(|x, y| {
            let kx = path.find_results(x).ok().and_then(|r| r.into_iter().flatten().next());
            let ky = path.find_results(y).ok().and_then(|r| r.into_iter().flatten().next());
            compare_sort_values(kx.as_ref(), ky.as_ref())
        });
    }
    if items.is_empty() && a.ignore_not_found {
        return CmdError::aggregate(errors);
    }
    let mut printer = GenericPrinter::new(format);
    printer.no_headers = a.no_headers;
    printer.show_managed_fields = a.show_managed_fields;
    let obj = if single && items.len() == 1 {
        items.remove(0)
    } else {
        json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
    };
    printer.print(&obj, &mut streams.out)?;
    CmdError::aggregate(errors)
}

async fn watch(
    client: &ApiClient,
    a: &Args,
    format: &OutputFormat,
    targets: &[Target],
    scope: &Scope,
    streams: &mut Streams,
) -> Result<(), CmdError> {
    let kinds: Vec<&Arc<ApiResource>> = targets.iter().map(|t| &t.mapping).collect();
    if kinds.windows(2).any(|w| w[0].resource != w[1].resource || w[0].group != w[1].group) {
        return Err(CmdError::msg("watch is only supported on individual resources and resource collections - more than 1 resource was found"));
    }
    let Some(target) = targets.first() else {
        return Ok(());
    };
    if targets.len() > 1 {
        return Err(CmdError::msg("watch is only supported on individual resources and resource collections - more than 1 resource was found"));
    }
    let mut w = Watcher::new(a, format, target);
    let rv = w.print_initial(client, a, target, scope, streams).await?;
    let mut req = resource::list_request(target, scope).query("watch", "true").query("resourceVersion", rv);
    if let Some(name) = &target.name {
        req = req.query("fieldSelector", format!("metadata.name={name}"));
    }
    if format.is_table() {
        req = req.accept(ACCEPT_TABLE).query_opt("includeObject", if w.needs_meta { "" } else { "None" });
    }
    let mut lines = client.stream(req).await?;
    while let Some(line) = lines.next_line().await? {
        if line.is_empty() {
            continue;
        }
        let Ok(event) = serde_json::from_slice::<Value>(&line) else { continue };
        w.print_event(&event, streams)?;
    }
    Ok(())
}

/// Prints the initial state and the events of `get -w`.
struct Watcher {
    table: Option<(TablePrinter, TabWriter)>,
    generic: Option<GenericPrinter>,
    events: bool,
    output: bool,
    needs_meta: bool,
}

impl Watcher {
    fn new(a: &Args, format: &OutputFormat, target: &Target) -> Self {
        let needs_meta = a.all_namespaces || a.show_labels || !a.label_columns.is_empty();
        let table = match format {
            OutputFormat::Table { wide } => Some((
                TablePrinter::new(TableOptions {
                    wide: *wide,
                    no_headers: a.no_headers,
                    with_namespace: a.all_namespaces && target.mapping.namespaced,
                    kind_prefix: a.show_kind.then(|| target.mapping.kind_group_lower()),
                    column_labels: a.label_columns.clone(),
                    show_labels: a.show_labels,
                }),
                TabWriter::kubectl(),
            )),
            _ => None,
        };
        let generic = (!format.is_table()).then(|| {
            let mut g = GenericPrinter::new(format.clone());
            g.no_headers = a.no_headers;
            g.show_managed_fields = a.show_managed_fields;
            g
        });
        Watcher { table, generic, events: a.output_watch_events, output: !a.watch_only, needs_meta }
    }

    async fn print_initial(&mut self, client: &ApiClient, a: &Args, target: &Target, scope: &Scope, streams: &mut Streams) -> Result<String, CmdError> {
        let is_list = target.name.is_none();
        let rv;
        if self.table.is_some() {
            let include = if self.needs_meta { IncludeObject::Metadata } else { IncludeObject::None };
            let mut pages = Vec::new();
            resource::fetch_tables(client, target, scope, a.chunk_size, include, |t, _| pages.push(t)).await?;
            rv = if is_list { pages.last().map(|t| t.metadata.resource_version.clone()).unwrap_or_default() } else { "0".into() };
            if self.output {
                for page in &pages {
                    self.print_table(page, if self.events { Some("ADDED") } else { None }, streams)?;
                }
            }
        } else if is_list {
            let (items, list_rv) = resource::list_objects(client, target, scope, a.chunk_size).await?;
            rv = list_rv;
            if self.output {
                for item in items {
                    self.print_object(&item, "ADDED", streams)?;
                }
            }
        } else {
            let obj = resource::get_object(client, target).await?;
            rv = "0".into();
            if self.output {
                self.print_object(&obj, "ADDED", streams)?;
            }
        }
        self.output = is_list;
        streams.flush()?;
        Ok(rv)
    }

    fn print_table(&mut self, table: &Table, event: Option<&str>, streams: &mut Streams) -> Result<(), CmdError> {
        if let Some((p, tw)) = self.table.as_mut() {
            p.print(table, event, tw);
            tw.flush(&mut streams.out)?;
        }
        Ok(())
    }

    fn print_object(&mut self, obj: &Value, event: &str, streams: &mut Streams) -> Result<(), CmdError> {
        if let Some(g) = self.generic.as_mut() {
            if self.events && matches!(g.format, OutputFormat::Json) {
                let mut o = obj.clone();
                if !g.show_managed_fields {
                    crate::printers::strip_managed_fields(&mut o);
                }
                let line = format!("{{\"type\":{},\"object\":{}}}\n", crate::printers::json::to_compact(&json!(event)), crate::printers::json::to_compact(&o));
                streams.out.write_all(line.as_bytes())?;
            } else if self.events && !matches!(g.format, OutputFormat::Name) {
                g.print(&json!({"type": event, "object": obj}), &mut streams.out)?;
            } else {
                g.print(obj, &mut streams.out)?;
            }
        }
        Ok(())
    }

    fn print_event(&mut self, event: &Value, streams: &mut Streams) -> Result<(), CmdError> {
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        if kind == "BOOKMARK" {
            return Ok(());
        }
        let obj = event.get("object").cloned().unwrap_or(Value::Null);
        if self.output {
            if self.table.is_some() {
                let table: Table = serde_json::from_value(obj).unwrap_or_default();
                let ev = if self.events { Some(kind) } else { None };
                self.print_table(&table, ev, streams)?;
            } else {
                self.print_object(&obj, kind, streams)?;
            }
            streams.flush()?;
        }
        self.output = true;
        Ok(())
    }
}
