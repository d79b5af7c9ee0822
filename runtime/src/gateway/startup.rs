//! From flags, environment and config file to [`Settings`] and bound listeners, with OpenClaw's
//! refusals: each [`StartError`] carries the exit code and message `openclaw gateway` prints.
//!
//! Precedence goes through the generated resolver (`config::resolve`): port `--port` >
//! `OPENCLAW_GATEWAY_PORT` > `gateway.port` > 18789 (`--dev` sets the env port to 19001 when it is
//! unset, as OpenClaw does); bind `--bind` > `gateway.bind` > loopback; token and password
//! `--token`/`--password` > config > `OPENCLAW_GATEWAY_TOKEN`/`OPENCLAW_GATEWAY_PASSWORD`;
//! handshake timeout `OPENCLAW_HANDSHAKE_TIMEOUT_MS` > `gateway.handshakeTimeoutMs` > 15000.
//!
//! Variables come from the process env, then `./.env`, then the state directory's `.env`, then
//! (once the config is read) its `env` block, never overriding one already set
//! (`config::dotenv`). Every SecretRef is resolved once into the snapshot the config state keeps
//! (`config::secrets`); one the gateway needs that fails refuses the start (exit 78, every failure
//! listed), and a token or password given as a ref takes its value from the snapshot.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::auth::{AuthMode, AuthSettings, RateLimit};
use super::logfile::LogTarget;
use super::{ConfigState, Settings};
use crate::config::dotenv::LayeredEnv;
use crate::config::paths::{self, Profile};
use crate::config::resolve::{CliValues, resolve_path};
use crate::config::secrets::{self, Failure, Resolver, Snapshot};
use crate::config::{Checked, Env, check_file};

/// `EX_CONFIG`: the config does not allow starting.
pub const EXIT_CONFIG: u8 = 78;

/// Why the gateway did not start.
#[derive(Debug)]
pub enum StartError {
    /// Print `message` to stderr and exit with `code`.
    Refused { code: u8, message: String },
    /// The config file has problems: render them like `config validate` does, exit 78.
    InvalidConfig(Box<Checked>),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Refused { message, .. } => f.write_str(message),
            StartError::InvalidConfig(c) => {
                write!(f, "the config has {} error(s)", c.errors.len())?;
                if let Some(e) = &c.read_error {
                    write!(f, ": {e}")?;
                }
                for e in c.errors.iter().take(20) {
                    write!(f, "\n  {}: {}", e.display_path(), e.message)?;
                }
                Ok(())
            }
        }
    }
}

impl StartError {
    fn refused(code: u8, message: impl Into<String>) -> StartError {
        StartError::Refused {
            code,
            message: message.into(),
        }
    }
}

/// `openclaw gateway` flags.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    pub profile: Profile,
    pub cwd: PathBuf,
    pub port: Option<String>,
    pub bind: Option<String>,
    pub auth: Option<String>,
    pub token: Option<String>,
    pub password: Option<String>,
    pub allow_unconfigured: bool,
    /// Reuse this generated token when none is configured (a reload must not change the secret
    /// connected clients were given).
    pub runtime_token: Option<String>,
}

/// A start plan: settings, the addresses to bind, and what to tell the operator.
#[derive(Debug)]
pub struct Prepared {
    pub settings: Settings,
    pub addrs: Vec<SocketAddr>,
    /// A runtime-only token generated because none is configured.
    pub runtime_token: Option<String>,
    /// Lines for stdout before the server starts (e.g. `Dev config ready: …`).
    pub notes: Vec<String>,
    pub config_path: PathBuf,
}

/// An env that answers `OPENCLAW_GATEWAY_PORT=19001` under `--dev` when it is unset.
struct DevEnv<'a> {
    inner: &'a dyn Env,
    dev: bool,
}

impl Env for DevEnv<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match self.inner.var(name) {
            Some(v) if !v.is_empty() => Some(v),
            _ if self.dev && name == "OPENCLAW_GATEWAY_PORT" => Some("19001".into()),
            other => other,
        }
    }
}

/// The config `--dev` writes when there is none: a local, loopback-only gateway.
pub fn dev_config() -> Value {
    json!({
        "gateway": { "mode": "local", "bind": "loopback" },
        "agents": { "entries": { "dev": { "default": true } } },
    })
}

