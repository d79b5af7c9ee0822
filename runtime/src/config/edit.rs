//! Span-preserving edits of JSON5 config text, for `openclaw config set | unset | patch` and the
//! gateway's config-writing RPC methods.
//!
//! Every edit is a handful of byte-range replacements computed from the [`jsonspan`] tree: a changed
//! value has only its own span rewritten, a new member is inserted after the last member of the
//! innermost object that exists (indented like its siblings, with the comma style the object already
//! uses), and a removed member takes only its own text, its separating comma and — when it sat on a
//! line of its own — that line. Every comment and every other byte stays as it was.
//!
//! Paths are dotted (`gateway.port`) with list indices as `[2]` or `.2`; a key that contains a dot
//! is written `["a.b"]`. Content that a `$include` pulls into an object is not in this text, so an
//! edit that would have to change it is refused with an [`EditError`] naming the include.

use std::collections::BTreeSet;
use std::fmt;

use jsonspan::{LineIndex, Spanned, Value as Node};
use serde_json::{Map, Value};

/// Most entries `replace_paths` of [`merge_patch`] may hold.
pub const MAX_REPLACE_PATHS: usize = 256;

/// One step of a config path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object key. A key made of digits also indexes a list (`agents.list.0`).
    Key(String),
    /// A list index written in brackets (`agents.list[0]`).
    Index(usize),
}

impl Segment {
    /// The object key this segment names.
    fn key(&self) -> String {
        match self {
            Segment::Key(k) => k.clone(),
            Segment::Index(i) => i.to_string(),
        }
    }

    /// The list index this segment names, if it is one.
    fn index(&self) -> Option<usize> {
        match self {
            Segment::Index(i) => Some(*i),
            Segment::Key(k)
                if !k.is_empty() && k.len() <= 9 && k.bytes().all(|b| b.is_ascii_digit()) =>
            {
                k.parse().ok()
            }
            Segment::Key(_) => None,
        }
    }
}

/// What kind of problem an [`EditError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditErrorKind {
    /// The path is not a valid config path (a usage error).
    BadPath,
    /// The existing text is not valid JSON5.
    Syntax,
    /// The path runs into a value of another kind (a key inside a number, a word as a list index).
    Conflict,
    /// A list index past the end of the list.
    OutOfRange,
    /// The edit would have to change content that comes from a `$include`.
    Include,
    /// The merge patch itself cannot be applied (not an object, too many replace paths).
    BadPatch,
}

/// Why an edit cannot be made: what, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    pub kind: EditErrorKind,
    /// The config path the problem is about (as people write it), empty for the whole text.
    pub path: String,
    pub message: String,
    /// 1-based line and column (in characters) in the edited text, when the problem has a place.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// How to fix it.
    pub help: Option<String>,
}

impl EditError {
    fn new(kind: EditErrorKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        EditError {
            kind,
            path: path.into(),
            message: message.into(),
            line: None,
            column: None,
            help: None,
        }
    }

    fn at(mut self, text: &str, offset: usize) -> Self {
        let lc = LineIndex::new(text).line_col(offset);
        self.line = Some(lc.line);
        self.column = Some(lc.column);
        self
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, " (at line {line}, column {column})")?;
        }
        if let Some(help) = &self.help {
            write!(f, " — {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for EditError {}

/// The result of [`merge_patch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patched {
    pub text: String,
    /// Dotted leaf paths whose value changed, sorted (lists count as leaves).
    pub changed_paths: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Paths

/// Parses `a.b.c`, `a.list[2].id`, `a.list.2` and `env["A.B"]` into segments.
pub fn parse_path(path: &str) -> Result<Vec<Segment>, EditError> {
    let bad = |why: &str| {
        EditError::new(EditErrorKind::BadPath, path, why.to_string())
            .help("write keys separated by dots, list indices as [0], and keys containing dots as [\"a.b\"]; e.g. gateway.port or agents.list[0].id")
    };
    if path.is_empty() {
        return Err(bad("the path is empty"));
    }
    let bytes = path.as_bytes();
    let mut segs = Vec::new();
    let mut i = 0;
    // True right after `.` or at the start: a key must follow.
    let mut need_key = true;
    let mut cur = String::new();
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                if need_key && cur.is_empty() {
                    return Err(bad("the path has an empty segment"));
                }
                if !cur.is_empty() {
                    segs.push(Segment::Key(std::mem::take(&mut cur)));
                }
                need_key = true;
                i += 1;
            }
            b'[' => {
                if !cur.is_empty() {
                    segs.push(Segment::Key(std::mem::take(&mut cur)));
                } else if need_key && !segs.is_empty() {
                    return Err(bad("the path has an empty segment before '['"));
                } else if segs.is_empty() {
                    return Err(bad("the path must start with a key"));
                }
                let close = path[i..]
                    .find(']')
                    .map(|c| i + c)
                    .ok_or_else(|| bad("'[' is not closed"))?;
                let inner = &path[i + 1..close];
                if inner.starts_with('"') {
                    let key: String = serde_json::from_str(inner)
                        .map_err(|_| bad("a quoted key in [...] must be a JSON string"))?;
                    segs.push(Segment::Key(key));
                } else if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
                    let n = inner
                        .parse::<usize>()
                        .map_err(|_| bad("the list index is too large"))?;
                    segs.push(Segment::Index(n));
                } else {
                    return Err(bad(
                        "[...] must hold a list index like [0] or a quoted key like [\"a.b\"]",
                    ));
                }
                i = close + 1;
                match bytes.get(i) {
                    None | Some(b'.') | Some(b'[') => {}
                    Some(_) => return Err(bad("']' must be followed by '.', '[' or the end")),
                }
                need_key = false;
                if bytes.get(i) == Some(&b'.') {
                    need_key = true;
                    i += 1;
                    if i == bytes.len() {
                        return Err(bad("the path ends with '.'"));
                    }
                }
            }
            b']' => return Err(bad("']' without '['")),
            _ => {
                let ch_len = path[i..].chars().next().map_or(1, char::len_utf8);
                cur.push_str(&path[i..i + ch_len]);
                need_key = false;
                i += ch_len;
            }
        }
    }
    if !cur.is_empty() {
        segs.push(Segment::Key(cur));
    } else if need_key {
        return Err(bad("the path ends with '.'"));
    }
    Ok(segs)
}

/// Writes segments back as a path people read: `agents.list[0].id`, `env["A.B"]`.
pub fn format_path(segs: &[Segment]) -> String {
    let mut out = String::new();
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Segment::Key(k) if k.is_empty() || k.contains(['.', '[', ']']) => {
                out.push('[');
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(']');
            }
            Segment::Key(k) => {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(n) => {
                out.push_str(&format!("[{n}]"));
            }
        }
    }
    out
}

fn shown(segs: &[Segment]) -> String {
    if segs.is_empty() {
        "the top level".to_string()
    } else {
        format_path(segs)
    }
}

// ---------------------------------------------------------------------------------------------
// Public operations

/// Sets the value at `path`, creating missing objects on the way. Returns the new text (the same
/// text when the value is already there).
pub fn set(text: &str, path: &str, value: &Value) -> Result<String, EditError> {
    set_segments(text, &parse_path(path)?, value)
}

/// Removes the member (or list item) at `path`. Returns the new text and whether anything was
/// removed (a missing path is not an error).
pub fn unset(text: &str, path: &str) -> Result<(String, bool), EditError> {
    unset_segments(text, &parse_path(path)?)
}

/// Applies an RFC 7396 merge patch as span edits: objects merge recursively, `null` deletes, arrays
/// and scalars replace. A path listed in `replace_paths` takes the patch's value wholesale instead
/// of merging into it.
pub fn merge_patch(
    text: &str,
    patch: &Value,
    replace_paths: &[String],
) -> Result<Patched, EditError> {
    let Value::Object(patch) = patch else {
        return Err(EditError::new(
            EditErrorKind::BadPatch,
            "",
            format!(
                "a merge patch must be an object at the top level, not {}",
                json_type(patch)
            ),
        )
        .help("wrap the change in its path, e.g. {\"gateway\": {\"port\": 19001}}"));
    };
    if replace_paths.len() > MAX_REPLACE_PATHS {
        return Err(EditError::new(
            EditErrorKind::BadPatch,
            "",
            format!(
                "{} replace paths given; at most {MAX_REPLACE_PATHS} are allowed",
                replace_paths.len()
            ),
        )
        .help("replace a common parent instead of its many children"));
    }
    let replace = replace_paths
        .iter()
        .map(|p| Ok(parse_path(p)?.iter().map(Segment::key).collect()))
        .collect::<Result<Vec<Vec<String>>, EditError>>()?;
    if is_blank_doc(text) {
        let value = strip_nulls(&Value::Object(patch.clone()));
        if value.as_object().is_none_or(Map::is_empty) {
            return Ok(Patched {
                text: text.to_string(),
                changed_paths: Vec::new(),
            });
        }
        let changed_paths = changed_paths(&Value::Object(Map::new()), &value);
        return Ok(Patched {
            text: fresh_doc(text, &value),
            changed_paths,
        });
    }
    let doc = Doc::parse(text)?;
    doc.expect_root_object()?;
    let before = doc.root.to_json();
    let mut out = text.to_string();
    let mut prefix = Vec::new();
    apply_patch(&mut out, &mut prefix, patch, before.as_object(), &replace)?;
    let after = Doc::parse(&out)?.root.to_json();
    Ok(Patched {
        changed_paths: changed_paths(&before, &after),
        text: out,
    })
}

