//! Watching the config file and its `$include`s for hot reload.
//!
//! [`ConfigWatcher::start`] watches the **directories** that hold the main file and every included
//! file (editors save by writing a temporary file and renaming it over the original, which replaces
//! the inode a file watch would hold on to) and keeps only events on the watched file names.
//!
//! What happens to those events is decided by `Machine`, a pure state machine (events and timer
//! expiries in, "run a check" and results out) so its timing can be tested with tokio's paused clock:
//! * every event (re)starts a quiet window of `debounce`; only when it passes is the config checked,
//!   with the same [`check_file`](crate::config::check_file) pipeline as `openclaw config validate`;
//! * the result's [`content_hash`] (main text plus included texts) is compared with the last one
//!   delivered or registered through [`ConfigWatcher::note_applied`]: an unchanged config (a no-op
//!   save, or the echo of the gateway's own write) is not reported;
//! * a file that may be half-written (unreadable, a JSON5 syntax error, an `$include` that failed)
//!   is given one more window (a missing main file: two re-checks 150 ms apart, as OpenClaw does):
//!   an event in that time starts over, otherwise it is checked again and reported if still broken;
//! * schema and cross-field errors are final: reported at once as [`WatchEvent::Invalid`].
//!
//! The consumer (the gateway's reloader) decides what to apply; the watcher only reports settled
//! versions, and follows the set of included files itself after each load.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use notify::event::{EventKind, ModifyKind};
use notify::{Event, RecursiveMode, Watcher};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::load::{Env, ReadError};
use super::{Checked, Config, check_file};
use crate::gateway::state::hash_text;

/// The quiet time used when `gateway.reload.debounceMs` is not set.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(300);
/// Longest accepted debounce; larger values are clamped (keeps deadline arithmetic in range).
pub const MAX_DEBOUNCE: Duration = Duration::from_secs(3600);
/// How long a missing main file is given to reappear between re-checks.
pub const MISSING_RETRY_DELAY: Duration = Duration::from_millis(150);
/// How often a missing main file is re-checked before it is reported.
pub const MISSING_RETRIES: u8 = 2;
/// How many more checks a half-written (unparsable) file gets before it is reported.
pub const BROKEN_RETRIES: u8 = 1;
/// How often directories that could not be watched (not created yet) are tried again.
const REWATCH_INTERVAL: Duration = Duration::from_secs(1);
/// Raw notify events buffered between the notify thread and the watcher task; past that, events
/// are dropped and replaced by one "something changed" flag.
const RAW_CAPACITY: usize = 1024;

/// Error codes that mean "the file may be half-written" rather than "the config is wrong".
/// `include` also covers a cycle or depth error, which is final: it is merely reported one window
/// later than necessary.
const TRANSIENT_CODES: &[&str] = &["openclaw::config::syntax", "openclaw::config::include"];

/// Settings of a [`ConfigWatcher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// Quiet time after the last event on a watched file before the config is checked.
    pub debounce: Duration,
}

impl Default for WatchOptions {
    fn default() -> WatchOptions {
        WatchOptions {
            debounce: DEFAULT_DEBOUNCE,
        }
    }
}

impl WatchOptions {
    /// The options a config asks for (`gateway.reload.debounceMs`).
    pub fn from_config(config: &Config) -> WatchOptions {
        WatchOptions {
            debounce: config
                .gateway
                .reload
                .debounce_ms
                .map_or(DEFAULT_DEBOUNCE, Duration::from_millis),
        }
    }
}

/// A settled new version of the config files.
#[derive(Debug)]
pub enum WatchEvent {
    /// The config changed and is valid.
    Changed { checked: Checked, hash: String },
    /// The config changed and has errors (schema errors, or a file that stayed unreadable or
    /// unparsable); `hash` is `None` when the main file could not be read.
    Invalid {
        checked: Checked,
        hash: Option<String>,
    },
}

impl WatchEvent {
    pub fn checked(&self) -> &Checked {
        match self {
            WatchEvent::Changed { checked, .. } | WatchEvent::Invalid { checked, .. } => checked,
        }
    }
}

/// The hash the watcher compares versions by: `sha256:<hex>` over the main file's text and every
/// included file (path and text). With no includes it is [`hash_text`] of the main text, the same
/// value as the gateway's `ConfigState.hash`. `None` when the main file could not be read.
pub fn content_hash(checked: &Checked) -> Option<String> {
    if checked.read_error.is_some() {
        return None;
    }
    let files = checked.sources.files();
    let main = files.first()?;
    if files.len() == 1 {
        return Some(hash_text(&main.text));
    }
    let mut h = Sha256::new();
    for f in files {
        let path = f.path.as_os_str().as_encoded_bytes();
        h.update((path.len() as u64).to_le_bytes());
        h.update(path);
        h.update((f.text.len() as u64).to_le_bytes());
        h.update(f.text.as_bytes());
    }
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in h.finalize() {
        s.push_str(&format!("{b:02x}"));
    }
    Some(s)
}

/// How a check came out, as far as the watcher is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Valid,
    /// Final errors (schema, cross-field rules).
    Invalid,
    /// The main file does not exist (an editor may be between delete and rename).
    Missing,
    /// Unreadable or unparsable: possibly half-written.
    Broken,
}

