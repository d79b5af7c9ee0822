//! `openclaw-bench`: start-up, memory, handshake, request throughput/latency and hot reload of the
//! openclaw gateway, measured against gateways this tool starts itself (throwaway HOME, loopback
//! only, stopped with SIGTERM at the end), compared with OpenClaw 2026.9.6's published figures.
//!
//! Output: progress on stderr; on stdout a human table, one JSON line per metric and, with
//! `--markdown`, a comparison table for BENCHMARKS.md.

mod gateway;
mod load;
mod reload;
mod report;
mod sha256;
mod stats;
mod ws;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

use crate::gateway::{Gateway, Launch, TempHome};
use crate::report::Report;
use crate::stats::{median, ms, pct};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Suite {
    /// exec → TCP listening, N spawns; the gateway's own ready_ms; SIGTERM → exit.
    Startup,
    /// VmRSS/VmHWM of an idle gateway, `--idle-secs` after it listens.
    Rss,
    /// Sequential connects: socket open → connect.challenge → hello-ok.
    Handshake,
    /// Request throughput and latency (closed loop, windows, bursts).
    Load,
    /// Config save → `config.changed` (per debounce) and SIGUSR1 in-process restart → new
    /// handshake (not in the default set; see scripts/bench-reload.sh).
    Reload,
}

/// Benchmarks of the openclaw gateway (see bench/RESULTS.md and BENCHMARKS.md).
#[derive(Debug, Parser)]
#[command(name = "openclaw-bench", version)]
struct Args {
    /// Path to the `openclaw` binary to benchmark (build it with --release).
    #[arg(long)]
    openclaw: PathBuf,
    /// Which suites to run (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "startup,rss,handshake,load"
    )]
    only: Vec<Suite>,
    /// Measured gateway spawns for exec → listening (after one unmeasured first run).
    #[arg(long, default_value_t = 10)]
    spawns: usize,
    /// Seconds between listening and the idle RSS reading.
    #[arg(long, default_value_t = 5)]
    idle_secs: u64,
    /// Handshake repetitions.
    #[arg(long, default_value_t = 3)]
    handshake_reps: usize,
    /// Sequential connects per handshake repetition.
    #[arg(long, default_value_t = 200)]
    handshake_n: usize,
    /// Repetitions of each load run (the median req/s is reported; latencies are pooled).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Requests per windowed / burst run.
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    /// Requests per closed-loop run.
    #[arg(long, default_value_t = 2_000)]
    closed_requests: usize,
    /// Config edits measured per debounce setting (reload suite).
    #[arg(long, default_value_t = 40)]
    reload_edits: usize,
    /// `gateway.reload.debounceMs` values to measure after the default (300 ms), set in the file
    /// in this order (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0,50")]
    reload_debounce_ms: Vec<u64>,
    /// SIGUSR1 restarts measured, each on a fresh gateway (restarts have a 30 s cooldown).
    #[arg(long, default_value_t = 15)]
    restart_samples: usize,
    /// Methods to load (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "health,last-heartbeat")]
    methods: Vec<String>,
    /// OS threads for the client's connections (each runs a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Upper bound on each run (and each connect), in seconds.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    /// Extra environment for the gateway, `KEY=VALUE` (repeatable; e.g. TOKIO_WORKER_THREADS=1).
    #[arg(long, value_parser = parse_env)]
    server_env: Vec<(String, String)>,
    /// Pin the gateway to these CPUs (`taskset -c LIST`; an experiment, not the default).
    #[arg(long)]
    server_taskset: Option<String>,
    /// Before each measured run, wait until the machine's CPU busy (other processes; 100 = one
    /// core) over 250 ms is at most this (0: don't wait). The client shares the cores.
    #[arg(long, default_value_t = 20.0)]
    quiet_pct: f64,
    /// Longest wait for a quiet machine before each run, in seconds (then run anyway).
    #[arg(long, default_value_t = 120)]
    quiet_wait_secs: u64,
    /// Also write the JSON lines to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Print a Markdown table comparing with OpenClaw 2026.9.6 at the end.
    #[arg(long)]
    markdown: bool,
}

