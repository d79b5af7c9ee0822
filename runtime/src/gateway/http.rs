//! The accept loops and the HTTP side of the one port: `/health`, `/healthz`, `/readyz`, the
//! WebSocket upgrade on any path, and 404 for everything else. Also the gateway-wide timers
//! (`tick`, health refresh) and the shutdown sequence.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method as HttpMethod, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::Gateway;
use super::conn::{self, Upgrade};
use super::state::now_ms;
use super::upgrade::{self, Head};

type Body = Full<Bytes>;

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

/// An accepted WebSocket upgrade, run by the connection's own task once hyper hands the socket
/// over (no extra task and wake-up per connect).
type PendingUpgrade = Arc<Mutex<Option<(fastwebsockets::upgrade::UpgradeFut, Upgrade)>>>;

fn route(
    g: &Gateway,
    mut req: Request<Incoming>,
    peer: SocketAddr,
    pending: &PendingUpgrade,
) -> Response<Body> {
    if fastwebsockets::upgrade::is_upgrade_request(&req) {
        if g.shutdown_token().is_cancelled() {
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "ok": false, "error": "gateway stopping" }),
            );
        }
        let header_str = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let up = Upgrade {
            peer,
            origin: header_str(header::ORIGIN),
            host: header_str(header::HOST),
        };
        return match fastwebsockets::upgrade::upgrade(&mut req) {
            Ok((resp, fut)) => {
                if let Ok(mut slot) = pending.lock() {
                    *slot = Some((fut, up));
                }
                resp.map(|_| Full::new(Bytes::new()))
            }
            Err(e) => json_response(
                StatusCode::BAD_REQUEST,
                json!({ "ok": false, "error": format!("bad websocket upgrade: {e}") }),
            ),
        };
    }
    let path = req.uri().path();
    let get = matches!(*req.method(), HttpMethod::GET | HttpMethod::HEAD);
    match (get, path) {
        (true, "/health" | "/healthz") => {
            json_response(StatusCode::OK, json!({ "ok": true, "status": "live" }))
        }
        (true, "/ready" | "/readyz") => {
            let stopping = g.shutdown_token().is_cancelled();
            let status = if stopping {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            };
            json_response(
                status,
                json!({
                    "ok": !stopping,
                    "status": if stopping { "stopping" } else { "ready" },
                    "uptimeMs": g.uptime_ms(),
                    "connections": g.connection_count(),
                    "blockers": if stopping { json!(["shutdown"]) } else { json!([]) },
                }),
            )
        }
        (false, "/health" | "/healthz" | "/ready" | "/readyz") => {
            let mut r = json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({ "ok": false, "error": "method not allowed" }),
            );
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            r
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({ "ok": false, "error": "not found" }),
        ),
    }
}

async fn accept_loop(g: Gateway, listener: TcpListener, stop: CancellationToken) {
    let shutdown = stop;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let g = g.clone();
        g.tracker().clone().spawn(async move {
            let mut stream = stream;
            // A client that has not sent its request head when the gateway stops is simply
            // dropped (as hyper does for a connection with no request in flight).
            let shutdown = g.shutdown_token().clone();
            let head = tokio::select! {
                h = tokio::time::timeout(HEADER_READ_TIMEOUT, upgrade::read_head(&mut stream, peer)) => h,
                _ = shutdown.cancelled() => return,
            };
            match head {
                // Slow or silent peers get nothing, as hyper's header timeout does.
                Err(_) | Ok(Head::Gone) => {}
                Ok(Head::WebSocket { up, accept, rest }) if !g.shutdown_token().is_cancelled() => {
                    let io = upgrade::Io::Raw(upgrade::Rewind::new(stream, rest));
                    let head = upgrade::switching_protocols(&accept);
                    conn::run(g, io, up, Some(head)).await;
                }
                Ok(Head::WebSocket { .. }) => {
                    // Stopping: hyper answers 503 to the same bytes.
                    serve_http(g, upgrade::Rewind::new(stream, Bytes::new()), peer).await;
                }
                Ok(Head::Http(read)) => {
                    serve_http(g, upgrade::Rewind::new(stream, read), peer).await;
                }
            }
        });
        // Let the new connection's task run first (it sits in the scheduler's LIFO slot): the next
        // accept, usually an EAGAIN, then comes after its `101` instead of before it. Under a burst
        // of connects this also interleaves accepting with serving.
        tokio::task::yield_now().await;
    }
}

/// How long a client may take to send its request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one connection with hyper: plain HTTP, and WebSocket upgrades the fast path passed on.
async fn serve_http(g: Gateway, io: upgrade::Rewind, peer: SocketAddr) {
    let pending: PendingUpgrade = Arc::new(Mutex::new(None));
    let slot = pending.clone();
    let g2 = g.clone();
    let service = service_fn(move |req| {
        let r = route(&g2, req, peer, &slot);
        async move { Ok::<_, Infallible>(r) }
    });
    let conn = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let shutdown = g.shutdown_token().clone();
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = shutdown.cancelled() => {
            // Finish the request in flight (an upgrade completes at once), then stop.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(peer = %peer, error = %e, "http connection ended with an error");
    }
    // hyper's connection future ends once it has written 101 and handed the socket over.
    let upgrade = pending.lock().ok().and_then(|mut p| p.take());
    if let Some((fut, up)) = upgrade {
        match fut.await {
            Ok(ws) => conn::run(g, upgrade::Io::Hyper(ws.into_inner()), up, None).await,
            Err(e) => tracing::debug!(peer = %peer, error = %e, "websocket upgrade failed"),
        }
    }
}

