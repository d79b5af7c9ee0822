//! SecretRef resolution: every `{source, provider, id}` object in the config (outside `secrets.*`)
//! resolved once, through the providers declared under `secrets.providers`, into an in-memory
//! [`Snapshot`] of config path → secret string.
//!
//! * **env** — the variable named by `id` (non-empty), if the provider's `allowlist` (when set)
//!   names it. An undeclared provider named like `secrets.defaults.env` (default `default`) is the
//!   built-in env provider without an allowlist.
//! * **file** — `path` (`~` expands; relative paths resolve against the working directory),
//!   a regular file owned by the gateway's user (or root) and not writable by group or others,
//!   at most `maxBytes` (1 MiB), read within `timeoutMs` (5 s). `mode: "json"` (the default):
//!   the file is a JSON object and `id` an absolute JSON pointer (`/providers/openai/apiKey`);
//!   `mode: "singleValue"`: `id` must be `value` and the whole file (BOM and trailing line breaks
//!   removed) is the secret.
//! * **exec** — `command` is run directly (never through a shell): an absolute path to a regular,
//!   executable file that is not a symlink, not writable by group or others, owned by the
//!   gateway's user (or root), and inside one of `trustedDirs` when that is set. It gets `args`,
//!   an environment of only the `passEnv` variables plus `env`, its own directory as working
//!   directory, and on stdin `{"protocolVersion":1,"provider":"<alias>","ids":["…"]}`. It answers
//!   on stdout `{"protocolVersion":1,"values":{"<id>":"<secret>"},"errors":{"<id>":{"message":"…"}}}`
//!   and exits 0. With `jsonOnly: false` and a single id, plain text (or a JSON string) is the
//!   value. Limits: `timeoutMs` (5 s) for the whole run, `noOutputTimeoutMs` (default: the
//!   timeout) of silence, `maxOutputBytes` (1 MiB) of stdout plus stderr; past any of them the
//!   command's whole process group is killed. One run serves every id of a provider.
//!
//! A ref whose every use is *inactive* (under `gateway.remote.*`, which only clients use, or inside
//! an object with `enabled: false`) is still tried, but its failure is a warning, not an error.
//!
//! The [`Resolver`] keeps what resolution needs — the refs and where they are used, the provider
//! declarations, and the environment values it may consult (read once, when it is built) — so
//! `secrets.reload` can resolve the same config again later and swap the snapshot only when every
//! ref resolved.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonspan::{Spanned, Value as SValue};
use serde_json::{Value, json};

use super::diagnostics::{SourceMap, display_name};
use super::load::Env;
use super::paths;

/// The provider alias assumed when `secrets.defaults` names none.
pub const DEFAULT_PROVIDER_ALIAS: &str = "default";
/// `file` providers: default `maxBytes`.
pub const FILE_MAX_BYTES: u64 = 1024 * 1024;
/// `file` providers: default `timeoutMs`.
pub const FILE_TIMEOUT: Duration = Duration::from_millis(5_000);
/// `exec` providers: default `timeoutMs`.
pub const EXEC_TIMEOUT: Duration = Duration::from_millis(5_000);
/// `exec` providers: default `maxOutputBytes`.
pub const EXEC_MAX_OUTPUT_BYTES: u64 = 1024 * 1024;
/// The only ref id of a `singleValue` file provider.
pub const SINGLE_VALUE_ID: &str = "value";
/// The exec provider protocol version this gateway speaks.
pub const EXEC_PROTOCOL_VERSION: u64 = 1;

/// A secret value; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One SecretRef, as `source:provider:id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RefKey {
    pub source: String,
    pub provider: String,
    pub id: String,
}

impl std::fmt::Display for RefKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.provider, self.id)
    }
}

/// Where a ref is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// Dotted config path (`gateway.auth.token`, `models.providers.x.apiKey`).
    pub path: String,
    /// `file:line:column` of the ref object, when known.
    pub at: Option<String>,
    /// Whether the gateway needs it (see the module docs).
    pub active: bool,
}

/// A ref that did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub key: RefKey,
    pub uses: Vec<Use>,
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Failure {
    fn is_active(&self) -> bool {
        self.uses.iter().any(|u| u.active)
    }

    /// `{ref, paths, at, message, help}` for RPC error details.
    pub fn to_json(&self) -> Value {
        json!({
            "ref": self.key.to_string(),
            "paths": self.uses.iter().map(|u| u.path.clone()).collect::<Vec<_>>(),
            "at": self.uses.iter().filter_map(|u| u.at.clone()).collect::<Vec<_>>(),
            "message": self.message,
            "help": self.help,
        })
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (used at ", self.key)?;
        for (i, u) in self.uses.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&u.path)?;
            if let Some(at) = &u.at {
                write!(f, " [{at}]")?;
            }
        }
        write!(f, "): {}", self.message)?;
        if !self.help.is_empty() {
            write!(f, "\n    help: {}", self.help)?;
        }
        Ok(())
    }
}

