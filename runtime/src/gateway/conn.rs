//! One WebSocket session: the challenge, the `connect` handshake, then requests and events.
//!
//! The socket is split: this task reads (fastwebsockets' `read_frame` is not cancel-safe, so it is
//! never raced against anything it must survive), and a writer task owns the write half, fed by an
//! [`Outbox`]. Replies, events and the pong/close frames the protocol obliges us to send all go
//! through the outbox, which counts queued bytes: a client that stops reading is disconnected once
//! `maxBufferedBytes` are waiting, so memory never grows without bound.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use fastwebsockets::{Frame, OpCode, Payload, WebSocketError, WebSocketRead};
use serde_json::{Value, json};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter, ReadHalf};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::auth::{self, AuthMethod, Presented};
use super::frames::{self, Request};
use super::pairing;
use super::state::now_ms;
use super::{Gateway, MIN_PROBE_PROTOCOL_VERSION, PROTOCOL_VERSION};
use crate::generated::config::{ConnectClientId, ConnectClientMode};
use crate::generated::protocol::{Event, Method, dispatch};
use crate::protocol_support::RpcError;

use super::upgrade::Io;

/// Something for the writer task to send.
enum Out {
    /// A complete JSON frame.
    Text(String),
    /// An event; the writer stamps the connection's next `seq`.
    Event {
        name: &'static str,
        payload: Arc<str>,
        state_version: Option<Arc<str>>,
    },
    /// A frame the protocol obliges us to send (pong, close echo).
    Obligated(Frame<'static>),
    /// Send a close frame and stop.
    Close(u16, String),
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Out::Text(s) => write!(f, "Text({} bytes)", s.len()),
            Out::Event { name, .. } => write!(f, "Event({name})"),
            Out::Obligated(fr) => write!(f, "Obligated({:?})", fr.opcode),
            Out::Close(c, r) => write!(f, "Close({c}, {r:?})"),
        }
    }
}

/// The sending side of a connection; cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Out>,
    buffered: Arc<AtomicUsize>,
    max: usize,
    /// Fired when the connection must end at once (slow consumer, shutdown).
    kill: CancellationToken,
    /// Set once events may flow (after hello-ok).
    events: Arc<AtomicBool>,
}

impl Outbox {
    fn account(&self, n: usize) -> bool {
        let before = self.buffered.fetch_add(n, Ordering::AcqRel);
        let total = before + n;
        // One message larger than the limit may go out on its own; a backlog past it may not.
        if total > self.max && before > 0 {
            tracing::warn!(
                buffered = total,
                limit = self.max,
                "closing slow consumer: send buffer full"
            );
            self.kill.cancel();
            return false;
        }
        true
    }

    /// Queues a frame; `false` when the connection is gone or over its buffer limit.
    pub fn text(&self, s: String) -> bool {
        if self.kill.is_cancelled() || !self.account(s.len()) {
            return false;
        }
        self.tx.send(Out::Text(s)).is_ok()
    }

    /// Queues an event (dropped before hello-ok: events start with the session).
    pub fn event(&self, name: &'static str, payload: Arc<str>, state_version: Option<Arc<str>>) {
        if !self.events.load(Ordering::Acquire) || self.kill.is_cancelled() {
            return;
        }
        if !self.account(payload.len() + 64) {
            return;
        }
        let _ = self.tx.send(Out::Event {
            name,
            payload,
            state_version,
        });
    }

    /// Sends a close frame after what is already queued.
    pub fn close(&self, code: u16, reason: &str) {
        let _ = self
            .tx
            .send(Out::Close(code, frames::close_reason(reason).to_string()));
    }

    fn obligated(&self, f: Frame<'static>) -> bool {
        self.tx.send(Out::Obligated(f)).is_ok()
    }
}

/// What the writer reports when it stops.
#[derive(Debug, PartialEq)]
enum WriterEnd {
    Closed,
    /// Stopped between frames: a close frame can still be sent.
    Killed,
    /// Stopped in the middle of a frame: the stream is unusable.
    Abandoned,
    Failed,
}

