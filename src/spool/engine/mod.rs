//! The spool's engine: recovery at start, compose threads, one delivery task per printer
//! queue, and the retention sweep.
//!
//! Exactly once: a job's row says how far it got, and every step is safe to repeat from
//! there. Composition overwrites its own files. Before a document goes to a printer the row
//! becomes `submitting` (committed); a `submitting` row found later (after a crash, or after
//! an error that may have come after the printer took the job) is first looked up at the
//! printer by its job name, and the printer's job is adopted instead of sending a second one.

use super::group::GroupCommit;
use super::payload::{self, Layout};
use super::store::{FilmParams, JobRow, JobStore, NewJob, Priority, RetryClaim, State, StoreError};
use super::{
    DeliveryError, Document, FinishedHook, Full, Observer, PrintJob, Progress, QueueOutputs,
    RemoteState, SpoolConfig, SpoolError, Submission, job_name, now_ms,
};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tracing::{debug, error, info, warn};

mod compose;
mod control;
mod deliver;
mod intake;
mod recover;
mod store;

const MIB: u64 = 1 << 20;

/// The observer of a job and what it was told last (each state is reported once).
struct Watch {
    observer: Observer,
    last: Option<Progress>,
}

pub(super) struct Inner {
    pub(super) store: JobStore,
    pub(super) layout: Layout,
    config: SpoolConfig,
    outputs: HashMap<String, Arc<dyn QueueOutputs>>,
    /// Wakes the delivery task of each queue with a printer.
    wakers: HashMap<String, Arc<Notify>>,
    /// The PACS destinations of each queue that has any, as its outputs named them at
    /// the start; every job of the queue gets a row for each.
    destinations: HashMap<String, Vec<String>>,
    /// Wakes the store task of each queue with destinations.
    store_wakers: HashMap<String, Arc<Notify>>,
    /// Storage Commitment reports that came before the store that asked for them was
    /// recorded (engine/store.rs).
    reports: Mutex<store::Reports>,
    /// Queues whose printer came back since their delivery task last looked: it drops
    /// its poll backoffs.
    printers_back: Mutex<HashSet<String>>,
    observers: Mutex<HashMap<String, Watch>>,
    /// Jobs a compose thread is working on, or being submitted: no other thread takes them.
    claimed: Mutex<HashSet<String>>,
    /// Received jobs committed in groups (intake.rs).
    intake: GroupCommit<intake::Arriving, Result<(), SpoolError>>,
    /// Jobs composed on a queue without printer or PACS, waiting to be recorded done
    /// in a batch (compose.rs).
    retiring: Mutex<compose::Retiring>,
    /// Bumped whenever there may be new work for compose threads (no lost wake-ups).
    generation: Mutex<u64>,
    wake: Condvar,
    stopping: AtomicBool,
    seq: AtomicU64,
    runtime: tokio::runtime::Handle,
    finished: Option<FinishedHook>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn io_err(e: StoreError) -> std::io::Error {
    std::io::Error::other(e)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn new_job(job: &PrintJob, payload_bytes: usize, destinations: &[String]) -> NewJob {
    NewJob {
        id: job.id.clone(),
        uid: job.uid.clone(),
        queue: job.queue.clone(),
        priority: Priority::from_term(&job.priority),
        copies: job.copies,
        films: u32::try_from(job.films.len()).unwrap_or(u32::MAX),
        label: job.film_session_label.clone(),
        owner: job.owner_id.clone(),
        calling_ae: job.calling_ae_title.clone(),
        payload_bytes: payload_bytes as u64,
        film_params: job.films.iter().map(film_params).collect(),
        destinations: destinations.to_vec(),
    }
}

fn film_params(film: &crate::film::Film) -> FilmParams {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    FilmParams {
        display_format: film.display_format.to_string(),
        film_size: film.size.id.to_string(),
        orientation: film.orientation.term().to_string(),
        magnification: film.magnification.term().to_string(),
        medium: film.medium.term().to_string(),
        min_density: film.min_density,
        max_density: film.max_density,
        border_density: film.border_density.term(),
        empty_image_density: film.empty_image_density.term(),
        trim: film.trim,
        color: film.color,
        image_boxes: count(film.image_boxes.len()),
        images: count(
            film.image_boxes
                .iter()
                .filter(|b| b.image.is_some())
                .count(),
        ),
        annotations: count(
            film.annotations
                .iter()
                .filter(|a| !a.text.trim().is_empty())
                .count(),
        ),
    }
}

/// Starts the compose threads, the delivery tasks and the sweep.
#[allow(clippy::type_complexity)]
pub(super) fn start(
    inner: &Arc<Inner>,
) -> std::io::Result<(
    Vec<std::thread::JoinHandle<()>>,
    Vec<tokio::task::JoinHandle<()>>,
)> {
    let mut threads = Vec::new();
    for n in 0..inner.config.workers.max(1) {
        let i = inner.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("spool-compose-{n}"))
            .spawn(move || {
                crate::os::lower_thread_priority();
                i.compose_loop()
            });
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => {
                inner.stop();
                return Err(e);
            }
        }
    }
    let mut tasks = Vec::new();
    for (queue, wake) in &inner.wakers {
        if let Some(outputs) = inner.outputs.get(queue) {
            tasks.push(inner.runtime.spawn(inner.clone().deliver_loop(
                queue.clone(),
                outputs.clone(),
                wake.clone(),
            )));
        }
    }
    for (queue, wake) in &inner.store_wakers {
        if let Some(outputs) = inner.outputs.get(queue) {
            tasks.push(inner.runtime.spawn(inner.clone().store_loop(
                queue.clone(),
                outputs.clone(),
                wake.clone(),
            )));
        }
    }
    tasks.push(inner.runtime.spawn(inner.clone().sweep_loop()));
    Ok((threads, tasks))
}

