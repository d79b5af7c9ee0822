//! Replays the client-author fixtures under `fixtures/protocol/` (format: `fixtures/README.md`)
//! against a live gateway over a real loopback socket, with tokio-tungstenite as the independent
//! client.
//!
//! Every fixture starts its own gateway (so `seq`, `stateVersion` and presence start fresh), is
//! checked against its expected frames (placeholders such as `"<ts>"` match by type) and its
//! actual frames are snapshotted with insta, one snapshot per fixture file (`insta::glob!`).
//!
//! * `method_fixtures`: `fixtures/protocol/<method>/<case>.json`, one request and its response;
//! * `transcript_fixtures`: `handshake/*.json` and `frames/*.json`, ordered frame lists ending in
//!   a close (or a clean client-side close);
//! * `event_fixtures`: `events/<event>.json`, one server-pushed event and how it is triggered.
//!
//! Every wait is bounded by [`WAIT`]; nothing sleeps to synchronise. Only the fixtures that are
//! about time (handshake timeout, tick, health refresh) use short real-time settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use openclaw_runtime as runtime;
use runtime::config::MapEnv;
use runtime::gateway::logfile::LogTarget;
use runtime::gateway::{ConfigState, Running, Settings};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The shared token every fixture gateway is started with.
const TOKEN: &str = "test-token";
/// Upper bound for every single wait on the socket.
const WAIT: Duration = Duration::from_secs(10);
/// Values serialised larger than this are elided from snapshots (the config schema).
const ELIDE_BYTES: usize = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// Fixture files

/// Gateway settings a fixture may change (everything else is `Settings::new`'s default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GatewayOpts {
    tick_interval_ms: Option<u64>,
    health_refresh_ms: Option<u64>,
    handshake_timeout_ms: Option<u64>,
    max_buffered_bytes: Option<usize>,
    /// Written to a log file the gateway then serves through `logs.tail`.
    log_lines: Option<Vec<String>>,
    /// Run from a copy of `config` in a temp dir, with hot reload and RPC config writes on.
    #[serde(default)]
    writable_config: bool,
    /// `config.*` writes allowed per writer per minute (default 3).
    config_writes_per_window: Option<usize>,
}

/// `fixtures/protocol/<method>/<case>.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MethodFixture {
    doc: String,
    config: Option<String>,
    #[serde(default)]
    gateway: GatewayOpts,
    connect: Option<Map<String, Value>>,
    request: Value,
    #[serde(default)]
    events: Vec<Value>,
    response: Value,
    #[allow(dead_code)]
    openclaw: Option<Value>,
}

/// One step of a transcript.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    dir: String,
    json: Option<Value>,
    text: Option<String>,
    binary: Option<Value>,
    filler: Option<usize>,
    repeat: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Close {
    code: u16,
    reason: String,
}

/// `fixtures/protocol/{handshake,frames}/<case>.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Transcript {
    doc: String,
    config: Option<String>,
    #[serde(default)]
    gateway: GatewayOpts,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    frames: Vec<Step>,
    #[serde(default)]
    drain_before_close: bool,
    close: Option<Close>,
    /// Several endings are correct (e.g. a close frame, or a dropped socket when the client's
    /// receive buffer is full); the transcript then records this list, not which one happened.
    #[serde(default)]
    close_any_of: Vec<Close>,
    #[allow(dead_code)]
    openclaw: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Trigger {
    /// The first frame on a fresh socket.
    Open,
    /// Right after `hello-ok`.
    Connect,
    /// After the post-connect `health` event, with a short `tickIntervalMs`.
    Tick,
    /// After the post-connect `health` event, with a short `healthRefreshMs`.
    HealthRefresh,
    /// A second client (`peer` connect overrides) connects.
    PeerConnect,
    /// The gateway is stopped (`Running::stop`).
    Stop,
}

/// `fixtures/protocol/events/<event>.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventFixture {
    doc: String,
    trigger: Trigger,
    #[serde(default)]
    gateway: GatewayOpts,
    connect: Option<Map<String, Value>>,
    peer: Option<Map<String, Value>>,
    event: Value,
    close: Option<Close>,
    #[allow(dead_code)]
    openclaw: Option<Value>,
}

