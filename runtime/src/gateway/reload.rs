//! Hot reload: turning a new version of the config file into new settings, a plan, and actions.
//!
//! Every new version — seen by the file watcher, or written over RPC — goes through
//! [`Reloader::reload`]: the same [`startup::prepare`] that started the gateway (so flags, env and
//! file resolve exactly as at start-up), then the typed diff of the running config against the new
//! one, each changed path classified by its spec reload class. What happens next depends on
//! `gateway.reload.mode` (read from the *new* config, so changing the mode needs no restart):
//!
//! | mode | hot / none paths | restart paths |
//! |---|---|---|
//! | `off` | logged, not applied | logged, listed as pending |
//! | `hot` | applied at once | listed as pending in `health` |
//! | `hybrid` (default) | applied at once | applied, then an in-process restart |
//! | `restart` | applied, then an in-process restart | same |
//!
//! A version that fails to validate changes nothing: the last good config keeps running, the
//! problems are logged (one line each, with file:line:column) and shown in `health` and
//! `config.get`, and no connection is touched.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::startup::{self, StartError, StartOptions};
use super::state::{ConfigState, now_ms};
use super::{Gateway, Settings};
use crate::config::diff::{Change, Diff};
use crate::config::load::Env;
use crate::config::reload::ReloadClass;
use crate::config::watch::{ConfigWatcher, WatchEvent, WatchOptions};

/// `gateway.reload.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    Hot,
    Restart,
    Hybrid,
}

impl Mode {
    /// From the config; unknown or missing values mean `hybrid`, as in OpenClaw.
    pub fn of(config: &ConfigState) -> Mode {
        match config.get("gateway.reload.mode").and_then(Value::as_str) {
            Some("off") => Mode::Off,
            Some("hot") => Mode::Hot,
            Some("restart") => Mode::Restart,
            _ => Mode::Hybrid,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Hot => "hot",
            Mode::Restart => "restart",
            Mode::Hybrid => "hybrid",
        }
    }
}

/// The changed paths of one reload, by what applying them takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub hot: Vec<String>,
    pub none: Vec<String>,
    pub restart: Vec<String>,
}

impl Plan {
    /// Classifies a typed diff. A token or password change is hot only while the effective
    /// auth mode stays the same; otherwise the sessions' terms change and it needs a restart.
    pub fn from_changes(changes: Vec<Change>, auth_mode_changed: bool) -> Plan {
        let mut plan = Plan::default();
        for c in changes {
            let auth = c.path.starts_with("gateway.auth.");
            match c.reload {
                _ if auth && auth_mode_changed => plan.restart.push(c.path),
                ReloadClass::None => plan.none.push(c.path),
                ReloadClass::Hot(_) => plan.hot.push(c.path),
                ReloadClass::Restart => plan.restart.push(c.path),
            }
        }
        for v in [&mut plan.hot, &mut plan.none, &mut plan.restart] {
            v.sort();
            v.dedup();
        }
        plan
    }

    /// `hot [logging.level], restart [gateway.port]` (empty classes left out).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (name, v) in [
            ("hot", &self.hot),
            ("none", &self.none),
            ("restart", &self.restart),
        ] {
            if !v.is_empty() {
                parts.push(format!("{name} [{}]", v.join(", ")));
            }
        }
        if parts.is_empty() {
            "no effective change".into()
        } else {
            parts.join(", ")
        }
    }

    pub fn to_json(&self) -> Value {
        json!({ "hot": self.hot, "none": self.none, "restart": self.restart })
    }
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Same content as the running config.
    Unchanged,
    /// Applied; `restart` says whether an in-process restart was requested.
    Applied {
        plan: Plan,
        mode: Mode,
        restart: bool,
        hash: Option<String>,
    },
    /// Reload mode `off`: the change was only logged.
    Ignored { plan: Plan },
    /// The new version is invalid or refused; the last good config keeps running.
    Rejected { reason: String },
}

/// Everything needed to resolve settings again as at start-up.
pub struct Reloader {
    opts: StartOptions,
    env: Arc<dyn Env + Send + Sync>,
    /// One reload (or config write) at a time.
    lock: tokio::sync::Mutex<()>,
    watcher: std::sync::Mutex<Option<ConfigWatcher>>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl Reloader {
    /// `opts` are the start-up flags; `runtime_token` the token generated at start-up, if any
    /// (kept across reloads).
    pub fn new(
        mut opts: StartOptions,
        runtime_token: Option<String>,
        env: Arc<dyn Env + Send + Sync>,
    ) -> Reloader {
        opts.runtime_token = runtime_token;
        Reloader {
            opts,
            env,
            lock: tokio::sync::Mutex::new(()),
            watcher: std::sync::Mutex::new(None),
        }
    }

    /// Serializes config writes and reloads.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.lock.lock().await
    }

