//! Checks shared by `doctor`, `security audit` and `secrets audit`: what the config and state
//! directory hold ([`Subject`]), plaintext secrets with their `file:line` ([`plaintext_secrets`]),
//! file permissions and their repair ([`permission_problems`], [`tighten`]), how the gateway is
//! exposed and authenticated ([`Exposure`], [`weak_secret`]), and whether the gateway port is free
//! or held by a gateway ([`probe_port`]).
//!
//! The functions here report facts; each command turns them into [`Finding`]s with its own check
//! ids and severities.

use std::io::{Read, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use runtime::config::migrate::{Node, Span, Spanned};
use runtime::config::schema;
use runtime::config::{Checked, ReadError, paths};
use runtime::gateway::runfile::{self, RunInfo};
use serde::Serialize;
use serde_json::Value;

use crate::Ctx;
use crate::cmd::rpc::{self, BadPort, PortSource};

/// How much a finding matters. `doctor` uses info, warning and error; `security audit` uses info,
/// warning and critical. Anything above info needs attention (exit code 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

/// One problem a check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub check_id: String,
    pub severity: Severity,
    pub message: String,
    /// The config path it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `file:line` in the config (or the file it is about).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// `--fix` can repair it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fixable: bool,
}

impl Finding {
    pub fn new(
        check_id: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            check_id: check_id.into(),
            severity,
            message: message.into(),
            path: None,
            location: None,
            fix: None,
            fixable: false,
        }
    }

    pub fn fixable(mut self, yes: bool) -> Self {
        self.fixable = yes;
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn location(mut self, location: Option<String>) -> Self {
        self.location = location;
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// `[severity] checkId path (file:line) - message`, then `  fix: …`.
    pub fn render(&self) -> String {
        let mut s = format!("[{}] {}", self.severity.as_str(), self.check_id);
        if let Some(p) = &self.path {
            s.push(' ');
            s.push_str(p);
        }
        if let Some(l) = &self.location {
            s.push_str(&format!(" ({l})"));
        }
        s.push_str(" - ");
        s.push_str(&self.message);
        s.push('\n');
        if let Some(f) = &self.fix {
            s.push_str("  fix: ");
            s.push_str(f);
            s.push('\n');
        }
        s
    }
}

/// Whether any finding needs attention (is above info).
pub fn needs_attention(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity > Severity::Info)
}

/// The `--fix` part of a text report: `Fixed:` and one `  - ` line each, or `nothing` when empty.
pub fn fixed_section(nothing: &str, fixed: &[String]) -> String {
    if fixed.is_empty() {
        return format!("{nothing}\n");
    }
    let mut s = "Fixed:\n".to_string();
    for f in fixed {
        s.push_str(&format!("  - {f}\n"));
    }
    s
}

/// `N info, N warnings, …` for a summary line (only the levels present).
pub fn tally(findings: &[Finding]) -> String {
    let mut parts = Vec::new();
    for sev in [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ] {
        let n = findings.iter().filter(|f| f.severity == sev).count();
        if n > 0 {
            let word = match (sev, n) {
                (Severity::Info | Severity::Critical, _) | (_, 1) => sev.as_str().to_string(),
                (_, _) => format!("{}s", sev.as_str()),
            };
            parts.push(format!("{n} {word}"));
        }
    }
    parts.join(", ")
}

/// `~/…` for paths under the home directory.
pub use crate::report::shorten;

fn base_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

// ---------------------------------------------------------------------------------------------
// What is being checked

/// The config and state directory the commands look at.
#[derive(Debug)]
pub struct Subject {
    pub state_dir: PathBuf,
    /// The config path as resolved (before following symlinks).
    pub config_path: PathBuf,
    /// The checked config (`read_error` is `NotFound` when there is no file).
    pub checked: Checked,
    /// The merged config tree (`Null` when it could not be parsed).
    pub tree: Value,
    /// The run file of a gateway that is running.
    pub run: Option<RunInfo>,
}

impl Subject {
    pub fn load(ctx: &Ctx<'_>) -> Result<Subject, String> {
        let config_path =
            paths::config_path(ctx.env, &ctx.profile, &ctx.cwd).map_err(|e| e.to_string())?;
        let state_dir =
            paths::state_dir(ctx.env, &ctx.profile, &ctx.cwd).map_err(|e| e.to_string())?;
        Ok(Subject::at(ctx, state_dir, config_path))
    }

