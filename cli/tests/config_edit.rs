//! End-to-end tests of `openclaw config set | unset | patch` through the real binary: comments and
//! layout survive, invalid results are refused with `config validate`'s diagnostics, `--dry-run`
//! writes nothing, permissions and the `.bak` backup, no-ops, the `--json` shape, what a running
//! gateway is said to do, and a crash test that SIGKILLs writers at random moments.
//!
//! Every run execs the binary with a cleared environment and a fresh temporary `HOME`, like
//! `tests/cli.rs`.

mod support;

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use support::{BIN, mode, regex_escape};

/// A hand-written config with comments of every kind, valid against the schema.
const CONFIG: &str = r#"// My OpenClaw config (hand-written).
{
  // Where the gateway listens.
  gateway: {
    mode: "local", // this machine
    port: 18789,
    /* loopback only, for now */
    bind: "loopback",
  },
  logging: {
    level: "info", // debug when chasing a bug
  },
  // The end.
}
"#;

/// A unique temporary directory holding `HOME`, removed on drop.
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
        let root = tmp.join(format!("ocrs-edit-test-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let home = root.join("home");
        std::fs::create_dir_all(&home).expect("create temp HOME");
        Sandbox { root, home }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .current_dir(&self.root)
            .arg("--no-color");
        c
    }

    fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.cmd().args(args), None)
    }

    fn run_stdin<I, S>(&self, args: I, stdin: &str) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.cmd().args(args), Some(stdin))
    }

    fn dir(&self) -> PathBuf {
        self.home.join(".openclaw")
    }

    fn config(&self) -> PathBuf {
        self.dir().join("openclaw.json")
    }

    fn backup(&self) -> PathBuf {
        self.dir().join("openclaw.json.bak")
    }

    fn write_config(&self, text: &str) -> PathBuf {
        std::fs::create_dir_all(self.dir()).expect("create ~/.openclaw");
        std::fs::write(self.config(), text).expect("write config");
        self.config()
    }

    fn read_config(&self) -> String {
        std::fs::read_to_string(self.config()).expect("read config")
    }

    /// A run file saying a gateway runs as `pid` with this sandbox's config.
    fn fake_gateway(&self, pid: u32, config: &Path) {
        let info = serde_json::json!({
            "pid": pid,
            "port": 18789,
            "bind": "loopback",
            "listen": ["127.0.0.1:18789"],
            "configPath": config.display().to_string(),
            "logFile": "/tmp/openclaw/x.log",
            "startedAtMs": 1,
            "version": "test",
        });
        std::fs::write(self.dir().join("gateway.run.json"), info.to_string()).expect("run file");
    }

    /// Names in `~/.openclaw` besides the config, its backup and the run file.
    fn stray_files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir())
            .expect("read dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                !["openclaw.json", "openclaw.json.bak", "gateway.run.json"].contains(&n.as_str())
            })
            .collect();
        v.sort();
        v
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

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command, stdin: Option<&str>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn openclaw");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for openclaw");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    let Some(code) = out.status.code() else {
        panic!("openclaw was killed by a signal: {cmd:?}\nstderr:\n{stderr}");
    };
    assert!(
        code != 101 && !stderr.contains("panicked"),
        "openclaw panicked: {cmd:?}\nstderr:\n{stderr}"
    );
    Run {
        code,
        stdout,
        stderr,
    }
}

