//! Compose threads: received jobs, by Print Priority then arrival, across queues.
//!
//! A compose thread spends its time composing, not waiting on fsyncs: the attempt and the
//! composition are relaxed commits (store/durability.rs). A job done once composed (a
//! queue without printer or PACS) *retires* later, in a batch with the others composed
//! meanwhile: one fsync of each directory its documents went into, its composition and
//! end committed, one sync of the database, and only then its payload removed and DONE
//! reported. Neither may come first: a `done` row durable before its PDF's rename would
//! lose the PDF to power loss, and a payload removed before the `done` row is durable
//! would leave a `received` job without its films.

use super::*;
use std::path::PathBuf;

/// Jobs that retire together at most this many at a time...
const RETIRE_BATCH: usize = 32;
/// ...or once the oldest has waited this long (each compose thread looks after every
/// job, and before it waits for work; so behind a backlog of long compositions, such as
/// many-film jobs at 600 dpi, a retirement may wait up to one composition longer).
const RETIRE_AFTER: Duration = Duration::from_millis(200);

/// A job composed on a queue without printer or PACS, waiting for its retirement.
pub(super) struct Retiree {
    id: String,
    /// What composition said (the archive path...), for its row.
    note: String,
    /// Directories its documents were renamed into, not yet fsynced.
    dirs: Vec<PathBuf>,
}

/// Jobs composed, not yet retired.
#[derive(Default)]
pub(super) struct Retiring {
    jobs: Vec<Retiree>,
    since: Option<Instant>,
}

impl Inner {
    pub(super) fn compose_loop(self: Arc<Self>) {
        while !self.stopping() {
            let generation = *lock(&self.generation);
            match self.claim_next() {
                Ok(Some(row)) => {
                    let id = row.id.clone();
                    if !self.compose_one(row) {
                        lock(&self.claimed).remove(&id);
                    }
                    self.retire_if_due();
                }
                Ok(None) => {
                    self.retire();
                    self.wait_for_work(generation);
                }
                Err(e) => {
                    error!("spool database: {e}");
                    self.retire();
                    self.wait_for_work(generation);
                }
            }
        }
        self.retire();
    }

    /// Queues a composed job for retirement; it stays claimed until then.
    fn retire_later(&self, job: Retiree) {
        let mut retiring = lock(&self.retiring);
        retiring.since.get_or_insert_with(Instant::now);
        retiring.jobs.push(job);
    }

    fn retire_if_due(&self) {
        let due = {
            let retiring = lock(&self.retiring);
            retiring.jobs.len() >= RETIRE_BATCH
                || retiring.since.is_some_and(|t| t.elapsed() >= RETIRE_AFTER)
        };
        if due {
            self.retire();
        }
    }

    /// Retires the composed jobs: their documents' directories fsynced (each once), their
    /// composition and end recorded (relaxed), one fsync of the database, then each
    /// ended: payload removed, DONE reported, the finished hook told. In that order, so
    /// that after power loss a job is either done with its documents on disk or
    /// received with its payload. A directory fsync that fails leaves the jobs for the
    /// next try; a database sync that fails leaves their ends to the next start
    /// (engine/recover.rs retires a done job that still has its payload).
    pub(super) fn retire(&self) {
        let jobs = {
            let mut retiring = lock(&self.retiring);
            retiring.since = None;
            std::mem::take(&mut retiring.jobs)
        };
        if jobs.is_empty() {
            return;
        }
        let dirs: Vec<PathBuf> = jobs.iter().flat_map(|j| j.dirs.iter().cloned()).collect();
        if let Err(e) = payload::sync_dirs_now(&dirs) {
            error!(
                "{} composed job(s) wait: their documents' directory not synced: {e}",
                jobs.len()
            );
            let mut retiring = lock(&self.retiring);
            retiring.since.get_or_insert_with(Instant::now);
            retiring.jobs.extend(jobs);
            return;
        }
        let mut done = Vec::with_capacity(jobs.len());
        for job in &jobs {
            let id = job.id.as_str();
            let now = now_ms();
            match self
                .store
                .relaxed(|s| s.set_composed(id, None, &job.note, now))
            {
                Ok(true) => {
                    match self
                        .store
                        .relaxed(|s| s.conclude(id, &[State::Composed], now))
                    {
                        Ok(Some((State::Done, _))) => done.push(id),
                        other => {
                            self.concluded(id, other);
                        }
                    }
                }
                Ok(false) => debug!(job = %id, "composed, but no longer waiting for it"),
                Err(e) => error!(job = %id, "recording composition: {e}"),
            }
        }
        match self.store.sync() {
            Ok(()) => {
                for id in done {
                    self.ended(id, State::Done, None);
                }
            }
            Err(e) => error!(
                "spool database: {} done job(s) not made durable, retired at the next start: {e}",
                done.len()
            ),
        }
        let mut claimed = lock(&self.claimed);
        for job in &jobs {
            claimed.remove(&job.id);
        }
    }

    /// The next received job no other thread has, by priority then arrival, across queues.
    fn claim_next(&self) -> Result<Option<JobRow>, StoreError> {
        let mut claimed = lock(&self.claimed);
        let rows = self
            .store
            .next_ready(&[State::Received], None, now_ms(), claimed.len() + 1)?;
        Ok(rows.into_iter().find(|r| claimed.insert(r.id.clone())))
    }

