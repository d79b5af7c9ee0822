//! A small WebSocket RPC client for the gateway: one connection, the `connect` handshake, one
//! request, a clean close. Used by `gateway call`, `gateway status`, `health` and `status`.
//!
//! The whole exchange runs on a current-thread tokio runtime and is bounded by one deadline (the
//! commands' `--timeout`). fastwebsockets' `read_frame` is not cancel-safe, but a read is only ever
//! abandoned together with its socket (when the deadline passes), so no half-read frame is reused.
//!
//! Failures are data ([`ClientError`]) that the commands render as OpenClaw does:
//! `gateway_transport_error` (nothing listening, timeout, closed) or `gateway_request_error`
//! (the gateway answered `ok:false`).

use std::cell::Cell;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload, WebSocketError};
use http_body_util::Empty;
use hyper::header::{CONNECTION, HOST, UPGRADE, USER_AGENT};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The protocol version this client speaks.
pub const PROTOCOL_VERSION: u64 = 4;

/// Scopes the CLI asks for (OpenClaw's CLI asks for the same).
const SCOPES: [&str; 3] = ["operator.admin", "operator.approvals", "operator.pairing"];

/// How long a clean close may take (bounded by the deadline as well).
const CLOSE_GRACE: Duration = Duration::from_secs(1);

type Ws = FragmentCollector<TokioIo<Upgraded>>;

/// Ties hyper's executor to the tokio runtime (for the handshake's connection task).
struct SpawnExecutor;

impl<Fut> hyper::rt::Executor<Fut> for SpawnExecutor
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn execute(&self, fut: Fut) {
        tokio::task::spawn(fut);
    }
}

/// A parsed `ws://host:port/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL as given (or as built from the resolved port).
    pub url: String,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    path: String,
}

impl Endpoint {
    /// Parses a `ws://` URL. `wss://` is refused: this client has no TLS.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let lower = url.to_ascii_lowercase();
        let rest = if lower.starts_with("ws://") {
            url.get(5..).unwrap_or_default()
        } else if lower.starts_with("wss://") {
            return Err(format!(
                "{url}: wss:// (TLS) is not supported by this client; use ws:// (e.g. through an SSH tunnel)"
            ));
        } else {
            return Err(format!("{url}: expected a ws:// URL"));
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let path = path.split('#').next().unwrap_or_default();
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        if authority.contains('@') {
            return Err(format!(
                "{url}: credentials in the URL are not supported; use --token or --password"
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url}: unterminated [IPv6] host"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(format!("{url}: unexpected text after the host")),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(format!("{url}: missing host"));
        }
        let port = match port {
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{url}: invalid port \"{p}\""))?,
        };
        Ok(Endpoint {
            url: url.to_string(),
            host: host.to_string(),
            port,
            path,
        })
    }

    /// Whether the host is this machine (`localhost`, 127.0.0.0/8, `::1`).
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// `host:port` for the `Host` header (IPv6 in brackets).
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Shared-secret credentials for `connect`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    pub token: Option<String>,
    pub password: Option<String>,
}

/// A successful response: the payload parsed, and its text as the gateway sent it (key order kept).
#[derive(Debug, Clone)]
pub struct Reply {
    pub value: Value,
    pub raw: String,
}

/// What one exchange produced: the `hello-ok` payload and the method's reply.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub hello: Value,
    pub reply: Reply,
}

/// An `ok:false` response.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcFailure {
    pub code: String,
    pub message: String,
    pub details: Option<Value>,
    /// `details` as the gateway sent it (key order kept).
    pub details_raw: Option<String>,
    pub retryable: Option<bool>,
    pub retry_after_ms: Option<u64>,
}

/// Why the transport failed, as OpenClaw's `error.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Nothing listening, connection reset, or closed by the gateway.
    Closed,
    /// The deadline passed.
    Timeout,
    /// Not a gateway: the WebSocket upgrade or the framing failed.
    Protocol,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Closed => "closed",
            TransportKind::Timeout => "timeout",
            TransportKind::Protocol => "protocol",
        }
    }
}

