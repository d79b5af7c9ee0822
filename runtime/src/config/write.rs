//! Replacing a config file so that it is never seen missing or half-written, and a crash at any
//! moment leaves either the old or the new contents.
//!
//! [`write_atomic`] writes a temporary file next to the target (created exclusively, so two
//! writers never share one), flushes it to disk, keeps the previous contents as `<name>.bak`, and
//! renames the temporary file over the target; then it flushes the directory so the rename itself
//! survives a power cut. The backup is made the same way (a hard link, or a flushed copy where the
//! file system has none, renamed into place), so it is never partial either.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Mode of a config file written for the first time (it may hold secrets).
pub const NEW_FILE_MODE: u32 = 0o600;

/// Symlinks followed before giving up (as the kernel's `ELOOP` limit).
const MAX_SYMLINKS: usize = 40;

/// What [`write_atomic`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The file written: the path given, or the file its symlink chain ends at.
    pub target: PathBuf,
    /// The copy of the previous contents (`<name>.bak` next to the target), when there were any.
    pub backup: Option<PathBuf>,
}

/// The backup path of a file: `<name>.bak` in the same directory.
pub fn backup_path(target: &Path) -> PathBuf {
    let mut name = target
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".bak");
    target.with_file_name(name)
}

/// Replaces `path` with `contents` atomically, keeping the previous contents in `<name>.bak`.
///
/// A symlink is followed and its final target replaced (the link stays a link). The new file gets
/// the previous file's permissions (and owner, when allowed), or mode 0600 when there was none.
/// On error the temporary files are removed and `path` is untouched.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<WriteOutcome> {
    let target = resolve_symlinks(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} does not name a file", target.display()),
            )
        })?;
    let previous = match fs::metadata(&target) {
        Ok(m) if m.is_dir() => {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{} is a directory, not a file", target.display()),
            ));
        }
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mode = previous
        .as_ref()
        .map_or(NEW_FILE_MODE, |m| m.permissions().mode() & 0o7777);

    sweep_stale(&dir, &name);
    let (tmp, file) = create_temp(&dir, &name, mode)?;
    let mut guard = TempGuard(vec![tmp.clone()]);
    fill(file, contents, mode, previous.as_ref())?;

    let backup = match &previous {
        Some(_) => {
            let bak = backup_path(&target);
            make_backup(&target, &bak, &dir, &name, mode, &mut guard)?;
            Some(bak)
        }
        None => None,
    };
    fs::rename(&tmp, &target)?;
    guard.0.clear();
    // The rename is done; flushing the directory makes it durable. Some file systems cannot
    // flush a directory, and the new contents are in place either way, so this is best effort.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(WriteOutcome { target, backup })
}

