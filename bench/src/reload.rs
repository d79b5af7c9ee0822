//! The `reload` suite: how fast a saved config reaches the clients, and how fast an in-process
//! restart lets them back in.
//!
//! * **save → applied**: a connected client; the config file is rewritten (alternately through a
//!   temporary file + rename, as editors save, and in place), changing `ui.seamColor` and
//!   `logging.level` in turn; the clock runs from just before the write to the arrival of the
//!   `config.changed` event whose `hash` is `sha256:<hex>` of the new file's bytes. Measured with
//!   the default debounce (300 ms) and then with each `gateway.reload.debounceMs` of
//!   `--reload-debounce-ms`, set in the file first (its own `config.changed` awaited).
//! * **in-process restart**: a connected client, then SIGUSR1 to the gateway: from the `shutdown`
//!   event to the port accepting a TCP connect again (polled every 0.5 ms) and to the first
//!   complete new handshake (TCP connect + upgrade + `hello-ok`). Restarts are rate-limited per
//!   process (30 s cooldown, not configurable), so every sample uses a fresh gateway.
//!
//! Every wait is bounded; gateways are stopped with SIGTERM (SIGKILL after 5 s) and their temp
//! HOMEs removed.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::TcpStream;

use crate::gateway::{Gateway, TempHome};
use crate::report::Report;
use crate::sha256::config_hash;
use crate::stats::{self, median, ms, pct};
use crate::ws::{Conn, OP_CLOSE};
use crate::{Args, Quiet};

/// The gateway's debounce when `gateway.reload.debounceMs` is not set.
pub const DEFAULT_DEBOUNCE_MS: u64 = 300;
/// Longest wait for one awaited event (on top of the debounce), connect or handshake.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait, after `shutdown`, for a new handshake to succeed.
const RESTART_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the old connection's close frame after `shutdown`.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for the gateway to install its SIGUSR1 handler (before that, SIGUSR1 kills it).
const HANDLER_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between connect attempts while the port refuses.
const POLL: Duration = Duration::from_micros(500);
const SIGUSR1: u32 = 10;

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How a new version of the config file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Save {
    /// Write `<name>.bench-tmp` next to it, then rename it over the file (a new inode).
    Rename,
    /// Truncate and rewrite the file itself (the same inode).
    InPlace,
}

impl Save {
    fn name(self) -> &'static str {
        match self {
            Save::Rename => "rename",
            Save::InPlace => "in-place",
        }
    }
}

/// Writes `text` to `path` the way `how` says; the file keeps mode 0600.
fn save(path: &Path, text: &str, how: Save) -> std::io::Result<()> {
    let open = |p: &Path| {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(p)
    };
    match how {
        Save::Rename => {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".bench-tmp");
            let tmp = path.with_file_name(name);
            open(&tmp)?.write_all(text.as_bytes())?;
            fs::rename(&tmp, path)
        }
        Save::InPlace => open(path)?.write_all(text.as_bytes()),
    }
}

/// The config as a JSON document, and the next edit to make to it.
struct Editor {
    path: PathBuf,
    doc: Value,
    edits: u64,
}

impl Editor {
    /// Sets the value at a dotted path, creating objects on the way.
    fn set(&mut self, path: &[&str], v: Value) {
        let mut at = &mut self.doc;
        for key in path {
            if !at.is_object() {
                *at = json!({});
            }
            let Value::Object(map) = at else { return };
            at = map.entry(key.to_string()).or_insert(Value::Null);
        }
        *at = v;
    }

    fn render(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.doc).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The next version: odd edits set a new `ui.seamColor` (never used before), even ones flip
    /// `logging.level` between `warn` and `info`, so every version differs from all earlier ones.
    /// Edits 1–2 are saved by rename, 3–4 in place, and so on.
    fn next(&mut self) -> (Save, String) {
        self.edits += 1;
        let n = self.edits;
        if n % 2 == 1 {
            // Multiplying by an odd constant is a bijection mod 2^24: a fresh colour every time.
            let colour = n.wrapping_mul(0x9E_3779) & 0xFF_FFFF;
            self.set(&["ui", "seamColor"], json!(format!("#{colour:06x}")));
        } else {
            let level = if (n / 2) % 2 == 1 { "warn" } else { "info" };
            self.set(&["logging", "level"], json!(level));
        }
        let how = if ((n - 1) / 2).is_multiple_of(2) {
            Save::Rename
        } else {
            Save::InPlace
        };
        (how, self.render())
    }
}

