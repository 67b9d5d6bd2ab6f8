//! The HTTP client every command uses: kube-rs's transport (TLS, client certificates, bearer
//! tokens, exec plugins) with raw requests, so each command controls paths, query parameters,
//! `Accept` and `Content-Type` exactly as upstream kubectl sends them. Error replies become
//! [`Status`] values.

use std::time::Instant;

use bytes::Bytes;
pub use http::Method;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// `Accept` for plain JSON.
pub const ACCEPT_JSON: &str = "application/json";
/// `Accept` for server-side tables, as kubectl get asks.
pub const ACCEPT_TABLE: &str =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/// A `metav1.Status` error reply.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Status {
    /// HTTP code.
    pub code: u16,
    /// Machine-readable reason (`NotFound`, `Invalid`, ...).
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// Which object and which fields.
    pub details: Option<StatusDetails>,
}

/// `metav1.StatusDetails`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct StatusDetails {
    /// Object name.
    pub name: String,
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Field-level causes.
    pub causes: Vec<Cause>,
}

/// `metav1.StatusCause`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Cause {
    /// The field path.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
    /// Machine-readable reason.
    pub reason: String,
}

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status.
    #[error("{}", .0.message)]
    Status(Box<Status>),
    /// The server could not be reached.
    #[error("{message}")]
    Connection {
        /// `host:port` of the server.
        host: String,
        /// Whether the connection was refused.
        refused: bool,
        /// The transport's error text.
        message: String,
    },
    /// The reply could not be decoded.
    #[error("{0}")]
    Decode(String),
}

impl ApiError {
    /// A status error built on the client side.
    pub fn status(code: u16, reason: &str, message: impl Into<String>) -> Self {
        ApiError::Status(Box::new(Status { code, reason: reason.into(), message: message.into(), details: None }))
    }

    /// The status, if the server answered.
    pub fn as_status(&self) -> Option<&Status> {
        match self {
            ApiError::Status(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the server answered 404.
    pub fn is_not_found(&self) -> bool {
        self.as_status().is_some_and(|s| s.code == 404)
    }

    /// Whether the server answered 409 AlreadyExists / Conflict.
    pub fn is_conflict(&self) -> bool {
        self.as_status().is_some_and(|s| s.code == 409)
    }
}

/// One request: method, path with query, headers and body.
#[derive(Debug, Clone)]
pub struct Req {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    accept: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Req {
    /// A request of `method` on `path` (no query string).
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Req { method, path: path.into(), query: Vec::new(), accept: ACCEPT_JSON.into(), content_type: None, body: Vec::new() }
    }

    /// A GET.
    pub fn get(path: impl Into<String>) -> Self {
        Req::new(Method::GET, path)
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Adds a query parameter when the value is not empty.
    pub fn query_opt(self, key: &str, value: &str) -> Self {
        if value.is_empty() {
            self
        } else {
            self.query(key, value)
        }
    }

    /// Sets `Accept`.
    pub fn accept(mut self, accept: &str) -> Self {
        self.accept = accept.into();
        self
    }

    /// Sets a body and its `Content-Type`.
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.content_type = Some(content_type.into());
        self.body = body;
        self
    }

    /// Sets a JSON body.
    pub fn json(self, value: &Value) -> Self {
        self.body("application/json", serde_json::to_vec(value).unwrap_or_default())
    }

    /// The path with its encoded query string.
    pub fn uri(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let q: Vec<String> = self.query.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        format!("{}?{}", self.path, q.join("&"))
    }

    fn into_http(self) -> Result<Request<Body>, ApiError> {
        let mut b = Request::builder().method(self.method.clone()).uri(self.uri()).header(http::header::ACCEPT, &self.accept);
        if let Some(ct) = &self.content_type {
            b = b.header(http::header::CONTENT_TYPE, ct);
        }
        b.body(Body::from(self.body)).map_err(|e| ApiError::Decode(e.to_string()))
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters kept).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The client: a kube-rs transport plus the server's address for error messages.
#[derive(Clone)]
pub struct ApiClient {
    inner: kube::Client,
    host: String,
    verbosity: i32,
    warnings: std::sync::Arc<std::sync::Mutex<Warnings>>,
}

/// The server's `Warning` headers seen so far: each distinct text is printed once, as
/// upstream's deduplicating warning handler does.
#[derive(Default)]
struct Warnings {
    seen: std::collections::HashSet<String>,
}

/// Parses one `Warning` header value (RFC 7234: `299 - "text" ["date"]`, several separated by
/// commas) and returns the texts of the code-299 warnings, as upstream's client surfaces them.
pub fn parse_warning_header(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value.trim_start();
    while !rest.is_empty() {
        let Some((code, after)) = rest.split_once(' ') else { break };
        let Some((_agent, after)) = after.trim_start().split_once(' ') else { break };
        let after = after.trim_start();
        let Some(quoted) = after.strip_prefix('"') else { break };
        let mut text = String::new();
        let mut chars = quoted.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        text.push(n);
                    }
                }
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                c => text.push(c),
            }
        }
        let Some(end) = end else { break };
        if code == "299" && !text.is_empty() {
            out.push(text);
        }
        rest = quoted[end..].trim_start();
        // An optional quoted date, then a comma before the next warning.
        if let Some(date) = rest.strip_prefix('"') {
            rest = date.split_once('"').map(|(_, r)| r).unwrap_or("").trim_start();
        }
        match rest.strip_prefix(',') {
            Some(next) => rest = next.trim_start(),
            None => break,
        }
    }
    out
}