/// Follows `path` through symlinks to the file they finally name (which may not exist yet).
fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&p)?;
                p = if link.is_absolute() {
                    link
                } else {
                    p.parent().unwrap_or(Path::new(".")).join(link)
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

/// Removes temporaries (`.<name>.tmp.<pid>.…`, `.<name>.bak.<pid>.…`) left by writers that died
/// mid-write (their process is gone). Best effort: a live writer's files are left alone.
fn sweep_stale(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefixes = [format!(".{name}.tmp."), format!(".{name}.bak.")];
    for e in entries.filter_map(Result::ok) {
        let file = e.file_name();
        let file = file.to_string_lossy();
        let Some(rest) = prefixes.iter().find_map(|p| file.strip_prefix(p.as_str())) else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Removes the listed files when dropped (the temporaries of a write that failed).
struct TempGuard(Vec<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

fn temp_name(name: &str, what: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(".{name}.{what}.{}.{n}.{nanos:08x}", std::process::id())
}

/// Creates a new, empty file with a unique name in `dir` (never opening an existing one).
fn create_temp(dir: &Path, name: &str, mode: u32) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..16 {
        let p = dir.join(temp_name(name, "tmp"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("could not create a temporary file")))
}

/// Writes and flushes `contents`, with exactly `mode` (the umask does not apply) and, when we may,
/// the previous file's owner.
fn fill(
    mut file: File,
    contents: &[u8],
    mode: u32,
    previous: Option<&fs::Metadata>,
) -> io::Result<()> {
    file.set_permissions(Permissions::from_mode(mode))?;
    if let Some(m) = previous {
        let ours = file.metadata()?;
        if ours.uid() != m.uid() || ours.gid() != m.gid() {
            // Only root (or the owner, for the group) may do this; otherwise keep ours.
            let _ = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid()));
        }
    }
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes `bak` a complete copy of `target` as it is now: a hard link (or a flushed copy) under a
/// temporary name, renamed over the previous backup.
fn make_backup(
    target: &Path,
    bak: &Path,
    dir: &Path,
    name: &str,
    mode: u32,
    guard: &mut TempGuard,
) -> io::Result<()> {
    let tmp = dir.join(temp_name(name, "bak"));
    guard.0.push(tmp.clone());
    if fs::hard_link(target, &tmp).is_err() {
        let mut src = File::open(target)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(Permissions::from_mode(mode))?;
        io::copy(&mut src, &mut f)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, bak)?;
    // When `bak` already is a link to the target (a writer died between making the backup and
    // replacing the target), rename(2) does nothing and reports success: drop the extra link.
    let _ = fs::remove_file(&tmp);
    guard.0.retain(|p| p != &tmp);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            static N: AtomicU64 = AtomicU64::new(0);
            let p = std::env::temp_dir().join(format!(
                "ocrs-write-{}-{}-{tag}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).expect("create test dir");
            Dir(p)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).expect("metadata").permissions().mode() & 0o7777
    }

    /// Names in the directory other than the ones given (leftover temporaries).
    fn others(dir: &Path, known: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !known.contains(&n.as_str()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn new_file_is_0600_without_backup() {
        let d = Dir::new("new");
        let p = d.0.join("openclaw.json");
        let out = write_atomic(&p, b"{}\n").expect("write");
        assert_eq!(out.target, p);
        assert_eq!(out.backup, None);
        assert_eq!(fs::read(&p).expect("read"), b"{}\n");
        assert_eq!(mode(&p), 0o600);
        assert_eq!(others(&d.0, &["openclaw.json"]), Vec::<String>::new());
    }

    #[test]
    fn replace_keeps_mode_and_one_backup() {
        let d = Dir::new("replace");
        let p = d.0.join("openclaw.json");
        fs::write(&p, "one").expect("seed");
        fs::set_permissions(&p, Permissions::from_mode(0o640)).expect("chmod");
        let out = write_atomic(&p, b"two").expect("write 2");
        assert_eq!(
            out.backup.as_deref(),
            Some(d.0.join("openclaw.json.bak").as_path())
        );
        assert_eq!(fs::read_to_string(&p).expect("read"), "two");
        assert_eq!(
            fs::read_to_string(d.0.join("openclaw.json.bak")).expect("bak"),
            "one"
        );
        assert_eq!(mode(&p), 0o640);
        write_atomic(&p, b"three").expect("write 3");
        assert_eq!(fs::read_to_string(&p).expect("read"), "three");
        assert_eq!(
            fs::read_to_string(d.0.join("openclaw.json.bak")).expect("bak"),
            "two"
        );
        assert_eq!(mode(&p), 0o640);
        // The backup is a separate file now: writing again must not change it behind our back.
        assert_eq!(
            others(&d.0, &["openclaw.json", "openclaw.json.bak"]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn symlink_is_followed_and_kept() {
        let d = Dir::new("symlink");
        let real_dir = d.0.join("real");
        fs::create_dir_all(&real_dir).expect("mkdir");
        let real = real_dir.join("config.json5");
        fs::write(&real, "old").expect("seed");
        let link = d.0.join("openclaw.json");
        std::os::unix::fs::symlink("real/config.json5", &link).expect("symlink");
        let out = write_atomic(&link, b"new").expect("write");
        assert_eq!(out.target, real);
        assert!(
            fs::symlink_metadata(&link)
                .expect("link meta")
                .file_type()
                .is_symlink(),
            "the link must stay a link"
        );
        assert_eq!(fs::read_to_string(&real).expect("read"), "new");
        assert_eq!(fs::read_to_string(&link).expect("read"), "new");
        assert_eq!(
            fs::read_to_string(real_dir.join("config.json5.bak")).expect("bak"),
            "old"
        );
    }

    #[test]
    fn directory_target_is_refused_and_nothing_is_left() {
        let d = Dir::new("isdir");
        let p = d.0.join("openclaw.json");
        fs::create_dir_all(&p).expect("mkdir");
        let e = write_atomic(&p, b"x").expect_err("a directory");
        assert_eq!(e.kind(), io::ErrorKind::IsADirectory);
        assert_eq!(others(&d.0, &["openclaw.json"]), Vec::<String>::new());
    }

    #[test]
    fn failed_backup_leaves_original_and_no_temporaries() {
        let d = Dir::new("badbak");
        let p = d.0.join("openclaw.json");
        fs::write(&p, "original").expect("seed");
        // A non-empty directory where the backup goes: renaming over it fails.
        let bak = d.0.join("openclaw.json.bak");
        fs::create_dir_all(bak.join("x")).expect("mkdir");
        let e = write_atomic(&p, b"new");
        assert!(e.is_err(), "{e:?}");
        assert_eq!(fs::read_to_string(&p).expect("read"), "original");
        assert_eq!(
            others(&d.0, &["openclaw.json", "openclaw.json.bak"]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn temporaries_of_dead_writers_are_swept() {
        let d = Dir::new("sweep");
        let p = d.0.join("openclaw.json");
        fs::write(&p, "old").expect("seed");
        // No process has a pid this large; ours is alive.
        let dead = d.0.join(".openclaw.json.tmp.4294967294.0.0");
        let dead_bak = d.0.join(".openclaw.json.bak.4294967294.1.0");
        let live =
            d.0.join(format!(".openclaw.json.tmp.{}.9.0", std::process::id()));
        let unrelated = d.0.join(".other.json.tmp.4294967294.0.0");
        for f in [&dead, &dead_bak, &live, &unrelated] {
            fs::write(f, "partial").expect("temp");
        }
        write_atomic(&p, b"new").expect("write");
        assert!(
            !dead.exists() && !dead_bak.exists(),
            "dead writers' files are swept"
        );
        assert!(unrelated.exists(), "other files' temporaries are not ours");
        assert!(live.exists(), "this process's files are left alone");
    }

    #[test]
    fn backup_already_linked_to_the_target() {
        // A writer killed after linking the backup but before the rename leaves the target and
        // its backup as one file. The next write must still end with exactly two files.
        let d = Dir::new("linked");
        let p = d.0.join("openclaw.json");
        fs::write(&p, "current").expect("seed");
        fs::hard_link(&p, d.0.join("openclaw.json.bak")).expect("link");
        write_atomic(&p, b"next").expect("write");
        assert_eq!(fs::read_to_string(&p).expect("read"), "next");
        assert_eq!(
            fs::read_to_string(d.0.join("openclaw.json.bak")).expect("bak"),
            "current"
        );
        assert_eq!(
            others(&d.0, &["openclaw.json", "openclaw.json.bak"]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn missing_directory_is_an_error() {
        let d = Dir::new("nodir");
        let p = d.0.join("absent").join("openclaw.json");
        let e = write_atomic(&p, b"x").expect_err("no directory");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let d = Dir::new("loop");
        let a = d.0.join("a");
        let b = d.0.join("b");
        std::os::unix::fs::symlink(&b, &a).expect("a→b");
        std::os::unix::fs::symlink(&a, &b).expect("b→a");
        let e = write_atomic(&a, b"x").expect_err("loop");
        assert!(e.to_string().contains("symbolic links"), "{e}");
    }
}
