//! Client commands: `gateway call`, `gateway status`, `health`, `status`.
//!
//! Where the gateway is: `--url`, else `ws://127.0.0.1:<port>` with the port of the running
//! gateway's run file (`<state dir>/gateway.run.json`), else `OPENCLAW_GATEWAY_PORT` >
//! `gateway.port` > 18789 (`--dev`: 19001 when the env var is unset, as `openclaw gateway` does).
//! Credentials: `--token`/`--password` > `gateway.auth.token`/`password` (string values) >
//! `OPENCLAW_GATEWAY_TOKEN`/`OPENCLAW_GATEWAY_PASSWORD` > the run file's runtime token (only for a
//! loopback URL on the run file's port).
//!
//! Failures print OpenClaw's shapes: `{"ok":false,"error":{"type":"gateway_transport_error",…},
//! "gateway":{…}}` or `{"ok":false,"error":{"type":"gateway_request_error",…}}`, exit code 1.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use runtime::config::paths;
use runtime::gateway::logfile::LogTarget;
use runtime::gateway::runfile::{self, RunInfo};
use serde::Serialize;
use serde_json::{Value, json};

use crate::client::{self, Auth, ClientError, Endpoint, Outcome, raw};
use crate::cmd::service;
use crate::report::shorten;
use crate::{CallArgs, ClientArgs, Ctx, GatewayStatusArgs, HealthArgs, StatusArgs};

const DEV_PORT: u16 = 19001;
/// Upper bound of the "is anything listening" TCP check of `gateway status`.
const LISTEN_CHECK: Duration = Duration::from_secs(1);

/// What the CLI knows without asking the gateway.
#[derive(Debug)]
pub(crate) struct Local {
    config_path: PathBuf,
    config_exists: bool,
    config_valid: bool,
    /// The config tree (`Null` when missing or unreadable).
    config: Value,
    /// The run file of a gateway that is running.
    run: Option<RunInfo>,
    /// A run file whose process is gone.
    stale_run: Option<RunInfo>,
}

impl Local {
    pub(crate) fn load(ctx: &Ctx<'_>) -> Result<Local, String> {
        let config_path =
            paths::config_path(ctx.env, &ctx.profile, &ctx.cwd).map_err(|e| e.to_string())?;
        let state_dir =
            paths::state_dir(ctx.env, &ctx.profile, &ctx.cwd).map_err(|e| e.to_string())?;
        let (config_exists, config_valid, config) = if config_path.exists() {
            let checked = runtime::config::validate_file(&config_path, ctx.env);
            let tree = checked
                .root
                .as_ref()
                .map_or(Value::Null, |root| root.to_json());
            (true, checked.is_valid(), tree)
        } else {
            (false, false, Value::Null)
        };
        let (run, stale_run) = match runfile::read(&state_dir) {
            Some(r) if pid_alive(r.pid) => (Some(r), None),
            Some(r) => (None, Some(r)),
            None => (None, None),
        };
        Ok(Local {
            config_path,
            config_exists,
            config_valid,
            config,
            run,
            stale_run,
        })
    }

    /// A non-empty string at a config pointer (SecretRef objects and the like are skipped).
    fn config_str(&self, pointer: &str) -> Option<String> {
        self.config
            .pointer(pointer)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// The log file the local gateway writes (or would write) by the config.
    pub(crate) fn log_target(&self, ctx: &Ctx<'_>) -> LogTarget {
        LogTarget::from_config(
            &self.config,
            ctx.profile.effective().ok().flatten(),
            paths::home(ctx.env).as_deref(),
            &ctx.cwd,
        )
    }

    fn bind(&self) -> String {
        match &self.run {
            Some(r) => r.bind.clone(),
            None => self
                .config_str("/gateway/bind")
                .unwrap_or_else(|| "loopback".into()),
        }
    }
}

/// Is `pid` a live (not zombie) process.
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z" && state != "X")
}

/// Where the port came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortSource {
    RunFile,
    Env,
    Dev,
    Config,
    Default,
}

impl PortSource {
    /// For people.
    fn detail(self) -> &'static str {
        match self {
            PortSource::RunFile => "run file",
            PortSource::Env => "env OPENCLAW_GATEWAY_PORT",
            PortSource::Dev => "--dev default",
            PortSource::Config => "config gateway.port",
            PortSource::Default => "default",
        }
    }

    /// `portSource` in JSON: OpenClaw reports `env/config` for every resolved port.
    fn json(self) -> &'static str {
        match self {
            PortSource::RunFile => "run file",
            _ => "env/config",
        }
    }
}

/// Why the port could not be resolved: the value that is not a port.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BadPort {
    /// `OPENCLAW_GATEWAY_PORT` as set.
    Env(String),
    /// `gateway.port` as configured.
    Config(Value),
}

