//! `openclaw logs`: the gateway's log over RPC (`logs.tail`), or straight from the log file when no
//! gateway answers.
//!
//! Output: `Log file: <path>` then `<time> <level> [<subsystem>] <message>` per line; with `--json`
//! a `{"type":"meta",…}` line, then `{"type":"log",…}` lines (`{"type":"raw",…}` for lines that
//! are not JSON) and `{"type":"notice",…}` lines for what text mode says on stderr.
//!
//! `--follow` polls with the cursor `logs.tail` returns. A cursor past the end (the file was
//! truncated, or replaced by a shorter one) restarts at the beginning; a new file name (the next
//! day's file) is read from its start; reading the file directly, a different inode at the path
//! (renamed away by logrotate) is read from its start too. When the gateway goes away while
//! following, the command goes on with the file directly and says so.
//!
//! Where the gateway is and which credentials to present follow `gateway call` (see `rpc.rs`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use runtime::gateway::logfile::{self, LogTarget, Tail};
use serde_json::{Value, json};

use crate::client::{self, Auth, ClientError, Endpoint};
use crate::cmd::rpc::{self, Local, Target};
use crate::{ClientArgs, Ctx};

const TRUNCATED: &str = "Log tail truncated (increase --limit or --max-bytes).";

/// Flags of `openclaw logs`.
#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {
    /// Keep printing new lines as they are written (stop with Ctrl-C).
    #[arg(long)]
    pub follow: bool,
    /// Most lines to show (1 to 5000).
    #[arg(long, value_name = "N", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=5000))]
    pub limit: u64,
    /// Most bytes to read per request (1 to 1000000).
    #[arg(long, value_name = "N", default_value_t = 250_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_bytes: u64,
    /// How often --follow asks for new lines, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub interval: u64,
    /// Print JSON lines: a meta line, then one line per log line.
    #[arg(long)]
    pub json: bool,
    /// Plain text: no colours.
    #[arg(long)]
    pub plain: bool,
    /// Show times in the local time zone (the default).
    #[arg(long, conflicts_with = "utc")]
    pub local_time: bool,
    /// Show times in UTC.
    #[arg(long)]
    pub utc: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Where lines come from.
#[derive(Debug)]
enum Source {
    Rpc { endpoint: Endpoint, auth: Auth },
    File { target: LogTarget },
}

/// How a read failed.
enum FetchError {
    /// No gateway (refused, timed out, not a gateway).
    Unreachable(String),
    /// The gateway answered with an error.
    Rpc(String),
    /// The file could not be read.
    File(String),
}

pub fn run(ctx: &mut Ctx<'_>, args: LogsArgs) -> u8 {
    let (local, Target { endpoint, auth, .. }) = match rpc::setup(ctx, &args.client) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let zone = Zone::detect(ctx.env, args.utc);
    let mut out = Printer {
        json: args.json,
        color: ctx.color && !args.plain && !args.json,
        zone,
    };
    let timeout = Duration::from_millis(args.client.timeout);
    let mut source = Source::Rpc {
        endpoint: endpoint.clone(),
        auth,
    };
    let first = match fetch(&source, None, &args, timeout) {
        Ok(t) => t,
        Err(FetchError::Unreachable(why))
            if args.client.url.is_none() || endpoint.is_loopback() =>
        {
            let target = local.log_target(ctx);
            let path = target.readable_path();
            if !path.exists() {
                let _ = writeln!(
                    ctx.err,
                    "No gateway answered at {} ({why}), and there is no log file at {} to read instead. \
                     Start the gateway (openclaw gateway), or point logging.file at the log to read.",
                    endpoint.url,
                    path.display()
                );
                return 1;
            }
            out.notice(
                ctx,
                &format!(
                    "Gateway not reachable at {} ({why}); reading the log file directly.",
                    endpoint.url
                ),
            );
            source = Source::File { target };
            match fetch(&source, None, &args, timeout) {
                Ok(t) => t,
                Err(e) => return fail(ctx, &e),
            }
        }
        Err(e) => return fail(ctx, &e),
    };
    out.meta(ctx, &first);
    out.lines(ctx, &first.lines);
    if first.truncated {
        out.notice(ctx, TRUNCATED);
    }
    let _ = ctx.out.flush();
    if !args.follow {
        return 0;
    }
    follow(ctx, &args, &local, source, first, &mut out, timeout)
}

