//! `config.set`, `config.patch` and `config.apply`: validated, atomic, comment-preserving writes of
//! the config file over RPC, applied at once (no debounce) through the same reload path as an edit
//! on disk.
//!
//! Order of checks: the writer's rate limit (3 per 60 s per `deviceId|clientIp`), then — holding the
//! reload lock, so writes and reloads never interleave — `baseHash` against the file as it is on
//! disk now, then validation of the resulting text. Nothing is written unless all pass.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::Gateway;
use super::reload::Outcome;
use super::state::hash_text;
use crate::config::{edit, write};
use crate::generated::protocol::ErrorCode;
use crate::protocol_support::RpcError;

/// Config writes allowed per writer within [`WRITE_WINDOW`].
pub const WRITES_PER_WINDOW: usize = 3;
pub const WRITE_WINDOW: Duration = Duration::from_secs(60);
/// `config.apply`'s default wait before a restart the change needs.
pub const DEFAULT_RESTART_DELAY_MS: u64 = 2000;

/// Sliding-window limiter of config writes, by `deviceId|clientIp`.
#[derive(Debug, Default)]
pub struct WriteLimiter {
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl WriteLimiter {
    /// Counts a write; `Err(wait)` when the writer is over the limit.
    pub fn check(
        &self,
        key: &str,
        now: Instant,
        limit: usize,
        window: Duration,
    ) -> Result<(), Duration> {
        let Ok(mut recent) = self.recent.lock() else {
            return Ok(());
        };
        if recent.len() > 4096 {
            recent.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let q = recent.entry(key.to_string()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.len() >= limit {
            let oldest = q.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.duration_since(oldest)));
        }
        q.push_back(now);
        Ok(())
    }
}

/// Which write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Set,
    Patch,
    Apply,
}

impl Kind {
    fn method(self) -> &'static str {
        match self {
            Kind::Set => "config.set",
            Kind::Patch => "config.patch",
            Kind::Apply => "config.apply",
        }
    }
}

/// One write request.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub kind: Kind,
    pub raw: String,
    pub base_hash: Option<String>,
    pub replace_paths: Vec<String>,
    pub restart_delay_ms: Option<u64>,
}

fn unavailable(msg: impl Into<String>) -> RpcError {
    RpcError::new(ErrorCode::Unavailable, msg)
}

