//! `openclaw gateway install | uninstall | start | stop | restart`, and what `gateway status` and
//! `doctor` learn about the installed service.
//!
//! On Linux the service is a systemd **user** unit,
//! `$XDG_CONFIG_HOME/systemd/user/openclaw-gateway[-<profile>].service` (`~/.config/…` by default);
//! on macOS a LaunchAgent, `~/Library/LaunchAgents/<label>.plist` with the label
//! `ai.openclaw.gateway` or `ai.openclaw.<profile>`. Both run this binary (absolute path) as
//! `<exe> [--dev | --profile NAME] gateway run --port <port>`, so the service uses the same state
//! directory, config and log file as the CLI of the same profile. `OPENCLAW_STATE_DIR`,
//! `OPENCLAW_CONFIG_PATH` and `OPENCLAW_HOME`, when set for the CLI, are copied (as absolute paths)
//! into the service's environment for the same reason, next to the markers
//! `OPENCLAW_SERVICE_MARKER=openclaw`, `OPENCLAW_SERVICE_KIND=gateway` and
//! `OPENCLAW_SERVICE_VERSION`.
//!
//! The supervisor is used only when it is there: `systemctl` must be on `PATH` and
//! `systemctl --user is-system-running` must report a running manager. Without one, `install`
//! still writes the unit and prints the commands to run once a user manager exists; the other verbs
//! say what to do instead. Every external command is bounded by [`TOOL_LIMIT`].

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runtime::config::MapEnv;
use runtime::config::paths::{self, Profile};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Ctx;
use crate::report::{fail, shorten};

/// Upper bound for one `systemctl`/`launchctl`/`journalctl`/`loginctl` call.
pub(crate) const TOOL_LIMIT: Duration = Duration::from_secs(20);

/// The markers every service this tool writes carries in its environment.
pub const MARKER_KEY: &str = "OPENCLAW_SERVICE_MARKER";
pub const MARKER_VALUE: &str = "openclaw";
pub const KIND_KEY: &str = "OPENCLAW_SERVICE_KIND";
pub const VERSION_KEY: &str = "OPENCLAW_SERVICE_VERSION";

/// CLI environment variables copied into the service so it resolves the same files.
const FORWARDED_ENV: [&str; 3] = [
    "OPENCLAW_HOME",
    "OPENCLAW_STATE_DIR",
    "OPENCLAW_CONFIG_PATH",
];

/// Flags of `openclaw gateway install`.
#[derive(Debug, Clone, clap::Args)]
pub struct InstallArgs {
    /// Rewrite the service definition (and restart it) even when one is already installed.
    #[arg(long)]
    pub force: bool,
    /// Port the service's gateway listens on (default: OPENCLAW_GATEWAY_PORT, gateway.port,
    /// 18789; --dev 19001).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Flags of the other service verbs.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceArgs {
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

// ---------------------------------------------------------------------------------------------
// The service definition.

/// Which supervisor this platform uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Manager {
    Systemd,
    Launchd,
}

impl Manager {
    pub(crate) fn current() -> Manager {
        if cfg!(target_os = "macos") {
            Manager::Launchd
        } else {
            Manager::Systemd
        }
    }

    fn tool(self) -> &'static str {
        match self {
            Manager::Systemd => "systemctl",
            Manager::Launchd => "launchctl",
        }
    }
}

/// Everything a service definition depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The effective profile: `dev` for `--dev`, the `--profile` name, or none (`default` is none).
    pub profile: Option<String>,
    /// `--dev` rather than `--profile dev`.
    pub dev: bool,
    /// Absolute path of the `openclaw` binary.
    pub exe: PathBuf,
    pub port: u16,
    /// Extra environment (forwarded CLI variables), sorted by name.
    pub env: Vec<(String, String)>,
    /// `OPENCLAW_SERVICE_VERSION`.
    pub version: String,
    /// The state directory (the LaunchAgent writes its stdout/stderr under `<state>/logs`).
    pub state_dir: PathBuf,
}

/// `openclaw-gateway[-<profile>].service`.
pub fn unit_name(profile: Option<&str>) -> String {
    match profile {
        Some(p) if p != "default" => format!("openclaw-gateway-{p}.service"),
        _ => "openclaw-gateway.service".to_string(),
    }
}

/// `ai.openclaw.gateway`, or `ai.openclaw.<profile>`.
pub fn launchd_label(profile: Option<&str>) -> String {
    match profile {
        Some(p) if p != "default" => format!("ai.openclaw.{p}"),
        _ => "ai.openclaw.gateway".to_string(),
    }
}

impl ServiceSpec {
    /// The command line the service runs.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.exe.display().to_string()];
        match (&self.profile, self.dev) {
            (_, true) => argv.push("--dev".into()),
            (Some(p), false) => {
                argv.push("--profile".into());
                argv.push(p.clone());
            }
            (None, false) => {}
        }
        argv.extend(["gateway", "run", "--port"].map(String::from));
        argv.push(self.port.to_string());
        argv
    }

    /// The service's whole environment: markers first, then the forwarded variables.
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut env = vec![
            (MARKER_KEY.to_string(), MARKER_VALUE.to_string()),
            (KIND_KEY.to_string(), "gateway".to_string()),
            (VERSION_KEY.to_string(), self.version.clone()),
        ];
        env.extend(self.env.iter().cloned());
        env
    }

    fn description(&self) -> String {
        match &self.profile {
            Some(p) => format!("OpenClaw Gateway (profile {p}, port {})", self.port),
            None => format!("OpenClaw Gateway (port {})", self.port),
        }
    }
}

/// A value that cannot be written into a service definition.
fn check_value(what: &str, v: &str) -> Result<(), String> {
    if v.chars().any(char::is_control) {
        return Err(format!(
            "{what} contains a control character (e.g. a newline), which a service definition cannot hold: {v:?}"
        ));
    }
    Ok(())
}

/// One word of `ExecStart=`: specifiers (`%`) and variables (`$`) escaped, quoted when needed.
fn systemd_exec_word(arg: &str) -> String {
    let escaped = arg.replace('%', "%%").replace('$', "$$");
    quote_if_needed(&escaped, arg == ";")
}

/// One `Environment=` assignment (specifiers escaped; `$` is literal there).
fn systemd_env_word(key: &str, value: &str) -> String {
    quote_if_needed(&format!("{key}={value}").replace('%', "%%"), false)
}