fn write_new_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// A random token: 256 bits from two v4 UUIDs, hex.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Resolves everything `openclaw gateway` needs, or says why it must not start.
pub fn prepare(opts: &StartOptions, env: &dyn Env) -> Result<Prepared, StartError> {
    // `./.env`, then the state directory's `.env`, under the process environment (never over it).
    let layered = LayeredEnv::standard(env, &opts.profile, &opts.cwd);
    let denv = DevEnv {
        inner: &layered,
        dev: opts.profile.dev,
    };
    let env: &dyn Env = &denv;
    let path_err = |e: paths::PathError| StartError::refused(2, e.to_string());
    let config_path = paths::config_path(env, &opts.profile, &opts.cwd).map_err(path_err)?;
    let state_dir = paths::state_dir(env, &opts.profile, &opts.cwd).map_err(path_err)?;
    let mut notes = Vec::new();
    for w in layered.warnings() {
        tracing::warn!("{w}");
        notes.push(format!("Warning: {w}"));
    }

    let exists = config_path.exists();
    if !exists && opts.profile.dev {
        let text = serde_json::to_string_pretty(&dev_config()).unwrap_or_default() + "\n";
        write_new_file(&config_path, &text).map_err(|e| {
            StartError::refused(
                1,
                format!(
                    "Cannot create the dev config {}: {e}",
                    config_path.display()
                ),
            )
        })?;
        notes.push(format!(
            "Dev config ready: {}",
            crate::config::diagnostics::display_name(&config_path)
        ));
    } else if !exists && !opts.allow_unconfigured {
        let setup = match opts.profile.effective() {
            Ok(Some(p)) if p != "default" => format!("openclaw --profile {p} setup"),
            _ => "openclaw setup".to_string(),
        };
        return Err(StartError::refused(
            EXIT_CONFIG,
            format!(
                "Missing config. Run `{setup}` or set gateway.mode=local (or pass --allow-unconfigured)."
            ),
        ));
    }

    let checked = if config_path.exists() {
        let mut c = check_file(&config_path, env);
        // Whether a non-loopback bind has auth depends on flags too (`--token`): decided below,
        // with OpenClaw's refusal message.
        c.errors
            .retain(|e| e.code != "openclaw::config::bind_without_auth");
        if !c.is_valid() {
            return Err(StartError::InvalidConfig(Box::new(c)));
        }
        Some(c)
    } else {
        None
    };
    let mut config = match &checked {
        Some(c) => ConfigState::from_checked(c),
        None => ConfigState::missing(config_path.clone()),
    };
    // From here on the config's `env` block is the last layer (it fills only unset variables).
    let mut with_config = layered.clone();
    with_config.add_config(&config.parsed);
    let cenv = DevEnv {
        inner: &with_config,
        dev: opts.profile.dev,
    };
    let env: &dyn Env = &cenv;
    if checked.is_some() && !opts.allow_unconfigured {
        match config.get("gateway.mode").and_then(Value::as_str) {
            Some("local") => {}
            Some(other) => {
                return Err(StartError::refused(
                    EXIT_CONFIG,
                    format!(
                        "Gateway start blocked: set gateway.mode=local (current: {other}) or pass --allow-unconfigured."
                    ),
                ));
            }
            None => {
                return Err(StartError::refused(
                    EXIT_CONFIG,
                    "Gateway start blocked: existing config is missing gateway.mode. Set gateway.mode=local (or run `openclaw setup`), or pass --allow-unconfigured.",
                ));
            }
        }
    }

    // Every SecretRef, resolved once; any failure of one the gateway needs refuses the start.
    let mut secrets = match checked
        .as_ref()
        .and_then(|c| c.root.as_ref().map(|r| (c, r)))
    {
        Some((c, root)) => {
            let resolver = Arc::new(Resolver::from_spanned(root, &c.sources, env, &opts.cwd));
            resolver
                .resolve()
                .map_err(|failures| secrets_refused(&failures))?
        }
        None => Snapshot::default(),
    };
    for w in secrets.warnings() {
        tracing::warn!("unused SecretRef did not resolve: {w}");
        notes.push(format!(
            "Warning: an inactive SecretRef did not resolve: {w}"
        ));
    }

    // Values through the generated resolver.
    let mut cli = CliValues::new();
    for (flag, v) in [
        ("--port", &opts.port),
        ("--bind", &opts.bind),
        ("--token", &opts.token),
        ("--password", &opts.password),
    ] {
        if let Some(v) = v {
            cli.insert(flag, v.clone());
        }
    }
    if let Some(b) = &opts.bind
        && !matches!(
            b.as_str(),
            "loopback" | "lan" | "tailnet" | "auto" | "custom"
        )
    {
        return Err(StartError::refused(
            1,
            "Invalid --bind. Use \"loopback\", \"lan\", \"tailnet\", \"auto\", or \"custom\".",
        ));
    }
    let mut sources = checked
        .as_ref()
        .map(|c| c.sources.clone())
        .unwrap_or_default();
    let root = checked.as_ref().and_then(|c| c.root.as_ref());
    let profile_port = paths::default_port(opts.profile.effective().ok().flatten());
    let mut get = |path: &str| -> Result<Option<Value>, StartError> {
        resolve_path(path, root, &mut sources, &cli, env)
            .map(|r| {
                r.map(|r| match r.origin {
                    // A named profile's gateway has its own default port (`--profile foo` → 47223).
                    crate::config::resolve::Origin::Default if path == "gateway.port" => {
                        Value::from(profile_port)
                    }
                    _ => r.value,
                })
            })
            .map_err(|issue| {
                StartError::refused(
                    1,
                    format!("Invalid {}: {}", issue.display_path(), issue.message),
                )
            })
    };
    let port = match get("gateway.port")? {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0),
        None => Some(profile_port),
        _ => None,
    }
    .ok_or_else(|| StartError::refused(1, "Invalid port: use a number from 1 to 65535."))?;
    let bind = get("gateway.bind")?
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "loopback".into());
    let handshake_ms = get("gateway.handshakeTimeoutMs")?
        .and_then(|v| v.as_u64())
        .unwrap_or(15_000);
    let token = secret(
        get("gateway.auth.token")?,
        "gateway.auth.token",
        &mut secrets,
    )?;
    let password = secret(
        get("gateway.auth.password")?,
        "gateway.auth.password",
        &mut secrets,
    )?;
    config.secrets = Arc::new(secrets);
    let mode = match &opts.auth {
        Some(m) => Some(AuthMode::parse(m).ok_or_else(|| {
            StartError::refused(
                1,
                "Invalid --auth. Use \"none\", \"token\", \"password\", or \"trusted-proxy\".",
            )
        })?),
        None => config
            .get("gateway.auth.mode")
            .and_then(Value::as_str)
            .and_then(AuthMode::parse),
    };
    let rate_limit = {
        let d = RateLimit::default();
        let ms = |k: &str, dflt: Duration| {
            config
                .get(&format!("gateway.auth.rateLimit.{k}"))
                .and_then(Value::as_f64)
                .filter(|v| *v >= 0.0)
                .map_or(dflt, |v| Duration::from_millis(v as u64))
        };
        RateLimit {
            max_attempts: config
                .get("gateway.auth.rateLimit.maxAttempts")
                .and_then(Value::as_f64)
                .filter(|v| *v >= 1.0)
                .map_or(d.max_attempts, |v| v as u32),
            window: ms("windowMs", d.window),
            lockout: ms("lockoutMs", d.lockout),
            exempt_loopback: config
                .get("gateway.auth.rateLimit.exemptLoopback")
                .and_then(Value::as_bool)
                .unwrap_or(d.exempt_loopback),
        }
    };
    let mut auth = AuthSettings {
        mode,
        token,
        password,
        rate_limit,
    };
    if auth.mode.is_none() && auth.token.is_some() && auth.password.is_some() {
        return Err(StartError::refused(
            EXIT_CONFIG,
            "Both a gateway token and a password are configured but gateway.auth.mode is not set. Set gateway.auth.mode to \"token\" or \"password\".",
        ));
    }

    let custom_host = config
        .get("gateway.customBindHost")
        .and_then(Value::as_str)
        .map(str::to_string);
    let addrs = bind_addresses(&bind, custom_host.as_deref(), port)?;
    let public = addrs.iter().any(|a| !a.ip().is_loopback());
    let effective = auth.effective_mode();
    let has_secret = match effective {
        AuthMode::Token => auth.token.is_some(),
        AuthMode::Password => auth.password.is_some(),
        AuthMode::TrustedProxy => true,
        AuthMode::None => false,
    };
    if public && !has_secret {
        return Err(StartError::refused(
            EXIT_CONFIG,
            format!(
                "Refusing to bind gateway to {bind} without auth.\nSet gateway.auth.token (or OPENCLAW_GATEWAY_TOKEN / OPENCLAW_GATEWAY_PASSWORD), or pass --token or --password; or keep gateway.bind=loopback."
            ),
        ));
    }
    if effective == AuthMode::TrustedProxy
        && config
            .get("gateway.trustedProxies")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        return Err(StartError::refused(
            EXIT_CONFIG,
            "gateway.auth.mode is \"trusted-proxy\" but gateway.trustedProxies is empty; list the proxy addresses.",
        ));
    }
    let mut runtime_token = None;
    if effective == AuthMode::Token && auth.token.is_none() {
        let t = opts.runtime_token.clone().unwrap_or_else(random_token);
        auth.token = Some(t.clone());
        runtime_token = Some(t);
    }

    // The same resolution `openclaw logs` uses, so both name the same file.
    let log_file = LogTarget::from_config(
        &config.parsed,
        opts.profile.effective().ok().flatten(),
        paths::home(env).as_deref(),
        &opts.cwd,
    );
    let allowed_origins = config
        .get("gateway.controlUi.allowedOrigins")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut settings = Settings::new(config, state_dir);
    settings.port = port;
    settings.bind = bind;
    settings.auth = auth;
    settings.handshake_timeout = Duration::from_millis(handshake_ms.max(1));
    settings.log_file = Some(log_file);
    settings.allowed_origins = allowed_origins;
    settings.addrs = addrs.clone();
    let text = |k: &str| {
        settings
            .config
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    settings.logging = super::Logging {
        level: text("logging.level"),
        console_level: text("logging.consoleLevel"),
        console_style: text("logging.consoleStyle"),
    };
    Ok(Prepared {
        settings,
        addrs,
        runtime_token,
        notes,
        config_path,
    })
}

