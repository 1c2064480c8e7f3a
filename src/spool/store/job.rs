//! What a row of the job table holds: a job's state, its priority and the rest of what
//! the spool and the operator know of it.

use crate::spool::Identity;

/// What [`JobStore::claim_retry`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryClaim {
    Claimed(Box<JobRow>),
    Unknown,
    NotOver(State),
    AlreadyRetried(String),
    ReachedPrinter(String),
    InProgress,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// Acknowledged to the SCU, not yet composed.
    Received,
    /// Its documents are written; waiting for the printer (or done, without one).
    Composed,
    /// A submission to the printer started and its outcome is not recorded: in doubt.
    Submitting,
    /// The printer accepted it (`remote_id` set); polled until it ends.
    Submitted,
    /// Printed (or composed, on a queue without a printer), but not yet stored at every
    /// PACS destination of its queue.
    Storing,
    Done,
    Failed,
    Cancelled,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Received,
        State::Composed,
        State::Submitting,
        State::Submitted,
        State::Storing,
        State::Done,
        State::Failed,
        State::Cancelled,
    ];
    /// States of a job the spool still has to work on.
    pub const UNFINISHED: [State; 5] = [
        State::Received,
        State::Composed,
        State::Submitting,
        State::Submitted,
        State::Storing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Composed => "composed",
            State::Submitting => "submitting",
            State::Submitted => "submitted",
            State::Storing => "storing",
            State::Done => "done",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// done, failed or cancelled: nothing more happens to the job.
    pub fn is_final(self) -> bool {
        matches!(self, State::Done | State::Failed | State::Cancelled)
    }
}

/// Print Priority (PS3.3 C.13.1, (2000,0020)); the order is the delivery order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    High = 0,
    Med = 1,
    Low = 2,
}

impl Priority {
    /// HIGH, MED or LOW; anything else (the attribute is optional) is MED, the SCP default
    /// of PS3.4 H.4.1.1.
    pub fn from_term(term: &str) -> Priority {
        match term.trim() {
            "HIGH" => Priority::High,
            "LOW" => Priority::Low,
            _ => Priority::Med,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "HIGH",
            Priority::Med => "MED",
            Priority::Low => "LOW",
        }
    }

    pub(super) fn from_db(v: i64) -> Priority {
        match v {
            0 => Priority::High,
            2 => Priority::Low,
            _ => Priority::Med,
        }
    }
}

/// What is known of a job when it is accepted.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub uid: String,
    pub queue: String,
    pub priority: Priority,
    pub copies: u32,
    pub films: u32,
    pub label: String,
    pub owner: String,
    pub calling_ae: String,
    pub payload_bytes: u64,
    /// Each film's parameters, kept for the operator after the payload is gone.
    pub film_params: Vec<FilmParams>,
    /// The PACS destinations of its queue: each gets a `pending` row with the job.
    pub destinations: Vec<String>,
}

/// A film's parameters as the operator sees them (PS3.3 C.13.3, C.13.5): what the
/// modality asked for, kept in the job's row since a done job's payload is removed.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct FilmParams {
    /// Image Display Format (2010,0010), e.g. `STANDARD\2,2`.
    pub display_format: String,
    /// Film Size ID (2010,0050).
    pub film_size: String,
    /// Film Orientation (2010,0040).
    pub orientation: String,
    /// Magnification Type (2010,0060).
    pub magnification: String,
    /// Medium Type (2000,0030).
    pub medium: String,
    /// Min and Max Density (2010,0120/0130), hundredths of OD.
    pub min_density: u16,
    pub max_density: u16,
    /// Border and Empty Image Density (2010,0100/0110).
    pub border_density: String,
    pub empty_image_density: String,
    /// Trim (2010,0140).
    pub trim: bool,
    /// From the Basic Color Print Management Meta SOP class.
    pub color: bool,
    /// Image boxes of the format, and how many hold an image.
    pub image_boxes: u32,
    pub images: u32,
    /// Annotation boxes with text.
    pub annotations: u32,
}

/// One row of the job table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Arrival order.
    pub seq: i64,
    pub id: String,
    pub uid: String,
    pub queue: String,
    pub priority: Priority,
    pub state: State,
    /// Attempts of the job's current step: compositions while received (and for a job done
    /// without a printer), submissions from composed on. Counted when an attempt starts, so
    /// one that crashed filmd counts too.
    pub attempts: u32,
    /// Unix time, milliseconds.
    pub created_ms: i64,
    pub updated_ms: i64,
    pub finished_ms: Option<i64>,
    /// Not retried before this time (unix ms).
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
    /// The printer's job ID once it accepted the job.
    pub remote_id: Option<String>,
    /// The composed document for the printer and its MIME type.
    pub document: Option<String>,
    pub document_format: Option<String>,
    /// What composition produced (fit warnings, archive path).
    pub note: Option<String>,
    pub copies: u32,
    pub films: u32,
    pub label: String,
    pub owner: String,
    pub calling_ae: String,
    pub payload_bytes: u64,
    /// The job it was printed again as (`filmd retry`); `""` while that is under way.
    pub retried_as: Option<String>,
    /// An operator holds it: it is not composed or sent to its printer until released
    /// (CUPS's held job). Only a `received` or `composed` job can be held; a final state
    /// clears it.
    pub held: bool,
    /// The patient and study identity its PACS destinations get: None until found
    /// ([`crate::spool::QueueOutputs::identify`]) or given by an operator (`filmd assign`).
    pub identity: Option<Identity>,
}

#[cfg(test)]
impl JobRow {
    /// A row of queue `q` from calling AE `CT`, one film, one copy, in `state`: what unit
    /// tests start from, changing the fields they are about.
    pub fn sample(state: State) -> JobRow {
        JobRow {
            seq: 1,
            id: "J".into(),
            uid: "2.25.1".into(),
            queue: "q".into(),
            priority: Priority::Med,
            state,
            attempts: 0,
            created_ms: 0,
            updated_ms: 0,
            finished_ms: None,
            next_attempt_ms: 0,
            last_error: None,
            remote_id: None,
            document: None,
            document_format: None,
            note: None,
            copies: 1,
            films: 1,
            label: String::new(),
            owner: String::new(),
            calling_ae: "CT".into(),
            payload_bytes: 0,
            retried_as: None,
            held: false,
            identity: None,
        }
    }
}

/// Which rows [`JobStore::list`] returns (newest first) and [`JobStore::count`] counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub queue: Option<String>,
    pub state: Option<State>,
    /// Only jobs from this calling AE title (compared without its padding).
    pub calling_ae: Option<String>,
    /// At most this many rows; 0 means 100.
    pub limit: usize,
    /// Skips this many of the newest matching rows first (paging).
    pub offset: usize,
}

/// What [`JobStore::set_held`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldChange {
    /// Held or released now; the job's state.
    Changed(State),
    /// It already was; the job's state.
    Unchanged(State),
    Unknown,
    /// Only `received` and `composed` jobs can be held: later ones are at the printer.
    NotHoldable(State),
}
