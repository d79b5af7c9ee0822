//! The only `include!` site for code generated from `spec/` (see `runtime/build.rs`).

/// The typed config tree, `KEYS`, `RELOAD_RULES`, `OVERRIDES`, and every shared data type.
#[allow(
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations,
    non_camel_case_types
)]
pub mod config {
    include!(concat!(env!("OUT_DIR"), "/config.rs"));
}

/// Every spec node as static data, for the validator.
#[allow(clippy::all, clippy::pedantic)]
pub mod schema_table {
    include!(concat!(env!("OUT_DIR"), "/schema_table.rs"));
}

/// Methods, params/results, the `Handler` trait, events and error codes.
#[allow(
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations,
    non_camel_case_types
)]
pub mod protocol {
    include!(concat!(env!("OUT_DIR"), "/protocol.rs"));
}

/// The JSON Schema of `openclaw.json` (draft-07).
pub const CONFIG_SCHEMA_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/config.schema.json"));
