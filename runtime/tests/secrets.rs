//! SecretRef resolution and `secrets.reload` end to end: real files with real permissions, real
//! exec providers (small shell scripts in a temp dir, run directly as executables), timeouts with
//! small limits (every wait bounded), the gateway's start-up refusal, `.env` layering, and
//! `secrets.reload` over a real WebSocket connection (all or nothing).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use openclaw_runtime::config::secrets::{Failure, Resolver, Snapshot};
use openclaw_runtime::config::{MapEnv, check_file};
use openclaw_runtime::gateway::reload::Reloader;
use openclaw_runtime::gateway::startup::{self, StartError, StartOptions};
use openclaw_runtime::gateway::{self, Running};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

/// A scratch directory (the test's HOME and working directory), removed on drop.
struct Tmp(PathBuf);

impl Tmp {
    fn new(tag: &str) -> Tmp {
        let d = std::env::temp_dir().join(format!("ocrs-secrets-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        let d = std::fs::canonicalize(&d).expect("canonical temp dir");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).expect("chmod dir");
        Tmp(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn s(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// Writes a file and sets its mode.
    fn write(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write file");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    /// A `/bin/sh` script the provider runs directly (mode 0700).
    fn script(&self, name: &str, body: &str) -> PathBuf {
        self.write(name, &format!("#!/bin/sh\n{body}\n"), 0o700)
    }

    fn env(&self) -> MapEnv {
        let mut env = MapEnv::new([
            ("HOME", self.0.to_str().expect("utf-8 dir")),
            ("OPENCLAW_STATE_DIR", &self.s("state")),
            ("OPENCLAW_CONFIG_PATH", &self.s("openclaw.json")),
        ]);
        env.0.insert("PATH".into(), "/usr/bin:/bin".into());
        env
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Checks `config` as `openclaw.json` in the temp dir (it must be valid) and resolves its refs.
fn resolve(t: &Tmp, config: &str, env: &MapEnv) -> Result<Snapshot, Vec<Failure>> {
    let path = t.write("openclaw.json", config, 0o600);
    let checked = check_file(&path, env);
    assert!(
        checked.is_valid(),
        "config must be valid: {:?} {:?}",
        checked.read_error,
        checked.errors
    );
    let root = checked.root.as_ref().expect("parsed");
    Arc::new(Resolver::from_spanned(root, &checked.sources, env, &t.0)).resolve()
}

fn only_failure(r: Result<Snapshot, Vec<Failure>>) -> Failure {
    match r {
        Ok(s) => panic!("expected a failure, resolved {:?}", s),
        Err(mut f) => {
            assert_eq!(f.len(), 1, "{f:?}");
            f.remove(0)
        }
    }
}

fn pid_alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie still has one, but says so.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits (bounded) until a process is gone.
fn gone_within(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !pid_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn read_pid(p: &Path) -> u32 {
    let start = Instant::now();
    loop {
        if let Some(pid) = std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(start.elapsed() < WAIT, "no pid written to {}", p.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------------
// file providers

#[test]
fn file_provider_json_pointer_and_single_value() {
    let t = Tmp::new("file-ok");
    let json_file = t.write(
        "secrets.json",
        r#"{ "gateway": { "token": "tok-from-json" }, "a~b": { "c/d": "escaped" }, "n": 5 }"#,
        0o600,
    );
    t.write("token.txt", "\u{feff}single-secret\r\n", 0o400);
    let config = format!(
        r#"{{
  gateway: {{ mode: "local", auth: {{ mode: "token", token: {{ source: "file", provider: "vault", id: "/gateway/token" }} }} }},
  secrets: {{ providers: {{
    vault: {{ source: "file", path: "{}" }},
    one: {{ source: "file", path: "~/token.txt", mode: "singleValue" }},
  }} }},
  skills: {{ entries: {{
    a: {{ apiKey: {{ source: "file", provider: "vault", id: "/a~0b/c~1d" }} }},
    b: {{ apiKey: {{ source: "file", provider: "one", id: "value" }} }},
  }} }},
}}"#,
        json_file.display()
    );
    let s = resolve(&t, &config, &t.env()).expect("all resolve");
    assert_eq!(s.get("gateway.auth.token"), Some("tok-from-json"));
    assert_eq!(s.get("skills.entries.a.apiKey"), Some("escaped"));
    assert_eq!(s.get("skills.entries.b.apiKey"), Some("single-secret"));
    assert_eq!(s.resolved(), 3);
    assert!(s.warnings().is_empty());
    // Nothing secret in Debug output.
    assert!(!format!("{s:?}").contains("tok-from-json"));

    // A pointer to a missing key names the keys that do exist; a number is not a secret.
    let config = format!(
        r#"{{ secrets: {{ providers: {{ vault: {{ source: "file", path: "{}" }} }} }},
  skills: {{ entries: {{ a: {{ apiKey: {{ source: "file", provider: "vault", id: "/gateway/tokn" }} }} }} }} }}"#,
        json_file.display()
    );
    let f = only_failure(resolve(&t, &config, &t.env()));
    assert_eq!(f.key.to_string(), "file:vault:/gateway/tokn");
    assert!(f.message.contains("does not exist"), "{}", f.message);
    assert!(
        f.message.contains("keys under /gateway: token"),
        "{}",
        f.message
    );
    // Where it is used, with file:line:column.
    assert_eq!(f.uses[0].path, "skills.entries.a.apiKey");
    let at = f.uses[0].at.clone().expect("located");
    assert!(at.ends_with("openclaw.json:2:37"), "{at}");
    let config = config.replace("/gateway/tokn", "/n");
    let f = only_failure(resolve(&t, &config, &t.env()));
    assert!(
        f.message.contains("is a number, not a string"),
        "{}",
        f.message
    );
}

#[test]
fn file_provider_refuses_files_others_can_write() {
    let t = Tmp::new("file-perms");
    let p = t.write("s.json", r#"{"k":"v"}"#, 0o664);
    let config = format!(
        r#"{{ secrets: {{ providers: {{ f: {{ source: "file", path: "{}" }} }} }},
  skills: {{ entries: {{ a: {{ apiKey: {{ source: "file", provider: "f", id: "/k" }} }} }} }} }}"#,
        p.display()
    );
    let f = only_failure(resolve(&t, &config, &t.env()));
    assert!(
        f.message.contains("is writable by its group (mode 0664)"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("someone else could replace"),
        "{}",
        f.message
    );
    assert!(f.help.starts_with("chmod go-w "), "{}", f.help);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o646)).expect("chmod");
    let f = only_failure(resolve(&t, &config, &t.env()));
    assert!(f.message.contains("writable by all users"), "{}", f.message);
    // Readable by others is fine; once fixed it resolves.
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let s = resolve(&t, &config, &t.env()).expect("resolves");
    assert_eq!(s.get("skills.entries.a.apiKey"), Some("v"));
}

#[test]
fn file_provider_limits_and_missing_files() {
    let t = Tmp::new("file-limits");
    let p = t.write("big.txt", &"x".repeat(100), 0o600);
    let config = format!(
        r#"{{ secrets: {{ providers: {{ f: {{ source: "file", path: "{}", mode: "singleValue", maxBytes: 64 }} }} }},
  skills: {{ entries: {{ a: {{ apiKey: {{ source: "file", provider: "f", id: "value" }} }} }} }} }}"#,
        p.display()
    );
    let f = only_failure(resolve(&t, &config, &t.env()));
    assert!(
        f.message.contains("is 100 bytes, more than maxBytes (64)"),
        "{}",
        f.message
    );
    // singleValue wants the id "value".
    let config2 = config
        .replace("maxBytes: 64", "maxBytes: 1000")
        .replace("id: \"value\"", "id: \"/x\"");
    let f = only_failure(resolve(&t, &config2, &t.env()));
    assert!(
        f.message.contains("the ref id must be \"value\""),
        "{}",
        f.message
    );
    // A missing file.
    std::fs::remove_file(&p).expect("rm");
    let config3 = config.replace("maxBytes: 64", "maxBytes: 1000");
    let f = only_failure(resolve(&t, &config3, &t.env()));
    assert!(f.message.contains("no such file"), "{}", f.message);
    assert!(f.help.contains("secrets.providers.f.path"), "{}", f.help);
}

// ---------------------------------------------------------------------------------------------
// exec providers

#[test]
fn exec_provider_protocol_env_and_args() {
    let t = Tmp::new("exec-ok");
    let req = t.path("request.json");
    let envdump = t.path("env.txt");
    let cmd = t.script(
        "provider.sh",
        &format!(
            "cat > '{}'\nenv | sort > '{}'\nprintf '%s' \"{{\\\"protocolVersion\\\":1,\\\"values\\\":{{\\\"db/password\\\":\\\"pw-$1\\\",\\\"api:key\\\":\\\"$PASSED\\\"}}}}\"",
            req.display(),
            envdump.display()
        ),
    );
    let config = format!(
        r#"{{ secrets: {{ providers: {{ vault: {{
    source: "exec", command: "{}", args: ["arg1"], passEnv: ["PASSED", "MISSING_VAR"],
    env: {{ EXTRA: "x" }}, trustedDirs: ["{}"],
  }} }} }},
  skills: {{ entries: {{
    a: {{ apiKey: {{ source: "exec", provider: "vault", id: "db/password" }} }},
    b: {{ apiKey: {{ source: "exec", provider: "vault", id: "api:key" }} }},
    c: {{ apiKey: {{ source: "exec", provider: "vault", id: "db/password" }} }},
  }} }} }}"#,
        cmd.display(),
        t.0.display()
    );
    let mut env = t.env();
    env.0.insert("PASSED".into(), "passed-value".into());
    env.0.insert("NOT_PASSED".into(), "leak".into());
    let s = resolve(&t, &config, &env).expect("resolves");
    assert_eq!(s.get("skills.entries.a.apiKey"), Some("pw-arg1"));
    assert_eq!(s.get("skills.entries.c.apiKey"), Some("pw-arg1"));
    assert_eq!(s.get("skills.entries.b.apiKey"), Some("passed-value"));
    assert_eq!(s.resolved(), 2);
    // One run, the request lists each id once.
    let request: Value =
        serde_json::from_str(&std::fs::read_to_string(&req).expect("request")).expect("json");
    assert_eq!(
        request,
        json!({ "protocolVersion": 1, "provider": "vault", "ids": ["api:key", "db/password"] })
    );
    // Only passEnv (when set) and env reach the command (sh adds PWD and friends itself).
    let dumped = std::fs::read_to_string(&envdump).expect("env dump");
    assert!(dumped.contains("PASSED=passed-value\n"), "{dumped}");
    assert!(dumped.contains("EXTRA=x\n"), "{dumped}");
    assert!(!dumped.contains("leak"), "{dumped}");
    assert!(!dumped.contains("HOME="), "{dumped}");
    assert!(!dumped.contains("MISSING_VAR"), "{dumped}");
}