impl Verdict {
    fn of(c: &Checked) -> Verdict {
        match &c.read_error {
            Some(ReadError::NotFound) => Verdict::Missing,
            Some(_) => Verdict::Broken,
            None if c.errors.iter().any(|i| TRANSIENT_CODES.contains(&i.code)) => Verdict::Broken,
            None if c.is_valid() => Verdict::Valid,
            None => Verdict::Invalid,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    /// Events seen: check at `deadline` unless another event comes first.
    Quiet {
        deadline: Instant,
    },
    /// A check is running. `retries`: re-checks a transient failure may still get (`None` on a
    /// first check: the budget then comes from the kind of failure). `dirty`: the time of the last
    /// event seen meanwhile (the result is then stale and dropped).
    Checking {
        retries: Option<u8>,
        dirty: Option<Instant>,
    },
    /// The last check found a file that may be half-written: check again at `deadline` unless an
    /// event comes first (which starts over).
    Grace {
        deadline: Instant,
        retries: u8,
    },
}

/// The debounce and decision logic, free of I/O: feed it events, timer expiries and check results
/// with the current time; it says when to check and what to report.
#[derive(Debug)]
pub(crate) struct Machine {
    debounce: Duration,
    /// The hash last reported or registered as applied; `None`: no file (or not known).
    last: Option<String>,
    phase: Phase,
}

impl Machine {
    pub(crate) fn new(debounce: Duration, last: Option<String>) -> Machine {
        Machine {
            debounce: debounce.min(MAX_DEBOUNCE),
            last,
            phase: Phase::Idle,
        }
    }

    /// Applies to windows started from now on.
    pub(crate) fn set_debounce(&mut self, d: Duration) {
        self.debounce = d.min(MAX_DEBOUNCE);
    }

    pub(crate) fn note_applied(&mut self, hash: String) {
        self.last = Some(hash);
    }

    /// An event on a watched file.
    pub(crate) fn on_event(&mut self, now: Instant) {
        self.phase = match self.phase {
            Phase::Checking { retries, .. } => Phase::Checking {
                retries,
                dirty: Some(now),
            },
            Phase::Idle | Phase::Quiet { .. } | Phase::Grace { .. } => Phase::Quiet {
                deadline: now + self.debounce,
            },
        };
    }

    /// When [`Machine::on_timer`] should be called next.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Quiet { deadline } | Phase::Grace { deadline, .. } => Some(deadline),
            Phase::Idle | Phase::Checking { .. } => None,
        }
    }

    /// The timer fired; `true` means: run a check now and pass its result to
    /// [`Machine::on_checked`].
    pub(crate) fn on_timer(&mut self, now: Instant) -> bool {
        let retries = match self.phase {
            Phase::Quiet { deadline } if now >= deadline => None,
            Phase::Grace { deadline, retries } if now >= deadline => Some(retries),
            _ => return false,
        };
        self.phase = Phase::Checking {
            retries,
            dirty: None,
        };
        true
    }

    /// A check finished; returns what to report, if anything.
    #[cfg(test)]
    pub(crate) fn on_checked(&mut self, now: Instant, checked: Checked) -> Option<WatchEvent> {
        self.settle(now, checked).and_then(|s| s.event)
    }

    /// A check finished; `None` while the version is not settled (stale, or given more time),
    /// else what to report (if anything) and which files the settled version included.
    pub(crate) fn settle(&mut self, now: Instant, checked: Checked) -> Option<Settled> {
        let Phase::Checking { retries, dirty } = self.phase else {
            return None;
        };
        if let Some(at) = dirty {
            // The files changed while they were being read: this version is not settled.
            self.phase = Phase::Quiet {
                deadline: at + self.debounce,
            };
            return None;
        }
        let verdict = Verdict::of(&checked);
        if matches!(verdict, Verdict::Missing | Verdict::Broken) {
            let (budget, delay) = match verdict {
                Verdict::Missing => (MISSING_RETRIES, MISSING_RETRY_DELAY),
                _ => (BROKEN_RETRIES, self.debounce),
            };
            let left = retries.unwrap_or(budget);
            if left > 0 {
                self.phase = Phase::Grace {
                    deadline: now + delay,
                    retries: left - 1,
                };
                return None;
            }
        }
        self.phase = Phase::Idle;
        let valid = verdict == Verdict::Valid;
        let included = checked.included.clone();
        let hash = content_hash(&checked);
        let event = if hash == self.last {
            None
        } else {
            self.last.clone_from(&hash);
            Some(match (valid, hash) {
                (true, Some(hash)) => WatchEvent::Changed { checked, hash },
                (_, hash) => WatchEvent::Invalid { checked, hash },
            })
        };
        Some(Settled {
            event,
            valid,
            included,
        })
    }
}

/// A settled version of the files.
#[derive(Debug)]
pub(crate) struct Settled {
    /// What to report: `None` when the version is the one last reported or applied.
    pub(crate) event: Option<WatchEvent>,
    pub(crate) valid: bool,
    /// The files it included.
    pub(crate) included: Vec<PathBuf>,
}

/// The files to watch, as (directory to watch, file name) pairs.
#[derive(Debug, Default)]
struct Targets {
    entries: HashSet<(PathBuf, OsString)>,
}

impl Targets {
    /// Both the path as given (made absolute, its directory canonicalized when it exists) and,
    /// for a symlink, its target.
    fn new(main: &Path, included: &[PathBuf]) -> Targets {
        let mut entries = HashSet::new();
        for file in std::iter::once(main).chain(included.iter().map(PathBuf::as_path)) {
            let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
            let (Some(dir), Some(name)) = (abs.parent(), abs.file_name()) else {
                continue;
            };
            let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            let as_given = dir.join(name);
            entries.insert((dir, name.to_os_string()));
            if let Ok(target) = std::fs::canonicalize(&abs)
                && target != as_given
                && let (Some(tdir), Some(tname)) = (target.parent(), target.file_name())
            {
                entries.insert((tdir.to_path_buf(), tname.to_os_string()));
            }
        }
        Targets { entries }
    }

