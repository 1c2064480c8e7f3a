//! The operator's controls kept in the job database: held jobs, paused and refusing
//! queues (CUPS's hold, stop and reject), and what the console reads back: a job's
//! history (written by the schema's triggers) and each queue's recent activity.

use super::job::{HeldChange, State};
use super::schema::row_to_job;
use super::{COLUMNS, JobStore, Result};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A queue's operator controls (kept across restarts).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QueueControl {
    /// Prints are accepted but nothing is composed or sent to the printer (CUPS: a
    /// stopped printer).
    pub paused: bool,
    /// New prints are refused with this reason (CUPS: a printer rejecting jobs); the
    /// N-ACTION gets C601/C602 with it as Error Comment.
    pub refusing: Option<String>,
    /// When the queue's controls last changed (unix ms).
    pub since_ms: i64,
}

/// One line of a job's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEvent {
    /// Unix time, milliseconds.
    pub at_ms: i64,
    /// `received`, a new state (`composed`, `submitting`, `submitted`, `storing`, `done`,
    /// `failed`, `cancelled`), `held`, `released`, `retry` (an attempt failed; the job
    /// waits), `identified`, or a PACS destination's `stored`, `committed` or `failed`.
    pub event: String,
    /// The error of a failed or cancelled job, or of a failed attempt (a destination's
    /// prefixed with its name: `PACS@h:p: why`); the destination of `stored` and
    /// `committed`; the identity (`PatientID=…, …`) of `identified`; why a job was held
    /// for want of an identity.
    pub detail: Option<String>,
}

/// A queue's most recent error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    pub at_ms: i64,
    pub job_id: String,
    pub message: String,
}

/// What a queue did since a given time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QueueActivity {
    /// Films × copies of the jobs done since then.
    pub films_printed: u64,
    /// The queue's newest failed job or failed attempt still in the spool's history (of
    /// any time: retention bounds it).
    pub last_error: Option<LastError>,
}

