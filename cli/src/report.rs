//! Renders a checked config for people (OpenClaw's lines plus miette snippets), for machines (JSON)
//! and for GitHub Actions (workflow-command annotations). Shared by `config validate` and the
//! gateway's startup refusal, so both say the same thing.

use std::path::Path;

use runtime::config::diagnostics::{IssueReport, display_name, locate};
use runtime::config::{Checked, Issue, ReadError};
use serde_json::{Value, json};

/// The doctor hint printed after the issues, as OpenClaw prints it.
pub const DOCTOR_HINT: &str =
    "Run `openclaw doctor --fix` to repair, or fix the keys above manually.";

fn basename(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// `× file:line — path: message, got: value` (OpenClaw's line), for one issue.
pub fn headline(checked: &Checked, issue: &Issue) -> String {
    let mut s = String::new();
    if let Some(loc) = locate(&checked.sources, issue) {
        s.push_str(&format!("{}:{} — ", basename(&loc.file), loc.line));
    }
    s.push_str(issue.display_path());
    s.push_str(": ");
    s.push_str(&issue.message);
    if let Some(got) = &issue.got {
        s.push_str(", got: ");
        s.push_str(got);
    }
    s
}

/// The miette snippet (source excerpt with the span underlined, plus help) for one issue, indented.
pub fn snippet(checked: &Checked, issue: &Issue, color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_context_lines(1);
    let report = IssueReport::new(&checked.sources, issue);
    let mut text = String::new();
    if handler.render_report(&mut text, &report).is_err() {
        return String::new();
    }
    // miette starts with the code and the message, which the headline already says.
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains('╭'))
        .or_else(|| lines.iter().position(|l| l.contains("help:")))
        .unwrap_or(lines.len());
    let mut out = String::new();
    for l in &lines[start..] {
        if l.trim().is_empty() {
            continue;
        }
        out.push_str("    ");
        out.push_str(l.trim_end());
        out.push('\n');
    }
    out
}

/// The text report. Returns (stdout, stderr).
pub fn text(checked: &Checked, color: bool) -> (String, String) {
    let shown = display_name(&checked.path);
    if let Some(e) = &checked.read_error {
        return match e {
            ReadError::NotFound => (
                String::new(),
                format!(
                    "Config file not found: {shown}\nCreate one with openclaw onboard or run openclaw doctor --fix.\n"
                ),
            ),
            other => (
                String::new(),
                format!("Config validation error: {shown}: {other}\n"),
            ),
        };
    }
    let mut warnings = String::new();
    if !checked.warnings.is_empty() {
        warnings.push_str(&format!("{} warning(s):\n", checked.warnings.len()));
        for w in &checked.warnings {
            warnings.push_str(&format!("  ! {}\n", headline(checked, w)));
            warnings.push_str(&snippet(checked, w, color));
        }
    }
    if checked.errors.is_empty() {
        return (format!("Config valid: {shown}\n{warnings}"), String::new());
    }
    let mut err = format!("OpenClaw config is invalid: {shown}\n");
    for issue in &checked.errors {
        err.push_str(&format!("  × {}\n", headline(checked, issue)));
        err.push_str(&snippet(checked, issue, color));
    }
    err.push_str(&warnings);
    err.push_str(&format!(
        "\n{DOCTOR_HINT}\nInspect with openclaw config validate.\n"
    ));
    (String::new(), err)
}

fn issue_json(checked: &Checked, issue: &Issue) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("path".into(), json!(issue.display_path()));
    o.insert("message".into(), json!(issue.message));
    if let Some(av) = &issue.allowed_values {
        o.insert("allowedValues".into(), Value::Array(av.clone()));
    }
    match locate(&checked.sources, issue) {
        Some(loc) => {
            o.insert("file".into(), json!(loc.file.display().to_string()));
            o.insert("line".into(), json!(loc.line));
            o.insert("column".into(), json!(loc.column));
            o.insert(
                "span".into(),
                json!({ "offset": loc.offset, "length": loc.length }),
            );
        }
        None => {
            o.insert("line".into(), Value::Null);
            o.insert("column".into(), Value::Null);
            o.insert("span".into(), Value::Null);
        }
    }
    o.insert("code".into(), json!(issue.code));
    if let Some(h) = &issue.help {
        o.insert("help".into(), json!(h));
    }
    Value::Object(o)
}

