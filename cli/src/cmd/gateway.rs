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
    init_tracing(args.verbose, ctx.color, file_writer);

    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
        let running = match runtime::gateway::serve(settings, tokio_listeners, shutdown.clone()) {
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

/// Human lines on stdout (`[gateway] …`), JSON lines in the log file.
fn init_tracing(verbose: bool, color: bool, file: Option<logfile::Writer>) {
    let level = if verbose { "debug" } else { "info" };
    let filter = || {
        EnvFilter::try_from_env("OPENCLAW_LOG").unwrap_or_else(|_| {
            EnvFilter::new(format!(
                "warn,openclaw_runtime={level},openclaw_cli={level}"
            ))
        })
    };
    let stdout = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(color)
        .with_writer(std::io::stdout)
        .with_filter(filter());
    let file_layer = file.map(|w| {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(w)
            .with_filter(filter())
    });
    let _ = tracing_subscriber::registry()
        .with(stdout)
        .with(file_layer)
        .try_init();
}
