//! The gateway under test as a child process: a throwaway HOME, loopback only, a free port,
//! stdout scanned for the `ready_ms=` field of the "listening on" line, and always stopped with
//! SIGTERM (the `kill` command) and a bounded wait, SIGKILL as the last resort.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long to wait for the port to accept connections.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for the process to exit after SIGTERM before SIGKILL.
const TERM_TIMEOUT: Duration = Duration::from_secs(5);

/// A temporary directory removed on drop.
#[derive(Debug)]
pub struct TempHome(PathBuf);

impl TempHome {
    pub fn new() -> std::io::Result<TempHome> {
        let base = std::env::temp_dir();
        for i in 0..1000u32 {
            let p = base.join(format!("openclaw-bench-{}-{i}", std::process::id()));
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(TempHome(p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free temp dir name"))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free loopback port (bound and released; the gateway binds it right after).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// How to launch the gateway, besides its binary and HOME.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Extra environment (`KEY=VALUE`), e.g. `TOKIO_WORKER_THREADS=1` for experiments.
    pub env: Vec<(String, String)>,
    /// Pin the gateway to these CPUs (`taskset -c LIST`).
    pub taskset: Option<String>,
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    child: Option<Child>,
    pub pid: u32,
    pub addr: SocketAddr,
    pub token: String,
    /// Time from spawn to the first accepted TCP connect.
    pub listen_ms: f64,
    ready_rx: mpsc::Receiver<f64>,
    stderr_rx: mpsc::Receiver<String>,
}

/// Removes ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c2 in chars.by_ref() {
                    if c2.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// The `ready_ms=<float>` field of a log line, if any.
pub fn parse_ready_ms(line: &str) -> Option<f64> {
    let line = strip_ansi(line);
    let at = line.find("ready_ms=")? + "ready_ms=".len();
    let rest = line[at..].trim_start_matches('"');
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

impl Gateway {
    /// Spawns `openclaw gateway --dev --allow-unconfigured --port N --token T` with HOME=`home`
    /// and polls the port every millisecond until it accepts a connection.
    pub fn start(bin: &Path, home: &Path, launch: &Launch) -> Result<Gateway, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let token = format!("bench-{}-{port}", std::process::id());
        // `taskset` execs the gateway, so the child's pid stays the gateway's.
        let mut cmd = match &launch.taskset {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.args(["gateway", "--dev", "--allow-unconfigured", "--port"])
            .arg(port.to_string())
            .args(["--token", &token])
            .env_clear()
            .env("HOME", home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("TMPDIR", home)
            .current_dir(home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.envs(launch.env.iter().map(|(k, v)| (k, v)));
        let t0 = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let pid = child.id();
        // Drain stdout (it must never fill up and block the gateway); report ready_ms once.
        let (ready_tx, ready_rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            thread::spawn(move || {
                let mut sent = false;
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if !sent && let Some(v) = parse_ready_ms(&line) {
                        let _ = ready_tx.send(v);
                        sent = true;
                    }
                }
            });
        }
        let (stderr_tx, stderr_rx) = mpsc::channel();
        if let Some(mut err) = child.stderr.take() {
            thread::spawn(move || {
                let mut s = String::new();
                let _ = err.read_to_string(&mut s);
                let _ = stderr_tx.send(s);
            });
        }
        let mut g = Gateway {
            child: Some(child),
            pid,
            addr,
            token,
            listen_ms: 0.0,
            ready_rx,
            stderr_rx,
        };
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                g.listen_ms = t0.elapsed().as_secs_f64() * 1000.0;
                return Ok(g);
            }
            if let Some(Ok(Some(status))) = g.child.as_mut().map(Child::try_wait) {
                let err = g
                    .stderr_rx
                    .recv_timeout(Duration::from_secs(1))
                    .unwrap_or_default();
                g.child = None;
                return Err(format!(
                    "gateway exited before listening ({status}): {}",
                    err.trim()
                ));
            }
            if t0.elapsed() > LISTEN_TIMEOUT {
                let _ = g.stop();
                return Err(format!(
                    "gateway did not listen on {addr} within {LISTEN_TIMEOUT:?}"
                ));
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// The gateway's own `ready_ms` (spawn → listening, measured inside the process).
    pub fn ready_ms(&self, wait: Duration) -> Option<f64> {
        self.ready_rx.recv_timeout(wait).ok()
    }

    /// SIGTERM via `kill`, then wait up to 5 s (SIGKILL after that). Returns the time from
    /// the signal to the exit, and whether it exited by itself.
    pub fn stop(&mut self) -> Option<(Duration, bool)> {
        let mut child = self.child.take()?;
        if let Ok(Some(_)) = child.try_wait() {
            return Some((Duration::ZERO, true));
        }
        let t0 = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stderr(Stdio::null())
            .status();
        while t0.elapsed() < TERM_TIMEOUT {
            if let Ok(Some(_)) = child.try_wait() {
                return Some((t0.elapsed(), true));
            }
            thread::sleep(Duration::from_millis(1));
        }
        let _ = Command::new("kill")
            .args(["-KILL", &self.pid.to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
        Some((t0.elapsed(), false))
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_ms_is_found_with_or_without_colour() {
        assert_eq!(
            parse_ready_ms(
                "2026-01-01T00:00:00Z  INFO listening on ws://127.0.0.1:1 (PID 3) listen=127.0.0.1:1 pid=3 ready_ms=4.2"
            ),
            Some(4.2)
        );
        assert_eq!(
            parse_ready_ms("\u{1b}[3mready_ms\u{1b}[0m\u{1b}[2m=\u{1b}[0m12.5 x"),
            Some(12.5)
        );
        assert_eq!(parse_ready_ms("ready_ms=\"7.0\""), Some(7.0));
        assert_eq!(parse_ready_ms("nothing here"), None);
    }
}
