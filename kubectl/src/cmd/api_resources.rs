//! `kubectl api-resources` and `kubectl api-versions`, from discovery.

use std::io::Write;
use std::sync::Arc;

use crate::discovery::ApiResource;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::tabwriter::TabWriter;
use crate::util::Streams;

/// Flags of `kubectl api-resources`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format. One of: (wide, name).
    #[arg(short = 'o', long, default_value = "")]
    pub output: String,
    /// Limit to resources in the specified API group.
    #[arg(long)]
    pub api_group: Option<String>,
    /// If false, non-namespaced resources will be returned, otherwise namespaced ones.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub namespaced: Option<bool>,
    /// Limit to resources that support the specified verbs.
    #[arg(long, value_delimiter = ',')]
    pub verbs: Vec<String>,
    /// When printing, don't print headers.
    #[arg(long)]
    pub no_headers: bool,
    /// If non-empty, sort list of resources using specified field ('name' or 'kind').
    #[arg(long, default_value = "")]
    pub sort_by: String,
    /// Use the cached list of resources if available.
    #[arg(long)]
    pub cached: bool,
    /// Limit to resources that belong to the specified categories.
    #[arg(long, value_delimiter = ',')]
    pub categories: Vec<String>,
}

/// Flags of `kubectl api-versions` (none).
#[derive(clap::Args, Debug)]
pub struct VersionsArgs {}

fn keep(r: &ApiResource, a: &Args) -> bool {
    !r.verbs.is_empty()
        && a.api_group.as_ref().is_none_or(|g| g == &r.group)
        && a.namespaced.is_none_or(|n| n == r.namespaced)
        && a.verbs.iter().all(|v| r.supports(v))
        && a.categories.iter().all(|c| r.categories.contains(c))
}

fn sort(resources: &mut [Arc<ApiResource>], by: &str) {
    resources.sort_by(|a, b| {
        let primary = match by {
            "name" => a.resource.cmp(&b.resource),
            "kind" => a.kind.cmp(&b.kind),
            _ => a.group.cmp(&b.group),
        };
        primary.then_with(|| a.resource.cmp(&b.resource))
    });
}

fn line(r: &ApiResource, wide: bool) -> String {
    let mut s = format!("{}\t{}\t{}\t{}\t{}", r.resource, r.short_names.join(","), r.api_version(), r.namespaced, r.kind);
    if wide {
        s.push_str(&format!("\t{}\t{}", r.verbs.join(","), r.categories.join(",")));
    }
    s.push('\n');
    s
}

/// `kubectl api-resources`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    if !["", "wide", "name"].contains(&a.output.as_str()) {
        return Err(CmdError::msg(format!("--output {} is not available", a.output)));
    }
    if !["", "name", "kind"].contains(&a.sort_by.as_str()) {
        return Err(CmdError::msg("--sort-by accepts only name or kind"));
    }
    let mapper = f.mapper().await?;
    let mut resources: Vec<Arc<ApiResource>> = mapper.preferred().filter(|r| keep(r, &a)).cloned().collect();
    sort(&mut resources, &a.sort_by);
    let mut tw = TabWriter::kubectl();
    let wide = a.output == "wide";
    if !a.no_headers && a.output != "name" {
        let mut header = "NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND".to_string();
        if wide {
            header.push_str("\tVERBS\tCATEGORIES");
        }
        tw.write_str(&header);
        tw.write_str("\n");
    }
    for r in &resources {
        if a.output == "name" {
            tw.write_str(&format!("{}\n", r.group_resource()));
        } else {
            tw.write_str(&line(r, wide));
        }
    }
    tw.flush(&mut streams.out)?;
    Ok(())
}

/// `kubectl api-versions`.
pub async fn run_versions(f: &Factory, _a: VersionsArgs, streams: &mut Streams) -> Result<(), CmdError> {
    let mapper = f.mapper().await?;
    for gv in mapper.group_versions() {
        writeln!(streams.out, "{gv}")?;
    }
    Ok(())
}