async fn writer<W: AsyncWrite + Unpin>(
    mut ws: fastwebsockets::WebSocketWrite<BufWriter<W>>,
    mut rx: mpsc::UnboundedReceiver<Out>,
    buffered: Arc<AtomicUsize>,
    kill: CancellationToken,
    mut seq: u64,
) -> WriterEnd {
    let end = 'outer: loop {
        let first = tokio::select! {
            biased;
            _ = kill.cancelled() => break 'outer WriterEnd::Killed,
            m = rx.recv() => m,
        };
        let Some(mut msg) = first else {
            break WriterEnd::Closed;
        };
        // Write everything already queued, then flush once.
        let mut batch = 0usize;
        loop {
            let (frame, counted, close) = match msg {
                Out::Text(s) => {
                    let n = s.len();
                    (Frame::text(Payload::Owned(s.into_bytes())), n, false)
                }
                Out::Event {
                    name,
                    payload,
                    state_version,
                } => {
                    seq += 1;
                    let s = frames::event_raw(name, &payload, Some(seq), state_version.as_deref());
                    (
                        Frame::text(Payload::Owned(s.into_bytes())),
                        payload.len() + 64,
                        false,
                    )
                }
                Out::Obligated(f) => {
                    let close = f.opcode == OpCode::Close;
                    (f, 0, close)
                }
                Out::Close(code, reason) => (Frame::close(code, reason.as_bytes()), 0, true),
            };
            let written = {
                let write = ws.write_frame(frame);
                tokio::pin!(write);
                tokio::select! {
                    biased;
                    r = &mut write => r,
                    _ = kill.cancelled() => {
                        // Finish the frame in flight if the socket allows, so the stream stays
                        // well-formed for the close frame; otherwise abandon the connection.
                        match tokio::time::timeout(Duration::from_millis(200), &mut write).await {
                            Ok(_) => break 'outer WriterEnd::Killed,
                            Err(_) => break 'outer WriterEnd::Abandoned,
                        }
                    }
                }
            };
            buffered.fetch_sub(counted, Ordering::AcqRel);
            if written.is_err() {
                break 'outer WriterEnd::Failed;
            }
            batch += counted;
            if close {
                let _ = tokio::time::timeout(Duration::from_secs(1), ws.flush()).await;
                break 'outer WriterEnd::Closed;
            }
            if batch > 256 * 1024 {
                break;
            }
            match rx.try_recv() {
                Ok(m) => msg = m,
                Err(_) => break,
            }
        }
        let flushed = tokio::select! {
            biased;
            _ = kill.cancelled() => break 'outer WriterEnd::Killed,
            r = ws.flush() => r,
        };
        if flushed.is_err() {
            break WriterEnd::Failed;
        }
    };
    if end == WriterEnd::Killed {
        // Best effort: tell the client why, unless its socket is already full.
        let reason = "slow consumer: send buffer limit exceeded";
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            ws.write_frame(Frame::close(1008, reason.as_bytes()))
                .await?;
            ws.flush().await
        })
        .await;
    }
    end
}

/// Reads the next complete message (text or binary), answering pings and close frames through
/// the outbox. `Ok(None)` means the client closed or the socket ended.
async fn next_message(
    rx: &mut WebSocketRead<ReadHalf<Io>>,
    outbox: &Outbox,
    limit: usize,
) -> Result<Option<Vec<u8>>, WebSocketError> {
    let mut partial: Option<BytesMut> = None;
    loop {
        let mut send = |f: Frame<'_>| {
            // A close without a status code is answered with 1000 (normal), as OpenClaw does.
            let owned = if f.opcode == OpCode::Close && f.payload.is_empty() {
                Frame::close(1000, b"")
            } else {
                Frame::new(f.fin, f.opcode, None, Payload::Owned(f.payload.to_vec()))
            };
            let ok = outbox.obligated(owned);
            async move {
                if ok {
                    Ok(())
                } else {
                    Err(std::io::Error::other("connection closed"))
                }
            }
        };
        let frame = rx.read_frame(&mut send).await?;
        match frame.opcode {
            OpCode::Close => return Ok(None),
            OpCode::Text | OpCode::Binary if frame.fin => {
                if partial.is_some() {
                    return Err(WebSocketError::InvalidFragment);
                }
                return Ok(Some(frame.payload.to_vec()));
            }
            OpCode::Text | OpCode::Binary => {
                if partial.is_some() {
                    return Err(WebSocketError::InvalidFragment);
                }
                partial = Some(BytesMut::from(&frame.payload[..]));
            }
            OpCode::Continuation => {
                let Some(buf) = partial.as_mut() else {
                    return Err(WebSocketError::InvalidContinuationFrame);
                };
                if buf.len() + frame.payload.len() > limit {
                    return Err(WebSocketError::FrameTooLarge);
                }
                buf.extend_from_slice(&frame.payload);
                if frame.fin {
                    return Ok(partial.take().map(|b| b.to_vec()));
                }
            }
            OpCode::Ping | OpCode::Pong => {}
        }
    }
}

/// Facts about the HTTP upgrade request that the handshake needs.
#[derive(Debug, Clone)]
pub struct Upgrade {
    pub peer: SocketAddr,
    pub origin: Option<String>,
    pub host: Option<String>,
}

/// The authenticated session.
#[derive(Debug, Clone)]
struct Session {
    conn_id: Arc<str>,
    role: String,
    scopes: BTreeSet<String>,
    /// `deviceId|clientIp`: whom config writes are rate-limited by.
    writer_key: Arc<str>,
}

impl Session {
    fn allows(&self, method: Method) -> Result<(), RpcError> {
        let needed = method.scope().unwrap_or("operator.admin");
        if needed == "none" || self.scopes.contains("operator.admin") {
            return Ok(());
        }
        let ok = match needed {
            "operator.read" => {
                self.scopes.contains("operator.read") || self.scopes.contains("operator.write")
            }
            other => self.scopes.contains(other),
        };
        if ok {
            Ok(())
        } else {
            Err(RpcError::new(
                crate::generated::protocol::ErrorCode::Forbidden,
                format!("missing scope: {needed}"),
            )
            .with_details(json!({
                "code": "MISSING_SCOPE",
                "missingScope": needed,
                "requiredScopes": [needed],
            })))
        }
    }
}

