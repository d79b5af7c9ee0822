//! Checks a loaded config against the generated schema table, reporting every problem in one pass,
//! then applies the cross-field rules that a schema cannot express.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonspan::{MAX_SAFE_INTEGER, Span, Spanned, Value};

use super::diagnostics::Issue;
use super::diff::join;
use super::load::Env;
use super::schema::{self, Lit, NodeKind, SchemaNode, field, node, resolve};

/// Problems found by [`validate`].
#[derive(Debug, Default)]
pub struct Findings {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

/// Validates a whole config tree: schema checks, then cross-field rules.
pub fn validate(root: &Spanned, env: &dyn Env) -> Findings {
    let mut v = Walker {
        out: Findings::default(),
    };
    v.check(schema::root(), root, "", None);
    cross_field(root, env, &mut v.out.errors);
    v.out
}

struct Walker {
    out: Findings,
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{}", n as i128)
    } else {
        format!("{n}")
    }
}

/// The value as OpenClaw prints it after `got:` (JSON).
fn got(v: &Spanned) -> String {
    match &v.value {
        Value::Number(n) => n.to_string(),
        _ => v.to_json().to_string(),
    }
}

fn expected_name(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::String | NodeKind::Enum(_) => "string",
        NodeKind::Integer | NodeKind::Number => "number",
        NodeKind::Boolean => "boolean",
        NodeKind::Null => "null",
        NodeKind::Object { .. } | NodeKind::Map(_) => "object",
        NodeKind::List(_) => "array",
        NodeKind::Any | NodeKind::Union { .. } | NodeKind::Ref(_) => "value",
    }
}

/// A compiled `pattern`/`keyPattern`: matched directly when it is a simple anchored class
/// pattern, else by fancy-regex; `Invalid` patterns accept everything (the spec compiler refuses a
/// pattern that does not compile, so this is only a safety net).
#[derive(Debug)]
enum Matcher {
    Simple(super::simple_pattern::SimplePattern),
    Regex(fancy_regex::Regex),
    Invalid,
}

fn matcher(pattern: &'static str) -> Arc<Matcher> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Arc<Matcher>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut guard = cache.lock().unwrap_or_else(|e| e.into_inner());
    guard
        .entry(pattern)
        .or_insert_with(|| {
            Arc::new(match super::simple_pattern::SimplePattern::parse(pattern) {
                Some(p) => Matcher::Simple(p),
                None => fancy_regex::Regex::new(pattern).map_or(Matcher::Invalid, Matcher::Regex),
            })
        })
        .clone()
}

fn matches_pattern(pattern: &'static str, s: &str) -> bool {
    match &*matcher(pattern) {
        Matcher::Simple(p) => p.is_match(s),
        Matcher::Regex(re) => re.is_match(s).unwrap_or(true),
        Matcher::Invalid => true,
    }
}

fn lit_eq(l: &Lit, v: &Value) -> bool {
    match (l, v) {
        (Lit::Str(a), Value::String(b)) => a == b,
        (Lit::Int(a), Value::Number(n)) => n.value == *a as f64,
        (Lit::Num(a), Value::Number(n)) => n.value == *a,
        (Lit::Bool(a), Value::Bool(b)) => a == b,
        (Lit::Null, Value::Null) => true,
        _ => false,
    }
}

/// Whether a value has the JSON type a node expects (ignoring every other constraint).
fn type_fits(id: u32, v: &Value) -> bool {
    match (node(resolve(id)).kind, v) {
        (NodeKind::Any, _) => true,
        (NodeKind::String, Value::String(_)) => true,
        (NodeKind::Integer | NodeKind::Number, Value::Number(_)) => true,
        (NodeKind::Boolean, Value::Bool(_)) | (NodeKind::Null, Value::Null) => true,
        (NodeKind::Enum(vals), v) => {
            vals.iter().any(|l| lit_eq(l, v))
                || vals
                    .iter()
                    .any(|l| matches!((l, v), (Lit::Str(_), Value::String(_))))
        }
        (NodeKind::Object { .. } | NodeKind::Map(_), Value::Object(_)) => true,
        (NodeKind::List(_), Value::Array(_)) => true,
        (NodeKind::Union { variants, .. }, v) => variants.iter().any(|&x| type_fits(x, v)),
        _ => false,
    }
}