    fn wait_for_work(&self, generation: u64) {
        let now = now_ms();
        let wait = match self.store.next_due(&[State::Received], None) {
            Ok(Some(t)) if t > now => Duration::from_millis((t - now) as u64),
            // Due, but another thread has it: look again soon.
            Ok(Some(_)) => Duration::from_millis(500),
            _ => Duration::from_secs(60),
        }
        .min(Duration::from_secs(60));
        let g = lock(&self.generation);
        if *g == generation && !self.stopping() {
            let _ = self.wake.wait_timeout(g, wait);
        }
    }

    /// Composes one job; true when it waits for its retirement (and keeps its claim
    /// until then).
    fn compose_one(&self, row: JobRow) -> bool {
        let id = row.id.as_str();
        let Some(outputs) = self.outputs.get(&row.queue).cloned() else {
            self.fail(
                id,
                &[State::Received],
                &format!("queue {} is not configured", row.queue),
            );
            return false;
        };
        // Relaxed: after power loss the attempt may be uncounted, and the job composed
        // once more than the limit says; a crash of filmd itself keeps the count.
        let attempts = match self
            .store
            .relaxed(|s| s.begin_attempt(id, State::Received, now_ms()))
        {
            Ok(Some(n)) => n,
            Ok(None) => return false, // cancelled, held or paused meanwhile
            Err(e) => {
                error!(job = %id, "spool database: {e}");
                return false;
            }
        };
        let retry = &self.config.retry;
        let max = retry.max_compose_attempts.max(1);
        if attempts > max {
            let last = row
                .last_error
                .as_deref()
                .unwrap_or("filmd stopped during composition");
            self.fail(
                id,
                &[State::Received],
                &format!("composition did not complete in {max} attempts; last: {last}"),
            );
            return false;
        }
        // PS3.3 C.13.9.1: PRINTING is the job being printed. For an archive queue that is
        // writing its PDF, now; a printer queue's job is PRINTING once the printer has
        // taken it (engine/deliver.rs), and stays PENDING (QUEUED) while it waits for one.
        if !outputs.has_printer() {
            self.notify(id, Progress::Printing);
        }
        let job = match self.layout.read(id) {
            Ok(job) => job,
            Err(e) => {
                self.fail(id, &[State::Received], &e);
                return false;
            }
        };
        let out_dir = self.layout.out_dir(id);
        let started = Instant::now();
        // A job done once composed (no printer, no PACS) retires with others: its
        // documents' directory fsyncs wait for the retirement too.
        let retires = !outputs.has_printer() && self.destinations_of(&row.queue).is_empty();
        let (result, dirs) = payload::deferring_dir_syncs(retires, || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                outputs.compose(&job, &out_dir)
            }))
            .unwrap_or_else(|_| Err(DeliveryError::Permanent("composition panicked".into())))
        });
        let now = now_ms();
        match result {
            Ok(composed) if retires => {
                info!(job = %id, "composed {} film(s) in {:?}: {}", job.films.len(), started.elapsed(), composed.note);
                self.retire_later(Retiree {
                    id: id.to_string(),
                    note: composed.note,
                    dirs,
                });
                return true;
            }
            _ if !dirs.is_empty() => {
                if let Err(e) = payload::sync_dirs_now(&dirs) {
                    warn!(job = %id, "directory of a failed composition not synced: {e}");
                }
            }
            _ => {}
        }
        match result {
            Ok(composed) => {
                info!(job = %id, "composed {} film(s) in {:?}: {}", job.films.len(), started.elapsed(), composed.note);
                let document = composed
                    .document
                    .as_ref()
                    .map(|d| (d.path.to_string_lossy().into_owned(), d.format.clone()));
                if outputs.has_printer() && document.is_none() {
                    self.fail(
                        id,
                        &[State::Received],
                        "composition produced no document for the printer",
                    );
                    return false;
                }
                let doc = document.as_ref().map(|(p, f)| (p.as_str(), f.as_str()));
                // Relaxed: composed again after power loss if lost, which overwrites the
                // same files; the printer's submission (begin_submit, FULL) and a PACS
                // store (begin_store, FULL) make it durable before they go out.
                let recorded = self
                    .store
                    .relaxed(|s| s.set_composed(id, doc, &composed.note, now));
                match recorded {
                    Ok(true) if outputs.has_printer() => {
                        self.wake_queue(&row.queue);
                        self.wake_store(&row.queue);
                    }
                    Ok(true) => {
                        self.printed(id, &[State::Composed]);
                    }
                    Ok(false) => debug!(job = %id, "composed, but no longer waiting for it"),
                    Err(e) => error!(job = %id, "recording composition: {e}"),
                }
            }
            Err(DeliveryError::Retryable(e)) if attempts < max => {
                let wait = retry.backoff(attempts);
                warn!(job = %id, "composition failed, retry in {wait:?}: {e}");
                if let Err(e) = self.store.record_failure(id, &e, now + ms(wait), now) {
                    error!(job = %id, "spool database: {e}");
                }
            }
            Err(e) => {
                self.fail(id, &[State::Received], &format!("composition failed: {e}"));
            }
        }
        false
    }
}