    /// Tells the watcher that this content was just applied by the gateway itself, so the echo
    /// from the file system is not applied twice.
    pub fn note_applied(&self, hash: String) {
        if let Ok(w) = self.watcher.lock()
            && let Some(w) = w.as_ref()
        {
            w.note_applied(hash);
        }
    }

    /// Checks a would-be config text as if it were the file at `path`.
    pub fn check_text(&self, path: &std::path::Path, text: String) -> crate::config::Checked {
        crate::config::check_text(path, text, &*self.env)
    }

    /// Resolves the config file again and applies it. The caller holds [`Reloader::lock`].
    pub fn reload(&self, g: &Gateway, origin: &str) -> Outcome {
        self.reload_with(g, origin, Duration::ZERO)
    }

    /// [`Reloader::reload`], waiting `restart_delay` before a restart the change needs.
    pub fn reload_with(&self, g: &Gateway, origin: &str, restart_delay: Duration) -> Outcome {
        let prepared = match startup::prepare(&self.opts, &*self.env) {
            Ok(p) => p,
            Err(StartError::InvalidConfig(checked)) => {
                let file = ConfigState::from_checked(&checked);
                for issue in checked.errors.iter() {
                    let at = crate::config::diagnostics::locate(&checked.sources, issue)
                        .map(|l| {
                            format!(
                                " ({}:{}:{})",
                                crate::config::diagnostics::display_name(&l.file),
                                l.line,
                                l.column
                            )
                        })
                        .unwrap_or_default();
                    tracing::error!(
                        "config reload: {}: {}{at}",
                        issue.display_path(),
                        issue.message
                    );
                }
                if let Some(e) = &checked.read_error {
                    tracing::error!("config reload: {e}");
                }
                let reason = format!(
                    "config invalid ({} problem(s)); keeping the last good config",
                    checked.errors.len().max(1)
                );
                tracing::warn!(origin, "{reason}");
                g.update_reload_status(|r| {
                    r.file = Some(Arc::new(file));
                    r.last_error = Some(reason.clone());
                });
                g.refresh_health();
                return Outcome::Rejected { reason };
            }
            Err(e) => {
                let reason = format!("config change not applied: {e}");
                tracing::warn!(origin, "{reason}");
                g.update_reload_status(|r| r.last_error = Some(reason.clone()));
                g.refresh_health();
                return Outcome::Rejected { reason };
            }
        };
        let old = g.settings();
        let new = prepared.settings;
        if new.config.hash == old.config.hash {
            let had_problem = g.reload_status().file.is_some();
            g.update_reload_status(|r| {
                r.file = None;
                r.last_error = None;
            });
            if had_problem {
                g.refresh_health();
            }
            return Outcome::Unchanged;
        }
        let mut changes = Vec::new();
        match (&old.config.typed, &new.config.typed) {
            (Some(a), Some(b)) => a.diff(b, "", &mut changes),
            _ => crate::config::diff::leaf(false, "", &mut changes),
        }
        let plan = Plan::from_changes(
            changes,
            old.auth.effective_mode() != new.auth.effective_mode(),
        );
        let mode = Mode::of(&new.config);
        if let Ok(w) = self.watcher.lock()
            && let Some(w) = w.as_ref()
        {
            w.set_debounce(debounce_of(&new.config));
        }
        if mode == Mode::Off {
            tracing::info!(
                origin,
                "config change: {} (not applied: gateway.reload.mode=off)",
                plan.summary()
            );
            g.update_reload_status(|r| {
                r.pending_restart = plan.hot.iter().chain(&plan.restart).cloned().collect();
                r.file = None;
                r.last_error = None;
            });
            g.refresh_health();
            return Outcome::Ignored { plan };
        }
        let restart = match mode {
            Mode::Hybrid => !plan.restart.is_empty(),
            Mode::Restart => !plan.restart.is_empty() || !plan.hot.is_empty(),
            Mode::Hot | Mode::Off => false,
        };
        let applied = if restart {
            new
        } else {
            keep_listeners(new, &old)
        };
        let hash = applied.config.hash.clone();
        let path = applied.config.path.clone();
        g.apply_settings(applied);
        g.update_reload_status(|r| {
            r.file = None;
            r.last_error = None;
            r.last_applied_ms = Some(now_ms());
            if mode == Mode::Hot {
                r.pending_restart.extend(plan.restart.iter().cloned());
                r.pending_restart.sort();
                r.pending_restart.dedup();
            }
        });
        tracing::info!(
            origin,
            mode = mode.as_str(),
            "config change: {}",
            plan.summary()
        );
        if mode == Mode::Hot && !plan.restart.is_empty() {
            tracing::warn!(
                "restart needed to apply [{}] (gateway.reload.mode=hot: not restarting)",
                plan.restart.join(", ")
            );
        }
        g.refresh_health();
        g.broadcast(
            "config.changed",
            &json!({ "path": path.display().to_string(), "hash": hash, "ts": now_ms() }),
            false,
        );
        if restart {
            g.request_restart(format!("config change: {}", plan.summary()), restart_delay);
        }
        Outcome::Applied {
            plan,
            mode,
            restart,
            hash,
        }
    }

