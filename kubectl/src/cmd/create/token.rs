//! `kubectl create token SERVICE_ACCOUNT_NAME`: asks the `serviceaccounts/token` subresource
//! for a token and prints it (without a newline unless stdout is a terminal), or the whole
//! TokenRequest with `-o`.

use std::io::{IsTerminal, Write};

use serde_json::{json, Value};

use crate::client::{Method, Req};
use crate::cmd::common::PrintArgs;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::{GenericPrinter, OutputFormat};
use crate::util::{parse_go_duration, Streams};

/// `create token`.
#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    /// SERVICE_ACCOUNT_NAME
    pub names: Vec<String>,
    /// Audience of the requested token. If unset, defaults to requesting a token for use with the Kubernetes API server. May be repeated to request a token valid for multiple audiences.
    #[arg(long = "audience")]
    pub audiences: Vec<String>,
    /// Requested lifetime of the issued token. If not set or if set to 0, the lifetime will be determined by the server automatically. The server may return a token with a longer or shorter lifetime.
    #[arg(long, default_value = "0s", allow_hyphen_values = true)]
    pub duration: String,
    /// Kind of an object to bind the token to. Supported kinds are Pod, Secret. If set, --bound-object-name must be provided.
    #[arg(long, default_value = "")]
    pub bound_object_kind: String,
    /// Name of an object to bind the token to. The token will expire when the object is deleted. Requires --bound-object-kind.
    #[arg(long, default_value = "")]
    pub bound_object_name: String,
    /// UID of an object to bind the token to. Requires --bound-object-kind and --bound-object-name. If unset, the UID of the existing object is used.
    #[arg(long, default_value = "")]
    pub bound_object_uid: String,
    /// Output flags.
    #[command(flatten)]
    pub print: PrintArgs,
}

/// The kinds a token can be bound to, with their apiVersion (Node only with
/// KUBECTL_NODE_BOUND_TOKENS=true, as upstream).
fn bound_kinds() -> Vec<(&'static str, &'static str)> {
    let mut kinds = vec![("Pod", "v1"), ("Secret", "v1")];
    if std::env::var("KUBECTL_NODE_BOUND_TOKENS").as_deref() == Ok("true") {
        kinds.insert(0, ("Node", "v1"));
    }
    kinds
}

/// The TokenRequest the flags ask for (upstream's validation messages).
pub fn token_request(a: &TokenArgs) -> Result<Value, CmdError> {
    let duration = parse_go_duration(a.duration.trim_start_matches('-'))
        .ok_or_else(|| CmdError::msg(format!("invalid argument {:?} for \"--duration\" flag: time: invalid duration {:?}", a.duration, a.duration)))?;
    if a.duration.starts_with('-') && !duration.is_zero() {
        return Err(CmdError::msg("--duration must be greater than or equal to 0"));
    }
    if duration.subsec_nanos() != 0 {
        return Err(CmdError::msg("--duration cannot be expressed in units less than seconds"));
    }
    if a.audiences.iter().any(String::is_empty) {
        return Err(CmdError::msg("--audience must not be an empty string"));
    }
    let mut spec = json!({ "audiences": if a.audiences.is_empty() { Value::Null } else { json!(a.audiences) } });
    if a.bound_object_kind.is_empty() {
        if !a.bound_object_name.is_empty() {
            return Err(CmdError::msg("--bound-object-name can only be set if --bound-object-kind is provided"));
        }
        if !a.bound_object_uid.is_empty() {
            return Err(CmdError::msg("--bound-object-uid can only be set if --bound-object-kind is provided"));
        }
    } else {
        let kinds = bound_kinds();
        let Some((kind, api_version)) = kinds.iter().find(|(k, _)| *k == a.bound_object_kind) else {
            let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
            return Err(CmdError::msg(format!("supported --bound-object-kind values are {}", names.join(", "))));
        };
        if a.bound_object_name.is_empty() {
            return Err(CmdError::msg("--bound-object-name is required if --bound-object-kind is provided"));
        }
        let mut r = json!({ "kind": kind, "apiVersion": api_version, "name": a.bound_object_name });
        if !a.bound_object_uid.is_empty() {
            r["uid"] = json!(a.bound_object_uid);
        }
        spec["boundObjectRef"] = r;
    }
    if !duration.is_zero() {
        spec["expirationSeconds"] = json!(duration.as_secs());
    }
    Ok(json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": { "creationTimestamp": null },
        "spec": spec,
        "status": { "token": "", "expirationTimestamp": null },
    }))
}

/// Runs `kubectl create token`.
pub async fn run(f: &Factory, a: TokenArgs, streams: &mut Streams) -> Result<(), CmdError> {
    let name = super::one_name(&a.names, "kubectl create token")?;
    let (namespace, _) = f.namespace()?;
    let body = token_request(&a)?;
    let format = if a.print.output.is_empty() || a.print.output == "name" {
        None
    } else {
        Some(OutputFormat::parse(&a.print.output, a.print.template.as_deref())?)
    };
    let client = f.client().await?;
    let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token");
    let resp = client
        .json(Req::new(Method::POST, path).json(&body))
        .await
        .map_err(|e| CmdError::msg(format!("failed to create token: {}", e.as_status().map(|s| s.message.clone()).unwrap_or_else(|| e.to_string()))))?;
    let token = resp.pointer("/status/token").and_then(Value::as_str).unwrap_or("");
    if token.is_empty() {
        return Err(CmdError::msg("failed to create token: no token in server response"));
    }
    match (a.print.output.as_str(), format) {
        ("name", _) => writeln!(streams.out, "tokenrequest.authentication.k8s.io/{name}")?,
        (_, Some(format)) => {
            let mut p = GenericPrinter::new(format);
            p.show_managed_fields = a.print.show_managed_fields;
            p.print(&resp, &mut streams.out)?;
        }
        _ if std::io::stdout().is_terminal() => writeln!(streams.out, "{token}")?,
        _ => write!(streams.out, "{token}")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        a: TokenArgs,
    }

    fn parse(args: &[&str]) -> Result<Value, String> {
        let cli = Cli::try_parse_from(std::iter::once("token").chain(args.iter().copied())).map_err(|e| e.to_string())?;
        token_request(&cli.a).map_err(|e| e.to_string())
    }

    #[test]
    fn builds_the_request() {
        let r = parse(&["sa", "--audience", "a", "--audience", "b", "--duration", "2h", "--bound-object-kind", "Pod", "--bound-object-name", "p"]).unwrap();
        assert_eq!(
            r["spec"],
            json!({"audiences": ["a", "b"], "expirationSeconds": 7200, "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}})
        );
        assert_eq!(parse(&["sa"]).unwrap()["spec"], json!({"audiences": null}));
    }

    #[test]
    fn upstream_validation() {
        assert!(parse(&["sa", "--duration", "1500ms"]).unwrap_err().contains("cannot be expressed in units less than seconds"));
        assert!(parse(&["sa", "--audience", ""]).unwrap_err().contains("--audience must not be an empty string"));
        assert!(parse(&["sa", "--bound-object-name", "x"]).unwrap_err().contains("can only be set if --bound-object-kind is provided"));
        assert!(parse(&["sa", "--bound-object-kind", "Deployment", "--bound-object-name", "x"])
            .unwrap_err()
            .contains("supported --bound-object-kind values are Pod, Secret"));
        assert!(parse(&["sa", "--bound-object-kind", "Secret"]).unwrap_err().contains("--bound-object-name is required"));
        assert!(parse(&["sa", "--duration", "-5m"]).unwrap_err().contains("must be greater than or equal to 0"));
    }
}
