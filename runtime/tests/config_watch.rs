//! The config watcher against real files and the real notify backend: in-place edits, editor-style
//! saves (write a temporary file, rename it over), half-written files, broken edits, `$include`d
//! files and no-op saves. Every wait is bounded.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openclaw_runtime::config::watch::{ConfigWatcher, WatchEvent, WatchOptions, content_hash};
use openclaw_runtime::config::{MapEnv, check_file};
use openclaw_runtime::gateway::state::hash_text;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

/// Longest wait for an expected event.
const WAIT: Duration = Duration::from_secs(5);
const DEBOUNCE: Duration = Duration::from_millis(50);

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ocrs-watch-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Removes the directory when the test ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Fixture {
    dir: TempDir,
    main: PathBuf,
    watcher: ConfigWatcher,
    events: UnboundedReceiver<WatchEvent>,
}

/// Writes `files` (relative path, text; the first is `openclaw.json`), checks the config the way the
/// gateway does at start-up and starts a watcher on it.
fn start(tag: &str, debounce: Duration, files: &[(&str, &str)]) -> Fixture {
    let dir = temp_dir(tag);
    for (name, text) in files {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write fixture");
    }
    let main = dir.join("openclaw.json");
    let env = MapEnv::default();
    let checked = check_file(&main, &env);
    assert!(checked.is_valid(), "fixture valid: {:?}", checked.errors);
    let (watcher, events) = ConfigWatcher::start(
        main.clone(),
        checked.included.clone(),
        content_hash(&checked),
        WatchOptions { debounce },
        Arc::new(env),
    )
    .expect("start watcher");
    Fixture {
        dir: TempDir(dir),
        main,
        watcher,
        events,
    }
}

impl Fixture {
    async fn next(&mut self) -> WatchEvent {
        match tokio::time::timeout(WAIT, self.events.recv()).await {
            Ok(Some(ev)) => ev,
            Ok(None) => panic!("the watcher stopped"),
            Err(_) => panic!("no watch event within {WAIT:?}"),
        }
    }

    async fn changed(&mut self) -> (Value, String) {
        match self.next().await {
            WatchEvent::Changed { checked, hash } => {
                let root = checked.root.as_ref().map(|r| r.to_json());
                (root.unwrap_or(Value::Null), hash)
            }
            WatchEvent::Invalid { checked, .. } => panic!(
                "expected Changed, got Invalid: {:?} {:?}",
                checked.read_error, checked.errors
            ),
        }
    }

    /// Asserts that nothing is reported for `quiet` (the one place a real wait is the point).
    async fn nothing_for(&mut self, quiet: Duration) {
        if let Ok(ev) = tokio::time::timeout(quiet, self.events.recv()).await {
            panic!("expected no event, got {ev:?}");
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.0.join(name)
    }
}

fn port(root: &Value) -> Option<u64> {
    root.get("gateway")?.get("port")?.as_u64()
}

/// Saves like editors do: the new text goes to a temporary file that is renamed over the original.
fn editor_save(path: &Path, text: &str) {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    std::fs::write(&tmp, text).expect("write temp");
    std::fs::rename(&tmp, path).expect("rename over");
}

#[tokio::test]
async fn an_in_place_edit_is_reported() {
    let mut f = start("inplace", DEBOUNCE, &[("openclaw.json", "{}")]);
    let text = "{ gateway: { port: 19002 } }";
    std::fs::write(&f.main, text).expect("edit");
    let (root, hash) = f.changed().await;
    assert_eq!(port(&root), Some(19002));
    assert_eq!(hash, hash_text(text));
}

#[tokio::test]
async fn an_editor_style_save_is_reported_once() {
    let mut f = start(
        "rename",
        DEBOUNCE,
        &[("openclaw.json", "{ gateway: { port: 19001 } }")],
    );
    editor_save(&f.main, "{ gateway: { port: 19003 } }");
    let (root, _) = f.changed().await;
    assert_eq!(port(&root), Some(19003));
    // The watch survived the rename: a second save is seen too.
    editor_save(&f.main, "{ gateway: { port: 19004 } }");
    let (root, _) = f.changed().await;
    assert_eq!(port(&root), Some(19004));
    f.nothing_for(DEBOUNCE * 4).await;
}

#[tokio::test]
async fn a_write_completed_within_the_window_reports_only_the_complete_file() {
    // A longer window so that a busy machine still finishes the write inside it.
    let mut f = start(
        "partial",
        Duration::from_millis(200),
        &[("openclaw.json", "{}")],
    );
    let text = "{ gateway: { port: 19005, bind: 'loopback' } }";
    let (head, tail) = text.split_at(text.len() / 2);
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&f.main).expect("truncate");
        file.write_all(head.as_bytes()).expect("write head");
        file.flush().expect("flush");
        tokio::time::sleep(Duration::from_millis(20)).await;
        file.write_all(tail.as_bytes()).expect("write tail");
    }
    let (root, hash) = f.changed().await;
    assert_eq!(port(&root), Some(19005));
    assert_eq!(hash, hash_text(text));
    f.nothing_for(Duration::from_millis(200) * 2).await;
}

