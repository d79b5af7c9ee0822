//! Shared by the integration tests (`mod support;`): a temporary HOME, bounded runs of the real
//! binary with a cleared environment, fake supervisor tools, a gateway child process, and
//! snapshot filters.
#![allow(dead_code)] // each test crate uses a different part

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_openclaw");

/// Upper bound for one CLI run.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A temporary directory with `home/`, `tmp/` (TMPDIR, so default log files stay inside) and
/// `bin/` (fake tools), removed on drop.
pub struct Sandbox {
    pub root: PathBuf,
    pub home: PathBuf,
    pub tmp: PathBuf,
    pub bin: PathBuf,
    /// `PATH` for runs; none by default (so no real supervisor is ever reached).
    pub path: Option<String>,
}

impl Sandbox {
    pub fn new(tag: &str) -> Sandbox {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let base = std::env::temp_dir()
            .canonicalize()
            .expect("canonical temp dir");
        let root = base.join(format!("ocrs-svc-test-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (home, tmp, bin) = (root.join("home"), root.join("tmp"), root.join("bin"));
        for d in [&home, &tmp, &bin] {
            std::fs::create_dir_all(d).expect("create sandbox directory");
        }
        Sandbox {
            root,
            home,
            tmp,
            bin,
            path: None,
        }
    }

    /// The binary with a controlled environment, `--no-color` first.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", &self.home)
            .env("TMPDIR", &self.tmp)
            .env("NO_COLOR", "1")
            .arg("--no-color");
        if let Some(p) = &self.path {
            c.env("PATH", p);
        }
        c
    }

    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.cmd().args(args))
    }

    /// Installs an executable shell script as `bin/<name>`.
    pub fn tool(&self, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.bin.join(name);
        let tmp = self.bin.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, script).expect("write fake tool");
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
            .expect("chmod fake tool");
        std::fs::rename(&tmp, &path).expect("install fake tool");
    }

    /// `PATH` with the fake tools first, then the system's (for `sh`, `cat`, …).
    pub fn use_fake_tools(&mut self) {
        self.path = Some(format!("{}:/usr/bin:/bin", self.bin.display()));
    }

    pub fn unit_dir(&self) -> PathBuf {
        self.home.join(".config/systemd/user")
    }

    pub fn state_dir(&self, profile: Option<&str>) -> PathBuf {
        match profile {
            Some(p) => self.home.join(format!(".openclaw-{p}")),
            None => self.home.join(".openclaw"),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub struct Run {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn transcript(&self) -> String {
        format!(
            "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.transcript()))
    }
}

/// Runs to completion within [`RUN_LIMIT`]; a run that does not return is killed and fails.
pub fn run(cmd: &mut Command) -> Run {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn openclaw");
    let mut out = child.stdout.take().expect("stdout pipe");
    let mut err = child.stderr.take().expect("stderr pipe");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for openclaw") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("openclaw did not return within {RUN_LIMIT:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = String::from_utf8(out_reader.join().expect("stdout reader")).expect("UTF-8");
    let stderr = String::from_utf8(err_reader.join().expect("stderr reader")).expect("UTF-8");
    let Some(code) = status.code() else {
        panic!("openclaw was killed by a signal: {cmd:?}\nstderr:\n{stderr}");
    };
    assert!(
        code != 101 && !stderr.contains("panicked"),
        "openclaw panicked: {cmd:?}\nstderr:\n{stderr}"
    );
    let mut command: Vec<String> = cmd
        .get_envs()
        .filter(|(k, _)| {
            let k = k.to_str().unwrap_or("");
            !matches!(k, "HOME" | "NO_COLOR" | "TMPDIR" | "PATH") && !k.starts_with("FAKE_")
        })
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_str()?, v?.to_str()?)))
        .collect();
    command.push("openclaw".into());
    command.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    Run {
        command: command.join(" "),
        code,
        stdout,
        stderr,
    }
}

/// A loopback port with nothing listening (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// `GET /health` answers 200.
pub fn http_health_ok(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    buf.starts_with(b"HTTP/1.1 200")
}

/// A gateway child process, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Gateway {
    pub child: Child,
    pub port: u16,
}

impl Gateway {
    /// Starts `openclaw <profile args> gateway run --port <free>` with the profile's existing
    /// config and waits (20 s at most per attempt) for `/health` and the run file.
    pub fn start(sb: &Sandbox, profile_args: &[&str], state_dir: &Path) -> Gateway {
        for attempt in 0..5 {
            let port = free_port();
            let log = |name: &str| {
                std::fs::File::create(sb.root.join(format!("gateway-{port}-{attempt}.{name}")))
                    .expect("create gateway output file")
            };
            let child = sb
                .cmd()
                .args(profile_args)
                .args(["gateway", "run", "--port"])
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::from(log("stdout")))
                .stderr(Stdio::from(log("stderr")))
                .spawn()
                .expect("spawn gateway");
            let mut gw = Gateway { child, port };
            if gw.wait_ready(state_dir, Duration::from_secs(20)) {
                return gw;
            }
            gw.stop();
        }
        panic!("the gateway did not start (see {})", sb.root.display());
    }

    fn wait_ready(&mut self, state_dir: &Path, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let pid = u64::from(self.child.id());
        let run_file = state_dir.join("gateway.run.json");
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            let ours = std::fs::read_to_string(&run_file)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|r| r["pid"].as_u64() == Some(pid));
            if ours && http_health_ok(self.port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(&mut self) {
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

/// Escapes regex metacharacters.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Snapshot settings: the binary, the sandbox, ports, the date in log file names, tokens.
pub fn settings(sb: &Sandbox, ports: &[u16]) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(BIN), "[BIN]");
    s.add_filter(&regex_escape(&sb.home.display().to_string()), "[HOME]");
    s.add_filter(&regex_escape(&sb.root.display().to_string()), "[TMP]");
    for p in ports {
        s.add_filter(&format!(r"\b{p}\b"), "[PORT]");
    }
    s.add_filter(r"\d{4}-\d{2}-\d{2}\.log", "[DATE].log");
    s.add_filter(
        r"browser \d+, canvas \d+",
        "browser [PORT+2], canvas [PORT+4]",
    );
    s.add_filter(r"\b[0-9a-f]{64}\b", "[TOKEN]");
    s.set_omit_expression(true);
    s
}

/// Snapshot settings for a run, described by its command line. Use as
/// `run_settings(&sb, &ports, &r).bind(|| insta::assert_snapshot!("name", r.transcript()))` (the
/// assertion stays in the test file, so the snapshot is named after it).
pub fn run_settings(sb: &Sandbox, ports: &[u16], run: &Run) -> insta::Settings {
    let mut description = run
        .command
        .replace(&sb.home.display().to_string(), "[HOME]")
        .replace(&sb.root.display().to_string(), "[TMP]");
    for p in ports {
        description = description.replace(&p.to_string(), "[PORT]");
    }
    let mut s = settings(sb, ports);
    s.set_description(description);
    s
}

/// The permission bits of a path.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Sets the permission bits of a path.
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// A fresh `<temp>/<prefix>-<pid>-<tag>` directory with an empty `home/` inside (for tests that
/// build their own commands; the caller removes it).
pub fn scratch_dir(prefix: &str, tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("{prefix}-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("home")).expect("create scratch directory");
    d
}

/// Runs a command that must end by itself within `limit`, capturing its output; one that does
/// not is killed and fails the test.
pub fn run_to_end(mut c: Command, limit: Duration) -> std::process::Output {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("command did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
