//! `openclaw doctor [--fix] [--json] [--non-interactive]`: checks the config (the same diagnostics
//! as `config validate`), legacy keys, the state directory and its permissions, the gateway port,
//! auth on non-loopback binds, plaintext secrets and the installed service unit.
//!
//! `--fix` migrates legacy keys on the file text (comments kept; the previous file is kept as
//! `<name>.bak`; the result is validated before it is written, atomically), creates a missing state
//! directory (0700) and clears group/other permission bits on private files. Then every check runs
//! again and what is left is reported.
//!
//! Severities: `error` (the gateway will not start or is exposed), `warning` (should be fixed),
//! `info` (advice). Exit code 0 when no finding is above info, 1 otherwise.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use runtime::config::migrate::{self, Legacy};
use runtime::config::{ReadError, load, write};
use serde::Serialize;

use super::audit::{self, Finding, PortState, Severity, Subject};
use crate::Ctx;

/// Flags of `openclaw doctor`.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// Apply the migrations and fixes (the config is backed up to <name>.bak first).
    #[arg(long, visible_alias = "repair")]
    pub fix: bool,
    /// Print the report as JSON: {schemaVersion, ok, checksRun, checksSkipped, findings[]}.
    #[arg(long)]
    pub json: bool,
    /// Never prompt (doctor never does; accepted for scripts written for OpenClaw).
    #[arg(long)]
    pub non_interactive: bool,
}

/// Bound of each step of the port probe.
const PORT_PROBE: Duration = Duration::from_millis(1500);

/// The checks and what they found.
#[derive(Debug, Default)]
struct Report {
    findings: Vec<Finding>,
    run: usize,
    skipped: usize,
}

impl Report {
    fn ran(&mut self) {
        self.run += 1;
    }
}

/// The `--json` report (fields in this order).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    schema_version: u32,
    ok: bool,
    checks_run: usize,
    checks_skipped: usize,
    findings: &'a [Finding],
    /// What `--fix` did (only with `--fix`).
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed: Option<Vec<Fixed<'a>>>,
    /// The previous config, when `--fix` rewrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    backup: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Fixed<'a> {
    check_id: &'a str,
    message: &'a str,
}

fn id(name: &str) -> String {
    format!("core/doctor/{name}")
}

pub fn run(ctx: &mut Ctx<'_>, args: DoctorArgs) -> u8 {
    let subject = match Subject::load_or_report(ctx) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut fixed: Vec<(String, String)> = Vec::new();
    let mut backup = None;
    let mut fix_failed = false;
    let subject = if args.fix {
        fix(ctx, &subject, &mut fixed, &mut backup, &mut fix_failed);
        subject.reload(ctx)
    } else {
        subject
    };
    let report = checks(ctx, &subject);
    let ok = !audit::needs_attention(&report.findings) && !fix_failed;
    if args.json {
        let out = JsonReport {
            schema_version: 1,
            ok,
            checks_run: report.run,
            checks_skipped: report.skipped,
            findings: &report.findings,
            fixed: args.fix.then(|| {
                fixed
                    .iter()
                    .map(|(check_id, message)| Fixed { check_id, message })
                    .collect()
            }),
            backup: backup.as_ref().map(|b| b.display().to_string()),
        };
        crate::report::print_json(ctx.out, &out);
    } else {
        let mut s = format!(
            "OpenClaw doctor: {}\n",
            audit::shorten(ctx, &subject.config_path)
        );
        if args.fix {
            let lines: Vec<String> = fixed
                .iter()
                .map(|(check, message)| format!("{check}: {message}"))
                .collect();
            s.push_str(&audit::fixed_section(
                "Nothing to fix automatically.",
                &lines,
            ));
            if let Some(b) = &backup {
                s.push_str(&format!(
                    "Previous config kept as {}.\n",
                    audit::shorten(ctx, b)
                ));
            }
        }
        for f in &report.findings {
            s.push_str(&f.render());
        }
        let checks = format!(
            "{} checks run{}",
            report.run,
            if report.skipped > 0 {
                format!(", {} skipped", report.skipped)
            } else {
                String::new()
            }
        );
        if report.findings.is_empty() {
            s.push_str(&format!("{checks}: no problems found.\n"));
        } else if ok {
            s.push_str(&format!(
                "{checks}: nothing needs attention ({}).\n",
                audit::tally(&report.findings)
            ));
        } else {
            s.push_str(&format!("{checks}: {}.", audit::tally(&report.findings)));
            if report.findings.iter().any(|f| f.fixable) {
                s.push_str(" Run `openclaw doctor --fix` to apply the fixes marked fixable.");
            }
            s.push('\n');
        }
        let _ = ctx.out.write_all(s.as_bytes());
    }
    u8::from(!ok)
}