impl Walker {
    fn err(&mut self, issue: Issue) {
        self.out.errors.push(issue);
    }

    fn check(&mut self, id: u32, v: &Spanned, path: &str, key_span: Option<Span>) {
        let n = node(id);
        if let NodeKind::Ref(target) = n.kind {
            return self.check(target, v, path, key_span);
        }
        match (&n.kind, &v.value) {
            (NodeKind::Any, _) => {}
            (NodeKind::String, Value::String(s)) => self.string(n, s, v, path),
            (NodeKind::Integer, Value::Number(num)) => self.integer(n, num, v, path),
            (NodeKind::Number, Value::Number(num)) => {
                if num.value.is_finite() {
                    self.bounds(n, num.value, v, path);
                } else {
                    self.type_error("number", v, path);
                }
            }
            (NodeKind::Boolean, Value::Bool(_)) | (NodeKind::Null, Value::Null) => {}
            (NodeKind::Enum(vals), _) => {
                if !vals.iter().any(|l| lit_eq(l, &v.value)) {
                    self.enum_error(vals, v, path);
                }
            }
            (
                NodeKind::Object {
                    fields,
                    extra,
                    open,
                },
                Value::Object(_),
            ) => self.object(n, fields, *extra, *open, v, path, key_span),
            (NodeKind::Map(value), Value::Object(_)) => self.map(n, *value, v, path),
            (NodeKind::List(item), Value::Array(items)) => self.list(n, *item, items, v, path),
            (
                NodeKind::Union {
                    variants,
                    discriminator,
                },
                _,
            ) => self.union(variants, *discriminator, v, path, key_span),
            (kind, _) => self.type_error(expected_name(kind), v, path),
        }
    }

    fn type_error(&mut self, expected: &str, v: &Spanned, path: &str) {
        let received = match &v.value {
            Value::Number(n) if n.value.is_infinite() => "Infinity",
            other => other.type_name(),
        };
        self.err(Issue::error(
            "openclaw::config::type",
            path,
            format!("Invalid input: expected {expected}, received {received}"),
            Some(v.span),
        ));
    }

    fn enum_error(&mut self, vals: &[Lit], v: &Spanned, path: &str) {
        let allowed: Vec<String> = vals.iter().map(Lit::to_string).collect();
        let mut issue = Issue::error(
            "openclaw::config::enum",
            path,
            format!("Invalid input (allowed: {})", allowed.join(", ")),
            Some(v.span),
        )
        .with_got(got(v));
        issue.allowed_values = Some(vals.iter().map(Lit::to_json).collect());
        if let Value::String(s) = &v.value {
            let names = vals.iter().filter_map(|l| match l {
                Lit::Str(s) => Some(*s),
                _ => None,
            });
            if let Some(best) = crate::config::suggest(s, names) {
                issue = issue.with_help(format!("did you mean \"{best}\"?"));
            }
        }
        self.err(issue);
    }

