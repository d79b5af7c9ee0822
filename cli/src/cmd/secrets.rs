//! `openclaw secrets audit [--check] [--json]`: lists the secrets written into the config (and
//! the files it `$include`s) as plain text, with `file:line`, and the SecretRef to use instead.
//! Values are never printed. `--check` exits 1 when any are found (for CI).

use serde::Serialize;
use serde_json::json;

use super::audit::{self, Subject};
use crate::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum SecretsCommand {
    /// List plaintext secrets in the config, with file:line.
    Audit(SecretsAuditArgs),
}

/// Flags of `openclaw secrets audit`.
#[derive(Debug, Clone, clap::Args)]
pub struct SecretsAuditArgs {
    /// Exit with code 1 when any plaintext secret is found.
    #[arg(long)]
    pub check: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` report (fields in this order).
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    ok: bool,
    path: String,
    exists: bool,
    count: usize,
    secrets: Vec<SecretJson<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretJson<'a> {
    path: &'a str,
    file: String,
    line: usize,
    column: usize,
    env_var: &'a str,
    suggestion: String,
}

pub fn run(ctx: &mut Ctx<'_>, command: SecretsCommand) -> u8 {
    match command {
        SecretsCommand::Audit(args) => audit_cmd(ctx, &args),
    }
}

fn audit_cmd(ctx: &mut Ctx<'_>, args: &SecretsAuditArgs) -> u8 {
    let subject = match Subject::load_or_report(ctx) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let shown = audit::shorten(ctx, &subject.config_path);
    if !subject.config_exists() {
        if args.json {
            let v = JsonReport {
                ok: true,
                path: subject.config_path.display().to_string(),
                exists: false,
                count: 0,
                secrets: Vec::new(),
            };
            crate::report::print_json(ctx.out, &v);
        } else {
            let _ = writeln!(ctx.out, "No config file at {shown}: no secrets to audit.");
        }
        return 0;
    }
    if subject.checked.root.is_none() {
        let why = match &subject.checked.read_error {
            Some(e) => e.to_string(),
            None => subject
                .checked
                .errors
                .first()
                .map(|i| i.message.clone())
                .unwrap_or_else(|| "it does not parse".into()),
        };
        let message =
            format!("Cannot audit {shown}: {why}. Run `openclaw config validate` to see where.");
        if args.json {
            let v = json!({ "ok": false, "path": subject.config_path.display().to_string(), "error": message });
            crate::report::print_json(ctx.out, &v);
        } else {
            let _ = writeln!(ctx.err, "{message}");
        }
        return 1;
    }
    let found = audit::plaintext_secrets(&subject.checked);
    if args.json {
        let v = JsonReport {
            ok: found.is_empty(),
            path: subject.config_path.display().to_string(),
            exists: true,
            count: found.len(),
            secrets: found
                .iter()
                .map(|s| SecretJson {
                    path: &s.path,
                    file: s.file.display().to_string(),
                    line: s.line,
                    column: s.column,
                    env_var: &s.env_var,
                    suggestion: s.secret_ref(),
                })
                .collect(),
        };
        crate::report::print_json(ctx.out, &v);
    } else if found.is_empty() {
        let _ = writeln!(ctx.out, "No plaintext secrets in {shown}.");
    } else {
        let mut s = format!(
            "{} plaintext secret{} in {shown}:\n",
            found.len(),
            if found.len() == 1 { "" } else { "s" }
        );
        for p in &found {
            s.push_str(&format!(
                "  {}:{}:{}  {}\n    use: {}\n",
                audit::shorten(ctx, &p.file),
                p.line,
                p.column,
                p.path,
                p.secret_ref()
            ));
        }
        s.push_str("Move each value into the environment (or a secrets provider) and put the SecretRef in its place; `openclaw config set <path> '<SecretRef>'` keeps the file's comments.\n");
        let _ = ctx.out.write_all(s.as_bytes());
    }
    u8::from(args.check && !found.is_empty())
}
