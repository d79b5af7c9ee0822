//! `openclaw setup`: the state directory (0700), a config with `gateway.mode: "local"` and a
//! generated token (0600), and the agent workspace.
//!
//! Setup only ever creates: an existing config is never rewritten (not even to add a token), an
//! existing workspace file is never touched, and a second run changes nothing and says so. The
//! config is written to a temporary file and hard-linked into place, so it appears complete or
//! not at all, and a config that appeared meanwhile is never replaced. `--profile NAME` (and
//! `--dev`) select `~/.openclaw-NAME`, as every other command does.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use runtime::config::paths;
use serde::Serialize;
use serde_json::{Value, json};

use crate::Ctx;
use crate::cmd::service::cli_prefix;

/// Flags of `openclaw setup`.
#[derive(Debug, Clone, clap::Args)]
pub struct SetupArgs {
    /// Gateway port to write into a new config (gateway.port); give each profile its own,
    /// at least 20 apart.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Agent workspace directory for a new config (default: <state dir>/workspace).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SetupOut {
    ok: bool,
    changed: bool,
    profile: Option<String>,
    state_dir: DirOut,
    config: ConfigOut,
    workspace: WorkspaceOut,
    notes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct DirOut {
    path: String,
    /// `created` or `exists`.
    status: &'static str,
    mode: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigOut {
    path: String,
    status: &'static str,
    mode: Option<String>,
    valid: bool,
    gateway_mode: Option<String>,
    /// `generated` (new config), `configured` (present) or `missing`.
    token: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkspaceOut {
    path: String,
    status: &'static str,
    mode: Option<String>,
    created_files: Vec<String>,
}

fn mode_of(path: &Path) -> Option<String> {
    std::fs::metadata(path)
        .ok()
        .map(|m| format!("{:04o}", m.permissions().mode() & 0o7777))
}

/// Creates `dir` (and missing parents) with mode 0700; `Ok(true)` when it was created.
fn ensure_dir(dir: &Path, what: &str) -> Result<bool, String> {
    if dir.is_dir() {
        return Ok(false);
    }
    if dir.exists() {
        return Err(format!(
            "The {what} {} exists but is not a directory; move it away or choose another path.",
            dir.display()
        ));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| {
            format!(
                "Cannot create the {what} {}: {e}. Check the permissions of its parent, or choose another location (OPENCLAW_STATE_DIR, --profile).",
                dir.display()
            )
        })?;
    // The umask may have narrowed the mode further, never widened it; make it exact.
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE));
    Ok(true)
}

/// Writes a new file with mode 0600 unless `path` exists: the text goes to a temporary file that
/// is then hard-linked to `path` (which fails if anything appeared there). `Ok(false)` when the
/// file already existed.
fn create_file(path: &Path, text: &str) -> Result<bool, String> {
    let dir = path
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.setup.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("Cannot write {}: {e}", tmp.display()));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(format!("Cannot create {}: {e}", path.display())),
    }
}

/// The config setup writes.
fn new_config(dev: bool, port: Option<u16>, workspace: &Path, token: &str) -> Value {
    let mut gateway = json!({
        "mode": "local",
        "bind": "loopback",
        "auth": { "mode": "token", "token": token },
    });
    if let Some(p) = port {
        gateway["port"] = json!(p);
    }
    let ws = workspace.display().to_string();
    let mut config = json!({
        "gateway": gateway,
        "agents": { "defaults": { "workspace": ws } },
        "meta": { "lastTouchedVersion": runtime::gateway::SERVER_VERSION },
    });
    if dev {
        config["agents"]["defaults"]["skipBootstrap"] = json!(true);
        config["agents"]["entries"] = json!({
            "dev": {
                "workspace": ws,
                "identity": { "name": "C3-PO", "theme": "protocol droid", "emoji": "🤖" },
            }
        });
    }
    config
}

