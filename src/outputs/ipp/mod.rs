//! The IPP printer output: a queue that delivers to an IPP printer (and, when configured,
//! keeps its PDF archive).
//!
//! Composition writes the archive PDF and hands the spool a *deferred* document: a copy
//! of the job's films. The printer document itself is built when the job is submitted,
//! for the printer as it is then ([`document`]), so a printer that is unreachable when a
//! film is composed only delays it, and a film is never rendered for media the printer
//! no longer has. [`printer`] maps what the printer says of itself and its jobs to the
//! spool's and DICOM's words, through the tables of [`status`].
//!
//! A poller asks the printer for its state every `ipp_poll_secs` and posts it, as DICOM
//! Printer Status and Printer Status Info, on the [`PrinterBoard`].

mod document;
mod printer;
pub mod status;

use crate::backend::ipp::{
    ColorMode, IppFailure, IppPrinter, JobTicket, Orientation, PrinterSnapshot,
};
use crate::outputs::archive::PdfArchive;
use crate::outputs::board::{PrinterBoard, PrinterCondition, PrinterStatus};
use crate::spool::payload::{decode_job, encode_job, write_durably};
use crate::spool::{
    BoxFuture, Composed, DeliveryError, Document, PrintJob, QueueOutputs, RemoteState, Submission,
};
use document::{fit_note, media_for, render};
use printer::{delivery_error, dicom_status, ipp_job_name, job_is_ours, remote_state};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{info, warn};

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
    ) -> Result<Arc<Self>, IppFailure> {
        Ok(Arc::new(IppQueue {
            queue: queue.to_string(),
            printer: IppPrinter::new(uri, ca_pem, REQUEST_TIMEOUT)?,
            archive,
            board,
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

impl QueueOutputs for IppQueue {
    fn compose(&self, job: &PrintJob, out_dir: &Path) -> Result<Composed, DeliveryError> {
        let mut notes = Vec::new();
        if let Some(archive) = &self.archive {
            let path = archive.write(job)?;
            notes.push(format!("archived as {}", path.display()));
        }
        let path = out_dir.join(format!("{}.films", job.id));
        let bytes = encode_job(job).map_err(DeliveryError::Permanent)?;
        std::fs::create_dir_all(out_dir)
            .and_then(|()| write_durably(&path, &bytes))
            .map_err(|e| DeliveryError::Retryable(format!("writing {}: {e}", path.display())))?;
        match self.last().as_ref().and_then(|s| media_for(job, s)) {
            Some(choice) => notes.push(fit_note(&choice)),
            None => notes.push("printer media chosen at submission".into()),
        }
        Ok(Composed {
            document: Some(Document {
                path,
                format: DEFERRED_FORMAT.into(),
            }),
            note: notes.join("; "),
        })
    }

    fn has_printer(&self) -> bool {
        true
    }

    fn submit(&self, submission: Submission) -> BoxFuture<'_, Result<String, DeliveryError>> {
        Box::pin(async move {
            let snapshot = self.refresh().await.map_err(delivery_error)?;
            if !snapshot.accepting_jobs {
                return Err(DeliveryError::Retryable(
                    "the printer is not accepting jobs".into(),
                ));
            }
            let path = submission.document.path.clone();
            let scratch = path.with_extension("print");
            let job_id = submission.job_id.clone();
            let copies = submission.copies;
            let scratch_for_render = scratch.clone();
            let rendered = tokio::task::spawn_blocking(move || {
                let bytes = std::fs::read(&path).map_err(|e| {
                    DeliveryError::Retryable(format!("reading {}: {e}", path.display()))
                })?;
                let job = decode_job(&bytes).map_err(DeliveryError::Permanent)?;
                render(&job, &snapshot, copies, Some(&scratch_for_render))
            })
            .await
            .map_err(|e| DeliveryError::Permanent(format!("rendering for the printer: {e}")))??;
            if let Some(choice) = &rendered.media {
                info!(job = %job_id, queue = %self.queue, format = rendered.format.mime(), "{}", fit_note(choice));
            }
            let ticket = JobTicket {
                format: rendered.format.mime().into(),
                job_name: ipp_job_name(&submission.label, &submission.job_name),
                copies: rendered.copies,
                media: rendered.media.as_ref().map(|m| m.media.name.clone()),
                print_color_mode: if rendered.color {
                    ColorMode::Color
                } else {
                    ColorMode::Monochrome
                },
                // The document is already laid out portrait on the sheet.
                orientation_requested: Orientation::Portrait,
                // A PWG raster page states its own resolution (HWResolution); the
                // printer-resolution attribute is left out, as printers that list fewer
                // printer-resolution-supported values than raster resolutions refuse it.
                printer_resolution: None,
                print_scaling: rendered.print_scaling.clone(),
            };
            let sent = self.printer.print_job(rendered.body, &ticket).await;
            // The scratch copy is only for this upload; a retry renders afresh.
            let _ = tokio::fs::remove_file(&scratch).await;
            Ok(sent.map_err(delivery_error)?.to_string())
        })
    }

    fn poll<'a>(
        &'a self,
        remote_id: &'a str,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<RemoteState, DeliveryError>> {
        Box::pin(async move {
            let id: i32 = remote_id.parse().map_err(|_| {
                DeliveryError::Permanent(format!("printer job id {remote_id:?} is not a number"))
            })?;
            let state = match self.printer.job_status(id).await {
                // RFC 8011 §4.3.3: a job the printer no longer keeps is not-found.
                Err(IppFailure::Permanent { status, .. }) if status == "client-error-not-found" => {
                    RemoteState::Gone
                }
                Err(e) => return Err(delivery_error(e)),
                Ok(job) => {
                    let mut seen = self.names_seen.lock().unwrap_or_else(|p| p.into_inner());
                    let first = seen
                        .entry(remote_id.to_string())
                        .or_insert_with(|| job.name.clone().unwrap_or_default());
                    if job_is_ours(job.name.as_deref(), first, job_name) {
                        remote_state(&job)
                    } else {
                        RemoteState::Gone
                    }
                }
            };
            if !matches!(state, RemoteState::Pending | RemoteState::Processing) {
                self.names_seen
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(remote_id);
            }
            Ok(state)
        })
    }

    fn find<'a>(
        &'a self,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<(String, RemoteState)>, DeliveryError>> {
        Box::pin(async move {
            let found = self
                .printer
                .find_job_by_name(job_name)
                .await
                .map_err(delivery_error)?;
            Ok(found.map(|job| (job.id.to_string(), remote_state(&job))))
        })
    }

    fn cancel<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            let Ok(id) = remote_id.parse::<i32>() else {
                return Ok(());
            };
            self.printer.cancel_job(id).await.map_err(delivery_error)
        })
    }
}
