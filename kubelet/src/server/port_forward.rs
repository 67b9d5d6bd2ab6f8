//! WebSocket port-forwarding translated to the SPDY port-forward protocol
//! (`portforward.k8s.io`) that the runtime's streaming server speaks. Two WebSocket forms:
//!
//! - The channel protocol (`v4.channel.k8s.io`, what kube-rs and client-go's WebSocket
//!   port-forwarder speak; ports come from the `port` query parameters). Port i has a data
//!   channel 2i and an error channel 2i+1; each channel's first server message is the port as
//!   two little-endian bytes. Towards the runtime, port i gets an error stream and a data
//!   stream with headers `streamType`, `port` and `requestID`, as client-go's SPDY dialer
//!   opens them. The session ends when every port's data stream is done.
//! - The SPDY tunnel (`SPDY/3.1+portforward.k8s.io`, kubectl >= 1.31): SPDY frames carried
//!   in binary WebSocket messages, relayed to the runtime's SPDY connection as they are.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf};
use tokio::sync::Mutex;

use super::spdy::{self, Frame};
use super::stream::StreamError;
use super::translate::{send, spdy_connect, switching_protocols, Writer};
use super::websocket::{self, Message};

/// The SPDY protocol of port-forwarding.
const SPDY_PROTOCOL: &str = "portforward.k8s.io";
/// The tunnel's WebSocket subprotocol: SPDY inside WebSocket.
pub const TUNNEL_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";
/// Binary channel subprotocols served, best first.
pub const CHANNEL_PROTOCOLS: &[&str] = &["v4.channel.k8s.io", "portforward.k8s.io"];

/// How a WebSocket port-forward request is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Binary channels; the subprotocol to answer with (None when the client offered none).
    Channels(Option<&'static str>),
    /// SPDY tunnelled through WebSocket messages.
    Tunnel,
}

/// How to serve the request, if it is a WebSocket upgrade we can serve.
pub fn negotiate(headers: &HeaderMap) -> Option<Mode> {
    let is_ws = headers.get(header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_ws {
        return None;
    }
    let offered: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_string()))
        .filter(|p| !p.is_empty())
        .collect();
    if offered.is_empty() {
        return Some(Mode::Channels(None));
    }
    if offered.iter().any(|o| o == TUNNEL_PROTOCOL) {
        return Some(Mode::Tunnel);
    }
    CHANNEL_PROTOCOLS.iter().copied().find(|p| offered.iter().any(|o| o == p)).map(|p| Mode::Channels(Some(p)))
}

/// SPDY stream ids of port number `index`: (error, data), client-initiated (odd).
fn stream_ids(index: usize) -> (u32, u32) {
    let base = 4 * index as u32;
    (base + 1, base + 3)
}

/// The first message of each channel of port `index`: the channel byte and the port (LE).
fn port_prefix(index: usize, port: u16) -> [Vec<u8>; 2] {
    let [lo, hi] = port.to_le_bytes();
    [vec![2 * index as u8, lo, hi], vec![2 * index as u8 + 1, lo, hi]]
}

/// SPDY frames opening the streams of every port, as client-go's port-forwarder does: the
/// error stream (closed at once on our side) then the data stream, with one requestID each.
fn open_frames(ports: &[u16]) -> Vec<u8> {
    let mut out = vec![];
    for (i, port) in ports.iter().enumerate() {
        let (error, data) = stream_ids(i);
        let (port, request) = (port.to_string(), i.to_string());
        out.extend(spdy::syn_stream(error, &[("streamType", "error"), ("port", &port), ("requestID", &request)], i == 0));
        out.extend(spdy::data(error, true, &[]));
        out.extend(spdy::syn_stream(data, &[("streamType", "data"), ("port", &port), ("requestID", &request)], false));
    }
    out
}

/// Answers the WebSocket upgrade and bridges it to the SPDY streaming server at `target`.
pub async fn bridge(mut req: Request, target: &str, mode: Mode, ports: Vec<u16>) -> Result<Response<Body>, StreamError> {
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let server = spdy_connect(target, SPDY_PROTOCOL).await?;
    let client_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match client_upgrade.await {
            Ok(client) => match mode {
                Mode::Channels(_) => relay_channels(client, server, ports).await,
                Mode::Tunnel => relay_tunnel(client, server).await,
            },
            Err(e) => tracing::debug!(error = %e, "websocket upgrade did not complete"),
        }
    });
    let protocol = match mode {
        Mode::Channels(p) => p,
        Mode::Tunnel => Some(TUNNEL_PROTOCOL),
    };
    Ok(switching_protocols(&key, protocol))
}

