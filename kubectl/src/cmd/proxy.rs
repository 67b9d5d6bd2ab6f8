//! `kubectl proxy`: an HTTP server on a local address (or Unix socket) that forwards requests
//! under `--api-prefix` to the API server with the kubeconfig's credentials and TLS, streams
//! the replies (watches stay chunked), and serves `--www` files under `--www-prefix`. The
//! default filter, as upstream's, answers `403 Forbidden` to exec/attach paths and to hosts
//! other than localhost.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderMap, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use regex::Regex;

use crate::errors::CmdError;
use crate::factory::Factory;
use crate::util::Streams;

const DEFAULT_ACCEPT_HOSTS: &str = r"^localhost$,^127\.0\.0\.1$,^\[::1\]$";
const DEFAULT_REJECT_PATHS: &str = r"^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach";

/// Flags of `kubectl proxy`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The port on which to run the proxy. Set to 0 to pick a random port.
    #[arg(short = 'p', long, default_value_t = 8001)]
    pub port: u16,
    /// The IP address on which to serve on.
    #[arg(long, default_value = "127.0.0.1")]
    pub address: String,
    /// Regular expression for hosts that the proxy should accept.
    #[arg(long, default_value = DEFAULT_ACCEPT_HOSTS)]
    pub accept_hosts: String,
    /// Regular expression for paths that the proxy should accept.
    #[arg(long, default_value = "^.*")]
    pub accept_paths: String,
    /// Regular expression for paths that the proxy should reject.
    #[arg(long, default_value = DEFAULT_REJECT_PATHS)]
    pub reject_paths: String,
    /// Regular expression for HTTP methods that the proxy should reject.
    #[arg(long, default_value = "^$")]
    pub reject_methods: String,
    /// Prefix to serve the proxied API under.
    #[arg(long, default_value = "/")]
    pub api_prefix: String,
    /// Also serve static files from the given directory under the specified prefix.
    #[arg(short = 'w', long)]
    pub www: Option<PathBuf>,
    /// Prefix to serve static files under, if static file directory is specified.
    #[arg(short = 'P', long, default_value = "/static/")]
    pub www_prefix: String,
    /// If true, disable request filtering in the proxy. This is dangerous.
    #[arg(long)]
    pub disable_filter: bool,
    /// Unix socket on which to run the proxy.
    #[arg(short = 'u', long)]
    pub unix_socket: Option<PathBuf>,
    /// keepalive specifies the keep-alive period for an active network connection.
    #[arg(long, default_value = "0")]
    pub keepalive: String,
    /// If true, enables automatic path appending of the kube context server path to each
    /// request (always the case here: the client keeps the server URL's path).
    #[arg(long)]
    pub append_server_path: bool,
}

/// Upstream's `FilterServer` rules.
pub struct Filter {
    accept_paths: Vec<Regex>,
    reject_paths: Vec<Regex>,
    accept_hosts: Vec<Regex>,
    reject_methods: Vec<Regex>,
}

fn regexps(list: &str) -> Result<Vec<Regex>, CmdError> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    list.split(',')
        .map(|r| {
            Regex::new(r).map_err(|e| {
                // Upstream exits through klog.Fatalf with Go's regexp message.
                eprint!("{}", klog_line('F', "proxy_server.go:83", &format!("Error compiling re: error parsing regexp: {}", go_regexp_error(r, &e))));
                CmdError::Exit(255)
            })
        })
        .collect()
}

/// Go's `regexp/syntax` message for the common mistakes Rust's parser reports.
fn go_regexp_error(expr: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    if text.contains("unclosed group") {
        format!("missing closing ): `{expr}`")
    } else if text.contains("unopened group") {
        format!("unexpected ): `{expr}`")
    } else if text.contains("unclosed character class") {
        let class = expr.rfind('[').map(|i| &expr[i..]).unwrap_or(expr);
        format!("missing closing ]: `{class}`")
    } else if text.contains("repetition operator missing expression") {
        let op = expr.chars().find(|c| matches!(c, '*' | '+' | '?')).map(String::from).unwrap_or_default();
        format!("missing argument to repetition operator: `{op}`")
    } else {
        format!("invalid syntax: `{expr}`")
    }
}

