//! What a row of the job table holds: a job's state, its priority and the rest of what
//! the spool and the operator know of it.

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
    Done,
    Failed,
    Cancelled,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Received,
        State::Composed,
        State::Submitting,
        State::Submitted,
        State::Done,
        State::Failed,
        State::Cancelled,
    ];
    /// States of a job the spool still has to work on.
    pub const UNFINISHED: [State; 4] = [
        State::Received,
        State::Composed,
        State::Submitting,
        State::Submitted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Composed => "composed",
            State::Submitting => "submitting",
            State::Submitted => "submitted",
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
}

/// Which rows [`JobStore::list`] returns; newest first.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub queue: Option<String>,
    pub state: Option<State>,
    /// At most this many rows; 0 means 100.
    pub limit: usize,
}
