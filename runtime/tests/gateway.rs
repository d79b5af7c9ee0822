//! The gateway over real loopback sockets, driven by tokio-tungstenite (an independent WebSocket
//! implementation): handshake outcomes, scopes, device pairing, limits, backpressure, admission and
//! the shutdown sequence.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use openclaw_runtime::gateway::{self, ConfigState, Settings, device};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const TOKEN: &str = "test-token-123";
const WAIT: Duration = Duration::from_secs(10);

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ocrs-gw-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn settings(tag: &str) -> Settings {
    let dir = temp_dir(tag);
    let mut s = Settings::new(ConfigState::missing(dir.join("openclaw.json")), dir);
    s.auth.token = Some(TOKEN.into());
    s
}

async fn start(s: Settings) -> gateway::Running {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    gateway::serve(s, vec![l], CancellationToken::new()).expect("serve")
}

async fn open(r: &gateway::Running) -> Ws {
    let url = format!("ws://{}", r.addrs[0]);
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("connect");
    ws
}

/// The next JSON frame, or `Err(close code, reason)` when the server closed.
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

/// The next response frame (events skipped).
async fn response(ws: &mut Ws) -> Result<Value, (u16, String)> {
    loop {
        let f = next(ws).await?;
        if f["type"] == "res" {
            return Ok(f);
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

fn connect_frame(auth: Value, scopes: &[&str], mode: &str) -> Value {
    json!({
        "type": "req", "id": "c1", "method": "connect",
        "params": {
            "minProtocol": 4, "maxProtocol": 4,
            "client": { "id": if mode == "cli" { "cli" } else { "test" }, "version": "1", "platform": "linux", "mode": mode },
            "role": "operator", "scopes": scopes, "auth": auth,
        }
    })
}

/// Opens a socket, reads the challenge and connects with the shared token.
async fn connected(r: &gateway::Running, scopes: &[&str]) -> (Ws, Value) {
    let mut ws = open(r).await;
    let challenge = next(&mut ws).await.expect("challenge");
    assert_eq!(challenge["event"], "connect.challenge");
    send(
        &mut ws,
        connect_frame(json!({ "token": TOKEN }), scopes, "cli"),
    )
    .await;
    let hello = response(&mut ws).await.expect("hello");
    assert_eq!(hello["ok"], true, "{hello}");
    (ws, hello)
}

async fn call(ws: &mut Ws, id: &str, method: &str, params: Value) -> Value {
    send(
        ws,
        json!({ "type": "req", "id": id, "method": method, "params": params }),
    )
    .await;
    loop {
        let f = response(ws).await.expect("response");
        if f["id"] == id {
            return f;
        }
    }
}

#[tokio::test]
async fn hello_ok_carries_the_session() {
    let r = start(settings("hello")).await;
    let (mut ws, hello) = connected(&r, &["operator.admin"]).await;
    let p = &hello["payload"];
    assert_eq!(p["type"], "hello-ok");
    assert_eq!(p["protocol"], 4);
    assert!(
        p["server"]["connId"]
            .as_str()
            .is_some_and(|s| s.len() == 36)
    );
    assert_eq!(
        p["policy"],
        json!({ "maxPayload": 26214400, "maxBufferedBytes": 52428800, "tickIntervalMs": 30000 })
    );
    assert_eq!(p["auth"]["role"], "operator");
    assert_eq!(p["auth"]["scopes"], json!(["operator.admin"]));
    assert_eq!(p["snapshot"]["authMode"], "token");
    let methods: Vec<&str> = p["features"]["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!methods.contains(&"connect"));
    // Everything advertised really answers (no "unknown method").
    for (i, m) in methods.iter().enumerate() {
        let params = match *m {
            "system-event" => json!({ "text": "hello" }),
            "config.schema.lookup" => json!({ "path": "gateway.port" }),
            _ => json!({}),
        };
        let res = call(&mut ws, &format!("m{i}"), m, params).await;
        let unknown = res["error"]["message"]
            .as_str()
            .is_some_and(|s| s.starts_with("unknown method"));
        assert!(!unknown, "{m}: {res}");
        match *m {
            // Needs a log file.
            "logs.tail" => {}
            // Need `raw` (and a gateway that manages its config file: see tests/reload.rs).
            "config.set" | "config.patch" | "config.apply" => {
                assert_eq!(res["error"]["code"], "INVALID_REQUEST", "{m}: {res}");
            }
            _ => assert_eq!(res["ok"], true, "{m}: {res}"),
        }
    }
    // A health event follows the hello.
    r.stop(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn request_frames_after_hello() {
    let r = start(settings("frames")).await;
    let (mut ws, _) = connected(&r, &["operator.read"]).await;
    // Unknown method: an error, the connection stays.
    let res = call(&mut ws, "u1", "no.such.method", json!({})).await;
    assert_eq!(
        res["error"],
        json!({ "code": "INVALID_REQUEST", "message": "unknown method: no.such.method" })
    );
    // A frame without id answers with id "invalid".
    send(&mut ws, json!({ "type": "req", "method": "health" })).await;
    let res = response(&mut ws).await.expect("res");
    assert_eq!(res["id"], "invalid");
    assert_eq!(
        res["error"]["message"],
        "invalid request frame: must have required property 'id'"
    );
    // Malformed JSON is ignored; the next request still works and ids echo exactly.
    ws.send(Message::text("{not json")).await.expect("send");
    let res = call(&mut ws, "id with spaces ✓", "health", json!({ "bogus": 1 })).await;
    assert_eq!(res["ok"], true);
    // A second connect is refused, the connection kept.
    send(
        &mut ws,
        connect_frame(json!({ "token": TOKEN }), &[], "cli"),
    )
    .await;
    let res = response(&mut ws).await.expect("res");
    assert_eq!(
        res["error"]["message"],
        "connect is only valid as the first request"
    );
    // Scopes: read is enough for config.get, not for config.schema (admin).
    assert_eq!(
        call(&mut ws, "g", "config.get", json!({})).await["ok"],
        true
    );
    let res = call(&mut ws, "s", "config.schema", json!({})).await;
    assert_eq!(
        res["error"],
        json!({
            "code": "FORBIDDEN",
            "message": "missing scope: operator.admin",
            "details": { "code": "MISSING_SCOPE", "missingScope": "operator.admin", "requiredScopes": ["operator.admin"] },
        })
    );
    // Bad params name the field.
    let res = call(&mut ws, "p", "config.get", json!({ "path": 123 })).await;
    assert_eq!(res["error"]["code"], "INVALID_REQUEST");
    assert!(
        res["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("path")),
        "{res}"
    );
    r.stop(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn handshake_refusals_close_with_openclaw_codes() {
    let r = start(settings("refusals")).await;
    // Wrong token: details, then 1008 with the message (after the first back-off step).
    let mut ws = open(&r).await;
    next(&mut ws).await.expect("challenge");
    send(
        &mut ws,
        connect_frame(json!({ "token": "WRONG" }), &[], "cli"),
    )
    .await;
    let res = response(&mut ws).await.expect("res");
    let msg = "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)";
    assert_eq!(res["error"]["message"], msg);
    assert_eq!(res["error"]["details"]["code"], "AUTH_TOKEN_MISMATCH");
    assert_eq!(next(&mut ws).await, Err((1008, msg.to_string())));
    // No credentials and no device: NOT_PAIRED.
    let mut ws = open(&r).await;
    next(&mut ws).await.expect("challenge");
    send(&mut ws, connect_frame(json!({}), &[], "cli")).await;
    let res = response(&mut ws).await.expect("res");
    assert_eq!(
        res["error"],
        json!({ "code": "NOT_PAIRED", "message": "device identity required", "details": { "code": "DEVICE_IDENTITY_REQUIRED" } })
    );
    assert_eq!(
        next(&mut ws).await,
        Err((1008, "device identity required".into()))
    );
    // Protocol mismatch: 1002.
    let mut ws = open(&r).await;
    next(&mut ws).await.expect("challenge");
    let mut f = connect_frame(json!({ "token": TOKEN }), &[], "cli");
    f["params"]["minProtocol"] = json!(5);
    f["params"]["maxProtocol"] = json!(9);
    send(&mut ws, f).await;
    let res = response(&mut ws).await.expect("res");
    assert_eq!(
        res["error"]["details"],
        json!({ "code": "PROTOCOL_MISMATCH", "clientMinProtocol": 5, "clientMaxProtocol": 9, "expectedProtocol": 4, "minimumProbeProtocol": 3 })
    );
    assert_eq!(next(&mut ws).await, Err((1002, "protocol mismatch".into())));
    // A probe may speak v3 only.
    let mut ws = open(&r).await;
    next(&mut ws).await.expect("challenge");
    let mut f = connect_frame(json!({ "token": TOKEN }), &["operator.read"], "probe");
    f["params"]["minProtocol"] = json!(3);
    f["params"]["maxProtocol"] = json!(3);
    send(&mut ws, f).await;
    let res = response(&mut ws).await.expect("res");
    assert_eq!(res["payload"]["protocol"], 3);
    assert_eq!(res["payload"]["auth"]["scopes"], json!([]));
    // First request not connect: error then 1008.
    let mut ws = open(&r).await;
    next(&mut ws).await.expect("challenge");
    send(
        &mut ws,
        json!({ "type": "req", "id": "h", "method": "health" }),
    )
    .await;
    let res = response(&mut ws).await.expect("res");
    let msg = "invalid handshake: first request must be connect";
    assert_eq!(res["error"]["message"], msg);
    assert_eq!(next(&mut ws).await, Err((1008, msg.into())));
    // Malformed JSON first: 1000, no reply.
    let mut ws = open(&r).await;
    next(&mut ws).await.expect("challenge");
    ws.send(Message::text("{this is not json"))
        .await
        .expect("send");
    assert_eq!(next(&mut ws).await, Err((1000, String::new())));
    // Valid JSON that is not a frame: 1008 "invalid request frame".
    let mut ws = open(&r).await;
    next(&mut ws).await.expect("challenge");
    ws.send(Message::text("[1,2,3]")).await.expect("send");
    assert_eq!(
        next(&mut ws).await,
        Err((1008, "invalid request frame".into()))
    );
    // A foreign browser origin.
    let url = format!("ws://{}", r.addrs[0]);
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .expect("request");
    req.headers_mut().insert(
        "origin",
        "http://evil.example".parse().expect("header value"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    next(&mut ws).await.expect("challenge");
    send(
        &mut ws,
        connect_frame(json!({ "token": TOKEN }), &[], "webchat"),
    )
    .await;
    let res = response(&mut ws).await.expect("res");
    assert_eq!(
        res["error"]["details"]["code"],
        "CONTROL_UI_ORIGIN_NOT_ALLOWED"
    );
    r.stop(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn handshake_timeout_and_preauth_limit() {
    let mut s = settings("timeout");
    s.handshake_timeout = Duration::from_millis(200);
    let r = start(s).await;
    let mut ws = open(&r).await;
    next(&mut ws).await.expect("challenge");
    assert_eq!(next(&mut ws).await, Err((1000, String::new())));
    // More than 64 KiB before hello: 1009.
    let mut ws = open(&r).await;
    next(&mut ws).await.expect("challenge");
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let _ = ws.send(Message::text(big)).await;
    let (code, _) = next(&mut ws).await.expect_err("closed");
    assert_eq!(code, 1009);
    r.stop(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn pipelined_requests_are_all_answered() {
    let r = start(settings("pipeline")).await;
    let (ws, _) = connected(&r, &["operator.read"]).await;
    let n = 10_000;
    let (mut tx, mut rx) = ws.split();
    let writer = tokio::spawn(async move {
        for i in 0..n {
            let f = json!({ "type": "req", "id": i.to_string(), "method": if i % 2 == 0 { "last-heartbeat" } else { "health" } });
            tx.feed(Message::text(f.to_string())).await.expect("feed");
        }
        tx.flush().await.expect("flush");
        tx
    });
    let mut ok = 0;
    while ok < n {
        let m = tokio::time::timeout(WAIT, rx.next())
            .await
            .expect("replies keep coming")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(t.as_str()).expect("json");
            if v["type"] == "res" {
                assert_eq!(v["ok"], true, "{v}");
                ok += 1;
            }
        }
    }
    let _ = writer.await;
    r.stop(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn admission_limit_answers_busy() {
    let mut s = settings("busy");
    s.admission_limit = 0;
    let r = start(s).await;
    let (mut ws, _) = connected(&r, &["operator.admin"]).await;
    let res = call(&mut ws, "b", "config.get", json!({})).await;
    assert_eq!(
        res["error"],
        json!({ "code": "UNAVAILABLE", "message": "The server is busy. Please try again in a moment.", "retryable": true })
    );
    // Cheap methods do not queue and still answer.
    assert_eq!(call(&mut ws, "h", "health", json!({})).await["ok"], true);
    r.stop(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn max_payload_closes_1009() {
    let mut s = settings("payload");
    s.max_payload = 128 * 1024;
    let r = start(s).await;
    let (mut ws, _) = connected(&r, &["operator.read"]).await;
    let pad = "x".repeat(200 * 1024);
    let _ = ws
        .send(Message::text(
            json!({ "type": "req", "id": "x", "method": "health", "params": { "pad": pad } })
                .to_string(),
        ))
        .await;
    loop {
        match next(&mut ws).await {
            Ok(_) => continue,
            Err((code, _)) => {
                assert_eq!(code, 1009);
                break;
            }
        }
    }
    r.stop(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn slow_consumer_is_disconnected_and_memory_stays_bounded() {
    let mut s = settings("slow");
    s.max_buffered = 256 * 1024;
    let r = start(s).await;
    let (ws, _) = connected(&r, &["operator.admin"]).await;
    let (mut tx, mut rx) = ws.split();
    // Ask for large replies and never read them.
    let mut closed = false;
    for i in 0..2000 {
        let f = json!({ "type": "req", "id": i.to_string(), "method": "config.schema" });
        if tx.send(Message::text(f.to_string())).await.is_err() {
            closed = true;
            break;
        }
    }
    // The server gives up on us: reading now ends with a close or EOF, in bounded time.
    let mut frames = 0usize;
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(m) = rx.next().await {
            match m {
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => frames += 1,
            }
        }
    })
    .await;
    assert!(
        closed || ended.is_ok(),
        "the slow consumer must be disconnected"
    );
    assert!(
        frames < 2000,
        "not every reply was delivered (got {frames})"
    );
    // The server forgets the connection (bounded wait: the close races the cleanup).
    let gone = tokio::time::timeout(WAIT, async {
        while r.gateway.connection_count() > 0 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(gone.is_ok(), "the connection is dropped from the registry");
    r.stop(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn shutdown_says_goodbye_and_closes_1012() {
    let r = start(settings("shutdown")).await;
    let (mut ws, _) = connected(&r, &["operator.read"]).await;
    let stop = tokio::spawn(async move { r.stop(Duration::from_millis(800)).await });
    let mut saw_shutdown = false;
    loop {
        match next(&mut ws).await {
            Ok(f) if f["event"] == "shutdown" => {
                assert_eq!(f["payload"], json!({ "reason": "gateway stopping" }));
                assert!(f["seq"].as_u64().is_some());
                saw_shutdown = true;
            }
            Ok(_) => {}
            Err(close) => {
                assert_eq!(close, (1012, "service restart".into()));
                break;
            }
        }
    }
    assert!(saw_shutdown);
    tokio::time::timeout(Duration::from_secs(2), stop)
        .await
        .expect("stopped within the budget")
        .expect("join");
}

#[tokio::test]
async fn ticks_and_presence_carry_per_connection_seq() {
    let mut s = settings("tick");
    s.tick_interval = Duration::from_millis(100);
    let r = start(s).await;
    let (mut watcher, _) = connected(&r, &["operator.read"]).await;
    // A non-CLI client appears in presence.
    let mut other = open(&r).await;
    next(&mut other).await.expect("challenge");
    let mut f = connect_frame(json!({ "token": TOKEN }), &[], "backend");
    f["params"]["client"]["instanceId"] = json!("inst-1");
    send(&mut other, f).await;
    assert_eq!(response(&mut other).await.expect("hello")["ok"], true);
    let mut last_seq = 0;
    let (mut ticks, mut presence) = (0, false);
    while ticks < 2 || !presence {
        let f = next(&mut watcher).await.expect("event");
        if f["type"] != "event" {
            continue;
        }
        let seq = f["seq"].as_u64().expect("seq");
        assert_eq!(seq, last_seq + 1, "seq has no gaps: {f}");
        last_seq = seq;
        match f["event"].as_str() {
            Some("tick") => ticks += 1,
            Some("presence") => {
                let list = f["payload"]["presence"].as_array().expect("list");
                if list.iter().any(|e| e["instanceId"] == "inst-1") {
                    assert!(f["stateVersion"]["presence"].as_u64().is_some());
                    presence = true;
                }
            }
            _ => {}
        }
    }
    r.stop(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn loopback_device_is_paired_and_its_token_works() {
    let s = settings("device");
    let state_dir = s.state_dir.clone();
    let r = start(s).await;
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let scopes = vec!["operator.read".to_string()];
    let connect_with = |nonce: &str, device_token: Option<&str>| {
        let fields = device::PayloadFields {
            client_id: "test",
            client_mode: "backend",
            role: "operator",
            scopes: &scopes,
            signed_at_ms: device::now_ms(),
            token: device_token,
            nonce,
            platform: Some("linux"),
            device_family: None,
        };
        let claim = device::sign_claim(&key, device::PayloadVersion::V3, &fields);
        let mut auth = json!({});
        if let Some(t) = device_token {
            auth = json!({ "deviceToken": t });
        }
        json!({
            "type": "req", "id": "c1", "method": "connect",
            "params": {
                "minProtocol": 4, "maxProtocol": 4,
                "client": { "id": "test", "version": "1", "platform": "linux", "mode": "backend" },
                "role": "operator", "scopes": scopes, "auth": auth,
                "device": { "id": claim.id, "publicKey": claim.public_key, "signature": claim.signature, "signedAt": claim.signed_at, "nonce": claim.nonce },
            }
        })
    };
    let mut ws = open(&r).await;
    let ch = next(&mut ws).await.expect("challenge");
    let nonce = ch["payload"]["nonce"].as_str().expect("nonce").to_string();
    send(&mut ws, connect_with(&nonce, None)).await;
    let hello = response(&mut ws).await.expect("hello");
    assert_eq!(hello["ok"], true, "{hello}");
    let token = hello["payload"]["auth"]["deviceToken"]
        .as_str()
        .expect("a device token on first pairing")
        .to_string();
    assert!(state_dir.join("devices/paired.json").is_file());
    // The token works on the next connect; a wrong one is refused.
    let mut ws = open(&r).await;
    let ch = next(&mut ws).await.expect("challenge");
    let nonce = ch["payload"]["nonce"].as_str().expect("nonce").to_string();
    send(&mut ws, connect_with(&nonce, Some(&token))).await;
    let hello = response(&mut ws).await.expect("hello");
    assert_eq!(hello["ok"], true, "{hello}");
    assert_eq!(hello["payload"]["auth"]["method"], "device-token");
    let mut ws = open(&r).await;
    let ch = next(&mut ws).await.expect("challenge");
    let nonce = ch["payload"]["nonce"].as_str().expect("nonce").to_string();
    send(&mut ws, connect_with(&nonce, Some("not-the-token"))).await;
    let res = response(&mut ws).await.expect("res");
    assert_eq!(
        res["error"]["details"]["code"],
        "AUTH_DEVICE_TOKEN_MISMATCH"
    );
    // A signature over another nonce fails.
    let mut ws = open(&r).await;
    next(&mut ws).await.expect("challenge");
    send(&mut ws, connect_with("some-other-nonce", None)).await;
    let res = response(&mut ws).await.expect("res");
    assert_eq!(
        res["error"]["details"]["code"],
        "DEVICE_AUTH_NONCE_MISMATCH"
    );
    r.stop(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn config_get_redacts_secrets_and_logs_tail_reads_the_file() {
    let dir = temp_dir("config");
    let path = dir.join("openclaw.json5");
    std::fs::write(
        &path,
        "{ gateway: { mode: 'local', auth: { token: 'super-secret-token' } }, models: { providers: { acme: { baseUrl: 'https://acme.example/v1', apiKey: 'sk-live', models: [{ id: 'm1', name: 'Model One' }] } } } }",
    )
    .expect("write config");
    let checked =
        openclaw_runtime::config::check_file(&path, &openclaw_runtime::config::MapEnv::default());
    assert!(checked.is_valid(), "{:?}", checked.errors);
    let mut s = Settings::new(ConfigState::from_checked(&checked), dir.clone());
    s.auth.token = Some(TOKEN.into());
    let log = dir.join("gateway.log");
    std::fs::write(&log, "one\ntwo\nthree\n").expect("write log");
    s.log_file = Some(gateway::logfile::LogTarget::Fixed(log.clone()));
    let r = start(s).await;
    let (mut ws, _) = connected(&r, &["operator.read"]).await;
    let res = call(&mut ws, "g", "config.get", json!({})).await;
    let text = res.to_string();
    assert!(
        !text.contains("super-secret-token") && !text.contains("sk-live"),
        "{text}"
    );
    let p = &res["payload"];
    assert_eq!(p["exists"], true);
    assert_eq!(p["valid"], true);
    assert!(p["hash"].as_str().is_some_and(|h| h.starts_with("sha256:")));
    assert_eq!(
        p["config"]["gateway"]["auth"]["token"],
        "__OPENCLAW_REDACTED__"
    );
    let res = call(&mut ws, "m", "models.list", json!({})).await;
    assert_eq!(
        res["payload"]["models"],
        json!([{ "id": "m1", "name": "Model One", "provider": "acme" }])
    );
    let res = call(&mut ws, "l", "logs.tail", json!({ "limit": 2 })).await;
    assert_eq!(res["payload"]["lines"], json!(["two", "three"]));
    assert_eq!(res["payload"]["truncated"], true);
    let cursor = res["payload"]["cursor"].clone();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"four\n"))
        .expect("append");
    let res = call(&mut ws, "l2", "logs.tail", json!({ "cursor": cursor })).await;
    assert_eq!(res["payload"]["lines"], json!(["four"]));
    let res = call(&mut ws, "l3", "logs.tail", json!({ "limit": 0 })).await;
    assert_eq!(res["error"]["code"], "INVALID_REQUEST");
    r.stop(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn http_routes() {
    let r = start(settings("http")).await;
    let get = |path: &str| {
        let addr = r.addrs[0];
        let path = path.to_string();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .expect("write");
            let mut out = String::new();
            tokio::time::timeout(WAIT, s.read_to_string(&mut out))
                .await
                .expect("in time")
                .expect("read");
            out
        }
    };
    let h = get("/health").await;
    assert!(h.starts_with("HTTP/1.1 200"), "{h}");
    assert!(h.ends_with(r#"{"ok":true,"status":"live"}"#), "{h}");
    assert!(get("/healthz").await.starts_with("HTTP/1.1 200"));
    let ready = get("/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200") && ready.contains("\"status\":\"ready\""));
    assert!(get("/nope").await.starts_with("HTTP/1.1 404"));
    r.stop(Duration::from_millis(500)).await;
}

/// A client frame: FIN + text, masked as RFC 6455 requires of clients.
fn masked_text(payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut f = vec![0x81];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// Reads the HTTP response head, then unmasked server text frames, from a raw socket.
struct RawClient {
    s: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    async fn fill(&mut self) {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, self.s.read(&mut chunk))
            .await
            .expect("bytes in time")
            .expect("read");
        assert!(
            n > 0,
            "server closed; have {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        self.buf.extend_from_slice(&chunk[..n]);
    }

    async fn head(&mut self) -> String {
        loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..i + 4]).to_string();
                self.buf.drain(..i + 4);
                return head;
            }
            self.fill().await;
        }
    }

    async fn text(&mut self) -> Value {
        loop {
            if self.buf.len() >= 2 {
                let (len, start) = match self.buf[1] & 0x7f {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    127 if self.buf.len() >= 10 => {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&self.buf[2..10]);
                        (u64::from_be_bytes(b) as usize, 10)
                    }
                    n if n < 126 => (n as usize, 2),
                    _ => (usize::MAX, 0),
                };
                if len != usize::MAX && self.buf.len() >= start + len {
                    assert_eq!(self.buf[0], 0x81, "a final text frame");
                    let v = serde_json::from_slice(&self.buf[start..start + len]).expect("JSON");
                    self.buf.drain(..start + len);
                    return v;
                }
            }
            self.fill().await;
        }
    }
}

const UPGRADE_HEAD: &str = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// The upgrade is answered without hyper for well-formed requests and by hyper for the rest; both
/// must give the same session. Covers a head that arrives in pieces, frames pipelined behind the
/// head, an upgrade only hyper takes (it carries `Content-Length: 0`), and a bad version (400).
#[tokio::test]
async fn websocket_upgrade_fast_path_and_fallback() {
    use tokio::io::AsyncWriteExt;
    let r = start(settings("upgrade")).await;
    let addr = r.addrs[0];
    let connect = serde_json::to_vec(&connect_frame(
        json!({ "token": TOKEN }),
        &["operator.read"],
        "cli",
    ))
    .expect("encode");

    for (name, extra_header, split, pipelined) in [
        ("one write", "", false, false),
        ("head in pieces", "", true, false),
        ("connect pipelined behind the head", "", false, true),
        ("hyper fallback", "Content-Length: 0\r\n", false, false),
    ] {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let head = format!("{UPGRADE_HEAD}{extra_header}\r\n");
        if split {
            for part in head.as_bytes().chunks(17) {
                s.write_all(part).await.expect("write");
                s.flush().await.expect("flush");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        } else if pipelined {
            let mut bytes = head.into_bytes();
            bytes.extend(masked_text(&connect));
            s.write_all(&bytes).await.expect("write");
        } else {
            s.write_all(head.as_bytes()).await.expect("write");
        }
        let mut c = RawClient { s, buf: Vec::new() };
        let resp = c.head().await.to_ascii_lowercase();
        assert!(resp.starts_with("http/1.1 101"), "{name}: {resp}");
        assert!(
            resp.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
            "{name}: {resp}"
        );
        // hyper stamps a `date` header; the fast path does not: this tells which path answered.
        assert_eq!(
            resp.contains("\r\ndate:"),
            name == "hyper fallback",
            "{name}: {resp}"
        );
        let challenge = c.text().await;
        assert_eq!(challenge["event"], "connect.challenge", "{name}");
        if !pipelined {
            c.s.write_all(&masked_text(&connect)).await.expect("write");
        }
        let hello = c.text().await;
        assert_eq!(hello["ok"], true, "{name}: {hello}");
        assert_eq!(hello["payload"]["type"], "hello-ok", "{name}: {hello}");
    }

    // A client that connected but sent nothing yet.
    let mut silent = TcpStream::connect(addr).await.expect("connect");

    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(
        UPGRADE_HEAD
            .replace("Version: 13", "Version: 8")
            .replace("Connection: Upgrade", "Connection: Upgrade, close")
            .as_bytes(),
    )
    .await
    .expect("write");
    s.write_all(b"\r\n").await.expect("write");
    let mut c = RawClient { s, buf: Vec::new() };
    let resp = c.head().await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    // Stopping drops the silent client instead of waiting out its 10 s header timeout.
    r.stop(Duration::from_millis(500)).await;
    let mut byte = [0u8; 1];
    // Well under the header timeout, so only the shutdown can have closed it.
    let limit = Duration::from_secs(5);
    let n = tokio::time::timeout(limit, tokio::io::AsyncReadExt::read(&mut silent, &mut byte))
        .await
        .expect("the silent client is closed at shutdown");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
}
