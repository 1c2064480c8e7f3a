//! The spool: a durable job queue between the Print Management service and the outputs.
//!
//! A print N-ACTION is answered with success only after its job is committed (PS3.4
//! H.4.1.2.4: the SCP has then "created a print job"): the films go to a payload file made
//! durable first, then the job's row is committed to SQLite (store/). Composition and
//! delivery happen afterwards, driven by the engine (engine/) through [`QueueOutputs`]:
//! compose threads turn received jobs into documents, one delivery task per printer queue
//! submits them in Print Priority order and follows them until the printer is done, one
//! store task per queue with PACS destinations stores them there (engine/store.rs). A job
//! left unfinished by a crash resumes at the next start; one that may have reached the
//! printer is looked up there by its job name before being sent again, so every
//! acknowledged film is delivered exactly once.
//!
//! The Print Job SOP class (PS3.4 H.4.8) sees a job's progress through an [`Observer`].
//!
//! # What is fsynced, and why
//!
//! Two promises bound the fsyncs: an N-ACTION answered with success has its job on disk
//! (power loss included), and every acknowledged film is delivered once (a SIGKILL or a
//! power loss at any point included). A state change must be durable before an external
//! effect only if losing it could repeat or lose that effect; every other change is a
//! relaxed commit (`synchronous = NORMAL`, store/durability.rs): it survives a SIGKILL at
//! once, and power loss once a later FULL commit or sync has returned (the WAL keeps a
//! prefix of the commits). The fsyncs left, per film of an archive-only queue:
//!
//! | fsync | why it is needed | shared by |
//! |---|---|---|
//! | payload data, before its rename | the films must be on disk before success is answered | none: each N-ACTION's own, run side by side |
//! | `jobs/` directory | the payload's name must survive power loss before its row does | the intake group (engine/intake.rs) |
//! | WAL, intake commit (FULL) | the row is the acknowledgement | the intake group |
//! | PDF data, before its rename | a PDF under its final name is whole (archive output) | none |
//! | PDF directory | the PDF's name must be durable before the job is durably `done` | the retirement batch (engine/compose.rs) |
//! | WAL, retirement sync | `done` must be durable before the payload goes and DONE is reported | the retirement batch |
//!
//! Relaxed, with the reason a loss is harmless: the compose attempt (after power loss
//! the job may be composed once more than `max_compose_attempts` says); `composed` (the
//! job is composed again and overwrites the same files, the archive PDF under the same
//! name); an archive job's `done` (committed only after its PDF's directory fsync; lost,
//! the job is composed again into the same file). Not relaxed: `submitting`
//! (begin_submit) before a document goes to a printer, and `begin_store` before a PACS
//! store, since both make every earlier relaxed commit durable before the effect;
//! `submitted` (lost, the job would be looked up at the printer by name, which a printer
//! that purges finished jobs cannot answer: it would print twice); the operator's
//! controls; the PACS destinations' outcomes; failures. Not fsynced at all: removals (a
//! payload whose unlink a crash undid is removed again at the next start, or with its row
//! at the end of the retention; the job's finished hook, its audit Data Export and its
//! film counters, may then run a second time: at least once, not exactly once) and
//! previews (a view of the film, not the film).
//!
//! # A job's states, and how they map
//!
//! Four vocabularies meet here: the spool's own [`State`] (a row of the job table), what a
//! printer says of the job it accepted ([`RemoteState`], from IPP `job-state` by the IPP
//! output), the [`Progress`] an observer is told, and the Print Job's Execution Status
//! (2100,0020) with its Execution Status Info (2100,0030) that `print::print_job` reports
//! (PS3.3 C.13.9.1; N-EVENT-REPORT Event Type IDs 1 to 4, PS3.4 H.4.8.1.1).
//!
//! | [`State`] | [`RemoteState`] | [`Progress`] | Execution Status / Info |
//! |---|---|---|---|
//! | `received` | — | `Pending` | PENDING / QUEUED |
//! | `received`, archive-only queue, PDF being written | — | `Printing` | PRINTING / NORMAL |
//! | `composed`, waiting for the printer | — | `Pending` | PENDING / QUEUED |
//! | `submitting` (in doubt: looked up by job name) | — | `Pending` | PENDING / QUEUED |
//! | `submitted` | `Pending`, `Processing` | `Printing` | PRINTING / NORMAL |
//! | `storing` (printed or composed; PACS destinations not all done) | `Done` (or no printer) | `Printing` | PRINTING / NORMAL |
//! | `done` | `Done` (or no printer), and every PACS destination done | `Done` | DONE / NORMAL |
//! | `failed` | `Failed(reason)` | `Failed("printer: INFO: …")` | FAILURE / the defined term in the reason |
//! | `failed` | `Gone` (not found by name either) | `Failed(…)` | FAILURE / PRINTER DOWN |
//! | `failed` | — (composition failed, queue gone, payload lost) | `Failed(reason)` | FAILURE / PRINTER DOWN |
//! | `failed` | `Done` (or no printer), a destination failed | `Failed("PACS <dest>: …")` | FAILURE / PRINTER DOWN |
//! | `cancelled` | `Canceled` | `Failed("cancelled at the printer")` | FAILURE / PRINTER DOWN |
//! | `cancelled` | — (an operator's `filmd cancel`) | `Failed(reason)` | FAILURE / PRINTER DOWN |
//!
//! `RemoteState::Failed` carries the Execution Status Info the IPP output chose from
//! `job-state-reasons` (the table in `outputs::ipp::status`).

