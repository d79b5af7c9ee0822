//! The gateway's log file: JSON lines, one file per UTC day (`/tmp/openclaw/openclaw-YYYY-MM-DD.log`,
//! `openclaw-<profile>-…` for profiles) or the fixed `logging.file`, plus the tail reader behind
//! `logs.tail`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// `logging.file`.
    Fixed(PathBuf),
    /// `<dir>/<prefix>-YYYY-MM-DD.log`, rolled at UTC midnight.
    Daily { dir: PathBuf, prefix: String },
}

impl LogTarget {
    /// The default: `/tmp/openclaw/openclaw[-<profile>]-<date>.log`.
    pub fn default_for(profile: Option<&str>) -> LogTarget {
        let prefix = match profile {
            Some(p) if p != "default" => format!("openclaw-{p}"),
            _ => "openclaw".to_string(),
        };
        LogTarget::Daily {
            dir: std::env::temp_dir().join("openclaw"),
            prefix,
        }
    }

    /// The file written right now.
    pub fn current_path(&self) -> PathBuf {
        self.path_on(super::state::now_ms())
    }

    fn path_on(&self, ms: u64) -> PathBuf {
        match self {
            LogTarget::Fixed(p) => p.clone(),
            LogTarget::Daily { dir, prefix } => {
                let (y, m, d) = civil_date(ms);
                dir.join(format!("{prefix}-{y:04}-{m:02}-{d:02}.log"))
            }
        }
    }
}

/// Called once per file when the size cap is reached (with the file and the cap).
pub type FullNotice = Arc<dyn Fn(&Path, u64) + Send + Sync>;

/// How often the writer checks that its path still names the file it holds open (a rename by
/// logrotate or an operator, or a deleted file, makes it reopen the path).
const REOPEN_CHECK_MS: u64 = 1000;

/// `logging.maxFileBytes` when unset (OpenClaw's default, 500 MiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 524_288_000;

/// A `tracing_subscriber` writer that appends to the target's current file: it reopens the file
/// when the day changes and when the path stops naming the open file (rotated away or deleted),
/// and drops lines once the file has reached the size cap (`logging.maxFileBytes`), saying so once
/// per file through the notice callback. Writes are whole lines under a lock, so lines never
/// interleave.
#[derive(Clone)]
pub struct Writer {
    target: LogTarget,
    state: Arc<Mutex<Option<OpenFile>>>,
    max_bytes: Arc<AtomicU64>,
    notice: FullNotice,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("target", &self.target)
            .field("max_bytes", &self.max_bytes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct OpenFile {
    path: PathBuf,
    file: File,
    /// Bytes in the file (as far as this writer knows).
    size: u64,
    /// The cap was reached and reported for this file.
    full: bool,
    /// When the path was last compared with the open file (epoch ms).
    checked_ms: u64,
}

impl Writer {
    /// Opens (creating the directory and file) the current file, so a bad path fails at startup.
    /// The cap starts at [`DEFAULT_MAX_FILE_BYTES`]; a full file is reported on stderr.
    pub fn open(target: LogTarget) -> std::io::Result<Writer> {
        let notice: FullNotice = Arc::new(|path: &Path, cap: u64| {
            eprintln!(
                "{} [logging] log file {} reached logging.maxFileBytes ({cap} bytes); further log lines are dropped until it rolls over or the cap is raised",
                timestamp(super::state::now_ms()),
                path.display()
            );
        });
        let w = Writer {
            target,
            state: Arc::new(Mutex::new(None)),
            max_bytes: Arc::new(AtomicU64::new(DEFAULT_MAX_FILE_BYTES)),
            notice,
        };
        w.with_file(|_| Ok(()))?;
        Ok(w)
    }

    /// Replaces what happens when the cap is reached (called once per file).
    pub fn with_full_notice(mut self, notice: FullNotice) -> Writer {
        self.notice = notice;
        self
    }

    /// Sets the size cap (`logging.maxFileBytes`); takes effect with the next line.
    pub fn set_max_bytes(&self, max: u64) {
        self.max_bytes.store(max.max(1), Ordering::Relaxed);
        if let Ok(mut st) = self.state.lock()
            && let Some(open) = st.as_mut()
            && open.size < max
        {
            open.full = false;
        }
    }

    /// The file lines go to right now.
    pub fn current_path(&self) -> PathBuf {
        self.target.current_path()
    }

    fn open_path(path: &Path) -> std::io::Result<OpenFile> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(OpenFile {
            path: path.to_path_buf(),
            file,
            size,
            full: false,
            checked_ms: super::state::now_ms(),
        })
    }

    fn with_file<T>(
        &self,
        f: impl FnOnce(&mut OpenFile) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| std::io::Error::other("log writer poisoned"))?;
        let now = super::state::now_ms();
        let want = self.target.path_on(now);
        let reopen = match st.as_mut() {
            None => true,
            Some(open) if open.path != want => true,
            Some(open) if now.saturating_sub(open.checked_ms) >= REOPEN_CHECK_MS => {
                open.checked_ms = now;
                !same_file(&open.file, &want)
            }
            Some(_) => false,
        };
        if reopen {
            *st = Some(Writer::open_path(&want)?);
        }
        match st.as_mut() {
            Some(open) => f(open),
            None => Err(std::io::Error::other("log file unavailable")),
        }
    }
}

