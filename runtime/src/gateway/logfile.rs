//! The gateway's log file: JSON lines, one file per UTC day (`/tmp/openclaw/openclaw-YYYY-MM-DD.log`,
//! `openclaw-<profile>-…` for profiles) or the fixed `logging.file`, plus the tail reader behind
//! `logs.tail`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// `logging.file`.
    Fixed(PathBuf),
    /// `<dir>/<prefix>-YYYY-MM-DD.log`, rolled at UTC midnight.
    Daily { dir: PathBuf, prefix: String },
}

impl LogTarget {
    /// The default: `/tmp/openclaw/openclaw[-<profile>]-<date>.log`.
    pub fn default_for(profile: Option<&str>) -> LogTarget {
        let prefix = match profile {
            Some(p) if p != "default" => format!("openclaw-{p}"),
            _ => "openclaw".to_string(),
        };
        LogTarget::Daily {
            dir: std::env::temp_dir().join("openclaw"),
            prefix,
        }
    }

    /// The file written right now.
    pub fn current_path(&self) -> PathBuf {
        self.path_on(super::state::now_ms())
    }

    fn path_on(&self, ms: u64) -> PathBuf {
        match self {
            LogTarget::Fixed(p) => p.clone(),
            LogTarget::Daily { dir, prefix } => {
                let (y, m, d) = civil_date(ms);
                dir.join(format!("{prefix}-{y:04}-{m:02}-{d:02}.log"))
            }
        }
    }
}

/// A `tracing_subscriber` writer that appends to the target's current file, reopening it when the
/// day changes. Writes are whole lines under a lock, so lines never interleave.
#[derive(Debug, Clone)]
pub struct Writer {
    target: LogTarget,
    state: Arc<Mutex<Option<(PathBuf, File)>>>,
}

impl Writer {
    /// Opens (creating the directory and file) the current file, so a bad path fails at startup.
    pub fn open(target: LogTarget) -> std::io::Result<Writer> {
        let w = Writer {
            target,
            state: Arc::new(Mutex::new(None)),
        };
        w.with_file(|_| Ok(()))?;
        Ok(w)
    }

    fn with_file<T>(&self, f: impl FnOnce(&mut File) -> std::io::Result<T>) -> std::io::Result<T> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| std::io::Error::other("log writer poisoned"))?;
        let want = self.target.current_path();
        if st.as_ref().is_none_or(|(p, _)| *p != want) {
            if let Some(dir) = want.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = OpenOptions::new().create(true).append(true).open(&want)?;
            *st = Some((want, file));
        }
        match st.as_mut() {
            Some((_, file)) => f(file),
            None => Err(std::io::Error::other("log file unavailable")),
        }
    }
}

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // OpenClaw's log readers take the time from `time` (tracing names it `timestamp`).
        const FROM: &[u8] = b"{\"timestamp\":";
        if let Some(rest) = buf.strip_prefix(FROM) {
            self.with_file(|f| {
                f.write_all(b"{\"time\":")?;
                f.write_all(rest)
            })?;
        } else {
            self.with_file(|f| f.write_all(buf))?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.with_file(|f| f.flush())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Writer {
    type Writer = Writer;
    fn make_writer(&'a self) -> Writer {
        self.clone()
    }
}

/// The result of [`tail`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    pub file: String,
    /// Where the next read should start.
    pub cursor: u64,
    pub size: u64,
    pub lines: Vec<String>,
    /// More lines existed than were returned.
    pub truncated: bool,
    /// The cursor was past the end (the file was rotated or truncated); reading restarted at 0.
    pub reset: bool,
}