#[tokio::test]
async fn a_broken_edit_is_reported_invalid_then_the_fix_as_changed() {
    let mut f = start("broken", DEBOUNCE, &[("openclaw.json", "{}")]);
    let broken = "{ gateway: { port: 19006 ";
    std::fs::write(&f.main, broken).expect("break");
    match f.next().await {
        WatchEvent::Invalid { checked, hash } => {
            assert_eq!(hash, Some(hash_text(broken)));
            assert!(
                checked
                    .errors
                    .iter()
                    .any(|i| i.code == "openclaw::config::syntax"),
                "{:?}",
                checked.errors
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    std::fs::write(&f.main, "{ gateway: { port: 19006 } }").expect("fix");
    let (root, _) = f.changed().await;
    assert_eq!(port(&root), Some(19006));
}

#[tokio::test]
async fn a_schema_error_is_reported_invalid() {
    let mut f = start("schema", DEBOUNCE, &[("openclaw.json", "{}")]);
    std::fs::write(&f.main, "{ gateway: { port: 'high' } }").expect("edit");
    match f.next().await {
        WatchEvent::Invalid { checked, hash } => {
            assert!(hash.is_some());
            assert!(checked.read_error.is_none());
            assert!(!checked.errors.is_empty());
            assert!(checked.config.is_none());
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn an_edit_of_an_included_file_is_reported() {
    let mut f = start(
        "include",
        DEBOUNCE,
        &[
            ("openclaw.json", "{ $include: './conf.d/gateway.json5' }"),
            ("conf.d/gateway.json5", "{ gateway: { port: 19001 } }"),
        ],
    );
    std::fs::write(
        f.path("conf.d/gateway.json5"),
        "{ gateway: { port: 19007 } }",
    )
    .expect("edit include");
    let (root, _) = f.changed().await;
    assert_eq!(port(&root), Some(19007));
    editor_save(
        &f.path("conf.d/gateway.json5"),
        "{ gateway: { port: 19008 } }",
    );
    let (root, _) = f.changed().await;
    assert_eq!(port(&root), Some(19008));
}

#[tokio::test]
async fn a_newly_included_file_is_watched_after_the_reload() {
    let mut f = start("newinclude", DEBOUNCE, &[("openclaw.json", "{}")]);
    std::fs::create_dir_all(f.path("extra")).expect("mkdir");
    std::fs::write(f.path("extra/more.json5"), "{ gateway: { port: 19009 } }").expect("write");
    std::fs::write(&f.main, "{ $include: './extra/more.json5' }").expect("edit");
    let (root, _) = f.changed().await;
    assert_eq!(port(&root), Some(19009));
    std::fs::write(f.path("extra/more.json5"), "{ gateway: { port: 19010 } }").expect("edit");
    let (root, _) = f.changed().await;
    assert_eq!(port(&root), Some(19010));
}

#[tokio::test]
async fn set_files_replaces_the_watched_files() {
    let mut f = start(
        "setfiles",
        DEBOUNCE,
        &[
            ("openclaw.json", "{ $include: './a/inc.json5' }"),
            ("a/inc.json5", "{ gateway: { port: 19001 } }"),
        ],
    );
    // The check after start-up finds the files unchanged.
    f.nothing_for(DEBOUNCE * 4).await;
    // Forget the include: its edits go unnoticed.
    f.watcher.set_files(f.main.clone(), Vec::new());
    std::fs::write(f.path("a/inc.json5"), "{ gateway: { port: 19011 } }").expect("edit");
    f.nothing_for(DEBOUNCE * 4).await;
    // Watch it again: the edit made meanwhile is picked up, and so is the next one.
    let inc = std::fs::canonicalize(f.path("a/inc.json5")).expect("canonical");
    f.watcher.set_files(f.main.clone(), vec![inc]);
    let (root, _) = f.changed().await;
    assert_eq!(port(&root), Some(19011));
    std::fs::write(f.path("a/inc.json5"), "{ gateway: { port: 19012 } }").expect("edit");
    let (root, _) = f.changed().await;
    assert_eq!(port(&root), Some(19012));
}

#[tokio::test]
async fn a_no_op_save_is_not_reported() {
    let text = "{ gateway: { port: 19001 } }";
    let mut f = start("noop", DEBOUNCE, &[("openclaw.json", text)]);
    std::fs::write(&f.main, text).expect("rewrite");
    f.nothing_for(DEBOUNCE * 4).await;
    editor_save(&f.main, text);
    f.nothing_for(DEBOUNCE * 4).await;
    // The watcher is alive: a real change still comes through.
    std::fs::write(&f.main, "{ gateway: { port: 19013 } }").expect("edit");
    let (root, _) = f.changed().await;
    assert_eq!(port(&root), Some(19013));
}

#[tokio::test]
async fn the_echo_of_an_applied_write_is_not_reported() {
    let mut f = start("applied", DEBOUNCE, &[("openclaw.json", "{}")]);
    let text = "{ gateway: { port: 19014 } }";
    f.watcher.note_applied(hash_text(text));
    std::fs::write(&f.main, text).expect("write");
    f.nothing_for(DEBOUNCE * 4).await;
}

#[tokio::test]
async fn a_deleted_file_is_reported_and_its_return_too() {
    let mut f = start("delete", DEBOUNCE, &[("openclaw.json", "{}")]);
    std::fs::remove_file(&f.main).expect("delete");
    match f.next().await {
        WatchEvent::Invalid { checked, hash } => {
            assert_eq!(hash, None);
            assert!(checked.read_error.is_some());
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    std::fs::write(&f.main, "{ gateway: { port: 19015 } }").expect("recreate");
    let (root, _) = f.changed().await;
    assert_eq!(port(&root), Some(19015));
}

#[tokio::test]
async fn dropping_the_watcher_closes_the_channel() {
    let f = start("drop", DEBOUNCE, &[("openclaw.json", "{}")]);
    let Fixture {
        watcher,
        mut events,
        ..
    } = f;
    drop(watcher);
    let end = tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("channel closed in time");
    assert!(end.is_none());
}
