//! The spec compiler: reads `spec/*.json5`, checks it, and emits Rust (and a JSON Schema) for the
//! runtime. `runtime/build.rs` calls [`generate`]; tests call [`render`] to snapshot the output.
//!
//! Generated files:
//! - `config.rs` — the typed config tree and every other data type, `Diff` impls, `KEYS`,
//!   `RELOAD_RULES`, `OVERRIDES`;
//! - `schema_table.rs` — every spec node as static data, walked by the config validator;
//! - `protocol.rs` — `Method`, params/results, `Handler`, `dispatch`, `Event`, `ErrorCode`;
//! - `config.schema.json` — the draft-07 JSON Schema of `openclaw.json`.

use std::path::{Path, PathBuf};

pub mod check;
pub mod emit;
pub mod error;
pub mod load;
pub mod model;
pub mod names;
pub mod regex;
pub mod write;

pub use error::SpecError;
pub use model::Spec;

/// One generated file: its name in `OUT_DIR` and its full text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub name: &'static str,
    pub text: String,
}

/// Renders every output file for a loaded spec. Pure and deterministic.
pub fn render(spec: &Spec) -> Result<Vec<Output>, SpecError> {
    let config = write::format_tokens("config.rs", emit::config::emit(spec))?;
    let protocol = write::format_tokens("protocol.rs", emit::protocol::emit(spec))?;
    let table = emit::schema_table::emit(spec);
    write::check_text("schema_table.rs", &table)?;
    Ok(vec![
        Output {
            name: "config.rs",
            text: write::header("config.rs", "spec/config.json5 and spec/types.json5") + &config,
        },
        Output {
            name: "schema_table.rs",
            text: write::header("schema_table.rs", "spec/config.json5 and spec/types.json5")
                + &table,
        },
        Output {
            name: "protocol.rs",
            text: write::header(
                "protocol.rs",
                "spec/methods.json5, spec/events.json5 and spec/errors.json5",
            ) + &protocol,
        },
        Output {
            name: "config.schema.json",
            text: emit::jsonschema::emit(spec),
        },
    ])
}

/// Loads `spec_dir`, renders everything and writes it into `out_dir` (only files whose content
/// changed are rewritten, so incremental builds stay incremental).
pub fn generate(spec_dir: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, SpecError> {
    let spec = load::load_dir(spec_dir)?;
    render(&spec)?
        .iter()
        .map(|o| write::write_if_changed(out_dir, o.name, &o.text))
        .collect()
}