/// The starter files of a workspace (never overwritten). `BOOTSTRAP.md` is left out for `--dev`.
fn workspace_files(dev: bool) -> Vec<(&'static str, &'static str)> {
    let mut files = vec![
        (
            "AGENTS.md",
            "# Agents\n\nHow the agents of this workspace work: what they may do on their own, what needs a person's\nconfirmation, and where they keep notes. Edit freely; agents read this file at the start of a session.\n",
        ),
        (
            "IDENTITY.md",
            "# Identity\n\nName, voice and emoji of the assistant. Fill in what you want it to be called and how it should\nsound.\n",
        ),
        (
            "SOUL.md",
            "# Soul\n\nValues and boundaries the assistant keeps in every conversation: be honest, be brief, ask before\nacting on anything that cannot be undone.\n",
        ),
        (
            "USER.md",
            "# User\n\nWhat the assistant should know about you: name, time zone, preferences. Keep secrets out of this\nfile.\n",
        ),
    ];
    if !dev {
        files.push((
            "BOOTSTRAP.md",
            "# Bootstrap\n\nFirst-run notes: the agent reads this once to get to know you, fills in IDENTITY.md and USER.md,\nand then deletes this file.\n",
        ));
    }
    files
}

pub fn run(ctx: &mut Ctx<'_>, args: SetupArgs) -> u8 {
    match setup(ctx, &args) {
        Ok(out) => {
            if args.json {
                crate::report::print_json(ctx.out, &out);
            } else {
                for line in lines(ctx, &out) {
                    let _ = writeln!(ctx.out, "{line}");
                }
            }
            0
        }
        Err(e) => crate::report::fail(ctx, args.json, &e),
    }
}

fn setup(ctx: &Ctx<'_>, args: &SetupArgs) -> Result<SetupOut, String> {
    if args.port == Some(0) {
        return Err("Invalid --port 0: use a number from 1 to 65535.".into());
    }
    let profile = ctx
        .profile
        .effective()
        .map_err(|e| e.to_string())?
        .map(str::to_string);
    let state_dir = paths::state_dir(ctx.env, &ctx.profile, &ctx.cwd).map_err(|e| e.to_string())?;
    let config_path =
        paths::config_path(ctx.env, &ctx.profile, &ctx.cwd).map_err(|e| e.to_string())?;
    let home = paths::home(ctx.env);
    let mut notes = Vec::new();

    let state_created = ensure_dir(&state_dir, "state directory")?;
    if let Some(dir) = config_path.parent() {
        ensure_dir(dir, "config directory")?;
    }

    // The config: created once, never rewritten.
    let (config_created, workspace) = if config_path.exists() {
        let checked = runtime::config::validate_file(&config_path, ctx.env);
        let tree = checked.root.as_ref().map(|r| r.to_json());
        let ws = tree
            .as_ref()
            .and_then(|t| t.pointer("/agents/defaults/workspace"))
            .and_then(Value::as_str)
            .map(|w| paths::expand_user(w, home.as_deref(), &ctx.cwd))
            .unwrap_or_else(|| state_dir.join("workspace"));
        if args.port.is_some() || args.workspace.is_some() {
            notes.push(format!(
                "--port/--workspace only apply to a new config; {} already exists and was not changed (use `{} config set`).",
                config_path.display(),
                cli_prefix(ctx)
            ));
        }
        (false, ws)
    } else {
        let ws = match &args.workspace {
            Some(w) => paths::expand_user(&w.to_string_lossy(), home.as_deref(), &ctx.cwd),
            None => state_dir.join("workspace"),
        };
        let token = runtime::gateway::startup::random_token();
        let config = new_config(ctx.profile.dev, args.port, &ws, &token);
        let text = serde_json::to_string_pretty(&config).unwrap_or_default() + "\n";
        // Never write a config the gateway would refuse.
        let checked = runtime::config::check_text(&config_path, text.clone(), ctx.env);
        if !checked.is_valid() {
            let first = checked
                .errors
                .first()
                .map(|e| format!("{}: {}", e.display_path(), e.message))
                .unwrap_or_else(|| "unreadable".into());
            return Err(format!(
                "The config setup would write is not valid ({first}); nothing was written."
            ));
        }
        let created = create_file(&config_path, &text)?;
        (created, ws)
    };

    // What the config holds now (possibly written by someone else meanwhile).
    let checked = runtime::config::validate_file(&config_path, ctx.env);
    let tree = checked.root.as_ref().map_or(Value::Null, |r| r.to_json());
    let gateway_mode = tree
        .pointer("/gateway/mode")
        .and_then(Value::as_str)
        .map(str::to_string);
    let token = match tree.pointer("/gateway/auth/token") {
        _ if config_created => "generated",
        Some(Value::String(s)) if !s.is_empty() => "configured",
        Some(Value::Object(_)) => "configured",
        _ => "missing",
    };
    if !config_created {
        if !checked.is_valid() {
            notes.push(format!(
                "The existing config has problems; see `{} config validate`.",
                cli_prefix(ctx)
            ));
        }
        if gateway_mode.as_deref() != Some("local") {
            notes.push(format!(
                "The existing config does not set gateway.mode to \"local\", so the gateway will refuse to start; set it with `{} config set gateway.mode local`.",
                cli_prefix(ctx)
            ));
        }
        if token == "missing" {
            notes.push(format!(
                "The existing config has no gateway.auth.token; the gateway generates a runtime-only token at each start. Set a lasting one with `{} config set gateway.auth.token <token>`.",
                cli_prefix(ctx)
            ));
        }
    }

    // The workspace and its starter files.
    let workspace_created = ensure_dir(&workspace, "workspace")?;
    let mut created_files = Vec::new();
    for (name, text) in workspace_files(ctx.profile.dev) {
        let path = workspace.join(name);
        if path.exists() {
            continue;
        }
        if create_file(&path, text)? {
            created_files.push(name.to_string());
        }
    }

    let changed = state_created || config_created || workspace_created || !created_files.is_empty();
    let status = |created: bool| if created { "created" } else { "exists" };
    Ok(SetupOut {
        ok: true,
        changed,
        profile,
        state_dir: DirOut {
            path: state_dir.display().to_string(),
            status: status(state_created),
            mode: mode_of(&state_dir),
        },
        config: ConfigOut {
            path: config_path.display().to_string(),
            status: status(config_created),
            mode: mode_of(&config_path),
            valid: checked.is_valid(),
            gateway_mode,
            token,
        },
        workspace: WorkspaceOut {
            path: workspace.display().to_string(),
            status: status(workspace_created),
            mode: mode_of(&workspace),
            created_files,
        },
        notes,
    })
}