/// The parts of `connect` params the gateway acts on (after schema checks).
#[derive(Debug, Clone)]
struct ConnectInfo {
    min_protocol: u64,
    max_protocol: u64,
    client_id: String,
    client_mode: String,
    client: Value,
    role: String,
    scopes: Vec<String>,
    auth: Presented,
    device: Option<Value>,
}

/// Checks `connect` params against OpenClaw's closed schema; the error is AJV-worded as the
/// real gateway words it (`at /client/id: must be equal to one of the allowed values`).
fn check_connect(params: &Value) -> Result<ConnectInfo, String> {
    let Value::Object(m) = params else {
        return Err("must be object".into());
    };
    for key in ["minProtocol", "maxProtocol", "client"] {
        if !m.contains_key(key) {
            return Err(format!("must have required property '{key}'"));
        }
    }
    const KNOWN: &[&str] = &[
        "minProtocol",
        "maxProtocol",
        "client",
        "caps",
        "commands",
        "permissions",
        "pathEnv",
        "role",
        "scopes",
        "device",
        "auth",
        "locale",
        "userAgent",
    ];
    if let Some(extra) = m.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("must NOT have additional properties: \"{extra}\""));
    }
    let proto = |key: &str| -> Result<u64, String> {
        match m.get(key) {
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => match n.as_i64() {
                Some(i) if i >= 1 => Ok(i as u64),
                Some(_) => Err(format!("at /{key}: must be >= 1")),
                None => n
                    .as_u64()
                    .ok_or_else(|| format!("at /{key}: must be integer")),
            },
            _ => Err(format!("at /{key}: must be integer")),
        }
    };
    let min_protocol = proto("minProtocol")?;
    let max_protocol = proto("maxProtocol")?;
    let client = &m["client"];
    let Value::Object(c) = client else {
        return Err("at /client: must be object".into());
    };
    for key in ["id", "version", "platform", "mode"] {
        if !c.contains_key(key) {
            return Err(format!("at /client: must have required property '{key}'"));
        }
    }
    const CLIENT_KNOWN: &[&str] = &[
        "id",
        "displayName",
        "version",
        "platform",
        "deviceFamily",
        "modelIdentifier",
        "mode",
        "instanceId",
    ];
    if let Some(extra) = c.keys().find(|k| !CLIENT_KNOWN.contains(&k.as_str())) {
        return Err(format!(
            "at /client: must NOT have additional properties: \"{extra}\""
        ));
    }
    for (k, v) in c {
        if !v.is_string() {
            return Err(format!("at /client/{k}: must be string"));
        }
    }
    let client_id = c["id"].as_str().unwrap_or_default().to_string();
    if !ConnectClientId::ALL.iter().any(|x| x.as_str() == client_id) {
        return Err("at /client/id: must be equal to one of the allowed values".into());
    }
    let client_mode = c["mode"].as_str().unwrap_or_default().to_string();
    if !ConnectClientMode::ALL
        .iter()
        .any(|x| x.as_str() == client_mode)
    {
        return Err("at /client/mode: must be equal to one of the allowed values".into());
    }
    let strings = |key: &str| -> Result<Vec<String>, String> {
        match m.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("at /{key}/{i}: must be string"))
                })
                .collect(),
            Some(_) => Err(format!("at /{key}: must be array")),
        }
    };
    strings("caps")?;
    strings("commands")?;
    let scopes = strings("scopes")?;
    if let Some(p) = m.get("permissions") {
        let Value::Object(p) = p else {
            return Err("at /permissions: must be object".into());
        };
        if let Some((k, _)) = p.iter().find(|(_, v)| !v.is_boolean()) {
            return Err(format!("at /permissions/{k}: must be boolean"));
        }
    }
    for key in ["pathEnv", "role", "locale", "userAgent"] {
        if m.get(key).is_some_and(|v| !v.is_string()) {
            return Err(format!("at /{key}: must be string"));
        }
    }
    let auth = match m.get("auth") {
        None => None,
        Some(a @ Value::Object(o)) => {
            if let Some((k, _)) = o.iter().find(|(_, v)| !v.is_string()) {
                return Err(format!("at /auth/{k}: must be string"));
            }
            Some(a)
        }
        Some(_) => return Err("at /auth: must be object".into()),
    };
    let device = match m.get("device") {
        None => None,
        Some(d @ Value::Object(o)) => {
            for key in ["id", "publicKey", "signature", "signedAt"] {
                if !o.contains_key(key) {
                    return Err(format!("at /device: must have required property '{key}'"));
                }
            }
            Some(d.clone())
        }
        Some(_) => return Err("at /device: must be object".into()),
    };
    Ok(ConnectInfo {
        min_protocol,
        max_protocol,
        client_id,
        client_mode,
        client: client.clone(),
        role: m
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("operator")
            .to_string(),
        scopes,
        auth: Presented::from_params(auth),
        device,
    })
}