    /// Starts watching the config file (and its includes); every settled change is reloaded.
    pub fn watch(self: &Arc<Self>, g: &Gateway) -> std::io::Result<()> {
        let config = g.config();
        let opts = WatchOptions {
            debounce: debounce_of(&config),
        };
        let initial = config.content_hash.clone();
        let (watcher, mut rx) = ConfigWatcher::start(
            config.path.clone(),
            config.included.clone(),
            initial,
            opts,
            self.env.clone(),
        )?;
        if let Ok(mut w) = self.watcher.lock() {
            *w = Some(watcher);
        }
        let me = self.clone();
        let g = g.clone();
        let shutdown = g.shutdown_token().clone();
        tokio::spawn(async move {
            loop {
                let ev = tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break,
                    ev = rx.recv() => ev,
                };
                let Some(ev) = ev else { break };
                let _guard = me.lock().await;
                let origin = match ev {
                    WatchEvent::Changed { .. } => "file change",
                    WatchEvent::Invalid { .. } => "file change (invalid)",
                };
                let me2 = me.clone();
                let g2 = g.clone();
                // prepare() reads files: keep it off the async workers.
                let _ = tokio::task::spawn_blocking(move || me2.reload(&g2, origin)).await;
            }
            if let Ok(mut w) = me.watcher.lock() {
                w.take();
            }
        });
        Ok(())
    }
}

/// `gateway.reload.debounceMs` (default 300).
fn debounce_of(config: &ConfigState) -> Duration {
    config
        .get("gateway.reload.debounceMs")
        .and_then(Value::as_u64)
        .map_or(
            crate::config::watch::DEFAULT_DEBOUNCE,
            Duration::from_millis,
        )
}

/// New settings without the parts only a restart may change (where to listen).
fn keep_listeners(mut new: Settings, old: &Settings) -> Settings {
    new.port = old.port;
    new.bind = old.bind.clone();
    new.addrs = old.addrs.clone();
    new
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str) -> Change {
        Change {
            path: path.into(),
            reload: crate::config::reload::reload_class(path),
        }
    }

    #[test]
    fn plan_classifies_by_spec_reload_class() {
        let plan = Plan::from_changes(
            vec![
                change("logging.level"),
                change("gateway.port"),
                change("gateway.reload.mode"),
                change("gateway.auth.token"),
                change("models.providers.x.baseUrl"),
            ],
            false,
        );
        assert_eq!(plan.restart, vec!["gateway.port"]);
        assert_eq!(plan.none, vec!["gateway.reload.mode"]);
        assert!(plan.hot.contains(&"gateway.auth.token".to_string()));
        assert!(plan.hot.contains(&"logging.level".to_string()));
        assert!(plan.hot.contains(&"models.providers.x.baseUrl".to_string()));
        assert_eq!(
            plan.summary(),
            "hot [gateway.auth.token, logging.level, models.providers.x.baseUrl], none [gateway.reload.mode], restart [gateway.port]"
        );
    }

    #[test]
    fn a_token_change_with_a_new_auth_mode_needs_a_restart() {
        let plan = Plan::from_changes(
            vec![change("gateway.auth.token"), change("gateway.auth.mode")],
            true,
        );
        assert!(plan.hot.is_empty());
        assert_eq!(
            plan.restart,
            vec!["gateway.auth.mode", "gateway.auth.token"]
        );
    }

    #[test]
    fn unknown_modes_mean_hybrid() {
        let mut c = ConfigState::missing(std::path::PathBuf::from("/x"));
        assert_eq!(Mode::of(&c), Mode::Hybrid);
        c.parsed = json!({ "gateway": { "reload": { "mode": "hot" } } });
        assert_eq!(Mode::of(&c), Mode::Hot);
        c.parsed = json!({ "gateway": { "reload": { "mode": "sometimes" } } });
        assert_eq!(Mode::of(&c), Mode::Hybrid);
    }
}