type Upgraded = hyper::upgrade::Upgraded;

fn halves(conn: Upgraded) -> (ReadHalf<TokioIo<Upgraded>>, Writer<Upgraded>) {
    let (r, w) = tokio::io::split(TokioIo::new(conn));
    (r, Arc::new(Mutex::new(w)))
}

async fn finish(cwr: &Writer<Upgraded>, swr: &Writer<Upgraded>) {
    let _ = send(cwr, &websocket::close_frame()).await;
    let _ = cwr.lock().await.shutdown().await;
    let _ = send(swr, &spdy::goaway(0)).await;
    let _ = swr.lock().await.shutdown().await;
}

async fn relay_channels(client: Upgraded, server: Upgraded, ports: Vec<u16>) {
    let (mut crd, cwr) = halves(client);
    let (mut srd, swr) = halves(server);
    if send(&swr, &open_frames(&ports)).await.is_err() {
        return;
    }
    for (i, port) in ports.iter().enumerate() {
        for msg in port_prefix(i, *port) {
            if send(&cwr, &websocket::frame(websocket::op::BINARY, &msg)).await.is_err() {
                return;
            }
        }
    }
    // Stream id → channel, and the data streams still open.
    let mut channels: HashMap<u32, u8> = HashMap::new();
    for i in 0..ports.len() {
        let (error, data) = stream_ids(i);
        channels.insert(error, 2 * i as u8 + 1);
        channels.insert(data, 2 * i as u8);
    }
    let data_streams: Vec<u32> = (0..ports.len()).map(|i| stream_ids(i).1).collect();
    let mut upstream = {
        let (cwr, swr, data_streams) = (cwr.clone(), swr.clone(), data_streams.clone());
        tokio::spawn(async move { client_to_server(&mut crd, &cwr, &swr, &data_streams).await })
    };
    let downstream = server_to_client(&mut srd, &cwr, &swr, &channels);
    tokio::pin!(downstream);
    tokio::select! {
        _ = &mut downstream => {}
        _ = &mut upstream => {
            // The client is done sending: what the pod still answers gets a moment to arrive.
            let _ = tokio::time::timeout(Duration::from_secs(2), &mut downstream).await;
        }
    }
    upstream.abort();
    finish(&cwr, &swr).await;
}

/// Client messages on data channels go to the data streams; the end of the client's side
/// half-closes every data stream.
async fn client_to_server(crd: &mut ReadHalf<TokioIo<Upgraded>>, cwr: &Writer<Upgraded>, swr: &Writer<Upgraded>, data_streams: &[u32]) {
    let mut partial = vec![];
    loop {
        let msg = match websocket::read_message(crd, &mut partial).await {
            Ok(m) => m,
            Err(_) => break,
        };
        let out = match msg {
            Message::Close => break,
            Message::Pong => continue,
            Message::Ping(p) => {
                let _ = send(cwr, &websocket::frame(websocket::op::PONG, &p)).await;
                continue;
            }
            Message::Data(d) if d.len() < 2 || d[0] % 2 == 1 => continue,
            Message::Data(d) => match data_streams.get(usize::from(d[0] / 2)) {
                Some(id) => spdy::data(*id, false, &d[1..]),
                None => continue,
            },
        };
        if send(swr, &out).await.is_err() {
            return;
        }
    }
    let fins: Vec<u8> = data_streams.iter().flat_map(|id| spdy::data(*id, true, &[])).collect();
    let _ = send(swr, &fins).await;
}