/// The start refusal for SecretRefs that did not resolve: every failure, with where it is used.
fn secrets_refused(failures: &[Failure]) -> StartError {
    StartError::refused(
        EXIT_CONFIG,
        format!(
            "Gateway failed to start: {} SecretRef(s) could not be resolved:\n{}\nFix the refs or their providers (secrets.providers), then start again.",
            failures.len(),
            secrets::describe(failures)
        ),
    )
}

/// A `SecretInput` value as a string: inline, or a SecretRef's value from the snapshot (which
/// then records that the settings use it, so `secrets.reload` can refresh it).
fn secret(
    v: Option<Value>,
    path: &str,
    snapshot: &mut Snapshot,
) -> Result<Option<String>, StartError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Object(_)) => match snapshot.get(path).map(str::to_string) {
            Some(v) => {
                snapshot.mark_applied(path);
                Ok(Some(v))
            }
            None => Err(StartError::refused(
                EXIT_CONFIG,
                format!(
                    "{path}: the SecretRef there did not resolve to a value; check it with `openclaw secrets audit`."
                ),
            )),
        },
        Some(other) => Err(StartError::refused(
            EXIT_CONFIG,
            format!("{path}: expected a string or a SecretRef, got {other}"),
        )),
    }
}

/// The addresses a bind mode listens on.
pub fn bind_addresses(
    bind: &str,
    custom_host: Option<&str>,
    port: u16,
) -> Result<Vec<SocketAddr>, StartError> {
    let v4 = |ip: Ipv4Addr| SocketAddr::new(IpAddr::V4(ip), port);
    let loopback = vec![
        v4(Ipv4Addr::LOCALHOST),
        SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
    ];
    Ok(match bind {
        "lan" => vec![v4(Ipv4Addr::UNSPECIFIED)],
        "custom" => {
            let host = custom_host.ok_or_else(|| {
                StartError::refused(
                    EXIT_CONFIG,
                    "gateway.bind is \"custom\" but gateway.customBindHost is not set.",
                )
            })?;
            let ip: Ipv4Addr = host.parse().map_err(|_| {
                StartError::refused(
                    EXIT_CONFIG,
                    format!("gateway.customBindHost \"{host}\" is not an IPv4 address."),
                )
            })?;
            if ip.is_loopback() || ip.is_unspecified() {
                vec![v4(ip)]
            } else {
                vec![v4(ip), v4(Ipv4Addr::LOCALHOST)]
            }
        }
        "tailnet" => match tailnet_address() {
            Some(ip) => vec![v4(ip), v4(Ipv4Addr::LOCALHOST)],
            None => loopback,
        },
        // `auto` prefers loopback.
        _ => loopback,
    })
}