/// A transport failure.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportFailure {
    pub kind: TransportKind,
    /// A sentence for people, e.g. `Gateway not reachable at ws://127.0.0.1:1 (ECONNREFUSED).`
    pub message: String,
    /// The low-level cause, e.g. `connect ECONNREFUSED 127.0.0.1:1`.
    pub reason: Option<String>,
    pub timeout_ms: Option<u64>,
    /// The gateway's close frame, when it closed the connection.
    pub close: Option<(u16, String)>,
}

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientError {
    Transport(Box<TransportFailure>),
    /// The gateway answered with an error; `at_connect` when it refused the handshake.
    Rpc {
        failure: Box<RpcFailure>,
        at_connect: bool,
    },
}

impl ClientError {
    fn transport(kind: TransportKind, message: impl Into<String>, reason: Option<String>) -> Self {
        ClientError::Transport(Box::new(TransportFailure {
            kind,
            message: message.into(),
            reason,
            timeout_ms: None,
            close: None,
        }))
    }

    /// One line: the reason for transport errors (`connect ECONNREFUSED …`), else the message.
    pub fn short(&self) -> String {
        match self {
            ClientError::Transport(t) => t.reason.clone().unwrap_or_else(|| t.message.clone()),
            ClientError::Rpc { failure, .. } => failure.message.clone(),
        }
    }
}

/// How far an exchange got (to word a timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Connecting,
    Waiting,
}

/// Connects, authenticates, calls `method` with `params`, closes. Everything within `timeout`.
pub fn call(
    endpoint: &Endpoint,
    auth: &Auth,
    method: &str,
    params: Value,
    timeout: Duration,
) -> Result<Outcome, ClientError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            ClientError::transport(
                TransportKind::Closed,
                format!("cannot start the async runtime: {e}"),
                None,
            )
        })?;
    rt.block_on(call_async(endpoint, auth, method, params, timeout))
}

async fn call_async(
    endpoint: &Endpoint,
    auth: &Auth,
    method: &str,
    params: Value,
    timeout: Duration,
) -> Result<Outcome, ClientError> {
    let stage = Cell::new(Stage::Connecting);
    let deadline = Instant::now() + timeout;
    let exchanged =
        tokio::time::timeout_at(deadline, exchange(endpoint, auth, method, params, &stage)).await;
    match exchanged {
        Err(_elapsed) => Err(timed_out(stage.get(), method, timeout)),
        Ok((result, ws)) => {
            if let Some(ws) = ws {
                close(ws, deadline).await;
            }
            result
        }
    }
}

fn timed_out(stage: Stage, method: &str, timeout: Duration) -> ClientError {
    let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let secs = seconds(ms);
    let message = match stage {
        Stage::Connecting => format!("Gateway not reachable after waiting {secs} s."),
        Stage::Waiting => format!("Gateway did not answer {method} within {secs} s."),
    };
    ClientError::Transport(Box::new(TransportFailure {
        kind: TransportKind::Timeout,
        message,
        reason: None,
        timeout_ms: Some(ms),
        close: None,
    }))
}

/// `3000` → `3`, `2500` → `2.5`.
fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        let s = format!("{}.{:03}", ms / 1000, ms % 1000);
        s.trim_end_matches('0').to_string()
    }
}

