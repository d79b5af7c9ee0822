//! `openclaw gateway [run]`: start the gateway in the foreground and serve until SIGTERM/SIGINT.

use std::time::{Duration, Instant};

use runtime::gateway::startup::{self, StartError, StartOptions};
use runtime::gateway::{logfile, runfile};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::{Ctx, GatewayRunArgs, report};

/// How long in-flight requests get to finish after SIGTERM before the process exits.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(800);

pub fn run(ctx: &mut Ctx<'_>, args: GatewayRunArgs) -> u8 {
    let exec_start = Instant::now();
    let opts = StartOptions {
        profile: ctx.profile.clone(),
        cwd: ctx.cwd.clone(),
        port: args.port.clone(),
        bind: args.bind.clone(),
        auth: args.auth.clone(),
        token: args.token.clone(),
        password: args.password.clone(),
        allow_unconfigured: args.allow_unconfigured,
        runtime_token: None,
    };
    let prepared = match startup::prepare(&opts, ctx.env) {
        Ok(p) => p,
        Err(StartError::Refused { code, message }) => {
            let _ = writeln!(ctx.err, "{message}");
            return code;
        }
        Err(StartError::InvalidConfig(checked)) => {
            let _ = writeln!(
                ctx.err,
                "Gateway failed to start: Invalid config at {}:",
                checked.path.display()
            );
            let (_, body) = report::text(&checked, ctx.color);
            // `report::text` starts with OpenClaw's `config validate` headline; keep the issues.
            for line in body.lines().skip(1) {
                if line.starts_with("Run `openclaw doctor") {
                    break;
                }
                let _ = writeln!(ctx.err, "{line}");
            }
            let _ = writeln!(
                ctx.err,
                "Run \"openclaw doctor --fix\" to repair, then retry (or check it with `openclaw config validate`)."
            );
            return startup::EXIT_CONFIG;
        }
    };
    for note in &prepared.notes {
        let _ = writeln!(ctx.out, "{note}");
    }
    let _ = ctx.out.flush();
    let port = prepared.settings.port;
    if args.force {
        match startup::free_port(port, Duration::from_secs(5)) {
            Ok(pids) if !pids.is_empty() => {
                let _ = writeln!(
                    ctx.out,
                    "--force: stopped process(es) {pids:?} listening on port {port}"
                );
            }
            Ok(_) => {}
            Err(StartError::Refused { code, message }) => {
                let _ = writeln!(ctx.err, "{message}");
                return code;
            }
            Err(StartError::InvalidConfig(_)) => return 1,
        }
    }
    let listeners = match startup::bind_all(&prepared.addrs) {
        Ok(l) => l,
        Err(StartError::Refused { code, message }) => {
            let _ = writeln!(ctx.err, "{message}");
            return code;
        }
        Err(StartError::InvalidConfig(_)) => return 1,
    };
    let log_target = prepared.settings.log_file.clone();
    let file_writer = match log_target.clone().map(logfile::Writer::open).transpose() {
        Ok(w) => w,
        Err(e) => {
            let _ = writeln!(
                ctx.err,
                "Cannot open the gateway log file {}: {e}",
                log_target
                    .as_ref()
                    .map(|t| t.current_path().display().to_string())
                    .unwrap_or_default()
            );
            return 1;
        }
    };
    let log_control = init_tracing(
        args.verbose,
        ctx.color,
        file_writer,
        &prepared.settings,
        ctx.env,
        ctx.env.var("OPENCLAW_LOG").is_some(),
    );
    if let Some(t) = &log_target {
        tracing::info!("log file: {}", t.current_path().display());
    }

    // One worker thread by default: the gateway is I/O-bound (a request costs 1–30 µs of CPU), and
    // with a second worker most connects and replies pay a cross-thread wake-up (handshake p50
    // 0.21–0.27 ms with two workers, 0.19–0.22 ms with one; see BENCHMARKS.md). File reads and other
    // blocking work still go to tokio's blocking pool. TOKIO_WORKER_THREADS=N overrides this.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if ctx.env.var("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(1);
    }
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(ctx.err, "cannot start the async runtime: {e}");
            return 1;
        }
    };
    let state_dir = prepared.settings.state_dir.clone();
    let bind = prepared.settings.bind.clone();
    let config_path = prepared.config_path.clone();
    let runtime_token = prepared.runtime_token.clone();
    let settings = prepared.settings;
    let reloader = std::sync::Arc::new(runtime::gateway::reload::Reloader::new(
        opts.clone(),
        runtime_token.clone(),
        std::sync::Arc::new(runtime::config::ProcessEnv),
    ));
    let code = rt.block_on(async move {
        let shutdown = CancellationToken::new();
        let mut tokio_listeners = Vec::new();
        for l in listeners {
            match tokio::net::TcpListener::from_std(l) {
                Ok(l) => tokio_listeners.push(l),
                Err(e) => {
                    tracing::error!(error = %e, "cannot register listener");
                    return 1u8;
                }
            }
        }
        let addrs: Vec<String> = tokio_listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| a.to_string())
            .collect();
        let info = runfile::RunInfo {
            pid: std::process::id(),
            port,
            bind,
            listen: addrs.clone(),
            config_path: config_path.display().to_string(),
            log_file: log_target
                .as_ref()
                .map(|t| t.current_path().display().to_string())
                .unwrap_or_default(),
            started_at_ms: runtime::gateway::state::now_ms(),
            version: runtime::gateway::SERVER_VERSION.to_string(),
            runtime_token: runtime_token.clone(),
        };
        match runfile::write(&state_dir, &info) {
            Ok(p) => {
                if runtime_token.is_some() {
                    tracing::warn!(
                        "auth token was missing. Generated a runtime token for this startup without changing config; \
                         local CLI commands read it from {} (mode 0600)",
                        p.display()
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot write the run file; local CLI commands will need --token"),
        }
        let running = match runtime::gateway::serve_with_reload(
            settings,
            tokio_listeners,
            shutdown.clone(),
            reloader,
        ) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the server");
                return 1;
            }
        };
        let ready_ms = exec_start.elapsed().as_secs_f64() * 1000.0;
        let primary = running
            .addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(running.addrs.first())
            .map(|a| a.to_string())
            .unwrap_or_default();
        tracing::info!(
            listen = %addrs.join(", "),
            pid = std::process::id(),
            ready_ms = format!("{ready_ms:.1}"),
            "listening on ws://{primary} (PID {})",
            std::process::id()
        );
        tracing::info!("connect with: openclaw gateway call health (or any OpenClaw client at ws://{primary})");
        // Follow hot reloads: log levels and style switch live; the run file follows a restart
        // onto a new port.
        {
            let mut rx = running.gateway.subscribe_settings();
            let g = running.gateway.clone();
            let mut info = info.clone();
            let state_dir = state_dir.clone();
            tokio::spawn(async move {
                while rx.changed().await.is_ok() {
                    let s = rx.borrow_and_update().clone();
                    log_control.apply(&s);
                    // The listeners move only after the restart itself; give it a moment.
                    let g2 = g.clone();
                    let wanted = s.addrs.clone();
                    let mut info2 = info.clone();
                    for _ in 0..50 {
                        let now = g2.addrs();
                        if wanted.is_empty() || now.iter().any(|a| wanted.contains(a)) {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let listen: Vec<String> = g2.addrs().iter().map(|a| a.to_string()).collect();
                    if listen != info2.listen {
                        info2.listen = listen;
                        info2.port = g2.addrs().first().map_or(info2.port, |a| a.port());
                        info2.bind = s.bind.clone();
                        if let Err(e) = runfile::write(&state_dir, &info2) {
                            tracing::warn!(error = %e, "cannot update the run file");
                        }
                        info = info2;
                    }
                }
            });
        }
        // SIGUSR1: restart in-process (same PID), like OpenClaw.
        {
            let g = running.gateway.clone();
            tokio::spawn(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
                    return;
                };
                while usr1.recv().await.is_some() {
                    tracing::info!("received SIGUSR1; restarting in-process");
                    g.request_restart("SIGUSR1", Duration::ZERO);
                }
            });
        }
        wait_for_signal().await;
        tracing::info!("signal received; stopping");
        running.stop(SHUTDOWN_GRACE).await;
        runfile::remove_if_ours(&state_dir);
        0
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    code
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {}
                _ = i.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Console lines (`<time> [subsystem] message`; warnings and errors on stderr, the rest on
/// stdout) and JSON lines in the log file, both through one redactor. Switches the level
/// filters, the console style, the redaction settings and the file's size cap when `logging.*`
/// (or a secret) changes.
struct LogControl {
    console_filter: tracing_subscriber::reload::Handle<EnvFilter, tracing_subscriber::Registry>,
    /// Swaps the file layer's filter (its handle's type names the whole layer stack).
    set_file_filter: Option<Box<dyn Fn(EnvFilter) + Send + Sync>>,
    file: Option<logfile::Writer>,
    style: logfile::StyleHandle,
    redactor: logfile::SharedRedactor,
    verbose: bool,
    /// OPENCLAW_LOG is set: it wins over the config.
    env_override: bool,
    current: std::sync::Mutex<Applied>,
}

impl std::fmt::Debug for LogControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogControl")
            .field("style", &self.style.get())
            .field("verbose", &self.verbose)
            .finish_non_exhaustive()
    }
}

/// The logging-relevant part of the settings, to tell whether a reload changed anything.
#[derive(Debug, Clone, PartialEq)]
struct Applied {
    logging: runtime::gateway::Logging,
    redact: logfile::RedactConfig,
    max_file_bytes: u64,
}

impl Applied {
    fn of(s: &runtime::gateway::Settings, env: &dyn runtime::config::Env) -> Applied {
        Applied {
            logging: s.logging.clone(),
            redact: logfile::RedactConfig::from_settings(s, env),
            max_file_bytes: logfile::max_file_bytes(&s.config),
        }
    }
}

/// `logging.level` names → a tracing level filter for our crates.
fn level_filter(level: Option<&str>, verbose: bool) -> EnvFilter {
    let lvl = match level {
        _ if verbose => "debug",
        Some("silent") => "off",
        Some("fatal") | Some("error") => "error",
        Some("warn") => "warn",
        Some("debug") => "debug",
        Some("trace") => "trace",
        _ => "info",
    };
    let base = if lvl == "off" { "off" } else { "warn" };
    EnvFilter::new(format!("{base},openclaw_runtime={lvl},openclaw_cli={lvl}"))
}

/// The console filter: OPENCLAW_LOG when set (it wins over the config), else the configured level
/// (debug with --verbose, unless the configured level is already more detailed).
fn console_filter(level: Option<&str>, verbose: bool, env_override: bool) -> EnvFilter {
    if env_override {
        return EnvFilter::try_from_env("OPENCLAW_LOG")
            .unwrap_or_else(|_| level_filter(level, verbose));
    }
    level_filter(level, verbose && level != Some("trace"))
}

/// The file filter: OPENCLAW_LOG when set, else `logging.level`.
fn file_filter(level: Option<&str>, env_override: bool) -> EnvFilter {
    if env_override {
        return EnvFilter::try_from_env("OPENCLAW_LOG")
            .unwrap_or_else(|_| level_filter(level, false));
    }
    level_filter(level, false)
}

/// Writes a `[logging]` notice straight to stderr (not through tracing: it may be called while
/// a log line is being written).
fn logging_notice(message: &str) {
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "{} [logging] {message}",
        logfile::timestamp(runtime::gateway::state::now_ms())
    );
}