impl ApiClient {
    /// Builds the client from a kube-rs configuration.
    pub fn new(config: kube::Config, verbosity: i32) -> Result<Self, ApiError> {
        let host = config.cluster_url.authority().map(|a| a.to_string()).unwrap_or_default();
        let inner = kube::Client::try_from(config).map_err(|e| connection_error(&host_placeholder(), &e))?;
        Ok(ApiClient { inner, host, verbosity, warnings: Default::default() })
    }

    /// How many distinct warnings the server sent (for `--warnings-as-errors`).
    pub fn warning_count(&self) -> usize {
        self.warnings.lock().map(|w| w.seen.len()).unwrap_or(0)
    }

    /// Prints the response's `Warning: 299` texts to stderr (each distinct text once).
    fn report_warnings(&self, headers: &http::HeaderMap) {
        for value in headers.get_all(http::header::WARNING) {
            let Ok(value) = value.to_str() else { continue };
            for text in parse_warning_header(value) {
                let new = self.warnings.lock().map(|mut w| w.seen.insert(text.clone())).unwrap_or(false);
                if new {
                    eprintln!("Warning: {text}");
                }
            }
        }
    }

    /// The kube-rs client (for WebSocket upgrades).
    pub fn kube(&self) -> &kube::Client {
        &self.inner
    }

    /// Sends a request and returns the raw response, whatever its status.
    pub async fn send(&self, req: Req) -> Result<Response<Body>, ApiError> {
        let started = Instant::now();
        let (method, uri) = (req.method.clone(), req.uri());
        let res = self.inner.send(req.into_http()?).await.map_err(|e| connection_error(&self.host, &e));
        if self.verbosity >= 6 {
            let status = res.as_ref().map(|r| r.status().to_string()).unwrap_or_else(|e| e.to_string());
            eprintln!("{method} {uri} {status} in {} milliseconds", started.elapsed().as_millis());
        }
        if let Ok(r) = &res {
            self.report_warnings(r.headers());
        }
        res
    }

    /// Sends a request; a non-2xx reply becomes [`ApiError::Status`]. Returns the body.
    pub async fn call(&self, req: Req) -> Result<Bytes, ApiError> {
        let res = self.send(req).await?;
        let status = res.status();
        let body = collect(res.into_body()).await?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(status_error(status, &body))
        }
    }

    /// Sends a request and decodes the JSON reply.
    pub async fn json(&self, req: Req) -> Result<Value, ApiError> {
        self.typed(req).await
    }

    /// Sends a request and decodes the JSON reply into `T`.
    pub async fn typed<T: DeserializeOwned>(&self, req: Req) -> Result<T, ApiError> {
        let body = self.call(req).await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Decode(format!("decoding the server's reply: {e}")))
    }

    /// Sends a request expecting a streamed reply (watch, logs); checks the status first.
    pub async fn stream(&self, req: Req) -> Result<BodyLines, ApiError> {
        let res = self.send(req).await?;
        let status = res.status();
        if !status.is_success() {
            let body = collect(res.into_body()).await?;
            return Err(status_error(status, &body));
        }
        Ok(BodyLines::new(res.into_body()))
    }
}

fn host_placeholder() -> String {
    String::new()
}

