//! End-to-end tests of the `openclaw` binary: every config fixture through `config validate` in all
//! three output formats (snapshotted), plus path resolution, `config get`, `config schema`, usage
//! errors and `--help`.
//!
//! Every run execs the real binary with a cleared environment: `HOME` is a fresh temporary
//! directory, `NO_COLOR=1`, the `OCRS_TEST_*` variables of `fixtures/config/README.md`, and
//! `--no-color`. Snapshots replace the repository path with `[REPO]`, the temporary `HOME` with
//! `[HOME]` and the rest of the temporary directory with `[TMP]`.

mod support;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use support::{BIN, regex_escape};

/// The variables the fixtures expect (fixtures/config/README.md, "Environment variables").
const FIXTURE_ENV: &[(&str, &str)] = &[
    (
        "OCRS_TEST_GATEWAY_TOKEN",
        "test-gateway-token-0123456789abcdef",
    ),
    ("OCRS_TEST_OPENROUTER_KEY", "sk-or-v1-test-0000000000000000"),
    ("OCRS_TEST_HOME", "/tmp/ocrs-test-home"),
    ("OCRS_TEST_PROFILE", "fixtures"),
    ("OCRS_TEST_PORT", "19001"),
];

/// The workspace root (canonical, as the binary reports paths canonicalised).
fn repo() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("cli/ has a parent");
    root.canonicalize().expect("canonical repo path")
}

fn fixtures() -> PathBuf {
    repo().join("fixtures/config")
}

// ---------------------------------------------------------------------------------------------
// Sandbox: a temporary directory holding HOME, removed on drop.

/// A unique temporary directory: `<root>/home` is `HOME`; anything else under `<root>` is outside
/// `HOME` (for paths that must print absolute).
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
        let root = tmp.join(format!("ocrs-cli-test-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let home = root.join("home");
        std::fs::create_dir_all(&home).expect("create temp HOME");
        Sandbox { root, home }
    }

    /// The binary with a controlled environment, run in the repo root, `--no-color` first.
    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .envs(FIXTURE_ENV.iter().copied())
            .current_dir(repo())
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

    /// Writes `~/.openclaw/openclaw.json`.
    fn write_config(&self, text: &str) -> PathBuf {
        let dir = self.home.join(".openclaw");
        std::fs::create_dir_all(&dir).expect("create ~/.openclaw");
        let path = dir.join("openclaw.json");
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// insta filters: the temporary HOME, the rest of the sandbox, the repository.
    fn filters(&self) -> Vec<(String, &'static str)> {
        vec![
            (regex_escape(&self.home.display().to_string()), "[HOME]"),
            (regex_escape(&self.root.display().to_string()), "[TMP]"),
            (regex_escape(&repo().display().to_string()), "[REPO]"),
        ]
    }

    /// Runs `f` with the sandbox's filters installed for every insta assertion in it.
    fn snapshot_settings<R>(&self, description: &str, f: impl FnOnce() -> R) -> R {
        let mut settings = insta::Settings::clone_current();
        for (pattern, replacement) in self.filters() {
            settings.add_filter(&pattern, replacement);
        }
        settings.set_description(description);
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
// Running the binary.

/// One finished run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("spawn openclaw");
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
    /// Exit code, stdout and stderr in one text, for snapshots.
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
}

// ---------------------------------------------------------------------------------------------
// Positions: recomputing line/column from a byte offset.

/// 1-based line and character column of a byte offset; lines end at `\n`, `\r\n` or `\r`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    let mut chars = text[..offset].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                line += 1;
                column = 1;
            }
            _ => column += 1,
        }
    }
    (line, column)
}

/// The text a span offset indexes: the file decoded as UTF-8 with its leading byte-order mark(s)
/// dropped, exactly as the loader reads it.
fn decoded_text(path: &Path) -> String {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.trim_start_matches('\u{feff}').to_string()
}