impl JobStore {
    /// Holds (`held`) or releases a job. Only a `received` or `composed` job can be
    /// held: a job at its printer is the printer's to hold. Releasing works in any state.
    pub fn set_held(&self, id: &str, held: bool, now_ms: i64) -> Result<HeldChange> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: Option<(String, bool)> = tx
            .query_row("SELECT state, held FROM jobs WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((state, was)) = found else {
            return Ok(HeldChange::Unknown);
        };
        let state = State::parse(&state).unwrap_or(State::Failed);
        if was == held {
            return Ok(HeldChange::Unchanged(state));
        }
        if held && !matches!(state, State::Received | State::Composed) {
            return Ok(HeldChange::NotHoldable(state));
        }
        tx.execute(
            "UPDATE jobs SET held = ?1, updated_ms = ?2 WHERE id = ?3",
            params![held, now_ms, id],
        )?;
        tx.commit()?;
        Ok(HeldChange::Changed(state))
    }

    /// Pauses or resumes a queue; true if that changed it.
    pub fn set_paused(&self, queue: &str, paused: bool, now_ms: i64) -> Result<bool> {
        self.update_control(queue, now_ms, |c| {
            std::mem::replace(&mut c.paused, paused) != paused
        })
    }

    /// Makes a queue refuse new prints with `reason`, or accept them again (`None`); true
    /// if that changed it.
    pub fn set_refusing(&self, queue: &str, reason: Option<&str>, now_ms: i64) -> Result<bool> {
        self.update_control(queue, now_ms, |c| {
            let reason = reason.map(str::to_string);
            std::mem::replace(&mut c.refusing, reason.clone()) != reason
        })
    }

    /// Reads a queue's controls, lets `change` edit them, and writes them back if it says
    /// they changed; one transaction.
    fn update_control(
        &self,
        queue: &str,
        now_ms: i64,
        change: impl FnOnce(&mut QueueControl) -> bool,
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut control = tx
            .query_row(
                "SELECT paused, refusing, updated_ms FROM queue_controls WHERE queue = ?1",
                [queue],
                |r| {
                    Ok(QueueControl {
                        paused: r.get(0)?,
                        refusing: r.get(1)?,
                        since_ms: r.get(2)?,
                    })
                },
            )
            .optional()?
            .unwrap_or_default();
        if !change(&mut control) {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO queue_controls (queue, paused, refusing, updated_ms)
                VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (queue) DO UPDATE SET paused = ?2, refusing = ?3, updated_ms = ?4",
            params![queue, control.paused, control.refusing, now_ms],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Why a queue refuses new prints, if it does.
    pub fn refusal(&self, queue: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT refusing FROM queue_controls WHERE queue = ?1",
                [queue],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Every queue's controls that were ever set.
    pub fn queue_controls(&self) -> Result<BTreeMap<String, QueueControl>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT queue, paused, refusing, updated_ms FROM queue_controls")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                QueueControl {
                    paused: r.get(1)?,
                    refusing: r.get(2)?,
                    since_ms: r.get(3)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Each film's parameters of a job, as received (empty for a job from before they
    /// were kept, or an unknown one).
    pub fn film_params(&self, id: &str) -> Result<Vec<super::FilmParams>> {
        let json: Option<Option<String>> = self
            .conn()
            .query_row("SELECT film_params FROM jobs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(json
            .flatten()
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    /// A job's history, oldest first (empty for an unknown job).
    pub fn history(&self, id: &str) -> Result<Vec<JobEvent>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT at_ms, event, detail FROM job_events WHERE job_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(JobEvent {
                at_ms: r.get(0)?,
                event: r.get(1)?,
                detail: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Per queue with any: films printed since `since_ms`, and its last error.
    pub fn activity(&self, since_ms: i64) -> Result<HashMap<String, QueueActivity>> {
        let conn = self.conn();
        let mut out: HashMap<String, QueueActivity> = HashMap::new();
        let mut stmt = conn.prepare(
            "SELECT queue, SUM(films * copies) FROM jobs
             WHERE state = 'done' AND finished_ms >= ?1 GROUP BY queue",
        )?;
        let rows = stmt.query_map([since_ms], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (queue, films) = row?;
            out.entry(queue).or_default().films_printed = films.max(0) as u64;
        }
        // The newest error of each queue (SQLite takes the bare columns from the row
        // of MAX); the partial index holds the errors only.
        let mut stmt = conn.prepare(
            "SELECT j.queue, MAX(e.seq), e.at_ms, e.job_id, e.detail FROM job_events e
                JOIN jobs j ON j.id = e.job_id
             WHERE e.event IN ('failed', 'retry') GROUP BY j.queue",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                LastError {
                    at_ms: r.get(2)?,
                    job_id: r.get(3)?,
                    message: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                },
            ))
        })?;
        for row in rows {
            let (queue, last) = row?;
            out.entry(queue).or_default().last_error = Some(last);
        }
        Ok(out)
    }

    /// Rows a [`super::JobFilter`] matches, before its limit and offset (for paging).
    pub fn count(&self, filter: &super::JobFilter) -> Result<u64> {
        let n: i64 = self.conn().query_row(
            &format!("SELECT COUNT(*) FROM jobs WHERE {FILTER}"),
            params![
                filter.queue,
                filter.state.map(State::as_str),
                filter.calling_ae.as_deref().map(str::trim),
            ],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Jobs for an admin view, newest first.
    pub fn list(&self, filter: &super::JobFilter) -> Result<Vec<super::JobRow>> {
        let conn = self.conn();
        let limit = if filter.limit == 0 { 100 } else { filter.limit };
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE {FILTER} ORDER BY seq DESC LIMIT ?4 OFFSET ?5"
        ))?;
        let rows = stmt.query_map(
            params![
                filter.queue,
                filter.state.map(State::as_str),
                filter.calling_ae.as_deref().map(str::trim),
                i64::try_from(limit).unwrap_or(i64::MAX),
                i64::try_from(filter.offset).unwrap_or(i64::MAX),
            ],
            row_to_job,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// The WHERE clause of a [`super::JobFilter`], on `?1` queue, `?2` state, `?3` calling AE.
const FILTER: &str = "(?1 IS NULL OR queue = ?1) AND (?2 IS NULL OR state = ?2)
    AND (?3 IS NULL OR trim(calling_ae) = ?3)";
