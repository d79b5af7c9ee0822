//! One emitter per generated file. Each is a pure function from the spec to text.

pub mod config;
pub mod jsonschema;
pub mod protocol;
pub mod runtime_paths;
pub mod schema_table;

/// Rust string literal for any text (debug formatting escapes exactly what Rust needs).
pub fn lit(s: &str) -> String {
    format!("{s:?}")
}

pub fn opt_lit(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_string(), |s| format!("Some({s:?})"))
}

/// Rust `f64` literal.
pub fn f64_lit(f: f64) -> String {
    let s = format!("{f:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}
