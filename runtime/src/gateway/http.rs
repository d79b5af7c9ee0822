//! The accept loops and the HTTP side of the one port: `/health`, `/healthz`, `/readyz`, the
//! WebSocket upgrade on any path, and 404 for everything else. Also the gateway-wide timers
//! (`tick`, health refresh) and the shutdown sequence.

use std::convert::Infallible;
use std::net::SocketAddr;
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

use super::Gateway;
use super::conn::{self, Upgrade};
use super::state::now_ms;

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

fn route(g: &Gateway, mut req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
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
                let g2 = g.clone();
                g.tracker().spawn(async move {
                    match fut.await {
                        Ok(ws) => conn::run(g2, ws, up).await,
                        Err(e) => {
                            tracing::debug!(peer = %peer, error = %e, "websocket upgrade failed")
                        }
                    }
                });
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

async fn accept_loop(g: Gateway, listener: TcpListener) {
    let shutdown = g.shutdown_token().clone();
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
        let g2 = g.clone();
        let g3 = g.clone();
        g.tracker().spawn(async move {
            let service = service_fn(move |req| {
                let r = route(&g2, req, peer);
                async move { Ok::<_, Infallible>(r) }
            });
            let conn = http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            let shutdown = g3.shutdown_token().clone();
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
        });
    }
}

/// Runs the accept loops and timers until shutdown, then drains every connection.
pub async fn run(g: Gateway, listeners: Vec<TcpListener>) {
    for l in listeners {
        tokio::spawn(accept_loop(g.clone(), l));
    }
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
    shutdown.cancelled().await;
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
