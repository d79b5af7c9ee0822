//! `openclaw secrets audit` and `openclaw security audit` through the real binary, in a fresh
//! temporary `HOME`: plaintext secrets with file:line (includes too; SecretRefs and `${VAR}`s are
//! not flagged), `--check`, exposure and weak-auth findings, `trusted-proxy`, hooks token reuse,
//! dangerous flags, permissions and `--fix`, `--deep`; human and `--json` outputs snapshotted.

mod support;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{BIN, Run, chmod, mode, regex_escape, run};

/// Secrets written every way: literal, SecretRef, `${VAR}`, in an included file, inline env.
const SECRETS: &str = r#"// Config with secrets in it.
{
  gateway: {
    mode: "local",
    auth: {
      token: "3f9c2a7d5e1b4c8a9d0e6f2b7a1c5d3e", // literal: flagged
    },
    remote: { token: { source: "env", provider: "default", id: "REMOTE_TOKEN" } },
  },
  hooks: {
    enabled: true,
    token: "${HOOKS_TOKEN}",
  },
  env: {
    OPENROUTER_API_KEY: "sk-or-literal",
    EDITOR: "vim",
  },
  models: { "$include": "./models.json5" },
}
"#;

const MODELS: &str = r#"{
  providers: {
    openai: {
      baseUrl: "https://api.openai.com/v1",
      apiKey: "sk-literal-in-include",
      models: [],
    },
  },
}
"#;

/// Everything a security audit should complain about.
const RISKY: &str = r#"{
  gateway: {
    mode: "local",
    bind: "lan",
    auth: { mode: "trusted-proxy", token: "changeme", trustedProxy: { userHeader: "x-user" } },
    trustedProxies: ["10.0.0.1"],
    controlUi: { dangerouslyDisableDeviceAuth: true, allowInsecureAuth: true },
  },
  hooks: { enabled: true, token: "changeme" },
}
"#;

/// A well-kept config: loopback, token from the environment.
const TIDY: &str = r#"{
  gateway: {
    mode: "local",
    bind: "loopback",
    auth: { token: { source: "env", provider: "default", id: "OPENCLAW_GATEWAY_TOKEN" } },
  },
}
"#;

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
        let root = tmp.join(format!("ocrs-audit-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let home = root.join("home");
        std::fs::create_dir_all(&home).expect("create temp HOME");
        Sandbox { root, home }
    }

    fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .env("HOOKS_TOKEN", "from-the-environment-0123456789")
            .env("TMPDIR", &self.root)
            .current_dir(&self.root)
            .arg("--no-color")
            .args(args);
        run(&mut c)
    }

    fn dir(&self) -> PathBuf {
        self.home.join(".openclaw")
    }

    fn config(&self) -> PathBuf {
        self.dir().join("openclaw.json")
    }

    /// Writes a file in the state directory, tight (0700 directory, 0600 file).
    fn write(&self, name: &str, text: &str) -> PathBuf {
        std::fs::create_dir_all(self.dir()).expect("create ~/.openclaw");
        let p = self.dir().join(name);
        std::fs::write(&p, text).expect("write");
        chmod(&self.dir(), 0o700);
        chmod(&p, 0o600);
        p
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
// secrets audit

#[test]
fn secrets_audit_lists_plaintext_with_file_and_line() {
    let sb = Sandbox::new("secrets");
    sb.write("openclaw.json", SECRETS);
    sb.write("models.json5", MODELS);
    let human = sb.run(["secrets", "audit"]);
    assert_eq!(human.code, 0, "{}", human.transcript());
    let json = sb.run(["secrets", "audit", "--json"]);
    let v = json.json();
    let found: Vec<(String, String, u64)> = v["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .map(|s| {
            let file = s["file"].as_str().expect("file");
            let base = file.rsplit('/').next().unwrap_or(file).to_string();
            (
                s["path"].as_str().expect("path").to_string(),
                base,
                s["line"].as_u64().expect("line"),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "models.providers.openai.apiKey".into(),
                "models.json5".into(),
                5
            ),
            ("gateway.auth.token".into(), "openclaw.json".into(), 6),
            ("env.OPENROUTER_API_KEY".into(), "openclaw.json".into(), 15),
        ]
    );
    // Values never appear in any output.
    for out in [&human.stdout, &json.stdout] {
        assert!(
            !out.contains("3f9c2a7d")
                && !out.contains("sk-or-literal")
                && !out.contains("sk-literal")
        );
    }
    let check = sb.run(["secrets", "audit", "--check"]);
    assert_eq!(check.code, 1, "{}", check.transcript());
    sb.snapshot_settings(|| {
        insta::assert_snapshot!("secrets_human", human.transcript());
        insta::assert_snapshot!("secrets_json", json.transcript());
    });
}