#[test]
fn exec_provider_errors_per_id_and_whole_provider() {
    let t = Tmp::new("exec-errors");
    let cmd = t.script(
        "p.sh",
        r#"printf '%s' '{"protocolVersion":1,"values":{"good":"g"},"errors":{"bad":{"message":"locked in vault"}}}'"#,
    );
    let config = format!(
        r#"{{ secrets: {{ providers: {{ v: {{ source: "exec", command: "{}" }} }} }},
  skills: {{ entries: {{
    a: {{ apiKey: {{ source: "exec", provider: "v", id: "good" }} }},
    b: {{ apiKey: {{ source: "exec", provider: "v", id: "bad" }} }},
    c: {{ apiKey: {{ source: "exec", provider: "v", id: "absent" }} }},
  }} }} }}"#,
        cmd.display()
    );
    let errs = resolve(&t, &config, &t.env()).expect_err("two fail");
    let text: Vec<String> = errs.iter().map(|f| f.to_string()).collect();
    assert_eq!(errs.len(), 2, "{text:?}");
    assert!(
        text[0].starts_with("exec:v:absent (used at skills.entries.c.apiKey ["),
        "{}",
        text[0]
    );
    assert!(
        text[0].contains("did not return id \"absent\""),
        "{}",
        text[0]
    );
    assert!(
        text[1].contains("reported an error for id \"bad\": locked in vault"),
        "{}",
        text[1]
    );

    // A failing command fails every id, with its exit code and first stderr line.
    t.script("p.sh", "echo 'vault is sealed' >&2\nexit 3");
    let errs = resolve(&t, &config, &t.env()).expect_err("all fail");
    assert_eq!(errs.len(), 3);
    assert!(
        errs.iter().all(|f| f
            .message
            .contains("exited with code 3 (stderr: vault is sealed)")),
        "{errs:?}"
    );

    // jsonOnly (the default) refuses plain text; jsonOnly: false takes it for a single id.
    t.script("p.sh", "echo plain-secret");
    let single = format!(
        r#"{{ secrets: {{ providers: {{ v: {{ source: "exec", command: "{}" }} }} }},
  skills: {{ entries: {{ a: {{ apiKey: {{ source: "exec", provider: "v", id: "good" }} }} }} }} }}"#,
        cmd.display()
    );
    let f = only_failure(resolve(&t, &single, &t.env()));
    assert!(f.message.contains("printed invalid JSON"), "{}", f.message);
    let relaxed = single.replace(
        "source: \"exec\", command",
        "source: \"exec\", jsonOnly: false, command",
    );
    let s = resolve(&t, &relaxed, &t.env()).expect("plain text accepted");
    assert_eq!(s.get("skills.entries.a.apiKey"), Some("plain-secret"));
}

