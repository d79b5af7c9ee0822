//! Every name the emitters invent comes from here: case conversion, keyword escaping, suggestions.

/// `PascalCase`: starts with an upper-case ASCII letter, then letters and digits.
pub fn is_pascal(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// Splits a wire name into words: `controlUi` → [control, ui], `trusted-proxy` → [trusted, proxy],
/// `system-presence` → [system, presence], `config.get` → [config, get], `OPENCLAW_X` → [openclaw, x].
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let boundary = c.is_ascii_uppercase()
            && !cur.is_empty()
            && (chars[i - 1].is_ascii_lowercase()
                || chars[i - 1].is_ascii_digit()
                || chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase()));
        if boundary {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub fn pascal(s: &str) -> String {
    let mut out: String = words(s)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'X');
    }
    if out == "Self" {
        out.push('_');
    }
    out
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// `snake_case` field identifier, escaped when it is a keyword (`type` → `r#type`).
pub fn snake(s: &str) -> String {
    let mut out = words(s).join("_");
    if out.is_empty() {
        // Nothing ASCII to build a name from (e.g. `é`); callers de-duplicate with [`Uniq`].
        out.push_str("field");
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if matches!(out.as_str(), "self" | "Self" | "super" | "crate") {
        out.push('_');
    } else if KEYWORDS.contains(&out.as_str()) {
        out.insert_str(0, "r#");
    }
    out
}

/// Hands out names unique within one scope: the base name, else `base2`, `base3`, …
#[derive(Debug, Default)]
pub struct Uniq {
    taken: std::collections::HashSet<String>,
}

impl Uniq {
    /// Marks a name as taken without handing it out.
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(unraw(name).to_string());
    }

    pub fn fresh(&mut self, base: &str) -> String {
        let key = unraw(base);
        if self.taken.insert(key.to_string()) {
            return base.to_string();
        }
        (2..)
            .map(|i| format!("{key}{i}"))
            .find(|n| self.taken.insert(n.clone()))
            .unwrap_or_default()
    }
}

fn unraw(name: &str) -> &str {
    name.strip_prefix("r#").unwrap_or(name)
}

/// Type names the generated code cannot use for a named type: the generated items themselves and
/// the std/prelude names the emitted code refers to.
pub const RESERVED_TYPES: &[&str] = &[
    "Config",
    "Method",
    "Event",
    "ErrorCode",
    "Handler",
    "Self",
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "String",
    "Vec",
    "Box",
    "BTreeMap",
    "HashMap",
    "Default",
    "Clone",
    "Copy",
    "Debug",
    "PartialEq",
    "Eq",
    "Hash",
    "Send",
    "Sync",
    "Sized",
    "Iterator",
    "From",
    "Into",
    "ToString",
    "ToOwned",
    "AsRef",
    "Fn",
    "Drop",
    "Value",
    "KeyMeta",
    "Override",
    "ReloadRule",
];

/// `SCREAMING_SNAKE_CASE`.
pub fn screaming(s: &str) -> String {
    words(s).join("_").to_ascii_uppercase()
}

pub use jsonspan::suggest::{distance, suggest};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_conversion() {
        assert_eq!(pascal("controlUi"), "ControlUi");
        assert_eq!(pascal("trusted-proxy"), "TrustedProxy");
        assert_eq!(pascal("config.schema.lookup"), "ConfigSchemaLookup");
        assert_eq!(pascal("INVALID_REQUEST"), "InvalidRequest");
        assert_eq!(
            pascal("dangerouslyAllowHostHeaderOriginFallback"),
            "DangerouslyAllowHostHeaderOriginFallback"
        );
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("allowedOrigins"), "allowed_origins");
        assert_eq!(snake("$schema"), "schema");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("2fa"), "_2fa");
        assert_eq!(pascal("TLSConfig"), "TlsConfig");
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("prot", ["port", "bind", "mode"]), Some("port"));
        assert_eq!(suggest("gatway", ["gateway", "logging"]), Some("gateway"));
        assert_eq!(suggest("zzzzzz", ["gateway", "logging"]), None);
    }
}