/// The gateway port, in the one order every command uses: the running gateway's run file >
/// `OPENCLAW_GATEWAY_PORT` > `--dev` 19001 > `gateway.port` > 18789. Callers word the error.
pub(crate) fn port_by_precedence(
    ctx: &Ctx<'_>,
    run: Option<&RunInfo>,
    config: &Value,
) -> Result<(u16, PortSource), BadPort> {
    let valid = |p: u64| u16::try_from(p).ok().filter(|p| *p > 0);
    if let Some(r) = run {
        return Ok((r.port, PortSource::RunFile));
    }
    if let Some(v) = ctx.env.var("OPENCLAW_GATEWAY_PORT")
        && !v.trim().is_empty()
    {
        return v
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(valid)
            .map(|p| (p, PortSource::Env))
            .ok_or(BadPort::Env(v));
    }
    if ctx.profile.dev {
        return Ok((DEV_PORT, PortSource::Dev));
    }
    match config.pointer("/gateway/port") {
        // 18789, or the port derived from a named profile (`--profile foo` → 47223).
        None | Some(Value::Null) => Ok((
            runtime::config::paths::default_port(ctx.profile.effective().ok().flatten()),
            PortSource::Default,
        )),
        Some(v) => v
            .as_u64()
            .and_then(valid)
            .map(|p| (p, PortSource::Config))
            .ok_or_else(|| BadPort::Config(v.clone())),
    }
}

fn resolve_port(ctx: &Ctx<'_>, local: &Local) -> Result<(u16, PortSource), String> {
    port_by_precedence(ctx, local.run.as_ref(), &local.config).map_err(|bad| match bad {
        BadPort::Env(v) => {
            format!("Invalid OPENCLAW_GATEWAY_PORT \"{v}\": use a number from 1 to 65535.")
        }
        BadPort::Config(v) => format!(
            "Invalid gateway.port {v} in {}: use a number from 1 to 65535.",
            local.config_path.display()
        ),
    })
}

/// The port a gateway of this profile is configured to use (the run file ignored): the one
/// `gateway install` writes into the service. `OPENCLAW_GATEWAY_PORT` > `--dev` 19001 >
/// `gateway.port` > 18789.
pub(crate) fn configured_port(ctx: &Ctx<'_>) -> Result<u16, String> {
    let mut local = Local::load(ctx)?;
    local.run = None;
    resolve_port(ctx, &local).map(|(p, _)| p)
}

/// The host a local gateway answers on: loopback, unless the running gateway listens elsewhere only.
fn local_host(local: &Local) -> String {
    let Some(run) = &local.run else {
        return "127.0.0.1".into();
    };
    let addrs: Vec<SocketAddr> = run.listen.iter().filter_map(|a| a.parse().ok()).collect();
    if addrs.is_empty()
        || addrs
            .iter()
            .any(|a| a.ip().is_loopback() || a.ip().is_unspecified())
    {
        return "127.0.0.1".into();
    }
    match addrs[0] {
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
        SocketAddr::V4(a) => a.ip().to_string(),
    }
}

/// The resolved gateway address and credentials.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) endpoint: Endpoint,
    url_source: &'static str,
    bind: String,
    pub(crate) auth: Auth,
}

/// Why a command could not even start: the message for stderr and the exit code.
type SetupError = (String, u8);

fn target(
    ctx: &Ctx<'_>,
    args: &ClientArgs,
    local: &Local,
    port: Option<u16>,
) -> Result<Target, SetupError> {
    let (endpoint, url_source) = match &args.url {
        Some(url) => (
            Endpoint::parse(url).map_err(|e| (format!("Invalid --url: {e}"), crate::EXIT_USAGE))?,
            "cli --url",
        ),
        None => {
            let port = match port {
                Some(p) => p,
                None => resolve_port(ctx, local).map_err(|e| (e, 1))?.0,
            };
            let url = format!("ws://{}:{port}", local_host(local));
            (Endpoint::parse(&url).map_err(|e| (e, 1))?, "local loopback")
        }
    };
    let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let env = |name: &str| ctx.env.var(name).filter(|s| !s.is_empty());
    let runtime_token = local
        .run
        .as_ref()
        .filter(|r| endpoint.is_loopback() && endpoint.port == r.port)
        .and_then(|r| r.runtime_token.clone());
    let auth = Auth {
        token: given(&args.token)
            .or_else(|| local.config_str("/gateway/auth/token"))
            .or_else(|| env("OPENCLAW_GATEWAY_TOKEN"))
            .or(runtime_token),
        password: given(&args.password)
            .or_else(|| local.config_str("/gateway/auth/password"))
            .or_else(|| env("OPENCLAW_GATEWAY_PASSWORD")),
    };
    Ok(Target {
        endpoint,
        url_source,
        bind: local.bind(),
        auth,
    })
}

/// Loads what is local and resolves the target; prints the problem and returns the exit code.
pub(crate) fn setup(ctx: &mut Ctx<'_>, args: &ClientArgs) -> Result<(Local, Target), u8> {
    let result = Local::load(ctx)
        .map_err(|e| (e, 1))
        .and_then(|local| target(ctx, args, &local, None).map(|t| (local, t)));
    result.map_err(|(message, code)| {
        let _ = writeln!(ctx.err, "[openclaw] {message}");
        code
    })
}

fn timeout(args: &ClientArgs) -> Duration {
    Duration::from_millis(args.timeout)
}

// ---------------------------------------------------------------------------------------------
// Failures