/// The exchange proper; hands back the socket when it is still worth closing politely.
async fn exchange(
    endpoint: &Endpoint,
    auth: &Auth,
    method: &str,
    params: Value,
    stage: &Cell<Stage>,
) -> (Result<Outcome, ClientError>, Option<Ws>) {
    let mut ws = match open(endpoint).await {
        Ok(ws) => ws,
        Err(e) => return (Err(e), None),
    };
    if let Err(e) = wait_for_challenge(&mut ws).await {
        return (Err(e), None);
    }
    let hello = match request(&mut ws, "connect", connect_params(auth)).await {
        Ok(r) => r.value,
        // The gateway closes after refusing a connect; nothing left to close.
        Err(ClientError::Rpc { failure, .. }) => {
            return (
                Err(ClientError::Rpc {
                    failure,
                    at_connect: true,
                }),
                None,
            );
        }
        Err(e) => return (Err(e), None),
    };
    stage.set(Stage::Waiting);
    let result = request(&mut ws, method, params)
        .await
        .map(|reply| Outcome { hello, reply });
    match result {
        Err(ClientError::Transport(_)) => (result, None),
        _ => (result, Some(ws)),
    }
}

fn connect_params(auth: &Auth) -> Value {
    let mut params = json!({
        "minProtocol": PROTOCOL_VERSION,
        "maxProtocol": PROTOCOL_VERSION,
        "client": {
            "id": "cli",
            "version": env!("CARGO_PKG_VERSION"),
            "platform": std::env::consts::OS,
            "mode": "cli",
            "instanceId": uuid::Uuid::new_v4().to_string(),
        },
        "role": "operator",
        "scopes": SCOPES,
    });
    let mut creds = serde_json::Map::new();
    if let Some(t) = &auth.token {
        creds.insert("token".into(), json!(t));
    }
    if let Some(p) = &auth.password {
        creds.insert("password".into(), json!(p));
    }
    if let (false, Some(m)) = (creds.is_empty(), params.as_object_mut()) {
        m.insert("auth".into(), Value::Object(creds));
    }
    params
}

/// `ECONNREFUSED` and friends, as Node names them.
fn errno_name(e: &std::io::Error) -> Option<&'static str> {
    use std::io::ErrorKind as K;
    Some(match e.kind() {
        K::ConnectionRefused => "ECONNREFUSED",
        K::ConnectionReset => "ECONNRESET",
        K::ConnectionAborted => "ECONNABORTED",
        K::TimedOut => "ETIMEDOUT",
        K::HostUnreachable => "EHOSTUNREACH",
        K::NetworkUnreachable => "ENETUNREACH",
        K::AddrNotAvailable => "EADDRNOTAVAIL",
        K::PermissionDenied => "EACCES",
        _ => return None,
    })
}

/// Node's `host:port` spelling in `connect ECONNREFUSED 127.0.0.1:18789` (IPv6 unbracketed).
fn node_addr(addr: SocketAddr) -> String {
    format!("{}:{}", addr.ip(), addr.port())
}

async fn resolve(endpoint: &Endpoint) -> Result<Vec<SocketAddr>, ClientError> {
    if let Ok(ip) = endpoint.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, endpoint.port)]);
    }
    let found = tokio::net::lookup_host((endpoint.host.as_str(), endpoint.port)).await;
    match found {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(not_found(endpoint))
            } else {
                Ok(addrs)
            }
        }
        Err(_) => Err(not_found(endpoint)),
    }
}

fn not_found(endpoint: &Endpoint) -> ClientError {
    ClientError::transport(
        TransportKind::Closed,
        format!("Gateway not reachable at {} (ENOTFOUND).", endpoint.url),
        Some(format!("getaddrinfo ENOTFOUND {}", endpoint.host)),
    )
}