/// This machine's Tailscale address (100.64.0.0/10), read from the kernel's routing trie.
fn tailnet_address() -> Option<Ipv4Addr> {
    let trie = std::fs::read_to_string("/proc/net/fib_trie").ok()?;
    let mut last: Option<Ipv4Addr> = None;
    for line in trie.lines() {
        let t = line.trim_start_matches([' ', '|', '+', '-']).trim();
        if let Ok(ip) = t.parse::<Ipv4Addr>() {
            last = Some(ip);
        } else if t.contains("/32 host LOCAL")
            && let Some(ip) = last
            && ip.octets()[0] == 100
            && (64..128).contains(&ip.octets()[1])
        {
            return Some(ip);
        }
    }
    None
}

/// Binds every address; a taken port names the address. `::1` is skipped where IPv6 is absent.
pub fn bind_all(addrs: &[SocketAddr]) -> Result<Vec<std::net::TcpListener>, StartError> {
    let mut out = Vec::new();
    for a in addrs {
        match std::net::TcpListener::bind(a) {
            Ok(l) => {
                l.set_nonblocking(true).map_err(|e| {
                    StartError::refused(1, format!("cannot configure listener {a}: {e}"))
                })?;
                out.push(l);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                return Err(StartError::refused(
                    1,
                    format!(
                        "another gateway instance is already listening on {a} (EADDRINUSE). Stop it, or pass --force to replace it."
                    ),
                ));
            }
            Err(_) if a.is_ipv6() && a.ip().is_loopback() => {}
            Err(e) => {
                return Err(StartError::refused(1, format!("cannot listen on {a}: {e}")));
            }
        }
    }
    Ok(out)
}