mod engine;
mod group;
mod pacs;
pub mod payload;
pub mod store;

pub use crate::time::now_ms;
pub use pacs::{
    CommitmentResult, DestinationState, Identification, Identity, StoreOutcome, StoreRequest,
};
pub use payload::{sync_dir, write_durably};
pub use store::{
    DestinationRow, JobEvent, JobFilter, JobRow, JobStore, LastError, Priority, QueueActivity,
    QueueControl, State, StoreError,
};

use crate::film::{Device, Film};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A print job: films copied at N-ACTION time with everything needed to deliver them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrintJob {
    /// File-safe job ID, assigned by the spool.
    pub id: String,
    /// Print Job SOP Instance UID.
    pub uid: String,
    pub queue: String,
    pub calling_ae_title: String,
    pub film_session_label: String,
    pub owner_id: String,
    pub priority: String,
    pub copies: u32,
    pub created_unix: u64,
    pub device: Device,
    pub films: Vec<Film>,
}

/// A job's progress (PS3.3 C.13.9 Execution Status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Pending,
    Printing,
    Done,
    Failed(String),
}

impl Progress {
    /// DONE or FAILURE.
    pub fn is_final(&self) -> bool {
        matches!(self, Progress::Done | Progress::Failed(_))
    }
}

/// Told of every state change of one job.
pub type Observer = Box<dyn Fn(Progress) + Send + Sync>;

/// Told of every job that ends done or failed (not cancelled: an operator did that), with
/// its row as committed; called on a spool thread, so it must not block (the audit trail's
/// Data Export listens here).
pub type FinishedHook = Arc<dyn Fn(&JobRow) + Send + Sync>;

/// Why a job was refused for lack of room. Both answer the N-ACTION with "print queue full"
/// (PS3.4 Annex H): C601 on a Film Session N-ACTION, C602 on a Film Box N-ACTION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Full {
    /// The spool's file system has less than the configured free space left.
    Disk { free_mib: u64, min_free_mib: u64 },
    /// The queue holds its configured number of jobs not yet printed (unfinished, not
    /// `storing`).
    Queue { queue: String, limit: usize },
}

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Full::Disk {
                free_mib,
                min_free_mib,
            } => write!(
                f,
                "spool disk full ({free_mib} MiB free, {min_free_mib} MiB kept free)"
            ),
            Full::Queue { queue, limit } => {
                write!(
                    f,
                    "queue {queue} holds {limit} jobs not yet printed, its limit"
                )
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("print queue full: {0}")]
    Full(Full),
    #[error("spool i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("job encoding: {0}")]
    Encode(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("no queue named {0}")]
    UnknownQueue(String),
    #[error("no job {0}")]
    UnknownJob(String),
    #[error("job {id} is {state}: only failed or cancelled jobs are printed again")]
    NotRetryable { id: String, state: &'static str },
    #[error("job {id} was already printed again as {new}; --force prints it once more")]
    AlreadyRetried { id: String, new: String },
    #[error(
        "job {id} reached the printer (its job {remote}) and may have printed: check the \
         printer, then --force prints it again"
    )]
    ReachedPrinter { id: String, remote: String },
    #[error("job {0} is being printed again right now")]
    RetryInProgress(String),
    #[error("job {id} cannot be printed again: {why}")]
    PayloadGone { id: String, why: String },
    #[error("job {id} is {state}: only received or composed jobs can be held")]
    NotHoldable { id: String, state: &'static str },
    /// An identity cannot be given to the job now (`filmd assign`).
    #[error("job {id} cannot be given an identity: {why}")]
    NotAssignable { id: String, why: String },
    /// The operator set the queue to refuse new prints (`filmd refuse`); the N-ACTION is
    /// answered like a full queue, with `reason` as Error Comment.
    #[error("queue {queue} refuses new prints: {reason}")]
    Refused { queue: String, reason: String },
}