/// Parses a JSON5 value (what `config set` and `config patch` accept). Numbers JSON cannot hold
/// (`NaN`, `Infinity`) are refused rather than silently turned into `null`.
pub fn parse_value(text: &str) -> Result<Value, EditError> {
    fn finite(v: &Spanned) -> Option<usize> {
        match &v.value {
            Node::Number(n) if !n.value.is_finite() => Some(v.span.start),
            Node::Array(items) => items.iter().find_map(finite),
            Node::Object(members) => members.iter().find_map(|m| finite(&m.value)),
            _ => None,
        }
    }
    let parsed = jsonspan::parse(text, 0).map_err(|e| EditError {
        kind: EditErrorKind::Syntax,
        path: String::new(),
        message: format!("not valid JSON5: {}", e.message),
        line: Some(e.line),
        column: Some(e.column),
        help: None,
    })?;
    if let Some(at) = finite(&parsed) {
        return Err(EditError::new(
            EditErrorKind::Syntax,
            "",
            "NaN and Infinity cannot be stored in a config value",
        )
        .at(text, at));
    }
    Ok(parsed.to_json())
}

/// The tree a config text holds, as JSON (duplicate keys: the last wins); an empty object for a
/// text without a value (empty, or only comments).
pub fn document_json(text: &str) -> Result<Value, EditError> {
    if is_blank_doc(text) {
        return Ok(Value::Object(Map::new()));
    }
    Ok(Doc::parse(text)?.root.to_json())
}

/// Dotted leaf paths that differ between two trees, sorted. Objects are walked; anything else
/// (lists included) is a leaf. An added or removed object lists its leaves.
pub fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    let mut out = BTreeSet::new();
    leaf_changes(before, after, "", &mut out);
    out.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// The operations on segments

fn set_segments(text: &str, segs: &[Segment], value: &Value) -> Result<String, EditError> {
    if segs.is_empty() {
        return Err(EditError::new(
            EditErrorKind::BadPath,
            "",
            "the path is empty",
        ));
    }
    if is_blank_doc(text) {
        let nested = nest(segs, value, &[])?;
        return Ok(fresh_doc(text, &nested));
    }
    let doc = Doc::parse(text)?;
    doc.expect_root_object()?;
    let mut node = &doc.root;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        match &node.value {
            Node::Object(_) => {
                let key = seg.key();
                match node.member(&key) {
                    Some(m) => {
                        if last {
                            return Ok(doc.replace(m.key_span.start, &m.value, value));
                        }
                        node = &m.value;
                    }
                    None => {
                        doc.refuse_include_for_set(node, &segs[..i], &segs[..=i], segs)?;
                        let nested = nest(&segs[i + 1..], value, &segs[..=i])?;
                        let edits = doc.insert_entry(node, Some(&key), &nested);
                        return Ok(apply(text, edits));
                    }
                }
            }
            Node::Array(items) => {
                let Some(idx) = seg.index() else {
                    return Err(EditError::new(
                        EditErrorKind::Conflict,
                        format_path(&segs[..i]),
                        format!("is a list, so \"{}\" cannot be a key in it", seg.key()),
                    )
                    .at(text, node.span.start)
                    .help(format!(
                        "address an item by its index, e.g. {}[0]",
                        format_path(&segs[..i])
                    )));
                };
                if idx < items.len() {
                    if last {
                        return Ok(doc.replace(items[idx].span.start, &items[idx], value));
                    }
                    node = &items[idx];
                } else if idx == items.len() {
                    let nested = nest(&segs[i + 1..], value, &segs[..=i])?;
                    return Ok(apply(text, doc.insert_entry(node, None, &nested)));
                } else {
                    return Err(EditError::new(
                        EditErrorKind::OutOfRange,
                        format_path(&segs[..=i]),
                        format!(
                            "index {idx} is past the end of {} ({} item(s))",
                            format_path(&segs[..i]),
                            items.len()
                        ),
                    )
                    .at(text, node.span.start)
                    .help(format!(
                        "use an index below {} to change an item, or {} to append one",
                        items.len(),
                        items.len()
                    )));
                }
            }
            other => {
                return Err(EditError::new(
                    EditErrorKind::Conflict,
                    format_path(&segs[..i]),
                    format!("cannot set a key inside {}", a_type(other)),
                )
                .at(text, node.span.start)
                .help(format!(
                    "set {} itself to an object first, or unset it",
                    format_path(&segs[..i])
                )));
            }
        }
    }
    // Unreachable: the loop returns at the last segment.
    Ok(text.to_string())
}

fn unset_segments(text: &str, segs: &[Segment]) -> Result<(String, bool), EditError> {
    if segs.is_empty() {
        return Err(EditError::new(
            EditErrorKind::BadPath,
            "",
            "the path is empty",
        ));
    }
    if is_blank_doc(text) {
        return Ok((text.to_string(), false));
    }
    let doc = Doc::parse(text)?;
    doc.expect_root_object()?;
    let mut node = &doc.root;
    let (last, parents) = match segs.split_last() {
        Some(x) => x,
        None => return Ok((text.to_string(), false)),
    };
    // Dropping a `$include` itself removes exactly what it contributed.
    let dropping_include = last.key() == "$include";
    for (i, seg) in parents.iter().enumerate() {
        if !dropping_include {
            doc.refuse_include_for_unset(node, &segs[..i], segs)?;
        }
        node = match &node.value {
            Node::Object(_) => match node.get(&seg.key()) {
                Some(v) => v,
                None => return Ok((text.to_string(), false)),
            },
            Node::Array(items) => match seg.index().and_then(|i| items.get(i)) {
                Some(v) => v,
                None => return Ok((text.to_string(), false)),
            },
            _ => return Ok((text.to_string(), false)),
        };
    }
    match &node.value {
        Node::Object(members) => {
            let key = last.key();
            if !dropping_include {
                doc.refuse_include_for_unset(node, parents, segs)?;
            }
            // Duplicates: remove the last one, then look again (the earlier ones would take over).
            let Some(idx) = members.iter().rposition(|m| m.key == key) else {
                return Ok((text.to_string(), false));
            };
            let out = apply(text, doc.remove_entry(node, idx));
            let (out, _) = unset_segments(&out, segs)?;
            Ok((out, true))
        }
        Node::Array(items) => match last.index() {
            Some(idx) if idx < items.len() => Ok((apply(text, doc.remove_entry(node, idx)), true)),
            _ => Ok((text.to_string(), false)),
        },
        _ => Ok((text.to_string(), false)),
    }
}

fn apply_patch(
    text: &mut String,
    prefix: &mut Vec<Segment>,
    patch: &Map<String, Value>,
    current: Option<&Map<String, Value>>,
    replace: &[Vec<String>],
) -> Result<(), EditError> {
    for (k, v) in patch {
        prefix.push(Segment::Key(k.clone()));
        let existing = current.and_then(|c| c.get(k));
        let replaced = replace.iter().any(|r| {
            r.len() == prefix.len() && r.iter().zip(prefix.iter()).all(|(a, b)| *a == b.key())
        });
        match v {
            Value::Null => {
                let (out, _) = unset_segments(text, prefix)?;
                *text = out;
            }
            Value::Object(inner) if !replaced && matches!(existing, Some(Value::Object(_))) => {
                apply_patch(
                    text,
                    prefix,
                    inner,
                    existing.and_then(Value::as_object),
                    replace,
                )?;
            }
            _ => {
                *text = set_segments(text, prefix, &strip_nulls(v))?;
            }
        }
        prefix.pop();
    }
    Ok(())
}

