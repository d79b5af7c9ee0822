//! End-to-end tests of the client commands (`gateway call`, `health`, `status`, `gateway status`)
//! against a real gateway child process on a free loopback port.
//!
//! Every run execs the real binary with a cleared environment (`HOME` is a fresh temporary
//! directory, `NO_COLOR=1`, `--no-color`). The gateway runs with `--dev`, so the client commands
//! (also `--dev`) find it through its run file. Every wait is bounded; the gateway is stopped by a
//! drop guard (SIGTERM, then SIGKILL). Snapshots replace the port, pids, ids, timestamps, counters
//! and temporary paths with placeholders.

mod support;

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use support::{BIN, Run, free_port, http_health_ok, regex_escape, run};

// ---------------------------------------------------------------------------------------------
// Sandbox: a temporary directory holding HOME, removed on drop.

struct Sandbox {
    root: PathBuf,
    home: PathBuf,
}

impl Sandbox {
    fn new(tag: &str) -> Sandbox {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = std::env::temp_dir()
            .canonicalize()
            .expect("canonical temp dir");
        let root = tmp.join(format!("ocrs-gwcli-test-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let home = root.join("home");
        std::fs::create_dir_all(&home).expect("create temp HOME");
        Sandbox { root, home }
    }

    /// The binary with a controlled environment, `--no-color` first.
    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .arg("--no-color");
        c
    }

    fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.cmd().args(args))
    }

    fn dev_dir(&self) -> PathBuf {
        self.home.join(".openclaw-dev")
    }

    /// The dev config `openclaw gateway --dev` would write, with the log file inside the sandbox.
    fn write_dev_config(&self) {
        std::fs::create_dir_all(self.dev_dir()).expect("create ~/.openclaw-dev");
        let config = serde_json::json!({
            "gateway": { "mode": "local", "bind": "loopback" },
            "agents": { "entries": { "dev": { "default": true } } },
            "logging": { "file": self.root.join("gateway.log").display().to_string() },
        });
        std::fs::write(
            self.dev_dir().join("openclaw.json"),
            serde_json::to_string_pretty(&config).expect("serialize config"),
        )
        .expect("write dev config");
    }

    fn run_file(&self) -> Option<Value> {
        let text = std::fs::read_to_string(self.dev_dir().join("gateway.run.json")).ok()?;
        serde_json::from_str(&text).ok()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

// ---------------------------------------------------------------------------------------------
// Running the binary, bounded.

// ---------------------------------------------------------------------------------------------
// A gateway child process.

struct Gateway {
    child: Child,
    port: u16,
}

impl Gateway {
    /// Starts `openclaw --dev gateway` on a free port and waits until `/health` answers and the
    /// run file names it. Retries a few ports (another process may grab one in between).
    fn start(sb: &Sandbox) -> Gateway {
        Gateway::start_with(sb, &[])
    }

    /// Like [`Gateway::start`], with extra environment variables.
    fn start_with(sb: &Sandbox, env: &[(&str, &str)]) -> Gateway {
        sb.write_dev_config();
        for attempt in 0..5 {
            let port = free_port();
            let log = |name: &str| {
                std::fs::File::create(sb.root.join(format!("gateway-{attempt}.{name}")))
                    .expect("create gateway output file")
            };
            let child = Command::new(BIN)
                .env_clear()
                .env("HOME", &sb.home)
                .env("NO_COLOR", "1")
                .envs(env.iter().copied())
                .args([
                    "--no-color",
                    "--dev",
                    "gateway",
                    "--allow-unconfigured",
                    "--port",
                ])
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::from(log("stdout")))
                .stderr(Stdio::from(log("stderr")))
                .spawn()
                .expect("spawn gateway");
            let mut gw = Gateway { child, port };
            if gw.wait_ready(sb, Duration::from_secs(20)) {
                return gw;
            }
            gw.stop();
        }
        panic!("the gateway did not start (see {})", sb.root.display());
    }

    fn wait_ready(&mut self, sb: &Sandbox, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let pid = u64::from(self.child.id());
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            let run_file_ours = sb
                .run_file()
                .is_some_and(|r| r["pid"].as_u64() == Some(pid));
            if run_file_ours && http_health_ok(self.port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, wait up to 5 s, then SIGKILL.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots.

/// Snapshot assertions with filters for the sandbox, the port, the pid and volatile values.
struct Snap<'a> {
    sb: &'a Sandbox,
    port: u16,
    pid: Option<u32>,
}

impl Snap<'_> {
    fn settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(&regex_escape(BIN), "[BIN]");
        settings.add_filter(&regex_escape(&self.sb.home.display().to_string()), "[HOME]");
        settings.add_filter(&regex_escape(&self.sb.root.display().to_string()), "[TMP]");
        settings.add_filter(&format!(r"\b{}\b", self.port), "[PORT]");
        if let Some(pid) = self.pid {
            settings.add_filter(&format!(r"\b{pid}\b"), "[PID]");
        }
        settings.add_filter(
            &format!(r"\b{}\b", regex_escape(env!("CARGO_PKG_VERSION"))),
            "[VERSION]",
        );
        settings.add_filter(
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[UUID]",
        );
        settings.add_filter(
            r#""(ts|uptimeMs|durationMs|connections|startedAtMs|presenceCount)": \d+"#,
            r#""$1": "[N]""#,
        );
        // The dev config holds a generated token, so its hash differs every run.
        settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[HASH]");
        settings.add_filter(r"uptime \d+[dhms]( \d+[dhms])?", "uptime [UPTIME]");
        settings.add_filter(r"\d+ connections?\b", "[N] connections");
        settings.add_filter(
            r"Connections: \d+ \(\d+ presence entr(y|ies)\)",
            "Connections: [N] ([N] presence entries)",
        );
        settings.add_filter(r"duration: \d+ms", "duration: [N]ms");
        // `gateway status`: ports derived from the (random) gateway port.
        settings.add_filter(
            r"browser \d+, canvas \d+",
            "browser [PORT+2], canvas [PORT+4]",
        );
        settings.add_filter(r#""(browser|canvas)": \d+"#, r#""$1": "[DERIVED]""#);
        settings.set_omit_expression(true);
        settings
    }

    /// Snapshots the run's transcript, described by its command line.
    fn check(&self, name: &str, run: &Run) {
        let description = run
            .command
            .replace(&self.port.to_string(), "[PORT]")
            .replace(&self.sb.home.display().to_string(), "[HOME]");
        let mut settings = self.settings();
        settings.set_description(description);
        settings.bind(|| insta::assert_snapshot!(name, run.transcript()));
    }
}

fn dev<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--dev"];
    v.extend_from_slice(args);
    v
}