/// OpenClaw's failure JSON, with its key order.
fn failure_json(err: &ClientError, target: &Target) -> String {
    let s = |v: &str| Some(raw::string(v));
    match err {
        ClientError::Transport(t) => {
            let error = raw::object(&[
                ("type", s("gateway_transport_error")),
                ("kind", s(t.kind.as_str())),
                ("message", s(&t.message)),
                ("reason", t.reason.as_deref().and_then(s)),
                ("timeoutMs", t.timeout_ms.map(|ms| ms.to_string())),
                ("closeCode", t.close.as_ref().map(|(c, _)| c.to_string())),
                (
                    "closeReason",
                    t.close
                        .as_ref()
                        .filter(|(_, r)| !r.is_empty())
                        .and_then(|(_, r)| s(r)),
                ),
            ]);
            let bind_detail = (target.url_source == "local loopback")
                .then(|| raw::string(&format!("Bind: {}", target.bind)));
            let gateway = raw::object(&[
                ("url", s(&target.endpoint.url)),
                ("urlSource", s(target.url_source)),
                ("bindDetail", bind_detail),
            ]);
            raw::object(&[
                ("ok", Some("false".into())),
                ("error", Some(error)),
                ("gateway", Some(gateway)),
            ])
        }
        ClientError::Rpc { failure, .. } => {
            let error = raw::object(&[
                ("type", s("gateway_request_error")),
                ("code", s(&failure.code)),
                ("message", s(&failure.message)),
                ("details", failure.details_raw.clone()),
                (
                    "retryable",
                    Some(failure.retryable.unwrap_or(false).to_string()),
                ),
                (
                    "retryAfterMs",
                    failure.retry_after_ms.map(|ms| ms.to_string()),
                ),
            ]);
            raw::object(&[("ok", Some("false".into())), ("error", Some(error))])
        }
    }
}

/// Prints a failed exchange (JSON on stdout with `--json`, a line on stderr otherwise); returns 1.
fn fail(ctx: &mut Ctx<'_>, target: &Target, err: &ClientError, json: bool, what: &str) -> u8 {
    if let ClientError::Rpc {
        failure,
        at_connect: true,
    } = err
    {
        let _ = writeln!(
            ctx.err,
            "gateway connect failed: GatewayClientRequestError: {}",
            failure.message
        );
    }
    if json {
        let _ = writeln!(ctx.out, "{}", raw::pretty(&failure_json(err, target)));
        return 1;
    }
    match err {
        ClientError::Transport(t) => {
            let _ = writeln!(ctx.err, "{}", t.message);
        }
        ClientError::Rpc {
            failure,
            at_connect: false,
        } => {
            let _ = writeln!(
                ctx.err,
                "{what} failed: {} ({})",
                failure.message, failure.code
            );
        }
        ClientError::Rpc { .. } => {}
    }
    1
}

// ---------------------------------------------------------------------------------------------
// gateway call

pub fn call(ctx: &mut Ctx<'_>, args: CallArgs) -> u8 {
    let params = match args.params.as_deref() {
        None => json!({}),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                let _ = writeln!(
                    ctx.err,
                    "[openclaw] Invalid --params: expected a JSON object, e.g. --params '{{\"probe\":true}}'"
                );
                return crate::EXIT_USAGE;
            }
            Err(e) => {
                let _ = writeln!(ctx.err, "[openclaw] Invalid --params: not JSON ({e})");
                return crate::EXIT_USAGE;
            }
        },
    };
    let (_, target) = match setup(ctx, &args.client) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let result = client::call(
        &target.endpoint,
        &target.auth,
        &args.method,
        params,
        timeout(&args.client),
    );
    match result {
        Ok(o) => {
            if !args.json {
                let _ = writeln!(ctx.out, "Gateway call: {}", args.method);
            }
            let _ = writeln!(ctx.out, "{}", raw::pretty(&o.reply.raw));
            0
        }
        Err(e) => fail(ctx, &target, &e, args.json, "Gateway call"),
    }
}

// ---------------------------------------------------------------------------------------------
// health

pub fn health(ctx: &mut Ctx<'_>, args: HealthArgs) -> u8 {
    let (_, target) = match setup(ctx, &args.client) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let params = if args.verbose {
        json!({ "probe": true })
    } else {
        json!({})
    };
    match client::call(
        &target.endpoint,
        &target.auth,
        "health",
        params,
        timeout(&args.client),
    ) {
        Ok(o) => {
            if args.json {
                let _ = writeln!(ctx.out, "{}", raw::pretty(&o.reply.raw));
            } else {
                for line in health_lines(&o.reply.value) {
                    let _ = writeln!(ctx.out, "{line}");
                }
            }
            u8::from(o.reply.value["ok"] == false)
        }
        Err(e) => fail(ctx, &target, &e, args.json, "Health check"),
    }
}

