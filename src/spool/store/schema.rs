//! The job table's schema: its migrations, applied in order and numbered in
//! `PRAGMA user_version`, and how a row is read.

use super::job::{JobRow, Priority, State};
use super::{Result, StoreError};
use crate::spool::Identity;
use rusqlite::{Connection, Row, TransactionBehavior};

/// Schema version written to `PRAGMA user_version` (a field of the database header, set in
/// the same transaction as the migration that produces it).
pub const SCHEMA_VERSION: i64 = 4;

/// Migrations from an empty database: entry `n` takes version `n` to `n + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        uid TEXT NOT NULL,
        queue TEXT NOT NULL,
        priority INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
        state TEXT NOT NULL CHECK (state IN ('received', 'composed', 'submitting',
            'submitted', 'done', 'failed', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        next_attempt_ms INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        remote_id TEXT,
        document TEXT,
        document_format TEXT,
        note TEXT,
        copies INTEGER NOT NULL,
        films INTEGER NOT NULL,
        label TEXT NOT NULL,
        owner TEXT NOT NULL,
        calling_ae TEXT NOT NULL,
        payload_bytes INTEGER NOT NULL
    );
    CREATE INDEX jobs_ready ON jobs (state, queue, priority, seq);
    CREATE INDEX jobs_finished ON jobs (finished_ms) WHERE finished_ms IS NOT NULL;
",
    "
    ALTER TABLE jobs ADD COLUMN retried_as TEXT;
",
    // v3, the operator's console: held jobs, a job's history written by triggers (so that
    // no code path can forget it), and the queues' pause and refusal (kept across a
    // restart, as CUPS keeps a stopped or rejecting printer).
    "
    ALTER TABLE jobs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN film_params TEXT;
    CREATE TABLE job_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        event TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX job_events_job ON job_events (job_id, seq);
    CREATE INDEX job_events_errors ON job_events (seq) WHERE event IN ('failed', 'retry');
    INSERT INTO job_events (job_id, at_ms, event, detail)
        SELECT id, created_ms, 'received', NULL FROM jobs ORDER BY seq;
    INSERT INTO job_events (job_id, at_ms, event, detail)
        SELECT id, updated_ms, state,
            CASE WHEN state IN ('failed', 'cancelled') THEN last_error END
        FROM jobs WHERE state <> 'received' ORDER BY seq;
    CREATE TRIGGER job_received AFTER INSERT ON jobs BEGIN
        INSERT INTO job_events (job_id, at_ms, event, detail)
            VALUES (NEW.id, NEW.created_ms, 'received', NULL);
    END;
    CREATE TRIGGER job_state AFTER UPDATE OF state ON jobs
        WHEN NEW.state IS NOT OLD.state BEGIN
        INSERT INTO job_events (job_id, at_ms, event, detail)
            VALUES (NEW.id, NEW.updated_ms, NEW.state,
                CASE WHEN NEW.state IN ('failed', 'cancelled') THEN NEW.last_error END);
    END;
    CREATE TRIGGER job_held AFTER UPDATE OF held ON jobs
        WHEN NEW.held IS NOT OLD.held AND NEW.state IS OLD.state BEGIN
        INSERT INTO job_events (job_id, at_ms, event, detail)
            VALUES (NEW.id, NEW.updated_ms,
                CASE WHEN NEW.held THEN 'held' ELSE 'released' END, NULL);
    END;
    CREATE TRIGGER job_retry AFTER UPDATE OF last_error ON jobs
        WHEN NEW.last_error IS NOT OLD.last_error AND NEW.state IS OLD.state
            AND NEW.last_error IS NOT NULL BEGIN
        INSERT INTO job_events (job_id, at_ms, event, detail)
            VALUES (NEW.id, NEW.updated_ms, 'retry', NEW.last_error);
    END;
    CREATE TRIGGER job_gone AFTER DELETE ON jobs BEGIN
        DELETE FROM job_events WHERE job_id = OLD.id;
    END;
    CREATE TABLE queue_controls (
        queue TEXT PRIMARY KEY,
        paused INTEGER NOT NULL DEFAULT 0,
        refusing TEXT,
        updated_ms INTEGER NOT NULL
    );
",
    // v4, PACS destinations: the job table is rebuilt for its new state `storing` (a CHECK
    // constraint cannot be altered in place) and gains the job's identity; each job's
    // state at each PACS destination is a row of `destinations`, whose changes the
    // triggers write to the job's history too.
    "
    CREATE TABLE jobs_v4 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        uid TEXT NOT NULL,
        queue TEXT NOT NULL,
        priority INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
        state TEXT NOT NULL CHECK (state IN ('received', 'composed', 'submitting',
            'submitted', 'storing', 'done', 'failed', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        next_attempt_ms INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        remote_id TEXT,
        document TEXT,
        document_format TEXT,
        note TEXT,
        copies INTEGER NOT NULL,
        films INTEGER NOT NULL,
        label TEXT NOT NULL,
        owner TEXT NOT NULL,
        calling_ae TEXT NOT NULL,
        payload_bytes INTEGER NOT NULL,
        retried_as TEXT,
        held INTEGER NOT NULL DEFAULT 0,
        film_params TEXT,
        identity TEXT
    );
    INSERT INTO jobs_v4 (seq, id, uid, queue, priority, state, attempts, created_ms,
        updated_ms, finished_ms, next_attempt_ms, last_error, remote_id, document,
        document_format, note, copies, films, label, owner, calling_ae, payload_bytes,
        retried_as, held, film_params)
    SELECT seq, id, uid, queue, priority, state, attempts, created_ms,
        updated_ms, finished_ms, next_attempt_ms, last_error, remote_id, document,
        document_format, note, copies, films, label, owner, calling_ae, payload_bytes,
        retried_as, held, film_params FROM jobs ORDER BY seq;
    DELETE FROM sqlite_sequence WHERE name = 'jobs_v4';
    INSERT INTO sqlite_sequence (name, seq)
        SELECT 'jobs_v4', seq FROM sqlite_sequence WHERE name = 'jobs';
    DROP TABLE jobs;
    ALTER TABLE jobs_v4 RENAME TO jobs;
    CREATE INDEX jobs_ready ON jobs (state, queue, priority, seq);
    CREATE INDEX jobs_finished ON jobs (finished_ms) WHERE finished_ms IS NOT NULL;
    CREATE TABLE destinations (
        job_id TEXT NOT NULL,
        destination TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'stored', 'committed', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        transaction_uid TEXT,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (job_id, destination)
    ) WITHOUT ROWID;
    CREATE INDEX destinations_transaction ON destinations (transaction_uid)
        WHERE transaction_uid IS NOT NULL;
    CREATE TRIGGER job_received AFTER INSERT ON jobs BEGIN
        INSERT INTO job_events (job_id, at_ms, event, detail)
            VALUES (NEW.id, NEW.created_ms, 'received', NULL);
    END;
    CREATE TRIGGER job_state AFTER UPDATE OF state ON jobs
        WHEN NEW.state IS NOT OLD.state BEGIN
        INSERT INTO job_events (job_id, at_ms, event, detail)
            VALUES (NEW.id, NEW.updated_ms, NEW.state,
                CASE WHEN NEW.state IN ('failed', 'cancelled') THEN NEW.last_error END);
    END;
    CREATE TRIGGER job_held AFTER UPDATE OF held ON jobs
        WHEN NEW.held IS NOT OLD.held AND NEW.state IS OLD.state BEGIN
        INSERT INTO job_events (job_id, at_ms, event, detail)
            VALUES (NEW.id, NEW.updated_ms,
                CASE WHEN NEW.held THEN 'held' ELSE 'released' END,
                CASE WHEN NEW.held AND NEW.last_error IS NOT OLD.last_error
                    THEN NEW.last_error END);
    END;
    CREATE TRIGGER job_retry AFTER UPDATE OF last_error ON jobs
        WHEN NEW.last_error IS NOT OLD.last_error AND NEW.state IS OLD.state
            AND NEW.held IS OLD.held AND NEW.last_error IS NOT NULL BEGIN
        INSERT INTO job_events (job_id, at_ms, event, detail)
            VALUES (NEW.id, NEW.updated_ms, 'retry', NEW.last_error);
    END;
    CREATE TRIGGER job_identity AFTER UPDATE OF identity ON jobs
        WHEN NEW.identity IS NOT OLD.identity AND NEW.identity IS NOT NULL BEGIN
        INSERT INTO job_events (job_id, at_ms, event, detail)
            VALUES (NEW.id, NEW.updated_ms, 'identified',
                (SELECT group_concat(key || '=' || value, ', ')
                    FROM json_each(NEW.identity)));
    END;
    CREATE TRIGGER job_gone AFTER DELETE ON jobs BEGIN
        DELETE FROM job_events WHERE job_id = OLD.id;
        DELETE FROM destinations WHERE job_id = OLD.id;
    END;
    CREATE TRIGGER destination_state AFTER UPDATE OF state ON destinations
        WHEN NEW.state IS NOT OLD.state AND NEW.state <> 'pending' BEGIN
        INSERT INTO job_events (job_id, at_ms, event, detail)
            VALUES (NEW.job_id, NEW.updated_ms, NEW.state,
                CASE WHEN NEW.state = 'failed'
                    THEN NEW.destination || ': ' || NEW.last_error
                    ELSE NEW.destination END);
    END;
    CREATE TRIGGER destination_retry AFTER UPDATE OF last_error ON destinations
        WHEN NEW.last_error IS NOT OLD.last_error AND NEW.last_error IS NOT NULL
            AND NEW.state IN ('pending', 'stored') BEGIN
        INSERT INTO job_events (job_id, at_ms, event, detail)
            VALUES (NEW.job_id, NEW.updated_ms, 'retry',
                NEW.destination || ': ' || NEW.last_error);
    END;
",
];

pub(super) const COLUMNS: &str = "seq, id, uid, queue, priority, state, attempts, created_ms, updated_ms, \
    finished_ms, next_attempt_ms, last_error, remote_id, document, document_format, note, \
    copies, films, label, owner, calling_ae, payload_bytes, retried_as, held, identity";

pub(super) fn row_to_job(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    let state: String = r.get(5)?;
    Ok(JobRow {
        seq: r.get(0)?,
        id: r.get(1)?,
        uid: r.get(2)?,
        queue: r.get(3)?,
        priority: Priority::from_db(r.get(4)?),
        // The CHECK constraint admits only known states.
        state: State::parse(&state).unwrap_or(State::Failed),
        attempts: r.get(6)?,
        created_ms: r.get(7)?,
        updated_ms: r.get(8)?,
        finished_ms: r.get(9)?,
        next_attempt_ms: r.get(10)?,
        last_error: r.get(11)?,
        remote_id: r.get(12)?,
        document: r.get(13)?,
        document_format: r.get(14)?,
        note: r.get(15)?,
        copies: r.get(16)?,
        films: r.get(17)?,
        label: r.get(18)?,
        owner: r.get(19)?,
        calling_ae: r.get(20)?,
        payload_bytes: r.get::<_, i64>(21)?.max(0) as u64,
        retried_as: r.get(22)?,
        held: r.get(23)?,
        identity: identity(r.get(24)?),
    })
}

/// A job's identity from its JSON; one that does not read (it never should: filmd wrote
/// it) is an empty one, so that the job is not identified again and again.
fn identity(json: Option<String>) -> Option<Identity> {
    json.map(|j| serde_json::from_str(&j).unwrap_or_default())
}

/// `?first, ?first+1, ...` for `n` values (numbered, so they may follow numbered ones).
pub(super) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Brings the schema to [`SCHEMA_VERSION`], one transaction per step; refuses a database
/// written by a newer filmd rather than guess at its meaning.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Schema(format!(
            "schema version {version} is newer than this filmd's {SCHEMA_VERSION}"
        )));
    }
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", n as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
