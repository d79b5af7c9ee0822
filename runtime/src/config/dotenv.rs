//! `.env` files and the layered environment OpenClaw's processes see.
//!
//! Order, first wins: the process environment, then `./.env` (the working directory), then
//! `$OPENCLAW_STATE_DIR/.env` (`~/.openclaw/.env`; the state directory is worked out *after* the
//! first file, so `./.env` may set `OPENCLAW_STATE_DIR`), then the config's `env` / `env.vars`.
//! Nothing overrides a variable that is already set: a `.env` file fills only names the layers
//! before it lack (a set-but-empty variable counts as set), and the config fills only names that
//! are missing or blank (as OpenClaw does for its config block).
//!
//! Nothing is written into the real process environment: [`LayeredEnv`] answers lookups through
//! the layers, and everything that reads variables (paths, flags, `${VAR}` substitution, secret
//! providers) takes an [`Env`].
//!
//! File syntax (the `dotenv` conventions): `KEY=VALUE` per line, an optional `export ` prefix,
//! blank lines and `#` comment lines, `KEY=` for an empty value, single quotes (literal),
//! double quotes (`\n`, `\r`, `\t`, `\"` and `\\` escapes; may span lines), backticks (literal;
//! may span lines), and ` # comment` after an unquoted value. A line that does not parse is
//! reported with its file and line number and skipped; the rest of the file still applies.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::load::Env;
use super::paths::{self, Profile};

/// Largest `.env` file read (anything bigger is a mistake, not configuration).
pub const MAX_DOTENV_BYTES: u64 = 1024 * 1024;

/// One problem in a `.env` file: the line is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// The variables of one `.env` text, in file order (a later duplicate wins), and the lines that
/// did not parse.
pub fn parse(text: &str) -> (Vec<(String, String)>, Vec<LineProblem>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut vars = Vec::new();
    let mut problems = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let line = lines[i].strip_suffix('\r').unwrap_or(lines[i]);
        i += 1;
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let t = match t.strip_prefix("export") {
            Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
            _ => t,
        };
        let Some(eq) = t.find('=') else {
            problems.push(LineProblem {
                line: start + 1,
                message: "expected KEY=VALUE".into(),
            });
            continue;
        };
        let key = t[..eq].trim_end();
        if !is_key(key) {
            problems.push(LineProblem {
                line: start + 1,
                message: format!(
                    "\"{key}\" is not a variable name (letters, digits, `_`, `.` and `-`)"
                ),
            });
            continue;
        }
        let rest = t[eq + 1..].trim_start();
        let quote = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\'' | '`'));
        let Some(q) = quote else {
            // Unquoted: up to a ` #` comment, trimmed.
            let value = match rest.find(" #").or_else(|| rest.find("\t#")) {
                Some(c) => &rest[..c],
                None if rest.starts_with('#') => "",
                None => rest,
            };
            vars.push((key.to_string(), value.trim().to_string()));
            continue;
        };
        // Quoted: find the closing quote, possibly on a later line.
        let mut body = rest[1..].to_string();
        let mut closed = find_close(&body, q);
        while closed.is_none() && q != '\'' && i < lines.len() {
            body.push('\n');
            body.push_str(lines[i].strip_suffix('\r').unwrap_or(lines[i]));
            i += 1;
            closed = find_close(&body, q);
        }
        let Some(end) = closed else {
            problems.push(LineProblem {
                line: start + 1,
                message: format!("the value's opening {q} is never closed"),
            });
            // A multi-line attempt consumed the rest of the file; go back to the next line.
            i = start + 1;
            continue;
        };
        let after = body[end + 1..].trim();
        if !after.is_empty() && !after.starts_with('#') {
            problems.push(LineProblem {
                line: start + 1,
                message: format!("unexpected text after the closing {q}: {after}"),
            });
            continue;
        }
        let raw = &body[..end];
        let value = if q == '"' {
            unescape(raw)
        } else {
            raw.to_string()
        };
        vars.push((key.to_string(), value));
    }
    (vars, problems)
}

