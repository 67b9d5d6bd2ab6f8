//! The server side of RFC 6455 WebSocket, as much as the Kubernetes streaming protocols
//! need: the handshake key, reading (masked, possibly fragmented) client frames, and writing
//! unmasked server frames.

use base64::Engine;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The GUID of the handshake.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Opcodes.
pub mod op {
    /// Continuation.
    pub const CONTINUATION: u8 = 0x0;
    /// Text message.
    pub const TEXT: u8 = 0x1;
    /// Binary message.
    pub const BINARY: u8 = 0x2;
    /// Close.
    pub const CLOSE: u8 = 0x8;
    /// Ping.
    pub const PING: u8 = 0x9;
    /// Pong.
    pub const PONG: u8 = 0xA;
}

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key.
pub fn accept_key(key: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, format!("{}{GUID}", key.trim()).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// A whole message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Binary or text data.
    Data(Vec<u8>),
    /// A ping to answer.
    Ping(Vec<u8>),
    /// A pong.
    Pong,
    /// The client closed.
    Close,
}

/// One encoded server frame (never masked, never fragmented).
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= u16::MAX as usize => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A close frame with status 1000.
pub fn close_frame() -> Vec<u8> {
    frame(op::CLOSE, &1000u16.to_be_bytes())
}

/// Largest message accepted from a client.
const MAX_MESSAGE: usize = 16 << 20;

async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<(bool, u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    r.read_exact(&mut head).await?;
    let fin = head[0] & 0x80 != 0;
    let opcode = head[0] & 0x0f;
    let masked = head[1] & 0x80 != 0;
    let len = match head[1] & 0x7f {
        126 => r.read_u16().await? as usize,
        127 => r.read_u64().await? as usize,
        n => n as usize,
    };
    if len > MAX_MESSAGE {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "websocket frame too large"));
    }
    let mut mask = [0u8; 4];
    if masked {
        r.read_exact(&mut mask).await?;
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Ok((fin, opcode, payload))
}

/// Reads the next whole message, joining fragments in `data` (kept across calls, since
/// control frames may arrive between fragments and are returned at once).
pub async fn read_message<R: AsyncRead + Unpin>(r: &mut R, data: &mut Vec<u8>) -> std::io::Result<Message> {
    loop {
        let (fin, opcode, payload) = read_frame(r).await?;
        match opcode {
            op::CLOSE => return Ok(Message::Close),
            op::PING => return Ok(Message::Ping(payload)),
            op::PONG => return Ok(Message::Pong),
            op::TEXT | op::BINARY | op::CONTINUATION => {
                data.extend_from_slice(&payload);
                if data.len() > MAX_MESSAGE {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "websocket message too large"));
                }
                if fin {
                    return Ok(Message::Data(std::mem::take(data)));
                }
            }
            _ => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "unknown websocket opcode")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example_key() {
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    fn masked(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode, 0x80 | payload.len() as u8];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    #[tokio::test]
    async fn reads_fragmented_and_control_frames() {
        let mut bytes = masked(false, op::BINARY, b"\x00he");
        bytes.extend(masked(true, op::PING, b"p"));
        bytes.extend(masked(true, op::CONTINUATION, b"llo"));
        bytes.extend(masked(true, op::CLOSE, b""));
        let mut r = &bytes[..];
        let mut partial = vec![];
        assert_eq!(read_message(&mut r, &mut partial).await.unwrap(), Message::Ping(b"p".to_vec()));
        assert_eq!(read_message(&mut r, &mut partial).await.unwrap(), Message::Data(b"\x00hello".to_vec()));
        assert_eq!(read_message(&mut r, &mut partial).await.unwrap(), Message::Close);
        assert_eq!(frame(op::BINARY, b"ab"), vec![0x82, 2, b'a', b'b']);
        assert_eq!(frame(op::BINARY, &[0u8; 200])[1], 126);
    }
}