/// Reads lines from `path`: without a cursor, the last `limit` lines within the last `max_bytes`;
/// with one, up to `limit` complete lines (and at most `max_bytes`) from that byte offset.
pub fn tail(
    path: &Path,
    cursor: Option<u64>,
    limit: usize,
    max_bytes: u64,
) -> std::io::Result<Tail> {
    let file = path.display().to_string();
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Tail {
                file,
                cursor: 0,
                size: 0,
                lines: Vec::new(),
                truncated: false,
                reset: cursor.is_some_and(|c| c > 0),
            });
        }
        Err(e) => return Err(e),
    };
    let size = f.metadata()?.len();
    let (start, reset) = match cursor {
        Some(c) if c > size => (0, true),
        Some(c) => (c, false),
        None => (size.saturating_sub(max_bytes), false),
    };
    let want = (size - start).min(max_bytes);
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
    f.take(want).read_to_end(&mut buf)?;
    let mut truncated = false;
    let mut lines: Vec<(usize, usize)> = Vec::new();
    let mut pos = 0usize;
    // Without a cursor, a read that starts mid-file drops its partial first line.
    if cursor.is_none() && start > 0 {
        truncated = true;
        pos = buf
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| i + 1);
    }
    while let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') {
        lines.push((pos, pos + nl));
        pos += nl + 1;
    }
    let complete_end = pos;
    // A final line without a newline counts only at the end of the file.
    if pos < buf.len() && start + buf.len() as u64 == size && cursor.is_none() {
        lines.push((pos, buf.len()));
    }
    let next_cursor;
    if cursor.is_none() {
        if lines.len() > limit {
            truncated = true;
            lines.drain(..lines.len() - limit);
        }
        next_cursor = size;
    } else {
        if lines.len() > limit {
            truncated = true;
            lines.truncate(limit);
        }
        let consumed = lines.last().map_or(0, |&(_, e)| (e + 1).min(complete_end));
        next_cursor = start + consumed as u64;
        if next_cursor < size {
            truncated = true;
        }
    }
    let lines = lines
        .into_iter()
        .map(|(a, b)| {
            let line = &buf[a..b];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            String::from_utf8_lossy(line).into_owned()
        })
        .collect();
    Ok(Tail {
        file,
        cursor: next_cursor,
        size,
        lines,
        truncated,
        reset,
    })
}

/// (year, month, day) in UTC of epoch milliseconds.
pub fn civil_date(ms: u64) -> (i64, u32, u32) {
    let days = i64::try_from(ms / 86_400_000).unwrap_or(0);
    // Howard Hinnant's days → civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of epoch milliseconds.
pub fn iso8601(ms: u64) -> String {
    let (y, mo, d) = civil_date(ms);
    let day_ms = ms % 86_400_000;
    let (h, mi, s, milli) = (
        day_ms / 3_600_000,
        (day_ms / 60_000) % 60,
        (day_ms / 1000) % 60,
        day_ms % 1000,
    );
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(iso8601(1_795_309_603_981), "2026-11-22T01:06:43.981Z");
        assert_eq!(civil_date(951_782_400_000), (2000, 2, 29));
        let t = LogTarget::Daily {
            dir: "/tmp/openclaw".into(),
            prefix: "openclaw-dev".into(),
        };
        assert_eq!(
            t.path_on(1_795_309_603_981),
            PathBuf::from("/tmp/openclaw/openclaw-dev-2026-11-22.log")
        );
    }

    #[test]
    fn tails_and_cursors() {
        let dir = std::env::temp_dir().join(format!("ocrs-logtail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("t.log");
        std::fs::write(&p, "a\nbb\nccc\n").expect("write");
        let t = tail(&p, None, 2, 1000).expect("tail");
        assert_eq!(t.lines, ["bb", "ccc"]);
        assert!(t.truncated);
        assert_eq!((t.cursor, t.size), (9, 9));
        // From a cursor: only what was appended.
        let mut f = OpenOptions::new().append(true).open(&p).expect("open");
        f.write_all(b"dddd\nee").expect("append");
        let t2 = tail(&p, Some(t.cursor), 100, 1000).expect("tail");
        assert_eq!(t2.lines, ["dddd"]);
        assert_eq!(t2.cursor, 14);
        assert!(t2.truncated, "the unterminated line is still pending");
        // A cursor past the end means the file was replaced.
        let t3 = tail(&p, Some(10_000), 100, 1000).expect("tail");
        assert!(t3.reset);
        assert_eq!(t3.lines, ["a", "bb", "ccc", "dddd"]);
        // maxBytes cuts without a cursor: the partial first line is dropped.
        let t4 = tail(&p, None, 100, 6).expect("tail");
        assert_eq!(t4.lines, ["ee"]);
        assert!(t4.truncated);
        let missing = tail(&dir.join("none.log"), None, 10, 10).expect("missing");
        assert_eq!(missing.lines, Vec::<String>::new());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
