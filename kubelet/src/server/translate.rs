//! WebSocket exec/attach (the channel protocols `v5.channel.k8s.io` and
//! `v4.channel.k8s.io`, what kubectl >= 1.30 speaks) translated to SPDY (`v4.channel.k8s.io`,
//! what the runtime's streaming server speaks), as upstream's stream translator does. A
//! WebSocket message is one channel byte (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize,
//! 255 close-signal in v5) and the data; each channel maps to one SPDY stream.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::Mutex;

use super::spdy::{self, Frame};
use super::stream::StreamError;
use super::websocket::{self, Message};

/// WebSocket subprotocols this translator serves, best first.
pub const PROTOCOLS: &[&str] = &["v5.channel.k8s.io", "v4.channel.k8s.io"];

/// Which streams the session has.
#[derive(Debug, Clone, Copy)]
pub struct Streams {
    /// stdin requested.
    pub stdin: bool,
    /// stdout requested.
    pub stdout: bool,
    /// stderr requested (never with a TTY).
    pub stderr: bool,
    /// A TTY (adds the resize stream).
    pub tty: bool,
}

/// The subprotocol to answer with, if the request is a WebSocket upgrade we can translate.
pub fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    let is_ws = headers.get(header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_ws {
        return None;
    }
    let offered: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_string()))
        .collect();
    PROTOCOLS.iter().copied().find(|p| offered.iter().any(|o| o == p))
}

const ERROR: u8 = 3;
const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;

/// Channel → SPDY stream id, in the order client-go opens them.
fn stream_ids(s: Streams) -> Vec<(u8, u32, &'static str)> {
    let mut out = vec![(ERROR, 1, "error")];
    let mut next = 3;
    for (on, ch, name) in [(s.stdin, STDIN, "stdin"), (s.stdout, STDOUT, "stdout"), (s.stderr && !s.tty, STDERR, "stderr"), (s.tty, RESIZE, "resize")] {
        if on {
            out.push((ch, next, name));
            next += 2;
        }
    }
    out
}

/// Opens a SPDY/3.1 connection to the streaming server at `target`, asking for `protocol`
/// (`v4.channel.k8s.io` for exec/attach, `portforward.k8s.io` for port-forwarding).
pub(super) async fn spdy_connect(target: &str, protocol: &str) -> Result<hyper::upgrade::Upgraded, StreamError> {
    let uri: Uri = target.parse().map_err(|_| StreamError::BadUrl(target.into()))?;
    let host = uri.host().ok_or_else(|| StreamError::BadUrl(target.into()))?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let req = hyper::Request::builder()
        .method("POST")
        .uri(path)
        .header(header::HOST, format!("{host}:{port}"))
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "SPDY/3.1")
        .header("X-Stream-Protocol-Version", protocol)
        .body(Body::empty())
        .expect("valid request");
    let mut resp = sender.send_request(req).await?;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(StreamError::Io(std::io::Error::other(format!("streaming server answered {}", resp.status()))));
    }
    Ok(hyper::upgrade::on(&mut resp).await?)
}

pub(super) type Writer<T> = Arc<Mutex<WriteHalf<TokioIo<T>>>>;

/// Writes `bytes` and flushes, holding the writer's lock.
pub(super) async fn send<W: AsyncWrite + Unpin>(w: &Mutex<W>, bytes: &[u8]) -> std::io::Result<()> {
    let mut g = w.lock().await;
    g.write_all(bytes).await?;
    g.flush().await
}

/// Answers the WebSocket upgrade and bridges it to the SPDY streaming server at `target`.
pub async fn bridge(mut req: Request, target: &str, protocol: &'static str, streams: Streams) -> Result<Response<Body>, StreamError> {
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let server = spdy_connect(target, "v4.channel.k8s.io").await?;
    let client_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match client_upgrade.await {
            Ok(client) => relay(client, server, protocol, streams).await,
            Err(e) => tracing::debug!(error = %e, "websocket upgrade did not complete"),
        }
    });
    Ok(switching_protocols(&key, Some(protocol)))
}