/// `2h 5m`, `3m 12s`, `45s`.
fn uptime(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A heartbeat interval as OpenClaw writes it: `30m`, `1h`, `45s`.
fn every(ms: u64) -> String {
    match ms {
        0 => "0s".into(),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The default agent's id and its heartbeat interval text (`30m`, or `disabled`).
fn default_heartbeat(v: &Value) -> Option<(String, String)> {
    let agents = v["agents"].as_array();
    let default_id = v["defaultAgentId"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            agents?
                .iter()
                .find(|a| a["isDefault"] == true)
                .and_then(|a| a["agentId"].as_str())
                .map(str::to_string)
        })?;
    let agent = agents.and_then(|list| list.iter().find(|a| a["agentId"] == default_id.as_str()));
    let hb = agent.map(|a| &a["heartbeat"]);
    if hb.is_some_and(|h| h["enabled"] == false) {
        return Some((default_id, "disabled".into()));
    }
    let text = hb
        .and_then(|h| h["every"].as_str().map(str::to_string))
        .or_else(|| hb.and_then(|h| h["everyMs"].as_u64()).map(every))
        .or_else(|| v["heartbeatSeconds"].as_u64().map(|s| every(s * 1000)))?;
    Some((default_id, text))
}

/// The text form of `openclaw health`, from the fields the payload has.
fn health_lines(v: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    let state = match v["ok"].as_bool() {
        Some(true) => "ok",
        Some(false) => "degraded",
        None => "unknown",
    };
    let mut facts = Vec::new();
    if let Some(ms) = v["uptimeMs"].as_u64() {
        facts.push(format!("uptime {}", uptime(ms)));
    }
    if let Some(n) = v["connections"].as_u64() {
        facts.push(plural(n, "connection"));
    }
    if facts.is_empty() {
        lines.push(format!("Gateway health: {state}"));
    } else {
        lines.push(format!("Gateway health: {state} ({})", facts.join(", ")));
    }
    if let Some(ms) = v["durationMs"].as_u64() {
        lines.push(format!("Gateway probe duration: {ms}ms"));
    }
    if let Some(agents) = v["agents"].as_array() {
        let names: Vec<String> = agents
            .iter()
            .filter_map(|a| {
                let id = a["agentId"].as_str()?;
                Some(if a["isDefault"] == true {
                    format!("{id} (default)")
                } else {
                    id.to_string()
                })
            })
            .collect();
        if !names.is_empty() {
            lines.push(format!("Agents: {}", names.join(", ")));
        }
    }
    if let Some((agent, interval)) = default_heartbeat(v) {
        lines.push(format!("Heartbeat interval: {interval} ({agent})"));
    }
    lines
}

// ---------------------------------------------------------------------------------------------
// status

pub fn status(ctx: &mut Ctx<'_>, args: StatusArgs) -> u8 {
    let (_, target) = match setup(ctx, &args.client) {
        Ok(x) => x,
        Err(code) => return code,
    };
    match client::call(
        &target.endpoint,
        &target.auth,
        "status",
        json!({}),
        timeout(&args.client),
    ) {
        Ok(o) => {
            if args.json {
                let _ = writeln!(ctx.out, "{}", raw::pretty(&o.reply.raw));
            } else {
                for line in status_lines(ctx, &target, &o) {
                    let _ = writeln!(ctx.out, "{line}");
                }
            }
            0
        }
        Err(e) => fail(ctx, &target, &e, args.json, "Status"),
    }
}

fn status_lines(ctx: &Ctx<'_>, target: &Target, o: &Outcome) -> Vec<String> {
    let v = &o.reply.value;
    let g = &v["gateway"];
    let mut lines = Vec::new();
    let mut facts = Vec::new();
    if let Some(version) = v["runtimeVersion"].as_str() {
        facts.push(format!("version {version}"));
    }
    if let Some(ms) = v["uptimeMs"].as_u64() {
        facts.push(format!("uptime {}", uptime(ms)));
    }
    let mut head = format!("Gateway: reachable at {}", target.endpoint.url);
    if !facts.is_empty() {
        head.push_str(&format!(" ({})", facts.join(", ")));
    }
    lines.push(head);
    let mut listen = Vec::new();
    if let Some(bind) = g["bind"].as_str() {
        listen.push(bind.to_string());
    }
    if let Some(port) = g["port"].as_u64() {
        listen.push(format!("port {port}"));
    }
    if let Some(mode) = g["authMode"].as_str() {
        listen.push(format!("auth {mode}"));
    }
    if !listen.is_empty() {
        lines.push(format!("Bind: {}", listen.join(", ")));
    }
    if let Some(n) = v["connections"].as_u64() {
        let mut line = format!("Connections: {n}");
        if let Some(p) = v["presenceCount"].as_u64() {
            let entries = if p == 1 { "entry" } else { "entries" };
            line.push_str(&format!(" ({p} presence {entries})"));
        }
        lines.push(line);
    }
    if let Some(path) = g["configPath"].as_str() {
        let validity = match g["configValid"].as_bool() {
            Some(true) => " (valid)",
            Some(false) => " (invalid; run openclaw config validate)",
            None => "",
        };
        lines.push(format!(
            "Config: {}{validity}",
            shorten(ctx, Path::new(path))
        ));
    }
    let hb = &v["heartbeat"];
    if let Some(id) = hb["defaultAgentId"].as_str()
        && let Some(agent) = hb["agents"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["agentId"] == id))
    {
        let interval = match (agent["enabled"].as_bool(), agent["everyMs"].as_u64()) {
            (Some(false), _) => Some("disabled".to_string()),
            (_, Some(ms)) => Some(every(ms)),
            _ => agent["every"].as_str().map(str::to_string),
        };
        if let Some(interval) = interval {
            lines.push(format!("Heartbeat: {interval} ({id})"));
        }
    }
    if let Some(events) = v["queuedSystemEvents"].as_array()
        && !events.is_empty()
    {
        lines.push(format!("Queued system events: {}", events.len()));
    }
    lines
}

// ---------------------------------------------------------------------------------------------
// gateway status

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GatewayStatusOut {
    cli: CliOut,
    log_file: String,
    service: ServiceOut,
    config: ConfigOut,
    gateway: GatewayOut,
    port: PortOut,
    /// The gateway process of this profile, from its run file.
    runtime: RuntimeOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    rpc: Option<RpcOut>,
    /// The last error the service logged, when it runs but its port is closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<LastError>,
    extra_services: Vec<service::ExtraService>,
    /// Other gateways on this host that accept connections.
    other_gateways: Vec<OtherGateway>,
    warnings: Vec<String>,
}

/// The `service` object: what the supervisor says, or why it could not be asked.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum ServiceOut {
    Inspected(Box<service::ServiceStatus>),
    Failed { error: String },
}