/// Whether `path` still names the open `file` (same device and inode).
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let cap = self.max_bytes.load(Ordering::Relaxed);
        let notice = self.notice.clone();
        self.with_file(|open| {
            // A truncated file (by an operator) starts counting again.
            if let Ok(m) = open.file.metadata()
                && m.len() < open.size
            {
                open.size = m.len();
                open.full = false;
            }
            if open.size.saturating_add(buf.len() as u64) > cap {
                if !open.full {
                    open.full = true;
                    notice(&open.path, cap);
                }
                return Ok(());
            }
            open.file.write_all(buf)?;
            open.size += buf.len() as u64;
            Ok(())
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.with_file(|open| open.file.flush())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Writer {
    type Writer = Writer;
    fn make_writer(&'a self) -> Writer {
        self.clone()
    }
}

/// The result of [`tail`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    pub file: String,
    /// Where the next read should start.
    pub cursor: u64,
    pub size: u64,
    pub lines: Vec<String>,
    /// More lines existed than were returned.
    pub truncated: bool,
    /// The cursor was past the end (the file was rotated or truncated); reading restarted at 0.
    pub reset: bool,
}

/// Reads lines from `path`: without a cursor, the last `limit` lines within the last `max_bytes`;
/// with one, up to `limit` complete lines (and at most `max_bytes`) from that byte offset.
pub fn tail(
    path: &Path,
    cursor: Option<u64>,
    limit: usize,
    max_bytes: u64,
) -> std::io::Result<Tail> {
    let file = path.display().to_string();
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Tail {
                file,
                cursor: 0,
                size: 0,
                lines: Vec::new(),
                truncated: false,
                reset: cursor.is_some_and(|c| c > 0),
            });
        }
        Err(e) => return Err(e),
    };
    let size = f.metadata()?.len();
    let (start, reset) = match cursor {
        Some(c) if c > size => (0, true),
        Some(c) => (c, false),
        None => (size.saturating_sub(max_bytes), false),
    };
    let want = (size - start).min(max_bytes);
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
    f.take(want).read_to_end(&mut buf)?;
    let mut truncated = false;
    let mut lines: Vec<(usize, usize)> = Vec::new();
    let mut pos = 0usize;
    // Without a cursor, a read that starts mid-file drops its partial first line.
    if cursor.is_none() && start > 0 {
        truncated = true;
        pos = buf
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| i + 1);
    }
    while let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') {
        lines.push((pos, pos + nl));
        pos += nl + 1;
    }
    let complete_end = pos;
    // A final line without a newline counts only at the end of the file.
    if pos < buf.len() && start + buf.len() as u64 == size && cursor.is_none() {
        lines.push((pos, buf.len()));
    }
    let next_cursor;
    if cursor.is_none() {
        if lines.len() > limit {
            truncated = true;
            lines.drain(..lines.len() - limit);
        }
        next_cursor = size;
    } else {
        if lines.len() > limit {
            truncated = true;
            lines.truncate(limit);
        }
        let consumed = lines.last().map_or(0, |&(_, e)| (e + 1).min(complete_end));
        next_cursor = start + consumed as u64;
        if next_cursor < size {
            truncated = true;
        }
    }
    let lines = lines
        .into_iter()
        .map(|(a, b)| {
            let line = &buf[a..b];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            String::from_utf8_lossy(line).into_owned()
        })
        .collect();
    Ok(Tail {
        file,
        cursor: next_cursor,
        size,
        lines,
        truncated,
        reset,
    })
}

/// `YYYY-MM-DDTHH:MM:SS.mmm+00:00` of epoch milliseconds: the `time` of log lines and the console
/// prefix, as OpenClaw writes them.
pub fn timestamp(ms: u64) -> String {
    let z = iso8601(ms);
    match z.strip_suffix('Z') {
        Some(t) => format!("{t}+00:00"),
        None => z,
    }
}

