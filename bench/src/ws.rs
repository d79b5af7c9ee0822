//! A minimal, allocation-light WebSocket client for benchmarking: just enough RFC 6455 to talk to
//! the gateway (HTTP/1.1 upgrade, masked text frames out, unmasked frames in), with full control
//! over batching, so many requests go out in one `write` and a whole read buffer of replies is
//! parsed at once. The client never becomes the bottleneck through framework overhead.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// WebSocket opcodes the client cares about.
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// One complete frame found in the read buffer: where its payload is.
#[derive(Debug, Clone, Copy)]
pub struct FrameRef {
    pub opcode: u8,
    pub fin: bool,
    pub start: usize,
    pub end: usize,
}

/// Parses one frame header at the start of `buf`. `Ok(None)`: need more bytes.
/// Returns the frame (payload offsets relative to `buf`) and its total length.
pub fn parse_frame(buf: &[u8]) -> io::Result<Option<(FrameRef, usize)>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let fin = buf[0] & 0x80 != 0;
    let opcode = buf[0] & 0x0F;
    let masked = buf[1] & 0x80 != 0;
    let len7 = (buf[1] & 0x7F) as usize;
    let (len, mut off) = match len7 {
        126 => {
            if buf.len() < 4 {
                return Ok(None);
            }
            (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4)
        }
        127 => {
            if buf.len() < 10 {
                return Ok(None);
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            let n = u64::from_be_bytes(b);
            let n = usize::try_from(n)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame too large"))?;
            (n, 10)
        }
        n => (n, 2),
    };
    if masked {
        // Servers must not mask; tolerate it anyway by rejecting (we never expect it).
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "server sent a masked frame",
        ));
    }
    let total = off + len;
    if buf.len() < total {
        return Ok(None);
    }
    let start = off;
    off += len;
    Ok(Some((
        FrameRef {
            opcode,
            fin,
            start,
            end: off,
        },
        total,
    )))
}