    /// [`Subject::load`], printing the problem as `[openclaw] …` on stderr; `Err` is the exit code.
    pub fn load_or_report(ctx: &mut Ctx<'_>) -> Result<Subject, u8> {
        Subject::load(ctx).map_err(|e| {
            let _ = writeln!(ctx.err, "[openclaw] {e}");
            1
        })
    }

    /// Re-reads everything (after `--fix` changed things).
    pub fn reload(&self, ctx: &Ctx<'_>) -> Subject {
        Subject::at(ctx, self.state_dir.clone(), self.config_path.clone())
    }

    fn at(ctx: &Ctx<'_>, state_dir: PathBuf, config_path: PathBuf) -> Subject {
        let checked = runtime::config::validate_file(&config_path, ctx.env);
        let tree = checked.root.as_ref().map_or(Value::Null, Spanned::to_json);
        let run = runfile::read(&state_dir).filter(|r| rpc::pid_alive(r.pid));
        Subject {
            state_dir,
            config_path,
            checked,
            tree,
            run,
        }
    }

    pub fn config_exists(&self) -> bool {
        !matches!(self.checked.read_error, Some(ReadError::NotFound))
    }

    /// A string at a `/`-pointer of the merged config.
    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.tree.pointer(pointer).and_then(Value::as_str)
    }

    /// `file:line` (the file's base name) of a secret found by [`plaintext_secrets`].
    pub fn secret_location(s: &PlainSecret) -> String {
        format!("{}:{}", base_name(&s.file), s.line)
    }

    /// `file:line` of a span.
    pub fn location(&self, span: Span) -> Option<String> {
        let file = self.checked.sources.get(span.src)?;
        let lc = self.checked.sources.line_col(span)?;
        Some(format!("{}:{}", base_name(&file.path), lc.line))
    }

    /// `file:line` of the value at a dotted config path, when it is in a file.
    pub fn location_of(&self, dotted: &str) -> Option<String> {
        let root = self.checked.root.as_ref()?;
        let v = root.pointer(dotted.split('.'))?;
        self.location(v.span)
    }
}

// ---------------------------------------------------------------------------------------------
// Plaintext secrets

/// A secret written into a config file as plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlainSecret {
    /// Dotted config path.
    pub path: String,
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// The environment variable a SecretRef could name instead.
    pub env_var: String,
}

impl PlainSecret {
    /// A SecretRef to use instead, as JSON5.
    pub fn secret_ref(&self) -> String {
        format!(
            "{{ source: \"env\", provider: \"default\", id: \"{}\" }}",
            self.env_var
        )
    }
}

/// Inline `env` variables whose names say they hold a credential.
fn secret_like_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"]
        .iter()
        .any(|w| n.contains(w))
}

/// The env var a secret at `path` would naturally come from: the one the schema binds to it, or
/// the path in upper snake case.
fn env_var_for(path: &str) -> String {
    if let Some(k) = runtime::generated::config::KEYS
        .iter()
        .find(|k| k.path == path)
        .and_then(|k| k.env)
    {
        return k.to_string();
    }
    let mut out = String::new();
    let mut prev_lower = false;
    for c in path.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    let out = out.trim_matches('_').to_string();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("OPENCLAW_{out}")
    } else {
        out
    }
}

/// Every secret-bearing config value that holds a literal string (not a SecretRef, not a
/// `${VAR}` reference), with where it is written. Values are never returned.
pub fn plaintext_secrets(checked: &Checked) -> Vec<PlainSecret> {
    let mut out = Vec::new();
    let Some(root) = &checked.root else {
        return out;
    };
    schema::visit_secrets(root, &mut |path, v| {
        push_plain(checked, v, path, &env_var_for(path), &mut out)
    });
    // Inline env variables with credential-like names.
    if let Some(env) = root.get("env") {
        for m in env.members() {
            if m.key == "vars" {
                for v in m.value.members() {
                    if secret_like_name(&v.key) {
                        push_plain(
                            checked,
                            &v.value,
                            &format!("env.vars.{}", v.key),
                            &v.key,
                            &mut out,
                        );
                    }
                }
            } else if secret_like_name(&m.key) {
                push_plain(
                    checked,
                    &m.value,
                    &format!("env.{}", m.key),
                    &m.key,
                    &mut out,
                );
            }
        }
    }
    out.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    out.dedup();
    out
}

