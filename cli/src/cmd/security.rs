//! `openclaw security audit [--deep] [--fix] [--json]`: how exposed the gateway is and how well it
//! is protected — non-loopback binds, missing, weak or short credentials, `trusted-proxy` mode
//! (always critical), a hooks token that reuses a gateway credential, `dangerously*` flags,
//! Tailscale Funnel, and permissions of the state directory and the files that hold secrets.
//! `--deep` also looks at what the running gateway actually listens on and at secrets left behind
//! in the config backup. `--fix` tightens permissions (the only thing it changes).
//!
//! Severities: `critical` (exploitable as configured), `warning` (weakens protection), `info`.
//! Exit code 0 when no finding is above info, 1 otherwise.

use serde::Serialize;
use serde_json::Value;

use super::audit::{self, CredSource, Finding, Severity, Subject};
use crate::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum SecurityCommand {
    /// Report exposure, weak auth and dangerous settings.
    Audit(SecurityAuditArgs),
}

/// Flags of `openclaw security audit`.
#[derive(Debug, Clone, clap::Args)]
pub struct SecurityAuditArgs {
    /// Also check what the running gateway listens on and secrets left in the config backup.
    #[arg(long)]
    pub deep: bool,
    /// Tighten permissions of the state directory and the files holding secrets.
    #[arg(long)]
    pub fix: bool,
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` report (fields in this order).
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    ok: bool,
    path: String,
    deep: bool,
    summary: Summary,
    findings: &'a [Finding],
    /// What `--fix` changed (only with `--fix`).
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed: Option<&'a Vec<String>>,
}

#[derive(Debug, Serialize)]
struct Summary {
    critical: usize,
    warning: usize,
    info: usize,
}

fn id(name: &str) -> String {
    format!("security/{name}")
}

pub fn run(ctx: &mut Ctx<'_>, command: SecurityCommand) -> u8 {
    match command {
        SecurityCommand::Audit(args) => audit_cmd(ctx, &args),
    }
}

fn audit_cmd(ctx: &mut Ctx<'_>, args: &SecurityAuditArgs) -> u8 {
    let subject = match Subject::load_or_report(ctx) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (fixed, fix_failed) = if args.fix {
        audit::fix_permissions(ctx, &subject)
    } else {
        (Vec::new(), false)
    };
    let subject = if args.fix {
        subject.reload(ctx)
    } else {
        subject
    };
    let findings = checks(ctx, &subject, args.deep);
    let ok = !audit::needs_attention(&findings) && !fix_failed;
    if args.json {
        let count = |sev| findings.iter().filter(|f| f.severity == sev).count();
        let out = JsonReport {
            ok,
            path: subject.config_path.display().to_string(),
            deep: args.deep,
            summary: Summary {
                critical: count(Severity::Critical),
                warning: count(Severity::Warning),
                info: count(Severity::Info),
            },
            findings: &findings,
            fixed: args.fix.then_some(&fixed),
        };
        crate::report::print_json(ctx.out, &out);
    } else {
        let mut s = format!(
            "OpenClaw security audit: {}\n",
            audit::shorten(ctx, &subject.config_path)
        );
        if args.fix {
            s.push_str(&audit::fixed_section(
                "Permissions were already tight; nothing changed.",
                &fixed,
            ));
        }
        for f in &findings {
            s.push_str(&f.render());
        }
        if findings.is_empty() {
            s.push_str("No findings.\n");
        } else {
            s.push_str(&format!("Summary: {}.", audit::tally(&findings)));
            if findings.iter().any(|f| f.fixable) {
                s.push_str(" Run `openclaw security audit --fix` to tighten permissions.");
            }
            s.push('\n');
        }
        let _ = ctx.out.write_all(s.as_bytes());
    }
    u8::from(!ok)
}

fn checks(ctx: &Ctx<'_>, subject: &Subject, deep: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let shown = audit::shorten(ctx, &subject.config_path);
    if subject.config_exists() && subject.checked.root.is_none() {
        out.push(
            Finding::new(
                id("config-unreadable"),
                Severity::Warning,
                format!("{shown} could not be parsed, so its settings were not audited"),
            )
            .fix("run `openclaw config validate` and fix the file"),
        );
    }
    exposure(ctx, subject, &mut out);
    hooks(subject, &mut out);
    dangerous_flags(subject, &mut out);
    permissions(ctx, subject, &mut out);
    for s in audit::plaintext_secrets(&subject.checked) {
        out.push(
            Finding::new(
                id("plaintext-secret"),
                Severity::Info,
                "a secret is written in the config as plain text",
            )
            .path(s.path.clone())
            .location(Some(Subject::secret_location(&s)))
            .fix(format!("use a SecretRef instead, e.g. {}", s.secret_ref())),
        );
    }
    if deep {
        deep_checks(ctx, subject, &mut out);
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn exposure(ctx: &Ctx<'_>, subject: &Subject, out: &mut Vec<Finding>) {
    if subject.checked.root.is_none() {
        return;
    }
    let e = audit::Exposure::of(ctx, subject);
    let bind_loc = subject.location_of("gateway.bind");
    if e.non_loopback {
        if e.has_auth() {
            out.push(
                Finding::new(
                    id("exposure"),
                    Severity::Warning,
                    format!("the gateway is reachable from other machines (gateway.bind \"{}\")", e.bind),
                )
                .path("gateway.bind")
                .location(bind_loc)
                .fix("bind to loopback and reach it through an SSH tunnel or Tailscale Serve, unless other machines must connect"),
            );
        } else {
            out.push(
                Finding::new(
                    id("exposure"),
                    Severity::Critical,
                    format!("the gateway is reachable from other machines (gateway.bind \"{}\") without auth (mode \"{}\")", e.bind, e.auth_mode),
                )
                .path("gateway.bind")
                .location(bind_loc)
                .fix("set gateway.auth.token to a long random secret, or bind to loopback"),
            );
        }
    }
    if e.tailscale == "funnel" {
        out.push(
            Finding::new(
                id("tailscale-funnel"),
                Severity::Warning,
                "Tailscale Funnel publishes the gateway on the public internet",
            )
            .path("gateway.tailscale.mode")
            .location(subject.location_of("gateway.tailscale.mode"))
            .fix("use tailscale mode \"serve\" (tailnet only) unless the gateway must be public"),
        );
    }
    if e.auth_mode == "trusted-proxy" {
        out.push(
            Finding::new(
                id("trusted-proxy"),
                Severity::Critical,
                "auth mode \"trusted-proxy\" lets in whoever the proxy's identity header names: anything that reaches the gateway from a trusted address, or bypasses the proxy, is trusted without a credential",
            )
            .path("gateway.auth.mode")
            .location(subject.location_of("gateway.auth.mode"))
            .fix("prefer token or password auth; if a proxy must authenticate, bind to loopback, keep gateway.trustedProxies to the proxy's exact address and set auth.trustedProxy.requiredHeaders"),
        );
    }
    for (what, cred, path) in [
        ("token", &e.token, "gateway.auth.token"),
        ("password", &e.password, "gateway.auth.password"),
    ] {
        let Some((value, source)) = cred else {
            continue;
        };
        if *source == CredSource::SecretRef {
            continue;
        }
        let Some((why, bad)) = audit::weak_secret(value) else {
            continue;
        };
        let from = match source {
            CredSource::Env => format!("OPENCLAW_GATEWAY_{}", what.to_ascii_uppercase()),
            _ => path.to_string(),
        };
        let severity = if bad {
            Severity::Critical
        } else {
            Severity::Warning
        };
        out.push(
            Finding::new(
                id(&format!("weak-{what}")),
                severity,
                format!("the gateway {what} ({from}) {why}"),
            )
            .path(path)
            .location(if *source == CredSource::Config {
                subject.location_of(path)
            } else {
                None
            })
            .fix(format!(
                "use a random secret of at least {} characters (e.g. `openssl rand -hex 24`)",
                audit::GOOD_SECRET_LEN
            )),
        );
    }
}

/// Hooks must not share a credential with the gateway.
fn hooks(subject: &Subject, out: &mut Vec<Finding>) {
    let Some(hook) = subject.str_at("/hooks/token").filter(|s| !s.is_empty()) else {
        return;
    };
    for other in [
        "gateway.auth.token",
        "gateway.auth.password",
        "gateway.remote.token",
        "gateway.remote.password",
        "gateway.token",
    ] {
        let pointer = format!("/{}", other.replace('.', "/"));
        if subject.str_at(&pointer) == Some(hook) {
            out.push(
                Finding::new(
                    id("hooks-token-reuse"),
                    Severity::Critical,
                    format!("hooks.token is the same secret as {other}: whoever can call a webhook can also control the gateway"),
                )
                .path("hooks.token")
                .location(subject.location_of("hooks.token"))
                .fix("give hooks their own random token"),
            );
        }
    }
}

/// Every `dangerously*` flag that is on, and `controlUi.allowInsecureAuth`.
fn dangerous_flags(subject: &Subject, out: &mut Vec<Finding>) {
    fn walk(v: &Value, path: &str, depth: usize, hits: &mut Vec<String>) {
        if depth > 32 {
            return;
        }
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    if (k.starts_with("dangerously") || p == "gateway.controlUi.allowInsecureAuth")
                        && *child == Value::Bool(true)
                    {
                        hits.push(p.clone());
                    }
                    walk(child, &p, depth + 1, hits);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}.{i}"), depth + 1, hits);
                }
            }
            _ => {}
        }
    }
    let mut hits = Vec::new();
    walk(&subject.tree, "", 0, &mut hits);
    for p in hits {
        let (severity, why) = match p.as_str() {
            "gateway.controlUi.dangerouslyDisableDeviceAuth" => (
                Severity::Critical,
                "the Control UI skips device pairing: anyone with the shared secret gets a full operator session from any browser",
            ),
            "gateway.controlUi.allowInsecureAuth" => (
                Severity::Warning,
                "the Control UI accepts auth over plain HTTP, where the secret can be read on the network",
            ),
            "gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback" => (
                Severity::Warning,
                "the Control UI trusts the Host header when a browser sends no Origin, which weakens cross-site protection",
            ),
            _ => (Severity::Warning, "a safety check is switched off"),
        };
        out.push(
            Finding::new(id("dangerous-flag"), severity, why)
                .location(subject.location_of(&p))
                .path(p)
                .fix("set it to false (or remove it) unless this is an isolated test setup"),
        );
    }
}

fn permissions(ctx: &Ctx<'_>, subject: &Subject, out: &mut Vec<Finding>) {
    for p in audit::permission_problems(subject) {
        let severity = if p.mode & 0o007 != 0 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        out.push(
            Finding::new(id("permissions"), severity, p.describe(ctx))
                .fix(format!(
                    "chmod {:o} {}",
                    p.fixed_mode(),
                    audit::shorten(ctx, &p.path)
                ))
                .fixable(true),
        );
    }
}

fn deep_checks(ctx: &Ctx<'_>, subject: &Subject, out: &mut Vec<Finding>) {
    // What the running gateway really listens on (flags and env can differ from the config).
    if let Some(run) = &subject.run {
        let exposed: Vec<&String> = run
            .listen
            .iter()
            .filter(|a| {
                a.parse::<std::net::SocketAddr>()
                    .is_ok_and(|s| !s.ip().is_loopback())
            })
            .collect();
        if !exposed.is_empty() {
            let list: Vec<&str> = exposed.iter().map(|s| s.as_str()).collect();
            out.push(
                Finding::new(
                    id("live-exposure"),
                    Severity::Warning,
                    format!(
                        "the running gateway (pid {}) listens on {}",
                        run.pid,
                        list.join(", ")
                    ),
                )
                .fix("restart it with --bind loopback unless other machines must connect"),
            );
        }
    }
    // Secrets that only the backup still has (a replaced token lingers there).
    let bak = runtime::config::write::backup_path(&subject.config_path);
    let Ok(text) = runtime::config::load::read_text(&bak) else {
        return;
    };
    let checked = runtime::config::check_text_with(&bak, text, ctx.env, false);
    let Some(root) = &checked.root else {
        return;
    };
    let old_tree = root.to_json();
    for s in audit::plaintext_secrets(&checked) {
        if s.file != bak {
            continue;
        }
        let pointer = format!("/{}", s.path.replace('.', "/"));
        if old_tree.pointer(&pointer) != subject.tree.pointer(&pointer) {
            out.push(
                Finding::new(
                    id("backup-secret"),
                    Severity::Warning,
                    format!(
                        "{} still holds a plaintext secret the config no longer has",
                        audit::shorten(ctx, &bak)
                    ),
                )
                .path(s.path.clone())
                .location(Some(Subject::secret_location(&s)))
                .fix("delete the backup once the current config works (and rotate the secret if it was replaced because it leaked)"),
            );
        }
    }
}