impl LogTarget {
    /// The log target a config selects: `logging.file` (with `~` expanded) or the dated default.
    pub fn from_config(
        config: &serde_json::Value,
        profile: Option<&str>,
        home: Option<&Path>,
        cwd: &Path,
    ) -> LogTarget {
        match config
            .pointer("/logging/file")
            .and_then(serde_json::Value::as_str)
            .filter(|f| !f.is_empty())
        {
            Some(f) => LogTarget::Fixed(crate::config::paths::expand_user(f, home, cwd)),
            None => LogTarget::default_for(profile),
        }
    }

    /// The file to read: today's, or (for dated files, when today's does not exist yet) the
    /// newest dated file of the same prefix in the directory.
    pub fn readable_path(&self) -> PathBuf {
        let today = self.current_path();
        let LogTarget::Daily { dir, prefix } = self else {
            return today;
        };
        if today.exists() {
            return today;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return today;
        };
        // Dated names sort by date, so the greatest name is the newest file.
        entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| is_dated_name(name, prefix))
            .max()
            .map_or(today, |name| dir.join(name))
    }
}

/// `<prefix>-YYYY-MM-DD.log`.
fn is_dated_name(name: &str, prefix: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_suffix(".log"))
    else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

// ---------------------------------------------------------------------------------------------
// Redaction

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Secrets shorter than this are not masked as substrings (a two-letter "secret" would blank out
/// every word that contains it); `openclaw security audit` flags such weak secrets instead.
pub const MIN_SECRET_LEN: usize = 4;

/// `logging.redactSensitive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedactMode {
    /// Only the gateway's own secrets are masked.
    Off,
    /// Credential-looking text and `logging.redactPatterns` are masked as well (the default).
    #[default]
    Tools,
}

/// Masks secrets in log text: the exact secret values it was given (always), and in `tools` mode
/// credential-looking text and the configured extra patterns.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Secret strings and their escaped spellings, longest first.
    secrets: Vec<String>,
    /// Built-in shapes then configured patterns (empty in `off` mode).
    patterns: Vec<Pattern>,
    mode: RedactMode,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .field("patterns", &self.patterns.len())
            .field("mode", &self.mode)
            .finish()
    }
}

/// A redactor shared by the log layers and swapped on reload.
pub type SharedRedactor = Arc<std::sync::RwLock<Redactor>>;

impl Redactor {
    /// A redactor for `mode` with the extra patterns of `logging.redactPatterns`. Patterns that do
    /// not compile are skipped and described in the returned list (one message each).
    pub fn new(mode: RedactMode, extra: &[String]) -> (Redactor, Vec<String>) {
        let mut problems = Vec::new();
        let mut patterns = Vec::new();
        if mode == RedactMode::Tools {
            patterns.extend(super::credshapes::SHAPES.iter().map(|f| Pattern::Shape(*f)));
            for (i, p) in extra.iter().enumerate() {
                if p.is_empty() {
                    continue;
                }
                match fancy_regex::Regex::new(p) {
                    Ok(r) => patterns.push(Pattern::Regex(r)),
                    Err(e) => problems.push(format!(
                        "logging.redactPatterns[{i}] ({p}) is not a valid regular expression and is ignored: {e}"
                    )),
                }
            }
        }
        (
            Redactor {
                secrets: Vec::new(),
                patterns,
                mode,
            },
            problems,
        )
    }

    pub fn mode(&self) -> RedactMode {
        self.mode
    }

    /// Masks `secret` wherever it appears, also in its JSON- and Rust-escaped spellings.
    pub fn add_secret(&mut self, secret: &str) {
        if secret.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let json = serde_json::to_string(secret).unwrap_or_default();
        let debug = format!("{secret:?}");
        for form in [
            secret.to_string(),
            strip_quotes(&json).to_string(),
            strip_quotes(&debug).to_string(),
        ] {
            if !form.is_empty() && !self.secrets.contains(&form) {
                self.secrets.push(form);
            }
        }
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Adds every secret of `other` (so a reload keeps masking the secrets it replaced).
    pub fn keep_secrets_of(&mut self, other: &Redactor) {
        for s in &other.secrets {
            if !self.secrets.contains(s) {
                self.secrets.push(s.clone());
            }
        }
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// `text` with every secret masked.
    pub fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        let mut out: Cow<'a, str> = Cow::Borrowed(text);
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), MASK));
            }
        }
        for pattern in &self.patterns {
            if let Some(masked) = mask_matches(pattern, &out) {
                out = Cow::Owned(masked);
            }
        }
        out
    }
}

