//! Reading a config from disk: encoding checks, JSON5 syntax, `$include`, `${VAR}` substitution.
//! Every problem becomes an [`Issue`] with a span; nothing here panics on bad input.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jsonspan::{Member, Span, Spanned, Value};

use super::diagnostics::{Issue, SourceMap};

/// Where environment variables come from (the process, or a map in tests).
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed set of variables.
#[derive(Debug, Default, Clone)]
pub struct MapEnv(pub HashMap<String, String>);

impl MapEnv {
    pub fn new<const N: usize>(vars: [(&str, &str); N]) -> MapEnv {
        MapEnv(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// Deepest chain of `$include`s followed.
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// Why a config file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    NotFound,
    IsDirectory,
    /// Not UTF-8: byte offset, 1-based line and column of the first bad byte.
    NotUtf8 {
        offset: usize,
        line: usize,
        column: usize,
    },
    Other(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotFound => f.write_str("file not found"),
            ReadError::IsDirectory => f.write_str("is a directory, not a file"),
            ReadError::NotUtf8 {
                offset,
                line,
                column,
            } => write!(
                f,
                "not valid UTF-8 (first bad byte at line {line}, column {column}, offset {offset}); save the file as UTF-8"
            ),
            ReadError::Other(e) => f.write_str(e),
        }
    }
}

/// Reads a text file, checking it is a UTF-8 regular file; leading byte-order marks are dropped.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Other(e.to_string()),
    })?;
    if meta.is_dir() {
        return Err(ReadError::IsDirectory);
    }
    let bytes = std::fs::read(path).map_err(|e| ReadError::Other(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let before = String::from_utf8_lossy(&e.as_bytes()[..offset]).into_owned();
        let lc = jsonspan::LineIndex::new(&before).line_col(offset);
        ReadError::NotUtf8 {
            offset,
            line: lc.line,
            column: lc.column,
        }
    })?;
    Ok(strip_bom(text))
}

fn strip_bom(text: String) -> String {
    let trimmed = text.trim_start_matches('\u{feff}');
    if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_string()
    }
}

/// The result of loading: the merged tree (if the main file parsed), its sources, and the problems.
#[derive(Debug, Default)]
pub struct Loaded {
    pub root: Option<Spanned>,
    pub sources: SourceMap,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// Every included file, in the order first read.
    pub included: Vec<PathBuf>,
}

/// Loads `path` (already read as `text`) with includes and env substitution.
pub fn load_text(path: &Path, text: String, env: &dyn Env) -> Loaded {
    let mut l = Loaded::default();
    let src = l.sources.add(path.to_path_buf(), text.clone());
    let root = match jsonspan::parse(&text, src) {
        Ok(v) => v,
        Err(e) => {
            l.errors
                .push(syntax_issue(&e, Span::new(src, e.offset, e.offset)));
            return l;
        }
    };
    let mut chain = vec![canonical(path)];
    let root = resolve_includes(root, path, &mut chain, &mut l);
    let mut root = root;
    let vars = config_env_vars(&root);
    substitute(&mut root, "", env, &vars, &mut l.warnings);
    l.root = Some(root);
    l
}