impl Inner {
    pub(super) fn open(
        data_dir: &crate::data_dir::DataDir,
        config: SpoolConfig,
        outputs: HashMap<String, Arc<dyn QueueOutputs>>,
        runtime: tokio::runtime::Handle,
        finished: Option<FinishedHook>,
    ) -> std::io::Result<Inner> {
        let layout = Layout::new(data_dir);
        layout.create()?;
        let store = JobStore::open(&layout.database()).map_err(io_err)?;
        let wakers = outputs
            .iter()
            .filter(|(_, o)| o.has_printer())
            .map(|(q, _)| (q.clone(), Arc::new(Notify::new())))
            .collect();
        let destinations: HashMap<String, Vec<String>> = outputs
            .iter()
            .map(|(q, o)| (q.clone(), o.destinations()))
            .filter(|(_, d)| !d.is_empty())
            .collect();
        let store_wakers = destinations
            .keys()
            .map(|q| (q.clone(), Arc::new(Notify::new())))
            .collect();
        Ok(Inner {
            store,
            layout,
            config,
            outputs,
            wakers,
            destinations,
            store_wakers,
            reports: Mutex::new(store::Reports::default()),
            printers_back: Mutex::new(HashSet::new()),
            observers: Mutex::new(HashMap::new()),
            claimed: Mutex::new(HashSet::new()),
            intake: GroupCommit::default(),
            retiring: Mutex::new(compose::Retiring::default()),
            generation: Mutex::new(0),
            wake: Condvar::new(),
            stopping: AtomicBool::new(false),
            seq: AtomicU64::new(0),
            runtime,
            finished,
        })
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub(super) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake_compose();
        for w in self.wakers.values().chain(self.store_wakers.values()) {
            w.notify_one();
        }
    }

    fn wake_compose(&self) {
        *lock(&self.generation) += 1;
        self.wake.notify_all();
    }