    fn dirs(&self) -> HashSet<PathBuf> {
        self.entries.iter().map(|(d, _)| d.clone()).collect()
    }

    fn is_file(&self, path: &Path) -> bool {
        match (path.parent(), path.file_name()) {
            (Some(dir), Some(name)) => self
                .entries
                .iter()
                .any(|(d, n)| n.as_os_str() == name && d == dir),
            _ => false,
        }
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.entries.iter().any(|(d, _)| d == path)
    }
}

/// What one raw event means for us.
#[derive(Debug, Default, PartialEq, Eq)]
struct Relevance {
    /// It touches a watched file (or may have: a rescan request).
    changed: bool,
    /// Watched directories that were removed or renamed (their watch is gone).
    lost_dirs: Vec<PathBuf>,
}

fn relevance(ev: &Event, targets: &Targets) -> Relevance {
    let mut r = Relevance::default();
    if ev.need_rescan() {
        r.changed = true;
        return r;
    }
    match ev.kind {
        // Opening and reading (our own checks do that) and metadata changes are not edits.
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) => return r,
        _ => {}
    }
    for p in &ev.paths {
        if targets.is_file(p) {
            r.changed = true;
        } else if targets.is_dir(p)
            && matches!(
                ev.kind,
                EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
            )
        {
            r.changed = true;
            r.lost_dirs.push(p.clone());
        }
    }
    r
}

/// Adding and removing directory watches (notify in production, a recorder in tests).
pub(crate) trait DirWatcher: Send + 'static {
    fn watch(&mut self, dir: &Path) -> Result<(), String>;
    fn unwatch(&mut self, dir: &Path);
}

impl DirWatcher for notify::RecommendedWatcher {
    fn watch(&mut self, dir: &Path) -> Result<(), String> {
        Watcher::watch(self, dir, RecursiveMode::NonRecursive).map_err(|e| e.to_string())
    }

    fn unwatch(&mut self, dir: &Path) {
        // Fails when the directory is already gone, which is fine.
        let _ = Watcher::unwatch(self, dir);
    }
}

/// Which directories are watched, and which should be but could not be (yet).
#[derive(Debug, Default)]
struct Dirs {
    watched: HashSet<PathBuf>,
    pending: HashSet<PathBuf>,
}

impl Dirs {
    /// Watches exactly `wanted`; returns the directories that could not be watched, with why.
    fn sync(
        &mut self,
        w: &mut dyn DirWatcher,
        wanted: &HashSet<PathBuf>,
    ) -> Vec<(PathBuf, String)> {
        for d in self.watched.difference(wanted) {
            w.unwatch(d);
        }
        self.watched.retain(|d| wanted.contains(d));
        self.pending.retain(|d| wanted.contains(d));
        let mut failed = Vec::new();
        for d in wanted {
            if self.watched.contains(d) {
                continue;
            }
            match w.watch(d) {
                Ok(()) => {
                    self.pending.remove(d);
                    self.watched.insert(d.clone());
                }
                Err(e) => {
                    self.pending.insert(d.clone());
                    failed.push((d.clone(), e));
                }
            }
        }
        failed
    }

    /// A watched directory went away: its watch is gone.
    fn lost(&mut self, d: &Path) {
        if self.watched.remove(d) {
            self.pending.insert(d.to_path_buf());
        }
    }

    /// Tries the pending directories again; `true` when one is watched now (its files may have
    /// appeared while it was not).
    fn retry(&mut self, w: &mut dyn DirWatcher) -> bool {
        let mut any = false;
        let pending: Vec<PathBuf> = self.pending.iter().cloned().collect();
        for d in pending {
            if w.watch(&d).is_ok() {
                self.pending.remove(&d);
                self.watched.insert(d);
                any = true;
            }
        }
        any
    }
}

/// The watched files and the watches that cover them; shared by the handle (so that
/// [`ConfigWatcher::set_files`] is in effect when it returns) and the task.
struct Files {
    main: PathBuf,
    included: Vec<PathBuf>,
    targets: Targets,
    dirs: Dirs,
    watcher: Box<dyn DirWatcher>,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("main", &self.main)
            .field("included", &self.included)
            .field("dirs", &self.dirs)
            .finish_non_exhaustive()
    }
}

impl Files {
    /// Watches `main` and `included` (and only them); returns the directories that could not be
    /// watched and whether a file is watched now that was not before (it may have changed
    /// unseen, so it deserves a check).
    fn set(&mut self, main: PathBuf, included: Vec<PathBuf>) -> (Vec<(PathBuf, String)>, bool) {
        let targets = Targets::new(&main, &included);
        let gained = targets
            .entries
            .iter()
            .any(|e| !self.targets.entries.contains(e));
        self.main = main;
        self.included = included;
        self.targets = targets;
        let wanted = self.targets.dirs();
        let failed = self.dirs.sync(&mut *self.watcher, &wanted);
        (failed, gained)
    }

    /// Whether a raw event touches a watched file; forgets the watches of vanished directories.
    fn relevant(&mut self, ev: &Event) -> bool {
        let r = relevance(ev, &self.targets);
        for d in &r.lost_dirs {
            tracing::debug!(dir = %d.display(), "watched config directory went away");
            self.dirs.lost(d);
        }
        r.changed
    }

    /// Tries the directories that could not be watched again; `true` when one is watched now.
    fn retry(&mut self) -> bool {
        !self.dirs.pending.is_empty() && self.dirs.retry(&mut *self.watcher)
    }
}

type SharedFiles = Arc<std::sync::Mutex<Files>>;