fn quote_if_needed(s: &str, force: bool) -> String {
    let plain = !force
        && !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'));
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The systemd user unit `gateway install` writes.
pub fn render_unit(spec: &ServiceSpec) -> Result<String, String> {
    let argv = spec.argv();
    for a in &argv {
        check_value("The command line", a)?;
    }
    let env = spec.environment();
    for (k, v) in &env {
        check_value(k, v)?;
    }
    let exec: Vec<String> = argv.iter().map(|a| systemd_exec_word(a)).collect();
    let mut s = String::new();
    s.push_str("# Written by `openclaw gateway install`; `openclaw gateway install --force` rewrites it.\n");
    s.push_str("[Unit]\n");
    s.push_str(&format!("Description={}\n", spec.description()));
    s.push_str("Documentation=https://docs.openclaw.ai/cli/gateway\n");
    s.push_str("StartLimitIntervalSec=0\n");
    s.push_str("\n[Service]\n");
    s.push_str("Type=simple\n");
    s.push_str(&format!("ExecStart={}\n", exec.join(" ")));
    s.push_str("Restart=always\n");
    s.push_str("RestartSec=5\n");
    s.push_str("KillSignal=SIGTERM\n");
    s.push_str("TimeoutStopSec=30\n");
    for (k, v) in &env {
        s.push_str(&format!("Environment={}\n", systemd_env_word(k, v)));
    }
    s.push_str("\n[Install]\n");
    s.push_str("WantedBy=default.target\n");
    Ok(s)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The macOS LaunchAgent `gateway install` writes (a pure function, so it is tested everywhere).
pub fn render_plist(spec: &ServiceSpec) -> Result<String, String> {
    let argv = spec.argv();
    for a in &argv {
        check_value("The command line", a)?;
    }
    let env = spec.environment();
    for (k, v) in &env {
        check_value(k, v)?;
    }
    let label = launchd_label(spec.profile.as_deref());
    let logs = spec.state_dir.join("logs");
    let string = |s: &str| format!("<string>{}</string>", xml_escape(s));
    let mut p = String::new();
    p.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    p.push_str("<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n");
    p.push_str("<!-- Written by `openclaw gateway install`; `openclaw gateway install --force` rewrites it. -->\n");
    p.push_str("<plist version=\"1.0\">\n<dict>\n");
    p.push_str(&format!("  <key>Label</key>\n  {}\n", string(&label)));
    p.push_str("  <key>ProgramArguments</key>\n  <array>\n");
    for a in &argv {
        p.push_str(&format!("    {}\n", string(a)));
    }
    p.push_str("  </array>\n");
    p.push_str("  <key>EnvironmentVariables</key>\n  <dict>\n");
    for (k, v) in &env {
        p.push_str(&format!(
            "    <key>{}</key>\n    {}\n",
            xml_escape(k),
            string(v)
        ));
    }
    p.push_str("  </dict>\n");
    p.push_str("  <key>RunAtLoad</key>\n  <true/>\n");
    p.push_str("  <key>KeepAlive</key>\n  <true/>\n");
    p.push_str("  <key>ThrottleInterval</key>\n  <integer>5</integer>\n");
    p.push_str(&format!(
        "  <key>StandardOutPath</key>\n  {}\n",
        string(&logs.join("gateway.log").display().to_string())
    ));
    p.push_str(&format!(
        "  <key>StandardErrorPath</key>\n  {}\n",
        string(&logs.join("gateway.err.log").display().to_string())
    ));
    p.push_str("</dict>\n</plist>\n");
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// Reading an installed definition back.

/// What matters in an installed service definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Installed {
    /// The command line (`ExecStart=` or `ProgramArguments`).
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl Installed {
    /// The value after a flag in the command line, e.g. `--port`.
    pub fn flag(&self, name: &str) -> Option<&str> {
        let i = self.argv.iter().position(|a| a == name)?;
        self.argv.get(i + 1).map(String::as_str)
    }

    pub fn port(&self) -> Option<u16> {
        self.flag("--port").and_then(|p| p.parse().ok())
    }

    /// The profile selected by the command line (`dev` for `--dev`).
    pub fn profile(&self) -> Profile {
        Profile {
            dev: self.argv.iter().any(|a| a == "--dev"),
            name: self.flag("--profile").map(str::to_string),
        }
    }

    /// Written by this tool (or by OpenClaw): it carries the marker.
    pub fn has_marker(&self) -> bool {
        self.env.get(MARKER_KEY).map(String::as_str) == Some(MARKER_VALUE)
    }

    /// The config file this service's gateway reads, resolved like the CLI does, with the
    /// service's own environment and `home`.
    pub fn config_path(&self, home: Option<&Path>) -> Option<PathBuf> {
        let mut vars: Vec<(String, String)> = self
            .env
            .iter()
            .filter(|(k, _)| FORWARDED_ENV.contains(&k.as_str()) || k.as_str() == "HOME")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !self.env.contains_key("HOME")
            && let Some(h) = home
        {
            vars.push(("HOME".into(), h.display().to_string()));
        }
        let env = MapEnv(vars.into_iter().collect());
        let cwd = home.map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        paths::config_path(&env, &self.profile(), &cwd).ok()
    }
}

/// Splits a systemd value into words: whitespace separates, `"…"` and `'…'` quote (with C-style
/// backslash escapes inside double quotes), `%%` is `%` and `$$` is `$` (when `exec`).
fn systemd_words(value: &str, exec: bool) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '"' | '\'' => {
                in_word = true;
                let quote = c;
                while let Some(q) = chars.next() {
                    if q == quote {
                        break;
                    }
                    if q == '\\' && quote == '"' {
                        match chars.next() {
                            Some('n') => cur.push('\n'),
                            Some('t') => cur.push('\t'),
                            Some(other) => cur.push(other),
                            None => {}
                        }
                    } else {
                        cur.push(q);
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    cur.push(next);
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
        .into_iter()
        .map(|w| {
            let w = w.replace("%%", "%");
            if exec { w.replace("$$", "$") } else { w }
        })
        .collect()
}

/// Reads `ExecStart=` and `Environment=` from the `[Service]` section of a unit file.
pub fn parse_unit(text: &str) -> Installed {
    let mut installed = Installed::default();
    let mut section = String::new();
    let mut logical = String::new();
    for raw in text.lines() {
        // A trailing backslash continues the line.
        if let Some(part) = raw.strip_suffix('\\') {
            logical.push_str(part);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].to_string();
            continue;
        }
        if section != "Service" {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key.trim() {
            "ExecStart" => {
                let value = value.trim().trim_start_matches(['-', '@', '+', '!', ':']);
                installed.argv = systemd_words(value, true);
            }
            "Environment" => {
                for word in systemd_words(value, false) {
                    if let Some((k, v)) = word.split_once('=') {
                        installed.env.insert(k.to_string(), v.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    installed
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Reads `ProgramArguments` and `EnvironmentVariables` from a LaunchAgent plist (the layout
/// [`render_plist`] writes: one element per line).
pub fn parse_plist(text: &str) -> Installed {
    let mut installed = Installed::default();
    let mut block = "";
    let mut pending_key: Option<String> = None;
    let inner = |line: &str, tag: &str| -> Option<String> {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        line.strip_prefix(&open)
            .and_then(|r| r.strip_suffix(&close))
            .map(xml_unescape)
    };
    for line in text.lines().map(str::trim) {
        if let Some(k) = inner(line, "key") {
            match (block, k.as_str()) {
                ("env", _) => pending_key = Some(k),
                (_, "ProgramArguments") => block = "args-next",
                (_, "EnvironmentVariables") => block = "env-next",
                _ => block = "",
            }
            continue;
        }
        match (block, line) {
            ("args-next", "<array>") => block = "args",
            ("env-next", "<dict>") => block = "env",
            ("args", "</array>") | ("env", "</dict>") => block = "",
            ("args", l) => {
                if let Some(v) = inner(l, "string") {
                    installed.argv.push(v);
                }
            }
            ("env", l) => {
                if let (Some(k), Some(v)) = (pending_key.take(), inner(l, "string")) {
                    installed.env.insert(k, v);
                }
            }
            _ => {}
        }
    }
    installed
}

fn parse_definition(manager: Manager, text: &str) -> Installed {
    match manager {
        Manager::Systemd => parse_unit(text),
        Manager::Launchd => parse_plist(text),
    }
}

// ---------------------------------------------------------------------------------------------
// Where things are for this CLI invocation.

/// The service of the current profile: its definition as install would write it now, and where.
#[derive(Debug)]
pub(crate) struct Target {
    pub manager: Manager,
    pub spec: ServiceSpec,
    /// Unit name (systemd) or label (launchd).
    pub name: String,
    /// The definition file.
    pub path: PathBuf,
    /// The text install would write.
    pub text: String,
    pub home: Option<PathBuf>,
}

/// `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`.
pub(crate) fn systemd_user_dir(ctx: &Ctx<'_>) -> Option<PathBuf> {
    let home = paths::home(ctx.env);
    match ctx.env.var("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) if Path::new(&x).is_absolute() => Some(PathBuf::from(x).join("systemd/user")),
        _ => home.map(|h| h.join(".config/systemd/user")),
    }
}

fn launch_agents_dir(ctx: &Ctx<'_>) -> Option<PathBuf> {
    paths::home(ctx.env).map(|h| h.join("Library/LaunchAgents"))
}

/// The prefix that selects this profile on the command line: `openclaw`, `openclaw --dev`, …
pub(crate) fn cli_prefix(ctx: &Ctx<'_>) -> String {
    match (ctx.profile.dev, ctx.profile.name.as_deref()) {
        (true, _) => "openclaw --dev".to_string(),
        (false, Some(p)) if p != "default" => format!("openclaw --profile {p}"),
        _ => "openclaw".to_string(),
    }
}

/// Resolves the service for this CLI invocation. `port` overrides the configured port.
pub(crate) fn target(ctx: &Ctx<'_>, port: Option<u16>) -> Result<Target, String> {
    let manager = Manager::current();
    let profile = ctx
        .profile
        .effective()
        .map_err(|e| e.to_string())?
        .filter(|p| *p != "default")
        .map(str::to_string);
    let state_dir = paths::state_dir(ctx.env, &ctx.profile, &ctx.cwd).map_err(|e| e.to_string())?;
    let port = match port {
        Some(0) => return Err("Invalid --port 0: use a number from 1 to 65535.".into()),
        Some(p) => p,
        None => super::rpc::configured_port(ctx)?,
    };
    let exe = std::env::current_exe()
        .map_err(|e| format!("Cannot find the path of this openclaw binary: {e}"))?;
    let home = paths::home(ctx.env);
    let mut env = Vec::new();
    for key in FORWARDED_ENV {
        if let Some(v) = ctx.env.var(key).filter(|v| !v.trim().is_empty()) {
            let abs = paths::expand_user(&v, home.as_deref(), &ctx.cwd);
            env.push((key.to_string(), abs.display().to_string()));
        }
    }
    env.sort();
    let spec = ServiceSpec {
        profile: profile.clone(),
        dev: ctx.profile.dev,
        exe,
        port,
        env,
        version: runtime::gateway::SERVER_VERSION.to_string(),
        state_dir,
    };
    let (name, dir, text) = match manager {
        Manager::Systemd => (
            unit_name(profile.as_deref()),
            systemd_user_dir(ctx),
            render_unit(&spec)?,
        ),
        Manager::Launchd => (
            launchd_label(profile.as_deref()),
            launch_agents_dir(ctx),
            render_plist(&spec)?,
        ),
    };
    let dir = dir.ok_or("Cannot find the home directory: set HOME")?;
    let file = match manager {
        Manager::Systemd => name.clone(),
        Manager::Launchd => format!("{name}.plist"),
    };
    Ok(Target {
        manager,
        spec,
        name,
        path: dir.join(file),
        text,
        home,
    })
}

// ---------------------------------------------------------------------------------------------
// Running the supervisor's tools, bounded.

/// The outcome of one external command.
#[derive(Debug, Clone)]
pub(crate) struct ToolOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl ToolOutput {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// The first non-empty line of stderr, else of stdout.
    fn first_line(&self) -> String {
        self.stderr
            .lines()
            .chain(self.stdout.lines())
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string()
    }
}

/// `name` found in the `PATH` of `ctx.env`.
pub(crate) fn which(ctx: &Ctx<'_>, name: &str) -> Option<PathBuf> {
    let path = ctx.env.var("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `program args…` with no stdin, killing it after `limit`.
pub(crate) fn run_tool(
    program: &Path,
    args: &[&str],
    limit: Duration,
) -> Result<ToolOutput, String> {
    let shown = format!("{} {}", program.display(), args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("Cannot run {shown}: {e}"))?;
    let readers = [
        child.stdout.take().map(|mut s| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = s.read_to_end(&mut buf);
                buf
            })
        }),
        child.stderr.take().map(|mut s| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = s.read_to_end(&mut buf);
                buf
            })
        }),
    ];
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{shown} did not finish within {} s and was stopped",
                    limit.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("Cannot wait for {shown}: {e}")),
        }
    };
    let [out, err] = readers.map(|r| {
        r.and_then(|h| h.join().ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    });
    Ok(ToolOutput {
        code: status.code(),
        stdout: out,
        stderr: err,
    })
}

/// Whether the supervisor can be used, and why not.
#[derive(Debug, Clone)]
pub(crate) enum Supervisor {
    /// The tool's absolute path.
    Available(PathBuf),
    /// Why not, for people.
    Unavailable(String),
}

/// Finds a usable supervisor: `systemctl` on `PATH` whose `--user is-system-running` reports a
/// running user manager (Linux), or `launchctl` (macOS).
pub(crate) fn detect(ctx: &Ctx<'_>, manager: Manager) -> Supervisor {
    let tool = manager.tool();
    let Some(path) = which(ctx, tool) else {
        return Supervisor::Unavailable(format!("{tool} was not found on PATH"));
    };
    if manager == Manager::Launchd {
        return Supervisor::Available(path);
    }
    match run_tool(&path, &["--user", "is-system-running"], TOOL_LIMIT) {
        Ok(out) => {
            let state = out.stdout.trim();
            if matches!(
                state,
                "running" | "degraded" | "starting" | "initializing" | "maintenance"
            ) {
                Supervisor::Available(path)
            } else {
                let detail = out
                    .stderr
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .map(|l| format!(": {l}"))
                    .unwrap_or_default();
                let state = if state.is_empty() { "nothing" } else { state };
                Supervisor::Unavailable(format!(
                    "no systemd user manager is running: `systemctl --user is-system-running` said {state}{detail}"
                ))
            }
        }
        Err(e) => Supervisor::Unavailable(e),
    }
}

/// The numeric user id (for `gui/<uid>` and `/run/user/<uid>`).
fn uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::metadata("/proc/self") {
        return Some(m.uid());
    }
    let out = run_tool(Path::new("/usr/bin/id"), &["-u"], TOOL_LIMIT).ok()?;
    out.stdout.trim().parse().ok()
}

/// The `launchctl` arguments of a verb for a label.
fn launchctl_args(verb: &str, label: &str, plist: &Path, uid: u32) -> Vec<String> {
    let domain = format!("gui/{uid}");
    let service = format!("{domain}/{label}");
    match verb {
        "load" => vec!["bootstrap".into(), domain, plist.display().to_string()],
        "unload" => vec!["bootout".into(), service],
        "start" => vec!["kickstart".into(), service],
        "restart" => vec!["kickstart".into(), "-k".into(), service],
        _ => vec!["print".into(), service],
    }
}

// ---------------------------------------------------------------------------------------------
// The supervisor's view of the service (for `gateway status`).

/// What the supervisor says about the service.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Runtime {
    /// `running`, `stopped`, `activating`, `failed`, `not-installed` or `unknown`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exit_status: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `systemctl --user show <unit> -p …` as a map.
fn systemd_show(systemctl: &Path, unit: &str) -> Result<BTreeMap<String, String>, String> {
    let out = run_tool(
        systemctl,
        &[
            "--user",
            "show",
            unit,
            "-p",
            "LoadState,ActiveState,SubState,MainPID,ExecMainStatus,UnitFileState",
        ],
        TOOL_LIMIT,
    )?;
    if !out.ok() {
        return Err(format!(
            "`systemctl --user show {unit}` failed: {}",
            out.first_line()
        ));
    }
    Ok(out
        .stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect())
}

fn systemd_runtime(props: &BTreeMap<String, String>) -> Runtime {
    let get = |k: &str| props.get(k).filter(|v| !v.is_empty()).cloned();
    let active = get("ActiveState").unwrap_or_default();
    let status = match active.as_str() {
        "active" | "reloading" => "running",
        "activating" => "activating",
        "failed" => "failed",
        "inactive" | "deactivating" => "stopped",
        _ => "unknown",
    };
    Runtime {
        status,
        pid: get("MainPID")
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| *p > 0),
        last_exit_status: get("ExecMainStatus").and_then(|s| s.parse().ok()),
        state: Some(active).filter(|s| !s.is_empty()),
        sub_state: get("SubState"),
        detail: None,
    }
}

fn launchd_runtime(text: &str) -> Runtime {
    let mut rt = Runtime {
        status: "stopped",
        ..Runtime::default()
    };
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("state = ") {
            rt.state = Some(v.to_string());
            if v == "running" {
                rt.status = "running";
            }
        } else if let Some(v) = line.strip_prefix("pid = ") {
            rt.pid = v.parse().ok();
        } else if let Some(v) = line.strip_prefix("last exit code = ") {
            rt.last_exit_status = v.parse().ok();
        }
    }
    rt
}

/// Another service definition that runs an OpenClaw gateway.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExtraService {
    pub name: String,
    pub path: String,
    /// `user` or `system`.
    pub scope: &'static str,
    /// Carries `OPENCLAW_SERVICE_MARKER=openclaw`.
    pub marker: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
}

/// The `service` object of `gateway status --json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServiceStatus {
    /// `systemd` or `launchd`.
    pub manager: &'static str,
    /// Unit name or label.
    pub label: String,
    /// The definition file.
    pub file: String,
    pub installed: bool,
    /// The supervisor can be asked (`systemctl --user` reaches a user manager).
    pub manager_available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager_unavailable_reason: Option<String>,
    /// `enabled`, `disabled`, … (systemd `UnitFileState`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<String>,
    /// The installed command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The config file the service's gateway reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    pub runtime: Runtime,
    /// How the installed definition differs from what `gateway install` would write now.
    pub drift: Vec<String>,
}

/// Everything `gateway status` reports about services.
#[derive(Debug, Clone)]
pub(crate) struct Inspection {
    pub service: ServiceStatus,
    pub extra: Vec<ExtraService>,
    /// Where the supervisor keeps the service's output (for the last error line).
    pub journal: Option<(PathBuf, String)>,
}

/// Asks the supervisor about the service of this profile; `deep` also scans system-level units.
pub(crate) fn inspect(ctx: &Ctx<'_>, deep: bool) -> Result<Inspection, String> {
    let t = target(ctx, None)?;
    let installed_text = std::fs::read_to_string(&t.path).ok();
    let installed = installed_text
        .as_deref()
        .map(|text| parse_definition(t.manager, text));
    let supervisor = detect(ctx, t.manager);
    let mut service = ServiceStatus {
        manager: match t.manager {
            Manager::Systemd => "systemd",
            Manager::Launchd => "launchd",
        },
        label: t.name.clone(),
        file: t.path.display().to_string(),
        installed: installed.is_some(),
        manager_available: matches!(supervisor, Supervisor::Available(_)),
        manager_unavailable_reason: match &supervisor {
            Supervisor::Unavailable(r) => Some(r.clone()),
            Supervisor::Available(_) => None,
        },
        enabled: None,
        command: installed.as_ref().map(|i| i.argv.clone()),
        port: installed.as_ref().and_then(Installed::port),
        config_path: installed
            .as_ref()
            .and_then(|i| i.config_path(t.home.as_deref()))
            .map(|p| p.display().to_string()),
        runtime: Runtime {
            status: "not-installed",
            ..Runtime::default()
        },
        drift: match (&installed_text, &installed) {
            (Some(text), Some(i)) => drift_lines(&t, text, i),
            _ => Vec::new(),
        },
    };
    let mut journal = None;
    match (&supervisor, t.manager) {
        (Supervisor::Unavailable(reason), _) => {
            service.runtime = Runtime {
                status: "unknown",
                detail: Some(reason.clone()),
                ..Runtime::default()
            };
        }
        (Supervisor::Available(systemctl), Manager::Systemd) => {
            match systemd_show(systemctl, &t.name) {
                Ok(props) => {
                    service.enabled = props
                        .get("UnitFileState")
                        .filter(|v| !v.is_empty())
                        .cloned();
                    let loaded = props.get("LoadState").map(String::as_str) == Some("loaded");
                    if installed.is_some() || loaded {
                        service.runtime = systemd_runtime(&props);
                    }
                }
                Err(e) => {
                    service.runtime = Runtime {
                        status: "unknown",
                        detail: Some(e),
                        ..Runtime::default()
                    };
                }
            }
            if let Some(journalctl) = which(ctx, "journalctl") {
                journal = Some((journalctl, t.name.clone()));
            }
        }
        (Supervisor::Available(launchctl), Manager::Launchd) => {
            if installed.is_some() {
                service.runtime = match uid() {
                    Some(uid) => {
                        let args = launchctl_args("print", &t.name, &t.path, uid);
                        let args: Vec<&str> = args.iter().map(String::as_str).collect();
                        match run_tool(launchctl, &args, TOOL_LIMIT) {
                            Ok(out) if out.ok() => launchd_runtime(&out.stdout),
                            Ok(_) => Runtime {
                                status: "stopped",
                                detail: Some("not loaded in launchd".into()),
                                ..Runtime::default()
                            },
                            Err(e) => Runtime {
                                status: "unknown",
                                detail: Some(e),
                                ..Runtime::default()
                            },
                        }
                    }
                    None => Runtime {
                        status: "unknown",
                        detail: Some("cannot determine the user id".into()),
                        ..Runtime::default()
                    },
                };
            }
        }
    }
    let extra = scan_extra(ctx, &t, deep);
    Ok(Inspection {
        service,
        extra,
        journal,
    })
}

/// Other OpenClaw gateway services: the user's other unit files with the marker (other profiles),
/// and with `deep` also system-level units that run an `openclaw … gateway`.
fn scan_extra(ctx: &Ctx<'_>, t: &Target, deep: bool) -> Vec<ExtraService> {
    let mut dirs: Vec<(PathBuf, &'static str)> = Vec::new();
    if let Some(dir) = t.path.parent() {
        dirs.push((dir.to_path_buf(), "user"));
    }
    if deep {
        match t.manager {
            Manager::Systemd => {
                for d in ["/etc/systemd/user", "/usr/lib/systemd/user"] {
                    dirs.push((PathBuf::from(d), "user"));
                }
                for d in [
                    "/etc/systemd/system",
                    "/usr/lib/systemd/system",
                    "/lib/systemd/system",
                ] {
                    dirs.push((PathBuf::from(d), "system"));
                }
            }
            Manager::Launchd => {
                for d in ["/Library/LaunchAgents", "/Library/LaunchDaemons"] {
                    dirs.push((PathBuf::from(d), "system"));
                }
            }
        }
    }
    let ext = match t.manager {
        Manager::Systemd => ".service",
        Manager::Launchd => ".plist",
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut found = Vec::new();
    for (dir, scope) in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(ext))
            .collect();
        files.sort();
        for path in files {
            if path == t.path {
                continue;
            }
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if canonical == t.path || !seen.insert(canonical) {
                continue;
            }
            // Unit files are small; skip anything that is not.
            if std::fs::metadata(&path).is_ok_and(|m| m.len() > 256 * 1024) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let def = parse_definition(t.manager, &text);
            let runs_gateway = def
                .argv
                .iter()
                .any(|a| a.contains("openclaw") || a.contains("clawdbot"))
                && def.argv.iter().any(|a| a == "gateway");
            if !(def.has_marker() || (deep && runs_gateway)) {
                continue;
            }
            if def.env.get(KIND_KEY).is_some_and(|k| k != "gateway") {
                continue;
            }
            found.push(ExtraService {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                path: path.display().to_string(),
                scope,
                marker: def.has_marker(),
                port: def.port(),
                config_path: def
                    .config_path(paths::home(ctx.env).as_deref())
                    .map(|p| p.display().to_string()),
            });
        }
    }
    found
}

/// The last lines the supervisor logged for the unit (`journalctl --user -u <unit> -n 20`).
pub(crate) fn journal_tail(journalctl: &Path, unit: &str) -> Vec<String> {
    match run_tool(
        journalctl,
        &["--user", "-u", unit, "-n", "20", "--no-pager", "-o", "cat"],
        TOOL_LIMIT,
    ) {
        Ok(out) if out.ok() => out
            .stdout
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty() && !l.starts_with("-- "))
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Drift.

fn drift_lines(t: &Target, installed_text: &str, installed: &Installed) -> Vec<String> {
    if installed_text == t.text {
        return Vec::new();
    }
    let want = parse_definition(t.manager, &t.text);
    let mut lines = Vec::new();
    let exe_now = t.spec.exe.display().to_string();
    match installed.argv.first() {
        None => lines.push("the service has no command line (ExecStart)".to_string()),
        Some(exe) if *exe != exe_now => lines.push(format!(
            "the service runs {exe}, but this openclaw binary is {exe_now}"
        )),
        Some(_) => {}
    }
    if installed.profile() != want.profile() {
        let show = |p: &Profile| match (p.dev, p.name.as_deref()) {
            (true, _) => "--dev".to_string(),
            (false, Some(n)) => format!("--profile {n}"),
            _ => "no profile".to_string(),
        };
        lines.push(format!(
            "the service runs with {}, the CLI with {}",
            show(&installed.profile()),
            show(&want.profile())
        ));
    }
    if installed.port() != want.port() {
        lines.push(format!(
            "the service listens on port {}, the config resolves port {}",
            installed
                .port()
                .map_or_else(|| "(none)".to_string(), |p| p.to_string()),
            t.spec.port
        ));
    }
    let home = t.home.as_deref();
    let mut config_differs = false;
    if let (Some(a), Some(b)) = (installed.config_path(home), want.config_path(home))
        && a != b
    {
        config_differs = true;
        lines.push(format!(
            "the service reads config {}, the CLI reads {}",
            a.display(),
            b.display()
        ));
    }
    // The variables matter on their own only when they do not already show as another config.
    for key in FORWARDED_ENV.into_iter().filter(|_| !config_differs) {
        let (a, b) = (installed.env.get(key), want.env.get(key));
        if a != b {
            lines.push(match (a, b) {
                (Some(a), Some(b)) => format!("the service sets {key}={a}, the CLI has {b}"),
                (Some(a), None) => format!("the service sets {key}={a}, the CLI does not set it"),
                (None, Some(b)) => format!("the CLI sets {key}={b}, the service does not"),
                (None, None) => continue,
            });
        }
    }
    if !installed.has_marker() {
        lines.push(format!(
            "the service lacks the {MARKER_KEY}={MARKER_VALUE} marker (not written by gateway install)"
        ));
    }
    match installed.env.get(VERSION_KEY) {
        Some(v) if *v != t.spec.version => lines.push(format!(
            "the service was written for version {v}, this is {}",
            t.spec.version
        )),
        _ => {}
    }
    if lines.is_empty() {
        lines.push(format!(
            "{} differs from what `gateway install` writes now",
            t.path.display()
        ));
    }
    lines
}

/// Differences between the installed service unit (if any) and the one `gateway install` would
/// write now, one human-readable line each; empty when none is installed or it matches. Used by
/// `doctor`.
pub fn unit_drift(ctx: &Ctx<'_>) -> Vec<String> {
    let t = match target(ctx, None) {
        Ok(t) => t,
        Err(e) => return vec![format!("cannot work out the service definition: {e}")],
    };
    let Ok(text) = std::fs::read_to_string(&t.path) else {
        return Vec::new();
    };
    let installed = parse_definition(t.manager, &text);
    drift_lines(&t, &text, &installed)
}

// ---------------------------------------------------------------------------------------------
// The verbs.

/// Writes `text` to `path` atomically (temp file + rename), mode 0644, creating the directory.
fn write_definition(path: &Path, text: &str) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", path.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("Cannot create {}: {e}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("Cannot write {}: {e}", path.display())
    })
}