/// A refused `connect`: the error reply, then a close with this code.
#[derive(Debug)]
struct Refusal {
    error: RpcError,
    close: u16,
    /// Wait this long before answering (back-off after wrong credentials).
    delay: Duration,
}

impl Refusal {
    fn new(error: RpcError, close: u16) -> Refusal {
        Refusal {
            error,
            close,
            delay: Duration::ZERO,
        }
    }
}

fn auth_refusal(f: &auth::AuthFailure, delay: Duration) -> Refusal {
    let mut error = RpcError::invalid_request(f.message.clone()).with_details(f.details());
    if let Some(ms) = f.retry_after_ms {
        error.retryable = Some(true);
        error.retry_after_ms = Some(ms);
    }
    Refusal {
        error,
        close: 1008,
        delay,
    }
}

/// Is the browser origin acceptable: the gateway's own origin, or an allowed one.
fn origin_allowed(g: &Gateway, origin: &str, host: Option<&str>) -> bool {
    let origin = origin.trim_end_matches('/');
    if g.settings()
        .allowed_origins
        .iter()
        .any(|o| o == "*" || o.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some(host) = host else {
        return false;
    };
    let own = [format!("http://{host}"), format!("https://{host}")];
    own.iter().any(|o| o.eq_ignore_ascii_case(origin))
}

/// Everything `connect` decides, in OpenClaw's order: params, protocol, role, origin, auth,
/// device identity. Returns the session and the hello-ok payload.
async fn connect(
    g: &Gateway,
    req: &Request,
    up: &Upgrade,
    nonce: &str,
    conn_id: &str,
) -> Result<(Session, String, Option<(String, Value)>), Refusal> {
    let info = check_connect(&req.params).map_err(|e| {
        Refusal::new(
            RpcError::invalid_request(format!("invalid connect params: {e}")),
            1008,
        )
    })?;
    // Protocol: v4, or v3 for probe and node clients.
    let low_ok = matches!(info.client_mode.as_str(), "probe" | "node") || info.role == "node";
    let floor = if low_ok {
        MIN_PROBE_PROTOCOL_VERSION
    } else {
        PROTOCOL_VERSION
    };
    let protocol = if info.min_protocol <= info.max_protocol
        && info.min_protocol <= PROTOCOL_VERSION
        && info.max_protocol >= floor
    {
        info.max_protocol.min(PROTOCOL_VERSION)
    } else {
        return Err(Refusal::new(
            RpcError::invalid_request("protocol mismatch").with_details(json!({
                "code": "PROTOCOL_MISMATCH",
                "clientMinProtocol": info.min_protocol,
                "clientMaxProtocol": info.max_protocol,
                "expectedProtocol": PROTOCOL_VERSION,
                "minimumProbeProtocol": MIN_PROBE_PROTOCOL_VERSION,
            })),
            1002,
        ));
    };
    if info.role != "operator" && info.role != "node" {
        return Err(Refusal::new(
            RpcError::invalid_request("invalid role"),
            1008,
        ));
    }
    if let Some(origin) = &up.origin
        && !origin_allowed(g, origin, up.host.as_deref())
    {
        return Err(Refusal::new(
            RpcError::invalid_request(
                "origin not allowed (open the Control UI from the gateway host or allow it in gateway.controlUi.allowedOrigins)",
            )
            .with_details(json!({ "code": "CONTROL_UI_ORIGIN_NOT_ALLOWED", "reason": "origin not allowed" })),
            1008,
        ));
    }
    let ip = up.peer.ip();
    let local = ip.is_loopback();
    if let Some(remaining) = g.limiter().locked(ip, tokio::time::Instant::now()) {
        let f = auth::rate_limited(&info.client_id, &info.client_mode, local, remaining);
        return Err(auth_refusal(&f, Duration::ZERO));
    }
    let settings = &g.settings().auth;
    let shared = auth::check_shared(
        settings,
        &info.auth,
        &info.client_id,
        &info.client_mode,
        local,
    );
    let (method, device_id, device_token, scopes) = match shared {
        Err(f) => {
            let delay = g.limiter().failure(ip, tokio::time::Instant::now());
            tracing::info!(peer = %up.peer, reason = f.reason, "connect refused: bad credentials");
            return Err(auth_refusal(&f, delay));
        }
        Ok(Some(method)) => {
            g.limiter().success(ip);
            // Probes only check reachability: they get no operator scopes.
            let scopes = if info.client_mode == "probe" {
                Vec::new()
            } else {
                info.scopes.clone()
            };
            let device_id = info
                .device
                .as_ref()
                .and_then(|d| d.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string);
            (method, device_id, None, scopes)
        }
        Ok(None) => {
            let outcome = device_auth(g, &info, nonce, local).await;
            match outcome {
                Ok(d) => {
                    g.limiter().success(ip);
                    (d.method, Some(d.device_id), d.token, d.scopes)
                }
                Err(DeviceRefusal::Auth(f)) => {
                    let delay = g.limiter().failure(ip, tokio::time::Instant::now());
                    return Err(auth_refusal(&f, delay));
                }
                Err(DeviceRefusal::Other(r)) => return Err(r),
            }
        }
    };
    let config = g.config();
    let default_agent = g.default_agent_id();
    let mut auth_obj = json!({
        "method": method.as_str(),
        "role": info.role,
        "scopes": scopes,
    });
    if let (Some(t), Some(m)) = (&device_token, auth_obj.as_object_mut()) {
        m.insert("deviceToken".into(), json!(t));
        m.insert("issuedAtMs".into(), json!(now_ms()));
    }
    let presence_entry = presence_for(&info, up, conn_id, device_id.as_deref());
    // hello-ok is encoded straight to text (keys in alphabetical order, like every other payload);
    // the constant `features` part is encoded once per process.
    let health = g.health_json();
    let mut hello = String::with_capacity(2048 + health.len());
    hello.push_str("{\"auth\":");
    frames::push_json(&mut hello, &auth_obj);
    hello.push_str(",\"features\":");
    hello.push_str(features_json());
    let _ = write!(
        hello,
        ",\"policy\":{{\"maxBufferedBytes\":{},\"maxPayload\":{},\"tickIntervalMs\":{}}},\"protocol\":{protocol}",
        g.settings().max_buffered,
        g.settings().max_payload,
        u64::try_from(g.settings().tick_interval.as_millis()).unwrap_or(u64::MAX),
    );
    hello.push_str(",\"server\":{\"bootId\":");
    frames::push_json_str(&mut hello, g.boot_id());
    hello.push_str(",\"buildId\":");
    frames::push_json_str(&mut hello, super::BUILD_ID);
    hello.push_str(",\"connId\":");
    frames::push_json_str(&mut hello, conn_id);
    hello.push_str(",\"version\":");
    frames::push_json_str(&mut hello, super::SERVER_VERSION);
    hello.push_str("},\"snapshot\":{\"authMode\":");
    frames::push_json_str(&mut hello, settings.effective_mode().as_str());
    hello.push_str(",\"configPath\":");
    frames::push_json_str(&mut hello, &config.path.display().to_string());
    hello.push_str(",\"health\":");
    hello.push_str(&health);
    hello.push_str(",\"presence\":");
    hello.push_str(&g.presence_json());
    hello.push_str(",\"sessionDefaults\":{\"defaultAgentId\":");
    frames::push_json_str(&mut hello, &default_agent);
    hello.push_str(",\"mainKey\":\"main\",\"mainSessionKey\":");
    frames::push_json_str(&mut hello, &format!("agent:{default_agent}:main"));
    hello.push_str(",\"scope\":\"per-sender\"},\"stateDir\":");
    frames::push_json_str(&mut hello, &g.settings().state_dir.display().to_string());
    hello.push_str(",\"stateVersion\":");
    hello.push_str(&g.state_version_json());
    let _ = write!(
        hello,
        ",\"uptimeMs\":{}}},\"type\":\"hello-ok\"}}",
        g.uptime_ms()
    );
    let session = Session {
        conn_id: Arc::from(conn_id),
        role: info.role.clone(),
        scopes: scopes.into_iter().collect(),
        writer_key: Arc::from(format!(
            "{}|{}",
            device_id.as_deref().unwrap_or("-"),
            up.peer.ip()
        )),
    };
    Ok((session, hello, presence_entry))
}

/// The presence entry of a client: CLI and probe clients are not tracked.
fn presence_for(
    info: &ConnectInfo,
    up: &Upgrade,
    conn_id: &str,
    device_id: Option<&str>,
) -> Option<(String, Value)> {
    if matches!(info.client_mode.as_str(), "cli" | "probe") || info.client_id == "cli" {
        return None;
    }
    let c = &info.client;
    let instance = c.get("instanceId").and_then(Value::as_str);
    let key = device_id.or(instance).unwrap_or(conn_id).to_string();
    let mut entry = json!({
        "ip": up.peer.ip().to_string(),
        "version": c["version"],
        "platform": c["platform"],
        "mode": info.client_mode,
        "reason": "connect",
        "roles": [info.role],
        "scopes": info.scopes,
        "ts": now_ms(),
    });
    if let Some(m) = entry.as_object_mut() {
        for (from, to) in [
            ("displayName", "host"),
            ("deviceFamily", "deviceFamily"),
            ("modelIdentifier", "modelIdentifier"),
            ("instanceId", "instanceId"),
        ] {
            if let Some(v) = c.get(from) {
                m.insert(to.into(), v.clone());
            }
        }
        if let Some(d) = device_id {
            m.insert("deviceId".into(), json!(d));
        }
    }
    Some((key, entry))
}

/// A device that authenticated by identity (signature) or device token.
#[derive(Debug)]
struct DeviceAuth {
    method: AuthMethod,
    device_id: String,
    token: Option<String>,
    scopes: Vec<String>,
}

#[derive(Debug)]
enum DeviceRefusal {
    Auth(auth::AuthFailure),
    Other(Refusal),
}

/// Authentication without a shared secret: a device identity (signed challenge), optionally with
/// its device token. Loopback devices are paired on first sight; others need approval.
async fn device_auth(
    g: &Gateway,
    info: &ConnectInfo,
    nonce: &str,
    local: bool,
) -> Result<DeviceAuth, DeviceRefusal> {
    let Some(device) = &info.device else {
        return Err(DeviceRefusal::Other(Refusal::new(
            RpcError::new(
                crate::generated::protocol::ErrorCode::NotPaired,
                "device identity required",
            )
            .with_details(json!({ "code": "DEVICE_IDENTITY_REQUIRED" })),
            1008,
        )));
    };
    pairing::authenticate(g, info_view(info), device, nonce, local)
        .await
        .map(|d| DeviceAuth {
            method: if d.used_device_token {
                AuthMethod::DeviceToken
            } else {
                AuthMethod::None
            },
            device_id: d.device_id,
            token: d.issued_token,
            scopes: d.scopes,
        })
        .map_err(|e| match e {
            pairing::Rejection::Auth(f) => DeviceRefusal::Auth(f),
            pairing::Rejection::Protocol { error, close } => {
                DeviceRefusal::Other(Refusal::new(error, close))
            }
        })
}

fn info_view(info: &ConnectInfo) -> pairing::ConnectView<'_> {
    pairing::ConnectView {
        client_id: &info.client_id,
        client_mode: &info.client_mode,
        platform: info.client.get("platform").and_then(Value::as_str),
        device_family: info.client.get("deviceFamily").and_then(Value::as_str),
        role: &info.role,
        scopes: &info.scopes,
        token: info
            .auth
            .token
            .as_deref()
            .or(info.auth.device_token.as_deref()),
        device_token: info.auth.device_token.as_deref(),
    }
}

