//! The config pipeline end to end: `$include`, `${VAR}` substitution, encodings, duplicate keys,
//! reload classes, the typed diff and precedence.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use openclaw_runtime as runtime;
use proptest::prelude::*;
use runtime::config::diff::{Change, Diff};
use runtime::config::load::MAX_INCLUDE_DEPTH;
use runtime::config::reload::{ReloadClass, reload_class};
use runtime::config::resolve::{CliValues, Origin, resolve_path};
use runtime::config::{Checked, Config, Issue, MapEnv, check_file, check_text};
use runtime::generated::config::RELOAD_RULES;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

/// A scratch directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ocrs-pipeline-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(std::fs::canonicalize(&dir).expect("canonical temp dir"))
    }

    /// Writes `rel` (creating folders) and returns its path.
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&p, text).expect("write file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn no_env() -> MapEnv {
    MapEnv::default()
}

fn check(path: &Path, env: &MapEnv) -> Checked {
    check_file(path, env)
}

fn root_json(c: &Checked) -> Value {
    c.root.as_ref().expect("the main file parsed").to_json()
}

fn assert_valid(c: &Checked) {
    assert!(c.read_error.is_none(), "read error: {:?}", c.read_error);
    assert!(c.errors.is_empty(), "unexpected errors: {:#?}", c.errors);
    assert!(c.config.is_some(), "no typed config");
}

/// The single error of `c` (asserting there is exactly one).
fn only_error(c: &Checked) -> &Issue {
    assert_eq!(c.errors.len(), 1, "expected one error, got {:#?}", c.errors);
    &c.errors[0]
}