fn syntax_issue(e: &jsonspan::SyntaxError, span: Span) -> Issue {
    Issue::error(
        "openclaw::config::syntax",
        "",
        format!(
            "JSON5 parse failed: {} at {}:{}",
            e.message, e.line, e.column
        ),
        Some(span),
    )
    .with_help("fix the JSON5 syntax at the marked position")
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn chain_text(chain: &[PathBuf]) -> String {
    chain
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Replaces every object that has a `$include` member by the included content merged with its other
/// members (which win). Problems are reported at the `$include` value.
fn resolve_includes(
    node: Spanned,
    file: &Path,
    chain: &mut Vec<PathBuf>,
    l: &mut Loaded,
) -> Spanned {
    let Spanned { value, span } = node;
    match value {
        Value::Array(items) => Spanned::new(
            Value::Array(
                items
                    .into_iter()
                    .map(|i| resolve_includes(i, file, chain, l))
                    .collect(),
            ),
            span,
        ),
        Value::Object(members) => {
            let (includes, rest): (Vec<Member>, Vec<Member>) =
                members.into_iter().partition(|m| m.key == "$include");
            let rest: Vec<Member> = rest
                .into_iter()
                .map(|m| Member {
                    value: resolve_includes(m.value, file, chain, l),
                    ..m
                })
                .collect();
            let Some(inc) = includes.into_iter().next_back() else {
                return Spanned::new(Value::Object(rest), span);
            };
            let targets: Vec<(String, Span)> = match &inc.value.value {
                Value::String(s) => vec![(s.clone(), inc.value.span)],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| match &i.value {
                        Value::String(s) => Some((s.clone(), i.span)),
                        _ => {
                            l.errors.push(Issue::error(
                                "openclaw::config::include",
                                "$include",
                                "Invalid input: $include entries must be file paths (strings)",
                                Some(i.span),
                            ));
                            None
                        }
                    })
                    .collect(),
                _ => {
                    l.errors.push(Issue::error(
                        "openclaw::config::include",
                        "$include",
                        "Invalid input: $include must be a file path or a list of file paths",
                        Some(inc.value.span),
                    ));
                    Vec::new()
                }
            };
            let mut merged: Option<Spanned> = None;
            for (target, tspan) in targets {
                if let Some(content) = include_one(&target, tspan, file, chain, l) {
                    merged = Some(match merged {
                        None => content,
                        Some(base) => deep_merge(base, content),
                    });
                }
            }
            let own = Spanned::new(Value::Object(rest), span);
            match merged {
                None => own,
                Some(base) if own.members().is_empty() => base,
                Some(base) if !matches!(base.value, Value::Object(_)) => {
                    l.errors.push(Issue::error(
                        "openclaw::config::include",
                        "$include",
                        format!("Invalid input: included content is {}, but an object is needed because `$include` has sibling keys", base.value.type_name()),
                        Some(inc.value.span),
                    ));
                    own
                }
                Some(base) => deep_merge(base, own),
            }
        }
        other => Spanned::new(other, span),
    }
}

fn include_one(
    target: &str,
    tspan: Span,
    file: &Path,
    chain: &mut Vec<PathBuf>,
    l: &mut Loaded,
) -> Option<Spanned> {
    let base = file.parent().unwrap_or(Path::new("."));
    let joined = if Path::new(target).is_absolute() {
        PathBuf::from(target)
    } else {
        base.join(target)
    };
    // Drop `.` components so messages show a clean path.
    let path: PathBuf = joined
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    let canon = canonical(&path);
    let err = |l: &mut Loaded, msg: String, help: &str| {
        l.errors.push(
            Issue::error("openclaw::config::include", "$include", msg, Some(tspan))
                .with_help(help.to_string()),
        );
    };
    if chain.contains(&canon) {
        let mut cycle = chain.clone();
        cycle.push(canon);
        err(
            l,
            format!("$include cycle: {}", chain_text(&cycle)),
            "remove one of the includes that form the cycle",
        );
        return None;
    }
    if chain.len() > MAX_INCLUDE_DEPTH {
        err(
            l,
            format!(
                "$include nested deeper than {MAX_INCLUDE_DEPTH} levels: {} → {}",
                chain_text(chain),
                target
            ),
            "flatten the include chain",
        );
        return None;
    }
    let text = match read_text(&path) {
        Ok(t) => t,
        Err(e) => {
            err(
                l,
                format!(
                    "$include {}: {e} (include chain: {})",
                    path.display(),
                    chain_text(chain)
                ),
                "check the path; relative paths are resolved against the including file's folder",
            );
            return None;
        }
    };
    if !l.included.contains(&canon) {
        l.included.push(canon.clone());
    }
    let src = l.sources.add(path.clone(), text.clone());
    let parsed = match jsonspan::parse(&text, src) {
        Ok(v) => v,
        Err(e) => {
            l.errors
                .push(syntax_issue(&e, Span::new(src, e.offset, e.offset)));
            return None;
        }
    };
    chain.push(canon);
    let resolved = resolve_includes(parsed, &path, chain, l);
    chain.pop();
    Some(resolved)
}

/// Merges `over` into `base`: objects merge key by key (recursively), anything else is replaced.
pub fn deep_merge(base: Spanned, over: Spanned) -> Spanned {
    match (base.value, over.value) {
        (Value::Object(mut bm), Value::Object(om)) => {
            for m in om {
                match bm.iter().rposition(|b| b.key == m.key) {
                    Some(i) => {
                        let old = bm.remove(i);
                        let value = deep_merge(old.value, m.value);
                        bm.push(Member {
                            key: m.key,
                            key_span: m.key_span,
                            value,
                        });
                    }
                    None => bm.push(m),
                }
            }
            Spanned::new(Value::Object(bm), over.span)
        }
        (_, v) => Spanned::new(v, over.span),
    }
}

/// Variables the config itself defines (`env.vars.*` and inline upper-case strings under `env`);
/// the process environment wins over them.
fn config_env_vars(root: &Spanned) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    if let Some(env) = root.get("env") {
        for m in env.members() {
            if let Value::String(s) = &m.value.value {
                vars.insert(m.key.clone(), s.clone());
            }
        }
        if let Some(v) = env.get("vars") {
            for m in v.members() {
                if let Value::String(s) = &m.value.value {
                    vars.insert(m.key.clone(), s.clone());
                }
            }
        }
    }
    vars
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Expands `${VAR}` in one string. Returns the new text and the names of missing variables.
pub fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> (String, Vec<String>) {
    let mut out = String::with_capacity(s.len());
    let mut missing = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        // `$${VAR}` is the escape for a literal `${VAR}`.
        if let Some(esc) = after.strip_prefix("$${")
            && let Some(end) = esc.find('}')
            && is_var_name(&esc[..end])
        {
            out.push_str("${");
            out.push_str(&esc[..=end]);
            rest = &esc[end + 1..];
            continue;
        }
        if let Some(body) = after.strip_prefix("${")
            && let Some(end) = body.find('}')
        {
            let name = &body[..end];
            if is_var_name(name) {
                match lookup(name).filter(|v| !v.is_empty()) {
                    Some(v) => out.push_str(&v),
                    None => {
                        missing.push(name.to_string());
                        out.push_str(&after[..end + 3]);
                    }
                }
                rest = &body[end + 1..];
                continue;
            }
        }
        out.push('$');
        rest = &after[1..];
    }
    out.push_str(rest);
    (out, missing)
}