#[test]
fn exec_provider_refuses_unsafe_commands() {
    let t = Tmp::new("exec-unsafe");
    let cmd = t.script("p.sh", "echo x");
    let refs =
        r#"skills: { entries: { a: { apiKey: { source: "exec", provider: "v", id: "k" } } } }"#;
    let with =
        |provider: &str| format!("{{ secrets: {{ providers: {{ v: {provider} }} }}, {refs} }}");
    // Group-writable.
    std::fs::set_permissions(&cmd, std::fs::Permissions::from_mode(0o770)).expect("chmod");
    let f = only_failure(resolve(
        &t,
        &with(&format!(
            r#"{{ source: "exec", command: "{}", jsonOnly: false }}"#,
            cmd.display()
        )),
        &t.env(),
    ));
    assert!(f.message.contains("writable by its group"), "{}", f.message);
    std::fs::set_permissions(&cmd, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    // Outside trustedDirs.
    let other = t.path("trusted");
    std::fs::create_dir_all(&other).expect("dir");
    let f = only_failure(resolve(
        &t,
        &with(&format!(
            r#"{{ source: "exec", command: "{}", trustedDirs: ["{}"] }}"#,
            cmd.display(),
            other.display()
        )),
        &t.env(),
    ));
    assert!(
        f.message
            .contains("is outside secrets.providers.v.trustedDirs"),
        "{}",
        f.message
    );
    // A symlink (config validation already refuses it; the resolver does too, e.g. when the file
    // was replaced after the config was checked).
    let link = t.path("link.sh");
    std::os::unix::fs::symlink(&cmd, &link).expect("symlink");
    let root = json!({
        "secrets": { "providers": { "v": { "source": "exec", "command": link.display().to_string() } } },
        "skills": { "entries": { "a": { "apiKey": { "source": "exec", "provider": "v", "id": "k" } } } },
    });
    let errs = Arc::new(Resolver::from_value(&root, &t.env(), &t.0))
        .resolve()
        .expect_err("symlink refused");
    assert!(
        errs[0].message.contains("is a symlink"),
        "{}",
        errs[0].message
    );
}

#[test]
fn exec_provider_timeout_kills_the_process_group() {
    let t = Tmp::new("exec-timeout");
    let pid_file = t.path("pid");
    let child_file = t.path("child");
    // The script starts a helper and waits on it: both must die.
    let cmd = t.script(
        "slow.sh",
        &format!(
            "echo $$ > '{}'\nsleep 30 &\necho $! > '{}'\nwait",
            pid_file.display(),
            child_file.display()
        ),
    );
    let config = format!(
        r#"{{ secrets: {{ providers: {{ v: {{ source: "exec", command: "{}", timeoutMs: 300 }} }} }},
  skills: {{ entries: {{ a: {{ apiKey: {{ source: "exec", provider: "v", id: "k" }} }} }} }} }}"#,
        cmd.display()
    );
    let start = Instant::now();
    let f = only_failure(resolve(&t, &config, &t.env()));
    assert!(start.elapsed() < WAIT, "the timeout must end the run");
    assert!(
        f.message
            .contains("did not finish within timeoutMs (300 ms); it was killed"),
        "{}",
        f.message
    );
    let (pid, helper) = (read_pid(&pid_file), read_pid(&child_file));
    assert!(
        gone_within(pid, WAIT),
        "the provider process {pid} is still running"
    );
    assert!(
        gone_within(helper, WAIT),
        "its helper {helper} is still running"
    );
}

