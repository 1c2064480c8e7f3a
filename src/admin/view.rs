//! What an operator sees of jobs and queues, the same over the admin socket, the web
//! console and its JSON API; and the typed errors of the operator's actions.

use crate::spool::store::{DestinationRow, FilmParams, JobEvent, JobRow, LastError, State};
use crate::spool::{DestinationState, Identity, SpoolError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A job as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    pub id: String,
    pub queue: String,
    pub state: String,
    /// Held by an operator: not composed or sent to its printer until released.
    #[serde(default)]
    pub held: bool,
    pub priority: String,
    pub films: u32,
    pub copies: u32,
    pub label: String,
    pub calling_ae: String,
    pub attempts: u32,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub created: String,
    pub updated: String,
    /// The same times, unix milliseconds.
    #[serde(default)]
    pub created_ms: i64,
    #[serde(default)]
    pub updated_ms: i64,
    pub remote_id: Option<String>,
    pub last_error: Option<String>,
    pub note: Option<String>,
    /// The job it was printed again as (`filmd retry`).
    pub retried_as: Option<String>,
    /// The patient and study identity its PACS destinations get (DICOM keyword →
    /// value); None until found or assigned.
    #[serde(default)]
    pub identity: Option<Identity>,
    /// Its state at each PACS destination of its queue.
    #[serde(default)]
    pub destinations: Vec<DestinationView>,
}

/// A job at one PACS destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationView {
    /// As configured, e.g. `PACS@10.0.0.5:104`.
    pub destination: String,
    /// pending, stored, committed or failed.
    pub state: DestinationState,
    /// Stored, and the PACS's Storage Commitment report is awaited.
    #[serde(default)]
    pub awaiting_commitment: bool,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// UTC, `YYYY-MM-DD HH:MM:SS`, and unix milliseconds.
    pub updated: String,
    pub updated_ms: i64,
}

impl From<&DestinationRow> for DestinationView {
    fn from(d: &DestinationRow) -> DestinationView {
        DestinationView {
            destination: d.destination.clone(),
            state: d.state,
            awaiting_commitment: d.state == DestinationState::Stored && d.transaction_uid.is_some(),
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            updated: utc(d.updated_ms),
            updated_ms: d.updated_ms,
        }
    }
}

impl DestinationView {
    /// `pending`, `stored`, `stored, commitment awaited`, `committed` or `failed`.
    pub fn state_text(&self) -> String {
        let state = serde_json::to_value(self.state)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        if self.awaiting_commitment {
            format!("{state}, commitment awaited")
        } else {
            state
        }
    }
}

impl From<&JobRow> for JobView {
    fn from(r: &JobRow) -> JobView {
        JobView {
            id: r.id.clone(),
            queue: r.queue.clone(),
            state: r.state.as_str().into(),
            held: r.held,
            priority: r.priority.as_str().into(),
            films: r.films,
            copies: r.copies,
            label: r.label.clone(),
            calling_ae: r.calling_ae.clone(),
            attempts: r.attempts,
            created: utc(r.created_ms),
            updated: utc(r.updated_ms),
            created_ms: r.created_ms,
            updated_ms: r.updated_ms,
            remote_id: r.remote_id.clone(),
            last_error: r.last_error.clone(),
            note: r.note.clone(),
            retried_as: r.retried_as.clone().filter(|s| !s.is_empty()),
            identity: r.identity.clone(),
            destinations: Vec::new(),
        }
    }
}

/// One page of jobs, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPage {
    pub jobs: Vec<JobView>,
    /// Jobs matching the query, all pages.
    pub total: u64,
    pub offset: usize,
    pub limit: usize,
}

/// Which jobs an operator asks for. Values as typed by a person (a state's name), checked
/// by [`super::Admin::jobs`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobQuery {
    #[serde(default)]
    pub queue: Option<String>,
    /// received, composed, submitting, submitted, storing, done, failed or cancelled.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub calling_ae: Option<String>,
    /// Rows per page: default 100, at most [`super::MAX_LIMIT`].
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub offset: usize,
}

/// One line of a job's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryView {
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub at: String,
    pub at_ms: i64,
    /// `received`, a state, `held`, `released`, `retry`, `identified`, or a PACS
    /// destination's `stored`, `committed` or `failed` (the destination in the detail).
    pub event: String,
    pub detail: Option<String>,
}

impl From<&JobEvent> for HistoryView {
    fn from(e: &JobEvent) -> HistoryView {
        HistoryView {
            at: utc(e.at_ms),
            at_ms: e.at_ms,
            event: e.event.clone(),
            detail: e.detail.clone(),
        }
    }
}

