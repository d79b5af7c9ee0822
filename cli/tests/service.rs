//! `openclaw gateway install | uninstall | start | stop | restart` and the service part of
//! `gateway status`, end to end with the real binary, a cleared environment and a temporary HOME.
//!
//! No systemd user manager runs on the machines these tests were written on, so:
//! * the "no supervisor" path is tested for real (the real `systemctl` on `PATH`, which cannot
//!   reach a user manager because the environment is cleared, so no real manager is ever touched);
//! * the systemd path is tested with fake `systemctl`, `loginctl` and `journalctl` scripts placed
//!   first on `PATH`: they record their argv to a file and answer `is-system-running`, `show` and
//!   the journal from files the test writes. That checks exactly which commands we run and how we
//!   read their answers, without a user manager;
//! * the unit itself is checked with the real `systemd-analyze verify --user` when it works here
//!   (it is skipped with a printed reason otherwise).
//!
//! Every run is bounded (see `support::RUN_LIMIT`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{BIN, Sandbox, free_port, run, run_settings, settings};

/// A fake `systemctl`: appends its argv to `$FAKE_LOG`; `--user is-system-running` prints
/// `$FAKE_SYSTEMD_STATE` (default `running`); `--user show …` prints the file `$FAKE_SHOW`.
const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
echo "systemctl $*" >> "$FAKE_LOG"
case "$*" in
  "--user is-system-running") echo "${FAKE_SYSTEMD_STATE:-running}"; [ "${FAKE_SYSTEMD_STATE:-running}" = running ] ;;
  "--user show "*) cat "$FAKE_SHOW" 2>/dev/null; exit 0 ;;
  *) exit "${FAKE_SYSTEMCTL_RC:-0}" ;;
esac
"#;

const FAKE_LOGINCTL: &str = r#"#!/bin/sh
echo "loginctl $*" >> "$FAKE_LOG"
echo no
"#;

const FAKE_JOURNALCTL: &str = r#"#!/bin/sh
echo "journalctl $*" >> "$FAKE_LOG"
cat "$FAKE_JOURNAL" 2>/dev/null
"#;

struct Fake {
    sb: Sandbox,
    log: PathBuf,
    show: PathBuf,
    journal: PathBuf,
}

impl Fake {
    fn new(tag: &str) -> Fake {
        let mut sb = Sandbox::new(tag);
        sb.tool("systemctl", FAKE_SYSTEMCTL);
        sb.tool("loginctl", FAKE_LOGINCTL);
        sb.tool("journalctl", FAKE_JOURNALCTL);
        sb.use_fake_tools();
        let log = sb.root.join("argv.log");
        let show = sb.root.join("show.txt");
        let journal = sb.root.join("journal.txt");
        Fake {
            sb,
            log,
            show,
            journal,
        }
    }

    fn cmd(&self) -> Command {
        let mut c = self.sb.cmd();
        c.env("FAKE_LOG", &self.log)
            .env("FAKE_SHOW", &self.show)
            .env("FAKE_JOURNAL", &self.journal);
        c
    }

    /// The recorded tool calls since the last call, one per line.
    fn take_calls(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        text.lines().map(str::to_string).collect()
    }