impl LogControl {
    fn apply(&self, settings: &runtime::gateway::Settings) {
        let next = Applied::of(settings, &runtime::config::ProcessEnv);
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        if *current == next {
            return;
        }
        if next.redact != current.redact {
            let (mut fresh, problems) = next.redact.build();
            if let Ok(mut r) = self.redactor.write() {
                // Secrets that were replaced stay masked: clients may still present them.
                fresh.keep_secrets_of(&r);
                *r = fresh;
            }
            for p in problems {
                tracing::warn!(subsystem = "logging", "{p}");
            }
        }
        if let Some(w) = &self.file {
            w.set_max_bytes(next.max_file_bytes);
        }
        let logging = &next.logging;
        self.style
            .set(logfile::Style::parse(logging.console_style.as_deref()));
        let _ = self.console_filter.reload(console_filter(
            logging.console_level.as_deref(),
            self.verbose,
            self.env_override,
        ));
        if let Some(set) = &self.set_file_filter {
            set(file_filter(logging.level.as_deref(), self.env_override));
        }
        if next.logging != current.logging || next.max_file_bytes != current.max_file_bytes {
            tracing::info!(
                file_level = logging.level.as_deref().unwrap_or("info"),
                console_level = logging.console_level.as_deref().unwrap_or("info"),
                console_style = logging.console_style.as_deref().unwrap_or("pretty"),
                max_file_bytes = next.max_file_bytes,
                "logging settings applied"
            );
        }
        *current = next;
    }
}