    fn string(&mut self, n: &SchemaNode, s: &str, v: &Spanned, path: &str) {
        let len = s.chars().count() as u64;
        if let Some(min) = n.limits.min_length.filter(|&m| len < m) {
            let what = if min == 1 {
                "Too small: expected string to have >=1 characters".to_string()
            } else {
                format!("Too small: expected string to have >={min} characters")
            };
            self.err(
                Issue::error("openclaw::config::too_small", path, what, Some(v.span))
                    .with_got(got(v)),
            );
        }
        if let Some(max) = n.limits.max_length.filter(|&m| len > m) {
            self.err(
                Issue::error(
                    "openclaw::config::too_big",
                    path,
                    format!("Too big: expected string to have <={max} characters"),
                    Some(v.span),
                )
                .with_help(format!("the value has {len} characters")),
            );
        }
        if let Some(p) = n.limits.pattern
            && !matches_pattern(p, s)
        {
            self.err(
                Issue::error(
                    "openclaw::config::pattern",
                    path,
                    format!("Invalid string: must match pattern /{p}/"),
                    Some(v.span),
                )
                .with_got(got(v)),
            );
        }
        if n.limits.format == Some("uri") && !looks_like_uri(s) {
            self.err(
                Issue::error(
                    "openclaw::config::format",
                    path,
                    "Invalid URL",
                    Some(v.span),
                )
                .with_got(got(v))
                .with_help("write an absolute URL such as https://example.com/path"),
            );
        }
    }

    fn integer(&mut self, n: &SchemaNode, num: &jsonspan::Number, v: &Spanned, path: &str) {
        if !num.value.is_finite() {
            return self.type_error("number", v, path);
        }
        if num.value.fract() != 0.0 {
            self.err(
                Issue::error(
                    "openclaw::config::type",
                    path,
                    "Invalid input: expected int, received number",
                    Some(v.span),
                )
                .with_got(got(v)),
            );
            return;
        }
        if num.value.abs() > MAX_SAFE_INTEGER {
            self.err(
                Issue::error("openclaw::config::too_big", path, format!("Too big: expected int to be <={}", fmt_num(MAX_SAFE_INTEGER)), Some(v.span))
                    .with_got(got(v))
                    .with_help("the value is not a safe integer: beyond ±9007199254740991 it cannot be represented exactly"),
            );
        }
        self.bounds(n, num.value, v, path);
    }