fn fixtures_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/protocol");
    std::fs::canonicalize(&p).unwrap_or(p)
}

fn load<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).expect("read fixture");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Matching expected frames (placeholders match by type)

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Whether `actual` satisfies the placeholder `p`; `None` when `p` is no placeholder.
fn placeholder(p: &str, actual: &Value) -> Option<bool> {
    let now = runtime::gateway::state::now_ms();
    Some(match p {
        "<any>" => true,
        "<string>" => actual.is_string(),
        "<number>" => actual.is_number(),
        "<integer>" => actual.is_i64() || actual.is_u64(),
        "<bool>" => actual.is_boolean(),
        "<object>" => actual.is_object(),
        "<array>" => actual.is_array(),
        "<uuid>" => actual.as_str().is_some_and(is_uuid),
        // Epoch milliseconds within a day of now.
        "<ts>" => actual
            .as_u64()
            .is_some_and(|t| t.abs_diff(now) < 86_400_000),
        _ => return None,
    })
}

/// Compares `actual` with `expected`; objects must have exactly the expected keys.
fn compare(expected: &Value, actual: &Value, at: &str, errs: &mut Vec<String>) {
    if let Value::String(p) = expected
        && let Some(ok) = placeholder(p, actual)
    {
        if !ok {
            errs.push(format!("{at}: expected {p}, got {actual}"));
        }
        return;
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => compare(ev, av, &format!("{at}.{k}"), errs),
                    None => errs.push(format!("{at}.{k}: missing (expected {ev})")),
                }
            }
            for (k, av) in a {
                if !e.contains_key(k) {
                    errs.push(format!("{at}.{k}: unexpected key (value {av})"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                errs.push(format!(
                    "{at}: expected {} items, got {}: {actual}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare(ev, av, &format!("{at}[{i}]"), errs);
            }
        }
        _ if expected == actual => {}
        _ => errs.push(format!("{at}: expected {expected}, got {actual}")),
    }
}

// ---------------------------------------------------------------------------------------------
// A live gateway

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ocrs-protofx-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(std::fs::canonicalize(&dir).expect("canonical temp dir"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Live {
    running: Option<Running>,
    dir: TempDir,
}

impl Live {
    async fn start(config: Option<&str>, opts: &GatewayOpts) -> Live {
        let dir = TempDir::new();
        let state = dir.0.join("state");
        std::fs::create_dir_all(&state).expect("state dir");
        let writable = opts.writable_config.then(|| {
            let copy = dir.0.join("openclaw.json");
            if let Some(rel) = config {
                std::fs::copy(fixtures_root().join(rel), &copy).expect("copy the fixture config");
            }
            copy
        });
        let cfg = match config {
            Some(_) if writable.is_some() => {
                let path = writable.clone().expect("writable copy");
                let checked = runtime::config::check_file(&path, &MapEnv::default());
                ConfigState::from_checked(&checked)
            }
            Some(rel) => {
                let path = fixtures_root().join(rel);
                let checked = runtime::config::check_file(&path, &MapEnv::default());
                ConfigState::from_checked(&checked)
            }
            None => ConfigState::missing(state.join("openclaw.json")),
        };
        let mut s = Settings::new(cfg, state.clone());
        s.auth.token = Some(TOKEN.into());
        if let Some(ms) = opts.tick_interval_ms {
            s.tick_interval = Duration::from_millis(ms);
        }
        if let Some(ms) = opts.health_refresh_ms {
            s.health_refresh_interval = Duration::from_millis(ms);
        }
        if let Some(ms) = opts.handshake_timeout_ms {
            s.handshake_timeout = Duration::from_millis(ms);
        }
        if let Some(n) = opts.max_buffered_bytes {
            s.max_buffered = n;
        }
        if let Some(lines) = &opts.log_lines {
            let file = state.join("logs").join("gateway.log");
            std::fs::create_dir_all(state.join("logs")).expect("log dir");
            let mut text = lines.join("\n");
            text.push('\n');
            std::fs::write(&file, text).expect("write log file");
            s.log_file = Some(LogTarget::Fixed(file));
        }
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        if let Some(n) = opts.config_writes_per_window {
            s.config_writes_per_window = n;
        }
        let running = match writable {
            Some(copy) => {
                let env = MapEnv::new([
                    ("HOME", dir.0.to_str().expect("utf-8 temp dir")),
                    ("OPENCLAW_CONFIG_PATH", copy.to_str().expect("utf-8 path")),
                    ("OPENCLAW_STATE_DIR", state.to_str().expect("utf-8 path")),
                    ("OPENCLAW_GATEWAY_TOKEN", TOKEN),
                ]);
                let opts = runtime::gateway::startup::StartOptions {
                    cwd: dir.0.clone(),
                    allow_unconfigured: true,
                    ..Default::default()
                };
                let reloader = std::sync::Arc::new(runtime::gateway::reload::Reloader::new(
                    opts,
                    None,
                    std::sync::Arc::new(env),
                ));
                runtime::gateway::serve_with_reload(s, vec![l], CancellationToken::new(), reloader)
                    .expect("serve")
            }
            None => runtime::gateway::serve(s, vec![l], CancellationToken::new()).expect("serve"),
        };
        Live {
            running: Some(running),
            dir,
        }
    }

    fn url(&self) -> String {
        let r = self.running.as_ref().expect("running");
        format!("ws://{}", r.addrs[0])
    }

    async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop(Duration::from_millis(500)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The client

/// What the client saw next.
enum Got {
    Frame(Value),
    /// A text frame that is not JSON, or a binary frame.
    Other(String),
    Close(u16, String),
    /// The connection ended without a close frame (EOF, reset, protocol error).
    Dropped(String),
    Timeout,
}

impl std::fmt::Display for Got {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Got::Frame(v) => write!(f, "frame {v}"),
            Got::Other(s) => write!(f, "{s}"),
            Got::Close(code, reason) => write!(f, "close {code} {reason:?}"),
            Got::Dropped(why) => write!(f, "connection dropped without a close frame ({why})"),
            Got::Timeout => write!(f, "nothing within {WAIT:?}"),
        }
    }
}

impl Got {
    fn describe(&self) -> Value {
        match self {
            Got::Frame(v) => json!({ "dir": "S->C", "json": v }),
            Got::Other(s) => json!({ "dir": "S->C", "other": s }),
            Got::Close(code, reason) => json!({ "close": { "code": code, "reason": reason } }),
            Got::Dropped(_) => json!({ "close": { "code": 1006, "reason": "" } }),
            Got::Timeout => json!({ "timeout": true }),
        }
    }

    fn ended(&self) -> bool {
        !matches!(self, Got::Frame(_) | Got::Other(_))
    }
}

struct Client {
    ws: Ws,
}

impl Client {
    async fn open(url: &str, headers: &BTreeMap<String, String>) -> Client {
        let mut req = url.into_client_request().expect("client request");
        for (k, v) in headers {
            let name: tokio_tungstenite::tungstenite::http::HeaderName =
                k.parse().expect("header name");
            req.headers_mut()
                .insert(name, HeaderValue::from_str(v).expect("header value"));
        }
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
            .await
            .expect("upgrade in time")
            .expect("upgrade");
        Client { ws }
    }

    async fn recv(&mut self) -> Got {
        loop {
            let m = match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => return Got::Timeout,
                Ok(m) => m,
            };
            return match m {
                Some(Ok(Message::Text(t))) => match serde_json::from_str(t.as_str()) {
                    Ok(v) => Got::Frame(v),
                    Err(_) => Got::Other(t.to_string()),
                },
                Some(Ok(Message::Binary(b))) => Got::Other(format!("binary {} bytes", b.len())),
                Some(Ok(Message::Close(Some(CloseFrame { code, reason })))) => {
                    Got::Close(u16::from(code), reason.to_string())
                }
                Some(Ok(Message::Close(None))) => Got::Close(1005, String::new()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => Got::Dropped(e.to_string()),
                None => Got::Dropped("end of stream".into()),
            };
        }
    }

    async fn send(&mut self, m: Message) -> bool {
        matches!(
            tokio::time::timeout(WAIT, self.ws.send(m)).await,
            Ok(Ok(()))
        )
    }

    async fn send_json(&mut self, v: &Value) -> bool {
        self.send(Message::text(v.to_string())).await
    }

    /// Closes from the client side; returns what the server answered (its close echo).
    async fn close(&mut self) -> Got {
        let _ = tokio::time::timeout(WAIT, self.ws.close(None)).await;
        match self.recv().await {
            Got::Frame(v) => Got::Other(format!("unexpected frame while closing: {v}")),
            Got::Other(s) => Got::Other(format!("unexpected data while closing: {s}")),
            end => end,
        }
    }
}

/// The default `connect` params, with a fixture's overrides applied (`null` removes a key).
fn connect_frame(id: &str, overrides: Option<&Map<String, Value>>) -> Value {
    let mut params = json!({
        "minProtocol": 4,
        "maxProtocol": 4,
        "client": { "id": "cli", "version": "0.0.1-fixture", "platform": "linux", "mode": "cli" },
        "role": "operator",
        "scopes": ["operator.admin"],
        "auth": { "token": TOKEN },
    });
    if let (Some(o), Some(p)) = (overrides, params.as_object_mut()) {
        for (k, v) in o {
            if v.is_null() {
                p.remove(k);
            } else {
                p.insert(k.clone(), v.clone());
            }
        }
    }
    json!({ "type": "req", "id": id, "method": "connect", "params": params })
}

/// Opens a socket and completes the handshake: challenge, connect, hello-ok and the `health`
/// event the gateway pushes right after it.
async fn connected(live: &Live, overrides: Option<&Map<String, Value>>) -> Result<Client, String> {
    let mut c = Client::open(&live.url(), &BTreeMap::new()).await;
    match c.recv().await {
        Got::Frame(v) if v["event"] == "connect.challenge" => {}
        other => return Err(format!("expected connect.challenge, got {other}")),
    }
    c.send_json(&connect_frame("c1", overrides)).await;
    match c.recv().await {
        Got::Frame(v) if v["ok"] == true && v["payload"]["type"] == "hello-ok" => {}
        other => return Err(format!("expected hello-ok, got {other}")),
    }
    match c.recv().await {
        Got::Frame(v) if v["event"] == "health" => {}
        other => {
            return Err(format!(
                "expected the post-connect health event, got {other}"
            ));
        }
    }
    Ok(c)
}

// ---------------------------------------------------------------------------------------------
// Snapshots: volatile values are normalised here (paths, host, platform, huge values) and
// redacted by key in `snapshot` (ids, timestamps, nonces).

struct Normalizer {
    temp: String,
    fixtures: String,
    host: String,
    platform: String,
    version: &'static str,
}

impl Normalizer {
    fn new(live: &Live) -> Normalizer {
        Normalizer {
            temp: live.dir.0.display().to_string(),
            fixtures: fixtures_root().display().to_string(),
            host: runtime::gateway::state::hostname(),
            // The gateway reports `<os> <kernel release>` (machine-specific).
            platform: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|r| format!("{} {}", std::env::consts::OS, r.trim()))
                .unwrap_or_else(|_| std::env::consts::OS.to_string()),
            version: runtime::gateway::SERVER_VERSION,
        }
    }

    /// Normalises `v` in place: children first, then a value still larger than [`ELIDE_BYTES`]
    /// is replaced by a short note (so the config schema does not fill the snapshot).
    fn apply(&self, v: &mut Value, key: Option<&str>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    self.apply(child, Some(k));
                }
            }
            Value::Array(a) => {
                for child in a.iter_mut() {
                    self.apply(child, key);
                }
            }
            Value::String(s) => {
                if is_uuid(s) {
                    *s = "[uuid]".into();
                    return;
                }
                let mut out = s
                    .replace(&self.temp, "[tmp]")
                    .replace(&self.fixtures, "[fixtures]");
                if matches!(key, Some("host" | "text")) {
                    out = out.replace(&self.host, "[host]");
                }
                if matches!(key, Some("platform" | "text")) {
                    out = out.replace(&self.platform, "[os release]");
                }
                if matches!(key, Some("version" | "runtimeVersion" | "text")) {
                    out = out.replace(self.version, "[server-version]");
                }
                *s = out;
            }
            _ => {}
        }
        let large = serde_json::to_string(v).map_or(0, |s| s.len()) > ELIDE_BYTES;
        if large {
            *v = json!(match v {
                Value::Object(_) => "[elided: large object]",
                Value::Array(_) => "[elided: large array]",
                _ => "[elided: large value]",
            });
        }
    }
}

