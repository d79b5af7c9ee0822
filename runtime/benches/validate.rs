//! Load + validate throughput: a typical personal config, and generated configs of growing size to
//! show that the cost is linear in the file size. Run with `cargo bench -p openclaw-runtime`.

use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use openclaw_runtime::config::{MapEnv, check_text, check_text_with};

fn fixture(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/config/valid")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    (path, text)
}

/// A valid config of about `bytes` bytes: many model providers, each with a few models, plus
/// agents — the shapes that make real configs large.
pub fn generated_config(bytes: usize) -> String {
    let mut s = String::from(
        "{\n  gateway: { mode: \"local\", port: 18789, bind: \"loopback\" },\n  models: {\n    providers: {\n",
    );
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!(
            "      p{i}: {{\n        baseUrl: \"https://models-{i}.example.com/v1\",\n        api: \"openai-completions\",\n        models: [\n"
        ));
        for m in 0..3 {
            s.push_str(&format!(
                "          {{ id: \"model-{i}-{m}\", name: \"Model {i}.{m}\", contextWindow: 128000, maxTokens: 8192, reasoning: false, input: [\"text\"] }},\n"
            ));
        }
        s.push_str("        ],\n      },\n");
        i += 1;
    }
    s.push_str("    },\n  },\n}\n");
    s
}

fn bench(c: &mut Criterion) {
    let env = MapEnv::new([
        ("OCRS_TEST_GATEWAY_TOKEN", "t"),
        ("OCRS_TEST_OPENROUTER_KEY", "k"),
        ("OCRS_TEST_HOME", "/tmp"),
        ("OCRS_TEST_PROFILE", "p"),
        ("OCRS_TEST_PORT", "19001"),
    ]);
    let (path, text) = fixture("full-personal.json5");
    let mut g = c.benchmark_group("typical");
    g.throughput(Throughput::Bytes(text.len() as u64));
    // What `config validate` does: load, include, substitute, validate.
    g.bench_function("validate", |b| {
        b.iter(|| {
            let checked = check_text_with(&path, text.clone(), &env, false);
            assert!(checked.errors.is_empty());
            checked
        })
    });
    // What the gateway does at start and on reload: the same plus the typed config.
    g.bench_function("validate+decode", |b| {
        b.iter(|| {
            let checked = check_text(&path, text.clone(), &env);
            assert!(checked.config.is_some());
            checked
        })
    });
    g.finish();

    let mut g = c.benchmark_group("scaling");
    g.sample_size(20);
    for size in [64 * 1024, 256 * 1024, 1024 * 1024] {
        let text = generated_config(size);
        let path = PathBuf::from("generated.json5");
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, text| {
            b.iter(|| {
                let checked = check_text_with(&path, text.clone(), &env, false);
                assert!(checked.errors.is_empty(), "{:?}", checked.errors.first());
                checked
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