/// Sends an error reply and closes.
fn refuse(outbox: &Outbox, id: &str, r: &Refusal) {
    outbox.text(frames::response_err(id, &r.error));
    outbox.close(r.close, &r.error.message);
}

/// Methods cheap enough to answer on the reading task (no I/O, small payloads).
fn runs_inline(m: Method) -> bool {
    !matches!(
        m,
        Method::LogsTail
            | Method::ConfigGet
            | Method::ConfigSchema
            | Method::ConfigSchemaLookup
            | Method::ConfigSet
            | Method::ConfigPatch
            | Method::ConfigApply
    )
}

/// `features` of hello-ok: every method but `connect`, and every event. Encoded once.
fn features_json() -> &'static str {
    static FEATURES: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FEATURES.get_or_init(|| {
        let methods: Vec<&str> = Method::ALL
            .iter()
            .filter(|m| **m != Method::Connect)
            .map(Method::as_str)
            .collect();
        json!({ "events": Event::NAMES, "methods": methods }).to_string()
    })
}

/// Writes one text frame straight to the socket (used before the writer task starts).
async fn write_direct<W: AsyncWrite + Unpin>(
    ws: &mut fastwebsockets::WebSocketWrite<BufWriter<W>>,
    text: String,
    limit: Duration,
) -> bool {
    let write = async {
        ws.write_frame(Frame::text(Payload::Owned(text.into_bytes())))
            .await?;
        ws.flush().await
    };
    matches!(tokio::time::timeout(limit, write).await, Ok(Ok(())))
}

