//! Collecting metrics, printing them (human table, JSON lines) and the Markdown comparison with
//! OpenClaw 2026.9.6 (reference Part 2, O6: medians measured on a 2-core machine like ours).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::load::{RunResult, Spec};
use crate::stats::{median, ms, pct};

#[derive(Debug)]
pub struct Report {
    metrics: Vec<Value>,
    human: Vec<String>,
    load_rows: Vec<String>,
    json_out: Option<File>,
    pub failed: bool,
}

fn cpu_pct(ns: u64, elapsed: Duration) -> f64 {
    ns as f64 / 1e9 / elapsed.as_secs_f64().max(1e-9) * 100.0
}

/// Processes of a build (rustc, clippy-driver, cargo, cc, ld) competing for the CPU.
fn competing_builds() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|c| {
            let c = c.trim();
            c == "cargo"
                || c.starts_with("rustc")
                || c.starts_with("clippy")
                || c == "cc"
                || c == "ld"
        })
        .count()
}

impl Report {
    pub fn new(json_out: Option<&Path>) -> Result<Report, String> {
        let json_out = json_out
            .map(|p| File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display())))
            .transpose()?;
        Ok(Report {
            metrics: Vec::new(),
            human: Vec::new(),
            load_rows: Vec::new(),
            json_out,
            failed: false,
        })
    }

    /// Records one metric: its JSON line and a human sentence.
    pub fn emit(&mut self, v: Value, human: String) {
        eprintln!("-> {human}");
        if let Some(f) = &mut self.json_out {
            let _ = writeln!(f, "{v}");
        }
        self.metrics.push(v);
        self.human.push(human);
    }

    pub fn fail(&mut self, msg: String) {
        eprintln!("FAILED: {msg}");
        self.human.push(format!("FAILED: {msg}"));
        self.failed = true;
    }

    fn get(&self, metric: &str) -> Option<&Value> {
        self.metrics.iter().find(|m| m["metric"] == metric)
    }

    /// The machine the numbers come from.
    pub fn machine(&mut self, bin: &Path, launch: &crate::gateway::Launch) {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let mem_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
            })
            .unwrap_or(0);
        let builds = competing_builds();
        // How busy the machine is before we start (other processes): a 1 s sample.
        let b0 = crate::stats::system_busy_ns();
        std::thread::sleep(Duration::from_secs(1));
        let busy_pct = (crate::stats::system_busy_ns().saturating_sub(b0)) as f64 / 1e7;
        self.emit(
            json!({
                "metric": "machine",
                "cpu": cpu,
                "cores": cores,
                "mem_gib": mem_kib as f64 / 1024.0 / 1024.0,
                "kernel": kernel.trim(),
                "loadavg": loadavg.trim(),
                "competing_rustc_cargo": builds,
                "busy_pct_before": busy_pct,
                "openclaw": bin.display().to_string(),
                "server_env": launch.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
                "server_taskset": launch.taskset,
            }),
            format!(
                "machine: {cores} × {cpu}, {:.0} GiB, Linux {}, loadavg {}, {builds} rustc/cargo processes running, CPU busy {busy_pct:.0}% (of {}%) before start",
                mem_kib as f64 / 1024.0 / 1024.0,
                kernel.trim(),
                loadavg.trim(),
                cores * 100
            ),
        );
    }

    /// Aggregates the repetitions of one load run.
    pub fn load(
        &mut self,
        method: &str,
        mode: &str,
        spec: &Spec,
        runs: &[RunResult],
        quiet: Value,
    ) {
        let rps: Vec<f64> = runs.iter().map(RunResult::req_per_s).collect();
        let ok_s: Vec<f64> = runs.iter().map(RunResult::ok_per_s).collect();
        let mut lat: Vec<u64> = runs.iter().flat_map(|r| r.lat_ns.iter().copied()).collect();
        lat.sort_unstable();
        let ok: u64 = runs.iter().map(|r| r.ok).sum();
        let answered: u64 = runs.iter().map(|r| r.answered).sum();
        let mut errors = serde_json::Map::new();
        for r in runs {
            for (k, v) in &r.errors {
                let n = errors.get(k).and_then(Value::as_u64).unwrap_or(0) + v;
                errors.insert(k.clone(), json!(n));
            }
        }
        let n_err: u64 = errors.values().filter_map(Value::as_u64).sum();
        let failures: Vec<&str> = runs.iter().filter_map(|r| r.failure.as_deref()).collect();
        let srv: Vec<f64> = runs
            .iter()
            .map(|r| cpu_pct(r.server_cpu_ns, r.elapsed))
            .collect();
        let cli: Vec<f64> = runs
            .iter()
            .map(|r| cpu_pct(r.client_cpu_ns, r.elapsed))
            .collect();
        let srv_ns: u64 = runs.iter().map(|r| r.server_cpu_ns).sum();
        let cli_ns: u64 = runs.iter().map(|r| r.client_cpu_ns).sum();
        let events: u64 = runs.iter().map(|r| r.events).sum();
        // CPU used by other processes (e.g. a concurrent build) while the runs lasted.
        let sys_ns: u64 = runs.iter().map(|r| r.system_busy_ns).sum();
        let wall: Duration = runs.iter().map(|r| r.elapsed).sum();
        let other_pct = cpu_pct(sys_ns.saturating_sub(srv_ns + cli_ns), wall);
        let per_req = |ns: u64| ns as f64 / 1000.0 / answered.max(1) as f64;
        let fold = |v: &[f64], f: fn(f64, f64) -> f64, init: f64| v.iter().copied().fold(init, f);
        let name = format!("load.{method}.{mode}");
        let v = json!({
            "metric": name,
            "method": method,
            "mode": mode,
            "conns": spec.conns,
            "window_per_conn": spec.window,
            "requests_per_run": spec.total,
            "reps": runs.len(),
            "req_per_s": median(&rps),
            "req_per_s_min": fold(&rps, f64::min, f64::INFINITY),
            "req_per_s_max": fold(&rps, f64::max, 0.0),
            "ok_per_s": median(&ok_s),
            "p50_ms": ms(pct(&lat, 0.5)),
            "p99_ms": ms(pct(&lat, 0.99)),
            "max_ms": ms(pct(&lat, 1.0)),
            "answered": answered,
            "ok": ok,
            "errors": errors,
            "error_count": n_err,
            "unanswered": (spec.total * runs.len()) as u64 - answered.min((spec.total * runs.len()) as u64),
            "events_skipped": events,
            "reply_bytes": runs.iter().map(|r| r.reply_bytes).max().unwrap_or(0),
            "server_cpu_pct": median(&srv),
            "client_cpu_pct": median(&cli),
            "server_cpu_us_per_req": per_req(srv_ns),
            "client_cpu_us_per_req": per_req(cli_ns),
            "other_cpu_pct": other_pct,
            "failures": failures,
            "quiet": quiet,
        });
        if !failures.is_empty() {
            self.failed = true;
        }
        self.load_rows.push(format!(
            "| {method} | {mode} | {} | {} | {:.0} | {:.3} | {:.3} | {ok} | {n_err} | {:.0}% | {:.0}% | {other_pct:.0}% | {:.1} |{}",
            spec.conns,
            spec.window,
            median(&rps),
            ms(pct(&lat, 0.5)),
            ms(pct(&lat, 0.99)),
            median(&srv),
            median(&cli),
            per_req(srv_ns),
            if failures.is_empty() {
                String::new()
            } else {
                format!(" FAILED: {}", failures.join("; "))
            }
        ));
        self.emit(
            v,
            format!(
                "{name}: {:.0} req/s (median of {}), p50 {:.3} ms, p99 {:.3} ms, {ok} ok, {n_err} errors",
                median(&rps),
                runs.len(),
                ms(pct(&lat, 0.5)),
                ms(pct(&lat, 0.99)),
            ),
        );
    }

    /// Prints the human table, the JSON lines and (optionally) the Markdown comparison.
    pub fn finish(&self, markdown: bool) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "== openclaw-bench results");
        for h in &self.human {
            if !h.starts_with("load.") {
                let _ = writeln!(out, "  {h}");
            }
        }
        if !self.load_rows.is_empty() {
            let _ = writeln!(
                out,
                "\n| method | run | conns | window/conn | req/s (median) | p50 ms | p99 ms | ok | errors | server CPU | client CPU | other CPU | server µs/req |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            for r in &self.load_rows {
                let _ = writeln!(out, "{r}");
            }
        }
        let _ = writeln!(out, "\n== JSON (one line per metric)");
        for m in &self.metrics {
            let _ = writeln!(out, "{m}");
        }
        if markdown {
            let _ = writeln!(out, "\n{}", self.markdown());
        }
    }

    /// The comparison with OpenClaw 2026.9.6 (O6) and the targets of our issue.
    pub fn markdown(&self) -> String {
        let mut rows: Vec<String> = Vec::new();
        let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        let check = |ok: bool| if ok { "✅" } else { "❌" };
        // Lower is better: ratio = theirs / ours.
        let lower = |label: &str,
                     ours: f64,
                     unit: &str,
                     theirs: f64,
                     theirs_txt: &str,
                     target: Option<f64>| {
            let ratio = theirs / ours;
            let (t, met) = match target {
                Some(t) => (format!("≤ {} {unit}", num(t)), check(ours <= t).to_string()),
                None => ("–".into(), String::new()),
            };
            format!(
                "| {label} | {} {unit} | {theirs_txt} | {}× less | {t} | {met} |",
                num(ours),
                num(ratio)
            )
        };
        if let Some(v) = self.get("startup.exec_to_listening") {
            rows.push(lower(
                "gateway exec → TCP port accepting (median)",
                f(v, "median_ms"),
                "ms",
                3630.0,
                "3 630 ms",
                Some(20.0),
            ));
            if v["ready_ms_median"].is_number() {
                rows.push(format!(
                    "| gateway's own `ready_ms` (in-process, median) | {} ms | – | | | |",
                    num(f(v, "ready_ms_median"))
                ));
            }
        }
        if let Some(v) = self.get("rss.idle") {
            rows.push(lower(
                "idle VmRSS 5 s after listen",
                f(v, "vmrss_mib"),
                "MiB",
                732.0,
                "732 MiB (901 MiB with helpers)",
                Some(15.0),
            ));
        }
        if let Some(v) = self.get("rss.after_load") {
            rows.push(lower(
                "VmHWM after all benchmarks",
                f(v, "vmhwm_mib"),
                "MiB",
                1444.0,
                "up to 1.41 GiB (VmRSS 0.93–1.41 GiB)",
                None,
            ));
            rows.push(format!(
                "| VmRSS after all benchmarks | {} MiB | 0.93–1.41 GiB | | | |",
                num(f(v, "vmrss_mib"))
            ));
        }
        if let Some(v) = self.get("startup.sigterm_to_exit") {
            rows.push(lower(
                "SIGTERM → exit (median)",
                f(v, "median_ms"),
                "ms",
                220.0,
                "220 ms",
                None,
            ));
        }
        if let Some(v) = self.get("handshake") {
            rows.push(lower(
                "connect + handshake p50 (socket open → hello-ok)",
                f(v, "p50_ms"),
                "ms",
                1.59,
                "1.59 ms",
                Some(0.15),
            ));
            rows.push(lower(
                "connect + handshake p99",
                f(v, "p99_ms"),
                "ms",
                12.6,
                "12.6 ms",
                None,
            ));
            rows.push(lower(
                "socket open → connect.challenge p50",
                f(v, "challenge_p50_ms"),
                "ms",
                0.89,
                "0.89 ms",
                None,
            ));
            rows.push(lower(
                "socket open → connect.challenge p99",
                f(v, "challenge_p99_ms"),
                "ms",
                5.6,
                "5.6 ms",
                None,
            ));
        }
        // Hot reload: save → config.changed, per debounce (default first).
        let mut reloads: Vec<&Value> = self
            .metrics
            .iter()
            .filter(|m| {
                m["metric"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("reload.save_to_applied."))
            })
            .collect();
        reloads.sort_by_key(|m| m["debounce_source"] != "default");
        for v in reloads {
            let d = f(v, "debounce_ms");
            let default = v["debounce_source"] == "default";
            let (med, p99, target) = (f(v, "median_ms"), f(v, "p99_ms"), f(v, "target_ms"));
            rows.push(format!(
                "| config save → `config.changed`, debounce {} ms{} (median / p99 of {}) | {} / {} ms (debounce + {} / + {}) | {} | | ≤ {} ms | {} |",
                num(d),
                if default { " (default)" } else { "" },
                v["edits"],
                num(med),
                num(p99),
                num(med - d),
                num(p99 - d),
                if default {
                    "~500 ms (300 ms debounce + 200 ms write-finish wait; O5.5, approximate)"
                } else {
                    "–"
                },
                num(target),
                check(med <= target),
            ));
        }
        if let Some(v) = self.get("restart.sigusr1") {
            rows.push(lower(
                &format!(
                    "SIGUSR1 restart: `shutdown` → new `hello-ok` (median of {})",
                    v["samples"]
                ),
                f(v, "shutdown_to_hello_ok_median_ms"),
                "ms",
                1700.0,
                "~1 700 ms (ready again; O5.5)",
                Some(50.0),
            ));
            rows.push(format!(
                "| SIGUSR1 restart: `shutdown` → new `hello-ok` p99 | {} ms | | | | |",
                num(f(v, "shutdown_to_hello_ok_p99_ms"))
            ));
            rows.push(format!(
                "| SIGUSR1 restart: `shutdown` → TCP port accepting (median / p99) | {} / {} ms | | | | |",
                num(f(v, "shutdown_to_port_median_ms")),
                num(f(v, "shutdown_to_port_p99_ms"))
            ));
        }
        // Throughput: ratio = ours / theirs. (metric, label, theirs req/s, theirs text, target)
        let loads: &[(&str, &str, f64, &str, Option<f64>)] = &[
            (
                "load.health.closed_1conn",
                "`health` closed loop, 1 conn",
                1933.0,
                "1 933 req/s (p50 0.38, p99 1.9 ms)",
                None,
            ),
            (
                "load.health.closed_8conn",
                "`health` closed loop, 8 conns",
                3394.0,
                "3 394 req/s (p50 1.57, p99 15.7 ms)",
                None,
            ),
            (
                "load.health.window200_1conn",
                "`health` window 200, 1 conn, 10k",
                2292.0,
                "2 292 req/s (p50 86, p99 199 ms)",
                None,
            ),
            (
                "load.health.window25_8conn",
                "`health` window 25 × 8 conns, 10k",
                3325.0,
                "3 325 req/s (p50 54, p99 115 ms)",
                Some(60_000.0),
            ),
            (
                "load.last-heartbeat.closed_1conn",
                "`last-heartbeat` closed loop, 1 conn",
                18132.0,
                "18 132 req/s (p50 0.040, p99 0.20 ms)",
                None,
            ),
            (
                "load.last-heartbeat.window200_1conn",
                "`last-heartbeat` window 200, 1 conn, 10k",
                20017.0,
                "20 017 req/s (p50 4.9, p99 140 ms)",
                None,
            ),
            (
                "load.last-heartbeat.window25_8conn",
                "`last-heartbeat` window 25 × 8 conns, 10k",
                35626.0,
                "35 626 req/s (p50 4.7, p99 14.8 ms)",
                Some(150_000.0),
            ),
        ];
        for (metric, label, theirs, theirs_txt, target) in loads {
            let Some(v) = self.get(metric) else { continue };
            let ours = f(v, "req_per_s");
            let (t, met) = match target {
                Some(t) => (
                    format!("≥ {} req/s", num(*t)),
                    check(ours >= *t).to_string(),
                ),
                None => ("–".into(), String::new()),
            };
            rows.push(format!(
                "| {label} | {} req/s (p50 {}, p99 {} ms) | {theirs_txt} | {}× | {t} | {met} |",
                num(ours),
                num(f(v, "p50_ms")),
                num(f(v, "p99_ms")),
                num(ours / theirs)
            ));
        }
        // Bursts: ok replies out of 10k, and replies/s.
        let bursts: &[(&str, &str, f64, &str)] = &[
            (
                "load.health.burst_1conn",
                "`health` 10k sent at once, 1 conn",
                424.0,
                "~424 ok / 10k (rest UNAVAILABLE), 2 435 replies/s, p50 2.1 s",
            ),
            (
                "load.health.burst_8conn",
                "`health` 10k sent at once, 8 conns",
                465.0,
                "~465 ok / 10k, 3 370 replies/s, p50 1.4 s",
            ),
            (
                "load.last-heartbeat.burst_1conn",
                "`last-heartbeat` 10k at once, 1 conn",
                756.0,
                "~756 ok / 10k, 3 937 replies/s",
            ),
            (
                "load.last-heartbeat.burst_8conn",
                "`last-heartbeat` 10k at once, 8 conns",
                584.0,
                "~584 ok / 10k, 4 113 replies/s",
            ),
        ];
        for (metric, label, theirs_ok, theirs_txt) in bursts {
            let Some(v) = self.get(metric) else { continue };
            let reps = v["reps"].as_f64().unwrap_or(1.0).max(1.0);
            let ok = f(v, "ok") / reps;
            let per_run = v["requests_per_run"].as_f64().unwrap_or(0.0);
            rows.push(format!(
                "| {label} | {} ok / {}, {} errors, {} replies/s, p50 {} ms | {theirs_txt} | {}× ok | | |",
                num(ok.round()),
                num(per_run),
                num((f(v, "error_count") / reps).round()),
                num(f(v, "req_per_s")),
                num(f(v, "p50_ms")),
                num(ok / theirs_ok)
            ));
        }
        let mut s = String::from(
            "| metric | openclaw-rs | OpenClaw 2026.9.6 (O6) | ratio | target | met |\n|---|---|---|---|---|---|\n",
        );
        for r in rows {
            s.push_str(&r);
            s.push('\n');
        }
        s
    }
}

/// A number with 3 significant digits for small values, thin-space thousands for large ones.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let a = x.abs();
    if x.fract() == 0.0 && a < 1000.0 {
        format!("{x:.0}")
    } else if a >= 1000.0 {
        let n = x.round() as i64;
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(' ');
            }
            out.push(c);
        }
        if n < 0 {
            out.insert(0, '-');
        }
        out
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(3630.4), "3 630");
        assert_eq!(num(1_234_567.0), "1 234 567");
        assert_eq!(num(123.4), "123");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(1.234), "1.23");
        assert_eq!(num(0.0412), "0.041");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(424.0), "424");
    }
}