// ---------------------------------------------------------------------------------------------
// Tests against a running gateway.

#[test]
fn call_health_text_and_json() {
    let sb = Sandbox::new("call");
    let gw = Gateway::start(&sb);

    let text = sb.run(dev(&["gateway", "call", "health"]));
    assert_eq!(text.code, 0, "{}", text.transcript());
    assert!(text.stdout.starts_with("Gateway call: health\n{\n"));
    let snap = Snap {
        sb: &sb,
        port: gw.port,
        pid: Some(gw.pid()),
    };
    snap.check("call_health_text", &text);

    let json = sb.run(dev(&["gateway", "call", "health", "--json"]));
    assert_eq!(json.code, 0, "{}", json.transcript());
    let v = json.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["defaultAgentId"], "dev");
    assert_eq!(json.stderr, "");
    // The same payload as the text form, without the header.
    assert!(text.stdout.ends_with("}\n") && json.stdout.starts_with("{\n"));

    // --params reaches the gateway: a probe refreshes the snapshot.
    let probe = sb.run(dev(&[
        "gateway",
        "call",
        "health",
        "--params",
        r#"{"probe":true}"#,
        "--json",
    ]));
    assert_eq!(probe.code, 0, "{}", probe.transcript());
    assert_eq!(probe.json()["ok"], true);
}

#[test]
fn call_errors() {
    let sb = Sandbox::new("errors");
    let gw = Gateway::start(&sb);

    let unknown = sb.run(dev(&["gateway", "call", "no.such.method", "--json"]));
    assert_eq!(unknown.code, 1, "{}", unknown.transcript());
    assert_eq!(
        unknown.json(),
        serde_json::json!({"ok": false, "error": {
            "type": "gateway_request_error", "code": "INVALID_REQUEST",
            "message": "unknown method: no.such.method", "retryable": false }})
    );
    let unknown_text = sb.run(dev(&["gateway", "call", "no.such.method"]));
    assert_eq!(unknown_text.code, 1);

    let url = format!("ws://127.0.0.1:{}", gw.port);
    let wrong = sb.run(dev(&[
        "gateway", "call", "health", "--url", &url, "--token", "WRONG", "--json",
    ]));
    assert_eq!(wrong.code, 1, "{}", wrong.transcript());
    let v = wrong.json();
    assert_eq!(v["error"]["type"], "gateway_request_error");
    assert_eq!(v["error"]["details"]["code"], "AUTH_TOKEN_MISMATCH");
    assert!(
        wrong
            .stderr
            .starts_with("gateway connect failed: GatewayClientRequestError: unauthorized: gateway token mismatch"),
        "{}",
        wrong.transcript()
    );
    let wrong_text = sb.run(dev(&["gateway", "call", "health", "--token", "WRONG"]));
    assert_eq!(wrong_text.code, 1);
    assert_eq!(wrong_text.stdout, "");

    let snap = Snap {
        sb: &sb,
        port: gw.port,
        pid: Some(gw.pid()),
    };
    snap.check("call_unknown_method_json", &unknown);
    snap.check("call_unknown_method_text", &unknown_text);
    snap.check("call_wrong_token_json", &wrong);
    snap.check("call_wrong_token_text", &wrong_text);

    // The gateway still answers afterwards.
    let after = sb.run(dev(&["gateway", "call", "health", "--json"]));
    assert_eq!(after.code, 0, "{}", after.transcript());
}