#[test]
fn exec_provider_silence_and_output_limits() {
    let t = Tmp::new("exec-limits");
    // Prints once, then stays silent.
    let cmd = t.script("quiet.sh", "echo started >&2\nexec sleep 30");
    let config = format!(
        r#"{{ secrets: {{ providers: {{ v: {{ source: "exec", command: "{}", timeoutMs: 20000, noOutputTimeoutMs: 200 }} }} }},
  skills: {{ entries: {{ a: {{ apiKey: {{ source: "exec", provider: "v", id: "k" }} }} }} }} }}"#,
        cmd.display()
    );
    let start = Instant::now();
    let f = only_failure(resolve(&t, &config, &t.env()));
    assert!(start.elapsed() < WAIT);
    assert!(
        f.message
            .contains("printed nothing for noOutputTimeoutMs (200 ms)"),
        "{}",
        f.message
    );
    // Floods stdout.
    t.script(
        "quiet.sh",
        "while :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done",
    );
    let config = config.replace("noOutputTimeoutMs: 200", "maxOutputBytes: 4096");
    let f = only_failure(resolve(&t, &config, &t.env()));
    assert!(
        f.message
            .contains("printed more than maxOutputBytes (4096)"),
        "{}",
        f.message
    );
}

// ---------------------------------------------------------------------------------------------
// activity, start-up, .env

