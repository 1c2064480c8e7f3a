//! The job table: one SQLite row per print job, its state machine and its history.
//!
//! Why SQLite: a print job acknowledged to the SCU (PS3.4 H.4.1.2.4, N-ACTION success) must
//! survive a crash, and its state changes must be atomic. SQLite in WAL mode with
//! `synchronous=FULL` makes every committed transaction durable before `COMMIT` returns
//! (sqlite.org/pragma.html#pragma_synchronous), and the admin view gets SQL for free. The
//! films themselves stay in payload files (see `payload.rs`); a row holds only state.
//!
//! States (the CUPS scheduler's split of accept / filter / backend, as data):
//!
//! ```text
//! received ──compose──▶ composed ──▶ submitting ──printer took it──▶ submitted ──▶ done
//!     │                    │             │ (in doubt: the printer may have it)   ▲  │
//!     │                    │             │                          storing ─────┘  │
//!     └────────────────────┴─────────────┴──────────────▶ failed / cancelled ◀──────┘
//! ```
//!
//! A queue with PACS destinations keeps each job's state at each in `destinations`
//! (destinations.rs); a job whose printer part is over (or that is composed, without a
//! printer) is `done` only when every destination is, `storing` until then.
//!
//! `submitting` is recorded durably *before* a document is sent to a printer: a row found in
//! it after a crash is looked up at the printer by job name instead of being sent again, so
//! an acknowledged film prints exactly once.
//!
//! Every statement is parameterised; the only SQL built at run time is a list of numbered
//! `?N` placeholders.

mod controls;
mod destinations;
mod durability;
mod job;
mod schema;

pub use controls::{JobEvent, LastError, QueueActivity, QueueControl};
pub use destinations::{Assigned, DestinationRow, DestinationUpdate, Seen};
pub use job::{FilmParams, HeldChange, JobFilter, JobRow, NewJob, Priority, RetryClaim, State};
pub use schema::SCHEMA_VERSION;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use schema::{COLUMNS, migrate, placeholders, row_to_job};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("queue {queue} holds {limit} jobs not yet printed, its limit")]
    QueueFull { queue: String, limit: usize },
    #[error("job database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("job database: {0}")]
    Schema(String),
    #[error("job database: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// SQLITE_FULL: the disk (or the database's size limit) is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DiskFull)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The job table on one SQLite connection, shared by the spool's threads.
pub struct JobStore {
    conn: Mutex<Connection>,
    /// Bumped after every statement that changed a row (see [`JobStore::changes`]).
    changes: watch::Sender<u64>,
}

/// The connection, locked; on release, a change of any row bumps [`JobStore::changes`].
/// One place for every write path, so that none can forget it. The bump comes before
/// the lock is released: a reader woken by it waits for the lock and sees the change.
struct Locked<'a> {
    conn: MutexGuard<'a, Connection>,
    total_before: u64,
    changes: &'a watch::Sender<u64>,
    /// Set to `synchronous = NORMAL` for this lock's statements ([`JobStore::relaxed`]);
    /// back to FULL on release.
    relaxed: bool,
}