/// A load run shape.
#[derive(Debug, Clone, Copy)]
struct Mode {
    name: &'static str,
    conns: usize,
    /// Requests in flight per connection; `None` = all of them at once.
    window: Option<usize>,
    closed: bool,
}

const MODES: &[Mode] = &[
    Mode {
        name: "closed_1conn",
        conns: 1,
        window: Some(1),
        closed: true,
    },
    Mode {
        name: "closed_8conn",
        conns: 8,
        window: Some(1),
        closed: true,
    },
    Mode {
        name: "window200_1conn",
        conns: 1,
        window: Some(200),
        closed: false,
    },
    Mode {
        name: "window25_8conn",
        conns: 8,
        window: Some(25),
        closed: false,
    },
    Mode {
        name: "burst_1conn",
        conns: 1,
        window: None,
        closed: false,
    },
    Mode {
        name: "burst_8conn",
        conns: 8,
        window: None,
        closed: false,
    },
];

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// The quiet-machine waits before the runs of one metric.
#[derive(Debug, Default)]
struct Quiet {
    waited: Duration,
    max_busy: f64,
    /// Repetitions thrown away and run again because other processes used the CPU meanwhile.
    discarded: u32,
}

/// Retries of one repetition disturbed by other processes, before it is kept anyway.
const MAX_RETRIES: u32 = 4;

impl Quiet {
    fn settle(&mut self, args: &Args) {
        if args.quiet_pct <= 0.0 {
            return;
        }
        let (busy, waited) =
            stats::wait_quiet(args.quiet_pct, Duration::from_secs(args.quiet_wait_secs));
        if waited > Duration::from_millis(400) {
            eprintln!(
                "   (waited {:.1} s for a quiet machine; now {busy:.0}% busy)",
                waited.as_secs_f64()
            );
        }
        self.waited += waited;
        self.max_busy = self.max_busy.max(busy);
    }

    /// Did other processes use a noticeable share of the CPU during a run? `system_ns` is the
    /// whole machine's busy time (10 ms ticks), `ours_ns` the gateway's and the client's.
    fn disturbed(
        &mut self,
        args: &Args,
        system_ns: u64,
        ours_ns: u64,
        elapsed: Duration,
        tries: u32,
    ) -> bool {
        if args.quiet_pct <= 0.0 || tries >= MAX_RETRIES {
            return false;
        }
        let other = system_ns.saturating_sub(ours_ns);
        let pct = other as f64 / elapsed.as_nanos().max(1) as f64 * 100.0;
        // Below two ticks the reading is noise.
        let disturbed = other > 20_000_000 && pct > args.quiet_pct;
        if disturbed {
            eprintln!("   (other processes used {pct:.0}% CPU during that run: running it again)");
            self.discarded += 1;
        }
        disturbed
    }

    fn json(&self) -> Value {
        json!({
            "busy_before_pct_max": self.max_busy,
            "quiet_wait_s": self.waited.as_secs_f64(),
            "discarded_runs": self.discarded,
        })
    }
}