/// Reads frames until the `config.changed` event carrying `hash`; returns its arrival time
/// (from `t0`) and how many `config.changed` events with another hash came first.
async fn wait_changed(
    conn: &mut Conn,
    hash: &str,
    t0: Instant,
    deadline: tokio::time::Instant,
) -> Result<(u64, u32), String> {
    let mut stale = 0;
    loop {
        let (op, payload) = tokio::time::timeout_at(deadline, conn.next_frame())
            .await
            .map_err(|_| format!("no config.changed with {hash} in time"))?
            .map_err(|e| format!("connection: {e}"))?;
        let at = ns(t0.elapsed());
        if op == OP_CLOSE {
            return Err("the gateway closed the connection".into());
        }
        let Ok(v) = serde_json::from_slice::<Value>(&payload) else {
            continue;
        };
        if v["type"] == "event" && v["event"] == "config.changed" {
            if v["payload"]["hash"] == hash {
                return Ok((at, stale));
            }
            stale += 1;
        }
    }
}

/// Save → `config.changed`, for the default debounce and each `--reload-debounce-ms`.
pub fn save_to_applied(args: &Args, rep: &mut Report) -> Result<(), String> {
    let home = TempHome::new().map_err(|e| format!("temp HOME: {e}"))?;
    let g = Gateway::start(&args.openclaw, home.path(), &args.launch())?;
    let path = home.path().join(".openclaw-dev").join("openclaw.json");
    let text = fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the dev config {}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not plain JSON ({e}); the benchmark edits it as JSON",
            path.display()
        )
    })?;
    let mut ed = Editor {
        path,
        doc,
        edits: 0,
    };
    eprintln!(
        "== reload: save → config.changed on gateway pid {} ({}), {} edits per debounce setting",
        g.pid,
        ed.path.display(),
        args.reload_edits
    );
    let rt = runtime()?;
    rt.block_on(async {
        let (mut conn, _) = tokio::time::timeout(EVENT_TIMEOUT, Conn::open(g.addr, &g.token))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| format!("connect: {e}"))?;
        let mut current = DEFAULT_DEBOUNCE_MS;
        let phases = std::iter::once(None).chain(args.reload_debounce_ms.iter().copied().map(Some));
        for phase in phases {
            if let Some(d) = phase {
                // Set the debounce in the file; it applies from the window after this one.
                ed.set(&["gateway", "reload", "debounceMs"], json!(d));
                let text = ed.render();
                let hash = config_hash(text.as_bytes());
                let t0 = Instant::now();
                save(&ed.path, &text, Save::Rename)
                    .map_err(|e| format!("cannot write {}: {e}", ed.path.display()))?;
                let deadline =
                    tokio::time::Instant::now() + Duration::from_millis(current) + EVENT_TIMEOUT;
                wait_changed(&mut conn, &hash, t0, deadline)
                    .await
                    .map_err(|e| format!("setting gateway.reload.debounceMs = {d}: {e}"))?;
                current = d;
            }
            eprintln!(
                "== reload: debounce {current} ms{}",
                if phase.is_none() {
                    " (default: not set in the file)"
                } else {
                    " (gateway.reload.debounceMs)"
                }
            );
            let mut quiet = Quiet::default();
            let mut edits: Vec<(Save, u64)> = Vec::new();
            let mut stale = 0;
            let mut server_cpu_ns = 0;
            for i in 0..args.reload_edits {
                let mut tries = 0;
                loop {
                    quiet.settle(args);
                    let (how, text) = ed.next();
                    let hash = config_hash(text.as_bytes());
                    let (cpu0, sys0, me0) = (
                        stats::process_cpu_ns(g.pid),
                        stats::system_busy_ns(),
                        stats::thread_cpu_ns(),
                    );
                    let t0 = Instant::now();
                    save(&ed.path, &text, how)
                        .map_err(|e| format!("cannot write {}: {e}", ed.path.display()))?;
                    let deadline = tokio::time::Instant::now()
                        + Duration::from_millis(current)
                        + EVENT_TIMEOUT;
                    let (at, s) = wait_changed(&mut conn, &hash, t0, deadline)
                        .await
                        .map_err(|e| format!("edit {i} ({}): {e}", how.name()))?;
                    let elapsed = t0.elapsed();
                    let srv = stats::process_cpu_ns(g.pid).saturating_sub(cpu0);
                    let ours = srv + stats::thread_cpu_ns().saturating_sub(me0);
                    let sys = stats::system_busy_ns().saturating_sub(sys0);
                    stale += s;
                    if quiet.disturbed(args, sys, ours, elapsed, tries) {
                        tries += 1;
                        continue;
                    }
                    server_cpu_ns += srv;
                    eprintln!("   edit {i:2} ({:8}): {:.2} ms", how.name(), ms(at));
                    edits.push((how, at));
                    break;
                }
            }
            let cpu_ms = ms(server_cpu_ns) / edits.len().max(1) as f64;
            emit_edits(
                rep,
                current,
                phase.is_none(),
                &edits,
                stale,
                cpu_ms,
                quiet.json(),
            );
        }
        conn.close().await;
        Ok::<(), String>(())
    })
}

