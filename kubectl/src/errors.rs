//! The command error type and upstream's formatting of errors on stderr
//! (`k8s.io/kubectl/pkg/cmd/util.CheckErr`): `Error from server (NotFound): ...`,
//! `The ConfigMap "x" is invalid: ...`, `error: ...`, with exit code 1.

use crate::client::{ApiError, Status};
use crate::util::Streams;

/// Every way a command can fail.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// The server answered with an error, or could not be reached.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The kubeconfig could not be loaded or is incomplete.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A resource type is unknown to the server.
    #[error(transparent)]
    Discovery(#[from] crate::discovery::DiscoveryError),
    /// A manifest could not be read or parsed.
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    /// Bad usage: printed with a pointer to the command's help.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// The command path, e.g. `kubectl get`.
        command: String,
    },
    /// A plain failure, printed as `error: <message>`.
    #[error("{0}")]
    Message(String),
    /// A failure whose text is printed exactly as is.
    #[error("{0}")]
    Verbatim(String),
    /// Several failures, one line each.
    #[error("{} errors", .0.len())]
    Multiple(Vec<CmdError>),
    /// Exit with this code and print nothing more.
    #[error("exit status {0}")]
    Exit(i32),
    /// An output format could not be used.
    #[error(transparent)]
    Print(#[from] crate::printers::PrintError),
    /// Reading or writing a local stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl CmdError {
    /// A plain `error: ...` failure.
    pub fn msg(message: impl Into<String>) -> Self {
        CmdError::Message(message.into())
    }

    /// A usage error of `command` (e.g. `kubectl get`).
    pub fn usage(command: &str, message: impl Into<String>) -> Self {
        CmdError::Usage { message: message.into(), command: command.into() }
    }

    /// Whether this is a server NotFound.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CmdError::Api(ApiError::Status(s)) if s.code == 404 || s.reason == "NotFound")
    }

    /// Wraps errors as upstream's `AddSourceToErr`: `error when <verb> "<source>": ...`.
    pub fn with_source(self, verb: &str, source: &str) -> Self {
        if source.is_empty() {
            return self;
        }
        match self {
            CmdError::Api(ApiError::Status(mut s)) => {
                s.message = format!("error when {verb} \"{source}\": {}", s.message);
                CmdError::Api(ApiError::Status(s))
            }
            other => CmdError::Message(format!("error when {verb} \"{source}\": {}", plain_message(&other))),
        }
    }

    /// Collapses a list of errors: none is Ok, one is itself.
    pub fn aggregate(mut errors: Vec<CmdError>) -> Result<(), CmdError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(CmdError::Multiple(errors)),
        }
    }
}

fn plain_message(err: &CmdError) -> String {
    match err {
        CmdError::Api(ApiError::Status(s)) => s.message.clone(),
        other => other.to_string(),
    }
}

/// The text upstream prints for an error (without the trailing newline) and the exit code.
pub fn format_error(err: &CmdError) -> (String, i32) {
    if let CmdError::Discovery(crate::discovery::DiscoveryError::Api(api)) = err {
        return (standard_api_message(api), 1);
    }
    match err {
        CmdError::Exit(code) => (String::new(), *code),
        CmdError::Api(ApiError::Status(s)) if s.reason == "Invalid" => (format_invalid(s), 1),
        CmdError::Multiple(errs) => {
            let lines: Vec<String> = errs.iter().map(message_for_error).filter(|m| !m.is_empty()).collect();
            (lines.join("\n"), 1)
        }
        CmdError::Usage { message, command } => {
            (format!("error: {message}\nSee '{command} -h' for help and examples"), 1)
        }
        CmdError::Verbatim(text) => (text.trim_end_matches('\n').to_string(), 1),
        other => (standard_message(other), 1),
    }
}

/// Upstream's `messageForError`: the standard message for server and connection errors, the
/// plain text otherwise (no `error: ` prefix), as lines of an aggregate print.
fn message_for_error(err: &CmdError) -> String {
    match err {
        CmdError::Api(_) | CmdError::Discovery(crate::discovery::DiscoveryError::Api(_)) => standard_message(err),
        CmdError::Multiple(_) | CmdError::Usage { .. } | CmdError::Verbatim(_) | CmdError::Exit(_) => format_error(err).0,
        other => other.to_string(),
    }
}

fn standard_api_message(err: &ApiError) -> String {
    match err {
        ApiError::Status(s) if s.reason == "Invalid" => format_invalid(s),
        ApiError::Status(s) => format_status(s),
        ApiError::Connection { host, refused: true, .. } => {
            format!("The connection to the server {host} was refused - did you specify the right host or port?")
        }
        ApiError::Connection { message, .. } => format!("Unable to connect to the server: {message}"),
        ApiError::Decode(m) => format!("error: {m}"),
    }
}

/// Upstream's `StandardErrorMessage`, falling back to `error: <message>`.
fn standard_message(err: &CmdError) -> String {
    match err {
        CmdError::Api(api) => standard_api_message(api),
        CmdError::Discovery(crate::discovery::DiscoveryError::Api(api)) => standard_api_message(api),
        other => {
            let msg = other.to_string();
            if msg.starts_with("error: ") {
                msg
            } else {
                format!("error: {msg}")
            }
        }
    }
}

fn format_status(s: &Status) -> String {
    if s.reason == "Unauthorized" {
        return format!("error: You must be logged in to the server ({})", s.message);
    }
    if s.reason.is_empty() {
        format!("Error from server: {}", s.message)
    } else {
        format!("Error from server ({}): {}", s.reason, s.message)
    }
}

