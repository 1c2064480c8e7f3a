//! The printer adapter: the spool's [`QueueOutputs`] for an IPP printer (compose, submit,
//! poll, find a job by name, cancel), and what the printer says about itself and its jobs
//! in the spool's and DICOM's words: Printer Status from `printer-state` and its reasons
//! (the table in [`super::status`]), a job's `job-state` as the spool's [`RemoteState`],
//! the `job-name` a job is submitted under and found again by, and whether a job the
//! printer reports under our ID is still ours.

use super::document::{fit_note, media_for, render};
use super::{DEFERRED_FORMAT, IppQueue, status};
use crate::backend::ipp::{
    ColorMode, DocumentFormat, IppFailure, JobSnapshot, JobState, JobTicket, Orientation,
    PrinterSnapshot, PrinterState,
};
use crate::outputs::board::{PrinterCondition, PrinterStatus, info};
use crate::spool::payload::{decode_job, encode_job, write_durably};
use crate::spool::{
    BoxFuture, Composed, DeliveryError, Document, PrintJob, QueueOutputs, RemoteState, Submission,
};
use std::path::Path;
use tracing::info;

/// Printer Status and Printer Status Info of a printer's state (the table of
/// [`status`]).
pub(super) fn dicom_status(s: &PrinterSnapshot) -> PrinterCondition {
    let state = match s.state {
        PrinterState::Idle => status::PRINTER_IDLE,
        PrinterState::Processing => status::PRINTER_PROCESSING,
        PrinterState::Stopped => status::PRINTER_STOPPED,
        PrinterState::Other(v) => v,
    };
    let mapped = status::printer_status(state, &s.state_reasons);
    PrinterCondition {
        status: mapped.status,
        info: mapped.info.into(),
        detail: format!(
            "printer-state {state}, reasons {}",
            s.state_reasons.join(",")
        ),
    }
}

pub(super) fn remote_state(job: &JobSnapshot) -> RemoteState {
    match job.state {
        JobState::Pending | JobState::PendingHeld => RemoteState::Pending,
        JobState::Processing | JobState::ProcessingStopped | JobState::Other(_) => {
            RemoteState::Processing
        }
        JobState::Completed => RemoteState::Done,
        JobState::Canceled => RemoteState::Canceled,
        JobState::Aborted => {
            let mut info = status::execution_status(8, &job.state_reasons)
                .map(|s| s.info)
                .unwrap_or(info::PRINTER_DOWN);
            if info == info::PRINTER_DOWN {
                // A job aborted for a printer condition may carry the printer's reason
                // (e.g. `media-empty-error`, PWG 5100.9 lets job-state-reasons repeat
                // printer-state-reasons): name that condition as Printer Status Info
                // would (PS3.3 C.13.9.1), rather than the generic PRINTER DOWN.
                let printer = status::printer_status(status::PRINTER_STOPPED, &job.state_reasons);
                if printer.status == PrinterStatus::Failure {
                    info = printer.info;
                }
            }
            // "INFO: detail": the Print Job SOP class takes the defined term before ':'
            // as Execution Status Info.
            RemoteState::Failed(format!(
                "{info}: printer aborted the job ({}){}",
                job.state_reasons.join(","),
                job.state_message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ))
        }
    }
}

/// The IPP `job-name`: the spool's name for the job (`filmd-<id>`), which is how the job is
/// found again after a crash, then the Film Session Label for the operator reading the
/// printer's job list. The name comes first so that a printer shortening long job names
/// keeps it; the label is cut to 120 bytes (at a character boundary), within IPP's 255.
pub(super) fn ipp_job_name(label: &str, spool_name: &str) -> String {
    let mut cut = String::new();
    for c in label.trim().chars().filter(|c| !c.is_control()) {
        if cut.len() + c.len_utf8() > 120 {
            break;
        }
        cut.push(c);
    }
    if cut.is_empty() {
        spool_name.to_string()
    } else {
        format!("{spool_name} {cut}")
    }
}

/// Whether the job a printer reports under our job ID is still ours, from its
/// `job-name`. filmd names jobs `filmd-<id> <label>`; a printer may shorten that, or
/// replace it with a name of its own (a document name, "Untitled"), which must not fail a
/// film that is printing. So the ID counts as reused by another job only when the name is
/// plainly another filmd job's, or differs from the name the printer gave this job at our
/// first poll of it (`first`).
pub(super) fn job_is_ours(name: Option<&str>, first: &str, job_name: &str) -> bool {
    let name = name.unwrap_or_default();
    let ours = |n: &str| {
        n == job_name
            || n.starts_with(&format!("{job_name} "))
            || (!n.is_empty() && job_name.starts_with(n))
    };
    if name.starts_with("filmd-") && !ours(name) {
        return false;
    }
    name == first || ours(name)
}

/// The `format` label of `filmd_encode_duration_seconds` for a printer document.
fn format_label(format: &DocumentFormat) -> &'static str {
    match format {
        DocumentFormat::Pdf => "pdf",
        DocumentFormat::PwgRaster { .. } => "pwg",
        DocumentFormat::Png => "png",
        DocumentFormat::Jpeg => "jpeg",
    }
}