fn lock(files: &SharedFiles) -> std::sync::MutexGuard<'_, Files> {
    // Nothing in here panics half-way through an update that matters; keep going after a poison.
    files
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

type Checker = Arc<dyn Fn(&Path) -> Checked + Send + Sync>;
type RawEvent = notify::Result<Event>;

#[derive(Debug)]
enum Control {
    SetDebounce(Duration),
    NoteApplied(String),
    /// Check again after the quiet time (the watched files changed).
    Poke,
}

/// Watches the config file and its includes; see the module docs. Dropping it stops watching.
#[derive(Debug)]
pub struct ConfigWatcher {
    control: mpsc::UnboundedSender<Control>,
    files: SharedFiles,
    task: JoinHandle<()>,
}

impl Drop for ConfigWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConfigWatcher {
    /// Starts watching `main` and `included` (as reported by the check that loaded the running
    /// config). `initial_hash` is that config's [`content_hash`] (a later identical version is not
    /// reported). `env` is what `check_file` substitutes `${VAR}`s from.
    ///
    /// The files are checked once after the first quiet time, so that an edit made between the
    /// caller's load and this call is not missed.
    ///
    /// Must be called within a tokio runtime. Fails when the notify backend cannot start or an
    /// existing directory cannot be watched; a directory that does not exist yet is watched as
    /// soon as it appears.
    pub fn start(
        main: PathBuf,
        included: Vec<PathBuf>,
        initial_hash: Option<String>,
        opts: WatchOptions,
        env: Arc<dyn Env + Send + Sync>,
    ) -> std::io::Result<(ConfigWatcher, mpsc::UnboundedReceiver<WatchEvent>)> {
        let (raw_tx, raw_rx) = mpsc::channel::<RawEvent>(RAW_CAPACITY);
        let overflow = Arc::new(AtomicBool::new(false));
        let flag = overflow.clone();
        // Runs on notify's thread: never blocks; a full buffer turns into one "changed" flag.
        let watcher = notify::recommended_watcher(move |res: RawEvent| {
            if let Err(mpsc::error::TrySendError::Full(_)) = raw_tx.try_send(res) {
                flag.store(true, Ordering::Relaxed);
            }
        })
        .map_err(|e| std::io::Error::other(format!("cannot start the config watcher: {e}")))?;
        let checker: Checker = Arc::new(move |path: &Path| check_file(path, &*env));
        spawn(
            main,
            included,
            initial_hash,
            opts,
            Box::new(watcher),
            raw_rx,
            overflow,
            checker,
        )
    }

    /// Changes the quiet time (e.g. after `gateway.reload.debounceMs` changed); applies to the
    /// next window.
    pub fn set_debounce(&self, d: Duration) {
        let _ = self.control.send(Control::SetDebounce(d));
    }

    /// The gateway itself wrote (or applied) a version with this [`content_hash`]: when the
    /// watcher sees it, it is not reported. Call it before (or right after) writing.
    pub fn note_applied(&self, hash: String) {
        let _ = self.control.send(Control::NoteApplied(hash));
    }

    /// Replaces the set of watched files; in effect when it returns. A file that was not watched
    /// before is checked after the quiet time (it may have changed unseen). The watcher also
    /// follows the included files of every version it checks by itself.
    pub fn set_files(&self, main: PathBuf, included: Vec<PathBuf>) {
        let (failed, gained) = lock(&self.files).set(main, included);
        for (dir, why) in failed {
            tracing::debug!(dir = %dir.display(), error = %why, "cannot watch config directory yet");
        }
        if gained {
            let _ = self.control.send(Control::Poke);
        }
    }
}

/// Starts the watcher task over any directory watcher, raw event source and checker.
#[allow(clippy::too_many_arguments)]
fn spawn(
    main: PathBuf,
    included: Vec<PathBuf>,
    initial_hash: Option<String>,
    opts: WatchOptions,
    watcher: Box<dyn DirWatcher>,
    raw: mpsc::Receiver<RawEvent>,
    overflow: Arc<AtomicBool>,
    checker: Checker,
) -> std::io::Result<(ConfigWatcher, mpsc::UnboundedReceiver<WatchEvent>)> {
    let rt = tokio::runtime::Handle::try_current().map_err(|_| {
        std::io::Error::other("ConfigWatcher::start must be called within a tokio runtime")
    })?;
    let mut files = Files {
        main: PathBuf::new(),
        included: Vec::new(),
        targets: Targets::default(),
        dirs: Dirs::default(),
        watcher,
    };
    let (failed, _) = files.set(main, included);
    for (dir, why) in failed {
        if dir.is_dir() {
            return Err(std::io::Error::other(format!(
                "cannot watch {}: {why}",
                dir.display()
            )));
        }
        tracing::debug!(dir = %dir.display(), "config directory does not exist yet; watching for it");
    }
    let files = Arc::new(std::sync::Mutex::new(files));
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let mut machine = Machine::new(opts.debounce, initial_hash);
    // One check after the first quiet time closes the gap between the caller's load and the
    // start of the watch (an unchanged config is not reported).
    machine.on_event(Instant::now());
    let task = Task {
        machine,
        files: files.clone(),
        checker,
        out: out_tx,
    };
    let handle = rt.spawn(task.run(control_rx, raw, overflow));
    Ok((
        ConfigWatcher {
            control: control_tx,
            files,
            task: handle,
        },
        out_rx,
    ))
}

struct Task {
    machine: Machine,
    files: SharedFiles,
    checker: Checker,
    out: mpsc::UnboundedSender<WatchEvent>,
}

