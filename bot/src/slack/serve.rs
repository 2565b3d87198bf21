//! The HTTP front's accept loop. In HTTP mode the bot listens where Slack (the internet) can
//! reach it, and `axum::serve` sets no time limit on a request: a client that opens connections
//! and sends a request head (or body) a byte at a time holds each connection, and the file
//! descriptor behind it, for as long as it likes; a few hundred of them and Slack's own requests
//! find no room. Here every connection has a deadline for each request head and body, and one
//! address holds a bounded share of the connections.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;
use tracing::{debug, info, warn};

/// How long clients may take, and how much of the front one address may hold.
#[derive(Debug, Clone, Copy)]
pub struct FrontLimits {
    /// To send a request's head (line and headers), from the moment the server waits for it
    /// (an idle kept-alive connection is closed after as long).
    pub head_timeout: Duration,
    /// Connections open at once, in all.
    pub connections: usize,
    /// Connections open at once from one address. Slack's requests come from many; behind a
    /// reverse proxy every request comes from the proxy, which opens a few and reuses them.
    pub per_address: usize,
}

impl Default for FrontLimits {
    fn default() -> Self {
        // Slack sends a few kilobytes at once and gives up on an answer after 3 s.
        FrontLimits {
            head_timeout: Duration::from_secs(10),
            // Below the usual limit of 1,024 open files, leaving room for the database,
            // Slack's API and the agents.
            connections: 768,
            per_address: 128,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish (as `axum::serve` with graceful shutdown does).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: FrontLimits,
    shutdown: impl Future<Output = ()>,
) {
    let counts = Arc::new(Connections::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    // HTTP/1.1 only, as Slack speaks it: the automatic HTTP/2 detection waits for the first
    // bytes before any deadline applies, so a silent connection would stay open.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout);
    let service = TowerToHyperService::new(
        router.map_request(|req: Request<hyper::body::Incoming>| req.map(Body::new)),
    );
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Typically EMFILE: wait for connections to close instead of spinning.
                    warn!(error = %e, "the HTTP front cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = counts.enter(peer.ip(), &limits) else {
            debug!(%peer, "too many connections (from this address or in all); closing one");
            continue;
        };
        let connection = builder.serve_connection(TokioIo::new(tcp), service.clone());
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = watched.await {
                debug!(%peer, error = %e, "an HTTP connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    info!("the HTTP front stopped accepting; finishing the requests in flight");
    graceful.shutdown().await;
}

/// How a Slack route's body must arrive: within `timeout` of its head, at most `limit` bytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline {
    pub timeout: Duration,
    pub limit: usize,
}

/// Reads the whole body under `deadline` before the route sees it (every Slack route reads it
/// whole anyway, to check its signature): 408 when it is too slow, 413 when too large, 400 when
/// the connection ends inside it.
pub async fn body_in_time(
    State(deadline): State<BodyDeadline>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let read = tokio::time::timeout(deadline.timeout, axum::body::to_bytes(body, deadline.limit));
    match read.await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(e)) => {
            let e = e.into_inner();
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the request body is over {} bytes\n", deadline.limit),
                )
                    .into_response()
            } else {
                debug!(error = %e, "a request body could not be read");
                (
                    StatusCode::BAD_REQUEST,
                    "malformed request: the body ended before its length\n",
                )
                    .into_response()
            }
        }
        Err(_) => {
            debug!("a request body did not arrive in time");
            (
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time\n",
            )
                .into_response()
        }
    }
}

/// Connections open now: in all and per address.
#[derive(Default)]
struct Connections {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One open connection, counted until it is dropped.
struct Slot {
    counts: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    fn enter(self: &Arc<Self>, ip: IpAddr, limits: &FrontLimits) -> Option<Slot> {
        let mut open = self.open.lock().expect("connection counts");
        let (all, by_address) = &mut *open;
        let here = by_address.entry(ip).or_insert(0);
        if *all >= limits.connections || *here >= limits.per_address {
            if *here == 0 {
                by_address.remove(&ip);
            }
            return None;
        }
        *all += 1;
        *here += 1;
        Some(Slot {
            counts: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().expect("connection counts");
        let (all, by_address) = &mut *open;
        *all -= 1;
        if let Some(here) = by_address.get_mut(&self.ip) {
            *here -= 1;
            if *here == 0 {
                by_address.remove(&self.ip);
            }
        }
    }
}
