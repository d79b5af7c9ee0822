//! Hot reload end to end: a real config file, the real file watcher, a real gateway on loopback
//! and real clients. Each test edits the file the way people do (in place, editor-style rename,
//! a write in two parts, a broken edit then a fix) and asserts what connected clients saw and what
//! changed in the running gateway.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use openclaw_runtime::config::MapEnv;
use openclaw_runtime::gateway::reload::Reloader;
use openclaw_runtime::gateway::startup::{self, StartOptions};
use openclaw_runtime::gateway::{self, Running};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ocrs-reload-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A config with the given port and token, a short debounce, and `extra` merged in at the top.
fn config_text(port: u16, token: &str, extra: &str) -> String {
    format!(
        "// test config\n{{\n  gateway: {{\n    mode: \"local\",\n    port: {port},\n    auth: {{ mode: \"token\", token: \"{token}\" }},\n    reload: {{ debounceMs: 40 }},\n  }},\n{extra}}}\n"
    )
}

struct Harness {
    dir: PathBuf,
    config: PathBuf,
    running: Option<Running>,
}

impl Harness {
    async fn start(tag: &str, text: &str) -> Harness {
        Harness::start_with(tag, text, |_| {}).await
    }

    async fn start_with(
        tag: &str,
        text: &str,
        tweak: impl FnOnce(&mut gateway::Settings),
    ) -> Harness {
        let dir = temp_dir(tag);
        let config = dir.join("openclaw.json");
        std::fs::write(&config, text).expect("write config");
        let env = MapEnv::new([
            ("HOME", dir.to_str().expect("utf-8 dir")),
            ("OPENCLAW_CONFIG_PATH", config.to_str().expect("utf-8 path")),
            (
                "OPENCLAW_STATE_DIR",
                dir.join("state").to_str().expect("utf-8"),
            ),
        ]);
        let opts = StartOptions {
            cwd: dir.clone(),
            ..StartOptions::default()
        };
        let prepared = startup::prepare(&opts, &env).expect("valid start-up config");
        let listeners: Vec<tokio::net::TcpListener> = startup::bind_all(&prepared.addrs)
            .expect("bind")
            .into_iter()
            .map(|l| tokio::net::TcpListener::from_std(l).expect("tokio listener"))
            .collect();
        let mut settings = prepared.settings;
        settings.restart_cooldown = Duration::from_millis(50);
        tweak(&mut settings);
        let reloader = Arc::new(Reloader::new(opts, prepared.runtime_token, Arc::new(env)));
        let running =
            gateway::serve_with_reload(settings, listeners, CancellationToken::new(), reloader)
                .expect("serve");
        // Let the watcher settle (its directory watch is registered before serve returns).
        Harness {
            dir,
            config,
            running: Some(running),
        }
    }

    fn g(&self) -> &gateway::Gateway {
        &self.running.as_ref().expect("running").gateway
    }

    fn port(&self) -> u16 {
        self.g()
            .addrs()
            .first()
            .map(|a| a.port())
            .expect("listening")
    }

    /// Replaces the file in place (truncate + write), as `echo > file` does.
    fn write_in_place(&self, text: &str) {
        std::fs::write(&self.config, text).expect("write in place");
    }

    /// Writes a temp file next to the config and renames it over, as editors do.
    fn write_by_rename(&self, text: &str) {
        let tmp = self.dir.join(".openclaw.json.swp");
        std::fs::write(&tmp, text).expect("write temp");
        std::fs::rename(&tmp, &self.config).expect("rename over");
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop(Duration::from_millis(300)).await;
        }
    }
}

async fn open(port: u16, origin: Option<&str>) -> Result<Ws, String> {
    let mut req = format!("ws://127.0.0.1:{port}")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    if let Some(o) = origin {
        req.headers_mut()
            .insert("origin", o.parse().map_err(|_| "bad origin".to_string())?);
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req)).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("connect timed out".into()),
    }
}