#[test]
fn secrets_audit_check_passes_without_plaintext() {
    let sb = Sandbox::new("secrets-clean");
    sb.write("openclaw.json", TIDY);
    let r = sb.run(["secrets", "audit", "--check"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(
        r.stdout,
        "No plaintext secrets in ~/.openclaw/openclaw.json.\n"
    );
    let j = sb.run(["secrets", "audit", "--check", "--json"]);
    assert_eq!(j.code, 0);
    assert_eq!(j.json()["count"], 0);
    // A config that does not parse cannot be audited.
    sb.write("openclaw.json", "{ gateway: ");
    let broken = sb.run(["secrets", "audit"]);
    assert_eq!(broken.code, 1, "{}", broken.transcript());
    assert!(
        broken
            .stderr
            .starts_with("Cannot audit ~/.openclaw/openclaw.json"),
        "{}",
        broken.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// security audit

#[test]
fn security_audit_flags_risky_settings() {
    let sb = Sandbox::new("risky");
    sb.write("openclaw.json", RISKY);
    chmod(&sb.config(), 0o644);
    let human = sb.run(["security", "audit"]);
    assert_eq!(human.code, 1, "{}", human.transcript());
    let json = sb.run(["security", "audit", "--json"]);
    assert_eq!(json.code, 1);
    let v = json.json();
    let has = |id: &str, sev: &str| {
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["checkId"] == id && f["severity"] == sev)
    };
    assert!(has("security/trusted-proxy", "critical"));
    assert!(has("security/hooks-token-reuse", "critical"));
    assert!(has("security/dangerous-flag", "critical"));
    assert!(has("security/dangerous-flag", "warning"));
    assert!(has("security/exposure", "warning"));
    assert!(has("security/permissions", "critical"));
    assert!(v["summary"]["critical"].as_u64().is_some_and(|n| n >= 4));
    sb.snapshot_settings(|| {
        insta::assert_snapshot!("security_human", human.transcript());
        insta::assert_snapshot!("security_json", json.transcript());
    });
}

#[test]
fn security_audit_fix_tightens_permissions() {
    let sb = Sandbox::new("perm");
    sb.write("openclaw.json", TIDY);
    let run_file = sb.write("gateway.run.json", "{}");
    chmod(&sb.dir(), 0o755);
    chmod(&sb.config(), 0o664);
    chmod(&run_file, 0o640);
    let before = sb.run(["security", "audit", "--json"]);
    assert_eq!(before.code, 1, "{}", before.transcript());
    let fixed = sb.run(["security", "audit", "--fix"]);
    assert_eq!(fixed.code, 0, "{}", fixed.transcript());
    assert_eq!(mode(&sb.dir()), 0o700);
    assert_eq!(mode(&sb.config()), 0o600);
    assert_eq!(mode(&run_file), 0o600);
    sb.snapshot_settings(|| insta::assert_snapshot!("security_fix_human", fixed.transcript()));
    let after = sb.run(["security", "audit"]);
    assert_eq!(after.code, 0, "{}", after.transcript());
    assert!(
        after.stdout.ends_with("No findings.\n"),
        "{}",
        after.transcript()
    );
}

#[test]
fn security_audit_weak_and_missing_auth() {
    let sb = Sandbox::new("weak");
    sb.write(
        "openclaw.json",
        "{ gateway: { mode: \"local\", bind: \"lan\", auth: { token: \"abcdefghijklmnop\" } } }",
    );
    let r = sb.run(["security", "audit", "--json"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    let v = r.json();
    let weak = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["checkId"] == "security/weak-token")
        .expect("weak-token finding");
    assert_eq!(weak["severity"], "warning");
    assert_eq!(weak["location"], "openclaw.json:1");
    // No credential at all on a LAN bind (the env var the validator would accept is absent too).
    sb.write(
        "openclaw.json",
        "{ gateway: { mode: \"local\", bind: \"0.0.0.0\" } }",
    );
    let r = sb.run(["security", "audit", "--json"]);
    let v = r.json();
    assert_eq!(v["findings"][0]["checkId"], "security/exposure");
    assert_eq!(v["findings"][0]["severity"], "critical");
}

#[test]
fn security_audit_deep_finds_secrets_left_in_the_backup() {
    let sb = Sandbox::new("deep");
    sb.write("openclaw.json", TIDY);
    sb.write(
        "openclaw.json.bak",
        "{\n  gateway: {\n    mode: \"local\",\n    auth: { token: \"an-old-token-that-leaked-0123456789\" },\n  },\n}\n",
    );
    let plain = sb.run(["security", "audit", "--json"]);
    assert_eq!(plain.code, 0, "{}", plain.transcript());
    let deep = sb.run(["security", "audit", "--deep", "--json"]);
    assert_eq!(deep.code, 1, "{}", deep.transcript());
    let v = deep.json();
    assert_eq!(v["deep"], true);
    assert_eq!(v["findings"][0]["checkId"], "security/backup-secret");
    assert_eq!(v["findings"][0]["path"], "gateway.auth.token");
    assert_eq!(v["findings"][0]["location"], "openclaw.json.bak:4");
}