/// Whether a node can hold a `${VAR}` (skips building child paths for plain leaves).
fn may_substitute(node: &Spanned) -> bool {
    match &node.value {
        Value::String(s) => s.contains('$'),
        Value::Array(_) | Value::Object(_) => true,
        _ => false,
    }
}

fn substitute(
    node: &mut Spanned,
    path: &str,
    env: &dyn Env,
    vars: &HashMap<String, String>,
    warnings: &mut Vec<Issue>,
) {
    match &mut node.value {
        Value::String(s) if s.contains('$') => {
            let lookup = |name: &str| env.var(name).or_else(|| vars.get(name).cloned());
            let (new, missing) = expand(s, &lookup);
            for name in missing {
                warnings.push(
                    Issue::warning(
                        "openclaw::config::missing_env_var",
                        path,
                        format!("Missing env var \"{name}\" - feature using this value will be unavailable"),
                        Some(node.span),
                    )
                    .with_help(format!("export {name} before starting the gateway, or write `$${{{name}}}` for a literal")),
                );
            }
            *s = new;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                if !may_substitute(item) {
                    continue;
                }
                substitute(
                    item,
                    &super::diff::join(path, &i.to_string()),
                    env,
                    vars,
                    warnings,
                );
            }
        }
        Value::Object(members) => {
            for m in members.iter_mut() {
                if !may_substitute(&m.value) {
                    continue;
                }
                substitute(
                    &mut m.value,
                    &super::diff::join(path, &m.key),
                    env,
                    vars,
                    warnings,
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_variables() {
        let env = |n: &str| match n {
            "TOKEN" => Some("abc".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(expand("x-${TOKEN}-y", &env), ("x-abc-y".into(), vec![]));
        assert_eq!(expand("$${TOKEN}", &env), ("${TOKEN}".into(), vec![]));
        assert_eq!(
            expand("${MISSING}", &env),
            ("${MISSING}".into(), vec!["MISSING".into()])
        );
        assert_eq!(expand("${EMPTY}", &env).1, vec!["EMPTY".to_string()]);
        // Not variable references: stay literal, no warning.
        for lit in ["${lower}", "${}", "${1BAD}", "${X", "$X", "$"] {
            assert_eq!(expand(lit, &env), (lit.to_string(), vec![]), "{lit}");
        }
    }
}