#[test]
fn refs_the_gateway_does_not_use_only_warn() {
    let t = Tmp::new("inactive");
    let config = r#"{
  gateway: { remote: { token: { source: "env", provider: "default", id: "REMOTE_ONLY" } } },
  skills: { entries: { off: { enabled: false, apiKey: { source: "env", provider: "default", id: "OFF_KEY" } } } },
}"#;
    let s = resolve(&t, config, &t.env()).expect("warnings only");
    assert_eq!(s.resolved(), 0);
    let w: Vec<String> = s.warnings().iter().map(|w| w.key.to_string()).collect();
    assert_eq!(w, ["env:default:OFF_KEY", "env:default:REMOTE_ONLY"]);
}

fn start_opts(t: &Tmp) -> StartOptions {
    StartOptions {
        cwd: t.0.clone(),
        ..StartOptions::default()
    }
}

#[test]
fn startup_refuses_listing_every_failed_ref() {
    let t = Tmp::new("startup-refused");
    let cmd = t.script("p.sh", "exit 7");
    let config = format!(
        r#"{{
  gateway: {{ mode: "local", auth: {{ mode: "token", token: {{ source: "exec", provider: "vault", id: "gw" }} }} }},
  secrets: {{ providers: {{ vault: {{ source: "exec", command: "{}" }} }} }},
  skills: {{ entries: {{ a: {{ apiKey: {{ source: "env", provider: "default", id: "UNSET_KEY" }} }} }} }},
}}"#,
        cmd.display()
    );
    t.write("openclaw.json", &config, 0o600);
    match startup::prepare(&start_opts(&t), &t.env()) {
        Err(StartError::Refused { code, message }) => {
            assert_eq!(code, startup::EXIT_CONFIG);
            assert!(
                message.starts_with(
                    "Gateway failed to start: 2 SecretRef(s) could not be resolved:\n"
                ),
                "{message}"
            );
            assert!(
                message.contains("  × env:default:UNSET_KEY (used at skills.entries.a.apiKey ["),
                "{message}"
            );
            assert!(message.contains("openclaw.json:4:"), "{message}");
            assert!(
                message.contains("  × exec:vault:gw (used at gateway.auth.token ["),
                "{message}"
            );
            assert!(message.contains("openclaw.json:2:"), "{message}");
            assert!(message.contains("exited with code 7"), "{message}");
            assert!(message.contains("    help: "), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Fixed: the token comes from the provider.
    t.script(
        "p.sh",
        r#"printf '%s' '{"protocolVersion":1,"values":{"gw":"exec-token"}}'"#,
    );
    let mut env = t.env();
    env.0.insert("UNSET_KEY".into(), "now-set".into());
    let p = startup::prepare(&start_opts(&t), &env).expect("starts");
    assert_eq!(p.settings.auth.token.as_deref(), Some("exec-token"));
    assert_eq!(
        p.settings.config.secrets.get("skills.entries.a.apiKey"),
        Some("now-set")
    );
    // A --token flag beats the ref (and the ref is still resolved).
    let mut o = start_opts(&t);
    o.token = Some("flag-token".into());
    let p = startup::prepare(&o, &env).expect("starts");
    assert_eq!(p.settings.auth.token.as_deref(), Some("flag-token"));
    assert_eq!(p.settings.config.secrets.applied().count(), 0);
}

#[test]
fn dotenv_files_layer_under_the_process_env() {
    let t = Tmp::new("dotenv");
    std::fs::create_dir_all(t.path("state")).expect("state dir");
    // ./.env beats the state dir's .env, which beats the config's env block; the process env beats
    // them all. A bad line is reported, not fatal.
    t.write(".env", "CWD_ONLY=cwd\nSHARED=cwd\nnot a line\n", 0o600);
    t.write(
        "state/.env",
        "SHARED=state\nSTATE_ONLY=state\nPROC=state\n",
        0o600,
    );
    t.write(
        "openclaw.json",
        r#"{
  gateway: { mode: "local", auth: { mode: "token", token: { source: "env", provider: "default", id: "STATE_ONLY" } } },
  env: { CONFIG_ONLY: "config", SHARED: "config", vars: { PROC: "config" } },
  skills: { entries: {
    a: { apiKey: { source: "env", provider: "default", id: "CWD_ONLY" } },
    b: { apiKey: { source: "env", provider: "default", id: "SHARED" } },
    c: { apiKey: { source: "env", provider: "default", id: "CONFIG_ONLY" } },
    d: { apiKey: { source: "env", provider: "default", id: "PROC" } },
  } },
}"#,
        0o600,
    );
    let mut env = t.env();
    env.0.insert("PROC".into(), "process".into());
    let p = startup::prepare(&start_opts(&t), &env).expect("starts");
    let s = &p.settings.config.secrets;
    assert_eq!(p.settings.auth.token.as_deref(), Some("state"));
    assert_eq!(s.get("skills.entries.a.apiKey"), Some("cwd"));
    assert_eq!(s.get("skills.entries.b.apiKey"), Some("cwd"));
    assert_eq!(s.get("skills.entries.c.apiKey"), Some("config"));
    assert_eq!(s.get("skills.entries.d.apiKey"), Some("process"));
    assert!(
        p.notes
            .iter()
            .any(|n| n.ends_with(".env:3: expected KEY=VALUE; line skipped")),
        "{:?}",
        p.notes
    );
    // OPENCLAW_GATEWAY_TOKEN from the state dir's .env is the token when the config has none.
    t.write("state/.env", "OPENCLAW_GATEWAY_TOKEN=from-dotenv\n", 0o600);
    t.write("openclaw.json", r#"{ gateway: { mode: "local" } }"#, 0o600);
    let p = startup::prepare(&start_opts(&t), &t.env()).expect("starts");
    assert_eq!(p.settings.auth.token.as_deref(), Some("from-dotenv"));
}

// ---------------------------------------------------------------------------------------------
// secrets.reload over a real connection

async fn next(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("connection open")
            .expect("frame");
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).expect("JSON frame");
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

/// Connects with a token; returns the socket and the connect response.
async fn connect(port: u16, token: &str) -> (Ws, Value) {
    let (mut ws, _) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}")),
    )
    .await
    .expect("connect in time")
    .expect("connect");
    let challenge = next(&mut ws).await;
    assert_eq!(challenge["event"], "connect.challenge");
    send(
        &mut ws,
        json!({
            "type": "req", "id": "c1", "method": "connect",
            "params": {
                "minProtocol": 4, "maxProtocol": 4,
                "client": { "id": "test", "version": "1", "platform": "linux", "mode": "backend" },
                "role": "operator", "scopes": ["operator.admin"], "auth": { "token": token },
            }
        }),
    )
    .await;
    loop {
        let f = next(&mut ws).await;
        if f["type"] == "res" {
            return (ws, f);
        }
    }
}

