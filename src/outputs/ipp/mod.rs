//! The IPP printer output: a queue that delivers to an IPP printer (and, when configured,
//! keeps its PDF archive).
//!
//! Composition writes the archive PDF and hands the spool a *deferred* document: a copy
//! of the job's films. The printer document itself is built when the job is submitted,
//! for the printer as it is then ([`document`]), so a printer that is unreachable when a
//! film is composed only delays it, and a film is never rendered for media the printer
//! no longer has. [`printer`] is the adapter the spool drives (submit, poll, find a job
//! by name, cancel), in the spool's and DICOM's words through the tables of [`status`].
//!
//! A poller asks the printer for its state every `ipp_poll_secs` and posts it, as DICOM
//! Printer Status and Printer Status Info, on the [`PrinterBoard`].

mod document;
mod printer;
pub mod status;

use crate::backend::ipp::{IppFailure, IppPrinter, PrinterSnapshot};
use crate::metrics::Metrics;
use crate::outputs::archive::PdfArchive;
use crate::outputs::board::{PrinterBoard, PrinterCondition, PrinterStatus};
use printer::dicom_status;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::warn;

/// MIME type of a deferred document: the job's films, rendered for the printer at
/// submission.
pub const DEFERRED_FORMAT: &str = "application/x-filmd-films";

/// How long one IPP request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// An IPP printer queue's outputs.
pub struct IppQueue {
    queue: String,
    printer: IppPrinter,
    archive: Option<PdfArchive>,
    board: Arc<PrinterBoard>,
    /// Times the printer document's encoding at submission.
    metrics: Arc<Metrics>,
    /// The printer's attributes as last read; used for the fit note at composition.
    last: Mutex<Option<PrinterSnapshot>>,
    /// The `job-name` the printer gave each job we follow, at our first poll of it
    /// ([`job_is_ours`]); dropped when the job ends.
    names_seen: Mutex<HashMap<String, String>>,
}

impl IppQueue {
    /// `archive`: the queue's PDF archive, if it keeps one.
    pub fn new(
        queue: &str,
        uri: &str,
        ca_pem: Option<Vec<u8>>,
        archive: Option<PdfArchive>,
        board: Arc<PrinterBoard>,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, IppFailure> {
        Ok(Arc::new(IppQueue {
            queue: queue.to_string(),
            printer: IppPrinter::new(uri, ca_pem, REQUEST_TIMEOUT)?,
            archive,
            board,
            metrics,
            last: Mutex::new(None),
            names_seen: Mutex::new(HashMap::new()),
        }))
    }

    /// Reads the printer's attributes, posts its status and remembers them.
    pub async fn refresh(&self) -> Result<PrinterSnapshot, IppFailure> {
        match self.printer.get_attributes().await {
            Ok(snapshot) => {
                self.board.set(&self.queue, dicom_status(&snapshot));
                *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(snapshot.clone());
                Ok(snapshot)
            }
            Err(e) => {
                // Unreachable, or answering with an error (a wrong queue path, a refused
                // login): either way no film can be printed there.
                self.board.set(
                    &self.queue,
                    PrinterCondition {
                        status: PrinterStatus::Failure,
                        info: status::UNREACHABLE.info.into(),
                        detail: format!("{}: {e}", self.printer.uri()),
                    },
                );
                Err(e)
            }
        }
    }

    /// Polls the printer every `every` until the returned task is aborted.
    pub fn spawn_poller(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.refresh().await {
                    warn!(queue = %me.queue, "printer {}: {e}", me.printer.uri());
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    fn last(&self) -> Option<PrinterSnapshot> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