fn strip_quotes(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// A redaction pattern: a built-in credential shape, or a configured regular expression.
#[derive(Clone)]
enum Pattern {
    Shape(super::credshapes::Finder),
    Regex(fancy_regex::Regex),
}

impl Pattern {
    /// The leftmost match at or after `at`: the whole match and the secret in it. A regex that
    /// hits fancy-regex's backtrack limit reports no match, so a pathological pattern cannot hang
    /// logging.
    fn find(&self, text: &str, at: usize) -> Option<super::credshapes::Found> {
        match self {
            Pattern::Shape(find) => find(text, at),
            Pattern::Regex(re) => super::credshapes::regex_match(re, text, at),
        }
    }
}

/// Masks what `pattern` matches in `text`; `None` when nothing matched.
fn mask_matches(pattern: &Pattern, text: &str) -> Option<String> {
    let spans: Vec<std::ops::Range<usize>> =
        super::credshapes::find_all(|t, at| pattern.find(t, at), text)
            .map(|found| found.secret)
            .filter(|secret| secret.end > secret.start)
            .collect();
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for std::ops::Range { start: a, end: b } in spans {
        if a < last {
            continue;
        }
        out.push_str(&text[last..a]);
        out.push_str(&mask_token(&text[a..b]));
        last = b;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// A matched credential: long ones keep their first 6 and last 4 characters (enough to tell keys
/// apart), short ones are masked whole.
fn mask_token(s: &str) -> String {
    let n = s.chars().count();
    if n < 18 {
        return MASK.to_string();
    }
    let head: String = s.chars().take(6).collect();
    let tail: String = s.chars().skip(n - 4).collect();
    format!("{head}…{tail}")
}

/// Whether a log field with this name holds a credential (its whole value is masked in `tools`
/// mode): names ending in token, password, secret, apiKey or authorization.
pub fn is_secret_field(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    [
        "token",
        "password",
        "passwd",
        "secret",
        "apikey",
        "authorization",
    ]
    .iter()
    .any(|s| n.ends_with(s))
}

/// The redaction settings a gateway's settings imply.
#[derive(Clone, PartialEq)]
pub struct RedactConfig {
    pub mode: RedactMode,
    pub patterns: Vec<String>,
    /// The gateway token and password, and every secret value of the config.
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for RedactConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedactConfig")
            .field("mode", &self.mode)
            .field("patterns", &self.patterns)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl RedactConfig {
    /// From the running settings: `logging.redactSensitive`, `logging.redactPatterns`, the
    /// effective gateway token and password, the config's inline secret values (`${VAR}`
    /// references resolved through `env`) and every SecretRef value the gateway resolved.
    pub fn from_settings(s: &super::Settings, env: &dyn crate::config::Env) -> RedactConfig {
        let config = &s.config;
        let mode = match config
            .get("logging.redactSensitive")
            .and_then(serde_json::Value::as_str)
        {
            Some("off") => RedactMode::Off,
            _ => RedactMode::Tools,
        };
        let patterns = config
            .get("logging.redactPatterns")
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut secrets: Vec<String> = [&s.auth.token, &s.auth.password]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        secrets.extend(config_secrets(config, env));
        // SecretRefs the gateway resolved (env, file and exec providers).
        secrets.extend(
            config
                .secrets
                .paths()
                .filter_map(|p| config.secrets.get(p))
                .map(str::to_string),
        );
        secrets.sort();
        secrets.dedup();
        RedactConfig {
            mode,
            patterns,
            secrets,
        }
    }

    /// The redactor, and the problems with the configured patterns.
    pub fn build(&self) -> (Redactor, Vec<String>) {
        let (mut r, problems) = Redactor::new(self.mode, &self.patterns);
        for s in &self.secrets {
            r.add_secret(s);
        }
        (r, problems)
    }
}

/// `logging.maxFileBytes`, or the default.
pub fn max_file_bytes(config: &super::state::ConfigState) -> u64 {
    config
        .get("logging.maxFileBytes")
        .and_then(serde_json::Value::as_u64)
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_FILE_BYTES)
}

/// Every value the schema marks secret in `config`: inline strings (with `${VAR}` references
/// substituted from `env` as well) and the values env SecretRefs point at. File and exec
/// SecretRefs are not resolved here.
pub fn config_secrets(
    config: &super::state::ConfigState,
    env: &dyn crate::config::Env,
) -> Vec<String> {
    let mut out = Vec::new();
    let redacted = config.redacted();
    collect_secrets(&config.parsed, &redacted, env, 0, &mut out);
    out
}

fn collect_secrets(
    parsed: &serde_json::Value,
    redacted: &serde_json::Value,
    env: &dyn crate::config::Env,
    depth: usize,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    if depth > 64 {
        return;
    }
    if redacted.as_str() == Some(super::state::REDACTED) && parsed != redacted {
        match parsed {
            Value::String(s) => {
                out.push(s.clone());
                let substituted = substitute_env(s, env);
                if substituted != *s {
                    out.push(substituted);
                }
            }
            Value::Number(n) => out.push(n.to_string()),
            Value::Object(m) => {
                if m.get("source").and_then(Value::as_str) == Some("env")
                    && let Some(v) = m
                        .get("id")
                        .and_then(Value::as_str)
                        .and_then(|id| env.var(id))
                {
                    out.push(v);
                }
            }
            _ => {}
        }
        return;
    }
    match (parsed, redacted) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if let Some(r) = b.get(k) {
                    collect_secrets(v, r, env, depth + 1, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (v, r) in a.iter().zip(b) {
                collect_secrets(v, r, env, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// `${NAME}` references replaced by their values (unknown names stay as written).
fn substitute_env(s: &str, env: &dyn crate::config::Env) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j)
                if j > 0
                    && after[..j]
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
            {
                match env.var(&after[..j]) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[i..i + 3 + j]),
                }
                rest = &after[j + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// Line format

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// `2026-11-22T01:05:02.661+00:00 [gateway] message key=value` (coloured on a terminal).
    #[default]
    Pretty,
    /// `01:05:02 [gateway] message key=value`.
    Compact,
    /// One JSON object per line: `time`, `level`, `subsystem`, `message`, then the fields.
    Json,
}

impl Style {
    /// `logging.consoleStyle`; unknown or unset values are `pretty`.
    pub fn parse(s: Option<&str>) -> Style {
        match s {
            Some("compact") => Style::Compact,
            Some("json") => Style::Json,
            _ => Style::Pretty,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Style::Pretty => 0,
            Style::Compact => 1,
            Style::Json => 2,
        }
    }

    fn from_u8(v: u8) -> Style {
        match v {
            1 => Style::Compact,
            2 => Style::Json,
            _ => Style::Pretty,
        }
    }
}

/// A style that can be switched while the layer runs (hot reload of `logging.consoleStyle`).
#[derive(Debug, Clone, Default)]
pub struct StyleHandle(Arc<std::sync::atomic::AtomicU8>);

impl StyleHandle {
    pub fn new(style: Style) -> StyleHandle {
        StyleHandle(Arc::new(std::sync::atomic::AtomicU8::new(style.to_u8())))
    }
    pub fn set(&self, style: Style) {
        self.0.store(style.to_u8(), Ordering::Relaxed);
    }
    pub fn get(&self) -> Style {
        Style::from_u8(self.0.load(Ordering::Relaxed))
    }
}

/// The subsystem of an event: its target when that is a plain name (`ws`, `gateway/channels`),
/// else derived from the module path (`…::gateway::reload` → `reload`, `…::gateway::conn` → `ws`).
pub fn subsystem_of(target: &str) -> String {
    if !target.contains("::") {
        return target.to_string();
    }
    let parts: Vec<&str> = target.split("::").collect();
    match parts.as_slice() {
        [_, "gateway", "conn" | "frames" | "upgrade", ..] => "ws".into(),
        [_, "gateway", "http", ..] => "gateway/http".into(),
        [_, "gateway", "reload", ..] | [_, "config", "watch" | "reload", ..] => "reload".into(),
        [_, "gateway", "auth" | "device" | "pairing", ..] => "gateway/auth".into(),
        [_, "gateway", ..] | [_, "cmd", "gateway", ..] => "gateway".into(),
        [_, "config", ..] => "config".into(),
        [_, "cmd", name, ..] => (*name).to_string(),
        [first, ..] => first.trim_start_matches("openclaw_").to_string(),
        [] => "openclaw".into(),
    }
}

/// Collects an event's message and fields.
#[derive(Default)]
struct Fields {
    message: String,
    subsystem: Option<String>,
    fields: Vec<(&'static str, serde_json::Value)>,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.push(
                field.name(),
                serde_json::Value::String(format!("{value:?}")),
            );
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_string(),
            "subsystem" => self.subsystem = Some(value.to_string()),
            name => self.push(name, serde_json::Value::String(value.to_string())),
        }
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.push(field.name(), value.into());
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.push(field.name(), value.into());
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.push(field.name(), value.into());
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.push(field.name(), value.into());
    }
    fn record_error(
        &mut self,
        field: &tracing::field::Field,
        value: &(dyn std::error::Error + 'static),
    ) {
        self.push(field.name(), serde_json::Value::String(value.to_string()));
    }
}

impl Fields {
    fn push(&mut self, name: &'static str, value: serde_json::Value) {
        if name.starts_with("log.") {
            return;
        }
        self.fields.push((name, value));
    }

    /// Masks secrets in the message and every string value (whole values of credential-named
    /// fields in `tools` mode).
    fn redact(&mut self, r: &Redactor) {
        if let std::borrow::Cow::Owned(m) = r.redact(&self.message) {
            self.message = m;
        }
        for (name, v) in &mut self.fields {
            if let serde_json::Value::String(s) = v {
                if r.mode() == RedactMode::Tools && is_secret_field(name) && !s.is_empty() {
                    *s = MASK.to_string();
                } else if let std::borrow::Cow::Owned(m) = r.redact(s) {
                    *s = m;
                }
            } else if r.mode() == RedactMode::Tools && is_secret_field(name) {
                *v = serde_json::Value::String(MASK.to_string());
            } else if !v.is_null() {
                // Numbers and booleans: a numeric secret is masked as a whole value.
                let text = v.to_string();
                if let std::borrow::Cow::Owned(_) = r.redact(&text) {
                    *v = serde_json::Value::String(MASK.to_string());
                }
            }
        }
    }
}

/// The event formatter of both the log file (always [`Style::Json`]) and the console (the
/// configured style). Every line passes through the redactor first.
#[derive(Debug, Clone)]
pub struct LineFormat {
    style: StyleHandle,
    color: bool,
    redactor: SharedRedactor,
}

impl LineFormat {
    /// JSON lines for the log file.
    pub fn file(redactor: SharedRedactor) -> LineFormat {
        LineFormat {
            style: StyleHandle::new(Style::Json),
            color: false,
            redactor,
        }
    }

    /// Console lines in a switchable style.
    pub fn console(style: StyleHandle, color: bool, redactor: SharedRedactor) -> LineFormat {
        LineFormat {
            style,
            color,
            redactor,
        }
    }

    /// One formatted line (with its newline) for an event at `level` from `target`.
    fn line(&self, ms: u64, level: &tracing::Level, target: &str, mut f: Fields) -> String {
        if let Ok(r) = self.redactor.read() {
            f.redact(&r);
        }
        let subsystem = f.subsystem.take().unwrap_or_else(|| subsystem_of(target));
        let level_name = level.as_str().to_ascii_lowercase();
        match self.style.get() {
            Style::Json => {
                // Written by hand to keep the member order: time, level, subsystem, message,
                // then the fields as recorded (the first of duplicate names wins).
                let q = |v: &str| serde_json::Value::from(v).to_string();
                let mut s = format!(
                    "{{\"time\":{},\"level\":{},\"subsystem\":{},\"message\":{}",
                    q(&timestamp(ms)),
                    q(&level_name),
                    q(&subsystem),
                    q(&f.message)
                );
                let mut seen: Vec<&str> = vec!["time", "level", "subsystem", "message"];
                for (k, v) in &f.fields {
                    if seen.contains(k) {
                        continue;
                    }
                    seen.push(k);
                    s.push(',');
                    s.push_str(&q(k));
                    s.push(':');
                    s.push_str(&v.to_string());
                }
                s.push_str("}\n");
                s
            }
            style => {
                let time = if style == Style::Compact {
                    timestamp(ms).get(11..19).unwrap_or_default().to_string()
                } else {
                    timestamp(ms)
                };
                let mut text = f.message;
                for (k, v) in &f.fields {
                    text.push(' ');
                    text.push_str(k);
                    text.push('=');
                    match v {
                        serde_json::Value::String(s)
                            if !s.is_empty()
                                && !s.contains(|c: char| c.is_whitespace() || c == '"') =>
                        {
                            text.push_str(s)
                        }
                        serde_json::Value::String(s) => text.push_str(&format!("{s:?}")),
                        other => text.push_str(&other.to_string()),
                    }
                }
                if self.color && style == Style::Pretty {
                    let msg_color = match *level {
                        tracing::Level::ERROR => 31,
                        tracing::Level::WARN => 33,
                        tracing::Level::INFO => 36,
                        _ => 90,
                    };
                    format!(
                        "\x1b[90m{time}\x1b[39m \x1b[{}m[{subsystem}]\x1b[39m \x1b[{msg_color}m{text}\x1b[39m\n",
                        subsystem_color(&subsystem)
                    )
                } else {
                    format!("{time} [{subsystem}] {text}\n")
                }
            }
        }
    }
}

/// A stable colour per subsystem name.
fn subsystem_color(name: &str) -> u8 {
    const COLORS: [u8; 6] = [36, 32, 33, 34, 35, 31];
    let h = name
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    COLORS[(h as usize) % COLORS.len()]
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for LineFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut f = Fields::default();
        event.record(&mut f);
        let meta = event.metadata();
        let line = self.line(super::state::now_ms(), meta.level(), meta.target(), f);
        writer.write_str(&line)
    }
}

/// (year, month, day) in UTC of epoch milliseconds.
pub fn civil_date(ms: u64) -> (i64, u32, u32) {
    let days = i64::try_from(ms / 86_400_000).unwrap_or(0);
    // Howard Hinnant's days → civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of epoch milliseconds.
pub fn iso8601(ms: u64) -> String {
    let (y, mo, d) = civil_date(ms);
    let day_ms = ms % 86_400_000;
    let (h, mi, s, milli) = (
        day_ms / 3_600_000,
        (day_ms / 60_000) % 60,
        (day_ms / 1000) % 60,
        day_ms % 1000,
    );
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(iso8601(1_795_309_603_981), "2026-11-22T01:06:43.981Z");
        assert_eq!(civil_date(951_782_400_000), (2000, 2, 29));
        let t = LogTarget::Daily {
            dir: "/tmp/openclaw".into(),
            prefix: "openclaw-dev".into(),
        };
        assert_eq!(
            t.path_on(1_795_309_603_981),
            PathBuf::from("/tmp/openclaw/openclaw-dev-2026-11-22.log")
        );
    }

    #[test]
    fn tails_and_cursors() {
        let dir = std::env::temp_dir().join(format!("ocrs-logtail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("t.log");
        std::fs::write(&p, "a\nbb\nccc\n").expect("write");
        let t = tail(&p, None, 2, 1000).expect("tail");
        assert_eq!(t.lines, ["bb", "ccc"]);
        assert!(t.truncated);
        assert_eq!((t.cursor, t.size), (9, 9));
        // From a cursor: only what was appended.
        let mut f = OpenOptions::new().append(true).open(&p).expect("open");
        f.write_all(b"dddd\nee").expect("append");
        let t2 = tail(&p, Some(t.cursor), 100, 1000).expect("tail");
        assert_eq!(t2.lines, ["dddd"]);
        assert_eq!(t2.cursor, 14);
        assert!(t2.truncated, "the unterminated line is still pending");
        // A cursor past the end means the file was replaced.
        let t3 = tail(&p, Some(10_000), 100, 1000).expect("tail");
        assert!(t3.reset);
        assert_eq!(t3.lines, ["a", "bb", "ccc", "dddd"]);
        // maxBytes cuts without a cursor: the partial first line is dropped.
        let t4 = tail(&p, None, 100, 6).expect("tail");
        assert_eq!(t4.lines, ["ee"]);
        assert!(t4.truncated);
        let missing = tail(&dir.join("none.log"), None, 10, 10).expect("missing");
        assert_eq!(missing.lines, Vec::<String>::new());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ocrs-logfile-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[test]
    fn secrets_are_masked_in_every_spelling() {
        let (mut r, problems) = Redactor::new(RedactMode::Off, &[]);
        assert!(problems.is_empty());
        r.add_secret("tok\"en-1234");
        r.add_secret("abc"); // too short to mask as a substring
        assert_eq!(r.redact("raw tok\"en-1234 end"), "raw *** end");
        assert_eq!(r.redact(r#"json "tok\"en-1234""#), r#"json "***""#);
        assert_eq!(r.redact("abc"), "abc");
        // Off: no pattern masking.
        assert_eq!(
            r.redact("OPENAI_API_KEY=sk-live-0123456789"),
            "OPENAI_API_KEY=sk-live-0123456789"
        );
    }

    #[test]
    fn tools_mode_masks_credential_shapes_and_extra_patterns() {
        let (r, problems) = Redactor::new(RedactMode::Tools, &["acct-[0-9]+".into(), "(".into()]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("logging.redactPatterns[1]"),
            "{problems:?}"
        );
        assert_eq!(r.redact("OPENAI_API_KEY=abcdef"), "OPENAI_API_KEY=***");
        assert_eq!(
            r.redact("key sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX in use"),
            "key sk-pro…UVWX in use"
        );
        assert_eq!(r.redact("user acct-42 logged in"), "user *** logged in");
        assert_eq!(
            r.redact(r#"{"password":"hunter22"}"#),
            r#"{"password":"***"}"#
        );
        assert_eq!(r.redact("--token abcdefgh"), "--token ***");
        assert_eq!(r.redact("nothing here"), "nothing here");
        assert!(is_secret_field("device_token") && is_secret_field("apiKey"));
        assert!(!is_secret_field("tokens_used") && !is_secret_field("path"));
    }

    #[test]
    fn env_references_are_substituted() {
        let env = crate::config::MapEnv::new([("API_TOKEN", "v4lue")]);
        assert_eq!(
            substitute_env("a ${API_TOKEN} b ${NOPE} $${x", &env),
            "a v4lue b ${NOPE} $${x"
        );
    }

    fn format_one(style: Style, r: Redactor, level: tracing::Level, f: Fields) -> String {
        let fmt = LineFormat::console(
            StyleHandle::new(style),
            false,
            Arc::new(std::sync::RwLock::new(r)),
        );
        fmt.line(
            1_795_309_603_981,
            &level,
            "openclaw_runtime::gateway::reload",
            f,
        )
    }

    #[test]
    fn line_styles() {
        let fields = || Fields {
            message: "config change: hot reload".into(),
            subsystem: None,
            fields: vec![
                ("origin", "watch".into()),
                ("why", "two words".into()),
                ("token", "t0p-secret".into()),
                ("n", 3.into()),
            ],
        };
        let r = || Redactor::new(RedactMode::Tools, &[]).0;
        assert_eq!(
            format_one(Style::Pretty, r(), tracing::Level::INFO, fields()),
            "2026-11-22T01:06:43.981+00:00 [reload] config change: hot reload origin=watch why=\"two words\" token=*** n=3\n"
        );
        assert_eq!(
            format_one(Style::Compact, r(), tracing::Level::INFO, fields()),
            "01:06:43 [reload] config change: hot reload origin=watch why=\"two words\" token=*** n=3\n"
        );
        let json = format_one(Style::Json, r(), tracing::Level::WARN, fields());
        assert_eq!(
            json,
            "{\"time\":\"2026-11-22T01:06:43.981+00:00\",\"level\":\"warn\",\"subsystem\":\"reload\",\"message\":\"config change: hot reload\",\"origin\":\"watch\",\"why\":\"two words\",\"token\":\"***\",\"n\":3}\n"
        );
        assert_eq!(subsystem_of("openclaw_runtime::gateway::conn"), "ws");
        assert_eq!(subsystem_of("openclaw_cli::cmd::gateway"), "gateway");
        assert_eq!(subsystem_of("gateway/channels"), "gateway/channels");
    }

    #[test]
    fn the_cap_drops_lines_and_says_so_once() {
        let dir = scratch("cap");
        let p = dir.join("capped.log");
        let notices = Arc::new(Mutex::new(Vec::new()));
        let seen = notices.clone();
        let mut w = Writer::open(LogTarget::Fixed(p.clone()))
            .expect("open")
            .with_full_notice(Arc::new(move |path: &Path, cap: u64| {
                if let Ok(mut n) = seen.lock() {
                    n.push((path.to_path_buf(), cap));
                }
            }));
        w.set_max_bytes(10);
        for _ in 0..5 {
            w.write_all(b"1234\n").expect("write");
        }
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "1234\n1234\n");
        assert_eq!(notices.lock().map(|n| n.len()).unwrap_or(0), 1);
        // Truncated by an operator: writing resumes.
        std::fs::write(&p, "").expect("truncate");
        w.write_all(b"abcd\n").expect("write");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "abcd\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_renamed_file_is_reopened() {
        let dir = scratch("rename");
        let p = dir.join("gw.log");
        let mut w = Writer::open(LogTarget::Fixed(p.clone())).expect("open");
        w.write_all(b"one\n").expect("write");
        std::fs::rename(&p, dir.join("gw.log.1")).expect("rotate");
        // Force the next write to re-check the path.
        if let Ok(mut st) = w.state.lock()
            && let Some(open) = st.as_mut()
        {
            open.checked_ms = 0;
        }
        w.write_all(b"two\n").expect("write");
        assert_eq!(std::fs::read_to_string(&p).expect("new file"), "two\n");
        assert_eq!(
            std::fs::read_to_string(dir.join("gw.log.1")).expect("old file"),
            "one\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn readable_path_falls_back_to_the_newest_dated_file() {
        let dir = scratch("dated");
        let t = LogTarget::Daily {
            dir: dir.clone(),
            prefix: "openclaw-dev".into(),
        };
        assert_eq!(t.readable_path(), t.current_path(), "nothing there yet");
        for name in [
            "openclaw-dev-2020-01-01.log",
            "openclaw-dev-2020-01-02.log",
            "openclaw-2030-01-01.log",
            "openclaw-dev-notes.log",
        ] {
            std::fs::write(dir.join(name), "x\n").expect("write");
        }
        assert_eq!(t.readable_path(), dir.join("openclaw-dev-2020-01-02.log"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
