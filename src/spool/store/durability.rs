//! How much each commit costs in fsyncs: intake in groups, relaxed commits, and the
//! sync that makes them durable.
//!
//! Every commit is `synchronous = FULL` (the WAL fsynced before `COMMIT` returns) unless
//! made inside [`JobStore::relaxed`]: then it is `NORMAL`, written to the WAL without
//! an fsync. SQLite's WAL is written in commit order and read back after a crash up to
//! the first frame whose checksum fails (sqlite.org/wal.html, sqlite.org/fileformat2.html
//! 4.3), so a crash keeps a prefix of the commits: a relaxed commit survives a process
//! crash (SIGKILL: its frames are in the kernel's page cache) and, after power loss, is
//! either kept or lost together with everything committed after it. It is durable once
//! any later FULL commit or [`JobStore::sync`] returns. Which changes may be relaxed, and
//! why, is in the spool's module doc.

use super::job::NewJob;
use super::{JobStore, Result, StoreError, count_limited};
use rusqlite::{Connection, TransactionBehavior, params};
use std::cell::Cell;

thread_local! {
    /// Set while [`JobStore::relaxed`] runs on this thread.
    static RELAXED: Cell<bool> = const { Cell::new(false) };
}

/// Sets `synchronous = NORMAL` when the calling thread is inside [`JobStore::relaxed`];
/// true if it did. A pragma that fails leaves FULL: slower, never less durable.
pub(super) fn relax_if_asked(conn: &Connection) -> bool {
    RELAXED.with(Cell::get) && conn.pragma_update(None, "synchronous", "NORMAL").is_ok()
}

/// Back to `synchronous = FULL` after a relaxed lock.
pub(super) fn restore_full(conn: &Connection) {
    if let Err(e) = conn.pragma_update(None, "synchronous", "FULL") {
        // Never seen (the pragma does no I/O), but a connection left NORMAL would make
        // an acknowledgement unsafe: no commit may go on without FULL.
        tracing::error!("job database: synchronous = FULL not restored: {e}");
        std::process::abort();
    }
}

/// Restores the thread's flag however `relaxed` ends (a panic included).
struct Relaxing(bool);

impl Drop for Relaxing {
    fn drop(&mut self) {
        RELAXED.with(|r| r.set(self.0));
    }
}

impl JobStore {
    /// Runs `f` with its commits relaxed (`synchronous = NORMAL`): they survive a process
    /// crash at once, and power loss once a later FULL commit or [`JobStore::sync`] has
    /// returned. Only for changes that may be lost to power loss because the step they
    /// record is repeated safely (see the spool's module doc).
    pub fn relaxed<T>(&self, f: impl FnOnce(&JobStore) -> T) -> T {
        let _restore = Relaxing(RELAXED.with(|r| r.replace(true)));
        f(self)
    }

    /// Makes every commit so far durable, relaxed ones included: one fsync of the WAL,
    /// what the next FULL commit would do. Under the connection's lock, so that no
    /// checkpoint moves the WAL meanwhile (a checkpoint fsyncs the WAL before copying
    /// it into the database, and the database after: what it moved is durable too).
    pub fn sync(&self) -> Result<()> {
        let conn = self.conn();
        let Some(path) = conn.path().filter(|p| !p.is_empty()) else {
            return Ok(()); // in memory
        };
        match std::fs::File::open(format!("{path}-wal")) {
            Ok(wal) => Ok(wal.sync_data()?),
            // No WAL: everything is in the database file, fsynced by its checkpoint.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Commits a group of received jobs in one transaction: one WAL fsync for all
    /// (group commit, engine/intake.rs). Each job with a limit is refused alone when
    /// its queue holds that many unfinished jobs not `storing`, counting the group's
    /// jobs before it; any other error fails the whole group (nothing is committed).
    /// Returns each job's arrival order or refusal, in the group's order.
    pub fn insert_group(
        &self,
        jobs: &[(&NewJob, Option<usize>)],
        now_ms: i64,
    ) -> Result<Vec<Result<i64>>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for &(job, max_unfinished) in jobs {
            if let Some(limit) = max_unfinished
                && count_limited(&tx, &job.queue)? >= limit
            {
                outcomes.push(Err(StoreError::QueueFull {
                    queue: job.queue.clone(),
                    limit,
                }));
                continue;
            }
            outcomes.push(Ok(insert_one(&tx, job, now_ms)?));
        }
        tx.commit()?;
        Ok(outcomes)
    }
}

fn insert_one(tx: &Connection, job: &NewJob, now_ms: i64) -> Result<i64> {
    tx.execute(
        "INSERT INTO jobs (id, uid, queue, priority, state, attempts, created_ms, updated_ms,
            next_attempt_ms, copies, films, label, owner, calling_ae, payload_bytes,
            film_params)
         VALUES (?1, ?2, ?3, ?4, 'received', 0, ?5, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            job.id,
            job.uid,
            job.queue,
            job.priority as i64,
            now_ms,
            job.copies,
            job.films,
            job.label,
            job.owner,
            job.calling_ae,
            i64::try_from(job.payload_bytes).unwrap_or(i64::MAX),
            serde_json::to_string(&job.film_params).ok(),
        ],
    )?;
    let seq = tx.last_insert_rowid();
    for destination in &job.destinations {
        tx.execute(
            "INSERT INTO destinations (job_id, destination, updated_ms) VALUES (?1, ?2, ?3)",
            params![job.id, destination, now_ms],
        )?;
    }
    Ok(seq)
}

