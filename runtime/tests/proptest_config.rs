//! Property tests of the config pipeline against the generated schema table.
//!
//! * Random configs generated from the spec (see `common::Gen`) load, validate without errors and
//!   decode into the typed `Config`, whatever JSON5 style they are written in.
//! * Random mutations of valid configs (the `valid/` fixtures and generated ones) never panic, and
//!   every diagnostic points inside the text it names, on char boundaries.
//!
//! The exclusions the generator has to make are listed at the top of `common/mod.rs`.

mod common;

use std::path::{Path, PathBuf};

use common::{
    Gen, assert_spans_ok, fixture_env, fixtures_dir, render, runner_config, valid_fixtures,
};
use openclaw_runtime as runtime;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use runtime::config::check_text;
use serde_json::Value;

fn config() -> BoxedStrategy<Value> {
    Gen::default().config()
}

/// Numbers compared by value (`5` and `5.0` are the same JSON5 number).
fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

fn virtual_path() -> PathBuf {
    // Includes (from mutations) resolve against the valid fixtures folder.
    fixtures_dir().join("valid").join("generated.json5")
}

#[test]
fn generator_reports_its_exclusions() {
    let mut g = Gen::default();
    let _ = g.config();
    // Print what the generator had to leave out, so the report can name it.
    for (path, pattern) in &g.unsupported_patterns {
        println!("generator skips {path}: {pattern}");
    }
    // If this grows, the generator lost coverage: look at the printed list.
    assert!(
        g.unsupported_patterns.len() <= 8,
        "too many unsupported patterns: {:#?}",
        g.unsupported_patterns
    );
}

