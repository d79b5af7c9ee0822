//! `openclaw config validate | file | get | schema | set | unset | patch`.

use std::path::PathBuf;

use runtime::config::diagnostics::display_name;
use runtime::config::paths;
use runtime::config::resolve::{CliValues, resolve_path};

use crate::report;
use crate::{ConfigCommand, Ctx, Format};

pub fn run(ctx: &mut Ctx<'_>, command: ConfigCommand) -> u8 {
    match command {
        ConfigCommand::Validate { json, format, file } => {
            let format = match (json, format) {
                (true, Some(f)) if f != Format::Json => {
                    let _ = writeln!(
                        ctx.err,
                        "error: --json cannot be combined with --format {f:?}"
                    );
                    return crate::EXIT_USAGE;
                }
                (true, _) => Format::Json,
                (false, f) => f.unwrap_or(Format::Text),
            };
            validate(ctx, format, file)
        }
        ConfigCommand::File => match config_path(ctx) {
            Ok(p) => {
                let _ = writeln!(ctx.out, "{}", display_name(&p));
                0
            }
            Err(code) => code,
        },
        ConfigCommand::Get {
            path,
            json,
            show_origin,
        } => get(ctx, &path, json, show_origin),
        ConfigCommand::Schema => {
            let _ = ctx
                .out
                .write_all(runtime::generated::CONFIG_SCHEMA_JSON.as_bytes());
            0
        }
        ConfigCommand::Set(args) => {
            let value = if args.strict_json {
                match serde_json::from_str(&args.value) {
                    Ok(v) => v,
                    Err(e) => {
                        return edit::usage(
                            ctx,
                            &args.flags,
                            format!(
                                "--strict-json: the value is not valid JSON ({e}); quote strings, e.g. '\"text\"'"
                            ),
                        );
                    }
                }
            } else {
                // JSON5 when it parses (numbers, booleans, objects, quoted strings); otherwise the
                // text itself is the string — unless it was clearly meant as an object or a list.
                match runtime::config::edit::parse_value(&args.value) {
                    Ok(v) => v,
                    Err(e) if args.value.trim_start().starts_with(['{', '[']) => {
                        return edit::usage(
                            ctx,
                            &args.flags,
                            format!(
                                "The value looks like an object or a list but is {e}; fix it, or quote it ('\"…\"') to store it as text"
                            ),
                        );
                    }
                    Err(_) => serde_json::Value::String(args.value.clone()),
                }
            };
            edit::run(
                ctx,
                edit::Op::Set {
                    path: args.path,
                    value,
                },
                &args.flags,
            )
        }
        ConfigCommand::Unset(args) => {
            edit::run(ctx, edit::Op::Unset { path: args.path }, &args.flags)
        }
        ConfigCommand::Patch(args) => {
            let patch = match edit::read_patch(&args.file) {
                Ok(p) => p,
                Err((code, message)) if code == crate::EXIT_USAGE => {
                    return edit::usage(ctx, &args.flags, message);
                }
                Err((code, message)) => {
                    return edit::fail(ctx, &args.flags, None, "io", message, code);
                }
            };
            edit::run(
                ctx,
                edit::Op::Patch {
                    patch,
                    replace_paths: args.replace_paths,
                },
                &args.flags,
            )
        }
    }
}

/// Resolves the config path from env and the global flags; prints the error and returns the exit
/// code on failure.
pub fn config_path(ctx: &mut Ctx<'_>) -> Result<PathBuf, u8> {
    paths::config_path(ctx.env, &ctx.profile, &ctx.cwd).map_err(|e| {
        let _ = writeln!(ctx.err, "[openclaw] {e}");
        crate::EXIT_USAGE
    })
}

fn validate(ctx: &mut Ctx<'_>, format: Format, file: Option<PathBuf>) -> u8 {
    let path = match file {
        Some(f) => paths::expand_user(
            &f.to_string_lossy(),
            paths::home(ctx.env).as_deref(),
            &ctx.cwd,
        ),
        None => match config_path(ctx) {
            Ok(p) => p,
            Err(code) => return code,
        },
    };
    let checked = runtime::config::validate_file(&path, ctx.env);
    match format {
        Format::Text => {
            let (out, err) = report::text(&checked, ctx.color);
            let _ = ctx.out.write_all(out.as_bytes());
            let _ = ctx.err.write_all(err.as_bytes());
        }
        Format::Json => {
            let (value, pretty) = report::json(&checked);
            let text = if pretty {
                serde_json::to_string_pretty(&value)
            } else {
                serde_json::to_string(&value)
            };
            let _ = writeln!(ctx.out, "{}", text.unwrap_or_default());
        }
        Format::Github => {
            let _ = ctx
                .out
                .write_all(report::github(&checked, &ctx.cwd).as_bytes());
            let summary = if checked.is_valid() {
                format!("Config valid: {}\n", display_name(&checked.path))
            } else {
                format!(
                    "OpenClaw config is invalid: {} ({} problem(s))\n",
                    display_name(&checked.path),
                    checked.errors.len()
                )
            };
            let _ = ctx.err.write_all(summary.as_bytes());
        }
    }
    u8::from(!checked.is_valid())
}