/// The file and exact text an issue's span points at.
fn span_text(c: &Checked, issue: &Issue) -> (PathBuf, String) {
    let span = issue.span.expect("issue has a span");
    let file = c.sources.get(span.src).expect("span source exists");
    (
        file.path.clone(),
        file.text[span.start..span.end].to_string(),
    )
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// $include

#[test]
fn include_single_file_with_sibling_override() {
    let d = TempDir::new("include-single");
    let gw = d.write(
        "gw.json5",
        "{ mode: 'local', port: 18789, bind: 'loopback', controlUi: { allowedOrigins: ['http://127.0.0.1:1'] } }",
    );
    let main = d.write(
        "main.json5",
        "{\n  gateway: {\n    $include: './gw.json5',\n    port: 19002,\n    controlUi: { enabled: true },\n  },\n}\n",
    );
    let c = check(&main, &no_env());
    assert_valid(&c);
    let root = root_json(&c);
    assert_eq!(root["gateway"]["port"], json!(19002), "the sibling wins");
    assert_eq!(root["gateway"]["mode"], json!("local"));
    // Objects deep-merge: the included `allowedOrigins` survives next to the sibling `enabled`.
    assert_eq!(
        root["gateway"]["controlUi"],
        json!({ "allowedOrigins": ["http://127.0.0.1:1"], "enabled": true })
    );
    assert_eq!(c.included, vec![gw.clone()]);
    let config = c.config.as_ref().expect("typed");
    assert_eq!(config.gateway.port, Some(19002));
    // Values keep the span of the file they came from.
    let r = c.root.as_ref().expect("root");
    let mode = r.pointer(["gateway", "mode"]).expect("mode");
    assert_eq!(
        c.sources.get(mode.span.src).map(|f| f.path.clone()),
        Some(gw)
    );
    let port = r.pointer(["gateway", "port"]).expect("port");
    assert_eq!(
        c.sources.get(port.span.src).map(|f| f.path.clone()),
        Some(main)
    );
}

#[test]
fn include_array_deep_merges_in_order() {
    let d = TempDir::new("include-array");
    d.write(
        "a.json5",
        "{ defaults: { workspace: '/a', thinkingDefault: 'low', model: { primary: 'a/one' } }, entries: { main: { name: 'A' } } }",
    );
    d.write(
        "b.json5",
        "{ defaults: { model: { primary: 'b/two' } }, entries: { work: { name: 'B' } } }",
    );
    let main = d.write(
        "main.json5",
        "{ agents: { $include: ['./a.json5', './b.json5'], defaults: { thinkingDefault: 'medium' } } }",
    );
    let c = check(&main, &no_env());
    assert_valid(&c);
    let agents = &root_json(&c)["agents"];
    assert_eq!(
        agents["defaults"]["model"]["primary"],
        json!("b/two"),
        "later file wins"
    );
    assert_eq!(
        agents["defaults"]["workspace"],
        json!("/a"),
        "earlier keys survive"
    );
    assert_eq!(
        agents["defaults"]["thinkingDefault"],
        json!("medium"),
        "sibling wins over both"
    );
    assert_eq!(
        agents["entries"],
        json!({ "main": { "name": "A" }, "work": { "name": "B" } })
    );
    let names: Vec<String> = c.included.iter().map(|p| file_name(p)).collect();
    assert_eq!(names, ["a.json5", "b.json5"]);

    // Reversed order: the other file wins.
    let main2 = d.write(
        "main2.json5",
        "{ agents: { $include: ['./b.json5', './a.json5'] } }",
    );
    let c = check(&main2, &no_env());
    assert_valid(&c);
    assert_eq!(
        root_json(&c)["agents"]["defaults"]["model"]["primary"],
        json!("a/one")
    );
}

#[test]
fn include_nested_paths_resolve_against_the_including_file() {
    let d = TempDir::new("include-nested");
    // A decoy next to main.json5: a path resolved against the wrong folder would pick it.
    d.write(
        "auth/token.json5",
        "{ mode: 'token', token: 'decoy-token' }",
    );
    let token = d.write(
        "sub/auth/token.json5",
        "{ mode: 'token', token: 'right-token' }",
    );
    d.write(
        "sub/gw.json5",
        "{ mode: 'local', auth: { $include: './auth/token.json5' } }",
    );
    let main = d.write("main.json5", "{ gateway: { $include: 'sub/gw.json5' } }");
    let c = check(&main, &no_env());
    assert_valid(&c);
    assert_eq!(
        root_json(&c)["gateway"]["auth"]["token"],
        json!("right-token")
    );
    assert!(c.included.contains(&token), "{:?}", c.included);
}

#[test]
fn include_same_file_twice_is_not_a_cycle() {
    let d = TempDir::new("include-diamond");
    d.write("common.json5", "{ level: 'debug' }");
    d.write(
        "x.json5",
        "{ $include: './common.json5', consoleLevel: 'info' }",
    );
    d.write("y.json5", "{ $include: './common.json5' }");
    let main = d.write(
        "main.json5",
        "{ logging: { $include: ['./x.json5', './y.json5'] } }",
    );
    let c = check(&main, &no_env());
    assert_valid(&c);
    assert_eq!(
        root_json(&c)["logging"],
        json!({ "level": "debug", "consoleLevel": "info" })
    );
    let names: Vec<String> = c.included.iter().map(|p| file_name(p)).collect();
    assert_eq!(names, ["x.json5", "common.json5", "y.json5"]);
}

#[test]
fn include_cycle_is_reported_at_the_closing_include() {
    let d = TempDir::new("include-cycle");
    let a = d.write("a.json5", "{ agents: { $include: './b.json5' } }");
    let b = d.write("b.json5", "{\n  $include: './a.json5',\n}\n");
    let c = check(&a, &no_env());
    let e = only_error(&c);
    assert_eq!(e.code, "openclaw::config::include");
    assert_eq!(e.path, "$include");
    assert_eq!(e.message, "$include cycle: a.json5 → b.json5 → a.json5");
    assert_eq!(span_text(&c, e), (b, "'./a.json5'".to_string()));

    // A file including itself.
    let s = d.write("self.json5", "{ logging: { $include: './self.json5' } }");
    let c = check(&s, &no_env());
    let e = only_error(&c);
    assert_eq!(e.message, "$include cycle: self.json5 → self.json5");
    assert_eq!(span_text(&c, e), (s, "'./self.json5'".to_string()));
}

/// `main → l01 → … → lNN`, where the last level is a plain object.
fn chain(d: &TempDir, levels: usize) -> PathBuf {
    for i in 1..=levels {
        let text = if i == levels {
            "{ level: 'debug' }".to_string()
        } else {
            format!("{{ $include: './l{:02}.json5' }}", i + 1)
        };
        d.write(&format!("l{i:02}.json5"), &text);
    }
    d.write("main.json5", "{ logging: { $include: './l01.json5' } }")
}

#[test]
fn include_depth_limit() {
    // Exactly MAX_INCLUDE_DEPTH nested levels are fine.
    let d = TempDir::new("include-depth-ok");
    let main = chain(&d, MAX_INCLUDE_DEPTH);
    let c = check(&main, &no_env());
    assert_valid(&c);
    assert_eq!(root_json(&c)["logging"]["level"], json!("debug"));
    assert_eq!(c.included.len(), MAX_INCLUDE_DEPTH);

    // One more is an error, reported where the chain goes too deep.
    let d = TempDir::new("include-depth-bad");
    let main = chain(&d, MAX_INCLUDE_DEPTH + 1);
    let c = check(&main, &no_env());
    let e = only_error(&c);
    assert_eq!(e.code, "openclaw::config::include");
    assert_eq!(e.path, "$include");
    let mut names = vec!["main.json5".to_string()];
    names.extend((1..=MAX_INCLUDE_DEPTH).map(|i| format!("l{i:02}.json5")));
    assert_eq!(
        e.message,
        format!(
            "$include nested deeper than {MAX_INCLUDE_DEPTH} levels: {} → ./l{:02}.json5",
            names.join(" → "),
            MAX_INCLUDE_DEPTH + 1
        )
    );
    let (file, text) = span_text(&c, e);
    assert_eq!(file_name(&file), format!("l{MAX_INCLUDE_DEPTH:02}.json5"));
    assert_eq!(text, format!("'./l{:02}.json5'", MAX_INCLUDE_DEPTH + 1));
}

#[test]
fn include_missing_file() {
    let d = TempDir::new("include-missing");
    let main = d.write(
        "main.json5",
        "{\n  gateway: { mode: 'local' },\n  logging: {\n    \"$include\": \"./nope/missing.json5\",\n  },\n}\n",
    );
    let c = check(&main, &no_env());
    let e = only_error(&c);
    assert_eq!(e.code, "openclaw::config::include");
    assert_eq!(e.path, "$include");
    assert_eq!(
        e.message,
        format!(
            "$include {}: file not found (include chain: main.json5)",
            d.0.join("nope/missing.json5").display()
        )
    );
    assert_eq!(
        span_text(&c, e),
        (main.clone(), "\"./nope/missing.json5\"".to_string())
    );
    let at = runtime::config::diagnostics::locate(&c.sources, e).expect("location");
    assert_eq!((at.line, at.column), (4, 17));
    assert!(c.config.is_none());
}

#[test]
fn include_errors_point_into_the_right_file() {
    let d = TempDir::new("include-errors");
    // A syntax error inside an included file.
    let broken = d.write("broken.json5", "{\n  mode: 'local'\n  port: 1,\n}\n");
    let main = d.write("main.json5", "{ gateway: { $include: './broken.json5' } }");
    let c = check(&main, &no_env());
    let e = only_error(&c);
    assert_eq!(e.code, "openclaw::config::syntax");
    let span = e.span.expect("span");
    assert_eq!(
        c.sources.get(span.src).map(|f| f.path.clone()),
        Some(broken)
    );
    assert!(e.message.ends_with(" at 3:3"), "{}", e.message);

    // Included content that is not an object cannot merge with sibling keys.
    d.write("list.json5", "['http://127.0.0.1:1']");
    let main = d.write(
        "main2.json5",
        "{ gateway: { controlUi: { $include: './list.json5', enabled: true } } }",
    );
    let c = check(&main, &no_env());
    let e = only_error(&c);
    assert_eq!(
        e.message,
        "Invalid input: included content is array, but an object is needed because `$include` has sibling keys"
    );
    assert_eq!(span_text(&c, e), (main, "'./list.json5'".to_string()));

    // Without siblings the included value replaces the object.
    let main = d.write(
        "main3.json5",
        "{ gateway: { controlUi: { allowedOrigins: { $include: './list.json5' } } } }",
    );
    let c = check(&main, &no_env());
    assert_valid(&c);
    assert_eq!(
        root_json(&c)["gateway"]["controlUi"]["allowedOrigins"],
        json!(["http://127.0.0.1:1"])
    );

    // A schema error in an included file points into that file.
    let bad = d.write("bad-port.json5", "{ port: 'not a port' }");
    let main = d.write(
        "main4.json5",
        "{ gateway: { $include: './bad-port.json5' } }",
    );
    let c = check(&main, &no_env());
    let e = only_error(&c);
    assert_eq!(e.path, "gateway.port");
    assert_eq!(span_text(&c, e), (bad, "'not a port'".to_string()));

    // `$include` of the wrong type.
    let main = d.write("main5.json5", "{ logging: { $include: 5 } }");
    let c = check(&main, &no_env());
    let e = only_error(&c);
    assert_eq!(
        e.message,
        "Invalid input: $include must be a file path or a list of file paths"
    );
    assert_eq!(span_text(&c, e).1, "5");
}

#[test]
fn valid_fixture_with_includes() {
    let path = common::fixtures_dir().join("valid/with-includes.json5");
    let c = check(&path, &common::fixture_env());
    assert_valid(&c);
    let root = root_json(&c);
    assert_eq!(root["gateway"]["port"], json!(19002));
    assert_eq!(
        root["agents"]["defaults"]["model"]["primary"],
        json!("openai/gpt-5")
    );
    assert_eq!(
        root["agents"]["defaults"]["workspace"],
        json!("/home/user/.openclaw/workspace")
    );
    assert_eq!(
        root["agents"]["defaults"]["thinkingDefault"],
        json!("medium")
    );
    assert_eq!(c.included.len(), 4, "{:?}", c.included);
}

// ---------------------------------------------------------------------------------------------
// ${VAR} substitution

#[test]
fn env_substitution_and_escape() {
    let env = MapEnv::new([("OCRS_T_HOME", "/srv/home"), ("OCRS_T_PROFILE", "dev")]);
    let text = r#"{
  logging: {
    file: "${OCRS_T_HOME}/logs/${OCRS_T_PROFILE}.log",
  },
  agents: { defaults: { heartbeat: { prompt: "literal $${OCRS_T_HOME} and ${lower} and $5" } } },
}"#;
    let c = check_text(Path::new("/virtual/openclaw.json5"), text.into(), &env);
    assert_valid(&c);
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
    let root = root_json(&c);
    assert_eq!(root["logging"]["file"], json!("/srv/home/logs/dev.log"));
    assert_eq!(
        root["agents"]["defaults"]["heartbeat"]["prompt"],
        json!("literal ${OCRS_T_HOME} and ${lower} and $5")
    );
}

