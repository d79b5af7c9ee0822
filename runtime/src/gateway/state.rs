//! State shared by every connection: the loaded config, presence, the health snapshot, the
//! connected clients (for broadcasts), the auth limiter and the admission limit.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Settings;
use super::auth::Limiter;
use super::conn::Outbox;
use crate::config::{Checked, schema};

/// Epoch milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What `config.get` reports, computed once per load.
#[derive(Debug, Clone, Default)]
pub struct ConfigState {
    pub path: PathBuf,
    pub exists: bool,
    /// The main file's text.
    pub raw: Option<String>,
    /// The main file's text with every inline secret value replaced (by span) by [`REDACTED`].
    pub raw_redacted: Option<String>,
    /// The file's values as written (after `$include`, before `${VAR}` substitution is not
    /// tracked separately: this is the merged tree).
    pub parsed: Value,
    /// `sha256:<hex>` of the raw text (the `baseHash` clients send back when writing).
    pub hash: Option<String>,
    pub valid: bool,
    pub issues: Vec<Value>,
    pub warnings: Vec<Value>,
    pub included: Vec<PathBuf>,
    /// The typed config (valid files only): what reloads diff.
    pub typed: Option<Arc<crate::config::Config>>,
    /// The file watcher's hash over the main file and its includes.
    pub content_hash: Option<String>,
    /// The config's SecretRefs, resolved (start-up and every reload resolve them; `secrets.reload`
    /// swaps in a new snapshot only when every ref resolved).
    pub secrets: Arc<crate::config::secrets::Snapshot>,
}

/// Replaced by `config.get` for every secret value.
pub const REDACTED: &str = "__OPENCLAW_REDACTED__";

impl ConfigState {
    /// No config file (allowed with `--allow-unconfigured`).
    pub fn missing(path: PathBuf) -> ConfigState {
        ConfigState {
            path,
            exists: false,
            parsed: json!({}),
            valid: true,
            ..ConfigState::default()
        }
    }

    /// From a checked file.
    pub fn from_checked(c: &Checked) -> ConfigState {
        let raw = c.sources.get(0).map(|f| f.text.clone());
        let issue = |i: &crate::config::Issue| {
            let mut v = json!({ "path": i.path, "message": i.message });
            if let (Some(a), Some(m)) = (&i.allowed_values, v.as_object_mut()) {
                m.insert("allowedValues".into(), json!(a));
            }
            v
        };
        let raw_redacted = raw.as_ref().map(|text| {
            let mut spans = Vec::new();
            if let Some(root) = &c.root {
                schema::visit_secrets(root, &mut |_, v| spans.push(v.span));
            }
            let mut out = text.clone();
            spans.retain(|sp| sp.src == 0 && sp.end <= text.len() && sp.start < sp.end);
            spans.sort_by_key(|sp| std::cmp::Reverse(sp.start));
            let mut last_start = usize::MAX;
            for sp in spans {
                if sp.end > last_start
                    || !out.is_char_boundary(sp.start)
                    || !out.is_char_boundary(sp.end)
                {
                    continue;
                }
                out.replace_range(sp.start..sp.end, &format!("\"{REDACTED}\""));
                last_start = sp.start;
            }
            out
        });
        ConfigState {
            path: c.path.clone(),
            exists: c.read_error.is_none(),
            raw_redacted,
            hash: raw.as_deref().map(hash_text),
            raw,
            parsed: c.root.as_ref().map(|r| r.to_json()).unwrap_or(json!({})),
            valid: c.is_valid(),
            issues: c.errors.iter().map(issue).collect(),
            warnings: c.warnings.iter().map(issue).collect(),
            included: c.included.clone(),
            typed: c.config.clone().map(Arc::new),
            content_hash: crate::config::watch::content_hash(c),
            secrets: Arc::default(),
        }
    }

    /// The merged config with every secret replaced by [`REDACTED`].
    pub fn redacted(&self) -> Value {
        let mut v = self.parsed.clone();
        redact(&mut v, schema::root(), 0);
        v
    }

    /// The raw file text with every inline secret value replaced by [`REDACTED`].
    pub fn redacted_raw(&self) -> Option<String> {
        self.raw_redacted.clone()
    }

    /// A value by dotted path in the merged config.
    pub fn get(&self, path: &str) -> Option<&Value> {
        path.split('.')
            .try_fold(&self.parsed, |v, seg| v.get(seg))
            .filter(|v| !v.is_null())
    }
}