proptest! {
    #![proptest_config(runner_config(96))]

    /// (1a) Configs generated from the spec validate clean and decode into `Config`, and the
    /// loaded tree is the generated value whatever JSON5 style it was written in.
    #[test]
    fn generated_configs_validate_clean(value in config(), seed in any::<u64>()) {
        let text = render(&value, seed);
        let checked = check_text(&virtual_path(), text.clone(), &fixture_env());
        prop_assert!(
            checked.errors.is_empty(),
            "errors: {:#?}\n--- text:\n{}",
            checked.errors,
            text
        );
        prop_assert!(checked.config.is_some(), "no typed config\n--- text:\n{}", text);
        let root = checked.root.as_ref().map(|r| normalize(&r.to_json()));
        prop_assert_eq!(root, Some(normalize(&value)), "round trip\n--- text:\n{}", text);
        // Only the generator's own legacy keys may warn.
        for w in &checked.warnings {
            prop_assert_eq!(w.code, "openclaw::config::deprecated", "{:?}", w);
        }
        prop_assert!(assert_spans_ok(&checked).is_ok());
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations

#[derive(Debug, Clone)]
enum Mutation {
    /// Delete up to `len` bytes at `at` (snapped to char boundaries).
    Delete(Index, usize),
    Insert(Index, String),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Replace the n-th number literal.
    Number(Index, &'static str),
    /// Replace the value after the n-th `:`.
    Value(Index, &'static str),
    /// Add an `$include` member after the n-th `{`.
    Include(Index, &'static str),
}

const INSERTS: &[&str] = &[
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "$",
    "${",
    "}",
    "${OCRS_TEST_HOME}",
    "${UNSET_VAR}",
    "$${X}",
    "${lower}",
    "\u{2028}",
    "\u{2029}",
    "\u{feff}",
    "\r",
    "\r\n",
    "\n",
    "\\",
    "\\u",
    "\\x4",
    "\\u{41}",
    "/*",
    "*/",
    "//",
    "\0",
    "\u{1F600}",
    "é",
    "0x",
    "Infinity",
    "-Infinity",
    "NaN",
    "1e999",
    "-",
    ".",
    "+",
    "$include",
    "null",
    "true",
    "$schema",
    "__proto__",
    "constructor",
    "\t",
    "\u{85}",
    "\u{a0}",
];

const NUMBERS: &[&str] = &[
    "-1",
    "0",
    "1",
    "1e400",
    "-1e400",
    "9007199254740993",
    "9007199254740991",
    "0x1F",
    ".5",
    "5.",
    "+Infinity",
    "NaN",
    "1.5",
    "18789",
    "65536",
    "-0",
    "1e-400",
    "0xFFFFFFFFFFFFFFFFFFFF",
    "99999999999999999999999",
    "\"1\"",
];

const VALUES: &[&str] = &[
    "\"str\"",
    "true",
    "null",
    "[]",
    "{}",
    "[1, \"a\", null]",
    "{ \"a\": 1 }",
    "42",
    "-7.25",
    "\"${OCRS_TEST_PORT}\"",
    "\"${MISSING_VAR}\"",
    "\"$${ESCAPED}\"",
    "\"\"",
    "\"lan\"",
    "{ source: \"env\", provider: \"nope\", id: \"X\" }",
    "{ source: \"env\", provider: \"default\", id: \"OCRS_TEST_HOME\" }",
    "{ \"$include\": \"./includes/gateway.json5\" }",
    "'\u{2028}'",
    "Infinity",
    "0x10",
];

const INCLUDES: &[&str] = &[
    "./includes/gateway.json5",
    "./includes/agents-base.json5",
    "missing.json5",
    "./includes",
    "../invalid/includes/cycle-partner.json5",
    "../invalid/include-cycle.json5",
    "../invalid/includes/deep/level-01.json5",
    "../invalid/includes/broken-gateway.json5",
    "../invalid/includes/origins-list.json5",
    "",
];

fn insert_text() -> BoxedStrategy<String> {
    prop_oneof![
        select(INSERTS).prop_map(String::from),
        proptest::string::string_regex(r#"["'{}\[\],:$\\/*a-z0-9 é😀\n\r\x{2028}\x{feff}-]{1,6}"#)
            .expect("regex"),
    ]
    .boxed()
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        (any::<Index>(), 1usize..24).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<Index>(), insert_text()).prop_map(|(a, s)| Mutation::Insert(a, s)),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), select(NUMBERS)).prop_map(|(a, n)| Mutation::Number(a, n)),
        (any::<Index>(), select(VALUES)).prop_map(|(a, v)| Mutation::Value(a, v)),
        (any::<Index>(), select(INCLUDES)).prop_map(|(a, p)| Mutation::Include(a, p)),
    ]
    .boxed()
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Byte offsets of the starts of `needle` matches chosen by `pick`.
fn positions(s: &str, pick: impl Fn(&str, usize) -> bool) -> Vec<usize> {
    s.char_indices()
        .map(|(i, _)| i)
        .filter(|&i| pick(s, i))
        .collect()
}

fn apply(text: &mut String, m: &Mutation) {
    match m {
        Mutation::Delete(a, n) => {
            let start = floor_boundary(text, a.index(text.len() + 1));
            let end = floor_boundary(text, start + n);
            text.replace_range(start..end, "");
        }
        Mutation::Insert(a, s) => {
            let at = floor_boundary(text, a.index(text.len() + 1));
            text.insert_str(at, s);
        }
        Mutation::DuplicateLine(a) => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            if lines.is_empty() {
                return;
            }
            let i = a.index(lines.len());
            let mut out: Vec<&str> = lines.clone();
            out.insert(i, lines[i]);
            *text = out.concat();
        }
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
            if lines.is_empty() {
                return;
            }
            let (i, j) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(i, j);
            *text = lines.concat();
        }
        Mutation::Number(a, n) => {
            let starts = positions(text, |s, i| {
                let b = s.as_bytes();
                b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            });
            if starts.is_empty() {
                return;
            }
            let start = starts[a.index(starts.len())];
            let len = text[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                .unwrap_or(text.len() - start);
            text.replace_range(start..start + len, n);
        }
        Mutation::Value(a, v) => {
            let colons = positions(text, |s, i| s.as_bytes()[i] == b':');
            if colons.is_empty() {
                return;
            }
            let start = colons[a.index(colons.len())] + 1;
            let len = text[start..]
                .find([',', '\n', '}'])
                .unwrap_or(text.len() - start);
            text.replace_range(start..start + len, &format!(" {v}"));
        }
        Mutation::Include(a, p) => {
            let braces = positions(text, |s, i| s.as_bytes()[i] == b'{');
            if braces.is_empty() {
                return;
            }
            let at = braces[a.index(braces.len())] + 1;
            text.insert_str(at, &format!(" \"$include\": \"{p}\", "));
        }
    }
}

fn base_text() -> BoxedStrategy<(PathBuf, String)> {
    let fixtures = valid_fixtures();
    prop_oneof![
        2 => select(fixtures),
        1 => (config(), any::<u64>()).prop_map(|(v, seed)| (virtual_path(), render(&v, seed))),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(runner_config(256))]

    /// (1b) Mutated configs never panic the pipeline, and every issue's span lies inside the
    /// source it names, on char boundaries, and renders as a snippet.
    #[test]
    fn mutated_configs_report_spans_inside_the_file(
        (path, text) in base_text(),
        mutations in prop::collection::vec(mutation(), 1..=4),
    ) {
        let mut text = text;
        for m in &mutations {
            apply(&mut text, m);
        }
        let checked = check_text(Path::new(&path), text.clone(), &fixture_env());
        if let Err(e) = assert_spans_ok(&checked) {
            prop_assert!(false, "{}\n--- text:\n{}", e, text);
        }
        // A syntax error's `at line:column` names the position its span starts at.
        for e in checked.errors.iter().filter(|e| e.code == "openclaw::config::syntax") {
            let told = e.message.rsplit_once(" at ").map(|(_, lc)| lc.to_string());
            let at = runtime::config::diagnostics::locate(&checked.sources, e)
                .map(|l| format!("{}:{}", l.line, l.column));
            prop_assert_eq!(told, at, "{:?}\n--- text:\n{:?}", e, text);
        }
        // The main file is source 0 and holds exactly the checked text.
        let main = checked.sources.get(0).map(|f| f.text.as_str());
        prop_assert_eq!(main, Some(text.as_str()));
        // A typed config exists exactly when there are no errors.
        prop_assert_eq!(checked.config.is_some(), checked.errors.is_empty());
    }
}