/// Polls for new lines until the process is stopped (or the file cannot be read any more).
fn follow(
    ctx: &mut Ctx<'_>,
    args: &LogsArgs,
    local: &Local,
    mut source: Source,
    first: Tail,
    out: &mut Printer,
    timeout: Duration,
) -> u8 {
    let interval = Duration::from_millis(args.interval);
    let mut file = first.file.clone();
    let mut cursor = first.cursor;
    let mut identity = file_identity(Path::new(&file));
    let mut wait = true;
    loop {
        if wait {
            std::thread::sleep(interval);
        }
        wait = true;
        // Reading directly: a renamed-away file is replaced by a new one at the path.
        if let Source::File { .. } = source {
            let now = file_identity(Path::new(&file));
            if now.is_some() && identity.is_some() && now != identity {
                out.notice(
                    ctx,
                    &format!("Log file replaced (rotated): {file}; reading it from the start."),
                );
                cursor = 0;
                identity = now;
            }
        }
        let mut tail = match fetch(&source, Some(cursor), args, timeout) {
            Ok(t) => t,
            Err(FetchError::Unreachable(why)) if matches!(source, Source::Rpc { .. }) => {
                let target = local.log_target(ctx);
                out.notice(
                    ctx,
                    &format!("Gateway connection lost ({why}); following the log file directly."),
                );
                // Go on where the gateway's file was if it is not the local default.
                let target = if target.readable_path().display().to_string() == file {
                    target
                } else {
                    LogTarget::Fixed(PathBuf::from(&file))
                };
                source = Source::File { target };
                wait = false;
                continue;
            }
            Err(e) => return fail(ctx, &e),
        };
        if tail.file != file {
            // The next day's file (or another logging.file after a reload): start at its top.
            out.notice(ctx, &format!("Log file changed: {}", tail.file));
            file = tail.file.clone();
            identity = file_identity(Path::new(&file));
            if cursor != 0 {
                cursor = 0;
                match fetch(&source, Some(0), args, timeout) {
                    Ok(t) => tail = t,
                    Err(e) => return fail(ctx, &e),
                }
            }
            out.meta(ctx, &tail);
        } else if tail.reset {
            out.notice(
                ctx,
                "Log cursor reset (the file was truncated or replaced); reading it from the start.",
            );
            identity = file_identity(Path::new(&file));
        }
        out.lines(ctx, &tail.lines);
        let _ = ctx.out.flush();
        // A full batch: more lines are probably waiting, read on without sleeping. (Not merely
        // "cursor < size": at debug level each poll makes the gateway log its own connection.)
        if tail.cursor > cursor && tail.lines.len() as u64 >= args.limit {
            wait = false;
        }
        cursor = tail.cursor;
    }
}

/// (device, inode) of a file.
#[cfg(unix)]
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_identity(_path: &Path) -> Option<(u64, u64)> {
    None
}

fn fail(ctx: &mut Ctx<'_>, e: &FetchError) -> u8 {
    let message = match e {
        FetchError::Unreachable(why) => format!("Gateway not reachable: {why}"),
        FetchError::Rpc(why) => format!("logs.tail failed: {why}"),
        FetchError::File(why) => why.clone(),
    };
    let _ = writeln!(ctx.err, "{message}");
    1
}

fn fetch(
    source: &Source,
    cursor: Option<u64>,
    args: &LogsArgs,
    timeout: Duration,
) -> Result<Tail, FetchError> {
    match source {
        Source::File { target } => {
            let path = target.readable_path();
            let limit = usize::try_from(args.limit).unwrap_or(5000);
            logfile::tail(&path, cursor, limit, args.max_bytes).map_err(|e| {
                FetchError::File(format!("Cannot read the log file {}: {e}", path.display()))
            })
        }
        Source::Rpc { endpoint, auth } => {
            let mut params = json!({ "limit": args.limit, "maxBytes": args.max_bytes });
            if let (Some(c), Some(m)) = (cursor, params.as_object_mut()) {
                m.insert("cursor".into(), json!(c));
            }
            match client::call(endpoint, auth, "logs.tail", params, timeout) {
                Ok(o) => tail_of(&o.reply.value).ok_or_else(|| {
                    FetchError::Rpc("the gateway's answer is not a logs.tail result".into())
                }),
                Err(ClientError::Transport(t)) => Err(FetchError::Unreachable(
                    t.reason.clone().unwrap_or_else(|| t.message.clone()),
                )),
                Err(ClientError::Rpc { failure, .. }) => Err(FetchError::Rpc(format!(
                    "{} ({})",
                    failure.message, failure.code
                ))),
            }
        }
    }
}