/// `sha256:<hex>` of a config text.
pub fn hash_text(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Walks a value alongside the schema table and blanks every node marked secret.
fn redact(v: &mut Value, node: u32, depth: usize) {
    use crate::config::schema::{NodeKind, node as get, resolve};
    if depth > 64 || v.is_null() {
        return;
    }
    let id = resolve(node);
    let n = get(id);
    if n.secret {
        *v = Value::String(REDACTED.into());
        return;
    }
    match (&n.kind, v) {
        (NodeKind::Object { fields, extra, .. }, Value::Object(m)) => {
            for (k, child) in m.iter_mut() {
                if let Some(f) = fields.iter().find(|f| f.name == k) {
                    redact(child, f.node, depth + 1);
                } else if let Some(extra) = extra {
                    redact(child, *extra, depth + 1);
                }
            }
        }
        (NodeKind::Map(item), Value::Object(m)) => {
            for child in m.values_mut() {
                redact(child, *item, depth + 1);
            }
        }
        (NodeKind::List(item), Value::Array(a)) => {
            for child in a.iter_mut() {
                redact(child, *item, depth + 1);
            }
        }
        (NodeKind::Union { variants, .. }, v) => {
            if variants.iter().any(|&var| get(resolve(var)).secret) {
                *v = Value::String(REDACTED.into());
            } else if v.is_object() {
                // Redact through every object variant: a key secret in any of them is secret.
                for &var in variants.iter() {
                    if matches!(get(resolve(var)).kind, NodeKind::Object { .. }) {
                        redact(v, var, depth + 1);
                    }
                }
            }
        }
        _ => {}
    }
}

/// A connected client the gateway can push events to.
#[derive(Debug, Clone)]
pub struct ClientEntry {
    pub outbox: Outbox,
    pub presence_key: Option<String>,
}

#[derive(Debug, Default)]
struct Presence {
    /// Presence entries by key (`device.id`, `client.instanceId` or the connection id).
    entries: BTreeMap<String, Value>,
    /// The whole list (the gateway's own entry first), encoded; dropped on every change.
    encoded: Option<Arc<str>>,
}

impl Presence {
    fn insert(&mut self, key: String, entry: Value) {
        self.entries.insert(key, entry);
        self.encoded = None;
    }

    fn remove(&mut self, key: &str) {
        self.entries.remove(key);
        self.encoded = None;
    }
}

/// Shared gateway state; cheap to clone.
#[derive(Debug, Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

/// What hot reload has done and left to do, for `health` and `status`.
#[derive(Debug, Clone, Default)]
pub struct ReloadStatus {
    /// Changed paths that need a restart not done yet (reload mode `hot` or `off`, or a failed
    /// restart).
    pub pending_restart: Vec<String>,
    /// Why the last change was not applied (broken file, refused settings, failed rebind).
    pub last_error: Option<String>,
    /// The file on disk when it is not the running config (it failed to validate): what
    /// `config.get` reports, with its issues.
    pub file: Option<Arc<ConfigState>>,
    /// Epoch ms of the last applied change.
    pub last_applied_ms: Option<u64>,
    /// In-process restarts so far.
    pub restarts: u64,
}

/// Why an in-process restart was asked for.
#[derive(Debug, Clone)]
pub struct RestartRequest {
    pub reason: String,
    /// Wait this long before restarting (config.apply's `restartDelayMs`).
    pub delay: std::time::Duration,
}

#[derive(Debug)]
struct Inner {
    settings: RwLock<Arc<Settings>>,
    settings_tx: tokio::sync::watch::Sender<Arc<Settings>>,
    /// Cancelled to end every session of the current listener generation (in-process restart);
    /// a child of `shutdown`.
    generation: Mutex<CancellationToken>,
    restart_tx: tokio::sync::mpsc::UnboundedSender<RestartRequest>,
    restart_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<RestartRequest>>>,
    reload: Mutex<ReloadStatus>,
    addrs: Mutex<Vec<std::net::SocketAddr>>,
    reloader: std::sync::OnceLock<Arc<super::reload::Reloader>>,
    write_limiter: super::config_write::WriteLimiter,
    config: RwLock<Arc<super::ConfigState>>,
    started: std::time::Instant,
    started_ms: u64,
    boot_id: String,
    self_presence: Value,
    next_conn: AtomicU64,
    clients: Mutex<HashMap<u64, ClientEntry>>,
    presence: Mutex<Presence>,
    presence_version: AtomicU64,
    health_version: AtomicU64,
    health: RwLock<Arc<str>>,
    /// The part of the health snapshot that only changes with the config or the reload status.
    health_base: Mutex<Option<Arc<HealthBase>>>,
    /// Bumped by every [`Gateway::update_reload_status`].
    reload_gen: AtomicU64,
    system_events: Mutex<VecDeque<Value>>,
    limiter: Limiter,
    pairing: Mutex<Option<super::device::PairingStore>>,
    admission: Arc<Semaphore>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

/// The config-derived members of the health snapshot, encoded, with what they were built from
/// (holding the `Arc`s keeps their addresses from being reused, so pointer equality is exact).
#[derive(Debug)]
struct HealthBase {
    config: Arc<ConfigState>,
    settings: Arc<Settings>,
    reload_gen: u64,
    /// `(key, encoded value)`, sorted by key.
    members: Vec<(String, String)>,
    default_agent: String,
}

impl HealthBase {
    fn is_for(&self, config: &Arc<ConfigState>, settings: &Arc<Settings>, reload_gen: u64) -> bool {
        Arc::ptr_eq(&self.config, config)
            && Arc::ptr_eq(&self.settings, settings)
            && self.reload_gen == reload_gen
    }

    /// The snapshot's text: these members merged with `numbers` (sorted by key), so the keys come
    /// out in the same order as every other encoded object.
    fn encode(&self, numbers: &[(&str, u64)]) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(1024);
        out.push('{');
        let member = |out: &mut String, key: &str| {
            if out.len() > 1 {
                out.push(',');
            }
            super::frames::push_json_str(out, key);
            out.push(':');
        };
        let mut numbers = numbers.iter().peekable();
        for (key, value) in &self.members {
            while let Some((k, n)) = numbers.next_if(|(k, _)| *k < key.as_str()) {
                member(&mut out, k);
                let _ = write!(out, "{n}");
            }
            member(&mut out, key);
            out.push_str(value);
        }
        for (k, n) in numbers {
            member(&mut out, k);
            let _ = write!(out, "{n}");
        }
        out.push('}');
        out
    }
}

/// Queued system events kept for `status`.
const MAX_SYSTEM_EVENTS: usize = 100;

impl Gateway {
    pub fn new(settings: Settings, shutdown: CancellationToken) -> Gateway {
        let config = settings.config.clone();
        let limiter = Limiter::new(settings.auth.rate_limit);
        let admission = Arc::new(Semaphore::new(settings.admission_limit));
        let instance_id = uuid::Uuid::new_v4().to_string();
        let started_ms = now_ms();
        let settings = Arc::new(settings);
        let (settings_tx, _) = tokio::sync::watch::channel(settings.clone());
        let (restart_tx, restart_rx) = tokio::sync::mpsc::unbounded_channel();
        let generation = shutdown.child_token();
        let g = Gateway {
            inner: Arc::new(Inner {
                settings: RwLock::new(settings),
                settings_tx,
                generation: Mutex::new(generation),
                restart_tx,
                restart_rx: Mutex::new(Some(restart_rx)),
                reload: Mutex::new(ReloadStatus::default()),
                addrs: Mutex::new(Vec::new()),
                reloader: std::sync::OnceLock::new(),
                write_limiter: Default::default(),
                config: RwLock::new(config),
                started: std::time::Instant::now(),
                started_ms,
                boot_id: uuid::Uuid::new_v4().to_string(),
                self_presence: self_presence(&instance_id, started_ms),
                next_conn: AtomicU64::new(1),
                clients: Mutex::new(HashMap::new()),
                presence: Mutex::new(Presence::default()),
                presence_version: AtomicU64::new(1),
                health_version: AtomicU64::new(0),
                health: RwLock::new(Arc::from("null")),
                health_base: Mutex::new(None),
                reload_gen: AtomicU64::new(0),
                system_events: Mutex::new(VecDeque::new()),
                limiter,
                pairing: Mutex::new(None),
                admission,
                shutdown,
                tracker: TaskTracker::new(),
            }),
        };
        g.refresh_health();
        g
    }

    /// The settings in force (replaced as a whole by hot reload).
    pub fn settings(&self) -> Arc<Settings> {
        match self.inner.settings.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Follows the settings in force (the CLI uses it to switch log levels live).
    pub fn subscribe_settings(&self) -> tokio::sync::watch::Receiver<Arc<Settings>> {
        self.inner.settings_tx.subscribe()
    }

    /// Puts new settings and their config in force: new connections and requests see them at
    /// once; connected sessions keep what they negotiated.
    pub fn apply_settings(&self, settings: Settings) {
        let settings = Arc::new(settings);
        self.inner.limiter.set_limit(settings.auth.rate_limit);
        match self.inner.config.write() {
            Ok(mut c) => *c = settings.config.clone(),
            Err(p) => *p.into_inner() = settings.config.clone(),
        }
        match self.inner.settings.write() {
            Ok(mut s) => *s = settings.clone(),
            Err(p) => *p.into_inner() = settings.clone(),
        }
        self.inner.settings_tx.send_replace(settings);
    }

    /// The token that ends every session of the current listener generation.
    pub fn generation_token(&self) -> CancellationToken {
        match self.inner.generation.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Ends every current session (they get `shutdown` with `restartExpectedMs`, then close 1012)
    /// and starts a new generation for the connections that follow.
    pub fn end_generation(&self) {
        let fresh = self.inner.shutdown.child_token();
        let old = match self.inner.generation.lock() {
            Ok(mut g) => std::mem::replace(&mut *g, fresh),
            Err(p) => std::mem::replace(&mut *p.into_inner(), fresh),
        };
        old.cancel();
    }

    /// Asks for an in-process restart (coalesced and rate-limited by the server loop).
    pub fn request_restart(&self, reason: impl Into<String>, delay: std::time::Duration) {
        let _ = self.inner.restart_tx.send(RestartRequest {
            reason: reason.into(),
            delay,
        });
    }

    /// The restart request queue; taken once, by the server loop.
    pub fn take_restart_requests(
        &self,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<RestartRequest>> {
        self.inner.restart_rx.lock().ok().and_then(|mut r| r.take())
    }

    pub fn reload_status(&self) -> ReloadStatus {
        match self.inner.reload.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn update_reload_status(&self, f: impl FnOnce(&mut ReloadStatus)) {
        match self.inner.reload.lock() {
            Ok(mut r) => f(&mut r),
            Err(p) => f(&mut p.into_inner()),
        }
        // The health snapshot reports the reload status: its cached part is stale now.
        self.inner.reload_gen.fetch_add(1, Ordering::Release);
    }

    /// Hot reload and config writes (set once by `serve_with_reload`).
    pub fn set_reloader(&self, r: Arc<super::reload::Reloader>) {
        let _ = self.inner.reloader.set(r);
    }

    pub fn reloader(&self) -> Option<&Arc<super::reload::Reloader>> {
        self.inner.reloader.get()
    }

    pub fn write_limiter(&self) -> &super::config_write::WriteLimiter {
        &self.inner.write_limiter
    }

    /// The addresses the gateway listens on now.
    pub fn addrs(&self) -> Vec<std::net::SocketAddr> {
        self.inner
            .addrs
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }

    pub fn set_addrs(&self, addrs: Vec<std::net::SocketAddr>) {
        if let Ok(mut a) = self.inner.addrs.lock() {
            *a = addrs;
        }
    }

    pub fn config(&self) -> Arc<ConfigState> {
        match self.inner.config.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    /// The paired-device store, opened on first use.
    pub fn pairing(&self) -> &Mutex<Option<super::device::PairingStore>> {
        &self.inner.pairing
    }

    pub fn admission(&self) -> &Arc<Semaphore> {
        &self.inner.admission
    }

    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    pub fn tracker(&self) -> &TaskTracker {
        &self.inner.tracker
    }

    pub fn boot_id(&self) -> &str {
        &self.inner.boot_id
    }

    pub fn uptime_ms(&self) -> u64 {
        u64::try_from(self.inner.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub fn started_ms(&self) -> u64 {
        self.inner.started_ms
    }

    pub fn next_conn_id(&self) -> u64 {
        self.inner.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// `stateVersion` of events and `hello-ok`: the presence and health versions, encoded.
    pub fn state_version_json(&self) -> String {
        format!(
            "{{\"health\":{},\"presence\":{}}}",
            self.inner.health_version.load(Ordering::Relaxed),
            self.inner.presence_version.load(Ordering::Relaxed),
        )
    }

    pub fn connection_count(&self) -> usize {
        self.inner.clients.lock().map(|c| c.len()).unwrap_or(0)
    }

    // -- clients and broadcasts ---------------------------------------------------------------

    /// Registers a connected (hello-ok'd) client; with a presence entry, announces it.
    pub fn add_client(&self, conn: u64, outbox: Outbox, presence: Option<(String, Value)>) {
        let key = presence.as_ref().map(|(k, _)| k.clone());
        if let Ok(mut clients) = self.inner.clients.lock() {
            clients.insert(
                conn,
                ClientEntry {
                    outbox,
                    presence_key: key,
                },
            );
        }
        if let Some((key, entry)) = presence {
            if let Ok(mut p) = self.inner.presence.lock() {
                p.insert(key, entry);
            }
            self.presence_changed();
        }
    }

    /// Forgets a client; a presence entry goes with it (and is announced).
    pub fn remove_client(&self, conn: u64) {
        let removed = self
            .inner
            .clients
            .lock()
            .ok()
            .and_then(|mut c| c.remove(&conn));
        if let Some(key) = removed.and_then(|e| e.presence_key) {
            let still_used = self
                .inner
                .clients
                .lock()
                .map(|c| {
                    c.values()
                        .any(|e| e.presence_key.as_deref() == Some(key.as_str()))
                })
                .unwrap_or(false);
            if !still_used {
                if let Ok(mut p) = self.inner.presence.lock() {
                    p.remove(&key);
                }
                self.presence_changed();
            }
        }
    }

    fn presence_changed(&self) {
        self.inner.presence_version.fetch_add(1, Ordering::Relaxed);
        let payload: Arc<str> = Arc::from(format!("{{\"presence\":{}}}", self.presence_json()));
        self.broadcast_raw("presence", payload, true);
    }

    /// Sends an event to every connected client (each gets its own `seq`).
    pub fn broadcast(&self, event: &'static str, payload: &Value, with_state_version: bool) {
        let payload: Arc<str> = Arc::from(serde_json::to_string(payload).unwrap_or_default());
        self.broadcast_raw(event, payload, with_state_version);
    }

    /// [`Gateway::broadcast`] of an already encoded payload.
    pub fn broadcast_raw(&self, event: &'static str, payload: Arc<str>, with_state_version: bool) {
        let sv: Option<Arc<str>> = with_state_version.then(|| Arc::from(self.state_version_json()));
        let outboxes: Vec<Outbox> = match self.inner.clients.lock() {
            Ok(c) => c.values().map(|e| e.outbox.clone()).collect(),
            Err(_) => return,
        };
        for o in outboxes {
            o.event(event, payload.clone(), sv.clone());
        }
    }

    /// Every client's outbox (for shutdown).
    pub fn outboxes(&self) -> Vec<Outbox> {
        self.inner
            .clients
            .lock()
            .map(|c| c.values().map(|e| e.outbox.clone()).collect())
            .unwrap_or_default()
    }

    // -- presence -----------------------------------------------------------------------------

    /// The gateway's own entry plus every connected client that has one.
    pub fn presence(&self) -> Vec<Value> {
        let mut out = vec![self.inner.self_presence.clone()];
        if let Ok(p) = self.inner.presence.lock() {
            out.extend(p.entries.values().cloned());
        }
        out
    }

    /// [`Gateway::presence`], encoded (cached until the next change).
    pub fn presence_json(&self) -> Arc<str> {
        let mut p = self
            .inner
            .presence
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(e) = &p.encoded {
            return e.clone();
        }
        let mut list = String::with_capacity(512);
        list.push('[');
        super::frames::push_json(&mut list, &self.inner.self_presence);
        for entry in p.entries.values() {
            list.push(',');
            super::frames::push_json(&mut list, entry);
        }
        list.push(']');
        let list: Arc<str> = Arc::from(list);
        p.encoded = Some(list.clone());
        list
    }

    /// Upserts a presence entry from a `system-event` and announces the change.
    pub fn upsert_presence(&self, key: String, entry: Value) {
        if let Ok(mut p) = self.inner.presence.lock() {
            p.insert(key, entry);
        }
        self.presence_changed();
    }

    pub fn push_system_event(&self, event: Value) {
        if let Ok(mut q) = self.inner.system_events.lock() {
            if q.len() >= MAX_SYSTEM_EVENTS {
                q.pop_front();
            }
            q.push_back(event);
        }
    }

    pub fn system_events(&self) -> Vec<Value> {
        self.inner
            .system_events
            .lock()
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    // -- health -------------------------------------------------------------------------------

    /// The cached health snapshot, decoded (for the rare callers that need a tree).
    pub fn health(&self) -> Value {
        serde_json::from_str(&self.health_json()).unwrap_or(Value::Null)
    }

    /// The cached health snapshot, encoded.
    pub fn health_json(&self) -> Arc<str> {
        match self.inner.health.read() {
            Ok(h) => h.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Recomputes the health snapshot and bumps its state version. Only `connections`, `ts`,
    /// `uptimeMs` and `durationMs` change between refreshes of one config: the rest is encoded
    /// once per config, settings and reload status ([`HealthBase`]), since every connect
    /// refreshes the snapshot.
    pub fn refresh_health(&self) -> Arc<str> {
        let started = std::time::Instant::now();
        let base = self.health_base();
        let connections = self.connection_count() as u64;
        let ts = now_ms();
        let uptime = self.uptime_ms();
        let duration = u64::try_from(started.elapsed().as_millis()).unwrap_or(0);
        let encoded: Arc<str> = Arc::from(base.encode(&[
            ("connections", connections),
            ("durationMs", duration),
            ("ts", ts),
            ("uptimeMs", uptime),
        ]));
        if let Ok(mut h) = self.inner.health.write() {
            *h = encoded.clone();
        }
        self.inner.health_version.fetch_add(1, Ordering::Relaxed);
        encoded
    }

    /// The config-derived part of the health snapshot, rebuilt when the config, the settings or
    /// the reload status changed since it was last built.
    fn health_base(&self) -> Arc<HealthBase> {
        let config = self.config();
        let settings = self.settings();
        let reload_gen = self.inner.reload_gen.load(Ordering::Acquire);
        if let Ok(b) = self.inner.health_base.lock()
            && let Some(b) = b.as_ref()
            && b.is_for(&config, &settings, reload_gen)
        {
            return b.clone();
        }
        let base = Arc::new(self.build_health_base(config, settings, reload_gen));
        if let Ok(mut b) = self.inner.health_base.lock() {
            *b = Some(base.clone());
        }
        base
    }

    fn build_health_base(
        &self,
        config: Arc<ConfigState>,
        settings: Arc<Settings>,
        reload_gen: u64,
    ) -> HealthBase {
        let mut agents = agent_summaries(&config);
        let store = |id: &str| {
            settings
                .state_dir
                .join("agents")
                .join(id)
                .join("sessions")
                .display()
                .to_string()
        };
        for a in agents.iter_mut() {
            let id = a["agentId"].as_str().unwrap_or("main").to_string();
            a["sessions"]["path"] = json!(store(&id));
        }
        let default_agent = default_agent_id(&agents).to_string();
        let heartbeat_seconds = heartbeat_ms(&config) / 1000;
        let sessions = json!({ "path": store(&default_agent), "count": 0, "recent": [] });
        let members = json!({
            "ok": true,
            "plugins": { "loaded": [], "errors": [], "unavailable": [] },
            "configReload": self.config_reload_summary(&settings),
            "channels": {},
            "channelOrder": [],
            "channelLabels": {},
            "heartbeatSeconds": heartbeat_seconds,
            "defaultAgentId": default_agent,
            "agents": agents,
            "sessions": sessions,
            "modelRuntime": { "degraded": false, "pendingAgents": [] },
        });
        let members = match members {
            Value::Object(m) => m.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
            _ => Vec::new(),
        };
        HealthBase {
            config,
            settings,
            reload_gen,
            members,
            default_agent,
        }
    }

    /// The default agent's id (what `hello-ok.snapshot.sessionDefaults` names).
    pub fn default_agent_id(&self) -> String {
        self.health_base().default_agent.clone()
    }

    /// `health.configReload`: the reload mode, and whatever a reload left undone.
    fn config_reload_summary(&self, settings: &Settings) -> Value {
        let r = self.reload_status();
        let mode = settings
            .config
            .get("gateway.reload.mode")
            .and_then(Value::as_str)
            .unwrap_or("hybrid")
            .to_string();
        let status = if mode == "off" { "disabled" } else { "active" };
        let mut v = json!({
            "hotReloadStatus": status,
            "mode": mode,
            "configHash": settings.config.hash,
            "pendingRestart": r.pending_restart,
            "restarts": r.restarts,
        });
        if let Some(m) = v.as_object_mut() {
            if let Some(e) = &r.last_error {
                m.insert("lastError".into(), json!(e));
            }
            if let Some(f) = &r.file {
                m.insert("fileValid".into(), json!(f.valid));
                m.insert("fileIssues".into(), json!(f.issues));
            }
            if let Some(t) = r.last_applied_ms {
                m.insert("lastAppliedAt".into(), json!(t));
            }
        }
        v
    }

    /// Refreshes health and pushes it to every client.
    pub fn refresh_and_broadcast_health(&self) {
        let h = self.refresh_health();
        self.broadcast_raw("health", h, true);
    }
}

/// The gateway's own presence entry (host and OS facts read once, at start-up).
fn self_presence(instance_id: &str, started_ms: u64) -> Value {
    let host = hostname();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let platform = if release.is_empty() {
        std::env::consts::OS.to_string()
    } else {
        format!("{} {release}", std::env::consts::OS)
    };
    let family = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "macOS",
        "windows" => "Windows",
        other => other,
    };
    json!({
        "host": host,
        "version": super::SERVER_VERSION,
        "platform": platform,
        "deviceFamily": family,
        "mode": "gateway",
        "reason": "self",
        "instanceId": instance_id,
        "text": format!("Gateway: {host} · app {} · mode gateway · reason self", super::SERVER_VERSION),
        "ts": started_ms,
    })
}

/// The agents configured (`agents.entries`, or the legacy `agents.list`), default first-marked.
pub fn agent_summaries(config: &ConfigState) -> Vec<Value> {
    let mut out = Vec::new();
    let every_ms = heartbeat_ms(config);
    let every = config
        .get("agents.defaults.heartbeat.every")
        .and_then(Value::as_str)
        .unwrap_or("30m")
        .to_string();
    let summary = |id: &str, entry: &Value| {
        let mut a = json!({
            "agentId": id,
            "isDefault": entry.get("default").and_then(Value::as_bool).unwrap_or(false),
            "heartbeat": { "enabled": false, "every": every, "everyMs": every_ms },
            // This gateway keeps no session store: the count is honest, the path is where
            // OpenClaw keeps it.
            "sessions": { "path": Value::Null, "count": 0, "recent": [] },
        });
        if let (Some(m), Some(name)) = (a.as_object_mut(), entry.get("name")) {
            m.insert("name".into(), name.clone());
        }
        a
    };
    if let Some(Value::Object(m)) = config.get("agents.entries") {
        for (id, entry) in m {
            out.push(summary(id, entry));
        }
    }
    if let Some(Value::Array(list)) = config.get("agents.list") {
        for entry in list {
            if let Some(id) = entry.get("id").and_then(Value::as_str) {
                out.push(summary(id, entry));
            }
        }
    }
    if out.is_empty() {
        out.push(summary("main", &json!({ "default": true })));
    } else if !out.iter().any(|a| a["isDefault"] == json!(true))
        && let Some(Value::Object(first)) = out.first_mut()
    {
        first.insert("isDefault".into(), json!(true));
    }
    out
}

/// The id of the default agent among [`agent_summaries`] (which always marks one).
pub fn default_agent_id(agents: &[Value]) -> &str {
    agents
        .iter()
        .find(|a| a["isDefault"] == json!(true))
        .and_then(|a| a["agentId"].as_str())
        .unwrap_or("main")
}

/// `agents.defaults.heartbeat.every` in ms (default 30 minutes).
pub fn heartbeat_ms(config: &ConfigState) -> u64 {
    config
        .get("agents.defaults.heartbeat.every")
        .and_then(Value::as_str)
        .and_then(parse_duration_ms)
        .unwrap_or(30 * 60 * 1000)
}

/// `30m`, `1h`, `45s`, `500ms`, `2d`; a bare number is minutes.
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mul = match unit.trim() {
        "ms" => 1,
        "s" => 1000,
        "" | "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// This machine's host name (for presence).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("30m"), Some(1_800_000));
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(parse_duration_ms("45s"), Some(45_000));
        assert_eq!(parse_duration_ms("x"), None);
    }

    #[test]
    fn health_members_merge_in_key_order() {
        let base = HealthBase {
            config: Arc::new(ConfigState::default()),
            settings: Arc::new(Settings::new(ConfigState::default(), PathBuf::from("/s"))),
            reload_gen: 0,
            members: vec![("a".into(), "1".into()), ("c".into(), "[3]".into())],
            default_agent: "main".into(),
        };
        assert_eq!(
            base.encode(&[("b", 2), ("d", 4)]),
            r#"{"a":1,"b":2,"c":[3],"d":4}"#
        );
        assert_eq!(base.encode(&[]), r#"{"a":1,"c":[3]}"#);
    }

    fn config_with(parsed: Value) -> ConfigState {
        ConfigState {
            parsed,
            ..ConfigState::default()
        }
    }

    #[tokio::test]
    async fn health_snapshot_follows_config_and_reload_status() {
        let g = Gateway::new(
            Settings::new(config_with(json!({})), PathBuf::from("/state")),
            CancellationToken::new(),
        );
        let text = g.refresh_health();
        let v: Value = serde_json::from_str(&text).expect("health is JSON");
        // Same text as encoding the tree: keys sorted like every other payload.
        assert_eq!(v.to_string(), *text);
        assert_eq!(v["defaultAgentId"], json!("main"));
        assert_eq!(v["connections"], json!(0));
        assert!(v["ts"].as_u64().is_some_and(|t| t > 0));
        assert!(v["configReload"].get("lastError").is_none());
        assert_eq!(g.health(), v);

        // A reload status change reaches the next snapshot (the cached part is rebuilt).
        g.update_reload_status(|r| r.last_error = Some("broken file".into()));
        let v: Value = serde_json::from_str(&g.refresh_health()).expect("health is JSON");
        assert_eq!(v["configReload"]["lastError"], json!("broken file"));

        // So does new config.
        let config = config_with(json!({
            "agents": { "entries": { "ops": { "name": "Ops" }, "dev": { "default": true } } }
        }));
        g.apply_settings(Settings::new(config, PathBuf::from("/state")));
        let v: Value = serde_json::from_str(&g.refresh_health()).expect("health is JSON");
        assert_eq!(v["defaultAgentId"], json!("dev"));
        assert_eq!(g.default_agent_id(), "dev");
        let ids: Vec<&str> = v["agents"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["agentId"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(ids, ["dev", "ops"]);
        assert_eq!(v["sessions"]["path"], json!("/state/agents/dev/sessions"));
    }

    #[test]
    fn presence_text_follows_changes() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let _guard = rt.enter();
        let g = Gateway::new(
            Settings::new(config_with(json!({})), PathBuf::from("/state")),
            CancellationToken::new(),
        );
        let parse = |g: &Gateway| -> Value {
            serde_json::from_str(&g.presence_json()).expect("presence is JSON")
        };
        assert_eq!(parse(&g), Value::Array(g.presence()));
        assert_eq!(parse(&g).as_array().map(Vec::len), Some(1));
        g.upsert_presence(
            "dev-1".into(),
            json!({ "host": "box", "reason": "connect" }),
        );
        assert_eq!(parse(&g), Value::Array(g.presence()));
        assert_eq!(parse(&g)[1]["host"], json!("box"));
        let sv: Value = serde_json::from_str(&g.state_version_json()).expect("JSON");
        assert_eq!(
            sv.to_string(),
            g.state_version_json(),
            "keys in encoding order"
        );
        let presence = sv["presence"].as_u64().expect("presence version");
        g.upsert_presence("dev-2".into(), json!({ "host": "other" }));
        let after: Value = serde_json::from_str(&g.state_version_json()).expect("JSON");
        assert_eq!(after["presence"].as_u64(), Some(presence + 1));
    }

    #[test]
    fn secrets_are_redacted() {
        let c = ConfigState {
            parsed: json!({
                "gateway": { "port": 1, "auth": { "token": "s3cret", "mode": "token" } },
                "models": { "providers": { "p": { "apiKey": "k", "baseUrl": "https://x.example" } } },
            }),
            ..ConfigState::default()
        };
        let r = c.redacted();
        assert_eq!(r["gateway"]["auth"]["token"], json!(REDACTED));
        assert_eq!(r["gateway"]["auth"]["mode"], json!("token"));
        assert_eq!(r["gateway"]["port"], json!(1));
        assert_eq!(r["models"]["providers"]["p"]["apiKey"], json!(REDACTED));
        assert_eq!(
            r["models"]["providers"]["p"]["baseUrl"],
            json!("https://x.example")
        );
        assert!(!r.to_string().contains("s3cret"));
        // The raw text is redacted by span: only the secret value changes, whatever it is.
        let text = "{ gateway: { auth: { token: 'k' } }, // k\n models: { providers: { p: { apiKey: \"k\", baseUrl: 'https://k.example' } } } }";
        let checked = crate::config::check_text(
            std::path::Path::new("/virtual/openclaw.json5"),
            text.to_string(),
            &crate::config::MapEnv::default(),
        );
        let c = ConfigState::from_checked(&checked);
        assert_eq!(
            c.redacted_raw().as_deref(),
            Some(
                "{ gateway: { auth: { token: \"__OPENCLAW_REDACTED__\" } }, // k\n models: { providers: { p: { apiKey: \"__OPENCLAW_REDACTED__\", baseUrl: 'https://k.example' } } } }"
            )
        );
    }
}