/// The accept loops of one set of listeners.
struct AcceptSet {
    /// What was asked for (`Settings::addrs`; empty when the listeners were handed in as is).
    wanted: Vec<SocketAddr>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl AcceptSet {
    fn start(g: &Gateway, wanted: Vec<SocketAddr>, listeners: Vec<TcpListener>) -> AcceptSet {
        let stop = g.shutdown_token().child_token();
        let addrs = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        g.set_addrs(addrs);
        let tasks = listeners
            .into_iter()
            .map(|l| tokio::spawn(accept_loop(g.clone(), l, stop.clone())))
            .collect();
        AcceptSet {
            wanted,
            stop,
            tasks,
        }
    }

    /// Stops accepting and closes the listening sockets.
    async fn stop(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

fn bind_tokio(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, String> {
    let std = super::startup::bind_all(addrs).map_err(|e| e.to_string())?;
    std.into_iter()
        .map(|l| TcpListener::from_std(l).map_err(|e| format!("cannot register listener: {e}")))
        .collect()
}

/// An in-process restart: every session gets `shutdown` (with `restartExpectedMs`) and close
/// 1012, and the listeners move to the settings' addresses if those changed. If the new address
/// cannot be bound, the old listeners stay (or are bound again) and the clients keep their
/// sessions; the failure is logged and shown in `health`.
async fn restart(g: &Gateway, current: AcceptSet, reason: &str) -> AcceptSet {
    let started = std::time::Instant::now();
    let wanted = g.settings().addrs.clone();
    let same = wanted.is_empty() || wanted == current.wanted;
    let fail = |g: &Gateway, why: String| {
        tracing::warn!(reason, error = %why, "in-process restart failed; keeping the current listener");
        g.update_reload_status(|r| r.last_error = Some(format!("restart failed: {why}")));
        g.refresh_health();
    };
    let next = if same {
        g.end_generation();
        current
    } else {
        match bind_tokio(&wanted) {
            Ok(listeners) => {
                g.end_generation();
                current.stop().await;
                AcceptSet::start(g, wanted, listeners)
            }
            Err(first) => {
                // The new address may overlap the old one (same port, wider host): free it first,
                // and bind the old addresses again if the new ones still fail.
                let old = current.wanted.clone();
                let old_addrs = g.addrs();
                current.stop().await;
                match bind_tokio(&wanted) {
                    Ok(listeners) => {
                        g.end_generation();
                        AcceptSet::start(g, wanted, listeners)
                    }
                    Err(_) => {
                        let back = if old.is_empty() {
                            old_addrs
                        } else {
                            old.clone()
                        };
                        match bind_tokio(&back) {
                            Ok(listeners) => {
                                fail(g, first);
                                return AcceptSet::start(g, old, listeners);
                            }
                            Err(e) => {
                                fail(
                                    g,
                                    format!(
                                        "{first}; and the old listener could not be restored: {e}"
                                    ),
                                );
                                return AcceptSet::start(g, old, Vec::new());
                            }
                        }
                    }
                }
            }
        }
    };
    g.update_reload_status(|r| {
        r.restarts += 1;
        r.pending_restart.clear();
        r.last_error = None;
    });
    g.refresh_health();
    tracing::info!(
        reason,
        addrs = ?g.addrs(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "gateway restarted in-process"
    );
    next
}

/// Runs the accept loops and timers until shutdown, then drains every connection. In-process
/// restarts ([`Gateway::request_restart`]) are coalesced: at most one per
/// [`super::RESTART_COOLDOWN`].
pub async fn run(g: Gateway, listeners: Vec<TcpListener>) {
    let wanted = g.settings().addrs.clone();
    let mut accept = AcceptSet::start(&g, wanted, listeners);
    let shutdown = g.shutdown_token().clone();
    let timers = {
        let g = g.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let tick = g.settings().tick_interval;
            let refresh = g.settings().health_refresh_interval;
            let mut tick_timer = tokio::time::interval_at(tokio::time::Instant::now() + tick, tick);
            let mut health_timer =
                tokio::time::interval_at(tokio::time::Instant::now() + refresh, refresh);
            let mut prune = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break,
                    _ = tick_timer.tick() => g.broadcast("tick", &json!({ "ts": now_ms() }), false),
                    _ = health_timer.tick() => g.refresh_and_broadcast_health(),
                    _ = prune.tick() => g.limiter().prune_now(tokio::time::Instant::now()),
                }
            }
        })
    };
    let mut requests = g.take_restart_requests();
    let mut last_restart: Option<tokio::time::Instant> = None;
    loop {
        let req = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            r = async {
                match requests.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => r,
        };
        let Some(req) = req else {
            requests = None;
            continue;
        };
        let now = tokio::time::Instant::now();
        let mut at = now + req.delay;
        if let Some(t) = last_restart {
            at = at.max(t + g.settings().restart_cooldown);
        }
        if at > now {
            tracing::info!(
                reason = %req.reason,
                in_ms = (at - now).as_millis() as u64,
                "restart scheduled"
            );
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep_until(at) => {}
            }
        }
        // Everything asked for meanwhile is served by this one restart.
        if let Some(rx) = requests.as_mut() {
            while rx.try_recv().is_ok() {}
        }
        accept = restart(&g, accept, &req.reason).await;
        last_restart = Some(tokio::time::Instant::now());
    }
    accept.stop().await;
    let _ = timers.await;
    // Every session sees the token, sends `shutdown`, drains and closes 1012.
    g.tracker().close();
    if tokio::time::timeout(Duration::from_millis(900), g.tracker().wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within the shutdown budget");
    }
}
