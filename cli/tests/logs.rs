//! `openclaw logs` and the gateway's logging, as processes in a temporary HOME: reading over RPC
//! and from the file directly, following through truncation and rotation, the exit code when
//! there is nothing to read, and redaction of secrets from the console and the file at trace
//! level.

mod support;

use std::io::{BufRead, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use support::{BIN, free_port, run_to_end, scratch_dir};

/// Upper bound of every wait.
const WAIT: Duration = Duration::from_secs(20);

const TOKEN: &str = "gw-token-Zq81bV3xKp0aLm";
const API_KEY: &str = "prov-key-77HhQw2Rt6uYiOp";
const ACCOUNT: &str = "acct-4242424242";
const FILE_KEY: &str = "filekey-Jk29sLq0Xv7Nw3";

fn cmd(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("HOME", dir.join("home"))
        .env("NO_COLOR", "1")
        .env("TMPDIR", dir)
        .env("TZ", "UTC")
        .env("OPENCLAW_CONFIG_PATH", dir.join("openclaw.json"))
        .current_dir(dir)
        .arg("--no-color");
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A child process that is always stopped; its output lines arrive on channels.
struct Proc {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    seen_out: Vec<String>,
    seen_err: Vec<String>,
}

fn lines_of(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Proc {
    fn spawn(mut c: Command) -> Proc {
        let mut child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let out = lines_of(child.stdout.take().expect("stdout"));
        let err = lines_of(child.stderr.take().expect("stderr"));
        Proc {
            child,
            out,
            err,
            seen_out: Vec::new(),
            seen_err: Vec::new(),
        }
    }

    /// Waits (bounded) for a stdout line that satisfies `pred`.
    fn wait_out(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        wait_line(&self.out, &mut self.seen_out, what, pred)
    }

    fn wait_err(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        wait_line(&self.err, &mut self.seen_err, what, pred)
    }

    /// Stops the process (SIGTERM, then SIGKILL) and collects what is left of its output.
    fn stop(&mut self) -> (Vec<String>, Vec<String>) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let drain = |rx: &Receiver<String>, seen: &mut Vec<String>| {
            while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
                seen.push(l);
            }
        };
        drain(&self.out, &mut self.seen_out);
        drain(&self.err, &mut self.seen_err);
        (self.seen_out.clone(), self.seen_err.clone())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_line(
    rx: &Receiver<String>,
    seen: &mut Vec<String>,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) => {
                seen.push(l.clone());
                if pred(&l) {
                    return l;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("no line with {what}; saw:\n{}", seen.join("\n"));
}

/// Starts a gateway and waits until `logs.tail` can reach it (its health endpoint answers).
fn gateway(dir: &Path, port: u16, extra: &[&str]) -> Proc {
    let mut c = cmd(dir);
    c.args(["gateway", "--port", &port.to_string()]).args(extra);
    let g = Proc::spawn(c);
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "gateway did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    g
}

/// Fixed log content: two of our lines, one OpenClaw (tslog) line, one line that is not JSON.
const SEEDED: &str = concat!(
    r#"{"time":"2026-11-22T01:05:02.661+00:00","level":"info","subsystem":"gateway","message":"listening on ws://127.0.0.1:19001 (PID 7)","pid":7}"#,
    "\n",
    r#"{"time":"2026-11-22T01:05:03.000+00:00","level":"warn","subsystem":"reload","message":"config invalid (1 problem(s)); keeping the last good config"}"#,
    "\n",
    r#"{"0":"{\"subsystem\":\"gateway/ws\"}","1":"⇄ res ✗ no.such.method 1ms","_meta":{"logLevelName":"INFO","date":"2026-11-22T01:07:42.339Z"},"time":"2026-11-22T01:07:42.339+00:00"}"#,
    "\n",
    "plain text from an older writer\n",
);

fn snapshot(name: &str, dir: &Path, body: &str) {
    let dir = dir.display().to_string();
    insta::with_settings!({
        filters => vec![
            (dir.as_str(), "[DIR]"),
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
            (r#""cursor":\d+,"size":\d+"#, r#""cursor":[N],"size":[N]"#),
        ],
    }, {
        insta::assert_snapshot!(name, body);
    });
}

fn transcript(o: &Output) -> String {
    format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        o.status.code().unwrap_or(-1),
        text(&o.stdout),
        text(&o.stderr)
    )
}

#[test]
fn nothing_to_read_exits_1_and_says_what_was_tried() {
    let d = scratch_dir("ocrs-logs", "nothing");
    let port = free_port();
    let mut c = cmd(&d);
    c.env("OPENCLAW_GATEWAY_PORT", port.to_string()).arg("logs");
    let o = run_to_end(c, WAIT);
    assert_eq!(o.status.code(), Some(1), "{}", transcript(&o));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("No gateway answered at ws://127.0.0.1:{port}")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "no log file at {}/openclaw/openclaw-",
            d.display()
        )),
        "{err}"
    );
    assert_eq!(text(&o.stdout), "");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn reads_the_file_directly_when_no_gateway_answers() {
    let d = scratch_dir("ocrs-logs", "direct");
    let log = d.join("gw.log");
    std::fs::write(&log, SEEDED).expect("seed");
    std::fs::write(
        d.join("openclaw.json"),
        format!(
            "{{ logging: {{ file: {:?} }} }}\n",
            log.display().to_string()
        ),
    )
    .expect("config");
    let port = free_port().to_string();
    let run = |args: &[&str]| {
        let mut c = cmd(&d);
        c.env("OPENCLAW_GATEWAY_PORT", &port).arg("logs").args(args);
        run_to_end(c, WAIT)
    };
    let human = run(&["--limit", "3"]);
    assert_eq!(human.status.code(), Some(0), "{}", transcript(&human));
    snapshot("direct_text", &d, &transcript(&human));
    let json = run(&["--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", transcript(&json));
    snapshot("direct_json", &d, &transcript(&json));
    let shifted = run(&["--limit", "1", "--plain"]);
    assert!(text(&shifted.stdout).ends_with("plain text from an older writer\n"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn reads_over_rpc_from_a_running_gateway() {
    let d = scratch_dir("ocrs-logs", "rpc");
    let log = d.join("gw.log");
    std::fs::write(&log, SEEDED).expect("seed");
    // A silent gateway: the file holds only the seeded lines, so the output is stable.
    std::fs::write(
        d.join("openclaw.json"),
        format!(
            "{{ gateway: {{ mode: \"local\", auth: {{ mode: \"token\", token: \"{TOKEN}\" }} }},\n  logging: {{ file: {:?}, level: \"silent\", consoleLevel: \"silent\" }} }}\n",
            log.display().to_string()
        ),
    )
    .expect("config");
    let port = free_port();
    let mut g = gateway(&d, port, &[]);
    let run = |args: &[&str]| {
        let mut c = cmd(&d);
        c.env("OPENCLAW_GATEWAY_PORT", port.to_string())
            .arg("logs")
            .args(args);
        run_to_end(c, WAIT)
    };
    let human = run(&["--limit", "3"]);
    assert_eq!(human.status.code(), Some(0), "{}", transcript(&human));
    snapshot("rpc_text", &d, &transcript(&human));
    let json = run(&["--limit", "20", "--json", "--utc"]);
    assert_eq!(json.status.code(), Some(0), "{}", transcript(&json));
    snapshot("rpc_json_utc", &d, &transcript(&json));
    let first: serde_json::Value =
        serde_json::from_str(text(&json.stdout).lines().next().unwrap_or("")).expect("meta");
    assert_eq!(first["type"], "meta");
    assert_eq!(first["size"], SEEDED.len());
    // A wrong token is an RPC error, not a reason to read the file behind the gateway's back.
    let wrong = run(&["--token", "not-the-token"]);
    assert_eq!(wrong.status.code(), Some(1), "{}", transcript(&wrong));
    assert!(!text(&wrong.stderr).contains("reading the log file directly"));

    // Follow over RPC: appended lines arrive; a truncated file is read from its top.
    let mut c = cmd(&d);
    c.env("OPENCLAW_GATEWAY_PORT", port.to_string()).args([
        "logs",
        "--follow",
        "--json",
        "--interval",
        "50",
        "--limit",
        "1",
    ]);
    let mut f = Proc::spawn(c);
    f.wait_out("the meta line", |l| l.contains("\"type\":\"meta\""));
    append(
        &log,
        "{\"time\":\"2026-11-22T02:00:00.000+00:00\",\"level\":\"info\",\"subsystem\":\"test\",\"message\":\"appended one\"}\n",
    );
    f.wait_out("the appended line", |l| l.contains("appended one"));
    std::fs::write(
        &log,
        "{\"level\":\"info\",\"message\":\"after truncation\"}\n",
    )
    .expect("truncate");
    f.wait_out("the reset notice", |l| l.contains("Log cursor reset"));
    f.wait_out("the line after truncation", |l| {
        l.contains("after truncation")
    });
    // The gateway goes away: the command says so and goes on with the file.
    g.stop();
    f.wait_out("the switch to the file", |l| {
        l.contains("following the log file directly")
    });
    append(
        &log,
        "{\"level\":\"info\",\"message\":\"written while the gateway is down\"}\n",
    );
    f.wait_out("a line read from the file", |l| {
        l.contains("written while the gateway is down")
    });
    f.stop();
    let _ = std::fs::remove_dir_all(&d);
}

fn append(path: &Path, line: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open for append");
    f.write_all(line.as_bytes()).expect("append");
}

#[test]
fn follow_reading_the_file_survives_truncation_and_rotation() {
    let d = scratch_dir("ocrs-logs", "follow-file");
    let log = d.join("gw.log");
    std::fs::write(&log, SEEDED).expect("seed");
    std::fs::write(
        d.join("openclaw.json"),
        format!(
            "{{ logging: {{ file: {:?} }} }}\n",
            log.display().to_string()
        ),
    )
    .expect("config");
    let mut c = cmd(&d);
    c.env("OPENCLAW_GATEWAY_PORT", free_port().to_string())
        .args(["logs", "--follow", "--interval", "50", "--limit", "2"]);
    let mut f = Proc::spawn(c);
    f.wait_err("the direct-read note", |l| {
        l.contains("reading the log file directly")
    });
    f.wait_out("the last seeded line", |l| {
        l.contains("plain text from an older writer")
    });
    append(
        &log,
        "{\"time\":\"2026-11-22T02:00:00.000+00:00\",\"level\":\"warn\",\"subsystem\":\"t\",\"message\":\"appended\"}\n",
    );
    let l = f.wait_out("the appended line", |l| l.contains("appended"));
    assert_eq!(l, "2026-11-22T02:00:00.000+00:00 warn t appended");
    // Truncated in place.
    std::fs::write(
        &log,
        "{\"level\":\"info\",\"message\":\"after truncation\"}\n",
    )
    .expect("truncate");
    f.wait_err("the reset note", |l| l.contains("Log cursor reset"));
    f.wait_out("the line after truncation", |l| {
        l.contains("after truncation")
    });
    // Rotated: renamed away, a new file at the path (larger than the old cursor, so only the
    // inode tells).
    std::fs::rename(&log, d.join("gw.log.1")).expect("rotate");
    std::fs::write(
        &log,
        "{\"level\":\"info\",\"message\":\"first line of the new file, long enough to pass the old cursor\"}\n",
    )
    .expect("new file");
    f.wait_err("the rotation note", |l| l.contains("rotated"));
    f.wait_out("the new file's line", |l| {
        l.contains("first line of the new file")
    });
    let (out, _) = f.stop();
    assert_eq!(
        out.iter()
            .filter(|l| l.contains("after truncation"))
            .count(),
        1,
        "no line twice: {out:#?}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn secrets_never_reach_the_console_or_the_file_at_trace_level() {
    let d = scratch_dir("ocrs-logs", "redact");
    let log = d.join("gw.log");
    let config = d.join("openclaw.json");
    // The second provider's key comes from a file SecretRef.
    let key_file = d.join("file-key.txt");
    std::fs::write(&key_file, format!("{FILE_KEY}\n")).expect("key file");
    let base = format!(
        "  gateway: {{ mode: \"local\", auth: {{ mode: \"token\", token: \"{TOKEN}\" }}, reload: {{ debounceMs: 50 }} }},\n  secrets: {{ providers: {{ kf: {{ source: \"file\", path: {:?}, mode: \"singleValue\" }} }} }},\n  models: {{ providers: {{ p1: {{ baseUrl: \"http://127.0.0.1:9/v1\", apiKey: \"{API_KEY}\", models: [] }}, p2: {{ baseUrl: \"http://127.0.0.1:9/v1\", apiKey: {{ source: \"file\", provider: \"kf\", id: \"value\" }}, models: [] }} }} }},\n  logging: {{ file: {:?}, level: \"trace\", consoleLevel: \"trace\", redactPatterns: [\"acct-[0-9]+\"] }},\n",
        key_file.display().to_string(),
        log.display().to_string()
    );
    std::fs::write(&config, format!("{{\n{base}}}\n")).expect("config");
    let port = free_port();
    let mut g = gateway(&d, port, &["--verbose"]);
    g.wait_out("the listening line", |l| l.contains("listening on ws://"));
    // Things that would log the secrets: config edits whose validation errors name them, a
    // client presenting the token, and one presenting a wrong token that contains it.
    std::fs::write(
        &config,
        format!(
            "{{\n{base}  \"{TOKEN}\": 1,\n  \"{API_KEY}\": 2,\n  \"{ACCOUNT}\": 3,\n  \"{FILE_KEY}\": 4,\n}}\n"
        ),
    )
    .expect("edit");
    let rejected = g.wait_err("the rejected reload", |l| l.contains("config reload:"));
    assert!(rejected.contains("***"), "{rejected}");
    let call = |args: &[&str]| {
        let mut c = cmd(&d);
        c.env("OPENCLAW_GATEWAY_PORT", port.to_string()).args(args);
        run_to_end(c, WAIT)
    };
    let ok = call(&["gateway", "call", "health", "--token", TOKEN]);
    assert_eq!(ok.status.code(), Some(0), "{}", transcript(&ok));
    let wrong = format!("{TOKEN}-wrong");
    let _ = call(&["gateway", "call", "health", "--token", &wrong]);
    let tail = call(&["logs", "--limit", "500", "--json"]);
    assert_eq!(tail.status.code(), Some(0), "{}", transcript(&tail));
    let (out, err) = g.stop();
    let file = std::fs::read_to_string(&log).expect("log file");
    assert!(
        file.contains("config reload:"),
        "the file has the reload error:\n{file}"
    );
    let console = format!("{}\n{}", out.join("\n"), err.join("\n"));
    for (what, body) in [
        ("console", console.as_str()),
        ("log file", file.as_str()),
        ("openclaw logs", &text(&tail.stdout)),
    ] {
        for secret in [TOKEN, API_KEY, ACCOUNT, FILE_KEY] {
            assert!(!body.contains(secret), "{secret} in the {what}:\n{body}");
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_file_stops_growing_at_max_file_bytes_and_the_console_says_so_once() {
    let d = scratch_dir("ocrs-logs", "cap");
    let log = d.join("gw.log");
    std::fs::write(
        d.join("openclaw.json"),
        format!(
            "{{ gateway: {{ mode: \"local\", auth: {{ mode: \"token\", token: \"{TOKEN}\" }} }},\n  logging: {{ file: {:?}, level: \"debug\", maxFileBytes: 400 }} }}\n",
            log.display().to_string()
        ),
    )
    .expect("config");
    let port = free_port();
    let mut g = gateway(&d, port, &[]);
    for _ in 0..5 {
        let mut c = cmd(&d);
        c.env("OPENCLAW_GATEWAY_PORT", port.to_string())
            .args(["gateway", "call", "health"]);
        let _ = run_to_end(c, WAIT);
    }
    let (_, err) = g.stop();
    let size = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    assert!(size <= 400, "the file grew to {size} bytes");
    let notes = err
        .iter()
        .filter(|l| l.contains("reached logging.maxFileBytes"))
        .count();
    assert_eq!(notes, 1, "{err:#?}");
    let _ = std::fs::remove_dir_all(&d);
}