#[test]
fn runtime_token_from_the_run_file() {
    let sb = Sandbox::new("token");
    let gw = Gateway::start(&sb);
    let run_file = sb.run_file().expect("run file");
    let token = run_file["runtimeToken"]
        .as_str()
        .expect("the gateway generated a runtime token");
    assert_eq!(run_file["port"].as_u64(), Some(u64::from(gw.port)));

    // No --token anywhere: the run file's token is used, for the default URL and for an explicit
    // loopback URL on the same port.
    let by_default = sb.run(dev(&["gateway", "call", "status", "--json"]));
    assert_eq!(by_default.code, 0, "{}", by_default.transcript());
    assert_eq!(by_default.json()["gateway"]["authMode"], "token");
    let url = format!("ws://localhost:{}", gw.port);
    let by_url = sb.run(dev(&["gateway", "call", "health", "--url", &url, "--json"]));
    assert_eq!(by_url.code, 0, "{}", by_url.transcript());

    // The same token given explicitly works too.
    let explicit = sb.run(dev(&[
        "gateway", "call", "health", "--token", token, "--json",
    ]));
    assert_eq!(explicit.code, 0, "{}", explicit.transcript());

    // OPENCLAW_GATEWAY_TOKEN outranks the runtime token.
    let env_wins = run(sb
        .cmd()
        .env("OPENCLAW_GATEWAY_TOKEN", "not-the-token")
        .args(dev(&["gateway", "call", "health", "--json"])));
    assert_eq!(env_wins.code, 1, "{}", env_wins.transcript());
    assert_eq!(
        env_wins.json()["error"]["details"]["code"],
        "AUTH_TOKEN_MISMATCH"
    );

    // Without the run file's state dir (no --dev) nothing is found on the default port.
    let other_profile = run(sb
        .cmd()
        .env("OPENCLAW_GATEWAY_PORT", free_port().to_string())
        .args(["gateway", "call", "health", "--json"]));
    assert_eq!(other_profile.code, 1, "{}", other_profile.transcript());
    assert_eq!(other_profile.json()["error"]["kind"], "closed");
}

#[test]
fn health_and_status() {
    let sb = Sandbox::new("health");
    let gw = Gateway::start(&sb);

    let health_json = sb.run(dev(&["health", "--json"]));
    assert_eq!(health_json.code, 0, "{}", health_json.transcript());
    let h = health_json.json();
    assert_eq!(h["ok"], true);
    assert_eq!(h["agents"][0]["agentId"], "dev");
    assert_eq!(h["agents"][0]["isDefault"], true);

    let verbose = sb.run(dev(&["health", "--json", "--verbose"]));
    assert_eq!(verbose.code, 0, "{}", verbose.transcript());
    assert!(
        verbose.json()["ts"].as_u64() >= h["ts"].as_u64(),
        "--verbose asks for a fresh probe"
    );

    let health_text = sb.run(dev(&["health"]));
    assert_eq!(health_text.code, 0, "{}", health_text.transcript());

    let status_json = sb.run(dev(&["status", "--json"]));
    assert_eq!(status_json.code, 0, "{}", status_json.transcript());
    let s = status_json.json();
    assert_eq!(s["gateway"]["port"].as_u64(), Some(u64::from(gw.port)));
    assert_eq!(s["gateway"]["authMode"], "token");
    assert_eq!(s["gateway"]["configValid"], true);

    let status_text = sb.run(dev(&["status"]));
    assert_eq!(status_text.code, 0, "{}", status_text.transcript());

    let snap = Snap {
        sb: &sb,
        port: gw.port,
        pid: Some(gw.pid()),
    };
    snap.check("health_text", &health_text);
    snap.check("status_text", &status_text);
}