impl Deref for Locked<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        if self.relaxed {
            durability::restore_full(&self.conn);
        }
        if self.conn.total_changes() != self.total_before {
            self.changes.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

impl JobStore {
    /// Opens (creating and migrating if needed) the job database at `path`.
    pub fn open(path: &Path) -> Result<JobStore> {
        let mut conn = Connection::open(path)?;
        // WAL: readers never block the writer; FULL: the WAL is fsynced at every commit, so a
        // committed job survives power loss (NORMAL would only survive a process crash).
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Schema(format!(
                "journal_mode WAL refused (got {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(10))?;
        migrate(&mut conn)?;
        Ok(JobStore::with(conn))
    }

    /// Opens a spool database for reading only, for an operator's look at a stopped
    /// server's jobs: nothing is migrated or written, and a database of another schema
    /// version is refused.
    pub fn open_read_only(path: &Path) -> Result<JobStore> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            return Err(StoreError::Schema(format!(
                "schema version {version}, this filmd reads {SCHEMA_VERSION}: start the server \
                 once to bring it up to date"
            )));
        }
        Ok(JobStore::with(conn))
    }

    fn with(conn: Connection) -> JobStore {
        JobStore {
            conn: Mutex::new(conn),
            changes: watch::Sender::new(0),
        }
    }

    fn conn(&self) -> Locked<'_> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let relaxed = durability::relax_if_asked(&conn);
        Locked {
            total_before: conn.total_changes(),
            conn,
            changes: &self.changes,
            relaxed,
        }
    }

    /// A counter bumped after every committed change of the job database (a job's row,
    /// its history, a queue's controls): the web console refreshes when it moves.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// (journal_mode, synchronous) as SQLite reports them: ("wal", 2) means WAL + FULL.
    pub fn pragmas(&self) -> Result<(String, i64)> {
        let conn = self.conn();
        let mode = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        let sync = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        Ok((mode, sync))
    }

    /// Commits a received job. With `max_unfinished`, refuses it when its queue already holds
    /// that many unfinished jobs not `storing` (see [`JobStore::limited_in_queue`]); the
    /// count and the insert are one transaction. Returns the job's arrival order.
    pub fn insert(&self, job: &NewJob, now_ms: i64, max_unfinished: Option<usize>) -> Result<i64> {
        self.insert_group(&[(job, max_unfinished)], now_ms)?
            .pop()
            .unwrap_or_else(|| Err(StoreError::Schema("no outcome for the job".into())))
    }

    pub fn get(&self, id: &str) -> Result<Option<JobRow>> {
        job_row(&self.conn(), id)
    }

    /// Moves a job from one of `from` to `to` (compare and set); false if it was elsewhere.
    /// A final `to` stamps `finished_ms`; `error` replaces the last error when given.
    pub fn transition(
        &self,
        id: &str,
        from: &[State],
        to: State,
        error: Option<&str>,
        now_ms: i64,
    ) -> Result<bool> {
        let conn = self.conn();
        let sql = format!(
            "UPDATE jobs SET state = ?1, updated_ms = ?2, next_attempt_ms = 0,
                finished_ms = CASE WHEN ?3 THEN ?2 ELSE NULL END,
                held = CASE WHEN ?3 THEN 0 ELSE held END,
                last_error = COALESCE(?4, last_error)
             WHERE id = ?5 AND state IN ({})",
            placeholders(6, from.len())
        );
        let mut values: Vec<Box<dyn rusqlite::ToSql>> = vec![
            Box::new(to.as_str()),
            Box::new(now_ms),
            Box::new(to.is_final()),
            Box::new(error.map(str::to_string)),
            Box::new(id.to_string()),
        ];
        values.extend(
            from.iter()
                .map(|s| Box::new(s.as_str()) as Box<dyn rusqlite::ToSql>),
        );
        let n = conn.execute(&sql, rusqlite::params_from_iter(values.iter()))?;
        Ok(n == 1)
    }

    /// Counts one more attempt of a job that is in `state`; returns the new count, or None if
    /// the job is not in `state` or may not start now (held, or its queue paused, since it
    /// was picked). Counted when the attempt *starts*, so an attempt that crashed filmd
    /// still counts.
    pub fn begin_attempt(&self, id: &str, state: State, now_ms: i64) -> Result<Option<u32>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!(
                    "UPDATE jobs SET attempts = attempts + 1, updated_ms = ?1
                     WHERE id = ?2 AND state = ?3 AND {STARTABLE} RETURNING attempts"
                ),
                params![now_ms, id, state.as_str()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// composed → submitting, as the first submission attempt: recorded before the printer
    /// sees the job. Not for a held job or one of a paused queue (held or paused since it
    /// was picked).
    pub fn begin_submit(&self, id: &str, now_ms: i64) -> Result<Option<u32>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!(
                    "UPDATE jobs SET state = 'submitting', attempts = 1, updated_ms = ?1
                     WHERE id = ?2 AND state = 'composed' AND {STARTABLE} RETURNING attempts"
                ),
                params![now_ms, id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// received → composed, with the printer document (path, MIME type) and a note.
    pub fn set_composed(
        &self,
        id: &str,
        document: Option<(&str, &str)>,
        note: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE jobs SET state = 'composed', document = ?1, document_format = ?2, note = ?3,
                updated_ms = ?4, next_attempt_ms = 0
             WHERE id = ?5 AND state = 'received'",
            params![
                document.map(|d| d.0),
                document.map(|d| d.1),
                note,
                now_ms,
                id
            ],
        )?;
        Ok(n == 1)
    }

    /// submitting → submitted with the printer's job ID.
    pub fn set_submitted(&self, id: &str, remote_id: &str, now_ms: i64) -> Result<bool> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE jobs SET state = 'submitted', remote_id = ?1, updated_ms = ?2,
                next_attempt_ms = 0
             WHERE id = ?3 AND state = 'submitting'",
            params![remote_id, now_ms, id],
        )?;
        Ok(n == 1)
    }

    /// Records the printer's job ID without changing state (a job adopted after a crash).
    pub fn set_remote_id(&self, id: &str, remote_id: &str, now_ms: i64) -> Result<bool> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE jobs SET remote_id = ?1, updated_ms = ?2 WHERE id = ?3",
            params![remote_id, now_ms, id],
        )?;
        Ok(n == 1)
    }

    /// A retryable failure: the job stays in its state, not retried before `next_attempt_ms`.
    pub fn record_failure(
        &self,
        id: &str,
        error: &str,
        next_attempt_ms: i64,
        now_ms: i64,
    ) -> Result<bool> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE jobs SET last_error = ?1, next_attempt_ms = ?2, updated_ms = ?3
             WHERE id = ?4",
            params![error, next_attempt_ms, now_ms, id],
        )?;
        Ok(n == 1)
    }

    /// Jobs in `states` (of `queue`, or of every queue) due at `now_ms`, in delivery order:
    /// Print Priority HIGH, MED, LOW, then arrival.
    pub fn next_ready(
        &self,
        states: &[State],
        queue: Option<&str>,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<JobRow>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs
             WHERE next_attempt_ms <= ?1 AND (?2 IS NULL OR queue = ?2)
                AND state IN ({}) AND {STARTABLE}
             ORDER BY priority, seq LIMIT ?3",
            placeholders(4, states.len())
        );
        let mut values: Vec<Box<dyn rusqlite::ToSql>> = vec![
            Box::new(now_ms),
            Box::new(queue.map(str::to_string)),
            Box::new(i64::try_from(limit).unwrap_or(i64::MAX)),
        ];
        values.extend(
            states
                .iter()
                .map(|s| Box::new(s.as_str()) as Box<dyn rusqlite::ToSql>),
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), row_to_job)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Takes a failed or cancelled job for printing again, atomically, so that two
    /// operators (or one who asks twice) cannot print it twice. Unless `force`, a job
    /// already printed again, or one that reached its printer (it may have printed), is
    /// refused with the reason. The claim is `retried_as = ''` until [`JobStore::retried`]
    /// or [`JobStore::unclaim_retry`].
    pub fn claim_retry(&self, id: &str, force: bool, now_ms: i64) -> Result<RetryClaim> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(row) = job_row(&tx, id)? else {
            return Ok(RetryClaim::Unknown);
        };
        let claim = match (&row.state, row.retried_as.as_deref(), &row.remote_id) {
            (State::Failed | State::Cancelled, Some(""), _) => RetryClaim::InProgress,
            (State::Failed | State::Cancelled, Some(new), _) if !force => {
                RetryClaim::AlreadyRetried(new.to_string())
            }
            (State::Failed | State::Cancelled, _, Some(remote)) if !force => {
                RetryClaim::ReachedPrinter(remote.clone())
            }
            (State::Failed | State::Cancelled, _, _) => RetryClaim::Claimed(Box::new(row.clone())),
            (state, _, _) => RetryClaim::NotOver(*state),
        };
        if matches!(claim, RetryClaim::Claimed(_)) {
            tx.execute(
                "UPDATE jobs SET retried_as = '', updated_ms = ?1 WHERE id = ?2",
                params![now_ms, id],
            )?;
            tx.commit()?;
        }
        Ok(claim)
    }

    /// Gives back a claim that came to nothing (the new job was not accepted).
    pub fn unclaim_retry(&self, id: &str, previous: Option<&str>) -> Result<()> {
        self.conn().execute(
            "UPDATE jobs SET retried_as = ?1 WHERE id = ?2 AND retried_as = ''",
            params![previous, id],
        )?;
        Ok(())
    }

    /// Records that job `id` was printed again as `new_id`, in its note too.
    pub fn retried(&self, id: &str, new_id: &str, now_ms: i64) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE jobs SET retried_as = ?1, updated_ms = ?2,
                note = CASE WHEN note IS NULL OR note = '' THEN ?3 ELSE note || '; ' || ?3 END
             WHERE id = ?4",
            params![new_id, now_ms, format!("printed again as {new_id}"), id],
        )?;
        Ok(n == 1)
    }

    /// Makes the queue's `submitting` jobs that wait out a retry backoff due at `now_ms`
    /// (their printer is back); returns how many.
    pub fn retry_now(&self, queue: &str, now_ms: i64) -> Result<usize> {
        let conn = self.conn();
        Ok(conn.execute(
            "UPDATE jobs SET next_attempt_ms = ?1
             WHERE queue = ?2 AND state = 'submitting' AND next_attempt_ms > ?1",
            params![now_ms, queue],
        )?)
    }

    /// The earliest `next_attempt_ms` of the jobs in `states` (of `queue`, or of all).
    pub fn next_due(&self, states: &[State], queue: Option<&str>) -> Result<Option<i64>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT MIN(next_attempt_ms) FROM jobs
             WHERE (?1 IS NULL OR queue = ?1) AND state IN ({}) AND {STARTABLE}",
            placeholders(2, states.len())
        );
        let mut values: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(queue.map(str::to_string))];
        values.extend(
            states
                .iter()
                .map(|s| Box::new(s.as_str()) as Box<dyn rusqlite::ToSql>),
        );
        Ok(
            conn.query_row(&sql, rusqlite::params_from_iter(values.iter()), |r| {
                r.get(0)
            })?,
        )
    }

    /// Every job not yet done, failed or cancelled, in arrival order.
    pub fn unfinished(&self) -> Result<Vec<JobRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM jobs
             WHERE state IN {UNFINISHED} ORDER BY seq"
        ))?;
        let rows = stmt.query_map([], row_to_job)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The jobs of `queue` its limit counts: unfinished, not `storing` (printed, waiting
    /// only for a PACS).
    pub fn limited_in_queue(&self, queue: &str) -> Result<usize> {
        count_limited(&self.conn(), queue)
    }

    /// Unfinished jobs of every queue.
    pub fn backlog(&self) -> Result<usize> {
        let n: i64 = self.conn().query_row(
            &format!("SELECT COUNT(*) FROM jobs WHERE state IN {UNFINISHED}"),
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as usize)
    }

    /// Every job ID in the table.
    pub fn ids(&self) -> Result<HashSet<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id FROM jobs")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Number of jobs per queue and state.
    pub fn counts(&self) -> Result<HashMap<String, BTreeMap<State, u64>>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT queue, state, COUNT(*) FROM jobs GROUP BY 1, 2")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out: HashMap<String, BTreeMap<State, u64>> = HashMap::new();
        for row in rows {
            let (queue, state, n) = row?;
            if let Some(state) = State::parse(&state) {
                out.entry(queue).or_default().insert(state, n.max(0) as u64);
            }
        }
        Ok(out)
    }

    /// Cancels an unfinished job; returns the row as it was before, or None if the job is
    /// unknown or already finished.
    pub fn cancel(&self, id: &str, reason: &str, now_ms: i64) -> Result<Option<JobRow>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                row_to_job,
            )
            .optional()?;
        let Some(before) = before.filter(|r| !r.state.is_final()) else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE jobs SET state = 'cancelled', finished_ms = ?1, updated_ms = ?1,
                last_error = ?2, held = 0 WHERE id = ?3",
            params![now_ms, reason, id],
        )?;
        tx.commit()?;
        Ok(Some(before))
    }

    /// Removes finished jobs that finished at or before `cutoff_ms`. `remove_files` is called
    /// first for each; the row goes only if it succeeded, so no file outlives its row
    /// unnoticed. Returns the number of rows removed.
    pub fn sweep(
        &self,
        cutoff_ms: i64,
        mut remove_files: impl FnMut(&JobRow) -> std::io::Result<()>,
    ) -> Result<usize> {
        let expired: Vec<JobRow> = {
            let conn = self.conn();
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM jobs
                 WHERE state IN ('done', 'failed', 'cancelled') AND finished_ms <= ?1
                 ORDER BY seq"
            ))?;
            let rows = stmt.query_map([cutoff_ms], row_to_job)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut removed = 0;
        for row in expired {
            if let Err(e) = remove_files(&row) {
                tracing::warn!(job = %row.id, "files of an expired job not removed: {e}");
                continue;
            }
            removed += self.conn().execute(
                "DELETE FROM jobs WHERE id = ?1 AND state IN ('done', 'failed', 'cancelled')",
                [&row.id],
            )?;
        }
        Ok(removed)
    }
}