/// `agents.list[0].id` → `agents.list.0.id`.
fn normalize_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        match c {
            '[' => out.push('.'),
            ']' => {}
            c => out.push(c),
        }
    }
    out.trim_matches('.').to_string()
}

fn get(ctx: &mut Ctx<'_>, raw_path: &str, json: bool, show_origin: bool) -> u8 {
    let config = match config_path(ctx) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let path = normalize_path(raw_path);
    let mut checked = runtime::config::validate_file(&config, ctx.env);
    if let Some(e) = &checked.read_error
        && *e != runtime::config::ReadError::NotFound
    {
        let _ = writeln!(ctx.err, "Cannot read {}: {e}", display_name(&config));
        return 1;
    }
    if checked.root.is_none() && checked.read_error.is_none() {
        let (_, err) = report::text(&checked, ctx.color);
        let _ = ctx.err.write_all(err.as_bytes());
        return 1;
    }
    let cli = CliValues::new();
    let root = checked.root.take();
    match resolve_path(&path, root.as_ref(), &mut checked.sources, &cli, ctx.env) {
        Ok(Some(r)) => {
            if json {
                let v = if show_origin {
                    serde_json::json!({ "path": path, "value": r.value, "origin": r.origin.to_string() })
                } else {
                    r.value
                };
                report::print_json(ctx.out, &v);
            } else {
                let shown = match &r.value {
                    serde_json::Value::String(s) => s.clone(),
                    other => serde_json::to_string_pretty(other).unwrap_or_default(),
                };
                if show_origin {
                    let _ = writeln!(ctx.out, "{shown}\t# {}", r.origin);
                } else {
                    let _ = writeln!(ctx.out, "{shown}");
                }
            }
            0
        }
        Ok(None) => {
            let _ = writeln!(ctx.err, "Config path not found: {raw_path}");
            1
        }
        Err(issue) => {
            let _ = writeln!(ctx.err, "{}: {}", issue.display_path(), issue.message);
            1
        }
    }
}

/// `config set | unset | patch`: edit the text, validate the result with the same pipeline as
/// `config validate`, write it atomically, and say what a running gateway will do.
mod edit {
    use std::io::Read;
    use std::path::Path;

    use runtime::config::diagnostics::display_name;
    use runtime::config::diff::{Change, Diff};
    use runtime::config::edit::{self as ed, EditError, EditErrorKind};
    use runtime::config::reload::reload_class;
    use runtime::config::{Config, ReadError, load, paths, write};
    use runtime::gateway::reload::Plan;
    use runtime::gateway::runfile;
    use serde_json::{Value, json};

    use crate::report;
    use crate::{ConfigEditFlags, Ctx, EXIT_USAGE};

    /// What to do to the file.
    #[derive(Debug)]
    pub enum Op {
        Set {
            path: String,
            value: Value,
        },
        Unset {
            path: String,
        },
        Patch {
            patch: Value,
            replace_paths: Vec<String>,
        },
    }

    /// A gateway that is running now.
    #[derive(Debug)]
    struct Running {
        pid: u32,
        /// The config file it loaded, when that is not the one edited.
        other_config: Option<String>,
    }

    /// Prints a usage error (exit 2).
    pub fn usage(ctx: &mut Ctx<'_>, flags: &ConfigEditFlags, message: String) -> u8 {
        fail(ctx, flags, None, "usage", message, EXIT_USAGE)
    }

    /// Prints an error as text or JSON and returns `code`.
    pub fn fail(
        ctx: &mut Ctx<'_>,
        flags: &ConfigEditFlags,
        path: Option<&Path>,
        kind: &str,
        message: String,
        code: u8,
    ) -> u8 {
        if flags.json {
            let v = json!({
                "ok": false,
                "path": path.map(|p| p.display().to_string()),
                "error": { "type": kind, "message": message },
                "wrote": false,
            });
            report::print_json(ctx.out, &v);
        } else {
            let _ = writeln!(ctx.err, "{message}");
        }
        code
    }