/// `value` wrapped in objects for the remaining path segments (`[a, b]`, 1 → `{a: {b: 1}}`).
fn nest(rest: &[Segment], value: &Value, before: &[Segment]) -> Result<Value, EditError> {
    let mut acc = value.clone();
    for (j, seg) in rest.iter().enumerate().rev() {
        match seg {
            Segment::Key(k) => {
                let mut m = Map::new();
                m.insert(k.clone(), acc);
                acc = Value::Object(m);
            }
            Segment::Index(_) => {
                let mut full = before.to_vec();
                full.extend_from_slice(&rest[..j]);
                return Err(EditError::new(
                    EditErrorKind::Conflict,
                    format_path(&full),
                    "does not exist, so an index into it cannot be created",
                )
                .help(format!(
                    "set the whole list instead, e.g. {} '[...]'",
                    format_path(&full)
                )));
            }
        }
    }
    Ok(acc)
}

/// RFC 7396 applied to an empty target: the patch without its `null` members (nulls inside
/// arrays are values, not deletions, and stay).
pub(crate) fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), strip_nulls(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn leaf_changes(a: &Value, b: &Value, path: &str, out: &mut BTreeSet<String>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => leaf_changes(va, vb, &join(k), out),
                    None => leaves(va, &join(k), out),
                }
            }
            for (k, vb) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                leaves(vb, &join(k), out);
            }
        }
        _ if normalize(a) == normalize(b) => {}
        _ => {
            leaves(a, path, out);
            leaves(b, path, out);
        }
    }
}

fn leaves(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(x, &p, out);
            }
        }
        _ => {
            out.insert(if path.is_empty() {
                "<root>".to_string()
            } else {
                path.to_string()
            });
        }
    }
}

/// A value as the config pipeline sees it (integral doubles are integers), for comparisons.
fn normalize(v: &Value) -> Value {
    Spanned::from_json(v, jsonspan::Span::default()).to_json()
}

/// "a number", "an object", …: a value's JSON type, worded for messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn a_type(v: &Node) -> &'static str {
    match v {
        Node::Null => "null",
        Node::Bool(_) => "a boolean",
        Node::Number(_) => "a number",
        Node::String(_) => "a string",
        Node::Array(_) => "a list",
        Node::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------------
// Text helpers (offsets are byte offsets between tokens, never inside strings)

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

fn is_blank(c: char) -> bool {
    is_space(c) && !is_line_break(c)
}

/// True when the text holds no value, only whitespace and comments.
fn is_blank_doc(text: &str) -> bool {
    skip_trivia(text, 0) >= text.len()
}

/// The first offset at or after `i` that is neither whitespace nor inside a comment.
fn skip_trivia(t: &str, mut i: usize) -> usize {
    loop {
        let rest = &t[i..];
        match rest.chars().next() {
            Some(c) if is_space(c) => i += c.len_utf8(),
            Some('/') if rest.starts_with("//") => i = line_end(t, i),
            Some('/') if rest.starts_with("/*") => match rest[2..].find("*/") {
                Some(e) => i += 2 + e + 2,
                None => return t.len(),
            },
            _ => return i,
        }
    }
}

/// Skips blanks and comments that end on the same line; stops at a line break, `//`, or a token.
fn skip_inline(t: &str, mut i: usize) -> usize {
    loop {
        let rest = &t[i..];
        match rest.chars().next() {
            Some(c) if is_blank(c) => i += c.len_utf8(),
            Some('/') if rest.starts_with("/*") => match rest[2..].find("*/") {
                Some(e) if !rest[..2 + e].contains(is_line_break) => i += 2 + e + 2,
                _ => return i,
            },
            _ => return i,
        }
    }
}

/// The offset of the line break that ends the line holding `i` (or the end of the text).
fn line_end(t: &str, i: usize) -> usize {
    t[i..].find(is_line_break).map_or(t.len(), |p| i + p)
}

/// The offset just past the line break at `i` (a CRLF counts as one).
fn past_line_break(t: &str, i: usize) -> usize {
    if t[i..].starts_with("\r\n") {
        i + 2
    } else {
        i + t[i..].chars().next().map_or(0, char::len_utf8)
    }
}

/// When only blanks and comments follow `i` up to the end of its line: that line break's offset.
fn trivia_to_eol(t: &str, i: usize) -> Option<usize> {
    let mut j = skip_inline(t, i);
    if t[j..].starts_with("//") {
        j = line_end(t, j);
    }
    match t[j..].chars().next() {
        None => Some(j),
        Some(c) if is_line_break(c) => Some(j),
        Some(_) => None,
    }
}

fn line_start(t: &str, i: usize) -> usize {
    t[..i]
        .char_indices()
        .rev()
        .find(|(_, c)| is_line_break(*c))
        .map_or(0, |(p, c)| p + c.len_utf8())
}

/// True when only blanks precede `i` on its line.
fn blanks_before(t: &str, i: usize) -> bool {
    t[line_start(t, i)..i].chars().all(is_blank)
}

/// True when only blanks and comments precede `i` on its line.
fn own_line(t: &str, i: usize) -> bool {
    skip_inline(t, line_start(t, i)) == i
}

/// The blanks that start the line holding `i`.
fn indent_at(t: &str, i: usize) -> &str {
    let s = line_start(t, i);
    let rest = &t[s..];
    let n = rest.find(|c: char| !is_blank(c)).unwrap_or(rest.len());
    &rest[..n]
}

/// The offset of the comma that follows the entry ending at `i`, if any.
fn comma_after(t: &str, i: usize) -> Option<usize> {
    let j = skip_trivia(t, i);
    t[j..].starts_with(',').then_some(j)
}

fn skip_blanks(t: &str, i: usize) -> usize {
    let rest = &t[i..];
    i + rest.find(|c: char| !is_blank(c)).unwrap_or(rest.len())
}

/// Where the run of blanks that ends at `i` begins.
fn blank_run_start(t: &str, i: usize) -> usize {
    t[..i]
        .char_indices()
        .rev()
        .find(|(_, c)| !is_blank(*c))
        .map_or(0, |(p, c)| p + c.len_utf8())
}

/// A byte-range replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

fn edit(start: usize, end: usize, text: impl Into<String>) -> Edit {
    Edit {
        start,
        end,
        text: text.into(),
    }
}

/// Applies non-overlapping edits (insertions at the same offset keep their order).
fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut pos = 0;
    for e in edits {
        let start = e.start.max(pos);
        out.push_str(&text[pos..start]);
        out.push_str(&e.text);
        pos = e.end.max(start);
    }
    out.push_str(&text[pos..]);
    out
}

