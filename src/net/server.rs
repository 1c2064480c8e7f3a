//! The accept loop: one task per connection on every listener (plain TCP and DICOM TLS),
//! the slot limits of [`super::slots`], and a graceful shutdown that lets running
//! associations finish before aborting them.
//!
//! A connection first waits, as "pending", for its TLS handshake and its A-ASSOCIATE-RQ,
//! under the short `association_timeout` (the ARTIM timer's role, PS3.8 9.1.5); only
//! then does it ask for an association slot. An association over the limits gets
//! A-ASSOCIATE-RJ transient "local limit exceeded" (PS3.8 9.3.4) at once, so the modality
//! retries later instead of hanging.

use super::association::{self, Limits};
use super::journal::{AssociationRecord, Rejection};
use super::pdu::{self, Frame, PduError};
use super::slots::{Arrival, SlotLimits, Slots};
use super::tls::{self, Transport};
use super::{Observers, Service};
use dicom_ul::pdu::{
    AbortRQServiceProviderReason, AssociationRJ, AssociationRJResult,
    AssociationRJServiceProviderPresentationReason, AssociationRJSource, Pdu,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

/// Accept-loop settings.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Associations at once, in total.
    pub max_associations: usize,
    /// Associations at once from one source address.
    pub max_associations_per_host: usize,
    /// Connections at once that have not yet sent their A-ASSOCIATE-RQ.
    pub max_pending: usize,
    pub limits: Limits,
    /// How long running associations may go on after shutdown is asked before they are aborted.
    pub shutdown_grace: Duration,
}

impl ServerOptions {
    fn slot_limits(&self) -> SlotLimits {
        SlotLimits {
            max_pending: self.max_pending,
            max_associations: self.max_associations,
            max_associations_per_host: self.max_associations_per_host,
        }
    }
}

/// One listening socket and what it speaks.
pub struct Endpoint {
    pub listener: TcpListener,
    pub transport: Transport,
}

