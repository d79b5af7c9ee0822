//! The run file: `<state dir>/gateway.run.json`, written by a running gateway and removed when it
//! stops. Local CLI commands read it to find the gateway (pid, port, bind) and, when the gateway
//! generated a runtime-only token, to authenticate without the token ever touching the config.
//! The file is created with mode 0600 and replaced atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name inside the state directory.
pub const FILE_NAME: &str = "gateway.run.json";

/// What a running gateway tells local tools about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    pub pid: u32,
    pub port: u16,
    /// The bind mode (`loopback`, `lan`, …).
    pub bind: String,
    /// Every address the gateway listens on, e.g. `127.0.0.1:19001`.
    pub listen: Vec<String>,
    /// The config file the gateway loaded.
    pub config_path: String,
    /// The log file `logs.tail` reads.
    pub log_file: String,
    /// Epoch milliseconds when it started listening.
    pub started_at_ms: u64,
    pub version: String,
    /// Set only when the gateway generated a runtime-only token (no token configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_token: Option<String>,
}

/// The run file's path for a state directory.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// Writes the run file atomically (temp file + rename) with mode 0600.
pub fn write(state_dir: &Path, info: &RunInfo) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(state_dir)?;
    let target = path(state_dir);
    let tmp = state_dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let body = serde_json::to_vec_pretty(info).map_err(std::io::Error::other)?;
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &target)?;
    Ok(target)
}

/// Reads the run file; `None` when it is missing or unreadable (a stale or foreign file is the
/// caller's to judge, e.g. by probing the port).
pub fn read(state_dir: &Path) -> Option<RunInfo> {
    let text = std::fs::read(path(state_dir)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Removes the run file if it still belongs to this process.
pub fn remove_if_ours(state_dir: &Path) {
    if read(state_dir).is_some_and(|i| i.pid == std::process::id()) {
        let _ = std::fs::remove_file(path(state_dir));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_removal() {
        let dir = std::env::temp_dir().join(format!("ocrs-runfile-{}", std::process::id()));
        let info = RunInfo {
            pid: std::process::id(),
            port: 19001,
            bind: "loopback".into(),
            listen: vec!["127.0.0.1:19001".into()],
            config_path: "/x/openclaw.json".into(),
            log_file: "/tmp/openclaw/openclaw-2026-01-01.log".into(),
            started_at_ms: 1,
            version: "0.1.0".into(),
            runtime_token: Some("t".into()),
        };
        let p = write(&dir, &info).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(read(&dir), Some(info));
        remove_if_ours(&dir);
        assert_eq!(read(&dir), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