/// The JSON report (OpenClaw's keys plus `line`, `column`, `span`, `file`, `code`, `help` per issue)
/// and whether to pretty-print it (OpenClaw pretty-prints only the invalid case).
pub fn json(checked: &Checked) -> (Value, bool) {
    let path = checked.path.display().to_string();
    let warnings: Vec<Value> = checked
        .warnings
        .iter()
        .map(|w| issue_json(checked, w))
        .collect();
    if let Some(e) = &checked.read_error {
        let message = match e {
            ReadError::NotFound => "file not found".to_string(),
            other => other.to_string(),
        };
        return (
            json!({ "ok": false, "error": { "type": "cli_error", "message": message }, "valid": false, "path": path }),
            false,
        );
    }
    if checked.errors.is_empty() {
        return (
            json!({ "valid": true, "path": path, "warnings": warnings }),
            false,
        );
    }
    let issues: Vec<Value> = checked
        .errors
        .iter()
        .map(|i| issue_json(checked, i))
        .collect();
    (
        json!({
            "ok": false,
            "error": { "type": "cli_error", "message": format!("OpenClaw config is invalid: {path}") },
            "valid": false,
            "path": path,
            "issues": issues,
            "warnings": warnings,
        }),
        true,
    )
}

fn gh_escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn gh_escape_prop(s: &str) -> String {
    gh_escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions annotations, one per issue and warning (paths relative to `cwd` when below it).
pub fn github(checked: &Checked, cwd: &Path) -> String {
    let rel = |p: &Path| p.strip_prefix(cwd).unwrap_or(p).display().to_string();
    let mut out = String::new();
    if let Some(e) = &checked.read_error {
        out.push_str(&format!(
            "::error file={},title=openclaw config::{}\n",
            gh_escape_prop(&rel(&checked.path)),
            gh_escape_data(&e.to_string())
        ));
        return out;
    }
    for (level, issues) in [("error", &checked.errors), ("warning", &checked.warnings)] {
        for issue in issues {
            let mut msg = format!("{}: {}", issue.display_path(), issue.message);
            if let Some(got) = &issue.got {
                msg.push_str(&format!(", got: {got}"));
            }
            if let Some(h) = &issue.help {
                msg.push_str(&format!("\n{h}"));
            }
            let (file, pos) = match locate(&checked.sources, issue) {
                Some(loc) => (
                    rel(&loc.file),
                    format!(",line={},col={}", loc.line, loc.column),
                ),
                None => (rel(&checked.path), String::new()),
            };
            out.push_str(&format!(
                "::{level} file={}{pos},title={}::{}\n",
                gh_escape_prop(&file),
                gh_escape_prop(issue.code),
                gh_escape_data(&msg)
            ));
        }
    }
    out
}

/// Writes `value` as pretty JSON and a newline: the `--json` output of every command.
pub fn print_json(out: &mut dyn std::io::Write, value: &impl serde::Serialize) {
    let _ = writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Reports a failure before anything happened: `{"ok":false,"error":…}` on stdout with `--json`,
/// `[openclaw] <message>` on stderr otherwise. Returns exit code 1.
pub fn fail(ctx: &mut crate::Ctx<'_>, json: bool, message: &str) -> u8 {
    if json {
        print_json(ctx.out, &json!({ "ok": false, "error": message }));
    } else {
        let _ = writeln!(ctx.err, "[openclaw] {message}");
    }
    1
}

/// `~/…` for paths under the home directory.
pub fn shorten(ctx: &crate::Ctx<'_>, path: &Path) -> String {
    if let Some(home) = runtime::config::paths::home(ctx.env)
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}
