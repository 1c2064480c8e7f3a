//! The accept loop: one task per association, a bounded number of them at once, and a
//! graceful shutdown that lets running associations finish before aborting them.

use super::Service;
use super::association::{self, Limits};
use super::pdu::{self, Frame};
use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceProviderPresentationReason,
    AssociationRJSource, Pdu,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

/// Accept-loop settings.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub max_associations: usize,
    pub limits: Limits,
    /// How long running associations may go on after shutdown is asked before they are aborted.
    pub shutdown_grace: Duration,
}

/// Serves associations on `listener` until `shutdown` turns true.
pub async fn serve<S: Service>(
    listener: TcpListener,
    service: Arc<S>,
    options: ServerOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(options.max_associations));
    let rejecters = Arc::new(Semaphore::new(64));
    let (abort_tx, abort_rx) = watch::channel(false);
    let next_id = AtomicU64::new(1);
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let service = service.clone();
                        let limits = options.limits.clone();
                        let abort_rx = abort_rx.clone();
                        tasks.spawn(async move {
                            association::run(stream, id, service, limits, abort_rx).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        warn!(%peer, "{} associations already open: rejecting (local limit exceeded)", options.max_associations);
                        if let Ok(permit) = rejecters.clone().try_acquire_owned() {
                            let cap = options.limits.pdu_cap;
                            tasks.spawn(async move {
                                reject_busy(stream, cap).await;
                                drop(permit);
                            });
                        }
                    }
                }
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
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

/// Answers an association over the limit with A-ASSOCIATE-RJ, transient, local limit
/// exceeded (PS3.8 9.3.4), so that the modality retries later instead of hanging.
async fn reject_busy(mut stream: tokio::net::TcpStream, cap: u32) {
    let (mut r, mut w) = stream.split();
    if let Ok(Ok(Frame::Control(Pdu::AssociationRQ(_)))) =
        tokio::time::timeout(Duration::from_secs(5), pdu::read_frame(&mut r, cap)).await
    {
        let rj = AssociationRJ {
            result: AssociationRJResult::Transient,
            source: AssociationRJSource::ServiceProviderPresentation(
                AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
            ),
        };
        let _ = pdu::write_control(&mut w, &Pdu::AssociationRJ(rj)).await;
    }
}