/// Start and end of each member (key to value) or list item of a container.
fn entries(node: &Spanned) -> Vec<(usize, usize)> {
    match &node.value {
        Node::Object(members) => members
            .iter()
            .map(|m| (m.key_span.start, m.value.span.end))
            .collect(),
        Node::Array(items) => items.iter().map(|v| (v.span.start, v.span.end)).collect(),
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting style and rendering

/// How the file is written, so new text looks like its neighbours.
#[derive(Debug, Clone)]
struct Style {
    /// One level of indentation.
    unit: String,
    /// Line break (`\n` or `\r\n`).
    nl: &'static str,
    /// Keys are always quoted (strict JSON files); otherwise identifier keys stay bare.
    quote_keys: bool,
    /// Multi-line objects end with a comma after their last member.
    trailing_commas: bool,
    /// The whole document is on one line.
    compact: bool,
    /// `key: value` rather than `key:value` (for one-line output).
    spaced: bool,
}

impl Default for Style {
    /// What OpenClaw writes: strict JSON, two-space indentation.
    fn default() -> Self {
        Style {
            unit: "  ".to_string(),
            nl: "\n",
            quote_keys: true,
            trailing_commas: false,
            compact: false,
            spaced: true,
        }
    }
}

impl Style {
    fn detect(text: &str, root: &Spanned) -> Style {
        #[derive(Default)]
        struct Stats {
            unit: Option<String>,
            quoted: usize,
            bare: usize,
            trailing: usize,
            no_trailing: usize,
            spaced: Option<bool>,
        }
        fn walk(t: &str, node: &Spanned, s: &mut Stats) {
            let es = entries(node);
            if let (Some(first), None) = (es.first(), &s.unit)
                && own_line(t, first.0)
            {
                let outer = indent_at(t, node.span.start);
                let inner = indent_at(t, first.0);
                if inner.len() > outer.len() && inner.starts_with(outer) {
                    s.unit = Some(inner[outer.len()..].to_string());
                }
            }
            if let Some(last) = es.last()
                && own_line(t, last.0)
            {
                if comma_after(t, last.1).is_some() {
                    s.trailing += 1;
                } else {
                    s.no_trailing += 1;
                }
            }
            match &node.value {
                Node::Object(members) => {
                    for m in members {
                        if t[m.key_span.start..].starts_with(['"', '\'']) {
                            s.quoted += 1;
                        } else {
                            s.bare += 1;
                        }
                        if s.spaced.is_none() && m.key_span.end <= m.value.span.start {
                            s.spaced = Some(t[m.key_span.end..m.value.span.start].contains(' '));
                        }
                        walk(t, &m.value, s);
                    }
                }
                Node::Array(items) => {
                    for v in items {
                        walk(t, v, s);
                    }
                }
                _ => {}
            }
        }
        let mut s = Stats::default();
        walk(text, root, &mut s);
        let root_text = &text[root.span.start..root.span.end.min(text.len())];
        Style {
            unit: s.unit.unwrap_or_else(|| "  ".to_string()),
            nl: if text.contains("\r\n") { "\r\n" } else { "\n" },
            quote_keys: s.bare == 0,
            trailing_commas: s.trailing > s.no_trailing,
            // A bare `{}` is a file nobody has formatted yet: give it OpenClaw's layout.
            compact: !root_text.contains(is_line_break) && !entries(root).is_empty(),
            spaced: s.spaced.unwrap_or(true),
        }
    }

    fn key(&self, k: &str) -> String {
        const WORDS: &[&str] = &["true", "false", "null", "Infinity", "NaN"];
        let ident = k
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
            && !WORDS.contains(&k);
        if self.quote_keys || !ident {
            Value::String(k.to_string()).to_string()
        } else {
            k.to_string()
        }
    }

    fn colon(&self) -> &'static str {
        if self.spaced { ": " } else { ":" }
    }

    /// One line: `{ "a": 1, "b": [1, 2] }` (or without spaces in unspaced documents).
    fn inline(&self, v: &Value) -> String {
        let sep = if self.spaced { ", " } else { "," };
        match v {
            Value::Array(items) => {
                let inner: Vec<String> = items.iter().map(|x| self.inline(x)).collect();
                format!("[{}]", inner.join(sep))
            }
            Value::Object(m) if m.is_empty() => "{}".to_string(),
            Value::Object(m) => {
                let inner: Vec<String> = m
                    .iter()
                    .map(|(k, x)| format!("{}{}{}", self.key(k), self.colon(), self.inline(x)))
                    .collect();
                if self.spaced {
                    format!("{{ {} }}", inner.join(sep))
                } else {
                    format!("{{{}}}", inner.join(sep))
                }
            }
            scalar => scalar.to_string(),
        }
    }

    /// Pretty, with continuation lines indented from `indent` (the indentation of the line the
    /// value starts on). Short lists of scalars stay on one line.
    fn render(&self, v: &Value, indent: &str) -> String {
        if self.compact {
            return self.inline(v);
        }
        let inner = format!("{indent}{}", self.unit);
        let nl = self.nl;
        let close = |s: &mut String, last: bool| {
            if !last || self.trailing_commas {
                s.push(',');
            }
        };
        match v {
            Value::Array(items) if items.is_empty() => "[]".to_string(),
            Value::Array(items) => {
                let one = self.inline(v);
                if items.iter().all(|x| !x.is_object() && !x.is_array()) && one.len() <= 72 {
                    return one;
                }
                let mut s = String::from("[");
                for (i, x) in items.iter().enumerate() {
                    s.push_str(nl);
                    s.push_str(&inner);
                    s.push_str(&self.render(x, &inner));
                    close(&mut s, i + 1 == items.len());
                }
                s.push_str(nl);
                s.push_str(indent);
                s.push(']');
                s
            }
            Value::Object(m) if m.is_empty() => "{}".to_string(),
            Value::Object(m) => {
                let mut s = String::from("{");
                for (i, (k, x)) in m.iter().enumerate() {
                    s.push_str(nl);
                    s.push_str(&inner);
                    s.push_str(&self.key(k));
                    s.push_str(": ");
                    s.push_str(&self.render(x, &inner));
                    close(&mut s, i + 1 == m.len());
                }
                s.push_str(nl);
                s.push_str(indent);
                s.push('}');
                s
            }
            scalar => scalar.to_string(),
        }
    }

    fn entry(&self, key: Option<&str>, value: &Value, indent: &str, one_line: bool) -> String {
        let v = if one_line {
            self.inline(value)
        } else {
            self.render(value, indent)
        };
        match key {
            Some(k) => format!("{}{}{v}", self.key(k), self.colon()),
            None => v,
        }
    }
}

/// A new document holding `value` (an object), after whatever comments the text already has.
fn fresh_doc(text: &str, value: &Value) -> String {
    let body = Style::default().render(value, "");
    if text.trim().is_empty() {
        format!("{body}\n")
    } else if text.ends_with(['\n', '\r']) {
        format!("{text}{body}\n")
    } else {
        format!("{text}\n{body}\n")
    }
}

// ---------------------------------------------------------------------------------------------
// The parsed document

struct Doc<'t> {
    text: &'t str,
    root: Spanned,
    style: Style,
}

