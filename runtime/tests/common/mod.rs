//! Shared helpers for the config property tests: a proptest [`Strategy`] that walks the generated
//! schema table and produces configs that satisfy it, a JSON5 renderer with randomised style, and
//! span checks for diagnostics.
//!
//! Exclusions (each one keeps the generator honest about what the *spec* alone cannot express):
//! * `SecretRef` values are never generated (a SecretRef must name a provider declared elsewhere
//!   in the file, a cross-field rule); `SecretInput` always takes its string variant.
//! * `$include` is never generated, and no generated string contains `${`.
//! * A string node whose pattern the generator cannot satisfy (look-around that carries the whole
//!   constraint: today only the second variant of `ui.prefs.accent`,
//!   `^(?=…^#?[0-9a-fA-F]{6}$)(?=…^#.*)`) is left out when optional (or as a union variant).
//!   Which patterns that hits is decided empirically at start-up (see [`Gen::string`]).
//! * Cross-field rules (non-loopback bind needs auth, funnel needs password auth, hooks need a
//!   distinct token, `hooks.path` is not `/`, trusted-proxy needs proxies, token+password need a
//!   mode) are satisfied by [`fix_cross_field`] after generation.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use openclaw_runtime as runtime;
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, ValueTree};
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use runtime::config::diagnostics::IssueReport;
use runtime::config::schema::{Limits, Lit, NodeKind, node, resolve};
use runtime::config::{Checked, Issue, MapEnv};
use runtime::generated::schema_table::{ROOT, TYPES};
use serde_json::{Map, Value};

/// Objects, maps and lists nested deeper than this get only their required content.
pub const MAX_DEPTH: usize = 5;
/// Hard stop for required-only recursion through named types.
const HARD_DEPTH: usize = 14;

/// The `OCRS_TEST_*` variables of `fixtures/config/README.md`.
pub fn fixture_env() -> MapEnv {
    MapEnv::new([
        (
            "OCRS_TEST_GATEWAY_TOKEN",
            "test-gateway-token-0123456789abcdef",
        ),
        ("OCRS_TEST_OPENROUTER_KEY", "sk-or-v1-test-0000000000000000"),
        ("OCRS_TEST_HOME", "/tmp/ocrs-test-home"),
        ("OCRS_TEST_PROFILE", "fixtures"),
        ("OCRS_TEST_PORT", "19001"),
    ])
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/config")
}

/// `(path, text)` of every top-level `fixtures/config/valid/*.json5`, read as the loader reads
/// files (leading BOM dropped).
pub fn valid_fixtures() -> Vec<(PathBuf, String)> {
    let dir = fixtures_dir().join("valid");
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .expect("fixtures/config/valid exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json5") && p.is_file())
        .map(|p| {
            let text = runtime::config::load::read_text(&p).expect("fixture is readable UTF-8");
            (std::fs::canonicalize(&p).unwrap_or(p), text)
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 10,
        "expected the valid fixtures, found {}",
        out.len()
    );
    out
}

fn type_id(name: &str) -> u32 {
    TYPES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, id)| id)
        .unwrap_or_else(|| panic!("named type {name} exists in the schema table"))
}

/// The proptest settings of these suites: `cases` (or `PROPTEST_CASES` when set, for long
/// bug-hunting runs), generous reject limits (string constraints are filters), and no failure
/// persistence (it would write into the source tree; failures print their full input).
pub fn runner_config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        max_local_rejects: 1_000_000,
        max_global_rejects: 10_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Regex helpers

/// A validator-equivalent matcher (the validator uses `fancy_regex` on the table's pattern).
fn matcher(pattern: &str) -> Option<fancy_regex::Regex> {
    fancy_regex::Regex::new(pattern).ok()
}