fn init_tracing(
    verbose: bool,
    color: bool,
    file: Option<logfile::Writer>,
    settings: &runtime::gateway::Settings,
    env: &dyn runtime::config::Env,
    env_override: bool,
) -> LogControl {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let applied = Applied::of(settings, env);
    let (redactor, problems) = applied.redact.build();
    let redactor: logfile::SharedRedactor = std::sync::Arc::new(std::sync::RwLock::new(redactor));
    let logging = &applied.logging;
    let style = logfile::StyleHandle::new(logfile::Style::parse(logging.console_style.as_deref()));
    let (console_filter_layer, console_filter_handle) = tracing_subscriber::reload::Layer::new(
        console_filter(logging.console_level.as_deref(), verbose, env_override),
    );
    let console = tracing_subscriber::fmt::layer()
        .event_format(logfile::LineFormat::console(
            style.clone(),
            color,
            redactor.clone(),
        ))
        .with_writer(
            std::io::stderr
                .with_max_level(tracing::Level::WARN)
                .or_else(std::io::stdout),
        )
        .with_filter(console_filter_layer);
    let file = file.map(|w| {
        w.set_max_bytes(applied.max_file_bytes);
        w.with_full_notice(std::sync::Arc::new(|path: &std::path::Path, cap: u64| {
            logging_notice(&format!(
                "log file {} reached logging.maxFileBytes ({cap} bytes); further lines are dropped until the next day's file or a higher cap",
                path.display()
            ));
        }))
    });
    let (file_filter_layer, file_handle) =
        tracing_subscriber::reload::Layer::new(file_filter(logging.level.as_deref(), env_override));
    let file_layer = file.clone().map(|w| {
        tracing_subscriber::fmt::layer()
            .event_format(logfile::LineFormat::file(redactor.clone()))
            .with_writer(w)
            .with_filter(file_filter_layer)
    });
    let has_file = file_layer.is_some();
    let _ = tracing_subscriber::registry()
        .with(console)
        .with(file_layer)
        .try_init();
    for p in problems {
        tracing::warn!(subsystem = "logging", "{p}");
    }
    LogControl {
        console_filter: console_filter_handle,
        set_file_filter: has_file.then(|| -> Box<dyn Fn(EnvFilter) + Send + Sync> {
            Box::new(move |f| {
                let _ = file_handle.reload(f);
            })
        }),
        file,
        style,
        redactor,
        verbose,
        env_override,
        current: std::sync::Mutex::new(applied),
    }
}
