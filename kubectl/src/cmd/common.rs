//! Flags and helpers shared by the mutating commands: `-f` files, `-o` output of operation
//! results (`deployment.apps/x created`), `--dry-run`, `--validate` and field managers.

use std::io::Write;

use serde_json::Value;

use crate::discovery::ApiResource;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::{GenericPrinter, OutputFormat};
use crate::resource::{self, Scope, Target};
use crate::util::Streams;

/// `-f/--filename`, `-R/--recursive`, `-k/--kustomize`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct FileArgs {
    /// Filename, directory, or URL to files to use.
    #[arg(short = 'f', long = "filename", value_delimiter = ',')]
    pub filenames: Vec<String>,
    /// Process the directory used in -f, --filename recursively.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Process the kustomization directory (not supported).
    #[arg(short = 'k', long)]
    pub kustomize: Option<String>,
}

/// `-o/--output` and `--template` of commands that print what they changed.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct PrintArgs {
    /// Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).
    #[arg(short = 'o', long, default_value = "")]
    pub output: String,
    /// Template string or path to template file to use when -o=jsonpath.
    #[arg(long)]
    pub template: Option<String>,
    /// If true, keep the managedFields when printing objects in JSON or YAML format.
    #[arg(long)]
    pub show_managed_fields: bool,
}

/// How a write is dry-run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DryRun {
    /// A real write.
    None,
    /// Nothing sent; the object is printed.
    Client,
    /// Sent with `dryRun=All`.
    Server,
}

impl DryRun {
    /// Parses `--dry-run`.
    pub fn parse(s: &str, streams: &mut Streams) -> Result<Self, CmdError> {
        match s {
            "" | "none" | "false" => Ok(DryRun::None),
            "client" => Ok(DryRun::Client),
            "server" => Ok(DryRun::Server),
            "unchanged" | "true" => {
                streams.eprintln("W0000 --dry-run is deprecated and can be replaced with --dry-run=client.");
                Ok(DryRun::Client)
            }
            other => Err(CmdError::msg(format!("Invalid dry-run value ({other}). Must be \"none\", \"server\", or \"client\"."))),
        }
    }

    /// The suffix upstream adds to operation messages.
    pub fn suffix(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        }
    }
}

/// `fieldValidation` for `--validate` (`strict`/`true`, `warn`, `ignore`/`false`).
pub fn field_validation(validate: &str) -> Result<&'static str, CmdError> {
    match validate.to_lowercase().as_str() {
        "" | "true" | "strict" => Ok("Strict"),
        "warn" => Ok("Warn"),
        "false" | "ignore" => Ok("Ignore"),
        other => Err(CmdError::msg(format!("invalid - validate option {other:?}; must be one of: strict (or true), warn, ignore (or false)"))),
    }
}

/// Prints the result of an operation: `kind.group/name <operation>` by default, the name
/// alone with `-o name`, the object otherwise.
pub fn print_result(
    streams: &mut Streams,
    print: &PrintArgs,
    mapping: &ApiResource,
    obj: &Value,
    operation: &str,
    dry_run: DryRun,
) -> Result<(), CmdError> {
    print_result_with(streams, print, mapping, obj, operation, dry_run, true)
}

/// [`print_result`] for objects built locally: JSON keeps their (Go struct) key order.
pub fn print_result_with(
    streams: &mut Streams,
    print: &PrintArgs,
    mapping: &ApiResource,
    obj: &Value,
    operation: &str,
    dry_run: DryRun,
    sort_keys: bool,
) -> Result<(), CmdError> {
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let full = format!("{}/{}", mapping.kind_group_lower(), name);
    match print.output.as_str() {
        "" => writeln!(streams.out, "{full} {operation}{}", dry_run.suffix())?,
        "name" => writeln!(streams.out, "{full}")?,
        _ => {
            let format = OutputFormat::parse(&print.output, print.template.as_deref())?;
            let mut p = GenericPrinter::new(format);
            p.show_managed_fields = print.show_managed_fields;
            p.sort_keys = sort_keys;
            p.print(obj, &mut streams.out)?;
        }
    }
    Ok(())
}

/// The scope (namespace) for commands acting on named objects or files.
pub fn scope(f: &Factory, all_namespaces: bool, label: Option<&str>, field: Option<&str>) -> Result<Scope, CmdError> {
    let (namespace, explicit) = f.namespace()?;
    Ok(Scope {
        namespace,
        explicit_namespace: explicit,
        all_namespaces,
        label_selector: label.unwrap_or("").to_string(),
        field_selector: field.unwrap_or("").to_string(),
    })
}

/// Targets from `-f` files, or else from `TYPE NAME` arguments.
pub async fn targets(f: &Factory, files: &FileArgs, args: &[String], scope: &Scope) -> Result<Vec<Target>, CmdError> {
    if files.kustomize.is_some() {
        return Err(CmdError::msg("kustomize is not supported by this kubectl"));
    }
    let mapper = f.mapper().await?;
    if !files.filenames.is_empty() {
        if !args.is_empty() {
            return Err(CmdError::msg("Unexpected args: ".to_string() + &format!("{args:?}")));
        }
        return resource::from_files(mapper, &files.filenames, files.recursive, scope);
    }
    resource::from_args(mapper, args, scope)
}

/// Sets `metadata.namespace` on a namespaced object from its target.
pub fn set_namespace(obj: &mut Value, target: &Target) {
    if let (Some(ns), Some(meta)) = (&target.namespace, obj.get_mut("metadata").and_then(Value::as_object_mut)) {
        meta.insert("namespace".into(), Value::String(ns.clone()));
    } else if let (Some(ns), Some(map)) = (&target.namespace, obj.as_object_mut()) {
        if !map.contains_key("metadata") {
            map.insert("metadata".into(), serde_json::json!({ "namespace": ns }));
        }
    }
}
