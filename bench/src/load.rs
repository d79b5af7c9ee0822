//! The load generators: sequential connects, and request runs with a window of requests in
//! flight per connection (1 = closed loop; `total` = everything sent at once).
//!
//! Connections are spread over `client_threads` OS threads, each with its own current-thread
//! tokio runtime (no work stealing, no cross-thread wakeups). A connection writes every request
//! its window allows in one buffer, and parses a whole read buffer of replies at once; the send
//! time of each request id is kept, so latency is per request (queueing in the client included).

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::stats;
use crate::ws::{self, Conn, HandshakeTimes, Msg};

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// `n` sequential connects (socket open → hello-ok), each closed right after.
pub fn handshakes(
    addr: SocketAddr,
    token: &str,
    n: usize,
    timeout: Duration,
) -> io::Result<Vec<HandshakeTimes>> {
    let rt = runtime()?;
    rt.block_on(async {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let (c, t) = tokio::time::timeout(timeout, Conn::open(addr, token))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"))??;
            out.push(t);
            c.close().await;
        }
        Ok(out)
    })
}

/// One request run.
#[derive(Debug, Clone)]
pub struct Spec {
    pub method: String,
    pub conns: usize,
    /// Requests in flight per connection.
    pub window: usize,
    /// Requests over all connections.
    pub total: usize,
    pub client_threads: usize,
    pub timeout: Duration,
}

/// What one connection saw.
#[derive(Debug, Default)]
struct ConnStats {
    lat_ns: Vec<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
    events: u64,
    /// Size of the last reply frame's payload.
    reply_bytes: usize,
    start: Option<Instant>,
    end: Option<Instant>,
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct RunResult {
    pub elapsed: Duration,
    /// Sorted latencies of every answered request.
    pub lat_ns: Vec<u64>,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub events: u64,
    /// Size of a reply frame's payload (JSON text).
    pub reply_bytes: usize,
    pub answered: u64,
    pub server_cpu_ns: u64,
    pub client_cpu_ns: u64,
    /// Busy CPU time of the whole machine during the run (server, client and anything else).
    pub system_busy_ns: u64,
    /// Something went wrong (timeout, socket error); the counts above are partial.
    pub failure: Option<String>,
}

impl RunResult {
    pub fn req_per_s(&self) -> f64 {
        self.answered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn ok_per_s(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

const DONE: u64 = u64::MAX;

/// Queues `k` requests (ids `next..next+k`) in the connection's write buffer, stamped `now`.
fn enqueue(
    conn: &mut Conn,
    stamps: &mut [u64],
    next: &mut usize,
    k: usize,
    method: &str,
    now: u64,
) {
    for _ in 0..k {
        ws::push_request(&mut conn.wbuf, &mut conn.scratch, *next as u64, method);
        stamps[*next] = now;
        *next += 1;
    }
}

/// Keeps `window` requests of `method` in flight on `conn` until `n` are answered.
async fn drive(
    conn: &mut Conn,
    st: &mut ConnStats,
    method: &str,
    n: usize,
    window: usize,
) -> io::Result<()> {
    let t0 = Instant::now();
    st.start = Some(t0);
    st.lat_ns.reserve(n);
    // Send time (ns since t0) of each request id; DONE once answered.
    let mut stamps = vec![0u64; n];
    let mut next = 0usize;
    let mut done = 0usize;
    let since = |t0: Instant| u64::try_from(t0.elapsed().as_nanos()).unwrap_or(DONE - 1);
    enqueue(
        conn,
        &mut stamps,
        &mut next,
        window.min(n),
        method,
        since(t0),
    );
    conn.try_flush()?;
    while done < n {
        conn.pump().await?;
        let now = since(t0);
        let mut freed = 0usize;
        let (ok, errors, events, lat, size) = (
            &mut st.ok,
            &mut st.errors,
            &mut st.events,
            &mut st.lat_ns,
            &mut st.reply_bytes,
        );
        conn.drain_frames(|p| match ws::classify(p) {
            Msg::Res { id, ok: good, code } => {
                let Some(slot) = usize::try_from(id).ok().and_then(|i| stamps.get_mut(i)) else {
                    return;
                };
                if *slot == DONE {
                    return;
                }
                lat.push(now.saturating_sub(*slot));
                *size = p.len();
                *slot = DONE;
                freed += 1;
                if good {
                    *ok += 1;
                } else {
                    *errors.entry(code.unwrap_or_default()).or_default() += 1;
                }
            }
            Msg::Event { .. } => *events += 1,
            Msg::ResOther { .. } | Msg::Other => {}
        })?;
        done += freed;
        if freed > 0 && next < n {
            let k = freed.min(n - next);
            enqueue(conn, &mut stamps, &mut next, k, method, since(t0));
            conn.try_flush()?;
        } else if conn.write_pending() {
            conn.try_flush()?;
        }
    }
    st.end = Some(Instant::now());
    Ok(())
}

/// Opens `spec.conns` connections, then runs them all at once; see [`Spec`].
pub fn run(addr: SocketAddr, token: &str, server_pid: u32, spec: &Spec) -> RunResult {
    let conns = spec.conns.max(1);
    let threads = spec.client_threads.clamp(1, conns);
    // Requests per connection (the first ones take the remainder).
    let per_conn: Vec<usize> = (0..conns)
        .map(|i| spec.total / conns + usize::from(i < spec.total % conns))
        .collect();
    let barrier = Arc::new(Barrier::new(threads + 1));
    let mut result = RunResult::default();
    let outcomes = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<usize> = (0..conns)
                    .filter(|i| i % threads == t)
                    .map(|i| per_conn[i])
                    .collect();
                let barrier = barrier.clone();
                let method = spec.method.clone();
                let (window, timeout) = (spec.window, spec.timeout);
                s.spawn(move || thread_main(addr, token, &mine, &method, window, timeout, &barrier))
            })
            .collect();
        barrier.wait();
        let cpu0 = stats::process_cpu_ns(server_pid);
        let sys0 = stats::system_busy_ns();
        let outcomes: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| (Vec::new(), 0, Some("client thread panicked".into())))
            })
            .collect();
        result.server_cpu_ns = stats::process_cpu_ns(server_pid).saturating_sub(cpu0);
        result.system_busy_ns = stats::system_busy_ns().saturating_sub(sys0);
        outcomes
    });
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    for (stats, cpu, failure) in outcomes {
        result.client_cpu_ns += cpu;
        if result.failure.is_none() {
            result.failure = failure;
        }
        for st in stats {
            result.ok += st.ok;
            result.answered += st.lat_ns.len() as u64;
            result.events += st.events;
            result.reply_bytes = result.reply_bytes.max(st.reply_bytes);
            for (k, v) in st.errors {
                *result.errors.entry(k).or_default() += v;
            }
            result.lat_ns.extend(st.lat_ns);
            first = match (first, st.start) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            last = match (last, st.end) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
    }
    if let (Some(a), Some(b)) = (first, last) {
        result.elapsed = b.duration_since(a);
    }
    result.lat_ns.sort_unstable();
    if result.answered < spec.total as u64 && result.failure.is_none() {
        result.failure = Some(format!(
            "only {} of {} requests answered",
            result.answered, spec.total
        ));
    }
    result
}