fn push_plain(
    checked: &Checked,
    v: &Spanned,
    path: &str,
    env_var: &str,
    out: &mut Vec<PlainSecret>,
) {
    let Node::String(s) = &v.value else {
        return;
    };
    if s.is_empty() {
        return;
    }
    let Some(file) = checked.sources.get(v.span.src) else {
        return;
    };
    // Text that came from the environment, or a `${VAR}` reference, is not written in the file.
    if file.path.to_string_lossy().starts_with('$') {
        return;
    }
    let raw = file.text.get(v.span.start..v.span.end).unwrap_or("");
    if raw.contains("${") {
        return;
    }
    let Some(lc) = checked.sources.line_col(v.span) else {
        return;
    };
    out.push(PlainSecret {
        path: path.to_string(),
        file: file.path.clone(),
        line: lc.line,
        column: lc.column,
        env_var: env_var.to_string(),
    });
}

// ---------------------------------------------------------------------------------------------
// Permissions

/// A file or directory others can read (or write) although it holds secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermProblem {
    pub path: PathBuf,
    /// Current permission bits.
    pub mode: u32,
    /// What they should be at most (0700 for directories, 0600 for files).
    pub want: u32,
    pub is_dir: bool,
}

impl PermProblem {
    pub fn describe(&self, ctx: &Ctx<'_>) -> String {
        let what = if self.is_dir { "directory" } else { "file" };
        let who = match (self.mode & 0o070 != 0, self.mode & 0o007 != 0) {
            (true, true) => "its group and other users",
            (true, false) => "its group",
            _ => "other users",
        };
        format!(
            "{what} {} is mode {:04o}: {who} can {} it",
            shorten(ctx, &self.path),
            self.mode,
            if self.is_dir {
                "list and enter"
            } else {
                "read"
            }
        )
    }

    /// The mode [`tighten`] sets: the owner's bits kept, group and other bits cleared.
    pub fn fixed_mode(&self) -> u32 {
        self.mode & 0o700
    }
}

/// What should be private: the state directory, the config, its backup and includes, the run file,
/// the `.env` file, and the credential stores OpenClaw keeps in the state directory.
pub fn private_paths(subject: &Subject) -> Vec<(PathBuf, bool)> {
    let mut out: Vec<(PathBuf, bool)> = Vec::new();
    let sd = &subject.state_dir;
    if sd.is_dir() {
        out.push((sd.clone(), true));
    }
    let mut files = vec![
        subject.config_path.clone(),
        runtime::config::write::backup_path(&subject.config_path),
        runfile::path(sd),
        sd.join(".env"),
    ];
    files.extend(subject.checked.included.iter().cloned());
    for sub in ["credentials", "devices", "identity"] {
        let dir = sd.join(sub);
        if dir.is_dir() {
            out.push((dir.clone(), true));
            if let Ok(rd) = std::fs::read_dir(&dir) {
                let mut names: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
                names.sort();
                files.extend(names.into_iter().filter(|p| p.is_file()));
            }
        }
    }
    for f in files {
        if f.is_file() && !out.iter().any(|(p, _)| *p == f) {
            out.push((f, false));
        }
    }
    out
}

/// The private paths whose group or other bits are set.
pub fn permission_problems(subject: &Subject) -> Vec<PermProblem> {
    private_paths(subject)
        .into_iter()
        .filter_map(|(path, is_dir)| {
            let mode = std::fs::metadata(&path).ok()?.permissions().mode() & 0o7777;
            (mode & 0o077 != 0).then_some(PermProblem {
                path,
                mode,
                want: if is_dir { 0o700 } else { 0o600 },
                is_dir,
            })
        })
        .collect()
}

/// Clears the group and other bits of a path (`chmod go-rwx`).
pub fn tighten(p: &PermProblem) -> std::io::Result<()> {
    std::fs::set_permissions(&p.path, std::fs::Permissions::from_mode(p.fixed_mode()))
}

/// Tightens every path of [`permission_problems`] (`--fix` of `doctor` and `security audit`):
/// one line per path saying what changed or why it could not, and whether any chmod failed.
pub fn fix_permissions(ctx: &Ctx<'_>, subject: &Subject) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    let mut failed = false;
    for p in permission_problems(subject) {
        let shown = shorten(ctx, &p.path);
        match tighten(&p) {
            Ok(()) => lines.push(format!(
                "{shown}: mode {:04o} → {:04o}",
                p.mode,
                p.fixed_mode()
            )),
            Err(e) => {
                failed = true;
                lines.push(format!("could not chmod {shown}: {e}"));
            }
        }
    }
    (lines, failed)
}