#[test]
fn env_missing_variable_is_a_warning_at_the_value() {
    let text = "{\n  logging: {\n    file: \"${OCRS_T_NOPE}/x.log\",\n  },\n}\n";
    let c = check_text(Path::new("/virtual/openclaw.json5"), text.into(), &no_env());
    assert_valid(&c);
    assert_eq!(c.warnings.len(), 1, "{:#?}", c.warnings);
    let w = &c.warnings[0];
    assert_eq!(w.code, "openclaw::config::missing_env_var");
    assert_eq!(w.path, "logging.file");
    assert_eq!(
        w.message,
        "Missing env var \"OCRS_T_NOPE\" - feature using this value will be unavailable"
    );
    assert_eq!(span_text(&c, w).1, "\"${OCRS_T_NOPE}/x.log\"");
    // The reference stays literal.
    assert_eq!(
        root_json(&c)["logging"]["file"],
        json!("${OCRS_T_NOPE}/x.log")
    );

    // An empty variable counts as missing.
    let env = MapEnv::new([("OCRS_T_NOPE", "")]);
    let c = check_text(Path::new("/virtual/openclaw.json5"), text.into(), &env);
    assert_eq!(c.warnings.len(), 1, "{:#?}", c.warnings);
}

#[test]
fn env_vars_from_the_config_feed_substitution() {
    let text = r#"{
  env: { vars: { OCRS_T_DIR: "/from/config" }, OCRS_T_INLINE: "inline" },
  logging: { file: "${OCRS_T_DIR}/${OCRS_T_INLINE}.log" },
}"#;
    // The process lacks both: the config's own values are used.
    let c = check_text(Path::new("/virtual/openclaw.json5"), text.into(), &no_env());
    assert_valid(&c);
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
    assert_eq!(
        root_json(&c)["logging"]["file"],
        json!("/from/config/inline.log")
    );

    // The process environment wins over the config's.
    let env = MapEnv::new([("OCRS_T_DIR", "/from/process")]);
    let c = check_text(Path::new("/virtual/openclaw.json5"), text.into(), &env);
    assert_valid(&c);
    assert_eq!(
        root_json(&c)["logging"]["file"],
        json!("/from/process/inline.log")
    );
}