/// A boxed future, so that [`QueueOutputs`] stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A document composed for a printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub path: PathBuf,
    /// MIME type, e.g. `application/pdf` or `image/pwg-raster` (IPP document-format).
    pub format: String,
}

/// What composition produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    /// The document to submit; required when the queue has a printer.
    pub document: Option<Document>,
    /// Kept in the job's row for the admin view (archive path, fit warnings...).
    pub note: String,
}

/// How an output failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth trying again later (printer unreachable or busy, disk full): the job waits.
    #[error("{0}")]
    Retryable(String),
    /// Will not get better (document refused, bad film): the job fails with this reason.
    #[error("{0}")]
    Permanent(String),
}

/// A job as the printer reports it (RFC 8011 5.3.7 job-state, reduced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteState {
    /// pending, pending-held
    Pending,
    /// processing, processing-stopped
    Processing,
    /// completed
    Done,
    /// aborted, with job-state-reasons / job-state-message
    Failed(String),
    /// canceled
    Canceled,
    /// The printer no longer has a job with that ID, or the ID now names another job
    /// (its history was purged, or it restarted and numbers jobs from 1 again).
    Gone,
}

/// What the printer gets for one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub job_id: String,
    /// [`job_name`] of the job: what [`QueueOutputs::find`] looks for after a crash.
    pub job_name: String,
    /// Number of Copies (2000,0010). The composed document holds each film once; the
    /// output sends the copies as the `copies` job attribute (RFC 8011 5.2.5) when the
    /// printer makes that many itself, else lays them out in the document it builds.
    pub copies: u32,
    pub priority: Priority,
    /// Calling AE title (IPP requesting-user-name).
    pub requesting_user: String,
    /// Film Session Label, for the printer's job list.
    pub label: String,
    pub document: Document,
}

/// The job name under which a job is submitted to a printer: it carries the filmd job ID so
/// that a job whose submission outcome was lost in a crash can be found again.
pub fn job_name(job_id: &str) -> String {
    format!("filmd-{job_id}")
}

/// The outputs of one queue: composition into documents, and a printer if there is one.
/// Implementations know nothing of the spool; the spool calls them in this order:
/// `compose` (on a compose thread), then, if `has_printer`, `submit` once (or `find` first
/// when a previous submission may have reached the printer), then `poll` until the job ends.
pub trait QueueOutputs: Send + Sync {
    /// Writes the job's documents (archive PDF, printer document under `out_dir`). CPU-bound,
    /// runs on a compose thread. Idempotent: after a crash it is called again and must
    /// overwrite, not add. `out_dir` is the job's own and need not exist: an output that
    /// writes there creates it (an archive-only queue never does, which spares a directory
    /// made and removed for every job).
    fn compose(&self, job: &PrintJob, out_dir: &Path) -> Result<Composed, DeliveryError>;

    /// Whether composed jobs go on to a printer; if not, they are done once composed.
    fn has_printer(&self) -> bool;