/// One film of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilmView {
    /// 1-based, in the job's order.
    pub number: usize,
    /// The PNG preview the archive wrote, if it is there.
    pub preview: Option<PathBuf>,
    /// What the modality asked for; None for a job from before filmd kept them.
    pub params: Option<FilmParams>,
}

/// A job with everything the job page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDetail {
    pub job: JobView,
    pub history: Vec<HistoryView>,
    pub films: Vec<FilmView>,
    /// The archived PDF, if the queue archives and it is there.
    pub archive_pdf: Option<PathBuf>,
    /// What an operator may do to it now: `cancel`, `retry`, `hold`, `release`,
    /// `assign`.
    pub actions: Vec<String>,
}

/// A queue's most recent error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorView {
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub at: String,
    pub at_ms: i64,
    pub job_id: String,
    pub message: String,
}

impl From<&LastError> for ErrorView {
    fn from(e: &LastError) -> ErrorView {
        ErrorView {
            at: utc(e.at_ms),
            at_ms: e.at_ms,
            job_id: e.job_id.clone(),
            message: e.message.clone(),
        }
    }
}

/// A queue as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    pub name: String,
    /// The IPP printer's URI, if the queue has one.
    pub printer: Option<String>,
    /// NORMAL, WARNING or FAILURE (PS3.3 C.13.9.1 Printer Status).
    pub status: String,
    pub status_info: String,
    pub detail: String,
    /// Jobs per state.
    pub jobs: BTreeMap<String, u64>,
    /// Accepting prints but delivering none (`filmd pause`).
    #[serde(default)]
    pub paused: bool,
    /// Refusing new prints, with the operator's reason (`filmd refuse`).
    #[serde(default)]
    pub refusing: Option<String>,
    /// Films × copies of the jobs done since midnight UTC.
    #[serde(default)]
    pub films_printed_today: u64,
    #[serde(default)]
    pub last_error: Option<ErrorView>,
}

impl QueueView {
    /// `accepting`, `paused`, or `refusing: REASON` (paused and refusing: the refusal).
    pub fn state_text(&self) -> String {
        match (&self.refusing, self.paused) {
            (Some(reason), _) => format!("refusing: {reason}"),
            (None, true) => "paused".into(),
            (None, false) => "accepting".into(),
        }
    }
}

/// Why an operator's request was not done; the web console answers 404, 409, 400 or 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No such job or queue (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// Not in a state that allows it (HTTP 409): e.g. holding a job at the printer.
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong (HTTP 400): an unknown state name.
    #[error("{0}")]
    Invalid(String),
    /// The spool failed (HTTP 500).
    #[error("{0}")]
    Internal(String),
}

impl From<SpoolError> for AdminError {
    fn from(e: SpoolError) -> AdminError {
        let message = e.to_string();
        match e {
            SpoolError::UnknownJob(_) | SpoolError::UnknownQueue(_) => {
                AdminError::NotFound(message)
            }
            SpoolError::NotRetryable { .. }
            | SpoolError::AlreadyRetried { .. }
            | SpoolError::ReachedPrinter { .. }
            | SpoolError::RetryInProgress(_)
            | SpoolError::PayloadGone { .. }
            | SpoolError::NotHoldable { .. }
            | SpoolError::NotAssignable { .. }
            | SpoolError::Refused { .. }
            | SpoolError::Full(_) => AdminError::Conflict(message),
            SpoolError::Io(_) | SpoolError::Encode(_) | SpoolError::Store(_) => {
                AdminError::Internal(message)
            }
        }
    }
}

/// What an operator may do to a job in this state, at these destinations: `assign`
/// for a held job that goes to a PACS and is not stored there yet.
pub(super) fn actions(job: &JobRow, destinations: &[DestinationRow]) -> Vec<String> {
    let mut out = Vec::new();
    if !job.state.is_final() {
        out.push("cancel");
    }
    if matches!(job.state, State::Failed | State::Cancelled) {
        out.push("retry");
    }
    if job.held {
        out.push("release");
    } else if matches!(job.state, State::Received | State::Composed) {
        out.push("hold");
    }
    let stored = destinations.iter().any(|d| {
        matches!(
            d.state,
            DestinationState::Stored | DestinationState::Committed
        )
    });
    if job.held && !job.state.is_final() && !destinations.is_empty() && !stored {
        out.push("assign");
    }
    out.into_iter().map(String::from).collect()
}