/// Reads a whole body.
pub async fn collect(body: Body) -> Result<Bytes, ApiError> {
    body.collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ApiError::Decode(format!("reading the server's reply: {e}")))
}

fn connection_error(host: &str, err: &kube::Error) -> ApiError {
    let mut text = err.to_string();
    let mut innermost = text.clone();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        innermost = s.to_string();
        source = s.source();
    }
    let refused = text.contains("Connection refused") || text.contains("os error 111");
    let message = if text.contains("UnknownIssuer") {
        "tls: failed to verify certificate: x509: certificate signed by unknown authority".to_string()
    } else if text.contains("NotValidForName") {
        "tls: failed to verify certificate: x509: certificate is not valid for the requested name".to_string()
    } else {
        innermost
    };
    ApiError::Connection { host: host.into(), refused, message }
}

/// Turns an error reply into a [`Status`], synthesising one when the body is not a Status.
pub fn status_error(code: StatusCode, body: &[u8]) -> ApiError {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if v.get("kind").and_then(Value::as_str) == Some("Status") {
            if let Ok(mut s) = serde_json::from_value::<Status>(v) {
                if s.code == 0 {
                    s.code = code.as_u16();
                }
                return ApiError::Status(Box::new(s));
            }
        }
    }
    let (reason, message) = match code.as_u16() {
        401 => ("Unauthorized", "the server has asked for the client to provide credentials".to_string()),
        403 => ("Forbidden", String::from_utf8_lossy(body).trim().to_string()),
        404 => ("NotFound", "the server could not find the requested resource".to_string()),
        409 => ("Conflict", String::from_utf8_lossy(body).trim().to_string()),
        415 => ("UnsupportedMediaType", "the server does not support this media type".to_string()),
        429 => ("TooManyRequests", "the server has received too many requests and has asked us to try again later".to_string()),
        500 => ("InternalError", String::from_utf8_lossy(body).trim().to_string()),
        503 => ("ServiceUnavailable", "the server is currently unable to handle the request".to_string()),
        504 => ("Timeout", "the server was unable to return a response in the time allotted".to_string()),
        _ => ("", format!("an error on the server ({}) has prevented the request from succeeding", String::from_utf8_lossy(body).trim())),
    };
    ApiError::Status(Box::new(Status { code: code.as_u16(), reason: reason.into(), message, details: None }))
}

/// A streamed body read line by line (newline-delimited JSON watch events, log lines).
pub struct BodyLines {
    body: Body,
    buf: Vec<u8>,
    done: bool,
}

impl BodyLines {
    fn new(body: Body) -> Self {
        BodyLines { body, buf: Vec::new(), done: false }
    }

    /// The next chunk of bytes as it arrives (for logs), or None at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
        if !self.buf.is_empty() {
            return Ok(Some(Bytes::from(std::mem::take(&mut self.buf))));
        }
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(ApiError::Decode(e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }

    /// The next complete line (without the newline), or None at the end of the stream.
    pub async fn next_line(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                return Ok(Some(line));
            }
            if self.done {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(std::mem::take(&mut self.buf)));
            }
            match self.body.frame().await {
                None => self.done = true,
                Some(Err(e)) => return Err(ApiError::Decode(e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding() {
        let r = Req::get("/api/v1/pods").query("labelSelector", "app in (a,b)").query("limit", "500");
        assert_eq!(r.uri(), "/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29&limit=500");
    }

    #[test]
    fn warning_headers() {
        assert_eq!(parse_warning_header(r#"299 - "unknown field \"spec.foo\"""#), vec![r#"unknown field "spec.foo""#]);
        assert_eq!(
            parse_warning_header(r#"299 - "a", 299 kube-apiserver "b" "Mon, 01 Jan 2024 00:00:00 GMT", 199 - "misc""#),
            vec!["a", "b"]
        );
        assert!(parse_warning_header("garbage").is_empty());
    }

    #[test]
    fn status_from_body() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}"#;
        let e = status_error(StatusCode::NOT_FOUND, body);
        let s = e.as_status().unwrap();
        assert_eq!(s.reason, "NotFound");
        assert_eq!(s.details.as_ref().unwrap().name, "x");
        let e = status_error(StatusCode::NOT_FOUND, b"404 page not found");
        assert_eq!(e.as_status().unwrap().message, "the server could not find the requested resource");
    }
}