impl Args {
    fn launch(&self) -> Launch {
        Launch {
            env: self.server_env.clone(),
            taskset: self.server_taskset.clone(),
        }
    }
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    // The gateway runs in its temp HOME: make the path independent of our cwd.
    if let Ok(p) = args.openclaw.canonicalize() {
        args.openclaw = p;
    }
    if !args.openclaw.is_file() {
        eprintln!(
            "openclaw-bench: {} is not a file (build it: cargo build --release -p openclaw-cli)",
            args.openclaw.display()
        );
        return ExitCode::from(2);
    }
    let mut rep = match Report::new(args.json_out.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("openclaw-bench: {e}");
            return ExitCode::from(2);
        }
    };
    rep.machine(&args.openclaw, &args.launch());
    let timeout = Duration::from_secs(args.timeout_secs.max(1));
    let mut failed = false;
    if args.only.contains(&Suite::Startup)
        && let Err(e) = startup(&args, &mut rep)
    {
        eprintln!("startup: {e}");
        failed = true;
    }
    let wants_server = [Suite::Rss, Suite::Handshake, Suite::Load]
        .iter()
        .any(|s| args.only.contains(s));
    if wants_server && let Err(e) = with_server(&args, &mut rep, timeout) {
        eprintln!("openclaw-bench: {e}");
        failed = true;
    }
    if args.only.contains(&Suite::Reload) {
        if let Err(e) = reload::save_to_applied(&args, &mut rep) {
            rep.fail(format!("reload: {e}"));
        }
        if args.restart_samples > 0
            && let Err(e) = reload::in_process_restart(&args, &mut rep)
        {
            rep.fail(format!("restart: {e}"));
        }
    }
    failed |= rep.failed;
    rep.finish(args.markdown);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// exec → listening over `--spawns` runs (after one unmeasured first run that creates the
/// dev config), the gateway's own `ready_ms`, and SIGTERM → exit.
fn startup(args: &Args, rep: &mut Report) -> Result<(), String> {
    let home = TempHome::new().map_err(|e| format!("temp HOME: {e}"))?;
    eprintln!("== startup: 1 first run + {} measured spawns", args.spawns);
    let mut first = Gateway::start(&args.openclaw, home.path(), &args.launch())?;
    let first_ms = first.listen_ms;
    let _ = first.stop();
    let (mut listen, mut ready, mut term) = (Vec::new(), Vec::new(), Vec::new());
    let mut unclean = 0;
    let mut quiet = Quiet::default();
    for i in 0..args.spawns {
        quiet.settle(args);
        let mut g = Gateway::start(&args.openclaw, home.path(), &args.launch())?;
        listen.push(g.listen_ms);
        if let Some(r) = g.ready_ms(Duration::from_secs(2)) {
            ready.push(r);
        }
        if let Some((d, clean)) = g.stop() {
            term.push(d.as_secs_f64() * 1000.0);
            unclean += usize::from(!clean);
        }
        eprintln!("   spawn {i}: listening after {:.2} ms", listen[i]);
    }
    let minmax = |v: &[f64]| {
        (
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(0.0, f64::max),
        )
    };
    let (lmin, lmax) = minmax(&listen);
    let (rmin, rmax) = minmax(&ready);
    rep.emit(
        json!({
            "metric": "startup.exec_to_listening",
            "runs": listen.len(),
            "median_ms": median(&listen),
            "min_ms": lmin,
            "max_ms": lmax,
            "first_run_ms": first_ms,
            "samples_ms": listen,
            "ready_ms_median": if ready.is_empty() { Value::Null } else { json!(median(&ready)) },
            "ready_ms_min": if ready.is_empty() { Value::Null } else { json!(rmin) },
            "ready_ms_max": if ready.is_empty() { Value::Null } else { json!(rmax) },
            "quiet": quiet.json(),
        }),
        format!(
            "exec → listening: median {:.2} ms (min {lmin:.2}, max {lmax:.2}, first run {first_ms:.2}); gateway ready_ms median {}",
            median(&listen),
            if ready.is_empty() {
                "n/a".to_string()
            } else {
                format!("{:.2} ms ({rmin:.2}–{rmax:.2})", median(&ready))
            }
        ),
    );
    let (tmin, tmax) = minmax(&term);
    rep.emit(
        json!({
            "metric": "startup.sigterm_to_exit",
            "runs": term.len(),
            "median_ms": median(&term),
            "min_ms": tmin,
            "max_ms": tmax,
            "needed_sigkill": unclean,
        }),
        format!(
            "SIGTERM → exit: median {:.2} ms (max {tmax:.2}; {unclean} needed SIGKILL)",
            median(&term)
        ),
    );
    Ok(())
}

