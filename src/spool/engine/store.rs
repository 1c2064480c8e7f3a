//! One store task per queue with PACS destinations: each job, once composed, is
//! identified once, then stored at each destination (PS3.4 B.2 C-STORE) and, when the
//! queue asks for it, committed (PS3.4 J.3 Storage Commitment, push model).
//!
//! Exactly once, as for printers: a store is counted in its row before it starts, its
//! outcome recorded after; a store cut short by a crash is sent again (the instances'
//! UIDs are derived from the job, so the PACS keeps one copy), and a commitment awaited
//! across a restart is asked for again.

use super::*;
use crate::spool::store::{DestinationRow, DestinationUpdate, Seen};
use crate::spool::{CommitmentResult, Identification, Identity, StoreOutcome, StoreRequest};

/// Storage Commitment reports that arrived while stores were under way: a PACS may
/// report on a new association before the store that asked for the commitment has
/// returned and recorded its Transaction UID. Kept until that store is recorded; dropped
/// when no store is under way any more. At most [`EARLY_REPORTS`] are kept.
#[derive(Default)]
pub(in crate::spool) struct Reports {
    in_flight: usize,
    early: HashMap<String, CommitmentResult>,
}

/// How many early reports are kept at most: a store task runs one store at a time per
/// queue, so a few suffice; beyond, a report for an unknown transaction is refused as
/// such (a PACS, or anyone, sending reports for transactions that are not filmd's).
pub(in crate::spool) const EARLY_REPORTS: usize = 64;

/// Failure Reason (0008,1197) values of a Storage Commitment report (PS3.4 J.3.3.1.1),
/// with the standard's wording; others are shown as numbers.
const FAILURE_REASONS: &[(u16, &str)] = &[
    (0x0110, "Processing failure"),
    (0x0112, "No such object instance"),
    (0x0213, "Resource limitation"),
    (0x0122, "Referenced SOP Class not supported"),
    (0x0119, "Class / Instance conflict"),
    (0x0131, "Duplicate transaction UID"),
];

