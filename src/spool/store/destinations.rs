//! Each job's state at each PACS destination of its queue (PS3.4 B.2 C-STORE, J.3
//! Storage Commitment), its identity, and the one place that decides how a job whose
//! printer part is over ends: done, `storing`, or failed for a destination.

use super::job::{JobRow, State};
use super::schema::row_to_job;
use super::{COLUMNS, JobStore, Result, UNFINISHED, job_row};
use crate::spool::{DestinationState, Identity};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One job at one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationRow {
    /// As the queue's outputs name it, e.g. `PACS@10.0.0.5:104`.
    pub destination: String,
    pub state: DestinationState,
    /// Stores started there (counted when they start, as a job's attempts are).
    pub attempts: u32,
    /// Not tried (or, `stored` with a transaction, not asked for commitment) again
    /// before this time (unix ms).
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
    /// The Storage Commitment transaction whose report is awaited (PS3.4 J.3.2).
    pub transaction_uid: Option<String>,
    pub updated_ms: i64,
}

impl DestinationRow {
    /// Nothing more to do there: every instance committed, or stored when no commitment
    /// was asked for.
    pub fn is_done(&self) -> bool {
        match self.state {
            DestinationState::Committed => true,
            DestinationState::Stored => self.transaction_uid.is_none(),
            DestinationState::Pending | DestinationState::Failed => false,
        }
    }

    /// `PACS@h:p committed`, as the job list shows it.
    pub fn summary(&self) -> String {
        let state = match (self.state, &self.transaction_uid) {
            (DestinationState::Stored, Some(_)) => "stored, commitment asked",
            (DestinationState::Pending, _) => "pending",
            (DestinationState::Stored, None) => "stored",
            (DestinationState::Committed, _) => "committed",
            (DestinationState::Failed, _) => "failed",
        };
        format!("{} {state}", self.destination)
    }

    /// The row as seen now, for [`JobStore::record_destination`].
    pub fn seen(&self) -> Seen {
        Seen {
            state: self.state,
            transaction_uid: self.transaction_uid.clone(),
            attempts: self.attempts,
        }
    }
}

/// A destination's row as a store (or the recovery) saw it when it began: what became
/// of that store is recorded only while the row is still so (compare and set), so that a
/// late outcome never overwrites a newer one (a commitment report recorded meanwhile, a
/// store begun since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub state: DestinationState,
    pub transaction_uid: Option<String>,
    /// Stores begun there, this one's included.
    pub attempts: u32,
}

/// What became of a store at one destination, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationUpdate<'a> {
    /// Every instance stored. With a Transaction UID, commitment was asked for and its
    /// report is awaited until `next_attempt_ms`, when it is asked for again.
    Stored {
        transaction_uid: Option<&'a str>,
        next_attempt_ms: i64,
    },
    Committed,
    /// A retryable failure: tried again from `next_attempt_ms`, with `pending` state
    /// kept (or `stored`, when it was a commitment asked again that failed).
    Retry {
        error: &'a str,
        next_attempt_ms: i64,
    },
    /// A permanent failure: the job fails once its printer part is over.
    Failed {
        error: &'a str,
    },
    /// The PACS reported on the store's own association instances it did not commit
    /// (`error` names them): `pending` again, the transaction forgotten, every instance
    /// sent again from `next_attempt_ms`, as [`JobStore::commitment_report`] does.
    NotCommitted {
        error: &'a str,
        next_attempt_ms: i64,
    },
}

/// What [`JobStore::assign`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    /// Identity merged; `released` if the job was held.
    Done {
        released: bool,
    },
    Unknown,
    /// Why an identity cannot be given to the job now.
    Refused(String),
}

const DESTINATION_COLUMNS: &str =
    "destination, state, attempts, next_attempt_ms, last_error, transaction_uid, updated_ms";

fn row_to_destination(r: &rusqlite::Row<'_>) -> rusqlite::Result<DestinationRow> {
    let state: String = r.get(1)?;
    Ok(DestinationRow {
        destination: r.get(0)?,
        state: parse_state(&state),
        attempts: r.get(2)?,
        next_attempt_ms: r.get(3)?,
        last_error: r.get(4)?,
        transaction_uid: r.get(5)?,
        updated_ms: r.get(6)?,
    })
}

/// As the `state` column spells it.
fn seen_state(state: DestinationState) -> &'static str {
    match state {
        DestinationState::Pending => "pending",
        DestinationState::Stored => "stored",
        DestinationState::Committed => "committed",
        DestinationState::Failed => "failed",
    }
}