fn sorted(edits: &[(Save, u64)], only: Option<Save>) -> Vec<u64> {
    let mut v: Vec<u64> = edits
        .iter()
        .filter(|(h, _)| only.is_none_or(|o| o == *h))
        .map(|&(_, t)| t)
        .collect();
    v.sort_unstable();
    v
}

fn median_ms(sorted: &[u64]) -> f64 {
    median(&sorted.iter().map(|&t| ms(t)).collect::<Vec<_>>())
}

fn emit_edits(
    rep: &mut Report,
    debounce_ms: u64,
    default: bool,
    edits: &[(Save, u64)],
    stale: u32,
    server_cpu_ms: f64,
    quiet: Value,
) {
    let all = sorted(edits, None);
    let d = debounce_ms as f64;
    let (med, p99) = (median_ms(&all), ms(pct(&all, 0.99)));
    let target = d + 5.0;
    let by = |how: Save| {
        let v = sorted(edits, Some(how));
        json!({
            "edits": v.len(),
            "median_ms": median_ms(&v),
            "p99_ms": ms(pct(&v, 0.99)),
            "max_ms": ms(pct(&v, 1.0)),
        })
    };
    let (rename, in_place) = (by(Save::Rename), by(Save::InPlace));
    rep.emit(
        json!({
            "metric": format!("reload.save_to_applied.debounce_{debounce_ms}"),
            "debounce_ms": debounce_ms,
            "debounce_source": if default { "default" } else { "gateway.reload.debounceMs" },
            "edits": all.len(),
            "median_ms": med,
            "p99_ms": p99,
            "min_ms": ms(pct(&all, 0.0)),
            "max_ms": ms(pct(&all, 1.0)),
            "median_minus_debounce_ms": med - d,
            "p99_minus_debounce_ms": p99 - d,
            "target_ms": target,
            "median_met": med <= target,
            "p99_met": p99 <= target,
            "rename": rename,
            "in_place": in_place,
            "stale_config_changed": stale,
            "server_cpu_ms_per_edit": server_cpu_ms,
            "samples_ms": all.iter().map(|&t| ms(t)).collect::<Vec<_>>(),
            "quiet": quiet,
            "from": "just before the write to the config.changed event with the new file's sha256",
        }),
        format!(
            "save → config.changed, debounce {debounce_ms} ms{}: median {med:.2} ms (debounce + {:.2}), p99 {p99:.2} ms (+ {:.2}); rename median {:.2}, in place median {:.2}; gateway CPU {server_cpu_ms:.2} ms/edit; target ≤ {target:.0} ms {}",
            if default { " (default)" } else { "" },
            med - d,
            p99 - d,
            rename["median_ms"].as_f64().unwrap_or(f64::NAN),
            in_place["median_ms"].as_f64().unwrap_or(f64::NAN),
            if med <= target { "met" } else { "MISSED" },
        ),
    );
}

/// One SIGUSR1 restart, seen by a connected client.
#[derive(Debug, Clone)]
struct Restart {
    /// Before `kill -USR1` is spawned → `shutdown` received (includes spawning `kill`).
    signal_to_shutdown_ns: u64,
    /// `shutdown` → the first TCP connect that succeeds.
    port_ns: u64,
    /// `shutdown` → `hello-ok` of the first complete new handshake.
    hello_ns: u64,
    /// Connects refused (or timed out) before the port accepted.
    refused: u32,
    /// Connects accepted whose handshake then failed.
    failed_handshakes: u32,
    /// The old connection's close code (`None`: no close frame in time).
    close_code: Option<u16>,
    /// `shutdown.payload.restartExpectedMs`.
    restart_expected_ms: Option<u64>,
    reason: String,
}