/// The pids of processes with a listening TCP socket on `port` (Linux `/proc`).
pub fn pids_listening_on(port: u16) -> Vec<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local_address, …, st (0A = LISTEN), …, inode at index 9.
            if cols.len() > 9
                && cols[3] == "0A"
                && cols[1]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
                    == Some(port)
            {
                inodes.push(format!("socket:[{}]", cols[9]));
            }
        }
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut pids = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && inodes.iter().any(|i| target.as_os_str() == i.as_str())
            {
                pids.push(pid);
                break;
            }
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// `--force`: SIGTERM whatever listens on `port`, then wait (at most `wait`) for the port to free.
pub fn free_port(port: u16, wait: Duration) -> Result<Vec<u32>, StartError> {
    let me = std::process::id();
    let pids: Vec<u32> = pids_listening_on(port)
        .into_iter()
        .filter(|p| *p != me)
        .collect();
    for pid in &pids {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        if !status.is_ok_and(|s| s.success()) {
            return Err(StartError::refused(
                1,
                format!("--force: could not signal process {pid} listening on port {port}"),
            ));
        }
    }
    let deadline = std::time::Instant::now() + wait;
    while !pids_listening_on(port).is_empty() {
        if std::time::Instant::now() >= deadline {
            return Err(StartError::refused(
                1,
                format!(
                    "--force: port {port} is still in use {} ms after SIGTERM",
                    wait.as_millis()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MapEnv;

    fn opts(dir: &Path) -> StartOptions {
        StartOptions {
            cwd: dir.to_path_buf(),
            ..StartOptions::default()
        }
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ocrs-startup-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("tmp dir");
        d
    }

    fn refused(r: Result<Prepared, StartError>) -> (u8, String) {
        match r {
            Err(StartError::Refused { code, message }) => (code, message),
            Err(StartError::InvalidConfig(_)) => (EXIT_CONFIG, "invalid config".into()),
            Ok(_) => (0, String::new()),
        }
    }

    #[test]
    fn refusals_and_precedence() {
        let d = tmp("refusals");
        let home = d.join("home");
        let h = home.display().to_string();
        let env = MapEnv::new([("HOME", h.as_str())]);
        // No config, no --allow-unconfigured.
        let (code, msg) = refused(prepare(&opts(&d), &env));
        assert_eq!(code, 78);
        assert!(msg.starts_with("Missing config."), "{msg}");
        // --dev creates the dev config and uses port 19001.
        let mut o = opts(&d);
        o.profile.dev = true;
        let p = prepare(&o, &env).expect("dev starts");
        assert_eq!(p.settings.port, 19001);
        assert!(p.runtime_token.is_some());
        assert!(home.join(".openclaw-dev/openclaw.json").is_file());
        assert_eq!(p.notes.len(), 1);
        // A second run keeps the file and prints nothing about it.
        assert!(prepare(&o, &env).expect("again").notes.is_empty());
        // --port beats the env port.
        o.port = Some("19100".into());
        assert_eq!(prepare(&o, &env).expect("port").settings.port, 19100);
        // A named profile's default port is derived from its name; gateway.port still wins.
        let mut named = opts(&d);
        named.profile.name = Some("foo".into());
        named.allow_unconfigured = true;
        assert_eq!(prepare(&named, &env).expect("foo").settings.port, 47223);
        std::fs::create_dir_all(home.join(".openclaw-foo")).expect("mkdir");
        std::fs::write(
            home.join(".openclaw-foo/openclaw.json"),
            "{ gateway: { mode: 'local', port: 19300 } }",
        )
        .expect("w");
        assert_eq!(prepare(&named, &env).expect("foo").settings.port, 19300);
        // Non-loopback bind without auth is refused; with a token it starts.
        let cfg = d.join("lan.json5");
        std::fs::write(
            &cfg,
            "{ gateway: { mode: 'local', bind: 'lan', port: 19200 } }",
        )
        .expect("w");
        let c = cfg.display().to_string();
        let env2 = MapEnv::new([("HOME", h.as_str()), ("OPENCLAW_CONFIG_PATH", c.as_str())]);
        let (code, msg) = refused(prepare(&opts(&d), &env2));
        assert_eq!(code, 78);
        assert!(
            msg.starts_with("Refusing to bind gateway to lan without auth."),
            "{msg}"
        );
        let env3 = MapEnv::new([
            ("HOME", h.as_str()),
            ("OPENCLAW_CONFIG_PATH", c.as_str()),
            ("OPENCLAW_GATEWAY_TOKEN", "envtok"),
        ]);
        let p = prepare(&opts(&d), &env3).expect("lan with token");
        assert_eq!(p.settings.auth.token.as_deref(), Some("envtok"));
        assert_eq!(p.settings.port, 19200);
        // --token beats env.
        let mut o = opts(&d);
        o.token = Some("flagtok".into());
        assert_eq!(
            prepare(&o, &env3)
                .expect("flag")
                .settings
                .auth
                .token
                .as_deref(),
            Some("flagtok")
        );
        // Missing gateway.mode.
        std::fs::write(&cfg, "{ gateway: { port: 19200 } }").expect("w");
        let (code, msg) = refused(prepare(&opts(&d), &env2));
        assert_eq!(code, 78);
        assert!(msg.contains("missing gateway.mode"), "{msg}");
        let mut o = opts(&d);
        o.allow_unconfigured = true;
        assert!(prepare(&o, &env2).is_ok());
        // An invalid config.
        std::fs::write(&cfg, "{ gateway: { mode: 'local', port: 'abc' } }").expect("w");
        assert!(matches!(
            prepare(&opts(&d), &env2),
            Err(StartError::InvalidConfig(_))
        ));
        // A bad --bind.
        std::fs::write(&cfg, "{ gateway: { mode: 'local' } }").expect("w");
        let mut o = opts(&d);
        o.bind = Some("everywhere".into());
        let (code, msg) = refused(prepare(&o, &env2));
        assert_eq!(code, 1);
        assert!(msg.starts_with("Invalid --bind."));
        // Handshake timeout: env beats config.
        std::fs::write(
            &cfg,
            "{ gateway: { mode: 'local', handshakeTimeoutMs: 5000 } }",
        )
        .expect("w");
        assert_eq!(
            prepare(&opts(&d), &env2)
                .expect("ok")
                .settings
                .handshake_timeout,
            Duration::from_millis(5000)
        );
        let env4 = MapEnv::new([
            ("HOME", h.as_str()),
            ("OPENCLAW_CONFIG_PATH", c.as_str()),
            ("OPENCLAW_HANDSHAKE_TIMEOUT_MS", "250"),
        ]);
        assert_eq!(
            prepare(&opts(&d), &env4)
                .expect("ok")
                .settings
                .handshake_timeout,
            Duration::from_millis(250)
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_taken_port_is_named() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let err = bind_all(&[addr]).expect_err("taken");
        match err {
            StartError::Refused { code, message } => {
                assert_eq!(code, 1);
                assert!(message.starts_with(&format!(
                    "another gateway instance is already listening on {addr}"
                )));
            }
            StartError::InvalidConfig(_) => panic!("wrong error"),
        }
        assert!(pids_listening_on(addr.port()).contains(&std::process::id()));
    }
}