// ---------------------------------------------------------------------------------------------
// Checks

fn checks(ctx: &Ctx<'_>, subject: &Subject) -> Report {
    let mut r = Report::default();
    config_checks(ctx, subject, &mut r);
    state_dir(ctx, subject, &mut r);
    permissions(ctx, subject, &mut r);
    port(ctx, subject, &mut r);
    auth(ctx, subject, &mut r);
    secrets(subject, &mut r);
    service(ctx, &mut r);
    r
}

/// The main config file's text (byte-order mark dropped), when it can be read.
fn config_text(subject: &Subject) -> Option<String> {
    load::read_text(&subject.config_path).ok()
}

fn legacy_finding(l: &Legacy, subject: &Subject) -> Finding {
    let file = subject
        .config_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let severity = match l.kind {
        migrate::Kind::GatewayMode => Severity::Error,
        _ => Severity::Warning,
    };
    Finding::new(id(l.kind.id()), severity, l.message.clone())
        .path(l.path.clone())
        .location(l.line.map(|n| format!("{file}:{n}")))
        .fix(l.fix.clone())
        .fixable(l.automatic())
}

/// Config validity (as `config validate`) and legacy keys.
fn config_checks(ctx: &Ctx<'_>, subject: &Subject, r: &mut Report) {
    let shown = audit::shorten(ctx, &subject.config_path);
    r.ran();
    match &subject.checked.read_error {
        Some(ReadError::NotFound) => {
            r.findings.push(
                Finding::new(
                    id("config-missing"),
                    Severity::Error,
                    format!("no config file at {shown}; the gateway refuses to start without gateway.mode=local"),
                )
                .fix("run `openclaw setup` to create one with a generated token"),
            );
            r.skipped += 3;
            return;
        }
        Some(e) => {
            r.findings.push(
                Finding::new(
                    id("config-unreadable"),
                    Severity::Error,
                    format!("cannot read {shown}: {e}"),
                )
                .fix("make it a readable UTF-8 file (check its owner and permissions)"),
            );
            r.skipped += 3;
            return;
        }
        None => {}
    }
    // Legacy keys, from the main file's text.
    r.ran();
    let legacy = match config_text(subject).map(|t| migrate::detect_text(&t)) {
        Some(Ok(found)) => found,
        _ => {
            r.skipped += 1;
            Vec::new()
        }
    };
    // Validation, without the problems the legacy findings already describe.
    r.ran();
    // An unknown key is reported at its parent (`gateway: Unrecognized key: "token"`).
    let covered = |issue: &runtime::config::Issue| {
        legacy.iter().any(|l| {
            l.path == issue.path
                || l.path.rsplit_once('.').is_some_and(|(parent, key)| {
                    parent == issue.path && issue.message.contains(&format!("\"{key}\""))
                })
                || (issue.path.is_empty() && issue.message.contains(&format!("\"{}\"", l.path)))
        })
    };
    for issue in &subject.checked.errors {
        if issue.code == "openclaw::config::bind_without_auth" || covered(issue) {
            continue;
        }
        let mut message = issue.message.clone();
        if let Some(got) = &issue.got {
            message.push_str(&format!(", got: {got}"));
        }
        let mut f = Finding::new(id("config-invalid"), Severity::Error, message)
            .path(issue.display_path())
            .location(issue.span.and_then(|s| subject.location(s)));
        if let Some(h) = &issue.help {
            f = f.fix(h.clone());
        }
        r.findings.push(f);
    }
    for issue in &subject.checked.warnings {
        if issue.code == "openclaw::config::deprecated" {
            continue;
        }
        let mut f = Finding::new(
            id("config-warning"),
            Severity::Warning,
            issue.message.clone(),
        )
        .path(issue.display_path())
        .location(issue.span.and_then(|s| subject.location(s)));
        if let Some(h) = &issue.help {
            f = f.fix(h.clone());
        }
        r.findings.push(f);
    }
    r.findings
        .extend(legacy.iter().map(|l| legacy_finding(l, subject)));
}

