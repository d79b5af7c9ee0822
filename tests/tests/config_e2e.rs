//! End-to-end: the CLI (as a library) and the runtime's loader agree on every config fixture, and a
//! valid fixture always decodes into the typed config the gateway will run on.

use std::path::{Path, PathBuf};

use clap::Parser;
use runtime::config::MapEnv;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/config")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json5"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn env() -> MapEnv {
    MapEnv::new([
        ("HOME", "/nonexistent-home"),
        ("OCRS_TEST_GATEWAY_TOKEN", "test-gateway-token"),
        ("OCRS_TEST_OPENROUTER_KEY", "test-openrouter-key"),
        ("OCRS_TEST_HOME", "/tmp"),
        ("OCRS_TEST_PROFILE", "work"),
        ("OCRS_TEST_PORT", "19001"),
    ])
}

/// Runs `openclaw --no-color config validate --json FILE` through the library entry point.
fn validate_json(file: &Path) -> (u8, serde_json::Value) {
    let cli = openclaw_cli::Cli::parse_from([
        "openclaw",
        "--no-color",
        "config",
        "validate",
        "--json",
        &file.to_string_lossy(),
    ]);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = openclaw_cli::run(cli, &mut out, &mut err, &env());
    let text = String::from_utf8(out).expect("utf-8 output");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {text}", file.display()));
    let code = if code == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    };
    (code, json)
}

#[test]
fn valid_fixtures_validate_and_decode() {
    for file in fixtures("valid") {
        let (code, json) = validate_json(&file);
        assert_eq!(code, 0, "{}: {json:#}", file.display());
        assert_eq!(json["valid"], true, "{}", file.display());
        let checked = runtime::config::check_file(&file, &env());
        assert!(
            checked.errors.is_empty(),
            "{}: {:?}",
            file.display(),
            checked.errors
        );
        assert!(
            checked.config.is_some(),
            "{}: typed decode failed",
            file.display()
        );
    }
}

#[test]
fn invalid_fixtures_fail_with_located_issues() {
    for file in fixtures("invalid") {
        let (code, json) = validate_json(&file);
        assert_eq!(code, 1, "{} should be invalid", file.display());
        assert_eq!(json["valid"], false);
        let issues = json["issues"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no issues: {json:#}", file.display()));
        assert!(!issues.is_empty(), "{}", file.display());
        for issue in issues {
            assert!(
                issue["line"].as_u64().is_some_and(|l| l >= 1),
                "{}: {issue}",
                file.display()
            );
            assert!(
                issue["column"].as_u64().is_some_and(|c| c >= 1),
                "{}: {issue}",
                file.display()
            );
            assert!(
                issue["span"]["offset"].is_u64(),
                "{}: {issue}",
                file.display()
            );
        }
        // The library agrees with the command.
        let checked = runtime::config::check_file(&file, &env());
        assert_eq!(checked.errors.len(), issues.len(), "{}", file.display());
        assert!(checked.config.is_none());
    }
}

#[test]
fn typed_config_carries_the_values() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/config/valid/dev-local.json5");
    let checked = runtime::config::check_file(&file, &env());
    let config = checked.config.expect("dev-local decodes");
    let text = std::fs::read_to_string(&file).expect("fixture");
    let value: serde_json::Value = json5::from_str(&text).expect("json5");
    assert_eq!(
        config.gateway.port.map(u64::from),
        value["gateway"]["port"].as_u64()
    );
    assert_eq!(
        config.gateway.bind.map(|b| b.as_str()),
        value["gateway"]["bind"].as_str()
    );
}