#[test]
fn env_substitution_reaches_included_files() {
    let d = TempDir::new("include-env");
    let inc = d.write(
        "logging.json5",
        "{ file: '${OCRS_T_DIR}/${OCRS_T_MISSING}.log' }",
    );
    let main = d.write(
        "main.json5",
        "{ env: { vars: { OCRS_T_DIR: '/cfg' } }, logging: { $include: './logging.json5' } }",
    );
    let c = check(&main, &no_env());
    assert_valid(&c);
    assert_eq!(
        root_json(&c)["logging"]["file"],
        json!("/cfg/${OCRS_T_MISSING}.log")
    );
    assert_eq!(c.warnings.len(), 1, "{:#?}", c.warnings);
    let w = &c.warnings[0];
    assert_eq!(w.path, "logging.file");
    assert_eq!(span_text(&c, w).0, inc);
}

#[test]
fn env_substitution_fixture() {
    let path = common::fixtures_dir().join("valid/env-substitution.json5");
    let c = check(&path, &common::fixture_env());
    assert_valid(&c);
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
    let root = root_json(&c);
    assert_eq!(
        root["gateway"]["auth"]["token"],
        json!("test-gateway-token-0123456789abcdef")
    );
    assert_eq!(
        root["logging"]["file"],
        json!("/tmp/ocrs-test-home/logs/openclaw-fixtures.log")
    );
    // Without the variables: the same verdict, one warning per reference.
    let c = check(&path, &no_env());
    assert_valid(&c);
    let paths: BTreeSet<&str> = c.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "agents.defaults.workspace",
            "gateway.auth.token",
            "logging.file",
            "models.providers.openrouter.apiKey",
        ])
    );
    assert_eq!(c.warnings.len(), 5, "logging.file names two variables");
}

