//! A minimal SPDY/3.1 client framer, enough to drive a Kubernetes streaming server (exec,
//! attach): open streams with SYN_STREAM, send and receive DATA, answer PING. Header blocks
//! we send are zlib streams of stored (uncompressed) blocks, which any zlib reader accepts;
//! header blocks we receive (SYN_REPLY) are skipped, as the protocol needs nothing from them.

use tokio::io::{AsyncRead, AsyncReadExt};

const VERSION: u16 = 3;
/// SYN_STREAM.
const SYN_STREAM: u16 = 1;
/// SYN_REPLY.
const SYN_REPLY: u16 = 2;
/// RST_STREAM.
const RST_STREAM: u16 = 3;
/// PING.
const PING: u16 = 6;
/// GOAWAY.
const GOAWAY: u16 = 7;
/// FLAG_FIN.
pub const FLAG_FIN: u8 = 0x01;

/// A frame from the server, reduced to what matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Data for a stream.
    Data {
        /// Stream id.
        stream: u32,
        /// Last frame of the stream from the server.
        fin: bool,
        /// Payload.
        data: Vec<u8>,
    },
    /// The server accepted a stream.
    SynReply {
        /// Stream id.
        stream: u32,
        /// Whether the server also closed its side.
        fin: bool,
    },
    /// The server reset a stream.
    Reset {
        /// Stream id.
        stream: u32,
    },
    /// A ping to echo.
    Ping(u32),
    /// The server is going away.
    GoAway,
    /// Anything else (SETTINGS, WINDOW_UPDATE, HEADERS...).
    Other,
}

/// Reads one frame.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Frame> {
    let mut head = [0u8; 8];
    r.read_exact(&mut head).await?;
    let flags = head[4];
    let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    let first = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if head[0] & 0x80 == 0 {
        return Ok(Frame::Data { stream: first & 0x7fff_ffff, fin: flags & FLAG_FIN != 0, data: body });
    }
    let kind = u16::from_be_bytes([head[2], head[3]]);
    let word = |i: usize| body.get(i..i + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).unwrap_or(0);
    Ok(match kind {
        SYN_REPLY => Frame::SynReply { stream: word(0) & 0x7fff_ffff, fin: flags & FLAG_FIN != 0 },
        RST_STREAM => Frame::Reset { stream: word(0) & 0x7fff_ffff },
        PING => Frame::Ping(word(0)),
        GOAWAY => Frame::GoAway,
        _ => Frame::Other,
    })
}

fn control(kind: u16, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// The uncompressed SPDY/3 name/value block.
pub fn header_block(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = (headers.len() as u32).to_be_bytes().to_vec();
    for (k, v) in headers {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.to_ascii_lowercase().as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// `data` as zlib stored blocks plus a sync flush (with the zlib header when `first`).
pub fn zlib_stored(data: &[u8], first: bool) -> Vec<u8> {
    let mut out = vec![];
    if first {
        out.extend_from_slice(&[0x78, 0x01]);
    }
    for chunk in data.chunks(u16::MAX as usize) {
        let n = chunk.len() as u16;
        out.push(0x00);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    // A sync flush (empty stored block): readers hand out buffered data only at block ends.
    out.extend_from_slice(&[0x00, 0x00, 0x00, 0xff, 0xff]);
    out
}

/// SYN_STREAM opening `stream` with `headers`; `first` for the session's first header block.
pub fn syn_stream(stream: u32, headers: &[(&str, &str)], first: bool) -> Vec<u8> {
    let mut body = stream.to_be_bytes().to_vec();
    body.extend_from_slice(&0u32.to_be_bytes());
    body.extend_from_slice(&[0, 0]);
    body.extend(zlib_stored(&header_block(headers), first));
    control(SYN_STREAM, 0, &body)
}

/// A DATA frame.
pub fn data(stream: u32, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.push(if fin { FLAG_FIN } else { 0 });
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(payload);
    out
}

/// A PING reply.
pub fn ping(id: u32) -> Vec<u8> {
    control(PING, 0, &id.to_be_bytes())
}

/// GOAWAY.
pub fn goaway(last_stream: u32) -> Vec<u8> {
    let mut body = last_stream.to_be_bytes().to_vec();
    body.extend_from_slice(&0u32.to_be_bytes());
    control(GOAWAY, 0, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_encode() {
        let d = data(3, true, b"hi");
        assert_eq!(d, vec![0, 0, 0, 3, 1, 0, 0, 2, b'h', b'i']);
        let s = syn_stream(1, &[("streamType", "error")], true);
        assert_eq!(&s[..4], &[0x80, 0x03, 0x00, 0x01]);
        let block = header_block(&[("streamType", "error")]);
        assert_eq!(&block[8..18], b"streamtype");
        let z = zlib_stored(&block, true);
        assert_eq!(&z[..3], &[0x78, 0x01, 0x00]);
        assert_eq!(u16::from_le_bytes([z[3], z[4]]) as usize, block.len());
        assert_eq!(s.len(), 8 + 10 + z.len());
        assert_eq!(ping(7), vec![0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 7]);
    }

    #[tokio::test]
    async fn frames_decode() {
        let mut bytes = data(5, false, b"out");
        bytes.extend(control(SYN_REPLY, FLAG_FIN, &[0, 0, 0, 1, 0x78]));
        bytes.extend(ping(9));
        bytes.extend(goaway(0));
        let mut r = &bytes[..];
        assert_eq!(read_frame(&mut r).await.unwrap(), Frame::Data { stream: 5, fin: false, data: b"out".to_vec() });
        assert_eq!(read_frame(&mut r).await.unwrap(), Frame::SynReply { stream: 1, fin: true });
        assert_eq!(read_frame(&mut r).await.unwrap(), Frame::Ping(9));
        assert_eq!(read_frame(&mut r).await.unwrap(), Frame::GoAway);
    }
}