impl Task {
    async fn run(
        mut self,
        mut control: mpsc::UnboundedReceiver<Control>,
        mut raw: mpsc::Receiver<RawEvent>,
        overflow: Arc<AtomicBool>,
    ) {
        let mut check: Option<JoinHandle<Checked>> = None;
        let mut next_rewatch = Instant::now() + REWATCH_INTERVAL;
        loop {
            let deadline = self.machine.deadline();
            let pending = !lock(&self.files).dirs.pending.is_empty();
            tokio::select! {
                biased;
                () = self.out.closed() => break,
                c = control.recv() => match c {
                    None => break,
                    Some(Control::SetDebounce(d)) => self.machine.set_debounce(d),
                    Some(Control::NoteApplied(h)) => self.machine.note_applied(h),
                    Some(Control::Poke) => self.machine.on_event(Instant::now()),
                },
                Some(res) = raw.recv() => {
                    if overflow.swap(false, Ordering::Relaxed) {
                        self.machine.on_event(Instant::now());
                    }
                    self.raw_event(res);
                }
                res = async {
                    match check.as_mut() {
                        Some(h) => h.await,
                        None => std::future::pending().await,
                    }
                } => {
                    check = None;
                    let checked = res.unwrap_or_else(|e| self.failed_check(&e));
                    if let Some(settled) = self.machine.settle(Instant::now(), checked) {
                        self.follow_includes(settled.valid, settled.included);
                        if let Some(ev) = settled.event
                            && self.out.send(ev).is_err()
                        {
                            break;
                        }
                    }
                }
                () = tokio::time::sleep_until(deadline.unwrap_or(next_rewatch)), if deadline.is_some() => {
                    if self.machine.on_timer(Instant::now()) {
                        let main = {
                            let mut files = lock(&self.files);
                            if files.retry() {
                                tracing::debug!("watching a config directory that appeared");
                            }
                            files.main.clone()
                        };
                        let checker = self.checker.clone();
                        check = Some(tokio::task::spawn_blocking(move || checker(&main)));
                    }
                }
                () = tokio::time::sleep_until(next_rewatch), if pending => {
                    next_rewatch = Instant::now() + REWATCH_INTERVAL;
                    if lock(&self.files).retry() {
                        self.machine.on_event(Instant::now());
                    }
                }
            }
            if !pending {
                next_rewatch = Instant::now() + REWATCH_INTERVAL;
            }
        }
    }

    fn raw_event(&mut self, res: RawEvent) {
        match res {
            Ok(ev) => {
                if lock(&self.files).relevant(&ev) {
                    tracing::trace!(kind = ?ev.kind, paths = ?ev.paths, "config file event");
                    self.machine.on_event(Instant::now());
                }
            }
            Err(e) => {
                // Something is off with the backend: re-check to be safe (an unchanged config
                // is not reported).
                tracing::warn!(error = %e, "config watcher error");
                self.machine.on_event(Instant::now());
            }
        }
    }

    /// A valid version's includes are exactly what to watch; an invalid one may lack an include
    /// that failed (and will come back), so the set only grows then.
    fn follow_includes(&mut self, valid: bool, found: Vec<PathBuf>) {
        let mut files = lock(&self.files);
        let included = if valid {
            found
        } else {
            let mut all = files.included.clone();
            for p in found {
                if !all.contains(&p) {
                    all.push(p);
                }
            }
            all
        };
        if included == files.included {
            return;
        }
        let main = files.main.clone();
        let (failed, gained) = files.set(main, included);
        drop(files);
        for (dir, why) in failed {
            tracing::debug!(dir = %dir.display(), error = %why, "cannot watch config directory yet");
        }
        if gained {
            // The new files were read just now, but may have changed before their watch began.
            self.machine.on_event(Instant::now());
        }
    }