/// The `101 Switching Protocols` answer to a WebSocket upgrade with `key`.
pub(super) fn switching_protocols(key: &str, protocol: Option<&str>) -> Response<Body> {
    let mut resp = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, HeaderValue::from_str(&websocket::accept_key(key)).expect("base64"));
    if let Some(p) = protocol {
        resp = resp.header(header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    resp.body(Body::empty()).expect("valid response")
}

async fn relay(client: hyper::upgrade::Upgraded, server: hyper::upgrade::Upgraded, protocol: &'static str, streams: Streams) {
    let (mut crd, cwr) = tokio::io::split(TokioIo::new(client));
    let (srd, swr) = tokio::io::split(TokioIo::new(server));
    let cwr: Writer<hyper::upgrade::Upgraded> = Arc::new(Mutex::new(cwr));
    let swr: Writer<hyper::upgrade::Upgraded> = Arc::new(Mutex::new(swr));
    let ids = stream_ids(streams);
    for (i, (_, id, name)) in ids.iter().enumerate() {
        if send(&swr, &spdy::syn_stream(*id, &[("streamType", name)], i == 0)).await.is_err() {
            return;
        }
    }
    let to_stream: HashMap<u8, u32> = ids.iter().map(|(ch, id, _)| (*ch, *id)).collect();
    let to_channel: HashMap<u32, u8> = ids.iter().map(|(ch, id, _)| (*id, *ch)).collect();
    let upstream = {
        let (cwr, swr) = (cwr.clone(), swr.clone());
        tokio::spawn(async move { client_to_server(&mut crd, &cwr, &swr, &to_stream, protocol).await })
    };
    server_to_client(srd, &cwr, &swr, &to_channel).await;
    upstream.abort();
    let _ = send(&cwr, &websocket::close_frame()).await;
    let _ = cwr.lock().await.shutdown().await;
    let _ = send(&swr, &spdy::goaway(0)).await;
}

async fn client_to_server(
    crd: &mut ReadHalf<TokioIo<hyper::upgrade::Upgraded>>,
    cwr: &Writer<hyper::upgrade::Upgraded>,
    swr: &Writer<hyper::upgrade::Upgraded>,
    to_stream: &HashMap<u8, u32>,
    protocol: &str,
) {
    let mut partial = vec![];
    loop {
        let msg = match websocket::read_message(crd, &mut partial).await {
            Ok(m) => m,
            Err(_) => return,
        };
        let out = match msg {
            Message::Close => return,
            Message::Pong => continue,
            Message::Ping(p) => {
                let _ = send(cwr, &websocket::frame(websocket::op::PONG, &p)).await;
                continue;
            }
            Message::Data(d) if d.is_empty() => continue,
            Message::Data(d) if d[0] == CLOSE && protocol.starts_with("v5") => match d.get(1).and_then(|ch| to_stream.get(ch)) {
                Some(id) => spdy::data(*id, true, &[]),
                None => continue,
            },
            Message::Data(d) => match to_stream.get(&d[0]) {
                Some(id) if d[0] == STDIN || d[0] == RESIZE => spdy::data(*id, false, &d[1..]),
                _ => continue,
            },
        };
        if send(swr, &out).await.is_err() {
            return;
        }
    }
}

async fn server_to_client(
    mut srd: ReadHalf<TokioIo<hyper::upgrade::Upgraded>>,
    cwr: &Writer<hyper::upgrade::Upgraded>,
    swr: &Writer<hyper::upgrade::Upgraded>,
    to_channel: &HashMap<u32, u8>,
) {
    let mut open: Vec<u32> = to_channel.iter().filter(|(_, ch)| matches!(**ch, ERROR | STDOUT | STDERR)).map(|(id, _)| *id).collect();
    let mut error_done = false;
    while !open.is_empty() {
        let read = if error_done {
            // The status is in: give trailing output a moment, then finish.
            match tokio::time::timeout(Duration::from_secs(1), spdy::read_frame(&mut srd)).await {
                Ok(r) => r,
                Err(_) => return,
            }
        } else {
            spdy::read_frame(&mut srd).await
        };
        let Ok(frame) = read else { return };
        match frame {
            Frame::Data { stream, fin, data } => {
                if let Some(ch) = to_channel.get(&stream).filter(|_| !data.is_empty()) {
                    let mut msg = vec![*ch];
                    msg.extend_from_slice(&data);
                    if send(cwr, &websocket::frame(websocket::op::BINARY, &msg)).await.is_err() {
                        return;
                    }
                }
                if fin {
                    open.retain(|s| *s != stream);
                    error_done |= to_channel.get(&stream) == Some(&ERROR);
                }
            }
            Frame::SynReply { stream, fin: true } | Frame::Reset { stream } => {
                open.retain(|s| *s != stream);
                error_done |= to_channel.get(&stream) == Some(&ERROR);
            }
            Frame::Ping(id) => {
                let _ = send(swr, &spdy::ping(id)).await;
            }
            Frame::GoAway => return,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_and_stream_order() {
        let mut h = HeaderMap::new();
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("v5.channel.k8s.io"));
        assert_eq!(negotiate(&h), Some("v5.channel.k8s.io"));
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("channel.k8s.io, v4.channel.k8s.io"));
        assert_eq!(negotiate(&h), Some("v4.channel.k8s.io"));
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("SPDY/3.1+portforward.k8s.io"));
        assert_eq!(negotiate(&h), None);
        let ids = stream_ids(Streams { stdin: true, stdout: true, stderr: true, tty: true });
        assert_eq!(ids, vec![(ERROR, 1, "error"), (STDIN, 3, "stdin"), (STDOUT, 5, "stdout"), (RESIZE, 7, "resize")]);
        let ids = stream_ids(Streams { stdin: false, stdout: true, stderr: true, tty: false });
        assert_eq!(ids, vec![(ERROR, 1, "error"), (STDOUT, 3, "stdout"), (STDERR, 5, "stderr")]);
    }
}
