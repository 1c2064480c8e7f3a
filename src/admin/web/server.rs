//! The console's HTTP/1.1 listener: plain or TLS (the BCP 195 configuration of
//! `net::tls`), at most [`MAX_CONNECTIONS`] connections at once, each given
//! [`HANDSHAKE_TIMEOUT`] for its TLS handshake and [`HEADER_TIMEOUT`] for each request's
//! header; request bodies are bounded by the router. Every connection task belongs to the
//! accept loop and stops with it.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tracing::{debug, warn};

/// Connections served at once; more are closed at once (a browser opens about six).
pub const MAX_CONNECTIONS: usize = 64;
/// Time for a TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a request's header, once its first byte came (and for an idle keep-alive
/// connection's next request).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request header, bytes.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// What a handler may know of the connection its request came on.
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    pub peer: SocketAddr,
    pub tls: bool,
}

/// Accepts connections on `listener` until the task running it is aborted (which stops
/// every connection task too).
pub async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, router: Router) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    warn!("console: accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            // Reap finished connections so that the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!(%peer, "console: {MAX_CONNECTIONS} connections already: closed");
            continue;
        };
        let router = router.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            match tls {
                None => serve_connection(stream, peer, false, router).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, peer, true, router).await,
                        Ok(Err(e)) => debug!(%peer, "console: TLS handshake failed: {e}"),
                        Err(_) => debug!(%peer, "console: no TLS handshake in time"),
                    }
                }
            }
        });
    }
}

async fn serve_connection<I>(io: I, peer: SocketAddr, tls: bool, router: Router)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = Connection { peer, tls };
    let service = router.map_request(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(connection);
            request.map(axum::body::Body::new)
        },
    );
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
        .await;
    if let Err(e) = served {
        debug!(%peer, "console connection: {e}");
    }
}