    /// The queue's printer is reachable again: what waits out a retry backoff goes now.
    pub(super) fn printer_back(&self, queue: &str) {
        if !self.wakers.contains_key(queue) {
            return;
        }
        match self.store.retry_now(queue, now_ms()) {
            Ok(n) if n > 0 => info!(queue, "printer back: {n} job(s) sent without waiting"),
            Ok(_) => {}
            Err(e) => error!(queue, "spool database: {e}"),
        }
        lock(&self.printers_back).insert(queue.to_string());
        self.wake_queue(queue);
    }

    /// The PACS destinations of `queue` (none if it has none).
    pub(super) fn destinations_of(&self, queue: &str) -> &[String] {
        self.destinations.get(queue).map_or(&[], Vec::as_slice)
    }

    /// Whether `queue` is configured.
    pub(super) fn has_queue(&self, queue: &str) -> bool {
        self.outputs.contains_key(queue)
    }

    /// The queues with a printer.
    pub(super) fn printer_queues(&self) -> Vec<String> {
        self.wakers.keys().cloned().collect()
    }

    /// Whether the queue's printer came back since the last call (and forgets it).
    pub(super) fn take_printer_back(&self, queue: &str) -> bool {
        lock(&self.printers_back).remove(queue)
    }

    fn wake_queue(&self, queue: &str) {
        if let Some(w) = self.wakers.get(queue) {
            w.notify_one();
        }
    }

    fn wake_store(&self, queue: &str) {
        if let Some(w) = self.store_wakers.get(queue) {
            w.notify_one();
        }
    }

    /// Tells a job's observer, once per state; forgets it after a final state.
    fn notify(&self, id: &str, state: Progress) {
        let mut watches = lock(&self.observers);
        let Some(w) = watches.get_mut(id) else {
            return;
        };
        if w.last.as_ref() == Some(&state) {
            return;
        }
        (w.observer)(state.clone());
        if state.is_final() {
            watches.remove(id);
        } else {
            w.last = Some(state);
        }
    }

    /// Ends a job (compare and set from `from`); done jobs' files go at once, failed and
    /// cancelled ones' stay for the retention period. A job ends done only through
    /// [`Inner::printed`], which first looks at its destinations.
    fn finish(&self, id: &str, from: &[State], to: State, error: Option<&str>) -> bool {
        match self.store.transition(id, from, to, error, now_ms()) {
            Ok(true) => {
                self.ended(id, to, error);
                true
            }
            Ok(false) => false,
            Err(e) => {
                error!(job = %id, "recording {} failed: {e}", to.as_str());
                false
            }
        }
    }

    /// The printer part of a job is over and went well (or, without a printer, its
    /// composition): the one way a job ends done. Done if every PACS destination is,
    /// failed if one failed, else `storing` (PRINTING to the observer) until they are.
    /// Compare and set from `from`; true if the job was there.
    fn printed(&self, id: &str, from: &[State]) -> bool {
        let concluded = self.store.conclude(id, from, now_ms());
        self.concluded(id, concluded)
    }

    /// What follows [`JobStore::conclude`].
    fn concluded(
        &self,
        id: &str,
        concluded: Result<Option<(State, Option<String>)>, StoreError>,
    ) -> bool {
        match concluded {
            Ok(Some((State::Storing, _))) => {
                self.notify(id, Progress::Printing);
                if let Ok(Some(row)) = self.store.get(id) {
                    debug!(job = %id, "printed; storing at its PACS destinations");
                    self.wake_store(&row.queue);
                }
                true
            }
            Ok(Some((to, error))) => {
                self.ended(id, to, error.as_deref());
                true
            }
            Ok(None) => false,
            Err(e) => {
                error!(job = %id, "spool database: {e}");
                false
            }
        }
    }