/// Formats failures one per item, for logs and start-up refusals.
pub fn describe(failures: &[Failure]) -> String {
    failures
        .iter()
        .map(|f| format!("  × {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The resolved secrets of one config.
#[derive(Clone, Default)]
pub struct Snapshot {
    values: BTreeMap<String, Secret>,
    resolved: usize,
    warnings: Vec<Failure>,
    resolver: Option<Arc<Resolver>>,
    /// Paths whose values the gateway's settings took (e.g. `gateway.auth.token`).
    applied: BTreeSet<String>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("paths", &self.values.keys().collect::<Vec<_>>())
            .field("resolved", &self.resolved)
            .field("warnings", &self.warnings.len())
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// The secret used at a config path.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.values.get(path).map(Secret::expose)
    }

    /// Every resolved secret value (for log redaction).
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.values.values().map(Secret::expose)
    }

    /// Config paths that have a value.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// How many distinct refs resolved.
    pub fn resolved(&self) -> usize {
        self.resolved
    }

    /// Inactive refs that did not resolve.
    pub fn warnings(&self) -> &[Failure] {
        &self.warnings
    }

    /// What built this snapshot (absent for a snapshot made by hand or `Default`).
    pub fn resolver(&self) -> Option<&Arc<Resolver>> {
        self.resolver.as_ref()
    }

    /// Records that the gateway's settings took the value at `path`.
    pub fn mark_applied(&mut self, path: &str) {
        self.applied.insert(path.to_string());
    }

    /// Paths recorded with [`Snapshot::mark_applied`].
    pub fn applied(&self) -> impl Iterator<Item = &str> {
        self.applied.iter().map(String::as_str)
    }

    /// Resolves the same refs again (through `fallback` when this snapshot was not made by a
    /// [`Resolver`]). `Err` lists every failure; nothing is changed either way.
    pub fn reload(&self, fallback: impl FnOnce() -> Resolver) -> Result<Snapshot, Vec<Failure>> {
        let resolver = self
            .resolver
            .clone()
            .unwrap_or_else(|| Arc::new(fallback()));
        let mut s = resolver.resolve()?;
        s.applied = self.applied.clone();
        Ok(s)
    }
}

/// Everything needed to resolve one config's refs, again and again.
pub struct Resolver {
    refs: BTreeMap<RefKey, Vec<Use>>,
    providers: BTreeMap<String, Value>,
    defaults: BTreeMap<String, String>,
    env: HashMap<String, String>,
    home: Option<PathBuf>,
    cwd: PathBuf,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field(
                "refs",
                &self.refs.keys().map(|k| k.to_string()).collect::<Vec<_>>(),
            )
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .field("cwd", &self.cwd)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// From a checked config (refs are located in their files). `root` is the merged tree.
    pub fn from_spanned(
        root: &Spanned,
        sources: &SourceMap,
        env: &dyn Env,
        cwd: &Path,
    ) -> Resolver {
        let mut refs = BTreeMap::new();
        find_spanned(root, "", true, sources, &mut refs);
        Resolver::build(refs, &root.to_json(), env, cwd)
    }

    /// From a merged config as JSON (no locations).
    pub fn from_value(root: &Value, env: &dyn Env, cwd: &Path) -> Resolver {
        let mut refs = BTreeMap::new();
        find_value(root, "", true, &mut refs);
        Resolver::build(refs, root, env, cwd)
    }

    fn build(
        refs: BTreeMap<RefKey, Vec<Use>>,
        root: &Value,
        env: &dyn Env,
        cwd: &Path,
    ) -> Resolver {
        let secrets = root.get("secrets");
        let providers: BTreeMap<String, Value> = secrets
            .and_then(|s| s.get("providers"))
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let defaults = secrets
            .and_then(|s| s.get("defaults"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.trim().to_string())))
                    .filter(|(_, v)| !v.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        // The environment values resolution may consult, read now: env refs' variables and the
        // variables exec providers pass through.
        let mut names: BTreeSet<String> = refs
            .keys()
            .filter(|k| k.source == "env")
            .map(|k| k.id.clone())
            .collect();
        for p in providers.values() {
            if let Some(pass) = p.get("passEnv").and_then(Value::as_array) {
                names.extend(pass.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
        let env_values = names
            .into_iter()
            .filter_map(|n| env.var(&n).map(|v| (n, v)))
            .collect();
        Resolver {
            refs,
            providers,
            defaults,
            env: env_values,
            home: paths::home(env),
            cwd: cwd.to_path_buf(),
        }
    }

    /// How many distinct refs the config holds.
    pub fn ref_count(&self) -> usize {
        self.refs.len()
    }

    /// Resolves every ref. `Ok` carries the snapshot (and warnings for inactive refs that
    /// failed); `Err` lists every failure of an active ref.
    pub fn resolve(self: &Arc<Self>) -> Result<Snapshot, Vec<Failure>> {
        // Group by provider; each group is one env lookup, one file read or one command run.
        let mut groups: BTreeMap<(String, String), Vec<&RefKey>> = BTreeMap::new();
        for k in self.refs.keys() {
            groups
                .entry((k.source.clone(), k.provider.clone()))
                .or_default()
                .push(k);
        }
        let results: Vec<(&RefKey, Result<String, Problem>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = groups
                .iter()
                .map(|((source, provider), keys)| {
                    scope.spawn(move || self.resolve_group(source, provider, keys))
                })
                .collect();
            handles
                .into_iter()
                .zip(groups.values())
                .flat_map(|(h, keys)| match h.join() {
                    Ok(r) => r,
                    Err(_) => keys
                        .iter()
                        .map(|k| (*k, Err(Problem::new("internal error while resolving (a resolver thread panicked); please report this", ""))))
                        .collect(),
                })
                .collect()
        });
        let mut snapshot = Snapshot {
            resolver: Some(self.clone()),
            ..Snapshot::default()
        };
        let mut errors = Vec::new();
        for (key, result) in results {
            let uses = self.refs.get(key).cloned().unwrap_or_default();
            let result = result.and_then(|v| {
                if v.is_empty() {
                    Err(Problem::new(
                        "resolved to an empty value",
                        "store a non-empty secret there",
                    ))
                } else {
                    Ok(v)
                }
            });
            match result {
                Ok(v) => {
                    snapshot.resolved += 1;
                    for u in &uses {
                        snapshot.values.insert(u.path.clone(), Secret(v.clone()));
                    }
                }
                Err(p) => {
                    let f = Failure {
                        key: key.clone(),
                        uses,
                        message: p.message,
                        help: p.help,
                    };
                    if f.is_active() {
                        errors.push(f);
                    } else {
                        snapshot.warnings.push(f);
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(snapshot)
        } else {
            Err(errors)
        }
    }

    fn default_alias(&self, source: &str) -> &str {
        self.defaults
            .get(source)
            .map_or(DEFAULT_PROVIDER_ALIAS, String::as_str)
    }

    fn resolve_group<'k>(
        &self,
        source: &str,
        provider: &str,
        keys: &[&'k RefKey],
    ) -> Vec<(&'k RefKey, Result<String, Problem>)> {
        let all = |p: Problem| keys.iter().map(|k| (*k, Err(p.clone()))).collect();
        let builtin_env = json!({ "source": "env" });
        let decl = match self.providers.get(provider) {
            Some(d) => d,
            None if source == "env" && provider == self.default_alias("env") => &builtin_env,
            None => {
                return all(Problem::new(
                    format!("secrets.providers does not define provider \"{provider}\""),
                    format!(
                        "declare it: secrets: {{ providers: {{ {provider}: {{ source: \"{source}\", … }} }} }}"
                    ),
                ));
            }
        };
        let declared = decl.get("source").and_then(Value::as_str).unwrap_or("");
        if declared != source {
            return all(Problem::new(
                format!(
                    "provider \"{provider}\" has source \"{declared}\" but the ref asks for \"{source}\""
                ),
                "make the ref's source match the provider's declaration",
            ));
        }
        match source {
            "env" => keys
                .iter()
                .map(|k| (*k, self.env_ref(provider, decl, &k.id)))
                .collect(),
            "file" => match self.read_file_provider(provider, decl) {
                Ok(payload) => keys
                    .iter()
                    .map(|k| (*k, file_ref(provider, &payload, &k.id)))
                    .collect(),
                Err(p) => all(p),
            },
            "exec" => {
                let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
                match self.run_exec_provider(provider, decl, &ids) {
                    Ok(mut values) => keys
                        .iter()
                        .map(|k| {
                            let r = values.remove(&k.id).unwrap_or_else(|| {
                                Err(Problem::new(
                                    format!(
                                        "exec provider \"{provider}\" did not return id \"{}\"",
                                        k.id
                                    ),
                                    "make the command answer every requested id under \"values\"",
                                ))
                            });
                            (*k, r)
                        })
                        .collect(),
                    Err(p) => all(p),
                }
            }
            other => all(Problem::new(
                format!("\"{other}\" secret providers are not supported by this gateway"),
                "use an env, file or exec provider",
            )),
        }
    }

    fn env_ref(&self, provider: &str, decl: &Value, id: &str) -> Result<String, Problem> {
        if let Some(allow) = decl.get("allowlist").and_then(Value::as_array)
            && !allow.is_empty()
            && !allow.iter().any(|a| a.as_str() == Some(id))
        {
            return Err(Problem::new(
                format!(
                    "environment variable {id} is not in secrets.providers.{provider}.allowlist"
                ),
                format!("add \"{id}\" to the allowlist, or use a variable it names"),
            ));
        }
        match self.env.get(id).filter(|v| !v.is_empty()) {
            Some(v) => Ok(v.clone()),
            None => Err(Problem::new(
                format!("environment variable {id} is not set (or empty)"),
                format!(
                    "set {id} for the gateway (its environment, ./.env or ~/.openclaw/.env), or put the value in the config"
                ),
            )),
        }
    }

    fn path_of(&self, p: &str) -> PathBuf {
        paths::expand_user(p, self.home.as_deref(), &self.cwd)
    }

    fn read_file_provider(&self, provider: &str, decl: &Value) -> Result<FilePayload, Problem> {
        let key = format!("secrets.providers.{provider}.path");
        let path = self.path_of(decl.get("path").and_then(Value::as_str).unwrap_or(""));
        let shown = display_name(&path);
        let max_bytes = positive(decl, "maxBytes").unwrap_or(FILE_MAX_BYTES);
        let timeout = positive(decl, "timeoutMs").map_or(FILE_TIMEOUT, Duration::from_millis);
        let meta = std::fs::metadata(&path).map_err(|e| {
            Problem::new(
                format!("cannot read {shown} ({key}): {}", io_reason(&e)),
                format!("create the file (chmod 600), or point {key} at it"),
            )
        })?;
        if !meta.is_file() {
            return Err(Problem::new(
                format!("{shown} ({key}) is not a regular file"),
                format!("point {key} at a regular file"),
            ));
        }
        check_owner_and_mode(&meta, &shown, false)?;
        if meta.len() > max_bytes {
            return Err(Problem::new(
                format!(
                    "{shown} is {} bytes, more than maxBytes ({max_bytes})",
                    meta.len()
                ),
                format!("shrink the file, or raise secrets.providers.{provider}.maxBytes"),
            ));
        }
        let bytes = read_with_timeout(&path, max_bytes, timeout).map_err(|e| match e {
            ReadError::Timeout => Problem::new(
                format!(
                    "reading {shown} took longer than timeoutMs ({} ms)",
                    timeout.as_millis()
                ),
                format!("check the file system, or raise secrets.providers.{provider}.timeoutMs"),
            ),
            ReadError::TooBig => Problem::new(
                format!("{shown} grew past maxBytes ({max_bytes}) while being read"),
                format!("shrink the file, or raise secrets.providers.{provider}.maxBytes"),
            ),
            ReadError::Io(e) => Problem::new(
                format!("cannot read {shown}: {}", io_reason(&e)),
                "check the file's permissions",
            ),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Problem::new(
                format!("{shown} is not UTF-8 text"),
                "save the file as UTF-8",
            )
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        if decl.get("mode").and_then(Value::as_str) == Some("singleValue") {
            return Ok(FilePayload::Single(
                text.trim_end_matches(['\r', '\n']).to_string(),
            ));
        }
        match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => Ok(FilePayload::Json(v, shown)),
            Ok(other) => Err(Problem::new(
                format!("{shown} holds JSON {}, not an object", json_type(&other)),
                format!(
                    "make it a JSON object, or set secrets.providers.{provider}.mode to \"singleValue\""
                ),
            )),
            Err(e) => Err(Problem::new(
                format!("{shown} is not valid JSON: {e}"),
                format!(
                    "fix the JSON, or set secrets.providers.{provider}.mode to \"singleValue\" for a file holding one value"
                ),
            )),
        }
    }

    fn run_exec_provider(
        &self,
        provider: &str,
        decl: &Value,
        ids: &[&str],
    ) -> Result<HashMap<String, Result<String, Problem>>, Problem> {
        let base = format!("secrets.providers.{provider}");
        if decl.get("pluginIntegration").is_some() {
            return Err(Problem::new(
                format!("{base} is a plugin integration, which this gateway cannot run"),
                "declare a command provider (command, args) instead",
            ));
        }
        let raw = decl.get("command").and_then(Value::as_str).unwrap_or("");
        let command = self.path_of(raw);
        if !command.is_absolute() {
            return Err(Problem::new(
                format!("{base}.command \"{raw}\" is not an absolute path"),
                "give the full path of the executable (it is run directly, without a shell or PATH lookup)",
            ));
        }
        let shown = display_name(&command);
        let meta = std::fs::symlink_metadata(&command).map_err(|e| {
            Problem::new(
                format!("{base}.command {shown}: {}", io_reason(&e)),
                "install the command there, or fix the path",
            )
        })?;
        if meta.file_type().is_symlink() {
            return Err(Problem::new(
                format!("{base}.command {shown} is a symlink"),
                "point command at the real file (a symlink could be redirected without touching the config)",
            ));
        }
        if !meta.is_file() {
            return Err(Problem::new(
                format!("{base}.command {shown} is not a regular file"),
                "point command at an executable file",
            ));
        }
        check_owner_and_mode(&meta, &shown, true)?;
        if let Some(dirs) = decl.get("trustedDirs").and_then(Value::as_array)
            && !dirs.is_empty()
        {
            let real = std::fs::canonicalize(&command).unwrap_or_else(|_| command.clone());
            let inside = dirs.iter().filter_map(Value::as_str).any(|d| {
                let d = self.path_of(d);
                let d = std::fs::canonicalize(&d).unwrap_or(d);
                real.starts_with(&d)
            });
            if !inside {
                return Err(Problem::new(
                    format!("{base}.command {shown} is outside {base}.trustedDirs"),
                    "move the command into a trusted directory, or add its directory to trustedDirs",
                ));
            }
        }
        let timeout = positive(decl, "timeoutMs").map_or(EXEC_TIMEOUT, Duration::from_millis);
        let no_output = positive(decl, "noOutputTimeoutMs").map_or(timeout, Duration::from_millis);
        let max_output = positive(decl, "maxOutputBytes").unwrap_or(EXEC_MAX_OUTPUT_BYTES);
        let json_only = decl
            .get("jsonOnly")
            .and_then(Value::as_bool)
            .unwrap_or(true);

        let mut cmd = Command::new(&command);
        if let Some(args) = decl.get("args").and_then(Value::as_array) {
            cmd.args(args.iter().filter_map(Value::as_str));
        }
        cmd.env_clear();
        if let Some(pass) = decl.get("passEnv").and_then(Value::as_array) {
            for name in pass.iter().filter_map(Value::as_str) {
                if let Some(v) = self.env.get(name) {
                    cmd.env(name, v);
                }
            }
        }
        if let Some(vars) = decl.get("env").and_then(Value::as_object) {
            for (k, v) in vars {
                if let Some(v) = v.as_str() {
                    cmd.env(k, v);
                }
            }
        }
        if let Some(dir) = command.parent() {
            cmd.current_dir(dir);
        }
        let request =
            json!({ "protocolVersion": EXEC_PROTOCOL_VERSION, "provider": provider, "ids": ids });
        let run = run_command(
            cmd,
            request.to_string().into_bytes(),
            Limits {
                timeout,
                no_output,
                max_output,
            },
        );
        let fix_limits =
            format!("make the command faster, or raise {base}.timeoutMs / noOutputTimeoutMs");
        let out = match run {
            Ok(o) => o,
            Err(RunError::Spawn(e)) => {
                return Err(Problem::new(
                    format!("cannot run {shown}: {}", io_reason(&e)),
                    "check that it is executable and its interpreter (#! line) exists",
                ));
            }
            Err(RunError::Timeout) => {
                return Err(Problem::new(
                    format!(
                        "exec provider \"{provider}\" did not finish within timeoutMs ({} ms); it was killed",
                        timeout.as_millis()
                    ),
                    fix_limits,
                ));
            }
            Err(RunError::NoOutput) => {
                return Err(Problem::new(
                    format!(
                        "exec provider \"{provider}\" printed nothing for noOutputTimeoutMs ({} ms); it was killed",
                        no_output.as_millis()
                    ),
                    fix_limits,
                ));
            }
            Err(RunError::TooMuchOutput) => {
                return Err(Problem::new(
                    format!(
                        "exec provider \"{provider}\" printed more than maxOutputBytes ({max_output}); it was killed"
                    ),
                    format!("print only the response, or raise {base}.maxOutputBytes"),
                ));
            }
            Err(RunError::Io(e)) => {
                return Err(Problem::new(
                    format!("exec provider \"{provider}\" failed: {e}"),
                    "",
                ));
            }
        };
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first: String = stderr
                .trim()
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect();
            let how = match out.status.code() {
                Some(c) => format!("exited with code {c}"),
                None => "was killed by a signal".to_string(),
            };
            let tail = if first.is_empty() {
                String::new()
            } else {
                format!(" (stderr: {first})")
            };
            return Err(Problem::new(
                format!("exec provider \"{provider}\" {how}{tail}"),
                format!("run {shown} by hand with the request on stdin to see what fails"),
            ));
        }
        parse_exec_response(
            provider,
            ids,
            &String::from_utf8_lossy(&out.stdout),
            json_only,
        )
    }
}

/// Why a ref (or a whole provider) did not resolve, and how to fix it.
#[derive(Debug, Clone)]
struct Problem {
    message: String,
    help: String,
}

impl Problem {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            help: help.into(),
        }
    }
}

enum FilePayload {
    Single(String),
    /// The document and the file's display name.
    Json(Value, String),
}

fn file_ref(provider: &str, payload: &FilePayload, id: &str) -> Result<String, Problem> {
    match payload {
        FilePayload::Single(v) => {
            if id == SINGLE_VALUE_ID {
                Ok(v.clone())
            } else {
                Err(Problem::new(
                    format!(
                        "file provider \"{provider}\" holds a single value, so the ref id must be \"{SINGLE_VALUE_ID}\" (got \"{id}\")"
                    ),
                    format!(
                        "set the ref's id to \"{SINGLE_VALUE_ID}\", or make the file JSON and set secrets.providers.{provider}.mode to \"json\""
                    ),
                ))
            }
        }
        FilePayload::Json(doc, shown) => {
            if !id.starts_with('/') {
                return Err(Problem::new(
                    format!("the ref id \"{id}\" is not a JSON pointer into {shown}"),
                    "use an absolute JSON pointer such as \"/providers/openai/apiKey\"",
                ));
            }
            match doc.pointer(id) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(Problem::new(
                    format!("{id} in {shown} is {}, not a string", json_type(other)),
                    "point the ref at a string value",
                )),
                None => {
                    let (parent, keys) = nearest_keys(doc, id);
                    let known = if keys.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; keys under {}: {}",
                            if parent.is_empty() { "/" } else { &parent },
                            keys.join(", ")
                        )
                    };
                    Err(Problem::new(
                        format!("{id} does not exist in {shown}{known}"),
                        "fix the ref's id, or add the value to the file",
                    ))
                }
            }
        }
    }
}

/// The deepest existing object along a JSON pointer and its keys (for "did you mean" help).
fn nearest_keys(doc: &Value, pointer: &str) -> (String, Vec<String>) {
    let mut at = doc;
    let mut walked = String::new();
    for tok in pointer.split('/').skip(1) {
        let key = tok.replace("~1", "/").replace("~0", "~");
        match at.get(&key) {
            Some(next) if next.is_object() => {
                at = next;
                walked.push('/');
                walked.push_str(tok);
            }
            _ => break,
        }
    }
    let keys = at
        .as_object()
        .map(|m| m.keys().take(20).cloned().collect())
        .unwrap_or_default();
    (walked, keys)
}

fn parse_exec_response(
    provider: &str,
    ids: &[&str],
    stdout: &str,
    json_only: bool,
) -> Result<HashMap<String, Result<String, Problem>>, Problem> {
    let text = stdout.trim();
    let shape = "answer {\"protocolVersion\":1,\"values\":{\"<id>\":\"<secret>\"}} on stdout";
    if text.is_empty() {
        return Err(Problem::new(
            format!("exec provider \"{provider}\" printed nothing on stdout"),
            shape,
        ));
    }
    let single = (!json_only && ids.len() == 1).then(|| ids[0]);
    let parsed = match serde_json::from_str::<Value>(text) {
        Ok(v) => v,
        Err(_) if single.is_some() => {
            return Ok(single
                .into_iter()
                .map(|id| (id.to_string(), Ok(text.to_string())))
                .collect());
        }
        Err(e) => {
            return Err(Problem::new(
                format!("exec provider \"{provider}\" printed invalid JSON ({e})"),
                format!(
                    "{shape}, or set jsonOnly: false to let a single-id command print the bare value"
                ),
            ));
        }
    };
    if let (Some(id), Value::String(s)) = (single, &parsed) {
        return Ok(HashMap::from([(id.to_string(), Ok(s.clone()))]));
    }
    let Some(obj) = parsed.as_object() else {
        return Err(Problem::new(
            format!(
                "exec provider \"{provider}\" answered JSON {}, not an object",
                json_type(&parsed)
            ),
            shape,
        ));
    };
    if obj.get("protocolVersion").and_then(Value::as_u64) != Some(EXEC_PROTOCOL_VERSION) {
        return Err(Problem::new(
            format!(
                "exec provider \"{provider}\" answered without protocolVersion {EXEC_PROTOCOL_VERSION}"
            ),
            shape,
        ));
    }
    let Some(values) = obj.get("values").and_then(Value::as_object) else {
        return Err(Problem::new(
            format!("exec provider \"{provider}\" answered without a \"values\" object"),
            shape,
        ));
    };
    let errors = obj.get("errors").and_then(Value::as_object);
    let mut out = HashMap::new();
    for id in ids {
        let r = if let Some(e) = errors.and_then(|e| e.get(*id)) {
            let why = e
                .get("message")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            Err(Problem::new(
                format!("exec provider \"{provider}\" reported an error for id \"{id}\"{why}"),
                "fix the secret in the backing store, or the ref's id",
            ))
        } else {
            match values.get(*id) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(Problem::new(
                    format!(
                        "exec provider \"{provider}\" returned {} for id \"{id}\", not a string",
                        json_type(other)
                    ),
                    "return secrets as strings",
                )),
                None => Err(Problem::new(
                    format!("exec provider \"{provider}\" did not return id \"{id}\""),
                    "make the command answer every requested id under \"values\"",
                )),
            }
        };
        out.insert((*id).to_string(), r);
    }
    Ok(out)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn positive(decl: &Value, key: &str) -> Option<u64> {
    decl.get(key).and_then(Value::as_u64).filter(|n| *n > 0)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The effective uid of this process (the owner of `/proc/self`), where that can be told.
fn current_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Refuses files others could swap: writable by group or others, or owned by someone other than
/// this user or root. Executables must also have an execute bit.
fn check_owner_and_mode(meta: &std::fs::Metadata, shown: &str, exec: bool) -> Result<(), Problem> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
                (true, true) => "its group and all users",
                (true, false) => "its group",
                _ => "all users",
            };
            return Err(Problem::new(
                format!(
                    "{shown} is writable by {who} (mode {mode:04o}), so someone else could replace what it holds"
                ),
                format!("chmod go-w {shown}"),
            ));
        }
        if let Some(me) = current_uid()
            && meta.uid() != me
            && meta.uid() != 0
        {
            return Err(Problem::new(
                format!(
                    "{shown} is owned by uid {}, not by the user running the gateway (uid {me}) or root",
                    meta.uid()
                ),
                format!("chown {me} {shown}"),
            ));
        }
        if exec && mode & 0o111 == 0 {
            return Err(Problem::new(
                format!("{shown} is not executable (mode {mode:04o})"),
                format!("chmod u+x {shown}"),
            ));
        }
    }
    let _ = (meta, exec);
    Ok(())
}