#[test]
fn gateway_status_up_and_down() {
    let sb = Sandbox::new("gwstatus");
    let mut gw = Gateway::start(&sb);
    let (port, pid) = (gw.port, gw.pid());

    let up_json = sb.run(dev(&["gateway", "status", "--json"]));
    assert_eq!(up_json.code, 0, "{}", up_json.transcript());
    let v = up_json.json();
    assert_eq!(v["config"]["cli"]["exists"], true);
    assert_eq!(v["config"]["cli"]["valid"], true);
    assert_eq!(v["gateway"]["port"].as_u64(), Some(u64::from(port)));
    assert_eq!(v["gateway"]["portSource"], "run file");
    assert_eq!(v["port"]["status"], "listening");
    assert_eq!(v["runtime"]["status"], "running");
    assert_eq!(v["runtime"]["pid"].as_u64(), Some(u64::from(pid)));
    assert_eq!(v["rpc"]["ok"], true, "{}", up_json.transcript());
    let up_text = sb.run(dev(&["gateway", "status"]));
    assert_eq!(up_text.code, 0, "{}", up_text.transcript());
    let no_probe = sb.run(dev(&["gateway", "status", "--json", "--no-probe"]));
    assert_eq!(no_probe.code, 0, "{}", no_probe.transcript());
    assert!(no_probe.json().get("rpc").is_none());

    gw.stop();
    assert!(sb.run_file().is_none(), "the gateway removes its run file");
    // Pin the port so the down case looks where the gateway was (and never at a real 19001).
    let down = |args: &[&str]| {
        run(sb
            .cmd()
            .env("OPENCLAW_GATEWAY_PORT", port.to_string())
            .args(dev(args)))
    };
    let down_json = down(&["gateway", "status", "--json"]);
    assert_eq!(down_json.code, 0, "{}", down_json.transcript());
    let v = down_json.json();
    assert_eq!(v["gateway"]["portSource"], "env/config");
    assert_eq!(v["port"]["status"], "free");
    assert_eq!(v["runtime"]["status"], "stopped");
    assert_eq!(v["rpc"]["ok"], false);
    assert_eq!(
        v["rpc"]["error"].as_str(),
        Some(format!("connect ECONNREFUSED 127.0.0.1:{port}").as_str())
    );
    let down_text = down(&["gateway", "status"]);
    assert_eq!(down_text.code, 0, "{}", down_text.transcript());

    let snap = Snap {
        sb: &sb,
        port,
        pid: Some(pid),
    };
    snap.check("gateway_status_up_json", &up_json);
    snap.check("gateway_status_up_text", &up_text);
    snap.check("gateway_status_down_json", &down_json);
    snap.check("gateway_status_down_text", &down_text);
}

/// A wrong token must not stop the gateway from serving others (regression: the binary once held
/// the stdout lock for the whole run, so the first log line from a worker thread hung forever).
#[test]
fn wrong_token_does_not_wedge_the_gateway() {
    let sb = Sandbox::new("wedge");
    let gw = Gateway::start_with(&sb, &[]);
    let wrong = sb.run(dev(&[
        "gateway",
        "call",
        "health",
        "--token",
        "WRONG",
        "--timeout",
        "3000",
        "--json",
    ]));
    assert_eq!(
        wrong.json()["error"]["type"],
        "gateway_request_error",
        "{}",
        wrong.transcript()
    );
    let after = sb.run(dev(&[
        "gateway",
        "call",
        "health",
        "--timeout",
        "3000",
        "--json",
    ]));
    assert_eq!(after.code, 0, "{}", after.transcript());
    assert!(http_health_ok(gw.port));
}

// ---------------------------------------------------------------------------------------------
// Tests without a gateway.

#[test]
fn refused_connection_returns_at_once() {
    let sb = Sandbox::new("refused");
    let port = free_port();
    let url = format!("ws://127.0.0.1:{port}");
    // A long --timeout: returning at all (within RUN_LIMIT) shows nobody waited for it.
    let call = sb.run(dev(&[
        "gateway",
        "call",
        "health",
        "--url",
        &url,
        "--token",
        "t",
        "--json",
        "--timeout",
        "600000",
    ]));
    assert_eq!(call.code, 1, "{}", call.transcript());
    assert_eq!(call.json()["error"]["kind"], "closed");
    assert_eq!(call.json()["gateway"]["urlSource"], "cli --url");

    let local = |args: &[&str]| {
        run(sb
            .cmd()
            .env("OPENCLAW_GATEWAY_PORT", port.to_string())
            .args(dev(args))
            .args(["--timeout", "600000"]))
    };
    let health_json = local(&["health", "--json"]);
    assert_eq!(health_json.code, 1, "{}", health_json.transcript());
    assert_eq!(health_json.json()["gateway"]["urlSource"], "local loopback");
    let health_text = local(&["health"]);
    assert_eq!(health_text.code, 1, "{}", health_text.transcript());
    let status_text = local(&["status"]);
    assert_eq!(status_text.code, 1, "{}", status_text.transcript());

    let snap = Snap {
        sb: &sb,
        port,
        pid: None,
    };
    snap.check("refused_call_json", &call);
    snap.check("refused_health_json", &health_json);
    snap.check("refused_health_text", &health_text);
    snap.check("refused_status_text", &status_text);
}