/// A klog line (`W1125 19:31:20.672782   29593 proxy.go:177] ...`), UTC as on our machines.
fn klog_line(severity: char, at: &str, msg: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let ts = k8s_openapi::jiff::Timestamp::from_second(now.as_secs() as i64).unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
    let dt = ts.to_zoned(k8s_openapi::jiff::tz::TimeZone::UTC).datetime();
    format!(
        "{severity}{:02}{:02} {:02}:{:02}:{:02}.{:06} {:>7} {at}] {msg}\n",
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        now.subsec_micros(),
        std::process::id()
    )
}

fn matches(s: &str, res: &[Regex]) -> bool {
    res.iter().any(|r| r.is_match(s))
}

impl Filter {
    /// Builds the filter from the comma-separated regular expressions.
    pub fn new(accept_paths: &str, reject_paths: &str, accept_hosts: &str, reject_methods: &str) -> Result<Self, CmdError> {
        Ok(Filter {
            accept_paths: regexps(accept_paths)?,
            reject_paths: regexps(reject_paths)?,
            accept_hosts: regexps(accept_hosts)?,
            reject_methods: regexps(reject_methods)?,
        })
    }

    /// Whether a request passes: not a rejected path or method, an accepted path and host.
    pub fn accept(&self, method: &str, path: &str, host: &str) -> bool {
        if matches(path, &self.reject_paths) || matches(method, &self.reject_methods) {
            return false;
        }
        matches(path, &self.accept_paths) && matches(host, &self.accept_hosts)
    }
}

/// The host of a `Host` header without its port (Go's `net.SplitHostPort`, else as is).
pub fn host_only(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        if let Some((h, port)) = rest.split_once("]:") {
            if !port.contains(':') {
                return h;
            }
        }
        return host;
    }
    match host.rsplit_once(':') {
        Some((h, _)) if !h.contains(':') => h,
        _ => host,
    }
}

struct State {
    client: kube::Client,
    filter: Option<Filter>,
    api_prefix: String,
    www: Option<(PathBuf, String)>,
}

type ProxyBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

fn text(status: StatusCode, body: &str) -> Response<ProxyBody> {
    let mut res = Response::new(Full::new(Bytes::from(body.to_string())).map_err(|e| match e {}).boxed_unsync());
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, "text/plain; charset=utf-8".parse().expect("static header"));
    res.headers_mut().insert("x-content-type-options", "nosniff".parse().expect("static header"));
    date_and_length(&mut res, body.len());
    res
}

/// Go's server adds `Date` then `Content-Length` after the handler's headers.
fn date_and_length(res: &mut Response<ProxyBody>, len: usize) {
    let now = k8s_openapi::jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(v) = now.parse() {
        res.headers_mut().insert(header::DATE, v);
    }
    res.headers_mut().insert(header::CONTENT_LENGTH, len.into());
}

/// Go's text of a failed listen.
fn go_bind_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "bind: address already in use".into(),
        std::io::ErrorKind::AddrNotAvailable => "bind: cannot assign requested address".into(),
        std::io::ErrorKind::PermissionDenied => "bind: permission denied".into(),
        _ => e.to_string(),
    }
}

/// Go's `http.Redirect` with 301 (the HTML body only for GET and HEAD).
fn moved(location: &str, method: &http::Method) -> Response<ProxyBody> {
    let body = if method == http::Method::GET || method == http::Method::HEAD { format!("<a href=\"{location}\">Moved Permanently</a>.\n\n") } else { String::new() };
    let len = body.len();
    let mut res = Response::new(Full::new(Bytes::from(body)).map_err(|e| match e {}).boxed_unsync());
    *res.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if method == http::Method::GET || method == http::Method::HEAD {
        res.headers_mut().insert(header::CONTENT_TYPE, "text/html; charset=utf-8".parse().expect("static header"));
    }
    if let Ok(v) = location.parse() {
        res.headers_mut().insert(header::LOCATION, v);
    }
    date_and_length(&mut res, len);
    res
}

