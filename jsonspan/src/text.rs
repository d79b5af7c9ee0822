//! Byte offsets ↔ line/column, with JSON5's line terminators (LF, CR, CRLF, U+2028, U+2029).

use crate::SyntaxError;

/// A 1-based line and column; the column counts characters, as editors do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// Start offsets of every line of a text.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
    text_len: usize,
    /// Per line: true when the line is pure ASCII (column = byte distance).
    ascii: Vec<bool>,
    text: std::sync::Arc<str>,
}

fn is_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        let mut ascii = Vec::new();
        let mut line_ascii = true;
        let mut iter = text.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if is_terminator(c) {
                let mut end = i + c.len_utf8();
                if c == '\r'
                    && let Some(&(j, '\n')) = iter.peek()
                {
                    iter.next();
                    end = j + 1;
                }
                starts.push(end);
                ascii.push(line_ascii);
                line_ascii = true;
            } else if !c.is_ascii() {
                line_ascii = false;
            }
        }
        ascii.push(line_ascii);
        LineIndex {
            starts,
            text_len: text.len(),
            ascii,
            text: text.into(),
        }
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text_len);
        let line = match self.starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        let start = self.starts[line];
        let column = if self.ascii[line] {
            offset - start
        } else {
            let mut end = offset;
            while !self.text.is_char_boundary(end) {
                end -= 1;
            }
            self.text[start..end].chars().count()
        };
        LineCol {
            line: line + 1,
            column: column + 1,
        }
    }

    /// Byte offset of a 0-based line and 0-based character column (json5's `Position`).
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.starts.get(line) else {
            return self.text_len;
        };
        let end = self.starts.get(line + 1).copied().unwrap_or(self.text_len);
        self.text[start..end]
            .char_indices()
            .nth(column)
            .map_or(end, |(i, _)| start + i)
    }

    pub(crate) fn syntax_error(&self, message: String, offset: usize) -> SyntaxError {
        let lc = self.line_col(offset);
        SyntaxError {
            message,
            offset,
            line: lc.line,
            column: lc.column,
        }
    }
}

/// Returns the offset of the first bracket that opens a level deeper than `max`, skipping strings and
/// comments. The scan is lenient: it only guards the parsers against unbounded recursion.
pub(crate) fn depth_exceeded(text: &str, max: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}