/// Prints a JSON value or the lines; returns `code`.
fn finish(ctx: &mut Ctx<'_>, json: bool, value: Value, lines: &[String], code: u8) -> u8 {
    if json {
        crate::report::print_json(ctx.out, &value);
    } else {
        for l in lines {
            let _ = writeln!(ctx.out, "{l}");
        }
    }
    code
}

/// The commands to run by hand when no user manager is reachable.
fn manual_commands(t: &Target) -> Vec<String> {
    match t.manager {
        Manager::Systemd => vec![
            "systemctl --user daemon-reload".to_string(),
            format!("systemctl --user enable --now {}", t.name),
        ],
        Manager::Launchd => vec![format!(
            "launchctl bootstrap gui/$(id -u) {}",
            t.path.display()
        )],
    }
}

/// Lines explaining what to do without a supervisor.
fn no_manager_lines(ctx: &Ctx<'_>, t: &Target, reason: &str, written: bool) -> Vec<String> {
    let mut lines = vec![format!("The service was not started: {reason}.")];
    if t.manager == Manager::Systemd {
        lines.push(if written {
            "Once a systemd user manager runs for this user (log in to a session, or enable lingering with `sudo loginctl enable-linger $USER` so it runs without one), start the service with:".to_string()
        } else {
            "Once a systemd user manager runs for this user (log in to a session, or `sudo loginctl enable-linger $USER`), run:".to_string()
        });
    } else {
        lines.push("Load it with:".to_string());
    }
    for c in manual_commands(t) {
        lines.push(format!("  {c}"));
    }
    lines.push(format!(
        "Or run the gateway in the foreground: {} gateway run",
        cli_prefix(ctx)
    ));
    lines
}

