//! A malformed spec must stop the build with a diagnostic that points at the spec file and line.
//! Each case is a folder under `fixtures/spec/broken/` holding the spec files it needs (missing
//! files count as empty). The rendered diagnostic is snapshotted, and must name the file and line.

use std::path::{Path, PathBuf};

use openclaw_codegen as codegen;
use openclaw_codegen::SpecError;

fn broken_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/spec/broken")
}

fn report(e: &SpecError) -> String {
    let mut text = String::new();
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    handler
        .render_report(&mut text, e)
        .expect("the report renders");
    text
}

struct Case {
    /// Folder under `fixtures/spec/broken/`.
    name: &'static str,
    /// Every (file, 1-based line) the diagnostic must point at.
    at: &'static [(&'static str, usize)],
    /// Words the message must contain.
    says: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "unknown-type",
        at: &[("config.json5", 4)],
        says: &["unknown type `strng`", "did you mean `string`?"],
    },
    Case {
        name: "unknown-attribute",
        at: &[("config.json5", 4)],
        says: &["unknown attribute `defualt`", "did you mean `default`?"],
    },
    Case {
        name: "duplicate-key",
        at: &[("config.json5", 6)],
        says: &[
            "duplicate key `gateway.port`",
            "first declaration is at line 4",
        ],
    },
    Case {
        name: "default-wrong-type",
        at: &[("config.json5", 4)],
        says: &[
            "default of `gateway.port`",
            "expected integer, found string",
        ],
    },
    Case {
        name: "default-out-of-range",
        at: &[("config.json5", 4)],
        says: &["default of `gateway.port`", "70000 is out of range"],
    },
    Case {
        name: "dangling-type-ref",
        at: &[("config.json5", 4)],
        says: &[
            "refers to type `SecretImput`, which types.json5 does not declare",
            "did you mean `SecretInput`?",
        ],
    },
    Case {
        name: "orphan-path",
        at: &[("config.json5", 5)],
        says: &["`gateway.tls.enabled` has no parent: `gateway.tls` is not declared"],
    },
    Case {
        name: "list-without-item",
        at: &[("config.json5", 4)],
        says: &["list `gateway.allowedOrigins` has no item node `gateway.allowedOrigins[]`"],
    },
    Case {
        name: "union-one-variant",
        at: &[("config.json5", 4)],
        says: &["union `gateway.bind` needs at least two variants"],
    },
    Case {
        name: "bad-reload-class",
        at: &[("config.json5", 4)],
        says: &["bad reload class `hot:Restart_Gmail_Watcher`"],
    },
    Case {
        name: "top-level-without-reload",
        at: &[("config.json5", 4)],
        says: &["top-level key `logging` must declare `reload`"],
    },
    Case {
        name: "env-bound-twice",
        at: &[("config.json5", 6)],
        says: &["env var `OPENCLAW_GATEWAY_PORT` is bound to two keys"],
    },
    Case {
        name: "bad-pattern",
        at: &[("config.json5", 4)],
        says: &["pattern of `gateway.name` does not compile"],
    },
    Case {
        name: "enum-without-values",
        at: &[("config.json5", 4)],
        says: &["enum `logging.level` needs a non-empty `values` list"],
    },
    Case {
        name: "syntax-error",
        at: &[("types.json5", 4)],
        says: &["JSON5 syntax error"],
    },
    Case {
        name: "reload-in-types",
        at: &[("types.json5", 4)],
        says: &["`reload` belongs to config paths, not to `GatewayAuth.token`"],
    },
    Case {
        name: "undeclared-error-code",
        at: &[("methods.json5", 4)],
        says: &["method `status` lists error `NOT_FOUND`, which errors.json5 does not declare"],
    },
    Case {
        name: "problems-in-two-files",
        at: &[
            ("config.json5", 4),
            ("config.json5", 5),
            ("events.json5", 2),
        ],
        says: &[
            "unknown type `integr`",
            "\"lan\" is not one of the enum values",
            "unknown attribute `sent` on `tick`",
        ],
    },
];

fn load(case: &str) -> SpecError {
    match codegen::load::load_dir(&broken_dir().join(case)) {
        Err(e) => e,
        // A spec that loads may still fail to render; that must be a spec error too.
        Ok(spec) => match codegen::render(&spec) {
            Err(e) => e,
            Ok(_) => panic!("fixtures/spec/broken/{case} loads and renders without an error"),
        },
    }
}