fn rss_metric(rep: &mut Report, g: &Gateway, name: &str, note: &str) {
    let Some((rss, hwm)) = stats::rss_kib(g.pid) else {
        rep.fail(format!("{name}: cannot read /proc/{}/status", g.pid));
        return;
    };
    let threads = stats::thread_count(g.pid);
    rep.emit(
        json!({
            "metric": name,
            "vmrss_kib": rss,
            "vmhwm_kib": hwm,
            "vmrss_mib": rss as f64 / 1024.0,
            "vmhwm_mib": hwm as f64 / 1024.0,
            "threads": threads,
            "note": note,
        }),
        format!(
            "{name}: VmRSS {:.1} MiB, VmHWM {:.1} MiB, {threads} threads ({note})",
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        ),
    );
}

fn with_server(args: &Args, rep: &mut Report, timeout: Duration) -> Result<(), String> {
    let home = TempHome::new().map_err(|e| format!("temp HOME: {e}"))?;
    let mut g = Gateway::start(&args.openclaw, home.path(), &args.launch())?;
    eprintln!(
        "== gateway pid {} on {} (listening after {:.1} ms)",
        g.pid, g.addr, g.listen_ms
    );
    if args.only.contains(&Suite::Rss) {
        std::thread::sleep(Duration::from_secs(args.idle_secs));
        rss_metric(
            rep,
            &g,
            "rss.idle",
            &format!("{} s after listening", args.idle_secs),
        );
    }
    if args.only.contains(&Suite::Handshake) {
        handshake(args, rep, &g, timeout);
        rss_metric(rep, &g, "rss.after_handshake", "after the handshake runs");
    }
    if args.only.contains(&Suite::Load) {
        load_all(args, rep, &g, timeout);
        rss_metric(rep, &g, "rss.after_load", "after the load runs");
    }
    if let Some((d, clean)) = g.stop() {
        eprintln!(
            "== gateway stopped {:.1} ms after SIGTERM{}",
            d.as_secs_f64() * 1000.0,
            if clean { "" } else { " (needed SIGKILL)" }
        );
    }
    Ok(())
}

fn handshake(args: &Args, rep: &mut Report, g: &Gateway, timeout: Duration) {
    eprintln!(
        "== handshake: {}×{} sequential connects",
        args.handshake_reps, args.handshake_n
    );
    let mut all = Vec::new();
    let mut rep_p50 = Vec::new();
    let mut quiet = Quiet::default();
    let mut server_cpu = 0;
    for r in 0..args.handshake_reps {
        let mut tries = 0;
        let result = loop {
            quiet.settle(args);
            let (cpu0, sys0, me0) = (
                stats::process_cpu_ns(g.pid),
                stats::system_busy_ns(),
                stats::thread_cpu_ns(),
            );
            let t0 = std::time::Instant::now();
            let result = load::handshakes(g.addr, &g.token, args.handshake_n, timeout);
            let srv = stats::process_cpu_ns(g.pid).saturating_sub(cpu0);
            let ours = srv + stats::thread_cpu_ns().saturating_sub(me0);
            let sys = stats::system_busy_ns().saturating_sub(sys0);
            if result.is_ok() && quiet.disturbed(args, sys, ours, t0.elapsed(), tries) {
                tries += 1;
                continue;
            }
            server_cpu += srv;
            break result;
        };
        match result {
            Ok(t) => {
                let mut h: Vec<u64> = t.iter().map(|x| x.hello_ns).collect();
                h.sort_unstable();
                rep_p50.push(ms(pct(&h, 0.5)));
                eprintln!("   rep {r}: p50 {:.3} ms", ms(pct(&h, 0.5)));
                all.extend(t);
            }
            Err(e) => {
                rep.fail(format!("handshake rep {r}: {e}"));
                return;
            }
        }
    }
    let sorted = |f: fn(&ws::HandshakeTimes) -> u64| {
        let mut v: Vec<u64> = all.iter().map(f).collect();
        v.sort_unstable();
        v
    };
    let hello = sorted(|t| t.hello_ns);
    let chal = sorted(|t| t.challenge_ns);
    let tcp = sorted(|t| t.tcp_ns);
    let upg = sorted(|t| t.upgrade_ns);
    let n = all.len().max(1) as f64;
    rep.emit(
        json!({
            "metric": "handshake",
            "connects": all.len(),
            "reps": args.handshake_reps,
            "p50_ms": ms(pct(&hello, 0.5)),
            "p99_ms": ms(pct(&hello, 0.99)),
            "max_ms": ms(pct(&hello, 1.0)),
            "challenge_p50_ms": ms(pct(&chal, 0.5)),
            "challenge_p99_ms": ms(pct(&chal, 0.99)),
            "tcp_connect_p50_ms": ms(pct(&tcp, 0.5)),
            "upgrade_p50_ms": ms(pct(&upg, 0.5)),
            "rep_p50_ms": rep_p50,
            "server_cpu_us_per_connect": server_cpu as f64 / 1000.0 / n,
            "hello_ok_bytes": all.first().map_or(0, |t| t.hello_bytes),
            "quiet": quiet.json(),
            "from": "before TCP connect (socket open) to hello-ok received",
        }),
        format!(
            "handshake (socket open → hello-ok): p50 {:.3} ms, p99 {:.3} ms; → challenge p50 {:.3} ms, p99 {:.3} ms; tcp {:.3} ms, upgrade {:.3} ms; server CPU {:.0} µs/connect",
            ms(pct(&hello, 0.5)),
            ms(pct(&hello, 0.99)),
            ms(pct(&chal, 0.5)),
            ms(pct(&chal, 0.99)),
            ms(pct(&tcp, 0.5)),
            ms(pct(&upg, 0.5)),
            server_cpu as f64 / 1000.0 / n
        ),
    );
}

