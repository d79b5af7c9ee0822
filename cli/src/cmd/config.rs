//! `openclaw config validate | file | get | schema`.

use std::path::PathBuf;

use runtime::config::diagnostics::display_name;
use runtime::config::paths;
use runtime::config::resolve::{CliValues, resolve_path};

use crate::report;
use crate::{ConfigCommand, Ctx, Format};

pub fn run(ctx: &mut Ctx<'_>, command: ConfigCommand) -> u8 {
    match command {
        ConfigCommand::Validate { json, format, file } => {
            let format = match (json, format) {
                (true, Some(f)) if f != Format::Json => {
                    let _ = writeln!(
                        ctx.err,
                        "error: --json cannot be combined with --format {f:?}"
                    );
                    return crate::EXIT_USAGE;
                }
                (true, _) => Format::Json,
                (false, f) => f.unwrap_or(Format::Text),
            };
            validate(ctx, format, file)
        }
        ConfigCommand::File => match config_path(ctx) {
            Ok(p) => {
                let _ = writeln!(ctx.out, "{}", display_name(&p));
                0
            }
            Err(code) => code,
        },
        ConfigCommand::Get {
            path,
            json,
            show_origin,
        } => get(ctx, &path, json, show_origin),
        ConfigCommand::Schema => {
            let _ = ctx
                .out
                .write_all(runtime::generated::CONFIG_SCHEMA_JSON.as_bytes());
            0
        }
    }
}

/// Resolves the config path from env and the global flags; prints the error and returns the exit
/// code on failure.
pub fn config_path(ctx: &mut Ctx<'_>) -> Result<PathBuf, u8> {
    paths::config_path(ctx.env, &ctx.profile, &ctx.cwd).map_err(|e| {
        let _ = writeln!(ctx.err, "[openclaw] {e}");
        crate::EXIT_USAGE
    })
}

fn validate(ctx: &mut Ctx<'_>, format: Format, file: Option<PathBuf>) -> u8 {
    let path = match file {
        Some(f) => paths::expand_user(
            &f.to_string_lossy(),
            paths::home(ctx.env).as_deref(),
            &ctx.cwd,
        ),
        None => match config_path(ctx) {
            Ok(p) => p,
            Err(code) => return code,
        },
    };
    let checked = runtime::config::validate_file(&path, ctx.env);
    match format {
        Format::Text => {
            let (out, err) = report::text(&checked, ctx.color);
            let _ = ctx.out.write_all(out.as_bytes());
            let _ = ctx.err.write_all(err.as_bytes());
        }
        Format::Json => {
            let (value, pretty) = report::json(&checked);
            let text = if pretty {
                serde_json::to_string_pretty(&value)
            } else {
                serde_json::to_string(&value)
            };
            let _ = writeln!(ctx.out, "{}", text.unwrap_or_default());
        }
        Format::Github => {
            let _ = ctx
                .out
                .write_all(report::github(&checked, &ctx.cwd).as_bytes());
            let summary = if checked.is_valid() {
                format!("Config valid: {}\n", display_name(&checked.path))
            } else {
                format!(
                    "OpenClaw config is invalid: {} ({} problem(s))\n",
                    display_name(&checked.path),
                    checked.errors.len()
                )
            };
            let _ = ctx.err.write_all(summary.as_bytes());
        }
    }
    u8::from(!checked.is_valid())
}

/// `agents.list[0].id` → `agents.list.0.id`.
fn normalize_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        match c {
            '[' => out.push('.'),
            ']' => {}
            c => out.push(c),
        }
    }
    out.trim_matches('.').to_string()
}

fn get(ctx: &mut Ctx<'_>, raw_path: &str, json: bool, show_origin: bool) -> u8 {
    let config = match config_path(ctx) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let path = normalize_path(raw_path);
    let mut checked = runtime::config::validate_file(&config, ctx.env);
    if let Some(e) = &checked.read_error
        && *e != runtime::config::ReadError::NotFound
    {
        let _ = writeln!(ctx.err, "Cannot read {}: {e}", display_name(&config));
        return 1;
    }
    if checked.root.is_none() && checked.read_error.is_none() {
        let (_, err) = report::text(&checked, ctx.color);
        let _ = ctx.err.write_all(err.as_bytes());
        return 1;
    }
    let cli = CliValues::new();
    let root = checked.root.take();
    match resolve_path(&path, root.as_ref(), &mut checked.sources, &cli, ctx.env) {
        Ok(Some(r)) => {
            if json {
                let v = if show_origin {
                    serde_json::json!({ "path": path, "value": r.value, "origin": r.origin.to_string() })
                } else {
                    r.value
                };
                let _ = writeln!(
                    ctx.out,
                    "{}",
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                );
            } else {
                let shown = match &r.value {
                    serde_json::Value::String(s) => s.clone(),
                    other => serde_json::to_string_pretty(other).unwrap_or_default(),
                };
                if show_origin {
                    let _ = writeln!(ctx.out, "{shown}\t# {}", r.origin);
                } else {
                    let _ = writeln!(ctx.out, "{shown}");
                }
            }
            0
        }
        Ok(None) => {
            let _ = writeln!(ctx.err, "Config path not found: {raw_path}");
            1
        }
        Err(issue) => {
            let _ = writeln!(ctx.err, "{}: {}", issue.display_path(), issue.message);
            1
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bracket_paths() {
        assert_eq!(
            super::normalize_path("agents.list[0].id"),
            "agents.list.0.id"
        );
        assert_eq!(super::normalize_path("gateway.port"), "gateway.port");
    }
}