/// TCP connect (each resolved address in turn) and the WebSocket upgrade.
async fn open(endpoint: &Endpoint) -> Result<Ws, ClientError> {
    let addrs = resolve(endpoint).await?;
    let mut first_error: Option<(SocketAddr, std::io::Error)> = None;
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => {
                first_error.get_or_insert((addr, e));
            }
        }
    }
    let Some(stream) = stream else {
        let (addr, e) = match first_error {
            Some(x) => x,
            None => return Err(not_found(endpoint)),
        };
        let (message, reason) = match errno_name(&e) {
            Some(code) => (
                format!("Gateway not reachable at {} ({code}).", endpoint.url),
                format!("connect {code} {}", node_addr(addr)),
            ),
            None => (
                format!("Gateway not reachable at {} ({e}).", endpoint.url),
                format!("connect {}: {e}", node_addr(addr)),
            ),
        };
        return Err(ClientError::transport(
            TransportKind::Closed,
            message,
            Some(reason),
        ));
    };
    let _ = stream.set_nodelay(true);
    let req = hyper::Request::builder()
        .method("GET")
        .uri(endpoint.path.as_str())
        .header(HOST, endpoint.authority())
        .header(UPGRADE, "websocket")
        .header(CONNECTION, "upgrade")
        .header(
            "Sec-WebSocket-Key",
            fastwebsockets::handshake::generate_key(),
        )
        .header("Sec-WebSocket-Version", "13")
        .header(
            USER_AGENT,
            concat!("openclaw-rs-cli/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| {
            ClientError::transport(
                TransportKind::Protocol,
                format!(
                    "Cannot build the WebSocket request for {}: {e}",
                    endpoint.url
                ),
                None,
            )
        })?;
    let (ws, _response) = fastwebsockets::handshake::client(&SpawnExecutor, req, stream)
        .await
        .map_err(|e| upgrade_failed(endpoint, e))?;
    Ok(FragmentCollector::new(ws))
}

fn upgrade_failed(endpoint: &Endpoint, e: WebSocketError) -> ClientError {
    match e {
        WebSocketError::InvalidStatusCode(status) => ClientError::transport(
            TransportKind::Protocol,
            format!(
                "{} did not accept the WebSocket upgrade (HTTP {status}); is it an OpenClaw gateway?",
                endpoint.url
            ),
            Some(format!("unexpected server response: {status}")),
        ),
        WebSocketError::InvalidUpgradeHeader | WebSocketError::InvalidConnectionHeader => {
            ClientError::transport(
                TransportKind::Protocol,
                format!(
                    "{} answered the WebSocket upgrade incorrectly ({e}); is it an OpenClaw gateway?",
                    endpoint.url
                ),
                Some(e.to_string()),
            )
        }
        other => ClientError::transport(
            TransportKind::Closed,
            format!(
                "Gateway at {} closed the connection during the WebSocket handshake.",
                endpoint.url
            ),
            Some(other.to_string()),
        ),
    }
}

fn socket_failed(e: WebSocketError) -> ClientError {
    match e {
        WebSocketError::UnexpectedEOF
        | WebSocketError::ConnectionClosed
        | WebSocketError::IoError(_) => ClientError::transport(
            TransportKind::Closed,
            "Gateway closed the connection unexpectedly.",
            Some(e.to_string()),
        ),
        other => ClientError::transport(
            TransportKind::Protocol,
            format!("Gateway sent an invalid WebSocket frame ({other})."),
            Some(other.to_string()),
        ),
    }
}

fn closed_by_gateway(code: u16, reason: String) -> ClientError {
    let message = if reason.is_empty() {
        format!("Gateway closed the connection ({code}).")
    } else {
        format!("Gateway closed the connection ({code}: {reason}).")
    };
    ClientError::Transport(Box::new(TransportFailure {
        kind: TransportKind::Closed,
        message,
        reason: Some(format!("closed {code}")),
        timeout_ms: None,
        close: Some((code, reason)),
    }))
}

/// One JSON text message, or the gateway's close frame.
enum Incoming {
    Json(String, Value),
    Closed(u16, String),
}

/// The next JSON message; pings are answered by fastwebsockets, binary and non-JSON frames skipped.
async fn next_message(ws: &mut Ws) -> Result<Incoming, ClientError> {
    loop {
        let frame = ws.read_frame().await.map_err(socket_failed)?;
        match frame.opcode {
            OpCode::Text => {
                let Ok(text) = String::from_utf8(frame.payload.to_vec()) else {
                    continue;
                };
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    return Ok(Incoming::Json(text, v));
                }
            }
            OpCode::Close => {
                let p = &frame.payload;
                let code = match (p.first(), p.get(1)) {
                    (Some(a), Some(b)) => u16::from_be_bytes([*a, *b]),
                    _ => 1005,
                };
                let reason = String::from_utf8_lossy(p.get(2..).unwrap_or_default()).into_owned();
                return Ok(Incoming::Closed(code, reason));
            }
            _ => {}
        }
    }
}

