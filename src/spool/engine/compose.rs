//! Compose threads: received jobs, by Print Priority then arrival, across queues.
//!
//! A compose thread spends its time composing, not waiting on fsyncs: the attempt, the
//! composition and, on a queue without a printer, the job's end are relaxed commits
//! (store/durability.rs). A job done that way *retires* later, in a batch: one sync of
//! the database makes the batch's ends durable, then each job's files go and its DONE is
//! reported. The payload must not go first: after power loss the job would be
//! `received` again without its films.

use super::*;

/// Jobs that retire together at most this many at a time...
const RETIRE_BATCH: usize = 32;
/// ...or once the oldest has waited this long (each compose thread looks after every
/// job, and before it waits for work).
const RETIRE_AFTER: Duration = Duration::from_millis(200);

/// Jobs done by a relaxed commit, not yet retired.
#[derive(Default)]
pub(super) struct Retiring {
    ids: Vec<String>,
    since: Option<Instant>,
}

impl Inner {
    pub(super) fn compose_loop(self: Arc<Self>) {
        while !self.stopping() {
            let generation = *lock(&self.generation);
            match self.claim_next() {
                Ok(Some(row)) => {
                    let id = row.id.clone();
                    self.compose_one(row);
                    lock(&self.claimed).remove(&id);
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

    /// Queues a job done by a relaxed commit for retirement.
    pub(super) fn retire_later(&self, id: &str) {
        let mut retiring = lock(&self.retiring);
        retiring.since.get_or_insert_with(Instant::now);
        retiring.ids.push(id.to_string());
    }

    fn retire_if_due(&self) {
        let due = {
            let retiring = lock(&self.retiring);
            retiring.ids.len() >= RETIRE_BATCH
                || retiring.since.is_some_and(|t| t.elapsed() >= RETIRE_AFTER)
        };
        if due {
            self.retire();
        }
    }

    /// Makes the waiting jobs' ends durable (one fsync), then ends them: files removed,
    /// DONE reported, the finished hook told. If the sync fails they wait for the next
    /// try, their files kept.
    pub(super) fn retire(&self) {
        let ids = {
            let mut retiring = lock(&self.retiring);
            retiring.since = None;
            std::mem::take(&mut retiring.ids)
        };
        if ids.is_empty() {
            return;
        }
        if let Err(e) = self.store.sync() {
            error!(
                "spool database: {} done job(s) not made durable: {e}",
                ids.len()
            );
            let mut retiring = lock(&self.retiring);
            retiring.since.get_or_insert_with(Instant::now);
            retiring.ids.extend(ids);
            return;
        }
        for id in ids {
            self.ended(&id, State::Done, None);
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

    fn compose_one(&self, row: JobRow) {
        let id = row.id.as_str();
        let Some(outputs) = self.outputs.get(&row.queue).cloned() else {
            self.fail(
                id,
                &[State::Received],
                &format!("queue {} is not configured", row.queue),
            );
            return;
        };
        // Relaxed: after power loss the attempt may be uncounted, and the job composed
        // once more than the limit says; a crash of filmd itself keeps the count.
        let attempts = match self
            .store
            .relaxed(|s| s.begin_attempt(id, State::Received, now_ms()))
        {
            Ok(Some(n)) => n,
            Ok(None) => return, // cancelled, held or paused meanwhile
            Err(e) => {
                error!(job = %id, "spool database: {e}");
                return;
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
            return;
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
                return;
            }
        };
        let out_dir = self.layout.out_dir(id);
        let started = Instant::now();
        let result = fs::create_dir_all(&out_dir)
            .map_err(|e| DeliveryError::Retryable(format!("creating {}: {e}", out_dir.display())))
            .and_then(|()| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    outputs.compose(&job, &out_dir)
                }))
                .unwrap_or_else(|_| Err(DeliveryError::Permanent("composition panicked".into())))
            });
        let now = now_ms();
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
                    return;
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
                        let concluded = self
                            .store
                            .relaxed(|s| s.conclude(id, &[State::Composed], now_ms()));
                        self.concluded(id, concluded, true);
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
    }
}