    /// Reads a merge patch (JSON5) from a file or, for `-`, standard input.
    pub fn read_patch(file: &str) -> Result<Value, (u8, String)> {
        let text = if file == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| (1, format!("Cannot read the patch from standard input: {e}")))?;
            s
        } else {
            std::fs::read_to_string(file)
                .map_err(|e| (1, format!("Cannot read the patch file {file}: {e}")))?
        };
        let where_ = if file == "-" { "standard input" } else { file };
        let patch = ed::parse_value(&text)
            .map_err(|e| (EXIT_USAGE, format!("The patch in {where_} is {e}")))?;
        if !patch.is_object() {
            return Err((
                EXIT_USAGE,
                format!(
                    "The patch in {where_} must be a JSON5 object (a merge patch such as {{gateway: {{port: 19001}}}}), not {}",
                    ed::json_type(&patch)
                ),
            ));
        }
        Ok(patch)
    }

    fn exit_code(e: &EditError) -> u8 {
        match e.kind {
            EditErrorKind::BadPath | EditErrorKind::BadPatch => EXIT_USAGE,
            _ => 1,
        }
    }

    fn running_gateway(ctx: &Ctx<'_>, config: &Path) -> Option<Running> {
        let state_dir = paths::state_dir(ctx.env, &ctx.profile, &ctx.cwd).ok()?;
        let info = runfile::read(&state_dir).filter(|r| crate::cmd::rpc::pid_alive(r.pid))?;
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let theirs = Path::new(&info.config_path);
        let other_config = (!info.config_path.is_empty() && canon(theirs) != canon(config))
            .then(|| display_name(theirs));
        Some(Running {
            pid: info.pid,
            other_config,
        })
    }

    /// `a`, `a and b`, `a, b and c`.
    fn list(items: &[String]) -> String {
        match items {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        }
    }

    fn base_name(p: &Path) -> String {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    pub fn run(ctx: &mut Ctx<'_>, op: Op, flags: &ConfigEditFlags) -> u8 {
        let given = match super::config_path(ctx) {
            Ok(p) => p,
            Err(code) => return code,
        };
        // Includes resolve against the real location, as `config validate` does.
        let path = std::fs::canonicalize(&given)
            .unwrap_or_else(|_| std::path::absolute(&given).unwrap_or_else(|_| given.clone()));
        let shown = display_name(&path);
        let old_text = match load::read_text(&path) {
            Ok(t) => Some(t),
            Err(ReadError::NotFound) => None,
            Err(e) => {
                return fail(
                    ctx,
                    flags,
                    Some(&path),
                    "io",
                    format!("Cannot read {shown}: {e}"),
                    1,
                );
            }
        };
        let before = old_text.as_deref().unwrap_or("");

        // 1. The edit, on the text.
        let label = match &op {
            Op::Set { path: p, .. } | Op::Unset { path: p } => ed::parse_path(p)
                .map(|s| ed::format_path(&s))
                .unwrap_or_else(|_| p.clone()),
            Op::Patch { .. } => String::new(),
        };
        let removing = matches!(op, Op::Unset { .. });
        let edited = match &op {
            Op::Set { path: p, value } => ed::set(before, p, value),
            Op::Unset { path: p } => ed::unset(before, p).map(|(t, _)| t),
            Op::Patch {
                patch,
                replace_paths,
            } => ed::merge_patch(before, patch, replace_paths).map(|p| p.text),
        };
        let new_text = match edited {
            Ok(t) => t,
            Err(e) => {
                let code = exit_code(&e);
                let mut message = format!("Cannot edit {shown}: {e}");
                if e.kind == EditErrorKind::Syntax {
                    let checked = runtime::config::check_text(&path, before.to_string(), ctx.env);
                    let (_, err) = report::text(&checked, ctx.color);
                    message = format!("{message}\n{}", err.trim_end());
                }
                return fail(ctx, flags, Some(&path), "edit", message, code);
            }
        };
        let before_tree = parse_tree(before);
        let after_tree = parse_tree(&new_text);
        let changed = ed::changed_paths(&before_tree, &after_tree);
        let running = running_gateway(ctx, &path);

        // 2. Nothing to do.
        if new_text == before {
            let what = match &op {
                Op::Set { .. } => format!("{label} already has that value in {shown}"),
                Op::Unset { .. } => format!("{label} is not set in {shown}"),
                Op::Patch { .. } => format!("the patch changes nothing in {shown}"),
            };
            if flags.json {
                print_json(
                    ctx,
                    &path,
                    &[],
                    &Plan::default(),
                    running.as_ref(),
                    false,
                    None,
                    flags,
                    "",
                );
            } else {
                let _ = writeln!(ctx.out, "No change: {what}; nothing was written.");
            }
            return 0;
        }

        // 3. The result must be a valid config (includes and ${VAR}s resolved as for real).
        let checked = runtime::config::check_text(&path, new_text.clone(), ctx.env);
        let old_checked = old_text
            .as_ref()
            .map(|t| runtime::config::check_text(&path, t.clone(), ctx.env));
        if !checked.is_valid() {
            let note = if old_checked.as_ref().is_some_and(|c| !c.is_valid()) {
                "\nThe file was already invalid before this edit: fix every problem in one go with `openclaw config patch`, or edit the file by hand."
            } else {
                ""
            };
            if flags.json {
                let (report, _) = report::json(&checked);
                let v = json!({
                    "ok": false,
                    "path": path.display().to_string(),
                    "error": { "type": "invalid_result", "message": format!("the edited config would be invalid; {shown} was not changed") },
                    "issues": report.get("issues").cloned().unwrap_or(Value::Array(Vec::new())),
                    "changedPaths": changed,
                    "wrote": false,
                });
                report::print_json(ctx.out, &v);
            } else {
                // validate's problem lines and snippets (they point into the edited text), without
                // its header and doctor hint: the file on disk is not the invalid one.
                let (_, err) = report::text(&checked, ctx.color);
                let body = err
                    .split_once('\n')
                    .filter(|(first, _)| first.starts_with("OpenClaw config is invalid"))
                    .map_or(err.as_str(), |(_, rest)| rest);
                let body = body
                    .split_once(&format!("\n{}", report::DOCTOR_HINT))
                    .map_or(body, |(problems, _)| problems);
                let _ = writeln!(
                    ctx.err,
                    "Refusing to write {shown}: the edited config would be invalid.\n{}\nThe file was not changed; fix the value and run the command again.{note}",
                    body.trim_end()
                );
            }
            return 1;
        }
        let new_config = checked.config.unwrap_or_default();

        // 4. What a running gateway will make of it.
        let old_config: Option<Config> = match old_checked {
            None => Some(Config::default()),
            Some(c) => c.config,
        };
        let changes = match &old_config {
            Some(old) => {
                let mut v = Vec::new();
                old.diff(&new_config, "", &mut v);
                v
            }
            None => changed
                .iter()
                .map(|p| Change {
                    path: p.clone(),
                    reload: reload_class(p),
                })
                .collect(),
        };
        // The gateway's own classification (including its rule that a token or password change
        // with a new auth mode needs a restart), so the CLI never predicts something else.
        let auth_mode_changed = old_config
            .as_ref()
            .is_some_and(|old| old.gateway.auth.mode != new_config.gateway.auth.mode);
        let plan = Plan::from_changes(changes, auth_mode_changed);
        let mode = new_config
            .gateway
            .reload
            .mode
            .as_ref()
            .map_or("hybrid", |m| m.as_str());

        // 5. Write.
        let mut backup = None;
        if !flags.dry_run {
            if let Some(dir) = path.parent()
                && !dir.exists()
            {
                use std::os::unix::fs::DirBuilderExt;
                if let Err(e) = std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                {
                    return fail(
                        ctx,
                        flags,
                        Some(&path),
                        "io",
                        format!(
                            "Cannot create {}: {e}; nothing was written",
                            display_name(dir)
                        ),
                        1,
                    );
                }
            }
            // The loader drops a byte-order mark; a file that had one keeps it.
            let bom = had_bom(&path);
            let bytes = if bom {
                format!("\u{feff}{new_text}")
            } else {
                new_text.clone()
            };
            match write::write_atomic(&given, bytes.as_bytes()) {
                Ok(outcome) => backup = outcome.backup,
                Err(e) => {
                    return fail(
                        ctx,
                        flags,
                        Some(&path),
                        "io",
                        format!("Cannot write {shown}: {e}; the file was not changed"),
                        1,
                    );
                }
            }
        }

        if flags.json {
            print_json(
                ctx,
                &path,
                &changed,
                &plan,
                running.as_ref(),
                !flags.dry_run,
                backup.as_deref(),
                flags,
                mode,
            );
            return 0;
        }
        let what = if label.is_empty() {
            list(&changed)
        } else {
            label
        };
        if flags.dry_run {
            let _ = ctx
                .out
                .write_all(unified_diff(before, &new_text, &shown).as_bytes());
            let (verb, prep) = match (removing, old_text.is_some()) {
                (true, _) => ("remove", "from"),
                (false, true) => ("update", "in"),
                (false, false) => ("create", "with"),
            };
            let line = if old_text.is_some() {
                format!("would {verb} {what} {prep} {shown}")
            } else {
                format!("would {verb} {shown} {prep} {what}")
            };
            let _ = writeln!(ctx.out, "Dry run: {line}; nothing was written.");
        } else if old_text.is_none() {
            let _ = writeln!(ctx.out, "Created {shown} with {what}.");
        } else {
            let bak = backup
                .as_deref()
                .map(|b| {
                    if b.parent() == path.parent() {
                        base_name(b)
                    } else {
                        display_name(b)
                    }
                })
                .map_or(String::new(), |b| format!(" (backup: {b})"));
            let (verb, prep) = if removing {
                ("Removed", "from")
            } else {
                ("Updated", "in")
            };
            let _ = writeln!(ctx.out, "{verb} {what} {prep} {shown}{bak}.");
        }
        let _ = writeln!(
            ctx.out,
            "{}",
            gateway_effect(running.as_ref(), &plan, mode, flags.dry_run)
        );
        0
    }

    fn had_bom(path: &Path) -> bool {
        let mut head = [0u8; 3];
        std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok_and(|()| head == [0xEF, 0xBB, 0xBF])
    }

    fn parse_tree(text: &str) -> Value {
        ed::document_json(text).unwrap_or_else(|_| Value::Object(serde_json::Map::new()))
    }

    #[allow(clippy::too_many_arguments)]
    fn print_json(
        ctx: &mut Ctx<'_>,
        path: &Path,
        changed: &[String],
        plan: &Plan,
        running: Option<&Running>,
        wrote: bool,
        backup: Option<&Path>,
        flags: &ConfigEditFlags,
        mode: &str,
    ) {
        let v = json!({
            "ok": true,
            "path": path.display().to_string(),
            "changedPaths": changed,
            "plan": plan.to_json(),
            "reloadMode": if mode.is_empty() { Value::Null } else { json!(mode) },
            "gatewayRunning": running.is_some_and(|r| r.other_config.is_none()),
            "dryRun": flags.dry_run,
            "wrote": wrote,
            "backup": backup.map(|b| b.display().to_string()),
        });
        report::print_json(ctx.out, &v);
    }

    /// One sentence on what the running gateway does with the change.
    fn gateway_effect(running: Option<&Running>, plan: &Plan, mode: &str, dry_run: bool) -> String {
        let will = if dry_run { "would" } else { "will" };
        let Some(r) = running else {
            return "No gateway is running; the change takes effect when one starts.".to_string();
        };
        if let Some(other) = &r.other_config {
            return format!(
                "A gateway is running (pid {}), but it uses {other}, so this change does not affect it.",
                r.pid
            );
        }
        let pid = r.pid;
        let mut live: Vec<String> = plan.restart.clone();
        live.extend(plan.hot.iter().cloned());
        if live.is_empty() {
            return if plan.none.is_empty() {
                format!("A running gateway (pid {pid}) is not affected.")
            } else {
                format!(
                    "A running gateway (pid {pid}) has nothing to do for: {}",
                    list(&plan.none)
                )
            };
        }
        match mode {
            "off" => format!(
                "A running gateway (pid {pid}) does not reload its config (gateway.reload.mode is off); restart it to apply: {}",
                list(&live)
            ),
            "hot" if plan.restart.is_empty() => {
                format!(
                    "A running gateway (pid {pid}) {will} apply at once: {}",
                    list(&plan.hot)
                )
            }
            "hot" => {
                let mut s = String::new();
                if !plan.hot.is_empty() {
                    s.push_str(&format!(
                        "A running gateway (pid {pid}) {will} apply at once: {}\n",
                        list(&plan.hot)
                    ));
                }
                s.push_str(&format!(
                    "A running gateway (pid {pid}) needs a restart for: {} (gateway.reload.mode is hot, so it {will} not restart by itself; restart it to apply)",
                    list(&plan.restart)
                ));
                s
            }
            "restart" => format!(
                "A running gateway (pid {pid}) {will} restart to apply: {}",
                list(&live)
            ),
            _ if !plan.restart.is_empty() => {
                format!(
                    "A running gateway (pid {pid}) {will} restart to apply: {}",
                    list(&live)
                )
            }
            _ => format!(
                "A running gateway (pid {pid}) {will} apply at once: {}",
                list(&plan.hot)
            ),
        }
    }

    /// A unified diff of two texts (two lines of context), for `--dry-run`.
    pub fn unified_diff(old: &str, new: &str, name: &str) -> String {
        let a: Vec<&str> = old.lines().collect();
        let b: Vec<&str> = new.lines().collect();
        let ops = line_ops(&a, &b);
        const CONTEXT: usize = 2;
        let mut out = format!("--- {name}\n+++ {name} (edited)\n");
        // Positions (in `ops`) of changed lines, grouped into hunks.
        let changed: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].0 != ' ').collect();
        let mut i = 0;
        while i < changed.len() {
            let start = changed[i].saturating_sub(CONTEXT);
            let mut end = changed[i];
            while i < changed.len() && changed[i] <= end + 2 * CONTEXT + 1 {
                end = changed[i];
                i += 1;
            }
            let end = (end + CONTEXT + 1).min(ops.len());
            let (mut oa, mut ob) = (0, 0);
            for op in &ops[..start] {
                if op.0 != '+' {
                    oa += 1;
                }
                if op.0 != '-' {
                    ob += 1;
                }
            }
            let la = ops[start..end].iter().filter(|o| o.0 != '+').count();
            let lb = ops[start..end].iter().filter(|o| o.0 != '-').count();
            let from = |o: usize, l: usize| if l == 0 { o } else { o + 1 };
            out.push_str(&format!(
                "@@ -{},{la} +{},{lb} @@\n",
                from(oa, la),
                from(ob, lb)
            ));
            for (tag, line) in &ops[start..end] {
                out.push(*tag);
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// Line operations turning `a` into `b`: ' ' keep, '-' remove, '+' add.
    fn line_ops<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(char, &'a str)> {
        let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let suf = a[pre..]
            .iter()
            .rev()
            .zip(b[pre..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
        let mut ops: Vec<(char, &str)> = a[..pre].iter().map(|l| (' ', *l)).collect();
        if ma.len().saturating_mul(mb.len()) > 4_000_000 {
            ops.extend(ma.iter().map(|l| ('-', *l)));
            ops.extend(mb.iter().map(|l| ('+', *l)));
        } else {
            // Longest common subsequence, filled from the end.
            let w = mb.len() + 1;
            let mut lcs = vec![0u32; (ma.len() + 1) * w];
            for i in (0..ma.len()).rev() {
                for j in (0..mb.len()).rev() {
                    lcs[i * w + j] = if ma[i] == mb[j] {
                        lcs[(i + 1) * w + j + 1] + 1
                    } else {
                        lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                    };
                }
            }
            let (mut i, mut j) = (0, 0);
            while i < ma.len() || j < mb.len() {
                if i < ma.len() && j < mb.len() && ma[i] == mb[j] {
                    ops.push((' ', ma[i]));
                    i += 1;
                    j += 1;
                } else if i < ma.len()
                    && (j == mb.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])
                {
                    ops.push(('-', ma[i]));
                    i += 1;
                } else {
                    ops.push(('+', mb[j]));
                    j += 1;
                }
            }
        }
        ops.extend(a[a.len() - suf..].iter().map(|l| (' ', *l)));
        ops
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn diff_has_hunks_with_context() {
            let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
            let new = "a\nb\nC\nd\ne\nf\ng\nh\ni\nj\nk\n";
            assert_eq!(
                super::unified_diff(old, new, "x"),
                "--- x\n+++ x (edited)\n@@ -1,5 +1,5 @@\n a\n b\n-c\n+C\n d\n e\n@@ -9,2 +9,3 @@\n i\n j\n+k\n"
            );
            assert_eq!(
                super::unified_diff("", "{}\n", "x"),
                "--- x\n+++ x (edited)\n@@ -0,0 +1,1 @@\n+{}\n"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bracket_paths() {
        assert_eq!(
            super::normalize_path("agents.list[0].id"),
            "agents.list.0.id"
        );
        assert_eq!(super::normalize_path("gateway.port"), "gateway.port");
    }
}
