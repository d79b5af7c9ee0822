//! `openclaw setup` and profiles, end to end: the real binary with a cleared environment and a
//! temporary HOME (and TMPDIR, so default log files stay in the sandbox). File modes, contents
//! and idempotence are checked on the real files; a gateway is started from the config setup
//! wrote to prove it is usable. Every wait is bounded.

mod support;

use std::path::Path;
use std::time::SystemTime;

use serde_json::Value;
use support::{Gateway, Sandbox, free_port, mode, run_settings};

fn config_of(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("openclaw.json")).expect("read config");
    serde_json::from_str(&text).expect("config is JSON")
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .expect("mtime")
}

#[test]
fn dev_setup_creates_state_config_and_workspace_once() {
    let sb = Sandbox::new("setup-dev");
    let first = sb.run(["--dev", "setup"]);
    assert_eq!(first.code, 0, "{}", first.transcript());
    let state = sb.state_dir(Some("dev"));
    let config_path = state.join("openclaw.json");
    let workspace = state.join("workspace");
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&config_path), 0o600);
    assert_eq!(mode(&workspace), 0o700);
    for f in ["AGENTS.md", "IDENTITY.md", "SOUL.md", "USER.md"] {
        assert_eq!(mode(&workspace.join(f)), 0o600, "{f}");
    }
    assert!(
        !workspace.join("BOOTSTRAP.md").exists(),
        "--dev skips the bootstrap file"
    );
    let config = config_of(&state);
    assert_eq!(config["gateway"]["mode"], "local");
    assert_eq!(config["gateway"]["auth"]["mode"], "token");
    let token = config["gateway"]["auth"]["token"]
        .as_str()
        .expect("a token string");
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!first.stdout.contains(token), "the token is never printed");
    assert_eq!(
        config["agents"]["defaults"]["workspace"],
        workspace.display().to_string()
    );
    // What setup wrote is a valid config.
    let validate = sb.run(["--dev", "config", "validate"]);
    assert_eq!(validate.code, 0, "{}", validate.transcript());

    // The second run changes nothing, and says so.
    let before = std::fs::read(&config_path).expect("config bytes");
    let before_mtime = mtime(&config_path);
    let second = sb.run(["--dev", "setup"]);
    assert_eq!(second.code, 0, "{}", second.transcript());
    assert!(
        second.stdout.contains("Nothing changed"),
        "{}",
        second.stdout
    );
    assert_eq!(std::fs::read(&config_path).expect("config bytes"), before);
    assert_eq!(mtime(&config_path), before_mtime);
    let json = sb.run(["--dev", "setup", "--json"]);
    assert_eq!(json.code, 0, "{}", json.transcript());
    let v = json.json();
    assert_eq!(v["changed"], false);
    assert_eq!(v["config"]["status"], "exists");
    assert_eq!(v["config"]["token"], "configured");

    run_settings(&sb, &[], &first)
        .bind(|| insta::assert_snapshot!("dev_first", first.transcript()));
    run_settings(&sb, &[], &second)
        .bind(|| insta::assert_snapshot!("dev_second", second.transcript()));
    run_settings(&sb, &[], &json)
        .bind(|| insta::assert_snapshot!("dev_again_json", json.transcript()));
}

