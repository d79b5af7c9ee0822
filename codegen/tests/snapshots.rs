//! Snapshots of every generated file, for the two fixture specs under `fixtures/spec/` and for the
//! real `spec/`. A change to the spec or to an emitter shows up here as a reviewable diff
//! (`cargo insta review`).

use std::path::{Path, PathBuf};

use openclaw_codegen as codegen;
use openclaw_codegen::{Output, SpecError};

fn dir(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn report(e: &SpecError) -> String {
    let mut text = String::new();
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let _ = handler.render_report(&mut text, e);
    text
}

fn render_dir(rel: &str) -> Vec<Output> {
    let spec = codegen::load::load_dir(&dir(rel))
        .unwrap_or_else(|e| panic!("{rel} does not load:\n{}", report(&e)));
    codegen::render(&spec).unwrap_or_else(|e| panic!("{rel} does not render:\n{}", report(&e)))
}

const FILES: [&str; 4] = [
    "config.rs",
    "schema_table.rs",
    "protocol.rs",
    "config.schema.json",
];

fn snapshot_all(prefix: &str, rel: &str) {
    let outputs = render_dir(rel);
    let names: Vec<&str> = outputs.iter().map(|o| o.name).collect();
    assert_eq!(names, FILES, "render() returned an unexpected set of files");
    for o in &outputs {
        insta::assert_snapshot!(format!("{prefix}__{}", o.name), &o.text);
    }
}

#[test]
fn minimal() {
    snapshot_all("minimal", "fixtures/spec/minimal");
}

#[test]
fn naming() {
    snapshot_all("naming", "fixtures/spec/naming");
}

#[test]
fn real() {
    snapshot_all("real", "spec");
}

/// The JSON Schema output is valid JSON with the root properties we expect.
#[test]
fn json_schema_parses() {
    for rel in ["fixtures/spec/minimal", "fixtures/spec/naming", "spec"] {
        let outputs = render_dir(rel);
        let schema = outputs
            .iter()
            .find(|o| o.name == "config.schema.json")
            .map(|o| o.text.as_str())
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(schema)
            .unwrap_or_else(|e| panic!("{rel}: config.schema.json is not JSON: {e}"));
        assert_eq!(v["type"], "object", "{rel}");
        assert!(v["properties"]["$schema"].is_object(), "{rel}");
        assert!(v["definitions"].is_object(), "{rel}");
    }
}

/// Rendering is a pure function of the spec: loading and rendering twice gives identical bytes,
/// and loading from memory gives the same result as loading from the folder.
#[test]
fn deterministic() {
    for rel in ["fixtures/spec/minimal", "fixtures/spec/naming", "spec"] {
        let first = render_dir(rel);
        let second = render_dir(rel);
        assert_eq!(first, second, "{rel}: two renders differ");

        let spec = codegen::load::load_dir(&dir(rel)).expect("loads");
        assert_eq!(
            codegen::render(&spec).expect("renders"),
            codegen::render(&spec).expect("renders"),
            "{rel}: rendering the same Spec twice differs"
        );

        let sources: Vec<(String, String)> = codegen::load::SPEC_FILES
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(dir(rel).join(name)).unwrap_or_default();
                (format!("spec/{name}"), text)
            })
            .collect();
        let from_memory = codegen::load::load_sources(&sources)
            .unwrap_or_else(|e| panic!("{rel}: load_sources fails:\n{}", report(&e)));
        assert_eq!(
            codegen::render(&from_memory).expect("renders"),
            first,
            "{rel}: load_sources and load_dir disagree"
        );
    }
}