    /// Sends a document to the printer; returns the printer's job ID.
    fn submit(&self, submission: Submission) -> BoxFuture<'_, Result<String, DeliveryError>> {
        let _ = submission;
        Box::pin(async { Err(DeliveryError::Permanent("no printer".into())) })
    }

    /// The state of a job the printer accepted as `remote_id` under `job_name`;
    /// [`RemoteState::Gone`] when the printer no longer has that job under that name.
    fn poll<'a>(
        &'a self,
        remote_id: &'a str,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<RemoteState, DeliveryError>> {
        let _ = (remote_id, job_name);
        Box::pin(async { Err(DeliveryError::Permanent("no printer".into())) })
    }

    /// The printer's job named `job_name`, if it has one (the newest if several).
    fn find<'a>(
        &'a self,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<(String, RemoteState)>, DeliveryError>> {
        let _ = job_name;
        Box::pin(async { Ok(None) })
    }

    /// Cancels a job at the printer (an operator cancelled it in filmd).
    fn cancel<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<(), DeliveryError>> {
        let _ = remote_id;
        Box::pin(async { Ok(()) })
    }

    /// The PACS destinations every job of this queue goes to (names as configured, e.g.
    /// `PACS@127.0.0.1:4242`); none by default. The spool records each job's state at
    /// each of them from its acknowledgement on, and the job is done only when the
    /// printer (if any) and every destination are.
    fn destinations(&self) -> Vec<String> {
        Vec::new()
    }

    /// Finds the job's identity (its texts, the worklist), once per job before its first
    /// store; its answer is kept in the job's row.
    fn identify<'a>(
        &'a self,
        job: &'a PrintJob,
    ) -> BoxFuture<'a, Result<Identification, DeliveryError>> {
        let _ = job;
        Box::pin(async { Ok(Identification::Found(Identity::new())) })
    }

    /// Stores the job's instances at one destination (and asks for commitment when the
    /// queue wants it). Retryable errors wait out the backoff; permanent ones fail the
    /// destination and so the job.
    fn store(&self, request: StoreRequest) -> BoxFuture<'_, Result<StoreOutcome, DeliveryError>> {
        let _ = request;
        Box::pin(async { Err(DeliveryError::Permanent("no PACS destination".into())) })
    }
}

/// When failed attempts are tried again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Wait after the first failure; doubled after each further one.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Compositions started before a job fails (a film that crashes filmd fails after this
    /// many restarts instead of crashing it forever).
    pub max_compose_attempts: u32,
    /// Submissions started before a job fails; None: never, so that a printer outage does
    /// not fail films (they wait, and an operator may cancel them).
    pub max_submit_attempts: Option<u32>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            max_compose_attempts: 3,
            max_submit_attempts: None,
        }
    }
}

impl RetryPolicy {
    /// Wait after the `attempts`-th failed attempt: initial × 2^(attempts − 1), capped.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(20);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Tuning of the spool. The defaults suit a departmental film printer.
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    /// Compose threads. Default: one more than the cores, 2 to 9: composition is
    /// CPU-bound, but each job ends with its document's fsync (an archive PDF's data
    /// before its rename), and the extra thread composes meanwhile so that no core
    /// idles during a backlog. Each thread holds one page and its encoded document at
    /// a time (a 14x17 in page at 300 dpi is 21 MB raw), which bounds the memory.
    pub workers: usize,
    /// Unfinished jobs a queue may hold before N-ACTIONs get C601/C602. Default 1000.
    pub max_jobs_per_queue: usize,
    /// A queue's own limit, in place of `max_jobs_per_queue`.
    pub queue_limits: HashMap<String, usize>,
    /// Free space kept on the spool's file system, MiB; below it N-ACTIONs get C601/C602.
    /// Default 256.
    pub min_free_mib: u64,
    /// How long done, failed and cancelled jobs stay listed (and failed ones keep their
    /// files). Default 7 days.
    pub retention: Duration,
    pub retry: RetryPolicy,
    /// How often a printer is asked about a job it accepted. Default 2 s.
    pub poll_interval: Duration,
    /// Jobs a queue has at its printer at once; 1 (default) keeps Print Priority exact,
    /// since a job waiting here can still be overtaken.
    pub printer_in_flight: usize,
    /// How long a PACS's Storage Commitment report is awaited before commitment is asked
    /// for again (PS3.4 J.3.3: the SCP reports when it is ready). Default 10 minutes.
    pub commit_timeout: Duration,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .clamp(1, 8)
                + 1,
            max_jobs_per_queue: 1000,
            queue_limits: HashMap::new(),
            min_free_mib: 256,
            retention: Duration::from_secs(7 * 24 * 3600),
            retry: RetryPolicy::default(),
            poll_interval: Duration::from_secs(2),
            printer_in_flight: 1,
            commit_timeout: Duration::from_secs(600),
        }
    }
}

