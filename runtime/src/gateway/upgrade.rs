//! The WebSocket upgrade without hyper, for the common case.
//!
//! Almost every connection to the gateway is a client opening its WebSocket. Going through hyper for
//! that costs a request parse into a `HeaderMap`, a response encode, a separate write for the `101`,
//! and the hand-over of the socket through `hyper::upgrade` (a oneshot and a task wake-up): about
//! two thirds of the socket-open → hello-ok time. So the accept loop reads the request head itself;
//! when it is a well-formed GET upgrade to WebSocket version 13, the session starts on the raw
//! socket and the `101` goes out in the same write as the `connect.challenge` frame. Anything else
//! (plain HTTP, a malformed or unusual upgrade, a head split over many packets that does not fit
//! the buffer) goes to hyper together with the bytes already read, so behaviour there is unchanged.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::{Buf, Bytes, BytesMut};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::conn::Upgrade;

/// The largest request head read before handing the connection to hyper (which then applies its own
/// limits and answers with a proper error).
const MAX_HEAD: usize = 16 * 1024;
/// Headers parsed in the fast path; a request with more goes to hyper.
const MAX_HEADERS: usize = 48;

/// A TCP stream with bytes already read from it in front.
#[derive(Debug)]
pub struct Rewind {
    pending: Bytes,
    stream: TcpStream,
}

impl Rewind {
    pub fn new(stream: TcpStream, pending: Bytes) -> Rewind {
        Rewind { pending, stream }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.pending.is_empty() {
            let n = self.pending.len().min(buf.remaining());
            buf.put_slice(&self.pending[..n]);
            self.pending.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The socket a WebSocket session runs on: upgraded here, or handed over by hyper.
#[derive(Debug)]
pub enum Io {
    Raw(Rewind),
    Hyper(TokioIo<Upgraded>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Raw(s) => Pin::new(s).poll_read(cx, buf),
            Io::Hyper(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Raw(s) => Pin::new(s).poll_write(cx, buf),
            Io::Hyper(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Raw(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Hyper(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            Io::Raw(s) => s.is_write_vectored(),
            Io::Hyper(s) => s.is_write_vectored(),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Raw(s) => Pin::new(s).poll_flush(cx),
            Io::Hyper(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Raw(s) => Pin::new(s).poll_shutdown(cx),
            Io::Hyper(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// What the first bytes of a connection turned out to be.
#[derive(Debug)]
pub enum Head {
    /// A WebSocket upgrade this module answers itself.
    WebSocket {
        up: Upgrade,
        /// The `Sec-WebSocket-Accept` value.
        accept: String,
        /// Bytes the client sent after the head (frames it did not wait to send).
        rest: Bytes,
    },
    /// Something for hyper, with everything read so far.
    Http(Bytes),
    /// The peer closed (or failed) before sending anything.
    Gone,
}

/// Reads the request head and classifies it. The caller bounds the wait.
pub async fn read_head(stream: &mut TcpStream, peer: SocketAddr) -> Head {
    let mut buf = BytesMut::with_capacity(2048);
    loop {
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) if buf.is_empty() => return Head::Gone,
            // EOF or an error mid-head: hyper reports it like any truncated request.
            Ok(0) | Err(_) => return Head::Http(buf.freeze()),
            Ok(_) => {}
        }
        match classify(&buf, peer) {
            Parsed::Partial if buf.len() < MAX_HEAD => continue,
            Parsed::Partial | Parsed::Http => return Head::Http(buf.freeze()),
            Parsed::WebSocket { up, accept, len } => {
                let rest = buf.split_off(len).freeze();
                return Head::WebSocket { up, accept, rest };
            }
        }
    }
}

enum Parsed {
    Partial,
    Http,
    WebSocket {
        up: Upgrade,
        accept: String,
        len: usize,
    },
}

fn classify(buf: &[u8], peer: SocketAddr) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Http,
    };
    if req.method != Some("GET") || req.version != Some(1) {
        return Parsed::Http;
    }
    let (mut upgrade, mut connection, mut version_13) = (false, false, false);
    let (mut key, mut origin, mut host) = (None, None, None);
    for h in req.headers.iter() {
        let name = h.name;
        let text = || std::str::from_utf8(h.value).ok().map(str::trim);
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade |= has_token(h.value, "websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection |= has_token(h.value, "upgrade");
        } else if name.eq_ignore_ascii_case("sec-websocket-version") {
            version_13 = text() == Some("13");
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            if key.is_some() {
                return Parsed::Http;
            }
            key = text().filter(|k| !k.is_empty());
        } else if name.eq_ignore_ascii_case("origin") {
            origin = text().map(str::to_string);
        } else if name.eq_ignore_ascii_case("host") {
            host = text().map(str::to_string);
        } else if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            // A body on an upgrade request is unusual: let hyper deal with it.
            return Parsed::Http;
        }
    }
    match key {
        Some(key) if upgrade && connection && version_13 => Parsed::WebSocket {
            up: Upgrade { peer, origin, host },
            accept: accept_key(key.as_bytes()),
            len,
        },
        _ => Parsed::Http,
    }
}

/// Whether a comma-separated header value lists `token` (case-insensitive).
fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&c| c == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

/// The `101 Switching Protocols` response head.
pub fn switching_protocols(accept: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-accept: {accept}\r\n\r\n"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 40000))
    }

    const GOOD: &str = "GET / HTTP/1.1\r\nHost: 127.0.0.1:18789\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://localhost\r\n\r\n";

    #[test]
    fn accept_key_matches_rfc_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn well_formed_upgrade_is_taken() {
        let mut bytes = GOOD.as_bytes().to_vec();
        bytes.extend_from_slice(b"\x81\x05hello");
        match classify(&bytes, peer()) {
            Parsed::WebSocket { up, accept, len } => {
                assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
                assert_eq!(len, GOOD.len());
                assert_eq!(up.origin.as_deref(), Some("http://localhost"));
                assert_eq!(up.host.as_deref(), Some("127.0.0.1:18789"));
            }
            _ => panic!("expected the fast path"),
        }
    }

    #[test]
    fn partial_head_waits_for_more() {
        assert!(matches!(
            classify(&GOOD.as_bytes()[..40], peer()),
            Parsed::Partial
        ));
    }

    #[test]
    fn everything_unusual_goes_to_hyper() {
        let cases = [
            GOOD.replace("GET", "POST"),
            GOOD.replace("HTTP/1.1", "HTTP/1.0"),
            GOOD.replace("Version: 13", "Version: 8"),
            GOOD.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
            GOOD.replace("Upgrade: websocket", "Upgrade: h2c"),
            GOOD.replace("keep-alive, Upgrade", "keep-alive"),
            GOOD.replace("Origin", "Content-Length: 0\r\nOrigin"),
            GOOD.replace(
                "Origin",
                "Sec-WebSocket-Key: c2Vjb25kIGtleSBoZXJlIQ==\r\nOrigin",
            ),
            "GET /health HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
            "\x16\x03\x01 not http at all\r\n\r\n".to_string(),
        ];
        for c in cases {
            assert!(
                matches!(classify(c.as_bytes(), peer()), Parsed::Http),
                "{c:?}"
            );
        }
    }

    #[test]
    fn tokens_are_matched_whole_and_case_insensitively() {
        assert!(has_token(b"keep-alive, UPGRADE", "upgrade"));
        assert!(has_token(b"websocket", "websocket"));
        assert!(!has_token(b"upgrade-insecure", "upgrade"));
        assert!(!has_token(b"", "upgrade"));
    }
}