type ThreadOutcome = (Vec<ConnStats>, u64, Option<String>);

fn thread_main(
    addr: SocketAddr,
    token: &str,
    per_conn: &[usize],
    method: &str,
    window: usize,
    timeout: Duration,
    barrier: &Barrier,
) -> ThreadOutcome {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            barrier.wait();
            return (Vec::new(), 0, Some(format!("runtime: {e}")));
        }
    };
    rt.block_on(async {
        // Connect everything first: handshakes are not part of the timed run.
        let mut conns = Vec::with_capacity(per_conn.len());
        let mut failure = None;
        for _ in per_conn {
            match tokio::time::timeout(timeout, Conn::open(addr, token)).await {
                Ok(Ok((c, _))) => conns.push(c.for_load()),
                Ok(Err(e)) => failure = Some(format!("connect: {e}")),
                Err(_) => failure = Some("connect timed out".into()),
            }
            if failure.is_some() {
                break;
            }
        }
        barrier.wait();
        if failure.is_some() {
            return (Vec::new(), 0, failure);
        }
        let cpu0 = stats::thread_cpu_ns();
        let tasks: Vec<_> = conns
            .into_iter()
            .zip(per_conn.iter().copied())
            .map(|(mut c, n)| {
                let method = method.to_string();
                tokio::spawn(async move {
                    let mut st = ConnStats::default();
                    let r =
                        tokio::time::timeout(timeout, drive(&mut c, &mut st, &method, n, window))
                            .await;
                    let failure = match r {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(format!("socket: {e}")),
                        Err(_) => Some(format!("timed out after {timeout:?}")),
                    };
                    if st.end.is_none() {
                        st.end = Some(Instant::now());
                    }
                    c.close().await;
                    (st, failure)
                })
            })
            .collect();
        let mut all = Vec::with_capacity(tasks.len());
        let mut failure = None;
        for t in tasks {
            match t.await {
                Ok((st, f)) => {
                    if failure.is_none() {
                        failure = f;
                    }
                    all.push(st);
                }
                Err(e) => failure = Some(format!("task: {e}")),
            }
        }
        let cpu = stats::thread_cpu_ns().saturating_sub(cpu0);
        (all, cpu, failure)
    })
}
