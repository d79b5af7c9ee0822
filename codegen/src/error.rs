//! Diagnostics for mistakes in the spec, pointing into the spec files.

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

/// One problem in one spec file.
#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(openclaw::spec::invalid))]
pub struct SpecProblem {
    pub message: String,
    #[label("{label}")]
    pub span: SourceSpan,
    pub label: String,
    #[help]
    pub help: Option<String>,
}

/// Every problem found in one spec file.
#[derive(Debug, Error, Diagnostic)]
#[error("{file}: {} problem(s) in the spec", problems.len())]
#[diagnostic(code(openclaw::spec::file))]
pub struct SpecFileError {
    pub file: String,
    #[source_code]
    pub source_code: NamedSource<String>,
    #[related]
    pub problems: Vec<SpecProblem>,
}

/// Everything wrong with the spec, across all files.
#[derive(Debug, Error, Diagnostic)]
pub enum SpecError {
    #[error("cannot read spec file {path}: {message}")]
    #[diagnostic(code(openclaw::spec::io))]
    Io { path: String, message: String },
    #[error("the spec has errors")]
    #[diagnostic(code(openclaw::spec::invalid))]
    Invalid {
        #[related]
        files: Vec<SpecFileError>,
    },
    #[error("internal error while emitting {file}: {message}")]
    #[diagnostic(
        code(openclaw::spec::emit),
        help("this is a bug in openclaw-codegen's emitter")
    )]
    Emit { file: String, message: String },
}