impl StoreError {
    /// The same error again, for each member of a group that one failure failed (a
    /// group's callers each get their own).
    pub fn for_each_member(&self) -> StoreError {
        match self {
            StoreError::QueueFull { queue, limit } => StoreError::QueueFull {
                queue: queue.clone(),
                limit: *limit,
            },
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
                StoreError::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
            }
            StoreError::Sqlite(e) => StoreError::Schema(e.to_string()),
            StoreError::Schema(m) => StoreError::Schema(m.clone()),
            StoreError::Io(e) => StoreError::Io(std::io::Error::new(e.kind(), e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::job::Priority;
    use super::*;

    fn new_job(id: &str, queue: &str) -> NewJob {
        super::super::tests::job(id, queue, Priority::Med)
    }

    #[test]
    fn relaxed_commits_are_normal_and_every_other_is_full() {
        let dir = tempfile::tempdir().unwrap();
        let store = JobStore::open(&dir.path().join("jobs.sqlite")).unwrap();
        let sync = |s: &JobStore| {
            s.conn()
                .query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))
                .unwrap()
        };
        assert_eq!(sync(&store), 2, "FULL by default");
        assert_eq!(store.relaxed(sync), 1, "NORMAL inside relaxed");
        assert_eq!(sync(&store), 2, "FULL again after it");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.relaxed(|_| panic!("inside"))
        }));
        assert!(panicked.is_err());
        assert_eq!(sync(&store), 2, "FULL again after a panic");
        store
            .relaxed(|s| s.insert(&new_job("a", "q"), 1, None))
            .unwrap();
        store.sync().unwrap();
        assert!(store.get("a").unwrap().is_some());
    }

    #[test]
    fn a_group_refuses_only_the_jobs_over_their_queue_limit() {
        let dir = tempfile::tempdir().unwrap();
        let store = JobStore::open(&dir.path().join("jobs.sqlite")).unwrap();
        let jobs = [
            new_job("a", "q"),
            new_job("b", "q"),
            new_job("c", "r"),
            new_job("d", "q"),
        ];
        let group: Vec<_> = jobs.iter().map(|j| (j, Some(2))).collect();
        let outcomes = store.insert_group(&group, 5).unwrap();
        let refused: Vec<bool> = outcomes.iter().map(Result::is_err).collect();
        assert_eq!(refused, [false, false, false, true]);
        assert!(matches!(
            &outcomes[3],
            Err(StoreError::QueueFull { limit: 2, .. })
        ));
        let seqs: Vec<i64> = outcomes[..3].iter().map(|o| *o.as_ref().unwrap()).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "arrival order {seqs:?}"
        );
        assert!(store.get("d").unwrap().is_none());
    }

    #[test]
    fn a_failing_statement_fails_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let store = JobStore::open(&dir.path().join("jobs.sqlite")).unwrap();
        store.insert(&new_job("dup", "q"), 1, None).unwrap();
        let (a, dup) = (new_job("a", "q"), new_job("dup", "q"));
        let e = store
            .insert_group(&[(&a, None), (&dup, None)], 2)
            .unwrap_err();
        assert!(e.to_string().contains("UNIQUE"), "{e}");
        assert_eq!(e.for_each_member().to_string(), e.to_string());
        assert!(
            store.get("a").unwrap().is_none(),
            "nothing of the group committed"
        );
    }
}
