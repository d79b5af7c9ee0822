//! `openclaw gateway` as a process: refusals with their exit codes and messages, the dev bootstrap,
//! a taken port, `--force`, and SIGTERM (shutdown event, close 1012, exit 0).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{BIN, free_port, run_to_end, scratch_dir};

fn cmd(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("HOME", dir.join("home"))
        .env("NO_COLOR", "1")
        .env("TMPDIR", dir)
        .current_dir(dir)
        .arg("--no-color");
    c
}

/// A gateway child that is always stopped.
struct Gateway {
    child: Child,
}

impl Gateway {
    fn start(mut c: Command, port: u16) -> Gateway {
        let child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gateway");
        let g = Gateway { child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while http_get(port, "/health").is_none() {
            assert!(Instant::now() < deadline, "gateway did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        g
    }

    fn term(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.term();
            if self.wait(Duration::from_secs(3)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn refusals_exit_with_openclaw_codes() {
    let d = scratch_dir("ocrs-gwrun", "refusals");
    // No config.
    let out = run_to_end(
        {
            let mut c = cmd(&d);
            c.arg("gateway");
            c
        },
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(78));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Missing config. Run `openclaw setup` or set gateway.mode=local (or pass --allow-unconfigured).\n"
    );
    // A config without gateway.mode.
    let cfg = d.join("c.json5");
    std::fs::write(&cfg, "{ gateway: { port: 19999 } }").expect("write");
    let with_cfg = |args: &[&str]| {
        let mut c = cmd(&d);
        c.env("OPENCLAW_CONFIG_PATH", &cfg)
            .arg("gateway")
            .args(args);
        run_to_end(c, Duration::from_secs(20))
    };
    let out = with_cfg(&[]);
    assert_eq!(out.status.code(), Some(78));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("Gateway start blocked: existing config is missing gateway.mode."),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A non-loopback bind without auth.
    std::fs::write(&cfg, "{ gateway: { mode: 'local', bind: 'lan' } }").expect("write");
    let out = with_cfg(&[]);
    assert_eq!(out.status.code(), Some(78));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("Refusing to bind gateway to lan without auth.")
    );
    // An invalid config: the same diagnostics as `config validate`.
    std::fs::write(&cfg, "{\n  gateway: { mode: 'local', port: 'abc' },\n}\n").expect("write");
    let out = with_cfg(&[]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("Gateway failed to start: Invalid config at "),
        "{err}"
    );
    assert!(
        err.contains("× c.json5:2 — gateway.port: Invalid input: expected number, received string"),
        "{err}"
    );
    // A bad --bind value.
    std::fs::write(&cfg, "{ gateway: { mode: 'local' } }").expect("write");
    let out = with_cfg(&["--bind", "everywhere"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Invalid --bind."));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn dev_gateway_boots_and_stops_on_sigterm() {
    let d = scratch_dir("ocrs-gwrun", "dev");
    let port = free_port();
    let mut c = cmd(&d);
    c.args([
        "--dev",
        "gateway",
        "--allow-unconfigured",
        "--port",
        &port.to_string(),
    ]);
    let mut g = Gateway::start(c, port);
    assert!(
        d.join("home/.openclaw-dev/openclaw.json").is_file(),
        "--dev writes its config"
    );
    let run = d.join("home/.openclaw-dev/gateway.run.json");
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&run).expect("run file")).expect("json");
    assert_eq!(info["port"], port);
    assert!(info["runtimeToken"].as_str().is_some_and(|t| t.len() >= 32));
    // A second instance on the same port is refused.
    let mut c2 = cmd(&d);
    c2.args([
        "--dev",
        "gateway",
        "--allow-unconfigured",
        "--port",
        &port.to_string(),
    ]);
    let out = run_to_end(c2, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with(&format!(
            "another gateway instance is already listening on 127.0.0.1:{port}"
        )),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    g.term();
    let status = g.wait(Duration::from_secs(5)).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert!(!run.exists(), "the run file is removed on exit");
    let mut out = String::new();
    if let Some(mut s) = g.child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    assert!(
        out.contains(&format!("listening on ws://127.0.0.1:{port}")),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn force_replaces_the_listener() {
    let d = scratch_dir("ocrs-gwrun", "force");
    let port = free_port();
    let args = [
        "--dev".to_string(),
        "gateway".into(),
        "--allow-unconfigured".into(),
        "--port".into(),
        port.to_string(),
    ];
    let mut c = cmd(&d);
    c.args(&args);
    let mut first = Gateway::start(c, port);
    let mut c = cmd(&d);
    c.args(&args).arg("--force");
    let _second = Gateway::start_after(c, port, &mut first);
    assert!(http_get(port, "/health").is_some());
    let _ = std::fs::remove_dir_all(&d);
}

impl Gateway {
    /// Starts `c` (which uses `--force`) and waits until `old` has exited and the port answers.
    fn start_after(mut c: Command, port: u16, old: &mut Gateway) -> Gateway {
        let child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gateway");
        let g = Gateway { child };
        let status = old.wait(Duration::from_secs(10)).expect("old one stopped");
        assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http_get(port, "/health").is_none() {
            assert!(Instant::now() < deadline, "the new gateway listens");
            std::thread::sleep(Duration::from_millis(20));
        }
        g
    }
}

/// Collects a child's stdout lines on a thread.
fn line_reader(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Waits (bounded) for a line that satisfies `pred`; returns it, or panics with what was seen.
fn wait_line(rx: &std::sync::mpsc::Receiver<String>, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) if pred(&l) => return l,
            Ok(l) => seen.push(l),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    panic!("no matching line; saw:\n{}", seen.join("\n"));
}

#[test]
fn logging_style_switches_live_and_sigusr1_restarts_in_process() {
    let d = scratch_dir("ocrs-gwrun", "live");
    let port = free_port();
    let config = d.join("openclaw.json");
    let base = "{\n  gateway: { mode: \"local\", auth: { mode: \"token\", token: \"live-token\" }, reload: { debounceMs: 50 } },\n";
    std::fs::write(&config, format!("{base}}}\n")).expect("config");
    let mut c = cmd(&d);
    c.env("OPENCLAW_CONFIG_PATH", &config)
        .args(["gateway", "--port", &port.to_string()]);
    let mut g = Gateway::start(c, port);
    let lines = line_reader(&mut g.child);
    wait_line(&lines, |l| l.contains("listening on ws://"));

    // logging.consoleStyle: pretty → json, applied without a restart.
    std::fs::write(
        &config,
        format!("{base}  logging: {{ consoleStyle: \"json\" }},\n}}\n"),
    )
    .expect("edit");
    let applied = wait_line(&lines, |l| l.contains("logging settings applied"));
    let v: serde_json::Value = serde_json::from_str(&applied).expect("a JSON console line");
    assert_eq!(v["console_style"], "json", "{applied}");

    // SIGUSR1: an in-process restart; same process, still serving.
    let pid = g.child.id();
    let _ = Command::new("kill")
        .args(["-USR1", &pid.to_string()])
        .status();
    let restarted = wait_line(&lines, |l| l.contains("restarted in-process"));
    let v: serde_json::Value = serde_json::from_str(&restarted).expect("JSON");
    assert_eq!(v["reason"], "SIGUSR1", "{restarted}");
    assert!(matches!(g.child.try_wait(), Ok(None)), "same process");
    assert!(http_get(port, "/health").is_some());
    g.term();
    assert_eq!(
        g.wait(Duration::from_secs(5)).and_then(|s| s.code()),
        Some(0)
    );
    let _ = std::fs::remove_dir_all(&d);
}