#[test]
fn silent_listener_times_out() {
    let sb = Sandbox::new("timeout");
    // Accepts TCP connections (kernel backlog) but never answers the WebSocket upgrade.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let url = format!("ws://127.0.0.1:{port}");
    let r = sb.run(dev(&[
        "health",
        "--url",
        &url,
        "--timeout",
        "500",
        "--json",
    ]));
    assert_eq!(r.code, 1, "{}", r.transcript());
    let v = r.json();
    assert_eq!(v["error"]["kind"], "timeout");
    assert_eq!(
        v["error"]["message"],
        "Gateway not reachable after waiting 0.5 s."
    );
    assert_eq!(v["error"]["timeoutMs"], 500);
    drop(listener);
}

#[test]
fn bad_params_are_usage_errors() {
    let sb = Sandbox::new("params");
    for params in ["{x", "[1]", "5"] {
        let r = sb.run(dev(&[
            "gateway",
            "call",
            "health",
            "--params",
            params,
            "--url",
            "ws://127.0.0.1:1",
        ]));
        assert_eq!(r.code, 2, "{params}: {}", r.transcript());
        assert!(r.stderr.contains("Invalid --params"), "{}", r.transcript());
        assert_eq!(r.stdout, "");
    }
    let bad_url = sb.run(dev(&["gateway", "call", "health", "--url", "http://x"]));
    assert_eq!(bad_url.code, 2, "{}", bad_url.transcript());
}

#[test]
fn gateway_status_without_config_or_gateway() {
    let sb = Sandbox::new("nocfg");
    let port = free_port();
    let r = run(sb
        .cmd()
        .env("OPENCLAW_GATEWAY_PORT", port.to_string())
        .args(["gateway", "status", "--json"]));
    assert_eq!(r.code, 0, "{}", r.transcript());
    let v = r.json();
    assert_eq!(v["config"]["cli"]["exists"], false);
    assert_eq!(v["gateway"]["bindMode"], "loopback");
    assert_eq!(v["runtime"]["status"], "stopped");
    assert_eq!(v["port"]["status"], "free");

    // An unresolvable config path is the one failure.
    let bad = sb.run(["--dev", "--profile", "x", "gateway", "status"]);
    assert_eq!(bad.code, 1, "{}", bad.transcript());
    assert!(bad.stderr.contains("Cannot combine --dev with --profile"));
}

/// Ports as OpenClaw 2026.9.6 resolves them with nothing configured (observed with `gateway status
/// --json`): 18789, `--dev` 19001, `--profile foo` 47223 (derived from the name); `gateway.port` and
/// `OPENCLAW_GATEWAY_PORT` still win for a named profile.
#[test]
fn profile_ports_match_openclaw() {
    let sb = Sandbox::new("profports");
    let port_of = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = sb.cmd();
        c.env_remove("OPENCLAW_GATEWAY_PORT");
        for (k, v) in env {
            c.env(k, v);
        }
        let r = run(c.args(args));
        assert_eq!(r.code, 0, "{}", r.transcript());
        r.json()["gateway"]["port"].as_u64().unwrap_or_default()
    };
    let status = ["gateway", "status", "--json", "--no-probe"];
    assert_eq!(port_of(&status, &[]), 18789);
    assert_eq!(port_of(&[&["--dev"][..], &status].concat(), &[]), 19001);
    let foo = [&["--profile", "foo"][..], &status].concat();
    assert_eq!(port_of(&foo, &[]), 47223);
    assert_eq!(port_of(&foo, &[("OPENCLAW_GATEWAY_PORT", "19555")]), 19555);
    let dir = sb.home.join(".openclaw-foo");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("openclaw.json"), "{ gateway: { port: 19011 } }").expect("write");
    assert_eq!(port_of(&foo, &[]), 19011);
}