/// Whether a job may start its next step: a job at its printer (`submitting`,
/// `submitted`) goes on whatever happens; a `received` or `composed` one waits while it is
/// held or its queue is paused (CUPS does not filter held jobs nor those of a stopped
/// printer).
const STARTABLE: &str = "(state NOT IN ('received', 'composed') OR (held = 0 AND NOT EXISTS
    (SELECT 1 FROM queue_controls c WHERE c.queue = jobs.queue AND c.paused = 1)))";

/// The states of [`State::UNFINISHED`], as an SQL list.
pub(super) const UNFINISHED: &str =
    "('received', 'composed', 'submitting', 'submitted', 'storing')";

/// A job's row, inside a transaction or not.
fn job_row(conn: &Connection, id: &str) -> Result<Option<JobRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
            [id],
            row_to_job,
        )
        .optional()?)
}

/// The jobs of `queue` its limit counts: unfinished ones, but for `storing` ones (printed,
/// waiting only for a PACS: with the PACS down they pile up, and the printer must not be
/// refused work for it; the disk stays guarded by `min_free_mib`).
fn count_limited(conn: &Connection, queue: &str) -> Result<usize> {
    let n: i64 = conn.query_row(
        &format!(
            "SELECT COUNT(*) FROM jobs WHERE queue = ?1 AND state IN {UNFINISHED}
                AND state <> 'storing'"
        ),
        [queue],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as usize)
}

#[cfg(test)]
mod tests;