/// The reading and writing halves of a connection, plain or TLS.
pub type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
pub type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// Serves associations on every endpoint until `shutdown` turns true, reporting each
/// association and refusal to `observers`.
pub async fn serve<S: Service>(
    endpoints: Vec<Endpoint>,
    service: Arc<S>,
    options: ServerOptions,
    observers: Observers,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Slots::new(options.slot_limits());
    let (abort_tx, abort_rx) = watch::channel(false);
    let next_id = AtomicU64::new(1);
    let mut tasks = JoinSet::new();
    let mut first = 0;
    loop {
        tokio::select! {
            (which, accepted) = accept_any(&endpoints, &mut first) => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and the like: wait rather than spin.
                        warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (slot, evicted) = match slots.arrive(peer.ip()) {
                    Arrival::Admitted { slot, evicted, displaced } => {
                        if let Some(ip) = displaced {
                            warn!(%peer, "{} connections waiting for their A-ASSOCIATE-RQ: closing the oldest from {ip}, the address holding the most", options.max_pending);
                        }
                        (slot, evicted)
                    }
                    Arrival::Refused => {
                        observers.metrics.association_rejected(Rejection::PendingFull);
                        warn!(%peer, "{} connections waiting for their A-ASSOCIATE-RQ, this address holding the most: closing", options.max_pending);
                        drop(stream);
                        continue;
                    }
                };
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                let conn = Pending {
                    id,
                    peer,
                    transport: endpoints[which].transport.clone(),
                    service: service.clone(),
                    limits: options.limits.clone(),
                    slots: slots.clone(),
                    abort: abort_rx.clone(),
                    observers: observers.clone(),
                };
                let metrics = observers.metrics.clone();
                tasks.spawn(async move {
                    tokio::select! {
                        () = conn.run(stream, slot) => {}
                        // Only a real eviction: the sender also goes away when the slot is given back.
                        Ok(()) = evicted => {
                            metrics.association_rejected(Rejection::PendingEvicted);
                            debug!(assoc = id, %peer, "closed to make room for another address");
                        }
                    }
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(endpoints);
    info!(
        "no longer accepting associations; {} still running",
        tasks.len()
    );
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(options.shutdown_grace, drain)
        .await
        .is_err()
    {
        warn!(
            "associations still running after {:?}: aborting them",
            options.shutdown_grace
        );
        let _ = abort_tx.send(true);
        while tasks.join_next().await.is_some() {}
    }
}

/// The next connection on any endpoint; `first` turns so that no listener starves the
/// others.
async fn accept_any(
    endpoints: &[Endpoint],
    first: &mut usize,
) -> (usize, std::io::Result<(TcpStream, SocketAddr)>) {
    if endpoints.is_empty() {
        return std::future::pending().await;
    }
    let start = *first % endpoints.len();
    *first = first.wrapping_add(1);
    std::future::poll_fn(|cx| {
        for k in 0..endpoints.len() {
            let i = (start + k) % endpoints.len();
            if let Poll::Ready(r) = endpoints[i].listener.poll_accept(cx) {
                return Poll::Ready((i, r));
            }
        }
        Poll::Pending
    })
    .await
}

/// A connection that has not yet sent its A-ASSOCIATE-RQ.
struct Pending<S> {
    id: u64,
    peer: SocketAddr,
    transport: Transport,
    service: Arc<S>,
    limits: Limits,
    slots: Slots,
    abort: watch::Receiver<bool>,
    observers: Observers,
}

impl<S: Service> Pending<S> {
    async fn run(self, stream: TcpStream, slot: super::slots::PendingSlot) {
        let Pending { id, peer, .. } = self;
        let rejected = |reason| self.observers.metrics.association_rejected(reason);
        let _ = stream.set_nodelay(true);
        let deadline = tokio::time::Instant::now() + self.limits.association_timeout;
        // TLS handshake, then the first PDU, both within the association timeout.
        let (mut read, mut write, channel) = match tokio::time::timeout_at(
            deadline,
            tls::open(stream, &self.transport),
        )
        .await
        {
            Err(_) => {
                rejected(Rejection::TlsFailed);
                warn!(assoc = id, %peer, "TLS handshake not finished within {:?}: closing", self.limits.association_timeout);
                self.service.tls_failed(peer, "handshake timed out");
                return;
            }
            Ok(Err(e)) => {
                rejected(Rejection::TlsFailed);
                warn!(assoc = id, %peer, "TLS handshake failed: {e}: closing");
                self.service.tls_failed(peer, &e.to_string());
                return;
            }
            Ok(Ok(opened)) => opened,
        };
        let first =
            tokio::time::timeout_at(deadline, pdu::read_frame(&mut read, self.limits.pdu_cap))
                .await;
        let rq = match first {
            Err(_) => {
                rejected(Rejection::NoRequest);
                warn!(assoc = id, %peer, "no A-ASSOCIATE-RQ within {:?}: closing", self.limits.association_timeout);
                return;
            }
            Ok(Err(PduError::Closed)) => {
                debug!(assoc = id, %peer, "connection closed before association");
                return;
            }
            Ok(Err(e)) => {
                rejected(Rejection::NoRequest);
                warn!(assoc = id, %peer, "bad PDU before association: {e}: A-ABORT");
                association::abort(&mut write, e.abort_reason()).await;
                return;
            }
            Ok(Ok(Frame::Control(Pdu::AssociationRQ(rq)))) => rq,
            Ok(Ok(other)) => {
                rejected(Rejection::NoRequest);
                warn!(assoc = id, %peer, "expected A-ASSOCIATE-RQ, got {}: A-ABORT", association::describe(&other));
                association::abort(
                    &mut write,
                    Some(AbortRQServiceProviderReason::UnexpectedPdu),
                )
                .await;
                return;
            }
        };
        let held = match self.slots.establish(slot) {
            Ok(held) => held,
            Err(full) => {
                rejected(Rejection::LimitExceeded);
                let record = AssociationRecord::new(
                    id,
                    peer,
                    &rq.calling_ae_title,
                    &rq.called_ae_title,
                    channel != tls::Channel::Plain,
                );
                self.observers
                    .journal
                    .rejected(record, Rejection::LimitExceeded, full.to_string());
                warn!(
                    assoc = id, %peer, calling = %rq.calling_ae_title.trim(), called = %rq.called_ae_title.trim(),
                    "association rejected (transient, local limit exceeded): {full}"
                );
                let rj = AssociationRJ {
                    result: AssociationRJResult::Transient,
                    source: AssociationRJSource::ServiceProviderPresentation(
                        AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
                    ),
                };
                let _ = pdu::write_control(&mut write, &Pdu::AssociationRJ(rj)).await;
                let _ = write.shutdown().await;
                return;
            }
        };
        let opened = association::Opened {
            id,
            peer,
            channel,
            read,
            write,
            rq,
            observers: self.observers,
        };
        association::run(opened, self.service, self.limits, self.abort).await;
        drop(held);
    }
}