/// Runs one supervisor command; `Err` carries the message for people.
fn supervise(tool: &Path, args: &[String]) -> Result<(), String> {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_tool(tool, &argv, TOOL_LIMIT)?;
    if out.ok() {
        Ok(())
    } else {
        let name = tool
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let said = out.first_line();
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(": {said}")
        };
        Err(format!(
            "`{name} {}` failed (exit {}){said}",
            args.join(" "),
            out.code
                .map_or_else(|| "signal".to_string(), |c| c.to_string()),
        ))
    }
}

fn user_args(args: &[&str]) -> Vec<String> {
    std::iter::once("--user")
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

/// `Linger=no` for this user: the user manager (and the service) stop at logout.
fn linger_off(ctx: &Ctx<'_>) -> bool {
    let (Some(loginctl), Some(uid)) = (which(ctx, "loginctl"), uid()) else {
        return false;
    };
    run_tool(
        &loginctl,
        &["show-user", &uid.to_string(), "-p", "Linger", "--value"],
        TOOL_LIMIT,
    )
    .is_ok_and(|o| o.ok() && o.stdout.trim() == "no")
}

/// Loads and starts the service after its definition was written.
fn activate(t: &Target, tool: &Path, replaced: bool) -> Result<(), String> {
    match t.manager {
        Manager::Systemd => {
            supervise(tool, &user_args(&["daemon-reload"]))?;
            supervise(tool, &user_args(&["enable", "--now", &t.name]))?;
            if replaced {
                supervise(tool, &user_args(&["restart", &t.name]))?;
            }
            Ok(())
        }
        Manager::Launchd => {
            let uid = uid().ok_or("cannot determine the user id")?;
            if replaced {
                // Not loaded is fine here.
                let _ = supervise(tool, &launchctl_args("unload", &t.name, &t.path, uid));
            }
            supervise(tool, &launchctl_args("load", &t.name, &t.path, uid))
        }
    }
}

pub fn install(ctx: &mut Ctx<'_>, args: InstallArgs) -> u8 {
    let t = match target(ctx, args.port) {
        Ok(t) => t,
        Err(e) => return fail(ctx, args.json, &e),
    };
    let existing = std::fs::read_to_string(&t.path).ok();
    let path_shown = shorten(ctx, &t.path);
    let drift = existing
        .as_deref()
        .map(|text| drift_lines(&t, text, &parse_definition(t.manager, text)))
        .unwrap_or_default();
    if existing.is_some() && !args.force {
        let mut lines = Vec::new();
        let action = if drift.is_empty() {
            lines.push(format!(
                "Gateway service already installed: {path_shown} (up to date; nothing changed)."
            ));
            "unchanged"
        } else {
            lines.push(format!(
                "Gateway service already installed: {path_shown}; nothing changed. It differs from what install would write now:"
            ));
            lines.extend(drift.iter().map(|d| format!("  - {d}")));
            lines.push(format!(
                "Run `{} gateway install --force` to rewrite it.",
                cli_prefix(ctx)
            ));
            "kept"
        };
        let v = json!({
            "ok": true, "action": action, "manager": manager_name(t.manager), "name": t.name,
            "path": t.path.display().to_string(), "drift": drift,
        });
        return finish(ctx, args.json, v, &lines, 0);
    }
    if let Err(e) = write_definition(&t.path, &t.text) {
        return fail(ctx, args.json, &e);
    }
    let replaced = existing.is_some();
    let action = if replaced { "replaced" } else { "installed" };
    let mut lines = vec![format!(
        "{} gateway service: {path_shown}",
        if replaced { "Rewrote" } else { "Installed" }
    )];
    lines.push(format!("Command: {}", t.spec.argv().join(" ")));
    let supervisor = detect(ctx, t.manager);
    let (started, reason, code) = match &supervisor {
        Supervisor::Unavailable(reason) => {
            lines.extend(no_manager_lines(ctx, &t, reason, true));
            (false, Some(reason.clone()), 0)
        }
        Supervisor::Available(tool) => match activate(&t, tool, replaced) {
            Ok(()) => {
                lines.push(match t.manager {
                    Manager::Systemd => {
                        format!("Enabled and started {} (systemctl --user).", t.name)
                    }
                    Manager::Launchd => format!("Loaded {} (launchctl).", t.name),
                });
                if t.manager == Manager::Systemd && linger_off(ctx) {
                    lines.push("Note: lingering is off for this user, so the service stops when you log out. Keep it running with `sudo loginctl enable-linger $USER`.".to_string());
                }
                lines.push(format!(
                    "Check it with `{} gateway status`.",
                    cli_prefix(ctx)
                ));
                (true, None, 0)
            }
            Err(e) => {
                lines.push(format!(
                    "The service file was written, but starting it failed: {e}"
                ));
                (false, Some(e), 1)
            }
        },
    };
    let v = json!({
        "ok": code == 0, "action": action, "manager": manager_name(t.manager), "name": t.name,
        "path": t.path.display().to_string(), "command": t.spec.argv(), "port": t.spec.port,
        "started": started, "managerAvailable": matches!(supervisor, Supervisor::Available(_)),
        "reason": reason,
        "manualCommands": if started { Vec::new() } else { manual_commands(&t) },
    });
    if code != 0 && !args.json {
        for l in &lines {
            let _ = writeln!(ctx.err, "{l}");
        }
        return code;
    }
    finish(ctx, args.json, v, &lines, code)
}

fn manager_name(m: Manager) -> &'static str {
    match m {
        Manager::Systemd => "systemd",
        Manager::Launchd => "launchd",
    }
}