/// `kubectl proxy`.
pub async fn run(f: &Factory, a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let filter = if a.disable_filter {
        streams.eprint(&klog_line('W', "proxy.go:177", "Request filter disabled, your proxy is vulnerable to XSRF attacks, please be cautious"));
        None
    } else {
        Some(Filter::new(&a.accept_paths, &a.reject_paths, &a.accept_hosts, &a.reject_methods)?)
    };
    // The proxy's own client: no read timeout, so idle watches stay open as upstream's do.
    // kube-rs always keeps the server URL's path, i.e. upstream's --append-server-path.
    let mut config = f.effective()?.client_config().await?;
    config.read_timeout = None;
    let client = kube::Client::try_from(config).map_err(|e| CmdError::Message(e.to_string()))?;
    let mut api_prefix = a.api_prefix.clone();
    if !api_prefix.ends_with('/') {
        api_prefix.push('/');
    }
    let mut www_prefix = a.www_prefix.clone();
    if !www_prefix.ends_with('/') {
        www_prefix.push('/');
    }
    let state = Arc::new(State { client, filter, api_prefix, www: a.www.clone().map(|d| (d, www_prefix)) });

    if let Some(socket) = &a.unix_socket {
        let listener = tokio::net::UnixListener::bind(socket).map_err(|e| CmdError::Message(e.to_string()))?;
        streams.println(&format!("Starting to serve on {}", socket.display()));
        streams.flush()?;
        loop {
            let (stream, _) = listener.accept().await.map_err(|e| CmdError::Message(e.to_string()))?;
            serve(TokioIo::new(stream), state.clone());
        }
    }
    let listener = tokio::net::TcpListener::bind((a.address.as_str(), a.port)).await.map_err(|e| CmdError::Message(format!("listen tcp {}:{}: {}", a.address, a.port, go_bind_error(&e))))?;
    let local = listener.local_addr().map_err(|e| CmdError::Message(e.to_string()))?;
    streams.println(&format!("Starting to serve on {local}"));
    streams.flush()?;
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        serve(TokioIo::new(stream), state.clone());
    }
}

fn serve<I>(io: I, state: Arc<State>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(handle(&state, req).await) }
        });
        let _ = hyper::server::conn::http1::Builder::new().title_case_headers(true).serve_connection(io, service).with_upgrades().await;
    });
}

async fn handle(state: &State, mut req: Request<Incoming>) -> Response<ProxyBody> {
    let path = req.uri().path().to_string();
    // Go's ServeMux: the longest matching prefix wins; `/p` redirects to a pattern `/p/`.
    let slashed = format!("{path}/");
    if slashed == state.api_prefix || state.www.as_ref().is_some_and(|(_, prefix)| *prefix == slashed) {
        let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
        return moved(&format!("{slashed}{query}"), req.method());
    }
    let www_match = state.www.as_ref().filter(|(_, prefix)| path.starts_with(prefix.as_str()));
    let api_match = path.starts_with(state.api_prefix.as_str());
    if let Some((dir, prefix)) = www_match.filter(|(_, prefix)| !api_match || prefix.len() > state.api_prefix.len()) {
        return static_file(dir, &path[prefix.len()..]).await;
    }
    if !api_match {
        return text(StatusCode::NOT_FOUND, "404 page not found\n");
    }
    // Upstream strips the prefix (keeping a leading slash) unless it starts with `/api`.
    let rest = if state.api_prefix.starts_with("/api") {
        path.clone()
    } else {
        let p = &path[state.api_prefix.len()..];
        format!("/{p}")
    };
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("").to_string();
    if let Some(filter) = &state.filter {
        if !filter.accept(req.method().as_str(), &rest, host_only(&host)) {
            return text(StatusCode::FORBIDDEN, "Forbidden\n");
        }
    }
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let target = format!("{rest}{query}");
    let upgrade = req.headers().contains_key(header::UPGRADE);
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return text(StatusCode::BAD_GATEWAY, &format!("reading the request: {e}\n")),
    };
    let mut out = Request::builder().method(parts.method).uri(target);
    for (name, value) in forwarded_headers(&parts.headers, upgrade) {
        out = out.header(name, value);
    }
    let out = match out.body(kube::client::Body::from(body.to_vec())) {
        Ok(r) => r,
        Err(e) => return text(StatusCode::BAD_REQUEST, &format!("{e}\n")),
    };
    match state.client.send(out).await {
        Ok(mut res) if res.status() == StatusCode::SWITCHING_PROTOCOLS && client_upgrade.is_some() => {
            // A stream (exec, attach, port-forward) the filter let through: splice the two
            // upgraded connections once the client has its 101.
            let server_upgrade = hyper::upgrade::on(&mut res);
            let client_upgrade = client_upgrade.expect("checked above");
            tokio::spawn(async move {
                let (Ok(server), Ok(client)) = (server_upgrade.await, client_upgrade.await) else { return };
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(server), &mut TokioIo::new(client)).await;
            });
            let mut out = Response::new(Full::new(Bytes::new()).map_err(|e| match e {}).boxed_unsync());
            *out.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            *out.headers_mut() = res.headers().clone();
            out
        }
        Ok(res) => {
            let (mut parts, body) = res.into_parts();
            // Go writes a handler's headers sorted by name.
            let mut names: Vec<header::HeaderName> = parts.headers.keys().filter(|n| !HOP_BY_HOP.contains(&n.as_str())).cloned().collect();
            names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            let mut sorted = HeaderMap::new();
            for name in names {
                for value in parts.headers.get_all(&name) {
                    sorted.append(name.clone(), value.clone());
                }
            }
            parts.headers = sorted;
            Response::from_parts(parts, body.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>).boxed_unsync())
        }
        Err(e) => text(StatusCode::BAD_GATEWAY, &format!("{e}\n")),
    }
}