#[test]
fn profile_setup_json_and_port() {
    let sb = Sandbox::new("setup-json");
    let r = sb.run(["--profile", "work", "setup", "--json", "--port", "19100"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let v = r.json();
    assert_eq!(v["changed"], true);
    assert_eq!(v["profile"], "work");
    assert_eq!(v["stateDir"]["mode"], "0700");
    assert_eq!(v["config"]["mode"], "0600");
    assert_eq!(v["config"]["token"], "generated");
    assert_eq!(v["config"]["gatewayMode"], "local");
    let state = sb.state_dir(Some("work"));
    let config = config_of(&state);
    assert_eq!(config["gateway"]["port"], 19100);
    assert!(state.join("workspace/BOOTSTRAP.md").exists());
    let token = config["gateway"]["auth"]["token"].as_str().expect("token");
    assert!(!r.stdout.contains(token), "the token is never printed");
    run_settings(&sb, &[], &r).bind(|| insta::assert_snapshot!("profile_json", r.transcript()));
}

#[test]
fn existing_config_is_never_rewritten() {
    let sb = Sandbox::new("setup-keep");
    let state = sb.state_dir(None);
    std::fs::create_dir_all(&state).expect("state dir");
    let text = "// mine\n{ gateway: { port: 19200 } }\n";
    std::fs::write(state.join("openclaw.json"), text).expect("write config");
    let r = sb.run(["setup", "--port", "1234"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(
        std::fs::read_to_string(state.join("openclaw.json")).expect("config"),
        text
    );
    assert!(r.stdout.contains("gateway.mode"), "{}", r.stdout);
    assert!(r.stdout.contains("gateway.auth.token"), "{}", r.stdout);
    // The workspace is still created.
    assert!(state.join("workspace/AGENTS.md").exists());
    // A workspace file someone edited stays as it is; a deleted one comes back.
    std::fs::write(state.join("workspace/SOUL.md"), "edited").expect("edit");
    std::fs::remove_file(state.join("workspace/USER.md")).expect("remove");
    let again = sb.run(["setup"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert_eq!(
        std::fs::read_to_string(state.join("workspace/SOUL.md")).expect("soul"),
        "edited"
    );
    assert!(state.join("workspace/USER.md").exists());
    assert!(again.stdout.contains("added USER.md"), "{}", again.stdout);
    run_settings(&sb, &[], &r).bind(|| insta::assert_snapshot!("existing_config", r.transcript()));
}

#[test]
fn setup_errors_name_the_path() {
    let sb = Sandbox::new("setup-err");
    // The state directory's place is taken by a file.
    std::fs::write(sb.state_dir(None), "not a dir").expect("write file");
    let r = sb.run(["setup"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(r.stderr.contains("is not a directory"), "{}", r.stderr);
    assert!(r.stderr.contains(".openclaw"), "{}", r.stderr);
    let j = sb.run(["setup", "--json"]);
    assert_eq!(j.code, 1, "{}", j.transcript());
    assert_eq!(j.json()["ok"], false);
    let bad = sb.run(["--dev", "--profile", "x", "setup"]);
    assert_eq!(bad.code, 1, "{}", bad.transcript());
    assert!(bad.stderr.contains("Cannot combine --dev with --profile"));
}

/// Two profiles get separate state, config, token, log file and service name, and a gateway
/// starts from the config setup wrote (token auth included).
#[test]
fn profiles_are_isolated_and_usable() {
    let sb = Sandbox::new("setup-profiles");
    for p in ["alpha", "beta"] {
        let r = sb.run(["--profile", p, "setup"]);
        assert_eq!(r.code, 0, "{}", r.transcript());
    }
    let (a, b) = (sb.state_dir(Some("alpha")), sb.state_dir(Some("beta")));
    let token = |dir: &Path| config_of(dir)["gateway"]["auth"]["token"].clone();
    assert_ne!(token(&a), token(&b));
    let file = sb.run(["--profile", "beta", "config", "file"]);
    assert_eq!(file.stdout.trim(), "~/.openclaw-beta/openclaw.json");

    let mut gw = Gateway::start(&sb, &["--profile", "alpha"], &a);
    let status = sb.run(["--profile", "alpha", "gateway", "status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.transcript());
    let v = status.json();
    assert_eq!(v["rpc"]["ok"], true, "{}", status.transcript());
    assert_eq!(v["gateway"]["port"].as_u64(), Some(u64::from(gw.port)));
    assert_eq!(
        v["gateway"]["derivedPorts"]["browser"].as_u64(),
        Some(u64::from(gw.port) + 2)
    );
    assert_eq!(
        v["gateway"]["derivedPorts"]["canvas"].as_u64(),
        Some(u64::from(gw.port) + 4)
    );
    assert_eq!(v["service"]["label"], "openclaw-gateway-alpha.service");
    let log_file = v["logFile"].as_str().expect("logFile");
    assert!(
        log_file.starts_with(
            &sb.tmp
                .join("openclaw/openclaw-alpha-")
                .display()
                .to_string()
        ),
        "{log_file}"
    );

    // The other profile sees its own (absent) gateway, its own service name, and the other
    // gateway that answers.
    let other_port = free_port();
    let listener = std::net::TcpListener::bind(("127.0.0.1", other_port)).expect("bind");
    let beta = support::run(
        sb.cmd()
            .env("OPENCLAW_GATEWAY_PORT", other_port.to_string())
            .args([
                "--profile",
                "beta",
                "gateway",
                "status",
                "--json",
                "--no-probe",
            ]),
    );
    assert_eq!(beta.code, 0, "{}", beta.transcript());
    let v = beta.json();
    assert_eq!(v["service"]["label"], "openclaw-gateway-beta.service");
    assert_eq!(v["runtime"]["status"], "stopped");
    let others = v["otherGateways"].as_array().expect("otherGateways");
    assert_eq!(others.len(), 1, "{}", beta.transcript());
    assert_eq!(others[0]["port"].as_u64(), Some(u64::from(gw.port)));
    assert_eq!(others[0]["pid"].as_u64(), Some(u64::from(gw.pid())));
    let warnings = v["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .is_some_and(|w| w.contains("Several gateways answer"))),
        "{}",
        beta.transcript()
    );
    let text = support::run(
        sb.cmd()
            .env("OPENCLAW_GATEWAY_PORT", other_port.to_string())
            .args(["--profile", "beta", "gateway", "status", "--no-probe"]),
    );
    assert!(
        text.stdout.contains("Warning: Several gateways answer"),
        "{}",
        text.transcript()
    );
    drop(listener);
    gw.stop();
}