enum ReadError {
    Timeout,
    TooBig,
    Io(std::io::Error),
}

/// Reads at most `max` bytes of a file within `timeout` (a stalled file system read is abandoned
/// to its thread).
fn read_with_timeout(path: &Path, max: u64, timeout: Duration) -> Result<Vec<u8>, ReadError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let r = std::fs::File::open(&path).and_then(|f| {
            let mut buf = Vec::new();
            f.take(max + 1).read_to_end(&mut buf).map(|_| buf)
        });
        let _ = tx.send(r);
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(b)) if b.len() as u64 > max => Err(ReadError::TooBig),
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => Err(ReadError::Io(e)),
        Err(_) => Err(ReadError::Timeout),
    }
}

struct Limits {
    timeout: Duration,
    no_output: Duration,
    max_output: u64,
}

struct Output {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

enum RunError {
    Spawn(std::io::Error),
    Timeout,
    NoOutput,
    TooMuchOutput,
    Io(String),
}

/// Runs a command with `input` on stdin under the limits; past any limit its process group is
/// killed (so helpers it started die too) and reaped.
fn run_command(mut cmd: Command, input: Vec<u8>, l: Limits) -> Result<Output, RunError> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    // ETXTBSY: another thread's fork may briefly hold a just-written script open for writing.
    let mut tries = 0;
    let mut child = loop {
        match cmd.spawn() {
            Ok(c) => break c,
            Err(e) if e.raw_os_error() == Some(26) && tries < 10 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(RunError::Spawn(e)),
        }
    };
    let start = Instant::now();
    if let Some(mut stdin) = child.stdin.take() {
        // A command that never reads its stdin must not block us: write from a thread.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let (tx, rx) = std::sync::mpsc::channel::<(bool, Option<Vec<u8>>)>();
    let pipes: Vec<(bool, Box<dyn Read + Send>)> = [
        child
            .stdout
            .take()
            .map(|p| (true, Box::new(p) as Box<dyn Read + Send>)),
        child
            .stderr
            .take()
            .map(|p| (false, Box::new(p) as Box<dyn Read + Send>)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut open = pipes.len();
    for (is_out, mut pipe) in pipes {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send((is_out, None));
                        break;
                    }
                    Ok(n) => {
                        if tx.send((is_out, Some(buf[..n].to_vec()))).is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }
    drop(tx);
    let deadline = start + l.timeout;
    let mut last_output = start;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut total: u64 = 0;
    while open > 0 {
        let now = Instant::now();
        if now >= deadline {
            kill(&mut child);
            return Err(RunError::Timeout);
        }
        let quiet_until = last_output + l.no_output;
        if now >= quiet_until {
            kill(&mut child);
            return Err(RunError::NoOutput);
        }
        match rx.recv_timeout(deadline.min(quiet_until) - now) {
            Ok((is_out, Some(bytes))) => {
                total += bytes.len() as u64;
                if total > l.max_output {
                    kill(&mut child);
                    return Err(RunError::TooMuchOutput);
                }
                if is_out {
                    stdout.extend_from_slice(&bytes);
                } else {
                    stderr.extend_from_slice(&bytes);
                }
                last_output = Instant::now();
            }
            Ok((_, None)) => open -= 1,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Ok(Output {
                    status,
                    stdout,
                    stderr,
                });
            }
            Ok(None) if Instant::now() >= deadline => {
                kill(&mut child);
                return Err(RunError::Timeout);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => {
                kill(&mut child);
                return Err(RunError::Io(e.to_string()));
            }
        }
    }
}

/// SIGKILLs the child's process group (it leads its own), then the child, and reaps it.
fn kill(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------------------------------------
// Finding refs

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

const SOURCES: [&str; 4] = ["env", "file", "exec", "store"];

/// An object `{source, provider, id}` (exactly those three string members) with a known source.
fn as_ref(
    source: Option<&str>,
    provider: Option<&str>,
    id: Option<&str>,
    len: usize,
) -> Option<RefKey> {
    let (s, p, i) = (source?, provider?, id?);
    (len == 3 && SOURCES.contains(&s)).then(|| RefKey {
        source: s.to_string(),
        provider: p.to_string(),
        id: i.trim().to_string(),
    })
}

fn still_active(path: &str, active: bool, enabled: Option<bool>) -> bool {
    active
        && enabled != Some(false)
        && path != "gateway.remote"
        && !path.starts_with("gateway.remote.")
}

fn find_spanned(
    v: &Spanned,
    path: &str,
    active: bool,
    sources: &SourceMap,
    out: &mut BTreeMap<RefKey, Vec<Use>>,
) {
    match &v.value {
        SValue::Object(members) => {
            if path == "secrets" {
                return;
            }
            let s = |k: &str| v.get(k).and_then(Spanned::as_str);
            if let Some(key) = as_ref(s("source"), s("provider"), s("id"), members.len()) {
                let at = sources.line_col(v.span).and_then(|lc| {
                    let f = sources.get(v.span.src)?;
                    Some(format!(
                        "{}:{}:{}",
                        display_name(&f.path),
                        lc.line,
                        lc.column
                    ))
                });
                out.entry(key).or_default().push(Use {
                    path: path.to_string(),
                    at,
                    active: still_active(path, active, None),
                });
                return;
            }
            let active = still_active(path, active, v.get("enabled").and_then(Spanned::as_bool));
            for m in members {
                if m.value.is_container() {
                    find_spanned(&m.value, &join(path, &m.key), active, sources, out);
                }
            }
        }
        SValue::Array(items) => {
            for (i, it) in items.iter().enumerate() {
                if it.is_container() {
                    find_spanned(it, &join(path, &i.to_string()), active, sources, out);
                }
            }
        }
        _ => {}
    }
}

fn find_value(v: &Value, path: &str, active: bool, out: &mut BTreeMap<RefKey, Vec<Use>>) {
    match v {
        Value::Object(m) => {
            if path == "secrets" {
                return;
            }
            let s = |k: &str| m.get(k).and_then(Value::as_str);
            if let Some(key) = as_ref(s("source"), s("provider"), s("id"), m.len()) {
                out.entry(key).or_default().push(Use {
                    path: path.to_string(),
                    at: None,
                    active: still_active(path, active, None),
                });
                return;
            }
            let active = still_active(path, active, m.get("enabled").and_then(Value::as_bool));
            for (k, child) in m {
                if child.is_object() || child.is_array() {
                    find_value(child, &join(path, k), active, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, it) in items.iter().enumerate() {
                if it.is_object() || it.is_array() {
                    find_value(it, &join(path, &i.to_string()), active, out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MapEnv;

    fn resolver(root: Value, env: &MapEnv) -> Arc<Resolver> {
        Arc::new(Resolver::from_value(&root, env, Path::new("/")))
    }

    #[test]
    fn finds_refs_outside_secrets_with_activity() {
        let root = json!({
            "secrets": { "providers": { "e": { "source": "env" } } },
            "gateway": {
                "auth": { "token": { "source": "env", "provider": "e", "id": "TOK" } },
                "remote": { "token": { "source": "env", "provider": "e", "id": "REMOTE" } },
            },
            "channels": { "x": { "enabled": false, "token": { "source": "env", "provider": "e", "id": "TOK" } } },
            "list": [ { "source": "env", "provider": "e", "id": "IN_LIST" } ],
            "notRef": { "source": "env", "provider": "e", "id": "X", "extra": 1 },
        });
        let r = resolver(root, &MapEnv::default());
        let keys: Vec<String> = r.refs.keys().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["env:e:IN_LIST", "env:e:REMOTE", "env:e:TOK"]);
        let tok = &r.refs[&RefKey {
            source: "env".into(),
            provider: "e".into(),
            id: "TOK".into(),
        }];
        assert_eq!(tok.len(), 2);
        assert!(
            tok.iter()
                .any(|u| u.path == "gateway.auth.token" && u.active)
        );
        assert!(
            tok.iter()
                .any(|u| u.path == "channels.x.token" && !u.active)
        );
        let remote = &r.refs[&RefKey {
            source: "env".into(),
            provider: "e".into(),
            id: "REMOTE".into(),
        }];
        assert!(!remote[0].active);
    }

    #[test]
    fn env_refs_allowlist_default_provider_and_warnings() {
        let env = MapEnv::new([("TOK", "t0k"), ("OTHER", "o"), ("EMPTY", "")]);
        let root = json!({
            "secrets": { "providers": { "strict": { "source": "env", "allowlist": ["TOK"] } } },
            "gateway": { "auth": { "token": { "source": "env", "provider": "strict", "id": "TOK" } } },
            "a": { "source": "env", "provider": "default", "id": "OTHER" },
            "gatewayx": { "enabled": false, "k": { "source": "env", "provider": "default", "id": "EMPTY" } },
        });
        let s = resolver(root, &env).resolve().expect("resolves");
        assert_eq!(s.get("gateway.auth.token"), Some("t0k"));
        assert_eq!(s.get("a"), Some("o"));
        assert_eq!(s.resolved(), 2);
        assert_eq!(s.warnings().len(), 1);
        assert!(
            s.warnings()[0].message.contains("EMPTY is not set"),
            "{:?}",
            s.warnings()
        );
        assert!(!format!("{s:?}").contains("t0k"));

        let root = json!({
            "secrets": { "providers": { "strict": { "source": "env", "allowlist": ["TOK"] } } },
            "x": { "source": "env", "provider": "strict", "id": "OTHER" },
            "y": { "source": "env", "provider": "nope", "id": "TOK" },
        });
        let errs = resolver(root, &env).resolve().expect_err("fails");
        assert_eq!(errs.len(), 2);
        assert!(
            errs[1]
                .message
                .contains("not in secrets.providers.strict.allowlist"),
            "{}",
            errs[1]
        );
        assert!(
            errs[0]
                .message
                .contains("does not define provider \"nope\""),
            "{}",
            errs[0]
        );
        assert!(
            errs[0]
                .to_string()
                .starts_with("env:nope:TOK (used at y): "),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn secrets_defaults_name_the_builtin_env_provider() {
        let env = MapEnv::new([("K", "v")]);
        let root = json!({
            "secrets": { "defaults": { "env": "sys" } },
            "x": { "source": "env", "provider": "sys", "id": "K" },
        });
        assert_eq!(
            resolver(root, &env).resolve().expect("ok").get("x"),
            Some("v")
        );
    }

    #[test]
    fn exec_responses() {
        let ok = parse_exec_response("p", &["a", "b"], "{\"protocolVersion\":1,\"values\":{\"a\":\"1\"},\"errors\":{\"b\":{\"message\":\"locked\"}}}", true).expect("ok");
        assert_eq!(ok["a"].as_ref().ok().map(String::as_str), Some("1"));
        assert!(
            ok["b"]
                .as_ref()
                .err()
                .is_some_and(|p| p.message.ends_with(": locked"))
        );
        assert!(parse_exec_response("p", &["a"], "plain", true).is_err());
        let raw = parse_exec_response("p", &["a"], "plain\n", false).expect("raw");
        assert_eq!(raw["a"].as_ref().ok().map(String::as_str), Some("plain"));
        assert!(parse_exec_response("p", &["a"], "{\"values\":{}}", true).is_err());
        assert!(parse_exec_response("p", &["a"], "", false).is_err());
    }
}
