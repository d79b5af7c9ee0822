//! Precedence: which layer (CLI flag, env var, config file, default) gives a key its value, and where
//! that value came from. The layer order per key comes from the generated `OVERRIDES` table
//! (`cli>env>file` unless the spec says otherwise, e.g. credentials are `cli>file>env`).

use std::collections::HashMap;
use std::path::PathBuf;

use jsonspan::{Span, Spanned};

use super::diagnostics::{Issue, SourceMap};
use super::load::Env;
use super::schema::{self, NodeKind, node, resolve};
use crate::generated::config::OVERRIDES;

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, e.g. `--port`.
    Cli(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// The config file (or an included file), at this line and column.
    File {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    /// The spec's default.
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Cli(flag) => write!(f, "flag {flag}"),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::File { path, line, column } => {
                write!(
                    f,
                    "{}:{line}:{column}",
                    super::diagnostics::display_name(path)
                )
            }
            Origin::Default => f.write_str("default"),
        }
    }
}

/// A value and its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub value: serde_json::Value,
    pub origin: Origin,
}

/// Flag values given on the command line, by flag name (`--port` → `"19001"`).
pub type CliValues = HashMap<&'static str, String>;

/// Resolves one dotted path through the layers. `Ok(None)` means the key is unset everywhere.
/// A malformed flag or env value is an `Err` with a diagnostic pointing into that value.
pub fn resolve_path(
    path: &str,
    root: Option<&Spanned>,
    sources: &mut SourceMap,
    cli: &CliValues,
    env: &dyn Env,
) -> Result<Option<Resolved>, Box<Issue>> {
    let segs: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('.').collect()
    };
    let file_value = || -> Option<Resolved> {
        let v = root?.pointer(segs.iter().copied())?;
        let lc = sources.line_col(v.span)?;
        let file = sources.get(v.span.src)?.path.clone();
        Some(Resolved {
            value: v.to_json(),
            origin: Origin::File {
                path: file,
                line: lc.line,
                column: lc.column,
            },
        })
    };
    let default = || -> Option<Resolved> {
        let id = schema::lookup(path)?;
        let text = node(id).default?;
        serde_json::from_str(text).ok().map(|value| Resolved {
            value,
            origin: Origin::Default,
        })
    };
    let Some(ov) = OVERRIDES.iter().find(|o| o.path == path) else {
        return Ok(file_value().or_else(default));
    };
    for layer in ov.precedence.split('>') {
        match layer {
            "cli" => {
                if let Some(raw) = ov.cli.and_then(|flag| cli.get(flag)) {
                    let name = ov.cli.unwrap_or_default();
                    let value = parse_override(ov.node, path, name, raw, sources)?;
                    return Ok(Some(Resolved {
                        value,
                        origin: Origin::Cli(name),
                    }));
                }
            }
            "env" => {
                if let Some(raw) = ov
                    .env
                    .and_then(|name| env.var(name))
                    .filter(|v| !v.is_empty())
                {
                    let name = ov.env.unwrap_or_default();
                    let value = parse_override(ov.node, path, &format!("${name}"), &raw, sources)?;
                    return Ok(Some(Resolved {
                        value,
                        origin: Origin::Env(name),
                    }));
                }
            }
            _ => {
                if let Some(r) = file_value() {
                    return Ok(Some(r));
                }
            }
        }
    }
    Ok(default())
}

/// Turns a flag/env string into a JSON value of the key's type and checks it against the schema.
/// The text is added to `sources` under `name` so a problem renders like a bad file value.
fn parse_override(
    id: u32,
    path: &str,
    name: &str,
    raw: &str,
    sources: &mut SourceMap,
) -> Result<serde_json::Value, Box<Issue>> {
    let src = sources.add(PathBuf::from(name), raw.to_string());
    let span = Span::new(src, 0, raw.len());
    let numeric = matches!(node(resolve(id)).kind, NodeKind::Integer | NodeKind::Number);
    let value = if numeric {
        match jsonspan::parse(raw.trim(), src) {
            Ok(v) if matches!(v.value, jsonspan::Value::Number(_)) => Spanned::new(v.value, span),
            _ => Spanned::new(jsonspan::Value::String(raw.to_string()), span),
        }
    } else {
        Spanned::new(jsonspan::Value::String(raw.to_string()), span)
    };
    let found = super::validate::validate_node(id, &value, path);
    match found.errors.into_iter().next() {
        Some(mut issue) => {
            issue.message = format!("{} (from {name})", issue.message);
            Err(Box::new(issue))
        }
        None => Ok(value.to_json()),
    }
}
