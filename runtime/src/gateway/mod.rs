//! The gateway server: one TCP port serving HTTP (`/health`, `/healthz`, `/readyz`) and the
//! OpenClaw WebSocket RPC protocol (v4; v3 for probe and node clients).
//!
//! * [`startup`] turns flags, env and the config file into [`Settings`] (or a refusal with
//!   OpenClaw's exit code and message);
//! * [`serve`] runs the accept loops until the shutdown token fires, then says goodbye to every
//!   client (`shutdown` event, close 1012) and drains in-flight requests;
//! * [`conn`] is one WebSocket session, [`handlers`] implements the generated `Handler` trait.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub mod auth;
pub mod config_write;
pub mod conn;
pub mod credshapes;
pub mod device;
pub mod frames;
pub mod handlers;
pub mod http;
pub mod logfile;
pub mod pairing;
pub mod reload;
pub mod runfile;
pub mod startup;
pub mod state;
pub mod upgrade;

pub use state::{ConfigState, Gateway};

/// Protocol version this gateway speaks.
pub const PROTOCOL_VERSION: u64 = 4;
/// Oldest protocol version accepted from probe and node clients.
pub const MIN_PROBE_PROTOCOL_VERSION: u64 = 3;
/// `policy.maxPayload`: largest inbound message after the handshake.
pub const MAX_PAYLOAD_BYTES: usize = 26_214_400;
/// `policy.maxBufferedBytes`: per-connection send buffer before a slow consumer is dropped.
pub const MAX_BUFFERED_BYTES: usize = 52_428_800;
/// Largest message accepted before `hello-ok`.
pub const MAX_PREAUTH_PAYLOAD_BYTES: usize = 64 * 1024;
/// `policy.tickIntervalMs`.
pub const TICK_INTERVAL_MS: u64 = 30_000;
/// How often the health snapshot is refreshed (and pushed as a `health` event).
pub const HEALTH_REFRESH_INTERVAL_MS: u64 = 60_000;
/// `shutdown.restartExpectedMs` of an in-process restart: clients may reconnect after this long.
/// The listener is back within a few milliseconds; this leaves room for a loaded machine.
pub const RESTART_EXPECTED_MS: u64 = 500;
/// Least time between two in-process restarts; requests in between are coalesced into one.
pub const RESTART_COOLDOWN: Duration = Duration::from_secs(30);
/// The OpenClaw release this gateway is wire-compatible with, reported as `server.version` (OpenClaw
/// clients compare it with their own version and warn on a mismatch).
pub const SERVER_VERSION: &str = "2026.9.6";
/// This build, reported as `server.buildId` (`openclaw-rs-<crate version>`).
pub const BUILD_ID: &str = concat!("openclaw-rs-", env!("CARGO_PKG_VERSION"));

/// Everything the server needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub port: u16,
    /// The bind mode name (`loopback`, `lan`, `custom`, …).
    pub bind: String,
    pub auth: auth::AuthSettings,
    pub handshake_timeout: Duration,
    pub tick_interval: Duration,
    pub health_refresh_interval: Duration,
    pub max_payload: usize,
    pub max_buffered: usize,
    pub max_preauth: usize,
    /// Requests one connection may have running at once; further frames wait (TCP backpressure).
    pub max_inflight_per_conn: usize,
    /// Requests running at once across all connections; past this the gateway answers
    /// `UNAVAILABLE` ("The server is busy…", retryable) instead of queueing.
    pub admission_limit: usize,
    /// Browser origins allowed besides the gateway's own.
    pub allowed_origins: Vec<String>,
    pub state_dir: PathBuf,
    pub log_file: Option<logfile::LogTarget>,
    pub config: Arc<ConfigState>,
    /// The addresses the settings ask to listen on (an in-process restart moves there); empty
    /// means "whatever listeners were handed to [`serve`]".
    pub addrs: Vec<SocketAddr>,
    /// Least time between in-process restarts.
    pub restart_cooldown: Duration,
    /// Config writes over RPC allowed per writer (`deviceId|clientIp`) per window.
    pub config_writes_per_window: usize,
    pub config_write_window: Duration,
    /// `logging.*` as configured (the CLI applies them to its log output, live).
    pub logging: Logging,
}

/// `logging.*` keys the gateway process applies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logging {
    /// `logging.level`: the log file's threshold.
    pub level: Option<String>,
    /// `logging.consoleLevel`.
    pub console_level: Option<String>,
    /// `logging.consoleStyle`: `pretty`, `compact` or `json`.
    pub console_style: Option<String>,
}

impl Settings {
    /// Defaults for everything but the config and where state lives (tests start from here).
    pub fn new(config: ConfigState, state_dir: PathBuf) -> Settings {
        Settings {
            port: 18789,
            bind: "loopback".into(),
            auth: auth::AuthSettings::default(),
            handshake_timeout: Duration::from_millis(15_000),
            tick_interval: Duration::from_millis(TICK_INTERVAL_MS),
            health_refresh_interval: Duration::from_millis(HEALTH_REFRESH_INTERVAL_MS),
            max_payload: MAX_PAYLOAD_BYTES,
            max_buffered: MAX_BUFFERED_BYTES,
            max_preauth: MAX_PREAUTH_PAYLOAD_BYTES,
            max_inflight_per_conn: 256,
            admission_limit: 8192,
            allowed_origins: Vec::new(),
            state_dir,
            log_file: None,
            config: Arc::new(config),
            addrs: Vec::new(),
            restart_cooldown: RESTART_COOLDOWN,
            config_writes_per_window: config_write::WRITES_PER_WINDOW,
            config_write_window: config_write::WRITE_WINDOW,
            logging: Logging::default(),
        }
    }
}

/// A running server: its addresses, and the handle that stops it.
#[derive(Debug)]
pub struct Running {
    pub addrs: Vec<SocketAddr>,
    pub gateway: Gateway,
    pub shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, says goodbye to every client and waits (at most `grace`) for in-flight
    /// requests to finish.
    pub async fn stop(self, grace: Duration) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(grace + Duration::from_millis(500), self.task).await;
    }

    /// Waits until the server has stopped (after the shutdown token fired).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// [`serve`], plus hot reload: the config file (and its includes) is watched, and config writes
/// over RPC (`config.set`, `config.patch`, `config.apply`) are enabled.
pub fn serve_with_reload(
    settings: Settings,
    listeners: Vec<TcpListener>,
    shutdown: CancellationToken,
    reloader: Arc<reload::Reloader>,
) -> std::io::Result<Running> {
    let running = serve(settings, listeners, shutdown)?;
    running.gateway.set_reloader(reloader.clone());
    if let Err(e) = reloader.watch(&running.gateway) {
        tracing::warn!(error = %e, "cannot watch the config file; edits apply only after a restart");
    }
    Ok(running)
}

/// Serves on already-bound listeners until `shutdown` fires.
pub fn serve(
    settings: Settings,
    listeners: Vec<TcpListener>,
    shutdown: CancellationToken,
) -> std::io::Result<Running> {
    let addrs = listeners
        .iter()
        .map(TcpListener::local_addr)
        .collect::<std::io::Result<Vec<_>>>()?;
    let gateway = Gateway::new(settings, shutdown.clone());
    let g = gateway.clone();
    let task = tokio::spawn(async move { http::run(g, listeners).await });
    Ok(Running {
        addrs,
        gateway,
        shutdown,
        task,
    })
}