fn snapshot(kind: &str, doc: &str, value: &Value) {
    let mut settings = insta::Settings::clone_current();
    settings.set_description(doc);
    let _guard = settings.bind_to_scope();
    insta::assert_json_snapshot!(kind, value, {
        ".**.ts" => "[ts]",
        ".**.nonce" => "[nonce]",
        ".**.connId" => "[connId]",
        ".**.buildId" => "[buildId]",
        ".**.uptimeMs" => "[uptimeMs]",
        ".**.startedAtMs" => "[epoch-ms]",
        ".**.issuedAtMs" => "[epoch-ms]",
        ".**.durationMs" => "[durationMs]",
        ".**.generatedAt" => "[generatedAt]",
    });
}

/// Runs `f` for every fixture matching `pattern`, snapshotting what it returns; fails at the end
/// with every fixture whose frames did not match.
fn replay<F, Fut>(kind: &str, pattern: &str, skip_dirs: &[&str], f: F)
where
    F: Fn(PathBuf) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut failures = Vec::new();
    insta::glob!("../../fixtures/protocol", pattern, |path| {
        let rel = path
            .strip_prefix(fixtures_root())
            .unwrap_or(path)
            .to_path_buf();
        if rel
            .components()
            .next()
            .is_some_and(|c| skip_dirs.iter().any(|d| c.as_os_str() == *d))
        {
            return;
        }
        let out = rt.block_on(f(path.to_path_buf()));
        if !out.errs.is_empty() {
            failures.push(format!("{}:\n  {}", rel.display(), out.errs.join("\n  ")));
        }
        snapshot(kind, &out.doc, &out.actual);
    });
    assert!(
        failures.is_empty(),
        "{} fixture(s) did not match the live gateway:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Runners

/// What replaying one fixture produced.
struct Outcome {
    /// The fixture's `doc`, shown in the snapshot header.
    doc: String,
    /// The frames actually exchanged, normalised for the snapshot.
    actual: Value,
    /// Every difference from the expected frames.
    errs: Vec<String>,
}

async fn run_method(path: PathBuf) -> Outcome {
    let fx: MethodFixture = load(&path);
    let mut live = Live::start(fx.config.as_deref(), &fx.gateway).await;
    let norm = Normalizer::new(&live);
    let mut errs = Vec::new();
    let mut c = match connected(&live, fx.connect.as_ref()).await {
        Ok(c) => c,
        Err(e) => {
            live.stop().await;
            return Outcome {
                doc: fx.doc,
                actual: json!({ "error": e }),
                errs: vec![e],
            };
        }
    };
    c.send_json(&fx.request).await;
    let mut events = Vec::new();
    let response = loop {
        match c.recv().await {
            Got::Frame(v) if v["type"] == "event" => events.push(v),
            Got::Frame(v) if v["type"] == "res" && v["id"] == fx.request["id"] => break Some(v),
            other => {
                errs.push(format!("expected the response, got {other}"));
                break None;
            }
        }
    };
    if let Some(r) = &response {
        compare(&fx.response, r, "response", &mut errs);
    }
    compare(
        &Value::Array(fx.events.clone()),
        &Value::Array(events.clone()),
        "events",
        &mut errs,
    );
    match c.close().await {
        Got::Close(..) => {}
        other => errs.push(format!(
            "expected the server to echo our close, got {other}"
        )),
    }
    live.stop().await;
    let mut actual = json!({ "request": fx.request, "events": events, "response": response });
    norm.apply(&mut actual, None);
    Outcome {
        doc: fx.doc,
        actual,
        errs,
    }
}

/// The message a `C->S` step sends (`k` numbers repeated sends, 1-based).
fn outgoing(step: &Step, k: usize) -> Message {
    if let Some(v) = &step.json {
        let mut v = v.clone();
        if step.repeat.is_some()
            && let Some(id) = v.get("id").and_then(Value::as_str)
        {
            v["id"] = json!(format!("{id}-{k}"));
        }
        return Message::text(v.to_string());
    }
    if let Some(t) = &step.text {
        return Message::text(t.clone());
    }
    if let Some(v) = &step.binary {
        return Message::binary(v.to_string().into_bytes());
    }
    if let Some(n) = step.filler {
        // A JSON object padded with spaces to exactly `n` bytes.
        let mut s = String::with_capacity(n);
        s.push('{');
        s.push_str(&" ".repeat(n.saturating_sub(2)));
        s.push('}');
        return Message::text(s);
    }
    panic!("a C->S step needs json, text, binary or filler");
}

/// How a `C->S` step appears in the snapshot.
fn describe_sent(step: &Step) -> Value {
    let mut m = Map::new();
    m.insert("dir".into(), json!("C->S"));
    if let Some(v) = &step.json {
        m.insert("json".into(), v.clone());
    }
    if let Some(t) = &step.text {
        m.insert("text".into(), json!(t));
    }
    if let Some(v) = &step.binary {
        m.insert("binary".into(), v.clone());
    }
    if let Some(n) = step.filler {
        m.insert("filler".into(), json!(n));
    }
    if let Some(n) = step.repeat {
        m.insert("repeat".into(), json!(n));
    }
    Value::Object(m)
}

async fn run_transcript(path: PathBuf) -> Outcome {
    let fx: Transcript = load(&path);
    let mut live = Live::start(fx.config.as_deref(), &fx.gateway).await;
    let norm = Normalizer::new(&live);
    let mut errs = Vec::new();
    let mut c = Client::open(&live.url(), &fx.headers).await;
    let mut seen = Vec::new();
    let mut end: Option<Got> = None;
    for (i, step) in fx.frames.iter().enumerate() {
        match step.dir.as_str() {
            "C->S" => {
                seen.push(describe_sent(step));
                for k in 1..=step.repeat.unwrap_or(1) {
                    if !c.send(outgoing(step, k)).await {
                        // The server may drop us mid-way (that is what slow-consumer is about).
                        break;
                    }
                }
            }
            "S->C" => {
                let expected = step.json.as_ref().expect("an S->C step has json");
                let got = c.recv().await;
                if got.ended() {
                    errs.push(format!("frames[{i}]: expected {expected}, got {got}"));
                    end = Some(got);
                    break;
                }
                seen.push(got.describe());
                match &got {
                    Got::Frame(v) => compare(expected, v, &format!("frames[{i}]"), &mut errs),
                    other => errs.push(format!("frames[{i}]: expected {expected}, got {other}")),
                }
            }
            other => panic!("unknown dir {other}"),
        }
    }
    if fx.drain_before_close && end.is_none() {
        // Skip the backlog of replies (how many arrive varies); only how the connection ends
        // matters.
        loop {
            let got = c.recv().await;
            if got.ended() {
                end = Some(got);
                break;
            }
        }
        seen.push(json!({ "drained": "[replies received before the end]" }));
    }
    assert!(
        fx.close.is_none() || fx.close_any_of.is_empty(),
        "a transcript gives `close` or `closeAnyOf`, not both"
    );
    let allowed: Vec<Close> = fx.close.iter().chain(&fx.close_any_of).cloned().collect();
    match allowed.is_empty() {
        false => {
            let got = match end {
                Some(g) => g,
                None => c.recv().await,
            };
            let actual = match &got {
                Got::Close(code, reason) => Some(Close {
                    code: *code,
                    reason: reason.clone(),
                }),
                Got::Dropped(_) => Some(Close {
                    code: 1006,
                    reason: String::new(),
                }),
                _ => None,
            };
            if !actual.as_ref().is_some_and(|a| allowed.contains(a)) {
                errs.push(format!("close: expected one of {allowed:?}, got {got}"));
            }
            if fx.close_any_of.is_empty() {
                seen.push(got.describe());
            } else {
                let any: Vec<Value> = allowed
                    .iter()
                    .map(|c| json!({ "code": c.code, "reason": c.reason }))
                    .collect();
                seen.push(json!({ "close": { "anyOf": any } }));
            }
        }
        true => {
            if let Some(g) = end {
                seen.push(g.describe());
            } else {
                let got = c.close().await;
                if !matches!(got, Got::Close(..)) {
                    errs.push(format!("expected the connection to stay open, got {got}"));
                }
                seen.push(json!({ "clientClose": got.describe() }));
            }
        }
    }
    live.stop().await;
    let mut actual = Value::Array(seen);
    norm.apply(&mut actual, None);
    Outcome {
        doc: fx.doc,
        actual,
        errs,
    }
}

async fn run_event(path: PathBuf) -> Outcome {
    let fx: EventFixture = load(&path);
    let mut live = Live::start(None, &fx.gateway).await;
    let norm = Normalizer::new(&live);
    let mut errs = Vec::new();
    let name = fx.event["event"].clone();
    let mut c = if fx.trigger == Trigger::Open {
        Client::open(&live.url(), &BTreeMap::new()).await
    } else if fx.trigger == Trigger::Connect {
        let mut c = Client::open(&live.url(), &BTreeMap::new()).await;
        let _challenge = c.recv().await;
        c.send_json(&connect_frame("c1", fx.connect.as_ref())).await;
        let _hello = c.recv().await;
        c
    } else {
        match connected(&live, fx.connect.as_ref()).await {
            Ok(c) => c,
            Err(e) => {
                live.stop().await;
                return Outcome {
                    doc: fx.doc,
                    actual: json!({ "error": e }),
                    errs: vec![e],
                };
            }
        }
    };
    let mut peer = None;
    let mut stopping = None;
    match fx.trigger {
        Trigger::PeerConnect => {
            peer = Some(connected(&live, fx.peer.as_ref()).await);
        }
        Trigger::Stop => {
            let r = live.running.take().expect("running");
            stopping = Some(tokio::spawn(r.stop(Duration::from_millis(500))));
        }
        _ => {}
    }
    let got = c.recv().await;
    let mut seen = vec![got.describe()];
    if fx.trigger == Trigger::HealthRefresh
        && let Some(v) = seen[0].pointer_mut("/json/stateVersion/health")
    {
        // Refreshes may already have run before the client connected.
        *v = json!("[refresh count]");
    }
    match &got {
        Got::Frame(v) if v["event"] == name => compare(&fx.event, v, "event", &mut errs),
        other => errs.push(format!("expected the {name} event, got {other}")),
    }
    if let Some(expected) = &fx.close {
        let got = c.recv().await;
        match &got {
            Got::Close(code, reason) if *code == expected.code && *reason == expected.reason => {}
            other => errs.push(format!("close: expected {expected:?}, got {other}")),
        }
        seen.push(got.describe());
    }
    if let Some(Ok(mut p)) = peer {
        let _ = p.close().await;
    }
    if let Some(s) = stopping {
        let _ = tokio::time::timeout(WAIT, s).await;
    } else {
        let _ = c.close().await;
    }
    live.stop().await;
    let mut actual = Value::Array(seen);
    norm.apply(&mut actual, None);
    Outcome {
        doc: fx.doc,
        actual,
        errs,
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn method_fixtures() {
    replay(
        "method",
        "*/*.json",
        &["handshake", "frames", "events", "configs"],
        run_method,
    );
}

#[test]
fn transcript_fixtures() {
    replay(
        "transcript",
        "{handshake,frames}/*.json",
        &[],
        run_transcript,
    );
}

#[test]
fn event_fixtures() {
    replay("event", "events/*.json", &[], run_event);
}

#[test]
fn every_method_has_a_fixture() {
    let root = fixtures_root();
    let missing: Vec<&str> = runtime::generated::protocol::Method::ALL
        .iter()
        .map(|m| m.as_str())
        .filter(|m| *m != "connect")
        .filter(|m| {
            std::fs::read_dir(root.join(m))
                .map(|d| d.filter_map(Result::ok).count() == 0)
                .unwrap_or(true)
        })
        .collect();
    assert!(missing.is_empty(), "methods without fixtures: {missing:?}");
}
