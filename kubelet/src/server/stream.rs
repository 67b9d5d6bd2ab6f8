//! Forwarding an upgraded connection (SPDY or WebSocket) to a streaming server: the request's
//! upgrade headers go to the target, its `101 Switching Protocols` comes back, and then bytes
//! flow both ways untouched. Used for exec, attach and port-forward towards the runtime's
//! streaming server.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;

/// Errors setting up the forwarded stream.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The target URL is not usable.
    #[error("bad streaming URL {0}")]
    BadUrl(String),
    /// Connecting or talking to the target failed.
    #[error("streaming server: {0}")]
    Io(#[from] std::io::Error),
    /// HTTP-level failure.
    #[error("streaming server: {0}")]
    Http(#[from] hyper::Error),
}

/// Headers that must reach the streaming server for the protocol negotiation.
fn forwarded_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (k, v) in from {
        let name = k.as_str();
        let keep = name == "connection"
            || name == "upgrade"
            || name.starts_with("sec-websocket-")
            || name.starts_with("x-stream-protocol")
            || name == "origin"
            || name == "content-type";
        if keep {
            to.append(k.clone(), v.clone());
        }
    }
}

/// Proxies `req` (an upgrade request) to `target` and splices the two connections.
pub async fn proxy(mut req: Request, target: &str) -> Result<Response<Body>, StreamError> {
    let uri: Uri = target.parse().map_err(|_| StreamError::BadUrl(target.into()))?;
    let host = uri.host().ok_or_else(|| StreamError::BadUrl(target.into()))?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let mut out = hyper::Request::builder().method(req.method().clone()).uri(path).body(Body::empty()).expect("valid request");
    forwarded_headers(req.headers(), out.headers_mut());
    out.headers_mut().insert(header::HOST, HeaderValue::from_str(&format!("{host}:{port}")).expect("valid host"));
    let client_upgrade = hyper::upgrade::on(&mut req);
    let mut resp = sender.send_request(out).await?;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        let (parts, body) = resp.into_parts();
        return Ok(Response::from_parts(parts, Body::new(body)));
    }
    let server_upgrade = hyper::upgrade::on(&mut resp);
    tokio::spawn(async move {
        let (Ok(client), Ok(server)) = (client_upgrade.await, server_upgrade.await) else {
            tracing::debug!("stream upgrade did not complete");
            return;
        };
        let mut client = TokioIo::new(client);
        let mut server = TokioIo::new(server);
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    });
    let mut back = Response::builder().status(StatusCode::SWITCHING_PROTOCOLS);
    for (k, v) in resp.headers() {
        back = back.header(k, v);
    }
    Ok(back.body(Body::empty()).expect("valid response"))
}