/// Runs a write; the reply payload on success.
pub async fn run(g: &Gateway, writer: &str, req: WriteRequest) -> Result<Value, RpcError> {
    let Some(reloader) = g.reloader().cloned() else {
        return Err(unavailable(
            "config writes are not available: this gateway does not manage its config file",
        ));
    };
    let settings = g.settings();
    if let Err(wait) = g.write_limiter().check(
        writer,
        Instant::now(),
        settings.config_writes_per_window,
        settings.config_write_window,
    ) {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut e = unavailable(format!(
            "rate limit exceeded for {}: at most {} config writes per {} s; retry after {} s",
            req.kind.method(),
            settings.config_writes_per_window,
            settings.config_write_window.as_secs(),
            ms.div_ceil(1000)
        ));
        e.retryable = Some(true);
        e.retry_after_ms = Some(ms);
        return Err(e);
    }
    let _guard = reloader.lock().await;
    let path = g.config().path.clone();
    let read_path = path.clone();
    let current = tokio::task::spawn_blocking(move || match std::fs::read_to_string(&read_path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    })
    .await
    .map_err(|e| unavailable(format!("config read failed: {e}")))?
    .map_err(|e| unavailable(format!("cannot read {}: {e}", path.display())))?;

    // baseHash: required once the file exists, and must match what is on disk now.
    if let Some(text) = &current {
        let on_disk = hash_text(text);
        match &req.base_hash {
            None => {
                return Err(RpcError::invalid_request(
                    "config base hash required; re-run config.get and retry",
                )
                .with_details(json!({ "code": "BASE_HASH_REQUIRED", "hash": on_disk })));
            }
            Some(h) if *h != on_disk => {
                return Err(RpcError::invalid_request(
                    "config changed since last load; re-run config.get and retry",
                )
                .with_details(json!({ "code": "BASE_HASH_MISMATCH", "hash": on_disk })));
            }
            Some(_) => {}
        }
    }

    let before = current.clone().unwrap_or_default();
    let (new_text, changed_paths) = match req.kind {
        Kind::Set | Kind::Apply => {
            let changed = match (edit::document_json(&before), edit::document_json(&req.raw)) {
                (Ok(a), Ok(b)) => edit::changed_paths(&a, &b),
                _ => Vec::new(),
            };
            (req.raw.clone(), changed)
        }
        Kind::Patch => {
            if req.replace_paths.len() > edit::MAX_REPLACE_PATHS {
                return Err(RpcError::invalid_request(format!(
                    "invalid config.patch params: replacePaths has more than {} entries",
                    edit::MAX_REPLACE_PATHS
                )));
            }
            let patch = edit::parse_value(&req.raw)
                .map_err(|e| RpcError::invalid_request(format!("invalid config.patch raw: {e}")))?;
            if !patch.is_object() {
                return Err(RpcError::invalid_request(
                    "invalid config.patch raw: the patch must be an object",
                ));
            }
            let patched = edit::merge_patch(&before, &patch, &req.replace_paths)
                .map_err(|e| RpcError::invalid_request(format!("config.patch: {e}")))?;
            (patched.text, patched.changed_paths)
        }
    };

    // Validate the result where it will live ($include and ${VAR} resolve as for the real file).
    let checked = reloader.check_text(&path, new_text.clone());
    if !checked.is_valid() {
        let issues: Vec<Value> = checked
            .errors
            .iter()
            .map(|i| {
                let mut v = json!({ "path": i.display_path(), "message": i.message });
                if let (Some(loc), Some(m)) = (
                    crate::config::diagnostics::locate(&checked.sources, i),
                    v.as_object_mut(),
                ) {
                    m.insert("line".into(), json!(loc.line));
                    m.insert("column".into(), json!(loc.column));
                }
                v
            })
            .collect();
        let mut msg = format!("invalid config: {} problem(s)", issues.len().max(1));
        if let Some(first) = checked.errors.first() {
            msg.push_str(&format!(
                " (first: {}: {})",
                first.display_path(),
                first.message
            ));
        }
        if let Some(e) = &checked.read_error {
            msg.push_str(&format!(" ({e})"));
        }
        return Err(RpcError::invalid_request(msg).with_details(json!({ "issues": issues })));
    }
    let new_hash = hash_text(&new_text);
    if current.as_deref() == Some(new_text.as_str()) {
        return Ok(json!({
            "ok": true,
            "noop": true,
            "path": path.display().to_string(),
            "hash": new_hash,
            "changedPaths": [],
        }));
    }

    // Write, then apply at once; the watcher's echo of this content is ignored.
    if let Some(h) = crate::config::watch::content_hash(&checked) {
        reloader.note_applied(h);
    }
    let write_path = path.clone();
    let bytes = new_text.clone().into_bytes();
    let outcome = tokio::task::spawn_blocking(move || write::write_atomic(&write_path, &bytes))
        .await
        .map_err(|e| unavailable(format!("config write failed: {e}")))?
        .map_err(|e| unavailable(format!("cannot write {}: {e}", path.display())))?;
    let delay = Duration::from_millis(req.restart_delay_ms.unwrap_or(if req.kind == Kind::Apply {
        DEFAULT_RESTART_DELAY_MS
    } else {
        0
    }));
    let r2 = reloader.clone();
    let g2 = g.clone();
    let method = req.kind.method();
    let applied = tokio::task::spawn_blocking(move || r2.reload_with(&g2, method, delay))
        .await
        .map_err(|e| unavailable(format!("config reload failed: {e}")))?;
    let mut out = json!({
        "ok": true,
        "path": path.display().to_string(),
        "hash": new_hash,
        "changedPaths": changed_paths,
        "backup": outcome.backup.as_ref().map(|b: &PathBuf| b.display().to_string()),
    });
    if let Some(m) = out.as_object_mut() {
        match applied {
            Outcome::Applied {
                plan,
                mode,
                restart,
                ..
            } => {
                m.insert("plan".into(), plan.to_json());
                m.insert("reloadMode".into(), json!(mode.as_str()));
                m.insert(
                    "restart".into(),
                    json!({ "scheduled": restart, "delayMs": if restart { delay.as_millis() as u64 } else { 0 } }),
                );
            }
            Outcome::Ignored { plan } => {
                m.insert("plan".into(), plan.to_json());
                m.insert("reloadMode".into(), json!("off"));
                m.insert(
                    "restart".into(),
                    json!({ "scheduled": false, "delayMs": 0 }),
                );
            }
            Outcome::Unchanged => {}
            Outcome::Rejected { reason } => {
                // Written, but the gateway could not put it in force (e.g. a refused bind
                // setting): say so rather than pretend.
                m.insert("applied".into(), json!(false));
                m.insert("reason".into(), json!(reason));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn three_writes_per_minute_per_writer() {
        let l = WriteLimiter::default();
        let w = Duration::from_secs(60);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check("dev|127.0.0.1", t0, 3, w).is_ok());
        }
        let wait = l.check("dev|127.0.0.1", t0 + Duration::from_secs(10), 3, w);
        assert_eq!(wait, Err(Duration::from_secs(50)));
        // Another writer has its own budget.
        assert!(l.check("other|127.0.0.1", t0, 3, w).is_ok());
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(l.check("dev|127.0.0.1", Instant::now(), 3, w).is_ok());
    }
}