fn is_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Byte index of the closing quote (a double quote may be escaped with `\`).
fn find_close(s: &str, q: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && q == '"' {
            escaped = true;
        } else if c == q {
            return Some(i);
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Where a layer's variables came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A `.env` file.
    File(PathBuf),
    /// The config's `env` block.
    Config,
}

#[derive(Debug, Clone)]
struct Layer {
    origin: Origin,
    vars: HashMap<String, String>,
    /// Whether a set-but-blank variable may be filled (the config layer).
    fills_blank: bool,
}

/// An [`Env`] over a base environment plus `.env` files and the config's `env` block, applied in
/// the order they were added without ever overriding a variable an earlier layer set.
#[derive(Clone)]
pub struct LayeredEnv<'a> {
    base: &'a dyn Env,
    layers: Vec<Layer>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for LayeredEnv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets: names and origins only.
        f.debug_struct("LayeredEnv")
            .field(
                "layers",
                &self
                    .layers
                    .iter()
                    .map(|l| (&l.origin, l.vars.len()))
                    .collect::<Vec<_>>(),
            )
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl<'a> LayeredEnv<'a> {
    /// Just the base environment.
    pub fn new(base: &'a dyn Env) -> LayeredEnv<'a> {
        LayeredEnv {
            base,
            layers: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The process side of the standard order: `base`, then `<cwd>/.env`, then
    /// `<state dir>/.env` (the state directory resolved through the first two).
    pub fn standard(base: &'a dyn Env, profile: &Profile, cwd: &Path) -> LayeredEnv<'a> {
        let mut env = LayeredEnv::new(base);
        env.add_file(&cwd.join(".env"));
        if let Ok(state) = paths::state_dir(&env, profile, cwd) {
            let file = state.join(".env");
            if !env.has_file(&file) {
                env.add_file(&file);
            }
        }
        env
    }

    fn has_file(&self, path: &Path) -> bool {
        self.layers.iter().any(|l| match &l.origin {
            Origin::File(p) => same_file(p, path),
            Origin::Config => false,
        })
    }

    /// Adds a `.env` file as the next layer. A missing file adds nothing; an unreadable one and
    /// each bad line become [`LayeredEnv::warnings`].
    pub fn add_file(&mut self, path: &Path) {
        let shown = super::diagnostics::display_name(path);
        let text = match read_limited(path) {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                self.warnings
                    .push(format!("{shown}: not loaded: {e}; fix or remove the file"));
                return;
            }
        };
        let (vars, problems) = parse(&text);
        for p in problems {
            self.warnings
                .push(format!("{shown}:{}: {}; line skipped", p.line, p.message));
        }
        self.layers.push(Layer {
            origin: Origin::File(path.to_path_buf()),
            vars: vars.into_iter().collect(),
            fills_blank: false,
        });
    }

    /// Adds the config's `env` block (string members, then `env.vars`, which win) as the last
    /// layer. `root` is the merged config as JSON.
    pub fn add_config(&mut self, root: &Value) {
        let Some(block) = root.get("env").and_then(Value::as_object) else {
            return;
        };
        let mut vars = HashMap::new();
        for (k, v) in block {
            if let Some(s) = v.as_str().filter(|s| !s.trim().is_empty()) {
                vars.insert(k.clone(), s.to_string());
            }
        }
        if let Some(inner) = block.get("vars").and_then(Value::as_object) {
            for (k, v) in inner {
                if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
                    vars.insert(k.clone(), s.to_string());
                }
            }
        }
        self.layers.retain(|l| l.origin != Origin::Config);
        self.layers.push(Layer {
            origin: Origin::Config,
            vars,
            fills_blank: true,
        });
    }

    /// Problems met while reading the `.env` files (`file:line: what; line skipped`).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Which layer a variable's value comes from: `None` for the base environment or when it is
    /// not set at all.
    pub fn origin(&self, name: &str) -> Option<&Origin> {
        let mut value = self.base.var(name);
        let mut origin = None;
        for l in &self.layers {
            if takes(l, value.as_deref())
                && let Some(v) = l.vars.get(name)
            {
                value = Some(v.clone());
                origin = Some(&l.origin);
            }
        }
        origin
    }
}

fn takes(layer: &Layer, current: Option<&str>) -> bool {
    match current {
        None => true,
        Some(v) => layer.fills_blank && v.trim().is_empty(),
    }
}

impl Env for LayeredEnv<'_> {
    fn var(&self, name: &str) -> Option<String> {
        let mut value = self.base.var(name);
        for l in &self.layers {
            if takes(l, value.as_deref())
                && let Some(v) = l.vars.get(name)
            {
                value = Some(v.clone());
            }
        }
        value
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

/// The file's text; `None` when it does not exist.
fn read_limited(path: &Path) -> std::io::Result<Option<String>> {
    use std::io::Read;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    f.take(MAX_DOTENV_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_DOTENV_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_DOTENV_BYTES} bytes"
        )));
    }
    String::from_utf8(bytes).map(Some).map_err(|e| {
        std::io::Error::other(format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MapEnv;

    #[test]
    fn parses_the_usual_forms() {
        let text = "\u{feff}# comment\n\nA=1\nexport B = two words \nC='single # kept'\nD=\"x\\ny\"\nE=plain # note\nF=\nG=\"multi\nline\"\nH=`back`\r\nI=#x\n";
        let (vars, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        let m: HashMap<_, _> = vars.into_iter().collect();
        assert_eq!(m["A"], "1");
        assert_eq!(m["B"], "two words");
        assert_eq!(m["C"], "single # kept");
        assert_eq!(m["D"], "x\ny");
        assert_eq!(m["E"], "plain");
        assert_eq!(m["F"], "");
        assert_eq!(m["G"], "multi\nline");
        assert_eq!(m["H"], "back");
        assert_eq!(m["I"], "");
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let text = "GOOD=1\njust words\nBAD KEY=2\nQ=\"open\nAFTER=3\nX='a' junk\n";
        let (vars, problems) = parse(text);
        let m: HashMap<_, _> = vars.into_iter().collect();
        assert_eq!(m.get("GOOD").map(String::as_str), Some("1"));
        assert_eq!(m.get("AFTER").map(String::as_str), Some("3"));
        assert!(!m.contains_key("Q") && !m.contains_key("X"));
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 6], "{problems:?}");
    }

    #[test]
    fn layers_never_override() {
        let base = MapEnv::new([("SET", "process"), ("EMPTY", "")]);
        let mut env = LayeredEnv::new(&base);
        env.layers.push(Layer {
            origin: Origin::File("a".into()),
            vars: [("SET", "a"), ("EMPTY", "a"), ("ONLY_A", "a"), ("BOTH", "a")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            fills_blank: false,
        });
        env.layers.push(Layer {
            origin: Origin::File("b".into()),
            vars: [("BOTH", "b"), ("ONLY_B", "b")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            fills_blank: false,
        });
        env.add_config(&serde_json::json!({
            "env": { "EMPTY": "config", "ONLY_C": "c", "ONLY_B": "c", "vars": { "V": "v" } }
        }));
        assert_eq!(env.var("SET").as_deref(), Some("process"));
        // A `.env` file does not fill a set-but-empty variable; the config does.
        assert_eq!(env.var("EMPTY").as_deref(), Some("config"));
        assert_eq!(env.var("ONLY_A").as_deref(), Some("a"));
        assert_eq!(env.var("BOTH").as_deref(), Some("a"));
        assert_eq!(env.var("ONLY_B").as_deref(), Some("b"));
        assert_eq!(env.var("ONLY_C").as_deref(), Some("c"));
        assert_eq!(env.var("V").as_deref(), Some("v"));
        assert_eq!(env.var("NONE"), None);
        assert_eq!(env.origin("BOTH"), Some(&Origin::File("a".into())));
        assert_eq!(env.origin("SET"), None);
        assert_eq!(env.origin("ONLY_C"), Some(&Origin::Config));
    }

    #[test]
    fn standard_order_reads_cwd_then_state_dir() {
        let d = std::env::temp_dir().join(format!("ocrs-dotenv-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let state = d.join("state");
        std::fs::create_dir_all(&state).expect("dirs");
        let s = state.display().to_string();
        // ./.env names the state dir; the state dir's .env fills what is left.
        std::fs::write(
            d.join(".env"),
            format!("OPENCLAW_STATE_DIR={s}\nA=cwd\nbroken line\n"),
        )
        .expect("w");
        std::fs::write(state.join(".env"), "A=state\nB=state\n").expect("w");
        let base = MapEnv::new([("HOME", "/nonexistent")]);
        let env = LayeredEnv::standard(&base, &Profile::default(), &d);
        assert_eq!(env.var("A").as_deref(), Some("cwd"));
        assert_eq!(env.var("B").as_deref(), Some("state"));
        assert_eq!(env.warnings().len(), 1, "{:?}", env.warnings());
        assert!(env.warnings()[0].ends_with(".env:3: expected KEY=VALUE; line skipped"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