    fn bounds(&mut self, n: &SchemaNode, x: f64, v: &Spanned, path: &str) {
        if let Some(min) = n.limits.min.filter(|&m| x < m) {
            let m = fmt_num(min);
            self.err(
                Issue::error(
                    "openclaw::config::too_small",
                    path,
                    format!("Too small: expected number to be >={m} (minimum: {m})"),
                    Some(v.span),
                )
                .with_got(got(v)),
            );
        }
        if let Some(min) = n.limits.exclusive_min.filter(|&m| x <= m) {
            self.err(
                Issue::error(
                    "openclaw::config::too_small",
                    path,
                    format!("Too small: expected number to be >{}", fmt_num(min)),
                    Some(v.span),
                )
                .with_got(got(v)),
            );
        }
        if let Some(max) = n.limits.max.filter(|&m| x > m) {
            let m = fmt_num(max);
            self.err(
                Issue::error(
                    "openclaw::config::too_big",
                    path,
                    format!("Too big: expected number to be <={m} (maximum: {m})"),
                    Some(v.span),
                )
                .with_got(got(v)),
            );
        }
        if let Some(max) = n.limits.exclusive_max.filter(|&m| x >= m) {
            self.err(
                Issue::error(
                    "openclaw::config::too_big",
                    path,
                    format!("Too big: expected number to be <{}", fmt_num(max)),
                    Some(v.span),
                )
                .with_got(got(v)),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn object(
        &mut self,
        n: &SchemaNode,
        fields: &'static [schema::FieldDef],
        extra: Option<u32>,
        open: bool,
        v: &Spanned,
        path: &str,
        key_span: Option<Span>,
    ) {
        let members = v.members();
        let superseded = self.duplicates(v, path);
        let mut unknown = Vec::new();
        for (i, m) in members.iter().enumerate() {
            // Duplicate keys: only the last one counts (as in JavaScript).
            if superseded[i] {
                continue;
            }
            let child = join(path, &m.key);
            match field(fields, &m.key) {
                Some(f) => {
                    if let Some(to) = node(f.node).legacy {
                        self.out.warnings.push(
                            Issue::warning(
                                "openclaw::config::deprecated",
                                &child,
                                format!("\"{}\" is deprecated: it moved to {to}", m.key),
                                Some(m.key_span),
                            )
                            .with_help("run `openclaw doctor --fix` to migrate it"),
                        );
                    }
                    self.check(f.node, &m.value, &child, Some(m.key_span));
                }
                None if path.is_empty() && m.key == "$schema" => {
                    if !matches!(m.value.value, Value::String(_)) {
                        self.type_error("string", &m.value, &child);
                    }
                }
                None => match extra {
                    Some(e) => {
                        self.key_checks(n, &m.key, m.key_span, path);
                        self.check(e, &m.value, &child, Some(m.key_span));
                    }
                    None if open => {}
                    None => unknown.push(m),
                },
            }
        }
        for f in fields.iter().filter(|f| f.required) {
            if v.member(f.name).is_none() {
                let at = key_span.unwrap_or(Span::new(v.span.src, v.span.start, v.span.start + 1));
                let expected = expected_name(&node(resolve(f.node)).kind);
                self.err(
                    Issue::error(
                        "openclaw::config::missing_required",
                        join(path, f.name),
                        format!("Invalid input: expected {expected}, received undefined"),
                        Some(at),
                    )
                    .with_help(format!("add the required field `{}`", f.name)),
                );
            }
        }
        self.property_count(n, members.len(), v, path);
        for m in unknown {
            let mut issue = Issue::error(
                "openclaw::config::unknown_key",
                path,
                format!("Unrecognized key: \"{}\"", m.key),
                Some(m.key_span),
            );
            let names = fields.iter().map(|f| f.name);
            issue = match crate::config::suggest(&m.key, names) {
                Some(best) => issue.with_help(format!("did you mean \"{best}\"?")),
                None => issue.with_help(format!(
                    "remove it; `{}` accepts: {}",
                    if path.is_empty() { "<root>" } else { path },
                    preview(fields.iter().map(|f| f.name))
                )),
            };
            self.err(issue);
        }
    }

    /// Warns about keys written twice in one object; returns, per member, whether a later member
    /// with the same key overrides it. Linear in the number of members.
    fn duplicates(&mut self, v: &Spanned, path: &str) -> Vec<bool> {
        let members = v.members();
        let mut superseded = vec![false; members.len()];
        if members.len() < 2 {
            return superseded;
        }
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(members.len());
        for (i, m) in members.iter().enumerate() {
            if let Some(prev) = last.insert(m.key.as_str(), i) {
                superseded[prev] = true;
            }
        }
        for (m, _) in members.iter().zip(&superseded).filter(|(_, s)| **s) {
            self.out.warnings.push(
                Issue::warning(
                    "openclaw::config::duplicate_key",
                    join(path, &m.key),
                    format!("Duplicate key \"{}\": the later value wins", m.key),
                    Some(m.key_span),
                )
                .with_help("remove one of the two entries"),
            );
        }
        superseded
    }

    fn key_checks(&mut self, n: &SchemaNode, key: &str, key_span: Span, path: &str) {
        let len = key.chars().count() as u64;
        let bad = n.limits.key_min_length.is_some_and(|m| len < m)
            || n.limits.key_max_length.is_some_and(|m| len > m)
            || n.limits
                .key_pattern
                .is_some_and(|p| !matches_pattern(p, key));
        if bad {
            let mut rule = Vec::new();
            if let Some(p) = n.limits.key_pattern {
                rule.push(format!("match /{p}/"));
            }
            if let Some(m) = n.limits.key_min_length {
                rule.push(format!("have >={m} characters"));
            }
            if let Some(m) = n.limits.key_max_length {
                rule.push(format!("have <={m} characters"));
            }
            self.err(Issue::error(
                "openclaw::config::key",
                path,
                format!(
                    "Invalid key in record: \"{key}\" must {}",
                    rule.join(" and ")
                ),
                Some(key_span),
            ));
        }
    }

    fn property_count(&mut self, n: &SchemaNode, count: usize, v: &Spanned, path: &str) {
        let c = count as u64;
        if let Some(min) = n.limits.min_properties.filter(|&m| c < m) {
            self.err(Issue::error(
                "openclaw::config::too_small",
                path,
                format!("Too small: expected object to have >={min} keys"),
                Some(v.span),
            ));
        }
        if let Some(max) = n.limits.max_properties.filter(|&m| c > m) {
            self.err(Issue::error(
                "openclaw::config::too_big",
                path,
                format!("Too big: expected object to have <={max} keys"),
                Some(v.span),
            ));
        }
    }

    fn map(&mut self, n: &SchemaNode, value: u32, v: &Spanned, path: &str) {
        let superseded = self.duplicates(v, path);
        let members = v.members();
        for (i, m) in members.iter().enumerate() {
            if superseded[i] {
                continue;
            }
            self.key_checks(n, &m.key, m.key_span, path);
            self.check(value, &m.value, &join(path, &m.key), Some(m.key_span));
        }
        self.property_count(n, members.len(), v, path);
    }

    fn list(&mut self, n: &SchemaNode, item: u32, items: &[Spanned], v: &Spanned, path: &str) {
        let len = items.len() as u64;
        if let Some(min) = n.limits.min_items.filter(|&m| len < m) {
            self.err(Issue::error(
                "openclaw::config::too_small",
                path,
                format!("Too small: expected array to have >={min} items"),
                Some(v.span),
            ));
        }
        if let Some(max) = n.limits.max_items.filter(|&m| len > m) {
            self.err(Issue::error(
                "openclaw::config::too_big",
                path,
                format!("Too big: expected array to have <={max} items"),
                Some(v.span),
            ));
        }
        for (i, it) in items.iter().enumerate() {
            self.check(item, it, &join(path, &i.to_string()), None);
        }
        if n.limits.unique_items {
            let mut seen = std::collections::HashSet::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                if !seen.insert(it.to_json().to_string()) {
                    self.err(Issue::error(
                        "openclaw::config::duplicate_item",
                        join(path, &i.to_string()),
                        "Duplicate item: list entries must be unique",
                        Some(it.span),
                    ));
                }
            }
        }
    }

    fn union(
        &mut self,
        variants: &'static [u32],
        discriminator: Option<&'static str>,
        v: &Spanned,
        path: &str,
        key_span: Option<Span>,
    ) {
        if let (Some(tag), Value::Object(_)) = (discriminator, &v.value) {
            return self.tagged(variants, tag, v, path, key_span);
        }
        let mut best: Option<Findings> = None;
        let mut candidates = 0;
        for &variant in variants {
            let mut w = Walker {
                out: Findings::default(),
            };
            w.check(variant, v, path, key_span);
            if w.out.errors.is_empty() {
                self.out.warnings.extend(w.out.warnings);
                return;
            }
            if type_fits(variant, &v.value) {
                candidates += 1;
                if best
                    .as_ref()
                    .is_none_or(|b| w.out.errors.len() < b.errors.len())
                {
                    best = Some(w.out);
                }
            }
        }
        match best {
            // Exactly one variant has the right JSON type: its own problems are the precise answer.
            Some(b)
                if candidates >= 1 && (candidates == 1 || matches!(v.value, Value::Object(_))) =>
            {
                self.out.errors.extend(b.errors);
                self.out.warnings.extend(b.warnings);
            }
            _ => {
                let expected: Vec<&str> = variants.iter().map(|&x| describe(x)).collect();
                self.err(
                    Issue::error(
                        "openclaw::config::union",
                        path,
                        "Invalid input",
                        Some(v.span),
                    )
                    .with_got(got(v))
                    .with_help(format!("expected one of: {}", expected.join(", "))),
                );
            }
        }
    }

    fn tagged(
        &mut self,
        variants: &'static [u32],
        tag: &'static str,
        v: &Spanned,
        path: &str,
        key_span: Option<Span>,
    ) {
        let mut all = Vec::new();
        for &variant in variants {
            if let NodeKind::Object { fields, .. } = node(resolve(variant)).kind
                && let Some(f) = field(fields, tag)
                && let NodeKind::Enum(vals) = node(resolve(f.node)).kind
            {
                all.extend_from_slice(vals);
                if let Some(t) = v.get(tag)
                    && vals.iter().any(|l| lit_eq(l, &t.value))
                {
                    return self.check(variant, v, path, key_span);
                }
            }
        }
        match v.get(tag) {
            Some(t) => self.enum_error(&all, t, &join(path, tag)),
            None => {
                let at = key_span.unwrap_or(v.span);
                let allowed: Vec<String> = all.iter().map(Lit::to_string).collect();
                self.err(
                    Issue::error(
                        "openclaw::config::missing_required",
                        join(path, tag),
                        "Invalid input: expected string, received undefined",
                        Some(at),
                    )
                    .with_help(format!("add `{tag}`: one of {}", allowed.join(", "))),
                );
            }
        }
    }
}

fn describe(id: u32) -> &'static str {
    match node(resolve(id)).kind {
        NodeKind::String => "string",
        NodeKind::Integer => "integer",
        NodeKind::Number => "number",
        NodeKind::Boolean => "boolean",
        NodeKind::Null => "null",
        NodeKind::Enum(_) => "one of the listed values",
        NodeKind::Object { .. } | NodeKind::Map(_) => "object",
        NodeKind::List(_) => "array",
        _ => "value",
    }
}

fn preview<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = names.collect();
    if all.len() > 12 {
        format!("{}, … ({} keys)", all[..12].join(", "), all.len())
    } else {
        all.join(", ")
    }
}

