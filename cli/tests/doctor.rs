//! `openclaw doctor` through the real binary, in a fresh temporary `HOME`: findings for legacy keys,
//! permissions, plaintext secrets and the port (free, held by a real gateway, held by something
//! else); `--fix` migrates with comments kept, a `.bak` and tight permissions, and refuses a
//! migration whose result would be invalid; the human and `--json` outputs are snapshotted.

mod support;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::{BIN, Run, chmod, free_port, mode, regex_escape, run};

/// A config written before `agents.defaults`, `gateway.auth` and bind modes existed.
const LEGACY: &str = r#"// My OpenClaw config (hand-written, 2025).
{
  // Where the gateway listens.
  gateway: {
    port: 18789,
    bind: "0.0.0.0", // all interfaces
    token: "0123456789abcdef0123456789abcdef", // the shared token
  },
  /* The agent's defaults. */
  agent: {
    model: "anthropic/claude-opus-4", // the big one
    workspace: "~/agent-ws",
  },
  identity: { name: "Clawd", emoji: "🦞" },
  logging: {
    level: "info", // debug when chasing a bug
  },
}
"#;

struct Sandbox {
    root: PathBuf,
    home: PathBuf,
    port: u16,
}

impl Sandbox {
    fn new(tag: &str) -> Sandbox {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = std::env::temp_dir()
            .canonicalize()
            .expect("canonical temp dir");
        let root = tmp.join(format!("ocrs-doctor-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let home = root.join("home");
        std::fs::create_dir_all(&home).expect("create temp HOME");
        Sandbox {
            root,
            home,
            port: free_port(),
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .env("TMPDIR", &self.root)
            .env("OPENCLAW_GATEWAY_PORT", self.port.to_string())
            .current_dir(&self.root)
            .arg("--no-color");
        c
    }

    fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.cmd();
        c.args(args);
        run(&mut c)
    }

    fn dir(&self) -> PathBuf {
        self.home.join(".openclaw")
    }

    fn config(&self) -> PathBuf {
        self.dir().join("openclaw.json")
    }

    /// Writes the config with a tight state directory and file (0700 / 0600).
    fn write_config(&self, text: &str) {
        std::fs::create_dir_all(self.dir()).expect("create ~/.openclaw");
        std::fs::write(self.config(), text).expect("write config");
        chmod(&self.dir(), 0o700);
        chmod(&self.config(), 0o600);
    }

    fn read_config(&self) -> String {
        std::fs::read_to_string(self.config()).expect("read config")
    }

    fn snapshot_settings<R>(&self, f: impl FnOnce() -> R) -> R {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(&regex_escape(&self.home.display().to_string()), "[HOME]");
        settings.add_filter(&regex_escape(&self.root.display().to_string()), "[TMP]");
        settings.set_omit_expression(true);
        settings.bind(f)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

// ---------------------------------------------------------------------------------------------

/// The `checkId`s of a `doctor --json` run.
fn check_ids(r: &Run) -> Vec<String> {
    r.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["checkId"].as_str().expect("checkId").to_string())
        .collect()
}

#[test]
fn legacy_config_is_reported_with_lines() {
    let sb = Sandbox::new("legacy");
    sb.write_config(LEGACY);
    chmod(&sb.config(), 0o644);
    let human = sb.run(["doctor"]);
    assert_eq!(human.code, 1, "{}", human.transcript());
    let json = sb.run(["doctor", "--json"]);
    assert_eq!(json.code, 1, "{}", json.transcript());
    let v = json.json();
    assert_eq!(v["schemaVersion"], 1);
    assert_eq!(v["ok"], false);
    assert!(v["checksRun"].as_u64().is_some_and(|n| n >= 8));
    let ids = check_ids(&json);
    for want in [
        "core/doctor/legacy-agent",
        "core/doctor/legacy-identity",
        "core/doctor/legacy-gateway-token",
        "core/doctor/legacy-bind-alias",
        "core/doctor/gateway-mode-missing",
        "core/doctor/permissions",
    ] {
        assert!(ids.iter().any(|i| i == want), "no {want} in {ids:?}");
    }
    // Nothing was written without --fix.
    assert_eq!(sb.read_config(), LEGACY);
    sb.snapshot_settings(|| {
        insta::assert_snapshot!("legacy_human", human.transcript());
        insta::assert_snapshot!("legacy_json", json.transcript());
    });
}

#[test]
fn fix_migrates_keeping_comments_with_a_backup() {
    let sb = Sandbox::new("fix");
    sb.write_config(LEGACY);
    chmod(&sb.config(), 0o644);
    chmod(&sb.dir(), 0o755);
    let fixed = sb.run(["doctor", "--fix"]);
    assert_eq!(fixed.code, 0, "{}", fixed.transcript());
    let text = sb.read_config();
    // Every comment outside the moved members survives.
    for c in [
        "// My OpenClaw config (hand-written, 2025).",
        "// Where the gateway listens.",
        "// all interfaces",
        "/* The agent's defaults. */",
        "// debug when chasing a bug",
    ] {
        assert!(text.contains(c), "lost {c}:\n{text}");
    }
    let backup = sb.dir().join("openclaw.json.bak");
    assert_eq!(std::fs::read_to_string(&backup).expect("backup"), LEGACY);
    assert_eq!(mode(&sb.config()), 0o600);
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(mode(&sb.dir()), 0o700);
    // The result is a valid config, and doctor has nothing left to say.
    let validate = sb.run(["config", "validate"]);
    assert_eq!(validate.code, 0, "{}", validate.transcript());
    let again = sb.run(["doctor", "--json"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert_eq!(again.json()["ok"], true);
    sb.snapshot_settings(|| {
        insta::assert_snapshot!("fix_human", fixed.transcript());
        insta::assert_snapshot!("fix_result", text);
        insta::assert_snapshot!("fix_again_json", again.transcript());
    });
}

#[test]
fn fix_json_lists_what_it_did() {
    let sb = Sandbox::new("fix-json");
    sb.write_config("{ gateway: { port: 18789 } }\n");
    let r = sb.run(["doctor", "--fix", "--json"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let v = r.json();
    assert_eq!(v["fixed"][0]["checkId"], "core/doctor/gateway-mode-missing");
    assert!(
        v["backup"]
            .as_str()
            .is_some_and(|b| b.ends_with("openclaw.json.bak"))
    );
    assert_eq!(
        sb.read_config(),
        "{ gateway: { port: 18789, mode: \"local\" } }\n"
    );
}

#[test]
fn fix_refuses_a_result_with_new_problems() {
    let sb = Sandbox::new("refuse");
    // `agent.model` has the wrong type; moved, the problem would show up at a new path.
    let text = "{\n  gateway: { mode: \"local\" },\n  agent: { model: 5 },\n}\n";
    sb.write_config(text);
    let r = sb.run(["doctor", "--fix"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stdout.contains("did not migrate") && r.stdout.contains("agents.defaults.model"),
        "{}",
        r.transcript()
    );
    assert_eq!(sb.read_config(), text);
    assert!(!sb.dir().join("openclaw.json.bak").exists());
}

#[test]
fn clean_setup_passes() {
    let sb = Sandbox::new("clean");
    sb.write_config(
        "{\n  gateway: {\n    mode: \"local\",\n    auth: { token: { source: \"env\", provider: \"default\", id: \"OPENCLAW_GATEWAY_TOKEN\" } },\n  },\n}\n",
    );
    let r = sb.run(["doctor"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(r.stdout.contains("no problems found"), "{}", r.transcript());
    let j = sb.run(["doctor", "--json", "--non-interactive"]);
    assert_eq!(j.code, 0, "{}", j.transcript());
    assert_eq!(j.json()["findings"], serde_json::json!([]));
}

#[test]
fn missing_config_and_state_dir() {
    let sb = Sandbox::new("missing");
    let r = sb.run(["doctor", "--json"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    let ids = check_ids(&r);
    assert!(
        ids.contains(&"core/doctor/config-missing".to_string()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"core/doctor/state-dir".to_string()),
        "{ids:?}"
    );
    // --fix creates the state directory (0700) but no config: that is `openclaw setup`'s job.
    let f = sb.run(["doctor", "--fix"]);
    assert_eq!(f.code, 1, "{}", f.transcript());
    assert_eq!(mode(&sb.dir()), 0o700);
    assert!(!sb.config().exists());
    sb.snapshot_settings(|| insta::assert_snapshot!("missing_fix_human", f.transcript()));
}

/// A plain TCP server (not a gateway) holding the port, answering every connection with a 404.
fn squatter() -> (TcpListener, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = listener.try_clone().expect("clone listener");
    let handle = std::thread::spawn(move || {
        // One probe is expected; stop after a few connections so the thread always ends.
        for _ in 0..4 {
            let Ok((mut s, _)) = server.accept() else {
                return;
            };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (listener, handle)
}

#[test]
fn port_held_by_another_program_is_an_error() {
    let mut sb = Sandbox::new("squat");
    sb.write_config("{ gateway: { mode: \"local\" } }\n");
    let (listener, _thread) = squatter();
    sb.port = listener.local_addr().expect("addr").port();
    let r = sb.run(["doctor", "--json"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    let v = r.json();
    let f = &v["findings"][0];
    assert_eq!(f["checkId"], "core/doctor/port-in-use");
    assert_eq!(f["severity"], "error");
    let message = f["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("port {} (OPENCLAW_GATEWAY_PORT)", sb.port))
            && message.contains(&format!("(pid {})", std::process::id())),
        "{message}"
    );
    drop(listener);
}

/// A gateway child that is always stopped.
struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Ok(None) = self.0.try_wait() {
            if Instant::now() > deadline {
                let _ = self.0.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.wait();
    }
}

fn health(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200")
}

#[test]
fn port_held_by_the_gateway_is_fine() {
    let sb = Sandbox::new("gateway");
    sb.write_config("{ gateway: { mode: \"local\" } }\n");
    let mut c = sb.cmd();
    c.args(["gateway", "--port", &sb.port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _gateway = Gateway(c.spawn().expect("spawn gateway"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !health(sb.port) {
        assert!(Instant::now() < deadline, "the gateway did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The running gateway's run file names the port; no env var needed.
    let mut c = sb.cmd();
    c.env_remove("OPENCLAW_GATEWAY_PORT")
        .arg("doctor")
        .arg("--json");
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(r.json()["findings"], serde_json::json!([]));
}