async fn call(ws: &mut Ws, id: &str, method: &str) -> Value {
    send(
        ws,
        json!({ "type": "req", "id": id, "method": method, "params": {} }),
    )
    .await;
    loop {
        let f = next(ws).await;
        if f["type"] == "res" && f["id"] == id {
            return f;
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_gateway(t: &Tmp) -> Running {
    let env = t.env();
    let opts = start_opts(t);
    let prepared = startup::prepare(&opts, &env).expect("valid start-up config");
    let listeners: Vec<tokio::net::TcpListener> = startup::bind_all(&prepared.addrs)
        .expect("bind")
        .into_iter()
        .map(|l| tokio::net::TcpListener::from_std(l).expect("tokio listener"))
        .collect();
    let reloader = Arc::new(Reloader::new(opts, prepared.runtime_token, Arc::new(env)));
    gateway::serve_with_reload(
        prepared.settings,
        listeners,
        CancellationToken::new(),
        reloader,
    )
    .expect("serve")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_reload_swaps_all_or_nothing() {
    let t = Tmp::new("reload");
    let port = free_port();
    let token_file = t.write("token.json", r#"{"gateway":"first-token"}"#, 0o600);
    let cmd = t.script(
        "p.sh",
        r#"printf '%s' '{"protocolVersion":1,"values":{"k":"key-1"}}'"#,
    );
    t.write(
        "openclaw.json",
        &format!(
            r#"{{
  gateway: {{ mode: "local", port: {port}, auth: {{ mode: "token", token: {{ source: "file", provider: "f", id: "/gateway" }} }} }},
  secrets: {{ providers: {{
    f: {{ source: "file", path: "{}" }},
    x: {{ source: "exec", command: "{}" }},
  }} }},
  skills: {{ entries: {{ a: {{ apiKey: {{ source: "exec", provider: "x", id: "k" }} }} }} }},
}}"#,
            token_file.display(),
            cmd.display()
        ),
        0o600,
    );
    let running = start_gateway(&t).await;
    let g = running.gateway.clone();
    assert_eq!(g.settings().auth.token.as_deref(), Some("first-token"));
    let (mut ws, hello) = connect(port, "first-token").await;
    assert_eq!(hello["ok"], true, "{hello}");

    // Rotate both secrets, reload: both swap, the new token admits new clients, the old does not,
    // and the connected client stays connected.
    t.write("token.json", r#"{"gateway":"second-token"}"#, 0o600);
    t.script(
        "p.sh",
        r#"printf '%s' '{"protocolVersion":1,"values":{"k":"key-2"}}'"#,
    );
    let r = call(&mut ws, "r1", "secrets.reload").await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        r["payload"],
        json!({ "ok": true, "resolved": 2, "warningCount": 0, "warnings": [] })
    );
    assert_eq!(g.settings().auth.token.as_deref(), Some("second-token"));
    assert_eq!(
        g.config().secrets.get("skills.entries.a.apiKey"),
        Some("key-2")
    );
    let (_, refused) = connect(port, "first-token").await;
    assert_eq!(refused["ok"], false, "{refused}");
    let (_, admitted) = connect(port, "second-token").await;
    assert_eq!(admitted["ok"], true, "{admitted}");

    // Rotate the token again but break the exec provider: nothing swaps, the error lists the
    // failure, and the second token stays in force.
    t.write("token.json", r#"{"gateway":"third-token"}"#, 0o600);
    t.script("p.sh", "echo 'backend down' >&2\nexit 2");
    let r = call(&mut ws, "r2", "secrets.reload").await;
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["error"]["code"], "UNAVAILABLE");
    let failures = r["error"]["details"]["failures"]
        .as_array()
        .expect("failures");
    assert_eq!(failures.len(), 1, "{r}");
    assert_eq!(failures[0]["ref"], "exec:x:k");
    assert_eq!(failures[0]["paths"], json!(["skills.entries.a.apiKey"]));
    assert!(
        failures[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("exited with code 2 (stderr: backend down)")),
        "{r}"
    );
    assert!(
        failures[0]["at"][0]
            .as_str()
            .is_some_and(|a| a.ends_with("openclaw.json:7:37")),
        "{r}"
    );
    assert_eq!(g.settings().auth.token.as_deref(), Some("second-token"));
    assert_eq!(
        g.config().secrets.get("skills.entries.a.apiKey"),
        Some("key-2")
    );
    let (_, still) = connect(port, "second-token").await;
    assert_eq!(still["ok"], true, "{still}");
    let (_, not_yet) = connect(port, "third-token").await;
    assert_eq!(not_yet["ok"], false, "{not_yet}");

    running.stop(Duration::from_millis(300)).await;
}