pub(super) fn delivery_error(e: IppFailure) -> DeliveryError {
    if e.is_retryable() {
        DeliveryError::Retryable(e.to_string())
    } else {
        DeliveryError::Permanent(e.to_string())
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
            let metrics = self.metrics.clone();
            let rendered = tokio::task::spawn_blocking(move || {
                let bytes = std::fs::read(&path).map_err(|e| {
                    DeliveryError::Retryable(format!("reading {}: {e}", path.display()))
                })?;
                let job = decode_job(&bytes).map_err(DeliveryError::Permanent)?;
                let started = std::time::Instant::now();
                let rendered = render(&job, &snapshot, copies, Some(&scratch_for_render))?;
                metrics.observe_encode(format_label(&rendered.format), started.elapsed());
                Ok(rendered)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::ipp::document::tests::pwg_printer;

    fn job_snapshot(state: JobState, reasons: &[&str]) -> JobSnapshot {
        JobSnapshot {
            id: 7,
            name: Some("filmd-1".into()),
            state,
            state_reasons: reasons.iter().map(|s| s.to_string()).collect(),
            state_message: Some("out of paper".into()),
            impressions_completed: None,
            pages_completed: None,
        }
    }

    #[test]
    fn only_another_filmd_name_or_a_changed_name_means_the_id_was_reused() {
        let ours = "filmd-1795623376296-000000-ad71";
        let label = format!("{ours} CHEST PA");
        // As first seen, and seen again.
        assert!(job_is_ours(Some(&label), &label, ours));
        assert!(job_is_ours(Some(ours), ours, ours));
        assert!(
            job_is_ours(Some("filmd-1795623"), "filmd-1795623", ours),
            "shortened"
        );
        assert!(job_is_ours(None, "", ours), "no name: the ID decides");
        // A printer that names jobs its own way: ours while the name stays.
        assert!(job_is_ours(Some("Untitled"), "Untitled", ours));
        assert!(job_is_ours(Some("doc.pdf"), "doc.pdf", ours));
        // Reused: another filmd job's name, or a name that changed since the first poll.
        let other = "filmd-1795623376299-000001-beef KNEE";
        assert!(!job_is_ours(Some(other), other, ours));
        assert!(!job_is_ours(Some(&format!("{ours}7")), &label, ours));
        assert!(!job_is_ours(Some("scan.pdf"), &label, ours));
        assert!(!job_is_ours(Some("scan.pdf"), "Untitled", ours));
    }

    #[test]
    fn remote_state_maps_job_states() {
        assert_eq!(
            remote_state(&job_snapshot(JobState::Pending, &["none"])),
            RemoteState::Pending
        );
        assert_eq!(
            remote_state(&job_snapshot(JobState::ProcessingStopped, &[])),
            RemoteState::Processing
        );
        assert_eq!(
            remote_state(&job_snapshot(
                JobState::Completed,
                &["job-completed-successfully"]
            )),
            RemoteState::Done
        );
        assert_eq!(
            remote_state(&job_snapshot(JobState::Canceled, &[])),
            RemoteState::Canceled
        );
        let RemoteState::Failed(why) =
            remote_state(&job_snapshot(JobState::Aborted, &["media-empty-error"]))
        else {
            panic!("aborted is a failure");
        };
        assert!(why.starts_with("SUPPLY EMPTY:"), "{why}");
        assert!(why.contains("media-empty-error"), "{why}");
        assert!(why.ends_with(": out of paper"), "{why}");
        // Reasons that name no condition: the printer is down.
        let RemoteState::Failed(why) =
            remote_state(&job_snapshot(JobState::Aborted, &["aborted-by-system"]))
        else {
            panic!("aborted is a failure");
        };
        assert!(why.starts_with("PRINTER DOWN:"), "{why}");
        let RemoteState::Failed(why) =
            remote_state(&job_snapshot(JobState::Aborted, &["service-off-line"]))
        else {
            panic!("aborted is a failure");
        };
        assert!(why.starts_with("PRINTER OFFLINE:"), "{why}");
    }

    #[test]
    fn job_names_carry_the_label_and_the_spool_name() {
        assert_eq!(ipp_job_name("", "filmd-1"), "filmd-1");
        assert_eq!(ipp_job_name(" CT chest ", "filmd-1"), "filmd-1 CT chest");
        let long = "é".repeat(300);
        let name = ipp_job_name(&format!("{long}\n"), "filmd-2");
        assert_eq!(name, format!("filmd-2 {}", "é".repeat(60)));
        assert!(name.len() <= 255);
    }

    #[test]
    fn dicom_status_of_printer_states() {
        let mut s = pwg_printer((1, 1));
        s.state = PrinterState::Stopped;
        s.state_reasons = vec!["media-jam".into()];
        let st = dicom_status(&s);
        assert_eq!(st.status, PrinterStatus::Failure);
        assert_eq!(st.info, "FILM JAM");
        assert!(st.detail.contains("media-jam"), "{}", st.detail);

        s.state = PrinterState::Idle;
        s.state_reasons = vec!["none".into()];
        let st = dicom_status(&s);
        assert_eq!(
            (st.status, st.info.as_str()),
            (PrinterStatus::Normal, "NORMAL")
        );

        s.state = PrinterState::Processing;
        s.state_reasons = vec!["toner-low-warning".into()];
        let st = dicom_status(&s);
        assert_eq!(
            (st.status, st.info.as_str()),
            (PrinterStatus::Warning, "SUPPLY LOW")
        );
    }
}
