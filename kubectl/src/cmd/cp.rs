//! `kubectl cp`: copies files and directories out of and into containers by running `tar`
//! in the container over an exec session, as upstream does.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;
use kube::api::AttachParams;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cmd::exec::exit_from_status;
use crate::cmd::tar;
use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

/// Flags of `kubectl cp`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// SRC: a local path or [NAMESPACE/]POD:PATH
    pub src: String,
    /// DEST: a local path or [NAMESPACE/]POD:PATH
    pub dest: String,
    /// Container name. If omitted, the first container in the pod is used.
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// The copied file/directory's ownership and permissions will not be preserved in the container.
    #[arg(long)]
    pub no_preserve: bool,
}

/// A `[namespace/]pod:path` or a local path.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    /// A path in a container.
    Remote {
        /// Namespace (None: the default).
        namespace: Option<String>,
        /// Pod.
        pod: String,
        /// Path.
        path: String,
    },
    /// A local path.
    Local(String),
}

/// Parses a copy argument as upstream's `extractFileSpec`.
pub fn parse_spec(s: &str) -> Result<Spec, CmdError> {
    let Some(i) = s.find(':') else {
        return Ok(Spec::Local(s.to_string()));
    };
    if i == 0 {
        return Err(CmdError::msg("filespec must match the canonical format: [[namespace/]pod:]file/path"));
    }
    let (pod, path) = (&s[..i], s[i + 1..].to_string());
    let pieces: Vec<&str> = pod.split('/').collect();
    match pieces.as_slice() {
        [p] => Ok(Spec::Remote { namespace: None, pod: p.to_string(), path }),
        [ns, p] => Ok(Spec::Remote { namespace: Some(ns.to_string()), pod: p.to_string(), path }),
        _ => Err(CmdError::msg("filespec must match the canonical format: [[namespace/]pod:]file/path")),
    }
}

/// `kubectl cp`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    match (parse_spec(&a.src)?, parse_spec(&a.dest)?) {
        (Spec::Remote { namespace, pod, path }, Spec::Local(dest)) => from_pod(f, &a, namespace, &pod, &path, &dest, streams).await,
        (Spec::Local(src), Spec::Remote { namespace, pod, path }) => to_pod(f, &a, namespace, &pod, &src, &path, streams).await,
        _ => Err(CmdError::msg("one of src or dest must be a local file specification")),
    }
}

async fn run_remote(f: &Factory, ns: Option<String>, pod: &str, container: Option<String>, command: Vec<String>, input: Option<Vec<u8>>) -> Result<Vec<u8>, CmdError> {
    let (default_ns, _) = f.namespace()?;
    let ns = ns.unwrap_or(default_ns);
    let client = f.client().await?;
    let api: kube::Api<Pod> = kube::Api::namespaced(client.kube().clone(), &ns);
    let ap = AttachParams { container, stdin: input.is_some(), stdout: true, stderr: true, tty: false, ..Default::default() };
    let mut process = match api.exec(pod, command, &ap).await {
        Ok(p) => p,
        Err(_) => {
            let path = format!("/api/v1/namespaces/{ns}/pods/{pod}/exec");
            return Err(match client.call(crate::client::Req::new(crate::client::Method::POST, path)).await {
                Err(e) => e.into(),
                Ok(_) => CmdError::msg("unable to upgrade connection"),
            });
        }
    };
    if let (Some(data), Some(mut w)) = (input, process.stdin()) {
        tokio::spawn(async move {
            let _ = w.write_all(&data).await;
            let _ = w.shutdown().await;
        });
    }
    let mut out = Vec::new();
    if let Some(mut r) = process.stdout() {
        r.read_to_end(&mut out).await?;
    }
    if let Some(mut r) = process.stderr() {
        let mut sink = Vec::new();
        let _ = r.read_to_end(&mut sink).await;
    }
    let status = match process.take_status() {
        Some(s) => s.await,
        None => None,
    };
    exit_from_status(status)?;
    Ok(out)
}

async fn from_pod(f: &Factory, a: &Args, ns: Option<String>, pod: &str, path: &str, dest: &str, _streams: &mut Streams) -> Result<(), CmdError> {
    if path.is_empty() {
        return Err(CmdError::msg("remote path cannot be empty"));
    }
    let bytes = run_remote(f, ns, pod, a.container.clone(), vec!["tar".into(), "cf".into(), "-".into(), path.into()], None).await?;
    let entries = tar::read_all(&mut bytes.as_slice())?;
    let prefix = path.trim_start_matches('/').trim_end_matches('/').to_string();
    for e in entries {
        let name = e.name.trim_end_matches('/');
        let rel = if name == prefix {
            PathBuf::new()
        } else if let Some(r) = name.strip_prefix(&format!("{prefix}/")) {
            PathBuf::from(r)
        } else {
            continue;
        };
        if rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
            continue;
        }
        let target = if rel.as_os_str().is_empty() { PathBuf::from(dest) } else { Path::new(dest).join(&rel) };
        if e.dir {
            std::fs::create_dir_all(&target)?;
        } else {
            if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, &e.data)?;
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(e.mode & 0o777));
        }
    }
    Ok(())
}

async fn to_pod(f: &Factory, a: &Args, ns: Option<String>, pod: &str, src: &str, dest: &str, _streams: &mut Streams) -> Result<(), CmdError> {
    let src_path = Path::new(src);
    if !src_path.exists() {
        return Err(CmdError::msg(format!("{src} doesn't exist in local filesystem")));
    }
    let mut dest = dest.to_string();
    if dest.ends_with('/') && dest != "/" {
        dest.push_str(&src_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    }
    let dest_path = Path::new(&dest);
    let base = dest_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| ".".into());
    let dir = dest_path.parent().map(|p| p.display().to_string()).unwrap_or_default();
    let mut archive = Vec::new();
    tar::write_tree(&mut archive, src_path, &base)?;
    tar::finish(&mut archive)?;
    let mut cmd: Vec<String> = if a.no_preserve {
        ["tar", "--no-same-permissions", "--no-same-owner", "-xmf", "-"].iter().map(|s| s.to_string()).collect()
    } else {
        ["tar", "-xmf", "-"].iter().map(|s| s.to_string()).collect()
    };
    if !dir.is_empty() {
        cmd.extend(["-C".to_string(), dir]);
    }
    run_remote(f, ns, pod, a.container.clone(), cmd, Some(archive)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(parse_spec("web:/tmp/a").unwrap(), Spec::Remote { namespace: None, pod: "web".into(), path: "/tmp/a".into() });
        assert_eq!(parse_spec("ns1/web:/tmp/a").unwrap(), Spec::Remote { namespace: Some("ns1".into()), pod: "web".into(), path: "/tmp/a".into() });
        assert_eq!(parse_spec("/tmp/a").unwrap(), Spec::Local("/tmp/a".into()));
        assert!(parse_spec(":x").is_err());
    }
}
