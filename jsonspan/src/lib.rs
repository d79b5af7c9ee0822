//! JSON5 documents as value trees in which every key and value knows its byte range in the source.
//!
//! Two parsers cooperate, as `STYLE.md` (B1) prescribes: the `json5` crate decides whether the text is
//! valid JSON5 (it is the stricter of the two), and `jsonc-parser` then supplies an AST with byte ranges,
//! which is converted into [`Spanned`] values. Diagnostics can then point at the exact key or value without
//! any path look-ups, and values merged from several files (`$include`) keep their own origin through
//! [`Span::src`].

use std::fmt;

mod number;
pub mod suggest;
mod text;

pub use number::{MAX_SAFE_INTEGER, Number};
pub use text::{LineCol, LineIndex};

/// Identifies the source text a span belongs to (an index into the caller's list of files).
pub type SourceId = u32;

/// A byte range `start..end` in the source `src`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub src: SourceId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(src: SourceId, start: usize, end: usize) -> Self {
        Span { src, start, end }
    }
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A value together with the span of its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned {
    pub value: Value,
    pub span: Span,
}

/// One `key: value` member of an object, in source order (duplicates are kept; the last one wins).
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_span: Span,
    pub value: Spanned,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Spanned>),
    Object(Vec<Member>),
}

impl Value {
    /// The JSON type name, as used in messages (`expected number, received string`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.value.is_nan() => "NaN",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

impl Spanned {
    /// An object or an array.
    pub fn is_container(&self) -> bool {
        matches!(self.value, Value::Object(_) | Value::Array(_))
    }

    pub fn new(value: Value, span: Span) -> Self {
        Spanned { value, span }
    }

    /// The member named `key` (the last one when the key is duplicated).
    pub fn get(&self, key: &str) -> Option<&Spanned> {
        self.member(key).map(|m| &m.value)
    }

    /// The member named `key`, with its key span (the last one when the key is duplicated).
    pub fn member(&self, key: &str) -> Option<&Member> {
        match &self.value {
            Value::Object(members) => members.iter().rev().find(|m| m.key == key),
            _ => None,
        }
    }

    /// Follows a dotted path of object keys.
    pub fn pointer<'a, I: IntoIterator<Item = &'a str>>(&self, path: I) -> Option<&Spanned> {
        let mut cur = self;
        for seg in path {
            cur = match &cur.value {
                Value::Object(_) => cur.get(seg)?,
                Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn members(&self) -> &[Member] {
        match &self.value {
            Value::Object(m) => m,
            _ => &[],
        }
    }

    /// Converts to a `serde_json::Value`. Duplicate keys resolve to the last one; non-finite numbers,
    /// which JSON cannot represent, become `null`.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => n.to_json(),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(Spanned::to_json).collect())
            }
            Value::Object(members) => {
                let mut map = serde_json::Map::with_capacity(members.len());
                for m in members {
                    map.insert(m.key.clone(), m.value.to_json());
                }
                serde_json::Value::Object(map)
            }
        }
    }

    /// Builds a tree from a `serde_json::Value`, giving every node the same span (used for values
    /// that come from outside a file, such as env vars or defaults).
    pub fn from_json(v: &serde_json::Value, span: Span) -> Spanned {
        let value = match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(Number::from_json(n)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => {
                Value::Array(a.iter().map(|x| Spanned::from_json(x, span)).collect())
            }
            serde_json::Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| Member {
                        key: k.clone(),
                        key_span: span,
                        value: Spanned::from_json(x, span),
                    })
                    .collect(),
            ),
        };
        Spanned { value, span }
    }
}

/// Why a text is not a JSON5 document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong, without position (e.g. `invalid character 'r'`).
    pub message: String,
    /// Byte offset of the problem in the text.
    pub offset: usize,
    /// 1-based line and column (column counted in characters).
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}:{}", self.message, self.line, self.column)
    }
}

impl std::error::Error for SyntaxError {}

/// Deepest nesting of arrays and objects accepted. Deeper documents are rejected up front with a
/// clear message instead of risking the parsers' recursion.
pub const MAX_DEPTH: usize = 128;