/// Runs one upgraded WebSocket to the end. `preamble` (the `101` response, when the upgrade was
/// answered without hyper) goes out in the same write as the challenge.
pub async fn run(g: Gateway, io: Io, up: Upgrade, preamble: Option<Vec<u8>>) {
    let (r, w) = tokio::io::split(io);
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    if let Some(head) = preamble {
        // Lands in the (empty, 64 KiB) buffer; the challenge's flush sends both.
        if w.write_all(&head).await.is_err() {
            return;
        }
    }
    let (mut rx, tx) = fastwebsockets::after_handshake_split(r, w, fastwebsockets::Role::Server);
    rx.set_max_message_size(g.settings().max_preauth + 1);
    rx.set_auto_close(true);
    rx.set_auto_pong(true);
    let (otx, orx) = mpsc::unbounded_channel();
    let kill = CancellationToken::new();
    let buffered = Arc::new(AtomicUsize::new(0));
    let outbox = Outbox {
        tx: otx,
        buffered: buffered.clone(),
        max: g.settings().max_buffered,
        kill: kill.clone(),
        events: Arc::new(AtomicBool::new(false)),
    };
    let conn_num = g.next_conn_id();
    let conn_id = uuid::Uuid::new_v4().to_string();
    let nonce = uuid::Uuid::new_v4().to_string();
    // The challenge and hello-ok are written from this task, straight to the socket: handing them
    // to the writer task would put a task wake-up on the handshake's critical path. Anything the
    // handshake queues instead (a refusal, a close, a pong) waits in the outbox until the writer
    // starts below.
    let mut tx = tx;
    let write_limit = g.settings().handshake_timeout;
    let challenge = frames::event(
        "connect.challenge",
        &json!({ "nonce": nonce, "ts": now_ms() }),
        None,
        None,
    );
    let mut session = None;
    if write_direct(&mut tx, challenge, write_limit).await {
        session = handshake(&g, &mut rx, &outbox, &up, &nonce, &conn_id).await;
    }
    // hello-ok first; then a fresh health snapshot as the connection's first event (seq 1), built
    // after hello-ok is on the wire (off its critical path) and written from this task too, so the
    // connect costs no writer-task wake-up. The client is registered before the snapshot, so it
    // counts itself; its other events stay off until the writer runs.
    let mut first_seq = 0;
    if let Some((_, presence, hello)) = &mut session {
        if write_direct(&mut tx, std::mem::take(hello), write_limit).await {
            g.add_client(conn_num, outbox.clone(), presence.take());
            let health = g.refresh_health();
            let health =
                frames::event_raw("health", &health, Some(1), Some(&g.state_version_json()));
            if write_direct(&mut tx, health, write_limit).await {
                first_seq = 1;
            } else {
                g.remove_client(conn_num);
                session = None;
            }
        } else {
            session = None;
        }
    }
    let writer_task = tokio::spawn(writer(tx, orx, buffered, kill.clone(), first_seq));
    if let Some((session, _, _)) = session {
        tracing::debug!(conn = %session.conn_id, peer = %up.peer, role = %session.role, "client connected");
        outbox.events.store(true, Ordering::Release);
        rx.set_max_message_size(g.settings().max_payload + 1);
        serve_requests(&g, &mut rx, &outbox, &session).await;
        g.remove_client(conn_num);
        tracing::debug!(conn = %session.conn_id, "client disconnected");
    }
    // Let the writer finish what is queued (a close frame at most a moment later).
    drop(outbox);
    match tokio::time::timeout(Duration::from_secs(2), writer_task).await {
        Ok(_) => {}
        Err(_) => kill.cancel(),
    }
}

