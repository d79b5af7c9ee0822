//! Which changes apply live and which need a restart, from the generated `RELOAD_RULES`.

use crate::generated::config::RELOAD_RULES;

/// What applying a change to one path takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadClass {
    /// Nothing in the running gateway depends on it.
    None,
    /// Applied live, running these named actions (possibly none).
    Hot(Vec<&'static str>),
    /// Needs a gateway restart.
    Restart,
}

impl ReloadClass {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReloadClass::None => "none",
            ReloadClass::Hot(_) => "hot",
            ReloadClass::Restart => "restart",
        }
    }
}

/// True when `path` is `prefix` or lies below it; `*` in the prefix matches any one segment.
fn matches(prefix: &str, path: &str) -> bool {
    let mut p = path.split('.');
    for seg in prefix.split('.') {
        match p.next() {
            Some(s) if seg == "*" || seg == s => {}
            _ => return false,
        }
    }
    true
}

/// The reload class of a concrete dotted path: the most specific declared prefix wins; a path no rule
/// covers needs a restart (as in OpenClaw).
pub fn reload_class(path: &str) -> ReloadClass {
    match RELOAD_RULES.iter().find(|r| matches(r.prefix, path)) {
        Some(r) => match r.class {
            "none" => ReloadClass::None,
            "hot" => ReloadClass::Hot(r.actions.to_vec()),
            _ => ReloadClass::Restart,
        },
        None => ReloadClass::Restart,
    }
}