#[derive(Debug, Serialize)]
struct CliOut {
    version: &'static str,
    entrypoint: Option<String>,
}

#[derive(Debug, Serialize)]
struct ConfigOut {
    cli: ConfigCliOut,
    /// The config the installed service reads (absent when none is installed).
    #[serde(skip_serializing_if = "Option::is_none")]
    daemon: Option<ConfigCliOut>,
}

#[derive(Debug, Serialize)]
struct ConfigCliOut {
    path: String,
    exists: bool,
    valid: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GatewayOut {
    bind_mode: String,
    bind_host: Option<String>,
    port: u16,
    port_source: &'static str,
    probe_url: String,
    derived_ports: DerivedPorts,
}

/// Ports OpenClaw derives from the gateway port G (`src/config/port-defaults.ts`).
#[derive(Debug, Clone, Copy, Serialize)]
struct DerivedPorts {
    /// Browser control: G+2, else 18791.
    browser: u16,
    /// Canvas host: G+4, else 18793.
    canvas: u16,
}

impl DerivedPorts {
    fn of(port: u16) -> DerivedPorts {
        DerivedPorts {
            browser: port.checked_add(2).unwrap_or(18791),
            canvas: port.checked_add(4).unwrap_or(18793),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PortOut {
    port: u16,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    listeners: Vec<ListenerOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ListenerOut {
    pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command_line: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RuntimeOut {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_file: Option<String>,
    /// The pid of a run file left behind by a gateway that is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    stale_pid: Option<u32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RpcOut {
    ok: bool,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
}

#[derive(Debug, Serialize)]
struct LastError {
    /// `log file` or `journal`.
    source: &'static str,
    line: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct OtherGateway {
    /// Where it was found: `run file` or `service`.
    source: &'static str,
    /// The state directory or service file that names it.
    origin: String,
    port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
}

/// The host the gateway binds (the run file's first address, else what the bind mode means).
fn bind_host(local: &Local, bind: &str, port: u16) -> Option<String> {
    let addrs: Vec<SocketAddr> = match &local.run {
        Some(r) => r.listen.iter().filter_map(|a| a.parse().ok()).collect(),
        None => {
            let custom = local.config_str("/gateway/customBindHost");
            runtime::gateway::startup::bind_addresses(bind, custom.as_deref(), port).ok()?
        }
    };
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .map(|a| a.ip().to_string())
}

/// The first address of `endpoint` that accepts a TCP connection.
fn listening(endpoint: &Endpoint, limit: Duration) -> Option<SocketAddr> {
    let addrs: Vec<SocketAddr> = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()
        .ok()?
        .collect();
    addrs
        .into_iter()
        .find(|a| std::net::TcpStream::connect_timeout(a, limit).is_ok())
}

/// Something accepts TCP connections on the loopback `port`.
fn loopback_answers(port: u16) -> bool {
    let v4 = SocketAddr::from(([127, 0, 0, 1], port));
    let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
    [v4, v6]
        .iter()
        .any(|a| std::net::TcpStream::connect_timeout(a, Duration::from_millis(300)).is_ok())
}

fn listeners(port: u16) -> Vec<ListenerOut> {
    runtime::gateway::startup::pids_listening_on(port)
        .into_iter()
        .map(|pid| {
            let command = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            let command_line = std::fs::read(format!("/proc/{pid}/cmdline"))
                .ok()
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .split('\0')
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|s| !s.is_empty());
            ListenerOut {
                pid,
                command,
                command_line,
            }
        })
        .collect()
}

/// The log file the gateway of this profile writes: the running gateway's, else `logging.file`,
/// else today's default file.
fn log_file(ctx: &Ctx<'_>, local: &Local) -> PathBuf {
    if let Some(r) = &local.run
        && !r.log_file.is_empty()
    {
        return PathBuf::from(&r.log_file);
    }
    match local.config_str("/logging/file") {
        Some(f) => paths::expand_user(&f, paths::home(ctx.env).as_deref(), &ctx.cwd),
        None => LogTarget::default_for(ctx.profile.effective().ok().flatten()).current_path(),
    }
}

/// Is a JSON log line at error level (this gateway's `level`, or OpenClaw's `_meta.logLevelName`).
fn error_level(v: &Value) -> bool {
    let level = v
        .get("level")
        .and_then(Value::as_str)
        .or_else(|| v.pointer("/_meta/logLevelName").and_then(Value::as_str))
        .unwrap_or("");
    level.eq_ignore_ascii_case("error") || level.eq_ignore_ascii_case("fatal")
}

/// The last error-level line of a JSON-lines log file (its last 256 KiB), as `time message`.
fn last_error_in_log(path: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let start = len.saturating_sub(256 * 1024);
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    text.lines().rev().find_map(|line| {
        let v: Value = serde_json::from_str(line).ok()?;
        if !error_level(&v) {
            return None;
        }
        let message = v
            .get("message")
            .or_else(|| v.pointer("/fields/message"))
            .or_else(|| v.get("0"))
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
            .unwrap_or_else(|| line.to_string());
        let time = v.get("time").and_then(Value::as_str).unwrap_or("");
        Some(format!("{time} {message}").trim().to_string())
    })
}

/// Gateways of other profiles (their run files under HOME) and of other installed services that
/// accept connections.
fn other_gateways(
    ctx: &Ctx<'_>,
    own_state: Option<&Path>,
    own_port: u16,
    extra: &[service::ExtraService],
) -> Vec<OtherGateway> {
    let mut found: Vec<OtherGateway> = Vec::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for base in [
        paths::home(ctx.env),
        ctx.env.var("OPENCLAW_HOME").map(PathBuf::from),
    ]
    .into_iter()
    .flatten()
    {
        if let Ok(entries) = std::fs::read_dir(&base) {
            let mut ds: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .filter(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    n == ".openclaw" || n.starts_with(".openclaw-")
                })
                .map(|e| e.path())
                .collect();
            ds.sort();
            dirs.extend(ds);
        }
    }
    for dir in dirs {
        if own_state.is_some_and(|s| s == dir) {
            continue;
        }
        let Some(r) = runfile::read(&dir) else {
            continue;
        };
        if r.port == own_port || !pid_alive(r.pid) || !loopback_answers(r.port) {
            continue;
        }
        found.push(OtherGateway {
            source: "run file",
            origin: dir.display().to_string(),
            port: r.port,
            pid: Some(r.pid),
        });
    }
    for e in extra {
        let Some(port) = e.port else { continue };
        if port == own_port || found.iter().any(|g| g.port == port) || !loopback_answers(port) {
            continue;
        }
        found.push(OtherGateway {
            source: "service",
            origin: e.path.clone(),
            port,
            pid: None,
        });
    }
    found
}

pub fn gateway_status(ctx: &mut Ctx<'_>, args: GatewayStatusArgs) -> u8 {
    let prepared = Local::load(ctx).map_err(|e| (e, 1)).and_then(|local| {
        let (port, source) = resolve_port(ctx, &local).map_err(|e| (e, 1))?;
        let target = target(ctx, &args.client, &local, Some(port))?;
        Ok((local, port, source, target))
    });
    let (local, port, source, target) = match prepared {
        Ok(x) => x,
        Err((message, code)) => {
            let _ = writeln!(ctx.err, "[openclaw] {message}");
            return code;
        }
    };
    let limit = timeout(&args.client);
    let bind = target.bind.clone();
    let host = bind_host(&local, &bind, port);
    let listen_addr = listening(&target.endpoint, LISTEN_CHECK.min(limit));
    let port_out = PortOut {
        port: target.endpoint.port,
        status: if listen_addr.is_some() {
            "listening"
        } else {
            "free"
        },
        address: listen_addr.map(|a| a.to_string()),
        listeners: if listen_addr.is_some() {
            listeners(target.endpoint.port)
        } else {
            Vec::new()
        },
    };
    let runtime_out = match (&local.run, &local.stale_run) {
        (Some(r), _) => RuntimeOut {
            status: "running",
            pid: Some(r.pid),
            version: Some(r.version.clone()),
            started_at_ms: Some(r.started_at_ms),
            log_file: Some(r.log_file.clone()).filter(|f| !f.is_empty()),
            stale_pid: None,
        },
        (None, stale) => RuntimeOut {
            status: "stopped",
            pid: None,
            version: None,
            started_at_ms: None,
            log_file: None,
            stale_pid: stale.as_ref().map(|r| r.pid),
        },
    };
    let rpc = (!args.no_probe).then(|| {
        match client::call(&target.endpoint, &target.auth, "status", json!({}), limit) {
            Ok(o) => RpcOut {
                ok: true,
                url: target.endpoint.url.clone(),
                server: o.hello.get("server").cloned(),
                auth: o
                    .hello
                    .get("auth")
                    .map(|a| json!({ "role": a.get("role"), "scopes": a.get("scopes") })),
                error: None,
                code: None,
            },
            Err(e) => RpcOut {
                ok: false,
                url: target.endpoint.url.clone(),
                server: None,
                auth: None,
                error: Some(e.short()),
                code: match &e {
                    ClientError::Rpc { failure, .. } => Some(failure.code.clone()),
                    ClientError::Transport(_) => None,
                },
            },
        }
    });
    let log_path = log_file(ctx, &local);
    let inspection = service::inspect(ctx, args.deep);
    let (service_json, daemon, extra, mut warnings, last_error) = match &inspection {
        Ok(i) => {
            let daemon = i.service.config_path.as_ref().map(|p| {
                let path = PathBuf::from(p);
                let exists = path.exists();
                let valid = exists && runtime::config::validate_file(&path, ctx.env).is_valid();
                ConfigCliOut {
                    path: p.clone(),
                    exists,
                    valid,
                }
            });
            let active = matches!(i.service.runtime.status, "running" | "activating");
            let last_error = (active && listen_addr.is_none())
                .then(|| {
                    last_error_in_log(&log_path)
                        .map(|line| LastError {
                            source: "log file",
                            line,
                        })
                        .or_else(|| {
                            let (journalctl, unit) = i.journal.as_ref()?;
                            let tail = service::journal_tail(journalctl, unit);
                            let line = tail
                                .iter()
                                .rev()
                                .find(|l| l.to_ascii_lowercase().contains("error"))
                                .or(tail.last())?;
                            Some(LastError {
                                source: "journal",
                                line: line.clone(),
                            })
                        })
                })
                .flatten();
            let mut warnings = Vec::new();
            if let Some(d) = &daemon
                && Path::new(&d.path) != local.config_path
            {
                warnings.push(format!(
                    "The service reads {} but this CLI reads {}: pass the same --profile/--dev and OPENCLAW_* variables, or reinstall with `gateway install --force`.",
                    d.path,
                    local.config_path.display()
                ));
            }
            (
                ServiceOut::Inspected(Box::new(i.service.clone())),
                daemon,
                i.extra.clone(),
                warnings,
                last_error,
            )
        }
        Err(e) => (
            ServiceOut::Failed { error: e.clone() },
            None,
            Vec::new(),
            vec![format!("Cannot inspect the service: {e}")],
            None,
        ),
    };
    let own_state = paths::state_dir(ctx.env, &ctx.profile, &ctx.cwd).ok();
    let others = other_gateways(ctx, own_state.as_deref(), target.endpoint.port, &extra);
    let answering = usize::from(listen_addr.is_some()) + others.len();
    if answering > 1 {
        let list: Vec<String> = others
            .iter()
            .map(|g| format!("port {} ({} {})", g.port, g.source, g.origin))
            .collect();
        warnings.push(format!(
            "Several gateways answer on this host: this one on port {} and {}. Give each its own --profile and a gateway.port at least 20 apart so the derived ports do not collide.",
            target.endpoint.port,
            list.join(", ")
        ));
    }
    for g in &others {
        if g.port.abs_diff(target.endpoint.port) <= 4 {
            warnings.push(format!(
                "The gateway on port {} ({}) is within 4 ports of this one, so their derived browser/canvas ports overlap.",
                g.port, g.origin
            ));
        }
    }
    let out = GatewayStatusOut {
        cli: CliOut {
            version: runtime::gateway::SERVER_VERSION,
            entrypoint: std::env::current_exe()
                .ok()
                .map(|p| p.display().to_string()),
        },
        log_file: log_path.display().to_string(),
        service: service_json,
        config: ConfigOut {
            cli: ConfigCliOut {
                path: local.config_path.display().to_string(),
                exists: local.config_exists,
                valid: local.config_valid,
            },
            daemon,
        },
        gateway: GatewayOut {
            bind_mode: bind,
            bind_host: host,
            port,
            port_source: source.json(),
            probe_url: target.endpoint.url.clone(),
            derived_ports: DerivedPorts::of(port),
        },
        port: port_out,
        runtime: runtime_out,
        rpc,
        last_error,
        extra_services: extra,
        other_gateways: others,
        warnings,
    };
    if args.json {
        crate::report::print_json(ctx.out, &out);
        return 0;
    }
    for line in gateway_status_lines(ctx, &local, source, &out, inspection.as_ref().ok()) {
        let _ = writeln!(ctx.out, "{line}");
    }
    0
}

/// The `Service:` line.
fn service_line(ctx: &Ctx<'_>, s: &service::ServiceStatus) -> String {
    let file = shorten(ctx, Path::new(&s.file));
    match (s.installed, s.manager_available) {
        (true, true) => {
            let enabled = s
                .enabled
                .as_deref()
                .map(|e| format!(", {e}"))
                .unwrap_or_default();
            format!("Service: {} {} ({file}{enabled})", s.manager, s.label)
        }
        (true, false) => format!(
            "Service: {} {} installed ({file}), but {} cannot be asked here",
            s.manager,
            s.label,
            match s.manager {
                "systemd" => "systemctl --user",
                _ => "launchctl",
            }
        ),
        (false, true) => format!(
            "Service: not installed (install with `{} gateway install`)",
            service::cli_prefix(ctx)
        ),
        (false, false) => format!(
            "Service: not installed; {} is not usable here (run the gateway with `{} gateway run`)",
            s.manager,
            service::cli_prefix(ctx)
        ),
    }
}

/// The `Runtime:` line: what the supervisor says.
fn runtime_line(s: &service::ServiceStatus) -> String {
    let r = &s.runtime;
    let mut facts = Vec::new();
    if let Some(pid) = r.pid {
        facts.push(format!("pid {pid}"));
    }
    match (&r.state, &r.sub_state) {
        (Some(a), Some(b)) => facts.push(format!("{} {a}/{b}", s.manager)),
        (Some(a), None) => facts.push(format!("{} {a}", s.manager)),
        _ => {}
    }
    if r.status != "running"
        && let Some(code) = r.last_exit_status.filter(|c| *c != 0)
    {
        facts.push(format!("last exit status {code}"));
    }
    if let Some(d) = &r.detail {
        facts.push(d.clone());
    }
    let facts = if facts.is_empty() {
        String::new()
    } else {
        format!(" ({})", facts.join("; "))
    };
    format!("Runtime: {}{facts}", r.status)
}

fn gateway_status_lines(
    ctx: &Ctx<'_>,
    local: &Local,
    source: PortSource,
    out: &GatewayStatusOut,
    inspection: Option<&service::Inspection>,
) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(i) = inspection {
        lines.push(service_line(ctx, &i.service));
    }
    lines.push(format!(
        "File logs: {}",
        shorten(ctx, Path::new(&out.log_file))
    ));
    lines.push(String::new());
    let config_note = match (local.config_exists, local.config_valid) {
        (false, _) => " (missing)",
        (true, false) => " (invalid; run openclaw config validate)",
        (true, true) => "",
    };
    lines.push(format!(
        "Config (cli): {}{config_note}",
        shorten(ctx, &local.config_path)
    ));
    if let Some(d) = &out.config.daemon {
        let note = match (d.exists, d.valid) {
            (false, _) => " (missing)",
            (true, false) => " (invalid)",
            (true, true) => "",
        };
        lines.push(format!(
            "Config (service): {}{note}",
            shorten(ctx, Path::new(&d.path))
        ));
    }
    lines.push(String::new());
    let g = &out.gateway;
    let host = g
        .bind_host
        .as_ref()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    lines.push(format!(
        "Gateway: bind={}{host}, port={} ({})",
        g.bind_mode,
        g.port,
        source.detail()
    ));
    lines.push(format!("Probe target: {}", g.probe_url));
    lines.push(format!(
        "Derived ports: browser {}, canvas {}",
        g.derived_ports.browser, g.derived_ports.canvas
    ));
    lines.push(String::new());
    if let Some(i) = inspection {
        lines.push(runtime_line(&i.service));
    }
    let r = &out.runtime;
    lines.push(match (r.pid, r.stale_pid) {
        (Some(pid), _) => format!("Process: running (pid {pid})"),
        (None, Some(stale)) => {
            format!("Process: stopped (stale run file: pid {stale} is gone)")
        }
        (None, None) => "Process: stopped".to_string(),
    });
    let p = &out.port;
    lines.push(match &p.address {
        Some(addr) => {
            let pids: Vec<String> = p.listeners.iter().map(|l| l.pid.to_string()).collect();
            if pids.is_empty() {
                format!("Listening: {addr}")
            } else {
                format!("Listening: {addr} (pid {})", pids.join(", "))
            }
        }
        None => format!("Port {}: free (nothing is listening)", p.port),
    });
    lines.push(match &out.rpc {
        None => "RPC probe: skipped (--no-probe)".to_string(),
        Some(rpc) if rpc.ok => "RPC probe: ok".to_string(),
        Some(rpc) => format!(
            "RPC probe: failed ({})",
            rpc.error.as_deref().unwrap_or("unknown error")
        ),
    });
    if let Some(e) = &out.last_error {
        lines.push(format!("Last error ({}): {}", e.source, e.line));
    }
    if let Some(i) = inspection
        && !i.service.drift.is_empty()
    {
        lines.push(format!(
            "Service drift: {} (rewrite with `{} gateway install --force`)",
            i.service.drift.join("; "),
            service::cli_prefix(ctx)
        ));
    }
    for e in &out.extra_services {
        let port = e.port.map(|p| format!(", port {p}")).unwrap_or_default();
        lines.push(format!(
            "Other service: {} ({} {}{port})",
            e.name, e.scope, e.path
        ));
    }
    for w in &out.warnings {
        lines.push(format!("Warning: {w}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_openclaw() {
        assert_eq!(every(1_800_000), "30m");
        assert_eq!(every(3_600_000), "1h");
        assert_eq!(every(45_000), "45s");
        assert_eq!(every(1500), "1500ms");
        assert_eq!(uptime(5_400), "5s");
        assert_eq!(uptime(192_000), "3m 12s");
        assert_eq!(uptime(7_500_000), "2h 5m");
        assert_eq!(uptime(90_000_000), "1d 1h");
    }

    #[test]
    fn health_text_uses_only_present_fields() {
        let v = json!({
            "ok": true, "durationMs": 0, "uptimeMs": 2000, "connections": 1,
            "defaultAgentId": "dev", "heartbeatSeconds": 1800,
            "agents": [
                { "agentId": "dev", "isDefault": true, "heartbeat": { "everyMs": 1_800_000 } },
                { "agentId": "ops", "isDefault": false, "heartbeat": { "everyMs": 1_800_000 } }
            ]
        });
        assert_eq!(
            health_lines(&v),
            [
                "Gateway health: ok (uptime 2s, 1 connection)",
                "Gateway probe duration: 0ms",
                "Agents: dev (default), ops",
                "Heartbeat interval: 30m (dev)",
            ]
        );
        assert_eq!(health_lines(&json!({})), ["Gateway health: unknown"]);
        // OpenClaw's own payload carries `heartbeat.every`.
        let oc = json!({ "ok": true, "defaultAgentId": "dev",
            "agents": [{ "agentId": "dev", "isDefault": true, "heartbeat": { "enabled": true, "every": "30m" } }] });
        assert_eq!(health_lines(&oc)[2], "Heartbeat interval: 30m (dev)");
    }
}