/// The next JSON frame, or `Err(close code, reason)`.
async fn next(ws: &mut Ws) -> Result<Value, (u16, String)> {
    loop {
        let m = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time");
        match m {
            Some(Ok(Message::Text(t))) => {
                return Ok(serde_json::from_str(t.as_str()).expect("JSON frame"));
            }
            Some(Ok(Message::Close(Some(CloseFrame { code, reason })))) => {
                return Err((u16::from(code), reason.to_string()));
            }
            Some(Ok(Message::Close(None))) | None => return Err((1005, String::new())),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err((1006, e.to_string())),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

/// Connects with `token` and the admin scope; returns the socket and the connect response.
async fn connect(port: u16, token: &str, origin: Option<&str>) -> (Ws, Value) {
    connect_with_scopes(port, token, origin, &["operator.admin"]).await
}

async fn connect_with_scopes(
    port: u16,
    token: &str,
    origin: Option<&str>,
    scopes: &[&str],
) -> (Ws, Value) {
    let mut ws = open(port, origin).await.expect("open");
    let challenge = next(&mut ws).await.expect("challenge");
    assert_eq!(challenge["event"], "connect.challenge");
    send(
        &mut ws,
        json!({
            "type": "req", "id": "c1", "method": "connect",
            "params": {
                "minProtocol": 4, "maxProtocol": 4,
                "client": { "id": "test", "version": "1", "platform": "linux", "mode": "backend" },
                "role": "operator", "scopes": scopes, "auth": { "token": token },
            }
        }),
    )
    .await;
    loop {
        match next(&mut ws).await {
            Ok(f) if f["type"] == "res" => return (ws, f),
            Ok(_) => continue,
            Err(e) => return (ws, json!({ "closed": e.0, "reason": e.1 })),
        }
    }
}

async fn connected(port: u16, token: &str) -> Ws {
    let (ws, hello) = connect(port, token, None).await;
    assert_eq!(hello["ok"], true, "{hello}");
    ws
}

/// Calls a method, collecting events that arrive before the answer.
async fn call(ws: &mut Ws, id: &str, method: &str, params: Value) -> Value {
    send(
        ws,
        json!({ "type": "req", "id": id, "method": method, "params": params }),
    )
    .await;
    loop {
        let f = next(ws).await.expect("answer");
        if f["type"] == "res" && f["id"] == id {
            return f;
        }
    }
}

/// Calls a method; returns the answer and the events that arrived before it.
async fn call_collect(ws: &mut Ws, id: &str, method: &str, params: Value) -> (Value, Vec<Value>) {
    send(
        ws,
        json!({ "type": "req", "id": id, "method": method, "params": params }),
    )
    .await;
    let mut events = Vec::new();
    loop {
        let f = next(ws).await.expect("answer");
        if f["type"] == "res" && f["id"] == id {
            return (f, events);
        }
        events.push(f);
    }
}

/// Waits for an event by name; other events are skipped (returned too, for assertions).
async fn wait_event(ws: &mut Ws, name: &str) -> (Value, Vec<Value>) {
    let mut skipped = Vec::new();
    loop {
        match next(ws).await {
            Ok(f) if f["type"] == "event" && f["event"] == name => return (f, skipped),
            Ok(f) => skipped.push(f),
            Err(e) => panic!("connection ended while waiting for {name}: {e:?}; saw {skipped:?}"),
        }
    }
}

/// Polls `health` until `pred` holds (bounded).
async fn health_until(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Value {
    for i in 0..200 {
        let h = call(ws, &format!("h{i}"), "health", json!({})).await;
        if pred(&h["payload"]) {
            return h["payload"].clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("health never reached the expected state");
}

fn model_ids(res: &Value) -> Vec<String> {
    res["payload"]["models"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

const MODELS: &str = "  models: { providers: { local: { baseUrl: \"http://127.0.0.1:9/v1\", models: [{ id: \"tiny\", name: \"Tiny\" }] } } },\n";

#[tokio::test]
async fn hot_edit_in_place_applies_at_once_and_keeps_clients() {
    let port = free_port();
    let h = Harness::start("in-place", &config_text(port, "first-token", "")).await;
    let mut ws = connected(port, "first-token").await;
    assert!(model_ids(&call(&mut ws, "m0", "models.list", json!({})).await).is_empty());

    let text = config_text(
        port,
        "second-token",
        &format!(
            "{MODELS}  agents: {{ entries: {{ helper: {{}} }} }},\n  logging: {{ level: \"debug\" }},\n"
        ),
    );
    h.write_in_place(&text);
    let (changed, _) = wait_event(&mut ws, "config.changed").await;
    let payload = &changed["payload"];
    assert_eq!(payload["path"], h.config.display().to_string());
    assert_eq!(
        payload["hash"],
        json!(openclaw_runtime::gateway::state::hash_text(&text))
    );
    assert!(payload["ts"].as_u64().is_some());

    // The connected client keeps its session, and sees the new models and agents at once.
    assert_eq!(
        model_ids(&call(&mut ws, "m1", "models.list", json!({})).await),
        vec!["tiny"]
    );
    let agents = call(&mut ws, "a1", "agents.list", json!({})).await;
    assert!(agents["payload"].to_string().contains("helper"), "{agents}");
    // New connections need the new token.
    let (_, refused) = connect(port, "first-token", None).await;
    assert_eq!(refused["ok"], false, "{refused}");
    let _ = connected(port, "second-token").await;
    // The plan is in health.
    let health = call(&mut ws, "h", "health", json!({})).await;
    assert_eq!(
        health["payload"]["configReload"]["pendingRestart"],
        json!([])
    );
    assert_eq!(h.g().settings().logging.level.as_deref(), Some("debug"));
    h.stop().await;
}

#[tokio::test]
async fn editor_rename_save_and_runtime_settings_apply() {
    let port = free_port();
    let h = Harness::start("rename", &config_text(port, "tok", "")).await;
    let mut ws = connected(port, "tok").await;
    let text = config_text(port, "tok", "").replace(
        "    reload: { debounceMs: 40 },\n",
        "    reload: { debounceMs: 40 },\n    handshakeTimeoutMs: 300,\n    controlUi: { allowedOrigins: [\"http://allowed.example\"] },\n    auth: { mode: \"token\", token: \"tok\", rateLimit: { maxAttempts: 3, windowMs: 1000, lockoutMs: 2000, exemptLoopback: false } },\n",
    ).replace("    auth: { mode: \"token\", token: \"tok\" },\n", "");
    h.write_by_rename(&text);
    let _ = wait_event(&mut ws, "config.changed").await;

    // handshakeTimeoutMs: a socket that never sends connect is closed after the new timeout.
    let mut idle = open(port, None).await.expect("open");
    let _challenge = next(&mut idle).await.expect("challenge");
    let started = std::time::Instant::now();
    let end = next(&mut idle).await;
    assert!(end.is_err(), "{end:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // allowedOrigins: the new origin may connect, others may not.
    let (_, ok) = connect(port, "tok", Some("http://allowed.example")).await;
    assert_eq!(ok["ok"], true, "{ok}");
    let (_, bad) = connect(port, "tok", Some("http://other.example")).await;
    assert_eq!(bad["ok"], false, "{bad}");

    // rateLimit: the limiter runs the new policy.
    let limit = h.g().limiter().limit();
    assert_eq!(limit.max_attempts, 3);
    assert_eq!(limit.window, Duration::from_millis(1000));
    assert!(!limit.exempt_loopback);
    h.stop().await;
}

#[tokio::test]
async fn a_write_in_two_parts_within_the_debounce_is_one_change() {
    let port = free_port();
    let h = Harness::start_with("partial", &config_text(port, "tok", ""), |_| {}).await;
    let mut ws = connected(port, "tok").await;
    let text = config_text(port, "tok", MODELS);
    let (a, b) = text.split_at(text.len() / 2);
    std::fs::write(&h.config, a).expect("first half");
    tokio::time::sleep(Duration::from_millis(5)).await;
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&h.config)
            .expect("open for append");
        f.write_all(b.as_bytes()).expect("second half");
    }
    let (changed, skipped) = wait_event(&mut ws, "config.changed").await;
    assert_eq!(
        changed["payload"]["hash"],
        json!(openclaw_runtime::gateway::state::hash_text(&text))
    );
    assert!(
        skipped.iter().all(|f| f["event"] != "config.changed"),
        "{skipped:?}"
    );
    // The half-written version was never reported as broken.
    let health = call(&mut ws, "h", "health", json!({})).await;
    assert!(
        health["payload"]["configReload"].get("lastError").is_none(),
        "{health}"
    );
    assert_eq!(
        model_ids(&call(&mut ws, "m", "models.list", json!({})).await),
        vec!["tiny"]
    );
    h.stop().await;
}

#[tokio::test]
async fn a_broken_edit_keeps_the_last_good_config_until_fixed() {
    let port = free_port();
    let good = config_text(port, "tok", "");
    let h = Harness::start("broken", &good).await;
    let mut ws = connected(port, "tok").await;
    // Valid JSON5, invalid config: a port that is not a number and an unknown key.
    let broken = good
        .replace(&format!("port: {port}"), "port: \"not-a-port\"")
        .replace("// test config\n{\n", "// test config\n{\n  gatewya: {},\n");
    h.write_in_place(&broken);
    let health = health_until(&mut ws, |p| p["configReload"].get("lastError").is_some()).await;
    let issues = health["configReload"]["fileIssues"].to_string();
    assert!(issues.contains("gateway.port"), "{issues}");
    assert!(issues.contains("gatewya"), "{issues}");
    assert_eq!(health["configReload"]["fileValid"], false);
    // config.get shows the file's problems; the running config is the last good one.
    let got = call(&mut ws, "g", "config.get", json!({})).await;
    assert_eq!(got["payload"]["valid"], false, "{got}");
    assert!(
        got["payload"]["issues"]
            .to_string()
            .contains("gateway.port")
    );
    assert_eq!(h.port(), port);
    let _ = connected(port, "tok").await;

    // The fix applies, and the problem report goes away.
    let fixed = config_text(port, "tok", MODELS);
    h.write_in_place(&fixed);
    let (changed, skipped) = wait_event(&mut ws, "config.changed").await;
    assert_eq!(
        changed["payload"]["hash"],
        json!(openclaw_runtime::gateway::state::hash_text(&fixed))
    );
    assert!(
        skipped.iter().all(|f| f["event"] != "shutdown"),
        "{skipped:?}"
    );
    let health = call(&mut ws, "h2", "health", json!({})).await;
    assert!(health["payload"]["configReload"].get("lastError").is_none());
    let got = call(&mut ws, "g2", "config.get", json!({})).await;
    assert_eq!(got["payload"]["valid"], true, "{got}");
    h.stop().await;
}

#[tokio::test]
async fn a_port_change_restarts_in_process_onto_the_new_port() {
    let port = free_port();
    let h = Harness::start("restart", &config_text(port, "tok", "")).await;
    let mut ws = connected(port, "tok").await;
    let new_port = free_port();
    h.write_in_place(&config_text(new_port, "tok", ""));
    let (_changed, _) = wait_event(&mut ws, "config.changed").await;
    let (shutdown, _) = wait_event(&mut ws, "shutdown").await;
    assert_eq!(shutdown["payload"]["reason"], "gateway restarting");
    let expected = shutdown["payload"]["restartExpectedMs"]
        .as_u64()
        .expect("restartExpectedMs");
    assert_eq!(next(&mut ws).await, Err((1012, "service restart".into())));
    // Back on the new port within restartExpectedMs; the old port is closed.
    let started = std::time::Instant::now();
    let mut ws2 = loop {
        if let Ok(ws) = open(new_port, None).await {
            break ws;
        }
        assert!(started.elapsed() < Duration::from_millis(expected.max(1) * 4));
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let _ = next(&mut ws2).await.expect("challenge on the new port");
    assert!(open(port, None).await.is_err());
    assert_eq!(h.port(), new_port);
    let mut ws3 = connected(new_port, "tok").await;
    let health = call(&mut ws3, "h", "health", json!({})).await;
    assert_eq!(health["payload"]["configReload"]["restarts"], 1);
    h.stop().await;
}

#[tokio::test]
async fn a_taken_port_keeps_the_old_listener_and_the_clients() {
    let port = free_port();
    let h = Harness::start("taken", &config_text(port, "tok", "")).await;
    let mut ws = connected(port, "tok").await;
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").expect("blocker");
    let taken = blocker.local_addr().expect("addr").port();
    h.write_in_place(&config_text(taken, "tok", ""));
    let _ = wait_event(&mut ws, "config.changed").await;
    let health = health_until(&mut ws, |p| {
        p["configReload"]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("restart failed"))
    })
    .await;
    assert!(
        health["configReload"]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains(&taken.to_string())),
        "{health}"
    );
    // Still serving on the old port, and the client was never dropped.
    assert_eq!(h.port(), port);
    let ok = call(&mut ws, "h", "health", json!({})).await;
    assert_eq!(ok["ok"], true);
    let _ = connected(port, "tok").await;
    drop(blocker);
    h.stop().await;
}

#[tokio::test]
async fn hot_mode_lists_restart_changes_as_pending() {
    let port = free_port();
    let text = config_text(port, "tok", "").replace(
        "reload: { debounceMs: 40 }",
        "reload: { debounceMs: 40, mode: \"hot\" }",
    );
    let h = Harness::start("hot-mode", &text).await;
    let mut ws = connected(port, "tok").await;
    let new_port = free_port();
    h.write_in_place(&text.replace(&format!("port: {port}"), &format!("port: {new_port}")));
    let _ = wait_event(&mut ws, "config.changed").await;
    let health = call(&mut ws, "h", "health", json!({})).await;
    assert_eq!(
        health["payload"]["configReload"]["pendingRestart"],
        json!(["gateway.port"])
    );
    assert_eq!(health["payload"]["configReload"]["mode"], "hot");
    assert_eq!(h.port(), port);
    h.stop().await;
}

#[tokio::test]
async fn off_mode_applies_nothing() {
    let port = free_port();
    let text = config_text(port, "tok", "").replace(
        "reload: { debounceMs: 40 }",
        "reload: { debounceMs: 40, mode: \"off\" }",
    );
    let h = Harness::start("off-mode", &text).await;
    let mut ws = connected(port, "tok").await;
    h.write_in_place(&config_text(port, "tok", MODELS).replace(
        "reload: { debounceMs: 40 }",
        "reload: { debounceMs: 40, mode: \"off\" }",
    ));
    let health = health_until(&mut ws, |p| {
        p["configReload"]["pendingRestart"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    })
    .await;
    assert_eq!(health["configReload"]["hotReloadStatus"], "disabled");
    assert!(model_ids(&call(&mut ws, "m", "models.list", json!({})).await).is_empty());
    h.stop().await;
}

/// 8 clients keep requests in flight while the config is hot-changed 100 times: no request
/// fails and no connection drops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_soak_drops_nothing() {
    let port = free_port();
    let h = Harness::start("soak", &config_text(port, "tok", "")).await;
    let stop = CancellationToken::new();
    let mut clients = Vec::new();
    for c in 0..8 {
        let mut ws = connected(port, "tok").await;
        let stop = stop.clone();
        clients.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut i = 0u64;
            while !stop.is_cancelled() {
                i += 1;
                let method = if i.is_multiple_of(2) {
                    "health"
                } else {
                    "models.list"
                };
                let id = format!("{c}-{i}");
                send(
                    &mut ws,
                    json!({ "type": "req", "id": id, "method": method, "params": {} }),
                )
                .await;
                loop {
                    match next(&mut ws).await {
                        Ok(f) if f["type"] == "res" && f["id"] == id.as_str() => {
                            if f["ok"] == true {
                                ok += 1;
                            } else {
                                failed += 1;
                            }
                            break;
                        }
                        Ok(_) => continue,
                        Err(e) => panic!("client {c} dropped: {e:?}"),
                    }
                }
            }
            (ok, failed, ws)
        }));
    }
    let mut watcher = connected(port, "tok").await;
    for n in 0..100u32 {
        let level = if n.is_multiple_of(2) { "debug" } else { "info" };
        let text = config_text(
            port,
            "tok",
            &format!(
                "  logging: {{ level: \"{level}\" }},\n  ui: {{ seamColor: \"#{n:06x}\" }},\n"
            ),
        );
        h.write_in_place(&text);
        let (changed, _) = wait_event(&mut watcher, "config.changed").await;
        assert_eq!(
            changed["payload"]["hash"],
            json!(openclaw_runtime::gateway::state::hash_text(&text)),
            "change {n}"
        );
    }
    stop.cancel();
    let mut total = 0;
    for c in clients {
        let (ok, failed, mut ws) = c.await.expect("client task");
        assert_eq!(failed, 0);
        total += ok;
        // Still connected.
        let r = call(&mut ws, "last", "health", json!({})).await;
        assert_eq!(r["ok"], true);
    }
    assert!(total > 100, "{total} requests answered");
    assert_eq!(h.g().reload_status().restarts, 0);
    h.stop().await;
}

async fn config_hash(ws: &mut Ws) -> String {
    let got = call(ws, "cg", "config.get", json!({})).await;
    got["payload"]["hash"].as_str().expect("hash").to_string()
}

#[tokio::test]
async fn config_patch_edits_only_the_changed_text_and_applies_at_once() {
    let port = free_port();
    let original = config_text(
        port,
        "tok",
        "  // keep this comment\n  ui: { seamColor: \"#000000\" }, // and this one\n",
    );
    // Refused requests count against the write limit too (as in OpenClaw); this test makes more.
    let h = Harness::start_with("rpc-patch", &original, |s| s.config_writes_per_window = 100).await;
    let mut ws = connected(port, "tok").await;

    // Without baseHash, or with a stale one: refused, nothing written.
    let r = call(
        &mut ws,
        "p0",
        "config.patch",
        json!({ "raw": "{ logging: { level: \"debug\" } }" }),
    )
    .await;
    assert_eq!(r["error"]["code"], "INVALID_REQUEST", "{r}");
    let r = call(
        &mut ws,
        "p1",
        "config.patch",
        json!({ "raw": "{}", "baseHash": "sha256:0" }),
    )
    .await;
    assert_eq!(r["error"]["code"], "INVALID_REQUEST", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("re-run config.get"))
    );
    assert_eq!(std::fs::read_to_string(&h.config).expect("read"), original);

    // An invalid result: refused with the issues, nothing written.
    let base = config_hash(&mut ws).await;
    let r = call(
        &mut ws,
        "p2",
        "config.patch",
        json!({ "raw": "{ gateway: { port: \"x\" } }", "baseHash": base }),
    )
    .await;
    assert_eq!(r["error"]["code"], "INVALID_REQUEST", "{r}");
    assert!(
        r["error"]["details"]["issues"]
            .to_string()
            .contains("gateway.port"),
        "{r}"
    );
    assert_eq!(std::fs::read_to_string(&h.config).expect("read"), original);

    // A good patch: only the patched text changes; every comment stays; applied at once.
    let (r, before_reply) = call_collect(
        &mut ws,
        "p3",
        "config.patch",
        json!({ "raw": format!("{{ ui: {{ seamColor: \"#123456\" }}, models: {} }}", MODELS.trim().trim_start_matches("models:").trim().trim_end_matches(',')), "baseHash": base }),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        r["payload"]["changedPaths"],
        json!([
            "models.providers.local.baseUrl",
            "models.providers.local.models",
            "ui.seamColor"
        ])
    );
    let after = std::fs::read_to_string(&h.config).expect("read");
    assert!(
        after.contains("// keep this comment")
            && after.contains("// and this one")
            && after.starts_with("// test config\n"),
        "{after}"
    );
    assert!(after.contains("\"#123456\""), "{after}");
    assert_eq!(
        r["payload"]["hash"],
        json!(openclaw_runtime::gateway::state::hash_text(&after))
    );
    // The change is applied (and announced) before the reply.
    let changed: Vec<&Value> = before_reply
        .iter()
        .filter(|f| f["event"] == "config.changed")
        .collect();
    assert_eq!(changed.len(), 1, "{before_reply:?}");
    assert_eq!(changed[0]["payload"]["hash"], r["payload"]["hash"]);
    assert_eq!(
        model_ids(&call(&mut ws, "m", "models.list", json!({})).await),
        vec!["tiny"]
    );
    // The backup holds the previous text.
    assert_eq!(
        std::fs::read_to_string(h.dir.join("openclaw.json.bak")).expect("backup"),
        original
    );
    // Exactly one config.changed for this write (the watcher's echo is ignored).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, events) = call_collect(&mut ws, "h2", "health", json!({})).await;
    assert!(
        events.iter().all(|f| f["event"] != "config.changed"),
        "{events:?}"
    );
    h.stop().await;
}

#[tokio::test]
async fn config_writes_are_rate_limited_per_writer() {
    let port = free_port();
    let h = Harness::start("rpc-limit", &config_text(port, "tok", "")).await;
    let mut ws = connected(port, "tok").await;
    for i in 0..3 {
        let base = config_hash(&mut ws).await;
        let r = call(
            &mut ws,
            &format!("s{i}"),
            "config.patch",
            json!({ "raw": format!("{{ ui: {{ seamColor: \"#00000{i}\" }} }}"), "baseHash": base }),
        )
        .await;
        assert_eq!(r["ok"], true, "{r}");
    }
    let base = config_hash(&mut ws).await;
    let r = call(
        &mut ws,
        "s4",
        "config.patch",
        json!({ "raw": "{ ui: { seamColor: \"#000009\" } }", "baseHash": base }),
    )
    .await;
    assert_eq!(r["error"]["code"], "UNAVAILABLE", "{r}");
    let wait = r["error"]["retryAfterMs"].as_u64().expect("retryAfterMs");
    assert!(wait > 0 && wait <= 60_000, "{r}");
    assert!(
        !std::fs::read_to_string(&h.config)
            .expect("read")
            .contains("#000009")
    );
    h.stop().await;
}

#[tokio::test]
async fn config_apply_restarts_when_the_change_needs_it() {
    let port = free_port();
    let h = Harness::start("rpc-apply", &config_text(port, "tok", "")).await;
    let mut ws = connected(port, "tok").await;
    let base = config_hash(&mut ws).await;
    let new_port = free_port();
    let raw = config_text(new_port, "tok", "");
    let (r, early) = call_collect(
        &mut ws,
        "a",
        "config.apply",
        json!({ "raw": raw, "baseHash": base, "restartDelayMs": 0 }),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["payload"]["plan"]["restart"], json!(["gateway.port"]));
    assert_eq!(r["payload"]["restart"]["scheduled"], true);
    assert_eq!(std::fs::read_to_string(&h.config).expect("read"), raw);
    // The restart may begin before the reply is read.
    let shutdown = match early.into_iter().find(|f| f["event"] == "shutdown") {
        Some(f) => f,
        None => wait_event(&mut ws, "shutdown").await.0,
    };
    assert_eq!(shutdown["payload"]["reason"], "gateway restarting");
    let started = std::time::Instant::now();
    loop {
        if open(new_port, None).await.is_ok() {
            break;
        }
        assert!(started.elapsed() < WAIT);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    h.stop().await;
}

#[tokio::test]
async fn config_set_needs_admin_scope() {
    let port = free_port();
    let h = Harness::start("rpc-scope", &config_text(port, "tok", "")).await;
    let (mut ws, hello) = connect_with_scopes(port, "tok", None, &["operator.read"]).await;
    assert_eq!(hello["ok"], true, "{hello}");
    let r = call(
        &mut ws,
        "s",
        "config.set",
        json!({ "raw": "{}", "baseHash": "x" }),
    )
    .await;
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("operator.admin")),
        "{r}"
    );
    h.stop().await;
}