    /// What follows a job's end: files, its observer, the finished hook.
    fn ended(&self, id: &str, to: State, error: Option<&str>) {
        if to == State::Done {
            if let Err(e) = self.layout.remove(id) {
                warn!(job = %id, "files of a done job not removed: {e}");
            }
            info!(job = %id, "done");
            self.notify(id, Progress::Done);
        } else {
            let reason = error.unwrap_or(to.as_str()).to_string();
            warn!(job = %id, "{}: {reason}", to.as_str());
            self.notify(id, Progress::Failed(reason));
        }
        if let Some(hook) = &self.finished
            && to != State::Cancelled
        {
            match self.store.get(id) {
                Ok(Some(row)) => hook(&row),
                Ok(None) => {}
                Err(e) => warn!(job = %id, "spool database: {e}"),
            }
        }
    }

    fn fail(&self, id: &str, from: &[State], error: &str) -> bool {
        self.finish(id, from, State::Failed, Some(error))
    }

    fn new_id(&self) -> String {
        format!(
            "{:013}-{:06}-{:04x}",
            now_ms(),
            self.seq.fetch_add(1, Ordering::SeqCst) % 1_000_000,
            rand::random::<u16>()
        )
    }

    fn disk_full(&self) -> SpoolError {
        let free = payload::free_bytes(&self.layout.root).unwrap_or(0);
        SpoolError::Full(Full::Disk {
            free_mib: free / MIB,
            min_free_mib: self.config.min_free_mib,
        })
    }

    pub(super) fn retry(&self, id: &str, force: bool) -> Result<String, SpoolError> {
        let row = match self.store.claim_retry(id, force, now_ms())? {
            RetryClaim::Claimed(row) => row,
            RetryClaim::Unknown => return Err(SpoolError::UnknownJob(id.to_string())),
            RetryClaim::NotOver(state) => {
                return Err(SpoolError::NotRetryable {
                    id: id.to_string(),
                    state: state.as_str(),
                });
            }
            RetryClaim::AlreadyRetried(new) => {
                return Err(SpoolError::AlreadyRetried {
                    id: id.to_string(),
                    new,
                });
            }
            RetryClaim::ReachedPrinter(remote) => {
                return Err(SpoolError::ReachedPrinter {
                    id: id.to_string(),
                    remote,
                });
            }
            RetryClaim::InProgress => return Err(SpoolError::RetryInProgress(id.to_string())),
        };
        let unclaim = || {
            if let Err(e) = self.store.unclaim_retry(id, row.retried_as.as_deref()) {
                error!(job = %id, "spool database: {e}");
            }
        };
        let job = match self.layout.read(id) {
            Ok(job) => job,
            Err(why) => {
                unclaim();
                return Err(SpoolError::PayloadGone {
                    id: id.to_string(),
                    why,
                });
            }
        };
        let new_id = match self.submit(job, Box::new(|_| {})) {
            Ok(new_id) => new_id,
            Err(e) => {
                unclaim();
                return Err(e);
            }
        };
        info!(job = %id, new = %new_id, "printed again by the operator");
        if let Err(e) = self.store.retried(id, &new_id, now_ms()) {
            warn!(job = %id, "\"printed again as {new_id}\" not recorded: {e}");
        }
        Ok(new_id)
    }

    pub(super) fn cancel(&self, id: &str, reason: &str) -> Result<bool, SpoolError> {
        let Some(before) = self.store.cancel(id, reason, now_ms())? else {
            return Ok(false);
        };
        info!(job = %id, "cancelled ({})", before.state.as_str());
        self.notify(id, Progress::Failed(reason.to_string()));
        if matches!(before.state, State::Submitting | State::Submitted)
            && let Some(outputs) = self.outputs.get(&before.queue).cloned()
        {
            let name = job_name(id);
            let id = id.to_string();
            self.runtime.spawn(async move {
                let remote = match before.remote_id {
                    Some(r) => Some(r),
                    None => outputs.find(&name).await.ok().flatten().map(|(r, _)| r),
                };
                if let Some(r) = remote
                    && let Err(e) = outputs.cancel(&r).await
                {
                    warn!(job = %id, remote = %r, "printer did not cancel the job: {e}");
                }
            });
        }
        self.wake_queue(&before.queue);
        Ok(true)
    }
}