async fn handshake(
    g: &Gateway,
    rx: &mut WebSocketRead<ReadHalf<Io>>,
    outbox: &Outbox,
    up: &Upgrade,
    nonce: &str,
    conn_id: &str,
) -> Option<(Session, Option<(String, Value)>, String)> {
    let limit = g.settings().max_preauth;
    let generation = g.generation_token();
    let first = tokio::select! {
        biased;
        _ = generation.cancelled() => {
            outbox.close(1012, "service restart");
            return None;
        }
        m = tokio::time::timeout(g.settings().handshake_timeout, next_message(rx, outbox, limit)) => m,
    };
    let bytes = match first {
        Err(_elapsed) => {
            outbox.close(1000, "");
            return None;
        }
        Ok(Err(WebSocketError::FrameTooLarge)) => {
            outbox.close(1009, "payload too large before handshake");
            return None;
        }
        Ok(Err(_)) | Ok(Ok(None)) => return None,
        Ok(Ok(Some(b))) => b,
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        outbox.close(1000, "");
        return None;
    };
    let Ok(req) = frames::parse_request(v) else {
        outbox.close(1008, "invalid request frame");
        return None;
    };
    if req.method != "connect" {
        let r = Refusal::new(
            RpcError::invalid_request("invalid handshake: first request must be connect"),
            1008,
        );
        refuse(outbox, &req.id, &r);
        return None;
    }
    match connect(g, &req, up, nonce, conn_id).await {
        Ok((session, hello, presence)) => {
            Some((session, presence, frames::response_raw(&req.id, &hello)))
        }
        Err(r) => {
            if !r.delay.is_zero() {
                tokio::time::sleep(r.delay).await;
            }
            refuse(outbox, &req.id, &r);
            None
        }
    }
}