/// A `logs.tail` result.
fn tail_of(v: &Value) -> Option<Tail> {
    Some(Tail {
        file: v.get("file")?.as_str()?.to_string(),
        cursor: v.get("cursor")?.as_u64()?,
        size: v.get("size")?.as_u64()?,
        lines: v
            .get("lines")?
            .as_array()?
            .iter()
            .filter_map(|l| l.as_str().map(str::to_string))
            .collect(),
        truncated: v.get("truncated").and_then(Value::as_bool).unwrap_or(false),
        reset: v.get("reset").and_then(Value::as_bool).unwrap_or(false),
    })
}

// ---------------------------------------------------------------------------------------------
// Output

struct Printer {
    json: bool,
    color: bool,
    zone: Zone,
}

impl Printer {
    fn meta(&self, ctx: &mut Ctx<'_>, t: &Tail) {
        if self.json {
            let meta = format!(
                "{{\"type\":\"meta\",\"file\":{},\"sourceKind\":\"file\",\"cursor\":{},\"size\":{}}}",
                json!(t.file),
                t.cursor,
                t.size
            );
            let _ = writeln!(ctx.out, "{meta}");
        } else {
            let _ = writeln!(ctx.out, "Log file: {}", t.file);
        }
    }

    /// A note: a `notice` line with `--json`, else a line on stderr.
    fn notice(&self, ctx: &mut Ctx<'_>, message: &str) {
        if self.json {
            let _ = writeln!(
                ctx.out,
                "{{\"type\":\"notice\",\"message\":{}}}",
                json!(message)
            );
            let _ = ctx.out.flush();
        } else {
            let _ = writeln!(ctx.err, "{message}");
            let _ = ctx.err.flush();
        }
    }

    fn lines(&self, ctx: &mut Ctx<'_>, lines: &[String]) {
        for raw in lines {
            let line = match (parse_line(raw), self.json) {
                (Some(p), true) => {
                    let mut s = format!(
                        "{{\"type\":\"log\",\"time\":{},\"level\":{}",
                        json!(p.time),
                        json!(p.level)
                    );
                    if let Some(sub) = &p.subsystem {
                        s.push_str(&format!(",\"subsystem\":{}", json!(sub)));
                    }
                    s.push_str(&format!(
                        ",\"message\":{},\"raw\":{}}}",
                        json!(p.message),
                        json!(raw)
                    ));
                    s
                }
                (None, true) => format!("{{\"type\":\"raw\",\"raw\":{}}}", json!(raw)),
                (Some(p), false) => self.text(&p, raw),
                (None, false) => raw.clone(),
            };
            let _ = writeln!(ctx.out, "{line}");
        }
    }

    /// `<time> <level> [<subsystem>] <message>` (the raw line when there is no message).
    fn text(&self, p: &Parsed, raw: &str) -> String {
        let time = p
            .time
            .as_deref()
            .map(|t| self.zone.render(t))
            .unwrap_or_default();
        let level = p.level.clone().unwrap_or_else(|| "info".into());
        let message = if p.message.is_empty() {
            raw
        } else {
            &p.message
        };
        let sub = p
            .subsystem
            .as_deref()
            .map(|s| format!("{s} "))
            .unwrap_or_default();
        if self.color {
            let c = match level.as_str() {
                "error" | "fatal" => 31,
                "warn" => 33,
                "debug" | "trace" => 90,
                _ => 32,
            };
            format!(
                "\x1b[90m{time}\x1b[39m \x1b[{c}m{level}\x1b[39m \x1b[36m{sub}\x1b[39m{message}"
            )
        } else {
            format!("{time} {level} {sub}{message}")
        }
    }
}

/// What a log line says.
#[derive(Debug, Default, PartialEq)]
struct Parsed {
    time: Option<String>,
    level: Option<String>,
    subsystem: Option<String>,
    message: String,
}