fn load_all(args: &Args, rep: &mut Report, g: &Gateway, timeout: Duration) {
    let spec = |method: &str, m: &Mode| {
        let total = if m.closed {
            args.closed_requests
        } else {
            args.requests
        };
        load::Spec {
            method: method.to_string(),
            conns: m.conns,
            window: m.window.unwrap_or(total.div_ceil(m.conns)),
            total,
            client_threads: args.client_threads,
            timeout,
        }
    };
    // Warm-up (not recorded): page in the code paths and grow the buffers.
    if let Some(first) = args.methods.first() {
        let _ = load::run(g.addr, &g.token, g.pid, &spec(first, &MODES[3]));
    }
    for method in &args.methods {
        for m in MODES {
            let s = spec(method, m);
            eprintln!(
                "== {method} {}: {} conns, window {}, {} requests × {}",
                m.name, s.conns, s.window, s.total, args.reps
            );
            let mut runs = Vec::new();
            let mut quiet = Quiet::default();
            for _ in 0..args.reps.max(1) {
                let mut tries = 0;
                let r = loop {
                    quiet.settle(args);
                    let r = load::run(g.addr, &g.token, g.pid, &s);
                    let ours = r.server_cpu_ns + r.client_cpu_ns;
                    if r.failure.is_none()
                        && quiet.disturbed(args, r.system_busy_ns, ours, r.elapsed, tries)
                    {
                        tries += 1;
                        continue;
                    }
                    break r;
                };
                eprintln!(
                    "   {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, ok {}, errors {:?}, server CPU {:.0}%, client CPU {:.0}%{}",
                    r.req_per_s(),
                    ms(pct(&r.lat_ns, 0.5)),
                    ms(pct(&r.lat_ns, 0.99)),
                    r.ok,
                    r.errors,
                    cpu_pct(r.server_cpu_ns, r.elapsed),
                    cpu_pct(r.client_cpu_ns, r.elapsed),
                    r.failure
                        .as_deref()
                        .map(|f| format!(" FAILED: {f}"))
                        .unwrap_or_default()
                );
                runs.push(r);
            }
            rep.load(method, m.name, &s, &runs, quiet.json());
        }
    }
}

fn cpu_pct(ns: u64, elapsed: Duration) -> f64 {
    ns as f64 / 1e9 / elapsed.as_secs_f64().max(1e-9) * 100.0
}