// ---------------------------------------------------------------------------------------------
// Exposure and auth

/// Where a credential comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredSource {
    /// A literal in the config.
    Config,
    /// A SecretRef in the config (its value is not looked at).
    SecretRef,
    /// `OPENCLAW_GATEWAY_TOKEN` / `OPENCLAW_GATEWAY_PASSWORD`.
    Env,
}

/// How the gateway is reachable and how clients authenticate, as the config and environment say.
#[derive(Debug, Clone)]
pub struct Exposure {
    /// The bind mode (a legacy host alias is mapped to its mode).
    pub bind: String,
    /// Reachable from other machines (lan, tailnet, custom with a non-loopback host).
    pub non_loopback: bool,
    /// The auth mode in effect: explicit, or inferred from the credentials.
    pub auth_mode: String,
    pub token: Option<(String, CredSource)>,
    pub password: Option<(String, CredSource)>,
    pub tailscale: String,
}

impl Exposure {
    pub fn of(ctx: &Ctx<'_>, subject: &Subject) -> Exposure {
        let raw_bind = subject.str_at("/gateway/bind").unwrap_or("loopback");
        let (bind, alias_host) = match runtime::config::migrate::bind_alias(raw_bind) {
            Some((mode, host)) => (mode.to_string(), host),
            None => (raw_bind.to_string(), None),
        };
        let custom = alias_host.or_else(|| {
            subject
                .str_at("/gateway/customBindHost")
                .map(str::to_string)
        });
        let non_loopback = match bind.as_str() {
            "lan" | "tailnet" => true,
            "custom" => custom.is_some_and(|h| {
                h.parse::<std::net::IpAddr>()
                    .map_or(h != "localhost", |ip| !ip.is_loopback())
            }),
            _ => false,
        };
        let cred = |pointer: &str, env: &str| -> Option<(String, CredSource)> {
            match subject.tree.pointer(pointer) {
                Some(Value::String(s)) if !s.is_empty() => Some((s.clone(), CredSource::Config)),
                Some(Value::Object(_)) => Some((String::new(), CredSource::SecretRef)),
                _ => ctx
                    .env
                    .var(env)
                    .filter(|v| !v.is_empty())
                    .map(|v| (v, CredSource::Env)),
            }
        };
        let token = cred("/gateway/auth/token", "OPENCLAW_GATEWAY_TOKEN")
            .or_else(|| cred("/gateway/token", "OPENCLAW_GATEWAY_TOKEN"));
        let password = cred("/gateway/auth/password", "OPENCLAW_GATEWAY_PASSWORD");
        let auth_mode = subject
            .str_at("/gateway/auth/mode")
            .map(str::to_string)
            .unwrap_or_else(|| match (&token, &password) {
                (Some(_), None) => "token".into(),
                (None, Some(_)) => "password".into(),
                (Some(_), Some(_)) => "token".into(),
                (None, None) => "none".into(),
            });
        Exposure {
            bind,
            non_loopback,
            auth_mode,
            token,
            password,
            tailscale: subject
                .str_at("/gateway/tailscale/mode")
                .unwrap_or("off")
                .to_string(),
        }
    }

    /// Whether clients must present something to connect.
    pub fn has_auth(&self) -> bool {
        match self.auth_mode.as_str() {
            "token" => self.token.is_some(),
            "password" => self.password.is_some(),
            "trusted-proxy" => true,
            _ => false,
        }
    }
}

/// Secrets too easy to guess.
const COMMON: &[&str] = &[
    "admin",
    "changeme",
    "change-me",
    "default",
    "letmein",
    "openclaw",
    "password",
    "passw0rd",
    "qwerty",
    "secret",
    "test",
    "token",
    "12345678",
    "123456789",
    "1234567890",
    "example",
    "your-token",
    "your-token-here",
    "replace-me",
];

/// Shortest secret that is not flagged at all.
pub const GOOD_SECRET_LEN: usize = 24;
/// Shorter than this is critical.
pub const MIN_SECRET_LEN: usize = 12;