/// Runtime data to the client's channels, until the runtime has closed every stream. The
/// runtime closes a port's data stream before it writes the port's error, so once all data
/// streams are done, the error streams get a moment more.
async fn server_to_client(srd: &mut ReadHalf<TokioIo<Upgraded>>, cwr: &Writer<Upgraded>, swr: &Writer<Upgraded>, channels: &HashMap<u32, u8>) {
    let mut open: Vec<u32> = channels.keys().copied().collect();
    while !open.is_empty() {
        let only_errors = open.iter().all(|s| channels.get(s).is_some_and(|ch| ch % 2 == 1));
        let read = if only_errors {
            match tokio::time::timeout(Duration::from_secs(2), spdy::read_frame(srd)).await {
                Ok(r) => r,
                Err(_) => return,
            }
        } else {
            spdy::read_frame(srd).await
        };
        let Ok(frame) = read else { return };
        tracing::trace!(?frame, "port-forward frame from the runtime");
        match frame {
            Frame::Data { stream, fin, data } => {
                if let Some(ch) = channels.get(&stream).filter(|_| !data.is_empty()) {
                    let mut msg = Vec::with_capacity(data.len() + 1);
                    msg.push(*ch);
                    msg.extend_from_slice(&data);
                    if send(cwr, &websocket::frame(websocket::op::BINARY, &msg)).await.is_err() {
                        return;
                    }
                }
                if fin {
                    open.retain(|s| *s != stream);
                }
            }
            Frame::SynReply { stream, fin: true } | Frame::Reset { stream } => open.retain(|s| *s != stream),
            Frame::Ping(id) => {
                let _ = send(swr, &spdy::ping(id)).await;
            }
            Frame::GoAway => return,
            _ => {}
        }
    }
}

/// The tunnel: WebSocket message payloads are the client's SPDY bytes, and the runtime's
/// bytes go back as binary messages.
async fn relay_tunnel(client: Upgraded, server: Upgraded) {
    let (mut crd, cwr) = halves(client);
    let (mut srd, swr) = halves(server);
    let mut upstream = {
        let (cwr, swr) = (cwr.clone(), swr.clone());
        tokio::spawn(async move {
            let mut partial = vec![];
            loop {
                match websocket::read_message(&mut crd, &mut partial).await {
                    Ok(Message::Data(d)) => {
                        if send(&swr, &d).await.is_err() {
                            return;
                        }
                    }
                    Ok(Message::Ping(p)) => {
                        let _ = send(&cwr, &websocket::frame(websocket::op::PONG, &p)).await;
                    }
                    Ok(Message::Pong) => {}
                    Ok(Message::Close) | Err(_) => return,
                }
            }
        })
    };
    let downstream = async {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match srd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if send(&cwr, &websocket::frame(websocket::op::BINARY, &buf[..n])).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        _ = downstream => {}
        _ = &mut upstream => {}
    }
    upstream.abort();
    let _ = send(&cwr, &websocket::close_frame()).await;
    let _ = cwr.lock().await.shutdown().await;
    let _ = swr.lock().await.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ws(protocols: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Some(p) = protocols {
            h.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(p));
        }
        h
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(&ws(Some("v5.channel.k8s.io, v4.channel.k8s.io"))), Some(Mode::Channels(Some("v4.channel.k8s.io"))));
        assert_eq!(negotiate(&ws(Some("portforward.k8s.io"))), Some(Mode::Channels(Some("portforward.k8s.io"))));
        assert_eq!(negotiate(&ws(Some("SPDY/3.1+portforward.k8s.io"))), Some(Mode::Tunnel));
        assert_eq!(negotiate(&ws(None)), Some(Mode::Channels(None)));
        assert_eq!(negotiate(&ws(Some("v5.channel.k8s.io"))), None);
        let mut spdy = HeaderMap::new();
        spdy.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
        assert_eq!(negotiate(&spdy), None);
    }

    #[test]
    fn port_prefixes_and_streams() {
        assert_eq!(port_prefix(0, 8080), [vec![0, 0x90, 0x1f], vec![1, 0x90, 0x1f]]);
        assert_eq!(port_prefix(1, 80), [vec![2, 80, 0], vec![3, 80, 0]]);
        assert_eq!((stream_ids(0), stream_ids(1)), ((1, 3), (5, 7)));
    }

    #[tokio::test]
    async fn open_frames_follow_client_go() {
        let bytes = open_frames(&[8080]);
        let mut r = &bytes[..];
        let mut kinds = vec![];
        let mut syn_heads = vec![];
        while !r.is_empty() {
            // SYN_STREAM is a control frame the reader reduces to Other; look at its stream id.
            let head: [u8; 12] = r[..12].try_into().unwrap();
            if head[0] & 0x80 != 0 {
                syn_heads.push(u32::from_be_bytes([head[8], head[9], head[10], head[11]]));
            }
            kinds.push(spdy::read_frame(&mut r).await.unwrap());
        }
        assert_eq!(syn_heads, vec![1, 3]);
        assert_eq!(kinds[1], Frame::Data { stream: 1, fin: true, data: vec![] });
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("streamtype") && text.contains("error") && text.contains("requestid") && text.contains("8080"), "{text}");
    }
}