/// Waits for `connect.challenge` (the gateway sends it first; other events are skipped).
async fn wait_for_challenge(ws: &mut Ws) -> Result<(), ClientError> {
    loop {
        match next_message(ws).await? {
            Incoming::Closed(code, reason) => return Err(closed_by_gateway(code, reason)),
            Incoming::Json(_, v) => {
                if v["type"] == "event" && v["event"] == "connect.challenge" {
                    return Ok(());
                }
            }
        }
    }
}

/// Sends one request and waits for its response, skipping events and other responses.
async fn request(ws: &mut Ws, method: &str, params: Value) -> Result<Reply, ClientError> {
    let id = uuid::Uuid::new_v4().to_string();
    let frame = json!({ "type": "req", "id": id, "method": method, "params": params }).to_string();
    ws.write_frame(Frame::text(Payload::Owned(frame.into_bytes())))
        .await
        .map_err(socket_failed)?;
    loop {
        let (text, v) = match next_message(ws).await? {
            Incoming::Closed(code, reason) => return Err(closed_by_gateway(code, reason)),
            Incoming::Json(text, v) => (text, v),
        };
        if v["type"] != "res" || v["id"] != id.as_str() {
            continue;
        }
        if v["ok"] == true {
            let value = v.get("payload").cloned().unwrap_or(Value::Null);
            let raw = raw::member(&text, "payload")
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string());
            return Ok(Reply { value, raw });
        }
        let error = v.get("error").cloned().unwrap_or(Value::Null);
        let details = error.get("details").cloned();
        let details_raw = raw::member(&text, "error")
            .and_then(|e| raw::member(e, "details"))
            .map(str::to_string)
            .or_else(|| details.as_ref().map(Value::to_string));
        return Err(ClientError::Rpc {
            failure: Box::new(RpcFailure {
                code: error["code"].as_str().unwrap_or("UNKNOWN").to_string(),
                message: error["message"]
                    .as_str()
                    .unwrap_or("request failed")
                    .to_string(),
                details,
                details_raw,
                retryable: error["retryable"].as_bool(),
                retry_after_ms: error["retryAfterMs"].as_u64(),
            }),
            at_connect: method == "connect",
        });
    }
}

/// Close 1000 and wait (briefly) for the gateway's close frame.
async fn close(mut ws: Ws, deadline: Instant) {
    let until = std::cmp::min(deadline, Instant::now() + CLOSE_GRACE);
    let _ = tokio::time::timeout_at(until, async {
        ws.write_frame(Frame::close(1000, b"")).await?;
        loop {
            if ws.read_frame().await?.opcode == OpCode::Close {
                return Ok::<(), WebSocketError>(());
            }
        }
    })
    .await;
}

/// Order-preserving helpers over JSON text: the payloads are printed with the gateway's key order
/// (serde_json's `Value` sorts keys), and outputs are composed in OpenClaw's key order.
///
/// They assume valid JSON (every text here was parsed by serde_json first, or built from
/// serde_json output).
pub mod raw {
    fn skip_ws(b: &[u8], mut i: usize) -> usize {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    }

    /// The end (exclusive) of the string starting at `i` (`b[i]` is `"`).
    fn string_end(b: &[u8], mut i: usize) -> usize {
        i += 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        b.len()
    }