// ---------------------------------------------------------------------------------------------
// Encodings and duplicate keys

#[test]
fn bom_and_crlf() {
    let d = TempDir::new("bom-crlf");
    let ok = d.write(
        "ok.json5",
        "\u{feff}// comment\r\n{\r\n  gateway: {\r\n    port: 19001,\r\n  },\r\n}\r\n",
    );
    let c = check(&ok, &no_env());
    assert_valid(&c);
    assert_eq!(c.config.as_ref().map(|c| c.gateway.port), Some(Some(19001)));

    // Lines and columns count CRLF as one line break; the BOM is not a column.
    let bad = d.write(
        "bad.json5",
        "\u{feff}{\r\n  gateway: {\r\n    port: 70000,\r\n  },\r\n}\r\n",
    );
    let c = check(&bad, &no_env());
    let e = only_error(&c);
    assert_eq!(e.path, "gateway.port");
    assert_eq!(span_text(&c, e).1, "70000");
    let at = runtime::config::diagnostics::locate(&c.sources, e).expect("location");
    assert_eq!((at.line, at.column), (3, 11));

    // The fixture with real BOM + CRLF bytes.
    let c = check(
        &common::fixtures_dir().join("valid/crlf-bom.json5"),
        &common::fixture_env(),
    );
    assert_valid(&c);
}

#[test]
fn invalid_utf8_is_a_read_error() {
    let d = TempDir::new("not-utf8");
    let p = d.0.join("bad.json5");
    std::fs::write(&p, b"{\n  a: \"\xff\"\n}\n").expect("write");
    let c = check(&p, &no_env());
    assert_eq!(
        c.read_error,
        Some(runtime::config::ReadError::NotUtf8 {
            offset: 8,
            line: 2,
            column: 7
        })
    );
    assert!(!c.is_valid());
}

#[test]
fn duplicate_keys_last_wins_with_a_warning() {
    let text =
        "{\n  gateway: {\n    port: \"18789\",\n    mode: \"local\",\n    port: 19001,\n  },\n}\n";
    let c = check_text(Path::new("/virtual/openclaw.json5"), text.into(), &no_env());
    assert_valid(&c);
    assert_eq!(c.config.as_ref().map(|c| c.gateway.port), Some(Some(19001)));
    assert_eq!(c.warnings.len(), 1, "{:#?}", c.warnings);
    let w = &c.warnings[0];
    assert_eq!(w.code, "openclaw::config::duplicate_key");
    assert_eq!(w.path, "gateway.port");
    assert_eq!(w.message, "Duplicate key \"port\": the later value wins");
    // The warning points at the first (overridden) key.
    let span = w.span.expect("span");
    assert_eq!(&text[span.start..span.end], "port");
    assert_eq!(span.start, text.find("port").expect("port"));

    // Whole objects are replaced, not merged.
    let text = "{ logging: { level: 'debug', file: '/a' }, logging: { level: 'info' } }";
    let c = check_text(Path::new("/virtual/openclaw.json5"), text.into(), &no_env());
    assert_valid(&c);
    assert_eq!(root_json(&c)["logging"], json!({ "level": "info" }));
    assert_eq!(c.warnings.len(), 1);
    assert_eq!(c.warnings[0].path, "logging");

    // A bad earlier value is not validated; a bad later one is.
    let text = "{ gateway: { port: 19001, port: 'x' } }";
    let c = check_text(Path::new("/virtual/openclaw.json5"), text.into(), &no_env());
    let e = only_error(&c);
    assert_eq!(e.path, "gateway.port");
}

// ---------------------------------------------------------------------------------------------
// Reload classes