#[test]
fn broken_specs_fail_with_pointed_diagnostics() {
    let mut failures = Vec::new();
    for case in CASES {
        let e = load(case.name);
        assert!(
            matches!(e, SpecError::Invalid { .. }),
            "{}: expected a spec diagnostic, got {e:?}",
            case.name
        );
        let text = report(&e);
        for (file, line) in case.at {
            // miette prints the location as `╭─[spec/config.json5:4:3]`.
            let loc = format!("[spec/{file}:{line}:");
            if !text.contains(&loc) {
                failures.push(format!("{}: no `{loc}` in\n{text}", case.name));
            }
        }
        for words in case.says {
            if !text.contains(words) {
                failures.push(format!("{}: no `{words}` in\n{text}", case.name));
            }
        }
        insta::assert_snapshot!(case.name, text);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One mistake gives one problem: a cascade of follow-up errors would bury the real one.
#[test]
fn each_single_mistake_is_reported_once() {
    for case in CASES.iter().filter(|c| c.at.len() == 1) {
        let SpecError::Invalid { files } = load(case.name) else {
            panic!("{}: not a spec diagnostic", case.name);
        };
        let problems: Vec<&str> = files
            .iter()
            .flat_map(|f| f.problems.iter().map(|p| p.message.as_str()))
            .collect();
        assert_eq!(
            problems.len(),
            1,
            "{}: expected one problem, got {problems:#?}",
            case.name
        );
    }
}

/// Every folder under `fixtures/spec/broken/` is a case above, and every case has a folder.
#[test]
fn every_broken_fixture_is_tested() {
    let mut on_disk: Vec<String> = std::fs::read_dir(broken_dir())
        .expect("fixtures/spec/broken exists")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.name.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

/// A spec folder that cannot be read is an I/O error naming the file, not a panic.
#[test]
fn unreadable_spec_file_is_an_io_error() {
    // A directory where config.json5 should be: reading it fails with something other than
    // "not found".
    let dir = std::env::temp_dir().join(format!("openclaw-codegen-io-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config.json5")).expect("temp dir");
    let result = codegen::load::load_dir(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Err(SpecError::Io { path, .. }) => assert!(path.ends_with("config.json5"), "{path}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

fn load_texts(texts: [&str; 5]) -> Vec<String> {
    let sources: Vec<(String, String)> = codegen::load::SPEC_FILES
        .iter()
        .zip(texts)
        .map(|(name, text)| (format!("spec/{name}"), text.to_string()))
        .collect();
    match codegen::load::load_sources(&sources) {
        Ok(_) => Vec::new(),
        Err(SpecError::Invalid { files }) => files
            .iter()
            .flat_map(|f| f.problems.iter().map(|p| p.message.clone()))
            .collect(),
        Err(e) => vec![e.to_string()],
    }
}

// One mistake must be reported once, not followed by errors that are only its consequences.

#[test]

fn bug_bad_top_level_reload_cascades() {
    let problems = load_texts([
        r#"{ "hooks": { type: "object", reload: "hot:Reload_Hooks" } }"#,
        "",
        "",
        "",
        "",
    ]);
    assert_eq!(problems, ["bad reload class `hot:Reload_Hooks`"]);
}

#[test]

fn bug_bad_parent_type_cascades() {
    let problems = load_texts([
        r#"{
          "gateway": { type: "objcet", reload: "restart" },
          "gateway.port": { type: "integer" },
          "gateway.bind": { type: "string" },
        }"#,
        "",
        "",
        "",
        "",
    ]);
    assert_eq!(
        problems,
        ["unknown type `objcet`"],
        "the children of a node with a bad type should not be reported as orphans"
    );
}

#[test]

fn bug_syntax_error_cascades() {
    let problems = load_texts([
        r#"{ "gateway": { type: "object", reload: "restart" }, "gateway.auth": { type: "GatewayAuth" } }"#,
        r#"{ "GatewayAuth": { type: "object" } "GatewayAuth.mode": { type: "string" } }"#,
        "",
        "",
        "",
    ]);
    assert_eq!(problems, ["JSON5 syntax error: expected comma"]);
}

// Specs that must not load.

fn assert_rejected(config: &str) {
    let problems = load_texts([config, "", "", "", ""]);
    assert!(!problems.is_empty(), "accepted: {config}");
}

#[test]

fn gap_default_ignores_pattern() {
    assert_rejected(r#"{ "a": { type: "string", reload: "none", pattern: "^x$", default: "y" } }"#);
}

#[test]

fn gap_default_ignores_list_limits() {
    assert_rejected(
        r#"{ "a": { type: "list<string>", reload: "none", minItems: 1, default: [] } }"#,
    );
}

#[test]

fn gap_default_integer_beyond_safe_range() {
    assert_rejected(r#"{ "a": { type: "integer", reload: "none", default: 1e300 } }"#);
}

#[test]

fn gap_legacy_to_undeclared_path() {
    assert_rejected(
        r#"{ "a": { type: "string", reload: "none", legacy: { to: "nowhere.at.all" } } }"#,
    );
}

#[test]

fn gap_contradictory_bounds() {
    assert_rejected(r#"{ "a": { type: "integer", reload: "none", min: 10, max: 1 } }"#);
}

#[test]

fn gap_enum_duplicate_values() {
    assert_rejected(r#"{ "a": { type: "enum", reload: "none", values: ["x", "x"] } }"#);
}

#[test]

fn gap_precedence_without_override() {
    assert_rejected(r#"{ "a": { type: "string", reload: "none", precedence: "env>cli>file" } }"#);
}