    fn set_show(&self, active: &str, sub: &str, pid: u32, status: i32) {
        std::fs::write(
            &self.show,
            format!(
                "LoadState=loaded\nActiveState={active}\nSubState={sub}\nMainPID={pid}\nExecMainStatus={status}\nUnitFileState=enabled\n"
            ),
        )
        .expect("write show answer");
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// The real `systemctl` (if any) on a cleared environment: no user manager is reachable.
#[test]
fn without_a_user_manager_the_unit_is_written_and_the_commands_are_printed() {
    let mut sb = Sandbox::new("svc-real");
    sb.path = Some("/usr/bin:/bin".into());
    let port = free_port();
    let install = run(sb
        .cmd()
        .env("OPENCLAW_GATEWAY_PORT", port.to_string())
        .args(["gateway", "install"]));
    assert_eq!(install.code, 0, "{}", install.transcript());
    let unit = sb.unit_dir().join("openclaw-gateway.service");
    let text = read(&unit);
    assert!(
        text.contains(&format!("ExecStart={BIN} gateway run --port {port}\n")),
        "{text}"
    );
    assert!(
        install
            .stdout
            .contains("systemctl --user enable --now openclaw-gateway.service"),
        "{}",
        install.stdout
    );
    assert!(install.stdout.contains("loginctl enable-linger"));
    assert!(install.stdout.contains("The service was not started"));

    let again = run(sb
        .cmd()
        .env("OPENCLAW_GATEWAY_PORT", port.to_string())
        .args(["gateway", "install"]));
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(
        again.stdout.contains("already installed"),
        "{}",
        again.stdout
    );
    assert_eq!(read(&unit), text, "a second install is a no-op");

    for verb in ["start", "stop", "restart"] {
        let r = sb.run(["gateway", verb]);
        assert_eq!(r.code, 1, "{verb}: {}", r.transcript());
        assert!(
            r.stderr
                .contains(&format!("systemctl --user {verb} openclaw-gateway.service")),
            "{verb}: {}",
            r.stderr
        );
    }

    let status = run(sb
        .cmd()
        .env("OPENCLAW_GATEWAY_PORT", port.to_string())
        .args(["gateway", "status", "--json", "--no-probe"]));
    assert_eq!(status.code, 0, "{}", status.transcript());
    let v = status.json();
    assert_eq!(v["service"]["installed"], true);
    assert_eq!(v["service"]["managerAvailable"], false);
    assert_eq!(v["service"]["runtime"]["status"], "unknown");
    assert_eq!(v["service"]["port"].as_u64(), Some(u64::from(port)));
    assert_eq!(v["service"]["drift"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["config"]["daemon"]["path"], v["config"]["cli"]["path"]);

    let uninstall = sb.run(["gateway", "uninstall"]);
    assert_eq!(uninstall.code, 0, "{}", uninstall.transcript());
    assert!(!unit.exists());
    let twice = sb.run(["gateway", "uninstall"]);
    assert_eq!(twice.code, 0, "{}", twice.transcript());
    assert!(twice.stdout.contains("not installed"), "{}", twice.stdout);
    let start = sb.run(["gateway", "start"]);
    assert_eq!(start.code, 1, "{}", start.transcript());
    assert!(start.stderr.contains("gateway install"), "{}", start.stderr);
}

/// Deterministic transcripts of the "no user manager" path (the fake says `offline`).
#[test]
fn offline_manager_transcripts_and_units() {
    let fake = Fake::new("svc-offline");
    let port = free_port();
    let work_cfg = fake.sb.root.join("cfg dir/work.json5");
    let install = run(fake
        .cmd()
        .env("FAKE_SYSTEMD_STATE", "offline")
        .env("OPENCLAW_GATEWAY_PORT", port.to_string())
        .args(["--profile", "work", "gateway", "install"]));
    assert_eq!(install.code, 0, "{}", install.transcript());
    let unit = fake.sb.unit_dir().join("openclaw-gateway-work.service");
    assert_eq!(
        fake.take_calls(),
        ["systemctl --user is-system-running"],
        "only the probe runs without a manager"
    );
    let ports = [port];
    run_settings(&fake.sb, &ports, &install)
        .bind(|| insta::assert_snapshot!("install_offline_text", install.transcript()));
    settings(&fake.sb, &ports).bind(|| insta::assert_snapshot!("unit_profile_work", read(&unit)));

    // With OPENCLAW_CONFIG_PATH set, the unit carries it (absolute) and status reads it back.
    let dev_install = run(fake
        .cmd()
        .env("FAKE_SYSTEMD_STATE", "offline")
        .env("OPENCLAW_CONFIG_PATH", &work_cfg)
        .args(["--dev", "gateway", "install", "--json"]));
    assert_eq!(dev_install.code, 0, "{}", dev_install.transcript());
    let v = dev_install.json();
    assert_eq!(v["started"], false);
    assert_eq!(v["managerAvailable"], false);
    assert_eq!(v["action"], "installed");
    let dev_unit = fake.sb.unit_dir().join("openclaw-gateway-dev.service");
    settings(&fake.sb, &[])
        .bind(|| insta::assert_snapshot!("unit_dev_config_path", read(&dev_unit)));
    run_settings(&fake.sb, &[], &dev_install)
        .bind(|| insta::assert_snapshot!("install_offline_json", dev_install.transcript()));

    // The CLI without the variable reads another config than the service: status says so.
    let status = run(fake
        .cmd()
        .env("FAKE_SYSTEMD_STATE", "offline")
        .env("OPENCLAW_GATEWAY_PORT", port.to_string())
        .args(["--dev", "gateway", "status", "--no-probe"]));
    assert_eq!(status.code, 0, "{}", status.transcript());
    assert!(
        status
            .stdout
            .contains(&format!("Config (service): {}", work_cfg.display())),
        "{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("Config (cli): ~/.openclaw-dev/openclaw.json")
    );
    run_settings(&fake.sb, &ports, &status)
        .bind(|| insta::assert_snapshot!("status_offline_config_differs", status.transcript()));
}

/// The systemd path, through the fake `systemctl`.
#[test]
fn systemd_path_runs_the_right_commands() {
    let fake = Fake::new("svc-systemd");
    let port = free_port();
    let env_port = port.to_string();
    let go = |args: &[&str]| {
        run(fake
            .cmd()
            .env("OPENCLAW_GATEWAY_PORT", &env_port)
            .args(["--dev"])
            .args(args))
    };
    let unit = "openclaw-gateway-dev.service";

    let install = go(&["gateway", "install"]);
    assert_eq!(install.code, 0, "{}", install.transcript());
    assert_eq!(
        fake.take_calls(),
        [
            "systemctl --user is-system-running".to_string(),
            "systemctl --user daemon-reload".to_string(),
            format!("systemctl --user enable --now {unit}"),
            format!("loginctl show-user {} -p Linger --value", uid()),
        ]
    );
    assert!(
        install.stdout.contains("lingering is off"),
        "{}",
        install.stdout
    );
    let ports = [port];
    run_settings(&fake.sb, &ports, &install)
        .bind(|| insta::assert_snapshot!("install_systemd_text", install.transcript()));

    // Installed again: nothing runs but the probe... and nothing at all is written.
    let again = go(&["gateway", "install"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(again.stdout.contains("already installed"));
    assert!(fake.take_calls().is_empty(), "a no-op install asks nobody");

    // --force rewrites, reloads and restarts.
    let force = go(&["gateway", "install", "--force", "--json"]);
    assert_eq!(force.code, 0, "{}", force.transcript());
    assert_eq!(force.json()["action"], "replaced");
    let calls = fake.take_calls();
    assert!(
        calls.contains(&format!("systemctl --user restart {unit}")),
        "{calls:?}"
    );

    for (verb, want) in [("start", "start"), ("stop", "stop"), ("restart", "restart")] {
        let r = go(&["gateway", verb]);
        assert_eq!(r.code, 0, "{verb}: {}", r.transcript());
        assert_eq!(
            fake.take_calls(),
            [
                "systemctl --user is-system-running".to_string(),
                format!("systemctl --user {want} {unit}")
            ]
        );
    }

    // A failing systemctl is reported with its message and exit 1.
    let failing = run(fake
        .cmd()
        .env("OPENCLAW_GATEWAY_PORT", &env_port)
        .env("FAKE_SYSTEMCTL_RC", "5")
        .args(["--dev", "gateway", "start"]));
    assert_eq!(failing.code, 1, "{}", failing.transcript());
    assert!(failing.stderr.contains("exit 5"), "{}", failing.stderr);
    fake.take_calls();

    // Status: the supervisor's runtime, separate from the (absent) process and the probe.
    fake.set_show("active", "running", 4242, 0);
    let status = go(&["gateway", "status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.transcript());
    let v = status.json();
    assert_eq!(v["service"]["runtime"]["status"], "running");
    assert_eq!(v["service"]["runtime"]["pid"], 4242);
    assert_eq!(v["service"]["enabled"], "enabled");
    assert_eq!(v["runtime"]["status"], "stopped");
    assert_eq!(v["rpc"]["ok"], false);
    assert!(
        fake.take_calls().contains(&format!(
            "systemctl --user show {unit} -p LoadState,ActiveState,SubState,MainPID,ExecMainStatus,UnitFileState"
        ))
    );

    // Active but the port is closed: the last error line of the log file.
    let log = PathBuf::from(v["logFile"].as_str().expect("logFile"));
    assert!(log.starts_with(&fake.sb.tmp), "{}", log.display());
    std::fs::create_dir_all(log.parent().expect("log dir")).expect("create log dir");
    std::fs::write(
        &log,
        concat!(
            r#"{"time":"2026-11-30T10:00:00.000Z","level":"INFO","message":"starting"}"#,
            "\n",
            r#"{"time":"2026-11-30T10:00:01.000Z","level":"ERROR","message":"Port is already in use"}"#,
            "\n",
            r#"{"time":"2026-11-30T10:00:02.000Z","level":"INFO","message":"retrying"}"#,
            "\n",
        ),
    )
    .expect("write log");
    let text = go(&["gateway", "status"]);
    assert_eq!(text.code, 0, "{}", text.transcript());
    assert!(
        text.stdout
            .contains("Last error (log file): 2026-11-30T10:00:01.000Z Port is already in use"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("Runtime: running (pid 4242; systemd active/running)")
    );
    assert!(text.stdout.contains("RPC probe: failed"));
    run_settings(&fake.sb, &ports, &text)
        .bind(|| insta::assert_snapshot!("status_systemd_active_port_closed", text.transcript()));

    // Without an error in the log file, the journal's last error line.
    std::fs::write(&log, "").expect("truncate log");
    std::fs::write(
        &fake.journal,
        "Started openclaw-gateway-dev.service.\nerror: cannot bind 127.0.0.1\nStopped.\n",
    )
    .expect("journal");
    fake.take_calls();
    let journal = go(&["gateway", "status", "--json", "--no-probe"]);
    let v = journal.json();
    assert_eq!(
        v["lastError"]["source"],
        "journal",
        "{}",
        journal.transcript()
    );
    assert_eq!(v["lastError"]["line"], "error: cannot bind 127.0.0.1");
    assert!(fake.take_calls().contains(&format!(
        "journalctl --user -u {unit} -n 20 --no-pager -o cat"
    )));

    // Stopped, after a failure.
    fake.set_show("inactive", "dead", 0, 1);
    let stopped = go(&["gateway", "status", "--no-probe"]);
    assert!(
        stopped
            .stdout
            .contains("Runtime: stopped (systemd inactive/dead; last exit status 1)"),
        "{}",
        stopped.stdout
    );
    assert!(!stopped.stdout.contains("Last error"));

    fake.take_calls();
    let uninstall = go(&["gateway", "uninstall"]);
    assert_eq!(uninstall.code, 0, "{}", uninstall.transcript());
    let calls = fake.take_calls();
    assert_eq!(
        calls,
        [
            "systemctl --user is-system-running".to_string(),
            format!("systemctl --user disable --now {unit}"),
            "systemctl --user daemon-reload".to_string(),
        ]
    );
    assert!(!fake.sb.unit_dir().join(unit).exists());
}

/// A unit that differs from what install writes now is kept, with the differences listed.
#[test]
fn drift_is_reported_and_force_fixes_it() {
    let fake = Fake::new("svc-drift");
    let port = free_port();
    let unit = fake.sb.unit_dir().join("openclaw-gateway.service");
    std::fs::create_dir_all(fake.sb.unit_dir()).expect("unit dir");
    std::fs::write(
        &unit,
        "[Service]\nExecStart=/old/place/openclaw gateway run --port 18000\nEnvironment=OPENCLAW_SERVICE_MARKER=openclaw\nEnvironment=OPENCLAW_SERVICE_VERSION=2026.1.1\n",
    )
    .expect("write old unit");
    let go = |args: &[&str]| {
        run(fake
            .cmd()
            .env("FAKE_SYSTEMD_STATE", "offline")
            .env("OPENCLAW_GATEWAY_PORT", port.to_string())
            .args(args))
    };
    let kept = go(&["gateway", "install"]);
    assert_eq!(kept.code, 0, "{}", kept.transcript());
    assert!(kept.stdout.contains("--force"), "{}", kept.stdout);
    assert!(read(&unit).contains("/old/place/openclaw"), "not rewritten");
    let ports = [port];
    run_settings(&fake.sb, &ports, &kept)
        .bind(|| insta::assert_snapshot!("install_kept_with_drift", kept.transcript()));
    let status = go(&["gateway", "status", "--json", "--no-probe"]);
    let drift = status.json()["service"]["drift"].clone();
    assert_eq!(drift.as_array().map(Vec::len), Some(3), "{drift}");

    let forced = go(&["gateway", "install", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.transcript());
    assert!(
        forced.stdout.starts_with("Rewrote gateway service"),
        "{}",
        forced.stdout
    );
    let status = go(&["gateway", "status", "--json", "--no-probe"]);
    assert_eq!(
        status.json()["service"]["drift"].as_array().map(Vec::len),
        Some(0)
    );
}

/// `--deep` lists other gateway units (other profiles' units are listed without it).
#[test]
fn other_units_are_listed() {
    let fake = Fake::new("svc-extra");
    let port = free_port();
    let go = |args: &[&str]| {
        run(fake
            .cmd()
            .env("FAKE_SYSTEMD_STATE", "offline")
            .env("OPENCLAW_GATEWAY_PORT", port.to_string())
            .args(args))
    };
    assert_eq!(go(&["--profile", "other", "gateway", "install"]).code, 0);
    std::fs::write(
        fake.sb.unit_dir().join("hand-made.service"),
        "[Service]\nExecStart=/usr/local/bin/openclaw gateway --port 18999\n",
    )
    .expect("write foreign unit");
    let status = go(&["gateway", "status", "--json", "--no-probe"]);
    let v = status.json();
    let extra = v["extraServices"].as_array().expect("extraServices");
    assert_eq!(extra.len(), 1, "{}", status.transcript());
    assert_eq!(extra[0]["name"], "openclaw-gateway-other.service");
    assert_eq!(extra[0]["marker"], true);
    assert_eq!(extra[0]["port"].as_u64(), Some(u64::from(port)));

    let deep = go(&["gateway", "status", "--json", "--no-probe", "--deep"]);
    let v = deep.json();
    let names: Vec<&str> = v["extraServices"]
        .as_array()
        .expect("extraServices")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(
        names.contains(&"hand-made.service"),
        "{}",
        deep.transcript()
    );
}

fn uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").expect("/proc/self").uid()
}

/// The real `systemd-analyze verify --user` accepts the unit install writes.
#[test]
fn systemd_analyze_verifies_the_unit() {
    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !analyze.exists() {
        eprintln!("skipped: /usr/bin/systemd-analyze is not installed");
        return;
    }
    let fake = Fake::new("svc-verify");
    for args in [
        vec!["gateway", "install"],
        vec!["--profile", "work", "gateway", "install"],
        vec!["--dev", "gateway", "install"],
    ] {
        let r = run(fake
            .cmd()
            .env("FAKE_SYSTEMD_STATE", "offline")
            .env(
                "OPENCLAW_STATE_DIR",
                fake.sb.root.join("state with space/%x"),
            )
            .args(&args));
        assert_eq!(r.code, 0, "{}", r.transcript());
    }
    let runtime_dir = fake.sb.root.join("xdg-runtime");
    std::fs::create_dir_all(&runtime_dir).expect("runtime dir");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700))
            .expect("chmod runtime dir");
    }
    for name in [
        "openclaw-gateway.service",
        "openclaw-gateway-work.service",
        "openclaw-gateway-dev.service",
    ] {
        let unit = fake.sb.unit_dir().join(name);
        let out = Command::new(analyze)
            .env_clear()
            .env("HOME", &fake.sb.home)
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .env("PATH", "/usr/bin:/bin")
            .args(["verify", "--user"])
            .arg(&unit)
            .output()
            .expect("run systemd-analyze");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("Failed to initialize manager") || stderr.contains("Failed to lookup") {
            eprintln!("skipped: systemd-analyze cannot run a user manager here: {stderr}");
            return;
        }
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "systemd-analyze verify {name}: {:?}\n{stderr}\n{}",
            out.status,
            read(&unit)
        );
    }
}