/// Removes look-around groups `(?=…)`, `(?!…)`, `(?<=…)`, `(?<!…)` from a pattern.
fn strip_lookaround(p: &str) -> String {
    let c: Vec<char> = p.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut in_class = false;
    while i < c.len() {
        if c[i] == '\\' && i + 1 < c.len() {
            out.push(c[i]);
            out.push(c[i + 1]);
            i += 2;
            continue;
        }
        if in_class {
            if c[i] == ']' {
                in_class = false;
            }
            out.push(c[i]);
            i += 1;
            continue;
        }
        if c[i] == '[' {
            in_class = true;
            out.push('[');
            i += 1;
            if c.get(i) == Some(&'^') {
                out.push('^');
                i += 1;
            }
            if c.get(i) == Some(&']') {
                out.push(']');
                i += 1;
            }
            continue;
        }
        let look = c[i] == '('
            && c.get(i + 1) == Some(&'?')
            && (matches!(c.get(i + 2), Some('=' | '!'))
                || (c.get(i + 2) == Some(&'<') && matches!(c.get(i + 3), Some('=' | '!'))));
        if look {
            // Skip to the matching close paren.
            let mut depth = 0usize;
            let mut j = i;
            let mut cls = false;
            while j < c.len() {
                match c[j] {
                    '\\' => j += 1,
                    '[' if !cls => cls = true,
                    ']' if cls => cls = false,
                    '(' if !cls => depth += 1,
                    ')' if !cls => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            i = j + 1;
            continue;
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

/// A generator for strings matching `pattern` (plus anything around it when unanchored), if
/// proptest's `string_regex` supports the pattern once look-around and the outer anchors are
/// removed. The result still has to be filtered against the real pattern.
fn pattern_generator(pattern: &str) -> Option<BoxedStrategy<String>> {
    let body = strip_lookaround(pattern);
    let (anchored_start, body) = match body.strip_prefix('^') {
        Some(rest) => (true, rest.to_string()),
        None => (false, body),
    };
    let anchored_end = body.ends_with('$') && !body.ends_with("\\$");
    let body = if anchored_end {
        body[..body.len() - 1].to_string()
    } else {
        body
    };
    let core = proptest::string::string_regex(&body).ok()?.boxed();
    let prefix: BoxedStrategy<String> = if anchored_start {
        Just(String::new()).boxed()
    } else {
        "[a-z]{0,3}".boxed()
    };
    let suffix: BoxedStrategy<String> = if anchored_end {
        Just(String::new()).boxed()
    } else {
        "[a-z0-9]{0,6}".boxed()
    };
    Some(
        (prefix, core, suffix)
            .prop_map(|(a, b, c)| format!("{a}{b}{c}"))
            .boxed(),
    )
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

/// Every rule the validator applies to a string, plus ours: no `${` (substitution) and not
/// `$include`.
fn string_ok(
    s: &str,
    min: u64,
    max: Option<u64>,
    re: Option<&fancy_regex::Regex>,
    uri: bool,
) -> bool {
    let len = s.chars().count() as u64;
    len >= min
        && max.is_none_or(|m| len <= m)
        && !s.contains("${")
        && s != "$include"
        && re.is_none_or(|re| re.is_match(s).unwrap_or(false))
        && (!uri || looks_like_uri(s))
}

/// Samples `strategy` deterministically and returns the share of values accepted by `ok`.
fn pass_rate<S: Strategy<Value = String>>(strategy: &S, ok: &dyn Fn(&str) -> bool) -> f64 {
    let mut runner = TestRunner::new_with_rng(
        RunnerConfig::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let n = 48;
    let mut pass = 0;
    for _ in 0..n {
        if let Ok(tree) = strategy.new_tree(&mut runner)
            && ok(&tree.current())
        {
            pass += 1;
        }
    }
    f64::from(pass) / f64::from(n)
}

// ---------------------------------------------------------------------------------------------
// The schema walker

/// `(node, depth, forced tag)`.
type MemoKey = (u32, usize, Option<&'static str>);

/// Builds (and memoises) one strategy per `(node, depth, forced tag)`.
pub struct Gen {
    memo: HashMap<MemoKey, Option<BoxedStrategy<Value>>>,
    in_progress: HashSet<MemoKey>,
    secret_ref: u32,
    /// Patterns (and key patterns) the generator could not satisfy.
    pub unsupported_patterns: BTreeMap<&'static str, &'static str>,
}

impl Default for Gen {
    fn default() -> Self {
        Gen {
            memo: HashMap::new(),
            in_progress: HashSet::new(),
            secret_ref: resolve(type_id("SecretRef")),
            unsupported_patterns: BTreeMap::new(),
        }
    }
}

/// A small arbitrary JSON value for `Any` nodes (no `$` anywhere, so no `$include`/`${`).
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-zA-Z0-9 _.-]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..=2).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,6}", inner, 0..=2)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn bound_i64(x: f64, up: bool) -> i64 {
    let max = 9_007_199_254_740_991i64;
    let v = if up { x.ceil() } else { x.floor() };
    if v > max as f64 {
        max
    } else if v < -(max as f64) {
        -max
    } else {
        v as i64
    }
}

fn integer_strategy(l: &Limits) -> Option<BoxedStrategy<Value>> {
    let safe = 9_007_199_254_740_991i64;
    let mut lo = -safe;
    let mut hi = safe;
    if let Some(m) = l.min {
        lo = lo.max(bound_i64(m, true));
    }
    if let Some(m) = l.exclusive_min {
        let b = bound_i64(m, true);
        lo = lo.max(if (b as f64) <= m { b + 1 } else { b });
    }
    if let Some(m) = l.max {
        hi = hi.min(bound_i64(m, false));
    }
    if let Some(m) = l.exclusive_max {
        let b = bound_i64(m, false);
        hi = hi.min(if (b as f64) >= m { b - 1 } else { b });
    }
    if lo > hi {
        return None;
    }
    let small_lo = lo.max(-100).min(hi);
    let small_hi = hi.min(100).max(lo);
    Some(
        prop_oneof![Just(lo), Just(hi), lo..=hi, small_lo..=small_hi,]
            .prop_map(Value::from)
            .boxed(),
    )
}

fn number_strategy(l: &Limits) -> Option<BoxedStrategy<Value>> {
    let lo = l.min.or(l.exclusive_min).unwrap_or(-1e9);
    let hi = l.max.or(l.exclusive_max).unwrap_or(1e9);
    if lo
        .partial_cmp(&hi)
        .is_none_or(|o| o == std::cmp::Ordering::Greater)
    {
        return None;
    }
    let (emin, emax, min, max) = (l.exclusive_min, l.exclusive_max, l.min, l.max);
    let ok = move |x: &f64| {
        x.is_finite()
            && min.is_none_or(|m| *x >= m)
            && max.is_none_or(|m| *x <= m)
            && emin.is_none_or(|m| *x > m)
            && emax.is_none_or(|m| *x < m)
    };
    let mid = lo + (hi - lo) / 2.0;
    let candidates = prop_oneof![
        Just(lo),
        Just(hi),
        Just(mid),
        Just(mid.round()),
        lo..=hi,
        (lo.ceil().max(-1e6) as i64..=hi.floor().min(1e6).max(lo.ceil().max(-1e6)) as i64)
            .prop_map(|i| i as f64),
    ];
    let fallback = mid;
    Some(
        candidates
            .prop_map(move |x| if ok(&x) { x } else { fallback })
            .prop_filter("number bounds", ok)
            .prop_map(Value::from)
            .boxed(),
    )
}

impl Gen {
    /// The strategy for a whole config: schema-valid, then cross-field fixed.
    pub fn config(&mut self) -> BoxedStrategy<Value> {
        let schema_url = prop::option::weighted(0.1, "https://example\\.com/[a-z]{1,8}\\.json");
        (
            self.node(ROOT, 0, None).expect("the root is generatable"),
            schema_url,
        )
            .prop_map(|(mut v, schema_url)| {
                // `$schema` is accepted at the root only, outside the spec's fields.
                if let (Some(url), Some(m)) = (schema_url, v.as_object_mut()) {
                    m.insert("$schema".into(), Value::from(url));
                }
                fix_cross_field(&mut v);
                v
            })
            .boxed()
    }

    /// A string strategy respecting length, pattern and format, or `None` if the generator
    /// cannot satisfy them reliably.
    pub fn string(
        &mut self,
        path: &'static str,
        min: u64,
        max: Option<u64>,
        pattern: Option<&'static str>,
        format: Option<&'static str>,
    ) -> Option<BoxedStrategy<String>> {
        if max.is_some_and(|m| m < min) {
            return None;
        }
        let uri = format == Some("uri");
        let re = match pattern {
            Some(p) => Some(matcher(p)?),
            None => None,
        };
        let cap = max.unwrap_or(u64::MAX).min(min + 12);
        let plain: BoxedStrategy<String> = prop_oneof![
            3 => proptest::string::string_regex(&format!("[a-zA-Z0-9 _./:-]{{{min},{cap}}}"))
                .expect("simple regex")
                .boxed(),
            1 => proptest::string::string_regex(&format!("\\PC{{{min},{cap}}}"))
                .expect("simple regex")
                .boxed(),
        ]
        .boxed();
        // Candidate generators, best first; the first that reliably satisfies every rule wins.
        let mut candidates: Vec<BoxedStrategy<String>> = Vec::new();
        if let Some(p) = pattern
            && let Some(g) = pattern_generator(p)
        {
            candidates.push(g);
        }
        match format {
            Some("uri") => {
                let all = prop_oneof![
                    "https://example\\.com/[a-z0-9/]{0,8}",
                    "http://127\\.0\\.0\\.1:[1-9][0-9]{0,3}/[a-z]{0,5}",
                    "wss?://[a-z]{1,8}\\.example\\.org",
                ];
                candidates.push(all.boxed());
                candidates.push("https?://[a-z]{1,8}\\.example\\.com/?".boxed());
            }
            Some("email") => candidates.push("[a-z]{1,8}@example\\.com".boxed()),
            Some("date-time") => candidates.push(Just("2026-01-02T03:04:05Z".to_string()).boxed()),
            _ => {}
        }
        candidates.push(plain);
        let ok = {
            let re = re.clone();
            move |s: &str| string_ok(s, min, max, re.as_ref(), uri)
        };
        let Some(base) = candidates.into_iter().find(|c| pass_rate(c, &ok) >= 0.5) else {
            self.unsupported_patterns
                .insert(path, pattern.or(format).unwrap_or("<length>"));
            return None;
        };
        Some(
            base.prop_filter("string constraints", move |s| ok(s))
                .boxed(),
        )
    }

    /// The strategy for node `id` at nesting `depth`; `tag` names a field that must be present
    /// (the discriminator of a tagged union variant).
    pub fn node(
        &mut self,
        id: u32,
        depth: usize,
        tag: Option<&'static str>,
    ) -> Option<BoxedStrategy<Value>> {
        let id = resolve(id);
        let key = (id, depth.min(HARD_DEPTH + 1), tag);
        if let Some(s) = self.memo.get(&key) {
            return s.clone();
        }
        if depth > HARD_DEPTH || !self.in_progress.insert(key) {
            return None;
        }
        let s = self.build(id, depth, tag);
        self.in_progress.remove(&key);
        self.memo.insert(key, s.clone());
        s
    }

    fn build(
        &mut self,
        id: u32,
        depth: usize,
        tag: Option<&'static str>,
    ) -> Option<BoxedStrategy<Value>> {
        if id == self.secret_ref {
            return None;
        }
        let n = node(id);
        let l = n.limits;
        match n.kind {
            NodeKind::Any => Some(any_json()),
            NodeKind::Null => Some(Just(Value::Null).boxed()),
            NodeKind::Boolean => Some(any::<bool>().prop_map(Value::Bool).boxed()),
            NodeKind::Integer => integer_strategy(l),
            NodeKind::Number => number_strategy(l),
            NodeKind::String => Some(
                self.string(
                    n.path,
                    l.min_length.unwrap_or(0),
                    l.max_length,
                    l.pattern,
                    l.format,
                )?
                .prop_map(Value::String)
                .boxed(),
            ),
            NodeKind::Enum(vals) => {
                let vals: Vec<Value> = vals.iter().map(Lit::to_json).collect();
                if vals.is_empty() {
                    return None;
                }
                Some(proptest::sample::select(vals).boxed())
            }
            NodeKind::Ref(t) => self.node(t, depth, tag),
            NodeKind::Union {
                variants,
                discriminator,
            } => {
                let mut opts = Vec::new();
                for &v in variants {
                    if resolve(v) == self.secret_ref {
                        continue;
                    }
                    if let Some(s) = self.node(v, depth, discriminator) {
                        opts.push(s);
                    }
                }
                if opts.is_empty() {
                    None
                } else {
                    Some(proptest::strategy::Union::new(opts).boxed())
                }
            }
            NodeKind::List(item) => {
                let min = l.min_items.unwrap_or(0) as usize;
                let want = if depth >= MAX_DEPTH { min } else { min.max(2) };
                let max = l.max_items.map_or(want, |m| (m as usize).min(want));
                if max < min {
                    return None;
                }
                let Some(item) = self.node(item, depth + 1, None) else {
                    return (min == 0).then(|| Just(Value::Array(Vec::new())).boxed());
                };
                let unique = l.unique_items;
                Some(
                    prop::collection::vec(item, min..=max)
                        .prop_map(move |mut items| {
                            if unique {
                                let mut seen = Vec::new();
                                items.retain(|i| {
                                    let dup = seen.contains(i);
                                    if !dup {
                                        seen.push(i.clone());
                                    }
                                    !dup
                                });
                            }
                            items
                        })
                        .prop_filter("list too short after dedupe", move |v| v.len() >= min)
                        .prop_map(Value::Array)
                        .boxed(),
                )
            }
            NodeKind::Map(value) => {
                let min = l.min_properties.unwrap_or(0) as usize;
                let want = if depth >= MAX_DEPTH { min } else { min.max(2) };
                let max = l.max_properties.map_or(want, |m| (m as usize).min(want));
                if max < min {
                    return None;
                }
                let empty = || (min == 0).then(|| Just(Value::Object(Map::new())).boxed());
                let Some(keys) = self.key_strategy(n.path, l) else {
                    return empty();
                };
                let Some(value) = self.node(value, depth + 1, None) else {
                    return empty();
                };
                Some(
                    prop::collection::vec((keys, value), min..=max)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
                        .prop_filter("map too small after key collisions", move |v| {
                            v.as_object().is_some_and(|m| m.len() >= min)
                        })
                        .boxed(),
                )
            }
            NodeKind::Object {
                fields,
                extra,
                open,
            } => {
                let p = match depth {
                    d if d >= MAX_DEPTH => 0.0,
                    0 => 0.3,
                    1 => 0.3,
                    _ => 0.25,
                };
                let mut parts: Vec<BoxedStrategy<Vec<(String, Value)>>> = Vec::new();
                for f in fields {
                    let required = f.required || tag == Some(f.name);
                    if !required && p == 0.0 {
                        continue;
                    }
                    let s = self.node(f.node, depth + 1, None);
                    let name = f.name.to_string();
                    match (s, required) {
                        (Some(s), true) => {
                            parts.push(s.prop_map(move |v| vec![(name.clone(), v)]).boxed())
                        }
                        (None, true) => return None,
                        (Some(s), false) => parts.push(
                            prop::option::weighted(p, s)
                                .prop_map(move |v| {
                                    v.map(|v| vec![(name.clone(), v)]).unwrap_or_default()
                                })
                                .boxed(),
                        ),
                        (None, false) => {}
                    }
                }
                let declared: HashSet<&'static str> = fields.iter().map(|f| f.name).collect();
                if let Some(e) = extra
                    && p > 0.0
                    && let Some(keys) = self.key_strategy(n.path, l)
                    && let Some(val) = self.node(e, depth + 1, None)
                {
                    let declared = declared.clone();
                    parts.push(
                        prop::option::weighted(p, (keys, val))
                            .prop_map(move |kv| {
                                kv.filter(|(k, _)| !declared.contains(k.as_str()))
                                    .into_iter()
                                    .collect()
                            })
                            .boxed(),
                    );
                } else if extra.is_none() && open && p > 0.0 {
                    let declared = declared.clone();
                    parts.push(
                        prop::option::weighted(p / 2.0, ("x[A-Z][a-zA-Z]{0,6}", any_json()))
                            .prop_map(move |kv| {
                                kv.filter(|(k, _)| !declared.contains(k.as_str()))
                                    .into_iter()
                                    .collect()
                            })
                            .boxed(),
                    );
                }
                let (min_p, max_p) = (l.min_properties, l.max_properties);
                Some(
                    parts
                        .prop_map(|parts| {
                            Value::Object(parts.into_iter().flatten().collect::<Map<_, _>>())
                        })
                        .prop_filter("object property count", move |v| {
                            let n = v.as_object().map_or(0, Map::len) as u64;
                            min_p.is_none_or(|m| n >= m) && max_p.is_none_or(|m| n <= m)
                        })
                        .boxed(),
                )
            }
        }
    }

    fn key_strategy(&mut self, path: &'static str, l: &Limits) -> Option<BoxedStrategy<String>> {
        self.string(
            path,
            l.key_min_length.unwrap_or(0),
            l.key_max_length,
            l.key_pattern,
            None,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Cross-field fix-ups

fn obj<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    let map = v.as_object_mut().expect("object");
    let entry = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut().expect("object")
}

fn str_of<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

/// Makes a schema-valid config also satisfy the cross-field rules of `validate::cross_field`.
pub fn fix_cross_field(root: &mut Value) {
    let Some(map) = root.as_object_mut() else {
        return;
    };
    if let Some(gw) = map.get_mut("gateway").and_then(Value::as_object_mut) {
        let bind = str_of(gw, "bind").map(str::to_string);
        if bind.as_deref() == Some("custom") {
            gw.insert("customBindHost".into(), Value::from("127.0.0.1"));
        }
        let non_loopback = matches!(bind.as_deref(), Some("lan" | "tailnet"));
        let funnel = gw
            .get("tailscale")
            .and_then(|t| t.get("mode"))
            .and_then(Value::as_str)
            == Some("funnel");
        if funnel && let Some(t) = gw.get_mut("tailscale").and_then(Value::as_object_mut) {
            t.insert("mode".into(), Value::from("serve"));
        }
        let has_auth = gw.contains_key("auth");
        if non_loopback || has_auth {
            let mut holder = Value::Object(std::mem::take(gw));
            let auth = obj(&mut holder, "auth");
            let mode = str_of(auth, "mode").map(str::to_string);
            let token = auth.get("token").is_some_and(|v| !v.is_null());
            let password = auth.get("password").is_some_and(|v| !v.is_null());
            if non_loopback {
                if mode.as_deref() == Some("none") {
                    auth.insert("mode".into(), Value::from("token"));
                }
                if !token && !password && mode.as_deref() != Some("trusted-proxy") {
                    auth.insert("token".into(), Value::from("generated-gateway-token"));
                }
            }
            let token = auth.get("token").is_some_and(|v| !v.is_null());
            if token && password && !auth.contains_key("mode") {
                auth.insert("mode".into(), Value::from("token"));
            }
            let trusted = str_of(auth, "mode") == Some("trusted-proxy");
            *gw = match holder {
                Value::Object(m) => m,
                _ => unreachable!(),
            };
            if trusted {
                let empty = gw
                    .get("trustedProxies")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty);
                if empty {
                    gw.insert(
                        "trustedProxies".into(),
                        Value::Array(vec![Value::from("127.0.0.1")]),
                    );
                }
            }
        }
    }
    let gateway_token = map
        .get("gateway")
        .and_then(|g| g.get("auth"))
        .and_then(|a| a.get("token"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(hooks) = map.get_mut("hooks").and_then(Value::as_object_mut) {
        let enabled = hooks.get("enabled").and_then(Value::as_bool) == Some(true);
        let token = hooks
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_string);
        let clash = token.is_some() && token == gateway_token;
        if (enabled && hooks.get("token").is_none_or(Value::is_null)) || clash {
            hooks.insert(
                "token".into(),
                Value::from("generated-hooks-token-distinct"),
            );
        }
        if str_of(hooks, "path").is_some_and(|p| p.trim_end_matches('/').is_empty()) {
            hooks.insert("path".into(), Value::from("/hooks"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON5 rendering

/// A tiny deterministic PRNG for rendering choices (the value itself comes from proptest).
pub struct Style(u64);

impl Style {
    pub fn new(seed: u64) -> Style {
        Style(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.next().is_multiple_of(one_in)
    }
}

fn is_ident(k: &str) -> bool {
    let mut c = k.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

fn quote(s: &str, q: char, st: &mut Style, out: &mut String) {
    out.push(q);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            // JSON5 strings may hold the two JS line terminators raw.
            '\u{2028}' | '\u{2029}' if st.chance(2) => {
                out.push_str(&format!("\\u{:04x}", ch as u32));
            }
            // A line continuation (backslash + line break) adds nothing to the value.
            c if st.chance(60) => {
                out.push_str("\\\n");
                out.push(c);
            }
            c if c.is_ascii_alphabetic() && st.chance(40) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(q);
}

fn number(n: &serde_json::Number, st: &mut Style, out: &mut String) {
    if let Some(i) = n.as_i64() {
        match st.next() % 8 {
            0 if i >= 0 => out.push_str(&format!("0x{i:x}")),
            1 if i >= 0 => out.push_str(&format!("+{i}")),
            2 => out.push_str(&format!("{i}.0")),
            3 => out.push_str(&format!("{i}e0")),
            _ => out.push_str(&i.to_string()),
        }
    } else {
        let s = n.to_string();
        match st.next() % 4 {
            0 if !s.starts_with('-') => {
                out.push('+');
                out.push_str(&s);
            }
            1 if s.starts_with("0.") => out.push_str(&s[1..]),
            _ => out.push_str(&s),
        }
    }
}

fn render_value(v: &Value, indent: usize, pretty: bool, st: &mut Style, out: &mut String) {
    let nl = |out: &mut String, level: usize| {
        if pretty {
            out.push('\n');
            for _ in 0..level {
                out.push_str("  ");
            }
        }
    };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => number(n, st, out),
        Value::String(s) => {
            let q = if st.chance(3) { '\'' } else { '"' };
            quote(s, q, st, out);
        }
        Value::Array(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                nl(out, indent + 1);
                render_value(it, indent + 1, pretty, st, out);
                if i + 1 < items.len() || st.chance(2) {
                    out.push(',');
                }
            }
            if !items.is_empty() {
                nl(out, indent);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            let len = m.len();
            for (i, (k, val)) in m.iter().enumerate() {
                nl(out, indent + 1);
                if pretty && st.chance(6) {
                    out.push_str("// a comment: { } [ ] \" ' ${NOT} */");
                    nl(out, indent + 1);
                }
                if st.chance(12) {
                    out.push_str("/* block */ ");
                }
                if is_ident(k) && !st.chance(3) {
                    out.push_str(k);
                } else {
                    let q = if st.chance(4) { '\'' } else { '"' };
                    quote(k, q, st, out);
                }
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                render_value(val, indent + 1, pretty, st, out);
                if i + 1 < len || st.chance(2) {
                    out.push(',');
                }
            }
            if len > 0 {
                nl(out, indent);
            }
            out.push('}');
        }
    }
}

/// Renders `v` as JSON or JSON5 text; `seed` picks the style (compact JSON, pretty JSON, or JSON5
/// with comments, unquoted keys, single quotes, trailing commas, hex/signed numbers, CRLF).
pub fn render(v: &Value, seed: u64) -> String {
    let mut st = Style::new(seed);
    match st.next() % 4 {
        0 => serde_json::to_string(v).expect("serialise"),
        1 => serde_json::to_string_pretty(v).expect("serialise"),
        _ => {
            let mut out = String::new();
            if st.chance(3) {
                out.push_str("// generated config\n");
            }
            render_value(v, 0, true, &mut st, &mut out);
            out.push('\n');
            if st.chance(3) {
                out = out.replace('\n', "\r\n");
            }
            out
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Diagnostics checks

/// Checks that every span of every issue lies inside its source, on char boundaries, and that
/// the miette view of the issue can read its snippet.
pub fn assert_spans_ok(checked: &Checked) -> Result<(), String> {
    for issue in checked.errors.iter().chain(&checked.warnings) {
        span_ok(checked, issue)?;
    }
    Ok(())
}

fn span_ok(checked: &Checked, issue: &Issue) -> Result<(), String> {
    let Some(span) = issue.span else {
        return Ok(());
    };
    let Some(file) = checked.sources.get(span.src) else {
        return Err(format!("span source {} missing for {issue:?}", span.src));
    };
    let text = &file.text;
    if !(span.start <= span.end && span.end <= text.len()) {
        return Err(format!(
            "span {}..{} out of range (len {}) for {issue:?}",
            span.start,
            span.end,
            text.len()
        ));
    }
    if !text.is_char_boundary(span.start) || !text.is_char_boundary(span.end) {
        return Err(format!(
            "span {}..{} not on char boundaries for {issue:?}",
            span.start, span.end
        ));
    }
    let _ = runtime::config::diagnostics::locate(&checked.sources, issue);
    let report = IssueReport::new(&checked.sources, issue);
    use miette::Diagnostic;
    if let (Some(src), Some(labels)) = (report.source_code(), report.labels()) {
        for label in labels {
            src.read_span(label.inner(), 1, 1)
                .map_err(|e| format!("miette cannot read the snippet of {issue:?}: {e}"))?;
        }
    }
    Ok(())
}