fn state_dir(ctx: &Ctx<'_>, subject: &Subject, r: &mut Report) {
    r.ran();
    if !subject.state_dir.is_dir() {
        r.findings.push(
            Finding::new(
                id("state-dir"),
                Severity::Warning,
                format!(
                    "the state directory {} does not exist",
                    audit::shorten(ctx, &subject.state_dir)
                ),
            )
            .fix("create it with mode 0700 (`openclaw doctor --fix` or `openclaw setup`)")
            .fixable(true),
        );
    }
}

fn permissions(ctx: &Ctx<'_>, subject: &Subject, r: &mut Report) {
    r.ran();
    for p in audit::permission_problems(subject) {
        r.findings.push(
            Finding::new(id("permissions"), Severity::Warning, p.describe(ctx))
                .fix(format!(
                    "chmod {:o} {}",
                    p.fixed_mode(),
                    audit::shorten(ctx, &p.path)
                ))
                .fixable(true),
        );
    }
}

fn port(ctx: &Ctx<'_>, subject: &Subject, r: &mut Report) {
    r.ran();
    let (port, source) = match audit::resolve_port(ctx, subject) {
        Ok(p) => p,
        Err(e) => {
            r.findings
                .push(Finding::new(id("port"), Severity::Error, e).fix(
                    "set gateway.port (or OPENCLAW_GATEWAY_PORT) to a number from 1 to 65535",
                ));
            return;
        }
    };
    if let PortState::Other(listeners) = audit::probe_port(port, PORT_PROBE) {
        let who = if listeners.is_empty() {
            "another program".to_string()
        } else {
            listeners
                .iter()
                .map(|(pid, name)| {
                    if name.is_empty() {
                        format!("pid {pid}")
                    } else {
                        format!("{name} (pid {pid})")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        r.findings.push(
            Finding::new(
                id("port-in-use"),
                Severity::Error,
                format!("port {port} ({source}) is taken by {who}, which is not an OpenClaw gateway; the gateway cannot start there"),
            )
            .path("gateway.port")
            .fix("stop that program, or set gateway.port to a free port (`openclaw gateway --force` stops whatever listens on the port)"),
        );
    }
}

fn auth(ctx: &Ctx<'_>, subject: &Subject, r: &mut Report) {
    r.ran();
    if subject.checked.root.is_none() {
        return;
    }
    let e = audit::Exposure::of(ctx, subject);
    if e.non_loopback && !e.has_auth() {
        let why = if e.auth_mode == "none" && subject.str_at("/gateway/auth/mode") == Some("none") {
            "auth mode is \"none\"".to_string()
        } else {
            format!("auth mode \"{}\" has no credential", e.auth_mode)
        };
        r.findings.push(
            Finding::new(
                id("auth-exposure"),
                Severity::Error,
                format!("gateway.bind \"{}\" is reachable from other machines but {why}; the gateway refuses to start like this", e.bind),
            )
            .path("gateway.auth")
            .location(subject.location_of("gateway.bind"))
            .fix("set gateway.auth.token (or OPENCLAW_GATEWAY_TOKEN), or bind to loopback"),
        );
    }
}

fn secrets(subject: &Subject, r: &mut Report) {
    if subject.checked.root.is_none() {
        r.skipped += 1;
        return;
    }
    r.ran();
    for s in audit::plaintext_secrets(&subject.checked) {
        r.findings.push(
            Finding::new(
                id("plaintext-secret"),
                Severity::Info,
                "a secret is written in the config as plain text",
            )
            .path(s.path.clone())
            .location(Some(Subject::secret_location(&s)))
            .fix(format!(
                "use a SecretRef instead, e.g. {} with the value in ${}",
                s.secret_ref(),
                s.env_var
            )),
        );
    }
}

fn service(ctx: &Ctx<'_>, r: &mut Report) {
    r.ran();
    for line in crate::cmd::service::unit_drift(ctx) {
        r.findings.push(
            Finding::new(id("service-drift"), Severity::Warning, line)
                .fix("run `openclaw gateway install` to rewrite the service unit, then `openclaw gateway restart`"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// --fix

fn fix(
    ctx: &Ctx<'_>,
    subject: &Subject,
    fixed: &mut Vec<(String, String)>,
    backup: &mut Option<std::path::PathBuf>,
    failed: &mut bool,
) {
    // 1. The state directory.
    if !subject.state_dir.is_dir() {
        let made = std::fs::create_dir_all(&subject.state_dir).and_then(|()| {
            std::fs::set_permissions(&subject.state_dir, std::fs::Permissions::from_mode(0o700))
        });
        match made {
            Ok(()) => fixed.push((
                id("state-dir"),
                format!(
                    "created {} (mode 0700)",
                    audit::shorten(ctx, &subject.state_dir)
                ),
            )),
            Err(e) => {
                *failed = true;
                fixed.push((
                    id("state-dir"),
                    format!(
                        "could not create {}: {e}",
                        audit::shorten(ctx, &subject.state_dir)
                    ),
                ));
            }
        }
    }
    // 2. Legacy keys.
    if subject.config_exists() && subject.checked.read_error.is_none() {
        migrate_config(ctx, subject, fixed, backup, failed);
    }
    // 3. Permissions (after the write, so the backup is covered too).
    let (lines, chmod_failed) = audit::fix_permissions(ctx, &subject.reload(ctx));
    *failed |= chmod_failed;
    fixed.extend(lines.into_iter().map(|l| (id("permissions"), l)));
}

fn migrate_config(
    ctx: &Ctx<'_>,
    subject: &Subject,
    fixed: &mut Vec<(String, String)>,
    backup: &mut Option<std::path::PathBuf>,
    failed: &mut bool,
) {
    let path =
        std::fs::canonicalize(&subject.config_path).unwrap_or_else(|_| subject.config_path.clone());
    let shown = audit::shorten(ctx, &subject.config_path);
    let Some(text) = config_text(subject) else {
        return;
    };
    let migrated = match migrate::apply(&text) {
        Ok(m) => m,
        // Not JSON5: the validation findings say where; nothing can be migrated.
        Err(_) => return,
    };
    if migrated.applied.is_empty() {
        return;
    }
    // The result must not be worse than the file: every problem it has, the file had already.
    let before = runtime::config::validate_file(&path, ctx.env);
    let after = runtime::config::check_text_with(&path, migrated.text.clone(), ctx.env, false);
    let new_problems: Vec<String> = after
        .errors
        .iter()
        .filter(|a| {
            !before
                .errors
                .iter()
                .any(|b| b.path == a.path && b.message == a.message)
        })
        .map(|a| format!("{}: {}", a.display_path(), a.message))
        .collect();
    if !new_problems.is_empty() {
        *failed = true;
        fixed.push((
            id("legacy-config"),
            format!(
                "did not migrate {shown}: the result would have new problems ({}); the file was not changed",
                new_problems.join("; ")
            ),
        ));
        return;
    }
    let bom = std::fs::read(&path).is_ok_and(|b| b.starts_with(&[0xEF, 0xBB, 0xBF]));
    let bytes = if bom {
        format!("\u{feff}{}", migrated.text)
    } else {
        migrated.text.clone()
    };
    match write::write_atomic(&subject.config_path, bytes.as_bytes()) {
        Ok(outcome) => {
            *backup = outcome.backup;
            for l in &migrated.applied {
                fixed.push((id(l.kind.id()), format!("{}: {}", l.path, l.fix)));
            }
        }
        Err(e) => {
            *failed = true;
            fixed.push((
                id("legacy-config"),
                format!("could not write {shown}: {e}; the file was not changed"),
            ));
        }
    }
}
