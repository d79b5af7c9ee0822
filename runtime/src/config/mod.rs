//! Loading, validating, resolving and diffing `openclaw.json`.
//!
//! One pipeline serves `openclaw config validate`, the gateway's startup and (later) hot reload, so
//! they can never disagree: [`check_file`] reads the file, follows `$include`s, substitutes `${VAR}`s,
//! validates against the generated schema table plus the cross-field rules, and — when everything
//! is valid — builds the typed [`Config`].

use std::path::{Path, PathBuf};

pub mod diagnostics;
pub mod diff;
pub mod dotenv;
pub mod edit;
pub mod load;
pub mod migrate;
pub mod paths;
pub mod reload;
pub mod resolve;
pub mod schema;
pub mod secrets;
mod simple_pattern;
pub mod validate;
pub mod watch;
pub mod write;

pub use crate::generated::config::Config;
pub use diagnostics::{Issue, Severity, SourceMap};
pub use jsonspan::suggest::suggest;
pub use load::{Env, MapEnv, ProcessEnv, ReadError};

/// serde helper: skip a field that holds its type's default value.
pub fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Everything known about one config file after checking it.
#[derive(Debug)]
pub struct Checked {
    pub path: PathBuf,
    /// Why the file could not be read at all (then nothing else is set).
    pub read_error: Option<ReadError>,
    pub sources: SourceMap,
    /// The merged tree, when the main file parsed.
    pub root: Option<jsonspan::Spanned>,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// The typed config, when there are no errors.
    pub config: Option<Config>,
    /// Files pulled in by `$include`.
    pub included: Vec<PathBuf>,
}

impl Checked {
    pub fn is_valid(&self) -> bool {
        self.read_error.is_none() && self.errors.is_empty()
    }
}

/// Reads and checks a config file, and builds the typed [`Config`] when it is valid.
pub fn check_file(path: &Path, env: &dyn Env) -> Checked {
    check_file_with(path, env, true)
}

/// Reads and checks a config file without building the typed config (what `config validate`
/// needs: it never runs the typed decoders, which keeps it fast and small).
pub fn validate_file(path: &Path, env: &dyn Env) -> Checked {
    check_file_with(path, env, false)
}

fn check_file_with(path: &Path, env: &dyn Env, typed: bool) -> Checked {
    // Report the path people recognise: absolute, without `..`, symlinks kept as given.
    let path = &std::fs::canonicalize(path)
        .unwrap_or_else(|_| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    match load::read_text(path) {
        Ok(text) => check_text_with(path, text, env, typed),
        Err(e) => Checked {
            path: path.to_path_buf(),
            read_error: Some(e),
            sources: SourceMap::default(),
            root: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            config: None,
            included: Vec::new(),
        },
    }
}

/// Checks config text as if read from `path` (includes resolve relative to it), and builds the
/// typed [`Config`] when it is valid.
pub fn check_text(path: &Path, text: String, env: &dyn Env) -> Checked {
    check_text_with(path, text, env, true)
}

/// Like [`check_text`]; `typed` says whether to build the typed config.
pub fn check_text_with(path: &Path, text: String, env: &dyn Env, typed: bool) -> Checked {
    let loaded = load::load_text(path, text, env);
    let mut errors = loaded.errors;
    let mut warnings = loaded.warnings;
    if let Some(root) = &loaded.root {
        let found = validate::validate(root, env);
        errors.extend(found.errors);
        warnings.extend(found.warnings);
    }
    let config = match (&loaded.root, errors.is_empty() && typed) {
        (Some(root), true) => match serde_json::from_value::<Config>(root.to_json()) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.push(Issue::error(
                    "openclaw::config::internal",
                    "",
                    format!("internal error: the config passed validation but could not be decoded ({e}); please report this"),
                    None,
                ));
                None
            }
        },
        _ => None,
    };
    Checked {
        path: path.to_path_buf(),
        read_error: None,
        sources: loaded.sources,
        root: loaded.root,
        errors,
        warnings,
        config,
        included: loaded.included,
    }
}