/// `~/…` for paths under the home directory.
fn shorten(ctx: &Ctx<'_>, path: &str) -> String {
    crate::report::shorten(ctx, Path::new(path))
}

fn lines(ctx: &Ctx<'_>, out: &SetupOut) -> Vec<String> {
    let mut lines = Vec::new();
    let mode = |m: &Option<String>| m.as_deref().unwrap_or("?").to_string();
    let s = &out.state_dir;
    lines.push(if s.status == "created" {
        format!(
            "Created state directory {} (mode {})",
            shorten(ctx, &s.path),
            mode(&s.mode)
        )
    } else {
        format!("State directory {}: exists (kept)", shorten(ctx, &s.path))
    });
    let c = &out.config;
    lines.push(if c.status == "created" {
        format!(
            "Created config {} (mode {}): gateway.mode \"local\", token auth with a generated token",
            shorten(ctx, &c.path),
            mode(&c.mode)
        )
    } else {
        format!(
            "Config {}: exists (kept; setup never rewrites a config)",
            shorten(ctx, &c.path)
        )
    });
    let w = &out.workspace;
    let files = w.created_files.join(", ");
    lines.push(match (w.status, files.is_empty()) {
        ("created", _) => format!("Created workspace {} ({files})", shorten(ctx, &w.path)),
        (_, false) => format!("Workspace {}: exists; added {files}", shorten(ctx, &w.path)),
        _ => format!("Workspace {}: exists (kept)", shorten(ctx, &w.path)),
    });
    for n in &out.notes {
        lines.push(format!("Note: {n}"));
    }
    if out.changed {
        let prefix = cli_prefix(ctx);
        lines.push(String::new());
        lines.push("Next:".to_string());
        lines.push(format!(
            "  {prefix} gateway run        run the gateway in the foreground"
        ));
        lines.push(format!(
            "  {prefix} gateway install    or run it as a user service"
        ));
    } else {
        lines.push("Nothing changed: setup had already been done.".to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_configs_are_valid() {
        let env = runtime::config::MapEnv::new([("HOME", "/home/u")]);
        for (dev, port) in [(false, None), (true, None), (false, Some(19100))] {
            let v = new_config(dev, port, Path::new("/home/u/.openclaw/workspace"), "t0k3n");
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            let c = runtime::config::check_text(Path::new("/x/openclaw.json"), text, &env);
            assert!(c.is_valid(), "dev={dev} port={port:?}: {:?}", c.errors);
        }
    }
}