fn looks_like_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut c = scheme.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && c.all(|x| x.is_ascii_alphanumeric() || matches!(x, '+' | '-' | '.'))
        && !rest.is_empty()
        && !s.chars().any(char::is_whitespace)
}

// ---------------------------------------------------------------------------------------------
// Cross-field rules

fn str_at<'a>(root: &'a Spanned, path: &[&str]) -> Option<&'a str> {
    root.pointer(path.iter().copied()).and_then(Spanned::as_str)
}

fn present(root: &Spanned, path: &[&str]) -> bool {
    root.pointer(path.iter().copied())
        .is_some_and(|v| !matches!(v.value, Value::Null))
}

fn span_at(root: &Spanned, path: &[&str], key: bool) -> Option<Span> {
    let (last, parent) = path.split_last()?;
    let m = root.pointer(parent.iter().copied())?.member(last)?;
    Some(if key { m.key_span } else { m.value.span })
}

fn is_loopback_host(h: &str) -> bool {
    h == "localhost"
        || h == "::1"
        || h.parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

fn cross_field(root: &Spanned, env: &dyn Env, errors: &mut Vec<Issue>) {
    if !matches!(root.value, Value::Object(_)) {
        return;
    }
    let env_set = |name: &str| env.var(name).is_some_and(|v| !v.is_empty());
    let bind = str_at(root, &["gateway", "bind"]);
    let mode = str_at(root, &["gateway", "auth", "mode"]);
    let has_token = present(root, &["gateway", "auth", "token"]);
    let has_password = present(root, &["gateway", "auth", "password"]);
    let custom_host = str_at(root, &["gateway", "customBindHost"]);

    if bind == Some("custom") && custom_host.is_none_or(str::is_empty) {
        errors.push(
            Issue::error("openclaw::config::bind_custom_host", "gateway.bind", "bind \"custom\" needs gateway.customBindHost", span_at(root, &["gateway", "bind"], false))
                .with_help("set gateway.customBindHost to the IPv4 address to listen on, or choose another bind mode"),
        );
    }
    let non_loopback = match bind {
        Some("lan") | Some("tailnet") => true,
        Some("custom") => custom_host.is_some_and(|h| !is_loopback_host(h)),
        _ => false,
    };
    if non_loopback {
        let bind = bind.unwrap_or_default();
        let bind_span = span_at(root, &["gateway", "bind"], false);
        if mode == Some("none") {
            errors.push(
                Issue::error("openclaw::config::bind_without_auth", "gateway.auth.mode", format!("auth mode \"none\" is only allowed on a loopback bind, but gateway.bind is \"{bind}\""), span_at(root, &["gateway", "auth", "mode"], false))
                    .with_help("use auth mode \"token\" or \"password\", or bind to loopback"),
            );
        } else {
            let has_auth = has_token
                || has_password
                || mode == Some("trusted-proxy")
                || env_set("OPENCLAW_GATEWAY_TOKEN")
                || env_set("OPENCLAW_GATEWAY_PASSWORD");
            if !has_auth {
                errors.push(
                    Issue::error("openclaw::config::bind_without_auth", "gateway.bind", format!("Refusing to bind gateway to {bind} without auth"), bind_span)
                        .with_help("set gateway.auth.token or gateway.auth.password (or OPENCLAW_GATEWAY_TOKEN / OPENCLAW_GATEWAY_PASSWORD), use auth mode \"trusted-proxy\", or bind to loopback"),
                );
            }
        }
    }
    if has_token && has_password && mode.is_none() {
        errors.push(
            Issue::error("openclaw::config::auth_mode_ambiguous", "gateway.auth", "both gateway.auth.token and gateway.auth.password are set, so gateway.auth.mode must say which one to use", span_at(root, &["gateway", "auth"], true))
                .with_help("add mode: \"token\" or mode: \"password\" under gateway.auth"),
        );
    }
    if mode == Some("trusted-proxy") {
        let proxies = root.pointer(["gateway", "trustedProxies"]);
        let empty = match proxies.map(|p| &p.value) {
            Some(Value::Array(items)) => items.is_empty(),
            _ => true,
        };
        if empty {
            errors.push(
                Issue::error(
                    "openclaw::config::trusted_proxy_without_proxies",
                    "gateway.auth.mode",
                    "auth mode \"trusted-proxy\" needs gateway.trustedProxies",
                    span_at(root, &["gateway", "auth", "mode"], false),
                )
                .with_help(
                    "list the proxy addresses in gateway.trustedProxies, e.g. [\"127.0.0.1\"]",
                ),
            );
        }
    }
    if str_at(root, &["gateway", "tailscale", "mode"]) == Some("funnel") {
        let password_auth =
            mode == Some("password") || (mode.is_none() && has_password && !has_token);
        if !password_auth {
            errors.push(
                Issue::error("openclaw::config::funnel_without_password", "gateway.tailscale.mode", "Tailscale Funnel exposes the gateway to the internet and requires password auth", span_at(root, &["gateway", "tailscale", "mode"], false))
                    .with_help("set gateway.auth.mode to \"password\" with gateway.auth.password, or use tailscale mode \"serve\""),
            );
        }
    }
    let hooks_enabled = root
        .pointer(["hooks", "enabled"])
        .and_then(Spanned::as_bool)
        == Some(true);
    if hooks_enabled && !present(root, &["hooks", "token"]) {
        errors.push(
            Issue::error(
                "openclaw::config::hooks_token",
                "hooks.token",
                "hooks.enabled is true, so hooks.token is required",
                span_at(root, &["hooks", "enabled"], true),
            )
            .with_help("set hooks.token to a secret that differs from the gateway token"),
        );
    }
    if let (Some(h), Some(g)) = (
        str_at(root, &["hooks", "token"]),
        str_at(root, &["gateway", "auth", "token"]),
    ) && !h.is_empty()
        && h == g
    {
        errors.push(
                Issue::error("openclaw::config::hooks_token", "hooks.token", "hooks.token must differ from gateway.auth.token", span_at(root, &["hooks", "token"], false))
                    .with_help("use a separate secret for hooks, so a leaked hook token does not grant gateway access"),
            );
    }
    if str_at(root, &["hooks", "path"]).is_some_and(|p| p.trim_end_matches('/').is_empty()) {
        errors.push(
            Issue::error(
                "openclaw::config::hooks_path",
                "hooks.path",
                "hooks.path cannot be \"/\": it would shadow the gateway's own routes",
                span_at(root, &["hooks", "path"], false),
            )
            .with_help("use a sub-path such as \"/hooks\""),
        );
    }
    secret_refs(root, root, "", errors);
}

/// SecretRefs (`{source, provider, id}`) must name a provider declared under `secrets.providers`
/// (the built-in `default` env provider excepted) whose source matches.
fn secret_refs(root: &Spanned, v: &Spanned, path: &str, errors: &mut Vec<Issue>) {
    match &v.value {
        Value::Object(members) => {
            let is_ref = members.len() == 3
                && ["source", "provider", "id"]
                    .iter()
                    .all(|k| v.get(k).and_then(Spanned::as_str).is_some());
            let source = v
                .get("source")
                .and_then(Spanned::as_str)
                .unwrap_or_default();
            // An unknown source is already reported by the schema; do not pile a second issue on it.
            let known_source = matches!(source, "env" | "file" | "exec" | "store");
            if is_ref && known_source && !path.starts_with("secrets.") {
                let provider = v
                    .get("provider")
                    .and_then(Spanned::as_str)
                    .unwrap_or_default();
                let declared = root.pointer(["secrets", "providers", provider]);
                let builtin = provider == "default" && source == "env";
                match declared {
                    None if !builtin => {
                        let names: Vec<String> = root
                            .pointer(["secrets", "providers"])
                            .map(|p| p.members().iter().map(|m| m.key.clone()).collect())
                            .unwrap_or_default();
                        let mut issue = Issue::error(
                            "openclaw::config::secret_provider",
                            join(path, "provider"),
                            format!(
                                "SecretRef names provider \"{provider}\", which secrets.providers does not define"
                            ),
                            v.get("provider").map(|p| p.span),
                        );
                        issue = match crate::config::suggest(provider, names.iter().map(String::as_str)) {
                            Some(best) => issue.with_help(format!("did you mean \"{best}\"?")),
                            None => issue.with_help(format!("declare it: secrets: {{ providers: {{ {provider}: {{ source: \"{source}\" }} }} }}")),
                        };
                        errors.push(issue);
                    }
                    Some(p) => {
                        let psource = p.get("source").and_then(Spanned::as_str);
                        if psource.is_some_and(|s| s != source) {
                            errors.push(
                                Issue::error(
                                    "openclaw::config::secret_provider",
                                    join(path, "source"),
                                    format!("SecretRef source \"{source}\" does not match provider \"{provider}\", whose source is \"{}\"", psource.unwrap_or_default()),
                                    v.get("source").map(|s| s.span),
                                )
                                .with_help("make the source match the provider's declaration"),
                            );
                        }
                    }
                    None => {}
                }
                return;
            }
            for m in members {
                if m.value.is_container() {
                    secret_refs(root, &m.value, &join(path, &m.key), errors);
                }
            }
        }
        Value::Array(items) => {
            for (i, it) in items.iter().enumerate() {
                if it.is_container() {
                    secret_refs(root, it, &join(path, &i.to_string()), errors);
                }
            }
        }
        _ => {}
    }
}

/// Validates one value against one schema node (used for values that come from flags and env vars).
pub fn validate_node(id: u32, value: &Spanned, path: &str) -> Findings {
    let mut w = Walker {
        out: Findings::default(),
    };
    w.check(id, value, path, None);
    w.out
}