/// Reads a JSON log line: ours (`time`, `level`, `subsystem`, `message`) or OpenClaw's tslog
/// lines (`time`, `_meta.logLevelName`, numbered arguments, a `{"subsystem":…}` first argument).
fn parse_line(raw: &str) -> Option<Parsed> {
    let v: Value = serde_json::from_str(raw).ok()?;
    let obj = v.as_object()?;
    let meta = obj.get("_meta");
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let time = s(obj.get("time")).or_else(|| s(meta.and_then(|m| m.get("date"))));
    let level = s(obj.get("level"))
        .or_else(|| s(meta.and_then(|m| m.get("logLevelName"))))
        .map(|l| l.to_ascii_lowercase());
    let subsystem_json = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .and_then(|j| s(j.get("subsystem")))
    };
    let first_is_subsystem = subsystem_json(obj.get("0"));
    let subsystem = s(obj.get("subsystem"))
        .or_else(|| first_is_subsystem.clone())
        .or_else(|| subsystem_json(meta.and_then(|m| m.get("name"))));
    let message = match s(obj.get("message")) {
        Some(m) => m,
        None => {
            let mut numbered: Vec<(usize, String)> = obj
                .iter()
                .filter_map(|(k, v)| {
                    let i = k.parse::<usize>().ok()?;
                    let text = match v {
                        Value::String(t) => t.clone(),
                        other => other.to_string(),
                    };
                    Some((i, text))
                })
                .filter(|(i, _)| !(*i == 0 && first_is_subsystem.is_some()))
                .collect();
            numbered.sort_by_key(|(i, _)| *i);
            numbered
                .into_iter()
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    Some(Parsed {
        time,
        level,
        subsystem,
        message,
    })
}

// ---------------------------------------------------------------------------------------------
// Time zones

/// How times are shown: in UTC, or in a local zone (its UTC offsets from a TZif file).
#[derive(Debug, Clone)]
enum Zone {
    Utc,
    Local(Tzif),
}

impl Zone {
    /// `--utc`, else the zone of `TZ` (a zone name, or UTC), else `/etc/localtime`.
    fn detect(env: &dyn runtime::config::Env, utc: bool) -> Zone {
        if utc {
            return Zone::Utc;
        }
        let file = match env.var("TZ") {
            Some(tz) => {
                let name = tz.trim_start_matches(':');
                if name.is_empty() || name == "UTC" || name == "UTC0" || name == "Etc/UTC" {
                    return Zone::Local(Tzif::fixed(0));
                }
                if name.starts_with('/') {
                    PathBuf::from(name)
                } else {
                    Path::new("/usr/share/zoneinfo").join(name)
                }
            }
            None => PathBuf::from("/etc/localtime"),
        };
        Zone::Local(
            std::fs::read(&file)
                .ok()
                .and_then(|b| Tzif::parse(&b))
                .unwrap_or_else(|| Tzif::fixed(0)),
        )
    }

    /// A log time (`…Z` or `…±HH:MM`) in this zone; text that is not such a time is kept.
    fn render(&self, time: &str) -> String {
        let Some(ms) = parse_time(time) else {
            return time.to_string();
        };
        match self {
            Zone::Utc => logfile::iso8601(ms),
            Zone::Local(z) => {
                let off = z.offset_at(i64::try_from(ms / 1000).unwrap_or(i64::MAX));
                let local = ms as i64 + i64::from(off) * 1000;
                let Ok(local) = u64::try_from(local) else {
                    return time.to_string();
                };
                let base = logfile::iso8601(local);
                let base = base.strip_suffix('Z').unwrap_or(&base);
                let sign = if off < 0 { '-' } else { '+' };
                let a = off.unsigned_abs();
                format!("{base}{sign}{:02}:{:02}", a / 3600, (a / 60) % 60)
            }
        }
    }
}

/// Epoch milliseconds of `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`.
fn parse_time(t: &str) -> Option<u64> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { t.get(r)?.parse().ok() };
    if b.len() < 20 || b.get(10) != Some(&b'T') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = t.get(start..i)?;
        let digits: String = frac.chars().chain("000".chars()).take(3).collect();
        ms = digits.parse().ok()?;
    }
    let offset_min = match b.get(i) {
        Some(b'Z') => 0,
        Some(&c @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let m = oh * 60 + om;
            if c == b'-' { -m } else { m }
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset_min * 60;
    u64::try_from(secs * 1000 + ms).ok()
}

/// The UTC offsets of a zone from its TZif data (transitions only; past the last transition the
/// last offset stays in force).
#[derive(Debug, Clone)]
struct Tzif {
    /// (transition time, offset in seconds), ascending.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition.
    initial: i32,
}

impl Tzif {
    fn fixed(offset: i32) -> Tzif {
        Tzif {
            transitions: Vec::new(),
            initial: offset,
        }
    }

    fn offset_at(&self, t: i64) -> i32 {
        match self.transitions.partition_point(|(at, _)| *at <= t) {
            0 => self.initial,
            i => self.transitions[i - 1].1,
        }
    }

    fn parse(b: &[u8]) -> Option<Tzif> {
        let header = |b: &[u8]| -> Option<[usize; 6]> {
            if b.get(0..4)? != b"TZif" {
                return None;
            }
            let mut c = [0usize; 6];
            for (i, slot) in c.iter_mut().enumerate() {
                let at = 20 + i * 4;
                *slot = u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
            }
            Some(c)
        };
        let [isut, isstd, leap, timecnt, typecnt, charcnt] = header(b)?;
        let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
        let (data, tsize, counts) = if b.get(4).is_some_and(|v| *v >= b'2') {
            let second = b.get(44 + v1_len..)?;
            (second.get(44..)?, 8, header(second)?)
        } else {
            (
                b.get(44..)?,
                4,
                [isut, isstd, leap, timecnt, typecnt, charcnt],
            )
        };
        let [_, _, _, timecnt, typecnt, _] = counts;
        let times = data.get(..timecnt * tsize)?;
        let idx = data.get(timecnt * tsize..timecnt * (tsize + 1))?;
        let types = data.get(timecnt * (tsize + 1)..timecnt * (tsize + 1) + typecnt * 6)?;
        let offset_of = |i: usize| -> Option<i32> {
            Some(i32::from_be_bytes(
                types.get(i * 6..i * 6 + 4)?.try_into().ok()?,
            ))
        };
        let mut transitions = Vec::with_capacity(timecnt);
        for k in 0..timecnt {
            let at = if tsize == 8 {
                i64::from_be_bytes(times.get(k * 8..k * 8 + 8)?.try_into().ok()?)
            } else {
                i64::from(i32::from_be_bytes(
                    times.get(k * 4..k * 4 + 4)?.try_into().ok()?,
                ))
            };
            transitions.push((at, offset_of(usize::from(*idx.get(k)?))?));
        }
        Some(Tzif {
            transitions,
            initial: offset_of(0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_our_lines_and_openclaw_lines() {
        let ours = r#"{"time":"2026-11-22T01:06:43.981+00:00","level":"warn","subsystem":"reload","message":"kept the old config","origin":"watch"}"#;
        assert_eq!(
            parse_line(ours),
            Some(Parsed {
                time: Some("2026-11-22T01:06:43.981+00:00".into()),
                level: Some("warn".into()),
                subsystem: Some("reload".into()),
                message: "kept the old config".into(),
            })
        );
        let theirs = r#"{"0":"{\"subsystem\":\"gateway/ws\"}","1":"⇄ res ✗ x 1ms","_meta":{"logLevelName":"INFO","date":"2026-11-22T01:07:42.339Z"},"time":"2026-11-22T01:07:42.339+00:00"}"#;
        let p = parse_line(theirs).expect("parsed");
        assert_eq!(p.subsystem.as_deref(), Some("gateway/ws"));
        assert_eq!(p.message, "⇄ res ✗ x 1ms");
        assert_eq!(p.level.as_deref(), Some("info"));
        assert_eq!(parse_line("not json"), None);
    }

    #[test]
    fn times_convert() {
        let ms = parse_time("2026-11-22T01:06:43.981+00:00").expect("time");
        assert_eq!(ms, 1_795_309_603_981);
        assert_eq!(parse_time("2026-11-22T03:06:43.981+02:00"), Some(ms));
        assert_eq!(parse_time("2026-11-22T01:06:43Z"), Some(1_795_309_603_000));
        assert_eq!(
            Zone::Utc.render("2026-11-22T03:06:43.981+02:00"),
            "2026-11-22T01:06:43.981Z"
        );
        let plus2 = Zone::Local(Tzif::fixed(7200));
        assert_eq!(
            plus2.render("2026-11-22T01:06:43.981Z"),
            "2026-11-22T03:06:43.981+02:00"
        );
        let minus = Zone::Local(Tzif::fixed(-19_800));
        assert_eq!(
            minus.render("2026-11-22T01:06:43.981Z"),
            "2026-11-21T19:36:43.981-05:30"
        );
        assert_eq!(Zone::Utc.render("yesterday"), "yesterday");
    }

    #[test]
    fn reads_tzif_files_when_present() {
        // Berlin: +01:00 in winter, +02:00 in summer.
        let Ok(b) = std::fs::read("/usr/share/zoneinfo/Europe/Berlin") else {
            return;
        };
        let z = Tzif::parse(&b).expect("TZif");
        assert_eq!(z.offset_at(1_795_309_603), 3600);
        assert_eq!(z.offset_at(1_783_000_000), 7200);
    }
}