pub fn uninstall(ctx: &mut Ctx<'_>, args: ServiceArgs) -> u8 {
    let t = match target(ctx, None) {
        Ok(t) => t,
        Err(e) => return fail(ctx, args.json, &e),
    };
    let path_shown = shorten(ctx, &t.path);
    if !t.path.exists() {
        let lines = vec![format!(
            "Gateway service is not installed ({path_shown} does not exist); nothing to do."
        )];
        let v = json!({ "ok": true, "action": "absent", "name": t.name, "path": t.path.display().to_string() });
        return finish(ctx, args.json, v, &lines, 0);
    }
    let supervisor = detect(ctx, t.manager);
    let mut lines = Vec::new();
    let mut stopped = false;
    if let Supervisor::Available(tool) = &supervisor {
        let result = match t.manager {
            Manager::Systemd => supervise(tool, &user_args(&["disable", "--now", &t.name])),
            Manager::Launchd => match uid() {
                Some(uid) => supervise(tool, &launchctl_args("unload", &t.name, &t.path, uid)),
                None => Err("cannot determine the user id".into()),
            },
        };
        match result {
            Ok(()) => {
                stopped = true;
                lines.push(format!("Stopped and disabled {}.", t.name));
            }
            Err(e) => lines.push(format!(
                "Note: stopping the service failed ({e}); removing its file anyway."
            )),
        }
    }
    if let Err(e) = std::fs::remove_file(&t.path) {
        return fail(
            ctx,
            args.json,
            &format!("Cannot remove {}: {e}", t.path.display()),
        );
    }
    lines.push(format!("Removed gateway service: {path_shown}"));
    match &supervisor {
        Supervisor::Available(tool) if t.manager == Manager::Systemd => {
            if let Err(e) = supervise(tool, &user_args(&["daemon-reload"])) {
                lines.push(format!("Note: {e}"));
            }
        }
        Supervisor::Unavailable(reason) => lines.push(format!(
            "The supervisor was not asked to stop anything: {reason}. If a gateway still runs, stop it with `{} gateway stop` from a session with a user manager, or end its process.",
            cli_prefix(ctx)
        )),
        Supervisor::Available(_) => {}
    }
    let v = json!({
        "ok": true, "action": "removed", "name": t.name, "path": t.path.display().to_string(),
        "stopped": stopped,
    });
    finish(ctx, args.json, v, &lines, 0)
}

