//! `kubectl version`: the client version, and the server's from `/version`.

use serde_json::{json, Value};

use crate::client::Req;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::printers::yaml::to_yaml;
use crate::util::Streams;

/// The Kubernetes version this kubectl speaks.
pub const GIT_VERSION: &str = concat!("v1.33.0-rkube.", env!("CARGO_PKG_VERSION"));

/// Flags of `kubectl version`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// If true, shows client version only (no server required).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false)]
    pub client: bool,
    /// One of 'yaml' or 'json'.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
}

fn client_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": GIT_VERSION,
        "gitCommit": "rkube",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if std::env::consts::ARCH == "x86_64" { "amd64" } else { std::env::consts::ARCH }),
    })
}

fn render(output: Option<&str>, client: &Value, server: Option<&Value>) -> Result<String, CmdError> {
    let mut doc = serde_json::Map::new();
    doc.insert("clientVersion".into(), client.clone());
    if let Some(s) = server {
        doc.insert("serverVersion".into(), s.clone());
    }
    let doc = Value::Object(doc);
    match output {
        None | Some("") => {
            let mut s = format!("Client Version: {}\n", client["gitVersion"].as_str().unwrap_or(""));
            if let Some(sv) = server {
                s.push_str(&format!("Server Version: {}\n", sv["gitVersion"].as_str().unwrap_or("")));
            }
            Ok(s)
        }
        Some("json") => Ok(format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default())),
        Some("yaml") => Ok(format!("{}\n", to_yaml(&doc))),
        Some(other) => Err(CmdError::msg(format!("--output must be 'yaml' or 'json', got {other:?}"))),
    }
}

/// `kubectl version --client`: no configuration, no network.
pub fn run_client_only(args: &Args, streams: &mut Streams) -> i32 {
    match render(args.output.as_deref(), &client_info(), None) {
        Ok(text) => {
            let _ = std::io::Write::write_all(&mut streams.out, text.as_bytes());
            let _ = streams.flush();
            0
        }
        Err(e) => crate::errors::report(&e, streams),
    }
}

/// `kubectl version`.
pub async fn run(f: &Factory, args: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let client = f.client().await?;
    let server = client.json(Req::get("/version")).await;
    let text = render(args.output.as_deref(), &client_info(), server.as_ref().ok())?;
    streams.out.write_all(text.as_bytes())?;
    server.map(|_| ()).map_err(CmdError::from)
}

use std::io::Write;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_yaml() {
        let c = json!({"gitVersion": "v1"});
        assert_eq!(render(None, &c, Some(&json!({"gitVersion": "v2"}))).unwrap(), "Client Version: v1\nServer Version: v2\n");
        assert_eq!(render(Some("yaml"), &c, None).unwrap(), "clientVersion:\n  gitVersion: v1\n\n");
        assert!(render(Some("xml"), &c, None).is_err());
    }
}