/// Why a secret is weak, and whether badly so (`true`: guessable; `false`: merely short).
pub fn weak_secret(s: &str) -> Option<(String, bool)> {
    let n = s.chars().count();
    let lower = s.to_ascii_lowercase();
    if COMMON.iter().any(|c| lower == *c) {
        return Some(("is a common placeholder word".into(), true));
    }
    let mut chars = s.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return Some(("repeats a single character".into(), true));
    }
    if n < MIN_SECRET_LEN {
        return Some((format!("is only {n} characters long"), true));
    }
    if s.chars().all(|c| c.is_ascii_digit()) && n < 20 {
        return Some((format!("is {n} digits only"), true));
    }
    if n < GOOD_SECRET_LEN {
        return Some((
            format!("is {n} characters long (use at least {GOOD_SECRET_LEN})"),
            false,
        ));
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The gateway port

/// What is on the gateway port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortState {
    /// Nothing accepts connections on 127.0.0.1:port.
    Free,
    /// An OpenClaw gateway answers `/health`.
    Gateway,
    /// Something else listens: the pids and names of the listeners that could be found.
    Other(Vec<(u32, String)>),
}

/// The gateway port (the precedence of [`rpc::port_by_precedence`]) and where it came from, worded
/// for findings.
pub fn resolve_port(ctx: &Ctx<'_>, subject: &Subject) -> Result<(u16, &'static str), String> {
    let (port, source) = rpc::port_by_precedence(ctx, subject.run.as_ref(), &subject.tree)
        .map_err(|bad| match bad {
            BadPort::Env(v) => {
                format!(
                    "OPENCLAW_GATEWAY_PORT \"{v}\" is not a port (use a number from 1 to 65535)"
                )
            }
            BadPort::Config(v) => {
                format!("gateway.port {v} is not a port (use a number from 1 to 65535)")
            }
        })?;
    let source = match source {
        PortSource::RunFile => "the running gateway's run file",
        PortSource::Env => "OPENCLAW_GATEWAY_PORT",
        PortSource::Dev => "the --dev default",
        PortSource::Config => "gateway.port",
        PortSource::Default => "the default",
    };
    Ok((port, source))
}

/// Connects to 127.0.0.1:`port` and asks `/health`; every step is bounded by `limit`.
pub fn probe_port(port: u16, limit: Duration) -> PortState {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, limit) else {
        return PortState::Free;
    };
    let _ = stream.set_read_timeout(Some(limit));
    let _ = stream.set_write_timeout(Some(limit));
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    let mut reply = Vec::new();
    if stream.write_all(request.as_bytes()).is_ok() {
        let _ = (&mut stream).take(16 * 1024).read_to_end(&mut reply);
    }
    let text = String::from_utf8_lossy(&reply);
    let ok_status = text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.0 200");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let gateway = ok_status
        && serde_json::from_str::<Value>(body.trim())
            .is_ok_and(|v| v["ok"] == Value::Bool(true) && v["status"] == "live");
    if gateway {
        return PortState::Gateway;
    }
    let listeners = runtime::gateway::startup::pids_listening_on(port)
        .into_iter()
        .map(|pid| {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            (pid, name)
        })
        .collect();
    PortState::Other(listeners)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_secrets() {
        assert!(weak_secret("changeme").is_some_and(|(_, bad)| bad));
        assert!(weak_secret("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").is_some_and(|(_, bad)| bad));
        assert!(weak_secret("short1").is_some_and(|(_, bad)| bad));
        assert!(weak_secret("abcdefghijklmnop").is_some_and(|(_, bad)| !bad));
        assert_eq!(weak_secret("0123456789abcdef0123456789abcdef"), None);
    }

    #[test]
    fn env_names_for_secret_paths() {
        assert_eq!(env_var_for("gateway.auth.token"), "OPENCLAW_GATEWAY_TOKEN");
        assert_eq!(
            env_var_for("channels.telegram.botToken"),
            "CHANNELS_TELEGRAM_BOT_TOKEN"
        );
        assert_eq!(
            env_var_for("models.providers.open-ai.apiKey"),
            "MODELS_PROVIDERS_OPEN_AI_API_KEY"
        );
    }

    #[test]
    fn tally_counts_levels() {
        let f = |s| Finding::new("x", s, "m");
        assert_eq!(
            tally(&[
                f(Severity::Warning),
                f(Severity::Info),
                f(Severity::Warning),
                f(Severity::Critical),
                f(Severity::Critical)
            ]),
            "2 critical, 2 warnings, 1 info"
        );
    }
}