const HOP_BY_HOP: &[&str] = &["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"];

/// The client's headers minus hop-by-hop ones, `Host` and credentials (the proxy adds its own).
/// An upgrade keeps its `Connection` and `Upgrade` headers.
fn forwarded_headers(headers: &HeaderMap, upgrade: bool) -> impl Iterator<Item = (&header::HeaderName, &header::HeaderValue)> {
    headers.iter().filter(move |(name, _)| {
        let n = name.as_str();
        if upgrade && (n == "connection" || n == "upgrade") {
            return true;
        }
        !HOP_BY_HOP.contains(&n) && n != "host" && n != "authorization" && n != "content-length"
    })
}

async fn static_file(dir: &std::path::Path, rest: &str) -> Response<ProxyBody> {
    if rest.split('/').any(|seg| seg == "..") {
        return text(StatusCode::BAD_REQUEST, "invalid URL path\n");
    }
    let mut path = dir.join(rest);
    if path.is_dir() {
        path = path.join("index.html");
    }
    match tokio::fs::read(&path).await {
        Ok(data) => {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            let len = data.len();
            let mut res = Response::new(Full::new(Bytes::from(data)).map_err(|e| match e {}).boxed_unsync());
            // Go's FileServer headers, written sorted by name.
            res.headers_mut().insert(header::ACCEPT_RANGES, "bytes".parse().expect("static header"));
            res.headers_mut().insert(header::CONTENT_LENGTH, len.into());
            let ct = match path.extension().and_then(|e| e.to_str()) {
                Some("html") | Some("htm") => "text/html; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("json") => "application/json",
                Some("txt") => "text/plain; charset=utf-8",
                _ => "application/octet-stream",
            };
            res.headers_mut().insert(header::CONTENT_TYPE, ct.parse().expect("static header"));
            let modified = modified.and_then(|m| k8s_openapi::jiff::Timestamp::try_from(m).ok());
            if let Some(Ok(v)) = modified.map(|t| t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string().parse()) {
                res.headers_mut().insert(header::LAST_MODIFIED, v);
            }
            res
        }
        Err(_) => text(StatusCode::NOT_FOUND, "404 page not found\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_filter() {
        let f = Filter::new("^.*", DEFAULT_REJECT_PATHS, DEFAULT_ACCEPT_HOSTS, "^$").unwrap();
        assert!(f.accept("GET", "/api/v1/namespaces/default/pods", "127.0.0.1"));
        assert!(f.accept("GET", "/version", "localhost"));
        assert!(!f.accept("POST", "/api/v1/namespaces/default/pods/x/exec", "127.0.0.1"));
        assert!(!f.accept("GET", "/api/v1/namespaces/default/pods/x/attach", "localhost"));
        assert!(!f.accept("GET", "/version", "evil.com"));
        assert_eq!(host_only("127.0.0.1:8001"), "127.0.0.1");
        assert_eq!(host_only("[::1]:8001"), "::1");
        assert_eq!(host_only("localhost"), "localhost");
    }
}