impl Run {
    fn transcript(&self) -> String {
        format!(
            "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "{}", self.transcript());
        self
    }
}

/// Every comment of the hand-written config.
fn comments(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(i) = line.find("//") {
            out.push(&line[i..]);
        }
        if let (Some(s), Some(e)) = (line.find("/*"), line.find("*/")) {
            out.push(&line[s..e + 2]);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// set / unset / patch on a commented file

#[test]
fn set_changes_only_the_value() {
    let sb = Sandbox::new("set");
    sb.write_config(CONFIG);
    let r = sb.run(["config", "set", "gateway.port", "19001"]).ok();
    assert_eq!(
        r.stdout,
        "Updated gateway.port in ~/.openclaw/openclaw.json (backup: openclaw.json.bak).\n\
         No gateway is running; the change takes effect when one starts.\n"
    );
    assert_eq!(sb.read_config(), CONFIG.replace("18789", "19001"));
    assert_eq!(
        std::fs::read_to_string(sb.backup()).expect("backup"),
        CONFIG
    );
    assert_eq!(sb.stray_files(), Vec::<String>::new());
}

#[test]
fn set_new_keys_keeps_every_comment() {
    let sb = Sandbox::new("set-new");
    sb.write_config(CONFIG);
    sb.run(["config", "set", "gateway.reload.mode", "hot"]).ok();
    sb.run(["config", "set", "logging.file", "/tmp/openclaw/custom.log"])
        .ok();
    let text = sb.read_config();
    for c in comments(CONFIG) {
        assert!(text.contains(c), "comment {c:?} lost:\n{text}");
    }
    assert_eq!(
        text,
        CONFIG
            .replace(
                "    bind: \"loopback\",\n",
                "    bind: \"loopback\",\n    reload: {\n      mode: \"hot\",\n    },\n"
            )
            .replace(
                "    level: \"info\", // debug when chasing a bug\n",
                "    level: \"info\", // debug when chasing a bug\n    file: \"/tmp/openclaw/custom.log\",\n"
            )
    );
}

#[test]
fn unset_removes_the_line_only() {
    let sb = Sandbox::new("unset");
    sb.write_config(CONFIG);
    let r = sb.run(["config", "unset", "gateway.bind"]).ok();
    assert!(
        r.stdout.starts_with(
            "Removed gateway.bind from ~/.openclaw/openclaw.json (backup: openclaw.json.bak).\n"
        ),
        "{}",
        r.transcript()
    );
    assert_eq!(
        sb.read_config(),
        CONFIG.replace("    bind: \"loopback\",\n", "")
    );
    // Again: nothing left to remove.
    let r = sb.run(["config", "unset", "gateway.bind"]).ok();
    assert_eq!(
        r.stdout,
        "No change: gateway.bind is not set in ~/.openclaw/openclaw.json; nothing was written.\n"
    );
}

#[test]
fn patch_from_file_and_stdin() {
    let sb = Sandbox::new("patch");
    sb.write_config(CONFIG);
    let patch = sb.root.join("patch.json5");
    std::fs::write(
        &patch,
        "// raise logging, drop bind\n{ logging: { level: 'debug' }, gateway: { bind: null } }\n",
    )
    .expect("patch file");
    let r = sb
        .run([
            "config",
            "patch",
            "--file",
            patch.to_str().expect("utf-8 path"),
        ])
        .ok();
    assert!(
        r.stdout.starts_with(
            "Updated gateway.bind and logging.level in ~/.openclaw/openclaw.json (backup: openclaw.json.bak).\n"
        ),
        "{}",
        r.transcript()
    );
    let expected = CONFIG
        .replace("    bind: \"loopback\",\n", "")
        .replace("level: \"info\"", "level: \"debug\"");
    assert_eq!(sb.read_config(), expected);
    let r = sb
        .run_stdin(
            ["config", "patch", "--file", "-"],
            r#"{"gateway": {"port": 19002}}"#,
        )
        .ok();
    assert!(
        r.stdout.starts_with("Updated gateway.port in"),
        "{}",
        r.transcript()
    );
    assert_eq!(sb.read_config(), expected.replace("18789", "19002"));
    // Not an object: a usage error.
    let r = sb.run_stdin(["config", "patch", "--file", "-"], "[1]");
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(r.stderr.contains("must be a JSON5 object"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// Refusals, dry runs, no-ops

#[test]
fn invalid_result_is_refused_with_diagnostics() {
    let sb = Sandbox::new("invalid");
    sb.write_config(CONFIG);
    let r = sb.run(["config", "set", "gateway.port", "\"eighty\""]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    sb.snapshot_settings(|| insta::assert_snapshot!("set_invalid_value", r.transcript()));
    assert_eq!(sb.read_config(), CONFIG, "the file must be untouched");
    assert!(!sb.backup().exists(), "no backup for a refused edit");
    assert_eq!(sb.stray_files(), Vec::<String>::new());

    // An unknown key is refused the same way, with a did-you-mean.
    let r = sb.run(["config", "set", "gateway.prot", "1"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stderr.contains("Unrecognized key: \"prot\"")
            && r.stderr.contains("did you mean \"port\"?"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.read_config(), CONFIG);

    // --json carries the issues.
    let r = sb.run(["config", "set", "gateway.port", "\"eighty\"", "--json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["type"], "invalid_result");
    assert_eq!(v["issues"][0]["path"], "gateway.port");
    assert_eq!(v["issues"][0]["line"], 6);
    assert_eq!(sb.read_config(), CONFIG);
}

#[test]
fn edit_errors_say_where_and_exit_codes_match() {
    let sb = Sandbox::new("errors");
    sb.write_config(CONFIG);
    let r = sb.run(["config", "set", "gateway.port.x", "1"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(
        r.stderr,
        "Cannot edit ~/.openclaw/openclaw.json: gateway.port: cannot set a key inside a number (at line 6, column 11) — set gateway.port itself to an object first, or unset it\n"
    );
    let r = sb.run(["config", "set", "gateway..port", "1"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    let r = sb.run(["config", "set", "gateway.port", "x1", "--strict-json"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(
        r.stderr
            .starts_with("--strict-json: the value is not valid JSON"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.read_config(), CONFIG);

    // A file that does not parse: the edit error plus validate's diagnostics.
    let broken = "{\n  gateway: { port: 1 }\n  logging: {}\n}\n";
    sb.write_config(broken);
    let r = sb.run(["config", "set", "gateway.port", "2"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(r.stderr.contains("not valid JSON5"), "{}", r.stderr);
    assert!(r.stderr.contains("openclaw.json:3"), "{}", r.stderr);
    assert_eq!(sb.read_config(), broken);
}

#[test]
fn include_subtrees_are_refused() {
    let sb = Sandbox::new("include");
    sb.write_config("{\n  $include: \"./base.json5\",\n  gateway: { port: 18789 },\n}\n");
    std::fs::write(
        sb.dir().join("base.json5"),
        "{ gateway: { mode: \"local\" }, logging: { level: \"info\" } }\n",
    )
    .expect("base");
    // Own keys can change (they win over the include) …
    sb.run(["config", "set", "gateway.port", "19001"]).ok();
    // … included ones cannot, through this file.
    let r = sb.run(["config", "set", "logging.level", "debug"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stderr
            .contains("takes its content from `$include` \"./base.json5\""),
        "{}",
        r.stderr
    );
}

#[test]
fn dry_run_writes_nothing() {
    let sb = Sandbox::new("dry");
    sb.write_config(CONFIG);
    let r = sb
        .run(["config", "set", "logging.level", "debug", "--dry-run"])
        .ok();
    assert_eq!(
        r.stdout,
        "--- ~/.openclaw/openclaw.json\n\
         +++ ~/.openclaw/openclaw.json (edited)\n\
         @@ -9,5 +9,5 @@\n   },\n   logging: {\n\
         -    level: \"info\", // debug when chasing a bug\n\
         +    level: \"debug\", // debug when chasing a bug\n   },\n   // The end.\n\
         Dry run: would update logging.level in ~/.openclaw/openclaw.json; nothing was written.\n\
         No gateway is running; the change takes effect when one starts.\n"
    );
    assert_eq!(sb.read_config(), CONFIG);
    assert!(!sb.backup().exists());
    let v = sb
        .run(["config", "unset", "gateway.bind", "--dry-run", "--json"])
        .ok()
        .json();
    assert_eq!(v["wrote"], false);
    assert_eq!(v["dryRun"], true);
    assert_eq!(v["changedPaths"], serde_json::json!(["gateway.bind"]));
    assert_eq!(sb.read_config(), CONFIG);
}

#[test]
fn no_op_writes_nothing() {
    let sb = Sandbox::new("noop");
    let path = sb.write_config(CONFIG);
    let before = std::fs::metadata(&path)
        .expect("meta")
        .modified()
        .expect("mtime");
    let r = sb.run(["config", "set", "gateway.port", "18789"]).ok();
    assert_eq!(
        r.stdout,
        "No change: gateway.port already has that value in ~/.openclaw/openclaw.json; nothing was written.\n"
    );
    let v = sb
        .run(["config", "set", "gateway.port", "18789", "--json"])
        .ok()
        .json();
    assert_eq!(v["wrote"], false);
    assert_eq!(v["changedPaths"], serde_json::json!([]));
    assert_eq!(sb.read_config(), CONFIG);
    assert!(!sb.backup().exists());
    let after = std::fs::metadata(&path)
        .expect("meta")
        .modified()
        .expect("mtime");
    assert_eq!(before, after);
}

// ---------------------------------------------------------------------------------------------
// Files: permissions, backup, first write, JSON shape

#[test]
fn permissions_are_kept_and_one_backup_is_written() {
    let sb = Sandbox::new("perms");
    let path = sb.write_config(CONFIG);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    sb.run(["config", "set", "gateway.port", "19001"]).ok();
    assert_eq!(mode(&path), 0o640);
    assert_eq!(std::fs::read_to_string(sb.backup()).expect("bak"), CONFIG);
    sb.run(["config", "set", "gateway.port", "19002"]).ok();
    assert_eq!(mode(&path), 0o640);
    assert_eq!(
        std::fs::read_to_string(sb.backup()).expect("bak"),
        CONFIG.replace("18789", "19001"),
        "the backup holds the contents just before the last write"
    );
    assert_eq!(sb.stray_files(), Vec::<String>::new());
}

#[test]
fn first_set_creates_the_file_0600() {
    let sb = Sandbox::new("fresh");
    let r = sb.run(["config", "set", "gateway.mode", "local"]).ok();
    assert_eq!(
        r.stdout,
        "Created ~/.openclaw/openclaw.json with gateway.mode.\n\
         No gateway is running; the change takes effect when one starts.\n"
    );
    assert_eq!(
        sb.read_config(),
        "{\n  \"gateway\": {\n    \"mode\": \"local\"\n  }\n}\n"
    );
    assert_eq!(mode(&sb.config()), 0o600);
    assert!(!sb.backup().exists());
    // unset on a missing file is a no-op, not an error.
    let sb = Sandbox::new("fresh-unset");
    let r = sb.run(["config", "unset", "gateway.mode"]).ok();
    assert!(r.stdout.starts_with("No change:"), "{}", r.transcript());
    assert!(!sb.config().exists());
}

#[test]
fn crlf_and_byte_order_mark_are_kept() {
    let sb = Sandbox::new("crlf-bom");
    let text = format!("\u{feff}{}", CONFIG.replace('\n', "\r\n"));
    sb.write_config(&text);
    sb.run(["config", "set", "gateway.reload.mode", "hot"]).ok();
    assert_eq!(
        sb.read_config(),
        text.replace(
            "    bind: \"loopback\",\r\n",
            "    bind: \"loopback\",\r\n    reload: {\r\n      mode: \"hot\",\r\n    },\r\n"
        )
    );
}

#[test]
fn malformed_object_values_are_not_taken_as_text() {
    let sb = Sandbox::new("malformed");
    sb.write_config(CONFIG);
    let r = sb.run(["config", "set", "gateway.reload", "{mode: hot}"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(
        r.stderr
            .starts_with("The value looks like an object or a list but is not valid JSON5"),
        "{}",
        r.stderr
    );
    // Plain words are text.
    sb.run(["config", "set", "logging.level", "debug"]).ok();
    assert!(sb.read_config().contains("level: \"debug\""));
    assert_eq!(
        sb.run(["config", "set", "logging.level", "'warn'"])
            .ok()
            .code,
        0
    );
    assert!(sb.read_config().contains("level: \"warn\""));
}

#[test]
fn symlinked_config_is_written_through() {
    let sb = Sandbox::new("symlink");
    let real = sb.root.join("dotfiles").join("openclaw.json5");
    std::fs::create_dir_all(real.parent().expect("parent")).expect("mkdir");
    std::fs::write(&real, CONFIG).expect("real config");
    std::fs::create_dir_all(sb.dir()).expect("mkdir");
    std::os::unix::fs::symlink(&real, sb.config()).expect("symlink");
    sb.run(["config", "set", "gateway.port", "19001"]).ok();
    assert!(
        std::fs::symlink_metadata(sb.config())
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&real).expect("real"),
        CONFIG.replace("18789", "19001")
    );
    assert_eq!(
        std::fs::read_to_string(real.with_file_name("openclaw.json5.bak")).expect("bak"),
        CONFIG
    );
}

#[test]
fn json_output_shape() {
    let sb = Sandbox::new("json");
    sb.write_config(CONFIG);
    let r = sb
        .run(["config", "set", "gateway.port", "19001", "--json"])
        .ok();
    sb.snapshot_settings(|| insta::assert_snapshot!("set_json", r.stdout));
    let patch = r#"{"logging": {"level": "debug"}, "gateway": {"reload": {"mode": "hot"}}}"#;
    let r = sb
        .run_stdin(["config", "patch", "--file", "-", "--json"], patch)
        .ok();
    sb.snapshot_settings(|| insta::assert_snapshot!("patch_json", r.stdout));
}

// ---------------------------------------------------------------------------------------------
// What a running gateway does

#[test]
fn running_gateway_plan_follows_reload_mode() {
    let sb = Sandbox::new("plan");
    let path = sb.write_config(CONFIG);
    // This test process stands in for the gateway: its pid is alive.
    let pid = std::process::id();
    sb.fake_gateway(pid, &path);
    let r = sb.run(["config", "set", "gateway.port", "19001"]).ok();
    assert!(
        r.stdout.ends_with(&format!(
            "A running gateway (pid {pid}) will restart to apply: gateway.port\n"
        )),
        "{}",
        r.transcript()
    );
    let r = sb.run(["config", "set", "logging.level", "debug"]).ok();
    assert!(
        r.stdout.ends_with(&format!(
            "A running gateway (pid {pid}) will apply at once: logging.level\n"
        )),
        "{}",
        r.transcript()
    );
    let v = sb
        .run(["config", "set", "logging.level", "warn", "--json"])
        .ok()
        .json();
    assert_eq!(v["gatewayRunning"], true);
    assert_eq!(v["plan"]["hot"], serde_json::json!(["logging.level"]));

    // hot mode: restart-class changes stay pending.
    sb.run(["config", "set", "gateway.reload.mode", "hot"]).ok();
    let r = sb.run(["config", "set", "gateway.port", "19002"]).ok();
    assert!(
        r.stdout.contains(&format!(
            "A running gateway (pid {pid}) needs a restart for: gateway.port (gateway.reload.mode is hot, so it will not restart by itself"
        )),
        "{}",
        r.transcript()
    );
    // off: nothing is applied automatically.
    let r = sb.run_stdin(
        ["config", "patch", "--file", "-"],
        r#"{"gateway": {"reload": {"mode": "off"}, "port": 19003}}"#,
    );
    assert!(
        r.stdout.contains(&format!(
            "A running gateway (pid {pid}) does not reload its config (gateway.reload.mode is off); restart it to apply: gateway.port"
        )),
        "{}",
        r.transcript()
    );
    // A run file whose process is gone means no gateway.
    sb.fake_gateway(u32::MAX - 1, &path);
    let r = sb.run(["config", "set", "gateway.port", "19004"]).ok();
    assert!(
        r.stdout
            .ends_with("No gateway is running; the change takes effect when one starts.\n"),
        "{}",
        r.transcript()
    );
}

// ---------------------------------------------------------------------------------------------
// Crash safety

/// xorshift64*: a small deterministic generator for the kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// What the config directory looks like: entry names, and the config's inode, size and mtime.
fn dir_state(
    dir: &Path,
    config: &Path,
) -> (
    Vec<std::ffi::OsString>,
    Option<(u64, u64, std::time::SystemTime)>,
) {
    use std::os::unix::fs::MetadataExt;
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    names.sort();
    let meta = std::fs::metadata(config)
        .ok()
        .and_then(|m| Some((m.ino(), m.len(), m.modified().ok()?)));
    (names, meta)
}

/// Polls until the writer starts touching the directory (a temporary appears, or the config's
/// inode, size or mtime changes), the child exits, or a deadline passes. True when a change was seen.
fn wait_for_write(dir: &Path, config: &Path, child: &mut std::process::Child) -> bool {
    let start = dir_state(dir, config);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if dir_state(dir, config) != start {
            return true;
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
    }
    false
}

/// Waits for a child that was just killed, bounded.
fn reap(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn sigkill_never_leaves_a_partial_config() {
    use std::os::unix::process::ExitStatusExt;

    let sb = Sandbox::new("crash");
    // A bigger file makes the write take longer, so kills land inside it more easily.
    let padding = format!("// {}\n", "x".repeat(96)).repeat(1500);
    let text_for = |level: &str| {
        format!(
            "{padding}{}",
            CONFIG.replace("level: \"info\"", &format!("level: \"{level}\""))
        )
    };
    let levels = ["info", "debug", "warn"];
    let versions: Vec<String> = levels.iter().map(|l| text_for(l)).collect();
    sb.write_config(&versions[0]);
    let set = |level: &str| {
        let mut c = sb.cmd();
        c.args(["config", "set", "logging.level", level])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };

    // How long one run takes, to spread the kills over its whole life.
    let mut samples = Vec::new();
    for level in ["debug", "info", "debug", "info", "debug"] {
        let start = Instant::now();
        let status = set(level).status().expect("run");
        assert!(status.success());
        samples.push(start.elapsed());
    }
    samples.sort();
    let typical = samples[samples.len() / 2];
    let window = typical.as_micros() as u64 * 13 / 10 + 1;

    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut current = 1; // "debug", from the warm-up runs
    assert_eq!(sb.read_config(), versions[current]);
    let (mut killed, mut finished) = (0, 0);
    let budget = Instant::now() + Duration::from_secs(15);
    for round in 0..200 {
        if Instant::now() > budget {
            break;
        }
        let next = (current + 1) % levels.len();
        let mut child = set(levels[next]).spawn().expect("spawn");
        if round % 2 == 0 {
            // Anywhere in the run's life.
            std::thread::sleep(Duration::from_micros(rng.next() % window));
        } else {
            // Inside the write: shortly after the first change in the directory.
            wait_for_write(&sb.dir(), &sb.config(), &mut child);
            std::thread::sleep(Duration::from_micros(rng.next() % 300));
        }
        let _ = child.kill();
        let status =
            reap(&mut child).unwrap_or_else(|| panic!("round {round}: the child did not die"));
        if status.signal() == Some(9) {
            killed += 1;
        } else {
            assert!(status.success(), "round {round}: {status:?}");
            finished += 1;
        }
        let now = std::fs::read_to_string(sb.config())
            .unwrap_or_else(|e| panic!("round {round}: the config is missing or unreadable: {e}"));
        let Some(found) = versions.iter().position(|v| *v == now) else {
            panic!(
                "round {round}: the config is neither the old nor the new version ({} bytes)",
                now.len()
            );
        };
        assert!(
            found == current || found == next,
            "round {round}: expected {} or {}, found {}",
            levels[current],
            levels[next],
            levels[found]
        );
        if let Ok(bak) = std::fs::read_to_string(sb.backup()) {
            assert!(
                versions.contains(&bak),
                "round {round}: the backup is partial ({} bytes)",
                bak.len()
            );
        }
        current = found;
    }
    eprintln!(
        "crash test: {killed} killed, {finished} finished (typical run {typical:?}); temporaries left: {}",
        sb.stray_files().len()
    );
    assert!(
        killed >= 20,
        "too few runs were actually killed ({killed}); the test proves little"
    );
    // Whatever was left behind, the file still works: one more edit goes through (a value none of
    // the rounds used, so it really writes), and it sweeps the killed writers' temporaries.
    let r = sb.run(["config", "set", "logging.level", "error"]).ok();
    assert!(
        r.stdout.starts_with("Updated logging.level"),
        "{}",
        r.transcript()
    );
    // (A temporary whose pid now belongs to a live task is left alone by design: pids wrap.)
    let pid_alive = |name: &String| {
        name.split('.')
            .nth(4)
            .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
    };
    let strays: Vec<String> = sb
        .stray_files()
        .into_iter()
        .filter(|n| !pid_alive(n))
        .collect();
    assert_eq!(strays, Vec::<String>::new());
}