/// Appends a masked client frame carrying `payload` to `out`.
pub fn push_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode);
    let n = payload.len();
    if n < 126 {
        out.push(0x80 | n as u8);
    } else if let Ok(n16) = u16::try_from(n) {
        out.push(0x80 | 126);
        out.extend_from_slice(&n16.to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
}

/// Appends the request frame `{"type":"req","id":"<id>","method":"<method>"}` to `out`.
/// The scratch buffer avoids an allocation per request.
pub fn push_request(out: &mut Vec<u8>, scratch: &mut Vec<u8>, id: u64, method: &str) {
    scratch.clear();
    scratch.extend_from_slice(br#"{"type":"req","id":""#);
    push_u64(scratch, id);
    scratch.extend_from_slice(br#"","method":""#);
    scratch.extend_from_slice(method.as_bytes());
    scratch.extend_from_slice(br#""}"#);
    // The mask only has to be unpredictable to intermediaries; a cheap varying key is enough.
    let k = (id as u32).wrapping_mul(0x9E37_79B9) | 1;
    push_frame(out, OP_TEXT, scratch, k.to_le_bytes());
}

fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// What a server frame says, as far as the benchmark cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Msg<'a> {
    /// `res` with a numeric id: ok, or the error code.
    Res {
        id: u64,
        ok: bool,
        code: Option<String>,
    },
    /// `res` whose id is not numeric (e.g. the handshake's `c1`), with the raw payload.
    ResOther { id: String, raw: &'a [u8] },
    /// Any event (`tick`, `health`, `presence`, `connect.challenge`, …).
    Event { name: String },
    /// Something else (malformed, unknown type).
    Other,
}

const RES_PREFIX: &[u8] = br#"{"type":"res","id":""#;
const EVENT_PREFIX: &[u8] = br#"{"type":"event","event":""#;

/// Classifies a text payload. The common reply shape is matched by prefix without a JSON parse
/// (the payload after `"ok":true` is never looked at); anything unusual falls back to serde_json.
pub fn classify(p: &[u8]) -> Msg<'_> {
    if let Some(rest) = p.strip_prefix(RES_PREFIX) {
        let mut id: u64 = 0;
        let mut i = 0;
        while i < rest.len() && rest[i].is_ascii_digit() && i < 19 {
            id = id * 10 + u64::from(rest[i] - b'0');
            i += 1;
        }
        if i > 0 && rest.get(i) == Some(&b'"') {
            let after = &rest[i + 1..];
            if after.starts_with(br#","ok":true"#) {
                return Msg::Res {
                    id,
                    ok: true,
                    code: None,
                };
            }
        }
    } else if let Some(rest) = p.strip_prefix(EVENT_PREFIX) {
        let end = rest.iter().position(|&b| b == b'"').unwrap_or(rest.len());
        return Msg::Event {
            name: String::from_utf8_lossy(&rest[..end]).into_owned(),
        };
    }
    // Slow path: parse it.
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(p) else {
        return Msg::Other;
    };
    match v.get("type").and_then(|t| t.as_str()) {
        Some("res") => {
            let id = v.get("id").and_then(|i| i.as_str()).unwrap_or_default();
            let ok = v.get("ok").and_then(serde_json::Value::as_bool) == Some(true);
            match id.parse::<u64>() {
                Ok(n) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => Msg::Res {
                    id: n,
                    ok,
                    code: if ok {
                        None
                    } else {
                        Some(
                            v.pointer("/error/code")
                                .and_then(|c| c.as_str())
                                .unwrap_or("?")
                                .to_string(),
                        )
                    },
                },
                _ => Msg::ResOther {
                    id: id.to_string(),
                    raw: p,
                },
            }
        }
        Some("event") => Msg::Event {
            name: v
                .get("event")
                .and_then(|e| e.as_str())
                .unwrap_or_default()
                .to_string(),
        },
        _ => Msg::Other,
    }
}

/// An open WebSocket with its read and write buffers.
#[derive(Debug)]
pub struct Conn {
    pub stream: TcpStream,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    /// Bytes queued for writing (`wpos..` not yet written).
    pub wbuf: Vec<u8>,
    wpos: usize,
    pub scratch: Vec<u8>,
}

/// Where the time of one connect went (all from before the TCP connect).
#[derive(Debug, Clone, Copy)]
pub struct HandshakeTimes {
    pub tcp_ns: u64,
    pub upgrade_ns: u64,
    pub challenge_ns: u64,
    pub hello_ns: u64,
    /// Size of the `hello-ok` response frame's payload.
    pub hello_bytes: usize,
}

fn ns(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Buffer size during the handshake (`hello-ok` is about 2 KiB; the buffer grows if needed).
/// Kept small so the client's own allocation is not in the measured handshake: 256 KiB buffers
/// are mmap'd or zeroed per connect by the allocator.
const HANDSHAKE_BUF: usize = 16 * 1024;

/// Buffer size for request runs (one read takes many pipelined replies).
const LOAD_BUF: usize = 256 * 1024;

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            rbuf: vec![0u8; HANDSHAKE_BUF],
            rstart: 0,
            rend: 0,
            wbuf: Vec::with_capacity(HANDSHAKE_BUF),
            wpos: 0,
            scratch: Vec::with_capacity(128),
        }
    }

    /// Grows the buffers for a request run (done after the handshake, outside its timing).
    pub fn for_load(mut self) -> Conn {
        if self.rbuf.len() < LOAD_BUF {
            self.rbuf.resize(LOAD_BUF, 0);
        }
        self.wbuf.reserve(LOAD_BUF.saturating_sub(self.wbuf.len()));
        self
    }

    /// TCP connect, upgrade, wait for `connect.challenge`, send `connect`, wait for `hello-ok`.
    pub async fn open(addr: SocketAddr, token: &str) -> io::Result<(Conn, HandshakeTimes)> {
        let t0 = Instant::now();
        let stream = TcpStream::connect(addr).await?;
        Conn::handshake(stream, addr, token, t0).await
    }

    /// The handshake on a TCP connection opened at `t0` (upgrade, `connect.challenge`,
    /// `connect` → `hello-ok`); the times are measured from `t0`.
    pub async fn handshake(
        stream: TcpStream,
        addr: SocketAddr,
        token: &str,
        t0: Instant,
    ) -> io::Result<(Conn, HandshakeTimes)> {
        stream.set_nodelay(true)?;
        let tcp_ns = ns(t0);
        let mut c = Conn::new(stream);
        let req = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        c.stream.write_all(req.as_bytes()).await?;
        // Read the 101 response headers; whatever follows is frame data.
        loop {
            let n = c.read_more().await?;
            if n == 0 {
                return Err(bad("closed during upgrade"));
            }
            let head = &c.rbuf[c.rstart..c.rend];
            if let Some(pos) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                if !head.starts_with(b"HTTP/1.1 101") {
                    let line = String::from_utf8_lossy(&head[..pos.min(80)]).into_owned();
                    return Err(bad(format!("upgrade refused: {line}")));
                }
                c.rstart += pos + 4;
                break;
            }
        }
        let upgrade_ns = ns(t0);
        // connect.challenge
        let challenge_ns = loop {
            let (op, payload) = c.next_frame().await?;
            let at = ns(t0);
            if op == OP_CLOSE {
                return Err(bad("closed before challenge"));
            }
            if let Msg::Event { name } = classify(&payload)
                && name == "connect.challenge"
            {
                break at;
            }
        };
        let connect = format!(
            r#"{{"type":"req","id":"c1","method":"connect","params":{{"minProtocol":4,"maxProtocol":4,"client":{{"id":"cli","version":"bench","platform":"linux","mode":"cli"}},"role":"operator","scopes":["operator.admin"],"auth":{{"token":{}}}}}}}"#,
            serde_json::Value::String(token.to_string())
        );
        let mut out = Vec::with_capacity(connect.len() + 14);
        push_frame(
            &mut out,
            OP_TEXT,
            connect.as_bytes(),
            [0x12, 0x34, 0x56, 0x78],
        );
        c.stream.write_all(&out).await?;
        let (hello_ns, hello_bytes) = loop {
            let (op, payload) = c.next_frame().await?;
            // Stamp on arrival: the client's own JSON parse below is not the server's time.
            let at = ns(t0);
            if op == OP_CLOSE {
                return Err(bad("closed during connect"));
            }
            if let Msg::ResOther { id, raw } = classify(&payload)
                && id == "c1"
            {
                let v: serde_json::Value = serde_json::from_slice(raw)?;
                if v.pointer("/payload/type").and_then(|t| t.as_str()) == Some("hello-ok") {
                    break (at, raw.len());
                }
                return Err(bad(format!(
                    "connect refused: {}",
                    v.get("error").map(ToString::to_string).unwrap_or_default()
                )));
            }
        };
        Ok((
            c,
            HandshakeTimes {
                tcp_ns,
                upgrade_ns,
                challenge_ns,
                hello_ns,
                hello_bytes,
            },
        ))
    }

    /// Reads more bytes into the buffer (compacting or growing it first); 0 means EOF.
    async fn read_more(&mut self) -> io::Result<usize> {
        self.make_room();
        let n = self.stream.read(&mut self.rbuf[self.rend..]).await?;
        self.rend += n;
        Ok(n)
    }

    fn make_room(&mut self) {
        if self.rstart == self.rend {
            self.rstart = 0;
            self.rend = 0;
        } else if self.rstart > self.rbuf.len() / 2 || self.rend == self.rbuf.len() {
            self.rbuf.copy_within(self.rstart..self.rend, 0);
            self.rend -= self.rstart;
            self.rstart = 0;
        }
        if self.rend == self.rbuf.len() {
            let n = self.rbuf.len() * 2;
            self.rbuf.resize(n, 0);
        }
    }

    /// The next complete data or close frame (pings answered, fragments joined); slow path,
    /// for the handshake and for waiting on events.
    pub async fn next_frame(&mut self) -> io::Result<(u8, Vec<u8>)> {
        let mut partial: Option<(u8, Vec<u8>)> = None;
        loop {
            while let Some((f, total)) = parse_frame(&self.rbuf[self.rstart..self.rend])? {
                let payload = self.rbuf[self.rstart + f.start..self.rstart + f.end].to_vec();
                self.rstart += total;
                match f.opcode {
                    OP_PING => {
                        let mut out = Vec::new();
                        push_frame(&mut out, OP_PONG, &payload, [1, 2, 3, 4]);
                        self.stream.write_all(&out).await?;
                    }
                    OP_PONG => {}
                    0 => {
                        let Some((op, mut buf)) = partial.take() else {
                            return Err(bad("continuation without start"));
                        };
                        buf.extend_from_slice(&payload);
                        if f.fin {
                            return Ok((op, buf));
                        }
                        partial = Some((op, buf));
                    }
                    op if f.fin => return Ok((op, payload)),
                    op => partial = Some((op, payload)),
                }
            }
            if self.read_more().await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "socket closed",
                ));
            }
        }
    }

    /// True when bytes are waiting in `wbuf`.
    pub fn write_pending(&self) -> bool {
        self.wpos < self.wbuf.len()
    }

    /// Writes as much of `wbuf` as the socket takes now (never waits).
    pub fn try_flush(&mut self) -> io::Result<()> {
        while self.wpos < self.wbuf.len() {
            match self.stream.try_write(&self.wbuf[self.wpos..]) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write zero")),
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if self.wpos == self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
        }
        Ok(())
    }

    /// Waits until the socket is readable (and, with pending output, writable), writes what it
    /// can, and reads what is there. Returns the number of bytes read (0 with pending output
    /// just means only writing progressed). EOF is an error.
    pub async fn pump(&mut self) -> io::Result<usize> {
        let interest = if self.write_pending() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let ready = self.stream.ready(interest).await?;
        if ready.is_writable() && self.write_pending() {
            self.try_flush()?;
        }
        if ready.is_readable() || ready.is_read_closed() {
            self.make_room();
            match self.stream.try_read(&mut self.rbuf[self.rend..]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "server closed the connection",
                    ));
                }
                Ok(n) => {
                    self.rend += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(0)
    }

    /// Calls `f` for the payload of every complete text/binary frame buffered, consuming them.
    /// A close frame is an error; pings are answered (queued in `wbuf`).
    pub fn drain_frames(&mut self, mut f: impl FnMut(&[u8])) -> io::Result<()> {
        loop {
            let Some((fr, total)) = parse_frame(&self.rbuf[self.rstart..self.rend])? else {
                return Ok(());
            };
            let s = self.rstart;
            match fr.opcode {
                OP_TEXT | OP_BINARY if fr.fin => f(&self.rbuf[s + fr.start..s + fr.end]),
                OP_CLOSE => return Err(bad("server sent close")),
                OP_PING => {
                    let payload = self.rbuf[s + fr.start..s + fr.end].to_vec();
                    push_frame(&mut self.wbuf, OP_PONG, &payload, [9, 8, 7, 6]);
                }
                OP_PONG => {}
                _ => return Err(bad("fragmented frames are not expected from the gateway")),
            }
            self.rstart += total;
        }
    }

    /// Sends a close frame (best effort) and drops the socket.
    pub async fn close(mut self) {
        let mut out = Vec::new();
        push_frame(&mut out, OP_CLOSE, &1000u16.to_be_bytes(), [5, 6, 7, 8]);
        let _ = self.stream.write_all(&out).await;
        let _ = self.stream.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_common_shapes() {
        assert_eq!(
            classify(br#"{"type":"res","id":"42","ok":true,"payload":null}"#),
            Msg::Res {
                id: 42,
                ok: true,
                code: None
            }
        );
        assert_eq!(
            classify(
                br#"{"type":"res","id":"7","ok":false,"error":{"code":"UNAVAILABLE","message":"busy"}}"#
            ),
            Msg::Res {
                id: 7,
                ok: false,
                code: Some("UNAVAILABLE".into())
            }
        );
        assert_eq!(
            classify(br#"{"type":"event","event":"tick","payload":{"ts":1},"seq":3}"#),
            Msg::Event {
                name: "tick".into()
            }
        );
        // Field order differs: the slow path still understands it.
        assert_eq!(
            classify(br#"{"ok":true,"id":"9","type":"res"}"#),
            Msg::Res {
                id: 9,
                ok: true,
                code: None
            }
        );
        assert!(matches!(
            classify(br#"{"type":"res","id":"c1","ok":true,"payload":{}}"#),
            Msg::ResOther { .. }
        ));
    }

    #[test]
    fn frames_round_trip_through_the_parser() {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        push_request(&mut out, &mut scratch, 123, "health");
        // Unmask it like a server would, then re-frame unmasked to test the parser.
        let len = (out[1] & 0x7F) as usize;
        let mask = [out[2], out[3], out[4], out[5]];
        let payload: Vec<u8> = out[6..6 + len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i & 3])
            .collect();
        assert_eq!(
            payload,
            br#"{"type":"req","id":"123","method":"health"}"#.to_vec()
        );
        let big = vec![b'x'; 70_000];
        let mut srv = vec![0x81, 127];
        srv.extend_from_slice(&(big.len() as u64).to_be_bytes());
        srv.extend_from_slice(&big);
        let (f, total) = parse_frame(&srv).expect("ok").expect("complete");
        assert_eq!(
            (f.opcode, f.end - f.start, total),
            (OP_TEXT, 70_000, srv.len())
        );
        assert!(parse_frame(&srv[..100]).expect("ok").is_none());
    }
}