pub fn start(ctx: &mut Ctx<'_>, args: ServiceArgs) -> u8 {
    control(ctx, args, "start")
}

pub fn stop(ctx: &mut Ctx<'_>, args: ServiceArgs) -> u8 {
    control(ctx, args, "stop")
}

pub fn restart(ctx: &mut Ctx<'_>, args: ServiceArgs) -> u8 {
    control(ctx, args, "restart")
}

/// `start`, `stop` or `restart` through the supervisor.
fn control(ctx: &mut Ctx<'_>, args: ServiceArgs, verb: &str) -> u8 {
    let t = match target(ctx, None) {
        Ok(t) => t,
        Err(e) => return fail(ctx, args.json, &e),
    };
    if !t.path.exists() {
        let msg = format!(
            "Gateway service is not installed ({} does not exist). Install it with `{} gateway install`, or run the gateway in the foreground with `{} gateway run`.",
            shorten(ctx, &t.path),
            cli_prefix(ctx),
            cli_prefix(ctx)
        );
        return fail(ctx, args.json, &msg);
    }
    let tool = match detect(ctx, t.manager) {
        Supervisor::Available(tool) => tool,
        Supervisor::Unavailable(reason) => {
            let mut msg = format!("Cannot {verb} the gateway service: {reason}.");
            if t.manager == Manager::Systemd {
                msg.push_str(&format!(
                    " Run `systemctl --user {verb} {}` once a user manager runs (log in to a session, or `sudo loginctl enable-linger $USER`)",
                    t.name
                ));
                msg.push_str(&match verb {
                    "stop" => {
                        ", or end the gateway process (`kill <pid>`; `gateway status` shows it)."
                            .to_string()
                    }
                    _ => format!(
                        ", or run the gateway in the foreground with `{} gateway run`.",
                        cli_prefix(ctx)
                    ),
                });
            }
            return fail(ctx, args.json, &msg);
        }
    };
    let result = match t.manager {
        Manager::Systemd => supervise(&tool, &user_args(&[verb, &t.name])),
        Manager::Launchd => match uid() {
            Some(uid) => {
                let v = match verb {
                    "stop" => "unload",
                    "start" => "load",
                    _ => "restart",
                };
                supervise(&tool, &launchctl_args(v, &t.name, &t.path, uid))
            }
            None => Err("cannot determine the user id".into()),
        },
    };
    match result {
        Ok(()) => {
            let done = match verb {
                "start" => "Started",
                "stop" => "Stopped",
                _ => "Restarted",
            };
            let lines = vec![format!("{done} {}.", t.name)];
            let v = json!({ "ok": true, "action": verb, "name": t.name });
            finish(ctx, args.json, v, &lines, 0)
        }
        Err(e) => fail(ctx, args.json, &format!("Cannot {verb} {}: {e}", t.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(profile: Option<&str>, dev: bool) -> ServiceSpec {
        ServiceSpec {
            profile: profile.map(str::to_string),
            dev,
            exe: PathBuf::from("/opt/open claw/bin/openclaw"),
            port: 19001,
            env: vec![(
                "OPENCLAW_CONFIG_PATH".into(),
                "/srv/cfg/100%/openclaw.json".into(),
            )],
            version: "2026.9.6".into(),
            state_dir: PathBuf::from("/home/user/.openclaw-dev"),
        }
    }

    #[test]
    fn names_follow_the_profile() {
        assert_eq!(unit_name(None), "openclaw-gateway.service");
        assert_eq!(unit_name(Some("default")), "openclaw-gateway.service");
        assert_eq!(unit_name(Some("dev")), "openclaw-gateway-dev.service");
        assert_eq!(launchd_label(None), "ai.openclaw.gateway");
        assert_eq!(launchd_label(Some("work")), "ai.openclaw.work");
    }

    #[test]
    fn command_line_selects_the_profile() {
        assert_eq!(
            spec(Some("dev"), true).argv()[1..],
            ["--dev", "gateway", "run", "--port", "19001"]
        );
        assert_eq!(
            spec(Some("work"), false).argv()[1..],
            ["--profile", "work", "gateway", "run", "--port", "19001"]
        );
        assert_eq!(
            spec(None, false).argv()[1..],
            ["gateway", "run", "--port", "19001"]
        );
    }

    /// What the unit says survives rendering and parsing back, spaces, `%` and `$` included.
    #[test]
    fn unit_round_trips() {
        let mut s = spec(Some("work"), false);
        s.exe = PathBuf::from("/opt/a $b \"c\"\\d/openclaw");
        let text = render_unit(&s).expect("render");
        let parsed = parse_unit(&text);
        assert_eq!(parsed.argv, s.argv());
        let env: Vec<(String, String)> = parsed.env.into_iter().collect();
        let mut want = s.environment();
        want.sort();
        assert_eq!(env, want);
    }

    #[test]
    fn control_characters_are_refused() {
        let mut s = spec(None, false);
        s.env = vec![("OPENCLAW_STATE_DIR".into(), "/a\nb".into())];
        let e = render_unit(&s).expect_err("newline");
        assert!(e.contains("OPENCLAW_STATE_DIR"), "{e}");
        assert!(render_plist(&s).is_err());
    }

    #[test]
    fn parse_reads_other_writers() {
        let text = "[Unit]\nDescription=x\n[Service]\nExecStart=-/usr/bin/openclaw \\\n  gateway --port 18789\nEnvironment=\"A=1 2\" B=3\nEnvironment=OPENCLAW_SERVICE_MARKER=openclaw\n[Install]\nExecStart=/nope\n";
        let u = parse_unit(text);
        assert_eq!(u.argv, ["/usr/bin/openclaw", "gateway", "--port", "18789"]);
        assert_eq!(u.port(), Some(18789));
        assert_eq!(u.env.get("A").map(String::as_str), Some("1 2"));
        assert_eq!(u.env.get("B").map(String::as_str), Some("3"));
        assert!(u.has_marker());
    }

    #[test]
    fn service_config_path_follows_its_environment() {
        let home = Path::new("/home/u");
        let mut u =
            parse_unit("[Service]\nExecStart=/x/openclaw --profile work gateway run --port 1\n");
        assert_eq!(
            u.config_path(Some(home)),
            Some(PathBuf::from("/home/u/.openclaw-work/openclaw.json"))
        );
        u.env.insert("OPENCLAW_STATE_DIR".into(), "/sd".into());
        assert_eq!(
            u.config_path(Some(home)),
            Some(PathBuf::from("/sd/openclaw.json"))
        );
        u.env
            .insert("OPENCLAW_CONFIG_PATH".into(), "/c/x.json5".into());
        assert_eq!(u.config_path(Some(home)), Some(PathBuf::from("/c/x.json5")));
    }

    #[test]
    fn plist_snapshot_and_round_trip() {
        let s = spec(Some("dev"), true);
        let text = render_plist(&s).expect("render");
        insta::assert_snapshot!("launchd_plist_dev", text);
        let parsed = parse_plist(&text);
        assert_eq!(parsed.argv, s.argv());
        assert_eq!(
            parsed.env.get(MARKER_KEY).map(String::as_str),
            Some("openclaw")
        );
        assert_eq!(
            parsed.env.get("OPENCLAW_CONFIG_PATH").map(String::as_str),
            Some("/srv/cfg/100%/openclaw.json")
        );
        let mut default = spec(None, false);
        default.env.clear();
        insta::assert_snapshot!(
            "launchd_plist_default",
            render_plist(&default).expect("render")
        );
    }

    #[test]
    fn systemd_states_map_to_runtime() {
        let props = |active: &str, pid: &str| -> BTreeMap<String, String> {
            [
                ("ActiveState", active),
                ("SubState", "x"),
                ("MainPID", pid),
                ("ExecMainStatus", "1"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
        };
        let r = systemd_runtime(&props("active", "42"));
        assert_eq!((r.status, r.pid), ("running", Some(42)));
        let r = systemd_runtime(&props("inactive", "0"));
        assert_eq!(
            (r.status, r.pid, r.last_exit_status),
            ("stopped", None, Some(1))
        );
        assert_eq!(
            systemd_runtime(&props("activating", "0")).status,
            "activating"
        );
        assert_eq!(systemd_runtime(&props("failed", "0")).status, "failed");
        let l = launchd_runtime("{\n\tstate = running\n\tpid = 77\n}");
        assert_eq!((l.status, l.pid), ("running", Some(77)));
    }
}
