//! Config problems as data (`Issue`), the files they point into (`SourceMap`), and their renderings:
//! OpenClaw's text lines with miette snippets, JSON, and GitHub Actions annotations.

use std::path::{Path, PathBuf};

use jsonspan::{LineCol, LineIndex, SourceId, Span};
use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};
use serde::Serialize;

/// Every file that contributed text to a config (the main file, its includes, env values).
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Full path (or a pseudo name such as `$OPENCLAW_GATEWAY_PORT`).
    pub path: PathBuf,
    pub text: String,
    /// Built on the first line/column lookup (valid files never need it).
    index: std::sync::OnceLock<LineIndex>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, text: String) -> SourceId {
        self.files.push(SourceFile {
            path,
            text,
            index: std::sync::OnceLock::new(),
        });
        (self.files.len() - 1) as SourceId
    }

    pub fn get(&self, id: SourceId) -> Option<&SourceFile> {
        self.files.get(id as usize)
    }

    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// 1-based line/column of the start of a span.
    pub fn line_col(&self, span: Span) -> Option<LineCol> {
        self.get(span.src).map(|f| {
            f.index
                .get_or_init(|| LineIndex::new(&f.text))
                .line_col(span.start)
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem (or warning) in a config.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub severity: Severity,
    /// Stable code, e.g. `openclaw::config::unknown_key`.
    pub code: &'static str,
    /// Dotted config path (`<root>` for the root), as OpenClaw reports it.
    pub path: String,
    /// OpenClaw-style message.
    pub message: String,
    /// The offending value as written, for the text form's `, got: …` suffix.
    pub got: Option<String>,
    /// For enum problems: the allowed values.
    pub allowed_values: Option<Vec<serde_json::Value>>,
    /// Where: the offending key or value.
    pub span: Option<Span>,
    /// How to fix it (did-you-mean, the doctor command, …).
    pub help: Option<String>,
}

impl Issue {
    pub fn error(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
        span: Option<Span>,
    ) -> Issue {
        Issue {
            severity: Severity::Error,
            code,
            path: path.into(),
            message: message.into(),
            got: None,
            allowed_values: None,
            span,
            help: None,
        }
    }

    pub fn warning(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
        span: Option<Span>,
    ) -> Issue {
        Issue {
            severity: Severity::Warning,
            ..Issue::error(code, path, message, span)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Issue {
        self.help = Some(help.into());
        self
    }

    pub fn with_got(mut self, got: impl Into<String>) -> Issue {
        self.got = Some(got.into());
        self
    }

    pub fn display_path(&self) -> &str {
        if self.path.is_empty() {
            "<root>"
        } else {
            &self.path
        }
    }
}

/// Where an issue is, resolved for output.
#[derive(Debug, Clone, Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Byte offset and length in `file`.
    pub offset: usize,
    pub length: usize,
}

pub fn locate(sources: &SourceMap, issue: &Issue) -> Option<Location> {
    let span = issue.span?;
    let file = sources.get(span.src)?;
    let lc = file
        .index
        .get_or_init(|| LineIndex::new(&file.text))
        .line_col(span.start);
    Some(Location {
        file: file.path.clone(),
        line: lc.line,
        column: lc.column,
        offset: span.start,
        length: span.len(),
    })
}

/// A miette view of one issue, for graphical rendering of its snippet.
#[derive(Debug)]
pub struct IssueReport<'a> {
    pub issue: &'a Issue,
    pub source: Option<NamedSource<String>>,
}

impl std::fmt::Display for IssueReport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.issue.display_path(), self.issue.message)
    }
}

impl std::error::Error for IssueReport<'_> {}

impl Diagnostic for IssueReport<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        Some(Box::new(self.issue.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.issue.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.issue
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.issue.span?;
        self.source.as_ref()?;
        let label = match (&self.issue.allowed_values, self.issue.code) {
            (Some(_), _) => "not an allowed value",
            (_, "openclaw::config::unknown_key") => "unknown key",
            (_, "openclaw::config::missing_required") => "required field missing here",
            (_, "openclaw::config::syntax") => "here",
            _ => "here",
        };
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(label.to_string()),
            (span.start, span.len().max(1)),
        ))))
    }
}

impl<'a> IssueReport<'a> {
    pub fn new(sources: &SourceMap, issue: &'a Issue) -> IssueReport<'a> {
        let source = issue.span.and_then(|s| sources.get(s.src)).map(|f| {
            NamedSource::new(display_name(&f.path), f.text.clone()).with_language("json5")
        });
        IssueReport { issue, source }
    }
}

/// A path as shown to people: `~/…` under the home directory.
pub fn display_name(path: &Path) -> String {
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from)
        && !home.as_os_str().is_empty()
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}