fn format_invalid(s: &Status) -> String {
    let Some(details) = &s.details else {
        return "The request is invalid".into();
    };
    let mut head = "The request is invalid".to_string();
    if !details.kind.is_empty() || !details.name.is_empty() {
        head = format!("The {} \"{}\" is invalid", details.kind, details.name);
    }
    let mut causes: Vec<String> = Vec::new();
    for c in &details.causes {
        let line = format!("{}: {}", c.field, c.message);
        if !causes.contains(&line) {
            causes.push(line);
        }
    }
    match causes.len() {
        0 => head,
        1 => format!("{head}: {}", causes[0]),
        _ => {
            let mut out = format!("{head}: \n");
            for c in &causes {
                out.push_str(&format!("* {c}\n"));
            }
            out.trim_end_matches('\n').to_string()
        }
    }
}

/// Prints an error as upstream does and returns the exit code.
pub fn report(err: &CmdError, streams: &mut Streams) -> i32 {
    let (text, code) = format_error(err);
    if !text.is_empty() {
        streams.eprintln(&text);
    }
    code
}

/// Prints a command-line parsing error (or help text) as kubectl words it and returns the
/// exit code.
pub fn report_clap(err: clap::Error) -> i32 {
    match clap_message(&err) {
        None => 0,
        Some(message) => {
            eprintln!("{message}");
            eprintln!("See 'kubectl --help' for usage.");
            1
        }
    }
}

/// [`report_clap`] for a whole command line: `kubectl diff` reports flag errors as usage
/// errors with exit code 2 (1 means "differences found"), as upstream does.
pub fn report_clap_for(err: clap::Error, args: &[std::ffi::OsString]) -> i32 {
    const VALUE_FLAGS: &[&str] = &[
        "--kubeconfig", "--context", "--cluster", "--user", "-n", "--namespace", "-s", "--server", "--token", "--username",
        "--password", "--certificate-authority", "--client-certificate", "--client-key", "--tls-server-name",
        "--request-timeout", "--cache-dir", "--as", "--as-group", "--as-uid", "-v", "--v",
    ];
    let mut subcommand = None;
    let mut tokens = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(t) = tokens.next() {
        if VALUE_FLAGS.contains(&t.as_ref()) {
            tokens.next();
        } else if !t.starts_with('-') {
            subcommand = Some(t);
            break;
        }
    }
    let is_diff = subcommand.is_some_and(|s| s == "diff");
    if !is_diff {
        return report_clap(err);
    }
    match clap_message(&err) {
        None => 0,
        Some(message) => {
            eprintln!("{message}");
            eprintln!("See 'kubectl diff -h' for help and examples");
            2
        }
    }
}

/// The text upstream prints for a command-line error (None after printing help).
fn clap_message(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let context = |kind: ContextKind| match err.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        _ => String::new(),
    };
    let message = match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            return None;
        }
        ErrorKind::UnknownArgument => {
            let arg = context(ContextKind::InvalidArg);
            let flag = arg.split('=').next().unwrap_or(&arg).to_string();
            if flag.starts_with("--") || flag.len() != 2 {
                format!("error: unknown flag: {flag}")
            } else {
                format!("error: unknown shorthand flag: '{}' in {arg}", flag.trim_start_matches('-'))
            }
        }
        ErrorKind::InvalidSubcommand => format!("error: unknown command \"{}\" for \"kubectl\"", context(ContextKind::InvalidSubcommand)),
        ErrorKind::MissingRequiredArgument => {
            let names: Vec<String> = context(ContextKind::InvalidArg)
                .split(", ")
                .map(|a| format!("\"{}\"", a.trim_start_matches('-').split([' ', '=', '<']).next().unwrap_or("")))
                .collect();
            format!("error: required flag(s) {} not set", names.join(", "))
        }
        _ => {
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or("").trim_start_matches("error: ").to_string();
            format!("error: {first}")
        }
    };
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Cause, StatusDetails};

    fn status(reason: &str, message: &str) -> Status {
        Status { code: 404, reason: reason.into(), message: message.into(), details: None }
    }

    #[test]
    fn not_found() {
        let e = CmdError::Api(ApiError::Status(Box::new(status("NotFound", "configmaps \"nope\" not found"))));
        assert_eq!(format_error(&e).0, "Error from server (NotFound): configmaps \"nope\" not found");
        let e = e.with_source("creating", "x.yaml");
        assert_eq!(format_error(&e).0, "Error from server (NotFound): error when creating \"x.yaml\": configmaps \"nope\" not found");
    }

    #[test]
    fn invalid_with_causes() {
        let mut s = status("Invalid", "whatever");
        s.details = Some(StatusDetails {
            name: "Bad".into(),
            kind: "ConfigMap".into(),
            group: String::new(),
            causes: vec![Cause { field: "metadata.name".into(), message: "Invalid value: \"Bad\"".into(), reason: String::new() }],
        });
        let e = CmdError::Api(ApiError::Status(Box::new(s.clone())));
        assert_eq!(format_error(&e).0, "The ConfigMap \"Bad\" is invalid: metadata.name: Invalid value: \"Bad\"");
        s.details.as_mut().unwrap().causes.push(Cause { field: "data".into(), message: "bad".into(), reason: String::new() });
        let e = CmdError::Api(ApiError::Status(Box::new(s)));
        assert_eq!(format_error(&e).0, "The ConfigMap \"Bad\" is invalid: \n* metadata.name: Invalid value: \"Bad\"\n* data: bad");
    }

    #[test]
    fn plain_and_usage() {
        assert_eq!(format_error(&CmdError::msg("boom")).0, "error: boom");
        assert_eq!(format_error(&CmdError::msg("error: boom")).0, "error: boom");
        let u = CmdError::usage("kubectl get", "Required resource not specified.");
        assert_eq!(format_error(&u).0, "error: Required resource not specified.\nSee 'kubectl get -h' for help and examples");
    }
}