fn parse_state(s: &str) -> DestinationState {
    match s {
        "pending" => DestinationState::Pending,
        "stored" => DestinationState::Stored,
        "committed" => DestinationState::Committed,
        // The CHECK constraint admits only these four.
        _ => DestinationState::Failed,
    }
}

/// A destination with something to do (given its time has come): instances to store,
/// or a commitment report that did not come.
const DUE: &str = "(d.state = 'pending' OR (d.state = 'stored' AND d.transaction_uid IS NOT NULL))";

/// A job whose destinations the store task may work on: composed or later but not
/// finished, not held, its queue not paused.
const STORABLE: &str = "j.state IN ('composed', 'submitting', 'submitted', 'storing')
    AND j.held = 0 AND NOT EXISTS
    (SELECT 1 FROM queue_controls c WHERE c.queue = j.queue AND c.paused = 1)";

fn to_json(identity: &Identity) -> String {
    serde_json::to_string(identity).unwrap_or_else(|_| "{}".into())
}

impl JobStore {
    /// A job's destinations, in name order (none for an unknown job).
    pub fn destinations(&self, job_id: &str) -> Result<Vec<DestinationRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {DESTINATION_COLUMNS} FROM destinations WHERE job_id = ?1
             ORDER BY destination"
        ))?;
        let rows = stmt.query_map([job_id], row_to_destination)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The destinations of each of `ids` that has any.
    pub fn destinations_of(&self, ids: &[String]) -> Result<HashMap<String, Vec<DestinationRow>>> {
        let mut out: HashMap<String, Vec<DestinationRow>> = HashMap::new();
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {DESTINATION_COLUMNS} FROM destinations WHERE job_id = ?1
             ORDER BY destination"
        ))?;
        for id in ids {
            let rows = stmt.query_map([id], row_to_destination)?;
            let rows: Vec<DestinationRow> = rows.collect::<rusqlite::Result<_>>()?;
            if !rows.is_empty() {
                out.insert(id.clone(), rows);
            }
        }
        Ok(out)
    }

    /// Up to `limit` jobs of `queue` with a destination due at `now_ms`, in delivery
    /// order (Print Priority, then arrival), each with its due destinations.
    pub fn next_store(
        &self,
        queue: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<(JobRow, Vec<DestinationRow>)>> {
        let conn = self.conn();
        let columns = COLUMNS
            .split(", ")
            .map(|c| format!("j.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = conn.prepare(&format!(
            "SELECT {columns} FROM jobs j WHERE j.queue = ?1 AND {STORABLE}
                AND EXISTS (SELECT 1 FROM destinations d WHERE d.job_id = j.id
                    AND d.next_attempt_ms <= ?2 AND {DUE})
             ORDER BY j.priority, j.seq LIMIT ?3"
        ))?;
        let jobs: Vec<JobRow> = stmt
            .query_map(
                params![queue, now_ms, i64::try_from(limit).unwrap_or(i64::MAX)],
                row_to_job,
            )?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {DESTINATION_COLUMNS} FROM destinations d
             WHERE d.job_id = ?1 AND d.next_attempt_ms <= ?2 AND {DUE} ORDER BY destination"
        ))?;
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let due = stmt
                .query_map(params![job.id, now_ms], row_to_destination)?
                .collect::<rusqlite::Result<_>>()?;
            out.push((job, due));
        }
        Ok(out)
    }

    /// When the next destination of `queue` becomes due (unix ms), among jobs the store
    /// task may work on.
    pub fn next_store_due(&self, queue: &str) -> Result<Option<i64>> {
        Ok(self.conn().query_row(
            &format!(
                "SELECT MIN(d.next_attempt_ms) FROM destinations d JOIN jobs j ON j.id = d.job_id
                 WHERE j.queue = ?1 AND {STORABLE} AND {DUE}"
            ),
            [queue],
            |r| r.get(0),
        )?)
    }

    /// Counts one more store at a due destination of a job the store task may work on,
    /// before it starts (so that one cut short by a crash counts too). Returns the
    /// destination's row as the store begins (its state, transaction and the new count),
    /// for recording its outcome; None if it is no longer due or the job may not go on
    /// (finished, held, or its queue paused meanwhile).
    pub fn begin_store(
        &self,
        job_id: &str,
        destination: &str,
        now_ms: i64,
    ) -> Result<Option<Seen>> {
        let conn = self.conn();
        let found: Option<(String, Option<String>, u32)> = conn
            .query_row(
                &format!(
                    "UPDATE destinations AS d SET attempts = attempts + 1, updated_ms = ?3
                     WHERE d.job_id = ?1 AND d.destination = ?2 AND {DUE}
                        AND EXISTS (SELECT 1 FROM jobs j WHERE j.id = d.job_id AND {STORABLE})
                     RETURNING state, transaction_uid, attempts"
                ),
                params![job_id, destination, now_ms],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(found.map(|(state, transaction_uid, attempts)| Seen {
            state: parse_state(&state),
            transaction_uid,
            attempts,
        }))
    }

    /// Records what became of a store at one destination, if the row is still as the
    /// store saw it (`seen`: same state, transaction and count of stores begun) and its
    /// job is unfinished; false otherwise (a report recorded meanwhile, another store
    /// begun, the job finished: the newer state stays) or if there is no such row.
    pub fn record_destination(
        &self,
        job_id: &str,
        destination: &str,
        seen: &Seen,
        update: DestinationUpdate<'_>,
        now_ms: i64,
    ) -> Result<bool> {
        // (state, transaction_uid, last_error, next_attempt_ms); None keeps a column.
        let (state, transaction_uid, error, next_attempt_ms): (
            &str,
            Option<&str>,
            Option<&str>,
            i64,
        ) = match update {
            DestinationUpdate::Stored {
                transaction_uid,
                next_attempt_ms,
            } => ("stored", transaction_uid, None, next_attempt_ms),
            DestinationUpdate::Committed => ("committed", None, None, 0),
            DestinationUpdate::Retry {
                error,
                next_attempt_ms,
            } => (
                seen_state(seen.state),
                seen.transaction_uid.as_deref(),
                Some(error),
                next_attempt_ms,
            ),
            DestinationUpdate::Failed { error } => ("failed", None, Some(error), 0),
            DestinationUpdate::NotCommitted {
                error,
                next_attempt_ms,
            } => ("pending", None, Some(error), next_attempt_ms),
        };
        let n = self.conn().execute(
            &format!(
                "UPDATE destinations AS d SET state = ?3, transaction_uid = ?4,
                    last_error = COALESCE(?5, last_error), next_attempt_ms = ?6, updated_ms = ?7
                 WHERE d.job_id = ?1 AND d.destination = ?2
                    AND d.state = ?8 AND d.transaction_uid IS ?9 AND d.attempts = ?10
                    AND EXISTS (SELECT 1 FROM jobs j WHERE j.id = d.job_id
                        AND j.state IN {UNFINISHED})"
            ),
            params![
                job_id,
                destination,
                state,
                transaction_uid,
                error,
                next_attempt_ms,
                now_ms,
                seen_state(seen.state),
                seen.transaction_uid,
                seen.attempts,
            ],
        )?;
        Ok(n == 1)
    }

    /// A Storage Commitment report for `transaction_uid` (PS3.4 J.3.3): with no
    /// `failure`, the destination awaiting it is committed; with one, it is `pending`
    /// again with that error, its instances sent again from `next_attempt(attempts)`.
    /// Returns the job and destination, or None when no destination awaits that
    /// transaction.
    pub fn commitment_report(
        &self,
        transaction_uid: &str,
        failure: Option<&str>,
        next_attempt: impl FnOnce(u32) -> i64,
        now_ms: i64,
    ) -> Result<Option<(String, String)>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: Option<(String, String, u32)> = tx
            .query_row(
                "SELECT job_id, destination, attempts FROM destinations
                 WHERE transaction_uid = ?1 AND state = 'stored'",
                [transaction_uid],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((job_id, destination, attempts)) = found else {
            return Ok(None);
        };
        match failure {
            None => tx.execute(
                "UPDATE destinations SET state = 'committed', transaction_uid = NULL,
                    next_attempt_ms = 0, updated_ms = ?3
                 WHERE job_id = ?1 AND destination = ?2",
                params![job_id, destination, now_ms],
            )?,
            Some(error) => tx.execute(
                "UPDATE destinations SET state = 'pending', transaction_uid = NULL,
                    last_error = ?3, next_attempt_ms = ?4, updated_ms = ?5
                 WHERE job_id = ?1 AND destination = ?2",
                params![job_id, destination, error, next_attempt(attempts), now_ms],
            )?,
        };
        tx.commit()?;
        Ok(Some((job_id, destination)))
    }

    /// After a start: every commitment awaited is asked for again at once (the report
    /// may have come while filmd was down). Returns how many.
    pub fn ask_commitments_again(&self, now_ms: i64) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE destinations SET next_attempt_ms = 0, updated_ms = ?1
             WHERE state = 'stored' AND transaction_uid IS NOT NULL AND next_attempt_ms > 0",
            [now_ms],
        )?)
    }

    /// Saves the identity found for a job, unless it has one already (an operator's,
    /// given meanwhile); true if saved.
    pub fn set_identity(&self, id: &str, identity: &Identity, now_ms: i64) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE jobs SET identity = ?1, updated_ms = ?2 WHERE id = ?3 AND identity IS NULL",
            params![to_json(identity), now_ms, id],
        )?;
        Ok(n == 1)
    }

    /// Holds an unfinished job that has no identity yet, with `why` (what was tried) as
    /// its last error, for an operator to assign one; true if held now.
    pub fn hold_unidentified(&self, id: &str, why: &str, now_ms: i64) -> Result<bool> {
        let n = self.conn().execute(
            &format!(
                "UPDATE jobs SET held = 1, last_error = ?1, updated_ms = ?2
                 WHERE id = ?3 AND identity IS NULL AND held = 0 AND state IN {UNFINISHED}"
            ),
            params![why, now_ms, id],
        )?;
        Ok(n == 1)
    }

    /// Merges an operator's `fields` into an unfinished job's identity (theirs win) and
    /// releases the job if it is held; one transaction. Refused for a job with no
    /// destination, or once a store has begun at any of its destinations: the PACS may
    /// hold some of its instances under the old identity already (same SOP Instance UIDs,
    /// another patient), even when the store did not finish.
    pub fn assign(&self, id: &str, fields: &Identity, now_ms: i64) -> Result<Assigned> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(row) = job_row(&tx, id)? else {
            return Ok(Assigned::Unknown);
        };
        if row.state.is_final() {
            return Ok(Assigned::Refused(format!("it is {}", row.state.as_str())));
        }
        let destinations: Vec<DestinationRow> = {
            let mut stmt = tx.prepare(&format!(
                "SELECT {DESTINATION_COLUMNS} FROM destinations WHERE job_id = ?1
                 ORDER BY destination"
            ))?;
            let rows = stmt.query_map([id], row_to_destination)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        if destinations.is_empty() {
            return Ok(Assigned::Refused(format!(
                "queue {} stores to no PACS",
                row.queue
            )));
        }
        if let Some(d) = destinations.iter().find(|d| {
            matches!(
                d.state,
                DestinationState::Stored | DestinationState::Committed
            )
        }) {
            return Ok(Assigned::Refused(format!(
                "it is already {} at {} under its identity",
                seen_state(d.state),
                d.destination
            )));
        }
        if let Some(d) = destinations.iter().find(|d| d.attempts > 0) {
            return Ok(Assigned::Refused(format!(
                "{} store(s) at {} began under its identity: some of its instances may be \
                 there already",
                d.attempts, d.destination
            )));
        }
        let mut identity = row.identity.unwrap_or_default();
        identity.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        tx.execute(
            "UPDATE jobs SET identity = ?1, held = 0, updated_ms = ?2 WHERE id = ?3",
            params![to_json(&identity), now_ms, id],
        )?;
        tx.commit()?;
        Ok(Assigned::Done { released: row.held })
    }

    /// Settles a job whose printer part (or composition, without a printer) is over, if
    /// it is in one of `from`: failed when a destination failed (`PACS <dest>: <why>`),
    /// done when every destination is, `storing` otherwise. Returns the state it is in
    /// now and, when it failed, why; None if it was not in `from`.
    pub fn conclude(
        &self,
        id: &str,
        from: &[State],
        now_ms: i64,
    ) -> Result<Option<(State, Option<String>)>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state: Option<String> = tx
            .query_row("SELECT state FROM jobs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        let Some(state) = state.and_then(|s| State::parse(&s)) else {
            return Ok(None);
        };
        if !from.contains(&state) {
            return Ok(None);
        }
        let destinations: Vec<DestinationRow> = {
            let mut stmt = tx.prepare(&format!(
                "SELECT {DESTINATION_COLUMNS} FROM destinations WHERE job_id = ?1
                 ORDER BY destination"
            ))?;
            let rows = stmt.query_map([id], row_to_destination)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let failed = destinations
            .iter()
            .find(|d| d.state == DestinationState::Failed);
        let (to, error) = match failed {
            Some(d) => (
                State::Failed,
                Some(format!(
                    "PACS {}: {}",
                    d.destination,
                    d.last_error.as_deref().unwrap_or("failed")
                )),
            ),
            None if destinations.iter().all(DestinationRow::is_done) => (State::Done, None),
            None => (State::Storing, None),
        };
        if to != state {
            tx.execute(
                "UPDATE jobs SET state = ?1, updated_ms = ?2, next_attempt_ms = 0,
                    finished_ms = CASE WHEN ?3 THEN ?2 ELSE NULL END,
                    held = CASE WHEN ?3 THEN 0 ELSE held END,
                    last_error = COALESCE(?4, last_error)
                 WHERE id = ?5",
                params![to.as_str(), now_ms, to.is_final(), error, id],
            )?;
            tx.commit()?;
        }
        Ok(Some((to, error)))
    }
}