/// SIGUSR1 → `shutdown` → port accepting / new `hello-ok`, one fresh gateway per sample.
pub fn in_process_restart(args: &Args, rep: &mut Report) -> Result<(), String> {
    let home = TempHome::new().map_err(|e| format!("temp HOME: {e}"))?;
    eprintln!(
        "== restart: SIGUSR1 → shutdown → port accepting / new hello-ok, {} fresh gateways",
        args.restart_samples
    );
    let rt = runtime()?;
    let mut quiet = Quiet::default();
    let mut samples = Vec::new();
    for i in 0..args.restart_samples {
        let mut tries = 0;
        let s = loop {
            let mut g = Gateway::start(&args.openclaw, home.path(), &args.launch())?;
            let t_handler = Instant::now();
            while !stats::catches_signal(g.pid, SIGUSR1) {
                if t_handler.elapsed() > HANDLER_TIMEOUT {
                    return Err(format!(
                        "gateway pid {} installed no SIGUSR1 handler within {HANDLER_TIMEOUT:?}",
                        g.pid
                    ));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            let (mut cpu0, mut me0, mut sys0) = (0, 0, 0);
            let mut t0 = Instant::now();
            let r = rt.block_on(restart_once(&g, || {
                quiet.settle(args);
                (cpu0, sys0, me0) = (
                    stats::process_cpu_ns(g.pid),
                    stats::system_busy_ns(),
                    stats::thread_cpu_ns(),
                );
                t0 = Instant::now();
            }));
            let elapsed = t0.elapsed();
            let ours = stats::process_cpu_ns(g.pid).saturating_sub(cpu0)
                + stats::thread_cpu_ns().saturating_sub(me0);
            let sys = stats::system_busy_ns().saturating_sub(sys0);
            let stopped = g.stop();
            let r = r.map_err(|e| format!("restart sample {i}: {e}"))?;
            if matches!(stopped, Some((_, false))) {
                eprintln!("   (gateway pid {} needed SIGKILL after the sample)", g.pid);
            }
            if quiet.disturbed(args, sys, ours, elapsed, tries) {
                tries += 1;
                continue;
            }
            break r;
        };
        eprintln!(
            "   sample {i:2}: signal → shutdown {:.2} ms; shutdown → port {:.3} ms, → hello-ok {:.3} ms ({} refused, {} failed handshakes, close {:?})",
            ms(s.signal_to_shutdown_ns),
            ms(s.port_ns),
            ms(s.hello_ns),
            s.refused,
            s.failed_handshakes,
            s.close_code
        );
        samples.push(s);
    }
    emit_restart(rep, &samples, quiet.json());
    Ok(())
}

/// Connects, calls `before_signal` (the quiet wait), sends SIGUSR1 and measures.
async fn restart_once(g: &Gateway, before_signal: impl FnOnce()) -> Result<Restart, String> {
    let (mut old, _) = tokio::time::timeout(EVENT_TIMEOUT, Conn::open(g.addr, &g.token))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    before_signal();
    let t_sig = Instant::now();
    let status = Command::new("kill")
        .args(["-USR1", &g.pid.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if !status.success() {
        return Err(format!("kill -USR1 {} failed ({status})", g.pid));
    }
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    let (t_shut, payload) = loop {
        let (op, frame) = tokio::time::timeout_at(deadline, old.next_frame())
            .await
            .map_err(|_| "no shutdown event after SIGUSR1".to_string())?
            .map_err(|e| format!("connection before shutdown: {e}"))?;
        let at = Instant::now();
        if op == OP_CLOSE {
            return Err("closed before the shutdown event".into());
        }
        let Ok(v) = serde_json::from_slice::<Value>(&frame) else {
            continue;
        };
        if v["type"] == "event" && v["event"] == "shutdown" {
            break (at, v["payload"].clone());
        }
    };
    // Poll the port: connect; once one connects, finish the handshake on it.
    let (mut port, mut refused, mut failed) = (None, 0, 0);
    let hello = loop {
        if t_shut.elapsed() > RESTART_TIMEOUT {
            return Err(format!(
                "no new handshake within {RESTART_TIMEOUT:?} of shutdown ({refused} refused, {failed} failed)"
            ));
        }
        let t0 = Instant::now();
        match tokio::time::timeout(EVENT_TIMEOUT, TcpStream::connect(g.addr)).await {
            Ok(Ok(stream)) => {
                port.get_or_insert_with(|| t_shut.elapsed());
                match tokio::time::timeout(
                    EVENT_TIMEOUT,
                    Conn::handshake(stream, g.addr, &g.token, t0),
                )
                .await
                {
                    Ok(Ok((c, _))) => {
                        let at = t_shut.elapsed();
                        c.close().await;
                        break at;
                    }
                    _ => failed += 1,
                }
            }
            _ => refused += 1,
        }
        std::thread::sleep(POLL);
    };
    // The old connection must end with close 1012.
    let deadline = tokio::time::Instant::now() + CLOSE_TIMEOUT;
    let close_code = loop {
        match tokio::time::timeout_at(deadline, old.next_frame()).await {
            Ok(Ok((OP_CLOSE, p))) => {
                break (p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]));
            }
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) => break None,
        }
    };
    Ok(Restart {
        signal_to_shutdown_ns: ns(t_shut - t_sig),
        port_ns: ns(port.unwrap_or(hello)),
        hello_ns: ns(hello),
        refused,
        failed_handshakes: failed,
        close_code,
        restart_expected_ms: payload["restartExpectedMs"].as_u64(),
        reason: payload["reason"].as_str().unwrap_or_default().to_string(),
    })
}

fn emit_restart(rep: &mut Report, samples: &[Restart], quiet: Value) {
    let sorted = |f: fn(&Restart) -> u64| {
        let mut v: Vec<u64> = samples.iter().map(f).collect();
        v.sort_unstable();
        v
    };
    let hello = sorted(|s| s.hello_ns);
    let port = sorted(|s| s.port_ns);
    let sig = sorted(|s| s.signal_to_shutdown_ns);
    let (hmed, hp99) = (median_ms(&hello), ms(pct(&hello, 0.99)));
    let (pmed, pp99) = (median_ms(&port), ms(pct(&port, 0.99)));
    let close_1012 = samples
        .iter()
        .filter(|s| s.close_code == Some(1012))
        .count();
    let restarting = samples
        .iter()
        .filter(|s| s.reason == "gateway restarting")
        .count();
    let target = 50.0;
    rep.emit(
        json!({
            "metric": "restart.sigusr1",
            "samples": samples.len(),
            "shutdown_to_hello_ok_median_ms": hmed,
            "shutdown_to_hello_ok_p99_ms": hp99,
            "shutdown_to_hello_ok_max_ms": ms(pct(&hello, 1.0)),
            "shutdown_to_port_median_ms": pmed,
            "shutdown_to_port_p99_ms": pp99,
            "shutdown_to_port_max_ms": ms(pct(&port, 1.0)),
            "signal_to_shutdown_median_ms": median_ms(&sig),
            "signal_to_shutdown_max_ms": ms(pct(&sig, 1.0)),
            "refused_connects": samples.iter().map(|s| s.refused).sum::<u32>(),
            "failed_handshakes": samples.iter().map(|s| s.failed_handshakes).sum::<u32>(),
            "old_conn_closed_1012": close_1012,
            "shutdown_reason_gateway_restarting": restarting,
            "restart_expected_ms": samples.first().and_then(|s| s.restart_expected_ms),
            "target_ms": target,
            "met": hmed <= target,
            "hello_samples_ms": hello.iter().map(|&t| ms(t)).collect::<Vec<_>>(),
            "quiet": quiet,
            "from": "shutdown event received (after kill -USR1) to TCP connect accepted / hello-ok of a new connection",
        }),
        format!(
            "SIGUSR1 restart: shutdown → new hello-ok median {hmed:.3} ms, p99 {hp99:.3} ms; shutdown → port accepting median {pmed:.3} ms, p99 {pp99:.3} ms; signal → shutdown median {:.2} ms; old connection closed 1012 in {close_1012}/{n}; target ≤ {target:.0} ms {}",
            median_ms(&sig),
            if hmed <= target { "met" } else { "MISSED" },
            n = samples.len(),
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_edit_is_a_new_version() {
        let mut ed = Editor {
            path: PathBuf::from("x.json"),
            doc: json!({"gateway": {"mode": "local"}}),
            edits: 0,
        };
        let mut seen = std::collections::HashSet::new();
        let mut hows = Vec::new();
        for _ in 0..200 {
            let (how, text) = ed.next();
            assert!(seen.insert(text), "a version repeated");
            hows.push(how);
        }
        assert_eq!(
            &hows[..5],
            &[
                Save::Rename,
                Save::Rename,
                Save::InPlace,
                Save::InPlace,
                Save::Rename
            ]
        );
        assert_eq!(ed.doc["gateway"]["mode"], "local");
        assert_eq!(ed.doc["logging"]["level"], "info");
        ed.set(&["gateway", "reload", "debounceMs"], json!(0));
        assert_eq!(ed.doc["gateway"]["reload"]["debounceMs"], 0);
        assert_eq!(ed.doc["gateway"]["mode"], "local");
    }

    #[test]
    fn saves_by_rename_and_in_place() {
        let home = TempHome::new().expect("temp dir");
        let p = home.path().join("openclaw.json");
        save(&p, "{\"a\":1}\n", Save::Rename).expect("rename save");
        save(&p, "{}\n", Save::InPlace).expect("in-place save");
        assert_eq!(fs::read_to_string(&p).expect("read back"), "{}\n");
        let names: Vec<_> = fs::read_dir(home.path())
            .expect("list")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "the temporary file is gone");
    }
}