impl<'t> Doc<'t> {
    fn parse(text: &'t str) -> Result<Doc<'t>, EditError> {
        let root = jsonspan::parse(text, 0).map_err(|e| EditError {
            kind: EditErrorKind::Syntax,
            path: String::new(),
            message: format!("the config is not valid JSON5: {}", e.message),
            line: Some(e.line),
            column: Some(e.column),
            help: Some("fix the syntax first (`openclaw config validate` shows where)".to_string()),
        })?;
        let style = Style::detect(text, &root);
        Ok(Doc { text, root, style })
    }

    fn expect_root_object(&self) -> Result<(), EditError> {
        match &self.root.value {
            Node::Object(_) => Ok(()),
            other => Err(EditError::new(
                EditErrorKind::Conflict,
                "",
                format!("the config's top level is {}, not an object", a_type(other)),
            )
            .at(self.text, self.root.span.start)
            .help("a config file holds one object: { ... }")),
        }
    }

    fn include_files(inc: &Spanned) -> String {
        match &inc.value {
            Node::String(s) => Value::String(s.clone()).to_string(),
            Node::Array(items) => items
                .iter()
                .filter_map(Spanned::as_str)
                .map(|s| Value::String(s.to_string()).to_string())
                .collect::<Vec<_>>()
                .join(", "),
            _ => "(an invalid value)".to_string(),
        }
    }

    /// Creating `target` inside `obj` (at `at`) is refused when `obj` merges in a `$include`: the
    /// included file may already hold the key.
    fn refuse_include_for_set(
        &self,
        obj: &Spanned,
        at: &[Segment],
        created: &[Segment],
        target: &[Segment],
    ) -> Result<(), EditError> {
        let Some(inc) = obj.member("$include") else {
            return Ok(());
        };
        Err(EditError::new(
            EditErrorKind::Include,
            format_path(target),
            format!(
                "{} takes its content from `$include` {}, and this file does not set {} itself",
                shown(at),
                Self::include_files(&inc.value),
                format_path(created)
            ),
        )
        .at(self.text, inc.key_span.start)
        .help("change it in the included file, or add it to this file by hand if you mean to override the included value"))
    }

    /// Removing anything below an object that merges in a `$include` is refused: the included
    /// file may hold the same key, which would then take over.
    fn refuse_include_for_unset(
        &self,
        obj: &Spanned,
        at: &[Segment],
        target: &[Segment],
    ) -> Result<(), EditError> {
        let Some(inc) = obj.member("$include") else {
            return Ok(());
        };
        Err(EditError::new(
            EditErrorKind::Include,
            format_path(target),
            format!(
                "{} takes its content from `$include` {}, so removing it here may leave the included value in effect",
                shown(at),
                Self::include_files(&inc.value)
            ),
        )
        .at(self.text, inc.key_span.start)
        .help("remove it from the included file instead"))
    }

    /// The text with `node` (whose entry starts at `entry_start`) replaced by `value`; the same
    /// text when it already holds that value.
    fn replace(&self, entry_start: usize, node: &Spanned, value: &Value) -> String {
        if node.to_json() == normalize(value) {
            return self.text.to_string();
        }
        let t = self.text;
        let own_line = blanks_before(t, entry_start);
        let rendered = self
            .style
            .entry(None, value, indent_at(t, entry_start), !own_line);
        apply(t, vec![edit(node.span.start, node.span.end, rendered)])
    }

    /// Edits that add a member (`key` given) or a list item after the last entry of `container`.
    fn insert_entry(&self, container: &Spanned, key: Option<&str>, value: &Value) -> Vec<Edit> {
        let t = self.text;
        let st = &self.style;
        let open = container.span.start;
        let close = container.span.end.saturating_sub(1).max(open + 1);
        let es = entries(container);
        if let Some(&(last_start, last_end)) = es.last() {
            let comma = comma_after(t, last_end);
            if !st.compact && own_line(t, last_start) {
                // One entry per line: a new line after the last entry (and its same-line comment).
                let indent = indent_at(t, last_start);
                let after = comma.map_or(last_end, |c| c + 1);
                let pos = trivia_to_eol(t, after).unwrap_or(after);
                let mut new = format!("{}{indent}{}", st.nl, st.entry(key, value, indent, false));
                if comma.is_some() {
                    new.push(',');
                    return vec![edit(pos, pos, new)];
                }
                if pos == last_end {
                    new.insert(0, ',');
                    return vec![edit(pos, pos, new)];
                }
                return vec![edit(last_end, last_end, ","), edit(pos, pos, new)];
            }
            // Entries on one line: continue it.
            let sp = if st.compact && !st.spaced { "" } else { " " };
            let entry = st.entry(key, value, "", true);
            return match comma {
                Some(c) => vec![edit(c + 1, c + 1, format!("{sp}{entry},"))],
                None => vec![edit(last_end, last_end, format!(",{sp}{entry}"))],
            };
        }
        let interior = &t[open + 1..close];
        let has_break = interior.contains(is_line_break);
        if st.compact && !has_break {
            let entry = st.entry(key, value, "", true);
            return if interior.trim().is_empty() {
                let padded = if interior.is_empty() {
                    entry
                } else {
                    format!(" {entry} ")
                };
                vec![edit(open + 1, close, padded)]
            } else {
                vec![edit(close, close, format!("{entry} "))]
            };
        }
        let outer = indent_at(t, open);
        let inner = format!("{outer}{}", st.unit);
        let entry = st.entry(key, value, &inner, false);
        let trail = if st.trailing_commas { "," } else { "" };
        let nl = st.nl;
        if interior.trim().is_empty() {
            vec![edit(
                open + 1,
                close,
                format!("{nl}{inner}{entry}{trail}{nl}{outer}"),
            )]
        } else if blanks_before(t, close) {
            let ls = line_start(t, close);
            vec![edit(ls, ls, format!("{inner}{entry}{trail}{nl}"))]
        } else {
            vec![edit(
                close,
                close,
                format!("{nl}{inner}{entry}{trail}{nl}{outer}"),
            )]
        }
    }

    /// Edits that remove entry `idx` of `container`, with its separating comma, and its line when
    /// it had one to itself (a comment on that line after it goes too).
    fn remove_entry(&self, container: &Spanned, idx: usize) -> Vec<Edit> {
        let t = self.text;
        let es = entries(container);
        let Some(&(start, end)) = es.get(idx) else {
            return Vec::new();
        };
        let comma = comma_after(t, end);
        let after = comma.map_or(end, |c| c + 1);
        let prev_comma = idx
            .checked_sub(1)
            .and_then(|p| es.get(p))
            .and_then(|&(_, pe)| comma_after(t, pe));
        let mut edits = Vec::new();
        let eol = if blanks_before(t, start) {
            trivia_to_eol(t, after)
        } else {
            None
        };
        if let Some(eol) = eol {
            let ls = line_start(t, start);
            let le = if eol < t.len() {
                past_line_break(t, eol)
            } else {
                eol
            };
            edits.push(edit(ls, le, ""));
            if comma.is_none()
                && let Some(pc) = prev_comma
            {
                edits.push(edit(pc, pc + 1, ""));
            }
        } else if let Some(c) = comma {
            edits.push(edit(start, skip_blanks(t, c + 1), ""));
        } else if let Some(pc) = prev_comma {
            edits.push(edit(pc, pc + 1, ""));
            edits.push(edit(blank_run_start(t, start).max(pc + 1), end, ""));
        } else {
            edits.push(edit(start, end, ""));
        }
        // The only entry gone and nothing but whitespace left: `{}` / `[]`.
        if es.len() == 1 {
            let open = container.span.start + 1;
            let close = container.span.end.saturating_sub(1);
            let first = edits.iter().map(|e| e.start).min().unwrap_or(open);
            let last = edits.iter().map(|e| e.end).max().unwrap_or(close);
            if open <= first
                && last <= close
                && t[open..first].trim().is_empty()
                && t[last..close].trim().is_empty()
            {
                return vec![edit(open, close, "")];
            }
        }
        edits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const CFG: &str = r#"// OpenClaw config
{
  // the gateway
  gateway: {
    port: 18789, // default port
    mode: "local",
    /* auth block */
    auth: { token: "abc" },
  },
  logging: { level: "info" },
}
"#;

    fn set_ok(text: &str, path: &str, v: Value) -> String {
        set(text, path, &v).unwrap_or_else(|e| panic!("set {path}: {e}"))
    }

    fn unset_ok(text: &str, path: &str) -> String {
        let (out, removed) = unset(text, path).unwrap_or_else(|e| panic!("unset {path}: {e}"));
        assert!(removed, "unset {path} removed nothing");
        out
    }

    fn json_of(text: &str) -> Value {
        jsonspan::parse(text, 0)
            .unwrap_or_else(|e| panic!("result does not parse: {e}\n{text}"))
            .to_json()
    }

    // -----------------------------------------------------------------------------------------
    // set

    #[test]
    fn set_rewrites_only_the_value() {
        let out = set_ok(CFG, "gateway.port", json!(19001));
        assert_eq!(out, CFG.replace("18789", "19001"));
    }

    #[test]
    fn set_same_value_is_a_no_op() {
        assert_eq!(set_ok(CFG, "gateway.port", json!(18789)), CFG);
        assert_eq!(set_ok(CFG, "gateway.port", json!(18789.0)), CFG);
        assert_eq!(set_ok(CFG, "gateway.auth", json!({"token": "abc"})), CFG);
    }

    #[test]
    fn set_inserts_like_the_siblings() {
        let out = set_ok(CFG, "gateway.bind", json!("lan"));
        assert_eq!(
            out,
            CFG.replace(
                "    auth: { token: \"abc\" },\n",
                "    auth: { token: \"abc\" },\n    bind: \"lan\",\n"
            )
        );
    }

    #[test]
    fn set_creates_missing_objects() {
        let out = set_ok(CFG, "gateway.reload.mode", json!("hot"));
        assert_eq!(
            out,
            CFG.replace(
                "    auth: { token: \"abc\" },\n",
                "    auth: { token: \"abc\" },\n    reload: {\n      mode: \"hot\",\n    },\n"
            )
        );
    }

    #[test]
    fn set_continues_a_one_line_object() {
        let out = set_ok(CFG, "logging.file", json!("/tmp/a \"b\".log"));
        assert_eq!(
            out,
            CFG.replace(
                "logging: { level: \"info\" }",
                "logging: { level: \"info\", file: \"/tmp/a \\\"b\\\".log\" }"
            )
        );
    }

    #[test]
    fn set_after_a_same_line_comment() {
        // The new member goes below the comment that belongs to the last member.
        let text = "{\n  a: 1, // about a\n}\n";
        assert_eq!(
            set_ok(text, "b", json!(2)),
            "{\n  a: 1, // about a\n  b: 2,\n}\n"
        );
        let text = "{\n  \"a\": 1 // about a\n}\n";
        assert_eq!(
            set_ok(text, "b", json!(2)),
            "{\n  \"a\": 1, // about a\n  \"b\": 2\n}\n"
        );
    }

    #[test]
    fn set_object_value_is_pretty_printed_at_its_depth() {
        let out = set_ok(CFG, "gateway.auth", json!({"mode": "token", "token": "x"}));
        assert_eq!(
            out,
            CFG.replace(
                "auth: { token: \"abc\" }",
                "auth: {\n      mode: \"token\",\n      token: \"x\",\n    }"
            )
        );
    }

    #[test]
    fn strict_json_stays_strict_json() {
        let text = "{\n  \"gateway\": {\n    \"port\": 1\n  }\n}\n";
        let out = set_ok(text, "gateway.bind", json!("lan"));
        assert_eq!(
            out,
            "{\n  \"gateway\": {\n    \"port\": 1,\n    \"bind\": \"lan\"\n  }\n}\n"
        );
        let out = set_ok(&out, "agents.list", json!([{"id": "main"}]));
        let strict: Value = serde_json::from_str(&out).expect("still strict JSON");
        assert_eq!(strict["agents"]["list"][0]["id"], "main");
        let out = unset_ok(&out, "agents");
        let out = unset_ok(&out, "gateway.bind");
        assert_eq!(out, text);
    }

    #[test]
    fn indentation_tabs_and_crlf_are_kept() {
        let text = "{\r\n\t\"a\": {\r\n\t\t\"b\": 1\r\n\t}\r\n}\r\n";
        let out = set_ok(text, "a.c", json!({"d": true}));
        assert_eq!(
            out,
            "{\r\n\t\"a\": {\r\n\t\t\"b\": 1,\r\n\t\t\"c\": {\r\n\t\t\t\"d\": true\r\n\t\t}\r\n\t}\r\n}\r\n"
        );
    }

    #[test]
    fn empty_and_comment_only_files_get_a_fresh_object() {
        let fresh = "{\n  \"gateway\": {\n    \"port\": 19001\n  }\n}\n";
        assert_eq!(set_ok("", "gateway.port", json!(19001)), fresh);
        assert_eq!(set_ok("  \n", "gateway.port", json!(19001)), fresh);
        assert_eq!(set_ok("{}", "gateway.port", json!(19001)), fresh.trim_end());
        assert_eq!(
            set_ok("// mine\n", "gateway.port", json!(19001)),
            format!("// mine\n{fresh}")
        );
    }

    #[test]
    fn compact_files_stay_on_one_line() {
        assert_eq!(
            set_ok("{\"a\":{\"b\":1}}", "a.c", json!({"d": [1, 2]})),
            "{\"a\":{\"b\":1,\"c\":{\"d\":[1,2]}}}"
        );
        assert_eq!(
            set_ok("{ a: { b: 1 } }", "a.c", json!(2)),
            "{ a: { b: 1, c: 2 } }"
        );
    }

    #[test]
    fn set_list_items() {
        let text = "{\n  list: [\n    1, // one\n    2,\n  ],\n}\n";
        assert_eq!(
            set_ok(text, "list[1]", json!(20)),
            "{\n  list: [\n    1, // one\n    20,\n  ],\n}\n"
        );
        assert_eq!(
            set_ok(text, "list.0", json!(10)),
            text.replace("1, //", "10, //")
        );
        assert_eq!(
            set_ok(text, "list[2]", json!(3)),
            "{\n  list: [\n    1, // one\n    2,\n    3,\n  ],\n}\n"
        );
        let e = set(text, "list[5]", &json!(3)).expect_err("out of range");
        assert_eq!(e.kind, EditErrorKind::OutOfRange);
        assert_eq!(
            e.to_string(),
            "list[5]: index 5 is past the end of list (2 item(s)) (at line 2, column 9) — use an index below 2 to change an item, or 2 to append one"
        );
        let e = set(text, "list.x", &json!(3)).expect_err("word in a list");
        assert_eq!(e.kind, EditErrorKind::Conflict);
        let text = "{ agents: { list: [{ id: \"a\" }] } }";
        assert_eq!(
            set_ok(text, "agents.list[0].model", json!("m")),
            "{ agents: { list: [{ id: \"a\", model: \"m\" }] } }"
        );
    }

    #[test]
    fn set_errors_say_what_and_where() {
        let e = set(CFG, "gateway.port.x", &json!(1)).expect_err("inside a number");
        assert_eq!(
            e.to_string(),
            "gateway.port: cannot set a key inside a number (at line 5, column 11) — set gateway.port itself to an object first, or unset it"
        );
        let e = set(CFG, "gateway.list[0]", &json!(1)).expect_err("no list");
        assert_eq!(e.kind, EditErrorKind::Conflict);
        assert!(
            e.to_string().starts_with("gateway.list: does not exist"),
            "{e}"
        );
        let e = set("[1]", "a", &json!(1)).expect_err("root list");
        assert_eq!(
            e.to_string(),
            "the config's top level is a list, not an object (at line 1, column 1) — a config file holds one object: { ... }"
        );
        let e = set("{\n  a: 1\n  b: 2\n}", "a", &json!(1)).expect_err("syntax");
        assert_eq!(e.kind, EditErrorKind::Syntax);
        assert_eq!((e.line, e.column), (Some(3), Some(3)), "{e}");
        for bad in ["", "a..b", "a.", ".a", "a[x]", "a[1", "a]", "[0]", "a[0]b"] {
            let e = set(CFG, bad, &json!(1)).expect_err(bad);
            assert_eq!(e.kind, EditErrorKind::BadPath, "{bad}: {e}");
        }
    }

    #[test]
    fn paths_parse_and_print() {
        let segs = parse_path("agents.list[0].id").expect("path");
        assert_eq!(
            segs,
            vec![
                Segment::Key("agents".into()),
                Segment::Key("list".into()),
                Segment::Index(0),
                Segment::Key("id".into())
            ]
        );
        assert_eq!(format_path(&segs), "agents.list[0].id");
        let segs = parse_path("env[\"A.B\"].x").expect("quoted");
        assert_eq!(segs[1], Segment::Key("A.B".into()));
        assert_eq!(format_path(&segs), "env[\"A.B\"].x");
        assert_eq!(
            set_ok("{}", "env[\"A.B\"]", json!("1")),
            "{\n  \"env\": {\n    \"A.B\": \"1\"\n  }\n}"
        );
    }

    #[test]
    fn keys_that_need_quotes_get_them() {
        let out = set_ok("{\n  a: 1,\n}", "b-c", json!({"true": 1, "$x": 2}));
        assert_eq!(
            out,
            "{\n  a: 1,\n  \"b-c\": {\n    $x: 2,\n    \"true\": 1,\n  },\n}"
        );
        assert_eq!(json_of(&out)["b-c"]["$x"], 2);
    }

    #[test]
    fn values_parse_as_json5() {
        assert_eq!(
            parse_value("{mode: 'hot', n: 1,}").expect("json5"),
            json!({"mode": "hot", "n": 1})
        );
        assert_eq!(parse_value(" 19001 ").expect("number"), json!(19001));
        assert!(parse_value("hello").is_err());
        let e = parse_value("[1, Infinity]").expect_err("infinity");
        assert_eq!((e.line, e.column), (Some(1), Some(5)));
    }

    // -----------------------------------------------------------------------------------------
    // unset

    #[test]
    fn unset_takes_the_line_and_its_comment() {
        assert_eq!(
            unset_ok(CFG, "gateway.port"),
            CFG.replace("    port: 18789, // default port\n", "")
        );
        // The comment on the line above stays.
        assert_eq!(
            unset_ok(CFG, "gateway.auth"),
            CFG.replace("    auth: { token: \"abc\" },\n", "")
        );
        assert_eq!(
            unset_ok(CFG, "logging.level"),
            CFG.replace("logging: { level: \"info\" }", "logging: {}")
        );
    }

    #[test]
    fn unset_last_member_drops_the_separator() {
        let text = "{\n  \"a\": 1, // one\n  \"b\": 2\n}\n";
        assert_eq!(unset_ok(text, "b"), "{\n  \"a\": 1 // one\n}\n");
        assert_eq!(unset_ok("{ a: 1, /* c */ b: 2 }", "b"), "{ a: 1 /* c */ }");
        assert_eq!(unset_ok("{ a: 1, /* c */ b: 2 }", "a"), "{ /* c */ b: 2 }");
        assert_eq!(unset_ok("{ a: 1, b: 2, }", "b"), "{ a: 1, }");
        assert_eq!(unset_ok("{ x: { a: 1 } }", "x.a"), "{ x: {} }");
        assert_eq!(
            unset_ok("{\n  x: [\n    1,\n  ],\n}", "x[0]"),
            "{\n  x: [],\n}"
        );
        assert_eq!(unset_ok("{ x: [1, 2, 3] }", "x.1"), "{ x: [1, 3] }");
    }

    #[test]
    fn unset_missing_is_not_an_error() {
        for path in [
            "nope",
            "gateway.nope",
            "gateway.port.deeper",
            "logging.level.x",
        ] {
            let (out, removed) = unset(CFG, path).expect(path);
            assert!(!removed, "{path}");
            assert_eq!(out, CFG);
        }
        assert_eq!(unset("", "a").expect("empty"), (String::new(), false));
    }

    #[test]
    fn unset_removes_every_duplicate() {
        let text = "{\n  a: 1,\n  b: 2,\n  a: 3,\n}\n";
        assert_eq!(unset_ok(text, "a"), "{\n  b: 2,\n}\n");
    }

    // -----------------------------------------------------------------------------------------
    // $include

    #[test]
    fn include_content_is_not_edited_through_this_file() {
        let text = "{\n  $include: \"./base.json5\",\n  gateway: { port: 1 },\n  agents: { $include: [\"a.json5\", \"b.json5\"] },\n}\n";
        // A key this file sets itself wins over the include: editing it is fine.
        assert_eq!(
            set_ok(text, "gateway.port", json!(2)),
            text.replace("port: 1", "port: 2")
        );
        assert!(set(text, "gateway.bind", &json!("lan")).is_ok());
        let e = set(text, "logging.level", &json!("debug")).expect_err("new key at include level");
        assert_eq!(e.kind, EditErrorKind::Include);
        assert_eq!(
            e.to_string(),
            "logging.level: the top level takes its content from `$include` \"./base.json5\", and this file does not set logging itself (at line 2, column 3) — change it in the included file, or add it to this file by hand if you mean to override the included value"
        );
        let e = set(text, "agents.defaults.model", &json!("x")).expect_err("nested include");
        assert!(
            e.message
                .starts_with("agents takes its content from `$include` \"a.json5\", \"b.json5\""),
            "{e}"
        );
        let e = unset(text, "gateway.port").expect_err("unset below an include");
        assert_eq!(e.kind, EditErrorKind::Include);
        assert!(
            e.to_string()
                .contains("remove it from the included file instead"),
            "{e}"
        );
        // The include itself can be dropped or changed.
        let (out, removed) = unset(text, "agents.$include").expect("unset the include");
        assert!(removed);
        assert!(out.contains("agents: {}"), "{out}");
        assert!(set(text, "agents.$include", &json!("c.json5")).is_ok());
    }

    // -----------------------------------------------------------------------------------------
    // merge_patch

    #[test]
    fn merge_patch_edits_in_place_and_lists_changes() {
        let patch = json!({
            "gateway": { "port": 19001, "mode": null, "reload": { "mode": "hot", "x": null } },
            "logging": { "level": "info" },
            "nope": null,
        });
        let p = merge_patch(CFG, &patch, &[]).expect("patch");
        assert_eq!(
            p.changed_paths,
            vec!["gateway.mode", "gateway.port", "gateway.reload.mode"]
        );
        insta::assert_snapshot!(p.text, @r#"
        // OpenClaw config
        {
          // the gateway
          gateway: {
            port: 19001, // default port
            /* auth block */
            auth: { token: "abc" },
            reload: {
              mode: "hot",
            },
          },
          logging: { level: "info" },
        }
        "#);
    }

    #[test]
    fn merge_patch_replace_paths() {
        let patch = json!({ "gateway": { "auth": { "mode": "none" } } });
        let merged = merge_patch(CFG, &patch, &[]).expect("merge");
        assert_eq!(
            json_of(&merged.text)["gateway"]["auth"],
            json!({"token": "abc", "mode": "none"})
        );
        let replaced = merge_patch(CFG, &patch, &["gateway.auth".to_string()]).expect("replace");
        assert_eq!(
            json_of(&replaced.text)["gateway"]["auth"],
            json!({"mode": "none"})
        );
        assert_eq!(
            replaced.changed_paths,
            vec!["gateway.auth.mode", "gateway.auth.token"]
        );
    }

    #[test]
    fn merge_patch_errors_and_edge_cases() {
        let e = merge_patch(CFG, &json!([1]), &[]).expect_err("list patch");
        assert_eq!(e.kind, EditErrorKind::BadPatch);
        let many: Vec<String> = (0..=MAX_REPLACE_PATHS).map(|i| format!("a{i}")).collect();
        let e = merge_patch(CFG, &json!({}), &many).expect_err("too many");
        assert_eq!(e.kind, EditErrorKind::BadPatch);
        let same =
            merge_patch(CFG, &json!({"gateway": {"port": 18789}, "x": null}), &[]).expect("no-op");
        assert_eq!(same.text, CFG);
        assert!(same.changed_paths.is_empty());
        let fresh = merge_patch("", &json!({"a": {"b": 1, "c": null}}), &[]).expect("fresh");
        assert_eq!(fresh.text, "{\n  \"a\": {\n    \"b\": 1\n  }\n}\n");
        assert_eq!(fresh.changed_paths, vec!["a.b"]);
        let nothing = merge_patch("", &json!({"a": null}), &[]).expect("nothing");
        assert_eq!(nothing.text, "");
        // An object replacing a scalar: the scalar's path and the new leaves change.
        let p = merge_patch(CFG, &json!({"gateway": {"port": {"a": 1}}}), &[])
            .expect("obj over scalar");
        assert_eq!(p.changed_paths, vec!["gateway.port", "gateway.port.a"]);
    }

    // -----------------------------------------------------------------------------------------
    // Property tests: random commented documents, random edits, compared with serde_json.

    /// A generated document node.
    #[derive(Debug, Clone)]
    enum Tree {
        Scalar(Value),
        List(Vec<Tree>),
        Object(Vec<(String, Tree)>),
    }

    const KEYS: &[&str] = &["a", "b", "c", "d", "x-y"];

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(KEYS).prop_map(str::to_string)
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-1000i64..1000).prop_map(Value::from),
            "[a-z \"\\\\]{0,5}".prop_map(Value::String),
        ]
    }