    /// The end (exclusive) of the value starting at `i`.
    fn value_end(b: &[u8], i: usize) -> usize {
        match b.get(i) {
            Some(b'"') => string_end(b, i),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                let mut j = i;
                while j < b.len() {
                    match b[j] {
                        b'"' => {
                            j = string_end(b, j);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                return j + 1;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                b.len()
            }
            _ => {
                let mut j = i;
                while j < b.len()
                    && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    j += 1;
                }
                j
            }
        }
    }

    /// The text of the top-level member `key` of the JSON object `obj`.
    pub fn member<'a>(obj: &'a str, key: &str) -> Option<&'a str> {
        let b = obj.as_bytes();
        let mut i = skip_ws(b, 0);
        if b.get(i) != Some(&b'{') {
            return None;
        }
        i += 1;
        loop {
            i = skip_ws(b, i);
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let key_end = string_end(b, i);
            let name = obj.get(i + 1..key_end.saturating_sub(1))?;
            i = skip_ws(b, key_end);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
            let end = value_end(b, i);
            if name == key {
                return obj.get(i..end);
            }
            i = skip_ws(b, end);
            if b.get(i) != Some(&b',') {
                return None;
            }
            i += 1;
        }
    }

    fn newline(out: &mut String, indent: usize) {
        out.push('\n');
        for _ in 0..indent {
            out.push_str("  ");
        }
    }

    /// Re-indents JSON text exactly as `serde_json::to_string_pretty` would, keeping key order.
    pub fn pretty(text: &str) -> String {
        let b = text.as_bytes();
        let mut out = String::with_capacity(text.len() * 2);
        let mut indent = 0usize;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            match c {
                b' ' | b'\t' | b'\n' | b'\r' => i += 1,
                b'"' => {
                    let end = string_end(b, i);
                    out.push_str(text.get(i..end).unwrap_or_default());
                    i = end;
                }
                b'{' | b'[' => {
                    let close = if c == b'{' { '}' } else { ']' };
                    let j = skip_ws(b, i + 1);
                    out.push(char::from(c));
                    if b.get(j).map(|x| char::from(*x)) == Some(close) {
                        out.push(close);
                        i = j + 1;
                    } else {
                        indent += 1;
                        newline(&mut out, indent);
                        i += 1;
                    }
                }
                b'}' | b']' => {
                    indent = indent.saturating_sub(1);
                    newline(&mut out, indent);
                    out.push(char::from(c));
                    i += 1;
                }
                b',' => {
                    out.push(',');
                    newline(&mut out, indent);
                    i += 1;
                }
                b':' => {
                    out.push_str(": ");
                    i += 1;
                }
                _ => {
                    let start = i;
                    while i < b.len()
                        && !matches!(
                            b[i],
                            b',' | b'}'
                                | b']'
                                | b':'
                                | b'"'
                                | b'{'
                                | b'['
                                | b' '
                                | b'\t'
                                | b'\n'
                                | b'\r'
                        )
                    {
                        i += 1;
                    }
                    out.push_str(text.get(start..i).unwrap_or_default());
                }
            }
        }
        out
    }

    /// A JSON string literal.
    pub fn string(s: &str) -> String {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
    }

    /// A compact JSON object from (key, value text) pairs in this order; `None` values are left out.
    pub fn object(members: &[(&str, Option<String>)]) -> String {
        let mut out = String::from("{");
        for (key, value) in members {
            let Some(value) = value else { continue };
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&string(key));
            out.push(':');
            out.push_str(value);
        }
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let e = Endpoint::parse("ws://127.0.0.1:19001").expect("valid");
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 19001, "/")
        );
        assert!(e.is_loopback());
        let e = Endpoint::parse("ws://[::1]:18789/gw?x=1").expect("valid");
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("::1", 18789, "/gw?x=1")
        );
        assert_eq!(e.authority(), "[::1]:18789");
        assert!(e.is_loopback());
        let e = Endpoint::parse("WS://example.com").expect("valid");
        assert_eq!((e.host.as_str(), e.port), ("example.com", 80));
        assert!(!e.is_loopback());
        assert!(Endpoint::parse("wss://x:1").is_err());
        assert!(Endpoint::parse("http://x:1").is_err());
        assert!(Endpoint::parse("ws://:1").is_err());
        assert!(Endpoint::parse("ws://x:0").is_err());
        assert!(Endpoint::parse("ws://x:99999").is_err());
        assert!(Endpoint::parse("ws://u:p@x:1").is_err());
    }

    #[test]
    fn seconds_are_worded_like_openclaw() {
        assert_eq!(seconds(3000), "3");
        assert_eq!(seconds(10_000), "10");
        assert_eq!(seconds(2500), "2.5");
        assert_eq!(seconds(1234), "1.234");
    }

    #[test]
    fn pretty_matches_serde_json() {
        let samples = [
            r#"{"a":1,"b":[1,2,{"c":"x,y:{}[]\"\\"}],"d":{},"e":[],"f":null,"g":true,"h":-1.5e3}"#,
            r#"[]"#,
            r#"{}"#,
            r#""s""#,
            r#"[{"a":[[]]},{"b":{"c":{}}}]"#,
            r#"{"unicode":"caf\u00e9 ☕","n":1}"#,
        ];
        for s in samples {
            let v: Value = serde_json::from_str(s).expect("valid sample");
            let compact = serde_json::to_string(&v).expect("serialize");
            let expected = serde_json::to_string_pretty(&v).expect("serialize");
            assert_eq!(raw::pretty(&compact), expected, "sample {s}");
            // Whitespace in the input does not matter.
            assert_eq!(raw::pretty(&expected), expected, "sample {s}");
        }
        // Key order is kept.
        assert_eq!(
            raw::pretty(r#"{"z":1,"a":2}"#),
            "{\n  \"z\": 1,\n  \"a\": 2\n}"
        );
    }

    #[test]
    fn member_finds_top_level_keys_only() {
        let text = r#"{"type":"res","id":"x","ok":true,"payload":{"payload":1,"z":[1,{"a":"}"}]},"tail":2}"#;
        assert_eq!(
            raw::member(text, "payload"),
            Some(r#"{"payload":1,"z":[1,{"a":"}"}]}"#)
        );
        assert_eq!(raw::member(text, "tail"), Some("2"));
        assert_eq!(raw::member(text, "ok"), Some("true"));
        assert_eq!(raw::member(text, "a"), None);
        assert_eq!(raw::member(" { \"k\" : \"v\" } ", "k"), Some("\"v\""));
        assert_eq!(raw::member("[1]", "k"), None);
    }

    #[test]
    fn object_keeps_order_and_skips_none() {
        assert_eq!(
            raw::object(&[
                ("ok", Some("false".into())),
                ("skip", None),
                ("msg", Some(raw::string("a\"b"))),
            ]),
            r#"{"ok":false,"msg":"a\"b"}"#
        );
    }

    #[test]
    fn connect_params_carry_only_given_credentials() {
        let p = connect_params(&Auth::default());
        assert!(p.get("auth").is_none());
        assert_eq!(p["client"]["id"], "cli");
        assert_eq!(p["client"]["mode"], "cli");
        assert_eq!(p["minProtocol"], 4);
        let p = connect_params(&Auth {
            token: Some("t".into()),
            password: None,
        });
        assert_eq!(p["auth"], json!({ "token": "t" }));
    }

    #[test]
    fn refused_connection_is_reported_at_once() {
        // Bind then drop to find a port with (almost certainly) nothing listening.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let e = Endpoint::parse(&format!("ws://127.0.0.1:{port}")).expect("valid");
        let err = call(
            &e,
            &Auth::default(),
            "health",
            json!({}),
            Duration::from_secs(30),
        )
        .expect_err("nothing listens");
        let ClientError::Transport(t) = err else {
            panic!("expected a transport error, got {err:?}");
        };
        assert_eq!(t.kind, TransportKind::Closed);
        assert_eq!(
            t.message,
            format!("Gateway not reachable at ws://127.0.0.1:{port} (ECONNREFUSED).")
        );
        assert_eq!(
            t.reason.as_deref(),
            Some(format!("connect ECONNREFUSED 127.0.0.1:{port}").as_str())
        );
    }
}