fn hot(actions: &[&'static str]) -> ReloadClass {
    ReloadClass::Hot(actions.to_vec())
}

#[test]
fn reload_classes() {
    let cases = [
        ("gateway.port", ReloadClass::Restart),
        ("gateway.reload.mode", ReloadClass::None),
        ("gateway.remote.url", ReloadClass::None),
        ("hooks.path", hot(&["reload-hooks"])),
        ("hooks.gmail.x", hot(&["restart-gmail-watcher"])),
        ("channels.telegram.botToken", hot(&["restart-channel"])),
        (
            "agents.defaults.heartbeat.every",
            hot(&["restart-heartbeat"]),
        ),
        ("logging.level", hot(&[])),
        ("discovery.mdns.mode", ReloadClass::Restart),
        ("unknownTop", ReloadClass::Restart),
    ];
    for (path, want) in cases {
        assert_eq!(reload_class(path), want, "{path}");
    }
    assert_eq!(reload_class("channels.telegram.botToken").as_str(), "hot");
    // A prefix matches whole segments only.
    assert_eq!(reload_class("hooksx"), ReloadClass::Restart);
    assert_eq!(reload_class("gateway.reloadx"), ReloadClass::Restart);
}

/// The most specific matching rule wins: more segments first, then more literal segments.
#[test]
fn reload_class_picks_the_most_specific_rule() {
    let matches = |prefix: &str, path: &str| {
        let p: Vec<&str> = path.split('.').collect();
        let r: Vec<&str> = prefix.split('.').collect();
        r.len() <= p.len() && r.iter().zip(&p).all(|(a, b)| *a == "*" || a == b)
    };
    let specificity = |prefix: &str| {
        let segs: Vec<&str> = prefix.split('.').collect();
        (segs.len(), segs.iter().filter(|s| **s != "*").count())
    };
    for rule in RELOAD_RULES {
        for path in [
            rule.prefix.to_string(),
            format!("{}.child.leaf", rule.prefix),
        ] {
            let best = RELOAD_RULES
                .iter()
                .filter(|r| matches(r.prefix, &path))
                .max_by_key(|r| specificity(r.prefix))
                .expect("the rule itself matches");
            let want = match best.class {
                "none" => ReloadClass::None,
                "hot" => ReloadClass::Hot(best.actions.to_vec()),
                _ => ReloadClass::Restart,
            };
            assert_eq!(
                reload_class(&path),
                want,
                "{path} (best rule {:?})",
                best.prefix
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Typed diff

fn typed(text: &str) -> Config {
    let c = check_text(Path::new("/virtual/openclaw.json5"), text.into(), &no_env());
    assert_valid(&c);
    c.config.expect("typed config")
}

fn diff(a: &Config, b: &Config) -> Vec<Change> {
    let mut out = Vec::new();
    a.diff(b, "", &mut out);
    out
}

#[test]
fn typed_diff_reports_exactly_the_changed_leaves() {
    let a = typed(
        "{ gateway: { mode: 'local', port: 18789, bind: 'loopback' }, logging: { level: 'info', file: '/x' }, agents: { defaults: { workspace: '/w' } } }",
    );
    let b = typed(
        "{ gateway: { mode: 'local', port: 19001, bind: 'loopback' }, logging: { level: 'debug', file: '/x' }, agents: { defaults: { workspace: '/w' } } }",
    );
    let mut changes = diff(&a, &b);
    changes.sort_by(|x, y| x.path.cmp(&y.path));
    assert_eq!(
        changes,
        vec![
            Change {
                path: "gateway.port".into(),
                reload: ReloadClass::Restart
            },
            Change {
                path: "logging.level".into(),
                reload: hot(&[])
            },
        ]
    );
    assert!(diff(&a, &a).is_empty());
    assert!(diff(&b, &b).is_empty());

    // Added and removed keys are changes too, at the leaf that appeared (`heartbeat` is a plain
    // struct with defaults, so its absence equals an empty object).
    let c = typed(
        "{ gateway: { mode: 'local', port: 18789, bind: 'loopback' }, logging: { level: 'info', file: '/x' }, agents: { defaults: { workspace: '/w', heartbeat: { every: '1h' } } } }",
    );
    let paths: Vec<String> = diff(&a, &c).into_iter().map(|c| c.path).collect();
    assert_eq!(paths, ["agents.defaults.heartbeat.every"]);
    assert_eq!(
        diff(&c, &a),
        vec![Change {
            path: "agents.defaults.heartbeat.every".into(),
            reload: hot(&["restart-heartbeat"])
        }]
    );
}

fn paths(changes: &[Change]) -> BTreeSet<String> {
    changes.iter().map(|c| c.path.clone()).collect()
}

fn typed_of(v: &Value) -> Option<Config> {
    let c = check_text(
        Path::new("/virtual/openclaw.json5"),
        v.to_string(),
        &common::fixture_env(),
    );
    c.config
}

/// `b` is `a` with the top-level sections named by `take` copied from `other`.
fn splice(a: &Value, other: &Value, take: &[bool]) -> Value {
    let mut out = a.as_object().cloned().unwrap_or_default();
    let other = other.as_object().cloned().unwrap_or_default();
    let keys: BTreeSet<&String> = out.keys().chain(other.keys()).collect();
    let keys: Vec<String> = keys.into_iter().cloned().collect();
    for (i, k) in keys.iter().enumerate() {
        if take.get(i % take.len().max(1)).copied().unwrap_or(false) {
            match other.get(k) {
                Some(v) => out.insert(k.clone(), v.clone()),
                None => out.remove(k),
            };
        }
    }
    let mut v = Value::Object(out);
    common::fix_cross_field(&mut v);
    v
}

proptest! {
    #![proptest_config(common::runner_config(64))]

    /// diff(a, a) is empty; diff(a, b) and diff(b, a) name the same paths, each with its reload
    /// class; and the diff is empty exactly when the typed configs are equal.
    #[test]
    fn typed_diff_properties(
        a in common::Gen::default().config(),
        other in common::Gen::default().config(),
        take in prop::collection::vec(any::<bool>(), 1..6),
    ) {
        let b = splice(&a, &other, &take);
        let ta = typed_of(&a);
        let tb = typed_of(&b);
        prop_assert!(ta.is_some() && tb.is_some());
        let (ta, tb) = (ta.expect("typed a"), tb.expect("typed b"));
        prop_assert!(diff(&ta, &ta).is_empty());
        prop_assert!(diff(&tb, &tb).is_empty());
        let ab = diff(&ta, &tb);
        let ba = diff(&tb, &ta);
        prop_assert_eq!(paths(&ab), paths(&ba));
        prop_assert_eq!(ab.is_empty(), ta == tb);
        for c in ab.iter().chain(&ba) {
            prop_assert_eq!(&c.reload, &reload_class(&c.path), "{}", c.path);
        }
        // Every change lies in a top-level section that differs.
        let (ja, jb) = (a.as_object().cloned().unwrap_or_default(), b.as_object().cloned().unwrap_or_default());
        for c in &ab {
            let top = c.path.split('.').next().unwrap_or_default();
            prop_assert!(ja.get(top) != jb.get(top), "{} changed but {} is the same", c.path, top);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Precedence

fn cli(values: &[(&'static str, &str)]) -> CliValues {
    values
        .iter()
        .map(|(k, v)| (*k, (*v).to_string()))
        .collect::<HashMap<_, _>>()
}

#[test]
fn precedence_gateway_port_cli_env_file_default() {
    let path = Path::new("/virtual/openclaw.json5");
    let text = "{\n  gateway: {\n    port: 19002,\n  },\n}\n";
    let mut c = check_text(path, text.into(), &no_env());
    assert_valid(&c);
    let env = MapEnv::new([("OPENCLAW_GATEWAY_PORT", "19003")]);
    let flags = cli(&[("--port", "19004")]);

    // cli > env > file
    let r = resolve_path(
        "gateway.port",
        c.root.as_ref(),
        &mut c.sources,
        &flags,
        &env,
    )
    .expect("ok")
    .expect("set");
    assert_eq!((r.value, r.origin), (json!(19004), Origin::Cli("--port")));
    // env > file
    let r = resolve_path(
        "gateway.port",
        c.root.as_ref(),
        &mut c.sources,
        &cli(&[]),
        &env,
    )
    .expect("ok")
    .expect("set");
    assert_eq!(
        (r.value, r.origin),
        (json!(19003), Origin::Env("OPENCLAW_GATEWAY_PORT"))
    );
    // file > default, with the value's position
    let r = resolve_path(
        "gateway.port",
        c.root.as_ref(),
        &mut c.sources,
        &cli(&[]),
        &no_env(),
    )
    .expect("ok")
    .expect("set");
    assert_eq!(
        (r.value, r.origin),
        (
            json!(19002),
            Origin::File {
                path: path.to_path_buf(),
                line: 3,
                column: 11
            }
        )
    );
    // An empty env var is unset.
    let empty = MapEnv::new([("OPENCLAW_GATEWAY_PORT", "")]);
    let r = resolve_path(
        "gateway.port",
        c.root.as_ref(),
        &mut c.sources,
        &cli(&[]),
        &empty,
    )
    .expect("ok")
    .expect("set");
    assert!(matches!(r.origin, Origin::File { .. }), "{:?}", r.origin);

    // default when nothing sets it
    let mut c = check_text(path, "{}".into(), &no_env());
    let r = resolve_path(
        "gateway.port",
        c.root.as_ref(),
        &mut c.sources,
        &cli(&[]),
        &no_env(),
    )
    .expect("ok")
    .expect("set");
    assert_eq!((r.value, r.origin), (json!(18789), Origin::Default));
    // env still beats the default when the file is silent
    let r = resolve_path(
        "gateway.port",
        c.root.as_ref(),
        &mut c.sources,
        &cli(&[]),
        &env,
    )
    .expect("ok")
    .expect("set");
    assert_eq!(r.origin, Origin::Env("OPENCLAW_GATEWAY_PORT"));
}

#[test]
fn precedence_gateway_auth_token_cli_file_env() {
    let path = Path::new("/virtual/openclaw.json5");
    let mut c = check_text(
        path,
        "{ gateway: { auth: { token: 'from-file' } } }".into(),
        &no_env(),
    );
    assert_valid(&c);
    let env = MapEnv::new([("OPENCLAW_GATEWAY_TOKEN", "from-env")]);
    let flags = cli(&[("--token", "from-cli")]);

    let r = resolve_path(
        "gateway.auth.token",
        c.root.as_ref(),
        &mut c.sources,
        &flags,
        &env,
    )
    .expect("ok")
    .expect("set");
    assert_eq!(
        (r.value, r.origin),
        (json!("from-cli"), Origin::Cli("--token"))
    );
    // file beats env for credentials
    let r = resolve_path(
        "gateway.auth.token",
        c.root.as_ref(),
        &mut c.sources,
        &cli(&[]),
        &env,
    )
    .expect("ok")
    .expect("set");
    assert_eq!(r.value, json!("from-file"));
    assert_eq!(
        r.origin,
        Origin::File {
            path: path.to_path_buf(),
            line: 1,
            column: 29
        }
    );
    // env when the file has no token
    let mut c = check_text(path, "{ gateway: { mode: 'local' } }".into(), &no_env());
    let r = resolve_path(
        "gateway.auth.token",
        c.root.as_ref(),
        &mut c.sources,
        &cli(&[]),
        &env,
    )
    .expect("ok")
    .expect("set");
    assert_eq!(
        (r.value, r.origin),
        (json!("from-env"), Origin::Env("OPENCLAW_GATEWAY_TOKEN"))
    );
    // unset everywhere, and no default
    let r = resolve_path(
        "gateway.auth.token",
        c.root.as_ref(),
        &mut c.sources,
        &cli(&[]),
        &no_env(),
    )
    .expect("ok");
    assert_eq!(r, None);
}

#[test]
fn precedence_rejects_malformed_overrides_with_a_span_into_the_value() {
    let mut c = check_text(Path::new("/virtual/openclaw.json5"), "{}".into(), &no_env());
    let env = MapEnv::new([("OPENCLAW_GATEWAY_PORT", "70000")]);
    let e = resolve_path(
        "gateway.port",
        c.root.as_ref(),
        &mut c.sources,
        &cli(&[]),
        &env,
    )
    .expect_err("out of range");
    assert_eq!(e.path, "gateway.port");
    assert!(
        e.message.ends_with("(from $OPENCLAW_GATEWAY_PORT)"),
        "{}",
        e.message
    );
    let span = e.span.expect("span");
    let src = c.sources.get(span.src).expect("source");
    assert_eq!(src.path, PathBuf::from("$OPENCLAW_GATEWAY_PORT"));
    assert_eq!(&src.text[span.start..span.end], "70000");

    let e = resolve_path(
        "gateway.port",
        c.root.as_ref(),
        &mut c.sources,
        &cli(&[("--port", "abc")]),
        &no_env(),
    )
    .expect_err("not a number");
    assert!(e.message.ends_with("(from --port)"), "{}", e.message);
}

#[test]
fn precedence_file_value_from_an_include_names_the_included_file() {
    let d = TempDir::new("precedence-include");
    let inc = d.write("gw.json5", "{\n  port: 19005,\n}\n");
    let main = d.write("main.json5", "{ gateway: { $include: './gw.json5' } }");
    let mut c = check(&main, &no_env());
    assert_valid(&c);
    let r = resolve_path(
        "gateway.port",
        c.root.as_ref(),
        &mut c.sources,
        &cli(&[]),
        &no_env(),
    )
    .expect("ok")
    .expect("set");
    assert_eq!(
        r.origin,
        Origin::File {
            path: inc,
            line: 2,
            column: 9
        }
    );
}

// ---------------------------------------------------------------------------------------------
// JavaScript pattern semantics

/// Spec patterns are JavaScript regular expressions (spec/README.md), where `\d` is `[0-9]` and
/// `\s` includes U+FEFF; codegen spells those classes out so the Unicode-aware Rust engine keeps
/// the JS meaning.
#[test]
fn js_pattern_classes_keep_their_js_meaning() {
    // `channels.discord.activities.applicationId` has pattern ^\d+$; these are Arabic-Indic digits.
    let text = "{ channels: { discord: { activities: { applicationId: \"\u{663}\u{664}\" } } } }";
    let c = check_text(Path::new("/virtual/openclaw.json5"), text.into(), &no_env());
    assert_eq!(c.errors.len(), 1, "non-ASCII digits must fail ^\\d+$");
    // `channels.feishu.stickerSets` keys must not start with whitespace: (?!\s)…
    let text = "{ channels: { feishu: { stickerSets: { \"\u{feff}stickers\": {} } } } }";
    let c = check_text(Path::new("/virtual/openclaw.json5"), text.into(), &no_env());
    assert_eq!(
        c.errors.len(),
        1,
        "a key starting with U+FEFF must fail (?!\\s)"
    );
}