async fn serve_requests(
    g: &Gateway,
    rx: &mut WebSocketRead<ReadHalf<Io>>,
    outbox: &Outbox,
    session: &Session,
) {
    let max_inflight = g.settings().max_inflight_per_conn.max(1);
    let inflight = Arc::new(Semaphore::new(max_inflight));
    let limit = g.settings().max_payload;
    // Cancelled when the gateway stops or restarts in-process.
    let shutdown = g.generation_token();
    let graceful = loop {
        let msg = tokio::select! {
            biased;
            _ = outbox.kill.cancelled() => break false,
            _ = shutdown.cancelled() => break true,
            m = next_message(rx, outbox, limit) => m,
        };
        let bytes = match msg {
            Ok(Some(b)) => b,
            Err(WebSocketError::FrameTooLarge) => {
                outbox.close(1009, "payload too large");
                break false;
            }
            Ok(None) | Err(_) => break false,
        };
        // The common case without a JSON tree; the slow path words errors like OpenClaw.
        if let Some(fast) = frames::fast_request(&bytes) {
            let params = if fast.params_empty() {
                Value::Null
            } else {
                fast.params_value()
            };
            handle(
                g,
                outbox,
                session,
                &inflight,
                &fast.id,
                &fast.method,
                params,
            )
            .await;
            continue;
        }
        // Malformed JSON after the handshake is ignored, as OpenClaw does.
        let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let req = match frames::parse_request(v) {
            Ok(r) => r,
            Err(e) => {
                let id = e.id.clone().unwrap_or_else(|| "invalid".into());
                outbox.text(frames::response_err(&id, &e.to_rpc()));
                continue;
            }
        };
        handle(
            g,
            outbox,
            session,
            &inflight,
            &req.id,
            &req.method,
            req.params,
        )
        .await;
    };
    if graceful {
        let payload: Arc<str> = if g.shutdown_token().is_cancelled() {
            Arc::from(r#"{"reason":"gateway stopping"}"#)
        } else {
            Arc::from(format!(
                r#"{{"reason":"gateway restarting","restartExpectedMs":{}}}"#,
                super::RESTART_EXPECTED_MS
            ))
        };
        outbox.event("shutdown", payload, None);
        // Drain: let running requests answer before the close frame.
        let _ = tokio::time::timeout(
            Duration::from_millis(500),
            inflight.acquire_many(u32::try_from(max_inflight).unwrap_or(u32::MAX)),
        )
        .await;
        outbox.close(1012, "service restart");
    }
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    g: &Gateway,
    outbox: &Outbox,
    session: &Session,
    inflight: &Arc<Semaphore>,
    id: &str,
    method_name: &str,
    params: Value,
) {
    if method_name == "connect" {
        outbox.text(frames::response_err(id, &RpcError::connect_not_first()));
        return;
    }
    let Some(method) = Method::from_wire(method_name) else {
        let e = RpcError::invalid_request(format!("unknown method: {method_name}"));
        outbox.text(frames::response_err(id, &e));
        return;
    };
    if let Err(e) = session.allows(method) {
        outbox.text(frames::response_err(id, &e));
        return;
    }
    // The cached health snapshot is already encoded: answer it without re-encoding.
    if method == Method::Health && params.is_null() {
        outbox.text(frames::response_raw(id, &g.health_json()));
        return;
    }
    let handler = super::handlers::Handlers::new(g.clone(), session.conn_id.clone())
        .with_writer_key(session.writer_key.clone());
    if runs_inline(method) {
        let reply = match dispatch(&handler, method, params).await {
            Ok(v) => frames::response_ok(id, &v),
            Err(e) => frames::response_err(id, &e),
        };
        outbox.text(reply);
        return;
    }
    let id = id.to_string();
    // Bounded per connection (wait: TCP backpressure) and globally (refuse: busy).
    let Ok(permit) = inflight.clone().acquire_owned().await else {
        return;
    };
    let Ok(global) = g.admission().clone().try_acquire_owned() else {
        let e = RpcError::new(
            crate::generated::protocol::ErrorCode::Unavailable,
            "The server is busy. Please try again in a moment.",
        );
        let e = RpcError {
            retryable: Some(true),
            ..e
        };
        outbox.text(frames::response_err(&id, &e));
        return;
    };
    let outbox = outbox.clone();
    g.tracker().spawn(async move {
        let reply = match dispatch(&handler, method, params).await {
            Ok(v) => frames::response_ok(&id, &v),
            Err(e) => frames::response_err(&id, &e),
        };
        outbox.text(reply);
        drop((permit, global));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_params_are_checked_like_openclaw() {
        let ok = json!({"minProtocol":4,"maxProtocol":4,"client":{"id":"cli","version":"1","platform":"linux","mode":"cli"},"auth":{"token":"t"}});
        let info = check_connect(&ok).expect("valid");
        assert_eq!(info.role, "operator");
        assert_eq!(info.auth.token.as_deref(), Some("t"));
        let err = |v: Value| check_connect(&v).expect_err("an error");
        assert_eq!(
            err(json!({"minProtocol":4,"maxProtocol":4})),
            "must have required property 'client'"
        );
        assert_eq!(
            err(
                json!({"minProtocol":0,"maxProtocol":100,"client":{"id":"cli","version":"1","platform":"linux","mode":"cli"}})
            ),
            "at /minProtocol: must be >= 1"
        );
        assert_eq!(
            err(
                json!({"minProtocol":4,"maxProtocol":4,"client":{"id":"my-rust-client","version":"1","platform":"linux","mode":"cli"}})
            ),
            "at /client/id: must be equal to one of the allowed values"
        );
        assert_eq!(
            err(
                json!({"minProtocol":4,"maxProtocol":4,"client":{"id":"cli","version":"1","platform":"linux","mode":"bogus"}})
            ),
            "at /client/mode: must be equal to one of the allowed values"
        );
        assert_eq!(
            err(
                json!({"minProtocol":4,"maxProtocol":4,"client":{"id":"cli","version":"1","platform":"linux","mode":"cli"},"x":1})
            ),
            "must NOT have additional properties: \"x\""
        );
    }
}