/// Why a commitment report's failed instances were not committed, for the last error.
fn failure_text(failed: &[(String, u16)]) -> String {
    let reasons: Vec<String> = failed
        .iter()
        .take(5)
        .map(
            |(uid, reason)| match FAILURE_REASONS.iter().find(|(code, _)| code == reason) {
                Some((_, words)) => format!("{uid} ({reason:04X}H {words})"),
                None => format!("{uid} ({reason:04X}H)"),
            },
        )
        .collect();
    let more = failed.len().saturating_sub(reasons.len());
    format!(
        "{} instance(s) not committed: {}{}",
        failed.len(),
        reasons.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

impl Inner {
    pub(super) async fn store_loop(
        self: Arc<Self>,
        queue: String,
        outputs: Arc<dyn QueueOutputs>,
        wake: Arc<Notify>,
    ) {
        let mut t = StoreTask {
            queue,
            outputs,
            identify_errors: HashMap::new(),
        };
        while !self.stopping() {
            let next = self.store_round(&mut t).await;
            let wait =
                Duration::from_millis(next.saturating_sub(now_ms()).clamp(20, 30_000) as u64);
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Works on the queue's jobs with a destination due, one job at a time in delivery
    /// order, each once per round. Returns when it wants to run again (unix ms).
    async fn store_round(self: &Arc<Self>, t: &mut StoreTask) -> i64 {
        let queue = t.queue.clone();
        let mut seen: HashSet<String> = HashSet::new();
        while !self.stopping() {
            let (q, n) = (queue.to_string(), seen.len() + 1);
            let work = self
                .blocking(move |i| i.store.next_store(&q, now_ms(), n))
                .await;
            let work = match work {
                Some(Ok(work)) => work,
                Some(Err(e)) => {
                    error!(queue = %queue, "spool database: {e}");
                    return now_ms() + 1000;
                }
                None => return now_ms() + 1000,
            };
            let Some((row, due)) = work.into_iter().find(|(r, _)| !seen.contains(&r.id)) else {
                break;
            };
            seen.insert(row.id.clone());
            self.store_job(t, row, due).await;
        }
        // Entries go when their job is identified; a job cancelled meanwhile leaves one.
        if t.identify_errors.len() > 10_000 {
            t.identify_errors.clear();
        }
        let due = self.blocking(move |i| i.store.next_store_due(&queue)).await;
        match due {
            Some(Ok(Some(t))) => t.clamp(now_ms() + 20, now_ms() + 30_000),
            _ => now_ms() + 30_000,
        }
    }

    /// Identifies a job if it has no identity yet, then stores it at its due
    /// destinations.
    async fn store_job(self: &Arc<Self>, t: &mut StoreTask, row: JobRow, due: Vec<DestinationRow>) {
        let id = row.id.clone();
        let i = id.clone();
        let job = match self.blocking(move |s| s.layout.read(&i)).await {
            Some(Ok(job)) => Arc::new(job),
            Some(Err(e)) => {
                let error = format!("payload unreadable: {e}");
                self.record_all(&id, &due, |_| DestinationUpdate::Failed { error: &error })
                    .await;
                return;
            }
            None => return,
        };
        let identity = match row.identity {
            Some(identity) => identity,
            None => match self.identify(t, &job, &due).await {
                Some(identity) => identity,
                None => return,
            },
        };
        for d in due {
            if self.stopping() {
                return;
            }
            self.store_at(&t.outputs, &job, &identity, d).await;
        }
    }

    /// Asks the outputs for the job's identity and keeps it; None when the job is held
    /// for an operator or must wait (its due destinations then say why).
    async fn identify(
        self: &Arc<Self>,
        t: &mut StoreTask,
        job: &Arc<PrintJob>,
        due: &[DestinationRow],
    ) -> Option<Identity> {
        let id = job.id.clone();
        let found = t.outputs.identify(job).await;
        if found.is_ok() {
            t.identify_errors.remove(&id);
        }
        match found {
            Ok(Identification::Found(identity)) => {
                let (i, found) = (id.clone(), identity.clone());
                let saved = self
                    .blocking(move |s| {
                        s.store.set_identity(&i, &found, now_ms())?;
                        s.store.get(&i)
                    })
                    .await;
                match saved {
                    // An operator's identity, given meanwhile, wins.
                    Some(Ok(Some(row))) => row.identity.or(Some(identity)),
                    Some(Err(e)) => {
                        error!(job = %id, "spool database: {e}");
                        None
                    }
                    _ => None,
                }
            }
            Ok(Identification::Hold(why)) => {
                let i = id.clone();
                let held = self
                    .blocking(move |s| s.store.hold_unidentified(&i, &why, now_ms()))
                    .await;
                if let Some(Ok(true)) = held {
                    info!(job = %id, "held for an operator: no identity found");
                }
                None
            }
            Err(DeliveryError::Retryable(m)) => {
                let error = format!("identity: {m}");
                let errors = t.identify_errors.entry(id.clone()).or_default();
                *errors += 1;
                let wait = self.config.retry.backoff(*errors);
                warn!(job = %id, "{error}; trying again in {wait:?}");
                let next_attempt_ms = now_ms() + ms(wait);
                self.record_all(&id, due, |_| DestinationUpdate::Retry {
                    error: &error,
                    next_attempt_ms,
                })
                .await;
                None
            }
            Err(DeliveryError::Permanent(m)) => {
                let error = format!("identity: {m}");
                self.record_all(&id, due, |_| DestinationUpdate::Failed { error: &error })
                    .await;
                None
            }
        }
    }

    /// Records the same kind of update at each of `due`, then settles the job.
    async fn record_all<'a>(
        self: &Arc<Self>,
        id: &str,
        due: &[DestinationRow],
        update: impl Fn(&DestinationRow) -> DestinationUpdate<'a>,
    ) {
        let updates: Vec<(String, Seen, Update)> = due
            .iter()
            .map(|d| (d.destination.clone(), d.seen(), Update::from(update(d))))
            .collect();
        let i = id.to_string();
        self.blocking(move |s| {
            for (dest, seen, u) in &updates {
                match s
                    .store
                    .record_destination(&i, dest, seen, u.as_update(), now_ms())
                {
                    Ok(true) => {}
                    Ok(false) => debug!(job = %i, destination = %dest, "changed meanwhile: {u:?} not recorded"),
                    Err(e) => error!(job = %i, "spool database: {e}"),
                }
            }
            s.stored(&i);
        })
        .await;
    }

    /// One store at one destination: counted, sent, recorded.
    async fn store_at(
        self: &Arc<Self>,
        outputs: &Arc<dyn QueueOutputs>,
        job: &Arc<PrintJob>,
        identity: &Identity,
        d: DestinationRow,
    ) {
        let (id, dest) = (job.id.clone(), d.destination.clone());
        let (i, de) = (id.clone(), dest.clone());
        let begun = self
            .blocking(move |s| s.store.begin_store(&i, &de, now_ms()))
            .await;
        let Some(Ok(Some(seen))) = begun else {
            return; // no longer due: held, paused, finished meanwhile
        };
        let attempt = seen.attempts;
        let request = StoreRequest {
            job: job.clone(),
            destination: dest.clone(),
            identity: identity.clone(),
            state: seen.state,
            attempt,
        };
        lock(&self.reports).in_flight += 1;
        let result = outputs.store(request).await;
        let update = match &result {
            Ok(StoreOutcome::Stored) => Update::Stored(None),
            Ok(StoreOutcome::CommitRequested { transaction_uid }) => {
                Update::Stored(Some(transaction_uid.clone()))
            }
            Ok(StoreOutcome::Committed) => Update::Committed,
            Ok(StoreOutcome::NotCommitted(why)) => Update::NotCommitted(
                why.clone(),
                now_ms() + ms(self.config.retry.backoff(attempt)),
            ),
            Err(DeliveryError::Retryable(m)) => {
                Update::Retry(m.clone(), now_ms() + ms(self.config.retry.backoff(attempt)))
            }
            Err(DeliveryError::Permanent(m)) => Update::Failed(m.clone()),
        };
        match &result {
            Ok(StoreOutcome::NotCommitted(why)) => {
                warn!(job = %id, destination = %dest, "{why}: sent again")
            }
            Ok(outcome) => info!(job = %id, destination = %dest, "{outcome:?}"),
            Err(e) => warn!(job = %id, destination = %dest, "store: {e}"),
        }
        let timeout = ms(self.config.commit_timeout);
        self.blocking(move |s| s.record_store(&id, &dest, &seen, update, timeout))
            .await;
    }

    /// Records a store's outcome, unless its destination changed since the store began
    /// (`seen`), and settles the job. Under the reports' lock, so that a report that came
    /// early is either seen here or finds the transaction recorded.
    fn record_store(&self, id: &str, dest: &str, seen: &Seen, update: Update, commit_timeout: i64) {
        let now = now_ms();
        let recorded = match &update {
            Update::Stored(Some(uid)) => DestinationUpdate::Stored {
                transaction_uid: Some(uid),
                next_attempt_ms: now.saturating_add(commit_timeout),
            },
            other => other.as_update(),
        };
        let early = {
            let mut reports = lock(&self.reports);
            match self.store.record_destination(id, dest, seen, recorded, now) {
                Ok(true) => {}
                // A report for the transaction before it was recorded meanwhile, say:
                // the newer state stays.
                Ok(false) => {
                    info!(job = %id, destination = %dest, "changed while storing: {update:?} not recorded")
                }
                // The row stays as it was: the store is sent again (same UIDs).
                Err(e) => {
                    error!(job = %id, destination = %dest, "store outcome not recorded: {e}")
                }
            }
            reports.in_flight = reports.in_flight.saturating_sub(1);
            let early = match &update {
                Update::Stored(Some(uid)) => reports.early.remove(uid),
                _ => None,
            };
            if reports.in_flight == 0 {
                for uid in reports.early.keys() {
                    warn!(transaction = %uid, "Storage Commitment report for no store of filmd's: ignored");
                }
                reports.early.clear();
            }
            early.map(|result| self.record_report(&result))
        };
        match early {
            Some(Ok(Some(job))) => self.reported(&job),
            Some(Err(e)) => error!(job = %id, "spool database: {e}"),
            _ => self.stored(id),
        }
    }

    /// A destination of a `storing` job changed: it may be done (or failed) now.
    fn stored(&self, id: &str) {
        self.printed(id, &[State::Storing]);
    }

    /// A Storage Commitment report (PS3.4 J.3.3): true if a destination awaited it (or
    /// may: a store is under way whose transaction is not recorded yet).
    pub(in crate::spool) fn commitment_report(
        &self,
        result: &CommitmentResult,
    ) -> Result<bool, SpoolError> {
        let job = {
            let mut reports = lock(&self.reports);
            match self.record_report(result)? {
                Some(job) => job,
                None if reports.in_flight == 0 => return Ok(false),
                None if reports.early.len() >= EARLY_REPORTS
                    && !reports.early.contains_key(&result.transaction_uid) =>
                {
                    warn!(transaction = %result.transaction_uid, "Storage Commitment report for no known transaction, {EARLY_REPORTS} kept already: refused");
                    return Ok(false);
                }
                None => {
                    debug!(transaction = %result.transaction_uid, "commitment report before its store was recorded: kept");
                    reports
                        .early
                        .insert(result.transaction_uid.clone(), result.clone());
                    return Ok(true);
                }
            }
        };
        self.reported(&job);
        Ok(true)
    }

    /// Records a report at the destination awaiting it; the job's ID, or None if no
    /// destination awaits it.
    fn record_report(&self, result: &CommitmentResult) -> Result<Option<String>, StoreError> {
        let failure = (!result.failed.is_empty()).then(|| failure_text(&result.failed));
        let retry = &self.config.retry;
        let found = self.store.commitment_report(
            &result.transaction_uid,
            failure.as_deref(),
            |attempts| now_ms() + ms(retry.backoff(attempts.max(1))),
            now_ms(),
        )?;
        Ok(found.map(|(id, dest)| {
            match &failure {
                None => info!(job = %id, destination = %dest, "committed"),
                Some(why) => warn!(job = %id, destination = %dest, "{why}: sent again"),
            }
            id
        }))
    }

    /// After a report was recorded: the job may be done, or has instances to send again.
    fn reported(&self, id: &str) {
        self.stored(id);
        if let Ok(Some(row)) = self.store.get(id) {
            self.wake_store(&row.queue);
        }
    }
}

/// What one queue's store task keeps between rounds.
struct StoreTask {
    queue: String,
    outputs: Arc<dyn QueueOutputs>,
    /// Consecutive retryable failures of each job's identification (the worklist
    /// down), for its backoff.
    identify_errors: HashMap<String, u32>,
}

/// A [`DestinationUpdate`] that owns its strings, to cross to a blocking thread.
#[derive(Debug, Clone)]
enum Update {
    Stored(Option<String>),
    Committed,
    Retry(String, i64),
    Failed(String),
    NotCommitted(String, i64),
}

impl Update {
    /// As recorded; `Stored` here has no commitment timeout (see `record_store`).
    fn as_update(&self) -> DestinationUpdate<'_> {
        match self {
            Update::Stored(uid) => DestinationUpdate::Stored {
                transaction_uid: uid.as_deref(),
                next_attempt_ms: 0,
            },
            Update::Committed => DestinationUpdate::Committed,
            Update::Retry(error, next) => DestinationUpdate::Retry {
                error,
                next_attempt_ms: *next,
            },
            Update::Failed(error) => DestinationUpdate::Failed { error },
            Update::NotCommitted(error, next) => DestinationUpdate::NotCommitted {
                error,
                next_attempt_ms: *next,
            },
        }
    }
}

impl From<DestinationUpdate<'_>> for Update {
    fn from(u: DestinationUpdate<'_>) -> Update {
        match u {
            DestinationUpdate::Stored {
                transaction_uid, ..
            } => Update::Stored(transaction_uid.map(str::to_string)),
            DestinationUpdate::Committed => Update::Committed,
            DestinationUpdate::Retry {
                error,
                next_attempt_ms,
            } => Update::Retry(error.to_string(), next_attempt_ms),
            DestinationUpdate::Failed { error } => Update::Failed(error.to_string()),
            DestinationUpdate::NotCommitted {
                error,
                next_attempt_ms,
            } => Update::NotCommitted(error.to_string(), next_attempt_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_instances_are_named_with_their_failure_reason() {
        let text = failure_text(&[("1.2.3".into(), 0x0112), ("1.2.4".into(), 0xA7FF)]);
        assert_eq!(
            text,
            "2 instance(s) not committed: 1.2.3 (0112H No such object instance), 1.2.4 (A7FFH)"
        );
        let many: Vec<(String, u16)> = (0..7).map(|n| (format!("u{n}"), 0x0110)).collect();
        assert!(
            failure_text(&many).ends_with(" and 2 more"),
            "{}",
            failure_text(&many)
        );
    }
}