/// The spool and its workers. Dropping it stops them (see [`Spool::shutdown`]).
pub struct Spool {
    inner: Arc<engine::Inner>,
    compose_threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Spool {
    /// Opens the spool under `data_dir/spool`, recovers what the last run left (see
    /// engine/recover.rs), starts `config.workers` compose threads and, on the current tokio
    /// runtime, one delivery task per queue with a printer and the retention sweep.
    /// `outputs` maps queue names to their outputs; a job of a queue not in it fails.
    pub fn open(
        data_dir: &crate::data_dir::DataDir,
        config: SpoolConfig,
        outputs: HashMap<String, Arc<dyn QueueOutputs>>,
    ) -> std::io::Result<Arc<Spool>> {
        Spool::open_with(data_dir, config, outputs, None)
    }

    /// [`Spool::open`], with `finished` told of each job that ends done or failed, from
    /// recovery on.
    pub fn open_with(
        data_dir: &crate::data_dir::DataDir,
        config: SpoolConfig,
        outputs: HashMap<String, Arc<dyn QueueOutputs>>,
        finished: Option<FinishedHook>,
    ) -> std::io::Result<Arc<Spool>> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| std::io::Error::other("the spool needs a tokio runtime"))?;
        let inner = Arc::new(engine::Inner::open(
            data_dir, config, outputs, runtime, finished,
        )?);
        inner.recover()?;
        let (threads, tasks) = engine::start(&inner)?;
        Ok(Arc::new(Spool {
            inner,
            compose_threads: Mutex::new(threads),
            tasks: Mutex::new(tasks),
        }))
    }

    /// Makes a job durable and queues it; returns its ID once it is committed. `observer`
    /// hears PENDING before this returns, then the job's progress.
    pub fn submit(&self, job: PrintJob, observer: Observer) -> Result<String, SpoolError> {
        self.inner.submit(job, observer)
    }

    /// Cancels an unfinished job (and asks the printer to drop it); false if the job is
    /// unknown or already finished.
    pub fn cancel(&self, id: &str) -> Result<bool, SpoolError> {
        self.inner.cancel(id, "cancelled by the operator")
    }

    /// Tells the spool that `queue`'s printer is reachable again (the printer poller saw
    /// it recover): jobs waiting out a retry backoff, up to a minute, go at once.
    pub fn printer_back(&self, queue: &str) {
        self.inner.printer_back(queue);
    }

    /// Queues whose jobs go on to a printer.
    pub fn printer_queues(&self) -> Vec<String> {
        self.inner.printer_queues()
    }

    /// Prints a failed or cancelled job again, as a new job with its own ID (and so its
    /// own printer job name: a lookup by name can never mistake the old attempt for the
    /// new one). The old row stays as it was, noted "printed again as <new ID>". Refused
    /// for a job already printed again, or one that reached its printer (it may have
    /// printed), unless `force`; and when the retention period has removed the job's
    /// files, or the queue is full.
    pub fn retry(&self, id: &str, force: bool) -> Result<String, SpoolError> {
        self.inner.retry(id, force)
    }

    /// Holds a `received` or `composed` job: it is not composed or sent to its printer
    /// until [`Spool::release`], across restarts too (CUPS's held job). True if it was not
    /// held before.
    pub fn hold(&self, id: &str) -> Result<bool, SpoolError> {
        self.inner.set_held(id, true)
    }

    /// Lets a held job go on at once; true if it was held.
    pub fn release(&self, id: &str) -> Result<bool, SpoolError> {
        self.inner.set_held(id, false)
    }

    /// Pauses a queue: it still accepts prints, but none of its jobs starts composing or
    /// submitting until [`Spool::resume`] (CUPS's stopped printer). What is already at the
    /// printer goes on. True if it was not paused.
    pub fn pause(&self, queue: &str) -> Result<bool, SpoolError> {
        self.inner.set_paused(queue, true)
    }

    /// Lets a paused queue's jobs go on at once; true if it was paused.
    pub fn resume(&self, queue: &str) -> Result<bool, SpoolError> {
        self.inner.set_paused(queue, false)
    }

    /// Makes a queue refuse new prints with `reason` (CUPS's reject): [`Spool::submit`]
    /// fails with [`SpoolError::Refused`], and the N-ACTION gets C601/C602. True if that
    /// changed the queue (it accepted, or gave another reason).
    pub fn refuse(&self, queue: &str, reason: &str) -> Result<bool, SpoolError> {
        let reason = reason.trim();
        let reason = if reason.is_empty() {
            "refused by the operator"
        } else {
            reason
        };
        self.inner.set_refusing(queue, Some(reason))
    }

    /// Makes a refusing queue accept new prints again; true if it was refusing.
    pub fn accept(&self, queue: &str) -> Result<bool, SpoolError> {
        self.inner.set_refusing(queue, None)
    }

    /// The pause and refusal of each configured queue that has had any.
    pub fn queue_controls(&self) -> Result<BTreeMap<String, QueueControl>, SpoolError> {
        let mut controls = self.inner.store.queue_controls()?;
        controls.retain(|queue, _| self.inner.has_queue(queue));
        Ok(controls)
    }

    /// A Storage Commitment report (PS3.4 J.3.3, N-EVENT-REPORT), however it came (on the
    /// store's association or a new one the PACS opened): with every instance committed,
    /// the destination awaiting `transaction_uid` is done; with failures, its instances
    /// are sent again and its last error names the failed ones' reasons. False when no
    /// destination awaits the transaction (the caller answers the PACS so). Blocking.
    pub fn commitment_report(&self, result: &CommitmentResult) -> Result<bool, SpoolError> {
        self.inner.commitment_report(result)
    }

    /// Gives an unfinished job the operator's identity fields (DICOM keyword → value,
    /// checked by the caller), merged into what was found (the operator's win), and
    /// releases the job if it is held (for want of an identity, typically). Refused for
    /// a job with no PACS destination, or one already stored at one. Blocking.
    pub fn assign(&self, id: &str, identity: Identity) -> Result<(), SpoolError> {
        self.inner.assign(id, &identity)
    }

    /// A job's state at each PACS destination of its queue; [`SpoolError::UnknownJob`]
    /// if there is no such job.
    pub fn destinations(&self, id: &str) -> Result<Vec<DestinationRow>, SpoolError> {
        let rows = self.inner.store.destinations(id)?;
        if rows.is_empty() && self.inner.store.get(id)?.is_none() {
            return Err(SpoolError::UnknownJob(id.to_string()));
        }
        Ok(rows)
    }

    /// The destinations of each of `ids` that has any (for a job list).
    pub fn destinations_of(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Vec<DestinationRow>>, SpoolError> {
        Ok(self.inner.store.destinations_of(ids)?)
    }

    /// A job's history, oldest first; [`SpoolError::UnknownJob`] if there is no such job.
    pub fn history(&self, id: &str) -> Result<Vec<JobEvent>, SpoolError> {
        let events = self.inner.store.history(id)?;
        if events.is_empty() && self.inner.store.get(id)?.is_none() {
            return Err(SpoolError::UnknownJob(id.to_string()));
        }
        Ok(events)
    }

    /// Per queue: films printed since `since_ms` (unix ms) and its last error.
    pub fn activity(&self, since_ms: i64) -> Result<HashMap<String, QueueActivity>, SpoolError> {
        Ok(self.inner.store.activity(since_ms)?)
    }

    /// A counter bumped after every committed change of the spool (jobs, their history,
    /// queue controls): the web console's live refresh waits on it.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.store.changes()
    }

    /// Each film's parameters of a job, as received.
    pub fn film_params(&self, id: &str) -> Result<Vec<store::FilmParams>, SpoolError> {
        Ok(self.inner.store.film_params(id)?)
    }

    /// Where the PNG preview of film `film` (1-based) of job `id` is, when the queue's
    /// archive wrote one; it stays while the job is listed.
    pub fn preview(&self, id: &str, film: usize) -> PathBuf {
        self.inner.layout.data().preview(id, film)
    }

    /// One job's row.
    pub fn job(&self, id: &str) -> Result<Option<JobRow>, SpoolError> {
        Ok(self.inner.store.get(id)?)
    }

    /// Jobs for an admin view, newest first.
    pub fn jobs(&self, filter: &JobFilter) -> Result<Vec<JobRow>, SpoolError> {
        Ok(self.inner.store.list(filter)?)
    }

    /// How many jobs `filter` matches, ignoring its limit and offset (for paging).
    pub fn count_jobs(&self, filter: &JobFilter) -> Result<u64, SpoolError> {
        Ok(self.inner.store.count(filter)?)
    }

    /// Number of jobs per queue and state.
    pub fn counts(&self) -> Result<HashMap<String, BTreeMap<State, u64>>, SpoolError> {
        Ok(self.inner.store.counts()?)
    }

    /// Jobs not yet done, failed or cancelled.
    pub fn backlog(&self) -> usize {
        self.inner.store.backlog().unwrap_or(0)
    }

    /// Stops the workers: compose threads finish the job they are on, delivery tasks are
    /// dropped where they are (their state is committed; a submission cut short is looked
    /// up at the printer at the next start). Unfinished jobs resume at the next start.
    pub fn shutdown(&self) {
        self.inner.stop();
        for task in std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner())) {
            task.abort();
        }
        let threads = std::mem::take(
            &mut *self
                .compose_threads
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests;