    fn failed_check(&self, e: &tokio::task::JoinError) -> Checked {
        tracing::error!(error = %e, "config check failed");
        Checked {
            path: lock(&self.files).main.clone(),
            read_error: Some(ReadError::Other(format!("the config check failed: {e}"))),
            sources: super::SourceMap::default(),
            root: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            config: None,
            included: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use notify::event::{CreateKind, DataChange, RenameMode};

    use super::*;
    use crate::config::{MapEnv, check_text};

    const D: Duration = Duration::from_millis(300);

    fn main_path() -> PathBuf {
        PathBuf::from("/nonexistent-ocrs-watch/openclaw.json")
    }

    fn checked(text: &str) -> Checked {
        check_text(&main_path(), text.to_string(), &MapEnv::default())
    }

    fn missing() -> Checked {
        Checked {
            path: main_path(),
            read_error: Some(ReadError::NotFound),
            sources: crate::config::SourceMap::default(),
            root: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            config: None,
            included: Vec::new(),
        }
    }

    const VALID: &str = "{ gateway: { port: 19001 } }";
    const VALID2: &str = "{ gateway: { port: 19002 } }";
    const SCHEMA_ERR: &str = "{ gateway: { port: 'not a port' } }";
    const HALF: &str = "{ gateway: { port: 19";

    fn advance_to_deadline(m: &Machine) -> Instant {
        m.deadline().expect("a deadline is set")
    }

    #[test]
    fn verdicts() {
        assert_eq!(Verdict::of(&checked(VALID)), Verdict::Valid);
        assert_eq!(Verdict::of(&checked(SCHEMA_ERR)), Verdict::Invalid);
        assert_eq!(Verdict::of(&checked(HALF)), Verdict::Broken);
        assert_eq!(Verdict::of(&missing()), Verdict::Missing);
    }

    #[test]
    fn content_hash_is_the_main_text_hash_without_includes() {
        assert_eq!(content_hash(&checked(VALID)), Some(hash_text(VALID)));
        assert_eq!(content_hash(&checked(HALF)), Some(hash_text(HALF)));
        assert_eq!(content_hash(&missing()), None);
        assert_ne!(
            content_hash(&checked(VALID)),
            content_hash(&checked(VALID2))
        );
    }

    #[test]
    fn content_hash_covers_included_files() {
        let dir = std::env::temp_dir().join(format!("ocrs-watch-hash-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let main = dir.join("openclaw.json");
        let text = "{ $include: './gw.json5' }";
        std::fs::write(dir.join("gw.json5"), "{ gateway: { port: 19001 } }").expect("write");
        let a = check_text(&main, text.into(), &MapEnv::default());
        std::fs::write(dir.join("gw.json5"), "{ gateway: { port: 19002 } }").expect("write");
        let b = check_text(&main, text.into(), &MapEnv::default());
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            a.is_valid() && b.is_valid(),
            "{:?} {:?}",
            a.errors,
            b.errors
        );
        assert_eq!(a.included.len(), 1);
        let (ha, hb) = (content_hash(&a), content_hash(&b));
        assert!(ha.is_some());
        assert_ne!(ha, hb, "an edit of the included file changes the hash");
        assert_ne!(ha, Some(hash_text(text)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_events_leads_to_one_check_after_the_quiet_time() {
        let mut m = Machine::new(D, Some(hash_text(VALID)));
        let start = Instant::now();
        for _ in 0..5 {
            m.on_event(Instant::now());
            tokio::time::advance(Duration::from_millis(100)).await;
            assert!(!m.on_timer(Instant::now()), "no check within the window");
        }
        // The last event was at start+400ms: the window ends at 700ms.
        assert_eq!(m.deadline(), Some(start + Duration::from_millis(400) + D));
        tokio::time::advance(Duration::from_millis(199)).await;
        assert!(!m.on_timer(Instant::now()));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(m.on_timer(Instant::now()), "check once the window passed");
        assert!(!m.on_timer(Instant::now()), "only one check");
        assert_eq!(m.deadline(), None, "no timer while checking");
        match m.on_checked(Instant::now(), checked(VALID2)) {
            Some(WatchEvent::Changed { hash, checked }) => {
                assert_eq!(hash, hash_text(VALID2));
                assert!(checked.config.is_some());
            }
            other => panic!("expected Changed, got {other:?}"),
        }
        assert_eq!(m.deadline(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_no_op_save_is_not_reported() {
        let mut m = Machine::new(D, Some(hash_text(VALID)));
        m.on_event(Instant::now());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        assert!(m.on_checked(Instant::now(), checked(VALID)).is_none());
        // A real change afterwards is reported, and saving it again is not.
        for expect in [true, false] {
            m.on_event(Instant::now());
            tokio::time::advance(D).await;
            assert!(m.on_timer(Instant::now()));
            let ev = m.on_checked(Instant::now(), checked(VALID2));
            assert_eq!(ev.is_some(), expect, "{ev:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn note_applied_suppresses_the_echo_of_our_own_write() {
        let mut m = Machine::new(D, Some(hash_text(VALID)));
        m.note_applied(hash_text(VALID2));
        m.on_event(Instant::now());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        assert!(m.on_checked(Instant::now(), checked(VALID2)).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_parse_failure_fixed_within_the_window_reports_only_the_fix() {
        let mut m = Machine::new(D, Some(hash_text(VALID)));
        m.on_event(Instant::now());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        assert!(m.on_checked(Instant::now(), checked(HALF)).is_none());
        let grace = advance_to_deadline(&m);
        assert_eq!(grace, Instant::now() + D, "one more window");
        // The rest of the file arrives before the extra window ends.
        tokio::time::advance(D / 2).await;
        assert!(!m.on_timer(Instant::now()));
        m.on_event(Instant::now());
        tokio::time::advance(D / 2).await;
        assert!(
            !m.on_timer(Instant::now()),
            "the event restarted the window"
        );
        tokio::time::advance(D / 2).await;
        assert!(m.on_timer(Instant::now()));
        match m.on_checked(Instant::now(), checked(VALID2)) {
            Some(WatchEvent::Changed { hash, .. }) => assert_eq!(hash, hash_text(VALID2)),
            other => panic!("expected Changed, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_parse_failure_that_stays_is_reported_after_the_extra_window() {
        let mut m = Machine::new(D, Some(hash_text(VALID)));
        m.on_event(Instant::now());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        let first = Instant::now();
        assert!(m.on_checked(Instant::now(), checked(HALF)).is_none());
        tokio::time::advance(D - Duration::from_millis(1)).await;
        assert!(!m.on_timer(Instant::now()));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(m.on_timer(Instant::now()), "re-check after one window");
        assert_eq!(Instant::now() - first, D);
        match m.on_checked(Instant::now(), checked(HALF)) {
            Some(WatchEvent::Invalid { hash, checked }) => {
                assert_eq!(hash, Some(hash_text(HALF)));
                assert!(!checked.errors.is_empty());
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert_eq!(m.deadline(), None);
        // The same broken text saved again is not reported twice.
        m.on_event(Instant::now());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        assert!(m.on_checked(Instant::now(), checked(HALF)).is_none());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        assert!(m.on_checked(Instant::now(), checked(HALF)).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn schema_errors_are_reported_at_once() {
        let mut m = Machine::new(D, Some(hash_text(VALID)));
        m.on_event(Instant::now());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        match m.on_checked(Instant::now(), checked(SCHEMA_ERR)) {
            Some(WatchEvent::Invalid { hash, .. }) => assert_eq!(hash, Some(hash_text(SCHEMA_ERR))),
            other => panic!("expected Invalid, got {other:?}"),
        }
        // Reverting to the running version is reported (the consumer holds the old config, but
        // it must learn the file is fine again).
        m.on_event(Instant::now());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        assert!(matches!(
            m.on_checked(Instant::now(), checked(VALID)),
            Some(WatchEvent::Changed { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_main_file_is_rechecked_twice_before_it_is_reported() {
        let mut m = Machine::new(D, Some(hash_text(VALID)));
        m.on_event(Instant::now());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        for _ in 0..MISSING_RETRIES {
            assert!(m.on_checked(Instant::now(), missing()).is_none());
            assert_eq!(m.deadline(), Some(Instant::now() + MISSING_RETRY_DELAY));
            tokio::time::advance(MISSING_RETRY_DELAY).await;
            assert!(m.on_timer(Instant::now()));
        }
        match m.on_checked(Instant::now(), missing()) {
            Some(WatchEvent::Invalid {
                hash: None,
                checked,
            }) => {
                assert_eq!(checked.read_error, Some(ReadError::NotFound));
            }
            other => panic!("expected Invalid without hash, got {other:?}"),
        }
        // Still missing later: nothing new to say.
        m.on_event(Instant::now());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        for _ in 0..MISSING_RETRIES {
            assert!(m.on_checked(Instant::now(), missing()).is_none());
            tokio::time::advance(MISSING_RETRY_DELAY).await;
            assert!(m.on_timer(Instant::now()));
        }
        assert!(m.on_checked(Instant::now(), missing()).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_file_that_reappears_is_not_reported_missing() {
        let mut m = Machine::new(D, Some(hash_text(VALID)));
        m.on_event(Instant::now());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        assert!(m.on_checked(Instant::now(), missing()).is_none());
        tokio::time::advance(MISSING_RETRY_DELAY).await;
        assert!(m.on_timer(Instant::now()));
        assert!(matches!(
            m.on_checked(Instant::now(), checked(VALID2)),
            Some(WatchEvent::Changed { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_during_a_check_drops_the_result_and_restarts_the_window() {
        let mut m = Machine::new(D, Some(hash_text(VALID)));
        m.on_event(Instant::now());
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        let during = Instant::now();
        m.on_event(during);
        tokio::time::advance(Duration::from_millis(10)).await;
        assert!(m.on_checked(Instant::now(), checked(VALID2)).is_none());
        assert_eq!(m.deadline(), Some(during + D));
        tokio::time::advance(D).await;
        assert!(m.on_timer(Instant::now()));
        assert!(m.on_checked(Instant::now(), checked(VALID2)).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_debounce_change_is_honoured() {
        let mut m = Machine::new(D, Some(hash_text(VALID)));
        let short = Duration::from_millis(50);
        m.set_debounce(short);
        m.on_event(Instant::now());
        assert_eq!(m.deadline(), Some(Instant::now() + short));
        tokio::time::advance(short).await;
        assert!(m.on_timer(Instant::now()));
        assert!(m.on_checked(Instant::now(), checked(VALID2)).is_some());
        // Huge values are clamped rather than overflowing the clock.
        m.set_debounce(Duration::MAX);
        m.on_event(Instant::now());
        assert_eq!(m.deadline(), Some(Instant::now() + MAX_DEBOUNCE));
    }

    // ---- the task, driven by synthetic notify events ----

    #[derive(Debug, Default, Clone)]
    struct FakeWatcher(Arc<Mutex<Vec<String>>>);

    impl DirWatcher for FakeWatcher {
        fn watch(&mut self, dir: &Path) -> Result<(), String> {
            if let Ok(mut log) = self.0.lock() {
                log.push(format!("+{}", dir.display()));
            }
            Ok(())
        }
        fn unwatch(&mut self, dir: &Path) {
            if let Ok(mut log) = self.0.lock() {
                log.push(format!("-{}", dir.display()));
            }
        }
    }

    struct Harness {
        watcher: ConfigWatcher,
        events: mpsc::UnboundedReceiver<WatchEvent>,
        raw: mpsc::Sender<RawEvent>,
        checks: Arc<AtomicUsize>,
        /// The fake main file's text (`None`: missing).
        text: Arc<Mutex<Option<String>>>,
        log: Arc<Mutex<Vec<String>>>,
    }

    fn harness(debounce: Duration) -> Harness {
        let (raw_tx, raw_rx) = mpsc::channel(RAW_CAPACITY);
        let checks = Arc::new(AtomicUsize::new(0));
        let text: Arc<Mutex<Option<String>>> = Arc::default();
        let (c, t) = (checks.clone(), text.clone());
        let checker: Checker = Arc::new(move |p: &Path| {
            c.fetch_add(1, Ordering::SeqCst);
            let text = t.lock().ok().and_then(|t| t.clone());
            match text {
                Some(text) => check_text(p, text, &MapEnv::default()),
                None => missing(),
            }
        });
        let fake = FakeWatcher::default();
        let log = fake.0.clone();
        let (watcher, events) = spawn(
            main_path(),
            Vec::new(),
            Some(hash_text(VALID)),
            WatchOptions { debounce },
            Box::new(fake),
            raw_rx,
            Arc::new(AtomicBool::new(false)),
            checker,
        )
        .expect("spawn");
        Harness {
            watcher,
            events,
            raw: raw_tx,
            checks,
            text,
            log,
        }
    }

    fn modify(p: &Path) -> RawEvent {
        Ok(Event::new(EventKind::Modify(ModifyKind::Data(DataChange::Any))).add_path(p.into()))
    }

    impl Harness {
        /// What the fake main file holds from now on.
        fn set_text(&self, text: &str) {
            if let Ok(mut t) = self.text.lock() {
                *t = Some(text.to_string());
            }
        }
        async fn send(&self, ev: RawEvent) {
            self.raw.send(ev).await.expect("task alive");
        }
        /// The next report, waiting at most `limit` of (paused) time.
        async fn next(&mut self, limit: Duration) -> Option<WatchEvent> {
            tokio::time::timeout(limit, self.events.recv())
                .await
                .ok()
                .flatten()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn task_checks_once_per_burst_and_ignores_other_files_and_reads() {
        let mut h = harness(D);
        assert_eq!(
            h.log.lock().map(|l| l.clone()).unwrap_or_default(),
            vec!["+/nonexistent-ocrs-watch".to_string()],
            "the main file's directory is watched"
        );
        h.set_text(VALID2);
        let main = main_path();
        let other = main.with_file_name("openclaw.json.bak");
        for _ in 0..3 {
            h.send(modify(&main)).await;
            h.send(Ok(
                Event::new(EventKind::Create(CreateKind::File)).add_path(other.clone())
            ))
            .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Our own read of the file must not count as an edit.
        h.send(Ok(Event::new(EventKind::Access(
            notify::event::AccessKind::Any,
        ))
        .add_path(main.clone())))
            .await;
        let ev = h.next(Duration::from_secs(5)).await;
        assert!(matches!(ev, Some(WatchEvent::Changed { .. })), "{ev:?}");
        assert_eq!(h.checks.load(Ordering::SeqCst), 1);
        // Events on other files alone never trigger a check.
        h.send(Ok(Event::new(EventKind::Modify(ModifyKind::Name(
            RenameMode::Both,
        )))
        .add_path(other.clone())
        .add_path(main.with_file_name(".openclaw.json.swp"))))
            .await;
        assert!(h.next(Duration::from_secs(5)).await.is_none());
        assert_eq!(h.checks.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn task_honours_set_debounce_and_note_applied() {
        let mut h = harness(D);
        h.watcher.set_debounce(Duration::from_millis(20));
        h.watcher.note_applied(hash_text(VALID2));
        h.set_text(VALID2);
        h.send(modify(&main_path())).await;
        assert!(
            h.next(Duration::from_secs(5)).await.is_none(),
            "the echo of an applied version is not reported"
        );
        assert_eq!(h.checks.load(Ordering::SeqCst), 1);
        h.set_text(SCHEMA_ERR);
        let t1 = Instant::now();
        h.send(modify(&main_path())).await;
        let ev = h.next(Duration::from_secs(5)).await;
        assert!(matches!(ev, Some(WatchEvent::Invalid { .. })), "{ev:?}");
        assert_eq!(
            Instant::now() - t1,
            Duration::from_millis(20),
            "short window"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn task_follows_the_included_files() {
        let dir = std::env::temp_dir().join(format!("ocrs-watch-inc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sub = dir.join("sub");
        std::fs::create_dir_all(&sub).expect("temp dir");
        std::fs::write(sub.join("gw.json5"), "{ gateway: { port: 19003 } }").expect("write");
        let sub = std::fs::canonicalize(&sub).expect("canonical");
        let mut h = harness(D);
        // The main file is in /nonexistent-…: include by absolute path.
        h.set_text(&format!(
            "{{ $include: '{}' }}",
            sub.join("gw.json5").display()
        ));
        h.send(modify(&main_path())).await;
        let ev = h.next(Duration::from_secs(5)).await;
        assert!(matches!(ev, Some(WatchEvent::Changed { .. })), "{ev:?}");
        // The newly watched include is checked once more (it may have changed before its watch
        // began); unchanged, so nothing is reported.
        let ev = h.next(Duration::from_secs(5)).await;
        assert!(ev.is_none(), "{ev:?}");
        assert_eq!(h.checks.load(Ordering::SeqCst), 2);
        // An event on the included file now triggers a check.
        h.set_text(VALID2);
        h.send(modify(&sub.join("gw.json5"))).await;
        let ev = h.next(Duration::from_secs(5)).await;
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(ev, Some(WatchEvent::Changed { .. })), "{ev:?}");
        assert_eq!(h.checks.load(Ordering::SeqCst), 3);
        let log = h.log.lock().map(|l| l.clone()).unwrap_or_default();
        assert!(
            log.contains(&format!("+{}", sub.display())),
            "the include's directory was watched: {log:?}"
        );
        // The include is gone from the valid config: its directory is unwatched.
        assert!(
            log.contains(&format!("-{}", sub.display())),
            "and unwatched once no longer included: {log:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn task_checks_once_after_start_for_an_edit_made_before_it() {
        let mut h = harness(D);
        // Edited after the caller loaded VALID but before the watch began: no event comes.
        h.set_text(VALID2);
        let t0 = Instant::now();
        let ev = h.next(Duration::from_secs(5)).await;
        assert!(matches!(ev, Some(WatchEvent::Changed { .. })), "{ev:?}");
        assert_eq!(Instant::now() - t0, D);
        assert!(h.next(Duration::from_secs(5)).await.is_none());
        assert_eq!(h.checks.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn task_stops_when_the_watcher_is_dropped() {
        let h = harness(D);
        let Harness { watcher, raw, .. } = h;
        drop(watcher);
        tokio::time::timeout(Duration::from_secs(5), raw.closed())
            .await
            .expect("the task ended and dropped the raw receiver");
    }
}