/// The archived PDF named in a job's note (`archived as PATH`), if it is there.
pub(super) fn archive_pdf(note: Option<&str>) -> Option<PathBuf> {
    note?
        .split("; ")
        .find_map(|part| part.strip_prefix("archived as "))
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

/// Unix milliseconds as UTC `YYYY-MM-DD HH:MM:SS`.
pub fn utc(ms: i64) -> String {
    crate::time::Stamp(u64::try_from(ms / 1000).unwrap_or(0)).display()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::Full;

    fn row(state: State, held: bool) -> JobRow {
        JobRow {
            held,
            ..JobRow::sample(state)
        }
    }

    fn at(state: DestinationState) -> DestinationRow {
        DestinationRow {
            destination: "PACS@p:104".into(),
            state,
            attempts: 0,
            next_attempt_ms: 0,
            last_error: None,
            transaction_uid: None,
            updated_ms: 0,
        }
    }

    #[test]
    fn an_identity_is_offered_for_a_held_job_not_yet_stored_at_its_pacs() {
        let pending = [at(DestinationState::Pending)];
        let held = row(State::Storing, true);
        assert_eq!(actions(&held, &pending), ["cancel", "release", "assign"]);
        assert_eq!(actions(&row(State::Storing, false), &pending), ["cancel"]);
        assert_eq!(actions(&held, &[]), ["cancel", "release"], "no PACS");
        let stored = [at(DestinationState::Pending), at(DestinationState::Stored)];
        assert_eq!(actions(&held, &stored), ["cancel", "release"]);
    }

    #[test]
    fn a_destination_reads_its_state_and_whether_commitment_is_awaited() {
        let mut d = at(DestinationState::Stored);
        assert_eq!(DestinationView::from(&d).state_text(), "stored");
        d.transaction_uid = Some("2.25.1".into());
        let view = DestinationView::from(&d);
        assert_eq!(view.state_text(), "stored, commitment awaited");
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["state"], "stored");
        assert_eq!(json["awaiting_commitment"], true);
    }

    #[test]
    fn only_the_actions_a_jobs_state_allows_are_offered() {
        let offered = |state, held| actions(&row(state, held), &[]);
        assert_eq!(offered(State::Received, false), ["cancel", "hold"]);
        assert_eq!(offered(State::Composed, true), ["cancel", "release"]);
        assert_eq!(offered(State::Submitted, false), ["cancel"]);
        assert_eq!(offered(State::Done, false), Vec::<String>::new());
        assert_eq!(offered(State::Failed, false), ["retry"]);
    }

    #[test]
    fn spool_errors_map_to_not_found_conflict_or_internal() {
        let kind = |e: SpoolError| match AdminError::from(e) {
            AdminError::NotFound(_) => "404",
            AdminError::Conflict(_) => "409",
            AdminError::Invalid(_) => "400",
            AdminError::Internal(_) => "500",
        };
        assert_eq!(kind(SpoolError::UnknownJob("J".into())), "404");
        assert_eq!(kind(SpoolError::UnknownQueue("q".into())), "404");
        let not_holdable = SpoolError::NotHoldable {
            id: "J".into(),
            state: "done",
        };
        assert_eq!(kind(not_holdable), "409");
        let full = Full::Queue {
            queue: "q".into(),
            limit: 1,
        };
        assert_eq!(kind(SpoolError::Full(full)), "409");
        assert_eq!(kind(SpoolError::Encode("x".into())), "500");
    }

    #[test]
    fn the_archived_pdf_is_read_from_the_note_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("a b.pdf");
        std::fs::write(&pdf, b"%PDF").unwrap();
        let note = format!("archived as {}; printed again as X", pdf.display());
        assert_eq!(archive_pdf(Some(&note)), Some(pdf.clone()));
        let fit = format!("fit on A4; archived as {}", pdf.display());
        assert_eq!(archive_pdf(Some(&fit)), Some(pdf));
        assert_eq!(archive_pdf(Some("archived as /no/such.pdf")), None);
        assert_eq!(archive_pdf(None), None);
    }

    #[test]
    fn a_queues_state_reads_accepting_paused_or_refusing_with_the_reason() {
        let mut q = QueueView {
            name: "q".into(),
            printer: None,
            status: "NORMAL".into(),
            status_info: "NORMAL".into(),
            detail: String::new(),
            jobs: BTreeMap::new(),
            paused: false,
            refusing: None,
            films_printed_today: 0,
            last_error: None,
        };
        assert_eq!(q.state_text(), "accepting");
        q.paused = true;
        assert_eq!(q.state_text(), "paused");
        q.refusing = Some("no film".into());
        assert_eq!(q.state_text(), "refusing: no film");
    }
}