    fn tree() -> impl Strategy<Value = Tree> {
        scalar()
            .prop_map(Tree::Scalar)
            .prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Tree::List),
                    prop::collection::btree_map(key(), inner, 0..4)
                        .prop_map(|m| Tree::Object(m.into_iter().collect())),
                ]
            })
    }

    fn root() -> impl Strategy<Value = Tree> {
        prop::collection::btree_map(key(), tree(), 0..5)
            .prop_map(|m| Tree::Object(m.into_iter().collect()))
    }

    fn json_value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map(key(), inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn patch_value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(3, 12, 3, |inner| {
            prop::collection::btree_map(key(), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
        })
    }

    fn segments() -> impl Strategy<Value = Vec<Segment>> {
        prop::collection::vec(
            prop_oneof![
                4 => key().prop_map(Segment::Key),
                1 => (0usize..4).prop_map(Segment::Index),
                1 => (0usize..4).prop_map(|i| Segment::Key(i.to_string())),
            ],
            1..4,
        )
        .prop_filter(
            "must start with a key",
            |s| matches!(s.first(), Some(Segment::Key(k)) if k.parse::<usize>().is_err()),
        )
    }

    /// Renders a tree as JSON5 with formatting picked from `tape`, and a unique comment wherever
    /// one may go. Comments are `/* cNNN */` or `// cNNN`.
    struct Gen<'a> {
        tape: &'a [u8],
        pos: usize,
        out: String,
        comments: usize,
    }

    impl Gen<'_> {
        fn pick(&mut self, n: u8) -> u8 {
            let b = self
                .tape
                .get(self.pos % self.tape.len().max(1))
                .copied()
                .unwrap_or(0);
            self.pos += 1;
            b % n
        }

        fn block(&mut self) -> String {
            self.comments += 1;
            format!("/* c{:03} */", self.comments)
        }

        fn line(&mut self) -> String {
            self.comments += 1;
            format!("// c{:03}", self.comments)
        }

        fn value(&mut self, t: &Tree, indent: &str, multiline_ok: bool) {
            match t {
                Tree::Scalar(v) => self.out.push_str(&v.to_string()),
                Tree::List(items) => {
                    let items: Vec<(Option<String>, &Tree)> =
                        items.iter().map(|i| (None, i)).collect();
                    self.container('[', ']', &items, indent, multiline_ok);
                }
                Tree::Object(members) => {
                    let items: Vec<(Option<String>, &Tree)> =
                        members.iter().map(|(k, v)| (Some(k.clone()), v)).collect();
                    self.container('{', '}', &items, indent, multiline_ok);
                }
            }
        }

        fn container(
            &mut self,
            open: char,
            close: char,
            items: &[(Option<String>, &Tree)],
            indent: &str,
            multiline_ok: bool,
        ) {
            let multi = multiline_ok && self.pick(4) != 0;
            let trailing = self.pick(2) == 0;
            self.out.push(open);
            let inner = format!("{indent}  ");
            if items.is_empty() && self.pick(3) == 0 {
                if multi {
                    let c = self.line();
                    self.out.push_str(&format!("\n{inner}{c}\n{indent}"));
                } else {
                    let c = self.block();
                    self.out.push_str(&format!(" {c} "));
                }
            }
            for (i, (k, v)) in items.iter().enumerate() {
                let last = i + 1 == items.len();
                if multi {
                    self.out.push('\n');
                    self.out.push_str(&inner);
                    if self.pick(4) == 0 {
                        let c = self.line();
                        self.out.push_str(&format!("{c}\n{inner}"));
                    }
                } else if i > 0 || self.pick(2) == 0 {
                    self.out.push(' ');
                }
                if self.pick(6) == 0 {
                    let c = self.block();
                    self.out.push_str(&format!("{c} "));
                }
                if let Some(k) = k {
                    let quoted = k.contains('-') || self.pick(2) == 0;
                    if quoted {
                        self.out.push_str(&Value::String(k.clone()).to_string());
                    } else {
                        self.out.push_str(k);
                    }
                    self.out.push_str(": ");
                }
                self.value(v, &inner, multi);
                if self.pick(6) == 0 {
                    let c = self.block();
                    self.out.push_str(&format!(" {c}"));
                }
                if !last || trailing {
                    self.out.push(',');
                }
                if multi && self.pick(5) == 0 {
                    let c = self.line();
                    self.out.push_str(&format!(" {c}"));
                }
            }
            if multi {
                self.out.push('\n');
                self.out.push_str(indent);
            } else if !items.is_empty() {
                self.out.push(' ');
            }
            self.out.push(close);
        }
    }

    fn render_doc(t: &Tree, tape: &[u8]) -> String {
        let mut g = Gen {
            tape,
            pos: 0,
            out: String::new(),
            comments: 0,
        };
        if g.pick(3) == 0 {
            let c = g.line();
            g.out.push_str(&format!("{c}\n"));
        }
        g.value(t, "", true);
        g.out.push('\n');
        if g.pick(3) == 0 {
            let c = g.line();
            g.out.push_str(&format!("{c}\n"));
        }
        g.out
    }

    /// Every comment in `text` with its offset.
    fn comments_of(text: &str) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(p) = text[i..].find('/').map(|p| p + i) {
            let rest = &text[p..];
            let end = if rest.starts_with("/*") {
                rest.find("*/").map_or(rest.len(), |e| e + 2)
            } else if rest.starts_with("//") {
                rest.find('\n').unwrap_or(rest.len())
            } else {
                i = p + 1;
                continue;
            };
            let c = &rest[..end];
            if c.contains(" c") {
                out.push((c.to_string(), p));
            }
            i = p + end;
        }
        out
    }

    /// The serde_json model of `set`.
    fn model_set(v: &mut Value, segs: &[Segment], value: &Value) -> Result<(), ()> {
        let Some((first, rest)) = segs.split_first() else {
            *v = value.clone();
            return Ok(());
        };
        match v {
            Value::Object(m) => {
                let k = first.key();
                if let Some(child) = m.get_mut(&k) {
                    return model_set(child, rest, value);
                }
                let nested = nest(rest, value, &[]).map_err(|_| ())?;
                m.insert(k, nested);
                Ok(())
            }
            Value::Array(items) => {
                let idx = first.index().ok_or(())?;
                if idx < items.len() {
                    model_set(&mut items[idx], rest, value)
                } else if idx == items.len() {
                    items.push(nest(rest, value, &[]).map_err(|_| ())?);
                    Ok(())
                } else {
                    Err(())
                }
            }
            _ => Err(()),
        }
    }

    /// The serde_json model of `unset`.
    fn model_unset(v: &mut Value, segs: &[Segment]) -> bool {
        let Some((first, rest)) = segs.split_first() else {
            return false;
        };
        match v {
            Value::Object(m) if rest.is_empty() => m.remove(&first.key()).is_some(),
            Value::Object(m) => m
                .get_mut(&first.key())
                .is_some_and(|c| model_unset(c, rest)),
            Value::Array(items) => match first.index() {
                Some(i) if i < items.len() && rest.is_empty() => {
                    items.remove(i);
                    true
                }
                Some(i) if i < items.len() => model_unset(&mut items[i], rest),
                _ => false,
            },
            _ => false,
        }
    }

    /// RFC 7396.
    fn model_patch(target: &mut Value, patch: &Value) {
        let Value::Object(p) = patch else {
            *target = patch.clone();
            return;
        };
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        if let Value::Object(t) = target {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    model_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
    }

    /// The node at `segs` in the original tree, with the start of its entry.
    fn node_at<'a>(root: &'a Spanned, segs: &[Segment]) -> Option<(&'a Spanned, usize)> {
        let mut node = root;
        let mut start = root.span.start;
        for seg in segs {
            match &node.value {
                Node::Object(_) => {
                    let m = node.member(&seg.key())?;
                    start = m.key_span.start;
                    node = &m.value;
                }
                Node::Array(items) => {
                    node = items.get(seg.index()?)?;
                    start = node.span.start;
                }
                _ => return None,
            }
        }
        Some((node, start))
    }

    /// The text a removal of the entry at `start..end` may take: its whole line(s).
    fn removal_region(t: &str, start: usize, end: usize) -> (usize, usize) {
        let after = comma_after(t, end).map_or(end, |c| c + 1);
        (line_start(t, start), line_end(t, after))
    }

    /// Byte ranges of the original text in which comments may disappear.
    fn patch_regions(
        t: &str,
        node: &Spanned,
        patch: &Map<String, Value>,
        out: &mut Vec<(usize, usize)>,
    ) {
        for (k, v) in patch {
            let members: Vec<&jsonspan::Member> =
                node.members().iter().filter(|m| m.key == *k).collect();
            let Some(last) = members.last() else {
                continue;
            };
            match v {
                Value::Null => {
                    for m in &members {
                        out.push(removal_region(t, m.key_span.start, m.value.span.end));
                    }
                }
                Value::Object(inner) if matches!(last.value.value, Node::Object(_)) => {
                    patch_regions(t, &last.value, inner, out);
                }
                _ => out.push((last.value.span.start, last.value.span.end)),
            }
        }
    }

    fn check_comments(
        before: &str,
        after: &str,
        regions: &[(usize, usize)],
    ) -> Result<(), TestCaseError> {
        let kept: BTreeSet<String> = comments_of(after).into_iter().map(|(c, _)| c).collect();
        for (c, at) in comments_of(before) {
            let inside = regions.iter().any(|&(s, e)| s <= at && at < e);
            prop_assert!(
                inside || kept.contains(&c),
                "comment {c} (offset {at}) was lost\n--- before\n{before}\n--- after\n{after}"
            );
        }
        Ok(())
    }

    fn doc_and_tape() -> impl Strategy<Value = (String, Spanned)> {
        (root(), prop::collection::vec(any::<u8>(), 16..64)).prop_map(|(t, tape)| {
            let text = render_doc(&t, &tape);
            let parsed = jsonspan::parse(&text, 0)
                .unwrap_or_else(|e| panic!("generator wrote bad JSON5 ({e}):\n{text}"));
            (text, parsed)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 400,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn prop_set((text, parsed) in doc_and_tape(), segs in segments(), value in json_value()) {
            let mut model = parsed.to_json();
            let expected = model_set(&mut model, &segs, &value);
            match set_segments(&text, &segs, &value) {
                Ok(out) => {
                    prop_assert!(expected.is_ok(), "set succeeded where the model fails: {}\n{out}", format_path(&segs));
                    let got = json_of(&out);
                    prop_assert_eq!(&got, &normalize(&model), "{}\n--- before\n{}\n--- after\n{}", format_path(&segs), text, out);
                    let regions: Vec<(usize, usize)> = node_at(&parsed, &segs)
                        .map(|(n, _)| vec![(n.span.start, n.span.end)])
                        .unwrap_or_default();
                    check_comments(&text, &out, &regions)?;
                    // Setting the same value again changes nothing.
                    prop_assert_eq!(set_segments(&out, &segs, &value).ok(), Some(out.clone()));
                }
                Err(e) => prop_assert!(expected.is_err(), "set failed where the model succeeds: {e}\n{text}"),
            }
        }

        #[test]
        fn prop_unset((text, parsed) in doc_and_tape(), segs in segments()) {
            let mut model = parsed.to_json();
            let expected = model_unset(&mut model, &segs);
            let (out, removed) = unset_segments(&text, &segs).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(removed, expected);
            prop_assert_eq!(&json_of(&out), &model, "{}\n--- before\n{}\n--- after\n{}", format_path(&segs), text, out);
            if !removed {
                prop_assert_eq!(&out, &text);
            }
            let regions: Vec<(usize, usize)> = node_at(&parsed, &segs)
                .map(|(n, start)| vec![removal_region(&text, start, n.span.end)])
                .unwrap_or_default();
            check_comments(&text, &out, &regions)?;
        }

        #[test]
        fn prop_merge_patch((text, parsed) in doc_and_tape(), patch in prop::collection::btree_map(key(), patch_value(), 0..4)) {
            let patch = Value::Object(patch.into_iter().collect());
            let before = parsed.to_json();
            let mut model = before.clone();
            model_patch(&mut model, &patch);
            let p = merge_patch(&text, &patch, &[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&json_of(&p.text), &model, "--- before\n{}\n--- after\n{}", text, p.text);
            prop_assert_eq!(&p.changed_paths, &changed_paths(&before, &model));
            if p.changed_paths.is_empty() {
                prop_assert_eq!(&p.text, &text);
            }
            let mut regions = Vec::new();
            if let Value::Object(po) = &patch {
                patch_regions(&text, &parsed, po, &mut regions);
            }
            check_comments(&text, &p.text, &regions)?;
        }
    }
}