/// Checks the location fields of one JSON issue; returns the problems found.
fn check_location(fixture: &Path, what: &str, issue: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut bad = |m: String| problems.push(format!("{}: {what}: {m}", fixture.display()));
    let line = issue["line"].as_u64();
    let column = issue["column"].as_u64();
    match (line, column) {
        (Some(l), Some(c)) if l >= 1 && c >= 1 => {}
        _ => bad(format!(
            "line/column must be integers >= 1, got {} / {}",
            issue["line"], issue["column"]
        )),
    }
    let (Some(offset), Some(length)) = (
        issue["span"]["offset"].as_u64(),
        issue["span"]["length"].as_u64(),
    ) else {
        bad(format!("no span offset/length: {}", issue["span"]));
        return problems;
    };
    let Some(file) = issue["file"].as_str().map(PathBuf::from) else {
        bad(format!("no file: {}", issue["file"]));
        return problems;
    };
    if !file.is_file() {
        bad(format!("file {} does not exist", file.display()));
        return problems;
    }
    let text = decoded_text(&file);
    let (offset, length) = (offset as usize, length as usize);
    if offset + length > text.len() {
        bad(format!(
            "span {offset}+{length} runs past the end of {} ({} bytes)",
            file.display(),
            text.len()
        ));
        return problems;
    }
    if !text.is_char_boundary(offset) || !text.is_char_boundary(offset + length) {
        bad(format!("span {offset}+{length} splits a character"));
        return problems;
    }
    // The brief asks for the exact check on the fixture itself; included files get it too.
    let (l, c) = line_col(&text, offset);
    if (Some(l as u64), Some(c as u64)) != (line, column) {
        bad(format!(
            "span offset {offset} is at {l}:{c} in {}, but the issue says {}:{}",
            file.display(),
            issue["line"],
            issue["column"]
        ));
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// Fixtures through `config validate`.

/// The fixture as the command line names it: relative to the repo root (the working directory).
fn relative(path: &Path) -> String {
    path.strip_prefix(repo())
        .expect("fixture under the repo")
        .display()
        .to_string()
}

/// Validates one fixture in text, JSON and GitHub formats and snapshots all three.
/// Returns (text run, parsed JSON, github run).
fn validate_fixture(kind: &str, path: &Path) -> (Run, Value, Run) {
    let sb = Sandbox::new("fixture");
    let rel = relative(path);

    let text = sb.run(["config", "validate", &rel]);
    let json_run = sb.run(["config", "validate", "--json", &rel]);
    let github = sb.run(["config", "validate", "--format", "github", &rel]);
    let json = json_run.json();
    assert_eq!(
        json_run.stderr, "",
        "{rel}: --json writes nothing to stderr"
    );
    assert_eq!(
        json_run.code, text.code,
        "{rel}: --json exits like the text form"
    );
    assert_eq!(
        github.code, text.code,
        "{rel}: --format github exits like the text form"
    );

    sb.snapshot_settings(
        &format!("openclaw --no-color config validate {rel}"),
        || insta::assert_snapshot!(format!("{kind}_text"), text.transcript()),
    );
    sb.snapshot_settings(
        &format!("openclaw --no-color config validate --json {rel}"),
        || insta::assert_json_snapshot!(format!("{kind}_json"), json),
    );
    sb.snapshot_settings(
        &format!("openclaw --no-color config validate --format github {rel}"),
        || insta::assert_snapshot!(format!("{kind}_github"), github.transcript()),
    );
    (text, json, github)
}

#[test]
fn valid_fixtures() {
    let mut problems = Vec::new();
    let mut count = 0;
    insta::glob!("../../fixtures/config", "valid/*.json5", |path| {
        count += 1;
        let (text, json, github) = validate_fixture("valid", path);
        let rel = relative(path);
        let mut bad = |m: String| problems.push(format!("{rel}: {m}"));
        if text.code != 0 {
            bad(format!("exit code {} (want 0)", text.code));
        }
        if !text.stdout.starts_with("Config valid: ") || !text.stderr.is_empty() {
            bad("text form must say `Config valid: …` on stdout only".into());
        }
        if json["valid"] != Value::Bool(true) {
            bad(format!("JSON has \"valid\": {} (want true)", json["valid"]));
        }
        if json.get("issues").is_some() {
            bad("JSON of a valid config has `issues`".into());
        }
        let warnings = json["warnings"].as_array().cloned().unwrap_or_default();
        for (i, w) in warnings.iter().enumerate() {
            problems.extend(check_location(path, &format!("warnings[{i}]"), w));
        }
        let annotations = github
            .stdout
            .lines()
            .filter(|l| l.starts_with("::"))
            .count();
        let warning_lines = github
            .stdout
            .lines()
            .filter(|l| l.starts_with("::warning "))
            .count();
        if annotations != warnings.len() || warning_lines != warnings.len() {
            problems.push(format!(
                "{rel}: github output has {annotations} annotation(s), want {} ::warning",
                warnings.len()
            ));
        }
    });
    assert!(count >= 10, "only {count} valid fixtures found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn invalid_fixtures() {
    let mut problems = Vec::new();
    let mut count = 0;
    insta::glob!("../../fixtures/config", "invalid/*.json5", |path| {
        count += 1;
        let (text, json, github) = validate_fixture("invalid", path);
        let rel = relative(path);
        let mut bad = |m: String| problems.push(format!("{rel}: {m}"));
        if text.code != 1 {
            bad(format!("exit code {} (want 1)", text.code));
        }
        if !text.stdout.is_empty() || !text.stderr.starts_with("OpenClaw config is invalid: ") {
            bad("text form must say `OpenClaw config is invalid: …` on stderr only".into());
        }
        if json["valid"] != Value::Bool(false) || json["ok"] != Value::Bool(false) {
            bad(format!(
                "JSON has \"valid\": {}, \"ok\": {} (want false, false)",
                json["valid"], json["ok"]
            ));
        }
        let issues = json["issues"].as_array().cloned().unwrap_or_default();
        if issues.is_empty() {
            bad("JSON has no issues".into());
        }
        // The one-problem rule: several lines are allowed only when they name the same key.
        let paths: std::collections::BTreeSet<&str> =
            issues.iter().filter_map(|i| i["path"].as_str()).collect();
        if paths.len() > 1 {
            bad(format!("issues name several paths: {paths:?}"));
        }
        let headlines = text
            .stderr
            .lines()
            .filter(|l| l.starts_with("  × "))
            .count();
        if headlines != issues.len() {
            bad(format!(
                "text form has {headlines} `×` line(s) for {} issue(s)",
                issues.len()
            ));
        }
        let errors = github
            .stdout
            .lines()
            .filter(|l| l.starts_with("::error "))
            .count();
        if errors != issues.len() {
            bad(format!(
                "github output has {errors} ::error line(s) for {} issue(s)",
                issues.len()
            ));
        }
        for (i, issue) in issues.iter().enumerate() {
            problems.extend(check_location(path, &format!("issues[{i}]"), issue));
        }
        let warnings = json["warnings"].as_array().cloned().unwrap_or_default();
        for (i, w) in warnings.iter().enumerate() {
            problems.extend(check_location(path, &format!("warnings[{i}]"), w));
        }
    });
    assert!(count >= 10, "only {count} invalid fixtures found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Without the `OCRS_TEST_*` variables the substitution fixture is still valid; only warnings
/// appear (fixtures/config/README.md: "a useful second case").
#[test]
fn env_substitution_without_variables_only_warns() {
    let sb = Sandbox::new("noenv");
    let rel = "fixtures/config/valid/env-substitution.json5";
    let mut cmd = sb.cmd();
    for (name, _) in FIXTURE_ENV {
        cmd.env_remove(name);
    }
    let text = run(cmd.args(["config", "validate", rel]));
    assert_eq!(text.code, 0, "{}", text.transcript());
    assert!(text.stdout.contains("warning(s):"), "{}", text.transcript());

    let mut cmd = sb.cmd();
    for (name, _) in FIXTURE_ENV {
        cmd.env_remove(name);
    }
    let json = run(cmd.args(["config", "validate", "--json", rel]));
    assert_eq!(json.code, 0);
    let value = json.json();
    assert_eq!(value["valid"], Value::Bool(true));
    let warnings = value["warnings"].as_array().expect("warnings array");
    assert!(!warnings.is_empty(), "missing variables must warn");
    for (i, w) in warnings.iter().enumerate() {
        let problems = check_location(
            &fixtures().join("valid/env-substitution.json5"),
            &format!("warnings[{i}]"),
            w,
        );
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
    sb.snapshot_settings(
        &format!("openclaw --no-color config validate {rel} (no OCRS_TEST_* variables)"),
        || {
            insta::assert_snapshot!("env_substitution_without_variables", text.transcript());
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Unreadable config files.

#[test]
fn missing_config_file() {
    let sb = Sandbox::new("nofile");
    let text = sb.run(["config", "validate"]);
    assert_eq!(text.code, 1);
    assert_eq!(text.stdout, "");
    assert_eq!(
        text.stderr,
        "Config file not found: ~/.openclaw/openclaw.json\n\
         Create one with openclaw onboard or run openclaw doctor --fix.\n"
    );

    let json = sb.run(["config", "validate", "--json"]);
    assert_eq!(json.code, 1);
    assert_eq!(json.stderr, "");
    assert_eq!(
        json.stdout.lines().count(),
        1,
        "one line, as OpenClaw prints it"
    );
    let expected = serde_json::json!({
        "ok": false,
        "error": { "type": "cli_error", "message": "file not found" },
        "valid": false,
        "path": sb.home.join(".openclaw/openclaw.json").display().to_string(),
    });
    assert_eq!(json.json(), expected);

    let github = sb.run(["config", "validate", "--format", "github"]);
    assert_eq!(github.code, 1);
    assert!(
        github.stdout.starts_with("::error ") && github.stdout.contains("file not found"),
        "{}",
        github.transcript()
    );
}

#[test]
fn directory_as_config_path() {
    let sb = Sandbox::new("dir");
    let dir = sb.home.join(".openclaw/openclaw.json");
    std::fs::create_dir_all(&dir).expect("mkdir");

    // Through the resolved path and given explicitly.
    for args in [
        vec!["config", "validate"],
        vec!["config", "validate", dir.to_str().expect("UTF-8 path")],
    ] {
        let text = sb.run(&args);
        assert_eq!(text.code, 1, "{}", text.transcript());
        assert_eq!(text.stdout, "");
        assert_eq!(
            text.stderr,
            "Config validation error: ~/.openclaw/openclaw.json: is a directory, not a file\n"
        );
    }

    let json = sb.run(["config", "validate", "--json"]);
    assert_eq!(json.code, 1);
    let v = json.json();
    assert_eq!(v["valid"], Value::Bool(false));
    assert_eq!(v["error"]["message"], "is a directory, not a file");

    let github = sb.run(["config", "validate", "--format", "github"]);
    assert_eq!(github.code, 1);
    assert!(
        github.stdout.contains("is a directory"),
        "{}",
        github.transcript()
    );

    let get = sb.run(["config", "get", "gateway.port"]);
    assert_eq!(get.code, 1);
    assert_eq!(
        get.stderr,
        "Cannot read ~/.openclaw/openclaw.json: is a directory, not a file\n"
    );
}

#[test]
fn non_utf8_config_file() {
    let sb = Sandbox::new("latin1");
    let path = sb.home.join(".openclaw/openclaw.json");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    // "café" in Latin-1: the 0xE9 byte is at line 3, column 19 (offset 48).
    std::fs::write(
        &path,
        b"{\n  gateway: { port: 19011 },\n  ui: { name: \"caf\xe9\" },\n}\n",
    )
    .expect("write");

    let text = sb.run(["config", "validate"]);
    assert_eq!(text.code, 1, "{}", text.transcript());
    assert_eq!(text.stdout, "");
    assert_eq!(
        text.stderr,
        "Config validation error: ~/.openclaw/openclaw.json: not valid UTF-8 \
         (first bad byte at line 3, column 19, offset 48); save the file as UTF-8\n"
    );

    let json = sb.run(["config", "validate", "--json"]);
    assert_eq!(json.code, 1);
    let v = json.json();
    assert_eq!(v["valid"], Value::Bool(false));
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("not valid UTF-8")),
        "{v}"
    );

    let github = sb.run(["config", "validate", "--format", "github"]);
    assert_eq!(github.code, 1);
    assert!(
        github.stdout.contains("not valid UTF-8"),
        "{}",
        github.transcript()
    );

    let get = sb.run(["config", "get", "gateway.port"]);
    assert_eq!(get.code, 1);
    assert!(
        get.stderr
            .starts_with("Cannot read ~/.openclaw/openclaw.json: not valid UTF-8"),
        "{}",
        get.transcript()
    );
}

// ---------------------------------------------------------------------------------------------
// Usage errors.

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new("usage");

    let unknown = sb.run(["config", "validate", "--bogus"]);
    assert_eq!(unknown.code, 2, "{}", unknown.transcript());
    assert!(
        unknown.stderr.contains("'--bogus'"),
        "{}",
        unknown.transcript()
    );
    assert_eq!(unknown.stdout, "");

    let no_sub = sb.run(["config"]);
    assert_eq!(no_sub.code, 2, "{}", no_sub.transcript());

    let bad_format = sb.run(["config", "validate", "--format", "yaml"]);
    assert_eq!(bad_format.code, 2, "{}", bad_format.transcript());

    let both = sb.run(["config", "validate", "--json", "--format", "github"]);
    assert_eq!(both.code, 2, "{}", both.transcript());
    assert_eq!(both.stdout, "");
    assert!(
        both.stderr
            .contains("--json cannot be combined with --format"),
        "{}",
        both.transcript()
    );
    // `--json --format json` says the same thing twice: allowed.
    let same = sb.run(["config", "validate", "--json", "--format", "json"]);
    assert_eq!(same.code, 1, "{}", same.transcript());
    assert_eq!(same.json()["error"]["message"], "file not found");

    for args in [
        vec!["--dev", "--profile", "x", "config", "file"],
        vec!["--dev", "--profile", "x", "config", "validate"],
        vec!["config", "get", "gateway.port", "--dev", "--profile", "x"],
    ] {
        let r = sb.run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.transcript());
        assert_eq!(r.stdout, "", "{args:?}");
        assert_eq!(
            r.stderr, "[openclaw] Cannot combine --dev with --profile\n",
            "{args:?}"
        );
    }

    let bad_profile = sb.run(["--profile", "a b", "config", "file"]);
    assert_eq!(bad_profile.code, 2, "{}", bad_profile.transcript());
    assert!(
        bad_profile.stderr.contains("Invalid --profile"),
        "{}",
        bad_profile.transcript()
    );
}

// ---------------------------------------------------------------------------------------------
// `config file`: observed/cli/config-path-resolution.txt, row by row.

#[test]
fn config_file_path_resolution() {
    let sb = Sandbox::new("paths");
    let outside = |p: &str| sb.root.join(p).display().to_string();
    let cwd = sb.root.join("cwd");
    std::fs::create_dir_all(&cwd).expect("mkdir cwd");

    struct Row<'a> {
        env: Vec<(&'a str, String)>,
        args: &'a [&'a str],
        expected: Result<String, &'a str>,
    }
    let ok = |s: &str| Ok(format!("{s}\n"));
    let rows = [
        Row {
            env: vec![],
            args: &[],
            expected: ok("~/.openclaw/openclaw.json"),
        },
        Row {
            env: vec![],
            args: &["--dev"],
            expected: ok("~/.openclaw-dev/openclaw.json"),
        },
        Row {
            env: vec![],
            args: &["--profile", "foo"],
            expected: ok("~/.openclaw-foo/openclaw.json"),
        },
        Row {
            env: vec![],
            args: &["--profile", "default"],
            expected: ok("~/.openclaw/openclaw.json"),
        },
        Row {
            env: vec![],
            args: &["--dev", "--profile", "foo"],
            expected: Err("[openclaw] Cannot combine --dev with --profile\n"),
        },
        Row {
            env: vec![("OPENCLAW_CONFIG_PATH", outside("x/c.json5"))],
            args: &[],
            expected: ok(&outside("x/c.json5")),
        },
        Row {
            env: vec![("OPENCLAW_CONFIG_PATH", outside("x/c.json5"))],
            args: &["--dev"],
            expected: ok(&outside("x/c.json5")),
        },
        Row {
            env: vec![("OPENCLAW_STATE_DIR", outside("sd"))],
            args: &[],
            expected: ok(&outside("sd/openclaw.json")),
        },
        Row {
            env: vec![("OPENCLAW_STATE_DIR", outside("sd"))],
            args: &["--profile", "foo"],
            expected: ok(&outside("sd/openclaw.json")),
        },
        Row {
            env: vec![("OPENCLAW_PROFILE", "bar".into())],
            args: &[],
            expected: ok("~/.openclaw/openclaw.json"),
        },
        Row {
            env: vec![("OPENCLAW_HOME", outside("oh"))],
            args: &[],
            expected: ok(&outside("oh/.openclaw/openclaw.json")),
        },
        Row {
            env: vec![("OPENCLAW_CONFIG_PATH", "~/rel.json5".into())],
            args: &[],
            expected: ok("~/rel.json5"),
        },
        Row {
            env: vec![("OPENCLAW_CONFIG_PATH", "rel.json5".into())],
            args: &[],
            expected: ok(&outside("cwd/rel.json5")),
        },
        // Not in the observed table, but implied by it: a config path under HOME prints `~/…`.
        Row {
            env: vec![(
                "OPENCLAW_CONFIG_PATH",
                sb.home.join("cfg/c.json5").display().to_string(),
            )],
            args: &[],
            expected: ok("~/cfg/c.json5"),
        },
    ];
    for row in rows {
        let mut cmd = sb.cmd();
        cmd.current_dir(&cwd)
            .envs(row.env.iter().cloned())
            .args(row.args)
            .args(["config", "file"]);
        let r = run(&mut cmd);
        let what = format!("env {:?} args {:?}", row.env, row.args);
        match row.expected {
            Ok(out) => {
                assert_eq!(r.code, 0, "{what}: {}", r.transcript());
                assert_eq!(r.stdout, out, "{what}");
                assert_eq!(r.stderr, "", "{what}");
            }
            Err(err) => {
                assert_eq!(r.code, 2, "{what}: {}", r.transcript());
                assert_eq!(r.stdout, "", "{what}");
                assert_eq!(r.stderr, err, "{what}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `config get`.

const GET_CONFIG: &str = "{\n  gateway: {\n    mode: \"local\",\n    port: 19011,\n  },\n  agents: {\n    list: [\n      { id: \"main\" },\n      { id: \"work\" },\n    ],\n  },\n}\n";

#[test]
fn config_get_from_file() {
    let sb = Sandbox::new("get-file");
    sb.write_config(GET_CONFIG);

    let r = sb.run(["config", "get", "gateway.port"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "19011\n", "")
    );

    let r = sb.run(["config", "get", "gateway.port", "--show-origin"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(r.stdout, "19011\t# ~/.openclaw/openclaw.json:4:11\n");

    let r = sb.run(["config", "get", "gateway.port", "--json", "--show-origin"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(
        r.json(),
        serde_json::json!({
            "path": "gateway.port",
            "value": 19011,
            "origin": "~/.openclaw/openclaw.json:4:11",
        })
    );

    let r = sb.run(["config", "get", "gateway.mode", "--json"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "\"local\"\n"));

    // Bracket syntax and its dotted equivalent.
    let r = sb.run(["config", "get", "agents.list[0].id"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "main\n"),
        "{}",
        r.transcript()
    );
    let r = sb.run(["config", "get", "agents.list[1].id", "--show-origin"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "work\t# ~/.openclaw/openclaw.json:9:13\n"),
        "{}",
        r.transcript()
    );
    let r = sb.run(["config", "get", "agents.list.1.id"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "work\n"),
        "{}",
        r.transcript()
    );
    let r = sb.run(["config", "get", "agents.list[0]", "--json"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(r.json(), serde_json::json!({ "id": "main" }));

    // Unset in the file: the spec default.
    let r = sb.run(["config", "get", "gateway.bind", "--show-origin"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(r.stdout, "loopback\t# default\n");
}

/// A value that comes from an `$include`d file reports that file as its origin.
#[test]
fn config_get_origin_in_included_file() {
    let sb = Sandbox::new("get-include");
    let config = fixtures().join("valid/with-includes.json5");
    let get = |path: &str| {
        run(sb.cmd().env("OPENCLAW_CONFIG_PATH", &config).args([
            "config",
            "get",
            path,
            "--show-origin",
        ]))
    };
    let repo = repo().display().to_string();
    // Two levels deep: with-includes.json5 → includes/gateway.json5 → includes/auth/token.json5.
    let r = get("gateway.auth.token");
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(
        r.stdout,
        format!(
            "0c4b8f2d6e1a3c5b7d9f1e3a5c7b9d2f\t# {repo}/fixtures/config/valid/includes/auth/token.json5:4:10\n"
        )
    );
    // The sibling key next to `$include` overrides the included value.
    let r = get("gateway.port");
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(
        r.stdout,
        format!("19002\t# {repo}/fixtures/config/valid/with-includes.json5:17:11\n")
    );
}

#[test]
fn config_get_env_beats_file() {
    let sb = Sandbox::new("get-env");
    sb.write_config(GET_CONFIG);
    let r = run(sb.cmd().env("OPENCLAW_GATEWAY_PORT", "19555").args([
        "config",
        "get",
        "gateway.port",
        "--show-origin",
    ]));
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(r.stdout, "19555\t# env OPENCLAW_GATEWAY_PORT\n");

    let r = run(sb.cmd().env("OPENCLAW_GATEWAY_PORT", "19555").args([
        "config",
        "get",
        "gateway.port",
        "--json",
    ]));
    assert_eq!((r.code, r.stdout.as_str()), (0, "19555\n"));
}

#[test]
fn config_get_default_without_file() {
    let sb = Sandbox::new("get-default");
    let r = sb.run(["config", "get", "gateway.port"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "18789\n", "")
    );
    let r = sb.run(["config", "get", "gateway.port", "--show-origin"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "18789\t# default\n"));
    let r = sb.run(["config", "get", "gateway.port", "--show-origin", "--json"]);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.json(),
        serde_json::json!({ "path": "gateway.port", "value": 18789, "origin": "default" })
    );
}

#[test]
fn config_get_bad_env_value() {
    let sb = Sandbox::new("get-badenv");
    sb.write_config(GET_CONFIG);
    let r =
        run(sb
            .cmd()
            .env("OPENCLAW_GATEWAY_PORT", "abc")
            .args(["config", "get", "gateway.port"]));
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("OPENCLAW_GATEWAY_PORT"),
        "the message names the variable: {}",
        r.transcript()
    );
    assert_eq!(
        r.stderr,
        "gateway.port: Invalid input: expected number, received string (from $OPENCLAW_GATEWAY_PORT)\n"
    );

    let r =
        run(sb
            .cmd()
            .env("OPENCLAW_GATEWAY_PORT", "70000")
            .args(["config", "get", "gateway.port"]));
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stderr.contains("OPENCLAW_GATEWAY_PORT"),
        "{}",
        r.transcript()
    );
}

#[test]
fn config_get_missing_path() {
    let sb = Sandbox::new("get-missing");
    sb.write_config(GET_CONFIG);
    for path in ["gateway.nope", "agents.list[5].id", "nosuchsection"] {
        let r = sb.run(["config", "get", path]);
        assert_eq!(r.code, 1, "{path}: {}", r.transcript());
        assert_eq!(r.stdout, "", "{path}");
        assert_eq!(r.stderr, format!("Config path not found: {path}\n"));
    }
}

#[test]
fn config_get_invalid_syntax_file() {
    let sb = Sandbox::new("get-syntax");
    sb.write_config("{\n  gateway: { port: 19011 \n");
    let r = sb.run(["config", "get", "gateway.port"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr
            .starts_with("OpenClaw config is invalid: ~/.openclaw/openclaw.json"),
        "{}",
        r.transcript()
    );
}

// ---------------------------------------------------------------------------------------------
// `config schema`.

#[test]
fn config_schema_is_json_schema() {
    let sb = Sandbox::new("schema");
    let r = sb.run(["config", "schema"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.stderr, "");
    let schema = r.json();
    let props = schema["properties"]
        .as_object()
        .expect("root `properties` object");
    assert!(props.contains_key("gateway"), "properties has gateway");
    assert!(props.contains_key("$schema"), "properties has $schema");
    assert_eq!(schema["additionalProperties"], Value::Bool(false));
    assert_eq!(schema["type"], "object");
    assert_eq!(
        props["gateway"]["additionalProperties"],
        Value::Bool(false),
        "gateway is a closed object, as in OpenClaw"
    );
}

// ---------------------------------------------------------------------------------------------
// `--help`.

#[test]
fn help_output() {
    let sb = Sandbox::new("help");
    for (name, args) in [
        ("help_openclaw", vec!["--help"]),
        ("help_config", vec!["config", "--help"]),
        ("help_config_validate", vec!["config", "validate", "--help"]),
    ] {
        let r = sb.run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.transcript());
        assert_eq!(r.stderr, "", "{args:?}");
        sb.snapshot_settings(&format!("openclaw --no-color {}", args.join(" ")), || {
            insta::assert_snapshot!(name, r.transcript());
        });
    }
}