/// Parses JSON5 text into a spanned tree. `text` must already be free of a byte-order mark.
pub fn parse(text: &str, src: SourceId) -> Result<Spanned, SyntaxError> {
    // The line index is only needed to word an error: build it then, not for every valid file.
    let index = || LineIndex::new(text);
    if let Some(offset) = text::depth_exceeded(text, MAX_DEPTH) {
        return Err(index().syntax_error(
            format!("nesting deeper than {MAX_DEPTH} levels of arrays/objects"),
            offset,
        ));
    }
    // json5 is the authority on syntax.
    if let Err(e) = json5::from_str::<serde::de::IgnoredAny>(text) {
        return Err(json5_error(&index(), text, &e));
    }
    let options = jsonc_parser::ParseOptions {
        allow_missing_commas: false,
        ..Default::default()
    };
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &options).map_err(|e| {
        let offset = e.range().start;
        index().syntax_error(e.kind().to_string(), offset)
    })?;
    match parsed.value {
        Some(v) => Ok(convert(v, src)),
        None => Err(index().syntax_error("invalid end of input".to_string(), text.len())),
    }
}

fn json5_error(index: &LineIndex, text: &str, e: &json5::Error) -> SyntaxError {
    let full = e.to_string();
    // `Display` appends " at line N column M"; keep the message only.
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    let offset = match e.position() {
        Some(p) => index.offset_of(p.line, p.column).min(text.len()),
        None => text.len(),
    };
    // json5 reports an early end of input ("EOF parsing object") at the start of the construct that
    // is still open; point at the end instead, and say where the unclosed construct began.
    if let Some(what) = message.strip_prefix("EOF parsing ") {
        // jsonc-parser knows where an unterminated string or object really begins.
        let options = jsonc_parser::ParseOptions {
            allow_missing_commas: false,
            ..Default::default()
        };
        let opened = match jsonc_parser::parse_to_ast(text, &Default::default(), &options) {
            Err(e) if e.range().start < text.len() => e.range().start,
            _ => offset,
        };
        let start = index.line_col(opened);
        let message = if text.trim().is_empty() || what == "value" {
            "invalid end of input".to_string()
        } else {
            format!(
                "invalid end of input: the {what} that starts at {}:{} is not closed",
                start.line, start.column
            )
        };
        return index.syntax_error(message, text.len());
    }
    index.syntax_error(message, offset)
}

fn range_span(src: SourceId, r: jsonc_parser::common::Range) -> Span {
    Span::new(src, r.start, r.end)
}

fn convert(v: jsonc_parser::ast::Value<'_>, src: SourceId) -> Spanned {
    use jsonc_parser::ast::{ObjectPropName, Value as A};
    match v {
        A::StringLit(s) => Spanned::new(
            Value::String(s.value.into_owned()),
            range_span(src, s.range),
        ),
        A::NumberLit(n) => Spanned::new(
            Value::Number(Number::parse(n.value)),
            range_span(src, n.range),
        ),
        A::BooleanLit(b) => Spanned::new(Value::Bool(b.value), range_span(src, b.range)),
        A::NullKeyword(n) => Spanned::new(Value::Null, range_span(src, n.range)),
        A::Array(a) => {
            let span = range_span(src, a.range);
            Spanned::new(
                Value::Array(a.elements.into_iter().map(|e| convert(e, src)).collect()),
                span,
            )
        }
        A::Object(o) => {
            let span = range_span(src, o.range);
            let members = o
                .properties
                .into_iter()
                .map(|p| {
                    let (key, key_span) = match p.name {
                        ObjectPropName::String(s) => {
                            (s.value.into_owned(), range_span(src, s.range))
                        }
                        ObjectPropName::Word(w) => (w.value.to_string(), range_span(src, w.range)),
                    };
                    Member {
                        key,
                        key_span,
                        value: convert(p.value, src),
                    }
                })
                .collect();
            Spanned::new(Value::Object(members), span)
        }
    }
}

#[cfg(test)]
mod tests;
